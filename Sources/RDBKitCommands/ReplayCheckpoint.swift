#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import RedisFormats
import RedisFormatsJSON

/// `--checkpoint FILE`: how far the server acknowledged a replay, so `--resume` sends nothing twice.
///
/// Replies come in send order, so the tickets (keys, functions, AOF commands, whole `MULTI … EXEC` blocks)
/// finish in source order. The *watermark* is the end of the longest acknowledged prefix: for an RDB or JSON
/// Lines the offset where the next record starts (an RDB is resumed there with
/// `RDBReader(resumingAt:path:header:db:options:)`); for an AOF the file index and offset of the last
/// acknowledged command (or key record of an RDB part). After a failure with `--on-error stop`, records in
/// flight behind the failed one may still succeed: they are listed (`acknowledged_beyond`) and skipped on
/// resume, while the failed one is sent again.
///
/// With a Redis Cluster target replies come from several masters, so tickets finish out of send order: the
/// watermark then moves past a ticket only once every ticket sent before it has finished, that is once every
/// node acknowledged everything up to there (``track(_:)``, ``settle()``).
///
/// The file is JSON, written durably: a temporary file, fsync, rename, fsync of the directory.
final class ReplayCheckpoint {
    struct Watermark: Equatable {
        var fileIndex: Int
        var offset: Int64
        var db: UInt64
    }

    let path: String
    let kind: String
    let source: String
    let sourceSize: Int64?
    private(set) var watermark: Watermark?
    private(set) var beyond: [(fileIndex: Int, offset: Int64)] = []
    private var gap = false
    private var lastWrite = 0.0
    /// Set once the whole source was replayed without a stop.
    var complete = false
    /// False for the in-memory tracker of `--retries` without `--checkpoint`: nothing is written.
    var persistent = true
    /// The AOF batch marker key (``ReplayMarker``), kept so `--resume` reads the same one.
    var marker: String?
    /// The staging keys' suffix (``ReplaySettings/stagingSuffix``), kept so `--resume` deletes a staging
    /// key the earlier run left half-written.
    var staging: String?
    /// AOF: the position of the last command whose reply arrived, acknowledged or failed. Past it the
    /// marker on the target tells what was applied; up to it the acknowledgements do.
    private(set) var replied: ReplayMarker.Position?

    init(path: String, kind: String, source: String, sourceSize: Int64?) {
        self.path = path
        self.kind = kind
        self.source = source
        self.sourceSize = sourceSize
    }

    /// Continues from a checkpoint written by an earlier run.
    func adopt(_ previous: ReplayCheckpoint) {
        watermark = previous.watermark
        beyond = previous.beyond
        marker = previous.marker
        staging = previous.staging
        replied = previous.replied
    }

    /// Whether a record (by file index and offset) was acknowledged by an earlier run.
    func covers(fileIndex: Int, offset: Int64) -> Bool {
        if let w = watermark {
            if kind == "aof" {
                if fileIndex < w.fileIndex || (fileIndex == w.fileIndex && offset <= w.offset) { return true }
            } else if offset < w.offset {
                return true
            }
        }
        return beyond.contains { $0.fileIndex == fileIndex && $0.offset == offset }
    }

    /// Tickets in the order their last command was sent (from `head` on), and the outcomes of those that
    /// finished before an earlier one.
    private var order: [Replayer.Ticket] = []
    private var head = 0
    private var outcomes: [ObjectIdentifier: Bool?] = [:]

    /// A ticket whose commands are all sent: it is acknowledged in this order.
    func track(_ t: Replayer.Ticket) {
        order.append(t)
    }

    /// A ticket finished: `handled` when it succeeded, or failed under `--on-error skip` (it is reported);
    /// nil for a ticket that records nothing (a `SELECT` that succeeded).
    func acknowledge(_ t: Replayer.Ticket, handled: Bool?) {
        guard head < order.count else { return record(t, handled) }
        if outcomes.isEmpty && order[head] === t {
            // In order, nothing waiting (a single server): what the loop below does, without the table.
            head += 1
            record(t, handled)
        } else {
            outcomes[ObjectIdentifier(t)] = handled
            while head < order.count, let outcome = outcomes.removeValue(forKey: ObjectIdentifier(order[head])) {
                let next = order[head]
                head += 1
                record(next, outcome)
            }
        }
        if head > 4096 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }

    /// At the end of a run: tickets still without a reply (a connection that broke) count as failed, and
    /// those that finished after them as acknowledged beyond.
    func settle() {
        while head < order.count {
            let t = order[head]
            head += 1
            if let o = outcomes.removeValue(forKey: ObjectIdentifier(t)) {
                record(t, o)
            } else {
                record(t, false, replied: false)
            }
        }
        order = []
        head = 0
    }

    /// After a lost connection, before the replay goes on on a new one (`--retries`, single server): the
    /// tickets still without a reply are forgotten, neither acknowledged nor failed; the next attempt
    /// sends them again from the watermark (or the marker says they were applied).
    func abandonPending() {
        order = []
        head = 0
        outcomes = [:]
    }

    /// `replied`: the ticket's reply arrived (false for one counted as failed by ``settle()``).
    private func record(_ t: Replayer.Ticket, _ handled: Bool?, replied hasReply: Bool = true) {
        guard let handled else { return }
        if kind == "aof" && hasReply {
            replied = ReplayMarker.Position(fileIndex: t.fileIndex, offset: t.resumeOffset ?? t.offset)
        }
        guard handled else {
            gap = true
            return
        }
        if !gap, let r = t.resumeOffset {
            watermark = Watermark(fileIndex: t.fileIndex, offset: r, db: t.sourceDB)
        } else if gap {
            beyond.append((t.fileIndex, t.offset))
        }
        guard persistent else { return }
        let now = Terminal.now()
        if now - lastWrite >= 1 {
            lastWrite = now
            try? write()
        }
    }

    /// Writes the checkpoint durably.
    func write() throws {
        guard persistent else { return }
        beyond.removeAll { watermark != nil && covers(fileIndexWithoutBeyond: $0.fileIndex, offset: $0.offset) }
        let e = JSONEmitter(capacity: 4096)
        e.beginObject()
        e.key("version"); e.int(Int64(1))
        e.key("kind"); e.string(kind)
        e.key("source"); e.string(source)
        if let sourceSize { e.key("source_size"); e.int(sourceSize) }
        if let w = watermark {
            e.key("file_index"); e.int(Int64(w.fileIndex))
            e.key("offset"); e.int(w.offset)
            e.key("db"); e.int(Int64(w.db))
        }
        e.key("acknowledged_beyond")
        e.beginArray()
        for b in beyond {
            e.beginArray()
            e.int(Int64(b.fileIndex))
            e.int(b.offset)
            e.endArray()
        }
        e.endArray()
        if let marker { e.key("marker"); e.string(marker) }
        if let staging { e.key("staging"); e.string(staging) }
        if let r = replied {
            e.key("replied_file_index"); e.int(Int64(r.fileIndex))
            e.key("replied_offset"); e.int(r.offset)
        }
        e.key("complete"); e.bool(complete)
        e.endObject()
        try Self.writeDurably(path: path, bytes: e.output + [0x0A])
    }

    private func covers(fileIndexWithoutBeyond fileIndex: Int, offset: Int64) -> Bool {
        guard let w = watermark else { return false }
        if kind == "aof" { return fileIndex < w.fileIndex || (fileIndex == w.fileIndex && offset <= w.offset) }
        return offset < w.offset
    }

    /// Temporary file in the same directory, fsync, rename over `path`, fsync of the directory.
    static func writeDurably(path: String, bytes: [UInt8]) throws {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RDBError(.io, "cannot write the checkpoint \(tmp): \(String(cString: strerror(errno)))") }
        var ok = bytes.withUnsafeBytes { p -> Bool in
            var done = 0
            while done < p.count {
                let n = posixWrite(fd, p.baseAddress! + done, p.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                done += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            unlink(tmp)
            throw RDBError(.io, "cannot write the checkpoint \(path): \(String(cString: strerror(errno)))")
        }
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let dfd = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    /// Reads a checkpoint file.
    static func load(path: String) throws -> ReplayCheckpoint {
        guard let data = FileManager.default.contents(atPath: path),
            let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            (o["version"] as? NSNumber)?.intValue == 1, let kind = o["kind"] as? String, let source = o["source"] as? String
        else { throw RDBError(.corrupt, "\(path) is not an rdbkit replay checkpoint") }
        let c = ReplayCheckpoint(
            path: path, kind: kind, source: source, sourceSize: (o["source_size"] as? NSNumber)?.int64Value)
        if let fi = o["file_index"] as? NSNumber, let off = o["offset"] as? NSNumber {
            c.watermark = Watermark(
                fileIndex: fi.intValue, offset: off.int64Value, db: (o["db"] as? NSNumber)?.uint64Value ?? 0)
        }
        for pair in o["acknowledged_beyond"] as? [[NSNumber]] ?? [] where pair.count == 2 {
            c.beyond.append((pair[0].intValue, pair[1].int64Value))
        }
        c.complete = (o["complete"] as? Bool) ?? false
        c.marker = o["marker"] as? String
        c.staging = o["staging"] as? String
        if let fi = o["replied_file_index"] as? NSNumber, let off = o["replied_offset"] as? NSNumber {
            c.replied = ReplayMarker.Position(fileIndex: fi.intValue, offset: off.int64Value)
        }
        return c
    }
}

/// `write(2)`, named so the class's own `write()` does not shadow it.
private func posixWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }
