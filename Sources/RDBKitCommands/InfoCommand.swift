import ArgumentParser
import RedisFormats
import RedisFormatsJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `rdbkit info FILE`: header, aux fields, functions, module aux, per-db counts, checksum.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Summarize an RDB file: version, aux fields, functions, modules, keys per db, checksum.",
        discussion: """
            Reads the whole file and decodes every value (LZF, compact encodings, streams), so a \
            damaged file is reported with the offset and the key being read. The CRC64 is verified.

            EXAMPLES:
              rdbkit info dump.rdb
              rdbkit info --json dump.rdb | jq .databases
              rdbkit info --skip-values big.rdb      # lengths only, no decoding
            """
    )

    @Argument(help: "The RDB file (`-` for standard input; .gz is read transparently).")
    var file: String

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    @Flag(name: .customLong("skip-values"), help: "Skip values by their lengths instead of decoding them.")
    var skipValues = false

    @Flag(help: "Also check back-lengths, prevlen chains, declared counts and intset order of compact encodings.")
    var deep = false

    @Flag(name: .customLong("show-code"), help: "Print the source of function libraries (always in --json).")
    var showCode = false

    @OptionGroup var readerOptions: ReaderOptions

    func run() throws {
        do {
            let reader = try RDBReader(path: file, options: readerOptions.readerOptions(validation: deep ? .deep : .structure))
            let progress = Progress(label: "info", total: FileInfo.size(of: file))
            var keys = 0
            let summary: RDBSummary
            do {
                defer { progress.finish() }
                summary = try RDBSummary.gather(
                    reader, values: skipValues ? .skip : .validate, now: Self.nowMilliseconds()
                ) { offset in
                    keys += 1
                    progress.update(bytes: offset, keys: keys)
                }
            }
            let text = json ? Self.jsonText(summary, file: file) : Self.humanText(summary, file: file, showCode: showCode)
            try FileDescriptorSink(fd: 1).write(Array(text.utf8))
        } catch {
            throw reportFailure(error)
        }
    }

    static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    static func checksumText(_ c: RDBChecksum?) -> String {
        switch c {
        case .verified(let v): "verified (\(hex(v)))"
        case .disabled: "disabled (stored as 0, rdbchecksum no)"
        case .absent: "none (RDB before version 5)"
        case .unverified(let v): "not verified (\(hex(v)))"
        case nil: "unknown"
        }
    }

    static func checksumState(_ c: RDBChecksum?) -> String {
        switch c {
        case .verified: "verified"
        case .disabled: "disabled"
        case .absent: "absent"
        case .unverified: "unverified"
        case nil: "unknown"
        }
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 16 - s.count)) + s
    }

    static func humanText(_ s: RDBSummary, file: String, showCode: Bool) -> String {
        var out = ""
        let family = s.header.dialect == .valkey ? "Valkey" : "Redis"
        out += "file:      \(file) (\(s.bytesRead) bytes read)\n"
        out += "format:    \(s.header.magic) (\(family) RDB version \(s.header.version))\n"
        out += "checksum:  \(checksumText(s.checksum))\n"
        if !s.aux.isEmpty {
            out += "aux fields:\n"
            let width = s.aux.map { $0.key.description.count }.max() ?? 0
            for (k, v) in s.aux {
                let name = k.description
                out += "  \(name)\(String(repeating: " ", count: width - name.count))  \(v.utf8String.map { $0 } ?? v.escapedDescription)\n"
            }
        }
        if !s.functions.isEmpty {
            out += "functions: \(s.functions.count) \(s.functions.count == 1 ? "library" : "libraries")\n"
            for f in s.functions {
                out += "  \(f.libraryName ?? "?") (engine \(f.engine ?? "?"), \(f.code.count) bytes\(f.isPreGA ? ", 7.0-rc format" : ""))\n"
                if showCode {
                    for line in f.code.description.split(separator: "\n", omittingEmptySubsequences: false) {
                        out += "    | \(line)\n"
                    }
                }
            }
        }
        if !s.moduleAux.isEmpty {
            out += "module aux: \(s.moduleAux.count) records\n"
            for m in s.moduleAux {
                out += "  \(m.type.name) encver \(m.type.encodingVersion), \(m.when == 1 ? "before" : "after") keys, \(m.raw.count) bytes\n"
            }
        }
        if s.slotInfoRecords > 0 { out += "slot info: \(s.slotInfoRecords) records\n" }
        for i in s.slotImports {
            out += "slot import: \(i.jobName) \(i.ranges.map { "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ","))\n"
        }
        out += "keys:      \(s.totalKeys) in \(s.databases.filter { $0.keys > 0 }.count) databases\n"
        for d in s.databases {
            var line = "  db \(d.db): \(d.keys) keys, \(d.keysWithExpiry) with expiry"
            if d.alreadyExpired > 0 { line += " (\(d.alreadyExpired) already expired)" }
            if d.keysWithFieldTTLs > 0 { line += ", \(d.keysWithFieldTTLs) with field TTLs" }
            if d.keysWithIdle > 0 { line += ", \(d.keysWithIdle) with LRU idle" }
            if d.keysWithFreq > 0 { line += ", \(d.keysWithFreq) with LFU freq" }
            if let r = d.resizeHint { line += "; resizedb \(r.dbSize)/\(r.expiresSize)" }
            out += line + "\n"
            for (label, n) in d.encodings.sorted(by: { $0.key < $1.key }) {
                out += "    \(label): \(n)\n"
            }
        }
        return out
    }

    static func jsonText(_ s: RDBSummary, file: String) -> String {
        let e = JSONEmitter(pretty: true)
        e.beginObject()
        e.key("file"); e.string(file)
        e.key("magic"); e.string(s.header.magic)
        e.key("version"); e.int(s.header.version)
        e.key("dialect"); e.string(s.header.dialect.rawValue)
        e.key("bytes_read"); e.int(s.bytesRead)
        e.key("checksum")
        e.beginObject()
        e.key("status"); e.string(checksumState(s.checksum))
        e.key("value")
        switch s.checksum {
        case .verified(let v), .unverified(let v): e.string(hex(v))
        default: e.null()
        }
        e.endObject()
        e.key("aux")
        e.beginArray()
        for (k, v) in s.aux {
            e.beginArray(); e.bytes(k); e.bytes(v); e.endArray()
        }
        e.endArray()
        e.key("functions")
        e.beginArray()
        for f in s.functions {
            e.beginObject()
            e.key("name"); if let n = f.libraryName { e.string(n) } else { e.null() }
            e.key("engine"); if let n = f.engine { e.string(n) } else { e.null() }
            e.key("pre_ga"); e.bool(f.isPreGA)
            e.key("code"); e.bytes(f.code)
            e.endObject()
        }
        e.endArray()
        e.key("module_aux")
        e.beginArray()
        for m in s.moduleAux {
            e.beginObject()
            e.key("module"); e.string(m.type.name)
            e.key("encver"); e.int(m.type.encodingVersion)
            e.key("when"); e.string(m.when == 1 ? "before" : "after")
            e.key("bytes"); e.int(m.raw.count)
            e.endObject()
        }
        e.endArray()
        e.key("slot_info_records"); e.int(s.slotInfoRecords)
        e.key("keys"); e.int(s.totalKeys)
        e.key("databases")
        e.beginArray()
        for d in s.databases {
            e.beginObject()
            e.key("db"); e.int(d.db)
            e.key("keys"); e.int(d.keys)
            e.key("expires"); e.int(d.keysWithExpiry)
            e.key("already_expired"); e.int(d.alreadyExpired)
            e.key("field_ttl_keys"); e.int(d.keysWithFieldTTLs)
            e.key("idle_keys"); e.int(d.keysWithIdle)
            e.key("freq_keys"); e.int(d.keysWithFreq)
            e.key("resizedb")
            if let r = d.resizeHint {
                e.beginArray(); e.int(r.dbSize); e.int(r.expiresSize); e.endArray()
            } else {
                e.null()
            }
            e.key("encodings")
            e.beginObject()
            for (label, n) in d.encodings.sorted(by: { $0.key < $1.key }) {
                e.key(text: label); e.int(n)
            }
            e.endObject()
            e.endObject()
        }
        e.endArray()
        e.endObject()
        e.raw(UInt8(ascii: "\n"))
        return e.text
    }
}
