/* The data-parallel hooks of clcnn/net.h: the gradient callback, the first
 * sample of dropout's masks, and replacements for the batch norm's
 * training calls. Each is one small detour: the backward loop (net_run.c)
 * reports final gradients here, the batch-norm module (layer_batchnorm.c)
 * calls its training ops through here, and the dropout module
 * (layer_dropout.c) reads net->first_sample. With no hook installed every
 * path is the one before the hooks, bit for bit. */
#include "nn/layer.h"

/* ------------------------------------------------------------------ setters */

clcnn_status clcnn_net_set_gradient_callback(clcnn_net *net, clcnn_net_gradient_callback callback,
                                             void *user) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    net->gradient_callback = callback;
    net->gradient_user = callback != NULL ? user : NULL;
    return CLCNN_OK;
}

clcnn_status clcnn_net_set_first_sample(clcnn_net *net, size_t first_sample) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    net->first_sample = first_sample;
    return CLCNN_OK;
}

clcnn_status clcnn_net_set_batchnorm_ops(clcnn_net *net, const clcnn_net_batchnorm_ops *ops) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (ops != NULL && (ops->forward_train == NULL || ops->backward == NULL))
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_net_set_batchnorm_ops: ops->%s is NULL",
                           ops->forward_train == NULL ? "forward_train" : "backward");
    net->batchnorm_ops = ops != NULL ? *ops : (clcnn_net_batchnorm_ops){NULL, NULL, NULL};
    return CLCNN_OK;
}

/* --------------------------------------------------------------- callback */

void clcnn__net_gradients_begin(clcnn_net *net) {
    net->gradients_reported = net->parameter_count;
}

/* The first node from which on every node's parameter gradients are final
 * once backward has visited node `index`: a node is done when the step that
 * covers it (itself, or a node before it that fuses it) has been visited,
 * so the frontier lies above the last node still waiting for a step before
 * `index`. Parameters are numbered in node order, so the frontier's first
 * parameter is the callback's first_final. */
static size_t final_frontier(const clcnn_net *net, size_t index) {
    size_t frontier = index;
    for (size_t j = index; j < net->node_count; j++)
        if (net->nodes[j].plan.backward_by < index)
            frontier = j + 1;
    return frontier;
}

clcnn_status clcnn__net_gradients_final(clcnn_net *net, size_t index) {
    if (net->gradient_callback == NULL)
        return CLCNN_OK;
    size_t frontier = final_frontier(net, index);
    size_t first_final =
        frontier < net->node_count ? net->nodes[frontier].first_parameter : net->parameter_count;
    if (first_final >= net->gradients_reported)
        return CLCNN_OK; /* nothing newly final: first_final only decreases */
    net->gradients_reported = first_final;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    clcnn_status status = net->gradient_callback(net->gradient_user, first_final);
    if (status != CLCNN_OK && clcnn__error_mark_take(net->ctx) == mark) {
        char label[96];
        clcnn__fail(net->ctx, status, "the gradient callback failed after %s (%s)",
                    clcnn__node_label(net, &net->nodes[index], label, sizeof label),
                    clcnn_status_name(status));
    }
    return status;
}

/* --------------------------------------------------------------- batch norm */

/* A replacement that failed without saying why gets a message. */
static clcnn_status replacement_result(clcnn_net *net, const char *label, clcnn__error_mark mark,
                                       const char *which, clcnn_status status) {
    if (status != CLCNN_OK && clcnn__error_mark_take(net->ctx) == mark)
        clcnn__fail(net->ctx, status,
                    "%s: the batch-norm %s installed by clcnn_net_set_batchnorm_ops failed (%s)",
                    label, which, clcnn_status_name(status));
    return status;
}

clcnn_status clcnn__net_batchnorm_forward_train(clcnn_net *net, const char *label,
                                                const clcnn_batchnorm_params *params,
                                                const clcnn_tensor *x, const clcnn_tensor *gamma,
                                                const clcnn_tensor *beta,
                                                clcnn_batchnorm_state *state, clcnn_tensor *y,
                                                const clcnn_batchnorm_saved *saved) {
    const clcnn_net_batchnorm_ops *ops = &net->batchnorm_ops;
    if (ops->forward_train == NULL)
        return clcnn_batchnorm_forward_train(net->ctx, params, x, gamma, beta, state, y, saved);
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    clcnn_status status =
        ops->forward_train(ops->user, net->ctx, params, x, gamma, beta, state, y, saved);
    return replacement_result(net, label, mark, "forward", status);
}

clcnn_status clcnn__net_batchnorm_backward(clcnn_net *net, const char *label,
                                           const clcnn_batchnorm_params *params,
                                           const clcnn_tensor *x, const clcnn_tensor *y,
                                           const clcnn_tensor *dy, const clcnn_tensor *gamma,
                                           const clcnn_batchnorm_saved *saved, clcnn_tensor *dx,
                                           const clcnn_batchnorm_grads *grads) {
    const clcnn_net_batchnorm_ops *ops = &net->batchnorm_ops;
    if (ops->backward == NULL)
        return clcnn_batchnorm_backward(net->ctx, params, x, y, dy, gamma, saved, dx, grads);
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    clcnn_status status =
        ops->backward(ops->user, net->ctx, params, x, y, dy, gamma, saved, dx, grads);
    return replacement_result(net, label, mark, "backward", status);
}
