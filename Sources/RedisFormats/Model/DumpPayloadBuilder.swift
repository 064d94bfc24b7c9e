/// Builds the `DUMP` payload of the value an ``RDBReader`` is at from the value's bytes as stored: the type
/// byte, the value bytes, the RDB version (u16 LE) and the CRC64 of all of that (LE), as `createDumpPayload`
/// in `redis/src/cluster.c` lays it out.
///
/// The value bytes are copied once, from the reader's buffer into ``payload`` (a buffer kept from key to
/// key), without decoding and without a per-value array; the CRC64 runs once over the finished payload.
///
/// ```swift
/// let builder = DumpPayloadBuilder()
/// while let record = try reader.next() {
///     guard case .key(let h) = record else { continue }
///     try builder.build(from: reader, type: h.valueType, version: 10)
///     send(h.key, builder.payload)   // RESTORE key 0 <payload>
/// }
/// ```
public final class DumpPayloadBuilder: ByteTee {
    /// The payload of the last ``build(from:type:version:)``. Copy it to keep it past the next call.
    public private(set) var payload: [UInt8] = []

    /// A buffer this large after a big value is dropped rather than kept for the next key.
    static let keptCapacity = 16 << 20

    public init() {}

    /// Reads the rest of the reader's current value into ``payload`` as a `DUMP` payload.
    /// - Parameters:
    ///   - type: the type byte written first (the key's ``RDBKeyHeader/valueType`` for a value copied as
    ///     stored).
    ///   - version: the RDB version in the footer: the target's, which must be able to read `type`.
    /// - Precondition: the last record was a ``RDBRecord/key(_:)`` whose value was not read.
    /// - Throws: ``RDBError`` from the reader (the value is skipped by length, so only framing errors:
    ///   truncation, lengths past the limits).
    public func build(from reader: RDBReader, type: RDBValueType, version: UInt16) throws(RDBError) {
        if payload.capacity > Self.keptCapacity { payload = [] }
        payload.removeAll(keepingCapacity: true)
        payload.append(type.byte)
        try reader.teeRawValue(into: self)
        payload.append(UInt8(truncatingIfNeeded: version))
        payload.append(UInt8(truncatingIfNeeded: version >> 8))
        let crc = CRC64.checksum(payload).littleEndian
        unsafe withUnsafeBytes(of: crc) { unsafe payload.append(contentsOf: $0) }
    }

    func take(_ bytes: UnsafeRawBufferPointer) {
        unsafe payload.append(contentsOf: bytes)
    }
}
