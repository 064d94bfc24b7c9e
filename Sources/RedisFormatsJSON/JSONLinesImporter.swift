import Foundation
import RedisFormats

/// Reads the JSON Lines of `rdbkit json` back into keys: the lossless round trip.
public enum JSONLinesImporter {
    /// A key read from a line.
    public struct Key: Sendable {
        public var header: RDBKeyHeader
        public var value: RedisValue
    }

    /// Parses one line (`{"db":…,"key":…,"type":…,"value":…}`).
    /// - Throws: ``RDBError`` (`.corrupt`) naming the line number and what is wrong.
    public static func parse(line: [UInt8], number: Int) throws(RDBError) -> Key {
        func bad(_ why: String) -> RDBError { RDBError(.corrupt, "line \(number): \(why)") }
        guard let any = try? JSONSerialization.jsonObject(with: Data(line)), let o = any as? [String: Any] else {
            throw bad("not a JSON object")
        }
        guard let key = bytes(o["key"]) else { throw bad("missing or invalid \"key\"") }
        let db = (o["db"] as? NSNumber)?.uint64Value ?? 0
        guard let type = o["type"] as? String else { throw bad("missing \"type\"") }
        var header = RDBKeyHeader(db: db, key: RedisBytes(key), valueType: .string)
        if let ms = o["expire_ms"] as? NSNumber { header.expiresAt = RedisTimestamp(milliseconds: ms.int64Value) }
        if let f = o["lfu_freq"] as? NSNumber { header.lfuFrequency = f.uint8Value }
        if let i = o["lru_idle_s"] as? NSNumber { header.lruIdleSeconds = i.uint64Value }
        let v = o["value"]
        let value: RedisValue
        switch type {
        case "string":
            guard let s = bytes(v) else { throw bad("a string value must be S") }
            value = .string(RedisBytes(s))
        case "list", "set":
            guard let a = v as? [Any] else { throw bad("a \(type) value must be an array") }
            var items: [RedisBytes] = []
            for x in a {
                guard let s = bytes(x) else { throw bad("a \(type) element must be S") }
                items.append(RedisBytes(s))
            }
            value = type == "list" ? .list(items) : .set(items)
        case "zset":
            guard let a = v as? [[Any]] else { throw bad("a zset value must be [[member, score], …]") }
            var entries: [SortedSetEntry] = []
            for pair in a {
                guard pair.count == 2, let m = bytes(pair[0]), let s = score(pair[1]) else { throw bad("invalid zset entry") }
                entries.append(SortedSetEntry(member: RedisBytes(m), score: s))
            }
            value = .sortedSet(entries)
        case "hash":
            guard let a = v as? [[Any]] else { throw bad("a hash value must be [[field, value], …]") }
            var ttl: [[UInt8]: Int64] = [:]
            if let f = o["field_expire_ms"] as? [[Any]] {
                for pair in f {
                    guard pair.count == 2, let name = bytes(pair[0]), let ms = pair[1] as? NSNumber else {
                        throw bad("invalid field_expire_ms entry")
                    }
                    ttl[name] = ms.int64Value
                }
            }
            var fields: [HashField] = []
            for pair in a {
                guard pair.count == 2, let f = bytes(pair[0]), let x = bytes(pair[1]) else { throw bad("invalid hash field") }
                fields.append(HashField(field: RedisBytes(f), value: RedisBytes(x), expiresAt: ttl[f].map { RedisTimestamp(milliseconds: $0) }))
            }
            value = .hash(fields)
        case "stream":
            guard let s = v as? [String: Any] else { throw bad("a stream value must be an object") }
            value = .stream(try stream(s, bad))
        case "array":
            guard let a = v as? [[Any]] else { throw bad("an array value must be [[index, S], …]") }
            var elements: [RedisArrayElement] = []
            for pair in a {
                guard pair.count == 2, let i = pair[0] as? NSNumber, let x = bytes(pair[1]) else { throw bad("invalid array element") }
                elements.append(RedisArrayElement(index: i.uint64Value, value: RedisBytes(x)))
            }
            value = .array(elements)
        default:
            guard let m = v as? [String: Any], let name = m["module"] as? String, let encver = m["encver"] as? NSNumber,
                let rawText = m["raw_b64"] as? String, let raw = Data(base64Encoded: rawText),
                let t = RedisModuleType(name: name, encodingVersion: encver.intValue)
            else { throw bad("unknown type '\(type)' (a module value needs module, encver and raw_b64)") }
            value = .module(RedisModuleValue(type: t, raw: [UInt8](raw)))
        }
        header.valueType = value.defaultValueType
        return Key(header: header, value: value)
    }

    static func bytes(_ v: Any?) -> [UInt8]? {
        if let s = v as? String { return Array(s.utf8) }
        if let o = v as? [String: Any], let b = o["b64"] as? String, let d = Data(base64Encoded: b) { return [UInt8](d) }
        return nil
    }

    static func score(_ v: Any) -> Double? {
        if let s = v as? String {
            switch s {
            case "inf", "+inf": return .infinity
            case "-inf": return -.infinity
            default: return Double(s)
            }
        }
        return (v as? NSNumber)?.doubleValue
    }

    static func id(_ v: Any?) -> StreamID? { (v as? String).flatMap(StreamID.init) }

    static func stream(_ s: [String: Any], _ bad: (String) -> RDBError) throws(RDBError) -> RedisStream {
        var entries: [StreamEntry] = []
        for e in s["entries"] as? [[Any]] ?? [] {
            guard e.count == 2, let i = id(e[0]), let fv = e[1] as? [[Any]] else { throw bad("invalid stream entry") }
            var fields: [StreamField] = []
            for p in fv {
                guard p.count == 2, let n = bytes(p[0]), let x = bytes(p[1]) else { throw bad("invalid stream field") }
                fields.append(StreamField(name: RedisBytes(n), value: RedisBytes(x)))
            }
            entries.append(StreamEntry(id: i, fields: fields))
        }
        guard let last = id(s["last_id"]) else { throw bad("a stream needs last_id") }
        let meta = StreamMetadata(
            length: (s["length"] as? NSNumber)?.uint64Value ?? UInt64(entries.count), lastID: last, firstID: id(s["first_id"]),
            maxDeletedEntryID: id(s["max_deleted_entry_id"]), entriesAdded: (s["entries_added"] as? NSNumber)?.uint64Value)
        var groups: [StreamConsumerGroup] = []
        for g in s["groups"] as? [[String: Any]] ?? [] {
            guard let name = bytes(g["name"]), let lastID = id(g["last_delivered_id"]) else { throw bad("invalid consumer group") }
            var pel: [StreamPendingEntry] = []
            for p in g["pel"] as? [[Any]] ?? [] {
                guard p.count == 4, let i = id(p[0]), let count = p[2] as? NSNumber, let time = p[3] as? NSNumber else {
                    throw bad("invalid PEL entry")
                }
                pel.append(StreamPendingEntry(
                    id: i, deliveryTime: RedisTimestamp(milliseconds: time.int64Value), deliveryCount: count.uint64Value,
                    consumer: bytes(p[1]).map { RedisBytes($0) }))
            }
            var consumers: [StreamConsumer] = []
            for c in g["consumers"] as? [[String: Any]] ?? [] {
                guard let n = bytes(c["name"]), let seen = c["seen_time_ms"] as? NSNumber else { throw bad("invalid consumer") }
                let ids = (c["pel"] as? [Any] ?? []).compactMap(id)
                consumers.append(StreamConsumer(
                    name: RedisBytes(n), seenTime: RedisTimestamp(milliseconds: seen.int64Value),
                    activeTime: (c["active_time_ms"] as? NSNumber).map { RedisTimestamp(milliseconds: $0.int64Value) }, pending: ids))
            }
            groups.append(StreamConsumerGroup(
                name: RedisBytes(name), lastDeliveredID: lastID, entriesRead: (g["entries_read"] as? NSNumber)?.uint64Value,
                pending: pel, consumers: consumers, nacked: (g["nacked"] as? [Any] ?? []).compactMap(id)))
        }
        return RedisStream(entries: entries, metadata: meta, groups: groups)
    }
}

extension RedisValue {
    /// A plausible on-disk type for a value (the writer chooses the real encoding).
    var defaultValueType: RDBValueType {
        switch self {
        case .string: .string
        case .list: .listQuicklist2
        case .set: .set
        case .sortedSet: .zset2
        case .hash: .hash
        case .stream: .streamListpacks3
        case .module: .module2
        case .array: .array
        }
    }
}

/// Reads the keys of a JSON Lines file (`rdbkit json` output) one at a time; memory holds one line.
public final class JSONLinesReader {
    private let source: any ByteSource
    private var buffer: [UInt8] = []
    private var position = 0
    private var eof = false
    /// The number of the last line read (1-based).
    public private(set) var lineNumber = 0

    public init(path: String) throws(RDBError) {
        source = try ByteSources.open(path: path)
    }

    /// The next key, or nil at the end.
    /// - Throws: ``RDBError`` naming the line for a malformed line, or the source's I/O error.
    public func next() throws(RDBError) -> JSONLinesImporter.Key? {
        while true {
            if let nl = buffer[position...].firstIndex(of: 0x0A) {
                let line = buffer[position..<nl]
                position = nl + 1
                lineNumber += 1
                if let k = try parse(line) { return k }
                continue
            }
            if eof {
                guard position < buffer.count else { return nil }
                let line = buffer[position...]
                position = buffer.count
                lineNumber += 1
                if let k = try parse(line) { return k }
                return nil
            }
            if position > 0 {
                buffer.removeFirst(position)
                position = 0
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            let src = source
            let r: Result<Int, RDBError> = chunk.withUnsafeMutableBytes { p in
                do throws(RDBError) { return .success(try src.read(into: p)) } catch { return .failure(error) }
            }
            let n = try r.get()
            if n == 0 { eof = true } else { buffer += chunk[0..<n] }
        }
    }

    private func parse(_ line: ArraySlice<UInt8>) throws(RDBError) -> JSONLinesImporter.Key? {
        let trimmed = line.drop { $0 == 0x20 || $0 == 0x09 }.reversed().drop { $0 == 0x0D || $0 == 0x20 }.reversed()
        guard !trimmed.isEmpty else { return nil }
        return try JSONLinesImporter.parse(line: Array(trimmed), number: lineNumber)
    }
}
