import Foundation
import RedisFormats

/// The comparison of one file's reading with its expected.json. Collects every difference in words.
public struct ConformanceCheck {
    public var problems: [String] = []
    /// Compare stream times that change between runs (PEL delivery, consumer seen/active): right for an RDB
    /// read back, not for a keyspace rebuilt from an AOF at another time.
    public var comparesStreamTimes = true

    public init() {}

    mutating func problem(_ text: String) { problems.append(text) }

    static let streamV2Types: Set<RDBValueType> = [
        .streamListpacks2, .streamListpacks3, .streamListpacks4, .streamListpacks5,
    ]
    static let streamV3Types: Set<RDBValueType> = [.streamListpacks3, .streamListpacks4, .streamListpacks5]

    public mutating func compare(_ result: RDBReadResult, _ expected: ExpectedContent, verifiesChecksum: Bool) {
        compareHeader(result, expected)
        compareKeyspace(result, expected)
        compareFunctions(result, expected)
        compareChecksum(result, expected, verifiesChecksum: verifiesChecksum)
        compareStructure(result, expected)
    }

    // MARK: File level

    mutating func compareHeader(_ result: RDBReadResult, _ expected: ExpectedContent) {
        if let magic = expected.document["rdb_header"] as? String, result.header?.magic != magic {
            problem("header \(String(describing: result.header?.magic)) != \(magic)")
        }
        if let v = ExpectedContent.int64(expected.document["rdb_version"]), result.header?.version != Int(v) {
            problem("rdb version \(String(describing: result.header?.version)) != \(v)")
        }
    }

    mutating func compareChecksum(_ result: RDBReadResult, _ expected: ExpectedContent, verifiesChecksum: Bool) {
        guard let hex = expected.structure["checksum"] as? String, hex.count == 16 else { return }
        let got = result.checksum
        if hex == String(repeating: "0", count: 16) {
            if got != .disabled { problem("checksum \(String(describing: got)), expected .disabled (stored as 0)") }
            return
        }
        switch got {
        case .verified(let v) where verifiesChecksum, .unverified(let v) where !verifiesChecksum:
            if Self.trailingHex(v) != hex { problem("checksum \(Self.trailingHex(v)) != \(hex)") }
        default:
            problem(
                "checksum \(String(describing: got)), expected \(verifiesChecksum ? "verified" : "unverified") \(hex)")
        }
    }

    /// The 8 checksum bytes as stored (little-endian), in hex.
    static func trailingHex(_ v: UInt64) -> String {
        (0..<8).map { i in
            let b = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))
            return (b < 16 ? "0" : "") + String(b, radix: 16)
        }.joined()
    }

    mutating func compareStructure(_ result: RDBReadResult, _ expected: ExpectedContent) {
        let s = expected.structure
        if let opcodes = s["opcodes"] as? [String: Any] {
            func count(_ name: String) -> Int { Int(ExpectedContent.int64(opcodes[name]) ?? 0) }
            func records(_ match: (RDBRecord) -> Bool) -> Int { result.records.count(where: match) }
            let counts: [(String, Int)] = [
                ("AUX", records { if case .aux = $0 { true } else { false } }),
                ("SELECTDB", records { if case .selectDB = $0 { true } else { false } }),
                ("RESIZEDB", records { if case .resizeDB = $0 { true } else { false } }),
                ("MODULE_AUX", records { if case .moduleAux = $0 { true } else { false } }),
                ("FUNCTION2", records { if case .function(let f) = $0 { !f.isPreGA } else { false } }),
                ("SLOT_INFO", records { if case .slotInfo = $0 { true } else { false } }),
            ]
            for (name, n) in counts where n != count(name) {
                problem("\(n) \(name) records, expected \(count(name))")
            }
        }
        let headers = result.keys.map(\.header)
        let attributeCounts: [(String, Int)] = [
            ("keys_with_expire", headers.count { $0.expiresAt != nil }),
            ("keys_with_freq", headers.count { $0.lfuFrequency != nil }),
            ("keys_with_idle", headers.count { $0.lruIdleSeconds != nil }),
        ]
        for (name, n) in attributeCounts {
            if let want = ExpectedContent.int64(s[name]), Int(want) != n { problem("\(name): \(n), expected \(want)") }
        }
        var perDB: [UInt64: Int] = [:]
        for h in headers { perDB[h.db, default: 0] += 1 }
        if let inFile = s["keys_in_file"] as? [String: Any] {
            var want: [UInt64: Int] = [:]
            for (db, n) in inFile { if let d = UInt64(db), let n = ExpectedContent.int64(n) { want[d] = Int(n) } }
            if want.filter({ $0.value > 0 }) != perDB { problem("keys per db \(perDB), keys_in_file \(want)") }
        } else if expected.droppedOnLoad.isEmpty, expected.dbsize.filter({ $0.value > 0 }) != perDB {
            problem("keys per db \(perDB), dbsize \(expected.dbsize)")
        }
    }

    public mutating func compareFunctions(_ result: RDBReadResult, _ expected: ExpectedContent) {
        guard let libraries = expected.document["functions"] as? [[String: Any]] else { return }
        let want = libraries.map { lib in
            (
                name: lib["library_name"] as? String ?? "?", engine: (lib["engine"] as? String ?? "?").lowercased(),
                code: ExpectedContent.bytes(lib["library_code"]) ?? []
            )
        }.sorted { $0.name < $1.name }
        let got = result.functions.map { f in
            (name: f.libraryName ?? "?", engine: (f.engine ?? "?").lowercased(), code: f.code.bytes)
        }.sorted { $0.name < $1.name }
        guard got.count == want.count else {
            problem("\(got.count) function libraries \(got.map(\.name)), expected \(want.count) \(want.map(\.name))")
            return
        }
        for (g, w) in zip(got, want) {
            if g.name != w.name { problem("function library \(g.name) != \(w.name)") }
            if g.engine != w.engine { problem("library \(w.name): engine \(g.engine) != \(w.engine)") }
            if g.code != w.code {
                problem(
                    "library \(w.name): code differs: \(RedisBytes(g.code).escapedDescription) != "
                        + RedisBytes(w.code).escapedDescription
                )
            }
        }
    }

    // MARK: Keys

    public mutating func compareKeyspace(_ result: RDBReadResult, _ expected: ExpectedContent) {
        var seen = Set<CorpusKey>()
        for kv in result.keys {
            let k = CorpusKey(db: kv.header.db, key: kv.header.key.bytes)
            if !seen.insert(k).inserted { problem("duplicate key \(k)") }
            guard let entry = expected.keys[k] else {
                if !expected.droppedOnLoad.contains(k) { problem("unexpected key \(k)") }
                continue
            }
            compareKey(k, kv, entry)
        }
        for k in expected.keys.keys where !seen.contains(k) { problem("missing key \(k)") }
    }

    mutating func compareKey(_ k: CorpusKey, _ kv: RDBReadResult.KeyValue, _ e: [String: Any]) {
        let h = kv.header
        let type = e["type"] as? String ?? "?"
        guard kv.value.typeName == type else {
            problem("\(k): type \(kv.value.typeName) != \(type)")
            return
        }
        let wantExpire = ExpectedContent.int64(e["expire_ms"])
        // "expire_exact": false (AOF runs on 6.x): the expiry was read as now + PTTL, within a few seconds.
        let inexact = (e["expire_exact"] as? Bool) == false
        let close = inexact && wantExpire != nil && h.expiresAt.map { abs($0.milliseconds - wantExpire!) <= 5000 } == true
        if h.expiresAt?.milliseconds != wantExpire && !close {
            problem(
                "\(k): expire_ms \(String(describing: h.expiresAt?.milliseconds)) != \(String(describing: wantExpire))")
        }
        if e["lfu_freq"] != nil {
            let want = ExpectedContent.int64(e["lfu_freq"])
            if h.lfuFrequency.map(Int64.init) != want {
                problem("\(k): lfu_freq \(String(describing: h.lfuFrequency)) != \(String(describing: want))")
            }
        }
        if e["lru_idle_s"] != nil {
            let want = ExpectedContent.int64(e["lru_idle_s"]) ?? -1
            // OBJECT IDLETIME was read just before SAVE: the IDLE opcode may be 0–3 s larger.
            if let got = h.lruIdleSeconds, got >= want, got <= want + 3 {
            } else {
                problem("\(k): lru_idle_s \(String(describing: h.lruIdleSeconds)) not in \(want)...\(want + 3)")
            }
        }
        compareValue(k, h, kv.value, e)
    }

    mutating func compareValue(_ k: CorpusKey, _ h: RDBKeyHeader, _ value: RedisValue, _ e: [String: Any]) {
        let v = e["value"]
        switch value {
        case .string(let s):
            if ExpectedContent.bytes(v) != s.bytes { problem("\(k): string value differs: \(s.escapedDescription)") }
        case .list(let items):
            let want = (v as? [Any] ?? []).map { ExpectedContent.bytes($0) ?? [] }
            if want != items.map(\.bytes) { problem("\(k): list differs (\(items.count) vs \(want.count) elements)") }
        case .set(let members):
            let want = (v as? [Any] ?? []).map { ExpectedContent.bytes($0) ?? [] }.sorted(by: Self.bytesLess)
            if want != members.map(\.bytes).sorted(by: Self.bytesLess) {
                problem("\(k): set differs (\(members.count) vs \(want.count) members)")
            }
        case .sortedSet(let entries):
            var want: [(Double, [UInt8])] = []
            for pair in v as? [[Any]] ?? [] where pair.count == 2 {
                guard let score = Self.score(pair[1]) else {
                    problem("\(k): unreadable expected score \(pair[1])")
                    return
                }
                want.append((score, ExpectedContent.bytes(pair[0]) ?? []))
            }
            let got = entries.map { ($0.score, $0.member.bytes) }
            if !Self.sameScored(got, want) { problem("\(k): zset differs (\(got.count) vs \(want.count) entries)") }
        case .hash(let fields):
            let want = (v as? [[Any]] ?? []).map { pair in
                BytePair(ExpectedContent.bytes(pair.first) ?? [], ExpectedContent.bytes(pair.last) ?? [])
            }.sorted()
            let got = fields.map { BytePair($0.field.bytes, $0.value.bytes) }.sorted()
            if got != want { problem("\(k): hash differs (\(got.count) vs \(want.count) fields)") }
            var wantTTL: [KeyedNumber] = []
            for pair in e["field_expire_ms"] as? [[Any]] ?? [] where pair.count == 2 {
                wantTTL.append(KeyedNumber(ExpectedContent.bytes(pair[0]) ?? [], ExpectedContent.int64(pair[1]) ?? -1))
            }
            let gotTTL = fields.compactMap { f in f.expiresAt.map { KeyedNumber(f.field.bytes, $0.milliseconds) } }
            if gotTTL.sorted() != wantTTL.sorted() {
                problem("\(k): field_expire_ms differs: \(gotTTL.count) fields with TTLs, expected \(wantTTL.count)")
            }
        case .stream(let stream):
            compareStream(k, h, stream, v as? [String: Any] ?? [:], volatile: e["volatile"] as? [String: Any])
        case .module:
            break  // module values: by type name only (compared above)
        case .array:
            problem("\(k): array values are not in this corpus")
        }
    }

    // MARK: Streams

    mutating func compareStream(
        _ k: CorpusKey, _ h: RDBKeyHeader, _ s: RedisStream, _ v: [String: Any], volatile: [String: Any]?
    ) {
        // Entries, in order.
        let wantEntries = (v["entries"] as? [[Any]] ?? []).map { entry in
            (
                id: entry.first as? String ?? "?",
                fields: (entry.last as? [[Any]] ?? []).map {
                    BytePair(ExpectedContent.bytes($0.first) ?? [], ExpectedContent.bytes($0.last) ?? [])
                }
            )
        }
        let gotEntries = s.entries.map { en in
            (id: en.id.description, fields: en.fields.map { BytePair($0.name.bytes, $0.value.bytes) })
        }
        if gotEntries.count != wantEntries.count {
            problem("\(k): stream has \(gotEntries.count) entries, expected \(wantEntries.count)")
        } else if let i = gotEntries.indices.first(where: {
            gotEntries[$0].id != wantEntries[$0].id || gotEntries[$0].fields != wantEntries[$0].fields
        }) {
            problem("\(k): stream entry \(i) differs: \(gotEntries[i].id) vs \(wantEntries[i].id)")
        }
        if ExpectedContent.uint64(v["length"]) != s.metadata.length {
            problem("\(k): stream length \(s.metadata.length) != \(String(describing: v["length"]))")
        }
        if v["last_id"] as? String != s.metadata.lastID.description {
            problem("\(k): last_id \(s.metadata.lastID) != \(String(describing: v["last_id"]))")
        }
        // v2+ metadata, when the file's stream type stores it (a server loading a v1 stream derives it).
        if Self.streamV2Types.contains(h.valueType) {
            if v["entries_added"] != nil, ExpectedContent.uint64(v["entries_added"]) != s.metadata.entriesAdded {
                problem(
                    "\(k): entries_added \(String(describing: s.metadata.entriesAdded)) != "
                        + String(describing: v["entries_added"])
                )
            }
            for (name, got) in [
                ("max_deleted_entry_id", s.metadata.maxDeletedEntryID), ("first_id", s.metadata.firstID),
            ]
            where v[name] != nil {
                if v[name] as? String != got?.description {
                    problem("\(k): \(name) \(String(describing: got)) != \(String(describing: v[name]))")
                }
            }
        }
        // Groups: name, last delivered id, PEL (id, consumer, delivery count), consumers (name, sorted PEL ids).
        let wantGroups = (v["groups"] as? [[String: Any]] ?? []).map { g in
            GroupShape(
                name: ExpectedContent.bytes(g["name"]) ?? [],
                lastDelivered: g["last_delivered_id"] as? String ?? "?",
                pel: (g["pel"] as? [[Any]] ?? []).map { p in
                    PELShape(
                        id: p.first as? String ?? "?", consumer: p.count > 1 ? ExpectedContent.bytes(p[1]) : nil,
                        count: p.count > 2 ? ExpectedContent.uint64(p[2]) : nil)
                }.sorted(),
                consumers: (g["consumers"] as? [[String: Any]] ?? []).map { c in
                    ConsumerShape(
                        name: ExpectedContent.bytes(c["name"]) ?? [],
                        ids: (c["pel"] as? [Any] ?? []).map { p in
                            StreamID((p as? [Any])?.first as? String ?? (p as? String ?? "")) ?? .zero
                        }.sorted())
                }.sorted())
        }.sorted()
        let gotGroups = s.groups.map { g in
            GroupShape(
                name: g.name.bytes, lastDelivered: g.lastDeliveredID.description,
                pel: g.pending.map {
                    PELShape(id: $0.id.description, consumer: $0.consumer?.bytes, count: $0.deliveryCount)
                }
                .sorted(),
                consumers: g.consumers.map { ConsumerShape(name: $0.name.bytes, ids: $0.pending.sorted()) }.sorted())
        }.sorted()
        if gotGroups != wantGroups {
            problem(
                "\(k): consumer groups differ: \(Self.describe(gotGroups)) vs expected \(Self.describe(wantGroups))")
        }
        if comparesStreamTimes { compareStreamTimes(k, h, s, volatile) }
    }

    /// Times persisted in the RDB that change between runs: PEL delivery times, consumer seen and active times.
    mutating func compareStreamTimes(_ k: CorpusKey, _ h: RDBKeyHeader, _ s: RedisStream, _ volatile: [String: Any]?) {
        guard let groups = volatile?["groups"] as? [[String: Any]] else { return }
        let hasActiveTime = Self.streamV3Types.contains(h.valueType)
        for g in groups {
            let name = ExpectedContent.bytes(g["name"]) ?? []
            let gname = RedisBytes(name).escapedDescription
            guard let group = s.groups.first(where: { $0.name.bytes == name }) else {
                problem("\(k): no group \(gname) for its stream times")
                continue
            }
            var wantDelivery: [String: Int64] = [:]
            for p in g["pel_delivery_time_ms"] as? [[Any]] ?? [] where p.count == 2 {
                wantDelivery[p[0] as? String ?? "?"] = ExpectedContent.int64(p[1])
            }
            var gotDelivery: [String: Int64] = [:]
            for p in group.pending { gotDelivery[p.id.description] = p.deliveryTime.milliseconds }
            if gotDelivery != wantDelivery {
                problem("\(k): group \(gname): PEL delivery times \(gotDelivery) != \(wantDelivery)")
            }
            for c in g["consumers"] as? [[String: Any]] ?? [] {
                let cname = ExpectedContent.bytes(c["name"]) ?? []
                guard let consumer = group.consumers.first(where: { $0.name.bytes == cname }) else {
                    problem("\(k): group \(gname): no consumer \(RedisBytes(cname).escapedDescription)")
                    continue
                }
                let who = "\(k): group \(gname): consumer \(consumer.name)"
                let seen = ExpectedContent.int64(c["seen_time_ms"])
                if consumer.seenTime.milliseconds != seen {
                    problem("\(who): seen_time_ms \(consumer.seenTime) != \(seen.map(String.init) ?? "nil")")
                }
                if hasActiveTime, c["active_time_ms"] != nil {
                    let active = ExpectedContent.int64(c["active_time_ms"])
                    if consumer.activeTime?.milliseconds != active {
                        let got = consumer.activeTime.map(\.description) ?? "nil"
                        problem("\(who): active_time_ms \(got) != \(active.map(String.init) ?? "nil")")
                    }
                }
            }
        }
    }

    // MARK: Helpers

    static func bytesLess(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.lexicographicallyPrecedes(b) }

    /// A zset score: `"inf"`, `"-inf"` or Python `repr` of a double (or a JSON number).
    static func score(_ v: Any) -> Double? {
        if let s = v as? String { return Double(s) }
        return (v as? NSNumber)?.doubleValue
    }

    /// Compares zsets as `json_conformance.py` does: sorted by (score, member), scores with `==`.
    static func sameScored(_ a: [(Double, [UInt8])], _ b: [(Double, [UInt8])]) -> Bool {
        guard a.count == b.count else { return false }
        let less = { (x: (Double, [UInt8]), y: (Double, [UInt8])) in x.0 < y.0 || (x.0 == y.0 && bytesLess(x.1, y.1)) }
        return zip(a.sorted(by: less), b.sorted(by: less)).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    static func describe(_ groups: [GroupShape]) -> String {
        groups.map { g in
            let pel = g.pel.map { p in
                "\(p.id)/\(p.consumer.map { RedisBytes($0).description } ?? "nil")/\(p.count.map(String.init) ?? "nil")"
            }
            let consumers = g.consumers.map { "\(RedisBytes($0.name))\($0.ids)" }
            return "\(RedisBytes(g.name).escapedDescription)@\(g.lastDelivered) pel=\(pel) consumers=\(consumers)"
        }.joined(separator: "; ")
    }
}

extension ConformanceCheck {
    /// Two byte strings, ordered by bytes.
    struct BytePair: Hashable, Comparable {
        var a: [UInt8]
        var b: [UInt8]
        init(_ a: [UInt8], _ b: [UInt8]) {
            self.a = a
            self.b = b
        }
        static func < (x: BytePair, y: BytePair) -> Bool {
            x.a != y.a ? x.a.lexicographicallyPrecedes(y.a) : x.b.lexicographicallyPrecedes(y.b)
        }
    }

    /// A byte string and a number, ordered by bytes then number.
    struct KeyedNumber: Hashable, Comparable {
        var a: [UInt8]
        var n: Int64
        init(_ a: [UInt8], _ n: Int64) {
            self.a = a
            self.n = n
        }
        static func < (x: KeyedNumber, y: KeyedNumber) -> Bool {
            x.a != y.a ? x.a.lexicographicallyPrecedes(y.a) : x.n < y.n
        }
    }

    struct PELShape: Hashable, Comparable {
        var id: String
        var consumer: [UInt8]?
        var count: UInt64?
        static func < (x: PELShape, y: PELShape) -> Bool {
            (StreamID(x.id) ?? .zero) < (StreamID(y.id) ?? .zero)
        }
    }

    struct ConsumerShape: Hashable, Comparable {
        var name: [UInt8]
        var ids: [StreamID]
        static func < (x: ConsumerShape, y: ConsumerShape) -> Bool { x.name.lexicographicallyPrecedes(y.name) }
    }

    struct GroupShape: Hashable, Comparable {
        var name: [UInt8]
        var lastDelivered: String
        var pel: [PELShape]
        var consumers: [ConsumerShape]
        static func < (x: GroupShape, y: GroupShape) -> Bool { x.name.lexicographicallyPrecedes(y.name) }
    }
}
