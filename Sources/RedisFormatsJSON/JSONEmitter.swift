import RedisFormats

/// How binary-safe strings appear in JSON.
public enum JSONBytesPolicy: String, Sendable, CaseIterable {
    /// A JSON string when the bytes are valid, printable UTF-8, otherwise `{"b64":"…"}`.
    case utf8OrBase64 = "utf8-or-base64"
    /// Always `{"b64":"…"}`.
    case base64
}

/// A streaming JSON byte emitter: values go straight into a byte buffer, commas and (optionally)
/// indentation are inserted automatically. No `String` is built for data.
///
/// ```swift
/// var e = JSONEmitter()
/// e.beginObject(); e.key("db"); e.int(0); e.key("key"); e.bytes(RedisBytes("k")); e.endObject()
/// // {"db":0,"key":"k"}
/// ```
public struct JSONEmitter: Sendable {
    /// The bytes produced so far (the caller drains them).
    public var output: [UInt8] = []
    public var policy: JSONBytesPolicy
    /// Indent nested values by two spaces per level, one value per line.
    public var pretty: Bool

    /// One entry per open container: `true` for arrays; and whether a value was written in it.
    private var isArray: [Bool] = []
    private var hasValue: [Bool] = []

    public init(policy: JSONBytesPolicy = .utf8OrBase64, pretty: Bool = false) {
        self.policy = policy
        self.pretty = pretty
        output.reserveCapacity(1 << 20)
    }

    /// Nesting depth (0 at top level).
    public var depth: Int { isArray.count }

    @inline(__always) private mutating func newline() {
        output.append(UInt8(ascii: "\n"))
        for _ in 0..<isArray.count { output.append(0x20); output.append(0x20) }
    }

    /// Called before every value: a comma in arrays after the first element.
    @inline(__always) private mutating func beforeValue() {
        guard let last = isArray.last, last else { return }
        if hasValue[hasValue.count - 1] { output.append(UInt8(ascii: ",")) }
        hasValue[hasValue.count - 1] = true
        if pretty { newline() }
    }

    public mutating func beginObject() {
        beforeValue()
        output.append(UInt8(ascii: "{"))
        isArray.append(false)
        hasValue.append(false)
    }

    public mutating func endObject() {
        let had = hasValue.removeLast()
        isArray.removeLast()
        if pretty && had { newline() }
        output.append(UInt8(ascii: "}"))
    }

    public mutating func beginArray() {
        beforeValue()
        output.append(UInt8(ascii: "["))
        isArray.append(true)
        hasValue.append(false)
    }

    public mutating func endArray() {
        let had = hasValue.removeLast()
        isArray.removeLast()
        if pretty && had { newline() }
        output.append(UInt8(ascii: "]"))
    }

    /// An object key (ASCII, no escaping needed); the value must follow.
    public mutating func key(_ name: StaticString) {
        if hasValue[hasValue.count - 1] { output.append(UInt8(ascii: ",")) }
        hasValue[hasValue.count - 1] = true
        if pretty { newline() }
        output.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { output.append(contentsOf: $0) }
        output.append(UInt8(ascii: "\""))
        output.append(UInt8(ascii: ":"))
        if pretty { output.append(0x20) }
    }

    /// An object key given as text (escaped).
    public mutating func key(text: String) {
        if hasValue[hasValue.count - 1] { output.append(UInt8(ascii: ",")) }
        hasValue[hasValue.count - 1] = true
        if pretty { newline() }
        appendQuoted(Array(text.utf8))
        output.append(UInt8(ascii: ":"))
        if pretty { output.append(0x20) }
    }

    public mutating func null() {
        beforeValue()
        output.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
    }

    public mutating func bool(_ v: Bool) {
        beforeValue()
        output.append(contentsOf: v ? Array("true".utf8) : Array("false".utf8))
    }

    public mutating func int<T: BinaryInteger>(_ v: T) {
        beforeValue()
        appendDecimal(v)
    }

    /// A JSON string from Swift text.
    public mutating func string(_ s: String) {
        beforeValue()
        appendQuoted(Array(s.utf8))
    }

    /// A JSON string from ASCII text.
    public mutating func string(_ s: StaticString) {
        beforeValue()
        output.append(UInt8(ascii: "\""))
        s.withUTF8Buffer { output.append(contentsOf: $0) }
        output.append(UInt8(ascii: "\""))
    }

    /// A binary-safe string under the bytes policy.
    public mutating func bytes(_ b: RedisBytes) {
        beforeValue()
        appendBytes(b.bytes)
    }

    /// A binary-safe string under the bytes policy.
    public mutating func bytes(_ b: [UInt8]) {
        beforeValue()
        appendBytes(b)
    }

    /// `{"b64":"…"}` regardless of the policy.
    public mutating func base64Object(_ b: [UInt8]) {
        beforeValue()
        appendBase64Object(b)
    }

    /// A plain base64 JSON string.
    public mutating func base64String(_ b: [UInt8]) {
        beforeValue()
        output.append(UInt8(ascii: "\""))
        Base64.encode(b, into: &output)
        output.append(UInt8(ascii: "\""))
    }

    /// A double as a JSON string that round-trips: `"inf"`, `"-inf"`, `"nan"`, or the shortest decimal.
    public mutating func score(_ d: Double) {
        beforeValue()
        output.append(UInt8(ascii: "\""))
        if d.isInfinite {
            output.append(contentsOf: d < 0 ? Array("-inf".utf8) : Array("inf".utf8))
        } else if d.isNaN {
            output.append(contentsOf: Array("nan".utf8))
        } else {
            output.append(contentsOf: Array(d.description.utf8))
        }
        output.append(UInt8(ascii: "\""))
    }

    /// A stream ID as `"ms-seq"`.
    public mutating func streamID(_ id: StreamID) {
        beforeValue()
        output.append(UInt8(ascii: "\""))
        appendDecimal(id.ms)
        output.append(UInt8(ascii: "-"))
        appendDecimal(id.seq)
        output.append(UInt8(ascii: "\""))
    }

    /// Appends raw bytes (a separator such as a newline between documents).
    public mutating func raw(_ b: UInt8) { output.append(b) }

    // MARK: Primitives

    @inline(__always)
    private mutating func appendDecimal<T: BinaryInteger>(_ v: T) {
        if v >= 0 && v < 10 {
            output.append(UInt8(ascii: "0") + UInt8(v))
            return
        }
        output.append(contentsOf: Array(String(v).utf8))
    }

    @inline(__always)
    private mutating func appendBytes(_ b: [UInt8]) {
        if policy == .utf8OrBase64 && JSONText.isPrintableUTF8(b) {
            appendQuoted(b)
        } else {
            appendBase64Object(b)
        }
    }

    private mutating func appendBase64Object(_ b: [UInt8]) {
        output.append(contentsOf: [0x7B, 0x22, 0x62, 0x36, 0x34, 0x22, 0x3A, 0x22])  // {"b64":"
        Base64.encode(b, into: &output)
        output.append(contentsOf: [0x22, 0x7D])
    }

    /// Quotes printable text, escaping `"` and `\` (and controls, for text from elsewhere).
    private mutating func appendQuoted(_ b: [UInt8]) {
        output.append(UInt8(ascii: "\""))
        var needsEscape = false
        for c in b where c == 0x22 || c == 0x5C || c < 0x20 {
            needsEscape = true
            break
        }
        if !needsEscape {
            output.append(contentsOf: b)
        } else {
            let hex = Array("0123456789abcdef".utf8)
            for c in b {
                switch c {
                case 0x22: output.append(0x5C); output.append(0x22)
                case 0x5C: output.append(0x5C); output.append(0x5C)
                case 0x0A: output.append(0x5C); output.append(UInt8(ascii: "n"))
                case 0x0D: output.append(0x5C); output.append(UInt8(ascii: "r"))
                case 0x09: output.append(0x5C); output.append(UInt8(ascii: "t"))
                case 0..<0x20:
                    output.append(contentsOf: Array("\\u00".utf8))
                    output.append(hex[Int(c >> 4)])
                    output.append(hex[Int(c & 15)])
                default: output.append(c)
                }
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

/// The "printable UTF-8" rule of the JSON output.
public enum JSONText {
    /// Whether `b` is valid UTF-8 made only of printable characters: no C0/C1 controls, DEL, line or
    /// paragraph separators, format characters, private-use characters, noncharacters, or space
    /// characters other than U+0020. Such strings are written as JSON strings; all others in base64.
    public static func isPrintableUTF8(_ b: [UInt8]) -> Bool {
        b.withUnsafeBufferPointer { p in
            var i = 0
            let n = p.count
            while i < n {
                let c = p[i]
                if c >= 0x20 && c < 0x7F {
                    i += 1
                    continue
                }
                if c < 0x80 { return false }
                // Decode one multi-byte scalar strictly.
                var scalar: UInt32
                var need: Int
                var lower: UInt8 = 0x80
                var upper: UInt8 = 0xBF
                switch c {
                case 0xC2...0xDF: need = 1; scalar = UInt32(c & 0x1F)
                case 0xE0: need = 2; lower = 0xA0; scalar = UInt32(c & 0x0F)
                case 0xE1...0xEC, 0xEE...0xEF: need = 2; scalar = UInt32(c & 0x0F)
                case 0xED: need = 2; upper = 0x9F; scalar = UInt32(c & 0x0F)
                case 0xF0: need = 3; lower = 0x90; scalar = UInt32(c & 0x07)
                case 0xF1...0xF3: need = 3; scalar = UInt32(c & 0x07)
                case 0xF4: need = 3; upper = 0x8F; scalar = UInt32(c & 0x07)
                default: return false
                }
                guard i + need < n else { return false }
                let b1 = p[i + 1]
                guard b1 >= lower && b1 <= upper else { return false }
                scalar = (scalar << 6) | UInt32(b1 & 0x3F)
                if need >= 2 {
                    let b2 = p[i + 2]
                    guard b2 & 0xC0 == 0x80 else { return false }
                    scalar = (scalar << 6) | UInt32(b2 & 0x3F)
                }
                if need == 3 {
                    let b3 = p[i + 3]
                    guard b3 & 0xC0 == 0x80 else { return false }
                    scalar = (scalar << 6) | UInt32(b3 & 0x3F)
                }
                if !isPrintableScalar(scalar) { return false }
                i += need + 1
            }
            return true
        }
    }

    @inline(__always)
    static func isPrintableScalar(_ s: UInt32) -> Bool {
        switch s {
        case 0x80...0xA0, 0xAD: return false  // C1 controls, NBSP, soft hyphen
        case 0x034F, 0x061C, 0x115F, 0x1160, 0x1680, 0x180E: return false
        case 0x2000...0x200F, 0x2028...0x202F, 0x205F...0x206F, 0x3000, 0x3164: return false
        case 0xD800...0xDFFF, 0xE000...0xF8FF: return false  // surrogates, private use
        case 0xFE00...0xFE0F, 0xFEFF, 0xFFA0, 0xFFF0...0xFFFB, 0xFFFE, 0xFFFF: return false
        case 0xE0000...0xE0FFF, 0xF0000...0x10FFFF: return false
        default:
            return s & 0xFFFE != 0xFFFE  // noncharacters U+xFFFE/U+xFFFF
        }
    }
}

/// Base64 (RFC 4648, with padding).
public enum Base64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ input: [UInt8], into out: inout [UInt8]) {
        let a = alphabet
        var i = 0
        let n = input.count
        out.reserveCapacity(out.count + (n + 2) / 3 * 4)
        while i + 3 <= n {
            let v = (UInt32(input[i]) << 16) | (UInt32(input[i + 1]) << 8) | UInt32(input[i + 2])
            out.append(a[Int(v >> 18)])
            out.append(a[Int((v >> 12) & 63)])
            out.append(a[Int((v >> 6) & 63)])
            out.append(a[Int(v & 63)])
            i += 3
        }
        if n - i == 1 {
            let v = UInt32(input[i]) << 16
            out.append(a[Int(v >> 18)])
            out.append(a[Int((v >> 12) & 63)])
            out.append(UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        } else if n - i == 2 {
            let v = (UInt32(input[i]) << 16) | (UInt32(input[i + 1]) << 8)
            out.append(a[Int(v >> 18)])
            out.append(a[Int((v >> 12) & 63)])
            out.append(a[Int((v >> 6) & 63)])
            out.append(UInt8(ascii: "="))
        }
    }

    public static func encode(_ input: [UInt8]) -> String {
        var out: [UInt8] = []
        encode(input, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes standard base64 (padding optional); nil when invalid.
    public static func decode(_ text: String) -> [UInt8]? {
        var table = [Int16](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int16(i) }
        var out: [UInt8] = []
        var acc: UInt32 = 0
        var bits = 0
        for c in text.utf8 {
            if c == UInt8(ascii: "=") { break }
            let v = table[Int(c)]
            if v < 0 { return nil }
            acc = (acc << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }
}
