/// The manifest of a multi-part AOF (Redis 7+, Valkey): which files make the AOF, in which order.
///
/// ```
/// file appendonly.aof.2.base.rdb seq 2 type b
/// file appendonly.aof.2.incr.aof seq 2 type i
/// ```
/// Parsed as `aof.c` `aofLoadManifestFromFile` does: `#` comment lines, `sdssplitargs` quoting, key/value
/// pairs in any order (unknown keys ignored), at most one base, strictly increasing incr sequences.
public struct AOFManifest: Sendable, Hashable {
    public enum FileType: UInt8, Sendable, Hashable {
        case base = 0x62  // b
        case history = 0x68  // h
        case incremental = 0x69  // i
    }

    public struct Entry: Sendable, Hashable {
        /// A base name inside the AOF directory.
        public var name: String
        public var sequence: Int64
        public var type: FileType
        public init(name: String, sequence: Int64, type: FileType) {
            self.name = name
            self.sequence = sequence
            self.type = type
        }
    }

    /// Every entry in file order.
    public var entries: [Entry]

    public var base: Entry? { entries.first { $0.type == .base } }
    public var history: [Entry] { entries.filter { $0.type == .history } }
    public var incrementals: [Entry] { entries.filter { $0.type == .incremental } }
    /// The files a server loads, in load order: the base, then the incr files.
    public var loadOrder: [Entry] { (base.map { [$0] } ?? []) + incrementals }

    public init(entries: [Entry]) { self.entries = entries }

    /// Parses manifest bytes; the error message is the server's.
    public static func parse(_ bytes: [UInt8]) throws(RDBError) -> AOFManifest {
        var entries: [Entry] = []
        var lastIncr: Int64?
        var sawBase = false
        var lineStart = 0
        var lineNumber = 0
        while lineStart < bytes.count {
            lineNumber += 1
            var end = lineStart
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            let raw = Array(bytes[lineStart..<end])
            let hasNewline = end < bytes.count
            lineStart = end + 1
            func bad(_ why: String) -> RDBError {
                RDBError(.corrupt, "AOF manifest line \(lineNumber): \(why)", offset: Int64(lineStart - raw.count - 1))
            }
            if raw.first == UInt8(ascii: "#") { continue }
            if raw.count > 1024 || (!hasNewline && raw.count >= 1024) {
                throw bad("The AOF manifest file contains too long line")
            }
            let trimmed = raw.drop { [0x20, 0x09, 0x0D].contains($0) }.reversed().drop { [0x20, 0x09, 0x0D].contains($0) }.reversed()
            if trimmed.isEmpty { throw bad("Invalid AOF manifest file format (empty line)") }
            guard let args = splitArgs(Array(trimmed)) else { throw bad("Invalid AOF manifest file format (unbalanced quotes)") }
            guard args.count >= 6, args.count % 2 == 0 else { throw bad("Invalid AOF manifest file format") }
            var name: String?
            var seq: Int64?
            var type: FileType?
            for i in stride(from: 0, to: args.count, by: 2) {
                // Keys are compared without case (`strcasecmp`).
                let key = String(decoding: args[i], as: UTF8.self).lowercased()
                let value = args[i + 1]
                switch key {
                case "file":
                    let n = String(decoding: value, as: UTF8.self)
                    guard !value.contains(UInt8(ascii: "/")) else { throw bad("File can't be a path: \(n)") }
                    name = n
                case "seq":
                    seq = RedisInteger.parse(value) ?? Int64(String(decoding: value, as: UTF8.self))
                case "type":
                    type = value.count == 1 ? FileType(rawValue: value[0]) : nil
                    if type == nil { throw bad("Unknown AOF file type: \(String(decoding: value, as: UTF8.self))") }
                default:
                    break
                }
            }
            guard let name, let seq, let type else { throw bad("Mismatched manifest key") }
            // A sequence of 0 (or not a number) reads as "missing" in `aofLoadManifestFromFile`.
            guard seq != 0 else { throw bad("Invalid AOF manifest file format") }
            switch type {
            case .base:
                if sawBase { throw bad("Found duplicate base file information") }
                sawBase = true
            case .incremental:
                if let last = lastIncr, seq <= last { throw bad("Found a non-monotonic sequence number") }
                lastIncr = seq
            case .history:
                break
            }
            entries.append(Entry(name: name, sequence: seq, type: type))
        }
        // Only a file without any line is "empty"; a manifest of comments loads an empty data set.
        if lineNumber == 0 {
            throw RDBError(.corrupt, "Found an empty AOF manifest")
        }
        return AOFManifest(entries: entries)
    }

    /// The manifest as a server writes it (`aofInfoFormat`).
    public func serialized() -> [UInt8] {
        // A manifest without files is written as a comment: an empty file would be "empty" to a server.
        if entries.isEmpty { return Array("# no AOF files\n".utf8) }
        var out: [UInt8] = []
        for e in entries {
            out += Array("file ".utf8) + Self.quoteIfNeeded(Array(e.name.utf8))
            out += Array(" seq \(e.sequence) type ".utf8) + [e.type.rawValue, 0x0A]
        }
        return out
    }

    static func quoteIfNeeded(_ s: [UInt8]) -> [UInt8] {
        let needs = s.isEmpty || s.contains { $0 <= 0x20 || $0 >= 0x7F || $0 == 0x22 || $0 == 0x27 || $0 == 0x5C }
        guard needs else { return s }
        var out: [UInt8] = [0x22]
        for c in s {
            switch c {
            case 0x5C: out += [0x5C, 0x5C]
            case 0x22: out += [0x5C, 0x22]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x07: out += [0x5C, UInt8(ascii: "a")]
            case 0x08: out += [0x5C, UInt8(ascii: "b")]
            case 0x20..<0x7F: out.append(c)
            default:
                let hex = Array("0123456789abcdef".utf8)
                out += [0x5C, UInt8(ascii: "x"), hex[Int(c >> 4)], hex[Int(c & 15)]]
            }
        }
        out.append(0x22)
        return out
    }

    /// Mirrors `sdssplitargs`: space-separated words, `"…"` with C escapes (`\xHH`, `\n`…), `'…'` with `\'`;
    /// nil for unbalanced quotes. Also how a server splits an inline command (`rdbkit serve`).
    public static func splitArgs(_ line: [UInt8]) -> [[UInt8]]? {
        var args: [[UInt8]] = []
        var i = 0
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
        func hexValue(_ c: UInt8) -> Int? {
            switch c {
            case 0x30...0x39: Int(c - 0x30)
            case 0x61...0x66: Int(c - 0x61 + 10)
            case 0x41...0x46: Int(c - 0x41 + 10)
            default: nil
            }
        }
        while true {
            while i < line.count && isSpace(line[i]) { i += 1 }
            if i >= line.count { return args }
            var current: [UInt8] = []
            var inDouble = false
            var inSingle = false
            var done = false
            while !done {
                if inDouble {
                    guard i < line.count else { return nil }
                    let c = line[i]
                    if c == 0x5C && i + 3 < line.count && line[i + 1] == UInt8(ascii: "x"),
                        let h = hexValue(line[i + 2]), let l = hexValue(line[i + 3])
                    {
                        current.append(UInt8(h * 16 + l))
                        i += 3
                    } else if c == 0x5C && i + 1 < line.count {
                        i += 1
                        switch line[i] {
                        case UInt8(ascii: "n"): current.append(0x0A)
                        case UInt8(ascii: "r"): current.append(0x0D)
                        case UInt8(ascii: "t"): current.append(0x09)
                        case UInt8(ascii: "b"): current.append(0x08)
                        case UInt8(ascii: "a"): current.append(0x07)
                        default: current.append(line[i])
                        }
                    } else if c == 0x22 {
                        // The closing quote must be followed by a space or the end.
                        if i + 1 < line.count && !isSpace(line[i + 1]) { return nil }
                        done = true
                    } else {
                        current.append(c)
                    }
                } else if inSingle {
                    guard i < line.count else { return nil }
                    let c = line[i]
                    if c == 0x5C && i + 1 < line.count && line[i + 1] == 0x27 {
                        i += 1
                        current.append(0x27)
                    } else if c == 0x27 {
                        if i + 1 < line.count && !isSpace(line[i + 1]) { return nil }
                        done = true
                    } else {
                        current.append(c)
                    }
                } else {
                    if i >= line.count { done = true; break }
                    let c = line[i]
                    switch c {
                    case 0x20, 0x0A, 0x0D, 0x09, 0x00: done = true
                    case 0x22: inDouble = true
                    case 0x27: inSingle = true
                    default: current.append(c)
                    }
                }
                if i < line.count { i += 1 }
            }
            args.append(current)
        }
    }
}

