import RedisFormats

/// A compact sequence of byte strings in one buffer: each entry is its length as LEB128 then its bytes.
///
/// The keyspace's answer to Redis's listpack: a small list, set, hash or sorted set costs one allocation plus
/// one or two bytes per entry, not an array of separately allocated strings (which would cost 48 bytes or more
/// per element and break the "at most about 2x Redis's memory" goal on small collections). Access by index is
/// a scan, so containers keep these small (Redis's own `*-max-listpack-*` limits) or chunk them.
public struct PackedEntries: Sendable, Hashable {
    @usableFromInline var storage: [UInt8] = []
    /// Number of entries.
    public private(set) var count: Int = 0

    public init() {}

    /// Entries already packed (length-prefixed, as ``storage`` holds them); counts them.
    init(packed: [UInt8]) {
        storage = packed
        var o = 0
        var n = 0
        while o < packed.count {
            let h = header(at: o)
            o = h.start + h.length
            n += 1
        }
        count = n
    }

    public init<S: Sequence>(_ entries: S) where S.Element == RedisBytes {
        for e in entries { append(e.bytes) }
    }

    public var isEmpty: Bool { count == 0 }
    /// Bytes of the buffer (lengths and payloads).
    public var byteCount: Int { storage.count }

    // MARK: Encoding

    @inline(__always) static func appendLength(_ n: Int, to out: inout [UInt8]) {
        var v = UInt(n)
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    @inline(__always) static func lengthSize(_ n: Int) -> Int {
        var v = UInt(n)
        var s = 1
        while v >= 0x80 {
            v >>= 7
            s += 1
        }
        return s
    }

    /// Reads the entry at byte `offset`: (start of payload, payload length).
    @inline(__always) func header(at offset: Int) -> (start: Int, length: Int) {
        var shift: UInt = 0
        var v: UInt = 0
        var i = offset
        while true {
            let b = storage[i]
            v |= UInt(b & 0x7F) << shift
            i += 1
            if b < 0x80 { break }
            shift += 7
        }
        return (i, Int(v))
    }

    /// The byte offset of entry `index` (or the end when `index == count`).
    func offset(of index: Int) -> Int {
        precondition(index >= 0 && index <= count, "index out of range")
        var o = 0
        var i = 0
        while i < index {
            let h = header(at: o)
            o = h.start + h.length
            i += 1
        }
        return o
    }

    static func encoded<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var e: [UInt8] = []
        e.reserveCapacity(bytes.count + 2)
        appendLength(bytes.count, to: &e)
        e.append(contentsOf: bytes)
        return e
    }

    // MARK: Reading

    /// Calls `body` with each entry's bytes in order until it returns false.
    public func forEach(_ body: (UnsafeBufferPointer<UInt8>) throws -> Bool) rethrows {
        try storage.withUnsafeBufferPointer { buf in
            var o = 0
            while o < buf.count {
                let h = header(at: o)
                let slice = UnsafeBufferPointer(rebasing: buf[h.start..<(h.start + h.length)])
                if try !body(slice) { return }
                o = h.start + h.length
            }
        }
    }

    /// The entry at `index`, copied.
    public subscript(index: Int) -> RedisBytes {
        let h = header(at: offset(of: index))
        return RedisBytes(storage[h.start..<(h.start + h.length)])
    }

    /// Every entry, copied.
    public var elements: [RedisBytes] {
        var out: [RedisBytes] = []
        out.reserveCapacity(count)
        forEach {
            out.append(RedisBytes(Array($0)))
            return true
        }
        return out
    }

    /// The index of the first entry equal to `bytes`, stepping `stride` entries at a time (2 for the fields of
    /// field/value pairs).
    public func firstIndex<C: Collection>(of bytes: C, stride: Int = 1) -> Int? where C.Element == UInt8 {
        var found: Int?
        var i = 0
        let needle = Array(bytes)
        forEach { e in
            if i % stride == 0, e.count == needle.count, e.elementsEqual(needle) {
                found = i
                return false
            }
            i += 1
            return true
        }
        return found
    }

    /// The longest entry's length (for encoding conversions).
    public var maxEntryLength: Int {
        var m = 0
        forEach {
            m = max(m, $0.count)
            return true
        }
        return m
    }

    // MARK: Writing

    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        reserveForAppending(Self.lengthSize(bytes.count) + bytes.count)
        Self.appendLength(bytes.count, to: &storage)
        storage.append(contentsOf: bytes)
        count += 1
    }

    /// Makes room for `n` more bytes. A buffer grows by a quarter (at least 16 bytes) instead of doubling:
    /// most of a keyspace's collections are small and never shrink, so a doubled buffer's unused half
    /// would stay allocated for good (Redis's listpacks grow to the exact size).
    @inline(__always) mutating func reserveForAppending(_ n: Int) {
        let needed = storage.count + n
        guard needed > storage.capacity else { return }
        storage.reserveCapacity(max(needed, storage.capacity + max(16, storage.capacity / 4)))
    }

    public mutating func append(_ bytes: RedisBytes) { append(bytes.bytes) }

    public mutating func insert<C: Collection>(_ bytes: C, at index: Int) where C.Element == UInt8 {
        if index == count { return append(bytes) }
        reserveForAppending(Self.lengthSize(bytes.count) + bytes.count)
        let o = offset(of: index)
        storage.insert(contentsOf: Self.encoded(bytes), at: o)
        count += 1
    }

    public mutating func remove(at index: Int) {
        let o = offset(of: index)
        let h = header(at: o)
        storage.removeSubrange(o..<(h.start + h.length))
        count -= 1
    }

    /// Removes `n` entries starting at `index`.
    public mutating func removeSubrange(_ index: Int, count n: Int) {
        guard n > 0 else { return }
        let a = offset(of: index)
        var b = a
        for _ in 0..<n {
            let h = header(at: b)
            b = h.start + h.length
        }
        storage.removeSubrange(a..<b)
        count -= n
    }

    public mutating func replace<C: Collection>(at index: Int, with bytes: C) where C.Element == UInt8 {
        let o = offset(of: index)
        let h = header(at: o)
        storage.replaceSubrange(o..<(h.start + h.length), with: Self.encoded(bytes))
    }

    public mutating func removeAll() {
        storage = []
        count = 0
    }

    /// Splits off the entries from `index` on into a new sequence.
    public mutating func split(at index: Int) -> PackedEntries {
        let o = offset(of: index)
        var tail = PackedEntries()
        tail.storage = Array(storage[o...])
        tail.count = count - index
        storage.removeSubrange(o...)
        count = index
        return tail
    }

    /// Appends every entry of `other`.
    public mutating func append(contentsOf other: PackedEntries) {
        storage.append(contentsOf: other.storage)
        count += other.count
    }

    public mutating func shrinkToFit() {
        if storage.capacity > storage.count + 16 { storage = Array(storage) }
    }
}
