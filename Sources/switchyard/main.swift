import Foundation
import SwitchyardCLI

// From top-level code `await SwitchyardCommand.main()` resolves to ParsableCommand's synchronous
// main(), which refuses async commands ("needs availability annotation"); inside an async function
// the async overload is chosen.
func runSwitchyard() async {
    let parentWatch = ParentWatch.startIfRequested(environment: ProcessInfo.processInfo.environment)
    await SwitchyardCommand.main()
    withExtendedLifetime(parentWatch) {}
}

await runSwitchyard()
