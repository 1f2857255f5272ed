/* On-disk cache of compiled program binaries. A file holds a magic, the full
 * cache key, the binary and a CRC-32 over all of it, so a truncated, corrupt
 * or colliding file is recognised and dropped. Writes go to a temporary file
 * that is renamed into place, so readers never see a partial file. Every
 * failure here only costs speed: the caller compiles from source. A file is
 * only read when it may be trusted with code (runtime/cache_files.c). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "runtime/internal.h"

#define CACHE_MAGIC "CLCNNPB1"
#define CACHE_MAGIC_LENGTH 8
#define CACHE_MAX_FILE_BYTES ((size_t)1 << 30)

char *clcnn__default_cache_dir(void) {
    const char *dir = getenv("CLCNN_CACHE_DIR");
    if (dir != NULL && dir[0] != '\0')
        return clcnn__strdup(dir);
    dir = getenv("XDG_CACHE_HOME");
    if (dir != NULL && dir[0] != '\0')
        return clcnn__join_path(dir, "clcnn");
    dir = getenv("HOME");
    if (dir != NULL && dir[0] != '\0')
        return clcnn__join_path(dir, ".cache/clcnn");
    return NULL;
}

/* Whether the environment variable is set and not empty. */
static int names_a_directory(const char *variable) {
    const char *value = getenv(variable);
    return value != NULL && value[0] != '\0';
}

clcnn_status clcnn_default_cache_dir(char *out, size_t size) {
    if (out == NULL || size == 0)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    out[0] = '\0';
    char *dir = clcnn__default_cache_dir();
    if (dir == NULL)
        return names_a_directory("CLCNN_CACHE_DIR") || names_a_directory("XDG_CACHE_HOME") ||
                       names_a_directory("HOME")
                   ? CLCNN_ERROR_OUT_OF_HOST_MEMORY
                   : CLCNN_ERROR_NOT_FOUND;
    size_t length = strlen(dir);
    clcnn_status status = length < size ? CLCNN_OK : CLCNN_ERROR_OUT_OF_RANGE;
    if (status == CLCNN_OK)
        memcpy(out, dir, length + 1);
    free(dir);
    return status;
}

clcnn_status clcnn__disk_cache_configure(clcnn_context *ctx, const clcnn_context_options *options) {
    int enabled = options->disk_cache;
    if (enabled == CLCNN_CACHE_DEFAULT) {
        const char *env = getenv("CLCNN_CACHE");
        enabled = !(env != NULL && strcmp(env, "0") == 0);
    }
    ctx->disk_cache_enabled = 0;
    ctx->cache_dir = NULL;
    if (!enabled)
        return CLCNN_OK;
    if (options->cache_dir != NULL && options->cache_dir[0] != '\0') {
        ctx->cache_dir = clcnn__strdup(options->cache_dir);
        if (ctx->cache_dir == NULL)
            return CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    } else {
        ctx->cache_dir = clcnn__default_cache_dir(); /* NULL: nowhere to cache */
    }
    ctx->disk_cache_enabled = ctx->cache_dir != NULL;
    return CLCNN_OK;
}

/* Everything that makes a compiled binary valid for reuse. */
#define CACHE_KEY_FORMAT                                                                   \
    "libclcnn program cache v1\nlibrary=%s\nplatform=%s\nplatform_version=%s\ndevice=%s\n" \
    "vendor=%s (0x%x)\ndriver=%s\ndevice_version=%s\noptions=%s\n"                         \
    "source=%zu bytes fnv1a64 %016llx crc32 %08lx\n"

static uint32_t crc_of(const void *data, size_t length) {
    uLong crc = crc32(0L, Z_NULL, 0);
    const unsigned char *bytes = data;
    while (length > 0) { /* zlib takes uInt lengths */
        uInt chunk = length > 0x40000000u ? 0x40000000u : (uInt)length;
        crc = crc32(crc, bytes, chunk);
        bytes += chunk;
        length -= chunk;
    }
    return (uint32_t)crc;
}

clcnn_status clcnn__cache_key_make(clcnn_context *ctx, const char *source, const char *full_options,
                                   clcnn__cache_key *out) {
    const clcnn_device_info *info = &ctx->info;
    size_t source_length = strlen(source);
    unsigned long long source_hash = clcnn__fnv1a64(source, source_length);
    unsigned long source_crc = crc_of(source, source_length);
    int length = snprintf(NULL, 0, CACHE_KEY_FORMAT, clcnn_version(), info->platform_name,
                          info->platform_version, info->device_name, info->vendor,
                          (unsigned)info->vendor_id, info->driver_version, info->device_version,
                          full_options, source_length, source_hash, source_crc);
    out->text = length < 0 ? NULL : malloc((size_t)length + 1);
    if (out->text == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    snprintf(out->text, (size_t)length + 1, CACHE_KEY_FORMAT, clcnn_version(), info->platform_name,
             info->platform_version, info->device_name, info->vendor, (unsigned)info->vendor_id,
             info->driver_version, info->device_version, full_options, source_length, source_hash,
             source_crc);
    unsigned long long key_hash = clcnn__fnv1a64(out->text, (size_t)length);
    snprintf(out->file_name, sizeof out->file_name, "%016llx-%08lx.bin", key_hash,
             (unsigned long)crc_of(out->text, (size_t)length));
    return CLCNN_OK;
}

void clcnn__cache_key_free(clcnn__cache_key *key) {
    if (key == NULL)
        return;
    free(key->text);
    key->text = NULL;
}

/* --------------------------------------------------------------- the format */

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ------------------------------------------------------------------ reading */

/* Reads a whole open file (at most CACHE_MAX_FILE_BYTES); NULL when it is
 * too large or unreadable. */
static unsigned char *read_file(int fd, size_t *size) {
    struct stat info;
    *size = 0;
    if (fstat(fd, &info) != 0 || info.st_size < 0 ||
        (unsigned long long)info.st_size > CACHE_MAX_FILE_BYTES)
        return NULL;
    size_t length = (size_t)info.st_size;
    unsigned char *data = malloc(length + 1);
    size_t have = 0;
    while (data != NULL && have < length) {
        ssize_t got = read(fd, data + have, length - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            free(data);
            return NULL;
        }
        have += (size_t)got;
    }
    *size = data != NULL ? length : 0;
    return data;
}

/* Checks the layout; on success points *binary into data. */
static int parse_cache_file(const unsigned char *data, size_t size, const char *key,
                            const unsigned char **binary, size_t *binary_size) {
    size_t key_length = strlen(key);
    size_t header = CACHE_MAGIC_LENGTH + 4;
    if (size < header + 8 + 4 || memcmp(data, CACHE_MAGIC, CACHE_MAGIC_LENGTH) != 0)
        return 0;
    if (get_u32(data + CACHE_MAGIC_LENGTH) != key_length)
        return 0;
    if (size - header < key_length + 8 + 4 || memcmp(data + header, key, key_length) != 0)
        return 0;
    const unsigned char *length_field = data + header + key_length;
    uint64_t length = get_u64(length_field);
    size_t rest = size - header - key_length - 8 - 4;
    if (length == 0 || length != rest)
        return 0;
    if (get_u32(data + size - 4) != crc_of(data, size - 4))
        return 0;
    *binary = length_field + 8;
    *binary_size = (size_t)length;
    return 1;
}

int clcnn__disk_cache_load(clcnn_context *ctx, const clcnn__cache_key *key, unsigned char **binary,
                           size_t *size) {
    *binary = NULL;
    *size = 0;
    if (!ctx->disk_cache_enabled)
        return 0;
    int fd = -1;
    char why[sizeof ctx->cache_stats.untrusted_reason];
    clcnn__open_result opened =
        clcnn__open_trusted(ctx->cache_dir, key->file_name, &fd, why, sizeof why);
    if (opened == CLCNN__OPEN_REFUSED)
        clcnn__cache_note_untrusted(ctx, why);
    if (opened != CLCNN__OPEN_OK)
        return 0;
    size_t file_size = 0;
    unsigned char *data = read_file(fd, &file_size);
    close(fd);
    const unsigned char *found = NULL;
    size_t found_size = 0;
    int hit = data != NULL && parse_cache_file(data, file_size, key->text, &found, &found_size);
    if (hit) {
        memmove(data, found, found_size);
        *binary = data;
        *size = found_size;
    } else if (data != NULL) {
        ctx->cache_stats.disk_rejects++;
        clcnn__disk_cache_drop(ctx, key);
        free(data);
    }
    return hit;
}

/* ------------------------------------------------------------------ writing */

static int write_all(FILE *file, const void *data, size_t size) {
    return fwrite(data, 1, size, file) == size;
}

static int write_cache_file(FILE *file, const char *key, const unsigned char *binary, size_t size) {
    size_t key_length = strlen(key);
    unsigned char header[CACHE_MAGIC_LENGTH + 4], length_field[8], crc_field[4];
    memcpy(header, CACHE_MAGIC, CACHE_MAGIC_LENGTH);
    put_u32(header + CACHE_MAGIC_LENGTH, (uint32_t)key_length);
    put_u64(length_field, size);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, header, sizeof header);
    crc = crc32(crc, (const Bytef *)key, (uInt)key_length);
    crc = crc32(crc, length_field, sizeof length_field);
    crc = crc32_z(crc, binary, size);
    put_u32(crc_field, (uint32_t)crc);
    return write_all(file, header, sizeof header) && write_all(file, key, key_length) &&
           write_all(file, length_field, sizeof length_field) && write_all(file, binary, size) &&
           write_all(file, crc_field, sizeof crc_field);
}

typedef struct cache_file_content {
    const char *key;
    const unsigned char *binary;
    size_t size;
} cache_file_content;

static int write_cache_content(FILE *file, const void *arg) {
    const cache_file_content *content = arg;
    return strlen(content->key) <= UINT32_MAX &&
           write_cache_file(file, content->key, content->binary, content->size);
}

void clcnn__disk_cache_store(clcnn_context *ctx, const clcnn__cache_key *key,
                             const unsigned char *binary, size_t size) {
    if (!ctx->disk_cache_enabled || size == 0)
        return;
    char *path = clcnn__join_path(ctx->cache_dir, key->file_name);
    cache_file_content content = {key->text, binary, size};
    clcnn_cache_stats *stats = &ctx->cache_stats;
    char *why = stats->write_failure_reason;
    size_t why_size = sizeof stats->write_failure_reason;
    if (path == NULL)
        snprintf(why, why_size, "out of host memory");
    if (path == NULL || !clcnn__write_file_atomically(ctx->cache_dir, path, write_cache_content,
                                                      &content, why, why_size))
        stats->disk_write_failures++;
    free(path);
}

void clcnn__disk_cache_drop(clcnn_context *ctx, const clcnn__cache_key *key) {
    if (!ctx->disk_cache_enabled)
        return;
    char *path = clcnn__join_path(ctx->cache_dir, key->file_name);
    if (path != NULL)
        remove(path);
    free(path);
}
