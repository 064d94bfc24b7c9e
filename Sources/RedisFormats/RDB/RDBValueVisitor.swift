/// Receives a value's parts as borrowed bytes, without copying them: the fastest way to read values.
///
/// The spans are valid only during the call. Integers stored in compact encodings arrive as their
/// decimal text, as Redis would return them. Stream parts, module values and array elements arrive
/// owned through ``visitElement(_:)``.
///
/// ```swift
/// final class Sizer: RDBValueVisitor {
///     var bytes = 0
///     func visitString(_ s: RawSpan) { bytes += s.byteCount }
///     func visitMember(_ m: RawSpan) { bytes += m.byteCount }
///     func visitSortedSetEntry(member: RawSpan, score: Double) { bytes += member.byteCount + 8 }
///     func visitHashField(_ f: RawSpan, value: RawSpan, expiresAt: RedisTimestamp?) {
///         bytes += f.byteCount + value.byteCount
///     }
///     func visitElement(_ e: RDBElement) {}
/// }
/// let sizer = Sizer()
/// try reader.visitValue(sizer)
/// ```
public protocol RDBValueVisitor: AnyObject {
    /// The value of a string key.
    func visitString(_ bytes: RawSpan)
    /// A list element or a set member.
    func visitMember(_ bytes: RawSpan)
    /// A list element or set member stored as an integer (intsets, listpack and ziplist integers).
    /// By default its decimal text goes to ``visitMember(_:)``.
    func visitMember(integer: Int64)
    /// A sorted set member and its score.
    func visitSortedSetEntry(member: RawSpan, score: Double)
    /// A compact-encoding blob (listpack, ziplist, intset, zipmap) or quicklist node about to be
    /// walked: its size as stored (uncompressed), which is what the server holds in memory.
    /// By default nothing happens.
    func visitEncodedBlob(_ blob: RDBEncodedBlob)
    /// A hash field, its value and its TTL.
    func visitHashField(_ field: RawSpan, value: RawSpan, expiresAt: RedisTimestamp?)
    /// Stream entries, metadata and groups, module values, array elements.
    func visitElement(_ element: RDBElement)
    /// Whether ``visitString(_:)`` needs the bytes of an LZF-compressed string value. When false, such a
    /// value is only checked to decompress to its declared length (the stream is walked, nothing is
    /// written) and ``visitCompressedString(length:)`` is called instead. True by default.
    var needsCompressedStringBytes: Bool { get }
    /// An LZF-compressed string value that decompresses to `length` bytes, when
    /// ``needsCompressedStringBytes`` is false. By default nothing happens.
    func visitCompressedString(length: Int)
    /// Whether ``RDBReader/visitValueShape(_:)`` may hand each stream entry over as
    /// ``visitStreamEntryShape(fieldCount:byteCount:)`` instead of whole through ``visitElement(_:)``.
    /// False by default.
    var acceptsStreamEntryShapes: Bool { get }
    /// A stream entry's field count and the bytes of its field names and values (integers as their
    /// decimal text), when ``acceptsStreamEntryShapes`` is true. By default nothing happens.
    func visitStreamEntryShape(fieldCount: Int, byteCount: Int)
    /// Whether an intset (members ascending and unique, all integers) may be handed over as its member
    /// count through ``visitIntset(count:)`` instead of member by member; the members are still checked
    /// as the reader's validation requires. False by default.
    var acceptsIntsetCounts: Bool { get }
    /// An intset's member count, when ``acceptsIntsetCounts`` is true. By default nothing happens.
    func visitIntset(count: Int)
}

/// The size and kind of one compact-encoding blob of a value, for memory estimates.
public struct RDBEncodedBlob: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case listpack, ziplist, intset, zipmap
        /// A quicklist node holding one element as plain bytes (Redis 7+ `PLAIN` node).
        case plainNode
    }
    public var kind: Kind
    /// Bytes of the blob (for a plain node, of its element).
    public var byteCount: Int
    /// Whether it is one node of a quicklist.
    public var isQuicklistNode: Bool
    /// Its LZF-compressed size in the file, when it is stored compressed.
    public var compressedByteCount: Int?

    public init(kind: Kind, byteCount: Int, isQuicklistNode: Bool = false, compressedByteCount: Int? = nil) {
        self.kind = kind
        self.byteCount = byteCount
        self.isQuicklistNode = isQuicklistNode
        self.compressedByteCount = compressedByteCount
    }
}

extension RDBValueVisitor {
    public var needsCompressedStringBytes: Bool { true }
    public func visitCompressedString(length: Int) {}
    public func visitEncodedBlob(_ blob: RDBEncodedBlob) {}
    public var acceptsStreamEntryShapes: Bool { false }
    public func visitStreamEntryShape(fieldCount: Int, byteCount: Int) {}
    public var acceptsIntsetCounts: Bool { false }
    public func visitIntset(count: Int) {}

    public func visitMember(integer: Int64) {
        var text: (UInt64, UInt64, UInt64) = (0, 0, 0)
        unsafe withUnsafeMutableBytes(of: &text) { buf in
            let n = unsafe RedisInteger.writeText(integer, into: buf)
            unsafe visitMember(UnsafeRawBufferPointer(rebasing: buf[0..<n]).bytes)
        }
    }
}

/// Where the value state machine puts elements.
protocol ElementSink {
    mutating func string(_ v: PackedValue)
    mutating func member(_ v: PackedValue)
    mutating func scored(_ member: PackedValue, _ score: Double)
    mutating func field(_ f: PackedValue, _ v: PackedValue, _ expire: Int64?)
    /// A field read as two owned strings (hashtable encodings).
    mutating func field(_ f: [UInt8], _ v: [UInt8], _ expire: Int64?)
    mutating func element(_ e: RDBElement)
    /// A compact blob or quicklist node about to be walked (memory estimates).
    mutating func encodedBlob(_ blob: RDBEncodedBlob)
    /// Whether a string value stored LZF-compressed must be decompressed for ``string(_:)``; when false,
    /// it is validated and ``compressedString(length:)`` gets its length.
    var needsCompressedStringBytes: Bool { get }
    mutating func compressedString(length: Int)
    /// Whether a sorted integer blob (intset) may be handed over as its count and extremes through
    /// ``sortedIntegerBlob(count:first:last:)`` instead of member by member (in a deep check, after its
    /// members were checked ascending and unique).
    var countsSortedIntegerBlobs: Bool { get }
    mutating func sortedIntegerBlob(count: Int, first: Int64, last: Int64)
    /// Whether stream entries may be handed over as ``streamEntryShape(fieldCount:byteCount:)``.
    var countsStreamEntries: Bool { get }
    mutating func streamEntryShape(fieldCount: Int, byteCount: Int)
}

extension ElementSink {
    var countsSortedIntegerBlobs: Bool { false }
    mutating func sortedIntegerBlob(count: Int, first: Int64, last: Int64) {}
    var countsStreamEntries: Bool { false }
    mutating func streamEntryShape(fieldCount: Int, byteCount: Int) {}
    mutating func encodedBlob(_ blob: RDBEncodedBlob) {}
    var needsCompressedStringBytes: Bool { true }
    mutating func compressedString(length: Int) {}
    mutating func field(_ f: [UInt8], _ v: [UInt8], _ expire: Int64?) {
        unsafe f.withUnsafeBytes { fp in
            unsafe v.withUnsafeBytes { vp in unsafe field(.bytes(fp), .bytes(vp), expire) }
        }
    }
}

/// Drops everything (validation, skipping).
struct NullSink: ElementSink {
    func string(_ v: PackedValue) {}
    func member(_ v: PackedValue) {}
    func scored(_ member: PackedValue, _ score: Double) {}
    func field(_ f: PackedValue, _ v: PackedValue, _ expire: Int64?) {}
    func field(_ f: [UInt8], _ v: [UInt8], _ expire: Int64?) {}
    func element(_ e: RDBElement) {}
}

/// Collects owned elements (``RDBReader/nextElement()``).
struct OwnedSink: ElementSink {
    var items: [RDBElement]

    mutating func string(_ v: PackedValue) { items.append(.string(v.redisBytes)) }
    mutating func member(_ v: PackedValue) { items.append(.member(v.redisBytes)) }
    mutating func scored(_ member: PackedValue, _ score: Double) {
        items.append(.sortedSetEntry(SortedSetEntry(member: member.redisBytes, score: score)))
    }
    mutating func field(_ f: PackedValue, _ v: PackedValue, _ expire: Int64?) {
        items.append(.hashField(HashField(
            field: f.redisBytes, value: v.redisBytes, expiresAt: expire.map { RedisTimestamp(milliseconds: $0) })))
    }
    mutating func field(_ f: [UInt8], _ v: [UInt8], _ expire: Int64?) {
        items.append(.hashField(HashField(
            field: RedisBytes(f), value: RedisBytes(v), expiresAt: expire.map { RedisTimestamp(milliseconds: $0) })))
    }
    mutating func element(_ e: RDBElement) { items.append(e) }
}

/// Adapts a public visitor: integers become their decimal text in a stack buffer.
struct VisitorSink: ElementSink {
    /// Each method borrows it into a local first (`let visitor = self.visitor`): called through `self`, or
    /// captured by a closure, it was retained and released per element (6 % of a deep check's profile).
    let visitor: any RDBValueVisitor

    @inline(__always)
    private static func withSpan<R>(_ v: PackedValue, _ body: (RawSpan) -> R) -> R {
        switch v {
        case .bytes(let p): return unsafe body(p.bytes)
        case .int(let i):
            return unsafe withUnsafeTemporaryAllocation(byteCount: 24, alignment: 1) { buf in
                let n = unsafe RedisInteger.writeText(i, into: buf)
                return unsafe body(UnsafeRawBufferPointer(rebasing: buf[0..<n]).bytes)
            }
        }
    }

    mutating func string(_ v: PackedValue) {
        let visitor = self.visitor
        Self.withSpan(v) { visitor.visitString($0) }
    }
    mutating func member(_ v: PackedValue) {
        let visitor = self.visitor
        if case .int(let i) = v {
            visitor.visitMember(integer: i)
        } else {
            Self.withSpan(v) { visitor.visitMember($0) }
        }
    }
    mutating func scored(_ member: PackedValue, _ score: Double) {
        let visitor = self.visitor
        Self.withSpan(member) { visitor.visitSortedSetEntry(member: $0, score: score) }
    }
    mutating func field(_ f: PackedValue, _ v: PackedValue, _ expire: Int64?) {
        let visitor = self.visitor
        Self.withSpan(f) { fs in
            Self.withSpan(v) { vs in
                visitor.visitHashField(fs, value: vs, expiresAt: expire.map { RedisTimestamp(milliseconds: $0) })
            }
        }
    }
    mutating func element(_ e: RDBElement) { visitor.visitElement(e) }
    mutating func encodedBlob(_ blob: RDBEncodedBlob) { visitor.visitEncodedBlob(blob) }
    var needsCompressedStringBytes: Bool { visitor.needsCompressedStringBytes }
    mutating func compressedString(length: Int) { visitor.visitCompressedString(length: length) }
    var countsSortedIntegerBlobs: Bool { visitor.acceptsIntsetCounts }
    mutating func sortedIntegerBlob(count: Int, first: Int64, last: Int64) { visitor.visitIntset(count: count) }
}

extension RDBReader {
    /// Reads the rest of the current value, lending each part to `visitor` without copying it.
    /// - Precondition: the last record was ``RDBRecord/key(_:)``.
    public func visitValue(_ visitor: any RDBValueVisitor) throws(RDBError) {
        var sink = VisitorSink(visitor: visitor)
        try guarded { () throws(ParseFailure) in
            // Hand over elements already decoded by nextElement().
            while pendingIndex < pending.count {
                let e = pending[pendingIndex]
                pendingIndex += 1
                sink.deliver(e)
            }
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
            try finishValue(mode: .materialize, into: &sink)
        }
    }
}

extension VisitorSink {
    /// Delivers an owned element through the borrowed entry points.
    func deliver(_ e: RDBElement) {
        switch e {
        case .string(let s): unsafe s.bytes.withUnsafeBytes { unsafe visitor.visitString($0.bytes) }
        case .member(let m): unsafe m.bytes.withUnsafeBytes { unsafe visitor.visitMember($0.bytes) }
        case .sortedSetEntry(let z):
            unsafe z.member.bytes.withUnsafeBytes { unsafe visitor.visitSortedSetEntry(member: $0.bytes, score: z.score) }
        case .hashField(let f):
            unsafe f.field.bytes.withUnsafeBytes { fp in
                unsafe f.value.bytes.withUnsafeBytes { vp in
                    unsafe visitor.visitHashField(fp.bytes, value: vp.bytes, expiresAt: f.expiresAt)
                }
            }
        default: visitor.visitElement(e)
        }
    }
}

/// Counts the elements of compact blobs (listpack, ziplist, intset, zipmap, quicklist nodes) and
/// their longest one without handing each to the visitor; everything else goes to the visitor.
struct ShapeSink: ElementSink {
    var inner: VisitorSink
    /// Once a value announced a blob, all of its elements are blob elements.
    var sawBlob = false
    var elements = 0
    var largest = 0

    @inline(__always) static func length(_ v: PackedValue) -> Int {
        switch v {
        case .bytes(let p): return p.count
        case .int(let i):
            var n = i < 0 ? 2 : 1
            var m = i.magnitude
            while m >= 10 {
                m /= 10
                n += 1
            }
            return n
        }
    }

    @inline(__always) mutating func note(_ n: Int) {
        elements += 1
        if n > largest { largest = n }
    }

    mutating func string(_ v: PackedValue) { inner.string(v) }
    var needsCompressedStringBytes: Bool { inner.needsCompressedStringBytes }
    mutating func compressedString(length: Int) { inner.compressedString(length: length) }
    mutating func member(_ v: PackedValue) {
        if sawBlob { note(Self.length(v)) } else { inner.member(v) }
    }
    mutating func scored(_ member: PackedValue, _ score: Double) {
        if sawBlob { note(Self.length(member)) } else { inner.scored(member, score) }
    }
    mutating func field(_ f: PackedValue, _ v: PackedValue, _ expire: Int64?) {
        if sawBlob {
            note(max(Self.length(f), Self.length(v)))
        } else {
            inner.field(f, v, expire)
        }
    }
    mutating func element(_ e: RDBElement) { inner.element(e) }
    mutating func encodedBlob(_ blob: RDBEncodedBlob) {
        sawBlob = true
        inner.encodedBlob(blob)
    }
    var countsStreamEntries: Bool { inner.visitor.acceptsStreamEntryShapes }
    mutating func streamEntryShape(fieldCount: Int, byteCount: Int) {
        inner.visitor.visitStreamEntryShape(fieldCount: fieldCount, byteCount: byteCount)
    }
    /// Intsets are sorted: the longest decimal text is the first's or the last's.
    var countsSortedIntegerBlobs: Bool { true }
    mutating func sortedIntegerBlob(count: Int, first: Int64, last: Int64) {
        guard count > 0 else { return }
        elements += count
        largest = max(largest, Self.length(.int(first)), Self.length(.int(last)))
    }
}

extension RDBReader {
    /// Like ``visitValue(_:)``, but the elements of compact blobs are only counted (with the length of
    /// the longest, integers as their decimal text): the visitor gets ``RDBValueVisitor/visitEncodedBlob(_:)``
    /// for each blob, and elements only when the value is not stored in blobs.
    /// - Returns: the blob elements counted and the longest one's length.
    public func visitValueShape(_ visitor: any RDBValueVisitor) throws(RDBError) -> (elements: Int, largest: Int) {
        var sink = ShapeSink(inner: VisitorSink(visitor: visitor))
        try guarded { () throws(ParseFailure) in
            while pendingIndex < pending.count {
                let e = pending[pendingIndex]
                pendingIndex += 1
                sink.inner.deliver(e)
            }
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
            try finishValue(mode: .materialize, into: &sink)
        }
        return (sink.elements, sink.largest)
    }
}
