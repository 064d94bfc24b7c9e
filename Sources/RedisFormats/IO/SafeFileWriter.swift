#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Replaces files safely: content goes to a temporary file in the same directory, is synced, then
/// renamed over the target, and the directory is synced. A crash leaves either the old or the new file.
public enum SafeFileWriter {
    /// Writes the bytes `ranges` of `source` (in order) as the new content of `target`.
    /// - Parameter backupPath: when given, the original `target` is first copied there (synced).
    public static func replace(
        _ target: String, withRangesOf source: String, ranges: [Range<Int64>], backupPath: String? = nil
    ) throws(RDBError) {
        if let backupPath {
            var st = stat()
            let size = stat(source, &st) == 0 ? Int64(st.st_size) : 0
            try copy(source, ranges: [0..<size], to: backupPath)
        }
        let dir = AOFLocator.directoryName(target)
        let base = target.split(separator: "/").last.map(String.init) ?? target
        var template = Array("\(dir)/.\(base).rdbkit-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw RDBError(.io, "cannot create a temporary file in \(dir): \(errnoText())", file: target) }
        let tmpPath = String(cString: template)
        var ok = false
        defer {
            if !ok { unlink(tmpPath) }
        }
        do throws(RDBError) {
            try copy(source, ranges: ranges, toDescriptor: fd, name: tmpPath)
            // Keep the original's permissions.
            var st = stat()
            if stat(target, &st) == 0 { fchmod(fd, st.st_mode & 0o7777) }
            guard fsync(fd) == 0 else { throw RDBError(.io, "fsync failed: \(errnoText())", file: tmpPath) }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        guard rename(tmpPath, target) == 0 else {
            throw RDBError(.io, "cannot rename \(tmpPath) to \(target): \(errnoText())", file: target)
        }
        ok = true
        syncDirectory(dir)
    }

    /// Copies byte ranges of `source` into a new file `destination` (which must not exist), synced.
    public static func copy(_ source: String, ranges: [Range<Int64>], to destination: String) throws(RDBError) {
        let fd = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RDBError(.io, "cannot create: \(errnoText())", file: destination) }
        do throws(RDBError) {
            try copy(source, ranges: ranges, toDescriptor: fd, name: destination)
            guard fsync(fd) == 0 else { throw RDBError(.io, "fsync failed: \(errnoText())", file: destination) }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        syncDirectory(AOFLocator.directoryName(destination))
    }

    private static func copy(_ source: String, ranges: [Range<Int64>], toDescriptor out: Int32, name: String) throws(RDBError) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw RDBError(.io, "cannot open: \(errnoText())", file: source) }
        defer { close(input) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        for range in ranges {
            var at = range.lowerBound
            while at < range.upperBound {
                let want = Int(min(Int64(buffer.count), range.upperBound - at))
                let n = buffer.withUnsafeMutableBytes { pread(input, $0.baseAddress, want, off_t(at)) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw RDBError(.io, "read failed at \(at): \(errnoText())", file: source) }
                var done = 0
                while done < n {
                    let w = buffer.withUnsafeBytes { Glibc.write(out, $0.baseAddress! + done, n - done) }
                    if w < 0 && errno == EINTR { continue }
                    guard w > 0 else { throw RDBError(.io, "write failed: \(errnoText())", file: name) }
                    done += w
                }
                at += Int64(n)
            }
        }
    }

    static func syncDirectory(_ dir: String) {
        let d = open(dir, O_RDONLY | O_CLOEXEC)
        if d >= 0 {
            fsync(d)
            close(d)
        }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
