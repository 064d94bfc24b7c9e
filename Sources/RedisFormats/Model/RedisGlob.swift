/// A glob pattern with Redis's syntax (`KEYS`, `SCAN MATCH`; `util.c` `stringmatchlen`):
/// `*` any run, `?` one byte, `[abc]`, `[^abc]`, `[a-z]` (reversed ranges allowed), `\x` a literal `x`.
/// Bytes, not characters: `?` matches one byte of a UTF-8 sequence.
///
/// ```swift
/// RedisGlob("user:*:profile").matches(RedisBytes("user:42:profile"))   // true
/// ```
/// Matching is iterative with single-star backtracking: linear memory, no recursion, no blow-up.
public struct RedisGlob: Sendable, Hashable {
    public let pattern: [UInt8]
    public let ignoresCase: Bool

    public init(_ pattern: String, ignoresCase: Bool = false) {
        self.init(bytes: Array(pattern.utf8), ignoresCase: ignoresCase)
    }

    public init(bytes: [UInt8], ignoresCase: Bool = false) {
        self.pattern = bytes
        self.ignoresCase = ignoresCase
    }

    /// Whether the pattern is `*` (matches everything).
    public var matchesEverything: Bool { !pattern.isEmpty && pattern.allSatisfy { $0 == UInt8(ascii: "*") } }

    /// The literal prefix before the first special character (for prefix pruning).
    public var literalPrefix: [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < pattern.count {
            let c = pattern[i]
            if c == UInt8(ascii: "*") || c == UInt8(ascii: "?") || c == UInt8(ascii: "[") { break }
            if c == UInt8(ascii: "\\") {
                if i + 1 < pattern.count { out.append(pattern[i + 1]); i += 2; continue }
                out.append(c)
                break
            }
            out.append(c)
            i += 1
        }
        return out
    }

    public func matches(_ key: RedisBytes) -> Bool { matches(key.bytes) }

    public func matches(_ s: [UInt8]) -> Bool {
        let p = pattern
        var pi = 0
        var si = 0
        var starP = -1
        var starS = 0
        while si < s.count || pi < p.count {
            if pi < p.count {
                if p[pi] == UInt8(ascii: "*") {
                    while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
                    if pi == p.count { return true }
                    starP = pi
                    starS = si
                    continue
                }
                if si < s.count {
                    let (ok, next) = matchOne(p, pi, s[si])
                    if ok {
                        pi = next
                        si += 1
                        continue
                    }
                }
            }
            // Mismatch: let the last star absorb one more byte.
            if starP >= 0 && starS < s.count {
                starS += 1
                si = starS
                pi = starP
                continue
            }
            return false
        }
        return true
    }

    @inline(__always) private func fold(_ c: UInt8) -> UInt8 {
        ignoresCase && c >= 0x41 && c <= 0x5A ? c + 32 : c
    }

    /// Matches one non-star token at `pi` against byte `c`; returns the index after the token.
    private func matchOne(_ p: [UInt8], _ start: Int, _ c: UInt8) -> (Bool, Int) {
        var pi = start
        switch p[pi] {
        case UInt8(ascii: "?"):
            return (true, pi + 1)
        case UInt8(ascii: "["):
            pi += 1
            var negate = false
            if pi < p.count && p[pi] == UInt8(ascii: "^") {
                negate = true
                pi += 1
            }
            var matched = false
            while true {
                if pi >= p.count { break }  // unterminated: what was read is the set
                let t = p[pi]
                if t == UInt8(ascii: "\\") && p.count - pi >= 2 {
                    pi += 1
                    if fold(p[pi]) == fold(c) { matched = true }
                } else if t == UInt8(ascii: "]") {
                    break
                } else if p.count - pi >= 3 && p[pi + 1] == UInt8(ascii: "-") {
                    var lo = fold(p[pi])
                    var hi = fold(p[pi + 2])
                    if lo > hi { swap(&lo, &hi) }
                    let fc = fold(c)
                    if fc >= lo && fc <= hi { matched = true }
                    pi += 2
                } else if fold(t) == fold(c) {
                    matched = true
                }
                pi += 1
            }
            if negate { matched = !matched }
            return (matched, min(pi + 1, p.count))
        case UInt8(ascii: "\\") where p.count - pi >= 2:
            return (fold(p[pi + 1]) == fold(c), pi + 2)
        default:
            return (fold(p[pi]) == fold(c), pi + 1)
        }
    }
}
