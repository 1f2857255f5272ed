/* The flatten layer (torch.nn.Flatten): [C, H, W] samples as [C*H*W]
 * features. Its output is a view of its input's (nothing is computed);
 * its gradient is the input's gradient too when it is the input's only
 * reader, else backward copies (or adds) it there. */
#include "clcnn/elementwise.h"
#include "nn/layer.h"

typedef struct flatten_config {
    int unused; /* no settings */
} flatten_config;

static clcnn_status flatten_infer(clcnn_net *net, clcnn__node *node,
                                  const clcnn__sample *const *inputs) {
    (void)net;
    node->out = (clcnn__sample){1, {clcnn__sample_numel(inputs[0])}};
    return CLCNN_OK;
}

static clcnn__alias_kind flatten_alias(const clcnn__node *node) {
    (void)node;
    return CLCNN__ALIAS_VIEW;
}

static clcnn_status flatten_forward(clcnn_net *net, clcnn__node *node,
                                    const clcnn_tensor *const *inputs, clcnn_tensor *output) {
    (void)net;
    (void)node;
    (void)inputs;
    (void)output;
    return CLCNN_OK; /* the output is a view of the input */
}

static clcnn_status flatten_backward(clcnn_net *net, clcnn__node *node,
                                     const clcnn__backward_args *args) {
    if (node->plan.grad_alias)
        return CLCNN_OK; /* dx is a view of dy */
    if (args->dx_mode[0] == CLCNN_GRAD_OVERWRITE)
        return clcnn_tensor_copy(args->dx[0], args->dy);
    return clcnn_add(net->ctx, args->dx[0], args->dy, args->dx[0]);
}

const clcnn__layer_type clcnn__layer_flatten = {
    .kind = CLCNN_LAYER_FLATTEN,
    .name = "flatten",
    .min_inputs = 1,
    .max_inputs = 1,
    .config_size = sizeof(flatten_config),
    .infer = flatten_infer,
    .alias = flatten_alias,
    .forward = flatten_forward,
    .backward = flatten_backward,
};

clcnn_status clcnn_net_add_flatten(clcnn_net *net) {
    flatten_config config = {0};
    CLCNN__NET_PUBLIC(net, clcnn__net_add(net, &clcnn__layer_flatten, NULL, NULL, 0, &config));
}
