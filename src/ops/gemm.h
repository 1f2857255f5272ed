/* Internal single-precision GEMM shared by the ops (dense, convolution):
 * row-major C = alpha * op(A) * op(B) + beta * C on raw device buffers.
 * Not installed. */
#ifndef CLCNN_OPS_GEMM_H
#define CLCNN_OPS_GEMM_H

#include "clcnn/tune.h"
#include "runtime/internal.h"

/* Which implementation runs a GEMM (clcnn__gemm_backend, runtime/choices.h):
 * AUTO picks the tuning table's choice for the shape's bucket, else the
 * device table's (CLBlast on GPUs, the register-tiled kernel of cl/gemm.cl
 * on CPUs and by default); the others force one (tests, benchmarks); TILED
 * then still takes tuned tiles. */

/* The backend the built-in table picks on this context's device (AUTO
 * follows a tuned entry instead where one applies; see below). */
clcnn__gemm_backend clcnn__gemm_backend_for(const clcnn_context *ctx);

/* ------------------------------------------------------------------ tuning */

/* The most candidates clcnn__gemm_candidates gives. */
#define CLCNN__GEMM_MAX_CANDIDATES 8

/* The tuning key of an m x n x k product into key: "gemm:<M>x<N>x<K>" with
 * each size rounded up to a power of two, so one entry serves a bucket of
 * shapes (transposes and leading dimensions are not part of it). 0 when it
 * does not fit in size. */
int clcnn__gemm_tuning_key(size_t m, size_t n, size_t k, char *key, size_t size);

/* The choices the tuner tries on ctx's device into out (room for
 * CLCNN__GEMM_MAX_CANDIDATES): "clblast" where CLBlast is the built-in
 * backend, and the tiled kernel's "tiled nr=<16|32> wg=<auto|CxR>". A
 * tuned entry naming anything else is ignored. Returns how many. */
size_t clcnn__gemm_candidates(const clcnn_context *ctx, clcnn__tuned_choice *out);

/* What an AUTO GEMM of this shape runs on ctx now (tuning included), as a
 * tuned choice (for tests and tools). */
void clcnn__gemm_choice(clcnn_context *ctx, size_t m, size_t n, size_t k, clcnn__tuned_choice *out);

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

/* clcnn__gemm with exactly this configuration (the tuner's candidates). */
clcnn_status clcnn__gemm_configured(clcnn_context *ctx, const clcnn__gemm_choices *config,
                                    int trans_a, int trans_b, size_t m, size_t n, size_t k,
                                    float alpha, cl_mem a, size_t a_offset, size_t lda, cl_mem b,
                                    size_t b_offset, size_t ldb, float beta, cl_mem c,
                                    size_t c_offset, size_t ldc);

/* clcnn__gemm on a chosen backend. */
clcnn_status clcnn__gemm_with(clcnn_context *ctx, clcnn__gemm_backend backend, int trans_a,
                              int trans_b, size_t m, size_t n, size_t k, float alpha, cl_mem a,
                              size_t a_offset, size_t lda, cl_mem b, size_t b_offset, size_t ldb,
                              float beta, cl_mem c, size_t c_offset, size_t ldc);

#endif
