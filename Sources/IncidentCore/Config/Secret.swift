/// A token or signing secret. Its description never shows the value, so it cannot leak into a log line
/// or an error message by accident; code that needs the value asks for `exposedValue` by name.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let exposedValue: String

    public init(_ value: String) { self.exposedValue = value }

    public var isEmpty: Bool { exposedValue.isEmpty }
    public var description: String { "<secret>" }
    public var debugDescription: String { "<secret>" }
}

/// `dump()` and debuggers read values through reflection; show them nothing either.
extension Secret: CustomReflectable {
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
