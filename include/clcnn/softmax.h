/* Softmax and log-softmax along the last dimension, and the softmax
 * cross-entropy loss against integer class labels (PyTorch's
 * nn.CrossEntropyLoss with reduction='mean', no class weights, no label
 * smoothing):
 *   loss = mean_n (logsumexp(logits[n]) - logits[n][label[n]])
 *   dloss/dlogits[n][c] = (softmax(logits[n])[c] - (c == label[n])) / N
 * Every exponential is taken after subtracting the row's maximum, so large
 * logits (e.g. +-100) stay finite. Results are deterministic: the batch
 * mean is summed in a fixed order (no atomics).
 *
 * Every call is asynchronous (see clcnn/ops.h) except clcnn_labels_write,
 * returns the exact status and sets the context's last error. */
#ifndef CLCNN_SOFTMAX_H
#define CLCNN_SOFTMAX_H

#include <stdint.h>

#include "clcnn/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ labels */

/* `count` class labels (int32) in device memory, each in [0, num_classes).
 * Labels enter only through clcnn_labels_write or clcnn_labels_upload_async, which check their
 * range on the host, so the device never sees an invalid one (and the kernels still guard: a label
 * outside the range would give a NaN loss, never an access out of bounds). Owned by the caller;
 * freed by clcnn_labels_destroy (NULL is a no-op), before the context. Used by one thread at a
 * time, like its context. */
typedef struct clcnn_labels clcnn_labels;

/* Labels for a batch of `count` samples over `num_classes` classes, all 0 at
 * first. Errors: CLCNN_ERROR_INVALID_ARGUMENT (NULL, count or num_classes 0,
 * num_classes above INT32_MAX), allocation failures. */
CLCNN_API clcnn_status clcnn_labels_create(clcnn_context *context, size_t count, size_t num_classes,
                                           clcnn_labels **out);
CLCNN_API void clcnn_labels_destroy(clcnn_labels *labels);
CLCNN_API size_t clcnn_labels_count(const clcnn_labels *labels);
CLCNN_API size_t clcnn_labels_num_classes(const clcnn_labels *labels);

/* Copies `count` labels (count must equal clcnn_labels_count) from host
 * memory to the device. Blocking: `host` may be reused on return. Every
 * label is checked first: one outside [0, num_classes) gives
 * CLCNN_ERROR_OUT_OF_RANGE (naming its index and value) and nothing is
 * written. Errors: CLCNN_ERROR_INVALID_ARGUMENT (NULL, count mismatch),
 * CLCNN_ERROR_OUT_OF_RANGE, OpenCL failures. */
CLCNN_API clcnn_status clcnn_labels_write(clcnn_labels *labels, const int32_t *host, size_t count);

/* The asynchronous form of clcnn_labels_write, for double buffering: the
 * labels are checked on the host at once, then copied on the upload queue as
 * clcnn_tensor_upload_async describes (after `after`, completing *out; the
 * compute queue waits only after clcnn_context_wait_event). `host` must stay
 * unchanged until *out has completed. */
CLCNN_API clcnn_status clcnn_labels_upload_async(clcnn_labels *labels, const int32_t *host,
                                                 size_t count, const clcnn_event *after,
                                                 clcnn_event **out);

/* ------------------------------------------------------------------- softmax */

/* y = softmax(x) along the last dimension: each row of x's last dimension
 * becomes exp(x - max) / sum exp(x - max). x has 1 to 4 dimensions; y has
 * x's shape and may be x itself (in place). Errors:
 * CLCNN_ERROR_INVALID_ARGUMENT (NULL), CLCNN_ERROR_CONTEXT_MISMATCH,
 * CLCNN_ERROR_INVALID_SHAPE (y's shape differs from x's). */
CLCNN_API clcnn_status clcnn_softmax_forward(clcnn_context *context, const clcnn_tensor *x,
                                             clcnn_tensor *y);

/* y = log_softmax(x) = x - max - log(sum exp(x - max)) along the last
 * dimension; as clcnn_softmax_forward otherwise. */
CLCNN_API clcnn_status clcnn_log_softmax_forward(clcnn_context *context, const clcnn_tensor *x,
                                                 clcnn_tensor *y);

/* ------------------------------------------------------------ cross-entropy */

/* loss = the mean over the batch of the cross-entropy of softmax(logits)
 * against labels. logits is [N, C]; labels holds N labels over C classes;
 * loss is a 1-element tensor (e.g. [1]), overwritten. Errors:
 * CLCNN_ERROR_INVALID_ARGUMENT (NULL, loss sharing memory with logits),
 * CLCNN_ERROR_CONTEXT_MISMATCH (a tensor or the labels from another
 * context), CLCNN_ERROR_INVALID_SHAPE (logits not 2-D, labels' count or
 * class count not N and C, loss not one element). */
CLCNN_API clcnn_status clcnn_softmax_cross_entropy_forward(clcnn_context *context,
                                                           const clcnn_tensor *logits,
                                                           const clcnn_labels *labels,
                                                           clcnn_tensor *loss);

/* dlogits = d loss / d logits = (softmax(logits) - onehot(labels)) / N, the
 * gradient of the mean loss (an upstream gradient of 1). dlogits has
 * logits' shape; mode CLCNN_GRAD_OVERWRITE sets it, CLCNN_GRAD_ACCUMULATE
 * adds onto it. Errors as for the forward pass, plus
 * CLCNN_ERROR_INVALID_ARGUMENT for an unknown mode or dlogits sharing memory
 * with logits. */
CLCNN_API clcnn_status clcnn_softmax_cross_entropy_backward(clcnn_context *context,
                                                            const clcnn_tensor *logits,
                                                            const clcnn_labels *labels,
                                                            clcnn_tensor *dlogits,
                                                            clcnn_grad_mode mode);

#ifdef __cplusplus
}
#endif

#endif
