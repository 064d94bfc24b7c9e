#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import NIOCore
import RedisFormats
import RedisKeyspace

/// One client connection: runs its requests in order against the shared keyspace and writes the replies,
/// flushing once per read burst (pipelined commands get their replies in one write).
///
/// State per connection: the selected database (in its own ``CommandEngine``), the name, the protocol (2, or 3
/// after `HELLO 3`) and whether it authenticated. The engine only runs read-only specs, which never change the
/// keyspace, so connections on different event loops share one keyspace without a lock.
final class ServeConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = RESPRequest
    typealias OutboundOut = ByteBuffer

    let server: RedisServeState
    let auth: AuthenticationState
    let engine: CommandEngine
    let id: Int64
    let connectedAt: Int64
    var name: RedisBytes?
    var resp3 = false
    var lastCommand = "NULL"
    private var output: ByteBuffer?
    private var closeAfterFlush = false
    private var peer = "?:0"
    private var local = "?:0"

    init(server: RedisServeState, auth: AuthenticationState) {
        self.server = server
        self.auth = auth
        engine = CommandEngine(keyspace: server.keyspace)
        id = server.nextClientID()
        connectedAt = RedisServeState.milliseconds()
    }

    func channelActive(context: ChannelHandlerContext) {
        server.clientConnected()
        peer = Self.describe(context.channel.remoteAddress)
        local = Self.describe(context.channel.localAddress)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        server.clientDisconnected()
        context.fireChannelInactive()
    }

    static func describe(_ a: SocketAddress?) -> String {
        guard let a else { return "?:0" }
        return "\(a.ipAddress ?? "?"):\(a.port ?? 0)"
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if closeAfterFlush { return }
        if output == nil { output = context.channel.allocator.buffer(capacity: 4096) }
        switch unwrapInboundIn(data) {
        case .protocolError(let message):
            output!.writeReply(.error("ERR Protocol error: \(message)"), resp3: resp3)
            closeAfterFlush = true
        case .command(let argv):
            let reply = execute(argv)
            output!.writeReply(reply, resp3: resp3)
        }
        // Keep a very long pipeline from buffering every reply until the read burst ends.
        if output!.readableBytes > 1 << 20 { flush(context: context) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context: context)
        context.fireChannelReadComplete()
    }

    private func flush(context: ChannelHandlerContext) {
        guard let out = output, out.readableBytes > 0 else { return }
        output = nil
        if closeAfterFlush {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Dispatch

    /// Mirrors the order of checks in `processCommand`: QUIT, unknown command, arity, authentication, then the
    /// read-only refusal of writes.
    func execute(_ argv: [RedisBytes]) -> Reply {
        let name = Self.lowercased(argv[0])
        lastCommand = name
        if name == "quit" {
            closeAfterFlush = true
            return .ok
        }
        guard let kind = CommandTable.kinds[name] else { return Self.unknownCommand(argv) }
        let arity = kind.arity
        if (arity > 0 && argv.count != arity) || (arity < 0 && argv.count < -arity) { return .wrongArity(name) }
        if !auth.authenticated && name != "auth" && name != "hello" { return .error("NOAUTH Authentication required.") }
        switch kind {
        case .connection: return connection(name, argv)
        case .write: return .error("READONLY You can't write against a read only replica.")
        case .read(let spec):
            engine.now = RedisServeState.milliseconds()
            do {
                return try spec.run(engine, argv)
            } catch {
                return error.reply
            }
        }
    }

    static func lowercased(_ b: RedisBytes) -> String {
        String(decoding: b.bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// `unknown command '%.128s', with args beginning with: '%.*s' …` (newlines turned into spaces).
    static func unknownCommand(_ argv: [RedisBytes]) -> Reply {
        var args = ""
        for a in argv.dropFirst() {
            if args.utf8.count >= 128 { break }
            let room = 128 - args.utf8.count
            args += "'" + String(decoding: a.bytes.prefix(room), as: UTF8.self) + "' "
        }
        let command = String(decoding: argv[0].bytes.prefix(128), as: UTF8.self)
        let text = "ERR unknown command '\(command)', with args beginning with: \(args)"
        // Byte by byte: "\r\n" is one Character in Swift, and Redis turns each byte into a space.
        return .error(String(decoding: text.utf8.map { $0 == 0x0D || $0 == 0x0A ? 0x20 : $0 }, as: UTF8.self))
    }

    // MARK: Connection commands

    func connection(_ command: String, _ a: [RedisBytes]) -> Reply {
        switch command {
        case "ping":
            if a.count > 2 { return .wrongArity("ping") }
            return a.count == 2 ? .bulk(a[1]) : .status("PONG")
        case "echo":
            return .bulk(a[1])
        case "select":
            guard let n = RedisInteger.parse(a[1].bytes), let db = Int(exactly: n) else { return .notInteger }
            guard db >= 0, db <= server.keyspace.maxDatabase else { return .error("ERR DB index is out of range") }
            engine.db = db
            return .ok
        case "auth":
            return authenticate(a)
        case "hello":
            return hello(a)
        case "client":
            return client(a)
        case "info":
            return .verbatim(RedisBytes(server.info(sections: a.dropFirst().map { $0.description.lowercased() })))
        case "command":
            return ConnectionCommands.command(a)
        case "config":
            let sub = CommandEngine.upper(a[1])
            guard sub == "GET" else {
                if ["SET", "RESETSTAT", "REWRITE"].contains(sub) {
                    return .error("READONLY You can't write against a read only replica.")
                }
                return .error("ERR unknown subcommand '\(a[1].description.prefix(128))'. Try CONFIG HELP.")
            }
            guard a.count >= 3 else { return .wrongArity("config|get") }
            var out: [Reply] = []
            for (k, v) in ConnectionCommands.configValues(server)
            where a.dropFirst(2).contains(where: { GlobPattern.matches(Array($0.description.lowercased().utf8), Array(k.utf8)) }) {
                out += [.bulk(RedisBytes(k)), .bulk(RedisBytes(v))]
            }
            return .map(out)
        case "reset":
            engine.db = 0
            name = nil
            resp3 = false
            auth.authenticated = server.password == nil
            return .status("RESET")
        default:
            return .error("ERR unknown command '\(command)'")
        }
    }

    func authenticate(_ a: [RedisBytes]) -> Reply {
        guard a.count <= 3 else { return .syntax }
        guard let password = server.password else {
            if a.count == 2 {
                return .error(
                    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
                )
            }
            return a[1] == "default" ? .ok : .error("WRONGPASS invalid username-password pair or user is disabled.")
        }
        let user = a.count == 3 ? a[1] : RedisBytes("default")
        guard user == "default", ConnectionCommands.constantTimeEqual(a[a.count - 1].bytes, Array(password.utf8)) else {
            return .error("WRONGPASS invalid username-password pair or user is disabled.")
        }
        auth.authenticated = true
        return .ok
    }

    /// HELLO [protover [AUTH user pass] [SETNAME name]].
    func hello(_ a: [RedisBytes]) -> Reply {
        var version = resp3 ? 3 : 2
        if a.count >= 2 {
            guard let v = RedisInteger.parse(a[1].bytes) else {
                return .error("ERR Protocol version is not an integer or out of range")
            }
            guard v == 2 || v == 3 else { return .error("NOPROTO unsupported protocol version") }
            version = Int(v)
        }
        var i = 2
        var newName: RedisBytes?
        var authArgs: [RedisBytes]?
        while i < a.count {
            let more = a.count - i - 1
            switch CommandEngine.upper(a[i]) {
            case "AUTH" where more >= 2:
                authArgs = [RedisBytes("AUTH"), a[i + 1], a[i + 2]]
                i += 3
            case "SETNAME" where more >= 1:
                newName = a[i + 1]
                i += 2
            default:
                return .error("ERR Syntax error in HELLO option '\(a[i].description)'")
            }
        }
        if let authArgs {
            let r = authenticate(authArgs)
            if r.isError { return r }
        }
        if !auth.authenticated {
            return .error(
                "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
            )
        }
        if let newName {
            if let e = ConnectionCommands.invalidName(newName) { return e }
            name = newName.isEmpty ? nil : newName
        }
        resp3 = version == 3
        return .map([
            .bulk("server"), .bulk("redis"), .bulk("version"), .bulk(RedisBytes(RedisServeState.redisVersion)),
            .bulk("proto"), .integer(Int64(version)), .bulk("id"), .integer(id), .bulk("mode"), .bulk("standalone"),
            .bulk("role"), .bulk("master"), .bulk("modules"), .array([Reply]()),
        ])
    }

    /// CLIENT SETNAME | GETNAME | ID | INFO | LIST | HELP.
    func client(_ a: [RedisBytes]) -> Reply {
        let sub = CommandEngine.upper(a[1])
        let arities = ["SETNAME": 3, "GETNAME": 2, "ID": 2, "INFO": 2, "LIST": -2, "HELP": 2]
        guard let arity = arities[sub] else {
            return .error("ERR unknown subcommand '\(a[1].description.prefix(128))'. Try CLIENT HELP.")
        }
        if (arity > 0 && a.count != arity) || (arity < 0 && a.count < -arity) {
            return .wrongArity("client|\(sub.lowercased())")
        }
        switch sub {
        case "SETNAME":
            if let e = ConnectionCommands.invalidName(a[2]) { return e }
            name = a[2].isEmpty ? nil : a[2]
            return .ok
        case "GETNAME":
            return .bulk(name)
        case "ID":
            return .integer(id)
        case "INFO":
            return .verbatim(RedisBytes(infoLine() + "\n"))
        case "LIST":
            return .verbatim(RedisBytes(infoLine() + "\n"))
        default:
            return .array(
                [
                    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "GETNAME", "    Return the name of the current connection.",
                    "ID", "    Return the ID of the current connection.",
                    "INFO", "    Return information about the current client connection.",
                    "LIST", "    Return information about this client connection (rdbkit serve lists only the caller).",
                    "SETNAME <name>", "    Assign the name <name> to the current connection.",
                    "HELP", "    Prints this help.",
                ].map { .status($0) })
        }
    }

    /// The `CLIENT INFO` line (fields as Redis 7.0 prints them; memory fields are 0).
    func infoLine() -> String {
        let age = (RedisServeState.milliseconds() - connectedAt) / 1000
        let n = name.map { String(decoding: $0.bytes, as: UTF8.self) } ?? ""
        return "id=\(id) addr=\(peer) laddr=\(local) fd=-1 name=\(n) age=\(age) idle=0 flags=N db=\(engine.db) sub=0 "
            + "psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 "
            + "tot-mem=0 events=r cmd=client|info user=default redir=-1 resp=\(resp3 ? 3 : 2)"
    }
}

/// Every command name the server knows, with what it does with it: one lookup per request.
enum CommandTable {
    enum Kind {
        case connection(arity: Int)
        case read(CommandEngine.Spec)
        case write(arity: Int)

        var arity: Int {
            switch self {
            case .connection(let a), .write(let a): a
            case .read(let s): s.arity
            }
        }
    }

    static let kinds: [String: Kind] = {
        var t: [String: Kind] = [:]
        for (name, spec) in CommandEngine.commands {
            t[name] = CommandEngine.readOnlyCommandNames.contains(name) ? .read(spec) : .write(arity: spec.arity)
        }
        for (name, a) in ConnectionCommands.arity { t[name] = .connection(arity: a) }
        return t
    }()
}

/// Commands a connection answers itself (not through the engine), with their arities.
enum ConnectionCommands {
    static let arity: [String: Int] = [
        "ping": -1, "echo": 2, "select": 2, "auth": -2, "hello": -1, "client": -2, "info": -1, "command": -1,
        "reset": 1, "config": -2,
    ]

    /// What CONFIG GET reports (clients such as redis-benchmark ask for `save` and `appendonly`).
    static func configValues(_ server: RedisServeState) -> [(String, String)] {
        [
            ("save", ""), ("appendonly", "no"), ("databases", String(server.keyspace.maxDatabase + 1)),
            ("port", String(server.port)), ("maxmemory", "0"), ("maxmemory-policy", "noeviction"),
            ("replica-read-only", "yes"), ("protected-mode", server.password == nil ? "yes" : "no"),
            ("hash-max-listpack-entries", "512"), ("hash-max-listpack-value", "64"),
            ("zset-max-listpack-entries", "128"), ("zset-max-listpack-value", "64"),
            ("set-max-intset-entries", "512"), ("list-max-listpack-size", "-2"),
        ]
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return diff == 0
    }

    static func invalidName(_ n: RedisBytes) -> Reply? {
        if n.contains(where: { $0 < 0x21 || $0 > 0x7E }) {
            return .error("ERR Client names cannot contain spaces, newlines or special characters.")
        }
        return nil
    }

    /// Every command name served: connection commands and the engine's table (reads and refused writes).
    static var allNames: [String] {
        (Array(arity.keys) + ["quit"] + Array(CommandEngine.commands.keys)).sorted()
    }

    /// The `COMMAND INFO` entry of one command (Redis 7.0 layout: name, arity, flags, first key, last key, step,
    /// ACL categories, tips, key specs, subcommands).
    static func info(_ name: String) -> Reply? {
        let a: Int
        if let c = arity[name] {
            a = c
        } else if name == "quit" {
            a = -1
        } else if let s = CommandEngine.commands[name] {
            a = s.arity
        } else {
            return nil
        }
        let isRead = CommandEngine.readOnlyCommandNames.contains(name)
        let isConnection = arity[name] != nil || name == "quit"
        let flags: [String] = isConnection ? ["fast", "loading", "stale"] : isRead ? ["readonly"] : ["write"]
        let keyed = !isConnection && !["dbsize", "keys", "scan", "randomkey", "object", "xinfo", "function", "flushdb", "flushall", "swapdb", "multi", "exec", "discard"].contains(name)
        let multiKey = ["exists", "mget", "del", "unlink"].contains(name)
        return .array([
            .bulk(RedisBytes(name)), .integer(Int64(a)), .set(flags.map { .status($0) }),
            .integer(keyed ? 1 : 0), .integer(keyed ? (multiKey ? -1 : 1) : 0), .integer(keyed ? 1 : 0),
            .set([Reply]()), .set([Reply]()), .array([Reply]()), .array([Reply]()),
        ])
    }

    /// COMMAND [COUNT | INFO name… | DOCS [name…] | LIST].
    static func command(_ a: [RedisBytes]) -> Reply {
        if a.count == 1 { return .array(allNames.compactMap(info)) }
        switch CommandEngine.upper(a[1]) {
        case "COUNT": return .integer(Int64(allNames.count))
        case "LIST": return .array(allNames.map { .bulk(RedisBytes($0)) })
        case "INFO":
            let names = a.count > 2 ? a.dropFirst(2).map { CommandEngine.lowercasedNameForCommand($0) } : allNames
            return .array(names.map { info($0) ?? .null })
        case "DOCS":
            // No documentation: clients (redis-cli) fall back to their own help.
            return .map([])
        default:
            return .error("ERR unknown subcommand '\(a[1].description.prefix(128))'. Try COMMAND HELP.")
        }
    }
}

extension CommandEngine {
    static func lowercasedNameForCommand(_ b: RedisBytes) -> String {
        String(decoding: b.bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
