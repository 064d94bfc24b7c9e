import Foundation
import RedisFormats
import Testing
import _RedisFormatsTestSupport

/// Reads every corpus RDB with ``RDBReader`` and compares what it yields with the content the live server
/// held (`expected.json`), as `../shared/tools/json_conformance.py` does, plus what that script leaves out:
/// LFU/LRU attributes, stream times and v2+ metadata, functions, header, checksum and opcode counts.
@Suite("Corpus conformance")
struct CorpusConformanceTests {
    static let upstreamMissing: Comment = "skipped: ../shared/corpus/upstream not found"

    /// Upstream files with an expected.json, except the one whose CRC is wrong on purpose.
    static let upstreamWithExpected = Corpus.upstreamRDBs(withExpected: true)
        .filter { $0 != "librdb-dumps/invalid_chksum_v8.rdb" }

    @Test("Every fixture RDB reads to exactly the content its server held", arguments: Corpus.fixtureRDBsWithExpected())
    func fixtureMatchesExpected(file: String) throws {
        try Self.checkConformance(path: Corpus.fixture(file))
    }

    @Test("The fixture corpus is in place (run Tests/Fixtures/update-fixtures.sh)")
    func fixturesArePresent() {
        let files = Corpus.fixtureRDBsWithExpected()
        // 5 servers × (all-types, nocompress-nochecksum, lfu, lru, big, empty, cluster) + functions (3 servers)
        // + hash-field-ttl (2) + modules (1).
        #expect(files.count == 41, "found \(files.count) fixture RDBs with an expected file: \(files)")
    }

    @Test(
        "Every upstream RDB with an expected.json reads to exactly the content a server loaded from it",
        .enabled(if: Corpus.upstreamAvailable, upstreamMissing),
        arguments: upstreamWithExpected)
    func upstreamMatchesExpected(file: String) throws {
        try Self.checkConformance(path: Corpus.upstream(file))
    }

    @Test(
        "An RDB with a deliberately wrong CRC fails the check, and reads correctly without it",
        .enabled(if: Corpus.upstreamAvailable, upstreamMissing))
    func invalidChecksumFile() throws {
        let path = Corpus.upstream("librdb-dumps/invalid_chksum_v8.rdb")
        let bytes = try Corpus.readBytes(path)
        let error = #expect(throws: RDBError.self) { try RDBReader.readAll(bytes: bytes) }
        #expect(error?.code == .checksumMismatch, "\(String(describing: error))")
        #expect(error?.offset == Int64(bytes.count - 8), "the CRC starts 8 bytes before the end")
        var options = RDBReader.Options()
        options.verifiesChecksum = false
        try Self.checkConformance(path: path, options: options)
    }

    @Test(
        "Every upstream RDB without an expected.json reads to the end or fails with a located RDBError",
        .enabled(if: Corpus.upstreamAvailable, upstreamMissing),
        arguments: Corpus.upstreamRDBs(withExpected: false))
    func upstreamWithoutExpectedNeverCrashes(file: String) throws {
        let bytes = try Corpus.readBytes(Corpus.upstream(file))
        let outcome = Result { () throws(RDBError) -> RDBReadResult in try RDBReader.readAll(bytes: bytes) }
        switch outcome {
        case .success(let result):
            #expect(result.checksum != nil, "reading ended without an .end record")
            #expect(!file.hasSuffix("future_v19.rdb"), "RDB version 99 was accepted")
        case .failure(let error):
            #expect(error.offset != nil, "no offset in: \(error)")
            #expect(!error.message.isEmpty, "no message in: \(error)")
            if let offset = error.offset { #expect(offset >= 0 && offset <= Int64(bytes.count), "\(error)") }
            if file.hasSuffix("future_v19.rdb") {
                #expect(error.code == .unsupported, "\(error)")
            } else if file.hasPrefix("rdbtools-dumps/") {
                Issue.record("every server's check tool accepts \(file), the reader failed: \(error)")
            }
        }
    }

    @Test(
        "The upstream sets hold the files these tests expect",
        .enabled(if: Corpus.upstreamAvailable, upstreamMissing))
    func upstreamInventory() {
        #expect(Corpus.upstreamRDBs(withExpected: false).contains("librdb-dumps/future_v19.rdb"))
        #expect(Corpus.upstreamRDBs(withExpected: true).contains("librdb-dumps/invalid_chksum_v8.rdb"))
        #expect(Corpus.upstreamRDBs(withExpected: false).filter { $0.hasPrefix("rdbtools-dumps/") }.count == 28)
        #expect(
            Self.upstreamWithExpected.count >= 70, "\(Self.upstreamWithExpected.count) upstream files with expected")
    }

    // MARK: Comparison

    static func checkConformance(path: String, options: RDBReader.Options = RDBReader.Options()) throws {
        let expectedPath = try #require(Corpus.expectedPath(forRDB: path), "no expected file for \(path)")
        let expected = try ExpectedContent(path: expectedPath)
        let bytes = try Corpus.readBytes(path)
        let result: RDBReadResult
        do {
            result = try RDBReader.readAll(bytes: bytes, options: options)
        } catch {
            Issue.record("reading \(path) failed: \(error)")
            return
        }
        var c = ConformanceCheck()
        c.compare(result, expected, verifiesChecksum: options.verifiesChecksum)
        let shown = c.problems.prefix(12).joined(separator: "\n")
        #expect(c.problems.isEmpty, "\(c.problems.count) differences; first \(min(c.problems.count, 12)):\n\(shown)")
    }
}
