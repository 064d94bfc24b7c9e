import RedisFormats

/// Where a command goes in a Redis Cluster: the keys it names (from the command's key positions, as
/// `COMMAND INFO` key specs describe them for the write commands an AOF holds), their hash slots, and how a
/// command whose keys span several slots is split.
///
/// ```swift
/// switch ClusterRouting.plan(["DEL", "a", "b", "{a}c"]) {
/// case .split(let parts): …   // [(slot of a, DEL a {a}c), (slot of b, DEL b)]
/// …
/// }
/// ```
public enum ClusterRouting {
    /// How to send one command.
    public enum Plan: Equatable, Sendable {
        /// To the master of this slot.
        case slot(Int)
        /// No key: any master takes it (`PING`, `PUBLISH`).
        case anyNode
        /// To every master (`FLUSHALL`, `FUNCTION LOAD`, `SCRIPT LOAD`): each holds its own copy.
        case everyPrimary
        /// Keys in several slots and a command that means the same sent once per slot (`DEL`, `UNLINK`,
        /// `EXISTS`, `TOUCH`, `MSET`): the parts, in order of first appearance of their slot.
        case split([Part])
        /// Keys in several slots and a command that cannot be split (`MSETNX`, `RENAME`, `SUNIONSTORE`, a
        /// script): the slots, in order of appearance.
        case crossSlot([Int])
    }

    public struct Part: Equatable, Sendable {
        public var slot: Int
        public var argv: [RedisBytes]
        public init(slot: Int, argv: [RedisBytes]) {
            self.slot = slot
            self.argv = argv
        }
    }

    /// The plan for `argv` (name first, any case).
    public static func plan(_ argv: [RedisBytes]) -> Plan {
        guard let name = argv.first?.utf8String?.uppercased() else { return .anyNode }
        if broadcast.contains(name) { return .everyPrimary }
        let keys = keyIndices(name: name, argv: argv)
        guard let first = keys.first else { return .anyNode }
        let firstSlot = ClusterSlot.slot(of: argv[first])
        var slots = [firstSlot]
        for i in keys.dropFirst() {
            let s = ClusterSlot.slot(of: argv[i])
            if !slots.contains(s) { slots.append(s) }
        }
        if slots.count == 1 { return .slot(firstSlot) }
        switch name {
        case "DEL", "UNLINK", "EXISTS", "TOUCH":
            var parts = slots.map { Part(slot: $0, argv: [argv[0]]) }
            for i in keys { parts[slots.firstIndex(of: ClusterSlot.slot(of: argv[i]))!].argv.append(argv[i]) }
            return .split(parts)
        case "MSET":
            var parts = slots.map { Part(slot: $0, argv: [argv[0]]) }
            for i in keys { parts[slots.firstIndex(of: ClusterSlot.slot(of: argv[i]))!].argv += [argv[i], argv[i + 1]] }
            return .split(parts)
        default:
            return .crossSlot(slots)
        }
    }

    /// The slot all keys of `argv` hash to; nil when it has none, `.crossSlot` otherwise (no splitting:
    /// for commands inside `MULTI … EXEC`).
    public static func slots(of argv: [RedisBytes]) -> [Int] {
        guard let name = argv.first?.utf8String?.uppercased() else { return [] }
        var slots: [Int] = []
        for i in keyIndices(name: name, argv: argv) {
            let s = ClusterSlot.slot(of: argv[i])
            if !slots.contains(s) { slots.append(s) }
        }
        return slots
    }

    /// Commands every master runs for itself.
    static let broadcast: Set<String> = ["FLUSHALL", "FLUSHDB", "FUNCTION", "SCRIPT"]

    /// Commands whose every argument after the name is a key.
    static let allKeys: Set<String> = [
        "DEL", "UNLINK", "EXISTS", "TOUCH", "MGET", "WATCH", "SINTER", "SUNION", "SDIFF", "SINTERSTORE", "SUNIONSTORE",
        "SDIFFSTORE", "PFMERGE", "PFCOUNT",
    ]
    /// Commands with keys at positions 1 and 2.
    static let twoKeys: Set<String> = [
        "RENAME", "RENAMENX", "RPOPLPUSH", "BRPOPLPUSH", "LMOVE", "BLMOVE", "SMOVE", "COPY", "GEOSEARCHSTORE", "LCS",
        "ZRANGESTORE",
    ]
    /// `name numkeys key… …`.
    static let numkeysFirst: Set<String> = ["ZUNION", "ZINTER", "ZDIFF", "SINTERCARD", "ZINTERCARD", "LMPOP", "ZMPOP"]
    /// `name x numkeys key… …`: scripts and functions (`x` is the script, sha or function), blocking pops
    /// (`x` is the timeout), `ZUNIONSTORE dest numkeys key…` (`x`, the destination, is a key too).
    static let numkeysSecond: Set<String> = [
        "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO", "BLMPOP", "BZMPOP", "ZUNIONSTORE", "ZINTERSTORE",
        "ZDIFFSTORE",
    ]
    /// Commands with a subcommand before the key.
    static let subcommandKey: Set<String> = ["XGROUP", "XINFO", "OBJECT", "MEMORY"]
    /// Commands without a key.
    static let keyless: Set<String> = [
        "PING", "ECHO", "PUBLISH", "SELECT", "MULTI", "EXEC", "DISCARD", "SWAPDB", "INFO", "CLIENT", "CONFIG", "DBSIZE",
        "RANDOMKEY", "KEYS", "SCAN", "TIME", "LASTSAVE", "SAVE", "BGSAVE", "BGREWRITEAOF", "CLUSTER", "COMMAND", "AUTH",
        "HELLO", "QUIT", "READONLY", "READWRITE", "ASKING", "WAIT", "DEBUG", "ACL", "LATENCY", "SLOWLOG", "MONITOR",
        "SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "PUBSUB", "SHUTDOWN", "REPLICAOF", "SLAVEOF", "ROLE",
        "LOLWUT", "UNWATCH", "RESET", "FAILOVER", "MODULE",
    ]

    /// Positions of the keys of a command (upper-cased `name`).
    static func keyIndices(name: String, argv: [RedisBytes]) -> [Int] {
        let n = argv.count
        if keyless.contains(name) || n < 2 { return [] }
        if allKeys.contains(name) { return Array(1..<n) }
        if twoKeys.contains(name) { return Array(1..<min(n, 3)) }
        switch name {
        case "MSET", "MSETNX":
            return Array(stride(from: 1, to: n - 1, by: 2))
        case "BITOP":
            return n > 2 ? Array(2..<n) : []
        case "BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX":
            return n > 2 ? Array(1..<(n - 1)) : []
        case "XREAD", "XREADGROUP":
            guard let s = argv.firstIndex(where: { $0.utf8String?.uppercased() == "STREAMS" }) else { return [] }
            let rest = n - s - 1
            return rest >= 2 ? Array((s + 1)..<(s + 1 + rest / 2)) : []
        case "SORT", "SORT_RO":
            var keys = [1]
            if let i = argv.firstIndex(where: { $0.utf8String?.uppercased() == "STORE" }), i + 1 < n, i > 1 { keys.append(i + 1) }
            return keys
        default:
            break
        }
        if subcommandKey.contains(name) { return n > 2 ? [2] : [] }
        if numkeysFirst.contains(name) { return numkeyed(argv, at: 1, keysFrom: 2, extra: []) }
        if numkeysSecond.contains(name) {
            let dest = name.hasSuffix("STORE") ? [1] : []
            return numkeyed(argv, at: 2, keysFrom: 3, extra: dest)
        }
        return [1]
    }

    private static func numkeyed(_ argv: [RedisBytes], at i: Int, keysFrom start: Int, extra: [Int]) -> [Int] {
        guard i < argv.count, let k = argv[i].utf8String.flatMap({ Int($0) }), k >= 0 else { return extra }
        return extra + Array(start..<min(argv.count, start + k))
    }
}
