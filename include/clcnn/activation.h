/* Element-wise activations, forward and backward, with PyTorch's semantics:
 * ReLU, leaky ReLU, sigmoid and tanh. Tensors of any shape; the op runs over
 * the elements in memory order. */
#ifndef CLCNN_ACTIVATION_H
#define CLCNN_ACTIVATION_H

#include "clcnn/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum clcnn_activation {
    CLCNN_ACTIVATION_RELU = 0,       /* y = max(x, 0) (NaN stays NaN) */
    CLCNN_ACTIVATION_LEAKY_RELU = 1, /* y = x > 0 ? x : negative_slope * x */
    CLCNN_ACTIVATION_SIGMOID = 2,    /* y = 1 / (1 + exp(-x)) */
    CLCNN_ACTIVATION_TANH = 3        /* y = tanh(x) */
} clcnn_activation;

typedef struct clcnn_activation_params {
    clcnn_activation kind;
    float negative_slope; /* leaky ReLU only */
} clcnn_activation_params;

/* ReLU, negative_slope 0.01 (PyTorch's LeakyReLU default). */
CLCNN_API clcnn_activation_params clcnn_activation_params_default(void);

/* y = f(x). x and y hold the same number of elements (their shapes may
 * differ, e.g. a flattened view); y may be x itself (in place). Errors:
 * NULL pointers, an unknown kind: CLCNN_ERROR_INVALID_ARGUMENT; element
 * counts that differ: CLCNN_ERROR_INVALID_SHAPE; a tensor of another
 * context: CLCNN_ERROR_CONTEXT_MISMATCH. Asynchronous. */
CLCNN_API clcnn_status clcnn_activation_forward(clcnn_context *context,
                                                const clcnn_activation_params *params,
                                                const clcnn_tensor *x, clcnn_tensor *y);

/* dx = dy * f'(.), computed from `saved`, which depends on the kind:
 *   ReLU:       x, or y (y > 0 exactly where x > 0); dx = x <= 0 ? 0 : dy, so
 *               the gradient at x == 0 is 0 and a NaN x passes dy, as in
 *               PyTorch;
 *   leaky ReLU: x, or y when negative_slope >= 0; dx = x > 0 ? dy : slope dy;
 *   sigmoid:    y; dx = dy * y * (1 - y);
 *   tanh:       y; dx = dy * (1 - y * y).
 * So an in-place forward (y written over x) still allows backward. saved,
 * dy and dx hold the same number of elements; dx may be dy or saved itself.
 * grad_mode: CLCNN_GRAD_OVERWRITE writes dx, CLCNN_GRAD_ACCUMULATE adds to
 * it. Errors as for forward, and an unknown grad_mode:
 * CLCNN_ERROR_INVALID_ARGUMENT. Asynchronous. */
CLCNN_API clcnn_status clcnn_activation_backward(clcnn_context *context,
                                                 const clcnn_activation_params *params,
                                                 const clcnn_tensor *saved, const clcnn_tensor *dy,
                                                 clcnn_tensor *dx, clcnn_grad_mode grad_mode);

#ifdef __cplusplus
}
#endif

#endif
