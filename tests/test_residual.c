/* The residual join (y = a + b, optionally with a fused ReLU) against the
 * double reference in tests/ref/residual_ref.c and bit for bit against a
 * separate clcnn_add + ReLU (forward) and clcnn_activation_backward
 * (backward), on awkward shapes (batch 1, odd sizes, element counts that
 * are no multiple of any vector width or chunk), both grad modes per
 * gradient, absent gradients, every whole-tensor aliasing (in place, da and
 * db the same tensor), NaN, infinities and signed zeros, the reference's
 * gradient against central finite differences, and every bad argument with
 * its exact status. CLCNN_TEST_SMALL (or an Oclgrind device) keeps every
 * case to a few thousand elements. */
#include "support/test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn/activation.h"
#include "clcnn/elementwise.h"
#include "clcnn/residual.h"
#include "ref/residual_ref.h"

typedef struct shape {
    size_t ndim;
    size_t dims[4];
} shape;

static const shape small_shapes[] = {
    {4, {1, 1, 1, 1}}, {4, {1, 3, 5, 7}}, {2, {3, 17}}, {4, {2, 3, 7, 9}}, {1, {129}},
};
static const shape large_shapes[] = {
    {4, {4, 16, 13, 13}},
    {4, {3, 64, 14, 14}},
    {4, {1, 1, 1, 300007}},
};

static size_t numel(const shape *s) {
    size_t n = 1;
    for (size_t i = 0; i < s->ndim; i++)
        n *= s->dims[i];
    return n;
}

static clcnn_tensor *make(clcnn_context *ctx, const shape *s, const float *data) {
    return ts_tensor_create(ctx, s->ndim, s->dims, data);
}

/* The reference rounded to float: every result is one float addition (the
 * double sum of two floats is exact), so the device must give these bits. */
static float *rounded(const double *values, size_t n) {
    float *out = ts_malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = (float)values[i];
    return out;
}

static double *reference_forward(const float *a, const float *b, size_t n, int relu) {
    double *ad = ts_to_double(a, n), *bd = ts_to_double(b, n);
    double *y = ts_malloc(n * sizeof *y);
    residual_ref_forward(n, ad, bd, relu, y);
    free(ad);
    free(bd);
    return y;
}

/* ---------------------------------------------------------------- forward */

static void check_forward(clcnn_context *ctx, const shape *s, int relu, uint32_t seed) {
    const size_t n = numel(s);
    float *a = ts_random_floats(n, seed, -2.0f, 2.0f),
          *b = ts_random_floats(n, seed + 1, -2.0f, 2.0f);
    double *want = reference_forward(a, b, n, relu);
    float *want_bits = rounded(want, n);
    clcnn_tensor *ta = make(ctx, s, a), *tb = make(ctx, s, b);
    clcnn_tensor *ty = ts_tensor_filled(ctx, s->ndim, s->dims, NAN);
    TS_ASSERT_OK(ctx, clcnn_residual_forward(ctx, ta, tb, relu, ty));
    float *got = ts_tensor_read_all(ty);
    TS_ASSERT_FLOATS_IDENTICAL(got, want_bits, n);
    free(got);

    /* The same bits as a separate add and ReLU. */
    clcnn_tensor *separate = ts_tensor_filled(ctx, s->ndim, s->dims, NAN);
    TS_ASSERT_OK(ctx, clcnn_add(ctx, ta, tb, separate));
    if (relu) {
        clcnn_activation_params p = clcnn_activation_params_default();
        TS_ASSERT_OK(ctx, clcnn_activation_forward(ctx, &p, separate, separate));
    }
    float *fused = ts_tensor_read_all(ty), *apart = ts_tensor_read_all(separate);
    TS_ASSERT_FLOATS_IDENTICAL(fused, apart, n);
    free(fused);
    free(apart);

    clcnn_tensor_destroy(separate);
    clcnn_tensor_destroy(ta);
    clcnn_tensor_destroy(tb);
    clcnn_tensor_destroy(ty);
    free(want_bits);
    free(want);
    free(a);
    free(b);
}

static void test_forward(void **state) {
    clcnn_context *ctx = *state;
    uint32_t seed = 100;
    TS_FOR_EACH_CASE(shape, s, small_shapes, large_shapes, {
        check_forward(ctx, s, 0, seed++);
        check_forward(ctx, s, 1, seed++);
    });
}

/* --------------------------------------------------------------- backward */

/* Backward with the given modes (grad NULL: absent), against the reference
 * and, with the ReLU, against clcnn_activation_backward's bits. */
static void check_backward_modes(clcnn_context *ctx, const shape *s, int relu, int with_da,
                                 clcnn_grad_mode da_mode, int with_db, clcnn_grad_mode db_mode,
                                 uint32_t seed) {
    const size_t n = numel(s);
    float *a = ts_random_floats(n, seed, -2.0f, 2.0f),
          *b = ts_random_floats(n, seed + 1, -2.0f, 2.0f);
    float *dy = ts_random_floats(n, seed + 2, -1.0f, 1.0f);
    float *da_old = ts_random_floats(n, seed + 3, -1.0f, 1.0f);
    float *db_old = ts_random_floats(n, seed + 4, -1.0f, 1.0f);
    double *y = reference_forward(a, b, n, relu);
    float *yf = rounded(y, n);
    double *yd = ts_to_double(yf, n), *dyd = ts_to_double(dy, n);
    double *grad = ts_malloc(n * sizeof *grad), *want = ts_malloc(n * sizeof *want);
    residual_ref_backward(n, yd, dyd, relu, grad);

    clcnn_tensor *ty = make(ctx, s, yf), *tdy = make(ctx, s, dy);
    /* An overwritten gradient starts as NaN: any element not written shows. */
    clcnn_tensor *tda = ts_tensor_filled(ctx, s->ndim, s->dims, NAN);
    clcnn_tensor *tdb = ts_tensor_filled(ctx, s->ndim, s->dims, NAN);
    if (da_mode == CLCNN_GRAD_ACCUMULATE)
        TS_ASSERT_OK(ctx, clcnn_tensor_write(tda, 0, da_old, n));
    if (db_mode == CLCNN_GRAD_ACCUMULATE)
        TS_ASSERT_OK(ctx, clcnn_tensor_write(tdb, 0, db_old, n));
    TS_ASSERT_OK(ctx,
                 clcnn_residual_backward(ctx, relu, relu ? ty : NULL, tdy, with_da ? tda : NULL,
                                         da_mode, with_db ? tdb : NULL, db_mode));
    const int with[2] = {with_da, with_db};
    const clcnn_grad_mode modes[2] = {da_mode, db_mode};
    const float *old[2] = {da_old, db_old};
    clcnn_tensor *grads[2] = {tda, tdb};
    for (int g = 0; g < 2; g++) {
        float *got = ts_tensor_read_all(grads[g]);
        if (!with[g]) {
            /* An absent gradient's tensor is untouched. */
            for (size_t i = 0; i < n; i++)
                if (modes[g] == CLCNN_GRAD_OVERWRITE)
                    assert_true(isnan(got[i]));
                else
                    assert_true(got[i] == old[g][i]);
            free(got);
            continue;
        }
        for (size_t i = 0; i < n; i++)
            want[i] = modes[g] == CLCNN_GRAD_ACCUMULATE ? (double)old[g][i] + grad[i] : grad[i];
        float *want_bits = rounded(want, n);
        TS_ASSERT_FLOATS_IDENTICAL(got, want_bits, n);
        free(want_bits);
        free(got);
    }

    if (relu) {
        /* The same bits as the ReLU's own backward from y. */
        clcnn_activation_params p = clcnn_activation_params_default();
        clcnn_tensor *dx = ts_tensor_filled(ctx, s->ndim, s->dims, NAN);
        TS_ASSERT_OK(ctx, clcnn_activation_backward(ctx, &p, ty, tdy, dx, CLCNN_GRAD_OVERWRITE));
        TS_ASSERT_OK(ctx, clcnn_residual_backward(ctx, relu, ty, tdy, tda, CLCNN_GRAD_OVERWRITE,
                                                  NULL, CLCNN_GRAD_OVERWRITE));
        float *separate = ts_tensor_read_all(dx), *fused = ts_tensor_read_all(tda);
        TS_ASSERT_FLOATS_IDENTICAL(fused, separate, n);
        free(separate);
        free(fused);
        clcnn_tensor_destroy(dx);
    }

    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tda);
    clcnn_tensor_destroy(tdb);
    free(a);
    free(b);
    free(dy);
    free(da_old);
    free(db_old);
    free(y);
    free(yf);
    free(yd);
    free(dyd);
    free(grad);
    free(want);
}

static void test_backward(void **state) {
    clcnn_context *ctx = *state;
    const clcnn_grad_mode W = CLCNN_GRAD_OVERWRITE, A = CLCNN_GRAD_ACCUMULATE;
    uint32_t seed = 500;
    TS_FOR_EACH_CASE(shape, s, small_shapes, large_shapes, {
        for (int relu = 0; relu < 2; relu++) {
            check_backward_modes(ctx, s, relu, 1, W, 1, A, seed += 10);
            check_backward_modes(ctx, s, relu, 1, A, 1, W, seed += 10);
        }
    });
    /* Every mode pair and absent gradients, on the small shapes. */
    for (size_t i = 0; i < sizeof small_shapes / sizeof small_shapes[0]; i++) {
        const shape *s = &small_shapes[i];
        for (int relu = 0; relu < 2; relu++) {
            check_backward_modes(ctx, s, relu, 1, W, 1, W, seed += 10);
            check_backward_modes(ctx, s, relu, 1, A, 1, A, seed += 10);
            check_backward_modes(ctx, s, relu, 1, W, 0, W, seed += 10);
            check_backward_modes(ctx, s, relu, 0, A, 1, A, seed += 10);
            check_backward_modes(ctx, s, relu, 1, A, 0, A, seed += 10);
            check_backward_modes(ctx, s, relu, 0, W, 1, W, seed += 10);
        }
    }
}

/* --------------------------------------------------------------- aliasing */

static float *read_vector(clcnn_tensor *t) {
    return ts_tensor_read_all(t);
}

/* y written over a, over b, and a + a into a; a reshaped tensor of a's
 * storage counts as a itself. */
static void test_forward_in_place(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 1031;
    const shape s = {1, {n}};
    float *a = ts_random_floats(n, 7, -2.0f, 2.0f), *b = ts_random_floats(n, 8, -2.0f, 2.0f);
    for (int relu = 0; relu < 2; relu++) {
        double *sum = reference_forward(a, b, n, relu);
        float *want = rounded(sum, n);
        free(sum);
        double *twice = reference_forward(a, a, n, relu);
        float *want_twice = rounded(twice, n);
        free(twice);
        clcnn_tensor *ta = make(ctx, &s, a), *tb = make(ctx, &s, b);
        TS_ASSERT_OK(ctx, clcnn_residual_forward(ctx, ta, tb, relu, ta));
        float *got = read_vector(ta);
        TS_ASSERT_FLOATS_IDENTICAL(got, want, n);
        free(got);
        TS_ASSERT_OK(ctx, clcnn_tensor_write(ta, 0, a, n));
        TS_ASSERT_OK(ctx, clcnn_residual_forward(ctx, ta, tb, relu, tb));
        got = read_vector(tb);
        TS_ASSERT_FLOATS_IDENTICAL(got, want, n);
        free(got);
        TS_ASSERT_OK(ctx, clcnn_residual_forward(ctx, ta, ta, relu, ta));
        got = read_vector(ta);
        TS_ASSERT_FLOATS_IDENTICAL(got, want_twice, n);
        free(got);

        /* Through a reshaped tensor of the same storage. */
        TS_ASSERT_OK(ctx, clcnn_tensor_write(ta, 0, a, n));
        TS_ASSERT_OK(ctx, clcnn_tensor_write(tb, 0, b, n));
        clcnn_tensor *view = NULL;
        TS_ASSERT_OK(ctx, clcnn_tensor_reshape(ta, 1, &n, &view));
        TS_ASSERT_OK(ctx, clcnn_residual_forward(ctx, ta, tb, relu, view));
        got = read_vector(ta);
        TS_ASSERT_FLOATS_IDENTICAL(got, want, n);
        free(got);
        clcnn_tensor_destroy(view);
        clcnn_tensor_destroy(ta);
        clcnn_tensor_destroy(tb);
        free(want);
        free(want_twice);
    }
    free(a);
    free(b);
}

/* da and db the same tensor: da is written first, then db. */
static void check_same_gradient(clcnn_context *ctx, int relu, clcnn_grad_mode da_mode,
                                clcnn_grad_mode db_mode) {
    const size_t n = 517;
    const shape s = {1, {n}};
    float *y = ts_random_floats(n, 11, -1.0f, 1.0f), *dy = ts_random_floats(n, 12, -1.0f, 1.0f);
    float *old = ts_random_floats(n, 13, -1.0f, 1.0f);
    double *yd = ts_to_double(y, n), *dyd = ts_to_double(dy, n);
    double *grad = ts_malloc(n * sizeof *grad), *want = ts_malloc(n * sizeof *want);
    residual_ref_backward(n, yd, dyd, relu, grad);
    for (size_t i = 0; i < n; i++) {
        double after_da =
            da_mode == CLCNN_GRAD_ACCUMULATE ? (double)(float)(old[i] + grad[i]) : grad[i];
        want[i] = db_mode == CLCNN_GRAD_ACCUMULATE ? after_da + grad[i] : grad[i];
    }
    float *want_bits = rounded(want, n);
    clcnn_tensor *ty = make(ctx, &s, y), *tdy = make(ctx, &s, dy), *g = make(ctx, &s, old);
    TS_ASSERT_OK(ctx, clcnn_residual_backward(ctx, relu, ty, tdy, g, da_mode, g, db_mode));
    float *got = read_vector(g);
    TS_ASSERT_FLOATS_IDENTICAL(got, want_bits, n);
    free(got);
    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(g);
    free(want_bits);
    free(y);
    free(dy);
    free(old);
    free(yd);
    free(dyd);
    free(grad);
    free(want);
}

static void test_backward_same_gradient(void **state) {
    clcnn_context *ctx = *state;
    const clcnn_grad_mode W = CLCNN_GRAD_OVERWRITE, A = CLCNN_GRAD_ACCUMULATE;
    for (int relu = 0; relu < 2; relu++) {
        check_same_gradient(ctx, relu, W, A); /* y = a + a: twice the gradient */
        check_same_gradient(ctx, relu, A, A); /* ... added to the old value */
        check_same_gradient(ctx, relu, A, W); /* db's overwrite wins */
        check_same_gradient(ctx, relu, W, W);
    }
}

/* The gradients written over dy and over y (read first, element by element). */
static void test_backward_in_place(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 1031;
    const shape s = {1, {n}};
    float *y = ts_random_floats(n, 21, -1.0f, 1.0f), *dy = ts_random_floats(n, 22, -1.0f, 1.0f);
    double *yd = ts_to_double(y, n), *dyd = ts_to_double(dy, n);
    for (int relu = 0; relu < 2; relu++) {
        double *grad = ts_malloc(n * sizeof *grad);
        residual_ref_backward(n, yd, dyd, relu, grad);
        float *want = rounded(grad, n);
        clcnn_tensor *ty = make(ctx, &s, y), *tdy = make(ctx, &s, dy);
        clcnn_tensor *other = ts_tensor_filled(ctx, 1, &n, NAN);
        /* da over dy, db over y. */
        TS_ASSERT_OK(ctx, clcnn_residual_backward(ctx, relu, ty, tdy, tdy, CLCNN_GRAD_OVERWRITE,
                                                  relu ? ty : other, CLCNN_GRAD_OVERWRITE));
        float *got = read_vector(tdy);
        TS_ASSERT_FLOATS_IDENTICAL(got, want, n);
        free(got);
        got = read_vector(relu ? ty : other);
        TS_ASSERT_FLOATS_IDENTICAL(got, want, n);
        free(got);
        clcnn_tensor_destroy(ty);
        clcnn_tensor_destroy(tdy);
        clcnn_tensor_destroy(other);
        free(want);
        free(grad);
    }
    free(y);
    free(dy);
    free(yd);
    free(dyd);
}

/* ---------------------------------------------------------- special values */

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* NaN passes the ReLU, -inf stops at +0, signed zeros: the same bits as the
 * activation op; the gradient is +0 where y <= 0 (also for a negative dy)
 * and dy where y is NaN. */
static void test_special_values(void **state) {
    clcnn_context *ctx = *state;
    const float a[] = {NAN, -INFINITY, INFINITY, -0.0f, 0.0f, -1.0f, 1.0f, -0.0f, 3.0f};
    const float b[] = {1.0f, 2.0f, -1.0f, -0.0f, -0.0f, 1.0f, -1.0f, 0.0f, -5.0f};
    const size_t n = sizeof a / sizeof a[0];
    clcnn_tensor *ta = ts_vector_create(ctx, n, a), *tb = ts_vector_create(ctx, n, b);
    clcnn_tensor *ty = ts_vector_create(ctx, n, NULL), *sum = ts_vector_create(ctx, n, NULL);
    TS_ASSERT_OK(ctx, clcnn_residual_forward(ctx, ta, tb, 1, ty));
    TS_ASSERT_OK(ctx, clcnn_add(ctx, ta, tb, sum));
    clcnn_activation_params relu = clcnn_activation_params_default();
    TS_ASSERT_OK(ctx, clcnn_activation_forward(ctx, &relu, sum, sum));
    float *got = read_vector(ty), *separate = read_vector(sum);
    TS_ASSERT_FLOATS_IDENTICAL(got, separate, n);
    assert_true(isnan(got[0]));
    assert_int_equal(bits_of(got[1]), 0u);          /* -inf + 2 -> +0 */
    assert_true(isinf(got[2]) && got[2] > 0.0f);    /* inf - 1 */
    assert_int_equal(bits_of(got[3]), 0x80000000u); /* -0 + -0 = -0 passes */
    assert_int_equal(bits_of(got[4]), 0u);
    free(separate);

    /* Backward from y: NaN passes dy, zeros and negatives give +0. */
    const float dy[] = {-2.0f, -3.0f, 4.0f, -5.0f, -6.0f, -7.0f, -8.0f, -9.0f, 10.0f};
    clcnn_tensor *tdy = ts_vector_create(ctx, n, dy), *da = ts_vector_create(ctx, n, NULL);
    clcnn_tensor *dx = ts_vector_create(ctx, n, NULL);
    TS_ASSERT_OK(ctx, clcnn_residual_backward(ctx, 1, ty, tdy, da, CLCNN_GRAD_OVERWRITE, NULL,
                                              CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_OK(ctx, clcnn_activation_backward(ctx, &relu, ty, tdy, dx, CLCNN_GRAD_OVERWRITE));
    float *grad = read_vector(da), *grad_separate = read_vector(dx);
    TS_ASSERT_FLOATS_IDENTICAL(grad, grad_separate, n);
    assert_true(grad[0] == -2.0f);
    for (size_t i = 1; i < n; i++)
        if (i != 2)
            assert_int_equal(bits_of(grad[i]), 0u);
    assert_true(grad[2] == 4.0f);
    free(grad);
    free(grad_separate);
    free(got);
    clcnn_tensor *tensors[] = {ta, tb, ty, sum, tdy, da, dx};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++)
        clcnn_tensor_destroy(tensors[i]);
}

/* -------------------------------------------------------------- reference */

/* The reference gradient against central differences of the reference
 * forward, in double, for L = sum(w * y); the data keeps a + b clear of
 * the ReLU's kink (asserted). */
static void test_reference_gradients(void **state) {
    (void)state;
    enum { N = 40 };
    double a[N], b[N], w[N], y[N], grad[N];
    float tmp[N];
    ts_fill_random(tmp, N, 31, -2.0f, 2.0f);
    for (size_t i = 0; i < N; i++)
        a[i] = tmp[i];
    ts_fill_random(tmp, N, 32, -2.0f, 2.0f);
    for (size_t i = 0; i < N; i++) {
        b[i] = tmp[i];
        if (fabs(a[i] + b[i]) < 1e-2)
            b[i] += 0.1;
        assert_true(fabs(a[i] + b[i]) > 1e-3);
    }
    ts_fill_random(tmp, N, 33, -1.0f, 1.0f);
    for (size_t i = 0; i < N; i++)
        w[i] = tmp[i];
    const double h = 1e-6;
    for (int relu = 0; relu < 2; relu++) {
        residual_ref_forward(N, a, b, relu, y);
        residual_ref_backward(N, y, w, relu, grad);
        int zero_gradients = 0;
        for (size_t i = 0; i < N; i++) {
            double *inputs[2] = {a, b};
            for (int k = 0; k < 2; k++) {
                double saved = inputs[k][i], plus = 0.0, minus = 0.0;
                inputs[k][i] = saved + h;
                residual_ref_forward(N, a, b, relu, y);
                for (size_t j = 0; j < N; j++)
                    plus += w[j] * y[j];
                inputs[k][i] = saved - h;
                residual_ref_forward(N, a, b, relu, y);
                for (size_t j = 0; j < N; j++)
                    minus += w[j] * y[j];
                inputs[k][i] = saved;
                assert_true(fabs((plus - minus) / (2.0 * h) - grad[i]) <= 1e-6);
            }
            zero_gradients += grad[i] == 0.0;
        }
        /* The ReLU's zeros were exercised, and only with it. */
        assert_true(relu ? zero_gradients > 5 : zero_gradients == 0);
    }
}

/* ---------------------------------------------------------- bad arguments */

static void test_bad_arguments(void **state) {
    clcnn_context *ctx = *state;
    const size_t dims[4] = {2, 3, 4, 5}, other_dims[4] = {2, 3, 5, 4};
    clcnn_tensor *a = ts_tensor_filled(ctx, 4, dims, 0.0f),
                 *b = ts_tensor_filled(ctx, 4, dims, 0.0f);
    clcnn_tensor *y = ts_tensor_filled(ctx, 4, dims, 0.0f);
    clcnn_tensor *wrong = ts_tensor_filled(ctx, 4, other_dims, 0.0f);
    const clcnn_status bad = CLCNN_ERROR_INVALID_ARGUMENT, shape_err = CLCNN_ERROR_INVALID_SHAPE;
    const clcnn_grad_mode W = CLCNN_GRAD_OVERWRITE, A = CLCNN_GRAD_ACCUMULATE;

    TS_ASSERT_STATUS(NULL, bad, clcnn_residual_forward(NULL, a, b, 0, y));
    TS_ASSERT_STATUS(ctx, bad, clcnn_residual_forward(ctx, a, b, (clcnn_fused_activation)7, y));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "unknown fused activation 7");
    TS_ASSERT_STATUS(ctx, bad,
                     clcnn_residual_backward(ctx, (clcnn_fused_activation)7, y, y, a, W, b, W));
    TS_ASSERT_STATUS(ctx, bad, clcnn_residual_forward(ctx, NULL, b, 0, y));
    TS_ASSERT_STATUS(ctx, bad, clcnn_residual_forward(ctx, a, NULL, 1, y));
    TS_ASSERT_STATUS(ctx, bad, clcnn_residual_forward(ctx, a, b, 0, NULL));
    TS_ASSERT_STATUS(ctx, shape_err, clcnn_residual_forward(ctx, wrong, b, 0, y));
    TS_ASSERT_STATUS(ctx, shape_err, clcnn_residual_forward(ctx, a, wrong, 1, y));
    TS_ASSERT_STATUS(ctx, shape_err, clcnn_residual_forward(ctx, a, b, 0, wrong));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "clcnn_residual_forward");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[2, 3, 5, 4]");
    /* Same count, another shape: refused too. */
    const size_t flat = 120;
    clcnn_tensor *flat_y = ts_tensor_filled(ctx, 1, &flat, 0.0f);
    TS_ASSERT_STATUS(ctx, shape_err, clcnn_residual_forward(ctx, a, b, 0, flat_y));

    TS_ASSERT_STATUS(NULL, bad, clcnn_residual_backward(NULL, 0, NULL, y, a, W, b, W));
    TS_ASSERT_STATUS(ctx, bad, clcnn_residual_backward(ctx, 0, NULL, NULL, a, W, b, W));
    TS_ASSERT_STATUS(ctx, bad, clcnn_residual_backward(ctx, 1, NULL, y, a, W, b, W));
    TS_ASSERT_STATUS(ctx, bad, clcnn_residual_backward(ctx, 0, NULL, y, NULL, W, NULL, W));
    TS_ASSERT_STATUS(ctx, bad,
                     clcnn_residual_backward(ctx, 0, NULL, y, a, (clcnn_grad_mode)7, b, W));
    TS_ASSERT_STATUS(ctx, bad,
                     clcnn_residual_backward(ctx, 0, NULL, y, a, A, b, (clcnn_grad_mode)-1));
    /* The mode of an absent gradient is not looked at. */
    TS_ASSERT_OK(ctx, clcnn_residual_backward(ctx, 0, NULL, y, a, A, NULL, (clcnn_grad_mode)7));
    TS_ASSERT_STATUS(ctx, shape_err, clcnn_residual_backward(ctx, 1, wrong, y, a, W, b, W));
    TS_ASSERT_STATUS(ctx, shape_err, clcnn_residual_backward(ctx, 0, NULL, wrong, a, W, b, W));
    TS_ASSERT_STATUS(ctx, shape_err, clcnn_residual_backward(ctx, 0, NULL, y, wrong, W, b, W));
    TS_ASSERT_STATUS(ctx, shape_err, clcnn_residual_backward(ctx, 0, NULL, y, NULL, W, wrong, A));
    /* y is checked when given, even without the ReLU. */
    TS_ASSERT_STATUS(ctx, shape_err, clcnn_residual_backward(ctx, 0, wrong, y, a, W, b, W));

    clcnn_context *other = ts_context_create();
    clcnn_tensor *o = ts_tensor_filled(other, 4, dims, 0.0f);
    const clcnn_status mismatch = CLCNN_ERROR_CONTEXT_MISMATCH;
    TS_ASSERT_STATUS(ctx, mismatch, clcnn_residual_forward(ctx, o, b, 0, y));
    TS_ASSERT_STATUS(ctx, mismatch, clcnn_residual_forward(ctx, a, o, 0, y));
    TS_ASSERT_STATUS(ctx, mismatch, clcnn_residual_forward(ctx, a, b, 1, o));
    TS_ASSERT_STATUS(ctx, mismatch, clcnn_residual_backward(ctx, 1, o, y, a, W, b, W));
    TS_ASSERT_STATUS(ctx, mismatch, clcnn_residual_backward(ctx, 0, NULL, o, a, W, b, W));
    TS_ASSERT_STATUS(ctx, mismatch, clcnn_residual_backward(ctx, 0, NULL, y, o, W, b, W));
    TS_ASSERT_STATUS(ctx, mismatch, clcnn_residual_backward(ctx, 0, NULL, y, a, W, o, W));
    clcnn_tensor_destroy(o);
    clcnn_context_destroy(other);

    /* Overlapping views of one buffer that are not the same storage. */
    size_t align = 0;
    TS_ASSERT_OK(ctx, clcnn__view_alignment(ctx, &align));
    const size_t step = align / sizeof(float), count = 4 * step, root_count = 8 * step;
    clcnn_tensor *root = ts_tensor_filled(ctx, 1, &root_count, 0.0f);
    clcnn_tensor *first = NULL, *shifted = NULL, *apart = NULL;
    TS_ASSERT_OK(ctx, clcnn__storage_view(root->storage, 0, 1, &count, &first));
    TS_ASSERT_OK(ctx, clcnn__storage_view(root->storage, step, 1, &count, &shifted));
    TS_ASSERT_OK(ctx, clcnn__storage_view(root->storage, count, 1, &count, &apart));
    clcnn_tensor *v = ts_tensor_filled(ctx, 1, &count, 0.0f);
    TS_ASSERT_STATUS(ctx, bad, clcnn_residual_forward(ctx, first, v, 0, shifted));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "share memory");
    TS_ASSERT_STATUS(ctx, bad, clcnn_residual_forward(ctx, v, shifted, 1, first));
    TS_ASSERT_STATUS(ctx, bad, clcnn_residual_backward(ctx, 1, first, v, shifted, W, NULL, W));
    TS_ASSERT_STATUS(ctx, bad, clcnn_residual_backward(ctx, 0, NULL, v, first, W, shifted, W));
    TS_ASSERT_STATUS(ctx, bad, clcnn_residual_backward(ctx, 0, NULL, first, v, W, shifted, A));
    /* Views side by side do not overlap. */
    TS_ASSERT_OK(ctx, clcnn_residual_forward(ctx, first, v, 0, apart));
    TS_ASSERT_OK(ctx, clcnn_residual_backward(ctx, 0, NULL, v, first, W, apart, A));

    clcnn_tensor *tensors[] = {a, b, y, wrong, flat_y, root, first, shifted, apart, v};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++)
        clcnn_tensor_destroy(tensors[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward),
        cmocka_unit_test(test_backward),
        cmocka_unit_test(test_forward_in_place),
        cmocka_unit_test(test_backward_same_gradient),
        cmocka_unit_test(test_backward_in_place),
        cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_reference_gradients),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
