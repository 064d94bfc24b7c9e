import RedisFormats

/// Which master of a Redis Cluster serves each hash slot, read from `CLUSTER SHARDS` (Redis 7.0+) or
/// `CLUSTER SLOTS` (older servers).
///
/// ```swift
/// let reply = try connection.call(["CLUSTER", "SHARDS"])
/// let topology = try ClusterTopology(shards: reply, defaultHost: "10.0.0.5")
/// let owner = topology.primary(forSlot: ClusterSlot.slot(of: "user:1"))   // host and port of a master
/// ```
/// Slots no master serves (a cluster being set up, or a failed master's while no replica has taken over)
/// have no owner.
public struct ClusterTopology: Sendable, Hashable, CustomStringConvertible {
    /// A node as the cluster announces it.
    public struct Node: Sendable, Hashable, CustomStringConvertible {
        /// The 40-character node id (empty when the reply did not say).
        public var id: String
        public var host: String
        public var port: Int
        public var isPrimary: Bool
        /// `health` of `CLUSTER SHARDS`: `online`, `failed`, `loading` (`online` from `CLUSTER SLOTS`).
        public var health: String

        public init(id: String, host: String, port: Int, isPrimary: Bool, health: String = "online") {
            self.id = id
            self.host = host
            self.port = port
            self.isPrimary = isPrimary
            self.health = health
        }

        /// `host:port` (`[host]:port` for IPv6).
        public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
        public var description: String { address }
    }

    /// A master, its slot ranges and its replicas.
    public struct Shard: Sendable, Hashable {
        public var slots: [ClosedRange<Int>]
        public var primary: Node
        public var replicas: [Node]

        public init(slots: [ClosedRange<Int>], primary: Node, replicas: [Node]) {
            self.slots = slots
            self.primary = primary
            self.replicas = replicas
        }
    }

    /// Shards with at least one slot, ordered by their first slot.
    public private(set) var shards: [Shard]
    /// Slot → index into `shards`, -1 when no master serves it.
    private var owners: [Int16]

    public init(shards: [Shard]) {
        self.shards = shards.filter { !$0.slots.isEmpty }.sorted { ($0.slots.map(\.lowerBound).min() ?? 0) < ($1.slots.map(\.lowerBound).min() ?? 0) }
        owners = [Int16](repeating: -1, count: ClusterSlot.count)
        for (i, s) in self.shards.enumerated() {
            for r in s.slots { for slot in r { owners[slot] = Int16(i) } }
        }
    }

    /// The master serving `slot`, if any.
    public func primary(forSlot slot: Int) -> Node? {
        let i = owners[slot]
        return i < 0 ? nil : shards[Int(i)].primary
    }

    /// Every master that serves a slot.
    public var primaries: [Node] { shards.map(\.primary) }

    /// Every node: masters, then replicas.
    public var nodes: [Node] { shards.map(\.primary) + shards.flatMap(\.replicas) }

    /// The number of slots no master serves.
    public var uncoveredSlots: Int { owners.reduce(0) { $0 + ($1 < 0 ? 1 : 0) } }

    /// Moves one slot to a master (after a `MOVED` reply), keeping the rest; a master not known yet
    /// becomes a shard of its own.
    public mutating func assign(slot: Int, to host: String, port: Int) {
        guard slot >= 0 && slot < ClusterSlot.count else { return }
        var list = shards
        for i in list.indices { list[i].slots = Self.removing(slot, from: list[i].slots) }
        if let i = list.firstIndex(where: { $0.primary.host == host && $0.primary.port == port }) {
            list[i].slots.append(slot...slot)
        } else {
            list.append(Shard(slots: [slot...slot], primary: Node(id: "", host: host, port: port, isPrimary: true), replicas: []))
        }
        self = ClusterTopology(shards: list)
    }

    private static func removing(_ slot: Int, from ranges: [ClosedRange<Int>]) -> [ClosedRange<Int>] {
        var out: [ClosedRange<Int>] = []
        for r in ranges {
            guard r.contains(slot) else {
                out.append(r)
                continue
            }
            if r.lowerBound < slot { out.append(r.lowerBound...(slot - 1)) }
            if slot < r.upperBound { out.append((slot + 1)...r.upperBound) }
        }
        return out
    }

    public var description: String {
        shards.map { s in
            let ranges = s.slots.sorted { $0.lowerBound < $1.lowerBound }
                .map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            return "\(s.primary) [\(ranges.joined(separator: ","))]" + (s.replicas.isEmpty ? "" : " replicas \(s.replicas.map(\.address).joined(separator: ","))")
        }.joined(separator: "; ")
    }

    // MARK: Parsing

    /// Parses a `CLUSTER SHARDS` reply (Redis 7.0+): one entry per shard, a map (RESP3) or a flat
    /// `[name, value, …]` array (RESP2) with `slots` (`[start, end, start, end, …]`) and `nodes` (maps with
    /// `id`, `endpoint`, `ip`, `port`, `tls-port`, `role`, `health`).
    ///
    /// The address of a node is its `endpoint` (the `cluster-preferred-endpoint-type`), else its `ip`; an
    /// endpoint `?` (unknown) is `defaultHost`, the host the reply came from. With `tls` the
    /// `tls-port` is used when the node announces one. A shard whose master has `health` `failed` is kept:
    /// its slots are still its own until a replica takes over.
    /// - Throws: ``RedisClientError`` `.protocolViolation` when the reply does not have that shape.
    public init(shards reply: RESPValue, defaultHost: String, tls: Bool = false) throws(RedisClientError) {
        func bad(_ why: String) -> RedisClientError { RedisClientError(.protocolViolation, "unexpected CLUSTER SHARDS reply: \(why)") }
        guard let entries = reply.elements else {
            if let e = reply.errorMessage { throw RedisClientError(.server, e, command: "CLUSTER SHARDS") }
            throw bad("not an array")
        }
        var shards: [Shard] = []
        for entry in entries {
            guard let fields = entry.fields else { throw bad("a shard is not a map") }
            guard let slotList = fields["slots"]?.elements, slotList.count % 2 == 0 else { throw bad("no slot list") }
            var slots: [ClosedRange<Int>] = []
            var i = 0
            while i < slotList.count {
                guard let a = slotList[i].int, let b = slotList[i + 1].int, a >= 0, a <= b, b < ClusterSlot.count else {
                    throw bad("a slot range is not two slot numbers")
                }
                slots.append(a...b)
                i += 2
            }
            var primary: Node?
            var replicas: [Node] = []
            for n in fields["nodes"]?.elements ?? [] {
                guard let f = n.fields else { throw bad("a node is not a map") }
                let endpoint = f["endpoint"]?.text ?? ""
                let ip = f["ip"]?.text ?? ""
                // `?`: the cluster does not say (`cluster-preferred-endpoint-type unknown-endpoint`): the host asked.
                var host = endpoint == "?" ? defaultHost : endpoint.isEmpty ? ip : endpoint
                if host.isEmpty || host == "?" { host = defaultHost }
                var port = f["port"]?.int ?? 0
                if tls, let t = f["tls-port"]?.int, t > 0 { port = t }
                guard port > 0 else { continue }  // no port to reach it on
                let role = f["role"]?.text ?? ""
                let node = Node(
                    id: f["id"]?.text ?? "", host: host, port: port, isPrimary: role == "master" || role == "primary",
                    health: f["health"]?.text ?? "online")
                if node.isPrimary { primary = node } else { replicas.append(node) }
            }
            guard let primary else {
                if slots.isEmpty { continue }
                throw bad("a shard with slots has no master")
            }
            shards.append(Shard(slots: slots, primary: primary, replicas: replicas))
        }
        self.init(shards: shards)
    }

    /// Parses a `CLUSTER SLOTS` reply (Redis 3.0–6.2, still answered by 7.x): `[start, end, master, replica…]`
    /// per range, each node `[ip, port, id, …]`. An empty or `?` ip is `defaultHost`.
    public init(slots reply: RESPValue, defaultHost: String) throws(RedisClientError) {
        func bad(_ why: String) -> RedisClientError { RedisClientError(.protocolViolation, "unexpected CLUSTER SLOTS reply: \(why)") }
        guard let entries = reply.elements else {
            if let e = reply.errorMessage { throw RedisClientError(.server, e, command: "CLUSTER SLOTS") }
            throw bad("not an array")
        }
        var byPrimary: [String: Shard] = [:]
        var order: [String] = []
        for entry in entries {
            guard let items = entry.elements, items.count >= 3, let a = items[0].int, let b = items[1].int, a >= 0, a <= b,
                b < ClusterSlot.count
            else { throw bad("a range is not [start, end, master, …]") }
            func node(_ v: RESPValue, primary: Bool) throws(RedisClientError) -> Node {
                guard let f = v.elements, f.count >= 2, let port = f[1].int else { throw bad("a node is not [ip, port, …]") }
                var host = f[0].text ?? ""
                if host.isEmpty || host == "?" { host = defaultHost }
                return Node(id: f.count > 2 ? f[2].text ?? "" : "", host: host, port: port, isPrimary: primary)
            }
            let primary = try node(items[2], primary: true)
            var replicas: [Node] = []
            for r in items.dropFirst(3) { replicas.append(try node(r, primary: false)) }
            let key = primary.id.isEmpty ? primary.address : primary.id
            if byPrimary[key] == nil {
                byPrimary[key] = Shard(slots: [], primary: primary, replicas: replicas)
                order.append(key)
            }
            byPrimary[key]?.slots.append(a...b)
        }
        self.init(shards: order.compactMap { byPrimary[$0] })
    }
}

extension RESPValue {
    /// The items of an array, set or push reply.
    var elements: [RESPValue]? {
        switch self {
        case .array(let a?): a
        case .set(let a), .push(let a): a
        default: nil
        }
    }

    /// A map reply (RESP3) or a flat `[name, value, …]` array (RESP2) by field name.
    var fields: [String: RESPValue]? {
        switch self {
        case .map(let pairs):
            var out: [String: RESPValue] = [:]
            for p in pairs { if let k = p.key.text { out[k] = p.value } }
            return out
        case .array(let items?) where items.count % 2 == 0:
            var out: [String: RESPValue] = [:]
            var i = 0
            while i < items.count {
                guard let k = items[i].text else { return nil }
                out[k] = items[i + 1]
                i += 2
            }
            return out
        default:
            return nil
        }
    }

    /// An integer reply, or a string of digits.
    var int: Int? {
        switch self {
        case .integer(let i): Int(i)
        default: text.flatMap { Int($0) }
        }
    }
}
