import Foundation
import RedisFormats
import RedisFormatsJSON

/// The human report of `rdbkit memory --format table`.
enum MemoryTable {
    static func render(_ a: MemoryAnalysis, model: MemoryModel, file: String, note: String, policy: JSONBytesPolicy) -> String {
        var out = ""
        let total = max(1, a.totals.bytes)
        func share(_ b: Int) -> String { String(format: "%5.1f%%", Double(b) * 100 / Double(total)) }
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
        func keyText(_ k: RedisBytes) -> String {
            policy == .base64 ? Base64.encode(k.bytes) : (JSONText.isPrintableUTF8(k.bytes) ? k.utf8String ?? k.escapedDescription : k.escapedDescription)
        }
        out += "\(file): \(group(a.totals.keys)) keys, \(human(a.totals.bytes)) estimated, \(group(a.keysWithExpiry)) with an expiry\n"
        out += "\(note)\n"
        if a.roughKeys > 0 { out += "\(group(a.roughKeys)) module keys are rough (their serialized size)\n" }
        func section(_ title: String, _ rows: [(String, MemoryTally)]) {
            guard !rows.isEmpty else { return }
            out += "\n" + pad(title, 28) + lpad("keys", 12) + lpad("bytes", 12) + lpad("share", 8) + "\n"
            for (name, t) in rows {
                out += pad(name, 28) + lpad(group(t.keys), 12) + lpad(human(t.bytes), 12) + "  " + share(t.bytes) + "\n"
            }
        }
        let bySize: ([String: MemoryTally]) -> [(String, MemoryTally)] = { d in
            d.sorted { $0.value.bytes != $1.value.bytes ? $0.value.bytes > $1.value.bytes : $0.key < $1.key }.map { ($0.key, $0.value) }
        }
        section("type", bySize(a.byType))
        section("type/encoding", bySize(a.byEncoding))
        section("db", a.byDB.sorted { $0.key < $1.key }.map { ("db\($0.key)", $0.value) })
        section("expiry", zip(MemoryAnalysis.expiryBuckets, a.expiryHistogram).filter { $0.1.keys > 0 }.map { ($0.0, $0.1) })
        section("elements (collections)", zip(MemoryAnalysis.elementBuckets, a.elementHistogram).filter { $0.1.keys > 0 }.map { ($0.0, $0.1) })
        let top = a.top.sorted
        if !top.isEmpty {
            out += "\nbiggest keys\n"
            out += lpad("bytes", 12) + "  " + pad("type/encoding", 22) + lpad("elements", 10) + "  db  key\n"
            for k in top {
                out += lpad(human(k.bytes), 12) + "  " + pad("\(k.type)/\(k.encoding)", 22) + lpad(group(k.elements), 10)
                    + "  " + lpad("\(k.db)", 2) + "  " + keyText(k.key) + "\n"
            }
        }
        if a.options.byPrefix {
            let tree = a.prefixes
            let seps = tree.separators.map { "'" + String(decoding: $0, as: UTF8.self) + "'" }.joined(separator: " ")
            out += "\nprefixes (separator \(seps), depth \(tree.depth))"
            out += tree.errorBound > 0
                ? ": \(group(tree.folded.keys)) key counts folded, figures low by at most \(human(tree.errorBound))\n"
                : ": exact\n"
            out += pad("prefix", 40) + lpad("keys", 12) + lpad("bytes", 12) + lpad("share", 8) + "\n"
            func walk(_ b: PrefixTree.Branch, _ level: Int) {
                for c in b.children.prefix(10) {
                    let name = String(repeating: "  ", count: level) + keyText(c.prefix) + "*"
                    out += pad(name, 40) + lpad(group(c.tally.keys), 12) + lpad(human(c.tally.bytes), 12) + "  " + share(c.tally.bytes) + "\n"
                    walk(c, level + 1)
                }
                if b.children.count > 10 {
                    let rest = b.children.dropFirst(10)
                    let keys = rest.reduce(0) { $0 + $1.tally.keys }
                    let bytes = rest.reduce(0) { $0 + $1.tally.bytes }
                    let name = String(repeating: "  ", count: level) + "(\(group(rest.count)) more)"
                    out += pad(name, 40) + lpad(group(keys), 12) + lpad(human(bytes), 12) + "  " + share(bytes) + "\n"
                }
            }
            walk(tree.build(), 0)
        }
        return out
    }

    static func human(_ b: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(b)
        var i = 0
        while v >= 1024 && i < units.count - 1 {
            v /= 1024
            i += 1
        }
        return i == 0 ? "\(b) B" : String(format: "%.1f %@", v, units[i])
    }

    static func group(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, c) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 && c != "-" { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }
}
