import Foundation
import KlaxonTestSupport
import Testing

/// A real SMTP server for the tests: aiosmtpd (PyPI) driven by `smtp_server.py` beside this file, on a free
/// loopback port. `.ci/run` installs aiosmtpd; without CI a machine lacking it skips these tests.
final class SMTPPeer: Sendable {
    /// Whether `python3 -c "import aiosmtpd"` succeeds. A spawn that fails means the same as a failed
    /// import: no usable server here.
    static let isAvailable: Bool = {
        guard let probe = try? KlaxonChildProcess(executable: "python3", ["-c", "import aiosmtpd"], directory: NSTemporaryDirectory()) else { return false }
        for _ in 0..<2000 where probe.isRunning { usleep(10_000) }
        return !probe.isRunning && probe.terminationStatus == 0
    }()

    /// In CI a missing server fails the tests instead of skipping them.
    static let isRequired = TestPostgres.isCI

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("smtp_server.py").path

    let port: Int
    private let process: KlaxonChildProcess
    private let mailDirectory: String

    private init(port: Int, process: KlaxonChildProcess, mailDirectory: String) {
        self.port = port
        self.process = process
        self.mailDirectory = mailDirectory
    }

    /// Starts the server with `options` (see `smtp_server.py --help`) and waits for its READY line.
    static func start(_ options: [String] = [], in directory: TemporaryDirectory) async throws -> SMTPPeer {
        try #require(isAvailable, "aiosmtpd is not installed (python3 -m pip install aiosmtpd); .ci/run installs it")
        let mail = directory.file("mail-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: mail, withIntermediateDirectories: true)
        let process = try KlaxonChildProcess(executable: "python3", ["-u", script, "--dir", mail] + options, directory: directory.path)
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline, process.isRunning {
            if let line = process.output.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }), let port = Int(line.dropFirst(6)) {
                return SMTPPeer(port: port, process: process, mailDirectory: mail)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        process.kill()
        throw PeerDidNotStart(output: process.output)
    }

    func stop() { process.kill() }

    var output: String { process.output }

    /// What the server accepted, in order. Written before its 250, so complete once the client has it.
    func received() throws -> [ReceivedMail] {
        let names = try FileManager.default.contentsOfDirectory(atPath: mailDirectory).filter { $0.hasSuffix(".json") }
            .sorted { (Int($0.dropLast(5)) ?? 0) < (Int($1.dropLast(5)) ?? 0) }
        return try names.map { name in
            let data = try Data(contentsOf: URL(fileURLWithPath: mailDirectory).appendingPathComponent(name))
            return try JSONDecoder().decode(ReceivedMail.self, from: data)
        }
    }

    /// A throwaway certificate for `localhost` and 127.0.0.1, made with openssl: (certificate, key) paths.
    static func makeCertificate(in directory: TemporaryDirectory) async throws -> (certificate: String, key: String) {
        let certificate = directory.file("smtp-cert.pem")
        let key = directory.file("smtp-key.pem")
        let openssl = try KlaxonChildProcess(
            executable: "openssl",
            [
                // An EC key: made in milliseconds, where RSA keys cost the parallel suite real CPU time.
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", certificate, "-days", "2",
                "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ],
            directory: directory.path)
        #expect(await openssl.waitForExit(timeout: .seconds(60)), "openssl did not finish")
        try #require(openssl.terminationStatus == 0, "openssl failed:\n\(openssl.output)")
        return (certificate, key)
    }
}

struct PeerDidNotStart: Error, CustomStringConvertible {
    var output: String
    var description: String { "the SMTP server did not start:\n\(output)" }
}

/// One message as the server took it, and as Python's mail parser reads it.
struct ReceivedMail: Decodable {
    struct Part: Decodable {
        var type: String
        var charset: String?
        var body: String
    }

    var mail_from: String
    var rcpt_tos: [String]
    var login: String?
    var tls: Bool
    var data: String
    var headers: [String: String]
    var content_type: String
    var parts: [Part]
}
