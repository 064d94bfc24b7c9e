/// Validates an RDB as deeply as `redis-check-rdb` with `sanitize-dump-payload yes`: every record and
/// value is decoded; compact encodings are checked for sizes, counts, back-lengths, prevlen chains,
/// terminators, intset order; sets, hashes and zsets for duplicates; zsets for NaN scores; streams for
/// PEL/consumer consistency; empty collections are errors (the server skips them, its check tool fails).
public struct RDBCheckReport: Sendable {
    /// A problem found.
    public struct Problem: Sendable {
        public var error: RDBError
        /// Found after the value was fully read, so checking went on (`--all`).
        public var recoverable: Bool
    }

    public var file: String
    public var header: RDBHeader?
    public var problems: [Problem] = []
    /// Notes that do not make the file invalid for the server that wrote it.
    public var warnings: [String] = []
    public var keys = 0
    public var expires = 0
    public var alreadyExpired = 0
    /// Hashes with field TTLs (`redis-check-rdb`'s "subexpires" count of keys).
    public var keysWithFieldTTLs = 0
    public var auxFields = 0
    public var functions = 0
    public var moduleAux = 0
    public var databases: Set<UInt64> = []
    /// The `aof-preamble` aux field is 1: the RDB is the head of an AOF.
    public var isAOFPreamble = false
    public var checksum: RDBChecksum?
    /// Offset just after the RDB (after its checksum).
    public var endOffset: Int64 = 0

    public var isValid: Bool { problems.isEmpty }
    /// The first problem.
    public var firstError: RDBError? { problems.first?.error }
}

public enum RDBChecker {
    /// Reads `reader` to its end (or its first unrecoverable problem).
    /// - Parameters:
    ///   - continueAfterErrors: list every recoverable problem instead of stopping at the first.
    ///   - now: Unix ms deciding "already expired".
    public static func check(_ reader: RDBReader, continueAfterErrors: Bool = false, now: Int64) -> RDBCheckReport {
        check(reader, continueAfterErrors: continueAfterErrors, now: now, bufferedStrings: true)
    }

    /// The same; `bufferedStrings: false` reads every record through ``RDBReader/next()`` (the reference the
    /// in-buffer path is compared with).
    static func check(_ reader: RDBReader, continueAfterErrors: Bool, now: Int64, bufferedStrings: Bool) -> RDBCheckReport {
        var report = RDBCheckReport(file: reader.sourceName, header: reader.header)
        checkRecords(
            reader, upTo: nil, into: &report, continueAfterErrors: continueAfterErrors, now: now,
            bufferedStrings: bufferedStrings)
        return finish(report, reader)
    }

    /// Checks the records of `reader` that start before `end` (all when nil), adding to `report`.
    static func checkRecords(
        _ reader: RDBReader, upTo end: Int64?, into report: inout RDBCheckReport, continueAfterErrors: Bool, now: Int64,
        bufferedStrings: Bool = true
    ) {
        let visitor = DeepCheckVisitor()
        var lastDB: UInt64?   // the set of databases is updated when the db changes, not per key
        let stop = end ?? .max
        do {
            while true {
                // String records straight from the input buffer (nothing to check in them beyond decoding).
                var strings = 0
                if bufferedStrings { reader.checkBufferedStrings(until: stop) { expiresAt in
                    strings += 1
                    if let x = expiresAt {
                        report.expires += 1
                        if x < now { report.alreadyExpired += 1 }
                    }
                } }
                if strings > 0 {
                    report.keys += strings
                    if reader.currentDB != lastDB {
                        report.databases.insert(reader.currentDB)
                        lastDB = reader.currentDB
                    }
                }
                guard reader.offset < stop, let record = try reader.next() else { break }
                switch record {
                case .aux(let k, let v):
                    report.auxFields += 1
                    if k == "aof-preamble" && v == "1" { report.isAOFPreamble = true }
                case .function: report.functions += 1
                case .moduleAux: report.moduleAux += 1
                case .selectDB(let db): report.databases.insert(db)
                case .key(let h):
                    report.keys += 1
                    if h.db != lastDB {
                        report.databases.insert(h.db)
                        lastDB = h.db
                    }
                    if let x = h.expiresAt {
                        report.expires += 1
                        if x.milliseconds < now { report.alreadyExpired += 1 }
                    }
                    visitor.reset(type: h.valueType)
                    try reader.visitValue(visitor)
                    if visitor.sawFieldTTL { report.keysWithFieldTTLs += 1 }
                    if let problem = visitor.finish() {
                        let e = RDBError(
                            .corrupt, problem, offset: h.valueOffset, phase: .readObjectValue, db: h.db, key: h.key,
                            valueType: h.valueType, file: reader.sourceName)
                        report.problems.append(.init(error: e, recoverable: true))
                        if !continueAfterErrors { return }
                    }
                    if let w = visitor.warning {
                        report.warnings.append("key \(h.key.escapedDescription) in db \(h.db): \(w)")
                    }
                case .end(let c):
                    report.checksum = c
                default:
                    break
                }
            }
        } catch {
            report.problems.append(.init(error: error, recoverable: false))
        }
    }

    private static func finish(_ r: RDBCheckReport, _ reader: RDBReader) -> RDBCheckReport {
        var report = r
        report.endOffset = reader.offset
        return report
    }
}

/// Collects what the deep checks need about one value: 64-bit hashes of members, sorted at the end to
/// find duplicates (a collision could report a false duplicate with probability ~n²/2⁶⁴), NaN scores,
/// emptiness, stream counts.
final class DeepCheckVisitor: RDBValueVisitor {
    @exclusivity(unchecked) private var type = RDBValueType.string
    @exclusivity(unchecked) fileprivate var hashes: [UInt64] = []
    /// Slots of ``hasRepeat()``, kept from value to value (up to 64 Ki of them).
    @exclusivity(unchecked) fileprivate var table: [UInt64] = []
    @exclusivity(unchecked) private var elements = 0
    @exclusivity(unchecked) private var duplicate = false
    @exclusivity(unchecked) private var nanScore = false
    @exclusivity(unchecked) private(set) var sawFieldTTL = false
    @exclusivity(unchecked) private var streamEntries: UInt64 = 0
    @exclusivity(unchecked) private var streamLength: UInt64?
    @exclusivity(unchecked) private(set) var warning: String?

    func reset(type: RDBValueType) {
        self.type = type
        if hashes.capacity > 1 << 16 { hashes = [] } else { hashes.removeAll(keepingCapacity: true) }
        elements = 0
        duplicate = false
        nanScore = false
        sawFieldTTL = false
        streamEntries = 0
        streamLength = nil
        warning = nil
    }

    @inline(__always) private func remember(_ bytes: RawSpan) {
        hashes.append(bytes.withUnsafeBytes { FastHash.hash($0) })
    }

    func visitString(_ bytes: RawSpan) { elements += 1 }
    /// A string value's bytes are not checked beyond decoding: LZF streams are walked, not decompressed.
    var needsCompressedStringBytes: Bool { false }
    func visitCompressedString(length: Int) { elements += 1 }

    func visitMember(_ bytes: RawSpan) {
        elements += 1
        if type.kind == .set { remember(bytes) }
    }

    /// Intset members were checked ascending and unique by the deep intset validation: only their count
    /// matters (an empty set is reported).
    var acceptsIntsetCounts: Bool { true }
    func visitIntset(count: Int) { elements += count }

    func visitMember(integer: Int64) {
        // Intset members were checked ascending and unique by the deep intset validation.
        if type == .setIntset || type.kind != .set {
            elements += 1
            return
        }
        var text: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &text) { buf in
            let n = RedisInteger.writeText(integer, into: buf)
            hashes.append(FastHash.hash(UnsafeRawBufferPointer(rebasing: buf[0..<n])))
        }
        elements += 1
    }

    func visitSortedSetEntry(member: RawSpan, score: Double) {
        elements += 1
        remember(member)
        if score.isNaN { nanScore = true }
    }

    func visitHashField(_ field: RawSpan, value: RawSpan, expiresAt: RedisTimestamp?) {
        elements += 1
        remember(field)
        if expiresAt != nil { sawFieldTTL = true }
    }

    func visitElement(_ element: RDBElement) {
        switch element {
        case .streamEntry: streamEntries += 1
        case .streamMetadata(let m): streamLength = m.length
        case .module, .arrayElement: elements += 1
        default: break
        }
    }

    /// The problem found, in `redis-check-rdb`'s words, if any.
    func finish() -> String? {
        if hashes.count > 1 && hashes.count <= 24 {
            outer: for i in 1..<hashes.count {
                for j in 0..<i where hashes[i] == hashes[j] {
                    duplicate = true
                    break outer
                }
            }
        } else if hashes.count > 24 {
            duplicate = hasRepeat()
        }
        if let length = streamLength, length != streamEntries {
            warning = "stream length \(length) differs from its \(streamEntries) live entries (Redis loads it, Valkey refuses it)"
        }
        switch type.kind {
        case .set where duplicate: return "Duplicate set members detected"
        case .hash where duplicate: return "Duplicate hash fields detected"
        case .zset where duplicate: return "Duplicate zset fields detected"
        case .zset where nanScore: return "Zset with NAN score detected"
        case .list, .set, .zset, .hash:
            if elements == 0 { return "Empty keys (a \(type.name) value with no elements): the server skips them" }
        default:
            break
        }
        return nil
    }
}

extension DeepCheckVisitor {
    /// Whether a hash repeats, with an open-addressing table of twice as many slots (linear probing):
    /// linear time, where sorting cost n log n and showed in profiles of sets and hashes of thousands.
    /// The hashes are already mixed, so their low bits index the table; 0 marks an empty slot, so a hash
    /// of 0 counts as 1 (one more way to a false duplicate, as rare as a collision).
    fileprivate func hasRepeat() -> Bool {
        var size = 64
        while size < hashes.count * 2 { size <<= 1 }
        if table.count < size || table.count > max(size, 1 << 16) {
            table = [UInt64](repeating: 0, count: size)
        } else {
            unsafe table.withUnsafeMutableBufferPointer { unsafe $0.baseAddress!.update(repeating: 0, count: size) }
        }
        let mask = size - 1
        return unsafe table.withUnsafeMutableBufferPointer { slots in
            unsafe hashes.withUnsafeBufferPointer { all in
                for h0 in unsafe all {
                    let h = h0 == 0 ? 1 : h0
                    var i = Int(truncatingIfNeeded: h) & mask
                    while true {
                        let slot = unsafe slots[i]
                        if slot == 0 {
                            unsafe slots[i] = h
                            break
                        }
                        if slot == h { return true }
                        i = (i + 1) & mask
                    }
                }
                return false
            }
        }
    }
}

/// A fast non-cryptographic 64-bit hash of bytes (8 bytes per step, multiply-xorshift mixing).
enum FastHash {
    @inline(__always)
    static func hash(_ p: UnsafeRawBufferPointer) -> UInt64 {
        let k: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h: UInt64 = 0x2545_F491_4F6C_DD1D ^ (UInt64(p.count) &* k)
        var i = 0
        let n = p.count
        while n - i >= 8 {
            let w = unsafe p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ w) &* k
            h ^= h >> 29
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(unsafe p[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* k
        h ^= h >> 32
        h = h &* 0xD6E8_FEB8_6659_FD93
        h ^= h >> 32
        return h
    }
}
