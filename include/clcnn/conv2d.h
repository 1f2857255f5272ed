/* 2-D convolution (PyTorch's nn.Conv2d semantics: cross-correlation, the
 * kernel is not flipped): forward, gradient of the input (backward data) and
 * gradients of the weights and bias (backward weights).
 *
 * Layouts: activations NCHW, weights OIHW.
 *   x  [N, C, H, W]            input
 *   w  [K, C / groups, KH, KW] weights
 *   b  [K]                     bias (optional)
 *   y  [N, K, HO, WO]          output, HO = (H + 2*pad_h - dilation_h*(KH-1) - 1) / stride_h + 1
 *                              (the same along W)
 *   y[n,k,i,j] = b[k] + sum_{c,u,v} w[k,c,u,v] * x[n, g*C/groups + c, i*stride_h - pad_h +
 *                u*dilation_h, j*stride_w - pad_w + v*dilation_w], g = k / (K/groups),
 *   with x zero outside the image.
 *
 * Shape rules (CLCNN_ERROR_INVALID_SHAPE when broken): every tensor is 4-D
 * (the bias 1-D); groups divides both C and K; w's second dimension times
 * groups is C; the output is not empty; and the padding is at most the
 * dilated kernel extent minus one: pad_h <= dilation_h * (KH - 1) (the same
 * along W). Wider padding (which PyTorch accepts) would give outputs that see
 * nothing but padding; the rule also keeps the padding of the transposed
 * convolution that backward data computes non-negative. A stride, dilation or
 * group count of 0, an unknown algorithm or grad mode are
 * CLCNN_ERROR_INVALID_ARGUMENT.
 *
 * The kernels index with 32 bits: a tensor of more than 2^31 - 1 elements,
 * or a padded input height or width past that, is CLCNN_ERROR_SIZE_OVERFLOW.
 *
 * Every call is asynchronous (see clcnn/ops.h), returns the exact status and
 * sets the context's last error with the shapes involved. Results are
 * deterministic: the same inputs give the same bits run after run on one
 * device (no atomics; every reduction has a fixed order). The output tensor
 * must not share memory with an input (CLCNN_ERROR_INVALID_ARGUMENT). */
#ifndef CLCNN_CONV2D_H
#define CLCNN_CONV2D_H

#include "clcnn/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Values of clcnn_conv2d_params.algorithm. AUTO takes what the auto-tuner
 * stored for this device, pass and shape (clcnn/tune.h), else picks per
 * device type from the library's built-in table (today: DIRECT on CPUs where
 * it applies, else GENERAL; TILED on GPUs; GENERAL elsewhere); the others force one
 * implementation (for tuning and tests) and give CLCNN_ERROR_UNSUPPORTED
 * where it does not accept the parameters. Results of different algorithms
 * agree to rounding. */
typedef enum clcnn_conv2d_algorithm {
    CLCNN_CONV2D_ALGO_AUTO = 0,
    /* Direct loops with bounds checks, several outputs per work-item on
     * CPUs: any parameters; the fallback (and strided convolutions on
     * CPUs). */
    CLCNN_CONV2D_ALGO_GENERAL = 1,
    /* Register-tiled direct convolution on a zero-padded copy of the input,
     * vector loads along rows, no local memory: the fast path for CPU
     * devices. Stride 1 only (any kernel size, padding, dilation, groups). */
    CLCNN_CONV2D_ALGO_DIRECT = 2,
    /* Implicit GEMM in work-group tiles staged through local memory: the
     * path for GPUs. Any parameters. */
    CLCNN_CONV2D_ALGO_TILED = 3
} clcnn_conv2d_algorithm;

typedef struct clcnn_conv2d_params {
    size_t stride_h, stride_w;     /* >= 1 */
    size_t pad_h, pad_w;           /* zero padding on each side */
    size_t dilation_h, dilation_w; /* >= 1 */
    size_t groups;                 /* >= 1; C for a depthwise convolution */
    int algorithm;                 /* a clcnn_conv2d_algorithm */
} clcnn_conv2d_params;

/* Stride 1, padding 0, dilation 1, groups 1, CLCNN_CONV2D_ALGO_AUTO. */
CLCNN_API clcnn_conv2d_params clcnn_conv2d_params_default(void);

/* The output shape [N, K, HO, WO] for input dims x_dims [N, C, H, W] and
 * weight dims w_dims [K, C/groups, KH, KW] into y_dims. Needs no context:
 * returns CLCNN_ERROR_INVALID_ARGUMENT (NULL, zero stride/dilation/groups),
 * CLCNN_ERROR_INVALID_SHAPE (the rules above) or CLCNN_ERROR_SIZE_OVERFLOW
 * without a message. */
CLCNN_API clcnn_status clcnn_conv2d_output_shape(const clcnn_conv2d_params *params,
                                                 const size_t x_dims[4], const size_t w_dims[4],
                                                 size_t y_dims[4]);

/* y = conv(x, w) + bias. bias may be NULL (no bias). y is overwritten. */
CLCNN_API clcnn_status clcnn_conv2d_forward(clcnn_context *context,
                                            const clcnn_conv2d_params *params,
                                            const clcnn_tensor *x, const clcnn_tensor *w,
                                            const clcnn_tensor *bias, clcnn_tensor *y);

/* Activations the forward's epilogue can apply. */
typedef enum clcnn_conv2d_activation {
    CLCNN_CONV2D_ACTIVATION_NONE = 0,
    /* max(v, 0), NaN kept: the same bits as clcnn_activation_forward's ReLU
     * on the unfused output. */
    CLCNN_CONV2D_ACTIVATION_RELU = 1
} clcnn_conv2d_activation;

/* A per-output-channel epilogue fused into the forward (e.g. eval-mode
 * batch norm as scale = gamma / sqrt(running_var + eps), shift = beta -
 * running_mean * scale, see clcnn_batchnorm_eval_affine, then a ReLU):
 *   v[n,k,i,j] = act((conv(x, w)[n,k,i,j] + bias[k]) * scale[k] + shift[k]),
 * and y = v, or with max_pool y = the 2x2 max pool of stride 2 of v (floor
 * mode: an odd last row or column is dropped; NaN wins, the same bits as
 * clcnn_pool2d_forward's max pool), y then [N, K, HO / 2, WO / 2] (HO and
 * WO at least 2). The struct only borrows the tensors. */
typedef struct clcnn_conv2d_epilogue {
    const clcnn_tensor *scale; /* [K], or NULL: 1 */
    const clcnn_tensor *shift; /* [K], or NULL: 0 */
    int activation;            /* a clcnn_conv2d_activation */
    int max_pool;              /* non-zero: the 2x2 max pool above */
} clcnn_conv2d_epilogue;

/* No scale, no shift, no activation, no pool: the plain forward. */
CLCNN_API clcnn_conv2d_epilogue clcnn_conv2d_epilogue_default(void);

/* clcnn_conv2d_forward followed by `epilogue` (NULL: the default), in the
 * convolution kernel's own stores on the DIRECT path and as one extra pass
 * on the others (over y in place, or from a pooled workspace). Errors as for
 * the forward (y's shape being the pooled one with max_pool), and:
 * an unknown activation, or y sharing memory with scale or shift:
 * CLCNN_ERROR_INVALID_ARGUMENT; scale or shift not [K]:
 * CLCNN_ERROR_INVALID_SHAPE; either of another context:
 * CLCNN_ERROR_CONTEXT_MISMATCH. */
CLCNN_API clcnn_status clcnn_conv2d_forward_fused(clcnn_context *context,
                                                  const clcnn_conv2d_params *params,
                                                  const clcnn_tensor *x, const clcnn_tensor *w,
                                                  const clcnn_tensor *bias,
                                                  const clcnn_conv2d_epilogue *epilogue,
                                                  clcnn_tensor *y);

/* dx = dL/dx from dy = dL/dy [N, K, HO, WO] and w; dx has x's shape. mode
 * CLCNN_GRAD_OVERWRITE sets dx, CLCNN_GRAD_ACCUMULATE adds onto it (for an
 * input that feeds several layers). */
CLCNN_API clcnn_status clcnn_conv2d_backward_data(clcnn_context *context,
                                                  const clcnn_conv2d_params *params,
                                                  const clcnn_tensor *dy, const clcnn_tensor *w,
                                                  clcnn_tensor *dx, clcnn_grad_mode mode);

/* dw = dL/dw [K, C/groups, KH, KW] and db = dL/db [K] (db may be NULL) from
 * x and dy; mode applies to both (ACCUMULATE adds, as PyTorch's .grad). */
CLCNN_API clcnn_status clcnn_conv2d_backward_weights(clcnn_context *context,
                                                     const clcnn_conv2d_params *params,
                                                     const clcnn_tensor *x, const clcnn_tensor *dy,
                                                     clcnn_tensor *dw, clcnn_tensor *db,
                                                     clcnn_grad_mode mode);

#ifdef __cplusplus
}
#endif

#endif
