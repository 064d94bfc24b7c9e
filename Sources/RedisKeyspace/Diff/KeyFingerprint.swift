import RedisFormats

/// A 128-bit digest of a key's type and value (``KeyFingerprinter``) or of a key's name (``KeyID``).
///
/// Deterministic: the same bytes give the same fingerprint in every process, on every machine (no random seed).
/// Not collision resistant against crafted input; meant to tell two dumps of a keyspace apart.
public struct Fingerprint128: Hashable, Sendable, CustomStringConvertible {
    public var low: UInt64
    public var high: UInt64

    @inlinable public init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    public static let zero = Fingerprint128(low: 0, high: 0)

    /// 32 hexadecimal digits, high half first.
    public var description: String {
        let h = String(high, radix: 16)
        let l = String(low, radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h + String(repeating: "0", count: 16 - l.count) + l
    }
}

/// A streaming 128-bit hash over bytes and words: two 64-bit lanes, each a multiply-fold chain with its own
/// constants, cross-mixed at the end. Words go in whole; byte strings go in 8 bytes at a time (little-endian),
/// followed by their length, so `("ab","c")` and `("a","bc")` differ.
public struct Hash128 {
    @usableFromInline var a: UInt64
    @usableFromInline var b: UInt64
    @usableFromInline var n: UInt64 = 0

    @usableFromInline static let k0: UInt64 = 0xa076_1d64_78bd_642f
    @usableFromInline static let k1: UInt64 = 0xe703_7ed1_a0b4_28db
    @usableFromInline static let k2: UInt64 = 0x8ebc_6af0_9c88_c6e3
    @usableFromInline static let k3: UInt64 = 0x5899_65cc_7537_4cc3
    @usableFromInline static let k4: UInt64 = 0x9e37_79b9_7f4a_7c15
    @usableFromInline static let k5: UInt64 = 0xc2b2_ae3d_27d4_eb4f

    /// A hash seeded with `seed` (different seeds give unrelated hashes of the same input).
    @inlinable public init(seed: UInt64 = 0) {
        a = seed ^ Self.k0
        b = (seed &* Self.k4) ^ Self.k3
    }

    @inline(__always) @usableFromInline static func fold(_ x: UInt64, _ y: UInt64) -> UInt64 {
        let p = x.multipliedFullWidth(by: y)
        return p.high ^ p.low
    }

    @inline(__always) @usableFromInline static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 {
        (x << r) | (x >> (64 - r))
    }

    /// Adds one 64-bit word.
    @inlinable @inline(__always) public mutating func combine(_ w: UInt64) {
        a = Self.fold(a ^ w, Self.k1)
        b = Self.fold(b ^ Self.rotl(w, 29), Self.k2) &+ Self.k5
        n &+= 1
    }

    /// Adds a byte string and its length. 16 bytes a step: each lane folds one word keyed by the other.
    @inlinable public mutating func combine(bytes p: UnsafeRawBufferPointer) {
        let count = p.count
        var i = 0
        if let base = p.baseAddress {
            while i + 16 <= count {
                let w0 = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let w1 = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
                a = Self.fold(a ^ w0, w1 ^ Self.k1)
                b = Self.fold(b ^ w1, Self.rotl(w0, 29) ^ Self.k2) &+ Self.k5
                i += 16
            }
            if i + 8 <= count {
                combine(UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                i += 8
            }
            if i < count {
                var w: UInt64 = 0
                var shift: UInt64 = 0
                while i < count {
                    w |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift
                    shift += 8
                    i += 1
                }
                combine(w)
            }
        }
        combine(UInt64(truncatingIfNeeded: count) | 0x8000_0000_0000_0000)
    }

    /// Adds a byte string and its length.
    @inlinable public mutating func combine(_ bytes: RedisBytes) {
        bytes.bytes.withUnsafeBytes { combine(bytes: $0) }
    }

    /// Adds borrowed bytes and their length.
    @inlinable public mutating func combine(span: RawSpan) {
        span.withUnsafeBytes { combine(bytes: $0) }
    }

    @inline(__always) @usableFromInline static func avalanche(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 33)) &* 0xff51_afd7_ed55_8ccd
        z = (z ^ (z >> 33)) &* 0xc4ce_b9fe_1a85_ec53
        return z ^ (z >> 33)
    }

    /// The digest of everything added.
    @inlinable public func finish() -> Fingerprint128 {
        let x = Self.avalanche(a ^ Self.rotl(b, 17) ^ n)
        let y = Self.avalanche(b &+ Self.fold(a, Self.k3) &+ n)
        return Fingerprint128(low: x, high: y)
    }
}

/// The identity of a key in a diff: a 128-bit hash of (database, key bytes).
public enum KeyID {
    @inlinable public static func of(db: UInt64, key: UnsafeRawBufferPointer) -> Fingerprint128 {
        var h = Hash128(seed: 0x6b65_7969_64)
        h.combine(db)
        h.combine(bytes: key)
        var f = h.finish()
        // Never all zero: the fingerprint table uses zero for an empty slot.
        if f.low == 0 && f.high == 0 { f.low = 1 }
        return f
    }

    @inlinable public static func of(db: UInt64, key: RedisBytes) -> Fingerprint128 {
        key.bytes.withUnsafeBytes { of(db: db, key: $0) }
    }
}

/// What the fingerprint covers besides the value.
public struct FingerprintOptions: Sendable, Hashable {
    /// Include stream times that depend on the clock (PEL delivery times, consumers' seen and active times).
    public var streamTimes = false
    public init(streamTimes: Bool = false) { self.streamTimes = streamTimes }
}

/// The logical type of a value, as a diff compares it (the disk encoding is not part of it).
public enum DiffValueType: UInt8, Sendable, Hashable {
    case string = 1, list, set, zset, hash, stream, module, array

    public init(_ kind: RedisValueKind) {
        switch kind {
        case .string: self = .string
        case .list: self = .list
        case .set: self = .set
        case .zset: self = .zset
        case .hash: self = .hash
        case .stream: self = .stream
        case .module: self = .module
        case .array: self = .array
        }
    }

    /// The name `TYPE` prints (`module` for any module value).
    public var name: String {
        switch self {
        case .string: "string"
        case .list: "list"
        case .set: "set"
        case .zset: "zset"
        case .hash: "hash"
        case .stream: "stream"
        case .module: "module"
        case .array: "array"
        }
    }

    public init(_ value: RedisValue) {
        switch value {
        case .string: self = .string
        case .list: self = .list
        case .set: self = .set
        case .sortedSet: self = .zset
        case .hash: self = .hash
        case .stream: self = .stream
        case .module: self = .module
        case .array: self = .array
        }
    }
}

/// Builds the fingerprint of one value from its parts, in any encoding's order.
///
/// Canonical form: lists and stream entries in order; set members, hash fields (with their TTLs) and sorted
/// set members (with their scores) as the wrapping sum of per-element hashes, so their order does not matter;
/// stream groups, their PEL entries and consumers also as sums. Integers stored in compact encodings must be
/// given as their decimal text (as Redis returns them). Stream metadata a file version does not record
/// (`entries_added` before RDB 10, …) is hashed as absent, so files of different versions may differ here;
/// ``KeyspaceDiff`` then compares the values and ignores what one side does not record.
public struct KeyFingerprinter {
    public var options: FingerprintOptions
    var type: DiffValueType = .string
    var ordered = Hash128()
    var sumLow: UInt64 = 0
    var sumHigh: UInt64 = 0
    var elements: UInt64 = 0

    public init(options: FingerprintOptions = FingerprintOptions()) { self.options = options }

    /// Starts a value of `type`.
    public mutating func begin(_ type: DiffValueType) {
        self.type = type
        ordered = Hash128(seed: UInt64(type.rawValue))
        sumLow = 0
        sumHigh = 0
        elements = 0
    }

    @inline(__always) mutating func add(_ f: Fingerprint128) {
        sumLow &+= f.low
        sumHigh &+= f.high
        elements &+= 1
    }

    /// The bytes of a string value.
    public mutating func string(_ p: UnsafeRawBufferPointer) { ordered.combine(bytes: p) }

    /// A list element (ordered) or a set member (unordered), by the value's type.
    @inline(__always) public mutating func member(_ p: UnsafeRawBufferPointer) {
        if type == .list {
            ordered.combine(bytes: p)
            elements &+= 1
        } else {
            var h = Hash128(seed: 0x5e7)
            h.combine(bytes: p)
            add(h.finish())
        }
    }

    /// A sorted set member and its score (compared bit for bit: `-0` is not `0`).
    @inline(__always) public mutating func scored(_ member: UnsafeRawBufferPointer, score: Double) {
        var h = Hash128(seed: 0x25e7)
        h.combine(bytes: member)
        h.combine(score.bitPattern)
        add(h.finish())
    }

    /// A hash field, its value and its TTL.
    @inline(__always) public mutating func field(
        _ field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, expiresAt: Int64?
    ) {
        var h = Hash128(seed: 0x4a54)
        h.combine(bytes: field)
        h.combine(bytes: value)
        if let x = expiresAt {
            h.combine(1)
            h.combine(UInt64(bitPattern: x))
        }
        add(h.finish())
    }

    /// A stream entry (entries must come in ID order).
    public mutating func streamEntry(_ e: StreamEntry) {
        ordered.combine(0x5e)
        ordered.combine(e.id.ms)
        ordered.combine(e.id.seq)
        ordered.combine(UInt64(e.fields.count))
        for f in e.fields {
            ordered.combine(f.name)
            ordered.combine(f.value)
        }
        elements &+= 1
    }

    private static func optional(_ h: inout Hash128, _ v: UInt64?) {
        if let v {
            h.combine(1)
            h.combine(v)
        } else {
            h.combine(0)
        }
    }

    /// The stream's length and IDs.
    public mutating func streamMetadata(_ m: StreamMetadata) {
        var h = Hash128(seed: 0x3e7a)
        h.combine(m.length)
        h.combine(m.lastID.ms)
        h.combine(m.lastID.seq)
        Self.optional(&h, m.firstID?.ms)
        Self.optional(&h, m.firstID?.seq)
        Self.optional(&h, m.maxDeletedEntryID?.ms)
        Self.optional(&h, m.maxDeletedEntryID?.seq)
        Self.optional(&h, m.entriesAdded)
        add(h.finish())
    }

    /// A consumer group with its PEL and consumers.
    public mutating func streamGroup(_ g: StreamConsumerGroup) {
        var h = Hash128(seed: 0x6709)
        h.combine(g.name)
        h.combine(g.lastDeliveredID.ms)
        h.combine(g.lastDeliveredID.seq)
        Self.optional(&h, g.entriesRead)
        var pl: UInt64 = 0
        var ph: UInt64 = 0
        for p in g.pending {
            var e = Hash128(seed: 0x9e1)
            e.combine(p.id.ms)
            e.combine(p.id.seq)
            e.combine(p.deliveryCount)
            if let c = p.consumer {
                e.combine(1)
                e.combine(c)
            } else {
                e.combine(0)
            }
            if options.streamTimes { e.combine(UInt64(bitPattern: p.deliveryTime.milliseconds)) }
            let f = e.finish()
            pl &+= f.low
            ph &+= f.high
        }
        h.combine(UInt64(g.pending.count))
        h.combine(pl)
        h.combine(ph)
        var cl: UInt64 = 0
        var ch: UInt64 = 0
        for c in g.consumers {
            var e = Hash128(seed: 0xc0)
            e.combine(c.name)
            e.combine(UInt64(c.pending.count))
            for id in c.pending.sorted() {
                e.combine(id.ms)
                e.combine(id.seq)
            }
            if options.streamTimes {
                e.combine(UInt64(bitPattern: c.seenTime.milliseconds))
                e.combine(UInt64(bitPattern: c.activeTime?.milliseconds ?? Int64.min))
            }
            let f = e.finish()
            cl &+= f.low
            ch &+= f.high
        }
        h.combine(UInt64(g.consumers.count))
        h.combine(cl)
        h.combine(ch)
        h.combine(UInt64(g.nacked.count))
        for id in g.nacked.sorted() {
            h.combine(id.ms)
            h.combine(id.seq)
        }
        add(h.finish())
    }

    /// Stream idempotent-producer state (Redis 8.6).
    public mutating func streamIdempotency(_ s: StreamIdempotency) {
        var h = Hash128(seed: 0x1d)
        h.combine(s.durationSeconds)
        h.combine(s.maxEntries)
        h.combine(s.iidsAdded)
        h.combine(s.iidsDuplicates)
        for p in s.producers.sorted(by: { $0.pid < $1.pid }) {
            h.combine(p.pid)
            h.combine(UInt64(p.entries.count))
            for e in p.entries {
                h.combine(e.iid)
                h.combine(e.id.ms)
                h.combine(e.id.seq)
            }
        }
        add(h.finish())
    }

    /// A module value: its type id and serialized bytes (only the module can interpret them).
    public mutating func module(_ m: RedisModuleValue) {
        ordered.combine(m.type.id)
        m.raw.withUnsafeBytes { ordered.combine(bytes: $0) }
    }

    /// An element of a Redis 8.8 array (in index order).
    public mutating func arrayElement(index: UInt64, value: RedisBytes) {
        ordered.combine(index)
        ordered.combine(value)
        elements &+= 1
    }

    /// Any owned element, as the RDB reader hands them out.
    public mutating func element(_ e: RDBElement) {
        switch e {
        case .string(let s): s.bytes.withUnsafeBytes { string($0) }
        case .member(let m): m.bytes.withUnsafeBytes { member($0) }
        case .sortedSetEntry(let z): z.member.bytes.withUnsafeBytes { scored($0, score: z.score) }
        case .hashField(let f):
            f.field.bytes.withUnsafeBytes { fp in
                f.value.bytes.withUnsafeBytes { vp in field(fp, value: vp, expiresAt: f.expiresAt?.milliseconds) }
            }
        case .streamEntry(let s): streamEntry(s)
        case .streamMetadata(let m): streamMetadata(m)
        case .streamGroup(let g): streamGroup(g)
        case .streamIdempotency(let i): streamIdempotency(i)
        case .arrayElement(let index, let value): arrayElement(index: index, value: value)
        case .module(let m): module(m)
        }
    }

    /// The fingerprint of the value since ``begin(_:)``.
    public func finish() -> Fingerprint128 {
        var h = ordered
        h.combine(0xf1)
        h.combine(elements)
        h.combine(sumLow)
        h.combine(sumHigh)
        return h.finish()
    }

    /// The fingerprint of a whole value.
    public mutating func fingerprint(_ value: RedisValue) -> Fingerprint128 {
        begin(DiffValueType(value))
        switch value {
        case .string(let s): s.bytes.withUnsafeBytes { string($0) }
        case .list(let items), .set(let items):
            for m in items { m.bytes.withUnsafeBytes { member($0) } }
        case .sortedSet(let entries):
            for z in entries { z.member.bytes.withUnsafeBytes { scored($0, score: z.score) } }
        case .hash(let fields):
            for f in fields {
                f.field.bytes.withUnsafeBytes { fp in
                    f.value.bytes.withUnsafeBytes { vp in field(fp, value: vp, expiresAt: f.expiresAt?.milliseconds) }
                }
            }
        case .stream(let s):
            for e in s.entries { streamEntry(e) }
            streamMetadata(s.metadata)
            for g in s.groups { streamGroup(g) }
            if let i = s.idempotency { streamIdempotency(i) }
        case .module(let m): module(m)
        case .array(let elements):
            for e in elements { arrayElement(index: e.index, value: e.value) }
        }
        return finish()
    }
}
