import RedisFormats

// Bitmap and HyperLogLog commands that write (Redis 7.0 `bitops.c`, `hyperloglog.c`): SETBIT, BITOP, BITFIELD,
// PFADD, PFMERGE. HyperLogLog values are strings in Redis's own sparse/dense encoding, built byte for byte as the
// server builds them (same hash, same opcode splitting and merging, same promotion to dense), so DUMP, GET and
// the RDB see the server's bytes.

extension CommandEngine {
    static let bitmapCommands: [Spec] = [
        Spec("setbit", arity: 4) { e, a throws(CommandFailure) in try e.setbit(a) },
        Spec("bitop", arity: -4) { e, a throws(CommandFailure) in try e.bitop(a) },
        Spec("bitfield", arity: -2) { e, a throws(CommandFailure) in try e.bitfield(a) },
        Spec("pfadd", arity: -2) { e, a throws(CommandFailure) in try e.pfadd(a) },
        Spec("pfmerge", arity: -2) { e, a throws(CommandFailure) in try e.pfmerge(a) },
    ]

    /// `proto-max-bulk-len`: offsets address at most this many bytes.
    static let maxBulkLength: Int64 = 512 * 1024 * 1024

    // MARK: Strings changed in place

    /// Runs `body` on the bytes of the string at `key` (created empty when absent), grown with zero bytes to at
    /// least `minimumLength`, without copying the string: the keyspace's reference is dropped while `body` runs.
    /// The key's expiry is kept (Redis changes the string object in place).
    func withMutableString<T>(
        _ key: RedisBytes, minimumLength: Int, _ body: (inout [UInt8]) throws(CommandFailure) -> T
    ) throws(CommandFailure) -> T {
        var bytes: [UInt8] = []
        if let v = value(key) {
            guard case .string(let s) = v else { throw CommandFailure(.wrongType) }
            bytes = s.bytes
            keyspace.databases[db]![key]!.value = .string(RedisBytes([UInt8]()))
        } else {
            keyspace.set(db: db, key: key, Keyspace.Entry(value: .string(RedisBytes([UInt8]()))))
        }
        if bytes.count < minimumLength { bytes += [UInt8](repeating: 0, count: minimumLength - bytes.count) }
        defer { keyspace.databases[db]![key]!.value = .string(RedisBytes(bytes)) }
        return try body(&bytes)
    }

    /// `getBitOffsetFromArgument`: a bit offset, or `#n` (n × `bits`) when `hashAllowed`.
    func bitOffset(_ arg: RedisBytes, hashAllowed: Bool = false, bits: Int = 0) throws(CommandFailure) -> Int64 {
        let err = CommandFailure(.error("ERR bit offset is not an integer or out of range"))
        var b = arg.bytes
        let useHash = hashAllowed && bits > 0 && b.first == UInt8(ascii: "#")
        if useHash { b.removeFirst() }
        guard var v = RedisInteger.parse(b) else { throw err }
        if useHash { v = v &* Int64(bits) }
        // A loading server (its master or its AOF) takes any non-negative offset.
        if v < 0 || (now != nil && (v >> 3) >= Self.maxBulkLength) { throw err }
        return v
    }

    // MARK: SETBIT / BITOP

    func setbit(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        let offset = try bitOffset(a[2])
        let err = Reply.error("ERR bit is not an integer or out of range")
        guard let on = RedisInteger.parse(a[3].bytes) else { return err }
        if on & ~1 != 0 { return err }
        let byte = Int(offset >> 3)
        let shift = 7 - Int(offset & 7)
        return try withMutableString(a[1], minimumLength: byte + 1) { bytes throws(CommandFailure) in
            let old = (bytes[byte] >> shift) & 1
            bytes[byte] = (bytes[byte] & ~(1 << shift)) | (UInt8(on) << shift)
            return .integer(Int64(old))
        }
    }

    func bitop(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        let op = CommandEngine.upper(a[1])
        guard ["AND", "OR", "XOR", "NOT"].contains(op) else { return .syntax }
        if op == "NOT" && a.count != 4 { return .error("ERR BITOP NOT must be called with a single source key.") }
        var sources: [[UInt8]] = []
        for k in a[3...] { sources.append(try string(k)?.bytes ?? []) }
        let maxLength = sources.map(\.count).max() ?? 0
        guard maxLength > 0 else {
            delete(a[2])
            return .integer(0)
        }
        var out = [UInt8](repeating: 0, count: maxLength)
        for j in 0..<maxLength {
            var v: UInt8 = j < sources[0].count ? sources[0][j] : 0
            if op == "NOT" { v = ~v }
            for s in sources.dropFirst() {
                let b: UInt8 = j < s.count ? s[j] : 0
                switch op {
                case "AND": v &= b
                case "OR": v |= b
                default: v ^= b
                }
            }
            out[j] = v
        }
        store(a[2], .string(RedisBytes(out)))
        return .integer(Int64(maxLength))
    }

    // MARK: BITFIELD

    struct BitfieldOp {
        enum Kind { case get, set, incrby }
        var kind: Kind
        var signed: Bool
        var bits: Int
        var offset: Int64
        var value: Int64
        var overflow: Overflow
    }

    enum Overflow { case wrap, sat, fail }

    static func getUnsigned(_ p: [UInt8], _ offset: Int64, _ bits: Int) -> UInt64 {
        var v: UInt64 = 0
        for j in 0..<Int64(bits) {
            let o = offset + j
            let byte = Int(o >> 3)
            let bit: UInt64 = byte < p.count ? UInt64((p[byte] >> (7 - UInt8(o & 7))) & 1) : 0
            v = (v << 1) | bit
        }
        return v
    }

    static func getSigned(_ p: [UInt8], _ offset: Int64, _ bits: Int) -> Int64 {
        var v = getUnsigned(p, offset, bits)
        if bits < 64 && v & (1 << UInt64(bits - 1)) != 0 { v |= UInt64.max << UInt64(bits) }
        return Int64(bitPattern: v)
    }

    static func setBits(_ p: inout [UInt8], _ offset: Int64, _ bits: Int, _ value: UInt64) {
        for j in 0..<bits {
            let bitval = (value >> UInt64(bits - 1 - j)) & 1
            let o = offset + Int64(j)
            let byte = Int(o >> 3)
            let shift = 7 - UInt8(o & 7)
            p[byte] = (p[byte] & ~(1 << shift)) | (UInt8(bitval) << shift)
        }
    }

    /// `checkUnsignedBitfieldOverflow`: 0, or ±1 with the wrapped or saturated value in `limit`.
    static func unsignedOverflow(_ value: UInt64, _ incr: Int64, _ bits: Int, _ ow: Overflow) -> (Int, UInt64) {
        let max: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
        let maxIncr = Int64(bitPattern: max &- value)
        let minIncr = Int64(bitPattern: 0 &- value)
        func wrap() -> UInt64 { (value &+ UInt64(bitPattern: incr)) & ~(UInt64.max << UInt64(bits)) }
        if value > max || (incr > 0 && incr > maxIncr) {
            return (1, ow == .wrap ? wrap() : ow == .sat ? max : 0)
        } else if incr < 0 && incr < minIncr {
            return (-1, ow == .wrap ? wrap() : 0)
        }
        return (0, 0)
    }

    /// `checkSignedBitfieldOverflow`.
    static func signedOverflow(_ value: Int64, _ incr: Int64, _ bits: Int, _ ow: Overflow) -> (Int, Int64) {
        let max: Int64 = bits == 64 ? .max : (1 << Int64(bits - 1)) - 1
        let min = -max - 1
        let maxIncr = Int64(bitPattern: UInt64(bitPattern: max) &- UInt64(bitPattern: value))
        let minIncr = min &- value
        func wrap() -> Int64 {
            var c = UInt64(bitPattern: value) &+ UInt64(bitPattern: incr)
            if bits < 64 {
                let mask = UInt64.max << UInt64(bits)
                if c & (1 << UInt64(bits - 1)) != 0 { c |= mask } else { c &= ~mask }
            }
            return Int64(bitPattern: c)
        }
        if value > max || (bits != 64 && incr > maxIncr) || (value >= 0 && incr > 0 && incr > maxIncr) {
            return (1, ow == .wrap ? wrap() : ow == .sat ? max : 0)
        } else if value < min || (bits != 64 && incr < minIncr) || (value < 0 && incr < 0 && incr < minIncr) {
            return (-1, ow == .wrap ? wrap() : ow == .sat ? min : 0)
        }
        return (0, 0)
    }

    func bitfield(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        var ops: [BitfieldOp] = []
        var overflow = Overflow.wrap
        var highestWrite: Int64 = -1
        var readOnly = true
        var j = 2
        while j < a.count {
            let rem = a.count - j - 1
            let kind: BitfieldOp.Kind
            switch CommandEngine.upper(a[j]) {
            case "GET" where rem >= 2: kind = .get
            case "SET" where rem >= 3: kind = .set
            case "INCRBY" where rem >= 3: kind = .incrby
            case "OVERFLOW" where rem >= 1:
                j += 1
                switch CommandEngine.upper(a[j]) {
                case "WRAP": overflow = .wrap
                case "SAT": overflow = .sat
                case "FAIL": overflow = .fail
                default: return .error("ERR Invalid OVERFLOW type specified")
                }
                j += 1
                continue
            default:
                return .syntax
            }
            let typeErr = Reply.error(
                "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
            let t = a[j + 1].bytes
            guard let first = t.first, first == UInt8(ascii: "i") || first == UInt8(ascii: "u") else { return typeErr }
            let signed = first == UInt8(ascii: "i")
            var digits = Array(t.dropFirst())
            if let nul = digits.firstIndex(of: 0) { digits = Array(digits[..<nul]) }
            guard let bits = RedisInteger.parse(digits), bits >= 1, bits <= (signed ? 64 : 63) else { return typeErr }
            let offset = try bitOffset(a[j + 2], hashAllowed: true, bits: Int(bits))
            var value: Int64 = 0
            if kind != .get {
                readOnly = false
                highestWrite = max(highestWrite, offset + bits - 1)
                value = try CommandEngine.int(a[j + 3])
            }
            ops.append(BitfieldOp(kind: kind, signed: signed, bits: Int(bits), offset: offset, value: value, overflow: overflow))
            j += kind == .get ? 3 : 4
        }
        if readOnly {
            let s = try string(a[1])?.bytes ?? []
            return .array(ops.map { op in
                op.signed ? .integer(Self.getSigned(s, op.offset, op.bits))
                    : .integer(Int64(bitPattern: Self.getUnsigned(s, op.offset, op.bits)))
            })
        }
        return try withMutableString(a[1], minimumLength: Int(highestWrite >> 3) + 1) { p throws(CommandFailure) in
            var replies: [Reply] = []
            for op in ops {
                switch op.kind {
                case .get:
                    replies.append(
                        op.signed ? .integer(Self.getSigned(p, op.offset, op.bits))
                            : .integer(Int64(bitPattern: Self.getUnsigned(p, op.offset, op.bits))))
                case .set, .incrby:
                    if op.signed {
                        let old = Self.getSigned(p, op.offset, op.bits)
                        var new: Int64
                        let retval: Int64
                        let o: Int
                        if op.kind == .incrby {
                            let (ov, w) = Self.signedOverflow(old, op.value, op.bits, op.overflow)
                            o = ov
                            new = ov != 0 ? w : old &+ op.value
                            retval = new
                        } else {
                            new = op.value
                            let (ov, w) = Self.signedOverflow(new, 0, op.bits, op.overflow)
                            o = ov
                            if ov != 0 { new = w }
                            retval = old
                        }
                        if o != 0 && op.overflow == .fail {
                            replies.append(.null)
                        } else {
                            replies.append(.integer(retval))
                            Self.setBits(&p, op.offset, op.bits, UInt64(bitPattern: new))
                        }
                    } else {
                        let old = Self.getUnsigned(p, op.offset, op.bits)
                        var new: UInt64
                        let retval: UInt64
                        let o: Int
                        if op.kind == .incrby {
                            new = old &+ UInt64(bitPattern: op.value)
                            let (ov, w) = Self.unsignedOverflow(old, op.value, op.bits, op.overflow)
                            o = ov
                            if ov != 0 { new = w }
                            retval = new
                        } else {
                            new = UInt64(bitPattern: op.value)
                            let (ov, w) = Self.unsignedOverflow(new, 0, op.bits, op.overflow)
                            o = ov
                            if ov != 0 { new = w }
                            retval = old
                        }
                        if o != 0 && op.overflow == .fail {
                            replies.append(.null)
                        } else {
                            replies.append(.integer(Int64(bitPattern: retval)))
                            Self.setBits(&p, op.offset, op.bits, new)
                        }
                    }
                }
            }
            return .array(replies)
        }
    }

    // MARK: HyperLogLog

    static let notHLL = Reply.error("WRONGTYPE Key is not a valid HyperLogLog string value.")
    static let corruptHLL = Reply.error("INVALIDOBJ Corrupted HLL object detected")

    /// `isHLLObjectOrReply` on a value already known to be a string.
    static func isHLL(_ b: [UInt8]) -> Bool {
        guard b.count >= HyperLogLog.headerSize, b[0] == 0x48, b[1] == 0x59, b[2] == 0x4C, b[3] == 0x4C, b[4] <= 1 else {
            return false
        }
        return b[4] != HyperLogLog.dense || b.count == HyperLogLog.denseSize
    }

    func pfadd(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        var updated = 0
        if let v = value(a[1]) {
            guard case .string(let s) = v else { return .wrongType }
            guard Self.isHLL(s.bytes) else { return Self.notHLL }
        } else {
            keyspace.set(db: db, key: a[1], Keyspace.Entry(value: .string(RedisBytes(HyperLogLog.empty))))
            updated += 1
        }
        return try withMutableString(a[1], minimumLength: 0) { h throws(CommandFailure) in
            for e in a[2...] {
                let (index, count) = HyperLogLog.patternLength(e.bytes)
                switch HyperLogLog.set(&h, index: index, count: count) {
                case 1: updated += 1
                case -1: return Self.corruptHLL
                default: break
                }
            }
            if updated > 0 { HyperLogLog.invalidateCache(&h) }
            return .integer(updated > 0 ? 1 : 0)
        }
    }

    func pfmerge(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        var maxima = [UInt8](repeating: 0, count: HyperLogLog.registers)
        var useDense = false
        for k in a[1...] {
            guard let v = value(k) else { continue }
            guard case .string(let s) = v else { return .wrongType }
            guard Self.isHLL(s.bytes) else { return Self.notHLL }
            if s.bytes[4] == HyperLogLog.dense { useDense = true }
            guard HyperLogLog.merge(into: &maxima, s.bytes) else { return Self.corruptHLL }
        }
        if value(a[1]) == nil {
            keyspace.set(db: db, key: a[1], Keyspace.Entry(value: .string(RedisBytes(HyperLogLog.empty))))
        }
        return try withMutableString(a[1], minimumLength: 0) { h throws(CommandFailure) in
            if useDense && !HyperLogLog.sparseToDense(&h) { return Self.corruptHLL }
            for j in 0..<HyperLogLog.registers where maxima[j] != 0 {
                _ = HyperLogLog.set(&h, index: j, count: maxima[j])
            }
            HyperLogLog.invalidateCache(&h)
            return .ok
        }
    }
}

/// Redis's HyperLogLog string encoding (`hyperloglog.c`): a 16-byte header (`HYLL`, encoding, 3 unused bytes, an
/// 8-byte little-endian cached cardinality whose top bit marks it stale), then 16384 6-bit registers, dense or as
/// sparse opcodes:
///
/// ```
/// ZERO  00xxxxxx            xxxxxx+1 zero registers (1…64)
/// XZERO 01xxxxxx yyyyyyyy   14-bit length+1 zero registers (1…16384)
/// VAL   1vvvvvxx            xx+1 registers (1…4) of value vvvvv+1 (1…32)
/// ```
enum HyperLogLog {
    static let p = 14
    static let registers = 1 << p
    static let registerMax: UInt8 = 63
    static let headerSize = 16
    static let denseSize = headerSize + (registers * 6 + 7) / 8
    static let sparse: UInt8 = 1
    static let dense: UInt8 = 0
    /// `hll-sparse-max-bytes`.
    static let sparseMaxBytes = 3000
    static let sparseValueMax = 32
    static let sparseValueMaxLength = 4
    static let sparseZeroMaxLength = 64

    /// `createHLLObject`: sparse, all registers zero (one XZERO of 16384), cardinality cache 0 and valid.
    static let empty: [UInt8] = Array("HYLL".utf8) + [sparse, 0, 0, 0] + [UInt8](repeating: 0, count: 8) + [0x7F, 0xFF]

    /// MurmurHash64A as `hyperloglog.c` has it (little-endian reads).
    static func murmurHash64A(_ key: [UInt8], seed: UInt64) -> UInt64 {
        let m: UInt64 = 0xc6a4_a793_5bd1_e995
        let r: UInt64 = 47
        let len = key.count
        var h = seed ^ (UInt64(len) &* m)
        var i = 0
        let blocks = len - (len & 7)
        while i < blocks {
            var k: UInt64 = 0
            for b in 0..<8 { k |= UInt64(key[i + b]) << UInt64(8 * b) }
            k = k &* m
            k ^= k >> r
            k = k &* m
            h ^= k
            h = h &* m
            i += 8
        }
        let rest = len & 7
        if rest > 0 {
            for b in stride(from: rest - 1, through: 0, by: -1) { h ^= UInt64(key[i + b]) << UInt64(8 * b) }
            h = h &* m
        }
        h ^= h >> r
        h = h &* m
        h ^= h >> r
        return h
    }

    /// `hllPatLen`: the register an element goes to and the length of its run of zeros plus one.
    static func patternLength(_ element: [UInt8]) -> (index: Int, count: UInt8) {
        var hash = murmurHash64A(element, seed: 0xadc8_3b19)
        let index = Int(hash & UInt64(registers - 1))
        hash >>= UInt64(p)
        hash |= 1 << UInt64(64 - p)
        var bit: UInt64 = 1
        var count: UInt8 = 1
        while hash & bit == 0 {
            count += 1
            bit <<= 1
        }
        return (index, count)
    }

    static func invalidateCache(_ h: inout [UInt8]) { h[15] |= 0x80 }

    // MARK: Dense registers

    static func denseGet(_ h: [UInt8], _ reg: Int) -> UInt8 {
        let byte = headerSize + reg * 6 / 8
        let fb = UInt(reg * 6 & 7)
        let b0 = UInt(h[byte])
        let b1 = byte + 1 < h.count ? UInt(h[byte + 1]) : 0
        return UInt8(((b0 >> fb) | (b1 << (8 - fb))) & UInt(registerMax))
    }

    static func denseSetRegister(_ h: inout [UInt8], _ reg: Int, _ v: UInt8) {
        let byte = headerSize + reg * 6 / 8
        let fb = UInt(reg * 6 & 7)
        let fb8 = 8 - fb
        let val = UInt(v)
        h[byte] &= UInt8(truncatingIfNeeded: ~(UInt(registerMax) << fb))
        h[byte] |= UInt8(truncatingIfNeeded: val << fb)
        if byte + 1 < h.count {
            h[byte + 1] &= UInt8(truncatingIfNeeded: ~(UInt(registerMax) >> fb8))
            h[byte + 1] |= UInt8(truncatingIfNeeded: val >> fb8)
        }
    }

    /// `hllDenseSet`: 1 when the register grew.
    static func denseSet(_ h: inout [UInt8], _ reg: Int, _ count: UInt8) -> Int {
        guard count > denseGet(h, reg) else { return 0 }
        denseSetRegister(&h, reg, count)
        return 1
    }

    // MARK: Sparse opcodes

    @inline(__always) static func isZero(_ b: UInt8) -> Bool { b & 0xC0 == 0 }
    @inline(__always) static func isXZero(_ b: UInt8) -> Bool { b & 0xC0 == 0x40 }
    @inline(__always) static func isVal(_ b: UInt8) -> Bool { b & 0x80 != 0 }
    @inline(__always) static func zeroLength(_ b: UInt8) -> Int { Int(b & 0x3F) + 1 }
    @inline(__always) static func xzeroLength(_ b0: UInt8, _ b1: UInt8) -> Int { (Int(b0 & 0x3F) << 8 | Int(b1)) + 1 }
    @inline(__always) static func valValue(_ b: UInt8) -> Int { Int((b >> 2) & 0x1F) + 1 }
    @inline(__always) static func valLength(_ b: UInt8) -> Int { Int(b & 0x3) + 1 }
    @inline(__always) static func val(_ v: Int, _ len: Int) -> UInt8 { UInt8(((v - 1) << 2 | (len - 1)) | 0x80) }
    static func zeros(_ len: Int) -> [UInt8] {
        len > sparseZeroMaxLength ? [UInt8((len - 1) >> 8) | 0x40, UInt8((len - 1) & 0xFF)] : [UInt8(len - 1)]
    }

    /// `hllSparseToDense`; false for a corrupt sparse body.
    static func sparseToDense(_ h: inout [UInt8]) -> Bool {
        guard h[4] == sparse else { return true }
        var d = [UInt8](repeating: 0, count: denseSize)
        for i in 0..<headerSize { d[i] = h[i] }
        d[4] = dense
        var idx = 0
        var i = headerSize
        while i < h.count {
            let b = h[i]
            if isZero(b) {
                idx += zeroLength(b)
                i += 1
            } else if isXZero(b) {
                guard i + 1 < h.count else { return false }
                idx += xzeroLength(b, h[i + 1])
                i += 2
            } else {
                let run = valLength(b)
                let v = UInt8(valValue(b))
                if run + idx > registers { break }
                for _ in 0..<run {
                    denseSetRegister(&d, idx, v)
                    idx += 1
                }
                i += 1
            }
        }
        if idx != registers { return false }
        h = d
        return true
    }

    /// Sets register `index` to `count` if that is larger, in either encoding (`hllDenseSet`/`hllSparseSet`):
    /// 1 changed, 0 unchanged, -1 corrupt.
    static func set(_ h: inout [UInt8], index: Int, count: UInt8) -> Int {
        if h[4] == dense { return denseSet(&h, index, count) }
        if Int(count) > sparseValueMax { return promote(&h, index, count) }
        let end = h.count
        var p = headerSize
        var first = 0
        var prev: Int?
        var span = 0
        while p < end {
            var opLength = 1
            let b = h[p]
            if isZero(b) {
                span = zeroLength(b)
            } else if isVal(b) {
                span = valLength(b)
            } else {
                guard p + 1 < end else { return -1 }
                span = xzeroLength(b, h[p + 1])
                opLength = 2
            }
            if index <= first + span - 1 { break }
            prev = p
            p += opLength
            first += span
        }
        if span == 0 || p >= end { return -1 }
        let b = h[p]
        let zero = isZero(b), xzero = isXZero(b), value = isVal(b)
        let runLength = zero ? zeroLength(b) : xzero ? xzeroLength(b, h[p + 1]) : valLength(b)
        var updatedInPlace = false
        if value {
            if valValue(b) >= Int(count) { return 0 }
            if runLength == 1 {
                h[p] = val(Int(count), 1)
                updatedInPlace = true
            }
        }
        if !updatedInPlace && zero && runLength == 1 {
            h[p] = val(Int(count), 1)
            updatedInPlace = true
        }
        if !updatedInPlace {
            var seq: [UInt8] = []
            let last = first + span - 1
            if zero || xzero {
                if index != first { seq += zeros(index - first) }
                seq.append(val(Int(count), 1))
                if index != last { seq += zeros(last - index) }
            } else {
                let current = valValue(b)
                if index != first { seq.append(val(current, index - first)) }
                seq.append(val(Int(count), 1))
                if index != last { seq.append(val(current, last - index)) }
            }
            let oldLength = xzero ? 2 : 1
            let delta = seq.count - oldLength
            if delta > 0 && h.count + delta > sparseMaxBytes { return promote(&h, index, count) }
            h.replaceSubrange(p..<(p + oldLength), with: seq)
        }
        // Merge adjacent VAL opcodes of the same value, scanning up to 5 opcodes from the previous one.
        var q = prev ?? headerSize
        var scan = 5
        while q < h.count {
            if scan == 0 { break }
            scan -= 1
            let c = h[q]
            if isXZero(c) {
                q += 2
                continue
            } else if isZero(c) {
                q += 1
                continue
            }
            if q + 1 < h.count && isVal(h[q + 1]) {
                let v1 = valValue(c), v2 = valValue(h[q + 1])
                if v1 == v2 {
                    let len = valLength(c) + valLength(h[q + 1])
                    if len <= sparseValueMaxLength {
                        h[q + 1] = val(v1, len)
                        h.remove(at: q)
                        continue
                    }
                }
            }
            q += 1
        }
        invalidateCache(&h)
        return 1
    }

    private static func promote(_ h: inout [UInt8], _ index: Int, _ count: UInt8) -> Int {
        guard sparseToDense(&h) else { return -1 }
        return denseSet(&h, index, count)
    }

    /// `hllMerge`: registers[i] = max(registers[i], this HLL's register i); false when corrupt.
    static func merge(into maxima: inout [UInt8], _ h: [UInt8]) -> Bool {
        if h[4] == dense {
            for i in 0..<registers {
                let v = denseGet(h, i)
                if v > maxima[i] { maxima[i] = v }
            }
            return true
        }
        var i = 0
        var p = headerSize
        while p < h.count {
            let b = h[p]
            if isZero(b) {
                i += zeroLength(b)
                p += 1
            } else if isXZero(b) {
                guard p + 1 < h.count else { return false }
                i += xzeroLength(b, h[p + 1])
                p += 2
            } else {
                let run = valLength(b)
                let v = UInt8(valValue(b))
                if run + i > registers { break }
                for _ in 0..<run {
                    if v > maxima[i] { maxima[i] = v }
                    i += 1
                }
                p += 1
            }
        }
        return i == registers
    }
}
