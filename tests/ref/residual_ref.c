/* Double reference of the residual join (see residual_ref.h). */
#include "ref/residual_ref.h"

void residual_ref_forward(size_t n, const double *a, const double *b, int relu, double *y) {
    for (size_t i = 0; i < n; i++) {
        double sum = a[i] + b[i];
        y[i] = relu && sum < 0.0 ? 0.0 : sum;
    }
}

void residual_ref_backward(size_t n, const double *y, const double *dy, int relu, double *grad) {
    for (size_t i = 0; i < n; i++)
        grad[i] = relu && y[i] <= 0.0 ? 0.0 : dy[i];
}
