/* safetensors files: parsing with every size and offset checked before use,
 * and atomic writing. The JSON header is handled by jansson. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/io_util.h"
#include "io/safetensors_internal.h"

/* safetensors' own limit on the header, which guards against absurd sizes. */
#define MAX_HEADER_BYTES ((uint64_t)100 * 1000 * 1000)
#define CORRUPT CLCNN_ERROR_CORRUPT_FILE

typedef struct parse_state {
    const unsigned char *data; /* the data section */
    size_t data_size;
    char *error;
    size_t error_size;
} parse_state;

static uint64_t read_u64_le(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* A JSON integer in [0, SIZE_MAX]; returns 0 otherwise. */
static int json_size(const json_t *value, size_t *out) {
    if (!json_is_integer(value) || json_integer_value(value) < 0)
        return 0;
    json_int_t v = json_integer_value(value);
    if ((unsigned long long)v > SIZE_MAX)
        return 0;
    *out = (size_t)v;
    return 1;
}

static clcnn_status parse_shape(parse_state *state, const char *name, const json_t *shape,
                                size_t *ndim, size_t *dims) {
    if (!json_is_array(shape) || json_array_size(shape) > CLCNN_SAFETENSORS_MAX_DIMS)
        return clcnn__io_error(state->error, state->error_size, CORRUPT,
                               "tensor '%s': shape must be an array of at most %d integers", name,
                               CLCNN_SAFETENSORS_MAX_DIMS);
    *ndim = json_array_size(shape);
    for (size_t i = 0; i < *ndim; i++)
        if (!json_size(json_array_get(shape, i), &dims[i]))
            return clcnn__io_error(state->error, state->error_size, CORRUPT,
                                   "tensor '%s': dimension %zu is not a non-negative integer", name,
                                   i);
    return CLCNN_OK;
}

static clcnn_status parse_offsets(parse_state *state, const char *name, const json_t *offsets,
                                  size_t *begin, size_t *end) {
    if (!json_is_array(offsets) || json_array_size(offsets) != 2 ||
        !json_size(json_array_get(offsets, 0), begin) ||
        !json_size(json_array_get(offsets, 1), end))
        return clcnn__io_error(state->error, state->error_size, CORRUPT,
                               "tensor '%s': data_offsets must be [begin, end]", name);
    if (*begin > *end || *end > state->data_size)
        return clcnn__io_error(state->error, state->error_size, CORRUPT,
                               "tensor '%s': data_offsets [%zu, %zu] outside the %zu data bytes",
                               name, *begin, *end, state->data_size);
    return CLCNN_OK;
}

static clcnn_status parse_dtype(parse_state *state, const char *name, const json_t *value,
                                clcnn_dtype *dtype) {
    const char *text = json_string_value(value);
    if (text == NULL || !clcnn__dtype_from_name(text, dtype))
        return clcnn__io_error(state->error, state->error_size, CORRUPT,
                               "tensor '%s': unknown dtype %s", name,
                               text != NULL ? text : "(not a string)");
    return CLCNN_OK;
}

/* Parses one tensor's header entry and copies its bytes. */
static clcnn_status parse_tensor(parse_state *state, clcnn_safetensors *file, const char *name,
                                 const json_t *value) {
    if (!json_is_object(value) || json_object_size(value) != 3)
        return clcnn__io_error(state->error, state->error_size, CORRUPT,
                               "tensor '%s': expected an object with dtype, shape, data_offsets",
                               name);
    clcnn_dtype dtype;
    size_t ndim = 0, dims[CLCNN_SAFETENSORS_MAX_DIMS], begin = 0, end = 0, count = 0, bytes = 0;
    clcnn_status status = parse_dtype(state, name, json_object_get(value, "dtype"), &dtype);
    if (status == CLCNN_OK)
        status = parse_shape(state, name, json_object_get(value, "shape"), &ndim, dims);
    if (status == CLCNN_OK)
        status = parse_offsets(state, name, json_object_get(value, "data_offsets"), &begin, &end);
    if (status != CLCNN_OK)
        return status;
    size_t element_size = clcnn_dtype_size(dtype);
    count = 1;
    for (size_t i = 0; i < ndim; i++)
        if (!clcnn__mul_size(count, dims[i], &count))
            return clcnn__io_error(state->error, state->error_size, CORRUPT,
                                   "tensor '%s': shape overflows", name);
    if (!clcnn__mul_size(count, element_size, &bytes) || bytes != end - begin)
        return clcnn__io_error(state->error, state->error_size, CORRUPT,
                               "tensor '%s': shape needs %zu elements of %zu bytes but "
                               "data_offsets span %zu bytes",
                               name, count, element_size, end - begin);
    char *name_copy = malloc(strlen(name) + 1);
    unsigned char *data = malloc(bytes > 0 ? bytes : 1);
    status = name_copy && data
                 ? clcnn__safetensors_append(file, name_copy, dtype, ndim, dims, count, data)
                 : CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    if (status != CLCNN_OK) {
        free(name_copy);
        free(data);
        return clcnn__io_error(state->error, state->error_size, status, "out of host memory");
    }
    strcpy(name_copy, name);
    memcpy(data, state->data + begin, bytes);
    clcnn__swap_to_little_endian(data, count, element_size);
    file->entries[file->count - 1].begin = begin;
    file->entries[file->count - 1].end = end;
    return CLCNN_OK;
}

static clcnn_status parse_metadata(parse_state *state, clcnn_safetensors *file, json_t *metadata) {
    const char *key;
    json_t *value;
    if (!json_is_object(metadata))
        return clcnn__io_error(state->error, state->error_size, CORRUPT,
                               "__metadata__ must be an object");
    json_object_foreach(metadata, key, value) {
        if (!json_is_string(value))
            return clcnn__io_error(state->error, state->error_size, CORRUPT,
                                   "__metadata__ value of '%s' is not a string", key);
    }
    json_decref(file->metadata);
    file->metadata = json_incref(metadata);
    return CLCNN_OK;
}

static int by_begin(const void *a, const void *b) {
    const clcnn__safetensors_entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* The byte ranges must tile the data section exactly: no overlap, no hole. */
static clcnn_status check_coverage(parse_state *state, clcnn_safetensors *file) {
    if (file->count > 1)
        qsort(file->entries, file->count, sizeof *file->entries, by_begin);
    size_t position = 0;
    for (size_t i = 0; i < file->count; i++) {
        clcnn__safetensors_entry *e = &file->entries[i];
        e->tensor.name = e->name;
        e->tensor.data = e->data;
        if (e->begin != position)
            return clcnn__io_error(state->error, state->error_size, CORRUPT,
                                   "tensor '%s' starts at byte %zu: expected %zu (%s)", e->name,
                                   e->begin, position,
                                   e->begin < position ? "ranges overlap" : "a hole");
        position = e->end;
    }
    if (position != state->data_size)
        return clcnn__io_error(state->error, state->error_size, CORRUPT,
                               "tensors cover %zu of the %zu data bytes", position,
                               state->data_size);
    return CLCNN_OK;
}

static clcnn_status parse_header(parse_state *state, clcnn_safetensors *file, json_t *root) {
    const char *key;
    json_t *value;
    if (!json_is_object(root))
        return clcnn__io_error(state->error, state->error_size, CORRUPT,
                               "the header is not a JSON object");
    json_object_foreach(root, key, value) {
        clcnn_status status = strcmp(key, "__metadata__") == 0
                                  ? parse_metadata(state, file, value)
                                  : parse_tensor(state, file, key, value);
        if (status != CLCNN_OK)
            return status;
    }
    return check_coverage(state, file);
}

clcnn_status clcnn_safetensors_parse(const void *bytes, size_t size, char *error, size_t error_size,
                                     clcnn_safetensors **out) {
    clcnn__io_clear(error, error_size);
    if (bytes == NULL || out == NULL)
        return clcnn__io_error(error, error_size, CLCNN_ERROR_INVALID_ARGUMENT,
                               "bytes or out is NULL");
    *out = NULL;
    if (size < 8)
        return clcnn__io_error(error, error_size, CORRUPT, "file of %zu bytes is truncated", size);
    uint64_t header_size = read_u64_le(bytes);
    if (header_size > size - 8 || header_size > MAX_HEADER_BYTES || header_size < 2)
        return clcnn__io_error(error, error_size, CORRUPT,
                               "header length %llu does not fit a file of %zu bytes",
                               (unsigned long long)header_size, size);
    json_error_t json_error;
    json_t *root = json_loadb((const char *)bytes + 8, (size_t)header_size, JSON_REJECT_DUPLICATES,
                              &json_error);
    if (root == NULL)
        return clcnn__io_error(error, error_size, CORRUPT, "header is not valid JSON: %s",
                               json_error.text);
    parse_state state = {(const unsigned char *)bytes + 8 + header_size,
                         size - 8 - (size_t)header_size, error, error_size};
    clcnn_safetensors *file = NULL;
    clcnn_status status = clcnn_safetensors_create(&file);
    if (status == CLCNN_OK)
        status = parse_header(&state, file, root);
    json_decref(root);
    if (status != CLCNN_OK) {
        clcnn_safetensors_destroy(file);
        return status;
    }
    *out = file;
    return CLCNN_OK;
}

/* The whole regular file at path, malloc'ed; NULL with the reason, the
 * system's included, in error. */
static unsigned char *read_whole_file(const char *path, size_t *size, clcnn_status *status,
                                      char *error, size_t error_size) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int saved = errno;
        *status = clcnn__io_error(error, error_size, CLCNN_ERROR_IO, "%s: cannot open: %s", path,
                                  strerror(saved));
        return NULL;
    }
    unsigned char *data = NULL;
    struct stat info;
    if (fstat(fileno(f), &info) != 0) {
        int saved = errno;
        *status = clcnn__io_error(error, error_size, CLCNN_ERROR_IO, "%s: cannot stat: %s", path,
                                  strerror(saved));
    } else if (!S_ISREG(info.st_mode)) {
        *status = clcnn__io_error(error, error_size, CLCNN_ERROR_IO, "%s: %s", path,
                                  S_ISDIR(info.st_mode) ? strerror(EISDIR) : "not a regular file");
    } else if (info.st_size < 0 || (unsigned long long)info.st_size >= SIZE_MAX ||
               (data = malloc(info.st_size > 0 ? (size_t)info.st_size : 1)) == NULL) {
        *status =
            clcnn__io_error(error, error_size, CLCNN_ERROR_OUT_OF_HOST_MEMORY,
                            "%s: out of host memory for %lld bytes", path, (long long)info.st_size);
    } else {
        *size = (size_t)info.st_size;
        errno = 0;
        if (fread(data, 1, *size, f) != *size) {
            int saved = ferror(f) && errno != 0 ? errno : 0;
            free(data);
            data = NULL;
            *status =
                clcnn__io_error(error, error_size, CLCNN_ERROR_IO, "%s: cannot read: %s", path,
                                saved != 0 ? strerror(saved) : "the file shrank while it was read");
        }
    }
    fclose(f);
    return data;
}

clcnn_status clcnn_safetensors_load(const char *path, char *error, size_t error_size,
                                    clcnn_safetensors **out) {
    clcnn__io_clear(error, error_size);
    if (path == NULL || out == NULL)
        return clcnn__io_error(error, error_size, CLCNN_ERROR_INVALID_ARGUMENT,
                               "path or out is NULL");
    *out = NULL;
    size_t size = 0;
    clcnn_status status = CLCNN_OK;
    unsigned char *data = read_whole_file(path, &size, &status, error, error_size);
    if (data == NULL)
        return status;
    status = clcnn_safetensors_parse(data, size, error, error_size, out);
    free(data);
    if (status != CLCNN_OK)
        clcnn__io_prefix(error, error_size, path);
    return status;
}

/* ------------------------------------------------------------------ writing */

/* The JSON header, padded with spaces to a multiple of 8 bytes so the data
 * that follows is aligned. */
static char *build_header(const clcnn_safetensors *file, size_t *length) {
    json_t *root = json_object();
    size_t offset = 0;
    int ok = root != NULL;
    if (ok && json_object_size(file->metadata) > 0)
        ok = json_object_set(root, "__metadata__", file->metadata) == 0;
    for (size_t i = 0; ok && i < file->count; i++) {
        const clcnn_safetensors_tensor *t = &file->entries[i].tensor;
        json_t *shape = json_array();
        for (size_t d = 0; shape != NULL && d < t->ndim; d++)
            json_array_append_new(shape, json_integer((json_int_t)t->dims[d]));
        json_t *entry =
            json_pack("{s:s, s:o, s:[I, I]}", "dtype", clcnn_dtype_name(t->dtype), "shape", shape,
                      "data_offsets", (json_int_t)offset, (json_int_t)(offset + t->nbytes));
        ok = entry != NULL && json_object_set_new(root, t->name, entry) == 0;
        offset += t->nbytes;
    }
    char *text = ok ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (text == NULL)
        return NULL;
    size_t raw = strlen(text), padded = (raw + 7) / 8 * 8;
    char *header = realloc(text, padded + 1);
    if (header == NULL) {
        free(text);
        return NULL;
    }
    memset(header + raw, ' ', padded - raw);
    header[padded] = '\0';
    *length = padded;
    return header;
}

static int write_tensors(FILE *f, const clcnn_safetensors *file) {
    for (size_t i = 0; i < file->count; i++) {
        const clcnn_safetensors_tensor *t = &file->entries[i].tensor;
        size_t element_size = clcnn_dtype_size(t->dtype);
        unsigned char *copy = malloc(t->nbytes > 0 ? t->nbytes : 1);
        if (copy == NULL)
            return 0;
        memcpy(copy, t->data, t->nbytes);
        clcnn__swap_to_little_endian(copy, t->count, element_size);
        int ok = fwrite(copy, 1, t->nbytes, f) == t->nbytes;
        free(copy);
        if (!ok)
            return 0;
    }
    return 1;
}

static int write_file(FILE *f, const clcnn_safetensors *file, const char *header,
                      size_t header_length) {
    unsigned char length_field[8];
    for (int i = 0; i < 8; i++)
        length_field[i] = (unsigned char)((uint64_t)header_length >> (8 * i));
    return fwrite(length_field, 1, 8, f) == 8 &&
           fwrite(header, 1, header_length, f) == header_length && write_tensors(f, file);
}

typedef struct file_content {
    const clcnn_safetensors *file;
    const char *header;
    size_t header_length;
} file_content;

static int write_content(FILE *f, const void *arg) {
    const file_content *content = arg;
    return write_file(f, content->file, content->header, content->header_length);
}

clcnn_status clcnn_safetensors_save(const clcnn_safetensors *file, const char *path, char *error,
                                    size_t error_size) {
    clcnn__io_clear(error, error_size);
    if (file == NULL || path == NULL)
        return clcnn__io_error(error, error_size, CLCNN_ERROR_INVALID_ARGUMENT,
                               "file or path is NULL");
    file_content content = {file, NULL, 0};
    char *header = build_header(file, &content.header_length);
    if (header == NULL)
        return clcnn__io_error(error, error_size, CLCNN_ERROR_OUT_OF_HOST_MEMORY,
                               "out of host memory");
    content.header = header;
    clcnn_status status =
        clcnn__write_atomically(path, 0644, write_content, &content, error, error_size);
    free(header);
    return status;
}
