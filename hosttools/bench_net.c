/* clcnn-bench network benchmarks (docs/benchmarks.md): the seed network on
 * Fashion-MNIST-sized (1x28x28) and CIFAR-sized (3x32x32) inputs and
 * ResNet-8 (clcnn_net_create_resnet8) on 1x28x28, a
 * training step (zero_grad, forward, loss, backward, SGD-momentum update)
 * and an eval-mode forward pass, with the device memory the library holds.
 * Each benchmark runs on a context of its own, so that the memory figures
 * are the network's alone. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "clcnn/net.h"
#include "clcnn/optim.h"

#define CLASSES 10
#define DROPOUT_P 0.5f
#define INIT_SEED 1u
#define DATA_SEED 2024u
#define MIB_F (1024.0 * 1024.0)

/* The docs' training recipe (the reference's update costs the same with any
 * values: weight decay adds one term). */
#define SGD_LR 0.05
#define SGD_MOMENTUM 0.9
#define SGD_WEIGHT_DECAY 5e-4

typedef enum net_model { NET_SEED, NET_RESNET8 } net_model;

typedef struct net_case {
    net_model model;
    size_t channels, height, width;
    int training;
} net_case;

static const net_case net_cases[] = {{NET_SEED, 1, 28, 28, 1},    {NET_SEED, 1, 28, 28, 0},
                                     {NET_SEED, 3, 32, 32, 1},    {NET_SEED, 3, 32, 32, 0},
                                     {NET_RESNET8, 1, 28, 28, 1}, {NET_RESNET8, 1, 28, 28, 0}};

typedef struct net_state {
    const char *name;
    clcnn_context *ctx;
    clcnn_net *net;
    clcnn_tensor *input;
    clcnn_labels *labels;
    clcnn_tensor *loss;
    clcnn_optimizer *optimizer;
    clcnn_tensor **params; /* parameter and gradient lists of the optimizer */
    clcnn_tensor **grads;
} net_state;

static int net_failed(const net_state *n, const char *what, clcnn_status status) {
    return status == CLCNN_OK ? 0 : bench_fail(what, status, n->ctx);
}

/* ------------------------------------------------------------------ steps */

static int train_step(void *p) {
    net_state *n = p;
    const clcnn_tensor *logits = NULL;
    clcnn_status status = clcnn_net_zero_grad(n->net);
    if (status == CLCNN_OK)
        status = clcnn_net_forward(n->net, n->input, &logits);
    if (status == CLCNN_OK)
        status = clcnn_net_loss(n->net, n->labels, n->loss);
    if (status == CLCNN_OK)
        status = clcnn_net_backward(n->net);
    if (status == CLCNN_OK)
        status = clcnn_optimizer_step(n->optimizer);
    return net_failed(n, n->name, status);
}

static int infer_step(void *p) {
    net_state *n = p;
    const clcnn_tensor *logits = NULL;
    return net_failed(n, n->name, clcnn_net_forward(n->net, n->input, &logits));
}

/* ------------------------------------------------------------------ set-up */

/* Fixed pseudo-random inputs in [-1, 1) and labels in [0, CLASSES). */
static int write_batch(net_state *n, size_t batch) {
    size_t count = clcnn_tensor_numel(n->input);
    float *pixels = malloc(count * sizeof *pixels);
    int32_t *labels = malloc(batch * sizeof *labels);
    clcnn_status status = CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    if (pixels != NULL && labels != NULL) {
        uint32_t state = DATA_SEED;
        for (size_t i = 0; i < count; i++) {
            state = state * 1664525u + 1013904223u;
            pixels[i] = (float)(state >> 8) / (float)(1u << 23) - 1.0f;
        }
        for (size_t i = 0; i < batch; i++) {
            state = state * 1664525u + 1013904223u;
            labels[i] = (int32_t)((state >> 16) % CLASSES);
        }
        status = clcnn_tensor_write(n->input, 0, pixels, count);
        if (status == CLCNN_OK)
            status = clcnn_labels_write(n->labels, labels, batch);
    }
    free(pixels);
    free(labels);
    return net_failed(n, "writing the batch", status);
}

static int make_optimizer(net_state *n) {
    size_t count = clcnn_net_parameter_count(n->net);
    n->params = calloc(count, sizeof *n->params);
    n->grads = calloc(count, sizeof *n->grads);
    if (count == 0 || n->params == NULL || n->grads == NULL)
        return bench_fail_message("listing parameters", CLCNN_ERROR_OUT_OF_HOST_MEMORY, NULL);
    for (size_t i = 0; i < count; i++) {
        clcnn_net_tensor tensor;
        if (net_failed(n, "listing parameters", clcnn_net_parameter(n->net, i, &tensor)) != 0)
            return -1;
        n->params[i] = tensor.value;
        n->grads[i] = tensor.grad;
    }
    clcnn_sgd_params sgd = clcnn_sgd_params_default();
    sgd.lr = SGD_LR;
    sgd.momentum = SGD_MOMENTUM;
    sgd.weight_decay = SGD_WEIGHT_DECAY;
    return net_failed(
        n, "creating the optimizer",
        clcnn_optimizer_create_sgd(n->ctx, &sgd, count, n->params, n->grads, &n->optimizer));
}

static clcnn_status create_network(const net_case *nc, net_state *n) {
    if (nc->model == NET_RESNET8)
        return clcnn_net_create_resnet8(n->ctx, nc->channels, nc->height, nc->width, CLASSES,
                                        &n->net);
    return clcnn_net_create_seed(n->ctx, nc->channels, nc->height, nc->width, CLASSES, DROPOUT_P,
                                 &n->net);
}

static int net_setup(bench_session *s, const net_case *nc, net_state *n) {
    size_t batch = s->run->batch;
    const size_t input_dims[4] = {batch, nc->channels, nc->height, nc->width};
    const size_t loss_dims[1] = {1};
    if (bench_own_context(s, &n->ctx) != 0)
        return -1;
    if (net_failed(n, "creating the network", create_network(nc, n)) != 0 ||
        net_failed(n, "initialising the network", clcnn_net_init(n->net, INIT_SEED)) != 0 ||
        net_failed(n, "setting the mode", clcnn_net_set_training(n->net, nc->training)) != 0 ||
        net_failed(n, "creating the input",
                   clcnn_tensor_create(n->ctx, 4, input_dims, &n->input)) != 0 ||
        net_failed(n, "creating labels", clcnn_labels_create(n->ctx, batch, CLASSES, &n->labels)) !=
            0 ||
        write_batch(n, batch) != 0)
        return -1;
    if (!nc->training)
        return 0;
    if (net_failed(n, "creating the loss", clcnn_tensor_create(n->ctx, 1, loss_dims, &n->loss)) !=
        0)
        return -1;
    return make_optimizer(n);
}

static void net_release(net_state *n) {
    clcnn_optimizer_destroy(n->optimizer);
    free(n->params);
    free(n->grads);
    clcnn_tensor_destroy(n->loss);
    clcnn_labels_destroy(n->labels);
    clcnn_tensor_destroy(n->input);
    clcnn_net_destroy(n->net);
    clcnn_context_destroy(n->ctx);
}

/* ----------------------------------------------------------------- results */

/* Memory between steps (the queue is drained) and at the peak, and the
 * last training loss, which shows the step computed numbers. */
static int net_extras(net_state *n, const net_case *nc, size_t batch, bench_result *result) {
    clcnn_memory_stats memory;
    if (net_failed(n, "reading memory statistics", clcnn_context_memory_stats(n->ctx, &memory)) !=
        0)
        return -1;
    bench_result_extra(result, "batch", (double)batch);
    bench_result_extra(result, "peak_mib", (double)memory.peak_bytes / MIB_F);
    bench_result_extra(result, "held_mib", (double)memory.bytes_in_use / MIB_F);
    bench_result_extra(result, "pooled_mib", (double)memory.bytes_pooled / MIB_F);
    if (!nc->training)
        return 0;
    float loss = 0.0f;
    if (net_failed(n, "reading the loss", clcnn_tensor_read(n->loss, 0, &loss, 1)) != 0)
        return -1;
    bench_result_extra(result, "loss", (double)loss);
    bench_result_flag(result, "loss_finite", isfinite(loss));
    return 0;
}

static int bench_net(bench_session *s, const bench_entry *entry, bench_result *result) {
    const net_case *nc = entry->param;
    net_state n = {entry->name, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    bench_timing timing;
    int failed = net_setup(s, nc, &n) != 0;
    if (!failed) {
        bench_region region = {entry->name, n.ctx, nc->training ? train_step : infer_step, &n};
        failed = bench_time_region(s, &region, &timing) != 0;
    }
    if (!failed) {
        bench_result_from_timing(result, entry->name, "ms", &timing);
        failed = net_extras(&n, nc, s->run->batch, result) != 0;
    }
    if (!failed && s->run->profile) {
        bench_region region = {entry->name, n.ctx, nc->training ? train_step : infer_step, &n};
        failed = bench_profile_region(&region, result) != 0;
    }
    net_release(&n);
    return failed ? -1 : 0;
}

const bench_entry bench_net_entries[] = {
    {"net_fmnist_train_step", bench_net, &net_cases[0]},
    {"net_fmnist_infer", bench_net, &net_cases[1]},
    {"net_cifar_train_step", bench_net, &net_cases[2]},
    {"net_cifar_infer", bench_net, &net_cases[3]},
    {"net_resnet8_train_step", bench_net, &net_cases[4]},
    {"net_resnet8_infer", bench_net, &net_cases[5]},
};
const size_t bench_net_entry_count = sizeof bench_net_entries / sizeof bench_net_entries[0];
