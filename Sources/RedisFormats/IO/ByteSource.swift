#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib

/// Where a reader's bytes come from: a file, a pipe, a gzip stream, memory, or a socket.
///
/// Readers pull bytes in chunks into their own window; a source never needs to hold more than a chunk.
public protocol ByteSource: AnyObject {
    /// Reads at most `buffer.count` bytes into `buffer`; returns 0 at the end of the input.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(RDBError) -> Int
    /// The number of bytes the whole input holds, when known (regular files). Readers use it to reject a
    /// declared length that runs past the end before allocating anything.
    var knownSize: Int64? { get }
    /// A name for error messages (the path).
    var name: String { get }
}

/// An in-memory source, also used by tests to deliver input in chunks of a chosen size.
public final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0
    private let chunkLimit: Int
    public let name: String

    /// - Parameter chunkLimit: the most bytes one `read` returns (to test chunk boundaries).
    public init(_ bytes: [UInt8], chunkLimit: Int = .max, name: String = "<memory>") {
        self.bytes = bytes
        self.chunkLimit = max(1, chunkLimit)
        self.name = name
    }

    public var knownSize: Int64? { Int64(bytes.count) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(RDBError) -> Int {
        let n = min(buffer.count, chunkLimit, bytes.count - position)
        guard n > 0 else { return 0 }
        unsafe bytes.withUnsafeBytes { src in
            unsafe buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
        }
        position += n
        return n
    }
}

/// A file (or standard input, path `-`) read with `read(2)`.
public final class FileSource: ByteSource {
    let fd: Int32
    private let ownsDescriptor: Bool
    public let name: String
    public let knownSize: Int64?

    /// Opens `path` for reading from `offset` on (a regular file).
    public convenience init(path: String, offset: Int64) throws(RDBError) {
        try self.init(path: path)
        guard offset == 0 || lseek(fd, off_t(offset), SEEK_SET) == off_t(offset) else {
            throw RDBError(.io, "cannot seek to \(offset): \(FileSource.errnoText())", file: path)
        }
        startOffset = offset
    }

    /// Where reading started (the offset of the first byte returned).
    public private(set) var startOffset: Int64 = 0

    /// Opens `path` for reading; `-` is standard input.
    /// - Throws: ``RDBError`` with code `.io` when the file cannot be opened.
    public init(path: String) throws(RDBError) {
        name = path
        if path == "-" {
            fd = 0
            ownsDescriptor = false
        } else {
            let d = open(path, O_RDONLY | O_CLOEXEC)
            guard d >= 0 else {
                throw RDBError(.io, "cannot open: \(FileSource.errnoText())", file: path)
            }
            fd = d
            ownsDescriptor = true
        }
        var st = stat()
        if unsafe fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG {
            knownSize = Int64(st.st_size)
            #if os(Linux)
            _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
            #endif
        } else {
            knownSize = nil
        }
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(RDBError) -> Int {
        while true {
            let n = unsafe Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw RDBError(.io, "read failed: \(FileSource.errnoText())", file: name)
        }
    }

    static func errnoText() -> String {
        unsafe String(cString: strerror(errno))
    }
}

/// A gzip-compressed input (`dump.rdb.gz`), decompressed with zlib as it is read.
/// Offsets in errors are offsets in the decompressed stream.
public final class GzipSource: ByteSource {
    private let file: gzFile
    public let name: String
    public var knownSize: Int64? { nil }

    /// Opens a gzip file.
    public init(path: String) throws(RDBError) {
        name = path
        guard let f = unsafe gzopen(path, "rb") else {
            throw RDBError(.io, "cannot open: \(FileSource.errnoText())", file: path)
        }
        unsafe gzbuffer(f, 256 * 1024)
        file = unsafe f
    }

    deinit { unsafe gzclose(file) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(RDBError) -> Int {
        let want = UInt32(min(buffer.count, Int(Int32.max)))
        let n = unsafe gzread(file, buffer.baseAddress, want)
        if n < 0 {
            var code: Int32 = 0
            let msg = unsafe gzerror(file, &code).map { unsafe String(cString: $0) } ?? "unknown"
            throw RDBError(.io, "gzip decompression failed: \(msg)", file: name)
        }
        return Int(n)
    }
}

/// Opening inputs by path.
public enum ByteSources {
    /// Opens a path for reading: `-` is standard input; a file starting with the gzip magic (1f 8b) is
    /// decompressed transparently.
    public static func open(path: String) throws(RDBError) -> any ByteSource {
        if path != "-" && isGzip(path: path) { return try GzipSource(path: path) }
        return try FileSource(path: path)
    }

    /// Reads a whole (small) file; fails beyond `limit` bytes.
    public static func readAll(path: String, limit: Int) throws(RDBError) -> [UInt8] {
        let source = try open(path: path)
        return try readAll(source, limit: limit)
    }

    /// Reads a source to its end; fails beyond `limit` bytes.
    public static func readAll(_ source: any ByteSource, limit: Int) throws(RDBError) -> [UInt8] {
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let r: Result<Int, RDBError> = unsafe buf.withUnsafeMutableBytes { p in
                do throws(RDBError) { return .success(try unsafe source.read(into: p)) } catch { return .failure(error) }
            }
            let n = try r.get()
            if n == 0 { return bytes }
            bytes += buf[0..<n]
            if bytes.count > limit {
                throw RDBError(.limitExceeded, "larger than \(limit) bytes", file: source.name)
            }
        }
    }

    /// The first bytes of a file (fewer if it is shorter); empty if it cannot be read.
    public static func head(path: String, count: Int) -> [UInt8] {
        guard let source = try? FileSource(path: path) else { return [] }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: count)
        while out.count < count {
            let r: Result<Int, RDBError> = unsafe buf.withUnsafeMutableBytes { p in
                do throws(RDBError) {
                    return .success(try unsafe source.read(into: UnsafeMutableRawBufferPointer(rebasing: p[0..<(count - out.count)])))
                } catch { return .failure(error) }
            }
            guard case .success(let n) = r, n > 0 else { break }
            out += buf[0..<n]
        }
        return out
    }

    static func isGzip(path: String) -> Bool {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var magic: (UInt8, UInt8) = (0, 0)
        let n = unsafe withUnsafeMutableBytes(of: &magic) { unsafe pread(fd, $0.baseAddress, 2, 0) }
        return n == 2 && magic.0 == 0x1F && magic.1 == 0x8B
    }
}
