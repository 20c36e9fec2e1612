/* data_dir.c — see data_dir.h. */
#include "server/data_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir 0700 unless it exists; then it must be a directory we can write and enter. */
static bool make_dir(const char *path, char *why, size_t why_len)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(why, why_len, "%s: cannot create the data directory: %s", path, strerror(errno));
        return false;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, why_len, "%s: the data directory is not a directory", path);
        return false;
    }
    if (access(path, W_OK | X_OK) != 0) {
        snprintf(why, why_len, "%s: the data directory is not writable: %s", path, strerror(errno));
        return false;
    }
    return true;
}

bool data_dir_open(data_dir *d, const char *path, bool is_server, char *why, size_t why_len)
{
    *d = (data_dir){.lock_fd = -1};
    if (!path || !*path) {
        snprintf(why, why_len, "the data directory is an empty path");
        return false;
    }
    if (!make_dir(path, why, why_len))
        return false;
    d->path = strdup(path);
    if (!d->path) {
        snprintf(why, why_len, "%s: out of memory", path);
        return false;
    }
    if (!is_server)
        return true;
    /* flock on the directory itself: released by the kernel when the process ends, however
     * it ends, so a kill -9 leaves no stale lock behind. */
    d->lock_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->lock_fd < 0 || flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            snprintf(why, why_len, "%s: the data directory is in use by another jspool serve "
                     "(one server per data directory: give this one another --data)", path);
        else
            snprintf(why, why_len, "%s: cannot lock the data directory: %s", path, strerror(errno));
        data_dir_close(d);
        return false;
    }
    char *sub = data_dir_join(d, DATA_DIR_API_SUBDIR);
    bool is_ok = sub && make_dir(sub, why, why_len);
    if (!sub)
        snprintf(why, why_len, "%s: out of memory", path);
    free(sub);
    if (!is_ok)
        data_dir_close(d);
    return is_ok;
}

char *data_dir_store_file(const char *sub, const char *name)
{
    size_t len = (sub ? strlen(sub) + 1 : 0) + strlen(name) + sizeof(".jspdb");
    char *file = malloc(len);
    if (file)
        snprintf(file, len, "%s%s%s.jspdb", sub ? sub : "", sub ? "/" : "", name);
    return file;
}

char *data_dir_stem(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    return strndup(base, len);
}

char *data_dir_join(const data_dir *d, const char *file)
{
    size_t len = strlen(d->path) + 1 + strlen(file) + 1;
    char *joined = malloc(len);
    if (joined)
        snprintf(joined, len, "%s/%s", d->path, file);
    return joined;
}

void data_dir_close(data_dir *d)
{
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    free(d->path);
    *d = (data_dir){.lock_fd = -1};
}
