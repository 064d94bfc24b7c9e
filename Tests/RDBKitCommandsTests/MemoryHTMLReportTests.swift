import Foundation
import Testing

@testable import RDBKitCommands

/// The HTML memory report, drawn by a real browser: headless Chromium loads the page from a file:// URL, the test
/// reads the DOM after the script ran, the console messages and a screenshot.
///
/// Chromium is required: without it these tests fail and say how to install it (CI installs it with the test
/// packages). Pages, DOM dumps and screenshots are kept in `.build/test-artifacts/` for a person to look at.
@Suite("Memory HTML report", .serialized)
struct MemoryHTMLReportTests {
    // MARK: Pages without a browser

    @Test("The page embeds the JSON so that no key can end the script element, and escapes the title")
    func embeddingEscapes() throws {
        let json = #"{"file":"a</script><script>alert(1)</script>&<!--","x":"\u003c"}"#
        let html = String(
            decoding: MemoryHTMLReport.render(reportJSON: Array(json.utf8), title: "a<b>&\"c\".rdb"),
            as: UTF8.self)
        #expect(html.contains("<title>rdbkit memory report — a&lt;b&gt;&amp;&quot;c&quot;.rdb</title>"))
        let start = try #require(html.range(of: #"<script type="application/json" id="report-data">"#))
        let body = html[start.upperBound...]
        let end = try #require(body.range(of: "</script>"))
        let embedded = body[..<end.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(
            embedded
                == #"{"file":"a\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e\u0026\u003c!--","x":"\u003c"}"#
        )
        // The embedded text still parses to the same value.
        let original = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? NSDictionary
        let parsed = try? JSONSerialization.jsonObject(with: Data(embedded.utf8)) as? NSDictionary
        #expect(original != nil && original == parsed)
    }

    @Test("A title that already names the report is used as it is")
    func fullTitle() {
        let html = String(
            decoding: MemoryHTMLReport.render(
                reportJSON: Array("{}".utf8),
                title: "rdbkit memory report — dump.rdb"), as: UTF8.self)
        #expect(html.contains("<title>rdbkit memory report — dump.rdb</title>"))
    }

    @Test("The page loads nothing from the network: no external scripts, styles, fonts or images")
    func selfContained() {
        let html = String(decoding: MemoryHTMLReport.render(reportJSON: Self.emptyReport(), title: "x"), as: UTF8.self)
        for needle in ["<script src", "<link", "@import", "url(http", "src=\"http", "href=\"http", "//cdn", "fonts.g"] {
            #expect(!html.contains(needle), "the page contains \(needle)")
        }
        #expect(html.contains("Content-Security-Policy"))
        #expect(html.contains("default-src 'none'"))
    }

    // MARK: Pages in a browser

    @Test("A realistic report renders: title, totals, prefix chart, tables with escaped keys, no console errors")
    func realisticReport() throws {
        let chromium = try HeadlessChromium.require()
        let report = SyntheticReport.realistic()
        let page = try Self.writePage(report.json, title: "dump-eu-1.rdb", name: "memory-report")

        let dom = try chromium.dumpDOM(of: page)
        #expect(dom.consoleMessages.isEmpty, "console: \(dom.consoleMessages)")
        #expect(dom.contains("<title>rdbkit memory report — dump-eu-1.rdb</title>"))
        #expect(dom.contains(#"data-rendered="ok""#), "render error: \(dom.element(id: "render-error") ?? "?")")
        let chart = try #require(dom.element(id: "prefix-chart"))
        #expect(chart.contains("<svg"))
        #expect(chart.contains("<rect"))
        #expect(chart.contains("user:"), "the top-level prefix user: is labelled")
        #expect(chart.contains(#"class="node other""#), "the folded node is drawn")
        #expect(try #require(dom.element(id: "type-chart")).contains("<svg"))
        #expect(try #require(dom.element(id: "expiry-chart")).contains("<svg"))
        #expect(dom.contains("dump-eu-1.rdb"))
        #expect(dom.contains("redis-7.0 · jemalloc"))
        #expect(dom.contains("estimates within ±10 % of MEMORY USAGE"))

        // Key names as table cells, in their DOM serialisation: `<`, `>` and `&` escaped, quotes as they are.
        let tables = try #require(dom.element(id: "top-keys-table"))
        for key in report.tableKeys {
            #expect(tables.contains(">" + HeadlessChromium.serializedText(key) + "<"), "key \(key) missing")
        }
        #expect(tables.contains(#"<span class="esc">\x01</span>"#), "a control byte is shown as \\x01")
        // The script element with `</script>` in a key did not escape into the page.
        #expect(!dom.contains("<script>alert("))
        #expect(dom.contains(#"id="report-data""#))

        // The folded part of the tree is explained, with its error bound.
        let folded = try #require(dom.element(id: "folded-note"))
        #expect(folded.contains("Folded"))
        #expect(folded.contains("±"))
        // The biggest keys of the selected prefix (the root at first) and the top-level prefixes are listed.
        #expect(try #require(dom.element(id: "prefix-keys-table")).contains("big:bighash:1"))
        #expect(try #require(dom.element(id: "prefix-table")).contains("leaderboard:"))

        for (name, height) in [("memory-report", 1000), ("memory-report-full", 2600)] {
            let png = Self.artifacts.appendingPathComponent(name + ".png")
            let shot = try chromium.screenshot(of: page, to: png, width: 1400, height: height)
            #expect(shot.consoleMessages.isEmpty, "console: \(shot.consoleMessages)")
            let size = (try FileManager.default.attributesOfItem(atPath: png.path)[.size] as? Int) ?? 0
            #expect(size > 10_000, "screenshot \(png.path) has only \(size) bytes")
        }
    }

    @Test("A prefix in the URL fragment opens the chart zoomed into it, with its own keys and sub-prefixes")
    func zoomedByFragment() throws {
        let chromium = try HeadlessChromium.require()
        let page = try Self.writePage(
            SyntheticReport.realistic().json, title: "dump-eu-1.rdb", name: "memory-report-zoomed")
        let zoomed = try #require(URL(string: page.absoluteString + "#prefix=leaderboard%3Aseason0%3A"))
        let dom = try chromium.dumpDOM(of: zoomed)
        #expect(dom.consoleMessages.isEmpty, "console: \(dom.consoleMessages)")
        #expect(dom.contains(#"data-rendered="ok""#), "render error: \(dom.element(id: "render-error") ?? "?")")
        let crumbs = try #require(dom.element(id: "breadcrumb"))
        #expect(crumbs.contains(">All keys</button>"))
        #expect(crumbs.contains(">leaderboard:</button>"))
        #expect(crumbs.contains(#"aria-current="page">season0:</span>"#))
        let chart = try #require(dom.element(id: "prefix-chart"))
        #expect(chart.contains("leaderboard:season0:"), "the focused prefix heads the chart")
        #expect(chart.contains("zoom out"))
        let keys = try #require(dom.element(id: "prefix-keys-table"))
        #expect(keys.contains("leaderboard:season0:"))
        #expect(!keys.contains("leaderboard:season1:") && !keys.contains("big:bighash:1"))
        #expect(try #require(dom.element(id: "prefix-table")).contains("No deeper prefixes"))

        let png = Self.artifacts.appendingPathComponent("memory-report-zoomed.png")
        _ = try chromium.screenshot(of: zoomed, to: png, width: 1400, height: 1000)
    }

    @Test("A report of an empty file renders with zero keys")
    func emptyReport() throws {
        let chromium = try HeadlessChromium.require()
        let page = try Self.writePage(Self.emptyReport(), title: "empty.rdb", name: "memory-report-empty")
        let dom = try chromium.dumpDOM(of: page)
        #expect(dom.consoleMessages.isEmpty, "console: \(dom.consoleMessages)")
        #expect(dom.contains("<title>rdbkit memory report — empty.rdb</title>"))
        #expect(dom.contains(#"data-rendered="ok""#), "render error: \(dom.element(id: "render-error") ?? "?")")
        let chart = try #require(dom.element(id: "prefix-chart"))
        #expect(chart.contains("<svg"))
        #expect(chart.contains("the file is empty"))
        #expect(try #require(dom.element(id: "top-keys-table")).contains("No keys."))
        #expect(try #require(dom.element(id: "type-chart")).contains("<svg"))

        let png = Self.artifacts.appendingPathComponent("memory-report-empty.png")
        let shot = try chromium.screenshot(of: page, to: png, width: 1400, height: 1000)
        #expect(shot.consoleMessages.isEmpty, "console: \(shot.consoleMessages)")
        let size = (try FileManager.default.attributesOfItem(atPath: png.path)[.size] as? Int) ?? 0
        #expect(size > 10_000, "screenshot \(png.path) has only \(size) bytes")
    }

    @Test("A prefix tree of 100,000 nodes renders lazily: a bounded number of SVG blocks")
    func hundredThousandPrefixes() throws {
        let chromium = try HeadlessChromium.require()
        let page = try Self.writePage(
            SyntheticReport.wide(top: 100, perTop: 1000), title: "wide.rdb",
            name: "memory-report-wide")
        let dom = try chromium.dumpDOM(of: page, timeout: 180)
        #expect(dom.consoleMessages.isEmpty, "console: \(dom.consoleMessages)")
        #expect(dom.contains(#"data-rendered="ok""#), "render error: \(dom.element(id: "render-error") ?? "?")")
        let chart = try #require(dom.element(id: "prefix-chart"))
        let blocks = chart.components(separatedBy: "<rect").count - 1
        #expect(blocks > 50 && blocks < 5_000, "\(blocks) rect elements in the chart")
        let prefixRows = try #require(dom.element(id: "prefix-table")).components(separatedBy: "<tr").count - 1
        #expect(prefixRows <= 13, "the prefix table shows its first rows only (\(prefixRows))")
        if let ms = dom.attribute("data-render-ms") { print("100,101-node report drawn in \(ms) ms") }
    }

    @Test("JSON that does not parse is reported on the page, not left blank")
    func brokenJSON() throws {
        let chromium = try HeadlessChromium.require()
        let page = try Self.writePage(
            Array(#"{"file": "x.rdb", "totals": "#.utf8), title: "x.rdb",
            name: "memory-report-broken")
        let dom = try chromium.dumpDOM(of: page)
        #expect(dom.contains(#"data-rendered="error""#))
        let error = try #require(dom.element(id: "render-error"))
        #expect(error.contains("could not be rendered"))
        #expect(error.contains("JSON"))
        #expect(dom.consoleMessages.contains { $0.contains("Uncaught") }, "console: \(dom.consoleMessages)")
    }

    // MARK: Helpers

    /// `.build/test-artifacts` of this package.
    static let artifacts: URL = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let dir = root.appendingPathComponent(".build/test-artifacts")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }()

    static func writePage(_ json: [UInt8], title: String, name: String) throws -> URL {
        try Data(json).write(to: artifacts.appendingPathComponent(name + ".json"))
        let url = artifacts.appendingPathComponent(name + ".html")
        try Data(MemoryHTMLReport.render(reportJSON: json, title: title)).write(to: url)
        return url
    }

    static func emptyReport() -> [UInt8] {
        SyntheticReport.report(file: "empty.rdb", fileSize: 88, keys: [], folded: nil).json
    }
}

// MARK: - Headless Chromium

/// Runs Chromium headless on a page and collects what it printed.
struct HeadlessChromium {
    let executable: URL

    /// What Chromium printed. Searches work on the UTF-8 bytes: a page with 100,000 prefixes dumps 7 MB.
    struct Result {
        /// The standard output: the serialised DOM for `--dump-dom`.
        var output: [UInt8]
        /// Console messages and uncaught errors of the page (`INFO:CONSOLE` lines of the log).
        var consoleMessages: [String]

        func contains(_ text: String) -> Bool { Self.find(Array(text.utf8), in: output, from: 0) != nil }

        /// The outer HTML of the element with this id, from its start tag to its matching end tag.
        func element(id: String) -> String? {
            guard let idAt = Self.find(Array(#"id="\#(id)""#.utf8), in: output, from: 0),
                let tagStart = output[..<idAt].lastIndex(of: UInt8(ascii: "<"))
            else { return nil }
            let nameEnd = output[(tagStart + 1)...].firstIndex { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: ">") }
            let name = Array(output[(tagStart + 1)..<(nameEnd ?? output.endIndex)])
            let close = Array("</".utf8) + name + [UInt8(ascii: ">")]
            var depth = 0
            var cursor = tagStart
            while let next = output[cursor...].firstIndex(of: UInt8(ascii: "<")) {
                if Self.hasPrefix(close, at: next, in: output) {
                    depth -= 1
                    if depth == 0 { return String(decoding: output[tagStart..<(next + close.count)], as: UTF8.self) }
                } else if Self.hasPrefix([UInt8(ascii: "<")] + name, at: next, in: output),
                    next + name.count + 1 < output.count,
                    [UInt8(ascii: " "), UInt8(ascii: ">")].contains(output[next + name.count + 1])
                {
                    depth += 1
                }
                cursor = next + 1
            }
            return nil
        }

        /// The value of the first attribute with this name.
        func attribute(_ name: String) -> String? {
            let open = Array((name + "=\"").utf8)
            guard let at = Self.find(open, in: output, from: 0) else { return nil }
            let start = at + open.count
            return output[start...].firstIndex(of: UInt8(ascii: "\"")).map {
                String(decoding: output[start..<$0], as: UTF8.self)
            }
        }

        static func hasPrefix(_ needle: [UInt8], at index: Int, in hay: [UInt8]) -> Bool {
            guard index + needle.count <= hay.count else { return false }
            for j in needle.indices where hay[index + j] != needle[j] { return false }
            return true
        }

        static func find(_ needle: [UInt8], in hay: [UInt8], from start: Int) -> Int? {
            guard let first = needle.first, hay.count >= needle.count else { return nil }
            var i = start
            while let at = hay[i...].firstIndex(of: first) {
                if hasPrefix(needle, at: at, in: hay) { return at }
                i = at + 1
            }
            return nil
        }
    }

    /// Chromium from `PATH` (`chromium`, then `chromium-browser`), or an error that says how to install it.
    static func require() throws -> HeadlessChromium {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for name in ["chromium", "chromium-browser"] {
            for dir in path.split(separator: ":") {
                let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: candidate.path) {
                    return HeadlessChromium(executable: candidate)
                }
            }
        }
        throw Failed(
            description: "chromium was not found on PATH: these tests need a headless browser; "
                + "run `apt-get install -y chromium`")
    }

    struct Failed: Error, CustomStringConvertible { var description: String }

    func dumpDOM(of page: URL, timeout: TimeInterval = 90) throws -> Result {
        try run(["--dump-dom", page.absoluteString], timeout: timeout)
    }

    func screenshot(of page: URL, to png: URL, width: Int, height: Int, timeout: TimeInterval = 90) throws -> Result {
        try? FileManager.default.removeItem(at: png)
        let result = try run(
            ["--screenshot=\(png.path)", "--window-size=\(width),\(height)", "--hide-scrollbars", page.absoluteString],
            timeout: timeout)
        guard FileManager.default.fileExists(atPath: png.path) else {
            throw Failed(description: "chromium wrote no screenshot to \(png.path)")
        }
        return result
    }

    /// How a DOM serialiser writes this text inside an element.
    static func serializedText(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\u{A0}", with: "&nbsp;")
    }

    private func run(_ arguments: [String], timeout: TimeInterval) throws -> Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rdbkit-chromium-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("stdout")
        let err = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = try FileHandle(forWritingTo: err)
        defer {
            try? outHandle.close()
            try? errHandle.close()
        }
        let process = Process()
        process.executableURL = executable
        process.arguments =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-extensions", "--force-device-scale-factor=1",
                "--user-data-dir=\(dir.appendingPathComponent("profile").path)",
                "--enable-logging=stderr", "--v=0",
            ] + arguments
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw Failed(description: "chromium did not finish within \(Int(timeout)) s: \(arguments)")
        }
        let output = [UInt8]((try? Data(contentsOf: out)) ?? Data())
        let log = String(decoding: (try? Data(contentsOf: err)) ?? Data(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw Failed(description: "chromium exited with \(process.terminationStatus):\n\(log.suffix(4000))")
        }
        let console = log.split(separator: "\n").filter { $0.contains(":CONSOLE") || $0.contains("Uncaught") }
            .map(String.init)
        return Result(output: output, consoleMessages: console)
    }
}

// MARK: - Synthetic reports in the schema of `rdbkit memory --format json`

/// A minimal JSON value with ordered objects, to write reports exactly as the producer does (`</script>` unescaped).
indirect enum JSONValue {
    case string(String)
    case int(Int)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    func write(to out: inout String) {
        switch self {
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .int(let n): out += String(n)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, (key, value)) in fields.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f:
                out +=
                    "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    var text: String {
        var out = ""
        write(to: &out)
        return out
    }
}

enum SyntheticReport {
    struct Key {
        var db: Int
        var key: String
        var type: String
        var encoding: String
        var bytes: Int
        var elements: Int
        var largest: Int
        var expireMilliseconds: Int?

        var json: JSONValue {
            .object([
                ("db", .int(db)), ("key", .string(key)), ("type", .string(type)), ("encoding", .string(encoding)),
                ("bytes", .int(bytes)), ("elements", .int(elements)), ("largest", .int(largest)),
                ("expire_ms", expireMilliseconds.map { .int($0) } ?? .null),
            ])
        }
    }

    struct Built {
        var json: [UInt8]
        /// Keys that must appear in the top keys table.
        var tableKeys: [String]
    }

    /// A deterministic mix of types, encodings, databases, expiries and prefixes, plus keys with quotes,
    /// `</script>`, non-ASCII, emoji and a control byte.
    static func realistic() -> Built {
        var keys: [Key] = []
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        let now = 1_767_225_600_000  // 2026-01-01
        func expiry() -> Int? {
            switch next(10) {
            case 0: now - 60_000
            case 1: now + 1_800_000
            case 2: now + 20 * 3_600_000
            case 3: now + 3 * 86_400_000
            case 4: now + 40 * 86_400_000
            default: nil
            }
        }
        for i in 0..<240 {
            let user = 1000 + i % 60
            switch i % 4 {
            case 0:
                keys.append(
                    Key(
                        db: 0, key: "user:\(user):profile", type: "hash", encoding: "listpack",
                        bytes: 180 + next(400), elements: 4 + next(20), largest: 12 + next(60), expireMilliseconds: nil)
                )
            case 1:
                keys.append(
                    Key(
                        db: 0, key: "user:\(user):feed:\(i)", type: "list", encoding: "quicklist",
                        bytes: 900 + next(6000), elements: 10 + next(400), largest: 40 + next(200),
                        expireMilliseconds: expiry()))
            case 2:
                keys.append(
                    Key(
                        db: 0, key: "session:\(String(i * 7919, radix: 16))", type: "string", encoding: "raw",
                        bytes: 120 + next(900), elements: 1, largest: 60 + next(800),
                        expireMilliseconds: expiry() ?? now + 3_600_000))
            default:
                keys.append(
                    Key(
                        db: 1, key: "cache:page:/p/\(i)", type: "string", encoding: "embstr",
                        bytes: 64 + next(40), elements: 1, largest: 30 + next(10), expireMilliseconds: expiry()))
            }
        }
        for i in 0..<30 {
            keys.append(
                Key(
                    db: 0, key: "leaderboard:season\(i % 3):\(i)", type: "zset",
                    encoding: i < 3 ? "skiplist" : "listpack",
                    bytes: 2_000 + next(30_000), elements: 100 + next(5000), largest: 24, expireMilliseconds: nil))
            keys.append(
                Key(
                    db: 0, key: "tags:\(i)", type: "set", encoding: i % 2 == 0 ? "intset" : "listpack",
                    bytes: 200 + next(3000), elements: 5 + next(100), largest: 8, expireMilliseconds: nil))
        }
        for i in 0..<12 {  // many small top-level prefixes, folded into "other"
            keys.append(
                Key(
                    db: 2, key: "tmp\(i):x", type: "string", encoding: "int", bytes: 56, elements: 1, largest: 8,
                    expireMilliseconds: now + 600_000))
        }
        keys.append(
            Key(
                db: 0, key: "events:stream", type: "stream", encoding: "stream", bytes: 48_000, elements: 2_000,
                largest: 120, expireMilliseconds: nil))
        let special = [
            Key(
                db: 0, key: "big:bighash:1", type: "hash", encoding: "hashtable", bytes: 94_504, elements: 600,
                largest: 20, expireMilliseconds: nil),
            Key(
                db: 0, key: "big:biglist:1", type: "list", encoding: "quicklist", bytes: 61_200, elements: 12_000,
                largest: 9, expireMilliseconds: now + 7 * 86_400_000),
            Key(
                db: 0, key: #"quote"key'1"#, type: "string", encoding: "raw", bytes: 40_000, elements: 1,
                largest: 39_000, expireMilliseconds: nil),
            Key(
                db: 0, key: "evil</script><script>alert(1)</script>", type: "string", encoding: "raw", bytes: 38_000,
                elements: 1, largest: 37_000, expireMilliseconds: nil),
            Key(
                db: 0, key: "naïve:ключ:🔑 ünïcödé", type: "set", encoding: "hashtable", bytes: 36_000, elements: 900,
                largest: 16, expireMilliseconds: now - 1000),
            Key(
                db: 0, key: "bin:\u{01}raw\u{7f}", type: "string", encoding: "raw", bytes: 35_000, elements: 1,
                largest: 34_000, expireMilliseconds: nil),
            Key(
                db: 3, key: "a&b <c> d", type: "hash", encoding: "listpack", bytes: 33_000, elements: 10,
                largest: 3_000,
                expireMilliseconds: nil),
        ]
        keys += special
        let built = report(file: "dump-eu-1.rdb", fileSize: 212_628, keys: keys, folded: 7)
        return Built(json: built.json, tableKeys: special.filter { !$0.key.contains("\u{01}") }.map(\.key))
    }

    /// A report whose prefix tree has `top` × `perTop` + `top` + 1 nodes and no top keys below the first level.
    static func wide(top: Int, perTop: Int) -> [UInt8] {
        var children = ""
        var totalKeys = 0
        var totalBytes = 0
        for t in 0..<top {
            var inner = ""
            var keys = 0
            var bytes = 0
            for c in 0..<perTop {
                let b = 100 + (t * 7919 + c * 104_729) % 50_000
                if c > 0 { inner += "," }
                inner += #"{"prefix":"p\#(t):c\#(c):","keys":2,"bytes":\#(b),"top_keys":[],"children":[]}"#
                keys += 2
                bytes += b
            }
            if t > 0 { children += "," }
            children += #"{"prefix":"p\#(t):","keys":\#(keys),"bytes":\#(bytes),"top_keys":[],"children":[\#(inner)]}"#
            totalKeys += keys
            totalBytes += bytes
        }
        let totals = #"{"keys":\#(totalKeys),"bytes":\#(totalBytes),"keys_with_expiry":0}"#
        let bucket = #"[{"name":"string","keys":\#(totalKeys),"bytes":\#(totalBytes)}]"#
        let json = #"""
            {"file":"wide.rdb","file_size":1000000,"model":{"server":"redis-7.0","allocator":"jemalloc","note":"synthetic"},
            "totals":\#(totals),"by_type":\#(bucket),"by_encoding":[{"name":"string/raw","keys":\#(totalKeys),"bytes":\#(totalBytes)}],
            "by_db":[{"name":"0","keys":\#(totalKeys),"bytes":\#(totalBytes)}],
            "expiry_histogram":[{"name":"none","keys":\#(totalKeys),"bytes":\#(totalBytes)}],
            "element_histogram":[{"name":"1","keys":\#(totalKeys),"bytes":\#(totalBytes)}],
            "top_keys":[],"top_keys_by_type":{},
            "prefix_tree":{"separators":[":"],"depth":2,"max_prefixes":100000,"folded_keys":0,"folded_bytes":0,"error_bound_bytes":0,
            "root":{"prefix":"","keys":\#(totalKeys),"bytes":\#(totalBytes),"top_keys":[],"children":[\#(children)]}}}
            """#
        return Array(json.utf8)
    }

    /// A whole report for `keys`: aggregates, histograms, top keys and a prefix tree of depth 3 on ":" in which the
    /// top-level prefixes after the `folded` largest are added up into an `"other"` node.
    static func report(file: String, fileSize: Int, keys: [Key], folded: Int?) -> Built {
        let sorted = keys.sorted { $0.bytes > $1.bytes }
        func buckets(_ name: (Key) -> String, order: [String]? = nil) -> JSONValue {
            var sums: [String: (Int, Int)] = [:]
            for k in keys {
                sums[name(k), default: (0, 0)].0 += 1
                sums[name(k), default: (0, 0)].1 += k.bytes
            }
            let names = order ?? sums.keys.sorted { (sums[$0]!.1, $1) > (sums[$1]!.1, $0) }
            return .array(
                names.map { n in
                    .object([("name", .string(n)), ("keys", .int(sums[n]?.0 ?? 0)), ("bytes", .int(sums[n]?.1 ?? 0))])
                })
        }
        let now = 1_767_225_600_000
        func expiryBucket(_ k: Key) -> String {
            guard let e = k.expireMilliseconds else { return "none" }
            let left = e - now
            return left <= 0
                ? "expired"
                : left < 3_600_000
                    ? "< 1 h"
                    : left < 86_400_000
                        ? "< 1 day"
                        : left < 7 * 86_400_000 ? "< 1 week" : "later"
        }
        func elementBucket(_ k: Key) -> String {
            k.elements <= 1
                ? "1"
                : k.elements <= 10
                    ? "2-10"
                    : k.elements <= 100
                        ? "11-100"
                        : k.elements <= 1000 ? "101-1000" : "> 1000"
        }

        final class Node {
            var prefix: String
            var keys: [Key] = []
            var children: [String: Node] = [:]
            var other = false
            init(_ prefix: String) { self.prefix = prefix }
            var bytes: Int { keys.reduce(0) { $0 + $1.bytes } }
            func json(topKeys: Int) -> JSONValue {
                let fields: [(String, JSONValue)] = [
                    ("prefix", .string(prefix)), ("keys", .int(keys.count)), ("bytes", .int(bytes)),
                    ("top_keys", .array(keys.sorted { $0.bytes > $1.bytes }.prefix(topKeys).map(\.json))),
                    (
                        "children",
                        .array(children.values.sorted { $0.bytes > $1.bytes }.map { $0.json(topKeys: topKeys) })
                    ),
                ]
                return .object(fields + (other ? [("other", .bool(true))] : []))
            }
        }
        let root = Node("")
        for k in keys {
            root.keys.append(k)
            var node = root
            let parts = k.key.split(separator: ":", omittingEmptySubsequences: false)
            var prefix = ""
            for part in parts.dropLast().prefix(3) {
                prefix += part + ":"
                let child = node.children[prefix] ?? Node(prefix)
                node.children[prefix] = child
                child.keys.append(k)
                node = child
            }
        }
        var foldedKeys = 0
        var foldedBytes = 0
        if let folded {
            let ranked = root.children.values.sorted { $0.bytes > $1.bytes }
            if ranked.count > folded {
                let other = Node("")
                other.other = true
                for node in ranked.dropFirst(folded) {
                    other.keys += node.keys
                    root.children[node.prefix] = nil
                }
                foldedKeys = other.keys.count
                foldedBytes = other.bytes
                root.children["\u{0}other"] = other
            }
        }
        var byType: [String: [Key]] = [:]
        for k in sorted { byType[k.type, default: []].append(k) }
        let expiring = keys.filter { $0.expireMilliseconds != nil }.count
        let report: JSONValue = .object([
            ("file", .string(file)), ("file_size", .int(fileSize)),
            (
                "model",
                .object([
                    ("server", .string("redis-7.0")), ("allocator", .string("jemalloc")),
                    (
                        "note",
                        .string("estimates within ±10 % of MEMORY USAGE for 97 % of keys of the calibration corpus")
                    ),
                ])
            ),
            (
                "totals",
                .object([
                    ("keys", .int(keys.count)), ("bytes", .int(root.bytes)), ("keys_with_expiry", .int(expiring)),
                ])
            ),
            ("by_type", buckets(\.type)),
            ("by_encoding", buckets { $0.type + "/" + $0.encoding }),
            ("by_db", buckets { String($0.db) }),
            (
                "expiry_histogram",
                keys.isEmpty
                    ? .array([])
                    : buckets(
                        expiryBucket,
                        order: ["none", "expired", "< 1 h", "< 1 day", "< 1 week", "later"])
            ),
            (
                "element_histogram",
                keys.isEmpty
                    ? .array([])
                    : buckets(
                        elementBucket,
                        order: ["1", "2-10", "11-100", "101-1000", "> 1000"])
            ),
            ("top_keys", .array(sorted.prefix(100).map(\.json))),
            (
                "top_keys_by_type",
                .object(byType.keys.sorted().map { ($0, .array(byType[$0]!.prefix(20).map(\.json))) })
            ),
            (
                "prefix_tree",
                .object([
                    ("separators", .array([.string(":")])), ("depth", .int(3)), ("max_prefixes", .int(100_000)),
                    ("folded_keys", .int(foldedKeys)), ("folded_bytes", .int(foldedBytes)),
                    ("error_bound_bytes", .int(folded == nil ? 0 : 112)),
                    ("root", root.json(topKeys: 20)),
                ])
            ),
        ])
        return Built(json: Array(report.text.utf8), tableKeys: [])
    }
}
