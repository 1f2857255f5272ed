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
 * write them (runtime/cache_files.c), and is written private (0600).
 * Choices are typed (runtime/choices.h); their text lives here only: an
 * entry is parsed when the file is read, by the family its key names, and
 * dropped when it does not parse. Whether a choice applies to a shape is
 * for its op to decide. */
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

/* ---------------------------------------------------------- choices as text */

static const struct {
    const char *prefix;
    clcnn__tuned_family family;
} family_prefixes[] = {
    {"conv2d.", CLCNN__TUNED_CONV2D},
    {"gemm:", CLCNN__TUNED_GEMM},
    {"pointwise:", CLCNN__TUNED_POINTWISE},
};

int clcnn__tuned_family_of(const char *key, clcnn__tuned_family *family) {
    for (size_t i = 0; i < sizeof family_prefixes / sizeof family_prefixes[0]; i++)
        if (strncmp(key, family_prefixes[i].prefix, strlen(family_prefixes[i].prefix)) == 0) {
            *family = family_prefixes[i].family;
            return 1;
        }
    return 0;
}

/* The conv2d algorithms by their CLCNN__CONV2D_* value. */
static const char *const conv2d_algorithms[] = {NULL, "general", "direct", "tiled"};

static const char *conv2d_algorithm_name(int algorithm) {
    return algorithm >= CLCNN__CONV2D_GENERAL && algorithm <= CLCNN__CONV2D_TILED
               ? conv2d_algorithms[algorithm]
               : "?";
}

static void format_conv2d(const clcnn__conv2d_choice *c, char *text, size_t size) {
    const clcnn__conv2d_tiles *t = &c->tiles;
    if (c->algorithm == CLCNN__CONV2D_DIRECT && (t->kt != 0 || t->vw != 0 || t->wv != 0))
        snprintf(text, size, "direct kt=%zu vw=%zu wv=%zu", t->kt, t->vw, t->wv);
    else
        snprintf(text, size, "%s", conv2d_algorithm_name(c->algorithm));
}

static void format_gemm(const clcnn__gemm_choices *c, char *text, size_t size) {
    if (c->backend == CLCNN__GEMM_CLBLAST)
        snprintf(text, size, "clblast");
    else if (c->backend != CLCNN__GEMM_TILED)
        snprintf(text, size, "?");
    else if (c->group_cols == 0)
        snprintf(text, size, "tiled nr=%zu wg=auto", c->tile_cols);
    else
        snprintf(text, size, "tiled nr=%zu wg=%zux%zu", c->tile_cols, c->group_cols, c->group_rows);
}

void clcnn__tuned_choice_format(const clcnn__tuned_choice *choice, char *text, size_t size) {
    switch (choice->family) {
    case CLCNN__TUNED_CONV2D:
        format_conv2d(&choice->as.conv2d, text, size);
        break;
    case CLCNN__TUNED_GEMM:
        format_gemm(&choice->as.gemm, text, size);
        break;
    case CLCNN__TUNED_POINTWISE:
        snprintf(text, size, "vec=%d items=%d wg=%zu", choice->as.pointwise.vec,
                 choice->as.pointwise.items, choice->as.pointwise.local);
        break;
    default:
        snprintf(text, size, "?");
        break;
    }
}

/* Reads the fields of text into *out, without checking that text is in
 * the exact form (clcnn__tuned_choice_parse does, by formatting *out). */
static int scan_conv2d(const char *text, clcnn__conv2d_choice *out) {
    for (int algorithm = CLCNN__CONV2D_GENERAL; algorithm <= CLCNN__CONV2D_TILED; algorithm++)
        if (strcmp(text, conv2d_algorithms[algorithm]) == 0) {
            out->algorithm = algorithm;
            return 1;
        }
    clcnn__conv2d_tiles *t = &out->tiles;
    out->algorithm = CLCNN__CONV2D_DIRECT;
    return sscanf(text, "direct kt=%zu vw=%zu wv=%zu", &t->kt, &t->vw, &t->wv) == 3;
}

static int scan_gemm(const char *text, clcnn__gemm_choices *out) {
    if (strcmp(text, "clblast") == 0) {
        out->backend = CLCNN__GEMM_CLBLAST;
        return 1;
    }
    out->backend = CLCNN__GEMM_TILED;
    if (sscanf(text, "tiled nr=%zu wg=%zux%zu", &out->tile_cols, &out->group_cols,
               &out->group_rows) == 3)
        return 1;
    out->group_cols = out->group_rows = 0;
    return sscanf(text, "tiled nr=%zu wg=auto", &out->tile_cols) == 1;
}

static int scan_pointwise(const char *text, clcnn__pointwise_layout *out) {
    return sscanf(text, "vec=%d items=%d wg=%zu", &out->vec, &out->items, &out->local) == 3;
}

int clcnn__tuned_choice_parse(clcnn__tuned_family family, const char *text,
                              clcnn__tuned_choice *out) {
    memset(out, 0, sizeof *out);
    out->family = family;
    int scanned = family == CLCNN__TUNED_CONV2D      ? scan_conv2d(text, &out->as.conv2d)
                  : family == CLCNN__TUNED_GEMM      ? scan_gemm(text, &out->as.gemm)
                  : family == CLCNN__TUNED_POINTWISE ? scan_pointwise(text, &out->as.pointwise)
                                                     : 0;
    if (!scanned)
        return 0;
    /* Only the exact form: no signs, spaces, leading zeros or trailing
     * text that the scan lets through. */
    char canonical[CLCNN_TUNE_CHOICE_MAX];
    clcnn__tuned_choice_format(out, canonical, sizeof canonical);
    return strcmp(canonical, text) == 0;
}

int clcnn__tuned_choice_equal(const clcnn__tuned_choice *a, const clcnn__tuned_choice *b) {
    if (a->family != b->family)
        return 0;
    switch (a->family) {
    case CLCNN__TUNED_CONV2D: {
        const clcnn__conv2d_choice *x = &a->as.conv2d, *y = &b->as.conv2d;
        return x->algorithm == y->algorithm && x->tiles.kt == y->tiles.kt &&
               x->tiles.vw == y->tiles.vw && x->tiles.wv == y->tiles.wv;
    }
    case CLCNN__TUNED_GEMM: {
        /* CLBlast has no tiles of this library's to choose. */
        const clcnn__gemm_choices *x = &a->as.gemm, *y = &b->as.gemm;
        return x->backend == y->backend &&
               (x->backend == CLCNN__GEMM_CLBLAST ||
                (x->tile_cols == y->tile_cols && x->group_cols == y->group_cols &&
                 x->group_rows == y->group_rows));
    }
    case CLCNN__TUNED_POINTWISE: {
        const clcnn__pointwise_layout *x = &a->as.pointwise, *y = &b->as.pointwise;
        return x->vec == y->vec && x->items == y->items && x->local == y->local;
    }
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------ table */

static clcnn__tuning_entry *find_entry(clcnn__tuning_table *table, const char *key) {
    for (size_t i = 0; i < table->count; i++)
        if (strcmp(table->entries[i].key, key) == 0)
            return &table->entries[i];
    return NULL;
}

/* Whether key may hold choice: not empty, not too long, and of choice's
 * family. */
static int key_fits(const char *key, const clcnn__tuned_choice *choice) {
    clcnn__tuned_family family;
    return key[0] != '\0' && strlen(key) < CLCNN_TUNE_KEY_MAX &&
           clcnn__tuned_family_of(key, &family) && family == choice->family;
}

/* Adds or replaces; 0 when it does not fit (the key, a full table). */
static int put_entry(clcnn__tuning_table *table, const char *key, const clcnn__tuned_choice *choice,
                     double ms, double default_ms) {
    if (!key_fits(key, choice))
        return 0;
    clcnn__tuning_entry *entry = find_entry(table, key);
    if (entry == NULL) {
        if (table->count == CLCNN_TUNE_MAX_ENTRIES)
            return 0;
        entry = &table->entries[table->count++];
        memcpy(entry->key, key, strlen(key) + 1);
    }
    entry->choice = *choice;
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
        json_t *text = json_object_get(value, "choice");
        json_t *ms = json_object_get(value, "ms");
        json_t *default_ms = json_object_get(value, "default_ms");
        clcnn__tuned_family family;
        clcnn__tuned_choice choice;
        if (!json_is_string(text) || !clcnn__tuned_family_of(key, &family) ||
            !clcnn__tuned_choice_parse(family, json_string_value(text), &choice))
            continue; /* not an entry this version understands */
        put_entry(table, key, &choice, json_is_number(ms) ? json_number_value(ms) : 0.0,
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

clcnn_status clcnn__tuning_set(clcnn_context *ctx, const char *key,
                               const clcnn__tuned_choice *choice, double ms, double default_ms) {
    clcnn__tuning_table *table = loaded_table(ctx);
    if (!key_fits(key, choice)) {
        char text[CLCNN_TUNE_CHOICE_MAX];
        clcnn__tuned_choice_format(choice, text, sizeof text);
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "tuning: key \"%.*s\" is empty, too long or not one of choice "
                           "\"%s\"'s family",
                           CLCNN_TUNE_KEY_MAX, key, text);
    }
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
        char choice[CLCNN_TUNE_CHOICE_MAX];
        clcnn__tuned_choice_format(&e->choice, choice, sizeof choice);
        json_t *value = json_pack("{s:s, s:f, s:f}", "choice", choice, "ms", e->ms, "default_ms",
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
