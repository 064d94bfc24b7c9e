// libFuzzer target for `RedisFormatsFuzzing.run(.lzf, _:)`, built and run by scripts/fuzz.sh
// (`-c release --sanitize=fuzzer -Xswiftc -DRDBKIT_FUZZING`: libFuzzer supplies main). A plain build
// gives a main that runs the target on the files named as arguments (see FuzzHarness.main).
import FuzzSupport
import RedisFormats

#if RDBKIT_FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafeRawPointer?, _ size: Int) -> CInt {
    FuzzHarness.testOneInput(.lzf, data, size)
}
#else
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
enum FuzzLZFMain {
    static func main() {
        exit(FuzzHarness.main(.lzf, arguments: CommandLine.arguments))
    }
}
#endif
