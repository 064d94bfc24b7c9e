#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import CMemoryHints
import RedisFormats

/// One database's keys: an open-addressing hash table (linear probing, backward-shift deletion, load at most
/// 7/8) of records, each a single allocation holding the key's bytes, its expiry, its value and — for strings
/// of at most ``embeddedStringLimit`` bytes — the string itself (Redis's `embstr` idea).
///
/// Why not `[RedisBytes: Entry]`: a Swift dictionary slot, a separately allocated key array and a separately
/// allocated string value cost about 150 bytes per small string key; a record and an 8-byte slot cost about
/// 80. Hashing is a seeded 64-bit multiply-mix over the key bytes (a different seed per process, so a hostile
/// file cannot aim collisions at it); its low 32 bits are kept beside each slot, so probes and resizes rarely
/// touch the records themselves.
public final class KeyTable: Sequence, @unchecked Sendable {
    /// Strings up to this many bytes live inside the key's record.
    public static let embeddedStringLimit = 4096

    private var slots: [KeyRecord?]
    /// The low 32 bits of each occupied slot's key hash (0 for empty slots is fine: `slots` says which are
    /// occupied). Probing compares these first, so a probe touches a record only on a likely match, and a
    /// resize never touches records at all.
    private var tags: [UInt32]
    private var mask: Int
    public private(set) var count = 0
    /// Counts insertions of new keys and removals (not value or expiry changes): snapshots of the key set
    /// compare it to know they are still valid.
    public private(set) var keyVersion: UInt64 = 0

    public init(capacity: Int = 8) {
        var n = 8
        while n * 7 / 8 < capacity { n <<= 1 }
        slots = [KeyRecord?](repeating: nil, count: n)
        tags = [UInt32](repeating: 0, count: n)
        mask = n - 1
    }

    public var isEmpty: Bool { count == 0 }

    // MARK: Hashing

    private static let seed: UInt64 = UInt64.random(in: 1...UInt64.max)

    @inline(__always) static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let r = a.multipliedFullWidth(by: b)
        return r.high ^ r.low
    }

    /// A seeded 64-bit hash of bytes (wyhash-style folding of 8-byte words).
    static func hash(_ p: UnsafeRawBufferPointer) -> UInt64 {
        var h = seed ^ (UInt64(p.count) &* 0x9E37_79B9_7F4A_7C15)
        var i = 0
        let n = p.count
        while i + 8 <= n {
            let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = mix(h ^ w, 0xA076_1D64_78BD_642F)
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var s: UInt64 = 0
            while i < n {
                w |= UInt64(p[i]) << s
                s += 8
                i += 1
            }
            h = mix(h ^ w, 0xE703_7ED1_A0B4_28DB)
        }
        return mix(h, 0x8EBC_6AF0_9C88_C6E3)
    }

    @inline(__always) static func hash(_ key: RedisBytes) -> UInt64 {
        key.bytes.withUnsafeBytes { hash($0) }
    }

    // A key whose hash is already known (see ``setHint(_:hash:)``), by the address and length of its bytes.
    private var hintBase: UnsafeRawPointer?
    private var hintCount = 0
    private var hintHash: UInt64 = 0

    /// Tells the table the hash of `key`, computed elsewhere (a loader's reading thread), for the lookups of one
    /// command. The key is recognised by the address of its bytes, so the hint must be cleared with
    /// ``clearHint()`` before those bytes can be freed. Only for a table one thread uses.
    @inline(__always) func setHint(_ key: RedisBytes, hash: UInt64) {
        key.bytes.withUnsafeBytes { p in
            hintBase = p.count > 0 ? p.baseAddress : nil
            hintCount = p.count
            hintHash = hash
        }
    }

    @inline(__always) func clearHint() { hintBase = nil }

    /// The hash of `key`: the hinted one when `key` is the hinted bytes.
    @inline(__always) private func hashOf(_ key: RedisBytes) -> UInt64 {
        key.bytes.withUnsafeBytes { p in
            if let b = hintBase, p.baseAddress == b, p.count == hintCount { return hintHash }
            return Self.hash(p)
        }
    }

    // MARK: Prefetching

    /// Starts loading the slot and tag where a probe for `hash` begins.
    @inline(__always) func prefetch(hash h: UInt64) {
        let i = Int(UInt32(truncatingIfNeeded: h)) & mask
        slots.withUnsafeBufferPointer { rdbkit_prefetch($0.baseAddress! + i) }
        tags.withUnsafeBufferPointer { rdbkit_prefetch($0.baseAddress! + i) }
    }

    /// Starts loading the record a probe for `hash` would compare first (after ``prefetch(hash:)`` brought its
    /// slots in). Reads slot bits without retaining the record, looks at most a few slots down the probe run.
    @inline(__always) func prefetchRecord(hash h: UInt64) {
        let tag = UInt32(truncatingIfNeeded: h)
        var i = Int(tag) & mask
        slots.withUnsafeBufferPointer { s in
            tags.withUnsafeBufferPointer { t in
                let base = UnsafeRawPointer(s.baseAddress!)
                for _ in 0..<4 {
                    let bits = rdbkit_load_word(base + i &* MemoryLayout<KeyRecord?>.stride)
                    guard bits != 0 else { return }
                    if t[i] == tag {
                        if let r = UnsafeRawPointer(bitPattern: UInt(bits)) {
                            rdbkit_prefetch(r)
                            rdbkit_prefetch(r + 64)
                        }
                        return
                    }
                    i = (i + 1) & mask
                }
            }
        }
    }

    // MARK: Lookup

    /// The slot holding `key`, or nil.
    private func find(_ key: RedisBytes, hash h: UInt64) -> Int? {
        let tag = UInt32(truncatingIfNeeded: h)
        var i = Int(tag) & mask
        return slots.withUnsafeBufferPointer { s in
            tags.withUnsafeBufferPointer { t in
                while let r = s[i] {
                    if t[i] == tag && r.keyEquals(key) { return i }
                    i = (i + 1) & mask
                }
                return nil
            }
        }
    }

    public subscript(key: RedisBytes) -> Keyspace.Entry? {
        get {
            guard let i = find(key, hash: hashOf(key)) else { return nil }
            return slots[i]!.entry
        }
        set {
            if let newValue { insert(key, newValue) } else { removeValue(forKey: key) }
        }
    }

    public func contains(_ key: RedisBytes) -> Bool { find(key, hash: hashOf(key)) != nil }

    /// The record of `key` (value and expiry without copying an embedded string until asked).
    @inline(__always) func record(_ key: RedisBytes) -> KeyRecord? {
        guard let i = find(key, hash: hashOf(key)) else { return nil }
        return slots[i]
    }

    /// Sets a key's entry, replacing any previous one.
    public func insert(_ key: RedisBytes, _ entry: Keyspace.Entry) {
        let h = hashOf(key)
        if let i = find(key, hash: h) {
            slots[i] = KeyRecord.make(key: key, entry: entry)
            return
        }
        if (count + 1) * 8 > (mask + 1) * 7 { grow() }
        let tag = UInt32(truncatingIfNeeded: h)
        var i = Int(tag) & mask
        while slots[i] != nil { i = (i + 1) & mask }
        slots[i] = KeyRecord.make(key: key, entry: entry)
        tags[i] = tag
        count += 1
        keyVersion &+= 1
    }

    /// Embeds the value of `key` in its record when it is a small packed collection (see
    /// ``KeyRecord/makeEmbedded(key:value:expiry:)``). A loader calls it once a command is done with the key;
    /// ``expanded(_:)`` undoes it before the next command changes the value.
    func embed(_ key: RedisBytes) {
        guard let i = find(key, hash: hashOf(key)) else { return }
        let r = slots[i]!
        guard r.header.embeddedLength < 0,
            let e = KeyRecord.makeEmbedded(key: key, value: r.header.value, expiry: r.header.expiry) else { return }
        slots[i] = e
    }

    /// The record of `key` with its value as an object the caller may change in place: an embedded collection
    /// is first copied out into a record of the object form, which replaces the embedded one.
    func expanded(_ key: RedisBytes) -> KeyRecord? {
        guard let i = find(key, hash: hashOf(key)) else { return nil }
        let r = slots[i]!
        guard r.isEmbeddedCollection else { return r }
        let x = KeyRecord.make(key: key, entry: r.entry)
        slots[i] = x
        return x
    }

    /// How many records hold an embedded collection (for tests and memory reports).
    var embeddedCollectionCount: Int {
        slots.reduce(0) { $0 + ($1?.isEmbeddedCollection == true ? 1 : 0) }
    }

    /// Changes only the expiry of an existing key; false when the key is absent.
    @discardableResult
    public func setExpiry(_ key: RedisBytes, _ raw: Int64) -> Bool {
        guard let i = find(key, hash: hashOf(key)) else { return false }
        slots[i]!.header.expiry = raw
        return true
    }

    @discardableResult
    public func removeValue(forKey key: RedisBytes) -> Keyspace.Entry? {
        guard var i = find(key, hash: hashOf(key)) else { return nil }
        let old = slots[i]!.entry
        slots[i] = nil
        count -= 1
        keyVersion &+= 1
        // Backward-shift: move later members of the probe run into the hole when their home allows it.
        var j = i
        while true {
            j = (j + 1) & mask
            guard let r = slots[j] else { break }
            let home = Int(tags[j]) & mask
            // r may move to i if i lies cyclically in [home, j).
            let movable = i <= j ? (home <= i || home > j) : (home <= i && home > j)
            if movable {
                slots[i] = r
                tags[i] = tags[j]
                slots[j] = nil
                i = j
            }
        }
        return old
    }

    /// Doubles the table. Records are moved between the slot arrays, never retained or released: touching
    /// each record's reference count would cost a cache miss per key, twice.
    private func grow() {
        let n = (mask + 1) * 2
        let newMask = n - 1
        var newSlots = [KeyRecord?](repeating: nil, count: n)
        var newTags = [UInt32](repeating: 0, count: n)
        slots.withUnsafeMutableBufferPointer { old in
            tags.withUnsafeBufferPointer { oldTags in
                newSlots.withUnsafeMutableBufferPointer { new in
                    newTags.withUnsafeMutableBufferPointer { nt in
                        let from = old.baseAddress!
                        let to = new.baseAddress!
                        for j in 0..<old.count where from[j] != nil {
                            let tag = oldTags[j]
                            var i = Int(tag) & newMask
                            while to[i] != nil { i = (i + 1) & newMask }
                            // `to[i]` holds nil (nothing to release); `from[j]` is left holding nil again.
                            (to + i).initialize(to: (from + j).move())
                            (from + j).initialize(to: nil)
                            nt[i] = tag
                        }
                    }
                }
            }
        }
        slots = newSlots
        tags = newTags
        mask = newMask
    }

    public func removeAll() {
        slots = [KeyRecord?](repeating: nil, count: 8)
        tags = [UInt32](repeating: 0, count: 8)
        mask = 7
        count = 0
        keyVersion &+= 1
    }

    // MARK: Iteration

    /// Number of slots: a stable cursor space for SCAN while the table does not change.
    public var slotCount: Int { mask + 1 }

    /// The key and entry in slot `i`, if any.
    public func slot(_ i: Int) -> (key: RedisBytes, value: Keyspace.Entry)? {
        guard i >= 0 && i <= mask, let r = slots[i] else { return nil }
        return (r.key, r.entry)
    }

    public var keys: [RedisBytes] { slots.compactMap { $0?.key } }

    /// Every entry, in table order.
    public var values: [Keyspace.Entry] { slots.compactMap { $0?.entry } }

    public struct Iterator: IteratorProtocol {
        let table: KeyTable
        var i = 0
        public mutating func next() -> (key: RedisBytes, value: Keyspace.Entry)? {
            while i <= table.mask {
                defer { i += 1 }
                if let r = table.slots[i] { return (r.key, r.entry) }
            }
            return nil
        }
    }

    public func makeIterator() -> Iterator { Iterator(table: self) }

    /// Every key's type name and whether it has an expiry, without copying keys or embedded strings out
    /// of their records (a walk over millions of keys that only counts).
    public func forEachTypeAndExpiry(_ body: (_ typeName: String, _ hasExpiry: Bool) -> Void) {
        for case let r? in slots {
            let h = r.header
            body(h.value.typeName, h.expiry != Keyspace.noExpiry)
        }
    }

    /// How many keys of each type (by type name) and how many with an expiry: ``forEachTypeAndExpiry(_:)``
    /// counted in place, the value never copied out of its record (which would retain it) and the six
    /// built-in types counted without hashing a name per key.
    public func typeAndExpiryCounts() -> (types: [String: Int], expires: Int) {
        var builtin = (string: 0, list: 0, set: 0, zset: 0, hash: 0, stream: 0)
        var others: [String: Int] = [:]
        var expires = 0
        slots.withUnsafeBufferPointer { s in
            let raw = UnsafeRawPointer(s.baseAddress!)
            for j in 0..<s.count {
                // Records are all over the heap: load the one 16 slots ahead while this one is counted.
                if j &+ 16 < s.count,
                    let ahead = UnsafeRawPointer(bitPattern: rdbkit_load_word(raw + (j &+ 16) &* MemoryLayout<KeyRecord?>.stride))
                {
                    rdbkit_prefetch(ahead)
                }
                guard let r = s[j] else { continue }
                count(r)
            }
        }
        func count(_ r: KeyRecord) {
            r.withUnsafeMutablePointerToHeader { h in
                if h.pointee.expiry != Keyspace.noExpiry { expires += 1 }
                // An embedded value's header holds `.string(.empty)` or a collection marker of its type.
                switch h.pointee.value {
                case .string: builtin.string += 1
                case .list: builtin.list += 1
                case .set: builtin.set += 1
                case .sortedSet: builtin.zset += 1
                case .hash: builtin.hash += 1
                case .stream: builtin.stream += 1
                case .opaque(let o): others[o.value.typeName, default: 0] += 1
                }
            }
        }
        var types = others
        for (name, n) in [
            ("string", builtin.string), ("list", builtin.list), ("set", builtin.set), ("zset", builtin.zset),
            ("hash", builtin.hash), ("stream", builtin.stream),
        ] where n > 0 {
            types[name, default: 0] += n
        }
        return (types, expires)
    }
}

struct KeyRecordHeader {
    /// The value; for an embedded value, `.string(.empty)` or one of the ``EmbeddedMarker`` collections, which
    /// say the type of the bytes after the key.
    var value: KeyValue
    var expiry: Int64
    var keyLength: Int32
    /// Length of the embedded value after the key (a string's bytes, or a small collection's packed entries),
    /// or -1 when `value` holds the value.
    var embeddedLength: Int32

}

/// Shared, never-modified collections put in the header of a record whose small collection is embedded, as the
/// type tag of the packed entries after the key. They are never handed out: ``KeyRecord/value`` builds a new
/// collection from the bytes.
enum EmbeddedMarker {
    static let hash = HashValue()
    static let set = SetValue()
    /// A set whose members are all integers (Redis's intset).
    static let integerSet = SetValue()
    static let list = ListValue()
}

/// A key's record: header, then the key's bytes, then an embedded string value.
final class KeyRecord: ManagedBuffer<KeyRecordHeader, UInt8> {
    static func make(key: RedisBytes, entry: Keyspace.Entry) -> KeyRecord {
        var embedded: RedisBytes?
        if case .string(let s) = entry.value, s.count <= KeyTable.embeddedStringLimit { embedded = s }
        let total = key.count + (embedded?.count ?? 0)
        let r =
            KeyRecord.create(minimumCapacity: total) { _ in
                KeyRecordHeader(
                    value: embedded == nil ? entry.value : .string(.empty), expiry: entry.rawExpiry,
                    keyLength: Int32(key.count), embeddedLength: Int32(embedded?.count ?? -1))
            } as! KeyRecord
        r.withUnsafeMutablePointerToElements { p in
            key.bytes.withUnsafeBufferPointer { k in
                if let b = k.baseAddress { p.update(from: b, count: k.count) }
            }
            if let e = embedded {
                e.bytes.withUnsafeBufferPointer { v in
                    if let b = v.baseAddress { (p + key.count).update(from: b, count: v.count) }
                }
            }
        }
        return r
    }

    /// The record of a small collection with its packed entries embedded after the key (one allocation where
    /// the object form takes three: record, collection object and entry buffer), or nil when `value` is not a
    /// packed hash without field TTLs, a packed set or a one-node list of at most ``KeyTable/embeddedStringLimit``
    /// bytes.
    static func makeEmbedded(key: RedisBytes, value: KeyValue, expiry: Int64) -> KeyRecord? {
        let packed: PackedEntries
        let marker: KeyValue
        switch value {
        case .hash(let h):
            guard h.fieldExpiries.isEmpty, case .packed(let p) = h.storage else { return nil }
            packed = p
            marker = .hash(EmbeddedMarker.hash)
        case .set(let v):
            guard case .packed(let p, let integers) = v.storage else { return nil }
            packed = p
            marker = .set(integers ? EmbeddedMarker.integerSet : EmbeddedMarker.set)
        case .list(let l):
            guard case .one(let p) = l.nodes.storage else { return nil }
            packed = p
            marker = .list(EmbeddedMarker.list)
        default:
            return nil
        }
        guard packed.count > 0, packed.byteCount <= KeyTable.embeddedStringLimit else { return nil }
        let r =
            KeyRecord.create(minimumCapacity: key.count + packed.byteCount) { _ in
                KeyRecordHeader(
                    value: marker, expiry: expiry, keyLength: Int32(key.count), embeddedLength: Int32(packed.byteCount))
            } as! KeyRecord
        r.withUnsafeMutablePointerToElements { p in
            key.bytes.withUnsafeBufferPointer { k in
                if let b = k.baseAddress { p.update(from: b, count: k.count) }
            }
            packed.storage.withUnsafeBufferPointer { v in
                if let b = v.baseAddress { (p + key.count).update(from: b, count: v.count) }
            }
        }
        return r
    }

    /// Whether the value is a collection embedded as packed entries (see ``makeEmbedded(key:value:expiry:)``).
    var isEmbeddedCollection: Bool {
        guard header.embeddedLength >= 0 else { return false }
        if case .string = header.value { return false }
        return true
    }

    @inline(__always) func keyEquals(_ key: RedisBytes) -> Bool {
        let n = Int(header.keyLength)
        guard n == key.count else { return false }
        return withUnsafeMutablePointerToElements { p in
            key.bytes.withUnsafeBufferPointer { k in
                n == 0 || memcmp(p, k.baseAddress!, n) == 0
            }
        }
    }

    var key: RedisBytes {
        let n = Int(header.keyLength)
        return withUnsafeMutablePointerToElements { RedisBytes(Array(UnsafeBufferPointer(start: $0, count: n))) }
    }

    /// The value; an embedded one is copied out into a new string or collection.
    var value: KeyValue {
        let e = Int(header.embeddedLength)
        guard e >= 0 else { return header.value }
        let n = Int(header.keyLength)
        let bytes = withUnsafeMutablePointerToElements { Array(UnsafeBufferPointer(start: $0 + n, count: e)) }
        switch header.value {
        case .hash:
            let h = HashValue()
            h.storage = .packed(PackedEntries(packed: bytes))
            return .hash(h)
        case .set(let marker):
            let v = SetValue()
            v.storage = .packed(PackedEntries(packed: bytes), allIntegers: marker === EmbeddedMarker.integerSet)
            return .set(v)
        case .list:
            return .list(ListValue(node: PackedEntries(packed: bytes)))
        default:
            return .string(RedisBytes(bytes))
        }
    }

    var entry: Keyspace.Entry {
        var x = Keyspace.Entry(value: value)
        x.rawExpiry = header.expiry
        return x
    }
}
