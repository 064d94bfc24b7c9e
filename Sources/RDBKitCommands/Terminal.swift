#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Standard error and terminal helpers.
enum Terminal {
    static func printError(_ text: String) {
        writeAll(2, Array((text + "\n").utf8))
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { p in
            var done = 0
            while done < p.count {
                let n = write(fd, p.baseAddress! + done, p.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return
                }
                done += n
            }
        }
    }

    /// Whether standard error is a terminal (progress is shown only then).
    static var stderrIsTTY: Bool { isatty(2) == 1 }
    static var stdoutIsTTY: Bool { isatty(1) == 1 }

    /// Monotonic seconds.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// A one-line progress display on stderr, redrawn at most 5 times a second, only on a TTY.
final class Progress {
    private let total: Int64?
    private let label: String
    private let enabled: Bool
    private let start = Terminal.now()
    private var lastDraw = 0.0
    private var drawn = false
    private var calls = 0

    init(label: String, total: Int64?, enabled: Bool = Terminal.stderrIsTTY) {
        self.label = label
        self.total = total
        self.enabled = enabled
    }

    /// Reports the bytes read so far and the keys done.
    func update(bytes: Int64, keys: Int, force: Bool = false) {
        guard enabled else { return }
        calls += 1
        if !force && calls & 255 != 0 { return }
        let t = Terminal.now()
        guard t - lastDraw >= 0.2 else { return }
        lastDraw = t
        let elapsed = max(t - start, 0.001)
        let mb = Double(bytes) / 1_048_576
        var line = "\r\(label): \(keys) keys, \(format(mb)) MiB, \(format(mb / elapsed)) MiB/s"
        if let total, total > 0 {
            let pct = Double(bytes) / Double(total) * 100
            let eta = bytes > 0 ? elapsed * Double(total - bytes) / Double(bytes) : 0
            line += ", \(format(pct))%, ETA \(Int(eta))s"
        }
        Terminal.writeAll(2, Array((line + "\u{1B}[K").utf8))
        drawn = true
    }

    /// Clears the progress line.
    func finish() {
        guard enabled, drawn else { return }
        Terminal.writeAll(2, Array("\r\u{1B}[K".utf8))
    }

    private func format(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return String(r)
    }
}
