import ArgumentParser
import RedisFormats
import RedisFormatsJSON
import RedisKeyspace

/// `rdbkit convert IN -o OUT`: RDB → AOF, JSON Lines → RDB.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert between formats: RDB → AOF (RESP commands), AOF → RDB, rdbkit JSON Lines → RDB.",
        discussion: """
            RDB → AOF writes the commands an AOF rewrite would: SELECT, SET, RPUSH/SADD/ZADD/HSET in \
            batches of at most 1000 elements, PEXPIREAT, HPEXPIREAT for field TTLs, XADD/XSETID/XGROUP \
            CREATE/XCLAIM/XGROUP CREATECONSUMER for streams with groups and PEL, FUNCTION LOAD for \
            functions, and RESTORE with the DUMP payload for module values. --target redis-6.2 (or \
            older) uses the XSETID/XGROUP forms of Redis 6.
            --target refuses what that server cannot load: FUNCTION LOAD before Redis 7.0, HPEXPIREAT \
            (hash field TTLs) before Redis 7.4 / Valkey 9.
            JSON Lines → RDB reads the output of `rdbkit json` and writes an RDB for --target (default \
            redis-7.4): every key, value, TTL, field TTL, LFU/LRU value is kept. Function libraries and \
            module aux records are not in the JSON Lines form, so they are not in the result.
            AOF → RDB (a single file, an RDB-preamble file, an appendonlydir or its manifest) applies \
            every command to the embedded keyspace, as a server loading the AOF would, and writes the \
            final keyspace (keys sorted by db and key, function libraries, module aux records of an RDB \
            part) for --target (default redis-7.4); --until TS for the state at a point in time, \
            --skip-unknown to skip commands the engine does not know.

            EXAMPLES:
              rdbkit convert dump.rdb -o appendonly.aof
              rdbkit json dump.rdb > keys.jsonl && rdbkit convert keys.jsonl -o restored.rdb --target valkey-9.1
              rdbkit convert appendonlydir -o compact.rdb --target redis-7.0
            """
    )

    @Argument(help: "An RDB file, an AOF (file, directory or manifest) or rdbkit JSON Lines (`-` for standard input).")
    var input: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The file to write (.aof or .rdb).", valueName: "file"))
    var output: String

    @Option(help: ArgumentHelp("Output format: aof or rdb (default: from the output's extension).", valueName: "format"))
    var to: String?

    @Option(help: ArgumentHelp("Target server for an RDB output, or the command syntax of an AOF output.", valueName: "name"))
    var target: String?

    @OptionGroup var readerOptions: ReaderOptions

    @Flag(name: .customLong("skip-unknown"), help: "AOF input: skip and count unknown commands instead of stopping.")
    var skipUnknown = false

    @Option(help: ArgumentHelp("AOF input: the keyspace as of this Unix time (stop before the first later #TS:).", valueName: "unix-seconds"))
    var until: Int64?

    func validate() throws {
        if let t = target, RDBTarget.named(t) == nil { throw ValidationError("unknown target '\(t)'") }
        if let t = to, !["aof", "rdb"].contains(t) { throw ValidationError("--to must be aof or rdb") }
    }

    func run() throws {
        let head = ByteSources.head(path: input, count: 16)
        let inputIsRDB = head.starts(with: Array("REDIS".utf8)) || head.starts(with: Array("VALKEY".utf8))
        // An empty input is the JSON Lines of an empty RDB.
        let inputIsJSON = head.isEmpty || head.first == UInt8(ascii: "{") || head.first == UInt8(ascii: "[")
        let outFormat = to ?? (output.hasSuffix(".rdb") ? "rdb" : "aof")
        do {
            if input != "-", outFormat == "rdb", (try? KeyspaceInput.kind(of: input)) == .aof {
                try aofToRDB()
            } else if inputIsRDB && outFormat == "aof" {
                try rdbToAOF()
            } else if inputIsJSON && outFormat == "rdb" {
                try jsonToRDB()
            } else {
                throw RDBError(.unsupported, "cannot convert this input to \(outFormat): give an RDB (→ aof) or rdbkit JSON Lines (→ rdb)", file: input)
            }
        } catch {
            throw reportFailure(error)
        }
    }

    /// Hash encodings that cannot hold field TTLs.
    private static let plainHashTypes: Set<RDBValueType> = [.hash, .hashZipmap, .hashZiplist, .hashListpack]

    private func rdbToAOF() throws {
        let reader = try RDBReader(path: input, options: readerOptions.readerOptions())
        let out = try SafeOutputFile(path: output, protectedPaths: [input])
        var builder = RecordCommands()
        let t = target.flatMap(RDBTarget.named)
        if let t { builder.redis7Syntax = t.rdbVersion >= 10 }
        builder.dumpVersion = UInt16(min(reader.header.version, 12))
        let respWriter = RecordRESPWriter(commands: builder)
        var db: UInt64?
        var buffer: [UInt8] = []
        var keys = 0
        var commands = 0
        func writeIfFull() throws {
            if buffer.count > 1 << 20 {
                try out.write(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        func emit(_ argv: [RedisBytes]) throws {
            RecordCommands.resp(argv, into: &buffer)
            commands += 1
            try writeIfFull()
        }
        // A hash that may hold field TTLs goes through the decoded value when the target cannot load them,
        // so that it is refused with its key.
        let refusesFieldTTLs = t.map { !$0.supportsFieldTTLs } ?? false
        while let record = try reader.next() {
            switch record {
            case .function(let f):
                if let t, t.rdbVersion < 10 {
                    throw RDBError(.unsupported, "functions (FUNCTION LOAD) cannot be loaded by \(t)", file: input)
                }
                try emit(builder.functionLoad(f.code))
            case .key(let h):
                if db != h.db {
                    try emit(builder.select(h.db))
                    db = h.db
                }
                let mayHoldFieldTTLs = h.valueType.kind == .hash && !Self.plainHashTypes.contains(h.valueType)
                if RecordRESPWriter.writes(h.valueType) && !(refusesFieldTTLs && mayHoldFieldTTLs) {
                    // Written as the reader lends the value's parts (no decoded value, no argument arrays).
                    respWriter.begin(key: h.key, type: h.valueType)
                    try reader.visitValue(respWriter)
                    respWriter.end(expiresAt: h.expiresAt)
                    commands += respWriter.commandCount
                    respWriter.takeCommands { _, resp in buffer.append(contentsOf: resp) }
                    try writeIfFull()
                    keys += 1
                    continue
                }
                let value = try reader.readValue()
                if let t, !t.supportsFieldTTLs, case .hash(let fields) = value, fields.contains(where: { $0.expiresAt != nil }) {
                    throw RDBError(.unsupported, "hash field TTLs (HPEXPIREAT) cannot be loaded by \(t)", key: h.key, file: input)
                }
                if let t, case .stream = value, t.rdbVersion < 9 {
                    throw RDBError(.unsupported, "streams cannot be loaded by \(t)", key: h.key, file: input)
                }
                for c in builder.commands(key: h.key, value: value, expiresAt: h.expiresAt) { try emit(c) }
                keys += 1
            default:
                break
            }
        }
        try out.write(buffer)
        try out.commit()
        Terminal.writeAll(1, Array("wrote \(output): \(commands) commands for \(keys) keys\n".utf8))
    }

    /// The final keyspace of an AOF as an RDB.
    private func aofToRDB() throws {
        let t = target.flatMap(RDBTarget.named) ?? RDBTarget.named("redis-7.4")!
        var options = KeyspaceLoader.Options()
        options.skipUnknown = skipUnknown
        options.until = until
        options.rdb = readerOptions.readerOptions()
        let (keyspace, summary) = try KeyspaceInput.load(input, options: options)
        KeyspaceInput.keepUntilExit(keyspace)
        let out = try SafeOutputFile(path: output, protectedPaths: [input])
        let writer = try RDBWriter(output: out, target: t)
        try writer.writeStandardAux(ctime: InfoCommand.nowMilliseconds() / 1000, usedMemory: 0)
        for m in keyspace.moduleAux { try writer.writeModuleAux(m) }
        if !keyspace.functions.isEmpty && t.rdbVersion < 10 {
            throw RDBError(.unsupported, "the AOF loads function libraries, which \(t) cannot hold", file: input)
        }
        for (_, code) in keyspace.functions.sorted(by: { $0.key < $1.key }) { try writer.writeFunction(code) }
        var written = 0
        for db in keyspace.nonEmptyDatabases {
            let table = keyspace.databases[db]!
            var expires: UInt64 = 0
            for (_, e) in table where e.expiresAt != nil { expires += 1 }
            try writer.selectDB(UInt64(db), size: (UInt64(table.count), expires))
            for key in table.keys.sorted() {
                let e = table[key]!
                var h = RDBKeyHeader(db: UInt64(db), key: key, valueType: .string)
                h.expiresAt = e.expiresAt.map { RedisTimestamp(milliseconds: $0) }
                _ = try writer.writeKey(h, value: e.value.redisValue)
                written += 1
            }
        }
        try writer.finish()
        var note = "wrote \(output) for \(t): \(written) keys after \(summary.commands) commands"
        if summary.moduleCommandsNotApplied > 0 {
            note += " (\(summary.moduleCommandsNotApplied) module commands could not run offline)"
        }
        Terminal.writeAll(1, Array((note + "\n").utf8))
    }

    private func jsonToRDB() throws {
        let t = target.flatMap(RDBTarget.named) ?? RDBTarget.named("redis-7.4")!
        let source = try ByteSources.open(path: input)
        let out = try SafeOutputFile(path: output, protectedPaths: [input])
        let writer = try RDBWriter(output: out, target: t)
        try writer.writeStandardAux(ctime: InfoCommand.nowMilliseconds() / 1000, usedMemory: 0)
        var keys: [JSONLinesImporter.Key] = []
        var lineNumber = 0
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var written = 0
        func flushKeys() throws {
            // Group by database: SELECTDB once per run of keys of the same db.
            for k in keys.sorted(by: { $0.header.db < $1.header.db }) {
                try writer.writeKey(k.header, value: k.value)
                written += 1
            }
            keys.removeAll(keepingCapacity: true)
        }
        func take(_ line: ArraySlice<UInt8>) throws {
            lineNumber += 1
            let trimmed = line.drop { $0 == 0x20 || $0 == 0x0D }
            guard !trimmed.isEmpty else { return }
            keys.append(try JSONLinesImporter.parse(line: Array(trimmed), number: lineNumber))
            if keys.count >= 10_000 { try flushKeys() }
        }
        while true {
            let r: Result<Int, RDBError> = chunk.withUnsafeMutableBytes { p in
                do throws(RDBError) { return .success(try source.read(into: p)) } catch { return .failure(error) }
            }
            let n = try r.get()
            if n == 0 { break }
            pending += chunk[0..<n]
            var start = pending.startIndex
            while let nl = pending[start...].firstIndex(of: 0x0A) {
                try take(pending[start..<nl])
                start = nl + 1
            }
            pending.removeFirst(start - pending.startIndex)
        }
        if !pending.isEmpty { try take(pending[...]) }
        try flushKeys()
        try writer.finish()
        Terminal.writeAll(1, Array("wrote \(output) for \(t): \(written) keys\n".utf8))
    }
}
