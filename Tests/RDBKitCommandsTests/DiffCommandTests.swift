import Foundation
import RedisFormats
import Testing
import _RedisFormatsTestSupport

/// `rdbkit diff` through the built executable: JSON Lines sides, --json, --keys-only, filters, exit statuses.
@Suite("rdbkit diff")
struct DiffCommandTests {
    static func run(_ args: [String]) throws -> CLITests.Run { try CLITests.rdbkit(["diff"] + args) }
    static func fixture(_ relative: String) -> String { Corpus.fixture(relative) }

    /// `rdbkit json FILE` written to a file in `dir`.
    static func jsonLines(of file: String, in dir: ScratchDirectory) throws -> String {
        let run = try CLITests.rdbkit(["json", "--threads", "1", fixture(file)])
        try #require(run.status == 0, "rdbkit json: \(run.stderr)")
        let path = dir(file.replacingOccurrences(of: "/", with: "_") + ".jsonl")
        try run.stdout.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The keys only in A, only in B, and in both but changed, from the two expected.json files (for pairs whose
    /// shared keys are not streams: type, value and expiry compared as JSON).
    static func keySets(_ a: String, _ b: String) throws -> (onlyA: Set<CorpusKey>, onlyB: Set<CorpusKey>, changed: Set<CorpusKey>) {
        let ea = try CLITests.expected(a)
        let eb = try CLITests.expected(b)
        let ka = Set(ea.keys.keys)
        let kb = Set(eb.keys.keys)
        var changed: Set<CorpusKey> = []
        func comparable(_ e: [String: Any]) throws -> Data {
            #expect(e["type"] as? String != "stream")
            return try JSONSerialization.data(
                withJSONObject: [e["type"] ?? NSNull(), e["value"] ?? NSNull(), e["expire_ms"] ?? NSNull()], options: [.sortedKeys])
        }
        for k in ka.intersection(kb) where try comparable(ea.keys[k]!) != comparable(eb.keys[k]!) { changed.insert(k) }
        return (ka.subtracting(kb), kb.subtracting(ka), changed)
    }

    @Test("Every corpus RDB equals its own rdbkit json output, either way round", arguments: Corpus.fixtureRDBsWithExpected())
    func jsonLinesSideIsEqual(file: String) throws {
        let dir = try ScratchDirectory("diff-jsonl")
        defer { dir.remove() }
        let jsonl = try Self.jsonLines(of: file, in: dir)
        let forward = try Self.run([Self.fixture(file), jsonl])
        #expect(forward.status == 0, "\(String(decoding: forward.stdout, as: UTF8.self)) \(forward.stderr)")
        let backward = try Self.run(["--quiet", jsonl, Self.fixture(file)])
        #expect(backward.status == 0, "\(String(decoding: backward.stdout, as: UTF8.self)) \(backward.stderr)")
    }

    @Test("A JSON Lines side with a line changed, one dropped and one added gives exactly those three keys")
    func editedJSONLines() throws {
        let dir = try ScratchDirectory("diff-jsonl-edit")
        defer { dir.remove() }
        let file = "redis-7.0.15/rdb/all-types.rdb"
        let jsonl = try Self.jsonLines(of: file, in: dir)
        var lines = String(decoding: try Data(contentsOf: URL(fileURLWithPath: jsonl)), as: UTF8.self)
            .split(separator: "\n").map(String.init)
        var objects = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        // Change the first hash's first field value, drop the first list, add a key in db 9.
        let h = try #require(objects.firstIndex { $0["type"] as? String == "hash" })
        var pairs = try #require(objects[h]["value"] as? [[Any]])
        let field = try #require(pairs[0][0] as? String)
        let oldValue = try #require(pairs[0][1] as? String)
        pairs[0][1] = "CHANGED"
        objects[h]["value"] = pairs
        let hashKey = try #require(objects[h]["key"] as? String)
        let hashDB = try #require(objects[h]["db"] as? Int)
        let l = try #require(objects.firstIndex { $0["type"] as? String == "list" })
        let droppedKey = try #require(objects[l]["key"] as? String)
        objects.remove(at: l)
        objects.append(["db": 9, "key": "added", "type": "string", "expire_ms": NSNull(), "value": "v"])
        lines = try objects.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        let edited = dir("edited.jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: edited))

        let human = try Self.run([Self.fixture(file), edited])
        #expect(human.status == 1)
        let text = String(decoding: human.stdout, as: UTF8.self)
        #expect(text.contains("1 only in A, 1 only in B, 1 changed"))
        #expect(text.contains("~ db\(hashDB) \(hashKey) hash: field \"\(field)\" \"\(oldValue)\" → \"CHANGED\"\n"))
        #expect(text.contains("- db0 \(droppedKey) (list)\n"))
        #expect(text.contains("+ db9 added (string)\n"))

        let json = try Self.run(["--json", Self.fixture(file), edited])
        #expect(json.status == 1)
        let records = try CLITests.keys(of: json)
        #expect(records.count == 3)
        let changed = try #require(records[CorpusKey(db: UInt64(hashDB), key: Array(hashKey.utf8))])
        #expect(changed["kind"] as? String == "changed")
        #expect(changed["type_a"] as? String == "hash" && changed["type_b"] as? String == "hash")
        #expect(changed["details"] as? [String] == ["field \"\(field)\" \"\(oldValue)\" → \"CHANGED\""])
        #expect(records[CorpusKey(db: 0, key: Array(droppedKey.utf8))]?["kind"] as? String == "only_a")
        #expect(records[CorpusKey(db: 9, key: Array("added".utf8))]?["kind"] as? String == "only_b")
        #expect(records[CorpusKey(db: 9, key: Array("added".utf8))]?["type_a"] == nil)
    }

    @Test("--json, --keys-only and the human output list the same keys as the expected.json files imply")
    func outputsAgree() throws {
        let a = "redis-7.0.15/rdb/lfu.rdb"
        let b = "redis-7.0.15/rdb/all-types.rdb"
        let (onlyA, onlyB, changed) = try Self.keySets(a, b)
        let json = try Self.run(["--json", Self.fixture(a), Self.fixture(b)])
        #expect(json.status == 1)
        let records = try CLITests.keys(of: json)
        #expect(Set(records.keys) == onlyA.union(onlyB).union(changed))
        for (k, r) in records {
            let kind = onlyA.contains(k) ? "only_a" : onlyB.contains(k) ? "only_b" : "changed"
            #expect(r["kind"] as? String == kind, "\(k)")
            #expect((r["details"] as? [String])?.isEmpty == (kind != "changed"))
        }
        // A binary key is written in the S form of rdbkit json.
        let binary = records.keys.filter { String(validating: $0.key, as: UTF8.self) == nil }
        for k in binary { #expect(String(decoding: json.stdout, as: UTF8.self).contains(Data(k.key).base64EncodedString())) }

        let keysOnly = try Self.run(["--keys-only", Self.fixture(a), Self.fixture(b)])
        #expect(keysOnly.status == 1)
        let lines = keysOnly.lines.filter { $0.hasPrefix("- ") || $0.hasPrefix("+ ") || $0.hasPrefix("~ ") }
        #expect(lines.count == onlyA.count + onlyB.count + changed.count)
        #expect(lines.filter { $0.hasPrefix("- ") }.count == onlyA.count)
        #expect(lines.filter { $0.hasPrefix("~ ") }.count == changed.count)
        #expect(lines.allSatisfy { $0.hasSuffix(")") }, "no details with --keys-only")
        let jsonKeysOnly = try Self.run(["--json", "--keys-only", Self.fixture(a), Self.fixture(b)])
        for line in jsonKeysOnly.lines {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(o["details"] == nil)
        }
        let ea = try CLITests.expected(a)
        let eb = try CLITests.expected(b)
        #expect(String(decoding: keysOnly.stdout, as: UTF8.self).hasPrefix(
            "A: \(ea.keys.count) keys, B: \(eb.keys.count) keys\n\(onlyA.count) only in A, \(onlyB.count) only in B, \(changed.count) changed\n"))
    }

    @Test("--encoding reports the listpack/ziplist keys of two servers; without it they are equal")
    func encodingFlag() throws {
        let a = "redis-7.0.15/rdb/all-types.rdb"
        let b = "redis-6.2/rdb/all-types.rdb"
        let ea = try CLITests.expected(a)
        let eb = try CLITests.expected(b)
        let plain = try Self.run([Self.fixture(a), Self.fixture(b)])
        #expect(plain.status == 0, "\(String(decoding: plain.stdout, as: UTF8.self))")
        let run = try Self.run(["--json", "--encoding", Self.fixture(a), Self.fixture(b)])
        #expect(run.status == 1)
        let records = try CLITests.keys(of: run)
        var want: Set<CorpusKey> = []
        for (k, x) in ea.keys where x["type"] as? String != "list" && x["type"] as? String != "string" {
            if let y = eb.keys[k], x["encoding"] as? String != y["encoding"] as? String { want.insert(k) }
        }
        #expect(!want.isEmpty)
        #expect(Set(records.keys) == want)
        for (k, r) in records {
            #expect(
                r["details"] as? [String] == ["encoding \(ea.keys[k]!["encoding"]!) → \(eb.keys[k]!["encoding"]!)"], "\(k)")
        }
    }

    @Test("Filters keep the same keys as rdbkit json: --db, --match, --type")
    func filters() throws {
        let a = "redis-7.0.15/rdb/lfu.rdb"
        let b = "redis-7.0.15/rdb/all-types.rdb"
        let (onlyA, onlyB, changed) = try Self.keySets(a, b)
        let ea = try CLITests.expected(a)
        let eb = try CLITests.expected(b)
        func type(_ k: CorpusKey) -> String? { (ea.keys[k] ?? eb.keys[k])?["type"] as? String }
        let cases: [([String], (CorpusKey) -> Bool)] = [
            (["--db", "0"], { $0.db == 0 }),
            (["--db", "7", "--db", "15"], { $0.db == 7 || $0.db == 15 }),
            (["--match", "str-*"], { $0.key.starts(with: Array("str-".utf8)) }),
            (["--type", "hash", "--type", "zset"], { type($0) == "hash" || type($0) == "zset" }),
            (["--db", "0", "--match", "*list*", "--type", "list"], { $0.db == 0 && type($0) == "list" && String(decoding: $0.key, as: UTF8.self).contains("list") }),
        ]
        for (args, keep) in cases {
            let run = try Self.run(["--json"] + args + [Self.fixture(a), Self.fixture(b)])
            let want = onlyA.union(onlyB).union(changed).filter(keep)
            #expect(!want.isEmpty, "\(args)")
            #expect(run.status == (want.isEmpty ? 0 : 1), "\(args)")
            #expect(Set(try CLITests.keys(of: run).keys) == want, "\(args)")
        }
        // A filter that keeps nothing that differs: equal, exit 0.
        let none = try Self.run(["--match", "no-such-key-*", Self.fixture(a), Self.fixture(b)])
        #expect(none.status == 0)
        #expect(String(decoding: none.stdout, as: UTF8.self) == "A: 0 keys, B: 0 keys\nequal\n")
    }

    @Test("Exit statuses: 0 equal, 1 different, 2 corrupt, 3 truncated, 4 unsupported command, 64 usage, 66 no input")
    func exitStatuses() throws {
        let good = Self.fixture("redis-7.0.15/rdb/all-types.rdb")
        #expect(try Self.run([good, good]).status == 0)
        #expect(try Self.run([good, Self.fixture("redis-7.0.15/rdb/lfu.rdb")]).status == 1)
        let corrupt = try Self.run([good, Self.fixture("redis-7.0.15/broken/rdb/rdb-bad-checksum.rdb")])
        #expect(corrupt.status == 2)
        #expect(corrupt.stderr.contains("CRC"))
        let truncated = try Self.run([Self.fixture("redis-7.0.15/broken/rdb/rdb-truncated-half.rdb"), good])
        #expect(truncated.status == 3)
        let aof = try Self.run([good, Self.fixture("redis-7.0.15/aof/aof-nopreamble/appendonlydir")])
        #expect(aof.status == 4 || aof.status == 1, "unknown AOF commands are unsupported (4) until the engine has them all")
        let skipped = try Self.run(["--skip-unknown", "--quiet", good, Self.fixture("redis-7.0.15/aof/aof-nopreamble/appendonlydir")])
        #expect(skipped.status == 0 || skipped.status == 1)
        #expect(try Self.run(["-", good]).status == 64)
        #expect(try Self.run([good]).status == 64)
        let missing = try Self.run([good, "/nonexistent/dump.rdb"])
        #expect(missing.status == 66)
    }

    @Test("--help documents the exit statuses")
    func help() throws {
        let run = try CLITests.rdbkit(["diff", "--help"])
        #expect(run.status == 0)
        let text = String(decoding: run.stdout, as: UTF8.self)
        for line in ["0   the keyspaces are equal", "1   they differ", "2   a file is corrupt", "3   a file is truncated",
            "66  an input cannot be opened"]
        {
            #expect(text.contains(line), "\(line)")
        }
        for option in ["--json", "--keys-only", "--encoding", "--stream-times", "--db", "--match", "--type"] {
            #expect(text.contains(option), "\(option)")
        }
    }
}
