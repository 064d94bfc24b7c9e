/// The memory estimate of one key, with the shape facts memory reports print.
public struct KeyMemory: Sendable, Hashable {
    public var db: UInt64
    public var key: RedisBytes
    /// The Redis type name (`string`, `list`, `set`, `zset`, `hash`, `stream`, or a module's name).
    public var type: String
    /// The encoding the server holds the value in (`OBJECT ENCODING`), per the model.
    public var encoding: String
    /// Estimated bytes, as `MEMORY USAGE key SAMPLES 0` would report them.
    public var bytes: Int
    /// Elements (string: its length, as redis-rdb-tools counts).
    public var elements: Int
    /// Length of the largest element (string: its length).
    public var largestElement: Int
    public var expiresAt: RedisTimestamp?
    /// Whether the figure is a rough one (module values: their serialized size).
    public var isRough: Bool

    public init(
        db: UInt64, key: RedisBytes, type: String, encoding: String, bytes: Int, elements: Int, largestElement: Int,
        expiresAt: RedisTimestamp?, isRough: Bool = false
    ) {
        self.db = db
        self.key = key
        self.type = type
        self.encoding = encoding
        self.bytes = bytes
        self.elements = elements
        self.largestElement = largestElement
        self.expiresAt = expiresAt
        self.isRough = isRough
    }
}

/// Estimates keys' memory from an ``RDBReader``, element by element: nothing of a value is kept.
///
/// ```swift
/// let reader = try RDBReader(path: "dump.rdb")
/// let estimator = KeyMemoryEstimator(model: MemoryModel(server: .redis7_0, allocator: .jemalloc))
/// while let record = try reader.next() {
///     if case .key(let header) = record {
///         let k = try estimator.estimate(header, reader: reader)
///         print(k.key, k.bytes)
///     }
/// }
/// ```
public final class KeyMemoryEstimator: RDBValueVisitor {
    public let model: MemoryModel

    // Per-value state.
    private var elements = 0
    private var largest = 0
    /// Sum of the per-element allocations of a hashtable/skiplist/linked encoding.
    private var elementBytes = 0
    /// Compact blobs seen: count, total allocated, total raw bytes.
    private var blobs = 0
    private var blobBytes = 0
    private var blobRaw = 0
    private var quicklistNodes = 0
    private var plainNodes = 0
    private var fieldTTLs = 0
    private var stringLength = 0
    private var stringIsInteger = false
    private var kind: RedisValueKind = .string
    private var streamBytes = 0
    private var moduleBytes = 0
    private var moduleName: String?

    public init(model: MemoryModel) {
        self.model = model
    }

    /// Reads the value of the key `header` announced and returns its estimate.
    /// - Throws: ``RDBError`` from the reader.
    public func estimate(_ header: RDBKeyHeader, reader: RDBReader) throws -> KeyMemory {
        reset(kind: header.valueType.kind ?? .string)
        try reader.visitValue(self)
        return finish(header)
    }

    private func reset(kind: RedisValueKind) {
        self.kind = kind
        elements = 0
        largest = 0
        elementBytes = 0
        blobs = 0
        blobBytes = 0
        blobRaw = 0
        quicklistNodes = 0
        plainNodes = 0
        fieldTTLs = 0
        stringLength = 0
        stringIsInteger = false
        streamBytes = 0
        moduleBytes = 0
        moduleName = nil
    }

    // MARK: Visitor

    public func visitString(_ bytes: RawSpan) {
        stringLength = bytes.byteCount
        stringIsInteger = bytes.byteCount <= 20 && Self.isCanonicalInteger(bytes)
    }

    public func visitMember(_ bytes: RawSpan) {
        note(bytes.byteCount)
        if blobs == 0 || kind == .list { elementBytes += model.memberSize(bytes.byteCount, kind: kind) }
    }

    public func visitMember(integer: Int64) {
        let n = Self.decimalLength(integer)
        note(n)
        if blobs == 0 || kind == .list { elementBytes += model.memberSize(n, kind: kind) }
    }

    public func visitSortedSetEntry(member: RawSpan, score: Double) {
        note(member.byteCount)
        if blobs == 0 { elementBytes += model.skiplistEntrySize(member.byteCount) }
    }

    public func visitHashField(_ field: RawSpan, value: RawSpan, expiresAt: RedisTimestamp?) {
        note(max(field.byteCount, value.byteCount))
        if expiresAt != nil { fieldTTLs += 1 }
        if blobs == 0 { elementBytes += model.hashEntrySize(field: field.byteCount, value: value.byteCount, ttl: expiresAt != nil) }
    }

    public func visitEncodedBlob(_ blob: RDBEncodedBlob) {
        blobs += 1
        blobRaw += blob.byteCount
        if blob.isQuicklistNode {
            quicklistNodes += 1
            if blob.kind == .plainNode { plainNodes += 1 }
        }
        blobBytes += model.alloc(model.inMemoryBlobSize(blob))
    }

    public func visitElement(_ element: RDBElement) {
        switch element {
        case .streamEntry(let e):
            elements += 1
            var size = 0
            for f in e.fields { size += f.name.count + f.value.count }
            largest = max(largest, size)
            streamBytes += model.streamEntrySize(fieldCount: e.fields.count, payload: size)
        case .streamGroup(let g):
            streamBytes += model.streamGroupSize(pending: g.pending.count, consumers: g.consumers.count)
        case .module(let m):
            moduleName = m.type.name
            moduleBytes = m.raw.count
        default:
            break
        }
    }

    @inline(__always) private func note(_ length: Int) {
        elements += 1
        if length > largest { largest = length }
    }

    // MARK: Result

    private func finish(_ h: RDBKeyHeader) -> KeyMemory {
        let keyBytes = model.keyEntrySize(h.key.count, hasExpiry: h.expiresAt != nil)
        var rough = false
        let (type, encoding, valueBytes): (String, String, Int)
        switch kind {
        case .string:
            let enc = model.stringEncoding(length: stringLength, isInteger: stringIsInteger, keyLength: h.key.count)
            (type, encoding, valueBytes) = ("string", enc, model.stringSize(length: stringLength, encoding: enc, keyLength: h.key.count))
            elements = stringLength
            largest = stringLength
        case .list:
            let asListpack = model.server.hasListpackLists && quicklistNodes <= 1 && plainNodes == 0
                && blobs == 1 && (h.valueType == .listQuicklist2)
            if asListpack {
                (type, encoding, valueBytes) = ("list", "listpack", model.robj + blobBytes)
            } else if blobs > 0 {
                // Plain nodes hold their element in a buffer of its size.
                (type, encoding, valueBytes) = ("list", "quicklist", model.quicklistSize(nodes: quicklistNodes, blobBytes: blobBytes))
            } else {
                // A linked list (RDB type 1) is loaded as a quicklist: estimate nodes of 8 KiB listpacks.
                let nodes = max(1, (elementBytes + 8191) / 8192)
                (type, encoding, valueBytes) = ("list", "quicklist", model.quicklistSize(nodes: nodes, blobBytes: model.alloc(elementBytes / nodes) * nodes))
            }
        case .set:
            if blobs > 0 {
                let enc = h.valueType == .setIntset ? "intset" : "listpack"
                (type, encoding, valueBytes) = ("set", enc, model.robj + blobBytes)
            } else {
                (type, encoding, valueBytes) = ("set", "hashtable", model.setTableSize(elements) + elementBytes)
            }
        case .zset:
            if blobs > 0 {
                (type, encoding, valueBytes) = ("zset", model.server.usesListpack ? "listpack" : "ziplist", model.robj + blobBytes)
            } else {
                (type, encoding, valueBytes) = ("zset", "skiplist", model.skiplistSize(elements) + elementBytes)
            }
        case .hash:
            if blobs > 0 {
                let enc = fieldTTLs > 0 || h.valueType == .hashListpackEx || h.valueType == .hashListpackExPreGA
                    ? "listpackex" : (model.server.usesListpack ? "listpack" : "ziplist")
                (type, encoding, valueBytes) = ("hash", enc, model.robj + blobBytes + (enc == "listpackex" ? model.listpackExExtra : 0))
            } else {
                (type, encoding, valueBytes) = ("hash", "hashtable", model.hashTableSize(elements, withTTLs: fieldTTLs > 0) + elementBytes)
            }
        case .stream:
            (type, encoding, valueBytes) = ("stream", "stream", model.streamBaseSize + streamBytes)
        case .module:
            rough = true
            (type, encoding, valueBytes) = (moduleName ?? "module", "raw", model.robj + moduleBytes)
            elements = 1
            largest = moduleBytes
        case .array:
            rough = true
            (type, encoding, valueBytes) = ("array", "array", model.robj + elementBytes)
        }
        return KeyMemory(
            db: h.db, key: h.key, type: type, encoding: encoding, bytes: keyBytes + valueBytes, elements: elements,
            largestElement: largest, expiresAt: h.expiresAt, isRough: rough)
    }

    // MARK: Helpers

    /// Whether `s` is the canonical decimal text of a 64-bit integer (what `string2ll` accepts and round-trips).
    static func isCanonicalInteger(_ s: RawSpan) -> Bool {
        let n = s.byteCount
        guard n > 0 else { return false }
        var i = 0
        var negative = false
        if s.unsafeLoad(fromByteOffset: 0, as: UInt8.self) == UInt8(ascii: "-") {
            negative = true
            i = 1
            guard n > 1 else { return false }
        }
        let first = s.unsafeLoad(fromByteOffset: i, as: UInt8.self)
        if first == UInt8(ascii: "0") { return n == 1 }
        var magnitude: UInt64 = 0
        while i < n {
            let c = s.unsafeLoad(fromByteOffset: i, as: UInt8.self)
            guard c >= 48 && c <= 57 else { return false }
            let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(c - 48))
            if o1 || o2 { return false }
            magnitude = m2
            i += 1
        }
        return negative ? magnitude <= UInt64(Int64.max) + 1 : magnitude <= UInt64(Int64.max)
    }

    static func decimalLength(_ v: Int64) -> Int {
        var n = v < 0 ? 2 : 1
        var m = v.magnitude
        while m >= 10 {
            m /= 10
            n += 1
        }
        return n
    }
}
