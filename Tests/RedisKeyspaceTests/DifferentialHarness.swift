import Foundation
import RedisFormats
import RedisKeyspace
import Testing
import _RedisFormatsTestSupport

/// Runs the same commands on a real redis-server and on the ``CommandEngine``, and compares every reply and
/// then the whole keyspace (each key's TYPE, expiry and value: the server's DUMP decoded by the RDB reader
/// against the engine's value, in a canonical form).
///
/// ```swift
/// let h = try DifferentialHarness()      // starts Debian's redis-server 7.0 on loopback
/// defer { h.stop() }
/// try h.run([["RPUSH", "l", "a", "b"], ["LPOP", "l"]])
/// h.compareKeyspace()
/// ```
final class DifferentialHarness {
    let server: LiveServer
    let connection: LiveConnection
    let scratch: ScratchDirectory
    let keyspace = Keyspace()
    let engine: CommandEngine
    /// Every difference found, in words.
    private(set) var problems: [String] = []

    init(_ kind: LiveServerKind = .redis70, arguments: [String] = []) throws {
        scratch = try ScratchDirectory("differential")
        server = try LiveServer(kind, directory: scratch.path, arguments: arguments)
        connection = try LiveConnection(port: server.port)
        engine = CommandEngine(keyspace: keyspace)
        // Live semantics: the engine's clock is the real clock, as the server's is.
        engine.now = currentMilliseconds()
    }

    func stop() {
        server.stop()
        scratch.remove()
    }

    /// Sends each command to both; records every reply that differs. Returns the engine's replies.
    @discardableResult
    func run(_ commands: [[String]], sourceLocation: SourceLocation = #_sourceLocation) throws -> [Reply] {
        try run(commands.map { $0.map { RedisBytes($0) } }, sourceLocation: sourceLocation)
    }

    @discardableResult
    func run(_ commands: [[RedisBytes]], sourceLocation: SourceLocation = #_sourceLocation) throws -> [Reply] {
        var out: [Reply] = []
        for argv in commands {
            let want = try connection.call(argv)
            engine.now = currentMilliseconds()
            let got = try engine.apply(argv)
            out.append(got)
            if !Self.same(got, want) {
                let text = "\(argv.map(\.description).joined(separator: " ")): engine \(got), server \(want)"
                problems.append(text)
                Issue.record(Comment(rawValue: text), sourceLocation: sourceLocation)
            }
        }
        return out
    }

    /// Whether an engine reply equals a server reply (error replies compare by their first word and, when
    /// `exactErrors`, their whole text).
    static func same(_ a: Reply, _ b: LiveConnection.Reply, exactErrors: Bool = true) -> Bool {
        switch (a, b) {
        case (.status(let x), .simple(let y)): return x == y
        case (.error(let x), .error(let y)): return exactErrors ? x == y : x.split(separator: " ").first == y.split(separator: " ").first
        case (.integer(let x), .integer(let y)): return x == y
        case (.bulk(let x), .bulk(let y)): return x?.bytes == y
        case (.array(let x), .array(let y)):
            guard let x, let y else { return x == nil && y == nil }
            return x.count == y.count && zip(x, y).allSatisfy { same($0, $1, exactErrors: exactErrors) }
        default: return false
        }
    }

    /// Compares every key of every database; records and returns the differences.
    @discardableResult
    func compareKeyspace(databases: [Int] = [0], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        var found: [String] = []
        let now = currentMilliseconds()
        for db in databases {
            guard case .simple("OK") = try connection.call(["SELECT", String(db)]) else { throw Failure("SELECT") }
            var serverKeys = Set<RedisBytes>()
            var cursor = "0"
            repeat {
                guard case .array(let parts?) = try connection.call(["SCAN", cursor, "COUNT", "1000"]), parts.count == 2,
                    case .bulk(let c?) = parts[0], case .array(let page?) = parts[1]
                else { throw Failure("bad SCAN reply") }
                cursor = String(decoding: c, as: UTF8.self)
                for k in page { if case .bulk(let key?) = k { serverKeys.insert(RedisBytes(key)) } }
            } while cursor != "0"
            let engineKeys = Set(keyspace.keys(db: db, now: now))
            for k in serverKeys.subtracting(engineKeys) { found.append("db\(db) \(k.escapedDescription): only on the server") }
            for k in engineKeys.subtracting(serverKeys) { found.append("db\(db) \(k.escapedDescription): only in the engine") }
            for k in serverKeys.intersection(engineKeys).sorted() {
                let e = keyspace.entry(db: db, key: k, now: now)!
                guard case .bulk(let dump?) = try connection.call([RedisBytes("DUMP"), k]) else {
                    found.append("db\(db) \(k.escapedDescription): DUMP failed")
                    continue
                }
                guard let serverValue = DumpPayload.decode(dump) else {
                    found.append("db\(db) \(k.escapedDescription): DUMP payload unreadable")
                    continue
                }
                let a = Self.canonical(e.value.redisValue)
                let b = Self.canonical(serverValue)
                if a != b {
                    found.append("db\(db) \(k.escapedDescription): value engine \(Self.short(a)) server \(Self.short(b))")
                }
                let pexpiretime = try connection.call([RedisBytes("PEXPIRETIME"), k])
                let want: Int64? = if case .integer(let ms) = pexpiretime, ms >= 0 { ms } else { nil }
                // Relative expiries (EX, PX, EXPIRE) count from each side's clock: allow their skew.
                let skewed = e.expiresAt.flatMap { a in want.map { abs(a - $0) <= Self.clockSkew } } ?? false
                if e.expiresAt != want && !skewed {
                    found.append("db\(db) \(k.escapedDescription): expiry engine \(String(describing: e.expiresAt)) server \(String(describing: want))")
                }
                if case .hash(let h) = e.value {
                    for f in h.fields {
                        let r = try connection.call([RedisBytes("HPEXPIRETIME"), k, RedisBytes("FIELDS"), RedisBytes("1"), f.field])
                        if case .array(let items?) = r, items.count == 1, case .integer(let ms) = items[0] {
                            let serverTTL: Int64? = ms >= 0 ? ms : nil
                            if serverTTL != f.expiresAt?.milliseconds {
                                found.append("db\(db) \(k.escapedDescription) field \(f.field): TTL engine \(String(describing: f.expiresAt)) server \(String(describing: serverTTL))")
                            }
                        }
                    }
                }
            }
        }
        _ = try connection.call(["SELECT", "0"])
        for f in found { Issue.record(Comment(rawValue: f), sourceLocation: sourceLocation) }
        problems += found
        return found
    }

    /// A value with order that the type does not define removed: sets and hashes sorted, zsets in rank order,
    /// hash field TTLs dropped (compared separately), stream consumers and PELs sorted.
    static func canonical(_ v: RedisValue) -> RedisValue {
        switch v {
        case .set(let m): return .set(m.sorted())
        case .hash(let f):
            return .hash(f.map { HashField(field: $0.field, value: $0.value) }.sorted { $0.field < $1.field })
        case .sortedSet(let z): return .sortedSet(z.sorted(by: SortedSetValue.precedes))
        case .stream(var s):
            s.groups = s.groups.map { g in
                var g = g
                g.pending.sort { $0.id < $1.id }
                g.consumers = g.consumers.map { c in
                    var c = c
                    c.pending.sort()
                    // Times depend on the clock of each side.
                    c.seenTime = RedisTimestamp(milliseconds: 0)
                    c.activeTime = nil
                    return c
                }.sorted { $0.name < $1.name }
                g.pending = g.pending.map { p in
                    var p = p
                    p.deliveryTime = RedisTimestamp(milliseconds: 0)
                    return p
                }
                return g
            }.sorted { $0.name < $1.name }
            return .stream(s)
        default: return v
        }
    }

    /// How far apart the engine's and the server's clocks may put a relative expiry (ms).
    static let clockSkew: Int64 = 500

    static func short(_ v: RedisValue) -> String {
        let s = "\(v)"
        return s.count > 300 ? String(s.prefix(300)) + "…" : s
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}

@Suite("Command engine against redis-server 7.0", .serialized, .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
struct CoreCommandDifferentialTests {
    @Test("Key, string and server commands give the server's replies and keyspace")
    func keysAndStrings() throws {
        let h = try DifferentialHarness()
        defer { h.stop() }
        try h.run([
            ["SET", "a", "1"], ["INCR", "a"], ["INCRBY", "a", "41"], ["DECR", "a"], ["DECRBY", "a", "2"],
            ["INCRBY", "a", "9223372036854775807"], ["SET", "s", "hello"], ["INCR", "s"], ["APPEND", "s", " world"],
            ["APPEND", "new", "x"], ["SETRANGE", "s", "20", "!"], ["SETRANGE", "s", "0", "J"], ["GETSET", "s", "v"],
            ["GETDEL", "new"], ["GETDEL", "new"], ["SETNX", "a", "z"], ["SETNX", "b", "z"],
            ["MSET", "m1", "1", "m2", "2"], ["MSETNX", "m2", "x", "m3", "y"], ["MSETNX", "m3", "x", "m4", "y"],
            ["SET", "x", "1", "NX"], ["SET", "x", "2", "XX", "GET"], ["SET", "x", "3", "NX", "GET"],
            ["SET", "t", "v", "PX", "100000"], ["SET", "t", "w", "KEEPTTL"], ["SET", "t2", "v", "EXAT", "4102444800"],
            ["SET", "t3", "v", "PXAT", "4102444800123"], ["SET", "t3", "v", "EX", "0"], ["SET", "bad", "v", "EX", "x"],
            ["SET", "bad", "v", "NX", "XX"], ["SETEX", "se", "1000", "v"], ["PSETEX", "pse", "100000", "v"],
            ["INCRBYFLOAT", "f", "10.5"], ["INCRBYFLOAT", "f", "0.1"], ["INCRBYFLOAT", "f", "-5e2"],
            ["INCRBYFLOAT", "f", "1e400"], ["INCRBYFLOAT", "s", "1"], ["GETEX", "f", "PXAT", "4102444800000"],
            ["GETEX", "f", "PERSIST"], ["EXPIRE", "a", "100"], ["EXPIRE", "a", "50", "GT"], ["EXPIRE", "a", "50", "LT"],
            ["PEXPIREAT", "b", "4102444800000", "NX"], ["PEXPIREAT", "b", "4102444800001", "NX"], ["PERSIST", "b"],
            ["PERSIST", "b"], ["EXPIREAT", "m1", "1"], ["RENAME", "m2", "m5"], ["RENAME", "nope", "x"],
            ["RENAMENX", "m5", "a"], ["RENAMENX", "m5", "m6"], ["COPY", "m6", "c1"], ["COPY", "m6", "c1"],
            ["COPY", "m6", "c1", "REPLACE"], ["MOVE", "c1", "3"], ["COPY", "a", "a2", "DB", "2"], ["DEL", "a", "b", "zz"],
            ["UNLINK", "x"], ["SELECT", "2"], ["SET", "in2", "v"], ["SWAPDB", "2", "3"], ["SELECT", "0"],
        ])
        try h.compareKeyspace(databases: [0, 2, 3])
        #expect(h.problems.isEmpty)
    }
}
