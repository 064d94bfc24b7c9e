import Foundation
import RedisFormats
import Testing
import _RedisFormatsTestSupport

// Helpers shared by the AOF tests: the AOF part of the fixture corpus and its verdicts.json, temporary
// copies, byte-exact tree comparison, and the built `rdbkit` executable.

/// The AOF fixtures under `Tests/Fixtures/corpus/<server>/` (copied by `Tests/Fixtures/update-fixtures.sh`
/// with the layout of `../shared/corpus/generated/<server>/`).
enum AOFFixtures {
    /// Every `aof/<variant>` of every server, relative to `Tests/Fixtures/corpus`
    /// (`redis-7.0.15/aof/aof-timestamp`), sorted.
    static func variants() -> [String] {
        var out: [String] = []
        for server in Corpus.servers {
            let dir = Corpus.fixture("\(server)/aof")
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            for name in names where isDirectory("\(dir)/\(name)") { out.append("\(server)/aof/\(name)") }
        }
        return out.sorted()
    }

    /// What to give a loader or a check tool for a variant directory: `appendonlydir` or `appendonly.aof`.
    static func entry(ofVariant variant: String) -> String {
        let dir = Corpus.fixture(variant)
        if isDirectory("\(dir)/appendonlydir") { return "\(dir)/appendonlydir" }
        return "\(dir)/appendonly.aof"
    }

    static func isDirectory(_ path: String) -> Bool {
        var dir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &dir) && dir.boolValue
    }
}

/// One run of a server tool recorded in `verdicts.json`.
struct ToolRun: Sendable, Hashable {
    /// Relative to the server directory.
    var cwd: String
    var args: [String]
    var exitStatus: Int
    var output: String

    init?(_ object: Any?) {
        guard let o = object as? [String: Any], let cwd = o["cwd"] as? String, let args = o["args"] as? [String],
            let status = (o["exit_status"] as? NSNumber)?.intValue
        else { return nil }
        self.cwd = cwd
        self.args = args
        exitStatus = status
        output = o["output"] as? String ?? ""
    }
}

/// One entry of a fixture `verdicts.json`.
struct VerdictEntry: Sendable, CustomTestStringConvertible {
    enum Kind: Sendable {
        /// A file checked as it is (`rdb/…`, `aof/…`, `broken/rdb/…`).
        case file(ToolRun, expectOK: Bool)
        /// A broken AOF case (`broken/aof/<case>`): `check` of `input/`, `--fix` into `fixed/`,
        /// `--truncate-to-timestamp` into `result/`.
        case aofCase(dir: String, check: ToolRun?, fix: ToolRun?, truncate: ToolRun?, timestamp: Int64?)
    }

    var server: String
    /// `file` or `dir` of the entry.
    var name: String
    var tool: String
    var kind: Kind
    var testDescription: String { "\(server)/\(name)" }

    /// The server directory inside the fixtures.
    var serverDirectory: String { Corpus.fixture(server) }

    /// Every entry of every server's `verdicts.json`, in file order.
    static func all() -> [VerdictEntry] {
        Corpus.servers.flatMap { entries(server: $0) }
    }

    static func entries(server: String) -> [VerdictEntry] {
        guard let data = FileManager.default.contents(atPath: Corpus.fixture("\(server)/verdicts.json")),
            let doc = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let list = doc["verdicts"] as? [[String: Any]]
        else { return [] }
        var out: [VerdictEntry] = []
        for v in list {
            let tool = v["tool"] as? String ?? "?"
            if let dir = v["dir"] as? String {
                let ts = (v["timestamp"] as? NSNumber)?.int64Value
                out.append(VerdictEntry(
                    server: server, name: dir, tool: tool,
                    kind: .aofCase(dir: dir, check: ToolRun(v["check"]), fix: ToolRun(v["fix"]), truncate: ToolRun(v["truncate"]), timestamp: ts)))
            } else if let file = v["file"] as? String, let run = ToolRun(v) {
                out.append(VerdictEntry(
                    server: server, name: file, tool: tool, kind: .file(run, expectOK: v["expect"] as? String == "ok")))
            }
        }
        return out
    }

    /// The entries of files checked as they are.
    static func files() -> [VerdictEntry] {
        all().filter { if case .file = $0.kind { true } else { false } }
    }

    /// The broken AOF cases.
    static func aofCases() -> [VerdictEntry] {
        all().filter { if case .aofCase = $0.kind { true } else { false } }
    }
}

/// A temporary directory removed by `remove()` (call it in a `defer`).
struct TemporaryDirectory {
    let path: String

    init(_ label: String = "aof") throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("rdbkit-\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// A path inside the directory.
    func callAsFunction(_ relative: String) -> String { "\(path)/\(relative)" }

    /// Copies a file or directory (recursively) to `relative`, making every copy writable.
    @discardableResult
    func copy(_ source: String, to relative: String) throws -> String {
        let destination = self(relative)
        let parent = (destination as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: source, toPath: destination)
        for file in FileTree.files(destination) {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: "\(destination)/\(file)")
        }
        if FileTree.files(destination).isEmpty {
            try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: destination)
        }
        return destination
    }

    /// Writes a file (creating parent directories).
    @discardableResult
    func write(_ relative: String, _ bytes: [UInt8]) throws -> String {
        let destination = self(relative)
        let parent = (destination as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: destination))
        return destination
    }

    @discardableResult
    func write(_ relative: String, _ text: String) throws -> String { try write(relative, Array(text.utf8)) }
}

/// Byte-level comparison of directory trees.
enum FileTree {
    /// Regular files under `root`, relative, sorted; `root` itself when it is a file gives `[]`.
    static func files(_ root: String) -> [String] {
        guard AOFFixtures.isDirectory(root) else { return [] }
        var out: [String] = []
        let e = FileManager.default.enumerator(atPath: root)
        while let p = e?.nextObject() as? String {
            if !AOFFixtures.isDirectory("\(root)/\(p)") { out.append(p) }
        }
        return out.sorted()
    }

    /// Every file of the tree with its bytes (or the single file, keyed by "").
    static func snapshot(_ root: String) -> [String: [UInt8]] {
        if !AOFFixtures.isDirectory(root) { return ["": bytes(root)] }
        var out: [String: [UInt8]] = [:]
        for f in files(root) { out[f] = bytes("\(root)/\(f)") }
        return out
    }

    /// The files added, removed or changed since `snapshot` was taken of `root` (empty when none).
    static func changes(since snapshot: [String: [UInt8]], in root: String) -> [String] {
        let now = Self.snapshot(root)
        return Set(now.keys).union(snapshot.keys).filter { now[$0] != snapshot[$0] }.sorted().map { f in
            switch (snapshot[f], now[f]) {
            case (nil, _): "added \(f)"
            case (_, nil): "removed \(f)"
            case (let a?, let b?): "changed \(f) (\(a.count) -> \(b.count) bytes)"
            }
        }
    }

    /// nil when both trees hold the same files with the same bytes, otherwise what differs.
    static func difference(_ a: String, _ b: String) -> String? {
        let fa = files(a)
        let fb = files(b)
        if fa != fb { return "files \(fa) != \(fb)" }
        for f in fa where bytes("\(a)/\(f)") != bytes("\(b)/\(f)") {
            return "\(f) differs (\(bytes("\(a)/\(f)").count) vs \(bytes("\(b)/\(f)").count) bytes)"
        }
        return nil
    }

    static func bytes(_ path: String) -> [UInt8] {
        FileManager.default.contents(atPath: path).map { Array($0) } ?? []
    }
}

/// The `rdbkit` executable built with the tests (found as `CLITests` finds it: next to the test bundle).
enum RDBKitBinary {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let executable: URL? = {
        var starts: [URL] = []
        if let arg0 = CommandLine.arguments.first {
            starts.append(URL(fileURLWithPath: arg0).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        starts.append(Bundle.main.bundleURL)
        starts.append(Bundle.main.bundleURL.deletingLastPathComponent())
        if let exe = Bundle.main.executableURL { starts.append(exe.deletingLastPathComponent()) }
        for start in starts {
            var dir = start
            for _ in 0..<4 {
                let candidate = dir.appendingPathComponent("rdbkit")
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue,
                    FileManager.default.isExecutableFile(atPath: candidate.path)
                {
                    return candidate
                }
                dir = dir.deletingLastPathComponent()
            }
        }
        return nil
    }()

    static func run(_ arguments: [String]) throws -> Run {
        let exe = try #require(executable, "the rdbkit executable was not found next to \(CommandLine.arguments.first ?? "?")")
        let tmp = try TemporaryDirectory("cli")
        defer { tmp.remove() }
        FileManager.default.createFile(atPath: tmp("stdout"), contents: nil)
        FileManager.default.createFile(atPath: tmp("stderr"), contents: nil)
        let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp("stdout")))
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp("stderr")))
        let process = Process()
        process.executableURL = exe
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: FileTree.bytes(tmp("stdout")), as: UTF8.self),
            stderr: String(decoding: FileTree.bytes(tmp("stderr")), as: UTF8.self))
    }
}

/// RESP encoding for byte-built AOFs.
enum RESP {
    static func command(_ args: String...) -> [UInt8] { command(args.map { Array($0.utf8) }) }

    static func command(_ args: [[UInt8]]) -> [UInt8] {
        var out = Array("*\(args.count)\r\n".utf8)
        for a in args { out += Array("$\(a.count)\r\n".utf8) + a + [0x0D, 0x0A] }
        return out
    }
}

/// The commands of one AOF file with their byte ranges, from ``AOFReader``.
struct AOFCommandSpan: Sendable, Hashable {
    var file: String
    var range: Range<Int64>
    var name: String
    var db: UInt64
}

enum AOFLayoutTools {
    /// Every command of every file with its byte range (a command ends where the next record starts).
    static func commandSpans(_ path: String) throws -> [AOFCommandSpan] {
        let reader = try AOFReader(path: path)
        var starts: [String: [(offset: Int64, command: AOFCommand?)]] = [:]
        var sizes: [String: Int64] = [:]
        var order: [String] = []
        while let r = try reader.next() {
            switch r {
            case .file(let f):
                sizes[f.name] = f.size
                order.append(f.name)
            case .rdb(let rdb):
                while try rdb.next() != nil {}
                if let f = reader.currentFile { starts[f.name, default: []].append((rdb.offset, nil)) }
            case .annotation(let a): starts[a.file, default: []].append((a.offset, nil))
            case .command(let c): starts[c.file, default: []].append((c.offset, c))
            }
        }
        var out: [AOFCommandSpan] = []
        for file in order {
            let list = starts[file] ?? []
            for (i, s) in list.enumerated() {
                guard let c = s.command else { continue }
                let end = i + 1 < list.count ? list[i + 1].offset : sizes[file] ?? s.offset
                out.append(AOFCommandSpan(file: file, range: s.offset..<end, name: c.name, db: c.db))
            }
        }
        return out
    }

    /// Splits the last incr file of a multi-part AOF in two at a command boundary near its middle, outside
    /// MULTI blocks, so that the layout holds two incr files. The second one starts with a SELECT of the
    /// database in use at the cut (each file is loaded by a fresh client in database 0).
    /// - Returns: the names of the two incr files.
    static func splitLastIncr(directory: String) throws -> (first: String, second: String) {
        let layout = try AOFLocator.layout(of: directory)
        guard case .multiPart(_, let manifestPath, let manifest) = layout, let last = manifest.incrementals.last else {
            throw ExpectedError("\(directory) is not a multi-part AOF with an incr file")
        }
        let spans = try commandSpans(directory).filter { $0.file == last.name }
        var depth = 0
        var candidates: [(offset: Int64, db: UInt64)] = []
        var db: UInt64 = 0
        for s in spans {
            if depth == 0 { candidates.append((s.range.lowerBound, db)) }
            if s.name == "multi" { depth += 1 }
            if s.name == "exec" { depth -= 1 }
            db = s.db
        }
        let path = "\(directory)/\(last.name)"
        let bytes = FileTree.bytes(path)
        guard let cut = candidates.min(by: { abs($0.offset * 2 - Int64(bytes.count)) < abs($1.offset * 2 - Int64(bytes.count)) })
        else { throw ExpectedError("no command boundary in \(last.name)") }
        let secondName = "appendonly.aof.\(last.sequence + 1).incr.aof"
        try Data(bytes[0..<Int(cut.offset)]).write(to: URL(fileURLWithPath: path))
        let select = RESP.command("SELECT", "\(cut.db)")
        try Data(select + bytes[Int(cut.offset)...]).write(to: URL(fileURLWithPath: "\(directory)/\(secondName)"))
        var m = manifest
        m.entries.append(.init(name: secondName, sequence: last.sequence + 1, type: .incremental))
        try Data(m.serialized()).write(to: URL(fileURLWithPath: manifestPath))
        return (last.name, secondName)
    }

    /// An offset inside a bulk payload near the middle of `file`, chosen so that `length` bytes written
    /// there cover the payload's closing CRLF (so the damage is detectable).
    static func payloadOffset(in path: String, near fraction: Double = 0.5, length: Int) throws -> Int64 {
        let bytes = FileTree.bytes(path)
        var i = Int(Double(bytes.count) * fraction)
        // Find the next "$<len>\r\n" line, then aim at its payload.
        while i + 1 < bytes.count {
            if bytes[i] == UInt8(ascii: "$"), i == 0 || bytes[i - 1] == 0x0A {
                var j = i + 1
                var len = 0
                while j < bytes.count, bytes[j] >= 0x30, bytes[j] <= 0x39 {
                    len = len * 10 + Int(bytes[j] - 0x30)
                    j += 1
                }
                if j + 1 < bytes.count, bytes[j] == 0x0D, bytes[j + 1] == 0x0A, len >= 4 {
                    let payload = j + 2
                    // Start a few bytes before the payload's end so the CRLF is covered.
                    let start = max(payload + 1, payload + len - length / 2)
                    if start + length <= bytes.count { return Int64(start) }
                }
            }
            i += 1
        }
        throw ExpectedError("no bulk payload after \(fraction) in \(path)")
    }

    /// The start of a `*<argc>` line near the middle of `file`.
    static func headerOffset(in path: String, near fraction: Double = 0.5) throws -> Int64 {
        let bytes = FileTree.bytes(path)
        var i = Int(Double(bytes.count) * fraction)
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "*"), i == 0 || bytes[i - 1] == 0x0A { return Int64(i) }
            i += 1
        }
        throw ExpectedError("no command after \(fraction) in \(path)")
    }

    /// The start of the command of `file` nearest to `fraction` of its size.
    static func commandBoundary(in directoryOrFile: String, file: String, near fraction: Double = 0.5) throws -> Int64 {
        let spans = try commandSpans(directoryOrFile).filter { $0.file == file }
        guard let size = spans.last?.range.upperBound, !spans.isEmpty else { throw ExpectedError("no commands in \(file)") }
        let target = Int64(Double(size) * fraction)
        return spans.map(\.range.lowerBound).min { abs($0 - target) < abs($1 - target) }!
    }

    static func overwrite(_ path: String, at offset: Int64, with replacement: [UInt8]) throws {
        var bytes = FileTree.bytes(path)
        for (i, b) in replacement.enumerated() { bytes[Int(offset) + i] = b }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func insert(_ path: String, at offset: Int64, _ inserted: [UInt8]) throws {
        var bytes = FileTree.bytes(path)
        bytes.insert(contentsOf: inserted, at: Int(offset))
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

/// Unix milliseconds now.
func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
