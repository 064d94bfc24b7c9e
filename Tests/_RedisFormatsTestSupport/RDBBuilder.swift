import RedisFormats

/// Builds RDB files byte by byte, so that a test knows the offset of every item it writes.
///
/// Every writing method appends to ``bytes`` and returns the offset at which its item starts
/// (discardable). ``count`` is the offset of the next byte.
///
/// ```swift
/// var b = RDBBuilder(redisVersion: 11)
/// b.aux("redis-ver", "7.2.0")
/// b.selectDB(0)
/// let keyAt = b.key(.string, "k")        // type byte offset
/// b.string("v")
/// b.eof()                                // FF + correct CRC64
/// let reader = try b.reader()
/// ```
///
/// Byte orders (formats.md): lengths big-endian; EXPIRETIME_MS, CRC64, listpack, intset little-endian;
/// stream IDs inside values big-endian (16 raw bytes).
public struct RDBBuilder: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    /// The number of bytes written: the offset of the next item.
    public var count: Int { bytes.count }

    /// An empty builder (for fragments: a value body, a module opcode stream).
    public init() {}

    /// Starts a Redis file: `REDIS%04d`.
    public init(redisVersion: Int) {
        magic(redisVersion: redisVersion)
    }

    /// Starts a Valkey file: `VALKEY%03d`.
    public init(valkeyVersion: Int) {
        magic(valkeyVersion: valkeyVersion)
    }

    // MARK: Fixed-width primitives

    /// Raw bytes, as given.
    @discardableResult
    public mutating func raw(_ b: [UInt8]) -> Int {
        let at = count
        bytes.append(contentsOf: b)
        return at
    }

    /// Raw ASCII/UTF-8 text, no length.
    @discardableResult
    public mutating func raw(_ s: String) -> Int { raw(Array(s.utf8)) }

    /// One byte.
    @discardableResult
    public mutating func byte(_ b: UInt8) -> Int { raw([b]) }

    /// `u16le`.
    @discardableResult
    public mutating func uint16LE(_ v: UInt16) -> Int { raw(RDBBuilder.littleEndian(UInt64(v), width: 2)) }

    /// `u32le`.
    @discardableResult
    public mutating func uint32LE(_ v: UInt32) -> Int { raw(RDBBuilder.littleEndian(UInt64(v), width: 4)) }

    /// `u32be`.
    @discardableResult
    public mutating func uint32BE(_ v: UInt32) -> Int { raw(RDBBuilder.bigEndian(UInt64(v), width: 4)) }

    /// `u64le`.
    @discardableResult
    public mutating func uint64LE(_ v: UInt64) -> Int { raw(RDBBuilder.littleEndian(v, width: 8)) }

    /// `i64le` (`rdbSaveMillisecondTime`, module-free signed times).
    @discardableResult
    public mutating func int64LE(_ v: Int64) -> Int { uint64LE(UInt64(bitPattern: v)) }

    /// `u64be`.
    @discardableResult
    public mutating func uint64BE(_ v: UInt64) -> Int { raw(RDBBuilder.bigEndian(v, width: 8)) }

    /// IEEE-754 binary64, little-endian (`rdbSaveBinaryDoubleValue`, ZSET_2 scores, module DOUBLE).
    @discardableResult
    public mutating func binaryDouble(_ d: Double) -> Int { uint64LE(d.bitPattern) }

    /// IEEE-754 binary32, little-endian (module FLOAT).
    @discardableResult
    public mutating func binaryFloat(_ f: Float) -> Int { uint32LE(f.bitPattern) }

    /// A 16-byte stream ID: ms u64 big-endian, seq u64 big-endian.
    @discardableResult
    public mutating func streamID(_ id: StreamID) -> Int {
        let at = uint64BE(id.ms)
        uint64BE(id.seq)
        return at
    }

    // MARK: Header

    /// `REDIS` + 4 ASCII digits.
    @discardableResult
    public mutating func magic(redisVersion: Int) -> Int {
        let digits = String(redisVersion)
        return raw("REDIS" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits)
    }

    /// `VALKEY` + 3 ASCII digits.
    @discardableResult
    public mutating func magic(valkeyVersion: Int) -> Int {
        let digits = String(valkeyVersion)
        return raw("VALKEY" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits)
    }

    // MARK: Lengths

    /// How a length is encoded. `.smallest` is what `rdbSaveLen` writes; the others force a width.
    public enum LengthWidth: Sendable, CaseIterable {
        case smallest
        /// `00|XXXXXX`
        case bits6
        /// `01|XXXXXX XXXXXXXX` (big-endian)
        case bits14
        /// `10000000` + u32 big-endian
        case bits32
        /// `10000001` + u64 big-endian
        case bits64
    }

    /// A length (`rdbSaveLen`):
    ///
    /// ```
    /// 00|XXXXXX                 6-bit
    /// 01|XXXXXX XXXXXXXX        14-bit, big-endian
    /// 10000000 [4 bytes BE]     32-bit
    /// 10000001 [8 bytes BE]     64-bit
    /// ```
    @discardableResult
    public mutating func length(_ v: UInt64, width: LengthWidth = .smallest) -> Int {
        raw(RDBBuilder.encodeLength(v, width: width))
    }

    /// The bytes of a length encoding.
    public static func encodeLength(_ v: UInt64, width: LengthWidth = .smallest) -> [UInt8] {
        var w = width
        if w == .smallest {
            w = v < 64 ? .bits6 : v < 16384 ? .bits14 : v <= UInt64(UInt32.max) ? .bits32 : .bits64
        }
        switch w {
        case .bits6:
            precondition(v < 64)
            return [UInt8(v)]
        case .bits14:
            precondition(v < 16384)
            return [0x40 | UInt8(v >> 8), UInt8(v & 0xFF)]
        case .bits32:
            precondition(v <= UInt64(UInt32.max))
            return [0x80] + bigEndian(v, width: 4)
        case .bits64, .smallest:
            return [0x81] + bigEndian(v, width: 8)
        }
    }

    // MARK: Strings

    /// A plain string: `len` then the bytes.
    @discardableResult
    public mutating func string(_ b: [UInt8], lengthWidth: LengthWidth = .smallest) -> Int {
        let at = length(UInt64(b.count), width: lengthWidth)
        raw(b)
        return at
    }

    /// A plain string from UTF-8 text.
    @discardableResult
    public mutating func string(_ s: String, lengthWidth: LengthWidth = .smallest) -> Int {
        string(Array(s.utf8), lengthWidth: lengthWidth)
    }

    /// INT8-encoded string: `C0` + 1 signed byte.
    @discardableResult
    public mutating func intString8(_ v: Int8) -> Int {
        let at = byte(0xC0)
        byte(UInt8(bitPattern: v))
        return at
    }

    /// INT16-encoded string: `C1` + 2 bytes little-endian.
    @discardableResult
    public mutating func intString16(_ v: Int16) -> Int {
        let at = byte(0xC1)
        uint16LE(UInt16(bitPattern: v))
        return at
    }

    /// INT32-encoded string: `C2` + 4 bytes little-endian.
    @discardableResult
    public mutating func intString32(_ v: Int32) -> Int {
        let at = byte(0xC2)
        uint32LE(UInt32(bitPattern: v))
        return at
    }

    /// LZF string: `C3` `len clen` `len ulen` compressed bytes, compressed with ``LZF/compress(_:maximumOutput:)``.
    /// - Precondition: the input compresses (use repetitive text).
    @discardableResult
    public mutating func lzfString(_ b: [UInt8]) -> Int {
        let compressed = RDBBuilder.lzfCompress(b)
        return lzfString(compressed: compressed, uncompressedLength: UInt64(b.count))
    }

    /// LZF string from UTF-8 text.
    @discardableResult
    public mutating func lzfString(_ s: String) -> Int { lzfString(Array(s.utf8)) }

    /// An LZF string with explicit parts, for corrupt cases: `C3` `len clen` `len ulen` then `compressed`.
    /// `compressedLength` defaults to `compressed.count`.
    @discardableResult
    public mutating func lzfString(
        compressed: [UInt8], uncompressedLength: UInt64, compressedLength: UInt64? = nil
    ) -> Int {
        let at = byte(0xC3)
        length(compressedLength ?? UInt64(compressed.count))
        length(uncompressedLength)
        raw(compressed)
        return at
    }

    /// LZF-compresses bytes (liblzf through ``LZF``).
    public static func lzfCompress(_ b: [UInt8]) -> [UInt8] {
        guard let c = LZF.compress(b, maximumOutput: b.count + b.count / 2 + 64) else {
            preconditionFailure("LZF.compress failed for \(b.count) bytes")
        }
        return c
    }

    /// A string-encoded double (ZSET type 3, `rdbSaveDoubleValue`): 1 length byte + ASCII text,
    /// or the single bytes `FD` NaN, `FE` +inf, `FF` -inf.
    @discardableResult
    public mutating func stringDouble(_ d: Double) -> Int {
        if d.isNaN { return byte(253) }
        if d == .infinity { return byte(254) }
        if d == -.infinity { return byte(255) }
        let text = Array(RDBBuilder.doubleText(d).utf8)
        let at = byte(UInt8(text.count))
        raw(text)
        return at
    }

    /// `%.17g`-like text for a finite double: integers without a fraction.
    public static func doubleText(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return String(d)
    }

    // MARK: Opcodes

    /// AUX: `FA str(key) str(value)`.
    @discardableResult
    public mutating func aux(_ key: String, _ value: String) -> Int {
        let at = byte(0xFA)
        string(key)
        string(value)
        return at
    }

    /// AUX with an int-encoded value (`rdbSaveAuxFieldStrInt`): `FA str(key) C0/C1/C2 int`.
    @discardableResult
    public mutating func aux(_ key: String, int v: Int32) -> Int {
        let at = byte(0xFA)
        string(key)
        if let v8 = Int8(exactly: v) {
            intString8(v8)
        } else if let v16 = Int16(exactly: v) {
            intString16(v16)
        } else {
            intString32(v)
        }
        return at
    }

    /// SELECTDB: `FE len(db)`.
    @discardableResult
    public mutating func selectDB(_ db: UInt64) -> Int {
        let at = byte(0xFE)
        length(db)
        return at
    }

    /// RESIZEDB: `FB len(db_size) len(expires_size)`.
    @discardableResult
    public mutating func resizeDB(_ size: UInt64, _ expires: UInt64) -> Int {
        let at = byte(0xFB)
        length(size)
        length(expires)
        return at
    }

    /// EXPIRETIME_MS: `FC i64le(ms)`.
    @discardableResult
    public mutating func expireMS(_ ms: Int64) -> Int {
        let at = byte(0xFC)
        int64LE(ms)
        return at
    }

    /// EXPIRETIME: `FD i32le(seconds)`.
    @discardableResult
    public mutating func expireSeconds(_ s: Int32) -> Int {
        let at = byte(0xFD)
        uint32LE(UInt32(bitPattern: s))
        return at
    }

    /// IDLE: `F8 len(seconds)`.
    @discardableResult
    public mutating func idle(_ seconds: UInt64) -> Int {
        let at = byte(0xF8)
        length(seconds)
        return at
    }

    /// FREQ: `F9 u8(counter)`.
    @discardableResult
    public mutating func freq(_ f: UInt8) -> Int {
        let at = byte(0xF9)
        byte(f)
        return at
    }

    /// MODULE_AUX: `F7 len(module id) len(2 = when_opcode UINT) len(when) <opcodes through EOF>`.
    /// `whenOpcode` can be changed for corrupt cases.
    @discardableResult
    public mutating func moduleAux(id: UInt64, when: UInt64, opcodes: ModuleOpcodes, whenOpcode: UInt64 = 2) -> Int {
        let at = byte(0xF7)
        length(id)
        length(whenOpcode)
        length(when)
        raw(opcodes.bytes)
        return at
    }

    /// FUNCTION2: `F5 str(library source)`.
    @discardableResult
    public mutating func function2(_ code: String) -> Int {
        let at = byte(0xF5)
        string(code)
        return at
    }

    /// FUNCTION_PRE_GA (Redis 7.0-rc): `F6 str(name) str(engine) len(has_desc) [str(desc)] str(code)`.
    @discardableResult
    public mutating func functionPreGA(name: String, engine: String, description: String?, code: String) -> Int {
        let at = byte(0xF6)
        string(name)
        string(engine)
        if let description {
            length(1)
            string(description)
        } else {
            length(0)
        }
        string(code)
        return at
    }

    /// SLOT_INFO (Redis 7.4+): `F4 len(slot) len(slot_size) len(expires_slot_size)`.
    @discardableResult
    public mutating func slotInfo(slot: UInt64, size: UInt64, expires: UInt64) -> Int {
        let at = byte(0xF4)
        length(slot)
        length(size)
        length(expires)
        return at
    }

    /// Redis RDB 13 KEY_META: `F3 len(numClasses)` then per class `u32le classSpec` + module opcode stream
    /// ending with `len 0`.
    @discardableResult
    public mutating func keyMeta(_ classes: [(classSpec: UInt32, opcodes: ModuleOpcodes)]) -> Int {
        let at = byte(0xF3)
        length(UInt64(classes.count))
        for c in classes {
            uint32LE(c.classSpec)
            raw(c.opcodes.bytes)
        }
        return at
    }

    /// The 32-bit key-metadata class spec: 4 chars × 6 bits (charset `A–Z a–z 0–9 _ -`), 5-bit version,
    /// 3 flag bits (bit 0 = ALLOW_IGNORE).
    public static func keyMetaClassSpec(name: String, version: UInt32, flags: UInt32) -> UInt32 {
        let charset = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-".utf8)
        let chars = Array(name.utf8)
        precondition(chars.count == 4 && version < 32 && flags < 8)
        var spec: UInt32 = 0
        for c in chars {
            guard let i = charset.firstIndex(of: c) else { preconditionFailure("bad class name char") }
            spec = (spec << 6) | UInt32(i)
        }
        return (spec << 8) | (version << 3) | flags
    }

    /// Valkey 9 SLOT_IMPORT: `F3 str(job name) len(n) n × (len start, len end)`.
    @discardableResult
    public mutating func slotImport(jobName: String, ranges: [(UInt64, UInt64)]) -> Int {
        let at = byte(0xF3)
        string(jobName)
        length(UInt64(ranges.count))
        for (lo, hi) in ranges {
            length(lo)
            length(hi)
        }
        return at
    }

    /// A key: the type byte, then `str(key)`. Returns the type byte's offset.
    @discardableResult
    public mutating func key(_ type: UInt8, _ key: [UInt8]) -> Int {
        let at = byte(type)
        string(key)
        return at
    }

    /// A key: the type byte, then `str(key)`.
    @discardableResult
    public mutating func key(_ type: UInt8, _ key: String) -> Int { self.key(type, Array(key.utf8)) }

    /// A key of a known type (its byte).
    @discardableResult
    public mutating func key(_ type: RDBValueType, _ key: String) -> Int { self.key(type.byte, Array(key.utf8)) }

    /// A string key with a plain value: `00 str(key) str(value)`.
    @discardableResult
    public mutating func stringKey(_ key: String, _ value: String) -> Int {
        let at = self.key(0, key)
        string(value)
        return at
    }

    /// What follows the EOF opcode.
    public enum Checksum: Sendable {
        /// CRC64 of every byte from the magic through `FF`, u64 little-endian.
        case correct
        /// Eight zero bytes (`rdbchecksum no`).
        case zero
        /// The correct CRC with its low bit flipped.
        case wrong
        /// Nothing (RDB < 5).
        case none
    }

    /// EOF: `FF`, then the checksum trailer.
    @discardableResult
    public mutating func eof(_ checksum: Checksum = .correct) -> Int {
        let at = byte(0xFF)
        switch checksum {
        case .correct: uint64LE(CRC64.checksum(bytes))
        case .zero: uint64LE(0)
        case .wrong: uint64LE(CRC64.checksum(bytes) ^ 1)
        case .none: break
        }
        return at
    }

    // MARK: Values

    /// A blob value (zipmap, ziplist, intset, listpack) as a plain string. Returns the string's offset.
    @discardableResult
    public mutating func blob(_ b: [UInt8]) -> Int { string(b) }

    /// A stream value of the given version (1: type 15, 2: 19, 3: 21, 4: 26, 5: 27).
    ///
    /// ```
    /// len nodes, nodes × (str nodekey(16), str listpack)
    /// len length, len last.ms, len last.seq
    /// [v2+] len first.ms, len first.seq, len maxdel.ms, len maxdel.seq, len entries_added
    /// len groups × (str name, len last.ms, len last.seq, [v2+] len entries_read,
    ///     len pel × (16-byte id, u64le delivery ms, len delivery count),
    ///     len consumers × (str name, u64le seen, [v3+] u64le active, len pel × 16-byte id),
    ///     [v5] len nacked × 16-byte id)
    /// [v4+] len duration, len max, len producers × (str pid, len n × (str iid, len ms, len seq)),
    ///       len iids_added, len iids_duplicates
    /// ```
    @discardableResult
    public mutating func streamValue(_ s: StreamSpec, version: Int) -> Int {
        let at = length(UInt64(s.nodes.count))
        for n in s.nodes {
            string(n.key)
            string(n.listpack)
        }
        length(s.length)
        length(s.lastID.ms)
        length(s.lastID.seq)
        if version >= 2 {
            length(s.firstID.ms)
            length(s.firstID.seq)
            length(s.maxDeletedEntryID.ms)
            length(s.maxDeletedEntryID.seq)
            length(s.entriesAdded)
        }
        length(UInt64(s.groups.count))
        for g in s.groups {
            string(g.name)
            length(g.lastDeliveredID.ms)
            length(g.lastDeliveredID.seq)
            if version >= 2 { length(g.entriesRead) }
            length(UInt64(g.pel.count))
            for p in g.pel {
                streamID(p.id)
                int64LE(p.deliveryTime)
                length(p.deliveryCount)
            }
            length(UInt64(g.consumers.count))
            for c in g.consumers {
                string(c.name)
                int64LE(c.seenTime)
                if version >= 3 { int64LE(c.activeTime) }
                length(UInt64(c.pel.count))
                for id in c.pel { streamID(id) }
            }
            if version >= 5 {
                length(UInt64(g.nacked.count))
                for id in g.nacked { streamID(id) }
            }
        }
        if version >= 4 {
            let i = s.idmp ?? StreamSpec.Idempotency()
            length(i.durationSeconds)
            length(i.maxEntries)
            length(UInt64(i.producers.count))
            for p in i.producers {
                string(p.pid)
                length(UInt64(p.entries.count))
                for e in p.entries {
                    string(e.iid)
                    length(e.id.ms)
                    length(e.id.seq)
                }
            }
            length(i.iidsAdded)
            length(i.iidsDuplicates)
        }
        return at
    }

    // MARK: Reading back

    /// A reader over the bytes written (delivered `chunkLimit` bytes per read).
    public func reader(options: RDBReader.Options = RDBReader.Options(), chunkLimit: Int = .max) throws(RDBError) -> RDBReader {
        try RDBReader(source: MemorySource(bytes, chunkLimit: chunkLimit), options: options)
    }

    // MARK: Byte order helpers

    public static func littleEndian(_ v: UInt64, width: Int) -> [UInt8] {
        (0..<width).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
    }

    public static func bigEndian(_ v: UInt64, width: Int) -> [UInt8] {
        littleEndian(v, width: width).reversed()
    }
}

// MARK: - Module opcode streams

/// A module value's opcode stream (`RedisModule_Save*`): `len opcode` + payload, ended by `len 0`.
///
/// ```
/// 1 SINT / 2 UINT → len      3 FLOAT → 4 bytes LE      4 DOUBLE → 8 bytes LE
/// 5 STRING → str             0 EOF
/// ```
///
/// ```swift
/// let ops = ModuleOpcodes().uint(7).string("payload").eof()
/// ```
public struct ModuleOpcodes: Sendable {
    private var b = RDBBuilder()
    /// The bytes written so far.
    public var bytes: [UInt8] { b.bytes }
    public init() {}

    /// `01 len(v)`.
    public func sint(_ v: UInt64) -> Self { with { $0.length(1); $0.length(v) } }
    /// `02 len(v)`.
    public func uint(_ v: UInt64) -> Self { with { $0.length(2); $0.length(v) } }
    /// `03` + 4-byte float LE.
    public func float(_ v: Float) -> Self { with { $0.length(3); $0.binaryFloat(v) } }
    /// `04` + 8-byte double LE.
    public func double(_ v: Double) -> Self { with { $0.length(4); $0.binaryDouble(v) } }
    /// `05 str`.
    public func string(_ s: [UInt8]) -> Self { with { $0.length(5); $0.string(s) } }
    /// `05 str` from text.
    public func string(_ s: String) -> Self { string(Array(s.utf8)) }
    /// `05` then an LZF string.
    public func lzfString(_ s: String) -> Self { with { $0.length(5); $0.lzfString(s) } }
    /// An arbitrary opcode number (for corrupt cases).
    public func opcode(_ op: UInt64) -> Self { with { $0.length(op) } }
    /// `00`: the end.
    public func eof() -> Self { with { $0.length(0) } }

    private func with(_ body: (inout RDBBuilder) -> Void) -> Self {
        var c = self
        body(&c.b)
        return c
    }
}

// MARK: - Streams

/// The parts of a stream value, for ``RDBBuilder/streamValue(_:version:)``.
public struct StreamSpec: Sendable {
    public struct PendingEntry: Sendable {
        public var id: StreamID
        public var deliveryTime: Int64
        public var deliveryCount: UInt64
        public init(_ id: StreamID, deliveryTime: Int64, deliveryCount: UInt64) {
            self.id = id
            self.deliveryTime = deliveryTime
            self.deliveryCount = deliveryCount
        }
    }
    public struct Consumer: Sendable {
        public var name: String
        public var seenTime: Int64
        public var activeTime: Int64
        public var pel: [StreamID]
        public init(_ name: String, seenTime: Int64, activeTime: Int64, pel: [StreamID]) {
            self.name = name
            self.seenTime = seenTime
            self.activeTime = activeTime
            self.pel = pel
        }
    }
    public struct Group: Sendable {
        public var name: String
        public var lastDeliveredID: StreamID
        /// `UInt64.max` writes -1 ("invalid").
        public var entriesRead: UInt64
        public var pel: [PendingEntry]
        public var consumers: [Consumer]
        /// Stream v5 only.
        public var nacked: [StreamID]
        public init(
            _ name: String, lastDeliveredID: StreamID, entriesRead: UInt64, pel: [PendingEntry], consumers: [Consumer],
            nacked: [StreamID] = []
        ) {
            self.name = name
            self.lastDeliveredID = lastDeliveredID
            self.entriesRead = entriesRead
            self.pel = pel
            self.consumers = consumers
            self.nacked = nacked
        }
    }
    public struct Idempotency: Sendable {
        public var durationSeconds: UInt64 = 100
        public var maxEntries: UInt64 = 10
        public var producers: [(pid: String, entries: [(iid: String, id: StreamID)])] = []
        public var iidsAdded: UInt64 = 0
        public var iidsDuplicates: UInt64 = 0
        public init() {}
    }

    /// Node key (16 bytes, or anything for corrupt cases) and listpack.
    public var nodes: [(key: [UInt8], listpack: [UInt8])]
    public var length: UInt64
    public var lastID: StreamID
    public var firstID: StreamID = .zero
    public var maxDeletedEntryID: StreamID = .zero
    public var entriesAdded: UInt64 = 0
    public var groups: [Group] = []
    public var idmp: Idempotency?

    public init(nodes: [StreamNodeBuilder], length: UInt64, lastID: StreamID) {
        self.nodes = nodes.map { ($0.nodeKey, $0.build()) }
        self.length = length
        self.lastID = lastID
    }

    public init(rawNodes: [(key: [UInt8], listpack: [UInt8])], length: UInt64, lastID: StreamID) {
        self.nodes = rawNodes
        self.length = length
        self.lastID = lastID
    }
}

/// One stream node (`t_stream.c`): a 16-byte node key (the master ID) and a listpack.
///
/// ```
/// master entry: count | deleted | num_fields | field_1 … field_N | 0
/// each entry:   flags | ms_diff | seq_diff | [num_fields | f1 v1 … fN vN] | lp_count
///               (flags & 2 SAMEFIELDS: only v1 … vN; flags & 1 DELETED)
/// lp_count = listpack elements of the entry before lp_count
/// ```
public struct StreamNodeBuilder: Sendable {
    public struct Entry: Sendable {
        public var id: StreamID
        public var fields: [(String, String)]
        public var deleted: Bool
        public var sameFields: Bool
    }
    public let masterID: StreamID
    public let masterFields: [String]
    public private(set) var entries: [Entry] = []

    public init(masterID: StreamID, masterFields: [String]) {
        self.masterID = masterID
        self.masterFields = masterFields
    }

    /// Adds an entry; it is written SAMEFIELDS when its field names equal the master's.
    public mutating func entry(_ id: StreamID, _ fields: [(String, String)], deleted: Bool = false) {
        entries.append(Entry(id: id, fields: fields, deleted: deleted, sameFields: fields.map(\.0) == masterFields))
    }

    /// The 16-byte node key: master ms and seq, big-endian.
    public var nodeKey: [UInt8] {
        RDBBuilder.bigEndian(masterID.ms, width: 8) + RDBBuilder.bigEndian(masterID.seq, width: 8)
    }

    /// The node's listpack builder (to corrupt it further).
    public func listpack(liveCount: Int64? = nil) -> ListpackBuilder {
        var lp = ListpackBuilder()
        let live = entries.filter { !$0.deleted }.count
        lp.int(liveCount ?? Int64(live))
        lp.int(Int64(entries.count - live))
        lp.int(Int64(masterFields.count))
        for f in masterFields { lp.element(f) }
        lp.int(0)
        for e in entries {
            var flags: Int64 = 0
            if e.deleted { flags |= 1 }
            if e.sameFields { flags |= 2 }
            lp.int(flags)
            lp.int(Int64(e.id.ms) - Int64(masterID.ms))
            lp.int(Int64(e.id.seq) - Int64(masterID.seq))
            if e.sameFields {
                for (_, v) in e.fields { lp.element(v) }
                lp.int(Int64(e.fields.count) + 3)
            } else {
                lp.int(Int64(e.fields.count))
                for (f, v) in e.fields {
                    lp.element(f)
                    lp.element(v)
                }
                lp.int(Int64(e.fields.count) * 2 + 4)
            }
        }
        return lp
    }

    /// The node's listpack bytes.
    public func build() -> [UInt8] { listpack().build() }
}

// MARK: - Listpack

/// Builds listpack blobs (`listpack.c`) entry by entry, with every encoding, correct back-lengths and
/// header, and options to corrupt them.
///
/// ```
/// u32le total_bytes | u16le num_elements | entry… | FF       entry = encoding+data | backlen
/// 0xxxxxxx 7-bit uint · 10xxxxxx 6-bit-len str · 110xxxxx yyyyyyyy int13 · 1110xxxx yyyyyyyy 12-bit-len str
/// F0 u32le 32-bit-len str · F1 int16 · F2 int24 · F3 int32 · F4 int64 (all LE)
/// ```
public struct ListpackBuilder: Sendable {
    /// Each entry's encoding+data (without backlen) and its backlen.
    public private(set) var entries: [(body: [UInt8], backlen: [UInt8])] = []
    public init() {}

    /// The size of the header (total_bytes + num_elements).
    public static let headerSize = 6

    /// `0xxxxxxx`: 0–127.
    public mutating func uint7(_ v: UInt8) {
        precondition(v < 128)
        append([v])
    }

    /// `10xxxxxx` + bytes: length 0–63.
    public mutating func string6(_ s: [UInt8]) {
        precondition(s.count < 64)
        append([0x80 | UInt8(s.count)] + s)
    }

    /// `1110xxxx yyyyyyyy` + bytes: length 0–4095.
    public mutating func string12(_ s: [UInt8]) {
        precondition(s.count < 4096)
        append([0xE0 | UInt8(s.count >> 8), UInt8(s.count & 0xFF)] + s)
    }

    /// `F0` + u32le length + bytes.
    public mutating func string32(_ s: [UInt8]) {
        append([0xF0] + RDBBuilder.littleEndian(UInt64(s.count), width: 4) + s)
    }

    /// The smallest string encoding.
    public mutating func string(_ s: [UInt8]) {
        if s.count < 64 {
            string6(s)
        } else if s.count < 4096 {
            string12(s)
        } else {
            string32(s)
        }
    }

    /// The smallest string encoding of UTF-8 text.
    public mutating func string(_ s: String) { string(Array(s.utf8)) }

    /// `110xxxxx yyyyyyyy`: -4096…4095 (two's complement in 13 bits).
    public mutating func int13(_ v: Int) {
        precondition(v >= -4096 && v <= 4095)
        let u = v < 0 ? v + 8192 : v
        append([0xC0 | UInt8(u >> 8), UInt8(u & 0xFF)])
    }

    /// `F1` + int16 LE.
    public mutating func int16(_ v: Int16) {
        append([0xF1] + RDBBuilder.littleEndian(UInt64(UInt16(bitPattern: v)), width: 2))
    }

    /// `F2` + int24 LE.
    public mutating func int24(_ v: Int32) {
        precondition(v >= -(1 << 23) && v < (1 << 23))
        append([0xF2] + RDBBuilder.littleEndian(UInt64(UInt32(bitPattern: v)), width: 3))
    }

    /// `F3` + int32 LE.
    public mutating func int32(_ v: Int32) {
        append([0xF3] + RDBBuilder.littleEndian(UInt64(UInt32(bitPattern: v)), width: 4))
    }

    /// `F4` + int64 LE.
    public mutating func int64(_ v: Int64) {
        append([0xF4] + RDBBuilder.littleEndian(UInt64(bitPattern: v), width: 8))
    }

    /// The smallest integer encoding (`lpEncodeIntegerGetType`).
    public mutating func int(_ v: Int64) {
        switch v {
        case 0...127: uint7(UInt8(v))
        case -4096...4095: int13(Int(v))
        case Int64(Int16.min)...Int64(Int16.max): int16(Int16(v))
        case -(1 << 23)...((1 << 23) - 1): int24(Int32(v))
        case Int64(Int32.min)...Int64(Int32.max): int32(Int32(v))
        default: int64(v)
        }
    }

    /// An element as Redis stores it: an integer when the text is a `string2ll` integer, else a string.
    public mutating func element(_ s: String) {
        if let v = RedisInteger.parse(Array(s.utf8)) { int(v) } else { string(s) }
    }

    /// An entry with arbitrary encoding bytes and a correct backlen (for invalid encodings).
    public mutating func rawEntry(_ body: [UInt8]) { append(body) }

    /// An entry with an explicit (possibly wrong) backlen.
    public mutating func rawEntry(_ body: [UInt8], backlen: [UInt8]) { entries.append((body, backlen)) }

    private mutating func append(_ body: [UInt8]) {
        entries.append((body, ListpackBuilder.encodeBacklen(body.count)))
    }

    /// `lpEncodeBacklen`: the last byte holds the low 7 bits; all bytes but the first have bit 7 set.
    public static func encodeBacklen(_ l: Int) -> [UInt8] {
        if l <= 127 { return [UInt8(l)] }
        if l < 16383 { return [UInt8(l >> 7), UInt8(l & 127) | 128] }
        if l < 2_097_151 { return [UInt8(l >> 14), UInt8((l >> 7) & 127) | 128, UInt8(l & 127) | 128] }
        if l < 268_435_455 {
            return [UInt8(l >> 21), UInt8((l >> 14) & 127) | 128, UInt8((l >> 7) & 127) | 128, UInt8(l & 127) | 128]
        }
        return [
            UInt8(l >> 28), UInt8((l >> 21) & 127) | 128, UInt8((l >> 14) & 127) | 128, UInt8((l >> 7) & 127) | 128,
            UInt8(l & 127) | 128,
        ]
    }

    /// The blob offset of entry `i` (its encoding byte).
    public func entryOffset(_ i: Int) -> Int {
        var at = ListpackBuilder.headerSize
        for k in 0..<i { at += entries[k].body.count + entries[k].backlen.count }
        return at
    }

    /// The listpack bytes.
    /// - Parameters:
    ///   - count: num_elements to write (default: the entry count, or 0xFFFF above 65534).
    ///   - totalBytes: total_bytes to write (default: the real size).
    ///   - terminator: whether to end with `FF`.
    ///   - corruptBacklenOf: an entry whose backlen is written one too large (same width).
    ///   - truncateLastEntryBy: bytes cut from the end of the last entry (total_bytes adjusted).
    public func build(
        count: UInt16? = nil, totalBytes: UInt32? = nil, terminator: Bool = true, corruptBacklenOf: Int? = nil,
        truncateLastEntryBy: Int = 0
    ) -> [UInt8] {
        var body: [UInt8] = []
        for (i, e) in entries.enumerated() {
            var backlen = e.backlen
            if i == corruptBacklenOf {
                backlen[backlen.count - 1] = (backlen[backlen.count - 1] & 0x80) | ((backlen[backlen.count - 1] &+ 1) & 0x7F)
            }
            body += e.body + backlen
        }
        if truncateLastEntryBy > 0 { body.removeLast(truncateLastEntryBy) }
        if terminator { body.append(0xFF) }
        let total = UInt32(ListpackBuilder.headerSize + body.count)
        let n = count ?? (entries.count < 0xFFFF ? UInt16(entries.count) : 0xFFFF)
        return RDBBuilder.littleEndian(UInt64(totalBytes ?? total), width: 4)
            + RDBBuilder.littleEndian(UInt64(n), width: 2) + body
    }
}

// MARK: - Ziplist

/// Builds ziplist blobs (`ziplist.c`) with every encoding and prevlen width, and options to corrupt them.
///
/// ```
/// u32le zlbytes | u32le zltail | u16le zllen | entry… | FF
/// entry = prevlen (1 byte < 254, or FE + u32le) | encoding | data
/// 00pppppp str ≤ 63 · 01pppppp qqqqqqqq str 14-bit BE · 10000000 + u32be str
/// C0 int16 · D0 int32 · E0 int64 · F0 int24 · FE int8 · F1–FD immediate 0–12 (all ints LE)
/// ```
public struct ZiplistBuilder: Sendable {
    /// Each entry's encoding+data, and whether its prevlen is forced to the 5-byte form.
    public private(set) var entries: [(body: [UInt8], widePrevlen: Bool)] = []
    public init() {}

    public static let headerSize = 10

    /// `00pppppp` + bytes: length 0–63.
    public mutating func string6(_ s: [UInt8], widePrevlen: Bool = false) {
        precondition(s.count < 64)
        entries.append(([UInt8(s.count)] + s, widePrevlen))
    }

    /// `01pppppp qqqqqqqq` (big-endian 14-bit length) + bytes.
    public mutating func string14(_ s: [UInt8], widePrevlen: Bool = false) {
        precondition(s.count < 16384)
        entries.append(([0x40 | UInt8(s.count >> 8), UInt8(s.count & 0xFF)] + s, widePrevlen))
    }

    /// `10000000` + u32 big-endian length + bytes.
    public mutating func string32(_ s: [UInt8], widePrevlen: Bool = false) {
        entries.append(([0x80] + RDBBuilder.bigEndian(UInt64(s.count), width: 4) + s, widePrevlen))
    }

    /// The smallest string encoding.
    public mutating func string(_ s: [UInt8], widePrevlen: Bool = false) {
        if s.count < 64 {
            string6(s, widePrevlen: widePrevlen)
        } else if s.count < 16384 {
            string14(s, widePrevlen: widePrevlen)
        } else {
            string32(s, widePrevlen: widePrevlen)
        }
    }

    public mutating func string(_ s: String, widePrevlen: Bool = false) { string(Array(s.utf8), widePrevlen: widePrevlen) }

    /// `C0` + int16 LE.
    public mutating func int16(_ v: Int16, widePrevlen: Bool = false) {
        entries.append(([0xC0] + RDBBuilder.littleEndian(UInt64(UInt16(bitPattern: v)), width: 2), widePrevlen))
    }

    /// `D0` + int32 LE.
    public mutating func int32(_ v: Int32, widePrevlen: Bool = false) {
        entries.append(([0xD0] + RDBBuilder.littleEndian(UInt64(UInt32(bitPattern: v)), width: 4), widePrevlen))
    }

    /// `E0` + int64 LE.
    public mutating func int64(_ v: Int64, widePrevlen: Bool = false) {
        entries.append(([0xE0] + RDBBuilder.littleEndian(UInt64(bitPattern: v), width: 8), widePrevlen))
    }

    /// `F0` + int24 LE.
    public mutating func int24(_ v: Int32, widePrevlen: Bool = false) {
        precondition(v >= -(1 << 23) && v < (1 << 23))
        entries.append(([0xF0] + RDBBuilder.littleEndian(UInt64(UInt32(bitPattern: v)), width: 3), widePrevlen))
    }

    /// `FE` + int8.
    public mutating func int8(_ v: Int8, widePrevlen: Bool = false) {
        entries.append(([0xFE, UInt8(bitPattern: v)], widePrevlen))
    }

    /// `1111xxxx` (F1–FD): immediate 0–12.
    public mutating func immediate(_ v: UInt8, widePrevlen: Bool = false) {
        precondition(v <= 12)
        entries.append(([0xF1 + v], widePrevlen))
    }

    /// The smallest integer encoding (`zipTryEncoding`).
    public mutating func int(_ v: Int64, widePrevlen: Bool = false) {
        switch v {
        case 0...12: immediate(UInt8(v), widePrevlen: widePrevlen)
        case Int64(Int8.min)...Int64(Int8.max): int8(Int8(v), widePrevlen: widePrevlen)
        case Int64(Int16.min)...Int64(Int16.max): int16(Int16(v), widePrevlen: widePrevlen)
        case -(1 << 23)...((1 << 23) - 1): int24(Int32(v), widePrevlen: widePrevlen)
        case Int64(Int32.min)...Int64(Int32.max): int32(Int32(v), widePrevlen: widePrevlen)
        default: int64(v, widePrevlen: widePrevlen)
        }
    }

    /// An element as Redis stores it: integer when `string2ll` accepts the text.
    public mutating func element(_ s: String) {
        if let v = RedisInteger.parse(Array(s.utf8)) { int(v) } else { string(s) }
    }

    /// An entry with arbitrary encoding bytes.
    public mutating func rawEntry(_ body: [UInt8]) { entries.append((body, false)) }

    private func prevlenBytes(_ previous: Int, wide: Bool) -> [UInt8] {
        if previous < 254 && !wide { return [UInt8(previous)] }
        return [0xFE] + RDBBuilder.littleEndian(UInt64(previous), width: 4)
    }

    /// Blob offsets of each entry (its prevlen).
    public func entryOffsets() -> [Int] {
        var offsets: [Int] = []
        var at = ZiplistBuilder.headerSize
        var previous = 0
        for e in entries {
            offsets.append(at)
            let size = prevlenBytes(previous, wide: e.widePrevlen).count + e.body.count
            at += size
            previous = size
        }
        return offsets
    }

    /// The ziplist bytes.
    /// - Parameters:
    ///   - zlbytes, zltail, zllen: header overrides (defaults are correct).
    ///   - terminator: whether to end with `FF`.
    ///   - corruptPrevlenOf: an entry whose prevlen is written one too large.
    public func build(
        zlbytes: UInt32? = nil, zltail: UInt32? = nil, zllen: UInt16? = nil, terminator: Bool = true,
        corruptPrevlenOf: Int? = nil
    ) -> [UInt8] {
        var body: [UInt8] = []
        var previous = 0
        var tail = ZiplistBuilder.headerSize
        for (i, e) in entries.enumerated() {
            tail = ZiplistBuilder.headerSize + body.count
            let p = prevlenBytes(i == corruptPrevlenOf ? previous + 1 : previous, wide: e.widePrevlen)
            body += p + e.body
            previous = p.count + e.body.count
        }
        if terminator { body.append(0xFF) }
        let total = UInt32(ZiplistBuilder.headerSize + body.count)
        let n = zllen ?? (entries.count < 0xFFFF ? UInt16(entries.count) : 0xFFFF)
        return RDBBuilder.littleEndian(UInt64(zlbytes ?? total), width: 4)
            + RDBBuilder.littleEndian(UInt64(zltail ?? UInt32(tail)), width: 4)
            + RDBBuilder.littleEndian(UInt64(n), width: 2) + body
    }
}

// MARK: - Intset and zipmap

/// Intset blobs (`intset.c`): `u32le encoding (2/4/8) | u32le length | length × intN LE`.
public enum IntsetBuilder {
    /// - Parameters:
    ///   - width: bytes per member (2, 4 or 8); written as the encoding unless `encoding` overrides it.
    ///   - length: the declared length (default: `values.count`).
    public static func build(width: Int, _ values: [Int64], encoding: UInt32? = nil, length: UInt32? = nil) -> [UInt8] {
        var out = RDBBuilder.littleEndian(UInt64(encoding ?? UInt32(width)), width: 4)
        out += RDBBuilder.littleEndian(UInt64(length ?? UInt32(values.count)), width: 4)
        for v in values { out += RDBBuilder.littleEndian(UInt64(bitPattern: v), width: width) }
        return out
    }
}

/// Zipmap blobs (`zipmap.c`, Redis 2.4 hashes).
///
/// ```
/// u8 zmlen (≥ 254: unknown) | { len key | len value | u8 free | value | free bytes }… | FF
/// len = 1 byte 0–253, or FE + u32 little-endian
/// ```
public struct ZipmapBuilder: Sendable {
    public private(set) var pairs: [(key: [UInt8], value: [UInt8], free: Int, wideLengths: Bool)] = []
    public init() {}

    /// A pair; `free` unused bytes follow the value; `wideLengths` writes both lengths as `FE` + u32le.
    public mutating func pair(_ key: String, _ value: String, free: Int = 0, wideLengths: Bool = false) {
        pairs.append((Array(key.utf8), Array(value.utf8), free, wideLengths))
    }

    private static func len(_ n: Int, wide: Bool) -> [UInt8] {
        if n < 254 && !wide { return [UInt8(n)] }
        return [0xFE] + RDBBuilder.littleEndian(UInt64(n), width: 4)
    }

    /// The zipmap bytes.
    /// - Parameters:
    ///   - zmlen: the count byte (default: the pair count, 254 when ≥ 254).
    ///   - terminator: whether to end with `FF`.
    ///   - trailing: bytes after the terminator.
    public func build(zmlen: UInt8? = nil, terminator: Bool = true, trailing: [UInt8] = []) -> [UInt8] {
        var out: [UInt8] = [zmlen ?? UInt8(min(pairs.count, 254))]
        for p in pairs {
            out += ZipmapBuilder.len(p.key.count, wide: p.wideLengths) + p.key
            out += ZipmapBuilder.len(p.value.count, wide: p.wideLengths) + [UInt8(p.free)] + p.value
            out += [UInt8](repeating: 0xAA, count: p.free)
        }
        if terminator { out.append(0xFF) }
        return out + trailing
    }
}
