#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import NIOCore
import NIOPosix
import RedisFormats
import RedisKeyspace
import Synchronization

/// What every connection of one server shares: the keyspace (read-only), the password, counters for INFO.
///
/// Why no lock guards the keyspace: it is frozen (``Keyspace/freeze()``) before the first connection and never
/// written afterwards. Connections only run read-only specs, which look keys up with `Keyspace.entry(db:key:now:)`
/// and never delete expired keys, build caches or touch the dictionaries; Swift's dictionaries and arrays are
/// safe to read from many threads when nobody writes, and the class-backed values are only read. The counters
/// below are the only shared mutable state, behind a `Mutex`.
public final class RedisServeState: Sendable {
    public static let redisVersion = "7.0.15"

    public let keyspace: Keyspace
    public let password: String?
    public let source: String
    let port: Int
    let started = RedisServeState.milliseconds()
    private let counters = Mutex<(nextID: Int64, clients: Int, total: Int)>((1, 0, 0))

    public init(keyspace: Keyspace, password: String?, source: String, port: Int) {
        self.keyspace = keyspace
        self.password = password
        self.source = source
        self.port = port
    }

    static func milliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    func nextClientID() -> Int64 {
        counters.withLock { c in
            defer { c.nextID += 1 }
            return c.nextID
        }
    }

    func clientConnected() {
        counters.withLock { c in
            c.clients += 1
            c.total += 1
        }
    }

    func clientDisconnected() { counters.withLock { c in c.clients -= 1 } }

    /// The INFO text for the requested sections (server, clients, memory, keyspace; none or `all`, `default`,
    /// `everything` give all of them).
    func info(sections: [String]) -> String {
        let all = sections.isEmpty || sections.contains { ["all", "default", "everything"].contains($0) }
        var out: [String] = []
        func want(_ s: String) -> Bool { all || sections.contains(s) }
        let now = Self.milliseconds()
        if want("server") {
            let uptime = (now - started) / 1000
            out.append(
                """
                # Server\r
                redis_version:\(Self.redisVersion)\r
                redis_mode:standalone\r
                os:\(Self.osName())\r
                arch_bits:64\r
                process_id:\(getpid())\r
                tcp_port:\(port)\r
                server_time_usec:\(now * 1000)\r
                uptime_in_seconds:\(uptime)\r
                uptime_in_days:\(uptime / 86400)\r
                executable:rdbkit serve\r
                rdbkit_source:\(source)\r

                """)
        }
        if want("clients") {
            let c = counters.withLock { c in c }
            out.append("# Clients\r\nconnected_clients:\(c.clients)\r\ntotal_connections_received:\(c.total)\r\n")
        }
        if want("memory") {
            let rss = Self.residentBytes()
            out.append(
                """
                # Memory\r
                used_memory:\(rss)\r
                used_memory_human:\(Self.human(rss))\r
                used_memory_rss:\(rss)\r
                used_memory_rss_human:\(Self.human(rss))\r
                maxmemory:0\r
                maxmemory_human:0B\r
                maxmemory_policy:noeviction\r
                mem_allocator:libc\r

                """)
        }
        if want("replication") {
            out.append("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n")
        }
        if want("keyspace") {
            var text = "# Keyspace\r\n"
            for db in keyspace.nonEmptyDatabases {
                var keys = 0
                var expires = 0
                for (_, e) in keyspace.databases[db]! where !e.isExpired(at: now) {
                    keys += 1
                    if e.expiresAt != nil { expires += 1 }
                }
                if keys > 0 { text += "db\(db):keys=\(keys),expires=\(expires),avg_ttl=0\r\n" }
            }
            out.append(text)
        }
        return out.joined(separator: "\r\n")
    }

    static func osName() -> String {
        var u = utsname()
        uname(&u)
        func field<T>(_ t: T) -> String {
            withUnsafeBytes(of: t) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return "\(field(u.sysname)) \(field(u.release)) \(field(u.machine))"
    }

    /// Resident set size from `/proc/self/statm` (0 where there is none).
    static func residentBytes() -> Int {
        guard let f = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(f) }
        var size = 0
        var resident = 0
        guard fscanf_pair(f, &size, &resident) else { return 0 }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    private static func fscanf_pair(_ f: UnsafeMutablePointer<FILE>, _ a: inout Int, _ b: inout Int) -> Bool {
        var buf = [CChar](repeating: 0, count: 256)
        guard fgets(&buf, 256, f) != nil else { return false }
        let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: "\n")[0].split(separator: " ")
        guard parts.count >= 2, let x = Int(parts[0]), let y = Int(parts[1]) else { return false }
        a = x
        b = y
        return true
    }

    static func human(_ n: Int) -> String {
        let units = ["B", "K", "M", "G", "T"]
        var v = Double(n)
        var u = 0
        while v >= 1024 && u < units.count - 1 {
            v /= 1024
            u += 1
        }
        return u == 0 ? "\(n)B" : String(format2(v)) + units[u]
    }

    static func format2(_ v: Double) -> String {
        let r = (v * 100).rounded() / 100
        let whole = Int(r)
        let frac = Int(((r - Double(whole)) * 100).rounded())
        return "\(whole).\(frac < 10 ? "0" : "")\(frac)"
    }
}

/// A read-only Redis server over a loaded keyspace: RESP2 and RESP3 clients, pipelining, one event loop per
/// core.
///
/// ```swift
/// let server = try RedisServer.start(keyspace: ks, host: "127.0.0.1", port: 6380)
/// try server.waitUntilClosed()
/// ```
public final class RedisServer: Sendable {
    public let state: RedisServeState
    public let channel: any Channel
    let group: MultiThreadedEventLoopGroup

    /// The port actually bound (useful with port 0).
    public var port: Int { channel.localAddress?.port ?? 0 }

    private init(state: RedisServeState, channel: any Channel, group: MultiThreadedEventLoopGroup) {
        self.state = state
        self.channel = channel
        self.group = group
    }

    /// Freezes the keyspace and starts listening.
    public static func start(
        keyspace: Keyspace, host: String, port: Int, password: String? = nil, source: String = "",
        threads: Int = System.coreCount, limits: RESPRequestLimits = RESPRequestLimits()
    ) throws -> RedisServer {
        keyspace.freeze()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let stateBox = RedisServeState(keyspace: keyspace, password: password, source: source, port: port)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 511)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let auth = AuthenticationState(authenticated: password == nil)
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(RESPRequestDecoder(limits: limits, auth: auth)))
                    try channel.pipeline.syncOperations.addHandler(ServeConnectionHandler(server: stateBox, auth: auth))
                }
            }
        do {
            let channel = try bootstrap.bind(host: host, port: port).wait()
            return RedisServer(state: stateBox, channel: channel, group: group)
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    /// Stops accepting connections (safe from any thread, a signal handler's queue included); ends
    /// ``waitUntilClosed()``.
    public func closeListener() {
        channel.close(promise: nil)
    }

    /// Stops listening and closes the event loops (open connections are dropped).
    public func stop() {
        channel.close(promise: nil)
        try? channel.closeFuture.wait()
        try? group.syncShutdownGracefully()
    }

    /// Blocks until the listening channel closes (``stop()`` from another thread, or a signal handler).
    public func waitUntilClosed() throws {
        try channel.closeFuture.wait()
    }
}
