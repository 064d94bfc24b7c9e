import ArgumentParser
import RedisFormats
import RedisFormatsJSON
import RedisKeyspace

/// rdbkit's documented exit statuses.
public enum RDBKitExit {
    public static let success: Int32 = 0
    public static let corrupt: Int32 = 2
    public static let truncated: Int32 = 3
    public static let unsupported: Int32 = 4
    public static let limitExceeded: Int32 = 5
    public static let usage: Int32 = 64
    public static let noInput: Int32 = 66
    public static let ioError: Int32 = 74

    /// The status for a reader error.
    public static func status(for error: RDBError) -> Int32 {
        switch error.code {
        case .truncated: truncated
        case .corrupt, .checksumMismatch: corrupt
        case .unsupported: unsupported
        case .limitExceeded: limitExceeded
        default: error.message.hasPrefix("cannot open") ? noInput : ioError
        }
    }
}

/// Prints a failure on stderr and turns it into the matching exit status.
func reportFailure(_ error: any Error) -> ExitCode {
    if let e = error as? RDBError {
        Terminal.printError("rdbkit: \(e)")
        return ExitCode(RDBKitExit.status(for: e))
    }
    if let e = error as? OutputError {
        Terminal.printError("rdbkit: \(e)")
        return ExitCode(RDBKitExit.ioError)
    }
    if let e = error as? CommandEngineError {
        Terminal.printError("rdbkit: \(e)")
        return ExitCode(RDBKitExit.unsupported)
    }
    if let e = error as? ExitCode { return e }
    Terminal.printError("rdbkit: \(error)")
    return ExitCode(1)
}
