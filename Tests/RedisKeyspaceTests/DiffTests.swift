import Foundation
import RedisFormats
import RedisKeyspace
import Testing
import _RedisFormatsTestSupport

/// `KeyspaceDiff` against real files: corpus pairs checked against their expected.json files, an RDB against the
/// AOF of the same data, and a file against itself after known edits made on a real server.
@Suite("Keyspace diff")
struct DiffTests {
    struct Outcome {
        var summary: KeyspaceDiff.Summary
        var differences: [CorpusKey: KeyDifference]
    }

    static func diff(
        _ a: any DiffSource, _ b: any DiffSource, options: KeyspaceDiff.Options = KeyspaceDiff.Options(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Outcome {
        var out: [CorpusKey: KeyDifference] = [:]
        let summary = try KeyspaceDiff(a: a, b: b, options: options).run { d in
            let k = CorpusKey(db: d.db, key: d.key.bytes)
            #expect(out[k] == nil, "\(k) reported twice", sourceLocation: sourceLocation)
            out[k] = d
        }
        #expect(summary.differences == out.count, sourceLocation: sourceLocation)
        return Outcome(summary: summary, differences: out)
    }

    static func rdb(_ relative: String) -> RDBDiffSource { RDBDiffSource(path: Corpus.fixture(relative)) }

    // MARK: Expected differences from two expected.json files

    /// JSON made comparable: objects with sorted keys.
    static func canonical(_ v: Any?) -> Data {
        guard let v, !(v is NSNull) else { return Data("null".utf8) }
        return (try? JSONSerialization.data(withJSONObject: ["v": v], options: [.sortedKeys])) ?? Data()
    }

    static func isAbsent(_ v: Any?) -> Bool { v == nil || v is NSNull }

    /// Stream values as the diff compares them: derived and encoding-dependent fields dropped, fields one side
    /// does not record (older servers) dropped from both, groups and consumers by name, volatile times never
    /// (they are not in `value`).
    static func comparableStreams(_ x: [String: Any], _ y: [String: Any]) -> (Data, Data) {
        var x = x
        var y = y
        for k in ["radix_tree_keys", "radix_tree_nodes", "first_entry_id", "last_entry_id"] {
            x[k] = nil
            y[k] = nil
        }
        for k in ["entries_added", "max_deleted_entry_id", "first_id"] where isAbsent(x[k]) || isAbsent(y[k]) {
            x[k] = nil
            y[k] = nil
        }
        func groups(_ v: Any?) -> [String: [String: Any]] {
            var out: [String: [String: Any]] = [:]
            for g in v as? [[String: Any]] ?? [] { out[String(decoding: canonical(g["name"]), as: UTF8.self)] = g }
            return out
        }
        var gx = groups(x["groups"])
        var gy = groups(y["groups"])
        for name in Set(gx.keys).intersection(gy.keys) where isAbsent(gx[name]?["entries_read"]) || isAbsent(gy[name]?["entries_read"]) {
            gx[name]?["entries_read"] = nil
            gy[name]?["entries_read"] = nil
        }
        func sortedConsumers(_ g: [String: Any]) -> [String: Any] {
            var g = g
            let cs = (g["consumers"] as? [[String: Any]] ?? []).sorted {
                canonical($0["name"]).lexicographicallyPrecedes(canonical($1["name"]))
            }
            g["consumers"] = cs
            return g
        }
        x["groups"] = gx.keys.sorted().map { sortedConsumers(gx[$0]!) }
        y["groups"] = gy.keys.sorted().map { sortedConsumers(gy[$0]!) }
        return (canonical(x), canonical(y))
    }

    /// The encoding as an RDB can record it: strings are `int` or `raw` (embstr is a memory layout), and every
    /// list is stored as a quicklist (a small list the server holds as a listpack too).
    static func normalizedEncoding(_ v: Any?, type: Any?) -> String? {
        let e = v as? String
        if e == "embstr" { return "raw" }
        if type as? String == "list" { return "quicklist" }
        return e
    }

    /// Whether two key entries differ as `rdbkit diff` defines it.
    static func entriesDiffer(_ x: [String: Any], _ y: [String: Any], encoding: Bool) -> Bool {
        if x["type"] as? String != y["type"] as? String { return true }
        if ExpectedContent.int64(x["expire_ms"]) != ExpectedContent.int64(y["expire_ms"]) { return true }
        if canonical(x["field_expire_ms"] ?? []) != canonical(y["field_expire_ms"] ?? []) { return true }
        if encoding && normalizedEncoding(x["encoding"], type: x["type"]) != normalizedEncoding(y["encoding"], type: y["type"]) { return true }
        if x["type"] as? String == "stream", let sx = x["value"] as? [String: Any], let sy = y["value"] as? [String: Any] {
            let (a, b) = comparableStreams(sx, sy)
            return a != b
        }
        return canonical(x["value"]) != canonical(y["value"])
    }

    static func expectedKinds(_ a: ExpectedContent, _ b: ExpectedContent, encoding: Bool) -> [CorpusKey: KeyDifference.Kind] {
        var out: [CorpusKey: KeyDifference.Kind] = [:]
        for (k, x) in a.keys {
            if let y = b.keys[k] {
                if entriesDiffer(x, y, encoding: encoding) { out[k] = .changed }
            } else {
                out[k] = .onlyA
            }
        }
        for k in b.keys.keys where a.keys[k] == nil { out[k] = .onlyB }
        return out
    }

    static let corpusPairs: [(String, String)] = [
        ("redis-7.0.15/rdb/all-types.rdb", "redis-6.2/rdb/all-types.rdb"),
        ("redis-6.0.9/rdb/all-types.rdb", "redis-7.0.15/rdb/all-types.rdb"),
        ("redis-7.0.15/rdb/all-types.rdb", "valkey-9.1/rdb/all-types.rdb"),
        ("redis-7.0.15/rdb/lfu.rdb", "redis-7.0.15/rdb/all-types.rdb"),
        ("redis-6.2/rdb/big.rdb", "redis-7.0.15/rdb/big.rdb"),
        ("redis-7.0.15/rdb/all-types.rdb", "redis-7.0.15/rdb/big.rdb"),
        ("redis-stack-7.4/rdb/hash-field-ttl.rdb", "valkey-9.1/rdb/hash-field-ttl.rdb"),
        ("redis-7.0.15/rdb/all-types.rdb", "redis-7.0.15/rdb/nocompress-nochecksum.rdb"),
    ]

    @Test(
        "Corpus pairs: the differing keys and kinds are exactly those the two expected.json files imply",
        arguments: corpusPairs, [false, true])
    func corpusPairMatchesExpected(pair: (String, String), encoding: Bool) throws {
        let ea = try ExpectedContent(path: try #require(Corpus.expectedPath(forRDB: Corpus.fixture(pair.0))))
        let eb = try ExpectedContent(path: try #require(Corpus.expectedPath(forRDB: Corpus.fixture(pair.1))))
        try #require(ea.droppedOnLoad.isEmpty && eb.droppedOnLoad.isEmpty, "the files hold exactly the expected keys")
        let want = Self.expectedKinds(ea, eb, encoding: encoding)
        var options = KeyspaceDiff.Options()
        options.compareEncoding = encoding
        options.detailLimit = 0
        let got = try Self.diff(Self.rdb(pair.0), Self.rdb(pair.1), options: options)
        #expect(got.summary.keysA == ea.keys.count && got.summary.keysB == eb.keys.count)
        let gotKinds = got.differences.mapValues(\.kind)
        for (k, kind) in want where gotKinds[k] != kind {
            Issue.record("\(k): expected \(kind), diff says \(gotKinds[k].map { "\($0)" } ?? "equal")")
        }
        for (k, d) in got.differences where want[k] == nil {
            Issue.record("\(k): diff says \(d.kind) \(d.details), expected.json says equal")
        }
        for d in got.differences.values {
            #expect((d.kind == .changed) == !d.details.isEmpty, "changed keys come with details: \(d)")
            if d.kind != .onlyB { #expect(d.typeA == ea.keys[CorpusKey(db: d.db, key: d.key.bytes)]?["type"] as? String) }
            if d.kind != .onlyA { #expect(d.typeB == eb.keys[CorpusKey(db: d.db, key: d.key.bytes)]?["type"] as? String) }
        }
        #expect(got.summary.isEqual == want.isEmpty)
    }

    @Test(
        "With stream times, exactly the streams whose recorded times differ between two saves differ",
        arguments: ["redis-6.2", "redis-7.0.15", "valkey-9.1"])
    func streamTimes(server: String) throws {
        let a = "\(server)/rdb/all-types.rdb"
        let b = "\(server)/rdb/nocompress-nochecksum.rdb"
        let ea = try ExpectedContent(path: try #require(Corpus.expectedPath(forRDB: Corpus.fixture(a))))
        let eb = try ExpectedContent(path: try #require(Corpus.expectedPath(forRDB: Corpus.fixture(b))))
        var want: Set<CorpusKey> = []
        for (k, x) in ea.keys where x["type"] as? String == "stream" {
            if Self.canonical(x["volatile"]) != Self.canonical(eb.keys[k]?["volatile"]) { want.insert(k) }
        }
        #expect(!want.isEmpty, "two saves of a stream with consumers record different times")
        var options = KeyspaceDiff.Options()
        options.fingerprint.streamTimes = true
        let got = try Self.diff(Self.rdb(a), Self.rdb(b), options: options)
        #expect(Set(got.differences.keys) == want)
        for d in got.differences.values {
            #expect(d.kind == .changed)
            #expect(d.details.allSatisfy { $0.contains("delivery_time") || $0.contains("seen_time") || $0.contains("active_time") || $0.hasPrefix("… and") }, "\(d.details)")
        }
        let plain = try Self.diff(Self.rdb(a), Self.rdb(b))
        #expect(plain.summary.isEqual)
    }

    @Test("Every corpus RDB equals itself, in one pass per side", arguments: Corpus.fixtureRDBsWithExpected())
    func fileEqualsItself(file: String) throws {
        let got = try Self.diff(Self.rdb(file), Self.rdb(file))
        #expect(got.summary.isEqual)
        #expect(got.summary.passesA == 1 && got.summary.passesB == 1)
        let expected = try ExpectedContent(path: try #require(Corpus.expectedPath(forRDB: Corpus.fixture(file))))
        #expect(got.summary.keysA == expected.keys.count + expected.droppedOnLoad.count)
    }

    @Test("A key whose value moves between fields, members or positions changes the fingerprint")
    func fingerprintsSeeMovedValues() {
        var f = KeyFingerprinter()
        let h1 = f.fingerprint(.hash([HashField(field: "a", value: "1"), HashField(field: "b", value: "2")]))
        let h2 = f.fingerprint(.hash([HashField(field: "a", value: "2"), HashField(field: "b", value: "1")]))
        let h3 = f.fingerprint(.hash([HashField(field: "b", value: "2"), HashField(field: "a", value: "1")]))
        #expect(h1 != h2)
        #expect(h1 == h3, "field order does not matter")
        #expect(f.fingerprint(.list(["a", "b"])) != f.fingerprint(.list(["b", "a"])))
        #expect(f.fingerprint(.set(["a", "b"])) == f.fingerprint(.set(["b", "a"])))
        #expect(f.fingerprint(.list(["ab", "c"])) != f.fingerprint(.list(["a", "bc"])))
        #expect(f.fingerprint(.set(["a"])) != f.fingerprint(.list(["a"])), "type is part of the fingerprint")
        #expect(
            f.fingerprint(.sortedSet([SortedSetEntry(member: "m", score: 0)]))
                != f.fingerprint(.sortedSet([SortedSetEntry(member: "m", score: -0.0)])))
        #expect(
            f.fingerprint(.hash([HashField(field: "a", value: "1", expiresAt: RedisTimestamp(milliseconds: 5))]))
                != f.fingerprint(.hash([HashField(field: "a", value: "1")])), "field TTLs count")
        // Deterministic across processes: a fixed value has a fixed fingerprint.
        #expect(f.fingerprint(.string("hello")) == f.fingerprint(.string(RedisBytes(Array("hello".utf8)))))
    }

    @Test("Details are limited per kind, the rest counted right after the last one shown")
    func detailLimit() {
        var options = KeyspaceDiff.Options()
        options.detailLimit = 2
        let a: RedisValue = .set(["a", "b", "c", "d", "keep"])
        let b: RedisValue = .set(["keep", "x", "y"])
        #expect(
            KeyspaceDiff.valueDetails(a, b, options: options) == [
                "member \"a\" only in A", "member \"b\" only in A", "… and 2 more members only in A",
                "member \"x\" only in B", "member \"y\" only in B", "cardinality 5 → 3",
            ])
        options.detailLimit = 0
        #expect(KeyspaceDiff.valueDetails(a, b, options: options).count == 7)
        #expect(KeyspaceDiff.valueDetails(a, a, options: options).isEmpty)
        // Binary and long values are quoted exactly, long ones cut with their length.
        let long = RedisBytes(Array(repeating: UInt8(ascii: "x"), count: 100))
        var longer = long
        longer.bytes[70] = 0xFF
        #expect(
            KeyspaceDiff.valueDetails(.string(long), .string(longer), options: options) == [
                "value \"\(String(repeating: "x", count: 48))…\" (100 bytes) → \"\(String(repeating: "x", count: 48))…\" (100 bytes), first difference at byte 70"
            ])
        #expect(
            KeyspaceDiff.valueDetails(.string(RedisBytes([0x00, 0x0A])), .string("é"), options: options) == [
                "value \"\\x00\\n\" → \"é\""
            ])
    }

    @Test("The RDB visitor path and the keyspace path fingerprint every corpus value alike")
    func visitorAndModelAgree() throws {
        for server in Corpus.servers {
            let path = Corpus.fixture("\(server)/rdb/all-types.rdb")
            let ks = Keyspace()
            try KeyspaceLoader(keyspace: ks).loadRDB(try RDBReader(path: path))
            let got = try Self.diff(RDBDiffSource(path: path), KeyspaceDiffSource(keyspace: ks))
            #expect(got.summary.isEqual, "\(server): \(got.differences.values.map { "\($0.key) \($0.details)" })")
            #expect(got.summary.dismissedCandidates == 0, "\(server): fingerprints agree, no detail pass needed")
        }
    }

    @Test("Small detail batches take more passes over B and find the same differences")
    func batchesGiveSameResult() throws {
        let a = "redis-7.0.15/rdb/all-types.rdb"
        let ks = Keyspace()
        try KeyspaceLoader(keyspace: ks).loadRDB(try RDBReader(path: Corpus.fixture(a)))
        // Change every hash.
        var hashes = 0
        for db in ks.nonEmptyDatabases {
            for key in ks.keys(db: db) {
                if case .hash(let h)? = ks.value(db: db, key: key) {
                    h.set("extra-field", "x")
                    hashes += 1
                }
            }
        }
        #expect(hashes > 1)
        var options = KeyspaceDiff.Options()
        options.parallel = false
        let whole = try Self.diff(Self.rdb(a), KeyspaceDiffSource(keyspace: ks), options: options)
        options.batchBytes = 1
        let batched = try Self.diff(Self.rdb(a), KeyspaceDiffSource(keyspace: ks), options: options)
        #expect(whole.differences.count == hashes)
        #expect(batched.summary.passesB > whole.summary.passesB)
        #expect(Set(whole.differences.keys) == Set(batched.differences.keys))
        for (k, d) in whole.differences {
            #expect(d.details == ["field \"extra-field\" only in B"], "\(k)")
            #expect(batched.differences[k]?.details == d.details)
        }
    }
}

// MARK: - Live servers

extension LiveConnection {
    @discardableResult
    func must(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> Reply {
        let r = try call(args)
        if case .error(let e) = r {
            Issue.record("\(args.joined(separator: " ")): -\(e)", sourceLocation: sourceLocation)
        }
        return r
    }

    func bulk(_ args: [String]) throws -> RedisBytes {
        guard case .bulk(let b?) = try call(args) else { throw Failure(description: "\(args): not a bulk reply") }
        return RedisBytes(b)
    }

    func integer(_ args: [String]) throws -> Int64 {
        guard case .integer(let i) = try call(args) else { throw Failure(description: "\(args): not an integer reply") }
        return i
    }

    func strings(_ args: [String]) throws -> [RedisBytes] {
        guard case .array(let items?) = try call(args) else { throw Failure(description: "\(args): not an array") }
        return items.compactMap { if case .bulk(let b?) = $0 { RedisBytes(b) } else { nil } }
    }
}

@Suite("Keyspace diff against a live redis-server 7.0", .enabled(if: LiveServerKind.redis70.isInstalled))
struct DiffLiveServerTests {
    static func loadAOF(_ path: String) throws -> Keyspace {
        let ks = Keyspace()
        _ = try KeyspaceLoader(keyspace: ks).loadAOF(path: path)
        return ks
    }

    /// String and key commands, including the ones an AOF rewrites (SETEX, EXPIRE → PEXPIREAT), over several
    /// databases and binary keys; then every key of the corpus all-types RDB written with RESTORE (all types).
    static func writeStringsAndRestores(_ c: LiveConnection) throws {
        try c.must(["SET", "counter", "10"])
        try c.must(["INCRBY", "counter", "32"])
        try c.must(["APPEND", "greeting", "hello"])
        try c.must(["APPEND", "greeting", " world"])
        try c.must(["SETEX", "session", "100000", "token"])
        try c.must(["SET", "far", "x", "PXAT", "4102444800000"])
        try c.must(["SET", "gone", "x"])
        try c.must(["DEL", "gone"])
        try c.must(["SET", "old-name", "v"])
        try c.must(["RENAME", "old-name", "new-name"])
        try c.must(["SET", "kept", "v", "EX", "500000"])
        try c.must(["PERSIST", "kept"])
        try c.must(["MSET", "m1", "a", "m2", "b"])
        try c.must(["INCRBYFLOAT", "float", "1.5"])
        try c.must(["SETRANGE", "range", "3", "abc"])
        _ = try c.call([RedisBytes("SET"), RedisBytes([0xFF, 0x00, 0x0A]), RedisBytes([0x00, 0x01])])
        try c.must(["SELECT", "3"])
        try c.must(["SET", "db3-key", "three"])
        try c.must(["PEXPIRE", "db3-key", "999999999"])
        try c.must(["SELECT", "0"])
        let expected = try ExpectedContent(
            path: try #require(Corpus.expectedPath(forRDB: Corpus.fixture("redis-7.0.15/rdb/all-types.rdb"))))
        for (k, e) in expected.keys.sorted(by: { ($0.key.db, $0.key.key.lexicographicallyPrecedes($1.key.key) ? 0 : 1) < ($1.key.db, 1) }) {
            let payload = try #require((e["dump_b64"] as? String).flatMap { Data(base64Encoded: $0) })
            _ = try c.call(["SELECT", "\(k.db)"])
            var args = [RedisBytes("RESTORE"), RedisBytes(k.key)]
            if let ms = ExpectedContent.int64(e["expire_ms"]) {
                args += [RedisBytes(String(ms)), RedisBytes(Array(payload)), "ABSTTL", "REPLACE"]
            } else {
                args += ["0", RedisBytes(Array(payload)), "REPLACE"]
            }
            let r = try c.call(args)
            #expect(r == .simple("OK"), "RESTORE \(k): \(r)")
        }
        _ = try c.call(["SELECT", "0"])
    }

    @Test("An RDB and the AOF (no preamble) of the same data are equal: string and key commands, every type through RESTORE")
    func rdbEqualsAOF() throws {
        let dir = try ScratchDirectory("diff-aof")
        defer { dir.remove() }
        let server = try LiveServer(
            .redis70, directory: dir.path, arguments: ["--appendonly", "yes", "--aof-use-rdb-preamble", "no"])
        defer { server.stop() }
        let c = try LiveConnection(port: server.port)
        try Self.writeStringsAndRestores(c)
        _ = try server.saveAndRead()
        let total = try server.dbsize().values.reduce(0, +)
        let aof = try Self.loadAOF(dir("appendonlydir"))
        var options = KeyspaceDiff.Options()
        options.detailLimit = 0
        let got = try DiffTests.diff(RDBDiffSource(path: dir("dump.rdb")), KeyspaceDiffSource(keyspace: aof), options: options)
        #expect(got.summary.keysA == total && got.summary.keysB == total)
        #expect(got.summary.isEqual, "\(got.differences.values.map { "\($0.kind) \($0.key) \($0.details)" })")
        // And the other way round, the AOF as side A.
        let back = try DiffTests.diff(KeyspaceDiffSource(keyspace: aof), RDBDiffSource(path: dir("dump.rdb")))
        #expect(back.summary.isEqual)
    }

    @Test("An RDB and the AOF of native list, set, zset, hash and stream commands are equal")
    func rdbEqualsAOFNativeCommands() throws {
        let dir = try ScratchDirectory("diff-aof-native")
        defer { dir.remove() }
        let server = try LiveServer(
            .redis70, directory: dir.path, arguments: ["--appendonly", "yes", "--aof-use-rdb-preamble", "no"])
        defer { server.stop() }
        let c = try LiveConnection(port: server.port)
        try c.must(["RPUSH", "list", "a", "b", "c", "d"])
        try c.must(["LPUSH", "list", "z"])
        try c.must(["LSET", "list", "2", "B"])
        try c.must(["SADD", "set", "x", "y", "z", "1", "2"])
        try c.must(["SREM", "set", "y"])
        try c.must(["ZADD", "zset", "1", "one", "2", "two", "inf", "top"])
        try c.must(["ZINCRBY", "zset", "2.5", "one"])
        try c.must(["HSET", "hash", "name", "bob", "age", "42", "city", "x"])
        try c.must(["HDEL", "hash", "city"])
        try c.must(["HINCRBYFLOAT", "hash", "score", "1.25"])
        try c.must(["XADD", "stream", "1-1", "f", "v"])
        try c.must(["XADD", "stream", "2-1", "f", "w", "g", "x"])
        try c.must(["XGROUP", "CREATE", "stream", "grp", "0"])
        try c.must(["PEXPIREAT", "hash", "4102444800000"])
        _ = try server.saveAndRead()
        let aof = try Self.loadAOF(dir("appendonlydir"))
        let got = try DiffTests.diff(RDBDiffSource(path: dir("dump.rdb")), KeyspaceDiffSource(keyspace: aof))
        #expect(got.summary.isEqual, "\(got.differences.values.map { "\($0.kind) \($0.key) \($0.details)" })")
    }

    @Test("A file against itself after known edits on a real server: exactly the edited keys, with exactly these details")
    func editsOnALiveServer() throws {
        let original = Corpus.fixture("redis-7.0.15/rdb/all-types.rdb")
        let dir = try ScratchDirectory("diff-edits")
        defer { dir.remove() }
        try FileManager.default.copyItem(atPath: original, toPath: dir("dump.rdb"))
        let server = try LiveServer(.redis70, directory: dir.path, arguments: [])
        defer { server.stop() }
        let c = try LiveConnection(port: server.port)
        let q = { (b: RedisBytes) in DiffText.quote(b) }
        var want: [CorpusKey: (KeyDifference.Kind, [String])] = [:]
        func key(_ s: String, db: UInt64 = 0) -> CorpusKey { CorpusKey(db: db, key: Array(s.utf8)) }

        // Strings: a short value, a long value.
        let short = "str-embstr:quebec:92"
        let oldShort = try c.bulk(["GET", short])
        try c.must(["SET", short, "edited"])
        want[key(short)] = (.changed, ["value \(q(oldShort)) → \"edited\""])
        let long = "str-raw:bravo:2058"
        let oldLong = try c.bulk(["GET", long])
        try c.must(["APPEND", long, "!"])
        let newLong = try c.bulk(["GET", long])
        want[key(long)] = (.changed, ["value \(q(oldLong)) → \(q(newLong)), first difference at byte \(oldLong.count)"])
        // Lists: one position, one length.
        let edited = "list-edited:romeo:8813"
        let old0 = try c.bulk(["LINDEX", edited, "0"])
        try c.must(["LSET", edited, "0", "L0"])
        want[key(edited)] = (.changed, ["first difference at index 0: \(q(old0)) → \"L0\""])
        let small = "list-small:charlie:4956"
        let n = try c.integer(["LLEN", small])
        try c.must(["RPUSH", small, "tail"])
        want[key(small)] = (.changed, ["length \(n) → \(n + 1)"])
        // Sets: a member added, a member removed.
        let sset = "set-small-str:india:3930"
        let sn = try c.integer(["SCARD", sset])
        try c.must(["SADD", sset, "new-member"])
        want[key(sset)] = (.changed, ["member \"new-member\" only in B", "cardinality \(sn) → \(sn + 1)"])
        let iset = "set-int16:juliet:3385"
        let members = try c.strings(["SMEMBERS", iset]).sorted()
        let isn = try c.integer(["SCARD", iset])
        try c.must(["SREM", iset, try #require(members.first).utf8String!])
        want[key(iset)] = (.changed, ["member \(q(members[0])) only in A", "cardinality \(isn) → \(isn - 1)"])
        // Sorted sets: a score, a new member, a removed member in db 15.
        let zsmall = "zset-small:oscar:7236"
        let ranked = try c.strings(["ZRANGE", zsmall, "0", "-1", "WITHSCORES"])
        var scored: (RedisBytes, Double)?
        for i in stride(from: 0, to: ranked.count, by: 2) {
            if let s = Double(ranked[i + 1].utf8String!), s.isFinite, s == s.rounded(), abs(s) < 1e6 {
                scored = (ranked[i], s)
                break
            }
        }
        let (zm, zs) = try #require(scored)
        try c.must(["ZINCRBY", zsmall, "2", zm.utf8String!])
        want[key(zsmall)] = (.changed, ["member \(q(zm)) score \(DiffText.score(zs)) → \(DiffText.score(zs + 2))"])
        let zlarge = "zset-large:oscar:6534"
        let zn = try c.integer(["ZCARD", zlarge])
        try c.must(["ZADD", zlarge, "7", "zz-new"])
        want[key(zlarge)] = (.changed, ["member \"zz-new\" only in B (score 7)", "cardinality \(zn) → \(zn + 1)"])
        _ = try c.call(["SELECT", "15"])
        let z15 = "db15-zset:bravo:3134"
        let z15members = try c.strings(["ZRANGE", z15, "0", "-1", "WITHSCORES"])
        try c.must(["ZREM", z15, z15members[0].utf8String!])
        want[key(z15, db: 15)] = (
            .changed,
            [
                "member \(q(z15members[0])) only in A (score \(DiffText.score(Double(z15members[1].utf8String!)!)))",
                "cardinality \(z15members.count / 2) → \(z15members.count / 2 - 1)",
            ]
        )
        _ = try c.call(["SELECT", "0"])
        // Hashes: a changed field and a new one; a removed field.
        let hsmall = "hash-small:lima:8885"
        let hfields = try c.strings(["HKEYS", hsmall]).sorted()
        let f0 = hfields[0]
        let oldF0 = try c.bulk(["HGET", hsmall, f0.utf8String!])
        try #require(!hfields.contains("age"))
        try c.must(["HSET", hsmall, f0.utf8String!, "alice", "age", "42"])
        var hdetails = [(f0, "field \(q(f0)) \(q(oldF0)) → \"alice\""), (RedisBytes("age"), "field \"age\" only in B")]
        hdetails.sort { $0.0 < $1.0 }
        want[key(hsmall)] = (.changed, hdetails.map(\.1))
        let hlarge = "hash-large:oscar:3692"
        let hl = try c.strings(["HKEYS", hlarge]).sorted()
        try c.must(["HDEL", hlarge, hl[0].utf8String!])
        want[key(hlarge)] = (.changed, ["field \(q(hl[0])) only in A"])
        // Streams: an entry added, a group created.
        let stream = "stream-main:india:7543"
        let info = try c.call(["XINFO", "STREAM", stream])
        guard case .array(let fields?) = info else { throw LiveServer.Failure(description: "XINFO: \(info)") }
        var facts: [String: LiveConnection.Reply] = [:]
        for i in stride(from: 0, to: fields.count - 1, by: 2) {
            if case .bulk(let name?) = fields[i] { facts[String(decoding: name, as: UTF8.self)] = fields[i + 1] }
        }
        guard case .integer(let length)? = facts["length"], case .bulk(let lastID?)? = facts["last-generated-id"],
            case .integer(let added)? = facts["entries-added"]
        else { throw LiveServer.Failure(description: "XINFO fields: \(facts)") }
        let newID = try c.bulk(["XADD", stream, "*", "field", "value"]).utf8String!
        try c.must(["XGROUP", "CREATE", stream, "new-group", "0"])
        want[key(stream)] = (
            .changed,
            [
                "entries: 1 added (\(newID))", "length \(length) → \(length + 1)",
                "last_id \(String(decoding: lastID, as: UTF8.self)) → \(newID)", "entries_added \(added) → \(added + 1)",
                "group \"new-group\" only in B",
            ]
        )
        // Expiries: removed, added, changed.
        let ttl = "ttl-str:golf:1127"
        let oldTTL = try c.integer(["PEXPIRETIME", ttl])
        try c.must(["PERSIST", ttl])
        want[key(ttl)] = (.changed, ["expiry \(DiffText.expiry(oldTTL)) → none"])
        let noTTL = "str-embstr:echo:5692"
        try c.must(["PEXPIREAT", noTTL, "4102444800000"])
        want[key(noTTL)] = (.changed, ["expiry none → 4102444800000 (2100-01-01T00:00:00.000Z)"])
        let listTTL = "ttl-list:mike:737"
        let oldListTTL = try c.integer(["PEXPIRETIME", listTTL])
        try c.must(["PEXPIREAT", listTTL, "4102444800123"])
        want[key(listTTL)] = (.changed, ["expiry \(DiffText.expiry(oldListTTL)) → 4102444800123 (2100-01-01T00:00:00.123Z)"])
        // Deletes in two databases, new keys in two databases, a type change.
        try c.must(["DEL", "str-int:alpha:7666"])
        want[key("str-int:alpha:7666")] = (.onlyA, [])
        _ = try c.call(["SELECT", "7"])
        try c.must(["DEL", "db7-list:alpha:240"])
        want[key("db7-list:alpha:240", db: 7)] = (.onlyA, [])
        _ = try c.call(["SELECT", "3"])
        try c.must(["HSET", "new:hash", "f", "v"])
        want[key("new:hash", db: 3)] = (.onlyB, [])
        _ = try c.call(["SELECT", "0"])
        try c.must(["SET", "new:string", "v"])
        want[key("new:string")] = (.onlyB, [])
        let retyped = "str-numlike:lima:275"
        try c.must(["DEL", retyped])
        try c.must(["RPUSH", retyped, "a", "b"])
        want[key(retyped)] = (.changed, ["type string → list"])

        _ = try server.saveAndRead()
        var options = KeyspaceDiff.Options()
        options.detailLimit = 0
        let got = try DiffTests.diff(RDBDiffSource(path: original), RDBDiffSource(path: dir("dump.rdb")), options: options)
        #expect(Set(got.differences.keys) == Set(want.keys), "keys that differ")
        for (k, (kind, details)) in want {
            guard let d = got.differences[k] else { continue }
            #expect(d.kind == kind, "\(k)")
            #expect(d.details == details, "\(k)")
        }
        #expect(got.summary.counts[.onlyA] == 2 && got.summary.counts[.onlyB] == 2)
        #expect(got.summary.counts[.changed] == want.count - 4)
        #expect(got.summary.byType["list"]?[.changed] == 3, "list-edited, list-small, ttl-list (the retyped key counts under A's type)")
        #expect(got.summary.byType["string"]?[.changed] == 5, "two values, two expiries, the retyped key")
        // Backwards: the same keys, kinds swapped.
        let back = try DiffTests.diff(RDBDiffSource(path: dir("dump.rdb")), RDBDiffSource(path: original))
        #expect(Set(back.differences.keys) == Set(want.keys))
        for (k, (kind, _)) in want {
            let swapped: KeyDifference.Kind = kind == .onlyA ? .onlyB : kind == .onlyB ? .onlyA : .changed
            #expect(back.differences[k]?.kind == swapped, "\(k)")
        }
    }

    @Test(
        "Hash field TTL changes on a real Redis 7.4 are reported per field",
        .enabled(if: LiveServerKind.stack74.isInstalled))
    func hashFieldTTLs() throws {
        let dir = try ScratchDirectory("diff-hfe")
        defer { dir.remove() }
        let server = try LiveServer(.stack74, directory: dir.path, arguments: [])
        defer { server.stop() }
        let c = try LiveConnection(port: server.port)
        try c.must(["HSET", "h", "f1", "v1", "f2", "v2", "f3", "v3"])
        try c.must(["HPEXPIREAT", "h", "4102444800000", "FIELDS", "1", "f3"])
        _ = try server.saveAndRead()
        try FileManager.default.moveItem(atPath: dir("dump.rdb"), toPath: dir("before.rdb"))
        try c.must(["HPEXPIREAT", "h", "4102444800000", "FIELDS", "1", "f1"])
        try c.must(["HPERSIST", "h", "FIELDS", "1", "f3"])
        _ = try server.saveAndRead()
        let got = try DiffTests.diff(RDBDiffSource(path: dir("before.rdb")), RDBDiffSource(path: dir("dump.rdb")))
        #expect(got.differences.count == 1)
        #expect(
            got.differences[CorpusKey(db: 0, key: Array("h".utf8))]?.details == [
                "field \"f1\" TTL none → 4102444800000 (2100-01-01T00:00:00.000Z)",
                "field \"f3\" TTL 4102444800000 (2100-01-01T00:00:00.000Z) → none",
            ])
    }
}
