/* Running a network: per-batch memory, forward, loss and backward. Every
 * call only enqueues work; nothing is read back.
 *
 * Fusions (the same results as the layers one by one, to rounding):
 * - a ReLU after a batch norm runs inside it (params.relu), forward and
 *   backward (clcnn_batchnorm_backward_relu), in both modes;
 * - in eval mode a convolution takes the batch norm after it (as its
 *   per-channel affine, recomputed from the current parameters on every
 *   forward), a ReLU after either, and then a 2x2 max pool of stride 2 into
 *   its epilogue; in training mode only a ReLU right after it (whose
 *   backward stays separate: it needs only the output, which the fused
 *   forward writes; pooling's backward needs its input, so no pool).
 * A fusable ReLU is one written in place over its input. */
#include <stdlib.h>
#include <string.h>

#include "clcnn/dense.h"
#include "nn/net_internal.h"

/* ------------------------------------------------------------ batch memory */

static void release_layer_batch(clcnn__layer *layer) {
    clcnn_tensor_destroy(layer->output);
    clcnn_tensor_destroy(layer->output_grad);
    clcnn_tensor_destroy(layer->save_mean);
    clcnn_tensor_destroy(layer->save_invstd);
    clcnn_tensor_destroy(layer->fused_scale);
    clcnn_tensor_destroy(layer->fused_shift);
    clcnn_dropout_mask_destroy(layer->mask);
    layer->output = layer->output_grad = layer->save_mean = layer->save_invstd = NULL;
    layer->fused_scale = layer->fused_shift = NULL;
    layer->mask = NULL;
}

void clcnn__net_release_batch(clcnn_net *net) {
    for (size_t i = 0; i < net->layer_count; i++)
        release_layer_batch(&net->layers[i]);
    net->batch = 0;
    net->training_ready = 0;
    net->last_input = NULL;
    net->loss_ready = 0;
}

/* Flatten and in-place activations reuse their input's memory. */
static int layer_reuses_input(const clcnn_net *net, size_t index) {
    const clcnn__layer *layer = &net->layers[index];
    return index > 0 && (layer->kind == CLCNN_LAYER_FLATTEN ||
                         (layer->kind == CLCNN_LAYER_ACTIVATION && layer->in_place));
}

/* A layer that reuses its input's memory gets a view of the previous
 * layer's output; others get their own. */
static clcnn_status allocate_layer_batch(clcnn_net *net, size_t index, size_t batch) {
    clcnn__layer *layer = &net->layers[index];
    size_t dims[4], ndim = clcnn__net_batch_shape(batch, layer->out_ndim, layer->out_dims, dims);
    clcnn_status status;
    if (layer_reuses_input(net, index))
        status = clcnn_tensor_reshape(net->layers[index - 1].output, ndim, dims, &layer->output);
    else
        status = clcnn_tensor_create(net->ctx, ndim, dims, &layer->output);
    if (status == CLCNN_OK && layer->kind == CLCNN_LAYER_BATCHNORM && index > 0 &&
        net->layers[index - 1].kind == CLCNN_LAYER_CONV2D) {
        status = clcnn_tensor_create(net->ctx, 1, layer->in_dims, &layer->fused_scale);
        if (status == CLCNN_OK)
            status = clcnn_tensor_create(net->ctx, 1, layer->in_dims, &layer->fused_shift);
    }
    return status;
}

/* What only training needs, made by the first training forward of a batch
 * size: gradients of the outputs, batch-norm statistics, dropout masks. An
 * inference-only network never holds them. */
static clcnn_status allocate_layer_training(clcnn_net *net, size_t index) {
    clcnn__layer *layer = &net->layers[index];
    size_t dims[4],
        ndim = clcnn__net_batch_shape(net->batch, layer->out_ndim, layer->out_dims, dims);
    clcnn_status status;
    if (layer_reuses_input(net, index))
        status = clcnn_tensor_reshape(net->layers[index - 1].output_grad, ndim, dims,
                                      &layer->output_grad);
    else
        status = clcnn_tensor_create(net->ctx, ndim, dims, &layer->output_grad);
    if (status == CLCNN_OK && layer->kind == CLCNN_LAYER_BATCHNORM) {
        status = clcnn_tensor_create(net->ctx, 1, layer->in_dims, &layer->save_mean);
        if (status == CLCNN_OK)
            status = clcnn_tensor_create(net->ctx, 1, layer->in_dims, &layer->save_invstd);
    }
    if (status == CLCNN_OK && layer->kind == CLCNN_LAYER_DROPOUT)
        status = clcnn_dropout_mask_create(net->ctx, clcnn_tensor_numel(layer->output), NULL,
                                           &layer->mask);
    return status;
}

/* Per-batch memory for a forward pass in the current mode. */
static clcnn_status prepare_batch(clcnn_net *net, size_t batch) {
    clcnn_status status = CLCNN_OK;
    if (net->batch != batch) {
        clcnn__net_release_batch(net);
        for (size_t i = 0; i < net->layer_count && status == CLCNN_OK; i++)
            status = allocate_layer_batch(net, i, batch);
        net->batch = status == CLCNN_OK ? batch : 0;
    }
    if (status == CLCNN_OK && net->training && !net->training_ready) {
        for (size_t i = 0; i < net->layer_count && status == CLCNN_OK; i++)
            status = allocate_layer_training(net, i);
        net->training_ready = status == CLCNN_OK;
    }
    if (status != CLCNN_OK)
        clcnn__net_release_batch(net);
    return status;
}

static clcnn_status check_input(clcnn_net *net, const clcnn_tensor *input) {
    clcnn_status status = clcnn__check_tensor(net->ctx, input, "input");
    if (status != CLCNN_OK)
        return status;
    int fits = clcnn_tensor_ndim(input) == net->in_ndim + 1;
    for (size_t i = 0; fits && i < net->in_ndim; i++)
        fits = clcnn_tensor_dim(input, i + 1) == net->in_dims[i];
    if (!fits) {
        char shape[96];
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_SHAPE,
                           "input %s does not match the network's sample shape "
                           "(%zu dimensions: %zu x %zu x %zu after the batch)",
                           clcnn__shape_string(input, shape, sizeof shape), net->in_ndim,
                           net->in_dims[0], net->in_ndim > 1 ? net->in_dims[1] : 1,
                           net->in_ndim > 2 ? net->in_dims[2] : 1);
    }
    return CLCNN_OK;
}

/* ----------------------------------------------------------------- fusion */

/* Layer `index` is a ReLU written over its input's memory (so that a layer
 * before it may write the ReLU's output in its place). */
static int is_fusable_relu(const clcnn_net *net, size_t index) {
    if (index == 0 || index >= net->layer_count)
        return 0;
    const clcnn__layer *layer = &net->layers[index];
    return layer->kind == CLCNN_LAYER_ACTIVATION && layer->in_place &&
           layer->activation.kind == CLCNN_ACTIVATION_RELU;
}

/* The batch norm at `index` runs the ReLU after it (both modes). */
static int batchnorm_takes_relu(const clcnn_net *net, size_t index) {
    return net->layers[index].kind == CLCNN_LAYER_BATCHNORM && is_fusable_relu(net, index + 1);
}

/* Layer `index` is a max pool of 2x2 windows, stride 2, no padding, whose
 * output is the floor half of its input (the conv epilogue's pool). */
static int is_fusable_pool(const clcnn_net *net, size_t index) {
    if (index >= net->layer_count || net->layers[index].kind != CLCNN_LAYER_POOL2D)
        return 0;
    const clcnn__layer *layer = &net->layers[index];
    const clcnn_pool2d_params *p = &layer->pool;
    return p->mode == CLCNN_POOL2D_MAX && p->kernel_h == 2 && p->kernel_w == 2 &&
           (p->stride_h == 0 || p->stride_h == 2) && (p->stride_w == 0 || p->stride_w == 2) &&
           p->pad_h == 0 && p->pad_w == 0 && layer->in_ndim == 3 &&
           layer->out_dims[1] == layer->in_dims[1] / 2 &&
           layer->out_dims[2] == layer->in_dims[2] / 2 && layer->in_dims[1] >= 2 &&
           layer->in_dims[2] >= 2;
}

/* The convolution at `index` in the current mode: *bn the batch norm it
 * takes (eval only; NULL: none), *relu whether it takes a ReLU, *pool a max
 * pool (eval only); returns the index of the last layer it computes. */
static size_t conv_fusion(const clcnn_net *net, size_t index, clcnn__layer **bn, int *relu,
                          int *pool) {
    size_t last = index;
    *bn = NULL;
    if (!net->training && index + 1 < net->layer_count &&
        net->layers[index + 1].kind == CLCNN_LAYER_BATCHNORM &&
        net->layers[index + 1].fused_scale != NULL) {
        *bn = &net->layers[index + 1];
        last = index + 1;
    }
    *relu = is_fusable_relu(net, last + 1);
    last += *relu ? 1 : 0;
    *pool = !net->training && is_fusable_pool(net, last + 1);
    return *pool ? last + 1 : last;
}

/* ----------------------------------------------------------------- forward */

/* A convolution with what it takes of the layers after it (conv_fusion);
 * *last is the last layer computed, whose output holds the result. */
static clcnn_status forward_conv(clcnn_net *net, size_t index, const clcnn_tensor *x,
                                 size_t *last) {
    clcnn_context *ctx = net->ctx;
    clcnn__layer *layer = &net->layers[index], *bn;
    int relu, pool;
    *last = conv_fusion(net, index, &bn, &relu, &pool);
    clcnn_conv2d_epilogue epilogue = clcnn_conv2d_epilogue_default();
    epilogue.activation = relu ? CLCNN_CONV2D_ACTIVATION_RELU : CLCNN_CONV2D_ACTIVATION_NONE;
    epilogue.max_pool = pool;
    clcnn_status status = CLCNN_OK;
    if (bn != NULL) {
        status = clcnn_batchnorm_eval_affine(ctx, &bn->bn, bn->weight, bn->bias, &bn->bn_state,
                                             bn->fused_scale, bn->fused_shift);
        epilogue.scale = bn->fused_scale;
        epilogue.shift = bn->fused_shift;
    }
    if (status == CLCNN_OK)
        status = clcnn_conv2d_forward_fused(ctx, &layer->conv, x, layer->weight, layer->bias,
                                            &epilogue, net->layers[*last].output);
    return status;
}

/* Batch norm, with the ReLU after it when batchnorm_takes_relu. */
static clcnn_status forward_batchnorm(clcnn_net *net, size_t index, const clcnn_tensor *x) {
    clcnn_context *ctx = net->ctx;
    clcnn__layer *layer = &net->layers[index];
    clcnn_batchnorm_params params = layer->bn;
    params.activation = batchnorm_takes_relu(net, index) ? CLCNN_FUSED_RELU : CLCNN_FUSED_NONE;
    const clcnn_batchnorm_saved saved = {layer->save_mean, layer->save_invstd};
    if (net->training)
        return clcnn_batchnorm_forward_train(ctx, &params, x, layer->weight, layer->bias,
                                             &layer->bn_state, layer->output, &saved);
    return clcnn_batchnorm_forward_eval(ctx, &params, x, layer->weight, layer->bias,
                                        &layer->bn_state, layer->output);
}

/* The layers that need no fusion. */
static clcnn_status forward_layer(clcnn_net *net, clcnn__layer *layer, const clcnn_tensor *x) {
    clcnn_context *ctx = net->ctx;
    switch (layer->kind) {
    case CLCNN_LAYER_CONV2D:
    case CLCNN_LAYER_BATCHNORM:
        return CLCNN_OK; /* forward_conv, forward_batchnorm */
    case CLCNN_LAYER_ACTIVATION:
        return clcnn_activation_forward(ctx, &layer->activation, x, layer->output);
    case CLCNN_LAYER_POOL2D:
        return clcnn_pool2d_forward(ctx, &layer->pool, x, layer->output);
    case CLCNN_LAYER_FLATTEN:
        return CLCNN_OK; /* a view: nothing to compute */
    case CLCNN_LAYER_DENSE:
        return clcnn_dense_forward(ctx, x, layer->weight, layer->bias, layer->output);
    case CLCNN_LAYER_DROPOUT:
        return clcnn_dropout_forward(ctx, &layer->dropout, layer->dropout_p, net->training, x,
                                     layer->output, layer->mask);
    case CLCNN_LAYER_NONE:
        break;
    }
    return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "unknown layer kind");
}

/* The first layer reads the caller's input; a flatten over it needs a view,
 * which the per-batch memory cannot hold, so the network's first layer is
 * never a reusing one (see allocate_layer_batch's index > 0). */
static clcnn_status net_forward(clcnn_net *net, const clcnn_tensor *input,
                                const clcnn_tensor **logits) {
    if (logits == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "logits is NULL");
    *logits = NULL;
    if (net->layer_count == 0)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "the network has no layers");
    clcnn_status status = check_input(net, input);
    if (status == CLCNN_OK)
        status = clcnn__net_ensure_parameters(net);
    if (status == CLCNN_OK)
        status = prepare_batch(net, clcnn_tensor_dim(input, 0));
    const clcnn_tensor *x = input;
    for (size_t i = 0; i < net->layer_count && status == CLCNN_OK; i++) {
        clcnn__layer *layer = &net->layers[i];
        if (i == 0 && layer->kind == CLCNN_LAYER_FLATTEN) {
            status = clcnn_tensor_copy(layer->output, x);
        } else if (layer->kind == CLCNN_LAYER_CONV2D) {
            status = forward_conv(net, i, x, &i);
        } else if (layer->kind == CLCNN_LAYER_BATCHNORM) {
            status = forward_batchnorm(net, i, x);
            i += batchnorm_takes_relu(net, i) ? 1 : 0;
        } else {
            status = forward_layer(net, layer, x);
        }
        x = net->layers[i].output;
    }
    net->loss_ready = 0;
    if (status != CLCNN_OK)
        return status;
    net->last_input = input;
    *logits = x;
    return CLCNN_OK;
}

clcnn_status clcnn_net_forward(clcnn_net *net, const clcnn_tensor *input,
                               const clcnn_tensor **logits) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    return clcnn__named(net->ctx, mark, __func__, net_forward(net, input, logits));
}

clcnn_status clcnn_net_set_training(clcnn_net *net, int training) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (net->training != (training != 0))
        net->last_input = NULL; /* a forward of the other mode is no basis for a loss */
    net->training = training != 0;
    net->loss_ready = 0;
    return CLCNN_OK;
}

/* -------------------------------------------------------------------- loss */

static clcnn_status net_loss(clcnn_net *net, const clcnn_labels *labels, clcnn_tensor *loss) {
    if (labels == NULL || loss == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s is NULL",
                           labels == NULL ? "labels" : "loss");
    if (net->last_input == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "no forward pass to take the loss of (in the current mode)");
    clcnn__layer *last = &net->layers[net->layer_count - 1];
    clcnn_status status = clcnn_softmax_cross_entropy_forward(net->ctx, last->output, labels, loss);
    if (status == CLCNN_OK && !net->training)
        return CLCNN_OK; /* no backward follows an eval forward */
    if (status == CLCNN_OK)
        status = clcnn_softmax_cross_entropy_backward(net->ctx, last->output, labels,
                                                      last->output_grad, CLCNN_GRAD_OVERWRITE);
    net->loss_ready = status == CLCNN_OK;
    return status;
}

clcnn_status clcnn_net_loss(clcnn_net *net, const clcnn_labels *labels, clcnn_tensor *loss) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    return clcnn__named(net->ctx, mark, __func__, net_loss(net, labels, loss));
}

/* ---------------------------------------------------------------- backward */

/* Parameter gradients of one layer (accumulated, as PyTorch's .grad). */
static clcnn_status backward_parameters(clcnn_net *net, clcnn__layer *layer,
                                        const clcnn_tensor *x) {
    const clcnn_tensor *dy = layer->output_grad;
    switch (layer->kind) {
    case CLCNN_LAYER_CONV2D:
        return clcnn_conv2d_backward_weights(net->ctx, &layer->conv, x, dy, layer->weight_grad,
                                             layer->bias_grad, CLCNN_GRAD_ACCUMULATE);
    case CLCNN_LAYER_DENSE:
        return clcnn_dense_backward_weights(net->ctx, x, dy, layer->weight_grad, layer->bias_grad,
                                            CLCNN_GRAD_ACCUMULATE);
    default:
        return CLCNN_OK;
    }
}

/* The gradient with respect to the layer's input, into dx (overwritten). */
static clcnn_status backward_data(clcnn_net *net, clcnn__layer *layer, const clcnn_tensor *x,
                                  clcnn_tensor *dx) {
    clcnn_context *ctx = net->ctx;
    const clcnn_tensor *dy = layer->output_grad;
    switch (layer->kind) {
    case CLCNN_LAYER_CONV2D:
        return clcnn_conv2d_backward_data(ctx, &layer->conv, dy, layer->weight, dx,
                                          CLCNN_GRAD_OVERWRITE);
    case CLCNN_LAYER_BATCHNORM:
        return CLCNN_OK; /* done with the parameters in backward_batchnorm */
    case CLCNN_LAYER_ACTIVATION:
        return clcnn_activation_backward(ctx, &layer->activation,
                                         layer->in_place ? layer->output : x, dy, dx,
                                         CLCNN_GRAD_OVERWRITE);
    case CLCNN_LAYER_POOL2D:
        return clcnn_pool2d_backward(ctx, &layer->pool, x, dy, dx, CLCNN_GRAD_OVERWRITE);
    case CLCNN_LAYER_FLATTEN:
        return CLCNN_OK; /* dx is a view of dy */
    case CLCNN_LAYER_DENSE:
        return clcnn_dense_backward_data(ctx, dy, layer->weight, dx, CLCNN_GRAD_OVERWRITE);
    case CLCNN_LAYER_DROPOUT:
        return clcnn_dropout_backward(ctx, layer->mask, dy, dx, CLCNN_GRAD_OVERWRITE);
    case CLCNN_LAYER_NONE:
        break;
    }
    return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "unknown layer kind");
}

/* Batch norm computes dx, dgamma and dbeta in one call; dgamma and dbeta
 * accumulate. With the ReLU after it fused, its output (the ReLU's) masks
 * the gradient. */
static clcnn_status backward_batchnorm(clcnn_net *net, size_t index, const clcnn_tensor *x,
                                       clcnn_tensor *dx) {
    clcnn__layer *layer = &net->layers[index];
    clcnn_batchnorm_params params = layer->bn;
    params.activation = batchnorm_takes_relu(net, index) ? CLCNN_FUSED_RELU : CLCNN_FUSED_NONE;
    const clcnn_batchnorm_saved saved = {layer->save_mean, layer->save_invstd};
    const clcnn_batchnorm_grads grads = {layer->weight_grad, layer->bias_grad,
                                         CLCNN_GRAD_ACCUMULATE};
    return clcnn_batchnorm_backward(net->ctx, &params, x, layer->output, layer->output_grad,
                                    layer->weight, &saved, dx, &grads);
}

static clcnn_status net_backward(clcnn_net *net) {
    if (!net->training || !net->loss_ready)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "needs training mode and a loss (clcnn_net_loss) of the last forward "
                           "pass");
    clcnn_status status = CLCNN_OK;
    for (size_t i = net->layer_count; i-- > 0 && status == CLCNN_OK;) {
        clcnn__layer *layer = &net->layers[i];
        const clcnn_tensor *x = i > 0 ? net->layers[i - 1].output : net->last_input;
        clcnn_tensor *dx = i > 0 ? net->layers[i - 1].output_grad : NULL;
        if (is_fusable_relu(net, i) && batchnorm_takes_relu(net, i - 1))
            continue; /* in the batch norm's backward */
        status = backward_parameters(net, layer, x);
        if (status == CLCNN_OK && layer->kind == CLCNN_LAYER_BATCHNORM)
            status = backward_batchnorm(net, i, x, dx);
        else if (status == CLCNN_OK && dx != NULL)
            status = backward_data(net, layer, x, dx);
    }
    net->loss_ready = 0;
    return status;
}

clcnn_status clcnn_net_backward(clcnn_net *net) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    return clcnn__named(net->ctx, mark, __func__, net_backward(net));
}

static clcnn_status net_zero_grad(clcnn_net *net) {
    clcnn_status status = clcnn__net_ensure_parameters(net);
    if (status == CLCNN_OK && net->grad_arena != NULL)
        return clcnn_tensor_fill(net->grad_arena, 0.0f); /* one launch, gaps included */
    for (size_t i = 0; i < net->parameter_count && status == CLCNN_OK; i++)
        status = clcnn_tensor_fill(net->parameters[i].grad, 0.0f);
    return status;
}

clcnn_status clcnn_net_zero_grad(clcnn_net *net) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
    return clcnn__named(net->ctx, mark, __func__, net_zero_grad(net));
}
