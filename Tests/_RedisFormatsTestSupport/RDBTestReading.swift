import RedisFormats

/// Reading helpers for byte-built files: whole values, element by element, and the first error.
public enum RDBTestReading {
    /// A key and its value.
    public struct KeyValue: Sendable, Hashable {
        public var header: RDBKeyHeader
        public var value: RedisValue
    }

    /// How a test consumes each value.
    public enum ValueMode: Sendable, CaseIterable {
        /// ``RDBReader/readValue()``.
        case readValue
        /// ``RDBReader/nextElement()`` until nil, then assembled.
        case elements
    }

    /// Every key with its value, read with `mode`; the other records are returned in order too.
    public static func read(
        _ bytes: [UInt8], mode: ValueMode = .readValue, options: RDBReader.Options = RDBReader.Options(),
        chunkLimit: Int = .max
    ) throws(RDBError) -> (keys: [KeyValue], records: [RDBRecord]) {
        let reader = try RDBReader(source: MemorySource(bytes, chunkLimit: chunkLimit), options: options)
        var keys: [KeyValue] = []
        var records: [RDBRecord] = []
        while let r = try reader.next() {
            records.append(r)
            guard case .key(let h) = r else { continue }
            switch mode {
            case .readValue:
                keys.append(KeyValue(header: h, value: try reader.readValue()))
            case .elements:
                var elements: [RDBElement] = []
                while let e = try reader.nextElement() { elements.append(e) }
                keys.append(KeyValue(header: h, value: assemble(h.valueType, elements)))
            }
        }
        return (keys, records)
    }

    /// Builds the whole value from its elements, the way a caller streaming them would.
    public static func assemble(_ type: RDBValueType, _ elements: [RDBElement]) -> RedisValue {
        var strings: [RedisBytes] = []
        var zset: [SortedSetEntry] = []
        var fields: [HashField] = []
        var entries: [StreamEntry] = []
        var metadata: StreamMetadata?
        var groups: [StreamConsumerGroup] = []
        var idempotency: StreamIdempotency?
        var array: [RedisArrayElement] = []
        for e in elements {
            switch e {
            case .string(let s): return .string(s)
            case .module(let m): return .module(m)
            case .member(let m): strings.append(m)
            case .sortedSetEntry(let z): zset.append(z)
            case .hashField(let f): fields.append(f)
            case .streamEntry(let s): entries.append(s)
            case .streamMetadata(let m): metadata = m
            case .streamGroup(let g): groups.append(g)
            case .streamIdempotency(let i): idempotency = i
            case .arrayElement(let index, let v): array.append(RedisArrayElement(index: index, value: v))
            }
        }
        switch type.kind {
        case .list: return .list(strings)
        case .set: return .set(strings)
        case .zset: return .sortedSet(zset)
        case .hash: return .hash(fields)
        case .stream:
            return .stream(RedisStream(
                entries: entries, metadata: metadata ?? StreamMetadata(length: 0, lastID: .zero), groups: groups,
                idempotency: idempotency))
        case .array: return .array(array)
        default: return .string(.empty)
        }
    }

    /// How the first key's value is consumed before the error is looked for.
    public enum ErrorMode: Sendable, CaseIterable {
        case readValue, elements, validate
    }

    /// Reads the whole file consuming every value with `mode`; returns the first error, or nil.
    public static func firstError(
        _ bytes: [UInt8], mode: ErrorMode = .readValue, options: RDBReader.Options = RDBReader.Options(),
        chunkLimit: Int = .max
    ) -> RDBError? {
        do {
            let reader = try RDBReader(source: MemorySource(bytes, chunkLimit: chunkLimit), options: options)
            while let r = try reader.next() {
                guard case .key = r else { continue }
                switch mode {
                case .readValue: _ = try reader.readValue()
                case .elements: while try reader.nextElement() != nil {}
                case .validate: try reader.validateValue()
                }
            }
            return nil
        } catch {
            return error
        }
    }

    /// Sorted-set entries in rank order (score, then member bytes), for comparing encodings.
    public static func rankOrder(_ entries: [SortedSetEntry]) -> [SortedSetEntry] {
        entries.sorted { a, b in a.score < b.score || (a.score == b.score && a.member < b.member) }
    }

    /// A value normalised for comparing encodings: sets, hashes and zsets sorted.
    public static func normalized(_ v: RedisValue) -> RedisValue {
        switch v {
        case .set(let m): return .set(m.sorted())
        case .sortedSet(let z): return .sortedSet(rankOrder(z))
        case .hash(let f): return .hash(f.sorted { $0.field < $1.field })
        default: return v
        }
    }
}
