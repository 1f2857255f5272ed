/* Plain double-precision references of softmax, log-softmax and softmax
 * cross-entropy (mean over the batch) for the tests. */
#ifndef CLCNN_TEST_SOFTMAX_REF_H
#define CLCNN_TEST_SOFTMAX_REF_H

#include <stddef.h>
#include <stdint.h>

/* y[r][c] = exp(x[r][c] - max_r) / sum_c' exp(x[r][c'] - max_r). */
void softmax_ref(size_t rows, size_t cols, const double *x, double *y);

/* y[r][c] = x[r][c] - max_r - log(sum_c' exp(x[r][c'] - max_r)). */
void log_softmax_ref(size_t rows, size_t cols, const double *x, double *y);

/* The mean over rows of logsumexp(logits[r]) - logits[r][labels[r]]. */
double cross_entropy_ref(size_t rows, size_t cols, const double *logits, const int32_t *labels);

/* The gradient of cross_entropy_ref with respect to logits:
 * (softmax - onehot) / rows. */
void cross_entropy_ref_backward(size_t rows, size_t cols, const double *logits,
                                const int32_t *labels, double *dlogits);

#endif
