import RedisFormats
import Testing
import _RedisFormatsTestSupport

/// Damaged input must end in an ``RDBError``, never in a crash or a silent success: every proper prefix of
/// a file is `.truncated` at an offset inside the prefix, and a flipped byte is caught.
@Suite("Truncated and damaged input")
struct TruncationTests {
    static let smallFiles = [
        "redis-stack-7.4/rdb/cluster.rdb",
        "valkey-9.1/rdb/cluster.rdb",
        "redis-6.0.9/rdb/empty.rdb",
        "redis-stack-7.4/rdb/empty.rdb",
        "valkey-9.1/rdb/empty.rdb",
        "redis-7.0.15/rdb/lfu.rdb",
    ]

    @Test("Every proper prefix of a small file throws .truncated within the prefix", arguments: smallFiles)
    func everyPrefix(file: String) throws {
        let bytes = try Corpus.readBytes(Corpus.fixture(file))
        _ = try RDBReader.readAll(bytes: bytes)
        for length in 0..<bytes.count {
            Self.expectTruncated(Array(bytes[0..<length]), length: length, of: file)
        }
    }

    @Test("Every proper prefix read from a source of unknown size throws .truncated", arguments: smallFiles)
    func everyPrefixUnsized(file: String) throws {
        let bytes = try Corpus.readBytes(Corpus.fixture(file))
        for length in 0..<bytes.count {
            Self.expectTruncated(Array(bytes[0..<length]), length: length, of: file, sized: false)
        }
    }

    @Test(
        "A stride of prefixes of a big file throws .truncated within the prefix",
        arguments: ["redis-7.0.15/rdb/all-types.rdb", "valkey-9.1/rdb/all-types.rdb", "redis-6.0.9/rdb/all-types.rdb"])
    func stridedPrefixes(file: String) throws {
        let bytes = try Corpus.readBytes(Corpus.fixture(file))
        _ = try RDBReader.readAll(bytes: bytes)
        var lengths = Array(stride(from: 0, to: bytes.count, by: 97))
        lengths += (bytes.count - 16)..<bytes.count
        for length in lengths {
            Self.expectTruncated(Array(bytes[0..<length]), length: length, of: file)
        }
        for length in stride(from: 5, to: bytes.count, by: 4099) {
            Self.expectTruncated(Array(bytes[0..<length]), length: length, of: file, sized: false)
        }
    }

    @Test(
        "The broken corpus files fail with the codes the servers' check tools imply",
        arguments: Corpus.servers)
    func brokenFiles(server: String) throws {
        let truncated = try Corpus.readBytes(Corpus.fixture("\(server)/broken/rdb/rdb-truncated-half.rdb"))
        let e1 = #expect(throws: RDBError.self) { try RDBReader.readAll(bytes: truncated) }
        #expect(e1?.code == .truncated, "\(String(describing: e1))")
        if let offset = e1?.offset { #expect(offset <= Int64(truncated.count)) }
        for name in ["rdb-bad-checksum", "rdb-flipped-byte"] {
            let bytes = try Corpus.readBytes(Corpus.fixture("\(server)/broken/rdb/\(name).rdb"))
            let e = #expect(throws: RDBError.self) { try RDBReader.readAll(bytes: bytes) }
            // In this set the flipped byte lands in plain string data: only the CRC catches it.
            #expect(e?.code == .checksumMismatch, "\(name): \(String(describing: e))")
            #expect(e?.offset == Int64(bytes.count - 8), "\(name): \(String(describing: e))")
            var options = RDBReader.Options()
            options.verifiesChecksum = false
            let unchecked = try RDBReader.readAll(bytes: bytes, options: options)
            let expected = try ExpectedContent(path: Corpus.fixture("\(server)/rdb/all-types.expected.json.gz"))
            #expect(unchecked.keys.count == expected.keys.count, "\(name) without the CRC check")
        }
    }

    @Test(
        "Flipping any one byte never crashes, and with the CRC verified is always rejected",
        arguments: ["redis-7.0.15/rdb/lfu.rdb", "valkey-9.1/rdb/functions.rdb", "redis-stack-7.4/rdb/empty.rdb"])
    func flippedBytes(file: String) throws {
        let bytes = try Corpus.readBytes(Corpus.fixture(file))
        _ = try RDBReader.readAll(bytes: bytes)
        var unchecked = RDBReader.Options()
        unchecked.verifiesChecksum = false
        var codes: [String: Int] = [:]
        var accepted: [Int] = []
        for i in 0..<bytes.count {
            var damaged = bytes
            damaged[i] ^= 0xFF
            do {
                _ = try RDBReader.readAll(bytes: damaged)
                accepted.append(i)
            } catch {
                codes[error.code.description, default: 0] += 1
                #expect(error.offset != nil && !error.message.isEmpty, "byte \(i): \(error)")
            }
            // Without the CRC check: success or an RDBError (typed throws), never a trap.
            _ = try? RDBReader.readAll(bytes: damaged, options: unchecked)
        }
        // A CRC64 detects every error burst of up to 64 bits, so no single damaged byte can pass.
        #expect(accepted.isEmpty, "accepted with byte(s) \(accepted.prefix(20)) flipped; codes \(codes)")
    }

    static func expectTruncated(
        _ prefix: [UInt8], length: Int, of file: String, sized: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let source: any ByteSource = sized ? MemorySource(prefix) : UnsizedMemorySource(prefix, chunkLimit: 4096)
            let result = try RDBReader.readAll(source)
            Issue.record(
                "\(file): prefix of \(length) bytes was read without error (\(result.records.count) records)",
                sourceLocation: sourceLocation)
        } catch {
            guard error.code == .truncated, let offset = error.offset, offset <= Int64(length) else {
                Issue.record("\(file): prefix of \(length) bytes: \(error)", sourceLocation: sourceLocation)
                return
            }
        }
    }
}
