/* The architecture in a checkpoint's metadata: {"input": [C, H, W],
 * "layers": [{"kind": "conv2d", "name": "conv1", "inputs": [0], ...}]},
 * each layer with the nodes it reads and the settings its module writes;
 * and a network built back from it. A layer without "inputs" reads the
 * node before it (checkpoints written before networks were graphs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layer.h"

static json_t *describe_node(const clcnn__node *node) {
    json_t *layer = json_pack("{s:s}", "kind", node->type->name), *inputs = json_array();
    int failed = layer == NULL || inputs == NULL;
    if (!failed && node->name[0] != '\0')
        failed = json_object_set_new(layer, "name", json_string(node->name)) != 0;
    for (size_t k = 0; !failed && k < node->input_count; k++)
        failed = json_array_append_new(inputs, json_integer((json_int_t)node->inputs[k])) != 0;
    if (!failed) {
        failed = json_object_set_new(layer, "inputs", inputs) != 0;
        inputs = NULL;
    }
    if (!failed && node->type->describe != NULL)
        failed = node->type->describe(node, layer) != CLCNN_OK;
    json_decref(inputs);
    if (failed) {
        json_decref(layer);
        return NULL;
    }
    return layer;
}

char *clcnn__net_describe(const clcnn_net *net) {
    json_t *input = json_array(), *layers = json_array();
    const clcnn__sample *sample = &net->nodes[0].out;
    for (size_t i = 0; input != NULL && i < sample->ndim; i++)
        json_array_append_new(input, json_integer((json_int_t)sample->dims[i]));
    for (size_t i = 1; layers != NULL && i < net->node_count; i++) {
        json_t *layer = describe_node(&net->nodes[i]);
        if (layer == NULL || json_array_append_new(layers, layer) != 0) {
            json_decref(layers);
            layers = NULL;
        }
    }
    json_t *root = input != NULL && layers != NULL
                       ? json_pack("{s:o,s:o}", "input", input, "layers", layers)
                       : NULL;
    char *text = root != NULL
                     ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9))
                     : NULL;
    json_decref(root);
    return text;
}

/* ------------------------------------------------------------------ build */

/* The nodes a layer reads: "inputs", else the node before it. */
static clcnn_status layer_inputs(clcnn_net *net, const json_t *layer, size_t *inputs,
                                 size_t *count) {
    const json_t *list = json_object_get(layer, "inputs");
    if (list == NULL) {
        inputs[0] = net->node_count - 1;
        *count = 1;
        return CLCNN_OK;
    }
    *count = json_array_size(list);
    if (!json_is_array(list) || *count == 0 || *count > CLCNN__MAX_INPUTS)
        return clcnn__fail(net->ctx, CLCNN_ERROR_CORRUPT_FILE,
                           "\"inputs\" is not a list of 1 to %d node numbers", CLCNN__MAX_INPUTS);
    for (size_t k = 0; k < *count; k++) {
        const json_t *value = json_array_get(list, k);
        if (!json_is_integer(value) || json_integer_value(value) < 0 ||
            (size_t)json_integer_value(value) >= net->node_count)
            return clcnn__fail(net->ctx, CLCNN_ERROR_CORRUPT_FILE,
                               "\"inputs\" names a node that is not before the layer");
        inputs[k] = (size_t)json_integer_value(value);
    }
    return CLCNN_OK;
}

/* Appends the layer an architecture entry describes. */
static clcnn_status add_layer(clcnn_net *net, const json_t *layer) {
    const char *kind = json_string_value(json_object_get(layer, "kind"));
    const clcnn__layer_type *type = kind != NULL ? clcnn__layer_type_named(kind) : NULL;
    if (type == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_CORRUPT_FILE, "unknown layer kind %s%s%s",
                           kind != NULL ? "\"" : "", kind != NULL ? kind : "(none)",
                           kind != NULL ? "\"" : "");
    const char *name = json_string_value(json_object_get(layer, "name"));
    size_t inputs[CLCNN__MAX_INPUTS], count = 0;
    void *config = calloc(1, type->config_size);
    if (config == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    clcnn_status status = layer_inputs(net, layer, inputs, &count);
    if (status == CLCNN_OK && type->parse != NULL)
        status = type->parse(net->ctx, layer, config);
    if (status == CLCNN_OK)
        status = clcnn__net_add(net, type, name, inputs, count, config);
    free(config);
    return status;
}

/* The input shape: a list of 1 to 3 dimensions. */
static clcnn_status input_shape(clcnn_context *ctx, const json_t *root, size_t *dims,
                                size_t *ndim) {
    const json_t *input = json_object_get(root, "input");
    *ndim = json_array_size(input);
    if (!json_is_array(input) || *ndim == 0 || *ndim > CLCNN__SAMPLE_DIMS)
        return clcnn__fail(ctx, CLCNN_ERROR_CORRUPT_FILE,
                           "\"input\" is not a list of 1 to %d dimensions", CLCNN__SAMPLE_DIMS);
    for (size_t i = 0; i < *ndim; i++) {
        const json_t *value = json_array_get(input, i);
        if (!json_is_integer(value) || json_integer_value(value) <= 0)
            return clcnn__fail(ctx, CLCNN_ERROR_CORRUPT_FILE,
                               "\"input\" dimension %zu is not a positive integer", i);
        dims[i] = (size_t)json_integer_value(value);
    }
    return CLCNN_OK;
}

static clcnn_status build(clcnn_context *ctx, const json_t *root, clcnn_net **out) {
    size_t dims[CLCNN__SAMPLE_DIMS], ndim = 0;
    const json_t *layers = json_object_get(root, "layers");
    clcnn_status status = input_shape(ctx, root, dims, &ndim);
    if (status == CLCNN_OK && (!json_is_array(layers) || json_array_size(layers) == 0))
        status = clcnn__fail(ctx, CLCNN_ERROR_CORRUPT_FILE, "\"layers\" is not a list of layers");
    if (status == CLCNN_OK)
        status = clcnn_net_create(ctx, ndim, dims, out);
    for (size_t i = 0; status == CLCNN_OK && i < json_array_size(layers); i++) {
        status = add_layer(*out, json_array_get(layers, i));
        if (status != CLCNN_OK) { /* the layer's own message, with its place */
            char message[512];
            snprintf(message, sizeof message, "%s", clcnn_context_last_error(ctx));
            status = clcnn__fail(ctx, CLCNN_ERROR_CORRUPT_FILE, "architecture layer %zu: %s", i,
                                 message);
        }
    }
    return status;
}

clcnn_status clcnn__net_from_architecture(clcnn_context *ctx, const char *text, clcnn_net **out) {
    *out = NULL;
    json_error_t error;
    json_t *root = json_loads(text, 0, &error);
    clcnn_status status = root != NULL ? build(ctx, root, out)
                                       : clcnn__fail(ctx, CLCNN_ERROR_CORRUPT_FILE,
                                                     "the architecture is not JSON: %s (column %d)",
                                                     error.text, error.column);
    json_decref(root);
    if (status != CLCNN_OK) {
        clcnn_net_destroy(*out);
        *out = NULL;
    }
    return status;
}
