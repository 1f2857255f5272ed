/* Concatenation of nodes along the channels of [C, H, W] samples (or the
 * features of [F] samples): torch.cat(..., dim=1) (clcnn/concat.h). */
#include "clcnn/concat.h"
#include "clcnn/elementwise.h"
#include "nn/layer.h"

typedef struct concat_config {
    int unused; /* no settings */
} concat_config;

/* Every input has the first's rank and its dimensions past the first. */
static clcnn_status concat_infer(clcnn_net *net, clcnn__node *node,
                                 const clcnn__sample *const *inputs) {
    node->out = *inputs[0];
    node->out.dims[0] = 0;
    for (size_t k = 0; k < node->input_count; k++) {
        int fits = inputs[k]->ndim == inputs[0]->ndim;
        for (size_t d = 1; fits && d < inputs[0]->ndim; d++)
            fits = inputs[k]->dims[d] == inputs[0]->dims[d];
        if (!fits) {
            char label[96], first[64], other[64];
            return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_SHAPE,
                               "%s: node %zu gives %s, node %zu gives %s (they may differ only in "
                               "the first dimension)",
                               clcnn__node_label(net, node, label, sizeof label), node->inputs[0],
                               clcnn__sample_string(inputs[0], first, sizeof first),
                               node->inputs[k],
                               clcnn__sample_string(inputs[k], other, sizeof other));
        }
        node->out.dims[0] += inputs[k]->dims[0];
    }
    return CLCNN_OK;
}

static clcnn_status concat_forward(clcnn_net *net, clcnn__node *node,
                                   const clcnn_tensor *const *inputs, clcnn_tensor *output) {
    return clcnn_concat_forward(net->ctx, node->input_count, inputs, output);
}

/* The op writes every part, distinct tensors in one mode: what a join of
 * distinct nodes whose gradients are all first written asks for. */
static int one_call_fits(const clcnn__node *node, const clcnn__backward_args *args) {
    for (size_t k = 0; k < node->input_count; k++) {
        if (args->dx[k] == NULL || args->dx_mode[k] != args->dx_mode[0])
            return 0;
        for (size_t j = 0; j < k; j++)
            if (args->dx[j] == args->dx[k])
                return 0;
    }
    return 1;
}

/* Otherwise every part goes to a temporary, then to its gradient (a node
 * joined twice, or one that needs none, as the network's input). */
static clcnn_status backward_through_parts(clcnn_net *net, clcnn__node *node,
                                           const clcnn__backward_args *args) {
    clcnn_tensor *parts[CLCNN__MAX_INPUTS] = {NULL};
    clcnn_status status = CLCNN_OK;
    for (size_t k = 0; k < node->input_count && status == CLCNN_OK; k++) {
        size_t dims[CLCNN_MAX_DIMS], ndim = clcnn_tensor_ndim(args->inputs[k]);
        for (size_t d = 0; d < ndim; d++)
            dims[d] = clcnn_tensor_dim(args->inputs[k], d);
        status = clcnn_tensor_create(net->ctx, ndim, dims, &parts[k]);
    }
    if (status == CLCNN_OK)
        status = clcnn_concat_backward(net->ctx, args->dy, node->input_count, parts,
                                       CLCNN_GRAD_OVERWRITE);
    for (size_t k = 0; k < node->input_count && status == CLCNN_OK; k++) {
        if (args->dx[k] == NULL)
            continue;
        if (args->dx_mode[k] == CLCNN_GRAD_OVERWRITE)
            status = clcnn_tensor_copy(args->dx[k], parts[k]);
        else
            status = clcnn_add(net->ctx, args->dx[k], parts[k], args->dx[k]);
    }
    for (size_t k = 0; k < node->input_count; k++)
        clcnn_tensor_destroy(parts[k]);
    return status;
}

static clcnn_status concat_backward(clcnn_net *net, clcnn__node *node,
                                    const clcnn__backward_args *args) {
    if (one_call_fits(node, args))
        return clcnn_concat_backward(net->ctx, args->dy, node->input_count, args->dx,
                                     args->dx_mode[0]);
    return backward_through_parts(net, node, args);
}

const clcnn__layer_type clcnn__layer_concat = {
    .kind = CLCNN_LAYER_CONCAT,
    .name = "concat",
    .min_inputs = 2,
    .max_inputs = CLCNN__MAX_INPUTS,
    .config_size = sizeof(concat_config),
    .infer = concat_infer,
    .forward = concat_forward,
    .backward = concat_backward,
};

clcnn_status clcnn_net_add_concat(clcnn_net *net, const size_t *nodes, size_t count) {
    concat_config config = {0};
    if (net != NULL && nodes == NULL) {
        clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
        return clcnn__named(net->ctx, mark, __func__,
                            clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "nodes is NULL"));
    }
    CLCNN__NET_PUBLIC(net, clcnn__net_add(net, &clcnn__layer_concat, NULL, nodes, count, &config));
}
