import Foundation
import Wire
import Testing
@testable import WorkProtocol
import WorkProtocolTestSupport

@Suite("TaskSlab")
struct TaskSlabTests {
    @Test("insert, look up, modify in place and remove")
    func basics() {
        var slab = TaskSlab<String>()
        let a = slab.insert("a")
        let b = slab.insert("b")
        #expect(a != b && a != 0 && b != 0)
        #expect(slab[a] == "a" && slab[b] == "b" && slab.count == 2)
        #expect(slab.modify(a) { value -> Int in value += "!"; return value.count } == 2)
        #expect(slab[a] == "a!")
        #expect(slab.remove(a) == "a!")
        #expect(slab[a] == nil && slab.count == 1)
        #expect(slab.remove(a) == nil)
    }

    @Test("a reused slot gets a new generation: a late DONE for the old ID finds nothing")
    func staleIDAfterReuse() {
        var slab = TaskSlab<Int>()
        let old = slab.insert(1)
        slab.remove(old)
        let reused = slab.insert(2)
        #expect(reused & 0xFFFF_FFFF == old & 0xFFFF_FFFF)  // same slot…
        #expect(reused != old)                             // …another generation
        #expect(slab[old] == nil)
        #expect(slab.modify(old) { $0 = 99 } == nil)
        #expect(slab.remove(old) == nil)
        #expect(slab[reused] == 2 && slab.count == 1)
    }

    @Test("an ID for a slot never allocated, or a made-up generation, is stale")
    func unknownIDs() {
        var slab = TaskSlab<Int>()
        let id = slab.insert(7)
        #expect(slab[12_345] == nil)
        #expect(slab[id ^ (1 << 40)] == nil)
        #expect(slab[id] == 7)
    }

    @Test("ids(where:) lists the live tasks only; memory is reused, not grown, over many generations")
    func scanAndReuse() {
        var slab = TaskSlab<Int>()
        var live: [UInt64] = []
        for round in 0..<1_000 {
            for value in 0..<4 { live.append(slab.insert(round * 10 + value)) }
            for id in live { slab.remove(id) }
            live.removeAll()
        }
        let kept = [slab.insert(1), slab.insert(2), slab.insert(3)]
        #expect(slab.ids(where: { $0 >= 2 }).sorted() == kept.dropFirst().sorted())
        #expect(kept.allSatisfy { $0 & 0xFFFF_FFFF < 4 })  // at most 4 slots were ever needed
    }
}

@Suite("Work protocol: task slots reused by the coordinator")
struct WorkCoordinatorSlotReuseTests {
    @Test("a late DONE for a task whose slot now holds the retry is ignored; the retry's DONE counts")
    func lateDoneForReusedSlot() throws {
        var h = CoordinatorHarness(WorkCoordinatorConfiguration(stages: ["profile"], maxAttempts: 3, window: 10))
        h.send(.hello(role: .consumer, credit: 100), from: "sink")
        h.send(.hello(role: .producer, credit: 0), from: "ingest")
        h.send(.ready(stage: "profile", credit: 1), from: "p")
        let first = try #require(h.send(.submit(requestID: "r1", payload: payload("x")), from: "ingest").tasks(to: "p").first)
        let retry = try #require(h.send(.fail(taskID: first.taskID, permanent: false, reason: "busy"), from: "p").tasks(to: "p").first)
        #expect(retry.taskID & 0xFFFF_FFFF == first.taskID & 0xFFFF_FFFF && retry.taskID != first.taskID)  // slot reused
        let late = h.send(.done(taskID: first.taskID, payload: payload("stale")), from: "p")
        #expect(late.results.isEmpty && h.coordinator.stats.staleIgnored == 1 && h.coordinator.leasedCount("p") == 1)
        let result = try #require(h.send(.done(taskID: retry.taskID, payload: payload("fresh")), from: "p").results.first)
        #expect(result.payload == payload("fresh") && result.attempts == 2)
        #expect(h.coordinator.leasedCount("p") == 0)
    }
}
