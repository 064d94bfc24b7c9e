import Foundation
import RedisFormats
import RedisKeyspace
import Testing
import _RedisFormatsTestSupport

/// Every corpus AOF (single file, RDB preamble, multi-part, with #TS: annotations; five servers) applied to the
/// keyspace gives exactly the keyspace the live server held (`aof/<variant>.expected.json`).
@Suite("AOF conformance")
struct AOFConformanceTests {
    @Test("The corpus has an AOF of every layout for every server")
    func inventory() {
        #expect(CorpusAOFVariant.all.count == 13, "\(CorpusAOFVariant.all.map(\.testDescription))")
    }

    @Test("An AOF applied to the keyspace equals what the live server held", arguments: CorpusAOFVariant.all)
    func aofMatchesExpected(v: CorpusAOFVariant) throws {
        let expected = try ExpectedContent(path: v.expectedPath)
        let path = try v.entry(expected)
        let keyspace = Keyspace()
        let summary = try KeyspaceLoader(keyspace: keyspace).loadAOF(path: path)
        #expect(summary.skipped.isEmpty)
        var result = RDBReadResult()
        keyspace.forEach { db, key, e in
            var h = RDBKeyHeader(db: UInt64(db), key: key, valueType: .string)
            if case .stream = e.value { h.valueType = v.streamType }
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
