/* Running a network: forward, loss and backward over the plan of
 * net_plan.c. Every call only enqueues work; nothing is read back.
 *
 * Memory by liveness: a node's output is made when its forward step runs
 * (a view of its input's when the plan says so) and goes back to the
 * context's pool once the reads the plan counted are done -- in eval after
 * its last reader's forward, in training after the last backward step that
 * needs it. A gradient is made by its first writer (overwritten; later
 * writers add to it) and goes back after the node's own backward step. The
 * logits stay until the next forward pass. */
#include <stdlib.h>
#include <string.h>

#include "nn/layer.h"

/* ------------------------------------------------------------ pass memory */

static void drop(clcnn_tensor **tensor) {
    clcnn_tensor_destroy(*tensor);
    *tensor = NULL;
}

/* Frees the pass's tensors; the logits too unless keep_logits. */
static void release_tensors(clcnn_net *net, int keep_logits) {
    for (size_t i = 1; i < net->node_count; i++) {
        clcnn__node *node = &net->nodes[i];
        drop(&node->grad);
        if (!(keep_logits && i == net->node_count - 1))
            drop(&node->output);
    }
}

void clcnn__net_release_pass(clcnn_net *net) {
    release_tensors(net, 1);
}

void clcnn__net_release_batch(clcnn_net *net) {
    release_tensors(net, 0);
    for (size_t i = 1; i < net->node_count; i++)
        if (net->nodes[i].type->release != NULL)
            net->nodes[i].type->release(&net->nodes[i]);
    net->last_input = NULL;
    net->loss_ready = 0;
}

/* Output `index` as the readers see it (the caller's input for node 0). */
static const clcnn_tensor *output_of(const clcnn_net *net, size_t index) {
    return index == 0 ? net->last_input : net->nodes[index].output;
}

/* One read of an output done: the last one frees it. */
static void done_reading(clcnn_net *net, size_t index) {
    clcnn__node *node = &net->nodes[index];
    if (index != 0 && node->pending > 0 && --node->pending == 0)
        drop(&node->output);
}

static size_t batch_of(const clcnn_net *net) {
    return clcnn_tensor_dim(net->last_input, 0);
}

/* `node`'s output for this pass: a view of its input's, or its own. */
static clcnn_status make_output(clcnn_net *net, clcnn__node *node) {
    size_t dims[CLCNN__SAMPLE_DIMS + 1];
    size_t ndim = clcnn__net_batch_shape(batch_of(net), node->out.ndim, node->out.dims, dims);
    node->pending = node->plan.uses;
    if (node->plan.alias)
        return clcnn_tensor_reshape(output_of(net, node->inputs[0]), ndim, dims, &node->output);
    return clcnn_tensor_create_uninitialized(net->ctx, ndim, dims, &node->output);
}

static clcnn_status check_input(clcnn_net *net, const clcnn_tensor *input) {
    clcnn_status status = clcnn__check_tensor(net->ctx, input, "input");
    if (status != CLCNN_OK)
        return status;
    const clcnn__sample *sample = &net->nodes[0].out;
    int fits = clcnn_tensor_ndim(input) == sample->ndim + 1;
    for (size_t i = 0; fits && i < sample->ndim; i++)
        fits = clcnn_tensor_dim(input, i + 1) == sample->dims[i];
    if (!fits) {
        char shape[96];
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_SHAPE,
                           "input %s does not match the network's sample shape "
                           "(%zu dimensions: %zu x %zu x %zu after the batch)",
                           clcnn__shape_string(input, shape, sizeof shape), sample->ndim,
                           sample->dims[0], sample->ndim > 1 ? sample->dims[1] : 1,
                           sample->ndim > 2 ? sample->dims[2] : 1);
    }
    return CLCNN_OK;
}

/* ----------------------------------------------------------------- forward */

/* Node `index` with the nodes it fuses: their outputs made, its module's
 * forward into the last one's, then the reads it did counted. */
static clcnn_status forward_step(clcnn_net *net, size_t index) {
    clcnn__node *node = &net->nodes[index];
    const size_t fused = node->plan.fused_forward;
    clcnn_status status = CLCNN_OK;
    for (size_t k = 0; k <= fused && status == CLCNN_OK; k++) {
        clcnn__node *x = &net->nodes[k == 0 ? index : node->plan.fused[k - 1]];
        if (x->plan.materialised)
            status = make_output(net, x);
    }
    const clcnn_tensor *inputs[CLCNN__MAX_INPUTS];
    for (size_t k = 0; k < node->input_count; k++)
        inputs[k] = output_of(net, node->inputs[k]);
    if (status == CLCNN_OK)
        status = node->type->forward(net, node, inputs,
                                     net->nodes[clcnn__plan_last(node, fused)].output);
    for (size_t k = 0; k < node->input_count; k++)
        if (clcnn__first_occurrence(node, k))
            done_reading(net, node->inputs[k]);
    for (size_t k = 0; k <= fused; k++) {
        clcnn__node *x = &net->nodes[k == 0 ? index : node->plan.fused[k - 1]];
        if (x->output != NULL && x->pending == 0)
            drop(&x->output); /* none reads it: its memory lives on in a view */
    }
    return status;
}

static clcnn_status net_forward(clcnn_net *net, const clcnn_tensor *input,
                                const clcnn_tensor **logits) {
    if (logits == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "logits is NULL");
    *logits = NULL;
    if (net->node_count < 2)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "the network has no layers");
    release_tensors(net, 0);
    net->last_input = NULL;
    net->loss_ready = 0;
    clcnn_status status = check_input(net, input);
    if (status == CLCNN_OK)
        status = clcnn__net_ensure_parameters(net);
    if (status == CLCNN_OK)
        status = clcnn__net_plan(net);
    net->last_input = input;
    for (size_t i = 1; i < net->node_count && status == CLCNN_OK; i++)
        if (net->nodes[i].plan.forward_by == i)
            status = forward_step(net, i);
    if (status != CLCNN_OK) {
        release_tensors(net, 0);
        net->last_input = NULL;
        return status;
    }
    *logits = net->nodes[net->node_count - 1].output;
    return CLCNN_OK;
}

clcnn_status clcnn_net_forward(clcnn_net *net, const clcnn_tensor *input,
                               const clcnn_tensor **logits) {
    CLCNN__NET_PUBLIC(net, net_forward(net, input, logits));
}

clcnn_status clcnn_net_set_training(clcnn_net *net, int training) {
    if (net == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (net->training != (training != 0)) {
        net->last_input = NULL; /* a forward of the other mode is no basis for a loss */
        clcnn__net_release_pass(net);
    }
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
    clcnn__node *last = &net->nodes[net->node_count - 1];
    clcnn_status status = clcnn_softmax_cross_entropy_forward(net->ctx, last->output, labels, loss);
    if (status == CLCNN_OK && !net->training)
        return CLCNN_OK; /* no backward follows an eval forward */
    if (status == CLCNN_OK && last->grad == NULL) {
        size_t dims[CLCNN__SAMPLE_DIMS + 1];
        size_t ndim = clcnn__net_batch_shape(batch_of(net), last->out.ndim, last->out.dims, dims);
        status = clcnn_tensor_create_uninitialized(net->ctx, ndim, dims, &last->grad);
    }
    if (status == CLCNN_OK)
        status = clcnn_softmax_cross_entropy_backward(net->ctx, last->output, labels, last->grad,
                                                      CLCNN_GRAD_OVERWRITE);
    net->loss_ready = status == CLCNN_OK;
    return status;
}

clcnn_status clcnn_net_loss(clcnn_net *net, const clcnn_labels *labels, clcnn_tensor *loss) {
    CLCNN__NET_PUBLIC(net, net_loss(net, labels, loss));
}

/* ---------------------------------------------------------------- backward */

/* Where input k's gradient goes: NULL when none is wanted; the output
 * gradient's own memory for a node that shares it; else made by the first
 * writer (overwritten) and added to by the others. */
static clcnn_status gradient_of_input(clcnn_net *net, const clcnn__node *node, size_t k,
                                      const clcnn_tensor *dy, clcnn_tensor **dx,
                                      clcnn_grad_mode *mode) {
    clcnn__node *input = &net->nodes[node->inputs[k]];
    *dx = NULL;
    *mode = CLCNN_GRAD_OVERWRITE;
    if (!input->plan.requires_grad)
        return CLCNN_OK;
    size_t dims[CLCNN__SAMPLE_DIMS + 1];
    size_t ndim = clcnn__net_batch_shape(batch_of(net), input->out.ndim, input->out.dims, dims);
    clcnn_status status = CLCNN_OK;
    if (k == 0 && node->plan.grad_alias)
        status = clcnn_tensor_reshape(dy, ndim, dims, &input->grad);
    else if (input->grad == NULL)
        status = clcnn_tensor_create_uninitialized(net->ctx, ndim, dims, &input->grad);
    else
        *mode = CLCNN_GRAD_ACCUMULATE;
    *dx = input->grad;
    return status;
}

/* Node `index`'s backward (with the nodes it fuses), then the reads and
 * gradients it is done with freed. A node no gradient reached (its output
 * leads nowhere) is skipped. */
static clcnn_status backward_step(clcnn_net *net, size_t index) {
    clcnn__node *node = &net->nodes[index];
    clcnn__node *last = &net->nodes[clcnn__plan_last(node, node->plan.fused_backward)];
    if (last->grad == NULL)
        return CLCNN_OK;
    const clcnn_tensor *inputs[CLCNN__MAX_INPUTS];
    clcnn_tensor *dx[CLCNN__MAX_INPUTS];
    clcnn_grad_mode modes[CLCNN__MAX_INPUTS];
    clcnn_status status = CLCNN_OK;
    for (size_t k = 0; k < node->input_count && status == CLCNN_OK; k++) {
        inputs[k] = output_of(net, node->inputs[k]);
        status = gradient_of_input(net, node, k, last->grad, &dx[k], &modes[k]);
    }
    clcnn__backward_args args = {inputs, last->output, last->grad, dx, modes};
    if (status == CLCNN_OK)
        status = node->type->backward(net, node, &args);
    unsigned reads = node->type->backward_reads != NULL ? node->type->backward_reads(node) : 0u;
    for (size_t k = 0; k < node->input_count && (reads & CLCNN__READS_INPUTS); k++)
        if (clcnn__first_occurrence(node, k))
            done_reading(net, node->inputs[k]);
    if (reads & CLCNN__READS_OUTPUT)
        done_reading(net, last->index);
    for (size_t k = 0; k <= node->plan.fused_backward; k++)
        drop(&net->nodes[k == 0 ? index : node->plan.fused[k - 1]].grad);
    return status;
}

static clcnn_status net_backward(clcnn_net *net) {
    if (!net->training || !net->loss_ready)
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "needs training mode and a loss (clcnn_net_loss) of the last forward "
                           "pass");
    clcnn_status status = CLCNN_OK;
    clcnn__net_gradients_begin(net);
    for (size_t i = net->node_count; i-- > 1 && status == CLCNN_OK;) {
        const clcnn__node_plan *plan = &net->nodes[i].plan;
        if (plan->backward_by == i && plan->requires_grad)
            status = backward_step(net, i);
        if (status == CLCNN_OK) /* the gradient callback, where more are final */
            status = clcnn__net_gradients_final(net, i);
    }
    clcnn__net_release_pass(net);
    net->loss_ready = 0;
    return status;
}

clcnn_status clcnn_net_backward(clcnn_net *net) {
    CLCNN__NET_PUBLIC(net, net_backward(net));
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
    CLCNN__NET_PUBLIC(net, net_zero_grad(net));
}
