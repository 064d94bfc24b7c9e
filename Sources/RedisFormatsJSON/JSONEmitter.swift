import RedisFormats

/// How binary-safe strings appear in JSON.
public enum JSONBytesPolicy: String, Sendable, CaseIterable {
    /// A JSON string when the bytes are valid, printable UTF-8, otherwise `{"b64":"…"}`.
    case utf8OrBase64 = "utf8-or-base64"
    /// Always `{"b64":"…"}`.
    case base64
}

/// A streaming JSON byte emitter: values go straight into a growable byte buffer, commas and
/// (optionally) indentation are inserted automatically. No `String` is built for data.
///
/// ```swift
/// let e = JSONEmitter()
/// e.beginObject(); e.key("db"); e.int(0); e.key("key"); e.bytes(RedisBytes("k")); e.endObject()
/// e.text   // {"db":0,"key":"k"}
/// ```
public final class JSONEmitter {
    public let policy: JSONBytesPolicy
    /// Indent nested values by two spaces per level, one value per line.
    public let pretty: Bool

    @exclusivity(unchecked) private var buffer: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private var capacity: Int
    @exclusivity(unchecked) public private(set) var count = 0

    /// Open containers as bit stacks (bit k = container at depth k+1): is an array; has a value.
    @exclusivity(unchecked) private var arrayBits: UInt64 = 0
    @exclusivity(unchecked) private var valueBits: UInt64 = 0
    @exclusivity(unchecked) public private(set) var depth = 0
    /// The deepest nesting supported.
    public static let maximumDepth = 63

    public init(policy: JSONBytesPolicy = .utf8OrBase64, pretty: Bool = false, capacity: Int = 1 << 20) {
        self.policy = policy
        self.pretty = pretty
        self.capacity = max(capacity, 64)
        buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: self.capacity)
    }

    deinit { buffer.deallocate() }

    /// The bytes produced so far.
    public var output: [UInt8] { Array(UnsafeBufferPointer(start: buffer, count: count)) }

    /// The bytes produced so far as text.
    public var text: String { String(decoding: UnsafeBufferPointer(start: buffer, count: count), as: UTF8.self) }

    /// Hands the produced bytes to `sink` and empties the buffer.
    public func drain(into sink: any JSONByteSink) throws {
        guard count > 0 else { return }
        try sink.write(UnsafeRawBufferPointer(start: buffer, count: count))
        count = 0
        drains &+= 1
    }

    /// Empties the buffer and closes every open container.
    public func reset() {
        count = 0
        depth = 0
        arrayBits = 0
        valueBits = 0
    }

    /// How many times the buffer was drained: with `count`, a mark to roll back to.
    @exclusivity(unchecked) public private(set) var drains = 0

    /// A position in the output to come back to with ``rollBack(to:)``.
    public var mark: (drains: Int, count: Int) { (drains, count) }

    /// Drops what was produced after `mark` (all of the buffer when some of it was drained since) and
    /// closes every open container: used to drop a record left half-written by an error.
    public func rollBack(to mark: (drains: Int, count: Int)) {
        count = mark.drains == drains ? min(mark.count, count) : 0
        depth = 0
        arrayBits = 0
        valueBits = 0
    }


    // MARK: Buffer

    @inline(__always) private func reserve(_ n: Int) {
        if count + n > capacity { grow(count + n) }
    }

    private func grow(_ needed: Int) {
        var c = capacity * 2
        while c < needed { c *= 2 }
        let b = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        b.update(from: buffer, count: count)
        buffer.deallocate()
        buffer = b
        capacity = c
    }

    @inline(__always) private func put(_ b: UInt8) {
        reserve(1)
        buffer[count] = b
        count += 1
    }

    @inline(__always) private func put(_ p: UnsafeRawBufferPointer) {
        reserve(p.count)
        if p.count > 0 { (buffer + count).update(from: p.baseAddress!.assumingMemoryBound(to: UInt8.self), count: p.count) }
        count += p.count
    }

    @inline(__always) private func put(_ s: StaticString) {
        s.withUTF8Buffer { put(UnsafeRawBufferPointer($0)) }
    }

    // MARK: Structure

    @inline(__always) private func newline() {
        put(UInt8(ascii: "\n"))
        reserve(depth * 2)
        for _ in 0..<depth * 2 {
            buffer[count] = 0x20
            count += 1
        }
    }

    @inline(__always) private var topBit: UInt64 { depth == 0 ? 0 : 1 << UInt64(depth - 1) }

    /// Called before every value: a comma in arrays after the first element.
    @inline(__always) private func beforeValue() {
        let bit = topBit
        guard arrayBits & bit != 0 else { return }
        if valueBits & bit != 0 { put(UInt8(ascii: ",")) } else { valueBits |= bit }
        if pretty { newline() }
    }

    @inline(__always) private func push(array: Bool) {
        precondition(depth < Self.maximumDepth, "JSON nesting deeper than \(Self.maximumDepth)")
        depth += 1
        let bit = topBit
        if array { arrayBits |= bit } else { arrayBits &= ~bit }
        valueBits &= ~bit
    }

    /// Pops a container; returns whether it held a value.
    @inline(__always) private func pop() -> Bool {
        let had = valueBits & topBit != 0
        depth -= 1
        return had
    }

    public func beginObject() {
        beforeValue()
        put(UInt8(ascii: "{"))
        push(array: false)
    }

    public func endObject() {
        let had = pop()
        if pretty && had { newline() }
        put(UInt8(ascii: "}"))
    }

    public func beginArray() {
        beforeValue()
        put(UInt8(ascii: "["))
        push(array: true)
    }

    public func endArray() {
        let had = pop()
        if pretty && had { newline() }
        put(UInt8(ascii: "]"))
    }

    @inline(__always) private func beforeKey() {
        let bit = topBit
        if valueBits & bit != 0 { put(UInt8(ascii: ",")) } else { valueBits |= bit }
        if pretty { newline() }
    }

    /// An object key (ASCII, no escaping needed); the value must follow.
    public func key(_ name: StaticString) {
        beforeKey()
        put(UInt8(ascii: "\""))
        put(name)
        put(pretty ? "\": " : "\":")
    }

    /// An object key given as text (escaped).
    public func key(text: String) {
        beforeKey()
        var t = text
        t.withUTF8 { quoted(UnsafeRawBufferPointer($0)) }
        put(pretty ? ": " : ":")
    }

    // MARK: Values

    public func null() {
        beforeValue()
        put("null")
    }

    public func bool(_ v: Bool) {
        beforeValue()
        put(v ? "true" : "false")
    }

    public func int<T: BinaryInteger>(_ v: T) {
        beforeValue()
        if let x = Int64(exactly: v) {
            decimal(x)
        } else if let u = UInt64(exactly: v) {
            unsignedDecimal(u)
        } else {
            var t = String(v)
            t.withUTF8 { put(UnsafeRawBufferPointer($0)) }
        }
    }

    public func int(_ v: Int64) {
        beforeValue()
        decimal(v)
    }

    /// An integer as a JSON string (`"42"`): how an integer-encoded Redis string is printed.
    public func quotedInteger(_ v: Int64) {
        beforeValue()
        reserve(24)
        buffer[count] = UInt8(ascii: "\"")
        count += 1
        decimal(v)
        buffer[count] = UInt8(ascii: "\"")
        count += 1
    }

    /// A JSON string from Swift text.
    public func string(_ s: String) {
        beforeValue()
        var t = s
        t.withUTF8 { quoted(UnsafeRawBufferPointer($0)) }
    }

    /// A JSON string from ASCII text.
    public func string(_ s: StaticString) {
        beforeValue()
        put(UInt8(ascii: "\""))
        put(s)
        put(UInt8(ascii: "\""))
    }

    /// A binary-safe string under the bytes policy.
    public func bytes(_ b: RedisBytes) {
        beforeValue()
        b.bytes.withUnsafeBytes { binarySafe($0) }
    }

    /// A binary-safe string under the bytes policy.
    public func bytes(_ b: [UInt8]) {
        beforeValue()
        b.withUnsafeBytes { binarySafe($0) }
    }

    /// Borrowed binary-safe bytes under the bytes policy.
    public func bytes(_ s: RawSpan) {
        beforeValue()
        s.withUnsafeBytes { binarySafe($0) }
    }

    /// `{"b64":"…"}` regardless of the policy.
    public func base64Object(_ b: [UInt8]) {
        beforeValue()
        b.withUnsafeBytes { base64Object($0) }
    }

    /// A plain base64 JSON string.
    public func base64String(_ b: [UInt8]) {
        beforeValue()
        put(UInt8(ascii: "\""))
        b.withUnsafeBytes { base64($0) }
        put(UInt8(ascii: "\""))
    }

    /// A double as a JSON string that round-trips: `"inf"`, `"-inf"`, `"nan"`, or the shortest decimal
    /// (Swift's `description`, the same text as Python's `repr`).
    public func score(_ d: Double) {
        beforeValue()
        put(UInt8(ascii: "\""))
        if d.isInfinite {
            put(d < 0 ? "-inf" : "inf")
        } else if d.isNaN {
            put("nan")
        } else if d == d.rounded(), abs(d) < 1e15, !(d == 0 && d.sign == .minus) {
            decimal(Int64(d))
            put(".0")
        } else {
            var t = d.description
            t.withUTF8 { put(UnsafeRawBufferPointer($0)) }
        }
        put(UInt8(ascii: "\""))
    }

    /// A stream ID as `"ms-seq"`.
    public func streamID(_ id: StreamID) {
        beforeValue()
        put(UInt8(ascii: "\""))
        unsignedDecimal(id.ms)
        put(UInt8(ascii: "-"))
        unsignedDecimal(id.seq)
        put(UInt8(ascii: "\""))
    }

    /// Appends a raw byte (a separator such as a newline between documents).
    public func raw(_ b: UInt8) { put(b) }

    // MARK: Primitives

    @inline(__always) private func decimal(_ v: Int64) {
        if v < 0 {
            put(UInt8(ascii: "-"))
            unsignedDecimal(v == .min ? UInt64(Int64.max) + 1 : UInt64(-v))
        } else {
            unsignedDecimal(UInt64(v))
        }
    }

    @inline(__always) private func unsignedDecimal(_ value: UInt64) {
        reserve(20)
        if value < 10 {
            buffer[count] = UInt8(ascii: "0") + UInt8(value)
            count += 1
            return
        }
        var digits = 0
        var t = value
        while t > 0 {
            digits += 1
            t /= 10
        }
        var v = value
        var i = count + digits - 1
        while v > 0 {
            buffer[i] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
            i -= 1
        }
        count += digits
    }

    /// Whether 8 bytes are all printable ASCII other than `"` and `\` (SWAR: no byte ≥ 0x80, < 0x20,
    /// 0x7F, 0x22 or 0x5C; the zero-byte tests may report false positives, which only slow things).
    @inline(__always) private static func isPlainASCII(_ w: UInt64) -> Bool { specialBytes(w) == 0 }

    /// A mask with bit 7 set in each byte that is ≥ 0x80, < 0x20, 0x7F, 0x22 or 0x5C. Bits above a true
    /// hit may be false positives, but the lowest set bit always marks the first special byte.
    @inline(__always) private static func specialBytes(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZero(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }
        return (w & highs) | ((w &- 0x2020_2020_2020_2020) & ~w & highs) | hasZero(w ^ 0x7F7F_7F7F_7F7F_7F7F)
            | hasZero(w ^ 0x2222_2222_2222_2222) | hasZero(w ^ 0x5C5C_5C5C_5C5C_5C5C)
    }

    /// Writes bytes as a JSON string when printable UTF-8 (escaping `"` and `\`), else as base64.
    @inline(__always) private func binarySafe(_ p: UnsafeRawBufferPointer) {
        if policy == .base64 {
            base64Object(p)
            return
        }
        // Fast path: printable ASCII, 8 bytes at a time, escaping quotes and backslashes inline.
        let n = p.count
        reserve(2 * n + 10)
        let start = count
        buffer[start] = UInt8(ascii: "\"")
        var o = start &+ 1
        var i = 0
        let raw = UnsafeMutableRawPointer(buffer)
        if n < 8 {
            // Short: gather into one word padded with spaces, test once, store 8 bytes (the tail is scratch).
            var w: UInt64 = 0x2020_2020_2020_2020
            withUnsafeMutableBytes(of: &w) { wb in
                for k in 0..<n { wb[k] = p[k] }
            }
            if Self.isPlainASCII(w) {
                raw.storeBytes(of: w, toByteOffset: o, as: UInt64.self)
                o &+= n
                buffer[o] = UInt8(ascii: "\"")
                count = o &+ 1
                return
            }
        } else {
            while n &- i >= 8 {
                let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                guard Self.isPlainASCII(w) else { break }
                raw.storeBytes(of: w, toByteOffset: o, as: UInt64.self)
                o &+= 8
                i &+= 8
            }
            if i == n || (n &- i < 8 && Self.isPlainASCII(p.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self))) {
                // The last (overlapping) word is plain too: no escapes were needed anywhere.
                let w = p.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
                raw.storeBytes(of: w, toByteOffset: start &+ 1 &+ n &- 8, as: UInt64.self)
                o = start &+ 1 &+ n
                buffer[o] = UInt8(ascii: "\"")
                count = o &+ 1
                return
            }
        }
        while i < n {
            if n &- i >= 8 {
                let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                raw.storeBytes(of: w, toByteOffset: o, as: UInt64.self)
                let special = Self.specialBytes(w)
                if special == 0 {
                    o &+= 8
                    i &+= 8
                    continue
                }
                // Keep the plain bytes before the first special one.
                let k = special.trailingZeroBitCount >> 3
                o &+= k
                i &+= k
            }
            let c = p[i]
            guard c >= 0x20 && c < 0x7F else {
                // Non-ASCII or a control character: decide on the whole string.
                count = start
                if JSONText.isPrintableUTF8(p) { quoted(p) } else { base64Object(p) }
                return
            }
            if c == 0x22 || c == 0x5C {
                buffer[o] = 0x5C
                o &+= 1
            }
            buffer[o] = c
            o &+= 1
            i &+= 1
        }
        buffer[o] = UInt8(ascii: "\"")
        count = o &+ 1
    }

    /// Quotes text, escaping `"`, `\` and control characters.
    private func quoted(_ p: UnsafeRawBufferPointer) {
        reserve(p.count * 6 + 2)
        buffer[count] = UInt8(ascii: "\"")
        count += 1
        let hex: StaticString = "0123456789abcdef"
        for c in p {
            switch c {
            case 0x22, 0x5C:
                buffer[count] = 0x5C
                buffer[count + 1] = c
                count += 2
            case 0x0A:
                buffer[count] = 0x5C
                buffer[count + 1] = UInt8(ascii: "n")
                count += 2
            case 0x0D:
                buffer[count] = 0x5C
                buffer[count + 1] = UInt8(ascii: "r")
                count += 2
            case 0x09:
                buffer[count] = 0x5C
                buffer[count + 1] = UInt8(ascii: "t")
                count += 2
            case 0..<0x20:
                hex.withUTF8Buffer { h in
                    buffer[count] = 0x5C
                    buffer[count + 1] = UInt8(ascii: "u")
                    buffer[count + 2] = UInt8(ascii: "0")
                    buffer[count + 3] = UInt8(ascii: "0")
                    buffer[count + 4] = h[Int(c >> 4)]
                    buffer[count + 5] = h[Int(c & 15)]
                }
                count += 6
            default:
                buffer[count] = c
                count += 1
            }
        }
        buffer[count] = UInt8(ascii: "\"")
        count += 1
    }

    private func base64Object(_ p: UnsafeRawBufferPointer) {
        put("{\"b64\":\"")
        base64(p)
        put("\"}")
    }

    private func base64(_ p: UnsafeRawBufferPointer) {
        reserve((p.count + 2) / 3 * 4)
        count += Base64.encode(p, into: buffer + count)
    }
}

/// The "printable UTF-8" rule of the JSON output.
public enum JSONText {
    /// Whether `b` is valid UTF-8 made only of printable characters: no C0/C1 controls, DEL, line or
    /// paragraph separators, format characters, private-use characters, noncharacters, or space
    /// characters other than U+0020. Such strings are written as JSON strings; all others in base64.
    public static func isPrintableUTF8(_ b: [UInt8]) -> Bool {
        b.withUnsafeBytes { isPrintableUTF8($0) }
    }

    /// Whether raw bytes are printable UTF-8 (see ``isPrintableUTF8(_:)-([UInt8])``).
    public static func isPrintableUTF8(_ p: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = p.count
        while i < n {
            let c = p[i]
            if c >= 0x20 && c < 0x7F {
                i += 1
                continue
            }
            if c < 0x80 { return false }
            var scalar: UInt32
            let need: Int
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

    @inline(__always)
    static func isPrintableScalar(_ s: UInt32) -> Bool {
        switch s {
        case 0x80...0xA0, 0xAD: return false  // C1 controls, NBSP, soft hyphen
        case 0x034F, 0x061C, 0x115F, 0x1160, 0x1680, 0x180E: return false
        case 0x2000...0x200F, 0x2028...0x202F, 0x205F...0x206F, 0x3000, 0x3164: return false
        case 0xD800...0xDFFF, 0xE000...0xF8FF: return false  // surrogates, private use
        case 0xFE00...0xFE0F, 0xFEFF, 0xFFA0, 0xFFF0...0xFFFB: return false
        case 0xE0000...0xE0FFF, 0xF0000...0x10FFFF: return false
        default:
            return s & 0xFFFE != 0xFFFE  // noncharacters U+xFFFE/U+xFFFF
        }
    }
}

/// Base64 (RFC 4648, with padding).
public enum Base64 {
    static let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    /// Encodes into `out`, which must have room for `(n + 2) / 3 * 4` bytes; returns the bytes written.
    public static func encode(_ input: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>) -> Int {
        alphabet.withUTF8Buffer { a in
            var i = 0
            var o = 0
            let n = input.count
            while i + 3 <= n {
                let v = (UInt32(input[i]) << 16) | (UInt32(input[i + 1]) << 8) | UInt32(input[i + 2])
                out[o] = a[Int(v >> 18)]
                out[o + 1] = a[Int((v >> 12) & 63)]
                out[o + 2] = a[Int((v >> 6) & 63)]
                out[o + 3] = a[Int(v & 63)]
                i += 3
                o += 4
            }
            if n - i == 1 {
                let v = UInt32(input[i]) << 16
                out[o] = a[Int(v >> 18)]
                out[o + 1] = a[Int((v >> 12) & 63)]
                out[o + 2] = UInt8(ascii: "=")
                out[o + 3] = UInt8(ascii: "=")
                o += 4
            } else if n - i == 2 {
                let v = (UInt32(input[i]) << 16) | (UInt32(input[i + 1]) << 8)
                out[o] = a[Int(v >> 18)]
                out[o + 1] = a[Int((v >> 12) & 63)]
                out[o + 2] = a[Int((v >> 6) & 63)]
                out[o + 3] = UInt8(ascii: "=")
                o += 4
            }
            return o
        }
    }

    public static func encode(_ input: [UInt8]) -> String {
        var out = [UInt8](repeating: 0, count: (input.count + 2) / 3 * 4)
        let n = input.withUnsafeBytes { src in out.withUnsafeMutableBufferPointer { encode(src, into: $0.baseAddress!) } }
        return String(decoding: out[0..<n], as: UTF8.self)
    }

    /// Decodes standard base64 (padding optional); nil when invalid.
    public static func decode(_ text: String) -> [UInt8]? {
        var table = [Int16](repeating: -1, count: 256)
        alphabet.withUTF8Buffer { a in for (i, c) in a.enumerated() { table[Int(c)] = Int16(i) } }
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
