/* What the layer modules share: how messages name a layer and a sample,
 * gradients that add through a temporary, and the architecture's JSON
 * fields. */
#include <stdio.h>
#include <stdlib.h>

#include "clcnn/elementwise.h"
#include "nn/layer.h"

clcnn__node *clcnn__net_node(const clcnn_net *net, size_t index) {
    return &net->nodes[index];
}

const char *clcnn__node_label(const clcnn_net *net, const clcnn__node *node, char *buffer,
                              size_t size) {
    if (node->name[0] != '\0')
        snprintf(buffer, size, "%s layer %s", node->type->name, node->name);
    else
        snprintf(buffer, size, "%s layer %zu", node->type->name, (size_t)(node - net->nodes) - 1);
    return buffer;
}

const char *clcnn__sample_string(const clcnn__sample *sample, char *buffer, size_t size) {
    int used = snprintf(buffer, size, "%zu", sample->dims[0]);
    for (size_t i = 1; i < sample->ndim && used >= 0 && (size_t)used < size; i++)
        used += snprintf(buffer + used, size - (size_t)used, "x%zu", sample->dims[i]);
    return buffer;
}

clcnn_status clcnn__fail_rank(clcnn_net *net, const clcnn__node *node, const clcnn__sample *input,
                              const char *needs) {
    char label[96], shape[64];
    return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_SHAPE,
                       "%s needs %s; its input is %s (%zu dimensions per sample)",
                       clcnn__node_label(net, node, label, sizeof label), needs,
                       clcnn__sample_string(input, shape, sizeof shape), input->ndim);
}

/* ------------------------------------------------------------- gradients */

clcnn_status clcnn__grad_target(clcnn_net *net, clcnn_tensor *dx, clcnn_grad_mode mode,
                                clcnn_tensor **temporary, clcnn_tensor **target) {
    *temporary = NULL;
    *target = dx;
    if (mode == CLCNN_GRAD_OVERWRITE)
        return CLCNN_OK;
    size_t dims[CLCNN_MAX_DIMS], ndim = clcnn_tensor_ndim(dx);
    for (size_t d = 0; d < ndim; d++)
        dims[d] = clcnn_tensor_dim(dx, d);
    clcnn_status status = clcnn_tensor_create_uninitialized(net->ctx, ndim, dims, temporary);
    *target = *temporary;
    return status;
}

clcnn_status clcnn__grad_finish(clcnn_net *net, clcnn_tensor *dx, clcnn_tensor *temporary,
                                clcnn_status status) {
    if (status == CLCNN_OK && temporary != NULL)
        status = clcnn_add(net->ctx, dx, temporary, dx);
    clcnn_tensor_destroy(temporary);
    return status;
}

/* ---------------------------------------------------------- architecture */

static int is_size(const json_t *value) {
    return json_is_integer(value) && json_integer_value(value) >= 0;
}

static int is_number(const json_t *value) {
    return json_is_number(value);
}

static int is_flag(const json_t *value) {
    return json_is_boolean(value);
}

static int is_size_pair(const json_t *value) {
    return json_array_size(value) == 2 && is_size(json_array_get(value, 0)) &&
           is_size(json_array_get(value, 1));
}

/* The field `key` of `object` in *out when present and `valid`, else NULL:
 * absent leaves the caller's default, invalid fails saying what it is not. */
static clcnn_status field(clcnn_context *ctx, const json_t *object, const char *key,
                          int (*valid)(const json_t *), const char *what, const json_t **out) {
    const json_t *value = json_object_get(object, key);
    *out = value != NULL && valid(value) ? value : NULL;
    if (value != NULL && *out == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_CORRUPT_FILE, "\"%s\" is not %s", key, what);
    return CLCNN_OK;
}

clcnn_status clcnn__json_size(clcnn_context *ctx, const json_t *object, const char *key,
                              size_t *out) {
    const json_t *value;
    clcnn_status status = field(ctx, object, key, is_size, "an integer >= 0", &value);
    if (value != NULL)
        *out = (size_t)json_integer_value(value);
    return status;
}

clcnn_status clcnn__json_float(clcnn_context *ctx, const json_t *object, const char *key,
                               float *out) {
    const json_t *value;
    clcnn_status status = field(ctx, object, key, is_number, "a number", &value);
    if (value != NULL)
        *out = (float)json_number_value(value);
    return status;
}

clcnn_status clcnn__json_flag(clcnn_context *ctx, const json_t *object, const char *key, int *out) {
    const json_t *value;
    clcnn_status status = field(ctx, object, key, is_flag, "true or false", &value);
    if (value != NULL)
        *out = json_is_true(value);
    return status;
}

clcnn_status clcnn__json_pair(clcnn_context *ctx, const json_t *object, const char *key,
                              size_t *first, size_t *second) {
    const json_t *value;
    clcnn_status status = field(ctx, object, key, is_size_pair, "a pair of integers >= 0", &value);
    if (value != NULL) {
        *first = (size_t)json_integer_value(json_array_get(value, 0));
        *second = (size_t)json_integer_value(json_array_get(value, 1));
    }
    return status;
}

json_t *clcnn__json_short_real(float value) {
    char text[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, (double)value);
        if (strtof(text, NULL) == value)
            break;
    }
    return json_real(strtod(text, NULL));
}

json_t *clcnn__json_pair_new(size_t first, size_t second) {
    return json_pack("[I,I]", (json_int_t)first, (json_int_t)second);
}
