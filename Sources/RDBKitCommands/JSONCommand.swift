import ArgumentParser
import RedisFormats
import RedisFormatsJSON
import RedisKeyspace

/// `rdbkit json FILE`: the keys of an RDB as JSON Lines.
struct JSONCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "json",
        abstract: "Print every key of an RDB file, or the final keyspace of an AOF, as one JSON object per line.",
        discussion: """
            Each line: {"db":0,"key":S,"type":"hash","encoding":"listpack","expire_ms":null,"value":V}
            plus "field_expire_ms" when hash fields have TTLs and "lfu_freq" / "lru_idle_s" when \
            the file carries them. S is a JSON string when the bytes are printable UTF-8, otherwise \
            {"b64":"..."}: no byte is ever lost. See README for every value form.

            Filtered-out values are skipped without being decoded.

            An AOF (a single file, an RDB-preamble file named *.aof, an appendonlydir or its manifest) is \
            applied command by command to an in-memory keyspace, and the final keyspace is printed in the \
            same form, sorted by db and key (set members and hash fields by bytes, zsets in rank order). \
            The "encoding" is what a Redis 7.2+ server would report for the content. Module commands \
            (JSON.*, BF.*, TS.*, ...) cannot run offline: a module value stays as its last RDB/RESTORE \
            form, and the count of such commands is printed on stderr. An unknown command stops with its \
            file and offset (exit 4) unless --skip-unknown.

            EXAMPLES:
              rdbkit json dump.rdb
              rdbkit json --db 0 --match 'session:*' dump.rdb
              rdbkit json --type zset --type hash dump.rdb | jq .key
              rdbkit json --pretty dump.rdb
              rdbkit json appendonlydir
              rdbkit json --until 1700000000 appendonlydir/appendonly.aof.manifest
            """
    )

    @Argument(help: "The RDB file (`-` for standard input; .gz is read transparently), or an AOF file or directory.")
    var file: String

    @OptionGroup var filters: FilterOptions
    @OptionGroup var readerOptions: ReaderOptions

    @Flag(help: "Print one indented JSON array instead of JSON Lines.")
    var pretty = false

    @Option(help: ArgumentHelp("How binary-safe strings are written: utf8-or-base64 or base64.", valueName: "policy"))
    var bytes: String = JSONBytesPolicy.utf8OrBase64.rawValue

    @Flag(name: .customLong("skip-unknown"), help: "AOF: skip and count unknown commands instead of stopping.")
    var skipUnknown = false

    @Option(help: ArgumentHelp("AOF: the keyspace as of this Unix time: stop before the first #TS: annotation later than it.", valueName: "unix-seconds"))
    var until: Int64?

    func validate() throws {
        if let t = threads, t != 1 && t != 2 { throw ValidationError("--threads must be 1 or 2") }
        guard segmentSize > 0 else { throw ValidationError("--segment-size must be positive") }
        guard JSONBytesPolicy(rawValue: bytes) != nil else {
            throw ValidationError("--bytes must be utf8-or-base64 or base64")
        }
    }

    @Option(help: ArgumentHelp("Worker threads: 2 renders a large file (64 MiB or more) on two cores, 1 never does (default: auto).", valueName: "n"))
    var threads: Int?

    @Option(name: .customLong("segment-size"), help: ArgumentHelp("With 2 threads: bytes of the file per work unit.", valueName: "bytes"))
    var segmentSize: Int64 = 2 << 20

    func run() throws {
        if file != "-", (try? KeyspaceInput.kind(of: file)) == .aof {
            return try runAOF()
        }
        let size = FileInfo.size(of: file)
        let policy = JSONBytesPolicy(rawValue: bytes) ?? .utf8OrBase64
        let parallel = !pretty && size != nil && !ByteSources.head(path: file, count: 2).starts(with: [0x1F, 0x8B])
            && (threads == 2 || (threads == nil && size! >= 64 << 20))
        if parallel {
            do {
                let progress = Progress(label: "json", total: size)
                let job = ParallelJSONExport(
                    path: file, options: readerOptions.readerOptions(), filter: filters.filter, policy: policy,
                    sink: FileDescriptorSink(fd: 1), segmentBytes: segmentSize)
                job.onProgress = { bytes, keys in progress.update(bytes: bytes, keys: keys, force: true) }
                defer { progress.finish() }
                let (_, trailing) = try job.run()
                if trailing {
                    Terminal.printError(
                        "rdbkit: warning: data follows the RDB's EOF (an AOF with an RDB preamble?); only the RDB part was read")
                }
            } catch {
                throw reportFailure(error)
            }
            return
        }
        do {
            let reader = try RDBReader(path: file, options: readerOptions.readerOptions())
            let exporter = RDBJSONExporter(
                sink: FileDescriptorSink(fd: 1), filter: filters.filter,
                policy: JSONBytesPolicy(rawValue: bytes) ?? .utf8OrBase64, pretty: pretty)
            let progress = Progress(label: "json", total: FileInfo.size(of: file))
            var keys = 0
            exporter.onKey = { offset in
                keys += 1
                progress.update(bytes: offset, keys: keys)
            }
            defer { progress.finish() }
            try exporter.export(reader)
            if try reader.hasTrailingData() {
                Terminal.printError(
                    "rdbkit: warning: data follows the RDB's EOF at offset \(reader.offset) (an AOF with an RDB preamble?); only the RDB part was read")
            }
        } catch {
            throw reportFailure(error)
        }
    }

    /// The final keyspace of an AOF.
    private func runAOF() throws {
        var options = KeyspaceLoader.Options()
        options.skipUnknown = skipUnknown
        options.until = until
        options.rdb = readerOptions.readerOptions()
        let keyspace: Keyspace
        let summary: KeyspaceLoader.Summary
        do {
            (keyspace, summary) = try KeyspaceInput.load(file, options: options)
        } catch {
            throw reportFailure(error)
        }
        KeyspaceInput.keepUntilExit(keyspace)
        let filter = filters.filter
        let writer = ValueJSONWriter(
            sink: FileDescriptorSink(fd: 1), policy: JSONBytesPolicy(rawValue: bytes) ?? .utf8OrBase64, pretty: pretty)
        do {
            for db in keyspace.nonEmptyDatabases {
                let entries = keyspace.databases[db]!
                for key in entries.keys.sorted() {
                    let entry = entries[key]!
                    guard KeyspaceFilter.matches(filter, db: db, key: key, value: entry.value) else { continue }
                    try writer.write(
                        db: db, key: key, value: entry.value.sortedRedisValue, encoding: entry.value.objectEncoding(),
                        expiresAt: entry.expiresAt)
                }
            }
            try writer.finish()
        } catch {
            throw reportFailure(error)
        }
        if summary.moduleCommandsNotApplied > 0 {
            Terminal.printError(
                "rdbkit: note: \(summary.moduleCommandsNotApplied) module command(s) could not run offline; those module values are shown as their last RDB/RESTORE form")
        }
        if !summary.skipped.isEmpty {
            let list = summary.skipped.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            Terminal.printError("rdbkit: skipped unknown commands: \(list)")
        }
        if let at = summary.stoppedAt {
            Terminal.printError("rdbkit: stopped at \(at.file) offset \(at.offset) (#TS:\(at.timestamp ?? 0) is later than --until)")
        }
        if summary.droppedTransaction {
            Terminal.printError("rdbkit: note: the AOF ends inside MULTI; its queued commands were dropped, as Redis does")
        }
    }
}

/// The `rdbkit json` filters applied to keyspace entries.
enum KeyspaceFilter {
    static func matches(_ f: RDBKeyFilter, db: Int, key: RedisBytes, value: KeyValue) -> Bool {
        if let dbs = f.databases, !dbs.contains(UInt64(db)) { return false }
        if let g = f.glob, !g.matches(key) { return false }
        guard let types = f.types else { return true }
        let name = value.typeName
        if types.contains(name) { return true }
        if case .opaque(let o) = value, case .module = o.value { return types.contains("module") }
        return false
    }
}
