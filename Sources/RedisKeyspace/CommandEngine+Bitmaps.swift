import RedisFormats

// bitmap and HyperLogLog commands (SETBIT, BITOP, BITFIELD, PFADD, PFMERGE).

extension CommandEngine {
    static let bitmapCommands: [Spec] = []
}
