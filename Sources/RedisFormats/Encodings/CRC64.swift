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

    static func update(_ crcIn: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
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
