/// Strict UTF-8 validation (no overlong forms, no surrogates, nothing above U+10FFFF).
public enum UTF8Validation {
    /// Whether `bytes` is well-formed UTF-8.
    @inlinable
    public static func isValid<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var it = bytes.makeIterator()
        while let b0 = it.next() {
            if b0 < 0x80 { continue }
            let need: Int
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; upper = 0x9F
            case 0xF0: need = 3; lower = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; upper = 0x8F
            default: return false
            }
            guard let b1 = it.next(), b1 >= lower, b1 <= upper else { return false }
            if need >= 2 {
                guard let b2 = it.next(), b2 & 0xC0 == 0x80 else { return false }
            }
            if need == 3 {
                guard let b3 = it.next(), b3 & 0xC0 == 0x80 else { return false }
            }
        }
        return true
    }
}
