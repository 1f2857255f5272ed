/* Plain double-precision reference for 2-D max and average pooling with
 * PyTorch's rules (MaxPool2d / AvgPool2d, dilation 1), used by
 * tests/test_pool2d.c. Straightforward loops, written from PyTorch's
 * definitions and independent of the library's kernels: backward scatters
 * from each window, where the kernels gather. */
#ifndef CLCNN_TEST_POOL2D_REF_H
#define CLCNN_TEST_POOL2D_REF_H

typedef struct pool2d_ref_params {
    int is_max; /* 1: max pool, 0: average pool */
    int kernel_h, kernel_w;
    int stride_h, stride_w; /* already resolved (never 0) */
    int pad_h, pad_w;
    int ceil_mode;
    int count_include_pad;
} pool2d_ref_params;

/* PyTorch's pooling_output_shape (dilation 1); 0 or less means "too small". */
int pool2d_ref_output_size(int input, int kernel, int stride, int pad, int ceil_mode);

/* y[n][c][oh][ow] for x of shape [n_batch, channels, height, width]; y has
 * the shape pool2d_ref_output_size gives. */
void pool2d_ref_forward(const pool2d_ref_params *p, int n_batch, int channels, int height,
                        int width, const double *x, double *y);

/* dx (overwritten, shape of x) from dy (shape of y). Max pool routes each
 * window's gradient to its first maximum in row-major order (a NaN counts
 * as a new maximum); average pool spreads dy / divisor over the window. */
void pool2d_ref_backward(const pool2d_ref_params *p, int n_batch, int channels, int height,
                         int width, const double *x, const double *dy, double *dx);

#endif
