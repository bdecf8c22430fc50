/// JSON string quoting for hand-built JSON (replay replies, JSON log lines): faster than
/// JSONSerialization, and escapes every control character (`JSONWriter.string`).
public enum JSONText {
    /// `text` as a JSON string literal, quotes included.
    public static func quote(_ text: String) -> String {
        var writer = JSONWriter(capacity: text.utf8.count + 2)
        writer.string(text)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
