/* Adaptive average pooling against the double reference in
 * tests/ref/adaptive_pool_ref.c, forward and backward in both grad modes:
 * global pooling (its own reduction kernels, per work-item and per
 * work-group), overlapping windows, outputs larger than the input, batch 1,
 * odd sizes; sums split into partials as on a driver with a loop-trip limit
 * (forced here on any device), deterministic bits run after run, the
 * refusal where the split cannot help; the output shape helper; the
 * reference's gradient against central finite differences; every bad
 * argument with its exact status. CLCNN_TEST_SMALL (or an Oclgrind device)
 * keeps every case small. */
#include "support/test_support.h"

#include <math.h>
#include <stdlib.h>

#include "clcnn/adaptive_pool.h"
#include "ref/adaptive_pool_ref.h"

typedef struct pool_case {
    size_t n, c, h, w, oh, ow;
} pool_case;

static const pool_case small_cases[] = {
    {1, 1, 1, 1, 1, 1}, {1, 3, 5, 7, 1, 1},   {2, 3, 7, 9, 3, 4}, {1, 2, 5, 5, 7, 3},
    {2, 1, 6, 6, 3, 3}, {1, 2, 13, 11, 5, 2}, {3, 1, 4, 4, 4, 4}, {1, 1, 1, 9, 1, 4},
    {2, 2, 7, 7, 1, 1}, {1, 5, 3, 2, 2, 5},
};
static const pool_case large_cases[] = {
    {8, 64, 14, 14, 1, 1},  {4, 16, 13, 13, 7, 7},  {2, 8, 32, 32, 3, 5},
    {1, 2, 300, 301, 1, 1}, {1, 1, 512, 512, 2, 2}, {3, 5, 9, 31, 17, 2},
};

/* Window sums in float: the error grows with the window. Data in [-1, 3]
 * keeps the means away from 0. */
static double forward_rtol(const pool_case *p) {
    const double area = (double)((p->h / p->oh + 2) * (p->w / p->ow + 2));
    return 1e-6 * (1.0 + sqrt(area));
}

#define BACKWARD_ATOL 1e-6
#define BACKWARD_RTOL 1e-5

static void dims_in(const pool_case *p, size_t dims[4]) {
    dims[0] = p->n;
    dims[1] = p->c;
    dims[2] = p->h;
    dims[3] = p->w;
}

static void dims_out(const pool_case *p, size_t dims[4]) {
    dims[0] = p->n;
    dims[1] = p->c;
    dims[2] = p->oh;
    dims[3] = p->ow;
}

/* Forward into NaN, backward overwriting NaN, backward accumulating onto
 * random values, each against the reference; the forward twice gives the
 * same bits. */
static void check_case(clcnn_context *ctx, const pool_case *p, uint32_t seed) {
    size_t in_dims[4], out_dims[4], shape[4];
    dims_in(p, in_dims);
    dims_out(p, out_dims);
    const size_t size[2] = {p->oh, p->ow};
    TS_ASSERT_OK(ctx, clcnn_adaptive_avg_pool2d_output_shape(ctx, in_dims, size, shape));
    for (int i = 0; i < 4; i++)
        assert_int_equal(shape[i], out_dims[i]);
    const size_t planes = p->n * p->c, in_count = planes * p->h * p->w;
    const size_t out_count = planes * p->oh * p->ow;
    float *x = ts_random_floats(in_count, seed, -1.0f, 3.0f);
    float *dy = ts_random_floats(out_count, seed + 1, -1.0f, 1.0f);
    float *old = ts_random_floats(in_count, seed + 2, -1.0f, 1.0f);
    double *xd = ts_to_double(x, in_count), *dyd = ts_to_double(dy, out_count);
    double *want_y = ts_malloc(out_count * sizeof *want_y);
    double *want_dx = ts_malloc(in_count * sizeof *want_dx);
    adaptive_ref_forward(planes, p->h, p->w, p->oh, p->ow, xd, want_y);
    adaptive_ref_backward(planes, p->h, p->w, p->oh, p->ow, dyd, want_dx);

    clcnn_tensor *tx = ts_tensor_create(ctx, 4, in_dims, x);
    clcnn_tensor *ty = ts_tensor_filled(ctx, 4, out_dims, NAN);
    TS_ASSERT_OK(ctx, clcnn_adaptive_avg_pool2d_forward(ctx, tx, ty));
    float *got = ts_tensor_read_all(ty);
    TS_ASSERT_FLOATS_NEAR(got, want_y, out_count, 1e-6, forward_rtol(p));
    TS_ASSERT_OK(ctx, clcnn_adaptive_avg_pool2d_forward(ctx, tx, ty));
    float *again = ts_tensor_read_all(ty);
    TS_ASSERT_FLOATS_IDENTICAL(again, got, out_count);
    free(again);
    free(got);

    clcnn_tensor *tdy = ts_tensor_create(ctx, 4, out_dims, dy);
    clcnn_tensor *tdx = ts_tensor_filled(ctx, 4, in_dims, NAN);
    TS_ASSERT_OK(ctx, clcnn_adaptive_avg_pool2d_backward(ctx, tdy, tdx, CLCNN_GRAD_OVERWRITE));
    got = ts_tensor_read_all(tdx);
    TS_ASSERT_FLOATS_NEAR(got, want_dx, in_count, BACKWARD_ATOL, BACKWARD_RTOL);
    free(got);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(tdx, 0, old, in_count));
    TS_ASSERT_OK(ctx, clcnn_adaptive_avg_pool2d_backward(ctx, tdy, tdx, CLCNN_GRAD_ACCUMULATE));
    got = ts_tensor_read_all(tdx);
    for (size_t i = 0; i < in_count; i++)
        want_dx[i] += old[i];
    TS_ASSERT_FLOATS_NEAR(got, want_dx, in_count, BACKWARD_ATOL, BACKWARD_RTOL);
    free(got);

    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tdx);
    free(x);
    free(dy);
    free(old);
    free(xd);
    free(dyd);
    free(want_y);
    free(want_dx);
}

static void test_against_reference(void **state) {
    clcnn_context *ctx = *state;
    uint32_t seed = 10;
    TS_FOR_EACH_CASE(pool_case, p, small_cases, large_cases, check_case(ctx, p, seed += 10));
}

/* Both kernel forms whatever the device (global pooling per work-group or
 * per work-item; work-groups across planes or along rows; several or one
 * output per work-item), and sums split into partials under a small
 * loop-trip limit, on a context of the test's own. */
static void test_kernel_forms_and_split_sums(void **state) {
    (void)state;
    static const pool_case split_cases[] = {
        {2, 3, 37, 41, 1, 1}, /* global: several chunks per plane */
        {1, 2, 40, 43, 2, 3}, /* windows of ~420 elements: several bands */
        {2, 1, 9, 50, 1, 2},  /* a band starts mid-row */
        {1, 1, 3, 3, 1, 1},   /* fits in one */
    };
    clcnn_context *ctx = ts_context_create();
    const clcnn__device_traits traits = ctx->traits;
    const clcnn__adaptive_pool_choices choices = ctx->choices.adaptive_pool;
    for (int form = 0; form < 2; form++) {
        ctx->choices.adaptive_pool.work_groups = form;
        ctx->choices.adaptive_pool.chunk = form ? 1 : 3; /* chunks cut rows unevenly */
        for (int limit = 0; limit < 2; limit++) {
            /* Half of it, 50 trips, per work-item. */
            ctx->traits.loop_trip_limit = limit ? 100 : traits.loop_trip_limit;
            uint32_t seed = 700;
            for (size_t i = 0; i < sizeof split_cases / sizeof split_cases[0]; i++)
                check_case(ctx, &split_cases[i], seed += 10);
            if (!ts_small() || form == 0)
                check_case(ctx, &small_cases[2], seed += 10);
        }
    }
    ctx->traits = traits;
    ctx->choices.adaptive_pool = choices;
    clcnn_context_destroy(ctx);
}

/* Where each input feeds more outputs than the limit allows one work-item,
 * backward says so (forward still works). */
static void test_backward_beyond_the_loop_limit(void **state) {
    (void)state;
    clcnn_context *ctx = ts_context_create();
    ctx->traits.loop_trip_limit = 100;
    const size_t in_dims[4] = {1, 1, 2, 2}, out_dims[4] = {1, 1, 20, 20};
    clcnn_tensor *x = ts_tensor_filled(ctx, 4, in_dims, 1.0f);
    clcnn_tensor *y = ts_tensor_filled(ctx, 4, out_dims, 0.0f);
    TS_ASSERT_OK(ctx, clcnn_adaptive_avg_pool2d_forward(ctx, x, y));
    float *got = ts_tensor_read_all(y);
    for (size_t i = 0; i < 400; i++)
        assert_true(got[i] == 1.0f);
    free(got);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_UNSUPPORTED,
                     clcnn_adaptive_avg_pool2d_backward(ctx, y, x, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "clcnn_adaptive_avg_pool2d_backward");
    clcnn_tensor_destroy(x);
    clcnn_tensor_destroy(y);
    clcnn_context_destroy(ctx);
}

/* Global pooling of a constant plane is the constant, exactly; known
 * windows of a small input, by hand. */
static void test_known_values(void **state) {
    clcnn_context *ctx = *state;
    const size_t dims[4] = {1, 1, 3, 5}, out[4] = {1, 1, 2, 2};
    const float x[15] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    clcnn_tensor *tx = ts_tensor_create(ctx, 4, dims, x), *ty = ts_tensor_filled(ctx, 4, out, NAN);
    TS_ASSERT_OK(ctx, clcnn_adaptive_avg_pool2d_forward(ctx, tx, ty));
    float *got = ts_tensor_read_all(ty);
    /* Rows [0, 2) and [1, 3); columns [0, 3) and [2, 5). */
    const float want[4] = {(1 + 2 + 3 + 6 + 7 + 8) / 6.0f, (3 + 4 + 5 + 8 + 9 + 10) / 6.0f,
                           (6 + 7 + 8 + 11 + 12 + 13) / 6.0f, (8 + 9 + 10 + 13 + 14 + 15) / 6.0f};
    TS_ASSERT_FLOATS_IDENTICAL(got, want, 4);
    free(got);

    const size_t big[4] = {2, 3, 17, 19}, one[4] = {2, 3, 1, 1};
    clcnn_tensor *c = ts_tensor_filled(ctx, 4, big, 0.375f),
                 *g = ts_tensor_filled(ctx, 4, one, NAN);
    TS_ASSERT_OK(ctx, clcnn_adaptive_avg_pool2d_forward(ctx, c, g));
    got = ts_tensor_read_all(g);
    for (size_t i = 0; i < 6; i++)
        assert_true(got[i] == 0.375f);
    free(got);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(c);
    clcnn_tensor_destroy(g);
}

/* The reference backward against central differences of the reference
 * forward, in double, for L = sum(w * y), overlapping windows and an
 * output larger than the input. */
static void test_reference_gradients(void **state) {
    (void)state;
    static const pool_case cases[] = {{1, 2, 5, 7, 3, 4}, {1, 1, 3, 2, 5, 3}, {1, 1, 4, 6, 1, 1}};
    enum { MAX = 128 };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const pool_case *p = &cases[k];
        const size_t planes = p->n * p->c, in = planes * p->h * p->w;
        const size_t out = planes * p->oh * p->ow;
        assert_true(in <= MAX && out <= MAX);
        double x[MAX], w[MAX], y[MAX], dx[MAX];
        float tmp[MAX];
        ts_fill_random(tmp, in, 60 + (uint32_t)k, -1.0f, 1.0f);
        for (size_t i = 0; i < in; i++)
            x[i] = tmp[i];
        ts_fill_random(tmp, out, 70 + (uint32_t)k, -1.0f, 1.0f);
        for (size_t i = 0; i < out; i++)
            w[i] = tmp[i];
        adaptive_ref_backward(planes, p->h, p->w, p->oh, p->ow, w, dx);
        const double h = 1e-6;
        for (size_t i = 0; i < in; i++) {
            double saved = x[i], plus = 0.0, minus = 0.0;
            x[i] = saved + h;
            adaptive_ref_forward(planes, p->h, p->w, p->oh, p->ow, x, y);
            for (size_t j = 0; j < out; j++)
                plus += w[j] * y[j];
            x[i] = saved - h;
            adaptive_ref_forward(planes, p->h, p->w, p->oh, p->ow, x, y);
            for (size_t j = 0; j < out; j++)
                minus += w[j] * y[j];
            x[i] = saved;
            assert_true(fabs((plus - minus) / (2.0 * h) - dx[i]) <= 1e-8);
        }
    }
}

static void test_output_shape(void **state) {
    clcnn_context *ctx = *state;
    const size_t in[4] = {2, 3, 7, 9}, size[2] = {4, 11};
    size_t out[4] = {0, 0, 0, 0};
    TS_ASSERT_OK(ctx, clcnn_adaptive_avg_pool2d_output_shape(ctx, in, size, out));
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 3);
    assert_int_equal(out[2], 4);
    assert_int_equal(out[3], 11);
    TS_ASSERT_OK(ctx, clcnn_adaptive_avg_pool2d_output_shape(NULL, in, size, out));
    const clcnn_status bad = CLCNN_ERROR_INVALID_ARGUMENT, shape = CLCNN_ERROR_INVALID_SHAPE;
    TS_ASSERT_STATUS(ctx, bad, clcnn_adaptive_avg_pool2d_output_shape(ctx, NULL, size, out));
    TS_ASSERT_STATUS(ctx, bad, clcnn_adaptive_avg_pool2d_output_shape(ctx, in, NULL, out));
    TS_ASSERT_STATUS(ctx, bad, clcnn_adaptive_avg_pool2d_output_shape(ctx, in, size, NULL));
    assert_int_equal(clcnn_adaptive_avg_pool2d_output_shape(NULL, NULL, size, out), bad);
    const size_t zero_h[2] = {0, 3}, zero_w[2] = {3, 0}, huge[2] = {((size_t)1 << 24) + 1, 1};
    TS_ASSERT_STATUS(ctx, shape, clcnn_adaptive_avg_pool2d_output_shape(ctx, in, zero_h, out));
    TS_ASSERT_STATUS(ctx, shape, clcnn_adaptive_avg_pool2d_output_shape(ctx, in, zero_w, out));
    TS_ASSERT_STATUS(ctx, bad, clcnn_adaptive_avg_pool2d_output_shape(ctx, in, huge, out));
    const size_t empty[4] = {2, 0, 7, 9};
    TS_ASSERT_STATUS(ctx, shape, clcnn_adaptive_avg_pool2d_output_shape(ctx, empty, size, out));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "clcnn_adaptive_avg_pool2d_output_shape");
}

static void test_bad_arguments(void **state) {
    clcnn_context *ctx = *state;
    const clcnn_status bad = CLCNN_ERROR_INVALID_ARGUMENT, shape = CLCNN_ERROR_INVALID_SHAPE;
    const clcnn_grad_mode W = CLCNN_GRAD_OVERWRITE;
    const size_t xd[4] = {2, 3, 7, 9}, yd[4] = {2, 3, 2, 2}, other_c[4] = {2, 4, 2, 2};
    const size_t other_n[4] = {1, 3, 2, 2}, three[3] = {2, 3, 2};
    clcnn_tensor *x = ts_tensor_filled(ctx, 4, xd, 0.0f), *y = ts_tensor_filled(ctx, 4, yd, 0.0f);
    clcnn_tensor *yc = ts_tensor_filled(ctx, 4, other_c, 0.0f);
    clcnn_tensor *yn = ts_tensor_filled(ctx, 4, other_n, 0.0f);
    clcnn_tensor *y3 = ts_tensor_filled(ctx, 3, three, 0.0f);

    TS_ASSERT_STATUS(NULL, bad, clcnn_adaptive_avg_pool2d_forward(NULL, x, y));
    TS_ASSERT_STATUS(ctx, bad, clcnn_adaptive_avg_pool2d_forward(ctx, NULL, y));
    TS_ASSERT_STATUS(ctx, bad, clcnn_adaptive_avg_pool2d_forward(ctx, x, NULL));
    TS_ASSERT_STATUS(ctx, shape, clcnn_adaptive_avg_pool2d_forward(ctx, x, yc));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[2, 4, 2, 2]");
    TS_ASSERT_STATUS(ctx, shape, clcnn_adaptive_avg_pool2d_forward(ctx, x, yn));
    TS_ASSERT_STATUS(ctx, shape, clcnn_adaptive_avg_pool2d_forward(ctx, x, y3));
    TS_ASSERT_STATUS(ctx, shape, clcnn_adaptive_avg_pool2d_forward(ctx, y3, y));
    /* y may not share memory with x. */
    clcnn_tensor *view = NULL;
    TS_ASSERT_OK(ctx, clcnn__storage_view(x->storage, 0, 4, yd, &view));
    TS_ASSERT_STATUS(ctx, bad, clcnn_adaptive_avg_pool2d_forward(ctx, x, view));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "shares memory");
    TS_ASSERT_STATUS(ctx, bad, clcnn_adaptive_avg_pool2d_forward(ctx, x, x));

    TS_ASSERT_STATUS(NULL, bad, clcnn_adaptive_avg_pool2d_backward(NULL, y, x, W));
    TS_ASSERT_STATUS(ctx, bad, clcnn_adaptive_avg_pool2d_backward(ctx, NULL, x, W));
    TS_ASSERT_STATUS(ctx, bad, clcnn_adaptive_avg_pool2d_backward(ctx, y, NULL, W));
    TS_ASSERT_STATUS(ctx, bad, clcnn_adaptive_avg_pool2d_backward(ctx, y, x, (clcnn_grad_mode)2));
    TS_ASSERT_STATUS(ctx, shape, clcnn_adaptive_avg_pool2d_backward(ctx, yc, x, W));
    TS_ASSERT_STATUS(ctx, shape, clcnn_adaptive_avg_pool2d_backward(ctx, y3, x, W));
    TS_ASSERT_STATUS(ctx, bad, clcnn_adaptive_avg_pool2d_backward(ctx, view, x, W));

    clcnn_context *other = ts_context_create();
    clcnn_tensor *ox = ts_tensor_filled(other, 4, xd, 0.0f),
                 *oy = ts_tensor_filled(other, 4, yd, 0.0f);
    const clcnn_status mismatch = CLCNN_ERROR_CONTEXT_MISMATCH;
    TS_ASSERT_STATUS(ctx, mismatch, clcnn_adaptive_avg_pool2d_forward(ctx, ox, y));
    TS_ASSERT_STATUS(ctx, mismatch, clcnn_adaptive_avg_pool2d_forward(ctx, x, oy));
    TS_ASSERT_STATUS(ctx, mismatch, clcnn_adaptive_avg_pool2d_backward(ctx, oy, x, W));
    TS_ASSERT_STATUS(ctx, mismatch, clcnn_adaptive_avg_pool2d_backward(ctx, y, ox, W));
    clcnn_tensor_destroy(ox);
    clcnn_tensor_destroy(oy);
    clcnn_context_destroy(other);

    /* An output side past 2^24 (a 64 MiB tensor: not in small mode). */
    if (!ts_small()) {
        const size_t wide[4] = {1, 1, 1, ((size_t)1 << 24) + 1}, one[4] = {1, 1, 1, 1};
        clcnn_tensor *big = NULL, *small = ts_tensor_filled(ctx, 4, one, 0.0f);
        TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 4, wide, &big));
        TS_ASSERT_STATUS(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                         clcnn_adaptive_avg_pool2d_forward(ctx, small, big));
        TS_ASSERT_STATUS(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                         clcnn_adaptive_avg_pool2d_backward(ctx, big, small, W));
        clcnn_tensor_destroy(big);
        clcnn_tensor_destroy(small);
    }

    clcnn_tensor *tensors[] = {x, y, yc, yn, y3, view};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++)
        clcnn_tensor_destroy(tensors[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_kernel_forms_and_split_sums),
        cmocka_unit_test(test_backward_beyond_the_loop_limit),
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_reference_gradients),
        cmocka_unit_test(test_output_shape),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
