/* The small base under the runtime and the file formats (src/runtime,
 * src/io): overflow-checked sizes, strings and paths, byte order, hashing,
 * private directories and atomic file writes. It knows nothing of devices
 * or tensors. Not installed. */
#ifndef CLCNN_BASE_H
#define CLCNN_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "clcnn/status.h"

#if defined(__GNUC__)
#define CLCNN__BASE_PRINTF_LIKE(fmt_index, first_arg) \
    __attribute__((format(printf, fmt_index, first_arg)))
#else
#define CLCNN__BASE_PRINTF_LIKE(fmt_index, first_arg)
#endif

/* *out = a * b; returns 0 on overflow. */
int clcnn__mul_size(size_t a, size_t b, size_t *out);

/* malloc'ed copy of s, or NULL. */
char *clcnn__strdup(const char *s);

/* "<dir>/<name>", malloc'ed, or NULL. */
char *clcnn__join_path(const char *dir, const char *name);

int clcnn__host_is_big_endian(void);

/* 64-bit FNV-1a, for file names (identity is checked on the content). */
uint64_t clcnn__fnv1a64(const void *data, size_t length);

/* Writes the formatted reason into error (when not NULL) and returns
 * status: how base/ and the file formats (src/io), which know no context,
 * report a failure. */
clcnn_status clcnn__io_error(char *error, size_t error_size, clcnn_status status,
                             const char *format, ...) CLCNN__BASE_PRINTF_LIKE(4, 5);

/* mkdir -p, each directory it makes private (0700); 0 on failure, errno
 * saying why. */
int clcnn__make_directories(const char *dir);

/* Writes `path` through a temporary file beside it (path + ".tmp-XXXXXX")
 * with permissions `mode`, flushed to disk and renamed into place, so a
 * crash or a full disk never leaves a half-written file and a failure leaves
 * the previous file as it was. `write` fills the file and returns non-zero
 * on success (errno saying why otherwise). An existing path that is not a
 * regular file is refused, never replaced (a device node, a directory).
 * CLCNN_ERROR_IO (or OUT_OF_HOST_MEMORY) with "<path>: <step>: <system
 * reason>" in error on failure. */
clcnn_status clcnn__write_atomically(const char *path, mode_t mode,
                                     int (*write)(FILE *file, const void *arg), const void *arg,
                                     char *error, size_t error_size);

#endif
