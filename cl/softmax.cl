/* Softmax, log-softmax and softmax cross-entropy along rows (the last
 * dimension). One work-item owns one row and walks it with float8 loads
 * plus a scalar tail, so CPU drivers run it as a vector loop; every
 * exponential is taken after subtracting the row maximum. All sums run in
 * a fixed order: the results are the same bits every run. */
#include "common.h"

/* Folds of the eight lanes in a fixed order. They go through a private
 * array: adding lanes extracted straight from a vector makes LLVM form a
 * shuffle with undefined lanes that crashes Oclgrind 21.10's
 * uninitialised-value checker. */
static float sum_lanes(float8 lanes) {
    float values[8];
    vstore8(lanes, 0, values);
    return ((values[0] + values[1]) + (values[2] + values[3])) +
           ((values[4] + values[5]) + (values[6] + values[7]));
}

static float max_lanes(float8 lanes) {
    float values[8];
    vstore8(lanes, 0, values);
    return fmax(fmax(fmax(values[0], values[1]), fmax(values[2], values[3])),
                fmax(fmax(values[4], values[5]), fmax(values[6], values[7])));
}

/* The largest element of a row. */
static float row_max(__global const float *row, uint cols) {
    float8 lanes = (float8)(-INFINITY);
    uint j = 0;
    for (; j + 8 <= cols; j += 8)
        lanes = fmax(lanes, vload8(0, row + j));
    float result = max_lanes(lanes);
    for (; j < cols; j++)
        result = fmax(result, row[j]);
    return result;
}

/* sum_j exp(row[j] - max). */
static float row_sum_exp(__global const float *row, uint cols, float max) {
    float8 lanes = (float8)(0.0f);
    uint j = 0;
    for (; j + 8 <= cols; j += 8)
        lanes += exp(vload8(0, row + j) - max);
    float result = sum_lanes(lanes);
    for (; j < cols; j++)
        result += exp(row[j] - max);
    return result;
}

/* y = softmax(x) row by row (global size: rows). y may be x. */
__kernel void softmax_rows(__global const float *x, __global float *y, uint rows, uint cols) {
    uint r = CLCNN_GLOBAL_ID0();
    if (r >= rows)
        return;
    __global const float *in = x + (size_t)r * cols;
    __global float *out = y + (size_t)r * cols;
    float max = row_max(in, cols);
    float inv_sum = 1.0f / row_sum_exp(in, cols, max);
    uint j = 0;
    for (; j + 8 <= cols; j += 8)
        vstore8(exp(vload8(0, in + j) - max) * inv_sum, 0, out + j);
    for (; j < cols; j++)
        out[j] = exp(in[j] - max) * inv_sum;
}

/* y = log_softmax(x) = x - (max + log(sum exp(x - max))) (global size:
 * rows). y may be x. */
__kernel void log_softmax_rows(__global const float *x, __global float *y, uint rows, uint cols) {
    uint r = CLCNN_GLOBAL_ID0();
    if (r >= rows)
        return;
    __global const float *in = x + (size_t)r * cols;
    __global float *out = y + (size_t)r * cols;
    float max = row_max(in, cols);
    float log_sum = log(row_sum_exp(in, cols, max));
    uint j = 0;
    for (; j + 8 <= cols; j += 8)
        vstore8((vload8(0, in + j) - max) - log_sum, 0, out + j);
    for (; j < cols; j++)
        out[j] = (in[j] - max) - log_sum;
}

/* losses[r] = logsumexp(logits[r]) - logits[r][labels[r]] (global size:
 * rows). A label outside [0, cols) (the host never lets one through) gives
 * NaN instead of a read out of bounds. */
__kernel void xent_row_losses(__global const float *logits, __global const int *labels,
                              __global float *losses, uint rows, uint cols) {
    uint r = CLCNN_GLOBAL_ID0();
    if (r >= rows)
        return;
    __global const float *row = logits + (size_t)r * cols;
    int label = labels[r];
    if (label < 0 || (uint)label >= cols) {
        losses[r] = NAN;
        return;
    }
    float max = row_max(row, cols);
    float log_sum = log(row_sum_exp(row, cols, max));
    losses[r] = (max - row[label]) + log_sum;
}

/* loss[0] = mean of losses[0 .. rows-1], by one work-item in a fixed order
 * (global size: 1). */
__kernel void xent_mean(__global const float *losses, __global float *loss, uint rows) {
    if (get_global_id(0) != 0)
        return;
    float8 lanes = (float8)(0.0f);
    uint r = 0;
    for (; r + 8 <= rows; r += 8)
        lanes += vload8(0, losses + r);
    float sum = sum_lanes(lanes);
    for (; r < rows; r++)
        sum += losses[r];
    loss[0] = sum / (float)rows;
}

/* dlogits[r] (+)= (softmax(logits[r]) - onehot(labels[r])) * scale, scale
 * being 1 / N (global size: rows). A label outside [0, cols) gives a row of
 * NaN. */
__kernel void xent_backward(__global const float *logits, __global const int *labels,
                            __global float *dlogits, uint rows, uint cols, float scale,
                            uint accumulate) {
    uint r = CLCNN_GLOBAL_ID0();
    if (r >= rows)
        return;
    __global const float *in = logits + (size_t)r * cols;
    __global float *out = dlogits + (size_t)r * cols;
    int label = labels[r];
    int valid = label >= 0 && (uint)label < cols;
    float max = row_max(in, cols);
    float inv_sum = 1.0f / row_sum_exp(in, cols, max);
    for (uint j = 0; j < cols; j++) {
        float grad = exp(in[j] - max) * inv_sum;
        if ((int)j == label)
            grad -= 1.0f;
        grad = valid ? grad * scale : NAN;
        out[j] = accumulate ? out[j] + grad : grad;
    }
}
