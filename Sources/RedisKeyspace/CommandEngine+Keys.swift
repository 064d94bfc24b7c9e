import RedisFormats

// Generic key commands: DEL, UNLINK, EXPIRE family, PERSIST, RENAME, MOVE, COPY, RESTORE.

extension CommandEngine {
    static let keyCommands: [Spec] = [
        Spec("del", arity: -2) { e, a in .integer(Int64(a.dropFirst().filter { e.delete($0) }.count)) },
        Spec("unlink", arity: -2) { e, a in .integer(Int64(a.dropFirst().filter { e.delete($0) }.count)) },
        Spec("expire", arity: -3) { e, a throws(CommandFailure) in try e.expireCommand(a, unit: 1000, absolute: false) },
        Spec("pexpire", arity: -3) { e, a throws(CommandFailure) in try e.expireCommand(a, unit: 1, absolute: false) },
        Spec("expireat", arity: -3) { e, a throws(CommandFailure) in try e.expireCommand(a, unit: 1000, absolute: true) },
        Spec("pexpireat", arity: -3) { e, a throws(CommandFailure) in try e.expireCommand(a, unit: 1, absolute: true) },
        Spec("persist", arity: 2) { e, a in
            guard let x = e.entry(a[1]), x.expiresAt != nil else { return .integer(0) }
            e.keyspace.setExpiry(db: e.db, key: a[1], nil)
            return .integer(1)
        },
        Spec("rename", arity: 3) { e, a throws(CommandFailure) in try e.rename(a, onlyIfAbsent: false) },
        Spec("renamenx", arity: 3) { e, a throws(CommandFailure) in try e.rename(a, onlyIfAbsent: true) },
        Spec("move", arity: 3) { e, a throws(CommandFailure) in
            let target = try CommandEngine.int(a[2])
            guard target >= 0, target <= e.keyspace.maxDatabase else { return .error("ERR DB index is out of range") }
            if Int(target) == e.db { return .error("ERR source and destination objects are the same") }
            guard let x = e.entry(a[1]) else { return .integer(0) }
            if e.keyspace.entry(db: Int(target), key: a[1], now: e.now) != nil { return .integer(0) }
            e.keyspace.remove(db: e.db, key: a[1])
            e.keyspace.set(db: Int(target), key: a[1], x)
            return .integer(1)
        },
        Spec("copy", arity: -3) { e, a throws(CommandFailure) in
            var targetDB = e.db
            var replace = false
            var i = 3
            while i < a.count {
                switch CommandEngine.upper(a[i]) {
                case "REPLACE": replace = true
                case "DB" where i + 1 < a.count:
                    let n = try CommandEngine.int(a[i + 1])
                    guard n >= 0, n <= e.keyspace.maxDatabase else { return .error("ERR DB index is out of range") }
                    targetDB = Int(n)
                    i += 1
                default: return .syntax
                }
                i += 1
            }
            if targetDB == e.db && a[1] == a[2] { return .error("ERR source and destination objects are the same") }
            guard let x = e.entry(a[1]) else { return .integer(0) }
            if e.keyspace.entry(db: targetDB, key: a[2], now: e.now) != nil {
                guard replace else { return .integer(0) }
            }
            e.keyspace.set(db: targetDB, key: a[2], Keyspace.Entry(value: x.value.clone(), expiresAt: x.expiresAt))
            return .integer(1)
        },
        Spec("restore", arity: -4) { e, a throws(CommandFailure) in try e.restore(a) },
        Spec("restore-asking", arity: -4) { e, a throws(CommandFailure) in try e.restore(a) },
    ]

    /// EXPIRE / PEXPIRE / EXPIREAT / PEXPIREAT with NX, XX, GT, LT (7.0).
    func expireCommand(_ a: [RedisBytes], unit: Int64, absolute: Bool) throws(CommandFailure) -> Reply {
        let n = try CommandEngine.int(a[2])
        var nx = false, xx = false, gt = false, lt = false
        for opt in a.dropFirst(3) {
            switch CommandEngine.upper(opt) {
            case "NX": nx = true
            case "XX": xx = true
            case "GT": gt = true
            case "LT": lt = true
            default: return .error("ERR Unsupported option \(opt.description)")
            }
        }
        if nx && (xx || gt || lt) { return .error("ERR NX and XX, GT or LT options at the same time are not compatible") }
        if gt && lt { return .error("ERR GT and LT options at the same time are not compatible") }
        let (scaled, o1) = n.multipliedReportingOverflow(by: unit)
        let base = absolute ? 0 : referenceTime
        let (when, o2) = scaled.addingReportingOverflow(base)
        if o1 || o2 {
            let name = CommandEngine.lowercasedName(a[0])
            return .error("ERR invalid expire time in '\(name)' command")
        }
        guard let x = entry(a[1]) else { return .integer(0) }
        let current = x.expiresAt
        if nx && current != nil { return .integer(0) }
        if xx && current == nil { return .integer(0) }
        if gt && (current == nil || when <= current!) { return .integer(0) }
        if lt, let c = current, when >= c { return .integer(0) }
        expire(a[1], at: when)
        return .integer(1)
    }

    func rename(_ a: [RedisBytes], onlyIfAbsent: Bool) throws(CommandFailure) -> Reply {
        guard let x = entry(a[1]) else { return .noSuchKey }
        if a[1] == a[2] { return onlyIfAbsent ? .integer(0) : .ok }
        if onlyIfAbsent && entry(a[2]) != nil { return .integer(0) }
        keyspace.remove(db: db, key: a[1])
        keyspace.set(db: db, key: a[2], x)
        return onlyIfAbsent ? .integer(1) : .ok
    }

    /// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f].
    func restore(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        var replace = false, absTTL = false
        var i = 4
        while i < a.count {
            switch CommandEngine.upper(a[i]) {
            case "REPLACE": replace = true
            case "ABSTTL": absTTL = true
            case "IDLETIME" where i + 1 < a.count:
                let v = try CommandEngine.int(a[i + 1])
                if v < 0 { return .error("ERR Invalid IDLETIME value, must be >= 0") }
                i += 1
            case "FREQ" where i + 1 < a.count:
                let v = try CommandEngine.int(a[i + 1])
                if v < 0 || v > 255 { return .error("ERR Invalid FREQ value, must be >= 0 and <= 255") }
                i += 1
            default: return .syntax
            }
            i += 1
        }
        let ttl = try CommandEngine.int(a[2])
        if ttl < 0 { return .error("ERR Invalid TTL value, must be >= 0") }
        if !replace && entry(a[1]) != nil { return .error("BUSYKEY Target key name already exists.") }
        guard let value = DumpPayload.decode(a[3].bytes) else {
            return .error("ERR DUMP payload version or checksum are wrong")
        }
        var expiresAt: Int64?
        if ttl > 0 { expiresAt = absTTL ? ttl : referenceTime + ttl }
        keyspace.set(db: db, key: a[1], Keyspace.Entry(value: KeyValue(value), expiresAt: expiresAt))
        if let x = expiresAt, let now, x <= now { keyspace.remove(db: db, key: a[1]) }
        return .ok
    }
}

/// DUMP payloads (`type byte, value, RDB version u16 LE, CRC64`) decoded with the RDB reader.
public enum DumpPayload {
    /// The value of a payload, or nil when its footer or value is not valid.
    public static func decode(_ payload: [UInt8]) -> RedisValue? {
        guard payload.count >= 11 else { return nil }
        let body = payload[0..<(payload.count - 8)]
        let version = Int(payload[payload.count - 10]) | Int(payload[payload.count - 9]) << 8
        var crc: UInt64 = 0
        for i in 0..<8 { crc |= UInt64(payload[payload.count - 8 + i]) << (8 * UInt64(i)) }
        if crc != 0 && CRC64.checksum(Array(body)) != crc { return nil }
        // A one-key RDB around the value: header, the type byte, an empty key, the value, EOF, no checksum.
        let header: [UInt8]
        if version >= 80 {
            header = Array("VALKEY".utf8) + Array(String(format3(version)).utf8)
        } else {
            header = Array("REDIS".utf8) + Array(String(format4(version)).utf8)
        }
        var file = header
        file.append(payload[0])
        file.append(0)  // key length 0
        file.append(contentsOf: payload[1..<(payload.count - 10)])
        file.append(0xFF)
        file.append(contentsOf: [UInt8](repeating: 0, count: 8))
        var options = RDBReader.Options()
        options.verifiesChecksum = false
        options.validation = .deep
        do {
            let reader = try RDBReader(source: MemorySource(file, name: "RESTORE payload"), options: options)
            while let r = try reader.next() {
                if case .key = r { return try reader.readValue() }
            }
        } catch {
            return nil
        }
        return nil
    }

    static func format4(_ v: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }

    static func format3(_ v: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, 3 - s.count)) + s
    }
}
