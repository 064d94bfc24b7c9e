import NIOCore
import RedisFormats
import RedisKeyspace

extension ByteBuffer {
    @inline(__always) mutating func writeLine(_ prefix: UInt8, _ n: Int) {
        writeInteger(prefix)
        writeDecimal(Int64(n))
        writeStaticString("\r\n")
    }

    /// The decimal digits of `v`, without building a String.
    @inline(__always) mutating func writeDecimal(_ v: Int64) {
        if v >= 0 && v < 10 {
            writeInteger(UInt8(0x30 + v))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: enough for Int64.min
        var magnitude = v.magnitude
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buf in
            repeat {
                buf[23 - count] = UInt8(0x30 + magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            if v < 0 {
                buf[23 - count] = UInt8(ascii: "-")
                count += 1
            }
            writeBytes(UnsafeRawBufferPointer(rebasing: buf[(24 - count)...]))
        }
    }

    /// Writes a reply for a client speaking RESP2 (`resp3 == false`) or RESP3 (after `HELLO 3`).
    ///
    /// RESP3 differs only in types: nulls are `_`, maps `%`, sets `~`, doubles `,`, verbatim text `=` and
    /// score pairs are nested two-element arrays (what redis-server 7.0 sends).
    mutating func writeReply(_ reply: Reply, resp3: Bool) {
        switch reply {
        case .status(let s):
            writeInteger(UInt8(ascii: "+"))
            writeString(s)
            writeStaticString("\r\n")
        case .error(let s):
            writeInteger(UInt8(ascii: "-"))
            writeString(s)
            writeStaticString("\r\n")
        case .integer(let i):
            writeInteger(UInt8(ascii: ":"))
            writeDecimal(i)
            writeStaticString("\r\n")
        case .bulk(nil), .array(nil):
            if resp3 {
                writeStaticString("_\r\n")
            } else if case .bulk = reply {
                writeStaticString("$-1\r\n")
            } else {
                writeStaticString("*-1\r\n")
            }
        case .bulk(let b?):
            writeLine(UInt8(ascii: "$"), b.count)
            writeBytes(b.bytes)
            writeStaticString("\r\n")
        case .array(let items?):
            writeLine(UInt8(ascii: "*"), items.count)
            for i in items { writeReply(i, resp3: resp3) }
        case .map(let items):
            if resp3 {
                writeLine(UInt8(ascii: "%"), items.count / 2)
            } else {
                writeLine(UInt8(ascii: "*"), items.count)
            }
            for i in items { writeReply(i, resp3: resp3) }
        case .set(let items):
            writeLine(resp3 ? UInt8(ascii: "~") : UInt8(ascii: "*"), items.count)
            for i in items { writeReply(i, resp3: resp3) }
        case .double(let d):
            let text = RedisNumbers.formatReply(d)
            if resp3 {
                writeInteger(UInt8(ascii: ","))
                writeBytes(text)
                writeStaticString("\r\n")
            } else {
                writeLine(UInt8(ascii: "$"), text.count)
                writeBytes(text)
                writeStaticString("\r\n")
            }
        case .verbatim(let b):
            if resp3 {
                writeLine(UInt8(ascii: "="), b.count + 4)
                writeStaticString("txt:")
            } else {
                writeLine(UInt8(ascii: "$"), b.count)
            }
            writeBytes(b.bytes)
            writeStaticString("\r\n")
        case .pairs(let items):
            if resp3 {
                writeLine(UInt8(ascii: "*"), items.count / 2)
                var i = 0
                while i + 1 < items.count {
                    writeStaticString("*2\r\n")
                    writeReply(items[i], resp3: true)
                    writeReply(items[i + 1], resp3: true)
                    i += 2
                }
            } else {
                writeLine(UInt8(ascii: "*"), items.count)
                for i in items { writeReply(i, resp3: false) }
            }
        }
    }
}
