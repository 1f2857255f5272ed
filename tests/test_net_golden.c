/* Whole training steps against PyTorch: three SGD steps (momentum 0.9,
 * weight decay 5e-4) of a small network, mean softmax cross-entropy, then an
 * eval-mode forward, compared with a float64 PyTorch golden. Two networks:
 *  - the seed network's layer kinds and order (conv-bn-relu-pool twice,
 *    flatten, dense-relu-dropout(0)-dense): tests/data/net_step_golden.txt,
 *    written by hosttools/pytorch/gen_net_golden.py;
 *  - a graph (stem conv-bn-relu; a downsampling residual block with
 *    torchvision's names; a 1x1 conv branch of the block and an average-pool
 *    branch of the stem, concatenated with the block; global average pool;
 *    dropout(0); dense): tests/data/net_graph_golden.txt, written by
 *    hosttools/pytorch/gen_graph_golden.py. Its stem output has three
 *    readers and its block output two, so their gradients add up several
 *    backward paths.
 * Per step: the loss, every parameter gradient, every parameter and
 * batch-norm running statistic after the update; then the eval logits. This
 * checks the network's wiring (layer order, graph joins, gradient
 * accumulation, running statistics, weight decay, momentum), which the
 * per-op goldens do not.
 *
 * Tolerance: |got - ref| <= tol * (1 + |ref|). The generators replay the
 * same steps in float32 PyTorch; the largest errors in those units were, for
 * the seed network and the graph: 2.7e-7 and 1.9e-7 (eval logits), 2.7e-7
 * and 5.2e-8 (gradients), 8.8e-8 and 3.0e-8 (loss), 8.5e-8 and 8.0e-8
 * (running statistics), 4.8e-8 and 4.8e-8 (parameters). The bounds allow
 * ~40x that for other summation orders: 1e-5 for the loss, gradients and
 * logits, 2e-6 for the parameters and running statistics. A missing weight
 * decay moves a parameter p by 0.05 * 5e-4 * |p| = 2.5e-5 |p| in the first
 * step alone, above the parameter bound from |p| = 0.1 on;
 * test_detects_wrong_recipes checks that such recipe errors do fail, and
 * test_graph_detects_wrong_wiring that the graph's joins matter. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"

#include "clcnn/net.h"
#include "clcnn/optim.h"
#include "nn/net_internal.h"

#define STEPS 3
#define BATCH 4
#define SIDE 8
#define CLASSES 10
#define TOL_GRAD 1e-5  /* loss, gradients, logits */
#define TOL_STATE 2e-6 /* parameters and running statistics after a step */

static clcnn_context *ctx;

/* ------------------------------------------------------------------- golden */

/* The golden file of the case being run. */
static const ts_golden_file *golden;

/* The golden tensor "<prefix><name>", which must hold `count` values. */
static const double *golden_get(const char *prefix, const char *name, size_t count) {
    char full[160];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return ts_golden_file_tensor(golden, full, count);
}

/* ----------------------------------------------------------------- compare */

/* Worst |got - ref| / (tol * (1 + |ref|)) per kind: above 1 is a failure. */
enum { KIND_LOSS, KIND_GRAD, KIND_PARAM, KIND_RUNNING, KIND_LOGITS, KIND_COUNT };
static const char *const kind_names[KIND_COUNT] = {"loss", "gradient", "parameter", "running stat",
                                                   "eval logits"};
static const double kind_tol[KIND_COUNT] = {TOL_GRAD, TOL_GRAD, TOL_STATE, TOL_STATE, TOL_GRAD};

typedef struct comparison {
    double worst[KIND_COUNT];
    size_t failures; /* tensors with an element over the bound */
    int verbose;     /* print each failing tensor */
} comparison;

static void compare(comparison *c, int kind, const char *what, const float *got, const double *ref,
                    size_t count) {
    double worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        double ratio = fabs((double)got[i] - ref[i]) / (kind_tol[kind] * (1.0 + fabs(ref[i])));
        if (!(ratio <= worst)) { /* NaN counts as the worst */
            worst = isnan(ratio) ? INFINITY : ratio;
            at = i;
        }
    }
    if (worst > c->worst[kind])
        c->worst[kind] = worst;
    if (worst > 1.0) {
        c->failures++;
        if (c->verbose)
            print_error("%s[%zu]: got %.9g, PyTorch %.9g (|diff| %.3g, %.1fx the %s bound)\n", what,
                        at, (double)got[at], ref[at], fabs((double)got[at] - ref[at]), worst,
                        kind_names[kind]);
    }
}

static float *read_tensor(const clcnn_tensor *t) {
    size_t n = clcnn_tensor_numel(t);
    float *host = ts_malloc(n * sizeof *host);
    TS_ASSERT_OK(ctx, clcnn_tensor_read(t, 0, host, n));
    return host;
}

static void compare_tensor(comparison *c, int kind, const char *prefix, const char *name,
                           const clcnn_tensor *t) {
    size_t n = clcnn_tensor_numel(t);
    float *got = read_tensor(t);
    char what[160];
    snprintf(what, sizeof what, "%s%s", prefix, name);
    compare(c, kind, what, got, golden_get(prefix, name, n), n);
    free(got);
}

/* ------------------------------------------------------------------ network */

/* The recipe a run follows and, for the graph, its wiring: the golden's
 * unless a test changes them. */
typedef struct recipe {
    clcnn_sgd_params sgd;
    clcnn_batchnorm_params bn;
    clcnn_fused_activation join_activation; /* after the residual join */
    int swap_concat;                        /* concat(block, side, proj) */
} recipe;

static recipe golden_recipe(void) {
    recipe r;
    r.sgd = clcnn_sgd_params_default();
    r.sgd.lr = 0.05;
    r.sgd.momentum = 0.9;
    r.sgd.weight_decay = 5e-4;
    r.bn = clcnn_batchnorm_params_default();
    r.bn.eps = 1e-5f;
    r.bn.momentum = 0.1f;
    r.join_activation = CLCNN_FUSED_RELU;
    r.swap_concat = 0;
    return r;
}

/* conv1 (1->4) - bn1 - ReLU - max pool 2 - conv2 (4->6) - bn2 - ReLU - max
 * pool 2 - flatten - fc1 (24->8) - ReLU - dropout(0) - fc2 (8->10). */
static clcnn_net *small_seed_net(const recipe *r) {
    const clcnn_batchnorm_params *bn = &r->bn;
    size_t dims[3] = {1, SIDE, SIDE};
    clcnn_net *net = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create(ctx, 3, dims, &net));
    clcnn_conv2d_params same = clcnn_conv2d_params_default();
    same.pad_h = same.pad_w = 1;
    clcnn_pool2d_params pool = clcnn_pool2d_params_default();
    pool.mode = CLCNN_POOL2D_MAX;
    pool.kernel_h = pool.kernel_w = 2;
    pool.stride_h = pool.stride_w = 2;
    clcnn_activation_params relu = clcnn_activation_params_default();
    relu.kind = CLCNN_ACTIVATION_RELU;
    TS_ASSERT_OK(ctx, clcnn_net_add_conv2d(net, "conv1", 4, 3, 3, &same, 1));
    TS_ASSERT_OK(ctx, clcnn_net_add_batchnorm(net, "bn1", bn));
    TS_ASSERT_OK(ctx, clcnn_net_add_activation(net, &relu));
    TS_ASSERT_OK(ctx, clcnn_net_add_pool2d(net, &pool));
    TS_ASSERT_OK(ctx, clcnn_net_add_conv2d(net, "conv2", 6, 3, 3, &same, 1));
    TS_ASSERT_OK(ctx, clcnn_net_add_batchnorm(net, "bn2", bn));
    TS_ASSERT_OK(ctx, clcnn_net_add_activation(net, &relu));
    TS_ASSERT_OK(ctx, clcnn_net_add_pool2d(net, &pool));
    TS_ASSERT_OK(ctx, clcnn_net_add_flatten(net));
    TS_ASSERT_OK(ctx, clcnn_net_add_dense(net, "fc1", 8, 1));
    TS_ASSERT_OK(ctx, clcnn_net_add_activation(net, &relu));
    TS_ASSERT_OK(ctx, clcnn_net_add_dropout(net, 0.0f));
    TS_ASSERT_OK(ctx, clcnn_net_add_dense(net, "fc2", CLASSES, 1));
    return net;
}

/* The graph of gen_graph_golden.py (torchvision names, node numbers in
 * brackets):
 *   [1-3] conv1 3x3 pad 1 (1->4, no bias) - bn1 - ReLU          = stem
 *   [4-8] layer1.0.conv1 3x3 stride 2 (4->8) - bn1 - ReLU - conv2 3x3 - bn2
 *   [9-10] layer1.0.downsample.0 1x1 stride 2 (reads the stem) - .1
 *   [11] ReLU([8] + [10])                                       = block
 *   [12-13] proj 1x1 (8->4, bias) - ReLU                        (reads [11])
 *   [14] 2x2 average pool of the stem                           = side
 *   [15] concat([11], [13], [14]) -> 16 channels
 *   [16-19] global average pool - flatten - dropout(0) - fc (16->10). */
static clcnn_net *small_graph_net(const recipe *r) {
    const clcnn_batchnorm_params *bn = &r->bn;
    size_t dims[3] = {1, SIDE, SIDE};
    clcnn_net *net = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create(ctx, 3, dims, &net));
    clcnn_conv2d_params plain = clcnn_conv2d_params_default(), same = plain, down = plain,
                        down_1x1 = plain;
    same.pad_h = same.pad_w = 1;
    down.pad_h = down.pad_w = 1;
    down.stride_h = down.stride_w = 2;
    down_1x1.stride_h = down_1x1.stride_w = 2;
    clcnn_pool2d_params pool = clcnn_pool2d_params_default();
    pool.mode = CLCNN_POOL2D_AVG;
    pool.kernel_h = pool.kernel_w = 2;
    pool.stride_h = pool.stride_w = 2;
    clcnn_activation_params relu = clcnn_activation_params_default();
    relu.kind = CLCNN_ACTIVATION_RELU;

    TS_ASSERT_OK(ctx, clcnn_net_add_conv2d(net, "conv1", 4, 3, 3, &same, 0));
    TS_ASSERT_OK(ctx, clcnn_net_add_batchnorm(net, "bn1", bn));
    TS_ASSERT_OK(ctx, clcnn_net_add_activation(net, &relu));
    size_t stem = clcnn_net_last_node(net);
    TS_ASSERT_OK(ctx, clcnn_net_add_conv2d(net, "layer1.0.conv1", 8, 3, 3, &down, 0));
    TS_ASSERT_OK(ctx, clcnn_net_add_batchnorm(net, "layer1.0.bn1", bn));
    TS_ASSERT_OK(ctx, clcnn_net_add_activation(net, &relu));
    TS_ASSERT_OK(ctx, clcnn_net_add_conv2d(net, "layer1.0.conv2", 8, 3, 3, &same, 0));
    TS_ASSERT_OK(ctx, clcnn_net_add_batchnorm(net, "layer1.0.bn2", bn));
    size_t main_path = clcnn_net_last_node(net);
    TS_ASSERT_OK(ctx, clcnn_net_from(net, stem));
    TS_ASSERT_OK(ctx, clcnn_net_add_conv2d(net, "layer1.0.downsample.0", 8, 1, 1, &down_1x1, 0));
    TS_ASSERT_OK(ctx, clcnn_net_add_batchnorm(net, "layer1.0.downsample.1", bn));
    size_t shortcut = clcnn_net_last_node(net);
    TS_ASSERT_OK(ctx, clcnn_net_add_residual(net, main_path, shortcut, r->join_activation));
    size_t block = clcnn_net_last_node(net);
    TS_ASSERT_OK(ctx, clcnn_net_add_conv2d(net, "proj", 4, 1, 1, &plain, 1));
    TS_ASSERT_OK(ctx, clcnn_net_add_activation(net, &relu));
    size_t proj = clcnn_net_last_node(net);
    TS_ASSERT_OK(ctx, clcnn_net_from(net, stem));
    TS_ASSERT_OK(ctx, clcnn_net_add_pool2d(net, &pool));
    size_t side = clcnn_net_last_node(net);
    size_t joined[3] = {block, proj, side};
    if (r->swap_concat) {
        joined[1] = side;
        joined[2] = proj;
    }
    TS_ASSERT_OK(ctx, clcnn_net_add_concat(net, joined, 3));
    TS_ASSERT_OK(ctx, clcnn_net_add_global_avg_pool(net));
    TS_ASSERT_OK(ctx, clcnn_net_add_flatten(net));
    TS_ASSERT_OK(ctx, clcnn_net_add_dropout(net, 0.0f));
    TS_ASSERT_OK(ctx, clcnn_net_add_dense(net, "fc", CLASSES, 1));
    return net;
}

/* A network and its golden: the parameters and batch norms in state-dict
 * order, as the generator lists them. */
typedef struct golden_case {
    const char *path;
    clcnn_net *(*build)(const recipe *r);
    const char *const *params;
    size_t param_count;
    const char *const *batchnorms;
    size_t batchnorm_count;
    ts_golden_file *file; /* loaded by setup */
} golden_case;

static const char *const seed_params[] = {"conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias",
                                          "conv2.weight", "conv2.bias", "bn2.weight", "bn2.bias",
                                          "fc1.weight",   "fc1.bias",   "fc2.weight", "fc2.bias"};
static const char *const seed_batchnorms[] = {"bn1", "bn2"};
static const char *const graph_params[] = {"conv1.weight",
                                           "bn1.weight",
                                           "bn1.bias",
                                           "layer1.0.conv1.weight",
                                           "layer1.0.bn1.weight",
                                           "layer1.0.bn1.bias",
                                           "layer1.0.conv2.weight",
                                           "layer1.0.bn2.weight",
                                           "layer1.0.bn2.bias",
                                           "layer1.0.downsample.0.weight",
                                           "layer1.0.downsample.1.weight",
                                           "layer1.0.downsample.1.bias",
                                           "proj.weight",
                                           "proj.bias",
                                           "fc.weight",
                                           "fc.bias"};
static const char *const graph_batchnorms[] = {"bn1", "layer1.0.bn1", "layer1.0.bn2",
                                               "layer1.0.downsample.1"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
enum { CASE_SEED, CASE_GRAPH, CASE_COUNT };
static golden_case cases[CASE_COUNT] = {
    {CLCNN_TEST_SOURCE_DIR "/tests/data/net_step_golden.txt", small_seed_net, seed_params,
     COUNT(seed_params), seed_batchnorms, COUNT(seed_batchnorms), NULL},
    {CLCNN_TEST_SOURCE_DIR "/tests/data/net_graph_golden.txt", small_graph_net, graph_params,
     COUNT(graph_params), graph_batchnorms, COUNT(graph_batchnorms), NULL},
};
#define MAX_PARAMS 16

static float *to_floats(const double *values, size_t count) {
    float *out = ts_malloc(count * sizeof *out);
    for (size_t i = 0; i < count; i++)
        out[i] = (float)values[i];
    return out;
}

/* The golden batch x<step> ([4, 1, 8, 8]) as a new tensor. */
static clcnn_tensor *golden_batch(int step) {
    char name[16];
    snprintf(name, sizeof name, "x%d", step);
    size_t dims[4] = {BATCH, 1, SIDE, SIDE}, n = BATCH * SIDE * SIDE;
    float *x = to_floats(golden_get("", name, n), n);
    clcnn_tensor *t = ts_tensor_create(ctx, 4, dims, x);
    free(x);
    return t;
}

/* Compares every batch norm running statistic with step<s>.<name>. */
static void compare_running_stats(comparison *c, const golden_case *gc, clcnn_net *net,
                                  const char *prefix) {
    const char *const *batchnorms = gc->batchnorms;
    for (size_t i = 0; i < gc->batchnorm_count; i++) {
        char mean[64], var[64], tracked[64];
        snprintf(mean, sizeof mean, "%s.running_mean", batchnorms[i]);
        snprintf(var, sizeof var, "%s.running_var", batchnorms[i]);
        snprintf(tracked, sizeof tracked, "%s.num_batches_tracked", batchnorms[i]);
        const clcnn__node_tensor *entries[3] = {clcnn__net_state_named(net, mean),
                                                clcnn__net_state_named(net, var),
                                                clcnn__net_state_named(net, tracked)};
        for (size_t e = 0; e < 3; e++)
            assert_non_null(entries[e]);
        compare_tensor(c, KIND_RUNNING, prefix, mean, entries[0]->value);
        compare_tensor(c, KIND_RUNNING, prefix, var, entries[1]->value);
        assert_int_equal(entries[2]->counter, atoi(prefix + strlen("step")));
    }
}

/* Runs the golden's three steps and eval forward of case gc under recipe
 * r, comparing everything into c. */
static void run_golden(const golden_case *gc, const recipe *r, comparison *c) {
    const char *const *names = gc->params;
    const size_t count = gc->param_count;
    golden = gc->file;
    clcnn_net *net = gc->build(r);
    TS_ASSERT_OK(ctx, clcnn_net_init(net, 1));
    assert_int_equal(clcnn_net_parameter_count(net), count);
    assert_true(count <= MAX_PARAMS);
    clcnn_tensor *params[MAX_PARAMS], *grads[MAX_PARAMS];
    for (size_t i = 0; i < count; i++) {
        clcnn_net_tensor p;
        TS_ASSERT_OK(ctx, clcnn_net_parameter(net, i, &p));
        assert_string_equal(p.name, names[i]);
        assert_non_null(p.grad);
        size_t n = clcnn_tensor_numel(p.value);
        float *init = to_floats(golden_get("init.", p.name, n), n);
        TS_ASSERT_OK(ctx, clcnn_tensor_write(p.value, 0, init, n));
        free(init);
        params[i] = p.value;
        grads[i] = p.grad;
    }
    if (net->value_arena != NULL) {
        /* The parameters are views of one buffer. Rewrite it whole: Oclgrind
         * 21.10 counts only the last host write's bytes as initialised (see
         * ts_poison_pool), which would make every other parameter read as
         * uninitialised under it. */
        float *all = read_tensor(net->value_arena);
        TS_ASSERT_OK(ctx, clcnn_tensor_write(net->value_arena, 0, all,
                                             clcnn_tensor_numel(net->value_arena)));
        free(all);
    }
    clcnn_optimizer *opt = NULL;
    TS_ASSERT_OK(ctx, clcnn_optimizer_create_sgd(ctx, &r->sgd, count, params, grads, &opt));
    clcnn_labels *labels = NULL;
    TS_ASSERT_OK(ctx, clcnn_labels_create(ctx, BATCH, CLASSES, &labels));
    clcnn_tensor *loss = NULL;
    size_t one = 1;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &one, &loss));
    TS_ASSERT_OK(ctx, clcnn_net_set_training(net, 1));

    for (int step = 1; step <= STEPS; step++) {
        char prefix[32], name[16];
        snprintf(prefix, sizeof prefix, "step%d.", step);
        snprintf(name, sizeof name, "labels%d", step);
        const double *label_values = golden_get("", name, BATCH);
        int32_t host_labels[BATCH];
        for (size_t i = 0; i < BATCH; i++)
            host_labels[i] = (int32_t)label_values[i];
        TS_ASSERT_OK(ctx, clcnn_labels_write(labels, host_labels, BATCH));
        clcnn_tensor *x = golden_batch(step);
        const clcnn_tensor *logits = NULL;

        TS_ASSERT_OK(ctx, clcnn_net_zero_grad(net));
        TS_ASSERT_OK(ctx, clcnn_net_forward(net, x, &logits));
        TS_ASSERT_OK(ctx, clcnn_net_loss(net, labels, loss));
        TS_ASSERT_OK(ctx, clcnn_net_backward(net));
        compare_tensor(c, KIND_LOSS, prefix, "loss", loss);
        char grad_prefix[48];
        snprintf(grad_prefix, sizeof grad_prefix, "%sgrad.", prefix);
        for (size_t i = 0; i < count; i++)
            compare_tensor(c, KIND_GRAD, grad_prefix, names[i], grads[i]);

        TS_ASSERT_OK(ctx, clcnn_optimizer_step(opt));
        for (size_t i = 0; i < count; i++)
            compare_tensor(c, KIND_PARAM, prefix, names[i], params[i]);
        compare_running_stats(c, gc, net, prefix);
        clcnn_tensor_destroy(x);
    }

    TS_ASSERT_OK(ctx, clcnn_net_set_training(net, 0));
    clcnn_tensor *x = golden_batch(STEPS + 1);
    const clcnn_tensor *logits = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_forward(net, x, &logits));
    compare_tensor(c, KIND_LOGITS, "eval.", "logits", logits);

    clcnn_tensor_destroy(x);
    clcnn_tensor_destroy(loss);
    clcnn_labels_destroy(labels);
    clcnn_optimizer_destroy(opt);
    clcnn_net_destroy(net);
}

/* ------------------------------------------------------------------- tests */

/* Everything of case gc matches PyTorch within the bounds of the header
 * comment. */
static void check_matches_pytorch(const golden_case *gc) {
    recipe r = golden_recipe();
    comparison c = {{0}, 0, 1};
    run_golden(gc, &r, &c);
    for (int k = 0; k < KIND_COUNT; k++)
        print_message("worst %-12s |diff| / (1 + |ref|) = %.3g (bound %.0e)\n", kind_names[k],
                      c.worst[k] * kind_tol[k], kind_tol[k]);
    assert_int_equal(c.failures, 0);
}

static void test_matches_pytorch(void **state) {
    (void)state;
    check_matches_pytorch(&cases[CASE_SEED]);
}

static void test_graph_matches_pytorch(void **state) {
    (void)state;
    check_matches_pytorch(&cases[CASE_GRAPH]);
}

/* Runs case gc under recipe r, which differs from the golden's in `what`:
 * the comparison must fail. */
static void expect_mismatch(const golden_case *gc, const recipe *r, const char *what) {
    comparison c = {{0}, 0, 0};
    run_golden(gc, r, &c);
    double worst = 0.0;
    for (int k = 0; k < KIND_COUNT; k++)
        worst = fmax(worst, c.worst[k]);
    print_message("%-26s worst %.1fx the bound, %zu tensors fail\n", what, worst, c.failures);
    if (c.failures == 0) {
        print_error("the golden comparison does not notice: %s\n", what);
        fail();
    }
}

/* The bounds are tight enough to catch a recipe that differs from PyTorch's
 * in one small way: each of these must fail the comparison. */
static void test_detects_wrong_recipes(void **state) {
    (void)state;
    static const char *const what[] = {"no weight decay", "lr 1% high", "SGD momentum 0.89",
                                       "batch norm momentum 0.11", "batch norm eps 1e-4"};
    for (size_t v = 0; v < COUNT(what); v++) {
        recipe r = golden_recipe();
        switch (v) {
        case 0:
            r.sgd.weight_decay = 0.0;
            break;
        case 1:
            r.sgd.lr *= 1.01;
            break;
        case 2:
            r.sgd.momentum = 0.89;
            break;
        case 3:
            r.bn.momentum = 0.11f;
            break;
        default:
            r.bn.eps = 1e-4f;
            break;
        }
        expect_mismatch(&cases[CASE_SEED], &r, what[v]);
    }
}

/* The graph's golden tells its joins apart: a residual join without its
 * ReLU, or the concatenation's last two branches swapped (both 4
 * channels, so the shapes still fit), must fail; and so must a recipe
 * change that only the running statistics of its four batch norms see. */
static void test_graph_detects_wrong_wiring(void **state) {
    (void)state;
    recipe r = golden_recipe();
    r.join_activation = CLCNN_FUSED_NONE;
    expect_mismatch(&cases[CASE_GRAPH], &r, "no ReLU after the join");
    r = golden_recipe();
    r.swap_concat = 1;
    expect_mismatch(&cases[CASE_GRAPH], &r, "concat(block, side, proj)");
    r = golden_recipe();
    r.bn.momentum = 0.11f;
    expect_mismatch(&cases[CASE_GRAPH], &r, "batch norm momentum 0.11");
}

static int setup(void **state) {
    (void)state;
    ctx = ts_context_create();
    for (size_t i = 0; i < CASE_COUNT; i++) {
        cases[i].file = ts_golden_file_load(cases[i].path);
        if (cases[i].file == NULL)
            return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    for (size_t i = 0; i < CASE_COUNT; i++) {
        ts_golden_file_free(cases[i].file);
        cases[i].file = NULL;
    }
    clcnn_context_destroy(ctx);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_pytorch),
        cmocka_unit_test(test_detects_wrong_recipes),
        cmocka_unit_test(test_graph_matches_pytorch),
        cmocka_unit_test(test_graph_detects_wrong_wiring),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
