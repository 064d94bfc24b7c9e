/// The 9-byte header of an RDB file.
public struct RDBHeader: Sendable, Hashable {
    /// The magic as written: `REDIS0011`, `VALKEY080`.
    public var magic: String
    /// The RDB version number: 1…14 for Redis, 80+ for Valkey.
    public var version: Int
    public var dialect: RDBDialect

    public init(magic: String, version: Int, dialect: RDBDialect) {
        self.magic = magic
        self.version = version
        self.dialect = dialect
    }

    /// Whether the file ends with an 8-byte CRC64 (RDB 5 and later).
    public var hasChecksum: Bool { version >= 5 }
}

/// How a string value is stored in the file.
public enum RDBStringEncoding: String, Sendable, Hashable {
    /// Plain bytes.
    case raw
    /// INT8/16/32 encoding (`OBJECT ENCODING` says `int`).
    case int
    /// LZF-compressed.
    case lzf
}

/// One class of RDB 13 key metadata (opcode 0xF3 in Redis files), kept as raw bytes.
public struct RDBKeyMetadata: Sendable, Hashable {
    /// The 32-bit class spec: 4 characters × 6 bits, 5-bit version, 3 flag bits.
    public var classSpec: UInt32
    /// The opcode stream of the class's value, through its EOF opcode.
    public var raw: [UInt8]

    static let charset = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-".utf8)

    /// The 4-character class name.
    public var className: String {
        var chars = [UInt8]()
        for i in 0..<4 { chars.append(Self.charset[Int((classSpec >> (26 - 6 * UInt32(i))) & 63)]) }
        return String(decoding: chars, as: UTF8.self)
    }
    /// The class version (0–31).
    public var classVersion: Int { Int((classSpec >> 3) & 31) }
    /// Whether a server without the class may ignore it (flag bit 0).
    public var allowsIgnore: Bool { classSpec & 1 != 0 }
}

/// What precedes a value: its key, type and per-key attributes.
public struct RDBKeyHeader: Sendable, Hashable {
    /// The database selected by the last SELECTDB (0 when none).
    public var db: UInt64
    public var key: RedisBytes
    /// The object type byte (logical type and disk encoding).
    public var valueType: RDBValueType
    /// For string values: how the string is stored.
    public var stringEncoding: RDBStringEncoding?
    /// The key's absolute expiry, from EXPIRETIME_MS (or EXPIRETIME, converted to ms).
    public var expiresAt: RedisTimestamp?
    /// From the IDLE opcode (LRU policies): seconds since last access.
    public var lruIdleSeconds: UInt64?
    /// From the FREQ opcode (LFU policies): the logarithmic access counter.
    public var lfuFrequency: UInt8?
    /// RDB 13 key metadata classes (Redis 8.6), empty otherwise.
    public var metadata: [RDBKeyMetadata]
    /// Offset of the key's first byte in the file (its first per-key opcode, or its type byte).
    public var offset: Int64
    /// Offset of the value's first byte.
    public var valueOffset: Int64

    public init(
        db: UInt64, key: RedisBytes, valueType: RDBValueType, stringEncoding: RDBStringEncoding? = nil,
        expiresAt: RedisTimestamp? = nil, lruIdleSeconds: UInt64? = nil, lfuFrequency: UInt8? = nil,
        metadata: [RDBKeyMetadata] = [], offset: Int64 = 0, valueOffset: Int64 = 0
    ) {
        self.db = db
        self.key = key
        self.valueType = valueType
        self.stringEncoding = stringEncoding
        self.expiresAt = expiresAt
        self.lruIdleSeconds = lruIdleSeconds
        self.lfuFrequency = lfuFrequency
        self.metadata = metadata
        self.offset = offset
        self.valueOffset = valueOffset
    }

    /// The encoding in `OBJECT ENCODING` words for what the file holds: `int`/`raw` for strings,
    /// `listpack`, `quicklist`, `hashtable`, … for the others.
    public var encodingName: String {
        if valueType == .string { return stringEncoding == .int ? "int" : "raw" }
        return valueType.encodingName
    }
}

/// A module's auxiliary data (opcode 0xF7), kept as raw bytes.
public struct RDBModuleAux: Sendable, Hashable {
    public var type: RedisModuleType
    /// 1 = written before the keyspace, 2 = after.
    public var when: UInt64
    /// The opcode stream through its EOF opcode.
    public var raw: [UInt8]
    public var offset: Int64
    public init(type: RedisModuleType, when: UInt64, raw: [UInt8], offset: Int64 = 0) {
        self.type = type
        self.when = when
        self.raw = raw
        self.offset = offset
    }
}

/// A function library (opcode 0xF5 FUNCTION2, or 0xF6 from Redis 7.0 release candidates).
public struct RDBFunctionLibrary: Sendable, Hashable {
    /// The library source, starting `#!lua name=<lib>` (for a pre-GA record: rebuilt that way).
    public var code: RedisBytes
    /// Whether it came from a pre-GA (0xF6) record.
    public var isPreGA: Bool
    /// The pre-GA record's description, which the GA format does not keep.
    public var preGADescription: RedisBytes?
    public var offset: Int64

    public init(code: RedisBytes, isPreGA: Bool = false, preGADescription: RedisBytes? = nil, offset: Int64 = 0) {
        self.code = code
        self.isPreGA = isPreGA
        self.preGADescription = preGADescription
        self.offset = offset
    }

    /// The library name from the `#!<engine> name=<lib>` shebang, if present.
    public var libraryName: String? { shebangField("name") }
    /// The engine from the shebang (`lua`), if present.
    public var engine: String? {
        guard let line = shebang, line.hasPrefix("#!") else { return nil }
        return line.dropFirst(2).split(separator: " ").first.map(String.init)
    }

    private var shebang: String? {
        let first = code.bytes.prefix { $0 != UInt8(ascii: "\n") }
        return String(decoding: first, as: UTF8.self)
    }

    private func shebangField(_ name: String) -> String? {
        guard let line = shebang, line.hasPrefix("#!") else { return nil }
        for part in line.split(separator: " ") where part.hasPrefix(name + "=") {
            return String(part.dropFirst(name.count + 1))
        }
        return nil
    }
}

/// Slot sizes in a cluster RDB (opcode 0xF4, Redis 7.4+).
public struct RDBSlotInfo: Sendable, Hashable {
    public var slot: UInt64
    public var size: UInt64
    public var expiresSize: UInt64
    public init(slot: UInt64, size: UInt64, expiresSize: UInt64) {
        self.slot = slot
        self.size = size
        self.expiresSize = expiresSize
    }
}

/// An unfinished slot import job (Valkey 9 opcode 0xF3).
public struct RDBSlotImport: Sendable, Hashable {
    public var jobName: RedisBytes
    public var ranges: [ClosedRange<UInt64>]
    public init(jobName: RedisBytes, ranges: [ClosedRange<UInt64>]) {
        self.jobName = jobName
        self.ranges = ranges
    }
}

/// The outcome of the CRC64 check at the end of the file.
public enum RDBChecksum: Sendable, Hashable {
    /// Stored and computed checksums agree.
    case verified(UInt64)
    /// The file stores 0: written with `rdbchecksum no`.
    case disabled
    /// RDB < 5 has no checksum.
    case absent
    /// Present but not verified (``RDBReader/Options/verifiesChecksum`` is off).
    case unverified(UInt64)
}

/// One record of an RDB file, in file order.
public enum RDBRecord: Sendable, Hashable {
    /// An AUX field (`redis-ver`, `ctime`, …).
    case aux(key: RedisBytes, value: RedisBytes)
    case moduleAux(RDBModuleAux)
    case function(RDBFunctionLibrary)
    case selectDB(UInt64)
    case resizeDB(dbSize: UInt64, expiresSize: UInt64)
    case slotInfo(RDBSlotInfo)
    case slotImport(RDBSlotImport)
    /// A key; its value follows and is read with ``RDBReader/readValue()``, ``RDBReader/nextElement()``
    /// or ``RDBReader/skipValue()`` (the next ``RDBReader/next()`` skips it otherwise).
    case key(RDBKeyHeader)
    /// The EOF opcode and the checksum. Nothing follows.
    case end(RDBChecksum)
}

/// A piece of a value, for reading a collection element by element.
public enum RDBElement: Sendable, Hashable {
    /// The whole value of a string key.
    case string(RedisBytes)
    /// A list element or a set member.
    case member(RedisBytes)
    case sortedSetEntry(SortedSetEntry)
    case hashField(HashField)
    case streamEntry(StreamEntry)
    /// Stream length and IDs; comes after every entry.
    case streamMetadata(StreamMetadata)
    /// A consumer group; groups come after the metadata.
    case streamGroup(StreamConsumerGroup)
    /// Stream v4 (Redis 8.6) idempotent-producer records; last.
    case streamIdempotency(StreamIdempotency)
    /// An element of a Redis 8.8 array.
    case arrayElement(index: UInt64, value: RedisBytes)
    /// A module value, whole.
    case module(RedisModuleValue)
}

/// Stream v4 (Redis 8.6) IDMP state: idempotent producers and their recent message ids.
public struct StreamIdempotency: Sendable, Hashable {
    /// One producer's recent message ids.
    public struct Producer: Sendable, Hashable {
        public var pid: RedisBytes
        public var entries: [Entry]
        public init(pid: RedisBytes, entries: [Entry]) {
            self.pid = pid
            self.entries = entries
        }
    }
    /// An idempotency id and the stream entry it produced.
    public struct Entry: Sendable, Hashable {
        public var iid: RedisBytes
        public var id: StreamID
        public init(iid: RedisBytes, id: StreamID) {
            self.iid = iid
            self.id = id
        }
    }
    public var durationSeconds: UInt64
    public var maxEntries: UInt64
    public var producers: [Producer]
    public var iidsAdded: UInt64
    public var iidsDuplicates: UInt64
    public init(
        durationSeconds: UInt64, maxEntries: UInt64, producers: [Producer], iidsAdded: UInt64, iidsDuplicates: UInt64
    ) {
        self.durationSeconds = durationSeconds
        self.maxEntries = maxEntries
        self.producers = producers
        self.iidsAdded = iidsAdded
        self.iidsDuplicates = iidsDuplicates
    }
}
