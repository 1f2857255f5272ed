/* Utility kernels: the empty kernel that measures launch cost, and a float4
 * copy that measures what a kernel reaches of the copy bandwidth. */
#include "common.h"
#include "fill_layout.h"

__kernel void empty_kernel(void) {}

/* dst[i] = src[i] for i < count4; the global size may exceed count4. */
__kernel void copy_float4(__global const float4 *src, __global float4 *dst, uint count4) {
    uint i = CLCNN_GLOBAL_ID0();
    if (i < count4)
        dst[i] = src[i];
}

/* dst[i] = value for i < count, FILL_CHUNK elements per work-item (POCL pays
 * per work-group; float4 stores where a whole chunk fits). Used instead of
 * clEnqueueFillBuffer so that every tool sees the memory as written
 * (Oclgrind 21.10 keeps treating filled memory as uninitialised). */

__kernel void fill_float(__global float *dst, ulong count, float value) {
    ulong start = (ulong)get_global_id(0) * FILL_CHUNK;
    if (start >= count)
        return;
    if (count - start >= FILL_CHUNK) {
        __global float4 *chunk = (__global float4 *)(dst + start);
        float4 v = (float4)(value);
        for (int i = 0; i < FILL_CHUNK / 4; i++)
            chunk[i] = v;
        return;
    }
    for (ulong i = start; i < count; i++)
        dst[i] = value;
}
