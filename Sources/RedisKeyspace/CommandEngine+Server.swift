import RedisFormats

// Server-level commands an AOF holds: SELECT, SWAPDB, FLUSHDB, FLUSHALL, FUNCTION LOAD/DELETE/FLUSH, and the
// no-op ones (PING).

extension CommandEngine {
    static let serverCommands: [Spec] = [
        Spec("select", arity: 2) { e, a throws(CommandFailure) in
            guard let n = RedisInteger.parse(a[1].bytes) else { return .error("ERR value is not an integer or out of range") }
            guard n >= 0, n <= e.keyspace.maxDatabase else { return .error("ERR DB index is out of range") }
            e.db = Int(n)
            return .ok
        },
        Spec("swapdb", arity: 3) { e, a throws(CommandFailure) in
            guard let x = RedisInteger.parse(a[1].bytes) else { return .error("ERR invalid first DB index") }
            guard let y = RedisInteger.parse(a[2].bytes) else { return .error("ERR invalid second DB index") }
            guard x >= 0, y >= 0, x <= e.keyspace.maxDatabase, y <= e.keyspace.maxDatabase else {
                return .error("ERR DB index is out of range")
            }
            e.keyspace.swap(Int(x), Int(y))
            return .ok
        },
        Spec("flushdb", arity: -1) { e, a in
            e.keyspace.flush(db: e.db)
            return .ok
        },
        Spec("flushall", arity: -1) { e, a in
            e.keyspace.flushAll()
            return .ok
        },
        Spec("function", arity: -2) { e, a throws(CommandFailure) in try e.function(a) },
        Spec("ping", arity: -1) { _, a in a.count > 1 ? .bulk(a[1]) : .status("PONG") },
    ]

    /// FUNCTION LOAD [REPLACE] code | DELETE name | FLUSH [ASYNC|SYNC]. Other subcommands do not write.
    func function(_ a: [RedisBytes]) throws(CommandFailure) -> Reply {
        switch CommandEngine.upper(a[1]) {
        case "LOAD":
            var replace = false
            var i = 2
            while i < a.count - 1 {
                guard CommandEngine.upper(a[i]) == "REPLACE" else { return .error("ERR Unknown option given: \(a[i].description)") }
                replace = true
                i += 1
            }
            guard a.count >= 3 else { return .wrongArity("function|load") }
            let code = a[a.count - 1]
            guard let name = RDBFunctionLibrary(code: code).libraryName else {
                return .error("ERR Missing library metadata")
            }
            if !replace && keyspace.functions[name] != nil {
                return .error("ERR Library '\(name)' already exists")
            }
            keyspace.setFunction(name: name, code: code)
            return .bulk(RedisBytes(name))
        case "DELETE":
            guard a.count == 3 else { return .wrongArity("function|delete") }
            let name = a[2].description
            guard keyspace.functions[name] != nil else { return .error("ERR Library not found") }
            keyspace.setFunction(name: name, code: nil)
            return .ok
        case "FLUSH":
            keyspace.removeAllFunctions()
            return .ok
        case "RESTORE":
            return .error("ERR FUNCTION RESTORE is not supported offline")
        default:
            return .ok
        }
    }
}
