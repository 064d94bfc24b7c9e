import Foundation
import RedisFormats
import RedisKeyspace
import RedisServe
import Synchronization
import Testing
import _RedisFormatsTestSupport

let allTypes70 = Corpus.fixture("redis-7.0.15/rdb/all-types.rdb")
let big70 = Corpus.fixture("redis-7.0.15/rdb/big.rdb")

/// Whether `python3 -c "import redis"` works (the Makefile's test target installs redis-py).
let redisPyInstalled: Bool = {
    guard let python = which("python3") else { return false }
    return (try? runTool(python, ["-c", "import redis"]).0) == 0
}()

@Suite("rdbkit serve against redis-server 7.0, byte for byte", .serialized, .enabled(if: LiveServerKind.redis70.isInstalled))
struct ServeDifferentialTests {
    /// Reads with a defined reply order for every key of the corpus file, plus connection commands.
    static func commands(_ ks: Keyspace, db: Int) -> [[RedisBytes]] {
        let b = { (s: String) in RedisBytes(s) }
        var out: [[RedisBytes]] = [
            [b("PING")], [b("PING"), b("hi")], [b("ECHO"), b("x")], [b("DBSIZE")], [b("CLIENT"), b("GETNAME")],
            [b("CLIENT"), b("SETNAME"), b("bad name")], [b("CLIENT"), b("SETNAME"), b("n1")], [b("CLIENT"), b("GETNAME")],
            [b("CLIENT"), b("FOO")], [b("CLIENT"), b("SETNAME")], [b("SELECT"), b("x")], [b("SELECT"), b("99")],
            [b("NOSUCHCMD"), b("a"), b("b\r\nc")], [b("GET")], [b("PING"), b("a"), b("b")], [b("ECHO")],
            [b("AUTH"), b("x")], [b("AUTH"), b("default"), b("x")], [b("HELLO"), b("4")], [b("HELLO"), b("x")],
            [b("HELLO"), b("3"), b("FOO")], [b("OBJECT"), b("ENCODING"), b("nope")],
        ]
        for key in ks.keys(db: db).sorted() {
            let v = ks.value(db: db, key: key)!
            out.append([b("TYPE"), key])
            out.append([b("PEXPIRETIME"), key])
            switch v {
            case .string:
                out += [[b("GET"), key], [b("MGET"), key, b("nope")], [b("GETRANGE"), key, b("1"), b("-2")]]
            case .list:
                out += [[b("LRANGE"), key, b("0"), b("-1")], [b("LINDEX"), key, b("-1")], [b("LPOS"), key, b("nope")]]
            case .set(let s):
                out += [[b("SCARD"), key], [b("SMISMEMBER"), key, s.members[0], b("nope")]]
                if CommandEngine.encodingName(v) == "intset" { out += [[b("SMEMBERS"), key], [b("SSCAN"), key, b("0")]] }
            case .sortedSet(let z):
                let first = z.sortedEntries[0].member
                out += [
                    [b("ZRANGE"), key, b("0"), b("-1"), b("WITHSCORES")], [b("ZSCORE"), key, first], [b("ZMSCORE"), key, first, b("x")],
                    [b("ZRANGEBYSCORE"), key, b("-inf"), b("+inf"), b("WITHSCORES"), b("LIMIT"), b("0"), b("5")],
                    [b("ZREVRANK"), key, first], [b("ZSCORE"), key, b("nope")],
                ]
                if CommandEngine.encodingName(v) == "listpack" { out.append([b("ZSCAN"), key, b("0")]) }
            case .hash(let h):
                out += [[b("HLEN"), key], [b("HMGET"), key, h.fields[0].field, b("nope")]]
                if h.count <= 128 && CommandEngine.encodingName(v) == "listpack" {
                    out += [[b("HGETALL"), key], [b("HSCAN"), key, b("0")], [b("HKEYS"), key]]
                }
            case .stream(let s):
                out += [[b("XRANGE"), key, b("-"), b("+"), b("COUNT"), b("3")], [b("XINFO"), b("GROUPS"), key]]
                for g in s.stream.groups { out.append([b("XPENDING"), key, g.name]) }
            case .opaque:
                break
            }
        }
        out += [[b("HGETALL"), b("nope")], [b("SMEMBERS"), b("nope")], [b("ZRANGE"), b("nope"), b("0"), b("-1")], [b("GET"), b("nope")]]
        return out
    }

    @Test("Every reply equals redis-server 7.0's bytes, in RESP2 and after HELLO 3 in RESP3", arguments: [2, 3])
    func sameBytes(protocolVersion: Int) throws {
        let scratch = try ScratchDirectory("serve-diff")
        defer { scratch.remove() }
        try FileManager.default.copyItem(atPath: allTypes70, toPath: scratch("data.rdb"))
        let redis = try LiveServer(.redis70, directory: scratch.path, arguments: ["--dbfilename", "data.rdb"])
        defer { redis.stop() }
        let ours = try TestServer(path: allTypes70)
        defer { ours.stop() }
        let a = try RawClient(port: Int(redis.port))
        let b = try RawClient(port: ours.port)
        if protocolVersion == 3 {
            _ = try a.call("HELLO", "3")
            _ = try b.call("HELLO", "3")
        }
        var compared = 0
        var differences: [String] = []
        for db in [0, 1, 7, 15] {
            _ = try a.call("SELECT", String(db))
            _ = try b.call("SELECT", String(db))
            for argv in Self.commands(ours.keyspace, db: db) {
                let want = try a.call(argv)
                let got = try b.call(argv)
                compared += 1
                if want != got {
                    differences.append(
                        "\(argv.map(\.escapedDescription).joined(separator: " ")):\n  rdbkit \(RedisBytes(got).escapedDescription.prefix(300))\n  redis  \(RedisBytes(want).escapedDescription.prefix(300))"
                    )
                }
            }
        }
        #expect(differences.isEmpty, "\(differences.count) of \(compared) differ:\n\(differences.prefix(20).joined(separator: "\n"))")
        #expect(compared > 500)
    }
}

@Suite("rdbkit serve with real clients", .serialized)
struct ServeClientTests {
    @Test(
        "redis-py fetches every key of every corpus RDB and finds expected.json's values (RESP2 and RESP3)",
        .enabled(if: redisPyInstalled, "python3 with redis-py is not installed (make test installs it)"),
        arguments: ["all-types", "lfu", "functions", "hash-field-ttl", "modules", "big"])
    func redisPy(variant: String) throws {
        let script = Corpus.packageRoot.appendingPathComponent("scripts/serve-check-redis-py.py").path
        var checked = 0
        // 50,000 keys through Python take a while: the big file of one server is enough.
        for server in variant == "big" ? ["redis-7.0.15"] : Corpus.servers {
            let rdb = Corpus.fixture("\(server)/rdb/\(variant).rdb")
            guard FileManager.default.fileExists(atPath: rdb), let expected = Corpus.expectedPath(forRDB: rdb) else { continue }
            let s = try TestServer(path: rdb)
            defer { s.stop() }
            for proto in variant == "big" ? ["2"] : ["2", "3"] {
                let (status, out, err) = try runTool(which("python3")!, [script, String(s.port), expected, "--protocol", proto])
                #expect(status == 0, "\(server) \(variant) RESP\(proto):\n\(out)\(err.suffix(2000))")
            }
            checked += 1
        }
        #expect(checked > 0)
    }

    /// The corpus AOFs hold list, set, zset, hash and stream writes, which other branches add to the engine.
    static let engineAppliesEveryType = ["rpush", "sadd", "zadd", "hset", "xadd"].allSatisfy { CommandEngine.commands[$0] != nil }

    @Test(
        "redis-py reads every key of every corpus AOF as expected.json has it",
        .enabled(if: redisPyInstalled && engineAppliesEveryType, "needs redis-py and the engine's collection write commands"))
    func redisPyOnAOFs() throws {
        let script = Corpus.packageRoot.appendingPathComponent("scripts/serve-check-redis-py.py").path
        for server in Corpus.servers {
            let dir = Corpus.fixture("\(server)/aof")
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where !name.contains(".") {
                var path = "\(dir)/\(name)"
                if FileManager.default.fileExists(atPath: "\(path)/appendonlydir") { path += "/appendonlydir" }
                else if FileManager.default.fileExists(atPath: "\(path)/appendonly.aof") { path += "/appendonly.aof" }
                let s = try TestServer(loading: path)
                defer { s.stop() }
                let (status, out, err) = try runTool(which("python3")!, [script, String(s.port), "\(dir)/\(name).expected.json.gz"])
                #expect(status == 0, "\(server) \(name):\n\(out)\(err.suffix(2000))")
            }
        }
    }

    @Test("SCAN returns every key exactly once over 50,000 keys, whatever COUNT, MATCH and TYPE")
    func scanCoversEveryKeyOnce() throws {
        let s = try TestServer(path: big70)
        defer { s.stop() }
        let c = try LiveConnection(port: UInt16(s.port))
        for db in s.keyspace.nonEmptyDatabases {
            _ = try c.call(["SELECT", String(db)])
            let all = Set(s.keyspace.keys(db: db, now: currentMilliseconds()))
            for (count, match, type) in [("10", nil, nil), ("3", "*1*", nil), ("1000", nil, "hash"), ("37", "*:*", "string")] as [(String, String?, String?)] {
                var seen: [RedisBytes] = []
                var cursor = "0"
                var calls = 0
                repeat {
                    var argv = ["SCAN", cursor, "COUNT", count]
                    if let match { argv += ["MATCH", match] }
                    if let type { argv += ["TYPE", type] }
                    guard case .array(let parts?) = try c.call(argv), case .bulk(let next?) = parts[0],
                        case .array(let page?) = parts[1]
                    else { throw RawClient.Failure(description: "bad SCAN reply") }
                    cursor = String(decoding: next, as: UTF8.self)
                    for case .bulk(let k?) in page { seen.append(RedisBytes(k)) }
                    calls += 1
                } while cursor != "0" && calls < 200_000
                let want = all.filter { k in
                    (match.map { GlobPattern.matches(Array($0.utf8), k.bytes) } ?? true)
                        && (type.map { s.keyspace.value(db: db, key: k)!.typeName == $0 } ?? true)
                }
                #expect(seen.count == Set(seen).count, "db\(db) COUNT \(count): duplicates")
                #expect(Set(seen) == want, "db\(db) COUNT \(count) MATCH \(match ?? "-") TYPE \(type ?? "-")")
            }
        }
    }

    @Test(
        "redis-cli: --scan lists every key, GET, HGETALL, RESP3 (-3) and a write refused",
        .enabled(if: which("redis-cli") != nil, "redis-cli (Debian redis-tools) is not installed"))
    func redisCLI() throws {
        let s = try TestServer(path: allTypes70)
        defer { s.stop() }
        let cli = which("redis-cli")!
        let port = String(s.port)
        let (status, out, _) = try runTool(cli, ["-p", port, "--scan"])
        #expect(status == 0)
        let printable = s.keyspace.keys(db: 0).filter { !$0.contains(0x0A) && !$0.isEmpty && $0.utf8String != nil }
        let lines = Set(out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
        for k in printable { #expect(lines.contains(k.utf8String!), "--scan missed \(k.escapedDescription)") }
        let (_, get, _) = try runTool(cli, ["-p", port, "GET", "back\\slash\\bravo"])
        #expect(get == "65jx81va\n")
        let (_, hash, _) = try runTool(cli, ["-p", port, "HGETALL", "hash-edited:quebec:2817"])
        #expect(hash.split(separator: "\n").count == 6)
        let (_, hash3, _) = try runTool(cli, ["-3", "-p", port, "HGETALL", "hash-edited:quebec:2817"])
        #expect(hash3 == "x 42\nz 3\nf 1.25\n", "RESP3 map, as redis-cli prints one when not on a terminal: \(hash3)")
        let (_, z3, _) = try runTool(cli, ["-3", "-p", port, "ZSCORE", s.keyspace.keys(db: 0).sorted().first { s.keyspace.value(db: 0, key: $0)!.typeName == "zset" }!.utf8String!, "nope"])
        #expect(z3 == "\n")
        let (_, write, _) = try runTool(cli, ["-p", port, "SET", "a", "b"])
        #expect(write.contains("READONLY You can't write against a read only replica."))
        let (_, info, _) = try runTool(cli, ["-p", port, "INFO", "keyspace"])
        #expect(info.contains("db0:keys=101,expires=11"))
    }

    @Test("Fifty clients at once, each pipelining, all get their own replies")
    func concurrentClients() throws {
        let s = try TestServer(path: allTypes70)
        defer { s.stop() }
        let strings = s.keyspace.keys(db: 0).filter { if case .string = s.keyspace.value(db: 0, key: $0)! { true } else { false } }
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 50) { i in
            do {
                let c = try RawClient(port: s.port)
                _ = try c.call("SELECT", String(i % 2 == 0 ? 0 : 1))
                _ = try c.call("SELECT", "0")
                for round in 0..<20 {
                    let batch = (0..<25).map { strings[(i * 31 + round * 7 + $0) % strings.count] }
                    try c.send(batch.flatMap { RawClient.encode([RedisBytes("GET"), $0]) })
                    for k in batch {
                        var want: [UInt8] = []
                        Reply.bulk(s.keyspace.value(db: 0, key: k).flatMap { if case .string(let v) = $0 { v } else { nil } }).write(into: &want)
                        if try c.reply() != want { failures.withLock { $0 += 1 } }
                    }
                }
            } catch {
                failures.withLock { $0 += 1 }
            }
        }
        #expect(failures.withLock { $0 } == 0)
    }

    @Test("A pipeline of 10,000 commands in one write gets 10,000 replies in order; inline commands work too")
    func pipelineAndInline() throws {
        let s = try TestServer(path: allTypes70)
        defer { s.stop() }
        let c = try RawClient(port: s.port)
        var batch: [UInt8] = []
        for i in 0..<10_000 { batch += RawClient.encode([RedisBytes("ECHO"), RedisBytes(String(i))]) }
        try c.send(batch)
        for i in 0..<10_000 {
            let r = try c.reply()
            #expect(r == Array("$\(String(i).count)\r\n\(i)\r\n".utf8))
            if r != Array("$\(String(i).count)\r\n\(i)\r\n".utf8) { break }
        }
        try c.send("PING\r\nECHO \"a b\\x41\\n\"\r\nECHO 'it\\'s'\r\n\r\nEXISTS back\\slash\\bravo nope\n")
        #expect(try c.reply() == Array("+PONG\r\n".utf8))
        #expect(try c.reply() == Array("$5\r\na bA\n\r\n".utf8))
        #expect(try c.reply() == Array("$4\r\nit's\r\n".utf8))
        #expect(try c.reply() == Array(":1\r\n".utf8))
        try c.send("ECHO \"unbalanced\r\n")
        #expect(String(decoding: c.drain(), as: UTF8.self) == "-ERR Protocol error: unbalanced quotes in request\r\n")
    }

    @Test(
        "Malformed RESP gets a protocol error and a close, never a crash; the server keeps serving",
        arguments: [
            ("*2\r\n$3\r\nGET\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"),
            ("*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"),
            ("*2000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n"),
            ("*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n"),
            ("*1\r\n$99999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n"),
            ("*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n"),
            ("*" + String(repeating: "1", count: 70_000), "-ERR Protocol error: too big mbulk count string\r\n"),
            ("*1\r\n$" + String(repeating: "1", count: 70_000), "-ERR Protocol error: too big bulk count string\r\n"),
            (String(repeating: "x", count: 70_000), "-ERR Protocol error: too big inline request\r\n"),
            ("*1\r\n$4\r\nPING\r\n*1\r\nxyz\r\n", "+PONG\r\n-ERR Protocol error: expected '$', got 'x'\r\n"),
        ])
    func malformed(input: String, reply: String) throws {
        let s = try TestServer(path: allTypes70)
        defer { s.stop() }
        let c = try RawClient(port: s.port)
        try c.send(input)
        let got = String(decoding: c.drain(), as: UTF8.self)
        #expect(got == reply)
        let d = try RawClient(port: s.port)
        #expect(try d.call("PING") == "+PONG\r\n")
    }

    @Test("Random bytes never crash the server", arguments: 0..<4)
    func fuzz(seed: Int) throws {
        let s = try TestServer(path: allTypes70)
        defer { s.stop() }
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("*$\r\n0123456789-+:PINGGET abc\"'\\x".utf8)
        for _ in 0..<30 {
            let c = try RawClient(port: s.port, timeout: 1)
            let n = Int.random(in: 1..<400, using: &rng)
            try? c.send((0..<n).map { _ in alphabet.randomElement(using: &rng)! })
            _ = c.drain()
        }
        let d = try RawClient(port: s.port)
        #expect(try d.call("PING") == "+PONG\r\n")
    }

    @Test("Writes get -READONLY after the arity check; unknown commands get Redis's error; QUIT closes")
    func writesAndUnknown() throws {
        let s = try TestServer(path: allTypes70)
        defer { s.stop() }
        let c = try RawClient(port: s.port)
        for w in [["SET", "a", "b"], ["DEL", "x"], ["FLUSHALL"], ["EXPIRE", "a", "1"], ["RESTORE", "k", "0", "x"]] {
            #expect(try c.call(w.map { RedisBytes($0) }) == Array("-READONLY You can't write against a read only replica.\r\n".utf8))
        }
        #expect(try c.call("SET", "a") == "-ERR wrong number of arguments for 'set' command\r\n")
        #expect(try c.call("FOO", "bar") == "-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n")
        #expect(try c.call("QUIT") == "+OK\r\n")
        #expect(c.isClosedByServer())
    }

    @Test("AUTH with a password: NOAUTH before, WRONGPASS for a bad one, HELLO 3 AUTH, and small limits before AUTH")
    func authentication() throws {
        let s = try TestServer(path: allTypes70, password: "s3cret")
        defer { s.stop() }
        let c = try RawClient(port: s.port)
        #expect(try c.call("GET", "a") == "-NOAUTH Authentication required.\r\n")
        #expect(try c.call("FOO") == "-ERR unknown command 'FOO', with args beginning with: \r\n")
        #expect(try c.call("AUTH", "nope") == "-WRONGPASS invalid username-password pair or user is disabled.\r\n")
        #expect(try c.call("HELLO", "3").hasPrefix("-NOAUTH HELLO must be called with the client already authenticated"))
        #expect(try c.call("AUTH", "s3cret") == "+OK\r\n")
        #expect(try c.call("GET", "back\\slash\\bravo") == "$8\r\n65jx81va\r\n")
        let d = try RawClient(port: s.port)
        let hello = try d.call("HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "me")
        #expect(hello.hasPrefix("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"))
        #expect(try d.call("CLIENT", "GETNAME") == "$2\r\nme\r\n")
        #expect(try d.call("HGETALL", "nope") == "%0\r\n")
        let e = try RawClient(port: s.port)
        try e.send("*11\r\n")
        #expect(String(decoding: e.drain(), as: UTF8.self) == "-ERR Protocol error: unauthenticated multibulk length\r\n")
        let f = try RawClient(port: s.port)
        try f.send("*2\r\n$4\r\nAUTH\r\n$20000\r\n")
        #expect(String(decoding: f.drain(), as: UTF8.self) == "-ERR Protocol error: unauthenticated bulk length\r\n")
    }

    @Test("Expired keys are invisible while the keyspace stays unchanged")
    func expiry() throws {
        let ks = Keyspace()
        ks.set(db: 0, key: "old", Keyspace.Entry(value: .string("v"), expiresAt: 1000))
        ks.set(db: 0, key: "new", Keyspace.Entry(value: .string("w"), expiresAt: currentMilliseconds() + 3_600_000))
        let s = try TestServer(keyspace: ks)
        defer { s.stop() }
        let c = try RawClient(port: s.port)
        #expect(try c.call("GET", "old") == "$-1\r\n")
        #expect(try c.call("DBSIZE") == ":1\r\n")
        #expect(try c.call("SCAN", "0") == "*2\r\n$1\r\n0\r\n*1\r\n$3\r\nnew\r\n")
        #expect(try c.call("TTL", "new") == ":3600\r\n")
        #expect(ks.totalKeys == 2)
    }
}

@Suite("rdbkit serve, the command", .serialized, .enabled(if: RDBKitBinary.isBuilt, "the rdbkit executable is not built"))
struct ServeCommandTests {
    @Test("Prints the Ready line, answers, and exits 0 on SIGTERM and SIGINT", arguments: [SIGTERM, SIGINT])
    func readyAndSignals(signal: Int32) throws {
        let p = try ServeProcess([allTypes70])
        #expect(p.readyLine.hasPrefix("Ready to accept connections on 127.0.0.1:\(p.port) (119 keys loaded in "))
        let c = try RawClient(port: p.port)
        #expect(try c.call("DBSIZE") == ":101\r\n")
        #expect(p.stop(signal: signal) == 0)
    }

    @Test("Refuses a non-loopback bind without a password (exit 64); RDBKIT_SERVE_PASSWORD enables it")
    func protectedMode() throws {
        let (status, _, err) = try runTool(RDBKitBinary.path!, ["serve", "--bind", "0.0.0.0", allTypes70])
        #expect(status == 64)
        #expect(err.contains("without a password"))
        let p = try ServeProcess(["--bind", "0.0.0.0", allTypes70], environment: ["RDBKIT_SERVE_PASSWORD": "pw"])
        defer { p.stop() }
        let c = try RawClient(port: p.port)
        #expect(try c.call("PING") == "-NOAUTH Authentication required.\r\n")
        #expect(try c.call("AUTH", "pw") == "+OK\r\n")
    }

    @Test("Serves rdbkit JSON Lines and an AOF (with --until) as well as an RDB")
    func otherInputs() throws {
        let scratch = try ScratchDirectory("serve-inputs")
        defer { scratch.remove() }
        let (status, jsonl, _) = try runTool(RDBKitBinary.path!, ["json", allTypes70])
        #expect(status == 0)
        try jsonl.write(toFile: scratch("keys.jsonl"), atomically: true, encoding: .utf8)
        let p = try ServeProcess([scratch("keys.jsonl")])
        let c = try RawClient(port: p.port)
        #expect(try c.call("DBSIZE") == ":101\r\n")
        #expect(try c.call("GET", "back\\slash\\bravo") == "$8\r\n65jx81va\r\n")
        p.stop()

        var aof: [UInt8] = []
        aof += Array("#TS:1700000000\r\n".utf8) + RawClient.encode(["SET", "a", "1"]) + RawClient.encode(["SELECT", "3"])
        aof += RawClient.encode(["SET", "b", "2"]) + RawClient.encode(["PEXPIREAT", "b", "4102444800000"])
        aof += Array("#TS:1700000100\r\n".utf8) + RawClient.encode(["SELECT", "0"]) + RawClient.encode(["SET", "a", "later"])
        try Data(aof).write(to: URL(fileURLWithPath: scratch("appendonly.aof")))
        let q = try ServeProcess([scratch("appendonly.aof")])
        let d = try RawClient(port: q.port)
        #expect(try d.call("GET", "a") == "$5\r\nlater\r\n")
        #expect(try d.call("SELECT", "3") == "+OK\r\n")
        #expect(try d.call("PEXPIRETIME", "b") == ":4102444800000\r\n")
        q.stop()
        let r = try ServeProcess(["--until", "1700000050", scratch("appendonly.aof")])
        let e = try RawClient(port: r.port)
        #expect(try e.call("GET", "a") == "$1\r\n1\r\n")
        r.stop()
    }

    @Test("--help lists the options, examples and exit statuses")
    func help() throws {
        let (_, out, _) = try runTool(RDBKitBinary.path!, ["serve", "--help"])
        for s in ["--port", "--bind", "--requirepass", "--skip-unknown", "--until", "EXAMPLES:", "EXIT STATUS:", "RDBKIT_SERVE_PASSWORD"] {
            #expect(out.contains(s), "\(s)")
        }
    }
}
