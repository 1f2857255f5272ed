/* Plain double-precision reference for the join of a residual connection
 * (y = a + b, optionally followed by a ReLU), forward and backward, used by
 * tests/test_residual.c. Written from PyTorch's definitions (torch.add,
 * torch.relu and threshold_backward), independent of the library. */
#ifndef CLCNN_TEST_RESIDUAL_REF_H
#define CLCNN_TEST_RESIDUAL_REF_H

#include <stddef.h>

/* y[i] = a[i] + b[i], or with relu: 0 where a[i] + b[i] < 0 (NaN stays). */
void residual_ref_forward(size_t n, const double *a, const double *b, int relu, double *y);

/* The gradient both inputs receive: dy[i], or with relu 0 where y[i] <= 0
 * (a NaN y passes dy). */
void residual_ref_backward(size_t n, const double *y, const double *dy, int relu, double *grad);

#endif
