import Foundation
import Testing
import SwitchyardCore

@Suite("Secrets: owner-only files and redaction")
struct SecretsTests {
    func write(_ text: String, mode: Int) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)").path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    @Test("An owner-only file is read; its first non-comment line is the secret")
    func ownerOnly() throws {
        let path = try write("# my key\n\n  sk-test-123456  \nsecond\n", mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try SecretFile.readLine(path) == "sk-test-123456")
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: path)
        #expect(try SecretFile.readLine(path) == "sk-test-123456")
    }

    @Test("Group- or world-readable files are refused with the chmod to run", arguments: [0o640, 0o604, 0o644, 0o660, 0o610])
    func tooOpen(mode: Int) throws {
        let path = try write("sk-test-123456\n", mode: mode)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: SecretFile.Failure.tooOpen(path: path, mode: UInt16(mode))) { try SecretFile.readLine(path) }
        let message = "\(SecretFile.Failure.tooOpen(path: path, mode: UInt16(mode)))"
        #expect(message.contains("chmod 600 \(path)"))
        #expect(!message.contains("sk-test"))
    }

    @Test("Missing, empty and directory paths are clear errors")
    func otherFailures() throws {
        #expect(throws: SecretFile.Failure.missing(path: "/nonexistent/key")) { try SecretFile.readLine("/nonexistent/key") }
        let empty = try write("# only a comment\n", mode: 0o600)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect(throws: SecretFile.Failure.empty(path: empty)) { try SecretFile.readLine(empty) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dir-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: SecretFile.Failure.notAFile(path: directory)) { try SecretFile.readLine(directory) }
    }

    @Test("Registered secrets are redacted from text and bytes, JSON-escaped forms too")
    func redaction() {
        let redactor = Redactor()
        #expect(redactor.redact("nothing registered sk-abc/def") == "nothing registered sk-abc/def")
        redactor.register("sk-abc/def-123")
        redactor.register("abc")  // too short: ignored
        #expect(redactor.redact("Bearer sk-abc/def-123, again sk-abc/def-123") == "Bearer <redacted>, again <redacted>")
        #expect(redactor.redact("keep abc") == "keep abc")
        let echoed = Data(#"{"auth":"Bearer sk-abc\/def-123","raw":"sk-abc/def-123"}"#.utf8)
        let clean = redactor.redact(echoed)
        #expect(String(decoding: clean, as: UTF8.self) == #"{"auth":"Bearer <redacted>","raw":"<redacted>"}"#)
        #expect(redactor.contains(in: echoed))
        #expect(!redactor.contains(in: clean))
        #expect(redactor.redact(Data(echoed[10...])).range(of: Data("sk-abc".utf8)) == nil, "slices work")
    }
}
