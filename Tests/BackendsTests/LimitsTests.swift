import ClockTestSupport
import Foundation
import SwitchyardCore
import Testing
@testable import Backends

@Suite("Token buckets, semaphore, breaker, backoff")
struct LimitsTests {
    @Test func tokenBucketGrantsBurstThenMakesCallersWait() {
        let clock = ManualClock()
        // 600/min = 10/s, 0.5 s burst = 5 tokens.
        let bucket = TokenBucket(perMinute: 600, burstSeconds: 0.5, clock: AnyClock(clock))
        for _ in 0..<5 { #expect(bucket.reserve(1) == .zero) }
        #expect(bucket.reserve(1) == .milliseconds(100))
        #expect(bucket.reserve(1) == .milliseconds(200))
        // One second later 10 tokens came back, minus the 2 owed.
        clock.advance(by: .seconds(1))
        #expect(bucket.reserve(5) == .zero)
        #expect(bucket.reserve(1) == .milliseconds(100))
    }

    @Test func tokenBucketClampsHugeRequestsAndAcceptsCorrections() {
        let clock = ManualClock()
        let bucket = TokenBucket(perMinute: 60_000, burstSeconds: 1, clock: AnyClock(clock))  // 1000/s, capacity 1000
        #expect(bucket.capacity == 1000)
        #expect(bucket.reserve(50_000) == .zero)  // clamped to 1000, passes alone
        #expect(bucket.reserve(100) == .milliseconds(100))
        bucket.adjust(by: 600)  // the backend used fewer tokens than reserved
        #expect(bucket.reserve(400) == .zero)
    }

    @Test func semaphoreBoundsConcurrency() async throws {
        let semaphore = AsyncSemaphore(permits: 3)
        let peak = LockedState((current: 0, max: 0))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await semaphore.acquire()
                    peak.withLock { $0.current += 1; $0.max = max($0.max, $0.current) }
                    try await Task.sleep(for: .milliseconds(5))
                    peak.withLock { $0.current -= 1 }
                    semaphore.release()
                }
            }
            try await group.waitForAll()
        }
        #expect(peak.withLock { $0.max } == 3)
        #expect(semaphore.inUse == 0)
    }

    @Test func semaphoreWaiterCanBeCancelled() async throws {
        let semaphore = AsyncSemaphore(permits: 1)
        try await semaphore.acquire()
        let waiter = Task { try await semaphore.acquire() }
        try await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        semaphore.release()
        try await semaphore.acquire()  // the cancelled waiter did not take the permit
        semaphore.release()
    }

    @Test func breakerOpensAfterConsecutiveFailuresAndProbesAfterCooldown() {
        let clock = ManualClock()
        let breaker = CircuitBreaker(configuration: CircuitBreakerConfiguration(failureThreshold: 3, cooldown: .seconds(10)), clock: AnyClock(clock))
        #expect(breaker.admit() == .allowed)
        breaker.recordFailure()
        breaker.recordFailure()
        breaker.recordSuccess()  // resets the streak
        breaker.recordFailure()
        breaker.recordFailure()
        #expect(!breaker.isUnavailable())
        #expect(breaker.recordFailure())  // third in a row opens it
        clock.advance(by: .seconds(5))
        #expect(breaker.isUnavailable())
        #expect(breaker.admit() == .rejected)
        // The cooldown ends exactly 10 s after the breaker opened: then exactly one probe goes through.
        clock.advance(by: .seconds(5) - .nanoseconds(1))
        #expect(breaker.admit() == .rejected)
        clock.advance(by: .nanoseconds(1))
        #expect(!breaker.isUnavailable())
        #expect(breaker.admit() == .probe)
        #expect(breaker.admit() == .rejected)
        // A failed probe reopens it; a successful one closes it.
        breaker.recordFailure()
        clock.advance(by: .seconds(1))
        #expect(breaker.admit() == .rejected)
        clock.advance(by: .seconds(10))
        #expect(breaker.admit() == .probe)
        breaker.recordSuccess()
        #expect(breaker.admit() == .allowed)
    }

    @Test(.timeLimit(.minutes(1)))
    func manualClockWakesSleepersOnlyWhenAdvancedAndOnCancel() async throws {
        let clock = ManualClock()
        let woke = LockedState<[Int]>([])
        let first = Task { try await clock.sleep(for: .seconds(2)); woke.withLock { $0.append(2) } }
        let second = Task { try await clock.sleep(for: .seconds(1)); woke.withLock { $0.append(1) } }
        try await clock.sleepers(atLeast: 2)
        #expect(clock.pendingWaits == [.seconds(1), .seconds(2)])
        clock.advance(by: .milliseconds(999))
        #expect(clock.sleeperCount == 2 && woke.withLock { $0 }.isEmpty)
        clock.advance(by: .milliseconds(1))
        try await second.value
        #expect(woke.withLock { $0 } == [1] && clock.sleeperCount == 1)
        first.cancel()
        await #expect(throws: CancellationError.self) { try await first.value }
        #expect(clock.sleeperCount == 0)
        try await clock.sleep(for: .zero)  // a deadline already passed does not suspend
        #expect(clock.sleepCount == 3)
    }

    @Test func backoffIsFullJitterWithinCapsSeededAndFlooredByRetryAfter() {
        let policy = RetryPolicy(maxAttemptsPerModel: 5, baseDelay: .milliseconds(100), maxDelay: .milliseconds(500))
        let a = Backoff(policy: policy, seed: 42)
        let b = Backoff(policy: policy, seed: 42)
        for retry in 0..<6 {
            let cap = min(0.5, 0.1 * pow(2, Double(retry)))
            let delay = a.delay(retry: retry, retryAfter: nil)
            #expect(delay >= .zero && delay.seconds <= cap + 1e-9)
            #expect(delay == b.delay(retry: retry, retryAfter: nil))
        }
        #expect(a.delay(retry: 0, retryAfter: .seconds(2)) == .seconds(2))
    }

    @Test func retryAfterParsesSecondsAndHTTPDates() {
        #expect(RetryAfter.parse("3") == .seconds(3))
        #expect(RetryAfter.parse(" 0.5 ") == .milliseconds(500))
        #expect(RetryAfter.parse("-1") == nil)
        #expect(RetryAfter.parse(nil) == nil)
        let now = Date(timeIntervalSince1970: 1_700_000_000)  // Tue, 14 Nov 2023 22:13:20 GMT
        #expect(RetryAfter.parse("Tue, 14 Nov 2023 22:13:30 GMT", now: now) == .seconds(10))
        #expect(RetryAfter.parse("soon") == nil)
    }
}
