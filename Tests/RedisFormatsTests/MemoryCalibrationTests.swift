import Foundation
import RedisFormats
import Testing
import _RedisFormatsTestSupport

/// What MEMORY USAGE said of each key of a corpus file, with the file's allocator.
private struct MemoryTruth {
    var allocator: MemoryAllocator
    /// "db\u{0}key" → (memory_usage, type, encoding).
    var keys: [String: (usage: Int, type: String, encoding: String)] = [:]

    init(expectedPath: String) throws {
        let data = Data(try Corpus.readBytes(expectedPath))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        // INFO says jemalloc or libc; which jemalloc build is not visible there: Debian's 7.0 links the
        // system libjemalloc (16-byte quantum), the wheels and Redis Stack bundle Redis's (8-byte quantum).
        let info = root["info_memory"] as? [String: Any]
        let name = info?["mem_allocator"] as? String ?? "jemalloc"
        allocator = name.hasPrefix("libc") ? .libc : (expectedPath.contains("/redis-7.0.15/") ? .jemallocSystem : .jemalloc)
        let dbs = root["databases"] as? [String: [String: [String: Any]]] ?? [:]
        for (db, entries) in dbs {
            for (name, entry) in entries {
                guard let usage = ExpectedContent.int64(entry["memory_usage"]) else { continue }
                var keyBytes = Array(name.utf8)
                if let b64 = entry["key_b64"] as? String, let d = Data(base64Encoded: b64) { keyBytes = Array(d) }
                keys[db + "\u{0}" + String(decoding: keyBytes, as: UTF8.self)] = (
                    Int(usage), entry["type"] as? String ?? "?", entry["encoding"] as? String ?? "?"
                )
            }
        }
    }
}

/// Accuracy of the estimates of one file.
private struct Accuracy {
    var keys = 0
    var withinTenPercent = 0
    var estimated = 0
    var actual = 0
    var byGroup: [String: (n: Int, ok: Int, est: Int, act: Int)] = [:]
    var typeMismatches = 0
    /// Module values: their figure is the serialized size, not the module's own accounting.
    var roughKeys = 0

    var share: Double { keys == 0 ? 0 : Double(withinTenPercent) * 100 / Double(keys) }
    var totalError: Double { actual == 0 ? 0 : Double(estimated - actual) * 100 / Double(actual) }

    func report(_ title: String) -> String {
        var s = String(format: "%@: %d keys, %.1f %% within ±10 %%, total %+.2f %% (%d rough module keys left out)\n", title, keys, share, totalError, roughKeys)
        for (g, v) in byGroup.sorted(by: { $0.key < $1.key }) {
            s += String(format: "    %-22@ %6d keys  %5.1f %% within ±10 %%  total %+6.2f %%\n", g, v.n, Double(v.ok) * 100 / Double(v.n),
                        v.act == 0 ? 0 : Double(v.est - v.act) * 100 / Double(v.act))
        }
        return s
    }
}

private func measure(_ relative: String) throws -> (Accuracy, MemoryModel) {
    let path = Corpus.fixture(relative)
    let truth = try MemoryTruth(expectedPath: try #require(Corpus.expectedPath(forRDB: path)))
    let reader = try RDBReader(path: path)
    var redisVersion: String?
    var valkeyVersion: String?
    var estimator: KeyMemoryEstimator?
    var acc = Accuracy()
    while let record = try reader.next() {
        switch record {
        case .aux(let k, let v):
            if k.utf8String == "redis-ver" { redisVersion = v.utf8String }
            if k.utf8String == "valkey-ver" { valkeyVersion = v.utf8String }
        case .key(let h):
            if estimator == nil {
                var model = MemoryModel.forFile(
                    redisVersion: reader.header.dialect == .valkey ? nil : redisVersion,
                    valkeyVersion: valkeyVersion ?? (reader.header.dialect == .valkey ? redisVersion : nil),
                    allocator: truth.allocator)
                // The `cluster` files come from servers run with cluster-enabled yes.
                model.clusterMode = relative.hasSuffix("/cluster.rdb")
                estimator = KeyMemoryEstimator(model: model)
            }
            let k = try estimator!.estimate(h, reader: reader)
            if k.isRough { acc.roughKeys += 1 }
            guard !k.isRough, let t = truth.keys["\(h.db)\u{0}" + String(decoding: h.key.bytes, as: UTF8.self)] else { continue }
            let ok = abs(k.bytes - t.usage) * 10 <= t.usage
            acc.keys += 1
            acc.withinTenPercent += ok ? 1 : 0
            acc.estimated += k.bytes
            acc.actual += t.usage
            if k.encoding != t.encoding || k.type != t.type { acc.typeMismatches += 1 }
            let g = "\(t.type)/\(t.encoding)"
            var v = acc.byGroup[g] ?? (0, 0, 0, 0)
            v.n += 1
            v.ok += ok ? 1 : 0
            v.est += k.bytes
            v.act += t.usage
            acc.byGroup[g] = v
        default:
            break
        }
    }
    let model = estimator?.model ?? MemoryModel.forFile(redisVersion: redisVersion, valkeyVersion: valkeyVersion)
    return (acc, model)
}

@Suite("Memory estimates against MEMORY USAGE of the servers that wrote the corpus")
struct MemoryCalibrationTests {
    @Test("big (50,000 keys): ±10 % for at least 90 % of keys, total within ±5 %, per server line", arguments: Corpus.servers)
    func calibration(_ server: String) throws {
        let (acc, model) = try measure("\(server)/rdb/big.rdb")
        print(acc.report("\(server) big [\(model.name)]"))
        #expect(acc.keys == 50_000)
        #expect(acc.share >= 90, "\(server): \(acc.share) % within ±10 %")
        #expect(abs(acc.totalError) <= 5, "\(server): total off by \(acc.totalError) %")
        #expect(acc.typeMismatches == 0, "\(server): \(acc.typeMismatches) keys with another type/encoding than the server's")
        // The figures the CLI prints for this model must still hold.
        if let claimed = model.calibration {
            #expect(acc.share >= Double(claimed.withinTenPercent), "\(server): claimed \(claimed.withinTenPercent) %")
            #expect(abs(acc.totalError) <= claimed.totalError, "\(server): claimed total within \(claimed.totalError) %")
        } else {
            Issue.record("\(model.name) has no calibration figures")
        }
    }

    @Test("Every other corpus RDB: the distribution, and totals within ±50 %", arguments: Corpus.fixtureRDBsWithExpected().filter { !$0.hasSuffix("/big.rdb") })
    func otherFiles(_ relative: String) throws {
        let (acc, model) = try measure(relative)
        print(acc.report("\(relative) [\(model.name)]"))
        if acc.actual > 0 {
            #expect(abs(acc.totalError) <= 50, "\(relative): total off by \(acc.totalError) %")
        }
    }
}

@Suite("Allocator size classes")
struct MemoryAllocatorTests {
    @Test("jemalloc with Redis's 8-byte quantum, a distribution's 16-byte quantum, and glibc")
    func sizeClasses() {
        let bundled: [(Int, Int)] = [(1, 8), (8, 8), (9, 16), (17, 24), (24, 24), (33, 40), (64, 64), (65, 80), (129, 160), (4097, 5120), (16385, 20480)]
        for (n, usable) in bundled { #expect(MemoryAllocator.jemalloc.usableSize(n) == usable, "jemalloc \(n)") }
        let system: [(Int, Int)] = [(1, 8), (9, 16), (17, 32), (33, 48), (49, 64), (65, 80), (129, 160), (257, 320)]
        for (n, usable) in system { #expect(MemoryAllocator.jemallocSystem.usableSize(n) == usable, "jemalloc-system \(n)") }
        let glibc: [(Int, Int)] = [(0, 24), (1, 24), (24, 24), (25, 40), (40, 40), (41, 56), (200_000, 200_688)]
        for (n, usable) in glibc { #expect(MemoryAllocator.libc.usableSize(n) == usable, "libc \(n)") }
    }
}
