/* The activation layer: ReLU, leaky ReLU, sigmoid or tanh (torch.nn.ReLU,
 * ...). It writes over its input where the network allows it (the only
 * reader of an output no backward step needs); its backward then works from
 * its output, which the ops allow except for leaky ReLU with a negative
 * slope (see clcnn_activation_backward), which always gets memory of its
 * own. A ReLU written in place is what a batch norm or a convolution before
 * it can compute in its own launch (their modules' fusions). */
#include <string.h>

#include "nn/layer.h"

static const char *const kind_names[] = {"relu", "leaky_relu", "sigmoid", "tanh"};
#define KIND_COUNT (sizeof kind_names / sizeof kind_names[0])

int clcnn__activation_is_relu(const clcnn__node *node) {
    return node->type == &clcnn__layer_activation &&
           ((const clcnn_activation_params *)node->config)->kind == CLCNN_ACTIVATION_RELU;
}

static clcnn_status activation_infer(clcnn_net *net, clcnn__node *node,
                                     const clcnn__sample *const *inputs) {
    const clcnn_activation_params *p = node->config;
    if ((int)p->kind < 0 || (size_t)p->kind >= KIND_COUNT) {
        char label[96];
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: unknown activation %d",
                           clcnn__node_label(net, node, label, sizeof label), (int)p->kind);
    }
    node->out = *inputs[0];
    return CLCNN_OK;
}

static clcnn__alias_kind activation_alias(const clcnn__node *node) {
    const clcnn_activation_params *p = node->config;
    int needs_input = p->kind == CLCNN_ACTIVATION_LEAKY_RELU && p->negative_slope < 0.0f;
    return needs_input ? CLCNN__ALIAS_NONE : CLCNN__ALIAS_IN_PLACE;
}

static unsigned activation_backward_reads(const clcnn__node *node) {
    return node->plan.alias ? CLCNN__READS_OUTPUT : CLCNN__READS_INPUTS;
}

static clcnn_status activation_forward(clcnn_net *net, clcnn__node *node,
                                       const clcnn_tensor *const *inputs, clcnn_tensor *output) {
    return clcnn_activation_forward(net->ctx, node->config, inputs[0], output);
}

static clcnn_status activation_backward(clcnn_net *net, clcnn__node *node,
                                        const clcnn__backward_args *args) {
    const clcnn_tensor *saved = node->plan.alias ? args->output : args->inputs[0];
    return clcnn_activation_backward(net->ctx, node->config, saved, args->dy, args->dx[0],
                                     args->dx_mode[0]);
}

static clcnn_status activation_describe(const clcnn__node *node, json_t *layer) {
    const clcnn_activation_params *p = node->config;
    int failed = json_object_set_new(layer, "activation", json_string(kind_names[p->kind])) != 0;
    if (p->kind == CLCNN_ACTIVATION_LEAKY_RELU)
        failed = failed || json_object_set_new(layer, "negative_slope",
                                               clcnn__json_short_real(p->negative_slope)) != 0;
    return failed ? CLCNN_ERROR_OUT_OF_HOST_MEMORY : CLCNN_OK;
}

/* Without "activation" (checkpoints of the seed network written before
 * graphs): ReLU, the only activation that network has. */
static clcnn_status activation_parse(clcnn_context *ctx, const json_t *layer, void *config) {
    clcnn_activation_params *p = config;
    *p = clcnn_activation_params_default();
    const json_t *kind = json_object_get(layer, "activation");
    if (kind != NULL) {
        const char *text = json_string_value(kind);
        size_t found = 0;
        while (found < KIND_COUNT && (text == NULL || strcmp(text, kind_names[found]) != 0))
            found++;
        if (found == KIND_COUNT)
            return clcnn__fail(ctx, CLCNN_ERROR_CORRUPT_FILE, "unknown \"activation\"");
        p->kind = (clcnn_activation)found;
    }
    return clcnn__json_float(ctx, layer, "negative_slope", &p->negative_slope);
}

const clcnn__layer_type clcnn__layer_activation = {
    .kind = CLCNN_LAYER_ACTIVATION,
    .name = "activation",
    .min_inputs = 1,
    .max_inputs = 1,
    .config_size = sizeof(clcnn_activation_params),
    .infer = activation_infer,
    .alias = activation_alias,
    .backward_reads = activation_backward_reads,
    .forward = activation_forward,
    .backward = activation_backward,
    .describe = activation_describe,
    .parse = activation_parse,
};

clcnn_status clcnn_net_add_activation(clcnn_net *net, const clcnn_activation_params *params) {
    clcnn_activation_params config = params != NULL ? *params : clcnn_activation_params_default();
    CLCNN__NET_PUBLIC(net, clcnn__net_add(net, &clcnn__layer_activation, NULL, NULL, 0, &config));
}
