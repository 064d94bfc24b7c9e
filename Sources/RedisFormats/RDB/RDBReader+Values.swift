/// How a step of the value state machine treats what it reads.
enum StepMode {
    /// Decode and keep elements in `pending`.
    case materialize
    /// Decode and check everything, keep nothing.
    case validate
    /// Consume bytes with as little work as possible (no LZF, no blob parsing).
    case skip
}

/// Where the reader is inside the current value.
enum ValueCursor {
    /// No value pending.
    case none
    /// The key header was returned; nothing of the value was read.
    case unread
    /// Types 1/2: strings left.
    case members(remaining: UInt64)
    /// Types 3/5: member/score pairs left.
    case zsetPairs(remaining: UInt64, binaryScores: Bool)
    /// Type 4: field/value pairs left.
    case hashPairs(remaining: UInt64)
    /// Types 24, 22 (Redis pre-GA), 22 (Valkey HASH_2): fields with TTLs left.
    case hashTTLPairs(remaining: UInt64, layout: HashTTLLayout)
    /// Types 14/18: nodes left.
    case quicklistNodes(remaining: UInt64, v2: Bool)
    /// Stream nodes left.
    case streamNodes(remaining: UInt64)
    case streamMetadata
    case streamGroups(remaining: UInt64)
    case streamIdempotency
    /// Redis 8.8 array elements left.
    case arrayElements(remaining: UInt64)
    /// Fully consumed.
    case done
}

/// The three layouts of hashtable hashes with field TTLs.
enum HashTTLLayout {
    /// Redis type 24: `len ttl` (relative to minExpire, 0 = none) before the field.
    case redisMetadata(minExpire: Int64)
    /// Redis 7.4-rc type 22: `len expireAt` (absolute, 0 = none) before the field.
    case redisPreGA
    /// Valkey HASH_2: field, value, then `i64le expireAt` (-1 = none).
    case valkeyHash2
}

extension RDBReader {
    var maxLen: Int { options.maximumBlobLength }

    /// Stream version of a stream type: 1 (type 15) … 5 (type 27).
    var streamVersion: Int {
        switch currentKey?.valueType {
        case .streamListpacks2: 2
        case .streamListpacks3: 3
        case .streamListpacks4: 4
        case .streamListpacks5: 5
        default: 1
        }
    }

    /// Reads one unit of the current value (a string, a blob, a node, a group…), handing its
    /// elements to `sink` (unless skipping).
    func step<S: ElementSink>(mode: StepMode, into sink: inout S) throws(ParseFailure) {
        switch value {
        case .none, .done: return
        case .unread: try begin(mode: mode, into: &sink)
        case .members(let n):
            if n == 0 { value = .done; return }
            value = .members(remaining: n - 1)
            try borrowedString(mode) { (p) in sink.member(.bytes(p)) }
        case .zsetPairs(let n, let binary):
            if n == 0 { value = .done; return }
            value = .zsetPairs(remaining: n - 1, binaryScores: binary)
            let member = try string(mode)
            let score = try binary ? binaryDouble() : stringDouble(mode)
            if let member { unsafe member.withUnsafeBytes { unsafe sink.scored(.bytes($0), score) } }
        case .hashPairs(let n):
            if n == 0 { value = .done; return }
            value = .hashPairs(remaining: n - 1)
            let f = try string(mode)
            let v = try string(mode)
            if let f, let v { sink.field(f, v, nil) }
        case .hashTTLPairs(let n, let layout):
            if n == 0 { value = .done; return }
            value = .hashTTLPairs(remaining: n - 1, layout: layout)
            try hashTTLPair(layout: layout, mode: mode, into: &sink)
        case .quicklistNodes(let n, let v2):
            if n == 0 { value = .done; return }
            value = .quicklistNodes(remaining: n - 1, v2: v2)
            try quicklistNode(v2: v2, mode: mode, into: &sink)
        case .streamNodes(let n):
            if n == 0 { value = .streamMetadata; return }
            value = .streamNodes(remaining: n - 1)
            try streamNode(mode: mode, into: &sink)
        case .streamMetadata:
            try streamMetadata(mode: mode, into: &sink)
        case .streamGroups(let n):
            if n == 0 {
                value = streamVersion >= 4 ? .streamIdempotency : .done
                return
            }
            value = .streamGroups(remaining: n - 1)
            try streamGroup(mode: mode, into: &sink)
        case .streamIdempotency:
            try streamIdempotency(mode: mode, into: &sink)
            value = .done
        case .arrayElements(let n):
            if n == 0 { value = .done; return }
            value = .arrayElements(remaining: n - 1)
            try arrayElement(mode: mode, into: &sink)
        }
    }

    /// Reads the start of a value and sets the cursor; single-blob values are consumed whole.
    private func begin<S: ElementSink>(mode: StepMode, into sink: inout S) throws(ParseFailure) {
        guard let type = currentKey?.valueType else { value = .done; return }
        switch type {
        case .string:
            // 0xC3 (11|000011): an LZF-compressed string, validated without output when the sink allows.
            if mode == .materialize, !sink.needsCompressedStringBytes, try window.peekByte() == 0xC3 {
                sink.compressedString(length: try window.validateString(maximumLength: maxLen, scratch: scratch))
            } else {
                try borrowedString(mode) { (p) in sink.string(.bytes(p)) }
            }
            value = .done
        case .list, .set:
            value = .members(remaining: try window.readLength())
        case .zset:
            value = .zsetPairs(remaining: try window.readLength(), binaryScores: false)
        case .zset2:
            value = .zsetPairs(remaining: try window.readLength(), binaryScores: true)
        case .hash:
            value = .hashPairs(remaining: try window.readLength())
        case .hashMetadata:
            let minExpire = Int64(bitPattern: try window.readUInt64LE())
            value = .hashTTLPairs(remaining: try window.readLength(), layout: .redisMetadata(minExpire: minExpire))
        case .hashMetadataPreGA:
            value = .hashTTLPairs(remaining: try window.readLength(), layout: .redisPreGA)
        case .valkeyHash2:
            value = .hashTTLPairs(remaining: try window.readLength(), layout: .valkeyHash2)
        case .listQuicklist:
            value = .quicklistNodes(remaining: try window.readLength(), v2: false)
        case .listQuicklist2:
            value = .quicklistNodes(remaining: try window.readLength(), v2: true)
        case .hashZipmap, .listZiplist, .setIntset, .zsetZiplist, .hashZiplist, .hashListpack, .zsetListpack,
            .setListpack, .hashListpackExPreGA:
            try blob(type: type, mode: mode, into: &sink)
            value = .done
        case .hashListpackEx:
            _ = try window.readUInt64LE()  // minExpire: the TTLs in the listpack are absolute
            try blob(type: type, mode: mode, into: &sink)
            value = .done
        case .streamListpacks, .streamListpacks2, .streamListpacks3, .streamListpacks4, .streamListpacks5:
            value = .streamNodes(remaining: try window.readLength())
        case .module2:
            try moduleValue(mode: mode, into: &sink)
            value = .done
        case .array:
            try arrayHeader()
        default:
            throw .unsupported("cannot read values of \(type)", at: window.offset)
        }
    }

    // MARK: Strings and doubles

    /// A string in the given mode: materialized (returned), validated or skipped (nil).
    @inline(__always)
    func string(_ mode: StepMode) throws(ParseFailure) -> [UInt8]? {
        switch mode {
        case .materialize: return try window.readString(maximumLength: maxLen)
        case .validate:
            try window.validateString(maximumLength: maxLen, scratch: scratch)
            return nil
        case .skip:
            try window.skipString(maximumLength: maxLen)
            return nil
        }
    }

    /// A string lent to `body` (decoded when materializing; decompressed and dropped when validating;
    /// not even read when skipping, and `body` is not called then).
    @inline(__always)
    func borrowedString(_ mode: StepMode, _ body: (UnsafeRawBufferPointer) -> Void) throws(ParseFailure) {
        switch mode {
        case .materialize:
            try window.withString(maximumLength: maxLen, scratch: scratch) { (p) throws(BlobFailure) in unsafe body(p) }
        case .validate:
            try window.validateString(maximumLength: maxLen, scratch: scratch)
        case .skip:
            try window.skipString(maximumLength: maxLen)
        }
    }

    /// A binary double (8 bytes little-endian, ZSET_2).
    private func binaryDouble() throws(ParseFailure) -> Double {
        Double(bitPattern: try window.readUInt64LE())
    }

    /// A string-encoded double (ZSET type 3): a length byte, 253 NaN, 254 +inf, 255 -inf.
    /// Mirrors `rdbLoadDoubleValue`.
    private func stringDouble(_ mode: StepMode) throws(ParseFailure) -> Double {
        let start = window.offset
        let len = try window.readByte()
        switch len {
        case 253: return .nan
        case 254: return .infinity
        case 255: return -.infinity
        default:
            if mode == .skip {
                try window.skip(Int64(len))
                return 0
            }
            let r = try window.withBytes(Int(len)) { (p: UnsafeRawBufferPointer) -> Double? in unsafe RawBytes.parseDouble(p) }
            guard case .success(let v?) = r else { throw .corrupt("invalid score text", at: start) }
            return v
        }
    }

    // MARK: Blobs

    /// A compact-encoding blob: zipmap, ziplist, intset or listpack.
    private func blob<S: ElementSink>(type: RDBValueType, mode: StepMode, into sink: inout S) throws(ParseFailure) {
        if mode == .skip {
            try window.skipString(maximumLength: maxLen)
            return
        }
        let keep = mode == .materialize
        let deep = self.deep
        try window.withString(maximumLength: maxLen, scratch: scratch) { (blob) throws(BlobFailure) in
            if keep {
                let kind: RDBEncodedBlob.Kind = switch type {
                case .hashZipmap: .zipmap
                case .setIntset: .intset
                case .listZiplist, .zsetZiplist, .hashZiplist: .ziplist
                default: .listpack
                }
                sink.encodedBlob(RDBEncodedBlob(kind: kind, byteCount: blob.count))
            }
            switch type {
            case .hashZipmap:
                _ = try unsafe Zipmap.forEach(blob, deep: deep) { (f: UnsafeRawBufferPointer, v: UnsafeRawBufferPointer) in
                    if keep { unsafe sink.field(.bytes(f), .bytes(v), nil) }
                }.get()
            case .setIntset:
                if keep && sink.countsSortedIntegerBlobs {
                    // The count and the extremes, without a call per member (memory estimates, deep
                    // checks); a deep check still walks the members for their order.
                    if deep { _ = try unsafe Intset.forEach(blob, deep: true) { (_: Int64) in }.get() }
                    let b = try unsafe Intset.bounds(blob)
                    sink.sortedIntegerBlob(count: b.count, first: b.first, last: b.last)
                    return
                }
                _ = try unsafe Intset.forEach(blob, deep: deep) { (v: Int64) in
                    if keep { sink.member(.int(v)) }
                }.get()
            case .listZiplist:
                var it = try unsafe ZiplistIterator(blob, deep: deep)
                while let v = try it.next() { if keep { sink.member(v) } }
            case .zsetZiplist:
                var it = try unsafe ZiplistIterator(blob, deep: deep)
                while let m = try it.next() {
                    guard let s = try it.next() else { throw BlobFailure(message: "zset ziplist has an odd number of entries", position: 8) }
                    let score = try scoreValue(s, position: 0)
                    if keep { sink.scored(m, score) }
                }
            case .hashZiplist:
                var it = try unsafe ZiplistIterator(blob, deep: deep)
                while let f = try it.next() {
                    guard let v = try it.next() else { throw BlobFailure(message: "hash ziplist has an odd number of entries", position: 8) }
                    if keep { sink.field(f, v, nil) }
                }
            case .setListpack:
                var it = try unsafe ListpackIterator(blob, deep: deep)
                while let v = try it.next() { if keep { sink.member(v) } }
            case .zsetListpack:
                var it = try unsafe ListpackIterator(blob, deep: deep)
                while let m = try it.next() {
                    guard let s = try it.next() else { throw BlobFailure(message: "zset listpack has an odd number of entries", position: 4) }
                    let score = try scoreValue(s, position: it.entryStart)
                    if keep { sink.scored(m, score) }
                }
            case .hashListpack:
                var it = try unsafe ListpackIterator(blob, deep: deep)
                while let f = try it.next() {
                    guard let v = try it.next() else { throw BlobFailure(message: "hash listpack has an odd number of entries", position: 4) }
                    if keep { sink.field(f, v, nil) }
                }
            case .hashListpackEx, .hashListpackExPreGA:
                var it = try unsafe ListpackIterator(blob, deep: deep)
                while let f = try it.next() {
                    guard let v = try it.next() else { throw BlobFailure(message: "hash listpack-ex ends after a field", position: 4) }
                    guard let t = try it.next() else { throw BlobFailure(message: "hash listpack-ex ends before a TTL", position: 4) }
                    let ttlAt = it.entryStart
                    guard case .int(let ttl) = t, ttl >= 0, ttl <= Self.maximumFieldExpire else {
                        throw BlobFailure(message: "hash listpack-ex TTL is not an integer in 0...2^48-1", position: ttlAt)
                    }
                    if keep { sink.field(f, v, ttl == 0 ? nil : ttl) }
                }
            default:
                break
            }
        }
    }

    /// The largest field expiry Redis accepts (`EB_EXPIRE_TIME_MAX`, 2^48 - 1).
    static let maximumFieldExpire: Int64 = (1 << 48) - 1

    private func scoreValue(_ v: PackedValue, position: Int) throws(BlobFailure) -> Double {
        guard let d = v.doubleValue else { throw BlobFailure(message: "zset score is not a number", position: position) }
        return d
    }

    // MARK: Hashes with TTLs

    private func hashTTLPair<S: ElementSink>(layout: HashTTLLayout, mode: StepMode, into sink: inout S) throws(ParseFailure) {
        var expire: Int64?
        let ttlOffset = window.offset
        switch layout {
        case .redisMetadata(let minExpire):
            let ttl = try window.readLength()
            if ttl != 0 {
                let (sum, o) = Int64(bitPattern: ttl).addingReportingOverflow(minExpire &- 1)
                guard !o, ttl <= UInt64(Self.maximumFieldExpire), sum >= 0, sum <= Self.maximumFieldExpire else {
                    throw .corrupt("field TTL \(ttl) + minExpire \(minExpire) is beyond 2^48-1", at: ttlOffset)
                }
                expire = sum
            }
        case .redisPreGA:
            let at = try window.readLength()
            if at != 0 {
                guard at <= UInt64(Self.maximumFieldExpire) else {
                    throw .corrupt("field expiry \(at) is beyond 2^48-1", at: ttlOffset)
                }
                expire = Int64(at)
            }
        case .valkeyHash2:
            break
        }
        let f = try string(mode)
        let v = try string(mode)
        if case .valkeyHash2 = layout {
            let at = Int64(bitPattern: try window.readUInt64LE())
            if at != -1 { expire = at }
        }
        if let f, let v { sink.field(f, v, expire) }
    }

    // MARK: Quicklists

    /// One quicklist node: v1 a ziplist; v2 a container (1 plain element, 2 packed listpack) and a string.
    private func quicklistNode<S: ElementSink>(v2: Bool, mode: StepMode, into sink: inout S) throws(ParseFailure) {
        var container: UInt64 = 2
        if v2 {
            let at = window.offset
            container = try window.readLength()
            guard container == 1 || container == 2 else {
                throw .corrupt("quicklist node container \(container) is neither 1 (plain) nor 2 (packed)", at: at)
            }
        }
        if container == 1 {
            try borrowedString(mode) { (p) in
                sink.encodedBlob(RDBEncodedBlob(kind: .plainNode, byteCount: p.count, isQuicklistNode: true))
                sink.member(.bytes(p))
            }
            return
        }
        if mode == .skip {
            try window.skipString(maximumLength: maxLen)
            return
        }
        let keep = mode == .materialize
        let deep = self.deep
        try window.withString(maximumLength: maxLen, scratch: scratch) { (blob) throws(BlobFailure) in
            guard blob.count > 0 else { throw BlobFailure(message: "empty quicklist node", position: 0) }
            if keep {
                sink.encodedBlob(RDBEncodedBlob(
                    kind: v2 ? .listpack : .ziplist, byteCount: blob.count, isQuicklistNode: true,
                    compressedByteCount: window.lendingLZFLength))
            }
            if v2 {
                var it = try unsafe ListpackIterator(blob, deep: deep)
                while let v = try it.next() { if keep { sink.member(v) } }
            } else {
                var it = try unsafe ZiplistIterator(blob, deep: deep)
                while let v = try it.next() { if keep { sink.member(v) } }
            }
        }
    }

    // MARK: Modules

    private func moduleValue<S: ElementSink>(mode: StepMode, into sink: inout S) throws(ParseFailure) {
        let id = try window.readLength()
        if mode == .materialize {
            let raw = try captureModuleOpcodes(mode: .validate)
            sink.element(.module(RedisModuleValue(type: RedisModuleType(id: id), raw: raw)))
        } else {
            try walkModuleOpcodes(mode: mode)
        }
    }

    // MARK: Arrays (Redis 8.8)

    private func arrayHeader() throws(ParseFailure) {
        let at = window.offset
        let count = try window.readLength()
        guard count > 0 else { throw .corrupt("array with no elements", at: at) }
        let flagAt = window.offset
        let flag = try window.readLength()
        switch flag {
        case 0: break
        case 1: _ = try window.readLength()
        default: throw .corrupt("array insert-index flag \(flag) is neither 0 nor 1", at: flagAt)
        }
        value = .arrayElements(remaining: count)
    }

    /// `len index`, `len tag`, then 0 string, 1 int64 LE, 2 double LE, 3 short string (≤ 7 bytes).
    private func arrayElement<S: ElementSink>(mode: StepMode, into sink: inout S) throws(ParseFailure) {
        let index = try window.readLength()
        let tagAt = window.offset
        let tag = try window.readLength()
        var text: [UInt8]?
        switch tag {
        case 0, 3:
            let strAt = window.offset
            text = try window.readString(maximumLength: maxLen)
            if tag == 3, let t = text, t.count > 7 {
                throw .corrupt("array small string of \(t.count) bytes (at most 7)", at: strAt)
            }
        case 1:
            text = RedisInteger.text(Int64(bitPattern: try window.readUInt64LE()))
        case 2:
            let d = Double(bitPattern: try window.readUInt64LE())
            text = Array(d.description.utf8)
        default:
            throw .corrupt("unknown array element tag \(tag)", at: tagAt)
        }
        if mode == .materialize, let text { sink.element(.arrayElement(index: index, value: RedisBytes(text))) }
    }
}
