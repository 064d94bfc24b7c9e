/// Writers of the RDB primitives and compact encodings, as the servers write them.
enum RDBEncoding {
    /// Mirrors `rdbSaveLen`: the smallest of 6-bit, 14-bit, 32-bit BE and 64-bit BE lengths.
    static func appendLength(_ v: UInt64, to out: inout [UInt8]) {
        if v < 64 {
            out.append(UInt8(v))
        } else if v < 16384 {
            out.append(0x40 | UInt8(v >> 8))
            out.append(UInt8(v & 0xFF))
        } else if v <= UInt64(UInt32.max) {
            out.append(0x80)
            appendBigEndian(UInt64(v), bytes: 4, to: &out)
        } else {
            out.append(0x81)
            appendBigEndian(v, bytes: 8, to: &out)
        }
    }

    /// Stores a length as ``appendLength(_:to:)`` does at `p` (at most 9 bytes) and returns its size.
    @inline(__always)
    static func putLength(_ v: UInt64, _ p: UnsafeMutableRawPointer) -> Int {
        if v < 64 {
            unsafe p.storeBytes(of: UInt8(v), as: UInt8.self)
            return 1
        } else if v < 16384 {
            unsafe p.storeBytes(of: 0x40 | UInt8(v >> 8), as: UInt8.self)
            unsafe (p + 1).storeBytes(of: UInt8(v & 0xFF), as: UInt8.self)
            return 2
        } else if v <= UInt64(UInt32.max) {
            unsafe p.storeBytes(of: 0x80, as: UInt8.self)
            unsafe (p + 1).storeBytes(of: UInt32(v).bigEndian, toByteOffset: 0, as: UInt32.self)
            return 5
        } else {
            unsafe p.storeBytes(of: 0x81, as: UInt8.self)
            unsafe (p + 1).storeBytes(of: v.bigEndian, toByteOffset: 0, as: UInt64.self)
            return 9
        }
    }

    static func appendBigEndian(_ v: UInt64, bytes: Int, to out: inout [UInt8]) {
        for i in stride(from: bytes - 1, through: 0, by: -1) { out.append(UInt8((v >> (8 * UInt64(i))) & 0xFF)) }
    }

    static func appendLittleEndian(_ v: UInt64, bytes: Int, to out: inout [UInt8]) {
        for i in 0..<bytes { out.append(UInt8((v >> (8 * UInt64(i))) & 0xFF)) }
    }

    /// Mirrors `rdbSaveRawString`: an integer encoding for short decimal text that round-trips
    /// (`rdbTryIntegerEncoding`), LZF when allowed, longer than 20 bytes and at least 4 bytes smaller,
    /// otherwise the raw bytes.
    static func appendString(_ s: [UInt8], compress: Bool, to out: inout [UInt8]) {
        if s.count <= 11, let v = RedisInteger.parse(s) {
            if v >= Int64(Int8.min) && v <= Int64(Int8.max) {
                out.append(0xC0)
                out.append(UInt8(bitPattern: Int8(v)))
                return
            } else if v >= Int64(Int16.min) && v <= Int64(Int16.max) {
                out.append(0xC1)
                appendLittleEndian(UInt64(UInt16(bitPattern: Int16(v))), bytes: 2, to: &out)
                return
            } else if v >= Int64(Int32.min) && v <= Int64(Int32.max) {
                out.append(0xC2)
                appendLittleEndian(UInt64(UInt32(bitPattern: Int32(v))), bytes: 4, to: &out)
                return
            }
        }
        if compress && s.count > 20, let c = LZF.compress(s, maximumOutput: s.count - 4), !c.isEmpty {
            out.append(0xC3)
            appendLength(UInt64(c.count), to: &out)
            appendLength(UInt64(s.count), to: &out)
            out += c
            return
        }
        appendLength(UInt64(s.count), to: &out)
        out += s
    }

    /// A zset score as text (type 3): length byte then `%.17g`; 253 NaN, 254 +inf, 255 -inf.
    static func appendStringDouble(_ d: Double, to out: inout [UInt8]) {
        if d.isNaN { out.append(253); return }
        if d.isInfinite { out.append(d > 0 ? 254 : 255); return }
        let text = Array(d.description.utf8)
        out.append(UInt8(text.count))
        out += text
    }
}

/// An element to pack: bytes, stored as an integer when they are canonical decimal text.
enum PackInput {
    case bytes([UInt8])
    case int(Int64)

    /// Like `lpStringToInt64` / `zipTryEncoding`: canonical decimal text becomes an integer.
    init(_ b: RedisBytes, maximumIntegerText: Int = 20) {
        if b.count <= maximumIntegerText, let v = RedisInteger.parse(b.bytes) { self = .int(v) } else { self = .bytes(b.bytes) }
    }
}

/// Builds listpacks (`listpack.c` encodings and back-lengths).
struct ListpackBuilder {
    private(set) var body: [UInt8] = []
    private(set) var count = 0

    /// Bytes the listpack will take with its header and terminator.
    var totalBytes: Int { 6 + body.count + 1 }

    /// Size an entry would add.
    static func entrySize(_ e: PackInput) -> Int {
        let l = encodedLength(e)
        return l + Listpack.backlenBytes(l)
    }

    static func encodedLength(_ e: PackInput) -> Int {
        switch e {
        case .int(let v):
            if v >= 0 && v <= 127 { return 1 }
            if v >= -4096 && v <= 4095 { return 2 }
            if v >= -32768 && v <= 32767 { return 3 }
            if v >= -8_388_608 && v <= 8_388_607 { return 4 }
            if v >= Int64(Int32.min) && v <= Int64(Int32.max) { return 5 }
            return 9
        case .bytes(let s):
            if s.count < 64 { return 1 + s.count }
            if s.count < 4096 { return 2 + s.count }
            return 5 + s.count
        }
    }

    mutating func append(_ e: PackInput) {
        let start = body.count
        switch e {
        case .int(let v):
            if v >= 0 && v <= 127 {
                body.append(UInt8(v))
            } else if v >= -4096 && v <= 4095 {
                let u = UInt16(bitPattern: Int16(v)) & 0x1FFF
                body.append(0xC0 | UInt8(u >> 8))
                body.append(UInt8(u & 0xFF))
            } else if v >= -32768 && v <= 32767 {
                body.append(0xF1)
                RDBEncoding.appendLittleEndian(UInt64(UInt16(bitPattern: Int16(v))), bytes: 2, to: &body)
            } else if v >= -8_388_608 && v <= 8_388_607 {
                body.append(0xF2)
                RDBEncoding.appendLittleEndian(UInt64(UInt32(bitPattern: Int32(v))) & 0xFFFFFF, bytes: 3, to: &body)
            } else if v >= Int64(Int32.min) && v <= Int64(Int32.max) {
                body.append(0xF3)
                RDBEncoding.appendLittleEndian(UInt64(UInt32(bitPattern: Int32(v))), bytes: 4, to: &body)
            } else {
                body.append(0xF4)
                RDBEncoding.appendLittleEndian(UInt64(bitPattern: v), bytes: 8, to: &body)
            }
        case .bytes(let s):
            if s.count < 64 {
                body.append(0x80 | UInt8(s.count))
            } else if s.count < 4096 {
                body.append(0xE0 | UInt8(s.count >> 8))
                body.append(UInt8(s.count & 0xFF))
            } else {
                body.append(0xF0)
                RDBEncoding.appendLittleEndian(UInt64(s.count), bytes: 4, to: &body)
            }
            body += s
        }
        let l = body.count - start
        // lpEncodeBacklen: the last byte holds the low 7 bits; all but the first have bit 7 set.
        let n = Listpack.backlenBytes(l)
        var tmp = [UInt8](repeating: 0, count: n)
        var v = l
        for i in stride(from: n - 1, through: 0, by: -1) {
            tmp[i] = UInt8(v & 127) | (i == 0 ? 0 : 128)
            v >>= 7
        }
        body += tmp
        count += 1
    }

    func finish() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(totalBytes)
        RDBEncoding.appendLittleEndian(UInt64(totalBytes), bytes: 4, to: &out)
        RDBEncoding.appendLittleEndian(UInt64(min(count, 65535)), bytes: 2, to: &out)
        out += body
        out.append(0xFF)
        return out
    }
}

/// Builds ziplists (`ziplist.c` encodings and prevlen chains), for targets before RDB 10.
struct ZiplistBuilder {
    private(set) var body: [UInt8] = []
    private(set) var count = 0
    private var lastEntryOffset = 10
    private var previousLength = 0
    /// Integer encodings beyond int16/32/64 exist from RDB 6 on.
    var allowsSmallIntegers = true

    var totalBytes: Int { 10 + body.count + 1 }

    mutating func append(_ e: PackInput) {
        let start = body.count
        lastEntryOffset = 10 + start
        if previousLength < 254 {
            body.append(UInt8(previousLength))
        } else {
            body.append(0xFE)
            RDBEncoding.appendLittleEndian(UInt64(previousLength), bytes: 4, to: &body)
        }
        switch e {
        case .int(let v):
            if allowsSmallIntegers && v >= 0 && v <= 12 {
                body.append(0xF1 + UInt8(v))
            } else if allowsSmallIntegers && v >= Int64(Int8.min) && v <= Int64(Int8.max) {
                body.append(0xFE)
                body.append(UInt8(bitPattern: Int8(v)))
            } else if v >= Int64(Int16.min) && v <= Int64(Int16.max) {
                body.append(0xC0)
                RDBEncoding.appendLittleEndian(UInt64(UInt16(bitPattern: Int16(v))), bytes: 2, to: &body)
            } else if allowsSmallIntegers && v >= -8_388_608 && v <= 8_388_607 {
                body.append(0xF0)
                RDBEncoding.appendLittleEndian(UInt64(UInt32(bitPattern: Int32(v))) & 0xFFFFFF, bytes: 3, to: &body)
            } else if v >= Int64(Int32.min) && v <= Int64(Int32.max) {
                body.append(0xD0)
                RDBEncoding.appendLittleEndian(UInt64(UInt32(bitPattern: Int32(v))), bytes: 4, to: &body)
            } else {
                body.append(0xE0)
                RDBEncoding.appendLittleEndian(UInt64(bitPattern: v), bytes: 8, to: &body)
            }
        case .bytes(let s):
            if s.count <= 63 {
                body.append(UInt8(s.count))
            } else if s.count <= 16383 {
                body.append(0x40 | UInt8(s.count >> 8))
                body.append(UInt8(s.count & 0xFF))
            } else {
                body.append(0x80)
                RDBEncoding.appendBigEndian(UInt64(s.count), bytes: 4, to: &body)
            }
            body += s
        }
        previousLength = body.count - start
        count += 1
    }

    func finish() -> [UInt8] {
        var out: [UInt8] = []
        RDBEncoding.appendLittleEndian(UInt64(totalBytes), bytes: 4, to: &out)
        RDBEncoding.appendLittleEndian(UInt64(count == 0 ? 10 : lastEntryOffset), bytes: 4, to: &out)
        RDBEncoding.appendLittleEndian(UInt64(min(count, 65535)), bytes: 2, to: &out)
        out += body
        out.append(0xFF)
        return out
    }
}

/// Builds an intset from members that are all integers.
enum IntsetBuilder {
    static func build(_ values: [Int64]) -> [UInt8] {
        let sorted = Array(Set(values)).sorted()
        var width = 2
        for v in sorted {
            if v < Int64(Int32.min) || v > Int64(Int32.max) {
                width = 8
                break
            }
            if v < Int64(Int16.min) || v > Int64(Int16.max) { width = 4 }
        }
        var out: [UInt8] = []
        RDBEncoding.appendLittleEndian(UInt64(width), bytes: 4, to: &out)
        RDBEncoding.appendLittleEndian(UInt64(sorted.count), bytes: 4, to: &out)
        for v in sorted { RDBEncoding.appendLittleEndian(UInt64(bitPattern: v), bytes: width, to: &out) }
        return out
    }
}
