/* Plain double-precision reference for adaptive average pooling with
 * PyTorch's rules (torch.nn.AdaptiveAvgPool2d), used by
 * tests/test_adaptive_pool.c. Written from the definition of the windows;
 * backward scatters from each output window, where the kernels gather. */
#ifndef CLCNN_TEST_ADAPTIVE_POOL_REF_H
#define CLCNN_TEST_ADAPTIVE_POOL_REF_H

#include <stddef.h>

/* The window of output i along an axis of `in` inputs and `out` outputs:
 * [floor(i * in / out), ceil((i + 1) * in / out)). */
size_t adaptive_ref_start(size_t i, size_t in, size_t out);
size_t adaptive_ref_end(size_t i, size_t in, size_t out);

/* y [planes, out_h, out_w] from x [planes, height, width]: window means. */
void adaptive_ref_forward(size_t planes, size_t height, size_t width, size_t out_h, size_t out_w,
                          const double *x, double *y);

/* dx (overwritten, x's shape) from dy (y's shape): each output's gradient
 * divided by its window's area, added to every element of the window. */
void adaptive_ref_backward(size_t planes, size_t height, size_t width, size_t out_h, size_t out_w,
                           const double *dy, double *dx);

#endif
