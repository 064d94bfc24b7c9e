import Foundation
import RedisFormats
import Testing
import _RedisFormatsTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// `AOFRepair` in `.salvage` mode against a real server: corrupted copies of corpus AOFs are salvaged, the
// result is loaded into one redis-server, and the original (undamaged) AOF minus exactly the commands the
// plan dropped into another; both keyspaces must be identical. Servers run on 127.0.0.1 only, on free
// ephemeral ports, and are killed at the end of each test.

extension LiveConnection {
    /// Every live key of every database: type, `DEBUG DIGEST-VALUE` (order-independent for hash tables),
    /// absolute expiry, and for streams the consumer groups. SCAN also deletes keys that have expired.
    func keyspace(databases: Int = 16) throws -> [String: String] {
        var out: [String: String] = [:]
        for db in 0..<databases {
            guard case .simple("OK") = try call(["SELECT", "\(db)"]) else { throw Failure(description: "SELECT \(db)") }
            var cursor = "0"
            var keys: [[UInt8]] = []
            repeat {
                guard case .array(let parts?) = try call(["SCAN", cursor, "COUNT", "1000"]), parts.count == 2,
                    case .bulk(let c?) = parts[0], case .array(let page?) = parts[1]
                else { throw Failure(description: "bad SCAN reply") }
                cursor = String(decoding: c, as: UTF8.self)
                for k in page { if case .bulk(let key?) = k { keys.append(key) } }
            } while cursor != "0"
            for key in keys {
                let type = try call([RedisBytes("TYPE"), RedisBytes(key)])
                let digest = try call([RedisBytes("DEBUG"), RedisBytes("DIGEST-VALUE"), RedisBytes(key)])
                let expire = try call([RedisBytes("PEXPIRETIME"), RedisBytes(key)])
                var entry = "type=\(type) digest=\(digest) expire=\(expire)"
                if case .simple("stream") = type {
                    entry += " groups=\(try call([RedisBytes("XINFO"), RedisBytes("GROUPS"), RedisBytes(key)]))"
                    if case .array(let info?) = try call([RedisBytes("XINFO"), RedisBytes("STREAM"), RedisBytes(key)]) {
                        // Length, ids and counters (not the first/last entries' contents: the digest has them).
                        var fields: [String] = []
                        var i = 0
                        while i + 1 < info.count {
                            if case .bulk(let name?) = info[i], let n = String(bytes: name, encoding: .utf8),
                                !["first-entry", "last-entry", "radix-tree-keys", "radix-tree-nodes"].contains(n)
                            {
                                fields.append("\(n)=\(info[i + 1])")
                            }
                            i += 2
                        }
                        entry += " stream=\(fields.joined(separator: ","))"
                    }
                }
                out["db\(db) \(RedisBytes(key).escapedDescription)"] = entry
            }
        }
        return out
    }
}

@Suite(
    "Salvage against a live redis-server",
    .enabled(if: LiveServerKind.redis70.isInstalled, "redis-server is not installed: `command -v redis-server` finds nothing"),
    .serialized)
struct SalvageLiveServerTests {
    enum Damage: String, Sendable {
        /// ~20 bytes overwritten from inside a bulk payload through its CRLF.
        case payload
        /// ~20 bytes overwritten inside a `*<argc>` line (the `*` kept).
        case header
        /// 30 garbage bytes inserted between two commands.
        case insertion
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var variant: String
        var damage: Damage
        /// Split the last incr file in two and damage the first one.
        var twoIncrFiles = false
        var testDescription: String { "\(variant) \(damage.rawValue)\(twoIncrFiles ? " in the first of two incr files" : "")" }
    }

    static let cases: [Case] =
        ["redis-7.0.15/aof/aof-nopreamble", "redis-7.0.15/aof/aof-timestamp", "redis-6.2/aof/aof-nopreamble"].flatMap { v in
            [Damage.payload, .header, .insertion].map { Case(variant: v, damage: $0) }
        } + [
            Case(variant: "redis-7.0.15/aof/aof-nopreamble", damage: .payload, twoIncrFiles: true),
            Case(variant: "redis-7.0.15/aof/aof-nopreamble", damage: .insertion, twoIncrFiles: true),
            Case(variant: "redis-7.0.15/aof/aof-timestamp", damage: .header, twoIncrFiles: true),
        ]

    static let garbage = Array("XXXXXXXXXXXXXXXXXXXX".utf8)  // 20 bytes, no '*', '$', '#', CR or LF
    static let insertedGarbage = Array("GARBAGE-GARBAGE-GARBAGE-GARB\r\n".utf8)  // 30 bytes

    /// Where the AOF of a variant copy is: `<root>/appendonlydir` or `<root>/appendonly.aof`.
    static func entry(_ root: String) -> String {
        AOFFixtures.isDirectory("\(root)/appendonlydir") ? "\(root)/appendonlydir" : "\(root)/appendonly.aof"
    }

    /// Starts a server on the AOF under `root` (a copy is loaded, so the server may write freely).
    static func startServer(loading root: String, in tmp: TemporaryDirectory, name: String) throws -> LiveServer {
        let dir = try tmp.copy(root, to: name)
        // A single appendonly.aof (6.x) without an appendonlydir: redis 7 loads it as the base of a new
        // appendonlydir (its upgrade path).
        return try LiveServer(
            .redis70, directory: dir,
            arguments: [
                "--appendonly", "yes", "--enable-debug-command", "yes", "--appenddirname", "appendonlydir",
                "--appendfilename", "appendonly.aof",
            ])
    }

    @Test("Salvaged AOF loads to the keyspace of the original minus exactly the dropped commands", arguments: cases)
    func salvageMatchesReference(c: Case) throws {
        let tmp = try TemporaryDirectory("salvage-live")
        defer { tmp.remove() }
        // The original, possibly re-laid out with two incr files.
        let original = try tmp.copy(Corpus.fixture(c.variant), to: "original")
        if c.twoIncrFiles { _ = try AOFLayoutTools.splitLastIncr(directory: "\(original)/appendonlydir") }
        #expect(AOFChecker.check(path: Self.entry(original), now: nowMilliseconds()).isValid)

        // Which file to damage: the last incr file (or the first of two), or the single file.
        let files = try AOFReader(path: Self.entry(original)).files
        let target = try #require(c.twoIncrFiles ? files.filter { $0.role == .incremental }.first : files.last)
        let relative = String(target.path.dropFirst(original.count + 1))

        let damagedRoot = try tmp.copy(original, to: "damaged")
        let damagedPath = "\(damagedRoot)/\(relative)"
        let damagedRange: Range<Int64>
        var inserted: (at: Int64, count: Int64)?
        switch c.damage {
        case .payload:
            let at = try AOFLayoutTools.payloadOffset(in: damagedPath, length: Self.garbage.count)
            try AOFLayoutTools.overwrite(damagedPath, at: at, with: Self.garbage)
            damagedRange = at..<(at + Int64(Self.garbage.count))
        case .header:
            let at = try AOFLayoutTools.headerOffset(in: damagedPath) + 1
            try AOFLayoutTools.overwrite(damagedPath, at: at, with: Self.garbage)
            damagedRange = at..<(at + Int64(Self.garbage.count))
        case .insertion:
            let at = try AOFLayoutTools.commandBoundary(in: Self.entry(original), file: target.name)
            try AOFLayoutTools.insert(damagedPath, at: at, Self.insertedGarbage)
            damagedRange = at..<(at + Int64(Self.insertedGarbage.count))
            inserted = (at, Int64(Self.insertedGarbage.count))
        }
        let damagedName = try AOFReader(path: Self.entry(damagedRoot)).files.first { $0.path == damagedPath }?.name ?? target.name

        // Salvage.
        let report = AOFChecker.check(path: Self.entry(damagedRoot), now: nowMilliseconds())
        #expect(!report.isValid, "the damage must be detectable")
        let plan = AOFRepair.plan(report, mode: .salvage)
        #expect(plan.refusal == nil, "\(plan.refusal ?? "")")
        var drops: [Range<Int64>] = []
        for change in plan.changes {
            guard case .rewrite(let f, _, let d) = change else {
                Issue.record("salvage planned a truncation: \(change)")
                continue
            }
            #expect(f.name == damagedName, "salvage changes only the damaged file")
            if f.name == damagedName { drops += d.map(\.range) }
        }
        #expect(!drops.isEmpty)
        // No damaged byte is kept.
        for x in damagedRange {
            #expect(drops.contains { $0.contains(x) }, "damaged byte at \(x) kept; drops: \(drops)")
            if !drops.contains(where: { $0.contains(x) }) { break }
        }
        try AOFRepair.apply(plan, backup: .none)
        let after = AOFChecker.check(path: Self.entry(damagedRoot), now: nowMilliseconds())
        #expect(after.isValid, "salvaged AOF: \(after.firstInvalid?.analysis?.error ?? after.fatal?.message ?? "?")")

        // The reference: the original minus the commands that overlap a dropped range (mapped back to
        // offsets of the original file).
        func toOriginal(_ x: Int64) -> Int64 {
            guard let ins = inserted else { return x }
            if x <= ins.at { return x }
            if x >= ins.at + ins.count { return x - ins.count }
            return ins.at
        }
        let mapped = drops.map { toOriginal($0.lowerBound)..<toOriginal($0.upperBound) }
        let spans = try AOFLayoutTools.commandSpans(Self.entry(original)).filter { $0.file == target.name }
        let removed = spans.filter { s in mapped.contains { $0.lowerBound < s.range.upperBound && s.range.lowerBound < $0.upperBound } }
        if c.damage != .insertion { #expect(!removed.isEmpty) }
        // Only the damaged commands go, with the MULTI/EXEC block around them: every dropped range lies
        // between the start of the first command the damage touches and the end of the last one, widened
        // to a transaction that encloses them.
        let damagedInOriginal = toOriginal(damagedRange.lowerBound)..<toOriginal(damagedRange.upperBound)
        let touched = spans.filter { damagedInOriginal.lowerBound < $0.range.upperBound && $0.range.lowerBound < damagedInOriginal.upperBound }
        var allowed = (touched.first?.range.lowerBound ?? damagedInOriginal.lowerBound)..<(touched.last?.range.upperBound ?? damagedInOriginal.upperBound)
        var transactionStart: Int64?
        for s in spans {
            if s.name == "multi" { transactionStart = s.range.lowerBound }
            if s.name == "exec", let start = transactionStart {
                let tx = start..<s.range.upperBound
                if tx.lowerBound < max(allowed.upperBound, allowed.lowerBound + 1) && allowed.lowerBound < tx.upperBound {
                    allowed = min(allowed.lowerBound, tx.lowerBound)..<max(allowed.upperBound, tx.upperBound)
                }
                transactionStart = nil
            }
        }
        let beyond = mapped.filter { !$0.isEmpty && !(allowed.lowerBound <= $0.lowerBound && $0.upperBound <= allowed.upperBound) }
        #expect(beyond.isEmpty, "undamaged commands dropped: \(beyond) (damage at \(damagedInOriginal), allowed \(allowed)): \(removed.filter { r in beyond.contains { $0.overlaps(r.range) } }.map { "\($0.name)@\($0.range.lowerBound)" })")
        let referenceRoot = try tmp.copy(original, to: "reference")
        let referencePath = "\(referenceRoot)/\(relative)"
        var bytes = FileTree.bytes(referencePath)
        for s in removed.sorted(by: { $0.range.lowerBound > $1.range.lowerBound }) {
            bytes.removeSubrange(Int(s.range.lowerBound)..<Int(s.range.upperBound))
        }
        try Data(bytes).write(to: URL(fileURLWithPath: referencePath))
        #expect(AOFChecker.check(path: Self.entry(referenceRoot), now: nowMilliseconds()).isValid, "the reference is a valid AOF")

        // Load both into real servers and compare.
        let serverA = try Self.startServer(loading: damagedRoot, in: tmp, name: "server-salvaged")
        defer { serverA.stop() }
        let serverB = try Self.startServer(loading: referenceRoot, in: tmp, name: "server-reference")
        defer { serverB.stop() }
        let a = try LiveConnection(port: serverA.port)
        let b = try LiveConnection(port: serverB.port)
        let keysA = try a.keyspace()
        let keysB = try b.keyspace()
        #expect(keysA.count > 10, "the salvaged AOF loaded: \(serverA.log())")
        #expect(keysA.count == keysB.count)
        let differing = Set(keysA.keys).union(keysB.keys).filter { keysA[$0] != keysB[$0] }.sorted()
        #expect(differing.isEmpty, "\(differing.prefix(5).map { "\($0): salvaged \(keysA[$0] ?? "missing") / reference \(keysB[$0] ?? "missing")" })")
        let digestA = try a.call(["DEBUG", "DIGEST"])
        let digestB = try b.call(["DEBUG", "DIGEST"])
        #expect(digestA == digestB)
        #expect(digestA != .simple(String(repeating: "0", count: 40)))
    }
}
