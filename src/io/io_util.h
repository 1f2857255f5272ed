/* Helpers shared by the file-format readers in src/io: they know bytes and
 * shapes, not devices, so their errors go to a caller-given buffer. */
#ifndef CLCNN_IO_UTIL_H
#define CLCNN_IO_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "clcnn.h"

#if defined(__GNUC__)
#define CLCNN__IO_PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#else
#define CLCNN__IO_PRINTF_LIKE(a, b)
#endif

/* Writes the formatted reason into error (when not NULL) and returns status. */
clcnn_status clcnn__io_error(char *error, size_t error_size, clcnn_status status,
                             const char *format, ...) CLCNN__IO_PRINTF_LIKE(4, 5);

/* Puts "<path>: " in front of the message already in error. */
void clcnn__io_prefix(char *error, size_t error_size, const char *path);

void clcnn__io_clear(char *error, size_t error_size);

/* *out = a * b; returns 0 on overflow. */
int clcnn__io_mul(size_t a, size_t b, size_t *out);

int clcnn__host_is_big_endian(void);

/* Writes `path` through a temporary file beside it (path + ".tmp-XXXXXX")
 * with permissions `mode`, flushed to disk and renamed into place, so a
 * crash or a full disk never leaves a half-written file and a failure leaves
 * the previous file as it was. `write` fills the file and returns non-zero
 * on success (errno saying why otherwise). An existing path that is not a
 * regular file is refused, never replaced (a device node, a directory).
 * CLCNN_ERROR_IO (or OUT_OF_HOST_MEMORY) with "<path>: <step>: <system
 * reason>" in error on failure. */
clcnn_status clcnn__io_write_atomically(const char *path, mode_t mode,
                                        int (*write)(FILE *file, const void *arg), const void *arg,
                                        char *error, size_t error_size);

#endif
