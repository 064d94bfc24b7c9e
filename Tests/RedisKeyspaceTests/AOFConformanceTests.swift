import Foundation
import RedisFormats
import RedisKeyspace
import Testing
import _RedisFormatsTestSupport

/// Every corpus AOF (single file, RDB preamble, multi-part, with #TS: annotations; five servers) applied to the
/// keyspace gives exactly the keyspace the live server held (`aof/<variant>.expected.json`).
@Suite("AOF conformance")
struct AOFConformanceTests {
    struct Variant: Sendable, CustomTestStringConvertible {
        var server: String
        var name: String
        var testDescription: String { "\(server) \(name)" }
    }

    static let variants: [Variant] = Corpus.servers.flatMap { server in
        ["aof-nopreamble", "aof-preamble", "aof-timestamp"].compactMap { name in
            FileManager.default.fileExists(atPath: Corpus.fixture("\(server)/aof/\(name).expected.json.gz"))
                ? Variant(server: server, name: name) : nil
        }
    }

    /// The stream RDB type a server of this corpus line writes (decides which stream metadata it reports).
    static func streamType(_ server: String) -> RDBValueType {
        if server.hasPrefix("redis-6") { return .streamListpacks }
        if server.hasPrefix("redis-7.0") { return .streamListpacks2 }
        return .streamListpacks3
    }

    @Test("The corpus has an AOF of every layout for every server")
    func inventory() {
        #expect(Self.variants.count == 13, "\(Self.variants.map(\.testDescription))")
    }

    @Test("An AOF applied to the keyspace equals what the live server held", arguments: variants)
    func aofMatchesExpected(v: Variant) throws {
        let expectedPath = Corpus.fixture("\(v.server)/aof/\(v.name).expected.json.gz")
        let expected = try ExpectedContent(path: expectedPath)
        let entry = try #require(expected.document["aof_entry"] as? String)
        let path = Corpus.fixture("\(v.server)/aof/\(v.name)/\(entry)")
        let keyspace = Keyspace()
        let summary = try KeyspaceLoader(keyspace: keyspace).loadAOF(path: path)
        #expect(summary.skipped.isEmpty)
        var result = RDBReadResult()
        keyspace.forEach { db, key, e in
            var h = RDBKeyHeader(db: UInt64(db), key: key, valueType: .string)
            if case .stream = e.value { h.valueType = Self.streamType(v.server) }
            h.expiresAt = e.expiresAt.map { RedisTimestamp(milliseconds: $0) }
            result.keys.append(RDBReadResult.KeyValue(header: h, value: e.value.redisValue))
            return true
        }
        for (_, code) in keyspace.functions.sorted(by: { $0.key < $1.key }) {
            result.records.append(.function(RDBFunctionLibrary(code: code)))
        }
        var check = ConformanceCheck()
        check.comparesStreamTimes = false
        check.compareKeyspace(result, expected)
        check.compareFunctions(result, expected)
        let shown = check.problems.prefix(12).joined(separator: "\n")
        #expect(check.problems.isEmpty, "\(check.problems.count) differences; first:\n\(shown)")
        #expect(result.keys.count == expected.keys.count)
    }
}
