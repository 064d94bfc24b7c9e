// swift-tools-version: 6.2
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "rdbkit",
    products: [
        .library(name: "RedisFormats", targets: ["RedisFormats"]),
        .library(name: "RedisFormatsJSON", targets: ["RedisFormatsJSON"]),
        .library(name: "RDBKitCommands", targets: ["RDBKitCommands"]),
        .executable(name: "rdbkit", targets: ["rdbkit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        .systemLibrary(name: "CLZF", path: "Sources/CLZF", pkgConfig: "liblzf", providers: [.apt(["liblzf-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "RedisFormats",
            dependencies: ["CLZF", "CZlib"],
            swiftSettings: strictSettings
        ),
        .target(name: "RedisFormatsJSON", dependencies: ["RedisFormats"], swiftSettings: strictSettings),
        .target(
            name: "RDBKitCommands",
            dependencies: [
                "RedisFormats", "RedisFormatsJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(name: "rdbkit", dependencies: ["RDBKitCommands"], swiftSettings: strictSettings),
        .target(name: "_RedisFormatsTestSupport", dependencies: ["RedisFormats"], path: "Tests/_RedisFormatsTestSupport", swiftSettings: strictSettings),
        .testTarget(name: "RedisFormatsTests", dependencies: ["RedisFormats", "_RedisFormatsTestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "RedisFormatsJSONTests", dependencies: ["RedisFormatsJSON", "_RedisFormatsTestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "RDBKitCommandsTests",
            dependencies: ["RDBKitCommands", "_RedisFormatsTestSupport"],
            resources: [],
            swiftSettings: strictSettings
        ),
    ]
)
