import Testing
@testable import WorkProtocol

@Suite("Work protocol: completed IDs")
struct WorkProtocolCompletedIDsTests {
    @Test("membership is exact across prefixes, the cached last prefix, leading zeros and plain strings")
    func exactMembership() {
        var ids = CompletedIDs(["d1:1", "other"])
        for index in [0, 5, 64, 1_000] { ids.insert("task-\(index)") }
        ids.insert("d1:2")  // switches the cached prefix back
        ids.insert("task-5")  // again: counted once
        #expect(ids.count == 7)
        for id in ["d1:1", "d1:2", "other", "task-0", "task-5", "task-64", "task-1000"] { #expect(ids.contains(id), "\(id)") }
        for id in ["d1:3", "task-1", "task-05", "task-", "task-63", "tas-5", "d1:01", "othe", "task-100000000"] {
            #expect(!ids.contains(id), "\(id)")
        }
        ids.insert("task-05")  // a leading zero is a plain string, distinct from task-5
        #expect(ids.contains("task-05") && ids.count == 8)
        #expect(!CompletedIDs([]).contains("task-1"))
        #expect(CompletedIDs.split("ab:12").map { $0.0 == "ab:" && $0.1 == 12 } == true)
        #expect(CompletedIDs.split("ab:012") == nil && CompletedIDs.split("ab") == nil)
    }

    @Test("a long run's IDs, inserted in order and out of order, are all members; their neighbours are not")
    func manyIDs() {
        var ids = CompletedIDs([])
        let count = 200_000
        for index in stride(from: 0, to: count, by: 2) { ids.insert("d:\(index)") }
        for index in stride(from: count - 1, to: 0, by: -4) { ids.insert("d:\(index)") }
        #expect(ids.count == count / 2 + count / 4)
        var wrong = 0
        for index in 0..<count where ids.contains("d:\(index)") != (index % 2 == 0 || index % 4 == 3) { wrong += 1 }
        #expect(wrong == 0)
    }
}
