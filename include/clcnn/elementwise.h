/* Element-wise arithmetic on whole tensors: sums for residual connections
 * and gradient accumulation, scaling. The ops run over the elements in
 * memory order, so operands need the same number of elements, not the same
 * shape (a flattened view works). Every operand may be the same tensor as
 * any other (in place). All are asynchronous. Errors: a NULL context or
 * tensor: CLCNN_ERROR_INVALID_ARGUMENT; element counts that differ:
 * CLCNN_ERROR_INVALID_SHAPE; a tensor of another context:
 * CLCNN_ERROR_CONTEXT_MISMATCH. */
#ifndef CLCNN_ELEMENTWISE_H
#define CLCNN_ELEMENTWISE_H

#include "clcnn/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out = a + b. out may be a or b. */
CLCNN_API clcnn_status clcnn_add(clcnn_context *context, const clcnn_tensor *a,
                                 const clcnn_tensor *b, clcnn_tensor *out);

/* out = alpha * x. out may be x. */
CLCNN_API clcnn_status clcnn_scale(clcnn_context *context, const clcnn_tensor *x, float alpha,
                                   clcnn_tensor *out);

/* y = alpha * x + beta * y. As in BLAS, beta == 0 does not read y (so NaN
 * or Inf left in y does not spread): y = alpha * x. x may be y. */
CLCNN_API clcnn_status clcnn_axpby(clcnn_context *context, float alpha, const clcnn_tensor *x,
                                   float beta, clcnn_tensor *y);

#ifdef __cplusplus
}
#endif

#endif
