import Foundation
import RedisFormats

/// Everything of an RDB file that a rewrite must carry over, read with deep validation: keys by
/// (db, key), function libraries, module aux records, aux fields and the header.
public struct RDBSnapshot: Sendable {
    public var header: RDBHeader
    public var keys: [CorpusKey: RDBReadResult.KeyValue] = [:]
    /// Keys in file order (duplicates kept, so a test can see them).
    public var keyOrder: [CorpusKey] = []
    public var functions: [RedisBytes] = []
    public var moduleAux: [RDBModuleAux] = []
    public var aux: [String: RedisBytes] = [:]
    public var checksum: RDBChecksum?
    /// RESIZEDB hints by database: (keys, keys with a TTL).
    public var resizeHints: [UInt64: [UInt64]] = [:]

    /// Reads `path` to its end, every value whole, with `.deep` validation and the CRC verified.
    public init(path: String) throws(RDBError) {
        var options = RDBReader.Options()
        options.validation = .deep
        let reader = try RDBReader(path: path, options: options)
        header = reader.header
        while let record = try reader.next() {
            switch record {
            case .key(let h):
                let k = CorpusKey(db: h.db, key: h.key.bytes)
                keyOrder.append(k)
                keys[k] = RDBReadResult.KeyValue(header: h, value: try reader.readValue())
            case .function(let f): functions.append(f.code)
            case .moduleAux(let m): moduleAux.append(m)
            case .aux(let k, let v): aux[k.description] = v
            case .end(let c): checksum = c
            case .resizeDB(let size, let expires): resizeHints[reader.currentDB] = [size, expires]
            default: break
            }
        }
    }

    /// Keys per database.
    public var dbsize: [UInt64: Int] {
        var out: [UInt64: Int] = [:]
        for k in keys.keys { out[k.db, default: 0] += 1 }
        return out
    }

    /// RESIZEDB hints that do not match the keys the file holds, described (empty when all are exact).
    public var wrongResizeHints: [String] {
        var actual: [UInt64: [UInt64]] = [:]
        for (k, kv) in keys {
            var c = actual[k.db] ?? [0, 0]
            c[0] += 1
            if kv.header.expiresAt != nil { c[1] += 1 }
            actual[k.db] = c
        }
        return resizeHints.sorted { $0.key < $1.key }.compactMap { db, hint in
            let a = actual[db] ?? [0, 0]
            return hint == a
                ? nil
                : "db \(db): RESIZEDB says \(hint[0]) keys / \(hint[1]) with TTL, the file holds \(a[0]) / \(a[1])"
        }
    }

    /// The number of hash fields with a TTL over all keys.
    public var fieldTTLCount: Int {
        keys.values.reduce(0) { n, kv in
            if case .hash(let f) = kv.value { return n + f.filter { $0.expiresAt != nil }.count }
            return n
        }
    }
}

/// The stream version of a value type: 1 (type 15), 2 (19), 3 (21), 4 (26), 5 (27).
public func streamVersion(of type: RDBValueType) -> Int {
    switch type {
    case .streamListpacks: 1
    case .streamListpacks2: 2
    case .streamListpacks3: 3
    case .streamListpacks4: 4
    case .streamListpacks5: 5
    default: 0
    }
}

/// Compares the keys of a written file with their source, allowing exactly the differences a target
/// is documented to introduce; every other difference is a problem, described in words.
public struct ContentComparison {
    /// Field TTLs were dropped on purpose (`dropsFieldTTLs`): compare hashes without them.
    public var fieldTTLsDropped = false
    /// Compare LFU frequency and LRU idle time (the written file is RDB 9+ and was written by rdbkit).
    public var comparesEvictionHints = true
    /// Consumer seen/active times are set by the loading server's clock (AOF `XCLAIM`/`CREATECONSUMER`).
    public var ignoresConsumerTimes = false
    /// Keys not expected in the written file (module values dropped, …).
    public var excluded: Set<CorpusKey> = []
    /// Key renames and database moves: source key → written key.
    public var mapping: (CorpusKey) -> CorpusKey = { $0 }

    public private(set) var problems: [String] = []

    public init() {}

    mutating func problem(_ s: String) { problems.append(s) }

    /// Compares every key of `source` (minus `excluded`) with `written`, which must hold exactly those keys.
    public mutating func compare(source: RDBSnapshot, written: RDBSnapshot) {
        var expectedKeys = Set<CorpusKey>()
        for (k, kv) in source.keys where !excluded.contains(k) {
            let w = mapping(k)
            expectedKeys.insert(w)
            guard let out = written.keys[w] else {
                problem("\(k) is missing from the written file")
                continue
            }
            compare(k, kv, out)
        }
        for k in written.keys.keys where !expectedKeys.contains(k) {
            problem("\(k) was not expected in the written file")
        }
        if written.keyOrder.count != written.keys.count {
            problem("the written file holds \(written.keyOrder.count - written.keys.count) duplicate keys")
        }
    }

    public mutating func compare(_ k: CorpusKey, _ a: RDBReadResult.KeyValue, _ b: RDBReadResult.KeyValue) {
        if a.header.expiresAt != b.header.expiresAt {
            problem(
                "\(k): expiry \(String(describing: a.header.expiresAt)) became \(String(describing: b.header.expiresAt))"
            )
        }
        if comparesEvictionHints {
            if a.header.lfuFrequency != b.header.lfuFrequency {
                problem(
                    "\(k): LFU \(String(describing: a.header.lfuFrequency)) became \(String(describing: b.header.lfuFrequency))"
                )
            }
            if a.header.lruIdleSeconds != b.header.lruIdleSeconds {
                problem(
                    "\(k): idle \(String(describing: a.header.lruIdleSeconds)) became \(String(describing: b.header.lruIdleSeconds))"
                )
            }
        }
        if a.header.valueType.kind != b.header.valueType.kind {
            problem("\(k): type \(a.header.valueType) became \(b.header.valueType)")
            return
        }
        switch (a.value, b.value) {
        case (.stream(let s), .stream(let t)):
            compareStream(
                k, s, sourceVersion: streamVersion(of: a.header.valueType), t,
                writtenVersion: streamVersion(of: b.header.valueType))
        case (.hash(var f), .hash(let g)):
            if fieldTTLsDropped { for i in f.indices { f[i].expiresAt = nil } }
            if RDBTestReading.normalized(.hash(f)) != RDBTestReading.normalized(.hash(g)) {
                problem("\(k): hash differs: \(Self.diff(f.map(Self.fieldText), g.map(Self.fieldText)))")
            }
        default:
            let x = RDBTestReading.normalized(a.value)
            let y = RDBTestReading.normalized(b.value)
            if x != y { problem("\(k): value differs: \(Self.short(x)) became \(Self.short(y))") }
        }
    }

    static func fieldText(_ f: HashField) -> String {
        "\(f.field.escapedDescription)=\(f.value.escapedDescription)\(f.expiresAt.map { "@\($0)" } ?? "")"
    }

    static func diff(_ a: [String], _ b: [String]) -> String {
        let onlyA = Set(a).subtracting(b).sorted().prefix(4)
        let onlyB = Set(b).subtracting(a).sorted().prefix(4)
        return "only in source \(Array(onlyA)), only in written \(Array(onlyB))"
    }

    static func short(_ v: RedisValue) -> String {
        let s = String(describing: v)
        return s.count > 300 ? String(s.prefix(300)) + "…" : s
    }

    /// The stored stream fields a written version keeps, derived as a server loading an older version does.
    mutating func compareStream(
        _ k: CorpusKey, _ s: RedisStream, sourceVersion sv: Int, _ t: RedisStream, writtenVersion wv: Int
    ) {
        if s.entries != t.entries {
            problem(
                "\(k): stream entries differ (\(s.entries.count) vs \(t.entries.count); first difference at \(Array(zip(s.entries, t.entries)).firstIndex { $0.0 != $0.1 } ?? min(s.entries.count, t.entries.count)))"
            )
        }
        let m = s.metadata
        let n = t.metadata
        if m.length != n.length || m.lastID != n.lastID {
            problem("\(k): stream length/last id \(m.length) \(m.lastID) became \(n.length) \(n.lastID)")
        }
        let firstID: StreamID? = wv >= 2 ? (sv >= 2 ? m.firstID : (s.entries.first?.id ?? .zero)) : nil
        let maxDeleted: StreamID? = wv >= 2 ? (sv >= 2 ? m.maxDeletedEntryID : .zero) : nil
        let added: UInt64? = wv >= 2 ? (sv >= 2 ? m.entriesAdded : m.length) : nil
        // A server upgrading an empty v1 stream derives first_id from an empty rax: UINT64_MAX-UINT64_MAX.
        let emptyUpgrade = sv == 1 && wv >= 2 && s.entries.isEmpty && n.firstID == StreamID(ms: .max, seq: .max)
        if n.firstID != firstID && !emptyUpgrade {
            problem("\(k): stream first_id \(String(describing: n.firstID)), expected \(String(describing: firstID))")
        }
        if n.maxDeletedEntryID != maxDeleted {
            problem(
                "\(k): stream max_deleted_entry_id \(String(describing: n.maxDeletedEntryID)), expected \(String(describing: maxDeleted))"
            )
        }
        if n.entriesAdded != added {
            problem(
                "\(k): stream entries_added \(String(describing: n.entriesAdded)), expected \(String(describing: added))"
            )
        }
        guard s.groups.count == t.groups.count else {
            problem("\(k): \(s.groups.count) consumer groups became \(t.groups.count)")
            return
        }
        for (g, h) in zip(s.groups.sorted { $0.name < $1.name }, t.groups.sorted { $0.name < $1.name }) {
            let gname = "\(k) group \(g.name.escapedDescription)"
            if g.name != h.name || g.lastDeliveredID != h.lastDeliveredID {
                problem(
                    "\(gname): name/last id \(g.lastDeliveredID) became \(h.name.escapedDescription) \(h.lastDeliveredID)"
                )
            }
            let read: UInt64? = wv >= 2 && sv >= 2 ? g.entriesRead : nil
            // A v1 group has no entries_read: a server upgrading it estimates one (or stores it invalid).
            let estimated = sv == 1 && wv >= 2
            if h.entriesRead != read && !estimated {
                problem(
                    "\(gname): entries_read \(String(describing: h.entriesRead)), expected \(String(describing: read))")
            }
            if g.pending != h.pending { problem("\(gname): PEL \(g.pending) became \(h.pending)") }
            let cs = g.consumers.sorted { $0.name < $1.name }
            let ct = h.consumers.sorted { $0.name < $1.name }
            if cs.map(\.name) != ct.map(\.name) {
                problem(
                    "\(gname): consumers \(cs.map(\.name.escapedDescription)) became \(ct.map(\.name.escapedDescription))"
                )
                continue
            }
            for (c, d) in zip(cs, ct) {
                if c.pending != d.pending {
                    problem("\(gname) consumer \(c.name.escapedDescription): PEL \(c.pending) became \(d.pending)")
                }
                if ignoresConsumerTimes { continue }
                if c.seenTime != d.seenTime {
                    problem(
                        "\(gname) consumer \(c.name.escapedDescription): seen time \(c.seenTime) became \(d.seenTime)")
                }
                let active: RedisTimestamp? = wv >= 3 ? (sv >= 3 ? c.activeTime : c.seenTime) : nil
                if d.activeTime != active {
                    problem(
                        "\(gname) consumer \(c.name.escapedDescription): active time \(String(describing: d.activeTime)), expected \(String(describing: active))"
                    )
                }
            }
        }
    }

    /// The stream fields a write at `writtenVersion` loses from `source` (what the summary must report).
    public static func streamFieldsLost(_ s: RedisStream, writtenVersion wv: Int) -> Set<String> {
        var lost = Set<String>()
        if wv < 2 {
            if let x = s.metadata.maxDeletedEntryID, x != .zero { lost.insert("max_deleted_entry_id") }
            if let x = s.metadata.entriesAdded, x != s.metadata.length { lost.insert("entries_added") }
            if s.groups.contains(where: { $0.entriesRead != nil }) { lost.insert("entries_read") }
        }
        if wv < 3 {
            for g in s.groups {
                for c in g.consumers { if let a = c.activeTime, a != c.seenTime { lost.insert("active_time") } }
            }
        }
        return lost
    }
}

extension RDBReadResult.KeyValue {
    /// A key and value made by a test.
    public static func make(header: RDBKeyHeader, value: RedisValue) -> Self { Self(header: header, value: value) }
}
