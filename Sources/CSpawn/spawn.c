#define _GNU_SOURCE
#include "CSpawn.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

int cspawn_start(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                 int stdin_fd, int stdout_fd, int stderr_fd) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) return result;
    result = posix_spawnattr_init(&attributes);
    if (result != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return result;
    }

    int sources[3] = {stdin_fd, stdout_fd, stderr_fd};
    for (int target = 0; target < 3 && result == 0; target++) {
        result = posix_spawn_file_actions_adddup2(&actions, sources[target], target);
    }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    if (result == 0) result = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif

    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    if (result == 0) result = posix_spawnattr_setsigdefault(&attributes, &all);
    if (result == 0) result = posix_spawnattr_setsigmask(&attributes, &none);
    // A process group of its own, so that stopping it reaches whatever it started too.
    if (result == 0) result = posix_spawnattr_setpgroup(&attributes, 0);
    if (result == 0) {
        result = posix_spawnattr_setflags(
            &attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
    }
    if (result == 0) result = posix_spawn(pid, path, &actions, &attributes, argv, envp);

    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return result;
}

#ifdef __linux__
/// Marks every descriptor from 3 up close-on-exec, in a child between vfork and exec (system calls only).
static void cspawn_cloexec_from_3(void) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) == 0) return;
#endif
    long limit = sysconf(_SC_OPEN_MAX);
    if (limit < 0 || limit > 65536) limit = 65536;
    for (int fd = 3; fd < limit; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
}
#endif

int cspawn_start_tied(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                      int stdin_fd, int stdout_fd, int stderr_fd) {
#ifndef __linux__
    return cspawn_start(pid, path, argv, envp, stdin_fd, stdout_fd, stderr_fd);
#else
    // The child reports a failed exec through this pipe; a successful exec closes it.
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    pid_t parent = getpid();
    sigset_t all, previous;
    sigfillset(&all);
    // No handler of this process may run in the child before it resets them.
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    // vfork, as posix_spawn does: the child borrows this process's memory until it execs, so starting a program
    // costs no copy of the page tables, however large this process. The child only makes system calls, on its own
    // frame's variables, and never returns from this function; this thread waits until it has exec'd or exited.
    pid_t child = vfork();
    if (child == 0) {
        struct sigaction defaults;
        memset(&defaults, 0, sizeof defaults);
        defaults.sa_handler = SIG_DFL;
        for (int number = 1; number < NSIG; number++) sigaction(number, &defaults, NULL);
        // Killed with the thread that started it: the thread lives until the child ends, or dies with the process.
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
        setpgid(0, 0);
        int sources[3] = {stdin_fd, stdout_fd, stderr_fd};
        for (int target = 0; target < 3; target++) {
            if (dup2(sources[target], target) < 0) goto failed;
        }
        cspawn_cloexec_from_3();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, envp);
    failed:;
        int error = errno;
        ssize_t ignored = write(report[1], &error, sizeof error);
        (void)ignored;
        _exit(127);
    }
    int forkError = child < 0 ? errno : 0;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    close(report[1]);
    if (child < 0) {
        close(report[0]);
        return forkError;
    }
    int execError = 0;
    ssize_t count;
    do {
        count = read(report[0], &execError, sizeof execError);
    } while (count < 0 && errno == EINTR);
    close(report[0]);
    if (count == (ssize_t)sizeof execError) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        return execError;
    }
    *pid = child;
    return 0;
#endif
}

int cspawn_open_anonymous(const char *directory) {
#ifdef O_TMPFILE
    int fd = open(directory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) return -1;
#endif
    // File systems without O_TMPFILE: create a named file and unlink it at once.
    size_t length = strlen(directory);
    char *template = malloc(length + sizeof("/fanout-XXXXXX"));
    if (template == NULL) return -1;
    memcpy(template, directory, length);
    memcpy(template + length, "/fanout-XXXXXX", sizeof("/fanout-XXXXXX"));
    int named = mkostemp(template, O_CLOEXEC);
    if (named >= 0) unlink(template);
    free(template);
    return named;
}

int cspawn_await_exit(pid_t pid) {
    siginfo_t info;
    for (;;) {
        memset(&info, 0, sizeof info);
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) == 0) return 0;
        if (errno != EINTR) return errno;
    }
}

int cspawn_reap(pid_t pid, int *status, int *signaled) {
    int raw = 0;
    for (;;) {
        pid_t reaped = waitpid(pid, &raw, 0);
        if (reaped == pid) break;
        if (reaped < 0 && errno != EINTR) return errno;
    }
    if (WIFSIGNALED(raw)) {
        *status = WTERMSIG(raw);
        *signaled = 1;
    } else {
        *status = WEXITSTATUS(raw);
        *signaled = 0;
    }
    return 0;
}
