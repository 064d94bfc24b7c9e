import Foundation
import RedisFormats
import Testing
import _RedisFormatsTestSupport

/// The parallel check's scanner skips common key records straight from the input buffer
/// (`RDBReader.skipBufferedKeys(until:)`), and the check reads string records there. The framing must be
/// the reader's own (the same keys, records, final checksum or error, and end offset as `next()` followed
/// by `skipValue()`), and the check's report the one of reading every record through `next()`, on every
/// corpus file and on damaged copies of them.
@Suite("Buffered key skipping")
struct BufferedSkipTests {
    static let files: [String] = Corpus.servers.flatMap { server in
        ["all-types", "big", "lfu", "lru", "nocompress-nochecksum", "cluster", "functions", "empty"].map {
            "\(server)/rdb/\($0).rdb"
        }
    }.filter { FileManager.default.fileExists(atPath: Corpus.fixture($0)) }

    @Test("Skipping keys in the buffer gives the reader's framing", arguments: files, [64, 4096, 1 << 20])
    func sameFraming(file: String, chunkSize: Int) throws {
        let bytes = try Corpus.readBytes(Corpus.fixture(file))
        let plain = RedisFormatsFuzzing.framing(bytes, chunkSize: chunkSize, buffered: false)
        let buffered = RedisFormatsFuzzing.framing(bytes, chunkSize: chunkSize, buffered: true)
        #expect(buffered == plain)
        #expect(plain.outcome.hasPrefix("end"), "\(plain)")
        let reports = RedisFormatsFuzzing.checkReports(bytes, chunkSize: chunkSize)
        #expect(reports.buffered == reports.reference)
        #expect(reports.reference.contains("problems []"), "\(reports.reference)")
        if chunkSize >= 4096, file.hasSuffix("/all-types.rdb") || file.hasSuffix("/big.rdb") {
            // The fast path is taken (not everything left to next()); with 64-byte chunks most records
            // continue past the buffer.
            #expect(buffered.bufferedKeys > plain.keys / 2, "\(buffered.bufferedKeys) of \(plain.keys)")
        }
    }

    @Test("Damaged copies: truncated, flipped bytes, zeroed ranges give the reader's framing", arguments: Corpus.servers)
    func damagedCopies(server: String) throws {
        let bytes = try Corpus.readBytes(Corpus.fixture("\(server)/rdb/all-types.rdb"))
        var rng = SeededGenerator(seed: 42)
        var differing = 0
        for round in 0..<300 {
            var copy = bytes
            let at = 9 + Int(rng.next() % UInt64(copy.count - 9))
            switch round % 3 {
            case 0: copy.removeSubrange(at...)
            case 1: copy[at] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8))
            default:
                let end = min(copy.count, at + 1 + Int(rng.next() % 16))
                for i in at..<end { copy[i] = 0 }
            }
            for chunkSize in [64, 1 << 20] {
                let plain = RedisFormatsFuzzing.framing(copy, chunkSize: chunkSize, buffered: false)
                let buffered = RedisFormatsFuzzing.framing(copy, chunkSize: chunkSize, buffered: true)
                #expect(buffered == plain, "round \(round), byte \(at), chunk size \(chunkSize)")
                let reports = RedisFormatsFuzzing.checkReports(copy, chunkSize: chunkSize)
                #expect(reports.buffered == reports.reference, "round \(round), byte \(at), chunk size \(chunkSize)")
                if !plain.outcome.hasPrefix("end") { differing += 1 }
            }
        }
        // The damage is seen (the walks end in errors), not only survived.
        #expect(differing > 100)
    }
}


/// rdbkit decodes LZF with its own decoder (`CLZFDecode`, block copies) and compresses with liblzf: the
/// decoder must give liblzf's `lzf_decompress` verdict and bytes on what liblzf writes, on damaged
/// streams and on wrong declared lengths.
@Suite("LZF decoder")
struct LZFDecoderTests {
    @Test("Same verdicts and bytes as lzf_decompress on compressible, random, damaged and misdeclared inputs")
    func agreesWithLiblzf() {
        var rng = SeededGenerator(seed: 7)
        let words = ["user", "session", "cache", ":", "-", "0", "1", "2", "aaaaaaaa", "{\"id\":", "\"name\""]
        var decoded = 0
        var rejected = 0
        for round in 0..<4000 {
            var text: [UInt8] = []
            let target = 1 + Int(rng.next() % 3000)
            while text.count < target {
                switch round % 4 {
                case 0: text += Array(words[Int(rng.next() % UInt64(words.count))].utf8)
                case 1: text.append(UInt8(truncatingIfNeeded: rng.next()))
                case 2: text += [UInt8](repeating: UInt8(round % 256), count: 1 + Int(rng.next() % 40))
                default: text += Array(words[Int(rng.next() % 3)].utf8) + [UInt8(truncatingIfNeeded: rng.next() % 4)]
                }
            }
            guard var compressed = LZF.compress(text, maximumOutput: text.count + text.count / 16 + 64) else { continue }
            var length = text.count
            switch round % 5 {
            case 1: compressed[Int(rng.next() % UInt64(compressed.count))] ^= UInt8(1 << (rng.next() % 8))
            case 2: compressed.removeLast(1 + Int(rng.next() % UInt64(compressed.count)) / 2)
            case 3: length += Int(rng.next() % 5) - 2
            default: break
            }
            if compressed.isEmpty || length <= 0 { continue }
            #expect(RedisFormatsFuzzing.lzfDecodersAgree(compressed, length: length), "round \(round)")
            if let out = LZF.decompress(compressed, uncompressedLength: length) {
                decoded += 1
                if round % 5 == 0 || round % 5 == 4 { #expect(out == text, "round \(round)") }
            } else {
                rejected += 1
            }
        }
        #expect(decoded > 1000 && rejected > 500, "\(decoded) decoded, \(rejected) rejected")
    }
}

extension BufferedSkipTests {
    /// String records built to hit each check the in-buffer path makes: LZF values and keys that decode
    /// and that do not (a back-reference before the start, a wrong declared length), expiries in seconds
    /// and milliseconds on both sides of the check's `now`, and records after a damaged one.
    @Test("Strings with damaged LZF values and keys get the reader's verdicts", arguments: [64, 4096])
    func damagedStrings(chunkSize: Int) {
        let text = String(repeating: "session-payload ", count: 8)
        let cases: [(name: String, body: (inout RDBBuilder) -> Void)] = [
            ("good", { b in b.lzfString(text) }),
            ("reference before the start", { b in b.lzfString(compressed: [0x20, 0x05, 0x00, 0x41], uncompressedLength: 4) }),
            ("declared length too long", { b in
                b.lzfString(compressed: RDBBuilder.lzfCompress(Array(text.utf8)), uncompressedLength: UInt64(text.utf8.count + 1))
            }),
            ("declared length too short", { b in
                b.lzfString(compressed: RDBBuilder.lzfCompress(Array(text.utf8)), uncompressedLength: UInt64(text.utf8.count - 1))
            }),
        ]
        for (name, value) in cases {
            for damagedKey in [false, true] {
                var b = RDBBuilder(redisVersion: 9)
                b.expireMS(1_600_000_000_000)
                b.key(0, "before")
                b.string("plain")
                b.expireSeconds(1_800_000_000)
                b.byte(0)
                if damagedKey {
                    b.lzfString(compressed: [0x20, 0x05, 0x00, 0x41], uncompressedLength: 4)
                } else {
                    b.lzfString("key:" + text)
                }
                value(&b)
                b.expireMS(1_900_000_000_000)
                b.key(0, "after")
                b.intString16(1234)
                b.eof()
                let reports = RedisFormatsFuzzing.checkReports(b.bytes, chunkSize: chunkSize)
                #expect(reports.buffered == reports.reference, "\(name), damaged key \(damagedKey)")
                let damaged = damagedKey || name != "good"
                #expect(reports.reference.contains("LZF") == damaged, "\(name), damaged key \(damagedKey): \(reports.reference)")
                // A key that does not decode stops the check before it is counted; a value that does not
                // decode stops it after its key was.
                let keys = damagedKey ? 1 : damaged ? 2 : 3
                #expect(reports.reference.hasPrefix("\(keys) keys"), "\(reports.reference)")
            }
        }
    }
}
