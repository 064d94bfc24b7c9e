import CMemoryHints
import RedisFormats

/// Fills a ``Keyspace`` from an RDB, an AOF (any layout) or a stream of records.
public struct KeyspaceLoader {
    public struct Options: Sendable {
        /// Skip and count unknown commands and verbatim scripts instead of stopping.
        public var skipUnknown = false
        /// Point in time (Unix seconds): stop before the first `#TS:` annotation later than this.
        public var until: Int64?
        /// Options of the RDB reader (for RDB files, preambles and bases).
        public var rdb = RDBReader.Options()
        public init() {}
    }

    /// What a load did.
    public struct Summary: Sendable {
        /// Keys read from RDB parts.
        public var rdbKeys = 0
        /// Commands applied (MULTI/EXEC and SELECT included).
        public var commands = 0
        /// Commands that returned an error reply (ignored, as a loading server ignores them).
        public var failedCommands = 0
        /// Unknown commands skipped, by lowercase name.
        public var skipped: [String: Int] = [:]
        /// Module commands that could not be applied to an opaque module value, by key.
        public var moduleCommandsNotApplied = 0
        /// Where `--until` stopped: the file and offset of the first annotation past the limit.
        public var stoppedAt: CommandOrigin?
        /// A MULTI left open at the end (its commands were dropped, as Redis does).
        public var droppedTransaction = false
        public init() {}
    }

    public let keyspace: Keyspace
    public var options: Options

    public init(keyspace: Keyspace, options: Options = Options()) {
        self.keyspace = keyspace
        self.options = options
    }

    /// Loads every key of an RDB reader positioned at its start (or at the start of an AOF's RDB part).
    @discardableResult
    public func loadRDB(_ reader: RDBReader) throws(RDBError) -> Int {
        var keys = 0
        while let r = try reader.next() {
            switch r {
            case .key(let h):
                let value = try reader.readValue()
                keyspace.set(
                    db: Int(h.db), key: h.key, Keyspace.Entry(value: KeyValue(value), expiresAt: h.expiresAt?.milliseconds))
                keys += 1
            case .function(let f):
                if let name = f.libraryName { keyspace.setFunction(name: name, code: f.code) }
            case .moduleAux(let m):
                keyspace.addModuleAux(m)
            case .end:
                return keys
            default:
                break
            }
        }
        return keys
    }

    /// Loads an RDB file, reading and converting values on a second thread while this one stores them.
    @discardableResult
    public func loadRDB(path: String) throws -> Int {
        let reader = try RDBReader(path: path, options: options.rdb)
        let prefetch = LoadPrefetcher { p in _ = try p.emitRDB(reader) }
        var keys = 0
        do {
            while let batch = try prefetch.next() {
                let items = batch.items
                for i in items.indices {
                    prefetchAhead(batch, from: i)
                    apply(items[i], keyHash: batch.keyHashes[i], rdbKeys: &keys)
                }
                prefetch.recycle(batch)
            }
        } catch {
            prefetch.cancel()
            throw error
        }
        return keys
    }

    /// How many items ahead of the one being applied the table slots are prefetched; the records (one level
    /// further) are prefetched half as far ahead, once their slots have had time to arrive.
    static let prefetchDistance = 8

    /// Starts loading, for later items of `batch`, the table slots and records their keys will touch: a
    /// 2-million-key table lives in main memory, and applying a command is otherwise mostly waiting for it.
    @inline(__always)
    private func prefetchAhead(_ batch: LoadBatch, from index: Int) {
        let far = index + Self.prefetchDistance
        let near = index + Self.prefetchDistance / 2
        let hashes = batch.keyHashes
        if far < hashes.count {
            batch.items.withUnsafeBufferPointer { rdbkit_prefetch($0.baseAddress! + far) }
            if hashes[far] != 0 { keyspace.existingTable(Int(batch.keyDatabases[far]))?.prefetch(hash: hashes[far]) }
            // Array headers (reference counts about to change) and the first bytes of the elements.
            let a = far &* LoadBatch.addressesPerItem
            for k in a..<(a + LoadBatch.addressesPerItem) {
                if let p = UnsafeRawPointer(bitPattern: batch.addresses[k]) {
                    rdbkit_prefetch_write(p - 32)
                    rdbkit_prefetch(p + 16)
                }
            }
        }
        if near < hashes.count, hashes[near] != 0 {
            keyspace.existingTable(Int(batch.keyDatabases[near]))?.prefetchRecord(hash: hashes[near])
        }
    }

    /// An RDB item: stores it (`keyHash`: its key's hash, from the reading thread). Other items are the AOF
    /// loop's.
    @inline(__always)
    private func apply(_ item: LoadItem, keyHash: UInt64, rdbKeys: inout Int) {
        switch item {
        case .key(let db, let key, let entry):
            let table = keyspace.table(db)
            table.setHint(key, hash: keyHash)
            defer { table.clearHint() }
            table.insert(key, entry)
            // A small collection is stored packed inside its record (see KeyTable.embed).
            switch entry.value {
            case .hash, .set, .list: table.embed(key)
            default: break
            }
            rdbKeys += 1
        case .function(let name, let code):
            keyspace.setFunction(name: name, code: code)
        case .moduleAux(let m):
            keyspace.addModuleAux(m)
        default:
            break
        }
    }

    /// Loads a file: an RDB (by its magic) or an AOF (single file, preamble, directory or manifest).
    public func load(path: String) throws -> Summary {
        if RDBFileKind.isRDB(path: path) {
            var s = Summary()
            s.rdbKeys = try loadRDB(path: path)
            return s
        }
        return try loadAOF(path: path)
    }

    /// Applies an AOF in any layout. The file is parsed on a second thread (``LoadPrefetcher``) while
    /// this one runs the commands.
    public func loadAOF(path: String) throws -> Summary {
        var aofOptions = AOFReader.Options()
        aofOptions.rdb = options.rdb
        let reader = try AOFReader(path: path, options: aofOptions)
        let prefetch = LoadPrefetcher { p in
            while let record = try reader.next() {
                let more: Bool
                switch record {
                case .file(let f): more = p.emit(.file(f), bytes: 64)
                case .rdb(let r): more = try p.emitRDB(r)
                case .annotation(let a): more = p.emit(.annotation(a), bytes: 64)
                case .command(let c):
                    var bytes = 64
                    for a in c.argv { bytes &+= a.bytes.count &+ 16 }
                    more = p.emit(.command(argv: c.argv, offset: c.offset), bytes: bytes, keyHash: c.argv.count >= 2 ? KeyTable.hash(c.argv[1]) : 0, db: c.db)
                }
                if !more { return }
            }
        }
        do {
            return try applyAOF(prefetch)
        } catch {
            prefetch.cancel()
            throw error
        }
    }

    private func applyAOF(_ prefetch: LoadPrefetcher) throws -> Summary {
        let engine = CommandEngine(keyspace: keyspace)
        engine.skipUnknown = options.skipUnknown
        engine.repliesUsed = false
        var summary = Summary()
        var timestamp: Int64?
        var fileName = ""
        loop: while let batch = try prefetch.next() {
            let items = batch.items
            for index in items.indices {
                prefetchAhead(batch, from: index)
                let item = items[index]
                switch item {
                case .file(let f):
                    // A copy this thread alone references (see LoadItem.command).
                    fileName = String(decoding: Array(f.name.utf8), as: UTF8.self)
                    if engine.inTransaction {
                        engine.discardTransaction()
                        summary.droppedTransaction = true
                    }
                    engine.db = 0
                    timestamp = nil
                case .annotation(let a):
                    if let ts = a.timestamp {
                        if let until = options.until, ts > until {
                            summary.stoppedAt = CommandOrigin(file: a.file, offset: a.offset, timestamp: ts)
                            prefetch.cancel()
                            break loop
                        }
                        timestamp = ts
                    }
                case .command(let argv, let offset):
                    if let n = ModuleCommands.moduleType(of: argv) {
                        summary.moduleCommandsNotApplied += 1
                        if engine.inTransaction { continue }
                        ModuleCommands.keepOpaque(engine: engine, argv: argv, type: n)
                        continue
                    }
                    // The key's hash, computed by the reading thread, spares the table hashing it again.
                    let hint = argv.count >= 2 ? keyspace.existingTable(engine.db) : nil
                    hint?.setHint(argv[1], hash: batch.keyHashes[index])
                    defer { hint?.clearHint() }
                    try engine.apply(argv, origin: CommandOrigin(file: fileName, offset: offset, timestamp: timestamp))
                    summary.commands += 1
                    // Small collections are kept packed inside their key's record between commands (memory
                    // near Redis's listpacks); the next command that changes one expands it again.
                    if !engine.inTransaction { hint?.embed(argv[1]) }
                default:
                    apply(item, keyHash: batch.keyHashes[index], rdbKeys: &summary.rdbKeys)
                }
            }
            prefetch.recycle(batch)
        }
        if engine.inTransaction {
            engine.discardTransaction()
            summary.droppedTransaction = true
        }
        summary.failedCommands = engine.failedCommands
        summary.skipped = engine.skipped
        return summary
    }
}

/// Commands of the modules Redis Stack bundles. Module code cannot run offline: a module value stays as the
/// last RDB/RESTORE left it (its type is right, its content may be stale), and the loader counts the command.
public enum ModuleCommands {
    /// Command prefix → module type name.
    static let prefixes: [(String, String)] = [
        ("json.", "ReJSON-RL"), ("bf.", "MBbloom--"), ("cf.", "MBbloomCF"), ("cms.", "CMSk-TYPE"),
        ("topk.", "TopK-TYPE"), ("tdigest.", "TDIS-TYPE"), ("ts.", "TSDB-TYPE"),
    ]

    /// The module type a command writes, when it is a module command with a key.
    public static func moduleType(of argv: [RedisBytes]) -> String? {
        guard argv.count >= 2, argv[0].contains(UInt8(ascii: ".")) else { return nil }
        let name = CommandEngine.lowercasedName(argv[0])
        return prefixes.first { name.hasPrefix($0.0) }?.1
    }

    /// Creates an empty opaque value of the module's type when the key is absent (so TYPE is right).
    static func keepOpaque(engine: CommandEngine, argv: [RedisBytes], type: String) {
        let key = argv[1]
        if engine.value(key) != nil { return }
        guard let t = RedisModuleType(name: type, encodingVersion: 0) else { return }
        engine.store(key, .opaque(OpaqueValue(.module(RedisModuleValue(type: t, raw: [])))))
    }
}

/// Tells RDB files from AOF files by their first bytes and name.
public enum RDBFileKind {
    /// True for a regular file that starts with an RDB magic and is not named `*.aof` (a single-file AOF with an
    /// RDB preamble also starts with the magic; Redis names it `appendonly.aof`).
    public static func isRDB(path: String) -> Bool {
        guard let layout = try? AOFLocator.layout(of: path), case .singleFile = layout else { return false }
        return isRDB(head: ByteSources.head(path: path, count: 9), path: path)
    }

    /// The same decision for a single file whose first bytes are already read.
    public static func isRDB(head: [UInt8], path: String) -> Bool {
        guard head.starts(with: Array("REDIS".utf8)) || head.starts(with: Array("VALKEY".utf8))
            || head.starts(with: [0x1F, 0x8B])
        else { return false }
        return !path.hasSuffix(".aof")
    }
}
