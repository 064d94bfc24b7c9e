/// Takes bytes passed on by a teeing ``InputWindow``.
protocol ByteTee: AnyObject {
    func take(_ bytes: UnsafeRawBufferPointer)
}

/// The reader's view of its input: a buffer holding the current item plus read-ahead, refilled from a
/// ``ByteSource`` in chunks. All raw memory of the reading path lives here.
///
/// - The window grows only to hold one item whose bytes have actually arrived (or, for a source of known
///   size, that fit in what is left), so a hostile length cannot make it allocate more than the input.
/// - A *pin* keeps bytes from a mark onwards in the buffer (to capture raw value bytes).
/// - When checksumming, every byte that leaves the buffer is folded into a CRC64 first.
final class InputWindow {
    /// While `withString` lends an LZF string's decoded bytes: its compressed length; nil otherwise.
    var lendingLZFLength: Int?
    @exclusivity(unchecked)
    private var storage: UnsafeMutableRawBufferPointer
    /// Index of the next unread byte in `storage`.
    @exclusivity(unchecked)
    private(set) var position = 0
    /// End of valid bytes in `storage`.
    @exclusivity(unchecked)
    private(set) var limit = 0
    /// Absolute input offset of `storage[0]`.
    @exclusivity(unchecked)
    private var base: Int64 = 0
    private let source: any ByteSource
    @exclusivity(unchecked)
    private var sourceExhausted = false
    /// Bytes the whole input holds, when known.
    let knownSize: Int64?
    private let chunkSize: Int

    /// Storage index from which bytes must be kept (capture), or nil.
    @exclusivity(unchecked)
    private var pinIndex: Int?

    /// While teeing: storage index from which consumed bytes have not yet been passed to `tee`.
    @exclusivity(unchecked)
    private var teeIndex: Int?
    private unowned(unsafe) var tee: (any ByteTee)?

    /// Whether bytes are folded into `crc` as they are consumed.
    @exclusivity(unchecked)
    var checksumming = false
    @exclusivity(unchecked)
    private var crc: UInt64 = 0
    /// Storage index up to which bytes have been folded into `crc`.
    @exclusivity(unchecked)
    private var crcIndex = 0

    /// For a window over a mapping: unmaps it. Nil when `storage` is allocated here.
    private let releaseMapping: (() -> Void)?

    init(source: any ByteSource, chunkSize: Int = 1 << 20) {
        self.source = source
        let start = (source as? FileSource)?.startOffset ?? 0
        base = start
        self.knownSize = source.knownSize
        self.chunkSize = max(64, chunkSize)
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: self.chunkSize, alignment: 16)
        releaseMapping = nil
    }

    /// A window over bytes already in memory (a read-only file mapping), read in place: never refilled,
    /// compacted or grown; the input ends where they end. `bytes[0]` is at input offset `baseOffset`;
    /// reading starts at `start`. `release` runs when the window goes away.
    init(mapped bytes: UnsafeRawBufferPointer, baseOffset: Int64, start: Int64, name: String, release: @escaping () -> Void) {
        source = MemorySource([], name: name)
        base = baseOffset
        knownSize = baseOffset + Int64(bytes.count)
        chunkSize = bytes.count
        storage = unsafe UnsafeMutableRawBufferPointer(mutating: bytes)
        limit = bytes.count
        position = Int(start - baseOffset)
        sourceExhausted = true
        releaseMapping = release
    }

    deinit {
        if let releaseMapping { releaseMapping() } else { unsafe storage.deallocate() }
    }

    /// Absolute offset of the next unread byte.
    @inline(__always) var offset: Int64 { base + Int64(position) }

    /// Bytes buffered and not yet consumed.
    @inline(__always) var available: Int { limit - position }

    /// Bytes left in the input after the current position, when the source size is known.
    var remainingInInput: Int64? { knownSize.map { $0 - offset } }

    /// Whether the input is exhausted at the current position.
    func isAtEnd() throws(ParseFailure) -> Bool {
        if available > 0 { return false }
        try fill(atLeast: 1, orEOF: true)
        return available == 0
    }

    // MARK: Checksum

    /// Starts folding consumed bytes into a CRC64 from the current position on.
    func startChecksum(initial: UInt64 = 0, fromAbsoluteOffset start: Int64) {
        checksumming = true
        crc = initial
        crcIndex = Int(start - base)
    }

    /// The CRC64 of every byte from the checksum start up to (excluding) the current position.
    func checksumUpToPosition() -> UInt64 {
        foldChecksum(upTo: position)
        return crc
    }

    @inline(__always) private func foldChecksum(upTo index: Int) {
        guard checksumming, index > crcIndex else { return }
        crc = unsafe CRC64.update(crc, UnsafeRawBufferPointer(rebasing: storage[crcIndex..<index]))
        crcIndex = index
    }

    // MARK: Pinning (raw capture)

    /// Keeps every byte from the current position until ``unpin()`` in the buffer.
    func pin() -> Int64 {
        pinIndex = position
        return offset
    }

    /// Returns the bytes from the pin to the current position and releases the pin.
    func unpinCapturing() -> [UInt8] {
        guard let p = pinIndex else { return [] }
        pinIndex = nil
        return unsafe Array(UnsafeRawBufferPointer(rebasing: storage[p..<position]))
    }

    /// Releases the pin without copying.
    func unpin() { pinIndex = nil }

    // MARK: Teeing (streamed raw copy)

    /// From the current position on, passes every consumed byte to `sink`, in order, in pieces as the
    /// buffer moves on (so a value of any size is copied with a bounded buffer), until ``endTee()``.
    func startTee(_ sink: any ByteTee) {
        tee = sink
        teeIndex = position
    }

    /// Passes the consumed bytes not yet passed and stops teeing.
    func endTee() {
        flushTee()
        tee = nil
        teeIndex = nil
    }

    /// Stops teeing without passing the rest (after an error).
    func cancelTee() {
        tee = nil
        teeIndex = nil
    }

    @inline(__always) private func flushTee() {
        guard let t = teeIndex, position > t, let sink = tee else { return }
        unsafe sink.take(UnsafeRawBufferPointer(rebasing: storage[t..<position]))
        teeIndex = position
    }

    // MARK: Filling

    /// Makes at least `count` bytes available or throws `.truncated`.
    @inline(__always) func require(_ count: Int) throws(ParseFailure) {
        if limit - position >= count { return }
        try fill(atLeast: count, orEOF: false)
    }

    /// Reads from the source until `count` bytes are available; at end of input either throws or returns.
    private func fill(atLeast count: Int, orEOF: Bool) throws(ParseFailure) {
        if !orEOF, let size = knownSize, Int64(count) > size - offset {
            let left = max(0, size - offset)
            throw .truncated("unexpected end of input: \(count) more bytes needed, \(left) left", at: offset)
        }
        if releaseMapping != nil { return }   // a mapping holds the whole input: nothing to move or read
        compact()
        // Grow to hold the item. With a known size the item is known to fit in the input; otherwise grow
        // only as bytes arrive, so an unchecked length never sizes an allocation.
        while limit - position < count {
            if limit == storage.count {
                // Full: grow. A known-size input was checked above, so the item fits in what is left;
                // otherwise double, so the buffer is never more than twice the bytes that arrived.
                var newCapacity = storage.count * 2
                if knownSize != nil { newCapacity = max(position + count, storage.count + chunkSize) }
                grow(to: newCapacity)
            }
            if sourceExhausted {
                if orEOF { return }
                throw .truncated("unexpected end of input: \(count) more bytes needed, \(available) left", at: offset)
            }
            let room = unsafe UnsafeMutableRawBufferPointer(rebasing: storage[limit..<storage.count])
            let n: Int
            do {
                n = try unsafe source.read(into: room)
            } catch {
                throw ParseFailure(code: .io, message: error.message, offset: offset + Int64(available))
            }
            if n == 0 {
                sourceExhausted = true
            } else {
                limit += n
            }
        }
    }

    /// Moves unconsumed (and pinned) bytes to the front of the buffer.
    private func compact() {
        flushTee()
        let keepFrom = min(position, pinIndex ?? position)
        guard keepFrom > 0 else { return }
        foldChecksum(upTo: position)
        let kept = limit - keepFrom
        if kept > 0 {
            unsafe storage.baseAddress!.copyMemory(from: storage.baseAddress! + keepFrom, byteCount: kept)
        }
        base += Int64(keepFrom)
        position -= keepFrom
        limit -= keepFrom
        crcIndex -= keepFrom
        if let p = pinIndex { pinIndex = p - keepFrom }
        if let t = teeIndex { teeIndex = t - keepFrom }
    }

    private func grow(to capacity: Int) {
        let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        if limit > 0 {
            unsafe bigger.baseAddress!.copyMemory(from: storage.baseAddress!, byteCount: limit)
        }
        unsafe storage.deallocate()
        unsafe storage = bigger
    }

    // MARK: Consuming

    /// Lends the buffered, unconsumed bytes to `body` (no read from the source), which returns how many of
    /// them it consumed; the position moves past those. For scanners that walk many small items in place.
    @inline(__always)
    func consumeBuffered(_ body: (UnsafeRawBufferPointer) -> Int) {
        let n = unsafe body(UnsafeRawBufferPointer(rebasing: storage[position..<limit]))
        precondition(n >= 0 && n <= limit - position, "consumed more than was buffered")
        position += n
    }

    @inline(__always) func readByte() throws(ParseFailure) -> UInt8 {
        if position == limit { try fill(atLeast: 1, orEOF: false) }
        let b = unsafe storage[position]
        position += 1
        return b
    }

    /// Peeks the next byte without consuming it; nil at end of input.
    func peekByte() throws(ParseFailure) -> UInt8? {
        if position == limit {
            try fill(atLeast: 1, orEOF: true)
            if position == limit { return nil }
        }
        return unsafe storage[position]
    }

    @inline(__always) func readUInt16LE() throws(ParseFailure) -> UInt16 {
        try require(2)
        let v = unsafe UInt16(littleEndian: storage.loadUnaligned(fromByteOffset: position, as: UInt16.self))
        position += 2
        return v
    }

    @inline(__always) func readUInt32LE() throws(ParseFailure) -> UInt32 {
        try require(4)
        let v = unsafe UInt32(littleEndian: storage.loadUnaligned(fromByteOffset: position, as: UInt32.self))
        position += 4
        return v
    }

    @inline(__always) func readUInt32BE() throws(ParseFailure) -> UInt32 {
        try require(4)
        let v = unsafe UInt32(bigEndian: storage.loadUnaligned(fromByteOffset: position, as: UInt32.self))
        position += 4
        return v
    }

    @inline(__always) func readUInt64LE() throws(ParseFailure) -> UInt64 {
        try require(8)
        let v = unsafe UInt64(littleEndian: storage.loadUnaligned(fromByteOffset: position, as: UInt64.self))
        position += 8
        return v
    }

    @inline(__always) func readUInt64BE() throws(ParseFailure) -> UInt64 {
        try require(8)
        let v = unsafe UInt64(bigEndian: storage.loadUnaligned(fromByteOffset: position, as: UInt64.self))
        position += 8
        return v
    }

    /// Copies `count` bytes out.
    func readBytes(_ count: Int) throws(ParseFailure) -> [UInt8] {
        try require(count)
        let out = unsafe Array(UnsafeRawBufferPointer(rebasing: storage[position..<(position + count)]))
        position += count
        return out
    }

    /// Lends `count` bytes to `body` (valid only during the call), then consumes them.
    @inline(__always)
    func withBytes<R, E: Error>(
        _ count: Int, _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(ParseFailure) -> Result<R, E> {
        try require(count)
        let r: Result<R, E>
        do {
            r = .success(try unsafe body(UnsafeRawBufferPointer(rebasing: storage[position..<(position + count)])))
        } catch {
            r = .failure(error)
        }
        position += count
        return r
    }

    /// Skips `count` bytes without holding them all at once.
    func skip(_ count: Int64) throws(ParseFailure) {
        if Int64(available) >= count {
            position += Int(count)
            return
        }
        if let size = knownSize, count > size - offset {
            throw .truncated("unexpected end of input: \(count) more bytes needed, \(max(0, size - offset)) left", at: offset)
        }
        var left = count
        while left > 0 {
            if available == 0 { try fill(atLeast: 1, orEOF: false) }
            let step = Int(min(Int64(available), left))
            position += step
            left -= Int64(step)
        }
    }

    /// Reads until `count` bytes are buffered or the input ends; never throws `.truncated`.
    func prefetch(_ count: Int) throws(ParseFailure) {
        if limit - position >= count { return }
        try fill(atLeast: count, orEOF: true)
    }

    /// `fgets` semantics: the bytes through the first `\n`, or `limit - 1` bytes, or up to the end of
    /// the input (empty at the end).
    func readLine(limit lineLimit: Int) throws(ParseFailure) -> [UInt8] {
        try prefetch(lineLimit - 1)
        let end = min(limit, position + lineLimit - 1)
        var i = position
        while i < end {
            if unsafe storage[i] == 0x0A {
                i += 1
                break
            }
            i += 1
        }
        let line = unsafe Array(UnsafeRawBufferPointer(rebasing: storage[position..<i]))
        position = i
        return line
    }

    /// The fast path of AOF reading: a whole command in its plain form (`*<n>\r\n`, then n times
    /// `$<len>\r\n<bytes>\r\n`, numbers as bare decimal digits) that lies entirely in the buffered bytes,
    /// its arguments copied out and the bytes consumed. Nil, with nothing consumed, for anything else (a
    /// command cut by the buffer's end, a sign or space in a number, a bad terminator, more than
    /// `maximumArguments` arguments or a bulk longer than `maximumBulkLength`, or a first argument that may be
    /// MULTI or EXEC): the exact, slower path then reads it and words any error.
    func takeBufferedCommand(maximumArguments: Int, maximumBulkLength: Int) -> [RedisBytes]? {
        let end = limit
        var p = position
        @inline(__always) func number(_ prefix: UInt8) -> Int? {
            guard p < end, unsafe storage[p] == prefix else { return nil }
            p += 1
            var v = 0
            let first = p
            while p < end {
                let c = unsafe storage[p]
                guard c >= 0x30 && c <= 0x39 else { break }
                v = v &* 10 &+ Int(c &- 0x30)
                p += 1
            }
            let digits = p - first
            guard digits >= 1 && digits <= 18, p + 1 < end, unsafe storage[p] == 0x0D, unsafe storage[p + 1] == 0x0A
            else { return nil }
            p += 2
            return v
        }
        guard let argc = number(UInt8(ascii: "*")), argc >= 1, argc <= maximumArguments else { return nil }
        var argv: [RedisBytes] = []
        argv.reserveCapacity(argc)
        for i in 0..<argc {
            guard let len = number(UInt8(ascii: "$")), len <= maximumBulkLength, end - p >= len + 2 else { return nil }
            guard unsafe storage[p + len] == 0x0D, unsafe storage[p + len + 1] == 0x0A else { return nil }
            if i == 0 && (len == 4 || len == 5) {
                let c = unsafe storage[p] | 0x20
                if c == UInt8(ascii: "m") || c == UInt8(ascii: "e") { return nil }
            }
            argv.append(RedisBytes(unsafe Array(UnsafeRawBufferPointer(rebasing: storage[p..<(p + len)]))))
            p += len + 2
        }
        position = p
        return argv
    }

    /// Mirrors `redis-check-aof`'s `readLong`: `fgets(buf, 128)`, the prefix byte, `strtol`, then `\r\n`
    /// right after the number.
    func readRESPNumberLine(prefix: UInt8) throws(ParseFailure) -> RESPNumberLine {
        try prefetch(127)
        let end = min(limit, position + 127)
        guard position < end else { return .endOfInput }
        var i = position
        while i < end {
            if unsafe storage[i] == 0x0A {
                i += 1
                break
            }
            i += 1
        }
        let start = position
        position = i
        @inline(__always) func at(_ k: Int) -> UInt8 { k < i ? unsafe storage[k] : 0 }
        let first = at(start)
        guard first == prefix else { return .badPrefix(first) }
        // strtol: leading white space, a sign, decimal digits; clamps on overflow.
        var k = start + 1
        while k < i {
            let c = at(k)
            guard c == 0x20 || (c >= 0x09 && c <= 0x0D) else { break }
            k += 1
        }
        var negative = false
        let signAt = k
        if at(k) == UInt8(ascii: "-") || at(k) == UInt8(ascii: "+") {
            negative = at(k) == UInt8(ascii: "-")
            k += 1
        }
        var value: Int64 = 0
        var digits = 0
        var overflow = false
        while k < i, at(k) >= 0x30, at(k) <= 0x39 {
            let d = Int64(at(k) - 0x30)
            if !overflow {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(d)
                if o1 || o2 { overflow = true } else { value = a }
            }
            digits += 1
            k += 1
        }
        var endOfNumber = k
        if digits == 0 {
            endOfNumber = start + 1  // no conversion: strtol's end pointer is its input
            value = 0
        } else if overflow {
            value = negative ? Int64.min : Int64.max
        } else if negative {
            value = -value
        }
        _ = signAt
        let c0 = at(endOfNumber)
        let c1 = at(endOfNumber + 1)
        guard c0 == 0x0D && c1 == 0x0A else { return .badNewline(c0, c1) }
        return .value(value)
    }

    /// Reads two bytes and tells whether they are `\r\n`; nil when fewer than two bytes are left (all
    /// are consumed then). The two bytes are returned for messages.
    func readCRLF() throws(ParseFailure) -> (ok: Bool, a: UInt8, b: UInt8)? {
        try prefetch(2)
        guard available >= 2 else {
            position = limit
            return nil
        }
        let a = unsafe storage[position]
        let b = unsafe storage[position + 1]
        position += 2
        return (a == 0x0D && b == 0x0A, a, b)
    }

    /// Consumes `count` buffered bytes, telling whether they equal `text` ignoring ASCII case.
    func consumeEqualsIgnoringCase(_ count: Int, _ text: StaticString) throws(ParseFailure) -> Bool {
        try require(count)
        var equal = count == text.utf8CodeUnitCount
        if equal {
            text.withUTF8Buffer { t in
                for i in 0..<count where unsafe storage[position + i] | 0x20 != t[i] {
                    equal = false
                    break
                }
            }
        }
        position += count
        return equal
    }

    /// Moves the read position back to an absolute offset still held in the buffer (used by readers that
    /// look ahead, such as the AOF reader detecting a preamble).
    func rewind(toAbsoluteOffset target: Int64) {
        let index = Int(target - base)
        precondition(index >= 0 && index <= limit && (!checksumming || index >= crcIndex))
        position = index
    }
}

/// The outcome of reading a `*<n>` or `$<n>` line.
enum RESPNumberLine {
    case value(Int64)
    case endOfInput
    case badPrefix(UInt8)
    case badNewline(UInt8, UInt8)
}
