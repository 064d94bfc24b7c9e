/// Record framing for scanners: whole key records skipped in the input buffer, as ``RDBReader/next()``
/// followed by ``RDBReader/skipValue()`` would skip them, without a record value, a key array or a
/// reader state change per key; and string records checked there as the deep check reads them.
extension RDBReader {
    /// Skips key records (with their expiry, idle and frequency opcodes) that lie entirely in the bytes
    /// already buffered and have one of the common layouts: strings, plain and compact collections,
    /// quicklists. Stops at the first record that ends at or after `offset` `target`, at anything else
    /// (another opcode, a stream, a module value, a hash with field TTLs, a record that continues past
    /// the buffer, anything malformed), leaving the reader at that record's start for ``next()``, which
    /// reads or reports it as usual.
    /// - Precondition: the reader is between records (the last value was read or skipped to its end);
    ///   after the EOF opcode nothing is skipped.
    /// - Returns: how many keys were skipped.
    public func skipBufferedKeys(until target: Int64) -> Int {
        var keys = 0
        walkBufferedKeys(until: target, stringsOnly: false) { _ in keys += 1 }
        return keys
    }

    /// For the deep check: string key records that lie entirely in the buffer, read as ``next()`` and
    /// ``visitValue(_:)`` would read them (the key decompressed when it is LZF, the value's LZF stream
    /// validated; a string has nothing else to check), up to the first record that starts at or after
    /// `target` or is anything else, which is left for ``next()``. `body` gets each key's expiry (Unix ms).
    func checkBufferedStrings(until target: Int64, _ body: (_ expiresAt: Int64?) -> Void) {
        walkBufferedKeys(until: target, stringsOnly: true, body)
    }

    private func walkBufferedKeys(until target: Int64, stringsOnly: Bool, _ body: (_ expiresAt: Int64?) -> Void) {
        // Not while per-key opcodes read by next() (an expiry before an aux field, say) wait for their key.
        guard !finished, failure == nil, pendingKeyStart == nil, case .none = value else { return }
        let start = window.offset
        guard start < target else { return }
        let maxLen = UInt64(options.maximumBlobLength)
        window.consumeBuffered { buffer in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
            var skipper = unsafe BufferedRecordSkipper(
                base: base.assumingMemoryBound(to: UInt8.self), end: buffer.count, maximumLength: maxLen)
            let room = target - start
            var committed = 0
            while Int64(committed) < room, skipper.skipKeyRecord(stringsOnly: stringsOnly) {
                committed = skipper.position
                body(skipper.expiresAt)
            }
            return committed
        }
    }
}

/// The framing walk of ``RDBReader/skipBufferedKeys(until:)`` over one buffer. Every length is decoded
/// as `InputWindow.readLengthOrEncoding` and `readStringHeader` decode it, with the same limits; whatever
/// those would reject, or the buffer does not hold, makes ``skipKeyRecord()`` return false.
struct BufferedRecordSkipper {
    private let base: UnsafePointer<UInt8>
    private let end: Int
    private let maximumLength: UInt64
    private(set) var position = 0
    /// The expiry (Unix ms) of the last record skipped, from its EXPIRETIME or EXPIRETIME_MS opcode.
    private(set) var expiresAt: Int64?

    init(base: UnsafePointer<UInt8>, end: Int, maximumLength: UInt64) {
        unsafe self.base = base
        self.end = end
        self.maximumLength = maximumLength
    }

    /// Skips one key record from `position`; on false, `position` is meaningless. With `stringsOnly`,
    /// only a string record passes, and its value must decode too (an LZF stream is validated).
    mutating func skipKeyRecord(stringsOnly: Bool = false) -> Bool {
        var type: UInt8
        expiresAt = nil
        prefixes: while true {
            guard position < end else { return false }
            type = unsafe base[position]
            position += 1
            switch type {
            case 0xFC:   // EXPIRETIME_MS: 8 bytes little-endian
                guard end - position >= 8 else { return false }
                let v = unsafe UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self)
                expiresAt = Int64(bitPattern: UInt64(littleEndian: v))
                position += 8
            case 0xFD:   // EXPIRETIME: signed 32-bit seconds, little-endian
                guard end - position >= 4 else { return false }
                let v = unsafe UnsafeRawPointer(base + position).loadUnaligned(as: UInt32.self)
                expiresAt = Int64(Int32(bitPattern: UInt32(littleEndian: v))) * 1000
                position += 4
            case 0xF9: guard bytes(1) else { return false }   // FREQ
            case 0xF8: guard plainLength() != nil else { return false }   // IDLE
            default: break prefixes
            }
        }
        guard string(decodable: true) else { return false }   // the key: next() decompresses it
        if stringsOnly { return type == 0 && string(decodable: true) }
        switch type {
        case 0, 9, 10, 11, 12, 13, 16, 17, 20:
            // A string, or a compact encoding stored as one string.
            return string()
        case 1, 2, 14:
            guard var n = plainLength() else { return false }
            while n > 0 {
                guard string() else { return false }
                n -= 1
            }
            return true
        case 4:
            guard var n = plainLength() else { return false }
            while n > 0 {
                guard string(), string() else { return false }
                n -= 1
            }
            return true
        case 3:
            guard var n = plainLength() else { return false }
            while n > 0 {
                guard string(), position < end else { return false }
                let len = Int(unsafe base[position])
                position += 1
                if len < 253 { guard bytes(len) else { return false } }
                n -= 1
            }
            return true
        case 5:
            guard var n = plainLength() else { return false }
            while n > 0 {
                guard string(), bytes(8) else { return false }
                n -= 1
            }
            return true
        case 18:
            guard var n = plainLength() else { return false }
            while n > 0 {
                guard let container = plainLength(), container == 1 || container == 2, string() else { return false }
                n -= 1
            }
            return true
        default:
            return false
        }
    }

    @inline(__always)
    private mutating func bytes(_ count: Int) -> Bool {
        guard end - position >= count else { return false }
        position += count
        return true
    }

    /// A length or a string-encoding marker (`readLengthOrEncoding`).
    @inline(__always)
    private mutating func length() -> (value: UInt64, isEncoded: Bool)? {
        guard position < end else { return nil }
        let b = unsafe base[position]
        position += 1
        switch b >> 6 {
        case 0: return (UInt64(b & 0x3F), false)
        case 1:
            guard position < end else { return nil }
            let v = (UInt64(b & 0x3F) << 8) | UInt64(unsafe base[position])
            position += 1
            return (v, false)
        case 3: return (UInt64(b & 0x3F), true)
        default:
            guard b == 0x80 || b == 0x81 else { return nil }
            let width = b == 0x80 ? 4 : 8   // a 32- or 64-bit big-endian length
            guard end - position >= width else { return nil }
            var v: UInt64 = 0
            for i in 0..<width { v = v << 8 | UInt64(unsafe base[position + i]) }
            position += width
            return (v, false)
        }
    }

    @inline(__always)
    private mutating func plainLength() -> UInt64? {
        guard let (v, encoded) = length(), !encoded else { return nil }
        return v
    }

    /// A string as `skipString` skips it (`readStringHeader`'s checks included); with `decodable`, an LZF
    /// string must also decompress (as `readString` requires of a key).
    @inline(__always)
    private mutating func string(decodable: Bool = false) -> Bool {
        guard let (v, encoded) = length() else { return false }
        if !encoded {
            guard v <= maximumLength, UInt64(end - position) >= v else { return false }
            position += Int(v)
            return true
        }
        switch v {
        case 0: return bytes(1)
        case 1: return bytes(2)
        case 2: return bytes(4)
        case 3:
            guard let clen = plainLength(), let ulen = plainLength() else { return false }
            guard ulen <= maximumLength, clen > 0, clen <= maximumLength,
                ulen > 0, (ulen - 1) / UInt64(LZF.maximumExpansion) < clen,
                UInt64(end - position) >= clen
            else { return false }
            if decodable {
                let compressed = unsafe UnsafeRawBufferPointer(start: base + position, count: Int(clen))
                guard unsafe LZF.validate(compressed, length: Int(ulen)) else { return false }
            }
            position += Int(clen)
            return true
        default:
            return false
        }
    }
}
