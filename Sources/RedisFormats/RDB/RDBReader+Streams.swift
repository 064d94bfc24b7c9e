/// Streams (types 15, 19, 21, 26, 27), `rdb.c` `rdbLoadObject` and `t_stream.c`.
///
/// ```
/// len nodes, nodes × (str nodekey: ms u64 BE + seq u64 BE, str listpack)
/// len length, len last.ms, len last.seq
/// [v2+] len first.ms, len first.seq, len maxdel.ms, len maxdel.seq, len entries_added
/// len groups, groups × (str name, len last.ms, len last.seq, [v2+] len entries_read,
///     len pel, pel × (16-byte BE id, u64le delivery_ms, len delivery_count),
///     len consumers, consumers × (str name, u64le seen_ms, [v3+] u64le active_ms, len pel, pel × 16-byte id),
///     [v5] len nacked, nacked × 16-byte id)
/// [v4+] len idmp_duration, len idmp_max, len producers, producers × (str pid, len n, n × (str iid, len ms, len seq)),
///       len iids_added, len iids_duplicates
/// ```
extension RDBReader {
    /// Stream entry flags in the node listpack.
    private static let flagDeleted: Int64 = 1
    private static let flagSameFields: Int64 = 2

    func streamNode<S: ElementSink>(mode: StepMode, into sink: inout S) throws(ParseFailure) {
        let keyAt = window.offset
        if mode == .skip {
            try window.skipString(maximumLength: maxLen)
            try window.skipString(maximumLength: maxLen)
            return
        }
        let nodeKey = try window.readString(maximumLength: maxLen)
        guard nodeKey.count == 16 else {
            throw .corrupt("stream node key of \(nodeKey.count) bytes (expected 16)", at: keyAt)
        }
        let master = streamID(nodeKey, 0)
        let keep = mode == .materialize
        let deep = self.deep
        try window.withString(maximumLength: maxLen, scratch: scratch) { (blob) throws(BlobFailure) in
            if keep { sink.encodedBlob(RDBEncodedBlob(kind: .listpack, byteCount: blob.count)) }
            var it = try unsafe ListpackIterator(blob, deep: deep)
            guard let first = try it.next() else { throw BlobFailure(message: "empty listpack inside stream", position: 0) }
            guard let liveCount = first.integerValue else {
                throw BlobFailure(message: "stream master entry count is not an integer", position: it.entryStart)
            }
            let deletedCount = try it.requireInt("the master entry's deleted count")
            let masterFieldCount = try it.requireInt("the master entry's field count")
            guard masterFieldCount >= 0 else {
                throw BlobFailure(message: "negative master field count", position: it.entryStart)
            }
            // Memory estimates take entries as their field count and byte count (no owned copies).
            let shapes = keep && sink.countsStreamEntries
            var masterFields: [RedisBytes] = []
            var masterLengths: [Int] = []
            for _ in 0..<masterFieldCount {
                let f = try it.require("a master field name")
                if shapes {
                    masterLengths.append(ShapeSink.length(f))
                } else if keep {
                    masterFields.append(f.redisBytes)
                }
            }
            let terminator = try it.requireInt("the master entry terminator")
            guard terminator == 0 else {
                throw BlobFailure(message: "stream master entry terminator is \(terminator), not 0", position: it.entryStart)
            }
            var live: Int64 = 0
            var deleted: Int64 = 0
            while let flagsValue = try it.next() {
                let entryAt = it.entryStart
                guard let flags = flagsValue.integerValue else {
                    throw BlobFailure(message: "stream entry flags are not an integer", position: entryAt)
                }
                let msDiff = try it.requireInt("an entry's ms delta")
                let seqDiff = try it.requireInt("an entry's seq delta")
                let isDeleted = flags & Self.flagDeleted != 0
                let emitting = keep && !isDeleted && !shapes
                let measuring = shapes && !isDeleted
                var entryBytes = 0
                var fields: [StreamField] = []
                let fieldCount: Int64
                if flags & Self.flagSameFields != 0 {
                    fieldCount = masterFieldCount
                    for i in 0..<Int(masterFieldCount) {
                        let v = try it.require("an entry value")
                        if emitting {
                            fields.append(StreamField(name: masterFields[i], value: v.redisBytes))
                        } else if measuring {
                            entryBytes += masterLengths[i] + ShapeSink.length(v)
                        }
                    }
                } else {
                    fieldCount = try it.requireInt("an entry's field count")
                    guard fieldCount >= 0 else { throw BlobFailure(message: "negative field count", position: it.entryStart) }
                    for _ in 0..<fieldCount {
                        let f = try it.require("an entry field")
                        let v = try it.require("an entry value")
                        if emitting {
                            fields.append(StreamField(name: f.redisBytes, value: v.redisBytes))
                        } else if measuring {
                            entryBytes += ShapeSink.length(f) + ShapeSink.length(v)
                        }
                    }
                }
                let lpCount = try it.requireInt("an entry's lp-count")
                if deep {
                    let expected = flags & Self.flagSameFields != 0 ? fieldCount + 3 : fieldCount * 2 + 4
                    if lpCount != expected {
                        throw BlobFailure(message: "stream entry lp-count \(lpCount), expected \(expected)", position: it.entryStart)
                    }
                }
                if isDeleted { deleted += 1 } else { live += 1 }
                if emitting {
                    let id = StreamID(
                        ms: master.ms &+ UInt64(bitPattern: msDiff), seq: master.seq &+ UInt64(bitPattern: seqDiff))
                    sink.element(.streamEntry(StreamEntry(id: id, fields: fields)))
                } else if measuring {
                    sink.streamEntryShape(fieldCount: Int(fieldCount), byteCount: entryBytes)
                }
            }
            if deep && (live != liveCount || deleted != deletedCount) {
                throw BlobFailure(
                    message: "stream node counts \(liveCount) live and \(deletedCount) deleted entries, found \(live) and \(deleted)",
                    position: 0)
            }
        }
    }

    private func streamID(_ bytes: [UInt8], _ at: Int) -> StreamID {
        var ms: UInt64 = 0
        var seq: UInt64 = 0
        for i in 0..<8 {
            ms = (ms << 8) | UInt64(bytes[at + i])
            seq = (seq << 8) | UInt64(bytes[at + 8 + i])
        }
        return StreamID(ms: ms, seq: seq)
    }

    /// A 16-byte raw ID (ms and seq, both big-endian).
    private func rawStreamID() throws(ParseFailure) -> StreamID {
        let ms = try window.readUInt64BE()
        let seq = try window.readUInt64BE()
        return StreamID(ms: ms, seq: seq)
    }

    /// An ID stored as two lengths.
    private func lengthStreamID() throws(ParseFailure) -> StreamID {
        let ms = try window.readLength()
        let seq = try window.readLength()
        return StreamID(ms: ms, seq: seq)
    }

    func streamMetadata<S: ElementSink>(mode: StepMode, into sink: inout S) throws(ParseFailure) {
        let length = try window.readLength()
        let last = try lengthStreamID()
        var meta = StreamMetadata(length: length, lastID: last)
        if streamVersion >= 2 {
            meta.firstID = try lengthStreamID()
            meta.maxDeletedEntryID = try lengthStreamID()
            meta.entriesAdded = try window.readLength()
        }
        let groups = try window.readLength()
        value = .streamGroups(remaining: groups)
        if mode == .materialize { sink.element(.streamMetadata(meta)) }
    }

    func streamGroup<S: ElementSink>(mode: StepMode, into sink: inout S) throws(ParseFailure) {
        let keep = mode == .materialize
        let nameAt = window.offset
        let name = try string(keep ? .materialize : .validate)
        let lastID = try lengthStreamID()
        var entriesRead: UInt64?
        if streamVersion >= 2 {
            let r = try window.readLength()
            if r != UInt64.max { entriesRead = r }
        }
        let pelCount = try window.readLength()
        var pel: [StreamPendingEntry] = []
        var pelIndex: [StreamID: Int] = [:]
        var i: UInt64 = 0
        while i < pelCount {
            let idAt = window.offset
            let id = try rawStreamID()
            let time = Int64(bitPattern: try window.readUInt64LE())
            let count = try window.readLength()
            if mode != .skip {
                if pelIndex[id] != nil { throw .corrupt("duplicate ID \(id) in a consumer group's PEL", at: idAt) }
                pelIndex[id] = pel.count
                pel.append(StreamPendingEntry(id: id, deliveryTime: RedisTimestamp(milliseconds: time), deliveryCount: count))
            }
            i += 1
        }
        let consumerCount = try window.readLength()
        var consumers: [StreamConsumer] = []
        i = 0
        while i < consumerCount {
            let cname = try string(keep ? .materialize : .validate)
            let seen = Int64(bitPattern: try window.readUInt64LE())
            var active: Int64?
            if streamVersion >= 3 { active = Int64(bitPattern: try window.readUInt64LE()) }
            let n = try window.readLength()
            var ids: [StreamID] = []
            var k: UInt64 = 0
            while k < n {
                let idAt = window.offset
                let id = try rawStreamID()
                if mode != .skip {
                    guard let at = pelIndex[id] else {
                        throw .corrupt("consumer PEL entry \(id) is not in the group's PEL", at: idAt)
                    }
                    if keep { pel[at].consumer = RedisBytes(cname ?? []) }
                    ids.append(id)
                }
                k += 1
            }
            if keep {
                consumers.append(StreamConsumer(
                    name: RedisBytes(cname ?? []), seenTime: RedisTimestamp(milliseconds: seen),
                    activeTime: active.map { RedisTimestamp(milliseconds: $0) }, pending: ids))
            }
            i += 1
        }
        var nacked: [StreamID] = []
        if streamVersion >= 5 {
            let n = try window.readLength()
            var k: UInt64 = 0
            while k < n {
                let id = try rawStreamID()
                if keep { nacked.append(id) }
                k += 1
            }
        }
        _ = nameAt
        if keep {
            sink.element(.streamGroup(StreamConsumerGroup(
                name: RedisBytes(name ?? []), lastDeliveredID: lastID, entriesRead: entriesRead, pending: pel,
                consumers: consumers, nacked: nacked)))
        }
    }

    func streamIdempotency<S: ElementSink>(mode: StepMode, into sink: inout S) throws(ParseFailure) {
        let keep = mode == .materialize
        let duration = try window.readLength()
        let maxEntries = try window.readLength()
        let producerCount = try window.readLength()
        var producers: [StreamIdempotency.Producer] = []
        var p: UInt64 = 0
        while p < producerCount {
            let pid = try string(keep ? .materialize : .validate)
            let n = try window.readLength()
            var entries: [StreamIdempotency.Entry] = []
            var k: UInt64 = 0
            while k < n {
                let iid = try string(keep ? .materialize : .validate)
                let id = try lengthStreamID()
                if keep { entries.append(StreamIdempotency.Entry(iid: RedisBytes(iid ?? []), id: id)) }
                k += 1
            }
            if keep { producers.append(StreamIdempotency.Producer(pid: RedisBytes(pid ?? []), entries: entries)) }
            p += 1
        }
        let added = try window.readLength()
        let duplicates = try window.readLength()
        if keep {
            sink.element(.streamIdempotency(StreamIdempotency(
                durationSeconds: duration, maxEntries: maxEntries, producers: producers, iidsAdded: added,
                iidsDuplicates: duplicates)))
        }
    }
}
