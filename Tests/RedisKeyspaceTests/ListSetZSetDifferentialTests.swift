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
}
