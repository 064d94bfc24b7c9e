import Foundation
import RedisFormats
import Testing
import _RedisFormatsTestSupport

/// ``RecordRESPWriter`` writes, byte for byte, the RESP of ``RecordCommands`` (what `rdbkit convert` and
/// the replay's argument arrays send), and ``DumpPayloadBuilder`` the payload of ``RecordCommands/dumpPayload(_:version:)``.
@Suite("RESP of records")
struct RecordRESPWriterTests {
    static let files: [String] =
        Corpus.fixtureRDBsWithExpected().map { Corpus.fixture($0) }
        + ["redis-7.0-mixed.rdb", "redis-7.4-mixed.rdb", "valkey-9.1-mixed.rdb"].map {
            Corpus.packageRoot.appendingPathComponent("Samples/\($0)").path
        }

    /// Every key of `path`, read twice: decoded and turned into argument arrays, and streamed into the writer.
    static func compare(path: String, batch: Int) throws -> Int {
        var commands = RecordCommands()
        commands.batch = batch
        let decoded = try RDBReader(path: path)
        let streamed = try RDBReader(path: path)
        let writer = RecordRESPWriter(commands: commands)
        let builder = DumpPayloadBuilder()
        var compared = 0
        while let record = try decoded.next() {
            let other = try streamed.next()
            #expect(record == other)
            guard case .key(let h) = record else { continue }
            if RecordRESPWriter.writes(h.valueType) {
                var expected: [UInt8] = []
                var names: [String] = []
                for argv in commands.commands(key: h.key, value: try decoded.readValue(), expiresAt: h.expiresAt) {
                    RecordCommands.resp(argv, into: &expected)
                    names.append(argv[0].utf8String!)
                }
                writer.begin(key: h.key, type: h.valueType)
                try streamed.visitValue(writer)
                writer.end(expiresAt: h.expiresAt)
                var got: [UInt8] = []
                var gotNames: [String] = []
                writer.forEachCommand { name, resp in
                    got += resp
                    gotNames.append(name)
                }
                #expect(got == expected, "key \(h.key) (\(h.valueType.name)) of \(path), batch \(batch)")
                #expect(gotNames == names)
                #expect(writer.commandCount == names.count)
                compared += 1
            } else {
                let raw = try decoded.readRawValue()
                try builder.build(from: streamed, type: h.valueType, version: 10)
                #expect(builder.payload == RecordCommands.dumpPayload([h.valueType.byte] + raw, version: 10))
            }
        }
        return compared
    }

    @Test("The streamed commands of every key of every fixture equal RecordCommands' as RESP", arguments: files, [1000, 3])
    func streamedEqualsDecoded(path: String, batch: Int) throws {
        _ = try Self.compare(path: path, batch: batch)
    }

    @Test("The fixtures hold keys of every kind the writer takes")
    func coverage() throws {
        var total = 0
        for f in Self.files { total += try Self.compare(path: f, batch: 2) }
        #expect(total > 100)
    }

    @Test("DUMP payloads built from stored bytes equal those of RecordCommands, RESTORE or not", arguments: files)
    func dumpPayloads(path: String) throws {
        let a = try RDBReader(path: path)
        let b = try RDBReader(path: path)
        let builder = DumpPayloadBuilder()
        while let record = try a.next() {
            _ = try b.next()
            guard case .key(let h) = record else { continue }
            let raw = try a.readRawValue()
            try builder.build(from: b, type: h.valueType, version: 11)
            #expect(builder.payload == RecordCommands.dumpPayload([h.valueType.byte] + raw, version: 11))
            #expect(a.offset == b.offset)
        }
    }

    @Test("RESPWriter's decimals are String's", arguments: [Int64.min, -1_000_000, -10, -9, -1, 0, 1, 9, 10, 99, 100, 12345, Int64.max])
    func decimals(v: Int64) {
        var out: [UInt8] = []
        RESPWriter.appendDecimal(v, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == String(v))
        #expect(RESPWriter.decimalLength(v) == out.count)
        out = []
        RESPWriter.appendBulk(decimal: v, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "$\(String(v).utf8.count)\r\n\(v)\r\n")
    }
}
