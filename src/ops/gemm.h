/* Internal single-precision GEMM shared by the ops (dense, convolution):
 * row-major C = alpha * op(A) * op(B) + beta * C on raw device buffers.
 * Not installed. */
#ifndef CLCNN_OPS_GEMM_H
#define CLCNN_OPS_GEMM_H

#include "runtime/internal.h"

/* Which implementation runs a GEMM. AUTO picks from the per-device table in
 * gemm.c (CLBlast on GPUs, the register-tiled kernel of cl/gemm.cl on CPUs
 * and by default); the others force one (tests, benchmarks). */
typedef enum clcnn__gemm_backend {
    CLCNN__GEMM_AUTO = 0,
    CLCNN__GEMM_TILED = 1,
    CLCNN__GEMM_CLBLAST = 2
} clcnn__gemm_backend;

/* The backend AUTO resolves to on this context's device. */
clcnn__gemm_backend clcnn__gemm_backend_for(const clcnn_context *ctx);

/* C = alpha * op(A) * op(B) + beta * C, row-major, where op(X) is X or its
 * transpose (trans_x non-zero); op(A) is m x k, op(B) k x n, C m x n.
 * Offsets and leading dimensions are in floats: element (i, j) of the
 * stored A is a[a_offset + i * lda + j] (lda >= the stored row length;
 * likewise B and C). As in BLAS, beta == 0 never reads C (it may hold NaN),
 * alpha == 0 or k == 0 never reads A and B, and m == 0 or n == 0 does
 * nothing. C must not overlap A or B. Asynchronous: enqueued on the
 * context's queue; workspaces come from the buffer pool. The result is the
 * same bit for bit from run to run on one device and backend.
 * Errors: CLCNN_ERROR_INVALID_ARGUMENT (NULL buffer, leading dimension too
 * small), CLCNN_ERROR_OUT_OF_RANGE (a matrix reaches past its buffer),
 * CLCNN_ERROR_SIZE_OVERFLOW (a size past 2^32 - 1 or overflowing size_t),
 * CLCNN_ERROR_OPENCL and allocation failures. */
clcnn_status clcnn__gemm(clcnn_context *ctx, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                         float alpha, cl_mem a, size_t a_offset, size_t lda, cl_mem b,
                         size_t b_offset, size_t ldb, float beta, cl_mem c, size_t c_offset,
                         size_t ldc);

/* clcnn__gemm on a chosen backend. */
clcnn_status clcnn__gemm_with(clcnn_context *ctx, clcnn__gemm_backend backend, int trans_a,
                              int trans_b, size_t m, size_t n, size_t k, float alpha, cl_mem a,
                              size_t a_offset, size_t lda, cl_mem b, size_t b_offset, size_t ldb,
                              float beta, cl_mem c, size_t c_offset, size_t ldc);

#endif
