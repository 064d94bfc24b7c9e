#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The deep check of a large RDB file on two cores.
///
/// A scanner thread walks the records skipping values by length, computes the CRC64 inline, and marks a
/// record boundary every `segmentBytes`; two worker threads each check one segment at a time, deeply,
/// with a reader resumed at its boundary (``RDBChecker`` on the records that start inside it). The
/// segments' counts add up to the whole file's.
///
/// Only a file that turns out valid gets its report from here: at the first problem (or anything
/// unusual) the pass stops and returns nil, and the caller runs the one-thread check, whose report names
/// the first problem exactly as a sequential reader meets it. A damaged file costs a partial second pass;
/// a good one (the usual case) is checked in about half the time.
public enum RDBParallelCheck {
    /// Files below this size are checked on one thread.
    public static let minimumSize: Int64 = 64 << 20

    /// The report of a valid file; nil when the file has a problem, or data after its EOF opcode, or
    /// cannot be checked this way (then use ``RDBChecker/check(_:continueAfterErrors:now:)``).
    public static func check(path: String, now: Int64, segmentBytes: Int64 = 4 << 20) -> RDBCheckReport? {
        guard let header = try? RDBReader(source: try FileSource(path: path)).header else { return nil }
        let run = ParallelCheckRun(path: path, header: header, now: now, segmentBytes: max(1, segmentBytes))
        return run.run()
    }
}

/// One run of ``RDBParallelCheck``: the scanner, two workers, and what they share under `lock`.
final class ParallelCheckRun: @unchecked Sendable {
    private let path: String
    private let header: RDBHeader
    private let now: Int64
    private let segmentBytes: Int64

    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `lock`.
    private var boundaries: [(offset: Int64, db: UInt64)] = []
    private var scannerDone = false
    private var failed = false
    private var nextSegment = 0
    private var parts: [Int: RDBCheckReport] = [:]
    private var checksum: RDBChecksum?
    private var endOffset: Int64 = 0
    /// The file's size when the run started (the last segment ends there).
    private let fileSize: Int64

    init(path: String, header: RDBHeader, now: Int64, segmentBytes: Int64) {
        self.path = path
        self.header = header
        self.now = now
        self.segmentBytes = segmentBytes
        self.fileSize = (try? FileSource(path: path).knownSize ?? 0) ?? 0
        unsafe lock.initialize(to: pthread_mutex_t())
        unsafe changed.initialize(to: pthread_cond_t())
        pthread_mutex_init(lock, nil)
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(lock)
        unsafe changed.deallocate()
        unsafe lock.deallocate()
    }

    func run() -> RDBCheckReport? {
        let threads = [spawn { $0.scan() }, spawn { $0.work() }, spawn { $0.work() }]
        if threads.contains(where: { $0 == nil }) {
            // Threads that started end on their own once the flag is seen (or their work is done).
            pthread_mutex_lock(lock)
            failed = true
            pthread_cond_broadcast(changed)
            pthread_mutex_unlock(lock)
        }
        for t in threads { if let t { pthread_join(t, nil) } }
        guard !failed, let checksum else { return nil }
        var report = RDBCheckReport(file: path, header: header)
        for k in parts.keys.sorted() {
            let p = parts[k]!
            report.keys += p.keys
            report.expires += p.expires
            report.alreadyExpired += p.alreadyExpired
            report.keysWithFieldTTLs += p.keysWithFieldTTLs
            report.auxFields += p.auxFields
            report.functions += p.functions
            report.moduleAux += p.moduleAux
            report.databases.formUnion(p.databases)
            report.isAOFPreamble = report.isAOFPreamble || p.isAOFPreamble
            report.warnings += p.warnings
        }
        report.checksum = checksum
        report.endOffset = endOffset
        return report
    }

    private func spawn(_ body: @escaping (ParallelCheckRun) -> Void) -> pthread_t? {
        NativeThread.start(stackSize: 8 << 20) { body(self) }
    }

    private func fail() {
        pthread_mutex_lock(lock)
        failed = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(lock)
    }

    private var hasFailed: Bool {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return failed
    }

    /// Framing and CRC64: values skipped by length.
    private func scan() {
        var o = RDBReader.Options()
        o.chunkSize = 4 << 20
        do {
            // A plain file source: the checksum is computed inline on this thread.
            let reader = try RDBReader(source: try FileSource(path: path), options: o)
            var last = reader.offset
            publish(last, 0)
            while true {
                // Common key records straight from the buffer; the rest (and each record that continues
                // past the buffer) through next(). A boundary only after keys, as below.
                let skipped = reader.skipBufferedKeys(until: last + segmentBytes)
                if skipped > 0 && reader.offset - last >= segmentBytes {
                    last = reader.offset
                    publish(last, reader.currentDB)
                    if hasFailed { return }
                    continue
                }
                guard let record = try reader.next() else { break }
                switch record {
                case .key:
                    try reader.skipValue()
                    if reader.offset - last >= segmentBytes {
                        last = reader.offset
                        publish(last, reader.currentDB)
                        if hasFailed { return }
                    }
                case .end(let c):
                    // Data after the EOF opcode (an AOF preamble) is for the one-thread path to read.
                    guard try !reader.hasTrailingData() else { return fail() }
                    pthread_mutex_lock(lock)
                    checksum = c
                    endOffset = reader.offset
                    scannerDone = true
                    pthread_cond_broadcast(changed)
                    pthread_mutex_unlock(lock)
                    return
                default:
                    break
                }
            }
            fail()  // no EOF opcode
        } catch {
            fail()
        }
    }

    private func publish(_ offset: Int64, _ db: UInt64) {
        pthread_mutex_lock(lock)
        boundaries.append((offset, db))
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(lock)
    }

    /// Deep checks, one segment at a time.
    private func work() {
        var o = RDBReader.Options()
        o.validation = .deep
        o.verifiesChecksum = false
        while true {
            pthread_mutex_lock(lock)
            // The next segment needs its start, and its end unless the scanner is done.
            while !failed && !(boundaries.count > nextSegment + 1 || (scannerDone && boundaries.count > nextSegment)) {
                if scannerDone { break }
                pthread_cond_wait(changed, lock)
            }
            if failed || boundaries.count <= nextSegment {
                pthread_mutex_unlock(lock)
                return
            }
            let k = nextSegment
            nextSegment += 1
            let start = boundaries[k]
            let end = boundaries.count > k + 1 ? boundaries[k + 1].offset : nil
            pthread_mutex_unlock(lock)

            var part = RDBCheckReport(file: path, header: header)
            do {
                // In place from a mapping of the segment (the scanner has read it); read() if that fails.
                let reader = try RDBReader.mapping(
                    path: path, start: start.offset, end: end ?? fileSize, header: header, db: start.db, options: o)
                    ?? RDBReader(resumingAt: start.offset, path: path, header: header, db: start.db, options: o)
                RDBChecker.checkRecords(reader, upTo: end, into: &part, continueAfterErrors: false, now: now)
            } catch {
                return fail()
            }
            if !part.problems.isEmpty { return fail() }
            pthread_mutex_lock(lock)
            parts[k] = part
            pthread_mutex_unlock(lock)
        }
    }
}
