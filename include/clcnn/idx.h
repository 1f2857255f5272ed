/* IDX files (MNIST, Fashion-MNIST), raw or gzip-compressed. The reader
 * checks the magic, the element type, the dimensions and that the file
 * holds exactly the data the header promises: a truncated or lying file is
 * CLCNN_ERROR_CORRUPT_FILE with a message saying what is wrong. */
#ifndef CLCNN_IDX_H
#define CLCNN_IDX_H

#include "clcnn/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLCNN_IDX_MAX_DIMS 4

typedef enum clcnn_idx_type {
    CLCNN_IDX_U8 = 0x08,
    CLCNN_IDX_I8 = 0x09,
    CLCNN_IDX_I16 = 0x0B,
    CLCNN_IDX_I32 = 0x0C,
    CLCNN_IDX_F32 = 0x0D,
    CLCNN_IDX_F64 = 0x0E
} clcnn_idx_type;

/* An IDX array in host memory, elements in native byte order. Owned by the
 * caller; free with clcnn_idx_destroy (NULL is a no-op). */
typedef struct clcnn_idx {
    clcnn_idx_type type;
    size_t ndim;
    size_t dims[CLCNN_IDX_MAX_DIMS];
    size_t count;        /* elements: the product of dims */
    size_t element_size; /* bytes per element */
    void *data;          /* count * element_size bytes */
} clcnn_idx;

/* Reads `path` (gzip or raw). On failure *out is NULL and, when `error` is
 * not NULL, it receives the reason (NUL-terminated, at most error_size
 * bytes). Statuses: CLCNN_ERROR_IO (cannot open/read), CLCNN_ERROR_CORRUPT_FILE
 * (bad magic, type, dimensions, length), CLCNN_ERROR_SIZE_OVERFLOW,
 * CLCNN_ERROR_OUT_OF_HOST_MEMORY, CLCNN_ERROR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_idx_load(const char *path, char *error, size_t error_size,
                                      clcnn_idx **out);

/* The same from bytes already in memory (raw IDX, not gzip). */
CLCNN_API clcnn_status clcnn_idx_parse(const void *bytes, size_t size, char *error,
                                       size_t error_size, clcnn_idx **out);

CLCNN_API void clcnn_idx_destroy(clcnn_idx *idx);

#ifdef __cplusplus
}
#endif

#endif
