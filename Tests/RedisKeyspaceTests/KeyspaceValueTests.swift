import RedisFormats
import RedisKeyspace
import Testing
import _RedisFormatsTestSupport

@Suite("Keyspace values")
struct KeyspaceValueTests {
    /// A server's corpus all-types RDB read whole, and loaded into a new keyspace (with the loader's key count).
    static func loadAllTypes(_ server: String) throws -> (result: RDBReadResult, keyspace: Keyspace, loaded: Int) {
        let path = Corpus.fixture("\(server)/rdb/all-types.rdb")
        let result = try RDBReader.readAll(bytes: try Corpus.readBytes(path))
        let ks = Keyspace()
        let loaded = try KeyspaceLoader(keyspace: ks).loadRDB(try RDBReader(path: path))
        return (result, ks, loaded)
    }

    @Test("Every value of every corpus all-types RDB goes into the keyspace and comes back unchanged")
    func roundTrip() throws {
        for server in Corpus.servers {
            let (result, ks, loaded) = try Self.loadAllTypes(server)
            #expect(loaded == result.keys.count)
            for kv in result.keys {
                let e = try #require(ks.entry(db: Int(kv.header.db), key: kv.header.key), "\(server) \(kv.header.key)")
                #expect(e.expiresAt == kv.header.expiresAt?.milliseconds)
                let got = e.value.redisValue
                switch (got, kv.value) {
                case (.set(let a), .set(let b)):
                    #expect(a.sorted() == b.sorted(), "\(server) \(kv.header.key)")
                case (.hash(let a), .hash(let b)):
                    #expect(a.sorted { $0.field < $1.field } == b.sorted { $0.field < $1.field }, "\(server) \(kv.header.key)")
                case (.sortedSet(let a), .sortedSet(let b)):
                    // Rank order (a skiplist is stored from the highest rank down).
                    let want = b.sorted(by: SortedSetValue.precedes)
                    #expect(a.map(\.member) == want.map(\.member), "\(server) \(kv.header.key): rank order")
                    #expect(a.map(\.score.bitPattern) == want.map(\.score.bitPattern), "\(server) \(kv.header.key)")
                default:
                    #expect(got == kv.value, "\(server) \(kv.header.key)")
                }
            }
        }
    }

    @Test("Type and expiry counts of each database equal a walk of its keys and the source RDB's key and expiry counts")
    func typeCounts() throws {
        for server in Corpus.servers {
            let (result, ks, _) = try Self.loadAllTypes(server)
            for db in ks.nonEmptyDatabases {
                let keys = result.keys.filter { Int($0.header.db) == db }
                let expires = keys.filter { $0.header.expiresAt != nil }.count
                var walked: [String: Int] = [:]
                var walkedExpires = 0
                ks.databases[db]!.forEachTypeAndExpiry { name, hasExpiry in
                    walked[name, default: 0] += 1
                    if hasExpiry { walkedExpires += 1 }
                }
                let counted = ks.databases[db]!.typeAndExpiryCounts()
                #expect(counted.types == walked && counted.expires == walkedExpires, "\(server) db \(db)")
                #expect(counted.expires == expires, "\(server) db \(db)")
                #expect(counted.types.values.reduce(0, +) == keys.count, "\(server) db \(db)")
                #expect(counted.types.count >= 5, "\(server) db \(db): \(counted.types)")
            }
        }
    }

    @Test("Packed entries: insert, remove, replace and split keep every byte")
    func packedEntries() {
        var p = PackedEntries()
        let items = (0..<300).map { RedisBytes(String(repeating: "x", count: $0 % 200)) }
        for i in items { p.append(i) }
        #expect(p.elements == items)
        p.insert(Array("mid".utf8), at: 150)
        #expect(p[150] == "mid")
        p.remove(at: 150)
        #expect(p.elements == items)
        p.replace(at: 0, with: Array(repeating: 0xFF, count: 1000))
        #expect(p[0].count == 1000)
        let tail = p.split(at: 100)
        #expect(p.count == 100 && tail.count == 200)
        #expect(tail.elements == Array(items[100...]))
    }
}
