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

    cl_kernel kernel = NULL;
    TS_ASSERT_OK(ctx, clcnn__kernel_get(ctx, "util.cl", options, "copy_float4", &kernel));
    assert_non_null(kernel);
    cl_mem src_mem = clcnn_tensor_cl_mem(src), dst_mem = clcnn_tensor_cl_mem(dst);
    cl_uint count4_arg = (cl_uint)count4;
    assert_int_equal(clSetKernelArg(kernel, 0, sizeof src_mem, &src_mem), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(kernel, 1, sizeof dst_mem, &dst_mem), CL_SUCCESS);
    assert_int_equal(clSetKernelArg(kernel, 2, sizeof count4_arg, &count4_arg), CL_SUCCESS);

    /* Local size 64 where the kernel and device allow it; the global size is
     * rounded up, so the kernel's own bound check is exercised. */
    size_t kernel_wg = 0;
    assert_int_equal(clGetKernelWorkGroupInfo(kernel, clcnn_context_cl_device(ctx),
                                              CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_wg,
                                              &kernel_wg, NULL),
                     CL_SUCCESS);
    size_t local = 64;
    size_t global = clcnn__round_up(count4, local);
    int use_local = kernel_wg >= local && ts_device_info(ctx).max_work_group_size >= local;
    TS_ASSERT_OK(ctx, clcnn__enqueue_kernel(ctx, kernel, 1, &global, use_local ? &local : NULL));
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));

    TS_ASSERT_OK(ctx, clcnn_tensor_read(dst, 0, output, dst_count));
    TS_ASSERT_FLOATS_IDENTICAL(output, expected, dst_count);

    clcnn_tensor_destroy(src);
    clcnn_tensor_destroy(dst);
    free(input);
    free(expected);
    free(output);
}

char *ts_shared_path(const char *relative) {
    const char *root = getenv("CLCNN_SHARED_DIR");
    if (root == NULL || root[0] == '\0')
        root = CLCNN_TEST_SHARED_DIR;
    size_t length = strlen(root) + strlen(relative) + 2;
    char *path = ts_malloc(length);
    snprintf(path, length, "%s/%s", root, relative);
    return path;
}

int ts_small(void) {
    const char *small = getenv("CLCNN_TEST_SMALL");
    return small != NULL && small[0] != '\0' && strcmp(small, "0") != 0;
}
