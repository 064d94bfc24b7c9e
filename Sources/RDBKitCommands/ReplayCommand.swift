#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import RedisClient
import RedisFormats
import RedisFormatsJSON

/// `rdbkit replay SOURCE --to URI`: writes an RDB, an AOF or rdbkit JSON Lines into a running server.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Write the keys of an RDB, an AOF or rdbkit JSON Lines into a running Redis or Valkey server.",
        discussion: """
            SOURCE is an RDB file (.gz read transparently), an AOF (a single file, one with an RDB \
            preamble, or a Redis 7+ appendonlydir / its manifest) or the JSON Lines of `rdbkit json`.

            --mode restore sends each key as RESTORE with the value bytes as stored in the RDB plus \
            the DUMP footer (no decoding), ABSTTL with the original expiry and IDLETIME/FREQ when the \
            file has them. A value the target cannot read as stored (newer encoding, other dialect) \
            is re-encoded for the target's RDB version, or written as commands when no encoding of \
            that version holds it. --mode commands writes SET/RPUSH/SADD/ZADD/HSET (≤1000 elements \
            per command), PEXPIREAT, HPEXPIREAT, XADD/XSETID/XGROUP/XCLAIM. The default (auto) is \
            restore when the target's RDB version (from INFO server) is at least the source's. AOF \
            commands are forwarded as they are, with their databases; RDB parts of an AOF go through \
            the RDB path. Function libraries are loaded with FUNCTION LOAD REPLACE.

            --mode sync (RDB sources) loads the file at the server's own speed: rdbkit listens \
            (--listen HOST:PORT; 127.0.0.1 for a loopback target), sends REPLICAOF to the target \
            (or prints it with --no-replicaof), answers its PSYNC with a full resynchronisation \
            streaming an RDB for the target's version, then sends REPLICAOF NO ONE. The target's \
            data set is replaced: it must be empty, or add --yes.

            Existing keys are replaced (RESTORE … REPLACE; in commands mode a value is built under \
            a staging key and renamed over the key, or a DEL goes first) unless --skip-existing or \
            --no-replace. Commands are pipelined with at most --pipeline \
            unanswered. Filters (--db, --match, --type) select key records; --db also selects the \
            AOF commands of those databases.

            A Redis Cluster target (INFO says redis_mode:cluster, or --cluster) is any node of the \
            cluster: the slot map comes from CLUSTER SHARDS (CLUSTER SLOTS before 7.0), keys go by \
            hash slot to their masters (one pipeline each), MOVED refreshes the map and resends, \
            ASK resends with ASKING, TRYAGAIN/CLUSTERDOWN wait and retry. DEL/UNLINK/MSET naming \
            keys of several slots are split; other such commands and MULTI blocks fail. Database 0 \
            only (--db-map N:0). See docs/replay.md.

            The password comes from the URI or, better, from the REDISCLI_AUTH environment variable \
            (never put it in argv: other users see process lists).

            EXAMPLES:
              REDISCLI_AUTH=… rdbkit replay dump.rdb --to redis://10.0.0.5:6379
              REDISCLI_AUTH=… rdbkit replay dump.rdb --to redis://app@db1 --skip-existing
              rdbkit replay appendonlydir --to redis://127.0.0.1:6380 --flush-target --yes
              rdbkit replay keys.jsonl --to redis://127.0.0.1 --db-map 3:0,5:1
              REDISCLI_AUTH=… rdbkit replay dump.rdb --to rediss://db1:6380 --cacert ca.pem
              rdbkit replay dump.rdb --to redis://127.0.0.1 --on-error skip --report x.jsonl
              rdbkit replay dump.rdb --to redis://127.0.0.1 --checkpoint cp.json [--resume]

            --checkpoint FILE records, about once a second and at the end, how far the server \
            acknowledged the replay (RDB and JSON Lines: the offset of the next record; AOF: the last \
            acknowledged command, a MULTI … EXEC block counting as one). After a stop, --resume \
            continues from there and sends nothing the server already acknowledged.

            A lost connection is retried (--retries, 5 by default) from what the server \
            acknowledged; AOF commands then go in MULTI/EXEC batches that also set a marker key, so \
            none is applied twice or lost (docs/replay.md).

            EXIT STATUS:
              0   all written (keys skipped by --skip-existing count as done)
              2   the source is corrupt          3   the source is truncated
              4   unsupported source
              5   a declared size exceeds --max-blob
              6   failures were skipped (--on-error skip; see --report)
              7   stopped at the first server error (--on-error stop, the default)
              8   cannot connect: refused, TLS, authentication, timeout; connection lost
                  and --retries ran out; --mode sync failed
              64  usage error
              66  the source cannot be opened
              74  I/O error (source, report, checkpoint)
            """
    )

    static let exitSkippedFailures: Int32 = 6
    static let exitStopped: Int32 = 7
    static let exitConnection: Int32 = 8

    @Argument(help: "The RDB, AOF (file, directory or manifest) or JSON Lines file.")
    var source: String

    @Option(name: .customLong("to"), help: ArgumentHelp("The server: redis://[user@]host:port[/db] or rediss://… (TLS).", valueName: "uri"))
    var uri: String

    @Option(help: ArgumentHelp("auto, rdb, aof or jsonl (default: from the file).", valueName: "format"))
    var format: String = "auto"

    @Option(help: ArgumentHelp("auto, restore or commands.", valueName: "mode"))
    var mode: String = "auto"

    @Flag(help: "Replace keys that exist on the target (the default).")
    var replace = false

    @Flag(name: .customLong("no-replace"), help: "Fail keys that exist on the target (RESTORE without REPLACE: BUSYKEY).")
    var noReplace = false

    @Flag(name: .customLong("skip-existing"), help: "Leave keys that exist on the target as they are.")
    var skipExisting = false

    @Flag(name: .customLong("flush-target"), help: "FLUSHALL the target first (asks on a terminal; needs --yes otherwise).")
    var flushTarget = false

    @Flag(help: "Do not ask before --flush-target.")
    var yes = false

    @Option(name: .customLong("db-map"), help: ArgumentHelp("Move databases: 3:0,5:1 writes db 3 into 0 and db 5 into 1.", valueName: "map"))
    var dbMap: String?

    @OptionGroup var filters: FilterOptions
    @OptionGroup var readerOptions: ReaderOptions

    @Option(name: .customLong("on-error"), help: ArgumentHelp("stop (default) or skip when the server rejects a command.", valueName: "policy"))
    var onError: String = "stop"

    @Option(help: ArgumentHelp("Write every failed key and the server's error here (JSON Lines).", valueName: "file"))
    var report: String?

    @Flag(help: "Print the summary as JSON on standard output.")
    var json = false

    // 8192: with 1024 the target waited for commands about 1.7 s of a 33 s commands-mode load of the
    // benchmark file (its idle time, from /proc/PID/schedstat), 0.4-0.9 s with 8192.
    @Option(help: ArgumentHelp("Most commands sent and not yet answered.", valueName: "n"))
    var pipeline: Int = 8192

    @Option(help: ArgumentHelp("RESP protocol: 2 or 3 (HELLO 3).", valueName: "version"))
    var resp: Int = 2

    @Option(help: ArgumentHelp("Seconds to wait for a reply before giving up.", valueName: "seconds"))
    var timeout: Double = 60

    @Option(name: .customLong("connect-timeout"), help: ArgumentHelp("Seconds to connect.", valueName: "seconds"))
    var connectTimeout: Double = 10

    @Option(help: ArgumentHelp("TLS: PEM file of the CA certificates to trust (default: the system's).", valueName: "file"))
    var cacert: String?

    @Option(help: ArgumentHelp("TLS: client certificate (PEM), for servers with tls-auth-clients.", valueName: "file"))
    var cert: String?

    @Option(help: ArgumentHelp("TLS: the client certificate's private key (PEM).", valueName: "file"))
    var key: String?

    @Flag(help: "TLS: do not verify the server's certificate (lab use only).")
    var insecure = false

    @Option(help: ArgumentHelp("Record how far the server acknowledged the replay here (written durably, about once a second and at the end).", valueName: "file"))
    var checkpoint: String?

    @Flag(help: "Continue from --checkpoint: skip everything the server already acknowledged.")
    var resume = false

    @Flag(help: "The target is a Redis Cluster node (found from INFO without it).")
    var cluster = false

    @Option(help: ArgumentHelp("Reconnect this many times when the connection drops, then go on where the server stopped acknowledging (a single server; a cluster replay reconnects to each master by itself).", valueName: "n"))
    var retries: Int = 5

    @Option(help: ArgumentHelp("--mode sync: where rdbkit listens for the target's replication link (default 127.0.0.1 and a free port for a loopback target).", valueName: "host:port"))
    var listen: String?

    @Flag(name: .customLong("no-replicaof"), help: "--mode sync: print the REPLICAOF command to run on the target instead of sending it.")
    var noReplicaOf = false

    @Flag(help: "--mode sync: leave the target's repl-diskless-load as it is (by default an empty target whose setting is 'disabled' loads from the socket during the sync, and is set back after).")
    var keepServerConfig = false

    func validate() throws {
        guard ["auto", "rdb", "aof", "jsonl"].contains(format) else { throw ValidationError("--format must be auto, rdb, aof or jsonl") }
        guard ReplaySettings.Mode(rawValue: mode) != nil || mode == "sync" else {
            throw ValidationError("--mode must be auto, restore, commands or sync")
        }
        guard retries >= 0 else { throw ValidationError("--retries must be 0 or more") }
        guard ReplaySettings.OnError(rawValue: onError) != nil else { throw ValidationError("--on-error must be stop or skip") }
        guard [replace, noReplace, skipExisting].filter({ $0 }).count <= 1 else {
            throw ValidationError("--replace, --no-replace and --skip-existing exclude each other")
        }
        if resume && checkpoint == nil { throw ValidationError("--resume needs --checkpoint FILE") }
        if resume && flushTarget { throw ValidationError("--resume and --flush-target exclude each other") }
        guard pipeline > 0 else { throw ValidationError("--pipeline must be positive") }
        guard resp == 2 || resp == 3 else { throw ValidationError("--resp must be 2 or 3") }
        guard timeout > 0, connectTimeout > 0 else { throw ValidationError("timeouts must be positive") }
        _ = try parsedDBMap()
        do { _ = try RedisURI(uri) } catch { throw ValidationError(error.message) }
        if (cacert != nil || cert != nil || key != nil || insecure), (try? RedisURI(uri))?.usesTLS == false {
            throw ValidationError("--cacert, --cert, --key and --insecure need a rediss:// URI")
        }
    }

    func parsedDBMap() throws -> [UInt64: UInt64] {
        guard let dbMap else { return [:] }
        var out: [UInt64: UInt64] = [:]
        for pair in dbMap.split(separator: ",") {
            let parts = pair.split(separator: ":")
            guard parts.count == 2, let from = UInt64(parts[0]), let to = UInt64(parts[1]) else {
                throw ValidationError("--db-map wants FROM:TO pairs separated by commas, such as 3:0,5:1")
            }
            guard out[from] == nil else { throw ValidationError("--db-map names db \(from) twice") }
            out[from] = to
        }
        return out
    }

    enum SourceKind { case rdb, aof, jsonl }

    func sourceKind() -> SourceKind {
        switch format {
        case "rdb": return .rdb
        case "aof": return .aof
        case "jsonl": return .jsonl
        default: break
        }
        var st = stat()
        if stat(source, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { return .aof }
        if source.hasSuffix(".manifest") { return .aof }
        let head = ByteSources.head(path: source, count: 8)
        if head.starts(with: Array("REDIS".utf8)) || head.starts(with: Array("VALKEY".utf8)) {
            return source.hasSuffix(".aof") ? .aof : .rdb
        }
        if head.starts(with: [0x1F, 0x8B]) { return .rdb }
        if let first = head.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) {
            if first == UInt8(ascii: "{") { return .jsonl }
            if first == UInt8(ascii: "*") || first == UInt8(ascii: "#") { return .aof }
        }
        return .rdb
    }

    func run() throws {
        let start = Terminal.now()
        var settings = ReplaySettings()
        settings.mode = ReplaySettings.Mode(rawValue: mode) ?? .auto  // sync: ReplaySync.swift
        settings.existing = skipExisting ? .skip : noReplace ? .fail : .replace
        settings.onError = ReplaySettings.OnError(rawValue: onError) ?? .stop
        settings.databaseMap = try parsedDBMap()
        settings.filter = filters.filter
        settings.reader = readerOptions.readerOptions()
        settings.maximumInFlight = pipeline
        settings.reportPath = report
        settings.now = Int64(time(nil)) * 1000

        let kind = sourceKind()
        if kind != .aof && kind != .jsonl && FileInfo.size(of: source) == nil && source != "-" {
            throw reportFailure(RDBError(.io, "cannot open \(source): \(String(cString: strerror(errno)))"))
        }

        // Connect.
        let target: RDBTarget
        let connection: RedisConnection
        let parsedURI: RedisURI
        var options = RedisClientOptions()
        let isCluster: Bool
        do {
            parsedURI = try RedisURI(uri)
            options.protocolVersion = resp
            if parsedURI.password == nil, let env = getenv("REDISCLI_AUTH") { options.password = String(cString: env) }
            options.clientName = "rdbkit-replay"
            options.tls = RedisTLSOptions(caFile: cacert, certificateFile: cert, keyFile: key, skipsVerification: insecure)
            options.connectTimeout = connectTimeout
            options.commandTimeout = timeout
            connection = try RedisConnection.connectBlocking(to: parsedURI, options: options)
            let info = try connection.call(["INFO", "server"])
            if let e = info.errorMessage { throw RedisClientError(.server, e, command: "INFO") }
            let server = RedisServerInfo(info: info.text ?? "")
            isCluster = cluster || server.mode == "cluster"
            if isCluster, let db = parsedURI.db, db != 0 {
                connection.close()
                Terminal.printError("rdbkit: a cluster has database 0 only: drop /\(db) from the URI (and move databases with --db-map N:0)")
                throw ExitCode(RDBKitExit.usage)
            }
            target = server.rdbTarget
        } catch let e as RedisClientError {
            Terminal.printError("rdbkit: \(uri.contains("@") ? "the server" : uri): \(e)")
            throw ExitCode(Self.exitConnection)
        }
        defer { connection.close() }
        if mode == "sync" {
            if isCluster {
                Terminal.printError("rdbkit: --mode sync needs a standalone target: a cluster node refuses REPLICAOF of a non-cluster master; use --mode restore")
                throw ExitCode(RDBKitExit.usage)
            }
            return try runSync(connection: connection, uri: parsedURI, target: target, settings: settings, start: start)
        }

        if flushTarget {
            if !yes {
                guard isatty(0) == 1, Terminal.stderrIsTTY else {
                    Terminal.printError("rdbkit: --flush-target deletes every key on \(parsedURI): add --yes to confirm")
                    throw ExitCode(RDBKitExit.usage)
                }
                Terminal.writeAll(2, Array("Delete every key on \(parsedURI) (FLUSHALL)? [y/N] ".utf8))
                let answer = readLine()?.lowercased() ?? ""
                guard answer == "y" || answer == "yes" else {
                    Terminal.printError("rdbkit: not confirmed; nothing written")
                    throw ExitCode(RDBKitExit.usage)
                }
            }
        }

        // What the server acknowledged: --checkpoint's file, or kept in memory for --retries.
        let kindName = kind == .rdb ? "rdb" : kind == .aof ? "aof" : "jsonl"
        let size = kind == .aof ? nil : FileInfo.size(of: source)
        var tracker: ReplayCheckpoint?
        if let checkpoint {
            tracker = ReplayCheckpoint(path: checkpoint, kind: kindName, source: source, sourceSize: size)
            if resume {
                let previous: ReplayCheckpoint
                do { previous = try ReplayCheckpoint.load(path: checkpoint) } catch { throw reportFailure(error) }
                guard previous.kind == kindName, previous.source == source, previous.sourceSize == size else {
                    Terminal.printError(
                        "rdbkit: \(checkpoint) was written for \(previous.kind) \(previous.source)\(previous.sourceSize.map { " (\($0) bytes)" } ?? ""), not for this source: refusing to resume")
                    throw ExitCode(RDBKitExit.usage)
                }
                tracker?.adopt(previous)
            }
        } else if retries > 0 && !isCluster {
            tracker = ReplayCheckpoint(path: "", kind: kindName, source: source, sourceSize: size)
            tracker?.persistent = false
        }
        if let tracker {
            if let previous = tracker.staging { settings.stagingSuffix = previous } else { tracker.staging = settings.stagingSuffix }
        }
        // AOF commands go in MULTI … EXEC batches with a marker key (Replayer+Batches.swift).
        var marker: ReplayMarker?
        if kind == .aof, !isCluster, let tracker {
            let name = tracker.marker ?? ReplayMarker.newKey()
            tracker.marker = name
            marker = ReplayMarker(key: RedisBytes(name), db: parsedURI.db ?? 0)
        }
        let progress = Progress(label: "replay", total: kind == .aof ? nil : FileInfo.size(of: source))

        // An RDB into an empty target: no key exists, so commands mode skips its DELs (not after a retry,
        // when keys may be half written).
        let emptyAtStart = kind == .rdb && !resume && settings.existing == .replace && settings.databaseMap.isEmpty
            && (flushTarget || (!isCluster && (try? ReplaySync.keyspace(connection))?.isEmpty == true))
        var live = connection
        defer { live.close() }
        var replayer: Replayer
        var totals = ReplaySummary()
        var attempt = 0
        var sourceError: (any Error)?
        var clientError: RedisClientError?
        while true {
            settings.targetEmpty = emptyAtStart && attempt == 0
            settings.clearsStaging = resume || attempt > 0
            do {
                replayer = try Replayer(connection: live, target: target, settings: settings, initialDB: parsedURI.db ?? 0)
            } catch {
                throw reportFailure(error)
            }
            if isCluster {
                do {
                    replayer.cluster = try ClusterReplay(seed: live, options: options, maximumInFlight: pipeline) { [unowned replayer] in
                        replayer.handle($0, $1)
                    }
                } catch {
                    Terminal.printError("rdbkit: \(parsedURI) as a cluster: \(error)")
                    throw ExitCode(Self.exitConnection)
                }
            }
            replayer.marker = marker
            replayer.checkpoint = tracker
            replayer.onProgress = { bytes, keys in progress.update(bytes: bytes, keys: keys) }
            sourceError = nil
            clientError = nil
            var resumeFrom: ReplayCheckpoint.Watermark?
            let identity = marker != nil && retries > attempt ? ReplayMarker.identity(live, of: replayer.pipeline) : nil
            do {
                if let tracker, resume || attempt > 0 {
                    // Acknowledged, or (past the last reply) inside a batch the marker says was applied.
                    let applied = try marker?.read(live)
                    let replied = tracker.replied
                    replayer.alreadyDone = { fileIndex, offset in
                        if tracker.covers(fileIndex: fileIndex, offset: offset) { return true }
                        guard let applied else { return false }
                        let p = ReplayMarker.Position(fileIndex: fileIndex, offset: offset)
                        return p <= applied && replied.map { p > $0 } ?? true
                    }
                    resumeFrom = tracker.watermark
                }
                if flushTarget && attempt == 0 { try replayer.flushTarget() }
                do {
                    switch kind {
                    case .rdb:
                        var reader = try RDBReader(path: source, options: settings.reader)
                        if let w = resumeFrom, w.offset > 0, !ByteSources.head(path: source, count: 2).starts(with: [0x1F, 0x8B]) {
                            // Straight to the first record not acknowledged (a gzip file is read and skipped instead).
                            reader = try RDBReader(resumingAt: w.offset, path: source, header: reader.header, db: w.db, options: settings.reader)
                        }
                        try replayer.replayRDB(reader, file: source)
                        if !replayer.shouldStop, try reader.hasTrailingData() {
                            Terminal.printError(
                                "rdbkit: warning: data follows the RDB's EOF at offset \(reader.offset) (an AOF with an RDB preamble? use --format aof); only the RDB part was replayed")
                        }
                    case .aof:
                        var o = AOFReader.Options()
                        o.rdb = settings.reader
                        try replayer.replayAOF(AOFReader(path: source, options: o))
                    case .jsonl:
                        try replayer.replayJSONLines(path: source)
                    }
                } catch let e as RedisClientError {
                    throw e
                } catch {
                    sourceError = error  // what was sent before still gets its replies
                }
                try replayer.drain()
                if sourceError == nil && replayer.stopError == nil { try replayer.removeMarker() }
            } catch let e as RedisClientError {
                clientError = e
            } catch {
                sourceError = sourceError ?? error
            }
            totals.add(replayer.summary)
            replayer.cluster?.close()
            // A lost connection: reconnect and go on from what the server acknowledged.
            guard let lost = clientError, lost.code != .server, let tracker, !isCluster, attempt < retries,
                sourceError == nil, replayer.stopError == nil
            else { break }
            tracker.abandonPending()
            var reconnected: RedisConnection?
            while reconnected == nil && attempt < retries {
                attempt += 1
                let delay = min(0.25 * Double(1 << min(attempt - 1, 5)), 5)
                Terminal.printError("rdbkit: \(lost); reconnecting in \(delay) s (attempt \(attempt) of \(retries))")
                usleep(UInt32(delay * 1_000_000))
                reconnected = try? RedisConnection.connectBlocking(to: parsedURI, options: options)
            }
            guard let next = reconnected else { break }
            if let identity { ReplayMarker.endOld(identity, on: next) }
            live.close()
            live = next
            settings.appendsReport = true
        }
        progress.finish()
        if let tracker {
            tracker.settle()
            tracker.complete = clientError == nil && sourceError == nil && replayer.stopError == nil
            do { try tracker.write() } catch { Terminal.printError("rdbkit: \(error)") }
        }
        var summary = totals
        summary.seconds = Terminal.now() - start
        printSummary(summary, target: target)
        if let clientError {
            Terminal.printError("rdbkit: \(clientError)")
            throw ExitCode(clientError.code == .server ? Self.exitStopped : Self.exitConnection)
        }
        if let stop = replayer.stopError {
            Terminal.printError("rdbkit: \(stop)")
            throw ExitCode(Self.exitStopped)
        }
        if let sourceError { throw reportFailure(sourceError) }
        if summary.failures > 0 {
            Terminal.printError("rdbkit: \(summary.failures) failed\(report.map { "; see \($0)" } ?? " (use --report FILE for the list)")")
            throw ExitCode(Self.exitSkippedFailures)
        }
    }

    func printSummary(_ s: ReplaySummary, target: RDBTarget) {
        if json {
            let e = JSONEmitter(capacity: 1024)
            e.beginObject()
            e.key("target"); e.string(target.description)
            e.key("mode"); e.string(s.mode)
            e.key("keys_written"); e.int(Int64(s.keysWritten))
            e.key("keys_skipped"); e.int(Int64(s.keysSkipped))
            e.key("keys_failed"); e.int(Int64(s.keysFailed))
            e.key("keys_expired"); e.int(Int64(s.keysExpired))
            e.key("keys_filtered"); e.int(Int64(s.keysFiltered))
            e.key("keys_restored"); e.int(Int64(s.keysRestored))
            e.key("keys_reencoded"); e.int(Int64(s.keysReencoded))
            e.key("keys_as_commands"); e.int(Int64(s.keysAsCommands))
            e.key("functions_loaded"); e.int(Int64(s.functionsLoaded))
            e.key("functions_skipped"); e.int(Int64(s.functionsSkipped))
            e.key("functions_failed"); e.int(Int64(s.functionsFailed))
            e.key("commands_forwarded"); e.int(Int64(s.commandsForwarded))
            e.key("commands_failed"); e.int(Int64(s.commandsFailed))
            e.key("commands_sent"); e.int(Int64(s.commandsSent))
            e.key("bytes_sent"); e.int(s.bytesSent)
            for c in s.clusterCounters { e.key(text: c.name); e.int(Int64(c.value)) }
            e.key("seconds"); e.string(String((s.seconds * 1000).rounded() / 1000))
            e.endObject()
            Terminal.writeAll(1, e.output + [0x0A])
            return
        }
        var line = "replay into \(target): \(s.keysWritten) keys written (\(s.mode))"
        line += ", \(s.keysSkipped) skipped, \(s.keysFailed) failed"
        if s.keysExpired > 0 { line += ", \(s.keysExpired) already expired" }
        if s.keysFiltered > 0 { line += ", \(s.keysFiltered) filtered out" }
        if s.keysReencoded > 0 || s.keysAsCommands > 0 {
            line += " [\(s.keysRestored) restored as stored, \(s.keysReencoded) re-encoded, \(s.keysAsCommands) as commands]"
        }
        if s.functionsLoaded + s.functionsSkipped + s.functionsFailed > 0 {
            line += "; functions: \(s.functionsLoaded) loaded, \(s.functionsSkipped) skipped, \(s.functionsFailed) failed"
        }
        if s.commandsForwarded + s.commandsFailed > 0 {
            line += "; AOF commands: \(s.commandsForwarded) forwarded, \(s.commandsFailed) failed"
        }
        if !s.clusterCounters.isEmpty {
            line += "; cluster: " + s.clusterCounters.map { "\($0.name.dropFirst(8)) \($0.value)" }.joined(separator: ", ")
        }
        let mib = Double(s.bytesSent) / 1_048_576
        line += "; \(s.commandsSent) commands, \((mib * 100).rounded() / 100) MiB sent in \((s.seconds * 1000).rounded() / 1000) s"
        Terminal.printError(line)
    }
}
