import CLZF

/// LZF through liblzf, as Redis compresses strings (`lzf_c.c`, `lzf_d.c`).
public enum LZF {
    /// The most output bytes one input byte can produce: a 3-byte back-reference copies up to 264 bytes.
    public static let maximumExpansion = 88

    /// Decompresses `input` into exactly `output.count` bytes.
    /// - Returns: false when the data is corrupt or does not decompress to exactly `output.count` bytes.
    static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
        guard input.count > 0, input.count <= Int(UInt32.max), output.count <= Int(UInt32.max) else {
            return input.count == 0 && output.count == 0
        }
        if output.count == 0 { return false }
        let n = unsafe lzf_decompress(input.baseAddress, UInt32(input.count), output.baseAddress, UInt32(output.count))
        return Int(n) == output.count
    }

    /// Whether `input` decompresses to exactly `length` bytes, found without producing them: the stream
    /// is walked with every bound `lzf_decompress` checks (a literal run or a back-reference past the
    /// output's end, a back-reference before its start, input ending inside an item), so it answers as
    /// ``decompress(_:into:)`` does at a fraction of the cost when the bytes themselves are not needed.
    static func validate(_ input: UnsafeRawBufferPointer, length: Int) -> Bool {
        guard input.count > 0, input.count <= Int(UInt32.max), length <= Int(UInt32.max) else {
            return input.count == 0 && length == 0
        }
        if length == 0 { return false }
        let end = input.count
        var ip = 0
        var op = 0
        while ip < end {
            let ctrl = Int(unsafe input[ip])
            ip += 1
            if ctrl < 32 {
                let run = ctrl + 1
                if op + run > length || ip + run > end { return false }
                ip += run
                op += run
            } else {
                var run = ctrl >> 5
                var back = ((ctrl & 0x1F) << 8) + 1
                if ip >= end { return false }
                if run == 7 {
                    run += Int(unsafe input[ip])
                    ip += 1
                    if ip >= end { return false }
                }
                back += Int(unsafe input[ip])
                ip += 1
                if op + run + 2 > length || back > op { return false }
                op += run + 2
            }
        }
        return op == length
    }

    /// Decompresses bytes; nil when corrupt or not exactly `uncompressedLength` bytes long.
    public static func decompress(_ input: [UInt8], uncompressedLength: Int) -> [UInt8]? {
        guard uncompressedLength >= 0, uncompressedLength <= input.count * maximumExpansion else { return nil }
        var ok = false
        let out = unsafe [UInt8](unsafeUninitializedCapacity: uncompressedLength) { buf, count in
            ok = unsafe input.withUnsafeBytes { src in
                unsafe decompress(src, into: UnsafeMutableRawBufferPointer(buf))
            }
            count = ok ? uncompressedLength : 0
        }
        return ok ? out : nil
    }

    /// Compresses bytes; nil when the output would not be smaller than `maximumOutput` bytes
    /// (Redis keeps the raw string then).
    public static func compress(_ input: [UInt8], maximumOutput: Int) -> [UInt8]? {
        guard input.count > 0, maximumOutput > 0 else { return nil }
        var produced = 0
        let out = unsafe [UInt8](unsafeUninitializedCapacity: maximumOutput) { buf, count in
            produced = unsafe input.withUnsafeBytes { src in
                Int(unsafe lzf_compress(src.baseAddress, UInt32(src.count), buf.baseAddress, UInt32(maximumOutput)))
            }
            count = produced
        }
        return produced > 0 ? out : nil
    }
}
