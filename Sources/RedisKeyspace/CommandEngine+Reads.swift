import RedisFormats

// read-only commands (answered by rdbkit serve; no-ops when an AOF holds them).

extension CommandEngine {
    static let readOnlyCommands: [Spec] = []
}
