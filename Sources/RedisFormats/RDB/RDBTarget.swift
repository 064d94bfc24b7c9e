/// The server an RDB is written for: its RDB version, dialect and default encoding thresholds.
public struct RDBTarget: Sendable, Hashable, CustomStringConvertible {
    /// Encoding thresholds (the server's `*-max-*` settings) deciding compact vs big encodings.
    public struct Thresholds: Sendable, Hashable {
        /// `hash-max-listpack-entries` / `hash-max-ziplist-entries`.
        public var hashMaxEntries = 128
        /// `hash-max-listpack-value`.
        public var hashMaxValue = 64
        /// `zset-max-listpack-entries`.
        public var zsetMaxEntries = 128
        /// `zset-max-listpack-value`.
        public var zsetMaxValue = 64
        /// `set-max-intset-entries`.
        public var setMaxIntsetEntries = 512
        /// `set-max-listpack-entries` (RDB 11+).
        public var setMaxListpackEntries = 128
        /// `set-max-listpack-value`.
        public var setMaxListpackValue = 64
        /// Bytes per quicklist node (`list-max-listpack-size -2` = 8 KiB).
        public var listNodeBytes = 8192
        /// `stream-node-max-bytes` and `stream-node-max-entries`.
        public var streamNodeMaxBytes = 4096
        public var streamNodeMaxEntries = 100
        public init() {}
    }

    public var rdbVersion: Int
    public var dialect: RDBDialect
    /// The version written in the `redis-ver` / `valkey-ver` aux field.
    public var serverVersion: String
    public var thresholds = Thresholds()
    /// LZF-compress strings over 20 bytes when it saves space (`rdbcompression yes`).
    public var compresses = true
    /// Write a CRC64 (`rdbchecksum yes`); otherwise 8 zero bytes.
    public var writesChecksum = true

    public init(rdbVersion: Int, dialect: RDBDialect, serverVersion: String) {
        self.rdbVersion = rdbVersion
        self.dialect = dialect
        self.serverVersion = serverVersion
        if dialect == .redis && rdbVersion <= 9 { thresholds.hashMaxEntries = 512 }
    }

    /// Targets by name: `redis-6.2`, `redis-7.0`, `redis-7.2`, `redis-7.4`, `redis-8.0`…`redis-8.4`,
    /// `valkey-7.2`, `valkey-8.0`, `valkey-8.1`, `valkey-9.0`, `valkey-9.1`, and `redis-3.2`…`redis-6.0`.
    public static func named(_ name: String) -> RDBTarget? {
        let table: [String: (Int, RDBDialect, String)] = [
            "redis-3.2": (7, .redis, "3.2.13"), "redis-4.0": (8, .redis, "4.0.14"), "redis-5.0": (9, .redis, "5.0.14"),
            "redis-6.0": (9, .redis, "6.0.20"), "redis-6.2": (9, .redis, "6.2.14"), "redis-7.0": (10, .redis, "7.0.15"),
            "redis-7.2": (11, .redis, "7.2.5"), "redis-7.4": (12, .redis, "7.4.1"), "redis-8.0": (12, .redis, "8.0.0"),
            "redis-8.2": (12, .redis, "8.2.0"), "redis-8.4": (12, .redis, "8.4.0"),
            "valkey-7.2": (11, .valkey, "7.2.5"), "valkey-8.0": (11, .valkey, "8.0.0"), "valkey-8.1": (11, .valkey, "8.1.0"),
            "valkey-9.0": (80, .valkey, "9.0.0"), "valkey-9.1": (80, .valkey, "9.1.2"),
        ]
        guard let (v, d, s) = table[name] else { return nil }
        return RDBTarget(rdbVersion: v, dialect: d, serverVersion: s)
    }

    /// Target names `named(_:)` knows.
    public static let knownNames = [
        "redis-3.2", "redis-4.0", "redis-5.0", "redis-6.0", "redis-6.2", "redis-7.0", "redis-7.2", "redis-7.4",
        "redis-8.0", "redis-8.2", "redis-8.4", "valkey-7.2", "valkey-8.0", "valkey-8.1", "valkey-9.0", "valkey-9.1",
    ]

    /// The RDB versions rdbkit writes: Redis 7–12, Valkey 80.
    public var isWritable: Bool { (dialect == .redis && (7...12).contains(rdbVersion)) || (dialect == .valkey && (rdbVersion == 11 || rdbVersion == 80)) }

    /// `REDIS0011`, `VALKEY080`.
    public var magic: String {
        if dialect == .valkey && rdbVersion >= 80 { return "VALKEY" + pad(rdbVersion, 3) }
        return "REDIS" + pad(rdbVersion, 4)
    }

    private func pad(_ v: Int, _ n: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, n - s.count)) + s
    }

    /// Whether a file of this target may contain values of `type`.
    public func supports(_ type: RDBValueType) -> Bool {
        let v = rdbVersion
        switch type {
        case .string, .list, .set, .zset, .hash, .hashZipmap, .listZiplist, .setIntset, .zsetZiplist, .hashZiplist: return true
        case .listQuicklist: return v >= 7
        case .zset2, .module2: return v >= 8
        case .streamListpacks: return v >= 9
        case .hashListpack, .zsetListpack, .listQuicklist2, .streamListpacks2: return v >= 10
        case .setListpack, .streamListpacks3: return v >= 11
        case .hashMetadata, .hashListpackEx: return dialect == .redis && v >= 12
        case .valkeyHash2: return dialect == .valkey && v >= 80
        default: return false
        }
    }

    /// The stream type this target writes.
    var streamType: RDBValueType {
        rdbVersion >= 11 ? .streamListpacks3 : rdbVersion == 10 ? .streamListpacks2 : .streamListpacks
    }

    /// Whether the target stores hash field TTLs.
    public var supportsFieldTTLs: Bool { supports(.hashMetadata) || supports(.valkeyHash2) }

    public var description: String { "\(magic) (\(dialect == .valkey ? "Valkey" : "Redis") \(serverVersion))" }
}
