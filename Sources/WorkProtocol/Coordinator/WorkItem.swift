import Foundation

/// One request the producer submits: its stable ID and the first stage's input.
public struct WorkItem: Sendable, Equatable {
    public var requestID: String
    public var payload: Data

    public init(requestID: String, payload: Data) {
        self.requestID = requestID
        self.payload = payload
    }
}
