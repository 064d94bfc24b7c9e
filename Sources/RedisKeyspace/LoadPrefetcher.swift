#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import CMemoryHints
import RedisFormats

/// What the reading thread of a load hands the applying thread, in file order.
enum LoadItem {
    case file(AOFFile)
    /// A key of an RDB part, its value already converted to the keyspace's model.
    case key(db: Int, key: RedisBytes, entry: Keyspace.Entry)
    case function(name: String, code: RedisBytes)
    case moduleAux(RDBModuleAux)
    case annotation(AOFAnnotation)
    /// A command's arguments and the offset it starts at in the file of the last `.file` item. (Not the
    /// reader's `AOFCommand`: its file name is one string shared by every command, whose reference count the
    /// two threads would otherwise pass back and forth for each command.)
    case command(argv: [RedisBytes], offset: Int64)
}

/// A batch of items and, beside each, the hash of the key it touches (``KeyTable/hash(_:)`` of a stored key
/// or of a command's first argument; 0 for none). The reading thread computes the hashes so the applying
/// thread can start loading the table slots of the items ahead of the one it applies.
struct LoadBatch {
    var items: [LoadItem] = []
    var keyHashes: [UInt64] = []
    /// The database of each item's key.
    var keyDatabases: [Int32] = []
    /// For each item, ``LoadBatch/addressesPerItem`` addresses of memory its application reads first (a
    /// command's argument array and its first arguments' bytes), 0 for none: allocated by the reading thread,
    /// they are not in the applying core's cache.
    var addresses: [UInt] = []

    static let addressesPerItem = 4

    init() {
        items.reserveCapacity(LoadPrefetcher.batchItems)
        keyHashes.reserveCapacity(LoadPrefetcher.batchItems)
        keyDatabases.reserveCapacity(LoadPrefetcher.batchItems)
        addresses.reserveCapacity(LoadPrefetcher.batchItems * Self.addressesPerItem)
    }

    /// The address of an array's elements (its header, with the reference count, is just before).
    @inline(__always) static func address<T>(of array: [T]) -> UInt {
        array.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
    }

    /// Records where a command's arguments live.
    @inline(__always) mutating func appendAddresses(of argv: [RedisBytes]) {
        addresses.append(Self.address(of: argv))
        for i in 0..<(Self.addressesPerItem - 1) {
            addresses.append(i < argv.count ? Self.address(of: argv[i].bytes) : 0)
        }
    }

    /// Empties the batch, keeping its arrays' capacity. The items are freed from the last one down, and the
    /// argument arrays of the item ``KeyspaceLoader/prefetchDistance`` further down are loaded meanwhile: the applying core touched them last,
    /// and releasing each would otherwise wait for its reference count to come back to this core.
    mutating func removeAll() {
        let a = addresses
        var i = items.count
        while i > 0 {
            i -= 1
            let ahead = (i &- KeyspaceLoader.prefetchDistance) &* Self.addressesPerItem
            if ahead >= 0 {
                for k in ahead..<(ahead + Self.addressesPerItem) {
                    if let p = UnsafeRawPointer(bitPattern: a[k]) { rdbkit_prefetch_write(p - 32) }
                }
            }
            items.removeLast()
        }
        items.removeAll(keepingCapacity: true)
        keyHashes.removeAll(keepingCapacity: true)
        keyDatabases.removeAll(keepingCapacity: true)
        addresses.removeAll(keepingCapacity: true)
    }

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
}

/// Reads a file on a second thread while the caller applies what it read: parsing (framing, argument
/// arrays, RDB values and their conversion) and applying (the command engine, the key table) each get a
/// core. Batches of items go through a short queue bounded in items and bytes, so memory stays flat
/// however large the file. The reader's error reaches the caller after every item read before it, where
/// a one-thread load would have thrown it.
final class LoadPrefetcher: @unchecked Sendable {
    /// Batches waiting; at most this many.
    static let maximumBatches = 8
    /// A batch ends after this many items or (roughly) bytes.
    static let batchItems = 1024
    static let batchBytes = 1 << 20

    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private let changed: UnsafeMutablePointer<pthread_cond_t>
    private var queue: [LoadBatch] = []
    /// Batches the consumer is done with, freed by the reading thread (where their arrays were allocated:
    /// the consumer then spends no time releasing argument arrays, and malloc stays in one arena).
    private var returned: [LoadBatch] = []
    private var finished = false
    private var cancelled = false
    private var failure: (any Error)?
    private var thread: pthread_t?
    private var work: ((LoadPrefetcher) throws -> Void)?

    // Producer side, touched only by the reading thread.
    private var current = LoadBatch()
    /// Emptied batches whose arrays are reused.
    private var spare: [LoadBatch] = []
    private var currentBytes = 0

    /// Starts `produce` on its own thread (or runs it here when no thread can be made: then every item is
    /// queued, which only costs memory).
    init(_ produce: @escaping (LoadPrefetcher) throws -> Void) {
        lock = .allocate(capacity: 1)
        changed = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        pthread_cond_init(changed, nil)
        work = produce
        thread = NativeThread.start { self.run() }
        if thread == nil {
            unboundedFallback = true
            run()
        }
    }

    /// No thread could be made: the reader runs here, to the end, before anything is applied.
    private var unboundedFallback = false

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(lock)
        lock.deallocate()
        changed.deallocate()
    }

    private func run() {
        var failed: (any Error)?
        do {
            try work?(self)
            _ = flush()
        } catch {
            _ = flush()
            failed = error
        }
        work = nil
        pthread_mutex_lock(lock)
        failure = failed
        finished = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(lock)
    }

    /// Producer: adds an item (`bytes` its rough size, `keyHash` the hash of the key it touches or 0, `db` that
    /// key's database). False once the consumer has stopped: return then.
    func emit(_ item: LoadItem, bytes: Int, keyHash: UInt64 = 0, db: UInt64 = 0) -> Bool {
        current.items.append(item)
        current.keyHashes.append(keyHash)
        current.keyDatabases.append(Int32(truncatingIfNeeded: db))
        if case .command(let argv, _) = item {
            current.appendAddresses(of: argv)
        } else {
            for _ in 0..<LoadBatch.addressesPerItem { current.addresses.append(0) }
        }
        currentBytes += bytes
        if current.count >= Self.batchItems || currentBytes >= Self.batchBytes { return flush() }
        return true
    }

    /// Producer: hands over the batch being filled.
    func flush() -> Bool {
        guard !current.isEmpty else { return !isCancelled }
        let batch = current
        current = spare.popLast() ?? LoadBatch()
        currentBytes = 0
        pthread_mutex_lock(lock)
        while !unboundedFallback && queue.count >= Self.maximumBatches && !cancelled {
            pthread_cond_wait(changed, lock)
        }
        if cancelled {
            pthread_mutex_unlock(lock)
            return false
        }
        queue.append(batch)
        var done: [LoadBatch] = []
        swap(&done, &returned)
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(lock)
        // Empties them here, outside the lock (their items are freed on the thread that allocated them), and
        // keeps their arrays for the next batches: allocating 60 KiB arrays anew each time makes malloc
        // consolidate its free lists every batch.
        while var b = done.popLast() {
            guard spare.count < 2 else { continue }
            b.removeAll()
            spare.append(b)
        }
        return true
    }

    /// Consumer: hands back a batch it has applied, to be freed by the reading thread.
    func recycle(_ batch: consuming LoadBatch) {
        pthread_mutex_lock(lock)
        if !finished { returned.append(batch) }
        pthread_mutex_unlock(lock)
    }

    private var isCancelled: Bool {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return cancelled
    }

    /// Consumer: the next batch, nil at the end; throws the reader's error once the items before it are taken.
    func next() throws -> LoadBatch? {
        pthread_mutex_lock(lock)
        while queue.isEmpty && !finished { pthread_cond_wait(changed, lock) }
        if !queue.isEmpty {
            let b = queue.removeFirst()
            pthread_cond_broadcast(changed)
            pthread_mutex_unlock(lock)
            return b
        }
        let e = failure
        failure = nil
        pthread_mutex_unlock(lock)
        join()
        if let e { throw e }
        return nil
    }

    /// Consumer: stops the reader (early end, or an error while applying) and waits for its thread.
    func cancel() {
        pthread_mutex_lock(lock)
        cancelled = true
        queue = []
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(lock)
        join()
    }

    private func join() {
        if let t = thread {
            pthread_join(t, nil)
            thread = nil
        }
    }
}

extension LoadPrefetcher {
    /// Producer: the keys and other records of an RDB part, to its end. Returns false when cancelled.
    func emitRDB(_ reader: RDBReader) throws(RDBError) -> Bool {
        var last = reader.offset
        while let r = try reader.next() {
            switch r {
            case .key(let h):
                let value = try reader.readValue()
                let entry = Keyspace.Entry(value: KeyValue(value), expiresAt: h.expiresAt?.milliseconds)
                let now = reader.offset
                guard emit(.key(db: Int(h.db), key: h.key, entry: entry), bytes: Int(now - last) + 64, keyHash: KeyTable.hash(h.key), db: h.db)
                else { return false }
                last = now
            case .function(let f):
                if let name = f.libraryName {
                    guard emit(.function(name: name, code: f.code), bytes: f.code.count) else { return false }
                }
            case .moduleAux(let m):
                guard emit(.moduleAux(m), bytes: 64) else { return false }
            case .end:
                return true
            default:
                break
            }
        }
        return true
    }
}
