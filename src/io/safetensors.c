/* safetensors sets in memory: dtypes, adding tensors and metadata, lookup.
 * Reading and writing files is in safetensors_file.c. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn/safetensors.h"
#include "io/io_util.h"
#include "io/safetensors_internal.h"

static const struct {
    const char *name;
    size_t size;
} dtype_table[] = {
    [CLCNN_DTYPE_F32] = {"F32", 4}, [CLCNN_DTYPE_F64] = {"F64", 8},
    [CLCNN_DTYPE_F16] = {"F16", 2}, [CLCNN_DTYPE_BF16] = {"BF16", 2},
    [CLCNN_DTYPE_I64] = {"I64", 8}, [CLCNN_DTYPE_I32] = {"I32", 4},
    [CLCNN_DTYPE_I16] = {"I16", 2}, [CLCNN_DTYPE_I8] = {"I8", 1},
    [CLCNN_DTYPE_U8] = {"U8", 1},   [CLCNN_DTYPE_BOOL] = {"BOOL", 1},
};

#define DTYPE_COUNT (sizeof dtype_table / sizeof dtype_table[0])

const char *clcnn_dtype_name(clcnn_dtype dtype) {
    return (size_t)dtype < DTYPE_COUNT ? dtype_table[dtype].name : NULL;
}

size_t clcnn_dtype_size(clcnn_dtype dtype) {
    return (size_t)dtype < DTYPE_COUNT ? dtype_table[dtype].size : 0;
}

int clcnn__dtype_from_name(const char *name, clcnn_dtype *out) {
    for (size_t i = 0; i < DTYPE_COUNT; i++) {
        if (strcmp(dtype_table[i].name, name) == 0) {
            *out = (clcnn_dtype)i;
            return 1;
        }
    }
    return 0;
}

void clcnn__swap_to_little_endian(unsigned char *data, size_t count, size_t element_size) {
    if (element_size == 1 || !clcnn__host_is_big_endian())
        return;
    for (size_t i = 0; i < count; i++)
        for (size_t a = 0, b = element_size - 1; a < b; a++, b--) {
            unsigned char t = data[i * element_size + a];
            data[i * element_size + a] = data[i * element_size + b];
            data[i * element_size + b] = t;
        }
}

/* ------------------------------------------------------------- the object */

clcnn_status clcnn_safetensors_create(clcnn_safetensors **out) {
    if (out == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    (*out)->metadata = json_object();
    if ((*out)->metadata == NULL) {
        free(*out);
        *out = NULL;
        return CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    }
    return CLCNN_OK;
}

void clcnn_safetensors_destroy(clcnn_safetensors *file) {
    if (file == NULL)
        return;
    for (size_t i = 0; i < file->count; i++) {
        free(file->entries[i].name);
        free(file->entries[i].data);
    }
    free(file->entries);
    json_decref(file->metadata);
    free(file);
}

size_t clcnn_safetensors_count(const clcnn_safetensors *file) {
    return file != NULL ? file->count : 0;
}

const clcnn_safetensors_tensor *clcnn_safetensors_at(const clcnn_safetensors *file, size_t index) {
    return file != NULL && index < file->count ? &file->entries[index].tensor : NULL;
}

const clcnn_safetensors_tensor *clcnn_safetensors_find(const clcnn_safetensors *file,
                                                       const char *name) {
    if (file == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < file->count; i++)
        if (strcmp(file->entries[i].name, name) == 0)
            return &file->entries[i].tensor;
    return NULL;
}

const char *clcnn_safetensors_metadata(const clcnn_safetensors *file, const char *key) {
    if (file == NULL || key == NULL)
        return NULL;
    return json_string_value(json_object_get(file->metadata, key));
}

clcnn_status clcnn_safetensors_set_metadata(clcnn_safetensors *file, const char *key,
                                            const char *value) {
    if (file == NULL || key == NULL || value == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    json_t *string = json_string(value);
    if (string == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT; /* not valid UTF-8 */
    return json_object_set_new(file->metadata, key, string) == 0 ? CLCNN_OK
                                                                 : CLCNN_ERROR_INVALID_ARGUMENT;
}

clcnn_status clcnn__safetensors_append(clcnn_safetensors *file, char *name, clcnn_dtype dtype,
                                       size_t ndim, const size_t *dims, size_t count,
                                       unsigned char *data) {
    clcnn__safetensors_entry *grown =
        realloc(file->entries, (file->count + 1) * sizeof *file->entries);
    if (grown == NULL)
        return CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    file->entries = grown;
    clcnn__safetensors_entry *e = &file->entries[file->count++];
    memset(e, 0, sizeof *e);
    e->name = name;
    e->data = data;
    e->tensor.name = name;
    e->tensor.dtype = dtype;
    e->tensor.ndim = ndim;
    if (ndim > 0)
        memcpy(e->tensor.dims, dims, ndim * sizeof *dims);
    e->tensor.count = count;
    e->tensor.nbytes = count * clcnn_dtype_size(dtype);
    e->tensor.data = data;
    return CLCNN_OK;
}

static int element_count(size_t ndim, const size_t *dims, size_t element_size, size_t *count,
                         size_t *bytes) {
    size_t n = 1;
    for (size_t i = 0; i < ndim; i++)
        if (!clcnn__mul_size(n, dims[i], &n))
            return 0;
    *count = n;
    return clcnn__mul_size(n, element_size, bytes);
}

clcnn_status clcnn_safetensors_add(clcnn_safetensors *file, const char *name, clcnn_dtype dtype,
                                   size_t ndim, const size_t *dims, const void *data) {
    size_t count = 0, bytes = 0;
    if (file == NULL || name == NULL || clcnn_dtype_size(dtype) == 0 ||
        ndim > CLCNN_SAFETENSORS_MAX_DIMS || (ndim > 0 && dims == NULL) ||
        clcnn_safetensors_find(file, name) != NULL || strcmp(name, "__metadata__") == 0)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (!element_count(ndim, dims, clcnn_dtype_size(dtype), &count, &bytes))
        return CLCNN_ERROR_SIZE_OVERFLOW;
    if (bytes > 0 && data == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    char *name_copy = malloc(strlen(name) + 1);
    unsigned char *data_copy = malloc(bytes > 0 ? bytes : 1);
    if (name_copy == NULL || data_copy == NULL) {
        free(name_copy);
        free(data_copy);
        return CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    }
    strcpy(name_copy, name);
    if (bytes > 0)
        memcpy(data_copy, data, bytes);
    clcnn_status status =
        clcnn__safetensors_append(file, name_copy, dtype, ndim, dims, count, data_copy);
    if (status != CLCNN_OK) {
        free(name_copy);
        free(data_copy);
    }
    return status;
}
