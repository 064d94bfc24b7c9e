/// A bounds-checked forward reader over a borrowed blob (a listpack, ziplist, intset or zipmap).
/// Every read checks the bytes left and throws ``BlobFailure`` with the position in the blob.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    var position: Int

    @inline(__always) init(_ bytes: UnsafeRawBufferPointer, position: Int = 0) {
        unsafe self.bytes = bytes
        self.position = position
    }

    @inline(__always) var count: Int { bytes.count }
    @inline(__always) var remaining: Int { bytes.count - position }

    @inline(__always) func need(_ n: Int, _ what: @autoclosure () -> String) throws(BlobFailure) {
        guard n >= 0, bytes.count - position >= n else {
            throw BlobFailure(message: "\(what()) runs past the end of the blob", position: position)
        }
    }

    @inline(__always) func byte(at i: Int) -> UInt8 { unsafe bytes[i] }

    @inline(__always) mutating func readByte(_ what: @autoclosure () -> String) throws(BlobFailure) -> UInt8 {
        try need(1, what())
        let b = unsafe bytes[position]
        position += 1
        return b
    }

    @inline(__always) func peekByte() -> UInt8? {
        position < bytes.count ? unsafe bytes[position] : nil
    }

    @inline(__always) func uint16LE(at i: Int) -> UInt16 {
        unsafe UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt16.self))
    }
    @inline(__always) func uint32LE(at i: Int) -> UInt32 {
        unsafe UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self))
    }
    @inline(__always) func uint32BE(at i: Int) -> UInt32 {
        unsafe UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self))
    }
    @inline(__always) func uint64LE(at i: Int) -> UInt64 {
        unsafe UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
    }
    @inline(__always) func uint64BE(at i: Int) -> UInt64 {
        unsafe UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
    }
    /// Signed little-endian integer of 1...8 bytes at `i`.
    @inline(__always) func intLE(at i: Int, width: Int) -> Int64 {
        var v: UInt64 = 0
        for k in 0..<width { v |= UInt64(unsafe bytes[i + k]) << (8 * UInt64(k)) }
        let shift = UInt64(64 - 8 * width)
        return Int64(bitPattern: v << shift) >> Int64(shift)
    }

    /// A sub-range of the blob, borrowed.
    @inline(__always) func slice(_ start: Int, _ length: Int) -> UnsafeRawBufferPointer {
        unsafe UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)])
    }
}

/// Borrowed-bytes helpers shared by decoders.
enum RawBytes {
    /// Copies borrowed bytes into a ``RedisBytes``.
    @inline(__always) static func copy(_ p: UnsafeRawBufferPointer) -> RedisBytes {
        RedisBytes(unsafe Array(p))
    }

    /// Parses a double the way `strtod` does for a score stored as text; nil if not all bytes are used.
    static func parseDouble(_ p: UnsafeRawBufferPointer) -> Double? {
        guard p.count > 0, p.count < 256 else { return nil }
        return unsafe withUnsafeTemporaryAllocation(of: CChar.self, capacity: p.count + 1) { buf in
            for i in 0..<p.count { unsafe buf[i] = CChar(bitPattern: p[i]) }
            unsafe buf[p.count] = 0
            var end: UnsafeMutablePointer<CChar>? = nil
            let v = unsafe strtod(buf.baseAddress!, &end)
            guard let end = unsafe end, unsafe end - buf.baseAddress! == p.count else { return nil }
            return v
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
