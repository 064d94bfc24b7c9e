import RedisClient
import RedisFormats

/// The replay's commands routed into a Redis Cluster: keys by hash slot to their masters through a
/// ``RedisClusterPipeline`` (one pipeline per master, `MOVED`/`ASK`/`TRYAGAIN` followed), function libraries
/// and `FLUSHALL` to every master, multi-key AOF commands split by slot when that keeps their meaning.
///
/// The ``Replayer`` keeps its tickets: every command sent here still gets exactly one reply through
/// `onReply` (a command split in n parts adds n - 1 replies to its ticket), so keys, AOF commands and
/// `MULTI … EXEC` blocks are counted and checkpointed as with a single server.
final class ClusterReplay {
    let pipeline: RedisClusterPipeline<Replayer.Tag>
    /// An AOF `MULTI … EXEC` block being collected: sent as a whole once its `EXEC` arrives, to the master
    /// of its one slot.
    private var transaction: (commands: [[RedisBytes]], tags: [Replayer.Tag])?

    init(
        seed: RedisConnection, options: RedisClientOptions, maximumInFlight: Int,
        onReply: @escaping (Replayer.Tag, RESPValue) -> Void
    ) throws {
        var o = options
        o.db = nil
        pipeline = try RedisClusterPipeline(seed: seed, options: o, maximumInFlight: maximumInFlight, onReply: onReply)
        pipeline.log = { Terminal.printError("rdbkit: cluster: \($0)") }
    }

    /// Replies that never reach a server (a `SELECT 0`, a refused command) go the way of real ones.
    private func answer(_ tag: Replayer.Tag, _ reply: RESPValue) throws { try pipeline.onReply(tag, reply) }

    /// Sends one command of a ticket (whose `remaining` already counts one reply for it).
    func send(_ argv: [RedisBytes], tag: Replayer.Tag) throws {
        let name = argv.first?.utf8String?.uppercased() ?? ""
        if transaction != nil {
            transaction!.commands.append(argv)
            transaction!.tags.append(tag)
            if name == "EXEC" || name == "DISCARD" { try sendTransaction() }
            return
        }
        switch name {
        case "MULTI":
            transaction = ([argv], [tag])
            return
        case "SELECT":
            // A cluster has database 0 only: SELECT is refused by every node.
            if argv.count == 2, argv[1].utf8String == "0" {
                try answer(tag, .simpleString("OK"))
            } else {
                let db = argv.count > 1 ? argv[1].utf8String ?? "?" : "?"
                try answer(
                    tag,
                    .error("ERR a cluster has database 0 only: map database \(db) with --db-map \(db):0, or leave it out with --db 0"))
            }
            return
        default:
            break
        }
        switch ClusterRouting.plan(argv) {
        case .slot(let slot):
            try pipeline.send(argv, slot: slot, tag: tag, idempotent: Self.idempotent(name, argv))
        case .anyNode:
            try pipeline.send(argv, slot: nil, tag: tag)
        case .everyPrimary:
            let n = try pipeline.broadcast(argv, tag: tag, idempotent: Self.idempotent(name, argv))
            tag.ticket.remaining += n - 1
        case .split(let parts):
            tag.ticket.remaining += parts.count - 1
            for p in parts { try pipeline.send(p.argv, slot: p.slot, tag: tag) }
        case .crossSlot(let slots):
            try answer(
                tag,
                .error(
                    "CROSSSLOT \(name) names keys in \(slots.count) hash slots (\(Self.list(slots))): a cluster cannot run it as one command and it cannot be split without changing its meaning"
                ))
        }
    }

    /// The collected `MULTI … EXEC` block: to the master of its slot, or refused when its keys span slots.
    private func sendTransaction() throws {
        guard let t = transaction else { return }
        transaction = nil
        var slots: [Int] = []
        for argv in t.commands { for s in ClusterRouting.slots(of: argv) where !slots.contains(s) { slots.append(s) } }
        guard slots.count <= 1 else {
            let message =
                "CROSSSLOT this MULTI … EXEC block names keys in \(slots.count) hash slots (\(Self.list(slots))): a cluster runs a transaction on one master, within one slot"
            for tag in t.tags { try answer(tag, .error(message)) }
            return
        }
        try pipeline.sendTransaction(t.commands, slot: slots.first, tags: t.tags)
    }

    private static func list(_ slots: [Int]) -> String {
        slots.prefix(5).map(String.init).joined(separator: ", ") + (slots.count > 5 ? ", …" : "")
    }

    /// Commands that give the same result when applied twice, sent again when a master dies before replying.
    static func idempotent(_ name: String, _ argv: [RedisBytes]) -> Bool {
        switch name {
        case "RESTORE": return argv.dropFirst(4).contains { $0.utf8String?.uppercased() == "REPLACE" }
        case "FUNCTION": return argv.count > 2 && argv[2].utf8String?.uppercased() == "REPLACE"
        case "FLUSHALL": return true
        default: return false
        }
    }

    /// One command to the master of its key, after everything queued; the reply is returned.
    func call(_ argv: [RedisBytes]) throws -> RESPValue {
        try pipeline.call(argv, slot: ClusterRouting.slots(of: argv).first)
    }

    /// `FLUSHALL` on every master, waiting for the replies.
    func flushAll() throws {
        try pipeline.drain()
        for p in pipeline.topology.primaries {
            var uri = pipeline.seed
            uri.host = p.host
            uri.port = p.port
            uri.db = nil
            let c = try RedisConnection.connectBlocking(to: uri, options: pipeline.options)
            defer { c.close() }
            let reply = try c.call(["FLUSHALL"])
            if let e = reply.errorMessage { throw RedisClientError(.server, e, command: "FLUSHALL") }
        }
    }

    /// Writes everything and waits for every final reply. A `MULTI` never closed (a truncated AOF) is not
    /// sent, as a server discards a transaction whose connection closes before `EXEC`.
    func drain() throws {
        if let t = transaction {
            transaction = nil
            for (i, tag) in t.tags.enumerated() { try answer(tag, i == 0 ? .simpleString("OK") : .simpleString("QUEUED")) }
        }
        try pipeline.drain()
    }

    /// The counters of the `--json` summary.
    var counters: [(name: String, value: Int)] {
        [
            ("cluster_masters", pipeline.topology.primaries.count), ("cluster_moved", pipeline.movedReplies),
            ("cluster_ask", pipeline.askReplies), ("cluster_retried", pipeline.retryReplies),
            ("cluster_lost_connections", pipeline.lostConnections), ("cluster_unknown_outcomes", pipeline.unknownOutcomes),
        ]
    }

    func close() { pipeline.close() }
}
