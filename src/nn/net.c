/* Building a network: nodes appended in order, each reading earlier nodes
 * and checked by its module against the shapes they give, with the numbers
 * of the mismatch in the message when it does not fit. Parameters:
 * net_params.c; running: net_run.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layer.h"

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
    clcnn__node *input = calloc(1, sizeof *input);
    if (net == NULL || input == NULL) {
        free(net);
        free(input);
        return clcnn__fail(context, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    input->out.ndim = ndim;
    memcpy(input->out.dims, dims, ndim * sizeof *dims);
    net->ctx = context;
    net->nodes = input;
    net->node_count = 1;
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
    for (size_t i = 0; i < net->node_count; i++) {
        free(net->nodes[i].config);
        free(net->nodes[i].state);
    }
    free(net->nodes);
    free(net);
}

size_t clcnn__net_batch_shape(size_t batch, size_t ndim, const size_t *dims, size_t *out) {
    out[0] = batch;
    memcpy(out + 1, dims, ndim * sizeof *dims);
    return ndim + 1;
}

size_t clcnn__sample_numel(const clcnn__sample *sample) {
    size_t count = 1;
    for (size_t i = 0; i < sample->ndim; i++)
        count *= sample->dims[i];
    return count;
}

const clcnn__node *clcnn__net_sole_reader(const clcnn_net *net, const clcnn__node *node) {
    return node->reader_count == 1 ? &net->nodes[node->reader] : NULL;
}

clcnn__node_tensor *clcnn__net_state_named(const clcnn_net *net, const char *name) {
    for (size_t i = 0; i < net->node_count; i++)
        for (size_t j = 0; j < net->nodes[i].state_count; j++)
            if (strcmp(net->nodes[i].state[j].name, name) == 0)
                return &net->nodes[i].state[j];
    return NULL;
}

/* ------------------------------------------------------------------ names */

/* The index of the node called `name`, or SIZE_MAX. */
static size_t node_named(const clcnn_net *net, const char *name) {
    for (size_t i = 1; i < net->node_count; i++)
        if (strcmp(net->nodes[i].name, name) == 0)
            return i;
    return SIZE_MAX;
}

/* One part of a dotted path: an identifier or a number. */
static int valid_part(const char *part, size_t length) {
    if (length == 0)
        return 0;
    int number = isdigit((unsigned char)part[0]);
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)part[i];
        if (!(isdigit(c) || (!number && (isalpha(c) || c == '_'))))
            return 0;
    }
    return 1;
}

static int valid_path(const char *name) {
    for (const char *part = name;; part++) {
        const char *dot = strchr(part, '.');
        size_t length = dot != NULL ? (size_t)(dot - part) : strlen(part);
        if (!valid_part(part, length))
            return 0;
        if (dot == NULL)
            return 1;
        part = dot;
    }
}

/* A parameterised layer's name must work as its module path in a
 * state-dict name ("conv1.weight", "layer1.0.conv1.weight"). */
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
    if (!valid_path(name))
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "layer name \"%s\" is not a module path: identifiers or numbers "
                           "joined by '.', e.g. \"layer1.0.conv1\"",
                           name);
    size_t taken = node_named(net, name);
    if (taken != SIZE_MAX)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "layer name \"%s\" is taken by layer %zu", name, taken - 1);
    return CLCNN_OK;
}

/* ------------------------------------------------------------------ nodes */

static clcnn_status check_inputs(clcnn_net *net, const clcnn__layer_type *type,
                                 const size_t *inputs, size_t count) {
    if (count < type->min_inputs || count > type->max_inputs)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "a %s layer reads %zu to %zu nodes, not %zu", type->name,
                           type->min_inputs, type->max_inputs, count);
    for (size_t k = 0; k < count; k++)
        if (inputs[k] >= net->node_count)
            return clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_RANGE,
                               "node %zu does not exist (the network has nodes 0 to %zu)",
                               inputs[k], net->node_count - 1);
    return CLCNN_OK;
}

/* The node's state-dict entries as its module describes them, named
 * "<node name>.<suffix>". */
static clcnn_status describe_state(clcnn_net *net, clcnn__node *node) {
    clcnn__state_entry entries[CLCNN__MAX_STATE];
    size_t count = node->type->state != NULL ? node->type->state(net, node, entries) : 0;
    if (count == 0)
        return CLCNN_OK;
    node->state = calloc(count, sizeof *node->state);
    if (node->state == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    node->state_count = count;
    for (size_t j = 0; j < count; j++) {
        node->state[j].entry = entries[j];
        snprintf(node->state[j].name, sizeof node->state[j].name, "%s.%s", node->name,
                 entries[j].suffix);
        node->parameter_count += entries[j].kind == CLCNN__STATE_PARAMETER;
    }
    return CLCNN_OK;
}

/* Fills the node at the end of net->nodes (room made) and asks its module
 * for its shape and state. */
static clcnn_status fill_node(clcnn_net *net, clcnn__node *node, const clcnn__layer_type *type,
                              const char *name, const size_t *inputs, size_t count,
                              const void *config) {
    memset(node, 0, sizeof *node);
    node->index = net->node_count;
    node->type = type;
    if (type->named)
        snprintf(node->name, sizeof node->name, "%s", name);
    node->input_count = count;
    memcpy(node->inputs, inputs, count * sizeof *inputs);
    node->config = malloc(type->config_size);
    if (node->config == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    memcpy(node->config, config, type->config_size);
    const clcnn__sample *samples[CLCNN__MAX_INPUTS];
    for (size_t k = 0; k < count; k++)
        samples[k] = &net->nodes[inputs[k]].out;
    clcnn_status status = type->infer(net, node, samples);
    return status == CLCNN_OK ? describe_state(net, node) : status;
}

/* Keeps the node filled at the end: its inputs learn their reader. */
static void commit_node(clcnn_net *net, clcnn__node *node) {
    size_t index = net->node_count++;
    node->first_parameter = clcnn_net_parameter_count(net) - node->parameter_count;
    for (size_t k = 0; k < node->input_count; k++) {
        clcnn__node *input = &net->nodes[node->inputs[k]];
        if (input->reader_count == 0 || input->reader != index) {
            input->reader_count++;
            input->reader = index;
        }
    }
    net->current = index;
    net->planned = 0;
}

clcnn_status clcnn__net_add(clcnn_net *net, const clcnn__layer_type *type, const char *name,
                            const size_t *inputs, size_t count, const void *config) {
    if (net->initialised)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "layers cannot be added once the network's parameters exist (made "
                           "by its first forward, init, parameter, save, load or fold)");
    clcnn_status status = type->named ? check_name(net, name) : CLCNN_OK;
    const size_t current = net->current;
    if (inputs == NULL) {
        inputs = &current;
        count = 1;
    }
    if (status == CLCNN_OK)
        status = check_inputs(net, type, inputs, count);
    if (status != CLCNN_OK)
        return status;
    clcnn__node *grown = realloc(net->nodes, (net->node_count + 1) * sizeof *net->nodes);
    if (grown == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    net->nodes = grown;
    clcnn__node *node = &net->nodes[net->node_count];
    status = fill_node(net, node, type, name, inputs, count, config);
    if (status != CLCNN_OK) {
        free(node->config);
        free(node->state);
        return status;
    }
    commit_node(net, node);
    return CLCNN_OK;
}

/* ------------------------------------------------------------------ graphs */

size_t clcnn_net_last_node(const clcnn_net *net) {
    return net != NULL ? net->node_count - 1 : 0;
}

static clcnn_status net_from(clcnn_net *net, size_t node) {
    if (node >= net->node_count)
        return clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_RANGE,
                           "node %zu does not exist (the network has nodes 0 to %zu)", node,
                           net->node_count - 1);
    net->current = node;
    return CLCNN_OK;
}

clcnn_status clcnn_net_from(clcnn_net *net, size_t node) {
    CLCNN__NET_PUBLIC(net, net_from(net, node));
}

/* ------------------------------------------------------------- the seed */

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
    if (net == NULL || net->node_count < 2)
        return 0;
    return clcnn__sample_numel(&net->nodes[net->node_count - 1].out);
}

size_t clcnn_net_layer_count(const clcnn_net *net) {
    return net != NULL ? net->node_count - 1 : 0;
}

clcnn_layer_kind clcnn_net_layer_kind(const clcnn_net *net, size_t index) {
    if (net == NULL || index >= net->node_count - 1)
        return CLCNN_LAYER_NONE;
    return net->nodes[index + 1].type->kind;
}
