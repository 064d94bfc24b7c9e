import RedisFormats

/// An in-memory keyspace: numbered databases of keys with values and expiries, plus the server-wide state an
/// RDB carries (function libraries, module aux data). No server, no network.
///
/// ```swift
/// let ks = Keyspace()
/// let engine = CommandEngine(keyspace: ks)
/// try engine.apply(["SET", "greeting", "hello"])
/// ks.value(db: 0, key: "greeting")        // .string("hello")
/// ```
///
/// Expiry: the keyspace stores absolute expiries and never deletes a key on its own. Queries take a `now`
/// (Unix ms): a key whose expiry is at or before `now` is treated as absent, as a Redis replica answers reads;
/// `nil` sees every key (how Redis behaves while loading a file).
public final class Keyspace: @unchecked Sendable {
    /// A key's value and expiry.
    public struct Entry: Sendable {
        public var value: KeyValue
        /// Absolute expiry in Unix ms, or ``Keyspace/noExpiry``.
        public var rawExpiry: Int64

        public init(value: KeyValue, expiresAt: Int64? = nil) {
            self.value = value
            self.rawExpiry = expiresAt ?? Keyspace.noExpiry
        }

        public var expiresAt: Int64? {
            get { rawExpiry == Keyspace.noExpiry ? nil : rawExpiry }
            set { rawExpiry = newValue ?? Keyspace.noExpiry }
        }

        @inline(__always) public func isExpired(at now: Int64?) -> Bool {
            guard let now, rawExpiry != Keyspace.noExpiry else { return false }
            return rawExpiry <= now
        }
    }

    public static let noExpiry = Int64.min

    /// Tables by database number (nil until first written); indexes up to ``maxDatabase``.
    public internal(set) var tables: [KeyTable?] = []

    /// Keys by database number, for the databases that exist.
    public var databases: [Int: KeyTable] {
        var out: [Int: KeyTable] = [:]
        for (i, t) in tables.enumerated() { if let t { out[i] = t } }
        return out
    }

    /// The table of a database, if it exists.
    @inline(__always) public func existingTable(_ db: Int) -> KeyTable? {
        db >= 0 && db < tables.count ? tables[db] : nil
    }

    /// Every key of each database in byte order, built by ``freeze()`` (SCAN cursors index it); nil once any
    /// table changed its keys since (each table counts its key changes).
    public var frozenKeys: [Int: [RedisBytes]]? {
        guard let f = frozen else { return nil }
        return tableStamps == f.stamps ? f.keys : nil
    }
    private var frozen: (keys: [Int: [RedisBytes]], stamps: [TableStamp])?

    /// Which table sits at each database number, and how many key changes it has seen.
    private struct TableStamp: Equatable {
        var table: ObjectIdentifier?
        var version: UInt64
    }

    private var tableStamps: [TableStamp] {
        tables.map { TableStamp(table: $0.map(ObjectIdentifier.init), version: $0?.keyVersion ?? 0) }
    }
    /// Function libraries by name (FUNCTION LOAD), with their code.
    public internal(set) var functions: [String: RedisBytes] = [:]
    /// Module aux records of a loaded RDB, kept for writing back.
    public internal(set) var moduleAux: [RDBModuleAux] = []
    /// The highest database number accepted (`databases` config minus one); SELECT beyond it fails.
    public var maxDatabase: Int

    public init(databases: Int = 16) {
        maxDatabase = max(databases, 1) - 1
    }

    // MARK: Queries

    /// Database numbers that hold at least one key, ascending.
    public var nonEmptyDatabases: [Int] { tables.indices.filter { tables[$0].map { !$0.isEmpty } ?? false } }

    /// Keys in a database (including expired ones unless `now` is given).
    public func count(db: Int, now: Int64? = nil) -> Int {
        guard let d = existingTable(db) else { return 0 }
        guard now != nil else { return d.count }
        return d.reduce(0) { $0 + ($1.value.isExpired(at: now) ? 0 : 1) }
    }

    /// Total keys in every database.
    public var totalKeys: Int { tables.reduce(0) { $0 + ($1?.count ?? 0) } }

    public func entry(db: Int, key: RedisBytes, now: Int64? = nil) -> Entry? {
        guard let e = existingTable(db)?[key], !e.isExpired(at: now) else { return nil }
        return e
    }

    public func value(db: Int, key: RedisBytes, now: Int64? = nil) -> KeyValue? { entry(db: db, key: key, now: now)?.value }

    public func exists(db: Int, key: RedisBytes, now: Int64? = nil) -> Bool { entry(db: db, key: key, now: now) != nil }

    public func expiry(db: Int, key: RedisBytes) -> Int64? { existingTable(db)?[key]?.expiresAt }

    /// Every key of a database, in table order (stable while the database is not changed).
    public func keys(db: Int, now: Int64? = nil) -> [RedisBytes] {
        guard let d = existingTable(db) else { return [] }
        return d.compactMap { $0.value.isExpired(at: now) ? nil : $0.key }
    }

    /// The table of a database, created when absent.
    public func table(_ db: Int) -> KeyTable {
        if let t = existingTable(db) { return t }
        precondition(db >= 0, "negative database number")
        if db >= tables.count { tables += [KeyTable?](repeating: nil, count: db + 1 - tables.count) }
        let t = KeyTable()
        tables[db] = t
        return t
    }

    /// Calls `body` for every key of every database (databases ascending) until it returns false.
    public func forEach(now: Int64? = nil, _ body: (Int, RedisBytes, Entry) throws -> Bool) rethrows {
        for db in tables.indices {
            guard let t = tables[db] else { continue }
            for (k, e) in t where !e.isExpired(at: now) {
                if try !body(db, k, e) { return }
            }
        }
    }

    /// Prepares the keyspace to be read from many threads at once, as `rdbkit serve` does: builds
    /// ``frozenKeys`` and every cache a read would otherwise build lazily (the rank order of big sorted sets).
    /// After this, reads change nothing in memory, so concurrent readers need no lock as long as nobody writes.
    public func freeze() {
        var keys: [Int: [RedisBytes]] = [:]
        for (db, d) in databases where !d.isEmpty {
            keys[db] = d.keys.sorted()
            for e in d.values { if case .sortedSet(let z) = e.value { _ = z.sortedEntries } }
        }
        frozen = (keys, tableStamps)
    }

    // MARK: Changes

    /// Sets a key (replacing any value and expiry).
    public func set(db: Int, key: RedisBytes, _ entry: Entry) {
        table(db).insert(key, entry)
    }

    /// Sets a key's value, keeping its expiry when `keepTTL` (otherwise clearing it).
    public func set(db: Int, key: RedisBytes, value: KeyValue, keepTTL: Bool = false) {
        let t = table(db)
        if keepTTL, let old = t[key] {
            t.insert(key, Entry(value: value, expiresAt: old.expiresAt))
        } else {
            t.insert(key, Entry(value: value))
        }
    }

    @discardableResult
    public func remove(db: Int, key: RedisBytes) -> Entry? {
        existingTable(db)?.removeValue(forKey: key)
    }

    public func setExpiry(db: Int, key: RedisBytes, _ ms: Int64?) {
        existingTable(db)?.setExpiry(key, ms ?? Keyspace.noExpiry)
    }

    public func flush(db: Int) {
        if db >= 0 && db < tables.count { tables[db] = nil }
    }

    public func flushAll() {
        tables = []
    }

    public func swap(_ a: Int, _ b: Int) {
        let n = max(a, b) + 1
        if tables.count < n { tables += [KeyTable?](repeating: nil, count: n - tables.count) }
        tables.swapAt(a, b)
    }

    public func setFunction(name: String, code: RedisBytes?) { functions[name] = code }

    public func removeAllFunctions() { functions = [:] }

    public func addModuleAux(_ aux: RDBModuleAux) { moduleAux.append(aux) }

    /// Deletes keys whose expiry is at or before `now` (what a master does to the keys of a file it loads),
    /// returning how many went.
    @discardableResult
    public func removeExpired(now: Int64) -> Int {
        var n = 0
        for case let t? in tables {
            let expired = t.compactMap { $0.value.isExpired(at: now) ? $0.key : nil }
            for k in expired { t.removeValue(forKey: k) }
            n += expired.count
        }
        return n
    }
}
