/* 2-D max and average pooling over NCHW tensors, forward and backward, with
 * PyTorch's semantics (torch.nn.MaxPool2d / AvgPool2d, dilation 1).
 *
 * Max pool backward recomputes each window's maximum from the forward input
 * x instead of keeping an index tensor: the training loop keeps x anyway,
 * no extra buffer lives between forward and backward, and the memory traffic
 * is close to the index design (for 2x2 windows it reads x once more but
 * skips writing and reading the indices). The gradient of a window goes to
 * its FIRST maximum in row-major scan order (a NaN counts as a maximum, the
 * last NaN wins), exactly as PyTorch routes it. Overlapping windows
 * (stride < kernel) add their contributions in a fixed order: results are
 * deterministic and use no atomics. */
#ifndef CLCNN_POOL2D_H
#define CLCNN_POOL2D_H

#include "clcnn/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum clcnn_pool2d_mode { CLCNN_POOL2D_MAX = 0, CLCNN_POOL2D_AVG = 1 } clcnn_pool2d_mode;

typedef struct clcnn_pool2d_params {
    clcnn_pool2d_mode mode;
    size_t kernel_h, kernel_w; /* window size, at least 1 */
    size_t stride_h, stride_w; /* 0 means "the kernel size" (PyTorch's default) */
    size_t pad_h, pad_w;       /* implicit padding on both sides, at most kernel / 2 */
    /* Non-zero: the output size rounds up, but a last window that would
     * start in the right/bottom padding is dropped (PyTorch's ceil_mode). */
    int ceil_mode;
    /* Average pool only. Non-zero (the default): padded zeros count in the
     * divisor; zero: only the input elements inside the window count. */
    int count_include_pad;
} clcnn_pool2d_params;

/* Max pool, 2x2 window, stride = kernel, no padding, floor mode,
 * count_include_pad 1. */
CLCNN_API clcnn_pool2d_params clcnn_pool2d_params_default(void);

/* The output shape [N, C, OH, OW] for an input of shape input_dims
 * [N, C, H, W], as PyTorch computes it:
 *   OH = floor((H + 2 pad_h - kernel_h) / stride_h) + 1 (floor mode), or
 *   OH = ceil(...) + 1, less one if that last window would start at or past
 *   H + pad_h (ceil mode); the same for OW.
 * Errors: NULL pointers, an unknown mode, a zero kernel size or a parameter
 * above 2^24: CLCNN_ERROR_INVALID_ARGUMENT; padding above half the
 * kernel, an output size below 1 or a zero dimension:
 * CLCNN_ERROR_INVALID_SHAPE. context may be NULL (the message is then
 * dropped). */
CLCNN_API clcnn_status clcnn_pool2d_output_shape(clcnn_context *context,
                                                 const clcnn_pool2d_params *params,
                                                 const size_t input_dims[4], size_t output_dims[4]);

/* y = pool(x). x is [N, C, H, W]; y, created by the caller, has the shape
 * clcnn_pool2d_output_shape gives and must not share memory with x.
 * Errors: those of clcnn_pool2d_output_shape; NULL tensors or y sharing
 * memory with x: CLCNN_ERROR_INVALID_ARGUMENT; x not 4-D or y of another
 * shape: CLCNN_ERROR_INVALID_SHAPE; a tensor of another context:
 * CLCNN_ERROR_CONTEXT_MISMATCH; more than 2^30 elements in an input or
 * output plane, or more than 2^32 - 1 planes: CLCNN_ERROR_SIZE_OVERFLOW.
 * Asynchronous. */
CLCNN_API clcnn_status clcnn_pool2d_forward(clcnn_context *context,
                                            const clcnn_pool2d_params *params,
                                            const clcnn_tensor *x, clcnn_tensor *y);

/* dx from dy. dx has x's shape [N, C, H, W]; dy has y's shape. Max pool
 * needs the forward input x (the windows' maxima are recomputed from it);
 * average pool does not read x, which may then be NULL (when given, its
 * shape is checked). dx must not share memory with x or dy. grad_mode:
 * CLCNN_GRAD_OVERWRITE writes dx, CLCNN_GRAD_ACCUMULATE adds to it (elements
 * that no window covers keep their value). Errors as for forward, and an
 * unknown grad_mode: CLCNN_ERROR_INVALID_ARGUMENT. Asynchronous. */
CLCNN_API clcnn_status clcnn_pool2d_backward(clcnn_context *context,
                                             const clcnn_pool2d_params *params,
                                             const clcnn_tensor *x, const clcnn_tensor *dy,
                                             clcnn_tensor *dx, clcnn_grad_mode grad_mode);

#ifdef __cplusplus
}
#endif

#endif
