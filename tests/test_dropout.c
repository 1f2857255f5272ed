/* Inverted dropout (clcnn/dropout.h) against the host Philox reference
 * (ref/philox_ref.c): masks bit for bit for every vector width, strategy and
 * work-group size; statistics of the masks (kept fraction, neighbour and
 * offset correlations); exact output values; backward with exactly the
 * forward mask; identities; every bad argument's status. Also runs under
 * Oclgrind, with small shapes (CLCNN_TEST_SMALL, or an Oclgrind device). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn/dropout.h"
#include "ref/philox_ref.h"
#include "runtime/internal.h"
#include "support/test_support.h"

static const unsigned widths[] = {1, 8, 16};
#define WIDTH_COUNT (sizeof widths / sizeof widths[0])
static const clcnn_dropout_mask_strategy strategies[] = {CLCNN_DROPOUT_MASK_REGENERATE,
                                                         CLCNN_DROPOUT_MASK_BITS};

/* A tensor holding `values`, or zeros written from the host when values is
 * NULL (Oclgrind 21.10 counts memory set by clEnqueueFillBuffer, as
 * clcnn_tensor_create's zeros are, as uninitialised). */
static clcnn_tensor *make_tensor(clcnn_context *ctx, size_t ndim, const size_t *dims,
                                 const float *values) {
    return values != NULL ? ts_tensor_create(ctx, ndim, dims, values)
                          : ts_tensor_filled(ctx, ndim, dims, 0.0f);
}

static clcnn_tensor *make_vector(clcnn_context *ctx, size_t n, const float *values) {
    return make_tensor(ctx, 1, &n, values);
}

static clcnn_dropout_mask *make_mask(clcnn_context *ctx, size_t n,
                                     clcnn_dropout_mask_strategy strategy, unsigned width) {
    clcnn_dropout_mask_options options = clcnn_dropout_mask_options_default();
    options.strategy = strategy;
    options.vector_width = width;
    clcnn_dropout_mask *mask = NULL;
    TS_ASSERT_OK(ctx, clcnn_dropout_mask_create(ctx, n, &options, &mask));
    return mask;
}

static float scale_of(float p) {
    return (float)(1.0 / (1.0 - (double)p));
}

/* Values in [0.5, 1.5) and of both signs, never 0, so y == 0 means dropped. */
static float *nonzero_values(size_t n, uint32_t seed) {
    float *x = ts_malloc(n * sizeof *x);
    ts_fill_random(x, n, seed, 0.5f, 1.5f);
    for (size_t i = 0; i < n; i += 3)
        x[i] = -x[i];
    return x;
}

/* Checks y against the reference mask: y[e] == x[e] * scale exactly where
 * kept, +0 where dropped, and within 1 float ulp of the double reference
 * x / (1 - p). */
static void check_forward_values(const float *x, const float *y, const uint8_t *keep, float p,
                                 size_t n, const char *what) {
    float scale = scale_of(p);
    double *x64 = ts_malloc(n * sizeof *x64), *ref = ts_malloc(n * sizeof *ref);
    float *expected = ts_malloc(n * sizeof *expected);
    for (size_t e = 0; e < n; e++) {
        x64[e] = x[e];
        expected[e] = keep[e] ? x[e] * scale : 0.0f;
    }
    dropout_ref_forward(keep, (double)p, n, x64, ref);
    for (size_t e = 0; e < n; e++) {
        if (memcmp(&y[e], &expected[e], sizeof(float)) != 0) {
            print_error("%s: element %zu of %zu (p = %g): got %.9g, want %.9g (kept %d)\n", what, e,
                        n, (double)p, (double)y[e], (double)expected[e], keep[e]);
            fail();
        }
    }
    TS_ASSERT_FLOATS_NEAR(y, ref, n, 0.0, 1.2e-7);
    free(x64);
    free(ref);
    free(expected);
}

static void check_bits(const uint32_t *got, const uint32_t *expected, size_t words,
                       const char *what) {
    for (size_t w = 0; w < words; w++) {
        if (got[w] != expected[w]) {
            print_error("%s: mask word %zu is %08x, want %08x\n", what, w, got[w], expected[w]);
            fail();
        }
    }
}

/* ------------------------------------------------------------ the masks */

/* For several (seed, offset, p, n), every width and strategy: y and the
 * read-back bits equal the host reference bit for bit. */
static void test_mask_matches_reference(void **state) {
    clcnn_context *ctx = *state;
    static const struct {
        uint64_t seed, offset;
        float p;
        size_t n;
    } cases[] = {
        {0, 0, 0.5f, 1},
        {1, 0, 0.5f, 3},
        {2, 5, 0.25f, 4},
        {3, 6, 0.75f, 5},
        {0xFFFFFFFFFFFFFFFFull, 0xFFFFFFFFFFFFFFFEull, 0.5f, 17},
        {42, 1, 0.1f, 31},
        {42, 2, 0.9f, 32},
        {0x123456789ABCDEF0ull, 7, 0.3f, 33},
        {7, (uint64_t)1 << 32, 0.5f, 63},
        {8, 9, 0.5f, 64},
        {9, 10, 0.6f, 65},
        {10, 11, 0.5f, 1000},
        {11, 12, 0.2f, 4099},
        {12, 13, 0.5f, 100003},
    };
    int small = ts_small();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = cases[c].n;
        if (small && n > 4099)
            continue;
        float *x = nonzero_values(n, 100 + (uint32_t)c);
        uint8_t *keep = ts_malloc(n);
        philox_ref_dropout_mask(cases[c].seed, cases[c].offset, (double)cases[c].p, n, keep);
        size_t words = (n + 31) / 32;
        uint32_t *expected_bits = ts_malloc(words * sizeof *expected_bits);
        uint32_t *bits = ts_malloc(words * sizeof *bits);
        philox_ref_pack_mask(keep, n, expected_bits);
        clcnn_tensor *xt = make_vector(ctx, n, x), *yt = make_vector(ctx, n, NULL);
        for (size_t w = 0; w < WIDTH_COUNT; w++) {
            for (size_t s = 0; s < 2; s++) {
                clcnn_dropout_mask *mask = make_mask(ctx, n, strategies[s], widths[w]);
                clcnn_dropout_state st = {cases[c].seed, cases[c].offset};
                TS_ASSERT_OK(ctx, clcnn_tensor_fill(yt, 12345.0f));
                TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, &st, cases[c].p, 1, xt, yt, mask));
                assert_true(st.offset == cases[c].offset + 1);
                char what[128];
                snprintf(what, sizeof what, "case %zu (n = %zu), width %u, strategy %d", c, n,
                         widths[w], (int)strategies[s]);
                float *y = ts_tensor_read_all(yt);
                check_forward_values(x, y, keep, cases[c].p, n, what);
                memset(bits, 0xA5, words * sizeof *bits);
                TS_ASSERT_OK(ctx, clcnn_dropout_mask_read(mask, bits, words));
                check_bits(bits, expected_bits, words, what);
                free(y);
                clcnn_dropout_mask_destroy(mask);
            }
        }
        /* Without a mask object the device's default width draws the same. */
        clcnn_dropout_state st = {cases[c].seed, cases[c].offset};
        TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, &st, cases[c].p, 1, xt, yt, NULL));
        float *y = ts_tensor_read_all(yt);
        check_forward_values(x, y, keep, cases[c].p, n, "no mask object");
        free(y);
        clcnn_tensor_destroy(xt);
        clcnn_tensor_destroy(yt);
        free(x);
        free(keep);
        free(bits);
        free(expected_bits);
    }
}

/* The kernel itself, launched with explicit work-group sizes (1, 3, 32, 64
 * and the driver's choice): the same mask every time. */
static void test_mask_independent_of_work_group_size(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 2 * 1000 + 7;
    const uint64_t seed = 77, offset = 3;
    const float p = 0.4f;
    float *x = nonzero_values(n, 5);
    uint8_t *keep = ts_malloc(n);
    philox_ref_dropout_mask(seed, offset, (double)p, n, keep);
    clcnn_tensor *xt = make_vector(ctx, n, x), *yt = make_vector(ctx, n, NULL);
    const size_t locals[] = {0, 1, 3, 32, 64};
    for (size_t w = 0; w < WIDTH_COUNT; w++) {
        char options[32];
        snprintf(options, sizeof options, "-DDROPOUT_VEC=%u", widths[w]);
        clcnn_kernel *kernel = ts_builtin_kernel(ctx, "dropout.cl", options, "dropout_apply");
        TS_ASSERT_OK(ctx, clcnn_kernel_set_tensor(kernel, 0, xt));
        TS_ASSERT_OK(ctx, clcnn_kernel_set_tensor(kernel, 1, yt));
        TS_ASSERT_OK(ctx, clcnn_kernel_set_ulong(kernel, 2, n));
        ts_kernel_set_philox_stream(ctx, kernel, 3, seed, offset);
        TS_ASSERT_OK(ctx,
                     clcnn_kernel_set_uint(kernel, 7, philox_ref_dropout_threshold((double)p)));
        TS_ASSERT_OK(ctx, clcnn_kernel_set_float(kernel, 8, scale_of(p)));
        TS_ASSERT_OK(ctx, clcnn_kernel_set_uint(kernel, 9, 0)); /* accumulate */
        size_t items = (n + 4 * widths[w] - 1) / (4 * widths[w]);
        size_t limit = 0;
        TS_ASSERT_OK(ctx, clcnn_kernel_work_group_limit(kernel, &limit));
        for (size_t l = 0; l < sizeof locals / sizeof locals[0]; l++) {
            size_t local = locals[l];
            while (local > limit) /* halved to what the compiled kernel takes (rusticl: 32) */
                local /= 2;
            size_t global = local ? (items + local - 1) / local * local : items;
            TS_ASSERT_OK(ctx, clcnn_tensor_fill(yt, -7.0f));
            TS_ASSERT_OK(ctx, clcnn_kernel_launch(kernel, 1, &global, local ? &local : NULL));
            float *y = ts_tensor_read_all(yt);
            char what[96];
            snprintf(what, sizeof what, "width %u, work-group size %zu", widths[w], local);
            check_forward_values(x, y, keep, p, n, what);
            free(y);
        }
        clcnn_kernel_destroy(kernel);
    }
    clcnn_tensor_destroy(xt);
    clcnn_tensor_destroy(yt);
    free(x);
    free(keep);
}

/* ---------------------------------------------------------- statistics */

static uint8_t *device_mask(clcnn_context *ctx, clcnn_dropout_state *st, float p, size_t n) {
    clcnn_tensor *xt = make_vector(ctx, n, NULL), *yt = make_vector(ctx, n, NULL);
    clcnn_dropout_mask *mask = make_mask(ctx, n, CLCNN_DROPOUT_MASK_AUTO, 0);
    TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, st, p, 1, xt, yt, mask));
    size_t words = (n + 31) / 32;
    uint32_t *bits = ts_malloc(words * sizeof *bits);
    TS_ASSERT_OK(ctx, clcnn_dropout_mask_read(mask, bits, words));
    uint8_t *keep = ts_malloc(n);
    for (size_t e = 0; e < n; e++)
        keep[e] = (bits[e / 32] >> (e % 32)) & 1u;
    free(bits);
    clcnn_dropout_mask_destroy(mask);
    clcnn_tensor_destroy(xt);
    clcnn_tensor_destroy(yt);
    return keep;
}

/* Pearson correlation of a[i] and b[i], i < n. */
static double correlation(const uint8_t *a, const uint8_t *b, size_t n) {
    double sa = 0, sb = 0, sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        sa += a[i];
        sb += b[i];
        sab += (double)a[i] * b[i];
        saa += (double)a[i] * a[i];
        sbb += (double)b[i] * b[i];
    }
    double cov = sab / n - (sa / n) * (sb / n);
    double va = saa / n - (sa / n) * (sa / n), vb = sbb / n - (sb / n) * (sb / n);
    return cov / sqrt(va * vb);
}

/* Kept fraction within 5 sigma of the binomial; no correlation between
 * neighbours (lags 1, 2, 3 inside a Philox block, 4 and 16 across blocks)
 * nor between the masks of successive offsets: |r| <= 5 / sqrt(n). */
static void test_mask_statistics(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = ts_small() ? 4096 : (size_t)1 << 20;
    const float ps[] = {0.1f, 0.5f, 0.9f};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        double p = ps[i];
        clcnn_dropout_state st = clcnn_dropout_state_init(1000 + i);
        uint8_t *first = device_mask(ctx, &st, ps[i], n);
        uint8_t *second = device_mask(ctx, &st, ps[i], n);
        assert_true(st.offset == 2);
        size_t kept = 0;
        for (size_t e = 0; e < n; e++)
            kept += first[e];
        double mean = n * (1.0 - p), sigma = sqrt(n * p * (1.0 - p));
        if (fabs((double)kept - mean) > 5.0 * sigma) {
            print_error("p = %g: %zu of %zu kept, expected %.1f +- 5 x %.1f\n", p, kept, n, mean,
                        sigma);
            fail();
        }
        double bound = 5.0 / sqrt((double)n);
        const size_t lags[] = {1, 2, 3, 4, 16};
        for (size_t l = 0; l < sizeof lags / sizeof lags[0]; l++) {
            double r = correlation(first, first + lags[l], n - lags[l]);
            if (fabs(r) > bound) {
                print_error("p = %g: lag-%zu correlation %g exceeds %g\n", p, lags[l], r, bound);
                fail();
            }
        }
        double r = correlation(first, second, n);
        if (fabs(r) > bound) {
            print_error("p = %g: offsets 0 and 1 correlate: %g exceeds %g\n", p, r, bound);
            fail();
        }
        assert_true(memcmp(first, second, n) != 0);
        free(first);
        free(second);
    }
}

/* ---------------------------------------------------------- the state */

/* Successive calls use offsets 0, 1, 2 and differ; a fresh state with the
 * same seed repeats them exactly (determinism across runs); identity calls
 * leave the offset alone. */
static void test_state_advances_and_repeats(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 515;
    float *x = nonzero_values(n, 9);
    clcnn_tensor *xt = make_vector(ctx, n, x), *yt = make_vector(ctx, n, NULL);
    clcnn_dropout_mask *mask = make_mask(ctx, n, CLCNN_DROPOUT_MASK_AUTO, 0);
    float *runs[2][3];
    for (int run = 0; run < 2; run++) {
        clcnn_dropout_state st = clcnn_dropout_state_init(31337);
        assert_true(st.seed == 31337 && st.offset == 0);
        for (int call = 0; call < 3; call++) {
            TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, &st, 0.5f, 1, xt, yt, mask));
            clcnn_dropout_mask_info info;
            TS_ASSERT_OK(ctx, clcnn_dropout_mask_get_info(mask, &info));
            assert_true(info.recorded && !info.identity);
            assert_true(info.seed == 31337 && info.offset == (uint64_t)call);
            assert_true(st.offset == (uint64_t)call + 1);
            runs[run][call] = ts_tensor_read_all(yt);
            /* Evaluation and p == 0 draw nothing. */
            TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, &st, 0.5f, 0, xt, yt, NULL));
            TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, &st, 0.0f, 1, xt, yt, NULL));
            assert_true(st.offset == (uint64_t)call + 1);
        }
    }
    for (int call = 0; call < 3; call++) {
        TS_ASSERT_FLOATS_IDENTICAL(runs[1][call], runs[0][call], n);
        if (call > 0)
            assert_true(memcmp(runs[0][call], runs[0][call - 1], n * sizeof(float)) != 0);
    }
    for (int run = 0; run < 2; run++)
        for (int call = 0; call < 3; call++)
            free(runs[run][call]);
    clcnn_dropout_mask_destroy(mask);
    clcnn_tensor_destroy(xt);
    clcnn_tensor_destroy(yt);
    free(x);
}

/* ------------------------------------------------------------- backward */

/* The reference's backward is the derivative of its forward: central
 * differences of sum(w * forward(x)) in double. */
static void test_reference_backward_by_finite_differences(void **state) {
    (void)state;
    enum { N = 37 };
    const double p = 0.35;
    uint8_t keep[N];
    philox_ref_dropout_mask(5, 6, p, N, keep);
    double x[N], w[N], y[N], dx[N];
    for (int i = 0; i < N; i++) {
        x[i] = 0.25 * (i - 17);
        w[i] = 1.0 + 0.125 * (i % 5);
    }
    dropout_ref_backward(keep, p, N, w, dx);
    const double h = 1e-3;
    for (int i = 0; i < N; i++) {
        double saved = x[i], plus = 0, minus = 0;
        x[i] = saved + h;
        dropout_ref_forward(keep, p, N, x, y);
        for (int k = 0; k < N; k++)
            plus += w[k] * y[k];
        x[i] = saved - h;
        dropout_ref_forward(keep, p, N, x, y);
        for (int k = 0; k < N; k++)
            minus += w[k] * y[k];
        x[i] = saved;
        double numeric = (plus - minus) / (2 * h);
        assert_true(fabs(numeric - dx[i]) <= 1e-9 * (1.0 + fabs(dx[i])));
    }
}

/* Backward applies exactly the forward mask, for both strategies and every
 * width: dx == dy * scale or 0 bit for bit, dx += that when accumulating
 * (one float addition), and in place. */
static void test_backward_uses_forward_mask(void **state) {
    clcnn_context *ctx = *state;
    const size_t sizes[] = {1, 29, 4099};
    const float p = 0.3f;
    const float scale = scale_of(p);
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        float *x = nonzero_values(n, 11), *dy = nonzero_values(n, 12), *old = nonzero_values(n, 13);
        clcnn_tensor *xt = make_vector(ctx, n, x), *yt = make_vector(ctx, n, NULL);
        clcnn_tensor *dyt = make_vector(ctx, n, dy), *dxt = make_vector(ctx, n, NULL);
        float *expected = ts_malloc(n * sizeof *expected);
        double *dy64 = ts_malloc(n * sizeof *dy64), *ref = ts_malloc(n * sizeof *ref);
        for (size_t w = 0; w < WIDTH_COUNT; w++) {
            for (size_t s = 0; s < 2; s++) {
                clcnn_dropout_mask *mask = make_mask(ctx, n, strategies[s], widths[w]);
                clcnn_dropout_state st = {900 + si, 4};
                TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, &st, p, 1, xt, yt, mask));
                /* A later forward without this mask must not disturb it. */
                TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, &st, p, 1, xt, yt, NULL));
                uint8_t *keep = ts_malloc(n);
                philox_ref_dropout_mask(900 + si, 4, (double)p, n, keep);
                char what[96];
                snprintf(what, sizeof what, "n %zu width %u strategy %d", n, widths[w],
                         (int)strategies[s]);

                TS_ASSERT_OK(ctx, clcnn_tensor_fill(dxt, 99.0f));
                TS_ASSERT_OK(ctx,
                             clcnn_dropout_backward(ctx, mask, dyt, dxt, CLCNN_GRAD_OVERWRITE));
                float *dx = ts_tensor_read_all(dxt);
                for (size_t e = 0; e < n; e++) {
                    expected[e] = keep[e] ? dy[e] * scale : 0.0f;
                    dy64[e] = dy[e];
                }
                TS_ASSERT_FLOATS_IDENTICAL(dx, expected, n);
                dropout_ref_backward(keep, (double)p, n, dy64, ref);
                TS_ASSERT_FLOATS_NEAR(dx, ref, n, 0.0, 1.2e-7);
                free(dx);

                TS_ASSERT_OK(ctx, clcnn_tensor_write(dxt, 0, old, n));
                TS_ASSERT_OK(ctx,
                             clcnn_dropout_backward(ctx, mask, dyt, dxt, CLCNN_GRAD_ACCUMULATE));
                dx = ts_tensor_read_all(dxt);
                for (size_t e = 0; e < n; e++)
                    expected[e] = old[e] + (keep[e] ? dy[e] * scale : 0.0f);
                TS_ASSERT_FLOATS_IDENTICAL(dx, expected, n);
                free(dx);

                /* In place: dx is dy. */
                clcnn_tensor *inplace = make_vector(ctx, n, dy);
                TS_ASSERT_OK(
                    ctx, clcnn_dropout_backward(ctx, mask, inplace, inplace, CLCNN_GRAD_OVERWRITE));
                dx = ts_tensor_read_all(inplace);
                for (size_t e = 0; e < n; e++)
                    expected[e] = keep[e] ? dy[e] * scale : 0.0f;
                TS_ASSERT_FLOATS_IDENTICAL(dx, expected, n);
                (void)what;
                free(dx);
                clcnn_tensor_destroy(inplace);
                free(keep);
                clcnn_dropout_mask_destroy(mask);
            }
        }
        clcnn_tensor_destroy(xt);
        clcnn_tensor_destroy(yt);
        clcnn_tensor_destroy(dyt);
        clcnn_tensor_destroy(dxt);
        free(x);
        free(dy);
        free(old);
        free(expected);
        free(dy64);
        free(ref);
    }
}

/* In-place forward (y is x) equals the out-of-place result. */
static void test_forward_in_place(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 333;
    float *x = nonzero_values(n, 21);
    uint8_t *keep = ts_malloc(n);
    philox_ref_dropout_mask(3, 0, 0.5, n, keep);
    for (size_t s = 0; s < 2; s++) {
        clcnn_tensor *t = make_vector(ctx, n, x);
        clcnn_dropout_mask *mask = make_mask(ctx, n, strategies[s], 0);
        clcnn_dropout_state st = clcnn_dropout_state_init(3);
        TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, &st, 0.5f, 1, t, t, mask));
        float *y = ts_tensor_read_all(t);
        check_forward_values(x, y, keep, 0.5f, n, "in place");
        free(y);
        clcnn_dropout_mask_destroy(mask);
        clcnn_tensor_destroy(t);
    }
    free(x);
    free(keep);
}

/* ------------------------------------------------------------ identities */

/* p = 0 and evaluation: y is x bit for bit (NaN, infinity, -0 included),
 * the mask reads as all ones, and backward passes dy through (or adds it). */
static void test_identity_passes(void **state) {
    clcnn_context *ctx = *state;
    const size_t dims[] = {3, 1, 5, 7}, n = 105;
    float *x = nonzero_values(n, 31), *dy = nonzero_values(n, 32), *old = nonzero_values(n, 33);
    x[0] = NAN;
    x[1] = INFINITY;
    x[2] = -0.0f;
    clcnn_tensor *xt = make_tensor(ctx, 4, dims, x), *yt = make_tensor(ctx, 4, dims, NULL);
    clcnn_tensor *dyt = make_tensor(ctx, 4, dims, dy), *dxt = make_tensor(ctx, 4, dims, NULL);
    struct {
        float p;
        int training;
    } modes[] = {{0.0f, 1}, {0.5f, 0}, {0.0f, 0}, {0.99f, 0}};
    float *expected = ts_malloc(n * sizeof *expected);
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        for (size_t s = 0; s < 2; s++) {
            clcnn_dropout_mask *mask = make_mask(ctx, n, strategies[s], 0);
            clcnn_dropout_state st = clcnn_dropout_state_init(5);
            TS_ASSERT_OK(ctx, clcnn_tensor_fill(yt, 1.0f));
            TS_ASSERT_OK(
                ctx, clcnn_dropout_forward(ctx, &st, modes[m].p, modes[m].training, xt, yt, mask));
            assert_true(st.offset == 0);
            float *y = ts_tensor_read_all(yt);
            TS_ASSERT_FLOATS_IDENTICAL(y, x, n);
            free(y);
            /* state may be NULL when nothing is drawn. */
            TS_ASSERT_OK(
                ctx, clcnn_dropout_forward(ctx, NULL, modes[m].p, modes[m].training, xt, yt, mask));
            /* In place: nothing changes. */
            TS_ASSERT_OK(
                ctx, clcnn_dropout_forward(ctx, &st, modes[m].p, modes[m].training, xt, xt, NULL));
            y = ts_tensor_read_all(xt);
            TS_ASSERT_FLOATS_IDENTICAL(y, x, n);
            free(y);

            clcnn_dropout_mask_info info;
            TS_ASSERT_OK(ctx, clcnn_dropout_mask_get_info(mask, &info));
            assert_true(info.recorded && info.identity);
            uint32_t bits[4];
            TS_ASSERT_OK(ctx, clcnn_dropout_mask_read(mask, bits, 4));
            assert_true(bits[0] == 0xFFFFFFFFu && bits[1] == 0xFFFFFFFFu &&
                        bits[2] == 0xFFFFFFFFu && bits[3] == 0x1FFu);

            TS_ASSERT_OK(ctx, clcnn_dropout_backward(ctx, mask, dyt, dxt, CLCNN_GRAD_OVERWRITE));
            float *dx = ts_tensor_read_all(dxt);
            TS_ASSERT_FLOATS_IDENTICAL(dx, dy, n);
            free(dx);
            TS_ASSERT_OK(ctx, clcnn_tensor_write(dxt, 0, old, n));
            TS_ASSERT_OK(ctx, clcnn_dropout_backward(ctx, mask, dyt, dxt, CLCNN_GRAD_ACCUMULATE));
            dx = ts_tensor_read_all(dxt);
            for (size_t e = 0; e < n; e++)
                expected[e] = old[e] + dy[e];
            TS_ASSERT_FLOATS_IDENTICAL(dx, expected, n);
            free(dx);
            clcnn_dropout_mask_destroy(mask);
        }
    }
    clcnn_tensor_destroy(xt);
    clcnn_tensor_destroy(yt);
    clcnn_tensor_destroy(dyt);
    clcnn_tensor_destroy(dxt);
    free(x);
    free(dy);
    free(old);
    free(expected);
}

/* Dropped elements are exactly 0 even where x is NaN or infinite. */
static void test_dropped_nonfinite_is_zero(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 64;
    float x[64];
    for (size_t e = 0; e < n; e++)
        x[e] = e % 2 ? NAN : -INFINITY;
    uint8_t keep[64];
    philox_ref_dropout_mask(8, 8, 0.5, n, keep);
    clcnn_tensor *xt = make_vector(ctx, n, x), *yt = make_vector(ctx, n, NULL);
    clcnn_dropout_state st = {8, 8};
    TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, &st, 0.5f, 1, xt, yt, NULL));
    float *y = ts_tensor_read_all(yt);
    for (size_t e = 0; e < n; e++) {
        if (keep[e])
            assert_true(e % 2 ? isnan(y[e]) : y[e] == -INFINITY);
        else
            assert_true(y[e] == 0.0f && !signbit(y[e]));
    }
    free(y);
    clcnn_tensor_destroy(xt);
    clcnn_tensor_destroy(yt);
}

/* After the first call, repeated forward + backward allocate nothing. */
static void test_no_allocation_per_call(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 1000;
    clcnn_tensor *xt = make_vector(ctx, n, NULL), *yt = make_vector(ctx, n, NULL);
    clcnn_dropout_mask *mask = make_mask(ctx, n, CLCNN_DROPOUT_MASK_AUTO, 0);
    clcnn_dropout_state st = clcnn_dropout_state_init(1);
    clcnn_memory_stats before, after;
    TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, &st, 0.5f, 1, xt, yt, mask));
    TS_ASSERT_OK(ctx, clcnn_dropout_backward(ctx, mask, yt, xt, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_OK(ctx, clcnn_context_memory_stats(ctx, &before));
    for (int i = 0; i < 3; i++) {
        TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, &st, 0.5f, 1, xt, yt, mask));
        TS_ASSERT_OK(ctx, clcnn_dropout_backward(ctx, mask, yt, xt, CLCNN_GRAD_ACCUMULATE));
    }
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
    TS_ASSERT_OK(ctx, clcnn_context_memory_stats(ctx, &after));
    assert_true(after.buffer_allocations == before.buffer_allocations);
    clcnn_dropout_mask_destroy(mask);
    clcnn_tensor_destroy(xt);
    clcnn_tensor_destroy(yt);
}

/* --------------------------------------------------------- bad arguments */

static void test_bad_p(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 8;
    clcnn_tensor *xt = make_vector(ctx, n, NULL), *yt = make_vector(ctx, n, NULL);
    const float bad[] = {NAN, 1.0f, 1.5f, -0.1f, -0.0f - 1e-30f, INFINITY, -INFINITY, -NAN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int training = 0; training <= 1; training++) {
            clcnn_dropout_state st = clcnn_dropout_state_init(1);
            TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                             clcnn_dropout_forward(ctx, &st, bad[i], training, xt, yt, NULL));
            assert_true(st.offset == 0);
        }
    }
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "outside [0, 1)");
    /* The largest float below 1 is fine. */
    clcnn_dropout_state st = clcnn_dropout_state_init(1);
    TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, &st, nextafterf(1.0f, 0.0f), 1, xt, yt, NULL));
    clcnn_tensor_destroy(xt);
    clcnn_tensor_destroy(yt);
}

static void test_bad_forward_arguments(void **state) {
    clcnn_context *ctx = *state;
    const size_t d23[] = {2, 3}, d32[] = {3, 2}, d6[] = {6};
    clcnn_tensor *x = make_tensor(ctx, 2, d23, NULL), *y = make_tensor(ctx, 2, d23, NULL);
    clcnn_tensor *y32 = make_tensor(ctx, 2, d32, NULL), *y6 = make_tensor(ctx, 1, d6, NULL);
    clcnn_dropout_mask *mask5 = make_mask(ctx, 5, CLCNN_DROPOUT_MASK_AUTO, 0);
    clcnn_dropout_state st = clcnn_dropout_state_init(1);

    assert_int_equal(clcnn_dropout_forward(NULL, &st, 0.5f, 1, x, y, NULL),
                     CLCNN_ERROR_INVALID_ARGUMENT);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dropout_forward(ctx, &st, 0.5f, 1, NULL, y, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dropout_forward(ctx, &st, 0.5f, 1, x, NULL, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dropout_forward(ctx, NULL, 0.5f, 1, x, y, NULL));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "state is NULL");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_dropout_forward(ctx, &st, 0.5f, 1, x, y32, NULL));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[2, 3]");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[3, 2]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_dropout_forward(ctx, &st, 0.5f, 0, x, y6, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_dropout_forward(ctx, &st, 0.5f, 1, x, y, mask5));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "5 elements");
    assert_true(st.offset == 0);

    /* Objects of another context. */
    clcnn_context *other = ts_context_create();
    clcnn_tensor *foreign = make_tensor(other, 2, d23, NULL);
    clcnn_dropout_mask *foreign_mask = make_mask(other, 6, CLCNN_DROPOUT_MASK_AUTO, 0);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_dropout_forward(ctx, &st, 0.5f, 1, foreign, y, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_dropout_forward(ctx, &st, 0.5f, 1, x, foreign, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_dropout_forward(ctx, &st, 0.5f, 1, x, y, foreign_mask));
    assert_true(st.offset == 0);
    clcnn_dropout_mask_destroy(foreign_mask);
    clcnn_tensor_destroy(foreign);
    clcnn_context_destroy(other);

    clcnn_dropout_mask_destroy(mask5);
    clcnn_tensor_destroy(x);
    clcnn_tensor_destroy(y);
    clcnn_tensor_destroy(y32);
    clcnn_tensor_destroy(y6);
}

static void test_bad_backward_arguments(void **state) {
    clcnn_context *ctx = *state;
    const size_t d23[] = {2, 3}, d32[] = {3, 2}, d7[] = {7};
    clcnn_tensor *dy = make_tensor(ctx, 2, d23, NULL), *dx = make_tensor(ctx, 2, d23, NULL);
    clcnn_tensor *dx32 = make_tensor(ctx, 2, d32, NULL);
    clcnn_tensor *dy7 = make_tensor(ctx, 1, d7, NULL), *dx7 = make_tensor(ctx, 1, d7, NULL);
    clcnn_dropout_mask *mask = make_mask(ctx, 6, CLCNN_DROPOUT_MASK_AUTO, 0);

    /* Not filled by a forward pass yet. */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dropout_backward(ctx, mask, dy, dx, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "no forward pass");
    uint32_t bits[1];
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dropout_mask_read(mask, bits, 1));

    clcnn_dropout_state st = clcnn_dropout_state_init(1);
    TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, &st, 0.5f, 1, dy, dx, mask));
    assert_int_equal(clcnn_dropout_backward(NULL, mask, dy, dx, CLCNN_GRAD_OVERWRITE),
                     CLCNN_ERROR_INVALID_ARGUMENT);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dropout_backward(ctx, NULL, dy, dx, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dropout_backward(ctx, mask, NULL, dx, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dropout_backward(ctx, mask, dy, NULL, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dropout_backward(ctx, mask, dy, dx, (clcnn_grad_mode)7));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_dropout_backward(ctx, mask, dy, dx32, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_dropout_backward(ctx, mask, dy7, dx7, CLCNN_GRAD_OVERWRITE));

    clcnn_context *other = ts_context_create();
    clcnn_tensor *foreign = make_tensor(other, 2, d23, NULL);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_dropout_backward(ctx, mask, foreign, dx, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(other, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_dropout_backward(other, mask, foreign, foreign, CLCNN_GRAD_OVERWRITE));
    clcnn_tensor_destroy(foreign);
    clcnn_context_destroy(other);

    /* Reading the bits back. */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dropout_mask_read(NULL, bits, 1));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dropout_mask_read(mask, NULL, 1));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_dropout_mask_read(mask, bits, 0));
    TS_ASSERT_OK(ctx, clcnn_dropout_mask_read(mask, bits, 1));
    assert_true((bits[0] >> 6) == 0);

    clcnn_dropout_mask_info info;
    assert_int_equal(clcnn_dropout_mask_get_info(NULL, &info), CLCNN_ERROR_INVALID_ARGUMENT);
    assert_int_equal(clcnn_dropout_mask_get_info(mask, NULL), CLCNN_ERROR_INVALID_ARGUMENT);

    clcnn_dropout_mask_destroy(mask);
    clcnn_tensor_destroy(dy);
    clcnn_tensor_destroy(dx);
    clcnn_tensor_destroy(dx32);
    clcnn_tensor_destroy(dy7);
    clcnn_tensor_destroy(dx7);
}

static void test_bad_mask_options(void **state) {
    clcnn_context *ctx = *state;
    /* A failed create sets *out to NULL. */
    clcnn_dropout_mask *mask = (clcnn_dropout_mask *)(uintptr_t)1;
    clcnn_dropout_mask_options options = clcnn_dropout_mask_options_default();
    assert_int_equal(options.strategy, CLCNN_DROPOUT_MASK_AUTO);
    assert_int_equal(options.vector_width, 0);

    assert_int_equal(clcnn_dropout_mask_create(NULL, 4, NULL, &mask), CLCNN_ERROR_INVALID_ARGUMENT);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dropout_mask_create(ctx, 4, NULL, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_dropout_mask_create(ctx, 0, NULL, &mask));
    assert_null(mask);
    options.strategy = (clcnn_dropout_mask_strategy)3;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dropout_mask_create(ctx, 4, &options, &mask));
    options = clcnn_dropout_mask_options_default();
    const unsigned bad_widths[] = {2, 3, 4, 5, 32};
    for (size_t i = 0; i < sizeof bad_widths / sizeof bad_widths[0]; i++) {
        options.vector_width = bad_widths[i];
        TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                         clcnn_dropout_mask_create(ctx, 4, &options, &mask));
    }
    /* Bits for SIZE_MAX elements exceed any device. */
    options.vector_width = 0;
    options.strategy = CLCNN_DROPOUT_MASK_BITS;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_DEVICE_MEMORY,
                     clcnn_dropout_mask_create(ctx, SIZE_MAX, &options, &mask));

    /* The defaults resolve to a concrete row of the table. */
    TS_ASSERT_OK(ctx, clcnn_dropout_mask_create(ctx, 4, NULL, &mask));
    clcnn_dropout_mask_info info;
    TS_ASSERT_OK(ctx, clcnn_dropout_mask_get_info(mask, &info));
    assert_true(info.strategy == CLCNN_DROPOUT_MASK_REGENERATE ||
                info.strategy == CLCNN_DROPOUT_MASK_BITS);
    assert_true(info.vector_width == 1 || info.vector_width == 16);
    assert_true(info.numel == 4 && !info.recorded);
    /* The CPU class's row (CLCNN_DEVICE_CLASS may give a CPU another). */
    if (ctx->traits.kernel_class == CLCNN_DEVICE_TYPE_CPU)
        assert_true(info.vector_width == 16);
    clcnn_dropout_mask_destroy(mask);
    clcnn_dropout_mask_destroy(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_matches_reference),
        cmocka_unit_test(test_mask_independent_of_work_group_size),
        cmocka_unit_test(test_mask_statistics),
        cmocka_unit_test(test_state_advances_and_repeats),
        cmocka_unit_test(test_reference_backward_by_finite_differences),
        cmocka_unit_test(test_backward_uses_forward_mask),
        cmocka_unit_test(test_forward_in_place),
        cmocka_unit_test(test_identity_passes),
        cmocka_unit_test(test_dropped_nonfinite_is_zero),
        cmocka_unit_test(test_no_allocation_per_call),
        cmocka_unit_test(test_bad_p),
        cmocka_unit_test(test_bad_forward_arguments),
        cmocka_unit_test(test_bad_backward_arguments),
        cmocka_unit_test(test_bad_mask_options),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
