import RedisFormats

/// An error of the client: where it happened on the wire and, for a command, which command and which
/// place in the source (file offset) produced it.
///
/// ```
/// command RESTORE for key "user:1" (db 0) at source offset 4711 rejected: BUSYKEY Target key name already exists.
/// ```
public struct RedisClientError: Error, Sendable, CustomStringConvertible {
    /// What went wrong. A struct around a private enum so codes can be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Hashable, Sendable {
            case connection, tls, authentication, timeout, protocolViolation, server, closed, invalidArgument
        }
        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// The connection could not be opened or broke.
        public static let connection = Code(.connection)
        /// TLS setup or handshake failed (certificates, verification).
        public static let tls = Code(.tls)
        /// `AUTH` / `HELLO … AUTH` was refused.
        public static let authentication = Code(.authentication)
        /// No reply within the command timeout (or no connection within the connect timeout).
        public static let timeout = Code(.timeout)
        /// The server sent bytes that are not RESP.
        public static let protocolViolation = Code(.protocolViolation)
        /// The server answered a command with an error reply.
        public static let server = Code(.server)
        /// The connection was closed while commands were waiting for replies.
        public static let closed = Code(.closed)
        /// A bad URI, option or file name.
        public static let invalidArgument = Code(.invalidArgument)

        public var description: String { kind.rawValue }
    }

    public var code: Code
    /// The message, for `.server` the server's error reply (`BUSYKEY Target key name already exists.`).
    public var message: String
    /// The command name (`RESTORE`); arguments are never kept, they may hold passwords or large values.
    public var command: String?
    /// The key the command wrote, when there is one.
    public var key: RedisBytes?
    /// The database the command ran in.
    public var db: UInt64?
    /// The offset in the source (RDB key record, AOF command, JSON line) that produced the command.
    public var sourceOffset: Int64?
    /// The source file (an AOF part), when it is not the obvious one.
    public var sourceFile: String?

    public init(
        _ code: Code, _ message: String, command: String? = nil, key: RedisBytes? = nil, db: UInt64? = nil,
        sourceOffset: Int64? = nil, sourceFile: String? = nil
    ) {
        self.code = code
        self.message = message
        self.command = command
        self.key = key
        self.db = db
        self.sourceOffset = sourceOffset
        self.sourceFile = sourceFile
    }

    public var description: String {
        guard let command else { return message }
        var s = "command \(command)"
        if let key { s += " for key \(key.escapedDescription)" }
        if let db { s += " (db \(db))" }
        if let sourceOffset {
            s += " at source offset \(sourceOffset)"
            if let sourceFile { s += " of \(sourceFile)" }
        }
        s += code == .server ? " rejected: \(message)" : " failed: \(message)"
        return s
    }
}
