#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import RedisFormats

/// Pipelines commands into a Redis Cluster: one pipeline per master, each command sent to the master of its
/// hash slot, redirections followed.
///
/// - `MOVED slot host:port`: the slot map is refreshed (`CLUSTER SHARDS`, or `CLUSTER SLOTS` before Redis 7)
///   and the command sent again to the new owner.
/// - `ASK slot host:port` (a slot being migrated): `ASKING` and the command are sent to that node; the slot map
///   stays as it is.
/// - `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`: sent again after a pause (20 ms, doubling up to 1 s).
/// - A connection that breaks (a master that died): the slot map is read again from any node that answers
///   and the commands that were never written are sent again, as are those the caller marked idempotent
///   (`RESTORE … REPLACE`). Any other command in flight on that connection may or may not have been applied:
///   its reply is an error `UNKNOWN …` and it is not sent again (sending it could apply it twice).
///
/// Order: before anything is sent again, every reply still owed by every node is read (a barrier), and the
/// commands to send again go out in the order they were first sent, before any later command. So the
/// commands of one slot reach the server in the order they were given, even across a `MOVED`.
///
/// Replies reach `onReply` once final (after redirections), in send order per master but not across
/// masters. After ``maximumAttempts`` redirections of one command its last reply is given as it is.
///
/// Blocking: use it from one thread that is not an event loop.
public final class RedisClusterPipeline<Tag> {
    /// How connections to the nodes are made (password, TLS, timeouts; the database must be 0).
    public let options: RedisClientOptions
    /// The node the topology was first read from (`host`, TLS and user are used for every node).
    public let seed: RedisURI
    /// Most commands sent to one master and not yet answered.
    public let maximumInFlight: Int
    public let batchSize: Int
    /// Most bytes sent to one master and not yet answered: past it, replies are read first. Every command in
    /// flight is kept (to be sent again after a redirection), so this bounds the memory big values take.
    public let maximumBytesInFlight: Int
    /// Redirections (`MOVED`, `ASK`, `TRYAGAIN`, …) or lost connections one command may go through.
    public var maximumAttempts = 60
    /// Called for every final reply.
    public var onReply: (Tag, RESPValue) throws -> Void
    /// Told about changes of the set of masters and lost connections (one line each).
    public var log: ((String) -> Void)?

    public private(set) var topology: ClusterTopology
    public private(set) var bytesSent: Int64 = 0
    public private(set) var commandsSent = 0
    /// Redirections seen: `MOVED`, `ASK`, and `TRYAGAIN`/`CLUSTERDOWN`/`LOADING`.
    public private(set) var movedReplies = 0
    public private(set) var askReplies = 0
    public private(set) var retryReplies = 0
    /// Connections to a node that broke or could not be opened, and slot map refreshes.
    public private(set) var lostConnections = 0
    public private(set) var topologyRefreshes = 0
    /// Commands whose connection broke before their reply (answered `UNKNOWN …`).
    public private(set) var unknownOutcomes = 0
    /// The most bytes one master owed replies for at once (bounded by ``maximumBytesInFlight`` plus one
    /// batch, written before the bound is checked).
    public private(set) var peakBytesInFlight = 0

    /// One command, or a `MULTI … EXEC` block: sent, redirected and sent again as a whole.
    final class Unit {
        let seq: Int
        let commands: [[RedisBytes]]
        let tags: [Tag]
        let slot: Int?
        let pinned: String?
        let idempotent: Bool
        var completion: (([RESPValue]) -> Void)?
        var asking = false
        var askTarget: String?
        var attempts = 0
        var replies: [RESPValue] = []
        init(seq: Int, commands: [[RedisBytes]], tags: [Tag], slot: Int?, pinned: String?, idempotent: Bool) {
            self.seq = seq
            self.commands = commands
            self.tags = tags
            self.slot = slot
            self.pinned = pinned
            self.idempotent = idempotent
        }
        var expected: Int { commands.count + (asking ? 1 : 0) }
    }

    /// The pipeline to one node.
    final class Link {
        let address: String
        let connection: RedisConnection
        var buffer: [UInt8] = []
        var queued: [Unit] = []
        var queuedCount = 0
        var inFlight = CircularBuffer<(future: EventLoopFuture<[RESPValue]>, units: [Unit], count: Int, bytes: Int)>()
        var inFlightCount = 0
        var inFlightBytes = 0
        init(address: String, connection: RedisConnection) {
            self.address = address
            self.connection = connection
        }
    }

    private var links: [String: Link] = [:]
    private var retries: [Unit] = []
    private var stale = false
    private var backoff = false
    private var nextSeq = 0
    private var recovering = false

    /// Reads the slot map through `connection` (a node of the cluster, kept open by the caller).
    /// - Throws: ``RedisClientError`` when the node is not in cluster mode or its reply is not a slot map.
    @available(*, noasync)
    public init(
        seed connection: RedisConnection, options: RedisClientOptions, maximumInFlight: Int = 1024, batchSize: Int = 128,
        maximumBytesInFlight: Int = 16 << 20, onReply: @escaping (Tag, RESPValue) throws -> Void
    ) throws(RedisClientError) {
        precondition(maximumInFlight > 0 && batchSize > 0, "a pipeline needs room for a command")
        self.seed = connection.uri
        self.options = options
        self.maximumInFlight = maximumInFlight
        self.maximumBytesInFlight = max(maximumBytesInFlight, 1 << 20)
        self.batchSize = min(batchSize, maximumInFlight)
        self.onReply = onReply
        topology = try Self.readTopology(connection, host: connection.uri.host, tls: connection.uri.usesTLS)
        guard !topology.shards.isEmpty else {
            throw RedisClientError(.server, "the cluster has no master with slots", command: "CLUSTER SHARDS")
        }
    }

    /// `CLUSTER SHARDS`, or `CLUSTER SLOTS` when the server does not know it (before 7.0).
    @available(*, noasync)
    public static func readTopology(_ c: RedisConnection, host: String, tls: Bool) throws(RedisClientError) -> ClusterTopology {
        let shards = try c.call(["CLUSTER", "SHARDS"])
        if let e = shards.errorMessage {
            guard e.lowercased().contains("unknown subcommand") || e.lowercased().contains("unknown command") else {
                throw RedisClientError(.server, e, command: "CLUSTER SHARDS")
            }
            return try ClusterTopology(slots: try c.call(["CLUSTER", "SLOTS"]), defaultHost: host)
        }
        return try ClusterTopology(shards: shards, defaultHost: host, tls: tls)
    }

    // MARK: Sending

    /// Queues a command for the master of `slot` (nil: any master). `idempotent` commands (`RESTORE … REPLACE`)
    /// are sent again when their connection breaks before the reply.
    @available(*, noasync)
    public func send(_ argv: [RedisBytes], slot: Int?, tag: Tag, idempotent: Bool = false) throws {
        try submit(unit([argv], tags: [tag], slot: slot, pinned: nil, idempotent: idempotent))
    }

    /// Queues a `MULTI … EXEC` block (the commands include `MULTI` and `EXEC`) for the master of `slot`;
    /// redirected as a whole (a redirected command inside aborts the transaction with `EXECABORT`).
    @available(*, noasync)
    public func sendTransaction(_ commands: [[RedisBytes]], slot: Int?, tags: [Tag]) throws {
        precondition(commands.count == tags.count, "one tag per command")
        try submit(unit(commands, tags: tags, slot: slot, pinned: nil, idempotent: false))
    }

    /// Queues a command for every master (`FUNCTION LOAD`, `FLUSHALL`); `onReply` gets one reply per master.
    /// - Returns: the number of masters (of replies to come).
    @available(*, noasync)
    public func broadcast(_ argv: [RedisBytes], tag: Tag, idempotent: Bool = false) throws -> Int {
        let primaries = topology.primaries
        for p in primaries { try submit(unit([argv], tags: [tag], slot: nil, pinned: p.address, idempotent: idempotent)) }
        return primaries.count
    }

    /// Sends one command to the master of `slot` after everything queued and returns its final reply (not
    /// given to `onReply`).
    @available(*, noasync)
    public func call(_ argv: [RedisBytes], slot: Int?) throws -> RESPValue {
        try drain()
        var result: RESPValue = .error("ERR no reply")
        let u = unit([argv], tags: [], slot: slot, pinned: nil, idempotent: false)
        u.completion = { result = $0.first ?? .null }
        try submit(u)
        try drain()
        return result
    }

    /// Writes what is queued and reads every reply, following redirections until none is left.
    @available(*, noasync)
    public func drain() throws {
        try barrier()
    }

    /// Closes every connection.
    public func close() {
        for l in links.values { l.connection.close() }
        links = [:]
    }

    private func unit(_ commands: [[RedisBytes]], tags: [Tag], slot: Int?, pinned: String?, idempotent: Bool) -> Unit {
        nextSeq += 1
        return Unit(seq: nextSeq, commands: commands, tags: tags, slot: slot, pinned: pinned, idempotent: idempotent)
    }

    @available(*, noasync)
    private func submit(_ u: Unit) throws {
        try enqueue(u)
        if !retries.isEmpty && !recovering { try barrier() }
    }

    /// Routes a unit to its node and queues it there.
    @available(*, noasync)
    private func enqueue(_ u: Unit) throws {
        let address: String
        if let a = u.askTarget ?? u.pinned {
            address = a
        } else if let slot = u.slot {
            guard let owner = topology.primary(forSlot: slot) else {
                try retryLater(u, reply: .error("CLUSTERDOWN Hash slot \(slot) not served (no master in the slot map)"))
                return
            }
            address = owner.address
        } else {
            guard let any = topology.primaries.first else {
                try retryLater(u, reply: .error("CLUSTERDOWN no master in the slot map"))
                return
            }
            address = any.address
        }
        guard let link = link(to: address) else {
            try retryLater(u, reply: .error("CLUSTERDOWN cannot connect to \(address)"))
            return
        }
        u.asking = u.askTarget != nil
        u.askTarget = nil
        if u.asking { RESPEncoder.encode([Array("ASKING".utf8)], into: &link.buffer) }
        for argv in u.commands { RESPEncoder.encode(argv.map(\.bytes), into: &link.buffer) }
        link.queued.append(u)
        link.queuedCount += u.expected
        if link.queuedCount >= batchSize || link.buffer.count >= 1 << 20 { try flush(link) }
    }

    /// A unit that could not be routed now: sent again after a pause and a fresh slot map, or answered with
    /// `reply` once it has used its attempts.
    @available(*, noasync)
    private func retryLater(_ u: Unit, reply: RESPValue) throws {
        u.attempts += 1
        guard u.attempts <= maximumAttempts else {
            u.replies = u.commands.map { _ in reply }
            try deliver(u)
            return
        }
        stale = true
        backoff = true
        retries.append(u)
    }

    /// The connection to a node, opened when needed; nil when it cannot be opened.
    @available(*, noasync)
    private func link(to address: String) -> Link? {
        if let l = links[address] { return l }
        guard let (host, port) = Self.split(address) else { return nil }
        var uri = seed
        uri.host = host
        uri.port = port
        uri.db = nil
        do {
            let c = try RedisConnection.connectBlocking(to: uri, options: options)
            let l = Link(address: address, connection: c)
            l.buffer.reserveCapacity(64 * 1024)
            links[address] = l
            return l
        } catch {
            lostConnections += 1
            log?("cannot connect to \(address): \(error)")
            return nil
        }
    }

    static func split(_ address: String) -> (String, Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { return nil }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    /// Writes a node's queued commands, then reads its replies until at most `maximumInFlight` are owed.
    @available(*, noasync)
    private func flush(_ link: Link) throws {
        if !link.queued.isEmpty {
            bytesSent += Int64(link.buffer.count)
            commandsSent += link.queuedCount
            var bytes = link.connection.channel.allocator.buffer(capacity: link.buffer.count)
            bytes.writeBytes(link.buffer)
            let future = link.connection.submit(buffer: bytes, count: link.queuedCount)
            link.inFlight.append((future, link.queued, link.queuedCount, link.buffer.count))
            link.inFlightCount += link.queuedCount
            link.inFlightBytes += link.buffer.count
            peakBytesInFlight = max(peakBytesInFlight, link.inFlightBytes)
            link.queued = []
            link.queuedCount = 0
            link.buffer.removeAll(keepingCapacity: true)
        }
        while link.inFlightCount > maximumInFlight || (link.inFlightBytes > maximumBytesInFlight && link.inFlight.count > 1),
            links[link.address] === link
        {
            try completeOldest(link)
        }
    }

    @available(*, noasync)
    private func completeOldest(_ link: Link) throws {
        guard let batch = link.inFlight.popFirst() else { return }
        link.inFlightCount -= batch.count
        link.inFlightBytes -= batch.bytes
        let replies: [RESPValue]
        do {
            replies = try batch.future.wait()
        } catch {
            try lost(link, RedisConnection.mapped(error), first: batch.units)
            return
        }
        var i = 0
        for u in batch.units {
            let n = u.expected
            try evaluate(u, Array(replies[i..<(i + n)]))
            i += n
        }
    }

    /// A node's connection broke: what it never wrote, and idempotent commands, are sent again; other
    /// commands in flight are answered `UNKNOWN`.
    @available(*, noasync)
    private func lost(_ link: Link, _ error: RedisClientError, first: [Unit]) throws {
        lostConnections += 1
        log?("lost the connection to \(link.address): \(error)")
        links[link.address] = nil
        link.connection.close()
        var inFlight = first
        while let b = link.inFlight.popFirst() { inFlight += b.units }
        link.inFlightCount = 0
        link.inFlightBytes = 0
        let neverWritten = link.queued
        link.queued = []
        link.queuedCount = 0
        link.buffer = []
        stale = true
        backoff = true
        for u in inFlight {
            if u.idempotent || u.completion != nil {
                try retryLater(u, reply: .error("UNKNOWN connection to \(link.address) lost: \(error.message)"))
            } else {
                unknownOutcomes += 1
                let message = "UNKNOWN the connection to \(link.address) broke before the reply (\(error.message)): the command may or may not have been applied"
                u.replies = u.commands.map { _ in .error(message) }
                try deliver(u)
            }
        }
        for u in neverWritten { try retryLater(u, reply: .error("UNKNOWN connection to \(link.address) lost: \(error.message)")) }
    }

    enum Redirect {
        case moved(slot: Int, address: String)
        case ask(address: String)
        case later
    }

    /// Reads a redirection out of an error reply.
    func redirect(_ message: String) -> Redirect? {
        let parts = message.split(separator: " ")
        guard let head = parts.first else { return nil }
        switch head {
        case "MOVED", "ASK":
            guard parts.count >= 3, let slot = Int(parts[1]) else { return nil }
            var address = String(parts[2])
            if address.hasPrefix(":") { address = (seed.host.contains(":") ? "[\(seed.host)]" : seed.host) + address }
            return head == "MOVED" ? .moved(slot: slot, address: address) : .ask(address: address)
        case "TRYAGAIN", "CLUSTERDOWN", "LOADING":
            return .later
        default:
            return nil
        }
    }

    @available(*, noasync)
    private func evaluate(_ u: Unit, _ replies: [RESPValue]) throws {
        u.replies = u.asking ? Array(replies.dropFirst()) : replies
        var found: Redirect?
        for r in u.replies {
            if let e = r.errorMessage, let d = redirect(e) {
                found = d
                break
            }
        }
        guard let found, u.attempts < maximumAttempts else {
            try deliver(u)
            return
        }
        u.attempts += 1
        switch found {
        case .moved(let slot, let address):
            movedReplies += 1
            if let (host, port) = Self.split(address), topology.primary(forSlot: slot)?.address != address {
                topology.assign(slot: slot, to: host, port: port)
            }
            stale = true
        case .ask(let address):
            askReplies += 1
            u.askTarget = address
        case .later:
            retryReplies += 1
            backoff = true
        }
        retries.append(u)
    }

    @available(*, noasync)
    private func deliver(_ u: Unit) throws {
        if let c = u.completion {
            c(u.replies)
            return
        }
        for (tag, reply) in zip(u.tags, u.replies) { try onReply(tag, reply) }
    }

    /// Every reply in from every node; then redirected commands sent again in their first send order, after
    /// a pause and a fresh slot map when needed, until none is left.
    @available(*, noasync)
    private func barrier() throws {
        guard !recovering else { return }
        recovering = true
        defer { recovering = false }
        var pause = 0.02
        while true {
            var owed = true
            while owed {
                owed = false
                for link in Array(links.values) {
                    try flush(link)
                    while !link.inFlight.isEmpty, links[link.address] === link { try completeOldest(link) }
                }
                owed = links.values.contains { !$0.queued.isEmpty || !$0.inFlight.isEmpty }
            }
            if retries.isEmpty { return }
            if backoff {
                usleep(UInt32(pause * 1e6))
                pause = min(pause * 2, 1)
                backoff = false
            }
            if stale {
                refresh()
                stale = false
            }
            let again = retries.sorted { $0.seq < $1.seq }
            retries = []
            for u in again { try enqueue(u) }
        }
    }

    /// Reads the slot map again from the first node that answers (masters, then replicas, then the seed).
    @available(*, noasync)
    private func refresh() {
        var candidates = topology.primaries.map(\.address) + topology.nodes.filter { !$0.isPrimary }.map(\.address)
        candidates.append(seed.host.contains(":") ? "[\(seed.host)]:\(seed.port)" : "\(seed.host):\(seed.port)")
        var seen: Set<String> = []
        for address in candidates where seen.insert(address).inserted {
            // Links are idle here (a barrier read every reply); other nodes get a connection for the question.
            let existing = links[address]
            var temporary: RedisConnection?
            let connection: RedisConnection
            if let existing {
                connection = existing.connection
            } else {
                guard let (host, port) = Self.split(address) else { continue }
                var uri = seed
                uri.host = host
                uri.port = port
                uri.db = nil
                guard let c = try? RedisConnection.connectBlocking(to: uri, options: options) else { continue }
                temporary = c
                connection = c
            }
            defer { temporary?.close() }
            guard let t = try? Self.readTopology(connection, host: Self.split(address)?.0 ?? seed.host, tls: seed.usesTLS),
                !t.shards.isEmpty
            else { continue }
            topologyRefreshes += 1
            // Masters that come or go are news; slots moving between known masters (a reshard) are not.
            if Set(t.primaries.map(\.address)) != Set(topology.primaries.map(\.address)) { log?("masters now: \(t)") }
            topology = t
            return
        }
        log?("no node of the cluster answered CLUSTER SHARDS; keeping the slot map")
    }
}
