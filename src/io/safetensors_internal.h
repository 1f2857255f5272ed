/* The layout of a safetensors set, shared by the in-memory half
 * (safetensors.c) and the file half (safetensors_file.c). */
#ifndef CLCNN_SAFETENSORS_INTERNAL_H
#define CLCNN_SAFETENSORS_INTERNAL_H

#include <jansson.h>

#include "clcnn/safetensors.h"

typedef struct clcnn__safetensors_entry {
    clcnn_safetensors_tensor tensor;
    char *name;
    unsigned char *data;
    size_t begin, end; /* byte range in the file's data section */
} clcnn__safetensors_entry;

struct clcnn_safetensors {
    clcnn__safetensors_entry *entries;
    size_t count;
    json_t *metadata; /* object of strings */
};

/* Appends an entry that takes ownership of name and data. */
clcnn_status clcnn__safetensors_append(clcnn_safetensors *file, char *name, clcnn_dtype dtype,
                                       size_t ndim, const size_t *dims, size_t count,
                                       unsigned char *data);

int clcnn__dtype_from_name(const char *name, clcnn_dtype *out);

/* Swaps elements between native and little-endian order (a no-op on
 * little-endian hosts; the same operation both ways). */
void clcnn__swap_to_little_endian(unsigned char *data, size_t count, size_t element_size);

#endif
