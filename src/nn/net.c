/* Building a network: layers appended in order, each checked against the
 * shape the previous one produces; parameters created with PyTorch's names
 * and initialised from Philox streams. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/net_internal.h"

clcnn_status clcnn_net_create(clcnn_context *context, size_t ndim, const size_t *dims,
                              clcnn_net **out) {
    if (context == NULL || dims == NULL || out == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "net_create: NULL argument");
    *out = NULL;
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

static void release_parameters(clcnn__layer *layer) {
    clcnn_tensor_destroy(layer->weight);
    clcnn_tensor_destroy(layer->bias);
    clcnn_tensor_destroy(layer->weight_grad);
    clcnn_tensor_destroy(layer->bias_grad);
    clcnn_batchnorm_state_release(&layer->bn_state);
    clcnn_dropout_mask_destroy(layer->mask);
}

void clcnn_net_destroy(clcnn_net *net) {
    if (net == NULL)
        return;
    clcnn__net_release_batch(net);
    for (size_t i = 0; i < net->layer_count; i++)
        release_parameters(&net->layers[i]);
    clcnn_tensor_destroy(net->value_arena);
    clcnn_tensor_destroy(net->grad_arena);
    free(net->layers);
    free(net->parameters);
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

static int name_taken(const clcnn_net *net, const char *name) {
    for (size_t i = 0; i < net->layer_count; i++)
        if (net->layers[i].name[0] != '\0' && strcmp(net->layers[i].name, name) == 0)
            return 1;
    return 0;
}

/* A zeroed layer of `kind` whose input is the current shape; NULL (with the
 * error recorded in *status) when it cannot be added. */
static clcnn__layer *begin_layer(clcnn_net *net, clcnn_layer_kind kind, const char *name,
                                 clcnn_status *status) {
    *status = CLCNN_OK;
    if (net->initialised || net->batch != 0) {
        *status = clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                              "layers cannot be added after the network has run");
        return NULL;
    }
    if (name != NULL && (name[0] == '\0' || strlen(name) >= CLCNN__NAME_MAX ||
                         strchr(name, '.') != NULL || name_taken(net, name))) {
        *status = clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                              "layer name \"%s\" is empty, too long, has a '.' or is taken", name);
        return NULL;
    }
    clcnn__layer *grown = realloc(net->layers, (net->layer_count + 1) * sizeof *net->layers);
    if (grown == NULL) {
        *status = clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        return NULL;
    }
    net->layers = grown;
    clcnn__layer *layer = &net->layers[net->layer_count];
    memset(layer, 0, sizeof *layer);
    layer->kind = kind;
    if (name != NULL)
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

static clcnn_status fail_shape(clcnn_net *net, const char *what, const clcnn__layer *layer) {
    return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_SHAPE,
                       "%s does not fit an input of %zu dimensions per sample (%zu x %zu x %zu)",
                       what, layer->in_ndim, layer->in_dims[0],
                       layer->in_ndim > 1 ? layer->in_dims[1] : 1,
                       layer->in_ndim > 2 ? layer->in_dims[2] : 1);
}

clcnn_status clcnn_net_add_conv2d(clcnn_net *net, const char *name, size_t out_channels,
                                  size_t kernel_h, size_t kernel_w,
                                  const clcnn_conv2d_params *params, int bias) {
    if (net == NULL || name == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status;
    clcnn__layer *layer = begin_layer(net, CLCNN_LAYER_CONV2D, name, &status);
    if (layer == NULL)
        return status;
    if (layer->in_ndim != 3)
        return fail_shape(net, "a 2-D convolution", layer);
    layer->conv = params != NULL ? *params : clcnn_conv2d_params_default();
    layer->kernel_h = kernel_h;
    layer->kernel_w = kernel_w;
    size_t groups = layer->conv.groups ? layer->conv.groups : 1;
    size_t x_dims[4] = {1, layer->in_dims[0], layer->in_dims[1], layer->in_dims[2]};
    size_t w_dims[4] = {out_channels, layer->in_dims[0] / groups, kernel_h, kernel_w};
    size_t y_dims[4];
    status = clcnn_conv2d_output_shape(&layer->conv, x_dims, w_dims, y_dims);
    if (status != CLCNN_OK)
        return clcnn__fail(net->ctx, status, "conv2d layer %s: impossible shape (%s)", name,
                           clcnn_status_string(status));
    memcpy(layer->out_dims, y_dims + 1, 3 * sizeof *y_dims);
    layer->has_bias = bias != 0;
    snprintf(layer->names.weight, sizeof layer->names.weight, "%s.weight", name);
    snprintf(layer->names.bias, sizeof layer->names.bias, "%s.bias", name);
    return commit_layer(net);
}

clcnn_status clcnn_net_add_batchnorm(clcnn_net *net, const char *name,
                                     const clcnn_batchnorm_params *params) {
    if (net == NULL || name == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status;
    clcnn__layer *layer = begin_layer(net, CLCNN_LAYER_BATCHNORM, name, &status);
    if (layer == NULL)
        return status;
    if (layer->in_ndim != 3 && layer->in_ndim != 1)
        return fail_shape(net, "batch norm (per channel of [C, H, W] or per feature of [F])",
                          layer);
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

clcnn_status clcnn_net_add_activation(clcnn_net *net, const clcnn_activation_params *params) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status;
    clcnn__layer *layer = begin_layer(net, CLCNN_LAYER_ACTIVATION, NULL, &status);
    if (layer == NULL)
        return status;
    layer->activation = params != NULL ? *params : clcnn_activation_params_default();
    /* Backward can work from the output unless leaky ReLU's slope is
     * negative (see clcnn_activation_backward), so the output can replace
     * the input. */
    layer->in_place = !(layer->activation.kind == CLCNN_ACTIVATION_LEAKY_RELU &&
                        layer->activation.negative_slope < 0.0f);
    return commit_layer(net);
}

clcnn_status clcnn_net_add_pool2d(clcnn_net *net, const clcnn_pool2d_params *params) {
    if (net == NULL || params == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status;
    clcnn__layer *layer = begin_layer(net, CLCNN_LAYER_POOL2D, NULL, &status);
    if (layer == NULL)
        return status;
    if (layer->in_ndim != 3)
        return fail_shape(net, "2-D pooling", layer);
    layer->pool = *params;
    size_t x_dims[4] = {1, layer->in_dims[0], layer->in_dims[1], layer->in_dims[2]}, y_dims[4];
    status = clcnn_pool2d_output_shape(net->ctx, &layer->pool, x_dims, y_dims);
    if (status != CLCNN_OK)
        return status;
    memcpy(layer->out_dims, y_dims + 1, 3 * sizeof *y_dims);
    return commit_layer(net);
}

clcnn_status clcnn_net_add_flatten(clcnn_net *net) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
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

clcnn_status clcnn_net_add_dense(clcnn_net *net, const char *name, size_t out_features, int bias) {
    if (net == NULL || name == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status;
    clcnn__layer *layer = begin_layer(net, CLCNN_LAYER_DENSE, name, &status);
    if (layer == NULL)
        return status;
    if (layer->in_ndim != 1)
        return fail_shape(net, "a dense layer (flatten first)", layer);
    if (out_features == 0)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_SHAPE, "dense layer %s: 0 outputs", name);
    layer->out_dims[0] = out_features;
    layer->has_bias = bias != 0;
    snprintf(layer->names.weight, sizeof layer->names.weight, "%s.weight", name);
    snprintf(layer->names.bias, sizeof layer->names.bias, "%s.bias", name);
    return commit_layer(net);
}

clcnn_status clcnn_net_add_dropout(clcnn_net *net, float p) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (!(p >= 0.0f && p < 1.0f))
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "dropout probability %g is outside [0, 1)", (double)p);
    clcnn_status status;
    clcnn__layer *layer = begin_layer(net, CLCNN_LAYER_DROPOUT, NULL, &status);
    if (layer == NULL)
        return status;
    layer->dropout_p = p;
    layer->dropout = clcnn_dropout_state_init(0);
    return commit_layer(net);
}

clcnn_status clcnn_net_create_seed(clcnn_context *context, size_t channels, size_t height,
                                   size_t width, size_t classes, float dropout_p, clcnn_net **out) {
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

/* -------------------------------------------------------------- parameters */

/* The shapes of a layer's trainable parameters in state-dict order: conv
 * weight [K, C/groups, kh, kw] and bias [K], dense weight [out, in] and bias
 * [out], batch norm gamma and beta [C]. Returns how many (0 to 2). */
static size_t parameter_shapes(const clcnn__layer *layer, size_t ndim[2], size_t dims[2][4]) {
    if (layer->kind == CLCNN_LAYER_CONV2D) {
        size_t groups = layer->conv.groups ? layer->conv.groups : 1;
        size_t conv_dims[4] = {layer->out_dims[0], layer->in_dims[0] / groups, layer->kernel_h,
                               layer->kernel_w};
        memcpy(dims[0], conv_dims, sizeof conv_dims);
        ndim[0] = 4;
    } else if (layer->kind == CLCNN_LAYER_DENSE) {
        dims[0][0] = layer->out_dims[0];
        dims[0][1] = layer->in_dims[0];
        ndim[0] = 2;
    } else if (layer->kind == CLCNN_LAYER_BATCHNORM) {
        dims[0][0] = layer->in_dims[0];
        ndim[0] = 1;
    } else {
        return 0;
    }
    dims[1][0] = dims[0][0];
    ndim[1] = 1;
    return layer->kind == CLCNN_LAYER_BATCHNORM || layer->has_bias ? 2 : 1;
}

static size_t element_count(size_t ndim, const size_t *dims) {
    size_t count = 1;
    for (size_t i = 0; i < ndim; i++)
        count *= dims[i];
    return count;
}

/* Where parameters and gradients are made: views of the network's value and
 * gradient arenas, each tensor at the next multiple of `align` elements (the
 * layout an optimizer updates in one launch, src/nn/optim.c), or separate
 * tensors when no arena was made. */
typedef struct param_placement {
    clcnn_tensor *values, *grads; /* the arenas, or NULL */
    size_t align, used;
} param_placement;

/* Elements of an arena holding every parameter of the network; 0 when the
 * byte size overflows. */
static size_t arena_elements(const clcnn_net *net, size_t align) {
    size_t end = 0;
    for (size_t i = 0; i < net->layer_count; i++) {
        size_t ndim[2], dims[2][4];
        size_t count = parameter_shapes(&net->layers[i], ndim, dims);
        for (size_t j = 0; j < count; j++) {
            size_t start = clcnn__round_up(end, align);
            size_t numel = element_count(ndim[j], dims[j]);
            if (start < end || numel > SIZE_MAX / sizeof(float) - start)
                return 0;
            end = start + numel;
        }
    }
    return end;
}

/* The two arenas (zero-filled, gaps included, and marked so), unless the
 * parameters would not fit in one allocation of the device. */
static clcnn_status make_arenas(clcnn_net *net, param_placement *place) {
    memset(place, 0, sizeof *place);
    size_t align_bytes = 0;
    clcnn_status status = clcnn__view_alignment(net->ctx, &align_bytes);
    if (status != CLCNN_OK)
        return status;
    place->align = align_bytes / sizeof(float);
    size_t total = arena_elements(net, place->align);
    if (total == 0 || total * sizeof(float) > net->ctx->info.max_alloc_bytes)
        return CLCNN_OK;
    status = clcnn_tensor_create(net->ctx, 1, &total, &net->value_arena);
    if (status == CLCNN_OK)
        status = clcnn_tensor_create(net->ctx, 1, &total, &net->grad_arena);
    if (status != CLCNN_OK)
        return status;
    net->value_arena->storage->arena = 1;
    net->grad_arena->storage->arena = 1;
    place->values = net->value_arena;
    place->grads = net->grad_arena;
    return CLCNN_OK;
}

static clcnn_status make_pair(clcnn_context *ctx, param_placement *place, size_t ndim,
                              const size_t *dims, clcnn_tensor **value, clcnn_tensor **grad) {
    if (place->values == NULL) {
        clcnn_status status = clcnn_tensor_create(ctx, ndim, dims, value);
        return status == CLCNN_OK ? clcnn_tensor_create(ctx, ndim, dims, grad) : status;
    }
    size_t start = clcnn__round_up(place->used, place->align);
    place->used = start + element_count(ndim, dims);
    clcnn_status status = clcnn__storage_view(place->values->storage, start, ndim, dims, value);
    return status == CLCNN_OK ? clcnn__storage_view(place->grads->storage, start, ndim, dims, grad)
                              : status;
}

static clcnn_status add_parameter(clcnn_net *net, const char *name, clcnn_tensor *value,
                                  clcnn_tensor *grad) {
    clcnn_net_tensor *grown =
        realloc(net->parameters, (net->parameter_count + 1) * sizeof *net->parameters);
    if (grown == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    net->parameters = grown;
    net->parameters[net->parameter_count++] = (clcnn_net_tensor){name, value, grad};
    return CLCNN_OK;
}

static clcnn_status create_layer_parameters(clcnn_net *net, param_placement *place,
                                            clcnn__layer *layer) {
    size_t ndim[2], dims[2][4];
    size_t count = parameter_shapes(layer, ndim, dims);
    clcnn_tensor **values[2] = {&layer->weight, &layer->bias};
    clcnn_tensor **grads[2] = {&layer->weight_grad, &layer->bias_grad};
    const char *names[2] = {layer->names.weight, layer->names.bias};
    clcnn_status status = CLCNN_OK;
    for (size_t j = 0; j < count && status == CLCNN_OK; j++) {
        status = make_pair(net->ctx, place, ndim[j], dims[j], values[j], grads[j]);
        if (status == CLCNN_OK)
            status = add_parameter(net, names[j], *values[j], *grads[j]);
    }
    if (status == CLCNN_OK && layer->kind == CLCNN_LAYER_BATCHNORM) {
        layer->has_bias = 1;
        status = clcnn_batchnorm_state_init(net->ctx, layer->in_dims[0], &layer->bn_state);
        if (status == CLCNN_OK)
            status = clcnn_tensor_fill(layer->weight, 1.0f);
    }
    return status;
}

/* Undoes a failed clcnn__net_create_parameters, so that a later call starts
 * afresh. */
static void drop_parameters(clcnn_net *net) {
    for (size_t i = 0; i < net->layer_count; i++) {
        clcnn__layer *layer = &net->layers[i];
        clcnn_tensor **tensors[4] = {&layer->weight, &layer->bias, &layer->weight_grad,
                                     &layer->bias_grad};
        for (size_t j = 0; j < 4; j++) {
            clcnn_tensor_destroy(*tensors[j]);
            *tensors[j] = NULL;
        }
        clcnn_batchnorm_state_release(&layer->bn_state);
    }
    clcnn_tensor_destroy(net->value_arena);
    clcnn_tensor_destroy(net->grad_arena);
    net->value_arena = net->grad_arena = NULL;
    net->parameter_count = 0;
}

clcnn_status clcnn__net_create_parameters(clcnn_net *net) {
    if (net->initialised)
        return CLCNN_OK;
    if (net->layer_count == 0)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "the network has no layers");
    param_placement place;
    clcnn_status status = make_arenas(net, &place);
    for (size_t i = 0; i < net->layer_count && status == CLCNN_OK; i++)
        status = create_layer_parameters(net, &place, &net->layers[i]);
    if (status != CLCNN_OK) {
        drop_parameters(net);
        return status;
    }
    net->initialised = 1;
    return CLCNN_OK;
}

/* ------------------------------------------------------------ initialisation */

/* Fills `tensor` with uniform values in [-bound, bound] from the Philox
 * stream (seed, offset). */
static clcnn_status init_uniform(clcnn_net *net, clcnn_tensor *tensor, float bound, uint64_t seed,
                                 uint64_t offset) {
    cl_kernel kernel;
    clcnn_status status = clcnn__kernel_get(net->ctx, "init.cl", NULL, "init_uniform", &kernel);
    if (status != CLCNN_OK)
        return status;
    cl_mem mem = clcnn_tensor_cl_mem(tensor);
    cl_uint count = (cl_uint)clcnn_tensor_numel(tensor);
    float low = -bound, high = bound;
    cl_uint words[4] = {(cl_uint)seed, (cl_uint)(seed >> 32), (cl_uint)offset,
                        (cl_uint)(offset >> 32)};
    cl_int err = clSetKernelArg(kernel, 0, sizeof mem, &mem);
    err |= clSetKernelArg(kernel, 1, sizeof count, &count);
    err |= clSetKernelArg(kernel, 2, sizeof low, &low);
    err |= clSetKernelArg(kernel, 3, sizeof high, &high);
    for (cl_uint i = 0; i < 4; i++)
        err |= clSetKernelArg(kernel, 4 + i, sizeof words[i], &words[i]);
    if (err != CL_SUCCESS)
        return clcnn__fail_cl(net->ctx, err, "init_uniform arguments");
    size_t global = clcnn__round_up(count, 64);
    return clcnn__enqueue_kernel(net->ctx, kernel, 1, &global, NULL);
}

/* fan_in = in_channels/groups * kh * kw for conv, in_features for dense. */
static double fan_in(const clcnn__layer *layer) {
    if (layer->kind == CLCNN_LAYER_CONV2D) {
        size_t groups = layer->conv.groups ? layer->conv.groups : 1;
        return (double)(layer->in_dims[0] / groups * layer->kernel_h * layer->kernel_w);
    }
    return (double)layer->in_dims[0];
}

static clcnn_status reset_batchnorm(clcnn__layer *layer) {
    clcnn_status status = clcnn_tensor_fill(layer->weight, 1.0f);
    if (status == CLCNN_OK)
        status = clcnn_tensor_fill(layer->bias, 0.0f);
    if (status == CLCNN_OK)
        status = clcnn_tensor_fill(layer->bn_state.running_mean, 0.0f);
    if (status == CLCNN_OK)
        status = clcnn_tensor_fill(layer->bn_state.running_var, 1.0f);
    layer->bn_state.num_batches_tracked = 0;
    return status;
}

clcnn_status clcnn_net_init(clcnn_net *net, uint64_t seed) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = clcnn__net_create_parameters(net);
    uint64_t stream = UINT64_C(1) << 63;
    for (size_t i = 0; i < net->layer_count && status == CLCNN_OK; i++) {
        clcnn__layer *layer = &net->layers[i];
        if (layer->kind == CLCNN_LAYER_CONV2D || layer->kind == CLCNN_LAYER_DENSE) {
            float bound = (float)(1.0 / sqrt(fan_in(layer)));
            status = init_uniform(net, layer->weight, bound, seed, stream++);
            if (status == CLCNN_OK && layer->has_bias)
                status = init_uniform(net, layer->bias, bound, seed, stream++);
        } else if (layer->kind == CLCNN_LAYER_BATCHNORM) {
            status = reset_batchnorm(layer);
            stream += 2;
        } else if (layer->kind == CLCNN_LAYER_DROPOUT) {
            layer->dropout = clcnn_dropout_state_init(seed);
        }
    }
    return status;
}

size_t clcnn_net_parameter_count(const clcnn_net *net) {
    return net != NULL ? net->parameter_count : 0;
}

clcnn_status clcnn_net_parameter(const clcnn_net *net, size_t index, clcnn_net_tensor *out) {
    if (net == NULL || out == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (index >= net->parameter_count)
        return CLCNN_ERROR_OUT_OF_RANGE;
    *out = net->parameters[index];
    return CLCNN_OK;
}

size_t clcnn_net_output_features(const clcnn_net *net) {
    if (net == NULL || net->layer_count == 0)
        return 0;
    return clcnn__layer_out_features(&net->layers[net->layer_count - 1]);
}

size_t clcnn_net_layer_count(const clcnn_net *net) {
    return net != NULL ? net->layer_count : 0;
}

clcnn_layer_kind clcnn_net_layer_kind(const clcnn_net *net, size_t index) {
    return net != NULL && index < net->layer_count ? net->layers[index].kind : CLCNN_LAYER_FLATTEN;
}
