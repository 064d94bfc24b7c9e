import RedisFormats

/// A reply from a Redis or Valkey server, RESP2 or RESP3. Values own their bytes (no NIO buffers).
public enum RESPValue: Sendable, Hashable, CustomStringConvertible {
    /// `+OK`.
    case simpleString(String)
    /// `-ERR …` and, in RESP3, `!<len>` blob errors.
    case error(String)
    /// `:42`.
    case integer(Int64)
    /// `$<len>` (nil is RESP2's `$-1`).
    case bulkString([UInt8]?)
    /// `*<n>` (nil is RESP2's `*-1`).
    case array([RESPValue]?)
    /// RESP3 `_`.
    case null
    /// RESP3 `,`.
    case double(Double)
    /// RESP3 `#t` / `#f`.
    case boolean(Bool)
    /// RESP3 `(`: the digits as sent.
    case bigNumber(String)
    /// RESP3 `=`: the format (`txt`, `mkd`) and the text.
    case verbatim(format: String, text: [UInt8])
    /// RESP3 `%`, in the order sent.
    case map([Pair])
    /// RESP3 `~`.
    case set([RESPValue])
    /// RESP3 `>` (out-of-band: pub/sub, client tracking).
    case push([RESPValue])

    public struct Pair: Sendable, Hashable {
        public var key: RESPValue
        public var value: RESPValue
        public init(key: RESPValue, value: RESPValue) {
            self.key = key
            self.value = value
        }
    }

    /// The error text when this is an error reply.
    public var errorMessage: String? {
        if case .error(let m) = self { return m }
        return nil
    }

    /// The first error inside this reply: the reply itself, or an element of an array (`EXEC` answers a
    /// transaction with one reply per queued command).
    public var firstError: String? {
        switch self {
        case .error(let m): return m
        case .array(let items?), .set(let items), .push(let items): return items.lazy.compactMap(\.firstError).first
        default: return nil
        }
    }

    /// The bytes of a simple, bulk or verbatim string.
    public var bytes: [UInt8]? {
        switch self {
        case .simpleString(let s): Array(s.utf8)
        case .bulkString(let b): b
        case .verbatim(_, let t): t
        default: nil
        }
    }

    /// A string reply as text (invalid UTF-8 is repaired: for display and for `INFO`).
    public var text: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    public var description: String {
        switch self {
        case .simpleString(let s): return s
        case .error(let m): return "(error) \(m)"
        case .integer(let i): return "(integer) \(i)"
        case .bulkString(let b): return b.map { RedisBytes($0).escapedDescription } ?? "(nil)"
        case .array(let a): return a.map { "[" + $0.map(\.description).joined(separator: ", ") + "]" } ?? "(nil array)"
        case .null: return "(null)"
        case .double(let d): return "(double) \(d)"
        case .boolean(let b): return b ? "(true)" : "(false)"
        case .bigNumber(let s): return "(big number) \(s)"
        case .verbatim(_, let t): return RedisBytes(t).escapedDescription
        case .map(let pairs): return "{" + pairs.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        case .set(let items): return "~[" + items.map(\.description).joined(separator: ", ") + "]"
        case .push(let items): return ">[" + items.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
