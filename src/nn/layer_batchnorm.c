/* The batch norm layer (torch.nn.BatchNorm2d on [C, H, W] samples,
 * BatchNorm1d on [F]): weight (gamma) and bias (beta) [C], the running
 * statistics as buffers, num_batches_tracked as a counter.
 *
 * Fusion: a ReLU written in place over its output runs inside it
 * (params.activation), forward and backward, in both modes. It also serves the convolution that
 * takes it in eval mode (its affine) and the folding into the conv or dense layer before it. */
#include <stdlib.h>

#include "nn/layer.h"

enum { WEIGHT, BIAS, RUNNING_MEAN, RUNNING_VAR, TRACKED };

/* The per-pass memory: saved statistics (training) and the eval affine. */
typedef struct batchnorm_scratch {
    clcnn_tensor *save_mean, *save_invstd;
    clcnn_tensor *scale, *shift;
    /* The running statistics as the training forward was handed them: a
     * replacement (clcnn_net_set_batchnorm_ops) may keep this address for
     * as long as the network lives, as clcnn_dist does. */
    clcnn_batchnorm_state running;
} batchnorm_scratch;

int clcnn__is_batchnorm(const clcnn__node *node) {
    return node->type == &clcnn__layer_batchnorm;
}

static size_t channels(const clcnn__node *node) {
    return node->out.dims[0];
}

/* The running statistics as the ops take them. */
static clcnn_batchnorm_state running_state(const clcnn__node *node) {
    return (clcnn_batchnorm_state){node->state[RUNNING_MEAN].value, node->state[RUNNING_VAR].value,
                                   node->state[TRACKED].counter};
}

static clcnn_status batchnorm_infer(clcnn_net *net, clcnn__node *node,
                                    const clcnn__sample *const *inputs) {
    const clcnn__sample *in = inputs[0];
    if (in->ndim != 3 && in->ndim != 1)
        return clcnn__fail_rank(net, node, in,
                                "samples of [C, H, W] (per channel) or [F] (per feature)");
    node->out = *in;
    return CLCNN_OK;
}

static size_t batchnorm_state(const clcnn_net *net, const clcnn__node *node,
                              clcnn__state_entry entries[CLCNN__MAX_STATE]) {
    (void)net;
    clcnn__shape shape = {1, {channels(node)}};
    entries[WEIGHT] = (clcnn__state_entry){"weight", CLCNN__STATE_PARAMETER, shape, 0.0, 1.0f};
    entries[BIAS] = (clcnn__state_entry){"bias", CLCNN__STATE_PARAMETER, shape, 0.0, 0.0f};
    entries[RUNNING_MEAN] =
        (clcnn__state_entry){"running_mean", CLCNN__STATE_BUFFER, shape, 0.0, 0.0f};
    entries[RUNNING_VAR] =
        (clcnn__state_entry){"running_var", CLCNN__STATE_BUFFER, shape, 0.0, 1.0f};
    entries[TRACKED] =
        (clcnn__state_entry){"num_batches_tracked", CLCNN__STATE_COUNTER, {0, {0}}, 0.0, 0.0f};
    return 5;
}

static unsigned batchnorm_backward_reads(const clcnn__node *node) {
    return CLCNN__READS_INPUTS | (node->plan.fused_backward ? CLCNN__READS_OUTPUT : 0u);
}

static clcnn__fusion batchnorm_fuse(const clcnn_net *net, const clcnn__node *node,
                                    const clcnn__node *const *chain, size_t count, int training) {
    (void)net;
    (void)node;
    (void)training;
    int relu = count > 0 && clcnn__activation_is_relu(chain[0]) && chain[0]->plan.alias;
    return (clcnn__fusion){relu ? 1u : 0u, relu ? 1u : 0u};
}

/* The scratch, made on first use; NULL when out of host memory. */
static batchnorm_scratch *scratch_of(clcnn__node *node) {
    if (node->scratch == NULL)
        node->scratch = calloc(1, sizeof(batchnorm_scratch));
    return node->scratch;
}

/* A [C] tensor of the scratch, made on first use. */
static clcnn_status ensure_channel_tensor(clcnn_net *net, const clcnn__node *node,
                                          clcnn_tensor **tensor) {
    size_t count = channels(node);
    return *tensor != NULL ? CLCNN_OK : clcnn_tensor_create(net->ctx, 1, &count, tensor);
}

static clcnn_status batchnorm_forward(clcnn_net *net, clcnn__node *node,
                                      const clcnn_tensor *const *inputs, clcnn_tensor *output) {
    clcnn_batchnorm_params params = *(const clcnn_batchnorm_params *)node->config;
    params.activation = node->plan.fused_forward > 0 ? CLCNN_FUSED_RELU : CLCNN_FUSED_NONE;
    clcnn_batchnorm_state running = running_state(node);
    const clcnn_tensor *gamma = node->state[WEIGHT].value, *beta = node->state[BIAS].value;
    if (!net->training)
        return clcnn_batchnorm_forward_eval(net->ctx, &params, inputs[0], gamma, beta, &running,
                                            output);
    batchnorm_scratch *s = scratch_of(node);
    if (s == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    clcnn_status status = ensure_channel_tensor(net, node, &s->save_mean);
    if (status == CLCNN_OK)
        status = ensure_channel_tensor(net, node, &s->save_invstd);
    const clcnn_batchnorm_saved saved = {s->save_mean, s->save_invstd};
    char label[96];
    s->running = running;
    if (status == CLCNN_OK)
        status = clcnn__net_batchnorm_forward_train(
            net, clcnn__node_label(net, node, label, sizeof label), &params, inputs[0], gamma, beta,
            &s->running, output, &saved);
    node->state[TRACKED].counter = s->running.num_batches_tracked;
    return status;
}

/* dx, dgamma and dbeta in one call; with the ReLU after it fused, its
 * output (the ReLU's) masks the gradient. The op overwrites dx, so a
 * gradient that adds to another goes through a temporary. */
static clcnn_status batchnorm_backward(clcnn_net *net, clcnn__node *node,
                                       const clcnn__backward_args *args) {
    const batchnorm_scratch *s = node->scratch;
    const clcnn_tensor *x = args->inputs[0], *gamma = node->state[WEIGHT].value;
    clcnn_tensor *dgamma = node->state[WEIGHT].grad, *dbeta = node->state[BIAS].grad;
    clcnn_tensor *temporary = NULL, *dx = NULL;
    clcnn_status status = CLCNN_OK;
    if (args->dx[0] != NULL)
        status = clcnn__grad_target(net, args->dx[0], args->dx_mode[0], &temporary, &dx);
    clcnn_batchnorm_params params = *(const clcnn_batchnorm_params *)node->config;
    params.activation = node->plan.fused_backward ? CLCNN_FUSED_RELU : CLCNN_FUSED_NONE;
    const clcnn_batchnorm_saved saved = {s->save_mean, s->save_invstd};
    const clcnn_batchnorm_grads grads = {dgamma, dbeta, CLCNN_GRAD_ACCUMULATE};
    char label[96];
    if (status == CLCNN_OK)
        status = clcnn__net_batchnorm_backward(
            net, clcnn__node_label(net, node, label, sizeof label), &params, x,
            node->plan.fused_backward ? args->output : NULL, args->dy, gamma, &saved, dx, &grads);
    return clcnn__grad_finish(net, args->dx[0], temporary, status);
}

static void batchnorm_release(clcnn__node *node) {
    batchnorm_scratch *s = node->scratch;
    if (s == NULL)
        return;
    clcnn_tensor_destroy(s->save_mean);
    clcnn_tensor_destroy(s->save_invstd);
    clcnn_tensor_destroy(s->scale);
    clcnn_tensor_destroy(s->shift);
    free(s);
    node->scratch = NULL;
}

clcnn_status clcnn__batchnorm_eval_affine(clcnn_net *net, clcnn__node *node,
                                          const clcnn_tensor **scale, const clcnn_tensor **shift) {
    batchnorm_scratch *s = scratch_of(node);
    if (s == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    clcnn_status status = ensure_channel_tensor(net, node, &s->scale);
    if (status == CLCNN_OK)
        status = ensure_channel_tensor(net, node, &s->shift);
    clcnn_batchnorm_state running = running_state(node);
    if (status == CLCNN_OK)
        status = clcnn_batchnorm_eval_affine(net->ctx, node->config, node->state[WEIGHT].value,
                                             node->state[BIAS].value, &running, s->scale, s->shift);
    *scale = s->scale;
    *shift = s->shift;
    return status;
}

/* --------------------------------------------------------------- folding */

const clcnn__node *clcnn__batchnorm_folding_into(const clcnn_net *net, const clcnn__node *node) {
    if (!node->type->takes_batchnorm)
        return NULL;
    const clcnn__node *reader = clcnn__net_sole_reader(net, node);
    return reader != NULL && clcnn__is_batchnorm(reader) ? reader : NULL;
}

clcnn_status clcnn__batchnorm_fold_values(clcnn__fold *fold, size_t index) {
    const clcnn__node *node = clcnn__net_node(fold->from, index);
    const clcnn__node *bn = clcnn__batchnorm_folding_into(fold->from, node);
    if (bn == NULL)
        return clcnn__fold_copy_values(fold, index);
    const clcnn__node *target = clcnn__net_node(fold->to, fold->map[index]);
    clcnn_batchnorm_state running = running_state(bn);
    return clcnn_batchnorm_fold_into_conv(fold->from->ctx, bn->config, bn->state[WEIGHT].value,
                                          bn->state[BIAS].value, &running, node->state[0].value,
                                          node->state_count > 1 ? node->state[1].value : NULL,
                                          target->state[0].value, target->state[1].value);
}

clcnn_status clcnn__batchnorm_fold_giving_bias(clcnn__fold *fold, size_t index, void *config,
                                               int *bias) {
    const clcnn__node *node = clcnn__net_node(fold->from, index);
    *bias = *bias || clcnn__batchnorm_folding_into(fold->from, node) != NULL;
    return clcnn__fold_copy(fold, index, config);
}

/* Folded into the layer before it, it stands for nothing of its own. */
static clcnn_status batchnorm_fold(clcnn__fold *fold, size_t index) {
    const clcnn__node *node = clcnn__net_node(fold->from, index);
    const clcnn__node *input = clcnn__net_node(fold->from, node->inputs[0]);
    if (clcnn__batchnorm_folding_into(fold->from, input) != node)
        return clcnn__fold_copy(fold, index, node->config);
    fold->map[index] = fold->map[node->inputs[0]];
    return CLCNN_OK;
}

/* ----------------------------------------------------------- architecture */

static clcnn_status batchnorm_describe(const clcnn__node *node, json_t *layer) {
    const clcnn_batchnorm_params *p = node->config;
    json_t *momentum = p->cumulative_average ? json_null() : clcnn__json_short_real(p->momentum);
    int failed = json_object_set_new(layer, "momentum", momentum) != 0;
    failed = failed || json_object_set_new(layer, "eps", clcnn__json_short_real(p->eps)) != 0;
    return failed ? CLCNN_ERROR_OUT_OF_HOST_MEMORY : CLCNN_OK;
}

/* "momentum": null is PyTorch's momentum=None (a cumulative average). */
static clcnn_status batchnorm_parse(clcnn_context *ctx, const json_t *layer, void *config) {
    clcnn_batchnorm_params *p = config;
    *p = clcnn_batchnorm_params_default();
    if (json_is_null(json_object_get(layer, "momentum")))
        p->cumulative_average = 1;
    else if (clcnn__json_float(ctx, layer, "momentum", &p->momentum) != CLCNN_OK)
        return CLCNN_ERROR_CORRUPT_FILE;
    return clcnn__json_float(ctx, layer, "eps", &p->eps);
}

const clcnn__layer_type clcnn__layer_batchnorm = {
    .kind = CLCNN_LAYER_BATCHNORM,
    .name = "batchnorm",
    .min_inputs = 1,
    .max_inputs = 1,
    .named = 1,
    .config_size = sizeof(clcnn_batchnorm_params),
    .infer = batchnorm_infer,
    .state = batchnorm_state,
    .backward_reads = batchnorm_backward_reads,
    .fuse = batchnorm_fuse,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .release = batchnorm_release,
    .describe = batchnorm_describe,
    .parse = batchnorm_parse,
    .fold = batchnorm_fold,
};

clcnn_status clcnn_net_add_batchnorm(clcnn_net *net, const char *name,
                                     const clcnn_batchnorm_params *params) {
    clcnn_batchnorm_params config = params != NULL ? *params : clcnn_batchnorm_params_default();
    config.activation = CLCNN_FUSED_NONE; /* the network fuses a ReLU where one follows */
    CLCNN__NET_PUBLIC(net, clcnn__net_add(net, &clcnn__layer_batchnorm, name, NULL, 0, &config));
}
