/* supervisor.c — `jspool serve` as two processes: this one binds the listening socket once
 * and runs the server (server_run) in a forked worker; when the worker dies of a signal it
 * starts another on the same socket. The one crash left that a tenant can make likelier
 * is JavaScriptCore's own (docs/security.md, WebKit bug 302605): with the worker restarted
 * in a fraction of a second, on a socket whose backlog holds new connections meanwhile,
 * and every acknowledged write already in its store, such a crash costs the calls in
 * flight instead of the service. Nothing here runs JS or starts a thread: the fork happens
 * before the worker makes its pool. */
#include "server/server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A worker that dies sooner than this after its start counts as a crash loop... */
#define QUICK_DEATH_MS 10000
/* ...this many in a row and the supervisor gives up (the module crashes at load, say). */
#define MAX_QUICK_DEATHS 5
/* The wait before restarting after a quick death doubles from this, up to MAX_BACKOFF_MS. */
#define FIRST_BACKOFF_MS 100
#define MAX_BACKOFF_MS 5000

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* "ABRT" for SIGABRT (glibc's sigabbrev_np, NULL for a number it does not name). */
static const char *abbrev(int sig)
{
    const char *name = sigabbrev_np(sig);
    return name ? name : "?";
}

/* Forks a worker serving on fd; -1 when fork fails. The worker gets the signal mask the
 * supervisor started with (libuv's signal handles need SIGTERM/SIGINT deliverable). */
static pid_t start_worker(const server_options *o, int fd, const sigset_t *original_mask)
{
    fflush(stdout);
    fflush(stderr);
    pid_t supervisor = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    sigprocmask(SIG_SETMASK, original_mask, NULL);
    /* a supervisor killed with SIGKILL takes its worker along (the worker drains) */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != supervisor)
        exit(0); /* it died before the line above */
    server_options worker = *o;
    worker.has_listen_fd = true;
    worker.listen_fd = fd;
    exit(server_run(&worker));
}

/* Waits for one of the blocked signals in set for at most timeout_ms (-1 = no limit);
 * the signal, or 0 on timeout. */
static int wait_signal(const sigset_t *set, long timeout_ms)
{
    for (;;) {
        int sig;
        if (timeout_ms < 0) {
            sig = sigwaitinfo(set, NULL);
        } else {
            struct timespec t = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
            sig = sigtimedwait(set, NULL, &t);
        }
        if (sig > 0)
            return sig;
        if (errno == EAGAIN)
            return 0;
        /* EINTR: a signal outside the set (a debugger, say); wait again */
    }
}

int server_supervise(const server_options *o)
{
    server_log_set_json(o->log_json != 0);
    char why[300];
    int fd = server_listen_socket(o->listen ? o->listen : "127.0.0.1:8080", why, sizeof(why));
    if (fd < 0) {
        fprintf(stderr, "jspool serve: %s\n", why);
        return fd == -2 ? 2 : 4;
    }
    sigset_t set, original_mask;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, &original_mask);

    int status = 0, quick_deaths = 0;
    bool is_stopping = false;
    for (;;) {
        uint64_t started = now_ms();
        pid_t worker = start_worker(o, fd, &original_mask);
        if (worker < 0) {
            server_log("error", 0, "cannot start a worker: %s", strerror(errno));
            status = 4;
            break;
        }
        int wstatus = 0;
        for (;;) { /* until the worker ends */
            pid_t ended = waitpid(worker, &wstatus, WNOHANG);
            if (ended == worker || (ended < 0 && errno != EINTR))
                break;
            int sig = wait_signal(&set, -1);
            if (sig != SIGCHLD && !is_stopping) {
                is_stopping = true; /* the worker drains; new connections are refused now */
                close(fd);
                fd = -1;
                kill(worker, sig == SIGINT ? SIGINT : SIGTERM);
            }
        }
        if (!WIFSIGNALED(wstatus)) {
            status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 4;
            break;
        }
        int sig = WTERMSIG(wstatus);
        status = 128 + sig;
        bool was_quick = now_ms() - started < QUICK_DEATH_MS;
        quick_deaths = was_quick ? quick_deaths + 1 : 0;
        if (is_stopping) {
            server_log("error", 0, "worker %d died of SIG%s (%d) while draining", (int)worker, abbrev(sig), sig);
            break;
        }
        if (quick_deaths >= MAX_QUICK_DEATHS) {
            server_log("error", 0, "worker %d died of SIG%s (%d), the %dth in a row within %d s of its start: giving up",
                       (int)worker, abbrev(sig), sig, quick_deaths, QUICK_DEATH_MS / 1000);
            break;
        }
        long backoff = 0;
        if (quick_deaths > 1) {
            backoff = FIRST_BACKOFF_MS << (quick_deaths - 2);
            backoff = backoff < MAX_BACKOFF_MS ? backoff : MAX_BACKOFF_MS;
        }
        server_log("error", 0, "worker %d died of SIG%s (%d): restarting in %ld ms", (int)worker, abbrev(sig), sig,
                   backoff);
        uint64_t until = now_ms() + (uint64_t)backoff;
        while (!is_stopping && now_ms() < until) { /* a stop request ends the wait */
            int got = wait_signal(&set, (long)(until - now_ms()));
            is_stopping = got != 0 && got != SIGCHLD;
        }
        if (is_stopping)
            break;
    }
    if (fd >= 0)
        close(fd);
    sigprocmask(SIG_SETMASK, &original_mask, NULL);
    return status;
}
