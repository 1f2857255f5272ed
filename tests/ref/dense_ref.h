/* Plain double-precision reference of the dense layer for the tests. */
#ifndef CLCNN_TEST_DENSE_REF_H
#define CLCNN_TEST_DENSE_REF_H

#include <stddef.h>

/* y[n][o] = sum_i x[n][i] * w[o][i] + b[o]; x [batch, in], w [out, in],
 * b [out] or NULL, y [batch, out]. */
void dense_ref_forward(size_t batch, size_t in, size_t out, const double *x, const double *w,
                       const double *b, double *y);

/* Gradients of L = sum y * dy: dx [batch, in] = dy . w, dw [out, in] =
 * dy^T . x, db [out] = column sums of dy. Any output may be NULL. */
void dense_ref_backward(size_t batch, size_t in, size_t out, const double *x, const double *w,
                        const double *dy, double *dx, double *dw, double *db);

#endif
