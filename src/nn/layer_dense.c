/* The dense layer (torch.nn.Linear) on [F] samples: weight [out, F] and an
 * optional bias [out]. A batch norm that only it reads folds into it. */
#include "clcnn/dense.h"
#include "nn/layer.h"

typedef struct dense_config {
    size_t out_features;
    int bias;
} dense_config;

static clcnn_status dense_infer(clcnn_net *net, clcnn__node *node,
                                const clcnn__sample *const *inputs) {
    const dense_config *c = node->config;
    const clcnn__sample *in = inputs[0];
    if (in->ndim != 1)
        return clcnn__fail_rank(net, node, in, "flat samples of [F] (add a flatten layer first)");
    if (c->out_features == 0) {
        char label[96];
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_SHAPE,
                           "%s: 0 output features (for %zu input features)",
                           clcnn__node_label(net, node, label, sizeof label), in->dims[0]);
    }
    node->out = (clcnn__sample){1, {c->out_features}};
    return CLCNN_OK;
}

static size_t dense_state(const clcnn_net *net, const clcnn__node *node,
                          clcnn__state_entry entries[CLCNN__MAX_STATE]) {
    const dense_config *c = node->config;
    size_t in = clcnn__net_node(net, node->inputs[0])->out.dims[0];
    entries[0] = (clcnn__state_entry){
        "weight", CLCNN__STATE_PARAMETER, {2, {c->out_features, in}}, (double)in, 0.0f};
    entries[1] = (clcnn__state_entry){
        "bias", CLCNN__STATE_PARAMETER, {1, {c->out_features}}, (double)in, 0.0f};
    return c->bias ? 2 : 1;
}

static unsigned dense_backward_reads(const clcnn__node *node) {
    (void)node;
    return CLCNN__READS_INPUTS; /* for the weight gradient */
}

static clcnn_status dense_forward(clcnn_net *net, clcnn__node *node,
                                  const clcnn_tensor *const *inputs, clcnn_tensor *output) {
    const dense_config *c = node->config;
    return clcnn_dense_forward(net->ctx, inputs[0], node->state[0].value,
                               c->bias ? node->state[1].value : NULL, output);
}

static clcnn_status dense_backward(clcnn_net *net, clcnn__node *node,
                                   const clcnn__backward_args *args) {
    const dense_config *c = node->config;
    clcnn_status status =
        clcnn_dense_backward_weights(net->ctx, args->inputs[0], args->dy, node->state[0].grad,
                                     c->bias ? node->state[1].grad : NULL, CLCNN_GRAD_ACCUMULATE);
    if (status == CLCNN_OK && args->dx[0] != NULL)
        status = clcnn_dense_backward_data(net->ctx, args->dy, node->state[0].value, args->dx[0],
                                           args->dx_mode[0]);
    return status;
}

static clcnn_status dense_describe(const clcnn__node *node, json_t *layer) {
    const dense_config *c = node->config;
    int failed =
        json_object_set_new(layer, "out_features", json_integer((json_int_t)c->out_features));
    failed = failed || json_object_set_new(layer, "bias", json_boolean(c->bias)) != 0;
    return failed ? CLCNN_ERROR_OUT_OF_HOST_MEMORY : CLCNN_OK;
}

/* Without "bias" (checkpoints of the seed network written before graphs):
 * a bias, as every dense layer of that network has. */
static clcnn_status dense_parse(clcnn_context *ctx, const json_t *layer, void *config) {
    dense_config *c = config;
    c->bias = 1;
    clcnn_status status = clcnn__json_size(ctx, layer, "out_features", &c->out_features);
    if (status == CLCNN_OK)
        status = clcnn__json_flag(ctx, layer, "bias", &c->bias);
    return status;
}

/* A batch norm that folds into the layer gives it a bias. */
static clcnn_status dense_fold(clcnn__fold *fold, size_t index) {
    dense_config config = *(const dense_config *)clcnn__net_node(fold->from, index)->config;
    return clcnn__batchnorm_fold_giving_bias(fold, index, &config, &config.bias);
}

const clcnn__layer_type clcnn__layer_dense = {
    .kind = CLCNN_LAYER_DENSE,
    .name = "dense",
    .min_inputs = 1,
    .max_inputs = 1,
    .named = 1,
    .config_size = sizeof(dense_config),
    .infer = dense_infer,
    .state = dense_state,
    .backward_reads = dense_backward_reads,
    .forward = dense_forward,
    .backward = dense_backward,
    .describe = dense_describe,
    .parse = dense_parse,
    .fold = dense_fold,
    .fold_values = clcnn__batchnorm_fold_values,
    .takes_batchnorm = 1,
};

clcnn_status clcnn_net_add_dense(clcnn_net *net, const char *name, size_t out_features, int bias) {
    dense_config config = {out_features, bias != 0};
    CLCNN__NET_PUBLIC(net, clcnn__net_add(net, &clcnn__layer_dense, name, NULL, 0, &config));
}
