import CRC64Fold

/// CRC-64/Jones as Redis computes it: reflected polynomial 0xAD93D23594C935A9, init 0, xorout 0
/// (`crc64.c`; every call site passes 0 as the initial value). Check value for `"123456789"`:
/// `0xe9c6d914c4b8d9ca`.
///
/// Slicing-by-16 with 16 tables of 256 entries (32 KiB).
///
/// ```swift
/// var crc = CRC64()
/// crc.update(Array("123456789".utf8))
/// crc.value  // 0xe9c6d914c4b8d9ca
/// ```
public struct CRC64: Sendable, Hashable {
    /// The running checksum.
    public private(set) var value: UInt64

    public init(value: UInt64 = 0) { self.value = value }

    /// Folds bytes into the checksum.
    public mutating func update(_ bytes: [UInt8]) {
        unsafe bytes.withUnsafeBytes { unsafe update($0) }
    }

    /// Folds raw bytes into the checksum.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        value = unsafe CRC64.update(value, bytes)
    }

    /// The checksum of `bytes` from 0.
    public static func checksum(_ bytes: [UInt8]) -> UInt64 {
        var c = CRC64()
        c.update(bytes)
        return c.value
    }

    static let reflectedPolynomial: UInt64 = 0x95AC_9329_AC4B_C9B5

    /// 16 tables × 256 entries, table k at `k * 256`.
    static let table: [UInt64] = {
        var t = [UInt64](repeating: 0, count: 16 * 256)
        for i in 0..<256 {
            var c = UInt64(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ reflectedPolynomial : c >> 1 }
            t[i] = c
        }
        for k in 1..<16 {
            for i in 0..<256 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }()

    /// Below this size a buffer is checksummed as one stream.
    static let interleaveThreshold = 1 << 15

    /// Whether the CPU folds with carry-less multiplication (x86-64 PCLMULQDQ; `CRC64Fold`).
    static let folds = rdbkit_crc64_fold_available() != 0
    /// From this size on, a buffer is folded when ``folds``.
    static let foldThreshold = 256

    static func update(_ crcIn: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        if bytes.count >= foldThreshold && folds, let base = bytes.baseAddress {
            return unsafe folded(crcIn, base, bytes.count)
        }
        return unsafe tableDriven(crcIn, bytes)
    }

    /// The bulk folded 16 bytes at a time by `CRC64Fold` (a third of the tables' CPU on a 1 GB file), then
    /// the 16-byte state and the tail through the tables.
    static func folded(_ crcIn: UInt64, _ base: UnsafeRawPointer, _ count: Int) -> UInt64 {
        var state: (UInt64, UInt64) = (0, 0)
        let n = unsafe withUnsafeMutableBytes(of: &state) { s in
            unsafe rdbkit_crc64_fold(
                crcIn, base.assumingMemoryBound(to: UInt8.self), count, s.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        let c = unsafe withUnsafeBytes(of: &state) { unsafe serial(0, $0) }
        return unsafe serial(c, UnsafeRawBufferPointer(start: base + n, count: count - n))
    }

    /// Slicing-by-16 tables, large buffers in four interleaved quarters.
    static func tableDriven(_ crcIn: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard bytes.count >= interleaveThreshold, let base = bytes.baseAddress else {
            return unsafe serial(crcIn, bytes)
        }
        // Four quarters checksummed in one loop: four independent dependency chains keep the core busy
        // where one chain waits on its table loads. The quarters' CRCs are then joined:
        // crc(A‖B) = crc(A)·x^(8|B|) mod P ⊕ crc(B) (no initial value or final xor to undo).
        let quarter = (bytes.count / 4) & ~15
        var c = unsafe fourWay(crcIn, base, quarter)
        let restStart = 4 * quarter
        let lastLength = bytes.count - 3 * quarter
        let last = unsafe serial(c.3, UnsafeRawBufferPointer(start: base + restStart, count: bytes.count - restStart))
        c.3 = last
        let shiftQuarter = shiftOperator(bytes: quarter)
        var crc = multiply(c.0, shiftQuarter) ^ c.1
        crc = multiply(crc, shiftQuarter) ^ c.2
        crc = multiply(crc, shiftOperator(bytes: lastLength)) ^ c.3
        return crc
    }

    /// The CRCs of four consecutive quarters of `length` bytes each (a multiple of 16): the first
    /// continues `crcIn`, the others start from 0.
    static func fourWay(_ crcIn: UInt64, _ base: UnsafeRawPointer, _ length: Int) -> (UInt64, UInt64, UInt64, UInt64) {
        var c0 = crcIn, c1: UInt64 = 0, c2: UInt64 = 0, c3: UInt64 = 0
        unsafe table.withUnsafeBufferPointer { tp in
            let t = tp.baseAddress!
            @inline(__always) func step(_ crc: UInt64, _ p: UnsafeRawPointer) -> UInt64 {
                let w = unsafe UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) ^ crc
                return unsafe t[7 * 256 + Int(w & 0xFF)] ^ t[6 * 256 + Int((w >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((w >> 16) & 0xFF)] ^ t[4 * 256 + Int((w >> 24) & 0xFF)]
                    ^ t[3 * 256 + Int((w >> 32) & 0xFF)] ^ t[2 * 256 + Int((w >> 40) & 0xFF)]
                    ^ t[1 * 256 + Int((w >> 48) & 0xFF)] ^ t[Int(w >> 56)]
            }
            var i = 0
            while i < length {
                c0 = unsafe step(c0, base + i)
                c1 = unsafe step(c1, base + length + i)
                c2 = unsafe step(c2, base + 2 * length + i)
                c3 = unsafe step(c3, base + 3 * length + i)
                i += 8
            }
        }
        return (c0, c1, c2, c3)
    }

    /// a·b mod P with polynomials in the reflected bit order (bit 63 is x⁰).
    static func multiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var a = a, b = b, product: UInt64 = 0
        while a != 0 {
            if a & (1 << 63) != 0 { product ^= b }
            a <<= 1
            b = (b & 1) != 0 ? (b >> 1) ^ reflectedPolynomial : b >> 1
        }
        return product
    }

    /// x^(8·2^k) mod P for k in 0..<64.
    static let powersOfTwoBytes: [UInt64] = {
        var p = [UInt64](repeating: 0, count: 64)
        p[0] = 1 << (63 - 8)  // x⁸
        for k in 1..<64 { p[k] = multiply(p[k - 1], p[k - 1]) }
        return p
    }()

    /// x^(8·n) mod P: multiplying a CRC by it appends `n` zero bytes.
    static func shiftOperator(bytes n: Int) -> UInt64 {
        var result: UInt64 = 1 << 63  // x⁰
        var n = UInt64(n), k = 0
        while n != 0 {
            if n & 1 != 0 { result = multiply(result, powersOfTwoBytes[k]) }
            n >>= 1
            k += 1
        }
        return result
    }

    static func serial(_ crcIn: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var crc = crcIn
        guard var p = bytes.baseAddress else { return crc }
        var n = bytes.count
        unsafe table.withUnsafeBufferPointer { tp in
            let t = tp.baseAddress!
            while n >= 16 {
                let w0 = unsafe UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) ^ crc
                let w1 = unsafe UInt64(littleEndian: (p + 8).loadUnaligned(as: UInt64.self))
                crc = unsafe t[15 * 256 + Int(w0 & 0xFF)] ^ t[14 * 256 + Int((w0 >> 8) & 0xFF)]
                    ^ t[13 * 256 + Int((w0 >> 16) & 0xFF)] ^ t[12 * 256 + Int((w0 >> 24) & 0xFF)]
                    ^ t[11 * 256 + Int((w0 >> 32) & 0xFF)] ^ t[10 * 256 + Int((w0 >> 40) & 0xFF)]
                    ^ t[9 * 256 + Int((w0 >> 48) & 0xFF)] ^ t[8 * 256 + Int(w0 >> 56)]
                    ^ t[7 * 256 + Int(w1 & 0xFF)] ^ t[6 * 256 + Int((w1 >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((w1 >> 16) & 0xFF)] ^ t[4 * 256 + Int((w1 >> 24) & 0xFF)]
                    ^ t[3 * 256 + Int((w1 >> 32) & 0xFF)] ^ t[2 * 256 + Int((w1 >> 40) & 0xFF)]
                    ^ t[1 * 256 + Int((w1 >> 48) & 0xFF)] ^ t[Int(w1 >> 56)]
                p = unsafe p + 16
                n -= 16
            }
            while n > 0 {
                crc = unsafe t[Int((crc ^ UInt64(p.load(as: UInt8.self))) & 0xFF)] ^ (crc >> 8)
                p = unsafe p + 1
                n -= 1
            }
        }
        return crc
    }
}
