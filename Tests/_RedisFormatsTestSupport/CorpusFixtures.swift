import Foundation
import RedisFormats
import Testing

/// Where the conformance corpus lives and how to load it.
///
/// - `Tests/Fixtures/corpus/<server>/`: copied from `../shared/corpus/generated` by
///   `Tests/Fixtures/update-fixtures.sh` (expected files gzip-compressed).
/// - `../shared/corpus/upstream/<set>/`: used in place, never copied (licensing); may be absent.
public enum Corpus {
    /// The servers of the generated corpus.
    public static let servers = ["redis-6.0.9", "redis-6.2", "redis-7.0.15", "redis-stack-7.4", "valkey-9.1"]

    /// The package root (`Tests/_RedisFormatsTestSupport/CorpusFixtures.swift` → `../..`).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `Tests/Fixtures/corpus`.
    public static let fixturesDirectory = packageRoot.appendingPathComponent("Tests/Fixtures/corpus")

    /// `../shared/corpus/upstream`, next to the package.
    public static let upstreamDirectory = packageRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/corpus/upstream")

    /// Whether `../shared/corpus/upstream` is there.
    public static var upstreamAvailable: Bool { isDirectory(upstreamDirectory.path) }

    /// Absolute path of a fixture, from a path relative to `Tests/Fixtures/corpus`.
    public static func fixture(_ relative: String) -> String {
        fixturesDirectory.appendingPathComponent(relative).path
    }

    /// Absolute path of an upstream file, from a path relative to `../shared/corpus/upstream`.
    public static func upstream(_ relative: String) -> String {
        upstreamDirectory.appendingPathComponent(relative).path
    }

    /// Fixture RDBs that have an expected file, relative to `Tests/Fixtures/corpus`, sorted
    /// (`redis-7.0.15/rdb/all-types.rdb`).
    public static func fixtureRDBsWithExpected() -> [String] {
        var out: [String] = []
        for server in servers {
            for name in listDirectory(fixturesDirectory.appendingPathComponent("\(server)/rdb").path)
            where name.hasSuffix(".rdb") {
                let relative = "\(server)/rdb/\(name)"
                if expectedPath(forRDB: fixture(relative)) != nil { out.append(relative) }
            }
        }
        return out.sorted()
    }

    /// Upstream RDBs relative to `../shared/corpus/upstream` (`librdb-dumps/empty.rdb`), sorted; empty when
    /// the folder is absent.
    public static func upstreamRDBs(withExpected: Bool) -> [String] {
        guard upstreamAvailable else { return [] }
        var out: [String] = []
        for set in listDirectory(upstreamDirectory.path) where isDirectory(upstream(set)) {
            for name in listDirectory(upstream(set)) where name.hasSuffix(".rdb") {
                let relative = "\(set)/\(name)"
                if (expectedPath(forRDB: upstream(relative)) != nil) == withExpected { out.append(relative) }
            }
        }
        return out.sorted()
    }

    /// `X.expected.json` or `X.expected.json.gz` next to `X.rdb`, if present.
    public static func expectedPath(forRDB path: String) -> String? {
        let stem = String(path.dropLast(".rdb".count))
        for suffix in [".expected.json", ".expected.json.gz"]
        where FileManager.default.fileExists(atPath: stem + suffix) {
            return stem + suffix
        }
        return nil
    }

    /// The whole file. Gzip files (magic 1f 8b) are decompressed through the library's ``GzipSource``.
    public static func readBytes(_ path: String) throws -> [UInt8] {
        let source = try ByteSources.open(path: path)
        return try drain(source)
    }

    /// Reads a source to its end.
    public static func drain(_ source: any ByteSource) throws -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try buffer.withUnsafeMutableBytes { p throws(RDBError) in try source.read(into: p) }
            if n == 0 { return out }
            out.append(contentsOf: buffer[0..<n])
        }
    }

    static func listDirectory(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    static func isDirectory(_ path: String) -> Bool {
        var dir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &dir) && dir.boolValue
    }
}

/// A key of a keyspace: database and key bytes.
public struct CorpusKey: Hashable, Sendable, CustomStringConvertible {
    public var db: UInt64
    public var key: [UInt8]
    public init(db: UInt64, key: [UInt8]) {
        self.db = db
        self.key = key
    }
    public var description: String { "db \(db) key \(RedisBytes(key).escapedDescription)" }
}

/// A parsed `expected.json` (schema_version 1, see `../shared/corpus/README.md`).
public struct ExpectedContent {
    /// The whole document, as `JSONSerialization` gives it.
    public let document: [String: Any]
    /// Key entries by (db, key bytes from `key_b64`).
    public let keys: [CorpusKey: [String: Any]]
    /// `rdb_structure.keys_dropped_on_load`: in the file, but not on the server that loaded it.
    public let droppedOnLoad: Set<CorpusKey>
    /// `dbsize`: keys per database.
    public let dbsize: [UInt64: Int]

    public init(path: String) throws {
        let bytes = try Corpus.readBytes(path)
        guard let doc = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw ExpectedError("\(path): not a JSON object")
        }
        document = doc
        var keys: [CorpusKey: [String: Any]] = [:]
        for (dbText, entries) in doc["databases"] as? [String: Any] ?? [:] {
            guard let db = UInt64(dbText), let entries = entries as? [String: Any] else {
                throw ExpectedError("\(path): bad databases entry \(dbText)")
            }
            for (_, entry) in entries {
                guard let entry = entry as? [String: Any], let b64 = entry["key_b64"] as? String,
                    let key = Data(base64Encoded: b64)
                else { throw ExpectedError("\(path): key entry without key_b64 in db \(db)") }
                keys[CorpusKey(db: db, key: Array(key))] = entry
            }
        }
        self.keys = keys
        var dropped = Set<CorpusKey>()
        let structure = doc["rdb_structure"] as? [String: Any]
        for item in structure?["keys_dropped_on_load"] as? [[String: Any]] ?? [] {
            guard let db = Self.uint64(item["db"]), let b64 = item["key_b64"] as? String,
                let key = Data(base64Encoded: b64)
            else { throw ExpectedError("\(path): bad keys_dropped_on_load entry") }
            dropped.insert(CorpusKey(db: db, key: Array(key)))
        }
        droppedOnLoad = dropped
        var sizes: [UInt64: Int] = [:]
        for (db, n) in doc["dbsize"] as? [String: Any] ?? [:] {
            if let d = UInt64(db), let n = Self.int64(n) { sizes[d] = Int(n) }
        }
        dbsize = sizes
    }

    /// `rdb_structure`, or an empty dictionary.
    public var structure: [String: Any] { document["rdb_structure"] as? [String: Any] ?? [:] }

    /// A JSON integer (or a decimal string) as `Int64`.
    public static func int64(_ v: Any?) -> Int64? {
        if let s = v as? String { return Int64(s) }
        if v is NSNull { return nil }
        if let n = v as? NSNumber {
            let d = n.doubleValue
            guard d == d.rounded() else { return nil }
            return n.int64Value
        }
        return nil
    }

    /// A JSON integer (or a decimal string) as `UInt64`.
    public static func uint64(_ v: Any?) -> UInt64? {
        if let s = v as? String { return UInt64(s) }
        if let n = v as? NSNumber, let i = int64(n), i >= 0 { return UInt64(i) }
        return nil
    }

    /// Decodes a binary-safe string form: a JSON string (its UTF-8 bytes) or `{"b64": …}`. Numbers give
    /// their decimal text, as `json_conformance.py` does.
    public static func bytes(_ v: Any?) -> [UInt8]? {
        if let s = v as? String { return Array(s.utf8) }
        if let d = v as? [String: Any], let b64 = d["b64"] as? String, let data = Data(base64Encoded: b64) {
            return Array(data)
        }
        if let n = v as? NSNumber {
            if let i = int64(n) { return Array(String(i).utf8) }
            return Array(String(n.doubleValue).utf8)
        }
        return nil
    }
}

public struct ExpectedError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Everything an RDB file yields, read with `readValue()` for every key.
public struct RDBReadResult: Equatable, Sendable {
    /// Every record in file order.
    public var records: [RDBRecord] = []
    /// Every key with its value, in file order.
    public var keys: [KeyValue] = []
    public var header: RDBHeader?

    public struct KeyValue: Equatable, Sendable {
        public var header: RDBKeyHeader
        public var value: RedisValue
        public init(header: RDBKeyHeader, value: RedisValue) {
            self.header = header
            self.value = value
        }
    }

    public init() {}

    /// The function libraries, in file order.
    public var functions: [RDBFunctionLibrary] {
        records.compactMap { if case .function(let f) = $0 { f } else { nil } }
    }

    /// The checksum outcome from the `.end` record.
    public var checksum: RDBChecksum? {
        for r in records.reversed() { if case .end(let c) = r { return c } }
        return nil
    }
}

/// How to read the value after each `.key` record.
public enum RDBValueReading: Sendable {
    /// `readValue()`.
    case whole
    /// `nextElement()` until nil, then the elements are dropped.
    case elements
    /// `skipValue()`.
    case skip
}

extension RDBReader {
    /// Reads every record to the end, reading values as asked. Throws the reader's error.
    public static func readAll(
        _ source: any ByteSource, options: Options = Options(), values: RDBValueReading = .whole
    ) throws(RDBError) -> RDBReadResult {
        let reader = try RDBReader(source: source, options: options)
        var result = RDBReadResult()
        result.header = reader.header
        while let record = try reader.next() {
            result.records.append(record)
            guard case .key(let h) = record else { continue }
            switch values {
            case .whole: result.keys.append(.init(header: h, value: try reader.readValue()))
            case .elements: while try reader.nextElement() != nil {}
            case .skip: try reader.skipValue()
            }
        }
        return result
    }

    /// Reads a byte buffer to the end (through a ``MemorySource``); see ``readAll(_:options:values:)``.
    public static func readAll(
        bytes: [UInt8], chunkLimit: Int = .max, options: Options = Options(), values: RDBValueReading = .whole
    ) throws(RDBError) -> RDBReadResult {
        try readAll(MemorySource(bytes, chunkLimit: chunkLimit), options: options, values: values)
    }
}

/// An in-memory source that does not tell its size (like a pipe), so a reader must find the end by reading.
public final class UnsizedMemorySource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0
    private let chunkLimit: Int
    public let name = "<unsized memory>"
    public var knownSize: Int64? { nil }

    public init(_ bytes: [UInt8], chunkLimit: Int = .max) {
        self.bytes = bytes
        self.chunkLimit = max(1, chunkLimit)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(RDBError) -> Int {
        let n = min(buffer.count, chunkLimit, bytes.count - position)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
        }
        position += n
        return n
    }
}

/// One AOF of the corpus: `<server>/aof/<name>/` with `<name>.expected.json.gz` beside it.
public struct CorpusAOFVariant: Sendable, CustomTestStringConvertible {
    public var server: String
    public var name: String
    public var testDescription: String { "\(server) \(name)" }

    /// Every AOF variant the fixtures hold, by server.
    public static let all: [CorpusAOFVariant] = Corpus.servers.flatMap { server in
        ["aof-nopreamble", "aof-preamble", "aof-timestamp"].compactMap { name in
            FileManager.default.fileExists(atPath: Corpus.fixture("\(server)/aof/\(name).expected.json.gz"))
                ? CorpusAOFVariant(server: server, name: name) : nil
        }
    }

    public var expectedPath: String { Corpus.fixture("\(server)/aof/\(name).expected.json.gz") }

    /// The AOF to load (the expected file's `aof_entry`: a manifest or a single file).
    public func entry(_ expected: ExpectedContent) throws -> String {
        guard let e = expected.document["aof_entry"] as? String else { throw ExpectedError("\(expectedPath): no aof_entry") }
        return Corpus.fixture("\(server)/aof/\(name)/\(e)")
    }

    /// The stream RDB type this server line writes (decides which stream metadata it reports).
    public var streamType: RDBValueType {
        if server.hasPrefix("redis-6") { return .streamListpacks }
        if server.hasPrefix("redis-7.0") { return .streamListpacks2 }
        return .streamListpacks3
    }
}
