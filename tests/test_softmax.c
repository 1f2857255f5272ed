/* Softmax, log-softmax and softmax cross-entropy against the double
 * references of tests/ref/softmax_ref.c (whose gradient is checked by
 * central finite differences) and PyTorch's float64 goldens
 * (tests/data/golden/cross_entropy*.txt): the loss and its gradient in both
 * grad modes, large logits, rows summing to 1, in-place softmax, labels
 * checked at write time and guarded in the kernels, determinism, and the
 * status of every bad argument. Tolerances: goldens rtol 1e-5 + atol 1e-5
 * (the golden README's); random cases 1e-5 relative to the magnitude (see
 * each check). CLCNN_TEST_SMALL (Oclgrind) keeps every case to a few
 * thousand elements. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "clcnn/softmax.h"
#include "ops/softmax_internal.h"
#include "ref/softmax_ref.h"
#include "support/test_support.h"

static clcnn_labels *make_labels(clcnn_context *ctx, size_t count, size_t classes,
                                 const int32_t *values) {
    clcnn_labels *labels = NULL;
    TS_ASSERT_OK(ctx, clcnn_labels_create(ctx, count, classes, &labels));
    TS_ASSERT_OK(ctx, clcnn_labels_write(labels, values, count));
    return labels;
}

static int32_t *random_labels(size_t count, size_t classes, uint32_t seed) {
    float *unit = ts_malloc((count + 1) * sizeof *unit);
    int32_t *labels = ts_malloc((count + 1) * sizeof *labels);
    ts_fill_random(unit, count, seed, 0.0f, 1.0f);
    for (size_t i = 0; i < count; i++) {
        labels[i] = (int32_t)(unit[i] * (float)classes);
        if ((size_t)labels[i] >= classes)
            labels[i] = (int32_t)classes - 1;
    }
    free(unit);
    return labels;
}

/* |got - expected| <= atol + rtol * |expected| per element. */
static void check_close(const float *got, const double *expected, size_t count, double atol,
                        double rtol, const char *label) {
    for (size_t i = 0; i < count; i++) {
        double bound = atol + rtol * fabs(expected[i]);
        if (!(fabs(got[i] - expected[i]) <= bound))
            fail_msg("%s: element %zu is %.9g, expected %.9g (bound %.3g)", label, i, got[i],
                     expected[i], bound);
    }
}

/* ------------------------------------------------------------------ goldens */

static void run_golden(clcnn_context *ctx, const char *file_name) {
    ts_poison_pool(ctx);
    size_t logit_count = 0, target_count = 0, count = 0;
    double *logits = ts_golden_tensor(file_name, "logits", &logit_count);
    double *targets = ts_golden_tensor(file_name, "target", &target_count);
    double *loss = ts_golden_tensor(file_name, "loss", &count);
    assert_int_equal(count, 1);
    double *dlogits = ts_golden_tensor(file_name, "dlogits", &count);
    assert_int_equal(count, logit_count);
    double *probs = ts_golden_tensor(file_name, "probs", &count);
    assert_int_equal(count, logit_count);
    size_t rows = target_count, cols = logit_count / target_count;

    float *logits_f = ts_malloc(logit_count * sizeof *logits_f);
    for (size_t i = 0; i < logit_count; i++) {
        logits_f[i] = (float)logits[i];
        assert_true((double)logits_f[i] == logits[i]); /* exact in float32 */
    }
    int32_t *labels_host = ts_malloc(rows * sizeof *labels_host);
    for (size_t i = 0; i < rows; i++)
        labels_host[i] = (int32_t)targets[i];
    size_t dims[2] = {rows, cols}, one = 1;
    clcnn_tensor *t_logits = ts_tensor_create(ctx, 2, dims, logits_f);
    clcnn_tensor *t_loss = ts_tensor_filled(ctx, 1, &one, NAN);
    clcnn_tensor *t_grad = ts_tensor_filled(ctx, 2, dims, NAN);
    clcnn_tensor *t_probs = ts_tensor_filled(ctx, 2, dims, NAN);
    clcnn_labels *labels = make_labels(ctx, rows, cols, labels_host);

    TS_ASSERT_OK(ctx, clcnn_softmax_cross_entropy_forward(ctx, t_logits, labels, t_loss));
    TS_ASSERT_OK(ctx, clcnn_softmax_cross_entropy_backward(ctx, t_logits, labels, t_grad,
                                                           CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_OK(ctx, clcnn_softmax_forward(ctx, t_logits, t_probs));
    float *got_loss = ts_tensor_read_all(t_loss), *got_grad = ts_tensor_read_all(t_grad);
    float *got_probs = ts_tensor_read_all(t_probs);
    char label[128];
    snprintf(label, sizeof label, "%s: loss", file_name);
    check_close(got_loss, loss, 1, 1e-5, 1e-5, label);
    snprintf(label, sizeof label, "%s: dlogits", file_name);
    check_close(got_grad, dlogits, logit_count, 1e-5, 1e-5, label);
    snprintf(label, sizeof label, "%s: probs", file_name);
    check_close(got_probs, probs, logit_count, 1e-5, 1e-5, label);
    for (size_t i = 0; i < logit_count; i++)
        assert_true(isfinite(got_grad[i]) && isfinite(got_probs[i]));
    assert_true(isfinite(got_loss[0]));

    clcnn_tensor_destroy(t_logits);
    clcnn_tensor_destroy(t_loss);
    clcnn_tensor_destroy(t_grad);
    clcnn_tensor_destroy(t_probs);
    clcnn_labels_destroy(labels);
    free(logits), free(targets), free(loss), free(dlogits), free(probs);
    free(logits_f), free(labels_host), free(got_loss), free(got_grad), free(got_probs);
}

static void test_golden_cross_entropy(void **state) {
    run_golden(*state, "cross_entropy.txt");
}

/* Rows shifted by +100, -100, +30: exp() of the raw logits would overflow. */
static void test_golden_large_logits(void **state) {
    run_golden(*state, "cross_entropy_large_logits.txt");
}

/* -------------------------------------------------------------- references */

/* The reference gradient equals central differences of the reference loss;
 * the reference softmax rows sum to 1 and log_softmax is log(softmax). */
static void test_reference(void **state) {
    (void)state;
    enum { ROWS = 3, COLS = 5 };
    float values[ROWS * COLS];
    ts_fill_random(values, ROWS * COLS, 77, -3.0f, 3.0f);
    double logits[ROWS * COLS], grad[ROWS * COLS], probs[ROWS * COLS], logp[ROWS * COLS];
    for (size_t i = 0; i < ROWS * COLS; i++)
        logits[i] = values[i];
    const int32_t labels[ROWS] = {4, 0, 2};
    cross_entropy_ref_backward(ROWS, COLS, logits, labels, grad);
    const double h = 1e-5;
    for (size_t i = 0; i < ROWS * COLS; i++) {
        double saved = logits[i];
        logits[i] = saved + h;
        double plus = cross_entropy_ref(ROWS, COLS, logits, labels);
        logits[i] = saved - h;
        double minus = cross_entropy_ref(ROWS, COLS, logits, labels);
        logits[i] = saved;
        double numeric = (plus - minus) / (2.0 * h);
        if (!(fabs(numeric - grad[i]) <= 1e-8))
            fail_msg("logit %zu: finite difference %.12g, backward %.12g", i, numeric, grad[i]);
    }
    softmax_ref(ROWS, COLS, logits, probs);
    log_softmax_ref(ROWS, COLS, logits, logp);
    for (size_t r = 0; r < ROWS; r++) {
        double sum = 0.0;
        for (size_t c = 0; c < COLS; c++) {
            sum += probs[r * COLS + c];
            assert_true(fabs(log(probs[r * COLS + c]) - logp[r * COLS + c]) <= 1e-12);
        }
        assert_true(fabs(sum - 1.0) <= 1e-12);
    }
}

/* ------------------------------------------------------------ random cases */

typedef struct shape_case {
    size_t rows, cols;
} shape_case;

static const shape_case small_shapes[] = {{1, 1},   {1, 10},   {7, 3}, {13, 17},
                                          {5, 130}, {2, 1000}, {33, 8}};
static const shape_case large_shapes[] = {{128, 10}, {64, 1000}, {1000, 37}};

#define FOR_EACH_SHAPE(sc, body) TS_FOR_EACH_CASE(shape_case, sc, small_shapes, large_shapes, body)

/* Loss and gradient against the reference; logits spread over [-span,
 * span] plus a per-row shift. */
static void run_cross_entropy(clcnn_context *ctx, const shape_case *sc, float span, float shift,
                              clcnn_grad_mode mode) {
    ts_poison_pool(ctx);
    size_t rows = sc->rows, cols = sc->cols, count = rows * cols, one = 1;
    float *logits = ts_malloc(count * sizeof *logits), *old = ts_malloc(count * sizeof *old);
    ts_fill_random(logits, count, (uint32_t)(rows * 31 + cols), -span, span);
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            logits[r * cols + c] += shift * (float)((int)(r % 3) - 1);
    ts_fill_random(old, count, 5, -1.0f, 1.0f);
    int32_t *labels_host = random_labels(rows, cols, (uint32_t)(rows + 7 * cols));
    int accumulate = mode == CLCNN_GRAD_ACCUMULATE;
    size_t dims[2] = {rows, cols};
    clcnn_tensor *t_logits = ts_tensor_create(ctx, 2, dims, logits);
    clcnn_tensor *t_loss = ts_tensor_filled(ctx, 1, &one, NAN);
    clcnn_tensor *t_grad =
        accumulate ? ts_tensor_create(ctx, 2, dims, old) : ts_tensor_filled(ctx, 2, dims, NAN);
    clcnn_labels *labels = make_labels(ctx, rows, cols, labels_host);
    TS_ASSERT_OK(ctx, clcnn_softmax_cross_entropy_forward(ctx, t_logits, labels, t_loss));
    TS_ASSERT_OK(ctx, clcnn_softmax_cross_entropy_backward(ctx, t_logits, labels, t_grad, mode));
    float *got_loss = ts_tensor_read_all(t_loss), *got_grad = ts_tensor_read_all(t_grad);

    double *logits_d = ts_to_double(logits, count);
    double *expected = ts_malloc(count * sizeof *expected);
    double loss = cross_entropy_ref(rows, cols, logits_d, labels_host);
    cross_entropy_ref_backward(rows, cols, logits_d, labels_host, expected);
    char label[128];
    snprintf(label, sizeof label, "loss %zu x %zu, span %g, shift %g", rows, cols, span, shift);
    /* Each per-row loss is (max - x[label]) + log(sum): its rounding scales
     * with the spread of the logits, and a few ulps of the shifted values. */
    check_close(got_loss, &loss, 1, 1e-5 * (1.0 + span) + 8.0 * FLT_EPSILON * fabs(shift), 1e-5,
                label);
    assert_true(isfinite(got_loss[0]));
    /* Gradient entries are (p - onehot) / N: rounding relative to p, and
     * 1e-5 / N absolute. */
    for (size_t i = 0; accumulate && i < count; i++)
        expected[i] += old[i];
    snprintf(label, sizeof label, "dlogits %zu x %zu, span %g, shift %g, mode %d", rows, cols, span,
             shift, (int)mode);
    check_close(got_grad, expected, count, 1e-5 / (double)rows + (accumulate ? 1e-6 : 0.0), 1e-5,
                label);

    clcnn_tensor_destroy(t_logits);
    clcnn_tensor_destroy(t_loss);
    clcnn_tensor_destroy(t_grad);
    clcnn_labels_destroy(labels);
    free(logits), free(old), free(labels_host), free(got_loss), free(got_grad), free(logits_d);
    free(expected);
}

static void test_cross_entropy_random(void **state) {
    FOR_EACH_SHAPE(sc, {
        run_cross_entropy(*state, sc, 4.0f, 0.0f, CLCNN_GRAD_OVERWRITE);
        run_cross_entropy(*state, sc, 4.0f, 0.0f, CLCNN_GRAD_ACCUMULATE);
    });
}

/* Logits of +-1000 (exp overflows float32 at 88.7): the loss and the
 * gradient stay finite and right. */
static void test_cross_entropy_large_logits(void **state) {
    FOR_EACH_SHAPE(sc, run_cross_entropy(*state, sc, 30.0f, 1000.0f, CLCNN_GRAD_OVERWRITE));
}

/* softmax and log_softmax along the last dimension of tensors of 1 to 4
 * dimensions, in place too; softmax rows sum to 1. */
static void run_softmax(clcnn_context *ctx, size_t ndim, const size_t *dims, float span,
                        int in_place) {
    ts_poison_pool(ctx);
    size_t count = 1;
    for (size_t d = 0; d < ndim; d++)
        count *= dims[d];
    size_t cols = dims[ndim - 1], rows = count / cols;
    float *x = ts_malloc(count * sizeof *x);
    ts_fill_random(x, count, (uint32_t)count, -span, span);
    double *x_d = ts_to_double(x, count), *expected = ts_malloc(count * sizeof *expected);
    for (int log_mode = 0; log_mode < 2; log_mode++) {
        clcnn_tensor *t_x = ts_tensor_create(ctx, ndim, dims, x);
        clcnn_tensor *t_y = in_place ? t_x : ts_tensor_filled(ctx, ndim, dims, NAN);
        if (log_mode)
            TS_ASSERT_OK(ctx, clcnn_log_softmax_forward(ctx, t_x, t_y));
        else
            TS_ASSERT_OK(ctx, clcnn_softmax_forward(ctx, t_x, t_y));
        float *got = ts_tensor_read_all(t_y);
        char label[128];
        snprintf(label, sizeof label, "%s of %zu x %zu, span %g, in place %d",
                 log_mode ? "log_softmax" : "softmax", rows, cols, span, in_place);
        if (log_mode) {
            log_softmax_ref(rows, cols, x_d, expected);
            /* x - max - log(sum): rounding of terms as large as the span. */
            check_close(got, expected, count, 1e-5 * (1.0 + span), 1e-5, label);
        } else {
            softmax_ref(rows, cols, x_d, expected);
            check_close(got, expected, count, 1e-7, 1e-5, label);
            for (size_t r = 0; r < rows; r++) {
                double sum = 0.0;
                for (size_t c = 0; c < cols; c++)
                    sum += got[r * cols + c];
                if (!(fabs(sum - 1.0) <= 1e-5))
                    fail_msg("%s: row %zu sums to %.9g", label, r, sum);
            }
        }
        free(got);
        if (!in_place)
            clcnn_tensor_destroy(t_y);
        clcnn_tensor_destroy(t_x);
    }
    free(x), free(x_d), free(expected);
}

static void test_softmax_forward(void **state) {
    clcnn_context *ctx = *state;
    const size_t d1[1] = {1}, d1b[1] = {37}, d2[2] = {9, 17}, d3[3] = {2, 3, 130};
    const size_t d4[4] = {2, 2, 3, 8}, wide[2] = {2, 1000};
    run_softmax(ctx, 1, d1, 5.0f, 0);
    run_softmax(ctx, 1, d1b, 5.0f, 0);
    run_softmax(ctx, 2, d2, 5.0f, 0);
    run_softmax(ctx, 3, d3, 5.0f, 0);
    run_softmax(ctx, 4, d4, 5.0f, 1);
    run_softmax(ctx, 2, wide, 5.0f, 0);
    run_softmax(ctx, 2, d2, 500.0f, 0); /* exp(500) overflows: max subtracted */
    run_softmax(ctx, 2, d2, 500.0f, 1);
    if (!ts_small()) {
        const size_t big[2] = {512, 1000};
        run_softmax(ctx, 2, big, 8.0f, 0);
    }
}

/* ------------------------------------------------------------------ labels */

static void test_labels(void **state) {
    clcnn_context *ctx = *state;
    clcnn_labels *labels = NULL;
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_labels_create(NULL, 4, 3, &labels));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_labels_create(ctx, 4, 3, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_labels_create(ctx, 0, 3, &labels));
    assert_null(labels);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_labels_create(ctx, 4, 0, &labels));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_labels_create(ctx, 4, (size_t)INT32_MAX + 1, &labels));
    TS_ASSERT_OK(ctx, clcnn_labels_create(ctx, 4, 3, &labels));
    assert_int_equal(clcnn_labels_count(labels), 4);
    assert_int_equal(clcnn_labels_num_classes(labels), 3);
    assert_int_equal(clcnn_labels_count(NULL), 0);
    assert_int_equal(clcnn_labels_num_classes(NULL), 0);

    const int32_t good[4] = {0, 2, 1, 2}, negative[4] = {0, -1, 1, 2}, high[4] = {0, 1, 2, 3};
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_labels_write(NULL, good, 4));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_labels_write(labels, NULL, 4));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_labels_write(labels, good, 3));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_labels_write(labels, good, 5));
    TS_ASSERT_OK(ctx, clcnn_labels_write(labels, good, 4));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_labels_write(labels, negative, 4));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "label 1 is -1");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_labels_write(labels, high, 4));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "label 3 is 3, outside [0, 3)");

    /* The asynchronous form checks the same things, and a refused upload
     * starts nothing. */
    clcnn_event *uploaded = NULL;
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_labels_upload_async(NULL, good, 4, NULL, &uploaded));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_labels_upload_async(labels, good, 4, NULL, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_labels_upload_async(labels, good, 3, NULL, &uploaded));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE,
                     clcnn_labels_upload_async(labels, high, 4, NULL, &uploaded));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "labels_upload_async: label 3 is 3");
    assert_null(uploaded);

    /* A refused write leaves the earlier labels: the loss is the one of
     * `good`. */
    ts_poison_pool(ctx);
    float logits[12];
    ts_fill_random(logits, 12, 3, -2.0f, 2.0f);
    size_t dims[2] = {4, 3}, one = 1;
    clcnn_tensor *t_logits = ts_tensor_create(ctx, 2, dims, logits);
    clcnn_tensor *t_loss = ts_tensor_filled(ctx, 1, &one, NAN);
    TS_ASSERT_OK(ctx, clcnn_softmax_cross_entropy_forward(ctx, t_logits, labels, t_loss));
    float *got = ts_tensor_read_all(t_loss);
    double *logits_d = ts_to_double(logits, 12);
    double expected = cross_entropy_ref(4, 3, logits_d, good);
    check_close(got, &expected, 1, 1e-5, 1e-5, "loss after a refused write");
    free(got);

    /* An accepted upload replaces them once the compute queue waits for it. */
    const int32_t other[4] = {2, 0, 0, 1};
    TS_ASSERT_OK(ctx, clcnn_labels_upload_async(labels, other, 4, NULL, &uploaded));
    TS_ASSERT_OK(ctx, clcnn_context_wait_event(ctx, uploaded));
    TS_ASSERT_OK(ctx, clcnn_softmax_cross_entropy_forward(ctx, t_logits, labels, t_loss));
    got = ts_tensor_read_all(t_loss);
    expected = cross_entropy_ref(4, 3, logits_d, other);
    check_close(got, &expected, 1, 1e-5, 1e-5, "loss after an asynchronous upload");
    free(got);
    clcnn_event_destroy(uploaded);
    free(logits_d);
    clcnn_tensor_destroy(t_logits);
    clcnn_tensor_destroy(t_loss);
    clcnn_labels_destroy(labels);
    clcnn_labels_destroy(NULL);
}

/* Labels that bypass clcnn_labels_write (written straight into the device
 * buffer) never make a kernel read out of bounds: the row gives NaN. */
static void test_kernel_guards_labels(void **state) {
    clcnn_context *ctx = *state;
    ts_poison_pool(ctx);
    const int32_t valid[3] = {0, 1, 2};
    clcnn_labels *labels = make_labels(ctx, 3, 4, valid);
    const cl_int raw[3] = {-1, 1, 4};
    assert_int_equal(
        clEnqueueWriteBuffer(ctx->queue, labels->mem, CL_TRUE, 0, sizeof raw, raw, 0, NULL, NULL),
        CL_SUCCESS);
    float logits[12];
    ts_fill_random(logits, 12, 9, -1.0f, 1.0f);
    size_t dims[2] = {3, 4}, one = 1;
    clcnn_tensor *t_logits = ts_tensor_create(ctx, 2, dims, logits);
    clcnn_tensor *t_loss = ts_tensor_filled(ctx, 1, &one, NAN);
    clcnn_tensor *t_grad = ts_tensor_filled(ctx, 2, dims, NAN);
    TS_ASSERT_OK(ctx, clcnn_softmax_cross_entropy_forward(ctx, t_logits, labels, t_loss));
    TS_ASSERT_OK(ctx, clcnn_softmax_cross_entropy_backward(ctx, t_logits, labels, t_grad,
                                                           CLCNN_GRAD_OVERWRITE));
    float *loss = ts_tensor_read_all(t_loss), *grad = ts_tensor_read_all(t_grad);
    assert_true(isnan(loss[0]));
    for (size_t c = 0; c < 4; c++) {
        assert_true(isnan(grad[0 * 4 + c]));
        assert_true(isfinite(grad[1 * 4 + c]));
        assert_true(isnan(grad[2 * 4 + c]));
    }
    free(loss), free(grad);
    clcnn_tensor_destroy(t_logits);
    clcnn_tensor_destroy(t_loss);
    clcnn_tensor_destroy(t_grad);
    clcnn_labels_destroy(labels);
}

/* The same loss and gradient twice give the same bits. */
static void test_deterministic(void **state) {
    clcnn_context *ctx = *state;
    ts_poison_pool(ctx);
    size_t rows = ts_small() ? 100 : 1000, cols = 10, count = rows * cols, one = 1;
    float *logits = ts_malloc(count * sizeof *logits);
    ts_fill_random(logits, count, 12, -5.0f, 5.0f);
    int32_t *labels_host = random_labels(rows, cols, 4);
    size_t dims[2] = {rows, cols};
    clcnn_tensor *t_logits = ts_tensor_create(ctx, 2, dims, logits);
    clcnn_tensor *t_loss = ts_tensor_filled(ctx, 1, &one, NAN);
    clcnn_tensor *t_grad = ts_tensor_filled(ctx, 2, dims, NAN);
    clcnn_labels *labels = make_labels(ctx, rows, cols, labels_host);
    float first_loss = 0.0f, *first_grad = NULL;
    for (int run = 0; run < 2; run++) {
        TS_ASSERT_OK(ctx, clcnn_softmax_cross_entropy_forward(ctx, t_logits, labels, t_loss));
        TS_ASSERT_OK(ctx, clcnn_softmax_cross_entropy_backward(ctx, t_logits, labels, t_grad,
                                                               CLCNN_GRAD_OVERWRITE));
        float *loss = ts_tensor_read_all(t_loss), *grad = ts_tensor_read_all(t_grad);
        if (run == 0) {
            first_loss = loss[0];
            first_grad = grad;
        } else {
            TS_ASSERT_FLOATS_IDENTICAL(loss, &first_loss, 1);
            TS_ASSERT_FLOATS_IDENTICAL(grad, first_grad, count);
            free(grad);
            free(first_grad);
        }
        free(loss);
    }
    clcnn_tensor_destroy(t_logits);
    clcnn_tensor_destroy(t_loss);
    clcnn_tensor_destroy(t_grad);
    clcnn_labels_destroy(labels);
    free(logits), free(labels_host);
}

/* ------------------------------------------------------------------ errors */

static clcnn_tensor *zeros(clcnn_context *ctx, size_t ndim, size_t d0, size_t d1, size_t d2) {
    size_t dims[3] = {d0, d1, d2};
    return ts_tensor_filled(ctx, ndim, dims, 0.0f);
}

static void test_errors(void **state) {
    clcnn_context *ctx = *state;
    const int32_t four[4] = {0, 1, 2, 0}, five[5] = {0, 1, 2, 0, 1};
    clcnn_tensor *logits = zeros(ctx, 2, 4, 3, 0), *loss = zeros(ctx, 1, 1, 0, 0);
    clcnn_tensor *grad = zeros(ctx, 2, 4, 3, 0), *logits3 = zeros(ctx, 3, 4, 3, 1);
    clcnn_tensor *loss2 = zeros(ctx, 1, 2, 0, 0), *grad_bad = zeros(ctx, 2, 3, 4, 0);
    clcnn_tensor *loss_2d = zeros(ctx, 2, 1, 1, 0);
    clcnn_labels *labels = make_labels(ctx, 4, 3, four);
    clcnn_labels *labels5 = make_labels(ctx, 5, 3, five);
    clcnn_labels *labels4x4 = make_labels(ctx, 4, 4, four);
    const clcnn_grad_mode over = CLCNN_GRAD_OVERWRITE;

    /* A loss of shape [1, 1] is fine: one element. */
    TS_ASSERT_OK(ctx, clcnn_softmax_cross_entropy_forward(ctx, logits, labels, loss_2d));

    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_softmax_cross_entropy_forward(NULL, logits, labels, loss));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_softmax_cross_entropy_forward(ctx, NULL, labels, loss));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_softmax_cross_entropy_forward(ctx, logits, NULL, loss));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_softmax_cross_entropy_forward(ctx, logits, labels, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_softmax_cross_entropy_forward(ctx, logits3, labels, loss));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[4, 3, 1]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_softmax_cross_entropy_forward(ctx, logits, labels5, loss));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "not 5 over 3");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_softmax_cross_entropy_forward(ctx, logits, labels4x4, loss));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_softmax_cross_entropy_forward(ctx, logits, labels, loss2));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[2]");

    /* loss sharing memory with logits: a one-element logits and a view. */
    clcnn_tensor *tiny = zeros(ctx, 2, 1, 1, 0), *tiny_view = NULL;
    size_t one = 1;
    TS_ASSERT_OK(ctx, clcnn_tensor_reshape(tiny, 1, &one, &tiny_view));
    const int32_t zero_label[1] = {0};
    clcnn_labels *labels1 = make_labels(ctx, 1, 1, zero_label);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_softmax_cross_entropy_forward(ctx, tiny, labels1, tiny_view));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_softmax_cross_entropy_backward(ctx, tiny, labels1, tiny, over));

    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_softmax_cross_entropy_backward(NULL, logits, labels, grad, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_softmax_cross_entropy_backward(ctx, NULL, labels, grad, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_softmax_cross_entropy_backward(ctx, logits, NULL, grad, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_softmax_cross_entropy_backward(ctx, logits, labels, NULL, over));
    TS_ASSERT_STATUS(
        ctx, CLCNN_ERROR_INVALID_ARGUMENT,
        clcnn_softmax_cross_entropy_backward(ctx, logits, labels, grad, (clcnn_grad_mode)2));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_softmax_cross_entropy_backward(ctx, logits, labels, grad_bad, over));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[3, 4]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_softmax_cross_entropy_backward(ctx, logits, labels5, grad, over));

    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_softmax_forward(NULL, logits, grad));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_softmax_forward(ctx, NULL, grad));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_softmax_forward(ctx, logits, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_softmax_forward(ctx, logits, grad_bad));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_log_softmax_forward(ctx, logits, logits3));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_log_softmax_forward(ctx, NULL, logits));

    /* Objects of another context. */
    clcnn_context *other = ts_context_create();
    clcnn_labels *foreign_labels = make_labels(other, 4, 3, four);
    clcnn_tensor *foreign = zeros(other, 2, 4, 3, 0);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_softmax_cross_entropy_forward(ctx, logits, foreign_labels, loss));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_softmax_cross_entropy_forward(ctx, foreign, labels, loss));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_softmax_cross_entropy_backward(ctx, logits, foreign_labels, grad, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_softmax_forward(ctx, foreign, grad));
    clcnn_labels_destroy(foreign_labels);
    clcnn_tensor_destroy(foreign);
    clcnn_context_destroy(other);

    clcnn_tensor *all[] = {logits, loss, grad, logits3, loss2, grad_bad, loss_2d, tiny, tiny_view};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clcnn_tensor_destroy(all[i]);
    clcnn_labels_destroy(labels);
    clcnn_labels_destroy(labels5);
    clcnn_labels_destroy(labels4x4);
    clcnn_labels_destroy(labels1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference),
        cmocka_unit_test(test_golden_cross_entropy),
        cmocka_unit_test(test_golden_large_logits),
        cmocka_unit_test(test_cross_entropy_random),
        cmocka_unit_test(test_cross_entropy_large_logits),
        cmocka_unit_test(test_softmax_forward),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_kernel_guards_labels),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
