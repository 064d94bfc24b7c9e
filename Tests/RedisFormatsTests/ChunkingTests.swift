import RedisFormats
import Testing
import _RedisFormatsTestSupport

/// Input chunk boundaries must not change anything: every record and every value read from a source that
/// delivers 1, 2, 3, 7, 64 or 1 MiB bytes per `read` (and with small reader chunk sizes) equals the result
/// of reading the whole buffer at once.
@Suite("Chunked input")
struct ChunkingTests {
    static let files: [String] =
        Corpus.servers.map { "\($0)/rdb/all-types.rdb" } + [
            "redis-7.0.15/rdb/lfu.rdb",
            "valkey-9.1/rdb/lru.rdb",
            "redis-7.0.15/rdb/functions.rdb",
            "valkey-9.1/rdb/functions.rdb",
            "redis-stack-7.4/rdb/hash-field-ttl.rdb",
            "valkey-9.1/rdb/hash-field-ttl.rdb",
            "redis-stack-7.4/rdb/modules.rdb",
            "redis-stack-7.4/rdb/cluster.rdb",
        ]

    static let chunkLimits = [1, 2, 3, 7, 64, 1 << 20]

    @Test("Every chunk size a source delivers gives the same records and values", arguments: files, chunkLimits)
    func sourceChunkLimits(file: String, chunkLimit: Int) throws {
        let bytes = try Corpus.readBytes(Corpus.fixture(file))
        let whole = try RDBReader.readAll(bytes: bytes)
        #expect(!whole.keys.isEmpty || file.contains("empty"))
        let chunked = try RDBReader.readAll(bytes: bytes, chunkLimit: chunkLimit)
        Self.expectSame(chunked, whole)
    }

    @Test("A source of unknown size in small chunks gives the same records and values", arguments: files, [1, 7, 4096])
    func unsizedSource(file: String, chunkLimit: Int) throws {
        let bytes = try Corpus.readBytes(Corpus.fixture(file))
        let whole = try RDBReader.readAll(bytes: bytes)
        let chunked = try RDBReader.readAll(UnsizedMemorySource(bytes, chunkLimit: chunkLimit))
        Self.expectSame(chunked, whole)
    }

    @Test("A small reader chunk size gives the same records and values", arguments: files, [64, 100, 4096])
    func readerChunkSize(file: String, chunkSize: Int) throws {
        let bytes = try Corpus.readBytes(Corpus.fixture(file))
        let whole = try RDBReader.readAll(bytes: bytes)
        var options = RDBReader.Options()
        options.chunkSize = chunkSize
        Self.expectSame(try RDBReader.readAll(bytes: bytes, options: options), whole)
        Self.expectSame(try RDBReader.readAll(bytes: bytes, chunkLimit: 7, options: options), whole)
    }

    @Test("Skipping or streaming values gives the same records as reading them whole", arguments: files)
    func skipAndElementsKeepRecords(file: String) throws {
        let bytes = try Corpus.readBytes(Corpus.fixture(file))
        let whole = try RDBReader.readAll(bytes: bytes)
        for mode in [RDBValueReading.skip, .elements] {
            for limit in [3, Int.max] {
                let other = try RDBReader.readAll(bytes: bytes, chunkLimit: limit, values: mode)
                #expect(other.records == whole.records, "\(mode), chunk limit \(limit)")
            }
        }
    }

    static func expectSame(
        _ got: RDBReadResult, _ want: RDBReadResult, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(got.header == want.header, sourceLocation: sourceLocation)
        #expect(got.records.count == want.records.count, sourceLocation: sourceLocation)
        if let i = (0..<min(got.records.count, want.records.count)).first(where: { got.records[$0] != want.records[$0] }
        ) {
            Issue.record("record \(i) differs: \(got.records[i]) vs \(want.records[i])", sourceLocation: sourceLocation)
        }
        #expect(got.keys.count == want.keys.count, sourceLocation: sourceLocation)
        if let i = (0..<min(got.keys.count, want.keys.count)).first(where: { got.keys[$0] != want.keys[$0] }) {
            Issue.record(
                "value of key \(got.keys[i].header.key.escapedDescription) (#\(i)) differs",
                sourceLocation: sourceLocation)
        }
    }
}
