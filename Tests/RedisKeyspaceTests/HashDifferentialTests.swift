import RedisFormats
import RedisKeyspace
import Testing
import _RedisFormatsTestSupport


@Suite("Hash commands against redis-server 7.0", .serialized, .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
struct HashDifferentialTests {
    @Test("HSET, HMSET, HSETNX, HDEL, HINCRBY and HINCRBYFLOAT give the server's replies, errors and keyspace")
    func basics() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["HSET", "h", "a", "1", "b", "2"], ["HSET", "h", "a", "3", "c", "4"], ["HSET", "h", "a"], ["HSET", "h"],
            ["HMSET", "h", "d", "5"], ["HMSET", "h", "d"], ["HSETNX", "h", "a", "x"], ["HSETNX", "h", "z", "x"],
            ["HSETNX", "new", "f", "v"], ["HDEL", "h", "a", "nope", "a"], ["HDEL", "nokey", "a"], ["HDEL", "h"],
            ["HINCRBY", "h", "b", "10"], ["HINCRBY", "h", "b", "-100"], ["HINCRBY", "h", "new", "5"],
            ["HINCRBY", "h", "b", "x"], ["HINCRBY", "h", "z", "1"], ["HSET", "h", "big", "9223372036854775807"],
            ["HINCRBY", "h", "big", "1"], ["HINCRBY", "created", "f", "7"], ["HINCRBYFLOAT", "h", "f", "1.5"],
            ["HINCRBYFLOAT", "h", "f", "0.1"], ["HINCRBYFLOAT", "h", "f", "-3e2"], ["HINCRBYFLOAT", "h", "f", "abc"],
            ["HINCRBYFLOAT", "h", "f", "inf"], ["HINCRBYFLOAT", "h", "z", "1"], ["HINCRBYFLOAT", "h", "big", "1"],
            ["HINCRBYFLOAT", "h", "g", "5.0e3"], ["HINCRBYFLOAT", "h", "tiny", "1e-20"], ["HINCRBYFLOAT", "fl", "x", "1e4000"],
            ["HINCRBYFLOAT", "fl", "x", "1e4932"], ["HINCRBYFLOAT", "fl", "y", "10"], ["HINCRBYFLOAT", "fl", "y", "1.1e4932"],
            ["SET", "s", "v"], ["HSET", "s", "a", "1"], ["HMSET", "s", "a", "1"], ["HSETNX", "s", "a", "1"], ["HDEL", "s", "a"],
            ["HINCRBY", "s", "a", "1"], ["HINCRBYFLOAT", "s", "a", "1"], ["HINCRBY", "s", "a", "x"],
            ["HSET", "gone", "only", "1"], ["HDEL", "gone", "only"], ["HSET", "gone2", "a", "1", "b", "2"],
            ["HDEL", "gone2", "a", "b", "c"],
        ])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("Hashes that grow past 128 fields or get a value over 64 bytes, then shrink, keep the server's contents")
    func bigHashes() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        var cmds: [[String]] = []
        for i in 0..<140 { cmds.append(["HSET", "many", "f\(i)", "v\(i)"]) }
        for i in stride(from: 0, to: 140, by: 3) { cmds.append(["HDEL", "many", "f\(i)"]) }
        cmds.append(["HSET", "long", "a", "1", "b", String(repeating: "x", count: 65)])
        cmds.append(["HSET", "long", "a", String(repeating: "y", count: 200)])
        cmds.append(["HINCRBY", "long", "n", "3"])
        cmds.append(["HSET", "longfield", String(repeating: "k", count: 70), "1"])
        cmds.append(["HSET", "edge", "a", String(repeating: "z", count: 64)])
        cmds.append(["HSET", "edge", "a", String(repeating: "z", count: 65)])
        var allFields = ["HDEL", "many"]
        for i in 0..<140 { allFields.append("f\(i)") }
        cmds.append(["HSETNX", "many", "f1", "again"])
        try h.run(cmds)
        try h.compareKeyspace()
        try h.run([allFields])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("A seeded random sequence of hash writes matches the server after every batch", arguments: [1 as UInt64, 2, 3])
    func randomSequence(seed: UInt64) throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        var rng = SeededGenerator(seed: seed)
        let keys = ["h1", "h2", "h3", "str"]
        func field() -> String { "f\(Int.random(in: 0..<40, using: &rng))" }
        func value() -> String {
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: String(Int.random(in: -1000...1000, using: &rng))
            case 1: String(repeating: "v", count: Int.random(in: 60...70, using: &rng))
            case 2: "1.5"
            default: "val\(Int.random(in: 0..<100, using: &rng))"
            }
        }
        try h.run([["SET", "str", "x"]])
        for _ in 0..<10 {
            var batch: [[String]] = []
            for _ in 0..<60 {
                let k = keys.randomElement(using: &rng)!
                switch Int.random(in: 0..<8, using: &rng) {
                case 0, 1:
                    var c = ["HSET", k]
                    for _ in 0..<Int.random(in: 1...6, using: &rng) { c += [field(), value()] }
                    batch.append(c)
                case 2: batch.append(["HMSET", k, field(), value()])
                case 3: batch.append(["HSETNX", k, field(), value()])
                case 4:
                    var c = ["HDEL", k]
                    for _ in 0..<Int.random(in: 1...8, using: &rng) { c.append(field()) }
                    batch.append(c)
                case 5: batch.append(["HINCRBY", k, field(), String(Int.random(in: -50...50, using: &rng))])
                case 6: batch.append(["HINCRBYFLOAT", k, field(), ["0.5", "-2.25", "1e3", "x"].randomElement(using: &rng)!])
                default: batch.append(["DEL", k])
                }
            }
            try h.run(batch)
            try h.compareKeyspace()
        }
        #expect(h.problems.isEmpty)
    }
}

@Suite("Hash field TTLs against Redis 7.4", .serialized, .enabled(if: LiveServerKind.stack74.isInstalled, LiveServerKind.missing(.stack74)))
struct HashFieldTTLDifferentialTests {
    @Test("HEXPIRE family and HPERSIST give Redis 7.4's replies, errors and field TTLs")
    func fieldTTLs() throws {
        let h = try DifferentialHarness(.stack74)
        defer { h.stop() }
        let far = String(currentMilliseconds() / 1000 + 100_000)
        let farMS = String(currentMilliseconds() + 200_000_000)
        try h.run([
            ["HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"], ["SET", "s", "x"],
            ["HEXPIRE", "h", "100", "FIELDS", "2", "a", "x"], ["HEXPIRE", "h", "100", "FIELDS", "3", "a", "x"],
            ["HEXPIRE", "h", "100", "FIELDS", "0"], ["HEXPIRE", "h", "100", "FIELDS", "-1", "a"],
            ["HEXPIRE", "h", "100", "FIELDS", "x", "a"], ["HEXPIRE", "h", "100", "NX", "FIELDS", "1", "a"],
            ["HEXPIRE", "h", "200", "XX", "FIELDS", "1", "a"], ["HEXPIRE", "h", "50", "GT", "FIELDS", "1", "a"],
            ["HEXPIRE", "h", "500", "GT", "FIELDS", "1", "a"], ["HEXPIRE", "h", "500", "NX", "XX", "FIELDS", "1", "a"],
            ["HEXPIRE", "h", "-1", "FIELDS", "1", "a"], ["HEXPIRE", "h", "abc", "FIELDS", "1", "a"],
            ["HEXPIRE", "nokey", "100", "FIELDS", "2", "a", "b"], ["HEXPIRE", "nokey", "abc", "FIELDS", "1", "a"],
            ["HEXPIRE", "h", "100", "FOO", "1", "a"], ["HEXPIRE", "s", "abc", "FIELDS", "1", "a"],
            ["HEXPIRE", "h", "100", "GT", "FIELDS", "1", "b"], ["HEXPIRE", "h", "100", "LT", "FIELDS", "1", "b"],
            ["HEXPIRE", "h", "100", "XX", "FIELDS", "1", "c"], ["HEXPIRE", "h", "100", "FIELDS", "1", "a", "NX"],
            ["HEXPIRE", "h", "100", "FIELDS", "2", "c", "c"], ["HEXPIREAT", "h", far, "LT", "FIELDS", "1", "c"],
            ["HPEXPIREAT", "h", farMS, "FIELDS", "1", "d"], ["HPEXPIRE", "h", "300000", "fields", "1", "d"],
            ["HPEXPIREAT", "h", "70368744177663", "FIELDS", "1", "d"], ["HPEXPIREAT", "h", "70368744177664", "FIELDS", "1", "d"],
            ["HPEXPIRE", "h", "70368744177663", "FIELDS", "1", "d"], ["HEXPIREAT", "h", "99999999999999", "FIELDS", "1", "a"],
            ["HPEXPIRE", "h", "9223372036854775807", "FIELDS", "1", "a"], ["HEXPIRE", "h", "9223372036854775", "FIELDS", "1", "a"],
            ["HPERSIST", "h", "FIELDS", "3", "a", "b", "zz"], ["HPERSIST", "h", "FIELDS", "1", "a"],
            ["HPERSIST", "h", "FIELDS", "0", "a"], ["HPERSIST", "h", "FOO", "1", "a"], ["HPERSIST", "nokey", "FIELDS", "1", "a"],
            ["HPERSIST", "s", "FIELDS", "1", "a"], ["HPERSIST", "h", "FIELDS", "2", "a"], ["HPERSIST", "h", "FIELDS", "1"],
            // HINCRBY and HINCRBYFLOAT keep a field's TTL; HSET, HMSET clear it; HSETNX leaves it alone.
            ["HPEXPIREAT", "h", farMS, "FIELDS", "3", "a", "b", "c"], ["HINCRBY", "h", "a", "1"], ["HINCRBYFLOAT", "h", "b", "1.5"],
            ["HSETNX", "h", "c", "9"], ["HSET", "h", "d", "new"], ["HMSET", "h", "c", "x"],
            // Times in the past delete the field (reply 2); the last field deleted removes the key.
            ["HPEXPIREAT", "h", "1", "FIELDS", "1", "b"], ["HEXPIRE", "h", "0", "FIELDS", "1", "d"],
            ["HSET", "two", "x", "1", "y", "2"], ["HPEXPIRE", "two", "0", "FIELDS", "3", "nope", "x", "y"],
            ["HSET", "big", "long", String(repeating: "v", count: 100)], ["HEXPIRE", "big", "1000", "FIELDS", "1", "long"],
            ["HDEL", "big", "long"],
        ])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("A seeded random sequence with field TTLs matches Redis 7.4 after every batch", arguments: [7 as UInt64, 8])
    func randomTTLs(seed: UInt64) throws {
        let h = try DifferentialHarness(.stack74)
        defer { h.stop() }
        var rng = SeededGenerator(seed: seed)
        let keys = ["h1", "h2"]
        func field() -> String { "f\(Int.random(in: 0..<20, using: &rng))" }
        for _ in 0..<6 {
            var batch: [[String]] = []
            for _ in 0..<50 {
                let k = keys.randomElement(using: &rng)!
                let cond = ["", "NX", "XX", "GT", "LT"].randomElement(using: &rng)!
                var c: [String]
                switch Int.random(in: 0..<7, using: &rng) {
                case 0, 1: c = ["HSET", k, field(), "v\(Int.random(in: 0..<9, using: &rng))", field(), "w"]
                case 2:
                    // Absolute times: the harness compares field TTLs exactly, and relative ones depend on each
                    // side's clock.
                    c = ["HEXPIREAT", k, String(currentMilliseconds() / 1000 + Int64.random(in: 100...100_000, using: &rng))]
                    if !cond.isEmpty { c.append(cond) }
                    c += ["FIELDS", "2", field(), field()]
                case 3:
                    c = ["HPEXPIREAT", k, String(currentMilliseconds() + Int64.random(in: 1_000_000...9_000_000, using: &rng))]
                    if !cond.isEmpty { c.append(cond) }
                    c += ["FIELDS", "1", field()]
                case 4: c = ["HPERSIST", k, "FIELDS", "2", field(), field()]
                case 5: c = ["HINCRBY", k, field(), "1"]
                default: c = ["HPEXPIRE", k, "0", "FIELDS", "1", field()]
                }
                batch.append(c)
            }
            try h.run(batch)
            try h.compareKeyspace()
        }
        #expect(h.problems.isEmpty)
    }
}

@Suite("Hash field TTLs while loading")
struct HashFieldTTLLoadingTests {
    @Test("With no clock (loading), a past HPEXPIREAT keeps the field with its time, as a loading server does")
    func pastTimeKeptWhileLoading() throws {
        let ks = Keyspace()
        let e = CommandEngine(keyspace: ks)
        #expect(e.now == nil)
        try e.apply(["HSET", "h", "a", "1", "b", "2"].map { RedisBytes($0) })
        let r = try e.apply(["HPEXPIREAT", "h", "1", "FIELDS", "2", "a", "zz"].map { RedisBytes($0) })
        #expect(r == .array([.integer(1), .integer(-2)]))
        guard case .hash(let hv)? = ks.value(db: 0, key: RedisBytes("h")) else {
            Issue.record("hash missing")
            return
        }
        #expect(hv.expiry(RedisBytes("a")) == 1)
        #expect(hv.count == 2)
        // The AOF of a 7.4 server records the field's expiry as HDEL.
        try e.apply(["HDEL", "h", "a", "b"].map { RedisBytes($0) })
        #expect(!ks.exists(db: 0, key: RedisBytes("h")))
    }
}

@Suite("Hash field TTLs against Valkey 9.1 (valid commands)", .serialized, .enabled(if: LiveServerKind.valkey91.isInstalled, LiveServerKind.missing(.valkey91)))
struct HashFieldTTLValkeyTests {
    /// Valkey words its errors differently and takes other time limits (only Redis 7.4's are mirrored); commands
    /// that succeed give the same replies and leave the same fields and TTLs.
    @Test("A seeded random sequence of valid field-TTL commands matches Valkey 9.1 after every batch", arguments: [41 as UInt64])
    func randomValkey(seed: UInt64) throws {
        let h = try DifferentialHarness(.valkey91)
        defer { h.stop() }
        var rng = SeededGenerator(seed: seed)
        func field() -> String { "f\(Int.random(in: 0..<12, using: &rng))" }
        for _ in 0..<5 {
            var batch: [[String]] = []
            for _ in 0..<50 {
                let k = ["v1", "v2"].randomElement(using: &rng)!
                switch Int.random(in: 0..<6, using: &rng) {
                case 0, 1: batch.append(["HSET", k, field(), "x", field(), "y"])
                case 2:
                    batch.append([
                        "HPEXPIREAT", k, String(currentMilliseconds() + Int64.random(in: 1_000_000...9_000_000, using: &rng)),
                        "FIELDS", "2", field(), field(),
                    ])
                case 3: batch.append(["HPERSIST", k, "FIELDS", "1", field()])
                case 4: batch.append(["HINCRBY", k, field(), "3"])
                default: batch.append(["HPEXPIRE", k, "0", "FIELDS", "1", field()])
                }
            }
            try h.run(batch)
            try h.compareKeyspace()
        }
        #expect(h.problems.isEmpty)
    }
}
