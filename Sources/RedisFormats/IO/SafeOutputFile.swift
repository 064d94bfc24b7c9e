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
///
/// Bytes are gathered in 4 MiB blocks. Once a first block is full, a second thread takes over the
/// CRC64 (when enabled) and the `write` calls of full blocks, so a rewrite parses on one core while its
/// output is checksummed and written on the other. At most three blocks exist at once.
public final class SafeOutputFile: ByteTee {
    public let path: String
    private let temporaryPath: String
    private var fd: Int32
    private var committed = false
    /// Bytes written so far.
    public private(set) var count: Int64 = 0
    /// Whether a running CRC64 of everything written is kept (read it with ``checksumSoFar()``).
    public var computesChecksum = false
    /// Writes go straight to a descriptor the caller owns (a socket): no temporary file, no sync, no rename.
    private let streams: Bool

    static let blockSize = 4 << 20
    /// The block being filled.
    @exclusivity(unchecked)
    private var block: UnsafeMutableRawBufferPointer
    @exclusivity(unchecked)
    private var used = 0
    /// The checksum of bytes written by this thread (before any block was handed over).
    private var crc = CRC64()
    /// The thread that checksums and writes full blocks; started when the first block is full.
    private var drain: BlockDrain?

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
        block = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.blockSize, alignment: 64)
    }

    /// Writes to `fd` block by block; ``commit()`` only flushes. The caller owns and closes `fd`.
    /// `name` is how errors name the output.
    /// - Note: writing to a socket the peer closed raises `SIGPIPE`: ignore it in the process first.
    public init(streamingTo fd: Int32, name: String) {
        path = name
        temporaryPath = name
        self.fd = fd
        streams = true
        block = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.blockSize, alignment: 64)
    }

    deinit {
        drain?.stop()
        unsafe block.deallocate()
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
        var failure: RDBError?
        unsafe bytes.withUnsafeBytes { b in
            do throws(RDBError) { try unsafe write(b) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    public func write(_ byte: UInt8) throws(RDBError) {
        if used == block.count { try handOver() }
        unsafe block[used] = byte
        used += 1
        count += 1
    }

    /// Appends raw bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(RDBError) {
        var rest = unsafe bytes
        while !rest.isEmpty {
            if used == block.count { try handOver() }
            let n = min(rest.count, block.count - used)
            unsafe (block.baseAddress! + used).copyMemory(from: rest.baseAddress!, byteCount: n)
            used += n
            count += Int64(n)
            rest = unsafe UnsafeRawBufferPointer(rebasing: rest[n...])
        }
    }

    /// Lets `body` fill up to `capacity` bytes in place and returns what it reports as written;
    /// `capacity` must be at most 64 KiB.
    @inline(__always)
    public func reserve(_ capacity: Int, _ body: (UnsafeMutableRawPointer) -> Int) throws(RDBError) {
        precondition(capacity <= 1 << 16)
        if block.count - used < capacity { try handOver() }
        let n = unsafe body(block.baseAddress! + used)
        used += n
        count += Int64(n)
    }

    /// An error of a write made through ``take(_:)``, kept for ``takeDeferredError()``.
    private var deferredError: RDBError?

    func take(_ bytes: UnsafeRawBufferPointer) {
        guard deferredError == nil else { return }
        do { try unsafe write(bytes) } catch { deferredError = error }
    }

    /// Throws the first error of a write made through ``take(_:)``.
    func takeDeferredError() throws(RDBError) {
        if let e = deferredError { throw e }
    }

    /// Passes the current block to the drain thread (starting it on first use) and takes an empty one.
    private func handOver() throws(RDBError) {
        guard used > 0 else { return }
        if drain == nil {
            drain = BlockDrain(fd: fd, checksumming: computesChecksum, syncing: !streams, initialCRC: crc.value,
                               blockSize: Self.blockSize)
        }
        guard let next = drain!.submit(block, count: used) else {
            throw RDBError(.io, "write failed: \(drain!.errorText)", file: temporaryPath)
        }
        unsafe block = next
        used = 0
    }

    /// Writes out every byte given so far (on this thread when no drain runs).
    private func flush() throws(RDBError) {
        if let drain {
            try handOver()
            guard drain.waitIdle() else { throw RDBError(.io, "write failed: \(drain.errorText)", file: temporaryPath) }
            return
        }
        let bytes = unsafe UnsafeRawBufferPointer(start: block.baseAddress, count: used)
        if computesChecksum { unsafe crc.update(bytes) }
        guard unsafe BlockDrain.writeAll(fd, bytes) else {
            throw RDBError(.io, "write failed: \(String(cString: strerror(errno)))", file: temporaryPath)
        }
        used = 0
    }

    /// The CRC64 of every byte written so far (``computesChecksum`` must have been set before the first write).
    public func checksumSoFar() throws(RDBError) -> UInt64 {
        try flush()
        return drain?.crc ?? crc.value
    }

    /// Syncs and renames the temporary file over the target.
    public func commit() throws(RDBError) {
        try flush()
        drain?.stop()
        drain = nil
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

/// The second thread of ``SafeOutputFile``: checksums and writes full blocks in order, and hands the
/// emptied blocks back. A write error stops it; the producer sees it at its next hand-over.
final class BlockDrain: @unchecked Sendable {
    private let fd: Int32
    private let checksumming: Bool
    private let syncing: Bool
    private let blockSize: Int
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `lock`.
    private var queue: [(UnsafeMutableRawBufferPointer, Int)] = []
    private var free: [UnsafeMutableRawBufferPointer] = []
    private var allocated = 1
    private var busy = false
    private var stopping = false
    private var failedErrno: Int32 = 0
    private var runningCRC: UInt64
    private var thread: pthread_t?

    static let maximumBlocks = 6

    init(fd: Int32, checksumming: Bool, syncing: Bool, initialCRC: UInt64, blockSize: Int) {
        self.fd = fd
        self.checksumming = checksumming
        self.syncing = syncing
        self.blockSize = blockSize
        runningCRC = initialCRC
        unsafe lock.initialize(to: pthread_mutex_t())
        unsafe changed.initialize(to: pthread_cond_t())
        pthread_mutex_init(lock, nil)
        pthread_cond_init(changed, nil)
        thread = NativeThread.start { self.run() }
        if thread == nil { failedErrno = EAGAIN }
    }

    deinit {
        for b in free { unsafe b.deallocate() }
        for (b, _) in queue { unsafe b.deallocate() }
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(lock)
        unsafe changed.deallocate()
        unsafe lock.deallocate()
    }

    var errorText: String {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return String(cString: strerror(failedErrno))
    }

    /// The CRC64 of every block written so far (call after ``waitIdle()``).
    var crc: UInt64 {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return runningCRC
    }

    /// Queues a full block and returns an empty one (waiting while three are in use), or nil after an error.
    func submit(_ block: UnsafeMutableRawBufferPointer, count: Int) -> UnsafeMutableRawBufferPointer? {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if failedErrno != 0 || thread == nil { return nil }
        queue.append((block, count))
        pthread_cond_broadcast(changed)
        while free.isEmpty && allocated == Self.maximumBlocks && failedErrno == 0 {
            pthread_cond_wait(changed, lock)
        }
        if failedErrno != 0 { return nil }
        if let b = free.popLast() { return b }
        allocated += 1
        return UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 64)
    }

    /// Waits until every queued block is written; false after an error.
    func waitIdle() -> Bool {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        while (!queue.isEmpty || busy) && failedErrno == 0 { pthread_cond_wait(changed, lock) }
        return failedErrno == 0
    }

    /// Ends the thread after the queued blocks and waits for it.
    func stop() {
        pthread_mutex_lock(lock)
        stopping = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(lock)
        if let t = thread {
            pthread_join(t, nil)
            thread = nil
        }
    }

    // sync_file_range(2) flags (<fcntl.h>, visible to C only with _GNU_SOURCE).
    static let rangeWaitBefore: UInt32 = 1
    static let rangeWrite: UInt32 = 2
    static let rangeWaitAfter: UInt32 = 4

    /// Bytes written between two `fdatasync` calls.
    static let syncInterval = 16 << 20

    private func run() {
        var crc = CRC64(value: runningCRC)
        var unsynced = 0
        // Where this thread's writes start (the producer may have written a first part itself).
        var position = Int64(lseek(fd, 0, SEEK_CUR))
        let useRanges = position >= 0
        pthread_mutex_lock(lock)
        while true {
            while queue.isEmpty && !stopping { pthread_cond_wait(changed, lock) }
            if queue.isEmpty { break }
            let (block, n) = queue.removeFirst()
            busy = true
            pthread_mutex_unlock(lock)
            let bytes = unsafe UnsafeRawBufferPointer(start: block.baseAddress, count: n)
            if checksumming { unsafe crc.update(bytes) }
            var ok = unsafe Self.writeAll(fd, bytes)
            position += Int64(n)
            unsynced += n
            // Incremental sync, as Redis's rdb-save-incremental-fsync (rio.c): start the writeback of each
            // 16 MiB written without waiting for it, and wait only for the 16 MiB before those. The disk
            // works while the reader does, the reader never waits for a flush it just started, and the
            // final fsync finds little left to write.
            if ok && syncing && unsynced >= Self.syncInterval {
                if useRanges {
                    let interval = Int64(unsynced)
                    ok = linuxSyncFileRange(fd, position - interval, interval, Self.rangeWrite) == 0
                    if ok && position >= 2 * interval {
                        ok = linuxSyncFileRange(
                            fd, position - 2 * interval, interval,
                            Self.rangeWaitBefore | Self.rangeWrite | Self.rangeWaitAfter) == 0
                    }
                    if !ok && (errno == ENOSYS || errno == EINVAL || errno == ESPIPE) { ok = fdatasync(fd) == 0 }
                } else {
                    ok = fdatasync(fd) == 0
                }
                unsynced = 0
            }
            let e = errno
            pthread_mutex_lock(lock)
            busy = false
            runningCRC = crc.value
            free.append(block)
            if !ok {
                failedErrno = e == 0 ? EIO : e
                pthread_cond_broadcast(changed)
                break
            }
            pthread_cond_broadcast(changed)
        }
        pthread_mutex_unlock(lock)
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = unsafe Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }
}

/// Linux's `sync_file_range(2)`, which Glibc's Swift module does not export (it needs `_GNU_SOURCE`).
@_silgen_name("sync_file_range")
private func linuxSyncFileRange(_ fd: Int32, _ offset: Int64, _ count: Int64, _ flags: UInt32) -> Int32
