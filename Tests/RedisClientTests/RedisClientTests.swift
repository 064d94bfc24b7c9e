import Foundation
import NIOCore
import RedisFormats
import Testing
import _RedisFormatsTestSupport

@testable import RedisClient

@Suite("RESP decoding")
struct RESPDecodingTests {
    static func decodeAll(_ text: [UInt8]) throws -> [RESPValue] {
        var buffer = ByteBuffer(bytes: text)
        var out: [RESPValue] = []
        while let v = try RESPDecoder.parse(&buffer) { out.append(v) }
        #expect(buffer.readableBytes == 0, "bytes left over")
        return out
    }

    static let sample: [UInt8] = Array(
        ("+OK\r\n-ERR bad\r\n:-42\r\n$5\r\nhe\r\no\r\n$-1\r\n*2\r\n$1\r\na\r\n:1\r\n*-1\r\n_\r\n,3.5\r\n,-inf\r\n#t\r\n"
            + "(12345678901234567890\r\n!9\r\nSYNTAX xy\r\n=8\r\ntxt:abcd\r\n%1\r\n+k\r\n:2\r\n~1\r\n+m\r\n>2\r\n+a\r\n+b\r\n"
            + "|1\r\n+ttl\r\n:3\r\n+annotated\r\n").utf8)

    static let sampleValues: [RESPValue] = [
        .simpleString("OK"), .error("ERR bad"), .integer(-42), .bulkString(Array("he\r\no".utf8)), .bulkString(nil),
        .array([.bulkString([UInt8(ascii: "a")]), .integer(1)]), .array(nil), .null, .double(3.5), .double(-.infinity),
        .boolean(true), .bigNumber("12345678901234567890"), .error("SYNTAX xy"), .verbatim(format: "txt", text: Array("abcd".utf8)),
        .map([.init(key: .simpleString("k"), value: .integer(2))]), .set([.simpleString("m")]),
        .push([.simpleString("a"), .simpleString("b")]), .simpleString("annotated"),
    ]

    @Test("every RESP2 and RESP3 reply type decodes to its value")
    func everyType() throws {
        #expect(try Self.decodeAll(Self.sample) == Self.sampleValues)
    }

    @Test("a reply split at any byte waits for the rest and leaves the buffer untouched")
    func everySplit() throws {
        for cut in 0..<Self.sample.count {
            var buffer = ByteBuffer(bytes: Self.sample[0..<cut])
            var got: [RESPValue] = []
            while let v = try RESPDecoder.parse(&buffer) { got.append(v) }
            let consumed = cut - buffer.readableBytes
            buffer.writeBytes(Self.sample[cut...])
            while let v = try RESPDecoder.parse(&buffer) { got.append(v) }
            #expect(got == Self.sampleValues, "split at \(cut) (\(consumed) consumed first)")
        }
    }

    @Test("bytes that are not RESP are a protocol violation", arguments: ["?x\r\n", "$abc\r\n", "$3\r\nabcXY", "#x\r\n", ":1\rx"])
    func garbage(text: String) {
        var buffer = ByteBuffer(string: text)
        #expect(throws: RedisClientError.self) { _ = try RESPDecoder.parse(&buffer) }
    }

    @Test("a bulk length over the limit is refused before anything is allocated")
    func bulkLimit() {
        var buffer = ByteBuffer(string: "$1000\r\n")
        #expect(throws: RedisClientError.self) { _ = try RESPDecoder.parse(&buffer, maximumBulkLength: 999) }
    }
}

@Suite("Server URIs")
struct RedisURITests {
    @Test("redis:// and rediss:// URIs give host, port, user, password and database")
    func parsing() throws {
        let a = try RedisURI("redis://127.0.0.1:6380/3")
        #expect(a.host == "127.0.0.1" && a.port == 6380 && a.db == 3 && !a.usesTLS && a.user == nil && a.password == nil)
        let b = try RedisURI("rediss://replayer:p%40ss@cache.example")
        #expect(b.usesTLS && b.host == "cache.example" && b.port == 6379 && b.user == "replayer" && b.password == "p@ss")
        let c = try RedisURI("redis://:only@[::1]:7000")
        #expect(c.host == "::1" && c.port == 7000 && c.user == nil && c.password == "only")
        #expect(c.description == "redis://[::1]:7000", "the password never shows")
        #expect(try RedisURI("redis://u@h:1/").db == nil)
    }

    @Test("malformed URIs are refused", arguments: ["http://h:1", "redis://", "redis://h:0", "redis://h:x", "redis://h:1/x", "redis://[::1"])
    func malformed(text: String) {
        #expect(throws: RedisClientError.self) { _ = try RedisURI(text) }
    }

    @Test("INFO server maps to the RDB version the server reads")
    func versions() {
        #expect(RedisServerInfo(info: "redis_version:7.0.15\r\n").rdbTarget.rdbVersion == 10)
        #expect(RedisServerInfo(info: "redis_version:6.2.14\r\n").rdbTarget.rdbVersion == 9)
        #expect(RedisServerInfo(info: "redis_version:7.4.1\r\n").rdbTarget.rdbVersion == 12)
        let v = RedisServerInfo(info: "redis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:9.1.2\r\n").rdbTarget
        #expect(v.rdbVersion == 80 && v.dialect == .valkey)
        #expect(RedisServerInfo(info: "redis_version:7.2.4\r\nvalkey_version:8.0.1\r\n").rdbTarget.rdbVersion == 11)
    }
}

@Suite("RedisConnection against redis-server 7.0", .serialized)
struct RedisConnectionLiveTests {
    static func server(_ extra: [String] = []) throws -> (LiveServer, ScratchDirectory) {
        let tmp = try ScratchDirectory("client")
        let s = try LiveServer(.redis70, directory: tmp("server"), arguments: ["--appendonly", "no"] + extra)
        return (s, tmp)
    }

    @Test("a pipeline keeps at most its limit in flight and hands every reply back in order", arguments: [false, true])
    func pipelineOrder(ownSocket: Bool) throws {
        let (s, tmp) = try Self.server()
        defer { s.stop(); tmp.remove() }
        let c = try RedisConnection.connectBlocking(to: RedisURI(host: "127.0.0.1", port: Int(s.port)))
        defer { c.close() }
        var seen: [Int] = []
        let onReply: (Int, RESPValue) throws -> Void = { tag, reply in
            #expect(reply == .integer(Int64(tag + 1)))
            seen.append(tag)
        }
        let p =
            ownSocket
            ? try RedisPipeline<Int>(ownSocketTo: c, maximumInFlight: 16, batchSize: 5, onReply: onReply)
            : RedisPipeline<Int>(connection: c, maximumInFlight: 16, batchSize: 5, onReply: onReply)
        #expect(p.hasOwnSocket == ownSocket)
        for i in 0..<5000 {
            try p.send(["INCR", "counter"], tag: i)
            #expect(i + 1 - seen.count <= 16 + 5, "more than limit + one batch unanswered")
        }
        try p.drain()
        #expect(seen == Array(0..<5000))
        #expect(try c.call(["GET", "counter"]) == .bulkString(Array("5000".utf8)))
        #expect(p.commandsSent == 5000)
    }

    @Test("a pipeline's own socket opens with the connection's user, database and name, in RESP2 and RESP3", arguments: [2, 3])
    func ownSocketHandshake(resp: Int) throws {
        let (s, tmp) = try Self.server()
        defer { s.stop(); tmp.remove() }
        let admin = try LiveConnection(port: s.port)
        #expect(try admin.call(["ACL", "SETUSER", "app", "on", ">apppw", "~*", "&*", "+@all"]) == .simple("OK"))
        var o = RedisClientOptions()
        o.protocolVersion = resp
        o.clientName = "bulk-loader"
        let c = try RedisConnection.connectBlocking(to: RedisURI("redis://app:apppw@127.0.0.1:\(s.port)/3"), options: o)
        defer { c.close() }
        let p = try RedisPipeline<Int>(ownSocketTo: c) { _, _ in }
        defer { p.close() }
        let info = try p.call(["CLIENT", "INFO"]).text ?? ""
        let fields = Set(info.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        #expect(fields.isSuperset(of: ["db=3", "name=bulk-loader", "user=app", "resp=\(resp)"]), "\(info)")
        // A second client: the connection's own id differs.
        #expect(try p.call(["CLIENT", "ID"]) != c.call(["CLIENT", "ID"]))
        // A wrong password fails the second connection the way it fails the first.
        #expect(try admin.call(["ACL", "SETUSER", "app", "resetpass", ">other"]) == .simple("OK"))
        #expect {
            _ = try RedisPipeline<Int>(ownSocketTo: c) { _, _ in }
        } throws: { error in
            guard let e = error as? RedisClientError else { return false }
            return e.code == .authentication && !e.description.contains("apppw")
        }
    }

    @Test("an own-socket pipeline writes values larger than the socket buffers while replies pile up, in order")
    func ownSocketBigValues() throws {
        let (s, tmp) = try Self.server()
        defer { s.stop(); tmp.remove() }
        let c = try RedisConnection.connectBlocking(to: RedisURI(host: "127.0.0.1", port: Int(s.port)))
        defer { c.close() }
        let big = RedisBytes(Array(repeating: UInt8(ascii: "x"), count: 3 << 20))
        let medium = RedisBytes((0..<4096).map { UInt8(truncatingIfNeeded: $0 * 7) })
        var order: [Int] = []
        var bigReplies = 0
        var mediumReplies = 0
        var others: [RESPValue] = []
        // Far more replies in flight than the kernel's socket buffers hold, and values of 3 MiB: writes find
        // the socket full and must read replies meanwhile.
        let p = try RedisPipeline<Int>(
            ownSocketTo: c, maximumInFlight: 1_000_000, batchSize: 100_000, batchBytes: 64 << 20, maximumBytesInFlight: 256 << 20
        ) { tag, reply in
            order.append(tag)
            if reply == .bulkString(big.bytes) {
                bigReplies += 1
            } else if reply == .bulkString(medium.bytes) {
                mediumReplies += 1
            } else {
                others.append(reply)
            }
        }
        var n = 0
        try p.send(["SET", "medium", medium], tag: n)
        n += 1
        for round in 0..<4 {
            try p.send(["SET", RedisBytes("big:\(round)"), big], tag: n)
            try p.send(["GET", RedisBytes("big:\(round)")], tag: n + 1)
            n += 2
            for _ in 0..<12_500 {
                try p.send(["GET", "medium"], tag: n)
                n += 1
            }
        }
        try p.drain()
        #expect(order == Array(0..<n))
        #expect(bigReplies == 4 && mediumReplies == 50_000)
        #expect(others == Array(repeating: .simpleString("OK"), count: 5))
        #expect(try p.call(["STRLEN", "big:3"]) == .integer(3 << 20))
    }

    @Test("an own-socket pipeline reports a reply timeout and a closed connection, and fails after them")
    func ownSocketFailures() throws {
        let (s, tmp) = try Self.server(["--enable-debug-command", "local"])
        defer { s.stop(); tmp.remove() }
        var o = RedisClientOptions()
        o.commandTimeout = 0.3
        o.clientName = "victim"
        let c = try RedisConnection.connectBlocking(to: RedisURI(host: "127.0.0.1", port: Int(s.port)), options: o)
        defer { c.close() }
        let p = try RedisPipeline<Int>(ownSocketTo: c) { _, _ in }
        try p.send(["DEBUG", "SLEEP", "5"], tag: 0)
        let start = Date()
        #expect { try p.drain() } throws: { ($0 as? RedisClientError)?.code == .timeout }
        #expect(Date().timeIntervalSince(start) < 4.5)
        #expect { try p.send(["PING"], tag: 1); try p.drain() } throws: { ($0 as? RedisClientError)?.code == .timeout }

        // Killed by the server between commands: the replies owed fail with .closed.
        Thread.sleep(forTimeInterval: 5)  // the sleeping server answers again
        o.commandTimeout = 10
        let c2 = try RedisConnection.connectBlocking(to: RedisURI(host: "127.0.0.1", port: Int(s.port)), options: o)
        defer { c2.close() }
        let q = try RedisPipeline<Int>(ownSocketTo: c2) { _, _ in }
        let id = try q.call(["CLIENT", "ID"])
        guard case .integer(let clientID) = id else { Issue.record("CLIENT ID: \(id)"); return }
        #expect(try c2.call(["CLIENT", "KILL", "ID", RedisBytes(String(clientID))]) == .integer(1))
        #expect {
            try q.send(["PING"], tag: 0)
            try q.drain()
        } throws: { error in
            let code = (error as? RedisClientError)?.code
            return code == .closed || code == .connection
        }
    }

    @Test("RESP3 through HELLO 3 with an ACL user, and a database from the URI")
    func resp3() async throws {
        let (s, tmp) = try Self.server()
        defer { s.stop(); tmp.remove() }
        let admin = try LiveConnection(port: s.port)
        #expect(try admin.call(["ACL", "SETUSER", "app", "on", ">apppw", "~*", "&*", "+@all"]) == .simple("OK"))
        var o = RedisClientOptions()
        o.protocolVersion = 3
        let c = try await RedisConnection.connect(
            to: RedisURI("redis://app:apppw@127.0.0.1:\(s.port)/4"), options: o)
        #expect(c.protocolVersion == 3)
        _ = try await c.send(["HSET", "h", "f", "v"])
        #expect(try await c.send(["HGETALL", "h"]) == .map([.init(key: .bulkString(Array("f".utf8)), value: .bulkString(Array("v".utf8)))]))
        #expect(try await c.send(["ACL", "WHOAMI"]).text == "app")
        #expect(try await c.send(["CLIENT", "INFO"]).text?.contains(" db=4 ") == true)
        await c.closeAndWait()
    }

    @Test("a wrong password is an authentication error naming the command, never the password")
    func wrongPassword() async throws {
        let (s, tmp) = try Self.server()
        defer { s.stop(); tmp.remove() }
        // Set after start: LiveServer waits for a PONG, which a password-protected server does not give.
        #expect(try LiveConnection(port: s.port).call(["CONFIG", "SET", "requirepass", "right-one"]) == .simple("OK"))
        var o = RedisClientOptions()
        o.password = "wrong-one"
        await #expect {
            _ = try await RedisConnection.connect(to: RedisURI(host: "127.0.0.1", port: Int(s.port)), options: o)
        } throws: { error in
            guard let e = error as? RedisClientError else { return false }
            return e.code == .authentication && e.command == "AUTH" && !e.description.contains("wrong-one")
        }
    }

    @Test("a command without a reply within the timeout fails with .timeout")
    func timeout() async throws {
        let (s, tmp) = try Self.server(["--enable-debug-command", "local"])
        defer { s.stop(); tmp.remove() }
        var o = RedisClientOptions()
        o.commandTimeout = 0.3
        let c = try await RedisConnection.connect(to: RedisURI(host: "127.0.0.1", port: Int(s.port)), options: o)
        // The server sleeps 30 s before replying: failing well before that shows the 0.3 s timeout fired (the
        // bound is loose on purpose: a loaded CI machine can take seconds to schedule the failure).
        let start = Date()
        await #expect {
            _ = try await c.send(["DEBUG", "SLEEP", "30"])
        } throws: { error in
            (error as? RedisClientError)?.code == .timeout
        }
        #expect(Date().timeIntervalSince(start) < 20)
        await #expect(throws: RedisClientError.self) { _ = try await c.send(["PING"]) }
    }

    @Test("nobody listening is a connection error")
    func refused() async throws {
        let port = try LiveServer.freePort()
        await #expect {
            _ = try await RedisConnection.connect(to: RedisURI(host: "127.0.0.1", port: Int(port)))
        } throws: { error in
            (error as? RedisClientError)?.code == .connection
        }
    }
}
