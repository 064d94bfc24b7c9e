import Testing

@testable import RedisFormats

// The carry-less-multiplication CRC64 (CRC64Fold) against the bitwise definition and the table-driven path.

@Suite("CRC64 by carry-less multiplication")
struct CRC64FoldTests {
    static func bytes(_ n: Int, seed: UInt64) -> [UInt8] {
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ seed
        return (0..<n).map { _ -> UInt8 in
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return UInt8(truncatingIfNeeded: x)
        }
    }

    #if arch(x86_64)
    @Test("x86-64 CPUs of this project's machines fold (PCLMULQDQ), so the fast path is the one tested")
    func available() {
        #expect(CRC64.folds)
    }
    #endif

    @Test(
        "folded CRCs equal the bitwise definition for every length class, from 0 and continuing a CRC",
        .enabled(if: CRC64.folds),
        arguments: [16, 17, 31, 32, 112, 127, 128, 129, 143, 144, 191, 192, 255, 256, 257, 1000, 4099, 65_551])
    func folded(length: Int) {
        let data = Self.bytes(length, seed: UInt64(length))
        for start: UInt64 in [0, 0x0123_4567_89AB_CDEF, .max] {
            let expected = PrimitiveTests.bitwiseCRC64(data, start)
            let got = data.withUnsafeBytes { CRC64.folded(start, $0.baseAddress!, $0.count) }
            #expect(got == expected, "length \(length), start \(start)")
            #expect(data.withUnsafeBytes { CRC64.tableDriven(start, $0) } == expected)
        }
    }
}
