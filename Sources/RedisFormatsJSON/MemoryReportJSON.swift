import RedisFormats

/// Writes a ``MemoryAnalysis`` as the JSON document the HTML report and `rdbkit memory --format json`
/// share (schema in `docs/memory-report.md`).
public enum MemoryReportJSON {
    /// Keys and prefixes that are not printable UTF-8 as redis-cli's escaped text (for the HTML page)
    /// instead of `{"b64":…}`. Set for one render on one thread.
    nonisolated(unsafe) private static var textKeys = false

    private static func name(_ b: RedisBytes, _ e: JSONEmitter) {
        if textKeys && !JSONText.isPrintableUTF8(b.bytes) {
            e.string(b.escapedDescription)
        } else {
            e.bytes(b)
        }
    }

    /// The report as one JSON object (no trailing newline).
    public static func render(
        _ analysis: MemoryAnalysis, model: MemoryModel, file: String, fileSize: Int64?, note: String,
        policy: JSONBytesPolicy = .utf8OrBase64, pretty: Bool = false, binaryAsText: Bool = false
    ) -> [UInt8] {
        let e = JSONEmitter(policy: policy, pretty: pretty)
        textKeys = binaryAsText
        defer { textKeys = false }
        e.beginObject()
        e.key("file")
        e.string(file)
        e.key("file_size")
        if let fileSize { e.int(fileSize) } else { e.null() }
        e.key("model")
        e.beginObject()
        e.key("server")
        e.string(model.server.rawValue)
        e.key("allocator")
        e.string(model.allocator.rawValue)
        e.key("note")
        e.string(note)
        e.endObject()
        e.key("totals")
        e.beginObject()
        e.key("keys")
        e.int(analysis.totals.keys)
        e.key("bytes")
        e.int(analysis.totals.bytes)
        e.key("keys_with_expiry")
        e.int(analysis.keysWithExpiry)
        e.key("rough_keys")
        e.int(analysis.roughKeys)
        e.endObject()
        func groups(_ name: StaticString, _ items: [(String, MemoryTally)]) {
            e.key(name)
            e.beginArray()
            for (n, t) in items {
                e.beginObject()
                e.key("name")
                e.string(n)
                e.key("keys")
                e.int(t.keys)
                e.key("bytes")
                e.int(t.bytes)
                e.endObject()
            }
            e.endArray()
        }
        func bySize(_ d: [String: MemoryTally]) -> [(String, MemoryTally)] {
            d.sorted { $0.value.bytes != $1.value.bytes ? $0.value.bytes > $1.value.bytes : $0.key < $1.key }
        }
        groups("by_type", bySize(analysis.byType))
        groups("by_encoding", bySize(analysis.byEncoding))
        groups("by_db", analysis.byDB.sorted { $0.key < $1.key }.map { ("\($0.key)", $0.value) })
        groups("expiry_histogram", Array(zip(MemoryAnalysis.expiryBuckets, analysis.expiryHistogram)))
        groups("element_histogram", Array(zip(MemoryAnalysis.elementBuckets, analysis.elementHistogram)))
        e.key("top_keys")
        keys(analysis.top.sorted, e)
        e.key("top_keys_by_type")
        e.beginObject()
        for (type, top) in analysis.topByType.sorted(by: { $0.key < $1.key }) {
            e.key(text: type)
            keys(top.sorted, e)
        }
        e.endObject()
        let tree = analysis.prefixes
        e.key("prefix_tree")
        e.beginObject()
        e.key("separators")
        e.beginArray()
        for s in tree.separators { e.bytes(RedisBytes(s)) }
        e.endArray()
        e.key("depth")
        e.int(tree.depth)
        e.key("max_prefixes")
        e.int(tree.maxNodes)
        e.key("folded_keys")
        e.int(tree.folded.keys)
        e.key("folded_bytes")
        e.int(tree.folded.bytes)
        e.key("error_bound_bytes")
        e.int(tree.errorBound)
        e.key("root")
        branch(analysis.options.byPrefix ? tree.build() : PrefixTree.Branch(
            prefix: RedisBytes([]), tally: analysis.totals, top: [], children: []), e)
        e.endObject()
        e.endObject()
        return e.output
    }

    private static func branch(_ b: PrefixTree.Branch, _ e: JSONEmitter) {
        e.beginObject()
        e.key("prefix")
        name(b.prefix, e)
        e.key("keys")
        e.int(b.tally.keys)
        e.key("bytes")
        e.int(b.tally.bytes)
        e.key("top_keys")
        keys(b.top, e)
        e.key("children")
        e.beginArray()
        var childKeys = 0
        var childBytes = 0
        for c in b.children {
            branch(c, e)
            childKeys += c.tally.keys
            childBytes += c.tally.bytes
        }
        // What no kept child covers: keys without a further separator, or folded prefixes.
        if !b.children.isEmpty && b.tally.bytes > childBytes {
            e.beginObject()
            e.key("prefix")
            name(b.prefix, e)
            e.key("other")
            e.bool(true)
            e.key("keys")
            e.int(max(0, b.tally.keys - childKeys))
            e.key("bytes")
            e.int(b.tally.bytes - childBytes)
            e.key("top_keys")
            e.beginArray()
            e.endArray()
            e.key("children")
            e.beginArray()
            e.endArray()
            e.endObject()
        }
        e.endArray()
        e.endObject()
    }

    /// Key objects: `{"db","key","type","encoding","bytes","elements","largest","expire_ms"}`.
    public static func keys(_ list: [KeyMemory], _ e: JSONEmitter) {
        e.beginArray()
        for k in list { key(k, e) }
        e.endArray()
    }

    public static func key(_ k: KeyMemory, _ e: JSONEmitter) {
        e.beginObject()
        e.key("db")
        e.int(k.db)
        e.key("key")
        name(k.key, e)
        e.key("type")
        e.string(k.type)
        e.key("encoding")
        e.string(k.encoding)
        e.key("bytes")
        e.int(k.bytes)
        e.key("elements")
        e.int(k.elements)
        e.key("largest")
        e.int(k.largestElement)
        e.key("expire_ms")
        if let x = k.expiresAt { e.int(x.milliseconds) } else { e.null() }
        if k.isRough {
            e.key("rough")
            e.bool(true)
        }
        e.endObject()
    }
}
