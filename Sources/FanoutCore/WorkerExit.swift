/// The exit statuses of a worker process, which tell a backend whether another attempt at the shard can help.
public enum WorkerExit {
    /// The shard is done: every file has a stored outcome and the shard's commit is written.
    public static let succeeded: Int32 = 0
    /// The shard did not finish, for a reason another attempt may not meet (the store was unreachable, the
    /// process was killed): run it again while retries last. Files finished before are not run again.
    public static let failed: Int32 = 1
    /// The worker was started wrongly and every attempt would end the same way: an incomplete assignment, a step
    /// this executable does not have, or another version of the step than the run was planned with. Do not retry.
    public static let misconfigured: Int32 = 2
    /// The worker was asked to stop (SIGTERM or SIGINT: a cancelled run, a deleted pod) and did: its programs are
    /// stopped and what it finished is stored. The shell's status for a process ended by SIGTERM.
    public static let stopped: Int32 = 143
}
