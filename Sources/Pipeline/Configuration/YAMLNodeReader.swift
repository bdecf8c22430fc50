import Foundation
import Yams

/// Walks a composed YAML tree keeping the key path, so every error names where it is
/// (`models[2].backend.url`), and unknown keys are caught rather than silently ignored.
struct YAMLNodeReader {
    let node: Yams.Node
    let path: String
    let environment: [String: String]

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func fail(_ reason: String, at keyPath: String? = nil) -> ConfigurationError {
        ConfigurationError(keyPath: keyPath ?? path, reason: reason)
    }

    /// The mapping's entries, after checking every key is one of `allowed`.
    func mapping(allowed: [String]) throws(ConfigurationError) -> [String: YAMLNodeReader] {
        guard case .mapping(let mapping) = node else {
            throw fail("expected a mapping (key: value), found \(kindName)")
        }
        var result: [String: YAMLNodeReader] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string else { throw fail("keys must be strings") }
            guard allowed.contains(key) else {
                var hint = "allowed keys: \(allowed.joined(separator: ", "))"
                if key.lowercased().contains("api_key") || key.lowercased().contains("secret") {
                    hint = "secrets never go in the file: put the key in an environment variable named in api_key_env, or in an owner-only file (chmod 600) named in api_key_file"
                }
                throw fail("unknown key '\(key)' (\(hint))", at: child(key))
            }
            if result[key] != nil { throw fail("key '\(key)' appears twice", at: child(key)) }
            result[key] = YAMLNodeReader(node: valueNode, path: child(key), environment: environment)
        }
        return result
    }

    func sequence() throws(ConfigurationError) -> [YAMLNodeReader] {
        guard case .sequence(let sequence) = node else {
            throw fail("expected a list, found \(kindName)")
        }
        return sequence.enumerated().map { index, element in
            YAMLNodeReader(node: element, path: "\(path)[\(index)]", environment: environment)
        }
    }

    var isNull: Bool {
        if case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any {
            return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
        }
        return false
    }

    /// A scalar string with `${VAR}` replaced from the environment.
    func string() throws(ConfigurationError) -> String {
        guard case .scalar(let scalar) = node else {
            throw fail("expected a string, found \(kindName)")
        }
        return try substitute(scalar.string)
    }

    func nonEmptyString() throws(ConfigurationError) -> String {
        let value = try string()
        guard !value.trimmingCharacters(in: .whitespaces).isEmpty else { throw fail("must not be empty") }
        return value
    }

    func double() throws(ConfigurationError) -> Double {
        let text = try string()
        guard let value = Double(text), value.isFinite else {
            throw fail("expected a number, found '\(raw)'")
        }
        return value
    }

    func int() throws(ConfigurationError) -> Int {
        let text = try string()
        guard let value = Int(text) else { throw fail("expected a whole number, found '\(raw)'") }
        return value
    }

    func positiveInt() throws(ConfigurationError) -> Int {
        let value = try int()
        guard value > 0 else { throw fail("must be at least 1, found \(value)") }
        return value
    }

    func bool() throws(ConfigurationError) -> Bool {
        let text = try string()
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw fail("expected true or false, found '\(raw)'")
        }
    }

    /// The scalar as written (before `${VAR}` substitution), so messages never echo a substituted secret.
    var raw: String {
        if case .scalar(let scalar) = node { return scalar.string }
        return ""
    }

    private var kindName: String {
        switch node {
        case .scalar(let scalar): return "the scalar '\(scalar.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }

    /// Replaces `${NAME}` with the environment variable's value; an unset variable is an error.
    private func substitute(_ text: String) throws(ConfigurationError) -> String {
        guard text.contains("${") else { return text }
        var output = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                throw fail("unterminated ${ in '\(text)'")
            }
            let name = String(rest[open.upperBound..<close])
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw fail("'${\(name)}' is not a valid environment variable reference")
            }
            guard let value = environment[name] else {
                throw fail("environment variable \(name) is not set (referenced as ${\(name)})")
            }
            output += value
            rest = rest[rest.index(after: close)...]
        }
        output += rest
        return output
    }
}
