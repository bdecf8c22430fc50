import Foundation
import Logging
import Profiling
import SwitchyardCore
import Testing

@Suite("Requirements: capability rules, heads, domain vocabulary, LLM extractor")
struct RequirementsTests {
    // MARK: rules

    @Test("each capability rule fires on its cue and not on an unrelated prompt", arguments: [
        (Capability.coding, "Complete the assertion:\n[PYTHON]\ndef f(x):\n    return x + 1\nassert f(1) == ??\n[/PYTHON]"),
        (.reasoning, "Natalia sold 48 clips in April and half as many in May. How many clips did she sell? 48 + 24 = ?"),
        (.comprehension, String(repeating: "The river flows through the old town and past the mill. ", count: 14) + "According to the passage, where does the river flow?"),
        (.instructionFollowing, "Present your answer in the following format, as JSON, and do not add anything else."),
        (.agentic, "You are an agent with a search tool. Action: search[weather]. Observation: sunny. Plan the next action."),
        (.knowledgeRetrieval, "Who wrote the novel Pride and Prejudice?"),
        (.inContextLearning, "Q: 2+2?\nA: 4\nQ: 3+3?\nA: 6\nQ: 5+5?\nA:"),
        (.multilingual, "请把这句话翻译成英文：今天天气很好，我们去公园散步吧。"),
    ])
    func ruleFires(capability: Capability, prompt: String) {
        #expect(CapabilityRules.labels(prompt).contains(capability))
        #expect(!CapabilityRules.labels("Hello there, nice day.").contains(capability))
    }

    // MARK: learned extractor

    func trainedExtractor() throws -> EmbeddedRequirementExtractor {
        var prompts: [String] = []
        var vectors: [[Float]] = []
        for n in 0..<90 {
            prompts.append(AptitudeSyntheticData.prompt(kind: n % 3, index: n / 3))
            vectors.append(AptitudeSyntheticData.vector(kind: n % 3, index: n / 3))
        }
        var configuration = EmbeddedRequirementExtractor.Configuration()
        configuration.domainClusters = 6
        return try EmbeddedRequirementExtractor.train(prompts: prompts, vectors: vectors, configuration: configuration)
    }

    @Test("heads generalise from the vector alone: a code-like vector ranks coding first")
    func headsGeneralise() throws {
        let extractor = try trainedExtractor()
        let code = extractor.rankedCapabilities(prompt: nil, vector: AptitudeSyntheticData.vector(kind: 0, index: 999))
        #expect(code.first?.capability == .coding)
        let math = extractor.rankedCapabilities(prompt: nil, vector: AptitudeSyntheticData.vector(kind: 1, index: 999))
        #expect(math.first?.capability == .reasoning)
        let trivia = try extractor.requirements(prompt: "", vector: AptitudeSyntheticData.vector(kind: 2, index: 999))
        #expect(trivia.capabilities.first == .knowledgeRetrieval)
        #expect(trivia.capabilities.count <= extractor.configuration.maxCapabilities)
    }

    @Test("domain vocabulary: one named domain per kind, near-duplicates merged, names from distinctive words")
    func domainVocabulary() throws {
        let extractor = try trainedExtractor()
        let names = extractor.vocabulary.names
        // Six clusters were sought over three tight kinds: the duplicates merge back to three.
        #expect(names.count == 3)
        let code = try extractor.requirements(prompt: "", vector: AptitudeSyntheticData.vector(kind: 0, index: 999))
        let codeDomain = try #require(code.domains.first)
        let terms = try #require(extractor.vocabulary.domains.first { $0.name == codeDomain }?.terms)
        #expect(terms.contains { ["python", "complete", "code", "assert", "return"].contains($0) })
        let trivia = try extractor.requirements(prompt: "", vector: AptitudeSyntheticData.vector(kind: 2, index: 999))
        #expect(trivia.domains.first != codeDomain)
    }

    @Test("rare clusters are named other")
    func rareIntoOther() throws {
        var texts: [String] = []
        var vectors: [[Float]] = []
        for n in 0..<100 {
            texts.append(AptitudeSyntheticData.prompt(kind: 0, index: n))
            vectors.append(AptitudeSyntheticData.vector(kind: 0, index: n))
        }
        texts.append("Who wrote this?")
        vectors.append(AptitudeSyntheticData.vector(kind: 2, index: 1))
        var builder = DomainVocabularyBuilder()
        builder.clusters = 2
        let vocabulary = try builder.build(texts: texts, vectors: vectors)
        #expect(vocabulary.names.contains(DomainVocabulary.otherName))
        #expect(vocabulary.rank(AptitudeSyntheticData.vector(kind: 2, index: 5), limit: 1).first?.name == DomainVocabulary.otherName)
    }

    @Test("training is deterministic and the extractor round-trips through JSON")
    func deterministicRoundTrip() throws {
        let a = try trainedExtractor()
        let b = try trainedExtractor()
        #expect(a == b)
        let url = try AptitudeSyntheticData.temporaryDirectory().appendingPathComponent("requirements.json")
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        try a.save(to: url)
        #expect(try EmbeddedRequirementExtractor.load(from: url) == a)
        #expect(throws: RequirementError.self) { try a.requirements(prompt: "x", vector: [1, 2]) }
    }

    // MARK: LLM extractor

    func llmConfiguration(port: Int = 9) throws -> LLMRequirementExtractor.Configuration {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/v1"))
        return LLMRequirementExtractor.Configuration(baseURL: url, model: "any", domainVocabulary: ["python-assert", "algebra"])
    }

    @Test("LLM output is validated: fenced JSON accepted, unknown domains → other, bad output is a typed error")
    func llmParse() throws {
        let c = try llmConfiguration()
        let good = try LLMRequirementExtractor.parse(content: "{\"capabilities\": [\"Coding\", \"in context learning\"], \"domains\": [\"algebra\", \"cooking\"]}", configuration: c)
        #expect(good.capabilities == [.coding, .inContextLearning])
        #expect(good.domains == ["algebra", "other"])
        for bad in ["not json", "[1, 2]", "{\"domains\": []}", "{\"capabilities\": []}", "{\"capabilities\": [\"telepathy\"]}", "{\"capabilities\": [3]}"] {
            #expect(throws: RequirementError.self) { try LLMRequirementExtractor.parse(content: bad, configuration: c) }
        }
    }

    @Test("LLM extractor against a real HTTP server on 127.0.0.1")
    func llmServer() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/requirements_llm_server.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path]
        let output = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        defer {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
        // The first line is the port.
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        let port = try #require(Int(String(decoding: line, as: UTF8.self)), "the fixture server did not print its port: is python3 installed?")
        let extractor = LLMRequirementExtractor(configuration: try llmConfiguration(port: port), logger: Logger(label: "test"))
        let good = try extractor.requirements(prompt: "def f(x): return x", vector: [])
        #expect(good.capabilities == [.coding, .reasoning])
        #expect(good.domains == ["python-assert", "other"])
        #expect(throws: RequirementError.self) { try extractor.requirements(prompt: "BADJSON please", vector: []) }
        #expect(throws: RequirementError.self) { try extractor.requirements(prompt: "UNKNOWNCAP please", vector: []) }
        do {
            _ = try extractor.requirements(prompt: "HTTP500 please", vector: [])
            Issue.record("HTTP 500 should be an error")
        } catch let error as RequirementError {
            guard case .llmUnavailable = error else { Issue.record("expected llmUnavailable, got \(error)"); return }
        }
    }
}
