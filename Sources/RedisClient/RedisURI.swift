import RedisFormats

/// A server address: `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS).
///
/// ```swift
/// let uri = try RedisURI("rediss://replayer@10.0.0.5:6380/2")
/// ```
/// The password may be left out of the URI and given through ``RedisClientOptions/password`` (the CLI
/// reads `REDISCLI_AUTH`, as redis-cli does), so it never appears in a process list.
public struct RedisURI: Sendable, Hashable, CustomStringConvertible {
    public var usesTLS: Bool
    public var host: String
    public var port: Int
    public var user: String?
    public var password: String?
    public var db: UInt64?

    public init(host: String, port: Int = 6379, usesTLS: Bool = false, user: String? = nil, password: String? = nil, db: UInt64? = nil) {
        self.host = host
        self.port = port
        self.usesTLS = usesTLS
        self.user = user
        self.password = password
        self.db = db
    }

    /// Parses a URI. Percent-escapes in the user and password are decoded; an IPv6 host goes in brackets.
    /// - Throws: ``RedisClientError`` (`.invalidArgument`) naming what is wrong.
    public init(_ text: String) throws(RedisClientError) {
        func bad(_ why: String) -> RedisClientError {
            RedisClientError(.invalidArgument, "invalid server URI: \(why) (expected redis://[user:password@]host:port[/db] or rediss://…)")
        }
        var rest: Substring
        if text.hasPrefix("redis://") {
            usesTLS = false
            rest = text.dropFirst("redis://".count)
        } else if text.hasPrefix("rediss://") {
            usesTLS = true
            rest = text.dropFirst("rediss://".count)
        } else {
            throw bad("unknown scheme")
        }
        user = nil
        password = nil
        db = nil
        if let at = rest.lastIndex(of: "@") {
            let auth = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = auth.firstIndex(of: ":") {
                let u = String(auth[..<colon])
                user = u.isEmpty ? nil : try Self.percentDecoded(u, bad)
                password = try Self.percentDecoded(String(auth[auth.index(after: colon)...]), bad)
            } else if !auth.isEmpty {
                user = try Self.percentDecoded(String(auth), bad)
            }
        }
        var hostPort = rest
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let dbText = rest[rest.index(after: slash)...]
            if !dbText.isEmpty {
                guard let n = UInt64(dbText) else { throw bad("the database '\(dbText)' is not a number") }
                db = n
            }
        }
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw bad("unclosed [ in the host") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.isEmpty {
                port = 6379
            } else {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw bad("bad port") }
                port = p
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            guard let p = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(p) else { throw bad("bad port") }
            port = p
        } else {
            host = String(hostPort)
            port = 6379
        }
        guard !host.isEmpty else { throw bad("no host") }
    }

    private static func percentDecoded(_ s: String, _ bad: (String) -> RedisClientError) throws(RedisClientError) -> String {
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "%") {
                guard bytes.count >= 2, let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) else {
                    throw bad("a bad percent escape")
                }
                out.append(v)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The URI without its password.
    public var description: String {
        var s = usesTLS ? "rediss://" : "redis://"
        if let user { s += user + "@" }
        s += host.contains(":") ? "[\(host)]" : host
        s += ":\(port)"
        if let db { s += "/\(db)" }
        return s
    }
}

/// TLS settings (`rediss://`): the CA that signs the server's certificate, a client certificate when the
/// server asks for one (`tls-auth-clients yes`), and whether to skip verification.
public struct RedisTLSOptions: Sendable, Hashable {
    /// PEM file (or directory) of trusted CAs; the system's when nil.
    public var caFile: String?
    /// PEM client certificate chain.
    public var certificateFile: String?
    /// PEM client private key.
    public var keyFile: String?
    /// Skip certificate and host name verification (off by default; for tests and lab setups only).
    public var skipsVerification = false
    /// The name to verify and send as SNI; the host of the URI when nil (an IP address is checked against
    /// the certificate's IP SANs).
    public var serverName: String?

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, skipsVerification: Bool = false) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.skipsVerification = skipsVerification
    }
}

/// How a connection is set up.
public struct RedisClientOptions: Sendable {
    /// 2 (RESP2, `AUTH`) or 3 (`HELLO 3`).
    public var protocolVersion = 2
    /// The ACL user (`AUTH user password`, Redis 6+); the URI's when nil.
    public var user: String?
    /// The password; the URI's when nil.
    public var password: String?
    /// `SELECT` after connecting; the URI's when nil.
    public var db: UInt64?
    /// `CLIENT SETNAME` / `HELLO … SETNAME`.
    public var clientName: String?
    public var tls = RedisTLSOptions()
    /// Seconds to open the connection (TCP and TLS handshake).
    public var connectTimeout: Double = 10
    /// Seconds a command may wait for its reply; the connection is closed when one does not arrive.
    public var commandTimeout: Double = 60

    public init() {}
}
