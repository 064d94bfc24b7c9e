import RedisFormats
import Testing
import _RedisFormatsTestSupport

@Suite("Primitives: CRC64, LZF, globs, integers, UTF-8, and the builder itself")
struct PrimitiveTests {
    // MARK: CRC64

    @Test("CRC64 of \"123456789\" is the Jones check value")
    func crc64CheckValue() {
        #expect(CRC64.checksum(Array("123456789".utf8)) == 0xe9c6_d914_c4b8_d9ca)
        #expect(CRC64.checksum([]) == 0)
    }

    /// The CRC one bit at a time, straight from the definition (reflected 0xAD93D23594C935A9, init 0).
    static func bitwiseCRC64(_ bytes: [UInt8], _ start: UInt64 = 0) -> UInt64 {
        var crc = start
        for b in bytes {
            crc ^= UInt64(b)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x95AC_9329_AC4B_C9B5 : crc >> 1 }
        }
        return crc
    }

    @Test("CRC64 of large buffers (checksummed as four interleaved quarters, then joined) equals the bitwise definition",
          arguments: [32_767, 32_768, 32_769, 65_551, 300_007])
    func crc64LargeBuffers(_ size: Int) {
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(size)
        let bytes = (0..<size).map { _ -> UInt8 in
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return UInt8(truncatingIfNeeded: x)
        }
        let expected = Self.bitwiseCRC64(bytes)
        #expect(CRC64.checksum(bytes) == expected)
        // Continuing a running CRC: the first piece's CRC carries into the interleaved pass.
        var c = CRC64()
        c.update(Array(bytes[..<1001]))
        c.update(Array(bytes[1001...]))
        #expect(c.value == expected)
    }

    @Test("CRC64 of the minimal RDB files gives the formats.md trailers", arguments: [
        ("REDIS0011", [UInt8]([0xc0, 0x22, 0x8a, 0x8d, 0x74, 0x38, 0x97, 0x62])),
        ("REDIS0009", [0x9a, 0xac, 0x7a, 0xbc, 0xfb, 0x0f, 0xad, 0x74]),
    ])
    func crc64MinimalFiles(_ magic: String, _ trailer: [UInt8]) {
        let crc = CRC64.checksum(Array(magic.utf8) + [0xFF])
        #expect(RDBBuilder.littleEndian(crc, width: 8) == trailer)
    }

    @Test("CRC64 of the DUMP payload of SET mykey 10 matches the redis.io example")
    func crc64DumpVector() {
        let payload: [UInt8] = [0x00, 0xc0, 0x0a, 0x09, 0x00]
        #expect(RDBBuilder.littleEndian(CRC64.checksum(payload), width: 8) == [0xbe, 0x6d, 0x06, 0x89, 0x5a, 0x28, 0x00, 0x0a])
    }

    @Test("CRC64 computed in pieces of every size equals the one-shot checksum", arguments: [1, 3, 7, 15, 16, 17, 64])
    func crc64Incremental(_ piece: Int) {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var c = CRC64()
        var i = 0
        while i < data.count {
            c.update(Array(data[i..<min(i + piece, data.count)]))
            i += piece
        }
        #expect(c.value == CRC64.checksum(data))
        #expect(c.value == bitwiseCRC64(data))
    }

    /// The reference bit-by-bit algorithm of formats.md §18.
    private func bitwiseCRC64(_ data: [UInt8]) -> UInt64 {
        var crc: UInt64 = 0
        for b in data {
            crc ^= UInt64(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x95AC_9329_AC4B_C9B5 : crc >> 1 }
        }
        return crc
    }

    // MARK: LZF

    @Test("LZF compresses and decompresses back to the input", arguments: [
        String(repeating: "abc", count: 100), String(repeating: "redis ", count: 2000) + "end",
        (0..<3000).map { String($0 % 97) }.joined(separator: ","),
    ])
    func lzfRoundTrip(_ text: String) throws {
        let input = Array(text.utf8)
        let compressed = try #require(LZF.compress(input, maximumOutput: input.count))
        #expect(compressed.count < input.count)
        #expect(LZF.decompress(compressed, uncompressedLength: input.count) == input)
        #expect(LZF.decompress(compressed, uncompressedLength: input.count - 1) == nil)
        #expect(LZF.decompress(compressed, uncompressedLength: input.count + 1) == nil)
    }

    @Test("A check walks LZF streams without decompressing them and gives lzf_decompress's verdict on damaged streams")
    func lzfValidationAgreesWithDecompression() throws {
        var x: UInt64 = 0x2545_F491_4F6C_DD1D
        func next() -> UInt64 {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return x
        }
        // Compressible text: words from a small vocabulary.
        let words = ["<div>", "</div>", "redis", " ", "class=\"item\"", "0123456789", "lorem", "ipsum"]
        var text: [UInt8] = []
        while text.count < 20_000 { text += Array(words[Int(next() % UInt64(words.count))].utf8) }
        let compressed = try #require(LZF.compress(text, maximumOutput: text.count))
        var rejected = 0
        for round in 0..<2_000 {
            var damaged = compressed
            let flips = 1 + Int(next() % 3)
            for _ in 0..<flips { damaged[Int(next() % UInt64(damaged.count))] ^= UInt8(1 + next() % 255) }
            if round % 4 == 0 { damaged.removeLast(Int(next() % 8)) }
            let length = round % 7 == 0 ? text.count + Int(next() % 5) - 2 : text.count
            // Traps when the walk and lzf_decompress disagree; also reads it as an RDB string in check mode.
            RedisFormatsFuzzing.lzf([UInt8(length & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length >> 16)] + damaged)
            if LZF.decompress(damaged, uncompressedLength: length) == nil { rejected += 1 }
        }
        // Both verdicts occur, so the comparison covered accepted and rejected streams.
        #expect(rejected > 100 && rejected < 2_000)
    }

    @Test("LZF compression of incompressible data within its size fails, so Redis keeps it raw")
    func lzfIncompressible() {
        let input: [UInt8] = (0..<64).map { UInt8($0 * 37 % 251) }
        #expect(LZF.compress(input, maximumOutput: input.count - 4) == nil)
    }

    @Test("LZF rejects corrupt data and impossible lengths")
    func lzfCorrupt() {
        #expect(LZF.decompress([0x1F, 0x41], uncompressedLength: 32) == nil)
        #expect(LZF.decompress([0x00, 0x41, 0x20, 0x05], uncompressedLength: 4) == nil)
        #expect(LZF.decompress([0x00, 0x41], uncompressedLength: 1) == [0x41])
        #expect(LZF.decompress([0x00, 0x41, 0xE0, 0xFF, 0x00], uncompressedLength: 1 + 264) == [UInt8](repeating: 0x41, count: 265))
        #expect(LZF.decompress([0x00, 0x41], uncompressedLength: 1_000_000) == nil)
        #expect(LZF.decompress([0x00, 0x41], uncompressedLength: -1) == nil)
    }

    // MARK: Globs

    @Test("RedisGlob matches as Redis stringmatchlen does", arguments: [
        ("*", "", true), ("*", "anything", true), ("", "", true), ("", "a", false),
        ("user:*", "user:42", true), ("user:*", "users:42", false), ("*:profile", "user:1:profile", true),
        ("h?llo", "hello", true), ("h?llo", "hllo", false), ("h?llo", "heello", false),
        ("h[ae]llo", "hallo", true), ("h[ae]llo", "hillo", false),
        ("h[^e]llo", "hallo", true), ("h[^e]llo", "hello", false),
        ("h[a-b]llo", "hbllo", true), ("h[a-b]llo", "hcllo", false),
        ("[c-a]", "b", true), ("[c-a]", "d", false),
        ("\\*", "*", true), ("\\*", "a", false), ("a\\?b", "a?b", true), ("a\\?b", "axb", false),
        ("[\\]]", "]", true), ("[a\\-z]", "-", true), ("[a\\-z]", "b", false),
        ("[abc", "a", true), ("[abc", "d", false), ("ab[", "ab", false),
        ("a*b*c", "aXbYc", true), ("a*b*c", "aXbY", false), ("a**b", "ab", true),
        ("*a", "baaa", true), ("*a*b", "xaxxb", true),
        ("[[]", "[", true), ("[]]", "]", false),
    ])
    func globMatches(_ pattern: String, _ subject: String, _ expected: Bool) {
        #expect(RedisGlob(pattern).matches(RedisBytes(subject)) == expected)
    }

    @Test("RedisGlob matches bytes, not characters")
    func globBytes() {
        #expect(RedisGlob("?").matches(RedisBytes("é")) == false)
        #expect(RedisGlob("??").matches(RedisBytes("é")) == true)
        #expect(RedisGlob("a*").matches([0x61, 0xFF, 0x00]))
    }

    @Test("RedisGlob can ignore ASCII case")
    func globNoCase() {
        #expect(RedisGlob("USER:[A-C]*", ignoresCase: true).matches(RedisBytes("user:bob")))
        #expect(!RedisGlob("USER:*").matches(RedisBytes("user:bob")))
    }

    @Test("Patterns with many stars on long strings finish fast")
    func globPathological() {
        let subject = RedisBytes(String(repeating: "a", count: 20_000))
        let pattern = RedisGlob(String(repeating: "*a", count: 40) + "b")
        let start = ContinuousClock.now
        #expect(!pattern.matches(subject))
        #expect(RedisGlob(String(repeating: "a*", count: 40)).matches(subject))
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test("A glob's literal prefix stops at the first special character")
    func globLiteralPrefix() {
        #expect(RedisGlob("user:*").literalPrefix == Array("user:".utf8))
        #expect(RedisGlob("a\\*b?").literalPrefix == Array("a*b".utf8))
        #expect(RedisGlob("[ab]").literalPrefix == [])
        #expect(RedisGlob("*").matchesEverything)
        #expect(!RedisGlob("a*").matchesEverything)
    }

    // MARK: Integers

    @Test("RedisInteger.parse follows string2ll", arguments: [
        ("0", Int64?.some(0)), ("-0", nil), ("007", nil), ("+5", nil), (" 12", nil), ("12 ", nil), ("", nil),
        ("-", nil), ("1", 1), ("-1", -1), ("42", 42), ("9223372036854775807", .max), ("-9223372036854775808", .min),
        ("9223372036854775808", nil), ("-9223372036854775809", nil), ("99999999999999999999", nil), ("1e3", nil),
        ("0x10", nil), ("00", nil), ("-01", nil),
    ])
    func integerParse(_ text: String, _ expected: Int64?) {
        #expect(RedisInteger.parse(Array(text.utf8)) == expected)
        #expect(RedisBytes(text).int64Value == expected)
    }

    @Test("RedisInteger.text is the decimal form")
    func integerText() {
        #expect(RedisInteger.text(Int64.min) == Array("-9223372036854775808".utf8))
        #expect(RedisInteger.text(0) == Array("0".utf8))
    }

    // MARK: UTF-8

    @Test("UTF8Validation accepts well-formed UTF-8 only", arguments: [
        ([UInt8](), true), (Array("ascii".utf8), true), (Array("é日本😀".utf8), true),
        ([0xC0, 0x80], false), ([0xC1, 0xBF], false), ([0xE0, 0x80, 0x80], false), ([0xED, 0xA0, 0x80], false),
        ([0xF4, 0x90, 0x80, 0x80], false), ([0xF5, 0x80, 0x80, 0x80], false), ([0x80], false), ([0xC3], false),
        ([0xE6, 0x97], false), ([0xEF, 0xBF, 0xBF], true), ([0xF4, 0x8F, 0xBF, 0xBF], true), ([0xFF], false),
        ([0xE2, 0x28, 0xA1], false),
    ])
    func utf8Validation(_ bytes: [UInt8], _ valid: Bool) {
        #expect(UTF8Validation.isValid(bytes) == valid)
        #expect((RedisBytes(bytes).utf8String != nil) == valid)
    }

    @Test("RedisBytes compares as memcmp and escapes like redis-cli")
    func redisBytes() {
        #expect(RedisBytes([0x61]) < RedisBytes([0x61, 0x00]))
        #expect(RedisBytes([0x7F]) < RedisBytes([0x80]))
        #expect(RedisBytes("é") != RedisBytes("e\u{301}"))
        #expect(RedisBytes([0x61, 0x0D, 0x0A, 0xFF, 0x22]).escapedDescription == "\"a\\r\\n\\xff\\\"\"")
    }

    // MARK: The builder

    @Test("The builder's ziplist matches the ziplist.c example [\"2\", \"5\"]")
    func builderZiplistExample() {
        var zl = ZiplistBuilder()
        zl.element("2")
        zl.element("5")
        #expect(zl.build() == [0x0f, 0, 0, 0, 0x0c, 0, 0, 0, 0x02, 0x00, 0x00, 0xf3, 0x02, 0xf6, 0xff])
    }

    @Test("The builder's listpack back-lengths follow lpEncodeBacklen", arguments: [
        (1, [UInt8]([1])), (127, [127]), (128, [1, 0x80]), (200, [0x01, 0xC8]), (16382, [127, 0xFE]),
        (16383, [0x00, 0xFF, 0xFF]), (2_097_151, [0x00, 0xFF, 0xFF, 0xFF]),
    ])
    func builderBacklen(_ length: Int, _ bytes: [UInt8]) {
        #expect(ListpackBuilder.encodeBacklen(length) == bytes)
    }

    @Test("The builder's lengths use every width", arguments: [
        (UInt64(5), RDBBuilder.LengthWidth.smallest, [UInt8]([0x05])), (64, .smallest, [0x40, 0x40]),
        (16384, .smallest, [0x80, 0, 0, 0x40, 0]), (1 << 32, .smallest, [0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
        (5, .bits14, [0x40, 0x05]), (5, .bits32, [0x80, 0, 0, 0, 5]), (5, .bits64, [0x81, 0, 0, 0, 0, 0, 0, 0, 5]),
    ])
    func builderLengths(_ v: UInt64, _ width: RDBBuilder.LengthWidth, _ bytes: [UInt8]) {
        #expect(RDBBuilder.encodeLength(v, width: width) == bytes)
    }

    @Test("The builder reproduces the Valkey 9 HASH_2 fixture bytes of formats.md")
    func builderValkeyHash2Fixture() {
        var b = RDBBuilder()
        b.key(22, "hash2-hfe")
        b.length(3)
        b.string("F1")
        b.string("V1")
        b.int64LE(0x0000_0278_5170_3840)
        #expect(b.bytes == [0x16, 0x09] + Array("hash2-hfe".utf8) + [0x03, 0x02] + Array("F1".utf8) + [0x02]
            + Array("V1".utf8) + [0x40, 0x38, 0x70, 0x51, 0x78, 0x02, 0x00, 0x00])
    }

    @Test("The builder reproduces the Redis 7.4 type 24 fixture bytes of formats.md")
    func builderHashMetadataFixture() {
        var b = RDBBuilder()
        b.key(24, "hash-hfe")
        b.uint64LE(0x0000_0281_8f8d_1555)
        b.length(8)
        b.length(0x000F_544E, width: .bits32)
        b.string("F2")
        b.string("V2")
        b.length(0)
        b.string("F5")
        #expect(b.bytes == [0x18, 0x08] + Array("hash-hfe".utf8)
            + [0x55, 0x15, 0x8d, 0x8f, 0x81, 0x02, 0x00, 0x00, 0x08, 0x80, 0x00, 0x0f, 0x54, 0x4e, 0x02]
            + Array("F2".utf8) + [0x02] + Array("V2".utf8) + [0x00, 0x02] + Array("F5".utf8))
    }

    @Test("The builder's key-metadata class spec decodes back through RDBKeyMetadata")
    func builderKeyMetaSpec() throws {
        let spec = RDBBuilder.keyMetaClassSpec(name: "Zz9-", version: 17, flags: 5)
        var b = RDBBuilder(redisVersion: 13)
        b.keyMeta([(spec, ModuleOpcodes().eof())])
        b.stringKey("k", "v")
        b.eof()
        let (keys, _) = try RDBTestReading.read(b.bytes)
        let m = try #require(keys.first?.header.metadata.first)
        #expect(m.className == "Zz9-")
        #expect(m.classVersion == 17)
        #expect(m.allowsIgnore)
    }
}
