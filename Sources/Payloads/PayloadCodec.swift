import Budget
import Foundation
import Routing
import SwitchyardCore
import Wire

// The binary layout of a stage payload (little-endian, on `Wire`'s ByteWriter/ByteReader):
//
//   version u8 (PayloadFormat.version), kind u8 (1 request, 2 profiled, 3 routed, 4 finished), then
//   request   digest str, line u32, format u8, custom_id str, prompt str, body opt bytes,
//             layout opt (model value opt (u32, u32), completion tokens opt u32, insert max_tokens opt u32),
//             pinned opt str, max_cost_usd opt f64, max_tokens opt u32, metadata opt bytes
//   profiled  request, features
//   features  input tokens u32, vector (u8 layout 0 empty | 1 dense | 2 sparse, u32 dimension,
//             dense: dimension × f32; sparse: u32 n, n × u32 index ascending, n × f32 non-zero value),
//             capabilities (u8 n, n × u8 index in Capability.allCases), domains (u32 vocabulary
//             fingerprint, u8 n, n × u8 code: index in the vocabulary, or 255 then str), task mix opt
//             (u16 n, n × f32)
//   routed    request, model str, strategy str, predicted quality f64, estimated cost f64,
//             alternatives (u16 n, n × (model str, quality f64, cost f64)), predicted quality opt f64,
//             input tokens u32, budget hold opt (owner str, reservation id u64, estimate f64,
//             reserved f64, downgraded u8)
//   finished  id str, custom_id opt str, response opt (status u16, body bytes), error opt (code u8
//             index in ErrorCode.allCases, message str, line u32, field opt str), routing opt (model
//             str, strategy str, predicted quality opt f64, estimated cost f64, actual cost opt f64,
//             attempts u32, fallbacks (u16 n, n × str), line u32, latency ms opt f64, downgraded opt u8),
//             metadata opt bytes
//
// str and bytes are u32 length + bytes; opt is a u8 presence flag (0 or 1) then the value.

/// The knowledge-domain names of the profiles both the profile and the score stage load, so a profiled
/// query's domains travel as small integers. A fingerprint of the names travels with them: a score
/// process that loaded other profiles refuses the payload instead of misreading it.
public struct DomainCodes: Sendable, Hashable {
    public let names: [String]
    let index: [String: UInt8]
    let fingerprint: UInt32

    /// At most 255 names are coded (the rest travel as text).
    public init(names: [String]) {
        self.names = Array(names.prefix(255))
        var index: [String: UInt8] = [:]
        for (i, name) in self.names.enumerated() where index[name] == nil { index[name] = UInt8(i) }
        self.index = index
        // FNV-1a over the names, each followed by a 0 byte.
        var hash: UInt32 = 2_166_136_261
        for name in self.names {
            for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
            hash = (hash ^ 0) &* 16_777_619
        }
        fingerprint = hash
    }
}

enum Kind: UInt8 {
    case request = 1, profiled, routed, finished
}

/// Writes a `StageEnvelope` in the payload layout.
struct PayloadWriter {
    var writer: ByteWriter
    let domains: DomainCodes?

    init(capacity: Int, domains: DomainCodes?) {
        writer = ByteWriter(capacity: capacity)
        self.domains = domains
    }

    mutating func envelope(_ envelope: StageEnvelope) {
        writer.u8(PayloadFormat.version)
        switch envelope {
        case .request(let request):
            writer.u8(Kind.request.rawValue)
            self.request(request)
        case .profiled(let item):
            writer.u8(Kind.profiled.rawValue)
            request(item.request)
            features(item.features)
        case .routed(let item):
            writer.u8(Kind.routed.rawValue)
            request(item.request)
            routed(item)
        case .finished(let record):
            writer.u8(Kind.finished.rawValue)
            finished(record)
        }
    }

    // MARK: fields

    mutating func optional<T>(_ value: T?, _ write: (inout PayloadWriter, T) -> Void) {
        guard let value else { return writer.u8(0) }
        writer.u8(1)
        write(&self, value)
    }

    mutating func count(_ value: Int) { writer.u32(UInt32(clamping: value)) }

    mutating func bytes(_ value: [UInt8]) {
        value.withUnsafeBytes { writer.lengthPrefixed($0) }
    }

    mutating func request(_ r: PipelineRequest) {
        writer.string(r.requestID.fileDigest)
        count(r.requestID.line)
        writer.u8(r.format.rawValue)
        writer.string(r.customID)
        writer.string(r.prompt)
        optional(r.body) { $0.bytes($1.bytes) }
        optional(r.bodyLayout) { w, layout in
            w.optional(layout.modelValue) { w, range in
                w.count(range.lowerBound)
                w.count(range.upperBound)
            }
            w.optional(layout.completionTokens) { $0.count($1) }
            w.optional(layout.insertMaxTokens) { $0.count($1) }
        }
        optional(r.pinnedModel) { $0.writer.string($1) }
        optional(r.maxCostUSD) { $0.writer.f64($1) }
        optional(r.maxTokens) { $0.count($1) }
        optional(r.metadata) { $0.bytes($1.bytes) }
    }

    mutating func features(_ f: QueryFeatures) {
        count(f.inputTokens)
        vector(f.vector, nonZeros: f.nonZeros)
        writer.u8(UInt8(clamping: f.capabilities.count))
        for capability in f.capabilities.prefix(255) {
            writer.u8(UInt8(Capability.allCases.firstIndex(of: capability) ?? 0))
        }
        writer.u32(domains?.fingerprint ?? 0)
        writer.u8(UInt8(clamping: f.domains.count))
        for domain in f.domains.prefix(255) {
            if let code = domains?.index[domain] {
                writer.u8(code)
            } else {
                writer.u8(255)
                writer.string(domain)
            }
        }
        optional(f.taskMix) { w, mix in
            w.writer.u16(UInt16(clamping: mix.count))
            for value in mix.prefix(Int(UInt16.max)) { w.writer.f32(value) }
        }
    }

    /// Sparse (indices + values) when at most half the entries are non-zero, dense otherwise.
    mutating func vector(_ v: [Float], nonZeros known: [Int32]?) {
        guard !v.isEmpty else { return writer.u8(0) }
        let nonZeros = known ?? QueryFeatures(vector: v, inputTokens: 0).indexingNonZeros().nonZeros ?? []
        if nonZeros.count * 2 <= v.count {
            writer.u8(2)
            count(v.count)
            count(nonZeros.count)
            #if _endian(little)
            // Indices (non-negative Int32) and values in one copy each: the bytes `u32`/`f32` write one by one.
            nonZeros.withUnsafeBytes { raw in writer.raw(raw) }
            v.withUnsafeBufferPointer { all in
                [Float](unsafeUninitializedCapacity: nonZeros.count) { gathered, initialized in
                    for (k, i) in nonZeros.enumerated() { gathered[k] = all[Int(i)] }
                    initialized = nonZeros.count
                }
            }.withUnsafeBytes { raw in writer.raw(raw) }
            #else
            for i in nonZeros { writer.u32(UInt32(i)) }
            for i in nonZeros { writer.f32(v[Int(i)]) }
            #endif
        } else {
            writer.u8(1)
            count(v.count)
            v.withUnsafeBytes { raw in writer.raw(raw) }  // little-endian IEEE-754, as `f32` writes each
        }
    }

    mutating func routed(_ item: RoutedRequest) {
        let d = item.decision
        writer.string(d.model)
        writer.string(d.strategy)
        writer.f64(d.predictedQuality)
        writer.f64(d.estimatedCostUSD)
        writer.u16(UInt16(clamping: d.alternatives.count))
        for alternative in d.alternatives.prefix(Int(UInt16.max)) {
            writer.string(alternative.model)
            writer.f64(alternative.predictedQuality)
            writer.f64(alternative.estimatedCostUSD)
        }
        optional(item.predictedQuality) { $0.writer.f64($1) }
        count(item.inputTokens)
        optional(item.budgetHold) { w, hold in
            w.writer.string(hold.owner)
            w.writer.u64(hold.reservation.id)
            w.writer.f64(hold.reservation.estimateUSD)
            w.writer.f64(hold.reservation.reservedUSD)
            w.writer.u8(hold.downgraded ? 1 : 0)
        }
    }

    mutating func finished(_ record: OutputRecord) {
        writer.string(record.id)
        optional(record.customID) { $0.writer.string($1) }
        optional(record.response) { w, response in
            w.writer.u16(UInt16(clamping: response.statusCode))
            w.bytes(response.body.bytes)
        }
        optional(record.error) { w, error in
            w.writer.u8(UInt8(ErrorCode.allCases.firstIndex(of: error.code) ?? 0))
            w.writer.string(error.message)
            w.count(error.line)
            w.optional(error.field) { $0.writer.string($1) }
        }
        optional(record.routing) { w, routing in
            w.writer.string(routing.model)
            w.writer.string(routing.strategy)
            w.optional(routing.predictedQuality) { $0.writer.f64($1) }
            w.writer.f64(routing.estimatedCostUSD)
            w.optional(routing.actualCostUSD) { $0.writer.f64($1) }
            w.count(routing.attempts)
            w.writer.u16(UInt16(clamping: routing.fallbacks.count))
            for model in routing.fallbacks.prefix(Int(UInt16.max)) { w.writer.string(model) }
            w.count(routing.line)
            w.optional(routing.latencyMS) { $0.writer.f64($1) }
            w.optional(routing.budgetDowngraded) { $0.writer.u8($1 ? 1 : 0) }
        }
        optional(record.metadata) { $0.bytes($1.bytes) }
    }
}

/// Reads a `StageEnvelope` from untrusted bytes: every length, index and enum tag is checked.
struct PayloadReader {
    var reader: ByteReader
    let domains: DomainCodes?

    init(_ raw: UnsafeRawBufferPointer, domains: DomainCodes?) {
        reader = ByteReader(raw)
        self.domains = domains
    }

    /// Runs a read, turning `WireError` (truncation, bad UTF-8, overlong fields) into `PayloadError`.
    @inline(__always)
    static func wire<T>(_ read: () throws(WireError) -> T) throws(PayloadError) -> T {
        do throws(WireError) { return try read() } catch { throw .wire(error) }
    }

    mutating func u8() throws(PayloadError) -> UInt8 { try Self.wire { () throws(WireError) in try reader.u8() } }
    mutating func u16() throws(PayloadError) -> UInt16 { try Self.wire { () throws(WireError) in try reader.u16() } }
    mutating func u32() throws(PayloadError) -> UInt32 { try Self.wire { () throws(WireError) in try reader.u32() } }
    mutating func u64() throws(PayloadError) -> UInt64 { try Self.wire { () throws(WireError) in try reader.u64() } }
    mutating func f32() throws(PayloadError) -> Float { try Self.wire { () throws(WireError) in try reader.f32() } }
    mutating func f64() throws(PayloadError) -> Double { try Self.wire { () throws(WireError) in try reader.f64() } }
    mutating func string(_ field: String) throws(PayloadError) -> String { try Self.wire { () throws(WireError) in try reader.string(field) } }
    mutating func int(_ field: String) throws(PayloadError) -> Int { Int(try u32()) }

    mutating func bytes(_ field: String) throws(PayloadError) -> [UInt8] {
        let raw = try Self.wire { () throws(WireError) in try reader.lengthPrefixed(field) }
        return Array(raw.assumingMemoryBound(to: UInt8.self))
    }

    mutating func flag(_ field: String) throws(PayloadError) -> Bool {
        let value = try u8()
        guard value <= 1 else { throw .invalid(field: field, reason: "flag \(value) is neither 0 nor 1") }
        return value == 1
    }

    mutating func optional<T>(_ field: String, _ read: (inout PayloadReader) throws(PayloadError) -> T) throws(PayloadError) -> T? {
        try flag(field) ? try read(&self) : nil
    }

    /// A finite number (costs, qualities, latencies are never NaN or infinite).
    mutating func finite(_ field: String) throws(PayloadError) -> Double {
        let value = try f64()
        guard value.isFinite else { throw .invalid(field: field, reason: "\(value) is not a finite number") }
        return value
    }

    mutating func envelope() throws(PayloadError) -> StageEnvelope {
        guard reader.remaining > 0 else { throw .empty }
        let version = try u8()
        guard version == PayloadFormat.version else {
            throw version == UInt8(ascii: "{") ? .jsonPayload : .unsupportedVersion(version)
        }
        let tag = try u8()
        guard let kind = Kind(rawValue: tag) else { throw .unknownKind(tag) }
        let envelope: StageEnvelope
        switch kind {
        case .request: envelope = .request(try request())
        case .profiled: envelope = .profiled(ProfiledRequest(request: try request(), features: try features()))
        case .routed: envelope = .routed(try routed(try request()))
        case .finished: envelope = .finished(try finished())
        }
        guard reader.remaining == 0 else { throw .wire(.trailingBytes(reader.remaining)) }
        return envelope
    }

    /// The custom ID and metadata of any payload: the request comes first in a request, profiled or routed
    /// payload, and a record is read whole; what follows is not read (it may need the domain codes).
    mutating func leading() throws(PayloadError) -> (customID: String?, metadata: RawJSON?)? {
        guard try u8() == PayloadFormat.version, let kind = Kind(rawValue: try u8()) else { return nil }
        if kind == .finished {
            let record = try finished()
            return (record.customID, record.metadata)
        }
        let request = try request()
        return (request.customID, request.metadata)
    }

    mutating func request() throws(PayloadError) -> PipelineRequest {
        let digest = try string("request.digest")
        let line = try int("request.line")
        let formatTag = try u8()
        guard let format = PipelineRequest.Format(rawValue: formatTag) else {
            throw .invalid(field: "request.format", reason: "unknown format \(formatTag)")
        }
        let customID = try string("request.custom_id")
        let prompt = try string("request.prompt")
        let body = try optional("request.body") { r throws(PayloadError) in RawJSON(trusted: try r.bytes("request.body")) }
        let layout = try optional("request.body_layout") { r throws(PayloadError) -> ChatBodyLayout in
            let model = try r.optional("request.body_layout.model") { r throws(PayloadError) -> Range<Int> in
                let start = try r.int("model.start"), end = try r.int("model.end")
                guard start < end, end <= body?.bytes.count ?? 0 else {
                    throw .invalid(field: "request.body_layout.model", reason: "range \(start)..<\(end) is not inside the body")
                }
                return start..<end
            }
            let completion = try r.optional("request.body_layout.completion_tokens") { r throws(PayloadError) in try r.int("completion_tokens") }
            let insert = try r.optional("request.body_layout.insert_max_tokens") { r throws(PayloadError) in try r.int("insert_max_tokens") }
            return ChatBodyLayout(modelValue: model, completionTokens: completion, insertMaxTokens: insert)
        }
        if layout != nil, body == nil { throw .invalid(field: "request.body_layout", reason: "a layout without a body") }
        let pinned = try optional("request.pinned_model") { r throws(PayloadError) in try r.string("request.pinned_model") }
        let maxCost = try optional("request.max_cost_usd") { r throws(PayloadError) in try r.finite("request.max_cost_usd") }
        let maxTokens = try optional("request.max_tokens") { r throws(PayloadError) in try r.int("request.max_tokens") }
        let metadata = try optional("request.metadata") { r throws(PayloadError) in RawJSON(trusted: try r.bytes("request.metadata")) }
        return PipelineRequest(
            requestID: RequestID(fileDigest: digest, line: line), format: format, customID: customID, prompt: prompt,
            body: body, bodyLayout: layout, pinnedModel: pinned, maxCostUSD: maxCost, maxTokens: maxTokens, metadata: metadata)
    }

    mutating func features() throws(PayloadError) -> QueryFeatures {
        let inputTokens = try int("features.input_tokens")
        let (vector, nonZeros) = try vector()
        let capabilityCount = Int(try u8())
        var capabilities: [Capability] = []
        capabilities.reserveCapacity(capabilityCount)
        for _ in 0..<capabilityCount {
            let code = Int(try u8())
            guard code < Capability.allCases.count else { throw .invalid(field: "features.capabilities", reason: "unknown capability \(code)") }
            capabilities.append(Capability.allCases[code])
        }
        let fingerprint = try u32()
        let domainCount = Int(try u8())
        var domainNames: [String] = []
        domainNames.reserveCapacity(domainCount)
        for _ in 0..<domainCount {
            let code = try u8()
            if code == 255 {
                domainNames.append(try string("features.domains"))
                continue
            }
            guard let domains, domains.fingerprint == fingerprint else { throw .domainVocabularyMismatch }
            guard Int(code) < domains.names.count else { throw .invalid(field: "features.domains", reason: "domain code \(code) past the vocabulary") }
            domainNames.append(domains.names[Int(code)])
        }
        let taskMix = try optional("features.task_mix") { r throws(PayloadError) -> [Float] in
            let n = Int(try r.u16())
            var mix: [Float] = []
            mix.reserveCapacity(n)
            for _ in 0..<n { mix.append(try r.f32()) }
            return mix
        }
        var features = QueryFeatures(vector: vector, capabilities: capabilities, domains: domainNames, inputTokens: inputTokens, taskMix: taskMix)
        features.nonZeros = nonZeros
        return features.indexingNonZeros()
    }

    /// The vector and, when it travelled sparse, its non-zero positions (exactly those `indexingNonZeros` finds).
    mutating func vector() throws(PayloadError) -> ([Float], [Int32]?) {
        let layout = try u8()
        if layout == 0 { return ([], nil) }
        guard layout == 1 || layout == 2 else { throw .invalid(field: "features.vector", reason: "unknown layout \(layout)") }
        let dimension = try int("features.vector.dimension")
        guard dimension <= PayloadFormat.maxDimension else {
            throw .invalid(field: "features.vector", reason: "dimension \(dimension) above \(PayloadFormat.maxDimension)")
        }
        if layout == 1 {
            let raw = try Self.wire { () throws(WireError) in try reader.bytes(dimension * 4) }
            let vector = [Float](unsafeUninitializedCapacity: dimension) { out, initialized in
                for i in 0..<dimension {
                    out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
                initialized = dimension
            }
            return (vector, nil)
        }
        let n = try int("features.vector.count")
        guard n <= dimension else { throw .invalid(field: "features.vector", reason: "\(n) non-zeros in dimension \(dimension)") }
        let indices = try Self.wire { () throws(WireError) in try reader.bytes(n * 4) }
        let values = try Self.wire { () throws(WireError) in try reader.bytes(n * 4) }
        var vector = [Float](repeating: 0, count: dimension)
        var nonZeros = [Int32](repeating: 0, count: n)
        var previous = -1
        for k in 0..<n {
            let index = Int(UInt32(littleEndian: indices.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self)))
            let value = Float(bitPattern: UInt32(littleEndian: values.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self)))
            guard index > previous, index < dimension else {
                throw .invalid(field: "features.vector", reason: "index \(index) out of order or past dimension \(dimension)")
            }
            guard value != 0, value.isFinite else { throw .invalid(field: "features.vector", reason: "value \(value) at \(index) is not a finite non-zero") }
            vector[index] = value
            nonZeros[k] = Int32(index)
            previous = index
        }
        return (vector, nonZeros)
    }

    mutating func routed(_ request: PipelineRequest) throws(PayloadError) -> RoutedRequest {
        let model = try string("decision.model")
        let strategy = try string("decision.strategy")
        let quality = try finite("decision.predicted_quality")
        let cost = try finite("decision.estimated_cost_usd")
        let alternativeCount = Int(try u16())
        var alternatives: [RoutingAlternative] = []
        alternatives.reserveCapacity(alternativeCount)
        for _ in 0..<alternativeCount {
            alternatives.append(RoutingAlternative(
                model: try string("decision.alternatives.model"), predictedQuality: try finite("decision.alternatives.quality"),
                estimatedCostUSD: try finite("decision.alternatives.cost")))
        }
        let decision = RoutingDecision(id: request.customID, model: model, strategy: strategy, predictedQuality: quality,
                                       estimatedCostUSD: cost, alternatives: alternatives)
        let predicted = try optional("routed.predicted_quality") { r throws(PayloadError) in try r.finite("routed.predicted_quality") }
        let inputTokens = try int("routed.input_tokens")
        let hold = try optional("routed.budget_hold") { r throws(PayloadError) -> BudgetHold in
            let owner = try r.string("budget_hold.owner")
            let reservation = SpendLedger.Reservation(
                id: try r.u64(), estimateUSD: try r.finite("budget_hold.estimate"), reservedUSD: try r.finite("budget_hold.reserved"))
            return BudgetHold(owner: owner, reservation: reservation, downgraded: try r.flag("budget_hold.downgraded"))
        }
        return RoutedRequest(request: request, decision: decision, predictedQuality: predicted, inputTokens: inputTokens, budgetHold: hold)
    }

    mutating func finished() throws(PayloadError) -> OutputRecord {
        let id = try string("record.id")
        let customID = try optional("record.custom_id") { r throws(PayloadError) in try r.string("record.custom_id") }
        let response = try optional("record.response") { r throws(PayloadError) -> OutputRecord.Response in
            let status = Int(try r.u16())
            return OutputRecord.Response(statusCode: status, body: RawJSON(trusted: try r.bytes("record.response.body")))
        }
        let error = try optional("record.error") { r throws(PayloadError) -> OutputRecord.ErrorBody in
            let code = Int(try r.u8())
            guard code < ErrorCode.allCases.count else { throw .invalid(field: "record.error.code", reason: "unknown error code \(code)") }
            return OutputRecord.ErrorBody(
                code: ErrorCode.allCases[code], message: try r.string("record.error.message"), line: try r.int("record.error.line"),
                field: try r.optional("record.error.field") { r throws(PayloadError) in try r.string("record.error.field") })
        }
        let routing = try optional("record.routing") { r throws(PayloadError) -> OutputRecord.Routing in
            let model = try r.string("routing.model")
            let strategy = try r.string("routing.strategy")
            let predicted = try r.optional("routing.predicted_quality") { r throws(PayloadError) in try r.finite("routing.predicted_quality") }
            let estimated = try r.finite("routing.estimated_cost_usd")
            let actual = try r.optional("routing.actual_cost_usd") { r throws(PayloadError) in try r.finite("routing.actual_cost_usd") }
            let attempts = try r.int("routing.attempts")
            let fallbackCount = Int(try r.u16())
            var fallbacks: [String] = []
            for _ in 0..<fallbackCount { fallbacks.append(try r.string("routing.fallbacks")) }
            let line = try r.int("routing.line")
            var routing = OutputRecord.Routing(
                model: model, strategy: strategy, predictedQuality: predicted, estimatedCostUSD: estimated, actualCostUSD: actual,
                attempts: attempts, fallbacks: fallbacks, line: line,
                latencyMS: try r.optional("routing.latency_ms") { r throws(PayloadError) in try r.finite("routing.latency_ms") })
            routing.budgetDowngraded = try r.optional("routing.budget_downgraded") { r throws(PayloadError) in try r.flag("routing.budget_downgraded") }
            return routing
        }
        let metadata = try optional("record.metadata") { r throws(PayloadError) in RawJSON(trusted: try r.bytes("record.metadata")) }
        return OutputRecord(id: id, customID: customID, response: response, error: error, routing: routing, metadata: metadata)
    }
}
