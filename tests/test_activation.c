/* ReLU, leaky ReLU, sigmoid and tanh, forward and backward, against plain
 * double-precision formulas on element counts that are and are not
 * multiples of the vector width and chunk (1, 3, 4097, ...), in place, in
 * both grad modes, with NaN/Inf/zero inputs, the reference derivatives
 * against central finite differences, and every bad argument with its exact
 * status. CLCNN_TEST_SMALL (or an Oclgrind device) keeps the counts to a few
 * thousand. */
#include "support/test_support.h"

#include <math.h>
#include <stdlib.h>

#include "clcnn/activation.h"

/* Tolerances against the double formulas. ReLU is exact; leaky ReLU rounds
 * one product; exp and tanh may be a few ulp off in OpenCL, and the
 * sigmoid/tanh derivatives lose digits to 1 - y near saturation. */
#define LEAKY_RTOL 1.2e-7
#define SMOOTH_ATOL 1e-6
#define SMOOTH_RTOL 1e-5

static const clcnn_activation kinds[] = {CLCNN_ACTIVATION_RELU, CLCNN_ACTIVATION_LEAKY_RELU,
                                         CLCNN_ACTIVATION_SIGMOID, CLCNN_ACTIVATION_TANH};
#define KIND_COUNT (sizeof kinds / sizeof kinds[0])

/* --------------------------------------------------------------- reference */

static double ref_forward(clcnn_activation kind, double slope, double x) {
    switch (kind) {
    case CLCNN_ACTIVATION_RELU:
        return x > 0.0 ? x : 0.0;
    case CLCNN_ACTIVATION_LEAKY_RELU:
        return x > 0.0 ? x : slope * x;
    case CLCNN_ACTIVATION_SIGMOID:
        return 1.0 / (1.0 + exp(-x));
    default:
        return tanh(x);
    }
}

/* dy * f'(.) from the tensor the op reads: x for the ReLUs, y otherwise. */
static double ref_backward(clcnn_activation kind, double slope, double saved, double dy) {
    switch (kind) {
    case CLCNN_ACTIVATION_RELU:
        return saved <= 0.0 ? 0.0 : dy; /* PyTorch's threshold_backward */
    case CLCNN_ACTIVATION_LEAKY_RELU:
        return saved > 0.0 ? dy : slope * dy;
    case CLCNN_ACTIVATION_SIGMOID:
        return dy * (1.0 - saved) * saved;
    default:
        return dy * (1.0 - saved * saved);
    }
}

static int reads_y(clcnn_activation kind) {
    return kind == CLCNN_ACTIVATION_SIGMOID || kind == CLCNN_ACTIVATION_TANH;
}

/* ----------------------------------------------------------------- helpers */

/* Inputs in [-6, 6) with exact zeros sprinkled in (ReLU's kink). */
static float *make_inputs(size_t n, uint32_t seed) {
    float *x = ts_malloc(n * sizeof *x);
    ts_fill_random(x, n, seed, -6.0f, 6.0f);
    for (size_t i = 0; i < n; i += 7)
        x[i] = 0.0f;
    return x;
}

static void forward_tolerance(clcnn_activation kind, double *atol, double *rtol) {
    *atol = reads_y(kind) ? SMOOTH_ATOL : 0.0;
    *rtol = kind == CLCNN_ACTIVATION_RELU ? 0.0 : reads_y(kind) ? 1e-6 : LEAKY_RTOL;
}

static void backward_tolerance(clcnn_activation kind, double *atol, double *rtol) {
    *atol = reads_y(kind) ? SMOOTH_ATOL : 0.0;
    *rtol = kind == CLCNN_ACTIVATION_RELU ? 0.0 : reads_y(kind) ? SMOOTH_RTOL : LEAKY_RTOL;
}

/* Forward out of place and in place, backward overwrite (over garbage),
 * accumulate and in place (dx = dy), all against the formulas. */
static void check_kind(clcnn_context *ctx, clcnn_activation kind, float slope, size_t n,
                       uint32_t seed) {
    clcnn_activation_params params = clcnn_activation_params_default();
    params.kind = kind;
    params.negative_slope = slope;
    double atol, rtol;
    float *x = make_inputs(n, seed);
    float *dy = ts_malloc(n * sizeof *dy), *old = ts_malloc(n * sizeof *old);
    ts_fill_random(dy, n, seed + 1, -1.0f, 1.0f);
    ts_fill_random(old, n, seed + 2, -1.0f, 1.0f);
    double *want = ts_malloc(n * sizeof *want);

    /* Forward. */
    clcnn_tensor *tx = ts_vector_create(ctx, n, x), *ty = ts_vector_create(ctx, n, NULL);
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(ty, 55.0f));
    TS_ASSERT_OK(ctx, clcnn_activation_forward(ctx, &params, tx, ty));
    float *y = ts_tensor_read_all(ty);
    for (size_t i = 0; i < n; i++)
        want[i] = ref_forward(kind, slope, x[i]);
    forward_tolerance(kind, &atol, &rtol);
    TS_ASSERT_FLOATS_NEAR(y, want, n, atol, rtol);

    /* Backward from the tensor the kind reads. */
    const float *saved = reads_y(kind) ? y : x;
    clcnn_tensor *tsaved = reads_y(kind) ? ty : tx;
    clcnn_tensor *tdy = ts_vector_create(ctx, n, dy), *tdx = ts_vector_create(ctx, n, NULL);
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(tdx, 55.0f));
    TS_ASSERT_OK(ctx,
                 clcnn_activation_backward(ctx, &params, tsaved, tdy, tdx, CLCNN_GRAD_OVERWRITE));
    float *dx = ts_tensor_read_all(tdx);
    for (size_t i = 0; i < n; i++)
        want[i] = ref_backward(kind, slope, saved[i], dy[i]);
    backward_tolerance(kind, &atol, &rtol);
    TS_ASSERT_FLOATS_NEAR(dx, want, n, atol, rtol);
    free(dx);

    TS_ASSERT_OK(ctx, clcnn_tensor_write(tdx, 0, old, n));
    TS_ASSERT_OK(ctx,
                 clcnn_activation_backward(ctx, &params, tsaved, tdy, tdx, CLCNN_GRAD_ACCUMULATE));
    dx = ts_tensor_read_all(tdx);
    for (size_t i = 0; i < n; i++)
        want[i] = (double)old[i] + ref_backward(kind, slope, saved[i], dy[i]);
    TS_ASSERT_FLOATS_NEAR(dx, want, n, atol + 1e-7, rtol + 1e-7);
    free(dx);

    /* Backward in place: dx is dy. */
    TS_ASSERT_OK(ctx,
                 clcnn_activation_backward(ctx, &params, tsaved, tdy, tdy, CLCNN_GRAD_OVERWRITE));
    dx = ts_tensor_read_all(tdy);
    for (size_t i = 0; i < n; i++)
        want[i] = ref_backward(kind, slope, saved[i], dy[i]);
    TS_ASSERT_FLOATS_NEAR(dx, want, n, atol, rtol);
    free(dx);

    /* Forward in place: y is x, and x is gone. */
    TS_ASSERT_OK(ctx, clcnn_activation_forward(ctx, &params, tx, tx));
    float *in_place = ts_tensor_read_all(tx);
    TS_ASSERT_FLOATS_IDENTICAL(in_place, y, n);
    free(in_place);

    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tdx);
    free(x);
    free(y);
    free(dy);
    free(old);
    free(want);
}

static const size_t sizes[] = {1, 3, 4, 7, 16, 127, 128, 129, 4097, 16 * 8 * 64 + 5, 300007};
#define SMALL_SIZES 9 /* up to 4097 */

static void check_all_sizes(clcnn_context *ctx, clcnn_activation kind, float slope) {
    size_t count = ts_small() ? SMALL_SIZES : sizeof sizes / sizeof sizes[0];
    for (size_t i = 0; i < count; i++)
        check_kind(ctx, kind, slope, sizes[i], (uint32_t)(100 + i));
}

/* ------------------------------------------------------------------- tests */

static void test_params_default(void **state) {
    (void)state;
    clcnn_activation_params p = clcnn_activation_params_default();
    assert_int_equal(p.kind, CLCNN_ACTIVATION_RELU);
    assert_true(p.negative_slope == 0.01f);
}

/* The reference derivatives against central differences of the reference
 * functions, away from ReLU's kink. */
static void test_reference_derivatives(void **state) {
    (void)state;
    const double slopes[] = {0.01, 0.2, -0.5};
    for (size_t k = 0; k < KIND_COUNT; k++) {
        for (size_t s = 0; s < 3; s++) {
            for (int i = -60; i <= 60; i++) {
                double x = i / 10.0 + 0.013;
                double h = 1e-5;
                double numeric = (ref_forward(kinds[k], slopes[s], x + h) -
                                  ref_forward(kinds[k], slopes[s], x - h)) /
                                 (2.0 * h);
                double saved = reads_y(kinds[k]) ? ref_forward(kinds[k], slopes[s], x) : x;
                double analytic = ref_backward(kinds[k], slopes[s], saved, 1.0);
                if (fabs(numeric - analytic) > 1e-8) {
                    print_error(
                        "kind %d slope %g x %g: finite difference %.12g, derivative %.12g\n",
                        (int)kinds[k], slopes[s], x, numeric, analytic);
                    fail();
                }
            }
        }
    }
    /* PyTorch's choice at the kink: ReLU'(0) = 0, leaky ReLU'(0) = slope. */
    assert_true(ref_backward(CLCNN_ACTIVATION_RELU, 0.0, 0.0, 1.0) == 0.0);
    assert_true(ref_backward(CLCNN_ACTIVATION_LEAKY_RELU, 0.25, 0.0, 1.0) == 0.25);
}

static void test_relu(void **state) {
    check_all_sizes(*state, CLCNN_ACTIVATION_RELU, 0.01f);
}

static void test_leaky_relu(void **state) {
    check_all_sizes(*state, CLCNN_ACTIVATION_LEAKY_RELU, 0.01f);
    check_kind(*state, CLCNN_ACTIVATION_LEAKY_RELU, 0.3f, 4097, 7);
    check_kind(*state, CLCNN_ACTIVATION_LEAKY_RELU, -0.5f, 129, 8);
}

static void test_sigmoid(void **state) {
    check_all_sizes(*state, CLCNN_ACTIVATION_SIGMOID, 0.01f);
}

static void test_tanh(void **state) {
    check_all_sizes(*state, CLCNN_ACTIVATION_TANH, 0.01f);
}

/* ReLU and leaky ReLU (slope >= 0) give the same gradient from y as from x,
 * which is what an in-place forward leaves. */
static void test_relu_backward_from_y(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 1001;
    float *x = make_inputs(n, 5), *dy = ts_malloc(n * sizeof *dy);
    ts_fill_random(dy, n, 6, -1.0f, 1.0f);
    const float slopes[] = {0.0f, 0.01f, 0.5f};
    for (size_t k = 0; k < 2; k++) {
        for (size_t s = 0; s < 3; s++) {
            clcnn_activation_params p = {kinds[k], slopes[s]};
            clcnn_tensor *tx = ts_vector_create(ctx, n, x), *ty = ts_vector_create(ctx, n, NULL);
            clcnn_tensor *tdy = ts_vector_create(ctx, n, dy),
                         *from_x = ts_vector_create(ctx, n, NULL);
            clcnn_tensor *from_y = ts_vector_create(ctx, n, NULL);
            TS_ASSERT_OK(ctx, clcnn_activation_forward(ctx, &p, tx, ty));
            TS_ASSERT_OK(ctx,
                         clcnn_activation_backward(ctx, &p, tx, tdy, from_x, CLCNN_GRAD_OVERWRITE));
            TS_ASSERT_OK(ctx,
                         clcnn_activation_backward(ctx, &p, ty, tdy, from_y, CLCNN_GRAD_OVERWRITE));
            float *a = ts_tensor_read_all(from_x), *b = ts_tensor_read_all(from_y);
            TS_ASSERT_FLOATS_IDENTICAL(a, b, n);
            /* x == 0 gives 0 (ReLU) or slope * dy (leaky), as PyTorch does. */
            for (size_t i = 0; i < n; i += 7) {
                float want = kinds[k] == CLCNN_ACTIVATION_RELU ? 0.0f : slopes[s] * dy[i];
                assert_true(a[i] == want);
            }
            free(a);
            free(b);
            clcnn_tensor_destroy(tx);
            clcnn_tensor_destroy(ty);
            clcnn_tensor_destroy(tdy);
            clcnn_tensor_destroy(from_x);
            clcnn_tensor_destroy(from_y);
        }
    }
    free(x);
    free(dy);
}

/* dx may also be the saved tensor itself. */
static void test_backward_into_saved(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 517;
    float *x = make_inputs(n, 9), *dy = ts_malloc(n * sizeof *dy);
    ts_fill_random(dy, n, 10, -1.0f, 1.0f);
    double *want = ts_malloc(n * sizeof *want);
    for (size_t k = 0; k < KIND_COUNT; k++) {
        clcnn_activation_params p = clcnn_activation_params_default();
        p.kind = kinds[k];
        clcnn_tensor *t = ts_vector_create(ctx, n, x), *tdy = ts_vector_create(ctx, n, dy);
        if (reads_y(kinds[k]))
            TS_ASSERT_OK(ctx, clcnn_activation_forward(ctx, &p, t, t));
        float *saved = ts_tensor_read_all(t);
        TS_ASSERT_OK(ctx, clcnn_activation_backward(ctx, &p, t, tdy, t, CLCNN_GRAD_OVERWRITE));
        float *got = ts_tensor_read_all(t);
        for (size_t i = 0; i < n; i++)
            want[i] = ref_backward(kinds[k], p.negative_slope, saved[i], dy[i]);
        double atol, rtol;
        backward_tolerance(kinds[k], &atol, &rtol);
        TS_ASSERT_FLOATS_NEAR(got, want, n, atol, rtol);
        free(saved);
        free(got);
        clcnn_tensor_destroy(t);
        clcnn_tensor_destroy(tdy);
    }
    free(x);
    free(dy);
    free(want);
}

/* NaN passes through every kind; infinities saturate. */
static void test_special_values(void **state) {
    clcnn_context *ctx = *state;
    const float nan = NAN, inf = INFINITY;
    const float x[7] = {nan, -inf, inf, -0.0f, 0.0f, 100.0f, -100.0f};
    const double want[4][7] = {
        {0, 0.0, INFINITY, 0.0, 0.0, 100.0, 0.0},
        {0, -INFINITY, INFINITY, 0.0, 0.0, 100.0, -1.0},
        {0, 0.0, 1.0, 0.5, 0.5, 1.0, 0.0},
        {0, -1.0, 1.0, 0.0, 0.0, 1.0, -1.0},
    };
    for (size_t k = 0; k < KIND_COUNT; k++) {
        clcnn_activation_params p = clcnn_activation_params_default();
        p.kind = kinds[k];
        clcnn_tensor *tx = ts_vector_create(ctx, 7, x), *ty = ts_vector_create(ctx, 7, NULL);
        TS_ASSERT_OK(ctx, clcnn_activation_forward(ctx, &p, tx, ty));
        float *y = ts_tensor_read_all(ty);
        assert_true(isnan(y[0]));
        for (int i = 1; i < 7; i++) {
            if (isinf(want[k][i]))
                assert_true(y[i] == (float)want[k][i]);
            else
                assert_true(fabs(y[i] - want[k][i]) <= 1e-6);
        }
        free(y);
        clcnn_tensor_destroy(tx);
        clcnn_tensor_destroy(ty);
    }
    /* Backward at a NaN x: PyTorch's ReLU passes dy (x <= 0 is false), its
     * leaky ReLU scales it (x > 0 is false). Zero gradients are +0. */
    const float saved[4] = {nan, -1.0f, 0.0f, 2.0f}, dy[4] = {0.5f, -0.5f, -0.5f, 0.25f};
    const float want_relu[4] = {0.5f, 0.0f, 0.0f, 0.25f};
    const float want_leaky[4] = {0.01f * 0.5f, 0.01f * -0.5f, 0.01f * -0.5f, 0.25f};
    for (size_t k = 0; k < 2; k++) {
        clcnn_activation_params p = clcnn_activation_params_default();
        p.kind = kinds[k];
        clcnn_tensor *ts = ts_vector_create(ctx, 4, saved), *tdy = ts_vector_create(ctx, 4, dy);
        clcnn_tensor *tdx = ts_vector_create(ctx, 4, NULL);
        TS_ASSERT_OK(ctx, clcnn_activation_backward(ctx, &p, ts, tdy, tdx, CLCNN_GRAD_OVERWRITE));
        float *dx = ts_tensor_read_all(tdx);
        TS_ASSERT_FLOATS_IDENTICAL(dx, k == 0 ? want_relu : want_leaky, 4);
        free(dx);
        clcnn_tensor_destroy(ts);
        clcnn_tensor_destroy(tdy);
        clcnn_tensor_destroy(tdx);
    }
}

static void test_bad_arguments(void **state) {
    clcnn_context *ctx = *state;
    clcnn_activation_params p = clcnn_activation_params_default();
    clcnn_tensor *a = ts_vector_create(ctx, 10, NULL), *b = ts_vector_create(ctx, 10, NULL);
    clcnn_tensor *c = ts_vector_create(ctx, 10, NULL), *short_one = ts_vector_create(ctx, 9, NULL);
    const clcnn_grad_mode ow = CLCNN_GRAD_OVERWRITE;

    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_activation_forward(NULL, &p, a, b));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_activation_forward(ctx, NULL, a, b));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_activation_forward(ctx, &p, NULL, b));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_activation_forward(ctx, &p, a, NULL));
    clcnn_activation_params bad = p;
    bad.kind = (clcnn_activation)4;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_activation_forward(ctx, &bad, a, b));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "unknown activation 4");
    bad.kind = (clcnn_activation)-1;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_activation_forward(ctx, &bad, a, b));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_activation_forward(ctx, &p, a, short_one));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[10]");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[9]");

    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_activation_backward(NULL, &p, a, b, c, ow));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_activation_backward(ctx, NULL, a, b, c, ow));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_activation_backward(ctx, &bad, a, b, c, ow));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_activation_backward(ctx, &p, NULL, b, c, ow));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_activation_backward(ctx, &p, a, NULL, c, ow));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_activation_backward(ctx, &p, a, b, NULL, ow));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_activation_backward(ctx, &p, a, b, c, (clcnn_grad_mode)2));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_activation_backward(ctx, &p, short_one, b, c, ow));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_activation_backward(ctx, &p, a, short_one, c, ow));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_activation_backward(ctx, &p, a, b, short_one, ow));

    clcnn_context *other = ts_context_create();
    clcnn_tensor *o = ts_vector_create(other, 10, NULL);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_activation_forward(ctx, &p, o, b));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_activation_forward(ctx, &p, a, o));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_activation_backward(ctx, &p, o, b, c, ow));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_activation_backward(ctx, &p, a, o, c, ow));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_activation_backward(ctx, &p, a, b, o, ow));
    clcnn_tensor_destroy(o);
    clcnn_context_destroy(other);

    clcnn_tensor_destroy(a);
    clcnn_tensor_destroy(b);
    clcnn_tensor_destroy(c);
    clcnn_tensor_destroy(short_one);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_default),
        cmocka_unit_test(test_reference_derivatives),
        cmocka_unit_test(test_relu),
        cmocka_unit_test(test_leaky_relu),
        cmocka_unit_test(test_sigmoid),
        cmocka_unit_test(test_tanh),
        cmocka_unit_test(test_relu_backward_from_y),
        cmocka_unit_test(test_backward_into_saved),
        cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
