/* Tensors: creation and shapes, host transfers, fill and copy, views, the
 * errors of each, asynchronous reads and the buffer pool. Sizes come from the
 * device's own facts, so this also runs under Oclgrind. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"

static int setup(void **state) {
    clcnn_context *ctx = NULL;
    if (clcnn_context_create(NULL, &ctx) != CLCNN_OK)
        return -1;
    *state = ctx;
    return 0;
}

static int teardown(void **state) {
    clcnn_context_destroy(*state);
    return 0;
}

static clcnn_memory_stats memory_stats(clcnn_context *ctx) {
    clcnn_memory_stats stats;
    TS_ASSERT_OK(ctx, clcnn_context_memory_stats(ctx, &stats));
    return stats;
}

/* Reads the whole tensor into a malloc'ed array. */
static float *read_all(clcnn_tensor *tensor) {
    size_t n = clcnn_tensor_numel(tensor);
    float *data = ts_malloc(n * sizeof *data);
    TS_ASSERT_OK(clcnn_tensor_context(tensor), clcnn_tensor_read(tensor, 0, data, n));
    return data;
}

static void assert_all_equal(const float *data, size_t n, float value) {
    float *expected = ts_malloc(n * sizeof *expected);
    for (size_t i = 0; i < n; i++)
        expected[i] = value;
    TS_ASSERT_FLOATS_IDENTICAL(data, expected, n);
    free(expected);
}

static void test_create_shapes(void **state) {
    clcnn_context *ctx = *state;
    const size_t dims[CLCNN_MAX_DIMS] = {3, 5, 2, 7};
    size_t numel = 1;
    for (size_t ndim = 1; ndim <= CLCNN_MAX_DIMS; ndim++) {
        numel *= dims[ndim - 1];
        clcnn_tensor *tensor = NULL;
        TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, ndim, dims, &tensor));
        assert_non_null(tensor);
        assert_ptr_equal(clcnn_tensor_context(tensor), ctx);
        assert_int_equal(clcnn_tensor_ndim(tensor), ndim);
        assert_int_equal(clcnn_tensor_numel(tensor), numel);
        for (size_t axis = 0; axis < ndim; axis++)
            assert_int_equal(clcnn_tensor_dim(tensor, axis), dims[axis]);
        assert_int_equal(clcnn_tensor_dim(tensor, ndim), 0);
        assert_int_equal(clcnn_tensor_dim(tensor, 100), 0);
        assert_non_null(clcnn_tensor_cl_mem(tensor));
        float *data = read_all(tensor);
        assert_all_equal(data, numel, 0.0f);
        free(data);
        clcnn_tensor_destroy(tensor);
    }
    clcnn_tensor_destroy(NULL);
}

/* A buffer reused from the pool is zeroed again. */
static void test_create_zeroes_reused_buffer(void **state) {
    clcnn_context *ctx = *state;
    size_t n = 1000;
    clcnn_tensor *tensor = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &n, &tensor));
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(tensor, 7.0f));
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
    clcnn_tensor_destroy(tensor);
    uint64_t allocations = memory_stats(ctx).buffer_allocations;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &n, &tensor));
    assert_int_equal(memory_stats(ctx).buffer_allocations, allocations);
    float *data = read_all(tensor);
    assert_all_equal(data, n, 0.0f);
    free(data);
    clcnn_tensor_destroy(tensor);
}

/* No fill: a reused buffer still holds the last tensor's values, and the
 * shape checks are those of clcnn_tensor_create. */
static void test_create_uninitialized(void **state) {
    clcnn_context *ctx = *state;
    size_t n = 1000;
    clcnn_tensor *tensor = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &n, &tensor));
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(tensor, 7.0f));
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
    clcnn_tensor_destroy(tensor);
    uint64_t allocations = memory_stats(ctx).buffer_allocations;
    TS_ASSERT_OK(ctx, clcnn_tensor_create_uninitialized(ctx, 1, &n, &tensor));
    assert_int_equal(memory_stats(ctx).buffer_allocations, allocations);
    float *data = read_all(tensor);
    assert_all_equal(data, n, 7.0f);
    free(data);
    clcnn_tensor_destroy(tensor);
    size_t zero[2] = {4, 0};
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_tensor_create_uninitialized(ctx, 2, zero, &tensor));
    assert_null(tensor);
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "clcnn_tensor_create_uninitialized");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_tensor_create_uninitialized(ctx, 1, &n, NULL));
}

static void test_write_read_round_trip(void **state) {
    clcnn_context *ctx = *state;
    size_t dims[3] = {3, 17, 19};
    size_t n = 3 * 17 * 19;
    clcnn_tensor *tensor = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 3, dims, &tensor));
    float *input = ts_malloc(n * sizeof *input);
    ts_fill_random(input, n, 42, -1000.0f, 1000.0f);
    input[0] = -0.0f;
    input[1] = INFINITY;
    input[2] = -INFINITY;
    input[3] = 1e-40f; /* subnormal */
    TS_ASSERT_OK(ctx, clcnn_tensor_write(tensor, 0, input, n));
    float *output = read_all(tensor);
    TS_ASSERT_FLOATS_IDENTICAL(output, input, n);
    free(output);
    free(input);
    clcnn_tensor_destroy(tensor);
}

static void test_offsets(void **state) {
    clcnn_context *ctx = *state;
    size_t n = 100;
    clcnn_tensor *tensor = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &n, &tensor));
    float part[10], expected[100], got[100];
    ts_fill_random(part, 10, 7, 1.0f, 2.0f);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(tensor, 37, part, 10));
    memset(expected, 0, sizeof expected);
    memcpy(expected + 37, part, sizeof part);
    TS_ASSERT_OK(ctx, clcnn_tensor_read(tensor, 0, got, n));
    TS_ASSERT_FLOATS_IDENTICAL(got, expected, n);

    /* Partial reads, including the last element exactly. */
    float window[12];
    TS_ASSERT_OK(ctx, clcnn_tensor_read(tensor, 35, window, 12));
    TS_ASSERT_FLOATS_IDENTICAL(window, expected + 35, 12);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(tensor, 99, part, 1));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(tensor, 99, window, 1));
    TS_ASSERT_FLOATS_IDENTICAL(window, part, 1);
    clcnn_tensor_destroy(tensor);
}

static void test_out_of_range(void **state) {
    clcnn_context *ctx = *state;
    size_t n = 100;
    clcnn_tensor *tensor = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &n, &tensor));
    float buffer[128];
    memset(buffer, 0, sizeof buffer);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_tensor_read(tensor, 95, buffer, 10));
    assert_true(strlen(clcnn_context_last_error(ctx)) > 0);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_tensor_read(tensor, 0, buffer, 101));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_tensor_read(tensor, 100, buffer, 1));
    /* offset + count wraps around size_t: still out of range. */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_tensor_read(tensor, SIZE_MAX, buffer, 2));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_tensor_write(tensor, 95, buffer, 10));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE,
                     clcnn_tensor_write(tensor, SIZE_MAX, buffer, 2));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_tensor_read(tensor, 0, NULL, 10));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_tensor_write(tensor, 0, NULL, 10));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_tensor_read(NULL, 0, buffer, 10));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_tensor_write(NULL, 0, buffer, 10));
    clcnn_tensor_destroy(tensor);
}

static void test_fill(void **state) {
    clcnn_context *ctx = *state;
    size_t dims[2] = {7, 143}; /* 1001 elements: not a multiple of 4 or 64 */
    clcnn_tensor *tensor = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, dims, &tensor));
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(tensor, 3.25f));
    float *data = read_all(tensor);
    assert_all_equal(data, 1001, 3.25f);
    free(data);
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(tensor, -0.0f));
    data = read_all(tensor);
    assert_all_equal(data, 1001, -0.0f);
    free(data);
    size_t one = 1;
    clcnn_tensor *single = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &one, &single));
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(single, 1e30f));
    data = read_all(single);
    assert_all_equal(data, 1, 1e30f);
    free(data);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_tensor_fill(NULL, 1.0f));
    clcnn_tensor_destroy(single);
    clcnn_tensor_destroy(tensor);
}

static void test_copy(void **state) {
    clcnn_context *ctx = *state;
    size_t src_dims[2] = {13, 11}, dst_dims[3] = {11, 13, 1}, other_dims[1] = {142};
    size_t n = 143;
    clcnn_tensor *src = NULL, *dst = NULL, *other = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, src_dims, &src));
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 3, dst_dims, &dst));
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, other_dims, &other));
    float input[143];
    ts_fill_random(input, n, 9, -5.0f, 5.0f);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(src, 0, input, n));
    TS_ASSERT_OK(ctx, clcnn_tensor_copy(dst, src));
    float *got = read_all(dst);
    TS_ASSERT_FLOATS_IDENTICAL(got, input, n);
    free(got);

    TS_ASSERT_OK(ctx, clcnn_tensor_fill(other, 2.0f));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_tensor_copy(dst, other));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_tensor_copy(other, src));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_tensor_copy(NULL, src));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_tensor_copy(dst, NULL));
    /* The failed copies left dst as it was. */
    got = read_all(dst);
    TS_ASSERT_FLOATS_IDENTICAL(got, input, n);
    free(got);
    clcnn_tensor_destroy(other);
    clcnn_tensor_destroy(dst);
    clcnn_tensor_destroy(src);
}

static void test_context_mismatch(void **state) {
    clcnn_context *ctx = *state;
    clcnn_context *second = ts_context_create();
    size_t n = 64;
    clcnn_tensor *a = NULL, *b = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &n, &a));
    TS_ASSERT_OK(second, clcnn_tensor_create(second, 1, &n, &b));
    assert_ptr_equal(clcnn_tensor_context(b), second);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_tensor_copy(a, b));
    TS_ASSERT_STATUS(second, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_tensor_copy(b, a));
    clcnn_tensor_destroy(b);
    clcnn_tensor_destroy(a);
    clcnn_context_destroy(second);
}

/* The shared operand checks of runtime/checks.c that ops build on: each
 * failure names the function, the operand and the shapes involved. */
static void test_shared_checks(void **state) {
    clcnn_context *ctx = *state;
    clcnn_context *second = ts_context_create();
    const size_t dims[2] = {2, 3}, ref_dims[2] = {5, 4};
    clcnn_tensor *t = NULL, *ref = NULL, *foreign = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, dims, &t));
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, ref_dims, &ref));
    TS_ASSERT_OK(second, clcnn_tensor_create(second, 2, dims, &foreign));

    const clcnn_tensor *with_null[2] = {t, NULL};
    const char *names[2] = {"a", "b"};
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn__check_tensors(ctx, "clcnn_op", with_null, names, 2));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "clcnn_op: b is NULL");
    TS_ASSERT_OK(ctx, clcnn__check_optional_tensors(ctx, "clcnn_op", with_null, names, 2));
    const clcnn_tensor *mixed[2] = {NULL, foreign};
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn__check_optional_tensors(ctx, "clcnn_op", mixed, names, 2));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "clcnn_op: b belongs to another context");

    const size_t wanted[2] = {CLCNN__ANY_DIM, 4};
    TS_ASSERT_OK(ctx, clcnn__check_dims_match(ctx, "clcnn_op", "w", ref, 2, wanted, "x", t));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn__check_dims_match(ctx, "clcnn_op", "w", t, 2, wanted, "x", ref));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx),
                       "clcnn_op: w [2, 3] must be [*, 4] to match x [5, 4]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn__check_dims(ctx, "clcnn_op: w", t, 2, wanted));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "clcnn_op: w is [2, 3], it must be [*, 4]");

    TS_ASSERT_OK(ctx, clcnn__check_distinct(ctx, "clcnn_op", "y", t, "x", ref));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn__check_distinct(ctx, "clcnn_op", "y", t, "x", t));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "clcnn_op: y shares memory with x");

    clcnn_tensor_destroy(foreign);
    clcnn_tensor_destroy(ref);
    clcnn_tensor_destroy(t);
    clcnn_context_destroy(second);
}

static void test_reshape_view(void **state) {
    clcnn_context *ctx = *state;
    size_t dims[2] = {6, 5}, flat[1] = {30}, cube[3] = {2, 3, 5}, wrong[2] = {7, 4};
    clcnn_tensor *tensor = NULL, *view = NULL, *view2 = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, dims, &tensor));
    uint64_t allocations = memory_stats(ctx).buffer_allocations;
    TS_ASSERT_OK(ctx, clcnn_tensor_reshape(tensor, 1, flat, &view));
    assert_int_equal(clcnn_tensor_ndim(view), 1);
    assert_int_equal(clcnn_tensor_dim(view, 0), 30);
    assert_int_equal(clcnn_tensor_numel(view), 30);
    assert_ptr_equal(clcnn_tensor_context(view), ctx);
    assert_int_equal(memory_stats(ctx).buffer_allocations, allocations);

    /* Written through the view, read through the source, and back. */
    float data[30], got[30];
    ts_fill_random(data, 30, 3, 0.0f, 1.0f);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(view, 0, data, 30));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(tensor, 0, got, 30));
    TS_ASSERT_FLOATS_IDENTICAL(got, data, 30);
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(tensor, 4.0f));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(view, 0, got, 30));
    assert_all_equal(got, 30, 4.0f);

    TS_ASSERT_OK(ctx, clcnn_tensor_reshape(view, 3, cube, &view2));
    assert_int_equal(clcnn_tensor_dim(view2, 2), 5);
    clcnn_tensor *failed = NULL;
    size_t five[5] = {1, 1, 1, 5, 6};
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_tensor_reshape(tensor, 2, wrong, &failed));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_tensor_reshape(tensor, 0, wrong, &failed));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_tensor_reshape(tensor, 5, five, &failed));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_tensor_reshape(tensor, 1, NULL, &failed));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_tensor_reshape(tensor, 1, flat, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_tensor_reshape(NULL, 1, flat, &failed));
    assert_null(failed);

    /* The views outlive the source. */
    uint64_t in_use = memory_stats(ctx).bytes_in_use;
    clcnn_tensor_destroy(tensor);
    assert_int_equal(memory_stats(ctx).bytes_in_use, in_use);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(view, 0, data, 30));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(view2, 0, got, 30));
    TS_ASSERT_FLOATS_IDENTICAL(got, data, 30);
    clcnn_tensor_destroy(view);
    assert_int_equal(memory_stats(ctx).bytes_in_use, in_use);
    clcnn_tensor_destroy(view2);
    assert_true(memory_stats(ctx).bytes_in_use < in_use);
}

static void test_create_errors(void **state) {
    clcnn_context *ctx = *state;
    size_t dims[5] = {2, 2, 2, 2, 2}, zero[3] = {4, 0, 4};
    clcnn_tensor *tensor = NULL;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_tensor_create(ctx, 0, dims, &tensor));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_tensor_create(ctx, 5, dims, &tensor));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_tensor_create(ctx, 3, zero, &tensor));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_tensor_create(ctx, 2, NULL, &tensor));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_tensor_create(ctx, 2, dims, NULL));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_tensor_create(NULL, 2, dims, &tensor));
}

static void test_size_overflow(void **state) {
    clcnn_context *ctx = *state;
    clcnn_tensor *tensor = NULL;
    size_t elements[2] = {SIZE_MAX / 2, 4};
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                     clcnn_tensor_create(ctx, 2, elements, &tensor));
    size_t four_d[4] = {1u << 16, 1u << 16, 1u << 16, 1u << 16};
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_SIZE_OVERFLOW, clcnn_tensor_create(ctx, 4, four_d, &tensor));
    /* The element count fits, the byte count does not. */
    size_t bytes[1] = {SIZE_MAX / sizeof(float) + 1};
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_SIZE_OVERFLOW, clcnn_tensor_create(ctx, 1, bytes, &tensor));
    assert_true(strlen(clcnn_context_last_error(ctx)) > 0);
}

static void test_out_of_device_memory(void **state) {
    clcnn_context *ctx = *state;
    clcnn_device_info info = ts_device_info(ctx);
    clcnn_memory_stats before = memory_stats(ctx);
    clcnn_tensor *tensor = NULL;
    /* More bytes than the device has in all. */
    size_t rows = (size_t)(info.global_mem_bytes / (1024 * sizeof(float))) + 1;
    size_t dims[2] = {rows, 1024};
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_DEVICE_MEMORY,
                     clcnn_tensor_create(ctx, 2, dims, &tensor));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "bytes");
    /* One allocation larger than the device allows. */
    if (info.max_alloc_bytes < info.global_mem_bytes) {
        size_t big[1] = {(size_t)(info.max_alloc_bytes / sizeof(float)) + 1};
        TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_DEVICE_MEMORY,
                         clcnn_tensor_create(ctx, 1, big, &tensor));
        TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "bytes");
    }
    clcnn_memory_stats after = memory_stats(ctx);
    assert_int_equal(after.bytes_in_use, before.bytes_in_use);
    assert_int_equal(after.buffer_allocations, before.buffer_allocations);
    /* The context still works. */
    size_t n = 5;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &n, &tensor));
    clcnn_tensor_destroy(tensor);
}

static void test_read_async(void **state) {
    clcnn_context *ctx = *state;
    size_t n = 777;
    clcnn_tensor *tensor = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &n, &tensor));
    float *input = ts_malloc(n * sizeof *input), *output = ts_malloc(n * sizeof *output);
    ts_fill_random(input, n, 11, -1.0f, 1.0f);
    memset(output, 0, n * sizeof *output);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(tensor, 0, input, n));
    clcnn_event *event = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_read_async(tensor, 0, output, n, &event));
    assert_non_null(event);
    TS_ASSERT_OK(ctx, clcnn_event_wait(event));
    TS_ASSERT_FLOATS_IDENTICAL(output, input, n);
    TS_ASSERT_OK(ctx, clcnn_event_wait(event)); /* waiting twice is fine */
    clcnn_event_destroy(event);

    /* Partial, after an asynchronous fill: ordered in the queue. */
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(tensor, 0.5f));
    event = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_read_async(tensor, 700, output, 77, &event));
    TS_ASSERT_OK(ctx, clcnn_event_wait(event));
    assert_all_equal(output, 77, 0.5f);
    clcnn_event_destroy(event);

    event = NULL;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE,
                     clcnn_tensor_read_async(tensor, 700, output, 78, &event));
    assert_null(event);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_tensor_read_async(tensor, 0, output, 1, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_event_wait(NULL));
    clcnn_event_destroy(NULL);
    free(input);
    free(output);
    clcnn_tensor_destroy(tensor);
}

/* Double buffering: an upload on the upload queue waits for the marker of
 * the work that still reads the old contents, and the compute queue waits
 * for the upload before reading the new ones. */
static void test_upload_async(void **state) {
    clcnn_context *ctx = *state;
    size_t n = 513;
    clcnn_tensor *tensor = ts_vector_create(ctx, n, NULL), *before = ts_vector_create(ctx, n, NULL),
                 *after = ts_vector_create(ctx, n, NULL);
    float *old_data = ts_malloc(n * sizeof *old_data), *new_data = ts_malloc(n * sizeof *new_data);
    ts_fill_random(old_data, n, 21, -1.0f, 1.0f);
    ts_fill_random(new_data, n, 22, -1.0f, 1.0f);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(tensor, 0, old_data, n));

    TS_ASSERT_OK(ctx, clcnn_tensor_copy(before, tensor));
    clcnn_event *read_done = NULL, *uploaded = NULL;
    TS_ASSERT_OK(ctx, clcnn_context_marker(ctx, &read_done));
    TS_ASSERT_OK(ctx, clcnn_tensor_upload_async(tensor, 0, new_data, n, read_done, &uploaded));
    assert_non_null(uploaded);
    TS_ASSERT_OK(ctx, clcnn_context_wait_event(ctx, uploaded));
    clcnn_event_destroy(read_done);
    TS_ASSERT_OK(ctx, clcnn_tensor_copy(after, tensor));
    float *seen = read_all(before);
    TS_ASSERT_FLOATS_IDENTICAL(seen, old_data, n);
    free(seen);
    seen = read_all(after);
    TS_ASSERT_FLOATS_IDENTICAL(seen, new_data, n);
    free(seen);
    TS_ASSERT_OK(ctx, clcnn_event_wait(uploaded));
    clcnn_event_destroy(uploaded);

    /* A partial upload with no event to wait for; finish covers it. */
    uploaded = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_upload_async(tensor, 500, old_data, 13, NULL, &uploaded));
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
    seen = read_all(tensor);
    TS_ASSERT_FLOATS_IDENTICAL(seen + 500, old_data, 13);
    TS_ASSERT_FLOATS_IDENTICAL(seen, new_data, 500);
    free(seen);
    clcnn_event_destroy(uploaded);

    free(old_data);
    free(new_data);
    clcnn_tensor_destroy(after);
    clcnn_tensor_destroy(before);
    clcnn_tensor_destroy(tensor);
}

static void test_upload_async_errors(void **state) {
    clcnn_context *ctx = *state;
    clcnn_context *second = ts_context_create();
    size_t n = 16;
    float data[16] = {0};
    clcnn_tensor *tensor = ts_vector_create(ctx, n, NULL);
    clcnn_event *event = NULL, *foreign = NULL;
    TS_ASSERT_OK(second, clcnn_context_marker(second, &foreign));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_tensor_upload_async(NULL, 0, data, n, NULL, &event));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_tensor_upload_async(tensor, 0, data, n, NULL, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_tensor_upload_async(tensor, 0, NULL, n, NULL, &event));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE,
                     clcnn_tensor_upload_async(tensor, 1, data, n, NULL, &event));
    assert_null(event);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_tensor_upload_async(tensor, 0, data, n, foreign, &event));
    assert_null(event);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_context_wait_event(ctx, foreign));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_wait_event(ctx, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_wait_event(NULL, foreign));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_marker(ctx, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_context_marker(NULL, &event));
    TS_ASSERT_OK(second, clcnn_event_wait(foreign));
    clcnn_event_destroy(foreign);
    clcnn_tensor_destroy(tensor);
    clcnn_context_destroy(second);
}

static void test_buffer_pool(void **state) {
    clcnn_context *ctx = *state;
    size_t dims[2] = {33, 65};
    size_t bytes = 33 * 65 * sizeof(float);
    clcnn_context_trim_pool(ctx);
    clcnn_memory_stats start = memory_stats(ctx);
    assert_int_equal(start.bytes_pooled, 0);

    clcnn_tensor *tensor = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, dims, &tensor));
    clcnn_memory_stats live = memory_stats(ctx);
    assert_true(live.bytes_in_use >= start.bytes_in_use + bytes);
    assert_true(live.peak_bytes >= live.bytes_in_use + live.bytes_pooled);
    clcnn_tensor_destroy(tensor);
    clcnn_memory_stats first = memory_stats(ctx);
    assert_int_equal(first.bytes_in_use, start.bytes_in_use);
    assert_true(first.bytes_pooled >= bytes);
    assert_int_equal(first.buffer_allocations, start.buffer_allocations + 1);

    for (int i = 0; i < 10; i++) {
        TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, dims, &tensor));
        clcnn_tensor_destroy(tensor);
    }
    clcnn_memory_stats repeated = memory_stats(ctx);
    assert_int_equal(repeated.buffer_allocations, first.buffer_allocations);
    assert_int_equal(repeated.bytes_in_use, start.bytes_in_use);
    assert_int_equal(repeated.bytes_pooled, first.bytes_pooled);
    assert_int_equal(repeated.peak_bytes, first.peak_bytes);

    /* Trimming frees the pooled buffers but not the live ones. */
    size_t small = 10;
    clcnn_tensor *kept = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &small, &kept));
    uint64_t in_use = memory_stats(ctx).bytes_in_use;
    clcnn_context_trim_pool(ctx);
    clcnn_memory_stats trimmed = memory_stats(ctx);
    assert_int_equal(trimmed.bytes_pooled, 0);
    assert_int_equal(trimmed.bytes_in_use, in_use);
    float value = 0.0f;
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(kept, 9.0f));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(kept, 9, &value, 1));
    assert_true(value == 9.0f);
    clcnn_tensor_destroy(kept);
    assert_int_equal(memory_stats(ctx).bytes_in_use, start.bytes_in_use);

    /* After a trim the next tensor needs a fresh buffer. */
    clcnn_context_trim_pool(ctx);
    uint64_t allocations = memory_stats(ctx).buffer_allocations;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, dims, &tensor));
    assert_int_equal(memory_stats(ctx).buffer_allocations, allocations + 1);
    clcnn_tensor_destroy(tensor);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_shapes),
        cmocka_unit_test(test_create_zeroes_reused_buffer),
        cmocka_unit_test(test_create_uninitialized),
        cmocka_unit_test(test_write_read_round_trip),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_fill),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_context_mismatch),
        cmocka_unit_test(test_shared_checks),
        cmocka_unit_test(test_reshape_view),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_size_overflow),
        cmocka_unit_test(test_out_of_device_memory),
        cmocka_unit_test(test_read_async),
        cmocka_unit_test(test_upload_async),
        cmocka_unit_test(test_upload_async_errors),
        cmocka_unit_test(test_buffer_pool),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
