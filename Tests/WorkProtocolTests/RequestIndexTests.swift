import Foundation
import Testing
@testable import WorkProtocol

@Suite("RequestIndex")
struct RequestIndexTests {
    /// A model of the coordinator's use: IDs in slots, the index maps ID bytes to slots.
    struct Model {
        var index: RequestIndex
        var ids: [String?] = []

        init(seed: UInt64) { index = RequestIndex(seed: seed) }

        func hash(_ id: String) -> UInt32 {
            var id = id
            return id.withUTF8 { index.hash(UnsafeRawBufferPointer($0)) }
        }

        func find(_ id: String) -> Int? { index.find(hash: hash(id), matches: { ids[$0] == id }) }

        mutating func insert(_ id: String) -> Bool {
            guard find(id) == nil else { return false }
            let slot = ids.firstIndex(where: { $0 == nil }) ?? ids.count
            if slot == ids.count { ids.append(id) } else { ids[slot] = id }
            index.insert(hash: hash(id), slot: slot)
            return true
        }

        mutating func remove(_ id: String) -> Int? {
            let ids = self.ids
            guard let slot = index.remove(hash: hash(id), matches: { ids[$0] == id }) else { return nil }
            self.ids[slot] = nil
            return slot
        }
    }

    @Test("matches a Set of IDs through random inserts and removes, across growth and backward-shift deletion")
    func matchesSet() {
        var generator = SystemRandomNumberGenerator()
        for seed: UInt64 in [1, 0xDEAD_BEEF, UInt64.random(in: 1...UInt64.max, using: &generator)] {
            var model = Model(seed: seed)
            var reference: Set<String> = []
            var numbers = (0..<3_000).map { "task-\($0)" } + (0..<200).map { "h\($0 * 7_919)/x" } + ["", "a", "ü-long-identifier-\(seed)"]
            numbers.shuffle(using: &generator)
            for (step, id) in numbers.enumerated() {
                let inserted = model.insert(id)
                #expect(inserted == reference.insert(id).inserted)
                let again = model.insert(id)
                #expect(!again)  // a second SUBMIT is a duplicate
                if step % 3 == 2, let victim = reference.randomElement(using: &generator) {
                    reference.remove(victim)
                    let removed = model.remove(victim)
                    let removedTwice = model.remove(victim)
                    #expect(removed != nil && removedTwice == nil && model.find(victim) == nil)
                }
                #expect(model.index.count == reference.count)
            }
            for id in numbers { #expect((model.find(id) != nil) == reference.contains(id)) }
            for id in reference { #expect(model.find(id).map { model.ids[$0] } == id) }
        }
    }

    @Test("IDs that differ only in a byte past the first word, or in length, hash apart and are found exactly")
    func nearIDs() {
        var model = Model(seed: 42)
        let ids = ["3f2a9c0d1e:4711", "3f2a9c0d1e:4712", "3f2a9c0d1e:471", "3f2a9c0d1e:47110", "3f2a9c0d", "3f2a9c0d\u{0}"]
        for id in ids {
            let inserted = model.insert(id)
            #expect(inserted)
        }
        for id in ids { #expect(model.find(id).map { model.ids[$0] } == id) }
        #expect(Set(ids.map(model.hash)).count == ids.count)
    }
}
