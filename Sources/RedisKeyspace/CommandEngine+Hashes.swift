import RedisFormats

// Hash commands that write: HSET, HMSET, HSETNX, HDEL, HINCRBY, HINCRBYFLOAT (Redis 7.0 `t_hash.c`), and the
// field TTL commands of Redis 7.4: HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT, HPERSIST. An AOF written by 7.4
// records a field's expiry as HPEXPIREAT and a field that expired as HDEL, so these are all it needs.

extension CommandEngine {
    static let hashCommands: [Spec] = [
        Spec("hset", arity: -4) { e, a throws(CommandFailure) in
            guard a.count % 2 == 0 else { return .wrongArity("hset") }
            let h = try e.liveHash(a[1], create: true)!
            var created: Int64 = 0
            var i = 2
            while i < a.count {
                if h.set(a[i], a[i + 1]) { created += 1 }
                i += 2
            }
            return .integer(created)
        },
        Spec("hmset", arity: -4) { e, a throws(CommandFailure) in
            guard a.count % 2 == 0 else { return .wrongArity("hmset") }
            let h = try e.liveHash(a[1], create: true)!
            var i = 2
            while i < a.count {
                h.set(a[i], a[i + 1])
                i += 2
            }
            return .ok
        },
        Spec("hsetnx", arity: 4) { e, a throws(CommandFailure) in
            let h = try e.liveHash(a[1], create: true)!
            if h.contains(a[2]) { return .integer(0) }
            h.set(a[2], a[3])
            return .integer(1)
        },
        Spec("hdel", arity: -3) { e, a throws(CommandFailure) in
            guard let h = try e.liveHash(a[1]) else { return .integer(0) }
            var deleted: Int64 = 0
            for f in a[2...] where h.remove(f) {
                deleted += 1
                if h.isEmpty { break }
            }
            e.removeIfEmpty(a[1])
            return .integer(deleted)
        },
        Spec("hincrby", arity: 4) { e, a throws(CommandFailure) in
            let by = try CommandEngine.int(a[3])
            let h = try e.liveHash(a[1], create: true)!
            var cur: Int64 = 0
            if let old = h.get(a[2]) {
                guard let v = RedisInteger.parse(old.bytes) else { return .error("ERR hash value is not an integer") }
                cur = v
            }
            let (sum, overflow) = cur.addingReportingOverflow(by)
            if overflow { return .overflow }
            h.set(a[2], RedisBytes(String(sum)), keepExpiry: true)
            return .integer(sum)
        },
        Spec("hincrbyfloat", arity: 4) { e, a throws(CommandFailure) in
            guard let by = RedisNumbers.parseLongDouble(a[3].bytes) else { return .notFloat }
            if !by.isFinite { return .error("ERR value is NaN or Infinity") }
            let h = try e.liveHash(a[1], create: true)!
            var cur: RedisNumbers.LongDouble = 0
            if let old = h.get(a[2]) {
                guard let v = RedisNumbers.parseLongDouble(old.bytes) else { return .error("ERR hash value is not a float") }
                cur = v
            }
            let sum = cur + by
            if !sum.isFinite { return .error("ERR increment would produce NaN or Infinity") }
            // ld2string fails (length 0) past its 5 KiB buffer; Redis then stores the empty string it got.
            let text = RedisBytes(RedisNumbers.formatHuman(sum) ?? [])
            h.set(a[2], text, keepExpiry: true)
            return .bulk(text)
        },
        Spec("hexpire", arity: -6) { e, a throws(CommandFailure) in try e.hashExpire(a, unit: 1000, absolute: false) },
        Spec("hpexpire", arity: -6) { e, a throws(CommandFailure) in try e.hashExpire(a, unit: 1, absolute: false) },
        Spec("hexpireat", arity: -6) { e, a throws(CommandFailure) in try e.hashExpire(a, unit: 1000, absolute: true) },
        Spec("hpexpireat", arity: -6) { e, a throws(CommandFailure) in try e.hashExpire(a, unit: 1, absolute: true) },
        Spec("hpersist", arity: -5) { e, a throws(CommandFailure) in try e.hashPersist(a) },
    ]

    /// The largest field expiry Redis 7.4 accepts (`HFE_MAX_ABS_TIME_MSEC`: `EB_EXPIRE_TIME_MAX >> 2`).
    static let maxFieldExpiry: Int64 = (1 << 46) - 1

    /// The hash at `key` with its expired fields gone when ``now`` is set (a live 7.4 server never shows an
    /// expired field); a hash left empty by that is deleted first.
    func liveHash(_ key: RedisBytes, create: Bool = false) throws(CommandFailure) -> HashValue? {
        if let now, let h = try hash(key), h.removeExpiredFields(now: now) > 0, h.isEmpty {
            keyspace.remove(db: db, key: key)
        }
        return try hash(key, create: create)
    }

    /// HEXPIRE / HPEXPIRE / HEXPIREAT / HPEXPIREAT key time [NX|XX|GT|LT] FIELDS n field… (Redis 7.4
    /// `hexpireGenericCommand`): per field -2 no such field, 0 condition not met, 1 set, 2 deleted (time in the
    /// past, only when ``now`` is set: a loading server keeps the time).
    func hashExpire(_ a: [RedisBytes], unit: Int64, absolute: Bool) throws(CommandFailure) -> Reply {
        let name = CommandEngine.lowercasedName(a[0])
        let h = try liveHash(a[1])
        var when = try CommandEngine.int(a[2])
        if when < 0 { return .error("ERR invalid expire time, must be >= 0") }
        let invalid = Reply.error("ERR invalid expire time in '\(name)' command")
        if unit == 1000 {
            if when > Self.maxFieldExpiry / 1000 { return invalid }
            when *= 1000
        }
        if !absolute {
            let base = referenceTime
            if when > Self.maxFieldExpiry - base { return invalid }
            when += base
        }
        if when > Self.maxFieldExpiry { return invalid }
        var condition = ""
        var fieldsAt = 3
        let opt = CommandEngine.upper(a[3])
        if ["NX", "XX", "GT", "LT"].contains(opt) {
            condition = opt
            fieldsAt = 4
        }
        guard fieldsAt + 1 < a.count, CommandEngine.upper(a[fieldsAt]) == "FIELDS" else {
            return .error("ERR Mandatory argument FIELDS is missing or not at the right position")
        }
        guard let n = RedisInteger.parse(a[fieldsAt + 1].bytes), n >= 1 else {
            return .error("ERR Parameter `numFields` should be greater than 0")
        }
        let fields = a[(fieldsAt + 2)...]
        guard n == fields.count else { return .error("ERR The `numfields` parameter must match the number of arguments") }
        guard let h else { return .array(fields.map { _ in .integer(-2) }) }
        var replies: [Reply] = []
        replies.reserveCapacity(fields.count)
        for f in fields {
            guard h.contains(f) else {
                replies.append(.integer(-2))
                continue
            }
            let previous = h.expiry(f)
            let met: Bool
            switch condition {
            case "NX": met = previous == nil
            case "XX": met = previous != nil
            case "GT": met = previous.map { when > $0 } ?? false
            case "LT": met = previous.map { when < $0 } ?? true
            default: met = true
            }
            guard met else {
                replies.append(.integer(0))
                continue
            }
            if let now, when <= now {
                h.remove(f)
                replies.append(.integer(2))
            } else {
                h.setExpiry(f, when)
                replies.append(.integer(1))
            }
        }
        removeIfEmpty(a[1])
        return .array(replies)
    }

    /// HPERSIST key FIELDS n field…: per field -2 no such field, -1 no expiry, 1 expiry removed.
    func hashPersist(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        let h = try liveHash(a[1])
        guard CommandEngine.upper(a[2]) == "FIELDS" else {
            return .error("ERR Mandatory argument FIELDS is missing or not at the right position")
        }
        guard let n = RedisInteger.parse(a[3].bytes), n >= 1 else {
            return .error("ERR Number of fields must be a positive integer")
        }
        let fields = a[4...]
        guard n == fields.count else { return .error("ERR The `numfields` parameter must match the number of arguments") }
        guard let h else { return .array(fields.map { _ in .integer(-2) }) }
        return .array(
            fields.map { f -> Reply in
                guard h.contains(f) else { return .integer(-2) }
                guard h.expiry(f) != nil else { return .integer(-1) }
                h.setExpiry(f, nil)
                return .integer(1)
            })
    }
}
