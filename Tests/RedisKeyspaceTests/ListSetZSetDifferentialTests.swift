import RedisFormats
import RedisKeyspace
import Testing
import _RedisFormatsTestSupport


extension DifferentialHarness {
    /// Runs `commands` in batches, comparing the whole keyspace after each batch.
    fileprivate func runInBatches(
        _ commands: [[String]], batch: Int = 250, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var i = 0
        while i < commands.count {
            var end = min(i + batch, commands.count)
            // Never compare inside MULTI … EXEC (the comparison's own commands would be queued).
            var open = false
            for c in commands[i..<end] {
                let name = c[0].uppercased()
                if name == "MULTI" { open = true } else if name == "EXEC" || name == "DISCARD" { open = false }
            }
            while open && end < commands.count {
                let name = commands[end][0].uppercased()
                if name == "EXEC" || name == "DISCARD" { open = false }
                end += 1
            }
            try run(Array(commands[i..<end]), sourceLocation: sourceLocation)
            try compareKeyspace(sourceLocation: sourceLocation)
            i = end
        }
    }
}

/// `n` distinct elements `prefix0 … prefixN`.
fileprivate func numbered(_ prefix: String, _ n: Int, from start: Int = 0) -> [String] {
    (start..<(start + n)).map { "\(prefix)\($0)" }
}

/// 100 bytes: over the 64-byte listpack value limit.
fileprivate let longElement = String(repeating: "long-", count: 20)

@Suite(
    "List, set and sorted set commands against redis-server 7.0", .serialized,
    .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70))
)
struct ListSetZSetDifferentialTests {
    // MARK: Lists

    @Test("Pushes and pops (with counts) give the server's replies, errors and keyspace")
    func listPushPop() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["LPUSH", "l", "a", "b", "c"], ["RPUSH", "l", "d", "e"], ["LPUSHX", "nol", "x"], ["RPUSHX", "nol", "x"],
            ["LPUSHX", "l", "z"], ["RPUSHX", "l", "y", "w"], ["SET", "str", "v"], ["LPUSH", "str", "x"],
            ["RPUSH", "str", "x"], ["LPUSHX", "str", "x"], ["RPUSHX", "str", "x"], ["LPOP", "str"],
            ["RPOP", "str", "2"],
            ["LPUSH", "l"], ["LPOP"], ["LPOP", "l"], ["RPOP", "l"], ["LPOP", "l", "2"], ["RPOP", "l", "2"],
            ["LPOP", "l", "0"], ["RPOP", "l", "0"], ["LPOP", "nol"], ["LPOP", "nol", "2"], ["RPOP", "nol", "0"],
            ["LPOP", "l", "-1"], ["LPOP", "l", "x"], ["RPOP", "l", "1.5"], ["LPOP", "l", "1", "2"],
            ["RPOP", "l", "1", "2"],
            ["LPOP", "nol", "-1"], ["LPOP", "str", "0"], ["RPOP", "l", "100"], ["LPOP", "l"], ["RPUSH", "one", "x"],
            ["LPOP", "one"], ["RPUSH", "one", "x"], ["RPOP", "one", "1"],
        ])
        try h.compareKeyspace()
        // Big lists: many nodes, long elements, pops across node boundaries.
        try h.run([
            ["RPUSH", "big"] + numbered("e", 300), ["LPUSH", "big"] + numbered("f", 300),
            ["RPUSH", "big", longElement],
        ])
        try h.compareKeyspace()
        try h.run([
            ["LPOP", "big", "150"], ["RPOP", "big", "170"], ["LPOP", "big"], ["RPOP", "big"],
            ["RPUSH", "big", longElement, "1", "-2"],
            ["LPUSH", "big", longElement], ["RPOP", "big", "3"],
        ])
        try h.compareKeyspace()
        try h.run([["LPOP", "big", "1000"], ["LPOP", "big"]])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("LINSERT, LSET, LREM and LTRIM on small and big lists")
    func listEdits() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["SET", "str", "v"], ["RPUSH", "li", "a", "b", "c", "b"], ["LINSERT", "li", "BEFORE", "b", "X"],
            ["LINSERT", "li", "after", "b", "Y"], ["LINSERT", "li", "BEFORE", "zz", "Q"],
            ["LINSERT", "nol", "BEFORE", "a", "b"],
            ["LINSERT", "li", "MIDDLE", "a", "b"], ["LINSERT", "nol", "MIDDLE", "a", "b"],
            ["LINSERT", "str", "BEFORE", "a", "b"],
            ["LINSERT", "str", "NEAR", "a", "b"], ["LINSERT", "li", "AFTER", "c", longElement],
            ["LINSERT", "li", "BEFORE", "a"],
            ["LSET", "li", "0", "S"], ["LSET", "li", "-1", "T"], ["LSET", "li", "100", "U"],
            ["LSET", "li", "-100", "U"],
            ["LSET", "nol", "0", "x"], ["LSET", "str", "0", "x"], ["LSET", "li", "x", "y"], ["LSET", "nol", "x", "y"],
            ["LSET", "str", "x", "y"], ["LSET", "li", "2", longElement], ["LSET", "li", "2", ""],
            ["RPUSH", "lr", "a", "b", "a", "c", "a", "b", "a"], ["LREM", "lr", "2", "a"], ["LREM", "lr", "-1", "a"],
            ["LREM", "lr", "0", "b"], ["LREM", "lr", "0", "zz"], ["LREM", "nol", "1", "a"], ["LREM", "lr", "x", "a"],
            ["LREM", "nol", "x", "a"], ["LREM", "str", "1", "a"], ["LREM", "lr", "-9223372036854775808", "c"],
            ["LREM", "lr", "9223372036854775807", "a"], ["RPUSH", "lt"] + numbered("t", 10),
            ["LTRIM", "lt", "1", "-2"],
            ["LTRIM", "lt", "-100", "100"], ["LTRIM", "lt", "-3", "-1"], ["LTRIM", "lt", "0", "0"],
            ["LTRIM", "lt", "5", "2"],
            ["LTRIM", "nol", "0", "1"], ["LTRIM", "str", "0", "1"], ["LTRIM", "lt", "a", "1"],
            ["LTRIM", "nol", "0", "b"],
            ["RPUSH", "lt2", "a", "b"], ["LTRIM", "lt2", "2", "10"], ["RPUSH", "lt3", "a", "b"],
            ["LTRIM", "lt3", "-9223372036854775808", "9223372036854775807"],
            ["LTRIM", "lt3", "9223372036854775807", "-9223372036854775808"],
        ])
        try h.compareKeyspace()
        // The same on a list of several nodes, with long elements mixed in.
        var big = numbered("v", 400)
        for i in stride(from: 0, to: big.count, by: 37) { big[i] = longElement + "\(i)" }
        for i in stride(from: 5, to: big.count, by: 11) { big[i] = "dup" }
        try h.run([
            ["RPUSH", "big"] + big, ["LINSERT", "big", "BEFORE", "v200", "ins1"],
            ["LINSERT", "big", "AFTER", "v399", "ins2"],
            ["LINSERT", "big", "AFTER", longElement + "37", "ins3"], ["LSET", "big", "250", "set250"],
            ["LSET", "big", "-1", longElement],
            ["LSET", "big", "401", "x"], ["LSET", "big", "402", "x"], ["LSET", "big", "403", "x"],
            ["LREM", "big", "3", "dup"],
            ["LREM", "big", "-4", "dup"], ["LREM", "big", "0", "v1"],
        ])
        try h.compareKeyspace()
        try h.run([
            ["LREM", "big", "0", "dup"], ["LTRIM", "big", "10", "-20"], ["LTRIM", "big", "100", "250"],
            ["LTRIM", "big", "1", "0"],
        ])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("LMOVE, RPOPLPUSH and LMPOP, including rotation of one list and every error")
    func listMoves() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["SET", "str", "v"], ["RPUSH", "src", "1", "2", "3", "4"], ["LMOVE", "src", "dst", "LEFT", "RIGHT"],
            ["LMOVE", "src", "dst", "right", "left"], ["LMOVE", "src", "src", "LEFT", "RIGHT"],
            ["LMOVE", "src", "src", "RIGHT", "RIGHT"],
            ["LMOVE", "src", "str", "LEFT", "LEFT"], ["LMOVE", "str", "dst", "LEFT", "LEFT"],
            ["LMOVE", "nol", "dst", "LEFT", "LEFT"],
            ["LMOVE", "nol", "str", "LEFT", "LEFT"], ["LMOVE", "src", "dst", "UP", "LEFT"],
            ["LMOVE", "src", "dst", "LEFT", "DOWN"],
            ["LMOVE", "str", "dst", "UP", "LEFT"], ["LMOVE", "src", "dst", "LEFT"], ["RPOPLPUSH", "src", "dst"],
            ["RPOPLPUSH", "src", "dst"], ["RPOPLPUSH", "nol", "dst"], ["RPOPLPUSH", "dst", "str"],
            ["RPOPLPUSH", "str", "dst"],
            ["RPUSH", "one", "x"], ["LMOVE", "one", "one", "LEFT", "LEFT"], ["RPOPLPUSH", "one", "one"],
            ["LMOVE", "one", "new", "LEFT", "LEFT"],
            ["LMPOP", "2", "nol", "dst", "LEFT"], ["LMPOP", "2", "nol", "dst", "RIGHT", "COUNT", "2"],
            ["LMPOP", "1", "nol", "LEFT"],
            ["LMPOP", "0", "dst", "LEFT"], ["LMPOP", "-1", "dst", "LEFT"], ["LMPOP", "x", "dst", "LEFT"],
            ["LMPOP", "3", "a", "b", "LEFT"],
            ["LMPOP", "1", "dst", "UP"], ["LMPOP", "1", "dst", "LEFT", "COUNT", "0"],
            ["LMPOP", "1", "dst", "LEFT", "COUNT", "x"],
            ["LMPOP", "1", "dst", "LEFT", "COUNT", "-2"], ["LMPOP", "1", "dst", "LEFT", "COUNT", "1", "COUNT", "1"],
            ["LMPOP", "1", "dst", "LEFT", "FOO"], ["LMPOP", "1", "dst", "LEFT", "COUNT"],
            ["LMPOP", "2", "str", "dst", "LEFT"],
            ["LMPOP", "2", "nol", "str", "LEFT"], ["LMPOP", "2", "dst", "str", "LEFT"], ["LMPOP", "1", "dst"],
            ["LMPOP", "1", "dst", "RIGHT", "COUNT", "100"], ["LMPOP", "1", "dst", "LEFT"],
        ])
        try h.compareKeyspace()
        try h.run([
            ["RPUSH", "bigsrc"] + numbered("m", 300), ["RPUSH", "bigdst", longElement],
            ["LMOVE", "bigsrc", "bigdst", "LEFT", "LEFT"],
            ["LMOVE", "bigsrc", "bigdst", "RIGHT", "RIGHT"], ["RPOPLPUSH", "bigdst", "bigsrc"],
            ["LMPOP", "2", "x", "bigsrc", "LEFT", "COUNT", "140"],
            ["LMPOP", "1", "bigsrc", "RIGHT", "COUNT", "140"], ["LMOVE", "bigsrc", "bigsrc", "LEFT", "RIGHT"],
        ])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("Blocking list pops run at once when they can, and answer a timeout otherwise")
    func listBlocking() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        // The server waits out 0.01 s timeouts on empty keys; the engine answers at once with the same null.
        try h.run([
            ["SET", "str", "v"], ["RPUSH", "b1", "x", "y", "z"], ["BLPOP", "nob", "b1", "0"],
            ["BRPOP", "b1", "nob", "0"],
            ["BLPOP", "nob", "0.01"], ["BRPOP", "nob", "nob2", "0.01"], ["BLPOP", "b1", "x"], ["BLPOP", "b1", "-1"],
            ["BLPOP", "b1", "-0.0001"], ["BLPOP", "b1", "inf"], ["BLPOP", "b1", "1e400"], ["BLPOP", "b1", ""],
            ["BLPOP", "b1"],
            ["BLPOP", "str", "0"], ["BLPOP", "nob", "str", "0"], ["BLPOP", "b1", "str", "0.5"], ["BRPOP", "b1", "1.5"],
            ["RPUSH", "m1", "a", "b", "c"], ["BLMOVE", "m1", "m2", "LEFT", "RIGHT", "0"],
            ["BLMOVE", "m1", "m2", "RIGHT", "LEFT", "0.5"],
            ["BLMOVE", "m1", "str", "LEFT", "RIGHT", "0"],
            ["BLMOVE", "str", "m2", "LEFT", "RIGHT", "0"], ["BLMOVE", "m1", "m2", "UP", "RIGHT", "x"],
            ["BLMOVE", "m1", "m2", "LEFT", "RIGHT", "x"],
            ["BLMOVE", "m1", "m2", "LEFT", "RIGHT", "-1"], ["BRPOPLPUSH", "m1", "m2", "0"], ["BLPOP", "b1", "9.3e15"],
            ["BRPOPLPUSH", "m2", "m2", "0"], ["BRPOPLPUSH", "m2", "str", "0"], ["BRPOPLPUSH", "m2", "m3", "y"],
            ["BLMPOP", "0.01", "2", "nob", "m2", "LEFT", "COUNT", "2"], ["BLMPOP", "0.01", "1", "nob", "LEFT"],
            ["BLMPOP", "x", "1", "m2", "LEFT"], ["BLMPOP", "0", "0", "m2", "LEFT"], ["BLMPOP", "x", "0", "m2", "LEFT"],
            ["BLMPOP", "0", "1", "m2", "MIDDLE"], ["BLMPOP", "0", "1", "str", "LEFT"],
            ["BLMPOP", "-1", "1", "m2", "RIGHT"],
            ["BLMPOP", "0", "2", "m2", "m3", "RIGHT", "COUNT", "10"],
            // Inside MULTI a server may not block: what an AOF's blocking commands did is what runs.
            ["MULTI"], ["BLPOP", "nob", "0"], ["BRPOPLPUSH", "nob", "x", "0"],
            ["BLMOVE", "nob", "m2", "LEFT", "RIGHT", "0"],
            ["BLMPOP", "0", "1", "nob", "LEFT"], ["RPUSH", "nob", "v"], ["BLMOVE", "nob", "m2", "LEFT", "RIGHT", "0"],
            ["EXEC"],
        ])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("A seeded random list sequence matches the server after every batch", arguments: [UInt64(1), 2])
    func listRandom(seed: UInt64) throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        var rng = SeededGenerator(seed: seed)
        let keys = ["l1", "l2", "l3", "s"]
        let pool = ["a", "b", "c", "1", "-7", "", longElement]
        func key() -> String { keys.randomElement(using: &rng)! }
        func element() -> String { rng.next() % 5 == 0 ? "e\(rng.next() % 500)" : pool.randomElement(using: &rng)! }
        func index() -> String { String(Int(rng.next() % 60) - 30) }
        func end() -> String { rng.next() % 2 == 0 ? "LEFT" : "RIGHT" }
        var commands: [[String]] = [["SET", "s", "string"]]
        for _ in 0..<3000 {
            switch rng.next() % 20 {
            case 0, 1, 2:
                let n = rng.next() % 8 == 0 ? 150 : Int(rng.next() % 5) + 1
                commands.append([rng.next() % 2 == 0 ? "LPUSH" : "RPUSH", key()] + (0..<n).map { _ in element() })
            case 3: commands.append([rng.next() % 2 == 0 ? "LPUSHX" : "RPUSHX", key(), element()])
            case 4: commands.append([rng.next() % 2 == 0 ? "LPOP" : "RPOP", key()])
            case 5: commands.append([rng.next() % 2 == 0 ? "LPOP" : "RPOP", key(), String(rng.next() % 40)])
            case 6: commands.append(["LINSERT", key(), rng.next() % 2 == 0 ? "BEFORE" : "AFTER", element(), element()])
            case 7: commands.append(["LSET", key(), index(), element()])
            case 8: commands.append(["LREM", key(), String(Int(rng.next() % 7) - 3), element()])
            case 9: commands.append(["LTRIM", key(), index(), index()])
            case 10, 11: commands.append(["LMOVE", key(), key(), end(), end()])
            case 12: commands.append(["RPOPLPUSH", key(), key()])
            case 13:
                commands.append(
                    ["LMPOP", "2", key(), key(), end()]
                        + (rng.next() % 2 == 0 ? ["COUNT", String(rng.next() % 30 + 1)] : []))
            case 14: commands.append([rng.next() % 2 == 0 ? "BLPOP" : "BRPOP", key(), key(), "0.01"])
            case 15:
                commands += [
                    ["MULTI"], ["BLMOVE", key(), key(), end(), end(), "0"], ["BRPOPLPUSH", key(), key(), "0"], ["EXEC"],
                ]
            case 16: commands.append(["BLMPOP", "0.01", "1", key(), end(), "COUNT", String(rng.next() % 5 + 1)])
            case 17: commands.append(["LINSERT", key(), "BEFORE", "a", longElement])
            default: commands.append(["RPUSH", key(), element(), element()])
            }
        }
        try h.runInBatches(commands)
        #expect(h.problems.isEmpty)
    }

    @Test("Changing a collection keeps its TTL; the STORE commands and a recreated key do not")
    func ttlsAcrossWrites() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["RPUSH", "l", "a", "b"], ["PEXPIRE", "l", "500000"], ["RPUSH", "l", "c"], ["LPOP", "l"],
            ["LSET", "l", "0", "x"],
            ["LINSERT", "l", "AFTER", "x", "y"], ["LREM", "l", "1", "y"], ["LTRIM", "l", "0", "5"],
            ["RPUSH", "l2", "z"],
            ["PEXPIRE", "l2", "400000"], ["LMOVE", "l", "l2", "LEFT", "LEFT"], ["RPOPLPUSH", "l2", "l3"],
            ["LPOP", "l", "10"],
            ["RPUSH", "l", "new"], ["SADD", "s", "1", "2"], ["PEXPIRE", "s", "500000"], ["SADD", "s", "a"],
            ["SREM", "s", "1"],
            ["SMOVE", "s", "s2", "a"], ["SADD", "d", "q"], ["PEXPIRE", "d", "500000"], ["SUNIONSTORE", "d", "s", "s2"],
            ["ZADD", "z", "1", "a", "2", "b"], ["PEXPIRE", "z", "500000"], ["ZINCRBY", "z", "5", "a"],
            ["ZREM", "z", "b"],
            ["ZADD", "z", "3", "c"], ["ZPOPMIN", "z"], ["ZREMRANGEBYSCORE", "z", "100", "200"],
            ["ZADD", "zd", "1", "q"],
            ["PEXPIRE", "zd", "500000"], ["ZRANGESTORE", "zd", "z", "0", "-1"], ["ZADD", "zu", "1", "q"],
            ["PEXPIRE", "zu", "500000"],
            ["ZUNIONSTORE", "zu", "2", "z", "s"], ["ZPOPMIN", "z", "5"], ["ZADD", "z", "1", "back"],
        ])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    // MARK: Sets

    @Test("SADD, SREM and SMOVE across intset, small and big sets, with every error")
    func setWrites() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["SET", "str", "v"], ["SADD", "s", "1", "2", "3", "2"], ["SADD", "s", "-5", "9223372036854775807"],
            ["SADD", "s", "a", "1"],
            ["SADD", "str", "x"], ["SADD", "s"], ["SREM", "s", "1", "zz", "a"], ["SREM", "nos", "x"],
            ["SREM", "str", "x"], ["SREM", "s"],
            ["SADD", "e", "only"], ["SREM", "e", "only", "more"], ["SADD", "ints"] + (0..<600).map(String.init),
            ["SADD", "ints", "07"], ["SREM", "ints", "07", "5", "599"], ["SADD", "many"] + numbered("m", 200),
            ["SADD", "longs", longElement], ["SADD", "longs", "x", "1"], ["SREM", "many"] + numbered("m", 100),
            ["SMOVE", "nos", "d", "x"], ["SMOVE", "nos", "str", "x"], ["SMOVE", "str", "d", "x"],
            ["SMOVE", "s", "str", "2"],
            ["SMOVE", "s", "s", "2"], ["SMOVE", "s", "s", "zz"], ["SMOVE", "s", "d", "zz"], ["SMOVE", "s", "d", "2"],
            ["SMOVE", "s", "d", "2"], ["SMOVE", "ints", "d", "300"], ["SMOVE", "many", "d", "m150"],
            ["SMOVE", "longs", "d", longElement],
            ["SADD", "one", "x"], ["SMOVE", "one", "d", "x"], ["SADD", "one", "y"], ["SMOVE", "one", "newset", "y"],
            ["SMOVE", "s", "d"],
        ])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    /// Runs SPOP key count on both sides. The picks differ (the server's are random), so this checks the counts,
    /// that every pick was a member, that the engine took its documented picks (the first members by bytes), and
    /// then makes the server's set equal to the engine's so that the keyspaces can still be compared.
    func checkPartialSPOP(_ h: DifferentialHarness, _ key: String, _ count: Int) throws {
        guard case .set(let s)? = h.keyspace.value(db: 0, key: RedisBytes(key)) else {
            Issue.record("\(key) is not a set in the engine")
            return
        }
        let before = Set(s.members)
        guard case .array(let serverItems?) = try h.connection.call(["SPOP", key, String(count)]) else {
            Issue.record("SPOP \(key) \(count): the server did not reply with an array")
            return
        }
        let engineReply = try h.engine.apply(["SPOP", key, String(count)].map { RedisBytes($0) })
        guard case .array(let engineItems?) = engineReply else {
            Issue.record("SPOP \(key) \(count): engine replied \(engineReply)")
            return
        }
        let serverPicks = serverItems.compactMap { r -> RedisBytes? in
            if case .bulk(let b?) = r { RedisBytes(b) } else { nil }
        }
        let enginePicks = engineItems.compactMap { r -> RedisBytes? in if case .bulk(let b?) = r { b } else { nil } }
        #expect(serverPicks.count == min(count, before.count) && enginePicks.count == serverPicks.count)
        #expect(Set(serverPicks).count == serverPicks.count && Set(enginePicks).count == enginePicks.count)
        #expect(Set(serverPicks).isSubset(of: before) && Set(enginePicks).isSubset(of: before))
        #expect(enginePicks == Array(before.sorted().prefix(count)))
        if !serverPicks.isEmpty { _ = try h.connection.call([RedisBytes("SADD"), RedisBytes(key)] + serverPicks) }
        if !enginePicks.isEmpty { _ = try h.connection.call([RedisBytes("SREM"), RedisBytes(key)] + enginePicks) }
    }

    @Test("SPOP: errors, empty and whole-set pops match the server; partial pops take as many members as asked")
    func setPop() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["SET", "str", "v"], ["SPOP", "nos"], ["SPOP", "nos", "3"], ["SPOP", "nos", "0"], ["SPOP", "str"],
            ["SPOP", "str", "1"],
            ["SPOP", "str", "0"], ["SPOP", "nos", "-1"], ["SPOP", "str", "-1"], ["SPOP", "nos", "x"],
            ["SPOP", "nos", "1", "2"],
            ["SADD", "s1", "only"], ["SPOP", "s1"], ["SADD", "s2", "a", "b"], ["SPOP", "s2", "0"],
        ])
        // Whole-set pops are deterministic up to reply order.
        for (key, members) in [("w1", ["1", "2", "3"]), ("w2", numbered("x", 200)), ("w3", ["a", longElement])] {
            try h.run([["SADD", key] + members])
            let want = try h.connection.call(["SPOP", key, "1000"])
            let got = try h.engine.apply(["SPOP", key, "1000"].map { RedisBytes($0) })
            if case .array(let w?) = want, case .array(let g?) = got {
                let wantSet = Set(w.compactMap { r -> [UInt8]? in if case .bulk(let b?) = r { b } else { nil } })
                let gotSet = Set(g.compactMap { r -> [UInt8]? in if case .bulk(let b?) = r { b.bytes } else { nil } })
                #expect(wantSet == Set(members.map { Array($0.utf8) }) && gotSet == wantSet)
            } else {
                Issue.record("SPOP \(key) 1000: server \(want), engine \(got)")
            }
        }
        try h.compareKeyspace()
        try h.run([
            ["SADD", "p1", "5", "3", "9", "1"], ["SADD", "p2"] + numbered("y", 300),
            ["SADD", "p3", "b", "a", longElement, "c"],
        ])
        try checkPartialSPOP(h, "p1", 2)
        try checkPartialSPOP(h, "p2", 1)
        try checkPartialSPOP(h, "p2", 120)
        try checkPartialSPOP(h, "p3", 3)
        try h.compareKeyspace()
        // One member without a count.
        try h.run([["SADD", "p4", "z", "m", "q"]])
        let serverOne = try h.connection.call(["SPOP", "p4"])
        let engineOne = try h.engine.apply(["SPOP", "p4"].map { RedisBytes($0) })
        #expect(engineOne == .bulk("m"))
        if case .bulk(let b?) = serverOne {
            #expect(["z", "m", "q"].map { Array($0.utf8) }.contains(b))
            _ = try h.connection.call([RedisBytes("SADD"), "p4", RedisBytes(b)])
            _ = try h.connection.call(["SREM", "p4", "m"])
        } else {
            Issue.record("SPOP p4: server replied \(serverOne)")
        }
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("SINTERSTORE, SUNIONSTORE and SDIFFSTORE replace the destination (and its TTL) or delete it")
    func setStores() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["SET", "str", "v"], ["SADD", "a", "1", "2", "3", "x"], ["SADD", "b", "2", "3", "4", "y"],
            ["SADD", "c", "3", "x", "2"],
            ["SADD", "big"] + numbered("m", 300) + ["2", "3"], ["SADD", "d", "old"], ["EXPIRE", "d", "1000"],
            ["SINTERSTORE", "d", "a", "b"], ["SINTERSTORE", "d", "a", "b", "c"], ["SINTERSTORE", "d", "a", "big"],
            ["SINTERSTORE", "d", "a", "nos"], ["SINTERSTORE", "d", "a", "b"], ["SINTERSTORE", "d", "nos", "str"],
            ["SINTERSTORE", "d", "a", "str"], ["SINTERSTORE", "d", "a", "a"], ["SINTERSTORE", "d", "a"],
            ["SINTERSTORE", "d"],
            ["SINTERSTORE", "e", "a", "b"], ["SINTERSTORE", "a", "a", "c"], ["SINTERSTORE", "str", "a", "b"],
            ["SINTERSTORE", "f", "b", "c", "big"],
            ["SUNIONSTORE", "u", "a", "b", "nos"], ["SUNIONSTORE", "u", "big", "c"], ["SUNIONSTORE", "u", "nos"],
            ["SUNIONSTORE", "u", "a", "str"],
            ["SUNIONSTORE", "u", "nos", "nos2"], ["SUNIONSTORE", "b", "b", "c"], ["SADD", "u", "z"],
            ["EXPIRE", "u", "500"],
            ["SUNIONSTORE", "u", "u", "a"], ["SDIFFSTORE", "df", "b", "a"], ["SDIFFSTORE", "df", "big", "b", "nos"],
            ["SDIFFSTORE", "df", "nos", "a"], ["SDIFFSTORE", "df", "b", "b"], ["SDIFFSTORE", "df", "a", "str"],
            ["SDIFFSTORE", "df", "a", "c", "a"],
            ["SDIFFSTORE", "df", "big", "a"], ["SDIFFSTORE", "df", "c", "big"], ["SDIFFSTORE", "df"],
            ["SUNIONSTORE", "str", "a"],
        ])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("A seeded random set sequence matches the server after every batch", arguments: [UInt64(3), 4])
    func setRandom(seed: UInt64) throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        var rng = SeededGenerator(seed: seed)
        let keys = ["s1", "s2", "s3", "str", "list"]
        func key() -> String { keys.randomElement(using: &rng)! }
        func member() -> String {
            switch rng.next() % 6 {
            case 0: return longElement + String(rng.next() % 4)
            case 1, 2: return String(Int(rng.next() % 700) - 50)
            default: return "m\(rng.next() % 300)"
            }
        }
        var commands: [[String]] = [["SET", "str", "v"], ["RPUSH", "list", "a"]]
        for _ in 0..<3000 {
            switch rng.next() % 14 {
            case 0, 1, 2, 3:
                let n = rng.next() % 10 == 0 ? 200 : Int(rng.next() % 6) + 1
                commands.append(["SADD", key()] + (0..<n).map { _ in member() })
            case 4, 5:
                let n = rng.next() % 10 == 0 ? 150 : Int(rng.next() % 4) + 1
                commands.append(["SREM", key()] + (0..<n).map { _ in member() })
            case 6, 7: commands.append(["SMOVE", key(), key(), member()])
            case 8: commands.append(["SINTERSTORE", key(), key(), key()])
            case 9: commands.append(["SUNIONSTORE", key(), key(), key()])
            case 10: commands.append(["SDIFFSTORE", key(), key(), key(), key()])
            case 11:
                // SPOP is only comparable when it takes the whole set.
                commands.append(["SPOP", key(), String(10_000 + rng.next() % 10)])
            case 12: commands.append(["SPOP", key(), rng.next() % 2 == 0 ? "0" : "-1"])
            default: commands.append(["SADD", key(), member(), member()])
            }
        }
        for (i, c) in commands.enumerated() {
            if c[0] == "SPOP", let n = Int(c[2]), n >= 10_000 {
                try compareUnordered(h, c)
            } else {
                try h.run([c])
            }
            if i % 250 == 249 { try h.compareKeyspace() }
        }
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    /// Runs a command whose reply is an array in no defined order (SPOP of a whole set) and compares the replies as
    /// multisets (anything else exactly).
    func compareUnordered(_ h: DifferentialHarness, _ c: [String]) throws {
        let want = try h.connection.call(c)
        h.engine.now = currentMilliseconds()
        let got = try h.engine.apply(c.map { RedisBytes($0) })
        if case .array(let w?) = want, case .array(let g?) = got {
            let ws = w.compactMap { r -> [UInt8]? in if case .bulk(let b?) = r { b } else { nil } }.sorted {
                $0.lexicographicallyPrecedes($1)
            }
            let gs = g.compactMap { r -> [UInt8]? in if case .bulk(let b?) = r { b.bytes } else { nil } }.sorted {
                $0.lexicographicallyPrecedes($1)
            }
            #expect(ws.count == w.count && gs == ws, "\(c.joined(separator: " ")): engine \(got), server \(want)")
        } else {
            #expect(DifferentialHarness.same(got, want), "\(c.joined(separator: " ")): engine \(got), server \(want)")
        }
    }

    // MARK: Sorted sets

    @Test("ZADD with NX, XX, GT, LT, CH and INCR, and ZINCRBY: replies, score formatting and every error")
    func zsetAdd() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["SET", "str", "v"], ["ZADD", "z", "1", "a", "2", "b", "3", "c"], ["ZADD", "z", "1.5", "a"],
            ["ZADD", "z", "CH", "1.5", "a", "5", "b", "9", "d"], ["ZADD", "z", "NX", "100", "a", "7", "e"],
            ["ZADD", "z", "XX", "100", "a", "7", "f"], ["ZADD", "z", "XX", "CH", "101", "a", "7", "g"],
            ["ZADD", "z", "GT", "50", "a", "200", "b"], ["ZADD", "z", "GT", "CH", "50", "a", "201", "b", "1", "newgt"],
            ["ZADD", "z", "LT", "CH", "0", "a", "999", "b", "-1", "newlt"], ["ZADD", "z", "XX", "GT", "1000", "c"],
            ["ZADD", "z", "xx", "lt", "ch", "1000", "c", "-5", "c"], ["ZADD", "z", "INCR", "2.5", "a"],
            ["ZADD", "z", "INCR", "NX", "1", "a"],
            ["ZADD", "z", "INCR", "NX", "1", "new"], ["ZADD", "z", "INCR", "XX", "1", "nonex"],
            ["ZADD", "z", "INCR", "GT", "-1", "a"],
            ["ZADD", "z", "INCR", "LT", "-1", "a"], ["ZADD", "z", "INCR", "GT", "0", "a"],
            ["ZADD", "z", "INCR", "CH", "0", "a"],
            ["ZADD", "z", "INCR", "1", "a", "2", "b"], ["ZADD", "z", "NX", "XX", "1", "a"],
            ["ZADD", "z", "GT", "LT", "1", "a"],
            ["ZADD", "z", "NX", "GT", "1", "a"], ["ZADD", "z", "NX", "LT", "1", "a"], ["ZADD", "z", "NX", "XX", "1"],
            ["ZADD", "z", "1", "a", "2"], ["ZADD", "z", "NX"], ["ZADD", "z", "NX", "CH"], ["ZADD", "z"],
            ["ZADD", "z", "1"],
            ["ZADD", "z", "x", "a"], ["ZADD", "z", "1", "a", "x", "b"], ["ZADD", "z", "nan", "a"],
            ["ZADD", "z", " 1", "a"],
            ["ZADD", "z", "1 ", "a"], ["ZADD", "z", "", "a"], ["ZADD", "z", "1e-400", "a"],
            ["ZADD", "z", "1e-320", "tiny"],
            ["ZADD", "z", "0x10", "hex"], ["ZADD", "z", "inf", "pinf"], ["ZADD", "z", "-inf", "ninf"],
            ["ZADD", "z", "+inf", "pinf2"],
            ["ZADD", "z", "INCR", "-inf", "pinf"], ["ZADD", "z", "INCR", "+inf", "pinf"],
            ["ZADD", "z", "1e308", "huge"],
            ["ZINCRBY", "z", "1e308", "huge"], ["ZINCRBY", "z", "-inf", "huge"], ["ZINCRBY", "z", "1", "huge"],
            ["ZADD", "str", "1", "a"], ["ZADD", "str", "XX", "1", "a"], ["ZADD", "str", "x", "a"],
            ["ZADD", "noz", "XX", "1", "a"],
            ["ZADD", "noz", "XX", "INCR", "1", "a"], ["ZADD", "noz", "GT", "1", "a"],
            ["ZADD", "z", "1", "dup", "2", "dup"],
            ["ZADD", "z", "CH", "3", "dup", "3", "dup"], ["ZINCRBY", "z", "0.1", "fl"], ["ZINCRBY", "z", "0.2", "fl"],
            ["ZINCRBY", "z", "1", "a"], ["ZINCRBY", "z", "x", "a"], ["ZINCRBY", "str", "1", "a"],
            ["ZINCRBY", "str", "x", "a"],
            ["ZINCRBY", "z", "nx", "a"], ["ZINCRBY", "z", "1"], ["ZINCRBY", "z", "1", "a", "b"],
            ["ZINCRBY", "newz", "-0", "m"],
            ["ZINCRBY", "newz", "-0", "m"], ["ZADD", "z", "-0", "negzero"], ["ZINCRBY", "z", "-0", "negzero"],
            ["ZADD", "z", "0.30000000000000004", "x"], ["ZADD", "z", "123456789012345678", "bigint"],
            ["ZINCRBY", "z", "1e-17", "x"],
            ["ZADD", "z", "XX", "NX", "INCR", "1", "a"], ["ZREM", "z", "a", "nonmember", "b"], ["ZREM", "noz", "a"],
            ["ZREM", "str", "a"],
            ["ZREM", "z"], ["ZADD", "one", "1", "x"], ["ZREM", "one", "x", "y"],
        ])
        try h.compareKeyspace()
        // Big sets, long members, and the switch from packed to a table in the middle of one command.
        try h.run([
            ["ZADD", "big"] + (0..<300).flatMap { [String($0 % 17), "m\($0)"] },
            ["ZADD", "grow"] + (0..<127).flatMap { [String($0), "g\($0)"] },
            ["ZADD", "grow", "1000", "g1000", "1001", "g1001", "5", "g5"], ["ZADD", "longm", "1", longElement],
            ["ZADD", "longm", "2", "short"],
            ["ZINCRBY", "big", "0.5", "m7"], ["ZADD", "big", "GT", "CH", "100", "m8", "0", "m9", "3", "new"],
            ["ZADD", "big", "INCR", "-inf", "m10"],
            ["ZADD", "big", "INCR", "inf", "m10"], ["ZADD", "big", "-0", "m11"], ["ZREM", "big"] + numbered("m", 100),
            ["ZADD", "big", "XX", "CH", "7", "m150", "7", "m999"], ["ZINCRBY", "longm", "2", longElement],
        ])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("ZREMRANGEBYRANK, ZREMRANGEBYSCORE and ZREMRANGEBYLEX with every kind of bound")
    func zsetRemoveRanges() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        let small = (0..<10).flatMap { [String($0), "m\($0)"] }
        let lex = ["a", "b", "c", "d", "e", "f", "g"].flatMap { ["0", $0] }
        try h.run([
            ["SET", "str", "v"], ["ZADD", "r"] + small, ["ZREMRANGEBYRANK", "r", "0", "1"],
            ["ZREMRANGEBYRANK", "r", "-2", "-1"],
            ["ZREMRANGEBYRANK", "r", "5", "2"], ["ZREMRANGEBYRANK", "r", "100", "200"],
            ["ZREMRANGEBYRANK", "r", "-100", "0"],
            ["ZREMRANGEBYRANK", "r", "x", "1"], ["ZREMRANGEBYRANK", "nor", "x", "1"],
            ["ZREMRANGEBYRANK", "nor", "0", "1"],
            ["ZREMRANGEBYRANK", "str", "0", "1"], ["ZREMRANGEBYRANK", "r", "0", "-1"], ["ZADD", "s"] + small,
            ["ZREMRANGEBYSCORE", "s", "(1", "3"], ["ZREMRANGEBYSCORE", "s", "-inf", "(1"],
            ["ZREMRANGEBYSCORE", "s", "8", "+inf"],
            ["ZREMRANGEBYSCORE", "s", "5", "4"], ["ZREMRANGEBYSCORE", "s", "(5", "5"],
            ["ZREMRANGEBYSCORE", "s", "(5", "(6"],
            ["ZREMRANGEBYSCORE", "s", "a", "1"], ["ZREMRANGEBYSCORE", "s", "1", "(b"],
            ["ZREMRANGEBYSCORE", "s", "nan", "1"],
            ["ZREMRANGEBYSCORE", "s", " 4", "4"], ["ZREMRANGEBYSCORE", "s", "", "10"],
            ["ZREMRANGEBYSCORE", "s", "(", "100"],
            ["ZREMRANGEBYSCORE", "nos", "a", "1"], ["ZREMRANGEBYSCORE", "str", "1", "2"],
            ["ZREMRANGEBYSCORE", "s", "-inf", "inf"],
            ["ZADD", "l"] + lex, ["ZREMRANGEBYLEX", "l", "[b", "(d"], ["ZREMRANGEBYLEX", "l", "(e", "+"],
            ["ZREMRANGEBYLEX", "l", "+", "-"],
            ["ZREMRANGEBYLEX", "l", "-", "-"], ["ZREMRANGEBYLEX", "l", "b", "d"], ["ZREMRANGEBYLEX", "l", "[a", "bc"],
            ["ZREMRANGEBYLEX", "l", "", "+"], ["ZREMRANGEBYLEX", "l", "-x", "+"], ["ZREMRANGEBYLEX", "nol", "x", "+"],
            ["ZREMRANGEBYLEX", "str", "-", "+"], ["ZREMRANGEBYLEX", "l", "[z", "[a"],
            ["ZREMRANGEBYLEX", "l", "(a", "(a"],
            ["ZREMRANGEBYLEX", "l", "[", "[a"], ["ZREMRANGEBYLEX", "l", "-", "+"],
            // Lex ranges over mixed scores (Redis leaves them undefined; a listpack answers in rank order).
            ["ZADD", "mixed", "1", "d", "2", "a", "3", "c", "4", "b"], ["ZREMRANGEBYLEX", "mixed", "[b", "[c"],
        ])
        try h.compareKeyspace()
        let bigLex = numbered("k", 300).flatMap { ["0", $0] }
        try h.run([
            ["ZADD", "big"] + (0..<300).flatMap { [String($0 / 3), "m\($0)"] }, ["ZREMRANGEBYRANK", "big", "10", "19"],
            ["ZREMRANGEBYRANK", "big", "-10", "-5"], ["ZREMRANGEBYSCORE", "big", "(20", "30"],
            ["ZREMRANGEBYSCORE", "big", "-inf", "2"],
            ["ZADD", "biglex"] + bigLex, ["ZREMRANGEBYLEX", "biglex", "[k1", "(k2"],
            ["ZREMRANGEBYLEX", "biglex", "(k5", "+"],
            ["ZREMRANGEBYLEX", "biglex", "-", "[k3"],
        ])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("ZPOPMIN, ZPOPMAX, ZMPOP and the blocking pops, run without blocking")
    func zsetPops() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["SET", "str", "v"], ["ZADD", "p", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "5.5", "f"],
            ["ZPOPMIN", "p"],
            ["ZPOPMAX", "p"], ["ZPOPMIN", "p", "2"], ["ZPOPMAX", "p", "1"], ["ZPOPMIN", "p", "0"], ["ZPOPMIN", "nop"],
            ["ZPOPMIN", "nop", "2"],
            ["ZPOPMIN", "nop", "0"], ["ZPOPMIN", "str"], ["ZPOPMIN", "str", "0"], ["ZPOPMIN", "p", "-1"],
            ["ZPOPMIN", "p", "x"],
            ["ZPOPMIN", "nop", "-1"], ["ZPOPMIN", "p", "1", "2"], ["ZPOPMAX", "p", "100"],
            ["ZADD", "q", "1", "a", "2", "b", "3", "c"],
            ["BZPOPMIN", "nop", "q", "0"], ["BZPOPMAX", "q", "nop", "0"], ["BZPOPMIN", "nop", "0.01"],
            ["BZPOPMIN", "q", "x"],
            ["BZPOPMIN", "q", "-1"], ["BZPOPMIN", "str", "0"], ["BZPOPMIN", "nop", "str", "0"], ["BZPOPMIN", "q"],
            ["BZPOPMAX", "q", "inf"],
            ["ZADD", "m1", "1", "a", "2", "b", "3", "c"], ["ZADD", "m2", "10", "x"],
            ["ZMPOP", "2", "nop", "m1", "MIN"],
            ["ZMPOP", "2", "m1", "m2", "MAX", "COUNT", "5"], ["ZMPOP", "1", "nop", "MIN"], ["ZMPOP", "0", "m2", "MIN"],
            ["ZMPOP", "-1", "m2", "MIN"], ["ZMPOP", "x", "m2", "MIN"], ["ZMPOP", "3", "a", "b", "MIN"],
            ["ZMPOP", "1", "m2", "LEFT"],
            ["ZMPOP", "1", "m2", "MIN", "COUNT", "0"], ["ZMPOP", "1", "m2", "MIN", "COUNT", "x"],
            ["ZMPOP", "1", "m2", "MIN", "COUNT"],
            ["ZMPOP", "1", "m2", "MIN", "COUNT", "1", "COUNT", "1"], ["ZMPOP", "1", "m2", "max", "foo"],
            ["ZMPOP", "2", "str", "m2", "MIN"],
            ["ZMPOP", "2", "m2", "str", "MIN"], ["ZMPOP", "2", "nop", "str", "MIN"], ["ZMPOP", "1", "m2"],
            ["ZADD", "b1", "1", "a", "2", "b", "3", "c"], ["BZMPOP", "0", "2", "nop", "b1", "MAX", "COUNT", "2"],
            ["BZMPOP", "0.01", "1", "nop", "MIN"],
            ["BZMPOP", "x", "1", "b1", "MIN"], ["BZMPOP", "0", "0", "b1", "MIN"], ["BZMPOP", "x", "0", "b1", "MIN"],
            ["BZMPOP", "0", "1", "b1", "UP"],
            ["BZMPOP", "-1", "1", "b1", "MIN"], ["BZMPOP", "0", "1", "str", "MIN"],
            ["BZMPOP", "0", "1", "b1", "MIN", "COUNT", "9"],
            ["MULTI"], ["BZPOPMIN", "nop", "0"], ["BZMPOP", "0", "1", "nop", "MAX"], ["ZADD", "nop", "1", "z"],
            ["BZPOPMAX", "nop", "0"], ["EXEC"],
        ])
        try h.compareKeyspace()
        try h.run([
            ["ZADD", "big"] + (0..<300).flatMap { [String($0 % 50), "m\($0)"] }, ["ZPOPMIN", "big", "5"],
            ["ZPOPMAX", "big", "5"],
            ["ZADD", "big", "-1", "low", "100", "high"], ["ZPOPMIN", "big"], ["ZPOPMAX", "big"],
            ["ZINCRBY", "big", "-100", "m200"],
            ["ZPOPMIN", "big"], ["BZPOPMAX", "big", "0"], ["ZMPOP", "1", "big", "MIN", "COUNT", "150"],
            ["ZADD", "big", "7", "again"],
            ["ZPOPMIN", "big", "3"], ["ZMPOP", "1", "big", "MAX", "COUNT", "1000"],
        ])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("ZRANGESTORE by rank, score and lex, reversed and limited")
    func zsetRangeStore() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        let src = (0..<10).flatMap { [String($0), "m\($0)"] }
        let lex = ["a", "b", "c", "d", "e", "f", "g"].flatMap { ["0", $0] }
        try h.run([
            ["SET", "str", "v"], ["ZADD", "src"] + src, ["ZADD", "lex"] + lex, ["ZRANGESTORE", "d", "src", "0", "2"],
            ["ZRANGESTORE", "d", "src", "-3", "-1"], ["ZRANGESTORE", "d", "src", "0", "1", "REV"],
            ["ZRANGESTORE", "d", "src", "5", "1"],
            ["ZRANGESTORE", "d", "src", "100", "200"], ["ZRANGESTORE", "d", "src", "-100", "100"],
            ["ZRANGESTORE", "d", "src", "x", "1"],
            ["ZRANGESTORE", "d", "src", "2", "5", "BYSCORE"], ["ZRANGESTORE", "d", "src", "(2", "(5", "BYSCORE"],
            ["ZRANGESTORE", "d", "src", "5", "2", "BYSCORE", "REV"],
            ["ZRANGESTORE", "d", "src", "2", "5", "BYSCORE", "REV"],
            ["ZRANGESTORE", "d", "src", "-inf", "+inf", "BYSCORE", "LIMIT", "2", "3"],
            ["ZRANGESTORE", "d", "src", "+inf", "-inf", "REV", "BYSCORE", "LIMIT", "1", "2"],
            ["ZRANGESTORE", "d", "src", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "3"],
            ["ZRANGESTORE", "d", "src", "-inf", "+inf", "BYSCORE", "LIMIT", "2", "-1"],
            ["ZRANGESTORE", "d", "src", "-inf", "+inf", "BYSCORE", "LIMIT", "2", "0"],
            ["ZRANGESTORE", "d", "src", "-inf", "+inf", "BYSCORE", "LIMIT", "100", "1"],
            ["ZRANGESTORE", "d", "src", "-inf", "+inf", "BYSCORE", "LIMIT", "9", "5"],
            ["ZRANGESTORE", "d", "src", "0", "1", "LIMIT", "0", "1"],
            ["ZRANGESTORE", "d", "src", "0", "1", "LIMIT", "0", "-1"],
            ["ZRANGESTORE", "d", "src", "0", "1", "WITHSCORES"],
            ["ZRANGESTORE", "d", "src", "0", "1", "REV", "REV"],
            ["ZRANGESTORE", "d", "src", "0", "1", "BYSCORE", "BYLEX"],
            ["ZRANGESTORE", "d", "src", "0", "1", "LIMIT", "1"], ["ZRANGESTORE", "d", "src", "a", "1", "BYSCORE"],
            ["ZRANGESTORE", "d", "src", "0", "1", "LIMIT", "x", "1", "BYSCORE"],
            ["ZRANGESTORE", "d", "lex", "[b", "(e", "BYLEX"],
            ["ZRANGESTORE", "d", "lex", "-", "+", "BYLEX", "LIMIT", "1", "2"],
            ["ZRANGESTORE", "d", "lex", "+", "-", "BYLEX", "REV", "LIMIT", "1", "2"],
            ["ZRANGESTORE", "d", "lex", "[e", "[b", "BYLEX", "REV"], ["ZRANGESTORE", "d", "lex", "b", "e", "BYLEX"],
            ["ZRANGESTORE", "d", "lex", "[z", "+", "BYLEX"],
            ["ZRANGESTORE", "d", "nosrc", "0", "-1"], ["ZADD", "d", "1", "x"], ["EXPIRE", "d", "100"],
            ["ZRANGESTORE", "d", "src", "0", "0"],
            ["ZRANGESTORE", "d", "str", "0", "-1"], ["ZRANGESTORE", "str", "src", "0", "-1"],
            ["ZRANGESTORE", "d", "src", "0"],
            ["ZRANGESTORE", "d", "src", "5", "1"], ["ZRANGESTORE", "src", "src", "2", "4"],
            ["ZRANGESTORE", "d2", "lex", "-", "+", "BYLEX"],
        ])
        try h.compareKeyspace()
        try h.run([
            ["ZADD", "big"] + (0..<300).flatMap { [String($0 % 60), "m\($0)"] },
            ["ZRANGESTORE", "d3", "big", "0", "-1"],
            ["ZRANGESTORE", "d4", "big", "10", "200", "REV"],
            ["ZRANGESTORE", "d5", "big", "(10", "40", "BYSCORE", "LIMIT", "3", "150"],
            ["ZRANGESTORE", "d6", "big", "40", "10", "BYSCORE", "REV", "LIMIT", "0", "5"],
        ])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("ZUNIONSTORE, ZINTERSTORE and ZDIFFSTORE with sets, weights, aggregates and every error")
    func zsetStores() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["SET", "str", "v"], ["ZADD", "a", "1", "x", "2", "y", "3", "z"],
            ["ZADD", "b", "10", "y", "20", "z", "30", "w"],
            ["SADD", "s", "x", "w", "v"], ["ZUNIONSTORE", "u", "2", "a", "b"],
            ["ZUNIONSTORE", "u", "3", "a", "b", "s"],
            ["ZUNIONSTORE", "u", "3", "a", "b", "s", "WEIGHTS", "2", "0.5", "-1"],
            ["ZUNIONSTORE", "u", "2", "a", "b", "AGGREGATE", "MIN"],
            ["ZUNIONSTORE", "u", "2", "a", "b", "AGGREGATE", "max", "WEIGHTS", "1", "-1"],
            ["ZUNIONSTORE", "u", "2", "a", "noz"],
            ["ZUNIONSTORE", "u", "1", "noz"], ["ZUNIONSTORE", "u", "0", "a"], ["ZUNIONSTORE", "u", "-1", "a"],
            ["ZUNIONSTORE", "u", "x", "a"],
            ["ZUNIONSTORE", "u", "3", "a", "b"], ["ZUNIONSTORE", "u", "2", "a", "str"],
            ["ZUNIONSTORE", "u", "2", "str", "a", "WEIGHTS", "x"],
            ["ZUNIONSTORE", "u", "2", "a", "b", "WEIGHTS", "1"],
            ["ZUNIONSTORE", "u", "2", "a", "b", "WEIGHTS", "1", "x"],
            ["ZUNIONSTORE", "u", "2", "a", "b", "WEIGHTS", "1", "nan"],
            ["ZUNIONSTORE", "u", "2", "a", "b", "AGGREGATE", "AVG"],
            ["ZUNIONSTORE", "u", "2", "a", "b", "AGGREGATE"], ["ZUNIONSTORE", "u", "2", "a", "b", "WITHSCORES"],
            ["ZUNIONSTORE", "u", "2", "a", "b", "FOO"],
            ["ZADD", "inf", "inf", "x", "-inf", "y"], ["ZUNIONSTORE", "u", "2", "inf", "a", "WEIGHTS", "0", "1"],
            ["ZUNIONSTORE", "u", "2", "inf", "inf"],
            ["ZUNIONSTORE", "u", "3", "inf", "inf", "a", "WEIGHTS", "1", "-1", "1"],
            ["ZINTERSTORE", "i", "2", "a", "b"], ["ZINTERSTORE", "i", "3", "a", "b", "s"],
            ["ZINTERSTORE", "i", "2", "a", "s", "WEIGHTS", "3", "4"],
            ["ZINTERSTORE", "i", "2", "a", "b", "AGGREGATE", "MIN"],
            ["ZINTERSTORE", "i", "2", "a", "b", "AGGREGATE", "MAX"],
            ["ZINTERSTORE", "i", "2", "a", "noz"], ["ZINTERSTORE", "i", "2", "a", "a"],
            ["ZINTERSTORE", "i", "2", "inf", "inf", "WEIGHTS", "1", "-1"],
            ["ZINTERSTORE", "i", "2", "inf", "a", "WEIGHTS", "0", "1", "AGGREGATE", "MIN"],
            ["ZINTERSTORE", "i", "0", "a"],
            ["ZINTERSTORE", "i", "2", "a", "str"], ["ZINTERSTORE", "i", "1", "s"], ["ZDIFFSTORE", "d", "2", "a", "b"],
            ["ZDIFFSTORE", "d", "2", "b", "s"], ["ZDIFFSTORE", "d", "3", "a", "noz", "s"],
            ["ZDIFFSTORE", "d", "1", "noz"],
            ["ZDIFFSTORE", "d", "2", "a", "a"], ["ZDIFFSTORE", "d", "1", "s"],
            ["ZDIFFSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "1"],
            ["ZDIFFSTORE", "d", "2", "a", "b", "AGGREGATE", "SUM"], ["ZDIFFSTORE", "d", "0", "a"],
            ["ZDIFFSTORE", "d", "2", "str", "a"],
            ["ZADD", "t", "1", "x"], ["EXPIRE", "t", "100"], ["ZUNIONSTORE", "t", "2", "t", "a"], ["SET", "t2", "v"],
            ["ZINTERSTORE", "t2", "2", "a", "b"], ["ZINTERSTORE", "t2", "2", "a", "noz"],
            ["ZUNIONSTORE", "a", "2", "a", "b"],
            ["ZUNIONSTORE", "u"], ["ZUNIONSTORE", "u", "1"],
        ])
        try h.compareKeyspace()
        try h.run([
            ["ZADD", "big1"] + (0..<300).flatMap { [String($0 % 7), "m\($0)"] },
            ["ZADD", "big2"] + (100..<400).flatMap { [String($0 % 5), "m\($0)"] },
            ["SADD", "bigs"] + numbered("m", 250, from: 50),
            ["ZUNIONSTORE", "bu", "3", "big1", "big2", "bigs", "WEIGHTS", "1", "2", "0.25"],
            ["ZINTERSTORE", "bi", "3", "big1", "big2", "bigs", "AGGREGATE", "MAX"],
            ["ZDIFFSTORE", "bd", "3", "big1", "bigs", "big2"],
            ["ZINTERSTORE", "bi2", "2", "big1", "a"],
        ])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("A seeded random sorted set sequence matches the server after every batch", arguments: [UInt64(5), 6])
    func zsetRandom(seed: UInt64) throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        var rng = SeededGenerator(seed: seed)
        // "zl" only ever holds score 0 (lex commands need one score) and is never a destination.
        let keys = ["z1", "z2", "z3", "set", "str"]
        let scores = ["0", "1", "-1", "2.5", "0.25", "-3.75", "100", "inf", "-inf", "1e3", "(1", "x"]
        func key() -> String { keys.randomElement(using: &rng)! }
        func dst() -> String { ["z1", "z2", "z3", "set", "str"].randomElement(using: &rng)! }
        func member() -> String { rng.next() % 9 == 0 ? longElement + String(rng.next() % 3) : "m\(rng.next() % 250)" }
        func score() -> String { scores[Int(rng.next() % UInt64(scores.count - 2))] }
        func anyScore() -> String { scores.randomElement(using: &rng)! }
        func index() -> String { String(Int(rng.next() % 40) - 20) }
        func lexBound() -> String {
            switch rng.next() % 5 {
            case 0: return "-"
            case 1: return "+"
            case 2: return "(m\(rng.next() % 250)"
            case 3: return "[m\(rng.next() % 250)"
            default: return "m1"
            }
        }
        let flagSets: [[String]] = [
            [], ["NX"], ["XX"], ["GT"], ["LT"], ["CH"], ["XX", "GT", "CH"], ["LT", "CH"], ["NX", "CH"], ["INCR"],
            ["GT", "INCR"], ["NX", "XX"],
        ]
        var commands: [[String]] = [["SET", "str", "v"], ["SADD", "set", "m1", "m2", "m3", "m200"]]
        for _ in 0..<3000 {
            switch rng.next() % 22 {
            case 0, 1, 2, 3:
                let flags = flagSets.randomElement(using: &rng)!
                let n = flags.contains("INCR") ? 1 : (rng.next() % 10 == 0 ? 150 : Int(rng.next() % 4) + 1)
                commands.append(
                    ["ZADD", key()] + flags
                        + (0..<n).flatMap { _ in [rng.next() % 40 == 0 ? anyScore() : score(), member()] })
            case 4: commands.append(["ZADD", "zl"] + (0..<Int(rng.next() % 20 + 1)).flatMap { _ in ["0", member()] })
            case 5: commands.append(["ZINCRBY", key(), score(), member()])
            case 6: commands.append(["ZREM", key(), member(), member()])
            case 7: commands.append(["ZREMRANGEBYRANK", key(), index(), index()])
            case 8: commands.append(["ZREMRANGEBYSCORE", key(), anyScore(), anyScore()])
            case 9: commands.append(["ZREMRANGEBYLEX", "zl", lexBound(), lexBound()])
            case 10:
                commands.append(
                    [rng.next() % 2 == 0 ? "ZPOPMIN" : "ZPOPMAX", key()]
                        + (rng.next() % 2 == 0 ? [String(rng.next() % 5)] : []))
            case 11:
                commands.append([
                    "ZMPOP", "2", key(), "zl", rng.next() % 2 == 0 ? "MIN" : "MAX", "COUNT", String(rng.next() % 4 + 1),
                ])
            case 12: commands.append([rng.next() % 2 == 0 ? "BZPOPMIN" : "BZPOPMAX", key(), key(), "0.01"])
            case 13: commands.append(["BZMPOP", "0.01", "1", key(), "MAX"])
            case 14:
                commands.append(["ZRANGESTORE", dst(), key(), index(), index()] + (rng.next() % 2 == 0 ? ["REV"] : []))
            case 15:
                var c = ["ZRANGESTORE", dst(), key(), anyScore(), anyScore(), "BYSCORE"]
                if rng.next() % 2 == 0 { c.append("REV") }
                if rng.next() % 2 == 0 {
                    c += ["LIMIT", String(Int(rng.next() % 6) - 1), String(Int(rng.next() % 8) - 1)]
                }
                commands.append(c)
            case 16:
                var c = ["ZRANGESTORE", dst(), "zl", lexBound(), lexBound(), "BYLEX"]
                if rng.next() % 2 == 0 { c.append("REV") }
                if rng.next() % 2 == 0 {
                    c += ["LIMIT", String(Int(rng.next() % 6) - 1), String(Int(rng.next() % 8) - 1)]
                }
                commands.append(c)
            case 17, 18:
                let op = ["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"].randomElement(using: &rng)!
                let n = Int(rng.next() % 3) + 1
                var c = [op, dst(), String(n)] + (0..<n).map { _ in rng.next() % 4 == 0 ? "zl" : key() }
                if op != "ZDIFFSTORE" && rng.next() % 2 == 0 {
                    c += ["WEIGHTS"] + (0..<n).map { _ in ["1", "2", "0.5", "-1", "0"].randomElement(using: &rng)! }
                }
                if op != "ZDIFFSTORE" && rng.next() % 2 == 0 {
                    c += ["AGGREGATE", ["SUM", "MIN", "MAX"].randomElement(using: &rng)!]
                }
                commands.append(c)
            case 19: commands.append(["ZREM", "zl", member(), member(), member()])
            case 20: commands.append(["SADD", "set", member()])
            default: commands.append(["ZADD", key(), score(), member()])
            }
        }
        try h.runInBatches(commands)
        #expect(h.problems.isEmpty)
    }

    // MARK: All three on shared keys

    @Test(
        "A seeded random mix of list, set and sorted set commands on shared keys matches the server",
        arguments: [UInt64(9), 10])
    func mixedRandom(seed: UInt64) throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        var rng = SeededGenerator(seed: seed)
        let keys = ["k1", "k2", "k3", "k4", "str"]
        func key() -> String { keys.randomElement(using: &rng)! }
        func member() -> String { rng.next() % 10 == 0 ? longElement : String(rng.next() % 40) }
        func number() -> String { String(Int(rng.next() % 12) - 4) }
        func many(_ n: Int) -> [String] { (0..<n).map { _ in member() } }
        var commands: [[String]] = [["SET", "str", "v"]]
        for _ in 0..<2500 {
            let n = rng.next() % 12 == 0 ? 140 : Int(rng.next() % 3) + 1
            switch rng.next() % 24 {
            case 0: commands.append(["RPUSH", key()] + many(n))
            case 1: commands.append(["LPUSH", key()] + many(n))
            case 2: commands.append(["LPOP", key(), String(rng.next() % 4)])
            case 3: commands.append(["LMOVE", key(), key(), "LEFT", "RIGHT"])
            case 4: commands.append(["LREM", key(), number(), member()])
            case 5: commands.append(["LTRIM", key(), number(), number()])
            case 6: commands.append(["LMPOP", "3", key(), key(), key(), "RIGHT", "COUNT", "3"])
            case 7: commands.append(["SADD", key()] + many(n))
            case 8: commands.append(["SREM", key()] + many(n))
            case 9: commands.append(["SMOVE", key(), key(), member()])
            case 10: commands.append(["SINTERSTORE", key(), key(), key()])
            case 11: commands.append(["SUNIONSTORE", key(), key(), key()])
            case 12: commands.append(["SDIFFSTORE", key(), key(), key()])
            case 13: commands.append(["ZADD", key()] + many(n).flatMap { [number(), $0] })
            case 14: commands.append(["ZINCRBY", key(), number(), member()])
            case 15: commands.append(["ZREM", key()] + many(n))
            case 16: commands.append(["ZPOPMAX", key(), String(rng.next() % 3)])
            case 17: commands.append(["ZMPOP", "2", key(), key(), "MIN", "COUNT", "2"])
            case 18: commands.append(["ZRANGESTORE", key(), key(), number(), number()])
            case 19: commands.append(["ZUNIONSTORE", key(), "2", key(), key(), "WEIGHTS", number(), number()])
            case 20: commands.append(["ZINTERSTORE", key(), "2", key(), key(), "AGGREGATE", "MAX"])
            case 21: commands.append(["ZDIFFSTORE", key(), "2", key(), key()])
            case 22: commands.append(["ZREMRANGEBYSCORE", key(), number(), number()])
            default: commands.append(["DEL", key()])
            }
        }
        try h.runInBatches(commands)
        #expect(h.problems.isEmpty)
    }

    // MARK: What an AOF holds

    @Test("The AOF redis-server writes for list, set and sorted set commands (SPOP, blocking pops and MPOPs as it propagates them) loads into the server's keyspace")
    func aofReplay() throws {
        let h = try DifferentialHarness(arguments: ["--appendonly", "yes", "--appendfsync", "always"])
        defer { h.stop() }
        var rng = SeededGenerator(seed: 11)
        let keys = ["k1", "k2", "k3", "str"]
        func key() -> String { keys.randomElement(using: &rng)! }
        func member() -> String { rng.next() % 10 == 0 ? longElement : "m\(rng.next() % 60)" }
        func many(_ n: Int) -> [String] { (0..<n).map { _ in member() } }
        var commands: [[String]] = [["SET", "str", "v"]]
        for _ in 0..<2000 {
            let n = rng.next() % 12 == 0 ? 140 : Int(rng.next() % 3) + 1
            switch rng.next() % 20 {
            case 0: commands.append(["RPUSH", key()] + many(n))
            case 1: commands.append(["BLPOP", key(), key(), "0.01"])
            case 2: commands.append(["BLMOVE", key(), key(), "LEFT", "RIGHT", "0.01"])
            case 3: commands.append(["LMPOP", "2", key(), key(), "LEFT", "COUNT", "2"])
            case 4: commands.append(["BLMPOP", "0.01", "1", key(), "RIGHT"])
            case 5: commands.append(["LINSERT", key(), "AFTER", member(), member()])
            case 6: commands.append(["SADD", key()] + many(n))
            case 7: commands.append(["SPOP", key()])
            case 8: commands.append(["SPOP", key(), String(rng.next() % 4)])
            case 9: commands.append(["SPOP", key(), "1000"])
            case 10: commands.append(["SMOVE", key(), key(), member()])
            case 11: commands.append(["SINTERSTORE", key(), key(), key()])
            case 12: commands.append(["ZADD", key()] + many(n).flatMap { [String(rng.next() % 9), $0] })
            case 13: commands.append(["ZINCRBY", key(), "0.5", member()])
            case 14: commands.append(["BZPOPMIN", key(), key(), "0.01"])
            case 15: commands.append(["ZMPOP", "2", key(), key(), "MAX", "COUNT", "3"])
            case 16: commands.append(["BZMPOP", "0.01", "1", key(), "MIN"])
            case 17: commands.append(["ZUNIONSTORE", key(), "2", key(), key(), "WEIGHTS", "2", "1"])
            case 18: commands.append(["ZRANGESTORE", key(), key(), "0", "-1", "REV"])
            default: commands.append(["LTRIM", key(), "1", "-2"])
            }
        }
        // Only the server runs them (its random SPOP picks reach the AOF as SREM); then the engine replays the AOF.
        for c in commands { _ = try h.connection.call(c) }
        let summary = try KeyspaceLoader(keyspace: h.keyspace).loadAOF(path: h.server.directory + "/appendonlydir")
        #expect(summary.commands > 500)
        #expect(summary.failedCommands == 0)
        #expect(h.keyspace.count(db: 0) >= 2)
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }
}
