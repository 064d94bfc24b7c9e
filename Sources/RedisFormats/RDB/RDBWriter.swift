/// Writes an RDB for a chosen target, choosing encodings as that server would with its default
/// thresholds, LZF-compressing as Redis does, and closing with the CRC64.
///
/// ```swift
/// let out = try SafeOutputFile(path: "out.rdb")
/// let w = try RDBWriter(output: out, target: .named("redis-7.0")!)
/// try w.writeStandardAux(ctime: 1700000000, usedMemory: 0)
/// try w.selectDB(0)
/// try w.writeKey(RDBKeyHeader(db: 0, key: "k", valueType: .string), value: .string("v"))
/// try w.finish()        // EOF, CRC64, fsync, rename
/// ```
public final class RDBWriter {
    public let target: RDBTarget
    /// Nil only in a writer that encodes values without a file (``dumpPayload(of:target:)``).
    private let output: SafeOutputFile!
    private var currentDB: UInt64?
    private var finished = false
    /// RESIZEDB hints written after SELECTDB, per database, when known.
    public var resizeHints: [UInt64: (keys: UInt64, expires: UInt64)] = [:]

    public init(output: SafeOutputFile, target: RDBTarget) throws(RDBError) {
        guard target.isWritable else {
            throw RDBError(.unsupported, "rdbkit writes Redis RDB 7 to 12 and Valkey RDB 11 and 80, not \(target.magic)")
        }
        self.output = output
        self.target = target
        output.computesChecksum = target.rdbVersion >= 5
        try output.write(Array(target.magic.utf8))
    }

    /// A writer with no file, for ``dumpPayload(of:target:)``.
    private init(encodingFor target: RDBTarget) {
        self.output = nil
        self.target = target
    }

    /// The DUMP payload of a value as `target` would serialize it (type byte, value, RDB version u16 LE, CRC64),
    /// which RESTORE on that server accepts. Field TTLs are dropped when the target has none.
    /// - Throws: `.unsupported` when the target cannot hold the value.
    public static func dumpPayload(of value: RedisValue, target: RDBTarget) throws(RDBError) -> [UInt8] {
        let w = RDBWriter(encodingFor: target)
        var loss = Loss()
        let (type, body) = try w.encode(value, key: .empty, dropFieldTTLs: true, loss: &loss)
        return RecordCommands.dumpPayload([type.byte] + body, version: UInt16(target.rdbVersion))
    }

    private func opcode(_ op: RDBOpcode) throws(RDBError) { try output.write(op.rawValue) }

    /// An AUX field (RDB 7+).
    public func writeAux(_ key: RedisBytes, _ value: RedisBytes) throws(RDBError) {
        try opcode(.aux)
        var b: [UInt8] = []
        RDBEncoding.appendString(key.bytes, compress: false, to: &b)
        RDBEncoding.appendString(value.bytes, compress: false, to: &b)
        try output.write(b)
    }

    /// `redis-ver`/`valkey-ver`, `redis-bits`, `ctime`, `used-mem`, `aof-base` as the server writes them.
    public func writeStandardAux(ctime: Int64, usedMemory: Int64, aofBase: Bool = false) throws(RDBError) {
        try writeAux(RedisBytes(target.dialect == .valkey ? "valkey-ver" : "redis-ver"), RedisBytes(target.serverVersion))
        try writeAux("redis-bits", "64")
        try writeAux("ctime", RedisBytes(String(ctime)))
        try writeAux("used-mem", RedisBytes(String(usedMemory)))
        if target.rdbVersion >= 10 { try writeAux("aof-base", aofBase ? "1" : "0") }
    }

    /// A function library (FUNCTION2, RDB 10+).
    public func writeFunction(_ code: RedisBytes) throws(RDBError) {
        guard target.rdbVersion >= 10 else {
            throw RDBError(.unsupported, "functions need RDB 10 (Redis 7.0); the target is \(target)")
        }
        try opcode(.function2)
        var b: [UInt8] = []
        RDBEncoding.appendString(code.bytes, compress: target.compresses, to: &b)
        try output.write(b)
    }

    /// A module aux record (RDB 9+), its opcode stream copied as read.
    public func writeModuleAux(_ m: RDBModuleAux) throws(RDBError) {
        guard target.rdbVersion >= 9 else {
            throw RDBError(.unsupported, "module aux records need RDB 9; the target is \(target)")
        }
        try opcode(.moduleAux)
        var b: [UInt8] = []
        RDBEncoding.appendLength(m.type.id, to: &b)
        RDBEncoding.appendLength(2, to: &b)
        RDBEncoding.appendLength(m.when, to: &b)
        try output.write(b + m.raw)
    }

    /// SELECTDB, and RESIZEDB when sizes are known (RDB 7+).
    public func selectDB(_ db: UInt64, size: (keys: UInt64, expires: UInt64)? = nil) throws(RDBError) {
        try opcode(.selectDB)
        var b: [UInt8] = []
        RDBEncoding.appendLength(db, to: &b)
        if let size = size ?? resizeHints[db], target.rdbVersion >= 7 {
            b.append(RDBOpcode.resizeDB.rawValue)
            RDBEncoding.appendLength(size.keys, to: &b)
            RDBEncoding.appendLength(size.expires, to: &b)
        }
        try output.write(b)
        currentDB = db
    }

    private func keyPrefix(_ h: RDBKeyHeader, type: RDBValueType) throws(RDBError) -> [UInt8] {
        if currentDB != h.db { try selectDB(h.db) }
        var b: [UInt8] = []
        if let x = h.expiresAt {
            b.append(RDBOpcode.expireTimeMS.rawValue)
            RDBEncoding.appendLittleEndian(UInt64(bitPattern: x.milliseconds), bytes: 8, to: &b)
        }
        if target.rdbVersion >= 9 {
            if let idle = h.lruIdleSeconds {
                b.append(RDBOpcode.idle.rawValue)
                RDBEncoding.appendLength(idle, to: &b)
            } else if let f = h.lfuFrequency {
                b.append(RDBOpcode.freq.rawValue)
                b.append(f)
            }
        }
        b.append(type.byte)
        RDBEncoding.appendString(h.key.bytes, compress: target.compresses, to: &b)
        return b
    }

    /// Whether a value stored as `type` can be copied to this target byte for byte.
    public func canCopy(_ type: RDBValueType) -> Bool {
        guard target.supports(type) else { return false }
        // A pre-GA hash-with-TTL type is never copied; 24/25 only into Redis 7.4+, HASH_2 into Valkey 9+.
        return type != .hashMetadataPreGA && type != .hashListpackExPreGA
    }

    /// Copies a value's bytes as read (``RDBReader/readRawValue()``), the fast path of rewrites.
    /// - Precondition: ``canCopy(_:)`` is true for `header.valueType`.
    public func writeRawValue(_ header: RDBKeyHeader, raw: [UInt8]) throws(RDBError) {
        try output.write(try keyPrefix(header, type: header.valueType) + raw)
    }

    /// Copies the value of the key `reader` just returned, streamed from the reader's buffer to the
    /// output's (no decoding, no copy of the whole value). A key the source stored as plain bytes is
    /// written as plain bytes, as the source's server decided (no compression attempt).
    /// - Precondition: ``canCopy(_:)`` is true for `header.valueType`; the value was not read.
    /// - Parameter keyAsRead: whether `header.key` is the key as read (not renamed).
    func copyRawValue(_ header: RDBKeyHeader, from reader: RDBReader, keyAsRead: Bool = true) throws(RDBError) {
        let key = header.key.bytes
        if keyAsRead && reader.lastKeyStoredRaw {
            if currentDB != header.db { try selectDB(header.db) }
            let withMeta = target.rdbVersion >= 9
            try output.reserve(32) { p in
                var n = 0
                if let x = header.expiresAt {
                    unsafe p.storeBytes(of: RDBOpcode.expireTimeMS.rawValue, as: UInt8.self)
                    unsafe (p + 1).storeBytes(of: UInt64(bitPattern: x.milliseconds).littleEndian, toByteOffset: 0, as: UInt64.self)
                    n = 9
                }
                if withMeta {
                    if let idle = header.lruIdleSeconds {
                        unsafe (p + n).storeBytes(of: RDBOpcode.idle.rawValue, as: UInt8.self)
                        n += 1
                        n += unsafe RDBEncoding.putLength(idle, p + n)
                    } else if let f = header.lfuFrequency {
                        unsafe (p + n).storeBytes(of: RDBOpcode.freq.rawValue, as: UInt8.self)
                        unsafe (p + n + 1).storeBytes(of: f, as: UInt8.self)
                        n += 2
                    }
                }
                unsafe (p + n).storeBytes(of: header.valueType.byte, as: UInt8.self)
                n += 1
                n += unsafe RDBEncoding.putLength(UInt64(key.count), p + n)
                return n
            }
            try output.write(key)
        } else {
            try output.write(try keyPrefix(header, type: header.valueType))
        }
        try reader.teeRawValue(into: output)
        try output.takeDeferredError()
    }

    /// What a write had to leave out to fit the target.
    public struct Loss: Sendable, Hashable {
        /// Field TTLs dropped (`--drop-field-ttls`).
        public var fieldTTLs = 0
        /// Stream fields the target's stream version does not store.
        public var streamFields: [String] = []
    }

    /// Encodes and writes a key with its value for the target.
    /// - Parameter dropFieldTTLs: write hashes with field TTLs as plain hashes on targets without them.
    /// - Returns: what was left out.
    /// - Throws: `.unsupported` when the target cannot hold the value.
    @discardableResult
    public func writeKey(_ header: RDBKeyHeader, value: RedisValue, dropFieldTTLs: Bool = false) throws(RDBError) -> Loss {
        var loss = Loss()
        let (type, body) = try encode(value, key: header.key, dropFieldTTLs: dropFieldTTLs, loss: &loss)
        try output.write(try keyPrefix(header, type: type) + body)
        return loss
    }

    /// EOF and the CRC64, then the file is synced and renamed into place.
    public func finish() throws(RDBError) {
        guard !finished else { return }
        try opcode(.eof)
        if target.rdbVersion >= 5 {
            var b: [UInt8] = []
            RDBEncoding.appendLittleEndian(target.writesChecksum ? try output.checksumSoFar() : 0, bytes: 8, to: &b)
            try output.write(b)
        }
        try output.commit()
        finished = true
    }

    // MARK: Encoding

    func encode(_ value: RedisValue, key: RedisBytes, dropFieldTTLs: Bool, loss: inout Loss) throws(RDBError) -> (RDBValueType, [UInt8]) {
        try Self.encode(value, key: key, for: target, dropFieldTTLs: dropFieldTTLs, loss: &loss)
    }

    /// Encodes a value for a target without writing it: the type and the value bytes, as in a file or
    /// a DUMP payload (replay re-encodes values a target cannot restore as read), and what was left out.
    /// - Throws: `.unsupported` when the target cannot hold the value.
    public static func encodeValue(
        _ value: RedisValue, key: RedisBytes, for target: RDBTarget, dropFieldTTLs: Bool = false
    ) throws(RDBError) -> (type: RDBValueType, body: [UInt8], loss: Loss) {
        var loss = Loss()
        let (type, body) = try encode(value, key: key, for: target, dropFieldTTLs: dropFieldTTLs, loss: &loss)
        return (type, body, loss)
    }

    static func encode(
        _ value: RedisValue, key: RedisBytes, for target: RDBTarget, dropFieldTTLs: Bool, loss: inout Loss
    ) throws(RDBError) -> (RDBValueType, [UInt8]) {
        func unsupported(_ what: String) -> RDBError {
            RDBError(.unsupported, "\(what) cannot be written to \(target)")
        }
        let t = target.thresholds
        let compress = target.compresses
        var b: [UInt8] = []
        switch value {
        case .string(let s):
            RDBEncoding.appendString(s.bytes, compress: compress, to: &b)
            return (.string, b)

        case .list(let items):
            guard !items.isEmpty else { throw RDBError(.corrupt, "an empty list cannot be stored", key: key) }
            var nodes: [[UInt8]] = []
            if target.rdbVersion >= 10 {
                var lp = ListpackBuilder()
                for item in items {
                    let e = PackInput(item)
                    if lp.count > 0 && lp.totalBytes + ListpackBuilder.entrySize(e) > t.listNodeBytes {
                        nodes.append(lp.finish())
                        lp = ListpackBuilder()
                    }
                    lp.append(e)
                }
                nodes.append(lp.finish())
                RDBEncoding.appendLength(UInt64(nodes.count), to: &b)
                for n in nodes {
                    RDBEncoding.appendLength(2, to: &b)  // QUICKLIST_NODE_CONTAINER_PACKED
                    RDBEncoding.appendString(n, compress: compress, to: &b)
                }
                return (.listQuicklist2, b)
            }
            var zl = ZiplistBuilder()
            for item in items {
                let e = PackInput(item, maximumIntegerText: 31)
                if zl.count > 0 && zl.totalBytes + 11 + Self.rawSize(e) > t.listNodeBytes {
                    nodes.append(zl.finish())
                    zl = ZiplistBuilder()
                }
                zl.append(e)
            }
            nodes.append(zl.finish())
            RDBEncoding.appendLength(UInt64(nodes.count), to: &b)
            for n in nodes { RDBEncoding.appendString(n, compress: compress, to: &b) }
            return (.listQuicklist, b)

        case .set(let members):
            guard !members.isEmpty else { throw RDBError(.corrupt, "an empty set cannot be stored", key: key) }
            let ints = members.compactMap { $0.count <= 20 ? RedisInteger.parse($0.bytes) : nil }
            if ints.count == members.count && members.count <= t.setMaxIntsetEntries {
                RDBEncoding.appendString(IntsetBuilder.build(ints), compress: compress, to: &b)
                return (.setIntset, b)
            }
            if target.supports(.setListpack) && members.count <= t.setMaxListpackEntries
                && members.allSatisfy({ $0.count <= t.setMaxListpackValue })
            {
                var lp = ListpackBuilder()
                for m in members { lp.append(PackInput(m)) }
                RDBEncoding.appendString(lp.finish(), compress: compress, to: &b)
                return (.setListpack, b)
            }
            RDBEncoding.appendLength(UInt64(members.count), to: &b)
            for m in members { RDBEncoding.appendString(m.bytes, compress: compress, to: &b) }
            return (.set, b)

        case .sortedSet(let entries):
            guard !entries.isEmpty else { throw RDBError(.corrupt, "an empty zset cannot be stored", key: key) }
            if entries.contains(where: { $0.score.isNaN }) { throw RDBError(.corrupt, "a zset score is NaN", key: key) }
            let ranked = entries.sorted { $0.score < $1.score || ($0.score == $1.score && $0.member < $1.member) }
            if entries.count <= t.zsetMaxEntries && entries.allSatisfy({ $0.member.count <= t.zsetMaxValue }) {
                if target.rdbVersion >= 10 {
                    var lp = ListpackBuilder()
                    for z in ranked {
                        lp.append(PackInput(z.member))
                        lp.append(Self.scoreInput(z.score))
                    }
                    RDBEncoding.appendString(lp.finish(), compress: compress, to: &b)
                    return (.zsetListpack, b)
                }
                var zl = ZiplistBuilder()
                for z in ranked {
                    zl.append(PackInput(z.member, maximumIntegerText: 31))
                    zl.append(Self.scoreInput(z.score))
                }
                RDBEncoding.appendString(zl.finish(), compress: compress, to: &b)
                return (.zsetZiplist, b)
            }
            RDBEncoding.appendLength(UInt64(entries.count), to: &b)
            // Saved from the highest score to the lowest, as the skiplist is walked from its tail.
            for z in ranked.reversed() {
                RDBEncoding.appendString(z.member.bytes, compress: compress, to: &b)
                if target.rdbVersion >= 8 {
                    RDBEncoding.appendLittleEndian(z.score.bitPattern, bytes: 8, to: &b)
                } else {
                    RDBEncoding.appendStringDouble(z.score, to: &b)
                }
            }
            return (target.rdbVersion >= 8 ? .zset2 : .zset, b)

        case .hash(var fields):
            guard !fields.isEmpty else { throw RDBError(.corrupt, "an empty hash cannot be stored", key: key) }
            let withTTL = fields.filter { $0.expiresAt != nil }.count
            if withTTL > 0 && !target.supportsFieldTTLs {
                guard dropFieldTTLs else {
                    throw RDBError(.unsupported, "hash field TTLs cannot be written to \(target) (use --drop-field-ttls)", key: key)
                }
                loss.fieldTTLs += withTTL
                for i in fields.indices { fields[i].expiresAt = nil }
            }
            let small = fields.count <= t.hashMaxEntries
                && fields.allSatisfy({ $0.field.count <= t.hashMaxValue && $0.value.count <= t.hashMaxValue })
            if fields.contains(where: { $0.expiresAt != nil }) {
                if target.dialect == .valkey {
                    RDBEncoding.appendLength(UInt64(fields.count), to: &b)
                    for f in fields {
                        RDBEncoding.appendString(f.field.bytes, compress: compress, to: &b)
                        RDBEncoding.appendString(f.value.bytes, compress: compress, to: &b)
                        RDBEncoding.appendLittleEndian(UInt64(bitPattern: f.expiresAt?.milliseconds ?? -1), bytes: 8, to: &b)
                    }
                    return (.valkeyHash2, b)
                }
                let minExpire = fields.compactMap { $0.expiresAt?.milliseconds }.min() ?? 0
                if small {
                    // Fields with TTLs first, by TTL, then the others (the order Redis keeps and validates).
                    let ordered = fields.filter { $0.expiresAt != nil }.sorted { $0.expiresAt! < $1.expiresAt! }
                        + fields.filter { $0.expiresAt == nil }
                    RDBEncoding.appendLittleEndian(UInt64(bitPattern: minExpire), bytes: 8, to: &b)
                    var lp = ListpackBuilder()
                    for f in ordered {
                        lp.append(PackInput(f.field))
                        lp.append(PackInput(f.value))
                        lp.append(.int(f.expiresAt?.milliseconds ?? 0))
                    }
                    RDBEncoding.appendString(lp.finish(), compress: compress, to: &b)
                    return (.hashListpackEx, b)
                }
                RDBEncoding.appendLittleEndian(UInt64(bitPattern: minExpire), bytes: 8, to: &b)
                RDBEncoding.appendLength(UInt64(fields.count), to: &b)
                for f in fields {
                    let ttl = f.expiresAt.map { UInt64($0.milliseconds - minExpire + 1) } ?? 0
                    RDBEncoding.appendLength(ttl, to: &b)
                    RDBEncoding.appendString(f.field.bytes, compress: compress, to: &b)
                    RDBEncoding.appendString(f.value.bytes, compress: compress, to: &b)
                }
                return (.hashMetadata, b)
            }
            if small {
                if target.rdbVersion >= 10 {
                    var lp = ListpackBuilder()
                    for f in fields {
                        lp.append(PackInput(f.field))
                        lp.append(PackInput(f.value))
                    }
                    RDBEncoding.appendString(lp.finish(), compress: compress, to: &b)
                    return (.hashListpack, b)
                }
                var zl = ZiplistBuilder()
                for f in fields {
                    zl.append(PackInput(f.field, maximumIntegerText: 31))
                    zl.append(PackInput(f.value, maximumIntegerText: 31))
                }
                RDBEncoding.appendString(zl.finish(), compress: compress, to: &b)
                return (.hashZiplist, b)
            }
            RDBEncoding.appendLength(UInt64(fields.count), to: &b)
            for f in fields {
                RDBEncoding.appendString(f.field.bytes, compress: compress, to: &b)
                RDBEncoding.appendString(f.value.bytes, compress: compress, to: &b)
            }
            return (.hash, b)

        case .stream(let s):
            guard target.rdbVersion >= 9 else { throw unsupported("a stream") }
            let type = target.streamType
            try StreamEncoder.encode(s, type: type, thresholds: t, compress: compress, into: &b, loss: &loss)
            return (type, b)

        case .module(let m):
            guard target.rdbVersion >= 8 else { throw unsupported("a module value") }
            RDBEncoding.appendLength(m.type.id, to: &b)
            b += m.raw
            return (.module2, b)

        case .array:
            throw unsupported("a Redis 8.8 array")
        }
    }

    static func rawSize(_ e: PackInput) -> Int {
        switch e {
        case .int: 9
        case .bytes(let s): s.count + 5
        }
    }

    /// A zset score in a listpack/ziplist: integral scores as integers, others as their shortest text.
    static func scoreInput(_ d: Double) -> PackInput {
        if d == d.rounded(), abs(d) < 9.0e15, !(d == 0 && d.sign == .minus) { return .int(Int64(d)) }
        if d.isInfinite { return .bytes(Array((d > 0 ? "inf" : "-inf").utf8)) }
        return .bytes(Array(d.description.utf8))
    }
}

/// Writes streams (types 15, 19, 21) from the model, building nodes as `streamAppendItem` does.
enum StreamEncoder {
    static func encode(
        _ s: RedisStream, type: RDBValueType, thresholds: RDBTarget.Thresholds, compress: Bool, into b: inout [UInt8],
        loss: inout RDBWriter.Loss
    ) throws(RDBError) {
        let version = type == .streamListpacks3 ? 3 : type == .streamListpacks2 ? 2 : 1
        // Nodes.
        var nodes: [(StreamID, [UInt8])] = []
        var i = 0
        let entries = s.entries
        while i < entries.count {
            let master = entries[i].id
            let masterFields = entries[i].fields.map(\.name)
            var body = ListpackBuilder()
            var count = 0
            var bytes = 0
            while i < entries.count && count < thresholds.streamNodeMaxEntries && (count == 0 || bytes < thresholds.streamNodeMaxBytes) {
                let e = entries[i]
                let same = e.fields.map(\.name) == masterFields
                let before = body.totalBytes
                body.append(.int(same ? 2 : 0))
                body.append(.int(Int64(bitPattern: e.id.ms &- master.ms)))
                body.append(.int(Int64(bitPattern: e.id.seq &- master.seq)))
                if same {
                    for f in e.fields { body.append(PackInput(f.value)) }
                    body.append(.int(Int64(e.fields.count + 3)))
                } else {
                    body.append(.int(Int64(e.fields.count)))
                    for f in e.fields {
                        body.append(PackInput(f.name))
                        body.append(PackInput(f.value))
                    }
                    body.append(.int(Int64(e.fields.count * 2 + 4)))
                }
                bytes += body.totalBytes - before
                count += 1
                i += 1
            }
            var lp = ListpackBuilder()
            lp.append(.int(Int64(count)))
            lp.append(.int(0))
            lp.append(.int(Int64(masterFields.count)))
            for f in masterFields { lp.append(PackInput(f)) }
            lp.append(.int(0))
            let head = lp.finish()
            // Splice the entries after the master entry.
            let entryBody = body.finish()
            var node = Array(head[6..<(head.count - 1)]) + Array(entryBody[6..<(entryBody.count - 1)])
            var out: [UInt8] = []
            RDBEncoding.appendLittleEndian(UInt64(6 + node.count + 1), bytes: 4, to: &out)
            RDBEncoding.appendLittleEndian(UInt64(min(lp.count + body.count, 65535)), bytes: 2, to: &out)
            out += node
            out.append(0xFF)
            node = out
            nodes.append((master, node))
        }
        RDBEncoding.appendLength(UInt64(nodes.count), to: &b)
        for (id, node) in nodes {
            var key: [UInt8] = []
            RDBEncoding.appendBigEndian(id.ms, bytes: 8, to: &key)
            RDBEncoding.appendBigEndian(id.seq, bytes: 8, to: &key)
            RDBEncoding.appendString(key, compress: false, to: &b)
            RDBEncoding.appendString(node, compress: compress, to: &b)
        }
        let m = s.metadata
        RDBEncoding.appendLength(UInt64(entries.count), to: &b)
        RDBEncoding.appendLength(m.lastID.ms, to: &b)
        RDBEncoding.appendLength(m.lastID.seq, to: &b)
        if version >= 2 {
            let first = m.firstID ?? entries.first?.id ?? .zero
            RDBEncoding.appendLength(first.ms, to: &b)
            RDBEncoding.appendLength(first.seq, to: &b)
            let maxDel = m.maxDeletedEntryID ?? .zero
            RDBEncoding.appendLength(maxDel.ms, to: &b)
            RDBEncoding.appendLength(maxDel.seq, to: &b)
            RDBEncoding.appendLength(m.entriesAdded ?? UInt64(entries.count), to: &b)
        } else {
            if m.maxDeletedEntryID.map({ $0 != .zero }) ?? false { loss.streamFields.append("max_deleted_entry_id") }
            if m.entriesAdded.map({ $0 != m.length }) ?? false { loss.streamFields.append("entries_added") }
        }
        RDBEncoding.appendLength(UInt64(s.groups.count), to: &b)
        for g in s.groups {
            RDBEncoding.appendString(g.name.bytes, compress: compress, to: &b)
            RDBEncoding.appendLength(g.lastDeliveredID.ms, to: &b)
            RDBEncoding.appendLength(g.lastDeliveredID.seq, to: &b)
            if version >= 2 {
                RDBEncoding.appendLength(g.entriesRead ?? UInt64.max, to: &b)
            } else if g.entriesRead != nil, !loss.streamFields.contains("entries_read") {
                loss.streamFields.append("entries_read")
            }
            RDBEncoding.appendLength(UInt64(g.pending.count), to: &b)
            for p in g.pending {
                RDBEncoding.appendBigEndian(p.id.ms, bytes: 8, to: &b)
                RDBEncoding.appendBigEndian(p.id.seq, bytes: 8, to: &b)
                RDBEncoding.appendLittleEndian(UInt64(bitPattern: p.deliveryTime.milliseconds), bytes: 8, to: &b)
                RDBEncoding.appendLength(p.deliveryCount, to: &b)
            }
            RDBEncoding.appendLength(UInt64(g.consumers.count), to: &b)
            for c in g.consumers {
                RDBEncoding.appendString(c.name.bytes, compress: compress, to: &b)
                RDBEncoding.appendLittleEndian(UInt64(bitPattern: c.seenTime.milliseconds), bytes: 8, to: &b)
                if version >= 3 {
                    RDBEncoding.appendLittleEndian(UInt64(bitPattern: (c.activeTime ?? c.seenTime).milliseconds), bytes: 8, to: &b)
                } else if let a = c.activeTime, a != c.seenTime, !loss.streamFields.contains("active_time") {
                    loss.streamFields.append("active_time")
                }
                RDBEncoding.appendLength(UInt64(c.pending.count), to: &b)
                for id in c.pending {
                    RDBEncoding.appendBigEndian(id.ms, bytes: 8, to: &b)
                    RDBEncoding.appendBigEndian(id.seq, bytes: 8, to: &b)
                }
            }
        }
    }
}
