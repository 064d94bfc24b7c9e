import Foundation
import RedisFormats
@testable import RedisKeyspace
import Testing
import _RedisFormatsTestSupport

/// Small hashes, sets and lists loaded from an AOF live packed inside their key's record between commands
/// (``KeyTable/embed(_:)``) and are expanded again by the next command that changes them. These tests load
/// AOFs redis-server wrote and compare the result with the server's keyspace.
@Suite("Small collections embedded in their key's record during an AOF load")
struct EmbeddedCollectionTests {
    @Test("A random mix of hash, set and list commands, renames, copies, moves and transactions on few keys loads into the server's keyspace")
    func randomMixOnFewKeys() throws {
        let h = try DifferentialHarness(arguments: ["--appendonly", "yes", "--appendfsync", "always"])
        defer { h.stop() }
        var rng = SeededGenerator(seed: 29)
        let keys = ["h1", "h2", "s1", "s2", "l1", "l2", "x"]
        func key() -> String { keys.randomElement(using: &rng)! }
        func field() -> String {
            switch rng.next() % 12 {
            case 0: return String(repeating: "f", count: 70)  // past the packed limit: the hash becomes a table
            case 1, 2, 3: return String(rng.next() % 40)     // integers: a set of them is an intset
            default: return "f\(rng.next() % 25)"
            }
        }
        var commands: [[String]] = []
        for _ in 0..<2500 {
            let n = rng.next() % 15 == 0 ? 140 : Int(rng.next() % 3) + 1
            switch rng.next() % 24 {
            case 0, 1: commands.append(["HSET", key()] + (0..<n).flatMap { _ in [field(), field()] })
            case 2: commands.append(["HDEL", key()] + (0..<n).map { _ in field() })
            case 3: commands.append(["HINCRBY", key(), field(), String(rng.next() % 9)])
            case 4: commands.append(["HSETNX", key(), field(), "v"])
            case 5, 6: commands.append(["SADD", key()] + (0..<n).map { _ in field() })
            case 7: commands.append(["SREM", key()] + (0..<n).map { _ in field() })
            case 8: commands.append(["SMOVE", key(), key(), field()])
            case 9: commands.append(["SINTERSTORE", key(), key(), key()])
            case 10, 11: commands.append(["RPUSH", key()] + (0..<n).map { _ in field() })
            case 12: commands.append(["LPOP", key(), String(rng.next() % 3 + 1)])
            case 13: commands.append(["LINSERT", key(), "BEFORE", field(), field()])
            case 14: commands.append(["LTRIM", key(), "1", "-1"])
            case 15: commands.append(["LSET", key(), "0", field()])
            case 16: commands.append(["RENAME", key(), key()])
            case 17: commands.append(["COPY", key(), key(), "REPLACE"])
            case 18: commands.append(["MOVE", key(), "1"])
            case 19: commands.append(["EXPIRE", key(), "1000"])
            case 20: commands.append(["PERSIST", key()])
            case 21: commands.append(["DEL", key()])
            case 22:
                commands.append(["MULTI"])
                commands.append(["HSET", key(), field(), "t"])
                commands.append(["SADD", key(), field()])
                commands.append(["RPUSH", key(), field()])
                commands.append(["EXEC"])
            default: commands.append(["SWAPDB", "0", "1"])
            }
        }
        // The server alone runs them (wrong-type errors included); the loader then applies the AOF it wrote.
        for c in commands { _ = try h.connection.call(c) }
        let summary = try KeyspaceLoader(keyspace: h.keyspace).loadAOF(path: h.server.directory + "/appendonlydir")
        #expect(summary.commands > 1000)
        #expect(summary.failedCommands == 0)
        try h.compareKeyspace(databases: [0, 1])
        #expect(h.problems.isEmpty)
    }

    @Test("Embedded collections read back whole, count by type, and expand when a command changes them")
    func embedReadAndExpand() throws {
        let scratch = try ScratchDirectory("embedded")
        defer { scratch.remove() }
        var aof: [UInt8] = []
        var argvs: [[String]] = []
        for i in 0..<50 {
            argvs.append(["HSET", "h\(i)", "a", "1", "b", "two"])
            argvs.append(["SADD", "i\(i)", "1", "2", "3"])
            argvs.append(["SADD", "s\(i)", "x", "y"])
            argvs.append(["RPUSH", "l\(i)", "p", "q", "r"])
            argvs.append(["SET", "str\(i)", "v"])
        }
        argvs.append(["PEXPIREAT", "h0", "4102444800000"])
        for a in argvs {
            aof += Array("*\(a.count)\r\n".utf8)
            for x in a { aof += Array("$\(x.utf8.count)\r\n\(x)\r\n".utf8) }
        }
        let path = scratch.path + "/mix.aof"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(aof)))

        let keyspace = Keyspace()
        let summary = try KeyspaceLoader(keyspace: keyspace).loadAOF(path: path)
        #expect(summary.commands == argvs.count)
        let table = keyspace.table(0)
        // Every small collection is embedded; strings are embedded as before and not counted here.
        #expect(table.embeddedCollectionCount == 200)
        #expect(table.typeAndExpiryCounts().types == ["hash": 50, "set": 100, "list": 50, "string": 50])
        #expect(table.typeAndExpiryCounts().expires == 1)
        #expect(keyspace.expiry(db: 0, key: "h0") == 4_102_444_800_000)

        guard case .hash(let hv)? = keyspace.value(db: 0, key: "h7") else { Issue.record("h7 is not a hash"); return }
        #expect(hv.get("b") == "two" && hv.count == 2)
        guard case .set(let iv)? = keyspace.value(db: 0, key: "i7"), case .packed(_, let integers) = iv.storage else {
            Issue.record("i7 is not a packed set"); return
        }
        #expect(integers && iv.count == 3)
        guard case .list(let lv)? = keyspace.value(db: 0, key: "l7") else { Issue.record("l7 is not a list"); return }
        #expect(lv.elements == ["p", "q", "r"])

        // A command changes an embedded hash: the record is expanded, changed, and stays changed.
        let engine = CommandEngine(keyspace: keyspace)
        _ = try engine.apply(["HSET", "h7", "c", "3"])
        _ = try engine.apply(["SADD", "i7", "nope"])
        _ = try engine.apply(["LPOP", "l7"])
        #expect(table.embeddedCollectionCount == 197)
        guard case .hash(let hv2)? = keyspace.value(db: 0, key: "h7") else { Issue.record("h7 lost"); return }
        #expect(hv2.count == 3 && hv2.get("c") == "3")
        guard case .set(let iv2)? = keyspace.value(db: 0, key: "i7"), case .packed(_, let integers2) = iv2.storage else {
            Issue.record("i7 lost"); return
        }
        #expect(!integers2 && iv2.count == 4)
        guard case .list(let lv2)? = keyspace.value(db: 0, key: "l7") else { Issue.record("l7 lost"); return }
        #expect(lv2.elements == ["q", "r"])
        // Emptying an embedded set deletes the key, as Redis does.
        _ = try engine.apply(["SREM", "s3", "x", "y"])
        #expect(keyspace.value(db: 0, key: "s3") == nil)
    }
}
