import RedisFormats

// set commands (SADD, SREM, SMOVE, SPOP, the STORE variants).

extension CommandEngine {
    static let setCommands: [Spec] = []
}
