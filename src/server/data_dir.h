/* data_dir.h — where `jspool serve` and `jspool run --data` keep context stores: one
 * directory (created with mode 0700 when missing), one SQLite file per context, named after
 * the context, never after anything a client sends but a checked context name. Not for
 * opening the stores themselves: the library does that (jsp_context_config.store_path). */
#ifndef JSP_SERVER_DATA_DIR_H
#define JSP_SERVER_DATA_DIR_H

#include <stdbool.h>
#include <stddef.h>

/* Stores of contexts created over the API (`"store": true`) live in this subdirectory, so
 * that no client can ever open the store of a module the operator deployed (DIR/NAME.jspdb),
 * even after deleting that context and taking its name. */
#define DATA_DIR_API_SUBDIR "contexts"

typedef struct data_dir {
    char *path;  /* as given (relative paths stay relative to the working directory) */
    int lock_fd; /* -1, or the directory held with flock (serve) */
} data_dir;

/* Creates path (mode 0700) when missing — its parent must exist — and checks that it is a
 * directory this process can write. With is_server: also creates DATA_DIR_API_SUBDIR and
 * takes an exclusive lock on the directory for the life of the process, so that a second
 * `jspool serve` on it fails at start instead of at its first store. Returns false with
 * why filled ("PATH: problem"); d is then closed. */
bool data_dir_open(data_dir *d, const char *path, bool is_server, char *why, size_t why_len);

/* "SUB/NAME.jspdb" (sub NULL: "NAME.jspdb"), the file's name inside the directory, which a
 * context's description may show; NULL when out of memory. name must have passed
 * jsp_context_name_check (no '/', not "." or ".."). Caller frees. */
char *data_dir_store_file(const char *sub, const char *name);

/* A module file's stem, which names its context and store: examples/bank.js -> bank
 * (the base name without its last extension). Caller frees; NULL when out of memory. */
char *data_dir_stem(const char *path);

/* DIR/file, malloc'd (NULL when out of memory). */
char *data_dir_join(const data_dir *d, const char *file);

/* Releases the lock and the path; safe on a closed or zeroed one (with lock_fd -1). */
void data_dir_close(data_dir *d);

#endif
