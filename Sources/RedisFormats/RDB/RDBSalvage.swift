/// Rescues the intact keys of a damaged RDB into a valid one: every key before the first damage, and
/// every key after it where reading can resynchronise — a plausible record whose key and value decode
/// fully and validate deeply, followed by another record that does too (so random bytes that happen to
/// parse as one small key are not taken for data).
public enum RDBSalvage {
    public struct Report: Sendable {
        public var header: RDBHeader?
        public var keysRecovered = 0
        public var keysBeforeFirstDamage = 0
        /// Byte ranges skipped, each with the error that started it.
        public var lost: [(range: Range<Int64>, error: RDBError)] = []
        /// The CRC64 did not match (the keys were still decoded and validated one by one).
        public var checksumMismatch = false
        public var functions = 0
    }

    /// Type and opcode bytes a record can start with.
    static func plausibleStart(_ b: UInt8, dialect: RDBDialect) -> Bool {
        switch b {
        case 0...5, 7, 9...21: return true
        case 22: return true
        case 24, 25: return dialect == .redis
        case 0xFC, 0xFD, 0xF8, 0xF9, 0xFE: return true
        default: return false
        }
    }

    /// Salvages `input` into `output` (same version and dialect).
    public static func salvage(input: String, output: String, options base: RDBReader.Options = .init()) throws(RDBError) -> Report {
        var options = base
        options.verifiesChecksum = false
        options.validation = .deep
        var report = Report()
        var firstOptions = options
        firstOptions.verifiesChecksum = true
        let first = try RDBReader(path: input, options: firstOptions)
        let header = first.header
        report.header = header
        let size = FileSource.size(of: input) ?? 0
        var target = RDBTarget(rdbVersion: header.version, dialect: header.dialect, serverVersion: "0.0.0")
        if !target.isWritable { target = header.dialect == .valkey ? RDBTarget.named("valkey-9.1")! : RDBTarget.named("redis-7.4")! }
        let writer = try RDBWriter(output: try SafeOutputFile(path: output, protectedPaths: [input]), target: target)
        var wroteAux = false
        var reader = first
        var db: UInt64 = 0
        var damaged = false
        // Keys already recovered: a key cannot appear twice, so a repeat means reading went astray.
        var seen = Set<RDBRewriter.KeyID>()
        outer: while true {
            var recordStart = reader.offset
            do throws(RDBError) {
                while let record = try reader.next() {
                    switch record {
                    case .aux(let k, let v):
                        if !wroteAux && (k == "redis-ver" || k == "valkey-ver") {
                            target.serverVersion = v.description
                        }
                    case .function(let f):
                        if !wroteAux { try writeAux(writer, &wroteAux) }
                        if target.rdbVersion >= 10 {
                            try writer.writeFunction(f.code)
                            report.functions += 1
                        }
                    case .moduleAux(let m):
                        if !wroteAux { try writeAux(writer, &wroteAux) }
                        try writer.writeModuleAux(m)
                    case .selectDB(let n):
                        db = n
                    case .key(var h):
                        if !wroteAux { try writeAux(writer, &wroteAux) }
                        h.db = db
                        guard seen.insert(RDBRewriter.KeyID(db: db, key: h.key.bytes)).inserted else {
                            throw RDBError(.corrupt, "key \(h.key.escapedDescription) of db \(db) appears twice", offset: h.offset)
                        }
                        let raw = try reader.readValidatedRawValue()
                        if writer.canCopy(h.valueType) {
                            try writer.writeRawValue(h, raw: raw)
                        } else {
                            throw RDBError(.unsupported, "cannot copy \(h.valueType) into \(target)")
                        }
                        report.keysRecovered += 1
                        if !damaged { report.keysBeforeFirstDamage += 1 }
                    case .end:
                        break outer
                    default:
                        break
                    }
                    recordStart = reader.offset
                }
                break outer
            } catch {
                if error.code == .checksumMismatch {
                    report.checksumMismatch = true
                    break outer
                }
                if error.code == .io { throw error }
                damaged = true
                let from = max(recordStart, 9)
                guard let (resume, resumeDB) = resynchronise(input, after: from, size: size, header: header, db: db, seen: seen, options: options) else {
                    report.lost.append((from..<size, error))
                    break outer
                }
                report.lost.append((from..<resume, error))
                db = resumeDB
                reader = try RDBReader(resumingAt: resume, path: input, header: header, db: db, options: options)
            }
        }
        if !wroteAux { try writeAux(writer, &wroteAux) }
        try writer.finish()
        return report

        func writeAux(_ w: RDBWriter, _ wrote: inout Bool) throws(RDBError) {
            try w.writeStandardAux(ctime: 0, usedMemory: 0)
            wrote = true
        }
    }

    /// The first offset after `from` where two records in a row read and validate.
    static func resynchronise(
        _ path: String, after from: Int64, size: Int64, header: RDBHeader, db: UInt64, seen: Set<RDBRewriter.KeyID>,
        options: RDBReader.Options
    ) -> (Int64, UInt64)? {
        guard let source = try? FileSource(path: path, offset: from + 1) else { return nil }
        var probe = options
        probe.chunkSize = 64 * 1024
        var base = from + 1
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while base < size {
            let r: Result<Int, RDBError> = buffer.withUnsafeMutableBytes { p in
                do throws(RDBError) { return .success(try source.read(into: p)) } catch { return .failure(error) }
            }
            guard case .success(let n) = r, n > 0 else { return nil }
            for i in 0..<n where plausibleStart(buffer[i], dialect: header.dialect) {
                let at = base + Int64(i)
                if let db2 = probeRecords(path, at: at, header: header, db: db, seen: seen, options: probe) { return (at, db2) }
            }
            base += Int64(n)
        }
        return nil
    }

    /// Keys a resynchronisation must read in a row (fewer only when the file ends after them).
    static let confirmingKeys = 3

    /// Whether a key record starts at `at` and the records after it read too: three distinct keys not
    /// recovered before, whose values decode and validate deeply (or fewer, then the end of the file).
    static func probeRecords(
        _ path: String, at: Int64, header: RDBHeader, db: UInt64, seen: Set<RDBRewriter.KeyID>, options: RDBReader.Options
    ) -> UInt64? {
        guard let reader = try? RDBReader(resumingAt: at, path: path, header: header, db: db, options: options) else { return nil }
        var keys = Set<RDBRewriter.KeyID>()
        var records = 0
        while records < confirmingKeys + 4 {
            guard let record = try? reader.next() else { return nil }
            records += 1
            switch record {
            case .key(let h):
                if records == 1 && h.offset != at { return nil }
                let id = RDBRewriter.KeyID(db: h.db, key: h.key.bytes)
                guard !seen.contains(id), keys.insert(id).inserted else { return nil }
                guard (try? reader.validateValue()) != nil else { return nil }
                if keys.count == confirmingKeys { return db }
            case .end:
                return keys.isEmpty ? nil : db
            case .selectDB, .resizeDB:
                if records == 1 { continue }
            case .aux, .function, .moduleAux, .slotInfo, .slotImport:
                return nil
            }
        }
        return nil
    }
}

extension FileSource {
    /// The size of a regular file.
    static func size(of path: String) -> Int64? { AOFLocator.fileSize(path) }
}
