#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A native thread running a closure: what the two-core passes share (the checksum thread, the output
/// drain, the parallel check, the load prefetcher, the diff's second pass). Join it with `pthread_join`.
package enum NativeThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Starts `body` on a new thread (with `stackSize` bytes of stack, or the default); nil, with `body`
    /// not run and released, when no thread can be created.
    package static func start(stackSize: Int? = nil, _ body: @escaping () -> Void) -> pthread_t? {
        let box = Unmanaged.passRetained(Body(body))
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        if let stackSize { pthread_attr_setstacksize(&attributes, stackSize) }
        var t = pthread_t()
        let rc = unsafe pthread_create(&t, &attributes, { arg in
            let b = unsafe Unmanaged<Body>.fromOpaque(arg!).takeRetainedValue()
            b.run()
            return nil
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            return nil
        }
        return t
    }
}
