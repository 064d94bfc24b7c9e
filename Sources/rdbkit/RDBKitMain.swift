import RDBKitCommands

@main
enum RDBKitMain {
    static func main() async { await RDBKitEntry.main() }
}
