import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Plain-language reasons for failed file operations: Foundation's errors print as
/// `Error Domain=NSCocoaErrorDomain Code=512 "(null)"`, which tells a user nothing.
public enum FileErrors {
    /// Why an operation on `path` failed, in words: what stands in the way when it can be found on disk
    /// (a file where a folder should be, no permission), else the system's message.
    public static func reason(_ error: any Error, path: String? = nil) -> String {
        if let path, let obstacle = obstacle(path) { return obstacle }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSCocoaErrorDomain {
            switch CocoaError.Code(rawValue: ns.code) {
            case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file or folder"
            case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
            case .fileWriteOutOfSpace: return "no space left on the device"
            case .fileWriteVolumeReadOnly: return "the file system is read-only"
            case .fileWriteFileExists: return "a file of that name is in the way"
            case .fileReadCorruptFile: return "the file is not in the expected format"
            default: break
            }
        }
        let text = ns.localizedDescription
        return text.contains("NSCocoaErrorDomain") || text.contains("(null)") ? "the operation failed (error \(ns.code))" : text
    }

    /// What `errno` means for `path`, with what to do: used where a C call (`fopen`) failed.
    public static func posix(_ code: Int32, path: String, writing: Bool) -> String {
        if writing, let obstacle = obstacle(path) { return "\(obstacle): choose another path" }
        switch code {
        case ENOENT: return writing ? "its folder does not exist: create it or choose another path" : "no such file: check the path"
        case EACCES, EPERM: return "permission denied: check the permissions of the file and its folder"
        case EISDIR: return "it is a folder, not a file: give a file path"
        case ENOTDIR: return "a part of the path is a file, not a folder: check the path"
        case ENOSPC: return "no space left on the device: free some space"
        case EROFS: return "the file system is read-only: choose another path"
        default: return String(cString: strerror(code))
        }
    }

    /// What on disk prevents creating or writing `path`: an existing ancestor that is a file, or a folder
    /// that cannot be written. nil when nothing is found in the way.
    public static func obstacle(_ path: String) -> String? {
        let manager = FileManager.default
        var current = URL(fileURLWithPath: path).standardizedFileURL
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: current.path, isDirectory: &isDirectory) {
            return isDirectory.boolValue && !manager.isWritableFile(atPath: current.path)
                ? "no permission to write in \(current.path)" : nil
        }
        while current.pathComponents.count > 1 {
            current.deleteLastPathComponent()
            if manager.fileExists(atPath: current.path, isDirectory: &isDirectory) {
                if !isDirectory.boolValue { return "\(current.path) is a file, not a folder" }
                if !manager.isWritableFile(atPath: current.path) { return "no permission to write in \(current.path)" }
                return nil
            }
        }
        return nil
    }
}
