import RedisFormats

/// Writes keys held in memory (the reader's ``RedisValue`` model) in the JSON Lines form of `rdbkit json`:
/// what `rdbkit json` prints for an AOF's final keyspace, and what `diff --json` shows.
public final class ValueJSONWriter {
    private let e: JSONEmitter
    private let sink: any JSONByteSink
    /// One indented JSON array instead of JSON Lines.
    public let pretty: Bool
    private var keysWritten = 0

    public init(sink: any JSONByteSink, policy: JSONBytesPolicy = .utf8OrBase64, pretty: Bool = false) {
        self.sink = sink
        self.pretty = pretty
        e = JSONEmitter(policy: policy, pretty: pretty)
        if pretty { e.beginArray() }
    }

    /// One key: `{"db":…,"key":…,"type":…,"encoding":…,"expire_ms":…,"value":…}` plus `field_expire_ms` when
    /// hash fields have TTLs. Sets and hashes are written in the order given; zsets in the order given (pass
    /// rank order).
    public func write(db: Int, key: RedisBytes, value: RedisValue, encoding: String, expiresAt: Int64?) throws {
        e.beginObject()
        e.key("db")
        e.int(db)
        e.key("key")
        e.bytes(key)
        e.key("type")
        e.string(value.typeName)
        e.key("encoding")
        e.string(encoding)
        e.key("expire_ms")
        if let x = expiresAt { e.int(x) } else { e.null() }
        e.key("value")
        var fieldTTLs: [(RedisBytes, Int64)] = []
        switch value {
        case .string(let s):
            e.bytes(s)
        case .list(let items), .set(let items):
            e.beginArray()
            for i in items { e.bytes(i) }
            e.endArray()
        case .sortedSet(let entries):
            e.beginArray()
            for z in entries {
                e.beginArray()
                e.bytes(z.member)
                e.score(z.score)
                e.endArray()
            }
            e.endArray()
        case .hash(let fields):
            e.beginArray()
            for f in fields {
                e.beginArray()
                e.bytes(f.field)
                e.bytes(f.value)
                e.endArray()
                if let x = f.expiresAt { fieldTTLs.append((f.field, x.milliseconds)) }
            }
            e.endArray()
        case .stream(let s):
            writeStream(s)
        case .module(let m):
            e.moduleValue(m)
        case .array(let elements):
            e.beginArray()
            for x in elements {
                e.beginArray()
                e.int(x.index)
                e.bytes(x.value)
                e.endArray()
            }
            e.endArray()
        }
        e.fieldExpiries(fieldTTLs)
        e.endObject()
        if !pretty { e.raw(UInt8(ascii: "\n")) }
        keysWritten += 1
        if e.count >= 256 * 1024 { try e.drain(into: sink) }
    }

    private func writeStream(_ s: RedisStream) {
        e.beginObject()
        e.key("entries")
        e.beginArray()
        for entry in s.entries { e.streamEntry(entry) }
        e.endArray()
        e.streamMetadata(s.metadata)
        e.key("groups")
        e.beginArray()
        for g in s.groups { e.streamGroup(g) }
        e.endArray()
        if let i = s.idempotency { e.streamIdempotency(i) }
        e.endObject()
    }

    /// Writes what is buffered (and closes the array of `pretty` output).
    public func finish() throws {
        if pretty {
            e.endArray()
            e.raw(UInt8(ascii: "\n"))
        }
        try e.drain(into: sink)
    }
}
