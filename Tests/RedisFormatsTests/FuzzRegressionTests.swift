#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RedisFormats
import Testing
import _RedisFormatsTestSupport

/// Inputs that fuzzing (`scripts/fuzz.sh`) found to crash, hang or allocate far more than their size,
/// replayed through the entry points the fuzz targets use (``RedisFormatsFuzzing``).
///
/// Each input is a file `Tests/Fixtures/fuzz-regressions/<target>/<what it did>`, where `<target>` is a
/// ``RedisFormatsFuzzing/Target`` (`rdb`, `aof`, `listpack`, `ziplist`, `intset`, `zipmap`, `lzf`): to keep
/// a new finding, copy the reproducer there under a name that says what it did. Each runs in its own
/// process (an exit test), so a crash fails one test instead of the run, with its data size limited to
/// what it had plus 8 MiB and 256 times the input: a large allocation sized by a corrupt length, even one
/// never touched, then fails and the test with it.
@Suite("Fuzzing regressions")
struct FuzzRegressionTests {
    struct Input: Sendable, CustomTestStringConvertible {
        let target: String
        let name: String
        let bytes: [UInt8]
        var testDescription: String { "\(target)/\(name)" }
    }

    /// `Tests/Fixtures/fuzz-regressions`.
    static let directory = Corpus.fixture("../fuzz-regressions")

    static let inputs: [Input] = RedisFormatsFuzzing.Target.allCases.flatMap { target -> [Input] in
        let dir = directory + "/" + target.rawValue
        return listFiles(dir).compactMap { name in
            guard let bytes = try? Corpus.readBytes(dir + "/" + name) else { return nil }
            return Input(target: target.rawValue, name: name, bytes: bytes)
        }
    }

    @Test("Every stored fuzzing input is read without a crash or an allocation out of proportion to it", arguments: inputs)
    func replay(_ input: Input) async {
        await #expect(processExitsWith: .success) { [target = input.target as String, bytes = input.bytes as [UInt8]] in
            guard let t = RedisFormatsFuzzing.Target(rawValue: target) else { exit(3) }
            // Warm up (threads, malloc arenas), then cap the data size.
            RedisFormatsFuzzing.run(t, [])
            FuzzRegressionTests.limitData(headroom: (8 << 20) + 256 * bytes.count)
            RedisFormatsFuzzing.run(t, bytes)
        }
    }

    @Test("The stored fuzzing inputs are there")
    func inputsExist() {
        #expect(Self.inputs.count >= 2)
    }

    @Test("An LZF string cut short by the end of the file fails as truncated")
    func truncatedLZFString() throws {
        let bytes = try #require(Self.inputs.first { $0.name == "truncated-lzf-string-reserves-512-mib" }).bytes
        for validation in [RDBReader.Options.Validation.structure, .deep] {
            var options = RDBReader.Options()
            options.validation = validation
            let reader = try RDBReader(source: MemorySource(bytes), options: options)
            guard case .key = try reader.next() else {
                Issue.record("no key record")
                return
            }
            let e = #expect(throws: RDBError.self) { try reader.validateValue() }
            #expect(e?.code == .truncated)
            #expect(e?.key == "k")
        }
    }

    /// Caps the process's data (heap and private writable mappings, `RLIMIT_DATA`) at its current size
    /// (`VmData` in `/proc/self/status`) plus `headroom` bytes. Allocations of 256 KiB or more are then
    /// mapped on their own (`M_MMAP_THRESHOLD`, which glibc otherwise raises up to 32 MiB).
    static func limitData(headroom: Int) {
        #if canImport(Glibc)
        // mallopt(M_MMAP_THRESHOLD = -3, …): <malloc.h> is not in the Glibc module.
        if let f = dlsym(nil, "mallopt") {
            typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
            _ = unsafeBitCast(f, to: MallOpt.self)(-3, 256 << 10)
        }
        let fd = open("/proc/self/status", O_RDONLY)
        guard fd >= 0 else { return }
        var buf = [UInt8](repeating: 0, count: 8192)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard n > 0 else { return }
        let status = String(decoding: buf[0..<n], as: UTF8.self)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmData:") }),
            let kb = Int(line.dropFirst(7).filter { $0.isNumber })
        else { return }
        let cap = rlim_t(kb * 1024 + headroom)
        var limit = rlimit(rlim_cur: cap, rlim_max: cap)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_DATA.rawValue), &limit)
        #endif
    }

    private static func listFiles(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }
}
