import Foundation
import RedisFormats
import RedisKeyspace
import Testing
import _RedisFormatsTestSupport

/// Loads one corpus RDB into redis-server 7.0 (as its `dbfilename`) and into a keyspace, then sends the same read
/// commands to both and compares the RESP2 bytes of the replies.
final class ReadPair {
    let scratch: ScratchDirectory
    let server: LiveServer
    let connection: LiveConnection
    let keyspace = Keyspace()
    let engine: CommandEngine
    private(set) var problems: [String] = []
    private(set) var compared = 0

    /// How two replies are compared.
    enum Mode {
        case exact
        /// The top-level array (or a SCAN reply's page) as a multiset.
        case unordered
        /// A flat field/value array whose pairs may come in any order.
        case unorderedPairs
        /// Integers anywhere may differ by this much (clocks: TTL, idle times).
        case tolerance(Int64)
        /// Map replies with these keys left out (values that depend on the server's memory layout).
        case skipping(Set<String>)
    }

    init(rdb: String) throws {
        scratch = try ScratchDirectory("reads")
        try FileManager.default.copyItem(atPath: rdb, toPath: scratch("data.rdb"))
        server = try LiveServer(.redis70, directory: scratch.path, arguments: ["--dbfilename", "data.rdb"])
        connection = try LiveConnection(port: server.port)
        try KeyspaceLoader(keyspace: keyspace).loadRDB(try RDBReader(path: rdb))
        engine = CommandEngine(keyspace: keyspace)
    }

    func stop() {
        server.stop()
        scratch.remove()
    }

    func select(_ db: Int) throws {
        _ = try connection.call(["SELECT", String(db)])
        try engine.apply(["SELECT", RedisBytes(String(db))])
    }

    @discardableResult
    func check(_ argv: [RedisBytes], _ mode: Mode = .exact, sourceLocation: SourceLocation = #_sourceLocation) throws -> Reply {
        let want = try connection.call(argv)
        engine.now = currentMilliseconds()
        let got = try engine.apply(argv).resp2
        compared += 1
        if !Self.same(Self.convert(want), got, mode) {
            let text = "\(argv.map(\.escapedDescription).joined(separator: " ")):\n  engine \(Self.short(got))\n  server \(Self.short(Self.convert(want)))"
            problems.append(text)
            Issue.record(Comment(rawValue: text), sourceLocation: sourceLocation)
        }
        return got
    }

    func check(_ argv: [String], _ mode: Mode = .exact, sourceLocation: SourceLocation = #_sourceLocation) throws {
        try check(argv.map { RedisBytes($0) }, mode, sourceLocation: sourceLocation)
    }

    static func short(_ r: Reply) -> String {
        let s = r.description
        return s.count > 400 ? String(s.prefix(400)) + "…" : s
    }

    static func convert(_ r: LiveConnection.Reply) -> Reply {
        switch r {
        case .simple(let s): .status(s)
        case .error(let s): .error(s)
        case .integer(let i): .integer(i)
        case .bulk(let b): .bulk(b.map { RedisBytes($0) })
        case .array(let a): .array(a?.map(convert))
        }
    }

    static func bytes(_ r: Reply) -> [UInt8] {
        var out: [UInt8] = []
        r.write(into: &out)
        return out
    }

    static func same(_ a: Reply, _ b: Reply, _ mode: Mode) -> Bool {
        switch mode {
        case .exact:
            return bytes(a) == bytes(b)
        case .unordered:
            if case .array(let x?) = a, case .array(let y?) = b {
                // A SCAN-like reply: cursor then a page.
                if x.count == 2, y.count == 2, case .array = x[1], case .array = y[1], case .bulk = x[0] {
                    return bytes(x[0]) == bytes(y[0]) && same(x[1], y[1], .unordered)
                }
                return x.map(bytes).sorted { $0.lexicographicallyPrecedes($1) }
                    == y.map(bytes).sorted { $0.lexicographicallyPrecedes($1) }
            }
            return bytes(a) == bytes(b)
        case .unorderedPairs:
            func pairs(_ r: Reply) -> [[UInt8]]? {
                guard case .array(let x?) = r else { return nil }
                var out: [[UInt8]] = []
                var i = 0
                while i + 1 < x.count {
                    out.append(bytes(x[i]) + bytes(x[i + 1]))
                    i += 2
                }
                return out.sorted { $0.lexicographicallyPrecedes($1) }
            }
            if case .array(let x?) = a, x.count == 2, case .array(let y?) = b, y.count == 2, case .array = x[1],
                case .bulk = x[0]
            {
                return bytes(x[0]) == bytes(y[0]) && pairs(x[1]) == pairs(y[1])
            }
            return pairs(a) == pairs(b)
        case .tolerance(let t):
            switch (a, b) {
            case (.integer(let x), .integer(let y)): return abs(x - y) <= t
            case (.array(let x?), .array(let y?)):
                return x.count == y.count && zip(x, y).allSatisfy { same($0, $1, mode) }
            default: return bytes(a) == bytes(b)
            }
        case .skipping(let names):
            func strip(_ r: Reply) -> Reply {
                guard case .array(let x?) = r else { return r }
                var out: [Reply] = []
                var i = 0
                while i < x.count {
                    if i + 1 < x.count, case .bulk(let k?) = x[i], let s = k.utf8String, names.contains(s) {
                        i += 2
                        continue
                    }
                    out.append(strip(x[i]))
                    i += 1
                }
                return .array(out)
            }
            return bytes(strip(a)) == bytes(strip(b))
        }
    }
}

@Suite(
    "Read commands against redis-server 7.0", .serialized,
    .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
struct ReadCommandDifferentialTests {
    static let databases = [0, 1, 7, 15]

    /// Commands for one key by its type, with how to compare each.
    static func commands(for key: RedisBytes, value: KeyValue) -> [([RedisBytes], ReadPair.Mode)] {
        let b = { (s: String) in RedisBytes(s) }
        var out: [([RedisBytes], ReadPair.Mode)] = [
            ([b("TYPE"), key], .exact), ([b("EXISTS"), key, key, b("no-such-key")], .exact),
            ([b("TTL"), key], .tolerance(1)), ([b("PTTL"), key], .tolerance(2000)),
            ([b("EXPIRETIME"), key], .exact), ([b("PEXPIRETIME"), key], .exact),
        ]
        let encodingName = CommandEngine.encodingName(value)
        switch value {
        case .string:
            out += [
                ([b("GET"), key], .exact), ([b("STRLEN"), key], .exact), ([b("GETRANGE"), key, b("0"), b("-1")], .exact),
                ([b("GETRANGE"), key, b("2"), b("5")], .exact), ([b("GETRANGE"), key, b("-3"), b("-1")], .exact),
                ([b("GETRANGE"), key, b("5"), b("2")], .exact), ([b("GETRANGE"), key, b("-1"), b("-5")], .exact),
                ([b("SUBSTR"), key, b("1"), b("100000")], .exact), ([b("MGET"), key, b("no-such-key"), key], .exact),
                ([b("LLEN"), key], .exact), ([b("HGET"), key, b("f")], .exact), ([b("SCARD"), key], .exact),
                ([b("ZCARD"), key], .exact), ([b("XLEN"), key], .exact),
            ]
        case .list(let l):
            let first = l.count > 0 ? l[0] : b("x")
            let last = l.count > 0 ? l[l.count - 1] : b("x")
            out += [
                ([b("LLEN"), key], .exact), ([b("LRANGE"), key, b("0"), b("-1")], .exact),
                ([b("LRANGE"), key, b("1"), b("3")], .exact), ([b("LRANGE"), key, b("-5"), b("-2")], .exact),
                ([b("LRANGE"), key, b("5"), b("1")], .exact), ([b("LRANGE"), key, b("-100000"), b("100000")], .exact),
                ([b("LINDEX"), key, b("0")], .exact), ([b("LINDEX"), key, b("-1")], .exact),
                ([b("LINDEX"), key, b("100000")], .exact), ([b("LPOS"), key, first], .exact),
                ([b("LPOS"), key, last, b("RANK"), b("-1")], .exact), ([b("LPOS"), key, first, b("COUNT"), b("0")], .exact),
                ([b("LPOS"), key, first, b("COUNT"), b("2"), b("MAXLEN"), b("10")], .exact),
                ([b("LPOS"), key, b("no-such-element")], .exact), ([b("LPOS"), key, last, b("RANK"), b("2"), b("COUNT"), b("3")], .exact),
                ([b("GET"), key], .exact),
            ]
        case .set(let s):
            let first = s.members.first ?? b("x")
            let mode: ReadPair.Mode = encodingName == "intset" ? .exact : .unordered
            out += [
                ([b("SCARD"), key], .exact), ([b("SMEMBERS"), key], mode), ([b("SISMEMBER"), key, first], .exact),
                ([b("SISMEMBER"), key, b("no-such-member")], .exact), ([b("SMISMEMBER"), key, first, b("nope"), first], .exact),
                ([b("SSCAN"), key, b("0"), b("COUNT"), b("100000")], mode),
                ([b("SSCAN"), key, b("0"), b("MATCH"), b("*1*"), b("COUNT"), b("100000")], mode),
            ]
        case .sortedSet(let z):
            let e = z.sortedEntries
            let first = e.first?.member ?? b("x")
            let mode: ReadPair.Mode = encodingName == "listpack" ? .exact : .unorderedPairs
            if encodingName == "listpack" {
                // Lex ranges over members of different scores are unspecified; Redis walks a skiplist's levels,
                // so only listpacks (walked in rank order) give a defined answer.
                out += [
                    ([b("ZRANGEBYLEX"), key, b("-"), b("+")], .exact), ([b("ZRANGEBYLEX"), key, b("[a"), b("(z")], .exact),
                    ([b("ZREVRANGEBYLEX"), key, b("+"), b("-"), b("LIMIT"), b("1"), b("2")], .exact),
                    ([b("ZRANGE"), key, b("(m"), b("-"), b("BYLEX"), b("REV")], .exact),
                ]
            }
            out += [
                ([b("ZCARD"), key], .exact), ([b("ZRANGE"), key, b("0"), b("-1"), b("WITHSCORES")], .exact),
                ([b("ZRANGE"), key, b("0"), b("2")], .exact), ([b("ZREVRANGE"), key, b("0"), b("3"), b("WITHSCORES")], .exact),
                ([b("ZRANGE"), key, b("-3"), b("-1"), b("REV")], .exact),
                ([b("ZRANGEBYSCORE"), key, b("-inf"), b("+inf"), b("WITHSCORES"), b("LIMIT"), b("1"), b("3")], .exact),
                ([b("ZRANGEBYSCORE"), key, b("(0"), b("10")], .exact), ([b("ZREVRANGEBYSCORE"), key, b("+inf"), b("-inf")], .exact),
                ([b("ZREVRANGEBYSCORE"), key, b("100"), b("(-1"), b("LIMIT"), b("0"), b("-1")], .exact),
                ([b("ZRANGE"), key, b("+inf"), b("-inf"), b("BYSCORE"), b("REV"), b("LIMIT"), b("0"), b("2"), b("WITHSCORES")], .exact),
                ([b("ZRANGE"), key, b("-inf"), b("+inf"), b("BYSCORE"), b("LIMIT"), b("-1"), b("2")], .exact),
                ([b("ZSCORE"), key, first], .exact), ([b("ZSCORE"), key, b("nope")], .exact),
                ([b("ZMSCORE"), key, first, b("nope")], .exact), ([b("ZRANK"), key, first], .exact),
                ([b("ZREVRANK"), key, first], .exact), ([b("ZRANK"), key, b("nope")], .exact),
                ([b("ZCOUNT"), key, b("-inf"), b("+inf")], .exact), ([b("ZCOUNT"), key, b("(0"), b("1e300")], .exact),
                ([b("ZLEXCOUNT"), key, b("-"), b("+")], .exact),
                ([b("ZSCAN"), key, b("0"), b("COUNT"), b("100000")], mode),
            ]
        case .hash(let h):
            let first = h.fields.first?.field ?? b("x")
            // Redis keeps up to 512 fields in a listpack, in insertion order; the keyspace packs 128.
            let ordered = h.count <= 128 && encodingName == "listpack"
            out += [
                ([b("HLEN"), key], .exact), ([b("HGETALL"), key], ordered ? .exact : .unorderedPairs),
                ([b("HKEYS"), key], ordered ? .exact : .unordered), ([b("HVALS"), key], ordered ? .exact : .unordered),
                ([b("HGET"), key, first], .exact), ([b("HGET"), key, b("nope")], .exact),
                ([b("HMGET"), key, first, b("nope"), first], .exact), ([b("HEXISTS"), key, first], .exact),
                ([b("HEXISTS"), key, b("nope")], .exact), ([b("HSTRLEN"), key, first], .exact),
                ([b("HSCAN"), key, b("0"), b("COUNT"), b("100000")], ordered ? .exact : .unorderedPairs),
                ([b("HSCAN"), key, b("0"), b("MATCH"), b("*a*"), b("COUNT"), b("100000")], ordered ? .exact : .unorderedPairs),
            ]
        case .stream(let s):
            let st = s.stream
            let layout: ReadPair.Mode = .skipping(["radix-tree-keys", "radix-tree-nodes"])
            out += [
                ([b("XLEN"), key], .exact), ([b("XRANGE"), key, b("-"), b("+")], .exact),
                ([b("XRANGE"), key, b("-"), b("+"), b("COUNT"), b("2")], .exact),
                ([b("XREVRANGE"), key, b("+"), b("-"), b("COUNT"), b("3")], .exact),
                ([b("XRANGE"), key, b("-"), b("+"), b("COUNT"), b("0")], .exact),
                ([b("XINFO"), b("STREAM"), key], layout), ([b("XINFO"), b("STREAM"), key, b("FULL")], layout),
                ([b("XINFO"), b("STREAM"), key, b("FULL"), b("COUNT"), b("0")], layout),
                ([b("XINFO"), b("GROUPS"), key], .exact),
            ]
            if let e = st.entries.first {
                out += [
                    ([b("XRANGE"), key, b("(\(e.id)"), b("+")], .exact), ([b("XRANGE"), key, b("\(e.id.ms)"), b("\(e.id.ms)")], .exact),
                    ([b("XREVRANGE"), key, b("(\(st.entries.last!.id)"), b("-"), b("COUNT"), b("5")], .exact),
                ]
            }
            for g in st.groups {
                out += [
                    ([b("XINFO"), b("CONSUMERS"), key, g.name], .tolerance(3000)), ([b("XPENDING"), key, g.name], .exact),
                    ([b("XPENDING"), key, g.name, b("-"), b("+"), b("10")], .tolerance(3000)),
                    ([b("XPENDING"), key, g.name, b("IDLE"), b("0"), b("-"), b("+"), b("10")], .tolerance(3000)),
                ]
                for c in g.consumers {
                    out.append(([b("XPENDING"), key, g.name, b("-"), b("+"), b("10"), c.name], .tolerance(3000)))
                }
            }
            out.append(([b("XPENDING"), key, b("no-such-group")], .exact))
            out.append(([b("XINFO"), b("CONSUMERS"), key, b("no-such-group")], .exact))
        case .opaque:
            break
        }
        return out
    }

    @Test("Every read of every key of the 7.0 all-types RDB answers as redis-server 7.0 does")
    func everyKeyOfAllTypes() throws {
        let p = try ReadPair(rdb: Corpus.fixture("redis-7.0.15/rdb/all-types.rdb"))
        defer { p.stop() }
        for db in Self.databases {
            try p.select(db)
            try p.check(["DBSIZE"])
            try p.check(["KEYS", "*"], .unordered)
            for pattern in ["*:*", "h?sh*", "[a-c]*", "*[^a-z]", "str*\\:*", "[z-a]*", "*\\*", "list*"] {
                try p.check(["KEYS", pattern], .unordered)
            }
            try p.check(["SCAN", "0", "COUNT", "100000"], .unordered)
            try p.check(["SCAN", "0", "MATCH", "*a*", "TYPE", "hash", "COUNT", "100000"], .unordered)
            try p.check(["SCAN", "0", "TYPE", "STRING", "COUNT", "100000"], .unordered)
            for key in p.keyspace.keys(db: db).sorted() {
                let value = p.keyspace.value(db: db, key: key)!
                for (argv, mode) in Self.commands(for: key, value: value) { try p.check(argv, mode) }
            }
        }
        #expect(p.compared > 2000)
    }

    @Test("OBJECT ENCODING gives what redis-server 7.0 reports for the 7.0 all-types RDB")
    func objectEncoding() throws {
        let p = try ReadPair(rdb: Corpus.fixture("redis-7.0.15/rdb/all-types.rdb"))
        defer { p.stop() }
        var differences: [String] = []
        for db in Self.databases {
            try p.select(db)
            for key in p.keyspace.keys(db: db).sorted() {
                let want = try p.connection.call([RedisBytes("OBJECT"), RedisBytes("ENCODING"), key])
                let got = try p.engine.apply([RedisBytes("OBJECT"), RedisBytes("ENCODING"), key])
                if ReadPair.bytes(ReadPair.convert(want)) != ReadPair.bytes(got) {
                    differences.append("\(key.escapedDescription): engine \(got) server \(want)")
                }
            }
        }
        // Known, by design: the corpus made one hash and one zset with raised listpack limits (`*-packed-long*`);
        // a fresh Redis 7.0 with default thresholds would choose hashtable / skiplist for them, as rdbkit reports.
        #expect(differences.count == 2, "\(differences.joined(separator: "\n"))")
        #expect(differences.allSatisfy { $0.contains("packed-long") }, "\(differences.joined(separator: "\n"))")
    }

    @Test("DUMP payloads of every key are RESTOREd by redis-server 7.0 to the same value")
    func dumpRestores() throws {
        let p = try ReadPair(rdb: Corpus.fixture("redis-7.0.15/rdb/all-types.rdb"))
        defer { p.stop() }
        var restored = 0
        for db in Self.databases {
            try p.select(db)
            for key in p.keyspace.keys(db: db).sorted() {
                guard case .bulk(let payload?) = try p.engine.apply([RedisBytes("DUMP"), key]) else {
                    Issue.record("DUMP \(key.escapedDescription) gave no payload")
                    continue
                }
                let target = RedisBytes(Array("restored:".utf8) + key.bytes)
                let r = try p.connection.call([RedisBytes("RESTORE"), target, RedisBytes("0"), payload, RedisBytes("REPLACE")])
                #expect(r == .simple("OK"), "RESTORE \(key.escapedDescription): \(r)")
                guard case .bulk(let back?) = try p.connection.call([RedisBytes("DUMP"), target]),
                    let value = DumpPayload.decode(back)
                else {
                    Issue.record("DUMP of restored \(key.escapedDescription) unreadable")
                    continue
                }
                let want = p.keyspace.value(db: db, key: key)!.redisValue
                #expect(
                    DifferentialHarness.canonical(value) == DifferentialHarness.canonical(want), "\(key.escapedDescription)")
                restored += 1
            }
        }
        #expect(restored == p.keyspace.totalKeys)
    }

    @Test("Error replies of the reads are the server's: wrong type, arity, bad numbers, syntax, bad IDs")
    func errors() throws {
        let p = try ReadPair(rdb: Corpus.fixture("redis-7.0.15/rdb/all-types.rdb"))
        defer { p.stop() }
        try p.select(0)
        let keys = p.keyspace.keys(db: 0).sorted()
        func key(_ type: String, _ encoding: String? = nil) -> String {
            keys.first { k in
                let v = p.keyspace.value(db: 0, key: k)!
                return v.typeName == type && (encoding == nil || CommandEngine.encodingName(v) == encoding)
                    && k.utf8String != nil && !k.isEmpty
            }!.utf8String!
        }
        let s = key("string"), l = key("list"), z = key("zset"), h = key("hash"), x = key("stream"), st = key("set")
        let commands: [[String]] = [
            ["GET", l], ["GET"], ["GET", s, s], ["STRLEN", z], ["GETRANGE", s, "a", "1"], ["GETRANGE", "nope", "a", "1"],
            ["GETRANGE", "nope", "0", "1"], ["GETRANGE", z, "0", "1"], ["MGET"],
            ["HGET", s, "f"], ["HMGET", l, "f"], ["HGETALL", z], ["HKEYS", s], ["HVALS", s], ["HLEN", s], ["HEXISTS", s, "f"],
            ["HSCAN", s, "0"], ["HSCAN", h, "x"], ["HSCAN", "nope", "x"], ["HSCAN", "nope", "0", "COUNT", "0"],
            ["HSCAN", h, "0", "COUNT", "0"], ["HSCAN", h, "0", "COUNT", "x"], ["HSCAN", h, "0", "FOO"],
            ["HSCAN", h, "0", "TYPE", "hash"], ["HGETALL", "nope"], ["HMGET", "nope", "a", "b"],
            ["LRANGE", s, "0", "1"], ["LRANGE", l, "a", "1"], ["LRANGE", "nope", "0", "1"], ["LRANGE", "nope", "x", "1"],
            ["LINDEX", s, "0"], ["LINDEX", l, "x"], ["LINDEX", "nope", "x"], ["LLEN", h],
            ["LPOS", l, "a", "RANK", "0"], ["LPOS", l, "a", "RANK", "x"], ["LPOS", l, "a", "COUNT", "-1"],
            ["LPOS", l, "a", "COUNT", "x"], ["LPOS", l, "a", "MAXLEN", "-1"], ["LPOS", l, "a", "FOO"], ["LPOS", l, "a", "RANK"],
            ["LPOS", "nope", "a"], ["LPOS", "nope", "a", "COUNT", "1"], ["LPOS", s, "a"],
            ["LPOS", l, "a", "RANK", "-9223372036854775808"],
            ["SMEMBERS", s], ["SISMEMBER", h, "a"], ["SMISMEMBER", z, "a"], ["SMISMEMBER", "nope", "a", "b"], ["SCARD", l],
            ["SSCAN", key("set", "intset"), "-1"] /* an intset is scanned whole; on a hashtable a cursor past the end visits a bucket the server picks by its random hash seed */, ["SSCAN", "nope", "0"], ["SMEMBERS", "nope"],
            ["ZRANGE", s, "0", "1"], ["ZRANGE", z, "a", "1"], ["ZRANGE", z, "0", "1", "LIMIT", "0", "1"],
            ["ZRANGE", z, "-", "+", "BYLEX", "WITHSCORES"], ["ZRANGE", z, "0", "1", "FOO"], ["ZRANGE", z, "x", "1", "BYSCORE"],
            ["ZRANGE", z, "(x", "1", "BYSCORE"], ["ZRANGE", z, "a", "b", "BYLEX"], ["ZRANGE", z, "0", "1", "BYSCORE", "BYLEX"],
            ["ZRANGE", z, "0", "1", "REV", "REV"], ["ZRANGE", z, "0", "1", "LIMIT", "1"], ["ZRANGE", z, "0", "1", "LIMIT", "x", "1"],
            ["ZRANGE", "nope", "0", "1"], ["ZRANGE", "nope", "x", "1"], ["ZRANGEBYSCORE", z, "0", "1", "REV"],
            ["ZRANGEBYSCORE", z, "nan", "1"], ["ZRANGEBYSCORE", z, " 1", "2"], ["ZREVRANGE", z, "0", "1", "BYSCORE"],
            ["ZRANGEBYLEX", z, "-", "+", "WITHSCORES"], ["ZRANGEBYLEX", z, "a", "+"], ["ZREVRANGEBYLEX", z, "-", "+"],
            ["ZSCORE", s, "a"], ["ZMSCORE", l, "a"], ["ZMSCORE", "nope", "a", "b"], ["ZRANK", h, "a"], ["ZCOUNT", z, "a", "1"],
            ["ZCOUNT", "nope", "0", "1"], ["ZCOUNT", s, "0", "1"], ["ZLEXCOUNT", z, "a", "b"], ["ZCARD", s], ["ZSCAN", z, "x"],
            ["ZRANGE", z, "0", "-1", "WITHSCORES", "WITHSCORES"], ["ZRANGE", z, "1", "0", "BYSCORE", "LIMIT", "0", "0"],
            ["XRANGE", s, "-", "+"], ["XRANGE", x, "x", "+"], ["XRANGE", x, "-", "y"], ["XRANGE", x, "(-", "+"],
            ["XRANGE", x, "-", "(+"], ["XRANGE", x, "(18446744073709551615-18446744073709551615", "+"], ["XRANGE", x, "-", "(0-0"],
            ["XRANGE", x, "-", "+", "COUNT"], ["XRANGE", x, "-", "+", "COUNT", "x"], ["XRANGE", x, "-", "+", "FOO", "1"],
            ["XRANGE", x, "-", "+", "COUNT", "-5"], ["XRANGE", "nope", "-", "+"], ["XRANGE", "nope", "-", "+", "COUNT", "0"],
            ["XRANGE", x, "1-x", "+"], ["XRANGE", x, "-1", "+"], ["XRANGE", x, "1-2-3", "+"], ["XLEN", s],
            ["XINFO"], ["XINFO", "FOO"], ["XINFO", "STREAM"], ["XINFO", "STREAM", s], ["XINFO", "STREAM", "nope"],
            ["XINFO", "GROUPS", "nope"], ["XINFO", "GROUPS", x, "extra"], ["XINFO", "STREAM", x, "FULLX"],
            ["XINFO", "STREAM", x, "FULL", "COUNT"], ["XINFO", "STREAM", x, "FULL", "COUNT", "x"], ["XINFO", "CONSUMERS", "nope", "g"],
            ["XPENDING", s, "g"], ["XPENDING", "nope", "g"], ["XPENDING", x, "g", "-"], ["XPENDING", x, "g", "-", "+", "x"],
            ["XPENDING", x, "g", "IDLE", "x", "-", "+", "1"], ["XPENDING", x, "g", "IDLE", "1", "-", "+"],
            ["XPENDING", x, "g", "x", "+", "1"],
            ["TYPE"], ["TTL", "nope"], ["PTTL", "nope"], ["EXPIRETIME", "nope"], ["PEXPIRETIME", s], ["EXISTS"],
            ["OBJECT"], ["OBJECT", "ENCODING"], ["OBJECT", "ENCODING", "nope"], ["OBJECT", "FOO", s], ["OBJECT", "ENCODING", s, s],
            ["OBJECT", "HELP"], ["OBJECT", "REFCOUNT", "nope"], ["OBJECT", "FREQ", s],
            ["SCAN"], ["SCAN", "x"], ["SCAN", " 1"], ["SCAN", "0", "COUNT", "0"], ["SCAN", "0", "COUNT"], ["SCAN", "0", "FOO", "1"],
            ["SCAN", "18446744073709551616"],
            ["DUMP", "nope"], ["DBSIZE", "x"], ["KEYS"], ["RANDOMKEY", "x"],
        ]
        for c in commands { try p.check(c) }
        #expect(p.problems.isEmpty)
    }

    @Test("Expired keys are invisible to every read, though the keyspace keeps them")
    func expiredKeys() throws {
        let p = try ReadPair(rdb: Corpus.fixture("redis-7.0.15/rdb/all-types.rdb"))
        defer { p.stop() }
        p.keyspace.set(db: 0, key: "gone", Keyspace.Entry(value: .string("v"), expiresAt: 1000))
        p.engine.now = currentMilliseconds()
        let before = p.keyspace.totalKeys
        for argv in [["GET", "gone"], ["EXISTS", "gone"], ["TYPE", "gone"], ["TTL", "gone"], ["DUMP", "gone"], ["KEYS", "gone"]] {
            let r = try p.engine.apply(argv.map { RedisBytes($0) })
            #expect([Reply.null, .integer(0), .status("none"), .integer(-2), .array([Reply]())].contains(r), "\(argv): \(r)")
        }
        #expect(p.keyspace.totalKeys == before)
        try p.check(["DBSIZE"])
    }
}
