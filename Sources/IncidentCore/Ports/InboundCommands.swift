/// The door every platform's inbound commands go through (the daemon's `CommandGateway`, which also
/// counts, logs and refuses commands while the store is down). Platform adapters hold only this, so they
/// need nothing of the daemon's wiring.
public protocol InboundCommands: Sendable {
    func handle(text: String, context: CommandContext) async -> CommandService.Result
}
