/* Plain double-precision batch-norm reference; see batchnorm_ref.h. */
#include "ref/batchnorm_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t index_of(size_t b, size_t c, size_t i, size_t channels, size_t inner) {
    return (b * channels + c) * inner + i;
}

void bn_ref_batch_stats(const double *x, size_t batch, size_t channels, size_t inner, double *mean,
                        double *var_biased) {
    double n = (double)(batch * inner);
    for (size_t c = 0; c < channels; c++) {
        double sum = 0.0;
        for (size_t b = 0; b < batch; b++)
            for (size_t i = 0; i < inner; i++)
                sum += x[index_of(b, c, i, channels, inner)];
        double m = sum / n;
        double squares = 0.0;
        for (size_t b = 0; b < batch; b++)
            for (size_t i = 0; i < inner; i++) {
                double d = x[index_of(b, c, i, channels, inner)] - m;
                squares += d * d;
            }
        mean[c] = m;
        var_biased[c] = squares / n;
    }
}

void bn_ref_forward_train(const double *x, size_t batch, size_t channels, size_t inner,
                          const double *gamma, const double *beta, double eps, double *y,
                          double *mean, double *var_biased) {
    double *m = malloc(channels * sizeof *m);
    double *v = malloc(channels * sizeof *v);
    if (m == NULL || v == NULL) {
        free(m);
        free(v);
        return;
    }
    bn_ref_batch_stats(x, batch, channels, inner, m, v);
    /* The same formula as eval, with the batch statistics. */
    bn_ref_forward_eval(x, batch, channels, inner, gamma, beta, m, v, eps, y);
    if (mean != NULL)
        memcpy(mean, m, channels * sizeof *m);
    if (var_biased != NULL)
        memcpy(var_biased, v, channels * sizeof *v);
    free(m);
    free(v);
}

void bn_ref_update_running(double *running_mean, double *running_var, const double *mean,
                           const double *var_biased, size_t channels, size_t n, double factor) {
    for (size_t c = 0; c < channels; c++) {
        double unbiased = var_biased[c] * (double)n / (double)(n - 1);
        running_mean[c] = (1.0 - factor) * running_mean[c] + factor * mean[c];
        running_var[c] = (1.0 - factor) * running_var[c] + factor * unbiased;
    }
}

void bn_ref_forward_eval(const double *x, size_t batch, size_t channels, size_t inner,
                         const double *gamma, const double *beta, const double *running_mean,
                         const double *running_var, double eps, double *y) {
    for (size_t b = 0; b < batch; b++)
        for (size_t c = 0; c < channels; c++) {
            double g = gamma != NULL ? gamma[c] : 1.0;
            double shift = beta != NULL ? beta[c] : 0.0;
            double invstd = 1.0 / sqrt(running_var[c] + eps);
            for (size_t i = 0; i < inner; i++) {
                size_t at = index_of(b, c, i, channels, inner);
                y[at] = (x[at] - running_mean[c]) * invstd * g + shift;
            }
        }
}

void bn_ref_backward(const double *x, const double *dy, size_t batch, size_t channels, size_t inner,
                     const double *gamma, double eps, double *dx, double *dgamma, double *dbeta) {
    double n = (double)(batch * inner);
    double *mean = malloc(channels * sizeof *mean);
    double *var = malloc(channels * sizeof *var);
    if (mean == NULL || var == NULL) {
        free(mean);
        free(var);
        return;
    }
    bn_ref_batch_stats(x, batch, channels, inner, mean, var);
    for (size_t c = 0; c < channels; c++) {
        double invstd = 1.0 / sqrt(var[c] + eps);
        double g = gamma != NULL ? gamma[c] : 1.0;
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (size_t b = 0; b < batch; b++)
            for (size_t i = 0; i < inner; i++) {
                size_t at = index_of(b, c, i, channels, inner);
                double xhat = (x[at] - mean[c]) * invstd;
                sum_dy += dy[at];
                sum_dy_xhat += dy[at] * xhat;
            }
        if (dgamma != NULL)
            dgamma[c] = sum_dy_xhat;
        if (dbeta != NULL)
            dbeta[c] = sum_dy;
        if (dx == NULL)
            continue;
        for (size_t b = 0; b < batch; b++)
            for (size_t i = 0; i < inner; i++) {
                size_t at = index_of(b, c, i, channels, inner);
                double xhat = (x[at] - mean[c]) * invstd;
                dx[at] = g * invstd / n * (n * dy[at] - sum_dy - xhat * sum_dy_xhat);
            }
    }
    free(mean);
    free(var);
}

void bn_ref_conv2d(const double *x, size_t batch, size_t in, size_t h, size_t w,
                   const double *weight, size_t out, size_t kh, size_t kw, const double *bias,
                   size_t pad, double *y) {
    size_t oh = h + 2 * pad - kh + 1, ow = w + 2 * pad - kw + 1;
    for (size_t b = 0; b < batch; b++)
        for (size_t k = 0; k < out; k++)
            for (size_t r = 0; r < oh; r++)
                for (size_t s = 0; s < ow; s++) {
                    double sum = bias != NULL ? bias[k] : 0.0;
                    for (size_t c = 0; c < in; c++)
                        for (size_t i = 0; i < kh; i++)
                            for (size_t j = 0; j < kw; j++) {
                                long row = (long)(r + i) - (long)pad;
                                long col = (long)(s + j) - (long)pad;
                                if (row < 0 || col < 0 || row >= (long)h || col >= (long)w)
                                    continue;
                                sum += x[((b * in + c) * h + (size_t)row) * w + (size_t)col] *
                                       weight[((k * in + c) * kh + i) * kw + j];
                            }
                    y[((b * out + k) * oh + r) * ow + s] = sum;
                }
}
