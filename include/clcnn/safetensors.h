/* safetensors files: an 8-byte little-endian header length, a JSON header
 * naming each tensor's dtype, shape and byte range, then the raw
 * little-endian data. This is the checkpoint format: names, dtypes and
 * layouts follow PyTorch's state_dict(), so files move both ways between
 * libclcnn and PyTorch (`safetensors.torch.load_file`).
 *
 * The reader rejects every malformed file with CLCNN_ERROR_CORRUPT_FILE and
 * a reason: a truncated file, a header length beyond the file, invalid JSON,
 * an unknown dtype, a shape whose size does not match its byte range, byte
 * ranges that overlap, leave holes or run past the data. */
#ifndef CLCNN_SAFETENSORS_H
#define CLCNN_SAFETENSORS_H

#include "clcnn/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum clcnn_dtype {
    CLCNN_DTYPE_F32 = 0,
    CLCNN_DTYPE_F64,
    CLCNN_DTYPE_F16,
    CLCNN_DTYPE_BF16,
    CLCNN_DTYPE_I64,
    CLCNN_DTYPE_I32,
    CLCNN_DTYPE_I16,
    CLCNN_DTYPE_I8,
    CLCNN_DTYPE_U8,
    CLCNN_DTYPE_BOOL
} clcnn_dtype;

/* "F32", "I64", ... as safetensors spells them; NULL for an invalid value. */
CLCNN_API const char *clcnn_dtype_name(clcnn_dtype dtype);
/* Bytes per element; 0 for an invalid value. */
CLCNN_API size_t clcnn_dtype_size(clcnn_dtype dtype);

#define CLCNN_SAFETENSORS_MAX_DIMS 8

/* One tensor of a safetensors file, in host memory. */
typedef struct clcnn_safetensors_tensor {
    const char *name;
    clcnn_dtype dtype;
    size_t ndim; /* 0 for a scalar */
    size_t dims[CLCNN_SAFETENSORS_MAX_DIMS];
    size_t count;     /* elements */
    size_t nbytes;    /* count * dtype size */
    const void *data; /* little-endian elements */
} clcnn_safetensors_tensor;

/* A set of named tensors plus string metadata. Owned by the caller; free
 * with clcnn_safetensors_destroy (NULL is a no-op). */
typedef struct clcnn_safetensors clcnn_safetensors;

/* An empty set, to fill with _add and _set_metadata and then _save. */
CLCNN_API clcnn_status clcnn_safetensors_create(clcnn_safetensors **out);
CLCNN_API void clcnn_safetensors_destroy(clcnn_safetensors *file);

/* Adds a copy of `data` (count * dtype size bytes, native byte order) under
 * `name`. A name already present is CLCNN_ERROR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_safetensors_add(clcnn_safetensors *file, const char *name,
                                             clcnn_dtype dtype, size_t ndim, const size_t *dims,
                                             const void *data);

/* Sets a "__metadata__" entry (string to string). */
CLCNN_API clcnn_status clcnn_safetensors_set_metadata(clcnn_safetensors *file, const char *key,
                                                      const char *value);

/* Writes the set to `path` atomically (temporary file, then rename), so a
 * crash never leaves a half-written file in place of the previous one. */
CLCNN_API clcnn_status clcnn_safetensors_save(const clcnn_safetensors *file, const char *path,
                                              char *error, size_t error_size);

/* Reads and validates a file; on failure *out is NULL and error says why. */
CLCNN_API clcnn_status clcnn_safetensors_load(const char *path, char *error, size_t error_size,
                                              clcnn_safetensors **out);

/* Validates and copies a file already in memory. */
CLCNN_API clcnn_status clcnn_safetensors_parse(const void *bytes, size_t size, char *error,
                                               size_t error_size, clcnn_safetensors **out);

CLCNN_API size_t clcnn_safetensors_count(const clcnn_safetensors *file);
/* The tensor at `index` (0 .. count-1, in file order of their data), or by
 * name; NULL when absent. The pointers live as long as the set. */
CLCNN_API const clcnn_safetensors_tensor *clcnn_safetensors_at(const clcnn_safetensors *file,
                                                               size_t index);
CLCNN_API const clcnn_safetensors_tensor *clcnn_safetensors_find(const clcnn_safetensors *file,
                                                                 const char *name);
/* The metadata value for key, or NULL. */
CLCNN_API const char *clcnn_safetensors_metadata(const clcnn_safetensors *file, const char *key);

#ifdef __cplusplus
}
#endif

#endif
