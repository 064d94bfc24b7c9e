import CLZF
import CLZFDecode

/// LZF as Redis writes it: compression through liblzf (`lzf_c.c`), so rdbkit's compressed strings are the
/// server's bytes; decoding through `CLZFDecode`, which gives `lzf_decompress`'s verdicts (`lzf_d.c`, checked
/// against liblzf by the LZF fuzz target and the unit tests) and copies in 16-byte blocks.
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
        let n = unsafe rdbkit_lzf_decompress(
            input.baseAddress!.assumingMemoryBound(to: UInt8.self), input.count,
            output.baseAddress!.assumingMemoryBound(to: UInt8.self), output.count)
        return n == output.count
    }

    /// liblzf's own `lzf_decompress`, the reference the decoder above is tested against.
    static func decompressWithLiblzf(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
        guard input.count > 0, input.count <= Int(UInt32.max), output.count > 0, output.count <= Int(UInt32.max) else {
            return input.count == 0 && output.count == 0
        }
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
        return unsafe rdbkit_lzf_validate(input.baseAddress!.assumingMemoryBound(to: UInt8.self), input.count, length) == 1
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
