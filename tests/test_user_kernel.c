/* User kernels (include/clcnn/kernel.h): a kernel of the test's own source
 * that includes an embedded header (Philox words against the host
 * reference), every argument setter, kept arguments over several launches,
 * embedded programs, bad indices, values and work sizes, a work-group the
 * kernel cannot take, the launch's event, the disk cache on a second
 * context, the kernel profile's counts, and the device traits. Small
 * sizes: also runs under Oclgrind. The failures that the driver reports
 * are in test_user_kernel_errors.c. */
#include <stdlib.h>
#include <string.h>

#include "clcnn.h"
#include "clcnn/opencl.h"
#include "ref/philox_ref.h"
#include "support/test_support.h"

#define GROUP 16 /* work-items per group of the Philox kernel */
#define WORDS 53 /* not a multiple of GROUP or of 4 (words per block) */
#define SENTINEL -3.25f

/* Every setter's type: Philox words of stream (seed, offset) through local
 * memory into `out` (a float tensor's bits), and each word's top 24 bits
 * times `scale` into `scaled`, for the first `count` work-items (negative:
 * none). */
static const char philox_source[] =
    "#include \"philox.h\"\n"
    "__kernel void user_philox(__global uint *out, ulong seed, uint offset, int count,\n"
    "                          float scale, __global float *scaled, __local uint *scratch) {\n"
    "    int i = (int)get_global_id(0);\n"
    "    uint2 key = (uint2)((uint)seed, (uint)(seed >> 32));\n"
    "    scratch[get_local_id(0)] = philox_stream_word((ulong)i, key, offset, 0u);\n"
    "    barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    if (i < count) {\n"
    "        uint word = scratch[get_local_id(0)];\n"
    "        out[i] = word;\n"
    "        scaled[i] = scale * (float)(word >> 8);\n"
    "    }\n"
    "}\n";

/* x[i] += value for i < count. */
static const char add_source[] =
    "__kernel void user_add(__global float *x, float value, uint count) {\n"
    "    uint i = get_global_id(0);\n"
    "    if (i < count)\n"
    "        x[i] += value;\n"
    "}\n";

static clcnn_kernel *create(clcnn_context *ctx, const char *source, const char *name) {
    clcnn_kernel *kernel = NULL;
    TS_ASSERT_OK(ctx, clcnn_kernel_create(ctx, source, NULL, name, &kernel));
    assert_non_null(kernel);
    return kernel;
}

static float *read_all(const clcnn_tensor *t) {
    return ts_tensor_read_all(t);
}

/* Runs user_philox once with (seed, offset, count, scale) and checks both
 * outputs against the host reference; elements at or past count keep the
 * sentinel. */
static void check_philox(clcnn_context *ctx, clcnn_kernel *kernel, clcnn_tensor *words,
                         clcnn_tensor *scaled, uint64_t seed, uint32_t offset, int32_t count,
                         float scale) {
    const size_t global = (WORDS + GROUP - 1) / GROUP * GROUP, local = GROUP;
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(words, SENTINEL));
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(scaled, SENTINEL));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_ulong(kernel, 1, seed));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, 2, offset));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_int(kernel, 3, count));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_float(kernel, 4, scale));
    TS_ASSERT_OK(ctx, clcnn_kernel_launch(kernel, 1, &global, &local));
    float *got_words = read_all(words), *got_scaled = read_all(scaled);
    for (size_t i = 0; i < WORDS; i++) {
        if ((int64_t)i >= count) {
            assert_float_equal(got_words[i], SENTINEL, 0.0f);
            assert_float_equal(got_scaled[i], SENTINEL, 0.0f);
            continue;
        }
        uint32_t word = 0, want = philox_ref_stream_word(seed, offset, i);
        memcpy(&word, &got_words[i], sizeof word);
        if (word != want)
            fail_msg("word %zu of stream (%llu, %u): 0x%08x, expected 0x%08x", i,
                     (unsigned long long)seed, (unsigned)offset, (unsigned)word, (unsigned)want);
        assert_float_equal(got_scaled[i], scale * (float)(want >> 8), 0.0f);
    }
    free(got_words);
    free(got_scaled);
}

/* A source with `#include "philox.h"` builds and matches the host
 * reference, with each setter's type: a tensor, a raw buffer, ulong, uint,
 * int (negative too), float and local memory. */
static void test_source_with_embedded_header(void **state) {
    clcnn_context *ctx = *state;
    clcnn_kernel *kernel = create(ctx, philox_source, "user_philox");
    size_t n = WORDS;
    clcnn_tensor *words = ts_vector_create(ctx, n, NULL);
    clcnn_tensor *scaled = ts_vector_create(ctx, n, NULL);
    TS_ASSERT_OK(ctx, clcnn_kernel_set_tensor(kernel, 0, words));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_mem(kernel, 5, clcnn_tensor_cl_mem(scaled)));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_local(kernel, 6, GROUP * sizeof(uint32_t)));
    /* A seed whose high word matters, an offset, every word. */
    check_philox(ctx, kernel, words, scaled, 0x123456789abcdef0ull, 7u, WORDS, 0.5f);
    /* A few words only; then a negative count writes none. */
    check_philox(ctx, kernel, words, scaled, 42u, 0xfffffff0u, 9, -2.0f);
    check_philox(ctx, kernel, words, scaled, 42u, 1u, -1, 1.0f);
    clcnn_tensor_destroy(words);
    clcnn_tensor_destroy(scaled);
    clcnn_kernel_destroy(kernel);
}

/* Arguments set once hold for every later launch; setting one again
 * changes only it. */
static void test_kept_arguments(void **state) {
    clcnn_context *ctx = *state;
    clcnn_kernel *kernel = create(ctx, add_source, "user_add");
    const size_t n = 37, global = 64;
    clcnn_tensor *x = ts_tensor_filled(ctx, 1, &n, 1.0f);
    TS_ASSERT_OK(ctx, clcnn_kernel_set_tensor(kernel, 0, x));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_float(kernel, 1, 0.25f));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, 2, (uint32_t)n));
    for (int i = 0; i < 3; i++)
        TS_ASSERT_OK(ctx, clcnn_kernel_launch(kernel, 1, &global, NULL));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_float(kernel, 1, 2.0f));
    TS_ASSERT_OK(ctx, clcnn_kernel_launch(kernel, 1, &global, NULL));
    float *got = read_all(x);
    for (size_t i = 0; i < n; i++)
        assert_float_equal(got[i], 1.0f + 3 * 0.25f + 2.0f, 0.0f);
    free(got);
    clcnn_tensor_destroy(x);
    clcnn_kernel_destroy(kernel);
}

/* An embedded program's kernel (util.cl's copy_float4), with the
 * library's own program. */
static void test_builtin(void **state) {
    clcnn_context *ctx = *state;
    clcnn_kernel *kernel = NULL;
    TS_ASSERT_OK(ctx, clcnn_kernel_create_builtin(ctx, "util.cl", NULL, "copy_float4", &kernel));
    const size_t count4 = 10, n = 4 * count4, room = n + 8, global = 32;
    float *data = ts_random_floats(n, 3, -5.0f, 5.0f);
    clcnn_tensor *src = ts_vector_create(ctx, n, data);
    clcnn_tensor *dst = ts_tensor_filled(ctx, 1, &room, SENTINEL);
    TS_ASSERT_OK(ctx, clcnn_kernel_set_tensor(kernel, 0, src));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_tensor(kernel, 1, dst));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, 2, (uint32_t)count4));
    TS_ASSERT_OK(ctx, clcnn_kernel_launch(kernel, 1, &global, NULL));
    float *got = read_all(dst);
    TS_ASSERT_FLOATS_IDENTICAL(got, data, n);
    for (size_t i = n; i < room; i++)
        assert_float_equal(got[i], SENTINEL, 0.0f);
    free(got);
    free(data);
    clcnn_tensor_destroy(src);
    clcnn_tensor_destroy(dst);
    clcnn_kernel_destroy(kernel);
}

/* Setters refuse an index past the kernel's arguments and bad values,
 * leaving the argument as it was; a launch refuses an argument never set
 * and bad work sizes. */
static void test_bad_arguments(void **state) {
    clcnn_context *ctx = *state;
    clcnn_kernel *kernel = create(ctx, add_source, "user_add");
    const size_t n = 8, global = 8;
    clcnn_tensor *x = ts_tensor_filled(ctx, 1, &n, 0.0f);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_kernel_set_float(kernel, 3, 1.0f));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "clcnn_kernel_set_float: argument 3");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "takes 3 arguments");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_kernel_set_tensor(kernel, 99, x));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_kernel_set_mem(kernel, 3, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_kernel_set_tensor(kernel, 0, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_kernel_set_local(kernel, 0, 0));

    clcnn_context *other = ts_context_create();
    clcnn_tensor *foreign = ts_tensor_filled(other, 1, &n, 0.0f);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_kernel_set_tensor(kernel, 0, foreign));
    clcnn_tensor_destroy(foreign);
    clcnn_context_destroy(other);

    TS_ASSERT_OK(ctx, clcnn_kernel_set_tensor(kernel, 0, x));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, 2, (uint32_t)n));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_kernel_launch(kernel, 1, &global, NULL));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "clcnn_kernel_launch: ");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "argument 1 was never set");

    TS_ASSERT_OK(ctx, clcnn_kernel_set_float(kernel, 1, 1.0f));
    const size_t three[3] = {8, 1, 1}, odd_local = 3;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_kernel_launch(kernel, 0, three, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_kernel_launch(kernel, 4, three, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_kernel_launch(kernel, 1, NULL, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_kernel_launch(kernel, 1, &global, &odd_local));
    /* None of the refused launches ran; a good one runs once. */
    TS_ASSERT_OK(ctx, clcnn_kernel_launch(kernel, 3, three, NULL));
    float *got = read_all(x);
    for (size_t i = 0; i < n; i++)
        assert_float_equal(got[i], 1.0f, 0.0f);
    free(got);
    clcnn_tensor_destroy(x);
    clcnn_kernel_destroy(kernel);
}

/* A work-group past the compiled kernel's limit is UNSUPPORTED and runs
 * nothing; one at the limit runs. */
static void test_work_group_too_large(void **state) {
    clcnn_context *ctx = *state;
    clcnn_kernel *kernel = create(ctx, add_source, "user_add");
    size_t limit = 0;
    TS_ASSERT_OK(ctx, clcnn_kernel_work_group_limit(kernel, &limit));
    assert_true(limit >= 1 && limit <= ts_device_info(ctx).max_work_group_size);
    size_t too_many = 2 * limit, n = too_many;
    clcnn_tensor *x = ts_tensor_filled(ctx, 1, &n, 0.0f);
    TS_ASSERT_OK(ctx, clcnn_kernel_set_tensor(kernel, 0, x));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_float(kernel, 1, 1.0f));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, 2, (uint32_t)n));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_UNSUPPORTED,
                     clcnn_kernel_launch(kernel, 1, &too_many, &too_many));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "clcnn_kernel_launch: ");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "user_add");
    TS_ASSERT_OK(ctx, clcnn_kernel_launch(kernel, 1, &too_many, &limit));
    float *got = read_all(x);
    for (size_t i = 0; i < n; i++)
        assert_float_equal(got[i], 1.0f, 0.0f);
    free(got);
    clcnn_tensor_destroy(x);
    clcnn_kernel_destroy(kernel);
}

/* The launch's event completes with the kernel; nothing enqueued gives no
 * event. */
static void test_launch_event(void **state) {
    clcnn_context *ctx = *state;
    clcnn_kernel *kernel = create(ctx, add_source, "user_add");
    const size_t n = 5, global = 8, none = 0;
    clcnn_tensor *x = ts_tensor_filled(ctx, 1, &n, 2.0f);
    TS_ASSERT_OK(ctx, clcnn_kernel_set_tensor(kernel, 0, x));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_float(kernel, 1, 3.0f));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, 2, (uint32_t)n));
    cl_event event = NULL;
    TS_ASSERT_OK(ctx, clcnn_kernel_launch_cl_event(kernel, 1, &global, NULL, &event));
    assert_non_null(event);
    assert_int_equal(clWaitForEvents(1, &event), CL_SUCCESS);
    cl_int done = 0;
    assert_int_equal(
        clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof done, &done, NULL),
        CL_SUCCESS);
    assert_int_equal(done, CL_COMPLETE);
    clReleaseEvent(event);
    TS_ASSERT_OK(ctx, clcnn_kernel_launch_cl_event(kernel, 1, &none, NULL, &event));
    assert_null(event);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_kernel_launch_cl_event(kernel, 1, &global, NULL, NULL));
    float *got = read_all(x);
    for (size_t i = 0; i < n; i++)
        assert_float_equal(got[i], 5.0f, 0.0f);
    free(got);
    clcnn_tensor_destroy(x);
    clcnn_kernel_destroy(kernel);
}

/* A second context on the same cache directory loads the program the first
 * one built; the kernel it makes works. */
static void test_disk_cache_on_second_context(void **state) {
    (void)state;
    char *dir = ts_temp_dir_create();
    clcnn_context_options options = clcnn_context_options_default();
    options.cache_dir = dir;
    options.disk_cache = CLCNN_CACHE_ON;
    clcnn_cache_stats before, after;

    clcnn_context *first = ts_context_create_with(&options);
    TS_ASSERT_OK(first, clcnn_context_cache_stats(first, &before));
    clcnn_kernel_destroy(create(first, add_source, "user_add"));
    TS_ASSERT_OK(first, clcnn_context_cache_stats(first, &after));
    assert_int_equal(after.builds, before.builds + 1);
    assert_int_equal(after.disk_hits, before.disk_hits);
    clcnn_context_destroy(first);
    if (after.disk_write_failures > 0)
        fail_msg("the binary was not stored: %s", after.write_failure_reason);

    clcnn_context *second = ts_context_create_with(&options);
    TS_ASSERT_OK(second, clcnn_context_cache_stats(second, &before));
    clcnn_kernel *kernel = create(second, add_source, "user_add");
    TS_ASSERT_OK(second, clcnn_context_cache_stats(second, &after));
    assert_int_equal(after.builds, before.builds);
    assert_int_equal(after.disk_hits, before.disk_hits + 1);
    const size_t n = 3, global = 3;
    clcnn_tensor *x = ts_tensor_filled(second, 1, &n, 1.0f);
    TS_ASSERT_OK(second, clcnn_kernel_set_tensor(kernel, 0, x));
    TS_ASSERT_OK(second, clcnn_kernel_set_float(kernel, 1, 0.5f));
    TS_ASSERT_OK(second, clcnn_kernel_set_uint(kernel, 2, (uint32_t)n));
    TS_ASSERT_OK(second, clcnn_kernel_launch(kernel, 1, &global, NULL));
    float *got = read_all(x);
    for (size_t i = 0; i < n; i++)
        assert_float_equal(got[i], 1.5f, 0.0f);
    free(got);
    clcnn_tensor_destroy(x);
    clcnn_kernel_destroy(kernel);
    clcnn_context_destroy(second);
    ts_temp_dir_remove(dir);
}

/* A running profile counts and times user launches under the kernel's
 * name, like the library's own. */
static void test_profile_counts_launches(void **state) {
    (void)state;
    clcnn_context_options options = clcnn_context_options_default();
    options.enable_profiling = 1;
    clcnn_context *ctx = ts_context_create_with(&options);
    clcnn_kernel *kernel = create(ctx, add_source, "user_add");
    const size_t n = 16, global = 16;
    clcnn_tensor *x = ts_tensor_filled(ctx, 1, &n, 0.0f);
    TS_ASSERT_OK(ctx, clcnn_kernel_set_tensor(kernel, 0, x));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_float(kernel, 1, 1.0f));
    TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, 2, (uint32_t)n));
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
    TS_ASSERT_OK(ctx, clcnn_context_profile_start(ctx));
    for (int i = 0; i < 4; i++)
        TS_ASSERT_OK(ctx, clcnn_kernel_launch(kernel, 1, &global, NULL));
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(x, 0.0f));
    clcnn_profile *profile = NULL;
    TS_ASSERT_OK(ctx, clcnn_context_profile_stop(ctx, &profile));
    clcnn_profile_entry entry;
    TS_ASSERT_OK(NULL, clcnn_profile_find(profile, "user_add", &entry));
    assert_int_equal(entry.launches, 4);
    assert_int_equal(entry.timed_launches, 4);
    clcnn_profile_totals totals;
    TS_ASSERT_OK(NULL, clcnn_profile_totals_get(profile, &totals));
    assert_int_equal(totals.launches, 5); /* and the fill */
    clcnn_profile_destroy(profile);
    clcnn_tensor_destroy(x);
    clcnn_kernel_destroy(kernel);
    clcnn_context_destroy(ctx);
}

/* The traits are those the library's own kernels follow, and the kernel
 * class follows the context's option. */
static void test_device_traits(void **state) {
    clcnn_context *ctx = *state;
    clcnn_device_traits traits;
    TS_ASSERT_OK(ctx, clcnn_context_device_traits(ctx, &traits));
    assert_int_equal(traits.kernel_class, ctx->traits.kernel_class);
    assert_int_equal(traits.loop_trip_limit, ctx->traits.loop_trip_limit);
    assert_int_equal(traits.widest_vector, ctx->traits.widest_vector);
    assert_true(traits.widest_vector >= 1 && traits.loop_trip_limit >= 1);
    const char *classes[2] = {"gpu", "cpu"};
    const clcnn_device_type types[2] = {CLCNN_DEVICE_TYPE_GPU, CLCNN_DEVICE_TYPE_CPU};
    for (size_t i = 0; i < 2; i++) {
        clcnn_context_options options = clcnn_context_options_default();
        options.device_class = classes[i];
        clcnn_context *other = ts_context_create_with(&options);
        TS_ASSERT_OK(other, clcnn_context_device_traits(other, &traits));
        assert_int_equal(traits.kernel_class, types[i]);
        clcnn_context_destroy(other);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_source_with_embedded_header),
        cmocka_unit_test(test_kept_arguments),
        cmocka_unit_test(test_builtin),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_work_group_too_large),
        cmocka_unit_test(test_launch_event),
        cmocka_unit_test(test_disk_cache_on_second_context),
        cmocka_unit_test(test_profile_counts_launches),
        cmocka_unit_test(test_device_traits),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
