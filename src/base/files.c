/* Files the library writes (base/base.h): directories made private, and
 * the atomic writer every saved file goes through. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"

clcnn_status clcnn__io_error(char *error, size_t error_size, clcnn_status status,
                             const char *format, ...) {
    if (error != NULL && error_size > 0) {
        va_list args;
        va_start(args, format);
        vsnprintf(error, error_size, format, args);
        va_end(args);
    }
    return status;
}

int clcnn__make_directories(const char *dir) {
    char *path = clcnn__strdup(dir);
    if (path == NULL) {
        errno = ENOMEM;
        return 0;
    }
    int failure = 0;
    for (char *p = path + 1; failure == 0; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            failure = errno;
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat info;
    if (failure == 0 && stat(path, &info) != 0)
        failure = errno;
    else if (failure == 0 && !S_ISDIR(info.st_mode))
        failure = ENOTDIR;
    free(path);
    errno = failure;
    return failure == 0;
}

/* errno, or EIO when a failing step left none (so a message never reads
 * "Success"). */
static int current_errno(void) {
    return errno != 0 ? errno : EIO;
}

/* An existing path that is not a regular file: a directory cannot be
 * replaced by rename, and a device or FIFO must not be. */
static clcnn_status check_replaceable(const char *path, char *error, size_t error_size) {
    struct stat info;
    if (stat(path, &info) != 0 || S_ISREG(info.st_mode))
        return CLCNN_OK; /* absent (or unreachable: creating the temporary file says why) */
    if (S_ISDIR(info.st_mode))
        return clcnn__io_error(error, error_size, CLCNN_ERROR_IO, "%s: cannot replace it: %s", path,
                               strerror(EISDIR));
    return clcnn__io_error(error, error_size, CLCNN_ERROR_IO,
                           "%s: not a regular file (a device, FIFO or socket); refusing to "
                           "replace it",
                           path);
}

/* Fills, flushes and closes the temporary file; on failure returns the
 * errno of the first failing step (0 on success). Closes file either way. */
static int fill_temporary(FILE *file, int (*write)(FILE *file, const void *arg), const void *arg) {
    int failure = 0;
    errno = 0;
    if (!write(file, arg))
        failure = current_errno();
    errno = 0;
    if (fflush(file) != 0 && failure == 0)
        failure = current_errno();
    if (fsync(fileno(file)) != 0 && failure == 0)
        failure = current_errno();
    errno = 0;
    if (fclose(file) != 0 && failure == 0)
        failure = current_errno();
    return failure;
}

clcnn_status clcnn__write_atomically(const char *path, mode_t mode,
                                     int (*write)(FILE *file, const void *arg), const void *arg,
                                     char *error, size_t error_size) {
    clcnn_status status = check_replaceable(path, error, error_size);
    if (status != CLCNN_OK)
        return status;
    size_t temp_size = strlen(path) + sizeof ".tmp-XXXXXX";
    char *temp = malloc(temp_size);
    if (temp == NULL)
        return clcnn__io_error(error, error_size, CLCNN_ERROR_OUT_OF_HOST_MEMORY,
                               "%s: out of host memory", path);
    snprintf(temp, temp_size, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(temp);
    if (fd < 0) {
        int saved = errno;
        free(temp);
        return clcnn__io_error(error, error_size, CLCNN_ERROR_IO,
                               "%s: cannot create a temporary file beside it: %s", path,
                               strerror(saved));
    }
    (void)fchmod(fd, mode); /* mkstemp's 0600 is the safe side when this fails */
    FILE *file = fdopen(fd, "wb");
    int failure = 0;
    if (file == NULL) {
        failure = current_errno();
        close(fd);
    } else {
        failure = fill_temporary(file, write, arg);
    }
    const char *step = "cannot write";
    if (failure == 0 && rename(temp, path) != 0) {
        failure = current_errno();
        step = "cannot replace it";
    }
    if (failure != 0) {
        remove(temp);
        status = clcnn__io_error(error, error_size, CLCNN_ERROR_IO, "%s: %s: %s", path, step,
                                 strerror(failure));
    }
    free(temp);
    return status;
}
