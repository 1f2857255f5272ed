/* A network's parameters and buffers: the state-dict entries its modules
 * describe, the trainable ones in two arenas (values and gradients), drawn
 * from Philox streams, handed out by index. A network is usable as built:
 * its parameters are made on their first use and drawn with
 * CLCNN_NET_DEFAULT_SEED, exactly as clcnn_net_init(net,
 * CLCNN_NET_DEFAULT_SEED) draws them (include/clcnn/net.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layer.h"
#include "ops/init.h"

/* The shapes of every parameter of the network in state-dict order,
 * malloc'ed into *out (NULL when there are none). */
static clcnn_status parameter_shapes(clcnn_net *net, clcnn__shape **out, size_t *count) {
    *count = clcnn_net_parameter_count(net);
    *out = *count != 0 ? calloc(*count, sizeof **out) : NULL;
    if (*count != 0 && *out == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    size_t next = 0;
    for (size_t i = 0; i < net->node_count; i++)
        for (size_t j = 0; j < net->nodes[i].state_count; j++)
            if (net->nodes[i].state[j].entry.kind == CLCNN__STATE_PARAMETER)
                (*out)[next++] = net->nodes[i].state[j].entry.shape;
    return CLCNN_OK;
}

/* A buffer at its reset value. */
static clcnn_status create_buffer(clcnn_net *net, clcnn__node_tensor *t) {
    const clcnn__shape *shape = &t->entry.shape;
    clcnn_status status = clcnn_tensor_create(net->ctx, shape->ndim, shape->dims, &t->value);
    return status == CLCNN_OK ? clcnn_tensor_fill(t->value, t->entry.fill) : status;
}

/* Hands the node its parameters from values and grads (taken from the
 * front, *next advanced past them), and makes its buffers. */
static clcnn_status take_node_state(clcnn_net *net, clcnn__node *node, clcnn_tensor **values,
                                    clcnn_tensor **grads, size_t *next) {
    clcnn_status status = CLCNN_OK;
    for (size_t j = 0; j < node->state_count && status == CLCNN_OK; j++) {
        clcnn__node_tensor *t = &node->state[j];
        if (t->entry.kind == CLCNN__STATE_BUFFER) {
            status = create_buffer(net, t);
        } else if (t->entry.kind == CLCNN__STATE_PARAMETER) {
            t->value = values[*next];
            t->grad = grads[*next];
            values[*next] = grads[*next] = NULL;
            net->parameters[(*next)++] = (clcnn_net_tensor){t->name, t->value, t->grad};
            if (t->entry.fan_in == 0.0 && t->entry.fill != 0.0f)
                status = clcnn_tensor_fill(t->value, t->entry.fill); /* e.g. batch norm's gamma */
        }
    }
    return status;
}

/* Every parameter and gradient, as views of the network's value and
 * gradient arenas laid out alike (or separate tensors when they would not
 * fit in one allocation), handed to the nodes. */
static clcnn_status create_parameters(clcnn_net *net) {
    clcnn__shape *shapes = NULL;
    size_t count = 0;
    clcnn_status status = parameter_shapes(net, &shapes, &count);
    /* values, then grads; one more so that no network asks for 0 bytes */
    clcnn_tensor **tensors = status == CLCNN_OK ? calloc(2 * count + 1, sizeof *tensors) : NULL;
    net->parameters = status == CLCNN_OK ? calloc(count + 1, sizeof *net->parameters) : NULL;
    if (status == CLCNN_OK && (tensors == NULL || net->parameters == NULL))
        status = clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    clcnn_tensor **values = tensors, **grads = tensors != NULL ? tensors + count : NULL;
    if (status == CLCNN_OK)
        status = clcnn__arena_create(net->ctx, count, shapes, values, &net->value_arena);
    if (status == CLCNN_OK)
        status = clcnn__arena_create(net->ctx, count, shapes, grads, &net->grad_arena);
    size_t next = 0;
    for (size_t i = 0; i < net->node_count && status == CLCNN_OK; i++)
        status = take_node_state(net, &net->nodes[i], values, grads, &next);
    net->parameter_count = next;
    for (size_t i = 0; tensors != NULL && i < 2 * count; i++)
        clcnn_tensor_destroy(tensors[i]); /* none unless a step failed */
    free(tensors);
    free(shapes);
    return status;
}

void clcnn__net_release_parameters(clcnn_net *net) {
    for (size_t i = 0; i < net->node_count; i++)
        for (size_t j = 0; j < net->nodes[i].state_count; j++) {
            clcnn__node_tensor *t = &net->nodes[i].state[j];
            clcnn_tensor_destroy(t->value);
            clcnn_tensor_destroy(t->grad);
            t->value = t->grad = NULL;
            t->counter = 0;
        }
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
    if (net->node_count < 2)
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

/* One entry at its initial value; parameter i of the state-dict order draws
 * the stream (seed, 2^63 + i). */
static clcnn_status draw_entry(clcnn_net *net, clcnn__node_tensor *t, uint64_t seed,
                               uint64_t stream) {
    if (t->entry.kind == CLCNN__STATE_COUNTER) {
        t->counter = 0;
        return CLCNN_OK;
    }
    if (t->entry.kind == CLCNN__STATE_PARAMETER && t->entry.fan_in > 0.0) {
        float bound = (float)(1.0 / sqrt(t->entry.fan_in));
        return clcnn__init_uniform(net->ctx, t->value, -bound, bound, seed, stream);
    }
    return clcnn_tensor_fill(t->value, t->entry.fill);
}

/* Draws every entry from `seed` (the rule of clcnn_net_init). */
static clcnn_status draw_parameters(clcnn_net *net, uint64_t seed) {
    clcnn_status status = CLCNN_OK;
    uint64_t stream = UINT64_C(1) << 63;
    for (size_t i = 0; i < net->node_count && status == CLCNN_OK; i++) {
        clcnn__node *node = &net->nodes[i];
        for (size_t j = 0; j < node->state_count && status == CLCNN_OK; j++) {
            status = draw_entry(net, &node->state[j], seed, stream);
            stream += node->state[j].entry.kind == CLCNN__STATE_PARAMETER;
        }
        if (node->type != NULL && node->type->reseed != NULL)
            node->type->reseed(node, seed);
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
    CLCNN__NET_PUBLIC(net, allocate_and_draw(net, seed));
}

/* ----------------------------------------------------------------- access */

size_t clcnn_net_parameter_count(const clcnn_net *net) {
    if (net == NULL)
        return 0;
    size_t count = 0;
    for (size_t i = 0; i < net->node_count; i++)
        count += net->nodes[i].parameter_count;
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
