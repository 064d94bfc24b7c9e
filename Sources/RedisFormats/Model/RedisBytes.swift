/// A binary-safe Redis string: a key, a value, a member or a field.
///
/// Redis strings are byte arrays. `String` would repair invalid UTF-8 and compare canonically equivalent
/// text as equal (`"é"` and `"e\u{301}"` are two different Redis keys), so rdbkit keeps bytes until output.
/// Comparison is `memcmp` order, as Redis sorts members of equal score.
///
/// ```swift
/// let key = RedisBytes("user:1")
/// key.utf8String            // "user:1"
/// RedisBytes([0xff, 0x00]).utf8String   // nil: not valid UTF-8, never repaired
/// ```
public struct RedisBytes: Sendable, Hashable, Comparable, RandomAccessCollection, ExpressibleByStringLiteral,
    CustomStringConvertible, CustomDebugStringConvertible
{
    /// The bytes.
    public var bytes: [UInt8]

    /// Wraps bytes without copying them.
    @inlinable public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Wraps any sequence of bytes.
    @inlinable public init<S: Sequence>(_ bytes: S) where S.Element == UInt8 { self.bytes = Array(bytes) }

    /// The UTF-8 bytes of a Swift string.
    @inlinable public init(_ string: String) { self.bytes = Array(string.utf8) }

    public init(stringLiteral value: String) { self.bytes = Array(value.utf8) }

    /// The empty string.
    public static let empty = RedisBytes([UInt8]())

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { bytes.count }
    @inlinable public subscript(position: Int) -> UInt8 { bytes[position] }

    /// The bytes as a `String` when they are valid UTF-8; `nil` otherwise (never repaired).
    public var utf8String: String? {
        guard UTF8Validation.isValid(bytes) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The bytes as a decimal integer when Redis would accept them as one (`string2ll` rules:
    /// optional `-`, no `+`, no leading zeros, no spaces, within `Int64`).
    public var int64Value: Int64? { RedisInteger.parse(bytes) }

    public static func < (lhs: RedisBytes, rhs: RedisBytes) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    /// The text when it is valid UTF-8, otherwise the bytes escaped as redis-cli prints them (`"\xff\x00"`).
    public var description: String { utf8String ?? escapedDescription }

    public var debugDescription: String { "RedisBytes(\(escapedDescription))" }

    /// The bytes quoted and escaped the way redis-cli prints a binary string, e.g. `"a\r\n\xff"`.
    public var escapedDescription: String {
        var out = "\""
        for b in bytes {
            switch b {
            case 0x5C: out += "\\\\"
            case 0x22: out += "\\\""
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x07: out += "\\a"
            case 0x08: out += "\\b"
            case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789abcdef".utf8)
                out += "\\x"
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(b >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(b & 15)]))
            }
        }
        return out + "\""
    }
}

/// Redis's rules for strings that hold integers.
public enum RedisInteger {
    /// Mirrors `string2ll`: accepts `-?[1-9][0-9]*` or `0` within `Int64`, nothing else.
    @inlinable
    public static func parse<C: Collection>(_ s: C) -> Int64? where C.Element == UInt8 {
        var it = s.makeIterator()
        guard let first = it.next() else { return nil }
        if s.count == 1 && first == UInt8(ascii: "0") { return 0 }
        var negative = false
        var c = first
        if c == UInt8(ascii: "-") {
            negative = true
            guard let n = it.next() else { return nil }
            c = n
        }
        guard c >= UInt8(ascii: "1") && c <= UInt8(ascii: "9") else { return nil }
        var v = UInt64(c - UInt8(ascii: "0"))
        while let d = it.next() {
            guard d >= UInt8(ascii: "0") && d <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            v = a
        }
        if negative {
            if v > UInt64(Int64.max) + 1 { return nil }
            return v == UInt64(Int64.max) + 1 ? Int64.min : -Int64(v)
        }
        return v > UInt64(Int64.max) ? nil : Int64(v)
    }

    /// The decimal text of an integer as bytes, as Redis materialises int-encoded strings.
    public static func text(_ v: Int64) -> [UInt8] {
        unsafe [UInt8](unsafeUninitializedCapacity: 20) { buf, count in
            count = unsafe writeText(v, into: UnsafeMutableRawBufferPointer(buf))
        }
    }

    /// Writes the decimal text of `v` (at most 20 bytes) and returns its length.
    static func writeText(_ v: Int64, into buf: UnsafeMutableRawBufferPointer) -> Int {
        var magnitude = v.magnitude
        // Digits right to left into a 20-byte scratch, then moved to the front.
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return unsafe withUnsafeMutableBytes(of: &scratch) { tmp in
            var i = 24
            repeat {
                i -= 1
                unsafe tmp[i] = UInt8(truncatingIfNeeded: 48 &+ magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if v < 0 {
                i -= 1
                unsafe tmp[i] = UInt8(ascii: "-")
            }
            let n = 24 - i
            unsafe buf.baseAddress!.copyMemory(from: tmp.baseAddress! + i, byteCount: n)
            return n
        }
    }
}
