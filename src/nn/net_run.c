/* Running a network: per-batch memory, forward, loss and backward. Every
 * call only enqueues work; nothing is read back. */
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
    clcnn_dropout_mask_destroy(layer->mask);
    layer->output = layer->output_grad = layer->save_mean = layer->save_invstd = NULL;
    layer->mask = NULL;
}

void clcnn__net_release_batch(clcnn_net *net) {
    for (size_t i = 0; i < net->layer_count; i++)
        release_layer_batch(&net->layers[i]);
    net->batch = 0;
    net->last_input = NULL;
    net->loss_ready = 0;
}

/* A layer that reuses its input's memory gets views of the previous layer's
 * output and gradient; others get their own. */
static clcnn_status allocate_layer_batch(clcnn_net *net, size_t index, size_t batch) {
    clcnn__layer *layer = &net->layers[index];
    size_t dims[4], ndim = clcnn__net_batch_shape(batch, layer->out_ndim, layer->out_dims, dims);
    clcnn_status status;
    int reuse = index > 0 && (layer->kind == CLCNN_LAYER_FLATTEN ||
                              (layer->kind == CLCNN_LAYER_ACTIVATION && layer->in_place));
    if (reuse) {
        const clcnn__layer *previous = &net->layers[index - 1];
        status = clcnn_tensor_reshape(previous->output, ndim, dims, &layer->output);
        if (status == CLCNN_OK)
            status = clcnn_tensor_reshape(previous->output_grad, ndim, dims, &layer->output_grad);
    } else {
        status = clcnn_tensor_create(net->ctx, ndim, dims, &layer->output);
        if (status == CLCNN_OK)
            status = clcnn_tensor_create(net->ctx, ndim, dims, &layer->output_grad);
    }
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

static clcnn_status prepare_batch(clcnn_net *net, size_t batch) {
    if (net->batch == batch)
        return CLCNN_OK;
    clcnn__net_release_batch(net);
    for (size_t i = 0; i < net->layer_count; i++) {
        clcnn_status status = allocate_layer_batch(net, i, batch);
        if (status != CLCNN_OK) {
            clcnn__net_release_batch(net);
            return status;
        }
    }
    net->batch = batch;
    return CLCNN_OK;
}

static clcnn_status check_input(clcnn_net *net, const clcnn_tensor *input) {
    clcnn_status status = clcnn__check_tensor(net->ctx, input, "network input");
    if (status != CLCNN_OK)
        return status;
    int fits = clcnn_tensor_ndim(input) == net->in_ndim + 1;
    for (size_t i = 0; fits && i < net->in_ndim; i++)
        fits = clcnn_tensor_dim(input, i + 1) == net->in_dims[i];
    if (!fits) {
        char shape[96];
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_SHAPE,
                           "network input %s does not match the network's sample shape "
                           "(%zu dimensions: %zu x %zu x %zu after the batch)",
                           clcnn__shape_string(input, shape, sizeof shape), net->in_ndim,
                           net->in_dims[0], net->in_ndim > 1 ? net->in_dims[1] : 1,
                           net->in_ndim > 2 ? net->in_dims[2] : 1);
    }
    return CLCNN_OK;
}

/* ----------------------------------------------------------------- forward */

static clcnn_status forward_layer(clcnn_net *net, clcnn__layer *layer, const clcnn_tensor *x) {
    clcnn_context *ctx = net->ctx;
    switch (layer->kind) {
    case CLCNN_LAYER_CONV2D:
        return clcnn_conv2d_forward(ctx, &layer->conv, x, layer->weight, layer->bias,
                                    layer->output);
    case CLCNN_LAYER_BATCHNORM:
        if (net->training)
            return clcnn_batchnorm_forward_train(ctx, &layer->bn, x, layer->weight, layer->bias,
                                                 &layer->bn_state, layer->output, layer->save_mean,
                                                 layer->save_invstd);
        return clcnn_batchnorm_forward_eval(ctx, &layer->bn, x, layer->weight, layer->bias,
                                            &layer->bn_state, layer->output);
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
    }
    return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "unknown layer kind");
}

/* The first layer reads the caller's input; a flatten over it needs a view,
 * which the per-batch memory cannot hold, so the network's first layer is
 * never a reusing one (see allocate_layer_batch's index > 0). */
clcnn_status clcnn_net_forward(clcnn_net *net, const clcnn_tensor *input,
                               const clcnn_tensor **logits) {
    if (net == NULL || logits == NULL)
        return net != NULL ? clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "logits is NULL")
                           : CLCNN_ERROR_INVALID_ARGUMENT;
    *logits = NULL;
    clcnn_status status = check_input(net, input);
    if (status == CLCNN_OK)
        status = clcnn__net_create_parameters(net);
    if (status == CLCNN_OK)
        status = prepare_batch(net, clcnn_tensor_dim(input, 0));
    const clcnn_tensor *x = input;
    for (size_t i = 0; i < net->layer_count && status == CLCNN_OK; i++) {
        clcnn__layer *layer = &net->layers[i];
        if (i == 0 && layer->kind == CLCNN_LAYER_FLATTEN)
            status = clcnn_tensor_copy(layer->output, x);
        else
            status = forward_layer(net, layer, x);
        x = layer->output;
    }
    net->loss_ready = 0;
    if (status != CLCNN_OK)
        return status;
    net->last_input = input;
    *logits = x;
    return CLCNN_OK;
}

clcnn_status clcnn_net_set_training(clcnn_net *net, int training) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    net->training = training != 0;
    net->loss_ready = 0;
    return CLCNN_OK;
}

/* -------------------------------------------------------------------- loss */

clcnn_status clcnn_net_loss(clcnn_net *net, const clcnn_labels *labels, clcnn_tensor *loss) {
    if (net == NULL || labels == NULL || loss == NULL)
        return net != NULL
                   ? clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "net_loss: NULL argument")
                   : CLCNN_ERROR_INVALID_ARGUMENT;
    if (net->last_input == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "net_loss: no forward pass to take the loss of");
    clcnn__layer *last = &net->layers[net->layer_count - 1];
    clcnn_status status = clcnn_softmax_cross_entropy_forward(net->ctx, last->output, labels, loss);
    if (status == CLCNN_OK)
        status = clcnn_softmax_cross_entropy_backward(net->ctx, last->output, labels,
                                                      last->output_grad, CLCNN_GRAD_OVERWRITE);
    net->loss_ready = status == CLCNN_OK;
    return status;
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
    }
    return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "unknown layer kind");
}

/* Batch norm computes dx, dgamma and dbeta in one call; dgamma and dbeta
 * accumulate. */
static clcnn_status backward_batchnorm(clcnn_net *net, clcnn__layer *layer, const clcnn_tensor *x,
                                       clcnn_tensor *dx) {
    return clcnn_batchnorm_backward(net->ctx, x, layer->output_grad, layer->weight,
                                    layer->save_mean, layer->save_invstd, dx, layer->weight_grad,
                                    layer->bias_grad, CLCNN_GRAD_ACCUMULATE);
}

clcnn_status clcnn_net_backward(clcnn_net *net) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (!net->training || !net->loss_ready)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "net_backward needs training mode and a loss (clcnn_net_loss) of the "
                           "last forward pass");
    clcnn_status status = CLCNN_OK;
    for (size_t i = net->layer_count; i-- > 0 && status == CLCNN_OK;) {
        clcnn__layer *layer = &net->layers[i];
        const clcnn_tensor *x = i > 0 ? net->layers[i - 1].output : net->last_input;
        clcnn_tensor *dx = i > 0 ? net->layers[i - 1].output_grad : NULL;
        status = backward_parameters(net, layer, x);
        if (status == CLCNN_OK && layer->kind == CLCNN_LAYER_BATCHNORM)
            status = backward_batchnorm(net, layer, x, dx);
        else if (status == CLCNN_OK && dx != NULL)
            status = backward_data(net, layer, x, dx);
    }
    net->loss_ready = 0;
    return status;
}

clcnn_status clcnn_net_zero_grad(clcnn_net *net) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = clcnn__net_create_parameters(net);
    for (size_t i = 0; i < net->parameter_count && status == CLCNN_OK; i++)
        status = clcnn_tensor_fill(net->parameters[i].grad, 0.0f);
    return status;
}
