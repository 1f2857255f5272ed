/* Networks: PyTorch state-dict names and shapes, Philox initialisation
 * against a host reference, backward against finite differences of the
 * network's own loss, determinism, checkpoints (save -> load -> identical
 * predictions; malformed checkpoints rejected), folded inference, and a
 * short training run on real Fashion-MNIST whose loss must fall and whose
 * accuracy must be far above chance. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"

#include "clcnn/dense.h"
#include "clcnn/idx.h"
#include "clcnn/net.h"
#include "clcnn/optim.h"
#include "clcnn/profile.h"
#include "clcnn/safetensors.h"
#include "nn/net_internal.h"
#include "ref/philox_ref.h"

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

/* Image side for the tests that run the seed network: 28 (Fashion-MNIST),
 * or 8 (the central crop) in small mode, where Oclgrind simulates every
 * work-item. */
static size_t test_side(void) {
    return ts_small() ? 8 : 28;
}

static clcnn_net *seed_net(size_t channels, size_t side, float dropout) {
    clcnn_net *net = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create_seed(ctx, channels, side, side, 10, dropout, &net));
    return net;
}

static clcnn_tensor *tensor4(size_t n, size_t c, size_t h, size_t w) {
    size_t dims[4] = {n, c, h, w};
    clcnn_tensor *t = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 4, dims, &t));
    return t;
}

static float *read_all(const clcnn_tensor *t) {
    size_t n = clcnn_tensor_numel(t);
    float *host = ts_malloc(n * sizeof *host);
    TS_ASSERT_OK(ctx, clcnn_tensor_read(t, 0, host, n));
    return host;
}

/* The seed network's parameters carry exactly PyTorch's state_dict names,
 * in its order, with its shapes (for conv1..fc2 attributes). */
static void test_parameter_names(void **state) {
    (void)state;
    clcnn_net *net = seed_net(1, 28, 0.5f);
    TS_ASSERT_OK(ctx, clcnn_net_init(net, 42));
    static const struct {
        const char *name;
        size_t ndim, dims[4];
    } expected[] = {
        {"conv1.weight", 4, {32, 1, 3, 3}},
        {"conv1.bias", 1, {32}},
        {"bn1.weight", 1, {32}},
        {"bn1.bias", 1, {32}},
        {"conv2.weight", 4, {64, 32, 3, 3}},
        {"conv2.bias", 1, {64}},
        {"bn2.weight", 1, {64}},
        {"bn2.bias", 1, {64}},
        {"fc1.weight", 2, {128, 3136}},
        {"fc1.bias", 1, {128}},
        {"fc2.weight", 2, {10, 128}},
        {"fc2.bias", 1, {10}},
    };
    size_t count = sizeof expected / sizeof expected[0];
    assert_int_equal(clcnn_net_parameter_count(net), count);
    for (size_t i = 0; i < count; i++) {
        clcnn_net_tensor p;
        TS_ASSERT_OK(ctx, clcnn_net_parameter(net, i, &p));
        assert_string_equal(p.name, expected[i].name);
        assert_int_equal(clcnn_tensor_ndim(p.value), expected[i].ndim);
        for (size_t d = 0; d < expected[i].ndim; d++)
            assert_int_equal(clcnn_tensor_dim(p.value, d), expected[i].dims[d]);
        assert_int_equal(clcnn_tensor_numel(p.grad), clcnn_tensor_numel(p.value));
    }
    clcnn_net_tensor p;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_OUT_OF_RANGE, clcnn_net_parameter(net, count, &p));
    assert_int_equal(clcnn_net_output_features(net), 10);
    clcnn_net_destroy(net);
}

/* Weights are low + u (high - low) with u from the Philox stream
 * (seed, 2^63 + parameter index), bound 1/sqrt(fan_in); batch norm starts at
 * gamma 1, beta 0. */
static void test_initialisation(void **state) {
    (void)state;
    const size_t side = test_side();
    clcnn_net *net = seed_net(1, side, 0.5f);
    const uint64_t seed = 1234;
    TS_ASSERT_OK(ctx, clcnn_net_init(net, seed));
    const double flat = 64.0 * (double)(side / 4) * (double)(side / 4);
    const double fan_in[12] = {9, 9, 0, 0, 288, 288, 0, 0, flat, flat, 128, 128};
    for (size_t i = 0; i < 12; i++) {
        clcnn_net_tensor p;
        TS_ASSERT_OK(ctx, clcnn_net_parameter(net, i, &p));
        float *values = read_all(p.value);
        size_t n = clcnn_tensor_numel(p.value);
        for (size_t e = 0; e < n; e++) {
            float expected;
            if (fan_in[i] == 0) {
                expected = strstr(p.name, "weight") != NULL ? 1.0f : 0.0f;
            } else {
                float bound = (float)(1.0 / sqrt(fan_in[i]));
                uint32_t word = philox_ref_stream_word(seed, (UINT64_C(1) << 63) + i, e);
                float u = (float)(word >> 8) * 0x1.0p-24f;
                float scaled = u * (bound - -bound);
                expected = -bound + scaled;
            }
            if (values[e] != expected)
                fail_msg("%s[%zu] = %.9g, expected %.9g", p.name, e, (double)values[e],
                         (double)expected);
        }
        free(values);
    }
    clcnn_net_destroy(net);
}

/* The eval-mode logits of `net` for a fixed random batch of 3 (malloc'ed);
 * *count gets their number. */
static float *eval_logits(clcnn_net *net, size_t side, size_t *count) {
    const size_t n = 3;
    clcnn_tensor *input = tensor4(n, 1, side, side);
    float *pixels = ts_random_floats(n * side * side, 11, -1.0f, 1.0f);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(input, 0, pixels, n * side * side));
    TS_ASSERT_OK(ctx, clcnn_net_set_training(net, 0));
    const clcnn_tensor *logits;
    TS_ASSERT_OK(ctx, clcnn_net_forward(net, input, &logits));
    float *values = read_all(logits);
    *count = clcnn_tensor_numel(logits);
    free(pixels);
    clcnn_tensor_destroy(input);
    return values;
}

/* A network is usable as built: its parameters are those of
 * clcnn_net_init(net, CLCNN_NET_DEFAULT_SEED), so the logits are finite,
 * not all zero, and the same as after that init; a checkpoint loaded into a
 * network never used overwrites them. */
static void test_built_network_is_initialised(void **state) {
    (void)state;
    const size_t side = test_side();
    clcnn_net *fresh = seed_net(1, side, 0.5f), *drawn = seed_net(1, side, 0.5f);
    assert_int_equal(clcnn_net_parameter_count(fresh), 12); /* before any use */
    size_t count = 0, drawn_count = 0;
    float *built = eval_logits(fresh, side, &count);
    TS_ASSERT_OK(ctx, clcnn_net_init(drawn, CLCNN_NET_DEFAULT_SEED));
    float *initialised = eval_logits(drawn, side, &drawn_count);
    assert_int_equal(count, 3 * 10);
    assert_int_equal(drawn_count, count);
    size_t nonzero = 0;
    for (size_t i = 0; i < count; i++) {
        assert_true(isfinite(built[i]));
        nonzero += built[i] != 0.0f;
    }
    assert_true(nonzero > count / 2);
    TS_ASSERT_FLOATS_IDENTICAL(built, initialised, count);

    /* Another seed gives other logits; the default seed gives them back. */
    TS_ASSERT_OK(ctx, clcnn_net_init(fresh, 7));
    float *other = eval_logits(fresh, side, &count);
    assert_true(memcmp(other, built, count * sizeof *built) != 0);
    TS_ASSERT_OK(ctx, clcnn_net_init(fresh, CLCNN_NET_DEFAULT_SEED));
    float *again = eval_logits(fresh, side, &count);
    TS_ASSERT_FLOATS_IDENTICAL(again, built, count);

    /* Loading into a network never used: the checkpoint's values. */
    char *dir = ts_temp_dir_create(), path[512];
    snprintf(path, sizeof path, "%s/seven.safetensors", dir);
    TS_ASSERT_OK(ctx, clcnn_net_init(fresh, 7));
    TS_ASSERT_OK(ctx, clcnn_net_save(fresh, path, NULL));
    clcnn_net *loaded = seed_net(1, side, 0.5f);
    TS_ASSERT_OK(ctx, clcnn_net_load(loaded, path));
    float *from_file = eval_logits(loaded, side, &count);
    TS_ASSERT_FLOATS_IDENTICAL(from_file, other, count);

    /* Handing out a parameter makes them all, so no layer can follow. */
    clcnn_net *handed = seed_net(1, side, 0.5f);
    clcnn_net_tensor p;
    TS_ASSERT_OK(ctx, clcnn_net_parameter(handed, 11, &p));
    assert_string_equal(p.name, "fc2.bias");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_add_flatten(handed));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "clcnn_net_add_flatten");

    ts_temp_dir_remove(dir);
    free(built);
    free(initialised);
    free(other);
    free(again);
    free(from_file);
    clcnn_net_destroy(fresh);
    clcnn_net_destroy(drawn);
    clcnn_net_destroy(loaded);
    clcnn_net_destroy(handed);
}

/* A layer that does not fit says which layer, why, and with what numbers. */
static void test_layer_shape_messages(void **state) {
    (void)state;
    static const struct {
        size_t ndim, dims[3];
        int layer; /* 0 conv2d, 1 pool2d, 2 dense, 3 batchnorm */
        size_t out, kernel, pad, groups;
        const char *needles[4];
    } cases[] = {
        {3,
         {1, 28, 28},
         0,
         4,
         99,
         1,
         1,
         {"clcnn_net_add_conv2d: conv2d layer conv_big", "kernel 99x99", "input 28x28",
          "padding 1"}},
        {3, {1, 28, 28}, 0, 4, 3, 3, 1, {"conv2d layer conv_big", "padding 3", "3x3", "= 2"}},
        {3, {3, 8, 8}, 0, 4, 3, 1, 2, {"conv_big", "groups 2", "3 input channels", "4 output"}},
        {3,
         {2, 5, 5},
         1,
         0,
         7,
         0,
         1,
         {"clcnn_net_add_pool2d: pool2d layer 0", "window 7x7", "input 5x5", "padding 0"}},
        {3, {2, 5, 5}, 1, 0, 2, 2, 1, {"pool2d layer 0", "padding 2", "half", "2x2"}},
        {3,
         {3, 4, 4},
         2,
         10,
         0,
         0,
         1,
         {"clcnn_net_add_dense: dense layer fc", "flat", "3x4x4", ""}},
        {1, {12}, 2, 0, 0, 0, 1, {"dense layer fc", "0 output features", "12 input", ""}},
        {2, {5, 6}, 3, 0, 0, 0, 1, {"clcnn_net_add_batchnorm: batchnorm layer bn", "5x6", "", ""}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clcnn_net *net = NULL;
        TS_ASSERT_OK(ctx, clcnn_net_create(ctx, cases[i].ndim, cases[i].dims, &net));
        clcnn_status status;
        if (cases[i].layer == 0) {
            clcnn_conv2d_params conv = clcnn_conv2d_params_default();
            conv.pad_h = conv.pad_w = cases[i].pad;
            conv.groups = cases[i].groups;
            status = clcnn_net_add_conv2d(net, "conv_big", cases[i].out, cases[i].kernel,
                                          cases[i].kernel, &conv, 1);
        } else if (cases[i].layer == 1) {
            clcnn_pool2d_params pool = clcnn_pool2d_params_default();
            pool.kernel_h = pool.kernel_w = cases[i].kernel;
            pool.pad_h = pool.pad_w = cases[i].pad;
            status = clcnn_net_add_pool2d(net, &pool);
        } else if (cases[i].layer == 2) {
            status = clcnn_net_add_dense(net, "fc", cases[i].out, 1);
        } else {
            status = clcnn_net_add_batchnorm(net, "bn", NULL);
        }
        TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, status);
        for (size_t k = 0; k < 4; k++)
            TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), cases[i].needles[k]);
        assert_int_equal(clcnn_net_layer_count(net), 0);
        clcnn_net_destroy(net);
    }
}

/* An index past the last layer (or no network) has no kind. */
static void test_layer_kind_of_a_bad_index(void **state) {
    (void)state;
    clcnn_net *net = seed_net(1, 8, 0.5f);
    size_t count = clcnn_net_layer_count(net);
    assert_int_equal(count, 13);
    assert_int_equal(clcnn_net_layer_kind(net, 0), CLCNN_LAYER_CONV2D);
    assert_int_equal(clcnn_net_layer_kind(net, 8), CLCNN_LAYER_FLATTEN);
    assert_int_equal(clcnn_net_layer_kind(net, count - 1), CLCNN_LAYER_DENSE);
    assert_int_equal(clcnn_net_layer_kind(net, count), CLCNN_LAYER_NONE);
    assert_int_equal(clcnn_net_layer_kind(net, SIZE_MAX), CLCNN_LAYER_NONE);
    assert_int_equal(clcnn_net_layer_kind(NULL, 0), CLCNN_LAYER_NONE);
    clcnn_net_destroy(net);
}

/* A small network without dropout, for gradient checks. */
static clcnn_net *small_net(void) {
    size_t dims[3] = {2, 6, 5};
    clcnn_net *net = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create(ctx, 3, dims, &net));
    clcnn_conv2d_params conv = clcnn_conv2d_params_default();
    conv.pad_h = conv.pad_w = 1;
    clcnn_activation_params tanh_params = clcnn_activation_params_default();
    tanh_params.kind = CLCNN_ACTIVATION_TANH;
    clcnn_pool2d_params pool = clcnn_pool2d_params_default();
    pool.mode = CLCNN_POOL2D_AVG;
    pool.kernel_h = pool.kernel_w = 2;
    pool.stride_h = pool.stride_w = 2;
    TS_ASSERT_OK(ctx, clcnn_net_add_conv2d(net, "conv", 3, 3, 3, &conv, 1));
    TS_ASSERT_OK(ctx, clcnn_net_add_batchnorm(net, "bn", NULL));
    TS_ASSERT_OK(ctx, clcnn_net_add_activation(net, &tanh_params));
    TS_ASSERT_OK(ctx, clcnn_net_add_pool2d(net, &pool));
    TS_ASSERT_OK(ctx, clcnn_net_add_flatten(net));
    TS_ASSERT_OK(ctx, clcnn_net_add_dense(net, "fc", 4, 1));
    return net;
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

/* Every parameter gradient matches central differences of the network's
 * own loss (fp32, so the tolerance is loose: 3e-2 relative to the largest
 * gradient of the tensor); checks the wiring of forward and backward. */
static void test_backward_matches_finite_differences(void **state) {
    (void)state;
    clcnn_net *net = small_net();
    TS_ASSERT_OK(ctx, clcnn_net_init(net, 7));
    clcnn_tensor *input = tensor4(3, 2, 6, 5), *loss = NULL;
    size_t one = 1;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &one, &loss));
    float x[180];
    ts_fill_random(x, 180, 11, -2.0f, 2.0f);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(input, 0, x, 180));
    clcnn_labels *labels = NULL;
    const int32_t label_values[3] = {0, 3, 1};
    TS_ASSERT_OK(ctx, clcnn_labels_create(ctx, 3, 4, &labels));
    TS_ASSERT_OK(ctx, clcnn_labels_write(labels, label_values, 3));

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
        size_t samples = ts_small() ? 3 : 12;
        for (size_t e = 0; e < n; e += (n > samples ? n / samples : 1)) {
            const float h = 1e-2f, original = value[e];
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

/* ------------------------------------------------------------- real data */

typedef struct dataset {
    size_t count, side;
    float *pixels; /* normalised */
    int32_t *labels;
} dataset;

/* Samples are side x side: the whole 28 x 28 image, or its central crop. */
static dataset load_fashion(const char *prefix, size_t limit, size_t side) {
    const char *dir = getenv("CLCNN_FASHION_MNIST_DIR");
    char path[512], error[512];
    clcnn_idx *images = NULL, *labels = NULL;
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz",
             dir != NULL ? dir : "/usr/share/datasets/fashion-mnist", prefix);
    TS_ASSERT_OK(NULL, clcnn_idx_load(path, error, sizeof error, &images));
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte.gz",
             dir != NULL ? dir : "/usr/share/datasets/fashion-mnist", prefix);
    TS_ASSERT_OK(NULL, clcnn_idx_load(path, error, sizeof error, &labels));
    dataset d = {limit < images->dims[0] ? limit : images->dims[0], 0, NULL, NULL};
    d.side = side;
    d.pixels = ts_malloc(d.count * side * side * sizeof *d.pixels);
    d.labels = ts_malloc(d.count * sizeof *d.labels);
    size_t margin = (28 - side) / 2;
    for (size_t i = 0; i < d.count; i++)
        for (size_t y = 0; y < side; y++)
            for (size_t x = 0; x < side; x++) {
                unsigned char byte =
                    ((unsigned char *)images->data)[i * 784 + (y + margin) * 28 + x + margin];
                d.pixels[(i * side + y) * side + x] = (float)((byte / 255.0 - 0.2860) / 0.3530);
            }
    for (size_t i = 0; i < d.count; i++)
        d.labels[i] = ((unsigned char *)labels->data)[i];
    clcnn_idx_destroy(images);
    clcnn_idx_destroy(labels);
    return d;
}

static void free_dataset(dataset *d) {
    free(d->pixels);
    free(d->labels);
}

/* Predictions (argmax) of `net` on the first n samples, in batches of b. */
static size_t count_correct(clcnn_net *net, const dataset *d, size_t n, size_t b,
                            int32_t *predictions) {
    size_t image = d->side * d->side;
    clcnn_tensor *input = tensor4(b, 1, d->side, d->side);
    float *logits_host = ts_malloc(b * 10 * sizeof *logits_host);
    size_t correct = 0;
    TS_ASSERT_OK(ctx, clcnn_net_set_training(net, 0));
    for (size_t first = 0; first + b <= n; first += b) {
        const clcnn_tensor *logits;
        TS_ASSERT_OK(ctx, clcnn_tensor_write(input, 0, d->pixels + first * image, b * image));
        TS_ASSERT_OK(ctx, clcnn_net_forward(net, input, &logits));
        TS_ASSERT_OK(ctx, clcnn_tensor_read(logits, 0, logits_host, b * 10));
        for (size_t i = 0; i < b; i++) {
            int32_t best = 0;
            for (int32_t c = 1; c < 10; c++)
                if (logits_host[i * 10 + c] > logits_host[i * 10 + best])
                    best = c;
            predictions[first + i] = best;
            correct += best == d->labels[first + i];
        }
    }
    free(logits_host);
    clcnn_tensor_destroy(input);
    return correct;
}

/* Trains for `steps` SGD steps of batch b and returns the per-step losses. */
static void train(clcnn_net *net, const dataset *d, size_t steps, size_t b, float *losses) {
    size_t count = clcnn_net_parameter_count(net);
    clcnn_tensor *params[16], *grads[16];
    for (size_t i = 0; i < count; i++) {
        clcnn_net_tensor p;
        TS_ASSERT_OK(ctx, clcnn_net_parameter(net, i, &p));
        params[i] = p.value;
        grads[i] = p.grad;
    }
    clcnn_sgd_params sgd = clcnn_sgd_params_default();
    sgd.lr = 0.01;
    sgd.momentum = 0.9;
    sgd.weight_decay = 5e-4;
    clcnn_optimizer *optimizer = NULL;
    TS_ASSERT_OK(ctx, clcnn_optimizer_create_sgd(ctx, &sgd, count, params, grads, &optimizer));
    size_t image = d->side * d->side;
    clcnn_tensor *input = tensor4(b, 1, d->side, d->side), *loss = NULL;
    size_t one = 1;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &one, &loss));
    clcnn_labels *labels = NULL;
    TS_ASSERT_OK(ctx, clcnn_labels_create(ctx, b, 10, &labels));
    TS_ASSERT_OK(ctx, clcnn_net_set_training(net, 1));
    for (size_t step = 0; step < steps; step++) {
        size_t first = (step * b) % (d->count - b + 1);
        const clcnn_tensor *logits;
        TS_ASSERT_OK(ctx, clcnn_tensor_write(input, 0, d->pixels + first * image, b * image));
        TS_ASSERT_OK(ctx, clcnn_labels_write(labels, d->labels + first, b));
        TS_ASSERT_OK(ctx, clcnn_net_zero_grad(net));
        TS_ASSERT_OK(ctx, clcnn_net_forward(net, input, &logits));
        TS_ASSERT_OK(ctx, clcnn_net_loss(net, labels, loss));
        TS_ASSERT_OK(ctx, clcnn_net_backward(net));
        TS_ASSERT_OK(ctx, clcnn_optimizer_step(optimizer));
        TS_ASSERT_OK(ctx, clcnn_tensor_read(loss, 0, &losses[step], 1));
    }
    clcnn_labels_destroy(labels);
    clcnn_tensor_destroy(input);
    clcnn_tensor_destroy(loss);
    clcnn_optimizer_destroy(optimizer);
}

static double mean_of(const float *v, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    return sum / (double)n;
}

/* A CI-sized run: the loss falls, test accuracy is far above chance (10 %);
 * the same seed gives the same losses bit for bit; save -> load gives the
 * same predictions; the folded network predicts the same. */
static void test_training_run(void **state) {
    (void)state;
    const size_t side = test_side(), steps = ts_small() ? 2 : 100;
    const size_t batch = ts_small() ? 4 : 32, tested = ts_small() ? 8 : 512;
    dataset train_set = load_fashion("train", steps * batch, side);
    dataset test_set = load_fashion("t10k", tested, side);
    clcnn_net *net = seed_net(1, side, 0.5f), *twin = seed_net(1, side, 0.5f);
    TS_ASSERT_OK(ctx, clcnn_net_init(net, 42));
    TS_ASSERT_OK(ctx, clcnn_net_init(twin, 42));
    float *losses = ts_malloc(steps * sizeof *losses), *twin_losses = ts_malloc(steps * 4);
    train(net, &train_set, steps, batch, losses);
    train(twin, &train_set, steps, batch, twin_losses);
    TS_ASSERT_FLOATS_IDENTICAL(twin_losses, losses, steps);
    int32_t *predictions = ts_malloc(tested * sizeof *predictions);
    int32_t *again = ts_malloc(tested * sizeof *again);
    size_t correct = count_correct(net, &test_set, tested, batch, predictions);
    if (!ts_small()) {
        double first = mean_of(losses, 10), last = mean_of(losses + steps - 10, 10);
        fprintf(stderr, "training run: loss %.4f -> %.4f, %zu / %zu correct\n", first, last,
                correct, tested);
        if (!(last < 0.75 * first))
            fail_msg("loss did not fall: first 10 steps %.4f, last 10 %.4f", first, last);
        if (!(correct > tested * 2 / 5))
            fail_msg("test accuracy %zu / %zu is not far above chance", correct, tested);
    }

    char *dir = ts_temp_dir_create(), path[512];
    snprintf(path, sizeof path, "%s/net.safetensors", dir);
    const char *metadata[] = {"input_mean", "0.2860", "input_std", "0.3530", NULL};
    TS_ASSERT_OK(ctx, clcnn_net_save(net, path, metadata));
    clcnn_net *loaded = seed_net(1, side, 0.5f);
    TS_ASSERT_OK(ctx, clcnn_net_load(loaded, path));
    count_correct(loaded, &test_set, tested, batch, again);
    assert_memory_equal(again, predictions, tested * sizeof *again);

    clcnn_net *folded = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create_folded(net, &folded));
    assert_true(clcnn_net_layer_count(folded) < clcnn_net_layer_count(net));
    size_t folded_correct = count_correct(folded, &test_set, tested, batch, again);
    size_t differ = 0;
    for (size_t i = 0; i < tested; i++)
        differ += again[i] != predictions[i];
    if (differ > tested / 100 + 1 ||
        (folded_correct > correct ? folded_correct - correct : correct - folded_correct) > 2)
        fail_msg("folded network disagrees on %zu of %zu predictions", differ, tested);

    clcnn_safetensors *file = NULL;
    char error[256];
    TS_ASSERT_OK(NULL, clcnn_safetensors_load(path, error, sizeof error, &file));
    assert_string_equal(clcnn_safetensors_metadata(file, "input_mean"), "0.2860");
    const char *architecture = clcnn_safetensors_metadata(file, "architecture");
    assert_non_null(architecture);
    /* Floats in their shortest form, not as the double they widen to. */
    TS_ASSERT_CONTAINS(architecture, "\"eps\":1e-5}");
    TS_ASSERT_CONTAINS(architecture, "\"p\":0.5");
    const clcnn_safetensors_tensor *tracked =
        clcnn_safetensors_find(file, "bn1.num_batches_tracked");
    assert_non_null(tracked);
    assert_int_equal(tracked->dtype, CLCNN_DTYPE_I64);
    assert_int_equal(*(const int64_t *)tracked->data, (int64_t)steps);
    assert_int_equal(clcnn_safetensors_count(file), 18);
    clcnn_safetensors_destroy(file);

    clcnn_net_destroy(folded);
    clcnn_net_destroy(loaded);
    clcnn_net_destroy(twin);
    clcnn_net_destroy(net);
    ts_temp_dir_remove(dir);
    free(losses);
    free(twin_losses);
    free(predictions);
    free(again);
    free_dataset(&train_set);
    free_dataset(&test_set);
}

/* ---------------------------------------------------------- bad arguments */

/* Writes a copy of the seed net's checkpoint with one tensor changed. */
static void write_variant(const char *from, const char *to, const char *drop, const char *add) {
    clcnn_safetensors *in = NULL, *out = NULL;
    char error[256];
    TS_ASSERT_OK(NULL, clcnn_safetensors_load(from, error, sizeof error, &in));
    TS_ASSERT_OK(NULL, clcnn_safetensors_create(&out));
    for (size_t i = 0; i < clcnn_safetensors_count(in); i++) {
        const clcnn_safetensors_tensor *t = clcnn_safetensors_at(in, i);
        if (drop != NULL && strcmp(t->name, drop) == 0)
            continue;
        TS_ASSERT_OK(NULL,
                     clcnn_safetensors_add(out, t->name, t->dtype, t->ndim, t->dims, t->data));
    }
    if (add != NULL) {
        const float value[2] = {1, 2};
        const size_t dims[1] = {2};
        TS_ASSERT_OK(NULL, clcnn_safetensors_add(out, add, CLCNN_DTYPE_F32, 1, dims, value));
    }
    TS_ASSERT_OK(NULL, clcnn_safetensors_save(out, to, error, sizeof error));
    clcnn_safetensors_destroy(in);
    clcnn_safetensors_destroy(out);
}

static void test_bad_checkpoints(void **state) {
    (void)state;
    const size_t side = test_side();
    clcnn_net *net = seed_net(1, side, 0.5f), *other = seed_net(1, side, 0.5f);
    TS_ASSERT_OK(ctx, clcnn_net_init(net, 3));
    TS_ASSERT_OK(ctx, clcnn_net_init(other, 4));
    char *dir = ts_temp_dir_create(), good[512], bad[512];
    snprintf(good, sizeof good, "%s/good.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    TS_ASSERT_OK(ctx, clcnn_net_save(net, good, NULL));
    clcnn_net_tensor before;
    TS_ASSERT_OK(ctx, clcnn_net_parameter(other, 0, &before));
    float *original = read_all(before.value);

    write_variant(good, bad, "fc2.bias", NULL);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CORRUPT_FILE, clcnn_net_load(other, bad));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "fc2.bias");
    write_variant(good, bad, "fc2.bias", "fc2.bias");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CORRUPT_FILE, clcnn_net_load(other, bad));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "fc2.bias");
    write_variant(good, bad, NULL, "fc3.weight");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CORRUPT_FILE, clcnn_net_load(other, bad));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "fc3.weight");
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_IO, clcnn_net_load(other, "/nonexistent.safetensors"));
    /* A rejected file leaves the network as it was. */
    float *after = read_all(before.value);
    TS_ASSERT_FLOATS_IDENTICAL(after, original, clcnn_tensor_numel(before.value));

    /* The wrong architecture: a 3-channel network's conv1 is [32, 3, 3, 3]. */
    clcnn_net *rgb = seed_net(3, side, 0.5f);
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_CORRUPT_FILE, clcnn_net_load(rgb, good));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "conv1.weight");
    clcnn_net_destroy(rgb);
    free(original);
    free(after);
    ts_temp_dir_remove(dir);
    clcnn_net_destroy(net);
    clcnn_net_destroy(other);
}

static void test_bad_arguments(void **state) {
    (void)state;
    size_t dims[3] = {1, 28, 28}, zero[3] = {1, 0, 28};
    clcnn_net *net = NULL;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_create(NULL, 3, dims, &net));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_net_create(ctx, 4, dims, &net));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_net_create(ctx, 3, zero, &net));
    TS_ASSERT_OK(ctx, clcnn_net_create(ctx, 3, dims, &net));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_net_add_dense(net, "fc", 10, 1));
    TS_ASSERT_OK(ctx, clcnn_net_add_flatten(net));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE,
                     clcnn_net_add_conv2d(net, "conv", 4, 3, 3, NULL, 1));
    TS_ASSERT_OK(ctx, clcnn_net_add_dense(net, "fc", 10, 1));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_add_dense(net, "fc", 10, 1));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_add_dense(net, "a..b", 10, 1));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_add_dense(net, "a.b-c", 10, 1));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_add_dense(net, "fc.", 10, 1));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_add_dropout(net, 1.0f));
    TS_ASSERT_OK(ctx, clcnn_net_init(net, 42));

    clcnn_tensor *wrong = tensor4(2, 1, 28, 27), *right = tensor4(2, 1, 28, 28);
    const clcnn_tensor *logits;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_SHAPE, clcnn_net_forward(net, wrong, &logits));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_backward(net));
    TS_ASSERT_OK(ctx, clcnn_net_forward(net, right, &logits));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_add_flatten(net));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_backward(net)); /* no loss */
    assert_int_equal(clcnn_tensor_dim(logits, 1), 10);
    clcnn_tensor_destroy(wrong);
    clcnn_tensor_destroy(right);
    clcnn_net_destroy(net);
    clcnn_net_destroy(NULL);
}

/* ------------------------------------------------------------------ fusion */

/* A network whose ReLUs the runtime fuses (kind RELU: into the batch norm
 * before it in both modes, into the convolution before it -- with the batch
 * norm in eval -- or right after a convolution in training), or its twin
 * with leaky ReLUs of slope 0, the same function that nothing fuses. */
static clcnn_net *fusion_net(int fused) {
    size_t dims[3] = {2, 7, 6};
    clcnn_net *net = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create(ctx, 3, dims, &net));
    clcnn_conv2d_params same = clcnn_conv2d_params_default(), one = same;
    same.pad_h = same.pad_w = 1;
    clcnn_activation_params act = clcnn_activation_params_default();
    if (!fused) {
        act.kind = CLCNN_ACTIVATION_LEAKY_RELU;
        act.negative_slope = 0.0f;
    }
    clcnn_pool2d_params pool = clcnn_pool2d_params_default();
    pool.kernel_h = pool.kernel_w = 2;
    TS_ASSERT_OK(ctx, clcnn_net_add_conv2d(net, "conv1", 5, 3, 3, &same, 1));
    TS_ASSERT_OK(ctx, clcnn_net_add_batchnorm(net, "bn1", NULL));
    TS_ASSERT_OK(ctx, clcnn_net_add_activation(net, &act));
    TS_ASSERT_OK(ctx, clcnn_net_add_pool2d(net, &pool));
    TS_ASSERT_OK(ctx, clcnn_net_add_conv2d(net, "conv2", 4, 3, 3, &same, 1));
    TS_ASSERT_OK(ctx, clcnn_net_add_activation(net, &act));
    TS_ASSERT_OK(ctx, clcnn_net_add_conv2d(net, "conv3", 3, 1, 1, &one, 0));
    TS_ASSERT_OK(ctx, clcnn_net_add_batchnorm(net, "bn3", NULL));
    TS_ASSERT_OK(ctx, clcnn_net_add_activation(net, &act));
    TS_ASSERT_OK(ctx, clcnn_net_add_flatten(net));
    TS_ASSERT_OK(ctx, clcnn_net_add_dense(net, "fc", 3, 1));
    TS_ASSERT_OK(ctx, clcnn_net_init(net, 5));
    return net;
}

/* |a - b| <= tol * (1 + |b|) element-wise, naming the first failure. */
static void assert_close(const char *what, const float *a, const float *b, size_t n, double tol) {
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)a[i] - (double)b[i]) <= tol * (1.0 + fabs((double)b[i]))))
            fail_msg("%s[%zu]: %.9g vs %.9g", what, i, (double)a[i], (double)b[i]);
}

/* A tensor of `net`'s state dict by name (running statistics included). */
static clcnn_tensor *state_tensor(clcnn_net *net, const char *name) {
    clcnn__node_tensor *entry = clcnn__net_state_named(net, name);
    assert_non_null(entry);
    return entry->value;
}

/* A new tensor [dims[0..ndim-1]]. */
static clcnn_tensor *new_tensor(size_t ndim, const size_t *dims) {
    clcnn_tensor *t = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, ndim, dims, &t));
    return t;
}

/* The convolution called `name` of fusion_net with the plain op. */
static clcnn_tensor *plain_conv(clcnn_net *net, const char *name, size_t pad, int bias,
                                const clcnn_tensor *x) {
    char weight_name[64], bias_name[64];
    snprintf(weight_name, sizeof weight_name, "%s.weight", name);
    snprintf(bias_name, sizeof bias_name, "%s.bias", name);
    const clcnn_tensor *w = state_tensor(net, weight_name);
    clcnn_conv2d_params conv = clcnn_conv2d_params_default();
    conv.pad_h = conv.pad_w = pad;
    size_t x_dims[4], w_dims[4], y_dims[4];
    for (size_t d = 0; d < 4; d++) {
        x_dims[d] = clcnn_tensor_dim(x, d);
        w_dims[d] = clcnn_tensor_dim(w, d);
    }
    TS_ASSERT_OK(ctx, clcnn_conv2d_output_shape(&conv, x_dims, w_dims, y_dims));
    clcnn_tensor *y = new_tensor(4, y_dims);
    TS_ASSERT_OK(
        ctx, clcnn_conv2d_forward(ctx, &conv, x, w, bias ? state_tensor(net, bias_name) : NULL, y));
    return y;
}

/* The batch norm called `name` in eval (running statistics), unfused. */
static clcnn_tensor *plain_batchnorm(clcnn_net *net, const char *name, const clcnn_tensor *x) {
    char names[4][64];
    const char *suffixes[4] = {"weight", "bias", "running_mean", "running_var"};
    for (size_t i = 0; i < 4; i++)
        snprintf(names[i], sizeof names[i], "%s.%s", name, suffixes[i]);
    clcnn_batchnorm_state running = {state_tensor(net, names[2]), state_tensor(net, names[3]), 0};
    clcnn_batchnorm_params params = clcnn_batchnorm_params_default();
    assert_int_equal(params.activation, CLCNN_FUSED_NONE);
    size_t dims[4];
    for (size_t d = 0; d < 4; d++)
        dims[d] = clcnn_tensor_dim(x, d);
    clcnn_tensor *y = new_tensor(4, dims);
    TS_ASSERT_OK(ctx, clcnn_batchnorm_forward_eval(ctx, &params, x, state_tensor(net, names[0]),
                                                   state_tensor(net, names[1]), &running, y));
    return y;
}

static clcnn_tensor *plain_activation(const clcnn_activation_params *act, const clcnn_tensor *x) {
    size_t dims[4];
    for (size_t d = 0; d < 4; d++)
        dims[d] = clcnn_tensor_dim(x, d);
    clcnn_tensor *y = new_tensor(4, dims);
    TS_ASSERT_OK(ctx, clcnn_activation_forward(ctx, act, x, y));
    return y;
}

/* The eval forward of fusion_net layer by layer with the plain ops
 * (nothing fused, batch norm from its running statistics): the
 * composition that the fused forward must equal. */
static float *unfused_eval_logits(clcnn_net *net, const clcnn_activation_params *act,
                                  const clcnn_tensor *input) {
    clcnn_tensor *t[10] = {NULL};
    t[0] = plain_conv(net, "conv1", 1, 1, input);
    t[1] = plain_batchnorm(net, "bn1", t[0]);
    t[2] = plain_activation(act, t[1]);
    clcnn_pool2d_params pool = clcnn_pool2d_params_default();
    pool.kernel_h = pool.kernel_w = 2;
    size_t x_dims[4], pooled[4];
    for (size_t d = 0; d < 4; d++)
        x_dims[d] = clcnn_tensor_dim(t[2], d);
    TS_ASSERT_OK(ctx, clcnn_pool2d_output_shape(ctx, &pool, x_dims, pooled));
    t[3] = new_tensor(4, pooled);
    TS_ASSERT_OK(ctx, clcnn_pool2d_forward(ctx, &pool, t[2], t[3]));
    t[4] = plain_conv(net, "conv2", 1, 1, t[3]);
    t[5] = plain_activation(act, t[4]);
    t[6] = plain_conv(net, "conv3", 0, 0, t[5]);
    t[7] = plain_batchnorm(net, "bn3", t[6]);
    t[8] = plain_activation(act, t[7]);
    size_t batch = clcnn_tensor_dim(input, 0), flat[2] = {batch, clcnn_tensor_numel(t[8]) / batch};
    TS_ASSERT_OK(ctx, clcnn_tensor_reshape(t[8], 2, flat, &t[9]));
    size_t out[2] = {batch, 3};
    clcnn_tensor *logits = new_tensor(2, out);
    TS_ASSERT_OK(ctx, clcnn_dense_forward(ctx, t[9], state_tensor(net, "fc.weight"),
                                          state_tensor(net, "fc.bias"), logits));
    float *values = read_all(logits);
    clcnn_tensor_destroy(logits);
    for (size_t i = 0; i < 10; i++)
        clcnn_tensor_destroy(t[i]);
    return values;
}

static float *logits_of(clcnn_net *net, const clcnn_tensor *input) {
    const clcnn_tensor *logits = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_forward(net, input, &logits));
    return read_all(logits);
}

/* One SGD step (lr 0.1, momentum 0.9) of each network on the same batch;
 * returns the losses. */
static void sgd_steps(clcnn_net *nets[2], clcnn_optimizer *optimizers[2], const clcnn_tensor *input,
                      const clcnn_labels *labels, clcnn_tensor *loss, float losses[2]) {
    for (int k = 0; k < 2; k++) {
        TS_ASSERT_OK(ctx, clcnn_net_set_training(nets[k], 1));
        TS_ASSERT_OK(ctx, clcnn_net_zero_grad(nets[k]));
        losses[k] = (float)loss_of(nets[k], input, labels, loss);
        TS_ASSERT_OK(ctx, clcnn_net_backward(nets[k]));
        TS_ASSERT_OK(ctx, clcnn_optimizer_step(optimizers[k]));
    }
}

/* Training with the fusions gives the unfused twin's losses and parameters
 * (the same arithmetic: 1e-6 relative); eval with batch norm, ReLU and max
 * pool fused into the convolutions' epilogues gives the logits of the plain
 * ops one layer at a time, of the twin (whose eval fuses batch norm only)
 * and of the folded network, within 1e-4 relative to the logits' size --
 * also after the parameters and running statistics change (no stale
 * affine). */
static void test_fused_matches_unfused(void **state) {
    (void)state;
    clcnn_net *nets[2] = {fusion_net(1), fusion_net(0)};
    const size_t batch = 3, count = batch * 2 * 7 * 6;
    clcnn_tensor *input = tensor4(batch, 2, 7, 6), *loss = NULL;
    size_t one = 1;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &one, &loss));
    float *x = ts_malloc(count * sizeof *x);
    ts_fill_random(x, count, 21, -2.0f, 2.0f);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(input, 0, x, count));
    clcnn_labels *labels = NULL;
    const int32_t label_values[3] = {2, 0, 1};
    TS_ASSERT_OK(ctx, clcnn_labels_create(ctx, batch, 3, &labels));
    TS_ASSERT_OK(ctx, clcnn_labels_write(labels, label_values, batch));

    size_t params = clcnn_net_parameter_count(nets[0]);
    assert_int_equal(params, clcnn_net_parameter_count(nets[1]));
    clcnn_optimizer *optimizers[2];
    for (int k = 0; k < 2; k++) {
        clcnn_tensor *values[16], *grads[16];
        assert_true(params <= 16);
        for (size_t i = 0; i < params; i++) {
            clcnn_net_tensor p;
            TS_ASSERT_OK(ctx, clcnn_net_parameter(nets[k], i, &p));
            values[i] = p.value;
            grads[i] = p.grad;
        }
        clcnn_sgd_params sgd = clcnn_sgd_params_default();
        sgd.lr = 0.1;
        sgd.momentum = 0.9;
        TS_ASSERT_OK(ctx,
                     clcnn_optimizer_create_sgd(ctx, &sgd, params, values, grads, &optimizers[k]));
    }

    for (int round = 0; round < 2; round++) {
        /* Two training steps, then eval of both, the folded network too. */
        for (int step = 0; step < 2; step++) {
            float losses[2];
            sgd_steps(nets, optimizers, input, labels, loss, losses);
            assert_true(isfinite(losses[0]));
            assert_close("loss", &losses[0], &losses[1], 1, 1e-6);
        }
        for (size_t i = 0; i < params; i++) {
            clcnn_net_tensor p[2];
            TS_ASSERT_OK(ctx, clcnn_net_parameter(nets[0], i, &p[0]));
            TS_ASSERT_OK(ctx, clcnn_net_parameter(nets[1], i, &p[1]));
            float *a = read_all(p[0].value), *b = read_all(p[1].value);
            assert_close(p[0].name, a, b, clcnn_tensor_numel(p[0].value), 1e-6);
            free(a);
            free(b);
        }
        TS_ASSERT_OK(ctx, clcnn_net_set_training(nets[0], 0));
        TS_ASSERT_OK(ctx, clcnn_net_set_training(nets[1], 0));
        float *fused = logits_of(nets[0], input), *plain = logits_of(nets[1], input);
        clcnn_activation_params relu = clcnn_activation_params_default();
        float *composed = unfused_eval_logits(nets[0], &relu, input);
        clcnn_net *folded = NULL;
        TS_ASSERT_OK(ctx, clcnn_net_create_folded(nets[0], &folded));
        float *from_folded = logits_of(folded, input);
        double size = 0.0, spread = 0.0;
        for (size_t i = 0; i < batch * 3; i++) {
            size = fmax(size, fabs((double)plain[i]));
            spread = fmax(spread, fabs((double)plain[i] - (double)plain[0]));
        }
        assert_true(spread > 1e-3); /* the logits say something */
        for (size_t i = 0; i < batch * 3; i++) {
            assert_true(fabs((double)fused[i] - (double)plain[i]) <= 1e-4 * (1.0 + size));
            assert_true(fabs((double)from_folded[i] - (double)plain[i]) <= 1e-4 * (1.0 + size));
            assert_true(fabs((double)composed[i] - (double)fused[i]) <= 1e-4 * (1.0 + size));
        }
        free(composed);
        /* Eval twice gives the same bits. */
        float *again = logits_of(nets[0], input);
        assert_memory_equal(again, fused, batch * 3 * sizeof *again);
        free(again);
        free(fused);
        free(plain);
        free(from_folded);
        clcnn_net_destroy(folded);
    }
    clcnn_optimizer_destroy(optimizers[0]);
    clcnn_optimizer_destroy(optimizers[1]);
    clcnn_labels_destroy(labels);
    clcnn_tensor_destroy(input);
    clcnn_tensor_destroy(loss);
    clcnn_net_destroy(nets[0]);
    clcnn_net_destroy(nets[1]);
    free(x);
}

/* ------------------------------------------------- one-launch zero_grad, step */

/* The kernel launches of the profile: every one, and those of `kernel`. */
static uint64_t profiled_launches(clcnn_context *pctx, const char *kernel, uint64_t *of_kernel) {
    clcnn_profile *profile = NULL;
    TS_ASSERT_OK(pctx, clcnn_context_profile_stop(pctx, &profile));
    clcnn_profile_totals totals;
    TS_ASSERT_OK(pctx, clcnn_profile_totals_get(profile, &totals));
    clcnn_profile_entry entry;
    clcnn_status found = clcnn_profile_find(profile, kernel, &entry);
    *of_kernel = found == CLCNN_OK ? entry.launches : 0;
    clcnn_profile_destroy(profile);
    return totals.launches;
}

/* The seed network's parameters live in two arenas: zero_grad is one fill
 * that zeroes every gradient, and a plain SGD step over the parameters in
 * state-dict order is one launch that gives every element exactly
 * p - lr * g (float, no contraction, as the per-tensor kernel computes). */
static void test_zero_grad_and_step_one_launch(void **state) {
    (void)state;
    clcnn_context_options options = clcnn_context_options_default();
    options.enable_profiling = 1;
    clcnn_context *pctx = ts_context_create_with(&options);
    const size_t side = 8, batch = 3;
    clcnn_net *net = NULL;
    TS_ASSERT_OK(pctx, clcnn_net_create_seed(pctx, 1, side, side, 10, 0.0f, &net));
    TS_ASSERT_OK(pctx, clcnn_net_init(net, 77));
    const size_t in_dims[4] = {batch, 1, side, side}, one = 1;
    float *pixels = ts_random_floats(batch * side * side, 78u, -1.0f, 1.0f);
    clcnn_tensor *input = ts_tensor_create(pctx, 4, in_dims, pixels);
    clcnn_tensor *loss = ts_tensor_create(pctx, 1, &one, NULL);
    clcnn_labels *labels = NULL;
    const int32_t classes[3] = {1, 7, 4};
    TS_ASSERT_OK(pctx, clcnn_labels_create(pctx, batch, 10, &labels));
    TS_ASSERT_OK(pctx, clcnn_labels_write(labels, classes, batch));
    const clcnn_tensor *logits = NULL;
    TS_ASSERT_OK(pctx, clcnn_net_forward(net, input, &logits));
    TS_ASSERT_OK(pctx, clcnn_net_loss(net, labels, loss));
    TS_ASSERT_OK(pctx, clcnn_net_backward(net));

    size_t count = clcnn_net_parameter_count(net), nonzero = 0;
    assert_int_equal(count, 12);
    clcnn_tensor *params[12], *grads[12];
    float *before[12], *grad_values[12];
    for (size_t i = 0; i < count; i++) {
        clcnn_net_tensor t;
        TS_ASSERT_OK(pctx, clcnn_net_parameter(net, i, &t));
        params[i] = t.value;
        grads[i] = t.grad;
        before[i] = ts_tensor_read_all(params[i]);
        grad_values[i] = ts_tensor_read_all(grads[i]);
        for (size_t e = 0; e < clcnn_tensor_numel(grads[i]); e++)
            nonzero += grad_values[i][e] != 0.0f;
    }
    assert_true(nonzero > 0);

    const float lr = 0.125f;
    clcnn_sgd_params sgd = clcnn_sgd_params_default();
    sgd.lr = lr;
    clcnn_optimizer *opt = NULL;
    TS_ASSERT_OK(pctx, clcnn_optimizer_create_sgd(pctx, &sgd, count, params, grads, &opt));
    uint64_t updates = 0, fills = 0;
    TS_ASSERT_OK(pctx, clcnn_context_profile_start(pctx));
    TS_ASSERT_OK(pctx, clcnn_optimizer_step(opt));
    assert_int_equal(profiled_launches(pctx, "sgd_step", &updates), 1);
    assert_int_equal(updates, 1);
    for (size_t i = 0; i < count; i++) {
        size_t n = clcnn_tensor_numel(params[i]);
        float *after = ts_tensor_read_all(params[i]);
        float *expected = ts_malloc(n * sizeof *expected);
        for (size_t e = 0; e < n; e++) {
            float step = lr * grad_values[i][e];
            expected[e] = before[i][e] - step;
        }
        TS_ASSERT_FLOATS_IDENTICAL(after, expected, n);
        free(after);
        free(expected);
    }

    TS_ASSERT_OK(pctx, clcnn_context_profile_start(pctx));
    TS_ASSERT_OK(pctx, clcnn_net_zero_grad(net));
    assert_int_equal(profiled_launches(pctx, "fill_float", &fills), 1);
    assert_int_equal(fills, 1);
    for (size_t i = 0; i < count; i++) {
        float *zeroed = ts_tensor_read_all(grads[i]);
        for (size_t e = 0; e < clcnn_tensor_numel(grads[i]); e++)
            if (zeroed[e] != 0.0f) {
                print_error("%zu: gradient element %zu is %g after zero_grad\n", i, e,
                            (double)zeroed[e]);
                fail();
            }
        free(zeroed);
        free(before[i]);
        free(grad_values[i]);
    }
    clcnn_optimizer_destroy(opt);
    clcnn_labels_destroy(labels);
    clcnn_tensor_destroy(loss);
    clcnn_tensor_destroy(input);
    free(pixels);
    clcnn_net_destroy(net);
    clcnn_context_destroy(pctx);
}

/* An inference-only network holds no training memory; a training forward
 * keeps what its backward reads (at least conv1's output) until the
 * backward pass, which gives it back with the output gradients it made; a
 * change of mode forgets the last forward pass. */
static void test_training_memory_is_lazy(void **state) {
    (void)state;
    size_t side = test_side(), n = 4;
    clcnn_net *net = seed_net(1, side, 0.5f);
    TS_ASSERT_OK(ctx, clcnn_net_init(net, 3));
    TS_ASSERT_OK(ctx, clcnn_net_set_training(net, 0));
    clcnn_tensor *input = tensor4(n, 1, side, side), *loss = NULL;
    float *pixels = ts_random_floats(n * side * side, 5, -1.0f, 1.0f);
    TS_ASSERT_OK(ctx, clcnn_tensor_write(input, 0, pixels, n * side * side));
    size_t one = 1;
    TS_ASSERT_OK(ctx, clcnn_tensor_create(ctx, 1, &one, &loss));
    clcnn_labels *labels = NULL;
    const int32_t classes[4] = {1, 7, 0, 9};
    TS_ASSERT_OK(ctx, clcnn_labels_create(ctx, n, 10, &labels));
    TS_ASSERT_OK(ctx, clcnn_labels_write(labels, classes, n));

    clcnn_memory_stats eval_memory, train_memory;
    double eval_loss = loss_of(net, input, labels, loss);
    assert_true(isfinite(eval_loss) && eval_loss > 0.0);
    TS_ASSERT_OK(ctx, clcnn_context_memory_stats(ctx, &eval_memory));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_backward(net));

    TS_ASSERT_OK(ctx, clcnn_net_set_training(net, 1));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_net_loss(net, labels, loss));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "no forward pass");
    double train_loss = loss_of(net, input, labels, loss);
    assert_true(isfinite(train_loss) && train_loss > 0.0);
    TS_ASSERT_OK(ctx, clcnn_context_memory_stats(ctx, &train_memory));
    uint64_t conv1_output = (uint64_t)n * 32 * side * side * sizeof(float);
    assert_true(train_memory.bytes_in_use >= eval_memory.bytes_in_use + conv1_output);
    TS_ASSERT_OK(ctx, clcnn_net_backward(net));
    clcnn_memory_stats after_backward;
    TS_ASSERT_OK(ctx, clcnn_context_memory_stats(ctx, &after_backward));
    assert_true(after_backward.bytes_in_use < eval_memory.bytes_in_use + conv1_output);

    free(pixels);
    clcnn_labels_destroy(labels);
    clcnn_tensor_destroy(loss);
    clcnn_tensor_destroy(input);
    clcnn_net_destroy(net);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parameter_names),
        cmocka_unit_test(test_initialisation),
        cmocka_unit_test(test_built_network_is_initialised),
        cmocka_unit_test(test_layer_shape_messages),
        cmocka_unit_test(test_layer_kind_of_a_bad_index),
        cmocka_unit_test(test_backward_matches_finite_differences),
        cmocka_unit_test(test_training_run),
        cmocka_unit_test(test_bad_checkpoints),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_fused_matches_unfused),
        cmocka_unit_test(test_zero_grad_and_step_one_launch),
        cmocka_unit_test(test_training_memory_is_lazy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
