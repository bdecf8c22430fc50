import SwitchyardCore
import Testing

@Suite("SplitMix64 and Duration conversions")
struct SplitMix64Tests {
    @Test("the reference sequence: seed 0 starts 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4")
    func referenceSequence() {
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test("discarding n is the same sequence n steps in (what keeps the learned tables identical)")
    func discarding() {
        for seed: UInt64 in [0, 7, 0xA5A5, .max] {
            var skipped = SplitMix64(seed: seed)
            _ = skipped.next()
            var discarding = SplitMix64(seed: seed, discarding: 1)
            for _ in 0..<16 { #expect(skipped.next() == discarding.next()) }
        }
    }

    @Test("unit() stays in [0, 1)")
    func unitRange() {
        var generator = SplitMix64(seed: 42)
        for _ in 0..<10_000 {
            let u = generator.unit()
            #expect(u >= 0 && u < 1)
        }
    }

    @Test("Duration in seconds, milliseconds and whole nanoseconds")
    func durations() {
        #expect(Duration.milliseconds(1500).seconds == 1.5)
        #expect(Duration.microseconds(2500).milliseconds == 2.5)
        #expect(Duration.nanoseconds(1_234_567_890).nanoseconds == 1_234_567_890)
        #expect(Duration.seconds(-2).nanoseconds == -2_000_000_000)
    }
}
