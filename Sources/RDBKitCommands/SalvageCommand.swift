import ArgumentParser
import RedisFormats

/// `rdbkit salvage IN.rdb -o OUT.rdb`: rescue the intact keys of a damaged RDB.
struct SalvageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "salvage",
        abstract: "Rescue every intact key of a damaged RDB into a new, valid RDB.",
        discussion: """
            Keys are copied until the first damage; reading then resumes at the next offset where a key \
            record and the record after it decode fully and validate deeply (so random bytes are not \
            taken for keys). Every byte range lost is reported with the error that started it. A CRC64 \
            mismatch alone loses nothing: every key is still decoded and validated. The input is never \
            changed; the output is written to a temporary file, synced and renamed.

            EXAMPLES:
              rdbkit salvage broken.rdb -o rescued.rdb
            """
    )

    @Argument(help: "The damaged RDB.")
    var input: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The RDB to write.", valueName: "file"))
    var output: String

    func run() throws {
        do {
            let r = try RDBSalvage.salvage(input: input, output: output)
            var text = "wrote \(output): \(r.keysRecovered) keys recovered (\(r.keysBeforeFirstDamage) before the first damage)\n"
            if r.checksumMismatch { text += "  the CRC64 did not match; every key was decoded and validated one by one\n" }
            for (range, error) in r.lost {
                text += "  lost bytes \(range.lowerBound)..<\(range.upperBound) (\(range.upperBound - range.lowerBound) bytes): \(error.code): \(error.message)"
                if let k = error.key { text += " (key \(k.escapedDescription))" }
                text += "\n"
            }
            if r.lost.isEmpty && !r.checksumMismatch { text += "  the input has no damage\n" }
            Terminal.writeAll(1, Array(text.utf8))
        } catch {
            throw reportFailure(error)
        }
    }
}
