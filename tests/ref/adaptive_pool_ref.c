/* Double reference of adaptive average pooling (see adaptive_pool_ref.h). */
#include "ref/adaptive_pool_ref.h"

size_t adaptive_ref_start(size_t i, size_t in, size_t out) {
    return i * in / out;
}

size_t adaptive_ref_end(size_t i, size_t in, size_t out) {
    return ((i + 1) * in + out - 1) / out;
}

void adaptive_ref_forward(size_t planes, size_t height, size_t width, size_t out_h, size_t out_w,
                          const double *x, double *y) {
    for (size_t p = 0; p < planes; p++)
        for (size_t i = 0; i < out_h; i++)
            for (size_t j = 0; j < out_w; j++) {
                const size_t h0 = adaptive_ref_start(i, height, out_h);
                const size_t h1 = adaptive_ref_end(i, height, out_h);
                const size_t w0 = adaptive_ref_start(j, width, out_w);
                const size_t w1 = adaptive_ref_end(j, width, out_w);
                double sum = 0.0;
                for (size_t h = h0; h < h1; h++)
                    for (size_t w = w0; w < w1; w++)
                        sum += x[(p * height + h) * width + w];
                y[(p * out_h + i) * out_w + j] = sum / (double)((h1 - h0) * (w1 - w0));
            }
}

void adaptive_ref_backward(size_t planes, size_t height, size_t width, size_t out_h, size_t out_w,
                           const double *dy, double *dx) {
    for (size_t e = 0; e < planes * height * width; e++)
        dx[e] = 0.0;
    for (size_t p = 0; p < planes; p++)
        for (size_t i = 0; i < out_h; i++)
            for (size_t j = 0; j < out_w; j++) {
                const size_t h0 = adaptive_ref_start(i, height, out_h);
                const size_t h1 = adaptive_ref_end(i, height, out_h);
                const size_t w0 = adaptive_ref_start(j, width, out_w);
                const size_t w1 = adaptive_ref_end(j, width, out_w);
                const double share =
                    dy[(p * out_h + i) * out_w + j] / (double)((h1 - h0) * (w1 - w0));
                for (size_t h = h0; h < h1; h++)
                    for (size_t w = w0; w < w1; w++)
                        dx[(p * height + h) * width + w] += share;
            }
}
