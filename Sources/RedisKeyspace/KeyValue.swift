import RedisFormats

/// A value held by the keyspace. Collections are reference types so that commands change them in place
/// (no copy-on-write of a whole hash to add one field); ``clone()`` makes an independent copy (COPY, tests).
///
/// Every case is one pointer wide, so a dictionary slot of the keyspace stays small.
public enum KeyValue: Sendable {
    case string(RedisBytes)
    case list(ListValue)
    case set(SetValue)
    case sortedSet(SortedSetValue)
    case hash(HashValue)
    case stream(StreamValue)
    /// Module values and anything else kept opaque (Redis 8.8 arrays): the reader's model, boxed.
    case opaque(OpaqueValue)

    /// The name `TYPE` prints (a module's type name for module values).
    public var typeName: String {
        switch self {
        case .string: "string"
        case .list: "list"
        case .set: "set"
        case .sortedSet: "zset"
        case .hash: "hash"
        case .stream: "stream"
        case .opaque(let o): o.value.typeName
        }
    }

    /// An independent copy.
    public func clone() -> KeyValue {
        switch self {
        case .string(let s): .string(s)
        case .list(let l): .list(l.clone())
        case .set(let s): .set(s.clone())
        case .sortedSet(let z): .sortedSet(z.clone())
        case .hash(let h): .hash(h.clone())
        case .stream(let s): .stream(s.clone())
        case .opaque(let o): .opaque(o)
        }
    }

    /// The value in the reader's model (what `rdbkit json`, `diff` and DUMP work on).
    public var redisValue: RedisValue {
        switch self {
        case .string(let s): .string(s)
        case .list(let l): .list(l.elements)
        case .set(let s): .set(s.members)
        case .sortedSet(let z): .sortedSet(z.sortedEntries)
        case .hash(let h): .hash(h.fields)
        case .stream(let s): .stream(s.stream)
        case .opaque(let o): o.value
        }
    }

    /// Builds a keyspace value from the reader's model.
    public init(_ value: RedisValue) {
        switch value {
        case .string(let s): self = .string(s)
        case .list(let items): self = .list(ListValue(items))
        case .set(let members): self = .set(SetValue(members))
        case .sortedSet(let entries): self = .sortedSet(SortedSetValue(entries))
        case .hash(let fields): self = .hash(HashValue(fields))
        case .stream(let s): self = .stream(StreamValue(s))
        case .module, .array: self = .opaque(OpaqueValue(value))
        }
    }

    /// Number of elements (1 for a string; stream entries; 0 for opaque values).
    public var elementCount: Int {
        switch self {
        case .string: 1
        case .list(let l): l.count
        case .set(let s): s.count
        case .sortedSet(let z): z.count
        case .hash(let h): h.count
        case .stream(let s): Int(s.length)
        case .opaque: 0
        }
    }
}

/// A value the keyspace keeps without interpreting it (module values, Redis 8.8 arrays).
public final class OpaqueValue: Sendable {
    public let value: RedisValue
    public init(_ value: RedisValue) { self.value = value }
}

/// A stream, held by reference, kept the way Redis 7.0 keeps it (`t_stream.c`) so that commands change it as a
/// server would: entries in nodes that mirror Redis's listpack nodes (same boundaries, because `~` trimming
/// removes whole nodes only; deleted entries stay in their node as tombstones), the metadata of the reader's
/// model (length, last ID, first ID, max deleted entry ID, entries added) and consumer groups with their PELs.
///
/// ``stream`` gives (and takes) the reader's ``RedisStream``. A stream built from a model (RESTORE, an RDB) gets
/// its nodes by appending its live entries again: a server keeps the node layout of the file, which may differ.
public final class StreamValue: @unchecked Sendable {
    /// One listpack node: master fields and entries (live and deleted) in ID order.
    struct Node {
        var masterID: StreamID
        var masterFields: [RedisBytes]
        var ids: [StreamID] = []
        var fields: [[StreamField]] = []
        var deleted: [Bool] = []
        var live = 0
        var deletedCount = 0
        /// `lpBytes` of the node's listpack.
        var bytes = 0
        /// False once an ID lower than an earlier one was appended (XSETID moved the last ID back below
        /// tombstones): lookups then scan the node in order, as Redis's iterator does.
        var sorted = true
        /// How many entries at the start are deleted: trimming a sorted node starts after them.
        var leadingDeleted = 0
        var lastID: StreamID { ids[ids.count - 1] }

        mutating func markDeleted(_ i: Int) {
            deleted[i] = true
            while leadingDeleted < deleted.count && deleted[leadingDeleted] { leadingDeleted += 1 }
        }
    }

    /// A consumer group (`streamCG`).
    final class Group {
        var lastID: StreamID
        /// -1 when invalid (`SCG_INVALID_ENTRIES_READ`).
        var entriesRead: Int64
        var pel: [StreamID: Pending] = [:]
        var consumers: [RedisBytes: Consumer] = [:]
        init(lastID: StreamID, entriesRead: Int64) {
            self.lastID = lastID
            self.entriesRead = entriesRead
        }
    }

    /// A PEL entry (`streamNACK`).
    struct Pending {
        var deliveryTime: Int64
        var deliveryCount: UInt64
        var consumer: RedisBytes?
    }

    final class Consumer {
        var seenTime: Int64
        /// Last successful read (Redis 7.2+), -1 never; nil when the source model had none (files before 7.2).
        var activeTime: Int64?
        var pending: Set<StreamID> = []
        init(seenTime: Int64, activeTime: Int64?) {
            self.seenTime = seenTime
            self.activeTime = activeTime
        }
    }

    /// Redis's defaults `stream-node-max-bytes` and `stream-node-max-entries`.
    static let nodeMaxBytes = 4096
    static let nodeMaxEntries = 100

    var nodes: [Node] = []
    /// Index of the first node in use (nodes before it were trimmed away; compacted now and then).
    var head = 0
    var length: UInt64 = 0
    var lastID = StreamID.zero
    var firstID = StreamID.zero
    var maxDeletedEntryID = StreamID.zero
    var entriesAdded: UInt64 = 0
    var groups: [RedisBytes: Group] = [:]
    /// The model this stream came from had no first ID, max deleted ID or entries added (stream v1, Redis
    /// below 7): ``stream`` leaves them out again until an entry is added, deleted or trimmed, or XSETID runs.
    var legacyMetadata = false

    public init() {}

    public init(_ stream: RedisStream) { self.stream = stream }

    /// The stream in the reader's model (live entries only; groups, consumers and PELs sorted as Redis's rax
    /// orders them).
    public var stream: RedisStream {
        get {
            var entries: [StreamEntry] = []
            entries.reserveCapacity(Int(length))
            for n in nodes[head...] {
                for i in n.ids.indices where !n.deleted[i] { entries.append(StreamEntry(id: n.ids[i], fields: n.fields[i])) }
            }
            let meta =
                legacyMetadata
                ? StreamMetadata(length: length, lastID: lastID)
                : StreamMetadata(
                    length: length, lastID: lastID, firstID: firstID, maxDeletedEntryID: maxDeletedEntryID,
                    entriesAdded: entriesAdded)
            let gs = groups.sorted { $0.key < $1.key }.map { name, g in
                StreamConsumerGroup(
                    name: name, lastDeliveredID: g.lastID, entriesRead: g.entriesRead < 0 ? nil : UInt64(g.entriesRead),
                    pending: g.pel.sorted { $0.key < $1.key }.map {
                        StreamPendingEntry(
                            id: $0.key, deliveryTime: RedisTimestamp(milliseconds: $0.value.deliveryTime),
                            deliveryCount: $0.value.deliveryCount, consumer: $0.value.consumer)
                    },
                    consumers: g.consumers.sorted { $0.key < $1.key }.map {
                        StreamConsumer(
                            name: $0.key, seenTime: RedisTimestamp(milliseconds: $0.value.seenTime),
                            activeTime: $0.value.activeTime.map { RedisTimestamp(milliseconds: $0) },
                            pending: $0.value.pending.sorted())
                    })
            }
            return RedisStream(entries: entries, metadata: meta, groups: gs)
        }
        set {
            nodes = []
            head = 0
            length = 0
            for e in newValue.entries { appendEntry(e.id, e.fields) }
            let m = newValue.metadata
            legacyMetadata = m.firstID == nil && m.maxDeletedEntryID == nil && m.entriesAdded == nil
            lastID = m.lastID
            firstID = m.firstID ?? newValue.entries.first?.id ?? .zero
            maxDeletedEntryID = m.maxDeletedEntryID ?? .zero
            entriesAdded = m.entriesAdded ?? m.length
            groups = [:]
            for g in newValue.groups {
                let cg = Group(lastID: g.lastDeliveredID, entriesRead: g.entriesRead.map { Int64(clamping: $0) } ?? -1)
                for c in g.consumers {
                    let sc = Consumer(seenTime: c.seenTime.milliseconds, activeTime: c.activeTime?.milliseconds)
                    sc.pending = Set(c.pending)
                    cg.consumers[c.name] = sc
                }
                for p in g.pending {
                    var owner = p.consumer
                    if owner == nil { owner = cg.consumers.first { $0.value.pending.contains(p.id) }?.key }
                    cg.pel[p.id] = Pending(deliveryTime: p.deliveryTime.milliseconds, deliveryCount: p.deliveryCount, consumer: owner)
                }
                groups[g.name] = cg
            }
        }
    }

    /// An independent copy with the same nodes (tombstones included), metadata and groups (COPY).
    public func clone() -> StreamValue {
        let c = StreamValue()
        c.nodes = Array(nodes[head...])
        c.length = length
        c.lastID = lastID
        c.firstID = firstID
        c.maxDeletedEntryID = maxDeletedEntryID
        c.entriesAdded = entriesAdded
        c.legacyMetadata = legacyMetadata
        c.groups = groups.mapValues { g in
            let n = Group(lastID: g.lastID, entriesRead: g.entriesRead)
            n.pel = g.pel
            n.consumers = g.consumers.mapValues { k in
                let copy = Consumer(seenTime: k.seenTime, activeTime: k.activeTime)
                copy.pending = k.pending
                return copy
            }
            return n
        }
        return c
    }

    // MARK: Listpack sizes (listpack.c)

    @inline(__always) static func backlenSize(_ l: Int) -> Int {
        l <= 127 ? 1 : l < 16383 ? 2 : l < 2_097_151 ? 3 : l < 268_435_455 ? 4 : 5
    }

    @inline(__always) static func intSize(_ v: Int64) -> Int {
        let enc: Int
        if v >= 0 && v <= 127 {
            enc = 1
        } else if v >= -4096 && v <= 4095 {
            enc = 2
        } else if v >= -32768 && v <= 32767 {
            enc = 3
        } else if v >= -8_388_608 && v <= 8_388_607 {
            enc = 4
        } else if v >= -2_147_483_648 && v <= 2_147_483_647 {
            enc = 5
        } else {
            enc = 9
        }
        return enc + backlenSize(enc)
    }

    /// Bytes a string element takes (stored as an integer when it reads as one, as `lpAppend` does).
    @inline(__always) static func elementSize(_ b: RedisBytes) -> Int {
        if b.count <= 20, let v = RedisInteger.parse(b.bytes) { return intSize(v) }
        let n = b.count
        let enc = n < 64 ? 1 + n : n < 4096 ? 2 + n : 5 + n
        return enc + backlenSize(enc)
    }

    // MARK: Changes

    /// Appends an entry whose ID is above every ID in the stream (`streamAppendItem` after its ID checks): picks
    /// or creates the tail node as Redis does, updates length, last ID, first ID and entries added.
    func appendEntry(_ id: StreamID, _ fields: [StreamField]) {
        legacyMetadata = false
        var totalLength = 0
        for f in fields { totalLength += f.name.count + f.value.count }
        var newNode = nodes.count == head
        if !newNode {
            let t = nodes[nodes.count - 1]
            if t.bytes + totalLength >= Self.nodeMaxBytes || t.live + t.deletedCount >= Self.nodeMaxEntries { newNode = true }
        }
        var sameFields: Bool
        if newNode {
            var n = Node(masterID: id, masterFields: fields.map(\.name))
            n.bytes = 7 + Self.intSize(1) + Self.intSize(0) + Self.intSize(Int64(fields.count)) + Self.intSize(0)
            for f in fields { n.bytes += Self.elementSize(f.name) }
            nodes.append(n)
            sameFields = true
        } else {
            let m = nodes[nodes.count - 1].masterFields
            sameFields = m.count == fields.count && zip(m, fields).allSatisfy { $0 == $1.name }
        }
        let t = nodes.count - 1
        let master = nodes[t].masterID
        var size = Self.intSize(sameFields ? 2 : 0)
        size += Self.intSize(Int64(bitPattern: id.ms &- master.ms))
        size += Self.intSize(Int64(bitPattern: id.seq &- master.seq))
        if !sameFields { size += Self.intSize(Int64(fields.count)) }
        for f in fields {
            if !sameFields { size += Self.elementSize(f.name) }
            size += Self.elementSize(f.value)
        }
        let lpCount = Int64(fields.count + 3 + (sameFields ? 0 : fields.count + 1))
        size += Self.intSize(lpCount)
        nodes[t].bytes += size
        if let last = nodes[t].ids.last, id <= last { nodes[t].sorted = false }
        nodes[t].ids.append(id)
        nodes[t].fields.append(fields)
        nodes[t].deleted.append(false)
        nodes[t].live += 1
        length += 1
        entriesAdded += 1
        lastID = id
        if length == 1 { firstID = id }
    }

    /// The node and index of a live entry.
    func find(_ id: StreamID) -> (node: Int, index: Int)? {
        var lo = head, hi = nodes.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if nodes[mid].masterID <= id { lo = mid + 1 } else { hi = mid }
        }
        let n = lo - 1
        guard n >= head else { return nil }
        if !nodes[n].sorted {
            for i in nodes[n].ids.indices where nodes[n].ids[i] == id && !nodes[n].deleted[i] { return (n, i) }
            return nil
        }
        var a = 0, b = nodes[n].ids.count
        while a < b {
            let mid = (a + b) / 2
            if nodes[n].ids[mid] < id { a = mid + 1 } else { b = mid }
        }
        // XSETID can move the last ID back below deleted entries, so an ID may repeat (once live at most).
        var (m, k) = (n, a)
        while m < nodes.count {
            if k == nodes[m].ids.count {
                m += 1
                k = 0
                continue
            }
            guard nodes[m].ids[k] == id else { return nil }
            if !nodes[m].deleted[k] { return (m, k) }
            k += 1
        }
        return nil
    }

    func contains(_ id: StreamID) -> Bool { find(id) != nil }

    func fields(of id: StreamID) -> [StreamField]? {
        guard let (n, i) = find(id) else { return nil }
        return nodes[n].fields[i]
    }

    /// Deletes a live entry (`streamDeleteItem`): a node whose last live entry goes is removed.
    func deleteEntry(_ id: StreamID) -> Bool {
        guard let (n, i) = find(id) else { return false }
        legacyMetadata = false
        if nodes[n].live == 1 {
            removeNode(n)
        } else {
            nodes[n].markDeleted(i)
            nodes[n].live -= 1
            nodes[n].deletedCount += 1
        }
        length -= 1
        return true
    }

    private func removeNode(_ n: Int) {
        if n == head {
            nodes[n] = Node(masterID: .zero, masterFields: [])
            head += 1
            if head > 64 && head * 2 > nodes.count {
                nodes.removeFirst(head)
                head = 0
            }
        } else {
            nodes.remove(at: n)
        }
    }

    /// The first (or last) live entry ID (`streamGetEdgeID` skipping tombstones), nil when empty.
    func edgeID(first: Bool) -> StreamID? {
        if first {
            for n in nodes[head...] {
                if let i = n.deleted.firstIndex(of: false) { return n.ids[i] }
            }
        } else {
            for n in nodes[head...].reversed() {
                if let i = n.deleted.lastIndex(of: false) { return n.ids[i] }
            }
        }
        return nil
    }

    enum TrimStrategy {
        case maxLength(UInt64)
        case minID(StreamID)
    }

    /// `streamTrim`: whole nodes from the head, then (unless `approximate`) entries inside the next node marked
    /// deleted; `limit` (0 = none) bounds the entries removed. Returns how many went.
    func trim(_ strategy: TrimStrategy, approximate: Bool, limit: Int64) -> Int64 {
        legacyMetadata = false
        var deleted: Int64 = 0
        while head < nodes.count {
            if case .maxLength(let m) = strategy, length <= m { break }
            let entries = Int64(nodes[head].live)
            if limit != 0 && deleted + entries > limit { break }
            let removeNode: Bool
            switch strategy {
            case .maxLength(let m): removeNode = length - UInt64(entries) >= m
            case .minID(let id): removeNode = nodes[head].lastID < id
            }
            if removeNode {
                self.removeNode(head)
                length -= UInt64(entries)
                deleted += entries
                continue
            }
            if approximate { break }
            var fromNode = 0
            // Entries before the first live one of a sorted node change nothing: skip them.
            let from = nodes[head].sorted ? nodes[head].leadingDeleted : 0
            for i in from..<nodes[head].ids.count {
                let stop: Bool
                switch strategy {
                case .maxLength(let m): stop = length <= m
                case .minID(let id): stop = nodes[head].ids[i] >= id
                }
                if stop { break }
                if !nodes[head].deleted[i] {
                    nodes[head].markDeleted(i)
                    fromNode += 1
                    length -= 1
                }
            }
            nodes[head].live -= fromNode
            nodes[head].deletedCount += fromNode
            deleted += Int64(fromNode)
            break
        }
        if length == 0 {
            firstID = .zero
        } else if deleted > 0 {
            firstID = edgeID(first: true) ?? StreamID(ms: .max, seq: .max)
        }
        return deleted
    }

    /// Whether a tombstone may lie in [start, end] (`streamRangeHasTombstones`).
    func rangeHasTombstones(from start: StreamID?, to end: StreamID? = nil) -> Bool {
        if length == 0 || maxDeletedEntryID == .zero { return false }
        if firstID > maxDeletedEntryID { return false }
        let s = start ?? .zero
        let e = end ?? StreamID(ms: .max, seq: .max)
        return s <= maxDeletedEntryID && maxDeletedEntryID <= e
    }

    /// `streamEstimateDistanceFromFirstEverEntry`: the logical read counter of `id`, or -1 when unknown.
    func estimateDistance(_ id: StreamID) -> Int64 {
        if entriesAdded == 0 { return 0 }
        if length == 0 && id <= lastID { return Int64(entriesAdded) }
        if id == lastID { return Int64(entriesAdded) }
        if id > lastID { return -1 }
        if maxDeletedEntryID == .zero || maxDeletedEntryID < firstID {
            if id < firstID { return Int64(entriesAdded) - Int64(length) }
            if id == firstID { return Int64(entriesAdded) - Int64(length) + 1 }
        }
        return -1
    }

    /// Live entries with IDs at or above `start`, in order, at most `count` (0 = all).
    func entries(from start: StreamID, count: Int) -> [StreamEntry] {
        var out: [StreamEntry] = []
        var lo = head, hi = nodes.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if nodes[mid].masterID <= start { lo = mid + 1 } else { hi = mid }
        }
        var n = max(head, lo - 1)
        while n < nodes.count {
            let node = nodes[n]
            for i in node.ids.indices where !node.deleted[i] && node.ids[i] >= start {
                out.append(StreamEntry(id: node.ids[i], fields: node.fields[i]))
                if count > 0 && out.count == count { return out }
            }
            n += 1
        }
        return out
    }
}

extension KeyValue {
    /// ``redisValue`` in a deterministic order: set members and hash fields sorted by bytes, zsets in rank order,
    /// lists and streams as they are.
    public var sortedRedisValue: RedisValue {
        switch self {
        case .set(let s): .set(s.members.sorted())
        case .hash(let h): .hash(h.fields.sorted { $0.field < $1.field })
        default: redisValue
        }
    }
}
