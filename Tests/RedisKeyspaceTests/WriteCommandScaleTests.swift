import RedisFormats
import RedisKeyspace
import Testing

/// Big values must stay cheap per command (an AOF can hold millions of HSET or XADD on one key): these run many
/// commands on one key and check the outcome; a per-command cost that grew with the value would make them crawl.
@Suite("Write commands on big values")
struct WriteCommandScaleTests {
    func apply(_ e: CommandEngine, _ argv: [String]) throws -> Reply { try e.apply(argv.map { RedisBytes($0) }) }

    @Test("100k HSET and HINCRBY on one hash, then HDEL of them all")
    func bigHash() throws {
        let e = CommandEngine(keyspace: Keyspace())
        let clock = ContinuousClock()
        let t = clock.measure {
            for i in 0..<100_000 { _ = try? apply(e, ["HSET", "h", "field:\(i)", "value:\(i)"]) }
            for i in stride(from: 0, to: 100_000, by: 7) { _ = try? apply(e, ["HINCRBY", "h", "n:\(i % 100)", "1"]) }
        }
        guard case .hash(let h)? = e.keyspace.value(db: 0, key: RedisBytes("h")) else {
            Issue.record("no hash")
            return
        }
        #expect(h.count == 100_100)
        #expect(h.get(RedisBytes("n:0")) == RedisBytes(String(Array(stride(from: 0, to: 100_000, by: 7)).filter { $0 % 100 == 0 }.count)))
        for i in 0..<100_000 { _ = try apply(e, ["HDEL", "h", "field:\(i)"]) }
        for i in 0..<100 { _ = try apply(e, ["HDEL", "h", "n:\(i)"]) }
        #expect(!e.keyspace.exists(db: 0, key: RedisBytes("h")))
        print("100k HSET + 14k HINCRBY: \(t)")
    }

    @Test("100k XADD with MAXLEN, a group reading and acknowledging them all")
    func bigStream() throws {
        let e = CommandEngine(keyspace: Keyspace())
        _ = try apply(e, ["XGROUP", "CREATE", "s", "g", "0", "MKSTREAM"])
        let clock = ContinuousClock()
        let t = clock.measure {
            for i in 1...100_000 {
                _ = try? apply(e, ["XADD", "s", "MAXLEN", "=", "50000", "\(i)-0", "temp", "\(i % 50)", "site", "a"])
                if i % 10 == 0 {
                    _ = try? apply(e, ["XCLAIM", "s", "g", "c", "0", "\(i)-0", "FORCE", "JUSTID", "LASTID", "\(i)-0"])
                    _ = try? apply(e, ["XACK", "s", "g", "\(i)-0"])
                }
            }
        }
        guard case .stream(let sv)? = e.keyspace.value(db: 0, key: RedisBytes("s")) else {
            Issue.record("no stream")
            return
        }
        let s = sv.stream
        #expect(s.metadata.length == 50_000)
        #expect(s.metadata.entriesAdded == 100_000)
        #expect(s.metadata.firstID == StreamID(ms: 50_001, seq: 0))
        #expect(s.entries.count == 50_000)
        #expect(s.groups.first?.lastDeliveredID == StreamID(ms: 100_000, seq: 0))
        #expect(s.groups.first?.pending.isEmpty == true)
        print("100k XADD + 10k XCLAIM/XACK: \(t)")
    }

    @Test("50k SETBIT on a 1 MiB bitmap and 20k PFADD change the string in place")
    func bigStrings() throws {
        let e = CommandEngine(keyspace: Keyspace())
        let clock = ContinuousClock()
        let t = clock.measure {
            _ = try? apply(e, ["SETBIT", "b", "\(8 * 1024 * 1024 - 1)", "1"])
            for i in 0..<50_000 { _ = try? apply(e, ["SETBIT", "b", "\(i * 97)", "1"]) }
            for i in 0..<20_000 { _ = try? apply(e, ["PFADD", "p", "e\(i)"]) }
        }
        guard case .string(let b)? = e.keyspace.value(db: 0, key: RedisBytes("b")),
            case .string(let p)? = e.keyspace.value(db: 0, key: RedisBytes("p"))
        else {
            Issue.record("missing")
            return
        }
        #expect(b.count == 1024 * 1024)
        #expect(b.bytes.reduce(0) { $0 + $1.nonzeroBitCount } == 50_001)
        #expect(p.count == 12304)
        print("50k SETBIT on 1 MiB + 20k PFADD: \(t)")
    }
}
