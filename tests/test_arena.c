/* Arenas (runtime/arena.c): clcnn__arena_create places each view at the
 * next multiple of the view alignment with zero gaps, shaped as asked, or
 * makes separate tensors when the arena would not fit in one allocation;
 * a bad shape leaves nothing made; views outlive their arena handle.
 * clcnn__arena_span covers the list or a run of it and nothing else: not
 * views out of order or with one left out, separate tensors, or views of a
 * buffer that is not an arena. */
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"

#include "runtime/internal.h"

#define COUNT 4

static const clcnn__shape shapes[COUNT] = {{1, {1}}, {2, {7, 1}}, {4, {3, 5, 7, 9}}, {1, {4099}}};

/* Where the test expects each view of an arena of `shapes`, and its size. */
typedef struct layout {
    size_t offset[COUNT], numel[COUNT], total;
} layout;

static layout expected_layout(clcnn_context *ctx) {
    size_t align_bytes = 0;
    TS_ASSERT_OK(ctx, clcnn__view_alignment(ctx, &align_bytes));
    size_t align = align_bytes / sizeof(float);
    layout l;
    memset(&l, 0, sizeof l);
    for (size_t i = 0; i < COUNT; i++) {
        l.numel[i] = 1;
        for (size_t d = 0; d < shapes[i].ndim; d++)
            l.numel[i] *= shapes[i].dims[d];
        l.offset[i] = clcnn__round_up(l.total, align);
        l.total = l.offset[i] + l.numel[i];
    }
    return l;
}

static void destroy_all(clcnn_tensor **tensors, size_t count) {
    for (size_t i = 0; i < count; i++)
        clcnn_tensor_destroy(tensors[i]);
}

/* Writes i + 1 into every element of views[i]. */
static void write_indices(clcnn_context *ctx, clcnn_tensor *const *views, size_t count) {
    for (size_t i = 0; i < count; i++) {
        size_t n = clcnn_tensor_numel(views[i]);
        float *values = ts_malloc(n * sizeof *values);
        for (size_t e = 0; e < n; e++)
            values[e] = (float)(i + 1);
        TS_ASSERT_OK(ctx, clcnn_tensor_write(views[i], 0, values, n));
        free(values);
    }
}

/* An arena of `shapes` (views[i] with i + 1 in every element when `fill`). */
static clcnn_tensor *arena_create(clcnn_context *ctx, clcnn_tensor **views, int fill) {
    clcnn_tensor *arena = NULL;
    TS_ASSERT_OK(ctx, clcnn__arena_create(ctx, COUNT, shapes, views, &arena));
    assert_non_null(arena);
    if (fill)
        write_indices(ctx, views, COUNT);
    return arena;
}

static void test_layout(void **state) {
    clcnn_context *ctx = *state;
    layout l = expected_layout(ctx);
    clcnn_tensor *views[COUNT], *arena = arena_create(ctx, views, 0);
    assert_int_equal(clcnn_tensor_numel(arena), l.total);
    for (size_t i = 0; i < COUNT; i++) {
        assert_int_equal(clcnn_tensor_ndim(views[i]), shapes[i].ndim);
        for (size_t d = 0; d < shapes[i].ndim; d++)
            assert_int_equal(clcnn_tensor_dim(views[i], d), shapes[i].dims[d]);
    }
    write_indices(ctx, views, COUNT);
    float *all = ts_tensor_read_all(arena);
    for (size_t e = 0, i = 0; e < l.total; e++) {
        while (i < COUNT && e >= l.offset[i] + l.numel[i])
            i++;
        float expected = e >= l.offset[i] ? (float)(i + 1) : 0.0f; /* else a gap */
        if (all[e] != expected)
            fail_msg("arena element %zu holds %g, expected %g", e, (double)all[e],
                     (double)expected);
    }
    free(all);
    destroy_all(views, COUNT);
    clcnn_tensor_destroy(arena);
}

/* The span of `count` tensors, which must be `numel` long and start with
 * `first` (numel 0: there must be none). */
static void check_span(clcnn_context *ctx, clcnn_tensor *const *tensors, size_t count, size_t numel,
                       float first) {
    clcnn_tensor *span = NULL;
    TS_ASSERT_OK(ctx, clcnn__arena_span(count, tensors, &span));
    if (numel == 0) {
        assert_null(span);
        return;
    }
    assert_non_null(span);
    assert_int_equal(clcnn_tensor_ndim(span), 1);
    assert_int_equal(clcnn_tensor_numel(span), numel);
    float value = 0.0f;
    TS_ASSERT_OK(ctx, clcnn_tensor_read(span, 0, &value, 1));
    assert_true(value == first);
    clcnn_tensor_destroy(span);
}

static void test_span(void **state) {
    clcnn_context *ctx = *state;
    layout l = expected_layout(ctx);
    clcnn_tensor *views[COUNT], *arena = arena_create(ctx, views, 1);
    check_span(ctx, views, COUNT, l.total, 1.0f);
    check_span(ctx, views + 1, 2, l.offset[2] + l.numel[2] - l.offset[1], 2.0f);
    check_span(ctx, views + 3, 1, l.numel[3], 4.0f);
    check_span(ctx, views, 0, 0, 0.0f);
    clcnn_tensor *reversed[2] = {views[2], views[1]};
    check_span(ctx, reversed, 2, 0, 0.0f);
    clcnn_tensor *skipping[2] = {views[1], views[3]};
    check_span(ctx, skipping, 2, 0, 0.0f);
    /* A reshaped view is the same elements: still a run. */
    const size_t flat = l.numel[2];
    clcnn_tensor *reshaped = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_reshape(views[2], 1, &flat, &reshaped));
    clcnn_tensor *run[2] = {views[1], reshaped};
    check_span(ctx, run, 2, l.offset[2] + l.numel[2] - l.offset[1], 2.0f);
    clcnn_tensor_destroy(reshaped);
    /* Ordinary tensors, and views laid out alike in a buffer that is not an
     * arena (nothing promises its gaps stay zero). */
    clcnn_tensor *separate[2] = {ts_vector_create(ctx, 1, NULL), ts_vector_create(ctx, 7, NULL)};
    check_span(ctx, separate, 2, 0, 0.0f);
    clcnn_tensor *plain = ts_vector_create(ctx, l.total, NULL), *plain_views[2] = {NULL, NULL};
    TS_ASSERT_OK(ctx,
                 clcnn__storage_view(plain->storage, l.offset[0], 1, &l.numel[0], &plain_views[0]));
    TS_ASSERT_OK(ctx, clcnn__storage_view(plain->storage, l.offset[1], shapes[1].ndim,
                                          shapes[1].dims, &plain_views[1]));
    check_span(ctx, plain_views, 2, 0, 0.0f);
    destroy_all(plain_views, 2);
    clcnn_tensor_destroy(plain);
    destroy_all(separate, 2);
    destroy_all(views, COUNT);
    clcnn_tensor_destroy(arena);
}

/* An arena larger than the device's largest allocation (clamped here)
 * becomes separate zero tensors of the same shapes, with no span. */
static void test_too_big_for_one_allocation(void **state) {
    (void)state;
    clcnn_context_options options = clcnn_context_options_default();
    options.device_limits = "max_alloc=17000"; /* 4099 floats fit, all four do not */
    clcnn_context *ctx = ts_context_create_with(&options);
    clcnn_tensor *tensors[COUNT], *arena = NULL;
    TS_ASSERT_OK(ctx, clcnn__arena_create(ctx, COUNT, shapes, tensors, &arena));
    assert_null(arena);
    for (size_t i = 0; i < COUNT; i++) {
        assert_int_equal(clcnn_tensor_ndim(tensors[i]), shapes[i].ndim);
        float *values = ts_tensor_read_all(tensors[i]);
        for (size_t e = 0; e < clcnn_tensor_numel(tensors[i]); e++)
            assert_true(values[e] == 0.0f);
        free(values);
    }
    check_span(ctx, tensors, COUNT, 0, 0.0f);
    destroy_all(tensors, COUNT);
    clcnn_context_destroy(ctx);
}

/* A shape the runtime refuses fails the call with its status and leaves
 * nothing made; an empty list makes nothing. */
static void test_bad_shapes(void **state) {
    clcnn_context *ctx = *state;
    const clcnn__shape zero_dim[2] = {{1, {5}}, {2, {3, 0}}};
    const clcnn__shape too_many_dims[1] = {{CLCNN_MAX_DIMS + 1, {1, 1, 1, 1}}};
    clcnn_tensor *tensors[2] = {NULL, NULL}, *arena = NULL;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn__arena_create(ctx, 2, zero_dim, tensors, &arena));
    assert_null(tensors[0]);
    assert_null(tensors[1]);
    assert_null(arena);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn__arena_create(ctx, 1, too_many_dims, tensors, &arena));
    assert_null(tensors[0]);
    TS_ASSERT_OK(ctx, clcnn__arena_create(ctx, 0, shapes, tensors, &arena));
    assert_null(arena);
}

/* The views keep the arena's memory: destroying its handle first leaves
 * them usable. */
static void test_views_outlive_the_handle(void **state) {
    clcnn_context *ctx = *state;
    clcnn_tensor *views[COUNT];
    clcnn_tensor_destroy(arena_create(ctx, views, 0));
    write_indices(ctx, views, COUNT);
    float *values = ts_tensor_read_all(views[3]);
    assert_true(values[0] == 4.0f && values[4098] == 4.0f);
    free(values);
    destroy_all(views, COUNT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_span),
        cmocka_unit_test(test_too_big_for_one_allocation),
        cmocka_unit_test(test_bad_shapes),
        cmocka_unit_test(test_views_outlive_the_handle),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
