#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Read-only mappings of byte ranges of regular files, read in place by an ``InputWindow``: no copy from
/// the page cache into a buffer, which the parallel check's workers otherwise pay on top of the scanner's
/// own read of the same bytes.
///
/// Only for ranges a sequential reader has already seen whole: the mapping is populated when made, and
/// its pages must exist as long as it is read. Redis replaces an RDB by renaming a new file over it, so
/// the open file itself never shrinks; a file truncated in place while being read this way would fault.
enum FileMapping {
    /// A window over bytes `[start, end)` of the file at `path`, positioned at `start`; nil when the range
    /// cannot be mapped (the caller reads it with `read` instead).
    static func window(path: String, start: Int64, end: Int64) -> InputWindow? {
        guard start >= 0, end > start else { return nil }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard unsafe fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int64(st.st_size) >= end else { return nil }
        let page = Int64(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return nil }
        let aligned = start - start % page
        let length = Int(end - aligned)
        var flags = MAP_PRIVATE
        #if os(Linux)
        flags |= MAP_POPULATE
        #endif
        guard let address = unsafe mmap(nil, length, PROT_READ, flags, fd, off_t(aligned)), address != MAP_FAILED else {
            return nil
        }
        #if os(Linux)
        _ = unsafe madvise(address, length, MADV_SEQUENTIAL)
        #endif
        let bytes = unsafe UnsafeRawBufferPointer(start: address, count: length)
        return unsafe InputWindow(mapped: bytes, baseOffset: aligned, start: start, name: path) {
            _ = unsafe munmap(address, length)
        }
    }
}
