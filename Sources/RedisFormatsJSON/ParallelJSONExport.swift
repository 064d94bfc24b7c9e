import Foundation
import RedisFormats

/// Exports a large RDB file as JSON Lines on two cores, in file order.
///
/// A scanner thread walks the file skipping values by length (and checks the CRC64), marking a record
/// boundary every `segmentBytes`; two worker threads each render one segment at a time with a reader
/// resumed at its boundary. The worker of the earliest unwritten segment writes straight to the sink;
/// the other buffers (at most `bufferLimit` bytes, then it waits its turn), so output is byte for byte
/// what a single reader writes, and memory stays bounded. An error stops the export after the output
/// of everything before it, as a single reader would.
public final class ParallelJSONExport: @unchecked Sendable {
    public let path: String
    public let options: RDBReader.Options
    public let filter: RDBKeyFilter
    public let policy: JSONBytesPolicy
    public let segmentBytes: Int64
    public let bufferLimit: Int
    private let sink: any JSONByteSink

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var boundaries: [(offset: Int64, db: UInt64)] = []
    private var scannerDone = false
    private var scannerError: (any Error)?
    private var trailingData = false
    private var nextSegment = 0
    private var turn = 0
    private var failure: (segment: Int, error: any Error)?
    private var workersRunning = 0
    private var keysWritten = 0

    /// Called about five times a second with (bytes of the file written out, keys written).
    public var onProgress: ((Int64, Int) -> Void)?

    /// Renders the records of one segment (those before the end offset, to the end when nil) into the
    /// sink and returns the keys written. Runs on two threads at once, each call with its own reader
    /// and sink: it must not share mutable state. By default, the JSON Lines of ``RDBJSONExporter``.
    public typealias SegmentRenderer = @Sendable (RDBReader, Int64?, any JSONByteSink) throws -> Int
    private let render: SegmentRenderer

    public init(
        path: String, options: RDBReader.Options, filter: RDBKeyFilter, policy: JSONBytesPolicy, sink: any JSONByteSink,
        segmentBytes: Int64 = 2 << 20, bufferLimit: Int = 8 << 20
    ) {
        self.path = path
        self.options = options
        self.filter = filter
        self.policy = policy
        self.sink = sink
        self.segmentBytes = max(1, segmentBytes)
        self.bufferLimit = bufferLimit
        render = { reader, end, sink in
            try RDBJSONExporter(sink: sink, filter: filter, policy: policy).export(reader, upTo: end).keysWritten
        }
    }

    /// A two-thread pass over the file with another per-segment output (for example CSV rows).
    public init(
        path: String, options: RDBReader.Options, sink: any JSONByteSink, segmentBytes: Int64 = 2 << 20,
        bufferLimit: Int = 8 << 20, render: @escaping SegmentRenderer
    ) {
        self.path = path
        self.options = options
        self.filter = RDBKeyFilter()
        self.policy = .utf8OrBase64
        self.sink = sink
        self.segmentBytes = max(1, segmentBytes)
        self.bufferLimit = bufferLimit
        self.render = render
    }

    /// Runs the export. Throws the first error in file order (a CRC64 mismatch comes after all output).
    /// - Returns: whether data follows the RDB's EOF.
    @discardableResult
    public func run() throws -> (summary: RDBExportSummary, trailingData: Bool) {
        let header = try RDBReader(source: try FileSource(path: path), options: options).header
        let scanner = Thread { self.scan() }
        scanner.stackSize = 8 << 20
        condition.lock()
        workersRunning = 2
        condition.unlock()
        let workers = (0..<2).map { _ in Thread { self.work(header: header) } }
        scanner.start()
        for w in workers {
            w.stackSize = 8 << 20
            w.start()
        }
        condition.lock()
        while workersRunning > 0 || !scannerDone {
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.2))
            let at = turn < boundaries.count ? boundaries[turn].offset : boundaries.last?.offset ?? 0
            let keys = keysWritten
            condition.unlock()
            onProgress?(at, keys)
            condition.lock()
        }
        let failure = self.failure
        let scannerError = self.scannerError
        let keys = keysWritten
        let trailing = trailingData
        condition.unlock()
        if let failure { throw failure.error }
        if let scannerError { throw scannerError }
        var summary = RDBExportSummary()
        summary.keysWritten = keys
        return (summary, trailing)
    }

    private func scan() {
        var o = options
        o.chunkSize = 4 << 20
        do {
            // A plain file source: the checksum is computed inline on this thread.
            let reader = try RDBReader(source: try FileSource(path: path), options: o)
            var last = reader.offset
            publish(last, 0)
            while true {
                // Common key records straight from the buffer; the rest through next().
                // A boundary only after keys, as below (never after the EOF opcode).
                let skipped = reader.skipBufferedKeys(until: last + segmentBytes)
                if skipped > 0 && reader.offset - last >= segmentBytes {
                    last = reader.offset
                    publish(last, reader.currentDB)
                    continue
                }
                guard let record = try reader.next() else { break }
                switch record {
                case .key:
                    try reader.skipValue()
                    if reader.offset - last >= segmentBytes {
                        last = reader.offset
                        publish(last, reader.currentDB)
                    }
                case .end:
                    let trailing = try reader.hasTrailingData()
                    condition.lock()
                    trailingData = trailing
                    condition.unlock()
                default:
                    break
                }
            }
        } catch {
            condition.lock()
            scannerError = error
            condition.unlock()
        }
        condition.lock()
        scannerDone = true
        condition.broadcast()
        condition.unlock()
    }

    private func publish(_ offset: Int64, _ db: UInt64) {
        condition.lock()
        boundaries.append((offset, db))
        condition.broadcast()
        condition.unlock()
    }

    private struct Cancelled: Error {}

    private func work(header: RDBHeader) {
        defer {
            condition.lock()
            workersRunning -= 1
            condition.broadcast()
            condition.unlock()
        }
        while true {
            condition.lock()
            // The next segment's start, and its end unless it is the last one (re-read after each wait:
            // the other worker may have taken it).
            var k = nextSegment
            while !(boundaries.count > k + 1 || (scannerDone && boundaries.count > k)) && failure == nil {
                if scannerDone && boundaries.count <= k { break }
                condition.wait()
                k = nextSegment
            }
            if failure != nil || boundaries.count <= k {
                condition.unlock()
                return
            }
            nextSegment += 1
            let start = boundaries[k]
            let end = boundaries.count > k + 1 ? boundaries[k + 1].offset : nil
            condition.unlock()

            let segmentSink = SegmentSink(owner: self, segment: k)
            var segmentError: (any Error)?
            var written = 0
            do {
                var o = options
                o.verifiesChecksum = false
                let reader = try RDBReader(resumingAt: start.offset, path: path, header: header, db: start.db, options: o)
                written = try render(reader, end, segmentSink)
            } catch {
                segmentError = error
            }
            if segmentError is Cancelled { return }
            // Wait for this segment's turn, write what is buffered, pass the turn on (or stop everything).
            condition.lock()
            while turn != k && failure == nil { condition.wait() }
            if failure != nil {
                condition.unlock()
                return
            }
            do {
                try segmentSink.flushBuffered()
            } catch {
                segmentError = segmentError ?? error
            }
            keysWritten += written
            if let segmentError {
                failure = (k, segmentError)
            } else {
                turn = k + 1
            }
            condition.broadcast()
            condition.unlock()
            if segmentError != nil { return }
        }
    }

    /// Output of one segment: straight to the sink on its turn, buffered before.
    final class SegmentSink: JSONByteSink {
        unowned let owner: ParallelJSONExport
        let segment: Int
        var buffer: [UInt8] = []

        init(owner: ParallelJSONExport, segment: Int) {
            self.owner = owner
            self.segment = segment
        }

        func write(_ bytes: UnsafeRawBufferPointer) throws {
            let c = owner.condition
            c.lock()
            while true {
                if owner.failure != nil {
                    c.unlock()
                    throw Cancelled()
                }
                if owner.turn == segment {
                    // Only the turn's holder writes, and only it passes the turn on: write unlocked.
                    c.unlock()
                    if !buffer.isEmpty {
                        try owner.sink.write(buffer)
                        buffer = []
                    }
                    try owner.sink.write(bytes)
                    return
                }
                if buffer.count + bytes.count <= owner.bufferLimit {
                    buffer.append(contentsOf: bytes)
                    c.unlock()
                    return
                }
                c.wait()
            }
        }

        /// Called on this segment's turn, with the lock held.
        func flushBuffered() throws {
            if !buffer.isEmpty {
                try owner.sink.write(buffer)
                buffer = []
            }
        }
    }
}
