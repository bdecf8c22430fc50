import SwitchyardCLI

await SwitchyardCommand.main()
