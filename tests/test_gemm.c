/* The internal GEMM (clcnn__gemm) and the public clcnn_gemm against a double
 * reference: every transpose combination on odd shapes, alpha/beta
 * variants with BLAS's rules for zeros, offsets and leading dimensions,
 * determinism, the tiled backend and the device's own choice (CLBlast on
 * GPUs), and the error of every bad argument.
 * Tolerance per element: (k + 4) * FLT_EPSILON * (|alpha| sum |a b| +
 * |beta c|), the rounding a float32 dot product of length k may make.
 * CLCNN_TEST_SMALL (Oclgrind) keeps every case to a few thousand elements. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "clcnn/gemm.h"
#include "ops/gemm.h"
#include "ref/gemm_ref.h"
#include "support/test_support.h"

typedef struct gemm_case {
    int trans_a, trans_b;
    size_t m, n, k;
    float alpha, beta;
    size_t a_offset, b_offset, c_offset; /* in floats */
    size_t ld_pad;                       /* leading dimension = row length + ld_pad */
    int c_nan;                           /* C starts as NaN (with beta == 0) */
    int ab_nan;                          /* A and B are NaN (with alpha == 0) */
} gemm_case;

static void fill(float *data, size_t count, uint32_t seed, int nan) {
    ts_fill_random(data, count, seed, -1.0f, 1.0f);
    for (size_t i = 0; nan && i < count; i++)
        data[i] = NAN;
}

/* Checks got (the m x n window of a matrix with leading dimension ld)
 * against expected within the stated tolerance. */
static void check_window(const float *got, size_t ld, const double *expected,
                         const double *magnitude, size_t m, size_t n, size_t k, const char *label) {
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double value = got[i * ld + j], want = expected[i * n + j];
            double bound = (double)(k + 4) * FLT_EPSILON * magnitude[i * n + j] + 1e-30;
            if (!(fabs(value - want) <= bound))
                fail_msg("%s: C[%zu][%zu] = %.9g, expected %.9g (bound %.3g)", label, i, j, value,
                         want, bound);
        }
    }
}

/* Runs one case on `backend`; checks the window of C and that nothing of
 * C's buffer outside the window changed. */
static void run_case(clcnn_context *ctx, clcnn__gemm_backend backend, const gemm_case *tc) {
    ts_poison_pool(ctx);
    size_t a_rows = tc->trans_a ? tc->k : tc->m, a_cols = tc->trans_a ? tc->m : tc->k;
    size_t b_rows = tc->trans_b ? tc->n : tc->k, b_cols = tc->trans_b ? tc->k : tc->n;
    size_t lda = a_cols + tc->ld_pad, ldb = b_cols + tc->ld_pad, ldc = tc->n + tc->ld_pad;
    lda = lda ? lda : 1;
    ldb = ldb ? ldb : 1;
    ldc = ldc ? ldc : 1;
    size_t a_len = tc->a_offset + a_rows * lda + 1, b_len = tc->b_offset + b_rows * ldb + 1;
    size_t c_len = tc->c_offset + tc->m * ldc + 1;
    float *a = ts_malloc(a_len * sizeof *a), *b = ts_malloc(b_len * sizeof *b);
    float *c = ts_malloc(c_len * sizeof *c), *got = ts_malloc(c_len * sizeof *got);
    fill(a, a_len, 11u + (uint32_t)tc->m, tc->ab_nan);
    fill(b, b_len, 23u + (uint32_t)tc->n, tc->ab_nan);
    fill(c, c_len, 37u + (uint32_t)tc->k, tc->c_nan);
    double *expected = ts_malloc((tc->m * tc->n + 1) * sizeof *expected);
    double *magnitude = ts_malloc((tc->m * tc->n + 1) * sizeof *magnitude);
    gemm_ref(tc->trans_a, tc->trans_b, tc->m, tc->n, tc->k, tc->alpha, a + tc->a_offset, lda,
             b + tc->b_offset, ldb, tc->beta, c + tc->c_offset, ldc, expected, magnitude);

    clcnn_tensor *ta = ts_vector_create(ctx, a_len, a), *tb = ts_vector_create(ctx, b_len, b);
    clcnn_tensor *tc_tensor = ts_vector_create(ctx, c_len, c);
    TS_ASSERT_OK(ctx, clcnn__gemm_with(ctx, backend, tc->trans_a, tc->trans_b, tc->m, tc->n, tc->k,
                                       tc->alpha, clcnn_tensor_cl_mem(ta), tc->a_offset, lda,
                                       clcnn_tensor_cl_mem(tb), tc->b_offset, ldb, tc->beta,
                                       clcnn_tensor_cl_mem(tc_tensor), tc->c_offset, ldc));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(tc_tensor, 0, got, c_len));

    char label[160];
    snprintf(label, sizeof label,
             "backend %d, trans %d%d, %zu x %zu x %zu, alpha %g, beta %g, offsets %zu/%zu/%zu, "
             "ld pad %zu",
             (int)backend, tc->trans_a, tc->trans_b, tc->m, tc->n, tc->k, tc->alpha, tc->beta,
             tc->a_offset, tc->b_offset, tc->c_offset, tc->ld_pad);
    check_window(got + tc->c_offset, ldc, expected, magnitude, tc->m, tc->n, tc->k, label);
    /* Outside the window: untouched, bit for bit. */
    for (size_t i = 0; i < c_len; i++) {
        size_t rel = i - tc->c_offset;
        int inside = i >= tc->c_offset && rel / ldc < tc->m && rel % ldc < tc->n;
        if (!inside)
            TS_ASSERT_FLOATS_IDENTICAL(&got[i], &c[i], 1);
    }
    clcnn_tensor_destroy(ta);
    clcnn_tensor_destroy(tb);
    clcnn_tensor_destroy(tc_tensor);
    free(a);
    free(b);
    free(c);
    free(got);
    free(expected);
    free(magnitude);
}

static const size_t odd_shapes[][3] = {{1, 1, 1},    {7, 33, 130}, {33, 7, 1},
                                       {130, 33, 7}, {1, 130, 33}, {17, 31, 9},
                                       {8, 32, 16},  {9, 33, 17},  {3, 65, 40}};

static void run_odd_shapes(clcnn_context *ctx, clcnn__gemm_backend backend) {
    for (int trans = 0; trans < 4; trans++) {
        for (size_t s = 0; s < sizeof odd_shapes / sizeof odd_shapes[0]; s++) {
            gemm_case tc = {.trans_a = trans & 1,
                            .trans_b = trans >> 1,
                            .m = odd_shapes[s][0],
                            .n = odd_shapes[s][1],
                            .k = odd_shapes[s][2],
                            .alpha = 1.0f,
                            .beta = 0.0f};
            run_case(ctx, backend, &tc);
        }
    }
}

static void test_transposes_odd_shapes(void **state) {
    run_odd_shapes(*state, CLCNN__GEMM_TILED);
}

/* Whatever the device's table row picks (CLBlast on a GPU). */
static void test_auto_backend(void **state) {
    run_odd_shapes(*state, CLCNN__GEMM_AUTO);
}

static void test_alpha_beta(void **state) {
    clcnn_context *ctx = *state;
    const struct {
        float alpha, beta;
        int c_nan, ab_nan;
    } variants[] = {
        {0.5f, -1.5f, 0, 0},  {1.0f, 1.0f, 0, 0},
        {-2.0f, 0.25f, 0, 0}, {1.0f, 0.0f, 1, 0}, /* beta 0: C's NaNs are ignored */
        {0.0f, 2.0f, 0, 1},                       /* alpha 0: A and B (NaN) are not read */
        {0.0f, 0.0f, 1, 1},                       /* both: C becomes 0 */
    };
    for (clcnn__gemm_backend backend = CLCNN__GEMM_AUTO; backend <= CLCNN__GEMM_TILED; backend++) {
        for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
            for (int trans = 0; trans < 4; trans++) {
                gemm_case tc = {.trans_a = trans & 1,
                                .trans_b = trans >> 1,
                                .m = 13,
                                .n = 35,
                                .k = 21,
                                .alpha = variants[v].alpha,
                                .beta = variants[v].beta,
                                .c_nan = variants[v].c_nan,
                                .ab_nan = variants[v].ab_nan};
                run_case(ctx, backend, &tc);
            }
        }
    }
}

static void test_offsets_and_leading_dims(void **state) {
    clcnn_context *ctx = *state;
    for (clcnn__gemm_backend backend = CLCNN__GEMM_AUTO; backend <= CLCNN__GEMM_TILED; backend++) {
        for (int trans = 0; trans < 4; trans++) {
            gemm_case tc = {.trans_a = trans & 1,
                            .trans_b = trans >> 1,
                            .m = 19,
                            .n = 37,
                            .k = 23,
                            .alpha = 1.25f,
                            .beta = 0.5f,
                            .a_offset = 3,
                            .b_offset = 5,
                            .c_offset = 11,
                            .ld_pad = 3};
            run_case(ctx, backend, &tc);
            tc.ld_pad = 17;
            tc.beta = 0.0f;
            tc.c_nan = 1;
            run_case(ctx, backend, &tc);
        }
    }
}

/* k == 0: no product, C = beta * C (0 when beta is 0, even over NaN). */
static void test_k_zero(void **state) {
    clcnn_context *ctx = *state;
    gemm_case tc = {.m = 5, .n = 40, .k = 0, .alpha = 1.0f, .beta = -3.0f, .ld_pad = 2};
    run_case(ctx, CLCNN__GEMM_AUTO, &tc);
    tc.beta = 0.0f;
    tc.c_nan = 1;
    run_case(ctx, CLCNN__GEMM_AUTO, &tc);
}

/* m == 0 or n == 0: nothing happens, successfully. */
static void test_empty_output(void **state) {
    clcnn_context *ctx = *state;
    gemm_case tc = {.m = 0, .n = 9, .k = 4, .alpha = 1.0f, .beta = 1.0f};
    run_case(ctx, CLCNN__GEMM_AUTO, &tc);
    tc.m = 6;
    tc.n = 0;
    run_case(ctx, CLCNN__GEMM_AUTO, &tc);
}

/* Shapes spanning many tiles and work-groups in both directions. */
static void test_many_tiles(void **state) {
    clcnn_context *ctx = *state;
    size_t m = ts_small() ? 41 : 203, n = ts_small() ? 70 : 301, k = ts_small() ? 19 : 257;
    for (clcnn__gemm_backend backend = CLCNN__GEMM_AUTO; backend <= CLCNN__GEMM_TILED; backend++) {
        for (int trans = 0; trans < 4; trans++) {
            gemm_case tc = {.trans_a = trans & 1,
                            .trans_b = trans >> 1,
                            .m = m,
                            .n = n,
                            .k = k,
                            .alpha = 0.75f,
                            .beta = 0.5f};
            run_case(ctx, backend, &tc);
        }
    }
}

/* The same product twice gives the same bits. */
static void test_deterministic(void **state) {
    clcnn_context *ctx = *state;
    size_t m = ts_small() ? 20 : 67, n = ts_small() ? 40 : 129, k = ts_small() ? 50 : 300;
    ts_poison_pool(ctx);
    size_t a_dims[2] = {m, k}, b_dims[2] = {k, n}, c_dims[2] = {m, n};
    float *a = ts_malloc(m * k * sizeof *a), *b = ts_malloc(k * n * sizeof *b);
    float *first = ts_malloc(m * n * sizeof *first), *second = ts_malloc(m * n * sizeof *second);
    ts_fill_random(a, m * k, 5, -1.0f, 1.0f);
    ts_fill_random(b, k * n, 6, -1.0f, 1.0f);
    clcnn_tensor *ta = NULL, *tb = NULL, *tc = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, a_dims, &ta));
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, b_dims, &tb));
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, c_dims, &tc));
    TS_ASSERT_OK(ctx, clcnn_tensor_write(ta, 0, a, m * k));
    TS_ASSERT_OK(ctx, clcnn_tensor_write(tb, 0, b, k * n));
    TS_ASSERT_OK(ctx, clcnn_gemm(ctx, 0, 0, 1.0f, ta, tb, 0.0f, tc));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(tc, 0, first, m * n));
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(tc, 7.0f));
    TS_ASSERT_OK(ctx, clcnn_gemm(ctx, 0, 0, 1.0f, ta, tb, 0.0f, tc));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(tc, 0, second, m * n));
    TS_ASSERT_FLOATS_IDENTICAL(second, first, m * n);
    clcnn_tensor_destroy(ta);
    clcnn_tensor_destroy(tb);
    clcnn_tensor_destroy(tc);
    free(a);
    free(b);
    free(first);
    free(second);
}

static void test_internal_errors(void **state) {
    clcnn_context *ctx = *state;
    size_t count = 64;
    clcnn_tensor *buffer = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &count, &buffer));
    cl_mem mem = clcnn_tensor_cl_mem(buffer);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn__gemm(NULL, 0, 0, 2, 2, 2, 1.0f, mem, 0, 2, mem, 0, 2, 0.0f, mem, 8, 2));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn__gemm(ctx, 0, 0, 2, 2, 2, 1.0f, NULL, 0, 2, mem, 0, 2, 0.0f, mem, 8, 2));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn__gemm(ctx, 0, 0, 2, 2, 2, 1.0f, mem, 0, 2, NULL, 0, 2, 0.0f, mem, 8, 2));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn__gemm(ctx, 0, 0, 2, 2, 2, 1.0f, mem, 0, 2, mem, 0, 2, 0.0f, NULL, 8, 2));
    /* Leading dimensions shorter than a stored row. */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn__gemm(ctx, 0, 0, 2, 3, 4, 1.0f, mem, 0, 3, mem, 0, 3, 0.0f, mem, 8, 3));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "leading dimension of A");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn__gemm(ctx, 0, 1, 2, 3, 4, 1.0f, mem, 0, 4, mem, 0, 3, 0.0f, mem, 8, 3));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "leading dimension of B");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn__gemm(ctx, 0, 0, 2, 3, 4, 1.0f, mem, 0, 4, mem, 0, 3, 0.0f, mem, 8, 2));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "leading dimension of C");
    /* A matrix reaching past its buffer: 8 x 8 from offset 1 needs 65. */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE,
                     clcnn__gemm(ctx, 0, 0, 8, 8, 8, 1.0f, mem, 1, 8, mem, 0, 8, 0.0f, mem, 0, 8));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "A (8 x 8, ld 8, offset 1)");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE,
                     clcnn__gemm(ctx, 0, 0, 4, 4, 4, 1.0f, mem, 0, 4, mem, 0, 4, 0.0f, mem, 60, 4));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                     clcnn__gemm(ctx, 0, 0, (size_t)UINT32_MAX + 1, 1, 1, 1.0f, mem, 0, 1, mem, 0,
                                 1, 0.0f, mem, 0, 1));
    TS_ASSERT_STATUS(
        ctx, CLCNN_ERROR_SIZE_OVERFLOW,
        clcnn__gemm(ctx, 0, 0, 2, 2, 2, 1.0f, mem, SIZE_MAX - 1, 2, mem, 0, 2, 0.0f, mem, 8, 2));
    clcnn_tensor_destroy(buffer);
}

static clcnn_tensor *make_2d(clcnn_context *ctx, size_t rows, size_t cols, uint32_t seed) {
    size_t dims[2] = {rows, cols};
    float *data = ts_random_floats(rows * cols, seed, -1.0f, 1.0f);
    clcnn_tensor *tensor = ts_tensor_create(ctx, 2, dims, data);
    free(data);
    return tensor;
}

/* clcnn_gemm on tensors, every transpose combination. */
static void test_tensor_api(void **state) {
    clcnn_context *ctx = *state;
    const size_t m = 11, n = 34, k = 9;
    for (int trans = 0; trans < 4; trans++) {
        int trans_a = trans & 1, trans_b = trans >> 1;
        ts_poison_pool(ctx);
        clcnn_tensor *a = trans_a ? make_2d(ctx, k, m, 1) : make_2d(ctx, m, k, 1);
        clcnn_tensor *b = trans_b ? make_2d(ctx, n, k, 2) : make_2d(ctx, k, n, 2);
        clcnn_tensor *c = make_2d(ctx, m, n, 3);
        float *a_host = ts_tensor_read_all(a), *b_host = ts_tensor_read_all(b),
              *c_host = ts_tensor_read_all(c);
        double expected[11 * 34], magnitude[11 * 34];
        gemm_ref(trans_a, trans_b, m, n, k, -0.5, a_host, clcnn_tensor_dim(a, 1), b_host,
                 clcnn_tensor_dim(b, 1), 2.0, c_host, n, expected, magnitude);
        TS_ASSERT_OK(ctx, clcnn_gemm(ctx, trans_a, trans_b, -0.5f, a, b, 2.0f, c));
        float *got = ts_tensor_read_all(c);
        check_window(got, n, expected, magnitude, m, n, k, "clcnn_gemm");
        free(a_host);
        free(b_host);
        free(c_host);
        free(got);
        clcnn_tensor_destroy(a);
        clcnn_tensor_destroy(b);
        clcnn_tensor_destroy(c);
    }
}

static void test_tensor_api_errors(void **state) {
    clcnn_context *ctx = *state;
    clcnn_tensor *a = make_2d(ctx, 4, 5, 1), *b = make_2d(ctx, 5, 6, 2), *c = make_2d(ctx, 4, 6, 3);
    clcnn_tensor *wrong_c = make_2d(ctx, 6, 4, 4), *wrong_b = make_2d(ctx, 4, 6, 5);
    size_t dims3[3] = {4, 5, 1};
    clcnn_tensor *a3 = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 3, dims3, &a3));

    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_gemm(NULL, 0, 0, 1, a, b, 0, c));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_gemm(ctx, 0, 0, 1, NULL, b, 0, c));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_gemm(ctx, 0, 0, 1, a, NULL, 0, c));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_gemm(ctx, 0, 0, 1, a, b, 0, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_gemm(ctx, 0, 0, 1, a3, b, 0, c));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[4, 5, 1]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_gemm(ctx, 0, 0, 1, a, b, 0, wrong_c));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[6, 4]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_gemm(ctx, 0, 0, 1, a, wrong_b, 0, c));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[4, 6]");
    /* Transposes change which sizes must agree. */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_gemm(ctx, 1, 0, 1, a, b, 0, c));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_gemm(ctx, 0, 1, 1, a, b, 0, c));
    /* The output may not share memory with an input. */
    clcnn_tensor *square = make_2d(ctx, 5, 5, 6);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_gemm(ctx, 0, 0, 1, square, square, 0, square));

    clcnn_context *other = ts_context_create();
    clcnn_tensor *foreign = make_2d(other, 5, 6, 7);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_gemm(ctx, 0, 0, 1, a, foreign, 0, c));
    clcnn_tensor_destroy(foreign);
    clcnn_context_destroy(other);

    clcnn_tensor_destroy(square);
    clcnn_tensor_destroy(a3);
    clcnn_tensor_destroy(a);
    clcnn_tensor_destroy(b);
    clcnn_tensor_destroy(c);
    clcnn_tensor_destroy(wrong_c);
    clcnn_tensor_destroy(wrong_b);
}

/* Views of one buffer: c may lie beside a and b in it, not over them. */
static void test_views_of_one_buffer(void **state) {
    clcnn_context *ctx = *state;
    size_t align_bytes = 0;
    TS_ASSERT_OK(ctx, clcnn__view_alignment(ctx, &align_bytes));
    const size_t side = 4, span = clcnn__round_up(side * side, align_bytes / sizeof(float));
    const size_t dims[2] = {side, side}, root_count = 3 * span;
    float *values = ts_random_floats(root_count, 41, -1.0f, 1.0f);
    clcnn_tensor *root = ts_tensor_create(ctx, 1, &root_count, values);
    clcnn_tensor *a = NULL, *b = NULL, *c = NULL, *over_b = NULL;
    TS_ASSERT_OK(ctx, clcnn__storage_view(root->storage, 0, 2, dims, &a));
    TS_ASSERT_OK(ctx, clcnn__storage_view(root->storage, span, 2, dims, &b));
    TS_ASSERT_OK(ctx, clcnn__storage_view(root->storage, 2 * span, 2, dims, &c));
    TS_ASSERT_OK(ctx, clcnn__storage_view(root->storage, span, 2, dims, &over_b));
    TS_ASSERT_OK(ctx, clcnn_gemm(ctx, 0, 0, 1.0f, a, b, 0.0f, c));
    float *got = ts_tensor_read_all(c);
    for (size_t i = 0; i < side; i++)
        for (size_t j = 0; j < side; j++) {
            double sum = 0.0, magnitude = 0.0;
            for (size_t l = 0; l < side; l++) {
                double term = (double)values[i * side + l] * values[span + l * side + j];
                sum += term, magnitude += fabs(term);
            }
            assert_true(fabs(got[i * side + j] - sum) <= (side + 4) * FLT_EPSILON * magnitude);
        }
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_gemm(ctx, 0, 0, 1.0f, a, b, 0.0f, over_b));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "shares memory with");
    free(got), free(values);
    clcnn_tensor_destroy(over_b), clcnn_tensor_destroy(c), clcnn_tensor_destroy(b);
    clcnn_tensor_destroy(a), clcnn_tensor_destroy(root);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transposes_odd_shapes),
        cmocka_unit_test(test_auto_backend),
        cmocka_unit_test(test_alpha_beta),
        cmocka_unit_test(test_offsets_and_leading_dims),
        cmocka_unit_test(test_k_zero),
        cmocka_unit_test(test_empty_output),
        cmocka_unit_test(test_many_tiles),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_internal_errors),
        cmocka_unit_test(test_tensor_api),
        cmocka_unit_test(test_tensor_api_errors),
        cmocka_unit_test(test_views_of_one_buffer),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
