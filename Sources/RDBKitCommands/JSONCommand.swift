import ArgumentParser
import RedisFormats
import RedisFormatsJSON

/// `rdbkit json FILE`: the keys of an RDB as JSON Lines.
struct JSONCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "json",
        abstract: "Print every key of an RDB file as one JSON object per line.",
        discussion: """
            Each line: {"db":0,"key":S,"type":"hash","encoding":"listpack","expire_ms":null,"value":V}
            plus "field_expire_ms" when hash fields have TTLs and "lfu_freq" / "lru_idle_s" when \
            the file carries them. S is a JSON string when the bytes are printable UTF-8, otherwise \
            {"b64":"..."}: no byte is ever lost. See README for every value form.

            Filtered-out values are skipped without being decoded.

            EXAMPLES:
              rdbkit json dump.rdb
              rdbkit json --db 0 --match 'session:*' dump.rdb
              rdbkit json --type zset --type hash dump.rdb | jq .key
              rdbkit json --pretty dump.rdb
            """
    )

    @Argument(help: "The RDB file (`-` for standard input; .gz is read transparently).")
    var file: String

    @OptionGroup var filters: FilterOptions
    @OptionGroup var readerOptions: ReaderOptions

    @Flag(help: "Print one indented JSON array instead of JSON Lines.")
    var pretty = false

    @Option(help: ArgumentHelp("How binary-safe strings are written: utf8-or-base64 or base64.", valueName: "policy"))
    var bytes: String = JSONBytesPolicy.utf8OrBase64.rawValue

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
}
