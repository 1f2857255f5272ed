/* conv2d: every algorithm against the plain double reference on awkward
 * shapes (batch 1, odd sizes, channel counts no tile divides, 1x1 and 5x5
 * kernels, stride 2, padding 0 and 2, dilation 2, groups, depthwise), with
 * and without bias, in both grad modes; the reference's gradients against
 * central finite differences of its forward; PyTorch's golden; determinism;
 * no allocation once warm; every bad argument with its exact status.
 *
 * Tolerance: an element passes when |got - ref| <= 2e-5 * S, S being the
 * sum of the absolute values of every term that makes the element (products
 * of the operands, the bias, and the previous value when accumulating): a
 * float32 sum of S-sized terms stays far inside that, while one missing or
 * extra term of a few thousand does not. The golden uses the README's
 * atol 1e-5 + rtol 1e-5. Under CLCNN_TEST_SMALL (or on Oclgrind) only the
 * small shapes run, and AUTO (which only dispatches) every third of them.
 * An optional argument selects tests by name pattern. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn/activation.h"
#include "clcnn/conv2d.h"
#include "clcnn/pool2d.h"
#include "ref/conv2d_ref.h"
#include "runtime/internal.h"
#include "support/test_support.h"

#define CONV_TOLERANCE 2e-5

typedef struct fixture {
    clcnn_context *ctx;
    clcnn_context *other; /* for CONTEXT_MISMATCH; lives until teardown */
    int small;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL || clcnn_context_create(NULL, &f->ctx) != CLCNN_OK) {
        free(f);
        return -1;
    }
    const char *env = getenv("CLCNN_TEST_SMALL");
    f->small = env != NULL && env[0] != '\0' && strcmp(env, "0") != 0;
    clcnn_device_info info;
    if (clcnn_context_device_info(f->ctx, &info) == CLCNN_OK &&
        strstr(info.platform_name, "Oclgrind") != NULL)
        f->small = 1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    clcnn_context_destroy(f->ctx);
    clcnn_context_destroy(f->other);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------ cases */

typedef struct conv_case {
    const char *name;
    size_t n, c, h, w, k, kh, kw, sh, sw, ph, pw, dh, dw, groups;
    int bias;
    int large; /* skipped under CLCNN_TEST_SMALL */
} conv_case;

static const conv_case cases[] = {
    /* name                n  c  h   w   k  kh kw sh sw ph pw dh dw g  bias large */
    {"batch1_7x5_3x3_p1", 1, 3, 7, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0},
    {"1x1_p0", 2, 5, 6, 9, 7, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0},
    {"5x5_p2", 2, 3, 9, 8, 4, 5, 5, 1, 1, 2, 2, 1, 1, 1, 1, 0},
    {"5x5_p0", 1, 2, 7, 8, 3, 5, 5, 1, 1, 0, 0, 1, 1, 1, 0, 0},
    {"stride2_p1", 2, 4, 9, 7, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0},
    {"stride2_2x2_p0", 3, 2, 8, 7, 3, 2, 2, 2, 2, 0, 0, 1, 1, 1, 0, 0},
    {"dilation2_p2", 1, 3, 11, 10, 5, 3, 3, 1, 1, 2, 2, 2, 2, 1, 1, 0},
    {"groups2", 2, 6, 6, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1, 0},
    {"depthwise", 2, 5, 7, 6, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5, 1, 0},
    {"depthwise_x2_stride2", 1, 3, 8, 9, 6, 3, 3, 2, 2, 1, 1, 1, 1, 3, 0, 0},
    {"3x2_stride1x2_dil1x2", 2, 3, 8, 11, 4, 3, 2, 1, 2, 1, 0, 1, 2, 1, 1, 0},
    {"1x3_full_padding", 1, 4, 6, 13, 3, 1, 3, 1, 1, 0, 2, 1, 1, 1, 0, 0},
    {"wide_k17_c7", 2, 7, 13, 33, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"chunked_16x32x32", 2, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {"groups4_dil2_20wide", 2, 8, 12, 20, 12, 3, 3, 1, 1, 2, 2, 2, 2, 4, 0, 1},
    /* Strided shapes of DIRECT's phases: a 1x1 downsample (odd phases take
     * no tap), rows wider than a vector, stride 2 by rows only, stride 4
     * (a phase without taps, forward refused), stride 3 whose phases would
     * crop dy (backward data refused). */
    {"1x1_stride2_p0", 2, 5, 9, 11, 6, 1, 1, 2, 2, 0, 0, 1, 1, 1, 1, 0},
    {"stride2_wide41", 1, 3, 7, 41, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, 0},
    {"stride2x1_5x5_p2", 2, 3, 9, 10, 4, 5, 5, 2, 1, 2, 2, 1, 1, 1, 1, 0},
    {"stride4_3x3_p0", 1, 2, 13, 14, 3, 3, 3, 4, 4, 0, 0, 1, 1, 1, 0, 0},
    {"stride3_3x3_p1", 2, 3, 10, 8, 4, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0},
};

static conv2d_ref_shape ref_shape(const conv_case *cc) {
    conv2d_ref_shape s = {cc->n,  cc->c,  cc->h,  cc->w,  cc->k,  cc->kh,     cc->kw, cc->sh,
                          cc->sw, cc->ph, cc->pw, cc->dh, cc->dw, cc->groups, 0,      0};
    assert_true(conv2d_ref_complete(&s));
    return s;
}

static clcnn_conv2d_params case_params(const conv_case *cc, int algorithm) {
    clcnn_conv2d_params p = clcnn_conv2d_params_default();
    p.stride_h = cc->sh, p.stride_w = cc->sw, p.pad_h = cc->ph, p.pad_w = cc->pw;
    p.dilation_h = cc->dh, p.dilation_w = cc->dw, p.groups = cc->groups;
    p.algorithm = algorithm;
    return p;
}

/* ---------------------------------------------------------------- helpers */

static clcnn_tensor *make_tensor(clcnn_context *ctx, size_t ndim, const size_t *dims,
                                 const float *data) {
    clcnn_tensor *t = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, ndim, dims, &t));
    if (data != NULL)
        TS_ASSERT_OK(ctx, clcnn_tensor_write(t, 0, data, clcnn_tensor_numel(t)));
    return t;
}

static float *random_floats(size_t count, uint32_t seed) {
    float *data = ts_malloc(count * sizeof *data);
    ts_fill_random(data, count, seed, -1.0f, 1.0f);
    return data;
}

static double *to_double(const float *data, size_t count, int absolute) {
    double *out = ts_malloc(count * sizeof *out);
    for (size_t i = 0; i < count; i++)
        out[i] = absolute ? fabs((double)data[i]) : (double)data[i];
    return out;
}

static float *read_tensor(const clcnn_tensor *t) {
    size_t count = clcnn_tensor_numel(t);
    float *out = ts_malloc(count * sizeof *out);
    TS_ASSERT_OK(clcnn_tensor_context(t), clcnn_tensor_read(t, 0, out, count));
    return out;
}

/* Fails unless |got - (base + ref)| <= CONV_TOLERANCE * (|base| + scale) for
 * every element; base may be NULL (zero). Names the case and the first
 * element out of tolerance. */
static void check_close(const char *what, const char *case_name, int algorithm, const float *got,
                        const float *base, const double *ref, const double *scale, size_t count) {
    for (size_t i = 0; i < count; i++) {
        double b = base != NULL ? (double)base[i] : 0.0;
        double expected = b + ref[i];
        double allowed = CONV_TOLERANCE * (fabs(b) + scale[i]);
        double error = fabs((double)got[i] - expected);
        if (isnan(got[i]) || error > allowed) {
            print_error("%s of case %s (algorithm %d): element %zu is %.9g, expected %.9g "
                        "(error %.3g, allowed %.3g)\n",
                        what, case_name, algorithm, i, (double)got[i], expected, error, allowed);
            fail();
        }
    }
}

enum { PASS_FORWARD, PASS_BACKWARD_DATA, PASS_BACKWARD_WEIGHTS };

/* Whether a phase of strided backward data along one axis would crop dy:
 * its last tap (the largest r with (phase + pad - r) a multiple of the
 * stride) lies before phase + pad. */
static int phase_crops(size_t kernel, size_t stride, size_t pad) {
    for (size_t phase = 0; phase < stride; phase++)
        for (size_t r = kernel; r-- > 0;)
            if ((phase + pad + stride * kernel - r) % stride == 0) {
                if (r < phase + pad)
                    return 1;
                break;
            }
    return 0;
}

/* DIRECT's reach: forward with a column stride of 1 or 2; backward data at
 * stride 1, or strided up to 4 without dilation where no phase crops dy;
 * backward weights always. */
static int algorithm_accepts_pass(int algorithm, const conv_case *cc, int pass) {
    if (algorithm != CLCNN_CONV2D_ALGO_DIRECT)
        return 1;
    switch (pass) {
    case PASS_FORWARD:
        return cc->sw <= 2;
    case PASS_BACKWARD_DATA:
        if (cc->sh == 1 && cc->sw == 1)
            return 1;
        return cc->dh == 1 && cc->dw == 1 && cc->sh <= 4 && cc->sw <= 4 &&
               !phase_crops(cc->kh, cc->sh, cc->ph) && !phase_crops(cc->kw, cc->sw, cc->pw);
    default:
        return 1;
    }
}

static int algorithm_accepts(int algorithm, const conv_case *cc) {
    return algorithm_accepts_pass(algorithm, cc, PASS_FORWARD);
}

/* Overwrites every free pooled buffer in full from the host. Oclgrind 21.10
 * (uninitialised-value checker) re-sizes its record of a buffer to the
 * extent of each host store -- a write, or each element of a fill -- so
 * after a partial host store (tensor_create fills only the tensor's part of
 * a larger pooled buffer, then writes it) bytes past that extent stay
 * "uninitialised" even once a kernel has stored to them, and a workspace
 * that later lands in the buffer gives false reports. One full write
 * restores the record; the tests call this before each case. (Released
 * buffers have the same problem when Oclgrind recycles their ids, so the
 * tests release none before teardown.) */
static void fresh_buffers(clcnn_context *ctx) {
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
    size_t largest = 0;
    for (size_t i = 0; i < ctx->pool_count; i++)
        if (ctx->pool[i].bytes > largest)
            largest = ctx->pool[i].bytes;
    void *zeros = calloc(largest > 0 ? largest : 1, 1);
    assert_non_null(zeros);
    for (size_t i = 0; i < ctx->pool_count; i++)
        if (!ctx->pool[i].in_use)
            assert_int_equal(clEnqueueWriteBuffer(ctx->queue, ctx->pool[i].mem, CL_TRUE, 0,
                                                  ctx->pool[i].bytes, zeros, 0, NULL, NULL),
                             CL_SUCCESS);
    free(zeros);
}

/* Runs the three passes of one case with one algorithm, both grad modes,
 * and checks them against the reference. */
static void run_case(clcnn_context *ctx, const conv_case *cc, int algorithm) {
    fresh_buffers(ctx);
    conv2d_ref_shape s = ref_shape(cc);
    size_t xn = conv2d_ref_x_count(&s), wn = conv2d_ref_w_count(&s), yn = conv2d_ref_y_count(&s);
    size_t x_dims[4] = {s.n, s.c, s.h, s.w}, w_dims[4] = {s.k, s.c / s.groups, s.kh, s.kw};
    size_t y_dims[4] = {s.n, s.k, s.ho, s.wo}, b_dims[1] = {s.k};
    clcnn_conv2d_params p = case_params(cc, algorithm);
    size_t shape[4];
    TS_ASSERT_OK(NULL, clcnn_conv2d_output_shape(&p, x_dims, w_dims, shape));
    assert_memory_equal(shape, y_dims, sizeof shape);

    float *x = random_floats(xn, 11), *w = random_floats(wn, 12), *b = random_floats(s.k, 13);
    float *dy = random_floats(yn, 14);
    float *prev_x = random_floats(xn, 15), *prev_w = random_floats(wn, 16);
    float *prev_b = random_floats(s.k, 17);
    double *xd = to_double(x, xn, 0), *wd = to_double(w, wn, 0), *bd = to_double(b, s.k, 0);
    double *dyd = to_double(dy, yn, 0);
    double *xa = to_double(x, xn, 1), *wa = to_double(w, wn, 1), *ba = to_double(b, s.k, 1);
    double *dya = to_double(dy, yn, 1);
    double *ref = ts_malloc((xn + wn + yn) * sizeof *ref);
    double *scale = ts_malloc((xn + wn + yn) * sizeof *scale);

    clcnn_tensor *xt = make_tensor(ctx, 4, x_dims, x), *wt = make_tensor(ctx, 4, w_dims, w);
    clcnn_tensor *bt = make_tensor(ctx, 1, b_dims, b), *dyt = make_tensor(ctx, 4, y_dims, dy);
    clcnn_tensor *yt = make_tensor(ctx, 4, y_dims, NULL), *dxt = make_tensor(ctx, 4, x_dims, NULL);
    clcnn_tensor *dwt = make_tensor(ctx, 4, w_dims, NULL), *dbt = make_tensor(ctx, 1, b_dims, NULL);
    clcnn_tensor *db = cc->bias ? dbt : NULL;
    double *ref_b = ref + wn, *scale_b = scale + wn;

    /* Forward, overwriting garbage. */
    if (!algorithm_accepts_pass(algorithm, cc, PASS_FORWARD)) {
        TS_ASSERT_STATUS(ctx, CLCNN_ERROR_UNSUPPORTED,
                         clcnn_conv2d_forward(ctx, &p, xt, wt, NULL, yt));
        goto backward_data;
    }
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(yt, 123.0f));
    TS_ASSERT_OK(ctx, clcnn_conv2d_forward(ctx, &p, xt, wt, cc->bias ? bt : NULL, yt));
    conv2d_ref_forward(&s, xd, wd, cc->bias ? bd : NULL, ref);
    conv2d_ref_forward(&s, xa, wa, cc->bias ? ba : NULL, scale);
    float *got = read_tensor(yt);
    check_close("forward", cc->name, algorithm, got, NULL, ref, scale, yn);
    free(got);

backward_data:
    /* Backward data: overwrite, then accumulate onto other values. */
    if (!algorithm_accepts_pass(algorithm, cc, PASS_BACKWARD_DATA)) {
        TS_ASSERT_STATUS(ctx, CLCNN_ERROR_UNSUPPORTED,
                         clcnn_conv2d_backward_data(ctx, &p, dyt, wt, dxt, CLCNN_GRAD_OVERWRITE));
        goto backward_weights;
    }
    conv2d_ref_backward_data(&s, dyd, wd, ref);
    conv2d_ref_backward_data(&s, dya, wa, scale);
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(dxt, -55.0f));
    TS_ASSERT_OK(ctx, clcnn_conv2d_backward_data(ctx, &p, dyt, wt, dxt, CLCNN_GRAD_OVERWRITE));
    got = read_tensor(dxt);
    check_close("backward_data", cc->name, algorithm, got, NULL, ref, scale, xn);
    free(got);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(dxt, 0, prev_x, xn));
    TS_ASSERT_OK(ctx, clcnn_conv2d_backward_data(ctx, &p, dyt, wt, dxt, CLCNN_GRAD_ACCUMULATE));
    got = read_tensor(dxt);
    check_close("backward_data (accumulate)", cc->name, algorithm, got, prev_x, ref, scale, xn);
    free(got);

backward_weights:
    /* Backward weights (and bias when the case has one). */
    conv2d_ref_backward_weights(&s, xd, dyd, ref);
    conv2d_ref_backward_weights(&s, xa, dya, scale);
    conv2d_ref_backward_bias(&s, dyd, ref_b);
    conv2d_ref_backward_bias(&s, dya, scale_b);
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(dwt, 77.0f));
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(dbt, 77.0f));
    TS_ASSERT_OK(ctx,
                 clcnn_conv2d_backward_weights(ctx, &p, xt, dyt, dwt, db, CLCNN_GRAD_OVERWRITE));
    got = read_tensor(dwt);
    check_close("backward_weights", cc->name, algorithm, got, NULL, ref, scale, wn);
    free(got);
    got = read_tensor(dbt);
    if (cc->bias) {
        check_close("backward_bias", cc->name, algorithm, got, NULL, ref_b, scale_b, s.k);
    } else {
        for (size_t i = 0; i < s.k; i++)
            assert_true(got[i] == 77.0f); /* db NULL: untouched */
    }
    free(got);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(dwt, 0, prev_w, wn));
    TS_ASSERT_OK(ctx, clcnn_tensor_write(dbt, 0, prev_b, s.k));
    TS_ASSERT_OK(ctx,
                 clcnn_conv2d_backward_weights(ctx, &p, xt, dyt, dwt, db, CLCNN_GRAD_ACCUMULATE));
    got = read_tensor(dwt);
    check_close("backward_weights (accumulate)", cc->name, algorithm, got, prev_w, ref, scale, wn);
    free(got);
    if (cc->bias) {
        got = read_tensor(dbt);
        check_close("backward_bias (accumulate)", cc->name, algorithm, got, prev_b, ref_b, scale_b,
                    s.k);
        free(got);
    }

    clcnn_tensor_destroy(xt), clcnn_tensor_destroy(wt), clcnn_tensor_destroy(bt);
    clcnn_tensor_destroy(dyt), clcnn_tensor_destroy(yt), clcnn_tensor_destroy(dxt);
    clcnn_tensor_destroy(dwt), clcnn_tensor_destroy(dbt);
    free(x), free(w), free(b), free(dy), free(prev_x), free(prev_w), free(prev_b);
    free(xd), free(wd), free(bd), free(dyd), free(xa), free(wa), free(ba), free(dya);
    free(ref), free(scale);
}

/* Every case with one algorithm. AUTO only dispatches to the others, which
 * each run every case, so under CLCNN_TEST_SMALL (Oclgrind, slow) it runs
 * every third case. */
static void run_all_cases(void **state, int algorithm) {
    fixture *f = *state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (f->small && (cases[i].large || (algorithm == CLCNN_CONV2D_ALGO_AUTO && i % 3 != 0)))
            continue;
        run_case(f->ctx, &cases[i], algorithm);
    }
}

static void test_auto(void **state) {
    run_all_cases(state, CLCNN_CONV2D_ALGO_AUTO);
}

static void test_general(void **state) {
    run_all_cases(state, CLCNN_CONV2D_ALGO_GENERAL);
}

static void test_direct(void **state) {
    run_all_cases(state, CLCNN_CONV2D_ALGO_DIRECT);
}

static void test_tiled(void **state) {
    run_all_cases(state, CLCNN_CONV2D_ALGO_TILED);
}

/* ------------------------------------------------ reference self-check */

/* L = sum(y * g): its gradients are backward data / weights / bias of g.
 * Central differences of the reference forward, element by element. */
static double loss(const conv2d_ref_shape *s, const double *x, const double *w, const double *b,
                   const double *g, double *y) {
    conv2d_ref_forward(s, x, w, b, y);
    double sum = 0.0;
    for (size_t i = 0; i < conv2d_ref_y_count(s); i++)
        sum += y[i] * g[i];
    return sum;
}

static void check_finite_differences(double *param, size_t count, const double *analytic,
                                     const conv2d_ref_shape *s, double *x, double *w, double *b,
                                     const double *g, double *y) {
    const double h = 1e-4;
    for (size_t i = 0; i < count; i++) {
        double saved = param[i];
        param[i] = saved + h;
        double plus = loss(s, x, w, b, g, y);
        param[i] = saved - h;
        double minus = loss(s, x, w, b, g, y);
        param[i] = saved;
        double numeric = (plus - minus) / (2 * h);
        assert_true(fabs(numeric - analytic[i]) <= 1e-8 * (1.0 + fabs(analytic[i])));
    }
}

static void test_reference_gradients(void **state) {
    (void)state;
    const conv_case checks[] = {
        {"fd_stride2_groups2", 2, 4, 7, 6, 6, 3, 3, 2, 2, 1, 1, 1, 1, 2, 1, 0},
        {"fd_dilation2_rect", 1, 3, 8, 9, 2, 2, 3, 1, 2, 1, 2, 2, 1, 1, 1, 0},
        {"fd_depthwise_5x5", 2, 3, 6, 7, 3, 5, 5, 1, 1, 2, 1, 1, 1, 3, 1, 0},
    };
    for (size_t c = 0; c < sizeof checks / sizeof checks[0]; c++) {
        conv2d_ref_shape s = ref_shape(&checks[c]);
        size_t xn = conv2d_ref_x_count(&s), wn = conv2d_ref_w_count(&s);
        size_t yn = conv2d_ref_y_count(&s);
        float *xf = random_floats(xn, 21), *wf = random_floats(wn, 22);
        float *bf = random_floats(s.k, 23), *gf = random_floats(yn, 24);
        double *x = to_double(xf, xn, 0), *w = to_double(wf, wn, 0), *b = to_double(bf, s.k, 0);
        double *g = to_double(gf, yn, 0), *y = ts_malloc(yn * sizeof *y);
        double *dx = ts_malloc(xn * sizeof *dx), *dw = ts_malloc(wn * sizeof *dw);
        double *db = ts_malloc(s.k * sizeof *db);
        conv2d_ref_backward_data(&s, g, w, dx);
        conv2d_ref_backward_weights(&s, x, g, dw);
        conv2d_ref_backward_bias(&s, g, db);
        check_finite_differences(x, xn, dx, &s, x, w, b, g, y);
        check_finite_differences(w, wn, dw, &s, x, w, b, g, y);
        check_finite_differences(b, s.k, db, &s, x, w, b, g, y);
        free(xf), free(wf), free(bf), free(gf), free(x), free(w), free(b), free(g), free(y);
        free(dx), free(dw), free(db);
    }
}

/* ---------------------------------------------------------------- golden */

static float *to_float(const double *data, size_t count) {
    float *out = ts_malloc(count * sizeof *out);
    for (size_t i = 0; i < count; i++)
        out[i] = (float)data[i];
    return out;
}

/* PyTorch's Conv2d(3 -> 4, 3x3, padding 1) with bias: y, dx, dw, db, with
 * every algorithm. */
static void test_golden(void **state) {
    fixture *f = *state;
    clcnn_context *ctx = f->ctx;
    fresh_buffers(ctx);
    static const char file[] = "conv2d_3x3_p1_s1.txt";
    const size_t x_dims[4] = {2, 3, 6, 6}, w_dims[4] = {4, 3, 3, 3}, b_dims[1] = {4};
    const size_t y_dims[4] = {2, 4, 6, 6};
    const size_t xn = 216, wn = 108, yn = 288;
    double *x = ts_golden_tensor_sized(file, "x", xn), *w = ts_golden_tensor_sized(file, "w", wn);
    double *b = ts_golden_tensor_sized(file, "b", 4), *dy = ts_golden_tensor_sized(file, "dy", yn);
    double *y = ts_golden_tensor_sized(file, "y", yn), *dx = ts_golden_tensor_sized(file, "dx", xn);
    double *dw = ts_golden_tensor_sized(file, "dw", wn),
           *db = ts_golden_tensor_sized(file, "db", 4);
    float *xf = to_float(x, xn), *wf = to_float(w, wn), *bf = to_float(b, 4);
    float *dyf = to_float(dy, yn);
    clcnn_tensor *xt = make_tensor(ctx, 4, x_dims, xf), *wt = make_tensor(ctx, 4, w_dims, wf);
    clcnn_tensor *bt = make_tensor(ctx, 1, b_dims, bf), *dyt = make_tensor(ctx, 4, y_dims, dyf);
    clcnn_tensor *yt = make_tensor(ctx, 4, y_dims, NULL), *dxt = make_tensor(ctx, 4, x_dims, NULL);
    clcnn_tensor *dwt = make_tensor(ctx, 4, w_dims, NULL), *dbt = make_tensor(ctx, 1, b_dims, NULL);
    const int algorithms[] = {CLCNN_CONV2D_ALGO_AUTO, CLCNN_CONV2D_ALGO_GENERAL,
                              CLCNN_CONV2D_ALGO_DIRECT, CLCNN_CONV2D_ALGO_TILED};
    for (size_t a = 0; a < sizeof algorithms / sizeof algorithms[0]; a++) {
        clcnn_conv2d_params p = clcnn_conv2d_params_default();
        p.pad_h = p.pad_w = 1;
        p.algorithm = algorithms[a];
        TS_ASSERT_OK(ctx, clcnn_conv2d_forward(ctx, &p, xt, wt, bt, yt));
        TS_ASSERT_OK(ctx, clcnn_conv2d_backward_data(ctx, &p, dyt, wt, dxt, CLCNN_GRAD_OVERWRITE));
        TS_ASSERT_OK(
            ctx, clcnn_conv2d_backward_weights(ctx, &p, xt, dyt, dwt, dbt, CLCNN_GRAD_OVERWRITE));
        float *got = read_tensor(yt);
        TS_ASSERT_FLOATS_NEAR(got, y, yn, 1e-5, 1e-5);
        free(got);
        got = read_tensor(dxt);
        TS_ASSERT_FLOATS_NEAR(got, dx, xn, 1e-5, 1e-5);
        free(got);
        got = read_tensor(dwt);
        TS_ASSERT_FLOATS_NEAR(got, dw, wn, 1e-5, 1e-5);
        free(got);
        got = read_tensor(dbt);
        TS_ASSERT_FLOATS_NEAR(got, db, 4, 1e-5, 1e-5);
        free(got);
    }
    clcnn_tensor_destroy(xt), clcnn_tensor_destroy(wt), clcnn_tensor_destroy(bt);
    clcnn_tensor_destroy(dyt), clcnn_tensor_destroy(yt), clcnn_tensor_destroy(dxt);
    clcnn_tensor_destroy(dwt), clcnn_tensor_destroy(dbt);
    free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
    free(xf), free(wf), free(bf), free(dyf);
}

/* ------------------------------------------- determinism and allocation */

/* Two runs give the same bits, and a warm run allocates no device buffer:
 * at stride 1 and at stride 2. */
static void check_deterministic_and_pooled(fixture *f, size_t stride) {
    clcnn_context *ctx = f->ctx;
    fresh_buffers(ctx);
    size_t n = f->small ? 1 : 4, c = f->small ? 3 : 24, k = f->small ? 5 : 20;
    size_t h = f->small ? 5 : 18, w = f->small ? 7 : 17;
    size_t ho = (h - 1) / stride + 1, wo = (w - 1) / stride + 1; /* 3x3, pad 1 */
    const size_t x_dims[4] = {n, c, h, w}, w_dims[4] = {k, c, 3, 3}, b_dims[1] = {k};
    const size_t y_dims[4] = {n, k, ho, wo};
    size_t xn = n * c * h * w, wn = k * c * 9, yn = n * k * ho * wo;
    float *x = random_floats(xn, 31), *wv = random_floats(wn, 32), *dy = random_floats(yn, 33);
    clcnn_tensor *xt = make_tensor(ctx, 4, x_dims, x), *wt = make_tensor(ctx, 4, w_dims, wv);
    clcnn_tensor *dyt = make_tensor(ctx, 4, y_dims, dy), *yt = make_tensor(ctx, 4, y_dims, NULL);
    clcnn_tensor *dxt = make_tensor(ctx, 4, x_dims, NULL), *dwt = make_tensor(ctx, 4, w_dims, NULL);
    clcnn_tensor *dbt = make_tensor(ctx, 1, b_dims, NULL);
    const int algorithms[] = {CLCNN_CONV2D_ALGO_AUTO, CLCNN_CONV2D_ALGO_GENERAL,
                              CLCNN_CONV2D_ALGO_DIRECT, CLCNN_CONV2D_ALGO_TILED};
    for (size_t a = 0; a < sizeof algorithms / sizeof algorithms[0]; a++) {
        clcnn_conv2d_params p = clcnn_conv2d_params_default();
        p.pad_h = p.pad_w = 1;
        p.stride_h = p.stride_w = stride;
        p.algorithm = algorithms[a];
        float *first[4] = {NULL, NULL, NULL, NULL};
        clcnn_memory_stats warm, after;
        for (int run = 0; run < 2; run++) {
            if (run == 1)
                TS_ASSERT_OK(ctx, clcnn_context_memory_stats(ctx, &warm));
            TS_ASSERT_OK(ctx, clcnn_conv2d_forward(ctx, &p, xt, wt, NULL, yt));
            TS_ASSERT_OK(ctx,
                         clcnn_conv2d_backward_data(ctx, &p, dyt, wt, dxt, CLCNN_GRAD_OVERWRITE));
            TS_ASSERT_OK(ctx, clcnn_conv2d_backward_weights(ctx, &p, xt, dyt, dwt, dbt,
                                                            CLCNN_GRAD_OVERWRITE));
            const clcnn_tensor *outs[4] = {yt, dxt, dwt, dbt};
            for (int i = 0; i < 4; i++) {
                float *got = read_tensor(outs[i]);
                if (run == 0) {
                    first[i] = got;
                } else {
                    TS_ASSERT_FLOATS_IDENTICAL(got, first[i], clcnn_tensor_numel(outs[i]));
                    free(got);
                    free(first[i]);
                }
            }
        }
        TS_ASSERT_OK(ctx, clcnn_context_memory_stats(ctx, &after));
        assert_int_equal(after.buffer_allocations, warm.buffer_allocations);
    }
    clcnn_tensor_destroy(xt), clcnn_tensor_destroy(wt), clcnn_tensor_destroy(dyt);
    clcnn_tensor_destroy(yt), clcnn_tensor_destroy(dxt), clcnn_tensor_destroy(dwt);
    clcnn_tensor_destroy(dbt);
    free(x), free(wv), free(dy);
}

static void test_deterministic_and_pooled(void **state) {
    check_deterministic_and_pooled(*state, 1);
    check_deterministic_and_pooled(*state, 2);
}

/* ------------------------------------------------------------ shape rules */

static void test_output_shape(void **state) {
    (void)state;
    clcnn_conv2d_params p = clcnn_conv2d_params_default();
    size_t x[4] = {2, 6, 9, 7}, w[4] = {4, 6, 3, 3}, y[4] = {0, 0, 0, 0};
    TS_ASSERT_OK(NULL, clcnn_conv2d_output_shape(&p, x, w, y));
    assert_true(y[0] == 2 && y[1] == 4 && y[2] == 7 && y[3] == 5);
    p.pad_h = 1, p.pad_w = 2, p.stride_h = 2, p.stride_w = 3; /* (9+2-3)/2+1, (7+4-3)/3+1 */
    TS_ASSERT_OK(NULL, clcnn_conv2d_output_shape(&p, x, w, y));
    assert_true(y[2] == 5 && y[3] == 3);
    p = clcnn_conv2d_params_default();
    p.dilation_h = 2, p.pad_h = 4; /* pad == dilation * (3 - 1): the largest allowed */
    TS_ASSERT_OK(NULL, clcnn_conv2d_output_shape(&p, x, w, y));
    assert_true(y[2] == 13 && y[3] == 5);
    p.pad_h = 5; /* one past the rule */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_SHAPE, clcnn_conv2d_output_shape(&p, x, w, y));
    p = clcnn_conv2d_params_default();
    p.pad_w = 3; /* 3x3 kernel: at most 2 */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_SHAPE, clcnn_conv2d_output_shape(&p, x, w, y));
    size_t w1[4] = {4, 6, 1, 1};
    p.pad_w = 1; /* a 1x1 kernel allows no padding */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_SHAPE, clcnn_conv2d_output_shape(&p, x, w1, y));
    p = clcnn_conv2d_params_default();
    size_t big[4] = {4, 6, 10, 3}; /* kernel wider than the input: empty output */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_SHAPE, clcnn_conv2d_output_shape(&p, x, big, y));
    p.groups = 2; /* w must then hold 3 channels per group */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_SHAPE, clcnn_conv2d_output_shape(&p, x, w, y));
    size_t wg[4] = {4, 3, 3, 3};
    TS_ASSERT_OK(NULL, clcnn_conv2d_output_shape(&p, x, wg, y));
    p.groups = 4; /* divides K = 4 but not C = 6 */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_SHAPE, clcnn_conv2d_output_shape(&p, x, wg, y));
    p.groups = 3; /* divides C = 6 but not K = 4 */
    size_t w3[4] = {4, 2, 3, 3};
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_SHAPE, clcnn_conv2d_output_shape(&p, x, w3, y));
    p = clcnn_conv2d_params_default();
    p.stride_w = 0;
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_conv2d_output_shape(&p, x, w, y));
    p = clcnn_conv2d_params_default();
    p.dilation_h = 0;
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_conv2d_output_shape(&p, x, w, y));
    p = clcnn_conv2d_params_default();
    p.groups = 0;
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_conv2d_output_shape(&p, x, w, y));
    p = clcnn_conv2d_params_default();
    p.algorithm = 99;
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_conv2d_output_shape(&p, x, w, y));
    p = clcnn_conv2d_params_default();
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_conv2d_output_shape(NULL, x, w, y));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_conv2d_output_shape(&p, NULL, w, y));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_conv2d_output_shape(&p, x, w, NULL));
    size_t huge[4] = {1, 6, 9, 7}, wh[4] = {4, 6, 3, (size_t)1 << 62};
    p.dilation_w = 8; /* 8 * (2^62 - 1) overflows */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_SIZE_OVERFLOW, clcnn_conv2d_output_shape(&p, huge, wh, y));
}

/* --------------------------------------------------------- bad arguments */

static void test_bad_arguments(void **state) {
    fixture *f = *state;
    clcnn_context *ctx = f->ctx;
    fresh_buffers(ctx);
    const size_t x_dims[4] = {2, 4, 5, 6}, w_dims[4] = {3, 4, 3, 3}, y_dims[4] = {2, 3, 5, 6};
    const size_t b_dims[1] = {3}, b_wrong[1] = {4}, b2_dims[2] = {1, 3};
    const size_t y_wrong[4] = {2, 3, 5, 5}, w_wrong[4] = {3, 3, 3, 3}, x3_dims[3] = {4, 5, 6};
    clcnn_tensor *x = make_tensor(ctx, 4, x_dims, NULL), *w = make_tensor(ctx, 4, w_dims, NULL);
    clcnn_tensor *y = make_tensor(ctx, 4, y_dims, NULL), *b = make_tensor(ctx, 1, b_dims, NULL);
    clcnn_tensor *dx = make_tensor(ctx, 4, x_dims, NULL), *dw = make_tensor(ctx, 4, w_dims, NULL);
    clcnn_tensor *bw = make_tensor(ctx, 1, b_wrong, NULL), *b2 = make_tensor(ctx, 2, b2_dims, NULL);
    clcnn_tensor *yw = make_tensor(ctx, 4, y_wrong, NULL), *ww = make_tensor(ctx, 4, w_wrong, NULL);
    clcnn_tensor *x3 = make_tensor(ctx, 3, x3_dims, NULL);
    if (f->other == NULL)
        f->other = ts_context_create();
    clcnn_context *other = f->other;
    clcnn_tensor *xo = make_tensor(other, 4, x_dims, NULL),
                 *wo = make_tensor(other, 4, w_dims, NULL);
    clcnn_tensor *yo = make_tensor(other, 4, y_dims, NULL),
                 *bo = make_tensor(other, 1, b_dims, NULL);
    clcnn_conv2d_params p = clcnn_conv2d_params_default();
    p.pad_h = p.pad_w = 1;
    const clcnn_grad_mode over = CLCNN_GRAD_OVERWRITE;

    /* The valid calls succeed. */
    TS_ASSERT_OK(ctx, clcnn_conv2d_forward(ctx, &p, x, w, b, y));
    TS_ASSERT_OK(ctx, clcnn_conv2d_backward_data(ctx, &p, y, w, dx, over));
    TS_ASSERT_OK(ctx, clcnn_conv2d_backward_weights(ctx, &p, x, y, dw, b, over));

    /* NULL. */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_forward(NULL, &p, x, w, b, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_forward(ctx, NULL, x, w, b, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_forward(ctx, &p, NULL, w, b, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_forward(ctx, &p, x, NULL, b, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_forward(ctx, &p, x, w, b, NULL));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_backward_data(NULL, &p, y, w, dx, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_backward_data(ctx, NULL, y, w, dx, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_backward_data(ctx, &p, NULL, w, dx, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_backward_data(ctx, &p, y, NULL, dx, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_backward_data(ctx, &p, y, w, NULL, over));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_backward_weights(NULL, &p, x, y, dw, b, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_backward_weights(ctx, NULL, x, y, dw, b, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_backward_weights(ctx, &p, NULL, y, dw, b, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_backward_weights(ctx, &p, x, NULL, dw, b, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_backward_weights(ctx, &p, x, y, NULL, b, over));

    /* Mismatched shapes, with the shapes in the message. */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_forward(ctx, &p, x, ww, NULL, y)); /* C 4 vs w's 3 */
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[3, 3, 3, 3]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_forward(ctx, &p, x, w, NULL, yw)); /* y of the wrong shape */
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[2, 3, 5, 5]");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[2, 3, 5, 6]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_forward(ctx, &p, x, w, bw, y)); /* bias of 4 for K 3 */
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[4]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_conv2d_forward(ctx, &p, x, w, b2, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_conv2d_forward(ctx, &p, x3, w, b, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_backward_data(ctx, &p, yw, w, dx, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_backward_data(ctx, &p, y, ww, dx, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_backward_weights(ctx, &p, x, yw, dw, b, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_backward_weights(ctx, &p, x, y, ww, b, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_backward_weights(ctx, &p, x, y, dw, bw, over));

    /* Bad parameter values. */
    clcnn_conv2d_params q = p;
    q.stride_h = 0;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_conv2d_forward(ctx, &q, x, w, b, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_backward_data(ctx, &q, y, w, dx, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_backward_weights(ctx, &q, x, y, dw, b, over));
    q = p;
    q.dilation_w = 0;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_conv2d_forward(ctx, &q, x, w, b, y));
    q = p;
    q.groups = 0;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_conv2d_forward(ctx, &q, x, w, b, y));
    q = p;
    q.groups = 3; /* divides K 3, not C 4 */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_conv2d_forward(ctx, &q, x, w, b, y));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "groups");
    q.groups = 2; /* divides C 4, not K 3 */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_backward_weights(ctx, &q, x, y, dw, b, over));
    q = p;
    q.pad_h = 3; /* a 3x3 kernel allows at most 2 */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_conv2d_forward(ctx, &q, x, w, b, y));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "padding");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_backward_data(ctx, &q, y, w, dx, over));
    q = p;
    q.algorithm = -1;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_conv2d_forward(ctx, &q, x, w, b, y));
    q = p;
    q.stride_h = 2, q.stride_w = 3;
    q.algorithm = CLCNN_CONV2D_ALGO_DIRECT; /* column stride 1 or 2 only */
    const size_t y2_dims[4] = {2, 3, 3, 2};
    clcnn_tensor *y2 = make_tensor(ctx, 4, y2_dims, NULL);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_UNSUPPORTED, clcnn_conv2d_forward(ctx, &q, x, w, b, y2));
    q.algorithm = CLCNN_CONV2D_ALGO_AUTO;
    TS_ASSERT_OK(ctx, clcnn_conv2d_forward(ctx, &q, x, w, b, y2));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_backward_data(ctx, &p, y, w, dx, (clcnn_grad_mode)7));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_backward_weights(ctx, &p, x, y, dw, b, (clcnn_grad_mode)-1));

    /* An output that shares memory with an input. */
    clcnn_tensor *x_as_y = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_reshape(x, 4, (const size_t[4]){2, 4, 5, 6}, &x_as_y));
    const size_t same_dims[4] = {2, 4, 5, 6}, w_same[4] = {4, 4, 3, 3};
    clcnn_tensor *ws = make_tensor(ctx, 4, w_same, NULL),
                 *xs = make_tensor(ctx, 4, same_dims, NULL);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_forward(ctx, &p, x, ws, NULL, x_as_y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_backward_data(ctx, &p, x, ws, x_as_y, over));
    TS_ASSERT_OK(ctx, clcnn_conv2d_forward(ctx, &p, x, ws, NULL, xs));

    /* A padded size past the kernels' 32-bit indices (shape rules allow it:
     * pad 2^31 <= dilation 2^31 x (3 - 1), output 1 x 1). */
    const size_t one[4] = {1, 1, 1, 1}, w_tall[4] = {1, 1, 3, 1};
    clcnn_tensor *x1 = make_tensor(ctx, 4, one, NULL), *y1 = make_tensor(ctx, 4, one, NULL);
    clcnn_tensor *w1 = make_tensor(ctx, 4, w_tall, NULL);
    q = clcnn_conv2d_params_default();
    q.dilation_h = q.pad_h = (size_t)1 << 31;
    size_t shape[4];
    TS_ASSERT_OK(ctx, clcnn_conv2d_output_shape(&q, one, w_tall, shape));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                     clcnn_conv2d_forward(ctx, &q, x1, w1, NULL, y1));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                     clcnn_conv2d_backward_data(ctx, &q, y1, w1, x1, over));
    clcnn_tensor_destroy(x1), clcnn_tensor_destroy(y1), clcnn_tensor_destroy(w1);

    /* Tensors from another context. */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_conv2d_forward(ctx, &p, xo, w, b, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_conv2d_forward(ctx, &p, x, wo, b, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_conv2d_forward(ctx, &p, x, w, bo, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH, clcnn_conv2d_forward(ctx, &p, x, w, b, yo));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_conv2d_backward_data(ctx, &p, yo, w, dx, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_conv2d_backward_data(ctx, &p, y, w, xo, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_conv2d_backward_weights(ctx, &p, xo, y, dw, b, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_conv2d_backward_weights(ctx, &p, x, y, wo, b, over));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_conv2d_backward_weights(ctx, &p, x, y, dw, bo, over));
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));

    clcnn_tensor *all[] = {x, w, y, b, dx, dw, bw, b2, yw, ww, x3, y2, x_as_y, ws, xs};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clcnn_tensor_destroy(all[i]);
    clcnn_tensor_destroy(xo), clcnn_tensor_destroy(wo), clcnn_tensor_destroy(yo);
    clcnn_tensor_destroy(bo);
}

/* ------------------------------------------------------- fused epilogue */

/* The forward with an epilogue (scale and shift of mixed signs, each
 * present or not, ReLU or none, 2x2 max pool or none) against the double
 * reference conv + affine + ReLU + pool, on the small cases with every
 * algorithm that accepts them. The tolerance scales as the convolution's:
 * 2e-5 * (S * |scale| + |shift|), S the sum of |terms| of the conv (a ReLU
 * only shrinks errors; a pooled element takes its window's largest). */
static void run_fused_case(clcnn_context *ctx, const conv_case *cc, int algorithm, int variant,
                           int pool) {
    fresh_buffers(ctx);
    conv2d_ref_shape s = ref_shape(cc);
    size_t xn = conv2d_ref_x_count(&s), wn = conv2d_ref_w_count(&s), yn = conv2d_ref_y_count(&s);
    size_t x_dims[4] = {s.n, s.c, s.h, s.w}, w_dims[4] = {s.k, s.c / s.groups, s.kh, s.kw};
    size_t y_dims[4] = {s.n, s.k, pool ? s.ho / 2 : s.ho, pool ? s.wo / 2 : s.wo};
    size_t k_dims[1] = {s.k};
    clcnn_conv2d_params p = case_params(cc, algorithm);
    int has_scale = variant != 1, has_shift = variant != 2, relu = variant != 3;
    float *x = random_floats(xn, 21), *w = random_floats(wn, 22), *b = random_floats(s.k, 23);
    float *scale = random_floats(s.k, 24), *shift = random_floats(s.k, 25);
    for (size_t k = 0; k < s.k; k++)
        scale[k] *= 2.0f; /* magnitudes up to 2, both signs */
    double *xd = to_double(x, xn, 0), *wd = to_double(w, wn, 0), *bd = to_double(b, s.k, 0);
    double *xa = to_double(x, xn, 1), *wa = to_double(w, wn, 1), *ba = to_double(b, s.k, 1);
    double *ref = ts_malloc(yn * sizeof *ref), *mag = ts_malloc(yn * sizeof *mag);
    conv2d_ref_forward(&s, xd, wd, cc->bias ? bd : NULL, ref);
    conv2d_ref_forward(&s, xa, wa, cc->bias ? ba : NULL, mag);
    size_t plane = s.ho * s.wo;
    for (size_t i = 0; i < yn; i++) {
        size_t k = (i / plane) % s.k;
        double sc = has_scale ? (double)scale[k] : 1.0, sh = has_shift ? (double)shift[k] : 0.0;
        ref[i] = ref[i] * sc + sh;
        if (relu && ref[i] < 0.0)
            ref[i] = 0.0;
        mag[i] = mag[i] * fabs(sc) + fabs(sh);
    }
    size_t out_count = yn;
    if (pool) { /* 2x2, stride 2, floor: in place over the first elements */
        size_t ph = s.ho / 2, pw = s.wo / 2, at = 0;
        for (size_t plane_index = 0; plane_index < s.n * s.k; plane_index++)
            for (size_t i = 0; i < ph; i++)
                for (size_t j = 0; j < pw; j++, at++) {
                    double best = -INFINITY, size = 0.0;
                    for (size_t u = 0; u < 2; u++)
                        for (size_t v = 0; v < 2; v++) {
                            size_t from = plane_index * plane + (2 * i + u) * s.wo + 2 * j + v;
                            best = fmax(best, ref[from]);
                            size = fmax(size, mag[from]);
                        }
                    ref[at] = best;
                    mag[at] = size;
                }
        out_count = at;
    }
    clcnn_tensor *xt = make_tensor(ctx, 4, x_dims, x), *wt = make_tensor(ctx, 4, w_dims, w);
    clcnn_tensor *bt = make_tensor(ctx, 1, k_dims, b), *yt = make_tensor(ctx, 4, y_dims, NULL);
    clcnn_tensor *st = make_tensor(ctx, 1, k_dims, scale), *tt = make_tensor(ctx, 1, k_dims, shift);
    clcnn_conv2d_epilogue e = clcnn_conv2d_epilogue_default();
    e.scale = has_scale ? st : NULL;
    e.shift = has_shift ? tt : NULL;
    e.activation = relu ? CLCNN_CONV2D_ACTIVATION_RELU : CLCNN_CONV2D_ACTIVATION_NONE;
    e.max_pool = pool;
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(yt, 123.0f));
    TS_ASSERT_OK(ctx, clcnn_conv2d_forward_fused(ctx, &p, xt, wt, cc->bias ? bt : NULL, &e, yt));
    float *got = read_tensor(yt);
    assert_int_equal(clcnn_tensor_numel(yt), out_count);
    check_close(pool ? "forward_fused (pooled)" : "forward_fused", cc->name, algorithm, got, NULL,
                ref, mag, out_count);
    if (relu)
        for (size_t i = 0; i < out_count; i++)
            assert_true(got[i] >= 0.0f);
    free(got);
    clcnn_tensor_destroy(xt), clcnn_tensor_destroy(wt), clcnn_tensor_destroy(bt);
    clcnn_tensor_destroy(yt), clcnn_tensor_destroy(st), clcnn_tensor_destroy(tt);
    free(x), free(w), free(b), free(scale), free(shift);
    free(xd), free(wd), free(bd), free(xa), free(wa), free(ba), free(ref), free(mag);
}

static void test_fused_epilogue(void **state) {
    fixture *f = *state;
    const int algorithms[] = {CLCNN_CONV2D_ALGO_GENERAL, CLCNN_CONV2D_ALGO_DIRECT,
                              CLCNN_CONV2D_ALGO_TILED, CLCNN_CONV2D_ALGO_AUTO};
    size_t run = 0;
    for (size_t a = 0; a < 4; a++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            if (cases[i].large || !algorithm_accepts(algorithms[a], &cases[i]))
                continue;
            /* Four variants (all, no scale, no shift, no ReLU) spread over
             * the cases, each with and without the pool where the output
             * has 2 x 2; under CLCNN_TEST_SMALL every third case. */
            conv2d_ref_shape s = ref_shape(&cases[i]);
            if (!f->small || i % 3 == 0) {
                run_fused_case(f->ctx, &cases[i], algorithms[a], (int)((i + a) % 4), 0);
                if (s.ho >= 2 && s.wo >= 2)
                    run_fused_case(f->ctx, &cases[i], algorithms[a], (int)((i + a + 1) % 4), 1);
            }
            run++;
        }
    assert_true(run > 0);
}

/* A ReLU-only epilogue gives the bits of the forward followed by
 * clcnn_activation_forward's ReLU (the same value before the ReLU, the
 * same select), and with the pool those followed by clcnn_pool2d_forward's
 * 2x2 max pool (the same scan), on each algorithm and on odd sizes. */
static void check_fused_bitwise(clcnn_context *ctx, const conv_case *cc) {
    fresh_buffers(ctx);
    conv2d_ref_shape s = ref_shape(cc);
    size_t xn = conv2d_ref_x_count(&s), wn = conv2d_ref_w_count(&s), yn = conv2d_ref_y_count(&s);
    size_t x_dims[4] = {s.n, s.c, s.h, s.w}, w_dims[4] = {s.k, s.c / s.groups, s.kh, s.kw};
    size_t y_dims[4] = {s.n, s.k, s.ho, s.wo}, k_dims[1] = {s.k};
    float *x = random_floats(xn, 31), *w = random_floats(wn, 32), *b = random_floats(s.k, 33);
    clcnn_tensor *xt = make_tensor(ctx, 4, x_dims, x), *wt = make_tensor(ctx, 4, w_dims, w);
    clcnn_tensor *bt = make_tensor(ctx, 1, k_dims, b), *yt = make_tensor(ctx, 4, y_dims, NULL);
    clcnn_tensor *ft = make_tensor(ctx, 4, y_dims, NULL);
    clcnn_activation_params relu = clcnn_activation_params_default();
    clcnn_conv2d_epilogue e = clcnn_conv2d_epilogue_default();
    e.activation = CLCNN_CONV2D_ACTIVATION_RELU;
    const int algorithms[] = {CLCNN_CONV2D_ALGO_GENERAL, CLCNN_CONV2D_ALGO_DIRECT,
                              CLCNN_CONV2D_ALGO_TILED};
    for (size_t a = 0; a < 3; a++) {
        clcnn_conv2d_params p = case_params(cc, algorithms[a]);
        TS_ASSERT_OK(ctx, clcnn_conv2d_forward(ctx, &p, xt, wt, bt, yt));
        TS_ASSERT_OK(ctx, clcnn_activation_forward(ctx, &relu, yt, yt));
        TS_ASSERT_OK(ctx, clcnn_conv2d_forward_fused(ctx, &p, xt, wt, bt, &e, ft));
        float *unfused = read_tensor(yt), *fused = read_tensor(ft);
        size_t zeros = 0;
        for (size_t i = 0; i < yn; i++)
            zeros += unfused[i] == 0.0f;
        assert_true(zeros > 0 && zeros < yn); /* the ReLU did something */
        assert_memory_equal(unfused, fused, yn * sizeof *fused);
        /* Pooled: 7 x 5 gives 3 x 2, the last row and column dropped. */
        assert_true(s.ho >= 2 && s.wo >= 2);
        size_t pooled_dims[4] = {s.n, s.k, s.ho / 2, s.wo / 2};
        clcnn_tensor *pooled = make_tensor(ctx, 4, pooled_dims, NULL);
        clcnn_tensor *fused_pooled = make_tensor(ctx, 4, pooled_dims, NULL);
        clcnn_pool2d_params pp = clcnn_pool2d_params_default();
        TS_ASSERT_OK(ctx, clcnn_pool2d_forward(ctx, &pp, yt, pooled));
        e.max_pool = 1;
        TS_ASSERT_OK(ctx, clcnn_conv2d_forward_fused(ctx, &p, xt, wt, bt, &e, fused_pooled));
        e.max_pool = 0;
        float *a_pool = read_tensor(pooled), *b_pool = read_tensor(fused_pooled);
        assert_memory_equal(a_pool, b_pool, clcnn_tensor_numel(pooled) * sizeof *a_pool);
        free(a_pool), free(b_pool);
        clcnn_tensor_destroy(pooled), clcnn_tensor_destroy(fused_pooled);
        free(unfused), free(fused);
    }
    clcnn_tensor_destroy(xt), clcnn_tensor_destroy(wt), clcnn_tensor_destroy(bt);
    clcnn_tensor_destroy(yt), clcnn_tensor_destroy(ft);
    free(x), free(w), free(b);
}

static void test_fused_relu_bitwise(void **state) {
    fixture *f = *state;
    /* 7 x 5 (partial vectors only) and 6 x 32 (whole vectors of pooled
     * columns on every vector width). */
    static const conv_case wide = {"wide_pool", 2, 3, 6, 32, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0};
    check_fused_bitwise(f->ctx, &cases[0]);
    check_fused_bitwise(f->ctx, &wide);
}

/* Every bad epilogue argument with its exact status; the default epilogue
 * (and NULL) is the plain forward. */
static void test_fused_bad_arguments(void **state) {
    fixture *f = *state;
    clcnn_context *ctx = f->ctx;
    fresh_buffers(ctx);
    const size_t x_dims[4] = {1, 2, 1, 1}, w_dims[4] = {3, 2, 1, 1}, y_dims[4] = {1, 3, 1, 1};
    const size_t k_dims[1] = {3}, k_wrong[1] = {4}, k2_dims[2] = {1, 3};
    const float xv[2] = {1.0f, -2.0f}, wv[6] = {1, 2, 3, 4, 5, 6}, bv[3] = {0.5f, 0.25f, -1.0f};
    clcnn_tensor *x = make_tensor(ctx, 4, x_dims, xv), *w = make_tensor(ctx, 4, w_dims, wv);
    clcnn_tensor *b = make_tensor(ctx, 1, k_dims, bv), *y = make_tensor(ctx, 4, y_dims, NULL);
    clcnn_tensor *scale = make_tensor(ctx, 1, k_dims, bv), *shift = make_tensor(ctx, 1, k_dims, bv);
    clcnn_tensor *wrong = make_tensor(ctx, 1, k_wrong, NULL);
    clcnn_tensor *two_d = make_tensor(ctx, 2, k2_dims, NULL);
    clcnn_tensor *y_view = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_reshape(y, 1, k_dims, &y_view));
    if (f->other == NULL)
        f->other = ts_context_create();
    clcnn_tensor *foreign = make_tensor(f->other, 1, k_dims, NULL);
    clcnn_conv2d_params p = clcnn_conv2d_params_default();

    /* Valid: NULL and the default are the plain forward, exactly. */
    clcnn_conv2d_epilogue e = clcnn_conv2d_epilogue_default();
    assert_null(e.scale);
    assert_null(e.shift);
    assert_int_equal(e.activation, CLCNN_CONV2D_ACTIVATION_NONE);
    float plain[3], got[3];
    TS_ASSERT_OK(ctx, clcnn_conv2d_forward(ctx, &p, x, w, b, y));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(y, 0, plain, 3));
    assert_true(plain[0] == 1.0f - 4.0f + 0.5f && plain[1] == 3.0f - 8.0f + 0.25f);
    TS_ASSERT_OK(ctx, clcnn_conv2d_forward_fused(ctx, &p, x, w, b, NULL, y));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(y, 0, got, 3));
    assert_memory_equal(plain, got, sizeof got);
    TS_ASSERT_OK(ctx, clcnn_conv2d_forward_fused(ctx, &p, x, w, b, &e, y));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(y, 0, got, 3));
    assert_memory_equal(plain, got, sizeof got);
    /* y = relu((conv + b) * scale + shift) by hand: -2.5 * 0.5 + 0.5 = -0.75 -> 0,
     * -4.75 * 0.25 + 0.25 = -0.9375 -> 0, (5 - 12 - 1) * -1 - 1 = 7. */
    e.scale = scale, e.shift = shift, e.activation = CLCNN_CONV2D_ACTIVATION_RELU;
    TS_ASSERT_OK(ctx, clcnn_conv2d_forward_fused(ctx, &p, x, w, b, &e, y));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(y, 0, got, 3));
    assert_true(got[0] == 0.0f && got[1] == 0.0f && got[2] == 7.0f);

    /* NULL context, params, operands. */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_forward_fused(NULL, &p, x, w, b, &e, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_forward_fused(ctx, NULL, x, w, b, &e, y));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_forward_fused(ctx, &p, x, w, b, &e, NULL));
    /* Unknown activation. */
    e.activation = 2;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_forward_fused(ctx, &p, x, w, b, &e, y));
    e.activation = -1;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_forward_fused(ctx, &p, x, w, b, &e, y));
    e.activation = CLCNN_CONV2D_ACTIVATION_RELU;
    /* Wrong shapes. */
    e.scale = wrong;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_forward_fused(ctx, &p, x, w, b, &e, y));
    e.scale = two_d;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_forward_fused(ctx, &p, x, w, b, &e, y));
    e.scale = scale, e.shift = wrong;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_forward_fused(ctx, &p, x, w, b, &e, y));
    /* Another context. */
    e.shift = foreign;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_conv2d_forward_fused(ctx, &p, x, w, b, &e, y));
    e.shift = shift, e.scale = foreign;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_conv2d_forward_fused(ctx, &p, x, w, b, &e, y));
    /* y sharing memory with scale or shift. */
    e.scale = y_view;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_forward_fused(ctx, &p, x, w, b, &e, y));
    e.scale = scale, e.shift = y_view;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_forward_fused(ctx, &p, x, w, b, &e, y));
    /* Pooling: y must be the pooled shape, and the output at least 2 x 2
     * (here it is 1 x 1). */
    e.max_pool = 1;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_forward_fused(ctx, &p, x, w, b, &e, y));
    e.max_pool = 0;
    /* The forward's own rules still hold (a column stride DIRECT rejects). */
    e.shift = shift;
    p.stride_w = 3, p.algorithm = CLCNN_CONV2D_ALGO_DIRECT;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_UNSUPPORTED,
                     clcnn_conv2d_forward_fused(ctx, &p, x, w, b, &e, y));
    /* A 5 x 4 convolution pools to 2 x 2: y of 5 x 4 or 3 x 2 is refused,
     * 2 x 2 accepted. */
    const size_t x54[4] = {1, 2, 5, 4}, y22[4] = {1, 3, 2, 2}, y32[4] = {1, 3, 3, 2};
    const size_t y54[4] = {1, 3, 5, 4};
    clcnn_tensor *xb = make_tensor(ctx, 4, x54, NULL), *p22 = make_tensor(ctx, 4, y22, NULL);
    clcnn_tensor *p32 = make_tensor(ctx, 4, y32, NULL), *p54 = make_tensor(ctx, 4, y54, NULL);
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(xb, 1.0f));
    p = clcnn_conv2d_params_default();
    e.max_pool = 1;
    TS_ASSERT_OK(ctx, clcnn_conv2d_forward_fused(ctx, &p, xb, w, b, &e, p22));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_forward_fused(ctx, &p, xb, w, b, &e, p32));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_conv2d_forward_fused(ctx, &p, xb, w, b, &e, p54));
    float pooled_got[12];
    TS_ASSERT_OK(ctx, clcnn_tensor_read(p22, 0, pooled_got, 12));
    /* Every window holds relu((3 + 0.5) * 0.5 + 0.5) = 2.25, relu((7 + 0.25)
     * * 0.25 + 0.25) = 2.0625 and relu((11 - 1) * -1 - 1) = 0. */
    for (size_t i = 0; i < 12; i++)
        assert_true(pooled_got[i] == (i < 4 ? 2.25f : i < 8 ? 2.0625f : 0.0f));
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
    clcnn_tensor_destroy(xb), clcnn_tensor_destroy(p22), clcnn_tensor_destroy(p32);
    clcnn_tensor_destroy(p54);
    clcnn_tensor *all[] = {x, w, b, y, scale, shift, wrong, two_d, y_view, foreign};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clcnn_tensor_destroy(all[i]);
}

/* An optional argument selects tests by name pattern (cmocka's filter). */
/* Views of one buffer: an output may lie beside an input in it, not over
 * part of it (1 x 1 convolution of two channels of A rows into one). */
static void test_views_of_one_buffer(void **state) {
    clcnn_context *ctx = ((fixture *)*state)->ctx;
    size_t align_bytes = 0;
    TS_ASSERT_OK(ctx, clcnn__view_alignment(ctx, &align_bytes));
    const size_t rows = align_bytes / sizeof(float), root_count = 4 * rows;
    const size_t x_dims[4] = {1, 2, rows, 1}, w_dims[4] = {1, 2, 1, 1}, y_dims[4] = {1, 1, rows, 1};
    clcnn_tensor *root = make_tensor(ctx, 1, &root_count, NULL);
    clcnn_tensor *w = make_tensor(ctx, 4, w_dims, (const float[2]){1.0f, 2.0f});
    clcnn_tensor *x = NULL, *beside = NULL, *over = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(root, 1.0f));
    TS_ASSERT_OK(ctx, clcnn__storage_view(root->storage, 0, 4, x_dims, &x));
    TS_ASSERT_OK(ctx, clcnn__storage_view(root->storage, 2 * rows, 4, y_dims, &beside));
    TS_ASSERT_OK(ctx, clcnn__storage_view(root->storage, rows, 4, y_dims, &over));
    clcnn_conv2d_params p = clcnn_conv2d_params_default();
    TS_ASSERT_OK(ctx, clcnn_conv2d_forward(ctx, &p, x, w, NULL, beside));
    float *got = ts_tensor_read_all(beside);
    for (size_t i = 0; i < rows; i++)
        assert_true(got[i] == 3.0f);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_forward(ctx, &p, x, w, NULL, over));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "shares memory with x");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_conv2d_backward_data(ctx, &p, over, w, x, CLCNN_GRAD_OVERWRITE));
    free(got);
    clcnn_tensor_destroy(over), clcnn_tensor_destroy(beside), clcnn_tensor_destroy(x);
    clcnn_tensor_destroy(w), clcnn_tensor_destroy(root);
}

int main(int argc, char **argv) {
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_shape),
        cmocka_unit_test(test_reference_gradients),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_general),
        cmocka_unit_test(test_direct),
        cmocka_unit_test(test_tiled),
        cmocka_unit_test(test_auto),
        cmocka_unit_test(test_deterministic_and_pooled),
        cmocka_unit_test(test_fused_epilogue),
        cmocka_unit_test(test_fused_relu_bitwise),
        cmocka_unit_test(test_fused_bad_arguments),
        cmocka_unit_test(test_views_of_one_buffer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
