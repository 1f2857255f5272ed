/* The dense layer against the double reference of tests/ref/dense_ref.c
 * (itself checked by central finite differences): forward with and without
 * bias, backward data and backward weights in both grad modes, inputs of 2
 * to 4 dimensions, odd sizes, determinism, and the status of every bad
 * argument. Tolerance per element: (terms + 4) * FLT_EPSILON * (the same
 * sum taken over absolute values), terms being the length of the dot
 * product (plus the value accumulated onto). CLCNN_TEST_SMALL (Oclgrind)
 * keeps every case to a few thousand elements. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "clcnn/dense.h"
#include "ref/dense_ref.h"
#include "support/test_support.h"

/* Values in [-1, 1) (malloc'ed). */
static float *random_floats(size_t count, uint32_t seed) {
    return ts_random_floats(count, seed, -1.0f, 1.0f);
}

/* |data[i]| as doubles (malloc'ed): the magnitudes the tolerance scales by. */
static double *to_abs_double(const float *data, size_t count) {
    double *out = ts_to_double(data, count);
    for (size_t i = 0; i < count; i++)
        out[i] = fabs(out[i]);
    return out;
}

/* |got - expected| <= (terms + 4) * FLT_EPSILON * magnitude per element. */
static void check_near(const float *got, const double *expected, const double *magnitude,
                       size_t count, size_t terms, const char *label) {
    for (size_t i = 0; i < count; i++) {
        double bound = (double)(terms + 4) * FLT_EPSILON * magnitude[i] + 1e-30;
        if (!(fabs(got[i] - expected[i]) <= bound))
            fail_msg("%s: element %zu is %.9g, expected %.9g (bound %.3g)", label, i, got[i],
                     expected[i], bound);
    }
}

/* One layer shape: x has x_ndim dimensions, the first being the batch. */
typedef struct dense_case {
    size_t x_ndim;
    size_t x_dims[4];
    size_t out;
} dense_case;

static size_t case_in(const dense_case *dc) {
    size_t in = 1;
    for (size_t i = 1; i < dc->x_ndim; i++)
        in *= dc->x_dims[i];
    return in;
}

static const dense_case small_cases[] = {
    {2, {1, 1}, 1},       {2, {1, 7}, 3},      {2, {5, 33}, 10}, {2, {13, 130}, 17},
    {4, {2, 3, 4, 5}, 9}, {3, {3, 10, 7}, 33}, {2, {9, 16}, 32},
};
static const dense_case large_cases[] = {
    {2, {64, 300}, 70},
    {4, {128, 16, 6, 6}, 128},
};

static void run_forward(clcnn_context *ctx, const dense_case *dc, int with_bias) {
    ts_poison_pool(ctx);
    size_t batch = dc->x_dims[0], in = case_in(dc), out = dc->out;
    float *x = random_floats(batch * in, 1), *w = random_floats(out * in, 2);
    float *b = random_floats(out, 3);
    size_t w_dims[2] = {out, in}, y_dims[2] = {batch, out};
    clcnn_tensor *tx = ts_tensor_create(ctx, dc->x_ndim, dc->x_dims, x);
    clcnn_tensor *tw = ts_tensor_create(ctx, 2, w_dims, w), *tb = ts_tensor_create(ctx, 1, &out, b);
    clcnn_tensor *ty = ts_tensor_filled(ctx, 2, y_dims, NAN);
    TS_ASSERT_OK(ctx, clcnn_dense_forward(ctx, tx, tw, with_bias ? tb : NULL, ty));
    float *got = ts_tensor_read_all(ty);

    double *xd = ts_to_double(x, batch * in), *wd = ts_to_double(w, out * in);
    double *bd = ts_to_double(b, out), *xa = to_abs_double(x, batch * in);
    double *wa = to_abs_double(w, out * in), *ba = to_abs_double(b, out);
    double *expected = ts_malloc(batch * out * sizeof *expected);
    double *magnitude = ts_malloc(batch * out * sizeof *magnitude);
    dense_ref_forward(batch, in, out, xd, wd, with_bias ? bd : NULL, expected);
    dense_ref_forward(batch, in, out, xa, wa, with_bias ? ba : NULL, magnitude);
    char label[96];
    snprintf(label, sizeof label, "forward %zu x %zu -> %zu, bias %d", batch, in, out, with_bias);
    check_near(got, expected, magnitude, batch * out, in + 1, label);

    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(tw);
    clcnn_tensor_destroy(tb);
    clcnn_tensor_destroy(ty);
    free(x), free(w), free(b), free(got), free(xd), free(wd), free(bd), free(xa), free(wa);
    free(ba), free(expected), free(magnitude);
}

static void run_backward_data(clcnn_context *ctx, const dense_case *dc, clcnn_grad_mode mode) {
    ts_poison_pool(ctx);
    size_t batch = dc->x_dims[0], in = case_in(dc), out = dc->out;
    float *dy = random_floats(batch * out, 4), *w = random_floats(out * in, 5);
    float *old = random_floats(batch * in, 6);
    size_t w_dims[2] = {out, in}, dy_dims[2] = {batch, out};
    int accumulate = mode == CLCNN_GRAD_ACCUMULATE;
    clcnn_tensor *tdy = ts_tensor_create(ctx, 2, dy_dims, dy),
                 *tw = ts_tensor_create(ctx, 2, w_dims, w);
    clcnn_tensor *tdx = accumulate ? ts_tensor_create(ctx, dc->x_ndim, dc->x_dims, old)
                                   : ts_tensor_filled(ctx, dc->x_ndim, dc->x_dims, NAN);
    TS_ASSERT_OK(ctx, clcnn_dense_backward_data(ctx, tdy, tw, tdx, mode));
    float *got = ts_tensor_read_all(tdx);

    double *dyd = ts_to_double(dy, batch * out), *wd = ts_to_double(w, out * in);
    double *dya = to_abs_double(dy, batch * out), *wa = to_abs_double(w, out * in);
    double *expected = ts_malloc(batch * in * sizeof *expected);
    double *magnitude = ts_malloc(batch * in * sizeof *magnitude);
    dense_ref_backward(batch, in, out, NULL, wd, dyd, expected, NULL, NULL);
    dense_ref_backward(batch, in, out, NULL, wa, dya, magnitude, NULL, NULL);
    for (size_t i = 0; accumulate && i < batch * in; i++) {
        expected[i] += old[i];
        magnitude[i] += fabs(old[i]);
    }
    char label[96];
    snprintf(label, sizeof label, "backward data %zu x %zu -> %zu, mode %d", batch, in, out,
             (int)mode);
    check_near(got, expected, magnitude, batch * in, out + 1, label);

    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tw);
    clcnn_tensor_destroy(tdx);
    free(dy), free(w), free(old), free(got), free(dyd), free(wd), free(dya), free(wa);
    free(expected), free(magnitude);
}

static void run_backward_weights(clcnn_context *ctx, const dense_case *dc, clcnn_grad_mode mode,
                                 int with_db) {
    ts_poison_pool(ctx);
    size_t batch = dc->x_dims[0], in = case_in(dc), out = dc->out;
    float *x = random_floats(batch * in, 7), *dy = random_floats(batch * out, 8);
    float *old_w = random_floats(out * in, 9), *old_b = random_floats(out, 10);
    size_t w_dims[2] = {out, in}, dy_dims[2] = {batch, out};
    int accumulate = mode == CLCNN_GRAD_ACCUMULATE;
    clcnn_tensor *tx = ts_tensor_create(ctx, dc->x_ndim, dc->x_dims, x);
    clcnn_tensor *tdy = ts_tensor_create(ctx, 2, dy_dims, dy);
    clcnn_tensor *tdw = accumulate ? ts_tensor_create(ctx, 2, w_dims, old_w)
                                   : ts_tensor_filled(ctx, 2, w_dims, NAN);
    clcnn_tensor *tdb =
        accumulate ? ts_tensor_create(ctx, 1, &out, old_b) : ts_tensor_filled(ctx, 1, &out, NAN);
    TS_ASSERT_OK(ctx, clcnn_dense_backward_weights(ctx, tx, tdy, tdw, with_db ? tdb : NULL, mode));
    float *got_w = ts_tensor_read_all(tdw), *got_b = ts_tensor_read_all(tdb);

    double *xd = ts_to_double(x, batch * in), *dyd = ts_to_double(dy, batch * out);
    double *xa = to_abs_double(x, batch * in), *dya = to_abs_double(dy, batch * out);
    double *dw = ts_malloc(out * in * sizeof *dw), *dw_mag = ts_malloc(out * in * sizeof *dw_mag);
    double *db = ts_malloc(out * sizeof *db), *db_mag = ts_malloc(out * sizeof *db_mag);
    dense_ref_backward(batch, in, out, xd, NULL, dyd, NULL, dw, db);
    dense_ref_backward(batch, in, out, xa, NULL, dya, NULL, dw_mag, db_mag);
    for (size_t i = 0; accumulate && i < out * in; i++) {
        dw[i] += old_w[i];
        dw_mag[i] += fabs(old_w[i]);
    }
    for (size_t i = 0; accumulate && i < out; i++) {
        db[i] += old_b[i];
        db_mag[i] += fabs(old_b[i]);
    }
    char label[96];
    snprintf(label, sizeof label, "backward weights %zu x %zu -> %zu, mode %d: dw", batch, in, out,
             (int)mode);
    check_near(got_w, dw, dw_mag, out * in, batch + 1, label);
    if (with_db) {
        snprintf(label, sizeof label, "backward weights %zu x %zu -> %zu, mode %d: db", batch, in,
                 out, (int)mode);
        check_near(got_b, db, db_mag, out, batch + 1, label);
    } else {
        /* db == NULL: the tensor passed nowhere keeps its contents. */
        float *untouched = accumulate ? old_b : NULL;
        for (size_t i = 0; i < out; i++) {
            if (untouched != NULL)
                assert_true(got_b[i] == untouched[i]);
            else
                assert_true(isnan(got_b[i]));
        }
    }

    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tdw);
    clcnn_tensor_destroy(tdb);
    free(x), free(dy), free(old_w), free(old_b), free(got_w), free(got_b), free(xd), free(dyd);
    free(xa), free(dya), free(dw), free(dw_mag), free(db), free(db_mag);
}

/* Runs fn on every small case, and the larger ones unless small mode. */
#define FOR_EACH_CASE(dc, body) TS_FOR_EACH_CASE(dense_case, dc, small_cases, large_cases, body)

/* The reference's backward equals central differences of its forward, for
 * L = sum(y * g) (linear in each parameter, so the differences are exact up
 * to rounding). */
static void test_reference_gradients(void **state) {
    (void)state;
    enum { BATCH = 3, IN = 5, OUT = 4 };
    double x[BATCH * IN], w[OUT * IN], b[OUT], g[BATCH * OUT], y[BATCH * OUT];
    float values[BATCH * IN + OUT * IN + OUT + BATCH * OUT];
    ts_fill_random(values, sizeof values / sizeof values[0], 42, -1.0f, 1.0f);
    const float *v = values;
    for (size_t i = 0; i < BATCH * IN; i++)
        x[i] = *v++;
    for (size_t i = 0; i < OUT * IN; i++)
        w[i] = *v++;
    for (size_t i = 0; i < OUT; i++)
        b[i] = *v++;
    for (size_t i = 0; i < BATCH * OUT; i++)
        g[i] = *v++;
    double dx[BATCH * IN], dw[OUT * IN], db[OUT];
    dense_ref_backward(BATCH, IN, OUT, x, w, g, dx, dw, db);

    double *params[3] = {x, w, b}, *grads[3] = {dx, dw, db};
    size_t counts[3] = {BATCH * IN, OUT * IN, OUT};
    const double h = 1e-4;
    for (size_t p = 0; p < 3; p++) {
        for (size_t i = 0; i < counts[p]; i++) {
            double saved = params[p][i], loss[2];
            for (int side = 0; side < 2; side++) {
                params[p][i] = saved + (side ? -h : h);
                dense_ref_forward(BATCH, IN, OUT, x, w, b, y);
                loss[side] = 0.0;
                for (size_t j = 0; j < BATCH * OUT; j++)
                    loss[side] += y[j] * g[j];
            }
            params[p][i] = saved;
            double numeric = (loss[0] - loss[1]) / (2.0 * h);
            if (!(fabs(numeric - grads[p][i]) <= 1e-9 + 1e-9 * fabs(numeric)))
                fail_msg("parameter %zu element %zu: finite difference %.12g, backward %.12g", p, i,
                         numeric, grads[p][i]);
        }
    }
}

static void test_forward(void **state) {
    FOR_EACH_CASE(dc, {
        run_forward(*state, dc, 1);
        run_forward(*state, dc, 0);
    });
}

static void test_backward_data(void **state) {
    FOR_EACH_CASE(dc, {
        run_backward_data(*state, dc, CLCNN_GRAD_OVERWRITE);
        run_backward_data(*state, dc, CLCNN_GRAD_ACCUMULATE);
    });
}

static void test_backward_weights(void **state) {
    FOR_EACH_CASE(dc, {
        run_backward_weights(*state, dc, CLCNN_GRAD_OVERWRITE, 1);
        run_backward_weights(*state, dc, CLCNN_GRAD_ACCUMULATE, 1);
    });
    run_backward_weights(*state, &small_cases[2], CLCNN_GRAD_OVERWRITE, 0);
    run_backward_weights(*state, &small_cases[2], CLCNN_GRAD_ACCUMULATE, 0);
}

/* The same forward and backward twice give the same bits. */
static void test_deterministic(void **state) {
    clcnn_context *ctx = *state;
    ts_poison_pool(ctx);
    size_t batch = ts_small() ? 8 : 64, in = ts_small() ? 40 : 576, out = 24;
    size_t x_dims[2] = {batch, in}, w_dims[2] = {out, in}, y_dims[2] = {batch, out};
    float *x = random_floats(batch * in, 11), *w = random_floats(out * in, 12);
    float *b = random_floats(out, 13);
    clcnn_tensor *tx = ts_tensor_create(ctx, 2, x_dims, x),
                 *tw = ts_tensor_create(ctx, 2, w_dims, w);
    clcnn_tensor *tb = ts_tensor_create(ctx, 1, &out, b),
                 *ty = ts_tensor_filled(ctx, 2, y_dims, NAN);
    clcnn_tensor *tdw = ts_tensor_filled(ctx, 2, w_dims, NAN),
                 *tdb = ts_tensor_filled(ctx, 1, &out, NAN);
    float *first[3] = {NULL, NULL, NULL};
    for (int run = 0; run < 2; run++) {
        TS_ASSERT_OK(ctx, clcnn_dense_forward(ctx, tx, tw, tb, ty));
        TS_ASSERT_OK(ctx,
                     clcnn_dense_backward_weights(ctx, tx, ty, tdw, tdb, CLCNN_GRAD_OVERWRITE));
        float *now[3] = {ts_tensor_read_all(ty), ts_tensor_read_all(tdw), ts_tensor_read_all(tdb)};
        size_t counts[3] = {batch * out, out * in, out};
        for (int i = 0; i < 3; i++) {
            if (run == 0) {
                first[i] = now[i];
            } else {
                TS_ASSERT_FLOATS_IDENTICAL(now[i], first[i], counts[i]);
                free(now[i]);
                free(first[i]);
            }
        }
    }
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(tw);
    clcnn_tensor_destroy(tb);
    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(tdw);
    clcnn_tensor_destroy(tdb);
    free(x), free(w), free(b);
}

/* A tensor of zeros written from the host (Oclgrind counts a
 * clEnqueueFillBuffer'ed buffer as uninitialised; see ts_tensor_filled). */
static clcnn_tensor *zeros(clcnn_context *ctx, size_t ndim, size_t d0, size_t d1, size_t d2) {
    size_t dims[3] = {d0, d1, d2};
    return ts_tensor_filled(ctx, ndim, dims, 0.0f);
}

static void test_errors(void **state) {
    clcnn_context *ctx = *state;
    /* x [4, 6] (also as [4, 2, 3]), w [5, 6], b [5], y [4, 5]. */
    clcnn_tensor *x = zeros(ctx, 2, 4, 6, 0), *x3 = zeros(ctx, 3, 4, 2, 3);
    clcnn_tensor *w = zeros(ctx, 2, 5, 6, 0), *b = zeros(ctx, 1, 5, 0, 0);
    clcnn_tensor *y = zeros(ctx, 2, 4, 5, 0), *dx = zeros(ctx, 2, 4, 6, 0);
    clcnn_tensor *dw = zeros(ctx, 2, 5, 6, 0), *db = zeros(ctx, 1, 5, 0, 0);
    clcnn_tensor *flat = zeros(ctx, 1, 24, 0, 0), *w_bad = zeros(ctx, 2, 5, 7, 0);
    clcnn_tensor *b_bad = zeros(ctx, 1, 4, 0, 0), *y_bad = zeros(ctx, 2, 4, 6, 0);
    clcnn_tensor *y3 = zeros(ctx, 3, 4, 5, 1), *dy_bad = zeros(ctx, 2, 3, 5, 0);
    const clcnn_grad_mode over = CLCNN_GRAD_OVERWRITE;
    ts_poison_pool(ctx);

    /* The flattening rule works: [4, 2, 3] is 4 x 6. */
    TS_ASSERT_OK(ctx, clcnn_dense_forward(ctx, x3, w, b, y));
    TS_ASSERT_OK(ctx, clcnn_dense_backward_data(ctx, y, w, x3, over));
    TS_ASSERT_OK(ctx, clcnn_dense_backward_weights(ctx, x3, y, dw, db, over));

    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dense_forward(NULL, x, w, b, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dense_forward(ctx, NULL, w, b, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dense_forward(ctx, x, NULL, b, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dense_forward(ctx, x, w, b, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_dense_forward(ctx, flat, w, b, y));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[24]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_dense_forward(ctx, x, w_bad, b, y));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[5, 7]");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[4, 6]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_dense_forward(ctx, x, w, b_bad, y));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[4]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_dense_forward(ctx, x, w, b, y_bad));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[4, 6]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_dense_forward(ctx, x, w, b, y3));

    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dense_backward_data(NULL, y, w, dx, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dense_backward_data(ctx, NULL, w, dx, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dense_backward_data(ctx, y, NULL, dx, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dense_backward_data(ctx, y, w, NULL, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dense_backward_data(ctx, y, w, dx, (clcnn_grad_mode)7));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_dense_backward_data(ctx, dy_bad, w, dx, over));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[3, 5]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_dense_backward_data(ctx, y, w_bad, dx, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_dense_backward_data(ctx, y, w, flat, over));

    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dense_backward_weights(NULL, x, y, dw, db, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dense_backward_weights(ctx, NULL, y, dw, db, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dense_backward_weights(ctx, x, NULL, dw, db, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dense_backward_weights(ctx, x, y, NULL, db, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dense_backward_weights(ctx, x, y, dw, db, (clcnn_grad_mode)-1));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_dense_backward_weights(ctx, x, dy_bad, dw, db, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_dense_backward_weights(ctx, x, y, w_bad, db, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_dense_backward_weights(ctx, x, y, dw, b_bad, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_dense_backward_weights(ctx, flat, y, dw, db, over));

    /* Outputs may not share memory with inputs (square shapes, so that
     * only the aliasing is wrong). */
    clcnn_tensor *sq_a = zeros(ctx, 2, 5, 5, 0), *sq_b = zeros(ctx, 2, 5, 5, 0);
    clcnn_tensor *sq_c = zeros(ctx, 2, 5, 5, 0);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dense_forward(ctx, sq_a, sq_b, NULL, sq_a));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dense_forward(ctx, sq_a, sq_b, NULL, sq_b));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dense_backward_data(ctx, sq_a, sq_b, sq_a, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dense_backward_data(ctx, sq_a, sq_b, sq_b, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dense_backward_weights(ctx, sq_a, sq_b, sq_a, NULL, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dense_backward_weights(ctx, sq_a, sq_b, sq_b, NULL, over));
    TS_ASSERT_OK(ctx, clcnn_dense_backward_weights(ctx, sq_a, sq_b, sq_c, NULL, over));
    clcnn_tensor_destroy(sq_a);
    clcnn_tensor_destroy(sq_b);
    clcnn_tensor_destroy(sq_c);

    clcnn_context *other = ts_context_create();
    clcnn_tensor *foreign = zeros(other, 2, 5, 6, 0);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_dense_forward(ctx, x, foreign, b, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_dense_backward_data(ctx, y, foreign, dx, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_dense_backward_weights(ctx, x, y, foreign, db, over));
    clcnn_tensor_destroy(foreign);
    clcnn_context_destroy(other);

    clcnn_tensor *all[] = {x, x3, w, b, y, dx, dw, db, flat, w_bad, b_bad, y_bad, y3, dy_bad};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clcnn_tensor_destroy(all[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_gradients), cmocka_unit_test(test_forward),
        cmocka_unit_test(test_backward_data),       cmocka_unit_test(test_backward_weights),
        cmocka_unit_test(test_deterministic),       cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
