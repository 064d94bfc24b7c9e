/// Which server's memory layout an estimate follows, and with which allocator.
///
/// The estimates reproduce what `MEMORY USAGE key SAMPLES 0` reports on that server: the key's
/// sds string and its slot in the keyspace table, the value's object header, and every allocation of
/// the value (sds strings, dict tables and entries, listpacks, quicklist nodes, skiplist nodes, intsets),
/// each rounded up to the allocator's size class. Expiry entries are not part of MEMORY USAGE.
public struct MemoryModel: Sendable, Hashable {
    /// A family of server versions sharing one memory layout.
    public enum Server: String, Sendable, CaseIterable {
        case redis5 = "redis-5.0"
        case redis6_0 = "redis-6.0"
        case redis6_2 = "redis-6.2"
        case redis7_0 = "redis-7.0"
        case redis7_2 = "redis-7.2"
        case redis7_4 = "redis-7.4"
        case redis8 = "redis-8"
        case valkey7_2 = "valkey-7.2"
        case valkey8 = "valkey-8"
        case valkey9 = "valkey-9"

        /// The family of a version string such as `7.0.15` (Redis) or `9.1.2` (Valkey).
        public static func from(version: String, valkey: Bool) -> Server? {
            let parts = version.split(separator: ".").compactMap { Int($0) }
            guard let major = parts.first else { return nil }
            let minor = parts.count > 1 ? parts[1] : 0
            if valkey {
                switch major {
                case ..<8: return .valkey7_2
                case 8: return .valkey8
                default: return .valkey9
                }
            }
            switch (major, minor) {
            case (..<6, _): return .redis5
            case (6, ..<2): return .redis6_0
            case (6, _): return .redis6_2
            case (7, ..<2): return .redis7_0
            case (7, ..<4): return .redis7_2
            case (7, _): return .redis7_4
            default: return .redis8
            }
        }


        /// Whether small lists are a bare listpack (Redis 7.2+, Valkey).
        var hasListpackLists: Bool {
            switch self {
            case .redis5, .redis6_0, .redis6_2, .redis7_0: false
            default: true
            }
        }

        /// Whether small hashes, sets and zsets are listpacks (7.0+) rather than ziplists.
        var usesListpack: Bool {
            switch self {
            case .redis5, .redis6_0, .redis6_2: false
            default: true
            }
        }
    }

    public var server: Server
    public var allocator: MemoryAllocator
    /// The server ran with `cluster-enabled yes`: Redis 7.0 and 7.2 then keep 16 bytes of slot
    /// metadata in every keyspace entry (`clusterDictEntryMetadata`).
    public var clusterMode: Bool
    /// The server's `list-compress-depth`: quicklist nodes this far from both ends are held
    /// LZF-compressed in memory (0: none). Not recorded in the file.
    public var listCompressDepth: Int

    public init(server: Server, allocator: MemoryAllocator, clusterMode: Bool = false, listCompressDepth: Int = 0) {
        self.server = server
        self.allocator = allocator
        self.clusterMode = clusterMode
        self.listCompressDepth = max(0, listCompressDepth)
    }

    /// The model for a file's aux fields: `valkey-ver` or `redis-ver` give the family; the allocator is
    /// jemalloc (the default build of both servers) unless told otherwise. Without a version: Redis 7.0.
    public static func forFile(redisVersion: String?, valkeyVersion: String?, allocator: MemoryAllocator? = nil) -> MemoryModel {
        let server: Server
        if let v = valkeyVersion, let s = Server.from(version: v, valkey: true) {
            server = s
        } else if let v = redisVersion, let s = Server.from(version: v, valkey: false) {
            server = s
        } else {
            server = .redis7_0
        }
        return MemoryModel(server: server, allocator: allocator ?? .jemalloc)
    }

    /// `redis-7.0/jemalloc`.
    public var name: String { "\(server.rawValue)/\(allocator.rawValue)" }

    // MARK: Building blocks

    @inline(__always) func alloc(_ n: Int) -> Int { allocator.usableSize(n) }

    /// sds header bytes for a string of `len` bytes created at its exact size (sdsReqType).
    @inline(__always) static func sdsHeader(_ len: Int) -> Int {
        if len < 32 { return 1 }
        if len < 256 { return 3 }
        if len < 65536 { return 5 }
        if len < 1 << 32 { return 9 }
        return 17
    }
}

extension MemoryModel {
    /// Accuracy measured against MEMORY USAGE of a live server of this line and allocator (the
    /// calibration test checks these figures still hold), or nil when none was measured.
    public var calibration: (withinTenPercent: Int, totalError: Double)? {
        switch (server, allocator) {
        case (.redis6_0, .jemalloc), (.redis6_2, .libc), (.redis7_0, .jemallocSystem), (.redis7_4, .jemalloc):
            (99, 0.5)
        case (.valkey9, .libc):
            (99, 1.5)
        default:
            nil
        }
    }
}
