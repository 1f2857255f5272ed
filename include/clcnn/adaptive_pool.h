/* Adaptive average pooling over NCHW tensors, forward and backward, with
 * PyTorch's semantics (torch.nn.AdaptiveAvgPool2d): for an output of OH x
 * OW, output (i, j) is the mean of the input rows
 * [floor(i * H / OH), ceil((i + 1) * H / OH)) and columns
 * [floor(j * W / OW), ceil((j + 1) * W / OW)). Windows may overlap (when H
 * is no multiple of OH) and the output may be larger than the input.
 * Global average pooling (ResNet's head) is the 1 x 1 case; it runs a
 * reduction per (n, c) plane of its own.
 *
 * Every sum runs in a fixed order (no atomics): results are deterministic.
 * A [N, C, 1, 1] output feeds a dense layer through clcnn_tensor_reshape to
 * [N, C]. */
#ifndef CLCNN_ADAPTIVE_POOL_H
#define CLCNN_ADAPTIVE_POOL_H

#include "clcnn/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The output shape [N, C, output_size[0], output_size[1]] for an input of
 * shape input_dims [N, C, H, W]. Errors: NULL pointers or an output side
 * above 2^24: CLCNN_ERROR_INVALID_ARGUMENT; a zero dimension or output
 * side: CLCNN_ERROR_INVALID_SHAPE. context may be NULL (the message is then
 * dropped). */
CLCNN_API clcnn_status clcnn_adaptive_avg_pool2d_output_shape(clcnn_context *context,
                                                              const size_t input_dims[4],
                                                              const size_t output_size[2],
                                                              size_t output_dims[4]);

/* y = adaptive_avg_pool2d(x, (OH, OW)), the output size taken from y's
 * shape [N, C, OH, OW]; x is [N, C, H, W]. y must not share memory with x.
 * Errors: NULL tensors or y sharing memory with x:
 * CLCNN_ERROR_INVALID_ARGUMENT; a tensor not 4-D, or y's N or C not x's:
 * CLCNN_ERROR_INVALID_SHAPE; a tensor of another context:
 * CLCNN_ERROR_CONTEXT_MISMATCH; an output side above 2^24 or a plane of
 * more than 2^30 elements: CLCNN_ERROR_SIZE_OVERFLOW. Asynchronous. */
CLCNN_API clcnn_status clcnn_adaptive_avg_pool2d_forward(clcnn_context *context,
                                                         const clcnn_tensor *x, clcnn_tensor *y);

/* dx from dy: dx has x's shape, dy y's. Each input element gets, for every
 * output window holding it, that output's gradient divided by the window's
 * area. dx must not share memory with dy. grad_mode: CLCNN_GRAD_OVERWRITE
 * writes dx, CLCNN_GRAD_ACCUMULATE adds to it. Errors as for forward, an
 * unknown grad_mode: CLCNN_ERROR_INVALID_ARGUMENT, and, on a driver that
 * limits loop trips (llvmpipe), an output many thousand times larger than
 * the input: CLCNN_ERROR_UNSUPPORTED. Asynchronous. */
CLCNN_API clcnn_status clcnn_adaptive_avg_pool2d_backward(clcnn_context *context,
                                                          const clcnn_tensor *dy, clcnn_tensor *dx,
                                                          clcnn_grad_mode grad_mode);

#ifdef __cplusplus
}
#endif

#endif
