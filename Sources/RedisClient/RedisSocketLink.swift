#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import RedisFormats

/// A plain TCP connection driven by the calling thread: non-blocking socket, `poll(2)` for waiting,
/// replies parsed from one input buffer. No event loop, no promise, no copy of what is written.
///
/// ``RedisPipeline`` uses it for bulk traffic to a server reached without TLS: sending millions of
/// commands through SwiftNIO costs a thread hand-off per batch and the event loop's own CPU, which a
/// bulk load on two cores cannot spare (the server needs one). Blocking: one thread, never an event loop.
final class RedisSocketLink {
    private var fd: Int32
    /// Seconds without any progress (no byte written or read) before a wait fails.
    let timeout: Double
    let peer: String
    /// Bytes read and not parsed yet.
    private(set) var input: ByteBuffer
    /// The error that ended the link: every later call throws it.
    private(set) var failure: RedisClientError?

    private init(fd: Int32, timeout: Double, peer: String) {
        self.fd = fd
        self.timeout = timeout
        self.peer = peer
        input = ByteBufferAllocator().buffer(capacity: 64 * 1024)
    }

    deinit { close() }

    /// Opens the connection and runs the handshake of ``RedisConnection`` (AUTH / HELLO, CLIENT SETNAME,
    /// SELECT), each step checked.
    /// - Throws: ``RedisClientError``: `.connection`, `.timeout`, `.authentication`, `.server`.
    static func connect(to uri: RedisURI, options: RedisClientOptions) throws(RedisClientError) -> RedisSocketLink {
        precondition(!uri.usesTLS, "a socket link is plain TCP")
        let peer = "\(uri.host):\(uri.port)"
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(uri.host, String(uri.port), &hints, &list)
        guard status == 0, let first = list else {
            throw RedisClientError(.connection, "cannot connect to \(peer): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let a = candidate {
            candidate = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), a.pointee.ai_protocol)
            if fd < 0 {
                lastError = String(cString: strerror(errno))
                continue
            }
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            _ = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
            if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) != 0 && errno != EINPROGRESS {
                lastError = String(cString: strerror(errno))
                _ = Glibc.close(fd)
                continue
            }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&p, 1, Int32(min(options.connectTimeout * 1000, Double(Int32.max))))
            if ready == 0 {
                _ = Glibc.close(fd)
                throw RedisClientError(.timeout, "no connection to \(peer) within \(options.connectTimeout) s")
            }
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
            if ready < 0 || soError != 0 {
                lastError = String(cString: strerror(ready < 0 ? errno : soError))
                _ = Glibc.close(fd)
                continue
            }
            let link = RedisSocketLink(fd: fd, timeout: options.commandTimeout, peer: peer)
            for step in RedisConnection.handshakeSteps(uri: uri, options: options) {
                var command: [UInt8] = []
                RESPEncoder.encode(step.argv.map { Array($0.utf8) }, into: &command)
                let reply = try link.call(command)
                if let e = reply.errorMessage { throw RedisClientError(step.code, e, command: step.shown) }
            }
            return link
        }
        throw RedisClientError(.connection, "cannot connect to \(peer): \(lastError)")
    }

    func close() {
        if fd >= 0 {
            _ = Glibc.close(fd)
            fd = -1
        }
    }

    /// Ends the link with an error (the socket is closed) and returns it for throwing.
    func fail(_ error: RedisClientError) -> RedisClientError {
        if failure == nil { failure = error }
        close()
        return failure ?? error
    }

    // MARK: Writing and reading

    /// Writes every byte; while the socket is full, reads what arrived and calls `onInput` (so a server
    /// blocked on sending replies is never waited for).
    func write(_ bytes: UnsafeRawBufferPointer, onInput: () throws -> Void) throws {
        if let failure { throw failure }
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = send(fd, base, left, Int32(MSG_NOSIGNAL))
            if n > 0 {
                base += n
                left -= n
                continue
            }
            let e = errno
            if n < 0 && e == EINTR { continue }
            guard n < 0 && (e == EAGAIN || e == EWOULDBLOCK) else {
                throw fail(RedisClientError(.connection, "writing to \(peer): \(String(cString: strerror(e)))"))
            }
            let events = try wait(for: Int16(POLLOUT) | Int16(POLLIN))
            if events & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0 {
                if try receive() { try onInput() }
            }
        }
    }

    /// Reads what the socket has into ``input`` without waiting. Whether bytes arrived.
    /// - Throws: `.closed` when the server closed the connection.
    @discardableResult
    func receive() throws -> Bool {
        if let failure { throw failure }
        var got = false
        while true {
            if input.readerIndex > 0 && input.readerIndex >= input.writerIndex / 2 { input.discardReadBytes() }
            let fd = self.fd
            var result = 0
            var space = 0
            var code: Int32 = 0
            input.writeWithUnsafeMutableBytes(minimumWritableBytes: 16 * 1024) { p in
                space = p.count
                result = recv(fd, p.baseAddress, p.count, 0)
                code = errno
                return max(result, 0)
            }
            if result > 0 {
                got = true
                if result < space { break }
                continue
            }
            if result == 0 {
                if got { break }  // what came before the end is read first; the next call reports it
                throw fail(RedisClientError(.closed, "the server closed the connection"))
            }
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { break }
            throw fail(RedisClientError(.connection, "reading from \(peer): \(String(cString: strerror(code)))"))
        }
        return got
    }

    /// Waits until the socket is ready for `events`; past ``timeout`` with nothing, the link fails.
    private func wait(for events: Int16) throws -> Int16 {
        var p = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let r = poll(&p, 1, Int32(min(timeout * 1000, Double(Int32.max))))
            if r > 0 { return p.revents }
            if r < 0 && errno == EINTR { continue }
            if r == 0 { throw fail(RedisClientError(.timeout, "no reply from \(peer) within \(timeout) s (the connection was closed)")) }
            throw fail(RedisClientError(.connection, "waiting for \(peer): \(String(cString: strerror(errno)))"))
        }
    }

    /// Waits for bytes and reads them.
    func receiveWaiting() throws {
        while try !receive() { _ = try wait(for: Int16(POLLIN)) }
    }

    /// The next complete reply in ``input`` (out-of-band pushes skipped), or nil.
    func nextReply() throws -> RESPValue? {
        do {
            while let v = try RESPDecoder.parse(&input) {
                if case .push = v { continue }
                return v
            }
            return nil
        } catch {
            throw fail(RedisConnection.mapped(error))
        }
    }

    /// Writes one encoded command and waits for its reply; nothing else may be owed.
    func call(_ command: [UInt8]) throws(RedisClientError) -> RESPValue {
        do {
            try command.withUnsafeBytes { try write($0) {} }
            while true {
                if let v = try nextReply() { return v }
                try receiveWaiting()
            }
        } catch {
            throw RedisConnection.mapped(error)
        }
    }
}
