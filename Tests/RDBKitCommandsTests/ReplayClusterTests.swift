import Foundation
import RedisClient
import RedisFormats
import Testing
import _RedisFormatsTestSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// `rdbkit replay` into a real Redis Cluster (3 masters, 3 replicas of Debian's redis-server 7.0 on 127.0.0.1),
// while the test moves slots between masters (`redis-cli --cluster reshard`: MIGRATING/IMPORTING and
// MIGRATE) and fails a master over to its replica (`CLUSTER FAILOVER`). What the cluster holds is read back
// through the masters themselves (SAVE, then their RDBs merged) and compared with the source exactly: a key
// missing is a loss, a key on two masters or a counter past its count is a double.

/// A replay run in the background, so the test can change the cluster while it runs.
final class BackgroundReplay {
    let process = Process()
    let scratch: ScratchDirectory

    init(_ arguments: [String]) throws {
        let exe = try #require(CLITests.executable, "the rdbkit executable was not found")
        scratch = try ScratchDirectory("replay-bg")
        FileManager.default.createFile(atPath: scratch("out"), contents: nil)
        FileManager.default.createFile(atPath: scratch("err"), contents: nil)
        process.executableURL = exe
        process.arguments = ["replay"] + arguments
        var env = ProcessInfo.processInfo.environment
        env["REDISCLI_AUTH"] = nil
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch("out")))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch("err")))
        try process.run()
    }

    func wait() -> Replay.Run {
        process.waitUntilExit()
        defer { scratch.remove() }
        return Replay.Run(
            status: process.terminationStatus,
            stdout: String(decoding: FileManager.default.contents(atPath: scratch("out")) ?? Data(), as: UTF8.self),
            stderr: String(decoding: FileManager.default.contents(atPath: scratch("err")) ?? Data(), as: UTF8.self))
    }

    /// Kills a replay left running by a failed test.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// Slows a running process down to about a quarter of its speed (SIGSTOP 15 ms, SIGCONT 5 ms, over and
/// over), so a replay of a few seconds is still running while the test reshards and fails over; the replay
/// itself is unchanged (it only sees a slow machine).
final class Throttle: @unchecked Sendable {
    private let lock = NSLock()
    private var on = true
    private let done = DispatchSemaphore(value: 0)
    let pid: pid_t

    init(_ pid: pid_t) {
        self.pid = pid
        let thread = Thread { [self] in
            while self.isOn {
                kill(pid, SIGSTOP)
                usleep(15_000)
                kill(pid, SIGCONT)
                usleep(5_000)
            }
            self.done.signal()
        }
        thread.start()
    }

    private var isOn: Bool {
        lock.lock()
        defer { lock.unlock() }
        return on
    }

    func stop() {
        lock.lock()
        let was = on
        on = false
        lock.unlock()
        if was { done.wait() }
        kill(pid, SIGCONT)
    }
}

enum ClusterReplayFixtures {
    /// One RESP command.
    static func command(_ argv: String...) -> [UInt8] {
        var out: [UInt8] = []
        RecordCommands.resp(argv.map { RedisBytes($0) }, into: &out)
        return out
    }

    /// An AOF of non-idempotent commands over many slots: `rounds` rounds of INCR on `counters` counters and
    /// RPUSH on as many lists, a MULTI … EXEC of INCRs on one hash tag, an MSET and a DEL across slots, a SET
    /// with PEXPIREAT. Replayed exactly, counter i is `rounds`, list i is 0…rounds-1.
    static func counterAOF(rounds: Int, counters: Int) -> [UInt8] {
        var aof: [UInt8] = []
        let expiry = String(currentMilliseconds() + 3_600_000)
        for r in 0..<rounds {
            for i in 0..<counters {
                aof += command("INCR", "counter:\(i)")
                aof += command("RPUSH", "list:\(i)", "\(r)")
            }
            aof += command("MULTI") + command("INCR", "{tx}:a") + command("INCRBY", "{tx}:b", "2") + command("EXEC")
            aof += command("MSET", "mset:\(r):a", "\(r)", "mset:\(r):b", "\(r)", "mset:\(r):c", "\(r)")
            if r > 0 { aof += command("DEL", "mset:\(r - 1):a", "mset:\(r - 1):b", "mset:\(r - 1):c") }
            aof += command("SET", "expiring:\(r % 50)", "\(r)") + command("PEXPIREAT", "expiring:\(r % 50)", expiry)
        }
        return aof
    }

    /// The keyspace a standalone redis-server 7.0 holds after loading `aof` itself (the reference).
    static func reference(_ aof: String, _ tmp: ScratchDirectory) throws -> RDBSnapshot {
        let dir = tmp("reference")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: aof, toPath: "\(dir)/appendonly.aof")
        let reference = try LiveServer(.redis70, directory: dir, arguments: ["--appendonly", "yes", "--dbfilename", "dump.rdb"])
        defer { reference.stop() }
        return try reference.saveAndRead()
    }

    /// The cluster's keyspace equals `source` exactly (no key lost, none on two masters, values and expiries).
    ///
    /// `migrated`: slots whose keys `MIGRATE` moved. MIGRATE carries a TTL relative to the source node's clock
    /// and the target adds it to its own, so there an expiry may come out a few milliseconds off: that drift
    /// (at most 100 ms) is taken out before comparing, and only for keys of those slots.
    static func expectSameKeyspace(
        _ cluster: LiveCluster, as source: RDBSnapshot, consumerTimesFromClock: Bool, migrated: Set<Int> = [], _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var held = try cluster.keyspace()
        for (k, kv) in held.keys {
            guard let got = kv.header.expiresAt, let want = source.keys[k]?.header.expiresAt, got != want,
                abs(got.milliseconds - want.milliseconds) <= 100, migrated.contains(ClusterSlot.slot(of: RedisBytes(k.key)))
            else { continue }
            held.keys[k]?.header.expiresAt = want
        }
        var c = ContentComparison()
        c.comparesEvictionHints = false
        c.ignoresConsumerTimes = consumerTimesFromClock
        c.compare(source: source, written: held)
        #expect(
            c.problems.isEmpty, "\(what): \(c.problems.count) differences:\n\(c.problems.prefix(10).joined(separator: "\n"))",
            sourceLocation: sourceLocation)
    }

    /// Waits until the masters hold at least `keys` keys or the replay ends.
    static func waitForProgress(_ cluster: LiveCluster, keys: Int, _ replay: BackgroundReplay) throws {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, replay.process.isRunning {
            if try cluster.keyCount() >= keys { return }
            usleep(20_000)
        }
    }

    /// While `replay` runs: moves 1500 slots from the first master to the second, then fails the third master
    /// over to its replica. Returns whether the replay was still running when both were done, and the slots
    /// that moved.
    static func disturb(_ cluster: LiveCluster, _ replay: BackgroundReplay) throws -> (running: Bool, moved: Set<Int>) {
        let throttle = Throttle(replay.process.processIdentifier)
        defer { throttle.stop() }
        let masters = try cluster.masters().sorted { $0.port < $1.port }
        try #require(masters.count == 3, "\(masters)")
        try cluster.reshard(from: masters[0], to: masters[1], count: 1500)
        let moved = masters[0].slotSet.intersection(try #require(try cluster.masters().first { $0.id == masters[1].id }).slotSet)
        #expect(moved.count == 1500)
        try cluster.failover(masters[2])
        let running = replay.process.isRunning
        throttle.stop()
        try cluster.waitUntilHealthy()
        return (running, moved)
    }
}

@Suite("rdbkit replay into a Redis Cluster", .serialized)
struct ReplayClusterTests {
    static let big = "redis-7.0.15/rdb/big.rdb"

    @Test(
        "an RDB replayed into a 3-master cluster while slots move and a master fails over gives the exact keyspace",
        .enabled(if: LiveCluster.isAvailable, "redis-server or redis-cli is not installed"), arguments: ["restore", "commands"])
    func rdbUnderReshardAndFailover(mode: String) throws {
        let input = Corpus.fixture(Self.big)
        var source = try RDBSnapshot(path: input)
        // A cluster has db 0 only: the db 0 keys of the file.
        source.keys = source.keys.filter { $0.key.db == 0 }
        source.keyOrder = source.keyOrder.filter { $0.db == 0 }
        #expect(source.keys.count > 20_000)
        let cluster = try LiveCluster("replay-cluster-rdb")
        defer { cluster.stop() }
        let seed = try #require(try cluster.nodes().first { !$0.isMaster }, "a replica as the node given")
        let replay = try BackgroundReplay([
            input, "--to", "redis://127.0.0.1:\(seed.port)", "--db", "0", "--mode", mode, "--pipeline", "4", "--json",
        ])
        defer { replay.stop() }
        try ClusterReplayFixtures.waitForProgress(cluster, keys: 1000, replay)
        let (disturbedWhileRunning, moved) = try ClusterReplayFixtures.disturb(cluster, replay)
        let run = replay.wait()
        #expect(disturbedWhileRunning, "the replay ended before the reshard and the failover were done: \(run.stderr)")
        #expect(run.status == 0, "exit \(run.status): \(run.stderr)")
        #expect(run.count("keys_written") == source.keys.count && run.count("keys_failed") == 0, "\(run.stdout)")
        #expect(run.count("cluster_masters") == 3, "\(run.stdout)")
        #expect(run.count("cluster_moved") > 0, "the moves redirected commands: \(run.stdout)")
        try ClusterReplayFixtures.expectSameKeyspace(
            cluster, as: source, consumerTimesFromClock: mode == "commands", migrated: moved,
            "\(Self.big) --mode \(mode) into a cluster")
    }

    @Test(
        "an AOF of INCR, RPUSH, MULTI, MSET and DEL replayed into a cluster while slots move and a master fails over applies every command once",
        .enabled(if: LiveCluster.isAvailable, "redis-server or redis-cli is not installed"))
    func aofUnderReshardAndFailover() throws {
        let tmp = try ScratchDirectory("replay-cluster-aof")
        defer { tmp.remove() }
        let rounds = 300
        let counters = 60
        try Data(ClusterReplayFixtures.counterAOF(rounds: rounds, counters: counters)).write(to: URL(fileURLWithPath: tmp("c.aof")))
        let expected = try ClusterReplayFixtures.reference(tmp("c.aof"), tmp)
        #expect(expected.keys.count == counters * 2 + 2 + 3 + 50)
        let cluster = try LiveCluster("replay-cluster-aof")
        defer { cluster.stop() }
        let master = try #require(try cluster.masters().first)
        let replay = try BackgroundReplay([tmp("c.aof"), "--to", "redis://127.0.0.1:\(master.port)", "--pipeline", "4", "--json"])
        defer { replay.stop() }
        try ClusterReplayFixtures.waitForProgress(cluster, keys: counters * 2, replay)
        let (disturbedWhileRunning, moved) = try ClusterReplayFixtures.disturb(cluster, replay)
        let run = replay.wait()
        #expect(disturbedWhileRunning, "the replay ended before the reshard and the failover were done: \(run.stderr)")
        #expect(run.status == 0, "exit \(run.status): \(run.stderr)")
        #expect(run.count("commands_failed") == 0 && run.count("cluster_unknown_outcomes") == 0, "\(run.stdout)")
        #expect(run.count("cluster_moved") > 0, "\(run.stdout)")
        try ClusterReplayFixtures.expectSameKeyspace(
            cluster, as: expected, consumerTimesFromClock: false, migrated: moved, "counter AOF into a cluster")
        // Spelled out: nothing lost, nothing doubled.
        let held = try cluster.keyspace()
        for i in 0..<counters {
            let counter = held.keys[CorpusKey(db: 0, key: Array("counter:\(i)".utf8))]?.value
            #expect(counter == .string(RedisBytes("\(rounds)")), "counter:\(i) is \(String(describing: counter))")
            let list = held.keys[CorpusKey(db: 0, key: Array("list:\(i)".utf8))]?.value
            #expect(list == .list((0..<rounds).map { RedisBytes("\($0)") }), "list:\(i) is not 0…\(rounds - 1) once each")
        }
    }

    @Test(
        "a master killed during a RESTORE replay: its replica takes over, the replay resends what was in flight and ends; a second run makes the keyspace exact",
        .enabled(if: LiveCluster.isAvailable, "redis-server or redis-cli is not installed"))
    func masterKilled() throws {
        let input = Corpus.fixture(Self.big)
        var source = try RDBSnapshot(path: input)
        source.keys = source.keys.filter { $0.key.db == 0 }
        source.keyOrder = source.keyOrder.filter { $0.db == 0 }
        let cluster = try LiveCluster("replay-cluster-kill")
        defer { cluster.stop() }
        let masters = try cluster.masters().sorted { $0.port < $1.port }
        let arguments = [input, "--to", "redis://127.0.0.1:\(masters[0].port)", "--db", "0", "--pipeline", "4", "--json"]
        let replay = try BackgroundReplay(arguments)
        defer { replay.stop() }
        try ClusterReplayFixtures.waitForProgress(cluster, keys: 3000, replay)
        let throttle = Throttle(replay.process.processIdentifier)
        let victim = try #require(cluster.server(port: masters[2].port))
        victim.stop()  // SIGKILL
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try cluster.masters().contains(where: { $0.port == victim.port }) { usleep(100_000) }
        let running = replay.process.isRunning
        throttle.stop()
        let run = replay.wait()
        #expect(running, "the replay ended before the replica took over: \(run.stderr)")
        #expect(run.status == 0, "exit \(run.status): \(run.stderr)")
        #expect(run.count("keys_written") == source.keys.count && run.count("keys_failed") == 0, "\(run.stdout)")
        #expect(run.count("cluster_lost_connections") > 0 && run.count("cluster_unknown_outcomes") == 0, "\(run.stdout)")
        #expect(run.stderr.contains("lost the connection to 127.0.0.1:\(victim.port)"), "\(run.stderr)")
        try cluster.waitUntilHealthy()
        // What the dead master acknowledged but had not passed to its replica is gone (asynchronous replication);
        // RESTORE … REPLACE is idempotent, so running the replay again completes the keyspace.
        let held = try cluster.keyspace()
        #expect(held.keys.count <= source.keys.count && held.keyOrder.count == held.keys.count)
        let again = try Replay.run(arguments)
        #expect(again.status == 0, "\(again.stderr)")
        try ClusterReplayFixtures.expectSameKeyspace(cluster, as: source, consumerTimesFromClock: false, "after a master was killed")
    }

    @Test(
        "with --checkpoint, a cluster replay stopped by a failure resumes and applies every command exactly once",
        .enabled(if: LiveCluster.isAvailable, "redis-server or redis-cli is not installed"))
    func checkpointResume() throws {
        let tmp = try ScratchDirectory("replay-cluster-checkpoint")
        defer { tmp.remove() }
        var aof = ClusterReplayFixtures.counterAOF(rounds: 40, counters: 30)
        let failing = Int64(aof.count)
        aof += ClusterReplayFixtures.command("RPUSH", "blocker", "x")
        aof += ClusterReplayFixtures.counterAOF(rounds: 40, counters: 30)
        try Data(aof).write(to: URL(fileURLWithPath: tmp("c.aof")))
        let expected = try ClusterReplayFixtures.reference(tmp("c.aof"), tmp)
        let cluster = try LiveCluster("replay-cluster-checkpoint")
        defer { cluster.stop() }
        let master = try #require(try cluster.masters().first)
        let blockerSlot = ClusterSlot.slot(of: "blocker")
        let owner = try #require(
            try cluster.masters().first { m in
                m.slots.contains { s in
                    let ab = s.split(separator: "-").compactMap { Int($0) }
                    return ab.count == 2 ? (ab[0]...ab[1]).contains(blockerSlot) : ab.first == blockerSlot
                }
            })
        let c = try LiveConnection(port: owner.port)
        #expect(try c.call(["SET", "blocker", "a string"]) == .simple("OK"))
        let arguments = [tmp("c.aof"), "--to", "redis://127.0.0.1:\(master.port)", "--checkpoint", tmp("cp.json"), "--json"]
        let first = try Replay.run(arguments + ["--pipeline", "8"])
        #expect(first.status == 7, "\(first.stderr)")
        #expect(first.stderr.contains("command RPUSH for key \"blocker\" (db 0) at source offset \(failing)"), "\(first.stderr)")
        let cp = try ReplayCheckpointTests.checkpoint(tmp("cp.json"))
        #expect((cp["offset"] as? NSNumber)?.int64Value ?? .max < failing, "\(cp)")

        #expect(try c.call(["DEL", "blocker"]) == .integer(1))
        let second = try Replay.run(arguments + ["--resume"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try ReplayCheckpointTests.checkpoint(tmp("cp.json"))["complete"] as? Bool == true)
        try ClusterReplayFixtures.expectSameKeyspace(cluster, as: expected, consumerTimesFromClock: false, "after --resume")
    }

    @Test(
        "into a cluster: function libraries reach every master, db ≠ 0 needs --db-map, cross-slot MULTI and MSETNX stop with the source offset",
        .enabled(if: LiveCluster.isAvailable, "redis-server or redis-cli is not installed"))
    func functionsDatabasesAndCrossSlot() throws {
        let tmp = try ScratchDirectory("replay-cluster-misc")
        defer { tmp.remove() }
        let cluster = try LiveCluster("replay-cluster-misc")
        defer { cluster.stop() }
        let uri = "redis://127.0.0.1:\(try #require(try cluster.masters().first).port)"

        // Functions: loaded on every master; keys of db 0.
        let functions = Corpus.fixture("redis-7.0.15/rdb/functions.rdb")
        let fsource = try RDBSnapshot(path: functions)
        let f = try Replay.run([functions, "--to", uri, "--json"])
        #expect(f.status == 0 && f.count("functions_loaded") == fsource.functions.count, "\(f.stderr) \(f.stdout)")
        for m in try cluster.masters() {
            guard case .array(let libs?) = try LiveConnection(port: m.port).call(["FUNCTION", "LIST"]) else {
                Issue.record("FUNCTION LIST on \(m.port)")
                continue
            }
            #expect(libs.count == fsource.functions.count, "master \(m.port) has \(libs.count) libraries")
        }
        try ClusterReplayFixtures.expectSameKeyspace(cluster, as: fsource, consumerTimesFromClock: false, "functions.rdb")

        // all-types has dbs 0, 1, 7, 15: refused without --db-map, written with one that keeps names apart.
        let allTypes = Corpus.fixture("redis-7.0.15/rdb/all-types.rdb")
        let refused = try Replay.run([allTypes, "--to", uri])
        #expect(refused.status == 7, "\(refused.stderr)")
        #expect(refused.stderr.contains("database 0 only") && refused.stderr.contains("--db-map"), "\(refused.stderr)")
        let zero = try Replay.run([allTypes, "--to", uri, "--db", "0", "--flush-target", "--yes", "--mode", "commands", "--json"])
        #expect(zero.status == 0, "\(zero.stderr)")
        var source = try RDBSnapshot(path: allTypes)
        source.keys = source.keys.filter { $0.key.db == 0 }
        source.keyOrder = source.keyOrder.filter { $0.db == 0 }
        try ClusterReplayFixtures.expectSameKeyspace(cluster, as: source, consumerTimesFromClock: true, "all-types db 0, commands")

        // Commands that cannot be split: stop, naming the source offset.
        var aof = ClusterReplayFixtures.command("SET", "a", "1")
        let multiAt = Int64(aof.count)
        aof += ClusterReplayFixtures.command("MULTI") + ClusterReplayFixtures.command("SET", "a", "2")
            + ClusterReplayFixtures.command("SET", "b", "2") + ClusterReplayFixtures.command("EXEC")
        try Data(aof).write(to: URL(fileURLWithPath: tmp("multi.aof")))
        let multi = try Replay.run([tmp("multi.aof"), "--to", uri])
        #expect(multi.status == 7, "\(multi.stderr)")
        #expect(multi.stderr.contains("at source offset \(multiAt)") && multi.stderr.contains("CROSSSLOT"), "\(multi.stderr)")
        let msetnx = ClusterReplayFixtures.command("MSETNX", "a", "1", "b", "2")
        try Data(msetnx).write(to: URL(fileURLWithPath: tmp("msetnx.aof")))
        let m = try Replay.run([tmp("msetnx.aof"), "--to", uri])
        #expect(m.status == 7 && m.stderr.contains("CROSSSLOT MSETNX"), "\(m.stderr)")
    }

    @Test(
        "the cluster pipeline keeps at most its byte bound of big commands in flight per master, whatever the command bound",
        .enabled(if: LiveCluster.isAvailable))
    func clusterPipelineByteBound() throws {
        let cluster = try LiveCluster("cluster-bytes")
        defer { cluster.stop() }
        let seed = try #require(try cluster.masters().first)
        let c = try RedisConnection.connectBlocking(to: RedisURI(host: "127.0.0.1", port: Int(seed.port)))
        defer { c.close() }
        var replies: [RESPValue] = []
        let p = try RedisClusterPipeline<Int>(
            seed: c, options: RedisClientOptions(), maximumInFlight: 100_000, batchSize: 4, maximumBytesInFlight: 2 << 20
        ) { _, reply in replies.append(reply) }
        defer { p.close() }
        let value = RedisBytes(Array(repeating: UInt8(ascii: "v"), count: 256 << 10))
        for i in 0..<120 {
            let key = RedisBytes("big:\(i)")
            try p.send(["SET", key, value], slot: ClusterSlot.slot(of: key), tag: i)
        }
        try p.drain()
        #expect(replies.count == 120 && replies.allSatisfy { $0 == .simpleString("OK") })
        // The bound, plus the batch written before it was checked (4 commands of 256 KiB).
        #expect(p.peakBytesInFlight > 0 && p.peakBytesInFlight <= (2 << 20) + 4 * ((256 << 10) + 64), "\(p.peakBytesInFlight)")
        #expect(try cluster.keyCount() == 120)
    }
}
