import RedisFormats

/// A list as a chain of packed nodes, like Redis's quicklist of listpacks: pushes at either end are O(1)
/// amortised, access by index walks the node counts, and a node holds at most ``maxNodeEntries`` entries and
/// about ``maxNodeBytes`` bytes.
public final class ListValue: @unchecked Sendable {
    public static let maxNodeEntries = 128
    public static let maxNodeBytes = 8192

    var nodes = ListNodes()
    public private(set) var count = 0

    public init() {}

    public init(_ items: [RedisBytes]) {
        for i in items { pushBack(i) }
    }

    /// A list of one node.
    init(node: PackedEntries) {
        if !node.isEmpty { nodes.append(node) }
        count = node.count
    }

    public func clone() -> ListValue {
        let c = ListValue()
        c.nodes = nodes
        c.count = count
        return c
    }

    public var isEmpty: Bool { count == 0 }

    @inline(__always) private func isFull(_ node: PackedEntries, adding n: Int) -> Bool {
        node.count >= Self.maxNodeEntries || (node.count > 0 && node.byteCount + n > Self.maxNodeBytes)
    }

    public func pushBack(_ e: RedisBytes) {
        if nodes.isEmpty || isFull(nodes[nodes.count - 1], adding: e.count) {
            nodes.append(PackedEntries())
        }
        nodes[nodes.count - 1].append(e.bytes)
        count += 1
    }

    public func pushFront(_ e: RedisBytes) {
        if nodes.isEmpty || isFull(nodes[0], adding: e.count) {
            nodes.insert(PackedEntries(), at: 0)
        }
        nodes[0].insert(e.bytes, at: 0)
        count += 1
    }

    public func popFront() -> RedisBytes? {
        guard count > 0 else { return nil }
        let e = nodes[0][0]
        nodes[0].remove(at: 0)
        if nodes[0].isEmpty { nodes.remove(at: 0) }
        count -= 1
        return e
    }

    public func popBack() -> RedisBytes? {
        guard count > 0 else { return nil }
        let last = nodes.count - 1
        let e = nodes[last][nodes[last].count - 1]
        nodes[last].remove(at: nodes[last].count - 1)
        if nodes[last].isEmpty { nodes.removeLast() }
        count -= 1
        return e
    }

    /// The node and the index inside it of list index `index` (0 ..< count).
    private func locate(_ index: Int) -> (node: Int, at: Int) {
        precondition(index >= 0 && index < count, "list index out of range")
        if index >= count / 2 {
            var remaining = count - index
            var n = nodes.count - 1
            while remaining > nodes[n].count {
                remaining -= nodes[n].count
                n -= 1
            }
            return (n, nodes[n].count - remaining)
        }
        var i = index
        var n = 0
        while i >= nodes[n].count {
            i -= nodes[n].count
            n += 1
        }
        return (n, i)
    }

    public subscript(index: Int) -> RedisBytes {
        get {
            let (n, i) = locate(index)
            return nodes[n][i]
        }
        set {
            let (n, i) = locate(index)
            nodes[n].replace(at: i, with: newValue.bytes)
        }
    }

    /// Inserts `e` so that it ends up at `index` (0 ... count).
    public func insert(_ e: RedisBytes, at index: Int) {
        if index == count { return pushBack(e) }
        if index == 0 { return pushFront(e) }
        let (n, i) = locate(index)
        nodes[n].insert(e.bytes, at: i)
        count += 1
        if nodes[n].count > Self.maxNodeEntries || nodes[n].byteCount > 2 * Self.maxNodeBytes {
            let tail = nodes[n].split(at: nodes[n].count / 2)
            nodes.insert(tail, at: n + 1)
        }
    }

    public func remove(at index: Int) {
        let (n, i) = locate(index)
        nodes[n].remove(at: i)
        if nodes[n].isEmpty { nodes.remove(at: n) }
        count -= 1
    }

    /// Keeps only `range` (LTRIM).
    public func keep(_ range: Range<Int>) {
        if range.isEmpty {
            nodes = ListNodes()
            count = 0
            return
        }
        if range.lowerBound == 0 && range.upperBound == count { return }
        let kept = ListValue()
        var i = 0
        forEach { e in
            if i >= range.upperBound { return false }
            if i >= range.lowerBound { kept.pushBack(RedisBytes(Array(e))) }
            i += 1
            return true
        }
        nodes = kept.nodes
        count = kept.count
    }

    /// Removes up to `limit` elements equal to `e`, the first ones from the head (or from the tail), in one pass
    /// that rebuilds the list only when something matches (LREM). Returns how many went.
    ///
    /// - Complexity: O(n).
    public func removeAll(equalTo e: RedisBytes, limit: Int, fromTail: Bool) -> Int {
        guard limit > 0 else { return 0 }
        let needle = e.bytes
        func matches(_ x: UnsafeBufferPointer<UInt8>) -> Bool { x.count == needle.count && x.elementsEqual(needle) }
        var total = 0
        forEach { x in
            if matches(x) { total += 1 }
            return true
        }
        guard total > 0 else { return 0 }
        let toRemove = min(total, limit)
        // Matches are numbered from the head; removing from the tail skips the first `total - toRemove`.
        let firstRemoved = fromTail ? total - toRemove : 0
        let kept = ListValue()
        var seen = 0
        forEach { x in
            if matches(x) {
                defer { seen += 1 }
                if seen >= firstRemoved && seen < firstRemoved + toRemove { return true }
            }
            kept.pushBack(RedisBytes(Array(x)))
            return true
        }
        nodes = kept.nodes
        count = kept.count
        return toRemove
    }

    /// Calls `body` with each element in order until it returns false.
    public func forEach(_ body: (UnsafeBufferPointer<UInt8>) throws -> Bool) rethrows {
        var go = true
        for node in nodes {
            try node.forEach { e in
                go = try body(e)
                return go
            }
            if !go { return }
        }
    }

    /// Elements `range` (clamped by the caller), copied.
    public func elements(in range: Range<Int>) -> [RedisBytes] {
        var out: [RedisBytes] = []
        out.reserveCapacity(range.count)
        var i = 0
        forEach { e in
            if i >= range.upperBound { return false }
            if i >= range.lowerBound { out.append(RedisBytes(Array(e))) }
            i += 1
            return true
        }
        return out
    }

    public var elements: [RedisBytes] { elements(in: 0..<count) }

    /// Every element of the list with its length, for encoding decisions.
    public var maxElementLength: Int { nodes.map(\.maxEntryLength).max() ?? 0 }

    /// Bytes of payload and length prefixes.
    public var byteCount: Int { nodes.reduce(0) { $0 + $1.byteCount } }
}

/// The nodes of a list. Most lists fit in one node, which is then held inline: an array of one node would cost
/// an allocation (64 bytes with its header) per small list, a quarter of such a key's memory.
struct ListNodes: RandomAccessCollection, MutableCollection {
    enum Storage {
        case one(PackedEntries)
        /// Zero, or two and more, nodes (the empty array allocates nothing).
        case many([PackedEntries])
    }
    var storage: Storage = .many([])

    var startIndex: Int { 0 }
    var endIndex: Int {
        switch storage {
        case .one: 1
        case .many(let a): a.count
        }
    }

    subscript(i: Int) -> PackedEntries {
        get {
            switch storage {
            case .one(let p):
                precondition(i == 0, "list node index out of range")
                return p
            case .many(let a): return a[i]
            }
        }
        _modify {
            // Taken out while modified, so the node's buffer stays uniquely referenced (no copy on write).
            switch storage {
            case .one(var p):
                precondition(i == 0, "list node index out of range")
                storage = .many([])
                defer { storage = .one(p) }
                yield &p
            case .many(var a):
                storage = .many([])
                defer { storage = .many(a) }
                yield &a[i]
            }
        }
    }

    /// Applies `body` to the nodes as an array, then stores them back in the smallest form.
    private mutating func withArray<R>(_ body: (inout [PackedEntries]) -> R) -> R {
        var a: [PackedEntries]
        switch storage {
        case .one(let p): a = [p]
        case .many(let m): a = m
        }
        storage = .many([])
        let r = body(&a)
        storage = a.count == 1 ? .one(a[0]) : .many(a)
        return r
    }

    mutating func append(_ node: PackedEntries) {
        if case .many(let a) = storage, a.isEmpty {
            storage = .one(node)
            return
        }
        withArray { $0.append(node) }
    }

    mutating func insert(_ node: PackedEntries, at i: Int) {
        if case .many(let a) = storage, a.isEmpty, i == 0 {
            storage = .one(node)
            return
        }
        withArray { $0.insert(node, at: i) }
    }

    @discardableResult
    mutating func remove(at i: Int) -> PackedEntries {
        if case .one(let p) = storage {
            precondition(i == 0, "list node index out of range")
            storage = .many([])
            return p
        }
        return withArray { $0.remove(at: i) }
    }

    @discardableResult
    mutating func removeLast() -> PackedEntries { remove(at: count - 1) }
}
