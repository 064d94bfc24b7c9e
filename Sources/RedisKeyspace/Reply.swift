import RedisFormats

/// A command's reply, as a RESP2 server sends it. The engine returns one for every command so that tests can
/// compare it with a real server's reply, and `rdbkit serve` can send it.
public indirect enum Reply: Sendable, Hashable, CustomStringConvertible {
    /// `+OK`, `+QUEUED`, `+string` (TYPE).
    case status(String)
    /// `-ERR …`, `-WRONGTYPE …`: the whole line after `-`.
    case error(String)
    case integer(Int64)
    /// A bulk string; `nil` is the null bulk string.
    case bulk(RedisBytes?)
    /// An array; `nil` is the null array.
    case array([Reply]?)
    /// A map as flat key, value, key, value items: an array in RESP2, `%` in RESP3 (HGETALL, XINFO, HELLO).
    case map([Reply])
    /// A double: a bulk string (`%.17g`, `inf`, `-inf`) in RESP2, `,` in RESP3 (ZSCORE, WITHSCORES).
    case double(Double)
    /// A set: an array in RESP2, `~` in RESP3 (SMEMBERS).
    case set([Reply])
    /// Plain text: a bulk string in RESP2, a `=` verbatim string of format `txt` in RESP3 (INFO, CLIENT INFO).
    case verbatim(RedisBytes)
    /// Flat pairs: one array in RESP2, an array of two-element arrays in RESP3 (ZRANGE … WITHSCORES).
    case pairs([Reply])

    public static let ok = Reply.status("OK")
    public static let null = Reply.bulk(nil)
    public static let wrongType = Reply.error("WRONGTYPE Operation against a key holding the wrong kind of value")
    public static let notInteger = Reply.error("ERR value is not an integer or out of range")
    public static let notFloat = Reply.error("ERR value is not a valid float")
    public static let syntax = Reply.error("ERR syntax error")
    public static let noSuchKey = Reply.error("ERR no such key")
    public static let overflow = Reply.error("ERR increment or decrement would overflow")

    public static func wrongArity(_ name: String) -> Reply {
        .error("ERR wrong number of arguments for '\(name)' command")
    }

    public static func bulk(_ s: String) -> Reply { .bulk(RedisBytes(s)) }

    public static func array(_ items: [RedisBytes]) -> Reply { .array(items.map { .bulk($0) }) }

    public var isError: Bool {
        if case .error = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .status(let s): "+\(s)"
        case .error(let s): "-\(s)"
        case .integer(let i): ":\(i)"
        case .bulk(let b): b.map { $0.escapedDescription } ?? "(nil)"
        case .array(let a): a.map { "[" + $0.map(\.description).joined(separator: ", ") + "]" } ?? "(nil array)"
        case .map(let a): "{" + a.map(\.description).joined(separator: ", ") + "}"
        case .double(let d): String(decoding: RedisNumbers.formatReply(d), as: UTF8.self)
        case .set(let a): "~[" + a.map(\.description).joined(separator: ", ") + "]"
        case .verbatim(let b): b.escapedDescription
        case .pairs(let a): "[" + a.map(\.description).joined(separator: ", ") + "]"
        }
    }

    /// The same reply with the RESP3-only cases lowered to what a RESP2 client receives.
    public var resp2: Reply {
        switch self {
        case .status, .error, .integer, .bulk: self
        case .array(let a): .array(a.map { $0.map(\.resp2) })
        case .map(let a), .set(let a), .pairs(let a): .array(a.map(\.resp2))
        case .double(let d): .bulk(RedisBytes(RedisNumbers.formatReply(d)))
        case .verbatim(let b): .bulk(b)
        }
    }

    /// The RESP2 bytes of this reply.
    public func write(into out: inout [UInt8]) {
        func line(_ prefix: UInt8, _ text: String) {
            out.append(prefix)
            out.append(contentsOf: text.utf8)
            out.append(0x0D)
            out.append(0x0A)
        }
        switch self {
        case .status(let s): line(UInt8(ascii: "+"), s)
        case .error(let s): line(UInt8(ascii: "-"), s)
        case .integer(let i): line(UInt8(ascii: ":"), String(i))
        case .bulk(nil): line(UInt8(ascii: "$"), "-1")
        case .bulk(let b?):
            line(UInt8(ascii: "$"), String(b.count))
            out.append(contentsOf: b.bytes)
            out.append(0x0D)
            out.append(0x0A)
        case .array(nil): line(UInt8(ascii: "*"), "-1")
        case .array(let items?):
            line(UInt8(ascii: "*"), String(items.count))
            for i in items { i.write(into: &out) }
        case .map, .double, .set, .verbatim, .pairs:
            resp2.write(into: &out)
        }
    }
}
