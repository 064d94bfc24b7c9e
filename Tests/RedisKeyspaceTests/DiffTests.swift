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
