#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import RedisClient
import RedisFormats
import RedisFormatsJSON

/// How `rdbkit replay` writes, decided from the options.
struct ReplaySettings {
    enum Mode: String, CaseIterable {
        /// `restore` when the target's RDB version is at least the source's, else `commands`.
        case auto
        case restore
        case commands
    }
    /// What to do with a key that already exists on the target.
    enum Existing {
        case replace, skip, fail
    }
    enum OnError: String, CaseIterable {
        case stop, skip
    }

    var mode = Mode.auto
    var existing = Existing.replace
    var onError = OnError.stop
    var databaseMap: [UInt64: UInt64] = [:]
    var filter = RDBKeyFilter()
    var reader = RDBReader.Options()
    var maximumInFlight = 1024
    var reportPath: String?
    /// Append to the report (a retry's replayer) rather than start it afresh.
    var appendsReport = false
    /// The target held no key when the replay started (and nothing was sent before): commands mode
    /// needs no `DEL` before each key of an RDB.
    var targetEmpty = false
    var now: Int64 = 0
    /// What follows a key's name to make its staging key in commands mode (Replayer.streamCommands):
    /// `:rdbkit-staging-<16 hex digits>`, one per replay (kept in the checkpoint for `--resume`).
    var stagingSuffix = ReplaySettings.newStagingSuffix()
    /// Each staging key is deleted before it is written: a retry or a `--resume` may find one half
    /// written by the attempt before.
    var clearsStaging = false

    static func newStagingSuffix() -> String { ":rdbkit-staging-" + randomHex16() }

    /// 16 random hexadecimal digits (64 bits from the system generator): the unique part of the names of
    /// staging keys and AOF markers.
    static func randomHex16() -> String {
        let digits = Array("0123456789abcdef")
        var g = SystemRandomNumberGenerator()
        return String((0..<16).map { _ in digits[Int(g.next() % 16)] })
    }
}

/// What a replay did.
struct ReplaySummary {
    var keysWritten = 0
    var keysSkipped = 0
    var keysFailed = 0
    var keysExpired = 0
    var keysFiltered = 0
    /// Of the written keys: RESTOREd with the value bytes as read, RESTOREd re-encoded for the target,
    /// written as commands.
    var keysRestored = 0
    var keysReencoded = 0
    var keysAsCommands = 0
    var functionsLoaded = 0
    var functionsSkipped = 0
    var functionsFailed = 0
    /// AOF commands forwarded as they are (SELECTs not counted).
    var commandsForwarded = 0
    var commandsFailed = 0
    var commandsSent = 0
    var bytesSent: Int64 = 0
    var seconds = 0.0
    var mode = ""

    /// Redirections and such, for a cluster target (``ClusterReplay/counters``).
    var clusterCounters: [(name: String, value: Int)] = []

    var failures: Int { keysFailed + functionsFailed + commandsFailed }
}

/// Writes keys, functions and AOF commands into a server through one pipelined connection.
///
/// Every command carries a ticket: what it writes (a key, a function, a forwarded command) and where in the
/// source that came from, so a server error names the key, the command and the source offset.
final class Replayer {
    let connection: RedisConnection
    let target: RDBTarget
    let settings: ReplaySettings
    private(set) var summary = ReplaySummary()
    /// The first failure when `--on-error stop`: the replay stops sending and throws it.
    private(set) var stopError: RedisClientError? {
        didSet { shouldStop = stopError != nil }
    }
    /// Whether ``stopError`` is set (a stored flag: testing the optional error on every key copies it).
    private(set) var shouldStop = false
    var onProgress: ((Int64, Int) -> Void)?
    /// Tracks what the server acknowledged, for `--checkpoint`.
    var checkpoint: ReplayCheckpoint?
    /// Set for a Redis Cluster target: commands go by hash slot to the masters (ClusterReplay.swift).
    var cluster: ClusterReplay?

    private(set) var pipeline: RedisPipeline<Tag>!
    var currentDB: UInt64
    /// AOF commands in `MULTI … EXEC` batches that also set a marker key (Replayer+Batches.swift).
    var marker: ReplayMarker?
    let batch = ReplayBatch()
    private let recordCommands: RecordCommands
    /// RESTORE payloads of values copied as stored, and commands of values read part by part: buffers kept
    /// from key to key.
    private let dumpBuilder = DumpPayloadBuilder()
    private lazy var respWriter = RecordRESPWriter(commands: recordCommands)
    private var reportFD: Int32 = -1
    private let emitter = JSONEmitter(capacity: 4096)

    final class Ticket {
        enum Kind { case key, function, command, control }
        let kind: Kind
        let db: UInt64
        let key: RedisBytes?
        let offset: Int64
        let file: String
        /// Replies owed, plus one hold until every command of the ticket is sent (``release(_:)``), so a
        /// reply read while the rest is still being sent cannot finish it early.
        var remaining = 1
        var skipped = false
        /// For checkpoints: the source file (index of an AOF part), the source database, and where the
        /// next record starts (RDB, JSON Lines) or the offset of the ticket's last command (AOF).
        var fileIndex = 0
        var sourceDB: UInt64 = 0
        var resumeOffset: Int64?
        var failure: (command: String, message: String)?
        /// How a key was written, counted once all its replies are in.
        var how: How = .restored

        enum How { case restored, reencoded, commands }

        init(kind: Kind, db: UInt64, key: RedisBytes?, offset: Int64, file: String) {
            self.kind = kind
            self.db = db
            self.key = key
            self.offset = offset
            self.file = file
        }
    }

    struct Tag {
        var ticket: Ticket
        var command: String
        /// Queued in a batch: the reply is `+QUEUED`; the outcome comes in the `EXEC` reply.
        var deferred = false
        /// An `EXEC`: the queued commands its reply answers, in order.
        var batch: [Tag]?
    }

    init(connection: RedisConnection, target: RDBTarget, settings: ReplaySettings, initialDB: UInt64) throws {
        self.connection = connection
        self.target = target
        self.settings = settings
        self.currentDB = initialDB
        var rc = RecordCommands()
        rc.redis7Syntax = target.dialect == .valkey || target.rdbVersion >= 10
        rc.dumpVersion = UInt16(target.rdbVersion)
        recordCommands = rc
        if let path = settings.reportPath {
            reportFD = open(path, O_WRONLY | O_CREAT | (settings.appendsReport ? O_APPEND : O_TRUNC) | O_CLOEXEC, 0o644)
            guard reportFD >= 0 else { throw RDBError(.io, "cannot create the report \(path): \(String(cString: strerror(errno)))") }
        }
        // A socket of its own for a server without TLS (RedisSocketLink): the bulk of the traffic without an
        // event loop in between.
        pipeline = try RedisPipeline(ownSocketTo: connection, maximumInFlight: settings.maximumInFlight) { [unowned self] tag, reply in
            self.handle(tag, reply)
        }
    }

    deinit {
        if reportFD >= 0 { close(reportFD) }
        pipeline?.close()
    }


    // MARK: Replies

    func handle(_ tag: Tag, _ reply: RESPValue) {
        if tag.deferred || tag.batch != nil {
            handleBatchReply(tag, reply)
            return
        }
        let t = tag.ticket
        if let e = reply.firstError {
            if settings.existing == .skip && tag.command == "RESTORE" && e.hasPrefix("BUSYKEY") {
                t.skipped = true
            } else if settings.existing == .skip && t.kind == .function && e.contains("already exists") {
                t.skipped = true
            } else if t.failure == nil {
                t.failure = (tag.command, e)
            }
        }
        t.remaining -= 1
        if t.remaining == 0 { finish(t) }
    }

    private func finish(_ t: Ticket) {
        if t.kind != .control {
            checkpoint?.acknowledge(t, handled: t.failure == nil || settings.onError == .skip)
        } else if t.failure != nil {
            checkpoint?.acknowledge(t, handled: false)  // a failed SELECT: what follows went elsewhere
        } else {
            checkpoint?.acknowledge(t, handled: nil)
        }
        if let f = t.failure {
            switch t.kind {
            case .key: summary.keysFailed += 1
            case .function: summary.functionsFailed += 1
            case .command, .control: summary.commandsFailed += 1
            }
            let error = RedisClientError(
                .server, f.message, command: f.command, key: t.key, db: t.db, sourceOffset: t.offset, sourceFile: t.file)
            writeReport(t, command: f.command, message: f.message)
            if settings.onError == .stop || t.kind == .control {
                if stopError == nil { stopError = error }
            }
            return
        }
        switch t.kind {
        case .key:
            if t.skipped {
                summary.keysSkipped += 1
            } else {
                summary.keysWritten += 1
                switch t.how {
                case .restored: summary.keysRestored += 1
                case .reencoded: summary.keysReencoded += 1
                case .commands: summary.keysAsCommands += 1
                }
            }
        case .function:
            if t.skipped { summary.functionsSkipped += 1 } else { summary.functionsLoaded += 1 }
        case .command:
            summary.commandsForwarded += 1
        case .control:
            break
        }
    }

    /// One JSON line per failure: `{"db":0,"key":"k","source":"dump.rdb","source_offset":31,"command":"RESTORE","error":"…"}`.
    private func writeReport(_ t: Ticket, command: String, message: String) {
        guard reportFD >= 0 else { return }
        emitter.reset()
        emitter.beginObject()
        emitter.key("kind")
        switch t.kind {
        case .key: emitter.string("key")
        case .function: emitter.string("function")
        case .command, .control: emitter.string("command")
        }
        emitter.key("db")
        emitter.int(Int64(t.db))
        if let k = t.key {
            emitter.key("key")
            emitter.bytes(k)
        }
        emitter.key("source")
        emitter.string(t.file)
        emitter.key("source_offset")
        emitter.int(t.offset)
        emitter.key("command")
        emitter.string(command)
        emitter.key("error")
        emitter.string(message)
        emitter.endObject()
        Terminal.writeAll(reportFD, emitter.output + [0x0A])
    }

    // MARK: Sending

    func send(_ argv: [RedisBytes], _ ticket: Ticket, name: String? = nil) throws {
        ticket.remaining += 1
        var tag = Tag(ticket: ticket, command: name ?? argv.first?.utf8String?.uppercased() ?? "?")
        if batch.isOpen {
            // Batches need a marker, which a cluster replay does not use (ReplayCommand).
            tag.deferred = true
            batch.tags.append(tag)
        }
        if let cluster { return try cluster.send(argv, tag: tag) }
        try pipeline.send(argv, tag: tag)
    }

    /// Whether commands can be written as RESP straight into the pipeline: one server (a cluster routes
    /// argument arrays) and no `MULTI … EXEC` batch open (whose tags are collected).
    var sendsDirect: Bool { cluster == nil && !batch.isOpen }

    /// Sends one command that `encode` appends as RESP. Only when ``sendsDirect``.
    func sendEncoded(_ ticket: Ticket, name: String, _ encode: (inout [UInt8]) -> Void) throws {
        ticket.remaining += 1
        try pipeline.send(tag: Tag(ticket: ticket, command: name), encodedBy: encode)
    }

    /// Drops a ticket's hold once all its commands are sent.
    func release(_ ticket: Ticket) {
        checkpoint?.track(ticket)
        ticket.remaining -= 1
        if ticket.remaining == 0 { finish(ticket) }
    }

    func select(_ db: UInt64, offset: Int64, file: String) throws {
        guard db != currentDB else { return }
        let t = Ticket(kind: .control, db: db, key: nil, offset: offset, file: file)
        try send(["SELECT", RedisBytes(String(db))], t)
        release(t)
        currentDB = db
    }

    /// Empties the target (`FLUSHALL`), waiting for the reply.
    func flushTarget() throws {
        if let cluster { return try cluster.flushAll() }
        let reply = try pipeline.call(["FLUSHALL"])
        if let e = reply.errorMessage { throw RedisClientError(.server, e, command: "FLUSHALL") }
    }

    /// Writes what is queued and waits for every reply.
    func drain() throws {
        if let cluster {
            try cluster.drain()
            summary.bytesSent = cluster.pipeline.bytesSent
            summary.commandsSent = cluster.pipeline.commandsSent
            summary.clusterCounters = cluster.counters
            return
        }
        try pipeline.drain()
        summary.bytesSent = pipeline.bytesSent
        summary.commandsSent = pipeline.commandsSent
    }

    // MARK: Keys

    /// Whether values of an RDB with this header are RESTOREd (otherwise written as commands).
    func restores(sourceVersion: Int?, dialect: RDBDialect?) -> Bool {
        switch settings.mode {
        case .restore: return true
        case .commands: return false
        case .auto:
            guard let v = sourceVersion else { return true }
            if dialect == .valkey && target.dialect == .redis { return false }
            return target.rdbVersion >= v
        }
    }

    /// Whether the target takes a value stored as `type` byte for byte.
    func copiesRaw(_ type: RDBValueType) -> Bool {
        target.supports(type) && type != .hashMetadataPreGA && type != .hashListpackExPreGA
    }

    /// The key record just read from `reader`: filtered, expired, or written.
    func replayKey(_ h: RDBKeyHeader, reader: RDBReader, file: String, fileIndex: Int, aofPart: Bool, restore: Bool) throws {
        var value: RedisValue?
        switch settings.filter.matches(h) {
        case false?:
            summary.keysFiltered += 1
            try reader.skipValue()
            return
        case nil:
            // A module type filter: the type name is in the value.
            let v = try reader.readValue()
            guard case .module(let m) = v, settings.filter.matchesModule(m.type) else {
                summary.keysFiltered += 1
                return
            }
            value = v
        case true?:
            break
        }
        if let x = h.expiresAt, x.milliseconds <= settings.now {
            summary.keysExpired += 1
            if value == nil { try reader.skipValue() }
            return
        }
        let db = settings.databaseMap[h.db] ?? h.db
        let ticket = Ticket(kind: .key, db: db, key: h.key, offset: h.offset, file: file)
        ticket.fileIndex = fileIndex
        ticket.sourceDB = h.db
        if restore && value == nil && copiesRaw(h.valueType) {
            try dumpBuilder.build(from: reader, type: h.valueType, version: UInt16(target.rdbVersion))
            ticket.resumeOffset = aofPart ? h.offset : reader.offset
            try select(db, offset: h.offset, file: file)
            try restoreKey(h, payload: dumpBuilder.payload, ticket: ticket)
            release(ticket)
            return
        }
        if !restore && value == nil && sendsDirect && RecordRESPWriter.writes(h.valueType) {
            if settings.existing == .replace {
                try streamCommands(h, reader: reader, db: db, aofPart: aofPart, ticket: ticket)
                return
            }
            // Commands written as the reader lends the value's parts; sent once the value is read whole.
            respWriter.begin(key: h.key, type: h.valueType)
            try reader.visitValue(respWriter)
            respWriter.end(expiresAt: h.expiresAt)
            ticket.resumeOffset = aofPart ? h.offset : reader.offset
            try select(db, offset: h.offset, file: file)
            ticket.how = .commands
            guard try clearForCommands(h, ticket: ticket) else { return }
            try sendWrittenCommands(ticket)
            release(ticket)
            return
        }
        let v = try value ?? reader.readValue()
        ticket.resumeOffset = aofPart ? h.offset : reader.offset
        try writeDecoded(h, value: v, db: db, restore: restore, ticket: ticket)
    }

    /// The key being written by ``streamCommands(_:reader:db:aofPart:ticket:)`` and the first error met
    /// sending its commands before it ended.
    private var streaming: Ticket?
    private var spillError: (any Error)?
    private var spilled = false

    /// `--existing replace` in commands mode: the key's commands are written as the reader lends the
    /// value's parts, and a big value's batches are sent while the rest is still being read (the server
    /// works on them meanwhile, and they are not all held).
    ///
    /// On a target that may hold the key, nothing is deleted before the value is read whole: a string's
    /// `SET` replaces the key in one step, and other types are built under a staging key (the key's name
    /// followed by ``stagingSuffix``, so key-pattern ACLs such as `~app:*` cover it) that `RENAME` moves over
    /// the key at the end (RecordRESPWriter). A value that fails to read half-way leaves the key as it was;
    /// what was sent of it is deleted again (the staging key, or on an empty target the key itself), then
    /// the error is thrown.
    private func streamCommands(_ h: RDBKeyHeader, reader: RDBReader, db: UInt64, aofPart: Bool, ticket: Ticket) throws {
        try select(db, offset: h.offset, file: ticket.file)
        ticket.how = .commands
        let staging = settings.targetEmpty || !RecordRESPWriter.stages(h.valueType) ? nil : RedisBytes(h.key.bytes + stagingSuffix)
        if let staging, settings.clearsStaging {
            try sendDel(staging.bytes, ticket)
        }
        if respWriter.whenFull == nil { respWriter.whenFull = { [unowned self] in self.spill() } }
        respWriter.begin(key: h.key, type: h.valueType, stagingKey: staging)
        streaming = ticket
        spilled = false
        do {
            try reader.visitValue(respWriter)
        } catch {
            streaming = nil
            spillError = nil
            if spilled {
                try sendDel((staging ?? h.key).bytes, ticket)
            }
            throw error
        }
        streaming = nil
        if let e = spillError {
            spillError = nil
            throw e
        }
        respWriter.end(expiresAt: h.expiresAt)
        ticket.resumeOffset = aofPart ? h.offset : reader.offset
        try sendWrittenCommands(ticket)
        release(ticket)
    }

    private lazy var stagingSuffix: [UInt8] = Array(settings.stagingSuffix.utf8)

    /// Sends the commands the record writer holds for `ticket`'s key and drops them from the writer.
    private func sendWrittenCommands(_ ticket: Ticket) throws {
        try respWriter.takeCommands { name, resp in
            try sendEncoded(ticket, name: name) { $0.append(contentsOf: resp) }
        }
    }

    /// ``RecordRESPWriter/whenFull``: sends the batches written so far of the key being streamed.
    private func spill() {
        guard let t = streaming else { return }  // the key's last batch, closed by end(expiresAt:)
        guard spillError == nil else {
            respWriter.takeCommands { _, _ in }  // not sent: the error ends the replay
            return
        }
        do {
            try sendWrittenCommands(t)
            spilled = true
        } catch {
            spillError = error
        }
    }

    /// A key with its decoded value (a JSON line, or an RDB value the target cannot take as stored).
    /// Releases the ticket.
    func writeDecoded(_ h: RDBKeyHeader, value: RedisValue, db: UInt64, restore: Bool, ticket: Ticket) throws {
        try select(db, offset: h.offset, file: ticket.file)
        if restore {
            if let e = try? RDBWriter.encodeValue(value, key: h.key, for: target), e.loss.streamFields.isEmpty {
                ticket.how = .reencoded
                let payload = RecordCommands.dumpPayload([e.type.byte] + e.body, version: UInt16(target.rdbVersion))
                try restoreKey(h, payload: payload, ticket: ticket)
                release(ticket)
                return
            }
        }
        ticket.how = .commands
        guard try clearForCommands(h, ticket: ticket) else { return }
        for argv in recordCommands.commands(key: h.key, value: value, expiresAt: h.expiresAt) {
            try send(argv, ticket)
        }
        release(ticket)
    }

    /// Before a key's commands: `DEL` it (`--existing replace`, unless the target started empty), or ask
    /// whether it exists (`skip`, `fail`). False when the key is not to be written: the ticket is released.
    private func clearForCommands(_ h: RDBKeyHeader, ticket: Ticket) throws -> Bool {
        switch settings.existing {
        case .replace:
            if !settings.targetEmpty {
                if sendsDirect {
                    try sendDel(h.key.bytes, ticket)
                } else {
                    try send(["DEL", h.key], ticket, name: "DEL")
                }
            }
        case .skip, .fail:
            let reply = try cluster?.call(["EXISTS", h.key]) ?? pipeline.call(["EXISTS", h.key])
            if case .integer(let n) = reply, n > 0 {
                if settings.existing == .skip {
                    ticket.skipped = true
                } else {
                    ticket.failure = ("EXISTS", "BUSYKEY the key exists on the target (commands mode without --replace)")
                }
                release(ticket)
                return false
            }
        }
        return true
    }

    private static let delHead: [UInt8] = Array("*2\r\n$3\r\nDEL\r\n".utf8)

    /// `DEL key`, encoded straight into the bulk pipeline as part of the ticket's commands.
    private func sendDel(_ key: [UInt8], _ ticket: Ticket) throws {
        try sendEncoded(ticket, name: "DEL") { out in
            out.append(contentsOf: Self.delHead)
            RESPWriter.appendBulk(key, to: &out)
        }
    }
    private static let restoreName: [UInt8] = Array("$7\r\nRESTORE\r\n".utf8)
    private static let replaceArgument: [UInt8] = Array("$7\r\nREPLACE\r\n".utf8)
    private static let absttlArgument: [UInt8] = Array("$6\r\nABSTTL\r\n".utf8)

    /// `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s | FREQ f]`, `payload` a whole DUMP payload.
    private func restoreKey(_ h: RDBKeyHeader, payload: [UInt8], ticket: Ticket) throws {
        let ttl = h.expiresAt?.milliseconds ?? 0
        let replace = settings.existing == .replace
        // IDLETIME and FREQ exist from Redis 5.0 (RDB 9).
        var hint: (name: RedisBytes, value: RedisBytes)?
        if target.rdbVersion >= 9 || target.dialect == .valkey {
            if let idle = h.lruIdleSeconds {
                hint = ("IDLETIME", RedisBytes(String(idle)))
            } else if let f = h.lfuFrequency {
                hint = ("FREQ", RedisBytes(String(f)))
            }
        }
        guard sendsDirect else {
            var argv: [RedisBytes] = ["RESTORE", h.key, RedisBytes(String(ttl)), RedisBytes(payload)]
            if replace { argv.append("REPLACE") }
            if h.expiresAt != nil { argv.append("ABSTTL") }
            if let hint { argv += [hint.name, hint.value] }
            return try send(argv, ticket, name: "RESTORE")
        }
        let argc = 4 + (replace ? 1 : 0) + (h.expiresAt != nil ? 1 : 0) + (hint != nil ? 2 : 0)
        try sendEncoded(ticket, name: "RESTORE") { out in
            RESPWriter.appendArrayHeader(argc, to: &out)
            out.append(contentsOf: Self.restoreName)
            RESPWriter.appendBulk(h.key.bytes, to: &out)
            RESPWriter.appendBulk(decimal: ttl, to: &out)
            RESPWriter.appendBulk(payload, to: &out)
            if replace { out.append(contentsOf: Self.replaceArgument) }
            if h.expiresAt != nil { out.append(contentsOf: Self.absttlArgument) }
            if let hint {
                RESPWriter.appendBulk(hint.name.bytes, to: &out)
                RESPWriter.appendBulk(hint.value.bytes, to: &out)
            }
        }
    }

    // MARK: Sources

    /// Records already acknowledged in an earlier run (``ReplayCheckpoint``): skipped, not sent again.
    var alreadyDone: (_ fileIndex: Int, _ offset: Int64) -> Bool = { _, _ in false }

    /// Every record of an RDB (or an AOF's RDB part, `fileIndex` > 0 or `aofPart`).
    func replayRDB(_ reader: RDBReader, file: String, fileIndex: Int = 0, aofPart: Bool = false) throws {
        let restore = restores(sourceVersion: reader.header.version, dialect: reader.header.dialect)
        summary.mode = restore ? "restore" : "commands"
        var keys = 0
        while !shouldStop, let record = try reader.next() {
            switch record {
            case .key(let h):
                if alreadyDone(fileIndex, h.offset) {
                    try reader.skipValue()
                    continue
                }
                try replayKey(h, reader: reader, file: file, fileIndex: fileIndex, aofPart: aofPart, restore: restore)
                keys += 1
                onProgress?(reader.offset, keys)
            case .function(let f):
                if alreadyDone(fileIndex, f.offset) { continue }
                try loadFunction(f, file: file, fileIndex: fileIndex, resumeOffset: aofPart ? f.offset : reader.offset)
            default:
                break
            }
        }
    }

    /// `FUNCTION LOAD [REPLACE] code`.
    func loadFunction(_ f: RDBFunctionLibrary, file: String, fileIndex: Int, resumeOffset: Int64) throws {
        let t = Ticket(kind: .function, db: currentDB, key: f.libraryName.map { RedisBytes($0) }, offset: f.offset, file: file)
        t.fileIndex = fileIndex
        t.sourceDB = currentDB
        t.resumeOffset = resumeOffset
        if f.isPreGA {
            t.failure = ("FUNCTION", "a pre-release (7.0 RC) function record: no GA server loads it")
            release(t)
            return
        }
        var argv: [RedisBytes] = ["FUNCTION", "LOAD"]
        if settings.existing == .replace { argv.append("REPLACE") }
        argv.append(f.code)
        try send(argv, t, name: "FUNCTION LOAD")
        release(t)
    }

    /// An AOF in load order: RDB parts through ``replayRDB(_:file:fileIndex:aofPart:)``, commands forwarded
    /// with their databases (mapped by `--db-map`; `--db` keeps only commands of those databases). A
    /// `MULTI … EXEC` block is one ticket: acknowledged (and checkpointed) as a whole.
    func replayAOF(_ reader: AOFReader) throws {
        var commands = 0
        var base: Int64 = 0
        var fileSize: Int64 = 0
        var fileIndex = -1
        var transaction: Ticket?
        var skippingTransaction = false
        while !shouldStop, let record = try reader.next() {
            switch record {
            case .file(let f):
                base += fileSize
                fileSize = f.size
                fileIndex += 1
                transaction = nil
                skippingTransaction = false
            case .rdb(let r):
                try closeBatch()  // RDB parts go as RESTORE … REPLACE, idempotent, outside batches
                try replayRDB(r, file: reader.currentFile?.name ?? r.sourceName, fileIndex: fileIndex, aofPart: true)
            case .annotation:
                break
            case .command(let c):
                guard let name = c.argv.first?.utf8String?.uppercased() else { continue }
                let ends = name == "EXEC" || name == "DISCARD"
                if skippingTransaction {
                    if ends { skippingTransaction = false }
                    continue
                }
                if transaction == nil && alreadyDone(fileIndex, c.offset) {
                    if name == "MULTI" { skippingTransaction = true }
                    continue
                }
                if name == "SELECT" { continue }  // ours follow the command's database
                if let dbs = settings.filter.databases, !dbs.contains(c.db) { continue }
                let db = settings.databaseMap[c.db] ?? c.db
                if marker != nil && transaction == nil {
                    if name == "MULTI" { try closeBatch() }  // a source transaction gets a batch of its own
                    try openBatch()
                }
                try select(db, offset: c.offset, file: c.file)
                let t: Ticket
                if let open = transaction {
                    t = open
                } else {
                    t = Ticket(kind: .command, db: db, key: c.argv.count > 1 ? c.argv[1] : nil, offset: c.offset, file: c.file)
                    t.fileIndex = fileIndex
                    t.sourceDB = c.db
                    if name == "MULTI" { transaction = t }
                }
                t.resumeOffset = c.offset
                // In a batch the source's own MULTI/EXEC go: the batch is the transaction.
                if marker == nil || !(name == "MULTI" || ends) { try send(c.argv, t) }
                if marker != nil && name == "DISCARD" { try discardBatch(asSkipped: true) }
                if transaction == nil {
                    release(t)
                } else if ends {
                    transaction = nil
                    release(t)
                }
                if marker != nil && transaction == nil { try batchCommandDone(fileIndex: fileIndex, offset: c.offset) }
                commands += 1
                onProgress?(base + c.offset, commands)
            }
        }
        // A MULTI without EXEC at the end of a truncated AOF is dropped, as Redis drops it on load: done.
        // Stopped inside a transaction, it is not: its batch is discarded and `--resume` sends it again.
        if let open = transaction, !shouldStop { release(open) }
        if shouldStop || transaction != nil { try discardBatch(asSkipped: !shouldStop) } else { try closeBatch() }
        if summary.mode.isEmpty { summary.mode = "commands" }
    }

    /// rdbkit JSON Lines (`rdbkit json`), one key per line, from byte offset `start` (a line start).
    func replayJSONLines(path: String, from start: Int64 = 0) throws {
        let source = try start > 0 ? FileSource(path: path, offset: start) : ByteSources.open(path: path)
        let restore = settings.mode != .commands
        summary.mode = restore ? "restore" : "commands"
        var pending: [UInt8] = []
        var lineStart: Int64 = start
        var chunkStart: Int64 = start
        var number = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        func line(_ bytes: ArraySlice<UInt8>, at offset: Int64, next: Int64) throws {
            number += 1
            var l = Array(bytes)
            while let last = l.last, last == 0x0D || last == 0x20 { l.removeLast() }
            guard !l.isEmpty, !alreadyDone(0, offset) else { return }
            let k: JSONLinesImporter.Key
            do {
                k = try JSONLinesImporter.parse(line: l, number: number)
            } catch {
                var e = error
                e.offset = offset
                throw e
            }
            var h = k.header
            h.offset = offset
            guard settings.filter.matches(h) != false,
                settings.filter.matches(h) == true || { if case .module(let m) = k.value { settings.filter.matchesModule(m.type) } else { false } }()
            else {
                summary.keysFiltered += 1
                return
            }
            if let x = h.expiresAt, x.milliseconds <= settings.now {
                summary.keysExpired += 1
                return
            }
            let db = settings.databaseMap[h.db] ?? h.db
            let ticket = Ticket(kind: .key, db: db, key: h.key, offset: offset, file: path)
            ticket.sourceDB = h.db
            ticket.resumeOffset = next
            try writeDecoded(h, value: k.value, db: db, restore: restore, ticket: ticket)
            onProgress?(offset, number)
        }
        while !shouldStop {
            let n = try chunk.withUnsafeMutableBytes { p throws(RDBError) in try source.read(into: p) }
            if n == 0 { break }
            var from = 0
            for i in 0..<n where chunk[i] == 0x0A {
                pending += chunk[from..<i]
                let next = chunkStart + Int64(i + 1)
                try line(pending[...], at: lineStart, next: next)
                lineStart = next
                pending.removeAll(keepingCapacity: true)
                from = i + 1
                if shouldStop { break }
            }
            if shouldStop { break }
            pending += chunk[from..<n]
            chunkStart += Int64(n)
        }
        if !shouldStop && !pending.isEmpty { try line(pending[...], at: lineStart, next: chunkStart) }
    }
}
