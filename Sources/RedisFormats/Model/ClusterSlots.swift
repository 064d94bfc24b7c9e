/// Redis Cluster hash slots: `CRC16(key) & 16383`, hashing only the `{tag}` when a key has one.
public enum ClusterSlot {
    public static let count = 16384

    /// CRC16/XMODEM (poly 0x1021, init 0): the check value of `"123456789"` is 0x31C3 (`crc16.c`).
    public static func crc16<C: Collection>(_ bytes: C) -> UInt16 where C.Element == UInt8 {
        var crc: UInt16 = 0
        for b in bytes {
            crc ^= UInt16(b) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        }
        return crc
    }

    /// Mirrors `keyHashSlot`: the first `{`, then the first `}` after it; hash the bytes between them when
    /// that is not empty, else the whole key.
    public static func slot(of key: RedisBytes) -> Int {
        let k = key.bytes
        if let open = k.firstIndex(of: UInt8(ascii: "{")),
            let close = k[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        {
            return Int(crc16(k[(open + 1)..<close]) & 0x3FFF)
        }
        return Int(crc16(k) & 0x3FFF)
    }

    /// A master of a cluster and the slots it serves.
    public struct Master: Sendable, Hashable {
        public var id: String
        public var address: String
        public var slots: [ClosedRange<Int>]
    }

    /// Parses `CLUSTER NODES` output or a `nodes.conf`: masters with their slot ranges (importing and
    /// migrating markers `[…]` are ignored).
    public static func parseNodes(_ text: String) throws(RDBError) -> [Master] {
        var masters: [Master] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count >= 8, parts[0] != "vars" else { continue }
            let flags = parts[2].split(separator: ",")
            guard flags.contains("master"), !flags.contains("fail") else { continue }
            var slots: [ClosedRange<Int>] = []
            for s in parts.dropFirst(8) where !s.hasPrefix("[") {
                let ab = s.split(separator: "-", omittingEmptySubsequences: false)
                guard ab.count <= 2, let a = Int(ab[0]), let b = Int(ab.count > 1 ? ab[1] : ab[0]), a >= 0, a <= b, b < count else {
                    throw RDBError(.corrupt, "invalid slot range '\(s)' for node \(parts[0])")
                }
                slots.append(a...b)
            }
            if !slots.isEmpty {
                masters.append(Master(id: parts[0], address: String(parts[1].split(separator: "@").first ?? ""), slots: slots))
            }
        }
        guard !masters.isEmpty else { throw RDBError(.corrupt, "no master with slots in the nodes description") }
        return masters
    }

    /// `n` masters with even slot ranges.
    public static func evenShards(_ n: Int) -> [Master] {
        (0..<n).map { i in
            let lo = i * count / n
            let hi = (i + 1) * count / n - 1
            return Master(id: "shard-\(i)", address: "", slots: [lo...hi])
        }
    }
}
