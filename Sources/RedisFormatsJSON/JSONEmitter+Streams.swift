import RedisFormats

// Value parts shared by the RDB exporter and the in-memory value writer.
extension JSONEmitter {
    /// One stream entry: `[id, [[field, value], …]]`.
    func streamEntry(_ entry: StreamEntry) {
        beginArray()
        streamID(entry.id)
        beginArray()
        for f in entry.fields {
            beginArray()
            bytes(f.name)
            bytes(f.value)
            endArray()
        }
        endArray()
        endArray()
    }

    /// The metadata members of a stream object: length, last_id, first_id, max_deleted_entry_id, entries_added.
    func streamMetadata(_ m: StreamMetadata) {
        key("length")
        int(m.length)
        key("last_id")
        streamID(m.lastID)
        key("first_id")
        if let v = m.firstID { streamID(v) } else { null() }
        key("max_deleted_entry_id")
        if let v = m.maxDeletedEntryID { streamID(v) } else { null() }
        key("entries_added")
        if let v = m.entriesAdded { int(v) } else { null() }
    }

    /// A module value: `{"module":name,"encver":n,"raw_b64":…}`.
    func moduleValue(_ m: RedisModuleValue) {
        beginObject()
        key("module")
        string(m.type.name)
        key("encver")
        int(m.type.encodingVersion)
        key("raw_b64")
        base64String(m.raw)
        endObject()
    }

    /// `"field_expire_ms":[[field, ms], …]` when there is any.
    func fieldExpiries(_ ttls: [(RedisBytes, Int64)]) {
        guard !ttls.isEmpty else { return }
        key("field_expire_ms")
        beginArray()
        for (f, ms) in ttls {
            beginArray()
            bytes(f)
            int(ms)
            endArray()
        }
        endArray()
    }

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
