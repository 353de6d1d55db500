import Foundation
import IncidentCore

/// The wire formats of `POST /alerts/<kind>/<source>`, decoded into the core's `AlertNotification`.
/// Unknown fields are ignored (Alertmanager and Grafana add some from version to version); a missing or
/// mistyped required field is refused with its JSON path.
public enum AlertPayloads {
    /// The longest group key taken: Alertmanager's are built from labels and stay far below this.
    public static let maximumGroupKeyLength = 4_096

    public struct Problem: Error, CustomStringConvertible {
        /// Where in the JSON, e.g. `alerts[0].status`.
        public var path: String
        public var message: String
        public var description: String { path.isEmpty ? message : "\(path): \(message)" }
    }

    /// Decodes `body` as `kind` sends it, for `source`.
    public static func decode(_ body: Data, kind: AlertSourceKind, source: String) throws(Problem) -> AlertNotification {
        do {
            switch kind {
            case .alertmanager, .grafana:
                let payload = try JSONDecoder().decode(AlertmanagerShape.self, from: body)
                return try payload.notification(source: source)
            case .webhook:
                let payload = try JSONDecoder().decode(GenericShape.self, from: body)
                return try payload.notification(source: source)
            }
        } catch let problem as Problem {
            throw problem
        } catch let error as DecodingError {
            throw Problem(decoding: error)
        } catch {
            throw Problem(path: "", message: "not a JSON object")
        }
    }
}

extension AlertPayloads.Problem {
    init(decoding error: DecodingError) {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return text
        }
        switch error {
        case .keyNotFound(let key, let context):
            self.init(path: path(context.codingPath + [key]), message: "missing required field")
        case .typeMismatch(let type, let context):
            self.init(path: path(context.codingPath), message: "expected \(Self.describe(type))")
        case .valueNotFound(let type, let context):
            self.init(path: path(context.codingPath), message: "expected \(Self.describe(type)), got null")
        case .dataCorrupted(let context):
            self.init(path: path(context.codingPath), message: context.codingPath.isEmpty ? "not valid JSON" : context.debugDescription)
        @unknown default:
            self.init(path: "", message: "not a valid payload")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "an integer"
        case is [String: String].Type: "an object of strings"
        case is Array<Any>.Type: "an array"
        default: "\(type)"
        }
    }
}

/// Alertmanager's webhook (version 4), and Grafana's contact point, which adds `title`, `state`, `message`
/// and per-alert links to the same shape.
struct AlertmanagerShape: Decodable {
    var groupKey: String
    var status: AlertStatus
    var groupLabels: [String: String]?
    var commonLabels: [String: String]?
    var commonAnnotations: [String: String]?
    var externalURL: String?
    var truncatedAlerts: Int?
    var alerts: [Alert]
    // Grafana
    var title: String?
    var message: String?

    struct Alert: Decodable {
        var status: AlertStatus
        var labels: [String: String]
        var annotations: [String: String]?
        var startsAt: WireDate?
        var endsAt: WireDate?
        var generatorURL: String?
        var fingerprint: String?
        var silenceURL: String?
        var dashboardURL: String?
        var panelURL: String?
    }

    func notification(source: String) throws -> AlertNotification {
        guard !groupKey.isEmpty, groupKey.count <= AlertPayloads.maximumGroupKeyLength else {
            throw AlertPayloads.Problem(path: "groupKey", message: "must be 1 to \(AlertPayloads.maximumGroupKeyLength) characters")
        }
        let instances = alerts.map { alert in
            AlertInstance(
                // Every Alertmanager since 0.19 sends it; older ones are told apart by their labels.
                fingerprint: alert.fingerprint.flatMap { $0.isEmpty ? nil : $0 } ?? Self.labelFingerprint(alert.labels),
                status: alert.status, labels: alert.labels, annotations: alert.annotations ?? [:],
                startsAt: alert.startsAt?.date, endsAt: alert.endsAt?.date, generatorURL: alert.generatorURL,
                silenceURL: alert.silenceURL, dashboardURL: alert.dashboardURL, panelURL: alert.panelURL)
        }
        return AlertNotification(
            source: source, groupKey: groupKey, status: status, alerts: instances, groupLabels: groupLabels ?? [:],
            commonLabels: commonLabels ?? [:], commonAnnotations: commonAnnotations ?? [:], externalURL: externalURL,
            title: title.flatMap { $0.isEmpty ? nil : $0 }, message: message, truncatedAlerts: max(0, truncatedAlerts ?? 0))
    }

    static func labelFingerprint(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}

/// The generic route's body (docs/alerts.md): one alert, its own group.
struct GenericShape: Decodable {
    var key: String
    var status: AlertStatus
    var title: String?
    var severity: String?
    var labels: [String: String]?
    var text: String?
    var url: String?

    func notification(source: String) throws -> AlertNotification {
        guard !key.isEmpty, key.count <= AlertPayloads.maximumGroupKeyLength else {
            throw AlertPayloads.Problem(path: "key", message: "must be 1 to \(AlertPayloads.maximumGroupKeyLength) characters")
        }
        var labels = labels ?? [:]
        if let severity { labels["severity"] = severity }
        if labels["alertname"] == nil, let title { labels["alertname"] = title }
        var annotations: [String: String] = [:]
        annotations["summary"] = text
        let alert = AlertInstance(fingerprint: key, status: status, labels: labels, annotations: annotations, generatorURL: url)
        return AlertNotification(
            source: source, groupKey: key, status: status, alerts: [alert], commonLabels: labels, commonAnnotations: annotations,
            title: title, message: text)
    }
}

/// An RFC 3339 time as Alertmanager and Grafana write it: fractions of any length (Go prints up to nine
/// digits), `Z` or an offset. Go's zero time (`0001-01-01T00:00:00Z`, a firing alert's `endsAt`) is nil.
struct WireDate: Decodable {
    var date: Date?

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = Self.parse(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\"\(text.prefix(40))\" is not an RFC 3339 time")
        }
        date = parsed.year <= 1 ? nil : parsed.date
    }

    static func parse(_ text: String) -> (year: Int, date: Date)? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 64 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0..<4), bytes[4] == 45, let month = number(5..<7), bytes[7] == 45, let day = number(8..<10),
            bytes[10] == 84 || bytes[10] == 116 || bytes[10] == 32,
            let hour = number(11..<13), bytes[13] == 58, let minute = number(14..<16), bytes[16] == 58, let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var index = 19
        var fraction = 0.0
        if bytes[index] == 46 {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index < bytes.count else { return nil }
        var offset = 0
        switch bytes[index] {
        case 90, 122:
            guard index + 1 == bytes.count else { return nil }
        case 43, 45:
            guard index + 6 == bytes.count, let hours = number(index + 1..<index + 3), bytes[index + 3] == 58,
                let minutes = number(index + 4..<index + 6), hours < 24, minutes < 60
            else { return nil }
            offset = (hours * 60 + minutes) * 60 * (bytes[index] == 45 ? -1 : 1)
        default:
            return nil
        }
        // Days since 1970-01-01 by the civil-from-days inverse (proleptic Gregorian), so no calendar object is needed.
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = Double(days * 86_400 + hour * 3_600 + minute * 60 + second - offset) + fraction
        return (year, Date(timeIntervalSince1970: seconds))
    }
}
