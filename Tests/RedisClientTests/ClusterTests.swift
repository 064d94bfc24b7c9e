import Foundation
import NIOCore
import RedisFormats
import Testing
import _RedisFormatsTestSupport

@testable import RedisClient

@Suite("Redis Cluster: slot map and routing")
struct ClusterTopologyTests {
    static func decode(_ text: String) throws -> RESPValue {
        var buffer = ByteBuffer(string: text)
        return try #require(try RESPDecoder.parse(&buffer))
    }

    /// A node of `CLUSTER SHARDS` in RESP2 (a flat name/value array), as redis-server 7.0.15 sends it.
    static func shardNode(_ id: String, _ port: Int, _ role: String, _ health: String, endpoint: String = "127.0.0.1") -> String {
        "*14\r\n$2\r\nid\r\n$\(id.utf8.count)\r\n\(id)\r\n$4\r\nport\r\n:\(port)\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$\(endpoint.utf8.count)\r\n\(endpoint)\r\n$4\r\nrole\r\n$\(role.utf8.count)\r\n\(role)\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$\(health.utf8.count)\r\n\(health)\r\n"
    }

    static func shard(_ slots: [Int], _ nodes: [String]) -> String {
        "*4\r\n$5\r\nslots\r\n*\(slots.count)\r\n" + slots.map { ":\($0)\r\n" }.joined() + "$5\r\nnodes\r\n*\(nodes.count)\r\n" + nodes.joined()
    }

    static let ids = (1...6).map { String(repeating: Character(String($0)), count: 40) }

    @Test("CLUSTER SHARDS (RESP2, as 7.0 sends it): masters, replicas, slot ranges, unknown endpoints, TLS ports")
    func shards() throws {
        let text =
            "*3\r\n" + Self.shard([10923, 16383], [Self.shardNode(Self.ids[2], 7003, "master", "online"), Self.shardNode(Self.ids[3], 7004, "replica", "loading")])
            + Self.shard([0, 5460], [Self.shardNode(Self.ids[0], 7001, "master", "online"), Self.shardNode(Self.ids[4], 7005, "replica", "online")])
            + Self.shard([5461, 6000, 6001, 10922], [Self.shardNode(Self.ids[1], 7002, "master", "online", endpoint: "?")])
        let t = try ClusterTopology(shards: try Self.decode(text), defaultHost: "10.1.2.3")
        #expect(t.shards.count == 3)
        #expect(t.primaries.map(\.address) == ["127.0.0.1:7001", "10.1.2.3:7002", "127.0.0.1:7003"], "ordered by first slot; ? is the host asked")
        #expect(t.primary(forSlot: 0)?.port == 7001 && t.primary(forSlot: 5460)?.port == 7001)
        #expect(t.primary(forSlot: 5461)?.port == 7002 && t.primary(forSlot: 6001)?.port == 7002)
        #expect(t.primary(forSlot: 16383)?.id == Self.ids[2])
        #expect(t.shards[0].replicas.map(\.port) == [7005] && t.shards[2].replicas.first?.health == "loading")
        #expect(t.uncoveredSlots == 0)
        #expect(t.nodes.count == 5)
    }

    @Test("CLUSTER SHARDS in RESP3 (maps) and with TLS ports")
    func shardsRESP3() throws {
        func node(_ port: Int, _ tls: Int, _ role: String) -> RESPValue {
            .map([
                .init(key: .bulkString(Array("id".utf8)), value: .bulkString(Array(String(repeating: "a", count: 40).utf8))),
                .init(key: .bulkString(Array("port".utf8)), value: .integer(Int64(port))),
                .init(key: .bulkString(Array("tls-port".utf8)), value: .integer(Int64(tls))),
                .init(key: .bulkString(Array("endpoint".utf8)), value: .bulkString(Array("node.example".utf8))),
                .init(key: .bulkString(Array("role".utf8)), value: .bulkString(Array(role.utf8))),
            ])
        }
        let reply = RESPValue.array([
            .map([
                .init(key: .bulkString(Array("slots".utf8)), value: .array([.integer(0), .integer(16383)])),
                .init(key: .bulkString(Array("nodes".utf8)), value: .array([node(6379, 6380, "master"), node(6381, 6382, "replica")])),
            ])
        ])
        let plain = try ClusterTopology(shards: reply, defaultHost: "x")
        #expect(plain.primary(forSlot: 77)?.address == "node.example:6379")
        let tls = try ClusterTopology(shards: reply, defaultHost: "x", tls: true)
        #expect(tls.primary(forSlot: 77)?.address == "node.example:6380" && tls.shards[0].replicas.first?.port == 6382)
    }

    @Test("CLUSTER SLOTS (the fallback before 7.0) gives the same masters as CLUSTER SHARDS")
    func slots() throws {
        let text =
            "*3\r\n*3\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:7001\r\n$40\r\n\(Self.ids[0])\r\n*0\r\n"
            + "*4\r\n:5461\r\n:10922\r\n*3\r\n$9\r\n127.0.0.1\r\n:7002\r\n$40\r\n\(Self.ids[1])\r\n*3\r\n$0\r\n\r\n:7006\r\n$40\r\n\(Self.ids[5])\r\n"
            + "*3\r\n:10923\r\n:16383\r\n*3\r\n$9\r\n127.0.0.1\r\n:7003\r\n$40\r\n\(Self.ids[2])\r\n"
        let t = try ClusterTopology(slots: try Self.decode(text), defaultHost: "10.9.9.9")
        #expect(t.primaries.map(\.port) == [7001, 7002, 7003])
        #expect(t.shards[1].replicas.map(\.address) == ["10.9.9.9:7006"], "an empty ip is the host asked")
        #expect(t.primary(forSlot: 10922)?.id == Self.ids[1])
    }

    @Test("a MOVED slot is reassigned without touching the others; an unknown master becomes a shard")
    func assign() throws {
        var t = ClusterTopology(shards: [
            .init(slots: [0...8191], primary: .init(id: "a", host: "h", port: 1, isPrimary: true), replicas: []),
            .init(slots: [8192...16383], primary: .init(id: "b", host: "h", port: 2, isPrimary: true), replicas: []),
        ])
        t.assign(slot: 100, to: "h", port: 2)
        #expect(t.primary(forSlot: 100)?.port == 2 && t.primary(forSlot: 99)?.port == 1 && t.primary(forSlot: 101)?.port == 1)
        t.assign(slot: 0, to: "h", port: 3)
        #expect(t.primary(forSlot: 0)?.port == 3 && t.shards.count == 3)
        #expect(t.uncoveredSlots == 0)
    }

    @Test("replies that are not slot maps are refused", arguments: ["*1\r\n:1\r\n", "+OK\r\n", "*1\r\n*4\r\n$5\r\nslots\r\n*1\r\n:1\r\n$5\r\nnodes\r\n*0\r\n"])
    func malformed(text: String) throws {
        let v = try Self.decode(text)
        #expect(throws: RedisClientError.self) { _ = try ClusterTopology(shards: v, defaultHost: "h") }
        #expect(throws: RedisClientError.self) { _ = try ClusterTopology(slots: v, defaultHost: "h") }
    }

    // MARK: Routing

    static func argv(_ s: String...) -> [RedisBytes] { s.map { RedisBytes($0) } }

    @Test("keys route by CRC16 slot, a {tag} hashes alone, keyless commands go anywhere, FLUSHALL and FUNCTION everywhere")
    func plans() {
        #expect(ClusterSlot.slot(of: "foo") == 12182)
        #expect(ClusterRouting.plan(Self.argv("SET", "foo", "1")) == .slot(12182))
        #expect(ClusterRouting.plan(Self.argv("RPUSH", "{user1000}.following", "x")) == .slot(ClusterSlot.slot(of: "user1000")))
        #expect(ClusterRouting.plan(Self.argv("XGROUP", "CREATE", "foo", "g", "$")) == .slot(12182))
        #expect(ClusterRouting.plan(Self.argv("EVAL", "return 1", "2", "{t}a", "{t}b", "arg")) == .slot(ClusterSlot.slot(of: "t")))
        #expect(ClusterRouting.plan(Self.argv("ZUNIONSTORE", "{t}d", "2", "{t}a", "{t}b")) == .slot(ClusterSlot.slot(of: "t")))
        #expect(ClusterRouting.plan(Self.argv("PING")) == .anyNode)
        #expect(ClusterRouting.plan(Self.argv("FLUSHALL")) == .everyPrimary)
        #expect(ClusterRouting.plan(Self.argv("function", "load", "REPLACE", "#!lua name=x")) == .everyPrimary)
    }

    @Test("DEL, UNLINK, EXISTS, TOUCH and MSET over several slots split per slot; MSETNX, RENAME, SUNIONSTORE and scripts do not")
    func splits() {
        let a = ClusterSlot.slot(of: "a")
        let b = ClusterSlot.slot(of: "b")
        #expect(a != b)
        #expect(
            ClusterRouting.plan(Self.argv("DEL", "a", "b", "{a}x"))
                == .split([.init(slot: a, argv: Self.argv("DEL", "a", "{a}x")), .init(slot: b, argv: Self.argv("DEL", "b"))]))
        #expect(
            ClusterRouting.plan(Self.argv("MSET", "b", "1", "a", "2", "{b}c", "3"))
                == .split([.init(slot: b, argv: Self.argv("MSET", "b", "1", "{b}c", "3")), .init(slot: a, argv: Self.argv("MSET", "a", "2"))]))
        #expect(ClusterRouting.plan(Self.argv("UNLINK", "{a}1", "{a}2")) == .slot(a))
        #expect(ClusterRouting.plan(Self.argv("MSETNX", "a", "1", "b", "2")) == .crossSlot([a, b]))
        #expect(ClusterRouting.plan(Self.argv("RENAME", "a", "b")) == .crossSlot([a, b]))
        #expect(ClusterRouting.plan(Self.argv("SUNIONSTORE", "a", "b")) == .crossSlot([a, b]))
        #expect(ClusterRouting.plan(Self.argv("FCALL", "f", "2", "a", "b")) == .crossSlot([a, b]))
        #expect(ClusterRouting.slots(of: Self.argv("SET", "a", "b")) == [a], "the value is not a key")
    }
}
