/* Plain double-precision reference of conv2d (PyTorch's Conv2d semantics) for
 * the tests: forward, backward data, backward weights and the bias gradient,
 * written as straightforward loops. */
#ifndef CLCNN_TEST_CONV2D_REF_H
#define CLCNN_TEST_CONV2D_REF_H

#include <stddef.h>

/* One convolution: x [n, c, h, w], w [k, c/groups, kh, kw], y [n, k, ho, wo]. */
typedef struct conv2d_ref_shape {
    size_t n, c, h, w, k, kh, kw;
    size_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups;
    size_t ho, wo; /* filled by conv2d_ref_complete */
} conv2d_ref_shape;

/* Computes ho and wo; returns 0 when the output would be empty. */
int conv2d_ref_complete(conv2d_ref_shape *s);

size_t conv2d_ref_x_count(const conv2d_ref_shape *s);
size_t conv2d_ref_w_count(const conv2d_ref_shape *s);
size_t conv2d_ref_y_count(const conv2d_ref_shape *s);

/* y = conv(x, w) + b; b may be NULL. */
void conv2d_ref_forward(const conv2d_ref_shape *s, const double *x, const double *w,
                        const double *b, double *y);

/* dx = dL/dx for upstream dy (overwrites dx). */
void conv2d_ref_backward_data(const conv2d_ref_shape *s, const double *dy, const double *w,
                              double *dx);

/* dw = dL/dw (overwrites dw). */
void conv2d_ref_backward_weights(const conv2d_ref_shape *s, const double *x, const double *dy,
                                 double *dw);

/* db[k] = sum of dy[:, k, :, :] (overwrites db). */
void conv2d_ref_backward_bias(const conv2d_ref_shape *s, const double *dy, double *db);

#endif
