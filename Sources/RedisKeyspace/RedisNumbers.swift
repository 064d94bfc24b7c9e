import RedisFormats

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Numbers as a Redis server parses and prints them (`util.c`: `string2d`, `string2ld`, `ld2string`, `d2string`).
public enum RedisNumbers {
    /// `string2d`: `strtod` over the whole argument; no leading space, nothing after the number, never NaN.
    public static func parseDouble(_ b: [UInt8]) -> Double? {
        guard !b.isEmpty, b.count < 5120, !isSpace(b[0]) else { return nil }
        var z = b
        z.append(0)
        errno = 0
        var end: UnsafeMutablePointer<CChar>?
        let v: Double = z.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { c in
                let r = strtod(c.baseAddress!, &end)
                guard end! - UnsafeMutablePointer(mutating: c.baseAddress!) == b.count else { return .nan }
                return r
            }
        }
        if v.isNaN { return nil }
        if errno == ERANGE && (v.isInfinite || v == 0) { return nil }
        return v
    }

    #if arch(x86_64) || arch(i386)
        public typealias LongDouble = Float80
    #else
        public typealias LongDouble = Double
    #endif

    /// `string2ld`: `strtold` over the whole argument, as INCRBYFLOAT and HINCRBYFLOAT read numbers.
    public static func parseLongDouble(_ b: [UInt8]) -> LongDouble? {
        guard !b.isEmpty, b.count < 5120, !isSpace(b[0]) else { return nil }
        var z = b
        z.append(0)
        errno = 0
        var ok = false
        let v: LongDouble = z.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { c in
                var end: UnsafeMutablePointer<CChar>?
                #if arch(x86_64) || arch(i386)
                    let r = strtold(c.baseAddress!, &end)
                #else
                    let r = strtod(c.baseAddress!, &end)
                #endif
                ok = end! - UnsafeMutablePointer(mutating: c.baseAddress!) == b.count
                return r
            }
        }
        guard ok, !v.isNaN, errno != ERANGE else { return nil }
        return v
    }

    /// `ld2string(…, LD_STR_HUMAN)`: `%.17Lf` without trailing zeros (and `-0` as `0`): what INCRBYFLOAT stores.
    public static func formatHuman(_ v: LongDouble) -> [UInt8]? {
        guard v.isFinite else { return nil }
        var buf = [CChar](repeating: 0, count: 5200)
        let n = buf.withUnsafeMutableBufferPointer { p in
            withVaList([v]) { vsnprintf(p.baseAddress!, p.count, "%.17Lf", $0) }
        }
        guard n > 0, n < buf.count else { return nil }
        var out = buf[0..<Int(n)].map { UInt8(bitPattern: $0) }
        if out.contains(UInt8(ascii: ".")) {
            while out.last == UInt8(ascii: "0") { out.removeLast() }
            if out.last == UInt8(ascii: ".") { out.removeLast() }
        }
        if out == Array("-0".utf8) { out = [UInt8(ascii: "0")] }
        return out
    }

    /// How Redis 7.0 replies with a double (`addReplyDouble`: `%.17g`; `inf`/`-inf`).
    public static func formatReply(_ d: Double) -> [UInt8] {
        if d.isInfinite { return Array((d > 0 ? "inf" : "-inf").utf8) }
        var buf = [CChar](repeating: 0, count: 64)
        let n = buf.withUnsafeMutableBufferPointer { p in
            withVaList([d]) { vsnprintf(p.baseAddress!, p.count, "%.17g", $0) }
        }
        return buf[0..<Int(n)].map { UInt8(bitPattern: $0) }
    }

    /// Shortest text that reads back as `d` (how scores are stored as text in a listpack, `d2string` in 7.2+).
    public static func formatShortest(_ d: Double) -> [UInt8] {
        if d.isInfinite { return Array((d > 0 ? "inf" : "-inf").utf8) }
        if d == d.rounded(), abs(d) < 1e17 { return Array(String(Int64(d)).utf8) }
        return Array(d.description.utf8)
    }

    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
}
