/* Dense (fully connected, PyTorch's nn.Linear) layer: forward, gradient of
 * the input (backward data) and gradients of the weight and bias (backward
 * weights), all through the library's GEMM.
 *
 *   x  [N, in]  input; or any tensor [N, d1, ...] whose trailing dimensions
 *               flatten to in = d1 * d2 * ... (e.g. [N, C, H, W] straight
 *               from a convolution: no reshape needed)
 *   w  [out, in] weight
 *   b  [out]     bias (optional)
 *   y  [N, out]  output: y = x . w^T + b
 *
 * Every call is asynchronous (see clcnn/ops.h), returns the exact status and
 * sets the context's last error with the shapes involved:
 * CLCNN_ERROR_INVALID_ARGUMENT (a required tensor NULL, an unknown grad mode,
 * an output sharing memory with an input), CLCNN_ERROR_CONTEXT_MISMATCH,
 * CLCNN_ERROR_INVALID_SHAPE (shapes that do not fit the rules above).
 * Results are deterministic: the same bits run after run on one device. */
#ifndef CLCNN_DENSE_H
#define CLCNN_DENSE_H

#include "clcnn/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y = x . w^T + bias; bias may be NULL (no bias). y is overwritten. */
CLCNN_API clcnn_status clcnn_dense_forward(clcnn_context *context, const clcnn_tensor *x,
                                           const clcnn_tensor *w, const clcnn_tensor *bias,
                                           clcnn_tensor *y);

/* dx = dy . w from dy = dL/dy [N, out]; dx has the shape rule of x (first
 * dimension N, the rest flattening to in). mode CLCNN_GRAD_OVERWRITE sets
 * dx, CLCNN_GRAD_ACCUMULATE adds onto it. */
CLCNN_API clcnn_status clcnn_dense_backward_data(clcnn_context *context, const clcnn_tensor *dy,
                                                 const clcnn_tensor *w, clcnn_tensor *dx,
                                                 clcnn_grad_mode mode);

/* dw = dy^T . x [out, in] and db = sum over the batch of dy [out] (db may
 * be NULL) from x and dy; mode applies to both (ACCUMULATE adds, as
 * PyTorch's .grad). */
CLCNN_API clcnn_status clcnn_dense_backward_weights(clcnn_context *context, const clcnn_tensor *x,
                                                    const clcnn_tensor *dy, clcnn_tensor *dw,
                                                    clcnn_tensor *db, clcnn_grad_mode mode);

#ifdef __cplusplus
}
#endif

#endif
