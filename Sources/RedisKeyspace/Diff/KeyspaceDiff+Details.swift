import RedisFormats

// Exact, short descriptions of how two values of one key differ.

/// Collects detail lines, at most `limit` per category; the rest are counted in one closing line per category.
struct DetailList {
    let limit: Int
    /// Lines shown, each with its category.
    private var items: [(category: String, text: String)] = []
    private var perCategory: [String: Int] = [:]

    init(limit: Int) { self.limit = limit }

    mutating func add(_ category: String, _ text: @autoclosure () -> String) {
        let n = perCategory[category, default: 0]
        perCategory[category] = n + 1
        if limit == 0 || n < limit { items.append((category, text())) }
    }

    /// The lines, each category's `… and N more` right after its last shown line.
    var lines: [String] {
        var out: [String] = []
        for (i, item) in items.enumerated() {
            out.append(item.text)
            guard limit > 0, let n = perCategory[item.category], n > limit else { continue }
            let isLast = !items[(i + 1)...].contains { $0.category == item.category }
            if isLast { out.append("… and \(n - limit) more \(item.category.isEmpty ? "differences" : item.category)") }
        }
        return out
    }
}

/// Text forms used in details.
public enum DiffText {
    /// Longest value shown whole; longer ones show this many bytes and their length.
    static let preview = 48

    /// A byte string as a quoted literal: printable UTF-8 as is (with `\"` and `\\` escaped), anything else
    /// escaped as redis-cli prints it (`"a\r\n\xff"`). Long strings are cut and their length given.
    public static func quote(_ b: RedisBytes, limit: Int = 64) -> String {
        if b.count <= limit { return quoteWhole(b) }
        let head = RedisBytes(b.bytes[0..<preview])
        return String(quoteWhole(head, cut: true)) + " (\(b.count) bytes)"
    }

    static func quoteWhole(_ b: RedisBytes, cut: Bool = false) -> String {
        var body: String
        if let s = printable(b.bytes) {
            body = "\""
            for ch in s.unicodeScalars {
                if ch == "\"" || ch == "\\" { body.unicodeScalars.append("\\") }
                body.unicodeScalars.append(ch)
            }
            body += "\""
        } else {
            body = b.escapedDescription
        }
        if cut { body.insert("…", at: body.index(before: body.endIndex)) }
        return body
    }

    /// The string when `bytes` are valid UTF-8 made of printable characters (space the only blank).
    static func printable(_ bytes: [UInt8]) -> String? {
        guard let s = String(validating: bytes, as: UTF8.self) else { return nil }
        for u in s.unicodeScalars {
            if u == " " { continue }
            switch u.properties.generalCategory {
            case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
                .spaceSeparator:
                return nil
            default: continue
            }
        }
        return s
    }

    /// A key as printed in a list: bare when printable without spaces, quoted otherwise.
    public static func key(_ k: RedisBytes) -> String {
        if !k.isEmpty, !k.contains(UInt8(ascii: " ")), !k.contains(UInt8(ascii: "\"")), let s = printable(k.bytes),
            k.count <= 200
        {
            return s
        }
        return quote(k, limit: 200)
    }

    /// A score as Redis prints it: `inf`, `-inf`, an integer without `.0`, or the shortest round-trip form.
    public static func score(_ d: Double) -> String {
        if d == .infinity { return "inf" }
        if d == -.infinity { return "-inf" }
        if d == d.rounded(), abs(d) < 1e17 {
            let i = Int64(d)
            return i == 0 && d.sign == .minus ? "-0" : String(i)
        }
        return d.description
    }

    /// An absolute expiry: `none`, or Unix ms with its UTC time.
    public static func expiry(_ ms: Int64?) -> String {
        guard let ms else { return "none" }
        return "\(ms) (\(utc(ms)))"
    }

    /// `2100-01-01T00:00:00.000Z` for Unix ms.
    public static func utc(_ ms: Int64) -> String {
        let (secs, milli) = ms.quotientAndRemainder(dividingBy: 1000)
        var s = secs
        var m = milli
        if m < 0 {
            m += 1000
            s -= 1
        }
        var days = s / 86400
        var rem = s % 86400
        if rem < 0 {
            rem += 86400
            days -= 1
        }
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let ms3 = m < 10 ? "00\(m)" : m < 100 ? "0\(m)" : "\(m)"
        return "\(year)-\(two(month))-\(two(day))T\(two(rem / 3600)):\(two(rem / 60 % 60)):\(two(rem % 60)).\(ms3)Z"
    }

    static func ids(_ ids: [StreamID], limit: Int) -> String {
        let shown = limit == 0 ? ids : Array(ids.prefix(limit))
        var s = shown.map(\.description).joined(separator: ", ")
        if shown.count < ids.count { s += ", …" }
        return s
    }
}

extension KeyspaceDiff {
    /// Every difference between two sightings of a key (type, expiry, encoding with
    /// ``Options/compareEncoding``, then the value); empty when they are equal as compared.
    public static func details(_ a: DiffKeyValue, _ b: DiffKeyValue, options: Options) -> [String] {
        var out: [String] = []
        if a.typeName != b.typeName {
            out.append("type \(a.typeName) → \(b.typeName)")
        }
        if a.expiresAt != b.expiresAt {
            out.append("expiry \(DiffText.expiry(a.expiresAt)) → \(DiffText.expiry(b.expiresAt))")
        }
        if options.compareEncoding, let ea = a.encoding, let eb = b.encoding, ea != eb {
            out.append("encoding \(ea) → \(eb)")
        }
        if a.typeName == b.typeName, let va = a.value, let vb = b.value {
            out += valueDetails(va, vb, options: options)
        }
        return out
    }

    /// How two values of the same type differ, as short exact lines; empty when equal. Stream fields one side
    /// does not record (`entries_added`, `first_id`, `max_deleted_entry_id`, `entries_read`, `active_time`: older
    /// file versions) are compared only when both record them; stream times only with
    /// ``FingerprintOptions/streamTimes``.
    public static func valueDetails(_ a: RedisValue, _ b: RedisValue, options: Options) -> [String] {
        var d = DetailList(limit: options.detailLimit)
        switch (a, b) {
        case (.string(let x), .string(let y)):
            if x != y { d.add("", stringChange("value", x, y)) }
        case (.list(let x), .list(let y)):
            let n = min(x.count, y.count)
            var i = 0
            while i < n && x[i] == y[i] { i += 1 }
            if i < n {
                var last = n - 1
                while last > i && x[last] == y[last] { last -= 1 }
                var differing = 0
                for j in i...last where x[j] != y[j] { differing += 1 }
                d.add("", "first difference at index \(i): \(DiffText.quote(x[i])) → \(DiffText.quote(y[i]))")
                if differing > 1 { d.add("", "\(differing) positions of the first \(n) differ (last at index \(last))") }
            }
            if x.count != y.count { d.add("", "length \(x.count) → \(y.count)") }
        case (.set(let x), .set(let y)):
            let sx = x.sorted()
            let sy = y.sorted()
            var i = 0
            var j = 0
            while i < sx.count || j < sy.count {
                if j == sy.count || (i < sx.count && sx[i] < sy[j]) {
                    d.add("members only in A", "member \(DiffText.quote(sx[i])) only in A")
                    i += 1
                } else if i == sx.count || sy[j] < sx[i] {
                    d.add("members only in B", "member \(DiffText.quote(sy[j])) only in B")
                    j += 1
                } else {
                    i += 1
                    j += 1
                }
            }
            if x.count != y.count { d.add("", "cardinality \(x.count) → \(y.count)") }
        case (.sortedSet(let x), .sortedSet(let y)):
            var sa: [RedisBytes: Double] = [:]
            for e in x { sa[e.member] = e.score }
            var sb: [RedisBytes: Double] = [:]
            for e in y { sb[e.member] = e.score }
            for m in Set(sa.keys).union(sb.keys).sorted() {
                switch (sa[m], sb[m]) {
                case (let p?, let q?) where p.bitPattern != q.bitPattern:
                    d.add("score changes", "member \(DiffText.quote(m)) score \(DiffText.score(p)) → \(DiffText.score(q))")
                case (let p?, nil):
                    d.add("members only in A", "member \(DiffText.quote(m)) only in A (score \(DiffText.score(p)))")
                case (nil, let q?):
                    d.add("members only in B", "member \(DiffText.quote(m)) only in B (score \(DiffText.score(q)))")
                default: break
                }
            }
            if x.count != y.count { d.add("", "cardinality \(x.count) → \(y.count)") }
        case (.hash(let x), .hash(let y)):
            var fa: [RedisBytes: HashField] = [:]
            for f in x { fa[f.field] = f }
            var fb: [RedisBytes: HashField] = [:]
            for f in y { fb[f.field] = f }
            for k in Set(fa.keys).union(fb.keys).sorted() {
                switch (fa[k], fb[k]) {
                case (let p?, let q?):
                    if p.value != q.value {
                        d.add("changed fields", "field \(DiffText.quote(k)) \(valueChange(p.value, q.value))")
                    }
                    if p.expiresAt != q.expiresAt {
                        d.add(
                            "field TTL changes",
                            "field \(DiffText.quote(k)) TTL \(DiffText.expiry(p.expiresAt?.milliseconds)) → \(DiffText.expiry(q.expiresAt?.milliseconds))"
                        )
                    }
                case (_?, nil): d.add("fields only in A", "field \(DiffText.quote(k)) only in A")
                case (nil, _?): d.add("fields only in B", "field \(DiffText.quote(k)) only in B")
                default: break
                }
            }
        case (.stream(let x), .stream(let y)):
            streamDetails(x, y, options: options, into: &d)
        case (.module(let x), .module(let y)):
            if x.type != y.type {
                d.add("", "module type \(x.type) → \(y.type)")
            } else if x.raw != y.raw {
                d.add("", "module value differs (\(x.raw.count) bytes → \(y.raw.count) bytes)")
            }
        case (.array(let x), .array(let y)):
            var ia: [UInt64: RedisBytes] = [:]
            for e in x { ia[e.index] = e.value }
            var ib: [UInt64: RedisBytes] = [:]
            for e in y { ib[e.index] = e.value }
            for i in Set(ia.keys).union(ib.keys).sorted() {
                switch (ia[i], ib[i]) {
                case (let p?, let q?) where p != q: d.add("changed indexes", "index \(i) \(valueChange(p, q))")
                case (_?, nil): d.add("indexes only in A", "index \(i) only in A")
                case (nil, _?): d.add("indexes only in B", "index \(i) only in B")
                default: break
                }
            }
        default:
            d.add("", "type \(a.typeName) → \(b.typeName)")
        }
        return d.lines
    }

    /// `"bob" → "alice"`, or for long values their lengths and the first differing byte.
    static func valueChange(_ x: RedisBytes, _ y: RedisBytes) -> String {
        if x.count <= 64 && y.count <= 64 { return "\(DiffText.quote(x)) → \(DiffText.quote(y))" }
        let n = min(x.count, y.count)
        var i = 0
        while i < n && x.bytes[i] == y.bytes[i] { i += 1 }
        return "\(DiffText.quote(x)) → \(DiffText.quote(y)), first difference at byte \(i)"
    }

    static func stringChange(_ label: String, _ x: RedisBytes, _ y: RedisBytes) -> String {
        "\(label) \(valueChange(x, y))"
    }

    static func optionalChange<T: Equatable & CustomStringConvertible>(
        _ name: String, _ x: T?, _ y: T?, into d: inout DetailList, prefix: String = ""
    ) {
        if let x, let y, x != y { d.add("", "\(prefix)\(name) \(x) → \(y)") }
    }

    static func streamDetails(_ x: RedisStream, _ y: RedisStream, options: Options, into d: inout DetailList) {
        let limit = options.detailLimit
        // Entries, merged by ID (both sides are in ID order; sort in case one is not).
        let ea = x.entries.sorted { $0.id < $1.id }
        let eb = y.entries.sorted { $0.id < $1.id }
        var added: [StreamID] = []
        var removed: [StreamID] = []
        var changed: [StreamID] = []
        var i = 0
        var j = 0
        while i < ea.count || j < eb.count {
            if j == eb.count || (i < ea.count && ea[i].id < eb[j].id) {
                removed.append(ea[i].id)
                i += 1
            } else if i == ea.count || eb[j].id < ea[i].id {
                added.append(eb[j].id)
                j += 1
            } else {
                if ea[i].fields != eb[j].fields { changed.append(ea[i].id) }
                i += 1
                j += 1
            }
        }
        if !added.isEmpty { d.add("", "entries: \(added.count) added (\(DiffText.ids(added, limit: limit)))") }
        if !removed.isEmpty { d.add("", "entries: \(removed.count) removed (\(DiffText.ids(removed, limit: limit)))") }
        if !changed.isEmpty { d.add("", "entries: \(changed.count) changed (\(DiffText.ids(changed, limit: limit)))") }
        let ma = x.metadata
        let mb = y.metadata
        if ma.length != mb.length { d.add("", "length \(ma.length) → \(mb.length)") }
        if ma.lastID != mb.lastID { d.add("", "last_id \(ma.lastID) → \(mb.lastID)") }
        optionalChange("first_id", ma.firstID, mb.firstID, into: &d)
        optionalChange("max_deleted_entry_id", ma.maxDeletedEntryID, mb.maxDeletedEntryID, into: &d)
        optionalChange("entries_added", ma.entriesAdded, mb.entriesAdded, into: &d)
        // Groups by name.
        var ga: [RedisBytes: StreamConsumerGroup] = [:]
        for g in x.groups { ga[g.name] = g }
        var gb: [RedisBytes: StreamConsumerGroup] = [:]
        for g in y.groups { gb[g.name] = g }
        for name in Set(ga.keys).union(gb.keys).sorted() {
            let label = "group \(DiffText.quote(name))"
            guard let p = ga[name] else {
                d.add("groups only in B", "\(label) only in B")
                continue
            }
            guard let q = gb[name] else {
                d.add("groups only in A", "\(label) only in A")
                continue
            }
            groupDetails(p, q, label: label, options: options, into: &d)
        }
        if x.idempotency != y.idempotency { d.add("", "idempotent-producer state differs") }
    }

    static func groupDetails(
        _ p: StreamConsumerGroup, _ q: StreamConsumerGroup, label: String, options: Options, into d: inout DetailList
    ) {
        let times = options.fingerprint.streamTimes
        if p.lastDeliveredID != q.lastDeliveredID {
            d.add("", "\(label): last_delivered_id \(p.lastDeliveredID) → \(q.lastDeliveredID)")
        }
        optionalChange("entries_read", p.entriesRead, q.entriesRead, into: &d, prefix: "\(label): ")
        var pa: [StreamID: StreamPendingEntry] = [:]
        for e in p.pending { pa[e.id] = e }
        var pb: [StreamID: StreamPendingEntry] = [:]
        for e in q.pending { pb[e.id] = e }
        for id in Set(pa.keys).union(pb.keys).sorted() {
            switch (pa[id], pb[id]) {
            case (let u?, let v?):
                if u.deliveryCount != v.deliveryCount {
                    d.add("PEL changes", "\(label): pending \(id) delivery_count \(u.deliveryCount) → \(v.deliveryCount)")
                }
                if u.consumer != v.consumer {
                    d.add(
                        "PEL changes",
                        "\(label): pending \(id) consumer \(u.consumer.map { DiffText.quote($0) } ?? "none") → \(v.consumer.map { DiffText.quote($0) } ?? "none")"
                    )
                }
                if times && u.deliveryTime != v.deliveryTime {
                    d.add("PEL changes", "\(label): pending \(id) delivery_time \(u.deliveryTime) → \(v.deliveryTime)")
                }
            case (_?, nil): d.add("PEL entries only in A", "\(label): pending \(id) only in A")
            case (nil, _?): d.add("PEL entries only in B", "\(label): pending \(id) only in B")
            default: break
            }
        }
        var ca: [RedisBytes: StreamConsumer] = [:]
        for c in p.consumers { ca[c.name] = c }
        var cb: [RedisBytes: StreamConsumer] = [:]
        for c in q.consumers { cb[c.name] = c }
        for name in Set(ca.keys).union(cb.keys).sorted() {
            let cl = "\(label): consumer \(DiffText.quote(name))"
            switch (ca[name], cb[name]) {
            case (let u?, let v?):
                let up = u.pending.sorted()
                let vp = v.pending.sorted()
                if up != vp {
                    d.add(
                        "consumer changes",
                        "\(cl) pending [\(DiffText.ids(up, limit: options.detailLimit))] → [\(DiffText.ids(vp, limit: options.detailLimit))]")
                }
                if times {
                    if u.seenTime != v.seenTime { d.add("consumer changes", "\(cl) seen_time \(u.seenTime) → \(v.seenTime)") }
                    if let s = u.activeTime, let t = v.activeTime, s != t {
                        d.add("consumer changes", "\(cl) active_time \(s) → \(t)")
                    }
                }
            case (_?, nil): d.add("consumers only in A", "\(cl) only in A")
            case (nil, _?): d.add("consumers only in B", "\(cl) only in B")
            default: break
            }
        }
        if p.nacked.sorted() != q.nacked.sorted() { d.add("", "\(label): nacked entries differ") }
    }
}
