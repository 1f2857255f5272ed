/* Utility kernels: the empty kernel that measures launch cost, and a float4
 * copy that measures what a kernel reaches of the copy bandwidth. */
#include "common.h"

__kernel void empty_kernel(void) {}

/* dst[i] = src[i] for i < count4; the global size may exceed count4. */
__kernel void copy_float4(__global const float4 *src, __global float4 *dst, uint count4) {
    uint i = CLCNN_GLOBAL_ID0();
    if (i < count4)
        dst[i] = src[i];
}
