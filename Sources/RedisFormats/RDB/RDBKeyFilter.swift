/// Which keys to keep: by db, by glob on the key, by type.
public struct RDBKeyFilter: Sendable {
    /// Databases to keep (nil: all).
    public var databases: Set<UInt64>?
    /// Redis glob on the key bytes (nil: all).
    public var glob: RedisGlob?
    /// Type names to keep: `string`, `list`, `set`, `zset`, `hash`, `stream`, `module` (any module value),
    /// or a 9-character module type name (nil: all).
    public var types: Set<String>?

    public init(databases: Set<UInt64>? = nil, glob: RedisGlob? = nil, types: Set<String>? = nil) {
        self.databases = databases
        self.glob = glob
        self.types = types
    }

    /// Whether the filter keeps everything.
    public var isEmpty: Bool { databases == nil && glob == nil && types == nil }

    /// Decides from the header alone; `nil` when only the module type name (in the value) can decide.
    public func matches(_ h: RDBKeyHeader) -> Bool? {
        if let dbs = databases, !dbs.contains(h.db) { return false }
        if let g = glob, !g.matches(h.key) { return false }
        guard let types else { return true }
        guard let kind = h.valueType.kind else { return false }
        if types.contains(kind.rawValue) { return true }
        if kind == .module { return types.contains { $0.utf8.count == 9 } ? nil : false }
        return false
    }

    /// Whether a module value of this type is kept.
    public func matchesModule(_ type: RedisModuleType) -> Bool {
        types.map { $0.contains("module") || $0.contains(type.name) } ?? true
    }
}

