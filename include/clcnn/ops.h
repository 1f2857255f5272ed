/* Conventions shared by every op (forward and backward primitives on
 * tensors). Each op has its own header under include/clcnn/ that includes
 * this one; clcnn.h includes them all.
 *
 * - Ops are asynchronous: they enqueue work on the context's in-order queue
 *   and return; errors that only the device can see surface at the next
 *   blocking call (a read, clcnn_context_finish).
 * - Every tensor argument must belong to `context`; output tensors are
 *   created by the caller with the shape the op documents (a `*_shape`
 *   helper gives it where it is not obvious). Shapes are checked before
 *   anything is enqueued: a mismatch is CLCNN_ERROR_INVALID_SHAPE with both
 *   shapes in the message.
 * - Gradient outputs either overwrite or accumulate, as the caller says. */
#ifndef CLCNN_OPS_H
#define CLCNN_OPS_H

#include "clcnn/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum clcnn_grad_mode {
    CLCNN_GRAD_OVERWRITE = 0, /* grad = computed */
    CLCNN_GRAD_ACCUMULATE = 1 /* grad += computed (PyTorch's .grad behaviour) */
} clcnn_grad_mode;

/* An activation an op applies to its own output (batch norm, the residual
 * join, the convolution's epilogue), named the same way wherever it can be
 * fused: forward the op writes act(v), backward it takes the gradient
 * through act from that output. Bit for bit the separate
 * clcnn_activation_forward / _backward (ReLU: max(v, 0), NaN kept; its
 * gradient +0 where the output is <= 0). */
typedef enum clcnn_fused_activation {
    CLCNN_FUSED_NONE = 0,
    CLCNN_FUSED_RELU = 1
} clcnn_fused_activation;

#ifdef __cplusplus
}
#endif

#endif
