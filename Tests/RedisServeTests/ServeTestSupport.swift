import Foundation
import RedisFormats
import RedisKeyspace
import RedisServe
import _RedisFormatsTestSupport

/// A blocking client socket that reads whole RESP2 or RESP3 replies as raw bytes.
final class RawClient {
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var position = 0

    struct Closed: Error {}
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(port: Int, timeout: Int = 30) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else {
            close(fd)
            fd = -1
            throw Failure(description: "connect to \(port) failed")
        }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { if fd >= 0 { close(fd) } }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Closed() }
            sent += n
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    static func encode(_ argv: [RedisBytes]) -> [UInt8] {
        var out = Array("*\(argv.count)\r\n".utf8)
        for a in argv {
            out += Array("$\(a.count)\r\n".utf8)
            out += a.bytes
            out += [0x0D, 0x0A]
        }
        return out
    }

    /// Sends a command and returns the raw bytes of its reply.
    func call(_ argv: [RedisBytes]) throws -> [UInt8] {
        try send(Self.encode(argv))
        return try reply()
    }

    func call(_ argv: String...) throws -> String {
        String(decoding: try call(argv.map { RedisBytes($0) }), as: UTF8.self)
    }

    private func fill() throws {
        if position > 0 && position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 65536) }
        guard n > 0 else { throw Closed() }
        buffer += chunk[0..<n]
    }

    private func line() throws -> [UInt8] {
        while true {
            if let i = buffer[position...].firstIndex(of: 0x0A), i > position, buffer[i - 1] == 0x0D {
                let l = Array(buffer[position...i])
                position = i + 1
                return l
            }
            try fill()
        }
    }

    private func bytes(_ n: Int) throws -> [UInt8] {
        while buffer.count - position < n { try fill() }
        let b = Array(buffer[position..<(position + n)])
        position += n
        return b
    }

    /// One whole reply (nested ones included), as sent.
    func reply() throws -> [UInt8] {
        let l = try line()
        let n = Int(String(decoding: l.dropFirst().dropLast(2), as: UTF8.self)) ?? 0
        switch l[0] {
        case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
            return n < 0 ? l : l + (try bytes(n + 2))
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            var out = l
            for _ in 0..<max(0, n) { out += try reply() }
            return out
        case UInt8(ascii: "%"), UInt8(ascii: "|"):
            var out = l
            for _ in 0..<(2 * max(0, n)) { out += try reply() }
            return out
        default:
            return l
        }
    }

    /// True when the server closes the connection (reads until EOF or the timeout).
    func isClosedByServer() -> Bool {
        do {
            while true { try fill() }
        } catch is Closed {
            return true
        } catch {
            return false
        }
    }

    /// Bytes the server sent before closing.
    func drain() -> [UInt8] {
        while (try? fill()) != nil {}
        let rest = Array(buffer[position...])
        position = buffer.count
        return rest
    }
}

/// An in-process server on a free port over a keyspace loaded from a file.
final class TestServer: @unchecked Sendable {
    let keyspace: Keyspace
    let server: RedisServer
    var port: Int { server.port }

    init(path: String, password: String? = nil) throws {
        keyspace = Keyspace()
        try KeyspaceLoader(keyspace: keyspace).loadRDB(try RDBReader(path: path))
        keyspace.maxDatabase = 15
        server = try RedisServer.start(keyspace: keyspace, host: "127.0.0.1", port: 0, password: password, threads: 2)
    }

    /// Any file `KeyspaceLoader.load(path:)` reads (an RDB or an AOF in any layout).
    init(loading path: String) throws {
        keyspace = Keyspace()
        _ = try KeyspaceLoader(keyspace: keyspace).load(path: path)
        keyspace.maxDatabase = 15
        server = try RedisServer.start(keyspace: keyspace, host: "127.0.0.1", port: 0, threads: 2)
    }

    init(keyspace: Keyspace, password: String? = nil) throws {
        self.keyspace = keyspace
        server = try RedisServer.start(keyspace: keyspace, host: "127.0.0.1", port: 0, password: password, threads: 2)
    }

    func stop() { server.stop() }
}

/// The built `rdbkit` executable next to the test bundle, if there is one.
enum RDBKitBinary {
    static var path: String? {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("rdbkit").path,
            Bundle.main.bundleURL.appendingPathComponent("rdbkit").path,
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("rdbkit").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var isBuilt: Bool { path != nil }
}

/// `rdbkit serve` run as a process.
final class ServeProcess {
    let process = Process()
    let port: Int
    let stderr = Pipe()
    private(set) var readyLine = ""

    init(_ arguments: [String], port: Int? = nil, environment: [String: String] = [:], waitForReady: Bool = true) throws {
        self.port = try port ?? Int(LiveServer.freePort())
        process.executableURL = URL(fileURLWithPath: RDBKitBinary.path!)
        process.arguments = ["serve", "--port", String(self.port)] + arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        guard waitForReady else { return }
        var text = ""
        let handle = stderr.fileHandleForReading
        let deadline = Date().addingTimeInterval(60)
        while !text.contains("\n") && Date() < deadline {
            let d = handle.availableData
            if d.isEmpty { break }
            text += String(decoding: d, as: UTF8.self)
        }
        readyLine = text
        guard text.contains("Ready to accept connections") else {
            stop()
            throw RawClient.Failure(description: "rdbkit serve did not start: \(text)")
        }
    }

    /// Sends `signal` and returns the exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM) -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func waitForExit() -> (Int32, String) {
        process.waitUntilExit()
        let rest = stderr.fileHandleForReading.readDataToEndOfFile()
        return (process.terminationStatus, readyLine + String(decoding: rest, as: UTF8.self))
    }
}

/// Runs a program and returns its exit status and standard output.
func runTool(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    p.environment = env
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// The path of a program on PATH, if any.
func which(_ name: String) -> String? { LiveServerKind.onPath(name) }
