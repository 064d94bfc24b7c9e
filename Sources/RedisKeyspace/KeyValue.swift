import RedisFormats

/// A value held by the keyspace. Collections are reference types so that commands change them in place
/// (no copy-on-write of a whole hash to add one field); ``clone()`` makes an independent copy (COPY, tests).
///
/// Every case is one pointer wide, so a dictionary slot of the keyspace stays small.
public enum KeyValue: Sendable {
    case string(RedisBytes)
    case list(ListValue)
    case set(SetValue)
    case sortedSet(SortedSetValue)
    case hash(HashValue)
    case stream(StreamValue)
    /// Module values and anything else kept opaque (Redis 8.8 arrays): the reader's model, boxed.
    case opaque(OpaqueValue)

    /// The name `TYPE` prints (a module's type name for module values).
    public var typeName: String {
        switch self {
        case .string: "string"
        case .list: "list"
        case .set: "set"
        case .sortedSet: "zset"
        case .hash: "hash"
        case .stream: "stream"
        case .opaque(let o): o.value.typeName
        }
    }

    /// An independent copy.
    public func clone() -> KeyValue {
        switch self {
        case .string(let s): .string(s)
        case .list(let l): .list(l.clone())
        case .set(let s): .set(s.clone())
        case .sortedSet(let z): .sortedSet(z.clone())
        case .hash(let h): .hash(h.clone())
        case .stream(let s): .stream(StreamValue(s.stream))
        case .opaque(let o): .opaque(o)
        }
    }

    /// The value in the reader's model (what `rdbkit json`, `diff` and DUMP work on).
    public var redisValue: RedisValue {
        switch self {
        case .string(let s): .string(s)
        case .list(let l): .list(l.elements)
        case .set(let s): .set(s.members)
        case .sortedSet(let z): .sortedSet(z.sortedEntries)
        case .hash(let h): .hash(h.fields)
        case .stream(let s): .stream(s.stream)
        case .opaque(let o): o.value
        }
    }

    /// Builds a keyspace value from the reader's model.
    public init(_ value: RedisValue) {
        switch value {
        case .string(let s): self = .string(s)
        case .list(let items): self = .list(ListValue(items))
        case .set(let members): self = .set(SetValue(members))
        case .sortedSet(let entries): self = .sortedSet(SortedSetValue(entries))
        case .hash(let fields): self = .hash(HashValue(fields))
        case .stream(let s): self = .stream(StreamValue(s))
        case .module, .array: self = .opaque(OpaqueValue(value))
        }
    }

    /// Number of elements (1 for a string; stream entries; 0 for opaque values).
    public var elementCount: Int {
        switch self {
        case .string: 1
        case .list(let l): l.count
        case .set(let s): s.count
        case .sortedSet(let z): z.count
        case .hash(let h): h.count
        case .stream(let s): s.stream.entries.count
        case .opaque: 0
        }
    }
}

/// A value the keyspace keeps without interpreting it (module values, Redis 8.8 arrays).
public final class OpaqueValue: Sendable {
    public let value: RedisValue
    public init(_ value: RedisValue) { self.value = value }
}

/// A stream: the reader's model, held by reference.
public final class StreamValue: @unchecked Sendable {
    public var stream: RedisStream
    public init(_ stream: RedisStream) { self.stream = stream }
}

extension KeyValue {
    /// ``redisValue`` in a deterministic order: set members and hash fields sorted by bytes, zsets in rank order,
    /// lists and streams as they are.
    public var sortedRedisValue: RedisValue {
        switch self {
        case .set(let s): .set(s.members.sorted())
        case .hash(let h): .hash(h.fields.sorted { $0.field < $1.field })
        default: redisValue
        }
    }
}
