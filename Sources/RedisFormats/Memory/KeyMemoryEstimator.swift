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
    /// Sum of the per-element allocations of a hashtable or skiplist encoding.
    private var elementBytes = 0.0
    /// Compact blobs: how many, and their bytes as MEMORY USAGE counts them.
    private var blobs = 0
    private var blobBytes = 0
    private var quicklistNodes = 0
    /// With a list-compress-depth: bytes saved by the nodes past the head that are stored compressed,
    /// and the savings of the last `depth` of them (the tail, held uncompressed).
    private var compressionSavings = 0
    private var tailSavings: [Int] = []
    private var tailNext = 0
    private var plainNodes = 0
    private var fieldTTLs = 0
    private var allIntegers = true
    private var stringLength = 0
    private var stringIsInteger = false
    private var kind: RedisValueKind = .string
    private var streamPayload = 0
    /// Stream listpacks: their raw sizes' sum and the last one's (the tail keeps its preallocation).
    private var streamListpacks = 0
    private var streamListpackBytes = 0
    private var streamLastListpack = 0
    private var streamConsumerPending = 0
    private var streamGroups = 0
    private var streamPending = 0
    private var streamConsumers = 0
    private var streamConsumerNames = 0
    private var moduleBytes = 0
    private var moduleName: String?
    private let redisSkiplistNode: Double

    public init(model: MemoryModel) {
        self.model = model
        redisSkiplistNode = model.expectedNode(base: 24)
    }

    /// Reads the value of the key `header` announced and returns its estimate.
    /// - Throws: ``RDBError`` from the reader.
    public func estimate(_ header: RDBKeyHeader, reader: RDBReader) throws -> KeyMemory {
        reset(kind: header.valueType.kind ?? .string)
        if header.valueType == .string {
            (stringLength, stringIsInteger) = try reader.measureStringValue()
        } else {
            let shape = try reader.visitValueShape(self)
            elements += shape.elements
            largest = max(largest, shape.largest)
        }
        return finish(header)
    }

    /// The estimate of the key `header` announced when `filter` keeps it; otherwise the value is
    /// skipped and the result is nil. A module type name in the filter is decided once the value is read.
    /// - Throws: ``RDBError`` from the reader.
    public func estimate(_ header: RDBKeyHeader, reader: RDBReader, ifKeptBy filter: RDBKeyFilter) throws -> KeyMemory? {
        switch filter.matches(header) {
        case true?:
            return try estimate(header, reader: reader)
        case false?:
            try reader.skipValue()
            return nil
        case nil:
            let k = try estimate(header, reader: reader)
            return filter.types?.contains(k.type) ?? true ? k : nil
        }
    }

    private func reset(kind: RedisValueKind) {
        self.kind = kind
        elements = 0
        largest = 0
        elementBytes = 0
        blobs = 0
        blobBytes = 0
        quicklistNodes = 0
        compressionSavings = 0
        tailSavings.removeAll(keepingCapacity: true)
        tailNext = 0
        plainNodes = 0
        fieldTTLs = 0
        allIntegers = true
        stringLength = 0
        stringIsInteger = false
        streamPayload = 0
        streamListpacks = 0
        streamListpackBytes = 0
        streamLastListpack = 0
        streamConsumerPending = 0
        streamGroups = 0
        streamPending = 0
        streamConsumers = 0
        streamConsumerNames = 0
        moduleBytes = 0
        moduleName = nil
    }

    // MARK: Visitor

    public func visitString(_ bytes: RawSpan) {
        stringLength = bytes.byteCount
        stringIsInteger = Self.isCanonicalInteger(bytes)
    }

    public func visitMember(_ bytes: RawSpan) {
        note(bytes.byteCount)
        if blobs == 0 {
            if allIntegers && !Self.isCanonicalInteger(bytes) { allIntegers = false }
            if kind == .set {
                elementBytes += Double(model.setMember(bytes.byteCount))
            } else {
                elementBytes += Double(bytes.byteCount + 2)  // a linked list's element in a listpack
            }
        }
    }

    public func visitMember(integer: Int64) {
        let n = ShapeSink.length(.int(integer))
        note(n)
        if blobs == 0 { elementBytes += Double(kind == .set ? model.setMember(n) : n + 2) }
    }

    public func visitSortedSetEntry(member: RawSpan, score: Double) {
        note(member.byteCount)
        if blobs == 0 { elementBytes += model.skiplistMember(member.byteCount, redisNode: redisSkiplistNode) }
    }

    public func visitHashField(_ field: RawSpan, value: RawSpan, expiresAt: RedisTimestamp?) {
        note(max(field.byteCount, value.byteCount))
        if expiresAt != nil { fieldTTLs += 1 }
        if blobs == 0 {
            elementBytes += Double(model.hashEntry(field: field.byteCount, value: value.byteCount, ttl: expiresAt != nil))
        }
    }

    public func visitEncodedBlob(_ blob: RDBEncodedBlob) {
        if kind == .stream {
            streamListpacks += 1
            streamListpackBytes += model.streamListpack(blob.byteCount)
            streamLastListpack = blob.byteCount
            return
        }
        blobs += 1
        if blob.isQuicklistNode {
            quicklistNodes += 1
            if blob.kind == .plainNode {
                plainNodes += 1
                blobBytes += model.alloc(blob.byteCount)
                return
            }
            let depth = model.listCompressDepth
            if depth > 0 && quicklistNodes > depth {
                // Redis compresses nodes of 48 bytes or more; the file holds them compressed when it did.
                var saving = 0
                if let c = blob.compressedByteCount, blob.byteCount >= 48 {
                    saving = max(0, model.blob(blob.byteCount) - model.compressedNode(c))
                }
                compressionSavings += saving
                if tailSavings.count < depth {
                    tailSavings.append(saving)
                } else {
                    tailSavings[tailNext] = saving
                    tailNext = (tailNext + 1) % depth
                }
            }
        }
        blobBytes += model.blob(blob.byteCount)
    }

    public var acceptsStreamEntryShapes: Bool { true }

    public func visitStreamEntryShape(fieldCount: Int, byteCount: Int) {
        elements += 1
        largest = max(largest, byteCount)
        streamPayload += byteCount + 2 * fieldCount
    }

    public func visitElement(_ element: RDBElement) {
        switch element {
        case .streamEntry(let e):
            elements += 1
            var size = 0
            for f in e.fields { size += f.name.count + f.value.count }
            largest = max(largest, size)
            streamPayload += size + 2 * e.fields.count
        case .streamGroup(let g):
            streamGroups += 1
            streamPending += g.pending.count
            streamConsumers += g.consumers.count
            for c in g.consumers {
                streamConsumerNames += c.name.count
                streamConsumerPending += c.pending.count
            }
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
        let key = KeyShape(length: h.key.count, hasExpiry: h.expiresAt != nil)
        var rough = false
        let (type, encoding, valueBytes): (String, String, Int)
        let items = Int(elementBytes.rounded())
        switch kind {
        case .string:
            let enc = model.stringEncoding(length: stringLength, isInteger: stringIsInteger, key: key)
            (type, encoding, valueBytes) = ("string", enc, model.stringSize(length: stringLength, encoding: enc, key: key))
            elements = stringLength
            largest = stringLength
        case .list:
            let asListpack = model.server.hasListpackLists && quicklistNodes == 1 && plainNodes == 0
                && h.valueType == .listQuicklist2 && blobBytes <= 8192
            if asListpack {
                (type, encoding, valueBytes) = ("list", "listpack", model.object(key) + blobBytes)
            } else if blobs > 0 {
                let saved = compressionSavings - tailSavings.reduce(0, +)
                (type, encoding, valueBytes) = ("list", "quicklist", model.quicklistSize(key: key, nodes: quicklistNodes, nodeBytes: blobBytes - saved))
            } else {
                // A linked list (RDB type 1) is loaded as a quicklist: nodes of up to 8 KiB listpacks.
                let nodes = max(1, (items + 8191) / 8192)
                (type, encoding, valueBytes) = ("list", "quicklist", model.quicklistSize(
                    key: key, nodes: nodes, nodeBytes: model.alloc(items / nodes + 7) * nodes))
            }
        case .set:
            if blobs > 0 {
                let enc = h.valueType == .setIntset ? "intset" : "listpack"
                (type, encoding, valueBytes) = ("set", enc, model.object(key) + blobBytes)
            } else {
                (type, encoding, valueBytes) = ("set", "hashtable", model.setTableSize(key: key, count: elements, allIntegers: allIntegers) + items)
            }
        case .zset:
            if blobs > 0 {
                let enc = h.valueType == .zsetZiplist ? "ziplist" : "listpack"
                (type, encoding, valueBytes) = ("zset", enc, model.object(key) + blobBytes)
            } else {
                (type, encoding, valueBytes) = ("zset", "skiplist", model.skiplistTableSize(key: key, count: elements, longest: largest) + items)
            }
        case .hash:
            if blobs > 0 {
                if h.valueType == .hashListpackEx || h.valueType == .hashListpackExPreGA {
                    (type, encoding, valueBytes) = ("hash", "listpackex", model.object(key) + model.listpackExStruct + blobBytes)
                } else {
                    let enc = h.valueType == .hashListpack ? "listpack" : (h.valueType == .hashZipmap && model.server.usesListpack ? "listpack" : "ziplist")
                    (type, encoding, valueBytes) = ("hash", enc, model.object(key) + blobBytes)
                }
            } else {
                (type, encoding, valueBytes) = ("hash", "hashtable", model.hashTableSize(
                    key: key, count: elements, longest: largest, ttlFields: fieldTTLs) + items)
            }
        case .stream:
            (type, encoding, valueBytes) = ("stream", "stream", model.streamSize(
                key: key, listpacks: streamListpacks, listpackBytes: streamListpackBytes, lastListpack: streamLastListpack,
                groups: streamGroups, pending: streamPending, consumers: streamConsumers,
                consumerNames: streamConsumerNames, consumerPending: streamConsumerPending))
        case .module:
            rough = true
            (type, encoding, valueBytes) = (moduleName ?? "module", "raw", model.object(key) + moduleBytes)
            elements = 1
            largest = moduleBytes
        case .array:
            rough = true
            (type, encoding, valueBytes) = ("array", "array", model.object(key) + items)
        }
        return KeyMemory(
            db: h.db, key: h.key, type: type, encoding: encoding, bytes: model.keyPart(key) + valueBytes, elements: elements,
            largestElement: largest, expiresAt: h.expiresAt, isRough: rough)
    }
    // MARK: Helpers

    /// Whether `s` is text the server stores as an `int` object (`string2ll` rules, at most 20 bytes).
    @inline(__always) static func isCanonicalInteger(_ s: RawSpan) -> Bool {
        s.byteCount <= 20 && s.withUnsafeBytes { RedisInteger.parse($0) != nil }
    }
}
