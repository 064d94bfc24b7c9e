import Foundation

/// Executables SwiftPM built beside the test bundle (`rdbkit`, `KeyspaceMemoryProbe`).
public enum BuiltProducts {
    /// The executable `name` next to the running test bundle, if it is there.
    public static func executable(named name: String) -> URL? {
        var starts: [URL] = []
        if let arg0 = CommandLine.arguments.first {
            starts.append(URL(fileURLWithPath: arg0).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        starts.append(Bundle.main.bundleURL)
        starts.append(Bundle.main.bundleURL.deletingLastPathComponent())
        if let exe = Bundle.main.executableURL { starts.append(exe.deletingLastPathComponent()) }
        for start in starts {
            var dir = start
            for _ in 0..<4 {  // on macOS the bundle's executable is in X.xctest/Contents/MacOS
                let candidate = dir.appendingPathComponent(name)
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue,
                    FileManager.default.isExecutableFile(atPath: candidate.path)
                {
                    return candidate
                }
                dir = dir.deletingLastPathComponent()
            }
        }
        return nil
    }
}
