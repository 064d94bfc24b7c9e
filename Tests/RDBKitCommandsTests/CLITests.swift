import Foundation
import Testing
import _RedisFormatsTestSupport

/// Runs the built `rdbkit` executable on corpus files: output, filters, exit statuses and help.
///
/// The executable is built with the tests (`swift build --build-tests`) into the directory that holds the
/// test bundle, so it is found next to `CommandLine.arguments[0]` / `Bundle.main`.
@Suite("rdbkit command line")
struct CLITests {
    // MARK: Running the executable

    struct Run {
        var status: Int32
        var stdout: Data
        var stderr: String
        var lines: [Substring] {
            String(decoding: stdout, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        }
    }

    /// The `rdbkit` executable next to the test bundle, if it is there.
    static let executable: URL? = BuiltProducts.executable(named: "rdbkit")

    static func rdbkit(_ arguments: [String]) throws -> Run {
        let exe = try #require(
            executable, "the rdbkit executable was not found next to \(CommandLine.arguments.first ?? "?")")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rdbkit-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("stdout")
        let err = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = try FileHandle(forWritingTo: err)
        let process = Process()
        process.executableURL = exe
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        return Run(
            status: process.terminationStatus, stdout: try Data(contentsOf: out),
            stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self))
    }

    static func fixture(_ relative: String) -> String { Corpus.fixture(relative) }

    static func expected(_ rdb: String) throws -> ExpectedContent {
        try ExpectedContent(path: try #require(Corpus.expectedPath(forRDB: fixture(rdb))))
    }

    /// Parses JSON Lines output into (db, key bytes) → object.
    static func keys(of run: Run, sourceLocation: SourceLocation = #_sourceLocation) throws -> [CorpusKey: [String:
        Any]]
    {
        var out: [CorpusKey: [String: Any]] = [:]
        for (i, line) in run.lines.enumerated() {
            let any = try JSONSerialization.jsonObject(with: Data(line.utf8))
            let obj = try #require(
                any as? [String: Any], "line \(i + 1) is not a JSON object", sourceLocation: sourceLocation)
            let db = try #require(
                ExpectedContent.uint64(obj["db"]), "line \(i + 1) has no db", sourceLocation: sourceLocation)
            let key = try #require(
                ExpectedContent.bytes(obj["key"]), "line \(i + 1) has no key", sourceLocation: sourceLocation)
            let k = CorpusKey(db: db, key: key)
            #expect(out[k] == nil, "key \(k) printed twice", sourceLocation: sourceLocation)
            out[k] = obj
        }
        return out
    }

    static var offsetPattern: Regex<Substring> { #/\[offset [0-9]+\]/# }

    // MARK: json

    @Test(
        "rdbkit json prints one JSON object per key",
        arguments: Corpus.servers.map { "\($0)/rdb/all-types.rdb" } + [
            "redis-stack-7.4/rdb/modules.rdb", "valkey-9.1/rdb/hash-field-ttl.rdb", "redis-7.0.15/rdb/lfu.rdb",
            "redis-6.0.9/rdb/empty.rdb",
        ])
    func jsonPrintsEveryKey(file: String) throws {
        let run = try Self.rdbkit(["json", Self.fixture(file)])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let expected = try Self.expected(file)
        #expect(run.lines.count == expected.keys.count)
        let keys = try Self.keys(of: run)
        #expect(Set(keys.keys) == Set(expected.keys.keys))
        for (k, obj) in keys {
            #expect(obj["type"] as? String == expected.keys[k]?["type"] as? String, "\(k)")
        }
    }

    @Test(
        "rdbkit json output matches expected.json as json_conformance.py compares it",
        arguments: Corpus.fixtureRDBsWithExpected())
    func jsonConformance(file: String) throws {
        let run = try Self.rdbkit(["json", Self.fixture(file)])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let expected = try Self.expected(file)
        let printed = try Self.keys(of: run)
        var problems: [String] = []
        for (k, obj) in printed {
            guard let e = expected.keys[k] else {
                if !expected.droppedOnLoad.contains(k) { problems.append("unexpected key \(k)") }
                continue
            }
            let type = e["type"] as? String ?? "?"
            guard obj["type"] as? String == type else {
                problems.append("\(k): type \(String(describing: obj["type"])) != \(type)")
                continue
            }
            if ExpectedContent.int64(obj["expire_ms"]) != ExpectedContent.int64(e["expire_ms"]) {
                problems.append(
                    "\(k): expire_ms \(String(describing: obj["expire_ms"])) != \(String(describing: e["expire_ms"]))")
            }
            if let want = JSONNormal.value(type, e["value"]) {
                let got = JSONNormal.value(type, obj["value"]) ?? []
                if got != want { problems.append("\(k): value differs") }
                if got.contains(where: { $0.contains("<") }) {
                    problems.append("\(k): unreadable string form in the output")
                }
            }
            let wantTTL = JSONNormal.fieldTTLs(e["field_expire_ms"])
            if !wantTTL.isEmpty, JSONNormal.fieldTTLs(obj["field_expire_ms"]) != wantTTL {
                problems.append("\(k): field_expire_ms differs")
            }
            if e["lfu_freq"] != nil, ExpectedContent.int64(obj["lfu_freq"]) != ExpectedContent.int64(e["lfu_freq"]) {
                problems.append(
                    "\(k): lfu_freq \(String(describing: obj["lfu_freq"])) != \(String(describing: e["lfu_freq"]))")
            }
            if let want = ExpectedContent.int64(e["lru_idle_s"]) {
                let got = ExpectedContent.int64(obj["lru_idle_s"]) ?? -1
                if got < want || got > want + 3 {
                    problems.append("\(k): lru_idle_s \(got) not in \(want)...\(want + 3)")
                }
            }
        }
        for k in expected.keys.keys where printed[k] == nil { problems.append("missing key \(k)") }
        let shown = problems.prefix(12).joined(separator: "\n")
        #expect(problems.isEmpty, "\(problems.count) differences; first \(min(problems.count, 12)):\n\(shown)")
    }

    struct FilterCase: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        var file = "redis-7.0.15/rdb/all-types.rdb"
        /// Which expected keys the filter keeps.
        var keeps: @Sendable (CorpusKey, String) -> Bool
        var testDescription: String { "\(arguments.joined(separator: " ")) on \(file)" }
    }

    static let filterCases: [FilterCase] = [
        FilterCase(arguments: ["--db", "1"]) { k, _ in k.db == 1 },
        FilterCase(arguments: ["--db", "0", "--db", "15"]) { k, _ in k.db == 0 || k.db == 15 },
        FilterCase(arguments: ["--db", "3"]) { _, _ in false },
        FilterCase(arguments: ["--match", "stream-*"]) { k, _ in k.key.starts(with: Array("stream-".utf8)) },
        FilterCase(arguments: ["--match", "*"]) { _, _ in true },
        FilterCase(arguments: ["--type", "hash"]) { _, t in t == "hash" },
        FilterCase(arguments: ["--type", "zset", "--type", "set"]) { _, t in t == "zset" || t == "set" },
        FilterCase(arguments: ["--db", "0", "--type", "list", "--match", "l*"]) { k, t in
            k.db == 0 && t == "list" && k.key.first == UInt8(ascii: "l")
        },
        FilterCase(arguments: ["--type", "stream"], file: "valkey-9.1/rdb/all-types.rdb") { _, t in t == "stream" },
        FilterCase(arguments: ["--type", "MBbloom--"], file: "redis-stack-7.4/rdb/modules.rdb") { _, t in
            t == "MBbloom--"
        },
        FilterCase(arguments: ["--type", "module"], file: "redis-stack-7.4/rdb/modules.rdb") { _, t in
            !["string", "list", "set", "zset", "hash", "stream"].contains(t)
        },
    ]

    @Test("rdbkit json filters by --db, --match and --type", arguments: filterCases)
    func jsonFilters(filter: FilterCase) throws {
        let run = try Self.rdbkit(["json"] + filter.arguments + [Self.fixture(filter.file)])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let expected = try Self.expected(filter.file)
        let want = Set(expected.keys.filter { filter.keeps($0.key, $0.value["type"] as? String ?? "") }.keys)
        let got = Set(try Self.keys(of: run).keys)
        let extra = got.subtracting(want).prefix(5)
        let missing = want.subtracting(got).prefix(5)
        #expect(got == want, "printed \(got.count) keys, expected \(want.count); extra \(extra), missing \(missing)")
        #expect(run.lines.count == want.count)
    }

    @Test(
        "rdbkit json --pretty prints one JSON array of every key",
        arguments: ["redis-7.0.15/rdb/all-types.rdb", "redis-6.0.9/rdb/empty.rdb"])
    func jsonPretty(file: String) throws {
        let run = try Self.rdbkit(["json", "--pretty", Self.fixture(file)])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let array = try #require(try JSONSerialization.jsonObject(with: run.stdout) as? [Any])
        #expect(array.count == (try Self.expected(file)).keys.count)
        #expect(array.allSatisfy { $0 is [String: Any] })
    }

    // MARK: info

    @Test(
        "rdbkit info --json counts the keys of every database",
        arguments: Corpus.servers.map { "\($0)/rdb/all-types.rdb" } + [
            "redis-7.0.15/rdb/functions.rdb", "redis-stack-7.4/rdb/modules.rdb", "valkey-9.1/rdb/cluster.rdb",
            "redis-6.2/rdb/empty.rdb",
        ])
    func infoJSON(file: String) throws {
        let run = try Self.rdbkit(["info", "--json", Self.fixture(file)])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: run.stdout) as? [String: Any])
        let expected = try Self.expected(file)
        var perDB: [UInt64: Int] = [:]
        for db in object["databases"] as? [[String: Any]] ?? [] {
            let n = Int(ExpectedContent.int64(db["keys"]) ?? -1)
            if n > 0, let id = ExpectedContent.uint64(db["db"]) { perDB[id] = n }
        }
        #expect(perDB == expected.dbsize.filter { $0.value > 0 })
        #expect(ExpectedContent.int64(object["keys"]) == Int64(expected.keys.count))
        #expect(object["magic"] as? String == expected.document["rdb_header"] as? String)
        let checksum = object["checksum"] as? [String: Any]
        #expect(checksum?["status"] as? String == "verified")
        let functions = (object["functions"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        let wantFunctions = (expected.document["functions"] as? [[String: Any]] ?? []).compactMap {
            $0["library_name"] as? String
        }
        #expect(functions.sorted() == wantFunctions.sorted())
    }

    // MARK: Exit statuses

    @Test("Broken files exit 2 (corrupt) or 3 (truncated) and name the offset", arguments: Corpus.servers)
    func brokenFilesExitStatus(server: String) throws {
        for (name, status) in [("rdb-bad-checksum", Int32(2)), ("rdb-flipped-byte", 2), ("rdb-truncated-half", 3)] {
            let path = Self.fixture("\(server)/broken/rdb/\(name).rdb")
            for command in ["json", "info"] {
                let run = try Self.rdbkit([command, path])
                #expect(run.status == status, "\(command) \(name): stderr: \(run.stderr)")
                #expect(run.stderr.contains(Self.offsetPattern), "\(command) \(name): stderr: \(run.stderr)")
            }
        }
    }

    @Test("A file that does not exist exits 66", arguments: ["json", "info"])
    func missingFile(command: String) throws {
        let path = Corpus.fixturesDirectory.appendingPathComponent("no-such-file.rdb").path
        let run = try Self.rdbkit([command, path])
        #expect(run.status == 66, "stderr: \(run.stderr)")
        #expect(run.stderr.contains("no-such-file.rdb"), "stderr: \(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test(
        "A bad option or argument exits 64",
        arguments: [
            ["json", "--no-such-option", "FILE"],
            ["json", "--bytes", "latin1", "FILE"],
            ["json", "--type", "bogus", "FILE"],
            ["json", "--db", "minus-one", "FILE"],
            ["json", "--max-blob", "0", "FILE"],
            ["info", "--no-such-option", "FILE"],
            ["info"],
            ["no-such-command", "FILE"],
        ])
    func badUsage(arguments: [String]) throws {
        let file = Self.fixture("redis-7.0.15/rdb/empty.rdb")
        let run = try Self.rdbkit(arguments.map { $0 == "FILE" ? file : $0 })
        #expect(run.status == 64, "stderr: \(run.stderr)")
        #expect(!run.stderr.isEmpty)
    }

    @Test("The help of json and info shows examples", arguments: ["json", "info"])
    func helpHasExamples(command: String) throws {
        let run = try Self.rdbkit([command, "--help"])
        #expect(run.status == 0)
        let text = String(decoding: run.stdout, as: UTF8.self)
        #expect(text.contains("EXAMPLES"), "\(text)")
        #expect(text.contains("rdbkit \(command)"), "\(text)")
    }
}

/// Canonical text of a JSON value in the corpus schema, normalised as `json_conformance.py` does: decoded
/// bytes, sets and hashes sorted, zsets by (score, member), streams by entries, length, last id and groups.
enum JSONNormal {
    static func hex(_ v: Any?) -> String {
        guard let b = ExpectedContent.bytes(v) else { return "<\(String(describing: v))>" }
        return hex(bytes: b)
    }

    static func hex(bytes b: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(b.count * 2)
        for x in b {
            out.append(digits[Int(x >> 4)])
            out.append(digits[Int(x & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func score(_ v: Any?) -> Double? {
        if let s = v as? String { return Double(s) }
        return (v as? NSNumber)?.doubleValue
    }

    static func id(_ v: Any?) -> String { v as? String ?? String(describing: v) }

    /// Nil for module values (compared by type name only).
    static func value(_ type: String, _ v: Any?) -> [String]? {
        switch type {
        case "string": return [hex(v)]
        case "list": return (v as? [Any] ?? []).map { hex($0) }
        case "set": return (v as? [Any] ?? []).map { hex($0) }.sorted()
        case "zset":
            let pairs = (v as? [[Any]] ?? []).map { p in (score(p.last) ?? .nan, ExpectedContent.bytes(p.first) ?? []) }
            return pairs.sorted { a, b in a.0 < b.0 || (a.0 == b.0 && a.1.lexicographicallyPrecedes(b.1)) }
                .map { "\($0.0 == 0 ? 0 : $0.0) \(hex(bytes: $0.1))" }
        case "hash": return (v as? [[Any]] ?? []).map { "\(hex($0.first))=\(hex($0.last))" }.sorted()
        case "stream": return stream(v as? [String: Any] ?? [:])
        default: return nil
        }
    }

    static func stream(_ v: [String: Any]) -> [String] {
        var out = (v["entries"] as? [[Any]] ?? []).map { entry in
            "entry \(id(entry.first)) "
                + (entry.last as? [[Any]] ?? []).map { "\(hex($0.first))=\(hex($0.last))" }.joined(separator: ",")
        }
        out.append("length \(ExpectedContent.int64(v["length"]).map(String.init) ?? "?") last \(id(v["last_id"]))")
        var groups: [String] = []
        for g in v["groups"] as? [[String: Any]] ?? [] {
            let pel = (g["pel"] as? [[Any]] ?? []).map { p in
                let consumer = p.count > 1 && !(p[1] is NSNull) ? hex(p[1]) : "nil"
                let count = p.count > 2 ? ExpectedContent.int64(p[2]).map(String.init) ?? "?" : "nil"
                return "\(id(p.first))/\(consumer)/\(count)"
            }.sorted()
            let consumers = (g["consumers"] as? [[String: Any]] ?? []).map { c in
                let ids = (c["pel"] as? [Any] ?? []).map { p in id((p as? [Any])?.first ?? p) }.sorted()
                return "\(hex(c["name"]))[\(ids.joined(separator: ","))]"
            }.sorted()
            groups.append("group \(hex(g["name"])) \(id(g["last_delivered_id"])) pel \(pel) consumers \(consumers)")
        }
        return out + groups.sorted()
    }

    static func fieldTTLs(_ v: Any?) -> [String] {
        (v as? [[Any]] ?? []).map { "\(hex($0.first))@\(ExpectedContent.int64($0.last).map(String.init) ?? "?")" }
            .sorted()
    }
}
