/* Adaptive average pooling of [C, H, W] samples to a fixed [C, OH, OW]
 * (torch.nn.AdaptiveAvgPool2d); global average pooling is the 1 x 1 case
 * (clcnn/adaptive_pool.h). */
#include "clcnn/adaptive_pool.h"
#include "nn/layer.h"

typedef struct adaptive_config {
    size_t out_h, out_w;
} adaptive_config;

static clcnn_status adaptive_pool_infer(clcnn_net *net, clcnn__node *node,
                                        const clcnn__sample *const *inputs) {
    const adaptive_config *c = node->config;
    const clcnn__sample *in = inputs[0];
    if (in->ndim != 3)
        return clcnn__fail_rank(net, node, in, "samples of [C, H, W]");
    size_t x_dims[4] = {1, in->dims[0], in->dims[1], in->dims[2]}, y_dims[4];
    size_t size[2] = {c->out_h, c->out_w};
    clcnn_status status = clcnn_adaptive_avg_pool2d_output_shape(NULL, x_dims, size, y_dims);
    if (status != CLCNN_OK) {
        char label[96];
        return clcnn__fail(net->ctx, status, "%s: an output of %zux%zu: %s",
                           clcnn__node_label(net, node, label, sizeof label), c->out_h, c->out_w,
                           c->out_h == 0 || c->out_w == 0 ? "a side is 0" : "a side is too large");
    }
    node->out = (clcnn__sample){3, {y_dims[1], y_dims[2], y_dims[3]}};
    return CLCNN_OK;
}

static clcnn_status adaptive_pool_forward(clcnn_net *net, clcnn__node *node,
                                          const clcnn_tensor *const *inputs, clcnn_tensor *output) {
    (void)node;
    return clcnn_adaptive_avg_pool2d_forward(net->ctx, inputs[0], output);
}

static clcnn_status adaptive_pool_backward(clcnn_net *net, clcnn__node *node,
                                           const clcnn__backward_args *args) {
    (void)node;
    return clcnn_adaptive_avg_pool2d_backward(net->ctx, args->dy, args->dx[0], args->dx_mode[0]);
}

static clcnn_status adaptive_pool_describe(const clcnn__node *node, json_t *layer) {
    const adaptive_config *c = node->config;
    return json_object_set_new(layer, "output_size", clcnn__json_pair_new(c->out_h, c->out_w)) == 0
               ? CLCNN_OK
               : CLCNN_ERROR_OUT_OF_HOST_MEMORY;
}

static clcnn_status adaptive_pool_parse(clcnn_context *ctx, const json_t *layer, void *config) {
    adaptive_config *c = config;
    if (!json_is_array(json_object_get(layer, "output_size")))
        return clcnn__fail(ctx, CLCNN_ERROR_CORRUPT_FILE, "no \"output_size\"");
    return clcnn__json_pair(ctx, layer, "output_size", &c->out_h, &c->out_w);
}

const clcnn__layer_type clcnn__layer_adaptive_avg_pool = {
    .kind = CLCNN_LAYER_ADAPTIVE_AVG_POOL,
    .name = "adaptive_avg_pool",
    .min_inputs = 1,
    .max_inputs = 1,
    .config_size = sizeof(adaptive_config),
    .infer = adaptive_pool_infer,
    .forward = adaptive_pool_forward,
    .backward = adaptive_pool_backward,
    .describe = adaptive_pool_describe,
    .parse = adaptive_pool_parse,
};

clcnn_status clcnn_net_add_adaptive_avg_pool(clcnn_net *net, size_t out_h, size_t out_w) {
    adaptive_config config = {out_h, out_w};
    CLCNN__NET_PUBLIC(net,
                      clcnn__net_add(net, &clcnn__layer_adaptive_avg_pool, NULL, NULL, 0, &config));
}

clcnn_status clcnn_net_add_global_avg_pool(clcnn_net *net) {
    adaptive_config config = {1, 1};
    CLCNN__NET_PUBLIC(net,
                      clcnn__net_add(net, &clcnn__layer_adaptive_avg_pool, NULL, NULL, 0, &config));
}
