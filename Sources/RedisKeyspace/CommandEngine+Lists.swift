import RedisFormats

// list commands (LPUSH … LMOVE/LMPOP/LINSERT/LSET/LREM/LTRIM).

extension CommandEngine {
    static let listCommands: [Spec] = []
}
