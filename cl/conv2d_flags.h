/* Bits of the `flags` argument of conv2d_fwd_direct (conv2d_direct.cl) and
 * the conv2d epilogues (conv2d_epilogue.cl): which parts of the epilogue
 * apply. Plain #defines, valid C and OpenCL C: the host (src/ops/conv2d_*.c)
 * includes this file too, so both sides agree on the bits. */
#ifndef CLCNN_CL_CONV2D_FLAGS_H
#define CLCNN_CL_CONV2D_FLAGS_H

#define CONV2D_HAS_BIAS 1  /* add bias[k] */
#define CONV2D_HAS_SCALE 2 /* multiply by scale[k] */
#define CONV2D_HAS_SHIFT 4 /* add shift[k] */
#define CONV2D_RELU 8      /* then ReLU */

#endif
