import Foundation
import Testing
@testable import FanoutCore

struct CommandStepLimitsTests {
    @Test func onlyLimitsThatChangeResultsChangeTheVersion() {
        let plain = CommandStep(command: ["grep", "-c", "x", "{}"])
        let timed = CommandStep(command: ["grep", "-c", "x", "{}"], limits: .init(timeoutSeconds: 5))
        let lenient = CommandStep(command: ["grep", "-c", "x", "{}"], limits: .init(acceptedExitStatuses: [1, 0]))
        #expect(plain.step.version == timed.step.version, "a time limit never changes a stored success")
        #expect(plain.step.version != lenient.step.version, "an accepted exit status does")
        #expect(lenient.step.version == CommandStep(command: plain.command, limits: .init(acceptedExitStatuses: [0, 1]))
            .step.version)
    }

    @Test func aStepRecordedBeforeLimitsExistedReadsWithTheDefaults() throws {
        let stored = #"{"command":["wc","-l","{}"],"stdin":false,"urlLifetimeSeconds":3600}"#
        let step = try #require(CommandStep.decode(stored))
        #expect(step.limits == CommandStep.Limits())
        let roundTrip = CommandStep(command: ["true"], limits: .init(timeoutSeconds: 2, acceptedExitStatuses: [0, 3]))
        #expect(CommandStep.decode(String(decoding: try JSONEncoder().encode(roundTrip), as: UTF8.self)) == roundTrip)
    }

    @Test func timeoutsAreWrittenAsPeopleTypeThem() {
        #expect(CommandStep.Limits.text(seconds: 1) == "1s")
        #expect(CommandStep.Limits.text(seconds: 90) == "1m30s")
        #expect(CommandStep.Limits.text(seconds: 3600) == "1h")
        #expect(CommandStep.Limits.text(seconds: 2.5) == "2.5s")
    }
}
