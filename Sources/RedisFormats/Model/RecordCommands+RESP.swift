/// Appends RESP command frames to a byte array: `*<argc>\r\n`, then `$<len>\r\n<bytes>\r\n` per argument.
public enum RESPWriter {
    /// `*<count>\r\n`.
    @inlinable public static func appendArrayHeader(_ count: Int, to out: inout [UInt8]) {
        appendLine(UInt8(ascii: "*"), Int64(count), to: &out)
    }

    /// `$<length>\r\n`: the argument's bytes and a CRLF must follow.
    @inlinable public static func appendBulkHeader(_ length: Int, to out: inout [UInt8]) {
        appendLine(UInt8(ascii: "$"), Int64(length), to: &out)
    }

    /// `<marker><decimal>\r\n` in one append (each append checks the array's capacity and uniqueness).
    @inlinable static func appendLine(_ marker: UInt8, _ v: Int64, to out: inout [UInt8]) {
        unsafe withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { b in
            unsafe b[22] = 0x0D
            unsafe b[23] = 0x0A
            var i = unsafe digits(v, into: b, end: 22)
            i -= 1
            unsafe b[i] = marker
            unsafe out.append(contentsOf: UnsafeBufferPointer(rebasing: b[i..<24]))
        }
    }

    /// One argument.
    @inlinable public static func appendBulk(_ bytes: [UInt8], to out: inout [UInt8]) {
        appendBulkHeader(bytes.count, to: &out)
        out.append(contentsOf: bytes)
        appendCRLF(to: &out)
    }

    /// One argument, borrowed.
    public static func appendBulk(_ bytes: RawSpan, to out: inout [UInt8]) {
        appendBulkHeader(bytes.byteCount, to: &out)
        unsafe bytes.withUnsafeBytes { unsafe out.append(contentsOf: $0) }
        appendCRLF(to: &out)
    }

    /// One argument holding the decimal text of `v`.
    @inlinable public static func appendBulk(decimal v: Int64, to out: inout [UInt8]) {
        if v >= 0 && v < 10 {
            out.append(UInt8(ascii: "$"))
            out.append(UInt8(ascii: "1"))
            appendCRLF(to: &out)
            out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v))
            appendCRLF(to: &out)
            return
        }
        // The digits once, from the right into a small buffer; the length (at most 20) in front.
        unsafe withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { b in
            let end = 32
            var i = unsafe digits(v, into: b, end: end)
            i -= 2
            unsafe b[i] = 0x0D
            unsafe b[i + 1] = 0x0A
            let n = end - i - 2
            i -= 1
            unsafe b[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: n % 10)
            if n >= 10 {
                i -= 1
                unsafe b[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: n / 10)
            }
            i -= 1
            unsafe b[i] = UInt8(ascii: "$")
            unsafe out.append(contentsOf: UnsafeBufferPointer(rebasing: b[i..<end]))
        }
        appendCRLF(to: &out)
    }

    @inlinable public static func appendCRLF(to out: inout [UInt8]) {
        out.append(0x0D)
        out.append(0x0A)
    }

    /// The decimal text of `v`, as `String(v)` writes it.
    @inlinable public static func appendDecimal(_ v: Int64, to out: inout [UInt8]) {
        if v >= 0 && v < 10 {
            out.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: v))
            return
        }
        unsafe withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { b in
            let i = unsafe digits(v, into: b, end: 20)
            unsafe out.append(contentsOf: UnsafeBufferPointer(rebasing: b[i..<20]))
        }
    }

    /// Writes the decimal text of `v` so that it ends at `end` (room for 20 bytes before it); returns where
    /// it starts.
    @inlinable static func digits(_ v: Int64, into b: UnsafeMutableBufferPointer<UInt8>, end: Int) -> Int {
        var m = v.magnitude
        var i = end
        repeat {
            i -= 1
            unsafe b[i] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: m % 10)
            m /= 10
        } while m > 0
        if v < 0 {
            i -= 1
            unsafe b[i] = UInt8(ascii: "-")
        }
        return i
    }

    /// How many bytes ``appendDecimal(_:to:)`` writes for `v`.
    @inlinable public static func decimalLength(_ v: Int64) -> Int {
        var n = v < 0 ? 2 : 1
        var m = v.magnitude
        while m >= 10 {
            m /= 10
            n += 1
        }
        return n
    }
}

/// The commands of ``RecordCommands/commands(key:value:expiresAt:)`` as RESP, byte for byte what
/// ``RecordCommands/resp(_:into:)`` gives for each, written while an ``RDBReader`` lends a value's parts
/// (``RDBReader/visitValue(_:)``): no element arrays, no argument arrays, one buffer kept from key to key.
///
/// For strings, lists, sets, sorted sets and hashes (``writes(_:)``); streams, module values and arrays go
/// through ``RecordCommands``. A key's commands are complete only after ``end(expiresAt:)``, so nothing
/// of a value that fails to read half-way is handed on.
///
/// ```swift
/// let writer = RecordRESPWriter(commands: RecordCommands())
/// writer.begin(key: header.key, type: header.valueType)
/// try reader.visitValue(writer)
/// writer.end(expiresAt: header.expiresAt)
/// writer.forEachCommand { name, resp in out += resp }   // "RPUSH", "*1002\r\n$5\r\nRPUSH\r\n…"
/// ```
public final class RecordRESPWriter: RDBValueVisitor {
    public let commands: RecordCommands

    private enum Kind { case string, list, set, sortedSet, hash }
    private var kind = Kind.string
    /// The key the value's commands write, as an argument: `$<len>\r\n<key>\r\n` (the staging key when
    /// there is one).
    private var keyArgument: [UInt8] = []
    /// The key itself as an argument, for `RENAME` and the TTL commands.
    private var finalKeyArgument: [UInt8] = []
    private var key = RedisBytes.empty
    private var staging: RedisBytes?
    /// Whether a command wrote to the staging key (also one already taken by ``takeCommands(_:)``).
    private var wroteStaging = false
    /// The commands so far. A batch is written before its element count is known: its `*<argc>\r\n` goes
    /// right-aligned into room kept in front of it, so bytes before a frame's start may be left over.
    private var out: [UInt8] = []
    private var frames: [(name: String, start: Int, end: Int)] = []
    /// The open batch: where its room for `*<argc>\r\n` starts, and its elements so far.
    private var batchStart = 0
    private var batchCount = 0
    private let countRoom: Int
    private var fieldTTLs: [(milliseconds: Int64, field: RedisBytes)] = []

    /// Called when a batch closes and the commands so far hold at least ``spillBytes``: a big value's
    /// commands can be handed on (``takeCommands(_:)``) while the rest is still being read, instead of
    /// all at ``end(expiresAt:)``. Nil (the default) keeps every command until the key ends.
    public var whenFull: (() -> Void)?
    public var spillBytes = 256 * 1024

    public init(commands: RecordCommands) {
        self.commands = commands
        // `*` + the longest argument count (a hash batch: 2 + 2 × batch) + CRLF.
        countRoom = 3 + RESPWriter.decimalLength(Int64(2 + 2 * max(commands.batch, 1)))
    }

    /// Whether values of this type are written here (strings, lists, sets, sorted sets, hashes).
    public static func writes(_ type: RDBValueType) -> Bool {
        switch type.kind {
        case .string?, .list?, .set?, .zset?, .hash?: return true
        default: return false
        }
    }

    /// Whether ``begin(key:type:stagingKey:)`` builds values of this type under a staging key (every type
    /// of ``writes(_:)`` but strings).
    public static func stages(_ type: RDBValueType) -> Bool {
        writes(type) && type.kind != .string
    }

    /// Starts a key: drops the commands of the one before.
    ///
    /// With a `stagingKey`, a list, set, sorted set or hash is built under that name and moved over the key
    /// at the end by `RENAME` (which replaces whatever the key held, in one step), then its TTLs are set on
    /// the key: a value that fails to read half-way leaves the key as it was, and only the staging key to
    /// delete. A string is one `SET`, which replaces the key in one step already: it is never staged.
    /// - Precondition: ``writes(_:)`` is true for `type`.
    public func begin(key: RedisBytes, type: RDBValueType, stagingKey: RedisBytes? = nil) {
        switch type.kind {
        case .string?: kind = .string
        case .list?: kind = .list
        case .set?: kind = .set
        case .zset?: kind = .sortedSet
        case .hash?: kind = .hash
        default: preconditionFailure("RecordRESPWriter does not write \(type.name) values")
        }
        self.key = key
        staging = kind == .string ? nil : stagingKey
        wroteStaging = false
        finalKeyArgument.removeAll(keepingCapacity: true)
        RESPWriter.appendBulk(key.bytes, to: &finalKeyArgument)
        keyArgument.removeAll(keepingCapacity: true)
        RESPWriter.appendBulk((staging ?? key).bytes, to: &keyArgument)
        if out.capacity > DumpPayloadBuilder.keptCapacity { out = [] }
        out.removeAll(keepingCapacity: true)
        frames.removeAll(keepingCapacity: true)
        fieldTTLs.removeAll(keepingCapacity: true)
        batchCount = 0
    }

    /// Ends the key: closes the last batch, then `HPEXPIREAT` for hash fields with a TTL and `PEXPIREAT`
    /// for `expiresAt`, as ``RecordCommands`` orders them. With a staging key, `RENAME <staging> <key>`
    /// comes before the TTLs (`DEL <key>` when the value had no element, so nothing was staged).
    public func end(expiresAt: RedisTimestamp?) {
        closeBatch()
        if let staging {
            let start = out.count
            if wroteStaging {
                out.append(contentsOf: Self.renameHead)
                RESPWriter.appendBulk(staging.bytes, to: &out)
                out.append(contentsOf: finalKeyArgument)
                frames.append(("RENAME", start, out.count))
            } else {
                out.append(contentsOf: Self.delHead)
                out.append(contentsOf: finalKeyArgument)
                frames.append(("DEL", start, out.count))
            }
        }
        if !fieldTTLs.isEmpty {
            var byTime: [Int64: [RedisBytes]] = [:]
            for f in fieldTTLs { byTime[f.milliseconds, default: []].append(f.field) }
            for (ms, names) in byTime.sorted(by: { $0.key < $1.key }) {
                var i = 0
                while i < names.count {
                    let chunk = Array(names[i..<min(names.count, i + commands.batch)])
                    let start = out.count
                    RecordCommands.resp(
                        [RedisBytes("HPEXPIREAT"), key, RedisBytes(String(ms)), RedisBytes("FIELDS"), RedisBytes(String(chunk.count))]
                            + chunk, into: &out)
                    frames.append(("HPEXPIREAT", start, out.count))
                    i += commands.batch
                }
            }
        }
        if let x = expiresAt {
            let start = out.count
            out.append(contentsOf: Self.pexpireatHead)
            out.append(contentsOf: finalKeyArgument)
            RESPWriter.appendBulk(decimal: x.milliseconds, to: &out)
            frames.append(("PEXPIREAT", start, out.count))
        }
    }

    /// The commands of the key, in order: each command's name (upper case) and its RESP bytes.
    public func forEachCommand(_ body: (_ name: String, _ resp: ArraySlice<UInt8>) throws -> Void) rethrows {
        for f in frames { try body(f.name, out[f.start..<f.end]) }
    }

    /// ``forEachCommand(_:)``, then drops the commands handed on (also when `body` throws): those that
    /// follow start afresh. Between batches only (in ``whenFull`` or after ``end(expiresAt:)``).
    public func takeCommands(_ body: (_ name: String, _ resp: ArraySlice<UInt8>) throws -> Void) rethrows {
        defer {
            out.removeAll(keepingCapacity: true)
            frames.removeAll(keepingCapacity: true)
        }
        try forEachCommand(body)
    }

    /// How many commands the key has.
    public var commandCount: Int { frames.count }

    // MARK: Frames

    private static let setHead: [UInt8] = Array("*3\r\n$3\r\nSET\r\n".utf8)
    private static let pexpireatHead: [UInt8] = Array("*3\r\n$9\r\nPEXPIREAT\r\n".utf8)
    private static let renameHead: [UInt8] = Array("*3\r\n$6\r\nRENAME\r\n".utf8)
    private static let delHead: [UInt8] = Array("*2\r\n$3\r\nDEL\r\n".utf8)
    private static let rpush: [UInt8] = Array("$5\r\nRPUSH\r\n".utf8)
    private static let sadd: [UInt8] = Array("$4\r\nSADD\r\n".utf8)
    private static let zadd: [UInt8] = Array("$4\r\nZADD\r\n".utf8)
    private static let hset: [UInt8] = Array("$4\r\nHSET\r\n".utf8)

    @inline(__always) private func element() {
        if batchCount == 0 {
            batchStart = out.count
            out.append(contentsOf: repeatElement(0, count: countRoom))
            switch kind {
            case .list: out.append(contentsOf: Self.rpush)
            case .set: out.append(contentsOf: Self.sadd)
            case .sortedSet: out.append(contentsOf: Self.zadd)
            case .hash, .string: out.append(contentsOf: Self.hset)
            }
            out.append(contentsOf: keyArgument)
        }
    }

    @inline(__always) private func elementDone() {
        batchCount += 1
        if batchCount >= commands.batch { closeBatch() }
    }

    /// Writes the open batch's `*<argc>\r\n` just in front of its command name and records the frame.
    private func closeBatch() {
        guard batchCount > 0 else { return }
        let argc = 2 + batchCount * (kind == .sortedSet || kind == .hash ? 2 : 1)
        var head: [UInt8] = []
        RESPWriter.appendArrayHeader(argc, to: &head)
        let start = batchStart + countRoom - head.count
        out.replaceSubrange(start..<(start + head.count), with: head)
        let name: String
        switch kind {
        case .list: name = "RPUSH"
        case .set: name = "SADD"
        case .sortedSet: name = "ZADD"
        case .hash, .string: name = "HSET"
        }
        frames.append((name, start, out.count))
        wroteStaging = true
        batchCount = 0
        if out.count >= spillBytes, let whenFull { whenFull() }
    }

    // MARK: RDBValueVisitor

    public func visitString(_ bytes: RawSpan) {
        let start = out.count
        out.append(contentsOf: Self.setHead)
        out.append(contentsOf: keyArgument)
        RESPWriter.appendBulk(bytes, to: &out)
        frames.append(("SET", start, out.count))
    }

    public func visitMember(_ bytes: RawSpan) {
        element()
        RESPWriter.appendBulk(bytes, to: &out)
        elementDone()
    }

    public func visitMember(integer: Int64) {
        element()
        RESPWriter.appendBulk(decimal: integer, to: &out)
        elementDone()
    }

    public func visitSortedSetEntry(member: RawSpan, score: Double) {
        element()
        // RecordCommands.scoreText: whole numbers below 1e15 as integers, the rest as Swift prints them.
        if score == score.rounded() && abs(score) < 1e15 && !(score == 0 && score.sign == .minus) {
            RESPWriter.appendBulk(decimal: Int64(score), to: &out)
        } else {
            RESPWriter.appendBulk(Array(RecordCommands.scoreText(score).utf8), to: &out)
        }
        RESPWriter.appendBulk(member, to: &out)
        elementDone()
    }

    public func visitHashField(_ field: RawSpan, value: RawSpan, expiresAt: RedisTimestamp?) {
        element()
        RESPWriter.appendBulk(field, to: &out)
        RESPWriter.appendBulk(value, to: &out)
        if let x = expiresAt {
            let f = unsafe field.withUnsafeBytes { unsafe RedisBytes(Array($0)) }
            fieldTTLs.append((x.milliseconds, f))
        }
        elementDone()
    }

    /// Not called for the types of ``writes(_:)``.
    public func visitElement(_ element: RDBElement) {}
}
