import Foundation
import RedisFormats
import RedisFormatsJSON
import Testing
import _RedisFormatsTestSupport

/// Collects everything the exporter writes.
private final class CollectingSink: JSONByteSink {
    var bytes: [UInt8] = []
    func write(_ b: UnsafeRawBufferPointer) throws { bytes += b }
}

private func export(
    _ file: [UInt8], filter: RDBKeyFilter = RDBKeyFilter(), policy: JSONBytesPolicy = .utf8OrBase64, pretty: Bool = false
) throws -> (text: String, summary: RDBExportSummary) {
    let sink = CollectingSink()
    let exporter = RDBJSONExporter(sink: sink, filter: filter, policy: policy, pretty: pretty)
    let summary = try exporter.export(try RDBReader(source: MemorySource(file)))
    return (String(decoding: sink.bytes, as: UTF8.self), summary)
}

/// The JSON line of one key.
private func line(
    key: String = "\"k\"", type: String, encoding: String, expire: String = "null", value: String, extra: String = ""
) -> String {
    "{\"db\":0,\"key\":\(key),\"type\":\"\(type)\",\"encoding\":\"\(encoding)\",\"expire_ms\":\(expire),\"value\":\(value)\(extra)}\n"
}

/// A Redis file with the given keys written by `body` in db 0.
private func file(version: Int = 11, _ body: (inout RDBBuilder) -> Void) -> [UInt8] {
    var b = RDBBuilder(redisVersion: version)
    b.aux("redis-ver", "7.2.0")
    b.selectDB(0)
    body(&b)
    b.eof()
    return b.bytes
}

private let bloomID: UInt64 = 3_465_209_449_566_631_940

@Suite("JSON: emitter, printable text, base64 and the RDB exporter")
struct JSONTests {
    // MARK: JSONEmitter

    @Test("JSONEmitter escapes quotes, backslashes and control characters")
    func emitterEscaping() {
        var e = JSONEmitter()
        e.string("a\"b\\c\n\t\r\u{01}\u{1F}\u{7F}é")
        #expect(String(decoding: e.output, as: UTF8.self) == "\"a\\\"b\\\\c\\n\\t\\r\\u0001\\u001f\u{7F}é\"")
        var k = JSONEmitter()
        k.beginObject()
        k.key(text: "we\"ird\n")
        k.int(-5)
        k.endObject()
        #expect(String(decoding: k.output, as: UTF8.self) == "{\"we\\\"ird\\n\":-5}")
    }

    @Test("JSONEmitter separates values with commas in arrays and objects")
    func emitterCommas() {
        var e = JSONEmitter()
        e.beginArray()
        e.int(1)
        e.int(UInt64.max)
        e.beginObject()
        e.key("a")
        e.null()
        e.key("b")
        e.bool(true)
        e.key("c")
        e.beginArray()
        e.endArray()
        e.endObject()
        e.string("s")
        e.bool(false)
        e.beginArray()
        e.int(Int64.min)
        e.endArray()
        e.endArray()
        #expect(String(decoding: e.output, as: UTF8.self)
            == "[1,18446744073709551615,{\"a\":null,\"b\":true,\"c\":[]},\"s\",false,[-9223372036854775808]]")
        #expect(e.depth == 0)
    }

    @Test("JSONEmitter indents by two spaces per level when pretty")
    func emitterPretty() {
        var e = JSONEmitter(pretty: true)
        e.beginObject()
        e.key("a")
        e.beginArray()
        e.int(1)
        e.int(2)
        e.endArray()
        e.key("b")
        e.beginObject()
        e.endObject()
        e.key("c")
        e.beginArray()
        e.endArray()
        e.endObject()
        #expect(String(decoding: e.output, as: UTF8.self) == "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": []\n}")
    }

    @Test("JSONEmitter writes bytes as text when printable, else as base64 objects")
    func emitterBytesPolicy() {
        var e = JSONEmitter()
        e.beginArray()
        e.bytes(RedisBytes("text"))
        e.bytes(RedisBytes([0x00, 0xFF]))
        e.bytes(RedisBytes("line\n"))
        e.bytes([UInt8]())
        e.base64Object(Array("x".utf8))
        e.base64String(Array("foo".utf8))
        e.endArray()
        #expect(String(decoding: e.output, as: UTF8.self)
            == "[\"text\",{\"b64\":\"AP8=\"},{\"b64\":\"bGluZQo=\"},\"\",{\"b64\":\"eA==\"},\"Zm9v\"]")
        var b = JSONEmitter(policy: .base64)
        b.bytes(RedisBytes("abc"))
        #expect(String(decoding: b.output, as: UTF8.self) == "{\"b64\":\"YWJj\"}")
    }

    @Test("JSONEmitter writes scores and stream IDs as strings")
    func emitterScoresAndIDs() {
        var e = JSONEmitter()
        e.beginArray()
        e.score(.infinity)
        e.score(-.infinity)
        e.score(.nan)
        e.score(1.5)
        e.score(-0.25)
        e.streamID(StreamID(ms: 1_700_000_000_000, seq: 3))
        e.endArray()
        #expect(String(decoding: e.output, as: UTF8.self) == "[\"inf\",\"-inf\",\"nan\",\"1.5\",\"-0.25\",\"1700000000000-3\"]")
    }

    // MARK: Printable UTF-8

    @Test("JSONText.isPrintableUTF8 accepts printable text and refuses controls, invisibles and invalid UTF-8", arguments: [
        ("ascii", Array("Hello, world ~!".utf8), true),
        ("empty", [], true),
        ("space", [0x20], true),
        ("newline", [0x0A], false),
        ("tab", [0x09], false),
        ("DEL", [0x7F], false),
        ("NUL", [0x00], false),
        ("invalid UTF-8", [0xFF, 0x41], false),
        ("truncated sequence", [0xC3], false),
        ("overlong", [0xC0, 0xAF], false),
        ("é", Array("é".utf8), true),
        ("日本", Array("日本".utf8), true),
        ("emoji", Array("😀".utf8), true),
        ("U+00A0 no-break space", Array("\u{00A0}".utf8), false),
        ("U+0085 C1 control", Array("\u{0085}".utf8), false),
        ("U+200B zero-width space", Array("\u{200B}".utf8), false),
        ("U+2028 line separator", Array("\u{2028}".utf8), false),
        ("U+2029 paragraph separator", Array("\u{2029}".utf8), false),
        ("U+FEFF byte order mark", Array("\u{FEFF}".utf8), false),
        ("U+E000 private use", Array("\u{E000}".utf8), false),
        ("U+F8FF private use", Array("\u{F8FF}".utf8), false),
        ("U+F0000 private use plane 15", Array("\u{F0000}".utf8), false),
        ("U+FFFE noncharacter", [0xEF, 0xBF, 0xBE], false),
        ("lone surrogate ED A0 80", [0xED, 0xA0, 0x80], false),
        ("mixed text with a trailing newline", Array("héllo\n".utf8), false),
    ])
    func printableUTF8(_ name: String, _ bytes: [UInt8], _ printable: Bool) {
        #expect(JSONText.isPrintableUTF8(bytes) == printable, "\(name)")
    }

    // MARK: Base64

    @Test("Base64 encodes the RFC 4648 vectors", arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ])
    func base64Vectors(_ plain: String, _ encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test("Base64 round-trips every byte value and every length")
    func base64RoundTrip() {
        for n in 0..<70 {
            let data = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 73 &+ n) }
            #expect(Base64.decode(Base64.encode(data)) == data)
        }
        let all = (0...255).map(UInt8.init)
        #expect(Base64.decode(Base64.encode(all)) == all)
        #expect(Base64.decode("Zm9vYg") == Array("foob".utf8))
        #expect(Base64.decode("Zm9v!") == nil)
    }

    // MARK: RDBJSONExporter, one type at a time

    @Test("A string key exports as one JSON line")
    func exportString() throws {
        let f = file { b in
            b.stringKey("k", "hello")
            b.expireMS(1_700_000_000_000)
            b.key(0, "n")
            b.intString16(1234)
        }
        let (text, summary) = try export(f)
        #expect(text == line(type: "string", encoding: "raw", value: "\"hello\"")
            + line(key: "\"n\"", type: "string", encoding: "int", expire: "1700000000000", value: "\"1234\""))
        #expect(summary.keysWritten == 2)
        #expect(summary.keysSkipped == 0)
        #expect(summary.checksum == .verified(CRC64.checksum(Array(f.dropLast(8)))))
    }

    @Test("A list exports its elements in order")
    func exportList() throws {
        var lp = ListpackBuilder()
        lp.string("a"); lp.int(1); lp.string("b")
        let f = file { b in
            b.key(18, "k")
            b.length(1)
            b.length(2)
            b.blob(lp.build())
        }
        #expect(try export(f).text == line(type: "list", encoding: "quicklist", value: "[\"a\",\"1\",\"b\"]"))
    }

    @Test("A set exports its members in file order")
    func exportSet() throws {
        let f = file { b in
            b.key(11, "k")
            b.blob(IntsetBuilder.build(width: 2, [-3, 7]))
        }
        #expect(try export(f).text == line(type: "set", encoding: "intset", value: "[\"-3\",\"7\"]"))
    }

    @Test("A skiplist zset exports in rank order: score, then member bytes")
    func exportSkiplistZset() throws {
        let f = file { b in
            b.key(5, "k")
            b.length(5)
            for (m, s) in [("c", 3.5), ("b", 1.5), ("a", 1.5), ("z", -0.5), ("d", -Double.infinity)] {
                b.string(m)
                b.binaryDouble(s)
            }
        }
        #expect(try export(f).text == line(
            type: "zset", encoding: "skiplist",
            value: "[[\"d\",\"-inf\"],[\"z\",\"-0.5\"],[\"a\",\"1.5\"],[\"b\",\"1.5\"],[\"c\",\"3.5\"]]"))
    }

    @Test("A listpack zset exports in file order")
    func exportListpackZset() throws {
        var lp = ListpackBuilder()
        lp.string("a"); lp.string("0.5"); lp.string("b"); lp.string("2.5")
        let f = file { b in
            b.key(17, "k")
            b.blob(lp.build())
        }
        #expect(try export(f).text == line(type: "zset", encoding: "listpack", value: "[[\"a\",\"0.5\"],[\"b\",\"2.5\"]]"))
    }

    @Test("A hash with field TTLs exports field_expire_ms for the fields that have one")
    func exportHashFieldTTLs() throws {
        var lp = ListpackBuilder()
        lp.string("f1"); lp.string("v1"); lp.int(1_700_000_000_123)
        lp.string("f2"); lp.string("v2"); lp.int(0)
        let f = file(version: 12) { b in
            b.key(25, "k")
            b.uint64LE(1_700_000_000_123)
            b.blob(lp.build())
            b.key(4, "plain")
            b.length(1)
            b.string("a")
            b.string("b")
        }
        #expect(try export(f).text
            == line(type: "hash", encoding: "listpackex", value: "[[\"f1\",\"v1\"],[\"f2\",\"v2\"]]",
                    extra: ",\"field_expire_ms\":[[\"f1\",1700000000123]]")
            + line(key: "\"plain\"", type: "hash", encoding: "hashtable", value: "[[\"a\",\"b\"]]"))
    }

    private static func streamFile(version: Int) -> [UInt8] {
        var node = StreamNodeBuilder(masterID: StreamID(ms: 1, seq: 0), masterFields: ["f"])
        node.entry(StreamID(ms: 1, seq: 0), [("f", "v")])
        node.entry(StreamID(ms: 1, seq: 1), [("f", "gone")], deleted: true)
        node.entry(StreamID(ms: 2, seq: 0), [("g", "w"), ("h", "x")])
        var spec = StreamSpec(nodes: [node], length: 2, lastID: StreamID(ms: 2, seq: 0))
        spec.firstID = StreamID(ms: 1, seq: 0)
        spec.maxDeletedEntryID = StreamID(ms: 1, seq: 1)
        spec.entriesAdded = 3
        spec.groups = [
            StreamSpec.Group(
                "g", lastDeliveredID: StreamID(ms: 2, seq: 0), entriesRead: 2,
                pel: [
                    .init(StreamID(ms: 1, seq: 0), deliveryTime: 1000, deliveryCount: 1),
                    .init(StreamID(ms: 2, seq: 0), deliveryTime: 1500, deliveryCount: 4),
                ],
                consumers: [.init("c", seenTime: 2000, activeTime: 3000, pel: [StreamID(ms: 1, seq: 0)])],
                nacked: [StreamID(ms: 2, seq: 0)])
        ]
        var idmp = StreamSpec.Idempotency()
        idmp.producers = [(pid: "p", entries: [(iid: "i", id: StreamID(ms: 1, seq: 0))])]
        idmp.iidsAdded = 1
        spec.idmp = idmp
        let type: UInt8 = [1: 15, 2: 19, 3: 21, 4: 26, 5: 27][version]!
        let rdb = [1: 9, 2: 10, 3: 11, 4: 13, 5: 14][version]!
        return file(version: rdb) { b in
            b.key(type, "k")
            b.streamValue(spec, version: version)
        }
    }

    @Test("A stream exports every field, with nulls for what its version lacks", arguments: [1, 2, 3, 4, 5])
    func exportStream(_ version: Int) throws {
        let entries = "\"entries\":[[\"1-0\",[[\"f\",\"v\"]]],[\"2-0\",[[\"g\",\"w\"],[\"h\",\"x\"]]]]"
        let meta = version >= 2
            ? "\"length\":2,\"last_id\":\"2-0\",\"first_id\":\"1-0\",\"max_deleted_entry_id\":\"1-1\",\"entries_added\":3"
            : "\"length\":2,\"last_id\":\"2-0\",\"first_id\":null,\"max_deleted_entry_id\":null,\"entries_added\":null"
        let group = "{\"name\":\"g\",\"last_delivered_id\":\"2-0\",\"entries_read\":\(version >= 2 ? "2" : "null"),"
            + "\"pel\":[[\"1-0\",\"c\",1,1000],[\"2-0\",null,4,1500]],"
            + "\"consumers\":[{\"name\":\"c\",\"seen_time_ms\":2000,\"active_time_ms\":\(version >= 3 ? "3000" : "null"),"
            + "\"pel\":[\"1-0\"]}]"
            + (version >= 5 ? ",\"nacked\":[\"2-0\"]" : "") + "}"
        let idmp = version >= 4
            ? ",\"idmp\":{\"duration_s\":100,\"max_entries\":10,\"iids_added\":1,\"iids_duplicates\":0,"
                + "\"producers\":[{\"pid\":\"p\",\"entries\":[[\"i\",\"1-0\"]]}]}"
            : ""
        let value = "{" + entries + "," + meta + ",\"groups\":[" + group + "]" + idmp + "}"
        #expect(try export(Self.streamFile(version: version)).text == line(type: "stream", encoding: "stream", value: value))
    }

    @Test("A module value exports its type name, encoding version and raw opcodes in base64")
    func exportModule() throws {
        let ops = ModuleOpcodes().uint(1).string("ab").eof()
        let f = file(version: 12) { b in
            b.key(7, "k")
            b.length(bloomID)
            b.raw(ops.bytes)
        }
        let raw = Base64.encode(ops.bytes)
        #expect(try export(f).text == line(
            type: "MBbloom--", encoding: "module",
            value: "{\"module\":\"MBbloom--\",\"encver\":4,\"raw_b64\":\"\(raw)\"}"))
    }

    @Test("LFU frequency and LRU idle time come after the value")
    func exportFreqIdle() throws {
        let f = file { b in
            b.freq(5)
            b.stringKey("k", "v")
            b.idle(100)
            b.stringKey("i", "w")
        }
        #expect(try export(f).text
            == line(type: "string", encoding: "raw", value: "\"v\"", extra: ",\"lfu_freq\":5")
            + line(key: "\"i\"", type: "string", encoding: "raw", value: "\"w\"", extra: ",\"lru_idle_s\":100"))
    }

    @Test("A binary key and binary values export as base64 objects")
    func exportBinary() throws {
        let f = file { b in
            b.key(0, [0x00, 0xFF])
            b.string([0x0A])
        }
        #expect(try export(f).text == line(key: "{\"b64\":\"AP8=\"}", type: "string", encoding: "raw", value: "{\"b64\":\"Cg==\"}"))
        #expect(try export(f, policy: .base64).text
            == line(key: "{\"b64\":\"AP8=\"}", type: "string", encoding: "raw", value: "{\"b64\":\"Cg==\"}"))
    }

    @Test("An array exports as [index, value] pairs")
    func exportArray() throws {
        let f = file(version: 14) { b in
            b.key(28, "k")
            b.length(2)
            b.length(0)
            b.length(0); b.length(0); b.string("x")
            b.length(9); b.length(1); b.int64LE(-1)
        }
        #expect(try export(f).text == line(type: "array", encoding: "array", value: "[[0,\"x\"],[9,\"-1\"]]"))
    }

    @Test("Pretty output is one indented JSON array")
    func exportPretty() throws {
        let f = file { b in b.stringKey("a", "1") }
        #expect(try export(f, pretty: true).text
            == "[\n  {\n    \"db\": 0,\n    \"key\": \"a\",\n    \"type\": \"string\",\n    \"encoding\": \"raw\",\n"
            + "    \"expire_ms\": null,\n    \"value\": \"1\"\n  }\n]\n")
        #expect(try export(file { _ in }, pretty: true).text == "[]\n")
    }

    // MARK: Filters

    /// db 0: "user:1" string, "skip:lzf" string with corrupt LZF, "l" list with a corrupt ziplist, "m" bloom module;
    /// db 1: "user:2" hash.
    private static func filterFile() -> [UInt8] {
        var b = RDBBuilder(redisVersion: 11)
        b.selectDB(0)
        b.stringKey("user:1", "a")
        b.key(0, "skip:lzf")
        b.lzfString(compressed: [0x1F, 0x41], uncompressedLength: 32)
        b.key(10, "l")
        b.blob(ZiplistBuilder().build(zlbytes: 99))
        b.key(7, "m")
        b.length(bloomID)
        b.raw(ModuleOpcodes().uint(1).eof().bytes)
        b.selectDB(1)
        b.key(4, "user:2")
        b.length(1)
        b.string("f")
        b.string("v")
        b.eof()
        return b.bytes
    }

    @Test("Filters by glob, type and db skip other keys without decoding them", arguments: [
        ("glob user:*", RDBKeyFilter(glob: RedisGlob("user:*")), ["user:1", "user:2"]),
        ("type hash", RDBKeyFilter(types: ["hash"]), ["user:2"]),
        ("type string in db 0 with glob u*", RDBKeyFilter(databases: [0], glob: RedisGlob("u*"), types: ["string"]), ["user:1"]),
        ("db 1", RDBKeyFilter(databases: [1]), ["user:2"]),
        ("type module", RDBKeyFilter(types: ["module"]), ["m"]),
        ("module type name", RDBKeyFilter(types: ["MBbloom--"]), ["m"]),
        ("another module type name", RDBKeyFilter(types: ["ReJSON-RL"]), []),
        ("module type name or hash", RDBKeyFilter(types: ["MBbloom--", "hash"]), ["m", "user:2"]),
    ])
    func filters(_ name: String, _ filter: RDBKeyFilter, _ expectedKeys: [String]) throws {
        let (text, summary) = try export(Self.filterFile(), filter: filter)
        let keys = text.split(separator: "\n").map { line -> String in
            let afterKey = line.split(separator: ",")[1]
            return String(afterKey.dropFirst("\"key\":\"".count).dropLast())
        }
        #expect(keys == expectedKeys, "\(name)")
        #expect(summary.keysWritten == expectedKeys.count)
        #expect(summary.keysSkipped == 5 - expectedKeys.count)
    }

    @Test("Without a filter the corrupt LZF value is an error at its offset")
    func unfilteredCorruptValueFails() throws {
        #expect(throws: RDBError.self) { try export(Self.filterFile()) }
    }

    @Test("RDBKeyFilter decides from the header, deferring only module type names")
    func filterDecisions() {
        let h = RDBKeyHeader(db: 0, key: "k", valueType: .module2)
        #expect(RDBKeyFilter(types: ["module"]).matches(h) == true)
        #expect(RDBKeyFilter(types: ["MBbloom--"]).matches(h) == nil)
        #expect(RDBKeyFilter(types: ["hash"]).matches(h) == false)
        #expect(RDBKeyFilter().matches(h) == true)
        #expect(RDBKeyFilter().isEmpty)
        #expect(RDBKeyFilter(types: ["MBbloom--"]).matchesModule(RedisModuleType(id: bloomID)))
        #expect(!RDBKeyFilter(types: ["ReJSON-RL"]).matchesModule(RedisModuleType(id: bloomID)))
    }
}

/// Every `.rdb` under `Tests/Fixtures/corpus`, good and broken, relative to it.
private func allFixtureRDBs() -> [String] {
    let root = Corpus.fixturesDirectory.path
    let walker = FileManager.default.enumerator(atPath: root)
    var out: [String] = []
    while let p = walker?.nextObject() as? String { if p.hasSuffix(".rdb") { out.append(p) } }
    return out.sorted()
}

/// What one export wrote and how it ended.
private struct ExportOutcome: Equatable {
    var bytes: [UInt8]
    var error: String?
}

@Suite("JSON: the two-thread export writes what a single reader writes")
struct ParallelJSONExportTests {
    static let files = allFixtureRDBs()

    private func sequential(_ path: String, filter: RDBKeyFilter) -> ExportOutcome {
        let sink = CollectingSink()
        do {
            let exporter = RDBJSONExporter(sink: sink, filter: filter)
            try exporter.export(try RDBReader(path: path))
            return ExportOutcome(bytes: sink.bytes, error: nil)
        } catch {
            return ExportOutcome(bytes: sink.bytes, error: "\(error)")
        }
    }

    private func parallel(_ path: String, filter: RDBKeyFilter, segment: Int64) -> ExportOutcome {
        let sink = CollectingSink()
        do {
            let job = ParallelJSONExport(
                path: path, options: RDBReader.Options(), filter: filter, policy: .utf8OrBase64, sink: sink,
                segmentBytes: segment, bufferLimit: 4096)
            try job.run()
            return ExportOutcome(bytes: sink.bytes, error: nil)
        } catch {
            return ExportOutcome(bytes: sink.bytes, error: "\(error)")
        }
    }

    @Test("Same bytes and same error, for segments from 1 byte to 64 KiB", arguments: files)
    func sameOutput(_ relative: String) throws {
        let path = Corpus.fixture(relative)
        let expected = sequential(path, filter: RDBKeyFilter())
        let isEmptyFile = relative.hasSuffix("/empty.rdb")
        #expect(expected.bytes.isEmpty == isEmptyFile || expected.error != nil, "\(relative): \(expected.bytes.count) bytes")
        for segment: Int64 in [1, 3000, 65536] {
            let got = parallel(path, filter: RDBKeyFilter(), segment: segment)
            #expect(got.error == expected.error, "\(relative) segment \(segment)")
            #expect(got.bytes == expected.bytes, "\(relative) segment \(segment): \(got.bytes.count) vs \(expected.bytes.count) bytes")
        }
    }

    @Test("An error keeps every key written in full before it and no half-written one")
    func errorKeepsCompleteLines() throws {
        let path = Corpus.fixture("redis-7.0.15/broken/rdb/rdb-truncated-half.rdb")
        let outcome = sequential(path, filter: RDBKeyFilter())
        #expect(outcome.error != nil)
        #expect(outcome.bytes.count > 1000)
        #expect(outcome.bytes.last == UInt8(ascii: "\n"))
        for line in outcome.bytes.split(separator: UInt8(ascii: "\n")) {
            #expect((try? JSONSerialization.jsonObject(with: Data(line))) != nil)
        }
    }

    @Test("Filters apply the same way on both paths")
    func filtered() throws {
        let path = Corpus.fixture("redis-7.0.15/rdb/all-types.rdb")
        let filter = RDBKeyFilter(types: ["hash", "zset"])
        let expected = sequential(path, filter: filter)
        #expect(expected.error == nil)
        #expect(!expected.bytes.isEmpty)
        #expect(parallel(path, filter: filter, segment: 100) == expected)
    }
}
