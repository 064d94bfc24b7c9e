import RedisFormats

// Stream parts shared by the RDB exporter and the keyspace writer.
extension JSONEmitter {
    /// A consumer group: name, last delivered id, entries read, PEL, consumers, NACKed ids.
    func streamGroup(_ g: StreamConsumerGroup) {
        beginObject()
        key("name")
        bytes(g.name)
        key("last_delivered_id")
        streamID(g.lastDeliveredID)
        key("entries_read")
        if let r = g.entriesRead { int(r) } else { null() }
        key("pel")
        beginArray()
        for p in g.pending {
            beginArray()
            streamID(p.id)
            if let c = p.consumer { bytes(c) } else { null() }
            int(p.deliveryCount)
            int(p.deliveryTime.milliseconds)
            endArray()
        }
        endArray()
        key("consumers")
        beginArray()
        for c in g.consumers {
            beginObject()
            key("name")
            bytes(c.name)
            key("seen_time_ms")
            int(c.seenTime.milliseconds)
            key("active_time_ms")
            if let a = c.activeTime { int(a.milliseconds) } else { null() }
            key("pel")
            beginArray()
            for id in c.pending { streamID(id) }
            endArray()
            endObject()
        }
        endArray()
        if !g.nacked.isEmpty {
            key("nacked")
            beginArray()
            for id in g.nacked { streamID(id) }
            endArray()
        }
        endObject()
    }

    /// Stream v4 idempotent-producer state (`idmp`).
    func streamIdempotency(_ i: StreamIdempotency) {
        key("idmp")
        beginObject()
        key("duration_s")
        int(i.durationSeconds)
        key("max_entries")
        int(i.maxEntries)
        key("iids_added")
        int(i.iidsAdded)
        key("iids_duplicates")
        int(i.iidsDuplicates)
        key("producers")
        beginArray()
        for p in i.producers {
            beginObject()
            key("pid")
            bytes(p.pid)
            key("entries")
            beginArray()
            for x in p.entries {
                beginArray()
                bytes(x.iid)
                streamID(x.id)
                endArray()
            }
            endArray()
            endObject()
        }
        endArray()
        endObject()
    }
}
