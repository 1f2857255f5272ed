/* Plain double-precision reference for batch normalisation (and the small
 * convolution the fold test needs).
 * Layout: x is [batch, channels, inner] row-major; inner = H * W, L or 1.
 * gamma and beta may be NULL (1 and 0). Written plainly: straight loops,
 * two-pass statistics in double. */
#ifndef CLCNN_TEST_BATCHNORM_REF_H
#define CLCNN_TEST_BATCHNORM_REF_H

#include <stddef.h>

/* Batch mean and biased variance of each channel. */
void bn_ref_batch_stats(const double *x, size_t batch, size_t channels, size_t inner, double *mean,
                        double *var_biased);

/* Training forward: y = (x - mean) / sqrt(var_biased + eps) * gamma + beta;
 * mean and var_biased (may be NULL) receive the batch statistics. */
void bn_ref_forward_train(const double *x, size_t batch, size_t channels, size_t inner,
                          const double *gamma, const double *beta, double eps, double *y,
                          double *mean, double *var_biased);

/* running = (1 - factor) * running + factor * batch statistic, with the
 * unbiased variance var_biased * n / (n - 1), n = batch * inner. */
void bn_ref_update_running(double *running_mean, double *running_var, const double *mean,
                           const double *var_biased, size_t channels, size_t n, double factor);

/* Eval forward with running statistics. */
void bn_ref_forward_eval(const double *x, size_t batch, size_t channels, size_t inner,
                         const double *gamma, const double *beta, const double *running_mean,
                         const double *running_var, double eps, double *y);

/* Training-mode backward of bn_ref_forward_train (batch statistics):
 * dx = gamma * invstd / n * (n * dy - sum(dy) - xhat * sum(dy * xhat)),
 * dgamma = sum(dy * xhat), dbeta = sum(dy). Outputs may be NULL. */
void bn_ref_backward(const double *x, const double *dy, size_t batch, size_t channels, size_t inner,
                     const double *gamma, double eps, double *dx, double *dgamma, double *dbeta);

/* Cross-correlation, stride 1, zero padding `pad`: x [batch, in, h, w],
 * weight [out, in, kh, kw], bias [out] or NULL, y [batch, out, oh, ow] with
 * oh = h + 2 pad - kh + 1, ow = w + 2 pad - kw + 1. */
void bn_ref_conv2d(const double *x, size_t batch, size_t in, size_t h, size_t w,
                   const double *weight, size_t out, size_t kh, size_t kw, const double *bias,
                   size_t pad, double *y);

#endif
