import NIOCore
import RedisFormats

/// Decodes RESP2 and RESP3 replies. A reply is parsed only once it is complete in the buffer, so a
/// partial reply leaves the reader index where it was.
///
/// Limits follow the server's own: a bulk string up to `maximumBulkLength` (512 MiB, `proto-max-bulk-len`),
/// aggregates nested at most `maximumDepth` deep.
struct RESPDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue

    var maximumBulkLength = 512 * 1024 * 1024
    var maximumDepth = 64

    struct Incomplete: Error {}

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let value = try Self.parse(&buffer, maximumBulkLength: maximumBulkLength, maximumDepth: maximumDepth) else {
            return .needMoreData
        }
        context.fireChannelRead(Self.wrapInboundOut(value))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    /// Parses one complete reply from the buffer and moves its reader index past it; nil (index kept)
    /// when the reply is not complete yet.
    /// - Throws: ``RedisClientError`` (`.protocolViolation`) for bytes that are not RESP.
    static func parse(_ buffer: inout ByteBuffer, maximumBulkLength: Int = 512 * 1024 * 1024, maximumDepth: Int = 64) throws
        -> RESPValue?
    {
        // Parsed over the raw readable bytes: one pointer walk, no per-byte buffer calls.
        let parsed = try buffer.withUnsafeReadableBytes { bytes throws -> (RESPValue, Int)? in
            var index = 0
            do {
                let v = try value(bytes, &index, depth: 0, maxBulk: maximumBulkLength, maxDepth: maximumDepth)
                return (v, index)
            } catch is Incomplete {
                return nil
            }
        }
        guard let (v, consumed) = parsed else { return nil }
        buffer.moveReaderIndex(forwardBy: consumed)
        return v
    }

    private static func violation(_ what: String) -> RedisClientError {
        RedisClientError(.protocolViolation, "the server sent bytes that are not RESP: \(what)")
    }

    /// Where the line at `index` is (without CRLF), moving `index` past it: no copy.
    private static func lineRange(_ b: UnsafeRawBufferPointer, _ index: inout Int) throws -> Range<Int> {
        let end = b.count
        var i = index
        while i + 1 < end {
            if b[i] == 0x0D {
                guard b[i + 1] == 0x0A else { throw violation("CR without LF") }
                let r = index..<i
                index = i + 2
                return r
            }
            i += 1
        }
        if end - index > 64 * 1024 { throw violation("a line longer than 64 KiB") }
        throw Incomplete()
    }

    private static func text(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: b[r]), as: UTF8.self)
    }

    /// The line as a decimal integer, accepting what `Int64(String)` accepts (an optional sign, digits).
    private static func integer(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) throws -> Int64 {
        var i = r.lowerBound
        var negative = false
        if i < r.upperBound && (b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+")) {
            negative = b[i] == UInt8(ascii: "-")
            i += 1
        }
        var magnitude: UInt64 = 0
        var ok = i < r.upperBound
        while ok && i < r.upperBound {
            let d = b[i] &- UInt8(ascii: "0")
            if d > 9 {
                ok = false
                break
            }
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (n, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { ok = false }
            magnitude = n
            i += 1
        }
        if ok {
            if negative && magnitude <= UInt64(Int64.max) + 1 { return magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude) }
            if !negative && magnitude <= UInt64(Int64.max) { return Int64(magnitude) }
        }
        let shown = UnsafeRawBufferPointer(rebasing: b[r.lowerBound..<min(r.upperBound, r.lowerBound + 40)])
        throw violation("'\(String(decoding: shown, as: UTF8.self))' is not an integer")
    }

    private static func blob(_ b: UnsafeRawBufferPointer, _ index: inout Int, length: Int64, maxBulk: Int) throws -> [UInt8] {
        guard length >= 0, length <= maxBulk else { throw violation("a bulk length of \(length)") }
        let n = Int(length)
        guard b.count - index >= n + 2 else { throw Incomplete() }
        let bytes = Array(b[index..<(index + n)])
        guard b[index + n] == 0x0D, b[index + n + 1] == 0x0A else {
            throw violation("a bulk string not followed by CRLF")
        }
        index += n + 2
        return bytes
    }

    private static func value(_ b: UnsafeRawBufferPointer, _ index: inout Int, depth: Int, maxBulk: Int, maxDepth: Int) throws -> RESPValue {
        guard depth <= maxDepth else { throw violation("replies nested deeper than \(maxDepth)") }
        guard index < b.count else { throw Incomplete() }
        let kind = b[index]
        index += 1
        let r = try lineRange(b, &index)
        func elements(_ n: Int64) throws -> [RESPValue] {
            guard n >= 0, n <= Int64(maxBulk) else { throw violation("an aggregate of \(n) elements") }
            var out: [RESPValue] = []
            out.reserveCapacity(Int(min(n, 4096)))
            for _ in 0..<n { out.append(try value(b, &index, depth: depth + 1, maxBulk: maxBulk, maxDepth: maxDepth)) }
            return out
        }
        switch kind {
        case UInt8(ascii: "+"):
            if r.count == 2 && b[r.lowerBound] == UInt8(ascii: "O") && b[r.lowerBound + 1] == UInt8(ascii: "K") {
                return .simpleString("OK")
            }
            return .simpleString(text(b, r))
        case UInt8(ascii: "-"): return .error(text(b, r))
        case UInt8(ascii: ":"): return .integer(try integer(b, r))
        case UInt8(ascii: "$"):
            let n = try integer(b, r)
            if n == -1 { return .bulkString(nil) }
            return .bulkString(try blob(b, &index, length: n, maxBulk: maxBulk))
        case UInt8(ascii: "*"):
            let n = try integer(b, r)
            if n == -1 { return .array(nil) }
            return .array(try elements(n))
        case UInt8(ascii: "_"): return .null
        case UInt8(ascii: ","):
            let t = text(b, r)
            switch t.lowercased() {
            case "inf", "+inf": return .double(.infinity)
            case "-inf": return .double(-.infinity)
            case "nan": return .double(.nan)
            default:
                guard let d = Double(t) else { throw violation("'\(t)' is not a double") }
                return .double(d)
            }
        case UInt8(ascii: "#"):
            guard r.count == 1, b[r.lowerBound] == UInt8(ascii: "t") || b[r.lowerBound] == UInt8(ascii: "f") else {
                throw violation("a boolean that is not t or f")
            }
            return .boolean(b[r.lowerBound] == UInt8(ascii: "t"))
        case UInt8(ascii: "("): return .bigNumber(text(b, r))
        case UInt8(ascii: "!"):
            return .error(String(decoding: try blob(b, &index, length: try integer(b, r), maxBulk: maxBulk), as: UTF8.self))
        case UInt8(ascii: "="):
            let t = try blob(b, &index, length: try integer(b, r), maxBulk: maxBulk)
            guard t.count >= 4, t[3] == UInt8(ascii: ":") else { throw violation("a verbatim string without its format") }
            return .verbatim(format: String(decoding: t[0..<3], as: UTF8.self), text: Array(t[4...]))
        case UInt8(ascii: "%"), UInt8(ascii: "|"):
            let n = try integer(b, r)
            guard n >= 0, n <= Int64(maxBulk) / 2 else { throw violation("a map of \(n) entries") }
            var pairs: [RESPValue.Pair] = []
            for _ in 0..<n {
                let k = try value(b, &index, depth: depth + 1, maxBulk: maxBulk, maxDepth: maxDepth)
                let v = try value(b, &index, depth: depth + 1, maxBulk: maxBulk, maxDepth: maxDepth)
                pairs.append(.init(key: k, value: v))
            }
            // An attribute (`|`) annotates the reply that follows it; the reply is what the caller wants.
            if kind == UInt8(ascii: "|") { return try value(b, &index, depth: depth, maxBulk: maxBulk, maxDepth: maxDepth) }
            return .map(pairs)
        case UInt8(ascii: "~"): return .set(try elements(try integer(b, r)))
        case UInt8(ascii: ">"): return .push(try elements(try integer(b, r)))
        default:
            throw violation("unknown reply type byte 0x\(String(kind, radix: 16))")
        }
    }
}

/// RESP encoding of commands: `*<argc>\r\n` then `$<len>\r\n<bytes>\r\n` per argument. Commands are
/// encoded into a plain array and copied into a `ByteBuffer` once per write: many small `ByteBuffer`
/// writes cost far more, above all in debug builds.
enum RESPEncoder {
    static func encode(_ argv: [[UInt8]], into out: inout [UInt8]) {
        RESPWriter.appendArrayHeader(argv.count, to: &out)
        for a in argv { RESPWriter.appendBulk(a, to: &out) }
    }

    static func encode(_ argv: [[UInt8]], into buffer: inout ByteBuffer) {
        var out: [UInt8] = []
        encode(argv, into: &out)
        buffer.writeBytes(out)
    }

}
