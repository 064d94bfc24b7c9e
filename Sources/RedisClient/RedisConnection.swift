import NIOCore
import NIOPosix
import NIOSSL
import RedisFormats

/// Bytes of one or more encoded commands and the promise of their replies, in order.
struct RedisRequest: Sendable {
    var bytes: ByteBuffer
    var count: Int
    var promise: EventLoopPromise<[RESPValue]>
}

/// Parses replies from the bytes read and matches them to requests in send order. Lives on the channel's
/// event loop only.
///
/// Replies are parsed here, a whole read at a time, rather than by a `ByteToMessageHandler` in front:
/// that passes each reply down the pipeline on its own, which costs more than parsing a `+OK`.
final class RedisReplyHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    /// A class, so the head's replies grow in place (no copy through the buffer's subscript).
    private final class Pending {
        let count: Int
        var replies: [RESPValue]
        let promise: EventLoopPromise<[RESPValue]>
        /// When the request was written: its replies are owed within the command timeout.
        let sent: NIODeadline
        init(count: Int, replies: [RESPValue], promise: EventLoopPromise<[RESPValue]>, sent: NIODeadline) {
            self.count = count
            self.replies = replies
            self.promise = promise
            self.sent = sent
        }
    }
    private var pending = CircularBuffer<Pending>()
    private var failure: RedisClientError?
    /// The start of a reply not complete yet.
    private var partial: ByteBuffer?
    /// How long the oldest request may wait for its replies.
    private let timeout: TimeAmount
    /// Checks the oldest request against ``timeout`` a few times per timeout: one timer per connection
    /// rather than one per request (each costs a wake-up of the event loop from the sending thread).
    private var watchdog: RepeatedTask?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let period = TimeAmount.nanoseconds(min(max(timeout.nanoseconds / 4, 5_000_000), 1_000_000_000))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        watchdog = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
            let (handler, context) = loopBound.value
            handler.checkTimeout(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        watchdog?.cancel()
        watchdog = nil
    }

    private func checkTimeout(context: ChannelHandlerContext) {
        guard failure == nil, let head = pending.first, head.sent + timeout <= .now() else { return }
        let seconds = Double(timeout.nanoseconds) / 1e9
        fail(context: context, RedisClientError(.timeout, "no reply within \(seconds) s (the connection was closed)"))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let failure {
            request.promise.fail(failure)
            promise?.fail(failure)
            return
        }
        var replies: [RESPValue] = []
        replies.reserveCapacity(request.count)
        pending.append(Pending(count: request.count, replies: replies, promise: request.promise, sent: .now()))
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if var start = partial {
            partial = nil
            start.writeBuffer(&bytes)
            bytes = start
        }
        do {
            while failure == nil, let value = try RESPDecoder.parse(&bytes) { reply(context: context, value) }
        } catch {
            fail(context: context, RedisConnection.mapped(error))
            return
        }
        if bytes.readableBytes > 0 && failure == nil {
            bytes.discardReadBytes()
            partial = bytes
        }
    }

    private func reply(context: ChannelHandlerContext, _ value: RESPValue) {
        if case .push = value { return }  // out-of-band (RESP3 pub/sub, tracking): nobody asked for it
        guard !pending.isEmpty else {
            fail(context: context, RedisClientError(.protocolViolation, "the server sent a reply nobody asked for: \(value)"))
            return
        }
        let head = pending[pending.startIndex]
        head.replies.append(value)
        if head.replies.count == head.count {
            pending.removeFirst()
            head.promise.succeed(head.replies)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, RedisConnection.mapped(error))
    }

    func channelInactive(context: ChannelHandlerContext) {
        let e = failure ?? RedisClientError(.closed, "the server closed the connection")
        failure = e
        while let p = pending.popFirst() { p.promise.fail(e) }
        context.fireChannelInactive()
    }

    private func fail(context: ChannelHandlerContext, _ error: RedisClientError) {
        if failure == nil { failure = error }
        while let p = pending.popFirst() { p.promise.fail(failure ?? error) }
        context.close(promise: nil)
    }
}

/// One connection to a Redis or Valkey server over SwiftNIO: TCP or TLS, RESP2 or RESP3, `AUTH` with a
/// password or an ACL user, `SELECT`, per-command timeouts.
///
/// ```swift
/// let c = try await RedisConnection.connect(to: RedisURI("redis://127.0.0.1:6379/0"))
/// let reply = try await c.send(["PING"])
/// ```
/// The blocking forms (``connectBlocking(to:options:)``, ``call(_:)``) are for synchronous tools; they
/// must not run on an event loop. Pipelines with a bounded number of commands in flight are
/// ``RedisPipeline``.
public final class RedisConnection: Sendable {
    let channel: any Channel
    public let uri: RedisURI
    /// The protocol agreed with the server (2 or 3).
    public let protocolVersion: Int
    /// The options it was opened with (a second connection to the same server uses them too).
    public let options: RedisClientOptions

    private init(channel: any Channel, uri: RedisURI, protocolVersion: Int, options: RedisClientOptions) {
        self.channel = channel
        self.uri = uri
        self.protocolVersion = protocolVersion
        self.options = options
    }

    // MARK: Connecting

    /// Connects, negotiates the protocol, authenticates and selects the database.
    /// - Throws: ``RedisClientError``: `.connection`, `.tls`, `.timeout`, `.authentication`, `.server`.
    public static func connect(to uri: RedisURI, options: RedisClientOptions = RedisClientOptions()) async throws(RedisClientError)
        -> RedisConnection
    {
        do { return try await start(uri, options).get() } catch { throw mapped(error) }
    }

    /// ``connect(to:options:)`` for synchronous code: blocks the calling thread.
    @available(*, noasync, message: "use connect(to:options:)")
    public static func connectBlocking(to uri: RedisURI, options: RedisClientOptions = RedisClientOptions()) throws(RedisClientError)
        -> RedisConnection
    {
        do { return try start(uri, options).wait() } catch { throw mapped(error) }
    }

    private static func start(_ uri: RedisURI, _ options: RedisClientOptions) -> EventLoopFuture<RedisConnection> {
        let group = MultiThreadedEventLoopGroup.singleton
        let sslContext: NIOSSLContext?
        do {
            sslContext = uri.usesTLS ? try makeSSLContext(options.tls) : nil
        } catch {
            return group.any().makeFailedFuture(error)
        }
        let isIPAddress = uri.host.contains(":") || uri.host.allSatisfy { $0.isNumber || $0 == "." }
        let serverName = options.tls.serverName ?? (isIPAddress ? nil : uri.host)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(Int64(options.connectTimeout * 1e9)))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let sslContext {
                        try sync.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    }
                    try sync.addHandler(RedisReplyHandler(timeout: .nanoseconds(Int64(options.commandTimeout * 1e9))))
                }
            }
        return bootstrap.connect(host: uri.host, port: uri.port).flatMap { channel in
            let version = options.protocolVersion == 3 ? 3 : 2
            let connection = RedisConnection(channel: channel, uri: uri, protocolVersion: version, options: options)
            return connection.handshake(Self.handshakeSteps(uri: uri, options: options))
                .map { connection }
                .flatMapError { error in
                    // The handshake's error is the news, not how the close went (TLS may close uncleanly).
                    channel.close().flatMapThrowing { throw error }.flatMapErrorThrowing { _ in throw error }
                }
        }
    }

    static func makeSSLContext(_ tls: RedisTLSOptions) throws -> NIOSSLContext {
        var c = TLSConfiguration.makeClientConfiguration()
        if let ca = tls.caFile { c.trustRoots = .file(ca) }
        if let cert = tls.certificateFile {
            c.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
            guard let key = tls.keyFile else { throw RedisClientError(.invalidArgument, "a client certificate needs its key (--key)") }
            c.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        } else if tls.keyFile != nil {
            throw RedisClientError(.invalidArgument, "a client key needs its certificate (--cert)")
        }
        if tls.skipsVerification { c.certificateVerification = .none }
        do {
            return try NIOSSLContext(configuration: c)
        } catch {
            throw RedisClientError(.tls, "cannot set up TLS: \(error)")
        }
    }

    /// One command of the opening handshake: what to send, how to name it in an error, and the error's code.
    struct HandshakeStep: Sendable {
        var argv: [String]
        var shown: String
        var code: RedisClientError.Code
    }

    /// HELLO 3 / AUTH, SELECT and CLIENT SETNAME, in order, for a connection with these options.
    static func handshakeSteps(uri: RedisURI, options: RedisClientOptions) -> [HandshakeStep] {
        let user = options.user ?? uri.user
        let password = options.password ?? uri.password
        let db = options.db ?? uri.db
        let name = options.clientName
        var steps: [HandshakeStep] = []
        if options.protocolVersion == 3 {
            var hello = ["HELLO", "3"]
            var shown = "HELLO 3"
            if let password {
                hello += ["AUTH", user ?? "default", password]
                shown += " AUTH"
            }
            if let name { hello += ["SETNAME", name] }
            steps.append(HandshakeStep(argv: hello, shown: shown, code: password == nil ? .server : .authentication))
        } else {
            if let password {
                steps.append(HandshakeStep(argv: user.map { ["AUTH", $0, password] } ?? ["AUTH", password], shown: "AUTH", code: .authentication))
            }
            if let name { steps.append(HandshakeStep(argv: ["CLIENT", "SETNAME", name], shown: "CLIENT SETNAME", code: .server)) }
        }
        if let db, db != 0 { steps.append(HandshakeStep(argv: ["SELECT", String(db)], shown: "SELECT", code: .server)) }
        return steps
    }

    /// Sends the handshake's commands one after the other, each checked.
    private func handshake(_ steps: [HandshakeStep]) -> EventLoopFuture<Void> {
        var future = channel.eventLoop.makeSucceededVoidFuture()
        for step in steps {
            future = future.flatMap {
                self.submit([step.argv.map { Array($0.utf8) }]).flatMapThrowing { replies in
                    if let e = replies.first?.errorMessage {
                        throw RedisClientError(step.code, e, command: step.shown)
                    }
                }
            }
        }
        return future
    }

    // MARK: Commands

    /// Sends commands as one write; the future holds their replies in order (error replies included).
    /// Fails when the connection breaks or no complete answer arrives within the command timeout.
    func submit(_ commands: [[UInt8]]...) -> EventLoopFuture<[RESPValue]> {
        var buffer = channel.allocator.buffer(capacity: 256)
        for argv in commands { RESPEncoder.encode(argv, into: &buffer) }
        return submit(buffer: buffer, count: commands.count)
    }

    func submit(_ commands: [[[UInt8]]]) -> EventLoopFuture<[RESPValue]> {
        var buffer = channel.allocator.buffer(capacity: 256)
        for argv in commands { RESPEncoder.encode(argv, into: &buffer) }
        return submit(buffer: buffer, count: commands.count)
    }

    /// Writes already-encoded commands.
    func submit(buffer: ByteBuffer, count: Int) -> EventLoopFuture<[RESPValue]> {
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        let channel = self.channel
        // The reply handler's watchdog fails the request when no complete answer comes within the command
        // timeout.
        // A write on a closed channel never reaches the reply handler (the pipeline is torn down): the
        // failed write fails the request instead.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in promise.fail(RedisConnection.mapped(error)) }
        channel.writeAndFlush(RedisRequest(bytes: buffer, count: count, promise: promise), promise: written)
        return promise.futureResult
    }

    /// Sends one command and returns its reply; an error reply is returned, not thrown.
    public func send(_ argv: [RedisBytes]) async throws(RedisClientError) -> RESPValue {
        do { return try await submit([argv.map(\.bytes)]).get()[0] } catch { throw Self.mapped(error) }
    }

    /// Sends one command and returns its reply, blocking; an error reply is returned, not thrown.
    @available(*, noasync, message: "use send(_:)")
    public func call(_ argv: [RedisBytes]) throws(RedisClientError) -> RESPValue {
        do { return try submit([argv.map(\.bytes)]).wait()[0] } catch { throw Self.mapped(error) }
    }

    /// Closes the connection (replies still owed fail with `.closed`).
    public func close() {
        channel.close(promise: nil)
    }

    /// Closes and waits until closed.
    public func closeAndWait() async {
        try? await channel.close().get()
    }

    /// Any error as a ``RedisClientError``.
    static func mapped(_ error: any Error) -> RedisClientError {
        if let e = error as? RedisClientError { return e }
        if let e = error as? NIOSSLError { return RedisClientError(.tls, "TLS: \(e)") }
        if let e = error as? BoringSSLError { return RedisClientError(.tls, "TLS: \(e)") }
        if let e = error as? ChannelError {
            if case .connectTimeout(let t) = e { return RedisClientError(.timeout, "no connection within \(Double(t.nanoseconds) / 1e9) s") }
            if e == .ioOnClosedChannel || e == .alreadyClosed || e == .eof { return RedisClientError(.closed, "the connection is closed") }
            return RedisClientError(.connection, "\(e)")
        }
        if let e = error as? NIOConnectionError {
            let why = e.connectionErrors.first.map { "\($0.error)" } ?? "\(e)"
            return RedisClientError(.connection, "cannot connect to \(e.host):\(e.port): \(why)")
        }
        if let e = error as? IOError { return RedisClientError(.connection, "\(e)") }
        return RedisClientError(.connection, "\(error)")
    }
}
