/* The convolution layer (torch.nn.Conv2d): weight [K, C/groups, kh, kw]
 * and an optional bias [K].
 *
 * Fusion: in eval mode it takes the batch norm that reads it (as its
 * per-channel affine, recomputed from the current parameters on every
 * forward), a ReLU after either, and then a 2x2 max pool of stride 2 into
 * its epilogue; in training only a ReLU written in place over its output
 * (whose backward stays separate: it needs only that output, which the
 * fused forward writes; pooling's backward needs its input, so no pool). */
#include <stdio.h>
#include <string.h>

#include "nn/layer.h"

typedef struct conv_config {
    size_t out_channels, kernel_h, kernel_w;
    clcnn_conv2d_params params;
    int bias;
} conv_config;

/* "1" when both sides agree, else "1x2". */
static const char *pair_string(size_t h, size_t w, char *buffer, size_t size) {
    if (h == w)
        snprintf(buffer, size, "%zu", h);
    else
        snprintf(buffer, size, "%zux%zu", h, w);
    return buffer;
}

/* The message for a convolution that clcnn_conv2d_output_shape rejected
 * with `status`: the first of its rules (include/clcnn/conv2d.h) that
 * fails, with the numbers. */
static clcnn_status fail_shape(clcnn_net *net, const clcnn__node *node, const clcnn__sample *in,
                               clcnn_status status) {
    const conv_config *c = node->config;
    const clcnn_conv2d_params *p = &c->params;
    const size_t channels = in->dims[0], size[2] = {in->dims[1], in->dims[2]};
    const size_t kernel[2] = {c->kernel_h, c->kernel_w}, pad[2] = {p->pad_h, p->pad_w};
    const size_t dilation[2] = {p->dilation_h, p->dilation_w};
    char label[96], padding[48];
    clcnn__node_label(net, node, label, sizeof label);
    pair_string(pad[0], pad[1], padding, sizeof padding);
    if (p->stride_h == 0 || p->stride_w == 0 || p->dilation_h == 0 || p->dilation_w == 0 ||
        p->groups == 0)
        return clcnn__fail(net->ctx, status,
                           "%s: stride %zux%zu, dilation %zux%zu and groups %zu must all be at "
                           "least 1",
                           label, p->stride_h, p->stride_w, p->dilation_h, p->dilation_w,
                           p->groups);
    if (p->algorithm < CLCNN_CONV2D_ALGO_AUTO || p->algorithm > CLCNN_CONV2D_ALGO_TILED)
        return clcnn__fail(net->ctx, status, "%s: unknown algorithm %d", label, p->algorithm);
    if (c->out_channels == 0 || kernel[0] == 0 || kernel[1] == 0)
        return clcnn__fail(net->ctx, status,
                           "%s: %zu output channels with a %zux%zu kernel (none may be 0)", label,
                           c->out_channels, kernel[0], kernel[1]);
    if (channels % p->groups != 0 || c->out_channels % p->groups != 0)
        return clcnn__fail(net->ctx, status,
                           "%s: groups %zu must divide the %zu input channels and the %zu output "
                           "channels",
                           label, p->groups, channels, c->out_channels);
    /* The rules go axis by axis; an overflow (SIZE_OVERFLOW) gets the
     * general message, so the sums below cannot overflow. */
    for (int i = 0; i < 2 && status == CLCNN_ERROR_INVALID_SHAPE; i++) {
        size_t reach = dilation[i] * (kernel[i] - 1);
        if (pad[i] > reach)
            return clcnn__fail(net->ctx, status,
                               "%s: padding %s is wider than kernel %zux%zu with dilation %zux%zu "
                               "allows (at most dilation x (kernel - 1) = %zu along the %s)",
                               label, padding, kernel[0], kernel[1], dilation[0], dilation[1],
                               reach, i == 0 ? "height" : "width");
        if (size[i] + 2 * pad[i] > reach)
            continue;
        if (dilation[0] == 1 && dilation[1] == 1)
            return clcnn__fail(net->ctx, status,
                               "%s: kernel %zux%zu does not fit input %zux%zu with padding %s",
                               label, kernel[0], kernel[1], size[0], size[1], padding);
        return clcnn__fail(net->ctx, status,
                           "%s: kernel %zux%zu with dilation %zux%zu does not fit input %zux%zu "
                           "with padding %s",
                           label, kernel[0], kernel[1], dilation[0], dilation[1], size[0], size[1],
                           padding);
    }
    return clcnn__fail(net->ctx, status,
                       "%s: %zu output channels, kernel %zux%zu, stride %zux%zu, padding %zux%zu, "
                       "dilation %zux%zu, groups %zu on input %zux%zux%zu: %s",
                       label, c->out_channels, kernel[0], kernel[1], p->stride_h, p->stride_w,
                       pad[0], pad[1], dilation[0], dilation[1], p->groups, channels, size[0],
                       size[1], clcnn_status_string(status));
}

static clcnn_status conv2d_infer(clcnn_net *net, clcnn__node *node,
                                 const clcnn__sample *const *inputs) {
    const conv_config *c = node->config;
    const clcnn__sample *in = inputs[0];
    if (in->ndim != 3)
        return clcnn__fail_rank(net, node, in, "samples of [C, H, W]");
    size_t groups = c->params.groups ? c->params.groups : 1;
    size_t x_dims[4] = {1, in->dims[0], in->dims[1], in->dims[2]};
    size_t w_dims[4] = {c->out_channels, in->dims[0] / groups, c->kernel_h, c->kernel_w};
    size_t y_dims[4];
    clcnn_status status = clcnn_conv2d_output_shape(&c->params, x_dims, w_dims, y_dims);
    if (status != CLCNN_OK)
        return fail_shape(net, node, in, status);
    node->out.ndim = 3;
    memcpy(node->out.dims, y_dims + 1, 3 * sizeof *y_dims);
    return CLCNN_OK;
}

static size_t conv2d_state(const clcnn_net *net, const clcnn__node *node,
                           clcnn__state_entry entries[CLCNN__MAX_STATE]) {
    const conv_config *c = node->config;
    const clcnn__sample *in = &clcnn__net_node(net, node->inputs[0])->out;
    size_t per_group = in->dims[0] / c->params.groups;
    double fan_in = (double)(per_group * c->kernel_h * c->kernel_w);
    entries[0] = (clcnn__state_entry){"weight",
                                      CLCNN__STATE_PARAMETER,
                                      {4, {c->out_channels, per_group, c->kernel_h, c->kernel_w}},
                                      fan_in,
                                      0.0f};
    entries[1] =
        (clcnn__state_entry){"bias", CLCNN__STATE_PARAMETER, {1, {c->out_channels}}, fan_in, 0.0f};
    return c->bias ? 2 : 1;
}

static unsigned conv2d_backward_reads(const clcnn__node *node) {
    (void)node;
    return CLCNN__READS_INPUTS; /* for the weight gradient */
}

static clcnn__fusion conv2d_fuse(const clcnn_net *net, const clcnn__node *node,
                                 const clcnn__node *const *chain, size_t count, int training) {
    (void)node;
    size_t taken = 0;
    if (!training && taken < count && clcnn__is_batchnorm(chain[taken]))
        taken++;
    if (taken < count && clcnn__activation_is_relu(chain[taken]) && chain[taken]->plan.alias)
        taken++;
    if (!training && taken < count && clcnn__pool2d_is_half_max(net, chain[taken]))
        taken++;
    return (clcnn__fusion){taken, 0};
}

/* The convolution with what it takes of the nodes after it. */
static clcnn_status conv2d_forward(clcnn_net *net, clcnn__node *node,
                                   const clcnn_tensor *const *inputs, clcnn_tensor *output) {
    const conv_config *c = node->config;
    clcnn_conv2d_epilogue epilogue = clcnn_conv2d_epilogue_default();
    clcnn_status status = CLCNN_OK;
    for (size_t i = 0; i < node->plan.fused_forward && status == CLCNN_OK; i++) {
        clcnn__node *next = clcnn__net_node(net, node->plan.fused[i]);
        if (clcnn__is_batchnorm(next))
            status = clcnn__batchnorm_eval_affine(net, next, &epilogue.scale, &epilogue.shift);
        else if (clcnn__activation_is_relu(next))
            epilogue.activation = CLCNN_CONV2D_ACTIVATION_RELU;
        else
            epilogue.max_pool = 1;
    }
    if (status != CLCNN_OK)
        return status;
    return clcnn_conv2d_forward_fused(net->ctx, &c->params, inputs[0], node->state[0].value,
                                      c->bias ? node->state[1].value : NULL, &epilogue, output);
}

static clcnn_status conv2d_backward(clcnn_net *net, clcnn__node *node,
                                    const clcnn__backward_args *args) {
    const conv_config *c = node->config;
    clcnn_status status = clcnn_conv2d_backward_weights(
        net->ctx, &c->params, args->inputs[0], args->dy, node->state[0].grad,
        c->bias ? node->state[1].grad : NULL, CLCNN_GRAD_ACCUMULATE);
    if (status == CLCNN_OK && args->dx[0] != NULL)
        status = clcnn_conv2d_backward_data(net->ctx, &c->params, args->dy, node->state[0].value,
                                            args->dx[0], args->dx_mode[0]);
    return status;
}

static clcnn_status conv2d_describe(const clcnn__node *node, json_t *layer) {
    const conv_config *c = node->config;
    const clcnn_conv2d_params *p = &c->params;
    json_t *conv =
        json_pack("{s:I,s:o,s:o,s:o,s:o,s:I,s:b}", "out_channels", (json_int_t)c->out_channels,
                  "kernel", clcnn__json_pair_new(c->kernel_h, c->kernel_w), "stride",
                  clcnn__json_pair_new(p->stride_h, p->stride_w), "padding",
                  clcnn__json_pair_new(p->pad_h, p->pad_w), "dilation",
                  clcnn__json_pair_new(p->dilation_h, p->dilation_w), "groups",
                  (json_int_t)p->groups, "bias", c->bias);
    return conv != NULL && json_object_set_new(layer, "conv", conv) == 0
               ? CLCNN_OK
               : CLCNN_ERROR_OUT_OF_HOST_MEMORY;
}

static clcnn_status conv2d_parse(clcnn_context *ctx, const json_t *layer, void *config) {
    conv_config *c = config;
    c->params = clcnn_conv2d_params_default();
    c->bias = 1;
    const json_t *conv = json_object_get(layer, "conv");
    if (!json_is_object(conv))
        return clcnn__fail(ctx, CLCNN_ERROR_CORRUPT_FILE, "\"conv\" is not an object");
    clcnn_conv2d_params *p = &c->params;
    clcnn_status status = clcnn__json_size(ctx, conv, "out_channels", &c->out_channels);
    if (status == CLCNN_OK)
        status = clcnn__json_pair(ctx, conv, "kernel", &c->kernel_h, &c->kernel_w);
    if (status == CLCNN_OK)
        status = clcnn__json_pair(ctx, conv, "stride", &p->stride_h, &p->stride_w);
    if (status == CLCNN_OK)
        status = clcnn__json_pair(ctx, conv, "padding", &p->pad_h, &p->pad_w);
    if (status == CLCNN_OK)
        status = clcnn__json_pair(ctx, conv, "dilation", &p->dilation_h, &p->dilation_w);
    if (status == CLCNN_OK)
        status = clcnn__json_size(ctx, conv, "groups", &p->groups);
    if (status == CLCNN_OK)
        status = clcnn__json_flag(ctx, conv, "bias", &c->bias);
    return status;
}

/* A batch norm that folds into the convolution gives it a bias. */
static clcnn_status conv2d_fold(clcnn__fold *fold, size_t index) {
    conv_config config = *(const conv_config *)clcnn__net_node(fold->from, index)->config;
    return clcnn__batchnorm_fold_giving_bias(fold, index, &config, &config.bias);
}

const clcnn__layer_type clcnn__layer_conv2d = {
    .kind = CLCNN_LAYER_CONV2D,
    .name = "conv2d",
    .min_inputs = 1,
    .max_inputs = 1,
    .named = 1,
    .config_size = sizeof(conv_config),
    .infer = conv2d_infer,
    .state = conv2d_state,
    .backward_reads = conv2d_backward_reads,
    .fuse = conv2d_fuse,
    .forward = conv2d_forward,
    .backward = conv2d_backward,
    .describe = conv2d_describe,
    .parse = conv2d_parse,
    .fold = conv2d_fold,
    .fold_values = clcnn__batchnorm_fold_values,
    .takes_batchnorm = 1,
};

clcnn_status clcnn_net_add_conv2d(clcnn_net *net, const char *name, size_t out_channels,
                                  size_t kernel_h, size_t kernel_w,
                                  const clcnn_conv2d_params *params, int bias) {
    conv_config config = {out_channels, kernel_h, kernel_w,
                          params != NULL ? *params : clcnn_conv2d_params_default(), bias != 0};
    CLCNN__NET_PUBLIC(net, clcnn__net_add(net, &clcnn__layer_conv2d, name, NULL, 0, &config));
}
