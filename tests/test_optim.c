/* Optimizers (SGD, Adam, AdamW) against the double reference in
 * tests/ref/optim_ref.c over several steps with fresh random gradients each
 * step, on tensors of awkward sizes (1, 7, 945, 4099 elements; and 250007
 * without CLCNN_TEST_SMALL) updated together; every kernel width; set_lr;
 * the first-step copy of SGD's momentum buffer; state access and a restore
 * from saved state; no allocation per step; the learning-rate schedules
 * against hand-computed values; and every bad argument with its exact
 * status. */
#include "support/test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn/optim.h"
#include "clcnn/profile.h"
#include "nn/optim_internal.h"
#include "ops/optim_step.h"
#include "ref/optim_ref.h"

/* Element-wise tolerance against the double reference:
 * |got - ref| <= RTOL * |ref| + ATOL_SCALE * max_j |ref_j| per tensor. Float
 * rounding of a few operations per step over 5 steps stays far below it;
 * the scaled absolute part covers elements that cancel to near zero. */
#define RTOL 1e-5
#define ATOL_SCALE 1e-6

#define STEPS 5
#define MAX_TENSORS 5

/* ------------------------------------------------------------------ helpers */

/* Oclgrind 21.10 treats memory set by clEnqueueFillBuffer (how
 * clcnn_tensor_create zeroes a tensor) as uninitialised, and keeps treating
 * it so even after a kernel has written it (seen with a two-kernel
 * reproducer; a buffer never filled, or written from the host, is tracked
 * correctly). Under Oclgrind the optimizer's zero state is therefore written
 * once more from the host: the same values, and --uninitialized stays
 * meaningful for everything the kernels compute. */
static void prepare_states(clcnn_context *ctx, clcnn_optimizer *opt) {
    if (!ts_oclgrind(ctx))
        return;
    for (size_t k = 0; k < clcnn_optimizer_state_count(opt); k++) {
        clcnn_optimizer_state st;
        TS_ASSERT_OK(ctx, clcnn_optimizer_state_get(opt, k, &st));
        size_t n = clcnn_tensor_numel(st.tensor);
        float *zeros = calloc(n, sizeof *zeros);
        assert_non_null(zeros);
        TS_ASSERT_OK(ctx, clcnn_tensor_write(st.tensor, 0, zeros, n));
        free(zeros);
    }
}

/* A list of (parameter, gradient) tensors with their double reference copies
 * and the reference state (up to 3 tensors per parameter, zero at first). */
typedef struct tensor_set {
    clcnn_context *ctx;
    size_t count;
    clcnn_tensor *params[MAX_TENSORS];
    clcnn_tensor *grads[MAX_TENSORS];
    size_t numel[MAX_TENSORS];
    double *ref_param[MAX_TENSORS];
    double *ref_grad[MAX_TENSORS];
    double *ref_state[MAX_TENSORS][3];
    float *grad_host[MAX_TENSORS]; /* what was last written to each gradient */
    float *scratch;                /* room for the largest tensor */
} tensor_set;

/* Shapes: ndim, then the dimensions. The last is used without
 * CLCNN_TEST_SMALL only. */
static const size_t set_shapes[MAX_TENSORS][5] = {
    {1, 1}, {2, 7, 1}, {4, 3, 5, 7, 9}, {1, 4099}, {1, 250007}};

/* The first `limit` tensors of the list (at most 4 with CLCNN_TEST_SMALL). */
static void set_create(clcnn_context *ctx, tensor_set *s, size_t limit, uint32_t seed) {
    memset(s, 0, sizeof *s);
    s->ctx = ctx;
    s->count = ts_small() ? MAX_TENSORS - 1 : MAX_TENSORS;
    if (limit < s->count)
        s->count = limit;
    size_t largest = 0;
    for (size_t i = 0; i < s->count; i++) {
        TS_ASSERT_OK(ctx,
                     clcnn_tensor_create(ctx, set_shapes[i][0], &set_shapes[i][1], &s->params[i]));
        TS_ASSERT_OK(ctx,
                     clcnn_tensor_create(ctx, set_shapes[i][0], &set_shapes[i][1], &s->grads[i]));
        size_t n = clcnn_tensor_numel(s->params[i]);
        s->numel[i] = n;
        largest = n > largest ? n : largest;
        s->ref_param[i] = ts_malloc(n * sizeof(double));
        s->ref_grad[i] = ts_malloc(n * sizeof(double));
        for (size_t k = 0; k < 3; k++)
            s->ref_state[i][k] = calloc(n, sizeof(double));
        assert_non_null(s->ref_state[i][2]);
        s->grad_host[i] = ts_malloc(n * sizeof(float));
        float *values = ts_malloc(n * sizeof(float));
        ts_fill_random(values, n, seed + 17u * (uint32_t)i, -1.0f, 1.0f);
        TS_ASSERT_OK(ctx, clcnn_tensor_write(s->params[i], 0, values, n));
        for (size_t e = 0; e < n; e++)
            s->ref_param[i][e] = values[e];
        free(values);
    }
    s->scratch = ts_malloc(largest * sizeof(float));
}

/* Writes new random gradients (and keeps them for the reference). */
static void set_new_grads(tensor_set *s, uint32_t seed) {
    for (size_t i = 0; i < s->count; i++) {
        ts_fill_random(s->grad_host[i], s->numel[i], seed + 31u * (uint32_t)i, -1.0f, 1.0f);
        TS_ASSERT_OK(s->ctx, clcnn_tensor_write(s->grads[i], 0, s->grad_host[i], s->numel[i]));
        for (size_t e = 0; e < s->numel[i]; e++)
            s->ref_grad[i][e] = s->grad_host[i][e];
    }
}

static void set_destroy(tensor_set *s) {
    for (size_t i = 0; i < s->count; i++) {
        clcnn_tensor_destroy(s->params[i]);
        clcnn_tensor_destroy(s->grads[i]);
        free(s->ref_param[i]);
        free(s->ref_grad[i]);
        for (size_t k = 0; k < 3; k++)
            free(s->ref_state[i][k]);
        free(s->grad_host[i]);
    }
    free(s->scratch);
}

/* Reads a tensor and compares it with the reference at the stated
 * tolerance, naming it on failure. */
static void check_near(tensor_set *s, const clcnn_tensor *tensor, const double *ref, size_t n,
                       const char *what, size_t index, int step) {
    TS_ASSERT_OK(s->ctx, clcnn_tensor_read(tensor, 0, s->scratch, n));
    double scale = 0.0;
    for (size_t e = 0; e < n; e++)
        scale = fabs(ref[e]) > scale ? fabs(ref[e]) : scale;
    double atol = ATOL_SCALE * scale;
    for (size_t e = 0; e < n; e++) {
        double diff = fabs((double)s->scratch[e] - ref[e]);
        if (!(diff <= atol + RTOL * fabs(ref[e]))) {
            print_error("%s of tensor %zu (%zu elements) after step %d: element %zu got %.9g, "
                        "expected %.9g (atol %g, rtol %g)\n",
                        what, index, n, step, e, (double)s->scratch[e], ref[e], atol, RTOL);
            fail();
        }
    }
}

/* The gradients still hold what was written: steps only read them. */
static void check_grads_unchanged(tensor_set *s) {
    for (size_t i = 0; i < s->count; i++) {
        TS_ASSERT_OK(s->ctx, clcnn_tensor_read(s->grads[i], 0, s->scratch, s->numel[i]));
        TS_ASSERT_FLOATS_IDENTICAL(s->scratch, s->grad_host[i], s->numel[i]);
    }
}

/* Compares every parameter and state tensor of opt with the reference. */
static void check_all(tensor_set *s, clcnn_optimizer *opt, int step) {
    static const char *const param_name = "param";
    for (size_t i = 0; i < s->count; i++)
        check_near(s, s->params[i], s->ref_param[i], s->numel[i], param_name, i, step);
    size_t states = clcnn_optimizer_state_count(opt);
    size_t per_param = states / s->count;
    for (size_t k = 0; k < states; k++) {
        clcnn_optimizer_state st;
        TS_ASSERT_OK(s->ctx, clcnn_optimizer_state_get(opt, k, &st));
        assert_int_equal(st.param_index, k / per_param);
        check_near(s, st.tensor, s->ref_state[st.param_index][k % per_param],
                   s->numel[st.param_index], st.name, st.param_index, step);
    }
}

/* ---------------------------------------------------------------- SGD runs */

/* Runs STEPS SGD steps against the reference; at step lr_change_step (-1:
 * never) the learning rate becomes new_lr. width 0: the device's choice. */
static void run_sgd(clcnn_context *ctx, const clcnn_sgd_params *hp, int lr_change_step,
                    double new_lr, unsigned width, uint32_t seed) {
    tensor_set s;
    set_create(ctx, &s, width != 0 && ts_small() ? 3 : MAX_TENSORS, seed);
    clcnn_optimizer *opt = NULL;
    TS_ASSERT_OK(ctx, clcnn_optimizer_create_sgd(ctx, hp, s.count, s.params, s.grads, &opt));
    if (width != 0)
        TS_ASSERT_OK(ctx, clcnn__optimizer_set_width(opt, width));
    prepare_states(ctx, opt);
    assert_int_equal(clcnn_optimizer_state_count(opt), hp->momentum != 0.0 ? s.count : 0);
    optim_ref_sgd ref = {hp->lr, hp->momentum, hp->dampening, hp->weight_decay, hp->nesterov};
    for (int step = 0; step < STEPS; step++) {
        if (step == lr_change_step) {
            TS_ASSERT_OK(ctx, clcnn_optimizer_set_lr(opt, new_lr));
            assert_true(clcnn_optimizer_get_lr(opt) == new_lr);
            ref.lr = new_lr;
        }
        set_new_grads(&s, seed + 1000u * (uint32_t)(step + 1));
        TS_ASSERT_OK(ctx, clcnn_optimizer_step(opt));
        for (size_t i = 0; i < s.count; i++)
            optim_ref_sgd_step(&ref, step == 0, s.numel[i], s.ref_param[i], s.ref_grad[i],
                               s.ref_state[i][0]);
        assert_int_equal(clcnn_optimizer_get_step(opt), (uint64_t)step + 1);
        check_all(&s, opt, step);
    }
    check_grads_unchanged(&s);
    clcnn_optimizer_destroy(opt);
    set_destroy(&s);
}

static clcnn_sgd_params sgd(double lr, double momentum, double dampening, double weight_decay,
                            int nesterov) {
    clcnn_sgd_params p = clcnn_sgd_params_default();
    p.lr = lr;
    p.momentum = momentum;
    p.dampening = dampening;
    p.weight_decay = weight_decay;
    p.nesterov = nesterov;
    return p;
}

static void test_sgd_plain(void **state) {
    clcnn_context *ctx = *state;
    clcnn_sgd_params p = sgd(0.1, 0.0, 0.0, 0.0, 0);
    run_sgd(ctx, &p, -1, 0.0, 0, 101u);
}

static void test_sgd_momentum(void **state) {
    clcnn_context *ctx = *state;
    clcnn_sgd_params p = sgd(0.05, 0.9, 0.0, 0.0, 0);
    run_sgd(ctx, &p, -1, 0.0, 0, 202u);
}

static void test_sgd_dampening(void **state) {
    clcnn_context *ctx = *state;
    clcnn_sgd_params p = sgd(0.05, 0.9, 0.5, 0.0, 0);
    run_sgd(ctx, &p, -1, 0.0, 0, 303u);
}

static void test_sgd_nesterov(void **state) {
    clcnn_context *ctx = *state;
    clcnn_sgd_params p = sgd(0.05, 0.9, 0.0, 0.0, 1);
    run_sgd(ctx, &p, -1, 0.0, 0, 404u);
}

static void test_sgd_weight_decay(void **state) {
    clcnn_context *ctx = *state;
    clcnn_sgd_params plain = sgd(0.1, 0.0, 0.0, 0.05, 0);
    run_sgd(ctx, &plain, -1, 0.0, 0, 505u);
    clcnn_sgd_params momentum = sgd(0.05, 0.9, 0.0, 5e-4, 1);
    run_sgd(ctx, &momentum, -1, 0.0, 0, 506u);
    clcnn_sgd_params damped = sgd(0.05, 0.8, 0.25, 0.1, 0);
    run_sgd(ctx, &damped, -1, 0.0, 0, 507u);
}

/* set_lr takes effect from the next step (the reference switches too). */
static void test_sgd_set_lr(void **state) {
    clcnn_context *ctx = *state;
    clcnn_sgd_params p = sgd(0.1, 0.9, 0.0, 1e-3, 0);
    run_sgd(ctx, &p, 2, 0.025, 0, 606u);
    clcnn_sgd_params plain = sgd(0.1, 0.0, 0.0, 0.0, 0);
    run_sgd(ctx, &plain, 3, 0.0, 0, 607u); /* lr 0: the last steps change nothing */
}

/* PyTorch's first step copies d into the new buffer: with dampening 0.5 a
 * zero buffer updated by the general formula would hold d / 2 instead.
 * set_step(0) makes the buffers "unset" again. */
static void test_sgd_first_step_copy(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 13;
    clcnn_tensor *param = NULL, *grad = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &n, &param));
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &n, &grad));
    float g[13], buf[13];
    ts_fill_random(g, n, 76u, -1.0f, 1.0f);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(param, 0, g, n));
    ts_fill_random(g, n, 77u, -1.0f, 1.0f);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(grad, 0, g, n));
    clcnn_sgd_params p = sgd(0.1, 0.9, 0.5, 0.0, 0);
    clcnn_optimizer *opt = NULL;
    TS_ASSERT_OK(ctx, clcnn_optimizer_create_sgd(ctx, &p, 1, &param, &grad, &opt));
    prepare_states(ctx, opt);
    clcnn_optimizer_state st;
    TS_ASSERT_OK(ctx, clcnn_optimizer_state_get(opt, 0, &st));
    TS_ASSERT_OK(ctx, clcnn_optimizer_step(opt));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(st.tensor, 0, buf, n));
    TS_ASSERT_FLOATS_IDENTICAL(buf, g, n);

    ts_fill_random(g, n, 78u, -1.0f, 1.0f);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(grad, 0, g, n));
    TS_ASSERT_OK(ctx, clcnn_optimizer_set_step(opt, 0));
    TS_ASSERT_OK(ctx, clcnn_optimizer_step(opt));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(st.tensor, 0, buf, n));
    TS_ASSERT_FLOATS_IDENTICAL(buf, g, n);
    assert_int_equal(clcnn_optimizer_get_step(opt), 1);
    clcnn_optimizer_destroy(opt);
    clcnn_tensor_destroy(param);
    clcnn_tensor_destroy(grad);
}

/* --------------------------------------------------------------- Adam runs */

static void run_adam(clcnn_context *ctx, const clcnn_adam_params *hp, int lr_change_step,
                     double new_lr, unsigned width, uint32_t seed) {
    tensor_set s;
    set_create(ctx, &s, width != 0 && ts_small() ? 3 : MAX_TENSORS, seed);
    clcnn_optimizer *opt = NULL;
    TS_ASSERT_OK(ctx, clcnn_optimizer_create_adam(ctx, hp, s.count, s.params, s.grads, &opt));
    if (width != 0)
        TS_ASSERT_OK(ctx, clcnn__optimizer_set_width(opt, width));
    prepare_states(ctx, opt);
    assert_int_equal(clcnn_optimizer_state_count(opt), s.count * (hp->amsgrad ? 3 : 2));
    optim_ref_adam ref = {hp->lr,     hp->beta1,        hp->beta2,
                          hp->eps,    hp->weight_decay, hp->decoupled_weight_decay,
                          hp->amsgrad};
    for (int step = 0; step < STEPS; step++) {
        if (step == lr_change_step) {
            TS_ASSERT_OK(ctx, clcnn_optimizer_set_lr(opt, new_lr));
            assert_true(clcnn_optimizer_get_lr(opt) == new_lr);
            ref.lr = new_lr;
        }
        set_new_grads(&s, seed + 1000u * (uint32_t)(step + 1));
        TS_ASSERT_OK(ctx, clcnn_optimizer_step(opt));
        for (size_t i = 0; i < s.count; i++)
            optim_ref_adam_step(&ref, (unsigned long)step + 1, s.numel[i], s.ref_param[i],
                                s.ref_grad[i], s.ref_state[i][0], s.ref_state[i][1],
                                s.ref_state[i][2]);
        assert_int_equal(clcnn_optimizer_get_step(opt), (uint64_t)step + 1);
        check_all(&s, opt, step);
    }
    if (hp->amsgrad) {
        /* The case means something: somewhere the maximum is not the last v. */
        size_t differ = 0, big = 2;
        for (size_t e = 0; e < s.numel[big]; e++)
            differ += s.ref_state[big][2][e] != s.ref_state[big][1][e];
        assert_true(differ > 0);
    }
    check_grads_unchanged(&s);
    clcnn_optimizer_destroy(opt);
    set_destroy(&s);
}

static clcnn_adam_params adam(double lr, double beta1, double beta2, double weight_decay,
                              int decoupled, int amsgrad) {
    clcnn_adam_params p = clcnn_adam_params_default();
    p.lr = lr;
    p.beta1 = beta1;
    p.beta2 = beta2;
    p.weight_decay = weight_decay;
    p.decoupled_weight_decay = decoupled;
    p.amsgrad = amsgrad;
    return p;
}

static void test_adam(void **state) {
    clcnn_context *ctx = *state;
    clcnn_adam_params p = clcnn_adam_params_default();
    run_adam(ctx, &p, -1, 0.0, 0, 1001u);
    clcnn_adam_params faster = adam(0.02, 0.9, 0.999, 0.0, 0, 0);
    run_adam(ctx, &faster, -1, 0.0, 0, 1002u);
}

/* beta1 = 0.3 takes the other branch of PyTorch's lerp (weight >= 0.5);
 * beta1 = 0 and a larger eps are edge values of the formula. */
static void test_adam_betas(void **state) {
    clcnn_context *ctx = *state;
    clcnn_adam_params p = adam(0.01, 0.3, 0.9, 0.0, 0, 0);
    run_adam(ctx, &p, -1, 0.0, 0, 1101u);
    clcnn_adam_params zero_beta1 = adam(0.01, 0.0, 0.99, 0.0, 0, 0);
    zero_beta1.eps = 1e-3;
    run_adam(ctx, &zero_beta1, -1, 0.0, 0, 1102u);
}

static void test_adam_weight_decay(void **state) {
    clcnn_context *ctx = *state;
    clcnn_adam_params p = adam(0.01, 0.9, 0.999, 0.1, 0, 0);
    run_adam(ctx, &p, -1, 0.0, 0, 1201u);
}

static void test_adamw(void **state) {
    clcnn_context *ctx = *state;
    clcnn_adam_params defaults = clcnn_adamw_params_default();
    run_adam(ctx, &defaults, -1, 0.0, 0, 1301u);
    clcnn_adam_params strong = adam(0.05, 0.9, 0.999, 0.5, 1, 0);
    run_adam(ctx, &strong, -1, 0.0, 0, 1302u);
}

/* set_lr changes the step size and, for AdamW, the decay factor. */
static void test_adam_set_lr(void **state) {
    clcnn_context *ctx = *state;
    clcnn_adam_params w = adam(0.05, 0.9, 0.999, 0.2, 1, 0);
    run_adam(ctx, &w, 2, 0.01, 0, 1401u);
    clcnn_adam_params a = adam(0.05, 0.9, 0.999, 0.0, 0, 0);
    run_adam(ctx, &a, 3, 0.2, 0, 1402u);
}

/* beta2 = 0.5 makes v fall often, so the running maximum matters. */
static void test_adam_amsgrad(void **state) {
    clcnn_context *ctx = *state;
    clcnn_adam_params p = adam(0.01, 0.9, 0.5, 0.0, 0, 1);
    run_adam(ctx, &p, -1, 0.0, 0, 1501u);
    clcnn_adam_params w = adam(0.01, 0.9, 0.5, 0.1, 1, 1);
    run_adam(ctx, &w, -1, 0.0, 0, 1502u);
}

/* Every kernel width on this device, whatever the table picks (with
 * CLCNN_TEST_SMALL on the tensors of 1, 7 and 945 elements only). */
static void test_widths(void **state) {
    clcnn_context *ctx = *state;
    static const unsigned widths[] = {4, 8, 16};
    for (size_t i = 0; i < 3; i++) {
        clcnn_sgd_params s = sgd(0.05, 0.9, 0.0, 1e-2, 1);
        run_sgd(ctx, &s, -1, 0.0, widths[i], 2001u);
        clcnn_sgd_params plain = sgd(0.1, 0.0, 0.0, 1e-2, 0);
        run_sgd(ctx, &plain, -1, 0.0, widths[i], 2002u);
        clcnn_adam_params a = adam(0.01, 0.9, 0.5, 0.1, 1, 1);
        run_adam(ctx, &a, -1, 0.0, widths[i], 2003u);
    }
}

/* --------------------------------------------------------- state, restore */

static void assert_tensors_identical(const clcnn_tensor *a, const clcnn_tensor *b) {
    assert_int_equal(clcnn_tensor_numel(a), clcnn_tensor_numel(b));
    float *x = ts_tensor_read_all(a), *y = ts_tensor_read_all(b);
    TS_ASSERT_FLOATS_IDENTICAL(x, y, clcnn_tensor_numel(a));
    free(x);
    free(y);
}

/* Optimizer A runs 3 steps; B starts from copies of A's parameters and state
 * and A's step count (what a checkpoint holds); both then run 2 more steps on
 * the same gradients and must agree bit for bit. */
static void check_restore(clcnn_context *ctx, int use_adam) {
    static const size_t shapes[2][3] = {{2, 3, 5}, {1, 37, 0}};
    clcnn_tensor *pa[2], *pb[2], *grads[2];
    for (size_t i = 0; i < 2; i++) {
        TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, shapes[i][0], &shapes[i][1], &pa[i]));
        TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, shapes[i][0], &shapes[i][1], &pb[i]));
        TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, shapes[i][0], &shapes[i][1], &grads[i]));
        size_t n = clcnn_tensor_numel(pa[i]);
        float *values = ts_malloc(n * sizeof *values);
        ts_fill_random(values, n, 3001u + (uint32_t)i, -1.0f, 1.0f);
        TS_ASSERT_OK(ctx, clcnn_tensor_write(pa[i], 0, values, n));
        free(values);
    }
    clcnn_adam_params ap = adam(0.01, 0.9, 0.5, 0.01, 0, 1);
    clcnn_sgd_params sp = sgd(0.05, 0.9, 0.5, 1e-3, 0);
    clcnn_optimizer *a = NULL, *b = NULL;
    if (use_adam) {
        TS_ASSERT_OK(ctx, clcnn_optimizer_create_adam(ctx, &ap, 2, pa, grads, &a));
        TS_ASSERT_OK(ctx, clcnn_optimizer_create_adam(ctx, &ap, 2, pb, grads, &b));
    } else {
        TS_ASSERT_OK(ctx, clcnn_optimizer_create_sgd(ctx, &sp, 2, pa, grads, &a));
        TS_ASSERT_OK(ctx, clcnn_optimizer_create_sgd(ctx, &sp, 2, pb, grads, &b));
    }
    prepare_states(ctx, a);
    static const char *const adam_names[] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    size_t per_param = use_adam ? 3 : 1;
    assert_int_equal(clcnn_optimizer_param_count(a), 2);
    assert_int_equal(clcnn_optimizer_state_count(a), 2 * per_param);
    for (size_t k = 0; k < 2 * per_param; k++) {
        clcnn_optimizer_state st;
        TS_ASSERT_OK(ctx, clcnn_optimizer_state_get(a, k, &st));
        assert_int_equal(st.param_index, k / per_param);
        assert_string_equal(st.name, use_adam ? adam_names[k % per_param] : "momentum_buffer");
        const clcnn_tensor *param = pa[st.param_index];
        assert_int_equal(clcnn_tensor_ndim(st.tensor), clcnn_tensor_ndim(param));
        for (size_t d = 0; d < clcnn_tensor_ndim(param); d++)
            assert_int_equal(clcnn_tensor_dim(st.tensor, d), clcnn_tensor_dim(param, d));
    }

    for (int step = 0; step < 3; step++) {
        for (size_t i = 0; i < 2; i++) {
            size_t n = clcnn_tensor_numel(grads[i]);
            float *g = ts_malloc(n * sizeof *g);
            ts_fill_random(g, n, 3100u + 10u * (uint32_t)step + (uint32_t)i, -1.0f, 1.0f);
            TS_ASSERT_OK(ctx, clcnn_tensor_write(grads[i], 0, g, n));
            free(g);
        }
        TS_ASSERT_OK(ctx, clcnn_optimizer_step(a));
    }
    /* The "checkpoint": parameters, state tensors and the step count. */
    for (size_t i = 0; i < 2; i++)
        TS_ASSERT_OK(ctx, clcnn_tensor_copy(pb[i], pa[i]));
    for (size_t k = 0; k < clcnn_optimizer_state_count(a); k++) {
        clcnn_optimizer_state sa, sb;
        TS_ASSERT_OK(ctx, clcnn_optimizer_state_get(a, k, &sa));
        TS_ASSERT_OK(ctx, clcnn_optimizer_state_get(b, k, &sb));
        float *data = ts_tensor_read_all(sa.tensor);
        TS_ASSERT_OK(ctx, clcnn_tensor_write(sb.tensor, 0, data, clcnn_tensor_numel(sa.tensor)));
        free(data);
    }
    assert_int_equal(clcnn_optimizer_get_step(a), 3);
    TS_ASSERT_OK(ctx, clcnn_optimizer_set_step(b, clcnn_optimizer_get_step(a)));

    for (int step = 3; step < 5; step++) {
        for (size_t i = 0; i < 2; i++) {
            size_t n = clcnn_tensor_numel(grads[i]);
            float *g = ts_malloc(n * sizeof *g);
            ts_fill_random(g, n, 3100u + 10u * (uint32_t)step + (uint32_t)i, -1.0f, 1.0f);
            TS_ASSERT_OK(ctx, clcnn_tensor_write(grads[i], 0, g, n));
            free(g);
        }
        TS_ASSERT_OK(ctx, clcnn_optimizer_step(a));
        TS_ASSERT_OK(ctx, clcnn_optimizer_step(b));
    }
    for (size_t i = 0; i < 2; i++)
        assert_tensors_identical(pa[i], pb[i]);
    for (size_t k = 0; k < clcnn_optimizer_state_count(a); k++) {
        clcnn_optimizer_state sa, sb;
        TS_ASSERT_OK(ctx, clcnn_optimizer_state_get(a, k, &sa));
        TS_ASSERT_OK(ctx, clcnn_optimizer_state_get(b, k, &sb));
        assert_tensors_identical(sa.tensor, sb.tensor);
    }
    clcnn_optimizer_destroy(a);
    clcnn_optimizer_destroy(b);
    for (size_t i = 0; i < 2; i++) {
        clcnn_tensor_destroy(pa[i]);
        clcnn_tensor_destroy(pb[i]);
        clcnn_tensor_destroy(grads[i]);
    }
}

static void test_state_restore(void **state) {
    clcnn_context *ctx = *state;
    check_restore(ctx, 1);
    check_restore(ctx, 0);
}

/* After the first step (kernel built, state made), steps allocate nothing. */
static void test_no_allocation_per_step(void **state) {
    clcnn_context *ctx = *state;
    tensor_set s;
    set_create(ctx, &s, MAX_TENSORS, 4001u);
    set_new_grads(&s, 4002u);
    clcnn_adam_params p = clcnn_adamw_params_default();
    clcnn_optimizer *opt = NULL;
    TS_ASSERT_OK(ctx, clcnn_optimizer_create_adam(ctx, &p, s.count, s.params, s.grads, &opt));
    prepare_states(ctx, opt);
    TS_ASSERT_OK(ctx, clcnn_optimizer_step(opt));
    clcnn_memory_stats before, after;
    TS_ASSERT_OK(ctx, clcnn_context_memory_stats(ctx, &before));
    for (int i = 0; i < 3; i++)
        TS_ASSERT_OK(ctx, clcnn_optimizer_step(opt));
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
    TS_ASSERT_OK(ctx, clcnn_context_memory_stats(ctx, &after));
    assert_int_equal(after.buffer_allocations, before.buffer_allocations);
    assert_int_equal(after.bytes_in_use, before.bytes_in_use);
    clcnn_optimizer_destroy(opt);
    set_destroy(&s);
}

/* ---------------------------------------------------------------- schedules */

static void assert_close(double got, double expected) {
    if (!(fabs(got - expected) <= 1e-15 * fabs(expected) + 1e-18)) {
        print_error("got %.17g, expected %.17g\n", got, expected);
        fail();
    }
}

static void test_schedules(void **state) {
    (void)state;
    /* StepLR(step_size 3, gamma 0.1) from 0.1: 0.1 for epochs 0-2, 0.01 for
     * 3-5, 0.001 from 6. */
    assert_close(clcnn_lr_step(0.1, 0, 3, 0.1), 0.1);
    assert_close(clcnn_lr_step(0.1, 2, 3, 0.1), 0.1);
    assert_close(clcnn_lr_step(0.1, 3, 3, 0.1), 0.01);
    assert_close(clcnn_lr_step(0.1, 5, 3, 0.1), 0.01);
    assert_close(clcnn_lr_step(0.1, 6, 3, 0.1), 0.001);
    assert_close(clcnn_lr_step(0.5, 10, 1, 0.5), 0.5 / 1024.0);
    assert_close(clcnn_lr_step(0.05, 100, 7, 1.0), 0.05);
    assert_true(isnan(clcnn_lr_step(0.1, 3, 0, 0.1)));

    /* CosineAnnealingLR(t_max 10, eta_min 0.001) from 0.1. */
    assert_close(clcnn_lr_cosine(0.1, 0, 10, 0.001), 0.1);
    assert_close(clcnn_lr_cosine(0.1, 5, 10, 0.001), 0.0505);
    assert_close(clcnn_lr_cosine(0.1, 10, 10, 0.001), 0.001);
    /* cos(pi / 4) = sqrt(2) / 2: 0.5 * (1 + 0.70710678118654752) */
    assert_close(clcnn_lr_cosine(1.0, 1, 4, 0.0), 0.85355339059327376);
    /* cos(3 pi / 4): 0.5 * (1 - 0.70710678118654752) */
    assert_close(clcnn_lr_cosine(1.0, 3, 4, 0.0), 0.14644660940672624);
    /* Past t_max the curve rises again, as PyTorch's does. */
    assert_close(clcnn_lr_cosine(0.1, 15, 10, 0.001), 0.0505);
    assert_close(clcnn_lr_cosine(0.1, 20, 10, 0.001), 0.1);
    assert_close(clcnn_lr_cosine(0.05, 7, 7, 0.0), 0.0);
    assert_true(isnan(clcnn_lr_cosine(0.1, 1, 0, 0.0)));
}

/* A NaN from a schedule with bad arguments is refused by set_lr. */
static void test_schedule_into_set_lr(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 5;
    clcnn_tensor *param = NULL, *grad = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &n, &param));
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &n, &grad));
    clcnn_optimizer *opt = NULL;
    TS_ASSERT_OK(ctx, clcnn_optimizer_create_sgd(ctx, NULL, 1, &param, &grad, &opt));
    TS_ASSERT_OK(ctx, clcnn_optimizer_set_lr(opt, clcnn_lr_cosine(0.1, 2, 8, 0.0)));
    assert_close(clcnn_optimizer_get_lr(opt), 0.5 * 0.1 * (1.0 + 0.70710678118654752));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_optimizer_set_lr(opt, clcnn_lr_cosine(0.1, 2, 0, 0.0)));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_optimizer_set_lr(opt, clcnn_lr_step(0.1, 2, 0, 0.5)));
    assert_close(clcnn_optimizer_get_lr(opt), 0.5 * 0.1 * (1.0 + 0.70710678118654752));
    clcnn_optimizer_destroy(opt);
    clcnn_tensor_destroy(param);
    clcnn_tensor_destroy(grad);
}

/* ------------------------------------------------------------ bad arguments */

static void test_defaults(void **state) {
    (void)state;
    clcnn_sgd_params s = clcnn_sgd_params_default();
    assert_true(s.lr == 1e-3 && s.momentum == 0.0 && s.dampening == 0.0 && s.weight_decay == 0.0 &&
                s.nesterov == 0);
    clcnn_adam_params a = clcnn_adam_params_default();
    assert_true(a.lr == 1e-3 && a.beta1 == 0.9 && a.beta2 == 0.999 && a.eps == 1e-8 &&
                a.weight_decay == 0.0 && a.decoupled_weight_decay == 0 && a.amsgrad == 0);
    clcnn_adam_params w = clcnn_adamw_params_default();
    assert_true(w.lr == 1e-3 && w.beta1 == 0.9 && w.beta2 == 0.999 && w.eps == 1e-8 &&
                w.weight_decay == 1e-2 && w.decoupled_weight_decay == 1 && w.amsgrad == 0);
}

/* create_sgd with these hyper-parameters on a valid list fails with `expected`. */
static void expect_sgd(clcnn_context *ctx, clcnn_sgd_params p, clcnn_tensor *const *params,
                       clcnn_tensor *const *grads, clcnn_status expected) {
    clcnn_optimizer *opt = (clcnn_optimizer *)&opt; /* must be reset to NULL */
    TS_ASSERT_STATUS(ctx, expected, clcnn_optimizer_create_sgd(ctx, &p, 2, params, grads, &opt));
    assert_null(opt);
}

static void expect_adam(clcnn_context *ctx, clcnn_adam_params p, clcnn_tensor *const *params,
                        clcnn_tensor *const *grads, clcnn_status expected) {
    clcnn_optimizer *opt = (clcnn_optimizer *)&opt;
    TS_ASSERT_STATUS(ctx, expected, clcnn_optimizer_create_adam(ctx, &p, 2, params, grads, &opt));
    assert_null(opt);
}

static void test_bad_hyper_parameters(void **state) {
    clcnn_context *ctx = *state;
    const size_t dims[2] = {3, 4};
    clcnn_tensor *params[2], *grads[2];
    for (size_t i = 0; i < 2; i++) {
        TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, dims, &params[i]));
        TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, dims, &grads[i]));
    }
    const clcnn_status bad = CLCNN_ERROR_INVALID_ARGUMENT;
    expect_sgd(ctx, sgd(-0.1, 0.0, 0.0, 0.0, 0), params, grads, bad);
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "lr");
    expect_sgd(ctx, sgd(NAN, 0.0, 0.0, 0.0, 0), params, grads, bad);
    expect_sgd(ctx, sgd(INFINITY, 0.0, 0.0, 0.0, 0), params, grads, bad);
    expect_sgd(ctx, sgd(0.1, -0.5, 0.0, 0.0, 0), params, grads, bad);
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "momentum");
    expect_sgd(ctx, sgd(0.1, NAN, 0.0, 0.0, 0), params, grads, bad);
    expect_sgd(ctx, sgd(0.1, 0.9, NAN, 0.0, 0), params, grads, bad);
    expect_sgd(ctx, sgd(0.1, 0.9, -INFINITY, 0.0, 0), params, grads, bad);
    expect_sgd(ctx, sgd(0.1, 0.9, 0.0, -1e-4, 0), params, grads, bad);
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "weight_decay");
    expect_sgd(ctx, sgd(0.1, 0.9, 0.0, NAN, 0), params, grads, bad);
    expect_sgd(ctx, sgd(0.1, 0.0, 0.0, 0.0, 1), params, grads, bad);
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "Nesterov");
    expect_sgd(ctx, sgd(0.1, 0.9, 0.1, 0.0, 1), params, grads, bad);
    /* Accepted: any finite dampening without Nesterov, lr 0. */
    clcnn_optimizer *opt = NULL;
    clcnn_sgd_params ok = sgd(0.0, 0.9, -0.5, 0.0, 0);
    TS_ASSERT_OK(ctx, clcnn_optimizer_create_sgd(ctx, &ok, 2, params, grads, &opt));
    clcnn_optimizer_destroy(opt);

    expect_adam(ctx, adam(-1e-3, 0.9, 0.999, 0.0, 0, 0), params, grads, bad);
    expect_adam(ctx, adam(NAN, 0.9, 0.999, 0.0, 0, 0), params, grads, bad);
    expect_adam(ctx, adam(1e-3, 1.0, 0.999, 0.0, 0, 0), params, grads, bad);
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "beta1");
    expect_adam(ctx, adam(1e-3, -0.1, 0.999, 0.0, 0, 0), params, grads, bad);
    expect_adam(ctx, adam(1e-3, NAN, 0.999, 0.0, 0, 0), params, grads, bad);
    expect_adam(ctx, adam(1e-3, 0.9, 1.0, 0.0, 0, 0), params, grads, bad);
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "beta2");
    expect_adam(ctx, adam(1e-3, 0.9, -1e-9, 0.0, 0, 0), params, grads, bad);
    expect_adam(ctx, adam(1e-3, 0.9, NAN, 0.0, 0, 0), params, grads, bad);
    expect_adam(ctx, adam(1e-3, 0.9, 0.999, -0.01, 1, 0), params, grads, bad);
    expect_adam(ctx, adam(1e-3, 0.9, 0.999, INFINITY, 0, 0), params, grads, bad);
    clcnn_adam_params eps = clcnn_adam_params_default();
    eps.eps = -1e-8;
    expect_adam(ctx, eps, params, grads, bad);
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "eps");
    eps.eps = NAN;
    expect_adam(ctx, eps, params, grads, bad);
    /* Accepted edges: beta 0, eps 0, NULL params (the defaults). */
    clcnn_adam_params edges = adam(1e-3, 0.0, 0.0, 0.0, 0, 0);
    edges.eps = 0.0;
    TS_ASSERT_OK(ctx, clcnn_optimizer_create_adam(ctx, &edges, 2, params, grads, &opt));
    clcnn_optimizer_destroy(opt);
    TS_ASSERT_OK(ctx, clcnn_optimizer_create_adam(ctx, NULL, 2, params, grads, &opt));
    assert_true(clcnn_optimizer_get_lr(opt) == 1e-3);
    assert_int_equal(clcnn_optimizer_state_count(opt), 4);
    clcnn_optimizer_destroy(opt);

    for (size_t i = 0; i < 2; i++) {
        clcnn_tensor_destroy(params[i]);
        clcnn_tensor_destroy(grads[i]);
    }
}

static void test_bad_lists(void **state) {
    clcnn_context *ctx = *state;
    const size_t dims[2] = {7, 1}, flat = 7, eight = 8;
    clcnn_tensor *a = NULL, *b = NULL, *ga = NULL, *gb = NULL, *g_flat = NULL, *g_eight = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, dims, &a));
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, dims, &b));
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, dims, &ga));
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 2, dims, &gb));
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &flat, &g_flat));
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &eight, &g_eight));
    clcnn_context *other = ts_context_create();
    clcnn_tensor *foreign = NULL;
    TS_ASSERT_OK(other, clcnn_tensor_create(other, 2, dims, &foreign));

    clcnn_sgd_params sp = clcnn_sgd_params_default();
    clcnn_adam_params ap = clcnn_adam_params_default();
    clcnn_tensor *params[2] = {a, b}, *grads[2] = {ga, gb};
    clcnn_optimizer *opt = NULL;
    const clcnn_status bad = CLCNN_ERROR_INVALID_ARGUMENT;

    TS_ASSERT_STATUS(NULL, bad, clcnn_optimizer_create_sgd(NULL, &sp, 2, params, grads, &opt));
    TS_ASSERT_STATUS(NULL, bad, clcnn_optimizer_create_adam(NULL, &ap, 2, params, grads, &opt));
    TS_ASSERT_STATUS(ctx, bad, clcnn_optimizer_create_sgd(ctx, &sp, 2, params, grads, NULL));
    TS_ASSERT_STATUS(ctx, bad, clcnn_optimizer_create_adam(ctx, &ap, 2, params, grads, NULL));
    TS_ASSERT_STATUS(ctx, bad, clcnn_optimizer_create_sgd(ctx, &sp, 0, params, grads, &opt));
    assert_null(opt);
    TS_ASSERT_STATUS(ctx, bad, clcnn_optimizer_create_adam(ctx, &ap, 0, params, grads, &opt));
    TS_ASSERT_STATUS(ctx, bad, clcnn_optimizer_create_sgd(ctx, &sp, 2, NULL, grads, &opt));
    TS_ASSERT_STATUS(ctx, bad, clcnn_optimizer_create_sgd(ctx, &sp, 2, params, NULL, &opt));
    TS_ASSERT_STATUS(ctx, bad, clcnn_optimizer_create_adam(ctx, &ap, 2, NULL, grads, &opt));
    TS_ASSERT_STATUS(ctx, bad, clcnn_optimizer_create_adam(ctx, &ap, 2, params, NULL, &opt));

    clcnn_tensor *null_param[2] = {a, NULL}, *null_grad[2] = {NULL, gb};
    TS_ASSERT_STATUS(ctx, bad, clcnn_optimizer_create_sgd(ctx, &sp, 2, null_param, grads, &opt));
    TS_ASSERT_STATUS(ctx, bad, clcnn_optimizer_create_adam(ctx, &ap, 2, params, null_grad, &opt));

    /* Same element count, other shape; other size. */
    clcnn_tensor *flat_grads[2] = {ga, g_flat}, *eight_grads[2] = {g_eight, gb};
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_optimizer_create_sgd(ctx, &sp, 2, params, flat_grads, &opt));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[7, 1]");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[7]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_optimizer_create_adam(ctx, &ap, 2, params, eight_grads, &opt));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[8]");
    assert_null(opt);

    /* Tensors of another context. */
    clcnn_tensor *foreign_param[2] = {a, foreign}, *foreign_grad[2] = {foreign, gb};
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_optimizer_create_sgd(ctx, &sp, 2, foreign_param, grads, &opt));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_optimizer_create_adam(ctx, &ap, 2, params, foreign_grad, &opt));
    TS_ASSERT_STATUS(other, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn_optimizer_create_sgd(other, &sp, 2, params, grads, &opt));
    assert_null(opt);

    /* A parameter twice, directly or through a view. */
    clcnn_tensor *view = NULL;
    const size_t view_dims[1] = {7};
    TS_ASSERT_OK(ctx, clcnn_tensor_reshape(a, 1, view_dims, &view));
    clcnn_tensor *twice[2] = {a, a}, *through_view[2] = {a, view};
    clcnn_tensor *view_grads[2] = {ga, g_flat};
    TS_ASSERT_STATUS(ctx, bad, clcnn_optimizer_create_sgd(ctx, &sp, 2, twice, grads, &opt));
    TS_ASSERT_STATUS(ctx, bad,
                     clcnn_optimizer_create_adam(ctx, &ap, 2, through_view, view_grads, &opt));
    assert_null(opt);

    clcnn_tensor_destroy(view);
    clcnn_tensor_destroy(foreign);
    clcnn_context_destroy(other);
    clcnn_tensor_destroy(a);
    clcnn_tensor_destroy(b);
    clcnn_tensor_destroy(ga);
    clcnn_tensor_destroy(gb);
    clcnn_tensor_destroy(g_flat);
    clcnn_tensor_destroy(g_eight);
}

static void test_bad_calls(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 9;
    clcnn_tensor *param = NULL, *grad = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &n, &param));
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &n, &grad));
    const clcnn_status bad = CLCNN_ERROR_INVALID_ARGUMENT;

    /* NULL optimizer. */
    TS_ASSERT_STATUS(NULL, bad, clcnn_optimizer_step(NULL));
    TS_ASSERT_STATUS(NULL, bad, clcnn_optimizer_set_lr(NULL, 0.1));
    TS_ASSERT_STATUS(NULL, bad, clcnn_optimizer_set_step(NULL, 1));
    clcnn_optimizer_state st;
    TS_ASSERT_STATUS(NULL, bad, clcnn_optimizer_state_get(NULL, 0, &st));
    assert_true(isnan(clcnn_optimizer_get_lr(NULL)));
    assert_int_equal(clcnn_optimizer_get_step(NULL), 0);
    assert_int_equal(clcnn_optimizer_state_count(NULL), 0);
    assert_int_equal(clcnn_optimizer_param_count(NULL), 0);
    clcnn_optimizer_destroy(NULL);
    TS_ASSERT_STATUS(NULL, bad, clcnn__optimizer_set_width(NULL, 4));

    /* set_lr keeps the old rate when it refuses. */
    clcnn_sgd_params sp = sgd(0.1, 0.0, 0.0, 0.0, 0);
    clcnn_optimizer *opt = NULL;
    TS_ASSERT_OK(ctx, clcnn_optimizer_create_sgd(ctx, &sp, 1, &param, &grad, &opt));
    TS_ASSERT_STATUS(ctx, bad, clcnn_optimizer_set_lr(opt, -0.1));
    TS_ASSERT_STATUS(ctx, bad, clcnn_optimizer_set_lr(opt, NAN));
    TS_ASSERT_STATUS(ctx, bad, clcnn_optimizer_set_lr(opt, INFINITY));
    assert_true(clcnn_optimizer_get_lr(opt) == 0.1);
    TS_ASSERT_OK(ctx, clcnn_optimizer_set_lr(opt, 0.0));
    assert_true(clcnn_optimizer_get_lr(opt) == 0.0);

    /* SGD without momentum has no state. */
    assert_int_equal(clcnn_optimizer_state_count(opt), 0);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_optimizer_state_get(opt, 0, &st));
    TS_ASSERT_STATUS(ctx, bad, clcnn__optimizer_set_width(opt, 2));
    TS_ASSERT_STATUS(ctx, bad, clcnn__optimizer_set_width(opt, 32));
    clcnn_optimizer_destroy(opt);

    clcnn_adam_params ap = clcnn_adam_params_default();
    TS_ASSERT_OK(ctx, clcnn_optimizer_create_adam(ctx, &ap, 1, &param, &grad, &opt));
    assert_int_equal(clcnn_optimizer_param_count(opt), 1);
    TS_ASSERT_STATUS(ctx, bad, clcnn_optimizer_state_get(opt, 0, NULL));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_optimizer_state_get(opt, 2, &st));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE,
                     clcnn_optimizer_state_get(opt, (size_t)-1, &st));
    TS_ASSERT_OK(ctx, clcnn_optimizer_state_get(opt, 1, &st));
    assert_string_equal(st.name, "exp_avg_sq");
    /* The counter cannot wrap around. */
    TS_ASSERT_OK(ctx, clcnn_optimizer_set_step(opt, UINT64_MAX));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_SIZE_OVERFLOW, clcnn_optimizer_step(opt));
    assert_true(clcnn_optimizer_get_step(opt) == UINT64_MAX);
    clcnn_optimizer_destroy(opt);

    clcnn_tensor_destroy(param);
    clcnn_tensor_destroy(grad);
}

/* ---------------------------------------------------------------- fused path */

/* The set_shapes tensors twice: as views of a parameter arena and a gradient
 * arena made as a network makes them (clcnn__arena_create; offset[] is
 * where the test expects each view: at the next multiple of the view
 * alignment, zero gaps), and as separate tensors with the same values. */
typedef struct arena_set {
    clcnn_context *ctx;
    size_t count, align, total;
    size_t offset[MAX_TENSORS], numel[MAX_TENSORS];
    clcnn_tensor *param_arena, *grad_arena;
    clcnn_tensor *views[2][MAX_TENSORS];    /* [0] parameters, [1] gradients */
    clcnn_tensor *separate[2][MAX_TENSORS]; /* the same, as ordinary tensors */
} arena_set;

/* Views of a new arena (clcnn__arena_create) shaped as set_shapes, the
 * arena written with zeros from the host (see prepare_states). */
static clcnn_tensor *arena_of_set(clcnn_context *ctx, const arena_set *a, clcnn_tensor **views) {
    clcnn__shape shapes[MAX_TENSORS];
    for (size_t i = 0; i < a->count; i++) {
        shapes[i].ndim = set_shapes[i][0];
        memcpy(shapes[i].dims, &set_shapes[i][1], shapes[i].ndim * sizeof(size_t));
    }
    clcnn_tensor *arena = NULL;
    TS_ASSERT_OK(ctx, clcnn__arena_create(ctx, a->count, shapes, views, &arena));
    assert_non_null(arena);
    assert_int_equal(clcnn_tensor_numel(arena), a->total);
    float *zeros = calloc(a->total, sizeof *zeros);
    assert_non_null(zeros);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(arena, 0, zeros, a->total));
    free(zeros);
    return arena;
}

static void arena_set_create(clcnn_context *ctx, arena_set *a, uint32_t seed) {
    memset(a, 0, sizeof *a);
    a->ctx = ctx;
    a->count = ts_small() ? MAX_TENSORS - 1 : MAX_TENSORS;
    size_t align_bytes = 0;
    TS_ASSERT_OK(ctx, clcnn__view_alignment(ctx, &align_bytes));
    a->align = align_bytes / sizeof(float);
    for (size_t i = 0; i < a->count; i++) {
        a->numel[i] = 1;
        for (size_t d = 0; d < set_shapes[i][0]; d++)
            a->numel[i] *= set_shapes[i][1 + d];
        a->offset[i] = clcnn__round_up(a->total, a->align);
        a->total = a->offset[i] + a->numel[i];
    }
    a->param_arena = arena_of_set(ctx, a, a->views[0]);
    a->grad_arena = arena_of_set(ctx, a, a->views[1]);
    for (size_t i = 0; i < a->count; i++) {
        const size_t ndim = set_shapes[i][0], *dims = &set_shapes[i][1];
        float *values = ts_random_floats(a->numel[i], seed + 7u * (uint32_t)i, -1.0f, 1.0f);
        a->separate[0][i] = ts_tensor_create(ctx, ndim, dims, values);
        a->separate[1][i] = ts_tensor_filled(ctx, ndim, dims, 0.0f);
        TS_ASSERT_OK(ctx, clcnn_tensor_write(a->views[0][i], 0, values, a->numel[i]));
        free(values);
    }
}

static void arena_set_grads(arena_set *a, uint32_t seed) {
    for (size_t i = 0; i < a->count; i++) {
        float *g = ts_random_floats(a->numel[i], seed + 13u * (uint32_t)i, -1.0f, 1.0f);
        TS_ASSERT_OK(a->ctx, clcnn_tensor_write(a->views[1][i], 0, g, a->numel[i]));
        TS_ASSERT_OK(a->ctx, clcnn_tensor_write(a->separate[1][i], 0, g, a->numel[i]));
        free(g);
    }
}

static void arena_set_destroy(arena_set *a) {
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < a->count; i++) {
            clcnn_tensor_destroy(a->views[k][i]);
            clcnn_tensor_destroy(a->separate[k][i]);
        }
    clcnn_tensor_destroy(a->param_arena);
    clcnn_tensor_destroy(a->grad_arena);
}

/* Under Oclgrind, the state arenas (gaps included) once more written with
 * zeros from the host, for the reason prepare_states gives. */
static void prepare_state_arenas(clcnn_context *ctx, clcnn_optimizer *opt) {
    if (!ts_oclgrind(ctx))
        return;
    for (size_t k = 0; k < clcnn_optimizer_state_count(opt); k++) {
        clcnn_optimizer_state st;
        TS_ASSERT_OK(ctx, clcnn_optimizer_state_get(opt, k, &st));
        const clcnn__storage *arena = st.tensor->storage->parent;
        if (arena == NULL)
            continue;
        void *zeros = calloc(1, arena->bytes);
        assert_non_null(zeros);
        assert_int_equal(clEnqueueWriteBuffer(ctx->queue, arena->mem, CL_TRUE, 0, arena->bytes,
                                              zeros, 0, NULL, NULL),
                         CL_SUCCESS);
        free(zeros);
    }
}

/* The kernel launches of one step. */
static uint64_t step_launches(clcnn_context *ctx, clcnn_optimizer *opt) {
    clcnn_profile *profile = NULL;
    TS_ASSERT_OK(ctx, clcnn_context_profile_start(ctx));
    TS_ASSERT_OK(ctx, clcnn_optimizer_step(opt));
    TS_ASSERT_OK(ctx, clcnn_context_profile_stop(ctx, &profile));
    clcnn_profile_totals totals;
    TS_ASSERT_OK(ctx, clcnn_profile_totals_get(profile, &totals));
    clcnn_profile_destroy(profile);
    return totals.launches;
}

/* The parameters and states of two optimizers hold the same bits. */
static void assert_optimizers_identical(clcnn_optimizer *x, clcnn_tensor *const *x_params,
                                        clcnn_optimizer *y, clcnn_tensor *const *y_params,
                                        size_t count) {
    for (size_t i = 0; i < count; i++)
        assert_tensors_identical(x_params[i], y_params[i]);
    assert_int_equal(clcnn_optimizer_state_count(x), clcnn_optimizer_state_count(y));
    for (size_t k = 0; k < clcnn_optimizer_state_count(x); k++) {
        clcnn_optimizer_state a, b;
        assert_int_equal(clcnn_optimizer_state_get(x, k, &a), CLCNN_OK);
        assert_int_equal(clcnn_optimizer_state_get(y, k, &b), CLCNN_OK);
        assert_string_equal(a.name, b.name);
        assert_tensors_identical(a.tensor, b.tensor);
    }
}

/* Every element of the arena outside the views is still exactly 0. */
static void assert_gaps_zero(const arena_set *a, const clcnn_tensor *arena) {
    float *all = ts_tensor_read_all(arena);
    size_t end = 0;
    for (size_t i = 0; i <= a->count; i++) {
        size_t start = i < a->count ? a->offset[i] : a->total;
        for (size_t e = end; e < start; e++)
            if (all[e] != 0.0f) {
                print_error("gap element %zu holds %.9g\n", e, (double)all[e]);
                fail();
            }
        end = i < a->count ? start + a->numel[i] : end;
    }
    free(all);
}

/* Picks tensors of an arena_set by index (order and subset). */
static void pick(const arena_set *a, int separate, const size_t *order, size_t count,
                 clcnn_tensor **params, clcnn_tensor **grads) {
    for (size_t i = 0; i < count; i++) {
        params[i] = separate ? a->separate[0][order[i]] : a->views[0][order[i]];
        grads[i] = separate ? a->separate[1][order[i]] : a->views[1][order[i]];
    }
}

typedef struct fused_case {
    int adam; /* 0: sgd below, 1: adam below */
    clcnn_sgd_params sgd;
    clcnn_adam_params adam_params;
    unsigned width; /* 0: the device's choice */
} fused_case;

static fused_case sgd_case(clcnn_sgd_params p, unsigned width) {
    fused_case c;
    memset(&c, 0, sizeof c);
    c.sgd = p;
    c.width = width;
    return c;
}

static fused_case adam_case(clcnn_adam_params p, unsigned width) {
    fused_case c;
    memset(&c, 0, sizeof c);
    c.adam = 1;
    c.adam_params = p;
    c.width = width;
    return c;
}

static clcnn_optimizer *make_optimizer(clcnn_context *ctx, const fused_case *c, size_t count,
                                       clcnn_tensor **params, clcnn_tensor **grads) {
    clcnn_optimizer *opt = NULL;
    if (c->adam)
        TS_ASSERT_OK(ctx,
                     clcnn_optimizer_create_adam(ctx, &c->adam_params, count, params, grads, &opt));
    else
        TS_ASSERT_OK(ctx, clcnn_optimizer_create_sgd(ctx, &c->sgd, count, params, grads, &opt));
    if (c->width != 0)
        TS_ASSERT_OK(ctx, clcnn__optimizer_set_width(opt, c->width));
    prepare_states(ctx, opt);
    prepare_state_arenas(ctx, opt);
    return opt;
}

/* The optimizer over the views listed in `order` against one over the
 * separate tensors in the same order: `fused` says whether a step must be
 * one launch (else one per tensor); the bits agree after every step, and
 * the arenas' gaps stay 0. */
static void run_fused_case(clcnn_context *ctx, const fused_case *c, const size_t *order,
                           size_t count, int fused, uint32_t seed) {
    arena_set a;
    arena_set_create(ctx, &a, seed);
    if (order == NULL) {
        static const size_t all[MAX_TENSORS] = {0, 1, 2, 3, 4};
        order = all;
        count = a.count;
    }
    clcnn_tensor *view_params[MAX_TENSORS], *view_grads[MAX_TENSORS];
    clcnn_tensor *sep_params[MAX_TENSORS], *sep_grads[MAX_TENSORS];
    pick(&a, 0, order, count, view_params, view_grads);
    pick(&a, 1, order, count, sep_params, sep_grads);
    clcnn_optimizer *on_views = make_optimizer(ctx, c, count, view_params, view_grads);
    clcnn_optimizer *on_separate = make_optimizer(ctx, c, count, sep_params, sep_grads);
    for (int step = 0; step < 4; step++) {
        arena_set_grads(&a, seed + 100u * (uint32_t)(step + 1));
        assert_int_equal(step_launches(ctx, on_views), fused ? 1 : count);
        assert_int_equal(step_launches(ctx, on_separate), count);
        assert_optimizers_identical(on_views, view_params, on_separate, sep_params, count);
    }
    assert_gaps_zero(&a, a.param_arena);
    assert_gaps_zero(&a, a.grad_arena);
    clcnn_optimizer_destroy(on_views);
    clcnn_optimizer_destroy(on_separate);
    arena_set_destroy(&a);
}

static clcnn_context *profiling_context(void) {
    clcnn_context_options options = clcnn_context_options_default();
    options.enable_profiling = 1;
    return ts_context_create_with(&options);
}

/* Views laid out as a network's: one launch per step for every kind of
 * update and kernel width, bit-identical to the per-tensor path. */
static void test_fused_matches_per_tensor(void **state) {
    (void)state;
    clcnn_context *ctx = profiling_context();
    const fused_case cases[] = {
        sgd_case(sgd(0.1, 0.0, 0.0, 0.0, 0), 0),
        sgd_case(sgd(0.05, 0.9, 0.0, 1e-2, 1), 0),
        sgd_case(sgd(0.05, 0.9, 0.3, 1e-2, 0), 4),
        adam_case(adam(0.01, 0.9, 0.999, 0.0, 0, 0), 0),
        adam_case(adam(0.01, 0.9, 0.99, 0.1, 0, 1), 8),
        adam_case(adam(0.01, 0.8, 0.5, 0.1, 1, 1), 16),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_fused_case(ctx, &cases[i], NULL, 0, 1, 5001u + 10u * (uint32_t)i);
    clcnn_context_destroy(ctx);
}

/* A consecutive run of the views is still fused; views out of order, with
 * one left out, or mixed with an ordinary tensor are updated one tensor at
 * a time, with the same results; so are factors that could turn the gaps'
 * zeros into NaN (Adam's eps of 0, a learning rate beyond float). */
static void test_fused_fallbacks(void **state) {
    (void)state;
    clcnn_context *ctx = profiling_context();
    const fused_case momentum = sgd_case(sgd(0.05, 0.9, 0.0, 1e-2, 0), 0);
    const size_t run[] = {1, 2, 3}, reversed[] = {3, 2, 1, 0}, gap[] = {0, 2, 3};
    run_fused_case(ctx, &momentum, run, 3, 1, 6001u);
    run_fused_case(ctx, &momentum, reversed, 4, 0, 6002u);
    run_fused_case(ctx, &momentum, gap, 3, 0, 6003u);
    clcnn_adam_params no_eps = adam(0.01, 0.9, 0.999, 0.0, 0, 0);
    no_eps.eps = 0.0;
    const fused_case adam_no_eps = adam_case(no_eps, 0);
    run_fused_case(ctx, &adam_no_eps, NULL, 0, 0, 6004u);
    const fused_case huge_lr = sgd_case(sgd(1e300, 0.0, 0.0, 0.0, 0), 0);
    run_fused_case(ctx, &huge_lr, NULL, 0, 0, 6005u);

    arena_set a;
    arena_set_create(ctx, &a, 6006u);
    clcnn_tensor *params[2] = {a.views[0][0], a.separate[0][1]};
    clcnn_tensor *grads[2] = {a.views[1][0], a.views[1][1]};
    clcnn_optimizer *opt = make_optimizer(ctx, &momentum, 2, params, grads);
    assert_int_equal(step_launches(ctx, opt), 2);
    clcnn_optimizer_destroy(opt);
    /* Views that overlap are refused like a tensor listed twice: a [7, 1]
     * view inside the 945 elements of parameter 2. */
    clcnn_tensor *overlapping = NULL;
    TS_ASSERT_OK(ctx, clcnn__storage_view(a.param_arena->storage, a.offset[2] + a.align,
                                          set_shapes[1][0], &set_shapes[1][1], &overlapping));
    clcnn_tensor *twice[2] = {a.views[0][2], overlapping};
    clcnn_tensor *twice_grads[2] = {a.views[1][2], a.separate[1][1]};
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_optimizer_create_sgd(ctx, &momentum.sgd, 2, twice, twice_grads, &opt));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "overlap");
    clcnn_tensor_destroy(overlapping);
    arena_set_destroy(&a);
    clcnn_context_destroy(ctx);
}

/* ----------------------------------------------------------------- the op */

/* The op's update for a case after steps_taken steps. */
static clcnn__optim_update case_update(const fused_case *c, uint64_t steps_taken) {
    if (c->adam)
        return clcnn__optim_adam_update(&c->adam_params, c->adam_params.lr, steps_taken + 1);
    return clcnn__optim_sgd_update(&c->sgd, c->sgd.lr, steps_taken);
}

/* One reference step of a case over n elements. */
static void case_reference_step(const fused_case *c, uint64_t steps_taken, size_t n, double *param,
                                const double *grad, double *const *states) {
    if (c->adam) {
        const clcnn_adam_params *h = &c->adam_params;
        optim_ref_adam ref = {h->lr,     h->beta1,        h->beta2,
                              h->eps,    h->weight_decay, h->decoupled_weight_decay,
                              h->amsgrad};
        optim_ref_adam_step(&ref, (unsigned long)steps_taken + 1, n, param, grad, states[0],
                            states[1], states[2]);
    } else {
        const clcnn_sgd_params *h = &c->sgd;
        optim_ref_sgd ref = {h->lr, h->momentum, h->dampening, h->weight_decay, h->nesterov};
        optim_ref_sgd_step(&ref, steps_taken == 0, n, param, grad, states[0]);
    }
}

/* Fails unless tensor is within the file's tolerance of ref. */
static void assert_near_reference(const clcnn_tensor *tensor, const double *ref) {
    size_t n = clcnn_tensor_numel(tensor);
    double scale = 0.0;
    for (size_t e = 0; e < n; e++)
        scale = fabs(ref[e]) > scale ? fabs(ref[e]) : scale;
    float *got = ts_tensor_read_all(tensor);
    TS_ASSERT_FLOATS_NEAR(got, ref, n, ATOL_SCALE * scale, RTOL);
    free(got);
}

/* The operands of the op: a parameter of the given shape and values, a
 * gradient and three states of its element count, all written from the
 * host (NULL values: zeros). */
typedef struct op_tensors {
    clcnn_tensor *param, *grad, *states[3];
} op_tensors;

static op_tensors op_tensors_create(clcnn_context *ctx, size_t ndim, const size_t *dims,
                                    const float *param, const float *grad) {
    op_tensors t;
    t.param = param != NULL ? ts_tensor_create(ctx, ndim, dims, param)
                            : ts_tensor_filled(ctx, ndim, dims, 0.0f);
    size_t n = clcnn_tensor_numel(t.param);
    t.grad = grad != NULL ? ts_vector_create(ctx, n, grad) : ts_tensor_filled(ctx, 1, &n, 0.0f);
    for (size_t k = 0; k < 3; k++)
        t.states[k] = ts_tensor_filled(ctx, 1, &n, 0.0f);
    return t;
}

static void op_tensors_destroy(op_tensors *t) {
    clcnn_tensor_destroy(t->param);
    clcnn_tensor_destroy(t->grad);
    for (size_t k = 0; k < 3; k++)
        clcnn_tensor_destroy(t->states[k]);
}

/* Steps first .. first + count - 1 of a case through the op. */
static void op_steps(clcnn_context *ctx, const fused_case *c, unsigned width, uint64_t first,
                     uint64_t count, op_tensors *t) {
    for (uint64_t step = first; step < first + count; step++) {
        clcnn__optim_update update = case_update(c, step);
        TS_ASSERT_OK(ctx, clcnn__optim_step(ctx, &update, width, t->param, t->grad, t->states));
    }
}

/* The op alone over one parameter [3, 5, 7, 9] with its gradient and state
 * as [945] tensors (any shape of the element count will do): three steps
 * against the double reference, the state too. */
static void run_op_case(clcnn_context *ctx, const fused_case *c, uint32_t seed) {
    const size_t dims[4] = {3, 5, 7, 9}, n = 945;
    float *values = ts_random_floats(n, seed, -1.0f, 1.0f);
    op_tensors t = op_tensors_create(ctx, 4, dims, values, NULL);
    double *ref_param = ts_to_double(values, n);
    free(values);
    double *ref_states[3];
    for (size_t k = 0; k < 3; k++) {
        ref_states[k] = calloc(n, sizeof(double));
        assert_non_null(ref_states[k]);
    }
    for (uint64_t step = 0; step < 3; step++) {
        float *g = ts_random_floats(n, seed + 100u * (uint32_t)(step + 1), -1.0f, 1.0f);
        TS_ASSERT_OK(ctx, clcnn_tensor_write(t.grad, 0, g, n));
        double *ref_grad = ts_to_double(g, n);
        free(g);
        op_steps(ctx, c, c->width, step, 1, &t);
        case_reference_step(c, step, n, ref_param, ref_grad, ref_states);
        free(ref_grad);
        assert_near_reference(t.param, ref_param);
        for (size_t k = 0; k < case_update(c, step).states; k++)
            assert_near_reference(t.states[k], ref_states[k]);
    }
    op_tensors_destroy(&t);
    for (size_t k = 0; k < 3; k++)
        free(ref_states[k]);
    free(ref_param);
}

static void test_op_against_reference(void **state) {
    clcnn_context *ctx = *state;
    const fused_case cases[] = {
        sgd_case(sgd(0.1, 0.0, 0.0, 0.05, 0), 0),
        sgd_case(sgd(0.05, 0.9, 0.0, 1e-2, 1), 4),
        sgd_case(sgd(0.05, 0.8, 0.3, 0.0, 0), 16),
        adam_case(adam(0.01, 0.9, 0.999, 0.1, 0, 1), 8),
        adam_case(adam(0.01, 0.8, 0.5, 0.1, 1, 0), 0),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_op_case(ctx, &cases[i], 7001u + 10u * (uint32_t)i);
}

/* An update keeps zeros zero exactly when the op says so: every factor
 * finite (and Adam's eps above 0). Two steps over all-zero tensors leave
 * them zero for each update that keeps zeros, and an Adam update that does
 * not (eps of 0: 0 / 0; a step size beyond float: inf * 0) makes them NaN,
 * which is why the arenas' gaps must not see it. */
static void test_op_keeps_zeros(void **state) {
    clcnn_context *ctx = *state;
    clcnn_adam_params no_eps = adam(0.01, 0.9, 0.999, 0.0, 0, 0);
    no_eps.eps = 0.0;
    const struct {
        fused_case c;
        int keeps;
    } cases[] = {
        {sgd_case(sgd(0.1, 0.0, 0.0, 0.0, 0), 0), 1},
        {sgd_case(sgd(0.05, 0.9, 0.0, 1e-2, 1), 0), 1},
        {adam_case(adam(0.01, 0.9, 0.999, 0.1, 1, 1), 0), 1},
        {sgd_case(sgd(1e300, 0.0, 0.0, 0.0, 0), 0), 0}, /* lr beyond float */
        {sgd_case(sgd(0.1, 1e39, 0.0, 0.0, 0), 0), 0},  /* momentum beyond float */
        {adam_case(no_eps, 0), 0},
        {adam_case(adam(1e300, 0.9, 0.999, 0.0, 0, 0), 0), 0},
    };
    const size_t n = 37;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clcnn__optim_update first = case_update(&cases[i].c, 0);
        assert_int_equal(clcnn__optim_update_keeps_zeros(&first), cases[i].keeps);
        if (!cases[i].keeps && !cases[i].c.adam)
            continue; /* on zeros, SGD's infinite factors meet 0 in other ways */
        op_tensors t = op_tensors_create(ctx, 1, &n, NULL, NULL);
        op_steps(ctx, &cases[i].c, 0, 0, 2, &t);
        float *after = ts_tensor_read_all(t.param);
        for (size_t e = 0; e < n; e++)
            assert_true(cases[i].keeps ? after[e] == 0.0f : isnan(after[e]));
        free(after);
        op_tensors_destroy(&t);
    }
}

/* Every width gives the same bits: each element goes through the same
 * arithmetic, vector lanes or the scalar tail alike. */
static void test_op_widths_identical(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 4099; /* 3 past a multiple of 16 */
    static const unsigned widths[] = {0, 4, 8, 16};
    const fused_case c = adam_case(adam(0.01, 0.9, 0.99, 0.1, 0, 1), 0);
    float *start = ts_random_floats(n, 7101u, -1.0f, 1.0f);
    float *g = ts_random_floats(n, 7102u, -1.0f, 1.0f);
    float *first = NULL;
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        op_tensors t = op_tensors_create(ctx, 1, &n, start, g);
        op_steps(ctx, &c, widths[w], 0, 2, &t);
        float *after = ts_tensor_read_all(t.param);
        if (first == NULL) {
            first = after;
        } else {
            TS_ASSERT_FLOATS_IDENTICAL(after, first, n);
            free(after);
        }
        op_tensors_destroy(&t);
    }
    free(first);
    free(start);
    free(g);
}

static void test_op_bad_arguments(void **state) {
    clcnn_context *ctx = *state;
    const size_t n = 9, short_n = 8;
    clcnn_tensor *param = ts_tensor_filled(ctx, 1, &n, 0.5f);
    clcnn_tensor *grad = ts_tensor_filled(ctx, 1, &n, 1.0f);
    clcnn_tensor *short_grad = ts_tensor_filled(ctx, 1, &short_n, 1.0f);
    clcnn_tensor *buffer = ts_tensor_filled(ctx, 1, &n, 0.0f);
    clcnn_sgd_params p = sgd(0.1, 0.9, 0.0, 0.0, 0);
    clcnn__optim_update update = clcnn__optim_sgd_update(&p, p.lr, 0);
    assert_int_equal(update.states, 1);
    const clcnn_status bad = CLCNN_ERROR_INVALID_ARGUMENT;
    TS_ASSERT_STATUS(ctx, bad, clcnn__optim_step(ctx, &update, 0, NULL, grad, &buffer));
    TS_ASSERT_STATUS(ctx, bad, clcnn__optim_step(ctx, &update, 0, param, NULL, &buffer));
    TS_ASSERT_STATUS(ctx, bad, clcnn__optim_step(ctx, &update, 0, param, grad, NULL));
    TS_ASSERT_STATUS(ctx, bad, clcnn__optim_step(ctx, &update, 2, param, grad, &buffer));
    TS_ASSERT_STATUS(ctx, bad, clcnn__optim_prepare(ctx, &update, 32));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn__optim_step(ctx, &update, 0, param, short_grad, &buffer));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "[8]");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn__optim_step(ctx, &update, 0, param, grad, &short_grad));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "state 0");
    clcnn_context *other = ts_context_create();
    clcnn_tensor *foreign = ts_tensor_filled(other, 1, &n, 0.0f);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                     clcnn__optim_step(ctx, &update, 0, param, grad, &foreign));
    clcnn_tensor_destroy(foreign);
    clcnn_context_destroy(other);
    /* Nothing ran: the parameter and the buffer are as they were. */
    float values[9];
    TS_ASSERT_OK(ctx, clcnn_tensor_read(param, 0, values, n));
    for (size_t e = 0; e < n; e++)
        assert_true(values[e] == 0.5f);
    TS_ASSERT_OK(ctx, clcnn_tensor_read(buffer, 0, values, n));
    for (size_t e = 0; e < n; e++)
        assert_true(values[e] == 0.0f);
    /* A good call after them works. */
    TS_ASSERT_OK(ctx, clcnn__optim_prepare(ctx, &update, 0));
    TS_ASSERT_OK(ctx, clcnn__optim_step(ctx, &update, 0, param, grad, &buffer));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(buffer, 0, values, n));
    assert_true(values[0] == 1.0f); /* the first step copies the gradient */
    clcnn_tensor_destroy(param);
    clcnn_tensor_destroy(grad);
    clcnn_tensor_destroy(short_grad);
    clcnn_tensor_destroy(buffer);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_schedules),
        cmocka_unit_test(test_sgd_plain),
        cmocka_unit_test(test_sgd_momentum),
        cmocka_unit_test(test_sgd_dampening),
        cmocka_unit_test(test_sgd_nesterov),
        cmocka_unit_test(test_sgd_weight_decay),
        cmocka_unit_test(test_sgd_set_lr),
        cmocka_unit_test(test_sgd_first_step_copy),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_adam_betas),
        cmocka_unit_test(test_adam_weight_decay),
        cmocka_unit_test(test_adamw),
        cmocka_unit_test(test_adam_set_lr),
        cmocka_unit_test(test_adam_amsgrad),
        cmocka_unit_test(test_widths),
        cmocka_unit_test(test_state_restore),
        cmocka_unit_test(test_no_allocation_per_step),
        cmocka_unit_test(test_schedule_into_set_lr),
        cmocka_unit_test(test_bad_hyper_parameters),
        cmocka_unit_test(test_bad_lists),
        cmocka_unit_test(test_bad_calls),
        cmocka_unit_test(test_fused_matches_per_tensor),
        cmocka_unit_test(test_fused_fallbacks),
        cmocka_unit_test(test_op_against_reference),
        cmocka_unit_test(test_op_keeps_zeros),
        cmocka_unit_test(test_op_widths_identical),
        cmocka_unit_test(test_op_bad_arguments),
    };
    return cmocka_run_group_tests(tests, ts_setup_context, ts_teardown_context);
}
