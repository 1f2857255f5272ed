/* The bias parts of the dense layer; the matrix products go through the
 * GEMM. Rows are walked by one work-item each, columns with float16 loads
 * where a whole block of 16 fits, so that CPU drivers run them as vector
 * loops and GPUs still get one work-item per row or column block. */
#include "common.h"
#include "dense_layout.h"

#if DENSE_BIAS_GRAD_BLOCK != 16
#error "dense_bias_grad loads a block of DENSE_BIAS_GRAD_BLOCK columns as a float16"
#endif

/* y[row][j] = bias[j] for every row (global size: rows). The GEMM then adds
 * x . w^T onto it. */
__kernel void dense_bias_broadcast(__global const float *bias, __global float *y, uint rows,
                                   uint cols) {
    uint row = CLCNN_GLOBAL_ID0();
    if (row >= rows)
        return;
    __global float *out = y + (size_t)row * cols;
    uint j = 0;
    for (; j + 16 <= cols; j += 16)
        vstore16(vload16(0, bias + j), 0, out + j);
    for (; j < cols; j++)
        out[j] = bias[j];
}

/* db[j] (+)= sum over rows [first_row, first_row + rows) of dy[row][j],
 * for the DENSE_BIAS_GRAD_BLOCK columns j of one block (global size:
 * ceil(cols / DENSE_BIAS_GRAD_BLOCK)). Rows are added in order, so the sum
 * is the same bits every run. (The host splits the rows over launches
 * where a driver caps a work-item's loop trips.) */
__kernel void dense_bias_grad(__global const float *dy, __global float *db, uint rows, uint cols,
                              uint accumulate, uint first_row) {
    uint col = CLCNN_GLOBAL_ID0() * DENSE_BIAS_GRAD_BLOCK;
    if (col >= cols)
        return;
    dy += (size_t)first_row * cols;
    if (col + DENSE_BIAS_GRAD_BLOCK <= cols) {
        float16 sum = (float16)(0.0f);
        for (uint row = 0; row < rows; row++)
            sum += vload16(0, dy + (size_t)row * cols + col);
        if (accumulate)
            sum += vload16(0, db + col);
        vstore16(sum, 0, db + col);
        return;
    }
    for (uint j = col; j < cols; j++) {
        float sum = 0.0f;
        for (uint row = 0; row < rows; row++)
            sum += dy[(size_t)row * cols + j];
        db[j] = accumulate ? db[j] + sum : sum;
    }
}
