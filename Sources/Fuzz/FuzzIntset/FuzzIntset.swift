// libFuzzer target for `RedisFormatsFuzzing.run(.intset, _:)`, built and run by scripts/fuzz.sh
// (`-c release --sanitize=fuzzer -Xswiftc -DRDBKIT_FUZZING`: libFuzzer supplies main). A plain build
// gives a main that runs the target on the files named as arguments (see FuzzHarness.main).
import FuzzSupport
import RedisFormats

#if RDBKIT_FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer?, _ size: Int) -> CInt {
    FuzzHarness.testOneInput(.intset, data, size)
}
#else
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
enum FuzzIntsetMain {
    static func main() {
        exit(FuzzHarness.main(.intset, arguments: CommandLine.arguments))
    }
}
#endif
