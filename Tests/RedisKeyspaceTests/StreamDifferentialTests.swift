import RedisFormats
import RedisKeyspace
import Testing
import _RedisFormatsTestSupport

@Suite("Stream commands against redis-server 7.0", .serialized, .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
struct StreamDifferentialTests {
    @Test("XADD, XTRIM, XDEL and XSETID give the server's replies, errors and stream metadata")
    func addTrimDelete() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["SET", "str", "x"],
            ["XADD", "s", "0-0", "a", "1"], ["XADD", "s", "0", "a", "1"], ["XADD", "s", "0-*", "a", "1"],
            ["XADD", "s", "0-*", "a", "1"], ["XADD", "s", "5", "a", "1"], ["XADD", "s", "5", "a"], ["XADD", "s", "5"],
            ["XADD", "s", "4", "a", "1"], ["XADD", "s", "5-*", "b", "2", "c", "3"], ["XADD", "s", "MAXLEN", "-1", "*", "a", "1"],
            ["XADD", "s", "MAXLEN", "x", "*", "a", "1"], ["XADD", "s", "MAXLEN", "1", "MINID", "0", "*", "a", "1"],
            ["XADD", "s", "LIMIT", "5", "*", "a", "1"], ["XADD", "s", "MAXLEN", "5", "LIMIT", "5", "*", "a", "1"],
            ["XADD", "s", "MAXLEN", "=", "5", "LIMIT", "5", "*", "a", "1"], ["XADD", "s", "MAXLEN", "~", "5", "LIMIT", "-1", "*", "a", "1"],
            ["XADD", "s", "MINID", "foo", "*", "a", "1"], ["XADD", "s", "foo", "a", "1"], ["XADD", "s", "1-x", "a", "1"],
            ["XADD", "s", "-", "a", "1"], ["XADD", "s", "+", "a", "1"], ["XADD", "nok", "NOMKSTREAM", "*", "a", "1"],
            ["XADD", "str", "*", "a", "1"], ["XADD", "str", "NOMKSTREAM", "*", "a", "1"], ["XADD", "s", "1-2-3", "a", "1"],
            ["XADD", "s", "99999999999-007", "a", "1"], ["XADD", "s", "099999999999", "a", "1"],
            ["XADD", "s", "100000000000-5", "n", "12", "m", "-7"], 
            ["XADD", "s", "100000000000-*", "more", "x"], ["XADD", "s", "MAXLEN", "=", "6", "100000000001-1", "f", "v"],
            ["XTRIM", "s"], ["XTRIM", "s", "MAXLEN"], ["XTRIM", "s", "FOO", "1"], ["XTRIM", "s", "MAXLEN", "1", "FOO"],
            ["XTRIM", "nokey", "MAXLEN", "1"], ["XTRIM", "str", "MAXLEN", "1"], ["XTRIM", "s", "LIMIT", "5"],
            ["XTRIM", "s", "MAXLEN", "1", "LIMIT", "5"], ["XTRIM", "s", "MINID", "1", "MAXLEN", "1"],
            ["XTRIM", "s", "NOMKSTREAM", "MAXLEN", "1"], ["XTRIM", "s", "MINID", "5-1"], ["XTRIM", "s", "MAXLEN", "~", "1"],
            ["XDEL", "s", "5-1", "bad"], ["XDEL", "nok", "1"], ["XDEL", "s", "5-2", "5-2", "100000000000-5"],
            ["XDEL", "str", "1"], ["XSETID", "s", "1"], ["XSETID", "nok", "1"], ["XSETID", "str", "1"],
            ["XSETID", "s", "99999999999999999999999-0"], ["XSETID", "s", "100000000005-0", "ENTRIESADDED", "1"],
            ["XSETID", "s", "100000000005-0", "ENTRIESADDED", "-1"], ["XSETID", "s", "100000000005-0", "ENTRIESADDED"],
            ["XSETID", "s", "100000000005-0", "ENTRIESADDED", "x"], ["XSETID", "s", "100000000005-0", "FOO"],
            ["XSETID", "s", "100000000005-0", "MAXDELETEDID", "100000000006-0"], ["XSETID", "s", "-"],
            ["XSETID", "s", "100000000005-0", "ENTRIESADDED", "100", "MAXDELETEDID", "100000000004-0"],
            ["XSETID", "s", "100000000004-0"], ["XSETID", "s", "100000000006-0"],
            ["XADD", "gone", "1-1", "a", "b"], ["XDEL", "gone", "1-1"], ["XADD", "gone", "1-1", "a", "b"],
            ["XADD", "gone", "2-1", "a", "b"], ["XTRIM", "gone", "MAXLEN", "0"],
            ["XADD", "top", "18446744073709551615-18446744073709551615", "a", "1"], ["XADD", "top", "*", "a", "1"],
            ["XADD", "top", "18446744073709551615-*", "a", "1"],
            ["XADD", "e", "1-1", "a", "1"], ["XADD", "e", "1-2", "a", "2"], ["XADD", "e", "1-3", "a", "3"], ["XDEL", "e", "1-3"],
            ["XSETID", "e", "1-2"], ["XADD", "e", "1-3", "a", "3"], ["XDEL", "e", "1-1"], ["XDEL", "e", "1-2", "1-3"],
            // XSETID below a tombstone: the next entries sit after it in the same node, out of ID order.
            ["XADD", "u", "1-1", "a", "1"], ["XADD", "u", "1-5", "a", "5"], ["XADD", "u", "1-9", "a", "9"], ["XDEL", "u", "1-9", "1-5"],
            ["XSETID", "u", "1-2"], ["XADD", "u", "1-3", "a", "3"], ["XADD", "u", "1-4", "a", "4"], ["XDEL", "u", "1-3"],
            ["XADD", "u", "1-6", "a", "6"], ["XTRIM", "u", "MINID", "1-5"], ["XDEL", "u", "1-6", "1-4"], ["XADD", "u", "1-7", "a", "7"],
        ])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("Consumer groups: XGROUP, XREADGROUP, XCLAIM, XAUTOCLAIM and XACK keep the server's PELs, consumers and counters")
    func groups() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        var setup: [[String]] = [["SET", "str", "x"]]
        for i in 1...12 { setup.append(["XADD", "s", "\(i)-0", "f", "v\(i)", "g", "\(i * 7)"]) }
        try h.run(setup)
        try h.run([
            ["XGROUP", "CREATE", "nok", "g", "$"], ["XGROUP", "CREATE", "new", "g", "$", "MKSTREAM"],
            ["XGROUP", "CREATE", "new", "g", "$", "MKSTREAM"], ["XGROUP", "CREATE", "s", "g1", "0"],
            ["XGROUP", "CREATE", "s", "g2", "$"], ["XGROUP", "CREATE", "s", "g3", "5", "ENTRIESREAD", "5"],
            ["XGROUP", "CREATE", "s", "g4", "0", "ENTRIESREAD", "-5"], ["XGROUP", "CREATE", "s", "g4", "0", "ENTRIESREAD", "x"],
            ["XGROUP", "CREATE", "s", "g4", "0", "FOO"], ["XGROUP", "CREATE", "s", "g4", "-"], ["XGROUP", "CREATE", "s", "g4", "bad"],
            ["XGROUP", "CREATE", "str", "g", "$"], ["XGROUP", "CREATE", "s"], ["XGROUP", "FOO", "s"], ["XGROUP"],
            ["XGROUP", "SETID", "s", "nog", "5"], ["XGROUP", "SETID", "nok", "g", "5"], ["XGROUP", "SETID", "s", "g2", "5", "FOO", "3"],
            ["XGROUP", "SETID", "s", "g2", "5", "ENTRIESREAD"], ["XGROUP", "SETID", "s", "g2", "$", "ENTRIESREAD", "-2"],
            ["XGROUP", "SETID", "s", "g2", "3-0", "ENTRIESREAD", "3"], ["XGROUP", "CREATECONSUMER", "s", "g1", "alice"],
            ["XGROUP", "CREATECONSUMER", "s", "g1", "alice"], ["XGROUP", "CREATECONSUMER", "s", "nog", "alice"],
            ["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "s", ">"],
            ["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", "s", ">"],
            ["XREADGROUP", "GROUP", "g1", "alice", "STREAMS", "s", "0"], ["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "1", "STREAMS", "s", "1-0"],
            ["XREADGROUP", "GROUP", "g2", "carol", "NOACK", "COUNT", "2", "STREAMS", "s", ">"],
            ["XREADGROUP", "GROUP", "g3", "dave", "STREAMS", "s", "new", ">", ">"],
            ["XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", ">"], ["XREADGROUP", "GROUP", "g1", "c", "STREAMS", "nok", ">"],
            ["XREADGROUP", "GROUP", "g1", "c", "STREAMS", "s", "$"], ["XREADGROUP", "GROUP", "g1", "c", "STREAMS", "s", "s", ">"],
            ["XREADGROUP", "GROUP", "g1", "c", "COUNT", "x", "STREAMS", "s", ">"], ["XREADGROUP", "GROUP", "g1", "c", "FOO", "STREAMS", "s", ">"],
            ["XREADGROUP", "GROUP", "g1", "c", "STREAMS", "s", "bad"], ["XREADGROUP", "GROUP", "g1", "c", "STREAMS", "str", ">"],
            ["XREADGROUP", "COUNT", "1", "STREAMS", "s", ">", "x"], ["XREADGROUP", "GROUP", "new", "c", "STREAMS", "new", ">"],
            ["XACK", "s", "g1", "1-0", "2-0", "99-0"], ["XACK", "s", "nog", "1-0"], ["XACK", "nok", "g", "1"], ["XACK", "s", "g1", "bad"],
            ["XACK", "str", "g", "1"],
            ["XCLAIM", "s", "g1", "carol", "0", "3-0", "4-0", "99-0"], ["XCLAIM", "s", "nog", "c", "0", "1"], ["XCLAIM", "nok", "g", "c", "0", "1"],
            ["XCLAIM", "s", "g1", "c", "x", "1"], ["XCLAIM", "s", "g1", "c", "0", "bad"], ["XCLAIM", "s", "g1", "c", "0", "1", "IDLE", "x"],
            ["XCLAIM", "s", "g1", "c", "0", "1", "TIME", "x"], ["XCLAIM", "s", "g1", "c", "0", "1", "RETRYCOUNT", "x"],
            ["XCLAIM", "s", "g1", "c", "0", "1", "LASTID", "bad"], ["XCLAIM", "s", "g1", "c", "0", "1", "FOO"],
            ["XCLAIM", "str", "g", "c", "0", "1"], ["XCLAIM", "s", "g1", "erin", "3600000", "5-0"],
            ["XCLAIM", "s", "g1", "erin", "0", "5-0", "IDLE", "5000", "RETRYCOUNT", "7", "JUSTID"],
            ["XCLAIM", "s", "g1", "frank", "0", "9-0", "10-0", "FORCE", "JUSTID", "LASTID", "10-0", "TIME", "1000", "RETRYCOUNT", "1"],
            ["XCLAIM", "s", "g1", "frank", "0", "11-0", "FORCE"], ["XCLAIM", "s", "g1", "frank", "-5", "11-0"],
            ["XDEL", "s", "3-0"], ["XCLAIM", "s", "g1", "gina", "0", "3-0", "4-0"],
            ["XAUTOCLAIM", "s", "g1", "c", "x", "0"], ["XAUTOCLAIM", "s", "g1", "c", "0", "bad"], ["XAUTOCLAIM", "s", "g1", "c", "0", "0", "COUNT", "0"],
            ["XAUTOCLAIM", "s", "g1", "c", "0", "0", "COUNT", "x"], ["XAUTOCLAIM", "s", "g1", "c", "0", "0", "FOO"],
            ["XAUTOCLAIM", "s", "nog", "c", "0", "0"], ["XAUTOCLAIM", "nok", "g", "c", "0", "0"],
            ["XDEL", "s", "9-0"], ["XAUTOCLAIM", "s", "g1", "henry", "0", "0", "COUNT", "2"],
            ["XAUTOCLAIM", "s", "g1", "henry", "0", "(5-0", "COUNT", "2", "JUSTID"], ["XAUTOCLAIM", "s", "g1", "ivy", "3600000", "-"],
            ["XAUTOCLAIM", "s", "g1", "ivy", "0", "-", "COUNT", "100"],
            ["XGROUP", "DELCONSUMER", "s", "g1", "ivy"], ["XGROUP", "DELCONSUMER", "s", "g1", "nobody"],
            ["XGROUP", "DELCONSUMER", "s", "nog", "x"], ["XGROUP", "DESTROY", "s", "g3"], ["XGROUP", "DESTROY", "s", "g3"],
            ["XGROUP", "DESTROY", "nok", "g3"],
            // Deletions ahead of a group's position invalidate its counter; reading again re-estimates it.
            ["XADD", "s", "13-0", "f", "v"], ["XADD", "s", "14-0", "f", "v"], ["XDEL", "s", "13-0"],
            ["XREADGROUP", "GROUP", "g2", "carol", "STREAMS", "s", ">"], ["XREADGROUP", "GROUP", "g1", "alice", "STREAMS", "s", ">"],
            ["XGROUP", "SETID", "s", "g1", "0"], ["XREADGROUP", "GROUP", "g1", "zed", "COUNT", "4", "STREAMS", "s", ">"],
            ["XGROUP", "SETID", "s", "g2", "$"], ["XADD", "s", "15-0", "f", "v"],
            ["XREADGROUP", "GROUP", "g2", "carol", "STREAMS", "s", ">"],
            ["XTRIM", "s", "MAXLEN", "2"], ["XREADGROUP", "GROUP", "g1", "zed", "STREAMS", "s", "0"],
            ["XCLAIM", "s", "g1", "yan", "0", "1-0", "2-0", "14-0"],
        ])
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("Approximate trimming removes the same whole nodes as the server (100 entries or 4 KiB per node)")
    func approximateTrimming() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        var cmds: [[String]] = []
        for i in 1...350 { cmds.append(["XADD", "n", "\(i)-1", "field", "value\(i)"]) }
        cmds.append(["XTRIM", "n", "MAXLEN", "~", "120"])
        cmds.append(["XTRIM", "n", "MAXLEN", "~", "60"])
        cmds.append(["XTRIM", "n", "MINID", "~", "320"])
        cmds.append(["XTRIM", "n", "MAXLEN", "~", "1", "LIMIT", "10"])
        // Big values fill a node's 4 KiB before its 100 entries; mixed fields are not compressed.
        let big = String(repeating: "x", count: 300)
        for i in 1...60 {
            cmds.append(i % 3 == 0 ? ["XADD", "b", "\(i)-0", "f", big, "extra", "\(i)"] : ["XADD", "b", "\(i)-0", "f", big])
        }
        cmds.append(["XTRIM", "b", "MAXLEN", "~", "30"])
        cmds.append(["XTRIM", "b", "MINID", "~", "45"])
        cmds.append(["XADD", "b", "MAXLEN", "~", "5", "61-0", "f", big])
        // Deleting every entry of a node removes it; its neighbours stay.
        for i in 1...250 { cmds.append(["XADD", "d", "\(i)-0", "k", "\(i)"]) }
        var del = ["XDEL", "d"]
        for i in 101...200 { del.append("\(i)-0") }
        cmds.append(del)
        cmds.append(["XADD", "d", "251-0", "k", "new"])
        cmds.append(["XTRIM", "d", "MAXLEN", "~", "40"])
        cmds.append(["XTRIM", "d", "MINID", "60-0"])
        cmds.append(["XTRIM", "d", "MAXLEN", "~", "10"])
        try h.run(cmds)
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("Node boundaries follow the server's listpack byte count: integers, long strings, changing fields", arguments: [31 as UInt64, 32])
    func nodeBytes(seed: UInt64) throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        var rng = SeededGenerator(seed: seed)
        var cmds: [[String]] = []
        var ms = 1_000
        for _ in 0..<700 {
            ms += Int.random(in: 0...3000, using: &rng)
            var c = ["XADD", "n", "\(ms)-\(Int.random(in: 0...70000, using: &rng))"]
            let fieldSet = Int.random(in: 0..<4, using: &rng)
            for f in 0..<(1 + fieldSet % 3) {
                let name = fieldSet == 3 ? "\(f)" : "field\(f)"
                let value: String
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: value = String(Int.random(in: -5_000_000_000...5_000_000_000, using: &rng))
                case 1: value = String(Int.random(in: -200...200, using: &rng))
                case 2: value = String(repeating: "v", count: Int.random(in: 55...70, using: &rng))
                case 3: value = "0\(Int.random(in: 0...99, using: &rng))"
                default: value = String(repeating: "w", count: Int.random(in: 1...150, using: &rng))
                }
                c += [name, value]
            }
            // Older IDs are refused; the entry is then added with the next sequence number of its millisecond.
            cmds.append(c)
            cmds.append(["XADD", "n", "\(ms)-*", "k", "v"])
        }
        try h.run(cmds)
        try h.compareKeyspace()
        var trims: [[String]] = []
        for n in stride(from: 1300, through: 0, by: -97) {
            trims.append(["XTRIM", "n", "MAXLEN", "~", "\(n)"])
            trims.append(["XDEL", "n", "\(1_000 + n * 1_500)-0"])
        }
        try h.run(trims)
        try h.compareKeyspace()
        #expect(h.problems.isEmpty)
    }

    @Test("A seeded random stream workload matches the server after every batch", arguments: [11 as UInt64, 12, 13])
    func randomStreams(seed: UInt64) throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        var rng = SeededGenerator(seed: seed)
        var nextMS: [String: Int] = ["s1": 1, "s2": 1]
        let groups = ["ga", "gb"]
        let consumers = ["c1", "c2", "c3"]
        func someID(_ k: String) -> String { "\(Int.random(in: 0...(nextMS[k]! + 2), using: &rng))-\(Int.random(in: 0...1, using: &rng))" }
        for _ in 0..<8 {
            var batch: [[String]] = []
            for _ in 0..<60 {
                let k = ["s1", "s2"].randomElement(using: &rng)!
                let g = groups.randomElement(using: &rng)!
                let c = consumers.randomElement(using: &rng)!
                switch Int.random(in: 0..<14, using: &rng) {
                case 0, 1, 2, 3:
                    nextMS[k]! += Int.random(in: 0...2, using: &rng)
                    let id = Bool.random(using: &rng) ? "\(nextMS[k]!)-*" : "\(nextMS[k]!)-\(Int.random(in: 0...3, using: &rng))"
                    var cmd = ["XADD", k]
                    if Int.random(in: 0..<6, using: &rng) == 0 { cmd += ["MAXLEN", ["=", "~"].randomElement(using: &rng)!, "\(Int.random(in: 5...40, using: &rng))"] }
                    cmd.append(id)
                    for f in 0..<Int.random(in: 1...3, using: &rng) { cmd += ["f\(f)", "v\(Int.random(in: 0..<1000, using: &rng))"] }
                    batch.append(cmd)
                case 4: batch.append(["XDEL", k, someID(k), someID(k)])
                case 5: batch.append(["XGROUP", "CREATE", k, g, ["$", "0", someID(k)].randomElement(using: &rng)!, "MKSTREAM"])
                case 6: batch.append(["XREADGROUP", "GROUP", g, c, "COUNT", "\(Int.random(in: 0...4, using: &rng))", "STREAMS", k, ">"])
                case 7: batch.append(["XACK", k, g, someID(k), someID(k)])
                case 8: batch.append(["XCLAIM", k, g, c, "0", someID(k), someID(k)] + (Bool.random(using: &rng) ? ["JUSTID"] : ["FORCE"]))
                case 9: batch.append(["XAUTOCLAIM", k, g, c, "0", "0", "COUNT", "\(Int.random(in: 1...5, using: &rng))"])
                case 10:
                    batch.append(
                        Bool.random(using: &rng)
                            ? ["XTRIM", k, "MAXLEN", "\(Int.random(in: 0...30, using: &rng))"] : ["XTRIM", k, "MINID", someID(k)])
                case 11: batch.append(["XGROUP", "SETID", k, g, ["$", "0", someID(k)].randomElement(using: &rng)!])
                case 12: batch.append(["XGROUP", "DELCONSUMER", k, g, c])
                default: batch.append(["XREADGROUP", "GROUP", g, c, "STREAMS", k, "0"])
                }
            }
            try h.run(batch)
            if try !h.compareKeyspace().isEmpty { try h.explainStreamDifferences(["s1", "s2"]) }
        }
        #expect(h.problems.isEmpty)
    }
}

@Suite("Streams while loading an AOF")
struct StreamLoadingTests {
    @Test("XCLAIM … FORCE JUSTID LASTID (how an AOF records XREADGROUP) builds the PEL, consumer and group position")
    func aofDeliveries() throws {
        let ks = Keyspace()
        let e = CommandEngine(keyspace: ks)
        for c in [
            ["XADD", "s", "1-1", "a", "1"], ["XADD", "s", "2-1", "a", "2"], ["XGROUP", "CREATE", "s", "g", "0", "MKSTREAM"],
            ["XCLAIM", "s", "g", "alice", "0", "1-1", "TIME", "1700000000000", "RETRYCOUNT", "1", "FORCE", "JUSTID", "LASTID", "1-1"],
            ["XCLAIM", "s", "g", "alice", "0", "2-1", "TIME", "1700000000001", "RETRYCOUNT", "3", "FORCE", "JUSTID", "LASTID", "2-1"],
            ["XACK", "s", "g", "1-1"],
        ] {
            let r = try e.apply(c.map { RedisBytes($0) })
            #expect(!r.isError, "\(c): \(r)")
        }
        guard case .stream(let sv)? = ks.value(db: 0, key: RedisBytes("s")) else {
            Issue.record("no stream")
            return
        }
        let s = sv.stream
        #expect(s.metadata.length == 2)
        #expect(s.metadata.entriesAdded == 2)
        #expect(s.groups.count == 1)
        let g = s.groups[0]
        #expect(g.lastDeliveredID == StreamID(ms: 2, seq: 1))
        #expect(g.pending.map(\.id) == [StreamID(ms: 2, seq: 1)])
        #expect(g.pending.first?.deliveryCount == 3)
        #expect(g.pending.first?.deliveryTime == RedisTimestamp(milliseconds: 1_700_000_000_001))
        #expect(g.consumers.map(\.name) == [RedisBytes("alice")])
        #expect(g.consumers.first?.pending == [StreamID(ms: 2, seq: 1)])
    }

    @Test("A stream rebuilt from the reader's model gives back the same model")
    func modelRoundTrip() throws {
        let ks = Keyspace()
        let e = CommandEngine(keyspace: ks)
        for c in [
            ["XADD", "s", "1-1", "a", "1"], ["XADD", "s", "2-1", "a", "2", "b", "3"], ["XADD", "s", "3-1", "a", "2"],
            ["XDEL", "s", "2-1"], ["XGROUP", "CREATE", "s", "g", "0"], ["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">"],
        ] {
            try e.apply(c.map { RedisBytes($0) })
        }
        guard case .stream(let sv)? = ks.value(db: 0, key: RedisBytes("s")) else {
            Issue.record("no stream")
            return
        }
        let model = sv.stream
        #expect(StreamValue(model).stream == model)
        #expect(model.entries.map(\.id) == [StreamID(ms: 1, seq: 1), StreamID(ms: 3, seq: 1)])
        #expect(model.metadata.maxDeletedEntryID == StreamID(ms: 2, seq: 1))
    }
}

extension DifferentialHarness {
    /// For each stream the harness found different, records which part differs (metadata, entries, a group), as
    /// the harness prints values cut at 300 characters.
    func explainStreamDifferences(_ keys: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        for k in keys {
            guard case .stream(let mine)? = keyspace.value(db: 0, key: RedisBytes(k)) else { continue }
            guard case .bulk(let dump?) = try connection.call([RedisBytes("DUMP"), RedisBytes(k)]),
                case .stream(let theirs)? = DumpPayload.decode(dump).map(Self.canonical)
            else { continue }
            guard case .stream(let a) = Self.canonical(.stream(mine.stream)) else { continue }
            if a.metadata != theirs.metadata {
                Issue.record("\(k) metadata: engine \(a.metadata) server \(theirs.metadata)", sourceLocation: sourceLocation)
            }
            if a.entries != theirs.entries {
                Issue.record("\(k) entries: engine \(a.entries.map(\.id)) server \(theirs.entries.map(\.id))", sourceLocation: sourceLocation)
            }
            for (g, t) in zip(a.groups, theirs.groups) where g != t {
                Issue.record(
                    "\(k) group \(g.name): engine last \(g.lastDeliveredID) read \(String(describing: g.entriesRead)) pel \(g.pending.map { "\($0.id)x\($0.deliveryCount)@\($0.consumer?.description ?? "-")" }) consumers \(g.consumers.map { "\($0.name):\($0.pending)" }) / server last \(t.lastDeliveredID) read \(String(describing: t.entriesRead)) pel \(t.pending.map { "\($0.id)x\($0.deliveryCount)@\($0.consumer?.description ?? "-")" }) consumers \(t.consumers.map { "\($0.name):\($0.pending)" })",
                    sourceLocation: sourceLocation)
            }
            if a.groups.map(\.name) != theirs.groups.map(\.name) {
                Issue.record("\(k) groups: engine \(a.groups.map(\.name)) server \(theirs.groups.map(\.name))", sourceLocation: sourceLocation)
            }
        }
    }
}
