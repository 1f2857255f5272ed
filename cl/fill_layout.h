/* Elements per work-item of fill_float (cl/util.cl), included by that
 * kernel and by the host code that sizes its launch (src/runtime/tensor.c),
 * so both read one definition: a plain #define, valid C and OpenCL C. */
#ifndef CLCNN_CL_FILL_LAYOUT_H
#define CLCNN_CL_FILL_LAYOUT_H

#define FILL_CHUNK 64

#endif
