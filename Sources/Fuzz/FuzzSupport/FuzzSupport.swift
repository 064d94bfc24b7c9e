#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RedisFormats

/// What the fuzz targets in `Sources/Fuzz/` share: the body of `LLVMFuzzerTestOneInput`, with a check on
/// heap growth in AddressSanitizer builds, and the `main` of a build without libFuzzer.
///
/// `scripts/fuzz.sh` builds the targets with `-Xswiftc -DRDBKIT_FUZZING` (libFuzzer supplies `main`) and,
/// for the AddressSanitizer variant, also `-Xswiftc -DRDBKIT_FUZZING_ASAN`.
public enum FuzzHarness {
    /// Runs `target` on one input.
    ///
    /// In AddressSanitizer builds the heap's growth while the input is read is tracked through the
    /// sanitizer's malloc hooks; growth beyond ``heapAllowance(forInputOf:)`` traps, naming the sizes, so
    /// libFuzzer keeps the input as a crash. (libFuzzer's own `-malloc_limit_mb` only sees single
    /// allocations, and only in sanitizer builds; `-rss_limit_mb` misses memory that is allocated and
    /// never touched.)
    public static func testOneInput(_ target: RedisFormatsFuzzing.Target, _ data: UnsafeRawPointer?, _ size: Int) -> CInt {
        let bytes = size > 0 && data != nil ? Array(UnsafeRawBufferPointer(start: data, count: size)) : []
        #if RDBKIT_FUZZING_ASAN
        HeapWatch.start()
        RedisFormatsFuzzing.run(target, bytes)
        let growth = HeapWatch.stop()
        if growth > heapAllowance(forInputOf: size) {
            fatalError(
                "the heap grew by \(growth) bytes reading an input of \(size) bytes (allowed: "
                    + "\(heapAllowance(forInputOf: size))); replay with -malloc_limit_mb=1 to see the largest allocation")
        }
        #else
        RedisFormatsFuzzing.run(target, bytes)
        #endif
        return 0
    }

    /// The most the heap may grow while an input of `size` bytes is read: 1 MiB (buffers of fixed size)
    /// plus `RDBKIT_FUZZ_HEAP_FACTOR` times the input. The default, 256, leaves room for what valid input
    /// legitimately costs: an LZF string expands up to 88 times and ``RDBReader/readValue()`` briefly holds
    /// it twice (scratch buffer and copy), 176 times; a compact encoding read whole costs about 95 times
    /// (a 2-byte listpack, ziplist or intset entry becomes a pending element and a heap-allocated string).
    public static func heapAllowance(forInputOf size: Int) -> Int {
        (1 << 20) + heapFactor * size
    }

    private static let heapFactor: Int = {
        if let v = getenv("RDBKIT_FUZZ_HEAP_FACTOR"), let n = Int(String(cString: v)), n > 0 { return n }
        return 256
    }()

    /// The `main` of a fuzz target built without libFuzzer:
    /// - `FuzzX FILE…` runs the target on each file (to replay a crash in a debugger or under `valgrind`);
    /// - `FuzzX --extract-seeds DIR RDB-FILE…` writes ``RedisFormatsFuzzing/seeds(fromRDB:)`` of each RDB
    ///   file to `DIR/<target>/<FNV-1a hash>`: of each shape, the two smallest, the median and the largest
    ///   seed of at most 4 KiB (how `Tests/Fixtures/fuzz-seeds/` was made).
    /// - Returns: the exit status.
    public static func main(_ target: RedisFormatsFuzzing.Target, arguments: [String]) -> Int32 {
        let tool = arguments.first ?? "fuzz"
        var args = Array(arguments.dropFirst())
        if args.first == "--extract-seeds" {
            guard args.count >= 3 else {
                say("usage: \(tool) --extract-seeds DIR RDB-FILE…\n")
                return 64
            }
            return extractSeeds(into: args[1], from: Array(args.dropFirst(2)))
        }
        if args.isEmpty {
            say("usage: \(tool) FILE…   (runs the \(target.rawValue) fuzz target on each file)\n")
            say("       \(tool) --extract-seeds DIR RDB-FILE…\n")
            return 64
        }
        args.sort()
        for path in args {
            guard let bytes = try? ByteSources.readAll(path: path, limit: 64 << 20) else {
                say("cannot read \(path)\n")
                return 1
            }
            RedisFormatsFuzzing.run(target, bytes)
            say("ok \(path) (\(bytes.count) bytes)\n")
        }
        return 0
    }

    private static func extractSeeds(into dir: String, from paths: [String]) -> Int32 {
        var byShape: [String: [[UInt8]]] = [:]
        for path in paths {
            guard let bytes = try? ByteSources.readAll(path: path, limit: 64 << 20) else {
                say("cannot read \(path)\n")
                return 1
            }
            for seed in RedisFormatsFuzzing.seeds(fromRDB: bytes) where !seed.bytes.isEmpty && seed.bytes.count <= 4096 {
                byShape[seed.target.rawValue + "/" + seed.shape, default: []].append(seed.bytes)
            }
        }
        var written = 0
        mkdir(dir, 0o755)
        for t in RedisFormatsFuzzing.Target.allCases where t != .aof { mkdir(dir + "/" + t.rawValue, 0o755) }
        for (shape, list) in byShape {
            let target = String(shape.prefix { $0 != "/" })
            let sorted = Set(list).sorted { ($0.count, fnv1a($0)) < ($1.count, fnv1a($1)) }
            for i in Set([0, 1, sorted.count / 2, sorted.count - 1]) where i < sorted.count {
                if writeFile(dir + "/" + target + "/" + fnv1a(sorted[i]), sorted[i]) { written += 1 }
            }
        }
        say("\(written) seeds of \(byShape.count) shapes written under \(dir)\n")
        return 0
    }

    private static func say(_ text: String) {
        var t = text
        t.withUTF8 { p in _ = write(STDOUT_FILENO, p.baseAddress, p.count) }
    }

    private static func fnv1a(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    private static func writeFile(_ path: String, _ bytes: [UInt8]) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
    }
}

#if RDBKIT_FUZZING_ASAN
/// Live heap bytes and their peak, kept by AddressSanitizer's malloc and free hooks (which must not
/// allocate). The fuzz targets are single-threaded; the counters are not atomic.
enum HeapWatch {
    nonisolated(unsafe) static var live = 0
    nonisolated(unsafe) static var peak = 0
    nonisolated(unsafe) static var installed = false

    static func start() {
        if !installed {
            installed = true
            _ = sanitizerInstallHooks(
                { _, size in
                    HeapWatch.live &+= size
                    if HeapWatch.live > HeapWatch.peak { HeapWatch.peak = HeapWatch.live }
                },
                { p in if p != nil { HeapWatch.live &-= sanitizerAllocatedSize(p) } })
        }
        live = 0
        peak = 0
    }

    /// The peak growth since ``start()``.
    static func stop() -> Int { peak }
}

@_silgen_name("__sanitizer_install_malloc_and_free_hooks")
private func sanitizerInstallHooks(
    _ malloc: @convention(c) (UnsafeRawPointer?, Int) -> Void, _ free: @convention(c) (UnsafeRawPointer?) -> Void
) -> CInt

@_silgen_name("__sanitizer_get_allocated_size")
private func sanitizerAllocatedSize(_ p: UnsafeRawPointer?) -> Int
#endif
