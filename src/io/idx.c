/* IDX reader. gzread reads raw files as they are, so one path serves both;
 * the data is read in growing chunks, so a header that lies about a huge
 * size fails at the end of the file instead of allocating it up front. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "clcnn/idx.h"
#include "io/io_util.h"

static size_t element_size_of(unsigned type) {
    switch (type) {
    case CLCNN_IDX_U8:
    case CLCNN_IDX_I8:
        return 1;
    case CLCNN_IDX_I16:
        return 2;
    case CLCNN_IDX_I32:
    case CLCNN_IDX_F32:
        return 4;
    case CLCNN_IDX_F64:
        return 8;
    default:
        return 0;
    }
}

/* Big-endian file order to native order, element by element. */
static void to_native(unsigned char *data, size_t count, size_t element_size) {
    if (element_size == 1 || clcnn__host_is_big_endian())
        return;
    for (size_t i = 0; i < count; i++) {
        unsigned char *e = data + i * element_size;
        for (size_t a = 0, b = element_size - 1; a < b; a++, b--) {
            unsigned char t = e[a];
            e[a] = e[b];
            e[b] = t;
        }
    }
}

/* Reads the big-endian dimensions and checks their product. */
static clcnn_status parse_dims(const unsigned char *dim_bytes, clcnn_idx *idx, char *error,
                               size_t error_size) {
    for (size_t i = 0; i < idx->ndim; i++) {
        const unsigned char *d = dim_bytes + 4 * i;
        idx->dims[i] = ((size_t)d[0] << 24) | ((size_t)d[1] << 16) | ((size_t)d[2] << 8) | d[3];
        if (idx->dims[i] == 0)
            return clcnn__io_error(error, error_size, CLCNN_ERROR_CORRUPT_FILE,
                                   "IDX dimension %zu is 0", i);
    }
    size_t count = 1, bytes = 0;
    for (size_t i = 0; i < idx->ndim; i++)
        if (!clcnn__mul_size(count, idx->dims[i], &count))
            return clcnn__io_error(error, error_size, CLCNN_ERROR_SIZE_OVERFLOW,
                                   "IDX dimensions overflow the element count");
    if (!clcnn__mul_size(count, idx->element_size, &bytes))
        return clcnn__io_error(error, error_size, CLCNN_ERROR_SIZE_OVERFLOW,
                               "IDX data size overflows");
    idx->count = count;
    return CLCNN_OK;
}

static clcnn_status check_magic(const unsigned char *magic, clcnn_idx *idx, char *error,
                                size_t error_size) {
    if (magic[0] != 0 || magic[1] != 0)
        return clcnn__io_error(error, error_size, CLCNN_ERROR_CORRUPT_FILE,
                               "not an IDX file (magic %02x %02x, expected 00 00)", magic[0],
                               magic[1]);
    idx->element_size = element_size_of(magic[2]);
    if (idx->element_size == 0)
        return clcnn__io_error(error, error_size, CLCNN_ERROR_CORRUPT_FILE,
                               "unknown IDX element type 0x%02x", magic[2]);
    if (magic[3] == 0 || magic[3] > CLCNN_IDX_MAX_DIMS)
        return clcnn__io_error(error, error_size, CLCNN_ERROR_CORRUPT_FILE,
                               "IDX file has %u dimensions (1 to %d supported)", magic[3],
                               CLCNN_IDX_MAX_DIMS);
    idx->type = (clcnn_idx_type)magic[2];
    idx->ndim = magic[3];
    return CLCNN_OK;
}

/* A byte source: a gzFile or a memory range. */
typedef struct byte_source {
    gzFile file;
    const unsigned char *bytes;
    size_t size, position;
    int read_errno; /* after a failed read: the system's reason, 0 for a corrupt stream */
} byte_source;

/* The system's reason for a failed gzread, or 0 when the stream itself is
 * bad (zlib reports that apart from a failed read). */
static int read_failure_errno(gzFile file) {
    int saved = errno, zlib_error = Z_OK;
    gzerror(file, &zlib_error);
    return zlib_error == Z_ERRNO ? (saved != 0 ? saved : EIO) : 0;
}

/* Reads up to `want` bytes; returns how many, or -1 on a read error. */
static long long source_read(byte_source *source, void *into, size_t want) {
    if (source->file != NULL) {
        size_t got = 0;
        while (got < want) {
            unsigned chunk = want - got > (1u << 30) ? (1u << 30) : (unsigned)(want - got);
            errno = 0;
            int n = gzread(source->file, (unsigned char *)into + got, chunk);
            if (n < 0) {
                source->read_errno = read_failure_errno(source->file);
                return -1;
            }
            if (n == 0)
                break;
            got += (size_t)n;
        }
        return (long long)got;
    }
    size_t left = source->size - source->position;
    size_t n = want < left ? want : left;
    memcpy(into, source->bytes + source->position, n);
    source->position += n;
    return (long long)n;
}

static clcnn_status read_exact(byte_source *source, void *into, size_t want, const char *what,
                               char *error, size_t error_size) {
    long long got = source_read(source, into, want);
    if (got < 0 && source->read_errno != 0)
        return clcnn__io_error(error, error_size, CLCNN_ERROR_IO, "IDX %s: cannot read: %s", what,
                               strerror(source->read_errno));
    if (got < 0)
        return clcnn__io_error(error, error_size, CLCNN_ERROR_CORRUPT_FILE,
                               "IDX %s: the compressed stream is corrupt", what);
    if ((size_t)got != want)
        return clcnn__io_error(error, error_size, CLCNN_ERROR_CORRUPT_FILE,
                               "IDX file is truncated: %s needs %zu bytes, found %lld", what, want,
                               got);
    return CLCNN_OK;
}

/* Reads the data in chunks that grow with what the file really holds. */
static clcnn_status read_data(byte_source *source, clcnn_idx *idx, char *error, size_t error_size) {
    size_t total = idx->count * idx->element_size, have = 0, capacity = 0;
    unsigned char *data = NULL;
    while (have < total) {
        size_t next = capacity == 0 ? 1u << 20 : capacity * 2;
        capacity = next < total ? next : total;
        unsigned char *grown = realloc(data, capacity);
        if (grown == NULL) {
            free(data);
            return clcnn__io_error(error, error_size, CLCNN_ERROR_OUT_OF_HOST_MEMORY,
                                   "out of host memory reading %zu bytes", total);
        }
        data = grown;
        clcnn_status status =
            read_exact(source, data + have, capacity - have, "data", error, error_size);
        if (status != CLCNN_OK) {
            free(data);
            return status;
        }
        have = capacity;
    }
    unsigned char extra;
    if (source_read(source, &extra, 1) != 0) {
        free(data);
        return clcnn__io_error(error, error_size, CLCNN_ERROR_CORRUPT_FILE,
                               "IDX file holds more bytes than its header declares");
    }
    to_native(data, idx->count, idx->element_size);
    idx->data = data;
    return CLCNN_OK;
}

static clcnn_status read_idx(byte_source *source, char *error, size_t error_size, clcnn_idx **out) {
    clcnn_idx *idx = calloc(1, sizeof *idx);
    if (idx == NULL)
        return clcnn__io_error(error, error_size, CLCNN_ERROR_OUT_OF_HOST_MEMORY,
                               "out of host memory");
    unsigned char magic[4], dims[4 * CLCNN_IDX_MAX_DIMS];
    clcnn_status status = read_exact(source, magic, 4, "magic", error, error_size);
    if (status == CLCNN_OK)
        status = check_magic(magic, idx, error, error_size);
    if (status == CLCNN_OK)
        status = read_exact(source, dims, 4 * idx->ndim, "dimensions", error, error_size);
    if (status == CLCNN_OK)
        status = parse_dims(dims, idx, error, error_size);
    if (status == CLCNN_OK)
        status = read_data(source, idx, error, error_size);
    if (status != CLCNN_OK) {
        clcnn_idx_destroy(idx);
        return status;
    }
    *out = idx;
    return CLCNN_OK;
}

clcnn_status clcnn_idx_load(const char *path, char *error, size_t error_size, clcnn_idx **out) {
    clcnn__io_clear(error, error_size);
    if (path == NULL || out == NULL)
        return clcnn__io_error(error, error_size, CLCNN_ERROR_INVALID_ARGUMENT,
                               "path or out is NULL");
    *out = NULL;
    byte_source source = {0};
    errno = 0;
    source.file = gzopen(path, "rb");
    if (source.file == NULL) {
        int saved = errno;
        return clcnn__io_error(error, error_size, CLCNN_ERROR_IO, "%s: cannot open: %s", path,
                               saved != 0 ? strerror(saved) : "zlib could not allocate its state");
    }
    clcnn_status status = read_idx(&source, error, error_size, out);
    gzclose(source.file);
    if (status != CLCNN_OK)
        clcnn__io_prefix(error, error_size, path);
    return status;
}

clcnn_status clcnn_idx_parse(const void *bytes, size_t size, char *error, size_t error_size,
                             clcnn_idx **out) {
    clcnn__io_clear(error, error_size);
    if (bytes == NULL || out == NULL)
        return clcnn__io_error(error, error_size, CLCNN_ERROR_INVALID_ARGUMENT,
                               "bytes or out is NULL");
    *out = NULL;
    byte_source source = {0};
    source.bytes = bytes;
    source.size = size;
    return read_idx(&source, error, error_size, out);
}

void clcnn_idx_destroy(clcnn_idx *idx) {
    if (idx == NULL)
        return;
    free(idx->data);
    free(idx);
}
