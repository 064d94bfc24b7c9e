import RedisFormats

/// A sorted set. Small ones (at most 128 members of at most 64 bytes: Redis's listpack limits) are packed in
/// rank order as member, score (8 bytes, the double's bits) pairs. Big ones keep a member → score dictionary
/// and build the rank order lazily, only when a command or an export needs it: replaying `ZADD`/`ZINCRBY`
/// into a million-member leaderboard stays O(1) per command.
///
/// Once built, the rank order is patched in place (binary search, one array shift) for up to
/// ``maxCacheUpdates`` changes after each ranked read, then dropped until the next one; pops of the lowest
/// ranks only move a start index. So a queue that alternates ZADD and ZPOPMIN costs one shift per command, a
/// ZPOPMIN drain O(1) per pop, and a long run of plain writes O(1) each.
public final class SortedSetValue: @unchecked Sendable {
    public static let maxPackedEntries = 128
    public static let maxPackedLength = 64

    enum Storage {
        case packed(PackedEntries)
        case table([RedisBytes: Double])
    }
    var storage: Storage = .packed(PackedEntries())
    /// Rank order of a table; nil when a change made it stale. Pops from the low end (ZPOPMIN draining a big
    /// queue) only move ``rankOrderStart``; reading this property drops the popped front first.
    var sortedCache: [SortedSetEntry]? {
        get {
            if rankOrderStart > 0, var s = rankOrderStorage {
                rankOrderStorage = nil
                s.removeFirst(rankOrderStart)
                rankOrderStorage = s
                rankOrderStart = 0
            }
            return rankOrderStorage
        }
        set {
            rankOrderStorage = newValue
            rankOrderStart = 0
        }
    }
    /// The rank order of a table from index ``rankOrderStart`` on (the entries before it are popped).
    private var rankOrderStorage: [SortedSetEntry]?
    private var rankOrderStart = 0

    public init() {}

    public init(_ entries: [SortedSetEntry]) {
        for e in entries { set(e.member, e.score) }
    }

    /// A sorted set of distinct members built as Redis builds a computed one: with `asTable` the dictionary from
    /// the start (Redis's skiplist, which keeps every score bit for bit, -0 included), otherwise member by member
    /// in the given order, packed until a limit is passed (a listpack stores -0 as the integer 0).
    public init(_ entries: [SortedSetEntry], asTable: Bool) {
        guard asTable else {
            for e in entries { set(e.member, e.score) }
            return
        }
        var t: [RedisBytes: Double] = [:]
        t.reserveCapacity(entries.count)
        for e in entries { t[e.member] = e.score }
        storage = .table(t)
    }

    public func clone() -> SortedSetValue {
        let c = SortedSetValue()
        c.storage = storage
        c.sortedCache = sortedCache
        c.cacheUpdates = cacheUpdates
        return c
    }

    public var count: Int {
        switch storage {
        case .packed(let p): p.count / 2
        case .table(let t): t.count
        }
    }

    public var isEmpty: Bool { count == 0 }

    /// Redis's order: by score, then by member bytes.
    @inline(__always) public static func precedes(_ a: SortedSetEntry, _ b: SortedSetEntry) -> Bool {
        a.score < b.score || (a.score == b.score && a.member < b.member)
    }

    static func scoreBytes(_ d: Double) -> [UInt8] {
        withUnsafeBytes(of: d.bitPattern.littleEndian) { Array($0) }
    }

    static func score(_ b: UnsafeBufferPointer<UInt8>) -> Double {
        var bits: UInt64 = 0
        for i in 0..<8 { bits |= UInt64(b[i]) << (8 * UInt64(i)) }
        return Double(bitPattern: bits)
    }

    public func score(of member: RedisBytes) -> Double? {
        switch storage {
        case .table(let t):
            return t[member]
        case .packed(let p):
            var i = 0
            var found: Double?
            var matched = false
            p.forEach { e in
                defer { i += 1 }
                if i % 2 == 0 {
                    matched = e.count == member.count && e.elementsEqual(member.bytes)
                    return true
                }
                if matched {
                    found = Self.score(e)
                    return false
                }
                return true
            }
            return found
        }
    }

    /// Sets a member's score; true when the member is new.
    @discardableResult
    public func set(_ member: RedisBytes, _ score: Double) -> Bool {
        switch storage {
        case .table(var t):
            storage = .packed(PackedEntries())
            let old = t.updateValue(score, forKey: member)
            storage = .table(t)
            if old != score || old?.sign != score.sign {
                if let old { cacheRemove(SortedSetEntry(member: member, score: old)) }
                cacheInsert(SortedSetEntry(member: member, score: score))
            }
            return old == nil
        case .packed(var p):
            storage = .packed(PackedEntries())
            let existed = Self.removePacked(member, from: &p)
            if p.count / 2 + 1 > Self.maxPackedEntries || member.count > Self.maxPackedLength {
                var t: [RedisBytes: Double] = [:]
                t.reserveCapacity(p.count / 2 + 1)
                for e in Self.entries(p) { t[e.member] = e.score }
                t[member] = score
                storage = .table(t)
                sortedCache = nil
                return !existed
            }
            // A listpack holds a whole score as an integer, so -0 comes back as 0 (Redis's `zzlInsertAt`).
            let score = score == 0 ? 0 : score
            // Insert in rank order.
            let entry = SortedSetEntry(member: member, score: score)
            var rank = 0
            var i = 0
            var pendingMember: RedisBytes?
            p.forEach { e in
                defer { i += 1 }
                if i % 2 == 0 {
                    pendingMember = RedisBytes(Array(e))
                    return true
                }
                if Self.precedes(SortedSetEntry(member: pendingMember!, score: Self.score(e)), entry) {
                    rank += 1
                    return true
                }
                return false
            }
            p.insert(Self.scoreBytes(score), at: 2 * rank)
            p.insert(member.bytes, at: 2 * rank)
            storage = .packed(p)
            return !existed
        }
    }

    private static func removePacked(_ member: RedisBytes, from p: inout PackedEntries) -> Bool {
        guard let i = p.firstIndex(of: member.bytes, stride: 2) else { return false }
        p.removeSubrange(i, count: 2)
        return true
    }

    static func entries(_ p: PackedEntries) -> [SortedSetEntry] {
        var out: [SortedSetEntry] = []
        out.reserveCapacity(p.count / 2)
        var member: RedisBytes?
        p.forEach { e in
            if let m = member {
                out.append(SortedSetEntry(member: m, score: score(e)))
                member = nil
            } else {
                member = RedisBytes(Array(e))
            }
            return true
        }
        return out
    }

    /// Removes a member; true when it was there.
    @discardableResult
    public func remove(_ member: RedisBytes) -> Bool {
        switch storage {
        case .table(var t):
            storage = .packed(PackedEntries())
            let old = t.removeValue(forKey: member)
            storage = .table(t)
            if let old { cacheRemove(SortedSetEntry(member: member, score: old)) }
            return old != nil
        case .packed(var p):
            storage = .packed(PackedEntries())
            let removed = Self.removePacked(member, from: &p)
            storage = .packed(p)
            return removed
        }
    }

    /// Calls `body` with every member and its score, in no particular order (rank order is not built).
    public func forEachEntry(_ body: (RedisBytes, Double) throws -> Void) rethrows {
        switch storage {
        case .packed(let p):
            for e in Self.entries(p) { try body(e.member, e.score) }
        case .table(let t):
            for (m, s) in t { try body(m, s) }
        }
    }

    /// Every member in rank order.
    public var sortedEntries: [SortedSetEntry] {
        switch storage {
        case .packed(let p):
            return Self.entries(p)
        case .table(let t):
            cacheUpdates = 0
            if let c = sortedCache { return c }
            let s = t.map { SortedSetEntry(member: $0.key, score: $0.value) }.sorted(by: Self.precedes)
            sortedCache = s
            return s
        }
    }

    // MARK: Keeping the rank order of a table

    /// Whether rank order is at hand without sorting: always for a packed set; for a big one, after a ranked
    /// read and until more than ``maxCacheUpdates`` changes (patched in place) have followed it.
    public var isRankOrderBuilt: Bool {
        if case .packed = storage { return true }
        return rankOrderStorage != nil
    }

    /// Changes applied to ``sortedCache`` in place since rank order was last read. Past
    /// ``maxCacheUpdates`` the cache is dropped, so a long run of writes (ZINCRBY into a big leaderboard) costs
    /// O(1) each again instead of a memmove of the whole order each.
    var cacheUpdates = 0
    public static let maxCacheUpdates = 32

    /// The index where `e` is or would go in `c` (binary search in rank order).
    static func lowerBound(_ e: SortedSetEntry, in c: [SortedSetEntry]) -> Int {
        var lo = 0
        var hi = c.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if precedes(c[mid], e) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private func noteCacheUpdate() -> Bool {
        guard rankOrderStorage != nil else { return false }
        cacheUpdates += 1
        if cacheUpdates > Self.maxCacheUpdates {
            sortedCache = nil
            return false
        }
        return true
    }

    private func cacheRemove(_ e: SortedSetEntry) {
        guard noteCacheUpdate(), var c = sortedCache else { return }
        sortedCache = nil  // release the reference before mutating
        let i = Self.lowerBound(e, in: c)
        if i < c.count && c[i].member == e.member {
            c.remove(at: i)
            sortedCache = c
        }
    }

    private func cacheInsert(_ e: SortedSetEntry) {
        guard noteCacheUpdate(), var c = sortedCache else { return }
        sortedCache = nil
        c.insert(e, at: Self.lowerBound(e, in: c))
        sortedCache = c
    }

    /// Removes the members at ranks `range` (0-based, clamped by the caller) and returns them in rank order.
    ///
    /// - Complexity: O(n) for a packed set; for a table O(k) plus building the rank order when it is stale.
    @discardableResult
    public func removeRanks(_ range: Range<Int>) -> [SortedSetEntry] {
        guard !range.isEmpty else { return [] }
        switch storage {
        case .packed(var p):
            let all = Self.entries(p)
            storage = .packed(PackedEntries())
            p.removeSubrange(2 * range.lowerBound, count: 2 * range.count)
            storage = .packed(p)
            return Array(all[range])
        case .table(var t):
            if rankOrderStorage == nil { _ = sortedEntries }
            cacheUpdates = 0
            guard var c = rankOrderStorage else { return [] }
            rankOrderStorage = nil  // release the reference before mutating
            storage = .packed(PackedEntries())
            let base = rankOrderStart
            let ranks = (base + range.lowerBound)..<(base + range.upperBound)
            let removed = Array(c[ranks])
            for e in removed { t.removeValue(forKey: e.member) }
            storage = .table(t)
            if range.lowerBound == 0 {
                // Popping the lowest ranks: move the start; shift the array only once half of it is dead.
                rankOrderStart += range.count
                if rankOrderStart > 64 && rankOrderStart > c.count / 2 {
                    c.removeFirst(rankOrderStart)
                    rankOrderStart = 0
                }
            } else {
                c.removeSubrange(ranks)
            }
            rankOrderStorage = c
            return removed
        }
    }

    /// The 0-based rank of a member.
    public func rank(of member: RedisBytes) -> Int? {
        guard let s = score(of: member) else { return nil }
        let all = sortedEntries
        let target = SortedSetEntry(member: member, score: s)
        var lo = 0
        var hi = all.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Self.precedes(all[mid], target) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    public var maxMemberLength: Int {
        switch storage {
        case .packed(let p):
            var m = 0
            var i = 0
            p.forEach { e in
                if i % 2 == 0 { m = max(m, e.count) }
                i += 1
                return true
            }
            return m
        case .table(let t):
            return t.keys.reduce(0) { max($0, $1.count) }
        }
    }
}
