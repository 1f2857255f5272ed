/* The folded inference network: each batch norm merged into the convolution
 * or dense layer before it, dropout (the identity in evaluation) dropped.
 * Being a network in eval mode, it runs through net_run.c's fusions: a
 * folded convolution takes the ReLU and 2x2 max pool after it into its
 * epilogue (bias + ReLU + pool in the convolution's stores). */
#include <string.h>

#include "nn/net_internal.h"

static int folds_into_previous(const clcnn_net *net, size_t index) {
    return index > 0 && net->layers[index].kind == CLCNN_LAYER_BATCHNORM &&
           (net->layers[index - 1].kind == CLCNN_LAYER_CONV2D ||
            net->layers[index - 1].kind == CLCNN_LAYER_DENSE);
}

/* Appends to `folded` the layer equivalent to net->layers[index] in eval. */
static clcnn_status add_equivalent(clcnn_net *folded, const clcnn_net *net, size_t index) {
    const clcnn__layer *l = &net->layers[index];
    int fold_next = index + 1 < net->layer_count && folds_into_previous(net, index + 1);
    switch (l->kind) {
    case CLCNN_LAYER_CONV2D:
        return clcnn_net_add_conv2d(folded, l->name, l->out_dims[0], l->kernel_h, l->kernel_w,
                                    &l->conv, l->has_bias || fold_next);
    case CLCNN_LAYER_DENSE:
        return clcnn_net_add_dense(folded, l->name, l->out_dims[0], l->has_bias || fold_next);
    case CLCNN_LAYER_BATCHNORM:
        return folds_into_previous(net, index) ? CLCNN_OK
                                               : clcnn_net_add_batchnorm(folded, l->name, &l->bn);
    case CLCNN_LAYER_ACTIVATION:
        return clcnn_net_add_activation(folded, &l->activation);
    case CLCNN_LAYER_POOL2D:
        return clcnn_net_add_pool2d(folded, &l->pool);
    case CLCNN_LAYER_FLATTEN:
        return clcnn_net_add_flatten(folded);
    case CLCNN_LAYER_DROPOUT:
        return CLCNN_OK;
    case CLCNN_LAYER_NONE:
        break;
    }
    return CLCNN_ERROR_INVALID_ARGUMENT;
}

static clcnn__layer *find_layer(clcnn_net *net, const char *name) {
    for (size_t i = 0; i < net->layer_count; i++)
        if (strcmp(net->layers[i].name, name) == 0)
            return &net->layers[i];
    return NULL;
}

static clcnn_status copy_parameters(clcnn__layer *to, const clcnn__layer *from) {
    clcnn_status status = clcnn_tensor_copy(to->weight, from->weight);
    if (status == CLCNN_OK && from->bias != NULL)
        status = clcnn_tensor_copy(to->bias, from->bias);
    if (status == CLCNN_OK && from->kind == CLCNN_LAYER_BATCHNORM) {
        status = clcnn_tensor_copy(to->bn_state.running_mean, from->bn_state.running_mean);
        if (status == CLCNN_OK)
            status = clcnn_tensor_copy(to->bn_state.running_var, from->bn_state.running_var);
        to->bn_state.num_batches_tracked = from->bn_state.num_batches_tracked;
    }
    return status;
}

/* Fills the folded network's parameters from the original's. */
static clcnn_status transfer_parameters(clcnn_net *folded, clcnn_net *net) {
    clcnn_status status = CLCNN_OK;
    for (size_t i = 0; i < net->layer_count && status == CLCNN_OK; i++) {
        const clcnn__layer *l = &net->layers[i];
        if (l->weight == NULL || folds_into_previous(net, i))
            continue;
        clcnn__layer *target = find_layer(folded, l->name);
        if (target == NULL)
            return CLCNN_ERROR_NOT_FOUND;
        if (i + 1 < net->layer_count && folds_into_previous(net, i + 1)) {
            const clcnn__layer *bn = &net->layers[i + 1];
            status = clcnn_batchnorm_fold_into_conv(net->ctx, &bn->bn, bn->weight, bn->bias,
                                                    &bn->bn_state, l->weight, l->bias,
                                                    target->weight, target->bias);
        } else {
            status = copy_parameters(target, l);
        }
    }
    return status;
}

static clcnn_status net_create_folded(clcnn_net *net, clcnn_net **out) {
    if (out == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    clcnn_net *folded = NULL;
    clcnn_status status = clcnn__net_ensure_parameters(net);
    if (status == CLCNN_OK)
        status = clcnn_net_create(net->ctx, net->in_ndim, net->in_dims, &folded);
    for (size_t i = 0; i < net->layer_count && status == CLCNN_OK; i++)
        status = add_equivalent(folded, net, i);
    if (status == CLCNN_OK)
        status = clcnn__net_allocate_parameters(folded); /* every value transferred below */
    if (status == CLCNN_OK)
        status = transfer_parameters(folded, net);
    if (status == CLCNN_OK)
        status = clcnn_net_set_training(folded, 0);
    if (status != CLCNN_OK) {
        clcnn_net_destroy(folded);
        return status;
    }
    *out = folded;
    return CLCNN_OK;
}

clcnn_status clcnn_net_create_folded(clcnn_net *net, clcnn_net **out) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    return clcnn__named(net->ctx, mark, __func__, net_create_folded(net, out));
}
