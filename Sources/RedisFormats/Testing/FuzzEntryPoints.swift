/// Entry points that drive this module's decoders over arbitrary bytes: the libFuzzer targets in
/// `Sources/Fuzz/` (run by `scripts/fuzz.sh`) call them, and so do the regression tests that replay what
/// fuzzing found.
///
/// Each function feeds `bytes` through every reading path of one format, with structural and with deep
/// validation, and discards what it reads. Errors are the expected outcome for most inputs and are
/// swallowed. A crash, a hang, or an allocation far larger than the input is a bug.
///
/// ```swift
/// RedisFormatsFuzzing.readRDB(Array("REDIS0011\u{FF}".utf8))   // returns, whatever the bytes
/// RedisFormatsFuzzing.run(.listpack, bytes)
/// ```
public enum RedisFormatsFuzzing {
    /// A fuzz target: one format or decoder.
    public enum Target: String, Sendable, CaseIterable {
        case rdb, aof, listpack, ziplist, intset, zipmap, lzf
    }

    /// Runs the entry point of `target` on `bytes`.
    public static func run(_ target: Target, _ bytes: [UInt8]) {
        switch target {
        case .rdb: readRDB(bytes)
        case .aof: readAOF(bytes)
        case .listpack: listpack(bytes)
        case .ziplist: ziplist(bytes)
        case .intset: intset(bytes)
        case .zipmap: zipmap(bytes)
        case .lzf: lzf(bytes)
        }
    }

    // MARK: RDB

    /// The framing of one walk over an RDB (see ``framing(_:chunkSize:buffered:)``).
    public struct RDBFraming: Equatable, CustomStringConvertible, Sendable {
        public var keys = 0
        public var records = 0
        public var outcome = ""
        public var endOffset: Int64 = 0
        /// How many keys were skipped in the buffer (not compared).
        public var bufferedKeys = 0

        public static func == (a: Self, b: Self) -> Bool {
            a.keys == b.keys && a.records == b.records && a.outcome == b.outcome && a.endOffset == b.endOffset
        }

        public var description: String { "\(keys) keys, \(records) other records, ended at \(endOffset): \(outcome)" }
    }

    /// Reads `bytes` as an RDB file six times (and walks its framing twice more, comparing the scanner's
    /// buffered skipping with the reader's): every record, and every value read whole
    /// (``RDBReader/readValue()``), element by element then visited or skipped by ``RDBReader/next()``,
    /// validated (``RDBReader/validateValue()``), skipped (``RDBReader/skipValue()``), captured raw
    /// (``RDBReader/readRawValue()``, ``RDBReader/readValidatedRawValue()``), and checked as ``RDBChecker``
    /// does. Sources of known and unknown
    /// size, small input chunks and small reader chunks, structural and deep validation.
    public static func readRDB(_ bytes: [UInt8]) {
        var structure = RDBReader.Options()
        structure.chunkSize = 64
        var deep = structure
        deep.validation = .deep
        var deepUnverified = deep
        deepUnverified.verifiesChecksum = false

        readRDB(MemorySource(bytes), structure, .whole)
        readRDB(UnsizedSource(bytes, chunkLimit: 7), deepUnverified, .elements)
        readRDB(MemorySource(bytes, chunkLimit: 3), deep, .validate)
        var bigChunks = structure
        bigChunks.chunkSize = 4096
        readRDB(MemorySource(bytes), bigChunks, .skip)
        readRDB(UnsizedSource(bytes, chunkLimit: 1), structure, .raw)
        check(MemorySource(bytes), deep)
        for chunkSize in [64, 4096] {
            let a = framing(bytes, chunkSize: chunkSize, buffered: false)
            let b = framing(bytes, chunkSize: chunkSize, buffered: true)
            precondition(a == b, "skipping keys in the buffer changed the framing: \(b) instead of \(a)")
            let (reference, buffered) = checkReports(bytes, chunkSize: chunkSize)
            precondition(reference == buffered, "checking strings in the buffer changed the report: \(buffered) instead of \(reference)")
        }
    }

    /// The deep check's report on `bytes`, summarised as text, read record by record through
    /// ``RDBReader/next()`` and with string records checked in the input buffer (as `rdbkit check` does);
    /// the two must be equal. Expiries are judged against 2023-11-14 (some corpus keys are past it).
    public static func checkReports(_ bytes: [UInt8], chunkSize: Int) -> (reference: String, buffered: String) {
        func summary(_ buffered: Bool) -> String {
            var options = RDBReader.Options()
            options.chunkSize = chunkSize
            options.validation = .deep
            do {
                let reader = try RDBReader(source: MemorySource(bytes), options: options)
                let r = RDBChecker.check(reader, continueAfterErrors: true, now: 1_700_000_000_000, bufferedStrings: buffered)
                return "\(r.keys) keys, \(r.expires) expires, \(r.alreadyExpired) expired, \(r.keysWithFieldTTLs) with field TTLs, "
                    + "\(r.auxFields) aux, \(r.functions) functions, \(r.moduleAux) module aux, dbs \(r.databases.sorted()), "
                    + "checksum \(r.checksum.map { "\($0)" } ?? "none"), end \(r.endOffset), "
                    + "problems \(r.problems.map { "\($0.recoverable) \($0.error)" }), warnings \(r.warnings)"
            } catch {
                return "header: \(error)"
            }
        }
        return (summary(false), summary(true))
    }

    /// What a scanner sees of an RDB's framing: the keys and records read, the checksum or the error
    /// that ended the walk, and where it ended. With `buffered`, key records are skipped in the input
    /// buffer (``RDBReader/skipBufferedKeys(until:)``, as the parallel check's scanner does) wherever
    /// possible; the result must be the same as skipping each value after ``RDBReader/next()``.
    public static func framing(_ bytes: [UInt8], chunkSize: Int, buffered: Bool) -> RDBFraming {
        var result = RDBFraming()
        var options = RDBReader.Options()
        options.chunkSize = chunkSize
        do {
            let reader = try RDBReader(source: MemorySource(bytes), options: options)
            defer { result.endOffset = reader.offset }
            while true {
                if buffered {
                    // Stops every 100 bytes, as the scanner stops at its segment boundaries.
                    let n = reader.skipBufferedKeys(until: reader.offset + 100)
                    result.keys += n
                    result.bufferedKeys += n
                }
                guard let record = try reader.next() else { break }
                switch record {
                case .key:
                    result.keys += 1
                    try reader.skipValue()
                case .end(let c):
                    result.outcome = "end \(c)"
                default:
                    result.records += 1
                }
            }
        } catch {
            result.outcome = error.description
        }
        return result
    }

    /// How a fuzzing pass reads each value.
    enum ValueReading {
        case whole, elements, validate, skip, raw
    }

    static func readRDB(_ source: any ByteSource, _ options: RDBReader.Options, _ values: ValueReading) {
        do {
            let reader = try RDBReader(source: source, options: options)
            var keys = 0
            while let record = try reader.next() {
                switch record {
                case .key:
                    keys += 1
                    try readValue(reader, values, index: keys)
                case .end:
                    _ = try reader.hasTrailingData()
                default:
                    break
                }
            }
        } catch {
            _ = error.description
        }
    }

    private static func readValue(_ reader: RDBReader, _ values: ValueReading, index: Int) throws(RDBError) {
        switch values {
        case .whole:
            _ = try reader.readValue()
        case .elements:
            // A few elements, then the rest visited or left for next() to skip.
            var n = 0
            while n < 3, try reader.nextElement() != nil { n += 1 }
            if index % 2 == 0 { try reader.visitValue(DiscardingVisitor()) }
        case .validate:
            try reader.validateValue()
        case .skip:
            try reader.skipValue()
        case .raw:
            switch index % 3 {
            case 0: _ = try reader.readRawValue()
            case 1: _ = try reader.readValidatedRawValue()
            default: try reader.validateValue()
            }
        }
    }

    static func check(_ source: any ByteSource, _ options: RDBReader.Options) {
        do {
            let reader = try RDBReader(source: source, options: options)
            let report = RDBChecker.check(reader, continueAfterErrors: true, now: 0)
            for p in report.problems { _ = p.error.description }
        } catch {
            _ = error.description
        }
    }

    /// Reads an RDB built around one fuzzed value: whole, validated deeply, and checked.
    static func readWrapped(_ rdb: [UInt8]) {
        var structure = RDBReader.Options()
        structure.chunkSize = 64
        var deep = structure
        deep.validation = .deep
        readRDB(MemorySource(rdb), structure, .whole)
        readRDB(MemorySource(rdb, chunkLimit: 5), deep, .validate)
        check(MemorySource(rdb), deep)
    }

    // MARK: AOF

    /// Scans `bytes` as one AOF file as `redis-check-aof` does (an RDB preamble first when the bytes
    /// start with an RDB magic), capturing arguments from a source of known size, then counting only from a
    /// source of unknown size with a timestamp limit; also parses them as a manifest.
    public static func readAOF(_ bytes: [UInt8]) {
        scanAOF(bytes, MemorySource(bytes), captureArguments: true, maximumBulkLength: 512 << 20, timestampLimit: nil)
        scanAOF(
            bytes, UnsizedSource(bytes, chunkLimit: 5), captureArguments: false, maximumBulkLength: 1 << 16,
            timestampLimit: 1_700_000_000)
        if let manifest = try? AOFManifest.parse(bytes) {
            _ = manifest.loadOrder
            _ = try? AOFManifest.parse(manifest.serialized())
        }
    }

    private static func scanAOF(
        _ bytes: [UInt8], _ source: any ByteSource, captureArguments: Bool, maximumBulkLength: Int64,
        timestampLimit: Int64?
    ) {
        let window = InputWindow(source: source, chunkSize: 64)
        do {
            // As AOFReader does: an RDB part first, read to its end.
            let magic = bytes.prefix(9)
            if magic.count >= 8 && (magic.starts(with: Array("REDIS".utf8)) || magic.starts(with: Array("VALKEY".utf8))) {
                window.startChecksum(fromAbsoluteOffset: 0)
                var options = RDBReader.Options()
                options.validation = .deep
                let reader = try RDBReader(window: window, options: options, name: "<fuzz>")
                while let record = try reader.next() {
                    if case .key = record { _ = try reader.readValue() }
                }
                window.checksumming = false
            }
            var scanner = AOFScanner(
                window: window, file: "<fuzz>", size: Int64(bytes.count), captureArguments: captureArguments,
                maximumBulkLength: maximumBulkLength, timestampLimit: timestampLimit)
            scan: while true {
                switch try scanner.step() {
                case .command(_, _, let argv):
                    if let argv, argv.count == 2, AOFScanner.equalsIgnoringCase(argv[0].bytes, "select") {
                        _ = argv[1].int64Value
                    }
                case .annotation(_, let line):
                    if line.starts(with: Array("#TS:".utf8)) { _ = AOFScanner.strtol(line, from: 4) }
                case .end:
                    break scan
                }
            }
            let analysis = scanner.analysis
            _ = (analysis.isValid, analysis.diff)
        } catch {
            _ = "\(error)"
        }
    }

    // MARK: Compact encodings

    /// Iterates `bytes` as a listpack (structural and deep checks), then reads it as the value of a
    /// hash, zset and set listpack, a hash listpack-ex, a quicklist-v2 node and a stream node.
    public static func listpack(_ bytes: [UInt8]) {
        unsafe bytes.withUnsafeBytes { blob in
            for deep in [false, true] {
                do throws(BlobFailure) {
                    var it = try unsafe ListpackIterator(blob, deep: deep)
                    while let v = try it.next() { touch(v) }
                } catch {
                    _ = error.message
                }
                _ = try? unsafe Listpack.forEach(blob, deep: deep) { (v: PackedValue) in touch(v) }
            }
        }
        for type: RDBValueType in [.hashListpack, .zsetListpack, .setListpack] {
            var rdb = MiniRDB(version: 11)
            rdb.key(type)
            rdb.string(bytes)
            readWrapped(rdb.finish())
        }
        var ex = MiniRDB(version: 12)
        ex.key(.hashListpackEx)
        ex.uint64LE(1_700_000_000_000)
        ex.string(bytes)
        readWrapped(ex.finish())

        var quicklist = MiniRDB(version: 11)
        quicklist.key(.listQuicklist2)
        quicklist.length(1)
        quicklist.length(2)  // packed container
        quicklist.string(bytes)
        readWrapped(quicklist.finish())

        var stream = MiniRDB(version: 11)
        stream.key(.streamListpacks2)
        stream.length(1)
        stream.string([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])  // master ID 1-0
        stream.string(bytes)
        for _ in 0..<8 { stream.length(0) }  // length, last ID, first ID, max-deleted ID, entries added
        stream.length(0)  // groups
        readWrapped(stream.finish())
    }

    /// Iterates `bytes` as a ziplist (structural and deep checks), then reads it as the value of a
    /// list, zset and hash ziplist and a quicklist (v1) node.
    public static func ziplist(_ bytes: [UInt8]) {
        unsafe bytes.withUnsafeBytes { blob in
            for deep in [false, true] {
                do throws(BlobFailure) {
                    var it = try unsafe ZiplistIterator(blob, deep: deep)
                    while let v = try it.next() { touch(v) }
                } catch {
                    _ = error.message
                }
            }
        }
        for type: RDBValueType in [.listZiplist, .zsetZiplist, .hashZiplist] {
            var rdb = MiniRDB(version: 9)
            rdb.key(type)
            rdb.string(bytes)
            readWrapped(rdb.finish())
        }
        var quicklist = MiniRDB(version: 9)
        quicklist.key(.listQuicklist)
        quicklist.length(1)
        quicklist.string(bytes)
        readWrapped(quicklist.finish())
    }

    /// Iterates `bytes` as an intset (structural and deep checks), then reads it as a set value.
    public static func intset(_ bytes: [UInt8]) {
        unsafe bytes.withUnsafeBytes { blob in
            for deep in [false, true] {
                _ = try? unsafe Intset.forEach(blob, deep: deep) { (v: Int64) in _ = RedisInteger.text(v) }
            }
        }
        var rdb = MiniRDB(version: 9)
        rdb.key(.setIntset)
        rdb.string(bytes)
        readWrapped(rdb.finish())
    }

    /// Iterates `bytes` as a zipmap (structural and deep checks), then reads it as a hash value.
    public static func zipmap(_ bytes: [UInt8]) {
        unsafe bytes.withUnsafeBytes { blob in
            for deep in [false, true] {
                _ = try? unsafe Zipmap.forEach(blob, deep: deep) { (f: UnsafeRawBufferPointer, v: UnsafeRawBufferPointer) in
                    _ = unsafe (RawBytes.copy(f), RawBytes.copy(v))
                }
            }
        }
        var rdb = MiniRDB(version: 3)
        rdb.key(.hashZipmap)
        rdb.string(bytes)
        readWrapped(rdb.finish())
    }

    /// Decompresses `bytes[3...]` with LZF into the 24-bit little-endian length in `bytes[0..<3]`:
    /// directly, as an LZF-encoded RDB string value, and as one whose file ends inside the compressed
    /// bytes (the value declares as many compressed bytes as uncompressed ones); then checks that
    /// compressing `bytes[3...]` and decompressing the result gives it back, and that the walk of
    /// `LZF.validate` and rdbkit's decoder give liblzf's lzf_decompress verdict and bytes (a mismatch traps).
    public static func lzf(_ bytes: [UInt8]) {
        guard bytes.count >= 3 else { return }
        let length = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16
        let data = Array(bytes[3...])
        let decompressed = LZF.decompress(data, uncompressedLength: length)
        let valid = unsafe data.withUnsafeBytes { unsafe LZF.validate($0, length: length) }
        precondition(valid == (decompressed != nil), "LZF.validate disagrees with the decoder on \(data.count) bytes")
        precondition(lzfDecodersAgree(data, length: length), "the LZF decoder differs from liblzf's lzf_decompress")
        if !data.isEmpty {
            var rdb = MiniRDB(version: 9)
            rdb.key(.string)
            rdb.bytes.append(0xC3)  // 11|000011: LZF-compressed string
            rdb.length(data.count)
            rdb.length(length)
            rdb.bytes += data
            readWrapped(rdb.finish())
        }
        if length > data.count {
            var cut = MiniRDB(version: 9)
            cut.key(.string)
            cut.bytes.append(0xC3)
            cut.length(length)
            cut.length(length)
            cut.bytes += data
            readWrapped(cut.bytes)
        }
        if let compressed = LZF.compress(data, maximumOutput: data.count + data.count / 16 + 64) {
            let back = LZF.decompress(compressed, uncompressedLength: data.count)
            precondition(back == data, "LZF round trip of \(data.count) bytes gave different bytes")
        }
    }

    /// Whether rdbkit's LZF decoder and liblzf's `lzf_decompress` give the same verdict on `data` for an
    /// output of `length` bytes, and the same bytes when it decodes.
    public static func lzfDecodersAgree(_ data: [UInt8], length: Int) -> Bool {
        let ours = LZF.decompress(data, uncompressedLength: length)
        guard length <= data.count * LZF.maximumExpansion else { return ours == nil }
        var reference = [UInt8](repeating: 0, count: length)
        let referenceValid = unsafe data.withUnsafeBytes { src in
            unsafe reference.withUnsafeMutableBytes { unsafe LZF.decompressWithLiblzf(src, into: $0) }
        }
        return referenceValid ? ours == reference : ours == nil
    }

    @inline(never)
    static func touch(_ v: PackedValue) {
        _ = v.redisBytes
        _ = v.integerValue
        _ = v.doubleValue
    }

    // MARK: Seeds

    /// A fuzzing input derived from a real file.
    public struct Seed: Sendable, Hashable {
        public var target: Target
        public var bytes: [UInt8]
        /// Where the seed comes from (`REDIS0011 type 16 expire`, `listpack of type 18`): seeds of one
        /// shape mostly exercise the same paths.
        public var shape: String
        public init(target: Target, bytes: [UInt8], shape: String) {
            self.target = target
            self.bytes = bytes
            self.shape = shape
        }
    }

    /// Inputs for every target cut out of an RDB file: for each key an RDB holding only that key (its
    /// header, record and value bytes as stored, then EOF and a zero checksum); the listpacks, ziplists
    /// and intsets its values are stored in; zipmaps re-encoding its small hashes (no server since 2.4
    /// writes them); and its LZF-compressed strings (as ``lzf(_:)`` takes them).
    /// - Complexity: O(n) in the size of the file; reading stops at its first error.
    public static func seeds(fromRDB bytes: [UInt8]) -> [Seed] {
        var out: [Seed] = []
        guard bytes.count >= 9 else { return out }
        var options = RDBReader.Options()
        options.verifiesChecksum = false
        do {
            let reader = try RDBReader(source: MemorySource(bytes), options: options)
            while let record = try reader.next() {
                guard case .key(let header) = record else { continue }
                let raw = try reader.readRawValue()
                var rdb = Array(bytes[0..<9]) + bytes[Int(header.offset)..<Int(header.valueOffset)] + raw + [0xFF]
                if reader.header.hasChecksum { rdb += [UInt8](repeating: 0, count: 8) }
                let shape = "\(reader.header.magic) type \(header.valueType.rawValue)"
                    + (header.expiresAt == nil ? "" : " expire") + (header.metadata.isEmpty ? "" : " metadata")
                    + (header.lruIdleSeconds == nil && header.lfuFrequency == nil ? "" : " lru/lfu")
                    + (header.stringEncoding.map { " \($0)" } ?? "")
                out.append(Seed(target: .rdb, bytes: rdb, shape: shape))
                do {
                    try blobSeeds(type: header.valueType, raw: raw, into: &out)
                } catch {
                    // A value the reader read is well-formed; a short one ends here.
                }
            }
        } catch {
            // Seeds found before the error are kept.
        }
        return out
    }

    private static func blobSeeds(type: RDBValueType, raw: [UInt8], into out: inout [Seed]) throws(ParseFailure) {
        let w = InputWindow(source: MemorySource(raw), chunkSize: 4096)
        func seed(_ target: Target, _ bytes: [UInt8]) -> Seed {
            Seed(target: target, bytes: bytes, shape: "\(target.rawValue) of type \(type.rawValue)")
        }
        func blob() throws(ParseFailure) -> [UInt8] {
            if try w.peekByte() == 0xC3 {
                _ = try w.readByte()
                let clen = Int(try w.readLength())
                let ulen = Int(try w.readLength())
                let data = try w.readBytes(clen)
                if ulen < 1 << 24 {
                    out.append(seed(.lzf, [UInt8(ulen & 0xFF), UInt8(ulen >> 8 & 0xFF), UInt8(ulen >> 16)] + data))
                }
                return LZF.decompress(data, uncompressedLength: ulen) ?? []
            }
            return try w.readString(maximumLength: 1 << 30)
        }
        switch type {
        case .string:
            _ = try blob()
        case .listZiplist, .zsetZiplist, .hashZiplist:
            let b = try blob()
            out.append(seed(.ziplist, b))
            if type == .hashZiplist { out.append(seed(.zipmap, zipmap(pairsOf: b, ziplist: true))) }
        case .setIntset:
            out.append(seed(.intset, try blob()))
        case .hashListpack, .zsetListpack, .setListpack, .hashListpackEx, .hashListpackExPreGA:
            if type == .hashListpackEx { _ = try w.readUInt64LE() }
            let b = try blob()
            out.append(seed(.listpack, b))
            if type == .hashListpack { out.append(seed(.zipmap, zipmap(pairsOf: b, ziplist: false))) }
        case .listQuicklist:
            let n = try w.readLength()
            for _ in 0..<min(n, 4) { out.append(seed(.ziplist, try blob())) }
        case .listQuicklist2:
            let n = try w.readLength()
            for _ in 0..<min(n, 4) {
                let container = try w.readLength()
                let b = try blob()
                if container == 2 { out.append(seed(.listpack, b)) }
            }
        case .streamListpacks, .streamListpacks2, .streamListpacks3, .streamListpacks4, .streamListpacks5:
            let n = try w.readLength()
            for _ in 0..<min(n, 4) {
                _ = try blob()  // node key
                out.append(seed(.listpack, try blob()))
            }
        default:
            break
        }
    }

    /// A zipmap holding the field/value pairs of a hash ziplist or listpack (every third value with a
    /// free byte, as `zipmapSet` leaves after shrinking a value).
    private static func zipmap(pairsOf blob: [UInt8], ziplist: Bool) -> [UInt8] {
        var items: [[UInt8]] = []
        unsafe blob.withUnsafeBytes { p in
            if ziplist {
                guard var it = try? unsafe ZiplistIterator(p, deep: false) else { return }
                while let v = try? it.next() { items.append(v.redisBytes.bytes) }
            } else {
                guard var it = try? unsafe ListpackIterator(p, deep: false) else { return }
                while let v = try? it.next() { items.append(v.redisBytes.bytes) }
            }
        }
        let pairs = items.count / 2
        var z: [UInt8] = [UInt8(min(pairs, 254))]
        func length(_ n: Int) {
            if n < 254 {
                z.append(UInt8(n))
            } else {
                z.append(254)
                withUnsafeBytes(of: UInt32(n).littleEndian) { z += $0 }
            }
        }
        for i in 0..<pairs {
            let free = i % 3 == 2 ? 1 : 0
            length(items[2 * i].count)
            z += items[2 * i]
            length(items[2 * i + 1].count)
            z.append(UInt8(free))
            z += items[2 * i + 1]
            z += [UInt8](repeating: 0, count: free)
        }
        z.append(0xFF)
        return z
    }
}

extension RedisFormatsFuzzing {
    /// An RDB file of one key `k` whose value the caller writes (lengths as `rdbSaveLen` writes them).
    struct MiniRDB {
        var bytes: [UInt8]

        init(version: Int) {
            let digits = Array(String(version).utf8)
            bytes = Array("REDIS".utf8) + [UInt8](repeating: 0x30, count: 4 - digits.count) + digits
            hasChecksum = version >= 5
        }

        private let hasChecksum: Bool

        mutating func key(_ type: RDBValueType) {
            bytes.append(UInt8(truncatingIfNeeded: type.rawValue))
            string([0x6B])
        }

        mutating func length(_ n: Int) {
            if n < 64 {
                bytes.append(UInt8(n))
            } else if n < 16384 {
                bytes += [0x40 | UInt8(n >> 8), UInt8(n & 0xFF)]
            } else if n <= Int(UInt32.max) {
                bytes.append(0x80)
                withUnsafeBytes(of: UInt32(n).bigEndian) { bytes += $0 }
            } else {
                bytes.append(0x81)
                withUnsafeBytes(of: UInt64(n).bigEndian) { bytes += $0 }
            }
        }

        mutating func string(_ s: [UInt8]) {
            length(s.count)
            bytes += s
        }

        mutating func uint64LE(_ v: UInt64) {
            withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
        }

        /// EOF and, from RDB 5, a zero checksum (not verified).
        func finish() -> [UInt8] {
            bytes + [0xFF] + (hasChecksum ? [UInt8](repeating: 0, count: 8) : [])
        }
    }

    /// A source that hides its size, as a pipe or a socket does, delivering at most `chunkLimit` bytes a read.
    final class UnsizedSource: ByteSource {
        private let bytes: [UInt8]
        private var position = 0
        private let chunkLimit: Int
        let name = "<unsized>"
        var knownSize: Int64? { nil }

        init(_ bytes: [UInt8], chunkLimit: Int) {
            self.bytes = bytes
            self.chunkLimit = max(1, chunkLimit)
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws(RDBError) -> Int {
            let n = min(buffer.count, chunkLimit, bytes.count - position)
            guard n > 0 else { return 0 }
            unsafe bytes.withUnsafeBytes { src in
                unsafe buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
            }
            position += n
            return n
        }
    }

    /// Visits and drops every part of a value.
    final class DiscardingVisitor: RDBValueVisitor {
        func visitString(_ bytes: RawSpan) {}
        func visitMember(_ bytes: RawSpan) {}
        func visitSortedSetEntry(member: RawSpan, score: Double) {}
        func visitHashField(_ field: RawSpan, value: RawSpan, expiresAt: RedisTimestamp?) {}
        func visitElement(_ element: RDBElement) {}
    }
}
