/* ResNet-8 for small images, built from the public layer calls: the
 * torchvision ResNet layout (stem conv1-bn1-ReLU, one BasicBlock per stage
 * at 32, 64 and 128 channels, global average pooling, fc) with names that
 * PyTorch's state dict uses, so a checkpoint loads strictly into the
 * module of hosttools/pytorch/resnet8.py. */
#include <stdio.h>

#include "nn/net_internal.h"

typedef struct resnet_builder {
    clcnn_net *net;
    clcnn_status status;
} resnet_builder;

/* `prefix`.`name` as a layer name, e.g. "layer2.0" + "downsample.0". */
static const char *layer_name(char *buffer, size_t size, const char *prefix, const char *name) {
    snprintf(buffer, size, "%s.%s", prefix, name);
    return buffer;
}

/* A 3x3 (or 1x1) convolution without bias, stride s, then batch norm. */
static void conv_bn(resnet_builder *b, const char *conv, const char *bn, size_t channels,
                    size_t kernel, size_t stride) {
    clcnn_conv2d_params params = clcnn_conv2d_params_default();
    params.stride_h = params.stride_w = stride;
    params.pad_h = params.pad_w = kernel / 2;
    if (b->status == CLCNN_OK)
        b->status = clcnn_net_add_conv2d(b->net, conv, channels, kernel, kernel, &params, 0);
    if (b->status == CLCNN_OK)
        b->status = clcnn_net_add_batchnorm(b->net, bn, NULL);
}

static void relu(resnet_builder *b) {
    clcnn_activation_params params = clcnn_activation_params_default();
    params.kind = CLCNN_ACTIVATION_RELU;
    if (b->status == CLCNN_OK)
        b->status = clcnn_net_add_activation(b->net, &params);
}

/* torchvision's BasicBlock: conv1-bn1-ReLU-conv2-bn2, plus the shortcut
 * (the identity, or downsample.0/.1: 1x1 conv stride s and batch norm
 * where the shape changes), then ReLU (fused into the join). */
static void basic_block(resnet_builder *b, const char *prefix, size_t in_channels, size_t channels,
                        size_t stride) {
    char conv[64], bn[64];
    size_t block_input = clcnn_net_last_node(b->net);
    conv_bn(b, layer_name(conv, sizeof conv, prefix, "conv1"),
            layer_name(bn, sizeof bn, prefix, "bn1"), channels, 3, stride);
    relu(b);
    conv_bn(b, layer_name(conv, sizeof conv, prefix, "conv2"),
            layer_name(bn, sizeof bn, prefix, "bn2"), channels, 3, 1);
    size_t main_path = clcnn_net_last_node(b->net), shortcut = block_input;
    if (b->status == CLCNN_OK && (stride != 1 || in_channels != channels)) {
        b->status = clcnn_net_from(b->net, block_input);
        conv_bn(b, layer_name(conv, sizeof conv, prefix, "downsample.0"),
                layer_name(bn, sizeof bn, prefix, "downsample.1"), channels, 1, stride);
        shortcut = clcnn_net_last_node(b->net);
    }
    if (b->status == CLCNN_OK)
        b->status = clcnn_net_add_residual(b->net, main_path, shortcut, CLCNN_FUSED_RELU);
}

static clcnn_status create_resnet8(clcnn_context *context, size_t channels, size_t height,
                                   size_t width, size_t classes, clcnn_net **out) {
    if (out == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    size_t dims[3] = {channels, height, width};
    resnet_builder b = {NULL, CLCNN_OK};
    b.status = clcnn_net_create(context, 3, dims, &b.net);
    if (b.status != CLCNN_OK)
        return b.status;
    conv_bn(&b, "conv1", "bn1", 32, 3, 1);
    relu(&b);
    basic_block(&b, "layer1.0", 32, 32, 1);
    basic_block(&b, "layer2.0", 32, 64, 2);
    basic_block(&b, "layer3.0", 64, 128, 2);
    if (b.status == CLCNN_OK)
        b.status = clcnn_net_add_global_avg_pool(b.net);
    if (b.status == CLCNN_OK)
        b.status = clcnn_net_add_flatten(b.net);
    if (b.status == CLCNN_OK)
        b.status = clcnn_net_add_dense(b.net, "fc", classes, 1);
    if (b.status != CLCNN_OK) {
        clcnn_net_destroy(b.net);
        return b.status;
    }
    *out = b.net;
    return CLCNN_OK;
}

clcnn_status clcnn_net_create_resnet8(clcnn_context *context, size_t channels, size_t height,
                                      size_t width, size_t classes, clcnn_net **out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        create_resnet8(context, channels, height, width, classes, out));
}
