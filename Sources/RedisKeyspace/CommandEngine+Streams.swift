#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import RedisFormats

// Stream commands that write (Redis 7.0 `t_stream.c`): XADD, XTRIM, XDEL, XSETID, XGROUP (CREATE, SETID, DESTROY,
// CREATECONSUMER, DELCONSUMER), XCLAIM, XAUTOCLAIM, XACK and XREADGROUP (served at once; BLOCK is accepted and
// ignored). An AOF records XREADGROUP deliveries as XCLAIM … FORCE JUSTID LASTID, and approximate trims as exact
// ones (the server rewrites `~` to `=` with the resulting length or first ID), so loading never depends on node
// boundaries; live `~` trimming does, and ``StreamValue`` keeps Redis's node boundaries for it.
//
// Consumer seen/active times and PEL delivery times come from ``referenceTime``.

extension CommandEngine {
    static let streamCommands: [Spec] = [
        Spec("xadd", arity: -5) { e, a throws(CommandFailure) in try e.xadd(a) },
        Spec("xtrim", arity: -4) { e, a throws(CommandFailure) in try e.xtrim(a) },
        Spec("xdel", arity: -3) { e, a throws(CommandFailure) in try e.xdel(a) },
        Spec("xsetid", arity: -3) { e, a throws(CommandFailure) in try e.xsetid(a) },
        Spec("xgroup", arity: -2) { e, a throws(CommandFailure) in try e.xgroup(a) },
        Spec("xclaim", arity: -6) { e, a throws(CommandFailure) in try e.xclaim(a) },
        Spec("xautoclaim", arity: -6) { e, a throws(CommandFailure) in try e.xautoclaim(a) },
        Spec("xack", arity: -4) { e, a throws(CommandFailure) in try e.xack(a) },
        Spec("xreadgroup", arity: -7) { e, a throws(CommandFailure) in try e.xreadgroup(a) },
    ]

    static let invalidStreamID = Reply.error("ERR Invalid stream ID specified as stream command argument")
    static let maxStreamID = StreamID(ms: .max, seq: .max)

    // MARK: IDs

    /// `string2ull`: `string2ll` when it works (negative refused), else `strtoull` over the whole C string.
    static func string2ull(_ b: ArraySlice<UInt8>) -> UInt64? {
        if let v = RedisInteger.parse(Array(b)) { return v < 0 ? nil : UInt64(v) }
        guard !b.isEmpty else { return nil }
        var z = Array(b)
        z.append(0)
        errno = 0
        var ok = false
        let v: UInt64 = z.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { c in
                var end: UnsafeMutablePointer<CChar>?
                let r = strtoull(c.baseAddress!, &end, 10)
                ok = end!.pointee == 0
                return UInt64(r)
            }
        }
        guard ok, errno != ERANGE, errno != EINVAL else { return nil }
        return v
    }

    /// `streamGenericParseIDOrReply`: `ms-seq`, `ms` (seq = `missingSeq`), `-`/`+` unless `strict`, and with
    /// `allowAutoSeq` the `ms-*` form (`seqGiven` false). The text is read as a C string (up to a NUL).
    static func parseID(
        _ arg: RedisBytes, missingSeq: UInt64 = 0, strict: Bool, allowAutoSeq: Bool = false
    ) throws(CommandFailure) -> (id: StreamID, seqGiven: Bool) {
        guard arg.count <= 127 else { throw CommandFailure(invalidStreamID) }
        var buf = arg.bytes
        if let nul = buf.firstIndex(of: 0) { buf = Array(buf[..<nul]) }
        if buf == [UInt8(ascii: "-")] {
            if strict { throw CommandFailure(invalidStreamID) }
            return (.zero, true)
        }
        if buf == [UInt8(ascii: "+")] {
            if strict { throw CommandFailure(invalidStreamID) }
            return (maxStreamID, true)
        }
        let dash = buf.firstIndex(of: UInt8(ascii: "-"))
        guard let ms = string2ull(buf[..<(dash ?? buf.endIndex)]) else { throw CommandFailure(invalidStreamID) }
        guard let dash else { return (StreamID(ms: ms, seq: missingSeq), true) }
        let rest = buf[(dash + 1)...]
        if allowAutoSeq && rest.elementsEqual([UInt8(ascii: "*")]) { return (StreamID(ms: ms, seq: 0), false) }
        guard let seq = string2ull(rest) else { throw CommandFailure(invalidStreamID) }
        return (StreamID(ms: ms, seq: seq), true)
    }

    static func strictID(_ arg: RedisBytes) throws(CommandFailure) -> StreamID { try parseID(arg, strict: true).id }

    static func idBytes(_ id: StreamID) -> RedisBytes { RedisBytes("\(id.ms)-\(id.seq)") }

    static func entryReply(_ e: StreamEntry) -> Reply {
        var kv: [Reply] = []
        kv.reserveCapacity(e.fields.count * 2)
        for f in e.fields {
            kv.append(.bulk(f.name))
            kv.append(.bulk(f.value))
        }
        return .array([.bulk(idBytes(e.id)), .array(kv)])
    }

    // MARK: XADD / XTRIM

    struct TrimArgs {
        var strategy: StreamValue.TrimStrategy?
        var approximate = false
        var limit: Int64 = 0
        var id: StreamID?
        var seqGiven = true
        var noMakeStream = false
    }

    /// `streamParseAddOrTrimArgsOrReply`: returns the arguments and the index of the ID (XADD) or the end.
    func parseAddOrTrim(_ a: [RedisBytes], xadd: Bool) throws(CommandFailure) -> (TrimArgs, Int) {
        var args = TrimArgs()
        var limitGiven = false
        var i = 2
        while i < a.count {
            let more = a.count - 1 - i
            let opt = CommandEngine.upper(a[i])
            if xadd && a[i].bytes == [UInt8(ascii: "*")] {
                break
            } else if (opt == "MAXLEN" || opt == "MINID") && more > 0 {
                if args.strategy != nil {
                    throw CommandFailure(.error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible"))
                }
                args.approximate = false
                let next = a[i + 1].bytes
                if more >= 2 && next == [UInt8(ascii: "~")] {
                    args.approximate = true
                    i += 1
                } else if more >= 2 && next == [UInt8(ascii: "=")] {
                    i += 1
                }
                if opt == "MAXLEN" {
                    let n = try CommandEngine.int(a[i + 1])
                    if n < 0 { throw CommandFailure(.error("ERR The MAXLEN argument must be >= 0.")) }
                    args.strategy = .maxLength(UInt64(n))
                } else {
                    args.strategy = .minID(try Self.strictID(a[i + 1]))
                }
                i += 1
            } else if opt == "LIMIT" && more > 0 {
                let n = try CommandEngine.int(a[i + 1])
                if n < 0 { throw CommandFailure(.error("ERR The LIMIT argument must be >= 0.")) }
                args.limit = n
                limitGiven = true
                i += 1
            } else if xadd && opt == "NOMKSTREAM" {
                args.noMakeStream = true
            } else if xadd {
                let p = try Self.parseID(a[i], strict: true, allowAutoSeq: true)
                args.id = p.id
                args.seqGiven = p.seqGiven
                break
            } else {
                throw CommandFailure(.syntax)
            }
            i += 1
        }
        if args.limit != 0 && args.strategy == nil {
            throw CommandFailure(.error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"))
        }
        if !xadd && args.strategy == nil {
            throw CommandFailure(.error("ERR syntax error, XTRIM must be called with a trimming strategy"))
        }
        if now == nil {
            // Loading (what the server does for its master or its AOF): no LIMIT is enforced.
            args.limit = 0
        } else if limitGiven {
            if !args.approximate {
                throw CommandFailure(.error("ERR syntax error, LIMIT cannot be used without the special ~ option"))
            }
        } else {
            args.limit = args.approximate ? Int64(100 * StreamValue.nodeMaxEntries) : 0
        }
        return (args, i)
    }

    func xadd(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        let (args, idPos) = try parseAddOrTrim(a, xadd: true)
        let fieldPos = idPos + 1
        if a.count - fieldPos < 2 || (a.count - fieldPos) % 2 == 1 { return .wrongArity("xadd") }
        if let id = args.id, args.seqGiven, id == .zero {
            return .error("ERR The ID specified in XADD must be greater than 0-0")
        }
        if args.noMakeStream, try stream(a[1]) == nil { return .null }
        let s = try stream(a[1], create: true)!
        if s.lastID == Self.maxStreamID {
            return .error("ERR The stream has exhausted the last possible ID, unable to add more items")
        }
        let tooSmall = Reply.error("ERR The ID specified in XADD is equal or smaller than the target stream top item")
        var id: StreamID
        if let given = args.id {
            if args.seqGiven {
                id = given
            } else if s.lastID.ms == given.ms {
                if s.lastID.seq == .max { return tooSmall }
                id = StreamID(ms: given.ms, seq: s.lastID.seq + 1)
            } else {
                id = given
            }
        } else {
            let ms = UInt64(max(0, referenceTime))
            if ms > s.lastID.ms {
                id = StreamID(ms: ms, seq: 0)
            } else {
                id = s.lastID
                if id.seq == .max {
                    id = StreamID(ms: id.ms + 1, seq: 0)
                } else {
                    id.seq += 1
                }
            }
        }
        if id <= s.lastID { return tooSmall }
        var fields: [StreamField] = []
        fields.reserveCapacity((a.count - fieldPos) / 2)
        var total = 0
        var i = fieldPos
        while i < a.count {
            fields.append(StreamField(name: a[i], value: a[i + 1]))
            total += a[i].count + a[i + 1].count
            i += 2
        }
        if total > 1 << 30 { return .error("ERR Elements are too large to be stored") }
        s.appendEntry(id, fields)
        if let strategy = args.strategy {
            _ = s.trim(strategy, approximate: args.approximate, limit: args.limit)
        }
        return .bulk(Self.idBytes(id))
    }

    func xtrim(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        let (args, _) = try parseAddOrTrim(a, xadd: false)
        guard let s = try stream(a[1]) else { return .integer(0) }
        return .integer(s.trim(args.strategy!, approximate: args.approximate, limit: args.limit))
    }

    // MARK: XDEL / XSETID

    func xdel(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        guard let s = try stream(a[1]) else { return .integer(0) }
        var ids: [StreamID] = []
        for arg in a[2...] { ids.append(try Self.strictID(arg)) }
        var deleted: Int64 = 0
        var firstEntry = false
        for id in ids where s.deleteEntry(id) {
            if id == s.firstID { firstEntry = true }
            if id > s.maxDeletedEntryID { s.maxDeletedEntryID = id }
            deleted += 1
        }
        if deleted > 0 {
            if s.length == 0 {
                s.firstID = .zero
            } else if firstEntry {
                s.firstID = s.edgeID(first: true) ?? Self.maxStreamID
            }
        }
        return .integer(deleted)
    }

    func xsetid(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        let id = try Self.strictID(a[2])
        var entriesAdded: Int64 = -1
        var maxDeleted = StreamID.zero
        var i = 3
        while i < a.count {
            let more = a.count - 1 - i
            switch CommandEngine.upper(a[i]) {
            case "ENTRIESADDED" where more > 0:
                entriesAdded = try CommandEngine.int(a[i + 1])
                if entriesAdded < 0 { return .error("ERR entries_added must be positive") }
            case "MAXDELETEDID" where more > 0:
                maxDeleted = try Self.strictID(a[i + 1])
                if id < maxDeleted {
                    return .error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
                }
            default:
                return .syntax
            }
            i += 2
        }
        guard let s = try stream(a[1]) else { return .noSuchKey }
        if s.length > 0 {
            let top = s.edgeID(first: false) ?? .zero
            if id < top { return .error("ERR The ID specified in XSETID is smaller than the target stream top item") }
            if entriesAdded != -1 && s.length > UInt64(entriesAdded) {
                return .error("ERR The entries_added specified in XSETID is smaller than the target stream length")
            }
        }
        s.lastID = id
        s.legacyMetadata = false
        if entriesAdded != -1 { s.entriesAdded = UInt64(entriesAdded) }
        if maxDeleted != .zero { s.maxDeletedEntryID = maxDeleted }
        return .ok
    }

    // MARK: XGROUP

    func xgroup(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        let sub = CommandEngine.upper(a[1])
        let arities = ["CREATE": -5, "SETID": -5, "DESTROY": 4, "CREATECONSUMER": 5, "DELCONSUMER": 5, "HELP": 2]
        guard let arity = arities[sub] else {
            return .error("ERR unknown subcommand '\(a[1].description)'. Try XGROUP HELP.")
        }
        if (arity > 0 && a.count != arity) || (arity < 0 && a.count < -arity) {
            return .error("ERR wrong number of arguments for 'xgroup|\(sub.lowercased())' command")
        }
        if sub == "HELP" { return .error("ERR XGROUP HELP is not supported offline") }
        let syntax = Reply.error(
            "ERR unknown subcommand or wrong number of arguments for '\(a[1].description)'. Try XGROUP HELP.")
        var makeStream = false
        var entriesRead: Int64 = -1
        if sub == "CREATE" {
            var i = 5
            while i < a.count {
                let opt = CommandEngine.upper(a[i])
                if opt == "MKSTREAM" {
                    makeStream = true
                    i += 1
                } else if opt == "ENTRIESREAD" && i + 1 < a.count {
                    entriesRead = try CommandEngine.int(a[i + 1])
                    if entriesRead < 0 && entriesRead != -1 {
                        return .error("ERR value for ENTRIESREAD must be positive or -1")
                    }
                    i += 2
                } else {
                    return syntax
                }
            }
        }
        var s = try stream(a[2])
        let name = a[3]
        if !makeStream && s == nil {
            return .error(
                "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."
            )
        }
        let group = s?.groups[name]
        if group == nil && (sub == "SETID" || sub == "CREATECONSUMER" || sub == "DELCONSUMER") {
            return .error("NOGROUP No such consumer group '\(name.description)' for key name '\(a[2].description)'")
        }
        switch sub {
        case "CREATE":
            guard a.count <= 8 else { return syntax }
            let id: StreamID
            if a[4].bytes == [UInt8(ascii: "$")] {
                id = s?.lastID ?? .zero
            } else {
                id = try Self.strictID(a[4])
            }
            if s == nil { s = try stream(a[2], create: true) }
            if s!.groups[name] != nil { return .error("BUSYGROUP Consumer Group name already exists") }
            s!.groups[name] = StreamValue.Group(lastID: id, entriesRead: entriesRead)
            return .ok
        case "SETID":
            guard a.count == 5 || a.count == 7 else { return syntax }
            let id: StreamID
            if a[4].bytes == [UInt8(ascii: "$")] {
                id = s!.lastID
            } else {
                id = try Self.parseID(a[4], strict: false).id
            }
            if a.count == 7 {
                guard CommandEngine.upper(a[5]) == "ENTRIESREAD" else { return syntax }
                entriesRead = try CommandEngine.int(a[6])
                if entriesRead < 0 && entriesRead != -1 {
                    return .error("ERR value for ENTRIESREAD must be positive or -1")
                }
            }
            group!.lastID = id
            group!.entriesRead = entriesRead
            return .ok
        case "DESTROY":
            guard group != nil else { return .integer(0) }
            s!.groups[name] = nil
            return .integer(1)
        case "CREATECONSUMER":
            if group!.consumers[a[4]] != nil { return .integer(0) }
            group!.consumers[a[4]] = StreamValue.Consumer(seenTime: referenceTime, activeTime: -1)
            return .integer(1)
        default:  // DELCONSUMER
            guard let c = group!.consumers[a[4]] else { return .integer(0) }
            for id in c.pending { group!.pel[id] = nil }
            group!.consumers[a[4]] = nil
            return .integer(Int64(c.pending.count))
        }
    }

    // MARK: Claims and acks

    func consumer(_ g: StreamValue.Group, _ name: RedisBytes, now: Int64) -> StreamValue.Consumer {
        if let c = g.consumers[name] {
            c.seenTime = now
            return c
        }
        let c = StreamValue.Consumer(seenTime: now, activeTime: -1)
        g.consumers[name] = c
        return c
    }

    /// Drops a PEL entry from the group and its consumer.
    func dropPending(_ g: StreamValue.Group, _ id: StreamID) {
        guard let p = g.pel.removeValue(forKey: id) else { return }
        if let owner = p.consumer { g.consumers[owner]?.pending.remove(id) }
    }

    func xack(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        let s = try stream(a[1])
        var ids: [StreamID] = []
        for arg in a[3...] { ids.append(try Self.strictID(arg)) }
        guard let g = s?.groups[a[2]] else { return .integer(0) }
        var acked: Int64 = 0
        for id in ids where g.pel[id] != nil {
            dropPending(g, id)
            acked += 1
        }
        return .integer(acked)
    }

    func xclaim(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        let s = try stream(a[1])
        guard let s, let g = s.groups[a[2]] else {
            return .error("NOGROUP No such key '\(a[1].description)' or consumer group '\(a[2].description)'")
        }
        guard var minIdle = RedisInteger.parse(a[4].bytes) else {
            return .error("ERR Invalid min-idle-time argument for XCLAIM")
        }
        if minIdle < 0 { minIdle = 0 }
        var ids: [StreamID] = []
        var j = 5
        while j < a.count, let id = try? Self.strictID(a[j]) {
            ids.append(id)
            j += 1
        }
        let now = referenceTime
        var retryCount: Int64 = -1
        var deliveryTime: Int64 = -1
        var force = false, justID = false
        var lastID = StreamID.zero
        while j < a.count {
            let more = a.count - 1 - j
            let opt = CommandEngine.upper(a[j])
            switch opt {
            case "FORCE": force = true
            case "JUSTID": justID = true
            case "IDLE" where more > 0:
                j += 1
                guard let v = RedisInteger.parse(a[j].bytes) else { return .error("ERR Invalid IDLE option argument for XCLAIM") }
                deliveryTime = now &- v
            case "TIME" where more > 0:
                j += 1
                guard let v = RedisInteger.parse(a[j].bytes) else { return .error("ERR Invalid TIME option argument for XCLAIM") }
                deliveryTime = v
            case "RETRYCOUNT" where more > 0:
                j += 1
                guard let v = RedisInteger.parse(a[j].bytes) else {
                    return .error("ERR Invalid RETRYCOUNT option argument for XCLAIM")
                }
                retryCount = v
            case "LASTID" where more > 0:
                j += 1
                lastID = try Self.strictID(a[j])
            default:
                return .error("ERR Unrecognized XCLAIM option '\(a[j].description)'")
            }
            j += 1
        }
        if lastID > g.lastID { g.lastID = lastID }
        if deliveryTime != -1 {
            if deliveryTime < 0 || deliveryTime > now { deliveryTime = now }
        } else {
            deliveryTime = now
        }
        var claimer: StreamValue.Consumer?
        var replies: [Reply] = []
        for id in ids {
            var pending = g.pel[id]
            guard let fields = s.fields(of: id) else {
                if pending != nil { dropPending(g, id) }
                continue
            }
            if force && pending == nil {
                pending = StreamValue.Pending(deliveryTime: now, deliveryCount: 1, consumer: nil)
            }
            guard var p = pending else { continue }
            if p.consumer != nil && minIdle != 0 && now - p.deliveryTime < minIdle { continue }
            let c = claimer ?? consumer(g, a[3], now: now)
            claimer = c
            if p.consumer != a[3], let old = p.consumer { g.consumers[old]?.pending.remove(id) }
            p.deliveryTime = deliveryTime
            if retryCount >= 0 {
                p.deliveryCount = UInt64(bitPattern: retryCount)
            } else if !justID {
                p.deliveryCount += 1
            }
            p.consumer = a[3]
            c.pending.insert(id)
            g.pel[id] = p
            replies.append(justID ? .bulk(Self.idBytes(id)) : Self.entryReply(StreamEntry(id: id, fields: fields)))
        }
        return .array(replies)
    }

    func xautoclaim(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        guard var minIdle = RedisInteger.parse(a[4].bytes) else {
            return .error("ERR Invalid min-idle-time argument for XAUTOCLAIM")
        }
        if minIdle < 0 { minIdle = 0 }
        var startText = a[5]
        var exclusive = false
        if startText.first == UInt8(ascii: "("), startText.count > 1 {
            exclusive = true
            startText = RedisBytes(Array(startText.bytes.dropFirst()))
        }
        var start = try Self.parseID(startText, strict: exclusive).id
        if exclusive {
            if start == Self.maxStreamID { return .error("ERR invalid start ID for the interval") }
            start = start.seq == .max ? StreamID(ms: start.ms + 1, seq: 0) : StreamID(ms: start.ms, seq: start.seq + 1)
        }
        var count = 100
        var justID = false
        var j = 6
        while j < a.count {
            let more = a.count - 1 - j
            let opt = CommandEngine.upper(a[j])
            if opt == "COUNT" && more > 0 {
                guard let n = RedisInteger.parse(a[j + 1].bytes), n >= 1, n <= Int64.max / 16 else {
                    return .error("ERR COUNT must be > 0")
                }
                count = Int(n)
                j += 1
            } else if opt == "JUSTID" {
                justID = true
            } else {
                return .syntax
            }
            j += 1
        }
        let s = try stream(a[1])
        guard let s, let g = s.groups[a[2]] else {
            return .error("NOGROUP No such key '\(a[1].description)' or consumer group '\(a[2].description)'")
        }
        let now = referenceTime
        let ids = g.pel.keys.filter { $0 >= start }.sorted()
        var attempts = count * 10
        var claimer: StreamValue.Consumer?
        var claimed: [Reply] = []
        var deleted: [Reply] = []
        var k = 0
        while attempts > 0 && count > 0 && k < ids.count {
            attempts -= 1
            let id = ids[k]
            k += 1
            guard let fields = s.fields(of: id) else {
                dropPending(g, id)
                deleted.append(.bulk(Self.idBytes(id)))
                count -= 1
                continue
            }
            var p = g.pel[id]!
            if minIdle != 0 && now - p.deliveryTime < minIdle { continue }
            let c = claimer ?? consumer(g, a[3], now: now)
            claimer = c
            if p.consumer != a[3], let old = p.consumer { g.consumers[old]?.pending.remove(id) }
            p.deliveryTime = now
            if !justID { p.deliveryCount += 1 }
            p.consumer = a[3]
            c.pending.insert(id)
            g.pel[id] = p
            claimed.append(justID ? .bulk(Self.idBytes(id)) : Self.entryReply(StreamEntry(id: id, fields: fields)))
            count -= 1
        }
        let next = k < ids.count ? ids[k] : .zero
        return .array([.bulk(Self.idBytes(next)), .array(claimed), .array(deleted)])
    }

    // MARK: XREADGROUP

    func xreadgroup(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        var count = 0
        var noAck = false
        var groupName: RedisBytes?
        var consumerName = RedisBytes("")
        var streamsAt = 0
        var streamCount = 0
        var i = 1
        while i < a.count {
            let more = a.count - i - 1
            let opt = CommandEngine.upper(a[i])
            if opt == "BLOCK" && more > 0 {
                i += 1
                guard let t = RedisInteger.parse(a[i].bytes) else {
                    return .error("ERR timeout is not an integer or out of range")
                }
                if t < 0 { return .error("ERR timeout is negative") }
            } else if opt == "COUNT" && more > 0 {
                i += 1
                let n = try CommandEngine.int(a[i])
                count = n < 0 ? 0 : Int(clamping: n)
            } else if opt == "STREAMS" && more > 0 {
                streamsAt = i + 1
                streamCount = a.count - streamsAt
                if streamCount % 2 != 0 {
                    return .error(
                        "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
                }
                streamCount /= 2
                break
            } else if opt == "GROUP" && more >= 2 {
                groupName = a[i + 1]
                consumerName = a[i + 2]
                i += 2
            } else if opt == "NOACK" {
                noAck = true
            } else {
                return .syntax
            }
            i += 1
        }
        if streamsAt == 0 { return .syntax }
        guard let groupName else { return .error("ERR Missing GROUP option for XREADGROUP") }
        var targets: [(key: RedisBytes, stream: StreamValue, group: StreamValue.Group, id: StreamID?)] = []
        for k in 0..<streamCount {
            let key = a[streamsAt + k]
            let arg = a[streamsAt + streamCount + k]
            let s = try stream(key)
            guard let s, let g = s.groups[groupName] else {
                return .error(
                    "NOGROUP No such key '\(key.description)' or consumer group '\(groupName.description)' in XREADGROUP with GROUP option"
                )
            }
            if arg.bytes == [UInt8(ascii: "$")] {
                return .error(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."
                )
            }
            if arg.bytes == [UInt8(ascii: ">")] {
                targets.append((key, s, g, nil))
            } else {
                targets.append((key, s, g, try Self.strictID(arg)))
            }
        }
        let now = referenceTime
        var out: [Reply] = []
        for t in targets {
            // The consumer is looked up (and created) only for a stream served now: a `>` read with nothing new
            // leaves the group as it was.
            if let after = t.id {
                let c = consumer(t.group, consumerName, now: now)
                // History: this consumer's PEL from the ID after `after`.
                let start = after == Self.maxStreamID ? StreamID.zero : after.seq == .max ? StreamID(ms: after.ms + 1, seq: 0) : StreamID(ms: after.ms, seq: after.seq + 1)
                var items: [Reply] = []
                for id in c.pending.filter({ $0 >= start }).sorted() {
                    if count > 0 && items.count == count { break }
                    if let fields = t.stream.fields(of: id) {
                        items.append(Self.entryReply(StreamEntry(id: id, fields: fields)))
                        t.group.pel[id]?.deliveryTime = now
                        t.group.pel[id]?.deliveryCount += 1
                    } else {
                        items.append(.array([.bulk(Self.idBytes(id)), .array(nil)]))
                    }
                }
                out.append(.array([.bulk(t.key), .array(items)]))
                continue
            }
            guard t.stream.length > 0, let top = t.stream.edgeID(first: false), top > t.group.lastID else { continue }
            let c = consumer(t.group, consumerName, now: now)
            let last = t.group.lastID
            let start = last.seq == .max ? StreamID(ms: last.ms &+ 1, seq: 0) : StreamID(ms: last.ms, seq: last.seq + 1)
            var items: [Reply] = []
            for e in t.stream.entries(from: start, count: count) {
                let s = t.stream
                if e.id > t.group.lastID {
                    if t.group.entriesRead != -1 && !s.rangeHasTombstones(from: e.id) {
                        t.group.entriesRead += 1
                    } else if s.entriesAdded != 0 {
                        t.group.entriesRead = s.estimateDistance(e.id)
                    }
                    t.group.lastID = e.id
                }
                items.append(Self.entryReply(e))
                if !noAck {
                    if let old = t.group.pel[e.id], let owner = old.consumer, owner != consumerName {
                        t.group.consumers[owner]?.pending.remove(e.id)
                    }
                    t.group.pel[e.id] = StreamValue.Pending(deliveryTime: now, deliveryCount: 1, consumer: consumerName)
                    c.pending.insert(e.id)
                }
                c.activeTime = now
            }
            out.append(.array([.bulk(t.key), .array(items)]))
        }
        return out.isEmpty ? .array(nil) : .array(out)
    }
}
