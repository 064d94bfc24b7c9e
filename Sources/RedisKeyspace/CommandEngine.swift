#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import RedisFormats

/// Where a command came from, for errors and relative times.
public struct CommandOrigin: Sendable, Hashable {
    public var file: String
    public var offset: Int64
    /// The last `#TS:` annotation before the command (Unix seconds), if any.
    public var timestamp: Int64?
    public init(file: String, offset: Int64, timestamp: Int64? = nil) {
        self.file = file
        self.offset = offset
        self.timestamp = timestamp
    }
}

/// Why the engine stopped: a command it does not know or will not run (a verbatim script), at its origin.
public struct CommandEngineError: Error, Sendable, CustomStringConvertible {
    public var command: String
    public var message: String
    public var origin: CommandOrigin?

    public var description: String {
        if let o = origin { return "\(o.file) at byte \(o.offset): \(message)" }
        return message
    }
}

/// A command-level failure: the error reply a server would send (WRONGTYPE, not an integer, syntax).
public struct CommandFailure: Error, Sendable {
    public var reply: Reply
    public init(_ reply: Reply) { self.reply = reply }
}

/// Applies write commands to a ``Keyspace`` with a Redis 7.x / Valkey 9 server's semantics.
///
/// What an AOF holds is what this runs: `apply(argv)` executes one command and returns the reply a server
/// would send. A failing command (wrong type, bad integer) changes nothing and returns its error reply, as a
/// server loading an AOF ignores such replies. Unknown commands and verbatim scripts (EVAL, replicated by
/// Redis below 5) throw ``CommandEngineError`` unless ``skipUnknown`` is set (then they are counted).
///
/// Time: while ``now`` is nil (loading, the default) no key is ever treated as expired, as in Redis while it
/// loads a file; set it to a Unix-ms clock to get a live server's lazy expiry. Relative times (EXPIRE 10,
/// SET … EX 10) count from the command's `#TS:` annotation when it has one, else from ``clock``.
public final class CommandEngine {
    public let keyspace: Keyspace
    /// The selected database.
    public var db = 0
    /// The current time for expiry checks, or nil for load semantics (nothing expires).
    public var now: Int64?
    /// Unix ms for relative times when neither `now` nor a `#TS:` annotation gives one.
    public var clock: @Sendable () -> Int64 = { Int64(Double(time(nil)) * 1000) }
    /// Skip (and count) unknown commands instead of stopping.
    public var skipUnknown = false
    /// False when nobody reads the replies (a load): commands may then skip formatting them (ZINCRBY's
    /// score answers `+OK`).
    public var repliesUsed = true
    /// Unknown commands skipped, by name.
    public private(set) var skipped: [String: Int] = [:]
    /// Commands whose reply was an error (ignored, as a loading server ignores them).
    public private(set) var failedCommands = 0
    /// Commands applied.
    public private(set) var appliedCommands = 0

    /// The queue of an open MULTI.
    var transaction: [[RedisBytes]]?
    /// The origin of the command being run.
    public internal(set) var origin: CommandOrigin?

    public init(keyspace: Keyspace) {
        self.keyspace = keyspace
    }

    /// True while a MULTI is open (its commands are queued).
    public var inTransaction: Bool { transaction != nil }

    /// Drops an unfinished MULTI (what Redis does with a MULTI cut off at the end of an AOF).
    public func discardTransaction() { transaction = nil }

    // MARK: Dispatch

    /// One command: its name (lowercase), arity (Redis style: n exact, -n at least n, counting the name).
    public struct Spec: Sendable {
        public var name: String
        public var arity: Int
        public var run: @Sendable (CommandEngine, [RedisBytes]) throws(CommandFailure) -> Reply
        public init(
            _ name: String, arity: Int, _ run: @escaping @Sendable (CommandEngine, [RedisBytes]) throws(CommandFailure) -> Reply
        ) {
            self.name = name
            self.arity = arity
            self.run = run
        }
    }

    /// Every command the engine runs, by lowercase name.
    public static let commands: [String: Spec] = {
        var t: [String: Spec] = [:]
        for s in keyCommands + stringCommands + listCommands + setCommands + sortedSetCommands + hashCommands
            + streamCommands + bitmapCommands + serverCommands + readOnlyCommands
        {
            precondition(t[s.name] == nil, "command \(s.name) registered twice")
            t[s.name] = s
        }
        return t
    }()

    /// Commands that stop a load: scripts replicated verbatim (Redis below 5) cannot be replayed faithfully.
    static let scripts: Set<String> = ["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]

    /// A command name of up to 16 bytes, ASCII-lowercased and packed into two words: the dispatch key, so
    /// finding a command costs no allocation.
    struct NameKey: Hashable {
        var a: UInt64
        var b: UInt64

        init?(_ bytes: [UInt8]) {
            guard bytes.count <= 16 else { return nil }
            var a: UInt64 = 0
            var b: UInt64 = 0
            for (i, c) in bytes.enumerated() {
                let l = UInt64(c >= 0x41 && c <= 0x5A ? c | 0x20 : c)
                if i < 8 { a |= l << (8 * UInt64(i)) } else { b |= l << (8 * UInt64(i - 8)) }
            }
            self.a = a
            self.b = b ^ UInt64(bytes.count) << 56
        }
    }

    static let commandsByKey: [NameKey: Spec] = {
        var t: [NameKey: Spec] = [:]
        for (name, spec) in commands { t[NameKey(Array(name.utf8))!] = spec }
        return t
    }()

    /// The dispatch table: open addressing on a multiply-shift of the name key (a command's lookup then
    /// costs a few instructions, not a SipHash; the keys are the fixed command names, not input).
    static let specSlots: [(key: NameKey, spec: Spec)?] = {
        var t = [(key: NameKey, spec: Spec)?](repeating: nil, count: 1 << specSlotBits)
        for (k, spec) in commandsByKey {
            var i = specSlot(k)
            while t[i] != nil { i = (i + 1) & ((1 << specSlotBits) - 1) }
            t[i] = (k, spec)
        }
        return t
    }()
    static let specSlotBits = 11

    @inline(__always) static func specSlot(_ k: NameKey) -> Int {
        Int(truncatingIfNeeded: ((k.a ^ (k.b &* 0x9E37_79B9_7F4A_7C15)) &* 0xFF51_AFD7_ED55_8CCD) >> UInt64(64 - specSlotBits))
    }

    @inline(__always) static func spec(_ name: RedisBytes) -> Spec? {
        guard let k = NameKey(name.bytes) else { return nil }
        return specSlots.withUnsafeBufferPointer { t in
            var i = specSlot(k)
            while let e = t[i] {
                if e.key == k { return e.spec }
                i = (i + 1) & ((1 << specSlotBits) - 1)
            }
            return nil
        }
    }

    /// MULTI, EXEC or DISCARD (any case) may be; anything else is not.
    @inline(__always) static func mayBeTransactionWord(_ b: [UInt8]) -> Bool {
        guard b.count == 4 || b.count == 5 || b.count == 7 else { return false }
        let c = b[0] | 0x20
        return c == UInt8(ascii: "m") || c == UInt8(ascii: "e") || c == UInt8(ascii: "d")
    }

    static func lowercasedName(_ b: RedisBytes) -> String {
        String(decoding: b.bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// Runs one command.
    @discardableResult
    public func apply(_ argv: [RedisBytes], origin: CommandOrigin? = nil) throws(CommandEngineError) -> Reply {
        guard let first = argv.first else { return .error("ERR empty command") }
        self.origin = origin
        if !Self.mayBeTransactionWord(first.bytes) {
            if transaction != nil {
                guard Self.spec(first) != nil else { return try unknown(CommandEngine.lowercasedName(first), argv) }
                transaction!.append(argv)
                return .status("QUEUED")
            }
            return try run(argv)
        }
        let name = CommandEngine.lowercasedName(first)
        if transaction != nil && name != "exec" && name != "discard" && name != "multi" {
            guard Self.commands[name] != nil else { return try unknown(name, argv) }
            transaction!.append(argv)
            return .status("QUEUED")
        }
        switch name {
        case "multi":
            if transaction != nil { return .error("ERR MULTI calls can not be nested") }
            transaction = []
            return .ok
        case "exec":
            guard let queued = transaction else { return .error("ERR EXEC without MULTI") }
            transaction = nil
            var replies: [Reply] = []
            replies.reserveCapacity(queued.count)
            for c in queued { replies.append(try run(c)) }
            return .array(replies)
        case "discard":
            guard transaction != nil else { return .error("ERR DISCARD without MULTI") }
            transaction = nil
            return .ok
        default:
            return try run(argv)
        }
    }

    private func run(_ argv: [RedisBytes]) throws(CommandEngineError) -> Reply {
        guard let spec = Self.spec(argv[0]) else { return try unknown(CommandEngine.lowercasedName(argv[0]), argv) }
        if (spec.arity > 0 && argv.count != spec.arity) || (spec.arity < 0 && argv.count < -spec.arity) {
            failedCommands += 1
            return .wrongArity(spec.name)
        }
        do {
            let r = try spec.run(self, argv)
            if r.isError { failedCommands += 1 } else { appliedCommands += 1 }
            return r
        } catch {
            failedCommands += 1
            return error.reply
        }
    }

    private func unknown(_ name: String, _ argv: [RedisBytes]) throws(CommandEngineError) -> Reply {
        let isScript = Self.scripts.contains(name)
        if skipUnknown {
            skipped[name, default: 0] += 1
            return .error("ERR unknown command '\(name)'")
        }
        let message =
            isScript
            ? "\(name.uppercased()) is a script replicated verbatim (Redis below 5); its effects cannot be replayed offline (--skip-unknown skips it)"
            : "unknown command '\(argv[0].description)' (--skip-unknown skips it)"
        throw CommandEngineError(command: name, message: message, origin: origin)
    }

    // MARK: Time

    /// The time relative expiries count from.
    public var referenceTime: Int64 {
        if let now { return now }
        if let ts = origin?.timestamp { return ts * 1000 }
        return clock()
    }

    // MARK: Lookup helpers for command implementations

    /// The live entry of a key in the selected database (an expired one is deleted first when ``now`` is set).
    public func entry(_ key: RedisBytes) -> Keyspace.Entry? {
        record(key)?.entry
    }

    /// The live record of a key; an expired one is deleted first when ``now`` is set.
    @inline(__always) func record(_ key: RedisBytes) -> KeyRecord? {
        guard let t = keyspace.existingTable(db), let r = t.record(key) else { return nil }
        if let now, r.header.expiry != Keyspace.noExpiry, r.header.expiry <= now {
            t.removeValue(forKey: key)
            return nil
        }
        return r
    }

    /// Whether a live key exists (without reading its value).
    @inline(__always) public func exists(_ key: RedisBytes) -> Bool { record(key) != nil }

    /// The live value of a key, as an object commands may change in place (an embedded small collection is
    /// expanded into its record first: see ``KeyTable/embed(_:)``).
    public func value(_ key: RedisBytes) -> KeyValue? {
        guard let r = record(key) else { return nil }
        if r.isEmbeddedCollection, let x = keyspace.existingTable(db)?.expanded(key) { return x.value }
        return r.value
    }

    public func string(_ key: RedisBytes) throws(CommandFailure) -> RedisBytes? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else { throw CommandFailure(.wrongType) }
        return s
    }

    /// The list at `key`; with `create`, a new empty one is stored when the key is absent.
    public func list(_ key: RedisBytes, create: Bool = false) throws(CommandFailure) -> ListValue? {
        if let v = value(key) {
            guard case .list(let l) = v else { throw CommandFailure(.wrongType) }
            return l
        }
        guard create else { return nil }
        let l = ListValue()
        keyspace.set(db: db, key: key, Keyspace.Entry(value: .list(l)))
        return l
    }

    public func set(_ key: RedisBytes, create: Bool = false) throws(CommandFailure) -> SetValue? {
        if let v = value(key) {
            guard case .set(let s) = v else { throw CommandFailure(.wrongType) }
            return s
        }
        guard create else { return nil }
        let s = SetValue()
        keyspace.set(db: db, key: key, Keyspace.Entry(value: .set(s)))
        return s
    }

    public func sortedSet(_ key: RedisBytes, create: Bool = false) throws(CommandFailure) -> SortedSetValue? {
        if let v = value(key) {
            guard case .sortedSet(let z) = v else { throw CommandFailure(.wrongType) }
            return z
        }
        guard create else { return nil }
        let z = SortedSetValue()
        keyspace.set(db: db, key: key, Keyspace.Entry(value: .sortedSet(z)))
        return z
    }

    public func hash(_ key: RedisBytes, create: Bool = false) throws(CommandFailure) -> HashValue? {
        if let v = value(key) {
            guard case .hash(let h) = v else { throw CommandFailure(.wrongType) }
            return h
        }
        guard create else { return nil }
        let h = HashValue()
        keyspace.set(db: db, key: key, Keyspace.Entry(value: .hash(h)))
        return h
    }

    public func stream(_ key: RedisBytes, create: Bool = false) throws(CommandFailure) -> StreamValue? {
        if let v = value(key) {
            guard case .stream(let s) = v else { throw CommandFailure(.wrongType) }
            return s
        }
        guard create else { return nil }
        let s = StreamValue(RedisStream(entries: [], metadata: StreamMetadata(length: 0, lastID: .zero, firstID: .zero, maxDeletedEntryID: .zero, entriesAdded: 0), groups: []))
        keyspace.set(db: db, key: key, Keyspace.Entry(value: .stream(s)))
        return s
    }

    /// Deletes `key` when its collection became empty (Redis never keeps an empty list, set, zset or hash).
    public func removeIfEmpty(_ key: RedisBytes) {
        guard let v = keyspace.existingTable(db)?.record(key)?.value else { return }
        let empty: Bool
        switch v {
        case .list(let l): empty = l.isEmpty
        case .set(let s): empty = s.isEmpty
        case .sortedSet(let z): empty = z.isEmpty
        case .hash(let h): empty = h.isEmpty
        default: empty = false
        }
        if empty { keyspace.remove(db: db, key: key) }
    }

    /// Stores a value, clearing the key's expiry unless `keepTTL`.
    public func store(_ key: RedisBytes, _ value: KeyValue, keepTTL: Bool = false) {
        let t = keyspace.table(db)
        if keepTTL, let r = t.record(key), r.header.expiry != Keyspace.noExpiry {
            t.insert(key, Keyspace.Entry(value: value, expiresAt: r.header.expiry))
        } else {
            t.insert(key, Keyspace.Entry(value: value))
        }
    }

    @discardableResult
    public func delete(_ key: RedisBytes) -> Bool {
        guard let t = keyspace.existingTable(db) else { return false }
        if let now, let r = t.record(key), r.header.expiry != Keyspace.noExpiry, r.header.expiry <= now {
            t.removeValue(forKey: key)
            return false
        }
        return t.removeValue(forKey: key) != nil
    }

    /// Sets an absolute expiry; one at or before ``now`` (when set) deletes the key, as a live server does.
    public func expire(_ key: RedisBytes, at ms: Int64) {
        if let now, ms <= now {
            keyspace.remove(db: db, key: key)
        } else {
            keyspace.setExpiry(db: db, key: key, ms)
        }
    }
}

// MARK: - Argument parsing

extension CommandEngine {
    /// An argument as an integer (`string2ll` rules), or the "not an integer" error.
    public static func int(_ b: RedisBytes) throws(CommandFailure) -> Int64 {
        guard let v = RedisInteger.parse(b.bytes) else { throw CommandFailure(.notInteger) }
        return v
    }

    /// An argument as a double (`strtod` rules, `inf`/`-inf` accepted, NaN refused), or `error`.
    public static func double(_ b: RedisBytes, error: Reply = .notFloat) throws(CommandFailure) -> Double {
        guard let v = RedisNumbers.parseDouble(b.bytes) else { throw CommandFailure(error) }
        return v
    }

    /// An option name, uppercased ASCII.
    public static func upper(_ b: RedisBytes) -> String {
        String(decoding: b.bytes.map { $0 >= 0x61 && $0 <= 0x7A ? $0 & 0xDF : $0 }, as: UTF8.self)
    }
}
