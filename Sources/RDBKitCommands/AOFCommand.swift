import ArgumentParser
import RedisFormats
import RedisFormatsJSON

/// `rdbkit aof …`: AOF tools.
struct AOFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aof",
        abstract: "Read AOF files: single file, RDB preamble, or multi-part directory.",
        subcommands: [AOFCatCommand.self]
    )
}

/// `rdbkit aof cat PATH`: the commands of an AOF as JSON Lines.
struct AOFCatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat",
        abstract: "Print the commands of an AOF as JSON Lines, in load order.",
        discussion: """
            Each line: {"file":"appendonly.aof.2.incr.aof","offset":123,"db":0,"ts":1700000000,"argv":["SET","k","v"]}
            (argv strings as in `rdbkit json`: JSON strings when printable UTF-8, else {"b64":"..."}; \
            "ts" is the last #TS: annotation seen in that file, or null). An RDB preamble or base is \
            printed as its keys, in the `rdbkit json` form. Files are read in the manifest's order \
            (base, then incr files); history files are ignored.

            EXAMPLES:
              rdbkit aof cat appendonlydir
              rdbkit aof cat --command hset --match 'user:*' appendonly.aof
              rdbkit aof cat --until 1700000000 appendonlydir/appendonly.aof.manifest
            """
    )

    @Argument(help: "An AOF file, an AOF directory or its manifest.")
    var path: String

    @Option(name: .customLong("db"), help: ArgumentHelp("Only commands run in this database (repeatable).", valueName: "n"))
    var databases: [UInt64] = []

    @Option(help: ArgumentHelp("Only commands whose key (first argument) matches this Redis glob.", valueName: "glob"))
    var match: String?

    @Option(name: .customLong("command"), help: ArgumentHelp("Only this command (case-insensitive, repeatable).", valueName: "name"))
    var commands: [String] = []

    @Option(help: ArgumentHelp("Stop at the first #TS: annotation later than this Unix time.", valueName: "unix"))
    var until: Int64?

    func run() throws {
        do {
            let aof = try AOFReader(path: path)
            let sink = FileDescriptorSink(fd: 1)
            let e = JSONEmitter()
            let glob = match.map { RedisGlob($0) }
            let names = Set(commands.map { $0.lowercased() })
            let dbs = Set(databases)
            var keyFilter = RDBKeyFilter()
            if !dbs.isEmpty { keyFilter.databases = dbs }
            keyFilter.glob = glob
            loop: while let record = try aof.next() {
                switch record {
                case .file:
                    break
                case .rdb(let reader):
                    if !names.isEmpty { continue }
                    try e.drain(into: sink)
                    let exporter = RDBJSONExporter(sink: sink, filter: keyFilter)
                    try exporter.export(reader)
                case .annotation(let a):
                    if let until, let ts = a.timestamp, ts > until { break loop }
                case .command(let c):
                    if !dbs.isEmpty && !dbs.contains(c.db) { continue }
                    if !names.isEmpty && !names.contains(c.name) { continue }
                    if let glob {
                        guard c.argv.count > 1, glob.matches(c.argv[1]) else { continue }
                    }
                    e.beginObject()
                    e.key("file"); e.string(c.file)
                    e.key("offset"); e.int(c.offset)
                    e.key("db"); e.int(c.db)
                    e.key("ts"); if let t = c.timestamp { e.int(t) } else { e.null() }
                    e.key("argv")
                    e.beginArray()
                    for a in c.argv { e.bytes(a) }
                    e.endArray()
                    e.endObject()
                    e.raw(UInt8(ascii: "\n"))
                    if e.count > 256 * 1024 { try e.drain(into: sink) }
                }
            }
            try e.drain(into: sink)
        } catch {
            throw reportFailure(error)
        }
    }
}
