import ArgumentParser
import RedisFormats

/// `rdbkit split IN --slots`: one RDB per cluster master.
struct SplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Split an RDB by Redis Cluster hash slot: one RDB per master, loadable by a cluster node.",
        discussion: """
            Slots are CRC16(key) mod 16384, hashing only a {tag} when the key has one. Either --shards N \
            (even slot ranges: shard-0.rdb … in the output directory) or --nodes FILE (the output of \
            CLUSTER NODES or a nodes.conf: one <node id>.rdb per master with slots). Every output holds \
            db 0 only; a key in another database is an error unless --db chooses the database to split.

            EXAMPLES:
              rdbkit split dump.rdb --slots --shards 3 -o shards/
              redis-cli -p 7000 cluster nodes > nodes.txt && rdbkit split dump.rdb --slots --nodes nodes.txt -o shards/
            """
    )

    @Argument(help: "The RDB to split.")
    var input: String

    @Flag(help: "Split by cluster hash slot (the only mode).")
    var slots = false

    @Option(help: ArgumentHelp("Even slot ranges over N shards.", valueName: "n"))
    var shards: Int?

    @Option(help: ArgumentHelp("CLUSTER NODES output or nodes.conf.", valueName: "file"))
    var nodes: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Output directory.", valueName: "dir"))
    var output: String

    @Option(help: ArgumentHelp("Split this database (default: db 0, others are an error).", valueName: "n"))
    var db: UInt64?

    @Option(help: ArgumentHelp("Target server (default: the input's version).", valueName: "name"))
    var target: String?

    @Flag(name: .customLong("drop-modules"), help: "Leave out module aux records and module values.")
    var dropModules = false

    @OptionGroup var readerOptions: ReaderOptions

    func validate() throws {
        guard slots else { throw ValidationError("give --slots (splitting by hash slot is the only mode)") }
        guard (shards == nil) != (nodes == nil) else { throw ValidationError("give exactly one of --shards N and --nodes FILE") }
        if let n = shards, !(1...16384).contains(n) { throw ValidationError("--shards must be 1 to 16384") }
        if let t = target, RDBTarget.named(t) == nil { throw ValidationError("unknown target '\(t)'") }
    }

    func run() throws {
        do {
            let masters: [ClusterSlot.Master]
            if let n = shards {
                masters = ClusterSlot.evenShards(n)
            } else {
                let text = String(decoding: try ByteSources.readAll(path: nodes!, limit: 64 << 20), as: UTF8.self)
                masters = try ClusterSlot.parseNodes(text)
            }
            let first = try RDBReader(path: input, options: readerOptions.readerOptions())
            var t = target.flatMap(RDBTarget.named) ?? RDBTarget(rdbVersion: first.header.version, dialect: first.header.dialect, serverVersion: "7.0.15")
            if target == nil {
                while let r = try first.next() {
                    if case .aux(let k, let v) = r, k == "redis-ver" || k == "valkey-ver" { t.serverVersion = v.description; break }
                    if case .key = r { break }
                }
            }
            var o = RDBRewriter.Options(target: t, now: InfoCommand.nowMilliseconds())
            o.dropsModules = dropModules
            o.reader = readerOptions.readerOptions()
            let dir = output.hasSuffix("/") ? String(output.dropLast()) : output
            let shardList = masters.map { RDBRewriter.Shard(path: "\(dir)/\($0.id).rdb", slots: $0.slots) }
            let counts = try RDBRewriter.split(input: input, shards: shardList, database: db, options: o)
            var text = ""
            for (s, (m, n)) in zip(shardList, zip(masters, counts)) {
                let ranges = m.slots.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
                text += "\(s.path): \(n) keys, slots \(ranges.joined(separator: ","))\(m.address.isEmpty ? "" : " (\(m.address))")\n"
            }
            Terminal.writeAll(1, Array(text.utf8))
        } catch {
            throw reportFailure(error)
        }
    }
}
