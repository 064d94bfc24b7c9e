import RedisFormats

// sorted set commands (ZADD with all flags, ZINCRBY, ZREM*, ZPOP*, ZRANGESTORE, Z*STORE).

extension CommandEngine {
    static let sortedSetCommands: [Spec] = []
}
