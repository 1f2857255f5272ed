/* 2-D max and average pooling against the double reference in
 * tests/ref/pool2d_ref.c (many window, stride, padding and ceil-mode
 * configurations on awkward shapes, forward and both grad modes), against
 * PyTorch's goldens, the reference's gradients against finite differences,
 * NaN and -inf windows, and every bad argument with its exact status.
 * CLCNN_TEST_SMALL (or an Oclgrind device) keeps every case to a few
 * thousand elements. */
#include "support/test_support.h"

#include <math.h>
#include <stdlib.h>

#include "clcnn/pool2d.h"
#include "ref/pool2d_ref.h"

/* Tolerances against the double reference. Max pool forward is exact (it
 * picks a float); max pool backward sums at most a few float gradients;
 * average pool divides float sums. */
#define MAX_ATOL 1e-6
#define MAX_RTOL 1e-6
#define AVG_ATOL 1e-6
#define AVG_RTOL 1e-5

/* ------------------------------------------------------------------ helpers */

static size_t count4(const size_t dims[4]) {
    return dims[0] * dims[1] * dims[2] * dims[3];
}

static clcnn_tensor *tensor4(clcnn_context *ctx, const size_t dims[4], const float *data) {
    return ts_tensor_create(ctx, 4, dims, data);
}

static pool2d_ref_params ref_params(const clcnn_pool2d_params *p) {
    pool2d_ref_params r;
    r.is_max = p->mode == CLCNN_POOL2D_MAX;
    r.kernel_h = (int)p->kernel_h;
    r.kernel_w = (int)p->kernel_w;
    r.stride_h = (int)(p->stride_h ? p->stride_h : p->kernel_h);
    r.stride_w = (int)(p->stride_w ? p->stride_w : p->kernel_w);
    r.pad_h = (int)p->pad_h;
    r.pad_w = (int)p->pad_w;
    r.ceil_mode = p->ceil_mode;
    r.count_include_pad = p->count_include_pad;
    return r;
}

static clcnn_pool2d_params make_params(clcnn_pool2d_mode mode, size_t kh, size_t kw, size_t sh,
                                       size_t sw, size_t ph, size_t pw, int ceil_mode,
                                       int count_include_pad) {
    clcnn_pool2d_params p = clcnn_pool2d_params_default();
    p.mode = mode;
    p.kernel_h = kh;
    p.kernel_w = kw;
    p.stride_h = sh;
    p.stride_w = sw;
    p.pad_h = ph;
    p.pad_w = pw;
    p.ceil_mode = ceil_mode;
    p.count_include_pad = count_include_pad;
    return p;
}

/* Runs forward, backward (overwrite over garbage) and backward (accumulate
 * onto random values) on random data and compares with the reference. */
static void check_case(clcnn_context *ctx, const clcnn_pool2d_params *params, size_t n, size_t c,
                       size_t h, size_t w, uint32_t seed) {
    const size_t in_dims[4] = {n, c, h, w};
    size_t out_dims[4];
    TS_ASSERT_OK(ctx, clcnn_pool2d_output_shape(ctx, params, in_dims, out_dims));
    pool2d_ref_params rp = ref_params(params);
    assert_int_equal(out_dims[0], n);
    assert_int_equal(out_dims[1], c);
    assert_int_equal(out_dims[2], pool2d_ref_output_size((int)h, rp.kernel_h, rp.stride_h, rp.pad_h,
                                                         rp.ceil_mode));
    assert_int_equal(out_dims[3], pool2d_ref_output_size((int)w, rp.kernel_w, rp.stride_w, rp.pad_w,
                                                         rp.ceil_mode));
    const size_t in_count = count4(in_dims), out_count = count4(out_dims);
    const int is_max = params->mode == CLCNN_POOL2D_MAX;
    const double atol = is_max ? MAX_ATOL : AVG_ATOL, rtol = is_max ? MAX_RTOL : AVG_RTOL;

    float *x = ts_malloc(in_count * sizeof *x);
    float *dy = ts_malloc(out_count * sizeof *dy);
    float *dx_old = ts_malloc(in_count * sizeof *dx_old);
    float *got_y = ts_malloc(out_count * sizeof *got_y);
    float *got_dx = ts_malloc(in_count * sizeof *got_dx);
    ts_fill_random(x, in_count, seed, -2.0f, 2.0f);
    ts_fill_random(dy, out_count, seed + 1, -1.0f, 1.0f);
    ts_fill_random(dx_old, in_count, seed + 2, -1.0f, 1.0f);
    double *xd = ts_to_double(x, in_count), *dyd = ts_to_double(dy, out_count);
    double *want_y = ts_malloc(out_count * sizeof *want_y);
    double *want_dx = ts_malloc(in_count * sizeof *want_dx);
    pool2d_ref_forward(&rp, (int)n, (int)c, (int)h, (int)w, xd, want_y);
    pool2d_ref_backward(&rp, (int)n, (int)c, (int)h, (int)w, xd, dyd, want_dx);

    clcnn_tensor *tx = tensor4(ctx, in_dims, x), *ty = tensor4(ctx, out_dims, NULL);
    clcnn_tensor *tdy = tensor4(ctx, out_dims, dy), *tdx = tensor4(ctx, in_dims, NULL);
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(ty, 123.0f));
    TS_ASSERT_OK(ctx, clcnn_pool2d_forward(ctx, params, tx, ty));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(ty, 0, got_y, out_count));
    if (is_max)
        TS_ASSERT_FLOATS_NEAR(got_y, want_y, out_count, 0.0, 0.0);
    else
        TS_ASSERT_FLOATS_NEAR(got_y, want_y, out_count, AVG_ATOL, AVG_RTOL);

    /* Overwrite: every element is written, covered or not. */
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(tdx, 77.0f));
    TS_ASSERT_OK(ctx, clcnn_pool2d_backward(ctx, params, is_max ? tx : NULL, tdy, tdx,
                                            CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(tdx, 0, got_dx, in_count));
    TS_ASSERT_FLOATS_NEAR(got_dx, want_dx, in_count, atol, rtol);

    /* Accumulate onto existing values. */
    TS_ASSERT_OK(ctx, clcnn_tensor_write(tdx, 0, dx_old, in_count));
    TS_ASSERT_OK(ctx, clcnn_pool2d_backward(ctx, params, tx, tdy, tdx, CLCNN_GRAD_ACCUMULATE));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(tdx, 0, got_dx, in_count));
    for (size_t i = 0; i < in_count; i++)
        want_dx[i] += dx_old[i];
    TS_ASSERT_FLOATS_NEAR(got_dx, want_dx, in_count, atol, rtol);

    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tdx);
    free(x);
    free(dy);
    free(dx_old);
    free(got_y);
    free(got_dx);
    free(xd);
    free(dyd);
    free(want_y);
    free(want_dx);
}

typedef struct shape4 {
    size_t n, c, h, w;
} shape4;

/* Each configuration on a few shapes: the small ones always, the larger
 * (rows longer than a CPU work-item's chunk, many planes) unless small. */
static void check_config(clcnn_context *ctx, const clcnn_pool2d_params *params,
                         const shape4 *shapes, size_t shape_count, size_t small_count) {
    size_t count = ts_small() ? small_count : shape_count;
    for (size_t i = 0; i < count; i++)
        check_case(ctx, params, shapes[i].n, shapes[i].c, shapes[i].h, shapes[i].w,
                   (uint32_t)(1000 + 17 * i));
}

#define CHECK_CONFIG(ctx, params, shapes, small_count) \
    check_config((ctx), (params), (shapes), sizeof(shapes) / sizeof((shapes)[0]), (small_count))

/* ---------------------------------------------------------- parameters */

static void test_params_default(void **state) {
    (void)state;
    clcnn_pool2d_params p = clcnn_pool2d_params_default();
    assert_int_equal(p.mode, CLCNN_POOL2D_MAX);
    assert_int_equal(p.kernel_h, 2);
    assert_int_equal(p.kernel_w, 2);
    assert_int_equal(p.stride_h, 0);
    assert_int_equal(p.stride_w, 0);
    assert_int_equal(p.pad_h, 0);
    assert_int_equal(p.pad_w, 0);
    assert_int_equal(p.ceil_mode, 0);
    assert_int_equal(p.count_include_pad, 1);
}

static void expect_shape(clcnn_context *ctx, const clcnn_pool2d_params *p, size_t h, size_t w,
                         size_t want_h, size_t want_w) {
    const size_t in[4] = {3, 5, h, w};
    size_t out[4] = {0, 0, 0, 0};
    TS_ASSERT_OK(ctx, clcnn_pool2d_output_shape(ctx, p, in, out));
    assert_int_equal(out[0], 3);
    assert_int_equal(out[1], 5);
    assert_int_equal(out[2], want_h);
    assert_int_equal(out[3], want_w);
}

/* Sizes worked out by hand from PyTorch's formula, and a sweep against the
 * reference's own copy of it. */
static void test_output_shape(void **state) {
    clcnn_context *ctx = *state;
    clcnn_pool2d_params p = clcnn_pool2d_params_default();
    expect_shape(ctx, &p, 28, 28, 14, 14);
    expect_shape(ctx, &p, 5, 7, 2, 3);
    p.ceil_mode = 1;
    expect_shape(ctx, &p, 5, 7, 3, 4);
    /* ceil: 5 + 2 - 2 = 5, ceil(5 / 2) + 1 = 4, but window 3 would start at
     * 6 - 1 = 5 >= 5: dropped. */
    p = make_params(CLCNN_POOL2D_MAX, 2, 2, 2, 2, 1, 1, 1, 1);
    expect_shape(ctx, &p, 5, 4, 3, 3);
    p = make_params(CLCNN_POOL2D_AVG, 3, 3, 2, 2, 1, 1, 0, 1);
    expect_shape(ctx, &p, 4, 9, 2, 5);
    p.ceil_mode = 1;
    expect_shape(ctx, &p, 4, 9, 3, 5);
    p = make_params(CLCNN_POOL2D_MAX, 1, 1, 3, 3, 0, 0, 0, 1);
    expect_shape(ctx, &p, 1, 10, 1, 4);

    for (size_t k = 1; k <= 4; k++)
        for (size_t s = 0; s <= 3; s++)
            for (size_t pad = 0; pad <= k / 2; pad++)
                for (int ceil_mode = 0; ceil_mode <= 1; ceil_mode++)
                    for (size_t in = 1; in <= 9; in++) {
                        p = make_params(CLCNN_POOL2D_MAX, k, k, s, 1, pad, 0, ceil_mode, 1);
                        const size_t dims[4] = {1, 1, in, k};
                        size_t out[4];
                        int want = pool2d_ref_output_size((int)in, (int)k, (int)(s ? s : k),
                                                          (int)pad, ceil_mode);
                        clcnn_status status = clcnn_pool2d_output_shape(ctx, &p, dims, out);
                        if (want >= 1) {
                            TS_ASSERT_OK(ctx, status);
                            assert_int_equal(out[2], want);
                        } else {
                            TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, status);
                        }
                    }
}

/* --------------------------------------------------------------- goldens */

/* PyTorch's MaxPool2d(2) y and dx, to the bit. */
static void check_golden(clcnn_context *ctx, const char *file, const size_t in_dims[4]) {
    clcnn_pool2d_params p = clcnn_pool2d_params_default();
    size_t out_dims[4];
    TS_ASSERT_OK(ctx, clcnn_pool2d_output_shape(ctx, &p, in_dims, out_dims));
    const size_t in_count = count4(in_dims), out_count = count4(out_dims);
    double *x = ts_golden_tensor_sized(file, "x", in_count),
           *dy = ts_golden_tensor_sized(file, "dy", out_count);
    double *y = ts_golden_tensor_sized(file, "y", out_count),
           *dx = ts_golden_tensor_sized(file, "dx", in_count);
    float *xf = ts_malloc(in_count * sizeof *xf), *dyf = ts_malloc(out_count * sizeof *dyf);
    for (size_t i = 0; i < in_count; i++)
        xf[i] = (float)x[i];
    for (size_t i = 0; i < out_count; i++)
        dyf[i] = (float)dy[i];
    clcnn_tensor *tx = tensor4(ctx, in_dims, xf), *ty = tensor4(ctx, out_dims, NULL);
    clcnn_tensor *tdy = tensor4(ctx, out_dims, dyf), *tdx = tensor4(ctx, in_dims, NULL);
    TS_ASSERT_OK(ctx, clcnn_pool2d_forward(ctx, &p, tx, ty));
    TS_ASSERT_OK(ctx, clcnn_pool2d_backward(ctx, &p, tx, tdy, tdx, CLCNN_GRAD_OVERWRITE));
    float *got_y = ts_malloc(out_count * sizeof *got_y),
          *got_dx = ts_malloc(in_count * sizeof *got_dx);
    TS_ASSERT_OK(ctx, clcnn_tensor_read(ty, 0, got_y, out_count));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(tdx, 0, got_dx, in_count));
    TS_ASSERT_FLOATS_NEAR(got_y, y, out_count, 0.0, 0.0);
    TS_ASSERT_FLOATS_NEAR(got_dx, dx, in_count, 0.0, 0.0);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tdx);
    free(x);
    free(dy);
    free(y);
    free(dx);
    free(xf);
    free(dyf);
    free(got_y);
    free(got_dx);
}

static void test_golden_2x2(void **state) {
    const size_t dims[4] = {2, 3, 6, 6};
    check_golden(*state, "maxpool2d_2x2.txt", dims);
}

static void test_golden_2x2_odd(void **state) {
    const size_t dims[4] = {1, 2, 5, 5};
    check_golden(*state, "maxpool2d_2x2_odd.txt", dims);
}

static void test_golden_2x2_ties(void **state) {
    const size_t dims[4] = {1, 1, 4, 4};
    check_golden(*state, "maxpool2d_2x2_ties.txt", dims);
}

/* ---------------------------------------------- reference's own gradients */

/* sum(dy * y) of the reference forward. */
static double ref_loss(const pool2d_ref_params *p, const size_t d[4], const double *x,
                       const double *dy, double *y, size_t out_count) {
    pool2d_ref_forward(p, (int)d[0], (int)d[1], (int)d[2], (int)d[3], x, y);
    double loss = 0.0;
    for (size_t i = 0; i < out_count; i++)
        loss += dy[i] * y[i];
    return loss;
}

/* Central differences of the reference forward against its backward. The
 * inputs are distinct multiples of 1/64 and the step 1/1024, so no window's
 * maximum changes inside a step. */
static void check_reference_gradient(const clcnn_pool2d_params *params) {
    const size_t d[4] = {2, 2, 7, 8};
    pool2d_ref_params rp = ref_params(params);
    const size_t oh =
        (size_t)pool2d_ref_output_size(7, rp.kernel_h, rp.stride_h, rp.pad_h, rp.ceil_mode);
    const size_t ow =
        (size_t)pool2d_ref_output_size(8, rp.kernel_w, rp.stride_w, rp.pad_w, rp.ceil_mode);
    const size_t in_count = count4(d), out_count = d[0] * d[1] * oh * ow;
    double *x = ts_malloc(in_count * sizeof *x), *dx = ts_malloc(in_count * sizeof *dx);
    double *dy = ts_malloc(out_count * sizeof *dy), *y = ts_malloc(out_count * sizeof *y);
    for (size_t i = 0; i < in_count; i++)
        x[i] = (double)((i * 37) % in_count) / 64.0 - 2.0; /* 37 is coprime with 224 */
    for (size_t i = 0; i < out_count; i++)
        dy[i] = (double)((i * 5) % 11) / 8.0 - 0.6;
    pool2d_ref_backward(&rp, 2, 2, 7, 8, x, dy, dx);
    const double step = 1.0 / 1024.0;
    for (size_t i = 0; i < in_count; i++) {
        double keep = x[i];
        x[i] = keep + step;
        double up = ref_loss(&rp, d, x, dy, y, out_count);
        x[i] = keep - step;
        double down = ref_loss(&rp, d, x, dy, y, out_count);
        x[i] = keep;
        double numeric = (up - down) / (2.0 * step);
        if (fabs(numeric - dx[i]) > 1e-9) {
            print_error("element %zu: finite difference %.12g, backward %.12g\n", i, numeric,
                        dx[i]);
            fail();
        }
    }
    free(x);
    free(dx);
    free(dy);
    free(y);
}

static void test_reference_gradients(void **state) {
    (void)state;
    clcnn_pool2d_params configs[] = {
        make_params(CLCNN_POOL2D_MAX, 2, 2, 0, 0, 0, 0, 0, 1),
        make_params(CLCNN_POOL2D_MAX, 3, 3, 2, 2, 1, 1, 1, 1),
        make_params(CLCNN_POOL2D_MAX, 4, 3, 1, 2, 2, 1, 0, 1),
        make_params(CLCNN_POOL2D_AVG, 3, 3, 2, 2, 1, 1, 1, 1),
        make_params(CLCNN_POOL2D_AVG, 3, 2, 2, 1, 1, 1, 1, 0),
        make_params(CLCNN_POOL2D_AVG, 2, 2, 3, 3, 0, 0, 1, 1),
    };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
        check_reference_gradient(&configs[i]);
}

/* ------------------------------------------------------------- max pool */

static void test_max_2x2(void **state) {
    const shape4 shapes[] = {
        {1, 1, 2, 2}, {2, 3, 7, 9}, {1, 2, 5, 33}, {3, 2, 28, 70}, {4, 8, 14, 14}};
    clcnn_pool2d_params p = clcnn_pool2d_params_default();
    CHECK_CONFIG(*state, &p, shapes, 3);
    p.ceil_mode = 1;
    CHECK_CONFIG(*state, &p, shapes, 3);
}

/* Overlapping windows with padding: gradients from several windows sum. */
static void test_max_3x3_stride2_pad1(void **state) {
    const shape4 shapes[] = {{2, 3, 9, 11}, {1, 1, 2, 2}, {1, 2, 33, 40}, {5, 3, 17, 16}};
    clcnn_pool2d_params p = make_params(CLCNN_POOL2D_MAX, 3, 3, 2, 2, 1, 1, 0, 1);
    CHECK_CONFIG(*state, &p, shapes, 2);
    p.ceil_mode = 1;
    CHECK_CONFIG(*state, &p, shapes, 2);
}

static void test_max_asymmetric(void **state) {
    const shape4 shapes[] = {{2, 2, 6, 7}, {1, 3, 3, 2}, {2, 4, 19, 45}};
    clcnn_pool2d_params p = make_params(CLCNN_POOL2D_MAX, 3, 2, 1, 2, 1, 0, 0, 1);
    CHECK_CONFIG(*state, &p, shapes, 2);
    p.ceil_mode = 1;
    CHECK_CONFIG(*state, &p, shapes, 2);
}

/* Stride 1, kernel 4, pad 2: up to 16 windows cover an element. */
static void test_max_heavy_overlap(void **state) {
    const shape4 shapes[] = {{1, 3, 5, 6}, {1, 1, 1, 1}, {2, 2, 20, 37}};
    clcnn_pool2d_params p = make_params(CLCNN_POOL2D_MAX, 4, 4, 1, 1, 2, 2, 0, 1);
    CHECK_CONFIG(*state, &p, shapes, 2);
}

/* Stride larger than the kernel: elements between windows get no gradient. */
static void test_max_gaps(void **state) {
    const shape4 shapes[] = {{1, 2, 8, 9}, {2, 1, 2, 4}, {2, 3, 31, 50}};
    clcnn_pool2d_params p = make_params(CLCNN_POOL2D_MAX, 2, 2, 3, 3, 0, 0, 0, 1);
    CHECK_CONFIG(*state, &p, shapes, 2);
    p.ceil_mode = 1;
    CHECK_CONFIG(*state, &p, shapes, 2);
}

/* Kernel 1: y is x, dx is dy. */
static void test_max_identity(void **state) {
    const shape4 shapes[] = {{1, 2, 3, 5}, {2, 2, 9, 40}};
    clcnn_pool2d_params p = make_params(CLCNN_POOL2D_MAX, 1, 1, 1, 1, 0, 0, 0, 1);
    CHECK_CONFIG(*state, &p, shapes, 1);
}

/* A window of NaNs takes its last NaN, one of -inf its first element. */
static void test_max_special_values(void **state) {
    clcnn_context *ctx = *state;
    const float nan = NAN, inf = INFINITY;
    /* One plane 2x4 -> 1x2: window 0 {1, NaN; NaN, 0}, window 1 all -inf. */
    const float x[8] = {1.0f, nan, -inf, -inf, nan, 0.0f, -inf, -inf};
    const float dy[2] = {0.5f, 0.25f};
    const size_t in_dims[4] = {1, 1, 2, 4}, out_dims[4] = {1, 1, 1, 2};
    clcnn_pool2d_params p = clcnn_pool2d_params_default();
    clcnn_tensor *tx = tensor4(ctx, in_dims, x), *ty = tensor4(ctx, out_dims, NULL);
    clcnn_tensor *tdy = tensor4(ctx, out_dims, dy), *tdx = tensor4(ctx, in_dims, NULL);
    TS_ASSERT_OK(ctx, clcnn_pool2d_forward(ctx, &p, tx, ty));
    TS_ASSERT_OK(ctx, clcnn_pool2d_backward(ctx, &p, tx, tdy, tdx, CLCNN_GRAD_OVERWRITE));
    float y[2], dx[8];
    TS_ASSERT_OK(ctx, clcnn_tensor_read(ty, 0, y, 2));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(tdx, 0, dx, 8));
    assert_true(isnan(y[0]));
    assert_true(isinf(y[1]) && y[1] < 0.0f);
    const float want_dx[8] = {0.0f, 0.0f, 0.25f, 0.0f, 0.5f, 0.0f, 0.0f, 0.0f};
    TS_ASSERT_FLOATS_IDENTICAL(dx, want_dx, 8);
    /* The reference agrees. */
    double xd[8], dyd[2] = {0.5, 0.25}, ref_dx[8];
    for (int i = 0; i < 8; i++)
        xd[i] = x[i];
    pool2d_ref_params rp = ref_params(&p);
    pool2d_ref_backward(&rp, 1, 1, 2, 4, xd, dyd, ref_dx);
    for (int i = 0; i < 8; i++)
        assert_true(ref_dx[i] == want_dx[i]);
    clcnn_tensor_destroy(tx);
    clcnn_tensor_destroy(ty);
    clcnn_tensor_destroy(tdy);
    clcnn_tensor_destroy(tdx);
}

/* ------------------------------------------------------------- avg pool */

static void test_avg_2x2(void **state) {
    const shape4 shapes[] = {{2, 3, 7, 9}, {1, 1, 2, 2}, {3, 2, 28, 70}};
    clcnn_pool2d_params p = make_params(CLCNN_POOL2D_AVG, 2, 2, 0, 0, 0, 0, 0, 1);
    CHECK_CONFIG(*state, &p, shapes, 2);
    p.ceil_mode = 1;
    CHECK_CONFIG(*state, &p, shapes, 2);
}

/* Padding counted in the divisor (PyTorch's default), ceil and floor. */
static void test_avg_3x3_pad_included(void **state) {
    const shape4 shapes[] = {{1, 2, 8, 10}, {2, 3, 9, 11}, {1, 1, 2, 2}, {2, 3, 30, 41}};
    clcnn_pool2d_params p = make_params(CLCNN_POOL2D_AVG, 3, 3, 2, 2, 1, 1, 0, 1);
    CHECK_CONFIG(*state, &p, shapes, 3);
    p.ceil_mode = 1;
    CHECK_CONFIG(*state, &p, shapes, 3);
}

static void test_avg_3x3_pad_excluded(void **state) {
    const shape4 shapes[] = {{1, 2, 8, 10}, {2, 3, 9, 11}, {1, 1, 2, 2}, {2, 3, 30, 41}};
    clcnn_pool2d_params p = make_params(CLCNN_POOL2D_AVG, 3, 3, 2, 2, 1, 1, 0, 0);
    CHECK_CONFIG(*state, &p, shapes, 3);
    p.ceil_mode = 1;
    CHECK_CONFIG(*state, &p, shapes, 3);
}

static void test_avg_asymmetric(void **state) {
    const shape4 shapes[] = {{1, 2, 11, 13}, {2, 1, 3, 4}, {2, 2, 25, 66}};
    clcnn_pool2d_params p = make_params(CLCNN_POOL2D_AVG, 3, 5, 2, 3, 1, 2, 1, 0);
    CHECK_CONFIG(*state, &p, shapes, 2);
    p.count_include_pad = 1;
    CHECK_CONFIG(*state, &p, shapes, 2);
}

/* --------------------------------------------------------- bad arguments */

static void test_bad_arguments(void **state) {
    clcnn_context *ctx = *state;
    const size_t in_dims[4] = {2, 3, 6, 6}, out_dims[4] = {2, 3, 3, 3};
    const size_t wrong_dims[4] = {2, 3, 3, 2}, flat_dims[2] = {6, 36};
    clcnn_tensor *x = tensor4(ctx, in_dims, NULL), *y = tensor4(ctx, out_dims, NULL);
    clcnn_tensor *dx = tensor4(ctx, in_dims, NULL), *dy = tensor4(ctx, out_dims, NULL);
    clcnn_tensor *wrong = tensor4(ctx, wrong_dims, NULL), *flat = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, flat_dims, &flat));
    clcnn_pool2d_params p = clcnn_pool2d_params_default();
    size_t shape[4];

    /* output_shape */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_output_shape(ctx, NULL, in_dims, shape));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_output_shape(ctx, &p, NULL, shape));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_output_shape(ctx, &p, in_dims, NULL));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_output_shape(NULL, NULL, in_dims, shape));
    TS_ASSERT_OK(NULL, clcnn_pool2d_output_shape(NULL, &p, in_dims, shape));
    const size_t zero_dims[4] = {0, 3, 6, 6};
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_pool2d_output_shape(ctx, &p, zero_dims, shape));
    clcnn_pool2d_params bad = p;
    bad.mode = (clcnn_pool2d_mode)7;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_output_shape(ctx, &bad, in_dims, shape));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "mode");
    bad = p;
    bad.kernel_h = 0;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_output_shape(ctx, &bad, in_dims, shape));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "kernel_h is 0");
    bad = p;
    bad.kernel_w = 0;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_output_shape(ctx, &bad, in_dims, shape));
    bad = p;
    bad.stride_w = (size_t)1 << 40;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_output_shape(ctx, &bad, in_dims, shape));
    bad = p;
    bad.kernel_h = SIZE_MAX;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_output_shape(ctx, &bad, in_dims, shape));
    bad = make_params(CLCNN_POOL2D_MAX, 2, 2, 0, 0, 2, 0, 0, 1); /* pad 2 > 2 / 2 */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_pool2d_output_shape(ctx, &bad, in_dims, shape));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "pad_h 2");
    bad = make_params(CLCNN_POOL2D_AVG, 3, 3, 0, 0, 1, 2, 0, 1); /* pad 2 > 3 / 2 */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_pool2d_output_shape(ctx, &bad, in_dims, shape));
    bad = make_params(CLCNN_POOL2D_MAX, 7, 2, 1, 0, 0, 0, 1, 1); /* window 7 > input 6 */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_pool2d_output_shape(ctx, &bad, in_dims, shape));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "does not fit in the padded input");

    /* forward */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_pool2d_forward(NULL, &p, x, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_pool2d_forward(ctx, NULL, x, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_pool2d_forward(ctx, &p, NULL, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_pool2d_forward(ctx, &p, x, NULL));
    bad = p;
    bad.kernel_w = 0;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_pool2d_forward(ctx, &bad, x, y));
    bad = make_params(CLCNN_POOL2D_MAX, 2, 2, 0, 0, 0, 3, 0, 1);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_pool2d_forward(ctx, &bad, x, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_pool2d_forward(ctx, &p, x, wrong));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[2, 3, 3, 2]");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[2, 3, 3, 3]");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[2, 3, 6, 6]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_pool2d_forward(ctx, &p, flat, y));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "4-D");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_pool2d_forward(ctx, &p, x, x));
    /* Kernel 1 keeps the shape: y may not be x (or a view of it). */
    clcnn_pool2d_params one = make_params(CLCNN_POOL2D_MAX, 1, 1, 1, 1, 0, 0, 0, 1);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_pool2d_forward(ctx, &one, x, x));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "shares memory");

    /* backward */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_backward(NULL, &p, x, dy, dx, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_backward(ctx, NULL, x, dy, dx, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_backward(ctx, &p, NULL, dy, dx, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_backward(ctx, &p, x, NULL, dx, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_backward(ctx, &p, x, dy, NULL, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_backward(ctx, &p, x, dy, dx, (clcnn_grad_mode)5));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_pool2d_backward(ctx, &p, x, wrong, dx, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_pool2d_backward(ctx, &p, x, dy, flat, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_pool2d_backward(ctx, &p, y, dy, dx, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "x is [2, 3, 3, 3]");
    bad = p;
    bad.kernel_h = 0;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_backward(ctx, &bad, x, dy, dx, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_backward(ctx, &one, x, dx, dx, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_pool2d_backward(ctx, &one, dx, x, dx, CLCNN_GRAD_OVERWRITE));
    /* Average pool does not need x. (dy is written rather than left from
     * the zero fill: Oclgrind counts filled memory as uninitialised.) */
    const float zeros[54] = {0.0f};
    TS_ASSERT_OK(ctx, clcnn_tensor_write(dy, 0, zeros, 54));
    clcnn_pool2d_params avg = make_params(CLCNN_POOL2D_AVG, 2, 2, 0, 0, 0, 0, 0, 1);
    TS_ASSERT_OK(ctx, clcnn_pool2d_backward(ctx, &avg, NULL, dy, dx, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_pool2d_backward(ctx, &avg, wrong, dy, dx, CLCNN_GRAD_OVERWRITE));

    /* Tensors of another context. */
    clcnn_context *other = ts_context_create();
    clcnn_tensor *ox = tensor4(other, in_dims, NULL), *oy = tensor4(other, out_dims, NULL);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_pool2d_forward(ctx, &p, ox, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_pool2d_forward(ctx, &p, x, oy));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_pool2d_backward(ctx, &p, ox, dy, dx, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_pool2d_backward(ctx, &p, x, oy, dx, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_pool2d_backward(ctx, &p, x, dy, ox, CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_pool2d_backward(ctx, &avg, ox, dy, dx, CLCNN_GRAD_OVERWRITE));
    clcnn_tensor_destroy(ox);
    clcnn_tensor_destroy(oy);
    clcnn_context_destroy(other);

    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
    clcnn_tensor_destroy(x);
    clcnn_tensor_destroy(y);
    clcnn_tensor_destroy(dx);
    clcnn_tensor_destroy(dy);
    clcnn_tensor_destroy(wrong);
    clcnn_tensor_destroy(flat);
}

/* The pooling kernels take their sizes and window as int vectors: a value
 * past an int fails the launch, naming the kernel and the argument,
 * before anything is enqueued. */
static void test_vector_argument_range(void **state) {
    clcnn_context *ctx = *state;
    clcnn__launch launch;
    TS_ASSERT_OK(ctx, clcnn__launch_prepare(ctx, "pool2d.cl", NULL, "pool2d_max_forward", &launch));
    const size_t sizes[4] = {2, 2, (size_t)INT32_MAX + 1, 1}, window[8] = {1, 1, 1, 1, 0, 0, 1, 0};
    clcnn__arg_uint(&launch, 1);
    clcnn__arg_int_vector(&launch, sizes, 4);
    clcnn__arg_int_vector(&launch, window, 8);
    const size_t global[3] = {1, 1, 1};
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_SIZE_OVERFLOW, clcnn__launch_run(&launch, 3, global, NULL));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "kernel 'pool2d_max_forward', argument 1");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "int vector");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_default),
        cmocka_unit_test(test_output_shape),
        cmocka_unit_test(test_golden_2x2),
        cmocka_unit_test(test_golden_2x2_odd),
        cmocka_unit_test(test_golden_2x2_ties),
        cmocka_unit_test(test_reference_gradients),
        cmocka_unit_test(test_max_2x2),
        cmocka_unit_test(test_max_3x3_stride2_pad1),
        cmocka_unit_test(test_max_asymmetric),
        cmocka_unit_test(test_max_heavy_overlap),
        cmocka_unit_test(test_max_gaps),
        cmocka_unit_test(test_max_identity),
        cmocka_unit_test(test_max_special_values),
        cmocka_unit_test(test_avg_2x2),
        cmocka_unit_test(test_avg_3x3_pad_included),
        cmocka_unit_test(test_avg_3x3_pad_excluded),
        cmocka_unit_test(test_avg_asymmetric),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_vector_argument_range),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
