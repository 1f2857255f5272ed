/* The data-parallel hooks of clcnn/net.h: the gradient callback, the first
 * sample of dropout's masks, and replacements for the batch norm's
 * training calls. Each is one small detour from net_run.c; with no hook
 * installed every path is the one before the hooks, bit for bit.
 *
 * Dropout from a first sample f above 0: the op draws element e of a call
 * from word e of its stream, so the layer runs it over a wider batch, f
 * samples of unused values followed by this batch, and keeps the last part:
 * concat puts the batch behind the prefix, dropout runs in place over the
 * whole, and concat's backward takes the batch back out (and likewise for
 * the gradient). Exactly the mask words a forward over the global batch
 * gives these samples, for any feature count, without an element offset in
 * the op. */
#include "clcnn/concat.h"
#include "nn/net_internal.h"

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

/* The state-dict index of the layer's first parameter. */
static size_t first_parameter_of(const clcnn_net *net, const clcnn__layer *layer) {
    for (size_t i = 0; i < net->parameter_count; i++)
        if (net->parameters[i].value == layer->weight || net->parameters[i].value == layer->bias)
            return i;
    return net->parameter_count;
}

clcnn_status clcnn__net_gradients_final(clcnn_net *net, const clcnn__layer *layer) {
    if (net->gradient_callback == NULL || (layer->weight == NULL && layer->bias == NULL))
        return CLCNN_OK;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    clcnn_status status =
        net->gradient_callback(net->gradient_user, first_parameter_of(net, layer));
    if (status != CLCNN_OK && clcnn__error_mark_take(net->ctx) == mark)
        clcnn__fail(net->ctx, status, "the gradient callback failed after layer %s (%s)",
                    layer->name, clcnn_status_name(status));
    return status;
}

/* --------------------------------------------------------------- batch norm */

/* A replacement that failed without saying why gets a message. */
static clcnn_status replacement_result(clcnn_net *net, const clcnn__layer *layer,
                                       clcnn__error_mark mark, const char *which,
                                       clcnn_status status) {
    if (status != CLCNN_OK && clcnn__error_mark_take(net->ctx) == mark)
        clcnn__fail(net->ctx, status,
                    "layer %s: the batch-norm %s installed by clcnn_net_set_batchnorm_ops "
                    "failed (%s)",
                    layer->name, which, clcnn_status_name(status));
    return status;
}

clcnn_status clcnn__net_batchnorm_forward_train(clcnn_net *net, clcnn__layer *layer,
                                                const clcnn_batchnorm_params *params,
                                                const clcnn_tensor *x,
                                                const clcnn_batchnorm_saved *saved) {
    const clcnn_net_batchnorm_ops *ops = &net->batchnorm_ops;
    if (ops->forward_train == NULL)
        return clcnn_batchnorm_forward_train(net->ctx, params, x, layer->weight, layer->bias,
                                             &layer->bn_state, layer->output, saved);
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    clcnn_status status = ops->forward_train(ops->user, net->ctx, params, x, layer->weight,
                                             layer->bias, &layer->bn_state, layer->output, saved);
    return replacement_result(net, layer, mark, "forward", status);
}

clcnn_status clcnn__net_batchnorm_backward(clcnn_net *net, clcnn__layer *layer,
                                           const clcnn_batchnorm_params *params,
                                           const clcnn_tensor *x, const clcnn_tensor *dy,
                                           const clcnn_batchnorm_saved *saved, clcnn_tensor *dx,
                                           const clcnn_batchnorm_grads *grads) {
    const clcnn_net_batchnorm_ops *ops = &net->batchnorm_ops;
    if (ops->backward == NULL)
        return clcnn_batchnorm_backward(net->ctx, params, x, layer->output, dy, layer->weight,
                                        saved, dx, grads);
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    clcnn_status status = ops->backward(ops->user, net->ctx, params, x, layer->output, dy,
                                        layer->weight, saved, dx, grads);
    return replacement_result(net, layer, mark, "backward", status);
}

/* ------------------------------------------------------------------ dropout */

/* *t as a [1, count] tensor, made (zero-filled) when it is not one. */
static clcnn_status ensure_row(clcnn_context *ctx, clcnn_tensor **t, size_t count) {
    if (*t != NULL && clcnn_tensor_numel(*t) == count)
        return CLCNN_OK;
    clcnn_tensor_destroy(*t);
    *t = NULL;
    size_t dims[2] = {1, count};
    clcnn_status status = clcnn_tensor_create(ctx, 2, dims, t);
    return status == CLCNN_OK ? clcnn_tensor_fill(*t, 0.0f) : status;
}

/* The layer's mask made for `numel` elements (training makes one for the
 * batch; a wide pass needs a wider one, the next plain pass the batch's
 * again). */
static clcnn_status ensure_mask(clcnn_net *net, clcnn__layer *layer, size_t numel) {
    clcnn_dropout_mask_info info = {0};
    clcnn_status status = clcnn_dropout_mask_get_info(layer->mask, &info);
    if (status != CLCNN_OK || info.numel == numel)
        return status;
    clcnn_dropout_mask_destroy(layer->mask);
    layer->mask = NULL;
    return clcnn_dropout_mask_create(net->ctx, numel, NULL, &layer->mask);
}

/* The prefix, the wide batch and a mask over it, for `first` samples
 * before a batch of `batch` samples. */
static clcnn_status prepare_wide(clcnn_net *net, clcnn__layer *layer, size_t first, size_t batch) {
    size_t features = clcnn__layer_out_features(layer);
    clcnn_status status = ensure_mask(net, layer, (first + batch) * features);
    if (status == CLCNN_OK)
        status = ensure_row(net->ctx, &layer->dropout_prefix, first * features);
    if (status == CLCNN_OK)
        status = ensure_row(net->ctx, &layer->dropout_wide, (first + batch) * features);
    return status;
}

/* wide = [prefix, batch]; op(wide) in place; out = wide's last part. */
typedef enum wide_pass { WIDE_FORWARD, WIDE_BACKWARD } wide_pass;

static clcnn_status run_wide(clcnn_net *net, clcnn__layer *layer, wide_pass pass,
                             const clcnn_tensor *in, clcnn_tensor *out) {
    size_t dims[2] = {1, clcnn_tensor_numel(in)};
    clcnn_tensor *in_row = NULL, *out_row = NULL;
    clcnn_status status = clcnn_tensor_reshape(in, 2, dims, &in_row);
    if (status == CLCNN_OK)
        status = clcnn_tensor_reshape(out, 2, dims, &out_row);
    const clcnn_tensor *parts[2] = {layer->dropout_prefix, in_row};
    if (status == CLCNN_OK)
        status = clcnn_concat_forward(net->ctx, 2, parts, layer->dropout_wide);
    if (status == CLCNN_OK && pass == WIDE_FORWARD)
        status = clcnn_dropout_forward(net->ctx, &layer->dropout, layer->dropout_p, 1,
                                       layer->dropout_wide, layer->dropout_wide, layer->mask);
    else if (status == CLCNN_OK)
        status = clcnn_dropout_backward(net->ctx, layer->mask, layer->dropout_wide,
                                        layer->dropout_wide, CLCNN_GRAD_OVERWRITE);
    clcnn_tensor *results[2] = {layer->dropout_prefix, out_row};
    if (status == CLCNN_OK)
        status =
            clcnn_concat_backward(net->ctx, layer->dropout_wide, 2, results, CLCNN_GRAD_OVERWRITE);
    clcnn_tensor_destroy(in_row);
    clcnn_tensor_destroy(out_row);
    return status;
}

clcnn_status clcnn__net_dropout_forward(clcnn_net *net, clcnn__layer *layer,
                                        const clcnn_tensor *x) {
    /* Evaluation and p = 0 draw nothing: the plain call. */
    int wide = net->training && net->first_sample > 0 && layer->dropout_p > 0.0f;
    layer->dropout_first = wide ? net->first_sample : 0;
    if (!wide) {
        clcnn_status status = layer->mask != NULL
                                  ? ensure_mask(net, layer, clcnn_tensor_numel(layer->output))
                                  : CLCNN_OK;
        return status == CLCNN_OK
                   ? clcnn_dropout_forward(net->ctx, &layer->dropout, layer->dropout_p,
                                           net->training, x, layer->output, layer->mask)
                   : status;
    }
    clcnn_status status = prepare_wide(net, layer, net->first_sample, clcnn_tensor_dim(x, 0));
    return status == CLCNN_OK ? run_wide(net, layer, WIDE_FORWARD, x, layer->output) : status;
}

clcnn_status clcnn__net_dropout_backward(clcnn_net *net, clcnn__layer *layer,
                                         const clcnn_tensor *dy, clcnn_tensor *dx) {
    if (layer->dropout_first == 0)
        return clcnn_dropout_backward(net->ctx, layer->mask, dy, dx, CLCNN_GRAD_OVERWRITE);
    return run_wide(net, layer, WIDE_BACKWARD, dy, dx);
}
