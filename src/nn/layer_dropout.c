/* The dropout layer (torch.nn.Dropout): inverted dropout in training, the
 * identity in eval (and gone from the folded network). Its masks come from
 * its own Philox generator (clcnn/dropout.h), seeded by clcnn_net_init,
 * whose stream advances once per training forward pass. From a first
 * sample above 0 (clcnn_net_set_first_sample) it draws the masks a forward
 * over the whole global batch gives these samples. */
#include <stdlib.h>

#include "clcnn/concat.h"
#include "clcnn/dropout.h"
#include "nn/layer.h"

typedef struct dropout_config {
    float p;
    clcnn_dropout_state generator; /* advanced by each pass that draws */
} dropout_config;

static clcnn_status dropout_infer(clcnn_net *net, clcnn__node *node,
                                  const clcnn__sample *const *inputs) {
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

/* The per-pass memory: the mask of a training pass, and for a pass from a
 * first sample above 0 (clcnn_net_set_first_sample) the samples before it
 * (contents unused), the wide batch [prefix, batch] and the first sample
 * the last training forward used (0: the plain path). */
typedef struct dropout_scratch {
    clcnn_dropout_mask *mask;
    clcnn_tensor *prefix, *wide;
    size_t first;
} dropout_scratch;

/* The scratch, made on first use; NULL when out of host memory. */
static dropout_scratch *scratch_of(clcnn__node *node) {
    if (node->scratch == NULL)
        node->scratch = calloc(1, sizeof(dropout_scratch));
    return node->scratch;
}

/* The mask made for `numel` elements (a wide pass needs a wider one than
 * the batch, the next plain pass the batch's again). */
static clcnn_status ensure_mask(clcnn_net *net, dropout_scratch *s, size_t numel) {
    clcnn_dropout_mask_info info;
    if (s->mask != NULL && clcnn_dropout_mask_get_info(s->mask, &info) == CLCNN_OK &&
        info.numel == numel)
        return CLCNN_OK;
    clcnn_dropout_mask_destroy(s->mask);
    s->mask = NULL;
    return clcnn_dropout_mask_create(net->ctx, numel, NULL, &s->mask);
}

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

/* The prefix, the wide batch and a mask over it, for `first` samples
 * before a batch of `batch` samples. */
static clcnn_status prepare_wide(clcnn_net *net, const clcnn__node *node, dropout_scratch *s,
                                 size_t first, size_t batch) {
    size_t features = clcnn__sample_numel(&node->out);
    clcnn_status status = ensure_mask(net, s, (first + batch) * features);
    if (status == CLCNN_OK)
        status = ensure_row(net->ctx, &s->prefix, first * features);
    if (status == CLCNN_OK)
        status = ensure_row(net->ctx, &s->wide, (first + batch) * features);
    return status;
}

/* The op draws element e of a call from word e of its stream and has no
 * element offset, so a pass from a first sample f runs it over a wider
 * batch: wide = [prefix, in] (concat), the op in place over wide, out =
 * wide's last part (concat's backward). Exactly the mask words a forward
 * over the global batch gives these samples, for any feature count. */
typedef enum wide_pass { WIDE_FORWARD, WIDE_BACKWARD } wide_pass;

static clcnn_status run_wide(clcnn_net *net, dropout_config *c, dropout_scratch *s, wide_pass pass,
                             const clcnn_tensor *in, clcnn_tensor *out) {
    size_t dims[2] = {1, clcnn_tensor_numel(in)};
    clcnn_tensor *in_row = NULL, *out_row = NULL;
    clcnn_status status = clcnn_tensor_reshape(in, 2, dims, &in_row);
    if (status == CLCNN_OK)
        status = clcnn_tensor_reshape(out, 2, dims, &out_row);
    const clcnn_tensor *parts[2] = {s->prefix, in_row};
    if (status == CLCNN_OK)
        status = clcnn_concat_forward(net->ctx, 2, parts, s->wide);
    if (status == CLCNN_OK && pass == WIDE_FORWARD)
        status = clcnn_dropout_forward(net->ctx, &c->generator, c->p, 1, s->wide, s->wide, s->mask);
    else if (status == CLCNN_OK)
        status = clcnn_dropout_backward(net->ctx, s->mask, s->wide, s->wide, CLCNN_GRAD_OVERWRITE);
    clcnn_tensor *results[2] = {s->prefix, out_row};
    if (status == CLCNN_OK)
        status = clcnn_concat_backward(net->ctx, s->wide, 2, results, CLCNN_GRAD_OVERWRITE);
    clcnn_tensor_destroy(in_row);
    clcnn_tensor_destroy(out_row);
    return status;
}

static clcnn_status dropout_forward(clcnn_net *net, clcnn__node *node,
                                    const clcnn_tensor *const *inputs, clcnn_tensor *output) {
    dropout_config *c = node->config;
    if (!net->training) /* the identity; draws nothing */
        return clcnn_dropout_forward(net->ctx, &c->generator, c->p, 0, inputs[0], output, NULL);
    dropout_scratch *s = scratch_of(node);
    if (s == NULL)
        return clcnn__fail(net->ctx, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    /* p = 0 draws nothing: the plain call. */
    s->first = c->p > 0.0f ? net->first_sample : 0;
    clcnn_status status = CLCNN_OK;
    if (s->first == 0) {
        status = ensure_mask(net, s, clcnn_tensor_numel(output));
        return status == CLCNN_OK ? clcnn_dropout_forward(net->ctx, &c->generator, c->p, 1,
                                                          inputs[0], output, s->mask)
                                  : status;
    }
    status = prepare_wide(net, node, s, s->first, clcnn_tensor_dim(inputs[0], 0));
    return status == CLCNN_OK ? run_wide(net, c, s, WIDE_FORWARD, inputs[0], output) : status;
}

static clcnn_status dropout_backward(clcnn_net *net, clcnn__node *node,
                                     const clcnn__backward_args *args) {
    dropout_scratch *s = node->scratch;
    if (s->first == 0)
        return clcnn_dropout_backward(net->ctx, s->mask, args->dy, args->dx[0], args->dx_mode[0]);
    /* The wide pass overwrites: a gradient that adds to another goes
     * through a temporary. */
    clcnn_tensor *temporary = NULL, *dx = NULL;
    clcnn_status status = clcnn__grad_target(net, args->dx[0], args->dx_mode[0], &temporary, &dx);
    if (status == CLCNN_OK)
        status = run_wide(net, node->config, s, WIDE_BACKWARD, args->dy, dx);
    return clcnn__grad_finish(net, args->dx[0], temporary, status);
}

static void dropout_release(clcnn__node *node) {
    dropout_scratch *s = node->scratch;
    if (s == NULL)
        return;
    clcnn_dropout_mask_destroy(s->mask);
    clcnn_tensor_destroy(s->prefix);
    clcnn_tensor_destroy(s->wide);
    free(s);
    node->scratch = NULL;
}

static void dropout_reseed(clcnn__node *node, uint64_t seed) {
    dropout_config *c = node->config;
    c->generator = clcnn_dropout_state_init(seed);
}

static clcnn_status dropout_describe(const clcnn__node *node, json_t *layer) {
    const dropout_config *c = node->config;
    return json_object_set_new(layer, "p", clcnn__json_short_real(c->p)) == 0
               ? CLCNN_OK
               : CLCNN_ERROR_OUT_OF_HOST_MEMORY;
}

static clcnn_status dropout_parse(clcnn_context *ctx, const json_t *layer, void *config) {
    dropout_config *c = config;
    c->p = 0.5f;
    c->generator = clcnn_dropout_state_init(CLCNN_NET_DEFAULT_SEED);
    return clcnn__json_float(ctx, layer, "p", &c->p);
}

/* The identity in eval: its output is its input's. */
static clcnn_status dropout_fold(clcnn__fold *fold, size_t index) {
    fold->map[index] = fold->map[clcnn__net_node(fold->from, index)->inputs[0]];
    return CLCNN_OK;
}

const clcnn__layer_type clcnn__layer_dropout = {
    .kind = CLCNN_LAYER_DROPOUT,
    .name = "dropout",
    .min_inputs = 1,
    .max_inputs = 1,
    .config_size = sizeof(dropout_config),
    .infer = dropout_infer,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .release = dropout_release,
    .reseed = dropout_reseed,
    .describe = dropout_describe,
    .parse = dropout_parse,
    .fold = dropout_fold,
};

clcnn_status clcnn_net_add_dropout(clcnn_net *net, float p) {
    /* The generator clcnn_net_init(net, CLCNN_NET_DEFAULT_SEED) would set. */
    dropout_config config = {p, clcnn_dropout_state_init(CLCNN_NET_DEFAULT_SEED)};
    CLCNN__NET_PUBLIC(net, clcnn__net_add(net, &clcnn__layer_dropout, NULL, NULL, 0, &config));
}
