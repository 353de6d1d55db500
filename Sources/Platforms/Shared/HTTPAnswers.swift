import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension Response {
    /// A JSON response from an `Encodable` value.
    package static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try APIJSON.encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    package static func text(_ text: String, status: HTTPResponse.Status = .ok, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    package static func error(_ message: String, status: HTTPResponse.Status) -> Response {
        // Encoding one string cannot fail; plain text is the fallback all the same.
        (try? json(ErrorBody(error: message), status: status)) ?? text(message, status: status)
    }
}

extension Request {
    /// The raw body, refused with 413 past `limit` bytes (Hummingbird maps `NIOTooManyBytesError` to 413).
    package func collectBody(limit: Int) async throws -> ByteBuffer {
        try await body.collect(upTo: limit)
    }
}

/// The body of every error answer: `{"error": "..."}`.
package struct ErrorBody: Codable, Sendable {
    package var error: String
}

/// The JSON of Klaxon's own HTTP answers and requests (the API, the platforms' inbound answers).
package enum APIJSON {
    package static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
    package static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
