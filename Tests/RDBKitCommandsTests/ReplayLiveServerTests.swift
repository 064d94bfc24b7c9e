import Foundation
import RedisFormats
import Testing
import _RedisFormatsTestSupport

// `rdbkit replay` into real servers, run as the built executable. Each server runs on 127.0.0.1 on a free
// ephemeral port in its own temporary directory and is killed at the end of the test. What the target holds
// is read back through the server itself: SAVE, then its own RDB compared with the source key by key
// (values, expiries, stream metadata, functions).

/// Running `rdbkit replay` and reading its `--json` summary.
enum Replay {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The `--json` summary (last stdout line).
        var summary: [String: Any] {
            let line = stdout.split(separator: "\n").last.map(String.init) ?? ""
            return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
        }
        func count(_ name: String) -> Int { (summary[name] as? NSNumber)?.intValue ?? -1 }
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        let exe = try #require(CLITests.executable, "the rdbkit executable was not found")
        let tmp = try ScratchDirectory("replay-run")
        defer { tmp.remove() }
        FileManager.default.createFile(atPath: tmp("out"), contents: nil)
        FileManager.default.createFile(atPath: tmp("err"), contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp("out")))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp("err")))
        let process = Process()
        process.executableURL = exe
        process.arguments = ["replay"] + arguments
        var env = ProcessInfo.processInfo.environment
        env["REDISCLI_AUTH"] = nil
        env.merge(environment) { $1 }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        return Run(
            status: process.terminationStatus,
            stdout: String(decoding: FileManager.default.contents(atPath: tmp("out")) ?? Data(), as: UTF8.self),
            stderr: String(decoding: FileManager.default.contents(atPath: tmp("err")) ?? Data(), as: UTF8.self))
    }

    /// A fresh server of `kind` without persistence.
    static func server(_ kind: LiveServerKind, _ tmp: ScratchDirectory, _ extra: [String] = []) throws -> LiveServer {
        try LiveServer(kind, directory: tmp("target"), arguments: ["--appendonly", "no", "--dbfilename", "dump.rdb"] + extra)
    }

    /// SAVEs the target and compares its keyspace with the source, exactly.
    static func expectSameKeyspace(
        _ server: LiveServer, as source: RDBSnapshot, consumerTimesFromClock: Bool, evictionHints: Bool = false,
        mapping: @escaping (CorpusKey) -> CorpusKey = { $0 }, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let saved = try server.saveAndRead()
        var c = ContentComparison()
        c.comparesEvictionHints = evictionHints
        c.ignoresConsumerTimes = consumerTimesFromClock
        c.mapping = mapping
        c.compare(source: source, written: saved)
        #expect(
            c.problems.isEmpty,
            "\(what): \(c.problems.count) differences:\n\(c.problems.prefix(10).joined(separator: "\n"))",
            sourceLocation: sourceLocation)
        #expect(saved.functions.sorted() == source.functions.sorted(), "\(what): functions differ", sourceLocation: sourceLocation)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var file: String
        var mode: String
        var testDescription: String { "\(file) --mode \(mode)" }
    }

    static func cases(_ files: [String], modes: [String] = ["restore", "commands"]) -> [Case] {
        files.flatMap { f in modes.map { Case(file: f, mode: $0) } }
    }

    /// Replays an RDB into a fresh server of `kind` in a mode and checks the keyspace.
    static func checkRDB(_ kind: LiveServerKind, _ c: Case, serverArguments: [String] = []) throws {
        let input = Corpus.fixture(c.file)
        let source = try RDBSnapshot(path: input)
        let tmp = try ScratchDirectory("replay-rdb")
        defer { tmp.remove() }
        let server = try server(kind, tmp, serverArguments)
        defer { server.stop() }
        let run = try run([input, "--to", "redis://127.0.0.1:\(server.port)", "--mode", c.mode, "--json"])
        #expect(run.status == 0, "\(c): exit \(run.status): \(run.stderr)")
        #expect(run.count("keys_written") == source.keys.count, "\(c): \(run.stdout)")
        #expect(run.count("keys_failed") == 0)
        #expect(run.count("functions_loaded") == source.functions.count)
        let restoredAsStored = run.count("keys_restored")
        if c.mode == "commands" { #expect(restoredAsStored == 0 && run.count("keys_reencoded") == 0) }
        // A commands replay of a stream stamps consumers with the target's clock (XCLAIM, CREATECONSUMER).
        let clock = c.mode == "commands" || run.count("keys_as_commands") > 0
        try expectSameKeyspace(server, as: source, consumerTimesFromClock: clock, "\(c) into \(kind)")
    }
}

// MARK: - Every corpus RDB and AOF into redis-server 7.0

@Suite("rdbkit replay into redis-server 7.0", .serialized)
struct ReplayInto70Tests {
    /// Every corpus RDB a 7.0 server can hold: all of 6.0, 6.2, 7.0 (big in restore mode), and the newer
    /// servers' all-types and functions (version conversion down).
    static let files: [String] = Corpus.fixtureRDBsWithExpected().filter { f in
        if f.hasSuffix("/big.rdb") || f.hasSuffix("/modules.rdb") || f.hasSuffix("/hash-field-ttl.rdb") { return false }
        if f.hasPrefix("redis-stack-7.4/") || f.hasPrefix("valkey-9.1/") {
            return f.hasSuffix("/all-types.rdb") || f.hasSuffix("/functions.rdb")
        }
        return true
    }

    @Test(
        "every corpus RDB replayed into redis-server 7.0 gives the same keyspace",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)),
        arguments: Replay.cases(files) + [Replay.Case(file: "redis-7.0.15/rdb/big.rdb", mode: "restore")])
    func rdb(c: Replay.Case) throws { try Replay.checkRDB(.redis70, c) }

    @Test(
        "LFU frequencies travel with RESTORE … FREQ into a server with an LFU policy",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)),
        arguments: ["redis-6.2/rdb/lfu.rdb", "redis-7.0.15/rdb/lfu.rdb"])
    func lfu(file: String) throws {
        let input = Corpus.fixture(file)
        let source = try RDBSnapshot(path: input)
        #expect(source.keys.values.contains { $0.header.lfuFrequency ?? 0 > 0 })
        let tmp = try ScratchDirectory("replay-lfu")
        defer { tmp.remove() }
        let server = try Replay.server(.redis70, tmp, ["--maxmemory", "4gb", "--maxmemory-policy", "allkeys-lfu"])
        defer { server.stop() }
        let run = try Replay.run([input, "--to", "redis://127.0.0.1:\(server.port)", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        try Replay.expectSameKeyspace(server, as: source, consumerTimesFromClock: false, evictionHints: true, file)
    }

    @Test(
        "LRU idle times travel with RESTORE … IDLETIME into a server with an LRU policy",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func lru() throws {
        let input = Corpus.fixture("redis-7.0.15/rdb/lru.rdb")
        let source = try RDBSnapshot(path: input)
        let tmp = try ScratchDirectory("replay-lru")
        defer { tmp.remove() }
        let server = try Replay.server(.redis70, tmp, ["--maxmemory", "4gb", "--maxmemory-policy", "allkeys-lru"])
        defer { server.stop() }
        let run = try Replay.run([input, "--to", "redis://127.0.0.1:\(server.port)", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let saved = try server.saveAndRead()
        #expect(saved.keys.count == source.keys.count)
        for (k, kv) in source.keys {
            let idle = try #require(kv.header.lruIdleSeconds, "\(k) has no idle time in the source")
            let got = try #require(saved.keys[k]?.header.lruIdleSeconds, "\(k) has no idle time after replay")
            #expect(got >= idle && got <= idle + 3, "\(k): idle \(idle) s became \(got) s")
        }
    }

    struct AOFCase: CustomTestStringConvertible, Sendable {
        var server: String
        var variant: String
        var mode: String
        var testDescription: String { "\(server)/aof/\(variant) --mode \(mode)" }
        var directory: String { Corpus.fixture("\(server)/aof/\(variant)") }
        var isMultiPart: Bool { FileManager.default.fileExists(atPath: "\(directory)/appendonlydir") }
        var source: String { isMultiPart ? "\(directory)/appendonlydir" : "\(directory)/appendonly.aof" }
    }

    static let aofCases: [AOFCase] = ["redis-6.0.9", "redis-6.2", "redis-7.0.15"].flatMap { server in
        ((try? FileManager.default.contentsOfDirectory(atPath: Corpus.fixture("\(server)/aof"))) ?? []).sorted()
            .filter { !$0.contains(".") }
            .flatMap { v in ["restore", "commands"].map { AOFCase(server: server, variant: v, mode: $0) } }
    }

    @Test(
        "every corpus AOF replayed into redis-server 7.0 gives the keyspace of a 7.0 server that loaded it",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)), arguments: aofCases)
    func aof(c: AOFCase) throws {
        let tmp = try ScratchDirectory("replay-aof")
        defer { tmp.remove() }
        // The reference: a server that loads the AOF itself (7.0 upgrades a 6.x single file).
        let refDir = tmp("reference")
        try FileManager.default.createDirectory(atPath: refDir, withIntermediateDirectories: true)
        if c.isMultiPart {
            try FileManager.default.copyItem(atPath: c.source, toPath: "\(refDir)/appendonlydir")
        } else {
            try FileManager.default.copyItem(atPath: c.source, toPath: "\(refDir)/appendonly.aof")
        }
        let reference = try LiveServer(.redis70, directory: refDir, arguments: ["--appendonly", "yes", "--dbfilename", "dump.rdb"])
        let expected = try reference.saveAndRead()
        reference.stop()
        #expect(expected.keys.count > 10, "the reference loaded \(expected.keys.count) keys: \(reference.log())")

        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let run = try Replay.run([c.source, "--to", "redis://127.0.0.1:\(server.port)", "--mode", c.mode, "--json"])
        #expect(run.status == 0, "\(c): exit \(run.status): \(run.stderr)")
        #expect(run.count("commands_forwarded") > 0 && run.count("commands_failed") == 0, "\(run.stdout)")
        try Replay.expectSameKeyspace(server, as: expected, consumerTimesFromClock: true, "\(c)")
    }

    @Test(
        "rdbkit json output replayed back gives the same keyspace (JSON Lines source)",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)),
        arguments: ["restore", "commands"])
    func jsonLines(mode: String) throws {
        let input = Corpus.fixture("redis-7.0.15/rdb/all-types.rdb")
        let source = try RDBSnapshot(path: input)
        let tmp = try ScratchDirectory("replay-jsonl")
        defer { tmp.remove() }
        let json = try CLITests.rdbkit(["json", input])
        #expect(json.status == 0)
        try json.stdout.write(to: URL(fileURLWithPath: tmp("all.jsonl")))
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let run = try Replay.run([tmp("all.jsonl"), "--to", "redis://127.0.0.1:\(server.port)", "--mode", mode, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.count("keys_written") == source.keys.count)
        try Replay.expectSameKeyspace(server, as: source, consumerTimesFromClock: mode == "commands", "JSON Lines --mode \(mode)")
    }
}

// MARK: - Other servers: version conversion

@Suite("rdbkit replay into other servers", .serialized)
struct ReplayIntoOtherServersTests {
    static let allTypes = Corpus.servers.map { "\($0)/rdb/all-types.rdb" }

    @Test(
        "every corpus all-types, functions and hash-field-ttl RDB replayed into valkey 9.1 gives the same keyspace",
        .enabled(if: LiveServerKind.valkey91.isInstalled, LiveServerKind.missing(.valkey91)),
        arguments: Replay.cases(
            allTypes + [
                "redis-7.0.15/rdb/functions.rdb", "valkey-9.1/rdb/functions.rdb", "redis-stack-7.4/rdb/hash-field-ttl.rdb",
                "valkey-9.1/rdb/hash-field-ttl.rdb",
            ]))
    func valkey91(c: Replay.Case) throws { try Replay.checkRDB(.valkey91, c) }

    @Test(
        "every corpus all-types RDB replayed into redis 6.2 gives the same keyspace (re-encoded for RDB 9)",
        .enabled(if: LiveServerKind.redis62.isInstalled, LiveServerKind.missing(.redis62)),
        arguments: Replay.cases(allTypes) + [Replay.Case(file: "redis-7.0.15/rdb/all-types.rdb", mode: "auto")])
    func redis62(c: Replay.Case) throws { try Replay.checkRDB(.redis62, c) }

    @Test(
        "hash field TTLs replayed into redis-stack 7.4 (RESTORE as stored, and HPEXPIREAT)",
        .enabled(if: LiveServerKind.stack74.isInstalled, LiveServerKind.missing(.stack74)),
        arguments: Replay.cases(["redis-stack-7.4/rdb/hash-field-ttl.rdb", "valkey-9.1/rdb/hash-field-ttl.rdb"]))
    func stack74(c: Replay.Case) throws { try Replay.checkRDB(.stack74, c) }
}

// MARK: - Authentication and TLS

@Suite("rdbkit replay: authentication and TLS", .serialized)
struct ReplayAuthTests {
    static let file = "redis-7.0.15/rdb/all-types.rdb"

    @Test(
        "requirepass: the password from REDISCLI_AUTH works, a wrong one exits 8 without showing it",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func requirepass() throws {
        let input = Corpus.fixture(Self.file)
        let tmp = try ScratchDirectory("replay-auth")
        defer { tmp.remove() }
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        // Set after start: LiveServer waits for a PONG, which a password-protected server does not give.
        #expect(try LiveConnection(port: server.port).call(["CONFIG", "SET", "requirepass", "s3cret-pass"]) == .simple("OK"))
        let uri = "redis://127.0.0.1:\(server.port)"
        let bad = try Replay.run([input, "--to", uri], environment: ["REDISCLI_AUTH": "not-it"])
        #expect(bad.status == 8, "\(bad.stderr)")
        #expect(bad.stderr.contains("AUTH") && !bad.stderr.contains("not-it"), "\(bad.stderr)")
        let none = try Replay.run([input, "--to", uri])
        #expect(none.status == 8, "without a password the server refuses: \(none.stderr)")
        #expect(none.stderr.contains("NOAUTH"), "\(none.stderr)")
        let good = try Replay.run([input, "--to", uri, "--json"], environment: ["REDISCLI_AUTH": "s3cret-pass"])
        #expect(good.status == 0, "\(good.stderr)")
        try withoutPassword(server, "s3cret-pass")
        try Replay.expectSameKeyspace(server, as: try RDBSnapshot(path: input), consumerTimesFromClock: false, "requirepass")
    }

    @Test(
        "an ACL user from the URI, its password from REDISCLI_AUTH; a user without write rights fails keys",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func aclUser() throws {
        let input = Corpus.fixture(Self.file)
        let tmp = try ScratchDirectory("replay-acl")
        defer { tmp.remove() }
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let admin = try LiveConnection(port: server.port)
        #expect(try admin.call(["ACL", "SETUSER", "replayer", "on", ">rp-pass", "~*", "&*", "+@all"]) == .simple("OK"))
        #expect(try admin.call(["ACL", "SETUSER", "reader", "on", ">rd-pass", "~*", "+@read", "+info", "+select", "+client"]) == .simple("OK"))
        let run = try Replay.run(
            [input, "--to", "redis://replayer@127.0.0.1:\(server.port)", "--json"], environment: ["REDISCLI_AUTH": "rp-pass"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try admin.call(["ACL", "LOG", "RESET"]) == .simple("OK"))
        try Replay.expectSameKeyspace(server, as: try RDBSnapshot(path: input), consumerTimesFromClock: false, "ACL user")

        let denied = try Replay.run(
            [input, "--to", "redis://reader@127.0.0.1:\(server.port)", "--on-error", "skip", "--json"],
            environment: ["REDISCLI_AUTH": "rd-pass"])
        #expect(denied.status == 6, "\(denied.stderr)")
        #expect(denied.count("keys_written") == 0 && denied.count("keys_failed") == 119, "\(denied.stdout)")
    }

    /// A CA and a server certificate for 127.0.0.1 and localhost, made with openssl.
    static func makeCertificates(_ tmp: ScratchDirectory) throws {
        func openssl(_ args: [String]) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: try #require(LiveServerKind.onPath("openssl")))
            p.arguments = args
            p.currentDirectoryURL = URL(fileURLWithPath: tmp.path)
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "openssl \(args.joined(separator: " "))")
        }
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=rdbkit test CA"])
        try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"])
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: tmp("ext.cnf"), atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"])
        try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=replayer"])
        try openssl(["x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.pem", "-days", "2"])
    }

    @Test(
        "over TLS: verified with --cacert (by IP and by name), refused without it, --insecure skips verification, client certificates",
        .enabled(if: LiveServerKind.redis70.isInstalled && LiveServerKind.onPath("openssl") != nil, LiveServerKind.missing(.redis70)))
    func tls() throws {
        let input = Corpus.fixture(Self.file)
        let source = try RDBSnapshot(path: input)
        let tmp = try ScratchDirectory("replay-tls")
        defer { tmp.remove() }
        try Self.makeCertificates(tmp)
        let tlsPort = try LiveServer.freePort()
        // LiveServer talks plain RESP on --port for its readiness check and for SAVE; the replay uses only TLS.
        let server = try Replay.server(
            .redis70, tmp,
            [
                "--tls-port", "\(tlsPort)", "--tls-cert-file", tmp("server.pem"), "--tls-key-file", tmp("server.key"),
                "--tls-ca-cert-file", tmp("ca.pem"), "--tls-auth-clients", "optional",
            ])
        defer { server.stop() }
        let plain = try LiveConnection(port: server.port)

        let verified = try Replay.run([input, "--to", "rediss://127.0.0.1:\(tlsPort)", "--cacert", tmp("ca.pem"), "--json"])
        #expect(verified.status == 0, "\(verified.stderr)")
        try Replay.expectSameKeyspace(server, as: source, consumerTimesFromClock: false, "TLS by IP")

        #expect(try plain.call(["FLUSHALL"]) == .simple("OK"))
        let byName = try Replay.run([
            input, "--to", "rediss://localhost:\(tlsPort)", "--cacert", tmp("ca.pem"), "--cert", tmp("client.pem"),
            "--key", tmp("client.key"), "--resp", "3", "--mode", "commands", "--json",
        ])
        #expect(byName.status == 0, "\(byName.stderr)")
        try Replay.expectSameKeyspace(server, as: source, consumerTimesFromClock: true, "TLS by name, client certificate, RESP3")

        let unverified = try Replay.run([input, "--to", "rediss://127.0.0.1:\(tlsPort)"])
        #expect(unverified.status == 8, "the system CAs do not know the test CA: \(unverified.stderr)")
        #expect(unverified.stderr.contains("CERTIFICATE_VERIFY_FAILED"), "\(unverified.stderr)")

        let insecure = try Replay.run([input, "--to", "rediss://127.0.0.1:\(tlsPort)", "--insecure", "--json"])
        #expect(insecure.status == 0 && insecure.count("keys_written") == source.keys.count, "\(insecure.stderr)")

        let plainToTLS = try Replay.run([input, "--to", "redis://127.0.0.1:\(tlsPort)", "--connect-timeout", "2", "--timeout", "2"])
        #expect(plainToTLS.status == 8, "plain RESP to a TLS port fails: \(plainToTLS.stderr)")
    }
}

/// Drops the server's password, so the comparison's own connections (SAVE) need none.
func withoutPassword(_ server: LiveServer, _ password: String) throws {
    let c = try LiveConnection(port: server.port)
    #expect(try c.call(["AUTH", password]) == .simple("OK"))
    #expect(try c.call(["CONFIG", "SET", "requirepass", ""]) == .simple("OK"))
}

// MARK: - Policies and errors

@Suite("rdbkit replay: policies and errors", .serialized)
struct ReplayPolicyTests {
    static let file = "redis-7.0.15/rdb/all-types.rdb"

    /// A key of db 0 of the source with its record offset.
    static func firstKeys(_ n: Int) throws -> [(key: RDBKeyHeader, value: RedisValue)] {
        let reader = try RDBReader(path: Corpus.fixture(file))
        var out: [(RDBKeyHeader, RedisValue)] = []
        while out.count < n, let r = try reader.next() {
            if case .key(let h) = r, h.db == 0 { out.append((h, try reader.readValue())) }
        }
        return out
    }

    @Test(
        "--skip-existing leaves existing keys alone and writes the others",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)), arguments: ["restore", "commands"])
    func skipExisting(mode: String) throws {
        let input = Corpus.fixture(Self.file)
        let source = try RDBSnapshot(path: input)
        let tmp = try ScratchDirectory("replay-skip")
        defer { tmp.remove() }
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let c = try LiveConnection(port: server.port)
        let existing = try Self.firstKeys(3).map(\.key.key)
        for k in existing { _ = try c.call([RedisBytes("SET"), k, RedisBytes("kept")]) }
        let run = try Replay.run([input, "--to", "redis://127.0.0.1:\(server.port)", "--skip-existing", "--mode", mode, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.count("keys_skipped") == 3 && run.count("keys_written") == source.keys.count - 3, "\(run.stdout)")
        for k in existing { #expect(try c.call([RedisBytes("GET"), k]) == .bulk(Array("kept".utf8))) }
        let kept = Set(existing.map { CorpusKey(db: 0, key: $0.bytes) })
        let saved = try server.saveAndRead()
        var cmp = ContentComparison()
        cmp.comparesEvictionHints = false
        cmp.ignoresConsumerTimes = mode == "commands"
        cmp.excluded = kept
        var withoutKept = saved
        for k in kept { withoutKept.keys[k] = nil }
        withoutKept.keyOrder.removeAll { kept.contains($0) }
        cmp.compare(source: source, written: withoutKept)
        #expect(cmp.problems.isEmpty, "\(cmp.problems.prefix(5))")
    }

    @Test(
        "--flush-target --yes empties the target first; without --yes and no terminal nothing is written",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func flushTarget() throws {
        let input = Corpus.fixture(Self.file)
        let tmp = try ScratchDirectory("replay-flush")
        defer { tmp.remove() }
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let c = try LiveConnection(port: server.port)
        _ = try c.call(["SELECT", "9"])
        _ = try c.call(["SET", "stranger", "x"])
        let refused = try Replay.run([input, "--to", "redis://127.0.0.1:\(server.port)", "--flush-target"])
        #expect(refused.status == 64, "\(refused.stderr)")
        #expect(try server.dbsize() == [9: 1], "nothing was written without confirmation")
        let run = try Replay.run([input, "--to", "redis://127.0.0.1:\(server.port)", "--flush-target", "--yes", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        try Replay.expectSameKeyspace(server, as: try RDBSnapshot(path: input), consumerTimesFromClock: false, "after --flush-target")
    }

    @Test(
        "--db-map moves databases; --db and --match select keys",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)), arguments: ["restore", "commands"])
    func dbMap(mode: String) throws {
        let input = Corpus.fixture(Self.file)
        let source = try RDBSnapshot(path: input)
        let tmp = try ScratchDirectory("replay-dbmap")
        defer { tmp.remove() }
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let map: [UInt64: UInt64] = [1: 3, 7: 0, 15: 2]
        // db 7 lands in db 0: the source must not have the same key in both.
        let zero = Set(source.keys.keys.filter { $0.db == 0 }.map(\.key))
        #expect(source.keys.keys.filter { $0.db == 7 && zero.contains($0.key) }.isEmpty)
        let run = try Replay.run([input, "--to", "redis://127.0.0.1:\(server.port)", "--db-map", "1:3,7:0,15:2", "--mode", mode, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try server.dbsize() == [0: 107, 3: 6, 2: 6])
        try Replay.expectSameKeyspace(
            server, as: source, consumerTimesFromClock: mode == "commands",
            mapping: { CorpusKey(db: map[$0.db] ?? $0.db, key: $0.key) }, "--db-map")

        #expect(try LiveConnection(port: server.port).call(["FLUSHALL"]) == .simple("OK"))
        let some = try Replay.run([input, "--to", "redis://127.0.0.1:\(server.port)", "--db", "0", "--match", "str*", "--mode", mode, "--json"])
        let expected = source.keys.keys.filter { $0.db == 0 && $0.key.starts(with: Array("str".utf8)) }.count
        #expect(expected > 3)
        #expect(some.count("keys_written") == expected && some.count("keys_filtered") == source.keys.count - expected, "\(some.stdout)")
        #expect(try server.dbsize() == [0: expected])
    }

    @Test(
        "--on-error skip writes every failed key and the server's error to --report and exits 6",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func onErrorSkip() throws {
        let input = Corpus.fixture(Self.file)
        let source = try RDBSnapshot(path: input)
        let tmp = try ScratchDirectory("replay-report")
        defer { tmp.remove() }
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let c = try LiveConnection(port: server.port)
        let busy = try Self.firstKeys(4)
        for (h, _) in busy { _ = try c.call([RedisBytes("SET"), h.key, RedisBytes("in the way")]) }
        let run = try Replay.run([
            input, "--to", "redis://127.0.0.1:\(server.port)", "--no-replace", "--on-error", "skip", "--report", tmp("failed.jsonl"), "--json",
        ])
        #expect(run.status == 6, "\(run.stderr)")
        #expect(run.count("keys_failed") == 4 && run.count("keys_written") == source.keys.count - 4, "\(run.stdout)")
        let lines = try String(contentsOfFile: tmp("failed.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        var reported: [[UInt8]: [String: Any]] = [:]
        for l in lines {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any])
            reported[try #require(ExpectedContent.bytes(o["key"]))] = o
        }
        for (h, _) in busy {
            let o = try #require(reported[h.key.bytes], "\(h.key) is not in the report")
            #expect(o["command"] as? String == "RESTORE")
            #expect((o["error"] as? String)?.hasPrefix("BUSYKEY") == true)
            #expect((o["source_offset"] as? NSNumber)?.int64Value == h.offset)
            #expect((o["db"] as? NSNumber)?.intValue == 0)
        }
    }

    @Test(
        "a failing RESTORE (BUSYKEY without --replace) names the key, the command and the source offset, exit 7",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func failingRestore() throws {
        let input = Corpus.fixture(Self.file)
        let tmp = try ScratchDirectory("replay-busy")
        defer { tmp.remove() }
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let (h, _) = try #require(try Self.firstKeys(5).last)
        _ = try LiveConnection(port: server.port).call([RedisBytes("SET"), h.key, RedisBytes("in the way")])
        let run = try Replay.run([input, "--to", "redis://127.0.0.1:\(server.port)", "--no-replace"])
        #expect(run.status == 7, "\(run.stderr)")
        let text = "command RESTORE for key \(h.key.escapedDescription) (db 0) at source offset \(h.offset) of \(input) rejected: BUSYKEY"
        #expect(run.stderr.contains(text), "expected «\(text)» in: \(run.stderr)")
    }

    @Test(
        "a forwarded AOF command the server rejects (WRONGTYPE) names the command, key and its exact offset",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func wrongTypeInAOF() throws {
        let tmp = try ScratchDirectory("replay-wrongtype")
        defer { tmp.remove() }
        let aof = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*3\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n$1\r\nx\r\n"
        try aof.write(toFile: tmp("one.aof"), atomically: true, encoding: .utf8)
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let run = try Replay.run([tmp("one.aof"), "--to", "redis://127.0.0.1:\(server.port)"])
        #expect(run.status == 7, "\(run.stderr)")
        #expect(run.stderr.contains("command RPUSH for key \"k\" (db 0) at source offset 27 of \(tmp("one.aof")) rejected: WRONGTYPE"), "\(run.stderr)")
    }
}

// MARK: - Checkpoints

@Suite("rdbkit replay: --checkpoint and --resume", .serialized)
struct ReplayCheckpointTests {
    static func checkpoint(_ path: String) throws -> [String: Any] {
        let data = try #require(FileManager.default.contents(atPath: path), "no checkpoint at \(path)")
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test(
        "an RDB replay stopped by a failure resumes at the failed key and sends nothing twice",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func rdb() throws {
        let input = Corpus.fixture("redis-7.0.15/rdb/all-types.rdb")
        let source = try RDBSnapshot(path: input)
        let tmp = try ScratchDirectory("replay-checkpoint")
        defer { tmp.remove() }
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let c = try LiveConnection(port: server.port)
        let (blocker, _) = try #require(try ReplayPolicyTests.firstKeys(60).last)
        _ = try c.call([RedisBytes("SET"), blocker.key, RedisBytes("in the way")])
        let arguments = [input, "--to", "redis://127.0.0.1:\(server.port)", "--no-replace", "--checkpoint", tmp("cp.json"), "--json"]

        let first = try Replay.run(arguments + ["--pipeline", "8"])
        #expect(first.status == 7, "\(first.stderr)")
        let cp = try Self.checkpoint(tmp("cp.json"))
        #expect(cp["complete"] as? Bool == false)
        #expect((cp["offset"] as? NSNumber)?.int64Value == blocker.offset, "the watermark stops at the failed key: \(cp)")
        let beyond = cp["acknowledged_beyond"] as? [[NSNumber]] ?? []
        #expect(first.count("keys_written") == 59 + beyond.count, "\(first.stdout) \(cp)")
        #expect(!FileManager.default.fileExists(atPath: tmp("cp.json.tmp")))

        _ = try c.call([RedisBytes("DEL"), blocker.key])
        // --no-replace again: a key sent twice would fail with BUSYKEY.
        let second = try Replay.run(arguments + ["--resume"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.count("keys_written") == source.keys.count - first.count("keys_written"), "\(second.stdout)")
        #expect(try Self.checkpoint(tmp("cp.json"))["complete"] as? Bool == true)
        try Replay.expectSameKeyspace(server, as: source, consumerTimesFromClock: false, "after --resume")

        let again = try Replay.run(arguments + ["--resume"])
        #expect(again.status == 0 && again.count("keys_written") == 0, "a complete checkpoint leaves nothing to do: \(again.stdout)")
    }

    @Test(
        "an AOF replay stopped by a failure resumes exactly: non-idempotent commands are applied once",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func aof() throws {
        let tmp = try ScratchDirectory("replay-checkpoint-aof")
        defer { tmp.remove() }
        func command(_ argv: String...) -> [UInt8] {
            var out: [UInt8] = []
            RecordCommands.resp(argv.map { RedisBytes($0) }, into: &out)
            return out
        }
        var aof: [UInt8] = []
        for _ in 0..<50 { aof += command("INCR", "c") }
        aof += command("MULTI") + command("INCR", "c") + command("INCR", "c") + command("EXEC")
        let failing = Int64(aof.count)
        aof += command("RPUSH", "k", "x")
        for _ in 0..<50 { aof += command("INCR", "c") }
        aof += command("SELECT", "2") + command("MULTI") + command("INCR", "d") + command("EXEC")
        try Data(aof).write(to: URL(fileURLWithPath: tmp("t.aof")))

        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let c = try LiveConnection(port: server.port)
        _ = try c.call(["SET", "k", "a string"])
        let arguments = [tmp("t.aof"), "--to", "redis://127.0.0.1:\(server.port)", "--checkpoint", tmp("cp.json"), "--json"]
        let first = try Replay.run(arguments + ["--pipeline", "4"])
        #expect(first.status == 7, "\(first.stderr)")
        #expect(first.stderr.contains("command RPUSH for key \"k\" (db 0) at source offset \(failing)"), "\(first.stderr)")
        let cp = try Self.checkpoint(tmp("cp.json"))
        #expect((cp["offset"] as? NSNumber)?.int64Value ?? .max < failing, "\(cp)")

        _ = try c.call(["DEL", "k"])
        let second = try Replay.run(arguments + ["--resume"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try c.call(["GET", "c"]) == .bulk(Array("102".utf8)), "every INCR applied exactly once")
        #expect(try c.call(["LRANGE", "k", "0", "-1"]) == .array([.bulk(Array("x".utf8))]))
        _ = try c.call(["SELECT", "2"])
        #expect(try c.call(["GET", "d"]) == .bulk(Array("1".utf8)))
    }

    @Test(
        "--resume refuses a checkpoint written for another source",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func otherSource() throws {
        let tmp = try ScratchDirectory("replay-checkpoint-other")
        defer { tmp.remove() }
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let uri = "redis://127.0.0.1:\(server.port)"
        let first = try Replay.run([Corpus.fixture("redis-7.0.15/rdb/lfu.rdb"), "--to", uri, "--checkpoint", tmp("cp.json")])
        #expect(first.status == 0, "\(first.stderr)")
        let other = try Replay.run([Corpus.fixture("redis-7.0.15/rdb/lru.rdb"), "--to", uri, "--checkpoint", tmp("cp.json"), "--resume"])
        #expect(other.status == 64, "\(other.stderr)")
        #expect(other.stderr.contains("refusing to resume"))
    }
}

@Suite("rdbkit replay: accounting", .serialized)
struct ReplayAccountingTests {
    @Test(
        "with one command in flight, keys written as several commands are each counted once",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func oneInFlight() throws {
        let input = Corpus.fixture("redis-7.0.15/rdb/all-types.rdb")
        let source = try RDBSnapshot(path: input)
        let tmp = try ScratchDirectory("replay-accounting")
        defer { tmp.remove() }
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let run = try Replay.run([input, "--to", "redis://127.0.0.1:\(server.port)", "--mode", "commands", "--pipeline", "1", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.count("keys_written") == source.keys.count, "\(run.stdout)")
        #expect(run.count("commands_sent") > source.keys.count * 2)
        try Replay.expectSameKeyspace(server, as: source, consumerTimesFromClock: true, "--pipeline 1")
    }
}

@Suite("rdbkit replay: big values in commands mode", .serialized)
struct ReplayBigValueTests {
    /// An RDB saved by redis-server 7.0 holding values whose commands are several MB: a list, a hash, a
    /// set and a sorted set of 6000 elements of about 300 bytes each, and a key after them.
    static func makeSource(_ tmp: ScratchDirectory) throws -> String {
        let server = try LiveServer(.redis70, directory: tmp("source"), arguments: ["--appendonly", "no", "--dbfilename", "big.rdb"])
        defer { server.stop() }
        let c = try LiveConnection(port: server.port)
        // Letters from a fixed LCG: LZF finds little to compress, so the stored values are as big as their
        // commands.
        var state: UInt64 = 42
        func pad() -> String {
            String(decoding: (0..<290).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return UInt8(ascii: "a") + UInt8((state >> 33) % 26)
            }, as: UTF8.self)
        }
        for chunk in stride(from: 0, to: 6000, by: 500) {
            let range = chunk..<(chunk + 500)
            _ = try c.call(["RPUSH", "big:list"] + range.map { "item-\($0)-\(pad())" })
            _ = try c.call(["HSET", "big:hash"] + range.flatMap { ["field-\($0)", "value-\($0)-\(pad())"] })
            _ = try c.call(["SADD", "big:set"] + range.map { "member-\($0)-\(pad())" })
            _ = try c.call(["ZADD", "big:zset"] + range.flatMap { [String(Double($0) / 4), "member-\($0)-\(pad())"] })
        }
        _ = try c.call(["PEXPIREAT", "big:list", "4102444800000"])
        _ = try c.call(["SET", "after", "1"])
        guard case .simple("OK") = try c.call(["SAVE"]) else { throw LiveServer.Failure(description: "SAVE failed") }
        return tmp("source/big.rdb")
    }

    /// Where each key of `input` starts, in file order, and for each big value a copy of the file cut at
    /// 3/4 of it: (index of the key, the key, the cut file, the value's stored size).
    static func cutsInsideBigValues(_ input: String, _ tmp: ScratchDirectory) throws
        -> (starts: [(key: String, offset: Int64)], cuts: [(Int, (key: String, offset: Int64), String, Int64)])
    {
        let reader = try RDBReader(path: input)
        var starts: [(key: String, offset: Int64)] = []
        while let record = try reader.next() {
            if case .key(let h) = record {
                starts.append((String(decoding: h.key.bytes, as: UTF8.self), h.offset))
                try reader.skipValue()
            }
        }
        let bytes = try #require(FileManager.default.contents(atPath: input))
        var cuts: [(Int, (key: String, offset: Int64), String, Int64)] = []
        for (i, s) in starts.enumerated() where s.key.hasPrefix("big:") {
            let end = i + 1 < starts.count ? starts[i + 1].offset : Int64(bytes.count - 9)
            let cut = tmp("cut-\(s.key).rdb")
            FileManager.default.createFile(atPath: cut, contents: bytes.prefix(Int(s.offset + (end - s.offset) * 3 / 4)))
            cuts.append((i, s, cut, end - s.offset))
        }
        return (starts, cuts)
    }

    @Test(
        "values of several MB are written batch by batch while read: the target holds them exactly",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func exact() throws {
        let tmp = try ScratchDirectory("replay-big")
        defer { tmp.remove() }
        let input = try Self.makeSource(tmp)
        let source = try RDBSnapshot(path: input)
        #expect(source.keys.count == 5)
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let run = try Replay.run([input, "--to", "redis://127.0.0.1:\(server.port)", "--mode", "commands", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.count("keys_written") == 5, "\(run.stdout)")
        // 6 batches of 1000 elements for each big value, one PEXPIREAT, one SET.
        #expect(run.count("commands_sent") == 4 * 6 + 2, "\(run.stdout)")
        try Replay.expectSameKeyspace(server, as: source, consumerTimesFromClock: false, "big values --mode commands")
    }

    @Test(
        "a file cut inside a big value: the replay fails naming the offset and the target is left without the half-written key",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func cutInsideValue() throws {
        let tmp = try ScratchDirectory("replay-big-cut")
        defer { tmp.remove() }
        let input = try Self.makeSource(tmp)
        let (_, cuts) = try Self.cutsInsideBigValues(input, tmp)
        for (i, s, cut, size) in cuts {
            #expect(size > 1_000_000, "\(s.key) is \(size) bytes")
            let server = try Replay.server(.redis70, tmp)
            defer { server.stop() }
            let run = try Replay.run([cut, "--to", "redis://127.0.0.1:\(server.port)", "--mode", "commands", "--json"])
            #expect(run.status != 0, "\(s.key): \(run.stdout)")
            #expect(run.stderr.contains("offset"), "\(s.key): \(run.stderr)")
            let c = try LiveConnection(port: server.port)
            #expect(try c.call(["EXISTS", s.key]) == .integer(0), "\(s.key) was left half-written")
            // The keys before it were written whole.
            #expect(try c.call(["DBSIZE"]) == .integer(Int64(i)), "\(s.key)")
        }
    }

    /// Gives the target old values under the source's key names, each of another type than the source's,
    /// one with a TTL; returns each key's DUMP.
    static func occupy(_ c: LiveConnection) throws -> [String: LiveConnection.Reply] {
        _ = try c.call(["SET", "big:list", "old string"])
        _ = try c.call(["RPUSH", "big:hash", "old", "list"])
        _ = try c.call(["HSET", "big:set", "old", "hash"])
        _ = try c.call(["SADD", "big:zset", "old", "set"])
        _ = try c.call(["PEXPIREAT", "big:zset", "4102444800123"])
        _ = try c.call(["ZADD", "after", "1", "old"])
        var dumps: [String: LiveConnection.Reply] = [:]
        for k in ["big:list", "big:hash", "big:set", "big:zset", "after"] { dumps[k] = try c.call(["DUMP", k]) }
        return dumps
    }

    @Test(
        "replacing keys on a target that holds them: values are staged and renamed over the keys, which a cut file leaves untouched",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func replaceOccupiedTarget() throws {
        let tmp = try ScratchDirectory("replay-big-occupied")
        defer { tmp.remove() }
        let input = try Self.makeSource(tmp)
        let source = try RDBSnapshot(path: input)

        // Whole file: every key replaced, the old TTL gone with the old value, no staging key left.
        do {
            let server = try Replay.server(.redis70, tmp)
            defer { server.stop() }
            let c = try LiveConnection(port: server.port)
            _ = try Self.occupy(c)
            let run = try Replay.run([input, "--to", "redis://127.0.0.1:\(server.port)", "--mode", "commands", "--json"])
            #expect(run.status == 0, "\(run.stderr)")
            // 6 batches per big value, a RENAME each, one PEXPIREAT, one SET (no DEL: SET replaces a key).
            #expect(run.count("commands_sent") == 4 * 6 + 4 + 2, "\(run.stdout)")
            try Replay.expectSameKeyspace(server, as: source, consumerTimesFromClock: false, "big values over old keys")
        }

        // Cut inside each big value: the keys before it are replaced, it and those after keep their old
        // values byte for byte (DUMP), and nothing else is on the target.
        let (starts, cuts) = try Self.cutsInsideBigValues(input, tmp)
        for (i, s, cut, _) in cuts {
            // A directory of its own: the whole-file server above saved its keyspace into its own.
            let dir = try ScratchDirectory("replay-big-occupied-\(i)")
            defer { dir.remove() }
            let server = try Replay.server(.redis70, dir)
            defer { server.stop() }
            let c = try LiveConnection(port: server.port)
            let before = try Self.occupy(c)
            #expect(try c.call(["DBSIZE"]) == .integer(5))
            let run = try Replay.run([cut, "--to", "redis://127.0.0.1:\(server.port)", "--mode", "commands", "--json"])
            #expect(run.status != 0, "\(s.key): \(run.stdout)")
            for later in starts[i...] {
                #expect(try c.call(["DUMP", later.key]) == before[later.key], "\(later.key) changed by a replay cut inside \(s.key)")
            }
            let zsetIndex = try #require(starts.firstIndex { $0.key == "big:zset" })
            #expect(try c.call(["PEXPIRETIME", "big:zset"]) == .integer(zsetIndex >= i ? 4102444800123 : -1))
            for earlier in starts[..<i] {
                #expect(try c.call(["DUMP", earlier.key]) != before[earlier.key], "\(earlier.key) was not replaced")
            }
            #expect(try c.call(["DBSIZE"]) == .integer(5), "\(s.key): a staging key was left")
        }
    }
}
