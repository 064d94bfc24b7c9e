/// What a whole RDB file holds, gathered in one streaming pass (`rdbkit info`).
public struct RDBSummary: Sendable {
    /// Per-database counts.
    public struct Database: Sendable, Hashable {
        public var db: UInt64
        public var keys = 0
        public var keysWithExpiry = 0
        /// Keys whose expiry is before the summary's `now` (a master drops them on load).
        public var alreadyExpired = 0
        /// The RESIZEDB hint: (keys, keys with expiry), if present.
        public var resizeHint: (dbSize: UInt64, expiresSize: UInt64)?
        /// Keys per `type/encoding` (e.g. `hash/listpack`, `ReJSON-RL/module` for modules by name).
        public var encodings: [String: Int] {
            var out: [String: Int] = [:]
            for (code, n) in encodingCounts {
                let type = RDBValueType(rawValue: UInt16(code >> 2))
                let header = RDBKeyHeader(
                    db: db, key: .empty, valueType: type, stringEncoding: code & 3 == 1 ? .int : nil)
                out["\(type.kind?.rawValue ?? "unknown")/\(header.encodingName)", default: 0] += n
            }
            for (name, n) in moduleCounts { out["\(name)/module", default: 0] += n }
            return out
        }
        /// Counts by `valueType.rawValue << 2 | (int-encoded string ? 1 : 0)`.
        var encodingCounts: [Int: Int] = [:]
        var moduleCounts: [String: Int] = [:]
        /// Hashes with at least one field TTL.
        public var keysWithFieldTTLs = 0
        public var keysWithIdle = 0
        public var keysWithFreq = 0

        public static func == (a: Database, b: Database) -> Bool {
            a.db == b.db && a.keys == b.keys && a.keysWithExpiry == b.keysWithExpiry && a.encodings == b.encodings
        }
        public func hash(into h: inout Hasher) { h.combine(db) }
    }

    public var header: RDBHeader
    /// AUX fields in file order.
    public var aux: [(key: RedisBytes, value: RedisBytes)] = []
    public var moduleAux: [RDBModuleAux] = []
    public var functions: [RDBFunctionLibrary] = []
    public var slotInfoRecords = 0
    public var slotImports: [RDBSlotImport] = []
    /// Databases in order of first appearance.
    public var databases: [Database] = []
    public var checksum: RDBChecksum?
    /// Bytes read, through the checksum.
    public var bytesRead: Int64 = 0

    public var totalKeys: Int { databases.reduce(0) { $0 + $1.keys } }

    /// The value of an AUX field as text.
    public func auxValue(_ key: String) -> String? {
        aux.first { $0.key == RedisBytes(key) }.map { $0.value.description }
    }

    /// How values are handled while summarizing.
    public enum ValueHandling: Sendable {
        /// Decode and check every value (LZF, encodings, streams) without keeping it: a full parse.
        case validate
        /// Skip values by their lengths only.
        case skip
    }

    /// Reads `reader` to its end.
    /// - Parameters:
    ///   - now: the time that decides `alreadyExpired` (Unix ms).
    ///   - onKey: called after each key with the reader's offset (progress).
    public static func gather(
        _ reader: RDBReader, values: ValueHandling = .validate, now: Int64, onKey: ((Int64) -> Void)? = nil
    ) throws(RDBError) -> RDBSummary {
        var s = RDBSummary(header: reader.header)
        var index: [UInt64: Int] = [:]
        func db(_ n: UInt64) -> Int {
            if let i = index[n] { return i }
            index[n] = s.databases.count
            s.databases.append(Database(db: n))
            return s.databases.count - 1
        }
        while let record = try reader.next() {
            switch record {
            case .aux(let k, let v): s.aux.append((k, v))
            case .moduleAux(let m): s.moduleAux.append(m)
            case .function(let f): s.functions.append(f)
            case .selectDB(let n): _ = db(n)
            case .resizeDB(let size, let expires): s.databases[db(reader.currentDB)].resizeHint = (size, expires)
            case .slotInfo: s.slotInfoRecords += 1
            case .slotImport(let i): s.slotImports.append(i)
            case .key(let h):
                let i = db(h.db)
                s.databases[i].keys += 1
                if let x = h.expiresAt {
                    s.databases[i].keysWithExpiry += 1
                    if x.milliseconds < now { s.databases[i].alreadyExpired += 1 }
                }
                if h.lruIdleSeconds != nil { s.databases[i].keysWithIdle += 1 }
                if h.lfuFrequency != nil { s.databases[i].keysWithFreq += 1 }
                var moduleName: String?
                switch h.valueType {
                case .module2:
                    if case .module(let m) = try reader.readValue() { moduleName = m.type.name }
                case .hashMetadata, .hashListpackEx, .hashMetadataPreGA, .hashListpackExPreGA, .valkeyHash2:
                    var hasTTL = false
                    while let e = try reader.nextElement() {
                        if case .hashField(let f) = e, f.expiresAt != nil { hasTTL = true }
                    }
                    if hasTTL { s.databases[i].keysWithFieldTTLs += 1 }
                default:
                    switch values {
                    case .validate: try reader.validateValue()
                    case .skip: try reader.skipValue()
                    }
                }
                if let moduleName {
                    s.databases[i].moduleCounts[moduleName, default: 0] += 1
                } else {
                    let code = Int(h.valueType.rawValue) << 2 | (h.stringEncoding == .int ? 1 : 0)
                    s.databases[i].encodingCounts[code, default: 0] += 1
                }
                onKey?(reader.offset)
            case .end(let c):
                s.checksum = c
            }
        }
        s.bytesRead = reader.offset
        return s
    }
}
