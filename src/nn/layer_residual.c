/* The residual join: y = a + b of two nodes of the same shape, optionally
 * with the ReLU that ends a ResNet block fused in (clcnn/residual.h). */
#include "clcnn/residual.h"
#include "nn/layer.h"

typedef struct residual_config {
    clcnn_fused_activation activation;
} residual_config;

static int fuses_relu(const residual_config *c) {
    return c->activation == CLCNN_FUSED_RELU;
}

static clcnn_status residual_infer(clcnn_net *net, clcnn__node *node,
                                   const clcnn__sample *const *inputs) {
    int same = inputs[0]->ndim == inputs[1]->ndim;
    for (size_t d = 0; same && d < inputs[0]->ndim; d++)
        same = inputs[0]->dims[d] == inputs[1]->dims[d];
    if (!same) {
        char label[96], a[64], b[64];
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_SHAPE,
                           "%s: node %zu gives %s and node %zu gives %s (the two must agree)",
                           clcnn__node_label(net, node, label, sizeof label), node->inputs[0],
                           clcnn__sample_string(inputs[0], a, sizeof a), node->inputs[1],
                           clcnn__sample_string(inputs[1], b, sizeof b));
    }
    node->out = *inputs[0];
    return CLCNN_OK;
}

static unsigned residual_backward_reads(const clcnn__node *node) {
    const residual_config *c = node->config;
    return fuses_relu(c) ? CLCNN__READS_OUTPUT : 0u; /* the ReLU's mask */
}

static clcnn_status residual_forward(clcnn_net *net, clcnn__node *node,
                                     const clcnn_tensor *const *inputs, clcnn_tensor *output) {
    const residual_config *c = node->config;
    return clcnn_residual_forward(net->ctx, inputs[0], inputs[1], c->activation, output);
}

/* Both gradients in one pass; a node joined with itself gets the two
 * added (the op writes da first, then db). */
static clcnn_status residual_backward(clcnn_net *net, clcnn__node *node,
                                      const clcnn__backward_args *args) {
    const residual_config *c = node->config;
    return clcnn_residual_backward(net->ctx, c->activation, fuses_relu(c) ? args->output : NULL,
                                   args->dy, args->dx[0], args->dx_mode[0], args->dx[1],
                                   args->dx_mode[1]);
}

static clcnn_status residual_describe(const clcnn__node *node, json_t *layer) {
    const residual_config *c = node->config;
    return json_object_set_new(layer, "relu", json_boolean(fuses_relu(c))) == 0
               ? CLCNN_OK
               : CLCNN_ERROR_OUT_OF_HOST_MEMORY;
}

static clcnn_status residual_parse(clcnn_context *ctx, const json_t *layer, void *config) {
    residual_config *c = config;
    int relu = 0;
    clcnn_status status = clcnn__json_flag(ctx, layer, "relu", &relu);
    c->activation = relu ? CLCNN_FUSED_RELU : CLCNN_FUSED_NONE;
    return status;
}

const clcnn__layer_type clcnn__layer_residual = {
    .kind = CLCNN_LAYER_RESIDUAL,
    .name = "residual",
    .min_inputs = 2,
    .max_inputs = 2,
    .config_size = sizeof(residual_config),
    .infer = residual_infer,
    .backward_reads = residual_backward_reads,
    .forward = residual_forward,
    .backward = residual_backward,
    .describe = residual_describe,
    .parse = residual_parse,
};

static clcnn_status add_residual(clcnn_net *net, size_t a, size_t b,
                                 clcnn_fused_activation activation) {
    if (activation != CLCNN_FUSED_NONE && activation != CLCNN_FUSED_RELU)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "unknown fused activation %d",
                           (int)activation);
    residual_config config = {activation};
    const size_t inputs[2] = {a, b};
    return clcnn__net_add(net, &clcnn__layer_residual, NULL, inputs, 2, &config);
}

clcnn_status clcnn_net_add_residual(clcnn_net *net, size_t a, size_t b,
                                    clcnn_fused_activation activation) {
    CLCNN__NET_PUBLIC(net, add_residual(net, a, b, activation));
}
