/* Elements per work-item of the kernels of cl/dropout.cl, included by those
 * kernels and by the host code that sizes their launches
 * (src/ops/dropout.c), so both read one definition: plain #defines, valid
 * C and OpenCL C. `lanes` is the number of Philox generators a work-item
 * runs (DROPOUT_VEC in the kernels). */
#ifndef CLCNN_CL_DROPOUT_LAYOUT_H
#define CLCNN_CL_DROPOUT_LAYOUT_H

/* A Philox4x32 call gives the words of 4 consecutive elements per lane. */
#define DROPOUT_CHUNK(lanes) (4 * (lanes))

/* The bits kernels give each work-item whole 32-bit words of the mask. */
#define DROPOUT_BITS_ELEMS(lanes) (DROPOUT_CHUNK(lanes) >= 32 ? DROPOUT_CHUNK(lanes) : 32)

/* The kernels without random numbers take a float4 per work-item. */
#define DROPOUT_PLAIN_ELEMS 4

#endif
