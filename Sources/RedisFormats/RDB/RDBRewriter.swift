#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Rewrites one or more RDB files into one, for a target: filters, renames, database maps, merges.
/// A value whose encoding the target also has is copied byte for byte (no decoding); others are
/// decoded and encoded for the target.
public enum RDBRewriter {
    public enum ExpiredKeys: String, Sendable, Hashable { case drop, keep }
    public enum ConflictPolicy: String, Sendable, Hashable { case error, first, last }

    public struct Options: Sendable {
        public var target: RDBTarget
        public var filter = RDBKeyFilter()
        /// Keep values whose serialized size (bytes in the file) is within these bounds.
        public var minimumSize: Int?
        public var maximumSize: Int?
        public var expired = ExpiredKeys.drop
        /// The time that decides expiry (Unix ms).
        public var now: Int64
        /// Drop every key's TTL.
        public var removesTTLs = false
        public var databaseMap: [UInt64: UInt64] = [:]
        public var renamePrefix: (from: [UInt8], to: [UInt8])?
        public var onConflict = ConflictPolicy.error
        /// Skip keys the target cannot hold (each is reported) instead of failing.
        public var dropsUnsupported = false
        /// Write hashes with field TTLs as plain hashes on targets without field TTLs.
        public var dropsFieldTTLs = false
        /// Leave out module aux records and module values (a target server without the modules refuses
        /// to load them).
        public var dropsModules = false
        /// Leaves out module aux records only (`replay --mode sync`: a server without the module refuses the
        /// whole RDB over an aux record; module keys stay, and fail loudly there).
        public var dropsModuleAux = false
        /// Reader options for the inputs.
        public var reader = RDBReader.Options()

        public init(target: RDBTarget, now: Int64) {
            self.target = target
            self.now = now
        }
    }

    public struct Summary: Sendable {
        public var keysWritten = 0
        /// Values copied byte for byte.
        public var keysCopied = 0
        /// Values decoded and encoded for the target.
        public var keysReencoded = 0
        public var keysFiltered = 0
        public var expiredDropped = 0
        public var conflictsSkipped = 0
        /// Keys left out because the target cannot hold them: (db, key, why).
        public var unsupportedDropped: [(db: UInt64, key: RedisBytes, reason: String)] = []
        public var fieldTTLsDropped = 0
        public var streamFieldsDropped: Set<String> = []
        public var functions = 0
        public var modulesDropped = 0
        public var bytesWritten: Int64 = 0
    }

    /// A key identity for conflict detection: db plus two independent 64-bit hashes of the key.
    struct KeyID: Hashable {
        var db: UInt64
        var h1: Int
        var h2: Int
        init(db: UInt64, key: [UInt8]) {
            self.db = db
            var a = Hasher()
            a.combine(0x5A)
            key.withUnsafeBytes { a.combine(bytes: $0) }
            var b = Hasher()
            b.combine(0xA5)
            key.withUnsafeBytes { b.combine(bytes: $0) }
            b.combine(key.count)
            h1 = a.finalize()
            h2 = b.finalize()
        }
    }

    /// Rewrites `inputs` into `output`.
    /// - Throws: ``RDBError``; nothing is left at `output` then (the temporary file is removed).
    @discardableResult
    public static func rewrite(inputs: [String], output: String, options: Options) throws(RDBError) -> Summary {
        let (winners, filteredInPrepass) = try conflictWinners(inputs: inputs, options: options)

        let out = try SafeOutputFile(path: output, protectedPaths: inputs)
        return try rewrite(inputs: inputs, into: out, options: options, winners: winners, filteredInPrepass: filteredInPrepass)
    }

    /// Rewrites `inputs` into `out`, which may stream (``SafeOutputFile/init(streamingTo:name:)``: a
    /// replication link). Key conflicts (several inputs, `--db-map`, `--rename-prefix`) are decided first,
    /// in a pass that writes nothing.
    @discardableResult
    public static func rewrite(inputs: [String], into out: SafeOutputFile, options: Options) throws(RDBError) -> Summary {
        let (winners, filtered) = try conflictWinners(inputs: inputs, options: options)
        return try rewrite(inputs: inputs, into: out, options: options, winners: winners, filteredInPrepass: filtered)
    }

    private static func rewrite(
        inputs: [String], into out: SafeOutputFile, options: Options, winners: [KeyID: KeyRecord]?,
        filteredInPrepass: Set<KeyRecord>
    ) throws(RDBError) -> Summary {
        var summary = Summary()
        let writer = try RDBWriter(output: out, target: options.target)
        var wroteAux = false
        var functionCodes = Set<RedisBytes>()
        // Whether the source's RESIZEDB hints may overstate the output. Dropping expired keys only makes
        // them an upper bound, close enough to keep: a server sizes its tables from the hints, and a load
        // without them rehashes all the way up (about 30 % slower on the 1 GB benchmark file).
        let membershipChanges = !options.filter.isEmpty || options.minimumSize != nil || options.maximumSize != nil
            || !options.databaseMap.isEmpty || inputs.count > 1 || options.removesTTLs
            || options.dropsUnsupported || options.dropsModules || options.renamePrefix != nil
        for (index, path) in inputs.enumerated() {
            let reader = try RDBReader(path: path, options: options.reader)
            var ordinal = 0
            while let record = try reader.next() {
                switch record {
                case .aux(let k, let v):
                    // ctime, used-mem and the version are the writer's own; other aux fields are kept.
                    if !wroteAux {
                        try writer.writeStandardAux(ctime: Int64(time(nil)), usedMemory: 0)
                        wroteAux = true
                    }
                    let name = k.description
                    if index == 0 && !["redis-ver", "valkey-ver", "redis-bits", "ctime", "used-mem", "aof-base", "aof-preamble", "lua"].contains(name)
                        && !name.hasPrefix("repl-") && name != "slot-info"
                    {
                        try writer.writeAux(k, v)
                    }
                case .function(let f):
                    if !wroteAux {
                        try writer.writeStandardAux(ctime: Int64(time(nil)), usedMemory: 0)
                        wroteAux = true
                    }
                    if functionCodes.insert(f.code).inserted {
                        try writer.writeFunction(f.code)
                        summary.functions += 1
                    }
                case .moduleAux(let m):
                    if options.target.rdbVersion >= 9 && !options.dropsModules && !options.dropsModuleAux { try writer.writeModuleAux(m) }
                case .resizeDB(let size, let expires):
                    // Source hints stay true only when every key is kept where it was.
                    if !membershipChanges { writer.resizeHints[reader.currentDB] = (size, expires) }
                case .key(var h):
                    if !wroteAux {
                        try writer.writeStandardAux(ctime: Int64(time(nil)), usedMemory: 0)
                        wroteAux = true
                    }
                    ordinal += 1
                    try rewriteKey(
                        &h, reader: reader, writer: writer, record: KeyRecord(input: index, ordinal: ordinal),
                        winners: winners, filteredInPrepass: filteredInPrepass, options: options, summary: &summary)
                default:
                    break
                }
            }
        }
        if !wroteAux { try writer.writeStandardAux(ctime: Int64(time(nil)), usedMemory: 0) }
        try writer.finish()
        summary.bytesWritten = out.count
        return summary
    }

    /// The winner of each (db, key) when several records can become one key, and the records a filter
    /// that needs the value dropped; nil when no two records can collide.
    static func conflictWinners(inputs: [String], options: Options) throws(RDBError) -> ([KeyID: KeyRecord]?, Set<KeyRecord>) {
        // Conflicts are decided before writing anything: between inputs, and inside one input when
        // --db-map or --rename-prefix can make two keys the same. Each key record is identified by its
        // input and its ordinal in that input; the winner of each (db, key) is the only one written.
        var winners: [KeyID: KeyRecord]?
        var filteredInPrepass = Set<KeyRecord>()
        if inputs.count > 1 || !options.databaseMap.isEmpty || options.renamePrefix != nil {
            var owner: [KeyID: KeyRecord] = [:]
            for (index, path) in inputs.enumerated() {
                let reader = try RDBReader(path: path, options: options.reader)
                var ordinal = 0
                while let record = try reader.next() {
                    guard case .key(let h) = record else { continue }
                    ordinal += 1
                    guard let (db, key) = try keptInPrepass(h, reader: reader, options: options) else {
                        filteredInPrepass.insert(KeyRecord(input: index, ordinal: ordinal))
                        continue
                    }
                    let id = KeyID(db: db, key: key)
                    let here = KeyRecord(input: index, ordinal: ordinal)
                    if let previous = owner[id] {
                        if options.onConflict == .error {
                            let other = previous.input == index ? "twice in \(path)" : "in \(inputs[previous.input]) and in \(path)"
                            throw RDBError(
                                .corrupt,
                                "key \(RedisBytes(key).escapedDescription) of db \(db) is \(other) (use --on-conflict first|last)",
                                file: path)
                        }
                        if options.onConflict == .last { owner[id] = here }
                    } else {
                        owner[id] = here
                    }
                }
            }
            winners = owner
        }
        return (winners, filteredInPrepass)
    }

    /// A key record: its input and its ordinal among that input's keys.
    struct KeyRecord: Hashable {
        var input: Int
        var ordinal: Int
    }

    /// The pre-pass decision: the (db, key) a key is written as, or nil when any filter drops it
    /// (expiry, globs, types incl. module type names, sizes, dropped modules). Consumes the value.
    static func keptInPrepass(_ h: RDBKeyHeader, reader: RDBReader, options: Options) throws(RDBError) -> (UInt64, [UInt8])? {
        guard let kept = selected(h, options: options, decidedByHeader: true),
            !(options.dropsModules && h.valueType.kind == .module)
        else {
            try reader.skipValue()
            return nil
        }
        if options.filter.matches(h) == nil {
            if case .module(let m) = try reader.readValue(), !options.filter.matchesModule(m.type) { return nil }
        } else {
            try reader.skipValue()
        }
        let size = Int(reader.offset - h.valueOffset)
        if let min = options.minimumSize, size < min { return nil }
        if let max = options.maximumSize, size > max { return nil }
        return kept
    }

    /// The (db, key) a key is written as, or nil when filters drop it. With `decidedByHeader`, a filter
    /// on a module type name (known only from the value) keeps the key.
    static func selected(_ h: RDBKeyHeader, options: Options, decidedByHeader: Bool) -> (UInt64, [UInt8])? {
        guard options.filter.matches(h) != false else { return nil }
        if options.expired == .drop, let x = h.expiresAt, x.milliseconds < options.now { return nil }
        let db = options.databaseMap[h.db] ?? h.db
        var key = h.key.bytes
        if let r = options.renamePrefix, key.starts(with: r.from) {
            key = r.to + key.dropFirst(r.from.count)
        }
        return (db, key)
    }

    private static func rewriteKey(
        _ h: inout RDBKeyHeader, reader: RDBReader, writer: RDBWriter, record: KeyRecord, winners: [KeyID: KeyRecord]?,
        filteredInPrepass: Set<KeyRecord>,
        options: Options, summary: inout Summary
    ) throws(RDBError) {
        if options.expired == .drop, let x = h.expiresAt, x.milliseconds < options.now {
            summary.expiredDropped += 1
            try reader.skipValue()
            return
        }
        guard let (db, key) = selected(h, options: options, decidedByHeader: true) else {
            summary.keysFiltered += 1
            try reader.skipValue()
            return
        }
        if options.dropsModules && h.valueType.kind == .module {
            summary.modulesDropped += 1
            try reader.skipValue()
            return
        }
        if let winners, winners[KeyID(db: db, key: key)] != record {
            // Either a filter that needs the value dropped it in the pre-pass, or another record won.
            if filteredInPrepass.contains(record) { summary.keysFiltered += 1 } else { summary.conflictsSkipped += 1 }
            try reader.skipValue()
            return
        }
        // Decided on the key as read, before any rename.
        let needsModuleType = options.filter.matches(h) == nil
        h.db = db
        h.key = RedisBytes(key)
        if options.removesTTLs { h.expiresAt = nil }
        let needsSize = options.minimumSize != nil || options.maximumSize != nil
        if writer.canCopy(h.valueType) && !needsModuleType && !needsSize {
            try writer.copyRawValue(h, from: reader, keyAsRead: options.renamePrefix == nil)
            summary.keysCopied += 1
            summary.keysWritten += 1
            return
        }
        if writer.canCopy(h.valueType) && !needsModuleType {
            let raw = try reader.readRawValue()
            if let min = options.minimumSize, raw.count < min { summary.keysFiltered += 1; return }
            if let max = options.maximumSize, raw.count > max { summary.keysFiltered += 1; return }
            try writer.writeRawValue(h, raw: raw)
            summary.keysCopied += 1
            summary.keysWritten += 1
            return
        }
        // Decode, then encode for the target.
        var value: RedisValue
        if needsSize {
            let start = reader.offset
            value = try reader.readValue()
            let size = Int(reader.offset - start)
            if let min = options.minimumSize, size < min { summary.keysFiltered += 1; return }
            if let max = options.maximumSize, size > max { summary.keysFiltered += 1; return }
        } else {
            value = try reader.readValue()
        }
        if case .module(let m) = value, !options.filter.matchesModule(m.type) {
            summary.keysFiltered += 1
            return
        }
        do {
            let loss = try writer.writeKey(h, value: value, dropFieldTTLs: options.dropsFieldTTLs)
            summary.fieldTTLsDropped += loss.fieldTTLs
            summary.streamFieldsDropped.formUnion(loss.streamFields)
            summary.keysReencoded += 1
            summary.keysWritten += 1
        } catch where error.code == .unsupported && options.dropsUnsupported {
            summary.unsupportedDropped.append((h.db, h.key, error.message))
        } catch {
            var e = error
            e.key = e.key ?? h.key
            e.db = e.db ?? h.db
            throw e
        }
    }
}

extension RDBRewriter {
    /// One output of a split: its path and the slots it holds.
    public struct Shard: Sendable {
        public var path: String
        public var slots: [ClosedRange<Int>]
        public init(path: String, slots: [ClosedRange<Int>]) {
            self.path = path
            self.slots = slots
        }
    }

    /// Splits an RDB by Redis Cluster hash slot into one RDB per shard, all in database 0.
    /// - Parameter database: the database to split; without it, a key outside db 0 is an error.
    /// - Returns: keys written per shard.
    public static func split(input: String, shards: [Shard], database: UInt64?, options: Options) throws(RDBError) -> [Int] {
        var owner = [Int](repeating: -1, count: ClusterSlot.count)
        for (i, s) in shards.enumerated() {
            for r in s.slots { for slot in r { owner[slot] = i } }
        }
        let outputs = try shards.map { (s) throws(RDBError) -> RDBWriter in
            try RDBWriter(output: try SafeOutputFile(path: s.path, protectedPaths: [input]), target: options.target)
        }
        var counts = [Int](repeating: 0, count: shards.count)
        let reader = try RDBReader(path: input, options: options.reader)
        for w in outputs { try w.writeStandardAux(ctime: Int64(time(nil)), usedMemory: 0) }
        while let record = try reader.next() {
            switch record {
            case .function(let f):
                for w in outputs { try w.writeFunction(f.code) }
            case .moduleAux(let m):
                if !options.dropsModules { for w in outputs { try w.writeModuleAux(m) } }
            case .key(var h):
                let wanted = database ?? 0
                guard h.db == wanted else {
                    if database == nil {
                        throw RDBError(
                            .unsupported, "key \(h.key.escapedDescription) is in db \(h.db): a cluster has db 0 only (choose one with --db)",
                            file: input)
                    }
                    try reader.skipValue()
                    continue
                }
                if options.expired == .drop, let x = h.expiresAt, x.milliseconds < options.now {
                    try reader.skipValue()
                    continue
                }
                if options.dropsModules && h.valueType.kind == .module {
                    try reader.skipValue()
                    continue
                }
                let slot = ClusterSlot.slot(of: h.key)
                let i = owner[slot]
                guard i >= 0 else {
                    throw RDBError(.corrupt, "slot \(slot) of key \(h.key.escapedDescription) belongs to no shard", file: input)
                }
                h.db = 0
                let w = outputs[i]
                if w.canCopy(h.valueType) {
                    try w.copyRawValue(h, from: reader)
                } else {
                    try w.writeKey(h, value: try reader.readValue(), dropFieldTTLs: options.dropsFieldTTLs)
                }
                counts[i] += 1
            default:
                break
            }
        }
        for w in outputs { try w.finish() }
        return counts
    }
}
