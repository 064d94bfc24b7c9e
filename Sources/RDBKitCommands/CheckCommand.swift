import ArgumentParser
import RedisFormats
import RedisFormatsJSON

/// `rdbkit check PATH`: validates an RDB file, an AOF file, an AOF directory or its manifest.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate an RDB or AOF (file, directory or manifest) and say exactly what is wrong and where.",
        discussion: """
            RDB: every value is decoded and checked as redis-check-rdb does with sanitize-dump-payload \
            yes: CRC64, listpack/ziplist/intset/zipmap integrity (sizes, counts, back-lengths, \
            terminators, encodings), duplicate set members and hash fields, NaN scores, stream \
            consistency, module opcode streams, empty keys.
            AOF: RESP framing with strict CRLF, argument counts, MULTI/EXEC balance, #TS: lines, the \
            manifest (files exist, sequence order, one base), and an RDB preamble or base checked as above. \
            Verdicts agree with redis-check-aof, with one documented exception: a Valkey 9 base that \
            starts with VALKEY is checked as an RDB (valkey-check-aof 9.1 rejects it; the server loads it).

            EXAMPLES:
              rdbkit check dump.rdb
              rdbkit check appendonlydir
              rdbkit check --json appendonlydir/appendonly.aof.manifest
              rdbkit check --all dump.rdb        # list every recoverable problem

            EXIT STATUS:
              0   valid
              2   damaged (corrupt bytes, CRC64 mismatch, bad manifest)
              3   damaged: the input ends inside a record (truncated)
              4   a version, type or opcode this rdbkit does not support
              64  usage error
              66  the input cannot be opened
              74  I/O error
            """
    )

    @Argument(help: "An RDB file, an AOF file, an AOF directory or its manifest.")
    var path: String

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    @Flag(help: "Go on after recoverable problems (duplicates, NaN scores, empty keys) and list each.")
    var all = false

    @Option(help: ArgumentHelp("Threads for an RDB of 64 MiB or more: 2 checks it on two cores (a valid file; a damaged one is then re-read on one to name its first problem), 1 never does.", valueName: "n"))
    var threads: Int = 2

    func validate() throws {
        guard threads == 1 || threads == 2 else { throw ValidationError("--threads must be 1 or 2") }
    }

    func run() throws {
        let now = InfoCommand.nowMilliseconds()
        let report = AOFChecker.check(path: path, now: now, twoThreads: threads == 2)
        let isRDB = CheckCommand.isPlainRDB(report)
        let status = CheckCommand.status(report)
        var text: String
        if isRDB, var rdb = report.files.first?.rdb {
            if all, rdb.isValid == false, rdb.problems.allSatisfy(\.recoverable) {
                // Re-read listing every recoverable problem.
                if let reader = try? RDBReader(path: path, options: CheckCommand.deepOptions()) {
                    rdb = RDBChecker.check(reader, continueAfterErrors: true, now: now)
                }
            }
            text = json ? CheckCommand.rdbJSON(rdb, path: path, status: status) : CheckCommand.rdbText(rdb, path: path)
        } else {
            text = json ? CheckCommand.aofJSON(report, status: status) : CheckCommand.aofText(report)
        }
        Terminal.writeAll(1, Array(text.utf8))
        if status != 0 { throw ExitCode(status) }
    }

    static func deepOptions() -> RDBReader.Options {
        var o = RDBReader.Options()
        o.validation = .deep
        return o
    }

    /// A single file that is an RDB with nothing after it.
    static func isPlainRDB(_ report: AOFCheckReport) -> Bool {
        guard case .singleFile? = report.layout, let f = report.files.first, f.file.format == .rdb else { return false }
        guard let rdb = f.rdb else { return false }
        if rdb.isAOFPreamble { return false }
        if !rdb.isValid {
            // A damaged RDB that was read to its end with bytes after it is the preamble of an AOF.
            if rdb.firstError?.code == .checksumMismatch && rdb.endOffset < f.file.size { return false }
            return f.analysis == nil
        }
        return f.analysis.map { $0.respStart == $0.size } ?? true
    }

    static func status(_ report: AOFCheckReport) -> Int32 {
        if let fatal = report.fatal { return RDBKitExit.status(for: fatal) }
        guard let bad = report.firstInvalid else { return 0 }
        if let rdb = bad.rdb, let e = rdb.firstError { return RDBKitExit.status(for: e) }
        guard let a = bad.analysis else { return RDBKitExit.corrupt }
        return a.endedEarly ? RDBKitExit.truncated : RDBKitExit.corrupt
    }

    // MARK: RDB report

    static func rdbText(_ r: RDBCheckReport, path: String) -> String {
        var out = "checking RDB \(path)"
        if let h = r.header { out += " (\(h.magic), \(h.dialect == .valkey ? "Valkey" : "Redis") RDB \(h.version))" }
        out += "\n"
        for p in r.problems {
            out += "--- RDB ERROR DETECTED ---\n\(p.error)\n"
        }
        for w in r.warnings { out += "warning: \(w)\n" }
        out += "[info] \(r.keys) keys read, \(r.expires) expires, \(r.alreadyExpired) already expired"
        if r.keysWithFieldTTLs > 0 { out += ", \(r.keysWithFieldTTLs) with field TTLs" }
        out += ", \(r.databases.count) databases, \(r.auxFields) aux fields"
        if r.functions > 0 { out += ", \(r.functions) function libraries" }
        if r.moduleAux > 0 { out += ", \(r.moduleAux) module aux records" }
        out += "\n"
        if r.problems.isEmpty {
            out += "checksum: \(InfoCommand.checksumText(r.checksum))\n"
            out += "RDB looks OK\n"
        } else {
            out += "RDB is DAMAGED: \(r.problems.count) problem\(r.problems.count == 1 ? "" : "s")\n"
        }
        return out
    }

    static func errorJSON(_ e: JSONEmitter, _ err: RDBError) {
        e.beginObject()
        e.key("code"); e.string(err.code.description)
        e.key("message"); e.string(err.message)
        e.key("file"); if let f = err.file { e.string(f) } else { e.null() }
        e.key("offset"); if let o = err.offset { e.int(o) } else { e.null() }
        e.key("blob_offset"); if let o = err.blobOffset { e.int(o) } else { e.null() }
        e.key("phase"); if let p = err.phase { e.string(p.rawValue) } else { e.null() }
        e.key("db"); if let d = err.db { e.int(d) } else { e.null() }
        e.key("key"); if let k = err.key { e.bytes(k) } else { e.null() }
        e.key("type"); if let t = err.valueType { e.string(t.name) } else { e.null() }
        e.endObject()
    }

    static func rdbReportJSON(_ e: JSONEmitter, _ r: RDBCheckReport) {
        e.beginObject()
        e.key("file"); e.string(r.file)
        e.key("magic"); if let h = r.header { e.string(h.magic) } else { e.null() }
        e.key("valid"); e.bool(r.isValid)
        e.key("keys"); e.int(r.keys)
        e.key("expires"); e.int(r.expires)
        e.key("already_expired"); e.int(r.alreadyExpired)
        e.key("field_ttl_keys"); e.int(r.keysWithFieldTTLs)
        e.key("checksum"); e.string(InfoCommand.checksumState(r.checksum))
        e.key("end_offset"); e.int(r.endOffset)
        e.key("problems")
        e.beginArray()
        for p in r.problems {
            e.beginObject()
            e.key("recoverable"); e.bool(p.recoverable)
            e.key("error"); errorJSON(e, p.error)
            e.endObject()
        }
        e.endArray()
        e.key("warnings")
        e.beginArray()
        for w in r.warnings { e.string(w) }
        e.endArray()
        e.endObject()
    }

    static func rdbJSON(_ r: RDBCheckReport, path: String, status: Int32) -> String {
        let e = JSONEmitter(pretty: true)
        e.beginObject()
        e.key("path"); e.string(path)
        e.key("kind"); e.string("rdb")
        e.key("valid"); e.bool(r.isValid)
        e.key("exit_status"); e.int(Int(status))
        e.key("rdb"); rdbReportJSON(e, r)
        e.endObject()
        e.raw(UInt8(ascii: "\n"))
        return e.text
    }

    // MARK: AOF report

    static func aofText(_ report: AOFCheckReport) -> String {
        var out = ""
        switch report.layout {
        case .multiPart(_, let manifest, let m)?:
            out += "checking multi-part AOF \(manifest) (\(m.base == nil ? "no base" : "base") + \(m.incrementals.count) incr, \(m.history.count) history)\n"
        case .singleFile(let p)?:
            out += "checking AOF \(p)\n"
        case nil:
            out += "checking AOF \(report.path)\n"
        }
        if let fatal = report.fatal {
            out += "--- AOF ERROR ---\n\(fatal)\n"
        }
        for f in report.files {
            var line = "  \(f.file.name): \(f.file.size) bytes"
            if f.isEmpty {
                out += line + ", empty: OK\n"
                continue
            }
            if let rdb = f.rdb {
                line += ", RDB \(rdb.header?.magic ?? "?") with \(rdb.keys) keys"
                if !rdb.isValid {
                    out += line + ": DAMAGED RDB part\n"
                    for p in rdb.problems { out += indent("\(p.error)", "    ") + "\n" }
                    out += "    an RDB part cannot be truncated: `rdbkit repair` refuses it\n"
                    continue
                }
            }
            guard let a = f.analysis else { out += line + "\n"; continue }
            line += ", \(a.commands) commands"
            if a.annotations > 0 { line += ", \(a.annotations) annotations" }
            out += line + (f.isValid ? ": OK\n" : ": DAMAGED\n")
            out += "    AOF analyzed: filename=\(a.file), size=\(a.size), ok_up_to=\(a.okUpTo), ok_up_to_line=\(a.okUpToLine), diff=\(a.diff)\n"
            if let err = a.error {
                out += "    [offset \(a.errorOffset ?? a.okUpTo)] \(err)\n"
            } else if a.diff > 0 {
                out += "    [offset \(a.errorOffset ?? a.okUpTo)] the input ends inside the record that starts at offset \(a.okUpTo)\n"
            }
            if a.commandsInOpenMulti > 0 {
                out += "    a MULTI block of \(a.commandsInOpenMulti) commands has no EXEC\n"
            }
            if !f.isValid {
                if f.file.isLast {
                    out += "    `rdbkit repair` truncates it to \(a.okUpTo) bytes (as redis-check-aof --fix does); `--salvage` keeps the good commands after the damage\n"
                } else {
                    out += "    not the last file: redis-check-aof --fix cannot repair it; `rdbkit repair --salvage` can\n"
                }
            }
            for at in a.emptyCommands.prefix(3) {
                out += "    warning: [offset \(at)] a command with no arguments: redis-check-aof accepts it, the server refuses to load it\n"
            }
        }
        let status = status(report)
        out += report.isValid
            ? "AOF is valid: \(report.files.count) files, \(report.rdbKeys) keys in RDB parts, \(report.commands) commands\n"
            : "AOF is DAMAGED (exit \(status))\n"
        return out
    }

    static func indent(_ s: String, _ prefix: String) -> String {
        s.split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 }.joined(separator: "\n")
    }

    static func aofJSON(_ report: AOFCheckReport, status: Int32) -> String {
        let e = JSONEmitter(pretty: true)
        e.beginObject()
        e.key("path"); e.string(report.path)
        e.key("kind"); e.string("aof")
        e.key("layout")
        switch report.layout {
        case .multiPart?: e.string("multi-part")
        case .singleFile?: e.string(report.files.first?.file.format == .rdb ? "single-file-rdb-preamble" : "single-file")
        case nil: e.null()
        }
        e.key("valid"); e.bool(report.isValid)
        e.key("exit_status"); e.int(Int(status))
        e.key("fatal"); if let f = report.fatal { errorJSON(e, f) } else { e.null() }
        e.key("files")
        e.beginArray()
        for f in report.files {
            e.beginObject()
            e.key("name"); e.string(f.file.name)
            e.key("role"); e.string(f.file.role.rawValue)
            e.key("format"); e.string(f.file.format.rawValue)
            e.key("size"); e.int(f.file.size)
            e.key("valid"); e.bool(f.isValid)
            e.key("rdb"); if let r = f.rdb { rdbReportJSON(e, r) } else { e.null() }
            e.key("resp")
            if let a = f.analysis {
                e.beginObject()
                e.key("start"); e.int(a.respStart)
                e.key("ok_up_to"); e.int(a.okUpTo)
                e.key("ok_up_to_line"); e.int(a.okUpToLine)
                e.key("diff"); e.int(a.diff)
                e.key("commands"); e.int(a.commands)
                e.key("annotations"); e.int(a.annotations)
                e.key("commands_in_open_multi"); e.int(a.commandsInOpenMulti)
                e.key("error"); if let m = a.error { e.string(m) } else { e.null() }
                e.key("error_offset"); if let o = a.errorOffset { e.int(o) } else { e.null() }
                e.key("truncated"); e.bool(a.endedEarly)
                e.endObject()
            } else {
                e.null()
            }
            e.endObject()
        }
        e.endArray()
        e.key("commands"); e.int(report.commands)
        e.key("rdb_keys"); e.int(report.rdbKeys)
        e.endObject()
        e.raw(UInt8(ascii: "\n"))
        return e.text
    }
}
