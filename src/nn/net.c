/* Building a network: layers appended in order, each checked against the
 * shape the previous one produces, with the numbers of the mismatch in the
 * message when it does not fit. Parameters: net_params.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/net_internal.h"

static clcnn_status net_create(clcnn_context *context, size_t ndim, const size_t *dims,
                               clcnn_net **out) {
    if (out == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (dims == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "dims is NULL");
    if (ndim == 0 || ndim > CLCNN__SAMPLE_DIMS)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_SHAPE,
                           "a sample has 1 to %d dimensions, not %zu", CLCNN__SAMPLE_DIMS, ndim);
    for (size_t i = 0; i < ndim; i++)
        if (dims[i] == 0)
            return clcnn__fail(context, CLCNN_ERROR_INVALID_SHAPE, "sample dimension %zu is 0", i);
    clcnn_net *net = calloc(1, sizeof *net);
    if (net == NULL)
        return clcnn__fail(context, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    net->ctx = context;
    net->in_ndim = ndim;
    memcpy(net->in_dims, dims, ndim * sizeof *dims);
    net->training = 1;
    *out = net;
    return CLCNN_OK;
}

clcnn_status clcnn_net_create(clcnn_context *context, size_t ndim, const size_t *dims,
                              clcnn_net **out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, net_create(context, ndim, dims, out));
}

void clcnn_net_destroy(clcnn_net *net) {
    if (net == NULL)
        return;
    clcnn__net_release_batch(net);
    clcnn__net_release_parameters(net);
    free(net->layers);
    free(net);
}

size_t clcnn__net_batch_shape(size_t batch, size_t ndim, const size_t *dims, size_t *out) {
    out[0] = batch;
    memcpy(out + 1, dims, ndim * sizeof *dims);
    return ndim + 1;
}

size_t clcnn__layer_out_features(const clcnn__layer *layer) {
    size_t count = 1;
    for (size_t i = 0; i < layer->out_ndim; i++)
        count *= layer->out_dims[i];
    return count;
}

const char *clcnn__layer_kind_name(clcnn_layer_kind kind) {
    static const char *const names[] = {"conv2d",  "batchnorm", "activation", "pool2d",
                                        "flatten", "dense",     "dropout"};
    return kind >= 0 && (size_t)kind < sizeof names / sizeof names[0] ? names[kind] : "unknown";
}

/* ------------------------------------------------------------------ layers */

/* The shape the next layer receives. */
static void current_shape(const clcnn_net *net, size_t *ndim, size_t *dims) {
    if (net->layer_count == 0) {
        *ndim = net->in_ndim;
        memcpy(dims, net->in_dims, sizeof net->in_dims);
    } else {
        const clcnn__layer *last = &net->layers[net->layer_count - 1];
        *ndim = last->out_ndim;
        memcpy(dims, last->out_dims, sizeof last->out_dims);
    }
}

/* The index of the layer called `name`, or SIZE_MAX. */
static size_t layer_named(const clcnn_net *net, const char *name) {
    for (size_t i = 0; i < net->layer_count; i++)
        if (net->layers[i].name[0] != '\0' && strcmp(net->layers[i].name, name) == 0)
            return i;
    return SIZE_MAX;
}

/* A parameterised layer's name must work as a PyTorch attribute in a
 * state-dict name ("conv1.weight"). */
static clcnn_status check_name(clcnn_net *net, const char *name) {
    if (name == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "name is NULL (a layer with parameters needs its PyTorch attribute "
                           "name, e.g. \"conv1\")");
    if (name[0] == '\0')
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "the layer name is empty");
    if (strlen(name) >= CLCNN__NAME_MAX)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "layer name \"%s\" has %zu characters, more than %d", name, strlen(name),
                           CLCNN__NAME_MAX - 1);
    if (strchr(name, '.') != NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "layer name \"%s\" contains '.', the separator of state-dict names",
                           name);
    size_t taken = layer_named(net, name);
    if (taken != SIZE_MAX)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "layer name \"%s\" is taken by layer %zu", name, taken);
    return CLCNN_OK;
}

/* A zeroed layer of `kind` whose input is the current shape (name: NULL for
 * a layer without parameters); NULL (with the error recorded in *status)
 * when it cannot be added. */
static clcnn__layer *begin_layer(clcnn_net *net, clcnn_layer_kind kind, const char *name,
                                 clcnn_status *status) {
    *status = CLCNN_OK;
    if (net->initialised || net->batch != 0) {
        *status = clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                              "layers cannot be added once the network's parameters exist (made "
                              "by its first forward, init, parameter, save, load or fold)");
        return NULL;
    }
    int named =
        kind == CLCNN_LAYER_CONV2D || kind == CLCNN_LAYER_BATCHNORM || kind == CLCNN_LAYER_DENSE;
    if (named && (*status = check_name(net, name)) != CLCNN_OK)
        return NULL;
    clcnn__layer *grown = realloc(net->layers, (net->layer_count + 1) * sizeof *net->layers);
    if (grown == NULL) {
        *status = clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        return NULL;
    }
    net->layers = grown;
    clcnn__layer *layer = &net->layers[net->layer_count];
    memset(layer, 0, sizeof *layer);
    layer->kind = kind;
    if (named)
        snprintf(layer->name, sizeof layer->name, "%s", name);
    current_shape(net, &layer->in_ndim, layer->in_dims);
    layer->out_ndim = layer->in_ndim;
    memcpy(layer->out_dims, layer->in_dims, sizeof layer->in_dims);
    return layer;
}

/* Keeps the layer begun by begin_layer. */
static clcnn_status commit_layer(clcnn_net *net) {
    net->layer_count++;
    return CLCNN_OK;
}

/* "conv2d layer conv1" for a named layer, "pool2d layer 3" (its index)
 * for the others: how messages name the layer being added. */
static const char *layer_label(const clcnn_net *net, const clcnn__layer *layer, char *buffer,
                               size_t size) {
    if (layer->name[0] != '\0')
        snprintf(buffer, size, "%s layer %s", clcnn__layer_kind_name(layer->kind), layer->name);
    else
        snprintf(buffer, size, "%s layer %zu", clcnn__layer_kind_name(layer->kind),
                 net->layer_count);
    return buffer;
}

/* "1x28x28" or "3136": one sample of the layer's input. */
static const char *input_string(const clcnn__layer *layer, char *buffer, size_t size) {
    int used = snprintf(buffer, size, "%zu", layer->in_dims[0]);
    for (size_t i = 1; i < layer->in_ndim && used >= 0 && (size_t)used < size; i++)
        used += snprintf(buffer + used, size - (size_t)used, "x%zu", layer->in_dims[i]);
    return buffer;
}

/* The layer needs samples of another rank than its input has. */
static clcnn_status fail_rank(clcnn_net *net, const clcnn__layer *layer, const char *needs) {
    char label[64], input[64];
    return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_SHAPE,
                       "%s needs %s; its input is %s (%zu dimensions per sample)",
                       layer_label(net, layer, label, sizeof label), needs,
                       input_string(layer, input, sizeof input), layer->in_ndim);
}

/* "1" when both sides agree, else "1x2". */
static const char *pair_string(size_t h, size_t w, char *buffer, size_t size) {
    if (h == w)
        snprintf(buffer, size, "%zu", h);
    else
        snprintf(buffer, size, "%zux%zu", h, w);
    return buffer;
}

/* The message for a convolution that clcnn_conv2d_output_shape rejected
 * with `status`: the first of its rules (include/clcnn/conv2d.h) that
 * fails, with the numbers. */
static clcnn_status fail_conv_shape(clcnn_net *net, const clcnn__layer *layer, size_t out_channels,
                                    clcnn_status status) {
    const clcnn_conv2d_params *p = &layer->conv;
    const size_t channels = layer->in_dims[0], size[2] = {layer->in_dims[1], layer->in_dims[2]};
    const size_t kernel[2] = {layer->kernel_h, layer->kernel_w}, pad[2] = {p->pad_h, p->pad_w};
    const size_t dilation[2] = {p->dilation_h, p->dilation_w};
    char label[64], padding[48];
    layer_label(net, layer, label, sizeof label);
    pair_string(pad[0], pad[1], padding, sizeof padding);
    if (p->stride_h == 0 || p->stride_w == 0 || p->dilation_h == 0 || p->dilation_w == 0 ||
        p->groups == 0)
        return clcnn__fail(net->ctx, status,
                           "%s: stride %zux%zu, dilation %zux%zu and groups %zu must all be at "
                           "least 1",
                           label, p->stride_h, p->stride_w, p->dilation_h, p->dilation_w,
                           p->groups);
    if (p->algorithm < CLCNN_CONV2D_ALGO_AUTO || p->algorithm > CLCNN_CONV2D_ALGO_TILED)
        return clcnn__fail(net->ctx, status, "%s: unknown algorithm %d", label, p->algorithm);
    if (out_channels == 0 || kernel[0] == 0 || kernel[1] == 0)
        return clcnn__fail(net->ctx, status,
                           "%s: %zu output channels with a %zux%zu kernel (none may be 0)", label,
                           out_channels, kernel[0], kernel[1]);
    if (channels % p->groups != 0 || out_channels % p->groups != 0)
        return clcnn__fail(net->ctx, status,
                           "%s: groups %zu must divide the %zu input channels and the %zu output "
                           "channels",
                           label, p->groups, channels, out_channels);
    /* The rules go axis by axis; an overflow (SIZE_OVERFLOW) gets the
     * general message, so the sums below cannot overflow. */
    for (int i = 0; i < 2 && status == CLCNN_ERROR_INVALID_SHAPE; i++) {
        size_t reach = dilation[i] * (kernel[i] - 1);
        if (pad[i] > reach)
            return clcnn__fail(net->ctx, status,
                               "%s: padding %s is wider than kernel %zux%zu with dilation %zux%zu "
                               "allows (at most dilation x (kernel - 1) = %zu along the %s)",
                               label, padding, kernel[0], kernel[1], dilation[0], dilation[1],
                               reach, i == 0 ? "height" : "width");
        if (size[i] + 2 * pad[i] > reach)
            continue;
        if (dilation[0] == 1 && dilation[1] == 1)
            return clcnn__fail(net->ctx, status,
                               "%s: kernel %zux%zu does not fit input %zux%zu with padding %s",
                               label, kernel[0], kernel[1], size[0], size[1], padding);
        return clcnn__fail(net->ctx, status,
                           "%s: kernel %zux%zu with dilation %zux%zu does not fit input %zux%zu "
                           "with padding %s",
                           label, kernel[0], kernel[1], dilation[0], dilation[1], size[0], size[1],
                           padding);
    }
    return clcnn__fail(net->ctx, status,
                       "%s: %zu output channels, kernel %zux%zu, stride %zux%zu, padding %zux%zu, "
                       "dilation %zux%zu, groups %zu on input %zux%zux%zu: %s",
                       label, out_channels, kernel[0], kernel[1], p->stride_h, p->stride_w, pad[0],
                       pad[1], dilation[0], dilation[1], p->groups, channels, size[0], size[1],
                       clcnn_status_string(status));
}

static clcnn_status add_conv2d(clcnn_net *net, const char *name, size_t out_channels,
                               size_t kernel_h, size_t kernel_w, const clcnn_conv2d_params *params,
                               int bias) {
    clcnn_status status;
    clcnn__layer *layer = begin_layer(net, CLCNN_LAYER_CONV2D, name, &status);
    if (layer == NULL)
        return status;
    if (layer->in_ndim != 3)
        return fail_rank(net, layer, "samples of [C, H, W]");
    layer->conv = params != NULL ? *params : clcnn_conv2d_params_default();
    layer->kernel_h = kernel_h;
    layer->kernel_w = kernel_w;
    size_t groups = layer->conv.groups ? layer->conv.groups : 1;
    size_t x_dims[4] = {1, layer->in_dims[0], layer->in_dims[1], layer->in_dims[2]};
    size_t w_dims[4] = {out_channels, layer->in_dims[0] / groups, kernel_h, kernel_w};
    size_t y_dims[4];
    status = clcnn_conv2d_output_shape(&layer->conv, x_dims, w_dims, y_dims);
    if (status != CLCNN_OK)
        return fail_conv_shape(net, layer, out_channels, status);
    memcpy(layer->out_dims, y_dims + 1, 3 * sizeof *y_dims);
    layer->has_bias = bias != 0;
    snprintf(layer->names.weight, sizeof layer->names.weight, "%s.weight", name);
    snprintf(layer->names.bias, sizeof layer->names.bias, "%s.bias", name);
    return commit_layer(net);
}

clcnn_status clcnn_net_add_conv2d(clcnn_net *net, const char *name, size_t out_channels,
                                  size_t kernel_h, size_t kernel_w,
                                  const clcnn_conv2d_params *params, int bias) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    return clcnn__named(net->ctx, mark, __func__,
                        add_conv2d(net, name, out_channels, kernel_h, kernel_w, params, bias));
}

static clcnn_status add_batchnorm(clcnn_net *net, const char *name,
                                  const clcnn_batchnorm_params *params) {
    clcnn_status status;
    clcnn__layer *layer = begin_layer(net, CLCNN_LAYER_BATCHNORM, name, &status);
    if (layer == NULL)
        return status;
    if (layer->in_ndim != 3 && layer->in_ndim != 1)
        return fail_rank(net, layer, "samples of [C, H, W] (per channel) or [F] (per feature)");
    layer->bn = params != NULL ? *params : clcnn_batchnorm_params_default();
    clcnn__layer_names *names = &layer->names;
    snprintf(names->weight, sizeof names->weight, "%s.weight", name);
    snprintf(names->bias, sizeof names->bias, "%s.bias", name);
    snprintf(names->running_mean, sizeof names->running_mean, "%s.running_mean", name);
    snprintf(names->running_var, sizeof names->running_var, "%s.running_var", name);
    snprintf(names->num_batches_tracked, sizeof names->num_batches_tracked,
             "%s.num_batches_tracked", name);
    return commit_layer(net);
}

clcnn_status clcnn_net_add_batchnorm(clcnn_net *net, const char *name,
                                     const clcnn_batchnorm_params *params) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    return clcnn__named(net->ctx, mark, __func__, add_batchnorm(net, name, params));
}

static clcnn_status add_activation(clcnn_net *net, const clcnn_activation_params *params) {
    clcnn_activation_params chosen = params != NULL ? *params : clcnn_activation_params_default();
    if ((int)chosen.kind < (int)CLCNN_ACTIVATION_RELU ||
        (int)chosen.kind > (int)CLCNN_ACTIVATION_TANH)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "activation layer %zu: unknown activation %d", net->layer_count,
                           (int)chosen.kind);
    clcnn_status status;
    clcnn__layer *layer = begin_layer(net, CLCNN_LAYER_ACTIVATION, NULL, &status);
    if (layer == NULL)
        return status;
    layer->activation = chosen;
    /* Backward can work from the output unless leaky ReLU's slope is
     * negative (see clcnn_activation_backward), so the output can replace
     * the input. */
    layer->in_place = !(layer->activation.kind == CLCNN_ACTIVATION_LEAKY_RELU &&
                        layer->activation.negative_slope < 0.0f);
    return commit_layer(net);
}

clcnn_status clcnn_net_add_activation(clcnn_net *net, const clcnn_activation_params *params) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    return clcnn__named(net->ctx, mark, __func__, add_activation(net, params));
}

/* The message for a pooling that clcnn_pool2d_output_shape rejected with
 * `status`: the first of its rules (include/clcnn/pool2d.h) that fails,
 * with the numbers. */
static clcnn_status fail_pool_shape(clcnn_net *net, const clcnn__layer *layer,
                                    clcnn_status status) {
    const clcnn_pool2d_params *p = &layer->pool;
    const size_t size[2] = {layer->in_dims[1], layer->in_dims[2]};
    const size_t kernel[2] = {p->kernel_h, p->kernel_w}, pad[2] = {p->pad_h, p->pad_w};
    char label[64], padding[48];
    layer_label(net, layer, label, sizeof label);
    pair_string(pad[0], pad[1], padding, sizeof padding);
    if (p->mode != CLCNN_POOL2D_MAX && p->mode != CLCNN_POOL2D_AVG)
        return clcnn__fail(net->ctx, status, "%s: unknown mode %d", label, (int)p->mode);
    if (kernel[0] == 0 || kernel[1] == 0)
        return clcnn__fail(net->ctx, status, "%s: window %zux%zu has a zero", label, kernel[0],
                           kernel[1]);
    if (pad[0] > kernel[0] / 2 || pad[1] > kernel[1] / 2)
        return clcnn__fail(net->ctx, status, "%s: padding %s is more than half of window %zux%zu",
                           label, padding, kernel[0], kernel[1]);
    for (int i = 0; i < 2; i++)
        if (status == CLCNN_ERROR_INVALID_SHAPE && size[i] + 2 * pad[i] < kernel[i])
            return clcnn__fail(net->ctx, status,
                               "%s: window %zux%zu does not fit input %zux%zu with padding %s",
                               label, kernel[0], kernel[1], size[0], size[1], padding);
    return clcnn__fail(net->ctx, status,
                       "%s: window %zux%zu, stride %zux%zu, padding %zux%zu on input %zux%zux%zu: "
                       "%s",
                       label, kernel[0], kernel[1], p->stride_h, p->stride_w, pad[0], pad[1],
                       layer->in_dims[0], size[0], size[1], clcnn_status_string(status));
}

static clcnn_status add_pool2d(clcnn_net *net, const clcnn_pool2d_params *params) {
    if (params == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "params is NULL");
    clcnn_status status;
    clcnn__layer *layer = begin_layer(net, CLCNN_LAYER_POOL2D, NULL, &status);
    if (layer == NULL)
        return status;
    if (layer->in_ndim != 3)
        return fail_rank(net, layer, "samples of [C, H, W]");
    layer->pool = *params;
    size_t x_dims[4] = {1, layer->in_dims[0], layer->in_dims[1], layer->in_dims[2]}, y_dims[4];
    status = clcnn_pool2d_output_shape(NULL, &layer->pool, x_dims, y_dims);
    if (status != CLCNN_OK)
        return fail_pool_shape(net, layer, status);
    memcpy(layer->out_dims, y_dims + 1, 3 * sizeof *y_dims);
    return commit_layer(net);
}

clcnn_status clcnn_net_add_pool2d(clcnn_net *net, const clcnn_pool2d_params *params) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    return clcnn__named(net->ctx, mark, __func__, add_pool2d(net, params));
}

static clcnn_status add_flatten(clcnn_net *net) {
    clcnn_status status;
    clcnn__layer *layer = begin_layer(net, CLCNN_LAYER_FLATTEN, NULL, &status);
    if (layer == NULL)
        return status;
    size_t features = 1;
    for (size_t i = 0; i < layer->in_ndim; i++)
        features *= layer->in_dims[i];
    layer->out_ndim = 1;
    memset(layer->out_dims, 0, sizeof layer->out_dims);
    layer->out_dims[0] = features;
    return commit_layer(net);
}

clcnn_status clcnn_net_add_flatten(clcnn_net *net) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    return clcnn__named(net->ctx, mark, __func__, add_flatten(net));
}

static clcnn_status add_dense(clcnn_net *net, const char *name, size_t out_features, int bias) {
    clcnn_status status;
    clcnn__layer *layer = begin_layer(net, CLCNN_LAYER_DENSE, name, &status);
    if (layer == NULL)
        return status;
    if (layer->in_ndim != 1)
        return fail_rank(net, layer, "flat samples of [F] (add a flatten layer first)");
    if (out_features == 0)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_SHAPE,
                           "dense layer %s: 0 output features (for %zu input features)", name,
                           layer->in_dims[0]);
    layer->out_dims[0] = out_features;
    layer->has_bias = bias != 0;
    snprintf(layer->names.weight, sizeof layer->names.weight, "%s.weight", name);
    snprintf(layer->names.bias, sizeof layer->names.bias, "%s.bias", name);
    return commit_layer(net);
}

clcnn_status clcnn_net_add_dense(clcnn_net *net, const char *name, size_t out_features, int bias) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    return clcnn__named(net->ctx, mark, __func__, add_dense(net, name, out_features, bias));
}

static clcnn_status add_dropout(clcnn_net *net, float p) {
    if (!(p >= 0.0f && p < 1.0f))
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "dropout layer %zu: probability %g is outside [0, 1)", net->layer_count,
                           (double)p);
    clcnn_status status;
    clcnn__layer *layer = begin_layer(net, CLCNN_LAYER_DROPOUT, NULL, &status);
    if (layer == NULL)
        return status;
    layer->dropout_p = p;
    /* What clcnn_net_init(net, CLCNN_NET_DEFAULT_SEED) would set. */
    layer->dropout = clcnn_dropout_state_init(CLCNN_NET_DEFAULT_SEED);
    return commit_layer(net);
}

clcnn_status clcnn_net_add_dropout(clcnn_net *net, float p) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    return clcnn__named(net->ctx, mark, __func__, add_dropout(net, p));
}

static clcnn_status create_seed(clcnn_context *context, size_t channels, size_t height,
                                size_t width, size_t classes, float dropout_p, clcnn_net **out) {
    if (out == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    size_t dims[3] = {channels, height, width};
    clcnn_net *net = NULL;
    clcnn_status status = clcnn_net_create(context, 3, dims, &net);
    if (status != CLCNN_OK)
        return status;
    clcnn_conv2d_params same = clcnn_conv2d_params_default();
    same.pad_h = same.pad_w = 1;
    clcnn_pool2d_params pool = clcnn_pool2d_params_default();
    pool.mode = CLCNN_POOL2D_MAX;
    pool.kernel_h = pool.kernel_w = 2;
    pool.stride_h = pool.stride_w = 2;
    clcnn_activation_params relu = clcnn_activation_params_default();
    relu.kind = CLCNN_ACTIVATION_RELU;
    const char *stages[2][2] = {{"conv1", "bn1"}, {"conv2", "bn2"}};
    const size_t stage_channels[2] = {32, 64};
    for (size_t i = 0; i < 2 && status == CLCNN_OK; i++) {
        status = clcnn_net_add_conv2d(net, stages[i][0], stage_channels[i], 3, 3, &same, 1);
        if (status == CLCNN_OK)
            status = clcnn_net_add_batchnorm(net, stages[i][1], NULL);
        if (status == CLCNN_OK)
            status = clcnn_net_add_activation(net, &relu);
        if (status == CLCNN_OK)
            status = clcnn_net_add_pool2d(net, &pool);
    }
    if (status == CLCNN_OK)
        status = clcnn_net_add_flatten(net);
    if (status == CLCNN_OK)
        status = clcnn_net_add_dense(net, "fc1", 128, 1);
    if (status == CLCNN_OK)
        status = clcnn_net_add_activation(net, &relu);
    if (status == CLCNN_OK)
        status = clcnn_net_add_dropout(net, dropout_p);
    if (status == CLCNN_OK)
        status = clcnn_net_add_dense(net, "fc2", classes, 1);
    if (status != CLCNN_OK) {
        clcnn_net_destroy(net);
        return status;
    }
    *out = net;
    return CLCNN_OK;
}

clcnn_status clcnn_net_create_seed(clcnn_context *context, size_t channels, size_t height,
                                   size_t width, size_t classes, float dropout_p, clcnn_net **out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        create_seed(context, channels, height, width, classes, dropout_p, out));
}

/* ------------------------------------------------------------- inspection */

size_t clcnn_net_output_features(const clcnn_net *net) {
    if (net == NULL || net->layer_count == 0)
        return 0;
    return clcnn__layer_out_features(&net->layers[net->layer_count - 1]);
}

size_t clcnn_net_layer_count(const clcnn_net *net) {
    return net != NULL ? net->layer_count : 0;
}

clcnn_layer_kind clcnn_net_layer_kind(const clcnn_net *net, size_t index) {
    return net != NULL && index < net->layer_count ? net->layers[index].kind : CLCNN_LAYER_NONE;
}
