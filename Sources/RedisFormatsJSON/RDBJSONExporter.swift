import RedisFormats

/// Where JSON bytes go.
public protocol JSONByteSink: AnyObject {
    /// Writes all the bytes (they are valid only during the call).
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

extension JSONByteSink {
    /// Writes all the bytes.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

/// Counts of what an export wrote and skipped.
public struct RDBExportSummary: Sendable, Hashable {
    public var keysWritten = 0
    public var keysSkipped = 0
    public var checksum: RDBChecksum?
    public init() {}
}

/// Writes the keys of an RDB as JSON Lines, streaming each value element by element:
/// `{"db":0,"key":S,"type":"hash","encoding":"listpack","expire_ms":null,"value":V}`.
///
/// A skiplist zset is buffered and sorted into rank order (score, then member bytes), since Redis
/// saves it highest score first; every other value streams straight through.
public final class RDBJSONExporter {
    public var filter: RDBKeyFilter
    public var policy: JSONBytesPolicy
    /// One indented JSON array instead of JSON Lines.
    public var pretty: Bool
    /// Called after each key with the reader's offset (progress reporting).
    public var onKey: ((Int64) -> Void)?

    private var e: JSONEmitter
    private var valueWriter: JSONValueWriter
    private let sink: any JSONByteSink
    private static let flushThreshold = 256 * 1024

    public init(sink: any JSONByteSink, filter: RDBKeyFilter = RDBKeyFilter(), policy: JSONBytesPolicy = .utf8OrBase64, pretty: Bool = false) {
        self.sink = sink
        self.filter = filter
        self.policy = policy
        self.pretty = pretty
        e = JSONEmitter(policy: policy, pretty: pretty)
        valueWriter = JSONValueWriter(e: e, sink: sink, buffersSortedSet: false)
    }

    @inline(__always) private func flushIfNeeded() throws {
        if e.count >= Self.flushThreshold { try e.drain(into: sink) }
    }

    private func flush() throws {
        try e.drain(into: sink)
    }

    /// Reads every record (or those before offset `end`) and writes the kept keys.
    /// - Throws: ``RDBError`` from the reader, or the sink's error.
    @discardableResult
    public func export(_ reader: RDBReader, upTo end: Int64? = nil) throws -> RDBExportSummary {
        var summary = RDBExportSummary()
        e = JSONEmitter(policy: policy, pretty: pretty)
        valueWriter = JSONValueWriter(e: e, sink: sink, buffersSortedSet: false)
        if pretty { e.beginArray() }
        do {
            try exportRecords(reader, upTo: end, summary: &summary)
        } catch {
            // Keep every key written in full before the error, drop a half-written one.
            if !pretty {
                e.rollBack(to: lastComplete)
                try? flush()
            }
            throw error
        }
        if pretty {
            e.endArray()
            e.raw(UInt8(ascii: "\n"))
        }
        try flush()
        return summary
    }

    private var lastComplete = (drains: 0, count: 0)

    private func exportRecords(_ reader: RDBReader, upTo end: Int64?, summary: inout RDBExportSummary) throws {
        lastComplete = e.mark
        while end.map({ reader.offset < $0 }) ?? true, let record = try reader.next() {
            switch record {
            case .key(let h):
                var decided = filter.matches(h)
                var moduleValue: RedisModuleValue?
                if decided == nil, case .module(let m) = try reader.readValue() {
                    moduleValue = m
                    decided = filter.matchesModule(m.type)
                }
                guard decided == true else {
                    if moduleValue == nil { try reader.skipValue() }
                    summary.keysSkipped += 1
                    continue
                }
                try writeKey(h, reader: reader, module: moduleValue)
                summary.keysWritten += 1
                if !pretty { e.raw(UInt8(ascii: "\n")) }
                try flushIfNeeded()
                lastComplete = e.mark
                onKey?(reader.offset)
            case .end(let c):
                summary.checksum = c
            default:
                break
            }
        }
    }

    private func writeKey(_ h: RDBKeyHeader, reader: RDBReader, module preread: RedisModuleValue?) throws {
        var module = preread
        if module == nil, h.valueType.kind == .module, case .module(let m) = try reader.readValue() { module = m }
        e.beginObject()
        e.key("db")
        e.int(h.db)
        e.key("key")
        e.bytes(h.key)
        e.key("type")
        if let module {
            e.string(module.type.name)
        } else {
            e.string(Self.typeName(h.valueType))
        }
        e.key("encoding")
        e.string(Self.encodingName(h))
        e.key("expire_ms")
        if let x = h.expiresAt { e.int(x.milliseconds) } else { e.null() }
        e.key("value")
        var fieldTTLs: [(RedisBytes, Int64)] = []
        if let module {
            e.moduleValue(module)
        } else {
            try writeValue(h, reader: reader, fieldTTLs: &fieldTTLs)
        }
        e.fieldExpiries(fieldTTLs)
        if let f = h.lfuFrequency {
            e.key("lfu_freq")
            e.int(f)
        }
        if let i = h.lruIdleSeconds {
            e.key("lru_idle_s")
            e.int(i)
        }
        e.endObject()
    }

    private func writeValue(_ h: RDBKeyHeader, reader: RDBReader, fieldTTLs: inout [(RedisBytes, Int64)]) throws {
        switch h.valueType.kind {
        case .stream:
            try writeStream(reader)
        case .array:
            e.beginArray()
            while let el = try reader.nextElement() {
                if case .arrayElement(let index, let v) = el {
                    e.beginArray()
                    e.int(index)
                    e.bytes(v)
                    e.endArray()
                    try flushIfNeeded()
                }
            }
            e.endArray()
        default:
            // Skiplist zsets are stored highest score first: buffer them to print in rank order.
            let sorts = h.valueType == .zset || h.valueType == .zset2
            let writer = valueWriter
            writer.reset(buffersSortedSet: sorts)
            if h.valueType != .string { e.beginArray() }
            try reader.visitValue(writer)
            if let error = writer.error { throw error }
            if sorts {
                writer.sortedSet.sort { a, b in a.score < b.score || (a.score == b.score && a.member < b.member) }
                for z in writer.sortedSet { writeScored(z) }
            }
            if h.valueType != .string { e.endArray() }
            fieldTTLs = writer.fieldTTLs
            writer.fieldTTLs = []
            writer.sortedSet = []
        }
    }

    /// `TYPE` names as static text (no `String` per key).
    static func typeName(_ t: RDBValueType) -> StaticString {
        switch t.kind {
        case .string: "string"
        case .list: "list"
        case .set: "set"
        case .zset: "zset"
        case .hash: "hash"
        case .stream: "stream"
        case .module: "module"
        case .array: "array"
        case nil: "unknown"
        }
    }

    /// ``RDBKeyHeader/encodingName`` as static text.
    static func encodingName(_ h: RDBKeyHeader) -> StaticString {
        switch h.valueType {
        case .string: h.stringEncoding == .int ? "int" : "raw"
        case .list: "linkedlist"
        case .set, .hash, .hashMetadata, .hashMetadataPreGA, .valkeyHash2: "hashtable"
        case .zset, .zset2: "skiplist"
        case .hashZipmap: "zipmap"
        case .listZiplist, .zsetZiplist, .hashZiplist: "ziplist"
        case .setIntset: "intset"
        case .listQuicklist, .listQuicklist2: "quicklist"
        case .hashListpack, .zsetListpack, .setListpack: "listpack"
        case .hashListpackEx, .hashListpackExPreGA: "listpackex"
        case .module2, .modulePreGA: "module"
        case .array: "array"
        default: h.valueType.kind == .stream ? "stream" : "unknown"
        }
    }

    private func writeScored(_ z: SortedSetEntry) {
        e.beginArray()
        e.bytes(z.member)
        e.score(z.score)
        e.endArray()
    }

    private func writeStream(_ reader: RDBReader) throws {
        e.beginObject()
        e.key("entries")
        e.beginArray()
        var inEntries = true
        var groupsOpen = false
        var idempotency: StreamIdempotency?
        while let el = try reader.nextElement() {
            switch el {
            case .streamEntry(let entry):
                e.streamEntry(entry)
                try flushIfNeeded()
            case .streamMetadata(let m):
                if inEntries {
                    e.endArray()
                    inEntries = false
                }
                e.streamMetadata(m)
                e.key("groups")
                e.beginArray()
                groupsOpen = true
            case .streamGroup(let g):
                e.streamGroup(g)
                try flushIfNeeded()
            case .streamIdempotency(let i):
                idempotency = i
            default:
                break
            }
        }
        if inEntries { e.endArray() }
        if groupsOpen { e.endArray() }
        if let i = idempotency { e.streamIdempotency(i) }
        e.endObject()
    }
}

/// Writes strings, list/set members, zset entries and hash fields straight from the reader's buffer.
final class JSONValueWriter: RDBValueVisitor {
    let e: JSONEmitter
    let sink: any JSONByteSink
    var buffersSortedSet: Bool
    var sortedSet: [SortedSetEntry] = []
    var fieldTTLs: [(RedisBytes, Int64)] = []
    var error: (any Error)?

    init(e: JSONEmitter, sink: any JSONByteSink, buffersSortedSet: Bool) {
        self.e = e
        self.sink = sink
        self.buffersSortedSet = buffersSortedSet
    }

    func reset(buffersSortedSet: Bool) {
        self.buffersSortedSet = buffersSortedSet
        error = nil
    }

    @inline(__always) private func flushIfNeeded() {
        guard e.count >= 256 * 1024, error == nil else { return }
        do { try e.drain(into: sink) } catch { self.error = error }
    }

    func visitString(_ bytes: RawSpan) {
        e.bytes(bytes)
    }

    func visitMember(_ bytes: RawSpan) {
        e.bytes(bytes)
        flushIfNeeded()
    }

    func visitMember(integer: Int64) {
        if e.policy == .base64 {
            e.bytes(RedisInteger.text(integer))
        } else {
            e.quotedInteger(integer)
        }
        flushIfNeeded()
    }

    func visitSortedSetEntry(member: RawSpan, score: Double) {
        if buffersSortedSet {
            sortedSet.append(SortedSetEntry(member: RedisBytes(member.withUnsafeBytes { Array($0) }), score: score))
            return
        }
        e.beginArray()
        e.bytes(member)
        e.score(score)
        e.endArray()
        flushIfNeeded()
    }

    func visitHashField(_ field: RawSpan, value: RawSpan, expiresAt: RedisTimestamp?) {
        e.beginArray()
        e.bytes(field)
        e.bytes(value)
        e.endArray()
        if let x = expiresAt { fieldTTLs.append((RedisBytes(field.withUnsafeBytes { Array($0) }), x.milliseconds)) }
        flushIfNeeded()
    }

    func visitElement(_ element: RDBElement) {}
}
