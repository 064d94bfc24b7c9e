import NIOCore
import RedisFormats

/// One client request: a command, or the protocol error that ends the connection.
public enum RESPRequest: Sendable, Equatable {
    case command([RedisBytes])
    /// The text after `-ERR Protocol error: ` (the server replies, then closes, as Redis does).
    case protocolError(String)
}

/// Limits that keep a hostile client from making the server allocate without bound.
public struct RESPRequestLimits: Sendable {
    /// Most arguments in one command (Redis accepts up to `INT_MAX` but never preallocates more than 1024).
    public var maximumArguments = 1024 * 1024
    /// Longest bulk string (`proto-max-bulk-len`, 512 MiB).
    public var maximumBulkLength = 512 * 1024 * 1024
    /// Longest inline command or length line (`PROTO_INLINE_MAX_SIZE`, 64 KiB).
    public var maximumInlineLength = 64 * 1024
    /// Before AUTH: most arguments and longest bulk string (Redis 7.0: 10 and 16 KiB).
    public var unauthenticatedArguments = 10
    public var unauthenticatedBulkLength = 16 * 1024
    public init() {}
}

/// Whether the client has authenticated, shared by the decoder and the command handler of one connection
/// (both run on the connection's event loop).
final class AuthenticationState {
    var authenticated: Bool
    init(authenticated: Bool) { self.authenticated = authenticated }
}

/// Splits a byte stream into requests: RESP multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) or inline commands
/// (`GET k\r\n`, as typed into telnet), mirroring `processMultibulkBuffer` and `processInlineBuffer`.
///
/// Arguments are kept as they complete, so a command of many arguments or one long bulk string is scanned once;
/// nothing is allocated from a declared length before that many bytes have arrived. After a protocol error the
/// decoder emits the error once and drops everything else.
struct RESPRequestDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPRequest

    let limits: RESPRequestLimits
    let auth: AuthenticationState
    private var expected: Int?
    private var arguments: [RedisBytes] = []
    private var failed = false

    init(limits: RESPRequestLimits, auth: AuthenticationState) {
        self.limits = limits
        self.auth = auth
    }

    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if failed {
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            return .needMoreData
        }
        switch try step(&buffer) {
        case .none: return .needMoreData
        case .some(.command(let argv)) where argv.isEmpty: return .continue
        case .some(let request):
            if case .protocolError = request { failed = true }
            context.fireChannelRead(wrapInboundOut(request))
            return .continue
        }
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        .needMoreData
    }

    /// The offset of the `\r\n` (or, for inline commands, `\n`) that ends the line at the reader index.
    private func lineEnd(_ buffer: ByteBuffer, inline: Bool) -> Int? {
        let view = buffer.readableBytesView
        guard let nl = view.firstIndex(of: Self.lf) else { return nil }
        if inline { return nl - view.startIndex }
        // A multibulk line must end in \r\n; a bare \n ends it too (then the number does not parse).
        return nl - view.startIndex
    }

    /// The integer on a `*n` / `$n` line (without the prefix), or nil.
    private static func integer(_ bytes: ByteBufferView.SubSequence) -> Int? {
        guard let v = RedisInteger.parse(bytes) else { return nil }
        return Int(exactly: v)
    }

    /// Decodes one request when the buffer holds it; nil when more bytes are needed. An empty command means a
    /// line that held nothing (skipped).
    private mutating func step(_ buffer: inout ByteBuffer) throws -> RESPRequest? {
        if expected == nil {
            guard let first = buffer.readableBytesView.first else { return nil }
            if first != UInt8(ascii: "*") { return inline(&buffer) }
            guard let end = lineEnd(buffer, inline: false) else {
                if buffer.readableBytes > limits.maximumInlineLength {
                    return .protocolError("too big mbulk count string")
                }
                return nil
            }
            let view = buffer.readableBytesView
            var line = view[(view.startIndex + 1)..<(view.startIndex + end)]
            if line.last == Self.cr { line = line.dropLast() }
            guard let n = Self.integer(line), n <= limits.maximumArguments else {
                return .protocolError("invalid multibulk length")
            }
            if !auth.authenticated && n > limits.unauthenticatedArguments {
                return .protocolError("unauthenticated multibulk length")
            }
            buffer.moveReaderIndex(forwardBy: end + 1)
            if n <= 0 { return .command([]) }
            expected = n
            arguments = []
            arguments.reserveCapacity(min(n, 1024))
        }
        while arguments.count < expected! {
            guard let end = lineEnd(buffer, inline: false) else {
                if buffer.readableBytes > limits.maximumInlineLength {
                    return .protocolError("too big bulk count string")
                }
                return nil
            }
            let view = buffer.readableBytesView
            let first = view[view.startIndex]
            guard first == UInt8(ascii: "$") else {
                return .protocolError("expected '$', got '\(Self.printable(first))'")
            }
            var line = view[(view.startIndex + 1)..<(view.startIndex + end)]
            if line.last == Self.cr { line = line.dropLast() }
            guard let length = Self.integer(line), length >= 0, length <= limits.maximumBulkLength else {
                return .protocolError("invalid bulk length")
            }
            if !auth.authenticated && length > limits.unauthenticatedBulkLength {
                return .protocolError("unauthenticated bulk length")
            }
            // The header, the bytes and their \r\n must all be here before anything is taken.
            guard buffer.readableBytes >= end + 1 + length + 2 else { return nil }
            buffer.moveReaderIndex(forwardBy: end + 1)
            let bytes = buffer.readBytes(length: length)!
            buffer.moveReaderIndex(forwardBy: 2)
            arguments.append(RedisBytes(bytes))
        }
        expected = nil
        let argv = arguments
        arguments = []
        return .command(argv)
    }

    private static func printable(_ b: UInt8) -> String {
        String(decoding: [b], as: UTF8.self)
    }

    /// An inline command: one line split as `sdssplitargs` does (quotes, `\x` escapes).
    private mutating func inline(_ buffer: inout ByteBuffer) -> RESPRequest? {
        guard let end = lineEnd(buffer, inline: true) else {
            if buffer.readableBytes > limits.maximumInlineLength { return .protocolError("too big inline request") }
            return nil
        }
        guard end <= limits.maximumInlineLength else { return .protocolError("too big inline request") }
        var line = buffer.readBytes(length: end + 1)!
        line.removeLast()
        if line.last == Self.cr { line.removeLast() }
        guard let argv = Self.splitArguments(line) else { return .protocolError("unbalanced quotes in request") }
        if !auth.authenticated && argv.count > limits.unauthenticatedArguments {
            return .protocolError("unauthenticated multibulk length")
        }
        return .command(argv)
    }

    /// `sdssplitargs` (shared with the AOF manifest reader): nil for unbalanced quotes.
    static func splitArguments(_ line: [UInt8]) -> [RedisBytes]? {
        AOFManifest.splitArgs(line)?.map { RedisBytes($0) }
    }
}
