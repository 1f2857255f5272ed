/* General matrix multiply on 2-D tensors: C = alpha * op(A) * op(B) +
 * beta * C, the building block behind dense layers and convolutions. */
#ifndef CLCNN_GEMM_H
#define CLCNN_GEMM_H

#include "clcnn/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* C = alpha * op(A) * op(B) + beta * C on row-major 2-D tensors, where
 * op(X) is X, or X transposed when trans_x is non-zero: a is [m, k] ([k, m]
 * when trans_a), b is [k, n] ([n, k] when trans_b) and c is [m, n]. As in
 * BLAS, beta == 0 ignores c's contents (NaN included) and alpha == 0 does
 * not read a and b. c must not share memory with a or b. Asynchronous; the
 * result is identical from run to run on the same device. The backend is
 * chosen per device (CLBlast on GPUs, the library's own register-tiled
 * kernel on CPU devices).
 * Errors: CLCNN_ERROR_INVALID_ARGUMENT (NULL, or c sharing memory with a or
 * b), CLCNN_ERROR_CONTEXT_MISMATCH,
 * CLCNN_ERROR_INVALID_SHAPE (not 2-D, or inner/outer sizes disagree),
 * CLCNN_ERROR_SIZE_OVERFLOW (a dimension of 2^32 or more). */
CLCNN_API clcnn_status clcnn_gemm(clcnn_context *context, int trans_a, int trans_b, float alpha,
                                  const clcnn_tensor *a, const clcnn_tensor *b, float beta,
                                  clcnn_tensor *c);

#ifdef __cplusplus
}
#endif

#endif
