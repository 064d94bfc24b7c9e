/// A point in time as Redis stores it: Unix milliseconds.
public struct RedisTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Milliseconds since the Unix epoch (may be negative in hostile files).
    public var milliseconds: Int64

    @inlinable public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    public static func < (a: RedisTimestamp, b: RedisTimestamp) -> Bool { a.milliseconds < b.milliseconds }
    public var description: String { String(milliseconds) }
}

/// A stream entry ID, `<ms>-<seq>`.
public struct StreamID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var ms: UInt64
    public var seq: UInt64

    @inlinable public init(ms: UInt64, seq: UInt64) {
        self.ms = ms
        self.seq = seq
    }

    public static let zero = StreamID(ms: 0, seq: 0)

    public static func < (a: StreamID, b: StreamID) -> Bool { (a.ms, a.seq) < (b.ms, b.seq) }

    /// `"1700000000000-0"`.
    public var description: String { "\(ms)-\(seq)" }

    /// Parses `"<ms>-<seq>"` or `"<ms>"` (sequence 0).
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let ms = UInt64(parts[0]) else { return nil }
        if parts.count == 2 {
            guard let seq = UInt64(parts[1]) else { return nil }
            self.init(ms: ms, seq: seq)
        } else {
            self.init(ms: ms, seq: 0)
        }
    }
}

/// A member of a sorted set with its score.
public struct SortedSetEntry: Sendable, Hashable {
    public var member: RedisBytes
    public var score: Double
    public init(member: RedisBytes, score: Double) {
        self.member = member
        self.score = score
    }
}

/// A field of a hash, with its own expiry when the hash has field TTLs (Redis 7.4+, Valkey 9+).
public struct HashField: Sendable, Hashable {
    public var field: RedisBytes
    public var value: RedisBytes
    /// The field's absolute expiry, or `nil` when the field has no TTL.
    public var expiresAt: RedisTimestamp?
    public init(field: RedisBytes, value: RedisBytes, expiresAt: RedisTimestamp? = nil) {
        self.field = field
        self.value = value
        self.expiresAt = expiresAt
    }
}

/// One field/value pair of a stream entry. Field names may repeat inside one entry.
public struct StreamField: Sendable, Hashable {
    public var name: RedisBytes
    public var value: RedisBytes
    public init(name: RedisBytes, value: RedisBytes) {
        self.name = name
        self.value = value
    }
}

/// A live (not deleted) stream entry.
public struct StreamEntry: Sendable, Hashable {
    public var id: StreamID
    public var fields: [StreamField]
    public init(id: StreamID, fields: [StreamField]) {
        self.id = id
        self.fields = fields
    }
}

/// The stream-level fields stored after the entries. Fields a version does not store are `nil`.
public struct StreamMetadata: Sendable, Hashable {
    /// Number of live entries (`XLEN`).
    public var length: UInt64
    public var lastID: StreamID
    /// Stream v2+ (RDB 10): the recorded first entry ID.
    public var firstID: StreamID?
    /// Stream v2+: the largest ID ever deleted.
    public var maxDeletedEntryID: StreamID?
    /// Stream v2+: the count of entries ever added.
    public var entriesAdded: UInt64?
    public init(
        length: UInt64, lastID: StreamID, firstID: StreamID? = nil, maxDeletedEntryID: StreamID? = nil,
        entriesAdded: UInt64? = nil
    ) {
        self.length = length
        self.lastID = lastID
        self.firstID = firstID
        self.maxDeletedEntryID = maxDeletedEntryID
        self.entriesAdded = entriesAdded
    }
}

/// An entry of a consumer group's pending entries list (PEL).
public struct StreamPendingEntry: Sendable, Hashable {
    public var id: StreamID
    /// When the entry was last delivered.
    public var deliveryTime: RedisTimestamp
    public var deliveryCount: UInt64
    /// The consumer that owns it, resolved from the consumers' PELs (`nil` if no consumer claims it).
    public var consumer: RedisBytes?
    public init(id: StreamID, deliveryTime: RedisTimestamp, deliveryCount: UInt64, consumer: RedisBytes? = nil) {
        self.id = id
        self.deliveryTime = deliveryTime
        self.deliveryCount = deliveryCount
        self.consumer = consumer
    }
}

/// A consumer of a consumer group.
public struct StreamConsumer: Sendable, Hashable {
    public var name: RedisBytes
    public var seenTime: RedisTimestamp
    /// Stream v3+ (RDB 11): last successful read; `nil` in older files.
    public var activeTime: RedisTimestamp?
    /// IDs this consumer owns in the group's PEL.
    public var pending: [StreamID]
    public init(name: RedisBytes, seenTime: RedisTimestamp, activeTime: RedisTimestamp?, pending: [StreamID]) {
        self.name = name
        self.seenTime = seenTime
        self.activeTime = activeTime
        self.pending = pending
    }
}

/// A consumer group with its PEL and consumers.
public struct StreamConsumerGroup: Sendable, Hashable {
    public var name: RedisBytes
    public var lastDeliveredID: StreamID
    /// Stream v2+: the group's read counter; `nil` when absent or invalid (stored as -1).
    public var entriesRead: UInt64?
    public var pending: [StreamPendingEntry]
    public var consumers: [StreamConsumer]
    /// Stream v5 (Redis 8.8): PEL entries negatively acknowledged (XNACK), in the group's NACK zone.
    public var nacked: [StreamID]
    public init(
        name: RedisBytes, lastDeliveredID: StreamID, entriesRead: UInt64?, pending: [StreamPendingEntry],
        consumers: [StreamConsumer], nacked: [StreamID] = []
    ) {
        self.name = name
        self.lastDeliveredID = lastDeliveredID
        self.entriesRead = entriesRead
        self.pending = pending
        self.consumers = consumers
        self.nacked = nacked
    }
}

/// A whole stream.
public struct RedisStream: Sendable, Hashable {
    public var entries: [StreamEntry]
    public var metadata: StreamMetadata
    public var groups: [StreamConsumerGroup]
    /// Stream v4 (Redis 8.6) idempotent-producer state, when the file has it.
    public var idempotency: StreamIdempotency?
    public init(
        entries: [StreamEntry], metadata: StreamMetadata, groups: [StreamConsumerGroup],
        idempotency: StreamIdempotency? = nil
    ) {
        self.entries = entries
        self.metadata = metadata
        self.groups = groups
        self.idempotency = idempotency
    }
}

/// The module type of a module value or module aux record, decoded from its 64-bit id.
public struct RedisModuleType: Sendable, Hashable, CustomStringConvertible {
    /// The id as stored: 54 bits of name, 10 bits of encoding version.
    public var id: UInt64

    public init(id: UInt64) { self.id = id }

    /// The charset of module type names, 6 bits per character.
    static let charset = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// The 9-character type name (`ReJSON-RL`, `MBbloom--`). Mirrors `moduleTypeNameByID`.
    public var name: String {
        var chars = [UInt8](repeating: 0, count: 9)
        var v = id >> 10
        for i in stride(from: 8, through: 0, by: -1) {
            chars[i] = Self.charset[Int(v & 63)]
            v >>= 6
        }
        return String(decoding: chars, as: UTF8.self)
    }

    /// The module's encoding version (low 10 bits).
    public var encodingVersion: Int { Int(id & 1023) }

    /// Builds the id of a 9-character name and an encoding version; `nil` for an invalid name.
    public init?(name: String, encodingVersion: Int) {
        let bytes = Array(name.utf8)
        guard bytes.count == 9, (0...1023).contains(encodingVersion) else { return nil }
        var id: UInt64 = 0
        for b in bytes {
            guard let i = Self.charset.firstIndex(of: b) else { return nil }
            id = (id << 6) | UInt64(i)
        }
        self.id = (id << 10) | UInt64(encodingVersion)
    }

    public var description: String { "\(name) (encver \(encodingVersion))" }
}

/// A module value kept as the raw bytes of its opcode stream: it can be written back or restored,
/// but only the module itself can interpret it.
public struct RedisModuleValue: Sendable, Hashable {
    public var type: RedisModuleType
    /// The bytes after the module id, through the closing EOF opcode.
    public var raw: [UInt8]
    public init(type: RedisModuleType, raw: [UInt8]) {
        self.type = type
        self.raw = raw
    }
}

/// A Redis value by logical type. The disk encoding is on ``RDBKeyHeader/valueType``.
public enum RedisValue: Sendable, Hashable {
    case string(RedisBytes)
    case list([RedisBytes])
    case set([RedisBytes])
    case sortedSet([SortedSetEntry])
    case hash([HashField])
    case stream(RedisStream)
    case module(RedisModuleValue)
    /// A Redis 8.8 sparse array: (index, value) in ascending index order.
    case array([RedisArrayElement])

    /// The name `TYPE` would print, or the module type name.
    public var typeName: String {
        switch self {
        case .string: "string"
        case .list: "list"
        case .set: "set"
        case .sortedSet: "zset"
        case .hash: "hash"
        case .stream: "stream"
        case .module(let m): m.type.name
        case .array: "array"
        }
    }
}

/// An element of a Redis 8.8 array. Integers and doubles are kept as their text.
public struct RedisArrayElement: Sendable, Hashable {
    public var index: UInt64
    public var value: RedisBytes
    public init(index: UInt64, value: RedisBytes) {
        self.index = index
        self.value = value
    }
}
