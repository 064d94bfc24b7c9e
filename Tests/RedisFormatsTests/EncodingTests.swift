import RedisFormats
import Testing
import _RedisFormatsTestSupport

// Byte-built files for every object type and encoding, including those no server here writes
// (RDB 13/14, pre-GA formats, Valkey 81). Each file holds the key under test and a string key after it,
// so that skipping or validating the first value must leave the reader exactly at the second key.

// MARK: - Shared data

private let longText = String(repeating: "x", count: 100)
private let bioText = String(repeating: "ab", count: 40)

/// The logical list used by every list encoding.
private let listItems = [
    "alpha", "7", "-100", "-300", "5000", "70000", "10000000", longText, "9223372036854775807", "",
]
/// The logical set (integers only, so that the intset encoding can hold it).
private let setMembers = ["1", "2", "300", "-70000", "5000000000"]
/// The logical sorted set.
private let zsetEntries: [(String, Double)] = [
    ("a", 1.5), ("b", -2), ("c", .infinity), ("d", -.infinity), ("e", 0), ("f", 1e20),
]
/// The logical hash.
private let hashFields: [(String, String)] = [
    ("name", "alice"), ("age", "42"), ("bio", bioText), ("neg", "-1"), ("empty", ""),
]

private func bytes(_ s: String) -> RedisBytes { RedisBytes(s) }
private let expectedList = RedisValue.list(listItems.map(bytes))
private let expectedHash = RedisValue.hash(hashFields.map { HashField(field: bytes($0.0), value: bytes($0.1)) })

/// Writes a list element as Redis would in a linked list: int-encoded when it fits 32 bits, LZF when long.
private func writeRDBString(_ b: inout RDBBuilder, _ s: String) {
    if let v = RedisInteger.parse(Array(s.utf8)), let v32 = Int32(exactly: v) {
        if let v8 = Int8(exactly: v32) {
            b.intString8(v8)
        } else if let v16 = Int16(exactly: v32) {
            b.intString16(v16)
        } else {
            b.intString32(v32)
        }
    } else if s.utf8.count > 20 {
        b.lzfString(s)
    } else {
        b.string(s)
    }
}

private func listpack(_ items: [String]) -> [UInt8] {
    var lp = ListpackBuilder()
    for i in items { lp.element(i) }
    return lp.build()
}

private func ziplist(_ items: [String]) -> [UInt8] {
    var zl = ZiplistBuilder()
    for i in items { zl.element(i) }
    return zl.build()
}

// MARK: - Cases

/// One value encoding: how to write the value body and what it decodes to.
struct ValueCase: Sendable, CustomTestStringConvertible {
    enum Magic: Sendable {
        case redis(Int)
        case valkey(Int)
    }
    let name: String
    let magic: Magic
    let typeByte: UInt8
    let type: RDBValueType
    let write: @Sendable (inout RDBBuilder) -> Void
    let expected: RedisValue
    var testDescription: String { name }

    var version: Int {
        switch magic {
        case .redis(let v), .valkey(let v): v
        }
    }

    /// A file: magic, aux, db 0, the key "k1" of this case, the string key "k2" = "after", EOF.
    func file() -> (bytes: [UInt8], keyOffset: Int, valueOffset: Int, secondKeyOffset: Int) {
        var b: RDBBuilder
        switch magic {
        case .redis(let v): b = RDBBuilder(redisVersion: v)
        case .valkey(let v): b = RDBBuilder(valkeyVersion: v)
        }
        if version >= 7 { b.aux("redis-bits", int: 64) }
        b.selectDB(0)
        if version >= 7 { b.resizeDB(2, 0) }
        let keyOffset = b.key(typeByte, "k1")
        let valueOffset = b.count
        write(&b)
        let second = b.stringKey("k2", "after")
        b.eof(version >= 5 ? .correct : .none)
        return (b.bytes, keyOffset, valueOffset, second)
    }
}

private let listCases: [ValueCase] = [
    ValueCase(name: "list as type 1 (linked list of int, LZF and raw strings)", magic: .redis(6), typeByte: 1, type: .list, write: { b in
        b.length(UInt64(listItems.count))
        for i in listItems { writeRDBString(&b, i) }
    }, expected: expectedList),
    ValueCase(name: "list as type 10 (ziplist)", magic: .redis(6), typeByte: 10, type: .listZiplist, write: { b in
        b.blob(ziplist(listItems))
    }, expected: expectedList),
    ValueCase(name: "list as type 14 (quicklist of two ziplists, one LZF-compressed)", magic: .redis(7), typeByte: 14, type: .listQuicklist, write: { b in
        b.length(2)
        b.blob(ziplist(Array(listItems[0..<5])))
        let second = ziplist(Array(listItems[5...]))
        b.lzfString(second)
    }, expected: expectedList),
    ValueCase(name: "list as type 18 (quicklist2 with packed, plain and LZF packed nodes)", magic: .redis(10), typeByte: 18, type: .listQuicklist2, write: { b in
        b.length(3)
        b.length(2)
        b.blob(listpack(Array(listItems[0..<4])))
        b.length(1)
        b.string(listItems[4])
        b.length(2)
        b.lzfString(listpack(Array(listItems[5...])))
    }, expected: expectedList),
]

private let setCases: [ValueCase] = [
    ValueCase(name: "set as type 2 (hashtable)", magic: .redis(6), typeByte: 2, type: .set, write: { b in
        b.length(5)
        b.intString8(1)
        b.string("2")
        b.intString16(300)
        b.intString32(-70000)
        b.string("5000000000")
    }, expected: .set(["1", "2", "300", "-70000", "5000000000"])),
    ValueCase(name: "set as type 11 (intset of 8-byte members)", magic: .redis(6), typeByte: 11, type: .setIntset, write: { b in
        b.blob(IntsetBuilder.build(width: 8, [-70000, 1, 2, 300, 5_000_000_000]))
    }, expected: .set(["-70000", "1", "2", "300", "5000000000"])),
    ValueCase(name: "set as type 20 (listpack)", magic: .redis(11), typeByte: 20, type: .setListpack, write: { b in
        b.blob(listpack(setMembers))
    }, expected: .set(setMembers.map(bytes))),
]

private let zsetByRank: [SortedSetEntry] = RDBTestReading.rankOrder(
    zsetEntries.map { SortedSetEntry(member: bytes($0.0), score: $0.1) })
private let zsetHighestFirst = Array(zsetByRank.reversed())

private func zsetPairs(_ entries: [(String, Double)]) -> [String] {
    entries.flatMap { [$0.0, RDBBuilder.doubleText($0.1)] }
}

private let zsetCases: [ValueCase] = [
    ValueCase(name: "zset as type 3 (string doubles with the inf and -inf bytes)", magic: .redis(6), typeByte: 3, type: .zset, write: { b in
        b.length(UInt64(zsetEntries.count))
        for (m, s) in zsetEntries {
            b.string(m)
            b.stringDouble(s)
        }
    }, expected: .sortedSet(zsetEntries.map { SortedSetEntry(member: bytes($0.0), score: $0.1) })),
    ValueCase(name: "zset as type 5 (binary doubles, highest score first)", magic: .redis(8), typeByte: 5, type: .zset2, write: { b in
        b.length(UInt64(zsetHighestFirst.count))
        for z in zsetHighestFirst {
            b.string(z.member.bytes)
            b.binaryDouble(z.score)
        }
    }, expected: .sortedSet(zsetHighestFirst)),
    ValueCase(name: "zset as type 12 (ziplist)", magic: .redis(6), typeByte: 12, type: .zsetZiplist, write: { b in
        b.blob(ziplist(zsetPairs(zsetEntries)))
    }, expected: .sortedSet(zsetEntries.map { SortedSetEntry(member: bytes($0.0), score: $0.1) })),
    ValueCase(name: "zset as type 17 (listpack)", magic: .redis(10), typeByte: 17, type: .zsetListpack, write: { b in
        b.blob(listpack(zsetPairs(zsetEntries)))
    }, expected: .sortedSet(zsetEntries.map { SortedSetEntry(member: bytes($0.0), score: $0.1) })),
]

private func hashPairs() -> [String] { hashFields.flatMap { [$0.0, $0.1] } }

private let hashCases: [ValueCase] = [
    ValueCase(name: "hash as type 4 (hashtable)", magic: .redis(6), typeByte: 4, type: .hash, write: { b in
        b.length(UInt64(hashFields.count))
        for (f, v) in hashFields {
            b.string(f)
            writeRDBString(&b, v)
        }
    }, expected: expectedHash),
    ValueCase(name: "hash as type 9 (zipmap with free bytes and 254-prefixed lengths)", magic: .redis(3), typeByte: 9, type: .hashZipmap, write: { b in
        var zm = ZipmapBuilder()
        for (i, (f, v)) in hashFields.enumerated() { zm.pair(f, v, free: i == 0 ? 3 : 0, wideLengths: i == 2) }
        b.blob(zm.build())
    }, expected: expectedHash),
    ValueCase(name: "hash as type 13 (ziplist)", magic: .redis(6), typeByte: 13, type: .hashZiplist, write: { b in
        b.blob(ziplist(hashPairs()))
    }, expected: expectedHash),
    ValueCase(name: "hash as type 16 (listpack)", magic: .redis(10), typeByte: 16, type: .hashListpack, write: { b in
        b.blob(listpack(hashPairs()))
    }, expected: expectedHash),
    ValueCase(name: "hash as type 24 (metadata, no field with a TTL)", magic: .redis(12), typeByte: 24, type: .hashMetadata, write: { b in
        b.uint64LE(0)
        b.length(UInt64(hashFields.count))
        for (f, v) in hashFields {
            b.length(0)
            b.string(f)
            b.string(v)
        }
    }, expected: expectedHash),
    ValueCase(name: "hash as type 25 (listpack-ex, TTLs 0)", magic: .redis(12), typeByte: 25, type: .hashListpackEx, write: { b in
        b.uint64LE(0)
        b.blob(listpack(hashFields.flatMap { [$0.0, $0.1, "0"] }))
    }, expected: expectedHash),
    ValueCase(name: "hash as Redis pre-GA type 22 (absolute TTLs 0)", magic: .redis(12), typeByte: 22, type: .hashMetadataPreGA, write: { b in
        b.length(UInt64(hashFields.count))
        for (f, v) in hashFields {
            b.length(0)
            b.string(f)
            b.string(v)
        }
    }, expected: expectedHash),
    ValueCase(name: "hash as Redis pre-GA type 23 (listpack triples, TTLs 0)", magic: .redis(12), typeByte: 23, type: .hashListpackExPreGA, write: { b in
        b.blob(listpack(hashFields.flatMap { [$0.0, $0.1, "0"] }))
    }, expected: expectedHash),
    ValueCase(name: "hash as Valkey HASH_2 type 22 (expiries -1)", magic: .valkey(80), typeByte: 22, type: .valkeyHash2, write: { b in
        b.length(UInt64(hashFields.count))
        for (f, v) in hashFields {
            b.string(f)
            b.string(v)
            b.int64LE(-1)
        }
    }, expected: expectedHash),
]

private let stringCases: [ValueCase] = [
    ValueCase(name: "string as raw bytes", magic: .redis(9), typeByte: 0, type: .string, write: { b in
        b.string([0x00, 0xFF, 0x0A, 0x41])
    }, expected: .string(RedisBytes([0x00, 0xFF, 0x0A, 0x41]))),
    ValueCase(name: "string as INT8", magic: .redis(9), typeByte: 0, type: .string, write: { b in b.intString8(-128) },
              expected: .string("-128")),
    ValueCase(name: "string as INT16", magic: .redis(9), typeByte: 0, type: .string, write: { b in b.intString16(-32768) },
              expected: .string("-32768")),
    ValueCase(name: "string as INT32", magic: .redis(9), typeByte: 0, type: .string, write: { b in b.intString32(Int32.min) },
              expected: .string("-2147483648")),
    ValueCase(name: "string as LZF", magic: .redis(9), typeByte: 0, type: .string, write: { b in b.lzfString(longText) },
              expected: .string(bytes(longText))),
    ValueCase(name: "string with a forced 64-bit length", magic: .redis(9), typeByte: 0, type: .string, write: { b in
        b.string("wide", lengthWidth: .bits64)
    }, expected: .string("wide")),
]

private let moduleOps = ModuleOpcodes().uint(7).sint(3).float(1.5).double(-2.25).string("payload").lzfString(longText).eof()
private let bloomID: UInt64 = 3_465_209_449_566_631_940

private let otherCases: [ValueCase] = [
    ValueCase(name: "module value as type 7 (MODULE_2)", magic: .redis(9), typeByte: 7, type: .module2, write: { b in
        b.length(bloomID)
        b.raw(moduleOps.bytes)
    }, expected: .module(RedisModuleValue(type: RedisModuleType(id: bloomID), raw: moduleOps.bytes))),
    ValueCase(name: "array as type 28 with an insert index", magic: .redis(14), typeByte: 28, type: .array, write: { b in
        b.length(4)
        b.length(1)
        b.length(9)
        b.length(0); b.length(0); b.string("hello")
        b.length(3); b.length(1); b.int64LE(-42)
        b.length(7); b.length(2); b.binaryDouble(1.5)
        b.length(1 << 40); b.length(3); b.string("abc")
    }, expected: .array([
        RedisArrayElement(index: 0, value: "hello"), RedisArrayElement(index: 3, value: "-42"),
        RedisArrayElement(index: 7, value: "1.5"), RedisArrayElement(index: 1 << 40, value: "abc"),
    ])),
    ValueCase(name: "array as type 28 without an insert index", magic: .redis(14), typeByte: 28, type: .array, write: { b in
        b.length(1)
        b.length(0)
        b.length(5); b.length(1); b.int64LE(Int64.max)
    }, expected: .array([RedisArrayElement(index: 5, value: "9223372036854775807")])),
]

// MARK: - Streams

private let t0: UInt64 = 1_700_000_000_000
private func sid(_ ms: UInt64, _ seq: UInt64) -> StreamID { StreamID(ms: t0 + ms, seq: seq) }

private func streamNodes() -> [StreamNodeBuilder] {
    var n1 = StreamNodeBuilder(masterID: sid(0, 0), masterFields: ["name", "temp"])
    n1.entry(sid(0, 0), [("name", "a"), ("temp", "20")])
    n1.entry(sid(0, 1), [("name", "b"), ("temp", "21")], deleted: true)
    n1.entry(sid(5, 0), [("other", "x")])
    var n2 = StreamNodeBuilder(masterID: sid(10, 0), masterFields: ["k"])
    n2.entry(sid(10, 0), [("k", "v")])
    n2.entry(sid(10, 3), [("k", "-7"), ("extra", "y")])
    return [n1, n2]
}

private func streamSpec() -> StreamSpec {
    var s = StreamSpec(nodes: streamNodes(), length: 4, lastID: sid(10, 3))
    s.firstID = sid(0, 0)
    s.maxDeletedEntryID = sid(0, 1)
    s.entriesAdded = 5
    s.groups = [
        StreamSpec.Group(
            "g1", lastDeliveredID: sid(10, 3), entriesRead: 4,
            pel: [
                .init(sid(0, 0), deliveryTime: 1_700_000_001_000, deliveryCount: 2),
                .init(sid(5, 0), deliveryTime: 1_700_000_002_000, deliveryCount: 1),
                .init(sid(10, 0), deliveryTime: 1_700_000_003_000, deliveryCount: 1),
                .init(sid(10, 3), deliveryTime: 1_700_000_004_000, deliveryCount: 3),
            ],
            consumers: [
                .init("alice", seenTime: 1_700_000_005_000, activeTime: 1_700_000_006_000, pel: [sid(0, 0), sid(10, 0)]),
                .init("bob", seenTime: 1_700_000_007_000, activeTime: 1_700_000_008_000, pel: [sid(5, 0)]),
            ],
            nacked: [sid(10, 3)]),
        StreamSpec.Group("g2", lastDeliveredID: .zero, entriesRead: UInt64.max, pel: [], consumers: []),
    ]
    var idmp = StreamSpec.Idempotency()
    idmp.durationSeconds = 100
    idmp.maxEntries = 10
    idmp.producers = [(pid: "p1", entries: [(iid: "i1", id: sid(0, 0)), (iid: "i2", id: sid(5, 0))]), (pid: "p2", entries: [])]
    idmp.iidsAdded = 7
    idmp.iidsDuplicates = 2
    s.idmp = idmp
    return s
}

private func expectedStream(version: Int) -> RedisStream {
    func f(_ n: String, _ v: String) -> StreamField { StreamField(name: bytes(n), value: bytes(v)) }
    let entries = [
        StreamEntry(id: sid(0, 0), fields: [f("name", "a"), f("temp", "20")]),
        StreamEntry(id: sid(5, 0), fields: [f("other", "x")]),
        StreamEntry(id: sid(10, 0), fields: [f("k", "v")]),
        StreamEntry(id: sid(10, 3), fields: [f("k", "-7"), f("extra", "y")]),
    ]
    var meta = StreamMetadata(length: 4, lastID: sid(10, 3))
    if version >= 2 {
        meta.firstID = sid(0, 0)
        meta.maxDeletedEntryID = sid(0, 1)
        meta.entriesAdded = 5
    }
    let active: (Int64) -> RedisTimestamp? = { version >= 3 ? RedisTimestamp(milliseconds: $0) : nil }
    let g1 = StreamConsumerGroup(
        name: "g1", lastDeliveredID: sid(10, 3), entriesRead: version >= 2 ? 4 : nil,
        pending: [
            StreamPendingEntry(id: sid(0, 0), deliveryTime: RedisTimestamp(milliseconds: 1_700_000_001_000), deliveryCount: 2, consumer: "alice"),
            StreamPendingEntry(id: sid(5, 0), deliveryTime: RedisTimestamp(milliseconds: 1_700_000_002_000), deliveryCount: 1, consumer: "bob"),
            StreamPendingEntry(id: sid(10, 0), deliveryTime: RedisTimestamp(milliseconds: 1_700_000_003_000), deliveryCount: 1, consumer: "alice"),
            StreamPendingEntry(id: sid(10, 3), deliveryTime: RedisTimestamp(milliseconds: 1_700_000_004_000), deliveryCount: 3, consumer: nil),
        ],
        consumers: [
            StreamConsumer(name: "alice", seenTime: RedisTimestamp(milliseconds: 1_700_000_005_000), activeTime: active(1_700_000_006_000), pending: [sid(0, 0), sid(10, 0)]),
            StreamConsumer(name: "bob", seenTime: RedisTimestamp(milliseconds: 1_700_000_007_000), activeTime: active(1_700_000_008_000), pending: [sid(5, 0)]),
        ],
        nacked: version >= 5 ? [sid(10, 3)] : [])
    let g2 = StreamConsumerGroup(name: "g2", lastDeliveredID: .zero, entriesRead: nil, pending: [], consumers: [])
    return RedisStream(entries: entries, metadata: meta, groups: [g1, g2], idempotency: nil)
}

/// `StreamIdempotency` has no public initializer: compare it through a text summary.
private func idmpSummary(_ i: StreamIdempotency?) -> String? {
    guard let i else { return nil }
    let producers = i.producers.map { p in
        "\(p.pid):" + p.entries.map { "\($0.iid)=\($0.id)" }.joined(separator: ",")
    }
    return "duration=\(i.durationSeconds) max=\(i.maxEntries) added=\(i.iidsAdded) dups=\(i.iidsDuplicates) "
        + producers.joined(separator: ";")
}

private let expectedIdmpSummary =
    "duration=100 max=10 added=7 dups=2 p1:i1=\(sid(0, 0)),i2=\(sid(5, 0));p2:"

/// The value with a stream's idempotency split off (compared with ``idmpSummary(_:)``).
private func splitIdempotency(_ v: RedisValue) -> (RedisValue, String?) {
    guard case .stream(var s) = v else { return (v, nil) }
    let i = idmpSummary(s.idempotency)
    s.idempotency = nil
    return (.stream(s), i)
}

private let streamCases: [ValueCase] = [
    (1, 15, RDBValueType.streamListpacks, 9), (2, 19, .streamListpacks2, 10), (3, 21, .streamListpacks3, 11),
    (4, 26, .streamListpacks4, 13), (5, 27, .streamListpacks5, 14),
].map { (version, byte, type, rdb) in
    ValueCase(
        name: "stream v\(version) as type \(byte)", magic: .redis(rdb), typeByte: UInt8(byte), type: type,
        write: { b in b.streamValue(streamSpec(), version: version) },
        expected: .stream(expectedStream(version: version)))
} + [
    ValueCase(
        name: "stream v3 as type 21 in a Valkey file", magic: .valkey(80), typeByte: 21, type: .streamListpacks3,
        write: { b in b.streamValue(streamSpec(), version: 3) }, expected: .stream(expectedStream(version: 3))),
]

private let allCases = stringCases + listCases + setCases + zsetCases + hashCases + streamCases + otherCases

// MARK: - Tests

@Suite("Every object type decodes from byte-built files")
struct EncodingTests {
    @Test("A value reads whole, element by element and in 1-byte chunks to the same exact value", arguments: allCases)
    func valueDecodes(_ c: ValueCase) throws {
        let file = c.file()
        for (mode, chunk) in [(RDBTestReading.ValueMode.readValue, Int.max), (.elements, Int.max), (.readValue, 1), (.elements, 3)] {
            let (keys, records) = try RDBTestReading.read(file.bytes, mode: mode, chunkLimit: chunk)
            try #require(keys.count == 2, "\(mode) chunk \(chunk)")
            #expect(keys[0].header.key == "k1")
            #expect(keys[0].header.valueType == c.type)
            #expect(keys[0].header.offset == Int64(file.keyOffset))
            #expect(keys[0].header.valueOffset == Int64(file.valueOffset))
            let (value, idmp) = splitIdempotency(keys[0].value)
            #expect(value == c.expected, "\(mode) chunk \(chunk)")
            let isV4Stream = [RDBValueType.streamListpacks4, .streamListpacks5].contains(c.type)
            #expect(idmp == (isV4Stream ? expectedIdmpSummary : nil))
            #expect(keys[1].header.key == "k2")
            #expect(keys[1].header.offset == Int64(file.secondKeyOffset))
            #expect(keys[1].value == .string("after"))
            let expectedEnd: RDBChecksum =
                c.version >= 5 ? .verified(CRC64.checksum(Array(file.bytes.dropLast(8)))) : .absent
            #expect(records.last == .end(expectedEnd))
        }
    }

    @Test("Skipping, validating or ignoring a value leaves the reader at the next key", arguments: allCases)
    func skipAndValidateLeaveReaderAtNextKey(_ c: ValueCase) throws {
        let file = c.file()
        for how in ["skip", "validate", "ignore", "one element then next"] {
            for options in [RDBReader.Options(), { var o = RDBReader.Options(); o.validation = .deep; return o }()] {
                let reader = try RDBReader(source: MemorySource(file.bytes, chunkLimit: 5), options: options)
                var sawFirst = false
                var second: RDBKeyHeader?
                while let r = try reader.next() {
                    guard case .key(let h) = r else { continue }
                    if h.key == "k1" {
                        sawFirst = true
                        switch how {
                        case "skip": try reader.skipValue()
                        case "validate": try reader.validateValue()
                        case "one element then next": _ = try reader.nextElement()
                        default: break
                        }
                    } else {
                        second = h
                        #expect(try reader.readValue() == .string("after"), "\(how)")
                    }
                }
                #expect(sawFirst)
                #expect(second?.key == "k2", "\(how)")
                #expect(second?.offset == Int64(file.secondKeyOffset), "\(how)")
            }
        }
    }

    // MARK: Every encoding decodes alike

    @Test(
        "Every encoding of a value decodes alike",
        arguments: [
            ("list", listCases), ("set", setCases), ("zset", zsetCases), ("hash", hashCases),
        ])
    func everyEncodingDecodesAlike(_ kind: String, _ cases: [ValueCase]) throws {
        var values: [(String, RedisValue)] = []
        for c in cases {
            for mode in RDBTestReading.ValueMode.allCases {
                let (keys, _) = try RDBTestReading.read(c.file().bytes, mode: mode)
                values.append((c.name, RDBTestReading.normalized(keys[0].value)))
            }
        }
        let reference = values[0].1
        for (name, v) in values {
            #expect(v == reference, "\(kind): \(name) differs from \(values[0].0)")
        }
    }

    @Test("A type 3 score stored as byte 253 is NaN, 254 is +inf, 255 is -inf")
    func stringDoubleSpecials() throws {
        var b = RDBBuilder(redisVersion: 6)
        b.key(3, "z")
        b.length(4)
        b.string("nan"); b.byte(253)
        b.string("pinf"); b.byte(254)
        b.string("ninf"); b.byte(255)
        b.string("text"); b.byte(5); b.raw("-1.25")
        b.eof()
        let (keys, _) = try RDBTestReading.read(b.bytes)
        guard case .sortedSet(let z) = keys[0].value else { Issue.record("not a zset"); return }
        #expect(z.map(\.member) == ["nan", "pinf", "ninf", "text"])
        #expect(z[0].score.isNaN)
        #expect(z[1].score == .infinity)
        #expect(z[2].score == -.infinity)
        #expect(z[3].score == -1.25)
    }

    // MARK: Compact encodings in detail

    @Test("Every listpack entry encoding decodes, including non-minimal ones")
    func listpackEveryEncoding() throws {
        var lp = ListpackBuilder()
        lp.uint7(0)
        lp.uint7(127)
        lp.string6(Array("six".utf8))
        lp.string6([])
        lp.string12(Array(String(repeating: "m", count: 300).utf8))
        lp.string12(Array("short in 12".utf8))
        lp.string32(Array(String(repeating: "L", count: 5000).utf8))
        lp.string32(Array("tiny in 32".utf8))
        lp.int13(-4096)
        lp.int13(4095)
        lp.int13(5)
        lp.int16(Int16.min)
        lp.int16(Int16.max)
        lp.int24(-(1 << 23))
        lp.int24((1 << 23) - 1)
        lp.int32(Int32.min)
        lp.int32(Int32.max)
        lp.int64(Int64.min)
        lp.int64(Int64.max)
        lp.int64(1)
        let expected: [String] = [
            "0", "127", "six", "", String(repeating: "m", count: 300), "short in 12", String(repeating: "L", count: 5000),
            "tiny in 32", "-4096", "4095", "5", "-32768", "32767", "-8388608", "8388607", "-2147483648", "2147483647",
            "-9223372036854775808", "9223372036854775807", "1",
        ]
        for validation in [RDBReader.Options.Validation.structure, .deep] {
            var b = RDBBuilder(redisVersion: 10)
            b.key(18, "l")
            b.length(1)
            b.length(2)
            b.blob(lp.build())
            b.eof()
            var o = RDBReader.Options()
            o.validation = validation
            let (keys, _) = try RDBTestReading.read(b.bytes, options: o)
            #expect(keys[0].value == .list(expected.map(bytes)))
        }
    }

    @Test("A listpack with count 0xFFFF (unknown) decodes under deep validation")
    func listpackUnknownCount() throws {
        var lp = ListpackBuilder()
        lp.string("a")
        lp.int(1)
        var b = RDBBuilder(redisVersion: 11)
        b.key(20, "s")
        b.blob(lp.build(count: 0xFFFF))
        b.eof()
        var o = RDBReader.Options()
        o.validation = .deep
        let (keys, _) = try RDBTestReading.read(b.bytes, options: o)
        #expect(keys[0].value == .set(["a", "1"]))
    }

    @Test("Every ziplist entry encoding decodes, with 1- and 5-byte prevlens")
    func ziplistEveryEncoding() throws {
        var zl = ZiplistBuilder()
        zl.string6(Array("short".utf8))
        zl.string14(Array(String(repeating: "q", count: 300).utf8))  // next prevlen needs 5 bytes
        zl.string32(Array("thirty-two".utf8))
        zl.int16(-2)
        zl.int32(Int32.min)
        zl.int64(Int64.max)
        zl.int24(-(1 << 23))
        zl.int8(-128)
        for v in 0...12 { zl.immediate(UInt8(v)) }
        zl.string6([], widePrevlen: true)
        zl.int8(127, widePrevlen: true)
        var expected: [String] = [
            "short", String(repeating: "q", count: 300), "thirty-two", "-2", "-2147483648", "9223372036854775807",
            "-8388608", "-128",
        ]
        expected += (0...12).map(String.init) + ["", "127"]
        for validation in [RDBReader.Options.Validation.structure, .deep] {
            var b = RDBBuilder(redisVersion: 6)
            b.key(10, "l")
            b.blob(zl.build())
            b.eof()
            var o = RDBReader.Options()
            o.validation = validation
            let (keys, _) = try RDBTestReading.read(b.bytes, options: o)
            #expect(keys[0].value == .list(expected.map(bytes)))
        }
    }

    @Test("Intsets of 2-, 4- and 8-byte members decode", arguments: [
        (2, [Int64(Int16.min), -1, 0, Int64(Int16.max)]),
        (4, [Int64(Int32.min), -5, 70000, Int64(Int32.max)]),
        (8, [Int64.min, 0, Int64.max]),
    ])
    func intsetWidths(_ width: Int, _ values: [Int64]) throws {
        var b = RDBBuilder(redisVersion: 9)
        b.key(11, "s")
        b.blob(IntsetBuilder.build(width: width, values))
        b.eof()
        var o = RDBReader.Options()
        o.validation = .deep
        let (keys, _) = try RDBTestReading.read(b.bytes, options: o)
        #expect(keys[0].value == .set(values.map { RedisBytes(String($0)) }))
    }

    @Test("A zipmap with a 254-prefixed little-endian length decodes")
    func zipmapWideLength() throws {
        let big = String(repeating: "z", count: 300)
        var zm = ZipmapBuilder()
        zm.pair("k", big)
        zm.pair("f", "v", free: 4)
        var b = RDBBuilder(redisVersion: 2)
        b.key(9, "h")
        b.blob(zm.build())
        b.eof(.none)
        let (keys, records) = try RDBTestReading.read(b.bytes)
        #expect(keys[0].value == .hash([HashField(field: "k", value: bytes(big)), HashField(field: "f", value: "v")]))
        #expect(records.last == .end(.absent))
    }

    // MARK: Hash field TTLs

    @Test("Type 24 field TTLs are relative to minExpire: expireAt = ttl + minExpire - 1, 0 = none")
    func hashMetadataTTLs() throws {
        let minExpire: Int64 = 1_700_000_000_000
        var b = RDBBuilder(redisVersion: 12)
        b.key(24, "h")
        b.uint64LE(UInt64(minExpire))
        b.length(3)
        b.length(1); b.string("f1"); b.string("v1")
        b.length(0); b.string("f2"); b.string("v2")
        b.length(1_005_134, width: .bits32); b.string("f3"); b.intString8(3)
        b.eof()
        for mode in RDBTestReading.ValueMode.allCases {
            let (keys, _) = try RDBTestReading.read(b.bytes, mode: mode)
            #expect(keys[0].value == .hash([
                HashField(field: "f1", value: "v1", expiresAt: RedisTimestamp(milliseconds: minExpire)),
                HashField(field: "f2", value: "v2", expiresAt: nil),
                HashField(field: "f3", value: "3", expiresAt: RedisTimestamp(milliseconds: minExpire + 1_005_133)),
            ]))
        }
    }

    @Test("Type 25 field TTLs are absolute listpack integers after each value, 0 = none")
    func hashListpackExTTLs() throws {
        var lp = ListpackBuilder()
        lp.string("f1"); lp.string("v1"); lp.int(1_700_000_000_123)
        lp.string("f2"); lp.int(2); lp.int(0)
        var b = RDBBuilder(redisVersion: 12)
        b.key(25, "h")
        b.uint64LE(1_700_000_000_123)
        b.blob(lp.build())
        b.eof()
        let (keys, _) = try RDBTestReading.read(b.bytes)
        #expect(keys[0].value == .hash([
            HashField(field: "f1", value: "v1", expiresAt: RedisTimestamp(milliseconds: 1_700_000_000_123)),
            HashField(field: "f2", value: "2", expiresAt: nil),
        ]))
    }

    @Test("Redis pre-GA type 22 stores an absolute TTL before each field, 0 = none")
    func hashPreGAMetadataTTLs() throws {
        var b = RDBBuilder(redisVersion: 12)
        b.key(22, "h")
        b.length(2)
        b.length(1_700_000_000_000); b.string("f1"); b.string("v1")
        b.length(0); b.string("f2"); b.string("v2")
        b.eof()
        let (keys, _) = try RDBTestReading.read(b.bytes)
        #expect(keys[0].header.valueType == .hashMetadataPreGA)
        #expect(keys[0].value == .hash([
            HashField(field: "f1", value: "v1", expiresAt: RedisTimestamp(milliseconds: 1_700_000_000_000)),
            HashField(field: "f2", value: "v2", expiresAt: nil),
        ]))
    }

    @Test("Redis pre-GA type 23 is a listpack of triples without a minExpire prefix")
    func hashPreGAListpackTTLs() throws {
        var lp = ListpackBuilder()
        lp.string("f1"); lp.string("v1"); lp.int(1_700_000_000_999)
        lp.string("f2"); lp.string("v2"); lp.int(0)
        var b = RDBBuilder(redisVersion: 12)
        b.key(23, "h")
        b.blob(lp.build())
        b.stringKey("after", "x")
        b.eof()
        let (keys, _) = try RDBTestReading.read(b.bytes)
        #expect(keys[0].header.valueType == .hashListpackExPreGA)
        #expect(keys[0].value == .hash([
            HashField(field: "f1", value: "v1", expiresAt: RedisTimestamp(milliseconds: 1_700_000_000_999)),
            HashField(field: "f2", value: "v2", expiresAt: nil),
        ]))
        #expect(keys[1].value == .string("x"))
    }

    @Test("Valkey HASH_2 (type 22 in a VALKEY080 file) stores an i64le expiry after each value, -1 = none")
    func valkeyHash2TTLs() throws {
        var b = RDBBuilder(valkeyVersion: 80)
        b.aux("valkey-ver", "9.0.1")
        b.key(22, "h")
        b.length(3)
        b.string("F1"); b.string("V1"); b.int64LE(1_700_000_000_000)
        b.string("F2"); b.string("V2"); b.int64LE(-1)
        b.string("F3"); b.string("V3"); b.int64LE(0)
        b.eof()
        let (keys, _) = try RDBTestReading.read(b.bytes)
        #expect(keys[0].header.valueType == .valkeyHash2)
        #expect(keys[0].value == .hash([
            HashField(field: "F1", value: "V1", expiresAt: RedisTimestamp(milliseconds: 1_700_000_000_000)),
            HashField(field: "F2", value: "V2", expiresAt: nil),
            HashField(field: "F3", value: "V3", expiresAt: RedisTimestamp(milliseconds: 0)),
        ]))
    }

    // MARK: Streams in detail

    @Test("Stream consumer groups resolve PEL owners, keep unowned entries and exclude deleted entries",
          arguments: [1, 2, 3, 4, 5])
    func streamGroups(_ version: Int) throws {
        let c = streamCases[version - 1]
        let (keys, _) = try RDBTestReading.read(c.file().bytes)
        guard case .stream(let s) = keys[0].value else { Issue.record("not a stream"); return }
        #expect(!s.entries.contains { $0.id == sid(0, 1) })
        let g1 = try #require(s.groups.first)
        #expect(g1.pending.map(\.consumer) == ["alice", "bob", "alice", nil])
        #expect(g1.consumers.map(\.seenTime.milliseconds) == [1_700_000_005_000, 1_700_000_007_000])
        #expect(g1.consumers.map(\.activeTime?.milliseconds) == (version >= 3 ? [1_700_000_006_000, 1_700_000_008_000] : [nil, nil]))
        #expect(g1.entriesRead == (version >= 2 ? 4 : nil))
        #expect(s.groups[1].entriesRead == nil)
        #expect(s.metadata.firstID == (version >= 2 ? sid(0, 0) : nil))
        #expect(s.metadata.entriesAdded == (version >= 2 ? 5 : nil))
        #expect(g1.nacked == (version >= 5 ? [sid(10, 3)] : []))
        #expect((s.idempotency != nil) == (version >= 4))
        if version >= 4 {
            #expect(s.idempotency?.durationSeconds == 100)
            #expect(s.idempotency?.maxEntries == 10)
            #expect(s.idempotency?.producers.map(\.pid) == ["p1", "p2"])
            #expect(s.idempotency?.producers.first?.entries.map(\.iid) == ["i1", "i2"])
            #expect(s.idempotency?.producers.first?.entries.map(\.id) == [sid(0, 0), sid(5, 0)])
            #expect(s.idempotency?.producers.last?.entries.isEmpty == true)
            #expect(s.idempotency?.iidsAdded == 7)
            #expect(s.idempotency?.iidsDuplicates == 2)
        }
    }

    @Test("Stream elements come as entries, then metadata, then groups, then idempotency")
    func streamElementOrder() throws {
        let file = streamCases[3].file()
        let reader = try RDBReader(source: MemorySource(file.bytes))
        var kinds: [String] = []
        while let r = try reader.next() {
            guard case .key(let h) = r, h.key == "k1" else { continue }
            while let e = try reader.nextElement() {
                switch e {
                case .streamEntry: kinds.append("entry")
                case .streamMetadata: kinds.append("meta")
                case .streamGroup: kinds.append("group")
                case .streamIdempotency: kinds.append("idmp")
                default: kinds.append("other")
                }
            }
        }
        #expect(kinds == ["entry", "entry", "entry", "entry", "meta", "group", "group", "idmp"])
    }

    // MARK: Opcodes

    @Test("RDB 13 KEY_META before the type byte becomes the key's metadata")
    func keyMetadata() throws {
        let spec1 = RDBBuilder.keyMetaClassSpec(name: "ABCD", version: 3, flags: 1)
        let spec2 = RDBBuilder.keyMetaClassSpec(name: "ab_-", version: 31, flags: 0)
        let ops1 = ModuleOpcodes().uint(5).string("meta").eof()
        let ops2 = ModuleOpcodes().eof()
        var b = RDBBuilder(redisVersion: 13)
        b.selectDB(0)
        let keyStart = b.expireMS(1_800_000_000_000)
        b.keyMeta([(spec1, ops1), (spec2, ops2)])
        b.stringKey("k", "v")
        b.stringKey("plain", "w")
        b.eof()
        let (keys, _) = try RDBTestReading.read(b.bytes)
        let h = keys[0].header
        #expect(h.offset == Int64(keyStart))
        #expect(h.expiresAt == RedisTimestamp(milliseconds: 1_800_000_000_000))
        #expect(h.metadata.count == 2)
        #expect(h.metadata.map(\.className) == ["ABCD", "ab_-"])
        #expect(h.metadata.map(\.classVersion) == [3, 31])
        #expect(h.metadata.map(\.allowsIgnore) == [true, false])
        #expect(h.metadata.map(\.raw) == [ops1.bytes, ops2.bytes])
        #expect(h.metadata.map(\.classSpec) == [spec1, spec2])
        #expect(keys[0].value == .string("v"))
        #expect(keys[1].header.metadata.isEmpty)
        #expect(keys[1].header.expiresAt == nil)
    }

    @Test("In a VALKEY080 file opcode F3 is SLOT_IMPORT")
    func valkeySlotImport() throws {
        let job = String(repeating: "a1", count: 20)
        var b = RDBBuilder(valkeyVersion: 80)
        b.slotImport(jobName: job, ranges: [(0, 100), (200, 16383)])
        b.selectDB(0)
        b.stringKey("k", "v")
        b.eof()
        let (keys, records) = try RDBTestReading.read(b.bytes)
        guard case .slotImport(let si)? = records.first else {
            Issue.record("expected a slot import first: \(records)")
            return
        }
        #expect(si.jobName == bytes(job))
        #expect(si.ranges == [0...100, 200...16383])
        #expect(keys.first?.header.metadata == [])
        #expect(keys.first?.value == .string("v"))
    }

    @Test("Valkey 81 opcode F2 is unsupported, at its offset")
    func valkeyUpdateOpcode() throws {
        var b = RDBBuilder(valkeyVersion: 81)
        b.selectDB(0)
        b.stringKey("k", "v")
        let at = b.byte(0xF2)
        b.raw("*1\r\n$4\r\nPING\r\n")
        b.eof()
        let e = try #require(RDBTestReading.firstError(b.bytes))
        #expect(e.code == .unsupported)
        #expect(e.offset == Int64(at))
    }

    @Test("Valkey type 23 (PATH_HASH) is unsupported, at the type byte")
    func valkeyPathHash() throws {
        var b = RDBBuilder(valkeyVersion: 81)
        b.selectDB(0)
        let at = b.key(23, "ph")
        b.length(0)
        b.eof()
        let e = try #require(RDBTestReading.firstError(b.bytes))
        #expect(e.code == .unsupported)
        #expect(e.offset == Int64(at))
    }

    @Test("Unknown type bytes stop the reader with an error at their offset", arguments: [
        (UInt8(8), RDBError.Code.corrupt), (40, .corrupt), (29, .unsupported), (100, .corrupt),
    ])
    func unknownTypes(_ type: UInt8, _ code: RDBError.Code) throws {
        var b = RDBBuilder(redisVersion: 14)
        b.selectDB(0)
        b.stringKey("ok", "1")
        let at = b.key(type, "bad")
        b.string("x")
        b.eof()
        let e = try #require(RDBTestReading.firstError(b.bytes))
        #expect(e.code == code)
        #expect(e.offset == Int64(at))
        #expect(e.description.contains("[offset \(at)]"))
    }

    @Test("Module type 6 (MODULE_PRE_GA) is unsupported, at the type byte")
    func modulePreGA() throws {
        var b = RDBBuilder(redisVersion: 8)
        let at = b.key(6, "m")
        b.length(bloomID)
        b.raw([1, 2, 3])
        b.eof()
        let e = try #require(RDBTestReading.firstError(b.bytes))
        #expect(e.code == .unsupported)
        #expect(e.offset == Int64(at))
    }

    @Test("Pre-GA function F6 is rebuilt as a GA library source")
    func functionPreGA() throws {
        var b = RDBBuilder(redisVersion: 10)
        let at = b.functionPreGA(name: "mylib", engine: "LUA", description: "a library", code: "return 1")
        b.functionPreGA(name: "nodesc", engine: "LUA", description: nil, code: "return 2")
        let gaAt = b.function2("#!lua name=ga\nreturn 3")
        b.eof()
        let (_, records) = try RDBTestReading.read(b.bytes)
        guard case .function(let f1) = records[0], case .function(let f2) = records[1],
            case .function(let ga) = records[2]
        else {
            Issue.record("expected functions: \(records)")
            return
        }
        #expect(f1.code == "#!LUA name=mylib\nreturn 1")
        #expect(f1.isPreGA)
        #expect(f1.preGADescription == "a library")
        #expect(f1.offset == Int64(at))
        #expect(f2.code == "#!LUA name=nodesc\nreturn 2")
        #expect(f2.isPreGA)
        #expect(f2.preGADescription == nil)
        #expect(f2.libraryName == "nodesc")
        #expect(f2.engine == "LUA")
        #expect(ga.code == "#!lua name=ga\nreturn 3")
        #expect(!ga.isPreGA)
        #expect(ga.offset == Int64(gaAt))
        #expect(ga.libraryName == "ga")
        #expect(ga.engine == "lua")
    }

    @Test("Module type ids decode to their 9-character names and encoding versions")
    func moduleTypeIDs() throws {
        let bloom = RedisModuleType(id: 3_465_209_449_566_631_940)
        #expect(bloom.name == "MBbloom--")
        #expect(bloom.encodingVersion == 4)
        #expect(RedisModuleType(name: "ReJSON-RL", encodingVersion: 3)?.id == 5_035_677_737_576_115_203)
        #expect(RedisModuleType(name: "MBbloom--", encodingVersion: 4)?.id == 3_465_209_449_566_631_940)
        #expect(RedisModuleType(name: "vectorset", encodingVersion: 0)?.name == "vectorset")
        #expect(RedisModuleType(name: "short", encodingVersion: 0) == nil)
        #expect(RedisModuleType(name: "has space", encodingVersion: 0) == nil)
        #expect(RedisModuleType(name: "ReJSON-RL", encodingVersion: 1024) == nil)
    }

    @Test("A MODULE_2 value keeps its opcode stream through EOF as raw bytes")
    func moduleValueRaw() throws {
        let json = try #require(RedisModuleType(name: "ReJSON-RL", encodingVersion: 3))
        let ops = ModuleOpcodes().string("{\"a\":1}").uint(1).eof()
        var b = RDBBuilder(redisVersion: 12)
        b.key(7, "doc")
        b.length(json.id)
        b.raw(ops.bytes)
        b.stringKey("after", "1")
        b.eof()
        let (keys, _) = try RDBTestReading.read(b.bytes)
        #expect(keys[0].value == .module(RedisModuleValue(type: json, raw: ops.bytes)))
        #expect(keys[0].value.typeName == "ReJSON-RL")
        #expect(keys[1].value == .string("1"))
    }

    @Test("MODULE_AUX (F7) becomes a moduleAux record")
    func moduleAux() throws {
        let ops = ModuleOpcodes().uint(42).double(0.5).eof()
        var b = RDBBuilder(redisVersion: 9)
        let at = b.moduleAux(id: bloomID, when: 1, opcodes: ops)
        b.selectDB(0)
        b.stringKey("k", "v")
        let after = b.moduleAux(id: bloomID, when: 2, opcodes: ModuleOpcodes().eof())
        b.eof()
        let (_, records) = try RDBTestReading.read(b.bytes)
        guard case .moduleAux(let before)? = records.first, case .moduleAux(let afterKeys)? = records.dropLast().last else {
            Issue.record("expected module aux records: \(records)")
            return
        }
        #expect(before.type == RedisModuleType(id: bloomID))
        #expect(before.type.name == "MBbloom--")
        #expect(before.when == 1)
        #expect(before.raw == ops.bytes)
        #expect(before.offset == Int64(at))
        #expect(afterKeys.when == 2)
        #expect(afterKeys.raw == [0])
        #expect(afterKeys.offset == Int64(after))
    }

    @Test("Lengths decode in every width", arguments: RDBBuilder.LengthWidth.allCases)
    func lengthWidths(_ width: RDBBuilder.LengthWidth) throws {
        let w: RDBBuilder.LengthWidth = width == .bits6 ? .smallest : width  // 6-bit cannot hold 64+ counts
        var b = RDBBuilder(redisVersion: 9)
        b.selectDB(0)
        b.key(1, "l")
        b.length(3, width: width)
        b.string("a", lengthWidth: width)
        b.string(String(repeating: "b", count: 70), lengthWidth: w)
        b.string("", lengthWidth: width)
        b.key(2, "s")
        b.length(1, width: width)
        b.string("m", lengthWidth: width)
        b.eof()
        let (keys, _) = try RDBTestReading.read(b.bytes)
        #expect(keys.map(\.value) == [.list(["a", bytes(String(repeating: "b", count: 70)), ""]), .set(["m"])])
    }

    @Test("Per-key opcodes apply to the next key only: EXPIRETIME in seconds, EXPIRETIME_MS, IDLE, FREQ")
    func perKeyOpcodes() throws {
        var b = RDBBuilder(redisVersion: 9)
        b.selectDB(3)
        let k1 = b.expireSeconds(1_700_000_000)
        b.idle(12345)
        b.stringKey("a", "1")
        let k2 = b.expireMS(1_700_000_000_123)
        b.freq(200)
        b.stringKey("b", "2")
        let k3 = b.stringKey("c", "3")
        b.eof()
        let (keys, records) = try RDBTestReading.read(b.bytes)
        #expect(records.first == .selectDB(3))
        #expect(keys.map(\.header.db) == [3, 3, 3])
        #expect(keys[0].header.expiresAt == RedisTimestamp(milliseconds: 1_700_000_000_000))
        #expect(keys[0].header.lruIdleSeconds == 12345)
        #expect(keys[0].header.lfuFrequency == nil)
        #expect(keys[0].header.offset == Int64(k1))
        #expect(keys[1].header.expiresAt == RedisTimestamp(milliseconds: 1_700_000_000_123))
        #expect(keys[1].header.lfuFrequency == 200)
        #expect(keys[1].header.lruIdleSeconds == nil)
        #expect(keys[1].header.offset == Int64(k2))
        #expect(keys[2].header.expiresAt == nil)
        #expect(keys[2].header.lfuFrequency == nil)
        #expect(keys[2].header.offset == Int64(k3))
    }

    @Test("A negative EXPIRETIME in seconds converts to negative milliseconds")
    func negativeExpireSeconds() throws {
        var b = RDBBuilder(redisVersion: 6)
        b.expireSeconds(-5)
        b.stringKey("a", "1")
        b.eof()
        let (keys, _) = try RDBTestReading.read(b.bytes)
        #expect(keys[0].header.expiresAt == RedisTimestamp(milliseconds: -5000))
    }

    @Test("AUX, RESIZEDB and SLOT_INFO records come through in file order")
    func auxResizeSlotInfo() throws {
        var b = RDBBuilder(redisVersion: 12)
        b.aux("redis-ver", "7.4.0")
        b.aux("redis-bits", int: 64)
        b.aux("ctime", int: 1_700_000_000)
        b.selectDB(0)
        b.resizeDB(1, 0)
        b.slotInfo(slot: 12182, size: 1, expires: 0)
        b.stringKey("foo", "bar")
        b.eof()
        let (_, records) = try RDBTestReading.read(b.bytes)
        #expect(Array(records.prefix(5)) == [
            .aux(key: "redis-ver", value: "7.4.0"), .aux(key: "redis-bits", value: "64"),
            .aux(key: "ctime", value: "1700000000"), .selectDB(0), .resizeDB(dbSize: 1, expiresSize: 0),
        ])
        guard case .slotInfo(let si) = records[5] else {
            Issue.record("expected slot info: \(records[5])")
            return
        }
        #expect(si.slot == 12182)
        #expect(si.size == 1)
        #expect(si.expiresSize == 0)
    }

    @Test("The string encoding of a string key is reported in its header", arguments: [
        (0, RDBStringEncoding.raw), (1, .int), (2, .lzf),
    ])
    func stringEncodingInHeader(_ which: Int, _ encoding: RDBStringEncoding) throws {
        var b = RDBBuilder(redisVersion: 9)
        b.key(0, "s")
        switch which {
        case 0: b.string("plain")
        case 1: b.intString16(1234)
        default: b.lzfString(longText)
        }
        b.eof()
        let (keys, _) = try RDBTestReading.read(b.bytes)
        #expect(keys[0].header.stringEncoding == encoding)
        #expect(keys[0].header.encodingName == (encoding == .int ? "int" : "raw"))
    }

    // MARK: End of file

    @Test("RDB before version 5 ends right after FF, with no checksum", arguments: [1, 2, 3, 4])
    func noChecksumBeforeVersion5(_ version: Int) throws {
        var b = RDBBuilder(redisVersion: version)
        b.selectDB(0)
        b.stringKey("a", "1")
        b.eof(.none)
        let reader = try b.reader()
        var last: RDBRecord?
        while let r = try reader.next() { last = r }
        #expect(last == .end(.absent))
        #expect(try reader.hasTrailingData() == false)
        #expect(reader.offset == Int64(b.count))
    }

    @Test("A stored checksum of zero means checksums are disabled")
    func zeroChecksum() throws {
        var b = RDBBuilder(redisVersion: 11)
        b.stringKey("a", "1")
        b.eof(.zero)
        let (_, records) = try RDBTestReading.read(b.bytes)
        #expect(records.last == .end(.disabled))
    }

    @Test("A correct checksum is verified, and reported unverified when verification is off")
    func correctChecksum() throws {
        var b = RDBBuilder(redisVersion: 11)
        b.stringKey("a", "1")
        b.eof()
        let crc = CRC64.checksum(Array(b.bytes.dropLast(8)))
        #expect(try RDBTestReading.read(b.bytes).records.last == .end(.verified(crc)))
        var o = RDBReader.Options()
        o.verifiesChecksum = false
        #expect(try RDBTestReading.read(b.bytes, options: o).records.last == .end(.unverified(crc)))
    }

    @Test("A wrong checksum is a checksum mismatch at the trailer's offset")
    func wrongChecksum() throws {
        var b = RDBBuilder(redisVersion: 11)
        b.stringKey("a", "1")
        let ff = b.eof(.wrong)
        let e = try #require(RDBTestReading.firstError(b.bytes, chunkLimit: 2))
        #expect(e.code == .checksumMismatch)
        #expect(e.offset == Int64(ff + 1))
        #expect(e.description.contains("[offset \(ff + 1)]"))
    }

    @Test("The minimal RDB 11 file matches the formats.md trailer byte for byte")
    func minimalFile() throws {
        var b = RDBBuilder(redisVersion: 11)
        b.eof()
        #expect(Array(b.bytes.suffix(8)) == [0xc0, 0x22, 0x8a, 0x8d, 0x74, 0x38, 0x97, 0x62])
        #expect(try RDBTestReading.read(b.bytes).records == [.end(.verified(0x6297_3874_8d8a_22c0))])
    }
}
