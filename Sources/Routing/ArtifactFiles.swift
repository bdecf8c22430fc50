import Foundation
import SwitchyardCore

/// Reading and writing the small JSON tables of an artifact, with errors that name the file and say
/// to rebuild.
public enum ArtifactFiles {
    public static func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            try encoder.encode(value).write(to: url, options: .atomic)
        } catch {
            throw SwitchyardError.unwritableFile(file: url.path, reason: "\(FileErrors.reason(error, path: url.path)): check --out")
        }
    }

    public static func readJSON<T: Decodable>(_ type: T.Type, from url: URL) throws(SwitchyardError) -> T {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .unreadableFile(file: url.path, reason: "missing; rebuild the artifact with `switchyard profile build`")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw .badFile(file: url.path, reason: "corrupt (\(DecodingErrorDescription.describe(error))); rebuild the artifact with `switchyard profile build`")
        }
    }

    /// Makes `directory` (and parents) if needed.
    public static func makeDirectory(_ directory: URL) throws(SwitchyardError) {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .unwritableFile(file: directory.path, reason: "cannot create the folder (\(FileErrors.reason(error, path: directory.path))): choose another --out")
        }
    }

    /// Checks that a loaded table has the expected shape, so a hand-edited file fails loudly.
    static func check(_ condition: Bool, _ url: URL, _ reason: @autoclosure () -> String) throws(SwitchyardError) {
        if !condition { throw .badFile(file: url.path, reason: "\(reason()); rebuild the artifact with `switchyard profile build`") }
    }
}
