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
public final class RedisPipeline<Tag> {
    public let connection: RedisConnection
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

    public init(
        connection: RedisConnection, maximumInFlight: Int = 1024, batchSize: Int = 256, batchBytes: Int = 64 * 1024,
        maximumBytesInFlight: Int = 16 << 20, onReply: @escaping (Tag, RESPValue) throws -> Void
    ) {
        precondition(maximumInFlight > 0 && batchSize > 0 && batchBytes > 0, "a pipeline needs room for a command")
        self.connection = connection
        self.maximumInFlight = maximumInFlight
        self.batchSize = min(batchSize, maximumInFlight)
        self.batchBytes = batchBytes
        self.maximumBytesInFlight = max(maximumBytesInFlight, batchBytes)
        self.onReply = onReply
        buffer.reserveCapacity(batchBytes + 4096)
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
        while inFlightCount > maximumInFlight || (inFlightBytes > maximumBytesInFlight && inFlight.count > 1) {
            try completeOldest()
        }
    }

    /// Writes what is queued and reads every reply.
    @available(*, noasync)
    public func drain() throws {
        try flush()
        while !inFlight.isEmpty { try completeOldest() }
    }

    /// Sends one command after everything queued and returns its reply (not given to `onReply`).
    @available(*, noasync)
    public func call(_ argv: [RedisBytes]) throws -> RESPValue {
        try drain()
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
        guard let (future, tags, bytes) = inFlight.popFirst() else { return }
        inFlightCount -= tags.count
        inFlightBytes -= bytes
        let replies: [RESPValue]
        do { replies = try future.wait() } catch { throw RedisConnection.mapped(error) }
        // By index: a zip iterator in this generic (unspecialized) code looks up type metadata per element.
        for i in 0..<min(tags.count, replies.count) { try onReply(tags[i], replies[i]) }
    }
}
