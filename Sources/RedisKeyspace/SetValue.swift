import RedisFormats

/// A set: packed while small (at most 128 members of at most 64 bytes, or 512 integers — Redis's listpack and
/// intset limits), a hash set beyond.
public final class SetValue: @unchecked Sendable {
    public static let maxPackedEntries = 128
    public static let maxPackedIntegers = 512
    public static let maxPackedLength = 64

    enum Storage {
        case packed(PackedEntries, allIntegers: Bool)
        case table(Set<RedisBytes>)
    }
    var storage: Storage = .packed(PackedEntries(), allIntegers: true)

    public init() {}

    public init(_ members: [RedisBytes]) {
        for m in members { insert(m) }
    }

    public func clone() -> SetValue {
        let c = SetValue()
        c.storage = storage
        return c
    }

    public var count: Int {
        switch storage {
        case .packed(let p, _): p.count
        case .table(let t): t.count
        }
    }

    public var isEmpty: Bool { count == 0 }

    /// True while every member is a canonical integer (what an intset can hold).
    public var isIntegers: Bool {
        switch storage {
        case .packed(_, let ints): ints
        case .table(let t): t.allSatisfy { RedisInteger.parse($0.bytes) != nil }
        }
    }

    public func contains(_ m: RedisBytes) -> Bool {
        switch storage {
        case .packed(let p, _): p.firstIndex(of: m.bytes) != nil
        case .table(let t): t.contains(m)
        }
    }

    /// Adds `m`; true when it was not there.
    @discardableResult
    public func insert(_ m: RedisBytes) -> Bool {
        switch storage {
        case .table(var t):
            storage = .packed(PackedEntries(), allIntegers: false)  // release the reference before mutating
            let added = t.insert(m).inserted
            storage = .table(t)
            return added
        case .packed(var p, let ints):
            if p.firstIndex(of: m.bytes) != nil { return false }
            let isInt = ints && RedisInteger.parse(m.bytes) != nil
            let limit = isInt ? Self.maxPackedIntegers : Self.maxPackedEntries
            if p.count + 1 > limit || m.count > Self.maxPackedLength {
                var t = Set(p.elements)
                t.insert(m)
                storage = .table(t)
                return true
            }
            storage = .table([])
            p.append(m.bytes)
            storage = .packed(p, allIntegers: isInt)
            return true
        }
    }

    /// Removes `m`; true when it was there.
    @discardableResult
    public func remove(_ m: RedisBytes) -> Bool {
        switch storage {
        case .table(var t):
            storage = .table([])
            let removed = t.remove(m) != nil
            storage = .table(t)
            return removed
        case .packed(var p, let ints):
            guard let i = p.firstIndex(of: m.bytes) else { return false }
            storage = .table([])
            p.remove(at: i)
            storage = .packed(p, allIntegers: ints)
            return true
        }
    }

    /// Every member (packed: insertion order; table: unspecified order).
    public var members: [RedisBytes] {
        switch storage {
        case .packed(let p, _): p.elements
        case .table(let t): Array(t)
        }
    }

    /// Calls `body` for each member until it returns false.
    public func forEach(_ body: (RedisBytes) throws -> Bool) rethrows {
        switch storage {
        case .packed(let p, _):
            try p.forEach { try body(RedisBytes(Array($0))) }
        case .table(let t):
            for m in t where try !body(m) { return }
        }
    }

    public var maxMemberLength: Int {
        switch storage {
        case .packed(let p, _): p.maxEntryLength
        case .table(let t): t.reduce(0) { max($0, $1.count) }
        }
    }
}
