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

    /// Keys by database number. Databases are created when first written.
    public internal(set) var databases: [Int: [RedisBytes: Entry]] = [:] {
        didSet { if frozenKeys != nil { frozenKeys = nil } }
    }
    /// Every key of each database in byte order, built by ``freeze()`` (SCAN cursors index it); any change to
    /// the keyspace drops it.
    public private(set) var frozenKeys: [Int: [RedisBytes]]?
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
    public var nonEmptyDatabases: [Int] { databases.filter { !$0.value.isEmpty }.keys.sorted() }

    /// Keys in a database (including expired ones unless `now` is given).
    public func count(db: Int, now: Int64? = nil) -> Int {
        guard let d = databases[db] else { return 0 }
        guard now != nil else { return d.count }
        return d.values.reduce(0) { $0 + ($1.isExpired(at: now) ? 0 : 1) }
    }

    /// Total keys in every database.
    public var totalKeys: Int { databases.values.reduce(0) { $0 + $1.count } }

    public func entry(db: Int, key: RedisBytes, now: Int64? = nil) -> Entry? {
        guard let e = databases[db]?[key], !e.isExpired(at: now) else { return nil }
        return e
    }

    public func value(db: Int, key: RedisBytes, now: Int64? = nil) -> KeyValue? { entry(db: db, key: key, now: now)?.value }

    public func exists(db: Int, key: RedisBytes, now: Int64? = nil) -> Bool { entry(db: db, key: key, now: now) != nil }

    public func expiry(db: Int, key: RedisBytes) -> Int64? { databases[db]?[key]?.expiresAt }

    /// Every key of a database, in dictionary order (stable while the database is not changed).
    public func keys(db: Int, now: Int64? = nil) -> [RedisBytes] {
        guard let d = databases[db] else { return [] }
        return d.compactMap { $0.value.isExpired(at: now) ? nil : $0.key }
    }

    /// Calls `body` for every key of every database (databases ascending) until it returns false.
    public func forEach(now: Int64? = nil, _ body: (Int, RedisBytes, Entry) throws -> Bool) rethrows {
        for db in databases.keys.sorted() {
            for (k, e) in databases[db]! where !e.isExpired(at: now) {
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
        frozenKeys = keys
    }

    // MARK: Changes

    /// Sets a key (replacing any value and expiry).
    public func set(db: Int, key: RedisBytes, _ entry: Entry) {
        databases[db, default: [:]][key] = entry
    }

    /// Sets a key's value, keeping its expiry when `keepTTL` (otherwise clearing it).
    public func set(db: Int, key: RedisBytes, value: KeyValue, keepTTL: Bool = false) {
        if keepTTL, let old = databases[db]?[key] {
            databases[db, default: [:]][key] = Entry(value: value, expiresAt: old.expiresAt)
        } else {
            databases[db, default: [:]][key] = Entry(value: value)
        }
    }

    @discardableResult
    public func remove(db: Int, key: RedisBytes) -> Entry? {
        databases[db]?.removeValue(forKey: key)
    }

    public func setExpiry(db: Int, key: RedisBytes, _ ms: Int64?) {
        guard databases[db]?[key] != nil else { return }
        databases[db]![key]!.expiresAt = ms
    }

    public func flush(db: Int) { databases[db] = nil }

    public func flushAll() {
        databases = [:]
    }

    public func swap(_ a: Int, _ b: Int) {
        let x = databases[a]
        databases[a] = databases[b]
        databases[b] = x
    }

    public func setFunction(name: String, code: RedisBytes?) { functions[name] = code }

    public func removeAllFunctions() { functions = [:] }

    public func addModuleAux(_ aux: RDBModuleAux) { moduleAux.append(aux) }

    /// Deletes keys whose expiry is at or before `now` (what a master does to the keys of a file it loads),
    /// returning how many went.
    @discardableResult
    public func removeExpired(now: Int64) -> Int {
        var n = 0
        for db in databases.keys {
            let before = databases[db]!.count
            databases[db] = databases[db]!.filter { !$0.value.isExpired(at: now) }
            n += before - databases[db]!.count
        }
        return n
    }
}
