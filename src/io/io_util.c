/* Error helpers of the file-format readers: they know bytes and shapes, not
 * devices, so their errors go to a caller-given buffer. */
#define _POSIX_C_SOURCE 200809L
#include "io/io_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void clcnn__io_prefix(char *error, size_t error_size, const char *path) {
    if (error == NULL || error_size == 0)
        return;
    char *copy = malloc(error_size);
    if (copy == NULL)
        return;
    memcpy(copy, error, error_size);
    copy[error_size - 1] = '\0';
    snprintf(error, error_size, "%s: %s", path, copy);
    free(copy);
}

void clcnn__io_clear(char *error, size_t error_size) {
    if (error != NULL && error_size > 0)
        error[0] = '\0';
}
