import Foundation
import Logging

/// One JSON object per line on standard output, for log shippers. Values are whatever the code logged:
/// secrets never reach a log call (they are `Secret`s, whose description is `<secret>`).
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: String] = [
            "ts": Date().formatted(.iso8601),
            "level": event.level.rawValue,
            "logger": label,
            "message": "\(event.message)",
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = "\(value)"
        }
        // Every value is a string, so serialization fails only on a broken Foundation; the line is then
        // written as plain text rather than lost.
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            FileHandle.standardOutput.write(Data("\(event.level) \(label): \(event.message) (not encodable as JSON)\n".utf8))
            return
        }
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}
