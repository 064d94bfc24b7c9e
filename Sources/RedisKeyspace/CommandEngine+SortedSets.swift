#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import RedisFormats

// Sorted set commands that write: ZADD (NX|XX, GT|LT, CH, INCR), ZINCRBY, ZREM, ZREMRANGEBYRANK/BYSCORE/BYLEX,
// ZPOPMIN/ZPOPMAX, ZMPOP, ZRANGESTORE, ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE, and the blocking pops (BZPOPMIN,
// BZPOPMAX, BZMPOP), which run without blocking as a server runs them for a client that may not block.
// Mirrors Redis 7.0's `t_zset.c`; scores reply as `%.17g` (`addReplyDouble`).

extension CommandEngine {
    static let sortedSetCommands: [Spec] = [
        Spec("zadd", arity: -4) { e, a throws(CommandFailure) in try e.zadd(a, incr: false) },
        Spec("zincrby", arity: 4) { e, a throws(CommandFailure) in try e.zadd(a, incr: true) },
        Spec("zrem", arity: -3) { e, a throws(CommandFailure) in
            guard let z = try e.sortedSet(a[1]) else { return .integer(0) }
            var deleted: Int64 = 0
            for m in a[2...] {
                if z.remove(m) { deleted += 1 }
                if z.isEmpty { break }
            }
            e.removeIfEmpty(a[1])
            return .integer(deleted)
        },
        Spec("zremrangebyrank", arity: 4) { e, a throws(CommandFailure) in try e.zremrange(a, by: .rank) },
        Spec("zremrangebyscore", arity: 4) { e, a throws(CommandFailure) in try e.zremrange(a, by: .score) },
        Spec("zremrangebylex", arity: 4) { e, a throws(CommandFailure) in try e.zremrange(a, by: .lex) },
        Spec("zpopmin", arity: -2) { e, a throws(CommandFailure) in try e.zpop(a, max: false) },
        Spec("zpopmax", arity: -2) { e, a throws(CommandFailure) in try e.zpop(a, max: true) },
        Spec("bzpopmin", arity: -3) { e, a throws(CommandFailure) in try e.bzpop(a, max: false) },
        Spec("bzpopmax", arity: -3) { e, a throws(CommandFailure) in try e.bzpop(a, max: true) },
        Spec("zmpop", arity: -4) { e, a throws(CommandFailure) in try e.zmpop(a, numkeysIndex: 1) },
        Spec("bzmpop", arity: -5) { e, a throws(CommandFailure) in try e.zmpop(a, numkeysIndex: 2) },
        Spec("zrangestore", arity: -5) { e, a throws(CommandFailure) in try e.zrangestore(a) },
        Spec("zunionstore", arity: -4) { e, a throws(CommandFailure) in try e.zsetOperationStore(a, .union) },
        Spec("zinterstore", arity: -4) { e, a throws(CommandFailure) in try e.zsetOperationStore(a, .inter) },
        Spec("zdiffstore", arity: -4) { e, a throws(CommandFailure) in try e.zsetOperationStore(a, .diff) },
    ]

    /// A score as a reply (`addReplyDouble`).
    static func scoreReply(_ d: Double) -> Reply { .bulk(RedisBytes(RedisNumbers.formatReply(d))) }

    // MARK: ZADD / ZINCRBY

    /// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...], and ZINCRBY key increment member
    /// (`zaddGenericCommand`: both parse the same options).
    func zadd(_ a: [RedisBytes], incr incrCommand: Bool) throws(CommandFailure) -> Reply {
        var nx = false
        var xx = false
        var gt = false
        var lt = false
        var ch = false
        var incr = incrCommand
        var scoreIndex = 2
        options: while scoreIndex < a.count {
            switch CommandEngine.upper(a[scoreIndex]) {
            case "NX": nx = true
            case "XX": xx = true
            case "CH": ch = true
            case "INCR": incr = true
            case "GT": gt = true
            case "LT": lt = true
            default: break options
            }
            scoreIndex += 1
        }
        let elements = a.count - scoreIndex
        if elements % 2 != 0 || elements == 0 { return .syntax }
        if nx && xx { return .error("ERR XX and NX options at the same time are not compatible") }
        if (gt && nx) || (lt && nx) || (gt && lt) {
            return .error("ERR GT, LT, and/or NX options at the same time are not compatible")
        }
        if incr && elements > 2 { return .error("ERR INCR option supports a single increment-element pair") }
        var scores: [Double] = []
        scores.reserveCapacity(elements / 2)
        for j in stride(from: scoreIndex, to: a.count, by: 2) { scores.append(try CommandEngine.double(a[j])) }

        let z: SortedSetValue
        if let existing = try sortedSet(a[1]) {
            z = existing
        } else {
            if xx { return incr ? .null : .integer(0) }
            z = try sortedSet(a[1], create: true)!
        }
        var added: Int64 = 0
        var updated: Int64 = 0
        var processed = 0
        var result = 0.0
        for (j, score) in scores.enumerated() {
            let member = a[scoreIndex + 1 + 2 * j]
            if let current = z.score(of: member) {
                if nx { continue }
                var new = score
                if incr {
                    new += current
                    if new.isNaN { return .error("ERR resulting score is not a number (NaN)") }
                }
                if (lt && new >= current) || (gt && new <= current) { continue }
                processed += 1
                result = new
                if new != current {
                    z.set(member, new)
                    updated += 1
                }
            } else if !xx {
                z.set(member, score)
                added += 1
                processed += 1
                result = score
            }
        }
        if incr { return processed > 0 ? (repliesUsed ? CommandEngine.scoreReply(result) : .ok) : .null }
        return .integer(ch ? added + updated : added)
    }

    // MARK: Ranges

    /// A score interval (`zrangespec`).
    struct ScoreRange {
        var min: Double, max: Double
        var minExclusive: Bool, maxExclusive: Bool

        func atLeastMin(_ v: Double) -> Bool { minExclusive ? v > min : v >= min }
        func atMostMax(_ v: Double) -> Bool { maxExclusive ? v < max : v <= max }
        var isEmpty: Bool { min > max || (min == max && (minExclusive || maxExclusive)) }
    }

    /// One end of a score range (`zslParseRange`): `(` for exclusive, then what `strtod` reads up to the end
    /// (leading spaces, an empty string as 0, `inf` all pass, as in Redis), never NaN.
    static func scoreBound(_ b: RedisBytes) -> (Double, Bool)? {
        var bytes = b.bytes
        var exclusive = false
        if bytes.first == UInt8(ascii: "(") {
            exclusive = true
            bytes.removeFirst()
        }
        bytes.append(0)
        var ok = false
        let v: Double = bytes.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { c in
                var end: UnsafeMutablePointer<CChar>?
                let r = strtod(c.baseAddress!, &end)
                ok = end!.pointee == 0
                return r
            }
        }
        guard ok, !v.isNaN else { return nil }
        return (v, exclusive)
    }

    static func scoreRange(_ min: RedisBytes, _ max: RedisBytes) throws(CommandFailure) -> ScoreRange {
        guard let lo = scoreBound(min), let hi = scoreBound(max) else {
            throw CommandFailure(.error("ERR min or max is not a float"))
        }
        return ScoreRange(min: lo.0, max: hi.0, minExclusive: lo.1, maxExclusive: hi.1)
    }

    /// One end of a lex range: `-`, `+`, or a member after `[` (inclusive) or `(` (exclusive).
    enum LexBound {
        case minimum, maximum
        case member(RedisBytes)
    }

    /// A lex interval (`zlexrangespec`); `-` and `+` count as exclusive, as in Redis.
    struct LexRange {
        var min: LexBound, max: LexBound
        var minExclusive: Bool, maxExclusive: Bool

        /// `sdscmplex` of a member against a bound.
        static func compare(_ v: RedisBytes, _ b: LexBound) -> Int {
            switch b {
            case .minimum: return 1
            case .maximum: return -1
            case .member(let m): return v < m ? -1 : (v == m ? 0 : 1)
            }
        }

        func atLeastMin(_ v: RedisBytes) -> Bool {
            let c = Self.compare(v, min)
            return minExclusive ? c > 0 : c >= 0
        }

        func atMostMax(_ v: RedisBytes) -> Bool {
            let c = Self.compare(v, max)
            return maxExclusive ? c < 0 : c <= 0
        }

        var isEmpty: Bool {
            let c: Int
            switch (min, max) {
            case (.minimum, .minimum), (.maximum, .maximum): c = 0
            case (.minimum, _), (_, .maximum): c = -1
            case (.maximum, _), (_, .minimum): c = 1
            case (.member(let a), .member(let b)): c = a < b ? -1 : (a == b ? 0 : 1)
            }
            return c > 0 || (c == 0 && (minExclusive || maxExclusive))
        }
    }

    static func lexBound(_ b: RedisBytes) -> (LexBound, Bool)? {
        guard let first = b.bytes.first else { return nil }
        switch first {
        case UInt8(ascii: "+"): return b.count == 1 ? (.maximum, true) : nil
        case UInt8(ascii: "-"): return b.count == 1 ? (.minimum, true) : nil
        case UInt8(ascii: "("): return (.member(RedisBytes(b.bytes.dropFirst())), true)
        case UInt8(ascii: "["): return (.member(RedisBytes(b.bytes.dropFirst())), false)
        default: return nil
        }
    }

    static func lexRange(_ min: RedisBytes, _ max: RedisBytes) throws(CommandFailure) -> LexRange {
        guard let lo = lexBound(min), let hi = lexBound(max) else {
            throw CommandFailure(.error("ERR min or max not valid string range item"))
        }
        return LexRange(min: lo.0, max: hi.0, minExclusive: lo.1, maxExclusive: hi.1)
    }

    /// The first rank in a score range, as `zzlFirstInRange` finds it.
    static func firstInRange(_ all: [SortedSetEntry], _ r: ScoreRange) -> Int? {
        guard !r.isEmpty, let last = all.last, r.atLeastMin(last.score), r.atMostMax(all[0].score) else { return nil }
        var lo = 0
        var hi = all.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if r.atLeastMin(all[mid].score) { hi = mid } else { lo = mid + 1 }
        }
        return lo < all.count && r.atMostMax(all[lo].score) ? lo : nil
    }

    /// The last rank in a score range (`zzlLastInRange`).
    static func lastInRange(_ all: [SortedSetEntry], _ r: ScoreRange) -> Int? {
        guard !r.isEmpty, let last = all.last, r.atLeastMin(last.score), r.atMostMax(all[0].score) else { return nil }
        var lo = 0
        var hi = all.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if r.atMostMax(all[mid].score) { lo = mid + 1 } else { hi = mid }
        }
        let i = lo - 1
        return i >= 0 && r.atLeastMin(all[i].score) ? i : nil
    }

    /// The first rank in a lex range, scanning in rank order as `zzlFirstInLexRange` does (members are expected
    /// to share one score; with mixed scores this is what a listpack-encoded set answers).
    static func firstInLexRange(_ all: [SortedSetEntry], _ r: LexRange) -> Int? {
        guard !r.isEmpty, let last = all.last, r.atLeastMin(last.member), r.atMostMax(all[0].member) else { return nil }
        guard let i = all.firstIndex(where: { r.atLeastMin($0.member) }) else { return nil }
        return r.atMostMax(all[i].member) ? i : nil
    }

    /// The last rank in a lex range (`zzlLastInLexRange`).
    static func lastInLexRange(_ all: [SortedSetEntry], _ r: LexRange) -> Int? {
        guard !r.isEmpty, let last = all.last, r.atLeastMin(last.member), r.atMostMax(all[0].member) else { return nil }
        guard let i = all.lastIndex(where: { r.atMostMax($0.member) }) else { return nil }
        return r.atLeastMin(all[i].member) ? i : nil
    }

    enum RangeKind { case rank, score, lex }

    /// ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX key min max.
    func zremrange(_ a: [RedisBytes], by kind: RangeKind) throws(CommandFailure) -> Reply {
        var start: Int64 = 0
        var end: Int64 = 0
        var scores: ScoreRange?
        var lex: LexRange?
        switch kind {
        case .rank:
            start = try CommandEngine.int(a[2])
            end = try CommandEngine.int(a[3])
        case .score: scores = try CommandEngine.scoreRange(a[2], a[3])
        case .lex: lex = try CommandEngine.lexRange(a[2], a[3])
        }
        guard let z = try sortedSet(a[1]) else { return .integer(0) }
        let ranks: Range<Int>
        switch kind {
        case .rank:
            let n = Int64(z.count)
            if start < 0 { start += n }
            if end < 0 { end += n }
            if start < 0 { start = 0 }
            if start > end || start >= n { return .integer(0) }
            if end >= n { end = n - 1 }
            ranks = Int(start)..<Int(end + 1)
        case .score:
            let all = z.sortedEntries
            guard let lo = CommandEngine.firstInRange(all, scores!) else { return .integer(0) }
            var hi = lo
            while hi < all.count && scores!.atMostMax(all[hi].score) { hi += 1 }
            ranks = lo..<hi
        case .lex:
            let all = z.sortedEntries
            guard let lo = CommandEngine.firstInLexRange(all, lex!) else { return .integer(0) }
            var hi = lo
            while hi < all.count && lex!.atMostMax(all[hi].member) { hi += 1 }
            ranks = lo..<hi
        }
        z.removeRanks(ranks)
        removeIfEmpty(a[1])
        return .integer(Int64(ranks.count))
    }

    // MARK: Pops

    /// `genericZpopCommand`: pops from the first of `keys` that exists (WRONGTYPE if that one is not a zset).
    /// `count` -1 pops one. Replies flat (`member, score, …`) or nested (`[member, score]` pairs), with the key
    /// in front when `emitKey`.
    func zpopGeneric(
        _ keys: ArraySlice<RedisBytes>, max: Bool, count: Int64, emitKey: Bool, nested: Bool, nilWhenEmpty: Bool
    ) throws(CommandFailure) -> Reply {
        var found: (key: RedisBytes, z: SortedSetValue)?
        for k in keys {
            guard let v = value(k) else { continue }
            guard case .sortedSet(let z) = v else { return .wrongType }
            found = (k, z)
            break
        }
        guard let (key, z) = found else { return nilWhenEmpty ? .array(nil) : .array([]) }
        if count == 0 { return .array([]) }
        let n = Int(Swift.min(count == -1 ? 1 : count, Int64(z.count)))
        let popped = max ? Array(z.removeRanks((z.count - n)..<z.count).reversed()) : z.removeRanks(0..<n)
        removeIfEmpty(key)
        var items: [Reply] = []
        items.reserveCapacity(nested ? n : 2 * n)
        for e in popped {
            if nested {
                items.append(.array([.bulk(e.member), CommandEngine.scoreReply(e.score)]))
            } else {
                items.append(.bulk(e.member))
                items.append(CommandEngine.scoreReply(e.score))
            }
        }
        guard emitKey else { return .array(items) }
        return nested ? .array([.bulk(key), .array(items)]) : .array([.bulk(key)] + items)
    }

    /// ZPOPMIN / ZPOPMAX key [count].
    func zpop(_ a: [RedisBytes], max: Bool) throws(CommandFailure) -> Reply {
        if a.count > 3 { return .syntax }
        let count = a.count == 3 ? try CommandEngine.positiveCount(a[2]) : -1
        return try zpopGeneric(a[1...1], max: max, count: count, emitKey: false, nested: false, nilWhenEmpty: false)
    }

    /// BZPOPMIN / BZPOPMAX key [key ...] timeout, never blocking.
    func bzpop(_ a: [RedisBytes], max: Bool) throws(CommandFailure) -> Reply {
        _ = try blockingTimeout(a[a.count - 1])
        for i in 1..<(a.count - 1) {
            guard let z = try sortedSet(a[i]), !z.isEmpty else { continue }
            return try zpopGeneric(a[i...i], max: max, count: -1, emitKey: true, nested: false, nilWhenEmpty: false)
        }
        return .array(nil)
    }

    /// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count], and BZMPOP timeout numkeys … (never blocking).
    func zmpop(_ a: [RedisBytes], numkeysIndex: Int) throws(CommandFailure) -> Reply {
        let numkeys = try CommandEngine.int(
            a[numkeysIndex], in: 1...Int64.max, message: "numkeys should be greater than 0")
        let (whereIndex, overflow) = Int64(numkeysIndex + 1).addingReportingOverflow(numkeys)
        guard !overflow, whereIndex < Int64(a.count) else { return .syntax }
        let max: Bool
        switch CommandEngine.upper(a[Int(whereIndex)]) {
        case "MIN": max = false
        case "MAX": max = true
        default: return .syntax
        }
        guard let count = try CommandEngine.mpopCount(a, from: Int(whereIndex) + 1) else { return .syntax }
        let keys = a[(numkeysIndex + 1)..<Int(whereIndex)]
        guard numkeysIndex == 2 else {
            return try zpopGeneric(keys, max: max, count: count, emitKey: true, nested: true, nilWhenEmpty: true)
        }
        _ = try blockingTimeout(a[1])
        for i in keys.indices {
            guard let z = try sortedSet(a[i]), !z.isEmpty else { continue }
            return try zpopGeneric(a[i...i], max: max, count: count, emitKey: true, nested: true, nilWhenEmpty: true)
        }
        return .array(nil)
    }

    // MARK: ZRANGESTORE

    /// Stores `entries` (distinct members) at `key` replacing any value and TTL, or deletes `key` when empty.
    /// `asTable` as in ``SortedSetValue/init(_:asTable:)``: it decides only how a -0 score comes out.
    func storeSortedSetResult(_ key: RedisBytes, _ entries: [SortedSetEntry], asTable: Bool) -> Reply {
        if entries.isEmpty {
            delete(key)
            return .integer(0)
        }
        let z = SortedSetValue(entries, asTable: asTable)
        store(key, .sortedSet(z))
        return .integer(Int64(z.count))
    }

    /// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] (`zrangeGenericCommand`).
    func zrangestore(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        var minIndex = 3
        var maxIndex = 4
        var offset: Int64 = 0
        var limit: Int64 = -1
        var reverse: Bool?
        var kind: RangeKind?
        var j = 5
        while j < a.count {
            let left = a.count - j - 1
            let opt = CommandEngine.upper(a[j])
            if opt == "LIMIT" && left >= 2 {
                offset = try CommandEngine.int(a[j + 1])
                limit = try CommandEngine.int(a[j + 2])
                j += 2
            } else if reverse == nil && opt == "REV" {
                reverse = true
            } else if kind == nil && opt == "BYLEX" {
                kind = .lex
            } else if kind == nil && opt == "BYSCORE" {
                kind = .score
            } else {
                return .syntax
            }
            j += 1
        }
        let rev = reverse ?? false
        let type = kind ?? .rank
        if limit != -1 && type == .rank {
            return .error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
        }
        if rev && type != .rank { swap(&minIndex, &maxIndex) }
        var start: Int64 = 0
        var end: Int64 = 0
        var scores: ScoreRange?
        var lex: LexRange?
        switch type {
        case .rank:
            start = try CommandEngine.int(a[minIndex])
            end = try CommandEngine.int(a[maxIndex])
        case .score: scores = try CommandEngine.scoreRange(a[minIndex], a[maxIndex])
        case .lex: lex = try CommandEngine.lexRange(a[minIndex], a[maxIndex])
        }
        guard let z = try sortedSet(a[2]) else { return storeSortedSetResult(a[1], [], asTable: false) }
        let all = z.sortedEntries
        let n = Int64(all.count)
        var picked: [SortedSetEntry] = []
        switch type {
        case .rank:
            if start < 0 { start += n }
            if end < 0 { end += n }
            if start < 0 { start = 0 }
            if start <= end && start < n {
                if end >= n { end = n - 1 }
                let lo = Int(start)
                let hi = Int(end)
                picked = rev ? Array(all[(all.count - 1 - hi)...(all.count - 1 - lo)].reversed()) : Array(all[lo...hi])
            }
        case .score, .lex:
            if offset > 0 && offset >= n { break }
            let first: Int?
            if let r = scores {
                first = rev ? CommandEngine.lastInRange(all, r) : CommandEngine.firstInRange(all, r)
            } else {
                first = rev ? CommandEngine.lastInLexRange(all, lex!) : CommandEngine.firstInLexRange(all, lex!)
            }
            guard var i = first, offset >= 0 else { break }
            let step = rev ? -1 : 1
            i += Int(offset) * step
            var left = limit
            while left != 0 && i >= 0 && i < all.count {
                let e = all[i]
                let inside: Bool
                if let r = scores {
                    inside = rev ? r.atLeastMin(e.score) : r.atMostMax(e.score)
                } else {
                    inside = rev ? lex!.atLeastMin(e.member) : lex!.atMostMax(e.member)
                }
                if !inside { break }
                picked.append(e)
                i += step
                if left > 0 { left -= 1 }
            }
        }
        // Like `zrangeResultBeginStore`: a rank range of more than 128 starts as a skiplist; anything else starts
        // packed and converts on the way, in emission order.
        return storeSortedSetResult(
            a[1], picked, asTable: type == .rank && picked.count > SortedSetValue.maxPackedEntries)
    }

    // MARK: ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE

    enum SetOperation { case union, inter, diff }

    /// An input of a zset operation: a sorted set, a set (every member scores 1), or a missing key (empty).
    enum OperationSource {
        case missing
        case set(SetValue)
        case zset(SortedSetValue)

        var count: Int {
            switch self {
            case .missing: 0
            case .set(let s): s.count
            case .zset(let z): z.count
            }
        }

        func score(of m: RedisBytes) -> Double? {
            switch self {
            case .missing: nil
            case .set(let s): s.contains(m) ? 1 : nil
            case .zset(let z): z.score(of: m)
            }
        }

        func forEach(_ body: (RedisBytes, Double) -> Void) {
            switch self {
            case .missing: break
            case .set(let s):
                s.forEach { m in
                    body(m, 1)
                    return true
                }
            case .zset(let z): z.forEachEntry(body)
            }
        }
    }

    enum Aggregate { case sum, min, max }

    /// `zunionInterAggregate`.
    @inline(__always) static func aggregate(_ target: inout Double, _ v: Double, _ how: Aggregate) {
        switch how {
        case .sum:
            target += v
            if target.isNaN { target = 0 }
        case .min: target = v < target ? v : target
        case .max: target = v > target ? v : target
        }
    }

    /// ZUNIONSTORE / ZINTERSTORE destination numkeys key [key ...] [WEIGHTS w …] [AGGREGATE SUM|MIN|MAX], and
    /// ZDIFFSTORE destination numkeys key [key ...] (`zunionInterDiffGenericCommand`).
    func zsetOperationStore(_ a: [RedisBytes], _ op: SetOperation) throws(CommandFailure) -> Reply {
        let setnum = try CommandEngine.int(a[2])
        if setnum < 1 {
            return .error("ERR at least 1 input key is needed for '\(CommandEngine.lowercasedName(a[0]))' command")
        }
        if setnum > Int64(a.count - 3) { return .syntax }
        let n = Int(setnum)
        var sources: [OperationSource] = []
        sources.reserveCapacity(n)
        for k in a[3..<(3 + n)] {
            switch value(k) {
            case nil: sources.append(.missing)
            case .set(let s)?: sources.append(.set(s))
            case .sortedSet(let z)?: sources.append(.zset(z))
            default: return .wrongType
            }
        }
        var weights = [Double](repeating: 1, count: n)
        var how = Aggregate.sum
        var j = 3 + n
        while j < a.count {
            let remaining = a.count - j
            let opt = CommandEngine.upper(a[j])
            if op != .diff && remaining >= n + 1 && opt == "WEIGHTS" {
                j += 1
                for i in 0..<n {
                    weights[i] = try CommandEngine.double(a[j], error: .error("ERR weight value is not a float"))
                    j += 1
                }
            } else if op != .diff && remaining >= 2 && opt == "AGGREGATE" {
                switch CommandEngine.upper(a[j + 1]) {
                case "SUM": how = .sum
                case "MIN": how = .min
                case "MAX": how = .max
                default: return .syntax
                }
                j += 2
            } else {
                return .syntax
            }
        }

        var result: [SortedSetEntry] = []
        switch op {
        case .inter, .union:
            // Smallest first, ties in argument order (glibc's qsort is a stable merge sort at these sizes);
            // the order decides how floating-point sums round.
            let order = (0..<n).sorted { (sources[$0].count, $0) < (sources[$1].count, $1) }
            if op == .inter {
                let first = order[0]
                guard sources[first].count > 0 else { break }
                sources[first].forEach { m, s in
                    var score = weights[first] * s
                    if score.isNaN { score = 0 }
                    for i in order.dropFirst() {
                        guard let v = sources[i].score(of: m) else { return }
                        CommandEngine.aggregate(&score, v * weights[i], how)
                    }
                    result.append(SortedSetEntry(member: m, score: score))
                }
            } else {
                var accumulator: [RedisBytes: Double] = [:]
                for i in order where sources[i].count > 0 {
                    sources[i].forEach { m, s in
                        var score = weights[i] * s
                        if score.isNaN { score = 0 }
                        if let old = accumulator[m] {
                            var t = old
                            CommandEngine.aggregate(&t, score, how)
                            accumulator[m] = t
                        } else {
                            accumulator[m] = score
                        }
                    }
                }
                result = accumulator.map { SortedSetEntry(member: $0.key, score: $0.value) }
            }
        case .diff:
            guard sources[0].count > 0 else { break }
            sources[0].forEach { m, s in
                for other in sources.dropFirst() where other.score(of: m) != nil { return }
                result.append(SortedSetEntry(member: m, score: s))
            }
        }
        // Built as a skiplist and converted to a listpack only when small enough (`zsetConvertToListpackIfNeeded`).
        let small =
            result.count <= SortedSetValue.maxPackedEntries
            && result.allSatisfy { $0.member.count <= SortedSetValue.maxPackedLength }
        return storeSortedSetResult(a[1], result, asTable: !small)
    }
}
