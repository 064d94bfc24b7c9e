import ArgumentParser

/// The `rdbkit` command tree. A library so tests can drive it (`RDBKit.parseAsRoot([...])`).
public struct RDBKit: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rdbkit",
        abstract: "Inspect, validate and convert Redis and Valkey persistence files (RDB).",
        discussion: """
            Reads every RDB written by Redis 2.x to 8.x (RDB 1 to 14) and Valkey 7.2 to 9.x, \
            streaming: memory stays flat whatever the file size. Gzip-compressed files are read \
            transparently; `-` reads standard input.

            EXAMPLES:
              rdbkit info dump.rdb
              rdbkit json dump.rdb > dump.jsonl
              rdbkit json --match 'user:*' --type hash --db 0 dump.rdb
              rdbkit json --pretty dump.rdb.gz | less

            EXIT STATUS:
              0   success
              2   the file is corrupt (bad bytes, CRC64 mismatch)
              3   the file is truncated
              4   the file uses a version, type or opcode this rdbkit does not support
              5   a declared size exceeds a limit (--max-blob)
              64  usage error
              66  the input cannot be opened
              74  I/O error reading the input or writing the output
            """,
        version: RDBKitVersion.string,
        subcommands: [JSONCommand.self, DiffCommand.self, InfoCommand.self, MemoryCommand.self, CheckCommand.self, RepairCommand.self, RewriteCommand.self, SplitCommand.self, ConvertCommand.self, SalvageCommand.self, AOFCommand.self, ServeCommand.self, ReplayCommand.self]
    )
    public init() {}
}

/// The version of rdbkit.
public enum RDBKitVersion {
    public static let string = "0.1.0"
}

/// Entry point for the `rdbkit` executable.
public enum RDBKitEntry {
    public static func main() { RDBKit.main() }
}
