import Foundation

/// Struct sizes and the allocations of each encoding, after the servers' `objectComputeSize` and
/// `memoryCommand` (Redis 6.2 and 7.0 `object.c`, Valkey 9 `object.c`, `hashtable.c`, `t_hash.c`),
/// checked against MEMORY USAGE of live servers. `docs/memory-model.md` lists the sources.
extension MemoryModel {
    /// Redis 5 and 6 count embstr, ziplist and intset sizes unrounded, and use the older structs.
    var isSixEra: Bool {
        switch server {
        case .redis5, .redis6_0, .redis6_2: true
        default: false
        }
    }

    /// Valkey 8+: the key (and its expiry) live inside the value's object; collections use the
    /// bucketed `hashtable` (64-byte buckets of 7 entries) instead of dict.
    var embedsKeys: Bool { server == .valkey8 || server == .valkey9 }

    /// sds request size: header, bytes, terminator (an empty sds is type 8).
    @inline(__always) static func sdsRequest(_ len: Int) -> Int {
        (len == 0 ? 3 : sdsHeader(len)) + len + 1
    }

    /// An sds as allocated.
    @inline(__always) func sdsSize(_ len: Int) -> Int { alloc(Self.sdsRequest(len)) }

    /// A compact blob as MEMORY USAGE counts it: exact bytes on 6.x, the allocation from 7.0.
    @inline(__always) func blob(_ n: Int) -> Int { isSixEra ? n : alloc(n) }

    var dictStruct: Int { isSixEra ? 96 : 56 }
    var dictEntry: Int { 24 }
    var quicklistNode: Int { isSixEra ? 32 : 40 }

    // MARK: The key

    /// Bytes outside the value object: the key's sds and its table entry (Redis); nothing on Valkey 8+.
    func keyPart(_ k: KeyShape) -> Int {
        if embedsKeys { return 0 }
        let slotMetadata = clusterMode && (server == .redis7_0 || server == .redis7_2) ? 16 : 0
        return sdsSize(k.length) + dictEntry + slotMetadata
    }

    /// Valkey 8+: bytes for an embedded expiry.
    @inline(__always) private func embeddedExpiry(_ k: KeyShape) -> Int {
        k.hasExpiry || k.length >= 128 ? 8 : 0
    }

    /// The value object (robj), with the key embedded on Valkey 8+.
    func object(_ k: KeyShape) -> Int {
        embedsKeys ? alloc(16 + embeddedExpiry(k) + 1 + Self.sdsRequest(k.length)) : 16
    }

    // MARK: Strings

    func stringEncoding(length: Int, isInteger: Bool, key: KeyShape) -> String {
        if isInteger { return "int" }
        if embedsKeys {
            let fits = length <= 255 && 8 + 1 + Self.sdsRequest(key.length) + embeddedExpiry(key) + 3 + length + 1 <= 128
            return fits ? "embstr" : "raw"
        }
        return length <= 44 ? "embstr" : "raw"
    }

    func stringSize(length: Int, encoding: String, key: KeyShape) -> Int {
        switch encoding {
        case "int":
            return object(key)
        case "embstr":
            if embedsKeys {
                return alloc(1 + Self.sdsRequest(key.length) + embeddedExpiry(key) + max(8 + 3 + length + 1, 16))
            }
            return isSixEra ? 16 + length + 2 : alloc(16 + 3 + length + 1)
        default:
            return object(key) + sdsSize(length)
        }
    }

    // MARK: Lists

    func quicklistSize(key: KeyShape, nodes: Int, nodeBytes: Int) -> Int {
        object(key) + 40 + nodes * quicklistNode + nodeBytes
    }

    /// A quicklist node held LZF-compressed: `quicklistLZF` {sz, data} (6.x counts its data only).
    func compressedNode(_ compressed: Int) -> Int {
        isSixEra ? compressed : alloc(4 + compressed)
    }

    // MARK: Dict and hashtable tables

    /// Buckets of a dict (Redis) after the inserts the creating commands make: both tables while an
    /// incremental rehash is unfinished (a value's dict is rehashed only by commands touching it).
    /// `presize`: the dict was created for this many entries; `phases`: (inserts, rehash steps each).
    func dictSlots(presize: Int?, phases: [(count: Int, steps: Int)]) -> Int {
        var size = presize.map { Self.nextPowerOfTwo(max(4, $0)) } ?? 0
        var next = 0
        var remaining = 0.0
        var used = 0
        let doubles = server == .redis5 || server == .redis6_0
        for phase in phases where phase.count > 0 {
            for _ in 0..<phase.count {
                if next > 0 {
                    remaining -= Double(phase.steps)
                    if remaining <= 0 {
                        size = next
                        next = 0
                    }
                }
                if size == 0 {
                    size = 4
                } else if next == 0 && used >= size {
                    next = Self.nextPowerOfTwo(doubles ? used * 2 : used + 1)
                    // Non-empty buckets of the old table, each moved by one step.
                    remaining = Double(size) * (1 - pow(1 - 1 / Double(size), Double(used)))
                }
                used += 1
            }
        }
        return size + next
    }

    /// Buckets of a Valkey hashtable presized for `n` entries (at most 5/32 of a bucket per entry).
    func valkeyBuckets(_ n: Int) -> Int {
        guard n > 0 else { return 0 }
        return Self.nextPowerOfTwo((n * 5 + 31) / 32)
    }

    static func nextPowerOfTwo(_ n: Int) -> Int {
        n <= 1 ? 1 : 1 << (Int.bitWidth - (n - 1).leadingZeroBitCount)
    }

    // MARK: Sets

    /// One member of a hashtable set.
    @inline(__always) func setMember(_ len: Int) -> Int {
        embedsKeys ? sdsSize(len) : dictEntry + sdsSize(len)
    }

    func setTableSize(key: KeyShape, count n: Int, allIntegers: Bool) -> Int {
        if embedsKeys { return object(key) + 80 + 64 * valkeyBuckets(n) }
        let slots: Int
        switch server {
        case .redis7_2, .redis7_4, .redis8, .valkey7_2:
            slots = dictSlots(presize: n, phases: [])
        default:
            slots = allIntegers && n > 512
                ? dictSlots(presize: 513, phases: [(n - 513, 1)])
                : dictSlots(presize: nil, phases: [(n, 1)])
        }
        return object(key) + dictStruct + 8 * slots
    }

    // MARK: Sorted sets

    /// Expected allocation of a skiplist node of `base` bytes plus 16 per level (p = 1/4).
    func expectedNode(base: Int) -> Double {
        var expected = 0.0
        var p = 0.75
        for level in 1...12 {
            expected += p * Double(alloc(base + 16 * level))
            p /= 4
        }
        return expected
    }

    /// One member of a skiplist zset (its node, sds and dict entry; Valkey embeds the member in the node).
    @inline(__always) func skiplistMember(_ len: Int, redisNode: Double) -> Double {
        if embedsKeys { return expectedNode(base: 16 + 1 + Self.sdsRequest(len)) }
        return Double(sdsSize(len) + dictEntry) + redisNode
    }

    func skiplistTableSize(key: KeyShape, count n: Int, longest: Int) -> Int {
        if embedsKeys { return object(key) + 16 + alloc(16 + 32 * 16 + 1) + 72 + 64 * valkeyBuckets(n) }
        let slots = longest > 64 || n <= 128
            ? dictSlots(presize: nil, phases: [(n, 2)])
            : dictSlots(presize: nil, phases: [(129, 1), (n - 129, 2)])
        return object(key) + 16 + 32 + dictStruct + 8 * slots + alloc(24 + 32 * 16)
    }

    // MARK: Hashes

    /// One field of a hashtable hash.
    @inline(__always) func hashEntry(field f: Int, value v: Int, ttl: Bool) -> Int {
        if embedsKeys {
            let fs = (ttl && f < 32 ? 3 : Self.sdsHeader(f)) + f + 1
            let ex = ttl ? 8 : 0
            if fs + ex + 3 + v + 1 <= 128 { return alloc(fs + ex + 3 + v + 1) }
            return alloc(ex + 8 + max(3, Self.sdsHeader(f)) + f + 1) + sdsSize(v)
        }
        let field = ttl ? alloc(Self.sdsRequest(f) + 16) : sdsSize(f)
        return dictEntry + field + sdsSize(v)
    }

    func hashTableSize(key: KeyShape, count n: Int, longest: Int, ttlFields: Int) -> Int {
        if embedsKeys {
            let volatileSet = ttlFields <= 1 ? 0 : 24 + Int(6.6 * Double(ttlFields - 2))
            return object(key) + 88 + 64 * valkeyBuckets(n) + volatileSet
        }
        let slots: Int
        if longest > 64 || n <= 512 {
            slots = dictSlots(presize: nil, phases: [(n, 2)])
        } else if isSixEra {
            slots = dictSlots(presize: nil, phases: [(513, 1), (n - 513, 2)])
        } else {
            slots = dictSlots(presize: 513, phases: [(n - 513, 2)])
        }
        return object(key) + dictStruct + 8 * slots
    }

    /// The listpackEx wrapper of a hash with field TTLs (Redis 7.4+).
    var listpackExStruct: Int { 32 }

    // MARK: Streams (MEMORY USAGE itself guesses the radix trees: 244 bytes per node)

    /// A stream listpack as counted (exact bytes before 6.2, the allocation after).
    func streamListpack(_ n: Int) -> Int {
        server == .redis5 || server == .redis6_0 ? n : alloc(n)
    }

    /// Radix tree nodes for `n` keys: about two per key (the server's trees share prefixes of
    /// big-endian IDs); an empty tree has one.
    static func raxNodes(_ n: Int) -> Int { n == 0 ? 1 : 2 * n + 2 }

    /// Redis's `streamRadixTreeMemoryUsage`: 16 bytes per key plus 244 per node.
    private static func raxUsage(_ n: Int) -> Int { 16 * n + 244 * raxNodes(n) }

    /// Valkey's real radix tree allocations (approximate).
    private func valkeyRax(_ n: Int) -> Int {
        alloc(32) + (n == 0 ? alloc(8) : Self.raxNodes(n) * alloc(32))
    }

    func streamSize(
        key: KeyShape, listpacks: Int, listpackBytes: Int, lastListpack: Int, groups: Int, pending: Int,
        consumers: Int, consumerNames: Int, consumerPending: Int
    ) -> Int {
        // XADD allocates each node's listpack at 4 KiB and shrinks a node only when the next one starts.
        var nodes = listpackBytes
        if listpacks > 0 && server != .redis5 && server != .redis6_0 && lastListpack < 4096 {
            nodes += alloc(4096) - alloc(lastListpack)
        }
        if embedsKeys {
            return object(key) + 96 + valkeyRax(listpacks) + nodes + groups * 40 + valkeyRax(pending) * min(groups, 1)
                + 24 * pending + consumers * 32 + consumerNames + consumers * valkeyRax(0) + 32 * consumerPending
        }
        let header = server == .redis5 || server == .redis6_0 ? 16 : 16 + (isSixEra ? 40 : 80)
        let group = isSixEra ? 32 : 40
        let consumer = isSixEra || server == .redis7_0 ? 24 : 32
        var size = header + Self.raxUsage(listpacks) + nodes
        size += groups * (group + 244) + 16 * pending + 244 * (pending == 0 ? 0 : Self.raxNodes(pending) - 1) + 24 * pending
        size += consumers * (consumer + 244) + consumerNames + 16 * consumerPending
            + 244 * (consumerPending == 0 ? 0 : 2 * consumerPending + 1)
        return size
    }
}

/// What the memory layout of a key depends on besides its value.
public struct KeyShape: Sendable, Hashable {
    public var length: Int
    public var hasExpiry: Bool

    public init(length: Int, hasExpiry: Bool) {
        self.length = length
        self.hasExpiry = hasExpiry
    }
}
