/* Concatenation along dimension 1, forward and backward, with PyTorch's
 * semantics (torch.cat(inputs, dim=1)): the channels of NCHW feature maps
 * (DenseNet blocks, Inception branches) or the features of [N, C] rows.
 *
 * Shapes. Every input has the rank of the first (2 to CLCNN_MAX_DIMS) and
 * its dimensions except dimension 1; y has those dimensions and, as
 * dimension 1, the sum of the inputs' (in input order).
 *
 * Work. One launch moves up to 8 inputs (more take one launch per 8): the
 * inputs' elements are copied as vectors, element by element only where a
 * vector would straddle two inputs. Every element is written by exactly
 * one work-item: results are exact copies (backward: sums of two floats
 * when accumulating) and deterministic.
 *
 * Both functions are asynchronous. Errors: a NULL context, array or tensor,
 * fewer than 2 inputs, or outputs that share memory with another operand:
 * CLCNN_ERROR_INVALID_ARGUMENT; shapes that do not fit together:
 * CLCNN_ERROR_INVALID_SHAPE; a tensor of another context:
 * CLCNN_ERROR_CONTEXT_MISMATCH. */
#ifndef CLCNN_CONCAT_H
#define CLCNN_CONCAT_H

#include "clcnn/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y = cat(inputs[0], ..., inputs[count - 1]) along dimension 1. The inputs
 * may be the same tensor more than once (cat(x, x)); y must share memory
 * with none of them. */
CLCNN_API clcnn_status clcnn_concat_forward(clcnn_context *context, size_t count,
                                            const clcnn_tensor *const *inputs, clcnn_tensor *y);

/* Splits dy (y's shape) into grads[0..count-1] (the inputs' shapes), each
 * the part of dy its input gave: CLCNN_GRAD_OVERWRITE writes them,
 * CLCNN_GRAD_ACCUMULATE adds to them. The gradients must share memory with
 * neither dy nor each other (for cat(x, x), give two tensors and add
 * them). An unknown grad_mode is CLCNN_ERROR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_concat_backward(clcnn_context *context, const clcnn_tensor *dy,
                                             size_t count, clcnn_tensor *const *grads,
                                             clcnn_grad_mode grad_mode);

#ifdef __cplusplus
}
#endif

#endif
