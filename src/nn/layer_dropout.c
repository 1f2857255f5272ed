/* The dropout layer (torch.nn.Dropout): inverted dropout in training, the
 * identity in eval (and gone from the folded network). Its masks come from
 * its own Philox generator (clcnn/dropout.h), seeded by clcnn_net_init,
 * whose stream advances once per training forward pass. */
#include "clcnn/dropout.h"
#include "nn/layer.h"

typedef struct dropout_config {
    float p;
    clcnn_dropout_state generator; /* advanced by each pass that draws */
} dropout_config;

static clcnn_status infer(clcnn_net *net, clcnn__node *node, const clcnn__sample *const *inputs) {
    const dropout_config *c = node->config;
    if (!(c->p >= 0.0f && c->p < 1.0f)) {
        char label[96];
        return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "%s: probability %g is outside [0, 1)",
                           clcnn__node_label(net, node, label, sizeof label), (double)c->p);
    }
    node->out = *inputs[0];
    return CLCNN_OK;
}

/* The mask of a training pass (node->scratch), made for the output's size. */
static clcnn_status ensure_mask(clcnn_net *net, clcnn__node *node, size_t numel) {
    clcnn_dropout_mask *mask = node->scratch;
    clcnn_dropout_mask_info info;
    if (mask != NULL && clcnn_dropout_mask_get_info(mask, &info) == CLCNN_OK && info.numel == numel)
        return CLCNN_OK;
    clcnn_dropout_mask_destroy(mask);
    node->scratch = NULL;
    clcnn_dropout_mask *made = NULL;
    clcnn_status status = clcnn_dropout_mask_create(net->ctx, numel, NULL, &made);
    node->scratch = made;
    return status;
}

static clcnn_status forward(clcnn_net *net, clcnn__node *node, const clcnn_tensor *const *inputs,
                            clcnn_tensor *output) {
    dropout_config *c = node->config;
    clcnn_status status = CLCNN_OK;
    if (net->training)
        status = ensure_mask(net, node, clcnn_tensor_numel(output));
    if (status != CLCNN_OK)
        return status;
    return clcnn_dropout_forward(net->ctx, &c->generator, c->p, net->training, inputs[0], output,
                                 net->training ? node->scratch : NULL);
}

static clcnn_status backward(clcnn_net *net, clcnn__node *node, const clcnn__backward_args *args) {
    return clcnn_dropout_backward(net->ctx, node->scratch, args->dy, args->dx[0], args->dx_mode[0]);
}

static void release(clcnn__node *node) {
    clcnn_dropout_mask_destroy(node->scratch);
    node->scratch = NULL;
}

static void reseed(clcnn__node *node, uint64_t seed) {
    dropout_config *c = node->config;
    c->generator = clcnn_dropout_state_init(seed);
}

static clcnn_status describe(const clcnn__node *node, json_t *layer) {
    const dropout_config *c = node->config;
    return json_object_set_new(layer, "p", clcnn__json_short_real(c->p)) == 0
               ? CLCNN_OK
               : CLCNN_ERROR_OUT_OF_HOST_MEMORY;
}

static clcnn_status parse(clcnn_context *ctx, const json_t *layer, void *config) {
    dropout_config *c = config;
    c->p = 0.5f;
    c->generator = clcnn_dropout_state_init(CLCNN_NET_DEFAULT_SEED);
    return clcnn__json_float(ctx, layer, "p", &c->p);
}

/* The identity in eval: its output is its input's. */
static clcnn_status fold(clcnn__fold *fold, size_t index) {
    fold->map[index] = fold->map[clcnn__net_node(fold->from, index)->inputs[0]];
    return CLCNN_OK;
}

const clcnn__layer_type clcnn__layer_dropout = {
    .kind = CLCNN_LAYER_DROPOUT,
    .name = "dropout",
    .min_inputs = 1,
    .max_inputs = 1,
    .config_size = sizeof(dropout_config),
    .infer = infer,
    .forward = forward,
    .backward = backward,
    .release = release,
    .reseed = reseed,
    .describe = describe,
    .parse = parse,
    .fold = fold,
};

clcnn_status clcnn_net_add_dropout(clcnn_net *net, float p) {
    /* The generator clcnn_net_init(net, CLCNN_NET_DEFAULT_SEED) would set. */
    dropout_config config = {p, clcnn_dropout_state_init(CLCNN_NET_DEFAULT_SEED)};
    CLCNN__NET_PUBLIC(net, clcnn__net_add(net, &clcnn__layer_dropout, NULL, NULL, 0, &config));
}
