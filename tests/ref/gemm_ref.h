/* Plain double-precision reference GEMM for the tests. */
#ifndef CLCNN_TEST_GEMM_REF_H
#define CLCNN_TEST_GEMM_REF_H

#include <stddef.h>

/* out[i*n + j] = alpha * sum_p op(A)[i][p] * op(B)[p][j] + beta * C[i][j]
 * (row-major; element (r, s) of the stored A is a[r * lda + s]; likewise B
 * and C). beta == 0 ignores c and alpha == 0 ignores a and b, as in BLAS.
 * magnitude (may be NULL) receives |alpha| * sum |op(A) op(B)| + |beta C|
 * per element, the scale of the rounding error a float32 GEMM may make. */
void gemm_ref(int trans_a, int trans_b, size_t m, size_t n, size_t k, double alpha, const float *a,
              size_t lda, const float *b, size_t ldb, double beta, const float *c, size_t ldc,
              double *out, double *magnitude);

#endif
