import ArgumentParser
import RedisFormats
import RedisFormatsJSON
import RedisKeyspace
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `rdbkit aof …`: AOF tools.
struct AOFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aof",
        abstract: "Read AOF files: single file, RDB preamble, or multi-part directory.",
        subcommands: [AOFCatCommand.self, AOFLoadCommand.self]
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

/// `rdbkit aof load PATH`: applies an AOF to an in-memory keyspace, as a server loading it would, and reports.
struct AOFLoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Apply an AOF to an in-memory keyspace and summarize the result.",
        discussion: """
            Runs every command of the AOF (RDB preamble or base included) with a Redis 7.x server's \
            semantics, without a server: keys per database and type, keys with a TTL, commands applied, \
            commands whose reply was an error (a loading server ignores those too), unknown commands, time \
            and memory. `rdbkit json PATH` prints the resulting keyspace.

            EXIT STATUS: 0 loaded; 2 damaged AOF; 3 truncated; 4 unknown command or verbatim script \
            (without --skip-unknown); 66 cannot open.

            EXAMPLES:
              rdbkit aof load appendonlydir
              rdbkit aof load --until 1700000000 --json appendonlydir/appendonly.aof.manifest
              rdbkit aof load --skip-unknown old-appendonly.aof
            """
    )

    @Argument(help: "An AOF file, an AOF directory or its manifest.")
    var path: String

    @Flag(name: .customLong("skip-unknown"), help: "Skip and count unknown commands instead of stopping.")
    var skipUnknown = false

    @Option(help: ArgumentHelp("Stop before the first #TS: annotation later than this Unix time.", valueName: "unix-seconds"))
    var until: Int64?

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    func run() throws {
        var options = KeyspaceLoader.Options()
        options.skipUnknown = skipUnknown
        options.until = until
        let start = InfoCommand.nowMilliseconds()
        let keyspace = Keyspace(databases: 1 << 16)
        let summary: KeyspaceLoader.Summary
        do {
            summary = try KeyspaceLoader(keyspace: keyspace, options: options).loadAOF(path: path)
        } catch {
            throw reportFailure(error)
        }
        let elapsed = Double(InfoCommand.nowMilliseconds() - start) / 1000
        KeyspaceInput.keepUntilExit(keyspace)
        var perDB: [(db: Int, keys: Int, expires: Int, types: [String: Int])] = []
        for db in keyspace.nonEmptyDatabases {
            let (types, expires) = keyspace.databases[db]!.typeAndExpiryCounts()
            perDB.append((db, keyspace.count(db: db), expires, types))
        }
        let rss = Self.peakResidentBytes()
        if json {
            let e = JSONEmitter()
            e.beginObject()
            e.key("path"); e.string(path)
            e.key("keys"); e.int(keyspace.totalKeys)
            e.key("databases")
            e.beginArray()
            for d in perDB {
                e.beginObject()
                e.key("db"); e.int(d.db)
                e.key("keys"); e.int(d.keys)
                e.key("expires"); e.int(d.expires)
                e.key("types")
                e.beginObject()
                for (t, n) in d.types.sorted(by: { $0.key < $1.key }) {
                    e.key(text: t)
                    e.int(n)
                }
                e.endObject()
                e.endObject()
            }
            e.endArray()
            e.key("rdb_keys"); e.int(summary.rdbKeys)
            e.key("commands"); e.int(summary.commands)
            e.key("failed_commands"); e.int(summary.failedCommands)
            e.key("module_commands_not_applied"); e.int(summary.moduleCommandsNotApplied)
            e.key("skipped")
            e.beginObject()
            for (name, n) in summary.skipped.sorted(by: { $0.key < $1.key }) {
                e.key(text: name)
                e.int(n)
            }
            e.endObject()
            e.key("dropped_transaction"); e.bool(summary.droppedTransaction)
            e.key("stopped_at")
            if let at = summary.stoppedAt {
                e.beginObject()
                e.key("file"); e.string(at.file)
                e.key("offset"); e.int(at.offset)
                e.endObject()
            } else {
                e.null()
            }
            e.key("seconds"); e.string(String(format: "%.3f", elapsed))
            e.key("peak_rss_bytes"); e.int(rss)
            e.endObject()
            e.raw(UInt8(ascii: "\n"))
            try e.drain(into: FileDescriptorSink(fd: 1))
            return
        }
        var out = "\(path): \(keyspace.totalKeys) keys after \(summary.commands) commands"
        if summary.rdbKeys > 0 { out += " and \(summary.rdbKeys) keys from the RDB part" }
        out += String(format: " in %.2f s (peak RSS %.1f MiB)\n", elapsed, Double(rss) / 1_048_576)
        for d in perDB {
            let types = d.types.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            out += "  db\(d.db): keys=\(d.keys) expires=\(d.expires) \(types)\n"
        }
        if summary.failedCommands > 0 { out += "  \(summary.failedCommands) commands replied with an error (ignored, as a loading server does)\n" }
        if summary.moduleCommandsNotApplied > 0 { out += "  \(summary.moduleCommandsNotApplied) module commands could not run offline\n" }
        for (name, n) in summary.skipped.sorted(by: { $0.key < $1.key }) { out += "  skipped \(n)× \(name)\n" }
        if summary.droppedTransaction { out += "  the AOF ends inside MULTI: its queued commands were dropped\n" }
        if let at = summary.stoppedAt { out += "  stopped at \(at.file) offset \(at.offset) (--until)\n" }
        Terminal.writeAll(1, Array(out.utf8))
    }

    /// Peak resident set size (`getrusage` maxrss, KiB on Linux).
    static func peakResidentBytes() -> Int {
        var u = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        return Int(u.ru_maxrss) * 1024
    }
}
