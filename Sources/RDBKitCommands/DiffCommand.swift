import ArgumentParser
import RedisFormats
import RedisFormatsJSON
import RedisKeyspace

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `rdbkit diff A B`: the keys that differ between two files (RDB, AOF or rdbkit JSON Lines).
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare the keyspaces of two files: keys only in A, only in B, and changed.",
        discussion: """
            Each side is an RDB, an AOF in any layout (a single file, an appendonlydir or its manifest) or \
            the JSON Lines of `rdbkit json`. A key has changed when its type, its value (list positions, set \
            members, zset members and scores, hash fields, stream entries, metadata, groups, PELs and \
            consumers) or its expiry (hash field TTLs included) differs. Encodings are compared only with \
            --encoding, stream delivery / seen / active times only with --stream-times. Stream fields one \
            file version does not record (entries_added, first_id, max_deleted_entry_id, entries_read, \
            active_time before RDB 10/11) are compared only when both sides record them.

            RDB sides are streamed: a fingerprint of every key of A is kept (48 bytes a key, not the \
            values), B is compared against it, and both files are read again only for the keys that differ. \
            AOF and JSON Lines sides are loaded into memory.

            Output: counts by kind and by type, then one line per key:
              - db0 session:1 (string)                  only in A
              + db0 session:9 (hash)                    only in B
              ~ db0 user:1 hash: field "name" "bob" → "alice"; field "age" only in B
            --json prints one JSON object per key instead: {"db":0,"key":S,"kind":"changed", \
            "type_a":"hash","type_b":"hash","details":[...]} (kind only_a, only_b or changed; S as in \
            `rdbkit json`: a string when printable UTF-8, else {"b64":"..."}).

            EXAMPLES:
              rdbkit diff before.rdb after.rdb
              rdbkit diff --keys-only dump.rdb appendonlydir
              rdbkit diff --json --match 'user:*' --db 0 a.rdb b.jsonl

            EXIT STATUS:
              0   the keyspaces are equal (for the keys the filters keep)
              1   they differ
              2   a file is corrupt (bad bytes, CRC64 mismatch, invalid JSON Lines)
              3   a file is truncated
              4   a file uses a version, type, opcode or AOF command this rdbkit does not support
              5   a declared size exceeds a limit (--max-blob)
              64  usage error
              66  an input cannot be opened
              74  I/O error reading an input or writing the output
            """
    )

    @Argument(help: "Side A: an RDB (.gz read transparently), an AOF file, directory or manifest, or JSON Lines.")
    var a: String

    @Argument(help: "Side B, the same kinds as A.")
    var b: String

    @OptionGroup var filters: FilterOptions
    @OptionGroup var readerOptions: ReaderOptions

    @Flag(help: "Print JSON Lines, one object per differing key.")
    var json = false

    @Flag(name: .customLong("keys-only"), help: "Print only the keys that differ, without details.")
    var keysOnly = false

    @Flag(help: "Also report keys whose disk encoding differs (when both sides are RDB files).")
    var encoding = false

    @Flag(name: .customLong("stream-times"), help: "Also compare stream PEL delivery times and consumers' seen/active times.")
    var streamTimes = false

    @Flag(name: .customLong("skip-unknown"), help: "AOF sides: skip (and count) commands rdbkit cannot apply instead of failing.")
    var skipUnknown = false

    @Flag(help: "Print only the counts (exit status as usual).")
    var quiet = false

    @Option(name: .customLong("max-details"), help: ArgumentHelp("Details shown per kind per key (0: all).", valueName: "n"))
    var maxDetails = 10

    func validate() throws {
        if a == "-" || b == "-" { throw ValidationError("diff reads each side twice: standard input is not accepted") }
        guard maxDetails >= 0 else { throw ValidationError("--max-details must be 0 or more") }
        if json && quiet { throw ValidationError("--json and --quiet cannot be combined") }
    }

    func run() throws {
        let status: Int32
        do {
            status = try compare()
        } catch {
            throw Self.failure(error)
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// Errors as exit statuses; never 1, which means "different".
    static func failure(_ error: any Error) -> ExitCode {
        if let e = error as? ExitCode { return e }
        if let e = error as? RDBError {
            Terminal.printError("rdbkit: \(e)")
            return ExitCode(RDBKitExit.status(for: e))
        }
        if let e = error as? OutputError {
            Terminal.printError("rdbkit: \(e)")
            return ExitCode(RDBKitExit.ioError)
        }
        if let e = error as? CommandEngineError {
            Terminal.printError("rdbkit: \(e)")
            return ExitCode(RDBKitExit.unsupported)
        }
        Terminal.printError("rdbkit: \(error)")
        return ExitCode(RDBKitExit.corrupt)
    }

    func source(_ path: String, label: String) throws -> any DiffSource {
        var loaderOptions = KeyspaceLoader.Options()
        loaderOptions.rdb = readerOptions.readerOptions()
        loaderOptions.skipUnknown = skipUnknown
        switch try KeyspaceInput.kind(of: path) {
        case .rdb:
            return RDBDiffSource(path: path, options: readerOptions.readerOptions())
        case .aof, .jsonLines:
            let (keyspace, loaded) = try KeyspaceInput.load(path, options: loaderOptions)
            let skipped = loaded.skipped.values.reduce(0, +)
            if skipped > 0 {
                Terminal.printError(
                    "rdbkit: warning: side \(label): \(skipped) commands skipped (\(loaded.skipped.keys.sorted().joined(separator: ", "))); the comparison may report their keys")
            }
            return KeyspaceDiffSource(keyspace: keyspace)
        }
    }

    func compare() throws -> Int32 {
        var options = KeyspaceDiff.Options()
        options.filter = filters.filter
        options.compareEncoding = encoding
        options.fingerprint.streamTimes = streamTimes
        options.detailLimit = maxDetails
        let diff = KeyspaceDiff(a: try source(a, label: "A"), b: try source(b, label: "B"), options: options)
        let out = OutputBuffer(fd: 1)
        let summary: KeyspaceDiff.Summary
        if json {
            let emitter = JSONEmitter(policy: .utf8OrBase64, pretty: false, capacity: 1 << 16)
            summary = try diff.run { d in
                Self.writeJSON(d, keysOnly: keysOnly, to: emitter)
                emitter.raw(UInt8(ascii: "\n"))
                if emitter.count >= 1 << 16 {
                    try out.append(emitter.output)
                    emitter.reset()
                }
            }
            try out.append(emitter.output)
            try out.flush()
        } else {
            let spool = Spool()
            summary = try diff.run { d in
                if !quiet { try spool.append(Array(Self.line(d, keysOnly: keysOnly).utf8)) }
            }
            try out.append(Array(Self.summaryText(summary).utf8))
            try spool.copy(to: out)
            try out.flush()
        }
        for (side, source) in [("A", diff.a), ("B", diff.b)] {
            if let r = source as? RDBDiffSource, r.hasTrailingData {
                Terminal.printError(
                    "rdbkit: warning: side \(side) has data after the RDB's EOF (an AOF with an RDB preamble named .rdb?); only the RDB part was compared")
            }
        }
        return summary.isEqual ? 0 : 1
    }

    // MARK: Text

    static let kindWords: [(KeyDifference.Kind, String)] = [(.onlyA, "only in A"), (.onlyB, "only in B"), (.changed, "changed")]

    static func summaryText(_ s: KeyspaceDiff.Summary) -> String {
        var t = "A: \(s.keysA) keys, B: \(s.keysB) keys\n"
        if s.isEqual { return t + "equal\n" }
        t += kindWords.map { "\(s.counts[$0.0] ?? 0) \($0.1)" }.joined(separator: ", ") + "\n"
        for type in s.byType.keys.sorted() {
            let c = s.byType[type]!
            let parts = kindWords.compactMap { k, w in c[k].map { "\($0) \(w)" } }
            t += "  \(type): " + parts.joined(separator: ", ") + "\n"
        }
        return t
    }

    static func line(_ d: KeyDifference, keysOnly: Bool) -> String {
        let key = "db\(d.db) \(DiffText.key(d.key))"
        switch d.kind {
        case .onlyA: return "- \(key) (\(d.type))\n"
        case .onlyB: return "+ \(key) (\(d.type))\n"
        case .changed:
            let type = d.typeA == d.typeB ? d.type : "\(d.typeA ?? "?") → \(d.typeB ?? "?")"
            if keysOnly { return "~ \(key) (\(type))\n" }
            return "~ \(key) \(type): " + d.details.joined(separator: "; ") + "\n"
        }
    }

    static func writeJSON(_ d: KeyDifference, keysOnly: Bool, to e: JSONEmitter) {
        e.beginObject()
        e.key("db")
        e.int(d.db)
        e.key("key")
        e.bytes(d.key)
        e.key("kind")
        e.string(d.kind.rawValue)
        if let t = d.typeA {
            e.key("type_a")
            e.string(t)
        }
        if let t = d.typeB {
            e.key("type_b")
            e.string(t)
        }
        if !keysOnly {
            e.key("details")
            e.beginArray()
            for s in d.details { e.string(s) }
            e.endArray()
        }
        e.endObject()
    }
}

/// Buffered writes to a file descriptor.
final class OutputBuffer {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    func append(_ bytes: [UInt8]) throws {
        buffer += bytes
        if buffer.count >= 1 << 16 { try flush() }
    }

    func flush() throws {
        if buffer.isEmpty { return }
        try buffer.withUnsafeBytes { try FileDescriptorSink(fd: fd).write($0) }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Holds lines until the counts are known: in memory up to 16 MiB, then in an unlinked temporary file.
final class Spool {
    private var memory: [UInt8] = []
    private var fd: Int32 = -1
    static let memoryLimit = 16 << 20

    func append(_ bytes: [UInt8]) throws {
        memory += bytes
        if memory.count >= Self.memoryLimit { try spill() }
    }

    private func spill() throws {
        if fd < 0 {
            var template = Array("/tmp/rdbkit-diff-XXXXXX".utf8CString)
            fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { throw RDBError(.io, "cannot create a temporary file: \(String(cString: strerror(errno)))") }
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        }
        try memory.withUnsafeBytes { try FileDescriptorSink(fd: fd).write($0) }
        memory.removeAll(keepingCapacity: true)
    }

    func copy(to out: OutputBuffer) throws {
        if fd >= 0 {
            try spill()
            guard lseek(fd, 0, SEEK_SET) == 0 else { throw RDBError(.io, "cannot rewind the temporary file") }
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw RDBError(.io, "cannot read the temporary file") }
                if n == 0 { break }
                try out.append(Array(chunk[0..<n]))
            }
        } else {
            try out.append(memory)
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
    }
}
