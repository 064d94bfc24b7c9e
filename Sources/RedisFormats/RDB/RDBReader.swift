/// A streaming pull reader of RDB files, for every Redis (RDB 1–14) and Valkey (RDB 80–81) version.
///
/// ```swift
/// let reader = try RDBReader(path: "dump.rdb")
/// while let record = try reader.next() {
///     guard case .key(let header) = record else { continue }
///     if header.key.starts(with: "session:".utf8) {
///         while let element = try reader.nextElement() { print(element) }   // one element at a time
///     } else {
///         try reader.skipValue()                                             // no decoding, no LZF
///     }
/// }
/// ```
///
/// Memory is bounded by one item (a string, one compact blob, one stream node or consumer group) plus
/// one input chunk, whatever the size of the file or of a collection.
///
/// Every failure is an ``RDBError`` with the byte offset, the phase, the db, the key and the type
/// being read. After an error the reader is unusable: every later call rethrows it.
public final class RDBReader {
    /// Limits and checks. Defaults follow Redis: 512 MiB strings, structural validation, CRC verified.
    public struct Options: Sendable {
        /// How much of each compact encoding is checked while reading.
        public enum Validation: Sendable, Hashable {
            /// What decoding needs: declared sizes, entry bounds, encodings, terminators.
            case structure
            /// Also back-lengths, prevlen chains, declared counts, intset order
            /// (what `sanitize-dump-payload yes` checks, without duplicates).
            case deep
        }
        /// The longest string or blob accepted (`proto-max-bulk-len`).
        public var maximumBlobLength: Int = 512 * 1024 * 1024
        public var validation: Validation = .structure
        /// Verify the CRC64 at EOF (RDB 5+, when the stored value is not 0).
        public var verifiesChecksum = true
        /// Bytes read from the source at a time.
        public var chunkSize = 1 << 20
        public init() {}
    }

    /// The file's magic, version and dialect.
    public let header: RDBHeader
    public let options: Options
    /// The input's name (path) for messages.
    public let sourceName: String

    let window: InputWindow
    let scratch = ScratchBuffer()
    /// The CRC64 computed on another thread, for regular files.
    private var parallelChecksum: ParallelChecksum?
    var deep: Bool { options.validation == .deep }

    /// The database selected by the last SELECTDB.
    @exclusivity(unchecked)
    public private(set) var currentDB: UInt64 = 0
    /// The key whose value is being read, if any.
    @exclusivity(unchecked)
    public private(set) var currentKey: RDBKeyHeader?
    /// Whether the current key's name is stored as plain bytes (neither LZF nor an integer encoding):
    /// a rewrite copying the key then writes it the same way without trying to compress it.
    private(set) var lastKeyStoredRaw = false
    @exclusivity(unchecked)
    var phase: RDBPhase = .start
    @exclusivity(unchecked)
    var value: ValueCursor = .none
    @exclusivity(unchecked)
    var pending: [RDBElement] = []
    @exclusivity(unchecked)
    var pendingIndex = 0
    @exclusivity(unchecked)
    private(set) var finished = false
    @exclusivity(unchecked)
    private(set) var failure: RDBError?

    // Per-key attributes from opcodes that precede a key; cleared after each key.
    private var pendingExpire: RedisTimestamp?
    private var pendingIdle: UInt64?
    private var pendingFreq: UInt8?
    private var pendingMetadata: [RDBKeyMetadata] = []
    private(set) var pendingKeyStart: Int64?

    /// Opens a file (`-` for standard input; gzip is decompressed transparently).
    ///
    /// For a regular file the CRC64 is computed on a second thread while parsing.
    public convenience init(path: String, options: Options = Options()) throws(RDBError) {
        let source = try ByteSources.open(path: path)
        if options.verifiesChecksum, let file = source as? FileSource, file.fd != 0, let size = file.knownSize,
            size >= Int64(ParallelChecksum.blockSize)
        {
            let window = InputWindow(source: source, chunkSize: options.chunkSize)
            window.startChecksum(fromAbsoluteOffset: 0)
            try self.init(window: window, options: options, name: source.name)
            // Without a second thread the window keeps checksumming inline.
            if header.hasChecksum, let pc = ParallelChecksum(path: path, size: size) {
                parallelChecksum = pc
                window.checksumming = false
            }
            return
        }
        try self.init(source: source, options: options)
    }

    deinit { parallelChecksum?.stop() }

    /// Starts reading a source: reads and checks the 9-byte header.
    /// - Throws: ``RDBError`` when the magic or version is invalid or unsupported.
    public convenience init(source: any ByteSource, options: Options = Options()) throws(RDBError) {
        let window = InputWindow(source: source, chunkSize: options.chunkSize)
        if options.verifiesChecksum { window.startChecksum(fromAbsoluteOffset: 0) }
        try self.init(window: window, options: options, name: source.name)
    }

    /// Reads an RDB that starts at the window's current position (an AOF preamble, a replication stream).
    init(window: InputWindow, options: Options, name: String) throws(RDBError) {
        self.window = window
        self.options = options
        self.sourceName = name
        do {
            header = try RDBReader.readHeader(window)
        } catch {
            throw RDBError(
                error.code, error.message, offset: error.offset, phase: .start, file: name)
        }
        if !header.hasChecksum { window.checksumming = false }
    }

    /// Reads records of an RDB whose header was read elsewhere, from a byte offset in its middle
    /// (salvage): no checksum, the given header's dialect and version, db `db`.
    public init(resumingAt offset: Int64, path: String, header: RDBHeader, db: UInt64, options: Options) throws(RDBError) {
        var o = options
        o.verifiesChecksum = false
        self.window = InputWindow(source: try FileSource(path: path, offset: offset), chunkSize: o.chunkSize)
        self.options = o
        self.sourceName = path
        self.header = header
        self.currentDB = db
    }

    /// Reads the records in bytes `[start, end)` of a regular RDB file whose header was read elsewhere, in
    /// place from a read-only mapping of that range (see `FileMapping`), as ``init(resumingAt:path:header:db:options:)``
    /// reads them; the input ends at `end`. Nil when the range cannot be mapped.
    static func mapping(
        path: String, start: Int64, end: Int64, header: RDBHeader, db: UInt64, options: Options
    ) -> RDBReader? {
        guard let window = FileMapping.window(path: path, start: start, end: end) else { return nil }
        var o = options
        o.verifiesChecksum = false
        return RDBReader(window: window, header: header, db: db, options: o, name: path)
    }

    private init(window: InputWindow, header: RDBHeader, db: UInt64, options: Options, name: String) {
        self.window = window
        self.options = options
        self.sourceName = name
        self.header = header
        self.currentDB = db
    }

    /// Reads the rest of the current value, decoding and validating it (``Options/validation``), and
    /// returns its bytes as stored.
    public func readValidatedRawValue() throws(RDBError) -> [UInt8] {
        guard case .unread = value else {
            preconditionFailure("readValidatedRawValue() must follow a .key record whose value was not read")
        }
        return try guarded { () throws(ParseFailure) -> [UInt8] in
            try capturing { () throws(ParseFailure) in try finishValue(mode: .validate) }
        }
    }

    /// Offset of the next unread byte.
    public var offset: Int64 { window.offset }

    /// After ``RDBRecord/end(_:)``: whether bytes follow the RDB (the RESP tail of an AOF with an RDB
    /// preamble, or garbage).
    public func hasTrailingData() throws(RDBError) -> Bool {
        try guarded { () throws(ParseFailure) -> Bool in try !window.isAtEnd() }
    }

    /// The newest Redis RDB version this reader knows.
    public static let newestRedisVersion = 14
    /// The newest Valkey RDB version this reader knows.
    public static let newestValkeyVersion = 81

    static func readHeader(_ window: InputWindow) throws(ParseFailure) -> RDBHeader {
        let start = window.offset
        let bytes: [UInt8]
        do {
            bytes = try window.readBytes(9)
        } catch {
            throw .truncated("not an RDB file: shorter than the 9-byte header", at: start)
        }
        let text = String(decoding: bytes, as: UTF8.self)
        func digits(_ s: ArraySlice<UInt8>) -> Int? {
            guard s.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return Int(String(decoding: s, as: UTF8.self))
        }
        if bytes.starts(with: Array("REDIS".utf8)) {
            guard let v = digits(bytes[5..<9]) else {
                throw .corrupt("wrong signature: \(RedisBytes(bytes).escapedDescription) has no version digits", at: start)
            }
            guard v >= 1 else { throw .corrupt("invalid RDB version 0", at: start + 5) }
            guard v <= newestRedisVersion else {
                throw .unsupported(
                    "can't handle RDB format version \(v): this reader knows Redis RDB 1 to \(newestRedisVersion)"
                        + (v >= 80 ? " (Valkey writes 80+ with a VALKEY magic)" : ""),
                    at: start + 5)
            }
            return RDBHeader(magic: text, version: v, dialect: .redis)
        }
        if bytes.starts(with: Array("VALKEY".utf8)) {
            guard let v = digits(bytes[6..<9]) else {
                throw .corrupt("wrong signature: \(RedisBytes(bytes).escapedDescription) has no version digits", at: start)
            }
            guard v >= 80 else { throw .corrupt("invalid Valkey RDB version \(v): VALKEY files start at 80", at: start + 6) }
            guard v <= newestValkeyVersion else {
                throw .unsupported(
                    "can't handle Valkey RDB format version \(v): this reader knows Valkey RDB 80 to \(newestValkeyVersion)",
                    at: start + 6)
            }
            return RDBHeader(magic: text, version: v, dialect: .valkey)
        }
        throw .corrupt("wrong signature: \(RedisBytes(bytes).escapedDescription) is not REDIS or VALKEY followed by a version", at: start)
    }

    // MARK: Errors

    func fail(_ f: ParseFailure) -> RDBError {
        let e = RDBError(
            f.code, f.message, offset: f.offset, blobOffset: f.blobOffset, phase: phase,
            db: currentDB, key: currentKey?.key, valueType: currentKey?.valueType, file: sourceName)
        failure = e
        return e
    }

    @inline(__always)
    func guarded<T>(_ body: () throws(ParseFailure) -> T) throws(RDBError) -> T {
        if let failure { throw failure }
        do { return try body() } catch { throw fail(error) }
    }

    // MARK: Records

    /// The next record, or nil after ``RDBRecord/end(_:)``. An unconsumed value of the previous key is
    /// skipped first.
    public func next() throws(RDBError) -> RDBRecord? {
        try guarded { () throws(ParseFailure) -> RDBRecord? in try nextRecord() }
    }

    private func nextRecord() throws(ParseFailure) -> RDBRecord? {
        if finished { return nil }
        if case .none = value {} else { try finishValue(mode: .skip) }
        currentKey = nil
        while true {
            let opStart = window.offset
            phase = .readType
            let t = try window.readByte()
            switch t {
            case RDBOpcode.eof.rawValue:
                return .end(try readEnd())
            case RDBOpcode.selectDB.rawValue:
                phase = .readLen
                currentDB = try window.readLength()
                return .selectDB(currentDB)
            case RDBOpcode.expireTime.rawValue:
                phase = .readExpire
                let seconds = Int32(bitPattern: try window.readUInt32LE())
                pendingExpire = RedisTimestamp(milliseconds: Int64(seconds) * 1000)
                pendingKeyStart = pendingKeyStart ?? opStart
            case RDBOpcode.expireTimeMS.rawValue:
                phase = .readExpire
                pendingExpire = RedisTimestamp(milliseconds: Int64(bitPattern: try window.readUInt64LE()))
                pendingKeyStart = pendingKeyStart ?? opStart
            case RDBOpcode.resizeDB.rawValue:
                phase = .readLen
                let dbSize = try window.readLength()
                let expiresSize = try window.readLength()
                return .resizeDB(dbSize: dbSize, expiresSize: expiresSize)
            case RDBOpcode.aux.rawValue:
                phase = .readAux
                let key = try window.readString(maximumLength: options.maximumBlobLength)
                let value = try window.readString(maximumLength: options.maximumBlobLength)
                return .aux(key: RedisBytes(key), value: RedisBytes(value))
            case RDBOpcode.freq.rawValue:
                pendingFreq = try window.readByte()
                pendingKeyStart = pendingKeyStart ?? opStart
            case RDBOpcode.idle.rawValue:
                phase = .readLen
                pendingIdle = try window.readLength()
                pendingKeyStart = pendingKeyStart ?? opStart
            case RDBOpcode.moduleAux.rawValue:
                phase = .readModuleAux
                return .moduleAux(try readModuleAux(at: opStart))
            case RDBOpcode.functionPreGA.rawValue:
                phase = .readFunctions
                return .function(try readFunctionPreGA(at: opStart))
            case RDBOpcode.function2.rawValue:
                phase = .readFunctions
                let code = try window.readString(maximumLength: options.maximumBlobLength)
                return .function(RDBFunctionLibrary(code: RedisBytes(code), isPreGA: false, offset: opStart))
            case RDBOpcode.slotInfo.rawValue:
                phase = .readLen
                let slot = try window.readLength()
                let size = try window.readLength()
                let expires = try window.readLength()
                return .slotInfo(RDBSlotInfo(slot: slot, size: size, expiresSize: expires))
            case RDBOpcode.keyMetaOrSlotImport.rawValue:
                if header.dialect == .valkey {
                    phase = .readAux
                    return .slotImport(try readSlotImport())
                }
                phase = .readType
                pendingMetadata = try readKeyMetadata()
                pendingKeyStart = pendingKeyStart ?? opStart
            case Self.enterpriseRAMLRU where header.dialect == .redis,
                Self.enterpriseSlotNumber where header.dialect == .redis:
                // Redis Enterprise per-key attributes: one length each (`redis/librdb` defines.h).
                phase = .readLen
                _ = try window.readLength()
                pendingKeyStart = pendingKeyStart ?? opStart
            case Self.enterpriseGCAS where header.dialect == .redis, Self.enterpriseGFlags where header.dialect == .redis:
                throw .unsupported("Redis Enterprise opcode \(t) (\(t == Self.enterpriseGCAS ? "GCAS" : "GFLAGS")) has no public layout", at: opStart)
            default:
                let type = RDBValueType(byte: t, dialect: header.dialect)
                try checkObjectType(type, byte: t, at: opStart)
                return .key(try readKeyHeader(type: type, typeOffset: opStart))
            }
        }
    }

    /// Redis Enterprise opcodes seen in its RDB files (`redis/librdb` src/lib/defines.h).
    static let enterpriseGCAS: UInt8 = 101
    static let enterpriseGFlags: UInt8 = 102
    static let enterpriseRAMLRU: UInt8 = 107
    static let enterpriseSlotNumber: UInt8 = 121

    private func checkObjectType(_ type: RDBValueType, byte t: UInt8, at offset: Int64) throws(ParseFailure) {
        if type.isKnown {
            if header.dialect == .valkey && t >= 24 && t <= 28 {
                throw .unsupported("type \(t) is a Redis 7.4+ type, not defined in Valkey RDB files", at: offset)
            }
            if type == .modulePreGA {
                throw .unsupported("module value of a Redis 4.0 release candidate (type 6) cannot be parsed", at: offset)
            }
            if type == .valkeyPathHash {
                throw .unsupported("Valkey 9.2 PATH_HASH values (type 23) are not supported yet", at: offset)
            }
            return
        }
        if (29...35).contains(t) || (0xF0...0xF2).contains(t) {
            throw .unsupported(
                "unknown type or opcode \(t) (\(hexByte(t))): written by a Redis newer than RDB \(Self.newestRedisVersion)",
                at: offset)
        }
        throw .corrupt("unknown type or opcode \(t) (\(hexByte(t)))", at: offset)
    }

    private func readKeyHeader(type: RDBValueType, typeOffset: Int64) throws(ParseFailure) -> RDBKeyHeader {
        phase = .readKey
        if let b = try window.peekByte() { lastKeyStoredRaw = b >> 6 != 3 }
        let key = try window.readString(maximumLength: options.maximumBlobLength)
        var stringEncoding: RDBStringEncoding?
        if type == .string {
            if let b = try window.peekByte(), b >> 6 == 3 {
                stringEncoding = (b & 0x3F) == 3 ? .lzf : .int
            } else {
                stringEncoding = .raw
            }
        }
        let header = RDBKeyHeader(
            db: currentDB, key: RedisBytes(key), valueType: type, stringEncoding: stringEncoding,
            expiresAt: pendingExpire, lruIdleSeconds: pendingIdle, lfuFrequency: pendingFreq,
            metadata: pendingMetadata, offset: pendingKeyStart ?? typeOffset, valueOffset: window.offset)
        pendingExpire = nil
        pendingIdle = nil
        pendingFreq = nil
        pendingMetadata = []
        pendingKeyStart = nil
        currentKey = header
        value = .unread
        pending.removeAll(keepingCapacity: true)
        pendingIndex = 0
        phase = .readObjectValue
        return header
    }

    private func readEnd() throws(ParseFailure) -> RDBChecksum {
        finished = true
        guard header.hasChecksum else { return .absent }
        phase = .checkSum
        var computed = window.checksumming ? window.checksumUpToPosition() : nil
        window.checksumming = false
        if let pc = parallelChecksum {
            guard let c = pc.checksum(upTo: window.offset) else {
                throw ParseFailure(code: .io, message: "reading the file for its checksum failed", offset: window.offset)
            }
            computed = c
            parallelChecksum = nil
        }
        let stored = try window.readUInt64LE()
        if stored == 0 { return .disabled }
        guard let computed else { return .unverified(stored) }
        guard computed == stored else {
            finished = false
            throw ParseFailure(
                code: .checksumMismatch,
                message: "RDB CRC error: stored \(hex64(stored)), computed \(hex64(computed))",
                offset: window.offset - 8)
        }
        return .verified(stored)
    }

    private func readModuleAux(at start: Int64) throws(ParseFailure) -> RDBModuleAux {
        let id = try window.readLength()
        let whenOpcodeOffset = window.offset
        let whenOpcode = try window.readLength()
        guard whenOpcode == 2 else {
            throw .corrupt("module aux: bad when_opcode \(whenOpcode) (expected 2, UINT)", at: whenOpcodeOffset)
        }
        let when = try window.readLength()
        let raw = try captureModuleOpcodes(mode: .validate)
        return RDBModuleAux(type: RedisModuleType(id: id), when: when, raw: raw, offset: start)
    }

    /// Redis 7.0-rc format: name, engine, optional description, code. Rebuilt as a GA library source.
    private func readFunctionPreGA(at start: Int64) throws(ParseFailure) -> RDBFunctionLibrary {
        let name = try window.readString(maximumLength: options.maximumBlobLength)
        let engine = try window.readString(maximumLength: options.maximumBlobLength)
        let hasDescription = try window.readLength()
        var description: RedisBytes?
        if hasDescription != 0 {
            description = RedisBytes(try window.readString(maximumLength: options.maximumBlobLength))
        }
        let code = try window.readString(maximumLength: options.maximumBlobLength)
        let source = Array("#!".utf8) + engine + Array(" name=".utf8) + name + [UInt8(ascii: "\n")] + code
        return RDBFunctionLibrary(code: RedisBytes(source), isPreGA: true, preGADescription: description, offset: start)
    }

    private func readSlotImport() throws(ParseFailure) -> RDBSlotImport {
        let name = try window.readString(maximumLength: options.maximumBlobLength)
        let count = try window.readLength()
        var ranges: [ClosedRange<UInt64>] = []
        var i: UInt64 = 0
        while i < count {
            let rangeOffset = window.offset
            let lo = try window.readLength()
            let hi = try window.readLength()
            guard lo <= hi else { throw .corrupt("slot import range \(lo)-\(hi) is reversed", at: rangeOffset) }
            ranges.append(lo...hi)
            i += 1
        }
        return RDBSlotImport(jobName: RedisBytes(name), ranges: ranges)
    }

    /// RDB 13 KEY_META: a count, then per class a 4-byte class spec (host order, little-endian in
    /// practice) and a module-style opcode stream.
    private func readKeyMetadata() throws(ParseFailure) -> [RDBKeyMetadata] {
        let countOffset = window.offset
        let count = try window.readLength()
        guard count <= 7 else { throw .corrupt("key metadata with \(count) classes (at most 7)", at: countOffset) }
        var out: [RDBKeyMetadata] = []
        for _ in 0..<count {
            let spec = try window.readUInt32LE()
            let raw = try captureModuleOpcodes(mode: .validate)
            out.append(RDBKeyMetadata(classSpec: spec, raw: raw))
        }
        return out
    }

    /// Walks a module opcode stream through its EOF opcode and returns its bytes.
    func captureModuleOpcodes(mode: StepMode) throws(ParseFailure) -> [UInt8] {
        try capturing { () throws(ParseFailure) in try walkModuleOpcodes(mode: mode) }
    }

    /// Runs `body` and returns the input bytes it consumed.
    func capturing(_ body: () throws(ParseFailure) -> Void) throws(ParseFailure) -> [UInt8] {
        _ = window.pin()
        do throws(ParseFailure) {
            try body()
        } catch {
            window.unpin()
            throw error
        }
        return window.unpinCapturing()
    }

    /// Walks a module opcode stream (`rdbLoadCheckModuleValue`): 1 SINT / 2 UINT → length,
    /// 3 FLOAT → 4 bytes, 4 DOUBLE → 8 bytes, 5 STRING → string, 0 EOF.
    func walkModuleOpcodes(mode: StepMode) throws(ParseFailure) {
        while true {
            let opOffset = window.offset
            let op = try window.readLength()
            switch op {
            case 0: return
            case 1, 2: _ = try window.readLength()
            case 3: try window.skip(4)
            case 4: try window.skip(8)
            case 5:
                if mode == .skip {
                    try window.skipString(maximumLength: options.maximumBlobLength)
                } else {
                    try window.validateString(maximumLength: options.maximumBlobLength, scratch: scratch)
                }
            default:
                throw .corrupt("unknown module opcode \(op)", at: opOffset)
            }
        }
    }

    // MARK: Values

    /// The next element of the current key's value, or nil when the value is exhausted.
    ///
    /// Strings give one ``RDBElement/string(_:)``; collections give their elements in file order
    /// (a skiplist zset is stored highest score first); streams give entries, then metadata, then groups.
    /// - Precondition: the last record was ``RDBRecord/key(_:)``.
    public func nextElement() throws(RDBError) -> RDBElement? {
        try guarded { () throws(ParseFailure) -> RDBElement? in
            while true {
                if pendingIndex < pending.count {
                    let e = pending[pendingIndex]
                    pendingIndex += 1
                    return e
                }
                pending.removeAll(keepingCapacity: true)
                pendingIndex = 0
                switch value {
                case .none: return nil
                case .done:
                    value = .none
                    return nil
                default:
                    var sink = OwnedSink(items: [])
                    swap(&sink.items, &pending)
                    defer { swap(&sink.items, &pending) }
                    try step(mode: .materialize, into: &sink)
                }
            }
        }
    }

    /// Reads the current key's whole value.
    /// - Precondition: the last record was ``RDBRecord/key(_:)`` and no element was read yet.
    public func readValue() throws(RDBError) -> RedisValue {
        guard case .unread = value, let type = currentKey?.valueType else {
            preconditionFailure("readValue() must follow a .key record whose value was not read")
        }
        var strings: [RedisBytes] = []
        var zset: [SortedSetEntry] = []
        var fields: [HashField] = []
        var entries: [StreamEntry] = []
        var metadata: StreamMetadata?
        var groups: [StreamConsumerGroup] = []
        var idempotency: StreamIdempotency?
        var array: [RedisArrayElement] = []
        while let e = try nextElement() {
            switch e {
            case .string(let s): return .string(s)
            case .module(let m):
                try skipValue()
                return .module(m)
            case .member(let m): strings.append(m)
            case .sortedSetEntry(let z): zset.append(z)
            case .hashField(let f): fields.append(f)
            case .streamEntry(let s): entries.append(s)
            case .streamMetadata(let m): metadata = m
            case .streamGroup(let g): groups.append(g)
            case .streamIdempotency(let i): idempotency = i
            case .arrayElement(let index, let v): array.append(RedisArrayElement(index: index, value: v))
            }
        }
        switch type.kind {
        case .list: return .list(strings)
        case .set: return .set(strings)
        case .zset: return .sortedSet(zset)
        case .hash: return .hash(fields)
        case .stream:
            return .stream(
                RedisStream(
                    entries: entries, metadata: metadata ?? StreamMetadata(length: 0, lastID: .zero), groups: groups,
                    idempotency: idempotency))
        case .array: return .array(array)
        default: return .string(.empty)
        }
    }

    /// Skips the rest of the current value without decoding it (no LZF, no blob parsing).
    public func skipValue() throws(RDBError) {
        try guarded { () throws(ParseFailure) in try finishValue(mode: .skip) }
    }

    /// Reads the rest of the current value, decoding and checking every part (LZF, compact encodings,
    /// stream structure, with ``Options/validation``), without keeping anything.
    public func validateValue() throws(RDBError) {
        try guarded { () throws(ParseFailure) in try finishValue(mode: .validate) }
    }

    /// The current value's bytes exactly as stored (a DUMP payload without its type byte and footer).
    /// - Precondition: the last record was ``RDBRecord/key(_:)`` and nothing of the value was read.
    public func readRawValue() throws(RDBError) -> [UInt8] {
        guard case .unread = value else {
            preconditionFailure("readRawValue() must follow a .key record whose value was not read")
        }
        return try guarded { () throws(ParseFailure) -> [UInt8] in
            try capturing { () throws(ParseFailure) in try finishValue(mode: .skip) }
        }
    }

    /// Streams the current key's value bytes as read into `sink`, without decoding and with a bounded
    /// buffer whatever the value's size (the fast path of rewrites).
    /// - Precondition: the last record was a ``RDBRecord/key(_:)`` whose value was not read.
    func teeRawValue(into sink: any ByteTee) throws(RDBError) {
        guard case .unread = value else {
            preconditionFailure("teeRawValue(into:) must follow a .key record whose value was not read")
        }
        try guarded { () throws(ParseFailure) in
            window.startTee(sink)
            do throws(ParseFailure) {
                try finishValue(mode: .skip)
            } catch {
                window.cancelTee()
                throw error
            }
            window.endTee()
        }
    }

    /// For a string value whose record was just returned: its length and whether its text is a
    /// canonical 64-bit integer (what the server stores as an `int` object), without decompressing an
    /// LZF string (such a string is longer than 20 bytes, so never an integer; its bytes are then not
    /// checked, the CRC64 still covers them).
    /// - Precondition: the last record was a string ``RDBRecord/key(_:)`` and nothing of it was read.
    public func measureStringValue() throws(RDBError) -> (length: Int, isInteger: Bool) {
        guard case .unread = value, currentKey?.valueType == .string else {
            preconditionFailure("measureStringValue() must follow a .key record of a string whose value was not read")
        }
        let maxLen = options.maximumBlobLength
        return try guarded { () throws(ParseFailure) -> (Int, Bool) in
            let result: (Int, Bool)
            switch try window.readStringHeader(maximumLength: maxLen) {
            case .int(let v):
                result = (RedisInteger.text(v).count, true)
            case .lzf(let clen, let ulen):
                try window.skip(Int64(clen))
                result = (ulen, false)
            case .raw(let n):
                if n <= 20 {
                    let b = try window.readBytes(n)
                    result = (n, RedisInteger.parse(b) != nil)
                } else {
                    try window.skip(Int64(n))
                    result = (n, false)
                }
            }
            value = .done
            return result
        }
    }

    func finishValue(mode: StepMode) throws(ParseFailure) {
        var sink = NullSink()
        try finishValue(mode: mode, into: &sink)
    }

    func finishValue<S: ElementSink>(mode: StepMode, into sink: inout S) throws(ParseFailure) {
        pending.removeAll(keepingCapacity: true)
        pendingIndex = 0
        while true {
            switch value {
            case .none: return
            case .done:
                value = .none
                return
            default: try step(mode: mode, into: &sink)
            }
        }
    }
}

func hex64(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 16 - s.count)) + s
}
