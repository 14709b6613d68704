#ifndef FANOUT_CSPAWN_H
#define FANOUT_CSPAWN_H

#include <sys/types.h>

/// Starts `path` with `argv` and `envp`, its standard streams on the given descriptors.
/// The child leads a new process group (its id is the child's), every other descriptor is closed in it,
/// signal dispositions are reset to their defaults and the signal mask is cleared. Safe to call from several
/// threads at once. Returns 0 or an errno value.
int cspawn_start(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                 int stdin_fd, int stdout_fd, int stderr_fd);

/// Like `cspawn_start`, and on Linux the child is also killed (SIGKILL) when the thread that started it ends,
/// which includes this whole process being killed: call it from a thread that lives until the child has exited
/// and been reaped. Uses vfork and exec rather than posix_spawn, since posix_spawn cannot set a parent-death
/// signal. Elsewhere it is `cspawn_start`. Returns 0 or an errno value (a failed exec's too).
int cspawn_start_tied(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                      int stdin_fd, int stdout_fd, int stderr_fd);

/// Opens an unnamed temporary file in `directory` for reading and writing (close-on-exec).
/// Returns the descriptor, or -1 with errno set.
int cspawn_open_anonymous(const char *directory);

/// Blocks until the child `pid` has exited, without reaping it, so its id stays reserved.
/// Returns 0 or an errno value.
int cspawn_await_exit(pid_t pid);

/// Reaps the exited child `pid`. On success stores the exit status, or the signal that killed it with
/// `*signaled` set to 1, and returns 0; otherwise returns an errno value.
int cspawn_reap(pid_t pid, int *status, int *signaled);

#endif
