import RedisFormats

/// What `INFO server` says about a server, and the RDB it reads.
public struct RedisServerInfo: Sendable, Hashable {
    /// `redis_version` (Valkey reports 7.2.4 there for compatibility).
    public var redisVersion: String
    /// `valkey_version`, on Valkey.
    public var valkeyVersion: String?
    /// `server_name` (`valkey` on Valkey 8+).
    public var serverName: String?
    /// `redis_mode`: standalone, cluster, sentinel.
    public var mode: String?

    public var isValkey: Bool { valkeyVersion != nil || serverName == "valkey" }

    /// The server's own version (Valkey's when it is Valkey).
    public var version: String { valkeyVersion ?? redisVersion }

    /// Parses the text of `INFO server` (`key:value` lines).
    public init(info: String) {
        var fields: [Substring: Substring] = [:]
        for line in info.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon]] = line[line.index(after: colon)...]
        }
        redisVersion = fields["redis_version"].map(String.init) ?? "0.0.0"
        valkeyVersion = fields["valkey_version"].map(String.init)
        serverName = fields["server_name"].map(String.init)
        mode = fields["redis_mode"].map(String.init)
    }

    public init(redisVersion: String, valkeyVersion: String? = nil) {
        self.redisVersion = redisVersion
        self.valkeyVersion = valkeyVersion
    }

    /// The RDB version and dialect the server writes, hence the newest DUMP payload its RESTORE takes
    /// (`RDB_VERSION` of that release): Redis 2.6–2.8 → 6, 3.x → 7, 4.0 → 8, 5.0–6.2 → 9, 7.0 → 10,
    /// 7.2 → 11, 7.4–8.4 → 12, 8.6 → 13, 8.8+ → 14; Valkey 7.2–8.1 → 11, 9.0–9.1 → 80, 9.2+ → 81.
    public var rdbTarget: RDBTarget {
        let parts = version.split(separator: ".").map { Int($0) ?? 0 }
        let major = parts.first ?? 0
        let minor = parts.count > 1 ? parts[1] : 0
        let v = major * 100 + minor
        if let valkey = valkeyVersion ?? (serverName == "valkey" ? redisVersion : nil) {
            _ = valkey
            let rdb = v >= 902 ? 81 : v >= 900 ? 80 : 11
            return RDBTarget(rdbVersion: rdb, dialect: .valkey, serverVersion: version)
        }
        let rdb: Int
        switch v {
        case ..<206: rdb = 5
        case ..<300: rdb = 6
        case ..<400: rdb = 7
        case ..<500: rdb = 8
        case ..<700: rdb = 9
        case ..<702: rdb = 10
        case ..<704: rdb = 11
        case ..<806: rdb = 12
        case ..<808: rdb = 13
        default: rdb = 14
        }
        return RDBTarget(rdbVersion: rdb, dialect: .redis, serverVersion: version)
    }
}
