/// The result of checking an AOF (any layout), file by file, as `redis-check-aof` does.
public struct AOFCheckReport: Sendable {
    public struct FileResult: Sendable {
        public var file: AOFFile
        /// The RDB part (a base RDB or a preamble), when the file has one.
        public var rdb: RDBCheckReport?
        /// The RESP part, unless the RDB part failed.
        public var analysis: AOFFileAnalysis?
        public var isEmpty: Bool { file.size == 0 }

        public var isValid: Bool {
            if isEmpty { return true }
            if let rdb, !rdb.isValid { return false }
            guard let a = analysis else { return false }
            return a.error == nil && (a.diff == 0 || a.timestampCut != nil)
        }
    }

    public var path: String
    public var layout: AOFLayout?
    /// Files checked, in load order (checking stops at the first invalid file, as the server's tool does).
    public var files: [FileResult] = []
    /// A problem with the layout itself: manifest, missing files, an invalid `#TS:` line.
    public var fatal: RDBError?
    public var timestampLimit: Int64?

    public var isValid: Bool { fatal == nil && files.allSatisfy(\.isValid) }
    /// Complete commands read in every file.
    public var commands: Int { files.reduce(0) { $0 + ($1.analysis?.commands ?? 0) } }
    /// Keys read in RDB parts.
    public var rdbKeys: Int { files.reduce(0) { $0 + ($1.rdb?.keys ?? 0) } }
    /// The first invalid file.
    public var firstInvalid: FileResult? { files.first { !$0.isValid } }
}

public enum AOFChecker {
    /// Checks an AOF file, directory or manifest.
    /// - Parameters:
    ///   - timestampLimit: `--truncate-to-timestamp`: find the first `#TS:` after it.
    ///   - now: Unix ms for "already expired" in RDB parts.
    /// - Parameter twoThreads: an RDB file of 64 MiB or more is checked on two cores (``RDBParallelCheck``).
    public static func check(path: String, timestampLimit: Int64? = nil, now: Int64, twoThreads: Bool = true) -> AOFCheckReport {
        var report = AOFCheckReport(path: path, timestampLimit: timestampLimit)
        let files: [AOFFile]
        do {
            let layout = try AOFLocator.layout(of: path)
            report.layout = layout
            files = try AOFLocator.files(of: layout)
        } catch {
            report.fatal = error
            return report
        }
        for file in files {
            let result: AOFCheckReport.FileResult
            do {
                result = try checkFile(file, timestampLimit: timestampLimit, now: now, twoThreads: twoThreads)
            } catch {
                report.fatal = error
                return report
            }
            report.files.append(result)
            if let a = result.analysis, a.error == "Invalid timestamp annotation" {
                report.fatal = RDBError(.corrupt, "Invalid timestamp annotation", offset: a.errorOffset, file: file.name)
                return report
            }
            if !result.isValid || result.analysis?.timestampCut != nil { break }
        }
        return report
    }

    /// Checks one file: its RDB part (deep RDB check), then its RESP records.
    public static func checkFile(
        _ file: AOFFile, timestampLimit: Int64?, now: Int64, twoThreads: Bool = true
    ) throws(RDBError) -> AOFCheckReport.FileResult {
        var result = AOFCheckReport.FileResult(file: file)
        if file.size == 0 { return result }
        var options = RDBReader.Options()
        options.validation = .deep
        var window = InputWindow(source: try FileSource(path: file.path))
        if twoThreads && file.format == .rdb && file.size >= RDBParallelCheck.minimumSize,
            let rdb = RDBParallelCheck.check(path: file.path, now: now)
        {
            // A large valid RDB with nothing after it, checked on two cores; the (empty) rest as below.
            result.rdb = rdb
            window = InputWindow(source: try FileSource(path: file.path, offset: rdb.endOffset))
        } else if file.format == .rdb {
            window.startChecksum(fromAbsoluteOffset: 0)
            do {
                // A regular file read through a path gets its CRC64 computed on a second thread.
                let reader = try RDBReader(path: file.path, options: options)
                window = reader.window
                let rdb = RDBChecker.check(reader, now: now)
                result.rdb = rdb
                if !rdb.isValid { return result }
            } catch {
                var r = RDBCheckReport(file: file.name)
                r.problems.append(.init(error: error, recoverable: false))
                result.rdb = r
                return result
            }
            window.checksumming = false
        }
        var scanner = AOFScanner(
            window: window, file: file.name, size: file.size, captureArguments: false,
            maximumBulkLength: Int64.max - 2, timestampLimit: timestampLimit)
        do {
            while true {
                if case .end = try scanner.step() { break }
            }
        } catch {
            throw RDBError(error.code, error.message, offset: error.offset, file: file.name)
        }
        result.analysis = scanner.analysis
        return result
    }
}

/// What `rdbkit repair` does to an AOF, decided before anything is written.
public struct AOFRepairPlan: Sendable {
    /// A byte range dropped from a file, and the complete commands it held.
    public struct Drop: Sendable, Hashable {
        public var range: Range<Int64>
        public var commands: Int
        public var reason: String
    }

    public enum Change: Sendable {
        /// Cut the file to `length` bytes (what `redis-check-aof --fix` or `--truncate-to-timestamp` does).
        case truncate(file: AOFFile, length: Int64, commandsLost: Int, reason: String)
        /// Keep only `keep` (salvage), dropping `drops`.
        case rewrite(file: AOFFile, keep: [Range<Int64>], drops: [Drop])
    }

    public var changes: [Change] = []
    /// Why nothing can be done without `--salvage` (or at all).
    public var refusal: String?
    /// Human-readable notes (what was found, what stays).
    public var notes: [String] = []
    public var isNoop: Bool { changes.isEmpty && refusal == nil }
}

public enum AOFRepair {
    public enum Mode: Sendable, Hashable {
        /// Truncate the last file at its first damaged record, like `redis-check-aof --fix`.
        case fix
        /// Cut at the first `#TS:` annotation later than the time, like `--truncate-to-timestamp`.
        case truncateToTimestamp(Int64)
        /// Keep every complete, well-formed command of every file, dropping only damaged regions.
        case salvage
    }

    /// Plans a repair from a check of the same path.
    public static func plan(_ report: AOFCheckReport, mode: Mode) -> AOFRepairPlan {
        var plan = AOFRepairPlan()
        if let fatal = report.fatal {
            plan.refusal = "\(fatal.message)\(fatal.file.map { " (\($0))" } ?? "")"
            return plan
        }
        switch mode {
        case .truncateToTimestamp(let t):
            for f in report.files {
                if let rdb = f.rdb, !rdb.isValid {
                    plan.refusal = "the RDB part of \(f.file.name) is damaged (\(rdb.firstError?.message ?? "?")): nothing can be cut"
                    return plan
                }
                guard let a = f.analysis else { continue }
                if let cut = a.timestampCut {
                    if cut == 0 || cut == a.respStart && f.file.format == .resp && cut == 0 {
                        plan.refusal = "AOF \(f.file.name) has nothing before timestamp \(t)"
                        return plan
                    }
                    if !f.file.isLast {
                        plan.refusal = "the first annotation after \(t) is in \(f.file.name) at offset \(cut), which is not the last file"
                        return plan
                    }
                    let lost = countCommands(in: f.file, from: cut)
                    plan.changes.append(.truncate(file: f.file, length: cut, commandsLost: lost, reason: "first #TS: after \(t)"))
                    return plan
                }
                if !f.isValid {
                    plan.refusal = "\(f.file.name) is not valid (\(a.error ?? "damaged at offset \(a.okUpTo)")): repair it first"
                    return plan
                }
            }
            plan.notes.append("Truncate nothing: no #TS: annotation is later than \(t)")
            return plan
        case .fix:
            guard let bad = report.firstInvalid else {
                plan.notes.append("the AOF is valid: nothing to repair")
                return plan
            }
            if let rdb = bad.rdb, !rdb.isValid {
                plan.refusal = "the RDB part of \(bad.file.name) is damaged (\(rdb.firstError.map { "\($0.message) at offset \($0.offset ?? 0)" } ?? "?")); an RDB cannot be truncated"
                return plan
            }
            guard let a = bad.analysis else { return plan }
            if !bad.file.isLast {
                plan.refusal = "\(bad.file.name) is damaged at offset \(a.okUpTo) but is not the last file; --fix only truncates the last file (use --salvage)"
                return plan
            }
            let lost = countCommands(in: bad.file, from: a.okUpTo)
            plan.changes.append(.truncate(
                file: bad.file, length: a.okUpTo, commandsLost: lost,
                reason: a.error ?? "the input ends inside the record at offset \(a.okUpTo)"))
            return plan
        case .salvage:
            for f in report.files where !f.isValid {
                if let rdb = f.rdb, !rdb.isValid {
                    plan.refusal = "the RDB part of \(f.file.name) is damaged (\(rdb.firstError?.message ?? "?")); salvage covers RESP records only"
                    return plan
                }
            }
            // Check every file (the report stops at the first invalid one).
            let files: [AOFFile] = (try? report.layout.map { try AOFLocator.files(of: $0) }) ?? nil ?? report.files.map(\.file)
            for file in files where file.size > 0 {
                let start: Int64
                if file.format == .rdb {
                    guard let r = try? AOFChecker.checkFile(file, timestampLimit: nil, now: 0), let rdb = r.rdb, rdb.isValid else {
                        plan.refusal = "the RDB part of \(file.name) is damaged; salvage covers RESP records only"
                        return plan
                    }
                    start = rdb.endOffset
                } else {
                    start = 0
                }
                let s = AOFSalvage.scan(file, from: start)
                if !s.drops.isEmpty {
                    plan.changes.append(.rewrite(file: file, keep: s.keep, drops: s.drops))
                }
            }
            if plan.changes.isEmpty { plan.notes.append("the AOF is valid: nothing to salvage") }
            return plan
        }
    }

    /// Complete commands from `offset` to the end of the file, resynchronising after damage.
    static func countCommands(in file: AOFFile, from offset: Int64) -> Int {
        let s = AOFSalvage.scan(file, from: offset)
        return s.keptCommands + s.drops.reduce(0) { $0 + $1.commands }
    }

    /// Backups: where the original of a changed file goes.
    public enum Backup: Sendable, Hashable {
        case none
        /// `<file>.bak.<unix seconds>` next to the file.
        case besideFile(timestamp: Int64)
        /// The same name inside a directory.
        case directory(String)
    }

    /// Applies a plan. Every changed file is written to a temporary file, synced and renamed.
    /// - Returns: the backups written.
    @discardableResult
    public static func apply(_ plan: AOFRepairPlan, backup: Backup) throws(RDBError) -> [String] {
        var backups: [String] = []
        for change in plan.changes {
            let file: AOFFile
            let ranges: [Range<Int64>]
            switch change {
            case .truncate(let f, let length, _, _):
                file = f
                ranges = [0..<length]
            case .rewrite(let f, let keep, _):
                file = f
                ranges = keep
            }
            var backupPath: String?
            switch backup {
            case .none: break
            case .besideFile(let ts): backupPath = "\(file.path).bak.\(ts)"
            case .directory(let dir):
                let base = file.path.split(separator: "/").last.map(String.init) ?? file.name
                backupPath = "\(dir)/\(base)"
            }
            try SafeFileWriter.replace(file.path, withRangesOf: file.path, ranges: ranges, backupPath: backupPath)
            if let b = backupPath { backups.append(b) }
        }
        return backups
    }
}

/// Scans a RESP file keeping every complete, well-formed command: after damage it resynchronises at the
/// next offset where a whole record parses; a MULTI block is kept only with its EXEC; commands seen after
/// a resynchronisation and before an orphan EXEC belonged to a damaged transaction and are dropped.
enum AOFSalvage {
    struct Result {
        var keep: [Range<Int64>] = []
        var drops: [AOFRepairPlan.Drop] = []
        var keptCommands = 0
    }

    static func scan(_ file: AOFFile, from start: Int64) -> Result {
        var result = Result()
        var keepStart = start
        var position = start
        // A tentative block: since `blockStart`, commands not yet known to be kept.
        var blockStart: Int64?
        var blockCommands = 0
        var inMulti = false
        var afterResync = false

        func drop(_ range: Range<Int64>, commands: Int, reason: String) {
            if keepStart < range.lowerBound { result.keep.append(keepStart..<range.lowerBound) }
            if let last = result.drops.last, last.range.upperBound == range.lowerBound {
                result.drops[result.drops.count - 1] = .init(
                    range: last.range.lowerBound..<range.upperBound, commands: last.commands + commands, reason: last.reason)
            } else {
                result.drops.append(.init(range: range, commands: commands, reason: reason))
            }
            keepStart = range.upperBound
        }

        while position < file.size {
            guard let record = parseRecord(file, at: position) else {
                // Damage at `position`: drop from the open MULTI block (or from here) to the next whole record.
                // Commands kept tentatively after an earlier resynchronisation stand on their own.
                var from = position
                var lost = 0
                if inMulti, let b = blockStart {
                    from = b
                    lost = blockCommands
                } else {
                    result.keptCommands += blockCommands
                }
                let next = resync(file, after: position) ?? file.size
                drop(from..<next, commands: lost, reason: "damaged bytes at offset \(position)")
                blockStart = nil
                blockCommands = 0
                inMulti = false
                afterResync = true
                position = next
                continue
            }
            let end = record.end
            switch record.kind {
            case .annotation:
                break
            case .multi:
                if inMulti {
                    // Nested MULTI: the previous block is unbalanced.
                    drop((blockStart ?? position)..<position, commands: blockCommands, reason: "MULTI without EXEC")
                } else if afterResync, let b = blockStart {
                    // Commands after a resync and before a MULTI stand on their own.
                    result.keptCommands += blockCommands
                    _ = b
                }
                blockStart = position
                blockCommands = 1
                inMulti = true
                afterResync = false
            case .exec:
                if inMulti {
                    result.keptCommands += blockCommands + 1
                    blockStart = nil
                    blockCommands = 0
                    inMulti = false
                } else {
                    // Orphan EXEC: its MULTI was lost; drop it and what followed the resync.
                    drop((blockStart ?? position)..<end, commands: blockCommands + 1, reason: "EXEC without MULTI")
                    blockStart = nil
                    blockCommands = 0
                }
                afterResync = false
            case .command:
                if inMulti || afterResync {
                    if blockStart == nil { blockStart = position }
                    blockCommands += 1
                } else {
                    result.keptCommands += 1
                }
            }
            position = end
        }
        if let b = blockStart {
            if inMulti {
                drop(b..<file.size, commands: blockCommands, reason: "MULTI without EXEC at the end of the file")
            } else {
                result.keptCommands += blockCommands
            }
        }
        if keepStart < file.size { result.keep.append(keepStart..<file.size) }
        return result
    }

    enum Kind { case annotation, multi, exec, command }

    /// Parses one whole record (a command or an annotation) at `offset`; nil if it is not well formed.
    static func parseRecord(_ file: AOFFile, at offset: Int64) -> (kind: Kind, end: Int64)? {
        guard let source = try? FileSource(path: file.path, offset: offset) else { return nil }
        let window = InputWindow(source: source, chunkSize: 64 * 1024)
        var scanner = AOFScanner(
            window: window, file: file.name, size: file.size, captureArguments: false, maximumBulkLength: Int64.max - 2,
            timestampLimit: nil)
        scanner.tracksTransactions = false
        guard let step = try? scanner.step() else { return nil }
        switch step {
        case .annotation(_, let line):
            guard line.last == 0x0A else { return nil }
            return (.annotation, window.offset)
        case .command(_, let argc, _):
            guard argc >= 1 else { return nil }
            // The scanner tracks MULTI/EXEC in its first argument; read it again cheaply.
            let name = firstArgument(file, at: offset)
            if name == "multi" { return (.multi, window.offset) }
            if name == "exec" { return (.exec, window.offset) }
            return (.command, window.offset)
        case .end:
            return nil
        }
    }

    static func firstArgument(_ file: AOFFile, at offset: Int64) -> String? {
        guard let source = try? FileSource(path: file.path, offset: offset) else { return nil }
        let window = InputWindow(source: source, chunkSize: 4096)
        guard case .value = try? window.readRESPNumberLine(prefix: UInt8(ascii: "*")) else { return nil }
        guard case .value(let len)? = try? window.readRESPNumberLine(prefix: UInt8(ascii: "$")), len == 4 || len == 5,
            let word = try? window.readBytes(Int(len))
        else { return nil }
        return String(decoding: word.map { $0 | 0x20 }, as: UTF8.self)
    }

    /// The next offset after `offset` where a whole record parses, starting a command (`*<n>\r\n$`).
    static func resync(_ file: AOFFile, after offset: Int64) -> Int64? {
        guard let source = try? FileSource(path: file.path, offset: offset + 1) else { return nil }
        var base = offset + 1
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while base < file.size {
            let r: Swift.Result<Int, RDBError> = buffer.withUnsafeMutableBytes { p in
                do throws(RDBError) { return .success(try source.read(into: p)) } catch { return .failure(error) }
            }
            guard case .success(let n) = r, n > 0 else { return nil }
            for i in 0..<n where buffer[i] == UInt8(ascii: "*") {
                let at = base + Int64(i)
                if let rec = parseRecord(file, at: at), rec.kind != Kind.annotation { return at }
            }
            base += Int64(n)
        }
        return nil
    }
}
