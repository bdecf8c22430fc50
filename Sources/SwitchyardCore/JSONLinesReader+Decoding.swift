import Foundation

extension JSONLinesReader {
    /// Decodes every non-blank line as `T`, in file order, and hands it to `body` with its 1-based line
    /// number. A line that does not decode stops the read with `SwitchyardError.badLine` naming the
    /// file, the line and the field at fault; `body` throws its own `badLine` for what decoding cannot
    /// check (duplicate ids, ranges).
    public func decodeEach<T: Decodable>(
        _ type: T.Type, decoder: JSONDecoder = JSONDecoder(),
        _ body: (_ value: T, _ line: Int) throws(SwitchyardError) -> Void
    ) throws(SwitchyardError) {
        for line in self where !line.isBlank {
            let value: T
            do {
                value = try decoder.decode(T.self, from: line.bytes)
            } catch {
                throw .badLine(file: path, line: line.number, reason: DecodingErrorDescription.describe(error))
            }
            try body(value, line.number)
        }
    }
}
