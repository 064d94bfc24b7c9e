import RedisFormats
import RedisKeyspace
import Testing
import _RedisFormatsTestSupport

/// The engine keeps a big sorted set's rank order lazily and patches it in place for a few changes between
/// ranked reads; these runs check that order against a plain model under long mixes of writes and pops.
@Suite("Sorted set rank order under mixed writes")
struct SortedSetRankOrderTests {
    /// The model's members in Redis order.
    static func ordered(_ model: [RedisBytes: Double]) -> [SortedSetEntry] {
        model.map { SortedSetEntry(member: $0.key, score: $0.value) }.sorted(by: SortedSetValue.precedes)
    }

    @Test(
        "ZADD, ZINCRBY, ZREM, ZPOPMIN/ZPOPMAX and ZREMRANGEBYRANK on a big set agree with a sorted model",
        arguments: [UInt64(7), 8])
    func mixedWorkload(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let ks = Keyspace()
        let engine = CommandEngine(keyspace: ks)
        var model: [RedisBytes: Double] = [:]
        func member() -> RedisBytes { RedisBytes("m\(rng.next() % 2500)") }
        // Start big: 1500 members in one ZADD.
        var add: [RedisBytes] = ["ZADD", "z"]
        for i in 0..<1500 {
            let m = RedisBytes("m\(i)")
            let s = Double(rng.next() % 1000)
            add += [RedisBytes(String(Int(s))), m]
            model[m] = s
        }
        try engine.apply(add)
        for step in 0..<2000 {
            switch rng.next() % 8 {
            case 0, 1:
                let m = member()
                let s = Double(Int(rng.next() % 2000) - 1000) / 4
                try engine.apply(["ZADD", "z", RedisBytes(RedisNumbers.formatReply(s)), m])
                model[m] = s
            case 2:
                let m = member()
                let reply = try engine.apply(["ZINCRBY", "z", "1.5", m])
                model[m, default: 0] += 1.5
                #expect(reply == .bulk(RedisBytes(RedisNumbers.formatReply(model[m]!))))
            case 3:
                let m = member()
                let reply = try engine.apply(["ZREM", "z", m])
                #expect(reply == .integer(model.removeValue(forKey: m) == nil ? 0 : 1))
            case 4, 5:
                let max = rng.next() % 2 == 0
                let n = Int(rng.next() % 3) + 1
                let reply = try engine.apply([max ? "ZPOPMAX" : "ZPOPMIN", "z", RedisBytes(String(n))])
                var all = Self.ordered(model)
                if max { all.reverse() }
                let want = all.prefix(n)
                for e in want { model[e.member] = nil }
                #expect(
                    reply
                        == .array(
                            want.flatMap { [.bulk($0.member), .bulk(RedisBytes(RedisNumbers.formatReply($0.score)))] }),
                    "step \(step)")
            case 6:
                let start = Int(rng.next() % 20)
                let reply = try engine.apply([
                    "ZREMRANGEBYRANK", "z", RedisBytes(String(start)), RedisBytes(String(start + 2)),
                ])
                let all = Self.ordered(model)
                let gone = all.count > start ? all[start..<min(all.count, start + 3)] : []
                for e in gone { model[e.member] = nil }
                #expect(reply == .integer(Int64(gone.count)), "step \(step)")
            default:
                // A ranked read in the middle of the writes.
                guard case .sortedSet(let z)? = ks.value(db: 0, key: "z") else {
                    #expect(model.isEmpty)
                    continue
                }
                #expect(z.sortedEntries == Self.ordered(model), "step \(step)")
            }
        }
        guard case .sortedSet(let z)? = ks.value(db: 0, key: "z") else {
            #expect(model.isEmpty)
            return
        }
        #expect(z.count == model.count)
        #expect(z.sortedEntries == Self.ordered(model))
    }

    @Test(
        "After a ranked read a big sorted set patches its rank order for a few writes, then drops it so writes stay O(1)"
    )
    func rankOrderUpkeep() throws {
        let ks = Keyspace()
        let engine = CommandEngine(keyspace: ks)
        var add: [RedisBytes] = ["ZADD", "board"]
        for i in 0..<20_000 { add += [RedisBytes(String(i % 977)), RedisBytes("player:\(i)")] }
        try engine.apply(add)
        guard case .sortedSet(let z)? = ks.value(db: 0, key: "board") else {
            Issue.record("board is missing")
            return
        }
        #expect(!z.isRankOrderBuilt, "ZADD alone must not sort")
        #expect(try engine.apply(["ZPOPMIN", "board"]) == .array([.bulk("player:0"), .bulk("0")]))
        #expect(z.isRankOrderBuilt)
        func freshOrder() -> [SortedSetEntry] {
            var all: [SortedSetEntry] = []
            z.forEachEntry { all.append(SortedSetEntry(member: $0, score: $1)) }
            return all.sorted(by: SortedSetValue.precedes)
        }
        var updates = 0
        for i in 0..<(SortedSetValue.maxCacheUpdates / 2) {
            // A changed score is a removal and an insertion in the kept order.
            try engine.apply(["ZINCRBY", "board", "-2000", RedisBytes("player:\(i * 613 + 1)")])
            updates += 2
            if updates > SortedSetValue.maxCacheUpdates { break }
        }
        #expect(z.isRankOrderBuilt)
        #expect(z.sortedEntries == freshOrder())
        #expect(try engine.apply(["ZPOPMIN", "board"]) == .array([.bulk("player:1"), .bulk("-1999")]))
        for i in 0..<1000 { try engine.apply(["ZINCRBY", "board", "1", RedisBytes("player:\(i * 7 + 3)")]) }
        #expect(!z.isRankOrderBuilt, "a long run of writes must not keep shifting the order")
        #expect(z.sortedEntries == freshOrder())
        #expect(z.count == 19_998)
    }

    @Test("Draining a big sorted set with ZPOPMIN pops in rank order, with writes and ZPOPMAX in between")
    func drain() throws {
        let ks = Keyspace()
        let engine = CommandEngine(keyspace: ks)
        var model: [SortedSetEntry] = []
        var add: [RedisBytes] = ["ZADD", "q"]
        for i in 0..<5000 {
            let e = SortedSetEntry(member: RedisBytes("job:\(i)"), score: Double((i * 7919) % 5000))
            model.append(e)
            add += [RedisBytes(String(Int(e.score))), e.member]
        }
        try engine.apply(add)
        model.sort(by: SortedSetValue.precedes)
        var mismatches = 0
        for step in 0..<4000 {
            if step % 700 == 699 {
                // A write in the middle of the drain lands in the kept order.
                let e = SortedSetEntry(member: RedisBytes("late:\(step)"), score: Double(step) + 0.5)
                try engine.apply(["ZADD", "q", RedisBytes(RedisNumbers.formatReply(e.score)), e.member])
                model.insert(e, at: model.firstIndex { SortedSetValue.precedes(e, $0) } ?? model.count)
            }
            let fromTop = step % 250 == 249
            let reply = try engine.apply([fromTop ? "ZPOPMAX" : "ZPOPMIN", "q"])
            let want = fromTop ? model.removeLast() : model.removeFirst()
            if reply != .array([.bulk(want.member), .bulk(RedisBytes(RedisNumbers.formatReply(want.score)))]) {
                mismatches += 1
            }
        }
        #expect(mismatches == 0)
        guard case .sortedSet(let z)? = ks.value(db: 0, key: "q") else {
            Issue.record("q is gone")
            return
        }
        #expect(z.sortedEntries == model)
        #expect(
            try engine.apply(["ZPOPMIN", "q", "100000"])
                == .array(model.flatMap { [.bulk($0.member), .bulk(RedisBytes(RedisNumbers.formatReply($0.score)))] }))
        #expect(ks.value(db: 0, key: "q") == nil)
    }
}
