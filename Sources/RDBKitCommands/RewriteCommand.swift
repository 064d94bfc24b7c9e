import ArgumentParser
import RedisFormats

/// `rdbkit rewrite IN… -o OUT`: filter, convert, merge, downgrade.
struct RewriteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rewrite",
        abstract: "Write a new RDB from one or more RDBs: filter, rename, merge, convert to another server version.",
        discussion: """
            Values whose encoding the target also has are copied byte for byte; others are decoded and \
            encoded as the target server would (its default listpack/ziplist/intset thresholds, LZF for \
            strings over 20 bytes that it shrinks). What the target cannot hold is an error and no output \
            is left, unless --drop-unsupported (each dropped key is listed) or --drop-field-ttls. Streams \
            are downgraded (v3 → v2 → v1) saying which stored fields are lost. The output is written to a \
            temporary file, synced and renamed; it can never be one of the inputs.

            Targets: \(RDBTarget.knownNames.joined(separator: ", ")); or --rdb-version N [--dialect valkey].

            EXAMPLES:
              rdbkit rewrite dump.rdb -o tenant42.rdb --match 'tenant:42:*'
              rdbkit rewrite dump.rdb -o for-6.2.rdb --target redis-6.2
              rdbkit rewrite dump.rdb -o valkey.rdb --target valkey-9.1 --drop-unsupported
              rdbkit rewrite a.rdb b.rdb -o merged.rdb --on-conflict last --db-map 3:0,5:1
              rdbkit rewrite dump.rdb -o small.rdb --expired drop --max-size 1048576 --rename-prefix old:new
            """
    )

    @Argument(help: "Input RDB files (merged in order).")
    var inputs: [String]

    @Option(name: .shortAndLong, help: ArgumentHelp("The RDB to write.", valueName: "file"))
    var output: String

    @Option(help: ArgumentHelp("Target server (default: the first input's version).", valueName: "name"))
    var target: String?

    @Option(name: .customLong("rdb-version"), help: ArgumentHelp("Target RDB version instead of a server name.", valueName: "n"))
    var rdbVersion: Int?

    @Option(help: ArgumentHelp("With --rdb-version: redis or valkey.", valueName: "dialect"))
    var dialect: String = "redis"

    @OptionGroup var filters: FilterOptions

    @Option(name: .customLong("min-size"), help: ArgumentHelp("Keep values of at least this many serialized bytes.", valueName: "bytes"))
    var minimumSize: Int?

    @Option(name: .customLong("max-size"), help: ArgumentHelp("Keep values of at most this many serialized bytes.", valueName: "bytes"))
    var maximumSize: Int?

    @Option(help: ArgumentHelp("Keys whose TTL is past at --now: drop or keep.", valueName: "drop|keep"))
    var expired: String = "drop"

    @Option(help: ArgumentHelp("The time deciding expiry, Unix ms (default: now).", valueName: "ms"))
    var now: Int64?

    @Flag(name: .customLong("no-ttl"), help: "Drop every key's TTL.")
    var noTTL = false

    @Option(name: .customLong("db-map"), help: ArgumentHelp("Move databases, e.g. 3:0,5:1.", valueName: "from:to,…"))
    var dbMap: String?

    @Option(name: .customLong("rename-prefix"), help: ArgumentHelp("Replace a key prefix, e.g. old:new.", valueName: "old:new"))
    var renamePrefix: String?

    @Option(name: .customLong("on-conflict"), help: ArgumentHelp("A key in several inputs: error, first or last.", valueName: "policy"))
    var onConflict: String = "error"

    @Flag(name: .customLong("drop-unsupported"), help: "Leave out (and list) keys the target cannot hold.")
    var dropUnsupported = false

    @Flag(name: .customLong("drop-field-ttls"), help: "Write hashes with field TTLs without them on targets lacking field TTLs.")
    var dropFieldTTLs = false

    @Flag(name: .customLong("drop-modules"), help: "Leave out module aux records and module values (for a target without the modules).")
    var dropModules = false

    @Flag(name: .customLong("no-compress"), help: "Do not LZF-compress strings.")
    var noCompress = false

    @OptionGroup var readerOptions: ReaderOptions

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one input RDB") }
        if let t = target, RDBTarget.named(t) == nil {
            throw ValidationError("unknown target '\(t)': use \(RDBTarget.knownNames.joined(separator: ", "))")
        }
        if target != nil && rdbVersion != nil { throw ValidationError("--target and --rdb-version cannot be combined") }
        guard ["drop", "keep"].contains(expired) else { throw ValidationError("--expired must be drop or keep") }
        guard ["error", "first", "last"].contains(onConflict) else { throw ValidationError("--on-conflict must be error, first or last") }
        guard ["redis", "valkey"].contains(dialect) else { throw ValidationError("--dialect must be redis or valkey") }
        if let m = dbMap, Self.parseDBMap(m) == nil { throw ValidationError("--db-map must look like 3:0,5:1") }
        if let r = renamePrefix, !r.contains(":") { throw ValidationError("--rename-prefix must look like old:new") }
    }

    static func parseDBMap(_ text: String) -> [UInt64: UInt64]? {
        var map: [UInt64: UInt64] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: ":")
            guard parts.count == 2, let a = UInt64(parts[0]), let b = UInt64(parts[1]) else { return nil }
            map[a] = b
        }
        return map
    }

    func run() throws {
        do {
            var t: RDBTarget
            if let name = target {
                t = RDBTarget.named(name)!
            } else if let v = rdbVersion {
                t = RDBTarget(rdbVersion: v, dialect: dialect == "valkey" ? .valkey : .redis, serverVersion: dialect == "valkey" ? "9.1.2" : "7.4.1")
            } else {
                let first = try RDBReader(path: inputs[0], options: readerOptions.readerOptions())
                t = RDBTarget(rdbVersion: first.header.version, dialect: first.header.dialect, serverVersion: "0.0.0")
                while let r = try first.next() {
                    if case .aux(let k, let v) = r, k == "redis-ver" || k == "valkey-ver" {
                        t.serverVersion = v.description
                        break
                    }
                    if case .key = r { break }
                }
            }
            t.compresses = !noCompress
            var o = RDBRewriter.Options(target: t, now: now ?? InfoCommand.nowMilliseconds())
            o.filter = filters.filter
            o.minimumSize = minimumSize
            o.maximumSize = maximumSize
            o.expired = expired == "keep" ? .keep : .drop
            o.removesTTLs = noTTL
            o.databaseMap = dbMap.flatMap(Self.parseDBMap) ?? [:]
            if let r = renamePrefix, let colon = r.firstIndex(of: ":") {
                o.renamePrefix = (Array(r[..<colon].utf8), Array(r[r.index(after: colon)...].utf8))
            }
            o.onConflict = RDBRewriter.ConflictPolicy(rawValue: onConflict) ?? .error
            o.dropsUnsupported = dropUnsupported
            o.dropsFieldTTLs = dropFieldTTLs
            o.dropsModules = dropModules
            o.reader = readerOptions.readerOptions()
            let s = try RDBRewriter.rewrite(inputs: inputs, output: output, options: o)
            var text = "wrote \(output) for \(t): \(s.keysWritten) keys (\(s.keysCopied) copied as is, \(s.keysReencoded) re-encoded), \(s.bytesWritten) bytes\n"
            if s.keysFiltered > 0 { text += "  \(s.keysFiltered) keys filtered out\n" }
            if s.expiredDropped > 0 { text += "  \(s.expiredDropped) expired keys dropped\n" }
            if s.conflictsSkipped > 0 { text += "  \(s.conflictsSkipped) keys skipped as conflicts (--on-conflict \(onConflict))\n" }
            if s.modulesDropped > 0 { text += "  \(s.modulesDropped) module values dropped\n" }
            if s.fieldTTLsDropped > 0 { text += "  \(s.fieldTTLsDropped) hash field TTLs dropped\n" }
            if !s.streamFieldsDropped.isEmpty {
                text += "  stream fields the target does not store were dropped: \(s.streamFieldsDropped.sorted().joined(separator: ", "))\n"
            }
            for d in s.unsupportedDropped {
                text += "  dropped db \(d.db) key \(d.key.escapedDescription): \(d.reason)\n"
            }
            Terminal.writeAll(1, Array(text.utf8))
        } catch {
            throw reportFailure(error)
        }
    }
}
