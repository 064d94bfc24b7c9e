#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An output error: the write that failed and `errno`'s text.
public struct OutputError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Writes bytes to a file descriptor (standard output by default) with `write(2)`.
public final class FileDescriptorSink: JSONByteSink {
    public let fd: Int32
    public init(fd: Int32 = 1) { self.fd = fd }

    public func write(_ p: UnsafeRawBufferPointer) throws {
            var done = 0
            while done < p.count {
                let n = Glibc.write(fd, p.baseAddress! + done, p.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw OutputError(message: "write failed: \(String(cString: strerror(errno)))")
                }
                done += n
            }
    }
}

/// Collects bytes in memory (tests, small documents).
public final class MemorySink: JSONByteSink {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public func write(_ b: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: b) }
    /// The collected bytes as text.
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}
