import RedisFormats
import RedisKeyspace
import Testing
import _RedisFormatsTestSupport

@Suite("Bitmap and HyperLogLog commands against redis-server 7.0", .serialized, .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
struct BitmapDifferentialTests {
    @Test("SETBIT, BITOP and BITFIELD give the server's replies, errors and strings")
    func bitmaps() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["SETBIT", "b", "7", "1"], ["SETBIT", "b", "7", "0"], ["SETBIT", "b", "100", "1"], ["SETBIT", "b", "100", "1"],
            ["SETBIT", "b", "-1", "1"], ["SETBIT", "b", "x", "1"], ["SETBIT", "b", "1", "2"], ["SETBIT", "b", "1", "-1"],
            ["SETBIT", "b", "1", "x"], ["SETBIT", "b", "4294967296", "1"], ["SETBIT", "b", "4294967295", "x"],
            ["SET", "s", "foobar"], ["SETBIT", "s", "3", "1"], ["SET", "t", "x", "PX", "100000"], ["SETBIT", "t", "20", "1"],
            ["HSET", "l", "a", "1"], ["SETBIT", "l", "1", "1"],
            ["SET", "k1", "foobar"], ["SET", "k2", "abcdefghij"], ["BITOP", "AND", "r1", "k1", "k2"],
            ["BITOP", "or", "r2", "k1", "k2", "nokey"], ["BITOP", "XOR", "r3", "k1", "k2"], ["BITOP", "NOT", "r4", "k2"],
            ["BITOP", "NOT", "r5", "k1", "k2"], ["BITOP", "NAND", "r6", "k1"], ["BITOP", "AND", "r7", "k1", "l"],
            ["BITOP", "AND", "r8", "nokey", "k1"], ["SET", "r9", "x", "EX", "1000"], ["BITOP", "OR", "r9", "k1"],
            ["SET", "r10", "x"], ["BITOP", "AND", "r10", "nokey1", "nokey2"],
            ["BITFIELD", "f", "SET", "i8", "0", "100", "GET", "u4", "0", "INCRBY", "i8", "0", "100"],
            ["BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "100", "INCRBY", "i8", "0", "-300"],
            ["BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-1", "INCRBY", "u2", "100", "5"],
            ["BITFIELD", "f", "OVERFLOW", "WRAP", "INCRBY", "u2", "100", "5", "SET", "u8", "#3", "300"],
            ["BITFIELD", "f", "OVERFLOW", "SAT", "SET", "u8", "#4", "300", "SET", "i5", "#4", "-100", "SET", "u3", "50", "-1"],
            ["BITFIELD", "f", "SET", "i64", "64", "-9223372036854775808", "INCRBY", "i64", "64", "-1"],
            ["BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "i64", "64", "-1", "INCRBY", "u63", "200", "9223372036854775807"],
            ["BITFIELD", "f", "OVERFLOW", "FAIL", "SET", "u63", "200", "-1", "GET", "u63", "200", "GET", "i64", "64"],
            ["BITFIELD", "f", "GET", "u64", "0"], ["BITFIELD", "f", "GET", "i65", "0"], ["BITFIELD", "f", "GET", "x8", "0"],
            ["BITFIELD", "f", "GET", "i0", "0"], ["BITFIELD", "f", "GET", "i8", "-1"], ["BITFIELD", "f", "GET", "i8", "#x"],
            ["BITFIELD", "f", "SET", "i8", "0", "x"], ["BITFIELD", "f", "OVERFLOW", "FOO"], ["BITFIELD", "f", "FOO", "i8", "0"],
            ["BITFIELD", "f", "GET", "i8"], ["BITFIELD", "f"], ["BITFIELD", "nokey", "GET", "i8", "0"],
            ["BITFIELD", "grow", "OVERFLOW", "FAIL", "SET", "u2", "1000", "9"], ["BITFIELD", "l", "GET", "i8", "0"],
            ["BITFIELD", "l", "SET", "i8", "0", "1"], ["BITFIELD", "f", "GET", "I8", "0"],
            ["BITFIELD", "f", "INCRBY", "u1", "#1000", "1", "INCRBY", "i1", "#1001", "1"],
        ])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("PFADD and PFMERGE build the server's exact sparse and dense HyperLogLog bytes")
    func hyperLogLog() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["PFADD", "empty"], ["PFADD", "empty"], ["PFADD", "h", "a", "b", "c"], ["PFADD", "h", "a"], ["PFADD", "h", "d"], ["SET", "s", "not an hll"], ["PFADD", "s", "x"], ["HSET", "l", "x", "1"], ["PFADD", "l", "x"],
            ["PFMERGE", "m", "h", "empty", "nokey"], ["PFMERGE", "m2"], ["PFMERGE", "m3", "s"], ["PFMERGE", "m3", "l"],
        ])
        // Grow one HLL through many sparse forms into dense (past 3000 bytes of opcodes).
        var grow: [[String]] = []
        for i in 0..<1000 { grow.append(["PFADD", "big", "e\(i)", "x\(i * 7)", "y\(i * 13)"]) }
        for i in 0..<50 { grow.append(["PFADD", "mid", "m\(i)"]) }
        grow += [
            ["PFMERGE", "merged", "mid", "big"], ["PFMERGE", "mid", "mid"], ["PFMERGE", "sparse2", "mid", "h"],
            ["SET", "ttl", "x"], ["DEL", "ttl"], ["PFADD", "ttl", "a"], ["PEXPIRE", "ttl", "100000"], ["PFADD", "ttl", "zz", "yy"],
            ["PFMERGE", "ttl", "big"],
        ]
        try h.run(grow)
        try h.compareKeyspace()
        // The sequence did reach both encodings: "big" and what merged it are dense, "sparse2" is sparse.
        for (key, encoding, size) in [("big", 0, 12304), ("merged", 0, 12304), ("sparse2", 1, nil)] as [(String, UInt8, Int?)] {
            guard case .string(let v)? = h.keyspace.value(db: 0, key: RedisBytes(key)) else {
                Issue.record("\(key) missing")
                continue
            }
            #expect(v.bytes[4] == encoding, "\(key)")
            if let size { #expect(v.count == size, "\(key)") }
        }
        #expect(h.problems.isEmpty)
    }

    @Test("A seeded random bitmap and HyperLogLog workload matches the server after every batch", arguments: [21 as UInt64, 22])
    func randomBits(seed: UInt64) throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<8 {
            var batch: [[String]] = []
            for _ in 0..<60 {
                let k = ["b1", "b2", "b3"].randomElement(using: &rng)!
                let hk = ["p1", "p2", "p3"].randomElement(using: &rng)!
                switch Int.random(in: 0..<7, using: &rng) {
                case 0: batch.append(["SETBIT", k, "\(Int.random(in: 0..<300, using: &rng))", "\(Int.random(in: 0...1, using: &rng))"])
                case 1:
                    batch.append(["BITOP", ["AND", "OR", "XOR"].randomElement(using: &rng)!, k, "b1", "b2", "b3"])
                case 2: batch.append(["BITOP", "NOT", k, ["b1", "b2", "b3"].randomElement(using: &rng)!])
                case 3:
                    let type = (Bool.random(using: &rng) ? "i" : "u") + "\(Int.random(in: 1...16, using: &rng))"
                    batch.append([
                        "BITFIELD", k, "OVERFLOW", ["WRAP", "SAT", "FAIL"].randomElement(using: &rng)!,
                        ["SET", "INCRBY"].randomElement(using: &rng)!, type, "\(Int.random(in: 0..<200, using: &rng))",
                        "\(Int.random(in: -70000...70000, using: &rng))",
                    ])
                case 4, 5:
                    var c = ["PFADD", hk]
                    for _ in 0..<Int.random(in: 0...20, using: &rng) { c.append("el\(Int.random(in: 0..<3000, using: &rng))") }
                    batch.append(c)
                default: batch.append(["PFMERGE", hk, ["p1", "p2", "p3"].randomElement(using: &rng)!])
                }
            }
            try h.run(batch)
            try h.compareKeyspace()
        }
        #expect(h.problems.isEmpty)
    }
}

@Suite("HyperLogLog encoding")
struct HyperLogLogEncodingTests {
    @Test("A new HyperLogLog is Redis's 18-byte sparse string, and an element sets one register in a VAL opcode")
    func emptyAndOne() throws {
        let ks = Keyspace()
        let e = CommandEngine(keyspace: ks)
        #expect(try e.apply(["PFADD", "h"].map { RedisBytes($0) }) == .integer(1))
        guard case .string(let s)? = ks.value(db: 0, key: RedisBytes("h")) else {
            Issue.record("no string")
            return
        }
        // PFADD marks the cached cardinality stale even when it only created the key (top bit of the last card byte).
        #expect(s.bytes == Array("HYLL".utf8) + [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x7F, 0xFF])
        #expect(try e.apply(["PFADD", "h", "a"].map { RedisBytes($0) }) == .integer(1))
        guard case .string(let t)? = ks.value(db: 0, key: RedisBytes("h")) else { return }
        // Cache marked stale; the body is XZERO?, one VAL of length 1, XZERO?: 16384 registers in all.
        #expect(t.bytes[15] & 0x80 == 0x80)
        var registers = 0
        var vals = 0
        var i = 16
        while i < t.count {
            let b = t.bytes[i]
            if b & 0xC0 == 0 { registers += Int(b & 0x3F) + 1; i += 1 }
            else if b & 0xC0 == 0x40 { registers += (Int(b & 0x3F) << 8 | Int(t.bytes[i + 1])) + 1; i += 2 }
            else { registers += Int(b & 3) + 1; vals += 1; i += 1 }
        }
        #expect(registers == 16384)
        #expect(vals == 1)
        #expect(try e.apply(["PFADD", "h", "a"].map { RedisBytes($0) }) == .integer(0))
    }
}
