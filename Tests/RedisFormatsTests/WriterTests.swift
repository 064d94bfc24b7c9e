import Foundation
import Testing
import _RedisFormatsTestSupport

@testable import RedisFormats

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// The test support library has byte-level builders of the same names; these are the library's own.
private typealias LibListpack = RedisFormats.ListpackBuilder
private typealias LibZiplist = RedisFormats.ZiplistBuilder
private typealias LibIntset = RedisFormats.IntsetBuilder
private typealias LibPackInput = RedisFormats.PackInput

// The writer side: the compact-encoding builders against the reader's deep validation, RDBEncoding against
// what Redis itself writes (corpus DUMP payloads), every corpus RDB rewritten for every writable target and
// read back, the rewriter's filters, merges and refusals, and cluster slots.

/// A compact-encoding element for parameterized tests: an integer, or a string of `n` bytes.
enum PackElement: Sendable, Hashable, CustomTestStringConvertible {
    case int(Int64)
    case string(Int)

    fileprivate var input: LibPackInput {
        switch self {
        case .int(let v): .int(v)
        case .string(let n): .bytes(Self.bytes(n))
        }
    }

    /// `n` bytes that never parse as an integer (they start with a letter).
    static func bytes(_ n: Int) -> [UInt8] {
        (0..<n).map { i in i == 0 ? UInt8(ascii: "s") : UInt8(truncatingIfNeeded: 32 + i % 90) }
    }

    /// What a reader must give back.
    var expected: RedisBytes {
        switch self {
        case .int(let v): RedisBytes(RedisInteger.text(v))
        case .string(let n): RedisBytes(Self.bytes(n))
        }
    }

    var testDescription: String {
        switch self {
        case .int(let v): "int \(v)"
        case .string(let n): "\(n)-byte string"
        }
    }
}

/// Reads every element of a listpack blob with deep validation.
func listpackElements(_ blob: [UInt8]) throws -> [RedisBytes] {
    try blob.withUnsafeBytes { p in
        var it = try ListpackIterator(p, deep: true)
        var out: [RedisBytes] = []
        while let v = try it.next() { out.append(v.redisBytes) }
        return out
    }
}

/// Reads every element of a ziplist blob with deep validation.
func ziplistElements(_ blob: [UInt8]) throws -> [RedisBytes] {
    try blob.withUnsafeBytes { p in
        var it = try ZiplistIterator(p, deep: true)
        var out: [RedisBytes] = []
        while let v = try it.next() { out.append(v.redisBytes) }
        return out
    }
}

extension BlobFailure: CustomStringConvertible {
    public var description: String { "\(message) at blob offset \(position)" }
}

@Suite("RDB writer: encoders")
struct WriterEncoderTests {
    // MARK: Listpack

    /// Every listpack entry-encoding boundary, with the first byte and the entry size (encoding + data,
    /// without the back-length) listpack.c gives it.
    static let listpackBoundaries: [(PackElement, UInt8, Int)] = [
        (.int(0), 0x00, 1), (.int(127), 0x7F, 1),
        (.int(128), 0xC0, 2), (.int(-1), 0xDF, 2), (.int(-4096), 0xD0, 2), (.int(4095), 0xCF, 2),
        (.int(4096), 0xF1, 3), (.int(-4097), 0xF1, 3), (.int(32767), 0xF1, 3), (.int(-32767), 0xF1, 3),
        (.int(-32768), 0xF1, 3),
        (.int(32768), 0xF2, 4), (.int(-32769), 0xF2, 4), (.int(8_388_607), 0xF2, 4), (.int(-8_388_607), 0xF2, 4),
        (.int(-8_388_608), 0xF2, 4),
        (.int(8_388_608), 0xF3, 5), (.int(-8_388_609), 0xF3, 5), (.int(Int64(Int32.max)), 0xF3, 5),
        (.int(Int64(Int32.min)), 0xF3, 5),
        (.int(Int64(Int32.max) + 1), 0xF4, 9), (.int(Int64(Int32.min) - 1), 0xF4, 9), (.int(.max), 0xF4, 9),
        (.int(.min), 0xF4, 9),
        (.string(0), 0x80, 1), (.string(1), 0x81, 2), (.string(63), 0xBF, 64),
        (.string(64), 0xE0, 66), (.string(125), 0xE0, 127), (.string(126), 0xE0, 128), (.string(4095), 0xEF, 4097),
        (.string(4096), 0xF0, 4101), (.string(16377), 0xF0, 16382), (.string(16378), 0xF0, 16383),
        (.string(70000), 0xF0, 70005),
    ]

    @Test(
        "ListpackBuilder entries pass the reader's deep validation at every encoding boundary",
        arguments: listpackBoundaries)
    func listpackBoundary(element: PackElement, firstByte: UInt8, entrySize: Int) throws {
        // Alone, then between other entries (back-lengths are read right to left from the next entry).
        for elements in [[element], [.int(1), element, .string(3), element, .int(-70000)]] {
            var b = LibListpack()
            for e in elements { b.append(e.input) }
            let blob = b.finish()
            #expect(blob.count == b.totalBytes)
            #expect(blob.count == 6 + elements.reduce(0) { $0 + LibListpack.entrySize($1.input) } + 1)
            let back = try listpackElements(blob)
            #expect(back == elements.map(\.expected))
        }
        var single = LibListpack()
        single.append(element.input)
        let blob = single.finish()
        #expect(blob[6] == firstByte, "encoding byte \(hexByte(blob[6])), expected \(hexByte(firstByte))")
        #expect(LibListpack.encodedLength(element.input) == entrySize)
        #expect(blob.count == 6 + entrySize + Listpack.backlenBytes(entrySize) + 1)
    }

    @Test("A listpack of more than 65535 entries stores the unknown count and still validates")
    func listpackManyEntries() throws {
        var b = LibListpack()
        for i in 0..<70_000 { b.append(.int(Int64(i % 300))) }
        let blob = b.finish()
        #expect(blob[4] == 0xFF && blob[5] == 0xFF)
        let back = try listpackElements(blob)
        #expect(back.count == 70_000)
        #expect(back.last == RedisBytes(RedisInteger.text(69_999 % 300)))
    }

    @Test("An empty listpack is the header and the terminator")
    func emptyListpack() throws {
        let blob = LibListpack().finish()
        #expect(blob == [7, 0, 0, 0, 0, 0, 0xFF])
        #expect(try listpackElements(blob).isEmpty)
    }

    @Test(
        "Text is packed as an integer exactly when string2ll accepts it",
        arguments: [
            ("0", true), ("-1", true), ("123", true), ("-9223372036854775808", true), ("9223372036854775807", true),
            ("9223372036854775808", false), ("-0", false), ("007", false), ("+5", false), (" 1", false), ("1 ", false),
            ("1e3", false), ("", false), ("-", false), ("1.5", false),
        ])
    func packInputIntegers(text: String, packsAsInteger: Bool) throws {
        let input = LibPackInput(RedisBytes(text))
        if case .int = input { #expect(packsAsInteger) } else { #expect(!packsAsInteger) }
        var lp = LibListpack()
        lp.append(input)
        #expect(try listpackElements(lp.finish()) == [RedisBytes(text)])
        var zl = LibZiplist()
        zl.append(LibPackInput(RedisBytes(text), maximumIntegerText: 31))
        #expect(try ziplistElements(zl.finish()) == [RedisBytes(text)])
    }

    // MARK: Ziplist

    /// Every ziplist encoding boundary with the encoding byte ziplist.c gives it.
    static let ziplistBoundaries: [(PackElement, UInt8)] = [
        (.int(0), 0xF1), (.int(12), 0xFD), (.int(13), 0xFE), (.int(-1), 0xFE), (.int(127), 0xFE), (.int(-128), 0xFE),
        (.int(128), 0xC0), (.int(-129), 0xC0), (.int(32767), 0xC0), (.int(-32768), 0xC0),
        (.int(32768), 0xF0), (.int(-32769), 0xF0), (.int(8_388_607), 0xF0), (.int(-8_388_608), 0xF0),
        (.int(8_388_608), 0xD0), (.int(-8_388_609), 0xD0), (.int(Int64(Int32.max)), 0xD0),
        (.int(Int64(Int32.min)), 0xD0),
        (.int(Int64(Int32.max) + 1), 0xE0), (.int(.min), 0xE0), (.int(.max), 0xE0),
        (.string(0), 0x00), (.string(63), 0x3F), (.string(64), 0x40), (.string(250), 0x40), (.string(251), 0x40),
        (.string(16383), 0x7F), (.string(16384), 0x80), (.string(70000), 0x80),
    ]

    @Test(
        "ZiplistBuilder entries pass the reader's deep validation at every encoding boundary",
        arguments: ziplistBoundaries)
    func ziplistBoundary(element: PackElement, encoding: UInt8) throws {
        // Alone, then around it: a 253- and a 254-byte entry before (1- and 5-byte prevlen after them).
        for elements in [[element], [.string(250), element, .string(251), element, .int(7)]] {
            var b = LibZiplist()
            for e in elements { b.append(e.input) }
            let blob = b.finish()
            #expect(blob.count == b.totalBytes)
            #expect(try ziplistElements(blob) == elements.map(\.expected))
        }
        var single = LibZiplist()
        single.append(element.input)
        let blob = single.finish()
        #expect(blob[10] == 0, "first prevlen")
        #expect(blob[11] == encoding, "encoding byte \(hexByte(blob[11])), expected \(hexByte(encoding))")
    }

    @Test("Ziplist prevlen switches from 1 to 5 bytes after a 254-byte entry")
    func ziplistPrevlenWidth() throws {
        var b = LibZiplist()
        b.append(.bytes(PackElement.bytes(250)))  // 1 + 2 + 250 = 253
        b.append(.int(1))
        b.append(.bytes(PackElement.bytes(251)))  // 1 + 2 + 251 = 254
        b.append(.int(2))
        let blob = b.finish()
        #expect(blob[10 + 253] == 253)
        let third = 10 + 253 + 2
        let fourth = third + 254
        #expect(Array(blob[fourth..<(fourth + 5)]) == [0xFE, 254, 0, 0, 0])
        #expect(try ziplistElements(blob).count == 4)
    }

    @Test("An empty ziplist points its tail at the header end")
    func emptyZiplist() throws {
        let blob = LibZiplist().finish()
        #expect(blob == [11, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0xFF])
        #expect(try ziplistElements(blob).isEmpty)
    }

    // MARK: Intset

    @Test(
        "IntsetBuilder picks the narrowest width and sorts unique members",
        arguments: [
            ([3, 1, 2, 2, -5], 2), ([32767, -32768], 2), ([32768], 4), ([-32769, 0], 4),
            ([Int64(Int32.max), Int64(Int32.min)], 4), ([Int64(Int32.max) + 1], 8), ([Int64(Int32.min) - 1, 5], 8),
            ([.min, .max, 0, 0], 8),
        ] as [([Int64], Int)])
    func intsetWidth(values: [Int64], width: Int) throws {
        let blob = LibIntset.build(values)
        #expect(Array(blob[0..<4]) == [UInt8(width), 0, 0, 0])
        let expected = Array(Set(values)).sorted()
        #expect(blob.count == 8 + expected.count * width)
        var back: [Int64] = []
        let r = try blob.withUnsafeBytes { p in
            try Intset.forEach(p, deep: true) { (v: Int64) throws(BlobFailure) in back.append(v) }
        }
        #expect((try? r.get()) == expected.count)
        #expect(back == expected)
    }

    // MARK: Strings and lengths

    @Test(
        "appendString uses Redis's integer encodings for canonical text of at most 11 bytes",
        arguments: [
            ("0", [0xC0, 0x00]), ("-1", [0xC0, 0xFF]), ("127", [0xC0, 0x7F]), ("-128", [0xC0, 0x80]),
            ("128", [0xC1, 0x80, 0x00]), ("-129", [0xC1, 0x7F, 0xFF]), ("32767", [0xC1, 0xFF, 0x7F]),
            ("-32768", [0xC1, 0x00, 0x80]), ("32768", [0xC2, 0x00, 0x80, 0x00, 0x00]),
            ("2147483647", [0xC2, 0xFF, 0xFF, 0xFF, 0x7F]), ("-2147483648", [0xC2, 0x00, 0x00, 0x00, 0x80]),
            ("2147483648", [10] + Array("2147483648".utf8)), ("-0", [2] + Array("-0".utf8)),
            ("007", [3] + Array("007".utf8)), ("+5", [2] + Array("+5".utf8)), (" 12", [3] + Array(" 12".utf8)),
            ("", [0]),
        ] as [(String, [UInt8])])
    func appendStringIntegers(text: String, bytes: [UInt8]) {
        var out: [UInt8] = []
        RDBEncoding.appendString(Array(text.utf8), compress: true, to: &out)
        #expect(out == bytes)
    }

    @Test(
        "appendLength uses the shortest of the 6-, 14-, 32- and 64-bit forms",
        arguments: [
            (0, [0x00]), (63, [0x3F]), (64, [0x40, 0x40]), (16383, [0x7F, 0xFF]), (16384, [0x80, 0, 0, 0x40, 0]),
            (UInt64(UInt32.max), [0x80, 0xFF, 0xFF, 0xFF, 0xFF]),
            (UInt64(UInt32.max) + 1, [0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
        ] as [(UInt64, [UInt8])])
    func appendLength(value: UInt64, bytes: [UInt8]) {
        var out: [UInt8] = []
        RDBEncoding.appendLength(value, to: &out)
        #expect(out == bytes)
    }

    @Test("appendString LZF-compresses strings over 20 bytes only when that saves at least 4 bytes")
    func appendStringLZF() throws {
        let compressible = Array(String(repeating: "abcd", count: 40).utf8)
        var out: [UInt8] = []
        RDBEncoding.appendString(compressible, compress: true, to: &out)
        #expect(out.first == 0xC3)
        let strings = try RDBTestReading.read(Self.stringFile(out)).keys.map(\.value)
        #expect(strings == [.string(RedisBytes(compressible))])

        var plain: [UInt8] = []
        RDBEncoding.appendString(compressible, compress: false, to: &plain)
        #expect(plain == [0x40, 160] + compressible)

        // 20 bytes: never compressed; random bytes: LZF does not shrink them, kept raw.
        let twenty = Array(repeating: UInt8(ascii: "a"), count: 20)
        var short: [UInt8] = []
        RDBEncoding.appendString(twenty, compress: true, to: &short)
        #expect(short == [20] + twenty)
        var rng = SystemRandomNumberGenerator()
        let noise = (0..<300).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var raw: [UInt8] = []
        RDBEncoding.appendString(noise, compress: true, to: &raw)
        #expect(raw == [0x41, 0x2C] + noise)
    }

    /// A minimal RDB 10 file holding one string key whose value bytes are `encodedValue`.
    static func stringFile(_ encodedValue: [UInt8]) -> [UInt8] {
        var b = Array("REDIS0010".utf8)
        b += [0xFE, 0x00, 0x00, 0x01, UInt8(ascii: "k")] + encodedValue + [0xFF]
        b += [UInt8](repeating: 0, count: 8)
        return b
    }

    /// String keys of every corpus RDB with the DUMP payload the live server produced for them.
    static let dumpedStrings: [String] = Corpus.fixtureRDBsWithExpected().filter { !$0.hasSuffix("/empty.rdb") }

    @Test("appendString writes every corpus string exactly as the server's DUMP payload does", arguments: dumpedStrings)
    func appendStringMatchesDump(file: String) throws {
        let expected = try ExpectedContent(path: try #require(Corpus.expectedPath(forRDB: Corpus.fixture(file))))
        let config = expected.document["config"] as? [String: Any] ?? [:]
        let compress = (config["rdbcompression"] as? String ?? "yes") == "yes"
        var checked = 0
        var intChecked = 0
        var mismatches: [String] = []
        for (k, entry) in expected.keys where entry["type"] as? String == "string" {
            guard let b64 = entry["dump_b64"] as? String, let dump = Data(base64Encoded: b64).map(Array.init),
                dump.count > 11, dump[0] == 0, let value = ExpectedContent.bytes(entry["value"])
            else { continue }
            let body = Array(dump[1..<(dump.count - 10)])
            var out: [UInt8] = []
            RDBEncoding.appendString(value, compress: compress, to: &out)
            if out != body {
                mismatches.append(
                    "\(k): wrote \(out.prefix(12).map { hexByte($0) }) (\(out.count) bytes), server \(body.prefix(12).map { hexByte($0) }) (\(body.count) bytes)"
                )
            }
            if entry["encoding"] as? String == "int" { intChecked += 1 }
            checked += 1
        }
        #expect(checked > 0 || !file.contains("all-types"), "no string key with a DUMP payload in \(file)")
        if file.contains("all-types") { #expect(intChecked >= 10) }
        #expect(
            mismatches.isEmpty,
            "\(mismatches.count) of \(checked) differ: \(mismatches.prefix(5).joined(separator: "; "))")
    }
}

// MARK: - Writing hand-made values

@Suite("RDB writer: encodings chosen per target")
struct WriterTargetEncodingTests {
    static let writableTargets = RDBTarget.knownNames.filter { RDBTarget.named($0)?.isWritable == true }

    static func stream() -> RedisStream {
        var entries: [StreamEntry] = []
        for i in 0..<250 {
            let fields: [StreamField] =
                i % 7 == 3
                ? [StreamField(name: "other", value: RedisBytes(String(i))), StreamField(name: "x", value: "")]
                : [
                    StreamField(name: "temp", value: RedisBytes(String(i * 3))),
                    StreamField(name: "name", value: RedisBytes("n\(i)")),
                ]
            entries.append(
                StreamEntry(id: StreamID(ms: 1_700_000_000_000 + UInt64(i / 3), seq: UInt64(i % 3)), fields: fields))
        }
        let last = entries.last!.id
        let pel = [
            StreamPendingEntry(
                id: entries[1].id, deliveryTime: RedisTimestamp(milliseconds: 1_700_000_100_000), deliveryCount: 2,
                consumer: "alice"),
            StreamPendingEntry(
                id: entries[5].id, deliveryTime: RedisTimestamp(milliseconds: 1_700_000_100_500), deliveryCount: 1,
                consumer: "bob"),
        ]
        let g1 = StreamConsumerGroup(
            name: "g1", lastDeliveredID: entries[5].id, entriesRead: 6, pending: pel,
            consumers: [
                StreamConsumer(
                    name: "alice", seenTime: RedisTimestamp(milliseconds: 1_700_000_200_000),
                    activeTime: RedisTimestamp(milliseconds: 1_700_000_150_000), pending: [entries[1].id]),
                StreamConsumer(
                    name: "bob", seenTime: RedisTimestamp(milliseconds: 1_700_000_200_001),
                    activeTime: RedisTimestamp(milliseconds: 1_700_000_200_001), pending: [entries[5].id]),
                StreamConsumer(
                    name: "carol", seenTime: RedisTimestamp(milliseconds: 1_700_000_200_002),
                    activeTime: RedisTimestamp(milliseconds: 1_700_000_200_002), pending: []),
            ])
        let g2 = StreamConsumerGroup(name: "g2", lastDeliveredID: .zero, entriesRead: nil, pending: [], consumers: [])
        return RedisStream(
            entries: entries,
            metadata: StreamMetadata(
                length: UInt64(entries.count), lastID: StreamID(ms: last.ms + 5, seq: 0), firstID: entries[0].id,
                maxDeletedEntryID: StreamID(ms: last.ms + 5, seq: 0), entriesAdded: UInt64(entries.count + 3)),
            groups: [g1, g2])
    }

    /// Keys whose encodings sit on every threshold, with the type each target must choose (by RDB version).
    static func keys() -> [(name: String, value: RedisValue, type: (RDBTarget) -> RDBValueType)] {
        let strs = { (n: Int, len: Int) in
            (0..<n).map { RedisBytes("m\($0)-" + String(repeating: "x", count: max(0, len - 2 - String($0).count))) }
        }
        let smallScores: [Double] = [
            -.infinity, .infinity, -0.0, 0.1, 1e300, -2.5, 3, 9_007_199_254_740_993, 1e15, 12_345_678_901_234_567,
            5e-324,
        ]
        return [
            ("s-int", .string("12345"), { _ in .string }),
            ("s-long", .string(RedisBytes(String(repeating: "abc", count: 100))), { _ in .string }),
            ("s-bin", .string(RedisBytes((0...255).map { UInt8($0) })), { _ in .string }),
            (
                "l-small", .list(["a", "1", "-5", "99999999999", "", "-0"]),
                { $0.rdbVersion >= 10 ? .listQuicklist2 : .listQuicklist }
            ),
            (
                "l-nodes", .list((0..<3000).map { RedisBytes("element-\($0)") }),
                { $0.rdbVersion >= 10 ? .listQuicklist2 : .listQuicklist }
            ),
            (
                "l-huge",
                .list([
                    RedisBytes(String(repeating: "h", count: 20000)), "x",
                    RedisBytes(String(repeating: "y", count: 9000)),
                ]),
                { $0.rdbVersion >= 10 ? .listQuicklist2 : .listQuicklist }
            ),
            ("set-ints", .set(["5", "1", "-3", "300", "70000"]), { _ in .setIntset }),
            ("set-wide", .set(["-9223372036854775808", "0", "9223372036854775807"]), { _ in .setIntset }),
            ("set-513", .set((0..<513).map { RedisBytes(String($0)) }), { _ in .set }),
            ("set-512", .set((0..<512).map { RedisBytes(String($0 * 7)) }), { _ in .setIntset }),
            ("set-strs", .set(["a", "b", "1", "c"]), { $0.rdbVersion >= 11 ? .setListpack : .set }),
            ("set-128", .set(strs(128, 64)), { $0.rdbVersion >= 11 ? .setListpack : .set }),
            ("set-129", .set(strs(129, 8)), { _ in .set }),
            ("set-65b", .set(strs(3, 65)), { _ in .set }),
            (
                "z-small",
                .sortedSet(
                    smallScores.enumerated().map {
                        SortedSetEntry(member: RedisBytes("m\($0.offset)"), score: $0.element)
                    }),
                { $0.rdbVersion >= 10 ? .zsetListpack : .zsetZiplist }
            ),
            (
                "z-128",
                .sortedSet((0..<128).map { SortedSetEntry(member: RedisBytes(String($0)), score: Double($0) / 3) }),
                { $0.rdbVersion >= 10 ? .zsetListpack : .zsetZiplist }
            ),
            (
                "z-129",
                .sortedSet((0..<129).map { SortedSetEntry(member: RedisBytes("m\($0)"), score: Double($0 % 10)) }),
                { $0.rdbVersion >= 8 ? .zset2 : .zset }
            ),
            (
                "z-long",
                .sortedSet([
                    SortedSetEntry(member: RedisBytes(String(repeating: "z", count: 65)), score: -.infinity),
                    SortedSetEntry(member: "b", score: 0.30000000000000004),
                    SortedSetEntry(member: "c", score: .infinity),
                ]),
                { $0.rdbVersion >= 8 ? .zset2 : .zset }
            ),
            (
                "h-small",
                .hash([
                    HashField(field: "a", value: "1"), HashField(field: "b", value: "x"),
                    HashField(field: "100", value: ""),
                ]),
                { $0.rdbVersion >= 10 ? .hashListpack : .hashZiplist }
            ),
            (
                "h-64b",
                .hash([
                    HashField(
                        field: RedisBytes(String(repeating: "f", count: 64)),
                        value: RedisBytes(String(repeating: "v", count: 64)))
                ]),
                { $0.rdbVersion >= 10 ? .hashListpack : .hashZiplist }
            ),
            (
                "h-65b", .hash([HashField(field: "f", value: RedisBytes(String(repeating: "v", count: 65)))]),
                { _ in .hash }
            ),
            (
                "h-600", .hash((0..<600).map { HashField(field: RedisBytes("f\($0)"), value: RedisBytes(String($0))) }),
                { _ in .hash }
            ),
            (
                "stream", .stream(stream()),
                { $0.rdbVersion >= 11 ? .streamListpacks3 : $0.rdbVersion == 10 ? .streamListpacks2 : .streamListpacks }
            ),
            (
                "stream-empty",
                .stream(
                    RedisStream(
                        entries: [],
                        metadata: StreamMetadata(
                            length: 0, lastID: StreamID(ms: 5, seq: 0), firstID: .zero,
                            maxDeletedEntryID: StreamID(ms: 5, seq: 0), entriesAdded: 2),
                        groups: [
                            StreamConsumerGroup(
                                name: "g", lastDeliveredID: StreamID(ms: 5, seq: 0), entriesRead: 2, pending: [],
                                consumers: [])
                        ])),
                { $0.rdbVersion >= 11 ? .streamListpacks3 : $0.rdbVersion == 10 ? .streamListpacks2 : .streamListpacks }
            ),
        ]
    }

    @Test(
        "RDBWriter picks each target's encoding at every threshold and the file reads back alike",
        arguments: writableTargets)
    func handMadeValues(targetName: String) throws {
        let target = try #require(RDBTarget.named(targetName))
        let tmp = try TemporaryDirectory("writer")
        defer { tmp.remove() }
        let path = tmp("hand.rdb")
        let writer = try RDBWriter(output: try SafeOutputFile(path: path), target: target)
        try writer.writeStandardAux(ctime: 1_700_000_000, usedMemory: 0)
        var source: [CorpusKey: RDBReadResult.KeyValue] = [:]
        var types: [CorpusKey: RDBValueType] = [:]
        for (i, k) in Self.keys().enumerated() {
            if case .stream = k.value, target.rdbVersion < 9 { continue }
            var h = RDBKeyHeader(db: UInt64(i % 3), key: RedisBytes(k.name), valueType: .string)
            if i % 4 == 1 { h.expiresAt = RedisTimestamp(milliseconds: 4_102_444_800_000 + Int64(i)) }
            if i % 5 == 2 { h.lfuFrequency = UInt8(i) }
            if i % 5 == 3 { h.lruIdleSeconds = UInt64(i * 1000) }
            let loss = try writer.writeKey(h, value: k.value)
            #expect(loss.fieldTTLs == 0)
            let ck = CorpusKey(db: h.db, key: h.key.bytes)
            source[ck] = .make(header: h, value: k.value)
            types[ck] = k.type(target)
            if k.name == "stream" {
                let sv = streamVersion(of: k.type(target))
                #expect(Set(loss.streamFields) == ContentComparison.streamFieldsLost(Self.stream(), writtenVersion: sv))
            }
        }
        try writer.finish()
        let written = try RDBSnapshot(path: path)
        #expect(written.header.magic == target.magic)
        #expect(written.header.version == target.rdbVersion)
        if case .verified = written.checksum {
        } else {
            Issue.record("checksum \(String(describing: written.checksum))")
        }
        for (k, t) in types.sorted(by: { $0.key.description < $1.key.description }) {
            #expect(
                written.keys[k]?.header.valueType == t,
                "\(k) written as \(String(describing: written.keys[k]?.header.valueType)), expected \(t)")
        }
        let sLong = written.keys.first { $0.key.key == Array("s-long".utf8) }?.value.header
        #expect(sLong?.stringEncoding == .lzf)
        let sInt = written.keys.first { $0.key.key == Array("s-int".utf8) }?.value.header
        #expect(sInt?.stringEncoding == .int)
        // A source snapshot for the comparison: the hand-made values as a v3 stream source.
        var c = ContentComparison()
        c.comparesEvictionHints = target.rdbVersion >= 9
        for (k, kv) in source {
            guard let w = written.keys[k] else {
                Issue.record("\(k) missing")
                continue
            }
            var a = kv
            a.header.valueType = a.value.isStream ? .streamListpacks3 : w.header.valueType
            if !c.comparesEvictionHints {
                a.header.lfuFrequency = nil
                a.header.lruIdleSeconds = nil
            }
            c.compare(k, a, w)
        }
        #expect(written.keys.count == source.count)
        #expect(c.problems.isEmpty, "\(c.problems.count) differences: \(c.problems.prefix(8).joined(separator: "\n"))")
    }

    @Test("A stream node holds at most 100 entries and a quicklist node about 8 KiB")
    func nodeLimits() throws {
        let tmp = try TemporaryDirectory("writer")
        defer { tmp.remove() }
        let path = tmp("nodes.rdb")
        let target = RDBTarget.named("redis-7.0")!
        let writer = try RDBWriter(output: try SafeOutputFile(path: path), target: target)
        try writer.writeStandardAux(ctime: 1_700_000_000, usedMemory: 0)
        try writer.writeKey(RDBKeyHeader(db: 0, key: "s", valueType: .string), value: .stream(Self.stream()))
        try writer.writeKey(
            RDBKeyHeader(db: 0, key: "l", valueType: .string),
            value: .list((0..<3000).map { RedisBytes("element-\($0)") }))
        try writer.finish()
        // Walk the raw values: stream node count and quicklist node sizes.
        let reader = try RDBReader(path: path)
        while let r = try reader.next() {
            guard case .key(let h) = r else { continue }
            let raw = try reader.readRawValue()
            if h.key == "s" {
                #expect(raw[0] == 3, "250 entries make 3 nodes of at most 100, got \(raw[0])")
            } else {
                let nodes = Int(raw[0])
                #expect(nodes >= 5 && nodes <= 8, "3000 × ~12-byte elements in ~8 KiB nodes: \(nodes) nodes")
            }
        }
    }
}

extension RedisValue {
    var isStream: Bool { if case .stream = self { true } else { false } }
}

// MARK: - Corpus round trips

@Suite("RDB writer: corpus round trips")
struct WriterRoundTripTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var file: String
        var target: String
        var testDescription: String { "\(file) → \(target)" }
    }

    static let writableTargets = RDBTarget.knownNames.filter { RDBTarget.named($0)?.isWritable == true }
    static let cases = Corpus.fixtureRDBsWithExpected().flatMap { f in writableTargets.map { Case(file: f, target: $0) }
    }

    /// The target named after each corpus server.
    static let ownTarget = [
        "redis-6.0.9": "redis-6.0", "redis-6.2": "redis-6.2", "redis-7.0.15": "redis-7.0",
        "redis-stack-7.4": "redis-7.4",
        "valkey-9.1": "valkey-9.1",
    ]

    static func options(_ target: RDBTarget) -> RDBRewriter.Options {
        var o = RDBRewriter.Options(target: target, now: nowMilliseconds())
        o.expired = .keep
        o.dropsModules = !target.supports(.module2)
        o.dropsFieldTTLs = !target.supportsFieldTTLs
        return o
    }

    /// Only the files a test made are in `dir` (no temporary file of a failed write is left).
    static func expectNoLeftovers(
        in dir: String, except allowed: Set<String> = [], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let names = Set((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
        #expect(
            names.subtracting(allowed).isEmpty, "left behind: \(names.subtracting(allowed).sorted())",
            sourceLocation: sourceLocation)
    }

    @Test("Every corpus RDB rewritten for every writable target reads back to the same content", arguments: cases)
    func roundTrip(c: Case) throws {
        let input = Corpus.fixture(c.file)
        let source = try RDBSnapshot(path: input)
        let target = try #require(RDBTarget.named(c.target))
        let o = Self.options(target)
        let tmp = try TemporaryDirectory("writer")
        defer { tmp.remove() }
        let out = tmp("out.rdb")

        let hasStreams = source.keys.values.contains { $0.header.valueType.kind == .stream }
        if (hasStreams && target.rdbVersion < 9) || (!source.functions.isEmpty && target.rdbVersion < 10) {
            let error = #expect(throws: RDBError.self) {
                try RDBRewriter.rewrite(inputs: [input], output: out, options: o)
            }
            #expect(error?.code == .unsupported, "\(String(describing: error))")
            Self.expectNoLeftovers(in: tmp.path)
            return
        }
        let summary = try RDBRewriter.rewrite(inputs: [input], output: out, options: o)
        let written = try RDBSnapshot(path: out)

        #expect(written.header.magic == target.magic)
        // Valkey 7.2–8.1 write REDIS0011 files; only the VALKEY magic reads as the Valkey dialect.
        #expect(written.header.dialect == (target.magic.hasPrefix("VALKEY") ? .valkey : .redis))
        #expect(written.aux[target.dialect == .valkey ? "valkey-ver" : "redis-ver"] == RedisBytes(target.serverVersion))
        if case .verified = written.checksum {
        } else {
            Issue.record("checksum \(String(describing: written.checksum))")
        }

        let moduleKeys = Set(source.keys.filter { $0.value.header.valueType.kind == .module }.map(\.key))
        let excluded = o.dropsModules ? moduleKeys : []
        #expect(summary.keysWritten == source.keys.count - excluded.count)
        #expect(summary.keysCopied + summary.keysReencoded == summary.keysWritten)
        #expect(summary.modulesDropped == excluded.count)
        #expect(summary.fieldTTLsDropped == (o.dropsFieldTTLs ? source.fieldTTLCount : 0))
        #expect(summary.unsupportedDropped.isEmpty)
        #expect(
            summary.bytesWritten
                == ((try? FileManager.default.attributesOfItem(atPath: out))?[.size] as? NSNumber)?.int64Value)
        if target.rdbVersion >= 10 { #expect(written.functions == source.functions) }
        if target.rdbVersion >= 9 && !o.dropsModules {
            #expect(written.moduleAux.map { [$0.type.id, $0.when] } == source.moduleAux.map { [$0.type.id, $0.when] })
            #expect(written.moduleAux.map(\.raw) == source.moduleAux.map(\.raw))
        }

        // Every written type is one the target has; streams report what their written version lost.
        var lost = Set<String>()
        for (k, kv) in written.keys {
            #expect(
                target.supports(kv.header.valueType),
                "\(k) written as \(kv.header.valueType), which \(c.target) cannot load")
            guard case .stream(let s) = source.keys[k]?.value, let sourceType = source.keys[k]?.header.valueType else {
                continue
            }
            let wv = streamVersion(of: kv.header.valueType)
            let expectedType = target.supports(sourceType) ? sourceType : target.streamType
            #expect(kv.header.valueType == expectedType, "\(k): stream written as \(kv.header.valueType)")
            lost.formUnion(ContentComparison.streamFieldsLost(s, writtenVersion: wv))
        }
        #expect(summary.streamFieldsDropped == lost)

        var comparison = ContentComparison()
        comparison.fieldTTLsDropped = o.dropsFieldTTLs
        comparison.comparesEvictionHints = target.rdbVersion >= 9
        comparison.excluded = excluded
        comparison.compare(source: source, written: written)
        #expect(
            comparison.problems.isEmpty,
            "\(comparison.problems.count) differences:\n\(comparison.problems.prefix(10).joined(separator: "\n"))")
    }

    @Test(
        "Rewriting a corpus RDB for its own server copies every value byte for byte",
        arguments: Corpus.fixtureRDBsWithExpected())
    func identityRewrite(file: String) throws {
        let input = Corpus.fixture(file)
        let server = String(file.split(separator: "/")[0])
        let name = try #require(Self.ownTarget[server])
        let target = try #require(RDBTarget.named(name))
        var o = RDBRewriter.Options(target: target, now: nowMilliseconds())
        o.expired = .keep
        let tmp = try TemporaryDirectory("writer")
        defer { tmp.remove() }
        let out = tmp("same.rdb")
        let summary = try RDBRewriter.rewrite(inputs: [input], output: out, options: o)
        let source = try RDBSnapshot(path: input)
        let written = try RDBSnapshot(path: out)
        #expect(written.header == source.header)
        #expect(summary.keysWritten == source.keys.count)
        #expect(summary.keysCopied == summary.keysWritten)
        #expect(summary.keysReencoded == 0)
        #expect(written.functions == source.functions)
        #expect(written.moduleAux.map(\.raw) == source.moduleAux.map(\.raw))
        #expect(written.resizeHints == source.resizeHints)
        var comparison = ContentComparison()
        comparison.compare(source: source, written: written)
        #expect(comparison.problems.isEmpty, "\(comparison.problems.prefix(10).joined(separator: "\n"))")
        // The stored bytes of every value are the source's.
        let a = try Self.rawValues(input)
        let b = try Self.rawValues(out)
        #expect(a.count == b.count)
        let differing = a.filter { b[$0.key]?.raw != $0.value.raw || b[$0.key]?.type != $0.value.type }.map(\.key)
        #expect(differing.isEmpty, "values not copied byte for byte: \(differing.prefix(5))")
    }

    @Test("The content comparison notices a changed value, a changed TTL, a stream field and a missing key")
    func comparisonNoticesDifferences() throws {
        let source = try RDBSnapshot(path: Corpus.fixture("redis-7.0.15/rdb/all-types.rdb"))
        var written = source
        let keys = source.keys.keys.sorted { $0.description < $1.description }
        let stringKey = try #require(keys.first { if case .string = source.keys[$0]!.value { true } else { false } })
        let ttlKey = try #require(keys.first { source.keys[$0]!.header.expiresAt != nil })
        let streamKey = try #require(
            keys.first { if case .stream(let s) = source.keys[$0]!.value { !s.groups.isEmpty } else { false } })
        let missing = try #require(keys.last)
        written.keys[stringKey]!.value = .string("changed")
        written.keys[ttlKey]!.header.expiresAt = nil
        if case .stream(var s) = written.keys[streamKey]!.value {
            s.groups[0].lastDeliveredID = StreamID(ms: 1, seq: 1)
            written.keys[streamKey]!.value = .stream(s)
        }
        written.keys[missing] = nil
        written.keyOrder.removeAll { $0 == missing }
        var c = ContentComparison()
        c.compare(source: source, written: written)
        #expect(c.problems.count == 4, "\(c.problems)")
    }

    /// Each key's type and stored value bytes.
    static func rawValues(_ path: String) throws -> [CorpusKey: (type: RDBValueType, raw: [UInt8])] {
        let reader = try RDBReader(path: path)
        var out: [CorpusKey: (type: RDBValueType, raw: [UInt8])] = [:]
        while let r = try reader.next() {
            guard case .key(let h) = r else { continue }
            out[CorpusKey(db: h.db, key: h.key.bytes)] = (h.valueType, try reader.readRawValue())
        }
        return out
    }
}

// MARK: - Rewriter options

@Suite("RDB rewriter: filters, merges and refusals")
struct RewriterOptionTests {
    static let allTypes = Corpus.fixture("redis-7.0.15/rdb/all-types.rdb")

    enum Filter: String, CaseIterable, Sendable {
        case match, databases, types, minimumSize, maximumSize, sizeWindow, expiredDrop, expiredKeep, noTTL,
            databaseMap, renamePrefix
    }

    @Test(
        "Each rewrite filter keeps exactly the expected keys, copied or re-encoded",
        arguments: Filter.allCases, ["redis-7.0", "redis-6.2", "valkey-9.1"])
    func filterSelectsExpectedKeys(filter: Filter, targetName: String) throws {
        var source = try RDBSnapshot(path: Self.allTypes)
        let sizes = try WriterRoundTripTests.rawValues(Self.allTypes).mapValues { $0.raw.count }
        let target = try #require(RDBTarget.named(targetName))
        var o = RDBRewriter.Options(target: target, now: nowMilliseconds())
        o.expired = .keep
        let ttls = source.keys.values.compactMap { $0.header.expiresAt?.milliseconds }.sorted()
        #expect(ttls.count >= 10)
        let cut = ttls[ttls.count / 2]
        // What survives: source key → written key (nil: filtered out).
        var keep: (CorpusKey, RDBReadResult.KeyValue) -> CorpusKey? = { k, _ in k }
        var expectedFiltered: Int?
        var expectedExpired = 0
        func str(_ k: CorpusKey) -> String { String(decoding: k.key, as: UTF8.self) }
        switch filter {
        case .match:
            o.filter.glob = RedisGlob("*:[a-c]*")
            keep = { k, _ in
                let b = k.key
                return b.indices.contains { i in
                    b[i] == UInt8(ascii: ":") && i + 1 < b.count
                        && (UInt8(ascii: "a")...UInt8(ascii: "c")).contains(b[i + 1])
                } ? k : nil
            }
        case .databases:
            o.filter.databases = [1, 7]
            keep = { k, _ in [1, 7].contains(k.db) ? k : nil }
        case .types:
            o.filter.types = ["zset", "stream"]
            keep = { k, kv in kv.header.valueType.kind == .zset || kv.header.valueType.kind == .stream ? k : nil }
        case .minimumSize:
            o.minimumSize = 1000
            keep = { k, _ in sizes[k]! >= 1000 ? k : nil }
        case .maximumSize:
            o.maximumSize = 64
            keep = { k, _ in sizes[k]! <= 64 ? k : nil }
        case .sizeWindow:
            o.minimumSize = 10
            o.maximumSize = 100
            keep = { k, _ in (10...100).contains(sizes[k]!) ? k : nil }
        case .expiredDrop:
            o.expired = .drop
            o.now = cut
            keep = { k, kv in (kv.header.expiresAt.map { $0.milliseconds < cut } ?? false) ? nil : k }
            expectedFiltered = 0
            expectedExpired = source.keys.values.filter { ($0.header.expiresAt?.milliseconds ?? .max) < cut }.count
            #expect(expectedExpired > 0)
        case .expiredKeep:
            o.now = cut
        case .noTTL:
            o.removesTTLs = true
            for k in Array(source.keys.keys) { source.keys[k]!.header.expiresAt = nil }
        case .databaseMap:
            o.databaseMap = [1: 0, 15: 3]
            keep = { k, _ in CorpusKey(db: [1: 0, 15: 3][k.db] ?? k.db, key: k.key) }
        case .renamePrefix:
            o.renamePrefix = (Array("str-".utf8), Array("S/".utf8))
            keep = { k, _ in
                str(k).hasPrefix("str-") ? CorpusKey(db: k.db, key: Array("S/".utf8) + k.key.dropFirst(4)) : k
            }
        }
        let tmp = try TemporaryDirectory("rewrite-filter")
        defer { tmp.remove() }
        let out = tmp("filtered.rdb")
        let summary = try RDBRewriter.rewrite(inputs: [Self.allTypes], output: out, options: o)
        let written = try RDBSnapshot(path: out)

        var mapping: [CorpusKey: CorpusKey] = [:]
        var excluded = Set<CorpusKey>()
        for (k, kv) in source.keys {
            if let w = keep(k, kv) { mapping[k] = w } else { excluded.insert(k) }
        }
        #expect(!mapping.isEmpty)
        if filter != .expiredKeep && filter != .noTTL && filter != .databaseMap && filter != .renamePrefix {
            #expect(!excluded.isEmpty, "the \(filter) case should drop some keys")
        }
        #expect(
            Set(written.keys.keys) == Set(mapping.values),
            "kept \(written.keys.count), expected \(mapping.count); unexpected \(Set(written.keys.keys).subtracting(mapping.values).prefix(5)), missing \(Set(mapping.values).subtracting(written.keys.keys).prefix(5))"
        )
        #expect(summary.keysWritten == mapping.count)
        #expect(summary.keysFiltered == (expectedFiltered ?? excluded.count))
        #expect(summary.expiredDropped == expectedExpired)
        var comparison = ContentComparison()
        comparison.excluded = excluded
        comparison.mapping = { mapping[$0] ?? $0 }
        comparison.compare(source: source, written: written)
        #expect(comparison.problems.isEmpty, "\(comparison.problems.prefix(8).joined(separator: "\n"))")
    }

    // MARK: Merging

    /// Writes an RDB for redis-7.0 holding string keys: (db, key, value).
    static func writeInput(_ path: String, _ keys: [(UInt64, String, String)]) throws {
        let w = try RDBWriter(output: try SafeOutputFile(path: path), target: RDBTarget.named("redis-7.0")!)
        try w.writeStandardAux(ctime: 1_700_000_000, usedMemory: 0)
        for (db, k, v) in keys.sorted(by: { $0.0 < $1.0 }) {
            try w.writeKey(RDBKeyHeader(db: db, key: RedisBytes(k), valueType: .string), value: .string(RedisBytes(v)))
        }
        try w.finish()
    }

    static func strings(_ path: String) throws -> [String: String] {
        let s = try RDBSnapshot(path: path)
        #expect(s.keyOrder.count == s.keys.count, "duplicate keys in \(path)")
        var out: [String: String] = [:]
        for (k, kv) in s.keys {
            if case .string(let v) = kv.value {
                out["\(k.db)/\(String(decoding: k.key, as: UTF8.self))"] = v.description
            }
        }
        return out
    }

    @Test("Merging inputs with a common key: error refuses and writes nothing, first and last pick their input's value")
    func mergeConflicts() throws {
        let tmp = try TemporaryDirectory("rewrite-merge")
        defer { tmp.remove() }
        let a = tmp("a.rdb")
        let b = tmp("b.rdb")
        try Self.writeInput(a, [(0, "common", "from-a"), (0, "only-a", "a"), (1, "common", "db1-a")])
        try Self.writeInput(b, [(0, "common", "from-b"), (0, "only-b", "b")])
        var o = RDBRewriter.Options(target: RDBTarget.named("redis-7.0")!, now: nowMilliseconds())

        o.onConflict = .error
        let out = tmp("merged.rdb")
        let error = #expect(throws: RDBError.self) { try RDBRewriter.rewrite(inputs: [a, b], output: out, options: o) }
        #expect(error?.message.contains("common") == true, "\(String(describing: error))")
        WriterRoundTripTests.expectNoLeftovers(in: tmp.path, except: ["a.rdb", "b.rdb"])

        o.onConflict = .first
        let first = try RDBRewriter.rewrite(inputs: [a, b], output: out, options: o)
        #expect(try Self.strings(out) == ["0/common": "from-a", "0/only-a": "a", "1/common": "db1-a", "0/only-b": "b"])
        #expect(first.conflictsSkipped == 1)
        #expect(first.keysWritten == 4)

        o.onConflict = .last
        let last = try RDBRewriter.rewrite(inputs: [a, b], output: out, options: o)
        #expect(try Self.strings(out) == ["0/common": "from-b", "0/only-a": "a", "1/common": "db1-a", "0/only-b": "b"])
        #expect(last.conflictsSkipped == 1)

        // A database map that moves db 1 onto db 0 makes a new conflict across inputs.
        o.onConflict = .error
        o.databaseMap = [1: 0]
        #expect(throws: RDBError.self) {
            try RDBRewriter.rewrite(inputs: [a, b], output: tmp("mapped.rdb"), options: o)
        }
        #expect(!FileManager.default.fileExists(atPath: tmp("mapped.rdb")))
    }

    enum Collision: String, CaseIterable, Sendable { case databaseMap, renamePrefix }

    @Test("A db map or rename that makes two keys of one input equal is a conflict too", arguments: Collision.allCases)
    func collisionsWithinOneInput(collision: Collision) throws {
        let tmp = try TemporaryDirectory("rewrite-collide")
        defer { tmp.remove() }
        let input = tmp("in.rdb")
        try Self.writeInput(input, [(0, "new:k", "db0-new"), (0, "old:k", "db0-old"), (1, "new:k", "db1-new")])
        var o = RDBRewriter.Options(target: RDBTarget.named("redis-7.0")!, now: nowMilliseconds())
        switch collision {
        case .databaseMap: o.databaseMap = [1: 0]
        case .renamePrefix: o.renamePrefix = (Array("old:".utf8), Array("new:".utf8))
        }
        o.onConflict = .error
        let out = tmp("out.rdb")
        // Redis refuses to load an RDB with a duplicate key ("Duplicated key found in RDB file").
        #expect(throws: RDBError.self) { try RDBRewriter.rewrite(inputs: [input], output: out, options: o) }
        o.onConflict = .first
        _ = try? FileManager.default.removeItem(atPath: out)
        if (try? RDBRewriter.rewrite(inputs: [input], output: out, options: o)) != nil {
            let s = try RDBSnapshot(path: out)
            #expect(
                s.keyOrder.count == s.keys.count,
                "the output holds the same key twice: \(s.keyOrder.map(\.description))")
        }
    }

    @Test(
        "A module type filter keeps only that module type, with or without a rename that moves keys out of the glob",
        arguments: [false, true])
    func moduleTypeFilterWithRename(renames: Bool) throws {
        let input = Corpus.fixture("redis-stack-7.4/rdb/modules.rdb")
        var o = RDBRewriter.Options(target: RDBTarget.named("redis-7.4")!, now: nowMilliseconds())
        o.expired = .keep
        o.filter.glob = RedisGlob("[bc]f*")
        o.filter.types = ["MBbloomCF"]
        if renames { o.renamePrefix = (Array("b".utf8), Array("x".utf8)) }
        let tmp = try TemporaryDirectory("rewrite-module-filter")
        defer { tmp.remove() }
        let out = tmp("out.rdb")
        try RDBRewriter.rewrite(inputs: [input], output: out, options: o)
        let written = try RDBSnapshot(path: out)
        // bf-scaling:… and bf:echo:… are MBbloom-- (kept out by the type); cf:golf:51 is MBbloomCF.
        #expect(
            written.keys.keys.map(\.description).sorted() == [
                CorpusKey(db: 0, key: Array("cf:golf:51".utf8)).description
            ])
    }

    @Test(
        "A key that only one input keeps after the size filter is no conflict",
        arguments: [RDBRewriter.ConflictPolicy.error, .first, .last])
    func sizeFilterBeforeConflicts(policy: RDBRewriter.ConflictPolicy) throws {
        let tmp = try TemporaryDirectory("rewrite-merge-size")
        defer { tmp.remove() }
        let a = tmp("a.rdb")
        let b = tmp("b.rdb")
        try Self.writeInput(a, [(0, "k", "small"), (0, "a", "1")])
        // Incompressible enough that its serialized size (LZF included) stays far above the limit.
        let big = (0..<400).map { String(($0 * 7919 + 17) % 100_003) }.joined(separator: ",")
        try Self.writeInput(b, [(0, "k", big), (0, "b", "2")])
        var o = RDBRewriter.Options(target: RDBTarget.named("redis-7.0")!, now: nowMilliseconds())
        o.maximumSize = 100
        o.onConflict = policy
        let out = tmp("out.rdb")
        let summary = try RDBRewriter.rewrite(inputs: [a, b], output: out, options: o)
        #expect(try Self.strings(out) == ["0/k": "small", "0/a": "1", "0/b": "2"])
        #expect(summary.keysFiltered == 1)
    }

    enum HintCase: String, CaseIterable, Sendable {
        case identity, glob, expiredDropped, noTTL, dropsUnsupported, dropsModules
    }

    @Test(
        "RESIZEDB hints of a rewritten file count exactly the keys and TTLs it holds, or keep the source's (an upper bound) when only expired keys were dropped",
        arguments: HintCase.allCases)
    func resizeHints(c: HintCase) throws {
        var input = Self.allTypes
        var o = RDBRewriter.Options(target: RDBTarget.named("redis-7.0")!, now: nowMilliseconds())
        o.expired = .keep
        switch c {
        case .identity: break
        case .glob: o.filter.glob = RedisGlob("str-*")
        case .expiredDropped:
            o.expired = .drop
            o.now = 4_130_000_000_000
        case .noTTL: o.removesTTLs = true
        case .dropsUnsupported:
            o.target = RDBTarget.named("redis-3.2")!  // no streams
            o.dropsUnsupported = true
        case .dropsModules:
            input = Corpus.fixture("redis-stack-7.4/rdb/modules.rdb")
            o.dropsModules = true
        }
        let tmp = try TemporaryDirectory("rewrite-hints")
        defer { tmp.remove() }
        let out = tmp("out.rdb")
        try RDBRewriter.rewrite(inputs: [input], output: out, options: o)
        let written = try RDBSnapshot(path: out)
        if c == .expiredDropped {
            // A server sizes its tables from the hints; without them it rehashes all the way up while loading.
            let source = try RDBSnapshot(path: input)
            #expect(written.keys.count < source.keys.count, "the case must drop some expired keys")
            #expect(!source.resizeHints.isEmpty)
            #expect(written.resizeHints == source.resizeHints)
        } else {
            #expect(written.wrongResizeHints.isEmpty, "\(written.wrongResizeHints)")
        }
    }

    // MARK: Splitting

    @Test("split refuses keys outside db 0 unless a database is chosen, and then writes it as db 0")
    func splitDatabases() throws {
        let tmp = try TemporaryDirectory("split")
        defer { tmp.remove() }
        let shards = ClusterSlot.evenShards(3).map { RDBRewriter.Shard(path: tmp("\($0.id).rdb"), slots: $0.slots) }
        var o = RDBRewriter.Options(target: RDBTarget.named("redis-7.0")!, now: nowMilliseconds())
        o.expired = .keep
        let error = #expect(throws: RDBError.self) {
            try RDBRewriter.split(input: Self.allTypes, shards: shards, database: nil, options: o)
        }
        #expect(error?.code == .unsupported)
        WriterRoundTripTests.expectNoLeftovers(in: tmp.path)

        let source = try RDBSnapshot(path: Self.allTypes)
        let counts = try RDBRewriter.split(input: Self.allTypes, shards: shards, database: 7, options: o)
        var union: [CorpusKey: RDBReadResult.KeyValue] = [:]
        for (shard, n) in zip(shards, counts) {
            let s = try RDBSnapshot(path: shard.path)
            #expect(s.keys.count == n)
            #expect(s.wrongResizeHints.isEmpty)
            for (k, kv) in s.keys {
                #expect(k.db == 0)
                #expect(shard.slots.contains { $0.contains(ClusterSlot.slot(of: RedisBytes(k.key))) })
                union[k] = kv
            }
        }
        let db7 = source.keys.filter { $0.key.db == 7 }
        #expect(Set(union.keys) == Set(db7.keys.map { CorpusKey(db: 0, key: $0.key) }))
        for (k, kv) in db7 { #expect(union[CorpusKey(db: 0, key: k.key)]?.value == kv.value, "\(k)") }
    }

    // MARK: Refusals

    @Test("The output can never be one of the inputs, however it is spelled")
    func outputEqualToInputIsRefused() throws {
        let tmp = try TemporaryDirectory("rewrite-self")
        defer { tmp.remove() }
        let input = try tmp.copy(Self.allTypes, to: "in.rdb")
        let before = FileTree.bytes(input)
        try FileManager.default.createSymbolicLink(atPath: tmp("link.rdb"), withDestinationPath: input)
        let o = RDBRewriter.Options(target: RDBTarget.named("redis-7.0")!, now: nowMilliseconds())
        for spelled in [input, "\(tmp.path)/./in.rdb", "\(tmp.path)/sub/../in.rdb", tmp("link.rdb")] {
            if spelled.contains("/sub/") {
                try FileManager.default.createDirectory(atPath: tmp("sub"), withIntermediateDirectories: true)
            }
            let error = #expect(throws: RDBError.self, "\(spelled)") {
                try RDBRewriter.rewrite(inputs: [input], output: spelled, options: o)
            }
            #expect(error?.code == .io)
            #expect(FileTree.bytes(input) == before)
        }
        // Also as the second input of a merge, and as a split shard.
        #expect(throws: RDBError.self) {
            try RDBRewriter.rewrite(
                inputs: [Corpus.fixture("redis-7.0.15/rdb/lfu.rdb"), input], output: input, options: o)
        }
        #expect(throws: RDBError.self) {
            try RDBRewriter.split(
                input: input, shards: [.init(path: input, slots: [0...16383])], database: 0, options: o)
        }
        #expect(FileTree.bytes(input) == before)
        WriterRoundTripTests.expectNoLeftovers(in: tmp.path, except: ["in.rdb", "link.rdb", "sub"])
    }

    struct UnsupportedCase: Sendable, CustomTestStringConvertible {
        var file: String
        var target: String
        /// Which source keys the target cannot hold.
        var kind: RedisValueKind
        var fieldTTLsOnly: Bool
        var testDescription: String { "\(file) → \(target)" }
    }

    static let unsupportedCases = [
        UnsupportedCase(
            file: "valkey-9.1/rdb/hash-field-ttl.rdb", target: "redis-7.0", kind: .hash, fieldTTLsOnly: true),
        UnsupportedCase(
            file: "redis-stack-7.4/rdb/hash-field-ttl.rdb", target: "redis-6.2", kind: .hash, fieldTTLsOnly: true),
        UnsupportedCase(
            file: "redis-stack-7.4/rdb/hash-field-ttl.rdb", target: "valkey-8.1", kind: .hash, fieldTTLsOnly: true),
        UnsupportedCase(
            file: "redis-7.0.15/rdb/all-types.rdb", target: "redis-3.2", kind: .stream, fieldTTLsOnly: false),
    ]

    @Test(
        "A value the target cannot hold fails with .unsupported and leaves no file; --drop-unsupported lists it",
        arguments: unsupportedCases)
    func unsupportedValues(c: UnsupportedCase) throws {
        let input = Corpus.fixture(c.file)
        let source = try RDBSnapshot(path: input)
        let unsupported = Set(
            source.keys.filter { kv in
                guard kv.value.header.valueType.kind == c.kind else { return false }
                if c.fieldTTLsOnly, case .hash(let f) = kv.value.value { return f.contains { $0.expiresAt != nil } }
                return !c.fieldTTLsOnly
            }.map(\.key))
        #expect(!unsupported.isEmpty)
        let tmp = try TemporaryDirectory("rewrite-unsupported")
        defer { tmp.remove() }
        let out = tmp("out.rdb")
        var o = RDBRewriter.Options(target: RDBTarget.named(c.target)!, now: nowMilliseconds())
        o.expired = .keep
        o.dropsModules = true
        let error = #expect(throws: RDBError.self) { try RDBRewriter.rewrite(inputs: [input], output: out, options: o) }
        #expect(error?.code == .unsupported, "\(String(describing: error))")
        #expect(
            error?.key.map { unsupported.contains(CorpusKey(db: error?.db ?? 0, key: $0.bytes)) } == true,
            "the error names the key: \(String(describing: error))")
        WriterRoundTripTests.expectNoLeftovers(in: tmp.path)

        // An existing output is left as it was.
        try Data("previous".utf8).write(to: URL(fileURLWithPath: out))
        #expect(throws: RDBError.self) { try RDBRewriter.rewrite(inputs: [input], output: out, options: o) }
        #expect(FileTree.bytes(out) == Array("previous".utf8))
        WriterRoundTripTests.expectNoLeftovers(in: tmp.path, except: ["out.rdb"])

        o.dropsUnsupported = true
        let summary = try RDBRewriter.rewrite(inputs: [input], output: out, options: o)
        let listed = Set(summary.unsupportedDropped.map { CorpusKey(db: $0.db, key: $0.key.bytes) })
        #expect(listed == unsupported)
        #expect(summary.unsupportedDropped.allSatisfy { !$0.reason.isEmpty })
        #expect(summary.keysWritten == source.keys.count - unsupported.count)
        let written = try RDBSnapshot(path: out)
        var comparison = ContentComparison()
        comparison.excluded = unsupported
        comparison.comparesEvictionHints = RDBTarget.named(c.target)!.rdbVersion >= 9
        comparison.compare(source: source, written: written)
        #expect(comparison.problems.isEmpty, "\(comparison.problems.prefix(8).joined(separator: "\n"))")
    }

    @Test("RDBWriter refuses targets it cannot write")
    func unwritableTargets() throws {
        let tmp = try TemporaryDirectory("writer-refuse")
        defer { tmp.remove() }
        for t in [
            RDBTarget(rdbVersion: 6, dialect: .redis, serverVersion: "3.0.7"),
            RDBTarget(rdbVersion: 13, dialect: .redis, serverVersion: "8.6.0"),
            RDBTarget(rdbVersion: 81, dialect: .valkey, serverVersion: "9.2.0"),
        ] {
            let error = #expect(throws: RDBError.self) {
                _ = try RDBWriter(output: try SafeOutputFile(path: tmp("x.rdb")), target: t)
            }
            #expect(error?.code == .unsupported)
        }
        WriterRoundTripTests.expectNoLeftovers(in: tmp.path)
    }
}

// MARK: - Cluster slots

@Suite("Cluster slots")
struct ClusterSlotTests {
    @Test("CRC16 (XMODEM) of \"123456789\" is 0x31C3")
    func crc16CheckValue() {
        #expect(ClusterSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(ClusterSlot.crc16([UInt8]()) == 0)
    }

    @Test(
        "Key slots match the reference vectors, hashing only a non-empty {tag}",
        arguments: [
            ("foo", 12182), ("bar", 5061), ("{user1000}.following", 3443), ("{user1000}.followers", 3443),
            ("user1000", 3443),
            ("foo{}{bar}", 8363), ("foo{{bar}}zap", 4015), ("foo{bar}{zap}", 5061), ("123456789", 0x31C3 & 0x3FFF),
        ] as [(String, Int)])
    func slotVectors(key: String, slot: Int) {
        #expect(ClusterSlot.slot(of: RedisBytes(key)) == slot)
    }

    @Test("Keys with an unclosed or empty tag hash whole", arguments: ["{", "}", "{}", "a{", "a{b", "}a{", "x{}y"])
    func wholeKeyHashing(key: String) {
        #expect(ClusterSlot.slot(of: RedisBytes(key)) == Int(ClusterSlot.crc16(Array(key.utf8)) & 0x3FFF))
    }

    static let nodes = """
        07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host-4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
        67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10921 10922
        292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master - 0 1426238318243 3 connected 10923-16383 [10923-<-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
        6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005 slave 67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 0 1426238316232 5 connected
        aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 127.0.0.1:30009@31009 master,fail - 1426238316000 1426238316000 9 disconnected
        e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 [5461->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
        vars currentEpoch 9 lastVoteEpoch 0
        """

    @Test("parseNodes keeps masters with slots and ignores replicas, failed nodes and migrating markers")
    func parseNodes() throws {
        let masters = try ClusterSlot.parseNodes(Self.nodes)
        let byID = Dictionary(uniqueKeysWithValues: masters.map { ($0.id, $0) })
        #expect(masters.count == 3)
        #expect(byID["67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1"]?.slots == [5461...10921, 10922...10922])
        #expect(byID["67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1"]?.address == "127.0.0.1:30002")
        #expect(byID["292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f"]?.slots == [10923...16383])
        #expect(byID["e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca"]?.slots == [0...5460])
        #expect(byID["e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca"]?.address == "127.0.0.1:30001")
        let covered = masters.flatMap { $0.slots.flatMap { Array($0) } }.sorted()
        #expect(covered == Array(0..<16384))
    }

    @Test(
        "parseNodes rejects bad slot ranges and a description without masters",
        arguments: ["abc", "5-3", "16384", "0-16384", "x-5"])
    func parseNodesRejects(range: String) {
        let text = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 master - 0 0 1 connected \(range)\n"
        #expect(throws: RDBError.self) { try ClusterSlot.parseNodes(text) }
        #expect(throws: RDBError.self) { try ClusterSlot.parseNodes("vars currentEpoch 0 lastVoteEpoch 0\n") }
    }

    @Test("parseNodes rejects a slot token that is only a dash instead of trapping")
    func parseNodesDashToken() async {
        await #expect(processExitsWith: .success) {
            let text = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 master - 0 0 1 connected -\n"
            if (try? ClusterSlot.parseNodes(text)) != nil { exit(3) }
        }
    }

    @Test("Even shards cover every slot once, in order", arguments: [1, 2, 3, 5, 16384])
    func evenShards(n: Int) {
        let shards = ClusterSlot.evenShards(n)
        #expect(shards.count == n)
        let covered = shards.flatMap { $0.slots.flatMap { Array($0) } }
        #expect(covered == Array(0..<16384))
    }
}
