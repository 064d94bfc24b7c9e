import RedisFormats

// String commands that write: SET and its options, SETEX, PSETEX, SETNX, SETRANGE, APPEND, INCR/DECR family,
// INCRBYFLOAT, GETSET, GETDEL, GETEX, MSET, MSETNX.

extension CommandEngine {
    static let stringCommands: [Spec] = [
        Spec("set", arity: -3) { e, a throws(CommandFailure) in try e.setCommand(a) },
        Spec("setnx", arity: 3) { e, a throws(CommandFailure) in
            if e.entry(a[1]) != nil { return .integer(0) }
            e.store(a[1], .string(a[2]))
            return .integer(1)
        },
        Spec("setex", arity: 4) { e, a throws(CommandFailure) in try e.setWithTTL(a, unit: 1000) },
        Spec("psetex", arity: 4) { e, a throws(CommandFailure) in try e.setWithTTL(a, unit: 1) },
        Spec("getset", arity: 3) { e, a throws(CommandFailure) in
            let old = try e.string(a[1])
            e.store(a[1], .string(a[2]))
            return .bulk(old)
        },
        Spec("getdel", arity: 2) { e, a throws(CommandFailure) in
            guard let old = try e.string(a[1]) else { return .null }
            e.delete(a[1])
            return .bulk(old)
        },
        Spec("getex", arity: -2) { e, a throws(CommandFailure) in try e.getex(a) },
        Spec("append", arity: 3) { e, a throws(CommandFailure) in
            let old = try e.string(a[1])
            let new = RedisBytes((old?.bytes ?? []) + a[2].bytes)
            guard new.count <= 512 * 1024 * 1024 else { return .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)") }
            e.store(a[1], .string(new), keepTTL: true)
            return .integer(Int64(new.count))
        },
        Spec("setrange", arity: 4) { e, a throws(CommandFailure) in
            let offset = try CommandEngine.int(a[2])
            if offset < 0 { return .error("ERR offset is out of range") }
            let old = try e.string(a[1])
            if a[3].isEmpty { return .integer(Int64(old?.count ?? 0)) }
            guard offset + Int64(a[3].count) <= 512 * 1024 * 1024 else {
                return .error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
            }
            var bytes = old?.bytes ?? []
            let end = Int(offset) + a[3].count
            if bytes.count < end { bytes += [UInt8](repeating: 0, count: end - bytes.count) }
            bytes.replaceSubrange(Int(offset)..<end, with: a[3].bytes)
            e.store(a[1], .string(RedisBytes(bytes)), keepTTL: true)
            return .integer(Int64(bytes.count))
        },
        Spec("incr", arity: 2) { e, a throws(CommandFailure) in try e.incr(a[1], by: 1) },
        Spec("decr", arity: 2) { e, a throws(CommandFailure) in try e.incr(a[1], by: -1) },
        Spec("incrby", arity: 3) { e, a throws(CommandFailure) in try e.incr(a[1], by: try CommandEngine.int(a[2])) },
        Spec("decrby", arity: 3) { e, a throws(CommandFailure) in
            let n = try CommandEngine.int(a[2])
            if n == Int64.min { return .error("ERR decrement would overflow") }
            return try e.incr(a[1], by: -n)
        },
        Spec("incrbyfloat", arity: 3) { e, a throws(CommandFailure) in
            let old = try e.string(a[1])
            guard let cur = old.map({ RedisNumbers.parseLongDouble($0.bytes) }) ?? 0 else { return .notFloat }
            guard let inc = RedisNumbers.parseLongDouble(a[2].bytes) else { return .notFloat }
            let sum = cur + inc
            guard let text = RedisNumbers.formatHuman(sum) else {
                return .error("ERR increment would produce NaN or Infinity")
            }
            e.store(a[1], .string(RedisBytes(text)), keepTTL: true)
            return .bulk(RedisBytes(text))
        },
        Spec("mset", arity: -3) { e, a in
            guard a.count % 2 == 1 else { return .wrongArity("mset") }
            var i = 1
            while i < a.count {
                e.store(a[i], .string(a[i + 1]))
                i += 2
            }
            return .ok
        },
        Spec("msetnx", arity: -3) { e, a in
            guard a.count % 2 == 1 else { return .wrongArity("msetnx") }
            var i = 1
            while i < a.count {
                if e.entry(a[i]) != nil { return .integer(0) }
                i += 2
            }
            i = 1
            while i < a.count {
                e.store(a[i], .string(a[i + 1]))
                i += 2
            }
            return .integer(1)
        },
    ]

    /// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL].
    func setCommand(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        var nx = false, xx = false, get = false, keepTTL = false
        var expiry: (value: Int64, unit: Int64, absolute: Bool)?
        var i = 3
        while i < a.count {
            let opt = CommandEngine.upper(a[i])
            let hasNext = i + 1 < a.count
            switch opt {
            case "NX" where !xx: nx = true
            case "XX" where !nx: xx = true
            case "GET": get = true
            case "KEEPTTL" where expiry == nil: keepTTL = true
            case "EX" where expiry == nil && !keepTTL && hasNext,
                "PX" where expiry == nil && !keepTTL && hasNext,
                "EXAT" where expiry == nil && !keepTTL && hasNext,
                "PXAT" where expiry == nil && !keepTTL && hasNext:
                let v = try CommandEngine.int(a[i + 1])
                expiry = (v, opt.hasPrefix("E") ? 1000 : 1, opt.hasSuffix("AT"))
                i += 1
            default:
                return .syntax
            }
            i += 1
        }
        var when: Int64?
        if let x = expiry {
            let name = CommandEngine.lowercasedName(a[0])
            guard x.value > 0 else { return .error("ERR invalid expire time in '\(name)' command") }
            let (scaled, o1) = x.value.multipliedReportingOverflow(by: x.unit)
            let (w, o2) = scaled.addingReportingOverflow(x.absolute ? 0 : referenceTime)
            if o1 || o2 { return .error("ERR invalid expire time in '\(name)' command") }
            when = w
        }
        var old: RedisBytes?
        if get { old = try string(a[1]) }
        if nx || xx {
            let exists = self.exists(a[1])
            if (nx && exists) || (xx && !exists) { return get ? .bulk(old) : .null }
        }
        store(a[1], .string(a[2]), keepTTL: keepTTL)
        if let when { expire(a[1], at: when) }
        return get ? .bulk(old) : .ok
    }

    func setWithTTL(_ a: [RedisBytes], unit: Int64) throws(CommandFailure) -> Reply {
        let v = try CommandEngine.int(a[2])
        let name = CommandEngine.lowercasedName(a[0])
        guard v > 0 else { return .error("ERR invalid expire time in '\(name)' command") }
        let (scaled, o1) = v.multipliedReportingOverflow(by: unit)
        let (when, o2) = scaled.addingReportingOverflow(referenceTime)
        if o1 || o2 { return .error("ERR invalid expire time in '\(name)' command") }
        store(a[1], .string(a[3]))
        expire(a[1], at: when)
        return .ok
    }

    /// GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST].
    func getex(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        var expiry: (value: Int64, unit: Int64, absolute: Bool)?
        var persist = false
        var i = 2
        while i < a.count {
            let opt = CommandEngine.upper(a[i])
            switch opt {
            case "PERSIST" where expiry == nil: persist = true
            case "EX" where expiry == nil && !persist && i + 1 < a.count,
                "PX" where expiry == nil && !persist && i + 1 < a.count,
                "EXAT" where expiry == nil && !persist && i + 1 < a.count,
                "PXAT" where expiry == nil && !persist && i + 1 < a.count:
                expiry = (try CommandEngine.int(a[i + 1]), opt.hasPrefix("E") ? 1000 : 1, opt.hasSuffix("AT"))
                i += 1
            default: return .syntax
            }
            i += 1
        }
        var when: Int64?
        if let x = expiry {
            guard x.value > 0 else { return .error("ERR invalid expire time in 'getex' command") }
            let (scaled, o1) = x.value.multipliedReportingOverflow(by: x.unit)
            let (w, o2) = scaled.addingReportingOverflow(x.absolute ? 0 : referenceTime)
            if o1 || o2 { return .error("ERR invalid expire time in 'getex' command") }
            when = w
        }
        guard let v = try string(a[1]) else { return .null }
        if let when { expire(a[1], at: when) } else if persist { keyspace.setExpiry(db: db, key: a[1], nil) }
        return .bulk(v)
    }

    func incr(_ key: RedisBytes, by n: Int64) throws(CommandFailure) -> Reply {
        let old = try string(key)
        var cur: Int64 = 0
        if let o = old {
            guard let v = RedisInteger.parse(o.bytes) else { return .notInteger }
            cur = v
        }
        let (sum, overflow) = cur.addingReportingOverflow(n)
        if overflow { return .overflow }
        store(key, .string(RedisBytes(String(sum))), keepTTL: true)
        return .integer(sum)
    }
}
