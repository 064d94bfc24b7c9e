import Foundation
import RedisFormats
import Synchronization
import Testing
import _RedisFormatsTestSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// `rdbkit replay --mode sync`, and replays that lose their connection: the target killed and restarted
// (then `--resume`), and a proxy that cuts the connection (then in-process retries). Real servers on
// loopback, the built rdbkit executable; the keyspace is compared exactly with the source.

/// Sources for the fault tests.
enum FaultSources {
    /// An RDB of `keys` keys written by a real redis-server 7.0 (`DEBUG POPULATE` plus a few collections).
    static func rdb(_ tmp: ScratchDirectory, keys: Int) throws -> String {
        let server = try LiveServer(
            .redis70, directory: tmp("source"),
            arguments: ["--appendonly", "no", "--dbfilename", "dump.rdb", "--enable-debug-command", "local"])
        defer { server.stop() }
        let c = try LiveConnection(port: server.port)
        _ = try c.call(["DEBUG", "POPULATE", "\(keys)", "key", "64"])
        for i in 0..<200 {
            _ = try c.call(["RPUSH", "list:\(i)"] + (0..<50).map { "item-\($0)" })
            _ = try c.call(["HSET", "hash:\(i)"] + (0..<20).flatMap { ["f\($0)", "value-\(i)-\($0)"] })
        }
        _ = try c.call(["SELECT", "3"])
        _ = try c.call(["DEBUG", "POPULATE", "1000", "db3", "16"])
        _ = try c.call(["SAVE"])
        return tmp("source/dump.rdb")
    }

    static func command(_ argv: String...) -> [UInt8] {
        var out: [UInt8] = []
        RecordCommands.resp(argv.map { RedisBytes($0) }, into: &out)
        return out
    }

    /// An AOF of INCR, INCRBY and MULTI blocks over 100 counters in two databases, and the values they end with.
    static func incrAOF(_ path: String, commands: Int) throws -> [UInt64: [String: Int]] {
        var expected: [UInt64: [String: Int]] = [:]
        var aof: [UInt8] = []
        var db: UInt64 = 0
        var g = SystemRandomNumberGenerator()
        var i = 0
        while i < commands {
            if i % 5000 == 0 {
                db = db == 0 ? 1 : 0
                aof += command("SELECT", "\(db)")
            }
            let key = "counter:\(g.next() % 100)"
            switch i % 10 {
            case 7:
                aof += command("INCRBY", key, "5")
                expected[db, default: [:]][key, default: 0] += 5
            case 9:
                aof += command("MULTI") + command("INCR", key) + command("INCR", "counter:tx") + command("EXEC")
                expected[db, default: [:]][key, default: 0] += 1
                expected[db, default: [:]]["counter:tx", default: 0] += 1
            default:
                aof += command("INCR", key)
                expected[db, default: [:]][key, default: 0] += 1
            }
            i += 1
        }
        try Data(aof).write(to: URL(fileURLWithPath: path))
        return expected
    }

    /// Every counter on the server equals the expected value, and nothing else is there (the marker is gone).
    static func expectCounters(_ server: LiveServer, _ expected: [UInt64: [String: Int]], _ what: String) throws {
        let c = try LiveConnection(port: server.port)
        var wrong: [String] = []
        for (db, counters) in expected {
            _ = try c.call(["SELECT", "\(db)"])
            for (key, value) in counters {
                let got = try c.call(["GET", key])
                if got != .bulk(Array(String(value).utf8)) { wrong.append("db \(db) \(key): \(got), expected \(value)") }
            }
        }
        #expect(wrong.count == 0, "\(what): \(wrong.count) counters differ: \(wrong.prefix(5))")
        let sizes = try server.dbsize()
        #expect(sizes == expected.mapValues(\.count), "\(what): keys per db \(sizes) (a marker left behind?)")
    }
}

/// `rdbkit replay` as a child process that the test can watch while it runs.
final class RunningReplay {
    let process = Process()
    let tmp: ScratchDirectory

    init(_ arguments: [String]) throws {
        let exe = try #require(CLITests.executable, "the rdbkit executable was not found")
        tmp = try ScratchDirectory("replay-running")
        FileManager.default.createFile(atPath: tmp("out"), contents: nil)
        FileManager.default.createFile(atPath: tmp("err"), contents: nil)
        process.executableURL = exe
        process.arguments = ["replay"] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp("out")))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp("err")))
        try process.run()
    }

    func wait() -> (status: Int32, stderr: String) {
        process.waitUntilExit()
        defer { tmp.remove() }
        return (process.terminationStatus, String(decoding: FileManager.default.contents(atPath: tmp("err")) ?? Data(), as: UTF8.self))
    }
}

/// Waits until `condition` holds (polling every 20 ms), at most `seconds`.
func waitUntil(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(20_000)
    }
    return false
}

/// A loopback TCP proxy that cuts the first `cuts` connections to carry `bytes` bytes from the client at
/// that byte, and forwards everything else whole (a replay's small control connection is never the one
/// cut: its bulk connection is).
final class CuttingProxy: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let upstream: UInt16
    private let state = Mutex((connections: 0, cutsLeft: 0, bytes: 0, stopped: false))

    init(to upstream: UInt16, cuts: Int, afterBytes bytes: Int) throws {
        self.upstream = upstream
        state.withLock { $0.cutsLeft = cuts; $0.bytes = bytes }
        port = try LiveServer.freePort()
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = Self.loopback(port)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw LiveServer.Failure(description: "proxy: cannot listen") }
        let t = Thread { [self] in acceptLoop() }
        t.start()
    }

    var connections: Int { state.withLock { $0.connections } }

    func stop() {
        state.withLock { $0.stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    static func loopback(_ port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return addr
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if state.withLock({ $0.stopped }) { return }
                continue
            }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = Self.loopback(upstream)
            let r = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard r == 0 else {
                close(client)
                close(server)
                continue
            }
            let limit: Int? = state.withLock {
                $0.connections += 1
                return $0.cutsLeft > 0 ? $0.bytes : nil
            }
            let pair = SocketPair(client: client, server: server)
            Thread { [self] in pair.pump(from: client, to: server, limit: limit, takeCut: takeCut) }.start()
            Thread { pair.pump(from: server, to: client, limit: nil, takeCut: { false }) }.start()
        }
    }

    /// Whether a connection that reached the byte count is cut (one of the first `cuts` to get there).
    private func takeCut() -> Bool {
        state.withLock {
            guard $0.cutsLeft > 0 else { return false }
            $0.cutsLeft -= 1
            return true
        }
    }

    /// Both ends of one proxied connection; closed once, by whichever direction ends first.
    final class SocketPair: @unchecked Sendable {
        let client: Int32
        let server: Int32
        private let closed = Mutex(false)
        init(client: Int32, server: Int32) {
            self.client = client
            self.server = server
        }

        func pump(from: Int32, to: Int32, limit: Int?, takeCut: () -> Bool) {
            var limit = limit
            var buffer = [UInt8](repeating: 0, count: 16384)
            var forwarded = 0
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(from, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                var count = n
                if let l = limit, forwarded + n >= l {
                    if takeCut() { count = l - forwarded } else { limit = nil }
                }
                var sent = 0
                while sent < count {
                    let w = buffer.withUnsafeBytes { send(to, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
                    if w <= 0 { break }
                    sent += w
                }
                forwarded += count
                if let limit, forwarded >= limit { break }  // the cut: mid-command, most likely
            }
            let first = closed.withLock { c in
                defer { c = true }
                return !c
            }
            if first {
                shutdown(client, Int32(SHUT_RDWR))
                shutdown(server, Int32(SHUT_RDWR))
                close(client)
                close(server)
            }
        }
    }
}

@Suite("rdbkit replay: lost connections, restarts, --retries and --resume", .serialized)
struct ReplayFaultTests {
    static let durable = ["--appendonly", "yes", "--appendfsync", "always", "--dbfilename", "dump.rdb"]

    @Test(
        "an RDB replay whose target is killed mid-run resumes with --resume after the restart: exact keyspace",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func rdbKilledTarget() throws {
        let tmp = try ScratchDirectory("replay-kill-rdb")
        defer { tmp.remove() }
        let input = try FaultSources.rdb(tmp, keys: 150_000)
        let source = try RDBSnapshot(path: input)
        var server = try LiveServer(.redis70, directory: tmp("target"), arguments: Self.durable)
        let arguments = [input, "--checkpoint", tmp("cp.json"), "--pipeline", "256", "--retries", "0", "--json"]
        let first = try RunningReplay(arguments + ["--to", "redis://127.0.0.1:\(server.port)"])
        let reached = try waitUntil(120) { (try server.dbsize()[0] ?? 0) >= 20_000 }
        server.stop()
        let cut = first.wait()
        #expect(reached, "the replay never got to 20000 keys")
        #expect(cut.status == 8, "a killed target is a lost connection (exit 8): \(cut.status) \(cut.stderr)")
        let checkpoint = try #require(FileManager.default.contents(atPath: tmp("cp.json")))
        #expect(String(decoding: checkpoint, as: UTF8.self).contains("\"complete\":false"))

        server = try LiveServer(.redis70, directory: tmp("target"), arguments: Self.durable)
        defer { server.stop() }
        let kept = try server.dbsize()[0] ?? 0
        #expect(kept > 0 && kept < source.keys.count, "the restarted server reloads what it acknowledged: \(kept)")
        let second = try Replay.run(arguments + ["--to", "redis://127.0.0.1:\(server.port)", "--resume"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.count("keys_written") < source.keys.count, "the resume sent only the rest: \(second.stdout)")
        try Replay.expectSameKeyspace(server, as: source, consumerTimesFromClock: false, "killed and resumed")
    }

    @Test(
        "an AOF replay of INCRs whose target is killed mid-run resumes with --resume: every counter exact",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func aofKilledTarget() throws {
        let tmp = try ScratchDirectory("replay-kill-aof")
        defer { tmp.remove() }
        let expected = try FaultSources.incrAOF(tmp("incr.aof"), commands: 300_000)
        var server = try LiveServer(.redis70, directory: tmp("target"), arguments: Self.durable)
        let arguments = [tmp("incr.aof"), "--checkpoint", tmp("cp.json"), "--pipeline", "256", "--retries", "0", "--json"]
        let first = try RunningReplay(arguments + ["--to", "redis://127.0.0.1:\(server.port)"])
        let c = try LiveConnection(port: server.port)
        let reached = try waitUntil(120) {
            guard case .bulk(let info?) = try c.call(["INFO", "stats"]) else { return false }
            let line = String(decoding: info, as: UTF8.self).split(whereSeparator: \.isNewline)
                .first { $0.hasPrefix("total_commands_processed:") }
            return (line.flatMap { Int($0.split(separator: ":")[1]) } ?? 0) >= 40_000
        }
        server.stop()
        let cut = first.wait()
        #expect(reached, "the replay never got to 40000 commands")
        #expect(cut.status == 8, "\(cut.status) \(cut.stderr)")

        server = try LiveServer(.redis70, directory: tmp("target"), arguments: Self.durable)
        defer { server.stop() }
        let second = try Replay.run(arguments + ["--to", "redis://127.0.0.1:\(server.port)", "--resume"])
        #expect(second.status == 0, "\(second.stderr)")
        try FaultSources.expectCounters(server, expected, "killed and resumed")
    }

    @Test(
        "an AOF replay of INCRs killed itself (SIGKILL) mid-run resumes with --resume: every counter exact",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func aofKilledReplay() throws {
        // The checkpoint is written about once a second, so it lags what the server applied: without the
        // marker, --resume would apply up to a second of INCRs twice.
        let tmp = try ScratchDirectory("replay-kill-self")
        defer { tmp.remove() }
        let expected = try FaultSources.incrAOF(tmp("incr.aof"), commands: 300_000)
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let arguments = [tmp("incr.aof"), "--to", "redis://127.0.0.1:\(server.port)", "--checkpoint", tmp("cp.json"), "--json"]
        let first = try RunningReplay(arguments)
        let reached = try waitUntil(120) {
            guard FileManager.default.fileExists(atPath: tmp("cp.json")) else { return false }
            return (try server.dbsize()[1] ?? 0) > 0
        }
        usleep(700_000)
        kill(first.process.processIdentifier, SIGKILL)
        let killed = first.wait()
        #expect(reached, "the replay never wrote a checkpoint")
        #expect(first.process.terminationReason == .uncaughtSignal, "killed before the end: \(killed.status) \(killed.stderr)")
        let second = try Replay.run(arguments + ["--resume"])
        #expect(second.status == 0, "\(second.stderr)")
        try FaultSources.expectCounters(server, expected, "rdbkit killed and resumed")
    }

    @Test(
        "an RDB replay through a proxy that cuts the connection twice retries and ends with the exact keyspace",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func rdbThroughCuttingProxy() throws {
        let tmp = try ScratchDirectory("replay-proxy-rdb")
        defer { tmp.remove() }
        let input = try FaultSources.rdb(tmp, keys: 30_000)
        let source = try RDBSnapshot(path: input)
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let proxy = try CuttingProxy(to: server.port, cuts: 2, afterBytes: 700_000)
        defer { proxy.stop() }
        let run = try Replay.run([input, "--to", "redis://127.0.0.1:\(proxy.port)", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("reconnecting"), "\(run.stderr)")
        #expect(proxy.connections >= 3, "two cuts, then a whole connection: \(proxy.connections)")
        #expect(run.count("keys_written") >= source.keys.count, "\(run.stdout)")
        try Replay.expectSameKeyspace(server, as: source, consumerTimesFromClock: false, "through a cutting proxy")
    }

    @Test(
        "commands mode over a target holding the keys, cut twice inside values of several MB: the retry ends exact, no staging key left",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func stagedValuesThroughCuttingProxy() throws {
        let tmp = try ScratchDirectory("replay-proxy-staged")
        defer { tmp.remove() }
        let input = try ReplayBigValueTests.makeSource(tmp)
        let source = try RDBSnapshot(path: input)
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        _ = try ReplayBigValueTests.occupy(LiveConnection(port: server.port))
        // Each big value is about 1.8 MB of commands: 2.5 MB cuts inside the second one sent.
        let proxy = try CuttingProxy(to: server.port, cuts: 2, afterBytes: 2_500_000)
        defer { proxy.stop() }
        let run = try Replay.run([input, "--to", "redis://127.0.0.1:\(proxy.port)", "--mode", "commands", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("reconnecting"), "\(run.stderr)")
        try Replay.expectSameKeyspace(server, as: source, consumerTimesFromClock: false, "staged values through a cutting proxy")
        #expect(try LiveConnection(port: server.port).call(["DBSIZE"]) == .integer(5))
    }

    @Test(
        "an AOF replay of INCRs through a proxy that cuts the connection twice retries: every counter exact",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func aofThroughCuttingProxy() throws {
        let tmp = try ScratchDirectory("replay-proxy-aof")
        defer { tmp.remove() }
        let expected = try FaultSources.incrAOF(tmp("incr.aof"), commands: 60_000)
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let proxy = try CuttingProxy(to: server.port, cuts: 2, afterBytes: 400_000)
        defer { proxy.stop() }
        let run = try Replay.run([tmp("incr.aof"), "--to", "redis://127.0.0.1:\(proxy.port)", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("reconnecting"), "\(run.stderr)")
        #expect(proxy.connections >= 3, "\(proxy.connections)")
        try FaultSources.expectCounters(server, expected, "through a cutting proxy")
    }

    @Test(
        "without retries a cut connection stops the replay (exit 8) and --resume finishes it exactly",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func aofCutThenResume() throws {
        let tmp = try ScratchDirectory("replay-proxy-resume")
        defer { tmp.remove() }
        let expected = try FaultSources.incrAOF(tmp("incr.aof"), commands: 30_000)
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let proxy = try CuttingProxy(to: server.port, cuts: 1, afterBytes: 300_000)
        defer { proxy.stop() }
        let arguments = [tmp("incr.aof"), "--to", "redis://127.0.0.1:\(proxy.port)", "--checkpoint", tmp("cp.json"), "--json"]
        let first = try Replay.run(arguments + ["--retries", "0"])
        #expect(first.status == 8, "\(first.stderr)")
        let second = try Replay.run(arguments + ["--resume"])
        #expect(second.status == 0, "\(second.stderr)")
        try FaultSources.expectCounters(server, expected, "cut, then --resume")
    }
}

@Suite("rdbkit replay --mode sync", .serialized)
struct ReplaySyncTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var server: LiveServerKind
        var file: String
        var testDescription: String { "\(file) into \(server)" }
    }

    static let cases: [Case] = [
        Case(server: .redis70, file: "redis-7.0.15/rdb/all-types.rdb"),
        Case(server: .redis70, file: "redis-7.0.15/rdb/functions.rdb"),
        Case(server: .redis70, file: "redis-7.0.15/rdb/big.rdb"),
        Case(server: .redis70, file: "redis-6.2/rdb/all-types.rdb"),
        Case(server: .redis70, file: "redis-stack-7.4/rdb/all-types.rdb"),
        Case(server: .valkey91, file: "valkey-9.1/rdb/all-types.rdb"),
        Case(server: .valkey91, file: "redis-7.0.15/rdb/all-types.rdb"),
        Case(server: .redis62, file: "redis-6.2/rdb/all-types.rdb"),
    ]

    @Test("--mode sync loads an RDB into an empty server as its replica: the same keyspace", arguments: cases)
    func sync(c: Case) throws {
        guard c.server.isInstalled else {
            print("skipped: \(LiveServerKind.missing(c.server))")
            return
        }
        let input = Corpus.fixture(c.file)
        let source = try RDBSnapshot(path: input)
        let tmp = try ScratchDirectory("replay-sync")
        defer { tmp.remove() }
        let server = try Replay.server(c.server, tmp)
        defer { server.stop() }
        func disklessLoad() throws -> String {
            let c = try LiveConnection(port: server.port)
            guard case .array(let setting?) = try c.call(["CONFIG", "GET", "repl-diskless-load"]), setting.count == 2,
                case .bulk(let value?) = setting[1]
            else { throw LiveServer.Failure(description: "CONFIG GET repl-diskless-load") }
            return String(decoding: value, as: UTF8.self)
        }
        let settingBefore = try disklessLoad()
        let run = try Replay.run([input, "--to", "redis://127.0.0.1:\(server.port)", "--mode", "sync", "--json"])
        #expect(run.status == 0, "\(c): exit \(run.status): \(run.stderr)")
        #expect(run.count("keys_written") == source.keys.count, "\(c): \(run.stdout)")
        #expect(run.summary["mode"] as? String == "sync")
        let c2 = try LiveConnection(port: server.port)
        guard case .bulk(let info?) = try c2.call(["INFO", "replication"]) else { throw LiveServer.Failure(description: "INFO") }
        #expect(String(decoding: info, as: UTF8.self).contains("role:master"), "the target is a master again")
        // The empty target loaded from the socket (repl-diskless-load), and its setting is back as it was.
        let log = String(decoding: FileManager.default.contents(atPath: "\(server.directory)/server.log") ?? Data(), as: UTF8.self)
        #expect(log.contains("EOF to parser"), "\(c): the replica parsed the stream as it arrived")
        #expect(try disklessLoad() == settingBefore, "\(c): repl-diskless-load as it was")
        try Replay.expectSameKeyspace(server, as: source, consumerTimesFromClock: false, "\(c)")
    }

    @Test(
        "--mode sync refuses a target that holds keys unless --yes, then replaces its data set",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func refusesNonEmpty() throws {
        let input = Corpus.fixture("redis-7.0.15/rdb/all-types.rdb")
        let source = try RDBSnapshot(path: input)
        let tmp = try ScratchDirectory("replay-sync-busy")
        defer { tmp.remove() }
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let c = try LiveConnection(port: server.port)
        _ = try c.call(["SELECT", "5"])
        _ = try c.call(["SET", "already-here", "1"])
        let arguments = [input, "--to", "redis://127.0.0.1:\(server.port)", "--mode", "sync", "--json"]
        let refused = try Replay.run(arguments)
        #expect(refused.status == 64, "\(refused.stderr)")
        #expect(refused.stderr.contains("--yes"), "\(refused.stderr)")
        #expect(try server.dbsize() == [5: 1], "nothing changed")
        let forced = try Replay.run(arguments + ["--yes"])
        #expect(forced.status == 0, "\(forced.stderr)")
        // A target that held keys keeps its setting: it saves the transfer to disk, then loads it.
        let log = String(decoding: FileManager.default.contents(atPath: "\(server.directory)/server.log") ?? Data(), as: UTF8.self)
        #expect(log.contains("EOF to disk") && !log.contains("EOF to parser"), "\(log.suffix(2000))")
        try Replay.expectSameKeyspace(server, as: source, consumerTimesFromClock: false, "sync with --yes")
        #expect(try server.dbsize() == source.dbsize, "the old key is gone: the data set was replaced")
    }

    @Test(
        "--mode sync applies --db and --db-map through the RDB it streams",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func filters() throws {
        let tmp = try ScratchDirectory("replay-sync-filter")
        defer { tmp.remove() }
        let input = try FaultSources.rdb(tmp, keys: 2000)
        let source = try RDBSnapshot(path: input)
        let server = try Replay.server(.redis70, tmp)
        defer { server.stop() }
        let run = try Replay.run([input, "--to", "redis://127.0.0.1:\(server.port)", "--mode", "sync", "--db", "3", "--db-map", "3:7", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try server.dbsize() == [7: source.dbsize[3] ?? -1])
    }
}
