#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import RedisFormats

// Read-only commands, answered as redis-server 7.0 answers them (RESP2 replies byte for byte; RESP3 shapes through
// the map, set, double and pairs cases of `Reply`). They never change the keyspace, not even to delete an expired
// key (an expired key is only invisible), so `rdbkit serve` runs them from many threads on one frozen keyspace.
// During an AOF load they are no-ops.

extension CommandEngine {
    static let readOnlyCommands: [Spec] = keyReads + stringReads + hashReads + listReads + setReads + sortedSetReads
        + streamReads

    /// Names of the commands that only read (the rest of ``commands`` writes).
    public static let readOnlyCommandNames: Set<String> = Set(readOnlyCommands.map(\.name))

    // MARK: Lookups that never change the keyspace

    /// The live entry of `key` in the selected database; an expired key is absent but stays in memory.
    func peek(_ key: RedisBytes) -> Keyspace.Entry? { keyspace.entry(db: db, key: key, now: now) }

    func readString(_ key: RedisBytes) throws(CommandFailure) -> RedisBytes? {
        guard let v = peek(key)?.value else { return nil }
        guard case .string(let s) = v else { throw CommandFailure(.wrongType) }
        return s
    }

    func readList(_ key: RedisBytes) throws(CommandFailure) -> ListValue? {
        guard let v = peek(key)?.value else { return nil }
        guard case .list(let l) = v else { throw CommandFailure(.wrongType) }
        return l
    }

    func readSet(_ key: RedisBytes) throws(CommandFailure) -> SetValue? {
        guard let v = peek(key)?.value else { return nil }
        guard case .set(let s) = v else { throw CommandFailure(.wrongType) }
        return s
    }

    func readSortedSet(_ key: RedisBytes) throws(CommandFailure) -> SortedSetValue? {
        guard let v = peek(key)?.value else { return nil }
        guard case .sortedSet(let z) = v else { throw CommandFailure(.wrongType) }
        return z
    }

    func readHash(_ key: RedisBytes) throws(CommandFailure) -> HashValue? {
        guard let v = peek(key)?.value else { return nil }
        guard case .hash(let h) = v else { throw CommandFailure(.wrongType) }
        return h
    }

    func readStream(_ key: RedisBytes) throws(CommandFailure) -> RedisStream? {
        guard let v = peek(key)?.value else { return nil }
        guard case .stream(let s) = v else { throw CommandFailure(.wrongType) }
        return s.stream
    }

    /// `getLongFromObjectOrReply`.
    static func long(_ b: RedisBytes) throws(CommandFailure) -> Int {
        Int(try int(b))
    }

    static func isOption(_ b: RedisBytes, _ name: String) -> Bool { upper(b) == name }

    // MARK: Keys

    static let keyReads: [Spec] = [
        Spec("exists", arity: -2) { e, a in .integer(Int64(a.dropFirst().filter { e.peek($0) != nil }.count)) },
        Spec("type", arity: 2) { e, a in .status(e.peek(a[1])?.value.typeName ?? "none") },
        Spec("ttl", arity: 2) { e, a in e.ttl(a[1], milliseconds: false, absolute: false) },
        Spec("pttl", arity: 2) { e, a in e.ttl(a[1], milliseconds: true, absolute: false) },
        Spec("expiretime", arity: 2) { e, a in e.ttl(a[1], milliseconds: false, absolute: true) },
        Spec("pexpiretime", arity: 2) { e, a in e.ttl(a[1], milliseconds: true, absolute: true) },
        Spec("dbsize", arity: 1) { e, _ in .integer(Int64(e.keyspace.count(db: e.db, now: e.now))) },
        Spec("keys", arity: 2) { e, a in
            let all = a[1].bytes == [UInt8(ascii: "*")]
            guard let d = e.keyspace.databases[e.db] else { return .array([Reply]()) }
            var out: [Reply] = []
            for (k, x) in d where !x.isExpired(at: e.now) && (all || GlobPattern.matches(a[1].bytes, k.bytes)) {
                out.append(.bulk(k))
            }
            return .array(out)
        },
        Spec("scan", arity: -2) { e, a throws(CommandFailure) in try e.scanKeys(a) },
        Spec("randomkey", arity: 1) { e, _ in
            let keys = e.sortedKeys()
            guard !keys.isEmpty else { return .null }
            // A few random probes, then a walk, as expired keys are skipped.
            for _ in 0..<100 {
                let k = keys[Int.random(in: 0..<keys.count)]
                if e.peek(k) != nil { return .bulk(k) }
            }
            return keys.first { e.peek($0) != nil }.map { .bulk($0) } ?? .null
        },
        Spec("object", arity: -2) { e, a throws(CommandFailure) in try e.object(a) },
        Spec("dump", arity: 2) { e, a in
            guard let x = e.peek(a[1]) else { return .null }
            guard let payload = try? RDBWriter.dumpPayload(of: x.value.redisValue, target: CommandEngine.dumpTarget) else {
                return .error("ERR DUMP is not possible for this value")
            }
            return .bulk(RedisBytes(payload))
        },
    ]

    /// The server DUMP payloads are made for (RESTORE on Redis 7.0 and later accepts them).
    static let dumpTarget = RDBTarget.named("redis-7.0")!

    /// Mirrors `ttlGenericCommand`.
    func ttl(_ key: RedisBytes, milliseconds: Bool, absolute: Bool) -> Reply {
        guard let x = peek(key) else { return .integer(-2) }
        guard let expire = x.expiresAt else { return .integer(-1) }
        var t = absolute ? expire : expire - (now ?? clock())
        if t < 0 { t = 0 }
        return .integer(milliseconds ? t : (t + 500) / 1000)
    }

    /// Keys of the selected database in byte order: the frozen snapshot when there is one.
    func sortedKeys() -> [RedisBytes] {
        if let f = keyspace.frozenKeys { return f[db] ?? [] }
        return keyspace.databases[db].map { $0.keys.sorted() } ?? []
    }

    /// `parseScanCursorOrReply`: an unsigned decimal (`strtoul`).
    static func scanCursor(_ b: RedisBytes) throws(CommandFailure) -> UInt64 {
        var bytes = b.bytes[...]
        var negative = false
        if let f = bytes.first, f == UInt8(ascii: "-") || f == UInt8(ascii: "+") {
            negative = f == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let v = UInt64(String(decoding: bytes, as: UTF8.self))
        else { throw CommandFailure(.error("ERR invalid cursor")) }
        return negative ? 0 &- v : v
    }

    struct ScanOptions {
        var count = 10
        var pattern: [UInt8]?
        var type: String?
    }

    /// The options of SCAN (`allowType`) and HSCAN / SSCAN / ZSCAN, from argument `from` on.
    static func scanOptions(_ a: [RedisBytes], from: Int, allowType: Bool) throws(CommandFailure) -> ScanOptions {
        var o = ScanOptions()
        var i = from
        while i < a.count {
            let more = a.count - i >= 2
            switch upper(a[i]) {
            case "COUNT" where more:
                let n = try long(a[i + 1])
                if n < 1 { throw CommandFailure(.syntax) }
                o.count = n
            case "MATCH" where more:
                o.pattern = a[i + 1].bytes == [UInt8(ascii: "*")] ? nil : a[i + 1].bytes
            case "TYPE" where more && allowType:
                o.type = a[i + 1].description
            default:
                throw CommandFailure(.syntax)
            }
            i += 2
        }
        return o
    }

    static func scanReply(cursor: UInt64, _ items: [Reply]) -> Reply {
        .array([.bulk(RedisBytes(String(cursor))), .array(items)])
    }

    /// SCAN: the cursor indexes the keys in byte order (the frozen snapshot in `rdbkit serve`), so every key
    /// present for the whole iteration is returned exactly once.
    func scanKeys(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        let cursor = try Self.scanCursor(a[1])
        let o = try Self.scanOptions(a, from: 2, allowType: true)
        let keys = sortedKeys()
        guard cursor < UInt64(keys.count) else { return Self.scanReply(cursor: 0, []) }
        let start = Int(cursor)
        let end = min(keys.count, start + o.count)
        var out: [Reply] = []
        for k in keys[start..<end] {
            guard let x = peek(k) else { continue }
            if let p = o.pattern, !GlobPattern.matches(p, k.bytes) { continue }
            if let t = o.type, t.lowercased() != x.value.typeName.lowercased() { continue }
            out.append(.bulk(k))
        }
        return Self.scanReply(cursor: end >= keys.count ? 0 : UInt64(end), out)
    }

    /// OBJECT ENCODING | REFCOUNT | IDLETIME | FREQ | HELP.
    func object(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        let sub = Self.upper(a[1])
        if sub == "HELP" {
            guard a.count == 2 else { return .wrongArity("object|help") }
            return .array(
                [
                    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "ENCODING <key>", "    Return the kind of internal representation used in order to store the value",
                    "    associated with a <key>.",
                    "FREQ <key>", "    Return the access frequency index of the <key>. The returned integer is",
                    "    proportional to the logarithm of the recent access frequency of the key.",
                    "IDLETIME <key>", "    Return the idle time of the <key>, that is the approximated number of",
                    "    seconds elapsed since the last access to the key.",
                    "REFCOUNT <key>", "    Return the number of references of the value associated with the specified",
                    "    <key>.",
                    "HELP", "    Prints this help.",
                ].map { .status($0) })
        }
        guard ["ENCODING", "REFCOUNT", "IDLETIME", "FREQ"].contains(sub) else {
            return .error("ERR unknown subcommand '\(a[1].description.prefix(128))'. Try OBJECT HELP.")
        }
        guard a.count == 3 else { return .wrongArity("object|\(sub.lowercased())") }
        guard let x = peek(a[2]) else { return .null }
        switch sub {
        case "ENCODING": return .bulk(RedisBytes(Self.encodingName(x.value)))
        case "REFCOUNT":
            if case .string(let s) = x.value, let v = RedisInteger.parse(s.bytes), v >= 0, v < 10000 {
                return .integer(2_147_483_647)  // a shared integer (OBJ_SHARED_REFCOUNT)
            }
            return .integer(1)
        case "IDLETIME": return .integer(0)
        default:
            return .error(
                "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
            )
        }
    }

    /// What `OBJECT ENCODING` prints on Redis 7.0 with default thresholds for a value like this one.
    public static func encodingName(_ v: KeyValue) -> String {
        switch v {
        case .string(let s):
            if s.count <= 20, RedisInteger.parse(s.bytes) != nil { return "int" }
            return s.count <= 44 ? "embstr" : "raw"
        case .list: return "quicklist"
        case .set(let s): return s.count <= 512 && s.isIntegers ? "intset" : "hashtable"
        case .sortedSet(let z): return z.count <= 128 && z.maxMemberLength <= 64 ? "listpack" : "skiplist"
        case .hash(let h): return h.count <= 512 && h.maxEntryLength <= 64 ? "listpack" : "hashtable"
        case .stream: return "stream"
        case .opaque: return "raw"
        }
    }

    // MARK: Strings

    static let stringReads: [Spec] = [
        Spec("get", arity: 2) { e, a throws(CommandFailure) in .bulk(try e.readString(a[1])) },
        Spec("mget", arity: -2) { e, a in
            .array(a.dropFirst().map { k -> Reply in
                if case .string(let s)? = e.peek(k)?.value { return .bulk(s) }
                return .null
            })
        },
        Spec("strlen", arity: 2) { e, a throws(CommandFailure) in .integer(Int64(try e.readString(a[1])?.count ?? 0)) },
        Spec("getrange", arity: 4) { e, a throws(CommandFailure) in try e.getrange(a) },
        Spec("substr", arity: 4) { e, a throws(CommandFailure) in try e.getrange(a) },
    ]

    /// Mirrors `getrangeCommand`.
    func getrange(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        var start = try Self.int(a[2])
        var end = try Self.int(a[3])
        guard let s = try readString(a[1]) else { return .bulk(RedisBytes.empty) }
        let n = Int64(s.count)
        if start < 0 && end < 0 && start > end { return .bulk(RedisBytes.empty) }
        if start < 0 { start = n + start }
        if end < 0 { end = n + end }
        if start < 0 { start = 0 }
        if end < 0 { end = 0 }
        if end >= n { end = n - 1 }
        if start > end || n == 0 { return .bulk(RedisBytes.empty) }
        return .bulk(RedisBytes(s.bytes[Int(start)...Int(end)]))
    }

    // MARK: Hashes

    static let hashReads: [Spec] = [
        Spec("hget", arity: 3) { e, a throws(CommandFailure) in .bulk(try e.readHash(a[1])?.get(a[2])) },
        Spec("hmget", arity: -3) { e, a throws(CommandFailure) in
            let h = try e.readHash(a[1])
            return .array(a.dropFirst(2).map { .bulk(h?.get($0)) })
        },
        Spec("hgetall", arity: 2) { e, a throws(CommandFailure) in
            guard let h = try e.readHash(a[1]) else { return .map([]) }
            var out: [Reply] = []
            out.reserveCapacity(2 * h.count)
            h.forEach { f, v in
                out.append(.bulk(f))
                out.append(.bulk(v))
                return true
            }
            return .map(out)
        },
        Spec("hkeys", arity: 2) { e, a throws(CommandFailure) in
            guard let h = try e.readHash(a[1]) else { return .array([Reply]()) }
            var out: [Reply] = []
            h.forEach { f, _ in
                out.append(.bulk(f))
                return true
            }
            return .array(out)
        },
        Spec("hvals", arity: 2) { e, a throws(CommandFailure) in
            guard let h = try e.readHash(a[1]) else { return .array([Reply]()) }
            var out: [Reply] = []
            h.forEach { _, v in
                out.append(.bulk(v))
                return true
            }
            return .array(out)
        },
        Spec("hlen", arity: 2) { e, a throws(CommandFailure) in .integer(Int64(try e.readHash(a[1])?.count ?? 0)) },
        Spec("hexists", arity: 3) { e, a throws(CommandFailure) in .integer(try e.readHash(a[1])?.contains(a[2]) == true ? 1 : 0) },
        Spec("hstrlen", arity: 3) { e, a throws(CommandFailure) in .integer(Int64(try e.readHash(a[1])?.get(a[2])?.count ?? 0)) },
        Spec("hscan", arity: -3) { e, a throws(CommandFailure) in
            let cursor = try CommandEngine.scanCursor(a[2])
            guard let h = try e.readHash(a[1]) else { return CommandEngine.scanReply(cursor: 0, []) }
            let o = try CommandEngine.scanOptions(a, from: 3, allowType: false)
            var pairs: [(RedisBytes, RedisBytes)] = []
            h.forEach { f, v in
                pairs.append((f, v))
                return true
            }
            let compact = CommandEngine.encodingName(.hash(h)) == "listpack"
            return CommandEngine.scanCollection(pairs, cursor: cursor, options: o, all: compact) { [.bulk($0.0), .bulk($0.1)] }
                matching: { $0.0.bytes }
        },
        Spec("httl", arity: -5) { e, a throws(CommandFailure) in try e.fieldTTL(a, milliseconds: false, absolute: false) },
        Spec("hpttl", arity: -5) { e, a throws(CommandFailure) in try e.fieldTTL(a, milliseconds: true, absolute: false) },
        Spec("hexpiretime", arity: -5) { e, a throws(CommandFailure) in try e.fieldTTL(a, milliseconds: false, absolute: true) },
        Spec("hpexpiretime", arity: -5) { e, a throws(CommandFailure) in try e.fieldTTL(a, milliseconds: true, absolute: true) },
    ]

    /// One page of a collection scan. Compact encodings (`all`) answer everything at once with cursor 0, as
    /// Redis does for listpacks and intsets; others page by position in the collection's (fixed) order.
    static func scanCollection<T>(
        _ items: [T], cursor: UInt64, options o: ScanOptions, all: Bool, _ reply: (T) -> [Reply],
        matching name: (T) -> [UInt8]
    ) -> Reply {
        let start = all ? 0 : Int(min(cursor, UInt64(items.count)))
        let end = all ? items.count : min(items.count, start + o.count)
        var out: [Reply] = []
        for item in items[start..<end] {
            if let p = o.pattern, !GlobPattern.matches(p, name(item)) { continue }
            out += reply(item)
        }
        return scanReply(cursor: end >= items.count ? 0 : UInt64(end), out)
    }

    /// HTTL / HPTTL / HEXPIRETIME / HPEXPIRETIME key FIELDS n field… (Redis 7.4): per field -2 (no such field or
    /// key), -1 (no expiry) or the time.
    func fieldTTL(_ a: [RedisBytes], milliseconds: Bool, absolute: Bool) throws(CommandFailure) -> Reply {
        let h = try readHash(a[1])
        guard Self.upper(a[2]) == "FIELDS" else {
            return .error("ERR Mandatory argument FIELDS is missing or not at the right position")
        }
        guard let n = RedisInteger.parse(a[3].bytes), n > 0 else {
            return .error("ERR Number of fields must be a positive integer")
        }
        guard n == a.count - 4 else {
            return .error("ERR The `numfields` parameter must match the number of arguments")
        }
        let reference = now ?? clock()
        return .array(a.dropFirst(4).map { f -> Reply in
            guard let h, h.contains(f) else { return .integer(-2) }
            guard let x = h.expiry(f) else { return .integer(-1) }
            if absolute { return .integer(milliseconds ? x : x / 1000) }
            let t = max(0, x - reference)
            return .integer(milliseconds ? t : (t + 500) / 1000)
        })
    }

    // MARK: Lists

    static let listReads: [Spec] = [
        Spec("llen", arity: 2) { e, a throws(CommandFailure) in .integer(Int64(try e.readList(a[1])?.count ?? 0)) },
        Spec("lrange", arity: 4) { e, a throws(CommandFailure) in
            var start = try CommandEngine.long(a[2])
            var end = try CommandEngine.long(a[3])
            guard let l = try e.readList(a[1]) else { return .array([Reply]()) }
            let n = l.count
            if start < 0 { start = n + start }
            if end < 0 { end = n + end }
            if start < 0 { start = 0 }
            if start > end || start >= n { return .array([Reply]()) }
            if end >= n { end = n - 1 }
            return .array(l.elements(in: start..<(end + 1)))
        },
        Spec("lindex", arity: 3) { e, a throws(CommandFailure) in
            guard let l = try e.readList(a[1]) else { return .null }
            var i = try CommandEngine.long(a[2])
            if i < 0 { i += l.count }
            guard i >= 0 && i < l.count else { return .null }
            return .bulk(l[i])
        },
        Spec("lpos", arity: -3) { e, a throws(CommandFailure) in try e.lpos(a) },
    ]

    /// Mirrors `lposCommand`.
    func lpos(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        var rank = 1
        var count = -1
        var maxlen = 0
        var i = 3
        while i < a.count {
            let more = i + 1 < a.count
            switch Self.upper(a[i]) {
            case "RANK" where more:
                i += 1
                let r = try Self.long(a[i])
                if r == 0 {
                    return .error(
                        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
                    )
                }
                rank = r
            case "COUNT" where more:
                i += 1
                guard let c = RedisInteger.parse(a[i].bytes), c >= 0 else { return .error("ERR COUNT can't be negative") }
                count = Int(c)
            case "MAXLEN" where more:
                i += 1
                guard let m = RedisInteger.parse(a[i].bytes), m >= 0 else { return .error("ERR MAXLEN can't be negative") }
                maxlen = Int(m)
            default:
                return .syntax
            }
            i += 1
        }
        let fromTail = rank < 0
        // Redis 7.0 negates LONG_MIN into itself, so any first match counts.
        if rank < 0 { rank = 0 &- rank }
        guard let l = try readList(a[1]) else { return count != -1 ? .array([Reply]()) : .null }
        let items = l.elements
        let n = items.count
        var matches = 0
        var found: [Reply] = []
        var index = 0
        while index < n && (maxlen == 0 || index < maxlen) {
            let pos = fromTail ? n - index - 1 : index
            if items[pos] == a[2] {
                matches += 1
                if matches >= rank {
                    if count == -1 { return .integer(Int64(pos)) }
                    found.append(.integer(Int64(pos)))
                    if count != 0 && matches - rank + 1 >= count { break }
                }
            }
            index += 1
        }
        return count == -1 ? .null : .array(found)
    }

    // MARK: Sets

    static let setReads: [Spec] = [
        Spec("smembers", arity: 2) { e, a throws(CommandFailure) in
            guard let s = try e.readSet(a[1]) else { return .set([]) }
            return .set(CommandEngine.setOrder(s).map { .bulk($0) })
        },
        Spec("sismember", arity: 3) { e, a throws(CommandFailure) in .integer(try e.readSet(a[1])?.contains(a[2]) == true ? 1 : 0) },
        Spec("smismember", arity: -3) { e, a throws(CommandFailure) in
            let s = try e.readSet(a[1])
            return .array(a.dropFirst(2).map { .integer(s?.contains($0) == true ? 1 : 0) })
        },
        Spec("scard", arity: 2) { e, a throws(CommandFailure) in .integer(Int64(try e.readSet(a[1])?.count ?? 0)) },
        Spec("sscan", arity: -3) { e, a throws(CommandFailure) in
            let cursor = try CommandEngine.scanCursor(a[2])
            guard let s = try e.readSet(a[1]) else { return CommandEngine.scanReply(cursor: 0, []) }
            let o = try CommandEngine.scanOptions(a, from: 3, allowType: false)
            let intset = CommandEngine.encodingName(.set(s)) == "intset"
            return CommandEngine.scanCollection(CommandEngine.setOrder(s), cursor: cursor, options: o, all: intset) {
                [.bulk($0)]
            } matching: { $0.bytes }
        },
    ]

    /// Members in the order Redis 7.0 lists them where it is defined: an intset is in numeric order.
    static func setOrder(_ s: SetValue) -> [RedisBytes] {
        let m = s.members
        guard encodingName(.set(s)) == "intset" else { return m }
        return m.sorted { (RedisInteger.parse($0.bytes) ?? 0) < (RedisInteger.parse($1.bytes) ?? 0) }
    }

    // MARK: Sorted sets

    static let sortedSetReads: [Spec] = [
        Spec("zcard", arity: 2) { e, a throws(CommandFailure) in .integer(Int64(try e.readSortedSet(a[1])?.count ?? 0)) },
        Spec("zscore", arity: 3) { e, a throws(CommandFailure) in
            guard let s = try e.readSortedSet(a[1])?.score(of: a[2]) else { return .null }
            return .double(s)
        },
        Spec("zmscore", arity: -3) { e, a throws(CommandFailure) in
            let z = try e.readSortedSet(a[1])
            return .array(a.dropFirst(2).map { m -> Reply in z?.score(of: m).map { .double($0) } ?? .null })
        },
        Spec("zrank", arity: 3) { e, a throws(CommandFailure) in
            guard let z = try e.readSortedSet(a[1]), let r = z.rank(of: a[2]) else { return .null }
            return .integer(Int64(r))
        },
        Spec("zrevrank", arity: 3) { e, a throws(CommandFailure) in
            guard let z = try e.readSortedSet(a[1]), let r = z.rank(of: a[2]) else { return .null }
            return .integer(Int64(z.count - 1 - r))
        },
        Spec("zcount", arity: 4) { e, a throws(CommandFailure) in
            guard let r = ReadScoreRange(min: a[2], max: a[3]) else { return .error("ERR min or max is not a float") }
            guard let z = try e.readSortedSet(a[1]) else { return .integer(0) }
            return .integer(Int64(z.sortedEntries.filter { r.contains($0.score) }.count))
        },
        Spec("zlexcount", arity: 4) { e, a throws(CommandFailure) in
            guard let r = ReadLexRange(min: a[2], max: a[3]) else { return .error("ERR min or max not valid string range item") }
            guard let z = try e.readSortedSet(a[1]) else { return .integer(0) }
            return .integer(Int64(CommandEngine.lexSelect(z.sortedEntries, r, reverse: false).count))
        },
        Spec("zrange", arity: -4) { e, a throws(CommandFailure) in try e.zrange(a, kind: nil, reverse: nil) },
        Spec("zrevrange", arity: -4) { e, a throws(CommandFailure) in try e.zrange(a, kind: .rank, reverse: true) },
        Spec("zrangebyscore", arity: -4) { e, a throws(CommandFailure) in try e.zrange(a, kind: .score, reverse: false) },
        Spec("zrevrangebyscore", arity: -4) { e, a throws(CommandFailure) in try e.zrange(a, kind: .score, reverse: true) },
        Spec("zrangebylex", arity: -4) { e, a throws(CommandFailure) in try e.zrange(a, kind: .lex, reverse: false) },
        Spec("zrevrangebylex", arity: -4) { e, a throws(CommandFailure) in try e.zrange(a, kind: .lex, reverse: true) },
        Spec("zscan", arity: -3) { e, a throws(CommandFailure) in
            let cursor = try CommandEngine.scanCursor(a[2])
            guard let z = try e.readSortedSet(a[1]) else { return CommandEngine.scanReply(cursor: 0, []) }
            let o = try CommandEngine.scanOptions(a, from: 3, allowType: false)
            let compact = CommandEngine.encodingName(.sortedSet(z)) == "listpack"
            return CommandEngine.scanCollection(z.sortedEntries, cursor: cursor, options: o, all: compact) {
                [.bulk($0.member), .bulk(RedisBytes(RedisNumbers.formatScore70($0.score)))]
            } matching: { $0.member.bytes }
        },
    ]

    enum ReadRangeKind { case rank, score, lex }

    /// Mirrors `zrangeGenericCommand` (ZRANGE and its older forms; not ZRANGESTORE).
    func zrange(_ a: [RedisBytes], kind fixedKind: ReadRangeKind?, reverse fixedReverse: Bool?) throws(CommandFailure) -> Reply {
        var kind = fixedKind
        var reverse = fixedReverse
        var withScores = false
        var offset = 0
        var limit = -1
        var j = 4
        while j < a.count {
            let left = a.count - j - 1
            let opt = Self.upper(a[j])
            if opt == "WITHSCORES" {
                withScores = true
            } else if opt == "LIMIT" && left >= 2 {
                offset = try Self.long(a[j + 1])
                limit = try Self.long(a[j + 2])
                j += 2
            } else if fixedReverse == nil && reverse == nil && opt == "REV" {
                reverse = true
            } else if fixedKind == nil && kind == nil && opt == "BYLEX" {
                kind = .lex
            } else if fixedKind == nil && kind == nil && opt == "BYSCORE" {
                kind = .score
            } else {
                return .syntax
            }
            j += 1
        }
        let rev = reverse ?? false
        let k = kind ?? .rank
        if limit != -1 && k == .rank {
            return .error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
        }
        if withScores && k == .lex {
            return .error("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
        }
        var minArg = a[2]
        var maxArg = a[3]
        if rev && k != .rank { swap(&minArg, &maxArg) }
        var selected: [SortedSetEntry]
        switch k {
        case .rank:
            var start = try Self.long(minArg)
            var end = try Self.long(maxArg)
            guard let z = try readSortedSet(a[1]) else { return .array([Reply]()) }
            let n = z.count
            if start < 0 { start = n + start }
            if end < 0 { end = n + end }
            if start < 0 { start = 0 }
            if start > end || start >= n { return .array([Reply]()) }
            if end >= n { end = n - 1 }
            let all = z.sortedEntries
            selected = rev ? Array(all[(n - 1 - end)...(n - 1 - start)].reversed()) : Array(all[start...end])
        case .score:
            guard let r = ReadScoreRange(min: minArg, max: maxArg) else { return .error("ERR min or max is not a float") }
            guard let z = try readSortedSet(a[1]) else { return .array([Reply]()) }
            let all = z.sortedEntries
            selected = rev ? all.reversed().filter { r.contains($0.score) } : all.filter { r.contains($0.score) }
            selected = Self.applyLimit(selected, offset: offset, limit: limit)
        case .lex:
            guard let r = ReadLexRange(min: minArg, max: maxArg) else { return .error("ERR min or max not valid string range item") }
            guard let z = try readSortedSet(a[1]) else { return .array([Reply]()) }
            selected = Self.applyLimit(Self.lexSelect(z.sortedEntries, r, reverse: rev), offset: offset, limit: limit)
        }
        if withScores {
            return .pairs(selected.flatMap { [Reply.bulk($0.member), .double($0.score)] })
        }
        return .array(selected.map { .bulk($0.member) })
    }

    /// LIMIT offset count as Redis walks it: a negative offset skips everything, a negative count means all.
    static func applyLimit(_ s: [SortedSetEntry], offset: Int, limit: Int) -> [SortedSetEntry] {
        if offset < 0 || limit == 0 { return [] }
        if offset >= s.count { return [] }
        let rest = s[offset...]
        return limit < 0 ? Array(rest) : Array(rest.prefix(limit))
    }

    /// The members a lex range selects, walked as a listpack is: from the first member in range, while in range.
    static func lexSelect(_ all: [SortedSetEntry], _ r: ReadLexRange, reverse: Bool) -> [SortedSetEntry] {
        var out: [SortedSetEntry] = []
        if reverse {
            guard var i = all.lastIndex(where: { r.belowMax($0.member) }) else { return [] }
            while i >= 0 && r.aboveMin(all[i].member) {
                out.append(all[i])
                i -= 1
            }
        } else {
            guard var i = all.firstIndex(where: { r.aboveMin($0.member) }) else { return [] }
            while i < all.count && r.belowMax(all[i].member) {
                out.append(all[i])
                i += 1
            }
        }
        return out
    }

    // MARK: Streams

    static let streamReads: [Spec] = [
        Spec("xlen", arity: 2) { e, a throws(CommandFailure) in .integer(Int64(try e.readStream(a[1])?.metadata.length ?? 0)) },
        Spec("xrange", arity: -4) { e, a throws(CommandFailure) in try e.xrange(a, reverse: false) },
        Spec("xrevrange", arity: -4) { e, a throws(CommandFailure) in try e.xrange(a, reverse: true) },
        Spec("xinfo", arity: -2) { e, a throws(CommandFailure) in try e.xinfo(a) },
        Spec("xpending", arity: -3) { e, a throws(CommandFailure) in try e.xpending(a) },
    ]

    /// `streamParseIntervalIDOrReply`: `-`, `+`, `ms`, `ms-seq`, with a `(` prefix for an exclusive bound.
    static func intervalID(_ b: RedisBytes, missingSeq: UInt64) throws(CommandFailure) -> (StreamID, exclusive: Bool) {
        var bytes = b.bytes
        let exclusive = bytes.count > 1 && bytes[0] == UInt8(ascii: "(")
        if exclusive { bytes.removeFirst() }
        guard bytes.count <= 127 else { throw CommandFailure(invalidStreamID) }
        if bytes == [UInt8(ascii: "-")] || bytes == [UInt8(ascii: "+")] {
            if exclusive { throw CommandFailure(invalidStreamID) }
            return bytes[0] == UInt8(ascii: "-") ? (.zero, false) : (StreamID(ms: .max, seq: .max), false)
        }
        let parts = bytes.split(separator: UInt8(ascii: "-"), maxSplits: 1, omittingEmptySubsequences: false)
        guard let ms = unsigned(parts[0]) else { throw CommandFailure(invalidStreamID) }
        var seq = missingSeq
        if parts.count == 2 {
            guard let s = unsigned(parts[1]) else { throw CommandFailure(invalidStreamID) }
            seq = s
        }
        return (StreamID(ms: ms, seq: seq), exclusive)
    }

    /// `string2ull`.
    static func unsigned(_ b: ArraySlice<UInt8>) -> UInt64? {
        if let v = RedisInteger.parse(b) { return v < 0 ? nil : UInt64(v) }
        guard !b.isEmpty, b.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt64(String(decoding: b, as: UTF8.self))
    }

    static func increment(_ id: StreamID) -> StreamID? {
        if id.seq == .max {
            if id.ms == .max { return nil }
            return StreamID(ms: id.ms + 1, seq: 0)
        }
        return StreamID(ms: id.ms, seq: id.seq + 1)
    }

    static func decrement(_ id: StreamID) -> StreamID? {
        if id.seq == 0 {
            if id.ms == 0 { return nil }
            return StreamID(ms: id.ms - 1, seq: .max)
        }
        return StreamID(ms: id.ms, seq: id.seq - 1)
    }

    /// Both bounds of an interval, exclusive ones moved inward.
    static func interval(_ startArg: RedisBytes, _ endArg: RedisBytes) throws(CommandFailure) -> (StreamID, StreamID) {
        var (start, sx) = try intervalID(startArg, missingSeq: 0)
        if sx {
            guard let s = increment(start) else { throw CommandFailure(.error("ERR invalid start ID for the interval")) }
            start = s
        }
        var (end, ex) = try intervalID(endArg, missingSeq: .max)
        if ex {
            guard let e = decrement(end) else { throw CommandFailure(.error("ERR invalid end ID for the interval")) }
            end = e
        }
        return (start, end)
    }

    static func idReply(_ id: StreamID) -> Reply { .bulk(RedisBytes(id.description)) }

    /// Mirrors `xrangeGenericCommand`.
    func xrange(_ a: [RedisBytes], reverse: Bool) throws(CommandFailure) -> Reply {
        let (start, end) = try Self.interval(reverse ? a[3] : a[2], reverse ? a[2] : a[3])
        var count: Int64 = -1
        var j = 4
        while j < a.count {
            guard Self.upper(a[j]) == "COUNT", j + 1 < a.count else { return .syntax }
            count = max(0, try Self.int(a[j + 1]))
            j += 2
        }
        guard let s = try readStream(a[1]) else { return .array([Reply]()) }
        if count == 0 { return .array(nil) }
        var out: [Reply] = []
        let inRange = { (e: StreamEntry) in e.id >= start && e.id <= end }
        let ordered: [StreamEntry] = reverse ? s.entries.reversed() : s.entries
        for e in ordered where inRange(e) {
            out.append(Self.entryReply(e))
            if count > 0 && out.count >= count { break }
        }
        return .array(out)
    }

    /// Mirrors `streamEstimateDistanceFromFirstEverEntry`.
    static func estimateDistance(_ s: RedisStream, _ id: StreamID) -> Int64? {
        let m = s.metadata
        let added = Int64(m.entriesAdded ?? UInt64(s.entries.count))
        if added == 0 { return 0 }
        if m.length == 0 && id <= m.lastID { return added }
        if id == m.lastID { return added }
        if id > m.lastID { return nil }
        let first = m.firstID ?? s.entries.first?.id ?? .zero
        let maxDeleted = m.maxDeletedEntryID ?? .zero
        if maxDeleted == .zero || maxDeleted < first {
            if id < first { return added - Int64(m.length) }
            if id == first { return added - Int64(m.length) + 1 }
        }
        return nil
    }

    /// Mirrors `streamRangeHasTombstones` with no end.
    static func hasTombstones(_ s: RedisStream, from start: StreamID) -> Bool {
        let m = s.metadata
        let maxDeleted = m.maxDeletedEntryID ?? .zero
        if m.length == 0 || maxDeleted == .zero { return false }
        let first = m.firstID ?? s.entries.first?.id ?? .zero
        if first > maxDeleted { return false }
        return start <= maxDeleted
    }

    /// Mirrors `streamReplyWithCGLag`.
    static func lag(_ s: RedisStream, _ g: StreamConsumerGroup) -> Reply {
        let added = Int64(s.metadata.entriesAdded ?? UInt64(s.entries.count))
        if added == 0 { return .integer(0) }
        if let read = g.entriesRead, !hasTombstones(s, from: g.lastDeliveredID) { return .integer(added - Int64(read)) }
        if let read = estimateDistance(s, g.lastDeliveredID) { return .integer(added - read) }
        return .null
    }

    /// Listpack nodes (radix-tree keys) a stream written entry by entry would use with the default
    /// `stream-node-max-entries 100` and `stream-node-max-bytes 4096`: an estimate, as the real count depends
    /// on the stream's history.
    static func estimatedNodes(_ s: RedisStream) -> Int {
        var nodes = 0
        var entries = 0
        var bytes = 0
        for e in s.entries {
            let size = e.fields.reduce(4) { $0 + $1.name.count + $1.value.count + 4 }
            if nodes == 0 || entries >= 100 || bytes + size > 4096 {
                nodes += 1
                entries = 0
                bytes = 16
            }
            entries += 1
            bytes += size
        }
        return nodes
    }

    /// XINFO STREAM [FULL [COUNT n]] | GROUPS | CONSUMERS | HELP (7.0 replies).
    func xinfo(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        let sub = Self.upper(a[1])
        let arities = ["STREAM": -3, "GROUPS": 3, "CONSUMERS": 4, "HELP": 2]
        guard let arity = arities[sub] else {
            return .error("ERR unknown subcommand '\(a[1].description.prefix(128))'. Try XINFO HELP.")
        }
        if (arity > 0 && a.count != arity) || (arity < 0 && a.count < -arity) {
            return .wrongArity("xinfo|\(sub.lowercased())")
        }
        if sub == "HELP" {
            return .array(
                [
                    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "CONSUMERS <key> <groupname>", "    Show consumers of <groupname>.",
                    "GROUPS <key>", "    Show the stream consumer groups.",
                    "STREAM <key> [FULL [COUNT <count>]", "    Show information about the stream.",
                    "HELP", "    Prints this help.",
                ].map { .status($0) })
        }
        guard let s = try readStream(a[2]) else { return .noSuchKey }
        let clockNow = now ?? clock()
        let groups = s.groups.sorted { $0.name < $1.name }
        switch sub {
        case "CONSUMERS":
            guard let g = groups.first(where: { $0.name == a[3] }) else {
                return .error("NOGROUP No such consumer group '\(a[3].description)' for key name '\(a[2].description)'")
            }
            return .array(g.consumers.sorted { $0.name < $1.name }.map { c in
                .map([
                    .bulk("name"), .bulk(c.name), .bulk("pending"), .integer(Int64(c.pending.count)),
                    .bulk("idle"), .integer(max(0, clockNow - c.seenTime.milliseconds)),
                ])
            })
        case "GROUPS":
            return .array(groups.map { g in
                .map([
                    .bulk("name"), .bulk(g.name), .bulk("consumers"), .integer(Int64(g.consumers.count)),
                    .bulk("pending"), .integer(Int64(g.pending.count)),
                    .bulk("last-delivered-id"), Self.idReply(g.lastDeliveredID),
                    .bulk("entries-read"), g.entriesRead.map { .integer(Int64($0)) } ?? .null,
                    .bulk("lag"), Self.lag(s, g),
                ])
            })
        default:
            var full = false
            var count = 10
            if a.count > 3 {
                let syntax = Reply.error(
                    "ERR unknown subcommand or wrong number of arguments for '\(a[1].description)'. Try XINFO HELP.")
                guard Self.upper(a[3]) == "FULL" else { return syntax }
                full = true
                if a.count > 4 {
                    guard a.count == 6, Self.upper(a[4]) == "COUNT" else { return syntax }
                    count = max(0, Int(try Self.int(a[5])))
                }
            }
            let m = s.metadata
            let nodes = Self.estimatedNodes(s)
            var out: [Reply] = [
                .bulk("length"), .integer(Int64(m.length)),
                .bulk("radix-tree-keys"), .integer(Int64(nodes)),
                .bulk("radix-tree-nodes"), .integer(Int64(nodes == 0 ? 1 : nodes + 1)),
                .bulk("last-generated-id"), Self.idReply(m.lastID),
                .bulk("max-deleted-entry-id"), Self.idReply(m.maxDeletedEntryID ?? .zero),
                .bulk("entries-added"), .integer(Int64(m.entriesAdded ?? UInt64(s.entries.count))),
                .bulk("recorded-first-entry-id"), Self.idReply(m.firstID ?? s.entries.first?.id ?? .zero),
            ]
            if !full {
                out += [
                    .bulk("groups"), .integer(Int64(groups.count)),
                    .bulk("first-entry"), s.entries.first.map(Self.entryReply) ?? .null,
                    .bulk("last-entry"), s.entries.last.map(Self.entryReply) ?? .null,
                ]
                return .map(out)
            }
            let entries = count == 0 ? s.entries[...] : s.entries.prefix(count)
            out += [.bulk("entries"), .array(entries.map(Self.entryReply))]
            out += [.bulk("groups"), .array(groups.map { g in
                let pel = g.pending.sorted { $0.id < $1.id }
                let byID = Dictionary(pel.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
                let shownPEL = count == 0 ? pel[...] : pel.prefix(count)
                return .map([
                    .bulk("name"), .bulk(g.name),
                    .bulk("last-delivered-id"), Self.idReply(g.lastDeliveredID),
                    .bulk("entries-read"), g.entriesRead.map { .integer(Int64($0)) } ?? .null,
                    .bulk("lag"), Self.lag(s, g),
                    .bulk("pel-count"), .integer(Int64(pel.count)),
                    .bulk("pending"), .array(shownPEL.map { p in
                        .array([
                            Self.idReply(p.id), .bulk(p.consumer ?? RedisBytes.empty),
                            .integer(p.deliveryTime.milliseconds), .integer(Int64(p.deliveryCount)),
                        ])
                    }),
                    .bulk("consumers"), .array(g.consumers.sorted { $0.name < $1.name }.map { c in
                        let ids = c.pending.sorted()
                        let shown = count == 0 ? ids[...] : ids.prefix(count)
                        return .map([
                            .bulk("name"), .bulk(c.name),
                            .bulk("seen-time"), .integer(c.seenTime.milliseconds),
                            .bulk("pel-count"), .integer(Int64(ids.count)),
                            .bulk("pending"), .array(shown.map { id in
                                let p = byID[id]
                                return .array([
                                    Self.idReply(id), .integer(p?.deliveryTime.milliseconds ?? 0),
                                    .integer(Int64(p?.deliveryCount ?? 0)),
                                ])
                            }),
                        ])
                    }),
                ])
            })]
            return .map(out)
        }
    }

    /// Mirrors `xpendingCommand`.
    func xpending(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        let summary = a.count == 3
        if a.count != 3 && (a.count < 6 || a.count > 9) { return .syntax }
        var start = StreamID.zero
        var end = StreamID(ms: .max, seq: .max)
        var count: Int64 = 0
        var minIdle: Int64 = 0
        var consumer: RedisBytes?
        if a.count >= 6 {
            var i = 3
            if Self.upper(a[3]) == "IDLE" {
                minIdle = try Self.int(a[4])
                if a.count < 8 { return .syntax }
                i += 2
            }
            count = max(0, try Self.int(a[i + 2]))
            (start, end) = try Self.interval(a[i], a[i + 1])
            if i + 3 < a.count { consumer = a[i + 3] }
        }
        let s = try readStream(a[1])
        guard let s, let g = s.groups.first(where: { $0.name == a[2] }) else {
            return .error("NOGROUP No such key '\(a[1].description)' or consumer group '\(a[2].description)'")
        }
        let pel = g.pending.sorted { $0.id < $1.id }
        if summary {
            guard let first = pel.first, let last = pel.last else { return .array([.integer(0), .null, .null, .array(nil)]) }
            var perConsumer: [Reply] = []
            for c in g.consumers.sorted(by: { $0.name < $1.name }) where !c.pending.isEmpty {
                perConsumer.append(.array([.bulk(c.name), .bulk(RedisBytes(String(c.pending.count)))]))
            }
            return .array([.integer(Int64(pel.count)), Self.idReply(first.id), Self.idReply(last.id), .array(perConsumer)])
        }
        var entries = pel
        if let consumer {
            guard let c = g.consumers.first(where: { $0.name == consumer }) else { return .array([Reply]()) }
            let ids = Set(c.pending)
            entries = pel.filter { ids.contains($0.id) }
        }
        let clockNow = now ?? clock()
        var out: [Reply] = []
        for p in entries where p.id >= start && p.id <= end {
            if count == 0 { break }
            let idle = clockNow - p.deliveryTime.milliseconds
            if minIdle != 0 && idle < minIdle { continue }
            count -= 1
            out.append(.array([
                Self.idReply(p.id), .bulk(p.consumer ?? RedisBytes.empty), .integer(max(0, idle)), .integer(Int64(p.deliveryCount)),
            ]))
        }
        return .array(out)
    }
}

// MARK: - Ranges and patterns

/// A score interval as `zslParseRange` reads it: `(` excludes, `-inf`/`+inf` work through `strtod`.
struct ReadScoreRange {
    var min: Double
    var max: Double
    var minExclusive: Bool
    var maxExclusive: Bool

    init?(min a: RedisBytes, max b: RedisBytes) {
        guard let (x, xe) = Self.item(a.bytes), let (y, ye) = Self.item(b.bytes) else { return nil }
        (min, minExclusive, max, maxExclusive) = (x, xe, y, ye)
    }

    /// One end, read as the write commands read it (`zslParseRange`).
    static func item(_ b: [UInt8]) -> (Double, Bool)? { CommandEngine.scoreBound(RedisBytes(b)) }

    func contains(_ s: Double) -> Bool {
        (minExclusive ? s > min : s >= min) && (maxExclusive ? s < max : s <= max)
    }
}

/// A lex interval as `zslParseLexRange` reads it: `-`, `+`, `[x`, `(x`.
struct ReadLexRange {
    enum Bound {
        case negativeInfinity, positiveInfinity
        case inclusive([UInt8]), exclusive([UInt8])
    }
    var min: Bound
    var max: Bound

    init?(min a: RedisBytes, max b: RedisBytes) {
        guard let x = Self.bound(a.bytes), let y = Self.bound(b.bytes) else { return nil }
        min = x
        max = y
    }

    static func bound(_ b: [UInt8]) -> Bound? {
        guard let f = b.first else { return nil }
        switch f {
        case UInt8(ascii: "+") where b.count == 1: return .positiveInfinity
        case UInt8(ascii: "-") where b.count == 1: return .negativeInfinity
        case UInt8(ascii: "("): return .exclusive(Array(b.dropFirst()))
        case UInt8(ascii: "["): return .inclusive(Array(b.dropFirst()))
        default: return nil
        }
    }

    static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        for (x, y) in zip(a, b) where x != y { return x < y ? -1 : 1 }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    func aboveMin(_ m: RedisBytes) -> Bool {
        switch min {
        case .negativeInfinity: true
        case .positiveInfinity: false
        case .inclusive(let v): Self.compare(m.bytes, v) >= 0
        case .exclusive(let v): Self.compare(m.bytes, v) > 0
        }
    }

    func belowMax(_ m: RedisBytes) -> Bool {
        switch max {
        case .negativeInfinity: false
        case .positiveInfinity: true
        case .inclusive(let v): Self.compare(m.bytes, v) <= 0
        case .exclusive(let v): Self.compare(m.bytes, v) < 0
        }
    }
}

/// Glob-style matching as KEYS, SCAN MATCH and the collection scans do it (mirrors `stringmatchlen` in `util.c`).
public enum GlobPattern {
    public static func matches(_ pattern: [UInt8], _ string: [UInt8]) -> Bool {
        var skipLonger = false
        return pattern.withUnsafeBufferPointer { p in
            string.withUnsafeBufferPointer { s in match(p, 0, s, 0, &skipLonger, depth: 0) }
        }
    }

    private static func match(
        _ p: UnsafeBufferPointer<UInt8>, _ pi: Int, _ s: UnsafeBufferPointer<UInt8>, _ si: Int, _ skipLonger: inout Bool,
        depth: Int
    ) -> Bool {
        // Redis 7.0 has no nesting limit; a deep pattern of stars would only be slow, not unbounded.
        var pi = pi
        var si = si
        @inline(__always) func at(_ i: Int) -> UInt8 { i < p.count ? p[i] : 0 }
        while pi < p.count && si < s.count {
            switch p[pi] {
            case UInt8(ascii: "*"):
                while pi + 1 < p.count && p[pi + 1] == UInt8(ascii: "*") { pi += 1 }
                if pi + 1 == p.count { return true }
                while si < s.count {
                    if match(p, pi + 1, s, si, &skipLonger, depth: depth + 1) { return true }
                    if skipLonger { return false }
                    si += 1
                }
                skipLonger = true
                return false
            case UInt8(ascii: "?"):
                si += 1
            case UInt8(ascii: "["):
                pi += 1
                let not = at(pi) == UInt8(ascii: "^")
                if not { pi += 1 }
                var matched = false
                while true {
                    if at(pi) == UInt8(ascii: "\\") && p.count - pi >= 2 {
                        pi += 1
                        if p[pi] == s[si] { matched = true }
                    } else if at(pi) == UInt8(ascii: "]") {
                        break
                    } else if pi >= p.count {
                        pi -= 1
                        break
                    } else if p.count - pi >= 3 && p[pi + 1] == UInt8(ascii: "-") {
                        // C's `char` is signed here: bytes from 0x80 sort below ASCII.
                        var lo = Int(Int8(bitPattern: p[pi]))
                        var hi = Int(Int8(bitPattern: p[pi + 2]))
                        let c = Int(Int8(bitPattern: s[si]))
                        if lo > hi { swap(&lo, &hi) }
                        pi += 2
                        if c >= lo && c <= hi { matched = true }
                    } else if p[pi] == s[si] {
                        matched = true
                    }
                    pi += 1
                }
                if not { matched.toggle() }
                if !matched { return false }
                si += 1
            case UInt8(ascii: "\\"):
                if p.count - pi >= 2 { pi += 1 }
                if p[pi] != s[si] { return false }
                si += 1
            default:
                if p[pi] != s[si] { return false }
                si += 1
            }
            pi += 1
            if si == s.count {
                while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
                break
            }
        }
        return pi >= p.count && si == s.count
    }
}

extension RedisNumbers {
    /// `d2string` of Redis 7.0: integers in ±2^52 as integers, `-0`, `inf`, else `%.17g` (scores in ZSCAN).
    public static func formatScore70(_ d: Double) -> [UInt8] {
        if d.isInfinite { return Array((d > 0 ? "inf" : "-inf").utf8) }
        if d == 0 { return Array((d.sign == .minus ? "-0" : "0").utf8) }
        if d > -4_503_599_627_370_495 && d < 4_503_599_627_370_496 && d == d.rounded(.towardZero) {
            return Array(String(Int64(d)).utf8)
        }
        return formatReply(d)
    }
}
