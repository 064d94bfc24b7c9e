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
// Debian's redis-server 7.0 (on PATH) is the one CI has; the others (../servers/bin) are used when present.

/// A server binary a test can start, and the rdbkit target that matches it.
struct LiveServerKind: Sendable, CustomStringConvertible {
    var name: String
    var executable: String?
    var environment: [String: String] = [:]
    var target: String
    /// The server's own redis-check-rdb (or valkey-check-rdb).
    var checkTool: String? = nil

    var isInstalled: Bool { executable.map { FileManager.default.isExecutableFile(atPath: $0) } ?? false }
    var description: String { name }

    /// `../servers/bin` next to the package (installed by ../shared/tools/setup_servers.sh).
    static let serversDirectory = Corpus.packageRoot.deletingLastPathComponent().appendingPathComponent("servers/bin")
        .path

    static func onPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// Debian's redis-server on PATH (7.0 on these machines).
    static let redis70 = LiveServerKind(
        name: "redis-server 7.0 (PATH)", executable: onPath("redis-server"), target: "redis-7.0",
        checkTool: onPath("redis-check-rdb"))
    static let redis60 = LiveServerKind(
        name: "redis 6.0.9", executable: "\(serversDirectory)/redis-6.0.9/redis-server", target: "redis-6.0",
        checkTool: "\(serversDirectory)/redis-6.0.9/redis-check-rdb")
    static let redis62 = LiveServerKind(
        name: "redis 6.2", executable: "\(serversDirectory)/redis-6.2/redis-server", target: "redis-6.2",
        checkTool: "\(serversDirectory)/redis-6.2/redis-check-rdb")
    static let stack74 = LiveServerKind(
        name: "redis-stack 7.4", executable: "\(serversDirectory)/redis-stack-7.4/redis-server",
        environment: ["LD_LIBRARY_PATH": "\(serversDirectory)/ssl11"], target: "redis-7.4",
        checkTool: "\(serversDirectory)/redis-stack-7.4/redis-check-rdb")
    static let valkey91 = LiveServerKind(
        name: "valkey 9.1", executable: "\(serversDirectory)/valkey-9.1/valkey-server", target: "valkey-9.1",
        checkTool: "\(serversDirectory)/valkey-9.1/valkey-check-rdb")

    static func missing(_ k: LiveServerKind) -> Comment {
        "\(k.executable ?? k.name) is not installed (../shared/tools/setup_servers.sh)"
    }
}

/// A server process started by a test; `stop()` kills it (SIGKILL) and waits.
final class LiveServer {
    let process = Process()
    let port: UInt16
    let directory: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts `kind` in `directory` (created) with `arguments` after the common ones, and waits until it answers
    /// PING (that is, until it has loaded its data).
    init(_ kind: LiveServerKind, directory: String, arguments: [String]) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try Self.freePort()
        process.executableURL = URL(fileURLWithPath: try #require(kind.executable))
        process.arguments =
            [
                "--port", "\(port)", "--bind", "127.0.0.1", "--protected-mode", "yes", "--daemonize", "no", "--save",
                "",
                "--dir", directory, "--logfile", "\(directory)/server.log", "--databases", "16",
            ] + arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(kind.environment) { $1 }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if !process.isRunning {
                throw Failure(description: "\(kind) exited with \(process.terminationStatus) while starting: \(log())")
            }
            if let c = try? LiveConnection(port: port), case .simple("PONG")? = try? c.call(["PING"]) { return }
            usleep(50_000)
        }
        stop()
        throw Failure(description: "\(kind) did not answer PING within 60 s: \(log())")
    }

    func log() -> String {
        let data = FileManager.default.contents(atPath: "\(directory)/server.log") ?? Data()
        return String(decoding: data.suffix(3000), as: UTF8.self)
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A loopback port nobody listens on now.
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw Failure(description: "bind() failed") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else { throw Failure(description: "getsockname() failed") }
        return UInt16(bigEndian: addr.sin_port)
    }

    /// `INFO keyspace` as keys per database.
    func dbsize() throws -> [UInt64: Int] {
        let c = try LiveConnection(port: port)
        guard case .bulk(let info?) = try c.call(["INFO", "keyspace"]) else {
            throw Failure(description: "INFO keyspace failed")
        }
        var out: [UInt64: Int] = [:]
        for line in String(decoding: info, as: UTF8.self).split(whereSeparator: \.isNewline) where line.hasPrefix("db")
        {
            let parts = line.dropFirst(2).split(separator: ":")
            guard parts.count == 2, let db = UInt64(parts[0]),
                let keys = parts[1].split(separator: ",").first(where: { $0.hasPrefix("keys=") }).flatMap({
                    Int($0.dropFirst(5))
                })
            else { continue }
            out[db] = keys
        }
        return out
    }

    /// SAVE, then the server's own RDB (`dump.rdb` in its directory) read back.
    func saveAndRead(dbfilename: String = "dump.rdb") throws -> RDBSnapshot {
        let c = try LiveConnection(port: port)
        let reply = try c.call(["SAVE"])
        guard case .simple("OK") = reply else { throw Failure(description: "SAVE: \(reply)") }
        return try RDBSnapshot(path: "\(directory)/\(dbfilename)")
    }
}

/// A blocking RESP2 connection to 127.0.0.1.
final class LiveConnection {
    indirect enum Reply: Equatable, CustomStringConvertible {
        case simple(String)
        case error(String)
        case integer(Int64)
        case bulk([UInt8]?)
        case array([Reply]?)

        var description: String {
            switch self {
            case .simple(let s): "+\(s)"
            case .error(let s): "-\(s)"
            case .integer(let i): ":\(i)"
            case .bulk(let b): b.map { RedisBytes($0).escapedDescription } ?? "(nil)"
            case .array(let a): a.map { "[" + $0.map(\.description).joined(separator: ", ") + "]" } ?? "(nil array)"
            }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// -1 once closed: a throwing init still runs deinit, which must not close a reused descriptor.
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var position = 0

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard r == 0 else {
            close(fd)
            fd = -1
            throw Failure(description: "connect() to 127.0.0.1:\(port) failed")
        }
        var tv = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { if fd >= 0 { close(fd) } }

    func call(_ args: [String]) throws -> Reply { try call(args.map { RedisBytes($0) }) }

    func call(_ args: [RedisBytes]) throws -> Reply {
        var bytes: [UInt8] = []
        RecordCommands.resp(args, into: &bytes)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, 0) }
            guard n > 0 else { throw Failure(description: "send() failed") }
            sent += n
        }
        return try reply()
    }

    private func fill() throws {
        if position > 0 {
            buffer.removeFirst(position)
            position = 0
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw Failure(description: "connection closed or timed out") }
        buffer += chunk[0..<n]
    }

    private func line() throws -> [UInt8] {
        while true {
            if let i = buffer[position...].firstIndex(of: 0x0A), i > position, buffer[i - 1] == 0x0D {
                let l = Array(buffer[position..<(i - 1)])
                position = i + 1
                return l
            }
            try fill()
        }
    }

    private func reply() throws -> Reply {
        let l = try line()
        guard let kind = l.first else { throw Failure(description: "empty reply line") }
        let rest = String(decoding: l.dropFirst(), as: UTF8.self)
        switch kind {
        case UInt8(ascii: "+"): return .simple(rest)
        case UInt8(ascii: "-"): return .error(rest)
        case UInt8(ascii: ":"): return .integer(Int64(rest) ?? 0)
        case UInt8(ascii: "$"):
            guard let n = Int(rest), n >= 0 else { return .bulk(nil) }
            while buffer.count - position < n + 2 { try fill() }
            let b = Array(buffer[position..<(position + n)])
            position += n + 2
            return .bulk(b)
        case UInt8(ascii: "*"):
            guard let n = Int(rest), n >= 0 else { return .array(nil) }
            var items: [Reply] = []
            for _ in 0..<n { items.append(try reply()) }
            return .array(items)
        default:
            throw Failure(description: "unexpected reply \(rest)")
        }
    }
}

/// A temporary directory removed at the end of a test.
struct ScratchDirectory {
    let path: String
    init(_ label: String) throws {
        path =
            FileManager.default.temporaryDirectory.appendingPathComponent("rdbkit-\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func callAsFunction(_ relative: String) -> String { "\(path)/\(relative)" }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

func currentMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

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
