import RedisClient
import RedisFormats

/// The key that tells, on the target itself, how far an AOF replay got.
///
/// AOF commands are not idempotent (`INCR`), and a command sent on a connection that then broke may or may
/// not have been applied. So with a marker the replayer sends AOF commands in `MULTI … EXEC` batches that
/// end with `SET <marker> "<file index>:<offset>"` (the source position of the batch's last command). A
/// batch is applied whole or not at all, and with the marker: after a reconnect or a restart, `GET
/// <marker>` says exactly which batches the target holds, whatever replies were lost.
struct ReplayMarker {
    var key: RedisBytes
    /// The database the marker lives in (the URI's, 0 by default).
    var db: UInt64

    struct Position: Comparable {
        var fileIndex: Int
        var offset: Int64
        static func < (a: Position, b: Position) -> Bool {
            (a.fileIndex, a.offset) < (b.fileIndex, b.offset)
        }
    }

    /// A fresh marker name: `rdbkit:replay:<16 hex digits>`.
    static func newKey() -> String { "rdbkit:replay:" + ReplaySettings.randomHex16() }

    static func value(_ p: Position) -> RedisBytes { RedisBytes("\(p.fileIndex):\(p.offset)") }

    static func parse(_ bytes: [UInt8]) -> Position? {
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: ":")
        guard parts.count == 2, let f = Int(parts[0]), let o = Int64(parts[1]) else { return nil }
        return Position(fileIndex: f, offset: o)
    }

    /// The marker's position on the target, nil when it is not there (no batch applied yet).
    /// `connection` must have the marker's database selected.
    func read(_ connection: RedisConnection) throws -> Position? {
        let reply = try connection.call(["GET", key])
        if let e = reply.errorMessage { throw RedisClientError(.server, e, command: "GET") }
        return reply.bytes.flatMap(Self.parse)
    }
}

/// The batch being queued.
final class ReplayBatch {
    var isOpen = false
    /// Source commands in the batch, and where the last one is.
    var count = 0
    var end: ReplayMarker.Position?
    /// The tags of the queued commands, in order: the `EXEC` reply answers them.
    var tags: [Replayer.Tag] = []
    /// Source commands per batch.
    var limit = 256
}

extension Replayer {
    private func controlTicket() -> Ticket {
        Ticket(kind: .control, db: currentDB, key: nil, offset: batch.end?.offset ?? 0, file: "")
    }

    /// `MULTI`, unless a batch is open. The database is unknown inside a batch until its first `SELECT`
    /// (a batch the server aborts leaves the connection where it was).
    func openBatch() throws {
        guard !batch.isOpen else { return }
        let t = controlTicket()
        try send(["MULTI"], t)
        release(t)
        batch.isOpen = true
        batch.count = 0
        batch.end = nil
        currentDB = .max
    }

    /// A source command (or a whole source transaction) was queued.
    func batchCommandDone(fileIndex: Int, offset: Int64) throws {
        batch.count += 1
        batch.end = ReplayMarker.Position(fileIndex: fileIndex, offset: offset)
        if batch.count >= batch.limit { try closeBatch() }
    }

    /// `SELECT <marker db>`, `SET <marker> <position>`, `EXEC`.
    func closeBatch() throws {
        guard batch.isOpen, let marker else { return }
        if let end = batch.end {
            try select(marker.db, offset: end.offset, file: "")
            let t = controlTicket()
            try send(["SET", marker.key, ReplayMarker.value(end)], t)
            release(t)
        }
        try finishBatch(with: "EXEC", answering: batch.tags)
    }

    /// `DISCARD`: nothing of the batch is applied. `asSkipped`: its commands count as done (a source
    /// `DISCARD`, a `MULTI` the AOF never closed, as Redis drops them on load); otherwise they stay
    /// unacknowledged, to be sent again by `--resume`.
    func discardBatch(asSkipped: Bool) throws {
        guard batch.isOpen else { return }
        try finishBatch(with: "DISCARD", answering: asSkipped ? batch.tags : [])
    }

    private func finishBatch(with command: RedisBytes, answering tags: [Tag]) throws {
        batch.isOpen = false
        batch.tags = []
        batch.count = 0
        let t = controlTicket()
        t.remaining += 1
        try pipeline.send([command], tag: Tag(ticket: t, command: command.utf8String ?? "EXEC", batch: tags))
        release(t)
        currentDB = .max
    }

    /// Replies inside a batch: `+QUEUED` (or a refusal to queue), then the `EXEC` array, one reply per
    /// queued command.
    func handleBatchReply(_ tag: Tag, _ reply: RESPValue) {
        if tag.deferred {
            if let e = reply.errorMessage, tag.ticket.failure == nil { tag.ticket.failure = (tag.command, e) }
            return
        }
        let tags = tag.batch ?? []
        func plain(_ t: Tag) -> Tag {
            var p = t
            p.deferred = false
            return p
        }
        if tag.command == "EXEC" {
            if case .array(let items?) = reply, items.count == tags.count {
                for (t, item) in zip(tags, items) { handle(plain(t), item) }
            } else {
                // EXECABORT: a command was refused when queued; nothing of the batch was applied.
                let e = reply.errorMessage ?? "EXEC answered \(reply)"
                for t in tags { handle(plain(t), .error(e)) }
            }
        } else {
            for t in tags { handle(plain(t), .simpleString("OK")) }
        }
        var own = tag
        own.batch = nil
        handle(own, .simpleString("OK"))
    }

    /// Deletes the marker once everything is applied.
    func removeMarker() throws {
        guard let marker else { return }
        try drain()
        _ = try pipeline.call(["SELECT", RedisBytes(String(marker.db))])
        let reply = try pipeline.call(["DEL", marker.key])
        if let e = reply.errorMessage { throw RedisClientError(.server, e, command: "DEL") }
        currentDB = marker.db
    }
}

extension ReplaySummary {
    /// Adds the counts of another attempt (a retry after a lost connection).
    mutating func add(_ o: ReplaySummary) {
        keysWritten += o.keysWritten
        keysSkipped += o.keysSkipped
        keysFailed += o.keysFailed
        keysExpired += o.keysExpired
        keysFiltered += o.keysFiltered
        keysRestored += o.keysRestored
        keysReencoded += o.keysReencoded
        keysAsCommands += o.keysAsCommands
        functionsLoaded += o.functionsLoaded
        functionsSkipped += o.functionsSkipped
        functionsFailed += o.functionsFailed
        commandsForwarded += o.commandsForwarded
        commandsFailed += o.commandsFailed
        commandsSent += o.commandsSent
        bytesSent += o.bytesSent
        if !o.mode.isEmpty { mode = o.mode }
        if !o.clusterCounters.isEmpty { clusterCounters = o.clusterCounters }  // one attempt only: no retries
    }
}

extension ReplayMarker {
    /// Which server process, and which client of it, a connection is.
    struct ClientIdentity {
        var runID: String
        var clientID: Int64
    }

    /// The client is `pipeline`'s when given (a pipeline may have a socket of its own), else `c`.
    static func identity(_ c: RedisConnection, of pipeline: RedisPipeline<Replayer.Tag>? = nil) -> ClientIdentity? {
        let reply = try? pipeline.map { try $0.call(["CLIENT", "ID"]) } ?? c.call(["CLIENT", "ID"])
        guard case .integer(let id)? = reply,
            let info = try? ReplaySync.info(c, "server"), let run = ReplaySync.field(info, "run_id")
        else { return nil }
        return ClientIdentity(runID: run, clientID: id)
    }

    /// Ends the broken connection on the server if the server still has it (a cut the server has not
    /// noticed yet): bytes of it still in the server's socket buffer would otherwise run after the marker
    /// is read. `CLIENT KILL` runs between commands, so a batch of the old client is applied whole or not
    /// at all. Only on the same server process (`run_id`): after a restart client ids start again.
    static func endOld(_ old: ClientIdentity, on c: RedisConnection) {
        guard let now = identity(c), now.runID == old.runID, now.clientID != old.clientID else { return }
        _ = try? c.call(["CLIENT", "KILL", "ID", RedisBytes(String(old.clientID))])
    }
}
