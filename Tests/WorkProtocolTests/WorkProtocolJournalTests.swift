import Foundation
import Logging
import Testing
@testable import WorkProtocol
import WorkProtocolTestSupport

@Suite("Work protocol: journal")
struct WorkProtocolJournalTests {
    let logger = Logger(label: "test.journal")

    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString)").path
    }

    func write(_ path: String, accepted: [String], completed: [String]) throws {
        let (journal, recovery) = try WorkJournal.open(path: path, logger: logger)
        #expect(recovery == JournalRecovery())
        for id in accepted { journal.appendAccepted(id) }
        for id in completed { journal.appendCompleted(id) }
        try journal.sync()
    }

    @Test("replay returns completed IDs and counts unfinished ones")
    func replay() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try write(path, accepted: ["a", "b", "c"], completed: ["a", "c"])
        let (_, recovery) = try WorkJournal.open(path: path, logger: logger)
        #expect(recovery.completed == ["a", "c"])
        #expect(recovery.unfinished == 1 && recovery.records == 5 && recovery.truncatedBytes == 0)
    }

    @Test("a truncated tail is cut back to the last good record, reported, and appending continues")
    func truncatedTail() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try write(path, accepted: ["a", "b"], completed: ["a", "b"])
        let full = try #require(FileManager.default.contents(atPath: path))
        // Every cut inside the last record is detected.
        let lastRecord = 3 + 1 + 4  // kind, length, "b", crc
        for cut in 1..<lastRecord {
            try full.prefix(full.count - cut).write(to: URL(fileURLWithPath: path))
            let (journal, recovery) = try WorkJournal.open(path: path, logger: logger)
            #expect(recovery.completed == ["a"])
            #expect(recovery.truncatedBytes == lastRecord - cut)
            #expect(recovery.corruptionOffset == full.count - lastRecord)
            #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == full.count - lastRecord)
            journal.appendCompleted("b")
            try journal.sync()
        }
        let (_, clean) = try WorkJournal.open(path: path, logger: logger)
        #expect(clean.completed == ["a", "b"] && clean.truncatedBytes == 0)
    }

    @Test("a corrupt record (bit flip) ends the good prefix; everything after it is cut")
    func corruptRecord() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try write(path, accepted: [], completed: ["r1", "r2", "r3"])
        var bytes = try #require(FileManager.default.contents(atPath: path))
        let secondRecordID = 8 + (3 + 2 + 4) + 3  // header, first record, kind+length of the second
        bytes[secondRecordID] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: path))
        let (_, recovery) = try WorkJournal.open(path: path, logger: logger)
        #expect(recovery.completed == ["r1"])
        #expect(recovery.truncatedBytes == 2 * (3 + 2 + 4))
    }

    @Test("a file that is not a journal is refused with a clear error")
    func notAJournal() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("{\"id\": 1}\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: JournalError.notAJournal(path: path)) { try WorkJournal.open(path: path, logger: logger) }
        #expect(throws: JournalError.self) { try WorkJournal.open(path: "/nonexistent-dir/j", logger: logger) }
    }

    @Test("a resumed coordinator answers alreadyDone for journaled completions")
    func resumeThroughCoordinator() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try write(path, accepted: ["x", "y"], completed: ["x"])
        let (_, recovery) = try WorkJournal.open(path: path, logger: logger)
        var h = CoordinatorHarness(WorkCoordinatorConfiguration(stages: ["s"], window: 10), completed: recovery.completed)
        h.send(.hello(role: .producer, credit: 0), from: "p")
        #expect(h.send(.submit(requestID: "x", payload: Data()), from: "p").contains(.alreadyDone(requestID: "x"), to: "p"))
        #expect(!h.send(.submit(requestID: "y", payload: Data()), from: "p").contains(.alreadyDone(requestID: "y"), to: "p"))
    }
}
