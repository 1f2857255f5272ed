/* The layout of clcnn_labels, shared by src/ops/softmax.c and the tests
 * that bypass clcnn_labels_write to check the kernels' own guards. Not
 * installed. */
#ifndef CLCNN_OPS_SOFTMAX_INTERNAL_H
#define CLCNN_OPS_SOFTMAX_INTERNAL_H

#include "clcnn/softmax.h"
#include "runtime/internal.h"

struct clcnn_labels {
    clcnn_context *ctx;
    cl_mem mem; /* count int32 values, from the context's pool */
    size_t count;
    size_t num_classes;
};

#endif
