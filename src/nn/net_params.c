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
#include "ops/init.h"

/* The shapes of a layer's trainable parameters in state-dict order: conv
 * weight [K, C/groups, kh, kw] and bias [K], dense weight [out, in] and bias
 * [out], batch norm gamma and beta [C]. Returns how many (0 to 2). */
static size_t parameter_shapes(const clcnn__layer *layer, clcnn__shape shapes[2]) {
    if (layer->kind == CLCNN_LAYER_CONV2D) {
        size_t groups = layer->conv.groups ? layer->conv.groups : 1;
        shapes[0] = (clcnn__shape){
            4, {layer->out_dims[0], layer->in_dims[0] / groups, layer->kernel_h, layer->kernel_w}};
    } else if (layer->kind == CLCNN_LAYER_DENSE) {
        shapes[0] = (clcnn__shape){2, {layer->out_dims[0], layer->in_dims[0]}};
    } else if (layer->kind == CLCNN_LAYER_BATCHNORM) {
        shapes[0] = (clcnn__shape){1, {layer->in_dims[0]}};
    } else {
        return 0;
    }
    shapes[1] = (clcnn__shape){1, {shapes[0].dims[0]}};
    return layer->kind == CLCNN_LAYER_BATCHNORM || layer->has_bias ? 2 : 1;
}

/* The shapes of every parameter of the network in state-dict order,
 * malloc'ed into *out (NULL when there are none). */
static clcnn_status network_shapes(clcnn_net *net, clcnn__shape **out, size_t *count) {
    *count = clcnn_net_parameter_count(net);
    *out = *count != 0 ? calloc(*count, sizeof **out) : NULL;
    if (*count != 0 && *out == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    size_t next = 0;
    for (size_t i = 0; i < net->layer_count; i++) {
        clcnn__shape shapes[2];
        size_t layer_count = parameter_shapes(&net->layers[i], shapes);
        memcpy(*out + next, shapes, layer_count * sizeof shapes[0]);
        next += layer_count;
    }
    return CLCNN_OK;
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

/* Hands the layer its parameters from values and grads (taken from the
 * front, *next advanced past them), and a batch norm its state. */
static clcnn_status take_layer_parameters(clcnn_net *net, clcnn__layer *layer,
                                          clcnn_tensor **values, clcnn_tensor **grads,
                                          size_t *next) {
    clcnn__shape shapes[2];
    size_t count = parameter_shapes(layer, shapes);
    clcnn_tensor **layer_values[2] = {&layer->weight, &layer->bias};
    clcnn_tensor **layer_grads[2] = {&layer->weight_grad, &layer->bias_grad};
    const char *names[2] = {layer->names.weight, layer->names.bias};
    clcnn_status status = CLCNN_OK;
    for (size_t j = 0; j < count && status == CLCNN_OK; j++, (*next)++) {
        *layer_values[j] = values[*next];
        *layer_grads[j] = grads[*next];
        values[*next] = grads[*next] = NULL;
        status = add_parameter(net, names[j], *layer_values[j], *layer_grads[j]);
    }
    if (status == CLCNN_OK && layer->kind == CLCNN_LAYER_BATCHNORM) {
        layer->has_bias = 1;
        status = clcnn_batchnorm_state_init(net->ctx, layer->in_dims[0], &layer->bn_state);
        if (status == CLCNN_OK)
            status = clcnn_tensor_fill(layer->weight, 1.0f);
    }
    return status;
}

/* Every parameter and gradient, as views of the network's value and
 * gradient arenas laid out alike (or separate tensors when they would not
 * fit in one allocation), handed to the layers. */
static clcnn_status create_parameters(clcnn_net *net) {
    clcnn__shape *shapes = NULL;
    size_t count = 0;
    clcnn_status status = network_shapes(net, &shapes, &count);
    /* values, then grads; one more so that no network asks for 0 bytes */
    clcnn_tensor **tensors = status == CLCNN_OK ? calloc(2 * count + 1, sizeof *tensors) : NULL;
    if (status == CLCNN_OK && tensors == NULL)
        status = clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    clcnn_tensor **values = tensors, **grads = tensors != NULL ? tensors + count : NULL;
    if (status == CLCNN_OK)
        status = clcnn__arena_create(net->ctx, count, shapes, values, &net->value_arena);
    if (status == CLCNN_OK)
        status = clcnn__arena_create(net->ctx, count, shapes, grads, &net->grad_arena);
    size_t next = 0;
    for (size_t i = 0; i < net->layer_count && status == CLCNN_OK; i++)
        status = take_layer_parameters(net, &net->layers[i], values, grads, &next);
    for (size_t i = 0; tensors != NULL && i < 2 * count; i++)
        clcnn_tensor_destroy(tensors[i]); /* none unless a step failed */
    free(tensors);
    free(shapes);
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
    clcnn_status status = create_parameters(net);
    if (status != CLCNN_OK) {
        clcnn__net_release_parameters(net); /* a later call starts afresh */
        return status;
    }
    net->initialised = 1;
    return CLCNN_OK;
}

/* ------------------------------------------------------------ initialisation */

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
            status = clcnn__init_uniform(net->ctx, layer->weight, -bound, bound, seed, stream++);
            if (status == CLCNN_OK && layer->has_bias)
                status = clcnn__init_uniform(net->ctx, layer->bias, -bound, bound, seed, stream++);
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
    size_t count = 0;
    clcnn__shape shapes[2];
    for (size_t i = 0; i < net->layer_count; i++)
        count += parameter_shapes(&net->layers[i], shapes);
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
