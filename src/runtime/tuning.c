/* The context's tuning table (clcnn/tune.h): keys naming an op, pass and
 * shape with the choice measured best for them, kept in the context, read
 * lazily from and written to a JSON file beside the program disk cache:
 *
 *   {"version": 1, "device": "<identity>",
 *    "entries": {"<key>": {"choice": "<text>", "ms": 1.2, "default_ms": 1.5}}}
 *
 * The file is named after a hash of the device identity (platform, device,
 * vendor, driver, library version), which it also holds in full, so a file
 * of another device or version is recognised and ignored. Stored tuning is
 * only advice: the lazy read ignores every problem, and writes go through a
 * temporary file renamed into place. Like a cached binary, the file is read
 * only when it and its directory belong to this user and no one else may
 * write them (runtime/cache_files.c), and is written private (0600). The
 * runtime knows nothing of what a choice means: the ops parse their own
 * entries (ops/conv2d_tune.c). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/internal.h"

#define TUNING_FORMAT_VERSION 1

/* ------------------------------------------------------------------ names */

/* The identity a tuning file must carry to be used on this device: the
 * device and driver, and the class of kernel choices the context takes
 * (CLCNN_DEVICE_CLASS), whose candidates the stored winners were among. */
static void device_identity(const clcnn_context *ctx, char *out, size_t size) {
    const clcnn_device_info *info = &ctx->info;
    snprintf(out, size,
             "platform=%s; platform_version=%s; device=%s; vendor=%s (0x%x); driver=%s; "
             "device_version=%s; kernel_class=%s; library=%s",
             info->platform_name, info->platform_version, info->device_name, info->vendor,
             (unsigned)info->vendor_id, info->driver_version, info->device_version,
             clcnn_device_type_name(ctx->traits.kernel_class), clcnn_version());
}

#define IDENTITY_MAX (8 * CLCNN_NAME_MAX)

/* "tuning-<hash>.json", the file name for a device identity. */
typedef struct tuning_name {
    char text[64];
} tuning_name;

static tuning_name tuning_file_name(const char *identity) {
    tuning_name name;
    snprintf(name.text, sizeof name.text, "tuning-%016llx.json",
             (unsigned long long)clcnn__fnv1a64(identity, strlen(identity)));
    return name;
}

/* "<directory>/tuning-<hash>.json", malloc'ed (NULL: out of memory). */
static char *tuning_path(const char *directory, const char *identity) {
    size_t length = strlen(directory) + 64;
    char *path = malloc(length);
    if (path != NULL)
        snprintf(path, length, "%s/%s", directory, tuning_file_name(identity).text);
    return path;
}

/* The directory a NULL `directory` argument means: the program cache's, or
 * NULL when the context has no disk cache. */
static const char *context_directory(const clcnn_context *ctx, const char *directory) {
    if (directory != NULL)
        return directory;
    return ctx->disk_cache_enabled ? ctx->cache_dir : NULL;
}

static int tuning_disabled_by_environment(void) {
    const char *env = getenv("CLCNN_TUNING");
    return env != NULL && strcmp(env, "0") == 0;
}

/* ------------------------------------------------------------------ table */

static clcnn__tuning_entry *find_entry(clcnn__tuning_table *table, const char *key) {
    for (size_t i = 0; i < table->count; i++)
        if (strcmp(table->entries[i].key, key) == 0)
            return &table->entries[i];
    return NULL;
}

/* Adds or replaces; 0 when it does not fit (too long, table full). */
static int put_entry(clcnn__tuning_table *table, const char *key, const char *choice, double ms,
                     double default_ms) {
    if (strlen(key) >= CLCNN_TUNE_KEY_MAX || strlen(choice) >= CLCNN_TUNE_CHOICE_MAX ||
        key[0] == '\0' || choice[0] == '\0')
        return 0;
    clcnn__tuning_entry *entry = find_entry(table, key);
    if (entry == NULL) {
        if (table->count == CLCNN_TUNE_MAX_ENTRIES)
            return 0;
        entry = &table->entries[table->count++];
        memcpy(entry->key, key, strlen(key) + 1);
    }
    memcpy(entry->choice, choice, strlen(choice) + 1);
    entry->ms = ms;
    entry->default_ms = default_ms;
    return 1;
}

/* ---------------------------------------------------------------- reading */

/* Merges the entries of a parsed tuning file into table when it is this
 * version's file for this device; else the status, with why. */
static clcnn_status apply_tuning_json(json_t *root, const char *path, const char *identity,
                                      clcnn__tuning_table *table, char *why, size_t why_size) {
    json_t *version = json_object_get(root, "version");
    json_t *device = json_object_get(root, "device");
    json_t *entries = json_object_get(root, "entries");
    if (!json_is_object(root) || !json_is_integer(version) || !json_is_string(device) ||
        !json_is_object(entries)) {
        snprintf(why, why_size, "%s: not a libclcnn tuning file", path);
        return CLCNN_ERROR_CORRUPT_FILE;
    }
    if (json_integer_value(version) != TUNING_FORMAT_VERSION) {
        snprintf(why, why_size, "%s: format version %lld, this library reads %d", path,
                 (long long)json_integer_value(version), TUNING_FORMAT_VERSION);
        return CLCNN_ERROR_CORRUPT_FILE;
    }
    if (strcmp(json_string_value(device), identity) != 0) {
        snprintf(why, why_size, "%s: made for another device or library version (%s)", path,
                 json_string_value(device));
        return CLCNN_ERROR_CORRUPT_FILE;
    }
    const char *key;
    json_t *value;
    json_object_foreach(entries, key, value) {
        json_t *choice = json_object_get(value, "choice");
        json_t *ms = json_object_get(value, "ms");
        json_t *default_ms = json_object_get(value, "default_ms");
        if (!json_is_string(choice))
            continue; /* not an entry this version understands */
        put_entry(table, key, json_string_value(choice),
                  json_is_number(ms) ? json_number_value(ms) : 0.0,
                  json_is_number(default_ms) ? json_number_value(default_ms) : 0.0);
    }
    return CLCNN_OK;
}

/* Parses the tuning file of identity in directory into table (entries
 * merged), opening it only when it may be trusted (clcnn__open_trusted).
 * Returns CLCNN_OK, or the status of the problem with its reason in why
 * (and *refused set when the file may not be trusted). */
static clcnn_status read_tuning_file(const char *directory, const char *identity,
                                     clcnn__tuning_table *table, int *refused, char *why,
                                     size_t why_size) {
    int fd = -1;
    clcnn__open_result opened =
        clcnn__open_trusted(directory, tuning_file_name(identity).text, &fd, why, why_size);
    *refused = opened == CLCNN__OPEN_REFUSED;
    if (opened != CLCNN__OPEN_OK)
        return opened == CLCNN__OPEN_ABSENT ? CLCNN_ERROR_NOT_FOUND : CLCNN_ERROR_IO;
    char *path = tuning_path(directory, identity);
    FILE *file = path != NULL ? fdopen(fd, "rb") : NULL;
    if (file == NULL) {
        int saved = errno;
        snprintf(why, why_size, "%s: %s", path != NULL ? path : directory,
                 path != NULL ? strerror(saved) : "out of host memory");
        close(fd);
        free(path);
        return path == NULL ? CLCNN_ERROR_OUT_OF_HOST_MEMORY : CLCNN_ERROR_IO;
    }
    errno = 0;
    json_error_t error;
    json_t *root = json_loadf(file, JSON_REJECT_DUPLICATES, &error);
    int read_error = ferror(file) ? (errno != 0 ? errno : EIO) : 0;
    fclose(file);
    clcnn_status status = CLCNN_OK;
    if (root == NULL) {
        snprintf(why, why_size, "%s: %s", path, read_error ? strerror(read_error) : error.text);
        status = read_error ? CLCNN_ERROR_IO : CLCNN_ERROR_CORRUPT_FILE;
    } else {
        status = apply_tuning_json(root, path, identity, table, why, why_size);
    }
    json_decref(root);
    free(path);
    return status;
}

/* The first use of the table reads the stored file, ignoring every
 * problem: tuning only ever changes speed. */
static clcnn__tuning_table *loaded_table(clcnn_context *ctx) {
    clcnn__tuning_table *table = &ctx->tuning;
    if (table->loaded)
        return table;
    table->loaded = 1;
    const char *directory = context_directory(ctx, NULL);
    if (directory == NULL || tuning_disabled_by_environment())
        return table;
    char identity[IDENTITY_MAX], why[sizeof ctx->cache_stats.untrusted_reason];
    device_identity(ctx, identity, sizeof identity);
    clcnn__tuning_table *scratch = malloc(sizeof *scratch);
    if (scratch != NULL) {
        /* All or nothing: a file that fails half-way leaves no entries. */
        *scratch = *table;
        int refused = 0;
        if (read_tuning_file(directory, identity, scratch, &refused, why, sizeof why) == CLCNN_OK)
            *table = *scratch;
        else if (refused)
            clcnn__cache_note_untrusted(ctx, why);
        free(scratch);
    }
    return table;
}

size_t clcnn__tuning_count(clcnn_context *ctx) {
    return loaded_table(ctx)->count;
}

const clcnn__tuning_entry *clcnn__tuning_find(clcnn_context *ctx, const char *key) {
    return find_entry(loaded_table(ctx), key);
}

clcnn_status clcnn__tuning_set(clcnn_context *ctx, const char *key, const char *choice, double ms,
                               double default_ms) {
    clcnn__tuning_table *table = loaded_table(ctx);
    if (strlen(key) >= CLCNN_TUNE_KEY_MAX || strlen(choice) >= CLCNN_TUNE_CHOICE_MAX ||
        key[0] == '\0' || choice[0] == '\0')
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "tuning: key \"%s\" or choice \"%s\" is empty or too long", key, choice);
    if (!put_entry(table, key, choice, ms, default_ms))
        return clcnn__fail(ctx, CLCNN_ERROR_OUT_OF_RANGE,
                           "tuning: the table is full (%d entries); clear it to tune more",
                           CLCNN_TUNE_MAX_ENTRIES);
    return CLCNN_OK;
}

void clcnn__tuning_remove(clcnn_context *ctx, const char *key) {
    clcnn__tuning_table *table = loaded_table(ctx);
    clcnn__tuning_entry *entry = find_entry(table, key);
    if (entry == NULL)
        return;
    size_t index = (size_t)(entry - table->entries);
    memmove(entry, entry + 1, (table->count - index - 1) * sizeof *entry);
    table->count--;
}

/* ---------------------------------------------------------------- writing */

static json_t *table_json(const clcnn__tuning_table *table, const char *identity) {
    json_t *root = json_pack("{s:i, s:s, s:{}}", "version", TUNING_FORMAT_VERSION, "device",
                             identity, "entries");
    json_t *entries = json_object_get(root, "entries");
    if (entries == NULL) {
        json_decref(root);
        return NULL;
    }
    for (size_t i = 0; i < table->count; i++) {
        const clcnn__tuning_entry *e = &table->entries[i];
        json_t *value = json_pack("{s:s, s:f, s:f}", "choice", e->choice, "ms", e->ms, "default_ms",
                                  e->default_ms);
        if (value == NULL || json_object_set_new(entries, e->key, value) != 0) {
            json_decref(root);
            return NULL;
        }
    }
    return root;
}

static int write_text(FILE *file, const void *text) {
    size_t length = strlen(text);
    return fwrite(text, 1, length, file) == length;
}

/* ------------------------------------------------------------- public API */

clcnn_status clcnn_context_save_tuning(clcnn_context *context, const char *directory) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    const clcnn__tuning_table *table = loaded_table(context);
    const char *dir = context_directory(context, directory);
    if (dir == NULL)
        return CLCNN_OK; /* the disk cache is off: memory only */
    char identity[IDENTITY_MAX], why[CLCNN_NAME_MAX * 4];
    device_identity(context, identity, sizeof identity);
    char *path = tuning_path(dir, identity);
    json_t *root = path != NULL ? table_json(table, identity) : NULL;
    char *text = root != NULL
                     ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6))
                     : NULL;
    json_decref(root);
    clcnn_status status = CLCNN_OK;
    if (text == NULL)
        status = clcnn__fail(context, CLCNN_ERROR_OUT_OF_HOST_MEMORY,
                             "saving tuning: out of host memory");
    else if (!clcnn__write_file_atomically(dir, path, write_text, text, why, sizeof why))
        status = clcnn__fail(context, CLCNN_ERROR_IO, "saving tuning: %s", why);
    free(text);
    free(path);
    return status;
}

clcnn_status clcnn_context_load_tuning(clcnn_context *context, const char *directory) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__tuning_table *table = loaded_table(context);
    if (tuning_disabled_by_environment())
        return CLCNN_OK;
    const char *dir = context_directory(context, directory);
    if (dir == NULL)
        return clcnn__fail(context, CLCNN_ERROR_NOT_FOUND,
                           "loading tuning: no directory given and the disk cache is off");
    char identity[IDENTITY_MAX], why[CLCNN_NAME_MAX * 4];
    device_identity(context, identity, sizeof identity);
    clcnn__tuning_table *scratch = malloc(sizeof *scratch);
    if (scratch == NULL)
        return clcnn__fail(context, CLCNN_ERROR_OUT_OF_HOST_MEMORY,
                           "loading tuning: out of host memory");
    *scratch = *table;
    int refused = 0;
    clcnn_status status = read_tuning_file(dir, identity, scratch, &refused, why, sizeof why);
    if (status == CLCNN_OK)
        *table = *scratch;
    else if (refused)
        clcnn__fail(context, status, "loading tuning: refused to read an untrusted file: %s", why);
    else
        clcnn__fail(context, status, "loading tuning: %s", why);
    free(scratch);
    return status;
}

clcnn_status clcnn_context_clear_tuning(clcnn_context *context) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    context->tuning.loaded = 1;
    context->tuning.count = 0;
    return CLCNN_OK;
}
