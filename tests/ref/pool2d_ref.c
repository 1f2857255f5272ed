/* Plain double-precision reference for 2-D pooling (see pool2d_ref.h). */
#include "ref/pool2d_ref.h"

#include <math.h>

static int floor_div(int a, int b) {
    int q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int pool2d_ref_output_size(int input, int kernel, int stride, int pad, int ceil_mode) {
    int size =
        floor_div(input + 2 * pad - (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
    if (ceil_mode && (size - 1) * stride >= input + pad)
        size--;
    return size;
}

/* The window of output (oh, ow), clipped as PyTorch clips it. */
typedef struct window {
    int h_begin, h_end, w_begin, w_end; /* inside the input */
    int divisor;                        /* average pool */
} window;

static window window_of(const pool2d_ref_params *p, int height, int width, int oh, int ow) {
    window w;
    int h_start = oh * p->stride_h - p->pad_h;
    int w_start = ow * p->stride_w - p->pad_w;
    int h_stop = h_start + p->kernel_h;
    int w_stop = w_start + p->kernel_w;
    if (h_stop > height + p->pad_h)
        h_stop = height + p->pad_h;
    if (w_stop > width + p->pad_w)
        w_stop = width + p->pad_w;
    int padded_size = (h_stop - h_start) * (w_stop - w_start);
    w.h_begin = h_start < 0 ? 0 : h_start;
    w.w_begin = w_start < 0 ? 0 : w_start;
    w.h_end = h_stop > height ? height : h_stop;
    w.w_end = w_stop > width ? width : w_stop;
    w.divisor = p->count_include_pad ? padded_size : (w.h_end - w.h_begin) * (w.w_end - w.w_begin);
    return w;
}

/* Flat index inside the plane of the first maximum of the window. */
static int window_argmax(const double *plane, int width, window w) {
    int best = w.h_begin * width + w.w_begin;
    double best_value = -INFINITY;
    for (int h = w.h_begin; h < w.h_end; h++) {
        for (int c = w.w_begin; c < w.w_end; c++) {
            double v = plane[h * width + c];
            if (v > best_value || isnan(v)) {
                best_value = v;
                best = h * width + c;
            }
        }
    }
    return best;
}

void pool2d_ref_forward(const pool2d_ref_params *p, int n_batch, int channels, int height,
                        int width, const double *x, double *y) {
    int out_h = pool2d_ref_output_size(height, p->kernel_h, p->stride_h, p->pad_h, p->ceil_mode);
    int out_w = pool2d_ref_output_size(width, p->kernel_w, p->stride_w, p->pad_w, p->ceil_mode);
    for (int plane = 0; plane < n_batch * channels; plane++) {
        const double *in = x + (long)plane * height * width;
        double *out = y + (long)plane * out_h * out_w;
        for (int oh = 0; oh < out_h; oh++) {
            for (int ow = 0; ow < out_w; ow++) {
                window w = window_of(p, height, width, oh, ow);
                if (p->is_max) {
                    out[oh * out_w + ow] = in[window_argmax(in, width, w)];
                } else {
                    double sum = 0.0;
                    for (int h = w.h_begin; h < w.h_end; h++)
                        for (int c = w.w_begin; c < w.w_end; c++)
                            sum += in[h * width + c];
                    out[oh * out_w + ow] = sum / w.divisor;
                }
            }
        }
    }
}

void pool2d_ref_backward(const pool2d_ref_params *p, int n_batch, int channels, int height,
                         int width, const double *x, const double *dy, double *dx) {
    int out_h = pool2d_ref_output_size(height, p->kernel_h, p->stride_h, p->pad_h, p->ceil_mode);
    int out_w = pool2d_ref_output_size(width, p->kernel_w, p->stride_w, p->pad_w, p->ceil_mode);
    for (long i = 0; i < (long)n_batch * channels * height * width; i++)
        dx[i] = 0.0;
    for (int plane = 0; plane < n_batch * channels; plane++) {
        const double *in = x + (long)plane * height * width;
        const double *grad = dy + (long)plane * out_h * out_w;
        double *out = dx + (long)plane * height * width;
        for (int oh = 0; oh < out_h; oh++) {
            for (int ow = 0; ow < out_w; ow++) {
                window w = window_of(p, height, width, oh, ow);
                double g = grad[oh * out_w + ow];
                if (p->is_max) {
                    out[window_argmax(in, width, w)] += g;
                } else {
                    for (int h = w.h_begin; h < w.h_end; h++)
                        for (int c = w.w_begin; c < w.w_end; c++)
                            out[h * width + c] += g / w.divisor;
                }
            }
        }
    }
}
