/* Plain double-precision references of softmax and cross-entropy: straight
 * loops, the row maximum subtracted before every exponential. */
#include "ref/softmax_ref.h"

#include <math.h>

static double row_max(size_t cols, const double *row) {
    double max = row[0];
    for (size_t c = 1; c < cols; c++)
        if (row[c] > max)
            max = row[c];
    return max;
}

/* log(sum exp(row)), computed as max + log(sum exp(row - max)). */
static double row_logsumexp(size_t cols, const double *row) {
    double max = row_max(cols, row), sum = 0.0;
    for (size_t c = 0; c < cols; c++)
        sum += exp(row[c] - max);
    return max + log(sum);
}

void softmax_ref(size_t rows, size_t cols, const double *x, double *y) {
    for (size_t r = 0; r < rows; r++) {
        double lse = row_logsumexp(cols, x + r * cols);
        for (size_t c = 0; c < cols; c++)
            y[r * cols + c] = exp(x[r * cols + c] - lse);
    }
}

void log_softmax_ref(size_t rows, size_t cols, const double *x, double *y) {
    for (size_t r = 0; r < rows; r++) {
        double lse = row_logsumexp(cols, x + r * cols);
        for (size_t c = 0; c < cols; c++)
            y[r * cols + c] = x[r * cols + c] - lse;
    }
}

double cross_entropy_ref(size_t rows, size_t cols, const double *logits, const int32_t *labels) {
    double total = 0.0;
    for (size_t r = 0; r < rows; r++)
        total += row_logsumexp(cols, logits + r * cols) - logits[r * cols + (size_t)labels[r]];
    return total / (double)rows;
}

void cross_entropy_ref_backward(size_t rows, size_t cols, const double *logits,
                                const int32_t *labels, double *dlogits) {
    softmax_ref(rows, cols, logits, dlogits);
    for (size_t r = 0; r < rows; r++) {
        dlogits[r * cols + (size_t)labels[r]] -= 1.0;
        for (size_t c = 0; c < cols; c++)
            dlogits[r * cols + c] /= (double)rows;
    }
}
