/* Networks that branch and merge: a graph with a residual join (fused
 * ReLU), a concatenation that reads one node twice, an in-place layer on a
 * branch and adaptive average pooling, checked against the same ops applied
 * by hand with the public API (eval forward) and against finite
 * differences of its own loss (training backward, where gradients from
 * several readers accumulate). Also: activation memory freed by liveness,
 * dotted (module path) names through save and load, and networks rebuilt
 * from a checkpoint alone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"

#include "clcnn/adaptive_pool.h"
#include "clcnn/concat.h"
#include "clcnn/dense.h"
#include "clcnn/net.h"
#include "clcnn/residual.h"
#include "clcnn/safetensors.h"
#include "nn/net_internal.h"

static clcnn_context *ctx;

static int setup(void **state) {
    (void)state;
    ctx = ts_context_create();
    return 0;
}

static int teardown(void **state) {
    (void)state;
    clcnn_context_destroy(ctx);
    return 0;
}

enum { BATCH = 3, CHANNELS = 2, SIDE = 6, CLASSES = 4 };

static clcnn_tensor *new_tensor(size_t ndim, const size_t *dims) {
    clcnn_tensor *t = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, ndim, dims, &t));
    return t;
}

static clcnn_tensor *tensor4(size_t n, size_t c, size_t h, size_t w) {
    size_t dims[4] = {n, c, h, w};
    return new_tensor(4, dims);
}

static float *read_all(const clcnn_tensor *t) {
    size_t n = clcnn_tensor_numel(t);
    float *host = ts_malloc(n * sizeof *host);
    TS_ASSERT_OK(ctx, clcnn_tensor_read(t, 0, host, n));
    return host;
}

/* The branch-and-merge network (node numbers in brackets):
 *   [1] stem: conv 3x3 pad 1, 2 -> 4, bias
 *   [2] block.conv: conv 3x3 pad 1, 4 -> 4, no bias   (reads [1])
 *   [3] block.bn
 *   [4] relu([3] + [1])                               (residual join)
 *   [5] side.0: conv 1x1, 4 -> 2, bias                (reads [1])
 *   [6] tanh, in place over [5]
 *   [7] concat([4], [6], [4]) -> 10 channels
 *   [8] adaptive average pool to 3 x 2
 *   [9] flatten, [10] head.fc: dense 60 -> 4. */
static clcnn_net *graph_net(void) {
    size_t dims[3] = {CHANNELS, SIDE, SIDE};
    clcnn_net *net = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create(ctx, 3, dims, &net));
    clcnn_conv2d_params same = clcnn_conv2d_params_default();
    same.pad_h = same.pad_w = 1;
    clcnn_activation_params tanh_params = clcnn_activation_params_default();
    tanh_params.kind = CLCNN_ACTIVATION_TANH;
    TS_ASSERT_OK(ctx, clcnn_net_add_conv2d(net, "stem", 4, 3, 3, &same, 1));
    size_t stem = clcnn_net_last_node(net);
    assert_int_equal(stem, 1);
    TS_ASSERT_OK(ctx, clcnn_net_add_conv2d(net, "block.conv", 4, 3, 3, &same, 0));
    TS_ASSERT_OK(ctx, clcnn_net_add_batchnorm(net, "block.bn", NULL));
    TS_ASSERT_OK(ctx,
                 clcnn_net_add_residual(net, clcnn_net_last_node(net), stem, CLCNN_FUSED_RELU));
    size_t joined = clcnn_net_last_node(net);
    TS_ASSERT_OK(ctx, clcnn_net_from(net, stem));
    TS_ASSERT_OK(ctx, clcnn_net_add_conv2d(net, "side.0", 2, 1, 1, NULL, 1));
    TS_ASSERT_OK(ctx, clcnn_net_add_activation(net, &tanh_params));
    const size_t parts[3] = {joined, clcnn_net_last_node(net), joined};
    TS_ASSERT_OK(ctx, clcnn_net_add_concat(net, parts, 3));
    TS_ASSERT_OK(ctx, clcnn_net_add_adaptive_avg_pool(net, 3, 2));
    TS_ASSERT_OK(ctx, clcnn_net_add_flatten(net));
    TS_ASSERT_OK(ctx, clcnn_net_add_dense(net, "head.fc", CLASSES, 1));
    assert_int_equal(clcnn_net_last_node(net), 10);
    assert_int_equal(clcnn_net_layer_kind(net, 3), CLCNN_LAYER_RESIDUAL);
    assert_int_equal(clcnn_net_layer_kind(net, 6), CLCNN_LAYER_CONCAT);
    assert_int_equal(clcnn_net_layer_kind(net, 7), CLCNN_LAYER_ADAPTIVE_AVG_POOL);
    return net;
}

static clcnn_tensor *state_tensor(clcnn_net *net, const char *name) {
    clcnn__node_tensor *entry = clcnn__net_state_named(net, name);
    if (entry == NULL)
        fail_msg("the network has no tensor %s", name);
    return entry->value;
}

/* Random values in every parameter and running statistic (variances
 * positive), so that the eval forward exercises every operand. */
static void randomise_state(clcnn_net *net, uint32_t seed) {
    TS_ASSERT_OK(ctx, clcnn_net_init(net, seed));
    const char *names[] = {"block.bn.weight", "block.bn.bias", "block.bn.running_mean",
                           "block.bn.running_var"};
    for (size_t i = 0; i < 4; i++) {
        clcnn_tensor *t = state_tensor(net, names[i]);
        size_t n = clcnn_tensor_numel(t);
        float *values = ts_random_floats(n, seed + (uint32_t)i, i == 3 ? 0.5f : -1.0f, 1.5f);
        TS_ASSERT_OK(ctx, clcnn_tensor_write(t, 0, values, n));
        free(values);
    }
}

static clcnn_tensor *random_input(uint32_t seed) {
    clcnn_tensor *input = tensor4(BATCH, CHANNELS, SIDE, SIDE);
    size_t n = clcnn_tensor_numel(input);
    float *values = ts_random_floats(n, seed, -2.0f, 2.0f);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(input, 0, values, n));
    free(values);
    return input;
}

static clcnn_tensor *conv(clcnn_net *net, const char *name, size_t pad, int bias,
                          const clcnn_tensor *x) {
    char weight_name[64], bias_name[64];
    snprintf(weight_name, sizeof weight_name, "%s.weight", name);
    snprintf(bias_name, sizeof bias_name, "%s.bias", name);
    const clcnn_tensor *w = state_tensor(net, weight_name);
    clcnn_conv2d_params params = clcnn_conv2d_params_default();
    params.pad_h = params.pad_w = pad;
    clcnn_tensor *y = tensor4(BATCH, clcnn_tensor_dim(w, 0), SIDE, SIDE);
    TS_ASSERT_OK(ctx, clcnn_conv2d_forward(ctx, &params, x, w,
                                           bias ? state_tensor(net, bias_name) : NULL, y));
    return y;
}

/* The graph's eval forward with the public ops, nothing fused. */
static float *logits_by_hand(clcnn_net *net, const clcnn_tensor *x) {
    clcnn_tensor *stem = conv(net, "stem", 1, 1, x);
    clcnn_tensor *block = conv(net, "block.conv", 1, 0, stem);
    clcnn_batchnorm_state running = {state_tensor(net, "block.bn.running_mean"),
                                     state_tensor(net, "block.bn.running_var"), 0};
    clcnn_batchnorm_params bn = clcnn_batchnorm_params_default();
    TS_ASSERT_OK(ctx,
                 clcnn_batchnorm_forward_eval(ctx, &bn, block, state_tensor(net, "block.bn.weight"),
                                              state_tensor(net, "block.bn.bias"), &running, block));
    clcnn_tensor *joined = tensor4(BATCH, 4, SIDE, SIDE);
    TS_ASSERT_OK(ctx, clcnn_residual_forward(ctx, block, stem, CLCNN_FUSED_RELU, joined));
    clcnn_tensor *side = conv(net, "side.0", 0, 1, stem);
    clcnn_activation_params tanh_params = clcnn_activation_params_default();
    tanh_params.kind = CLCNN_ACTIVATION_TANH;
    TS_ASSERT_OK(ctx, clcnn_activation_forward(ctx, &tanh_params, side, side));
    clcnn_tensor *cat = tensor4(BATCH, 10, SIDE, SIDE);
    const clcnn_tensor *parts[3] = {joined, side, joined};
    TS_ASSERT_OK(ctx, clcnn_concat_forward(ctx, 3, parts, cat));
    clcnn_tensor *pooled = tensor4(BATCH, 10, 3, 2), *flat = NULL;
    TS_ASSERT_OK(ctx, clcnn_adaptive_avg_pool2d_forward(ctx, cat, pooled));
    size_t flat_dims[2] = {BATCH, 60}, logit_dims[2] = {BATCH, CLASSES};
    TS_ASSERT_OK(ctx, clcnn_tensor_reshape(pooled, 2, flat_dims, &flat));
    clcnn_tensor *logits = new_tensor(2, logit_dims);
    TS_ASSERT_OK(ctx, clcnn_dense_forward(ctx, flat, state_tensor(net, "head.fc.weight"),
                                          state_tensor(net, "head.fc.bias"), logits));
    float *host = read_all(logits);
    clcnn_tensor *made[] = {stem, block, joined, side, cat, pooled, flat, logits};
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++)
        clcnn_tensor_destroy(made[i]);
    return host;
}

static float *net_logits(clcnn_net *net, const clcnn_tensor *input) {
    const clcnn_tensor *logits = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_forward(net, input, &logits));
    return read_all(logits);
}

/* The graph's eval forward equals the ops composed by hand. The network
 * fuses the batch norm into the convolution's epilogue (an affine that
 * rounds differently), so the two agree to rounding, not bit for bit. */
static void test_graph_matches_public_ops(void **state) {
    (void)state;
    clcnn_net *net = graph_net();
    randomise_state(net, 21);
    TS_ASSERT_OK(ctx, clcnn_net_set_training(net, 0));
    clcnn_tensor *input = random_input(5);
    float *got = net_logits(net, input), *expected = logits_by_hand(net, input);
    double largest = 0.0;
    for (size_t i = 0; i < BATCH * CLASSES; i++)
        largest = fmax(largest, fabs(expected[i]));
    assert_true(largest > 1e-3);
    for (size_t i = 0; i < BATCH * CLASSES; i++)
        if (fabs(got[i] - expected[i]) > 1e-5 * largest + 1e-6)
            fail_msg("logit %zu: network %.9g, ops by hand %.9g", i, (double)got[i],
                     (double)expected[i]);
    free(got);
    free(expected);
    clcnn_tensor_destroy(input);
    clcnn_net_destroy(net);
}

static double loss_of(clcnn_net *net, const clcnn_tensor *input, const clcnn_labels *labels,
                      clcnn_tensor *loss) {
    const clcnn_tensor *logits;
    float value;
    TS_ASSERT_OK(ctx, clcnn_net_forward(net, input, &logits));
    TS_ASSERT_OK(ctx, clcnn_net_loss(net, labels, loss));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(loss, 0, &value, 1));
    return value;
}

/* Every parameter gradient in training mode matches central differences
 * of the loss: the stem's output feeds three readers (the block, the
 * residual join and the side branch) and the join's output the concat
 * twice, so its gradient is right only when backward accumulates. */
static void test_graph_backward_matches_finite_differences(void **state) {
    (void)state;
    clcnn_net *net = graph_net();
    randomise_state(net, 9);
    clcnn_tensor *input = random_input(13), *loss = NULL;
    size_t one = 1;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &one, &loss));
    clcnn_labels *labels = NULL;
    const int32_t classes[BATCH] = {0, 3, 1};
    TS_ASSERT_OK(ctx, clcnn_labels_create(ctx, BATCH, CLASSES, &labels));
    TS_ASSERT_OK(ctx, clcnn_labels_write(labels, classes, BATCH));

    TS_ASSERT_OK(ctx, clcnn_net_zero_grad(net));
    loss_of(net, input, labels, loss);
    TS_ASSERT_OK(ctx, clcnn_net_backward(net));
    for (size_t i = 0; i < clcnn_net_parameter_count(net); i++) {
        clcnn_net_tensor p;
        TS_ASSERT_OK(ctx, clcnn_net_parameter(net, i, &p));
        float *grad = read_all(p.grad), *value = read_all(p.value);
        size_t n = clcnn_tensor_numel(p.value);
        double largest = 1e-3;
        for (size_t e = 0; e < n; e++)
            largest = fmax(largest, fabs(grad[e]));
        for (size_t e = 0; e < n; e += (n > 10 ? n / 10 : 1)) {
            /* A small step: fewer elements cross the fused ReLUs' kink,
             * whose error grows with the step. */
            const float h = 1e-3f, original = value[e];
            float plus = original + h, minus = original - h;
            TS_ASSERT_OK(ctx, clcnn_tensor_write(p.value, e, &plus, 1));
            double up = loss_of(net, input, labels, loss);
            TS_ASSERT_OK(ctx, clcnn_tensor_write(p.value, e, &minus, 1));
            double down = loss_of(net, input, labels, loss);
            TS_ASSERT_OK(ctx, clcnn_tensor_write(p.value, e, &original, 1));
            double numeric = (up - down) / (2.0 * h);
            if (fabs(numeric - grad[e]) > 3e-2 * largest)
                fail_msg("%s[%zu]: backward %.6g, finite difference %.6g", p.name, e,
                         (double)grad[e], numeric);
        }
        free(grad);
        free(value);
    }
    clcnn_labels_destroy(labels);
    clcnn_tensor_destroy(input);
    clcnn_tensor_destroy(loss);
    clcnn_net_destroy(net);
}

enum { WIDTH = 8, SIDE_BIG = 32, N = 4 };

/* A chain of `depth` 3x3 convolutions of WIDTH channels, then a classifier,
 * in a context of its own (so that its peak is this network's). */
static clcnn_net *conv_chain(clcnn_context *own, size_t depth) {
    size_t dims[3] = {WIDTH, SIDE_BIG, SIDE_BIG};
    clcnn_net *net = NULL;
    TS_ASSERT_OK(own, clcnn_net_create(own, 3, dims, &net));
    clcnn_conv2d_params same = clcnn_conv2d_params_default();
    same.pad_h = same.pad_w = 1;
    for (size_t i = 0; i < depth; i++) {
        char name[32];
        snprintf(name, sizeof name, "convs.%zu", i);
        TS_ASSERT_OK(own, clcnn_net_add_conv2d(net, name, WIDTH, 3, 3, &same, 0));
    }
    TS_ASSERT_OK(own, clcnn_net_add_flatten(net));
    TS_ASSERT_OK(own, clcnn_net_add_dense(net, "fc", 10, 1));
    TS_ASSERT_OK(own, clcnn_net_init(net, 1));
    return net;
}

/* Device bytes an inference pass of the chain adds to its context's
 * peak, above what the network and its input hold before it. */
static uint64_t inference_peak(size_t depth) {
    clcnn_context *own = ts_context_create();
    clcnn_net *net = conv_chain(own, depth);
    TS_ASSERT_OK(own, clcnn_net_set_training(net, 0));
    size_t input_dims[4] = {N, WIDTH, SIDE_BIG, SIDE_BIG};
    clcnn_tensor *input = NULL;
    TS_ASSERT_OK(own, clcnn_tensor_create(own, 4, input_dims, &input));
    TS_ASSERT_OK(own, clcnn_tensor_fill(input, 0.5f));
    TS_ASSERT_OK(own, clcnn_context_finish(own));
    clcnn_memory_stats before, after;
    TS_ASSERT_OK(own, clcnn_context_memory_stats(own, &before));
    const clcnn_tensor *logits = NULL;
    TS_ASSERT_OK(own, clcnn_net_forward(net, input, &logits));
    TS_ASSERT_OK(own, clcnn_context_finish(own));
    TS_ASSERT_OK(own, clcnn_context_memory_stats(own, &after));
    clcnn_tensor_destroy(input);
    clcnn_net_destroy(net);
    clcnn_context_destroy(own);
    return after.peak_bytes - before.bytes_in_use - before.bytes_pooled;
}

static const uint64_t chain_output = (uint64_t)N * WIDTH * SIDE_BIG * SIDE_BIG * sizeof(float);

/* An inference pass of 16 convolutions holds at most two outputs more than
 * a pass of one (whose peak is its output and the convolution's own
 * workspace): each output goes back to the pool after its reader, and the
 * next layer takes it again. Without that the deep pass would hold 15
 * more. */
static void test_liveness_bounds_inference_memory(void **state) {
    (void)state;
    uint64_t shallow = inference_peak(1), deep = inference_peak(16);
    if (deep > shallow + 2 * chain_output)
        fail_msg("an inference pass of 16 layers peaked %llu bytes above its network, one "
                 "layer %llu; one output is %llu",
                 (unsigned long long)deep, (unsigned long long)shallow,
                 (unsigned long long)chain_output);
}

/* Training keeps what backward reads (every convolution's input) until the
 * backward pass, which gives back every output and gradient but the
 * logits. */
static void test_liveness_in_training(void **state) {
    (void)state;
    clcnn_context *own = ts_context_create();
    enum { DEPTH = 16 };
    clcnn_net *net = conv_chain(own, DEPTH);
    size_t input_dims[4] = {N, WIDTH, SIDE_BIG, SIDE_BIG};
    clcnn_tensor *input = NULL, *loss = NULL;
    TS_ASSERT_OK(own, clcnn_tensor_create(own, 4, input_dims, &input));
    TS_ASSERT_OK(own, clcnn_tensor_fill(input, 0.5f));
    clcnn_labels *labels = NULL;
    const int32_t classes[N] = {1, 2, 3, 4};
    TS_ASSERT_OK(own, clcnn_labels_create(own, N, 10, &labels));
    TS_ASSERT_OK(own, clcnn_labels_write(labels, classes, N));
    size_t one = 1;
    TS_ASSERT_OK(own, clcnn_tensor_create(own, 1, &one, &loss));
    TS_ASSERT_OK(own, clcnn_net_zero_grad(net));
    clcnn_memory_stats before, after;
    TS_ASSERT_OK(own, clcnn_context_memory_stats(own, &before));
    const clcnn_tensor *logits = NULL;
    TS_ASSERT_OK(own, clcnn_net_forward(net, input, &logits));
    TS_ASSERT_OK(own, clcnn_net_loss(net, labels, loss));
    TS_ASSERT_OK(own, clcnn_context_memory_stats(own, &after));
    assert_true(after.bytes_in_use >= before.bytes_in_use + (DEPTH - 1) * chain_output);
    TS_ASSERT_OK(own, clcnn_net_backward(net));
    TS_ASSERT_OK(own, clcnn_context_finish(own));
    TS_ASSERT_OK(own, clcnn_context_memory_stats(own, &after));
    assert_true(after.bytes_in_use < before.bytes_in_use + chain_output);
    clcnn_tensor_destroy(loss);
    clcnn_labels_destroy(labels);
    clcnn_tensor_destroy(input);
    clcnn_net_destroy(net);
    clcnn_context_destroy(own);
}

static char *checkpoint_path(const char *dir, const char *file) {
    size_t length = strlen(dir) + strlen(file) + 2;
    char *path = ts_malloc(length);
    snprintf(path, length, "%s/%s", dir, file);
    return path;
}

/* Dotted names are module paths: they reach the file as PyTorch names them,
 * load back into the same graph, and names that are no module path are
 * refused. */
static void test_dotted_names_save_and_load(void **state) {
    (void)state;
    clcnn_net *net = graph_net();
    randomise_state(net, 3);
    clcnn_net_tensor p;
    TS_ASSERT_OK(ctx, clcnn_net_parameter(net, 2, &p));
    assert_string_equal(p.name, "block.conv.weight");
    char *dir = ts_temp_dir_create(), *path = checkpoint_path(dir, "graph.safetensors");
    TS_ASSERT_OK(ctx, clcnn_net_save(net, path, NULL));
    char error[256];
    clcnn_safetensors *file = NULL;
    TS_ASSERT_OK(NULL, clcnn_safetensors_load(path, error, sizeof error, &file));
    assert_non_null(clcnn_safetensors_find(file, "block.bn.running_var"));
    assert_non_null(clcnn_safetensors_find(file, "side.0.bias"));
    assert_non_null(clcnn_safetensors_find(file, "head.fc.weight"));
    clcnn_safetensors_destroy(file);

    clcnn_net *copy = graph_net();
    TS_ASSERT_OK(ctx, clcnn_net_load(copy, path));
    TS_ASSERT_OK(ctx, clcnn_net_set_training(net, 0));
    TS_ASSERT_OK(ctx, clcnn_net_set_training(copy, 0));
    clcnn_tensor *input = random_input(8);
    float *a = net_logits(net, input), *b = net_logits(copy, input);
    ts_check_floats_identical(b, a, BATCH * CLASSES, __FILE__, __LINE__);

    size_t dims[1] = {4};
    clcnn_net *open = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create(ctx, 1, dims, &open));
    const char *bad[] = {"layer1..fc", ".fc", "fc.", "layer-1", "1x.fc", "a b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                         clcnn_net_add_dense(open, bad[i], 2, 0));
        TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "module path");
    }
    TS_ASSERT_OK(ctx, clcnn_net_add_dense(open, "layer1.0.fc", 2, 0));
    clcnn_net_destroy(open);
    free(a);
    free(b);
    clcnn_tensor_destroy(input);
    clcnn_net_destroy(copy);
    clcnn_net_destroy(net);
    ts_temp_dir_remove(dir);
    free(path);
}

/* A network rebuilt from its checkpoint alone has the same nodes, names and
 * predictions (bit for bit) as the one saved: the seed network and the
 * graph. A checkpoint without an architecture is refused. */
static void round_trip(clcnn_net *net, size_t channels, size_t side, const char *dir) {
    char *path = checkpoint_path(dir, "net.safetensors");
    TS_ASSERT_OK(ctx, clcnn_net_save(net, path, NULL));
    clcnn_net *rebuilt = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create_from_checkpoint(ctx, path, &rebuilt));
    assert_int_equal(clcnn_net_layer_count(rebuilt), clcnn_net_layer_count(net));
    for (size_t i = 0; i < clcnn_net_layer_count(net); i++)
        assert_int_equal(clcnn_net_layer_kind(rebuilt, i), clcnn_net_layer_kind(net, i));
    assert_int_equal(clcnn_net_parameter_count(rebuilt), clcnn_net_parameter_count(net));
    for (size_t i = 0; i < clcnn_net_parameter_count(net); i++) {
        clcnn_net_tensor a, b;
        TS_ASSERT_OK(ctx, clcnn_net_parameter(net, i, &a));
        TS_ASSERT_OK(ctx, clcnn_net_parameter(rebuilt, i, &b));
        assert_string_equal(a.name, b.name);
    }
    TS_ASSERT_OK(ctx, clcnn_net_set_training(net, 0));
    TS_ASSERT_OK(ctx, clcnn_net_set_training(rebuilt, 0));
    clcnn_tensor *input = tensor4(2, channels, side, side);
    float *pixels = ts_random_floats(2 * channels * side * side, 4, -1.0f, 1.0f);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(input, 0, pixels, 2 * channels * side * side));
    float *a = net_logits(net, input), *b = net_logits(rebuilt, input);
    ts_check_floats_identical(b, a, 2 * clcnn_net_output_features(net), __FILE__, __LINE__);
    free(a);
    free(b);
    free(pixels);
    clcnn_tensor_destroy(input);
    clcnn_net_destroy(rebuilt);
    free(path);
}

static void test_create_from_checkpoint_round_trip(void **state) {
    (void)state;
    char *dir = ts_temp_dir_create();
    clcnn_net *seed = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create_seed(ctx, 1, 12, 12, 10, 0.5f, &seed));
    TS_ASSERT_OK(ctx, clcnn_net_init(seed, 17));
    round_trip(seed, 1, 12, dir);
    clcnn_net *graph = graph_net();
    randomise_state(graph, 6);
    round_trip(graph, CHANNELS, SIDE, dir);

    char *bare = checkpoint_path(dir, "bare.safetensors");
    clcnn_safetensors *file = NULL;
    TS_ASSERT_OK(NULL, clcnn_safetensors_create(&file));
    char error[256];
    TS_ASSERT_OK(NULL, clcnn_safetensors_save(file, bare, error, sizeof error));
    clcnn_safetensors_destroy(file);
    clcnn_net *none = (clcnn_net *)&none;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CORRUPT_FILE,
                     clcnn_net_create_from_checkpoint(ctx, bare, &none));
    assert_null(none);
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "architecture");
    free(bare);
    clcnn_net_destroy(graph);
    clcnn_net_destroy(seed);
    ts_temp_dir_remove(dir);
}

/* ResNet-8 has torchvision's names in PyTorch's order and 308,074
 * trainable parameters; it trains (a finite loss, a backward pass). */
static void test_resnet8(void **state) {
    (void)state;
    clcnn_net *net = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create_resnet8(ctx, 1, 28, 28, 10, &net));
    static const char *const names[] = {"conv1.weight",
                                        "bn1.weight",
                                        "bn1.bias",
                                        "layer1.0.conv1.weight",
                                        "layer1.0.bn1.weight",
                                        "layer1.0.bn1.bias",
                                        "layer1.0.conv2.weight",
                                        "layer1.0.bn2.weight",
                                        "layer1.0.bn2.bias",
                                        "layer2.0.conv1.weight",
                                        "layer2.0.bn1.weight",
                                        "layer2.0.bn1.bias",
                                        "layer2.0.conv2.weight",
                                        "layer2.0.bn2.weight",
                                        "layer2.0.bn2.bias",
                                        "layer2.0.downsample.0.weight",
                                        "layer2.0.downsample.1.weight",
                                        "layer2.0.downsample.1.bias",
                                        "layer3.0.conv1.weight",
                                        "layer3.0.bn1.weight",
                                        "layer3.0.bn1.bias",
                                        "layer3.0.conv2.weight",
                                        "layer3.0.bn2.weight",
                                        "layer3.0.bn2.bias",
                                        "layer3.0.downsample.0.weight",
                                        "layer3.0.downsample.1.weight",
                                        "layer3.0.downsample.1.bias",
                                        "fc.weight",
                                        "fc.bias"};
    assert_int_equal(clcnn_net_parameter_count(net), sizeof names / sizeof names[0]);
    size_t total = 0;
    for (size_t i = 0; i < clcnn_net_parameter_count(net); i++) {
        clcnn_net_tensor p;
        TS_ASSERT_OK(ctx, clcnn_net_parameter(net, i, &p));
        assert_string_equal(p.name, names[i]);
        total += clcnn_tensor_numel(p.value);
    }
    assert_int_equal(total, 308074);
    assert_non_null(clcnn__net_state_named(net, "layer3.0.downsample.1.num_batches_tracked"));
    assert_int_equal(clcnn_net_output_features(net), 10);

    clcnn_tensor *input = tensor4(2, 1, 28, 28), *loss = NULL;
    float *pixels = ts_random_floats(2 * 28 * 28, 2, -1.0f, 1.0f);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(input, 0, pixels, 2 * 28 * 28));
    size_t one = 1;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &one, &loss));
    clcnn_labels *labels = NULL;
    const int32_t classes[2] = {3, 8};
    TS_ASSERT_OK(ctx, clcnn_labels_create(ctx, 2, 10, &labels));
    TS_ASSERT_OK(ctx, clcnn_labels_write(labels, classes, 2));
    TS_ASSERT_OK(ctx, clcnn_net_zero_grad(net));
    double value = loss_of(net, input, labels, loss);
    assert_true(isfinite(value) && value > 0.0);
    TS_ASSERT_OK(ctx, clcnn_net_backward(net));
    clcnn_net_tensor stem;
    TS_ASSERT_OK(ctx, clcnn_net_parameter(net, 0, &stem));
    float *grad = read_all(stem.grad);
    double norm = 0.0;
    for (size_t i = 0; i < clcnn_tensor_numel(stem.grad); i++)
        norm += fabs(grad[i]);
    assert_true(isfinite(norm) && norm > 0.0);
    free(grad);
    free(pixels);
    clcnn_labels_destroy(labels);
    clcnn_tensor_destroy(loss);
    clcnn_tensor_destroy(input);
    clcnn_net_destroy(net);
}

/* Graph wiring errors name the nodes. */
static void test_graph_errors(void **state) {
    (void)state;
    size_t dims[3] = {2, 6, 6};
    clcnn_net *net = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create(ctx, 3, dims, &net));
    clcnn_conv2d_params same = clcnn_conv2d_params_default();
    same.pad_h = same.pad_w = 1;
    TS_ASSERT_OK(ctx, clcnn_net_add_conv2d(net, "a", 4, 3, 3, &same, 0));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_net_add_residual(net, 0, 1, CLCNN_FUSED_NONE));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "node 0 gives 2x6x6 and node 1 gives 4x6x6");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_net_add_residual(net, 1, 1, (clcnn_fused_activation)7));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_net_from(net, 2));
    TS_ASSERT_OK(ctx, clcnn_net_from(net, 0));
    clcnn_pool2d_params pool = clcnn_pool2d_params_default();
    pool.kernel_h = pool.kernel_w = pool.stride_h = pool.stride_w = 2;
    TS_ASSERT_OK(ctx, clcnn_net_add_pool2d(net, &pool));
    const size_t mismatched[2] = {1, 2};
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_net_add_concat(net, mismatched, 2));
    const size_t one[1] = {1};
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_add_concat(net, one, 1));
    clcnn_net_destroy(net);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_matches_public_ops),
        cmocka_unit_test(test_graph_backward_matches_finite_differences),
        cmocka_unit_test(test_liveness_bounds_inference_memory),
        cmocka_unit_test(test_liveness_in_training),
        cmocka_unit_test(test_dotted_names_save_and_load),
        cmocka_unit_test(test_create_from_checkpoint_round_trip),
        cmocka_unit_test(test_resnet8),
        cmocka_unit_test(test_graph_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
