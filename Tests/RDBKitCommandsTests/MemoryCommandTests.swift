import Foundation
import Testing
import _RedisFormatsTestSupport

/// `rdbkit memory` on corpus files: CSV, JSON Lines, top keys, reports, filters, HTML in a browser.
@Suite("rdbkit memory", .serialized)
struct MemoryCommandTests {
    static let big = Corpus.fixture("redis-7.0.15/rdb/big.rdb")
    static let allTypes = Corpus.fixture("redis-7.0.15/rdb/all-types.rdb")

    /// MEMORY USAGE of each key of a corpus file ("db\u{0}key" → bytes).
    static func usage(_ rdb: String) throws -> [String: Int] {
        let data = Data(try Corpus.readBytes(try #require(Corpus.expectedPath(forRDB: rdb))))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var out: [String: Int] = [:]
        for (db, keys) in root["databases"] as? [String: [String: [String: Any]]] ?? [:] {
            for (k, v) in keys { if let u = v["memory_usage"] as? Int { out[db + "\u{0}" + k] = u } }
        }
        return out
    }

    @Test("CSV: redis-rdb-tools' header and one row per key, sizes as MEMORY USAGE on the server that wrote it")
    func csv() throws {
        let r = try CLITests.rdbkit(["memory", "--allocator", "jemalloc-system", Self.big])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.lines
        #expect(lines.first == "database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry")
        #expect(lines.count == 50_001)
        let truth = try Self.usage(Self.big)
        var exact = 0
        var types = Set<String>()
        for line in lines.dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            #expect(cells.count == 8, "\(line)")
            types.insert(String(cells[1]))
            if truth["\(cells[0])\u{0}\(cells[2])"] == Int(cells[3]) { exact += 1 }
        }
        #expect(exact >= 49_900, "\(exact) of 50,000 rows equal MEMORY USAGE")
        #expect(types == ["string", "list", "set", "sortedset", "hash"])
        // An expiry is written like Python's isoformat(), UTC.
        let withExpiry = try #require(lines.first { !$0.hasSuffix(",") && $0 != lines.first })
        let expiry = String(withExpiry.split(separator: ",").last!)
        #expect(expiry.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$"#, options: .regularExpression) != nil, "\(expiry)")
    }

    @Test("--top N with csv: the N biggest keys, biggest first; --min-size and filters select rows")
    func topAndFilters() throws {
        let r = try CLITests.rdbkit(["memory", "--top", "5", "--format", "jsonl", Self.big])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try r.lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(rows.count == 5)
        let sizes = rows.compactMap { $0["bytes"] as? Int }
        #expect(sizes == sizes.sorted(by: >))
        #expect(rows.allSatisfy { ($0["key"] as? String)?.hasPrefix("big:bighash:") == true }, "the 600-field hashes are the biggest")

        let all = try CLITests.rdbkit(["memory", "--format", "jsonl", Self.big]).lines.count
        let big = try CLITests.rdbkit(["memory", "--format", "jsonl", "--min-size", "1000", Self.big])
        #expect(big.lines.count > 0 && big.lines.count < all)
        for line in big.lines {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((o["bytes"] as? Int ?? 0) >= 1000)
        }
        let hashes = try CLITests.rdbkit(["memory", "--format", "jsonl", "--type", "hash", "--db", "0", Self.big])
        #expect(hashes.lines.count > 0)
        #expect(hashes.lines.allSatisfy { $0.contains(#""type":"hash""#) && $0.hasPrefix(#"{"db":0,"#) })
    }

    @Test("JSON report: totals equal the sum of the per-key rows; prefix tree exact and consistent")
    func jsonReport() throws {
        let rows = try CLITests.rdbkit(["memory", "--format", "jsonl", Self.big])
        var sum = 0
        for line in rows.lines {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            sum += o["bytes"] as? Int ?? 0
        }
        let r = try CLITests.rdbkit(["memory", "--format", "json", "--by-prefix", "--depth", "2", "--top", "10", Self.big])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        let totals = try #require(report["totals"] as? [String: Any])
        #expect(totals["keys"] as? Int == 50_000)
        #expect(totals["bytes"] as? Int == sum)
        let byType = try #require(report["by_type"] as? [[String: Any]])
        #expect(byType.reduce(0) { $0 + ($1["bytes"] as? Int ?? 0) } == sum)
        #expect((report["top_keys"] as? [Any])?.count == 10)
        let tree = try #require(report["prefix_tree"] as? [String: Any])
        #expect(tree["error_bound_bytes"] as? Int == 0)
        let root = try #require(tree["root"] as? [String: Any])
        #expect(root["bytes"] as? Int == sum)
        let level1 = try #require(root["children"] as? [[String: Any]])
        #expect(level1.first?["prefix"] as? String == "big:")
        #expect(level1.first?["bytes"] as? Int == sum, "every key starts with big:")
        let level2 = try #require(level1.first?["children"] as? [[String: Any]])
        #expect(level2.reduce(0) { $0 + ($1["bytes"] as? Int ?? 0) } == sum)
        #expect(level2.contains { $0["prefix"] as? String == "big:bighash:" && $0["keys"] as? Int == 20 })
    }

    @Test("A tiny --max-prefixes folds the tree and reports a non-zero error bound; figures stay within it")
    func boundedPrefixes() throws {
        let exact = try CLITests.rdbkit(["memory", "--format", "json", "--by-prefix", "--depth", "3", Self.allTypes])
        let folded = try CLITests.rdbkit(["memory", "--format", "json", "--by-prefix", "--depth", "3", "--max-prefixes", "16", Self.allTypes])
        #expect(exact.status == 0 && folded.status == 0)
        func tree(_ r: CLITests.Run) throws -> [String: Any] {
            let o = try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
            return try #require(o["prefix_tree"] as? [String: Any])
        }
        let e = try tree(exact)
        let f = try tree(folded)
        #expect(e["error_bound_bytes"] as? Int == 0)
        let bound = try #require(f["error_bound_bytes"] as? Int)
        #expect(bound > 0)
        #expect((f["folded_keys"] as? Int ?? 0) > 0)
        func flatten(_ node: [String: Any], into out: inout [String: Int]) {
            if node["other"] == nil, let p = node["prefix"] as? String { out[p] = node["bytes"] as? Int }
            for c in node["children"] as? [[String: Any]] ?? [] { flatten(c, into: &out) }
        }
        var exactNodes: [String: Int] = [:]
        var foldedNodes: [String: Int] = [:]
        flatten(try #require(e["root"] as? [String: Any]), into: &exactNodes)
        flatten(try #require(f["root"] as? [String: Any]), into: &foldedNodes)
        #expect(foldedNodes.count <= 17)
        for (prefix, bytes) in foldedNodes {
            let truth = try #require(exactNodes[prefix])
            #expect(bytes <= truth && truth - bytes <= bound, "\(prefix): \(bytes) vs \(truth), bound \(bound)")
        }
    }

    @Test("--list-compress-depth: a list the server held compressed (depth 1) is estimated within 1 %", arguments: [
        ("redis-6.0.9", "jemalloc"), ("redis-6.2", "libc"), ("redis-7.0.15", "jemalloc-system"),
        ("redis-stack-7.4", "jemalloc"), ("valkey-9.1", "libc"),
    ])
    func listCompressDepth(_ server: String, _ allocator: String) throws {
        let rdb = Corpus.fixture("\(server)/rdb/all-types.rdb")
        let truth = try Self.usage(rdb).first { $0.key.hasPrefix("0\u{0}list-compressed:") }
        let expected = try #require(truth?.value)
        func estimate(_ depth: Int) throws -> Int {
            let r = try CLITests.rdbkit([
                "memory", "--format", "jsonl", "--allocator", allocator, "--list-compress-depth", "\(depth)",
                "--match", "list-compressed:*", rdb,
            ])
            #expect(r.status == 0, "\(r.stderr)")
            let line = try #require(r.lines.first)
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return try #require(o["bytes"] as? Int)
        }
        let compressed = try estimate(1)
        #expect(abs(compressed - expected) * 100 <= expected, "\(server): \(compressed) vs MEMORY USAGE \(expected)")
        #expect(try estimate(0) > 2 * expected, "without the option the nodes count uncompressed")
    }

    @Test("Table report: sections, biggest keys and prefixes")
    func table() throws {
        let r = try CLITests.rdbkit(["memory", "--format", "table", "--by-prefix", "--top", "3", Self.allTypes])
        #expect(r.status == 0, "\(r.stderr)")
        let text = String(decoding: r.stdout, as: UTF8.self)
        for needle in ["119 keys", "type/encoding", "biggest keys", "str-lzf-huge:lima:5487", "prefixes (separator ':'", "expiry"] {
            #expect(text.contains(needle), "missing \(needle)")
        }
    }

    @Test("Errors: a truncated file exits 3 naming the offset; bad options exit 64; -o never leaves a partial file")
    func errors() throws {
        let truncated = Corpus.fixture("redis-7.0.15/broken/rdb/rdb-truncated-half.rdb")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rdbkit-mem-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.csv").path
        let r = try CLITests.rdbkit(["memory", "-o", out, truncated])
        #expect(r.status == 3)
        #expect(r.stderr.contains("offset"))
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "no temporary file left")
        #expect(try CLITests.rdbkit(["memory", "--allocator", "tcmalloc", Self.big]).status == 64)
        #expect(try CLITests.rdbkit(["memory", "--server", "redis-9.9", Self.big]).status == 64)
        let ok = try CLITests.rdbkit(["memory", "-o", out, Self.allTypes])
        #expect(ok.status == 0)
        #expect(try String(contentsOfFile: out, encoding: .utf8).hasPrefix("database,type,key,"))
        #expect(try CLITests.rdbkit(["memory", "-o", Self.allTypes, Self.allTypes]).status != 0, "refuses to overwrite its input")
    }

    @Test("HTML report of a corpus file opens in headless Chromium: title, chart, keys, no console errors")
    func htmlInBrowser() throws {
        let chromium = try HeadlessChromium.require()
        let artifacts = Corpus.packageRoot.appendingPathComponent(".build/test-artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let page = artifacts.appendingPathComponent("memory-report-corpus.html")
        let r = try CLITests.rdbkit(["memory", "--format", "html", "--depth", "3", "-o", page.path, Self.allTypes])
        #expect(r.status == 0, "\(r.stderr)")
        let dom = try chromium.dumpDOM(of: page)
        #expect(dom.consoleMessages.isEmpty, "console: \(dom.consoleMessages)")
        #expect(dom.contains("<title>rdbkit memory report — all-types.rdb</title>"))
        #expect(dom.contains(#"data-rendered="ok""#), "render error: \(dom.element(id: "render-error") ?? "?")")
        let chart = try #require(dom.element(id: "prefix-chart"))
        #expect(chart.contains("<svg") && chart.contains("<rect"))
        #expect(try #require(dom.element(id: "top-keys-table")).contains("str-lzf-huge:lima:5487"))
        let png = artifacts.appendingPathComponent("memory-report-corpus.png")
        let shot = try chromium.screenshot(of: page, to: png, width: 1400, height: 1000)
        #expect(shot.consoleMessages.isEmpty)
        let size = (try FileManager.default.attributesOfItem(atPath: png.path)[.size] as? Int) ?? 0
        #expect(size > 10_000)
    }
}

@Suite("rdbkit memory on two cores")
struct MemoryParallelTests {
    static let files: [String] = {
        let root = Corpus.fixturesDirectory.path
        var out: [String] = []
        let walker = FileManager.default.enumerator(atPath: root)
        while let p = walker?.nextObject() as? String { if p.hasSuffix(".rdb") { out.append(p) } }
        return out.sorted()
    }()

    @Test("CSV and JSON Lines rows on two threads equal one thread's, good and broken files", arguments: files)
    func sameRows(_ relative: String) throws {
        let path = Corpus.fixture(relative)
        for format in ["csv", "jsonl"] {
            let one = try CLITests.rdbkit(["memory", "--format", format, "--threads", "1", path])
            let two = try CLITests.rdbkit(["memory", "--format", format, "--threads", "2", "--segment-size", "2000", path])
            #expect(one.status == two.status, "\(relative) \(format)")
            #expect(one.stdout == two.stdout, "\(relative) \(format): \(one.stdout.count) vs \(two.stdout.count) bytes")
            if !relative.contains("/broken/") && !relative.hasSuffix("/empty.rdb") {
                #expect(one.status == 0 && one.lines.count > (format == "csv" ? 1 : 0), "\(relative): \(one.stderr)")
            }
        }
    }

    @Test("Reports on two threads (segments merged in file order) equal one thread's", arguments: files)
    func sameReport(_ relative: String) throws {
        let path = Corpus.fixture(relative)
        let one = try CLITests.rdbkit(["memory", "--format", "json", "--by-prefix", "--threads", "1", path])
        let two = try CLITests.rdbkit(["memory", "--format", "json", "--by-prefix", "--threads", "2", "--segment-size", "3000", path])
        #expect(one.status == two.status, "\(relative)")
        #expect(one.stdout == two.stdout, "\(relative)")
        // The prefix tree is fed in file order, so even a folded tree is the same.
        let a = try CLITests.rdbkit(["memory", "--format", "json", "--by-prefix", "--max-prefixes", "16", "--threads", "1", path])
        let b = try CLITests.rdbkit(["memory", "--format", "json", "--by-prefix", "--max-prefixes", "16", "--threads", "2", "--segment-size", "3000", path])
        #expect(a.stdout == b.stdout, "\(relative): folded trees differ")
    }
}
