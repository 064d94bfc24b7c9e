#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How an AOF is laid out on disk.
public enum AOFLayout: Sendable, Hashable {
    /// One file of RESP commands, possibly starting with an RDB preamble (Redis 4.0–6.2).
    case singleFile(path: String)
    /// The directory of Redis 7+ / Valkey: a manifest naming a base (RDB or RESP) and incr files.
    case multiPart(directory: String, manifestPath: String, manifest: AOFManifest)
}

/// One file of an AOF.
public struct AOFFile: Sendable, Hashable {
    public enum Role: String, Sendable, Hashable {
        case single, base, incremental
    }
    public enum Format: String, Sendable, Hashable {
        /// RESP commands only.
        case resp
        /// An RDB (whole base file, or the preamble of a single file), then possibly RESP.
        case rdb
    }
    /// The name the manifest gives (or the path of a single file).
    public var name: String
    public var path: String
    public var role: Role
    public var format: Format
    /// The last file: the only one `redis-check-aof --fix` may truncate.
    public var isLast: Bool
    public var size: Int64
}

/// A command read from an AOF.
public struct AOFCommand: Sendable, Hashable {
    public var argv: [RedisBytes]
    /// The file (its manifest name) and the byte offset the command starts at.
    public var file: String
    public var offset: Int64
    /// The database selected when the command runs (for SELECT: the one it selects).
    public var db: UInt64
    /// The last `#TS:` annotation seen in this file (Unix seconds), if any.
    public var timestamp: Int64?

    /// The command name in lower case (`set`, `multi`).
    public var name: String {
        String(decoding: (argv.first?.bytes ?? []).map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 }, as: UTF8.self)
    }
}

/// An annotation line (`#TS:<unix>`).
public struct AOFAnnotation: Sendable, Hashable {
    public var file: String
    public var offset: Int64
    /// The line without its line end.
    public var text: RedisBytes
    /// For `#TS:` lines: the Unix time.
    public var timestamp: Int64?
}

/// One record of an AOF, in load order.
public enum AOFRecord {
    /// A file begins.
    case file(AOFFile)
    /// An RDB part (a whole base file, or a preamble) begins: read it with the given reader to its
    /// `.end`; the next call to ``AOFReader/next()`` finishes it if you don't.
    case rdb(RDBReader)
    case annotation(AOFAnnotation)
    case command(AOFCommand)
}

/// Finds the layout of an AOF from a path: a directory, its manifest, or a single file.
public enum AOFLocator {
    /// - Throws: ``RDBError`` (`.io`) when nothing AOF-like is there; (`.corrupt`) for a bad manifest.
    public static func layout(of path: String) throws(RDBError) -> AOFLayout {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw RDBError(.io, "cannot open: \(String(cString: strerror(errno)))", file: path)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            let candidates = listDirectory(path).filter { $0.hasSuffix(".manifest") }.sorted()
            guard let name = candidates.first(where: { $0 == "appendonly.aof.manifest" }) ?? candidates.first else {
                throw RDBError(.io, "no AOF manifest (*.manifest) in this directory", file: path)
            }
            let manifestPath = path + "/" + name
            return .multiPart(directory: path, manifestPath: manifestPath, manifest: try readManifest(manifestPath))
        }
        if isManifest(path) {
            return .multiPart(directory: directoryName(path), manifestPath: path, manifest: try readManifest(path))
        }
        return .singleFile(path: path)
    }

    /// The files of a layout in load order (history files are not loaded and not listed).
    public static func files(of layout: AOFLayout) throws(RDBError) -> [AOFFile] {
        switch layout {
        case .singleFile(let path):
            let size = fileSize(path) ?? 0
            return [AOFFile(name: path, path: path, role: .single, format: startsWithRDBMagic(path) ? .rdb : .resp, isLast: true, size: size)]
        case .multiPart(let dir, _, let manifest):
            let order = manifest.loadOrder
            var out: [AOFFile] = []
            for (i, e) in order.enumerated() {
                let p = dir + "/" + e.name
                guard let size = fileSize(p) else {
                    throw RDBError(.io, "the manifest names \(e.name), which does not exist", file: p)
                }
                out.append(AOFFile(
                    name: e.name, path: p, role: e.type == .base ? .base : .incremental,
                    format: e.type == .base && startsWithRDBMagic(p) ? .rdb : .resp, isLast: i == order.count - 1,
                    size: size))
            }
            return out
        }
    }

    static func readManifest(_ path: String) throws(RDBError) -> AOFManifest {
        let bytes = try ByteSources.readAll(path: path, limit: 64 << 20)
        do {
            return try AOFManifest.parse(bytes)
        } catch {
            var e = error
            e.file = path
            throw e
        }
    }

    /// `fileIsManifest`: some non-comment line starts with `file`.
    static func isManifest(_ path: String) -> Bool {
        let head = ByteSources.head(path: path, count: 4096)
        if head.starts(with: Array("REDIS".utf8)) || head.starts(with: Array("VALKEY".utf8)) { return false }
        // The first line that is not a comment decides.
        for line in head.split(separator: 0x0A, omittingEmptySubsequences: false) where line.first != UInt8(ascii: "#") {
            return line.starts(with: Array("file".utf8))
        }
        return false
    }

    /// Whether a file starts with an RDB magic. `redis-check-aof` looks for `REDIS` only; a Valkey 9
    /// base starts with `VALKEY`, which its server loads (and its check tool rejects).
    static func startsWithRDBMagic(_ path: String) -> Bool {
        let head = ByteSources.head(path: path, count: 9)
        return head.count >= 8 && (head.starts(with: Array("REDIS".utf8)) || head.starts(with: Array("VALKEY".utf8)))
    }

    static func fileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    static func directoryName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let d = String(path[..<slash])
        return d.isEmpty ? "/" : d
    }

    static func listDirectory(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

/// Reads every command of an AOF in load order, streaming, in every layout: single RESP file, RDB
/// preamble + RESP, multi-part directory (base RDB or RESP, then incr files; history files ignored).
///
/// ```swift
/// let aof = try AOFReader(path: "appendonlydir")
/// while let record = try aof.next() {
///     if case .command(let c) = record { print(c.file, c.offset, c.db, c.argv) }
/// }
/// ```
/// Parsing follows `redis-check-aof`: a malformed or truncated record throws ``RDBError`` with the file
/// and the offset of the read that failed.
public final class AOFReader {
    public struct Options: Sendable {
        /// Options of the RDB reader used for preambles and RDB bases.
        public var rdb = RDBReader.Options()
        public init() {}
    }

    public let layout: AOFLayout
    public let files: [AOFFile]
    public let options: Options

    private var fileIndex = -1
    private var window: InputWindow?
    private var scanner: AOFScanner?
    private var rdbReader: RDBReader?
    private var pendingRDB = false
    private var db: UInt64 = 0
    private var timestamp: Int64?

    public init(path: String, options: Options = Options()) throws(RDBError) {
        layout = try AOFLocator.layout(of: path)
        files = try AOFLocator.files(of: layout)
        self.options = options
    }

    /// The file being read.
    public var currentFile: AOFFile? { fileIndex >= 0 && fileIndex < files.count ? files[fileIndex] : nil }

    /// The next record, or nil after the last file.
    public func next() throws(RDBError) -> AOFRecord? {
        while true {
            if let r = rdbReader {
                // Finish the RDB part if the caller did not.
                while try r.next() != nil {}
                rdbReader = nil
                startDeferredScanner()
            }
            if pendingRDB {
                pendingRDB = false
                let file = files[fileIndex]
                guard let w = window else { continue }
                w.startChecksum(fromAbsoluteOffset: 0)
                let r = try RDBReader(window: w, options: options.rdb, name: file.name)
                rdbReader = r
                return .rdb(r)
            }
            if scanner != nil {
                let step: AOFScanStep
                do {
                    // In place: copying the scanner out and back costs a copy of its analysis per command.
                    step = try scanner!.step()
                } catch {
                    throw RDBError(error.code, error.message, offset: error.offset, file: files[fileIndex].name)
                }
                switch step {
                case .command(let offset, _, let argv):
                    let args = argv ?? []
                    if args.count == 2, AOFScanner.equalsIgnoringCase(args[0].bytes, "select"),
                        let n = args[1].int64Value, n >= 0
                    {
                        db = UInt64(n)
                    }
                    return .command(AOFCommand(argv: args, file: files[fileIndex].name, offset: offset, db: db, timestamp: timestamp))
                case .annotation(let offset, let line):
                    var text = line
                    while let last = text.last, last == 0x0A || last == 0x0D { text.removeLast() }
                    var ts: Int64?
                    if line.starts(with: Array("#TS:".utf8)) {
                        let v = AOFScanner.strtol(line, from: 4)
                        if v.endByte == 0x0D || v.endByte == 0x0A || v.endByte == 0 { ts = v.value }
                    }
                    if let ts { timestamp = ts }
                    return .annotation(AOFAnnotation(file: files[fileIndex].name, offset: offset, text: RedisBytes(text), timestamp: ts))
                case .end:
                    let a = scanner!.analysis
                    scanner = nil
                    window = nil
                    if let message = a.error {
                        throw RDBError(
                            a.endedEarly ? .truncated : .corrupt, message, offset: a.errorOffset, file: files[fileIndex].name)
                    }
                    if a.diff > 0 {
                        throw RDBError(
                            .truncated, "unexpected end of file inside the record that starts at offset \(a.okUpTo)",
                            offset: a.errorOffset ?? a.okUpTo, file: files[fileIndex].name)
                    }
                    if let first = a.emptyCommands.first {
                        throw RDBError(.corrupt, "a command with no arguments (the server refuses it)", offset: first, file: files[fileIndex].name)
                    }
                    continue
                }
            }
            // Next file.
            fileIndex += 1
            guard fileIndex < files.count else { return nil }
            let file = files[fileIndex]
            let source = try FileSource(path: file.path)
            let w = InputWindow(source: source, chunkSize: options.rdb.chunkSize)
            window = w
            db = 0
            timestamp = nil
            scanner = nil
            pendingRDB = file.format == .rdb
            // The RESP scan starts after the RDB part; it is created lazily below.
            if !pendingRDB {
                scanner = AOFScanner(
                    window: w, file: file.name, size: file.size, captureArguments: true,
                    maximumBulkLength: Int64(options.rdb.maximumBlobLength), timestampLimit: nil)
            } else {
                deferredScannerFile = file
            }
            return .file(file)
        }
    }

    /// For an RDB part: the file whose RESP tail is scanned once the RDB is read.
    private var deferredScannerFile: AOFFile?

    /// Called when the RDB part is exhausted.
    private func startDeferredScanner() {
        guard let file = deferredScannerFile, let w = window else { return }
        deferredScannerFile = nil
        w.checksumming = false
        scanner = AOFScanner(
            window: w, file: file.name, size: file.size, captureArguments: true,
            maximumBulkLength: Int64(options.rdb.maximumBlobLength), timestampLimit: nil)
    }
}
