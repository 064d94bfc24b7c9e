#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

/// Keys and estimated bytes of a group.
public struct MemoryTally: Sendable, Hashable {
    public var keys = 0
    public var bytes = 0

    public init(keys: Int = 0, bytes: Int = 0) {
        self.keys = keys
        self.bytes = bytes
    }

    @inline(__always) mutating func add(_ b: Int) {
        keys += 1
        bytes += b
    }

    @inline(__always) mutating func merge(_ o: MemoryTally) {
        keys += o.keys
        bytes += o.bytes
    }
}

/// The N biggest keys seen, in bounded memory (a min-heap of N entries).
public struct TopKeys: Sendable {
    public let limit: Int
    private var heap: [KeyMemory] = []

    public init(limit: Int) { self.limit = max(0, limit) }

    /// The smallest size that still gets in (0 while not full).
    public var threshold: Int { heap.count < limit ? 0 : heap[0].bytes }

    public mutating func offer(_ k: KeyMemory) {
        guard limit > 0 else { return }
        if heap.count < limit {
            if heap.isEmpty { heap.reserveCapacity(min(limit, 16)) }
            heap.append(k)
            siftUp(heap.count - 1)
        } else if Self.less(heap[0], k) {
            heap[0] = k
            siftDown(0)
        }
    }

    /// Adds every key of `other`.
    public mutating func merge(_ other: TopKeys) {
        for k in other.heap where k.bytes >= threshold { offer(k) }
    }

    /// Biggest first; ties by db then key bytes, so the order is stable.
    public var sorted: [KeyMemory] { heap.sorted { Self.less($1, $0) } }

    /// Orders by size, then (reversed) by db and key so that equal sizes keep the first keys.
    @inline(__always) static func less(_ a: KeyMemory, _ b: KeyMemory) -> Bool {
        if a.bytes != b.bytes { return a.bytes < b.bytes }
        if a.db != b.db { return a.db > b.db }
        return keyGreater(a.key.bytes, b.key.bytes)
    }

    /// Whether `a` sorts after `b` byte by byte (a prefix first), as `b < a` for ``RedisBytes``, with memcmp.
    @inline(__always) static func keyGreater(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                let n = min(pa.count, pb.count)
                let c = n == 0 ? 0 : memcmp(pa.baseAddress!, pb.baseAddress!, n)
                return c != 0 ? c > 0 : pa.count > pb.count
            }
        }
    }

    /// `h[i]` before `h[j]` in ``less(_:_:)``, read in place (no copies of the entries).
    @inline(__always) private static func less(_ h: UnsafeMutableBufferPointer<KeyMemory>, _ i: Int, _ j: Int) -> Bool {
        if h[i].bytes != h[j].bytes { return h[i].bytes < h[j].bytes }
        if h[i].db != h[j].db { return h[i].db > h[j].db }
        return keyGreater(h[i].key.bytes, h[j].key.bytes)
    }

    // The sifts swap through the buffer: entries are moved, not copied with their references.
    private mutating func siftUp(_ i: Int) {
        heap.withUnsafeMutableBufferPointer { h in
            var i = i
            while i > 0 {
                let p = (i - 1) / 2
                guard Self.less(h, i, p) else { return }
                h.swapAt(i, p)
                i = p
            }
        }
    }

    private mutating func siftDown(_ i: Int) {
        heap.withUnsafeMutableBufferPointer { h in
            var i = i
            let n = h.count
            while true {
                let l = 2 * i + 1
                let r = l + 1
                var m = i
                if l < n && Self.less(h, l, m) { m = l }
                if r < n && Self.less(h, r, m) { m = r }
                if m == i { return }
                h.swapAt(i, m)
                i = m
            }
        }
    }
}

/// Aggregates key estimates: totals, groups by type, encoding and db, expiry and element-count
/// histograms, the biggest keys (overall and per type), and a prefix tree in bounded memory.
public final class MemoryAnalysis {
    public struct Options: Sendable {
        /// Biggest keys kept overall, and per type.
        public var top = 100
        /// Separators that split keys into prefixes (each may be several bytes).
        public var separators: [[UInt8]] = [Array(":".utf8)]
        /// Prefix levels kept (1 = `a:` only).
        public var depth = 4
        /// Nodes the prefix tree may hold before the smallest are folded.
        public var maxPrefixes = 100_000
        /// Biggest keys kept per prefix.
        public var topPerPrefix = 3
        /// Whether to build the prefix tree.
        public var byPrefix = true
        /// Expiry histogram reference time (ms since the epoch).
        public var referenceTime: Int64 = 0

        public init() {}
    }

    public static let expiryBuckets = ["none", "expired", "< 1 h", "< 1 day", "< 1 week", "later"]
    public static let elementBuckets = ["1", "2-10", "11-100", "101-1000", "1001-10000", "10001-100000", "> 100000"]

    public let options: Options
    public private(set) var totals = MemoryTally()
    public private(set) var keysWithExpiry = 0
    public private(set) var roughKeys = 0
    public var byType: [String: MemoryTally] {
        var out: [String: MemoryTally] = [:]
        for g in groups { out[g.type, default: MemoryTally()].merge(g.tally) }
        return out
    }
    /// Keyed `type/encoding`.
    public var byEncoding: [String: MemoryTally] {
        var out: [String: MemoryTally] = [:]
        for g in groups { out["\(g.type)/\(g.encoding)"] = g.tally }
        return out
    }
    /// Tallies per type and encoding: a handful, found by a linear scan (cheaper per key than hashing
    /// two strings).
    private struct Group {
        var type: String
        var encoding: String
        var tally = MemoryTally()
    }
    private var groups: [Group] = []
    public private(set) var byDB: [UInt64: MemoryTally] = [:]
    public private(set) var expiryHistogram = [MemoryTally](repeating: MemoryTally(), count: 6)
    /// Collections (not strings) by element count.
    public private(set) var elementHistogram = [MemoryTally](repeating: MemoryTally(), count: 7)
    public private(set) var top: TopKeys
    public var topByType: [String: TopKeys] {
        var out: [String: TopKeys] = [:]
        for t in typeTops { out[t.type] = t.top }
        return out
    }
    private var typeTops: [(type: String, top: TopKeys)] = []
    public private(set) var prefixes: PrefixTree

    public init(options: Options) {
        self.options = options
        top = TopKeys(limit: options.top)
        prefixes = PrefixTree(
            separators: options.separators, depth: options.depth, maxNodes: options.maxPrefixes,
            topPerNode: options.topPerPrefix)
    }

    public func add(_ k: KeyMemory) {
        totals.add(k.bytes)
        if k.isRough { roughKeys += 1 }
        addToGroup(k)
        byDB[k.db, default: MemoryTally()].add(k.bytes)
        expiryHistogram[expiryBucket(k.expiresAt)].add(k.bytes)
        if k.type != "string" { elementHistogram[Self.elementBucket(k.elements)].add(k.bytes) }
        if k.expiresAt != nil { keysWithExpiry += 1 }
        if options.top > 0 {
            if k.bytes >= top.threshold { top.offer(k) }
            if let i = typeTops.firstIndex(where: { $0.type == k.type }) {
                if k.bytes >= typeTops[i].top.threshold { typeTops[i].top.offer(k) }
            } else {
                var t = TopKeys(limit: options.top)
                t.offer(k)
                typeTops.append((k.type, t))
            }
        }
        if options.byPrefix { prefixes.add(k) }
    }

    /// Adds a key to the prefix tree only (for an analysis whose other figures come from ``merge(_:)``).
    public func addToPrefixes(_ k: KeyMemory) {
        if options.byPrefix { prefixes.add(k) }
    }

    /// Adds what `other` (an analysis of other keys, with the same options) counted.
    public func merge(_ other: MemoryAnalysis) {
        totals.keys += other.totals.keys
        totals.bytes += other.totals.bytes
        keysWithExpiry += other.keysWithExpiry
        roughKeys += other.roughKeys
        for g in other.groups { addToGroup(type: g.type, encoding: g.encoding, g.tally) }
        for (k, v) in other.byDB { byDB[k, default: MemoryTally()].merge(v) }
        for i in expiryHistogram.indices { expiryHistogram[i].merge(other.expiryHistogram[i]) }
        for i in elementHistogram.indices { elementHistogram[i].merge(other.elementHistogram[i]) }
        top.merge(other.top)
        for (t, o) in other.typeTops {
            if let i = typeTops.firstIndex(where: { $0.type == t }) {
                typeTops[i].top.merge(o)
            } else {
                var top = TopKeys(limit: options.top)
                top.merge(o)
                typeTops.append((t, top))
            }
        }
        if options.byPrefix { prefixes.merge(other.prefixes) }
    }

    @inline(__always) private func addToGroup(_ k: KeyMemory) {
        for i in groups.indices where groups[i].type == k.type && groups[i].encoding == k.encoding {
            groups[i].tally.add(k.bytes)
            return
        }
        groups.append(Group(type: k.type, encoding: k.encoding, tally: MemoryTally(keys: 1, bytes: k.bytes)))
    }

    private func addToGroup(type: String, encoding: String, _ t: MemoryTally) {
        for i in groups.indices where groups[i].type == type && groups[i].encoding == encoding {
            groups[i].tally.merge(t)
            return
        }
        groups.append(Group(type: type, encoding: encoding, tally: t))
    }

    private func expiryBucket(_ t: RedisTimestamp?) -> Int {
        guard let t else { return 0 }
        let left = t.milliseconds - options.referenceTime
        if left <= 0 { return 1 }
        if left < 3_600_000 { return 2 }
        if left < 86_400_000 { return 3 }
        if left < 604_800_000 { return 4 }
        return 5
    }

    static func elementBucket(_ n: Int) -> Int {
        switch n {
        case ...1: 0
        case ...10: 1
        case ...100: 2
        case ...1000: 3
        case ...10000: 4
        case ...100_000: 5
        default: 6
        }
    }
}

/// Keys and bytes per key prefix, split at separators, in at most `maxNodes` nodes.
///
/// While the tree fits, every figure is exact. When it would grow past `maxNodes`, the smaller half
/// of the nodes (by bytes) is dropped (a weighted lossy-counting scheme): their keys stay counted in
/// their ancestors and in the totals, and a prefix seen again starts from zero, so a node's figures
/// are low by at most ``errorBound`` bytes — the sum of the pruning thresholds — and exact when it is 0.
public struct PrefixTree: Sendable {
    public struct Node: Sendable {
        public var prefix: RedisBytes
        public var tally = MemoryTally()
        public var top: TopKeys
        var hash: UInt64
    }

    public let separators: [[UInt8]]
    public let depth: Int
    public let maxNodes: Int
    public let topPerNode: Int
    public private(set) var root: Node
    /// Kept nodes (unordered).
    public private(set) var nodes: [Node] = []
    /// Open addressing: the hash's high 32 bits over node index + 1, 0 for empty (so that probing
    /// touches no node until the tags agree); capacity a power of two above twice `maxNodes`.
    private var slots: [UInt64]
    /// Bytes a node's figure may be short by (0: exact).
    public private(set) var errorBound = 0
    /// Nodes dropped by pruning, and their keys and bytes then (a key counts once per dropped prefix).
    public private(set) var folded = MemoryTally()
    public private(set) var prunes = 0

    public init(separators: [[UInt8]], depth: Int, maxNodes: Int, topPerNode: Int) {
        self.separators = separators.filter { !$0.isEmpty }
        self.depth = max(0, depth)
        self.maxNodes = max(16, maxNodes)
        self.topPerNode = topPerNode
        root = Node(prefix: RedisBytes([]), top: TopKeys(limit: topPerNode), hash: 0)
        slots = []
    }

    /// The ends (exclusive) of the prefixes of `p`, shortest first, at most `depth`.
    func prefixEnds(_ p: UnsafeBufferPointer<UInt8>, into ends: inout [Int]) {
        ends.removeAll(keepingCapacity: true)
        guard depth > 0, !separators.isEmpty else { return }
        let n = p.count
        var i = 0
        outer: while i < n {
            for sep in separators where sep[0] == p[i] && i + sep.count <= n {
                var same = true
                for j in 1..<sep.count where p[i + j] != sep[j] {
                    same = false
                    break
                }
                if same {
                    i += sep.count
                    ends.append(i)
                    if ends.count == depth { break outer }
                    continue outer
                }
            }
            i += 1
        }
    }

    func prefixEnds(_ key: RedisBytes) -> [Int] {
        var ends: [Int] = []
        key.bytes.withUnsafeBufferPointer { prefixEnds($0, into: &ends) }
        return ends
    }

    @inline(__always) static func hash(_ p: UnsafeBufferPointer<UInt8>, count: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<count { h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01b3 }
        return h ^ (h >> 29)
    }

    private var scratchEnds: [Int] = []

    public mutating func add(_ k: KeyMemory) {
        root.tally.add(k.bytes)
        if k.bytes >= root.top.threshold { root.top.offer(k) }
        // Taken out (not copied), so that clearing it reuses its storage instead of copying it.
        var ends: [Int] = []
        swap(&ends, &scratchEnds)
        k.key.bytes.withUnsafeBufferPointer { p in
            prefixEnds(p, into: &ends)
            for end in ends {
                let h = Self.hash(p, count: end)
                let index = find(p, count: end, hash: h)
                if index >= 0 {
                    nodes[index].tally.add(k.bytes)
                    if k.bytes >= nodes[index].top.threshold { nodes[index].top.offer(k) }
                } else {
                    var node = Node(
                        prefix: RedisBytes(Array(UnsafeBufferPointer(rebasing: p[0..<end]))), top: TopKeys(limit: topPerNode),
                        hash: h)
                    node.tally.add(k.bytes)
                    node.top.offer(k)
                    insert(node, slot: -index - 1)
                }
            }
        }
        swap(&ends, &scratchEnds)
        if nodes.count > maxNodes { prune() }
    }

    /// Adds the nodes of `other` (a tree of other keys with the same settings); prunes when full.
    public mutating func merge(_ other: PrefixTree) {
        root.tally.merge(other.root.tally)
        root.top.merge(other.root.top)
        for node in other.nodes {
            node.prefix.bytes.withUnsafeBufferPointer { p in
                let index = find(p, count: p.count, hash: node.hash)
                if index >= 0 {
                    nodes[index].tally.merge(node.tally)
                    nodes[index].top.merge(node.top)
                } else {
                    insert(node, slot: -index - 1)
                }
            }
            if nodes.count > maxNodes { prune() }
        }
        folded.merge(other.folded)
        errorBound += other.errorBound
        prunes += other.prunes
    }

    static func capacity(_ maxNodes: Int) -> Int { MemoryModel.nextPowerOfTwo(maxNodes * 2 + 2) }

    /// The node's index, or −(free slot + 1).
    @inline(__always) private mutating func find(_ p: UnsafeBufferPointer<UInt8>, count: Int, hash: UInt64) -> Int {
        if slots.isEmpty { slots = [UInt64](repeating: 0, count: 64) }
        let mask = slots.count - 1
        let tag = hash >> 32
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[i]
            let s = Int(truncatingIfNeeded: slot & 0xFFFF_FFFF)
            if s == 0 { return -i - 1 }
            if slot >> 32 == tag && sameBytes(s - 1, p, count) { return s - 1 }
            i = (i + 1) & mask
        }
    }

    @inline(__always) private func sameBytes(_ index: Int, _ p: UnsafeBufferPointer<UInt8>, _ count: Int) -> Bool {
        nodes.withUnsafeBufferPointer { all in
            all[index].prefix.bytes.count == count
                && all[index].prefix.bytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, p.baseAddress!, count) == 0 }
        }
    }

    private mutating func insert(_ node: Node, slot: Int) {
        nodes.append(node)
        slots[slot] = Self.slotValue(node.hash, index: nodes.count - 1)
        if nodes.count * 2 > slots.count { rebuildSlots(capacity: slots.count * 2) }
    }

    @inline(__always) private static func slotValue(_ hash: UInt64, index: Int) -> UInt64 {
        (hash >> 32) << 32 | UInt64(index + 1)
    }

    /// Re-slots every node into a table of `capacity` slots (a power of two).
    private mutating func rebuildSlots(capacity: Int) {
        slots = [UInt64](repeating: 0, count: capacity)
        let mask = capacity - 1
        for (n, node) in nodes.enumerated() {
            var i = Int(truncatingIfNeeded: node.hash) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = Self.slotValue(node.hash, index: n)
        }
    }

    /// Drops the smaller half of the nodes.
    private mutating func prune() {
        let keep = maxNodes / 2
        let order = nodes.indices.sorted { nodes[$0].tally.bytes > nodes[$1].tally.bytes }
        var threshold = 0
        var kept: [Node] = []
        kept.reserveCapacity(keep)
        for (rank, i) in order.enumerated() {
            if rank < keep {
                kept.append(nodes[i])
            } else {
                threshold = max(threshold, nodes[i].tally.bytes)
                folded.keys += nodes[i].tally.keys
                folded.bytes += nodes[i].tally.bytes
            }
        }
        nodes = kept
        rebuildSlots(capacity: slots.count)
        errorBound += threshold
        prunes += 1
        #if canImport(Glibc)
        // Hand the dropped nodes' memory back, so that churn does not pile up in the heap.
        _ = glibcMallocTrim(0)
        #endif
    }

    /// A node of the finished tree.
    public struct Branch: Sendable {
        public var prefix: RedisBytes
        public var tally: MemoryTally
        public var top: [KeyMemory]
        public var children: [Branch]

        public init(prefix: RedisBytes, tally: MemoryTally, top: [KeyMemory], children: [Branch]) {
            self.prefix = prefix
            self.tally = tally
            self.top = top
            self.children = children
        }
    }

    /// The tree: each node under its nearest kept ancestor, children biggest first.
    public func build() -> Branch {
        var byPrefix: [RedisBytes: Int] = [:]
        for (i, n) in nodes.enumerated() { byPrefix[n.prefix] = i }
        var children: [Int: [Int]] = [:]  // parent index (−1: root) → child indexes
        for (i, n) in nodes.enumerated() {
            var parent = -1
            for end in prefixEnds(n.prefix).reversed() where end < n.prefix.count {
                if let p = byPrefix[RedisBytes(Array(n.prefix.bytes[0..<end]))] {
                    parent = p
                    break
                }
            }
            children[parent, default: []].append(i)
        }
        func branch(_ index: Int) -> Branch {
            let node = index < 0 ? root : nodes[index]
            let kids = (children[index] ?? []).map(branch).sorted {
                $0.tally.bytes != $1.tally.bytes ? $0.tally.bytes > $1.tally.bytes : $0.prefix < $1.prefix
            }
            return Branch(prefix: node.prefix, tally: node.tally, top: node.top.sorted, children: kids)
        }
        return branch(-1)
    }
}
