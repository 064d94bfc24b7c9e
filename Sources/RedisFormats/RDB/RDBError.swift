/// What the reader was doing when an error happened. The names are those of `redis-check-rdb`.
public struct RDBPhase: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let start = Self(rawValue: "start")
    public static let readType = Self(rawValue: "read-type")
    public static let readExpire = Self(rawValue: "read-expire")
    public static let readKey = Self(rawValue: "read-key")
    public static let readObjectValue = Self(rawValue: "read-object-value")
    public static let checkSum = Self(rawValue: "check-sum")
    public static let readLen = Self(rawValue: "read-len")
    public static let readAux = Self(rawValue: "read-aux")
    public static let readModuleAux = Self(rawValue: "read-module-aux")
    public static let readFunctions = Self(rawValue: "read-functions")
    public var description: String { rawValue }
}

/// An error reading a persistence file, with where it happened and what was expected.
///
/// ```
/// [offset 18412] corrupt: listpack entry runs past the end of its blob
///   at byte 37 of the decoded blob
///   while doing: read-object-value
///   reading key "session:9f1c"
///   reading type 16 (hash-listpack)
/// ```
public struct RDBError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure. A struct so that codes can be added without breaking `switch`es.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable {
            case truncated, corrupt, unsupported, limitExceeded = "limit-exceeded"
            case checksumMismatch = "checksum-mismatch", io
        }
        let base: Base
        /// The input ends before the item being read is complete.
        public static let truncated = Code(base: .truncated)
        /// Bytes that no valid writer produces.
        public static let corrupt = Code(base: .corrupt)
        /// A valid but unsupported version, type or opcode.
        public static let unsupported = Code(base: .unsupported)
        /// A declared size beyond the reader's limits (``RDBReader/Options``).
        public static let limitExceeded = Code(base: .limitExceeded)
        /// The stored CRC64 differs from the computed one.
        public static let checksumMismatch = Code(base: .checksumMismatch)
        /// Reading the input failed.
        public static let io = Code(base: .io)
        public var description: String { base.rawValue }
    }

    public var code: Code
    /// What was expected or found, in words.
    public var message: String
    /// Absolute offset of the failing item in the input (for compressed input: in the decompressed stream).
    public var offset: Int64?
    /// Offset inside a decoded blob (listpack, ziplist, intset, zipmap, LZF output), which has no file offset.
    public var blobOffset: Int?
    public var phase: RDBPhase?
    public var db: UInt64?
    public var key: RedisBytes?
    public var valueType: RDBValueType?
    /// The file the error is in, when known.
    public var file: String?

    public init(
        _ code: Code, _ message: String, offset: Int64? = nil, blobOffset: Int? = nil, phase: RDBPhase? = nil,
        db: UInt64? = nil, key: RedisBytes? = nil, valueType: RDBValueType? = nil, file: String? = nil
    ) {
        self.code = code
        self.message = message
        self.offset = offset
        self.blobOffset = blobOffset
        self.phase = phase
        self.db = db
        self.key = key
        self.valueType = valueType
        self.file = file
    }

    /// The multi-line report shown to users.
    public var description: String {
        var s = ""
        if let offset { s += "[offset \(offset)] " }
        s += "\(code): \(message)"
        if let file { s += "\n  in file \(file)" }
        if let blobOffset { s += "\n  at byte \(blobOffset) of the decoded blob" }
        if let phase { s += "\n  while doing: \(phase)" }
        if let db { s += "\n  in db \(db)" }
        if let key { s += "\n  reading key \(key.escapedDescription)" }
        if let valueType { s += "\n  reading \(valueType)" }
        return s
    }
}

/// A primitive's failure: code, message and position only. The reader adds its context.
struct ParseFailure: Error {
    var code: RDBError.Code
    var message: String
    var offset: Int64
    var blobOffset: Int? = nil

    static func truncated(_ message: String, at offset: Int64) -> ParseFailure {
        ParseFailure(code: .truncated, message: message, offset: offset)
    }
    static func corrupt(_ message: String, at offset: Int64, blobOffset: Int? = nil) -> ParseFailure {
        ParseFailure(code: .corrupt, message: message, offset: offset, blobOffset: blobOffset)
    }
    static func unsupported(_ message: String, at offset: Int64) -> ParseFailure {
        ParseFailure(code: .unsupported, message: message, offset: offset)
    }
}

/// A failure inside a decoded blob, at `position` bytes from its start.
struct BlobFailure: Error {
    var message: String
    var position: Int
    var code: RDBError.Code = .corrupt
}
