/* Plain double-precision reference GEMM: three loops, no blocking. */
#include "ref/gemm_ref.h"

#include <math.h>

void gemm_ref(int trans_a, int trans_b, size_t m, size_t n, size_t k, double alpha, const float *a,
              size_t lda, const float *b, size_t ldb, double beta, const float *c, size_t ldc,
              double *out, double *magnitude) {
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double sum = 0.0, sum_abs = 0.0;
            if (alpha != 0.0) {
                for (size_t p = 0; p < k; p++) {
                    double a_ip = trans_a ? a[p * lda + i] : a[i * lda + p];
                    double b_pj = trans_b ? b[j * ldb + p] : b[p * ldb + j];
                    sum += a_ip * b_pj;
                    sum_abs += fabs(a_ip * b_pj);
                }
            }
            double value = alpha * sum, scale = fabs(alpha) * sum_abs;
            if (beta != 0.0) {
                value += beta * c[i * ldc + j];
                scale += fabs(beta * c[i * ldc + j]);
            }
            out[i * n + j] = value;
            if (magnitude != NULL)
                magnitude[i * n + j] = scale;
        }
    }
}
