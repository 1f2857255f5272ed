/* The small base the runtime and the file formats share (base/base.h):
 * overflow-checked sizes, strings and paths, byte order, hashing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

int clcnn__mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

char *clcnn__strdup(const char *s) {
    size_t length = strlen(s);
    char *copy = malloc(length + 1);
    if (copy != NULL)
        memcpy(copy, s, length + 1);
    return copy;
}

char *clcnn__join_path(const char *dir, const char *name) {
    size_t length = strlen(dir) + strlen(name) + 2;
    char *path = malloc(length);
    if (path != NULL)
        snprintf(path, length, "%s/%s", dir, name);
    return path;
}

int clcnn__host_is_big_endian(void) {
    const uint16_t probe = 1;
    unsigned char first;
    memcpy(&first, &probe, 1);
    return first == 0;
}

uint64_t clcnn__fnv1a64(const void *data, size_t length) {
    uint64_t hash = UINT64_C(0xcbf29ce484222325);
    const unsigned char *bytes = data;
    for (size_t i = 0; i < length; i++) {
        hash ^= bytes[i];
        hash *= UINT64_C(0x100000001b3);
    }
    return hash;
}
