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

/* clcnn__io_error, the formatted reason into a caller's buffer, is in
 * base/base.h. */

/* Puts "<path>: " in front of the message already in error. */
void clcnn__io_prefix(char *error, size_t error_size, const char *path);

void clcnn__io_clear(char *error, size_t error_size);

#endif
