/* The folded inference network: each node's module says what stands for it
 * in eval mode (a batch norm folds into the conv or dense layer that only
 * it reads, dropout becomes its input, the rest is copied), then writes the
 * folded values. Being a network in eval mode, it runs through the
 * modules' fusions: a folded convolution takes the ReLU and 2x2 max pool
 * after it into its epilogue (bias + ReLU + pool in the convolution's
 * stores). */
#include <stdlib.h>
#include <string.h>

#include "nn/layer.h"

clcnn_status clcnn__fold_copy(clcnn__fold *fold, size_t index, const void *config) {
    const clcnn__node *node = clcnn__net_node(fold->from, index);
    size_t inputs[CLCNN__MAX_INPUTS];
    for (size_t k = 0; k < node->input_count; k++)
        inputs[k] = fold->map[node->inputs[k]];
    clcnn_status status =
        clcnn__net_add(fold->to, node->type, node->type->named ? node->name : NULL, inputs,
                       node->input_count, config);
    fold->map[index] = fold->to->node_count - 1;
    return status;
}

/* The values of a node copied as they are, when a copy of it stands for
 * it (nothing for a node that became part of another). */
clcnn_status clcnn__fold_copy_values(clcnn__fold *fold, size_t index) {
    const clcnn__node *node = clcnn__net_node(fold->from, index);
    clcnn__node *target = clcnn__net_node(fold->to, fold->map[index]);
    if (target->type != node->type || target->state_count != node->state_count)
        return CLCNN_OK;
    clcnn_status status = CLCNN_OK;
    for (size_t j = 0; j < node->state_count && status == CLCNN_OK; j++) {
        if (node->state[j].value != NULL)
            status = clcnn_tensor_copy(target->state[j].value, node->state[j].value);
        target->state[j].counter = node->state[j].counter;
    }
    return status;
}

static clcnn_status build_folded(clcnn__fold *fold) {
    clcnn_status status = CLCNN_OK;
    for (size_t i = 1; i < fold->from->node_count && status == CLCNN_OK; i++) {
        const clcnn__node *node = clcnn__net_node(fold->from, i);
        status = node->type->fold != NULL ? node->type->fold(fold, i)
                                          : clcnn__fold_copy(fold, i, node->config);
    }
    if (status == CLCNN_OK)
        status = clcnn__net_allocate_parameters(fold->to); /* every value written below */
    for (size_t i = 1; i < fold->from->node_count && status == CLCNN_OK; i++) {
        const clcnn__node *node = clcnn__net_node(fold->from, i);
        status = node->type->fold_values != NULL ? node->type->fold_values(fold, i)
                                                 : clcnn__fold_copy_values(fold, i);
    }
    return status;
}

static clcnn_status net_create_folded(clcnn_net *net, clcnn_net **out) {
    if (out == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    const clcnn__sample *input = &net->nodes[0].out;
    clcnn__fold fold = {net, NULL, calloc(net->node_count, sizeof(size_t))};
    clcnn_status status = fold.map != NULL ? clcnn__net_ensure_parameters(net)
                                           : clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY,
                                                         "out of host memory");
    if (status == CLCNN_OK)
        status = clcnn_net_create(net->ctx, input->ndim, input->dims, &fold.to);
    if (status == CLCNN_OK)
        status = build_folded(&fold);
    if (status == CLCNN_OK)
        status = clcnn_net_set_training(fold.to, 0);
    free(fold.map);
    if (status != CLCNN_OK) {
        clcnn_net_destroy(fold.to);
        return status;
    }
    *out = fold.to;
    return CLCNN_OK;
}

clcnn_status clcnn_net_create_folded(clcnn_net *net, clcnn_net **out) {
    CLCNN__NET_PUBLIC(net, net_create_folded(net, out));
}
