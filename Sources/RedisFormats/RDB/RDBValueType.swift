/// Which server family wrote a file. Decided by the magic (`REDIS` + 4 digits or `VALKEY` + 3 digits),
/// never by a type byte: type 22, type 23 and opcode 0xF3 mean different things in each.
public enum RDBDialect: String, Sendable, Hashable, CustomStringConvertible {
    case redis
    case valkey
    public var description: String { rawValue }
}

/// The logical type of a value, as `TYPE` names it.
public enum RedisValueKind: String, Sendable, Hashable, CaseIterable {
    case string, list, set, zset, hash, stream, module, array
}

/// The object type byte of a key: the logical type and its on-disk encoding.
///
/// A wire constant kept as a struct so an unknown byte can still be named in errors.
/// Valkey-only meanings of shared bytes (22, 23) are distinct values: ``valkeyHash2``, ``valkeyPathHash``.
public struct RDBValueType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// The type byte, plus 0x100 for a Valkey-only meaning of that byte.
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Resolves a type byte read from a file of the given dialect.
    public init(byte: UInt8, dialect: RDBDialect) {
        if dialect == .valkey && (byte == 22 || byte == 23) {
            self.rawValue = 0x100 | UInt16(byte)
        } else {
            self.rawValue = UInt16(byte)
        }
    }

    /// The byte as written in the file.
    public var byte: UInt8 { UInt8(truncatingIfNeeded: rawValue) }

    /// The corresponding C constant is `RDB_TYPE_STRING`.
    public static let string = Self(rawValue: 0)
    /// `RDB_TYPE_LIST`: linked list (Redis ≤ 3.0).
    public static let list = Self(rawValue: 1)
    /// `RDB_TYPE_SET`: hashtable set.
    public static let set = Self(rawValue: 2)
    /// `RDB_TYPE_ZSET`: skiplist zset with string-encoded scores (Redis ≤ 3.2).
    public static let zset = Self(rawValue: 3)
    /// `RDB_TYPE_HASH`: hashtable hash.
    public static let hash = Self(rawValue: 4)
    /// `RDB_TYPE_ZSET_2`: skiplist zset with binary scores, saved highest first.
    public static let zset2 = Self(rawValue: 5)
    /// `RDB_TYPE_MODULE_PRE_GA`: module value of Redis 4.0 release candidates (cannot be parsed).
    public static let modulePreGA = Self(rawValue: 6)
    /// `RDB_TYPE_MODULE_2`: module value with an opcode stream.
    public static let module2 = Self(rawValue: 7)
    /// `RDB_TYPE_HASH_ZIPMAP` (Redis 2.4).
    public static let hashZipmap = Self(rawValue: 9)
    /// `RDB_TYPE_LIST_ZIPLIST`.
    public static let listZiplist = Self(rawValue: 10)
    /// `RDB_TYPE_SET_INTSET`.
    public static let setIntset = Self(rawValue: 11)
    /// `RDB_TYPE_ZSET_ZIPLIST`.
    public static let zsetZiplist = Self(rawValue: 12)
    /// `RDB_TYPE_HASH_ZIPLIST`.
    public static let hashZiplist = Self(rawValue: 13)
    /// `RDB_TYPE_LIST_QUICKLIST`: nodes of ziplists.
    public static let listQuicklist = Self(rawValue: 14)
    /// `RDB_TYPE_STREAM_LISTPACKS`: stream v1 (Redis 5.0–6.2).
    public static let streamListpacks = Self(rawValue: 15)
    /// `RDB_TYPE_HASH_LISTPACK`.
    public static let hashListpack = Self(rawValue: 16)
    /// `RDB_TYPE_ZSET_LISTPACK`.
    public static let zsetListpack = Self(rawValue: 17)
    /// `RDB_TYPE_LIST_QUICKLIST_2`: nodes with a container (plain or packed listpack).
    public static let listQuicklist2 = Self(rawValue: 18)
    /// `RDB_TYPE_STREAM_LISTPACKS_2`: stream v2 (Redis 7.0).
    public static let streamListpacks2 = Self(rawValue: 19)
    /// `RDB_TYPE_SET_LISTPACK`.
    public static let setListpack = Self(rawValue: 20)
    /// `RDB_TYPE_STREAM_LISTPACKS_3`: stream v3 (Redis 7.2+, Valkey).
    public static let streamListpacks3 = Self(rawValue: 21)
    /// `RDB_TYPE_HASH_METADATA_PRE_GA` (Redis 7.4 release candidates).
    public static let hashMetadataPreGA = Self(rawValue: 22)
    /// `RDB_TYPE_HASH_LISTPACK_EX_PRE_GA` (Redis 7.4 release candidates).
    public static let hashListpackExPreGA = Self(rawValue: 23)
    /// `RDB_TYPE_HASH_METADATA`: hashtable hash with field TTLs (Redis 7.4+).
    public static let hashMetadata = Self(rawValue: 24)
    /// `RDB_TYPE_HASH_LISTPACK_EX`: listpack hash with field TTLs (Redis 7.4+).
    public static let hashListpackEx = Self(rawValue: 25)
    /// `RDB_TYPE_STREAM_LISTPACKS_4`: stream with IDMP (Redis 8.6).
    public static let streamListpacks4 = Self(rawValue: 26)
    /// `RDB_TYPE_STREAM_LISTPACKS_5`: stream with XNACK (Redis 8.8).
    public static let streamListpacks5 = Self(rawValue: 27)
    /// `RDB_TYPE_ARRAY` (Redis 8.8).
    public static let array = Self(rawValue: 28)
    /// Valkey `RDB_TYPE_HASH_2`: hash with field TTLs (Valkey 9.0+, byte 22).
    public static let valkeyHash2 = Self(rawValue: 0x116)
    /// Valkey `RDB_TYPE_PATH_HASH` (Valkey 9.2, byte 23).
    public static let valkeyPathHash = Self(rawValue: 0x117)

    /// Whether the byte names an object type at all in this dialect (opcodes are 0xF0 and above).
    var isKnown: Bool {
        switch self {
        case .string, .list, .set, .zset, .hash, .zset2, .modulePreGA, .module2, .hashZipmap, .listZiplist,
            .setIntset, .zsetZiplist, .hashZiplist, .listQuicklist, .streamListpacks, .hashListpack,
            .zsetListpack, .listQuicklist2, .streamListpacks2, .setListpack, .streamListpacks3,
            .hashMetadataPreGA, .hashListpackExPreGA, .hashMetadata, .hashListpackEx, .streamListpacks4,
            .streamListpacks5, .array, .valkeyHash2, .valkeyPathHash:
            return true
        default:
            return false
        }
    }

    /// The logical type (`nil` for an unknown byte).
    public var kind: RedisValueKind? {
        switch self {
        case .string: .string
        case .list, .listZiplist, .listQuicklist, .listQuicklist2: .list
        case .set, .setIntset, .setListpack: .set
        case .zset, .zset2, .zsetZiplist, .zsetListpack: .zset
        case .hash, .hashZipmap, .hashZiplist, .hashListpack, .hashMetadataPreGA, .hashListpackExPreGA,
            .hashMetadata, .hashListpackEx, .valkeyHash2, .valkeyPathHash:
            .hash
        case .streamListpacks, .streamListpacks2, .streamListpacks3, .streamListpacks4, .streamListpacks5: .stream
        case .module2, .modulePreGA: .module
        case .array: .array
        default: nil
        }
    }

    /// Whether a value of this type is made of elements (everything but strings).
    public var isCollection: Bool { self != .string }

    /// The encoding in `OBJECT ENCODING` words for what the file holds
    /// (strings: see ``RDBReader`` — `int` or `raw` is decided by the string's own encoding).
    public var encodingName: String {
        switch self {
        case .string: "raw"
        case .list: "linkedlist"
        case .set, .hash, .hashMetadata, .hashMetadataPreGA, .valkeyHash2: "hashtable"
        case .zset, .zset2: "skiplist"
        case .hashZipmap: "zipmap"
        case .listZiplist, .zsetZiplist, .hashZiplist: "ziplist"
        case .setIntset: "intset"
        case .listQuicklist, .listQuicklist2: "quicklist"
        case .hashListpack, .zsetListpack, .setListpack: "listpack"
        case .hashListpackEx, .hashListpackExPreGA: "listpackex"
        case .streamListpacks, .streamListpacks2, .streamListpacks3, .streamListpacks4, .streamListpacks5:
            "stream"
        case .module2, .modulePreGA: "module"
        case .array: "array"
        case .valkeyPathHash: "pathhash"
        default: "unknown"
        }
    }

    /// The name `redis-check-rdb` prints (`rdb_type_string[]`), e.g. `"quicklist-v2"`.
    public var name: String {
        switch self {
        case .string: "string"
        case .list: "list-linked"
        case .set: "set-hashtable"
        case .zset: "zset-v1"
        case .hash: "hash-hashtable"
        case .zset2: "zset-v2"
        case .modulePreGA: "module-pre-release"
        case .module2: "module-value"
        case .hashZipmap: "hash-zipmap"
        case .listZiplist: "list-ziplist"
        case .setIntset: "set-intset"
        case .zsetZiplist: "zset-ziplist"
        case .hashZiplist: "hash-ziplist"
        case .listQuicklist: "quicklist"
        case .streamListpacks: "stream"
        case .hashListpack: "hash-listpack"
        case .zsetListpack: "zset-listpack"
        case .listQuicklist2: "quicklist-v2"
        case .streamListpacks2: "stream-v2"
        case .setListpack: "set-listpack"
        case .streamListpacks3: "stream-v3"
        case .hashMetadataPreGA: "hash-hashtable-md-pre-release"
        case .hashListpackExPreGA: "hash-listpack-md-pre-release"
        case .hashMetadata: "hash-hashtable-md"
        case .hashListpackEx: "hash-listpack-md"
        case .streamListpacks4: "stream-v4"
        case .streamListpacks5: "stream-v5"
        case .array: "array"
        case .valkeyHash2: "hash-2"
        case .valkeyPathHash: "path-hash"
        default: "unknown"
        }
    }

    /// `"type 16 (hash-listpack)"`.
    public var description: String { "type \(byte) (\(name))" }
}

/// The one-byte opcodes that are not object types, counted down from 255.
public struct RDBOpcode: RawRepresentable, Sendable, Hashable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The corresponding C constant is `RDB_OPCODE_EOF`.
    public static let eof = Self(rawValue: 0xFF)
    /// `RDB_OPCODE_SELECTDB`.
    public static let selectDB = Self(rawValue: 0xFE)
    /// `RDB_OPCODE_EXPIRETIME`: 4-byte seconds.
    public static let expireTime = Self(rawValue: 0xFD)
    /// `RDB_OPCODE_EXPIRETIME_MS`: 8-byte milliseconds.
    public static let expireTimeMS = Self(rawValue: 0xFC)
    /// `RDB_OPCODE_RESIZEDB`.
    public static let resizeDB = Self(rawValue: 0xFB)
    /// `RDB_OPCODE_AUX`.
    public static let aux = Self(rawValue: 0xFA)
    /// `RDB_OPCODE_FREQ`: LFU counter.
    public static let freq = Self(rawValue: 0xF9)
    /// `RDB_OPCODE_IDLE`: LRU idle seconds.
    public static let idle = Self(rawValue: 0xF8)
    /// `RDB_OPCODE_MODULE_AUX`.
    public static let moduleAux = Self(rawValue: 0xF7)
    /// `RDB_OPCODE_FUNCTION_PRE_GA` (Redis 7.0 release candidates).
    public static let functionPreGA = Self(rawValue: 0xF6)
    /// `RDB_OPCODE_FUNCTION2`.
    public static let function2 = Self(rawValue: 0xF5)
    /// `RDB_OPCODE_SLOT_INFO` (Redis 7.4+).
    public static let slotInfo = Self(rawValue: 0xF4)
    /// Redis `RDB_OPCODE_KEY_META` (RDB 13) / Valkey `RDB_OPCODE_SLOT_IMPORT` (RDB 80).
    public static let keyMetaOrSlotImport = Self(rawValue: 0xF3)
    /// Valkey `RDB_OPCODE_UPDATE` (RDB 81).
    public static let valkeyUpdate = Self(rawValue: 0xF2)
}
