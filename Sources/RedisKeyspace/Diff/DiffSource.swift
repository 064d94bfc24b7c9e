import RedisFormats

/// One key as the fingerprint pass sees it.
public struct DiffKeyRecord: Sendable {
    public var db: UInt64
    public var key: RedisBytes
    public var type: DiffValueType
    /// Absolute expiry (Unix ms), or nil.
    public var expiresAt: Int64?
    /// A code for the disk encoding (``DiffKeyRecord/unknownEncoding`` when the side has none: AOF, JSON Lines).
    public var encoding: UInt16
    public var fingerprint: Fingerprint128

    public static let unknownEncoding: UInt16 = 0xFFFF

    public init(
        db: UInt64, key: RedisBytes, type: DiffValueType, expiresAt: Int64?, encoding: UInt16,
        fingerprint: Fingerprint128
    ) {
        self.db = db
        self.key = key
        self.type = type
        self.expiresAt = expiresAt
        self.encoding = encoding
        self.fingerprint = fingerprint
    }
}

/// One key as the detail pass sees it: its value when it was asked for.
public struct DiffKeyValue: Sendable {
    public var db: UInt64
    public var key: RedisBytes
    public var type: DiffValueType
    /// `TYPE`'s name: a module's type name once its value was read, else ``DiffValueType/name``.
    public var typeName: String
    /// `OBJECT ENCODING`-style name of the disk encoding, when the side has one.
    public var encoding: String?
    public var expiresAt: Int64?
    /// The value, when ``DiffSelection/value`` asked for it.
    public var value: RedisValue?

    public init(
        db: UInt64, key: RedisBytes, type: DiffValueType, typeName: String, encoding: String?, expiresAt: Int64?,
        value: RedisValue?
    ) {
        self.db = db
        self.key = key
        self.type = type
        self.typeName = typeName
        self.encoding = encoding
        self.expiresAt = expiresAt
        self.value = value
    }
}

/// What the detail pass wants of a key.
public enum DiffSelection: Sendable {
    case skip
    /// Name, type and expiry only (the value is skipped).
    case header
    case value
}

/// One side of a diff: something that can be read key by key, twice.
public protocol DiffSource: AnyObject {
    /// Calls `body` with the fingerprint of every key `filter` keeps. `expectedKeys` gets a size hint when the
    /// source knows one (an RDB's RESIZEDB) before the keys come.
    func forEachFingerprint(
        filter: RDBKeyFilter, options: FingerprintOptions, expectedKeys: (Int) -> Void,
        _ body: (DiffKeyRecord) throws -> Void
    ) throws
    /// Calls `body` for every key `filter` keeps and `select` does not skip, in the source's order.
    func forEachKey(
        filter: RDBKeyFilter, select: (UInt64, RedisBytes) -> DiffSelection, _ body: (DiffKeyValue) throws -> Void
    ) throws
}

// MARK: RDB files

/// An RDB file read twice, streaming: a fingerprint pass through element visitors, then a detail pass that
/// materializes only the selected values. Memory stays flat whatever the file size.
public final class RDBDiffSource: DiffSource {
    public let path: String
    public let options: RDBReader.Options
    /// Whether a pass found data after the RDB's EOF (an AOF with an RDB preamble read as an RDB).
    public private(set) var hasTrailingData = false

    public init(path: String, options: RDBReader.Options = RDBReader.Options()) {
        self.path = path
        self.options = options
    }

    /// The encoding code of a header: its type byte, plus 0x200 for an int-encoded string.
    static func encodingCode(_ h: RDBKeyHeader) -> UInt16 {
        h.valueType.rawValue | (h.stringEncoding == .int ? 0x200 : 0)
    }

    public func forEachFingerprint(
        filter: RDBKeyFilter, options fo: FingerprintOptions, expectedKeys: (Int) -> Void,
        _ body: (DiffKeyRecord) throws -> Void
    ) throws {
        let reader = try RDBReader(path: path, options: options)
        let visitor = FingerprintVisitor(options: fo)
        var hinted = 0
        while let r = try reader.next() {
            switch r {
            case .resizeDB(let n, _):
                hinted += Int(clamping: n)
                expectedKeys(hinted)
            case .key(let h):
                let keep = filter.matches(h)
                if keep == false {
                    try reader.skipValue()
                    continue
                }
                guard let kind = h.valueType.kind else {
                    throw RDBError(.unsupported, "\(h.valueType) has no logical type")
                }
                let type = DiffValueType(kind)
                visitor.reset(type)
                try reader.visitValue(visitor)
                if keep == nil, let m = visitor.moduleType, !filter.matchesModule(m) { continue }
                try body(
                    DiffKeyRecord(
                        db: h.db, key: h.key, type: type, expiresAt: h.expiresAt?.milliseconds,
                        encoding: Self.encodingCode(h), fingerprint: visitor.fingerprinter.finish()))
            case .end:
                if try reader.hasTrailingData() { hasTrailingData = true }
                return
            default:
                break
            }
        }
    }

    public func forEachKey(
        filter: RDBKeyFilter, select: (UInt64, RedisBytes) -> DiffSelection, _ body: (DiffKeyValue) throws -> Void
    ) throws {
        let reader = try RDBReader(path: path, options: options)
        while let r = try reader.next() {
            guard case .key(let h) = r else { continue }
            let keep = filter.matches(h)
            if keep == false {
                try reader.skipValue()
                continue
            }
            var want = select(h.db, h.key)
            guard let kind = h.valueType.kind else { throw RDBError(.unsupported, "\(h.valueType) has no logical type") }
            // A module type in the filter, and a module value's type name, are in the value.
            if want == .header && (keep == nil || kind == .module) { want = .value }
            switch want {
            case .skip:
                try reader.skipValue()
            case .header:
                try reader.skipValue()
                try body(
                    DiffKeyValue(
                        db: h.db, key: h.key, type: DiffValueType(kind), typeName: DiffValueType(kind).name,
                        encoding: h.encodingName, expiresAt: h.expiresAt?.milliseconds, value: nil))
            case .value:
                let v = try reader.readValue()
                if keep == nil, case .module(let m) = v, !filter.matchesModule(m.type) { continue }
                try body(
                    DiffKeyValue(
                        db: h.db, key: h.key, type: DiffValueType(kind), typeName: v.typeName,
                        encoding: h.encodingName, expiresAt: h.expiresAt?.milliseconds, value: v))
            }
        }
    }
}

/// Feeds a value's parts from the RDB reader to a ``KeyFingerprinter`` without copying them.
final class FingerprintVisitor: RDBValueVisitor {
    @exclusivity(unchecked) var fingerprinter: KeyFingerprinter
    var moduleType: RedisModuleType?

    init(options: FingerprintOptions) { fingerprinter = KeyFingerprinter(options: options) }

    func reset(_ type: DiffValueType) {
        fingerprinter.begin(type)
        moduleType = nil
    }

    func visitString(_ bytes: RawSpan) { bytes.withUnsafeBytes { fingerprinter.string($0) } }
    func visitMember(_ bytes: RawSpan) { bytes.withUnsafeBytes { fingerprinter.member($0) } }
    func visitSortedSetEntry(member: RawSpan, score: Double) {
        member.withUnsafeBytes { fingerprinter.scored($0, score: score) }
    }
    func visitHashField(_ field: RawSpan, value: RawSpan, expiresAt: RedisTimestamp?) {
        field.withUnsafeBytes { f in
            value.withUnsafeBytes { v in fingerprinter.field(f, value: v, expiresAt: expiresAt?.milliseconds) }
        }
    }
    func visitElement(_ element: RDBElement) {
        if case .module(let m) = element { moduleType = m.type }
        fingerprinter.element(element)
    }
}

// MARK: Keyspaces

/// A loaded keyspace (an AOF or JSON Lines file applied in memory): both passes read it in place.
public final class KeyspaceDiffSource: DiffSource {
    public let keyspace: Keyspace

    public init(keyspace: Keyspace) { self.keyspace = keyspace }

    /// Whether `filter` keeps a key of this keyspace.
    static func keeps(_ filter: RDBKeyFilter, db: Int, key: RedisBytes, value: KeyValue) -> Bool {
        if let dbs = filter.databases, !dbs.contains(UInt64(db)) { return false }
        if let g = filter.glob, !g.matches(key) { return false }
        guard let types = filter.types else { return true }
        if case .opaque(let o) = value {
            switch o.value {
            case .module(let m): return filter.matchesModule(m.type)
            default: return types.contains(o.value.typeName)
            }
        }
        return types.contains(value.typeName)
    }

    static func type(of v: KeyValue) -> DiffValueType {
        switch v {
        case .string: .string
        case .list: .list
        case .set: .set
        case .sortedSet: .zset
        case .hash: .hash
        case .stream: .stream
        case .opaque(let o): DiffValueType(o.value)
        }
    }

    public func forEachFingerprint(
        filter: RDBKeyFilter, options: FingerprintOptions, expectedKeys: (Int) -> Void,
        _ body: (DiffKeyRecord) throws -> Void
    ) throws {
        expectedKeys(keyspace.totalKeys)
        var f = KeyFingerprinter(options: options)
        try keyspace.forEach { db, key, entry in
            guard Self.keeps(filter, db: db, key: key, value: entry.value) else { return true }
            let fp = f.fingerprint(entry.value.redisValue)
            try body(
                DiffKeyRecord(
                    db: UInt64(db), key: key, type: Self.type(of: entry.value), expiresAt: entry.expiresAt,
                    encoding: DiffKeyRecord.unknownEncoding, fingerprint: fp))
            return true
        }
    }

    public func forEachKey(
        filter: RDBKeyFilter, select: (UInt64, RedisBytes) -> DiffSelection, _ body: (DiffKeyValue) throws -> Void
    ) throws {
        try keyspace.forEach { db, key, entry in
            guard Self.keeps(filter, db: db, key: key, value: entry.value) else { return true }
            let want = select(UInt64(db), key)
            if want == .skip { return true }
            try body(
                DiffKeyValue(
                    db: UInt64(db), key: key, type: Self.type(of: entry.value), typeName: entry.value.typeName,
                    encoding: nil, expiresAt: entry.expiresAt, value: want == .value ? entry.value.redisValue : nil))
            return true
        }
    }
}
