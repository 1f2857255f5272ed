/* The 2-D pooling layer, max or average (torch.nn.MaxPool2d, AvgPool2d).
 * A 2x2 max pool of stride 2 that halves its input is what a convolution
 * before it can compute in its epilogue in eval mode (the convolution's
 * fusion). */
#include <stdio.h>
#include <string.h>

#include "nn/layer.h"

/* A max pool of 2x2 windows, stride 2, no padding, whose output is the
 * floor half of its input (the convolution epilogue's pool). */
int clcnn__pool2d_is_half_max(const clcnn_net *net, const clcnn__node *node) {
    if (node->type != &clcnn__layer_pool2d)
        return 0;
    const clcnn_pool2d_params *p = node->config;
    const size_t *in = clcnn__net_node(net, node->inputs[0])->out.dims, *out = node->out.dims;
    return p->mode == CLCNN_POOL2D_MAX && p->kernel_h == 2 && p->kernel_w == 2 &&
           (p->stride_h == 0 || p->stride_h == 2) && (p->stride_w == 0 || p->stride_w == 2) &&
           p->pad_h == 0 && p->pad_w == 0 && out[1] == in[1] / 2 && out[2] == in[2] / 2 &&
           in[1] >= 2 && in[2] >= 2;
}

/* The message for a pooling that clcnn_pool2d_output_shape rejected with
 * `status`: the first of its rules (include/clcnn/pool2d.h) that fails,
 * with the numbers. */
static clcnn_status fail_shape(clcnn_net *net, const clcnn__node *node, const clcnn__sample *in,
                               clcnn_status status) {
    const clcnn_pool2d_params *p = node->config;
    const size_t size[2] = {in->dims[1], in->dims[2]};
    const size_t kernel[2] = {p->kernel_h, p->kernel_w}, pad[2] = {p->pad_h, p->pad_w};
    char label[96], padding[48];
    clcnn__node_label(net, node, label, sizeof label);
    if (pad[0] == pad[1])
        snprintf(padding, sizeof padding, "%zu", pad[0]);
    else
        snprintf(padding, sizeof padding, "%zux%zu", pad[0], pad[1]);
    if (p->mode != CLCNN_POOL2D_MAX && p->mode != CLCNN_POOL2D_AVG)
        return clcnn__fail(net->ctx, status, "%s: unknown mode %d", label, (int)p->mode);
    if (kernel[0] == 0 || kernel[1] == 0)
        return clcnn__fail(net->ctx, status, "%s: window %zux%zu has a zero", label, kernel[0],
                           kernel[1]);
    if (pad[0] > kernel[0] / 2 || pad[1] > kernel[1] / 2)
        return clcnn__fail(net->ctx, status, "%s: padding %s is more than half of window %zux%zu",
                           label, padding, kernel[0], kernel[1]);
    for (int i = 0; i < 2; i++)
        if (status == CLCNN_ERROR_INVALID_SHAPE && size[i] + 2 * pad[i] < kernel[i])
            return clcnn__fail(net->ctx, status,
                               "%s: window %zux%zu does not fit input %zux%zu with padding %s",
                               label, kernel[0], kernel[1], size[0], size[1], padding);
    return clcnn__fail(net->ctx, status,
                       "%s: window %zux%zu, stride %zux%zu, padding %zux%zu on input %zux%zux%zu: "
                       "%s",
                       label, kernel[0], kernel[1], p->stride_h, p->stride_w, pad[0], pad[1],
                       in->dims[0], size[0], size[1], clcnn_status_string(status));
}

static clcnn_status pool2d_infer(clcnn_net *net, clcnn__node *node,
                                 const clcnn__sample *const *inputs) {
    const clcnn__sample *in = inputs[0];
    if (in->ndim != 3)
        return clcnn__fail_rank(net, node, in, "samples of [C, H, W]");
    size_t x_dims[4] = {1, in->dims[0], in->dims[1], in->dims[2]}, y_dims[4];
    clcnn_status status = clcnn_pool2d_output_shape(NULL, node->config, x_dims, y_dims);
    if (status != CLCNN_OK)
        return fail_shape(net, node, in, status);
    node->out.ndim = 3;
    memcpy(node->out.dims, y_dims + 1, 3 * sizeof *y_dims);
    return CLCNN_OK;
}

static unsigned pool2d_backward_reads(const clcnn__node *node) {
    (void)node;
    return CLCNN__READS_INPUTS;
}

static clcnn_status pool2d_forward(clcnn_net *net, clcnn__node *node,
                                   const clcnn_tensor *const *inputs, clcnn_tensor *output) {
    return clcnn_pool2d_forward(net->ctx, node->config, inputs[0], output);
}

static clcnn_status pool2d_backward(clcnn_net *net, clcnn__node *node,
                                    const clcnn__backward_args *args) {
    return clcnn_pool2d_backward(net->ctx, node->config, args->inputs[0], args->dy, args->dx[0],
                                 args->dx_mode[0]);
}

static clcnn_status pool2d_describe(const clcnn__node *node, json_t *layer) {
    const clcnn_pool2d_params *p = node->config;
    json_t *pool =
        json_pack("{s:s,s:o,s:o,s:o,s:b,s:b}", "mode", p->mode == CLCNN_POOL2D_MAX ? "max" : "avg",
                  "kernel", clcnn__json_pair_new(p->kernel_h, p->kernel_w), "stride",
                  clcnn__json_pair_new(p->stride_h, p->stride_w), "padding",
                  clcnn__json_pair_new(p->pad_h, p->pad_w), "ceil_mode", p->ceil_mode,
                  "count_include_pad", p->count_include_pad);
    return pool != NULL && json_object_set_new(layer, "pool", pool) == 0
               ? CLCNN_OK
               : CLCNN_ERROR_OUT_OF_HOST_MEMORY;
}

static clcnn_status pool2d_parse(clcnn_context *ctx, const json_t *layer, void *config) {
    clcnn_pool2d_params *p = config;
    *p = clcnn_pool2d_params_default();
    const json_t *pool = json_object_get(layer, "pool");
    const char *mode = json_string_value(json_object_get(pool, "mode"));
    if (!json_is_object(pool) || mode == NULL ||
        (strcmp(mode, "max") != 0 && strcmp(mode, "avg") != 0))
        return clcnn__fail(ctx, CLCNN_ERROR_CORRUPT_FILE,
                           "\"pool\" is not an object with \"mode\" \"max\" or \"avg\"");
    p->mode = strcmp(mode, "max") == 0 ? CLCNN_POOL2D_MAX : CLCNN_POOL2D_AVG;
    clcnn_status status = clcnn__json_pair(ctx, pool, "kernel", &p->kernel_h, &p->kernel_w);
    if (status == CLCNN_OK)
        status = clcnn__json_pair(ctx, pool, "stride", &p->stride_h, &p->stride_w);
    if (status == CLCNN_OK)
        status = clcnn__json_pair(ctx, pool, "padding", &p->pad_h, &p->pad_w);
    if (status == CLCNN_OK)
        status = clcnn__json_flag(ctx, pool, "ceil_mode", &p->ceil_mode);
    if (status == CLCNN_OK)
        status = clcnn__json_flag(ctx, pool, "count_include_pad", &p->count_include_pad);
    return status;
}

const clcnn__layer_type clcnn__layer_pool2d = {
    .kind = CLCNN_LAYER_POOL2D,
    .name = "pool2d",
    .min_inputs = 1,
    .max_inputs = 1,
    .config_size = sizeof(clcnn_pool2d_params),
    .infer = pool2d_infer,
    .backward_reads = pool2d_backward_reads,
    .forward = pool2d_forward,
    .backward = pool2d_backward,
    .describe = pool2d_describe,
    .parse = pool2d_parse,
};

clcnn_status clcnn_net_add_pool2d(clcnn_net *net, const clcnn_pool2d_params *params) {
    if (net != NULL && params == NULL) {
        clcnn__error_mark mark = clcnn__error_mark_take(net->ctx);
        return clcnn__named(net->ctx, mark, __func__,
                            clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "params is NULL"));
    }
    CLCNN__NET_PUBLIC(net, clcnn__net_add(net, &clcnn__layer_pool2d, NULL, NULL, 0, params));
}
