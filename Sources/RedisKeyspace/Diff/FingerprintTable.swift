/// An open-addressing hash table from key ID (``KeyID``) to what the diff needs of a key: 48 bytes a key,
/// no per-key allocation, keys' names not kept (they are read again for the keys that differ).
struct FingerprintTable {
    struct Slot {
        /// ``KeyID`` of (db, key); zero marks an empty slot.
        var id: Fingerprint128
        var fingerprint: Fingerprint128
        var expiry: Int64
        var encoding: UInt16
        var type: UInt8
        /// The other side's type once seen there.
        var otherType: UInt8
        var flags: UInt8
    }

    static let seen: UInt8 = 1
    static let changed: UInt8 = 2

    private(set) var slots: [Slot]
    private(set) var count = 0
    private var mask: Int

    init(capacity: Int = 1024) {
        var n = 1024
        while n < capacity + capacity / 3 { n <<= 1 }
        slots = Array(repeating: Self.empty, count: n)
        mask = n - 1
    }

    static let empty = Slot(
        id: .zero, fingerprint: .zero, expiry: 0, encoding: 0, type: 0, otherType: 0, flags: 0)

    /// Grows ahead of `expected` keys (a size hint).
    mutating func reserve(_ expected: Int) {
        if expected + expected / 3 > slots.count { rehash(to: expected) }
    }

    private mutating func rehash(to minimum: Int) {
        var n = slots.count
        while n < minimum + minimum / 3 { n <<= 1 }
        guard n > slots.count else { return }
        let old = slots
        slots = []
        slots = Array(repeating: Self.empty, count: n)
        mask = n - 1
        count = 0
        for s in old where s.id != .zero { _ = insert(s) }
    }

    @inline(__always) private func start(_ id: Fingerprint128) -> Int { Int(truncatingIfNeeded: id.low) & mask }

    /// Inserts or replaces (a key twice on one side: the last one wins, as a loading server keeps it).
    @discardableResult
    mutating func insert(_ s: Slot) -> Int {
        if (count + 1) * 4 > slots.count * 3 { rehash(to: slots.count) }
        var i = start(s.id)
        while true {
            let id = slots[i].id
            if id == .zero {
                slots[i] = s
                count += 1
                return i
            }
            if id == s.id {
                slots[i] = s
                return i
            }
            i = (i + 1) & mask
        }
    }

    /// The slot index of `id`, if present.
    @inline(__always) func find(_ id: Fingerprint128) -> Int? {
        var i = start(id)
        while true {
            let x = slots[i].id
            if x == id { return i }
            if x == .zero { return nil }
            i = (i + 1) & mask
        }
    }

    subscript(i: Int) -> Slot {
        get { slots[i] }
        set { slots[i] = newValue }
    }

    /// Approximate bytes held.
    var byteCount: Int { slots.count * MemoryLayout<Slot>.stride }
}
