import RedisFormats

extension KeyValue {
    /// The encoding a Redis 7.2+ server with default thresholds reports for this content (`OBJECT ENCODING`):
    /// `int`/`embstr`/`raw`, `listpack`/`quicklist`, `intset`/`listpack`/`hashtable`, `listpack`/`skiplist`,
    /// `listpack`/`listpackex`/`hashtable`, `stream`; `module` for module values. A server's answer can differ
    /// by history (APPEND makes a short string `raw`; a converted collection never converts back).
    public func objectEncoding(_ t: RDBTarget.Thresholds = RDBTarget.Thresholds()) -> String {
        switch self {
        case .string(let s):
            if s.count <= 20, RedisInteger.parse(s.bytes) != nil { return "int" }
            return s.count <= 44 ? "embstr" : "raw"
        case .list(let l):
            // A listpack entry costs about its length plus 2 to 10 bytes of header and back-length.
            let bytes = l.byteCount + 2 * l.count + 7
            return bytes <= t.listNodeBytes ? "listpack" : "quicklist"
        case .set(let s):
            if s.isIntegers && s.count <= t.setMaxIntsetEntries { return "intset" }
            return s.count <= t.setMaxListpackEntries && s.maxMemberLength <= t.setMaxListpackValue ? "listpack" : "hashtable"
        case .sortedSet(let z):
            return z.count <= t.zsetMaxEntries && z.maxMemberLength <= t.zsetMaxValue ? "listpack" : "skiplist"
        case .hash(let h):
            guard h.count <= t.hashMaxEntries && h.maxEntryLength <= t.hashMaxValue else { return "hashtable" }
            return h.fieldExpiries.isEmpty ? "listpack" : "listpackex"
        case .stream:
            return "stream"
        case .opaque(let o):
            if case .module = o.value { return "module" }
            return "array"
        }
    }
}
