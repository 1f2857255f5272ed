/* Helpers shared by the file-format readers in src/io: they know bytes and
 * shapes, not devices, so their errors go to a caller-given buffer. */
#ifndef CLCNN_IO_UTIL_H
#define CLCNN_IO_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "base/base.h"
#include "clcnn/status.h"

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

#endif
