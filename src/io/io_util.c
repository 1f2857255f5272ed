/* Error and arithmetic helpers of the file-format readers. */
#include "io/io_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int clcnn__io_mul(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

int clcnn__host_is_big_endian(void) {
    const uint16_t probe = 1;
    unsigned char first;
    memcpy(&first, &probe, 1);
    return first == 0;
}
