import RedisFormats
import RedisFormatsJSON
import RedisKeyspace

/// The inputs commands built on the keyspace accept (`serve`, `diff`, `json` of an AOF): an RDB, an AOF in any
/// layout, or rdbkit JSON Lines, told apart by their first bytes.
enum KeyspaceInput {
    enum Kind: String {
        case rdb, aof, jsonLines = "json-lines"
    }

    /// What `path` holds: a directory or manifest is an AOF; a file starting with `{` is JSON Lines; a file
    /// with an RDB magic (or gzip) is an RDB unless it is named `*.aof` (an RDB-preamble AOF); anything else is
    /// a RESP AOF.
    static func kind(of path: String) throws(RDBError) -> Kind {
        let layout = try AOFLocator.layout(of: path)
        guard case .singleFile = layout else { return .aof }
        let head = ByteSources.head(path: path, count: 64)
        if let first = head.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }), first == UInt8(ascii: "{") {
            return .jsonLines
        }
        return RDBFileKind.isRDB(head: head, path: path) ? .rdb : .aof
    }

    /// Loads `path` into a new keyspace.
    static func load(
        _ path: String, options: KeyspaceLoader.Options = KeyspaceLoader.Options()
    ) throws -> (Keyspace, KeyspaceLoader.Summary) {
        let keyspace = Keyspace(databases: 1 << 16)
        let loader = KeyspaceLoader(keyspace: keyspace, options: options)
        switch try kind(of: path) {
        case .rdb:
            var s = KeyspaceLoader.Summary()
            s.rdbKeys = try loader.loadRDB(path: path)
            return (keyspace, s)
        case .aof:
            return (keyspace, try loader.loadAOF(path: path))
        case .jsonLines:
            var s = KeyspaceLoader.Summary()
            let reader = try JSONLinesReader(path: path)
            while let k = try reader.next() {
                keyspace.set(
                    db: Int(k.header.db), key: k.header.key,
                    Keyspace.Entry(value: KeyValue(k.value), expiresAt: k.header.expiresAt?.milliseconds))
                s.rdbKeys += 1
            }
            return (keyspace, s)
        }
    }

    /// Keeps a keyspace alive until the process exits: freeing millions of records one by one only delays the
    /// exit (the operating system reclaims the memory at once).
    static func keepUntilExit(_ keyspace: Keyspace) {
        _ = Unmanaged.passRetained(keyspace)
    }
}
