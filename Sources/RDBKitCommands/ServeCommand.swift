#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import ArgumentParser
import Dispatch
import RedisFormats
import RedisKeyspace
import RedisServe

/// `rdbkit serve PATH`: loads an RDB, AOF or JSON Lines into memory and answers Redis clients read-only.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve an RDB, AOF or JSON Lines file read-only over the Redis protocol (RESP2 and RESP3).",
        discussion: """
            Loads the file into memory, then answers redis-cli, redis-py and any Redis client as a \
            read-only Redis 7.0 would: GET, HGETALL, LRANGE, SMEMBERS, ZRANGE, XRANGE, SCAN, TYPE, TTL, \
            DUMP, OBJECT ENCODING, INFO and the other reads, with byte-identical replies. Write commands \
            answer -READONLY; keys whose expiry has passed are invisible. HELLO 3 switches a client to RESP3.

            An AOF is read in any layout (single file, RDB preamble, appendonlydir or its manifest); a file \
            starting with `{` is rdbkit JSON Lines (from `rdbkit json`).

            Like Redis's protected mode, a bind address other than loopback needs --requirepass (or \
            RDBKIT_SERVE_PASSWORD in the environment).

            EXAMPLES:
              rdbkit serve dump.rdb                        # then: redis-cli -p 6380 --scan
              rdbkit serve --port 7000 appendonlydir
              rdbkit serve --until 1700000000 appendonlydir   # the AOF as it was at that second
              RDBKIT_SERVE_PASSWORD=s3cret rdbkit serve --bind 0.0.0.0 dump.rdb
              rdbkit json dump.rdb > keys.jsonl && rdbkit serve keys.jsonl

            EXIT STATUS:
              0   stopped by SIGINT or SIGTERM
              2   the file is corrupt
              3   the file is truncated
              4   the file uses a version, type or opcode this rdbkit does not support
              64  usage error (bad option, non-loopback bind without a password)
              66  the input cannot be opened
              70  the port cannot be bound
              74  I/O error reading the input
            """
    )

    @Argument(help: "An RDB file, an AOF (file, directory or manifest) or rdbkit JSON Lines.")
    var path: String

    @Option(help: "TCP port to listen on.")
    var port: Int = 6380

    @Option(help: "Address to listen on.")
    var bind: String = "127.0.0.1"

    @Option(help: "Password clients must give with AUTH or HELLO (default: $RDBKIT_SERVE_PASSWORD).")
    var requirepass: String?

    @Flag(help: "AOF: skip and count unknown commands instead of stopping.")
    var skipUnknown = false

    @Option(help: "AOF: stop before the first #TS: annotation later than this Unix time (seconds).")
    var until: Int64?

    @Option(help: "Event-loop threads (default: one per core).")
    var threads: Int?

    var password: String? {
        if let requirepass, !requirepass.isEmpty { return requirepass }
        if let env = getenv("RDBKIT_SERVE_PASSWORD") {
            let s = String(decoding: Array(UnsafeBufferPointer(start: env, count: strlen(env))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return s.isEmpty ? nil : s
        }
        return nil
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        if !Self.isLoopback(bind) && password == nil {
            throw ValidationError(
                "refusing to listen on \(bind) without a password (protected mode): give --requirepass or RDBKIT_SERVE_PASSWORD, or bind to 127.0.0.1"
            )
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        var options = KeyspaceLoader.Options()
        options.skipUnknown = skipUnknown
        options.until = until
        let started = Terminal.now()
        let keyspace: Keyspace
        do {
            (keyspace, _) = try KeyspaceInput.load(path, options: options)
        } catch {
            throw reportFailure(error)
        }
        // Databases as the file has them, at least Redis's default 16.
        keyspace.maxDatabase = max(15, keyspace.nonEmptyDatabases.last ?? 0)
        let server: RedisServer
        do {
            server = try RedisServer.start(
                keyspace: keyspace, host: bind, port: port, password: password, source: path,
                threads: threads ?? ProcessInfoCores.count)
        } catch {
            Terminal.printError("rdbkit: cannot listen on \(bind):\(port): \(error)")
            throw ExitCode(70)
        }
        let seconds = Terminal.now() - started
        let shown = bind.contains(":") ? "[\(bind)]" : bind
        Terminal.printError(
            "Ready to accept connections on \(shown):\(server.port) (\(keyspace.totalKeys) keys loaded in \(String(format3(seconds))) s)")
        Self.stopOnSignals(server)
        try server.waitUntilClosed()
        server.stop()
        Terminal.printError("rdbkit serve: shutting down")
    }

    /// SIGINT and SIGTERM close the listening socket, which ends `run()`.
    static func stopOnSignals(_ server: RedisServer) {
        let queue = DispatchQueue(label: "rdbkit.serve.signals")
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            s.setEventHandler { server.closeListener() }
            s.resume()
            sources.append(s)
        }
        SignalSources.keep(sources)
    }

    func format3(_ v: Double) -> String {
        let ms = Int((v * 1000).rounded())
        let frac = ms % 1000
        return "\(ms / 1000).\(frac < 100 ? "0" : "")\(frac < 10 ? "0" : "")\(frac)"
    }
}

/// Keeps the signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) static var kept: [any DispatchSourceSignal] = []
    static func keep(_ s: [any DispatchSourceSignal]) { kept = s }
}

enum ProcessInfoCores {
    static var count: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
