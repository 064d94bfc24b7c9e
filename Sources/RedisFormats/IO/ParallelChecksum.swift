#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Computes the CRC64 of a regular file on a second thread while the reader parses it.
///
/// The thread reads the file with `pread` in 1 MiB blocks and records the running CRC at every block
/// boundary. When the reader knows where the checksummed range ends (after the EOF opcode), it takes
/// the checkpoint below that offset and folds the remaining bytes itself. Parsing and checksumming
/// then overlap on two cores instead of adding up.
final class ParallelChecksum: @unchecked Sendable {
    static let blockSize = 1 << 20

    private var fd: Int32
    private let size: Int64
    /// CRC of the first `k * blockSize` bytes at index k (index 0 = 0).
    private let state = Mutex<State>(State())
    private let cancelled = Atomic<Bool>(false)
    private var thread: pthread_t?

    struct State {
        var checkpoints: [UInt64] = [0]
        var failed = false
    }

    /// Starts checksumming `path` (a regular file of `size` bytes); nil if the file cannot be opened.
    init?(path: String, size: Int64) {
        let d = open(path, O_RDONLY | O_CLOEXEC)
        guard d >= 0 else { return nil }
        fd = d
        self.size = size
        guard let t = NativeThread.start({ self.run() }) else {
            close(d)
            fd = -1  // deinit runs after a failed init once every property is set: no second close
            return nil
        }
        thread = t
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Stops the thread (when the reader fails or is abandoned) and waits for it.
    func stop() {
        cancelled.store(true, ordering: .relaxed)
        if let t = thread {
            pthread_join(t, nil)
            thread = nil
        }
    }

    /// Blocks are mapped one at a time (no copy, and unmapped pages leave the RSS); `pread` if mapping fails.
    private func run() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.blockSize, alignment: 16)
        defer { unsafe buffer.deallocate() }
        var crc: UInt64 = 0
        var offset: Int64 = 0
        while offset + Int64(Self.blockSize) <= size, !cancelled.load(ordering: .relaxed) {
            let mapped = unsafe mmap(nil, Self.blockSize, PROT_READ, MAP_PRIVATE, fd, off_t(offset))
            if let mapped = unsafe mapped, unsafe mapped != MAP_FAILED {
                _ = unsafe madvise(mapped, Self.blockSize, Int32(MADV_SEQUENTIAL))
                crc = unsafe CRC64.update(crc, UnsafeRawBufferPointer(start: mapped, count: Self.blockSize))
                _ = unsafe munmap(mapped, Self.blockSize)
            } else {
                guard unsafe readFully(buffer, at: offset) else {
                    state.withLock { $0.failed = true }
                    return
                }
                crc = unsafe CRC64.update(crc, UnsafeRawBufferPointer(buffer))
            }
            offset += Int64(Self.blockSize)
            state.withLock { $0.checkpoints.append(crc) }
        }
    }

    private func readFully(_ buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Bool {
        var done = 0
        while done < buffer.count {
            let n = unsafe pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    /// The CRC64 of bytes `0..<end`. Waits for the thread to pass the block below `end`.
    func checksum(upTo end: Int64) -> UInt64? {
        let block = Int(end / Int64(Self.blockSize))
        var checkpoint: UInt64?
        while checkpoint == nil {
            let (cp, failed) = state.withLock { s in (block < s.checkpoints.count ? s.checkpoints[block] : nil, s.failed) }
            if failed { return nil }
            checkpoint = cp
            if checkpoint == nil { usleep(100) }
        }
        stop()
        var crc = checkpoint!
        let start = Int64(block) * Int64(Self.blockSize)
        let rest = Int(end - start)
        if rest > 0 {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: rest, alignment: 16)
            defer { unsafe buffer.deallocate() }
            guard unsafe readFully(buffer, at: start) else { return nil }
            crc = unsafe CRC64.update(crc, UnsafeRawBufferPointer(buffer))
        }
        return crc
    }
}
