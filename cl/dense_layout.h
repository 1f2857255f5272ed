/* The column block of dense_bias_grad (cl/dense.cl), included by that
 * kernel and by the host code that sizes its launch (src/ops/dense.c), so
 * both read one definition: a plain #define, valid C and OpenCL C. The
 * kernel loads a block as one float16. */
#ifndef CLCNN_CL_DENSE_LAYOUT_H
#define CLCNN_CL_DENSE_LAYOUT_H

#define DENSE_BIAS_GRAD_BLOCK 16

#endif
