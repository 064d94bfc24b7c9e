#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import RedisClient
import RedisFormats

/// `rdbkit replay --mode sync`: rdbkit poses as a replication master and the target loads the RDB as a
/// replica does, at its own speed.
///
/// 1. rdbkit listens on `--listen HOST:PORT` (plain TCP).
/// 2. It sends `REPLICAOF HOST PORT` to the target (or prints it, with `--no-replicaof`).
/// 3. The target connects and says `PING`, `REPLCONF …`, `PSYNC ? -1`; rdbkit answers
///    `+FULLRESYNC <replid> 0`, then the RDB in the EOF-marked form (`$EOF:<40 bytes>\r\n … <40 bytes>`)
///    written while it is read from the source (``RDBRewriter`` into a streaming ``SafeOutputFile``), for
///    the target's RDB version, with the filters and `--db-map` applied.
/// 4. The target replaces its data set with the RDB. Its first `REPLCONF ACK` says the load is over;
///    rdbkit confirms with `INFO` (`master_link_status:up`, `loading:0`) on the control connection.
/// 5. `REPLICAOF NO ONE`: the target is a master again, with the data.
///
/// Mirrors the master side of `syncCommand`/`replicationSetupSlaveForFullResync` and the replica side of
/// `readSyncBulkPayload` (redis/src/replication.c): nothing may follow the EOF mark until the replica acks,
/// or the replica would not find the mark at the end of what it read.
struct ReplaySync {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    var source: String
    var control: RedisConnection
    var target: RDBTarget
    var options: RDBRewriter.Options
    /// Where rdbkit listens; port 0 picks a free one.
    var listenHost: String
    var listenPort: UInt16
    /// Whether rdbkit itself sends `REPLICAOF` (otherwise it prints the command and waits).
    var sendsReplicaOf = true
    /// Seconds to wait for the target to connect.
    var acceptTimeout: Double = 60

    struct Result {
        var rewrite: RDBRewriter.Summary
        var bytesSent: Int64
        var keysOnTarget: Int
    }

    /// The RDB version the target is sent: its own, or the newest rdbkit writes that it reads.
    static func writableTarget(_ t: RDBTarget) -> RDBTarget {
        guard !t.isWritable else { return t }
        var w = t
        if t.dialect == .redis && t.rdbVersion > 12 { w.rdbVersion = 12 }
        if t.dialect == .valkey && t.rdbVersion > 80 { w.rdbVersion = 80 }
        return w
    }

    /// Keys per database from `INFO keyspace`.
    static func keyspace(_ c: RedisConnection) throws -> [UInt64: Int] {
        var out: [UInt64: Int] = [:]
        for line in try info(c, "keyspace").split(whereSeparator: \.isNewline) where line.hasPrefix("db") {
            let parts = line.dropFirst(2).split(separator: ":")
            guard parts.count == 2, let db = UInt64(parts[0]),
                let keys = parts[1].split(separator: ",").first(where: { $0.hasPrefix("keys=") }).flatMap({ Int($0.dropFirst(5)) })
            else { continue }
            out[db] = keys
        }
        return out
    }

    static func info(_ c: RedisConnection, _ section: String) throws -> String {
        let reply = try c.call(["INFO", RedisBytes(section)])
        if let e = reply.errorMessage { throw RedisClientError(.server, e, command: "INFO") }
        return reply.text ?? ""
    }

    static func field(_ info: String, _ name: String) -> String? {
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix(name + ":") {
            return String(line.dropFirst(name.count + 1))
        }
        return nil
    }

    /// Runs the whole exchange. On a failure after `REPLICAOF`, the target is told `REPLICAOF NO ONE`.
    func run() throws -> Result {
        signal(SIGPIPE, SIG_IGN)
        let listener = try Listener(host: listenHost, port: listenPort)
        defer { listener.close() }
        let announced = "\(listenHost) \(listener.port)"
        var replicating = false
        defer {
            if replicating { _ = try? control.call(["REPLICAOF", "NO", "ONE"]) }
        }
        if sendsReplicaOf {
            let reply = try control.call(["REPLICAOF", RedisBytes(listenHost), RedisBytes(String(listener.port))])
            if let e = reply.errorMessage { throw RedisClientError(.server, e, command: "REPLICAOF") }
            replicating = true
        } else {
            Terminal.printError("rdbkit: listening on \(listenHost):\(listener.port); run on the target:  REPLICAOF \(announced)")
            replicating = true  // the user's REPLICAOF is undone the same way
        }

        // The target's replication handshake, up to PSYNC.
        var link: Link
        while true {
            let fd = try listener.accept(timeout: acceptTimeout)
            let l = Link(fd: fd)
            if try l.handshake() { link = l; break }
            l.close()
        }
        defer { link.close() }

        let replid = Self.randomHex(40)
        let mark = Self.randomHex(40)
        try link.write(Array("+FULLRESYNC \(replid) 0\r\n$EOF:\(mark)\r\n".utf8))
        let out = SafeOutputFile(streamingTo: link.fd, name: "the replication link")
        let summary = try RDBRewriter.rewrite(inputs: [source], into: out, options: options)
        try link.write(Array(mark.utf8))

        // The load: the replica reads to the mark, loads, then acks. Watch both the link and INFO.
        var acked = false
        while true {
            switch link.poll(milliseconds: 500) {
            case .closed:
                throw Failure("the target closed the replication link before loading the RDB (see its log)")
            case .data(let bytes):
                if bytes.contains(where: { $0 == UInt8(ascii: "*") }) { acked = true }
            case .idle:
                break
            }
            guard acked else { continue }
            let replication = try Self.info(control, "replication")
            let persistence = try Self.info(control, "persistence")
            if Self.field(replication, "master_link_status") == "up" && Self.field(persistence, "loading") == "0" { break }
        }
        let reply = try control.call(["REPLICAOF", "NO", "ONE"])
        if let e = reply.errorMessage { throw RedisClientError(.server, e, command: "REPLICAOF NO ONE") }
        replicating = false
        let keys = try Self.keyspace(control).values.reduce(0, +)
        return Result(rewrite: summary, bytesSent: out.count, keysOnTarget: keys)
    }

    static func randomHex(_ n: Int) -> String {
        let digits = Array("0123456789abcdef")
        var g = SystemRandomNumberGenerator()
        return String((0..<n).map { _ in digits[Int(g.next() % 16)] })
    }

    // MARK: Sockets

    /// A listening IPv4 TCP socket.
    final class Listener {
        let fd: Int32
        let port: UInt16

        init(host: String, port: UInt16) throws {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
                throw Failure("--listen wants an IPv4 address (such as 10.0.0.7:7000), not \(host)")
            }
            #if canImport(Glibc)
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            #else
            let s = socket(AF_INET, SOCK_STREAM, 0)
            #endif
            guard s >= 0 else { throw Failure("socket(): \(String(cString: strerror(errno)))") }
            var one: Int32 = 1
            setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let bound = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(s, 8) == 0 else {
                let why = String(cString: strerror(errno))
                Glibc.close(s)
                throw Failure("cannot listen on \(host):\(port): \(why)")
            }
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) }
            }
            fd = s
            self.port = UInt16(bigEndian: addr.sin_port)
        }

        func accept(timeout: Double) throws -> Int32 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let deadline = Terminal.now() + timeout
            while true {
                let left = deadline - Terminal.now()
                guard left > 0 else {
                    throw Failure("the target did not connect to rdbkit within \(Int(timeout)) s (can it reach this address? see its log)")
                }
                let n = poll(&p, 1, Int32(min(left, 1) * 1000))
                if n < 0 && errno != EINTR { throw Failure("poll(): \(String(cString: strerror(errno)))") }
                if n > 0 {
                    let c = Glibc.accept(fd, nil, nil)
                    if c >= 0 { return c }
                }
            }
        }

        func close() { Glibc.close(fd) }
    }

    /// The connection from the target, as its master sees it.
    final class Link {
        let fd: Int32
        private var input: [UInt8] = []
        private var closed = false

        init(fd: Int32) {
            self.fd = fd
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }

        func close() {
            if !closed { Glibc.close(fd) }
            closed = true
        }

        func write(_ bytes: [UInt8]) throws {
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw Failure("writing to the target: \(String(cString: strerror(errno)))") }
                done += n
            }
        }

        /// Answers the replica's commands until `PSYNC` (true) or the peer leaves (false).
        func handshake() throws -> Bool {
            while let argv = try readCommand() {
                let name = argv.first.map { String(decoding: $0, as: UTF8.self).uppercased() } ?? ""
                switch name {
                case "PING": try write(Array("+PONG\r\n".utf8))
                case "AUTH", "REPLCONF": try write(Array("+OK\r\n".utf8))
                case "PSYNC": return true
                case "SYNC":
                    try write(Array("-ERR rdbkit speaks PSYNC only (Redis 2.8 and later)\r\n".utf8))
                    return false
                default: try write(Array("-ERR rdbkit is a replication source only\r\n".utf8))
                }
            }
            return false
        }

        /// One command: a RESP array of bulk strings or an inline line. Nil at the end of the stream.
        func readCommand() throws -> [[UInt8]]? {
            guard let first = try line() else { return nil }
            guard first.first == UInt8(ascii: "*") else {
                return first.split(separator: 0x20).map(Array.init)
            }
            guard let n = Int(String(decoding: first.dropFirst(), as: UTF8.self)), n >= 0, n < 64 else {
                throw Failure("the target sent a malformed command")
            }
            var argv: [[UInt8]] = []
            for _ in 0..<n {
                guard let head = try line(), head.first == UInt8(ascii: "$"),
                    let len = Int(String(decoding: head.dropFirst(), as: UTF8.self)), len >= 0, len < 1 << 20
                else { throw Failure("the target sent a malformed command") }
                while input.count < len + 2 { guard try fill() else { return nil } }
                argv.append(Array(input[0..<len]))
                input.removeFirst(len + 2)
            }
            return argv
        }

        private func line() throws -> [UInt8]? {
            while true {
                if let i = input.firstIndex(of: 0x0A) {
                    var l = Array(input[0..<i])
                    input.removeFirst(i + 1)
                    if l.last == 0x0D { l.removeLast() }
                    if l.isEmpty { continue }  // keepalive newlines
                    return l
                }
                guard try fill() else { return nil }
            }
        }

        private func fill() throws -> Bool {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 { throw Failure("reading from the target: \(String(cString: strerror(errno)))") }
                if n == 0 { return false }
                input += chunk[0..<n]
                return true
            }
        }

        enum Event { case idle, closed, data([UInt8]) }

        /// Waits up to `milliseconds` for bytes from the target.
        func poll(milliseconds: Int32) -> Event {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = Glibc.poll(&p, 1, milliseconds)
            guard n > 0 else { return .idle }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let r = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN) { return .closed }
            return r > 0 ? .data(Array(chunk[0..<r])) : .idle
        }
    }
}

extension ReplayCommand {
    /// Whether a host name is this machine (the default listen address is then 127.0.0.1).
    /// Sets `repl-diskless-load` to load from the socket when it is `disabled`: the previous value, or nil
    /// when nothing was changed (already set, or CONFIG refused or renamed).
    static func enableDisklessLoad(_ c: RedisConnection) -> String? {
        guard let reply = try? c.call(["CONFIG", "GET", "repl-diskless-load"]), case .array(let a?) = reply, a.count == 2,
            a[1].bytes == Array("disabled".utf8)
        else { return nil }
        for mode in ["on-empty-db", "swapdb"] {
            if let r = try? c.call(["CONFIG", "SET", "repl-diskless-load", RedisBytes(mode)]), r.errorMessage == nil {
                return "disabled"
            }
        }
        return nil
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }

    /// `--mode sync`, after the connection and `INFO server`.
    func runSync(connection: RedisConnection, uri: RedisURI, target serverTarget: RDBTarget, settings: ReplaySettings, start: Double) throws {
        guard sourceKind() == .rdb else {
            Terminal.printError("rdbkit: --mode sync sends an RDB file; for an AOF or JSON Lines use --mode restore or commands")
            throw ExitCode(RDBKitExit.usage)
        }
        if resume || checkpoint != nil {
            Terminal.printError("rdbkit: --mode sync replaces the whole data set in one transfer: --checkpoint and --resume do not apply")
            throw ExitCode(RDBKitExit.usage)
        }
        var listenHost = "127.0.0.1"
        var listenPort: UInt16 = 0
        if let listen {
            guard let colon = listen.lastIndex(of: ":"), let p = UInt16(listen[listen.index(after: colon)...]) else {
                Terminal.printError("rdbkit: --listen wants HOST:PORT (port 0 for a free one)")
                throw ExitCode(RDBKitExit.usage)
            }
            listenHost = String(listen[..<colon])
            listenPort = p
        } else if !Self.isLoopback(uri.host) {
            Terminal.printError(
                "rdbkit: --mode sync into \(uri.host): give --listen HOST:PORT with an address of this machine the target can reach")
            throw ExitCode(RDBKitExit.usage)
        }
        if listenHost == "0.0.0.0" {
            Terminal.printError("rdbkit: --listen needs the address the target connects to, not 0.0.0.0")
            throw ExitCode(RDBKitExit.usage)
        }
        var targetWasEmpty = false
        do {
            let role = ReplaySync.field(try ReplaySync.info(connection, "replication"), "role")
            if role != "master" {
                Terminal.printError("rdbkit: \(uri) is a replica (role:\(role ?? "?")): --mode sync needs a master it can turn into our replica")
                throw ExitCode(RDBKitExit.usage)
            }
            let keys = try ReplaySync.keyspace(connection).values.reduce(0, +)
            targetWasEmpty = keys == 0
            if keys > 0 && !yes {
                Terminal.printError(
                    "rdbkit: \(uri) holds \(keys) keys and --mode sync replaces its whole data set: add --yes to confirm")
                throw ExitCode(RDBKitExit.usage)
            }
        } catch let e as RedisClientError {
            Terminal.printError("rdbkit: \(e)")
            throw ExitCode(Self.exitConnection)
        }
        var o = RDBRewriter.Options(target: ReplaySync.writableTarget(serverTarget), now: settings.now)
        o.filter = settings.filter
        o.databaseMap = settings.databaseMap
        o.reader = settings.reader
        o.onConflict = .last  // as a replay with REPLACE: the later record wins
        o.dropsModuleAux = true  // as the other modes, which do not replay module aux records
        var sync = ReplaySync(
            source: source, control: connection, target: o.target, options: o, listenHost: listenHost, listenPort: listenPort)
        sync.sendsReplicaOf = !noReplicaOf
        sync.acceptTimeout = noReplicaOf ? max(timeout, 600) : timeout
        // A replica with repl-diskless-load disabled (the default) saves the whole transfer to disk, then
        // loads it; loading from the socket overlaps the load with the transfer (on the 1 GB benchmark file:
        // 9.9 s against 17.7 s). Only for an empty target (on-empty-db, or swapdb if that is refused: an
        // empty data set leaves swapdb no second copy to keep), and set back afterwards.
        let diskless = keepServerConfig || !targetWasEmpty || noReplicaOf ? nil : Self.enableDisklessLoad(connection)
        defer {
            if let previous = diskless {
                let reply = try? connection.call(["CONFIG", "SET", "repl-diskless-load", RedisBytes(previous)])
                if reply == nil || reply?.errorMessage != nil {
                    Terminal.printError("rdbkit: warning: could not set repl-diskless-load back to \(previous) on the target")
                }
            }
        }
        let result: ReplaySync.Result
        do {
            result = try sync.run()
        } catch let e as RedisClientError {
            Terminal.printError("rdbkit: \(e)")
            throw ExitCode(Self.exitConnection)
        } catch let e as ReplaySync.Failure {
            Terminal.printError("rdbkit: --mode sync: \(e)")
            throw ExitCode(Self.exitConnection)
        } catch {
            throw reportFailure(error)
        }
        var s = ReplaySummary()
        s.mode = "sync"
        s.keysWritten = result.rewrite.keysWritten
        s.keysRestored = result.rewrite.keysCopied
        s.keysReencoded = result.rewrite.keysReencoded
        s.keysFiltered = result.rewrite.keysFiltered + result.rewrite.conflictsSkipped
        s.keysExpired = result.rewrite.expiredDropped
        s.functionsLoaded = result.rewrite.functions
        s.bytesSent = result.bytesSent
        s.commandsSent = 0
        s.seconds = Terminal.now() - start
        printSummary(s, target: o.target)
        if result.keysOnTarget != result.rewrite.keysWritten {
            Terminal.printError(
                "rdbkit: warning: the target holds \(result.keysOnTarget) keys after the sync, \(result.rewrite.keysWritten) were sent (keys expiring meanwhile?)")
        }
    }
}
