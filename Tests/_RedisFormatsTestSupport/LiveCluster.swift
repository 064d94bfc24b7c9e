import Foundation
import RedisFormats
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A Redis Cluster for tests: `masters` masters with one replica each, every node a ``LiveServer`` on 127.0.0.1
/// (cluster bus on port + 10000) in its own directory, created with `redis-cli --cluster create`. `stop()`
/// kills every node; the initializer kills those it started when it fails.
public final class LiveCluster {
    public let servers: [LiveServer]
    public let scratch: ScratchDirectory
    public static let redisCLI = LiveServerKind.onPath("redis-cli")
    public static var isAvailable: Bool { LiveServerKind.redis70.isInstalled && redisCLI != nil }

    /// A node as `CLUSTER NODES` describes it.
    public struct Node: CustomStringConvertible {
        public var id: String
        public var port: UInt16
        public var isMaster: Bool
        public var masterID: String?
        public var failed: Bool
        public var slots: [String]
        public var description: String { "\(port) \(isMaster ? "master" : "replica of \(masterID ?? "?")") \(slots.joined(separator: ","))" }
        /// The slots it serves (`0-5460 7000`; migration markers `[…]` left out).
        public var slotSet: Set<Int> {
            var out: Set<Int> = []
            for s in slots where !s.hasPrefix("[") {
                let ab = s.split(separator: "-").compactMap { Int($0) }
                if ab.count == 2 { out.formUnion(ab[0]...ab[1]) } else if let a = ab.first { out.insert(a) }
            }
            return out
        }
    }

    public init(_ label: String, masters: Int = 3, nodeTimeout: Int = 2000) throws {
        scratch = try ScratchDirectory(label)
        var started: [LiveServer] = []
        do {
            for i in 0..<(masters * 2) {
                let dir = scratch("node\(i)")
                started.append(
                    try LiveServer(
                        .redis70, directory: dir,
                        arguments: [
                            "--cluster-enabled", "yes", "--cluster-config-file", "\(dir)/nodes.conf", "--cluster-node-timeout",
                            "\(nodeTimeout)", "--appendonly", "no", "--dbfilename", "dump.rdb",
                        ], port: try Self.freeClusterPort(avoiding: started.map(\.port))))
            }
            servers = started
            let create = try Self.cli(
                ["--cluster", "create"] + started.map { "127.0.0.1:\($0.port)" } + ["--cluster-replicas", "1", "--cluster-yes"])
            guard create.status == 0 else { throw LiveServer.Failure(description: "redis-cli --cluster create: \(create.output)") }
            try waitUntilHealthy()
        } catch {
            for s in started { s.stop() }
            scratch.remove()
            throw error
        }
    }

    /// A port from 20000 to 45535 that is free, with its cluster bus port (+ 10000) free too.
    static func freeClusterPort(avoiding used: [UInt16]) throws -> UInt16 {
        for _ in 0..<200 {
            let p = UInt16.random(in: 20000...45535)
            if used.contains(p) || used.contains(p + 10000) || used.contains(p - 10000) { continue }
            if canBind(p) && canBind(p + 10000) { return p }
        }
        throw LiveServer.Failure(description: "no free port pair for a cluster node")
    }

    private static func canBind(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    public func stop() {
        for s in servers { s.stop() }
        scratch.remove()
    }

    public func server(port: UInt16) -> LiveServer? { servers.first { $0.port == port } }

    /// `redis-cli` with arguments; its exit status and output (stdout and stderr).
    public static func cli(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try #require(redisCLI, "redis-cli is not installed"))
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// `CLUSTER NODES` as seen by the node on `port` (by the first node that answers when nil).
    public func nodes(from port: UInt16? = nil) throws -> [Node] {
        var lastError: (any Error)?
        for s in servers where port == nil || s.port == port {
            guard s.process.isRunning else { continue }
            do {
                let c = try LiveConnection(port: s.port)
                guard case .bulk(let text?) = try c.call(["CLUSTER", "NODES"]) else { continue }
                return String(decoding: text, as: UTF8.self).split(separator: "\n").compactMap { line in
                    let f = line.split(separator: " ").map(String.init)
                    guard f.count >= 8 else { return nil }
                    let flags = f[2].split(separator: ",")
                    let port = UInt16(f[1].split(separator: "@").first?.split(separator: ":").last ?? "") ?? 0
                    return Node(
                        id: f[0], port: port, isMaster: flags.contains("master"), masterID: f[3] == "-" ? nil : f[3],
                        failed: flags.contains("fail") || flags.contains("fail?"), slots: Array(f.dropFirst(8)))
                }
            } catch {
                lastError = error
            }
        }
        throw lastError ?? LiveServer.Failure(description: "no node answers CLUSTER NODES")
    }

    /// The masters that serve slots, by the first node that answers.
    public func masters() throws -> [Node] { try nodes().filter { $0.isMaster && !$0.slots.isEmpty && !$0.failed } }

    /// Waits until every running node says `cluster_state:ok`, they all agree on which master serves which
    /// slots, no slot is migrating or importing, and every replica's link to its master is up.
    public func waitUntilHealthy(timeout: Double = 90) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var why = ""
        while Date() < deadline {
            if let problem = healthProblem() { why = problem } else { return }
            usleep(200_000)
        }
        throw LiveServer.Failure(description: "the cluster is not healthy after \(timeout) s: \(why)")
    }

    private func healthProblem() -> String? {
        var views: Set<String> = []
        for s in servers where s.process.isRunning {
            guard let c = try? LiveConnection(port: s.port), case .bulk(let info?)? = try? c.call(["CLUSTER", "INFO"]) else {
                return "\(s.port) does not answer"
            }
            guard String(decoding: info, as: UTF8.self).contains("cluster_state:ok") else { return "\(s.port): cluster_state is not ok" }
            guard let view = try? nodes(from: s.port) else { return "\(s.port): no CLUSTER NODES" }
            let masters = view.filter { $0.isMaster && !$0.slots.isEmpty }
            if masters.contains(where: { $0.slots.contains { $0.hasPrefix("[") } }) { return "\(s.port): a slot is migrating" }
            views.insert(masters.map { "\($0.port):\($0.slots.joined(separator: ","))" }.sorted().joined(separator: " "))
            if let me = view.first(where: { $0.port == s.port }), !me.isMaster {
                guard case .bulk(let r?)? = try? c.call(["INFO", "replication"]),
                    String(decoding: r, as: UTF8.self).contains("master_link_status:up")
                else { return "\(s.port): the replica's link is not up" }
            }
        }
        return views.count == 1 ? nil : "the nodes disagree: \(views)"
    }

    /// Keys held by the masters (`DBSIZE` summed).
    public func keyCount() throws -> Int {
        var n = 0
        for m in try masters() {
            if case .integer(let k) = try LiveConnection(port: m.port).call(["DBSIZE"]) { n += Int(k) }
        }
        return n
    }

    /// Moves `count` slots from one master to another with `redis-cli --cluster reshard` (keys with `MIGRATE`,
    /// slots with `CLUSTER SETSLOT … MIGRATING/IMPORTING/NODE`).
    public func reshard(from: Node, to: Node, count: Int, pipeline: Int = 10) throws {
        let r = try Self.cli([
            "--cluster", "reshard", "127.0.0.1:\(to.port)", "--cluster-from", from.id, "--cluster-to", to.id, "--cluster-slots",
            "\(count)", "--cluster-yes", "--cluster-pipeline", "\(pipeline)",
        ])
        guard r.status == 0, !r.output.contains("[ERR]") else {
            throw LiveServer.Failure(description: "redis-cli --cluster reshard failed (\(r.status)): \(r.output.suffix(2000))")
        }
    }

    /// `CLUSTER FAILOVER` on a replica of `master`; waits until the replica is a master serving its slots.
    /// - Returns: the new master.
    @discardableResult
    public func failover(_ master: Node, timeout: Double = 60) throws -> Node {
        let replica = try #require(try nodes().first { $0.masterID == master.id && !$0.failed }, "\(master) has no replica")
        let reply = try LiveConnection(port: replica.port).call(["CLUSTER", "FAILOVER"])
        guard reply == .simple("OK") else { throw LiveServer.Failure(description: "CLUSTER FAILOVER: \(reply)") }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let me = try? nodes(from: replica.port).first(where: { $0.port == replica.port }), me.isMaster, !me.slots.isEmpty {
                return me
            }
            usleep(100_000)
        }
        throw LiveServer.Failure(description: "\(replica.port) did not become a master within \(timeout) s")
    }

    /// Every master's keyspace (SAVE, then its RDB), merged into one snapshot; `keyOrder` keeps a key held by
    /// two masters twice.
    public func keyspace() throws -> RDBSnapshot {
        var merged: RDBSnapshot?
        for m in try masters() {
            let server = try #require(self.server(port: m.port))
            let snapshot = try server.saveAndRead()
            if merged == nil {
                merged = snapshot
            } else {
                for k in snapshot.keyOrder {
                    merged!.keyOrder.append(k)
                    merged!.keys[k] = snapshot.keys[k]
                }
            }
        }
        return try #require(merged, "no master")
    }
}
