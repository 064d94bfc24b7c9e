import Foundation
import RedisFormats
import RedisKeyspace
import Testing
import _RedisFormatsTestSupport

@Suite("Keyspace memory")
struct KeyspaceMemoryTests {

    /// The goal: a keyspace costs at most about 2x what Redis uses for the same data (`used_memory` minus
    /// `used_memory_startup`, recorded when each big corpus file was saved). Measured in a process of its own.
    @Test("A loaded keyspace costs at most 2x Redis's used_memory for each big corpus file", arguments: Corpus.servers)
    func bigFileMemory(server: String) throws {
        let path = Corpus.fixture("\(server)/rdb/big.rdb")
        let expected = try ExpectedContent(path: try #require(Corpus.expectedPath(forRDB: path)))
        let info = try #require(expected.document["info_memory"] as? [String: Any])
        let used = try #require(ExpectedContent.int64(info["used_memory"]))
        let startup = try #require(ExpectedContent.int64(info["used_memory_startup"]))
        let redisBytes = Int(used - startup)
        let probe = try #require(BuiltProducts.executable(named: "KeyspaceMemoryProbe"), "build the KeyspaceMemoryProbe product")
        let p = Process()
        p.executableURL = probe
        p.arguments = [path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let text = String(decoding: data, as: UTF8.self)
        let fields = Dictionary(
            uniqueKeysWithValues: text.split(whereSeparator: \.isWhitespace).compactMap { part -> (String, Int)? in
                let kv = part.split(separator: "=")
                guard kv.count == 2, let n = Int(kv[1]) else { return nil }
                return (String(kv[0]), n)
            })
        let ours = try #require(fields["bytes"], "probe output: \(text)")
        #expect(fields["keys"] == expected.keys.count)
        let ratio = Double(ours) / Double(redisBytes)
        print("keyspace memory \(server): \(fields["keys"] ?? 0) keys, \(ours) bytes resident; Redis used_memory \(redisBytes) bytes (\(info["mem_allocator"] ?? "?")); ratio \(String(format: "%.2f", ratio))")
        #expect(ratio <= 2.0, "\(server): keyspace \(ours) bytes vs Redis \(redisBytes)")
    }
}
