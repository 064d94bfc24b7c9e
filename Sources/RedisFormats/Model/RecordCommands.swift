/// Turns records into the commands that rebuild them, as an AOF rewrite writes them: one place shared
/// by AOF export (and, later, replay and the embedded keyspace).
///
/// Collections go in batches of at most `batch` elements per command (`RPUSH`, `SADD`, `ZADD`, `HSET`),
/// then `PEXPIREAT` and `HPEXPIREAT`; streams as `XADD`, `XSETID`, `XGROUP CREATE`, `XCLAIM … JUSTID
/// FORCE` and `XGROUP CREATECONSUMER`; module values as `RESTORE` with their DUMP payload.
public struct RecordCommands: Sendable {
    /// Use the Redis 7.0+ forms (`XSETID … ENTRIESADDED … MAXDELETEDID`, `XGROUP CREATE … ENTRIESREAD`).
    public var redis7Syntax = true
    /// The most elements per command.
    public var batch = 1000
    /// The RDB version written in RESTORE payloads (module values).
    public var dumpVersion: UInt16 = 10

    public init() {}

    private static func b(_ s: String) -> RedisBytes { RedisBytes(s) }

    /// `SELECT db`.
    public func select(_ db: UInt64) -> [RedisBytes] { [Self.b("SELECT"), Self.b(String(db))] }

    /// `FUNCTION LOAD code`.
    public func functionLoad(_ code: RedisBytes) -> [RedisBytes] { [Self.b("FUNCTION"), Self.b("LOAD"), code] }

    /// The commands that rebuild one key.
    public func commands(key: RedisBytes, value: RedisValue, expiresAt: RedisTimestamp?) -> [[RedisBytes]] {
        var out: [[RedisBytes]] = []
        func batched(_ head: [RedisBytes], _ items: [[RedisBytes]]) {
            var i = 0
            while i < items.count {
                let chunk = items[i..<min(items.count, i + batch)]
                out.append(head + chunk.flatMap { $0 })
                i += batch
            }
        }
        switch value {
        case .string(let s):
            out.append([Self.b("SET"), key, s])
        case .list(let items):
            batched([Self.b("RPUSH"), key], items.map { [$0] })
        case .set(let members):
            batched([Self.b("SADD"), key], members.map { [$0] })
        case .sortedSet(let entries):
            batched([Self.b("ZADD"), key], entries.map { [Self.b(Self.scoreText($0.score)), $0.member] })
        case .hash(let fields):
            batched([Self.b("HSET"), key], fields.map { [$0.field, $0.value] })
            var byTime: [Int64: [RedisBytes]] = [:]
            for f in fields { if let x = f.expiresAt { byTime[x.milliseconds, default: []].append(f.field) } }
            for (ms, names) in byTime.sorted(by: { $0.key < $1.key }) {
                var i = 0
                while i < names.count {
                    let chunk = Array(names[i..<min(names.count, i + batch)])
                    out.append([Self.b("HPEXPIREAT"), key, Self.b(String(ms)), Self.b("FIELDS"), Self.b(String(chunk.count))] + chunk)
                    i += batch
                }
            }
        case .stream(let s):
            out += streamCommands(key: key, stream: s)
        case .module(let m):
            var payload = [RDBValueType.module2.byte]
            RDBEncoding.appendLength(m.type.id, to: &payload)
            payload += m.raw
            out.append([Self.b("RESTORE"), key, Self.b("0"), RedisBytes(Self.dumpPayload(payload, version: dumpVersion))])
        case .array(let elements):
            // No command writes a Redis 8.8 array element by index here; keep the values in order.
            batched([Self.b("RPUSH"), key], elements.map { [$0.value] })
        }
        if let x = expiresAt { out.append([Self.b("PEXPIREAT"), key, Self.b(String(x.milliseconds))]) }
        return out
    }

    /// A DUMP payload: type byte and value, the RDB version (u16 LE) and the CRC64 of all before it.
    public static func dumpPayload(_ typeAndValue: [UInt8], version: UInt16) -> [UInt8] {
        var p = typeAndValue
        p.append(UInt8(version & 0xFF))
        p.append(UInt8(version >> 8))
        let crc = CRC64.checksum(p)
        RDBEncoding.appendLittleEndian(crc, bytes: 8, to: &p)
        return p
    }

    /// A score as text a server parses back to the same double.
    public static func scoreText(_ d: Double) -> String {
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        if d == d.rounded() && abs(d) < 1e15 && !(d == 0 && d.sign == .minus) { return String(Int64(d)) }
        return d.description
    }

    func streamCommands(key: RedisBytes, stream s: RedisStream) -> [[RedisBytes]] {
        var out: [[RedisBytes]] = []
        let b = Self.b
        if s.entries.isEmpty {
            // Creates the stream with a throw-away entry 0-1 trimmed at once; XSETID then sets the last ID
            // (what an AOF rewrite does).
            out.append([b("XADD"), key, b("MAXLEN"), b("0"), b("0-1"), b("x"), b("y")])
        } else {
            for e in s.entries {
                out.append([b("XADD"), key, b(e.id.description)] + e.fields.flatMap { [$0.name, $0.value] })
            }
        }
        let m = s.metadata
        if redis7Syntax {
            out.append([
                b("XSETID"), key, b(m.lastID.description), b("ENTRIESADDED"), b(String(m.entriesAdded ?? UInt64(s.entries.count))),
                b("MAXDELETEDID"), b((m.maxDeletedEntryID ?? .zero).description),
            ])
        } else {
            out.append([b("XSETID"), key, b(m.lastID.description)])
        }
        for g in s.groups {
            var create = [b("XGROUP"), b("CREATE"), key, g.name, b(g.lastDeliveredID.description)]
            if redis7Syntax, let r = g.entriesRead { create += [b("ENTRIESREAD"), b(String(r))] }
            out.append(create)
            for p in g.pending {
                guard let consumer = p.consumer else { continue }
                out.append([
                    b("XCLAIM"), key, g.name, consumer, b("0"), b(p.id.description), b("TIME"), b(String(p.deliveryTime.milliseconds)),
                    b("RETRYCOUNT"), b(String(p.deliveryCount)), b("JUSTID"), b("FORCE"),
                ])
            }
            for c in g.consumers where c.pending.isEmpty {
                out.append([b("XGROUP"), b("CREATECONSUMER"), key, g.name, c.name])
            }
        }
        return out
    }

    /// A command as RESP: `*<argc>\r\n` then `$<len>\r\n<bytes>\r\n` per argument.
    public static func resp(_ argv: [RedisBytes], into out: inout [UInt8]) {
        RESPWriter.appendArrayHeader(argv.count, to: &out)
        for a in argv { RESPWriter.appendBulk(a.bytes, to: &out) }
    }
}
