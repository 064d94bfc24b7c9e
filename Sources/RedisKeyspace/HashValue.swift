import RedisFormats

/// A hash: field/value pairs packed while small (at most 128 fields, fields and values of at most 64 bytes:
/// Redis's listpack limits), a dictionary beyond. Field expiries (Redis 7.4+, Valkey 9+) are kept beside,
/// only for hashes that have any.
public final class HashValue: @unchecked Sendable {
    public static let maxPackedEntries = 128
    public static let maxPackedLength = 64

    enum Storage {
        /// field, value, field, value, … in insertion order.
        case packed(PackedEntries)
        case table([RedisBytes: RedisBytes])
    }
    var storage: Storage = .packed(PackedEntries())
    /// Absolute expiry (Unix ms) of the fields that have one.
    public private(set) var fieldExpiries: [RedisBytes: Int64] = [:]

    public init() {}

    public init(_ fields: [HashField]) {
        for f in fields {
            set(f.field, f.value)
            if let x = f.expiresAt { setExpiry(f.field, x.milliseconds) }
        }
    }

    public func clone() -> HashValue {
        let c = HashValue()
        c.storage = storage
        c.fieldExpiries = fieldExpiries
        return c
    }

    public var count: Int {
        switch storage {
        case .packed(let p): p.count / 2
        case .table(let t): t.count
        }
    }

    public var isEmpty: Bool { count == 0 }

    public func get(_ field: RedisBytes) -> RedisBytes? {
        switch storage {
        case .packed(let p):
            guard let i = p.firstIndex(of: field.bytes, stride: 2) else { return nil }
            return p[i + 1]
        case .table(let t):
            return t[field]
        }
    }

    public func contains(_ field: RedisBytes) -> Bool { get(field) != nil }

    /// Sets a field; true when the field is new. Setting a field's value clears its expiry (as HSET does) unless
    /// `keepExpiry` (HINCRBY and HINCRBYFLOAT keep it in Redis 7.4).
    @discardableResult
    public func set(_ field: RedisBytes, _ value: RedisBytes, keepExpiry: Bool = false) -> Bool {
        if !keepExpiry && !fieldExpiries.isEmpty { fieldExpiries[field] = nil }
        switch storage {
        case .table(var t):
            storage = .packed(PackedEntries())
            let old = t.updateValue(value, forKey: field)
            storage = .table(t)
            return old == nil
        case .packed(var p):
            storage = .packed(PackedEntries())
            if let i = p.firstIndex(of: field.bytes, stride: 2) {
                if value.count > Self.maxPackedLength {
                    var t = Self.table(p)
                    t[field] = value
                    storage = .table(t)
                } else {
                    p.replace(at: i + 1, with: value.bytes)
                    storage = .packed(p)
                }
                return false
            }
            if p.count / 2 + 1 > Self.maxPackedEntries || field.count > Self.maxPackedLength
                || value.count > Self.maxPackedLength
            {
                var t = Self.table(p)
                t[field] = value
                storage = .table(t)
                return true
            }
            p.append(field.bytes)
            p.append(value.bytes)
            storage = .packed(p)
            return true
        }
    }

    private static func table(_ p: PackedEntries) -> [RedisBytes: RedisBytes] {
        let e = p.elements
        var t: [RedisBytes: RedisBytes] = [:]
        t.reserveCapacity(e.count / 2 + 1)
        var i = 0
        while i + 1 < e.count {
            t[e[i]] = e[i + 1]
            i += 2
        }
        return t
    }

    /// Removes a field; true when it was there.
    @discardableResult
    public func remove(_ field: RedisBytes) -> Bool {
        if !fieldExpiries.isEmpty { fieldExpiries[field] = nil }
        switch storage {
        case .table(var t):
            storage = .packed(PackedEntries())
            let removed = t.removeValue(forKey: field) != nil
            storage = .table(t)
            return removed
        case .packed(var p):
            guard let i = p.firstIndex(of: field.bytes, stride: 2) else { return false }
            storage = .packed(PackedEntries())
            p.removeSubrange(i, count: 2)
            storage = .packed(p)
            return true
        }
    }

    /// The expiry of a field (Unix ms), if it has one.
    public func expiry(_ field: RedisBytes) -> Int64? { fieldExpiries[field] }

    /// Sets (or, with nil, removes) a field's expiry. The field must exist.
    public func setExpiry(_ field: RedisBytes, _ ms: Int64?) { fieldExpiries[field] = ms }

    /// Deletes the fields whose expiry is at or before `now` (what a live Redis 7.4 does to expired fields),
    /// returning how many went.
    @discardableResult
    public func removeExpiredFields(now: Int64) -> Int {
        guard !fieldExpiries.isEmpty else { return 0 }
        let due = fieldExpiries.compactMap { $0.value <= now ? $0.key : nil }
        for f in due { remove(f) }
        return due.count
    }

    /// Every field in the reader's model, with expiries.
    public var fields: [HashField] {
        var out: [HashField] = []
        out.reserveCapacity(count)
        forEach { f, v in
            out.append(HashField(field: f, value: v, expiresAt: fieldExpiries[f].map { RedisTimestamp(milliseconds: $0) }))
            return true
        }
        return out
    }

    /// Calls `body` with each field and value until it returns false.
    public func forEach(_ body: (RedisBytes, RedisBytes) throws -> Bool) rethrows {
        switch storage {
        case .packed(let p):
            var field: RedisBytes?
            try p.forEach { e in
                if let f = field {
                    field = nil
                    return try body(f, RedisBytes(Array(e)))
                }
                field = RedisBytes(Array(e))
                return true
            }
        case .table(let t):
            for (f, v) in t where try !body(f, v) { return }
        }
    }

    /// The longest field or value.
    public var maxEntryLength: Int {
        switch storage {
        case .packed(let p): p.maxEntryLength
        case .table(let t): t.reduce(0) { max($0, $1.key.count, $1.value.count) }
        }
    }
}
