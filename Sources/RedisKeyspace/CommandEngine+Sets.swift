import RedisFormats

// Set commands that write: SADD, SREM, SMOVE, SPOP (count), SINTERSTORE, SUNIONSTORE, SDIFFSTORE.
// Mirrors Redis 7.0's `t_set.c`.
//
// SPOP picks at random on a server; an AOF never holds it (Redis propagates SPOP as SREM, or DEL when the whole
// set goes), so the engine picks deterministically instead: the members that sort first by bytes (memcmp order).
// The same input gives the same keyspace on every run and platform.

extension CommandEngine {
    static let setCommands: [Spec] = [
        Spec("sadd", arity: -3) { e, a throws(CommandFailure) in
            let s = try e.set(a[1], create: true)!
            var added: Int64 = 0
            for m in a[2...] where s.insert(m) { added += 1 }
            return .integer(added)
        },
        Spec("srem", arity: -3) { e, a throws(CommandFailure) in
            guard let s = try e.set(a[1]) else { return .integer(0) }
            var removed: Int64 = 0
            for m in a[2...] where s.remove(m) {
                removed += 1
                if s.isEmpty { break }
            }
            e.removeIfEmpty(a[1])
            return .integer(removed)
        },
        Spec("smove", arity: 4) { e, a throws(CommandFailure) in try e.smove(a) },
        Spec("spop", arity: -2) { e, a throws(CommandFailure) in try e.spop(a) },
        Spec("sinterstore", arity: -3) { e, a throws(CommandFailure) in try e.sinterstore(a) },
        Spec("sunionstore", arity: -3) { e, a throws(CommandFailure) in try e.sunionDiffStore(a, union: true) },
        Spec("sdiffstore", arity: -3) { e, a throws(CommandFailure) in try e.sunionDiffStore(a, union: false) },
    ]

    /// SMOVE source destination member.
    func smove(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        guard let srcValue = value(a[1]) else { return .integer(0) }
        guard case .set(let src) = srcValue else { return .wrongType }
        if let d = value(a[2]) {
            guard case .set = d else { return .wrongType }
        }
        if a[1] == a[2] { return .integer(src.contains(a[3]) ? 1 : 0) }
        guard src.remove(a[3]) else { return .integer(0) }
        removeIfEmpty(a[1])
        try set(a[2], create: true)!.insert(a[3])
        return .integer(1)
    }

    /// The `n` members that sort first by bytes (SPOP's deterministic pick), in that order.
    static func firstMembers(of s: SetValue, _ n: Int) -> [RedisBytes] {
        guard n > 0 else { return [] }
        if n == 1 {
            var best: RedisBytes?
            s.forEach { m in
                if best == nil || m < best! { best = m }
                return true
            }
            return best.map { [$0] } ?? []
        }
        return Array(s.members.sorted().prefix(n))
    }

    /// SPOP key [count].
    func spop(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        if a.count > 3 { return .syntax }
        if a.count == 2 {
            guard let s = try set(a[1]) else { return .null }
            let m = CommandEngine.firstMembers(of: s, 1)
            for x in m { s.remove(x) }
            removeIfEmpty(a[1])
            return .bulk(m.first)
        }
        let count = try CommandEngine.positiveCount(a[2])
        guard let s = try set(a[1]) else { return .array([]) }
        if count == 0 { return .array([]) }
        if count >= Int64(s.count) {
            let all = s.members
            keyspace.remove(db: db, key: a[1])
            return .array(all)
        }
        let picked = CommandEngine.firstMembers(of: s, Int(count))
        for x in picked { s.remove(x) }
        return .array(picked)
    }

    /// The sets named by `keys` (nil for a missing key), or WRONGTYPE at the first key of another type.
    func setsForStore(_ keys: ArraySlice<RedisBytes>) throws(CommandFailure) -> [SetValue?] {
        var out: [SetValue?] = []
        out.reserveCapacity(keys.count)
        for k in keys {
            guard let v = value(k) else {
                out.append(nil)
                continue
            }
            guard case .set(let s) = v else { throw CommandFailure(.wrongType) }
            out.append(s)
        }
        return out
    }

    /// Stores a computed set at `key` (replacing any value and its TTL), or deletes `key` when it is empty.
    func storeSetResult(_ key: RedisBytes, _ result: SetValue) -> Reply {
        if result.isEmpty {
            delete(key)
            return .integer(0)
        }
        store(key, .set(result))
        return .integer(Int64(result.count))
    }

    /// SINTERSTORE destination key [key ...].
    func sinterstore(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        let sets = try setsForStore(a[2...])
        let present = sets.compactMap { $0 }
        guard present.count == sets.count else {
            delete(a[1])
            return .integer(0)
        }
        let ordered = present.enumerated().sorted { ($0.element.count, $0.offset) < ($1.element.count, $1.offset) }
            .map(\.element)
        let result = SetValue()
        ordered[0].forEach { m in
            for other in ordered.dropFirst() where other !== ordered[0] {
                if !other.contains(m) { return true }
            }
            result.insert(m)
            return true
        }
        return storeSetResult(a[1], result)
    }

    /// SUNIONSTORE / SDIFFSTORE destination key [key ...].
    func sunionDiffStore(_ a: [RedisBytes], union: Bool) throws(CommandFailure) -> Reply {
        let sets = try setsForStore(a[2...])
        let result = SetValue()
        if union {
            for s in sets {
                s?.forEach { m in
                    result.insert(m)
                    return true
                }
            }
        } else if let first = sets[0] {
            let others = sets.dropFirst().compactMap { $0 }
            if !others.contains(where: { $0 === first }) {
                first.forEach { m in
                    if !others.contains(where: { $0.contains(m) }) { result.insert(m) }
                    return true
                }
            }
        }
        return storeSetResult(a[1], result)
    }
}
