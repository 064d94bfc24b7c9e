import Foundation
import RedisFormats
import Testing
import _RedisFormatsTestSupport

/// `rdbkit convert AOF -o OUT.rdb`: the final keyspace of every corpus AOF as an RDB, read back and compared
/// with what the live server held, and loaded by a real redis-server 7.0.
@Suite("AOF → RDB convert", .serialized)
struct ConvertAOFTests {
    /// The rdbkit target that holds what each corpus server's AOF holds.
    static func target(_ server: String) -> String {
        switch server {
        case "redis-6.0.9": "redis-6.0"
        case "redis-6.2": "redis-6.2"
        case "redis-7.0.15": "redis-7.0"
        case "redis-stack-7.4": "redis-7.4"
        default: "valkey-9.1"
        }
    }

    @Test("The RDB written from an AOF holds exactly the live server's keyspace", arguments: CorpusAOFVariant.all)
    func convertedMatchesExpected(v: CorpusAOFVariant) throws {
        let expected = try ExpectedContent(path: v.expectedPath)
        let scratch = try ScratchDirectory("convert-aof")
        defer { scratch.remove() }
        let out = scratch("out.rdb")
        let run = try CLITests.rdbkit(["convert", try v.entry(expected), "-o", out, "--target", Self.target(v.server)])
        #expect(run.status == 0, "\(run.stderr)")
        var result = try RDBReader.readAll(bytes: try Corpus.readBytes(out))
        // The written stream type follows the target; compare stream metadata as the server line reports it.
        for i in result.keys.indices where result.keys[i].header.valueType.kind == .stream {
            result.keys[i].header.valueType = v.streamType
        }
        var check = ConformanceCheck()
        check.comparesStreamTimes = false
        check.compareKeyspace(result, expected)
        check.compareFunctions(result, expected)
        #expect(check.problems.isEmpty, "\(check.problems.prefix(10).joined(separator: "\n"))")
    }

    @Test("redis-server 7.0 loads the RDB converted from each 7.0 corpus AOF with every key",
        .enabled(if: LiveServerKind.redis70.isInstalled, LiveServerKind.missing(.redis70)))
    func liveServerLoadsConverted() throws {
        for name in ["aof-nopreamble", "aof-preamble", "aof-timestamp"] {
            let expected = try ExpectedContent(path: Corpus.fixture("redis-7.0.15/aof/\(name).expected.json.gz"))
            let entry = try #require(expected.document["aof_entry"] as? String)
            let scratch = try ScratchDirectory("convert-aof-live")
            defer { scratch.remove() }
            let run = try CLITests.rdbkit(["convert", Corpus.fixture("redis-7.0.15/aof/\(name)/\(entry)"), "-o", scratch("dump.rdb"), "--target", "redis-7.0"])
            #expect(run.status == 0, "\(run.stderr)")
            let server = try LiveServer(.redis70, directory: scratch.path, arguments: [])
            defer { server.stop() }
            let sizes = try server.dbsize()
            #expect(sizes == expected.dbsize.filter { $0.value > 0 }.mapValues { $0 }, "\(name): \(sizes) vs \(expected.dbsize)")
        }
    }
}
