// libFuzzer target for `RedisFormatsFuzzing.run(.ziplist, _:)`, built and run by scripts/fuzz.sh
// (`-c release --sanitize=fuzzer -Xswiftc -DRDBKIT_FUZZING`: libFuzzer supplies main). A plain build
// gives a main that runs the target on the files named as arguments (see FuzzHarness.main).
import FuzzSupport
import RedisFormats

#if RDBKIT_FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer?, _ size: Int) -> CInt {
    FuzzHarness.testOneInput(.ziplist, data, size)
}
#else
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
enum FuzzZiplistMain {
    static func main() {
        exit(FuzzHarness.main(.ziplist, arguments: CommandLine.arguments))
    }
}
#endif
