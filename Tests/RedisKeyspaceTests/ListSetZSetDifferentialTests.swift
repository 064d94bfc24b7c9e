import RedisFormats
import RedisKeyspace
import Testing
import _RedisFormatsTestSupport

/// A small deterministic generator (SplitMix64), so a failing random sequence can be replayed from its seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension DifferentialHarness {
    /// Runs `commands` in batches, comparing the whole keyspace after each batch.
    func runComparing(_ commands: [[String]], batch: Int = 250, sourceLocation: SourceLocation = #_sourceLocation) throws {
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
func numbered(_ prefix: String, _ n: Int, from start: Int = 0) -> [String] { (start..<(start + n)).map { "\(prefix)\($0)" } }

let longElement = String(repeating: "long-", count: 20)  // 100 bytes: over the 64-byte listpack value limit

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
            ["RPUSH", "str", "x"], ["LPUSHX", "str", "x"], ["RPUSHX", "str", "x"], ["LPOP", "str"], ["RPOP", "str", "2"],
            ["LPUSH", "l"], ["LPOP"], ["LPOP", "l"], ["RPOP", "l"], ["LPOP", "l", "2"], ["RPOP", "l", "2"],
            ["LPOP", "l", "0"], ["RPOP", "l", "0"], ["LPOP", "nol"], ["LPOP", "nol", "2"], ["RPOP", "nol", "0"],
            ["LPOP", "l", "-1"], ["LPOP", "l", "x"], ["RPOP", "l", "1.5"], ["LPOP", "l", "1", "2"], ["RPOP", "l", "1", "2"],
            ["LPOP", "nol", "-1"], ["LPOP", "str", "0"], ["RPOP", "l", "100"], ["LPOP", "l"], ["RPUSH", "one", "x"],
            ["LPOP", "one"], ["RPUSH", "one", "x"], ["RPOP", "one", "1"],
        ])
        try h.compareKeyspace()
        // Big lists: many nodes, long elements, pops across node boundaries.
        try h.run([["RPUSH", "big"] + numbered("e", 300), ["LPUSH", "big"] + numbered("f", 300), ["RPUSH", "big", longElement]])
        try h.compareKeyspace()
        try h.run([
            ["LPOP", "big", "150"], ["RPOP", "big", "170"], ["LPOP", "big"], ["RPOP", "big"], ["RPUSH", "big", longElement, "1", "-2"],
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
            ["LINSERT", "li", "after", "b", "Y"], ["LINSERT", "li", "BEFORE", "zz", "Q"], ["LINSERT", "nol", "BEFORE", "a", "b"],
            ["LINSERT", "li", "MIDDLE", "a", "b"], ["LINSERT", "nol", "MIDDLE", "a", "b"], ["LINSERT", "str", "BEFORE", "a", "b"],
            ["LINSERT", "str", "NEAR", "a", "b"], ["LINSERT", "li", "AFTER", "c", longElement], ["LINSERT", "li", "BEFORE", "a"],
            ["LSET", "li", "0", "S"], ["LSET", "li", "-1", "T"], ["LSET", "li", "100", "U"], ["LSET", "li", "-100", "U"],
            ["LSET", "nol", "0", "x"], ["LSET", "str", "0", "x"], ["LSET", "li", "x", "y"], ["LSET", "nol", "x", "y"],
            ["LSET", "str", "x", "y"], ["LSET", "li", "2", longElement], ["LSET", "li", "2", ""],
            ["RPUSH", "lr", "a", "b", "a", "c", "a", "b", "a"], ["LREM", "lr", "2", "a"], ["LREM", "lr", "-1", "a"],
            ["LREM", "lr", "0", "b"], ["LREM", "lr", "0", "zz"], ["LREM", "nol", "1", "a"], ["LREM", "lr", "x", "a"],
            ["LREM", "nol", "x", "a"], ["LREM", "str", "1", "a"], ["LREM", "lr", "-9223372036854775808", "c"],
            ["LREM", "lr", "9223372036854775807", "a"], ["RPUSH", "lt"] + numbered("t", 10), ["LTRIM", "lt", "1", "-2"],
            ["LTRIM", "lt", "-100", "100"], ["LTRIM", "lt", "-3", "-1"], ["LTRIM", "lt", "0", "0"], ["LTRIM", "lt", "5", "2"],
            ["LTRIM", "nol", "0", "1"], ["LTRIM", "str", "0", "1"], ["LTRIM", "lt", "a", "1"], ["LTRIM", "nol", "0", "b"],
            ["RPUSH", "lt2", "a", "b"], ["LTRIM", "lt2", "2", "10"], ["RPUSH", "lt3", "a", "b"],
            ["LTRIM", "lt3", "-9223372036854775808", "9223372036854775807"], ["LTRIM", "lt3", "9223372036854775807", "-9223372036854775808"],
        ])
        try h.compareKeyspace()
        // The same on a list of several nodes, with long elements mixed in.
        var big = numbered("v", 400)
        for i in stride(from: 0, to: big.count, by: 37) { big[i] = longElement + "\(i)" }
        for i in stride(from: 5, to: big.count, by: 11) { big[i] = "dup" }
        try h.run([
            ["RPUSH", "big"] + big, ["LINSERT", "big", "BEFORE", "v200", "ins1"], ["LINSERT", "big", "AFTER", "v399", "ins2"],
            ["LINSERT", "big", "AFTER", longElement + "37", "ins3"], ["LSET", "big", "250", "set250"], ["LSET", "big", "-1", longElement],
            ["LSET", "big", "401", "x"], ["LSET", "big", "402", "x"], ["LSET", "big", "403", "x"], ["LREM", "big", "3", "dup"],
            ["LREM", "big", "-4", "dup"], ["LREM", "big", "0", "v1"],
        ])
        try h.compareKeyspace()
        try h.run([["LREM", "big", "0", "dup"], ["LTRIM", "big", "10", "-20"], ["LTRIM", "big", "100", "250"], ["LTRIM", "big", "1", "0"]])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("LMOVE, RPOPLPUSH and LMPOP, including rotation of one list and every error")
    func listMoves() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["SET", "str", "v"], ["RPUSH", "src", "1", "2", "3", "4"], ["LMOVE", "src", "dst", "LEFT", "RIGHT"],
            ["LMOVE", "src", "dst", "right", "left"], ["LMOVE", "src", "src", "LEFT", "RIGHT"], ["LMOVE", "src", "src", "RIGHT", "RIGHT"],
            ["LMOVE", "src", "str", "LEFT", "LEFT"], ["LMOVE", "str", "dst", "LEFT", "LEFT"], ["LMOVE", "nol", "dst", "LEFT", "LEFT"],
            ["LMOVE", "nol", "str", "LEFT", "LEFT"], ["LMOVE", "src", "dst", "UP", "LEFT"], ["LMOVE", "src", "dst", "LEFT", "DOWN"],
            ["LMOVE", "str", "dst", "UP", "LEFT"], ["LMOVE", "src", "dst", "LEFT"], ["RPOPLPUSH", "src", "dst"],
            ["RPOPLPUSH", "src", "dst"], ["RPOPLPUSH", "nol", "dst"], ["RPOPLPUSH", "dst", "str"], ["RPOPLPUSH", "str", "dst"],
            ["RPUSH", "one", "x"], ["LMOVE", "one", "one", "LEFT", "LEFT"], ["RPOPLPUSH", "one", "one"], ["LMOVE", "one", "new", "LEFT", "LEFT"],
            ["LMPOP", "2", "nol", "dst", "LEFT"], ["LMPOP", "2", "nol", "dst", "RIGHT", "COUNT", "2"], ["LMPOP", "1", "nol", "LEFT"],
            ["LMPOP", "0", "dst", "LEFT"], ["LMPOP", "-1", "dst", "LEFT"], ["LMPOP", "x", "dst", "LEFT"], ["LMPOP", "3", "a", "b", "LEFT"],
            ["LMPOP", "1", "dst", "UP"], ["LMPOP", "1", "dst", "LEFT", "COUNT", "0"], ["LMPOP", "1", "dst", "LEFT", "COUNT", "x"],
            ["LMPOP", "1", "dst", "LEFT", "COUNT", "-2"], ["LMPOP", "1", "dst", "LEFT", "COUNT", "1", "COUNT", "1"],
            ["LMPOP", "1", "dst", "LEFT", "FOO"], ["LMPOP", "1", "dst", "LEFT", "COUNT"], ["LMPOP", "2", "str", "dst", "LEFT"],
            ["LMPOP", "2", "nol", "str", "LEFT"], ["LMPOP", "2", "dst", "str", "LEFT"], ["LMPOP", "1", "dst"],
            ["LMPOP", "1", "dst", "RIGHT", "COUNT", "100"], ["LMPOP", "1", "dst", "LEFT"],
        ])
        try h.compareKeyspace()
        try h.run([
            ["RPUSH", "bigsrc"] + numbered("m", 300), ["RPUSH", "bigdst", longElement], ["LMOVE", "bigsrc", "bigdst", "LEFT", "LEFT"],
            ["LMOVE", "bigsrc", "bigdst", "RIGHT", "RIGHT"], ["RPOPLPUSH", "bigdst", "bigsrc"], ["LMPOP", "2", "x", "bigsrc", "LEFT", "COUNT", "140"],
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
            ["SET", "str", "v"], ["RPUSH", "b1", "x", "y", "z"], ["BLPOP", "nob", "b1", "0"], ["BRPOP", "b1", "nob", "0"],
            ["BLPOP", "nob", "0.01"], ["BRPOP", "nob", "nob2", "0.01"], ["BLPOP", "b1", "x"], ["BLPOP", "b1", "-1"],
            ["BLPOP", "b1", "-0.0001"], ["BLPOP", "b1", "inf"], ["BLPOP", "b1", "1e400"], ["BLPOP", "b1", ""], ["BLPOP", "b1"],
            ["BLPOP", "str", "0"], ["BLPOP", "nob", "str", "0"], ["BLPOP", "b1", "str", "0.5"], ["BRPOP", "b1", "1.5"],
            ["RPUSH", "m1", "a", "b", "c"], ["BLMOVE", "m1", "m2", "LEFT", "RIGHT", "0"], ["BLMOVE", "m1", "m2", "RIGHT", "LEFT", "0.5"],
            ["BLMOVE", "m1", "str", "LEFT", "RIGHT", "0"],
            ["BLMOVE", "str", "m2", "LEFT", "RIGHT", "0"], ["BLMOVE", "m1", "m2", "UP", "RIGHT", "x"], ["BLMOVE", "m1", "m2", "LEFT", "RIGHT", "x"],
            ["BLMOVE", "m1", "m2", "LEFT", "RIGHT", "-1"], ["BRPOPLPUSH", "m1", "m2", "0"], ["BLPOP", "b1", "9.3e15"],
            ["BRPOPLPUSH", "m2", "m2", "0"], ["BRPOPLPUSH", "m2", "str", "0"], ["BRPOPLPUSH", "m2", "m3", "y"],
            ["BLMPOP", "0.01", "2", "nob", "m2", "LEFT", "COUNT", "2"], ["BLMPOP", "0.01", "1", "nob", "LEFT"],
            ["BLMPOP", "x", "1", "m2", "LEFT"], ["BLMPOP", "0", "0", "m2", "LEFT"], ["BLMPOP", "x", "0", "m2", "LEFT"],
            ["BLMPOP", "0", "1", "m2", "MIDDLE"], ["BLMPOP", "0", "1", "str", "LEFT"], ["BLMPOP", "-1", "1", "m2", "RIGHT"],
            ["BLMPOP", "0", "2", "m2", "m3", "RIGHT", "COUNT", "10"],
            // Inside MULTI a server may not block: what an AOF's blocking commands did is what runs.
            ["MULTI"], ["BLPOP", "nob", "0"], ["BRPOPLPUSH", "nob", "x", "0"], ["BLMOVE", "nob", "m2", "LEFT", "RIGHT", "0"],
            ["BLMPOP", "0", "1", "nob", "LEFT"], ["RPUSH", "nob", "v"], ["BLMOVE", "nob", "m2", "LEFT", "RIGHT", "0"], ["EXEC"],
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
            case 13: commands.append(["LMPOP", "2", key(), key(), end()] + (rng.next() % 2 == 0 ? ["COUNT", String(rng.next() % 30 + 1)] : []))
            case 14: commands.append([rng.next() % 2 == 0 ? "BLPOP" : "BRPOP", key(), key(), "0.01"])
            case 15: commands += [["MULTI"], ["BLMOVE", key(), key(), end(), end(), "0"], ["BRPOPLPUSH", key(), key(), "0"], ["EXEC"]]
            case 16: commands.append(["BLMPOP", "0.01", "1", key(), end(), "COUNT", String(rng.next() % 5 + 1)])
            case 17: commands.append(["LINSERT", key(), "BEFORE", "a", longElement])
            default: commands.append(["RPUSH", key(), element(), element()])
            }
        }
        try h.runComparing(commands)
        #expect(h.problems.isEmpty)
    }

    // MARK: Sets

    @Test("SADD, SREM and SMOVE across intset, small and big sets, with every error")
    func setWrites() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["SET", "str", "v"], ["SADD", "s", "1", "2", "3", "2"], ["SADD", "s", "-5", "9223372036854775807"], ["SADD", "s", "a", "1"],
            ["SADD", "str", "x"], ["SADD", "s"], ["SREM", "s", "1", "zz", "a"], ["SREM", "nos", "x"], ["SREM", "str", "x"], ["SREM", "s"],
            ["SADD", "e", "only"], ["SREM", "e", "only", "more"], ["SADD", "ints"] + (0..<600).map(String.init),
            ["SADD", "ints", "07"], ["SREM", "ints", "07", "5", "599"], ["SADD", "many"] + numbered("m", 200),
            ["SADD", "longs", longElement], ["SADD", "longs", "x", "1"], ["SREM", "many"] + numbered("m", 100),
            ["SMOVE", "nos", "d", "x"], ["SMOVE", "nos", "str", "x"], ["SMOVE", "str", "d", "x"], ["SMOVE", "s", "str", "2"],
            ["SMOVE", "s", "s", "2"], ["SMOVE", "s", "s", "zz"], ["SMOVE", "s", "d", "zz"], ["SMOVE", "s", "d", "2"],
            ["SMOVE", "s", "d", "2"], ["SMOVE", "ints", "d", "300"], ["SMOVE", "many", "d", "m150"], ["SMOVE", "longs", "d", longElement],
            ["SADD", "one", "x"], ["SMOVE", "one", "d", "x"], ["SADD", "one", "y"], ["SMOVE", "one", "newset", "y"], ["SMOVE", "s", "d"],
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
        let serverPicks = serverItems.compactMap { r -> RedisBytes? in if case .bulk(let b?) = r { RedisBytes(b) } else { nil } }
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
            ["SET", "str", "v"], ["SPOP", "nos"], ["SPOP", "nos", "3"], ["SPOP", "nos", "0"], ["SPOP", "str"], ["SPOP", "str", "1"],
            ["SPOP", "str", "0"], ["SPOP", "nos", "-1"], ["SPOP", "str", "-1"], ["SPOP", "nos", "x"], ["SPOP", "nos", "1", "2"],
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
        try h.run([["SADD", "p1", "5", "3", "9", "1"], ["SADD", "p2"] + numbered("y", 300), ["SADD", "p3", "b", "a", longElement, "c"]])
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
            ["SET", "str", "v"], ["SADD", "a", "1", "2", "3", "x"], ["SADD", "b", "2", "3", "4", "y"], ["SADD", "c", "3", "x", "2"],
            ["SADD", "big"] + numbered("m", 300) + ["2", "3"], ["SADD", "d", "old"], ["EXPIRE", "d", "1000"],
            ["SINTERSTORE", "d", "a", "b"], ["SINTERSTORE", "d", "a", "b", "c"], ["SINTERSTORE", "d", "a", "big"],
            ["SINTERSTORE", "d", "a", "nos"], ["SINTERSTORE", "d", "a", "b"], ["SINTERSTORE", "d", "nos", "str"],
            ["SINTERSTORE", "d", "a", "str"], ["SINTERSTORE", "d", "a", "a"], ["SINTERSTORE", "d", "a"], ["SINTERSTORE", "d"],
            ["SINTERSTORE", "e", "a", "b"], ["SINTERSTORE", "a", "a", "c"], ["SINTERSTORE", "str", "a", "b"], ["SINTERSTORE", "f", "b", "c", "big"],
            ["SUNIONSTORE", "u", "a", "b", "nos"], ["SUNIONSTORE", "u", "big", "c"], ["SUNIONSTORE", "u", "nos"], ["SUNIONSTORE", "u", "a", "str"],
            ["SUNIONSTORE", "u", "nos", "nos2"], ["SUNIONSTORE", "b", "b", "c"], ["SADD", "u", "z"], ["EXPIRE", "u", "500"],
            ["SUNIONSTORE", "u", "u", "a"], ["SDIFFSTORE", "df", "b", "a"], ["SDIFFSTORE", "df", "big", "b", "nos"],
            ["SDIFFSTORE", "df", "nos", "a"], ["SDIFFSTORE", "df", "b", "b"], ["SDIFFSTORE", "df", "a", "str"], ["SDIFFSTORE", "df", "a", "c", "a"],
            ["SDIFFSTORE", "df", "big", "a"], ["SDIFFSTORE", "df", "c", "big"], ["SDIFFSTORE", "df"], ["SUNIONSTORE", "str", "a"],
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
            let ws = w.compactMap { r -> [UInt8]? in if case .bulk(let b?) = r { b } else { nil } }.sorted { $0.lexicographicallyPrecedes($1) }
            let gs = g.compactMap { r -> [UInt8]? in if case .bulk(let b?) = r { b.bytes } else { nil } }.sorted { $0.lexicographicallyPrecedes($1) }
            #expect(ws.count == w.count && gs == ws, "\(c.joined(separator: " ")): engine \(got), server \(want)")
        } else {
            #expect(DifferentialHarness.same(got, want), "\(c.joined(separator: " ")): engine \(got), server \(want)")
        }
    }
}
