/* Plain double-precision reference of the dense layer: straight loops. */
#include "ref/dense_ref.h"

void dense_ref_forward(size_t batch, size_t in, size_t out, const double *x, const double *w,
                       const double *b, double *y) {
    for (size_t n = 0; n < batch; n++) {
        for (size_t o = 0; o < out; o++) {
            double sum = b != NULL ? b[o] : 0.0;
            for (size_t i = 0; i < in; i++)
                sum += x[n * in + i] * w[o * in + i];
            y[n * out + o] = sum;
        }
    }
}

void dense_ref_backward(size_t batch, size_t in, size_t out, const double *x, const double *w,
                        const double *dy, double *dx, double *dw, double *db) {
    if (dx != NULL) {
        for (size_t n = 0; n < batch; n++) {
            for (size_t i = 0; i < in; i++) {
                double sum = 0.0;
                for (size_t o = 0; o < out; o++)
                    sum += dy[n * out + o] * w[o * in + i];
                dx[n * in + i] = sum;
            }
        }
    }
    if (dw != NULL) {
        for (size_t o = 0; o < out; o++) {
            for (size_t i = 0; i < in; i++) {
                double sum = 0.0;
                for (size_t n = 0; n < batch; n++)
                    sum += dy[n * out + o] * x[n * in + i];
                dw[o * in + i] = sum;
            }
        }
    }
    if (db != NULL) {
        for (size_t o = 0; o < out; o++) {
            double sum = 0.0;
            for (size_t n = 0; n < batch; n++)
                sum += dy[n * out + o];
            db[o] = sum;
        }
    }
}
