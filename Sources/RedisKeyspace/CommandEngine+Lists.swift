#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import RedisFormats

// List commands that write: LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP/RPOP (count), LINSERT, LSET, LREM, LTRIM, LMOVE,
// RPOPLPUSH, LMPOP, and the blocking forms (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP), which run without
// blocking: what a server does for a client that may not block (inside MULTI, or a script) — pop now, or reply
// with a null as if the timeout had passed. Mirrors Redis 7.0's `t_list.c`.

extension CommandEngine {
    static let listCommands: [Spec] = [
        Spec("lpush", arity: -3) { e, a throws(CommandFailure) in try e.push(a, atHead: true, onlyIfExists: false) },
        Spec("rpush", arity: -3) { e, a throws(CommandFailure) in try e.push(a, atHead: false, onlyIfExists: false) },
        Spec("lpushx", arity: -3) { e, a throws(CommandFailure) in try e.push(a, atHead: true, onlyIfExists: true) },
        Spec("rpushx", arity: -3) { e, a throws(CommandFailure) in try e.push(a, atHead: false, onlyIfExists: true) },
        Spec("lpop", arity: -2) { e, a throws(CommandFailure) in try e.pop(a, atHead: true) },
        Spec("rpop", arity: -2) { e, a throws(CommandFailure) in try e.pop(a, atHead: false) },
        Spec("linsert", arity: 5) { e, a throws(CommandFailure) in try e.linsert(a) },
        Spec("lset", arity: 4) { e, a throws(CommandFailure) in try e.lset(a) },
        Spec("lrem", arity: 4) { e, a throws(CommandFailure) in try e.lrem(a) },
        Spec("ltrim", arity: 4) { e, a throws(CommandFailure) in try e.ltrim(a) },
        Spec("lmove", arity: 5) { e, a throws(CommandFailure) in
            let from = try CommandEngine.listEnd(a[3])
            let to = try CommandEngine.listEnd(a[4])
            return try e.lmove(a[1], a[2], fromHead: from, toHead: to)
        },
        Spec("rpoplpush", arity: 3) { e, a throws(CommandFailure) in
            try e.lmove(a[1], a[2], fromHead: false, toHead: true)
        },
        Spec("blmove", arity: 6) { e, a throws(CommandFailure) in
            let from = try CommandEngine.listEnd(a[3])
            let to = try CommandEngine.listEnd(a[4])
            _ = try e.blockingTimeout(a[5])
            return try e.lmove(a[1], a[2], fromHead: from, toHead: to)
        },
        Spec("brpoplpush", arity: 4) { e, a throws(CommandFailure) in
            _ = try e.blockingTimeout(a[3])
            return try e.lmove(a[1], a[2], fromHead: false, toHead: true)
        },
        Spec("lmpop", arity: -4) { e, a throws(CommandFailure) in try e.lmpop(a, numkeysIndex: 1) },
        Spec("blmpop", arity: -5) { e, a throws(CommandFailure) in try e.lmpop(a, numkeysIndex: 2) },
        Spec("blpop", arity: -3) { e, a throws(CommandFailure) in try e.blockingPop(a, atHead: true) },
        Spec("brpop", arity: -3) { e, a throws(CommandFailure) in try e.blockingPop(a, atHead: false) },
    ]

    // MARK: Argument parsing shared with the set and sorted set commands

    /// LEFT or RIGHT (`getListPositionFromObjectOrReply`); true for LEFT (the head).
    static func listEnd(_ b: RedisBytes) throws(CommandFailure) -> Bool {
        switch upper(b) {
        case "LEFT": return true
        case "RIGHT": return false
        default: throw CommandFailure(.syntax)
        }
    }

    /// `getRangeLongFromObjectOrReply`: an integer in `range`, else `message` (for both a bad number and one out
    /// of range).
    static func int(_ b: RedisBytes, in range: ClosedRange<Int64>, message: String) throws(CommandFailure) -> Int64 {
        guard let v = RedisInteger.parse(b.bytes), range.contains(v) else {
            throw CommandFailure(.error("ERR " + message))
        }
        return v
    }

    /// `getPositiveLongFromObjectOrReply` with no message of its own: a count of 0 or more.
    static func positiveCount(_ b: RedisBytes) throws(CommandFailure) -> Int64 {
        try int(b, in: 0...Int64.max, message: "value is out of range, must be positive")
    }

    /// A blocking command's timeout in seconds, checked as Redis 7.0's `getTimeoutFromObjectOrReply` checks it
    /// (`UNIT_SECONDS`): read with `strtold`, times 1000, truncated to a `long long` — where a value that does not
    /// fit (`inf`, `1e400`, 9.3e15 s) becomes `LLONG_MIN` on x86-64 and so "timeout is negative". Returns the
    /// deadline in Unix ms (0: none); the engine never blocks, so the value only decides errors.
    func blockingTimeout(_ b: RedisBytes) throws(CommandFailure) -> Int64 {
        guard let seconds = RedisNumbers.parseLongDouble(b.bytes) else {
            throw CommandFailure(.error("ERR timeout is not a float or out of range"))
        }
        let ms = seconds * 1000
        let limit = RedisNumbers.LongDouble(sign: .plus, exponent: 63, significand: 1)
        let t: Int64 = ms < limit && ms >= -limit ? Int64(ms) : Int64.min
        if t < 0 { throw CommandFailure(.error("ERR timeout is negative")) }
        return t == 0 ? 0 : t &+ referenceTime
    }

    // MARK: Implementations

    /// LPUSH / RPUSH / LPUSHX / RPUSHX key element [element ...].
    func push(_ a: [RedisBytes], atHead: Bool, onlyIfExists: Bool) throws(CommandFailure) -> Reply {
        guard let l = try list(a[1], create: !onlyIfExists) else { return .integer(0) }
        for x in a[2...] {
            if atHead { l.pushFront(x) } else { l.pushBack(x) }
        }
        return .integer(Int64(l.count))
    }

    /// Pops up to `count` elements from one end (the tail first for the tail), deleting an emptied key.
    func popElements(_ key: RedisBytes, _ l: ListValue, count: Int64, atHead: Bool) -> [RedisBytes] {
        let n = Int(min(count, Int64(l.count)))
        var out: [RedisBytes] = []
        out.reserveCapacity(n)
        for _ in 0..<n {
            if let x = atHead ? l.popFront() : l.popBack() { out.append(x) }
        }
        removeIfEmpty(key)
        return out
    }

    /// LPOP / RPOP key [count].
    func pop(_ a: [RedisBytes], atHead: Bool) throws(CommandFailure) -> Reply {
        if a.count > 3 { return .wrongArity(CommandEngine.lowercasedName(a[0])) }
        var count: Int64?
        if a.count == 3 { count = try CommandEngine.positiveCount(a[2]) }
        guard let l = try list(a[1]) else { return count == nil ? .null : .array(nil) }
        guard let count else {
            return .bulk(popElements(a[1], l, count: 1, atHead: atHead).first)
        }
        if count == 0 { return .array([]) }
        return .array(popElements(a[1], l, count: count, atHead: atHead))
    }

    /// LINSERT key BEFORE|AFTER pivot element.
    func linsert(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        let after: Bool
        switch CommandEngine.upper(a[2]) {
        case "AFTER": after = true
        case "BEFORE": after = false
        default: return .syntax
        }
        guard let l = try list(a[1]) else { return .integer(0) }
        var found: Int?
        var i = 0
        let pivot = a[3].bytes
        l.forEach { x in
            if x.count == pivot.count && x.elementsEqual(pivot) {
                found = i
                return false
            }
            i += 1
            return true
        }
        guard let index = found else { return .integer(-1) }
        l.insert(a[4], at: after ? index + 1 : index)
        return .integer(Int64(l.count))
    }

    /// LSET key index element.
    func lset(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        guard let l = try list(a[1]) else { return .noSuchKey }
        let index = try CommandEngine.int(a[2])
        let n = Int64(l.count)
        let i = index < 0 ? n + index : index
        guard i >= 0 && i < n else { return .error("ERR index out of range") }
        l[Int(i)] = a[3]
        return .ok
    }

    /// LREM key count element.
    func lrem(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        let count = try CommandEngine.int(a[2])
        guard let l = try list(a[1]) else { return .integer(0) }
        let limit = count == 0 ? Int.max : Int(clamping: count.magnitude)
        let removed = l.removeAll(equalTo: a[3], limit: limit, fromTail: count < 0)
        removeIfEmpty(a[1])
        return .integer(Int64(removed))
    }

    /// LTRIM key start stop.
    func ltrim(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        var start = try CommandEngine.int(a[2])
        var end = try CommandEngine.int(a[3])
        guard let l = try list(a[1]) else { return .ok }
        let n = Int64(l.count)
        if start < 0 { start = n + start }
        if end < 0 { end = n + end }
        if start < 0 { start = 0 }
        if start > end || start >= n {
            l.keep(0..<0)
        } else {
            if end >= n { end = n - 1 }
            l.keep(Int(start)..<Int(end + 1))
        }
        removeIfEmpty(a[1])
        return .ok
    }

    /// LMOVE / RPOPLPUSH and the non-blocking run of BLMOVE / BRPOPLPUSH.
    func lmove(_ source: RedisBytes, _ destination: RedisBytes, fromHead: Bool, toHead: Bool) throws(CommandFailure)
        -> Reply
    {
        guard let src = try list(source) else { return .null }
        if let d = value(destination) {
            guard case .list = d else { return .wrongType }
        }
        guard let x = fromHead ? src.popFront() : src.popBack() else { return .null }
        let dst = source == destination ? src : try list(destination, create: true)!
        if toHead { dst.pushFront(x) } else { dst.pushBack(x) }
        removeIfEmpty(source)
        return .bulk(x)
    }

    /// The `[COUNT count]` tail of LMPOP/ZMPOP (and their blocking forms) from `start`: 1 when absent, nil for
    /// anything else after it (a syntax error).
    static func mpopCount(_ a: [RedisBytes], from start: Int) throws(CommandFailure) -> Int64? {
        var count: Int64 = -1
        var j = start
        while j < a.count {
            guard count == -1 && CommandEngine.upper(a[j]) == "COUNT" && j + 1 < a.count else { return nil }
            j += 1
            count = try CommandEngine.int(a[j], in: 1...Int64.max, message: "count should be greater than 0")
            j += 1
        }
        return count == -1 ? 1 : count
    }

    /// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count], and BLMPOP timeout numkeys … (never blocking).
    func lmpop(_ a: [RedisBytes], numkeysIndex: Int) throws(CommandFailure) -> Reply {
        let numkeys = try CommandEngine.int(
            a[numkeysIndex], in: 1...Int64.max, message: "numkeys should be greater than 0")
        let (whereIndex, overflow) = Int64(numkeysIndex + 1).addingReportingOverflow(numkeys)
        guard !overflow, whereIndex < Int64(a.count) else { return .syntax }
        let atHead = try CommandEngine.listEnd(a[Int(whereIndex)])
        guard let count = try CommandEngine.mpopCount(a, from: Int(whereIndex) + 1) else { return .syntax }
        if numkeysIndex == 2 { _ = try blockingTimeout(a[1]) }
        for key in a[(numkeysIndex + 1)..<Int(whereIndex)] {
            guard let l = try list(key), !l.isEmpty else { continue }
            let items = popElements(key, l, count: count, atHead: atHead)
            return .array([.bulk(key), .array(items)])
        }
        return .array(nil)
    }

    /// BLPOP / BRPOP key [key ...] timeout, never blocking: the first non-empty list pops, else a null array.
    func blockingPop(_ a: [RedisBytes], atHead: Bool) throws(CommandFailure) -> Reply {
        _ = try blockingTimeout(a[a.count - 1])
        for key in a[1..<(a.count - 1)] {
            guard let l = try list(key), !l.isEmpty else { continue }
            let x = popElements(key, l, count: 1, atHead: atHead)
            return .array([.bulk(key), .bulk(x.first)])
        }
        return .array(nil)
    }
}
