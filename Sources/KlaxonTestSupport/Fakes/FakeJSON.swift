import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Reading and writing JSON in the fake servers, with `JSONSerialization` so they check field names
/// themselves instead of sharing Klaxon's `Codable` types.
public enum FakeJSON {
    public static func object(_ buffer: ByteBuffer) -> [String: Any]? {
        value(buffer) as? [String: Any]
    }

    /// The body's JSON value, or nil when it is not JSON (each fake answers that with its server's error).
    public static func value(_ buffer: ByteBuffer) -> Any? {
        do {
            return try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))
        } catch {
            return nil
        }
    }

    public static func response(_ object: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: encode(object))))
    }

    /// Keys sorted, so an answer reads the same every run. The fakes build only serialisable values.
    static func encode(_ object: Any) -> Data {
        do {
            return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        } catch {
            preconditionFailure("a fake built an answer JSONSerialization cannot write: \(error)")
        }
    }
}

/// ISO 8601 with milliseconds, as Rocket.Chat writes dates.
public func isoMilliseconds(_ date: Date) -> String {
    date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
}
