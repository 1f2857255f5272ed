/* The files beside the program cache (cached binaries, tuning tables):
 * opening them for reading only when they may be trusted, making their
 * directories and writing them atomically.
 *
 * A cached binary is code the process will run (native code on POCL), so it
 * is only read from a directory and a file that belong to this user and that
 * no one else may write, and both are made that way (0700, 0600). Files are
 * opened without blocking and must be regular files: a FIFO or a device
 * planted in the cache never hangs or feeds the process. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io_util.h"
#include "runtime/internal.h"

/* ------------------------------------------------------------------ trust */

/* Writes why `path` (described by info) may not be trusted with code into
 * why and returns 0; returns 1 when it may. */
static int trusted(const char *path, const struct stat *info, char *why, size_t why_size) {
    if (info->st_uid != geteuid()) {
        snprintf(why, why_size, "%s is owned by uid %lu, not by this user (uid %lu)", path,
                 (unsigned long)info->st_uid, (unsigned long)geteuid());
        return 0;
    }
    if (info->st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(why, why_size, "%s is writable by %s (mode %04o)", path,
                 (info->st_mode & S_IWOTH) ? "others" : "its group",
                 (unsigned)(info->st_mode & 07777));
        return 0;
    }
    return 1;
}

/* Opens the directory and checks it; -1 with the outcome in *result. */
static int open_trusted_dir(const char *dir, clcnn__open_result *result, char *why,
                            size_t why_size) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat info;
    if (fd < 0) {
        int saved = errno;
        snprintf(why, why_size, "%s: %s", dir, strerror(saved));
        *result = saved == ENOENT ? CLCNN__OPEN_ABSENT : CLCNN__OPEN_FAILED;
        return -1;
    }
    if (fstat(fd, &info) != 0) {
        snprintf(why, why_size, "%s: %s", dir, strerror(errno));
        *result = CLCNN__OPEN_FAILED;
    } else if (!trusted(dir, &info, why, why_size)) {
        *result = CLCNN__OPEN_REFUSED;
    } else {
        *result = CLCNN__OPEN_OK;
        return fd;
    }
    close(fd);
    return -1;
}

/* Opens name inside the open directory without blocking or following a
 * link, and checks the file; -1 with the outcome in *result. */
static int open_trusted_file(int dir_fd, const char *path, const char *name,
                             clcnn__open_result *result, char *why, size_t why_size) {
    int fd = openat(dir_fd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    struct stat info;
    if (fd < 0) {
        int saved = errno;
        *result = saved == ENOENT  ? CLCNN__OPEN_ABSENT
                  : saved == ELOOP ? CLCNN__OPEN_REFUSED
                                   : CLCNN__OPEN_FAILED;
        snprintf(why, why_size, "%s: %s", path,
                 saved == ELOOP ? "is a symbolic link" : strerror(saved));
        return -1;
    }
    *result = CLCNN__OPEN_REFUSED;
    if (fstat(fd, &info) != 0) {
        snprintf(why, why_size, "%s: %s", path, strerror(errno));
        *result = CLCNN__OPEN_FAILED;
    } else if (!S_ISREG(info.st_mode)) {
        snprintf(why, why_size, "%s is not a regular file", path);
    } else if (trusted(path, &info, why, why_size)) {
        int flags = fcntl(fd, F_GETFL);
        if (flags != -1 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != -1) {
            *result = CLCNN__OPEN_OK;
            return fd;
        }
        snprintf(why, why_size, "%s: %s", path, strerror(errno));
        *result = CLCNN__OPEN_FAILED;
    }
    close(fd);
    return -1;
}

clcnn__open_result clcnn__open_trusted(const char *dir, const char *name, int *fd, char *why,
                                       size_t why_size) {
    *fd = -1;
    why[0] = '\0';
    char *path = clcnn__join_path(dir, name);
    if (path == NULL) {
        snprintf(why, why_size, "out of host memory");
        return CLCNN__OPEN_FAILED;
    }
    clcnn__open_result result;
    int dir_fd = open_trusted_dir(dir, &result, why, why_size);
    if (dir_fd >= 0) {
        *fd = open_trusted_file(dir_fd, path, name, &result, why, why_size);
        close(dir_fd);
    }
    free(path);
    return result;
}

void clcnn__cache_note_untrusted(clcnn_context *ctx, const char *why) {
    clcnn_cache_stats *stats = &ctx->cache_stats;
    stats->disk_untrusted++;
    snprintf(stats->untrusted_reason, sizeof stats->untrusted_reason, "%s", why);
}

/* ------------------------------------------------------------------ writing */

int clcnn__write_file_atomically(const char *dir, const char *path,
                                 int (*write)(FILE *file, const void *arg), const void *arg,
                                 char *why, size_t why_size) {
    if (!clcnn__make_directories(dir)) {
        int saved = errno;
        snprintf(why, why_size, "%s: cannot create the directory: %s", dir, strerror(saved));
        return 0;
    }
    /* A FIFO, device or link under a name the library owns is debris or a
     * plant that reading refuses: remove it so the file can be written. */
    struct stat info;
    if (lstat(path, &info) == 0 && !S_ISREG(info.st_mode) && !S_ISDIR(info.st_mode))
        unlink(path);
    return clcnn__write_atomically(path, 0600, write, arg, why, why_size) == CLCNN_OK;
}
