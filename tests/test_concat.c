/* Concatenation along dimension 1 against the double reference in
 * tests/ref/concat_ref.c, forward and backward in both grad modes, bit for
 * bit (the op copies, or adds two floats): 4-D NCHW, 2-D [N, C] and 3-D
 * inputs, batch 1, odd sizes, single channels, channel runs that are no
 * multiple of any vector width, more inputs than one launch takes, the same
 * input twice, views into a larger buffer; the reference's gradient against
 * central finite differences; every bad argument with its exact status.
 * CLCNN_TEST_SMALL (or an Oclgrind device) keeps every case small. */
#include "support/test_support.h"

#include <math.h>
#include <stdlib.h>

#include "clcnn/concat.h"
#include "ref/concat_ref.h"

#define MAX_INPUTS 12

typedef struct concat_case {
    size_t ndim; /* 2 to 4 */
    size_t samples;
    size_t spatial[2]; /* dimensions 2 .. ndim - 1 */
    size_t count;
    size_t channels[MAX_INPUTS];
} concat_case;

static const concat_case small_cases[] = {
    {4, 1, {1, 1}, 2, {1, 1}},
    {4, 1, {3, 5}, 2, {1, 2}},
    {4, 2, {7, 9}, 3, {3, 1, 4}},
    {2, 3, {0, 0}, 3, {17, 1, 6}},
    {2, 1, {0, 0}, 2, {1, 1}},
    {3, 2, {11, 0}, 2, {2, 5}},
    {4, 2, {2, 3}, 11, {1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1}}, /* two launches */
    {4, 3, {5, 5}, 9, {2, 1, 1, 1, 1, 1, 1, 1, 3}},        /* one past a launch */
};
static const concat_case large_cases[] = {
    {4, 8, {14, 14}, 2, {64, 64}},
    {4, 5, {13, 13}, 3, {16, 7, 33}},
    {2, 128, {0, 0}, 4, {100, 3, 29, 512}},
    {4, 2, {31, 29}, 12, {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8}},
};

static size_t inner_of(const concat_case *c) {
    size_t inner = 1;
    for (size_t d = 2; d < c->ndim; d++)
        inner *= c->spatial[d - 2];
    return inner;
}

static size_t total_channels(const concat_case *c) {
    size_t total = 0;
    for (size_t k = 0; k < c->count; k++)
        total += c->channels[k];
    return total;
}

/* The dimensions of input k (channels[k]) or of y (channels = 0: the sum). */
static void dims_of(const concat_case *c, size_t channels, size_t *dims) {
    dims[0] = c->samples;
    dims[1] = channels ? channels : total_channels(c);
    for (size_t d = 2; d < c->ndim; d++)
        dims[d] = c->spatial[d - 2];
}

static float *rounded(const double *values, size_t n) {
    float *out = ts_malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = (float)values[i];
    return out;
}

/* Forward, backward overwriting NaN, backward accumulating, all bitwise
 * against the reference. */
static void check_case(clcnn_context *ctx, const concat_case *c, uint32_t seed) {
    const size_t inner = inner_of(c), total = total_channels(c);
    const size_t y_count = c->samples * total * inner;
    size_t dims[4], y_dims[4];
    dims_of(c, 0, y_dims);
    clcnn_tensor *inputs[MAX_INPUTS], *grads[MAX_INPUTS];
    float *x[MAX_INPUTS], *old[MAX_INPUTS];
    double *xd[MAX_INPUTS], *want_grad[MAX_INPUTS];
    size_t counts[MAX_INPUTS];
    for (size_t k = 0; k < c->count; k++) {
        counts[k] = c->samples * c->channels[k] * inner;
        dims_of(c, c->channels[k], dims);
        x[k] = ts_random_floats(counts[k], seed + (uint32_t)k, -3.0f, 3.0f);
        old[k] = ts_random_floats(counts[k], seed + 100 + (uint32_t)k, -1.0f, 1.0f);
        xd[k] = ts_to_double(x[k], counts[k]);
        want_grad[k] = ts_malloc(counts[k] * sizeof(double));
        inputs[k] = ts_tensor_create(ctx, c->ndim, dims, x[k]);
        grads[k] = ts_tensor_filled(ctx, c->ndim, dims, NAN);
    }
    double *want_y = ts_malloc(y_count * sizeof *want_y);
    concat_ref_forward(c->count, (const double *const *)xd, c->channels, c->samples, inner, want_y);
    float *want_y_bits = rounded(want_y, y_count);
    clcnn_tensor *y = ts_tensor_filled(ctx, c->ndim, y_dims, NAN);
    TS_ASSERT_OK(ctx, clcnn_concat_forward(ctx, c->count, (const clcnn_tensor *const *)inputs, y));
    float *got = ts_tensor_read_all(y);
    TS_ASSERT_FLOATS_IDENTICAL(got, want_y_bits, y_count);
    free(got);

    /* Backward: dy random, grads overwritten (they start as NaN), then
     * accumulated onto random values. */
    float *dy = ts_random_floats(y_count, seed + 200, -1.0f, 1.0f);
    double *dyd = ts_to_double(dy, y_count);
    clcnn_tensor *tdy = ts_tensor_create(ctx, c->ndim, y_dims, dy);
    concat_ref_backward(c->count, dyd, c->channels, c->samples, inner, want_grad);
    TS_ASSERT_OK(ctx, clcnn_concat_backward(ctx, tdy, c->count, grads, CLCNN_GRAD_OVERWRITE));
    for (size_t k = 0; k < c->count; k++) {
        float *want = rounded(want_grad[k], counts[k]);
        got = ts_tensor_read_all(grads[k]);
        TS_ASSERT_FLOATS_IDENTICAL(got, want, counts[k]);
        free(got);
        free(want);
        TS_ASSERT_OK(ctx, clcnn_tensor_write(grads[k], 0, old[k], counts[k]));
    }
    TS_ASSERT_OK(ctx, clcnn_concat_backward(ctx, tdy, c->count, grads, CLCNN_GRAD_ACCUMULATE));
    for (size_t k = 0; k < c->count; k++) {
        for (size_t i = 0; i < counts[k]; i++)
            want_grad[k][i] += old[k][i];
        float *want = rounded(want_grad[k], counts[k]);
        got = ts_tensor_read_all(grads[k]);
        TS_ASSERT_FLOATS_IDENTICAL(got, want, counts[k]);
        free(got);
        free(want);
    }

    for (size_t k = 0; k < c->count; k++) {
        clcnn_tensor_destroy(inputs[k]);
        clcnn_tensor_destroy(grads[k]);
        free(x[k]);
        free(old[k]);
        free(xd[k]);
        free(want_grad[k]);
    }
    clcnn_tensor_destroy(y);
    clcnn_tensor_destroy(tdy);
    free(want_y);
    free(want_y_bits);
    free(dy);
    free(dyd);
}

static void test_against_reference(void **state) {
    clcnn_context *ctx = *state;
    uint32_t seed = 1000;
    TS_FOR_EACH_CASE(concat_case, c, small_cases, large_cases, check_case(ctx, c, seed += 1000));
}

/* cat(x, x, z, x): the same input more than once. */
static void test_same_input_twice(void **state) {
    clcnn_context *ctx = *state;
    const size_t dims[4] = {2, 3, 5, 3}, z_dims[4] = {2, 1, 5, 3}, y_dims[4] = {2, 10, 5, 3};
    const size_t n = 90, nz = 30, ny = 300;
    float *x = ts_random_floats(n, 5, -1.0f, 1.0f), *z = ts_random_floats(nz, 6, -1.0f, 1.0f);
    clcnn_tensor *tx = ts_tensor_create(ctx, 4, dims, x), *tz = ts_tensor_create(ctx, 4, z_dims, z);
    clcnn_tensor *ty = ts_tensor_filled(ctx, 4, y_dims, NAN);
    const clcnn_tensor *inputs[4] = {tx, tx, tz, tx};
    TS_ASSERT_OK(ctx, clcnn_concat_forward(ctx, 4, inputs, ty));
    float *got = ts_tensor_read_all(ty);
    for (size_t s = 0; s < 2; s++) {
        const float *row = got + s * ny / 2;
        TS_ASSERT_FLOATS_IDENTICAL(row, x + s * 45, 45);
        TS_ASSERT_FLOATS_IDENTICAL(row + 45, x + s * 45, 45);
        TS_ASSERT_FLOATS_IDENTICAL(row + 90, z + s * 15, 15);
        TS_ASSERT_FLOATS_IDENTICAL(row + 105, x + s * 45, 45);
    }
    free(got);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(tz);
    clcnn_tensor_destroy(ty);
    free(x);
    free(z);
}

/* Inputs and gradients that are views into one larger buffer (as a
 * network's arena holds them): only their own elements are touched. */
static void test_views(void **state) {
    clcnn_context *ctx = *state;
    size_t align = 0;
    TS_ASSERT_OK(ctx, clcnn__view_alignment(ctx, &align));
    const size_t step = align / sizeof(float);
    const size_t dims_a[2] = {3, 7}, dims_b[2] = {3, 5}, y_dims[2] = {3, 12};
    const size_t span = clcnn__round_up(21, step), root_count = 3 * span;
    float *fill = ts_malloc(root_count * sizeof *fill);
    for (size_t i = 0; i < root_count; i++)
        fill[i] = -100.0f - (float)i;
    clcnn_tensor *root = ts_tensor_create(ctx, 1, &root_count, fill);
    clcnn_tensor *va = NULL, *vb = NULL;
    TS_ASSERT_OK(ctx, clcnn__storage_view(root->storage, span, 2, dims_a, &va));
    TS_ASSERT_OK(ctx, clcnn__storage_view(root->storage, 2 * span, 2, dims_b, &vb));
    float *dy = ts_random_floats(36, 9, -1.0f, 1.0f);
    clcnn_tensor *tdy = ts_tensor_create(ctx, 2, y_dims, dy);
    clcnn_tensor *grads[2] = {va, vb};
    TS_ASSERT_OK(ctx, clcnn_concat_backward(ctx, tdy, 2, grads, CLCNN_GRAD_OVERWRITE));
    float *got = ts_tensor_read_all(root);
    for (size_t i = 0; i < root_count; i++) {
        const size_t at = i % span, part = i / span;
        float want = fill[i];
        if (part == 1 && at < 21)
            want = dy[(at / 7) * 12 + at % 7];
        else if (part == 2 && at < 15)
            want = dy[(at / 5) * 12 + 7 + at % 5];
        assert_true(got[i] == want);
    }
    /* Forward from the views. */
    clcnn_tensor *ty = ts_tensor_filled(ctx, 2, y_dims, NAN);
    const clcnn_tensor *inputs[2] = {va, vb};
    TS_ASSERT_OK(ctx, clcnn_concat_forward(ctx, 2, inputs, ty));
    float *y = ts_tensor_read_all(ty);
    TS_ASSERT_FLOATS_IDENTICAL(y, dy, 36);
    free(y);
    free(got);
    free(dy);
    free(fill);
    clcnn_tensor *tensors[] = {root, va, vb, tdy, ty};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++)
        clcnn_tensor_destroy(tensors[i]);
}

/* The reference backward against central differences of the reference
 * forward, in double, for L = sum(w * y). */
static void test_reference_gradients(void **state) {
    (void)state;
    const size_t channels[3] = {2, 1, 3}, samples = 2, inner = 3, total = 6;
    enum { Y = 36 };
    double a[12], b[6], c[18], w[Y], y[Y], ga[12], gb[6], gc[18];
    double *inputs[3] = {a, b, c}, *grads[3] = {ga, gb, gc};
    const size_t counts[3] = {12, 6, 18};
    float tmp[Y];
    for (size_t k = 0; k < 3; k++) {
        ts_fill_random(tmp, counts[k], 40 + (uint32_t)k, -1.0f, 1.0f);
        for (size_t i = 0; i < counts[k]; i++)
            inputs[k][i] = tmp[i];
    }
    ts_fill_random(tmp, Y, 50, -1.0f, 1.0f);
    for (size_t i = 0; i < Y; i++)
        w[i] = tmp[i];
    assert_int_equal(samples * total * inner, Y);
    concat_ref_backward(3, w, channels, samples, inner, grads);
    const double h = 1e-6;
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < counts[k]; i++) {
            double saved = inputs[k][i], plus = 0.0, minus = 0.0;
            inputs[k][i] = saved + h;
            concat_ref_forward(3, (const double *const *)inputs, channels, samples, inner, y);
            for (size_t j = 0; j < Y; j++)
                plus += w[j] * y[j];
            inputs[k][i] = saved - h;
            concat_ref_forward(3, (const double *const *)inputs, channels, samples, inner, y);
            for (size_t j = 0; j < Y; j++)
                minus += w[j] * y[j];
            inputs[k][i] = saved;
            assert_true(fabs((plus - minus) / (2.0 * h) - grads[k][i]) <= 1e-8);
        }
    }
}

static void test_bad_arguments(void **state) {
    clcnn_context *ctx = *state;
    const clcnn_status bad = CLCNN_ERROR_INVALID_ARGUMENT, shape = CLCNN_ERROR_INVALID_SHAPE;
    const clcnn_grad_mode W = CLCNN_GRAD_OVERWRITE;
    const size_t da[4] = {2, 3, 4, 5}, db[4] = {2, 1, 4, 5}, dy[4] = {2, 4, 4, 5};
    const size_t wrong_n[4] = {3, 1, 4, 5}, wrong_h[4] = {2, 1, 5, 5}, flat[2] = {2, 1};
    const size_t one_d = 4, wrong_y[4] = {2, 5, 4, 5};
    clcnn_tensor *a = ts_tensor_filled(ctx, 4, da, 0.0f), *b = ts_tensor_filled(ctx, 4, db, 0.0f);
    clcnn_tensor *y = ts_tensor_filled(ctx, 4, dy, 0.0f);
    clcnn_tensor *bn = ts_tensor_filled(ctx, 4, wrong_n, 0.0f);
    clcnn_tensor *bh = ts_tensor_filled(ctx, 4, wrong_h, 0.0f);
    clcnn_tensor *b2 = ts_tensor_filled(ctx, 2, flat, 0.0f);
    clcnn_tensor *v1 = ts_tensor_filled(ctx, 1, &one_d, 0.0f);
    clcnn_tensor *wy = ts_tensor_filled(ctx, 4, wrong_y, 0.0f);
    const clcnn_tensor *in[2] = {a, b};
    clcnn_tensor *g[2] = {a, b};

    TS_ASSERT_OK(ctx, clcnn_concat_forward(ctx, 2, in, y));
    TS_ASSERT_STATUS(NULL, bad, clcnn_concat_forward(NULL, 2, in, y));
    TS_ASSERT_STATUS(ctx, bad, clcnn_concat_forward(ctx, 2, NULL, y));
    TS_ASSERT_STATUS(ctx, bad, clcnn_concat_forward(ctx, 1, in, y));
    TS_ASSERT_STATUS(ctx, bad, clcnn_concat_forward(ctx, 0, in, y));
    TS_ASSERT_STATUS(ctx, bad, clcnn_concat_forward(ctx, 2, in, NULL));
    const clcnn_tensor *with_null[2] = {a, NULL};
    TS_ASSERT_STATUS(ctx, bad, clcnn_concat_forward(ctx, 2, with_null, y));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "inputs[1]");
    const clcnn_tensor *other_n[2] = {a, bn}, *other_h[2] = {a, bh}, *ranks[2] = {a, b2};
    const clcnn_tensor *rank1[2] = {v1, v1};
    TS_ASSERT_STATUS(ctx, shape, clcnn_concat_forward(ctx, 2, other_n, y));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[3, 1, 4, 5]");
    TS_ASSERT_STATUS(ctx, shape, clcnn_concat_forward(ctx, 2, other_h, y));
    TS_ASSERT_STATUS(ctx, shape, clcnn_concat_forward(ctx, 2, ranks, y));
    TS_ASSERT_STATUS(ctx, shape, clcnn_concat_forward(ctx, 2, rank1, y));
    TS_ASSERT_STATUS(ctx, shape, clcnn_concat_forward(ctx, 2, in, wy));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[2, 4, 4, 5]");
    /* y may share memory with no input: here inputs[0] is y's first half. */
    const size_t dy2[4] = {2, 2, 4, 5};
    clcnn_tensor *y2 = ts_tensor_filled(ctx, 4, dy2, 0.0f), *half = NULL;
    TS_ASSERT_OK(ctx, clcnn__storage_view(y2->storage, 0, 4, db, &half));
    const clcnn_tensor *feeds_itself[2] = {half, b};
    TS_ASSERT_STATUS(ctx, bad, clcnn_concat_forward(ctx, 2, feeds_itself, y2));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "shares memory");

    TS_ASSERT_STATUS(NULL, bad, clcnn_concat_backward(NULL, y, 2, g, W));
    TS_ASSERT_STATUS(ctx, bad, clcnn_concat_backward(ctx, NULL, 2, g, W));
    TS_ASSERT_STATUS(ctx, bad, clcnn_concat_backward(ctx, y, 2, NULL, W));
    TS_ASSERT_STATUS(ctx, bad, clcnn_concat_backward(ctx, y, 1, g, W));
    TS_ASSERT_STATUS(ctx, bad, clcnn_concat_backward(ctx, y, 2, g, (clcnn_grad_mode)3));
    clcnn_tensor *g_null[2] = {a, NULL}, *g_wrong[2] = {a, bh}, *g_same[2] = {b, b};
    TS_ASSERT_STATUS(ctx, bad, clcnn_concat_backward(ctx, y, 2, g_null, W));
    TS_ASSERT_STATUS(ctx, shape, clcnn_concat_backward(ctx, y, 2, g_wrong, W));
    TS_ASSERT_STATUS(ctx, shape, clcnn_concat_backward(ctx, wy, 2, g, W));
    TS_ASSERT_STATUS(ctx, bad, clcnn_concat_backward(ctx, y2, 2, g_same, W));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "shares memory");
    /* Nor a gradient with dy. */
    clcnn_tensor *g_dy[2] = {half, b};
    TS_ASSERT_STATUS(ctx, bad, clcnn_concat_backward(ctx, y2, 2, g_dy, W));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "shares memory");

    clcnn_context *other = ts_context_create();
    clcnn_tensor *o = ts_tensor_filled(other, 4, db, 0.0f),
                 *oy = ts_tensor_filled(other, 4, dy, 0.0f);
    const clcnn_tensor *in_o[2] = {a, o};
    clcnn_tensor *g_o[2] = {a, o};
    const clcnn_status mismatch = CLCNN_ERROR_CONTEXT_MISMATCH;
    TS_ASSERT_STATUS(ctx, mismatch, clcnn_concat_forward(ctx, 2, in_o, y));
    TS_ASSERT_STATUS(ctx, mismatch, clcnn_concat_forward(ctx, 2, in, oy));
    TS_ASSERT_STATUS(ctx, mismatch, clcnn_concat_backward(ctx, oy, 2, g, W));
    TS_ASSERT_STATUS(ctx, mismatch, clcnn_concat_backward(ctx, y, 2, g_o, W));
    clcnn_tensor_destroy(o);
    clcnn_tensor_destroy(oy);
    clcnn_context_destroy(other);

    clcnn_tensor *tensors[] = {a, b, y, bn, bh, b2, v1, wy, y2, half};
    for (size_t i = 0; i < sizeof tensors / sizeof tensors[0]; i++)
        clcnn_tensor_destroy(tensors[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_same_input_twice),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_reference_gradients),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
