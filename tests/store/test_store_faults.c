/* The store under faults: a full disk (RLIMIT_FSIZE in a child), a read-only file, corrupt
 * and foreign files, a file locked by another process, and kill -9 at random moments. Each
 * gives a clear JSP_ESTORE naming the cause and loses no acknowledged transaction: a child
 * reports every acknowledged transfer over a pipe, the parent reopens the store and finds
 * each of them, the sum invariant, and balances equal to a replay of the recorded transfers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "store/bank.h"

#define ACCOUNTS 100
#define SEED_BALANCE 1000

static char dir[64], path[128];

static void setup(void)
{
    bank_scratch(dir, sizeof(dir), path, sizeof(path), "bank.db");
}

static void teardown(void)
{
    bank_scratch_remove(dir);
}

TestSuite(store_faults, .init = setup, .fini = teardown, .timeout = 120);

/* Durability modes the tests run: the two levels, and SYNC with the fsync on the store's
 * background thread. */
enum { MODE_SYNC = STORE_DURABLE_SYNC, MODE_PROCESS = STORE_DURABLE_PROCESS, MODE_BACKGROUND };
static const char *const mode_names[] = {"sync", "process", "background sync"};

static store *open_bank(int mode, store_error *err)
{
    store *s = NULL;
    store_config cfg = {.durability = mode == MODE_PROCESS ? STORE_DURABLE_PROCESS : STORE_DURABLE_SYNC,
                        .background_sync = mode == MODE_BACKGROUND};
    if (store_open(path, &cfg, &s, err))
        return NULL;
    if (store_declare(s, BANK_DECL, strlen(BANK_DECL))) {
        *err = *store_last_error(s);
        store_close(s);
        return NULL;
    }
    return s;
}

static void seed_bank(void)
{
    store_error err;
    store *s = open_bank(STORE_DURABLE_SYNC, &err);
    cr_assert(s, "%s", err.message);
    cr_assert_eq(bank_seed(s, ACCOUNTS, SEED_BALANCE), 0, "%s", store_last_error(s)->message);
    store_close(s);
}

/* What a child writes on its pipe: an acknowledged transfer id (8 bytes, > 0), or 0
 * followed by a failure record. */
typedef struct report {
    int code;
    char message[256];
} report;

static int report_fd;

static void send_bytes(const void *p, size_t n)
{
    if (write(report_fd, p, n) != (ssize_t)n)
        _exit(3);
}

static void send_report(const report *r)
{
    int64_t zero = 0;
    send_bytes(&zero, sizeof(zero));
    send_bytes(r, sizeof(*r));
}

static void on_ack(void *user, const store_error *err)
{
    int64_t id = (int64_t)(intptr_t)user;
    if (!err->code) {
        send_bytes(&id, sizeof(id));
        return;
    }
    report r = {.code = err->code};
    snprintf(r.message, sizeof(r.message), "%s", err->message);
    send_report(&r);
}

/* pipe + fork: in the child (returns 0) only fds[1] stays open, in the parent only fds[0]. */
static pid_t spawn_child(int fds[2])
{
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    close(pid == 0 ? fds[0] : fds[1]);
    return pid;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The child: transfers until a failure (reported) or until killed. Ids start at first_id. */
static void run_transfers(int fd, int durability, int64_t first_id, const char *memo, unsigned seed)
{
    report_fd = fd;
    store_error err;
    store *s = open_bank(durability, &err);
    if (!s) {
        report r = {.code = err.code};
        snprintf(r.message, sizeof(r.message), "%s", err.message);
        send_report(&r);
        _exit(0);
    }
    srand(seed);
    for (int64_t id = first_id;; id++) {
        int src = rand() % ACCOUNTS, dst = (src + 1 + rand() % (ACCOUNTS - 1)) % ACCOUNTS;
        int rc = store_call_begin(s);
        if (!rc)
            rc = bank_transfer(s, id, src, dst, 1 + rand() % 5, memo);
        int end = store_call_end(s, rc == 0, on_ack, (void *)(intptr_t)id, NULL);
        store_poll(s, false);
        int64_t deadline = store_flush_deadline(s);
        int flush = deadline && mono_ns() >= deadline ? store_flush(s) : 0;
        if ((rc && rc != JSP_EJS) || end || flush) {
            /* The failed batch's calls were reported by on_ack; stop at the first fault. */
            report r = {.code = store_last_error(s)->code};
            snprintf(r.message, sizeof(r.message), "%s", store_last_error(s)->message);
            send_report(&r);
            store_close(s);
            _exit(0);
        }
    }
}

static bool read_full(int fd, void *p, size_t n)
{
    for (size_t done = 0; done < n;) {
        ssize_t got = read(fd, (char *)p + done, n - done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        done += (size_t)got;
    }
    return true;
}

/* Reads reports until EOF: acknowledged ids into acked (grown), the first failure into
 * *fail. With kill_after_ms, kills pid that long after its first acknowledgement (so a
 * slow start on a loaded machine still leaves work in flight at the kill) and drains what
 * it wrote. Reading while the child runs keeps the pipe from filling and stalling it. */
static size_t read_reports(int fd, pid_t pid, int kill_after_ms, int64_t **acked, report *fail)
{
    size_t n = 0, cap = 0;
    bool armed = kill_after_ms > 0;
    int64_t kill_at = 0;
    fail->code = 0;
    for (;;) {
        if (armed) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            int64_t left = kill_at ? kill_at - mono_ns() : 10000000000LL;
            if (left <= 0 || poll(&p, 1, (int)(left / 1000000) + 1) == 0) {
                kill(pid, SIGKILL); /* the random moment, or a child stuck for 10 s */
                armed = false;
                continue;
            }
        }
        int64_t id;
        if (!read_full(fd, &id, sizeof(id)))
            break;
        if (id > 0) {
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                *acked = realloc(*acked, cap * sizeof(**acked));
            }
            (*acked)[n++] = id;
            if (armed && !kill_at)
                kill_at = mono_ns() + (int64_t)kill_after_ms * 1000000;
            continue;
        }
        report r;
        cr_assert(read_full(fd, &r, sizeof(r)), "short report");
        if (!fail->code)
            *fail = r;
    }
    if (armed)
        kill(pid, SIGKILL);
    return n;
}

/* Reopens the store and checks every acknowledged transfer, the sum and the replay. */
static void verify_bank(const int64_t *acked, size_t n)
{
    store_error err;
    store *s = open_bank(STORE_DURABLE_SYNC, &err);
    cr_assert(s, "reopen: %s", err.message);
    cr_assert_eq(store_call_begin(s), 0);
    for (size_t i = 0; i < n; i++)
        cr_assert(bank_has_transfer(s, acked[i]), "acknowledged transfer %lld is missing", (long long)acked[i]);
    bool replay_ok = false;
    long long sum = bank_audit(s, ACCOUNTS, SEED_BALANCE, &replay_ok);
    cr_assert_eq(sum, (long long)ACCOUNTS * SEED_BALANCE, "sum invariant broken: %lld", sum);
    cr_assert(replay_ok, "balances differ from the replay of the recorded transfers");
    cr_assert_eq(store_call_end(s, true, NULL, NULL, NULL), 0);
    store_close(s);
}

Test(store_faults, kill_9_at_random_moments_loses_no_acknowledged_transfer)
{
    seed_bank();
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    int64_t *acked = NULL;
    size_t total = 0;
    for (int round = 0; round < 6; round++) {
        int durability = round % 3;
        int fds[2];
        pid_t pid = spawn_child(fds);
        if (pid == 0) {
            run_transfers(fds[1], durability, (int64_t)(round + 1) * 100000000, NULL, seed + (unsigned)round);
        }
        int delay_ms = 1 + rand() % 200;
        report fail;
        size_t before = total;
        int64_t *round_acked = NULL;
        size_t n = read_reports(fds[0], pid, delay_ms, &round_acked, &fail);
        close(fds[0]);
        int status;
        waitpid(pid, &status, 0);
        cr_assert_eq(fail.code, 0, "round %d: the child failed: %s", round, fail.message);
        cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "round %d: child not killed", round);
        cr_assert(n > 0, "round %d: nothing acknowledged within 10 s", round);
        acked = realloc(acked, (total + n) * sizeof(*acked));
        memcpy(acked + total, round_acked, n * sizeof(*acked));
        total += n;
        free(round_acked);
        verify_bank(acked, total);
        cr_log_info("round %d (%s, killed %d ms after its first ack): %zu acknowledged, all present", round,
                    mode_names[durability], delay_ms, total - before);
    }
    free(acked);
}

Test(store_faults, a_full_disk_is_a_clear_error_and_loses_nothing_acknowledged)
{
    seed_bank();
    int fds[2];
    pid_t pid = spawn_child(fds);
    if (pid == 0) {
        /* Every file this process writes stops at 1 MiB; SIGXFSZ would kill it instead of
         * letting write() fail. */
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = {.rlim_cur = 1 << 20, .rlim_max = 1 << 20};
        setrlimit(RLIMIT_FSIZE, &lim);
        char memo[2001];
        memset(memo, 'm', 2000);
        memo[2000] = '\0';
        run_transfers(fds[1], STORE_DURABLE_SYNC, 1, memo, 42);
    }
    report fail;
    int64_t *acked = NULL;
    size_t n = read_reports(fds[0], pid, 0, &acked, &fail);
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status), "the child died instead of reporting");
    cr_assert(n > 10, "only %zu transfers before the disk filled", n);
    cr_assert_eq(fail.code, JSP_ESTORE, "code %d: %s", fail.code, fail.message);
    cr_assert(strstr(fail.message, "disk full") || strstr(fail.message, "I/O error"), "%s", fail.message);
    cr_assert(strstr(fail.message, path), "the error names the file: %s", fail.message);
    verify_bank(acked, n);
    free(acked);
}

/* Runs open_bank in a child (optionally as an unprivileged user) and returns its error. */
static report open_in_child(bool drop_privileges)
{
    int fds[2];
    pid_t pid = spawn_child(fds);
    if (pid == 0) {
        report_fd = fds[1];
        if (drop_privileges && geteuid() == 0 && (setgid(65534) || setuid(65534)))
            _exit(4);
        store_error err = {0};
        store *s = open_bank(STORE_DURABLE_SYNC, &err);
        report r = {.code = err.code};
        snprintf(r.message, sizeof(r.message), "%s", err.message);
        if (s) { /* opened: try to write, which must fail */
            r.code = store_call_begin(s);
            if (!r.code)
                r.code = bank_transfer(s, 1, 0, 1, 1, NULL);
            snprintf(r.message, sizeof(r.message), "%s", store_last_error(s)->message);
            store_close(s);
        }
        send_report(&r);
        _exit(0);
    }
    report r = {0};
    int64_t zero = -1;
    bool got = read_full(fds[0], &zero, sizeof(zero)) && zero == 0 && read_full(fds[0], &r, sizeof(r));
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(got, "the child did not report (status %d)", status);
    return r;
}

Test(store_faults, a_read_only_file_is_a_clear_error)
{
    seed_bank();
    /* Readable by all, writable by nobody but root; the child runs as nobody when we are root
     * (root ignores permissions). */
    cr_assert_eq(chmod(path, 0444), 0);
    cr_assert_eq(chmod(dir, 0555), 0);
    report r = open_in_child(true);
    chmod(dir, 0700);
    chmod(path, 0644);
    cr_assert_eq(r.code, JSP_ESTORE, "code %d: %s", r.code, r.message);
    cr_assert(strstr(r.message, "read-only") || strstr(r.message, "cannot open"), "%s", r.message);
    cr_assert(strstr(r.message, path), "%s", r.message);
    verify_bank(NULL, 0); /* the data is untouched */
}

Test(store_faults, a_corrupt_or_foreign_file_is_a_clear_error)
{
    /* Not a database at all. */
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < 8192; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    store_error err;
    store *s = NULL;
    cr_assert_eq(store_open(path, NULL, &s, &err), JSP_ESTORE);
    cr_assert(strstr(err.message, "not a database"), "%s", err.message);
    cr_assert(strstr(err.message, path), "%s", err.message);
    remove(path);

    /* Someone else's SQLite database. */
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "CREATE TABLE theirs(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    cr_assert_eq(store_open(path, NULL, &s, &err), JSP_ESTORE);
    cr_assert(strstr(err.message, "not a jspool store"), "%s", err.message);
    remove(path);

    /* A store whose table pages were overwritten. */
    s = open_bank(STORE_DURABLE_SYNC, &err);
    cr_assert(s, "%s", err.message);
    char memo[501];
    memset(memo, 'x', 500);
    memo[500] = '\0';
    cr_assert_eq(bank_seed(s, ACCOUNTS, SEED_BALANCE), 0);
    cr_assert_eq(store_call_begin(s), 0);
    for (int i = 1; i <= 300; i++)
        cr_assert_eq(bank_transfer(s, i, i % ACCOUNTS, (i + 1) % ACCOUNTS, 1, memo), 0);
    cr_assert_eq(store_call_end(s, true, NULL, NULL, NULL), 0);
    store_close(s);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert(st.st_size > 64 * 1024, "size %lld", (long long)st.st_size);
    int fd = open(path, O_WRONLY);
    char junk[4096];
    memset(junk, 0xA5, sizeof(junk));
    for (off_t off = 3 * 4096; off < st.st_size - 4096; off += 4096)
        cr_assert_eq(pwrite(fd, junk, sizeof(junk), off), (ssize_t)sizeof(junk));
    close(fd);
    s = open_bank(STORE_DURABLE_SYNC, &err);
    int rc = s ? JSP_OK : err.code;
    const char *msg = err.message;
    if (s) {
        rc = store_call_begin(s);
        bool replay_ok;
        if (!rc && bank_audit(s, ACCOUNTS, SEED_BALANCE, &replay_ok) < 0)
            rc = store_last_error(s)->code;
        msg = store_last_error(s)->message;
    }
    cr_assert_eq(rc, JSP_ESTORE, "the damage went unnoticed (rc %d: %s)", rc, msg);
    cr_assert(strstr(msg, "corrupt") || strstr(msg, "not a database"), "%s", msg);
    if (s) {
        store_call_end(s, false, NULL, NULL, NULL);
        store_close(s);
    }
}

Test(store_faults, a_file_locked_by_another_process_is_a_clear_error)
{
    seed_bank();
    int fds[2];
    pid_t pid = spawn_child(fds);
    if (pid == 0) {
        store_error err;
        store *s = open_bank(STORE_DURABLE_SYNC, &err);
        char ready = s ? 'y' : 'n';
        if (write(fds[1], &ready, 1) != 1)
            _exit(1);
        pause(); /* holds the store until killed */
        _exit(0);
    }
    char ready = 0;
    cr_assert_eq(read(fds[0], &ready, 1), 1);
    cr_assert_eq(ready, 'y');
    store_error err;
    store *s = NULL;
    int rc = store_open(path, NULL, &s, &err);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(fds[0]);
    cr_assert_eq(rc, JSP_ESTORE, "rc %d", rc);
    cr_assert(strstr(err.message, "locked by another process"), "%s", err.message);
    cr_assert(strstr(err.message, path), "%s", err.message);
    /* Once the holder is gone the store opens, with its data. */
    verify_bank(NULL, 0);
    /* A second open in the same process is refused the same way. */
    store *first = open_bank(STORE_DURABLE_SYNC, &err);
    cr_assert(first, "%s", err.message);
    cr_assert_eq(store_open(path, NULL, &s, &err), JSP_ESTORE);
    cr_assert(strstr(err.message, "locked"), "%s", err.message);
    store_close(first);
}
