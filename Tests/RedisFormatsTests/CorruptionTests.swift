import RedisFormats
import Testing
import _RedisFormatsTestSupport

// Corrupt variants of every encoding, each with the error code, the offset of the failing item (the
// string that holds a blob) and the position inside the decoded blob, all predicted from the builder.

/// One corrupt file: where its error must be reported.
struct CorruptCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let code: RDBError.Code
    let offset: Int
    let blobOffset: Int?
    let type: RDBValueType
    /// Only `validation = .deep` detects it; `.structure` reads the value without error.
    let deepOnly: Bool
    var testDescription: String { name }
}

/// A file holding the key "bad" of `type` (written by `write`, which returns the expected error offset and
/// blob offset), then a string key "after".
private func corrupt(
    _ name: String, version: Int = 11, type: UInt8, code: RDBError.Code = .corrupt, deepOnly: Bool = false,
    _ write: (inout RDBBuilder) -> (offset: Int, blobOffset: Int?)
) -> CorruptCase {
    var b = RDBBuilder(redisVersion: version)
    b.selectDB(0)
    b.key(type, "bad")
    let (offset, blobOffset) = write(&b)
    b.stringKey("after", "1")
    b.eof(version >= 5 ? .correct : .none)
    return CorruptCase(
        name: name, bytes: b.bytes, code: code, offset: offset, blobOffset: blobOffset,
        type: RDBValueType(byte: type, dialect: .redis), deepOnly: deepOnly)
}

private func twoEntryListpack() -> ListpackBuilder {
    var lp = ListpackBuilder()
    lp.string("a")
    lp.string("bc")
    return lp
}

private func twoEntryZiplist() -> ZiplistBuilder {
    var zl = ZiplistBuilder()
    zl.string("a")
    zl.string("bc")
    return zl
}

private let listpackCases: [CorruptCase] = [
    corrupt("listpack total_bytes larger than the blob", type: 20) { b in
        let lp = twoEntryListpack().build()
        return (b.blob(twoEntryListpack().build(totalBytes: UInt32(lp.count + 1))), 0)
    },
    corrupt("listpack total_bytes smaller than the blob", type: 20) { b in
        let lp = twoEntryListpack().build()
        return (b.blob(twoEntryListpack().build(totalBytes: UInt32(lp.count - 1))), 0)
    },
    corrupt("listpack without its FF terminator", type: 20) { b in
        let lp = twoEntryListpack().build(terminator: false)
        return (b.blob(lp), lp.count - 1)
    },
    corrupt("listpack string entry overrunning the blob", type: 20) { b in
        var lp = twoEntryListpack()
        lp.rawEntry([0x8A, 0x41, 0x42], backlen: [])  // declares 10 bytes, has 2
        return (b.blob(lp.build()), lp.entryOffset(2))
    },
    corrupt("listpack 32-bit string length overrunning the blob", type: 20) { b in
        var lp = ListpackBuilder()
        lp.string("ok")
        lp.rawEntry([0xF0, 0xFF, 0xFF, 0xFF, 0x7F, 0x41], backlen: [])
        return (b.blob(lp.build()), lp.entryOffset(1))
    },
    corrupt("listpack entry whose backlen runs into the terminator", type: 20) { b in
        var lp = twoEntryListpack()
        lp.rawEntry([0x82, 0x41, 0x42], backlen: [])  // complete data, no backlen before FF
        return (b.blob(lp.build()), lp.entryOffset(2))
    },
    corrupt("listpack with a wrong backlen", type: 20, deepOnly: true) { b in
        let lp = twoEntryListpack()
        return (b.blob(lp.build(corruptBacklenOf: 1)), lp.entryOffset(1) + 3)
    },
    corrupt("listpack whose header count is wrong", type: 20, deepOnly: true) { b in
        (b.blob(twoEntryListpack().build(count: 3)), 4)
    },
    corrupt("listpack inside an LZF string with an invalid entry", type: 17) { b in
        var lp = ListpackBuilder()
        for _ in 0..<10 { lp.string("member"); lp.int(1) }
        lp.rawEntry([0xF7])
        return (b.lzfString(lp.build()), lp.entryOffset(20))
    },
    corrupt("zset listpack with an odd number of entries", type: 17) { b in
        var lp = ListpackBuilder()
        lp.string("m1"); lp.int(1); lp.string("m2")
        return (b.blob(lp.build()), 4)
    },
    corrupt("zset listpack score that is not a number", type: 17) { b in
        var lp = ListpackBuilder()
        lp.string("m1"); lp.string("one")
        return (b.blob(lp.build()), lp.entryOffset(1))
    },
    corrupt("hash listpack-ex TTL that is not an integer", version: 12, type: 25) { b in
        b.uint64LE(0)
        var lp = ListpackBuilder()
        lp.string("f"); lp.string("v"); lp.string("soon")
        return (b.blob(lp.build()), lp.entryOffset(2))
    },
    corrupt("hash listpack-ex TTL beyond 2^48-1", version: 12, type: 25) { b in
        b.uint64LE(0)
        var lp = ListpackBuilder()
        lp.string("f"); lp.string("v"); lp.int64(1 << 48)
        return (b.blob(lp.build()), lp.entryOffset(2))
    },
] + (0xF5...0xFE).map { (enc: Int) in
    corrupt("listpack entry with invalid encoding byte \(enc)", type: 20) { b in
        var lp = twoEntryListpack()
        lp.rawEntry([UInt8(enc)])
        lp.string("z")
        return (b.blob(lp.build()), lp.entryOffset(2))
    }
}

private let ziplistCases: [CorruptCase] = [
    corrupt("ziplist zlbytes mismatch", version: 6, type: 10) { b in
        let zl = twoEntryZiplist().build()
        return (b.blob(twoEntryZiplist().build(zlbytes: UInt32(zl.count + 4))), 0)
    },
    corrupt("ziplist tail beyond the blob", version: 6, type: 10) { b in
        let zl = twoEntryZiplist().build()
        return (b.blob(twoEntryZiplist().build(zltail: UInt32(zl.count + 10))), 4)
    },
    corrupt("ziplist tail inside the header", version: 6, type: 10) { b in
        (b.blob(twoEntryZiplist().build(zltail: 3)), 4)
    },
    corrupt("ziplist without its FF terminator", version: 6, type: 10) { b in
        let zl = twoEntryZiplist().build(terminator: false)
        return (b.blob(zl), zl.count - 1)
    },
    corrupt("ziplist string entry overrunning the blob", version: 6, type: 10) { b in
        var zl = twoEntryZiplist()
        zl.rawEntry([0x0A, 0x41])
        return (b.blob(zl.build()), zl.entryOffsets()[2])
    },
    corrupt("ziplist 14-bit string overrunning the blob", version: 6, type: 10) { b in
        var zl = twoEntryZiplist()
        zl.rawEntry([0x41, 0x00, 0x41])
        return (b.blob(zl.build()), zl.entryOffsets()[2])
    },
    corrupt("ziplist integer overrunning the blob", version: 6, type: 10) { b in
        var zl = twoEntryZiplist()
        zl.rawEntry([0xE0, 1, 2])
        return (b.blob(zl.build()), zl.entryOffsets()[2])
    },
    corrupt("ziplist tail that is not the last entry", version: 6, type: 10, deepOnly: true) { b in
        (b.blob(twoEntryZiplist().build(zltail: 10)), 4)
    },
    corrupt("ziplist prevlen mismatch", version: 6, type: 10, deepOnly: true) { b in
        let zl = twoEntryZiplist()
        return (b.blob(zl.build(corruptPrevlenOf: 1)), zl.entryOffsets()[1])
    },
    corrupt("ziplist whose header count is wrong", version: 6, type: 10, deepOnly: true) { b in
        (b.blob(twoEntryZiplist().build(zllen: 5)), 8)
    },
    corrupt("hash ziplist with an odd number of entries", version: 6, type: 13) { b in
        var zl = twoEntryZiplist()
        zl.string("d")
        return (b.blob(zl.build()), 8)
    },
] + [0xC1, 0xCF, 0xD5, 0xE7, 0xFF].map { (enc: Int) in
    corrupt("ziplist entry with invalid encoding byte \(enc)", version: 6, type: 10) { b in
        var zl = twoEntryZiplist()
        zl.rawEntry([UInt8(enc), 0, 0, 0, 0, 0, 0, 0, 0])
        return (b.blob(zl.build()), zl.entryOffsets()[2] + 1)
    }
}

private let intsetCases: [CorruptCase] = [
    corrupt("intset with encoding 3", version: 6, type: 11) { b in
        (b.blob(IntsetBuilder.build(width: 2, [1, 2], encoding: 3)), 0)
    },
    corrupt("intset with encoding 0", version: 6, type: 11) { b in
        (b.blob(IntsetBuilder.build(width: 2, [1, 2], encoding: 0)), 0)
    },
    corrupt("intset whose length exceeds its size", version: 6, type: 11) { b in
        (b.blob(IntsetBuilder.build(width: 2, [1, 2], length: 3)), 4)
    },
    corrupt("intset whose length is below its size", version: 6, type: 11) { b in
        (b.blob(IntsetBuilder.build(width: 4, [1, 2], length: 1)), 4)
    },
    corrupt("intset with a huge length", version: 6, type: 11) { b in
        (b.blob(IntsetBuilder.build(width: 8, [1], length: UInt32.max)), 4)
    },
    corrupt("intset shorter than its header", version: 6, type: 11) { b in
        (b.blob([2, 0, 0, 0, 0]), 0)
    },
    corrupt("intset not in ascending order", version: 6, type: 11, deepOnly: true) { b in
        (b.blob(IntsetBuilder.build(width: 2, [5, 1])), 10)
    },
    corrupt("intset with a duplicate member", version: 6, type: 11, deepOnly: true) { b in
        (b.blob(IntsetBuilder.build(width: 4, [1, 7, 7])), 16)
    },
]

private func twoPairZipmap() -> ZipmapBuilder {
    var zm = ZipmapBuilder()
    zm.pair("f1", "v1")
    zm.pair("f2", "v2", free: 2)
    return zm
}

private let zipmapCases: [CorruptCase] = [
    corrupt("zipmap without its FF terminator", version: 3, type: 9) { b in
        let zm = twoPairZipmap().build(terminator: false)
        return (b.blob(zm), zm.count)
    },
    corrupt("zipmap truncated inside a value", version: 3, type: 9) { b in
        let zm = Array(twoPairZipmap().build().dropLast(3))  // drops FF and the 2 free bytes
        return (b.blob(zm), zm.count - 2)
    },
    corrupt("zipmap with bytes after FF", version: 3, type: 9) { b in
        let zm = twoPairZipmap().build(trailing: [0x00, 0x01])
        return (b.blob(zm), zm.count - 2)
    },
    corrupt("zipmap ending between a key and its value", version: 3, type: 9) { b in
        (b.blob([1, 2, 0x66, 0x31, 0xFF]), 4)
    },
    corrupt("zipmap whose count byte is wrong", version: 3, type: 9, deepOnly: true) { b in
        (b.blob(twoPairZipmap().build(zmlen: 5)), 0)
    },
]

/// Corrupt LZF data that decompresses to fewer bytes than declared.
private let shortLZF = RDBBuilder.lzfCompress(Array(String(repeating: "abc", count: 30).utf8))

private let stringCases: [CorruptCase] = [
    corrupt("LZF data that decompresses short of its declared length", version: 9, type: 0) { b in
        (b.lzfString(compressed: shortLZF, uncompressedLength: 91), nil)
    },
    corrupt("LZF data that decompresses beyond its declared length", version: 9, type: 0) { b in
        (b.lzfString(compressed: shortLZF, uncompressedLength: 89), nil)
    },
    corrupt("LZF back-reference before the start of the output", version: 9, type: 0) { b in
        (b.lzfString(compressed: [0x00, 0x41, 0x20, 0x05], uncompressedLength: 4), nil)
    },
    corrupt("LZF literal run past the compressed data", version: 9, type: 0) { b in
        (b.lzfString(compressed: [0x1F, 0x41, 0x42], uncompressedLength: 32), nil)
    },
    corrupt("LZF uncompressed length beyond 88 times the compressed length", version: 9, type: 0) { b in
        (b.lzfString(compressed: [0x02, 0x41, 0x42, 0x43], uncompressedLength: 4 * 88 + 1), nil)
    },
    corrupt("LZF uncompressed length of zero", version: 9, type: 0) { b in
        (b.lzfString(compressed: [0x00, 0x41], uncompressedLength: 0), nil)
    },
    corrupt("LZF-compressed ziplist with corrupt LZF data", version: 6, type: 10) { b in
        (b.lzfString(compressed: [0x1F, 0x41], uncompressedLength: 32), nil)
    },
    corrupt("unknown string encoding C4", version: 9, type: 0) { b in (b.raw([0xC4, 0, 0]), nil) },
    corrupt("a 64-bit string length far beyond the file", version: 9, type: 0, code: .limitExceeded) { b in
        let at = b.length(1 << 40, width: .bits64)
        b.raw("abc")
        return (at, nil)
    },
    corrupt("a length with the invalid 10xxxxxx prefix 0x82", version: 9, type: 2) { b in
        (b.raw([0x82, 0, 0, 0, 1]), nil)
    },
    corrupt("a string encoding marker where a count is expected", version: 9, type: 2) { b in
        (b.raw([0xC0, 1]), nil)
    },
]

/// The 16-byte node key is 15 bytes here.
private func shortNodeKeyStream() -> CorruptCase {
    corrupt("stream node key of 15 bytes", version: 11, type: 21) { b in
        var node = StreamNodeBuilder(masterID: StreamID(ms: 1, seq: 0), masterFields: ["f"])
        node.entry(StreamID(ms: 1, seq: 0), [("f", "v")])
        var spec = StreamSpec(
            rawNodes: [(key: Array(node.nodeKey.dropLast()), listpack: node.build())], length: 1,
            lastID: StreamID(ms: 1, seq: 0))
        spec.entriesAdded = 1
        let at = b.count + 1  // after the node count
        b.streamValue(spec, version: 3)
        return (at, nil)
    }
}

/// A consumer owns an ID that is not in its group's PEL.
private func orphanConsumerPEL(version: Int) -> CorruptCase {
    corrupt("stream v\(version) consumer PEL entry missing from the group PEL", version: 11, type: version == 3 ? 21 : 19) { b in
        var node = StreamNodeBuilder(masterID: StreamID(ms: 1, seq: 0), masterFields: ["f"])
        node.entry(StreamID(ms: 1, seq: 0), [("f", "v")])
        node.entry(StreamID(ms: 2, seq: 0), [("f", "w")])
        b.length(1)
        b.string(node.nodeKey)
        b.string(node.build())
        b.length(2); b.length(2); b.length(0)  // length, last id
        b.length(1); b.length(0); b.length(0); b.length(0); b.length(2)  // first, max deleted, entries added
        b.length(1)  // groups
        b.string("g"); b.length(2); b.length(0); b.length(2)  // name, last delivered, entries read
        b.length(1)  // PEL
        b.streamID(StreamID(ms: 1, seq: 0)); b.int64LE(1000); b.length(1)
        b.length(1)  // consumers
        b.string("c"); b.int64LE(2000)
        if version >= 3 { b.int64LE(3000) }
        b.length(1)
        let at = b.streamID(StreamID(ms: 2, seq: 0))
        return (at, nil)
    }
}

private let streamCases: [CorruptCase] = [
    shortNodeKeyStream(),
    orphanConsumerPEL(version: 2),
    orphanConsumerPEL(version: 3),
    corrupt("stream node with an empty listpack", version: 11, type: 21) { b in
        b.length(1)
        b.string(StreamNodeBuilder(masterID: .zero, masterFields: []).nodeKey)
        return (b.blob(ListpackBuilder().build()), 0)
    },
    corrupt("stream entry lp-count that does not match its fields", version: 11, type: 21, deepOnly: true) { b in
        var lp = ListpackBuilder()
        lp.int(1); lp.int(0); lp.int(1); lp.string("f"); lp.int(0)  // master entry
        lp.int(2); lp.int(0); lp.int(0); lp.string("v"); lp.int(9)  // SAMEFIELDS entry, lp-count 9 (not 4)
        var spec = StreamSpec(rawNodes: [(key: [UInt8](repeating: 0, count: 16), listpack: lp.build())], length: 1, lastID: .zero)
        spec.entriesAdded = 1
        let at = b.count + 1 + 17
        b.streamValue(spec, version: 3)
        return (at, lp.entryOffset(9))
    },
    corrupt("stream node counts that do not match its entries", version: 11, type: 21, deepOnly: true) { b in
        var node = StreamNodeBuilder(masterID: StreamID(ms: 1, seq: 0), masterFields: ["f"])
        node.entry(StreamID(ms: 1, seq: 0), [("f", "v")])
        let lp = node.listpack(liveCount: 3).build()
        var spec = StreamSpec(rawNodes: [(key: node.nodeKey, listpack: lp)], length: 1, lastID: StreamID(ms: 1, seq: 0))
        spec.entriesAdded = 1
        let at = b.count + 1 + 17
        b.streamValue(spec, version: 3)
        return (at, 0)
    },
]

private let otherCases: [CorruptCase] = [
    corrupt("quicklist2 node with container 3", version: 10, type: 18) { b in
        b.length(1)
        let at = b.length(3)
        b.blob(twoEntryListpack().build())
        return (at, nil)
    },
    corrupt("quicklist2 node with container 0", version: 10, type: 18) { b in
        b.length(2)
        b.length(2)
        b.blob(twoEntryListpack().build())
        let at = b.length(0)
        b.blob(twoEntryListpack().build())
        return (at, nil)
    },
    corrupt("quicklist2 packed node that is empty", version: 10, type: 18) { b in
        b.length(1)
        b.length(2)
        return (b.string(""), 0)
    },
    corrupt("hash metadata TTL beyond 2^48-1", version: 12, type: 24) { b in
        b.uint64LE(1_700_000_000_000)
        b.length(1)
        let at = b.length(1 << 48)
        b.string("f")
        b.string("v")
        return (at, nil)
    },
    corrupt("Redis pre-GA hash TTL beyond 2^48-1", version: 12, type: 22) { b in
        b.length(1)
        let at = b.length(1 << 48)
        b.string("f")
        b.string("v")
        return (at, nil)
    },
    corrupt("module value with an unknown opcode", version: 9, type: 7) { b in
        b.length(3_465_209_449_566_631_940)
        b.raw(ModuleOpcodes().uint(1).bytes)
        let at = b.length(6)
        b.length(0)
        return (at, nil)
    },
    corrupt("array with an unknown element tag", version: 14, type: 28) { b in
        b.length(1)
        b.length(0)
        b.length(4)
        let at = b.length(4)
        b.string("x")
        return (at, nil)
    },
    corrupt("array small string longer than 7 bytes", version: 14, type: 28) { b in
        b.length(1)
        b.length(0)
        b.length(4)
        b.length(3)
        return (b.string("eight..."), nil)
    },
    corrupt("array insert-index flag 2", version: 14, type: 28) { b in
        b.length(1)
        let at = b.length(2)
        b.length(0)
        return (at, nil)
    },
    corrupt("array with no elements", version: 14, type: 28) { b in
        let at = b.length(0)
        b.length(0)
        return (at, nil)
    },
    corrupt("zset type 3 score text that is not a number", version: 6, type: 3) { b in
        b.length(1)
        b.string("m")
        let at = b.byte(3)
        b.raw("abc")
        return (at, nil)
    },
]

private let allCorruptCases = listpackCases + ziplistCases + intsetCases + zipmapCases + stringCases + streamCases + otherCases

@Suite("Corrupt encodings fail with the predicted error, offset and context")
struct CorruptionTests {
    private static func options(deep: Bool) -> RDBReader.Options {
        var o = RDBReader.Options()
        o.validation = deep ? .deep : .structure
        return o
    }

    @Test("A corrupt value fails with its code, offset, blob offset, key and type", arguments: allCorruptCases)
    func corruptValue(_ c: CorruptCase) throws {
        for mode in RDBTestReading.ErrorMode.allCases {
            for chunk in [Int.max, 3] {
                let e = try #require(
                    RDBTestReading.firstError(c.bytes, mode: mode, options: Self.options(deep: true), chunkLimit: chunk),
                    "no error when reading with \(mode), chunks of \(chunk)")
                #expect(e.code == c.code, "\(mode): \(e)")
                #expect(e.offset == Int64(c.offset), "\(mode): \(e)")
                #expect(e.blobOffset == c.blobOffset, "\(mode): \(e)")
                #expect(e.key == "bad", "\(mode)")
                #expect(e.valueType == c.type, "\(mode)")
                #expect(e.phase == .readObjectValue, "\(mode)")
                #expect(e.db == 0, "\(mode)")
                #expect(e.description.contains("[offset \(c.offset)]"), "\(e.description)")
                if let bo = c.blobOffset {
                    #expect(e.description.contains("at byte \(bo) of the decoded blob"), "\(e.description)")
                }
                #expect(e.description.contains("reading key \"bad\""), "\(e.description)")
            }
        }
    }

    @Test("Checks of deep validation are not made under structural validation", arguments: allCorruptCases.filter(\.deepOnly))
    func deepOnlyChecks(_ c: CorruptCase) throws {
        for mode in RDBTestReading.ErrorMode.allCases {
            let e = RDBTestReading.firstError(c.bytes, mode: mode, options: Self.options(deep: false))
            #expect(e == nil, "\(mode): \(String(describing: e))")
        }
    }

    @Test("Structural errors are found under structural validation too", arguments: allCorruptCases.filter { !$0.deepOnly })
    func structuralChecks(_ c: CorruptCase) throws {
        for mode in RDBTestReading.ErrorMode.allCases {
            let e = try #require(RDBTestReading.firstError(c.bytes, mode: mode, options: Self.options(deep: false)))
            #expect(e.code == c.code)
            #expect(e.offset == Int64(c.offset))
            #expect(e.blobOffset == c.blobOffset)
        }
    }

    @Test("After an error every later call rethrows it")
    func errorIsSticky() throws {
        let c = listpackCases[0]
        let reader = try RDBReader(source: MemorySource(c.bytes))
        var first: RDBError?
        while first == nil {
            do {
                guard let r = try reader.next() else { break }
                if case .key = r { _ = try reader.readValue() }
            } catch {
                first = error
            }
        }
        let e = try #require(first)
        #expect(throws: RDBError.self) { _ = try reader.next() }
        do {
            _ = try reader.next()
        } catch {
            #expect(error.offset == e.offset)
            #expect(error.code == e.code)
        }
    }

    // MARK: Skipping does not decode

    @Test("Skipping a value with corrupt LZF data or a corrupt blob succeeds and reaches the next key", arguments: [
        stringCases[0], stringCases[3], stringCases[6], listpackCases[0], ziplistCases[0], intsetCases[0],
        zipmapCases[0],
    ])
    func skipDoesNotDecode(_ c: CorruptCase) throws {
        let reader = try RDBReader(source: MemorySource(c.bytes))
        var after: RedisValue?
        while let r = try reader.next() {
            guard case .key(let h) = r else { continue }
            if h.key == "bad" { try reader.skipValue() } else { after = try reader.readValue() }
        }
        #expect(after == .string("1"))
    }

    // MARK: Limits

    @Test("An LZF string longer than maximumBlobLength exceeds the limit, at the string's offset")
    func lzfOverLimit() throws {
        var b = RDBBuilder(redisVersion: 9)
        b.key(0, "bad")
        let at = b.lzfString(String(repeating: "abcd", count: 50))
        b.eof()
        var o = RDBReader.Options()
        o.maximumBlobLength = 100
        for mode in RDBTestReading.ErrorMode.allCases {
            let e = try #require(RDBTestReading.firstError(b.bytes, mode: mode, options: o))
            #expect(e.code == .limitExceeded)
            #expect(e.offset == Int64(at))
            #expect(e.key == "bad")
            #expect(e.valueType == .string)
        }
    }

    @Test("A raw string longer than maximumBlobLength exceeds the limit, at the string's offset")
    func rawOverLimit() throws {
        var b = RDBBuilder(redisVersion: 9)
        b.key(0, "bad")
        let at = b.string(String(repeating: "a", count: 101))
        b.eof()
        var o = RDBReader.Options()
        o.maximumBlobLength = 100
        let e = try #require(RDBTestReading.firstError(b.bytes, options: o))
        #expect(e.code == .limitExceeded)
        #expect(e.offset == Int64(at))
    }

    @Test("A 64-bit string length beyond a tiny file is truncated without allocating, with no limit set")
    func hugeLengthWithoutLimit() throws {
        var b = RDBBuilder(redisVersion: 9)
        b.key(0, "bad")
        let at = b.length(1 << 40, width: .bits64)
        b.raw("abc")
        b.eof()
        var o = RDBReader.Options()
        o.maximumBlobLength = .max
        for mode in RDBTestReading.ErrorMode.allCases {
            let e = try #require(RDBTestReading.firstError(b.bytes, mode: mode, options: o))
            #expect(e.code == .truncated)
            #expect(e.offset == Int64(at + 9))
            #expect(e.key == "bad")
        }
        // A source of unknown size: the window may only grow with bytes that arrived.
        let reader = try RDBReader(source: UnsizedSource(b.bytes), options: o)
        #expect(throws: RDBError.self) {
            while let r = try reader.next() { if case .key = r { _ = try reader.readValue() } }
        }
    }

    @Test("A string length near Int64.max with no limit fails cleanly instead of trapping")
    func maximalLengthDoesNotTrap() async {
        await #expect(processExitsWith: .success) {
            var b = RDBBuilder(redisVersion: 9)
            b.key(0, "bad")
            b.length(UInt64(Int64.max) - 2, width: .bits64)
            b.raw("abc")
            b.eof()
            var o = RDBReader.Options()
            o.maximumBlobLength = .max
            for skip in [false, true] {
                do throws(RDBError) {
                    let reader = try b.reader(options: o)
                    while let r = try reader.next() {
                        if case .key = r { if skip { try reader.skipValue() } else { _ = try reader.readValue() } }
                    }
                } catch {
                    guard error.code == .truncated || error.code == .limitExceeded else { exit(3) }
                    continue
                }
                exit(2)  // no error at all
            }
        }
    }

    @Test("A header that is not REDIS or VALKEY, or a bad version, fails at the start", arguments: [
        ("RADIS0011", RDBError.Code.corrupt, 0), ("REDIS00x1", .corrupt, 0), ("REDIS0000", .corrupt, 5),
        ("REDIS0015", .unsupported, 5), ("VALKEY079", .corrupt, 6), ("VALKEY099", .unsupported, 6), ("REDIS", .truncated, 0),
    ])
    func badHeaders(_ magic: String, _ code: RDBError.Code, _ offset: Int) throws {
        var b = RDBBuilder()
        b.raw(magic)
        b.byte(0xFF)
        let e = #expect(throws: RDBError.self) { _ = try b.reader() }
        #expect(e?.code == code)
        #expect(e?.offset == Int64(offset))
        #expect(e?.phase == .start)
    }

    @Test("check walks an LZF string value without decompressing it: a good one passes, a wrong length or a back-reference before the start is corrupt at the string",
          arguments: [0, 1, -1, 2])
    func checkLZFStringValue(_ damage: Int) throws {
        let text = Array(String(repeating: "<li class=\"entry\">redis</li>", count: 40).utf8)
        var compressed = RDBBuilder.lzfCompress(text)
        var declared = UInt64(text.count)
        switch damage {
        case 1: declared += 1  // decompresses to fewer bytes than declared
        case -1: declared -= 1  // more bytes than declared
        case 2: compressed = [0x20, 0x05] + compressed  // a back-reference before any output
        default: break
        }
        var b = RDBBuilder(redisVersion: 10)
        b.key(.string, "page")
        let at = b.lzfString(compressed: compressed, uncompressedLength: declared)
        b.eof()
        let report = RDBChecker.check(try RDBReader(source: MemorySource(b.bytes)), now: 0)
        if damage == 0 {
            #expect(report.problems.isEmpty)
            #expect(report.keys == 1)
        } else {
            let p = try #require(report.problems.first)
            #expect(p.error.code == .corrupt)
            #expect(p.error.offset == Int64(at))
            #expect(p.error.message.contains("invalid LZF data"))
        }
    }

    @Test("check counts an intset's members without a call per member, and still finds one out of order, a duplicate, an empty one",
          arguments: [[1, 5, 9], [5, 1], [1, 7, 7], []] as [[Int64]])
    func checkIntsetMembers(_ members: [Int64]) throws {
        var b = RDBBuilder(redisVersion: 9)
        b.key(.setIntset, "ids")
        b.blob(IntsetBuilder.build(width: 4, members))
        b.eof()
        var options = RDBReader.Options()
        options.validation = .deep
        let report = RDBChecker.check(try RDBReader(source: MemorySource(b.bytes), options: options), now: 0)
        if members == [1, 5, 9] {
            #expect(report.problems.isEmpty)
            #expect(report.keys == 1)
        } else {
            let p = try #require(report.problems.first)
            let expected = members.isEmpty ? "Empty keys" : "ascending and unique"
            #expect(p.error.message.contains(expected), "\(p.error.message)")
        }
    }

    @Test("A module aux record with a when_opcode other than 2 is corrupt at that length")
    func moduleAuxBadWhenOpcode() throws {
        var b = RDBBuilder(redisVersion: 9)
        let at = b.moduleAux(id: 1 << 10, when: 1, opcodes: ModuleOpcodes().eof(), whenOpcode: 1)
        b.eof()
        let e = try #require(RDBTestReading.firstError(b.bytes))
        #expect(e.code == .corrupt)
        #expect(e.offset == Int64(at + 1 + RDBBuilder.encodeLength(1 << 10).count))
        #expect(e.phase == .readModuleAux)
    }

    @Test("KEY_META with more than 7 classes is corrupt at its count")
    func keyMetaTooManyClasses() throws {
        var b = RDBBuilder(redisVersion: 13)
        let at = b.keyMeta(Array(repeating: (RDBBuilder.keyMetaClassSpec(name: "ABCD", version: 0, flags: 1), ModuleOpcodes().eof()), count: 8))
        b.stringKey("k", "v")
        b.eof()
        let e = try #require(RDBTestReading.firstError(b.bytes))
        #expect(e.code == .corrupt)
        #expect(e.offset == Int64(at + 1))
    }
}

/// A source that does not know its size (a pipe), delivering 4 bytes per read.
private final class UnsizedSource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var knownSize: Int64? { nil }
    var name: String { "<pipe>" }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(RDBError) -> Int {
        let n = min(buffer.count, 4, bytes.count - position)
        for i in 0..<n { buffer[i] = bytes[position + i] }
        position += n
        return n
    }
}

#if canImport(Glibc)
import Glibc
#endif
