import ArgumentParser
import RedisFormats

/// `rdbkit repair PATH`: repairs a damaged AOF (file or directory) without a prompt, safely.
struct RepairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Repair a truncated or damaged AOF (file, directory or manifest), keeping a backup.",
        discussion: """
            Default: like redis-check-aof --fix, the last file is cut at the start of its first \
            damaged record (or at the MULTI of an unfinished transaction); the result is byte-identical. \
            --truncate-to-timestamp T: cut at the first #TS: annotation later than T, like \
            redis-check-aof --truncate-to-timestamp. --salvage: keep every complete, well-formed command \
            of every file, dropping only damaged regions (resynchronising at the next whole record), \
            whole MULTI blocks without EXEC, and orphan EXEC blocks; every dropped byte range is listed.

            Nothing is asked. The original of each changed file is kept as FILE.bak.<unix time> (or in \
            --backup DIR) unless --no-backup; the new content is written to a temporary file, synced, \
            and renamed over the original. The manifest never needs to change. An RDB preamble or base \
            cannot be cut: repair refuses it.

            EXAMPLES:
              rdbkit repair --dry-run appendonlydir
              rdbkit repair appendonlydir
              rdbkit repair --truncate-to-timestamp 1700000000 appendonlydir
              rdbkit repair --salvage --backup /var/backups/aof appendonly.aof

            EXIT STATUS:
              0   repaired, or nothing to repair
              2   cannot repair (an RDB part is damaged, or damage outside the last file without --salvage)
              64  usage error
              66  the input cannot be opened
              74  I/O error
            """
    )

    @Argument(help: "An AOF file, an AOF directory or its manifest.")
    var path: String

    @Flag(name: .customLong("dry-run"), help: "Say what would be cut and change nothing.")
    var dryRun = false

    @Flag(name: .customLong("no-backup"), help: "Do not keep the original of changed files.")
    var noBackup = false

    @Option(help: ArgumentHelp("Keep originals in this directory instead of FILE.bak.<time>.", valueName: "dir"))
    var backup: String?

    @Option(name: .customLong("truncate-to-timestamp"), help: ArgumentHelp("Cut at the first #TS: later than this Unix time.", valueName: "unix"))
    var truncateToTimestamp: Int64?

    @Flag(help: "Keep every complete command after damaged regions, in every file.")
    var salvage = false

    func validate() throws {
        if salvage && truncateToTimestamp != nil {
            throw ValidationError("--salvage and --truncate-to-timestamp cannot be combined")
        }
        if noBackup && backup != nil { throw ValidationError("--no-backup and --backup cannot be combined") }
    }

    func run() throws {
        let now = InfoCommand.nowMilliseconds()
        let mode: AOFRepair.Mode = salvage ? .salvage : truncateToTimestamp.map { .truncateToTimestamp($0) } ?? .fix
        let report = AOFChecker.check(path: path, timestampLimit: truncateToTimestamp, now: now)
        if case .singleFile? = report.layout, CheckCommand.isPlainRDB(report) {
            Terminal.printError("rdbkit: \(path) is an RDB file, not an AOF: repair works on AOF files (`rdbkit check` validates RDB files)")
            throw ExitCode(RDBKitExit.usage)
        }
        if let fatal = report.fatal, fatal.code == .io {
            Terminal.printError("rdbkit: \(fatal)")
            throw ExitCode(RDBKitExit.status(for: fatal))
        }
        let plan = AOFRepair.plan(report, mode: mode)
        var out = ""
        for note in plan.notes { out += "\(note)\n" }
        for change in plan.changes {
            switch change {
            case .truncate(let f, let length, let lost, let reason):
                out += "\(dryRun ? "would cut" : "cutting") \(f.name) from \(f.size) to \(length) bytes (\(f.size - length) bytes, \(lost) complete command\(lost == 1 ? "" : "s") lost): \(reason)\n"
            case .rewrite(let f, let keep, let drops):
                let kept = keep.reduce(Int64(0)) { $0 + ($1.upperBound - $1.lowerBound) }
                out += "\(dryRun ? "would salvage" : "salvaging") \(f.name): keeping \(kept) of \(f.size) bytes\n"
                for d in drops {
                    out += "  dropped bytes \(d.range.lowerBound)..<\(d.range.upperBound) (\(d.range.upperBound - d.range.lowerBound) bytes, \(d.commands) complete command\(d.commands == 1 ? "" : "s")): \(d.reason)\n"
                }
            }
        }
        if let refusal = plan.refusal {
            Terminal.writeAll(1, Array(out.utf8))
            Terminal.printError("rdbkit: cannot repair: \(refusal)")
            throw ExitCode(RDBKitExit.corrupt)
        }
        if plan.changes.isEmpty || dryRun {
            if plan.changes.isEmpty && plan.notes.isEmpty { out += "nothing to repair\n" }
            Terminal.writeAll(1, Array(out.utf8))
            return
        }
        let policy: AOFRepair.Backup = noBackup ? .none : backup.map { .directory($0) } ?? .besideFile(timestamp: now / 1000)
        do {
            let backups = try AOFRepair.apply(plan, backup: policy)
            for b in backups { out += "original kept as \(b)\n" }
            let after = AOFChecker.check(path: path, timestampLimit: nil, now: now)
            out += after.isValid ? "the AOF is now valid\n" : "warning: the AOF is still not valid: run `rdbkit check`\n"
            Terminal.writeAll(1, Array(out.utf8))
        } catch {
            Terminal.writeAll(1, Array(out.utf8))
            throw reportFailure(error)
        }
    }
}
