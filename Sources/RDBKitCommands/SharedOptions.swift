import ArgumentParser
import RedisFormats
import RedisFormatsJSON

/// Options that tune the reader, shared by every command that reads an RDB.
struct ReaderOptions: ParsableArguments {
    @Flag(name: .customLong("no-checksum"), help: "Do not verify the CRC64 at the end of the file.")
    var noChecksum = false

    @Option(name: .customLong("max-blob"), help: ArgumentHelp("Largest string or blob accepted, in bytes.", valueName: "bytes"))
    var maximumBlobLength: Int = 512 * 1024 * 1024

    func readerOptions(validation: RDBReader.Options.Validation = .structure) -> RDBReader.Options {
        var o = RDBReader.Options()
        o.verifiesChecksum = !noChecksum
        o.maximumBlobLength = maximumBlobLength
        o.validation = validation
        return o
    }

    func validate() throws {
        guard maximumBlobLength > 0 else { throw ValidationError("--max-blob must be positive") }
    }
}

/// Key filters shared by commands that select keys.
struct FilterOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: ArgumentHelp("Keep only this database (repeatable).", valueName: "n"))
    var databases: [UInt64] = []

    @Option(name: .customLong("match"), help: ArgumentHelp("Keep only keys matching this Redis glob (as KEYS/SCAN MATCH).", valueName: "glob"))
    var match: String?

    @Option(
        name: .customLong("type"),
        help: ArgumentHelp(
            "Keep only this type (repeatable): string, list, set, zset, hash, stream, module, or a module type name such as ReJSON-RL.",
            valueName: "type"))
    var types: [String] = []

    static let typeNames: Set<String> = ["string", "list", "set", "zset", "hash", "stream", "module", "array"]

    func validate() throws {
        for t in types where !Self.typeNames.contains(t) && t.utf8.count != 9 {
            throw ValidationError("unknown type '\(t)': use string, list, set, zset, hash, stream, module or a 9-character module type name")
        }
    }

    var filter: RDBKeyFilter {
        RDBKeyFilter(
            databases: databases.isEmpty ? nil : Set(databases),
            glob: match.map { RedisGlob($0) },
            types: types.isEmpty ? nil : Set(types))
    }
}
