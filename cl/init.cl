/* Parameter initialisation: uniform values drawn from a Philox stream
 * (cl/philox.h), element e taking word e of stream (seed, offset), so the
 * values depend only on (seed, offset) and not on the device. */
#include "philox.h"

/* low + u * (high - low) must round the same everywhere: no fused
 * multiply-add. */
#pragma OPENCL FP_CONTRACT OFF

/* out[e] = low + u_e * (high - low), u_e = philox_uniform_float(word e). */
__kernel void init_uniform(__global float *out, uint count, float low, float high, uint seed_lo,
                           uint seed_hi, uint offset_lo, uint offset_hi) {
    uint e = (uint)get_global_id(0);
    if (e >= count)
        return;
    uint word = philox_stream_word((ulong)e, (uint2)(seed_lo, seed_hi), offset_lo, offset_hi);
    float u = philox_uniform_float(word);
    float scaled = u * (high - low);
    out[e] = low + scaled;
}
