/// One step of scanning the RESP part of an AOF file.
enum AOFScanStep {
    /// A complete command: its offset, its argument count and (when captured) its arguments.
    case command(offset: Int64, argc: Int64, argv: [RedisBytes]?)
    /// An annotation line starting with `#` (`#TS:<unix>`), bytes through its newline.
    case annotation(offset: Int64, line: [UInt8])
    /// The scan is over; the analysis is final.
    case end
}

/// What `redis-check-aof` concludes about one file, computed the same way (`checkSingleAof`).
public struct AOFFileAnalysis: Sendable, Hashable {
    /// The file's name as the manifest or the command line gives it.
    public var file: String
    public var size: Int64
    /// Where the RESP part starts (after an RDB preamble), 0 otherwise.
    public var respStart: Int64
    /// The end of the last complete record outside a MULTI block: the length the file is truncated to
    /// by `--fix` (`ok_up_to`).
    public var okUpTo: Int64
    /// Lines counted as `redis-check-aof` counts them (`ok_up_to_line`), within this file.
    public var okUpToLine: Int64
    /// The first problem, as `redis-check-aof` words it, and the offset of the read that failed.
    public var error: String?
    public var errorOffset: Int64?
    /// Whether the input ended inside an item (as opposed to bytes that are wrong).
    public var endedEarly: Bool
    /// Complete commands read (including MULTI and EXEC).
    public var commands: Int
    /// Commands read in a MULTI block left open at the end of the file.
    public var commandsInOpenMulti: Int
    /// With a timestamp limit: the offset of the first `#TS:` annotation after it.
    public var timestampCut: Int64?
    /// `#TS:` annotations seen, and the last timestamp.
    public var annotations: Int
    public var lastTimestamp: Int64?
    /// Records with fewer than one argument: `redis-check-aof` accepts them, the server does not.
    public var emptyCommands: [Int64]

    /// Bytes after `okUpTo` (`diff`): 0 means the file is valid.
    public var diff: Int64 { size - okUpTo }
    public var isValid: Bool { diff == 0 && error == nil }
}

/// Scans the RESP records of one AOF file exactly as `redis-check-aof` does (`checkSingleAof`,
/// `processRESP`, `readLong`, `readString`): `*<argc>\r\n` then argc × `$<len>\r\n<bytes>\r\n`, strict CRLF,
/// MULTI/EXEC balance, `#` annotation lines, and the position of the last good record outside MULTI.
struct AOFScanner {
    let window: InputWindow
    var analysis: AOFFileAnalysis
    let captureArguments: Bool
    let maximumBulkLength: Int64
    /// `--truncate-to-timestamp`: stop at the first `#TS:` later than this.
    let timestampLimit: Int64?
    private var multi = 0
    /// Check MULTI/EXEC balance (off to parse one record in isolation).
    var tracksTransactions = true
    private var pendingInMulti = 0
    private var finished = false
    private var hitEnd = false

    init(window: InputWindow, file: String, size: Int64, captureArguments: Bool, maximumBulkLength: Int64, timestampLimit: Int64?) {
        self.window = window
        self.captureArguments = captureArguments
        self.maximumBulkLength = maximumBulkLength
        self.timestampLimit = timestampLimit
        let start = window.offset
        analysis = AOFFileAnalysis(
            file: file, size: size, respStart: start, okUpTo: start, okUpToLine: 1, error: nil, errorOffset: nil,
            endedEarly: false, commands: 0, commandsInOpenMulti: 0, timestampCut: nil, annotations: 0,
            lastTimestamp: nil, emptyCommands: [])
    }

    private mutating func fail(_ message: String, at offset: Int64, endedEarly: Bool) {
        analysis.error = message
        analysis.errorOffset = offset
        analysis.endedEarly = endedEarly
    }

    private mutating func finish() {
        finished = true
        if hitEnd && multi > 0 && analysis.error == nil {
            fail("Reached EOF before reading EXEC for MULTI", at: window.offset, endedEarly: true)
        }
        if multi > 0 { analysis.commandsInOpenMulti = pendingInMulti }
    }

    /// The next record, or `.end` with `analysis` complete.
    mutating func step() throws(ParseFailure) -> AOFScanStep {
        if finished { return .end }
        if multi == 0 { analysis.okUpTo = window.offset }
        guard let first = try window.peekByte() else {
            hitEnd = true
            finish()
            return .end
        }
        if first == UInt8(ascii: "#") {
            let at = window.offset
            let line = try window.readLine(limit: 1024)
            analysis.annotations += 1
            if line.starts(with: Array("#TS:".utf8)) {
                let ts = Self.strtol(line, from: 4)
                if ts.endByte == 0x0D { analysis.lastTimestamp = ts.value }
                if let limit = timestampLimit {
                    guard ts.endByte == 0x0D else {
                        fail("Invalid timestamp annotation", at: at, endedEarly: false)
                        finished = true
                        return .end
                    }
                    if ts.value > limit {
                        analysis.timestampCut = at
                        finished = true
                        return .end
                    }
                }
            }
            return .annotation(offset: at, line: line)
        }
        guard first == UInt8(ascii: "*") else {
            fail("AOF \(analysis.file) format error", at: window.offset, endedEarly: false)
            finish()
            return .end
        }
        let start = window.offset
        if captureArguments {
            if window.available < 4096 { try window.prefetch(4096) }
            if let argv = window.takeBufferedCommand(maximumArguments: 1 << 16, maximumBulkLength: Int(maximumBulkLength)) {
                // What readCommand counts for the same bytes (MULTI and EXEC never take this path).
                analysis.okUpToLine += 1 + 2 * Int64(argv.count)
                analysis.commands += 1
                if multi > 0 { pendingInMulti += 1 }
                return .command(offset: start, argc: Int64(argv.count), argv: argv)
            }
        }
        switch try readCommand(start: start) {
        case .some(let step): return step
        case .none:
            finish()
            return .end
        }
    }

    /// `processRESP`: nil after an error (recorded in `analysis`).
    private mutating func readCommand(start: Int64) throws(ParseFailure) -> AOFScanStep? {
        guard let argc = try readNumber(prefix: UInt8(ascii: "*")) else { return nil }
        var argv: [RedisBytes]?
        if captureArguments {
            var a: [RedisBytes] = []
            a.reserveCapacity(Int(min(max(argc, 0), 64)))  // bounded: argc is untrusted
            argv = a
        }
        var i: Int64 = 0
        while i < argc {
            let lineAt = window.offset
            guard let len = try readNumber(prefix: UInt8(ascii: "$")) else { return nil }
            let at = window.offset
            guard len >= 0 && len <= Int64.max - 2 else {
                fail("Expected to read string of \(len) bytes, which is not in the suitable range", at: lineAt, endedEarly: false)
                return nil
            }
            // fread(len + 2): never allocate more than the input holds.
            let want = len + 2
            if let remaining = window.remainingInInput, remaining < want {
                try window.skip(max(0, remaining))
                hitEnd = true
                fail("Expected to read \(want) bytes, got \(max(0, remaining)) bytes", at: at, endedEarly: true)
                return nil
            }
            if want > maximumBulkLength + 2 {
                fail("Expected to read string of \(len) bytes, which exceeds the limit of \(maximumBulkLength)", at: at, endedEarly: false)
                return nil
            }
            var word: [UInt8] = []
            var isMulti = false
            var isExec = false
            if captureArguments || (i == 0 && (len == 4 || len == 5)) {
                try window.prefetch(Int(want))
                if window.available < Int(want) {
                    let got = window.available
                    try window.skip(Int64(got))
                    hitEnd = true
                    fail("Expected to read \(want) bytes, got \(got) bytes", at: at, endedEarly: true)
                    return nil
                }
                if captureArguments {
                    word = try window.readBytes(Int(len))
                    isMulti = i == 0 && Self.equalsIgnoringCase(word, "multi")
                    isExec = i == 0 && Self.equalsIgnoringCase(word, "exec")
                } else if len == 5 {
                    isMulti = try window.consumeEqualsIgnoringCase(5, "multi")
                } else {
                    isExec = try window.consumeEqualsIgnoringCase(4, "exec")
                }
            } else {
                do throws(ParseFailure) {
                    try window.skip(len)
                } catch where error.code == .truncated {
                    hitEnd = true
                    fail("Expected to read \(want) bytes, got fewer", at: at, endedEarly: true)
                    return nil
                }
            }
            guard let crlf = try window.readCRLF() else {
                hitEnd = true
                fail("Expected to read \(want) bytes, got \(want - 1) bytes", at: at, endedEarly: true)
                return nil
            }
            guard crlf.ok else {
                fail("Expected \\r\\n, got: \(Self.hex2(crlf.a))\(Self.hex2(crlf.b))", at: at, endedEarly: false)
                return nil
            }
            analysis.okUpToLine += 1
            if i == 0 && tracksTransactions {
                if isMulti {
                    multi += 1
                    if multi > 1 {
                        fail("Unexpected MULTI in AOF \(analysis.file)", at: at, endedEarly: false)
                        return nil
                    }
                    pendingInMulti = 0
                } else if isExec {
                    multi -= 1
                    if multi != 0 {
                        fail("Unexpected EXEC in AOF \(analysis.file)", at: at, endedEarly: false)
                        return nil
                    }
                }
            }
            if captureArguments { argv?.append(RedisBytes(word)) }
            i += 1
        }
        if argc < 1 { analysis.emptyCommands.append(start) }
        analysis.commands += 1
        if multi > 0 { pendingInMulti += 1 }
        return .command(offset: start, argc: argc, argv: argv)
    }

    /// `readLong`: nil after an error.
    private mutating func readNumber(prefix: UInt8) throws(ParseFailure) -> Int64? {
        let at = window.offset
        switch try window.readRESPNumberLine(prefix: prefix) {
        case .value(let v):
            analysis.okUpToLine += 1
            return v
        case .endOfInput:
            hitEnd = true
            analysis.endedEarly = true
            if analysis.errorOffset == nil { analysis.errorOffset = at }
            return nil
        case .badPrefix(let b):
            if try window.isAtEnd() { hitEnd = true }
            fail("Expected prefix '\(Self.char(prefix))', got: '\(Self.char(b))'", at: at, endedEarly: false)
            return nil
        case .badNewline(let a, let b):
            let ended = try window.isAtEnd()
            if ended { hitEnd = true }
            fail("Expected \\r\\n, got: \(Self.hex2(a))\(Self.hex2(b))", at: at, endedEarly: ended && a == 0)
            return nil
        }
    }

    static func equalsIgnoringCase(_ word: [UInt8], _ text: StaticString) -> Bool {
        guard word.count == text.utf8CodeUnitCount else { return false }
        return text.withUTF8Buffer { t in
            for i in 0..<word.count where word[i] | 0x20 != t[i] { return false }
            return true
        }
    }

    static func hex2(_ b: UInt8) -> String {
        let d = Array("0123456789abcdef".utf8)
        return String(decoding: [d[Int(b >> 4)], d[Int(b & 15)]], as: UTF8.self)
    }

    static func char(_ b: UInt8) -> String {
        b >= 0x20 && b < 0x7F ? String(UnicodeScalar(b)) : "\\x\(hex2(b))"
    }

    /// `strtol(line + from, &end, 10)`: the value and the byte at `end` (0 past the line).
    static func strtol(_ line: [UInt8], from: Int) -> (value: Int64, endByte: UInt8) {
        var k = from
        while k < line.count, line[k] == 0x20 || (line[k] >= 0x09 && line[k] <= 0x0D) { k += 1 }
        var negative = false
        if k < line.count, line[k] == UInt8(ascii: "-") || line[k] == UInt8(ascii: "+") {
            negative = line[k] == UInt8(ascii: "-")
            k += 1
        }
        var value: Int64 = 0
        var digits = 0
        var overflow = false
        while k < line.count, line[k] >= 0x30, line[k] <= 0x39 {
            if !overflow {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(line[k] - 0x30))
                if o1 || o2 { overflow = true } else { value = a }
            }
            digits += 1
            k += 1
        }
        if digits == 0 { return (0, from < line.count ? line[from] : 0) }
        if overflow { value = negative ? .min : .max } else if negative { value = -value }
        return (value, k < line.count ? line[k] : 0)
    }
}
