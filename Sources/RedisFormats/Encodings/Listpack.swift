/// An element of a compact encoding (listpack, ziplist, intset, zipmap), borrowed from its blob.
enum PackedValue {
    case int(Int64)
    case bytes(UnsafeRawBufferPointer)

    /// The element as Redis materialises it: integers become their decimal text.
    @inline(__always) var redisBytes: RedisBytes {
        switch self {
        case .int(let v): RedisBytes(RedisInteger.text(v))
        case .bytes(let p): unsafe RawBytes.copy(p)
        }
    }

    /// The element as an integer, when it is stored as one or is text that `string2ll` accepts.
    var integerValue: Int64? {
        switch self {
        case .int(let v): v
        case .bytes(let p): unsafe RedisInteger.parse(p)
        }
    }

    /// The element as a zset score: an integer, or text parsed with `strtod` semantics.
    var doubleValue: Double? {
        switch self {
        case .int(let v): Double(v)
        case .bytes(let p): unsafe RawBytes.parseDouble(p)
        }
    }
}

/// Listpack blobs (`listpack.c`): types 16, 17, 20, 25, quicklist-v2 packed nodes and stream nodes.
///
/// ```
/// u32le total_bytes | u16le num_elements (0xFFFF = unknown) | entry… | FF
/// entry = encoding+data | backlen (1–5 bytes, read right to left)
/// 0xxxxxxx          7-bit uint         10xxxxxx         6-bit-length string
/// 110xxxxx yyyyyyyy 13-bit int         1110xxxx yyyyyyyy 12-bit-length string
/// F0 u32le          32-bit-length str  F1/F2/F3/F4       int16/24/32/64 LE
/// ```
enum Listpack {
    static let headerSize = 6

    /// Size of the back-length for an entry of `l` bytes. Mirrors `lpEncodeBacklen`'s thresholds.
    @inline(__always) static func backlenBytes(_ l: Int) -> Int {
        if l <= 127 { return 1 }
        if l < 16383 { return 2 }
        if l < 2_097_151 { return 3 }
        if l < 268_435_455 { return 4 }
        return 5
    }

    /// Reads a back-length right to left from its last byte. Mirrors `lpDecodeBacklen`.
    static func decodeBacklen(_ c: ByteCursor, lastByte: Int) -> Int {
        var value = 0
        var shift = 0
        var i = lastByte
        while i >= 0 {
            let b = c.byte(at: i)
            value |= Int(b & 127) << shift
            if b & 128 == 0 { break }
            shift += 7
            i -= 1
            if shift > 28 { break }
        }
        return value
    }

    /// Walks every entry (see ``ListpackIterator``).
    /// - Returns: the number of entries.
    @discardableResult
    static func forEach<E: Error>(
        _ blob: UnsafeRawBufferPointer, deep: Bool, _ body: (PackedValue) throws(E) -> Void
    ) throws(BlobFailure) -> Result<Int, E> {
        var it = try unsafe ListpackIterator(blob, deep: deep)
        while let v = try it.next() {
            do { try body(v) } catch { return .failure(error) }
        }
        return .success(it.count)
    }
}

/// Iterates the entries of a listpack blob, checking structure (declared size, entry bounds, encodings,
/// terminator) always and, with `deep`, back-lengths and the declared count. Mirrors `lpValidateIntegrity`
/// and `lpValidateNext`.
struct ListpackIterator {
    private var c: ByteCursor
    private let deep: Bool
    private let end: Int
    private let declared: Int
    /// Entries returned so far.
    private(set) var count = 0
    /// Blob offset of the entry returned last.
    private(set) var entryStart = 0

    init(_ blob: UnsafeRawBufferPointer, deep: Bool) throws(BlobFailure) {
        c = unsafe ByteCursor(blob)
        self.deep = deep
        guard blob.count >= Listpack.headerSize + 1 else {
            throw BlobFailure(message: "listpack of \(blob.count) bytes is shorter than its header", position: 0)
        }
        let total = Int(c.uint32LE(at: 0))
        guard total == blob.count else {
            throw BlobFailure(message: "listpack header says \(total) bytes, the blob has \(blob.count)", position: 0)
        }
        guard c.byte(at: blob.count - 1) == 0xFF else {
            throw BlobFailure(message: "listpack does not end with FF", position: blob.count - 1)
        }
        declared = Int(c.uint16LE(at: 4))
        end = blob.count - 1
        c.position = Listpack.headerSize
    }

    /// The next entry, or nil after the last one (when the declared count is also checked).
    @inline(__always)
    mutating func next() throws(BlobFailure) -> PackedValue? {
        guard c.position < end else {
            if deep && declared != 0xFFFF && declared != count {
                throw BlobFailure(message: "listpack header counts \(declared) entries, found \(count)", position: 4)
            }
            return nil
        }
        let start = c.position
        let b0 = c.byte(at: start)
        var headerLen = 1
        var dataLen = 0
        let value: PackedValue
        switch b0 {
        case 0x00...0x7F:
            value = .int(Int64(b0))
        case 0x80...0xBF:
            dataLen = Int(b0 & 0x3F)
            try c.need(1 + dataLen, "listpack string entry")
            value = unsafe .bytes(c.slice(start + 1, dataLen))
        case 0xC0...0xDF:
            headerLen = 2
            try c.need(2, "listpack 13-bit integer")
            var v = Int64((Int(b0 & 0x1F) << 8) | Int(c.byte(at: start + 1)))
            if v >= 4096 { v -= 8192 }
            value = .int(v)
        case 0xE0...0xEF:
            headerLen = 2
            try c.need(2, "listpack 12-bit string length")
            dataLen = (Int(b0 & 0x0F) << 8) | Int(c.byte(at: start + 1))
            try c.need(2 + dataLen, "listpack string entry")
            value = unsafe .bytes(c.slice(start + 2, dataLen))
        case 0xF0:
            headerLen = 5
            try c.need(5, "listpack 32-bit string length")
            dataLen = Int(c.uint32LE(at: start + 1))
            try c.need(5 + dataLen, "listpack string entry")
            value = unsafe .bytes(c.slice(start + 5, dataLen))
        case 0xF1, 0xF2, 0xF3, 0xF4:
            let width = b0 == 0xF1 ? 2 : b0 == 0xF2 ? 3 : b0 == 0xF3 ? 4 : 8
            headerLen = 1 + width
            try c.need(headerLen, "listpack integer")
            value = .int(c.intLE(at: start + 1, width: width))
        default:
            throw BlobFailure(message: "invalid listpack entry encoding \(hexByte(b0))", position: start)
        }
        let entryLen = headerLen + dataLen
        let backlenSize = Listpack.backlenBytes(entryLen)
        guard entryLen + backlenSize <= end - start else {
            throw BlobFailure(message: "listpack entry runs past the end of its blob", position: start)
        }
        if deep {
            let decoded = Listpack.decodeBacklen(c, lastByte: start + entryLen + backlenSize - 1)
            if decoded != entryLen {
                throw BlobFailure(
                    message: "listpack back-length \(decoded) does not match the entry size \(entryLen)",
                    position: start + entryLen)
            }
        }
        c.position = start + entryLen + backlenSize
        entryStart = start
        count += 1
        return value
    }

    /// The next entry, which must exist (`what` names it in the error).
    @inline(__always)
    mutating func require(_ what: @autoclosure () -> String) throws(BlobFailure) -> PackedValue {
        guard let v = try next() else {
            throw BlobFailure(message: "listpack ends before \(what())", position: c.position)
        }
        return v
    }

    /// The next entry as an integer.
    @inline(__always)
    mutating func requireInt(_ what: @autoclosure () -> String) throws(BlobFailure) -> Int64 {
        let start = c.position
        guard let v = try require(what()).integerValue else {
            throw BlobFailure(message: "\(what()) is not an integer", position: start)
        }
        return v
    }
}

/// `0x1F` → `"0x1F"`.
func hexByte(_ b: UInt8) -> String {
    let digits = Array("0123456789ABCDEF".utf8)
    return "0x" + String(decoding: [digits[Int(b >> 4)], digits[Int(b & 15)]], as: UTF8.self)
}

/// Ziplist blobs (`ziplist.c`): types 10, 12, 13 and quicklist v1 nodes.
///
/// ```
/// u32le zlbytes | u32le zltail | u16le zllen (0xFFFF = unknown) | entry… | FF
/// entry = prevlen (1 byte < 254, or FE u32le) | encoding | data
/// 00pppppp str ≤63 · 01pppppp qqqqqqqq str 14-bit BE · 10______ u32be str
/// C0 int16 · D0 int32 · E0 int64 · F0 int24 · FE int8 · F1–FD immediate 0–12
/// ```
enum Ziplist {
    static let headerSize = 10
}

/// Iterates the entries of a ziplist blob, checking structure always and, with `deep`, prevlen chains,
/// the tail offset and the declared count. Mirrors `ziplistValidateIntegrity` / `zipEntrySafe`.
struct ZiplistIterator {
    private var c: ByteCursor
    private let deep: Bool
    private let end: Int
    private let tail: Int
    private let declared: Int
    private var previousLength = 0
    private var lastStart = Ziplist.headerSize
    private(set) var count = 0

    init(_ blob: UnsafeRawBufferPointer, deep: Bool) throws(BlobFailure) {
        c = unsafe ByteCursor(blob)
        self.deep = deep
        guard blob.count >= Ziplist.headerSize + 1 else {
            throw BlobFailure(message: "ziplist of \(blob.count) bytes is shorter than its header", position: 0)
        }
        let total = Int(c.uint32LE(at: 0))
        guard total == blob.count else {
            throw BlobFailure(message: "ziplist header says \(total) bytes, the blob has \(blob.count)", position: 0)
        }
        tail = Int(c.uint32LE(at: 4))
        declared = Int(c.uint16LE(at: 8))
        guard c.byte(at: blob.count - 1) == 0xFF else {
            throw BlobFailure(message: "ziplist does not end with FF", position: blob.count - 1)
        }
        guard tail >= Ziplist.headerSize && tail < blob.count else {
            throw BlobFailure(message: "ziplist tail offset \(tail) is outside the blob", position: 4)
        }
        end = blob.count - 1
        c.position = Ziplist.headerSize
    }

    mutating func next() throws(BlobFailure) -> PackedValue? {
        guard c.position < end else {
            if deep {
                if count > 0 && tail != lastStart || count == 0 && tail != Ziplist.headerSize {
                    throw BlobFailure(message: "ziplist tail offset \(tail) is not the last entry (\(lastStart))", position: 4)
                }
                if declared != 0xFFFF && declared != count {
                    throw BlobFailure(message: "ziplist header counts \(declared) entries, found \(count)", position: 8)
                }
            }
            return nil
        }
        let start = c.position
        var p = start
        var prevlen = Int(c.byte(at: p))
        p += 1
        if prevlen == 0xFE {
            guard end - start >= 5 else { throw BlobFailure(message: "ziplist prevlen runs past the end", position: start) }
            prevlen = Int(c.uint32LE(at: start + 1))
            p += 4
        }
        if deep && prevlen != previousLength {
            throw BlobFailure(
                message: "ziplist prevlen \(prevlen) does not match the previous entry's size \(previousLength)",
                position: start)
        }
        guard p < end else { throw BlobFailure(message: "ziplist entry encoding runs into the terminator", position: p) }
        let enc = c.byte(at: p)
        let value: PackedValue
        let next: Int
        switch enc >> 6 {
        case 0:
            let len = Int(enc & 0x3F)
            guard len <= end - (p + 1) else { throw BlobFailure(message: "ziplist string entry runs past the end", position: start) }
            next = p + 1 + len
            value = unsafe .bytes(c.slice(p + 1, len))
        case 1:
            guard end - p >= 2 else { throw BlobFailure(message: "ziplist 14-bit length runs past the end", position: p) }
            let len = (Int(enc & 0x3F) << 8) | Int(c.byte(at: p + 1))
            guard len <= end - (p + 2) else { throw BlobFailure(message: "ziplist string entry runs past the end", position: start) }
            next = p + 2 + len
            value = unsafe .bytes(c.slice(p + 2, len))
        case 2:
            guard end - p >= 5 else { throw BlobFailure(message: "ziplist 32-bit length runs past the end", position: p) }
            let len = Int(c.uint32BE(at: p + 1))
            guard len <= end - (p + 5) else { throw BlobFailure(message: "ziplist string entry runs past the end", position: start) }
            next = p + 5 + len
            value = unsafe .bytes(c.slice(p + 5, len))
        default:
            let width: Int
            switch enc {
            case 0xC0: width = 2
            case 0xD0: width = 4
            case 0xE0: width = 8
            case 0xF0: width = 3
            case 0xFE: width = 1
            case 0xF1...0xFD: width = 0
            default:
                throw BlobFailure(message: "invalid ziplist entry encoding \(hexByte(enc))", position: p)
            }
            guard width <= end - (p + 1) else { throw BlobFailure(message: "ziplist integer runs past the end", position: start) }
            next = p + 1 + width
            value = width == 0 ? .int(Int64(enc & 0x0F) - 1) : .int(c.intLE(at: p + 1, width: width))
        }
        previousLength = next - start
        lastStart = start
        c.position = next
        count += 1
        return value
    }
}

/// Intset blobs (`intset.c`), type 11: `u32le encoding (2/4/8) | u32le length | length × intN LE`,
/// ascending and unique.
enum Intset {
    /// The member count and the first and last members, without walking the members (the header is
    /// checked as ``forEach(_:deep:_:)`` checks it). The members are sorted, so the first and last are
    /// the extremes; only a deep check (``forEach(_:deep:_:)`` with `deep`) verifies that.
    static func bounds(_ blob: UnsafeRawBufferPointer) throws(BlobFailure) -> (count: Int, first: Int64, last: Int64) {
        let c = unsafe ByteCursor(blob)
        guard blob.count >= 8 else {
            throw BlobFailure(message: "intset of \(blob.count) bytes is shorter than its header", position: 0)
        }
        let width = Int(c.uint32LE(at: 0))
        guard width == 2 || width == 4 || width == 8 else {
            throw BlobFailure(message: "invalid intset encoding \(width)", position: 0)
        }
        let length = Int(c.uint32LE(at: 4))
        guard length <= (blob.count - 8) / width, 8 + length * width == blob.count else {
            throw BlobFailure(
                message: "intset of \(length) × \(width)-byte members does not fill its \(blob.count)-byte blob",
                position: 4)
        }
        guard length > 0 else { return (0, 0, 0) }
        return (length, c.intLE(at: 8, width: width), c.intLE(at: 8 + (length - 1) * width, width: width))
    }

    @discardableResult
    static func forEach<E: Error>(
        _ blob: UnsafeRawBufferPointer, deep: Bool, _ body: (Int64) throws(E) -> Void
    ) throws(BlobFailure) -> Result<Int, E> {
        let c = unsafe ByteCursor(blob)
        guard blob.count >= 8 else {
            throw BlobFailure(message: "intset of \(blob.count) bytes is shorter than its header", position: 0)
        }
        let width = Int(c.uint32LE(at: 0))
        guard width == 2 || width == 4 || width == 8 else {
            throw BlobFailure(message: "invalid intset encoding \(width)", position: 0)
        }
        let length = Int(c.uint32LE(at: 4))
        guard length <= (blob.count - 8) / width, 8 + length * width == blob.count else {
            throw BlobFailure(
                message: "intset of \(length) × \(width)-byte members does not fill its \(blob.count)-byte blob",
                position: 4)
        }
        var previous = Int64.min
        for i in 0..<length {
            let v = c.intLE(at: 8 + i * width, width: width)
            if deep && i > 0 && v <= previous {
                throw BlobFailure(message: "intset members are not ascending and unique", position: 8 + i * width)
            }
            previous = v
            do { try body(v) } catch { return .failure(error) }
        }
        return .success(length)
    }
}

/// Zipmap blobs (`zipmap.c`), type 9 (Redis 2.4 hashes).
///
/// ```
/// u8 zmlen (≥ 254: unknown) | { len key | len value | u8 free | value | free bytes }… | FF
/// len = 1 byte 0–253, or FE + u32 little-endian
/// ```
enum Zipmap {
    /// Walks field/value pairs. With `deep`, a count byte below 254 must equal the pair count
    /// (Redis 6.2+ reject a mismatch; 6.0 loads it).
    @discardableResult
    static func forEach<E: Error>(
        _ blob: UnsafeRawBufferPointer, deep: Bool, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(E) -> Void
    ) throws(BlobFailure) -> Result<Int, E> {
        var c = unsafe ByteCursor(blob)
        let declared = Int(try c.readByte("zipmap header"))
        var count = 0
        while true {
            let b = try c.readByte("zipmap entry")
            if b == 0xFF { break }
            let keyLen = try readLength(&c, first: b)
            try c.need(keyLen, "zipmap key")
            let key = unsafe c.slice(c.position, keyLen)
            c.position += keyLen
            let vb = try c.readByte("zipmap value length")
            guard vb != 0xFF else { throw BlobFailure(message: "zipmap ends between a key and its value", position: c.position - 1) }
            let valueLen = try readLength(&c, first: vb)
            let free = Int(try c.readByte("zipmap free byte"))
            try c.need(valueLen + free, "zipmap value")
            let value = unsafe c.slice(c.position, valueLen)
            c.position += valueLen + free
            count += 1
            do { try unsafe body(key, value) } catch { return .failure(error) }
        }
        if c.position != blob.count {
            throw BlobFailure(message: "zipmap has \(blob.count - c.position) bytes after its terminator", position: c.position)
        }
        if deep && declared < 254 && declared != count {
            throw BlobFailure(message: "zipmap header counts \(declared) pairs, found \(count)", position: 0)
        }
        return .success(count)
    }

    private static func readLength(_ c: inout ByteCursor, first: UInt8) throws(BlobFailure) -> Int {
        if first < 254 { return Int(first) }
        if first == 254 {
            try c.need(4, "zipmap 32-bit length")
            let v = Int(c.uint32LE(at: c.position))
            c.position += 4
            return v
        }
        throw BlobFailure(message: "invalid zipmap length byte 0xFF", position: c.position - 1)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
