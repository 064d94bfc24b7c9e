// Loads a file into a Keyspace in a fresh process and prints what the keyspace costs: the growth of the
// process's resident memory over the load (after returning freed pages with malloc_trim), so nothing else in
// the process disturbs the number. Used by the keyspace memory test and by hand:
//   .build/release/KeyspaceMemoryProbe dump.rdb
import RedisFormats
import RedisKeyspace

#if canImport(Glibc)
    import Glibc
#endif

@_silgen_name("malloc_trim") func glibcMallocTrim(_ pad: Int) -> Int32

/// Resident set size in bytes (`/proc/self/statm`, second field, in pages).
func residentBytes() -> Int {
    guard let f = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(f) }
    var size = 0
    var resident = 0
    guard withUnsafeMutablePointer(to: &size, { s in withUnsafeMutablePointer(to: &resident) { r in
        withVaList([s, r]) { vfscanf(f, "%ld %ld", $0) } } }) == 2
    else { return 0 }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
}

let args = CommandLine.arguments
guard args.count == 2 else {
    FileHandleStderr.write("usage: KeyspaceMemoryProbe FILE\n")
    exit(64)
}
// Warm up: one load into a keyspace that is then dropped, so one-time costs (runtime metadata, the reader's
// buffers, lazily built tables) are not counted as the keyspace's.
do {
    let warmup = Keyspace()
    _ = try? KeyspaceLoader(keyspace: warmup).load(path: args[1])
}
_ = glibcMallocTrim(0)
let before = residentBytes()
let keyspace = Keyspace()
do {
    _ = try KeyspaceLoader(keyspace: keyspace).load(path: args[1])
} catch {
    FileHandleStderr.write("KeyspaceMemoryProbe: \(error)\n")
    exit(1)
}
_ = glibcMallocTrim(0)
let after = residentBytes()
print("keys=\(keyspace.totalKeys) bytes=\(after - before)")
withExtendedLifetime(keyspace) {}

enum FileHandleStderr {
    static func write(_ s: String) {
        var bytes = Array(s.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
