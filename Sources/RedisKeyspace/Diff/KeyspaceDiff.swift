import RedisFormats

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A key that differs between side A and side B.
public struct KeyDifference: Sendable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case onlyA = "only_a"
        case onlyB = "only_b"
        case changed
    }

    public var db: UInt64
    public var key: RedisBytes
    public var kind: Kind
    /// `TYPE` on side A (nil for ``Kind/onlyB``).
    public var typeA: String?
    /// `TYPE` on side B (nil for ``Kind/onlyA``).
    public var typeB: String?
    /// Short exact descriptions (``Kind/changed`` only), e.g. `field "name" "bob" → "alice"`.
    public var details: [String]

    public init(db: UInt64, key: RedisBytes, kind: Kind, typeA: String?, typeB: String?, details: [String] = []) {
        self.db = db
        self.key = key
        self.kind = kind
        self.typeA = typeA
        self.typeB = typeB
        self.details = details
    }

    /// The type counts go under: B's for a key only in B, otherwise A's.
    public var type: String { typeA ?? typeB ?? "?" }
}

/// Compares two keyspaces, each read from a ``DiffSource``, without holding either in memory.
///
/// 1. Side A is streamed once; each key's ``KeyID`` maps to its value's fingerprint, type, encoding and expiry in
///    a compact table (48 bytes a key).
/// 2. Side B is streamed once and probed against the table: keys only in B, and candidate changes (fingerprint,
///    expiry, or with ``Options/compareEncoding`` the encoding differ). Keys of A never seen are only in A.
/// 3. Only when something differs, A is read again for those keys (values of changed keys, in batches of at most
///    ``Options/batchBytes``), then B, and each difference is described exactly. A candidate whose values turn out
///    equal under ``valueDetails(_:_:options:)`` (a stream field one file version does not record) is dropped.
///
/// ```swift
/// let diff = KeyspaceDiff(a: RDBDiffSource(path: "old.rdb"), b: RDBDiffSource(path: "new.rdb"))
/// let summary = try diff.run { d in print(d.kind, d.key, d.details) }
/// ```
public final class KeyspaceDiff {
    public struct Options: Sendable {
        public var filter = RDBKeyFilter()
        public var fingerprint = FingerprintOptions()
        /// Report a key whose only difference is its disk encoding (when both sides have one).
        public var compareEncoding = false
        /// At most this many details per kind of detail per key (0: all).
        public var detailLimit = 10
        /// Bytes of side-A values held at once in the detail pass; more takes another pass over B.
        public var batchBytes = 256 << 20
        /// Read B's fingerprints on a second thread while A's are read (B's are then held as 48-byte records).
        public var parallel = true
        public init() {}
    }

    /// Counts of a run.
    public struct Summary: Sendable {
        public var keysA = 0
        public var keysB = 0
        public var counts: [KeyDifference.Kind: Int] = [:]
        /// Counts by type, then kind.
        public var byType: [String: [KeyDifference.Kind: Int]] = [:]
        /// Keys whose fingerprints differed but whose values compare equal (file-version-only differences).
        public var dismissedCandidates = 0
        /// Passes over each side.
        public var passesA = 0
        public var passesB = 0
        /// Bytes of the fingerprint table.
        public var tableBytes = 0
        public init() {}

        public var differences: Int { counts.values.reduce(0, +) }
        public var isEqual: Bool { differences == 0 }

        mutating func count(_ d: KeyDifference) {
            counts[d.kind, default: 0] += 1
            byType[d.type, default: [:]][d.kind, default: 0] += 1
        }
    }

    public let a: any DiffSource
    public let b: any DiffSource
    public var options: Options

    public init(a: any DiffSource, b: any DiffSource, options: Options = Options()) {
        self.a = a
        self.b = b
        self.options = options
    }

    /// Runs the diff, calling `onDifference` for each key that differs (A's order for keys in A, then B's).
    /// - Throws: errors of either source (``RDBError``) and of `onDifference`.
    public func run(_ onDifference: (KeyDifference) throws -> Void) throws -> Summary {
        var summary = Summary()
        let filter = options.filter
        let compareEncoding = options.compareEncoding

        // Pass 1: fingerprints of A into the table; with ``Options/parallel``, B's fingerprints are collected on a
        // second thread meanwhile and probed afterwards.
        var table = FingerprintTable()
        var bRecords: [BRecord] = []
        let background: BackgroundPass? = options.parallel ? BackgroundPass(source: b, options: options) : nil
        do {
            try a.forEachFingerprint(filter: filter, options: options.fingerprint, expectedKeys: { table.reserve($0) }) {
                r in
                summary.keysA += 1
                table.insert(
                    FingerprintTable.Slot(
                        id: KeyID.of(db: r.db, key: r.key), fingerprint: r.fingerprint,
                        expiry: r.expiresAt ?? Keyspace.noExpiry, encoding: r.encoding, type: r.type.rawValue,
                        otherType: 0, flags: 0))
            }
        } catch {
            _ = try? background?.wait()
            throw error
        }
        summary.passesA += 1
        if let background { bRecords = try background.wait() }

        // Pass 2: B against the table.
        var onlyB = FingerprintTable(capacity: 0)
        var candidates = 0
        func probe(_ r: BRecord) {
            summary.keysB += 1
            guard let i = table.find(r.id) else {
                onlyB.insert(
                    FingerprintTable.Slot(
                        id: r.id, fingerprint: .zero, expiry: 0, encoding: 0, type: r.type, otherType: 0, flags: 0))
                return
            }
            var s = table[i]
            s.flags |= FingerprintTable.seen
            s.otherType = r.type
            let sameEncoding =
                !compareEncoding || s.encoding == DiffKeyRecord.unknownEncoding
                || r.encoding == DiffKeyRecord.unknownEncoding || s.encoding == r.encoding
            if s.fingerprint != r.fingerprint || s.expiry != r.expiry || !sameEncoding {
                s.flags |= FingerprintTable.changed
                candidates += 1
            }
            table[i] = s
        }
        if background != nil {
            for r in bRecords { probe(r) }
            bRecords = []
        } else {
            try b.forEachFingerprint(filter: filter, options: options.fingerprint, expectedKeys: { _ in }) { r in
                probe(BRecord(r))
            }
        }
        summary.passesB += 1
        summary.tableBytes = table.byteCount + onlyB.byteCount

        var onlyA = 0
        for s in table.slots where s.id != .zero && s.flags & FingerprintTable.seen == 0 { onlyA += 1 }
        if onlyA == 0 && candidates == 0 && onlyB.count == 0 { return summary }

        // Pass 3: details. A for keys only in A and values of changed keys; B (per batch) for the rest.
        var batch: [Fingerprint128: DiffKeyValue] = [:]
        var batchBytes = 0
        var remainingCandidates = candidates

        func emit(_ d: KeyDifference) throws {
            summary.count(d)
            try onDifference(d)
        }

        func flush(last: Bool) throws {
            if batch.isEmpty && (!last || onlyB.count == 0) { return }
            summary.passesB += 1
            try b.forEachKey(filter: filter, select: { db, key in
                let id = KeyID.of(db: db, key: key)
                if batch[id] != nil { return .value }
                if last, onlyB.find(id) != nil { return .header }
                return .skip
            }) { v in
                let id = KeyID.of(db: v.db, key: v.key)
                if let old = batch.removeValue(forKey: id) {
                    let details = Self.details(old, v, options: options)
                    if details.isEmpty {
                        summary.dismissedCandidates += 1
                    } else {
                        try emit(
                            KeyDifference(
                                db: v.db, key: v.key, kind: .changed, typeA: old.typeName, typeB: v.typeName,
                                details: details))
                    }
                } else {
                    try emit(KeyDifference(db: v.db, key: v.key, kind: .onlyB, typeA: nil, typeB: v.typeName))
                }
            }
            batch.removeAll()
            batchBytes = 0
        }

        if onlyA > 0 || candidates > 0 {
            summary.passesA += 1
            try a.forEachKey(filter: filter, select: { db, key in
                guard let i = table.find(KeyID.of(db: db, key: key)) else { return .skip }
                let flags = table[i].flags
                if flags & FingerprintTable.seen == 0 { return .header }
                return flags & FingerprintTable.changed != 0 ? .value : .skip
            }) { v in
                let id = KeyID.of(db: v.db, key: v.key)
                guard let i = table.find(id) else { return }
                if table[i].flags & FingerprintTable.seen == 0 {
                    try emit(KeyDifference(db: v.db, key: v.key, kind: .onlyA, typeA: v.typeName, typeB: nil))
                    return
                }
                batch[id] = v
                batchBytes += Self.approximateBytes(v.value)
                remainingCandidates -= 1
                if batchBytes >= options.batchBytes && remainingCandidates > 0 { try flush(last: false) }
            }
        }
        try flush(last: true)
        return summary
    }

    /// Rough bytes a materialized value holds.
    static func approximateBytes(_ v: RedisValue?) -> Int {
        guard let v else { return 64 }
        switch v {
        case .string(let s): return 64 + s.count
        case .list(let m), .set(let m): return m.reduce(64) { $0 + 40 + $1.count }
        case .sortedSet(let z): return z.reduce(64) { $0 + 48 + $1.member.count }
        case .hash(let f): return f.reduce(64) { $0 + 80 + $1.field.count + $1.value.count }
        case .stream(let s):
            return s.entries.reduce(256) { t, e in e.fields.reduce(t + 64) { $0 + 64 + $1.name.count + $1.value.count } }
                + s.groups.reduce(0) { $0 + 128 + $1.pending.count * 64 + $1.consumers.count * 128 }
        case .module(let m): return 64 + m.raw.count
        case .array(let e): return e.reduce(64) { $0 + 48 + $1.value.count }
        }
    }
}

/// B's fingerprint of a key, held until A's table is complete.
struct BRecord {
    var id: Fingerprint128
    var fingerprint: Fingerprint128
    var expiry: Int64
    var encoding: UInt16
    var type: UInt8

    init(_ r: DiffKeyRecord) {
        id = KeyID.of(db: r.db, key: r.key)
        fingerprint = r.fingerprint
        expiry = r.expiresAt ?? Keyspace.noExpiry
        encoding = r.encoding
        type = r.type.rawValue
    }
}

/// B's fingerprint pass on its own thread.
final class BackgroundPass: @unchecked Sendable {
    private let source: any DiffSource
    private let options: KeyspaceDiff.Options
    private var records: [BRecord] = []
    private var error: (any Error)?
    private var thread: pthread_t?

    init(source: any DiffSource, options: KeyspaceDiff.Options) {
        self.source = source
        self.options = options
        thread = NativeThread.start { self.run() }
        if thread == nil { run() }  // no thread: do it here
    }

    private func run() {
        do {
            try source.forEachFingerprint(
                filter: options.filter, options: options.fingerprint,
                expectedKeys: { [self] n in records.reserveCapacity(n) }
            ) { [self] r in records.append(BRecord(r)) }
        } catch {
            self.error = error
        }
    }

    /// Waits for the pass; its records, or its error.
    func wait() throws -> [BRecord] {
        if let t = thread {
            pthread_join(t, nil)
            thread = nil
        }
        if let error { throw error }
        let r = records
        records = []
        return r
    }
}
