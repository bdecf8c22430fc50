import Budget
import Foundation
@testable import Payloads
import Profiling
import Routing
import SwitchyardCore
import Testing
import Wire

@Suite("stage payloads: compact binary, versioned, every field round-trips")
struct StageEnvelopeTests {
    static let request = PipelineRequest(
        requestID: RequestID(fileDigest: "0123456789abcdef", line: 42), format: .openAIBatch, customID: "batch-42",
        prompt: "Solve: 2 + 2 = ? — réponse", body: RawJSON(trusted: Array(#"{"model":"auto","messages":[{"role":"user","content":"x"}],"temperature":1e-7}"#.utf8)),
        bodyLayout: ChatBodyLayout(modelValue: 9..<15, completionTokens: nil, insertMaxTokens: 64), pinnedModel: "mini",
        maxCostUSD: 0.0025, maxTokens: 128, metadata: RawJSON(trusted: Array(#"{"team":"a"}"#.utf8)))

    /// A 4,096-dimension lexical vector with `nonZeros` set (as `QueryFeatures(profile)` makes it).
    static func sparseFeatures(seed: Int = 1) -> QueryFeatures {
        var vector = [Float](repeating: 0, count: 4_096)
        for k in 0..<60 { vector[(k * 67 + seed * 13) % 4_096] = Float(k + 1) / 61 }
        return QueryFeatures(QueryProfile(vector: vector, requirements: QueryRequirements(capabilities: [.coding, .reasoning], domains: ["python", "other"]),
                                          inputTokens: 321, taskMix: [0.25, 0.5, 0.25]))
    }

    static func roundTrip(_ envelope: StageEnvelope, domains: DomainCodes? = nil) throws -> StageEnvelope {
        try StageEnvelope.decode(envelope.encoded(domains: domains), domains: domains)
    }

    @Test func everyKindRoundTrips() throws {
        let features = Self.sparseFeatures()
        #expect(try Self.roundTrip(.request(Self.request)) == .request(Self.request))
        let profiled = ProfiledRequest(request: Self.request, features: features)
        guard case .profiled(let back) = try Self.roundTrip(.profiled(profiled)) else {
            Issue.record("not profiled")
            return
        }
        #expect(back == profiled)
        #expect(back.features.nonZeros == features.nonZeros)
        #expect(back.features.taskMix == [0.25, 0.5, 0.25])
        let decision = RoutingDecision(id: "batch-42", model: "large", strategy: "knn", predictedQuality: 0.81, estimatedCostUSD: 0.00123,
                                       alternatives: [RoutingAlternative(model: "mini", predictedQuality: 0.7, estimatedCostUSD: 0.0001)])
        let hold = BudgetHold(owner: "score-1", reservation: SpendLedger.Reservation(id: 77, estimateUSD: 0.00123, reservedUSD: 0.0015), downgraded: true)
        let routed = RoutedRequest(request: Self.request, decision: decision, predictedQuality: 0.81, inputTokens: 321, budgetHold: hold)
        #expect(try Self.roundTrip(.routed(routed)) == .routed(routed))
        var routing = OutputRecord.Routing(model: "large", strategy: "knn", predictedQuality: nil, estimatedCostUSD: 0.00123, actualCostUSD: 0.002,
                                           attempts: 2, fallbacks: ["mini"], line: 42, latencyMS: 12.5)
        routing.budgetDowngraded = true
        let record = OutputRecord(id: "0123456789abcdef:42", customID: "batch-42",
                                  response: .init(statusCode: 200, body: RawJSON(trusted: Array(#"{"n":1e-7,"a":[1,2]}"#.utf8))), error: nil, routing: routing)
        #expect(try Self.roundTrip(.finished(record)) == .finished(record))
        let failure = OutputRecord.failure(requestID: RequestID(fileDigest: "d", line: 3), customID: nil, code: .budgetExhausted,
                                           message: "no budget left", field: "max_cost_usd", metadata: Self.request.metadata)
        #expect(try Self.roundTrip(.finished(failure)) == .finished(failure))
        let plain = PipelineRequest(requestID: RequestID(fileDigest: "d", line: 1), format: .plain, customID: "p", prompt: "hi")
        #expect(try Self.roundTrip(.request(plain)) == .request(plain))
    }

    /// A task the work protocol gave up on gets an error record with the line's custom ID and metadata,
    /// read from the head of whatever payload it held (a record's, or the request's at any later stage).
    @Test func customIDAndMetadataAreReadFromAnyPayloadsHead() throws {
        let routed = RoutedRequest(request: Self.request,
                                   decision: RoutingDecision(id: "batch-42", model: "mini", strategy: "knn", predictedQuality: 0.5,
                                                             estimatedCostUSD: 0.001, alternatives: []),
                                   predictedQuality: 0.5, inputTokens: 3, budgetHold: nil)
        let codes = DomainCodes(names: ["python", "other"])
        for payload in [StageEnvelope.request(Self.request).encoded(),
                        StageEnvelope.profiled(ProfiledRequest(request: Self.request, features: Self.sparseFeatures())).encoded(domains: codes),
                        StageEnvelope.routed(routed).encoded()] {
            let leading = try #require(StageEnvelope.leadingFields(in: payload))
            #expect(leading.customID == "batch-42")
            #expect(leading.metadata?.text == #"{"team":"a"}"#)
        }
        let record = OutputRecord.failure(requestID: Self.request.requestID, customID: nil, code: .timeout, message: "m",
                                          metadata: RawJSON(trusted: Array("[1]".utf8)))
        let leading = try #require(StageEnvelope.leadingFields(in: StageEnvelope.finished(record).encoded()))
        #expect(leading.customID == nil)
        #expect(leading.metadata?.text == "[1]")
        #expect(StageEnvelope.leadingFields(in: Data("{}".utf8)) == nil)
    }

    /// The vector travels as indices and Float32 values: a 4,096-float lexical vector with 60 non-zeros is
    /// under 600 bytes, and a dense vector (MiniLM) travels dense.
    @Test func vectorsTravelSparseOrDense() throws {
        let features = Self.sparseFeatures()
        let profiled = StageEnvelope.profiled(ProfiledRequest(request: Self.request, features: features))
        let requestOnly = StageEnvelope.request(Self.request).encoded().count
        #expect(profiled.encoded().count - requestOnly < 600)
        let dense = QueryFeatures(QueryProfile(vector: (0..<384).map { Float($0 % 7) - 3 }, inputTokens: 9))
        guard case .profiled(let back) = try Self.roundTrip(.profiled(ProfiledRequest(request: Self.request, features: dense))) else {
            Issue.record("not profiled")
            return
        }
        #expect(back.features.vector == dense.vector)
        #expect(back.features.nonZeros == dense.nonZeros)
        let empty = QueryFeatures(vector: [], inputTokens: 3)
        #expect(try Self.roundTrip(.profiled(ProfiledRequest(request: Self.request, features: empty))) == .profiled(ProfiledRequest(request: Self.request, features: empty)))
    }

    @Test func domainsTravelAsSmallIntegersAgainstTheSameVocabulary() throws {
        let codes = DomainCodes(names: ["math", "python", "other"])
        let profiled = StageEnvelope.profiled(ProfiledRequest(request: Self.request, features: Self.sparseFeatures()))
        #expect(try Self.roundTrip(profiled, domains: codes) == profiled)
        // Coded: shorter than the names.
        #expect(profiled.encoded(domains: codes).count < profiled.encoded().count)
        // Another vocabulary (other profiles) is refused, not misread.
        #expect(throws: PayloadError.domainVocabularyMismatch) {
            try StageEnvelope.decode(profiled.encoded(domains: codes), domains: DomainCodes(names: ["python", "math", "other"]))
        }
        #expect(throws: PayloadError.domainVocabularyMismatch) { try StageEnvelope.decode(profiled.encoded(domains: codes)) }
    }

    @Test func anotherVersionIsRefusedClearly() throws {
        var bytes = StageEnvelope.request(Self.request).encoded()
        bytes[bytes.startIndex] = PayloadFormat.version + 1
        #expect(throws: PayloadError.unsupportedVersion(PayloadFormat.version + 1)) { try StageEnvelope.decode(bytes) }
        let error = PayloadError.unsupportedVersion(PayloadFormat.version + 1)
        #expect(error.description.contains("run the same switchyard version in every stage"))
        #expect(throws: PayloadError.jsonPayload) { try StageEnvelope.decode(Data(#"{"request":{}}"#.utf8)) }
        #expect(throws: PayloadError.empty) { try StageEnvelope.decode(Data()) }
        var kind = StageEnvelope.request(Self.request).encoded()
        kind[kind.startIndex + 1] = 9
        #expect(throws: PayloadError.unknownKind(9)) { try StageEnvelope.decode(kind) }
    }

    /// Untrusted bytes: every truncation and thousands of random corruptions of real payloads are refused
    /// with a `PayloadError` or decode to some envelope; nothing crashes or allocates without bound.
    @Test func corruptPayloadsNeverCrash() throws {
        let features = Self.sparseFeatures()
        let samples: [Data] = [
            StageEnvelope.request(Self.request).encoded(),
            StageEnvelope.profiled(ProfiledRequest(request: Self.request, features: features)).encoded(),
            StageEnvelope.routed(RoutedRequest(
                request: Self.request,
                decision: RoutingDecision(id: "x", model: "m", strategy: "s", predictedQuality: 0.5, estimatedCostUSD: 0.1, alternatives: []),
                predictedQuality: nil, inputTokens: 3)).encoded(),
            StageEnvelope.finished(.failure(requestID: RequestID(fileDigest: "d", line: 1), customID: "c", code: .timeout, message: "m")).encoded(),
        ]
        for sample in samples {
            for length in 0..<sample.count {
                #expect(throws: PayloadError.self) { try StageEnvelope.decode(sample.prefix(length)) }
            }
        }
        var generator = SplitMix64(seed: 18, discarding: 1)
        var decoded = 0, refused = 0
        for round in 0..<4_000 {
            var bytes = [UInt8](samples[round % samples.count])
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let at = Int(generator.next() % UInt64(bytes.count))
                bytes[at] = UInt8(truncatingIfNeeded: generator.next())
            }
            do {
                _ = try StageEnvelope.decode(Data(bytes))
                decoded += 1
            } catch {
                refused += 1
            }
        }
        #expect(decoded + refused == 4_000)
        #expect(refused > 0)
    }
}
