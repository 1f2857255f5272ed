/* clcnn-bench operator benchmarks (docs/benchmarks.md): GEMM 1024^3, the
 * convolution shapes (three stride-1 ones, ResNet-8's stride-2 3x3 and 1x1,
 * a depthwise one) in each pass, batch-norm training forward +
 * backward and dropout forward + backward, each through the public op
 * calls on the session's profiling context. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "clcnn/batchnorm.h"
#include "clcnn/conv2d.h"
#include "clcnn/dropout.h"
#include "clcnn/gemm.h"

#define MAX_TENSORS 12
#define GEMM_SIZE 1024
#define DROPOUT_P 0.5f
#define DATA_SEED 12345u

/* Tensors of one benchmark, destroyed together. */
typedef struct tensor_set {
    clcnn_context *ctx;
    clcnn_tensor *items[MAX_TENSORS];
    size_t count;
} tensor_set;

static void tensor_set_free(tensor_set *set) {
    for (size_t i = 0; i < set->count; i++)
        clcnn_tensor_destroy(set->items[i]);
    set->count = 0;
    clcnn_context_trim_pool(set->ctx);
}

/* Pseudo-random values in [-1, 1): fixed data, so every run does the same
 * work (no zeros or denormals that a device could take a shortcut on). */
static int fill_random(tensor_set *set, clcnn_tensor *tensor, unsigned seed) {
    size_t count = clcnn_tensor_numel(tensor);
    float *host = malloc(count * sizeof *host);
    if (host == NULL)
        return bench_fail_message("filling a tensor", CLCNN_ERROR_OUT_OF_HOST_MEMORY, NULL);
    uint32_t state = seed * 2654435761u + 1u;
    for (size_t i = 0; i < count; i++) {
        state = state * 1664525u + 1013904223u;
        host[i] = (float)(state >> 8) / (float)(1u << 23) - 1.0f;
    }
    clcnn_status status = clcnn_tensor_write(tensor, 0, host, count);
    free(host);
    return status == CLCNN_OK ? 0 : bench_fail("writing a tensor", status, set->ctx);
}

/* A new tensor of that shape in the set, random (seed != 0) or zero. */
static int add_tensor(tensor_set *set, size_t ndim, const size_t *dims, unsigned seed,
                      clcnn_tensor **out) {
    *out = NULL;
    if (set->count == MAX_TENSORS)
        return bench_fail_message("creating a tensor", CLCNN_ERROR_INVALID_ARGUMENT, "too many");
    clcnn_status status = clcnn_tensor_create(set->ctx, ndim, dims, out);
    if (status != CLCNN_OK)
        return bench_fail("creating a tensor", status, set->ctx);
    set->items[set->count++] = *out;
    return seed != 0 ? fill_random(set, *out, seed) : 0;
}

static int op_failed(const char *name, clcnn_status status, clcnn_context *ctx) {
    return status == CLCNN_OK ? 0 : bench_fail(name, status, ctx);
}

/* Times `run` on the session's profiling context. */
static int time_op(bench_session *s, const char *name, clcnn_context *ctx, bench_region_fn run,
                   void *state, bench_timing *timing) {
    bench_region region = {name, ctx, run, state};
    return bench_time_region(s, &region, timing);
}

/* -------------------------------------------------------------------- GEMM */

typedef struct gemm_state {
    clcnn_context *ctx;
    clcnn_tensor *a, *b, *c;
} gemm_state;

static int gemm_run(void *p) {
    gemm_state *g = p;
    return op_failed("gemm_1024", clcnn_gemm(g->ctx, 0, 0, 1.0f, g->a, g->b, 0.0f, g->c), g->ctx);
}

static int bench_gemm(bench_session *s, const bench_entry *entry, bench_result *result) {
    gemm_state g = {NULL, NULL, NULL, NULL};
    if (bench_session_context(s, 1, &g.ctx) != 0)
        return -1;
    tensor_set set = {g.ctx, {NULL}, 0};
    const size_t dims[2] = {GEMM_SIZE, GEMM_SIZE};
    bench_timing timing;
    int failed = add_tensor(&set, 2, dims, DATA_SEED, &g.a) != 0 ||
                 add_tensor(&set, 2, dims, DATA_SEED + 1, &g.b) != 0 ||
                 add_tensor(&set, 2, dims, 0, &g.c) != 0 ||
                 time_op(s, entry->name, g.ctx, gemm_run, &g, &timing) != 0;
    tensor_set_free(&set);
    if (failed)
        return -1;
    double flops = 2.0 * GEMM_SIZE * GEMM_SIZE * GEMM_SIZE;
    bench_result_from_timing(result, entry->name, "gflops", &timing);
    result->value = flops / (timing.ms * 1e6);
    bench_result_text(result, "shape", "M=N=K=1024, no transposes, beta 0");
    return 0;
}

/* ------------------------------------------------------------- convolution */

typedef enum conv_pass { CONV_FORWARD, CONV_BACKWARD_DATA, CONV_BACKWARD_WEIGHTS } conv_pass;

/* A kernel x kernel convolution of [n, c, h, w] into k channels with
 * stride, padding and groups. */
typedef struct conv_case {
    size_t n, c, k, h, w, kernel, stride, pad, groups;
    conv_pass pass;
    const char *shape; /* for the report */
} conv_case;

#define CONV_A 64, 64, 64, 32, 32, 3, 1, 1, 1
#define CONV_B 32, 128, 128, 16, 16, 3, 1, 1, 1
#define CONV_C 128, 32, 64, 14, 14, 3, 1, 1, 1
/* ResNet-8's stride-2 convolution (layer2.0 conv1) and downsample
 * (layer3.0), and a depthwise convolution (groups = channels). */
#define CONV_S2 128, 32, 64, 28, 28, 3, 2, 1, 1
#define CONV_1X1S2 128, 64, 128, 14, 14, 1, 2, 0, 1
#define CONV_DW 128, 64, 64, 28, 28, 3, 1, 1, 64
#define CONV_A_TEXT "N=64 C=64 K=64 32x32 3x3 pad 1"
#define CONV_B_TEXT "N=32 C=128 K=128 16x16 3x3 pad 1"
#define CONV_C_TEXT "N=128 C=32 K=64 14x14 3x3 pad 1"
#define CONV_S2_TEXT "N=128 C=32 K=64 28x28 3x3 stride 2 pad 1"
#define CONV_1X1S2_TEXT "N=128 C=64 K=128 14x14 1x1 stride 2"
#define CONV_DW_TEXT "N=128 C=64 K=64 28x28 3x3 pad 1 groups 64"

static const conv_case conv_cases[] = {
    {CONV_A, CONV_FORWARD, CONV_A_TEXT},
    {CONV_A, CONV_BACKWARD_DATA, CONV_A_TEXT},
    {CONV_A, CONV_BACKWARD_WEIGHTS, CONV_A_TEXT},
    {CONV_B, CONV_FORWARD, CONV_B_TEXT},
    {CONV_B, CONV_BACKWARD_DATA, CONV_B_TEXT},
    {CONV_B, CONV_BACKWARD_WEIGHTS, CONV_B_TEXT},
    {CONV_C, CONV_FORWARD, CONV_C_TEXT},
    {CONV_C, CONV_BACKWARD_DATA, CONV_C_TEXT},
    {CONV_C, CONV_BACKWARD_WEIGHTS, CONV_C_TEXT},
    {CONV_S2, CONV_FORWARD, CONV_S2_TEXT},
    {CONV_S2, CONV_BACKWARD_DATA, CONV_S2_TEXT},
    {CONV_S2, CONV_BACKWARD_WEIGHTS, CONV_S2_TEXT},
    {CONV_1X1S2, CONV_FORWARD, CONV_1X1S2_TEXT},
    {CONV_1X1S2, CONV_BACKWARD_DATA, CONV_1X1S2_TEXT},
    {CONV_1X1S2, CONV_BACKWARD_WEIGHTS, CONV_1X1S2_TEXT},
    {CONV_DW, CONV_FORWARD, CONV_DW_TEXT},
    {CONV_DW, CONV_BACKWARD_DATA, CONV_DW_TEXT},
    {CONV_DW, CONV_BACKWARD_WEIGHTS, CONV_DW_TEXT},
};

typedef struct conv_state {
    const char *name;
    clcnn_context *ctx;
    clcnn_conv2d_params params;
    conv_pass pass;
    clcnn_tensor *x, *w, *y; /* y holds dy in the backward passes */
} conv_state;

/* Forward without bias; the weights pass without db; gradients
 * overwritten: the convolution alone, as the GFLOP count assumes. */
static int conv_run(void *p) {
    conv_state *c = p;
    clcnn_status status = CLCNN_OK;
    switch (c->pass) {
    case CONV_FORWARD:
        status = clcnn_conv2d_forward(c->ctx, &c->params, c->x, c->w, NULL, c->y);
        break;
    case CONV_BACKWARD_DATA:
        status =
            clcnn_conv2d_backward_data(c->ctx, &c->params, c->y, c->w, c->x, CLCNN_GRAD_OVERWRITE);
        break;
    case CONV_BACKWARD_WEIGHTS:
        status = clcnn_conv2d_backward_weights(c->ctx, &c->params, c->x, c->y, c->w, NULL,
                                               CLCNN_GRAD_OVERWRITE);
        break;
    }
    return op_failed(c->name, status, c->ctx);
}

/* x (dx), w (dw) and y (dy): the inputs of the pass random, its output
 * zero. */
static size_t conv_out(const conv_case *cc, size_t size) {
    return (size + 2 * cc->pad - cc->kernel) / cc->stride + 1;
}

static int conv_tensors(tensor_set *set, const conv_case *cc, conv_state *c) {
    const size_t x_dims[4] = {cc->n, cc->c, cc->h, cc->w};
    const size_t w_dims[4] = {cc->k, cc->c / cc->groups, cc->kernel, cc->kernel};
    const size_t y_dims[4] = {cc->n, cc->k, conv_out(cc, cc->h), conv_out(cc, cc->w)};
    unsigned x_seed = cc->pass == CONV_BACKWARD_DATA ? 0 : DATA_SEED;
    unsigned w_seed = cc->pass == CONV_BACKWARD_WEIGHTS ? 0 : DATA_SEED + 1;
    unsigned y_seed = cc->pass == CONV_FORWARD ? 0 : DATA_SEED + 2;
    if (add_tensor(set, 4, x_dims, x_seed, &c->x) != 0 ||
        add_tensor(set, 4, w_dims, w_seed, &c->w) != 0 ||
        add_tensor(set, 4, y_dims, y_seed, &c->y) != 0)
        return -1;
    return 0;
}

static int bench_conv(bench_session *s, const bench_entry *entry, bench_result *result) {
    const conv_case *cc = entry->param;
    conv_state c = {entry->name, NULL, clcnn_conv2d_params_default(), cc->pass, NULL, NULL, NULL};
    c.params.pad_h = c.params.pad_w = cc->pad;
    c.params.stride_h = c.params.stride_w = cc->stride;
    c.params.groups = cc->groups;
    if (bench_session_context(s, 1, &c.ctx) != 0)
        return -1;
    tensor_set set = {c.ctx, {NULL}, 0};
    bench_timing timing;
    int failed = conv_tensors(&set, cc, &c) != 0 ||
                 time_op(s, entry->name, c.ctx, conv_run, &c, &timing) != 0;
    tensor_set_free(&set);
    if (failed)
        return -1;
    double flops = 2.0 * (double)cc->n * (double)cc->k * (double)conv_out(cc, cc->h) *
                   (double)conv_out(cc, cc->w) * (double)(cc->c / cc->groups) *
                   (double)(cc->kernel * cc->kernel);
    bench_result_from_timing(result, entry->name, "gflops", &timing);
    result->value = flops / (timing.ms * 1e6);
    bench_result_text(result, "shape", cc->shape);
    return 0;
}

/* ---------------------------------------------------- bandwidth-bound ops */

#define BW_N 128
#define BW_C 64
#define BW_H 32
#define BW_W 32

/* The headline gbps of a bandwidth-bound op, and its share of the device's
 * `copy` bandwidth measured in the same run. */
static int bandwidth_result(bench_session *s, const char *name, const bench_timing *timing,
                            double bytes, const char *counted, bench_result *result) {
    double copy_gbps = 0.0;
    if (bench_session_copy_gbps(s, &copy_gbps) != 0)
        return -1;
    bench_result_from_timing(result, name, "gbps", timing);
    result->value = bytes / (timing->ms * 1e6);
    bench_result_extra(result, "fraction_of_copy", result->value / copy_gbps);
    bench_result_extra(result, "copy_gbps", copy_gbps);
    bench_result_extra(result, "bytes_counted", bytes);
    bench_result_text(result, "bytes_counted_is", counted);
    return 0;
}

static const size_t bw_dims[4] = {BW_N, BW_C, BW_H, BW_W};

static double activation_bytes(void) {
    return (double)BW_N * BW_C * BW_H * BW_W * sizeof(float);
}

/* -------------------------------------------------------------- batch norm */

typedef struct bn_state {
    clcnn_context *ctx;
    clcnn_batchnorm_state running;
    clcnn_tensor *x, *y, *dy, *dx;
    clcnn_tensor *gamma, *beta, *save_mean, *save_invstd, *dgamma, *dbeta;
} bn_state;

static int bn_run(void *p) {
    bn_state *b = p;
    const clcnn_batchnorm_saved saved = {b->save_mean, b->save_invstd};
    const clcnn_batchnorm_grads grads = {b->dgamma, b->dbeta, CLCNN_GRAD_OVERWRITE};
    clcnn_status status = clcnn_batchnorm_forward_train(b->ctx, NULL, b->x, b->gamma, b->beta,
                                                        &b->running, b->y, &saved);
    if (status == CLCNN_OK)
        status = clcnn_batchnorm_backward(b->ctx, NULL, b->x, NULL, b->dy, b->gamma, &saved, b->dx,
                                          &grads);
    return op_failed("bn_train_fwd_bwd", status, b->ctx);
}

static int bn_tensors(tensor_set *set, bn_state *b) {
    const size_t channels[1] = {BW_C};
    if (add_tensor(set, 4, bw_dims, DATA_SEED, &b->x) != 0 ||
        add_tensor(set, 4, bw_dims, 0, &b->y) != 0 ||
        add_tensor(set, 4, bw_dims, DATA_SEED + 1, &b->dy) != 0 ||
        add_tensor(set, 4, bw_dims, 0, &b->dx) != 0 ||
        add_tensor(set, 1, channels, DATA_SEED + 2, &b->gamma) != 0 ||
        add_tensor(set, 1, channels, DATA_SEED + 3, &b->beta) != 0 ||
        add_tensor(set, 1, channels, 0, &b->save_mean) != 0 ||
        add_tensor(set, 1, channels, 0, &b->save_invstd) != 0 ||
        add_tensor(set, 1, channels, 0, &b->dgamma) != 0 ||
        add_tensor(set, 1, channels, 0, &b->dbeta) != 0)
        return -1;
    clcnn_status status = clcnn_batchnorm_state_init(set->ctx, BW_C, &b->running);
    return op_failed("bn_train_fwd_bwd", status, set->ctx);
}

static int bench_bn(bench_session *s, const bench_entry *entry, bench_result *result) {
    bn_state b = {0};
    if (bench_session_context(s, 1, &b.ctx) != 0)
        return -1;
    tensor_set set = {b.ctx, {NULL}, 0};
    bench_timing timing;
    int failed =
        bn_tensors(&set, &b) != 0 || time_op(s, entry->name, b.ctx, bn_run, &b, &timing) != 0;
    clcnn_batchnorm_state_release(&b.running);
    tensor_set_free(&set);
    if (failed)
        return -1;
    return bandwidth_result(s, entry->name, &timing, 5.0 * activation_bytes(),
                            "forward reads x, writes y; backward reads x, dy, writes dx "
                            "(5 x 32 MiB; per-channel tensors not counted)",
                            result);
}

/* ----------------------------------------------------------------- dropout */

typedef struct dropout_state {
    clcnn_context *ctx;
    clcnn_dropout_state stream;
    clcnn_dropout_mask *mask;
    clcnn_tensor *x, *y, *dy, *dx;
} dropout_state;

static int dropout_run(void *p) {
    dropout_state *d = p;
    clcnn_status status =
        clcnn_dropout_forward(d->ctx, &d->stream, DROPOUT_P, 1, d->x, d->y, d->mask);
    if (status == CLCNN_OK)
        status = clcnn_dropout_backward(d->ctx, d->mask, d->dy, d->dx, CLCNN_GRAD_OVERWRITE);
    return op_failed("dropout_fwd_bwd", status, d->ctx);
}

static const char *strategy_name(clcnn_dropout_mask_strategy strategy) {
    switch (strategy) {
    case CLCNN_DROPOUT_MASK_REGENERATE:
        return "regenerate";
    case CLCNN_DROPOUT_MASK_BITS:
        return "bits";
    case CLCNN_DROPOUT_MASK_AUTO:
        break;
    }
    return "auto";
}

static int dropout_setup(tensor_set *set, dropout_state *d) {
    if (add_tensor(set, 4, bw_dims, DATA_SEED, &d->x) != 0 ||
        add_tensor(set, 4, bw_dims, 0, &d->y) != 0 ||
        add_tensor(set, 4, bw_dims, DATA_SEED + 1, &d->dy) != 0 ||
        add_tensor(set, 4, bw_dims, 0, &d->dx) != 0)
        return -1;
    d->stream = clcnn_dropout_state_init(DATA_SEED);
    clcnn_status status =
        clcnn_dropout_mask_create(set->ctx, clcnn_tensor_numel(d->x), NULL, &d->mask);
    return op_failed("dropout_fwd_bwd", status, set->ctx);
}

static int bench_dropout(bench_session *s, const bench_entry *entry, bench_result *result) {
    dropout_state d = {0};
    if (bench_session_context(s, 1, &d.ctx) != 0)
        return -1;
    tensor_set set = {d.ctx, {NULL}, 0};
    bench_timing timing;
    clcnn_dropout_mask_info info = {0};
    int failed = dropout_setup(&set, &d) != 0 ||
                 time_op(s, entry->name, d.ctx, dropout_run, &d, &timing) != 0 ||
                 op_failed(entry->name, clcnn_dropout_mask_get_info(d.mask, &info), d.ctx) != 0;
    clcnn_dropout_mask_destroy(d.mask);
    tensor_set_free(&set);
    if (failed || bandwidth_result(s, entry->name, &timing, 4.0 * activation_bytes(),
                                   "forward reads x, writes y; backward reads dy, writes dx "
                                   "(4 x 32 MiB; the mask, whatever its strategy, not counted)",
                                   result) != 0)
        return -1;
    bench_result_text(result, "mask_strategy", strategy_name(info.strategy));
    bench_result_extra(result, "vector_width", (double)info.vector_width);
    return 0;
}

/* ------------------------------------------------------------------- table */

const bench_entry bench_op_entries[] = {
    {"gemm_1024", bench_gemm, NULL},
    {"conv_a_fwd", bench_conv, &conv_cases[0]},
    {"conv_a_bwd_data", bench_conv, &conv_cases[1]},
    {"conv_a_bwd_weights", bench_conv, &conv_cases[2]},
    {"conv_b_fwd", bench_conv, &conv_cases[3]},
    {"conv_b_bwd_data", bench_conv, &conv_cases[4]},
    {"conv_b_bwd_weights", bench_conv, &conv_cases[5]},
    {"conv_c_fwd", bench_conv, &conv_cases[6]},
    {"conv_c_bwd_data", bench_conv, &conv_cases[7]},
    {"conv_c_bwd_weights", bench_conv, &conv_cases[8]},
    {"conv_s2_fwd", bench_conv, &conv_cases[9]},
    {"conv_s2_bwd_data", bench_conv, &conv_cases[10]},
    {"conv_s2_bwd_weights", bench_conv, &conv_cases[11]},
    {"conv_1x1s2_fwd", bench_conv, &conv_cases[12]},
    {"conv_1x1s2_bwd_data", bench_conv, &conv_cases[13]},
    {"conv_1x1s2_bwd_weights", bench_conv, &conv_cases[14]},
    {"conv_dw_fwd", bench_conv, &conv_cases[15]},
    {"conv_dw_bwd_data", bench_conv, &conv_cases[16]},
    {"conv_dw_bwd_weights", bench_conv, &conv_cases[17]},
    {"bn_train_fwd_bwd", bench_bn, NULL},
    {"dropout_fwd_bwd", bench_dropout, NULL},
};
const size_t bench_op_entry_count = sizeof bench_op_entries / sizeof bench_op_entries[0];
