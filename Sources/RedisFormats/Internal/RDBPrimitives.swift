/// A reusable buffer for decoded bytes (LZF output, integer text) lent to decoders.
final class ScratchBuffer {
    private(set) var storage: UnsafeMutableRawBufferPointer

    init(capacity: Int = 64 * 1024) {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { unsafe storage.deallocate() }

    /// A buffer of at least `count` bytes (contents undefined).
    func reserve(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if storage.count < count {
            unsafe storage.deallocate()
            storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, storage.count * 2), alignment: 16)
        }
        return unsafe UnsafeMutableRawBufferPointer(rebasing: storage[0..<count])
    }
}

/// How an RDB string is stored.
enum RDBStringHeader {
    case raw(length: Int)
    case int(Int64)
    case lzf(compressed: Int, uncompressed: Int)
}

/// RDB length and string primitives (`rdbLoadLen`, `rdbGenericLoadStringObject`). Lengths are big-endian.
extension InputWindow {
    /// Mirrors `rdbLoadLenByRef`: a length, or (with `isEncoded`) a special string encoding number.
    ///
    /// ```
    /// 00|XXXXXX                 6-bit length
    /// 01|XXXXXX XXXXXXXX        14-bit length, big-endian
    /// 10000000 [4 bytes BE]     32-bit length
    /// 10000001 [8 bytes BE]     64-bit length
    /// 11|XXXXXX                 encoded string, XXXXXX = encoding
    /// ```
    @inline(__always)
    func readLengthOrEncoding() throws(ParseFailure) -> (value: UInt64, isEncoded: Bool) {
        let start = offset
        let b = try readByte()
        switch b >> 6 {
        case 0: return (UInt64(b & 0x3F), false)
        case 1: return ((UInt64(b & 0x3F) << 8) | UInt64(try readByte()), false)
        case 3: return (UInt64(b & 0x3F), true)
        default:
            if b == 0x80 { return (UInt64(try readUInt32BE()), false) }
            if b == 0x81 { return (try readUInt64BE(), false) }
            throw .corrupt("unknown length encoding \(hexByte(b))", at: start)
        }
    }

    /// A plain length (an encoded-string marker here is corruption).
    @inline(__always)
    func readLength() throws(ParseFailure) -> UInt64 {
        let start = offset
        let (v, enc) = try readLengthOrEncoding()
        if enc { throw .corrupt("expected a length, found a string encoding marker", at: start) }
        return v
    }

    /// A length that must fit an `Int` index/count.
    func readCount() throws(ParseFailure) -> UInt64 {
        try readLength()
    }

    /// The header of an RDB string, with its declared sizes checked against `maximumLength`.
    @inline(__always)
    func readStringHeader(maximumLength: Int) throws(ParseFailure) -> RDBStringHeader {
        let start = offset
        let (v, enc) = try readLengthOrEncoding()
        if !enc {
            guard v <= UInt64(maximumLength) else {
                throw ParseFailure(
                    code: .limitExceeded, message: "string length \(v) exceeds the limit of \(maximumLength) bytes",
                    offset: start)
            }
            return .raw(length: Int(v))
        }
        switch v {
        case 0: return .int(Int64(Int8(bitPattern: try readByte())))
        case 1: return .int(Int64(Int16(bitPattern: try readUInt16LE())))
        case 2: return .int(Int64(Int32(bitPattern: try readUInt32LE())))
        case 3:
            let clen = try readLength()
            let ulen = try readLength()
            guard ulen <= UInt64(maximumLength) else {
                throw ParseFailure(
                    code: .limitExceeded,
                    message: "LZF string of \(ulen) bytes exceeds the limit of \(maximumLength) bytes", offset: start)
            }
            guard clen > 0, clen <= UInt64(maximumLength) else {
                throw .corrupt("LZF string with an invalid compressed length \(clen)", at: start)
            }
            guard ulen > 0, (ulen - 1) / UInt64(LZF.maximumExpansion) < clen else {
                throw .corrupt("LZF string cannot expand \(clen) bytes to \(ulen)", at: start)
            }
            return .lzf(compressed: Int(clen), uncompressed: Int(ulen))
        default:
            throw .corrupt("unknown string encoding \(v)", at: start)
        }
    }

    /// Reads a whole string into a new array.
    func readString(maximumLength: Int) throws(ParseFailure) -> [UInt8] {
        let start = offset
        switch try readStringHeader(maximumLength: maximumLength) {
        case .raw(let n):
            return try readBytes(n)
        case .int(let v):
            return RedisInteger.text(v)
        case .lzf(let clen, let ulen):
            try require(clen)
            var ok = false
            let result = try withBytes(clen) { (src: UnsafeRawBufferPointer) -> [UInt8] in
                unsafe [UInt8](unsafeUninitializedCapacity: ulen) { buf, count in
                    ok = unsafe LZF.decompress(src, into: UnsafeMutableRawBufferPointer(buf))
                    count = ok ? ulen : 0
                }
            }
            guard case .success(let out) = result, ok else {
                throw .corrupt("invalid LZF data (expected \(ulen) bytes from \(clen))", at: start)
            }
            return out
        }
    }

    /// Skips a string without decompressing it.
    @inline(__always)
    func skipString(maximumLength: Int) throws(ParseFailure) {
        switch try readStringHeader(maximumLength: maximumLength) {
        case .raw(let n): try skip(Int64(n))
        case .int: break
        case .lzf(let clen, _): try skip(Int64(clen))
        }
    }

    /// Reads a string and checks it decodes (LZF) without keeping it.
    /// - Returns: the decoded length.
    @discardableResult
    func validateString(maximumLength: Int, scratch: ScratchBuffer) throws(ParseFailure) -> Int {
        let start = offset
        switch try readStringHeader(maximumLength: maximumLength) {
        case .raw(let n):
            try skip(Int64(n))
            return n
        case .int(let v):
            return RedisInteger.text(v).count
        case .lzf(let clen, let ulen):
            // The stream is walked, not decompressed: same verdict, no output written.
            let r = try withBytes(clen) { (src: UnsafeRawBufferPointer) -> Bool in unsafe LZF.validate(src, length: ulen) }
            guard case .success(true) = r else {
                throw .corrupt("invalid LZF data (expected \(ulen) bytes from \(clen))", at: start)
            }
            return ulen
        }
    }

    /// Lends the decoded bytes of a string to `body`: raw bytes straight from the window, LZF output
    /// and integer text from `scratch`. A ``BlobFailure`` thrown by `body` becomes a ``ParseFailure``
    /// at the string's offset, with the position inside the decoded bytes.
    func withString<R>(
        maximumLength: Int, scratch: ScratchBuffer, _ body: (UnsafeRawBufferPointer) throws(BlobFailure) -> R
    ) throws(ParseFailure) -> R {
        let start = offset
        let result: Result<R, BlobFailure>
        switch try readStringHeader(maximumLength: maximumLength) {
        case .raw(let n):
            result = try withBytes(n, body)
        case .int(let v):
            let text = RedisInteger.text(v)
            let out = scratch.reserve(text.count)
            unsafe text.withUnsafeBytes { unsafe out.copyMemory(from: $0) }
            do { result = .success(try unsafe body(UnsafeRawBufferPointer(out))) } catch { result = .failure(error) }
        case .lzf(let clen, let ulen):
            // The compressed bytes must be there before anything is sized by the declared length.
            try require(clen)
            let out = scratch.reserve(ulen)
            let r = try withBytes(clen) { (src: UnsafeRawBufferPointer) -> Bool in unsafe LZF.decompress(src, into: out) }
            guard case .success(true) = r else {
                throw .corrupt("invalid LZF data (expected \(ulen) bytes from \(clen))", at: start)
            }
            lendingLZFLength = clen
            defer { lendingLZFLength = nil }
            do { result = .success(try unsafe body(UnsafeRawBufferPointer(out))) } catch { result = .failure(error) }
        }
        switch result {
        case .success(let v): return v
        case .failure(let f):
            throw ParseFailure(code: f.code, message: f.message, offset: start, blobOffset: f.position)
        }
    }
}
