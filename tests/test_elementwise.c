/* add, scale and axpby against plain double arithmetic on element counts
 * that are and are not multiples of the vector width and chunk, every
 * aliasing of operands, BLAS's beta == 0 rule, ops through a flattened view
 * (they write the original tensor) and operands of different shapes with
 * the same count, and every bad argument with its exact status.
 * CLCNN_TEST_SMALL (or an Oclgrind device) keeps the counts to a few
 * thousand. */
#include "support/test_support.h"

#include <math.h>
#include <stdlib.h>

#include "clcnn/elementwise.h"

/* One rounding of a float sum or product: half an ulp, relative. axpby may
 * round twice (or fuse) and cancel: an absolute floor as well. */
#define ONE_ROUNDING_RTOL 6e-8
#define AXPBY_ATOL 1e-6
#define AXPBY_RTOL 1e-6

static float *random_floats(size_t n, uint32_t seed) {
    return ts_random_floats(n, seed, -3.0f, 3.0f);
}

static const size_t sizes[] = {1, 3, 4, 5, 16, 127, 128, 129, 4097, 16 * 8 * 64 + 5, 300007};
#define SMALL_SIZES 9 /* up to 4097 */

static size_t size_count(void) {
    return ts_small() ? SMALL_SIZES : sizeof sizes / sizeof sizes[0];
}

/* ------------------------------------------------------------------- add */

static void check_add(clcnn_context *ctx, size_t n, uint32_t seed) {
    float *a = random_floats(n, seed), *b = random_floats(n, seed + 1);
    double *want = ts_malloc(n * sizeof *want);
    for (size_t i = 0; i < n; i++)
        want[i] = (double)a[i] + (double)b[i];
    clcnn_tensor *ta = ts_vector_create(ctx, n, a), *tb = ts_vector_create(ctx, n, b),
                 *out = ts_vector_create(ctx, n, NULL);
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(out, 9.0f));
    TS_ASSERT_OK(ctx, clcnn_add(ctx, ta, tb, out));
    float *got = ts_tensor_read_all(out);
    TS_ASSERT_FLOATS_NEAR(got, want, n, 0.0, ONE_ROUNDING_RTOL);
    free(got);

    /* out = a, then out = b (in place). */
    TS_ASSERT_OK(ctx, clcnn_add(ctx, ta, tb, ta));
    got = ts_tensor_read_all(ta);
    TS_ASSERT_FLOATS_NEAR(got, want, n, 0.0, ONE_ROUNDING_RTOL);
    free(got);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(ta, 0, a, n));
    TS_ASSERT_OK(ctx, clcnn_add(ctx, ta, tb, tb));
    got = ts_tensor_read_all(tb);
    TS_ASSERT_FLOATS_NEAR(got, want, n, 0.0, ONE_ROUNDING_RTOL);
    free(got);

    /* a + a into a: doubling is exact. */
    TS_ASSERT_OK(ctx, clcnn_add(ctx, ta, ta, ta));
    got = ts_tensor_read_all(ta);
    for (size_t i = 0; i < n; i++)
        want[i] = 2.0 * a[i];
    TS_ASSERT_FLOATS_NEAR(got, want, n, 0.0, 0.0);
    free(got);

    clcnn_tensor_destroy(ta);
    clcnn_tensor_destroy(tb);
    clcnn_tensor_destroy(out);
    free(a);
    free(b);
    free(want);
}

static void test_add(void **state) {
    clcnn_context *ctx = *state;
    for (size_t i = 0; i < size_count(); i++)
        check_add(ctx, sizes[i], (uint32_t)(10 + i));
}

/* ----------------------------------------------------------------- scale */

static void check_scale(clcnn_context *ctx, size_t n, float alpha, uint32_t seed) {
    float *x = random_floats(n, seed);
    double *want = ts_malloc(n * sizeof *want);
    for (size_t i = 0; i < n; i++)
        want[i] = (double)alpha * x[i];
    clcnn_tensor *tx = ts_vector_create(ctx, n, x), *out = ts_vector_create(ctx, n, NULL);
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(out, 9.0f));
    TS_ASSERT_OK(ctx, clcnn_scale(ctx, tx, alpha, out));
    float *got = ts_tensor_read_all(out);
    TS_ASSERT_FLOATS_NEAR(got, want, n, 0.0, ONE_ROUNDING_RTOL);
    free(got);
    got = ts_tensor_read_all(tx); /* x untouched */
    TS_ASSERT_FLOATS_IDENTICAL(got, x, n);
    free(got);
    TS_ASSERT_OK(ctx, clcnn_scale(ctx, tx, alpha, tx));
    got = ts_tensor_read_all(tx);
    TS_ASSERT_FLOATS_NEAR(got, want, n, 0.0, ONE_ROUNDING_RTOL);
    free(got);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(out);
    free(x);
    free(want);
}

static void test_scale(void **state) {
    clcnn_context *ctx = *state;
    const float alphas[] = {0.37f, -2.5f, 0.0f, 1.0f};
    for (size_t i = 0; i < size_count(); i++)
        check_scale(ctx, sizes[i], alphas[i % 4], (uint32_t)(20 + i));
}

/* ----------------------------------------------------------------- axpby */

static void check_axpby(clcnn_context *ctx, size_t n, float alpha, float beta, uint32_t seed) {
    float *x = random_floats(n, seed), *y = random_floats(n, seed + 1);
    double *want = ts_malloc(n * sizeof *want);
    for (size_t i = 0; i < n; i++)
        want[i] = (double)alpha * x[i] + (double)beta * y[i];
    clcnn_tensor *tx = ts_vector_create(ctx, n, x), *ty = ts_vector_create(ctx, n, y);
    TS_ASSERT_OK(ctx, clcnn_axpby(ctx, alpha, tx, beta, ty));
    float *got = ts_tensor_read_all(ty);
    TS_ASSERT_FLOATS_NEAR(got, want, n, AXPBY_ATOL, AXPBY_RTOL);
    free(got);
    got = ts_tensor_read_all(tx);
    TS_ASSERT_FLOATS_IDENTICAL(got, x, n);
    free(got);

    /* x is y: y = (alpha + beta) y. */
    TS_ASSERT_OK(ctx, clcnn_axpby(ctx, alpha, tx, beta, tx));
    got = ts_tensor_read_all(tx);
    for (size_t i = 0; i < n; i++)
        want[i] = ((double)alpha + (double)beta) * x[i];
    TS_ASSERT_FLOATS_NEAR(got, want, n, AXPBY_ATOL, AXPBY_RTOL);
    free(got);

    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(ty);
    free(x);
    free(y);
    free(want);
}

static void test_axpby(void **state) {
    clcnn_context *ctx = *state;
    const float alphas[] = {1.0f, -0.3f, 2.0f, 0.0f};
    const float betas[] = {1.0f, 0.9f, -1.5f, 0.5f};
    for (size_t i = 0; i < size_count(); i++)
        check_axpby(ctx, sizes[i], alphas[i % 4], betas[i % 4], (uint32_t)(30 + i));
}

/* beta == 0 does not read y: NaN and Inf there do not spread. */
static void test_axpby_beta_zero(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 1031;
    float *x = random_floats(n, 40);
    clcnn_tensor *tx = ts_vector_create(ctx, n, x), *ty = ts_vector_create(ctx, n, NULL);
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(ty, NAN));
    TS_ASSERT_OK(ctx, clcnn_tensor_write(ty, 0, (const float[]){INFINITY}, 1));
    TS_ASSERT_OK(ctx, clcnn_axpby(ctx, -1.5f, tx, 0.0f, ty));
    float *got = ts_tensor_read_all(ty);
    double *want = ts_malloc(n * sizeof *want);
    for (size_t i = 0; i < n; i++)
        want[i] = -1.5 * x[i];
    TS_ASSERT_FLOATS_NEAR(got, want, n, 0.0, ONE_ROUNDING_RTOL);
    free(got);
    free(want);
    free(x);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(ty);
}

/* ------------------------------------------------------------------ views */

/* An op on a flattened view writes the original tensor; operands of
 * different shapes with the same count combine element by element. */
static void test_flattened_view(void **state) {
    clcnn_context *ctx = *state;
    const size_t dims[4] = {2, 3, 4, 5}, flat_dims[2] = {2, 60};
    const size_t n = 120;
    float *x = random_floats(n, 50), *b = random_floats(n, 51);
    clcnn_tensor *t = NULL, *flat = NULL, *other = ts_vector_create(ctx, n, b);
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 4, dims, &t));
    TS_ASSERT_OK(ctx, clcnn_tensor_write(t, 0, x, n));
    TS_ASSERT_OK(ctx, clcnn_tensor_reshape(t, 2, flat_dims, &flat));

    TS_ASSERT_OK(ctx, clcnn_scale(ctx, flat, 3.0f, flat));
    float *got = ts_tensor_read_all(t);
    double *want = ts_malloc(n * sizeof *want);
    for (size_t i = 0; i < n; i++)
        want[i] = 3.0 * x[i];
    TS_ASSERT_FLOATS_NEAR(got, want, n, 0.0, ONE_ROUNDING_RTOL);
    free(got);

    /* [2, 60] view + [120] tensor into the [2, 3, 4, 5] original. */
    TS_ASSERT_OK(ctx, clcnn_add(ctx, flat, other, t));
    got = ts_tensor_read_all(t);
    for (size_t i = 0; i < n; i++)
        want[i] = (double)(3.0f * x[i]) + b[i];
    TS_ASSERT_FLOATS_NEAR(got, want, n, 0.0, ONE_ROUNDING_RTOL);
    free(got);

    TS_ASSERT_OK(ctx, clcnn_axpby(ctx, 1.0f, other, 1.0f, flat));
    got = ts_tensor_read_all(t);
    for (size_t i = 0; i < n; i++)
        want[i] += b[i];
    TS_ASSERT_FLOATS_NEAR(got, want, n, AXPBY_ATOL, AXPBY_RTOL);
    free(got);

    /* The view still works after the original is gone. */
    clcnn_tensor_destroy(t);
    TS_ASSERT_OK(ctx, clcnn_scale(ctx, flat, 0.5f, flat));
    got = ts_tensor_read_all(flat);
    for (size_t i = 0; i < n; i++)
        want[i] *= 0.5;
    TS_ASSERT_FLOATS_NEAR(got, want, n, AXPBY_ATOL, AXPBY_RTOL);
    free(got);

    clcnn_tensor_destroy(flat);
    clcnn_tensor_destroy(other);
    free(x);
    free(b);
    free(want);
}

/* ---------------------------------------------------------- bad arguments */

static void test_bad_arguments(void **state) {
    clcnn_context *ctx = *state;
    clcnn_tensor *a = ts_vector_create(ctx, 10, NULL), *b = ts_vector_create(ctx, 10, NULL);
    clcnn_tensor *c = ts_vector_create(ctx, 10, NULL), *short_one = ts_vector_create(ctx, 9, NULL);

    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_add(NULL, a, b, c));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_add(ctx, NULL, b, c));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_add(ctx, a, NULL, c));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_add(ctx, a, b, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_add(ctx, short_one, b, c));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_add(ctx, a, short_one, c));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_add(ctx, a, b, short_one));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[9]");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[10]");

    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_scale(NULL, a, 2.0f, b));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_scale(ctx, NULL, 2.0f, b));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_scale(ctx, a, 2.0f, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_scale(ctx, a, 2.0f, short_one));

    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_axpby(NULL, 1.0f, a, 1.0f, b));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_axpby(ctx, 1.0f, NULL, 1.0f, b));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_axpby(ctx, 1.0f, a, 1.0f, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_axpby(ctx, 1.0f, short_one, 1.0f, b));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_axpby(ctx, 1.0f, a, 0.0f, short_one));

    clcnn_context *other = ts_context_create();
    clcnn_tensor *o = ts_vector_create(other, 10, NULL);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_add(ctx, o, b, c));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_add(ctx, a, o, c));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_add(ctx, a, b, o));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_scale(ctx, o, 2.0f, b));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_scale(ctx, a, 2.0f, o));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_axpby(ctx, 1.0f, o, 1.0f, b));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_axpby(ctx, 1.0f, a, 1.0f, o));
    clcnn_tensor_destroy(o);
    clcnn_context_destroy(other);

    clcnn_tensor_destroy(a);
    clcnn_tensor_destroy(b);
    clcnn_tensor_destroy(c);
    clcnn_tensor_destroy(short_one);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add),
        cmocka_unit_test(test_scale),
        cmocka_unit_test(test_axpby),
        cmocka_unit_test(test_axpby_beta_zero),
        cmocka_unit_test(test_flattened_view),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
