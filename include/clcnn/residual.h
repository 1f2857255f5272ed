/* The join of a residual connection: y = a + b, optionally with the ReLU
 * that follows it in ResNet blocks fused in (y = max(a + b, 0)), forward and
 * backward. The fused ReLU is bit for bit clcnn_activation_forward's (and
 * its gradient clcnn_activation_backward's with saved = y): NaN passes
 * forward, and the gradient is 0 where y <= 0. The ops run over the
 * elements in memory order; every operand has the same shape.
 *
 * Aliasing. Any operand may be the same tensor as any other (or a reshaped
 * tensor of the same storage): each element is read before it is written,
 * by one work-item, so y may be a or b (in place) and da or db may be dy
 * or y. Tensors that share memory without being the same storage
 * (overlapping views) are refused. When da and db are the same tensor, the
 * op acts as if da were written first and db second: with db_mode
 * CLCNN_GRAD_ACCUMULATE the tensor ends with the gradient counted twice,
 * the gradient of y = a + a (da_mode OVERWRITE: twice the gradient;
 * ACCUMULATE: the old value plus twice the gradient); with db_mode
 * CLCNN_GRAD_OVERWRITE it ends with the gradient once.
 *
 * Both functions are asynchronous. Errors: a NULL tensor that is needed,
 * an unknown grad mode, or overlapping views: CLCNN_ERROR_INVALID_ARGUMENT;
 * shapes that differ: CLCNN_ERROR_INVALID_SHAPE; a tensor of another
 * context: CLCNN_ERROR_CONTEXT_MISMATCH. */
#ifndef CLCNN_RESIDUAL_H
#define CLCNN_RESIDUAL_H

#include "clcnn/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y = a + b, or y = act(a + b) with a fused activation (CLCNN_FUSED_RELU:
 * max(a + b, 0)); an unknown one is CLCNN_ERROR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_residual_forward(clcnn_context *context, const clcnn_tensor *a,
                                              const clcnn_tensor *b,
                                              clcnn_fused_activation activation, clcnn_tensor *y);

/* da and db from dy: both get dy, or with the forward's activation the
 * gradient through it (ReLU: dy where y > 0 and +0 elsewhere; a NaN y
 * passes dy, as in PyTorch). y is the forward output, read only with an
 * activation (may be NULL without). da or db may be NULL
 * when that gradient is not wanted, not both. da_mode and db_mode:
 * CLCNN_GRAD_OVERWRITE writes the gradient, CLCNN_GRAD_ACCUMULATE adds to
 * it (the mode of a NULL gradient is not checked). */
CLCNN_API clcnn_status clcnn_residual_backward(clcnn_context *context,
                                               clcnn_fused_activation activation,
                                               const clcnn_tensor *y, const clcnn_tensor *dy,
                                               clcnn_tensor *da, clcnn_grad_mode da_mode,
                                               clcnn_tensor *db, clcnn_grad_mode db_mode);

#ifdef __cplusplus
}
#endif

#endif
