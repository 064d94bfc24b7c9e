import NIOCore
import RedisFormats

/// Sends commands without waiting for each reply, with at most `maximumInFlight` commands unanswered.
///
/// Commands are encoded into one buffer and written in batches; replies are read only once the limit is
/// passed (or on ``flush()``/``drain()``), and handed to `onReply` in send order with the tag each
/// command was sent with (typically where it came from: key, source offset).
///
/// ```swift
/// let p = RedisPipeline<Int64>(connection: c, maximumInFlight: 1024) { offset, reply in
///     if let e = reply.firstError { print("command at \(offset): \(e)") }
/// }
/// try p.send(["SET", "k", "v"], tag: 31)
/// try p.drain()
/// ```
/// Blocking: use it from one thread that is not an event loop.
///
/// Made with ``init(ownSocketTo:maximumInFlight:batchSize:batchBytes:maximumBytesInFlight:onReply:)``, a
/// pipeline to a server without TLS opens a socket of its own and drives it from the calling thread
/// (``RedisSocketLink``): no event loop, no promise per batch, no copy of the bytes written.
public final class RedisPipeline<Tag> {
    public let connection: RedisConnection
    /// The pipeline's own socket, when it has one (otherwise commands go through `connection`).
    private let link: RedisSocketLink?
    /// Whether commands go through a socket of the pipeline's own rather than `connection` (a second
    /// client on the server).
    public var hasOwnSocket: Bool { link != nil }
    /// Most commands sent and not yet answered.
    public let maximumInFlight: Int
    /// Commands per write.
    public let batchSize: Int
    /// Bytes per write: a batch is written once it holds this many, even with fewer commands.
    public let batchBytes: Int
    /// Most bytes written and not yet answered (big commands): past it, replies are read first.
    public let maximumBytesInFlight: Int
    /// Called for every reply, in send order. A thrown error stops the pipeline and is rethrown by
    /// the call that read the reply.
    public var onReply: (Tag, RESPValue) throws -> Void

    /// Bytes written so far.
    public private(set) var bytesSent: Int64 = 0
    /// Commands written so far.
    public private(set) var commandsSent = 0

    @usableFromInline var buffer: [UInt8] = []
    @usableFromInline var tags: [Tag] = []
    private var inFlight = CircularBuffer<(future: EventLoopFuture<[RESPValue]>, tags: [Tag], bytes: Int)>()
    private var inFlightCount = 0
    private var inFlightBytes = 0
    /// Own socket: batches written whose replies have not all come, after `head`, the oldest one, of which
    /// `headIndex` replies came.
    private var owed = CircularBuffer<(tags: [Tag], bytes: Int)>()
    private var head: [Tag] = []
    private var headIndex = 0
    private var headBytes = 0
    /// The outgoing buffer while it is being written (the two are swapped, so both keep their capacity).
    private var spare: [UInt8] = []

    /// Commands go through `connection` (SwiftNIO).
    public convenience init(
        connection: RedisConnection, maximumInFlight: Int = 1024, batchSize: Int = 256, batchBytes: Int = 64 * 1024,
        maximumBytesInFlight: Int = 16 << 20, onReply: @escaping (Tag, RESPValue) throws -> Void
    ) {
        self.init(
            connection: connection, link: nil, maximumInFlight: maximumInFlight, batchSize: batchSize, batchBytes: batchBytes,
            maximumBytesInFlight: maximumBytesInFlight, onReply: onReply)
    }

    /// Commands go to `connection`'s server on a socket of the pipeline's own, opened with the same options
    /// (user, password, database, client name), when the server is reached without TLS; through
    /// `connection` itself otherwise.
    /// - Throws: ``RedisClientError`` when the second connection cannot be opened.
    public convenience init(
        ownSocketTo connection: RedisConnection, maximumInFlight: Int = 1024, batchSize: Int = 256, batchBytes: Int = 64 * 1024,
        maximumBytesInFlight: Int = 16 << 20, onReply: @escaping (Tag, RESPValue) throws -> Void
    ) throws(RedisClientError) {
        let link = connection.uri.usesTLS ? nil : try RedisSocketLink.connect(to: connection.uri, options: connection.options)
        self.init(
            connection: connection, link: link, maximumInFlight: maximumInFlight, batchSize: batchSize, batchBytes: batchBytes,
            maximumBytesInFlight: maximumBytesInFlight, onReply: onReply)
    }

    private init(
        connection: RedisConnection, link: RedisSocketLink?, maximumInFlight: Int, batchSize: Int, batchBytes: Int,
        maximumBytesInFlight: Int, onReply: @escaping (Tag, RESPValue) throws -> Void
    ) {
        precondition(maximumInFlight > 0 && batchSize > 0 && batchBytes > 0, "a pipeline needs room for a command")
        self.connection = connection
        self.link = link
        self.maximumInFlight = maximumInFlight
        self.batchSize = min(batchSize, maximumInFlight)
        self.batchBytes = batchBytes
        self.maximumBytesInFlight = max(maximumBytesInFlight, batchBytes)
        self.onReply = onReply
        buffer.reserveCapacity(batchBytes + 4096)
        if link != nil { spare.reserveCapacity(batchBytes + 4096) }
    }

    /// Closes the pipeline's own socket, if it has one (replies still owed are not read).
    public func close() {
        link?.close()
    }

    /// Queues a command; writes the batch when full and waits for replies past the limit.
    @available(*, noasync)
    public func send(_ argv: [RedisBytes], tag: Tag) throws {
        RESPEncoder.encode(argv.map(\.bytes), into: &buffer)
        tags.append(tag)
        if tags.count >= batchSize || buffer.count >= batchBytes { try flush() }
    }

    /// Queues one command that `encode` appends as RESP (`*<argc>\r\n` and its arguments, exactly one
    /// complete command) straight to the outgoing bytes, without an argument array; then as
    /// ``send(_:tag:)``.
    /// Inlinable, so it is specialized for the caller's `Tag` (one generic call per command costs more than
    /// the encoding).
    @available(*, noasync)
    @inlinable
    public func send(tag: Tag, encodedBy encode: (inout [UInt8]) -> Void) throws {
        encode(&buffer)
        tags.append(tag)
        if tags.count >= batchSize || buffer.count >= batchBytes { try flush() }
    }

    /// Writes what is queued, then reads replies until at most `maximumInFlight` are owed.
    @available(*, noasync)
    public func flush() throws {
        if !tags.isEmpty {
            bytesSent += Int64(buffer.count)
            commandsSent += tags.count
            inFlightCount += tags.count
            inFlightBytes += buffer.count
            if let link {
                owed.append((tags, buffer.count))
                tags = []
                tags.reserveCapacity(batchSize)
                swap(&buffer, &spare)
                defer {
                    if spare.capacity > 4 * batchBytes { spare = [] }
                    spare.removeAll(keepingCapacity: true)
                    swap(&buffer, &spare)
                }
                try spare.withUnsafeBytes { bytes in try link.write(bytes) { try dispatch(link) } }
                // Replies already here are handed on now: the fewer owed, the less is kept.
                try link.receive()
                try dispatch(link)
                return try settle()
            }
            var bytes = connection.channel.allocator.buffer(capacity: buffer.count)
            bytes.writeBytes(buffer)
            let future = connection.submit(buffer: bytes, count: tags.count)
            inFlight.append((future, tags, buffer.count))
            tags = []
            tags.reserveCapacity(batchSize)
            // A big command's buffer is not kept.
            if buffer.capacity > 4 * batchBytes { buffer = [] }
            buffer.removeAll(keepingCapacity: true)
        }
        try settle()
    }

    /// Reads replies until at most `maximumInFlight` commands and `maximumBytesInFlight` bytes are owed.
    private func settle() throws {
        while inFlightCount > maximumInFlight || (inFlightBytes > maximumBytesInFlight && batchesOwed > 1) {
            try completeOldest()
        }
    }

    private var batchesOwed: Int { link == nil ? inFlight.count : owed.count + (headIndex < head.count ? 1 : 0) }

    /// Own socket: hands every complete reply read to `onReply`, with its command's tag.
    private func dispatch(_ link: RedisSocketLink) throws {
        while let reply = try link.nextReply() {
            if headIndex == head.count {
                guard let next = owed.popFirst() else {
                    throw link.fail(RedisClientError(.protocolViolation, "the server sent a reply nobody asked for: \(reply)"))
                }
                head = next.tags
                headBytes = next.bytes
                headIndex = 0
            }
            let tag = head[headIndex]
            headIndex += 1
            inFlightCount -= 1
            if headIndex == head.count { inFlightBytes -= headBytes }
            try onReply(tag, reply)
        }
    }

    /// Writes what is queued and reads every reply.
    @available(*, noasync)
    public func drain() throws {
        try flush()
        while inFlightCount > 0 { try completeOldest() }
    }

    /// Sends one command after everything queued and returns its reply (not given to `onReply`).
    @available(*, noasync)
    public func call(_ argv: [RedisBytes]) throws -> RESPValue {
        try drain()
        if let link {
            var command: [UInt8] = []
            RESPEncoder.encode(argv.map(\.bytes), into: &command)
            let reply = try link.call(command)
            bytesSent += Int64(command.count)
            commandsSent += 1
            return reply
        }
        do {
            let reply = try connection.submit([argv.map(\.bytes)]).wait()[0]
            bytesSent += Int64(argv.reduce(16) { $0 + $1.count + 16 })
            commandsSent += 1
            return reply
        } catch {
            throw RedisConnection.mapped(error)
        }
    }

    @available(*, noasync)
    private func completeOldest() throws {
        if let link {
            // At least one more reply.
            let owedBefore = inFlightCount
            try dispatch(link)
            while inFlightCount == owedBefore && inFlightCount > 0 {
                try link.receiveWaiting()
                try dispatch(link)
            }
            return
        }
        guard let (future, tags, bytes) = inFlight.popFirst() else { return }
        inFlightCount -= tags.count
        inFlightBytes -= bytes
        let replies: [RESPValue]
        do { replies = try future.wait() } catch { throw RedisConnection.mapped(error) }
        // By index: a zip iterator in this generic (unspecialized) code looks up type metadata per element.
        for i in 0..<min(tags.count, replies.count) { try onReply(tags[i], replies[i]) }
    }
}
