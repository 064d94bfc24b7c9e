import RDBKitCommands

@main
enum RDBKitMain {
    static func main() { RDBKitEntry.main() }
}
