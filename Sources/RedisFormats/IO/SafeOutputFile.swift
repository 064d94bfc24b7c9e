#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written through a temporary file: bytes go to `.NAME.rdbkit-XXXXXX` in the target's directory;
/// ``commit()`` syncs it, renames it over the target and syncs the directory. Dropped without a commit
/// (an error, a crash), the temporary file is removed and the target is untouched.
public final class SafeOutputFile {
    public let path: String
    private let temporaryPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var committed = false
    /// Bytes written so far.
    public private(set) var count: Int64 = 0
    /// Running CRC64 of everything written, when enabled.
    public var checksum = CRC64()
    public var computesChecksum = false
    /// Writes go straight to a descriptor the caller owns (a socket): no temporary file, no rename.
    private let streams: Bool

    /// Creates the temporary file. Refuses a target that is one of `protectedPaths` (the inputs).
    public init(path: String, protectedPaths: [String] = []) throws(RDBError) {
        self.path = path
        streams = false
        let resolvedTarget = Self.realPath(path)
        for p in protectedPaths where Self.realPath(p) == resolvedTarget && resolvedTarget != nil {
            throw RDBError(.io, "refusing to write over an input file", file: path)
        }
        let dir = AOFLocator.directoryName(path)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        var template = Array("\(dir)/.\(base).rdbkit-XXXXXX".utf8CString)
        let d = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard d >= 0 else {
            throw RDBError(.io, "cannot create a temporary file in \(dir): \(String(cString: strerror(errno)))", file: path)
        }
        fd = d
        temporaryPath = String(cString: template)
        fchmod(fd, 0o644)
        buffer.reserveCapacity(1 << 20)
    }

    /// Writes to `fd` as they come (in 1 MiB chunks); ``commit()`` only flushes. The caller owns and
    /// closes `fd`. `name` is how errors name the output.
    /// - Note: writing to a socket the peer closed raises `SIGPIPE`: ignore it in the process first.
    public init(streamingTo fd: Int32, name: String) {
        path = name
        temporaryPath = name
        self.fd = fd
        streams = true
        buffer.reserveCapacity(1 << 20)
    }

    deinit {
        if !committed && !streams {
            if fd >= 0 { close(fd) }
            unlink(temporaryPath)
        }
    }

    static func realPath(_ p: String) -> String? {
        guard let r = realpath(p, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }

    public func write(_ bytes: [UInt8]) throws(RDBError) {
        if computesChecksum { checksum.update(bytes) }
        buffer += bytes
        count += Int64(bytes.count)
        if buffer.count >= 1 << 20 { try flush() }
    }

    public func write(_ byte: UInt8) throws(RDBError) {
        try write([byte])
    }

    private func flush() throws(RDBError) {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw RDBError(.io, "write failed: \(String(cString: strerror(errno)))", file: temporaryPath) }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Syncs and renames the temporary file over the target.
    public func commit() throws(RDBError) {
        try flush()
        if streams {
            committed = true
            return
        }
        guard fsync(fd) == 0 else { throw RDBError(.io, "fsync failed: \(String(cString: strerror(errno)))", file: temporaryPath) }
        close(fd)
        fd = -1
        guard rename(temporaryPath, path) == 0 else {
            throw RDBError(.io, "cannot rename to \(path): \(String(cString: strerror(errno)))", file: path)
        }
        committed = true
        SafeFileWriter.syncDirectory(AOFLocator.directoryName(path))
    }
}
