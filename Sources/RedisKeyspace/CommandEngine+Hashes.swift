import RedisFormats

// hash commands (HSET, HSETNX, HMSET, HDEL, HINCRBY, HINCRBYFLOAT, HPEXPIREAT family, HPERSIST).

extension CommandEngine {
    static let hashCommands: [Spec] = []
}
