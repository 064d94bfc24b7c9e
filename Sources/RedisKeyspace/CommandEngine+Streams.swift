import RedisFormats

// stream commands (XADD, XTRIM, XDEL, XSETID, XGROUP, XCLAIM, XAUTOCLAIM, XACK).

extension CommandEngine {
    static let streamCommands: [Spec] = []
}
