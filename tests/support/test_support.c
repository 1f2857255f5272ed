/* Shared helpers for the cmocka tests (see test_support.h). */
#include "support/test_support.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- statuses */

void ts_check_status(const clcnn_context *ctx, clcnn_status expected, clcnn_status actual,
                     const char *expression, const char *file, int line) {
    if (actual == expected)
        return;
    print_error("%s\n  expected %s (%d), got %s (%d)\n  last error: %s\n", expression,
                clcnn_status_name(expected), (int)expected, clcnn_status_name(actual), (int)actual,
                ctx != NULL ? clcnn_context_last_error(ctx) : "(no context)");
    _fail(file, line);
}

void ts_check_contains(const char *haystack, const char *needle, const char *file, int line) {
    if (haystack != NULL && needle != NULL && strstr(haystack, needle) != NULL)
        return;
    print_error("expected \"%s\" to contain \"%s\"\n", haystack ? haystack : "(null)",
                needle ? needle : "(null)");
    _fail(file, line);
}

/* ----------------------------------------------------------------- contexts */

clcnn_context *ts_context_create_with(const clcnn_context_options *options) {
    char reason[1024] = "";
    clcnn_context_options copy = options != NULL ? *options : clcnn_context_options_default();
    if (copy.error_buffer == NULL) {
        copy.error_buffer = reason;
        copy.error_buffer_size = sizeof reason;
    }
    clcnn_context *ctx = NULL;
    clcnn_status status = clcnn_context_create(&copy, &ctx);
    if (status != CLCNN_OK || ctx == NULL) {
        print_error("clcnn_context_create: %s: %s\n", clcnn_status_name(status), copy.error_buffer);
        fail();
    }
    return ctx;
}

clcnn_context *ts_context_create(void) {
    return ts_context_create_with(NULL);
}

clcnn_device_info ts_device_info(const clcnn_context *ctx) {
    clcnn_device_info info;
    memset(&info, 0, sizeof info);
    TS_ASSERT_OK(ctx, clcnn_context_device_info(ctx, &info));
    return info;
}

static int info_is_oclgrind(const clcnn_device_info *info) {
    return strstr(info->platform_name, "Oclgrind") != NULL ||
           strstr(info->device_name, "Oclgrind") != NULL;
}

int ts_oclgrind(const clcnn_context *ctx) {
    clcnn_device_info info = ts_device_info(ctx);
    return info_is_oclgrind(&info);
}

int ts_setup_context(void **state) {
    /* A failure inside a group fixture fails the group, as returning -1
     * would, after ts_context_create has printed why. */
    *state = ts_context_create();
    return 0;
}

int ts_teardown_context(void **state) {
    clcnn_context_destroy(*state);
    return 0;
}

void ts_poison_pool(clcnn_context *ctx) {
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
    for (size_t i = 0; i < ctx->pool_count; i++) {
        const clcnn__pool_buffer *buffer = &ctx->pool[i];
        if (buffer->in_use)
            continue;
        unsigned char *nan_bytes = ts_malloc(buffer->bytes);
        memset(nan_bytes, 0xff, buffer->bytes);
        assert_int_equal(clEnqueueWriteBuffer(ctx->queue, buffer->mem, CL_TRUE, 0, buffer->bytes,
                                              nan_bytes, 0, NULL, NULL),
                         CL_SUCCESS);
        free(nan_bytes);
    }
}

/* --------------------------------------------------------------- environment */

void ts_env_set(ts_saved_env *saved, const char *name, const char *value) {
    assert_true(strlen(name) < sizeof saved->name);
    strcpy(saved->name, name);
    const char *old = getenv(name);
    saved->value = old != NULL ? strdup(old) : NULL;
    if (value != NULL)
        assert_int_equal(setenv(name, value, 1), 0);
    else
        assert_int_equal(unsetenv(name), 0);
}

void ts_env_restore(ts_saved_env *saved) {
    if (saved->value != NULL)
        setenv(saved->name, saved->value, 1);
    else
        unsetenv(saved->name);
    free(saved->value);
    saved->value = NULL;
}

/* ----------------------------------------------------------- temporary dirs */

char *ts_temp_dir_create(void) {
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    size_t size = strlen(base) + sizeof "/clcnn-test-XXXXXX";
    char *path = ts_malloc(size);
    snprintf(path, size, "%s/clcnn-test-XXXXXX", base);
    if (mkdtemp(path) == NULL) {
        print_error("mkdtemp(%s): %s\n", path, strerror(errno));
        free(path);
        fail();
    }
    return path;
}

static void remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        /* Make sure we can list and empty it even if a test chmod'ed it. */
        chmod(path, 0700);
        DIR *dir = opendir(path);
        if (dir != NULL) {
            struct dirent *entry;
            while ((entry = readdir(dir)) != NULL) {
                if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                    continue;
                size_t size = strlen(path) + strlen(entry->d_name) + 2;
                char *child = malloc(size);
                if (child == NULL)
                    break;
                snprintf(child, size, "%s/%s", path, entry->d_name);
                remove_tree(child);
                free(child);
            }
            closedir(dir);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

void ts_temp_dir_remove(char *path) {
    if (path == NULL)
        return;
    remove_tree(path);
    free(path);
}

static int ends_with(const char *name, const char *suffix) {
    size_t n = strlen(name), s = strlen(suffix);
    return n >= s && strcmp(name + n - s, suffix) == 0;
}

size_t ts_dir_count(const char *dir, const char *suffix) {
    DIR *handle = opendir(dir);
    if (handle == NULL)
        return 0;
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        if (ends_with(entry->d_name, suffix))
            count++;
    }
    closedir(handle);
    return count;
}

char *ts_dir_find(const char *dir, const char *suffix) {
    DIR *handle = opendir(dir);
    if (handle == NULL)
        return NULL;
    char *found = NULL;
    struct dirent *entry;
    while (found == NULL && (entry = readdir(handle)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        if (ends_with(entry->d_name, suffix)) {
            size_t size = strlen(dir) + strlen(entry->d_name) + 2;
            found = ts_malloc(size);
            snprintf(found, size, "%s/%s", dir, entry->d_name);
        }
    }
    closedir(handle);
    return found;
}

/* ---------------------------------------------------------------------- data */

void *ts_malloc(size_t bytes) {
    void *p = malloc(bytes > 0 ? bytes : 1);
    if (p == NULL) {
        print_error("out of host memory (%zu bytes)\n", bytes);
        fail();
        abort(); /* not reached: fail() leaves the test */
    }
    return p;
}

float *ts_random_floats(size_t count, uint32_t seed, float low, float high) {
    float *data = ts_malloc(count * sizeof *data);
    ts_fill_random(data, count, seed, low, high);
    return data;
}

double *ts_to_double(const float *data, size_t count) {
    double *out = ts_malloc(count * sizeof *out);
    for (size_t i = 0; i < count; i++)
        out[i] = data[i];
    return out;
}

void ts_fill_random(float *data, size_t count, uint32_t seed, float low, float high) {
    uint32_t state = seed != 0 ? seed : 0x9e3779b9u;
    for (size_t i = 0; i < count; i++) {
        /* xorshift32: deterministic across platforms. */
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        float unit = (float)(state >> 8) / 16777216.0f;
        data[i] = low + (high - low) * unit;
    }
}

void ts_check_floats_identical(const float *got, const float *expected, size_t count,
                               const char *file, int line) {
    for (size_t i = 0; i < count; i++) {
        if (memcmp(&got[i], &expected[i], sizeof(float)) != 0) {
            uint32_t g, e;
            memcpy(&g, &got[i], sizeof g);
            memcpy(&e, &expected[i], sizeof e);
            print_error("element %zu of %zu differs: got %.9g (0x%08x), expected %.9g (0x%08x)\n",
                        i, count, (double)got[i], (unsigned)g, (double)expected[i], (unsigned)e);
            _fail(file, line);
        }
    }
}

void ts_check_floats_near(const float *got, const double *expected, size_t count, double atol,
                          double rtol, const char *file, int line) {
    size_t worst = 0, bad = 0;
    double worst_excess = 0.0;
    for (size_t i = 0; i < count; i++) {
        double diff = fabs((double)got[i] - expected[i]);
        double allowed = atol + rtol * fabs(expected[i]);
        if (!(diff <= allowed)) {
            double excess = isnan(diff) ? INFINITY : diff - allowed;
            if (bad == 0 || excess > worst_excess) {
                worst = i;
                worst_excess = excess;
            }
            bad++;
        }
    }
    if (bad > 0) {
        print_error("%zu of %zu elements outside atol %g + rtol %g; worst: element %zu got %.9g "
                    "expected %.9g\n",
                    bad, count, atol, rtol, worst, (double)got[worst], expected[worst]);
        _fail(file, line);
    }
}

/* ------------------------------------------------------------------- tensors */

clcnn_tensor *ts_tensor_create(clcnn_context *ctx, size_t ndim, const size_t *dims,
                               const float *data) {
    clcnn_tensor *tensor = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, ndim, dims, &tensor));
    if (data != NULL)
        TS_ASSERT_OK(ctx, clcnn_tensor_write(tensor, 0, data, clcnn_tensor_numel(tensor)));
    return tensor;
}

clcnn_tensor *ts_vector_create(clcnn_context *ctx, size_t n, const float *data) {
    return ts_tensor_create(ctx, 1, &n, data);
}

clcnn_tensor *ts_tensor_filled(clcnn_context *ctx, size_t ndim, const size_t *dims, float value) {
    clcnn_tensor *tensor = ts_tensor_create(ctx, ndim, dims, NULL);
    size_t count = clcnn_tensor_numel(tensor);
    float *values = ts_malloc(count * sizeof *values);
    for (size_t i = 0; i < count; i++)
        values[i] = value;
    TS_ASSERT_OK(ctx, clcnn_tensor_write(tensor, 0, values, count));
    free(values);
    return tensor;
}

float *ts_tensor_read_all(const clcnn_tensor *tensor) {
    size_t count = clcnn_tensor_numel(tensor);
    float *data = ts_malloc(count * sizeof *data);
    TS_ASSERT_OK(clcnn_tensor_context(tensor), clcnn_tensor_read(tensor, 0, data, count));
    return data;
}

/* ------------------------------------------------------------------- kernels */

void ts_check_copy_float4(clcnn_context *ctx, const char *options, size_t count4) {
    const size_t spare4 = 16; /* float4s past the end that must stay untouched */
    const float sentinel = -12345.5f;
    size_t count = count4 * 4, dst_count = (count4 + spare4) * 4;
    float *input = ts_malloc(count * sizeof *input);
    float *expected = ts_malloc(dst_count * sizeof *expected);
    float *output = ts_malloc(dst_count * sizeof *output);
    ts_fill_random(input, count, (uint32_t)(count4 * 2654435761u + 1u), -100.0f, 100.0f);
    memcpy(expected, input, count * sizeof *input);
    for (size_t i = count; i < dst_count; i++)
        expected[i] = sentinel;

    clcnn_tensor *src = NULL, *dst = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &count, &src));
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &dst_count, &dst));
    TS_ASSERT_OK(ctx, clcnn_tensor_write(src, 0, input, count));
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(dst, sentinel));

    clcnn_kernel *kernel = ts_builtin_kernel(ctx, "util.cl", options, "copy_float4");
    TS_ASSERT_OK(ctx, clcnn_kernel_set_tensor(kernel, 0, src));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_tensor(kernel, 1, dst));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, 2, (uint32_t)count4));

    /* Local size 64 where the kernel and device allow it; the global size is
     * rounded up, so the kernel's own bound check is exercised. */
    size_t kernel_wg = 0;
    TS_ASSERT_OK(ctx, clcnn_kernel_work_group_limit(kernel, &kernel_wg));
    size_t local = 64;
    size_t global = clcnn__round_up(count4, local);
    int use_local = kernel_wg >= local;
    TS_ASSERT_OK(ctx, clcnn_kernel_launch(kernel, 1, &global, use_local ? &local : NULL));
    clcnn_kernel_destroy(kernel);
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));

    TS_ASSERT_OK(ctx, clcnn_tensor_read(dst, 0, output, dst_count));
    TS_ASSERT_FLOATS_IDENTICAL(output, expected, dst_count);

    clcnn_tensor_destroy(src);
    clcnn_tensor_destroy(dst);
    free(input);
    free(expected);
    free(output);
}

clcnn_kernel *ts_builtin_kernel(clcnn_context *ctx, const char *program, const char *options,
                                const char *name) {
    clcnn_kernel *kernel = NULL;
    TS_ASSERT_OK(ctx, clcnn_kernel_create_builtin(ctx, program, options, name, &kernel));
    assert_non_null(kernel);
    return kernel;
}

void ts_kernel_set_philox_stream(clcnn_context *ctx, clcnn_kernel *kernel, size_t first,
                                 uint64_t seed, uint64_t offset) {
    const uint32_t words[4] = {(uint32_t)seed, (uint32_t)(seed >> 32), (uint32_t)offset,
                               (uint32_t)(offset >> 32)};
    for (size_t i = 0; i < 4; i++)
        TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, first + i, words[i]));
}

char *ts_data_path(const char *relative) {
    /* CLCNN_TEST_DATA_DIR: a build tree run from another place than it was
     * built in (ci/gpu-check.sh on a machine the build was carried to). */
    const char *moved = getenv("CLCNN_TEST_DATA_DIR");
    const char *root =
        moved != NULL && moved[0] != '\0' ? moved : CLCNN_TEST_SOURCE_DIR "/tests/data";
    size_t length = strlen(root) + strlen(relative) + 2;
    char *path = ts_malloc(length);
    snprintf(path, length, "%s/%s", root, relative);
    return path;
}

/* Whether the device a default context would get is Oclgrind's; looked up
 * once (device enumeration is slow under a simulator). */
static int default_device_is_oclgrind(void) {
    static int known = -1;
    if (known < 0) {
        clcnn_device_list *list = NULL;
        clcnn_device_info info;
        size_t index = 0;
        known = 0;
        if (clcnn_device_list_create(&list) == CLCNN_OK &&
            clcnn_device_list_select(list, getenv("CLCNN_DEVICE"), NULL, 0, &index) == CLCNN_OK &&
            clcnn_device_list_get(list, index, &info) == CLCNN_OK)
            known = info_is_oclgrind(&info);
        clcnn_device_list_destroy(list);
    }
    return known;
}

int ts_small(void) {
    const char *small = getenv("CLCNN_TEST_SMALL");
    if (small != NULL && small[0] != '\0' && strcmp(small, "0") != 0)
        return 1;
    return default_device_is_oclgrind();
}

/* ------------------------------------------------------------- golden files */

/* Next whitespace-separated token, skipping '#' comments; 0 at the end. */
static int golden_token(FILE *file, char *token, size_t size) {
    int ch;
    for (;;) {
        ch = fgetc(file);
        if (ch == EOF)
            return 0;
        if (ch == '#') {
            while (ch != EOF && ch != '\n')
                ch = fgetc(file);
            continue;
        }
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
            break;
    }
    size_t used = 0;
    while (ch != EOF && ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r' && ch != '#') {
        if (used + 1 < size)
            token[used++] = (char)ch;
        ch = fgetc(file);
    }
    if (ch == '#')
        ungetc(ch, file);
    token[used] = '\0';
    return 1;
}

static FILE *golden_open(const char *file, char **path) {
    size_t size = strlen("golden/") + strlen(file) + 1;
    char *relative = ts_malloc(size);
    snprintf(relative, size, "golden/%s", file);
    *path = ts_data_path(relative);
    free(relative);
    FILE *in = fopen(*path, "r");
    if (in == NULL) {
        print_error("cannot open golden file %s: %s\n", *path, strerror(errno));
        free(*path);
        fail();
    }
    return in;
}

double *ts_golden_tensor(const char *file, const char *name, size_t *count) {
    char *path = NULL;
    FILE *in = golden_open(file, &path);
    char token[256];
    double *result = NULL;
    while (result == NULL && golden_token(in, token, sizeof token)) {
        if (strcmp(token, "tensor") != 0)
            continue;
        char tensor_name[256], dtype[16], text[64];
        if (!golden_token(in, tensor_name, sizeof tensor_name) ||
            !golden_token(in, dtype, sizeof dtype) || !golden_token(in, text, sizeof text))
            break;
        long ndim = strtol(text, NULL, 10);
        size_t total = 1;
        for (long d = 0; d < ndim; d++) {
            if (!golden_token(in, text, sizeof text))
                break;
            total *= (size_t)strtoul(text, NULL, 10);
        }
        int wanted = strcmp(tensor_name, name) == 0;
        double *values = wanted ? ts_malloc(total * sizeof *values) : NULL;
        size_t got = 0;
        for (; got < total && golden_token(in, text, sizeof text); got++)
            if (values != NULL)
                values[got] = strtod(text, NULL);
        if (wanted) {
            if (got == total) {
                result = values;
                *count = total;
            } else {
                free(values);
            }
            break;
        }
    }
    fclose(in);
    if (result == NULL) {
        print_error("golden tensor '%s' not found (or cut short) in %s\n", name, path);
        free(path);
        fail();
    }
    free(path);
    return result;
}

double *ts_golden_tensor_sized(const char *file, const char *name, size_t expected_count) {
    size_t count = 0;
    double *values = ts_golden_tensor(file, name, &count);
    if (count != expected_count) {
        print_error("golden tensor '%s' of %s holds %zu values, expected %zu\n", name, file, count,
                    expected_count);
        free(values);
        fail();
    }
    return values;
}

double ts_golden_param(const char *file, const char *name) {
    char *path = NULL;
    FILE *in = golden_open(file, &path);
    char token[256];
    int found = 0;
    double value = 0.0;
    while (!found && golden_token(in, token, sizeof token)) {
        if (strcmp(token, "param") != 0)
            continue;
        char key[256], text[256];
        if (!golden_token(in, key, sizeof key) || !golden_token(in, text, sizeof text))
            break;
        if (strcmp(key, name) == 0) {
            value = strtod(text, NULL);
            found = 1;
        }
    }
    fclose(in);
    if (!found) {
        print_error("golden parameter '%s' not found in %s\n", name, path);
        free(path);
        fail();
    }
    free(path);
    return value;
}

typedef struct golden_entry {
    char name[160];
    size_t count;
    double *values;
} golden_entry;

struct ts_golden_file {
    char *path;
    golden_entry *entries;
    size_t count, capacity;
};

/* Reads the tensor whose "tensor" token was just read into a new entry;
 * 0 when the file ends or fails first. */
static int golden_read_entry(FILE *in, ts_golden_file *file) {
    if (file->count == file->capacity) {
        size_t capacity = file->capacity ? 2 * file->capacity : 64;
        golden_entry *grown = realloc(file->entries, capacity * sizeof *grown);
        if (grown == NULL)
            return 0;
        file->entries = grown;
        file->capacity = capacity;
    }
    golden_entry *entry = &file->entries[file->count];
    char dtype[16], text[64];
    int ok = golden_token(in, entry->name, sizeof entry->name) &&
             golden_token(in, dtype, sizeof dtype) && golden_token(in, text, sizeof text);
    long ndim = ok ? strtol(text, NULL, 10) : 0;
    entry->count = 1;
    for (long d = 0; ok && d < ndim; d++) {
        ok = golden_token(in, text, sizeof text);
        entry->count *= (size_t)strtoul(text, NULL, 10);
    }
    entry->values = ok ? malloc(entry->count * sizeof *entry->values) : NULL;
    ok = ok && entry->values != NULL;
    for (size_t i = 0; ok && i < entry->count; i++) {
        ok = golden_token(in, text, sizeof text);
        entry->values[i] = strtod(text, NULL);
    }
    if (ok)
        file->count++;
    else
        free(entry->values);
    return ok;
}

ts_golden_file *ts_golden_file_load(const char *path) {
    FILE *in = fopen(path, "r");
    if (in == NULL) {
        print_error("cannot open golden file %s\n", path);
        return NULL;
    }
    ts_golden_file *file = ts_malloc(sizeof *file);
    memset(file, 0, sizeof *file);
    file->path = ts_malloc(strlen(path) + 1);
    strcpy(file->path, path);
    char token[256];
    int ok = 1;
    while (ok && golden_token(in, token, sizeof token))
        if (strcmp(token, "tensor") == 0)
            ok = golden_read_entry(in, file);
    fclose(in);
    if (!ok) {
        print_error("%s is cut short or unreadable after %zu tensors\n", path, file->count);
        ts_golden_file_free(file);
        return NULL;
    }
    return file;
}

void ts_golden_file_free(ts_golden_file *file) {
    if (file == NULL)
        return;
    for (size_t i = 0; i < file->count; i++)
        free(file->entries[i].values);
    free(file->entries);
    free(file->path);
    free(file);
}

const double *ts_golden_file_tensor(const ts_golden_file *file, const char *name, size_t count) {
    for (size_t i = 0; i < file->count; i++) {
        const golden_entry *entry = &file->entries[i];
        if (strcmp(entry->name, name) != 0)
            continue;
        if (entry->count != count) {
            print_error("golden %s holds %zu values, expected %zu\n", name, entry->count, count);
            fail();
        }
        return entry->values;
    }
    print_error("golden tensor %s missing from %s\n", name, file->path);
    fail();
    return NULL;
}
