// The worker executable the engine's tests start through the process backend.
import FanoutCore
import FanoutTestSteps
import Foundation

await Fanout.bootstrap(
    TestSteps.byteCount, TestSteps.streamedByteCount, TestSteps.slowByteCount, TestSteps.failOnBad,
    TestSteps.upperCase, TestSteps.firstAttemptStraggles, TestSteps.crashOnSome, TestSteps.straggles,
    TestSteps.holdsMemory, TestSteps.slowFailOnBad, TestSteps.chattyByteCount)
FileHandle.standardError.write(Data("FanoutTestWorker runs only as a worker (FANOUT_WORKER_RUN is not set)\n".utf8))
exit(2)
