/// Per-family struct sizes and the allocations of each encoding, after the servers' `object.c`
/// (`objectComputeSize`) and `memoryCommand`. See `docs/memory-model.md` for the sources.
extension MemoryModel {
    /// dictEntry (key, value, next).
    var dictEntry: Int { 24 }

    /// The `dict` struct.
    var dictStruct: Int {
        switch server {
        case .redis5, .redis6_0, .redis6_2: 96
        default: 56
        }
    }

    /// The key's sds and its keyspace entry (MEMORY USAGE adds both to the value's size).
    func keyEntrySize(_ keyLength: Int, hasExpiry: Bool) -> Int {
        sds(keyLength) + dictEntry
    }

    /// OBJECT ENCODING of a string value.
    func stringEncoding(length: Int, isInteger: Bool, keyLength: Int) -> String {
        if isInteger { return "int" }
        return length <= 44 ? "embstr" : "raw"
    }

    func stringSize(length: Int, encoding: String, keyLength: Int) -> Int {
        switch encoding {
        case "int": robj
        case "embstr": alloc(robj + 3 + length + 1)
        default: robj + sds(length)
        }
    }

    /// The allocation a compact blob or quicklist node takes in memory.
    func inMemoryBlobSize(_ blob: RDBEncodedBlob) -> Int {
        blob.byteCount
    }

    /// A list element in a linked (RDB type 1) list: its share of a listpack node.
    func memberSize(_ length: Int, kind: RedisValueKind) -> Int {
        switch kind {
        case .list: length + 2
        default: dictEntry + sds(length)  // a set member in a hashtable
        }
    }

    func quicklistSize(nodes: Int, blobBytes: Int) -> Int {
        robj + 40 + nodes * 32 + blobBytes
    }

    func setTableSize(_ n: Int) -> Int {
        robj + dictStruct + 8 * Self.dictSlots(n)
    }

    /// A skiplist entry: the member's sds, its dict entry, and a node of the expected level (p = 1/4).
    func skiplistEntrySize(_ memberLength: Int) -> Int {
        // E[alloc(32 + 16 * level)] with P(level = k) = (3/4)(1/4)^(k-1).
        var expected = 0.0
        var p = 0.75
        for level in 1...8 {
            expected += p * Double(alloc(32 + 16 * level))
            p /= 4
        }
        return sds(memberLength) + dictEntry + Int(expected.rounded())
    }

    func skiplistSize(_ n: Int) -> Int {
        // robj, zset {dict*, zsl*}, zskiplist, dict with its table, the 32-level header node.
        robj + 16 + 32 + dictStruct + 8 * Self.dictSlots(n) + alloc(32 + 32 * 16)
    }

    func hashEntrySize(field: Int, value: Int, ttl: Bool) -> Int {
        dictEntry + sds(field) + sds(value)
    }

    func hashTableSize(_ n: Int, withTTLs: Bool) -> Int {
        robj + dictStruct + 8 * Self.dictSlots(n)
    }

    /// The listpackEx wrapper of a hash with field TTLs.
    var listpackExExtra: Int { alloc(40) }

    var streamBaseSize: Int { robj + 64 + 48 }

    func streamEntrySize(fieldCount: Int, payload: Int) -> Int {
        payload + 2 * fieldCount + 8
    }

    func streamGroupSize(pending: Int, consumers: Int) -> Int {
        128 + pending * 64 + consumers * 96
    }
}
