// swift-tools-version: 6.2
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// The format core, JSON and the keyspace are hot byte loops: release builds drop the dynamic exclusivity
// checks there (class properties accessed in place; 3-5 % of a parse). Debug builds and tests keep them.
let hotPathSettings: [SwiftSetting] = strictSettings + [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "rdbkit",
    products: [
        .library(name: "RedisFormats", targets: ["RedisFormats"]),
        .library(name: "RedisFormatsJSON", targets: ["RedisFormatsJSON"]),
        .library(name: "RedisKeyspace", targets: ["RedisKeyspace"]),
        .library(name: "RDBKitCommands", targets: ["RDBKitCommands"]),
        .executable(name: "rdbkit", targets: ["rdbkit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(name: "CLZF", path: "Sources/CLZF", pkgConfig: "liblzf", providers: [.apt(["liblzf-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // CRC64 folding with carry-less multiplication (x86-64), checked at run time; the tables otherwise.
        .target(name: "CRC64Fold", path: "Sources/CRC64Fold", cSettings: [.unsafeFlags(["-O3"])]),
        // LZF decoding (decompression and a validating walk) faster than liblzf's, with its verdicts; liblzf compresses.
        .target(name: "CLZFDecode", path: "Sources/CLZFDecode", cSettings: [.unsafeFlags(["-O3"])]),
        // Cache prefetch hints for the keyspace's batched command application (inline functions only).
        .target(name: "CMemoryHints", path: "Sources/CMemoryHints"),
        .target(
            name: "RedisFormats",
            dependencies: ["CLZF", "CLZFDecode", "CZlib", "CRC64Fold"],
            swiftSettings: hotPathSettings
        ),
        .target(name: "RedisFormatsJSON", dependencies: ["RedisFormats"], swiftSettings: hotPathSettings),
        .target(name: "RedisKeyspace", dependencies: ["RedisFormats", "CMemoryHints"], swiftSettings: hotPathSettings),
        .target(
            name: "RedisServe",
            dependencies: [
                "RedisKeyspace",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "RedisClient",
            dependencies: [
                "RedisFormats",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "RDBKitCommands",
            dependencies: [
                "RedisFormats", "RedisFormatsJSON", "RedisKeyspace", "RedisServe", "RedisClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The replay's per-key path is here and in RedisClient: release builds drop the dynamic
            // exclusivity checks (about 8 % of a RESTORE replay's instructions).
            swiftSettings: hotPathSettings
        ),
        .executableTarget(name: "rdbkit", dependencies: ["RDBKitCommands"], swiftSettings: strictSettings),
        .target(name: "_RedisFormatsTestSupport", dependencies: ["RedisFormats"], path: "Tests/_RedisFormatsTestSupport", swiftSettings: strictSettings),
        .testTarget(name: "RedisFormatsTests", dependencies: ["RedisFormats", "_RedisFormatsTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "RedisKeyspaceTests", dependencies: ["RedisKeyspace", "_RedisFormatsTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "RedisFormatsJSONTests", dependencies: ["RedisFormatsJSON", "_RedisFormatsTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "RedisClientTests", dependencies: ["RedisClient", "_RedisFormatsTestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "RedisServeTests", dependencies: ["RedisServe", "RedisKeyspace", "_RedisFormatsTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RDBKitCommandsTests",
            dependencies: ["RDBKitCommands", "_RedisFormatsTestSupport"],
            resources: [],
            swiftSettings: strictSettings
        ),
        // Measures a loaded keyspace's memory in a process of its own (used by the keyspace memory test).
        .executableTarget(name: "KeyspaceMemoryProbe", dependencies: ["RedisKeyspace"], path: "Sources/Tools/KeyspaceMemoryProbe", swiftSettings: strictSettings),
        // libFuzzer targets, built and run by scripts/fuzz.sh; a plain build replays files given as arguments.
        .target(name: "FuzzSupport", dependencies: ["RedisFormats"], path: "Sources/Fuzz/FuzzSupport", swiftSettings: strictSettings),
        .executableTarget(name: "FuzzRDB", dependencies: ["FuzzSupport", "RedisFormats"], path: "Sources/Fuzz/FuzzRDB", swiftSettings: strictSettings),
        .executableTarget(name: "FuzzAOF", dependencies: ["FuzzSupport", "RedisFormats"], path: "Sources/Fuzz/FuzzAOF", swiftSettings: strictSettings),
        .executableTarget(name: "FuzzListpack", dependencies: ["FuzzSupport", "RedisFormats"], path: "Sources/Fuzz/FuzzListpack", swiftSettings: strictSettings),
        .executableTarget(name: "FuzzZiplist", dependencies: ["FuzzSupport", "RedisFormats"], path: "Sources/Fuzz/FuzzZiplist", swiftSettings: strictSettings),
        .executableTarget(name: "FuzzIntset", dependencies: ["FuzzSupport", "RedisFormats"], path: "Sources/Fuzz/FuzzIntset", swiftSettings: strictSettings),
        .executableTarget(name: "FuzzZipmap", dependencies: ["FuzzSupport", "RedisFormats"], path: "Sources/Fuzz/FuzzZipmap", swiftSettings: strictSettings),
        .executableTarget(name: "FuzzLZF", dependencies: ["FuzzSupport", "RedisFormats"], path: "Sources/Fuzz/FuzzLZF", swiftSettings: strictSettings),
    ]
)
