/* A network's parameters: created with PyTorch's state-dict names in two
 * arenas (values and gradients), drawn from Philox streams, handed out by
 * index. A network is usable as built: its parameters are made on their
 * first use and drawn with CLCNN_NET_DEFAULT_SEED, exactly as
 * clcnn_net_init(net, CLCNN_NET_DEFAULT_SEED) draws them (include/clcnn/net.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/net_internal.h"

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

static void release_layer_parameters(clcnn__layer *layer) {
    clcnn_tensor **tensors[4] = {&layer->weight, &layer->bias, &layer->weight_grad,
                                 &layer->bias_grad};
    for (size_t j = 0; j < 4; j++) {
        clcnn_tensor_destroy(*tensors[j]);
        *tensors[j] = NULL;
    }
    clcnn_batchnorm_state_release(&layer->bn_state);
}

void clcnn__net_release_parameters(clcnn_net *net) {
    for (size_t i = 0; i < net->layer_count; i++)
        release_layer_parameters(&net->layers[i]);
    clcnn_tensor_destroy(net->value_arena);
    clcnn_tensor_destroy(net->grad_arena);
    net->value_arena = net->grad_arena = NULL;
    free(net->parameters);
    net->parameters = NULL;
    net->parameter_count = 0;
    net->initialised = 0;
}

clcnn_status clcnn__net_allocate_parameters(clcnn_net *net) {
    if (net->initialised)
        return CLCNN_OK;
    if (net->layer_count == 0)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "the network has no layers");
    param_placement place;
    clcnn_status status = make_arenas(net, &place);
    for (size_t i = 0; i < net->layer_count && status == CLCNN_OK; i++)
        status = create_layer_parameters(net, &place, &net->layers[i]);
    if (status != CLCNN_OK) {
        clcnn__net_release_parameters(net); /* a later call starts afresh */
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

/* Draws every parameter from `seed` (the rule of clcnn_net_init). */
static clcnn_status draw_parameters(clcnn_net *net, uint64_t seed) {
    clcnn_status status = CLCNN_OK;
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

/* Allocates (when not done yet) and draws with `seed`; a failed first draw
 * leaves no parameters behind, so no later call can run on undrawn ones. */
static clcnn_status allocate_and_draw(clcnn_net *net, uint64_t seed) {
    int fresh = !net->initialised;
    clcnn_status status = clcnn__net_allocate_parameters(net);
    if (status == CLCNN_OK)
        status = draw_parameters(net, seed);
    if (status != CLCNN_OK && fresh)
        clcnn__net_release_parameters(net);
    return status;
}

clcnn_status clcnn__net_ensure_parameters(clcnn_net *net) {
    return net->initialised ? CLCNN_OK : allocate_and_draw(net, CLCNN_NET_DEFAULT_SEED);
}

clcnn_status clcnn_net_init(clcnn_net *net, uint64_t seed) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    return clcnn__named(net->ctx, mark, __func__, allocate_and_draw(net, seed));
}

/* ----------------------------------------------------------------- access */

size_t clcnn_net_parameter_count(const clcnn_net *net) {
    if (net == NULL)
        return 0;
    size_t count = 0, ndim[2], dims[2][4];
    for (size_t i = 0; i < net->layer_count; i++)
        count += parameter_shapes(&net->layers[i], ndim, dims);
    return count;
}

static clcnn_status net_parameter(clcnn_net *net, size_t index, clcnn_net_tensor *out) {
    if (out == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "out is NULL");
    size_t count = clcnn_net_parameter_count(net);
    if (index >= count)
        return clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_RANGE,
                           "index %zu is out of range (the network has %zu parameters)", index,
                           count);
    clcnn_status status = clcnn__net_ensure_parameters(net);
    if (status != CLCNN_OK)
        return status;
    *out = net->parameters[index];
    return CLCNN_OK;
}

clcnn_status clcnn_net_parameter(const clcnn_net *net, size_t index, clcnn_net_tensor *out) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    /* To its user a network has its parameters from construction on; they
     * are only made on first use. Making them here, through a const handle,
     * fills that cache without changing what the network computes (like the
     * last error a const context records). Networks are always allocated by
     * clcnn_net_create, never defined const. */
    clcnn_net *made_on_use = (clcnn_net *)(uintptr_t)net;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    return clcnn__named(net->ctx, mark, __func__, net_parameter(made_on_use, index, out));
}
