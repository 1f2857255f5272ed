/* Robust, deterministic reductions shared by kernels: mean and variance kept
 * as shifted moments and merged with Chan's formula (never E[x^2] - E[x]^2),
 * a corrected two-pass over contiguous runs with float8 loads (the
 * per-work-item form that POCL runs well), and work-group tree reductions in
 * local memory (the GPU form). Every reduction runs in a fixed order, so a
 * result is the same bits run after run. Include with #include "reduce.h".
 *
 * Values that belong together are scalar struct fields, stored in memory as
 * planes (structure of arrays), never lanes of one vector: arithmetic
 * between lanes of a vector lets compilers emit shuffles with undefined mask
 * elements, on which Oclgrind's uninitialised-value checker crashes. */
#ifndef CLCNN_CL_REDUCE_H
#define CLCNN_CL_REDUCE_H

/* ------------------------------------------------------------ shifted moments */

/* Moments of `count` values: mean = shift + mean_offset, m2 = sum of squared
 * deviations from the mean. `shift` is one of the values (exact in fp32), so
 * mean_offset stays about as small as the spread of the data and keeps the
 * low bits that a plain fp32 mean of offset data (say 1e4 +- 1) loses.
 * count 0 is the empty set. */
typedef struct clcnn_moments {
    float shift;
    float mean_offset;
    float m2;
    float count;
} clcnn_moments;

clcnn_moments clcnn_moments_empty(void) {
    clcnn_moments m = {0.0f, 0.0f, 0.0f, 0.0f};
    return m;
}

float clcnn_moments_mean(clcnn_moments m) {
    return m.shift + m.mean_offset;
}

/* Chan et al.'s parallel merge: delta = mean_b - mean_a,
 * mean = mean_a + delta * n_b / n, m2 = m2_a + m2_b + delta^2 * n_a * n_b / n.
 * The result keeps a's shift; delta is formed from the shifts and offsets
 * separately so that nearby means do not cancel. Either side may be empty. */
clcnn_moments clcnn_moments_merge(clcnn_moments a, clcnn_moments b) {
    if (b.count == 0.0f)
        return a;
    if (a.count == 0.0f)
        return b;
    float count = a.count + b.count;
    float delta = (b.shift - a.shift) + (b.mean_offset - a.mean_offset);
    float weight_b = b.count / count;
    clcnn_moments m;
    m.shift = a.shift;
    m.mean_offset = a.mean_offset + delta * weight_b;
    m.m2 = a.m2 + b.m2 + delta * delta * a.count * weight_b;
    m.count = count;
    return m;
}

/* Moments from the two passes over `count` values with one shift:
 * center = sum(x - shift) / count from the first pass, then
 * deviations = sum((x - shift) - center) and
 * squares = sum(((x - shift) - center)^2) from the second. The deviation sum
 * corrects the centre and m2 for the rounding of the first pass (the
 * "corrected two-pass" algorithm). */
clcnn_moments clcnn_moments_from_passes(float shift, float center, float deviations, float squares,
                                        float count) {
    clcnn_moments m;
    m.shift = shift;
    m.mean_offset = center + deviations / count;
    m.m2 = fmax(squares - deviations * deviations / count, 0.0f);
    m.count = count;
    return m;
}

/* Moments stored as four planes of `stride` floats: shift, mean_offset, m2,
 * count at planes[k * stride + index]. */
clcnn_moments clcnn_moments_load(__global const float *planes, uint stride, uint index) {
    clcnn_moments m = {planes[index], planes[stride + index], planes[2 * stride + index],
                       planes[3 * stride + index]};
    return m;
}

void clcnn_moments_store(__global float *planes, uint stride, uint index, clcnn_moments m) {
    planes[index] = m.shift;
    planes[stride + index] = m.mean_offset;
    planes[2 * stride + index] = m.m2;
    planes[3 * stride + index] = m.count;
}

/* --------------------------------------------- contiguous runs (float8) */

/* The runs below keep two float8 chains of partial sums (so that additions
 * overlap) and a scalar one for the tail, added up in a fixed order. */

/* Sum of the lanes of even + odd, then tail. The lanes go through a private
 * array (see the note at the top). */
float clcnn_lanes_total(float8 even, float8 odd, float tail) {
    float lanes[8];
    vstore8(even + odd, 0, lanes);
    return (((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) +
            ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))) +
           tail;
}

/* sum(p[i] - shift), i < count. */
float clcnn_sum_shifted(__global const float *p, uint count, float shift) {
    float8 even = (float8)(0.0f), odd = (float8)(0.0f);
    uint i = 0;
    for (; i + 16 <= count; i += 16) {
        even += vload8(0, p + i) - shift;
        odd += vload8(0, p + i + 8) - shift;
    }
    if (i + 8 <= count) {
        even += vload8(0, p + i) - shift;
        i += 8;
    }
    float tail = 0.0f;
    for (; i < count; i++)
        tail += p[i] - shift;
    return clcnn_lanes_total(even, odd, tail);
}

/* The second pass of a corrected two-pass variance. */
typedef struct clcnn_deviation_sums {
    float deviations; /* sum(v) */
    float squares;    /* sum(v^2) */
} clcnn_deviation_sums;

/* With v = (p[i] - shift) - center, i < count: sum(v) and sum(v^2). */
clcnn_deviation_sums clcnn_sum_deviations(__global const float *p, uint count, float shift,
                                          float center) {
    float8 dev_even = (float8)(0.0f), dev_odd = (float8)(0.0f);
    float8 sq_even = (float8)(0.0f), sq_odd = (float8)(0.0f);
    uint i = 0;
    for (; i + 16 <= count; i += 16) {
        float8 v = (vload8(0, p + i) - shift) - center;
        float8 w = (vload8(0, p + i + 8) - shift) - center;
        dev_even += v;
        dev_odd += w;
        sq_even += v * v;
        sq_odd += w * w;
    }
    if (i + 8 <= count) {
        float8 v = (vload8(0, p + i) - shift) - center;
        dev_even += v;
        sq_even += v * v;
        i += 8;
    }
    float dev_tail = 0.0f, sq_tail = 0.0f;
    for (; i < count; i++) {
        float v = (p[i] - shift) - center;
        dev_tail += v;
        sq_tail += v * v;
    }
    clcnn_deviation_sums sums = {clcnn_lanes_total(dev_even, dev_odd, dev_tail),
                                 clcnn_lanes_total(sq_even, sq_odd, sq_tail)};
    return sums;
}

/* Values per block of clcnn_moments_contiguous: 8 KiB, so that the second
 * pass reads from L1. */
#ifndef CLCNN_MOMENTS_BLOCK
#define CLCNN_MOMENTS_BLOCK 2048u
#endif

/* Moments of p[0 .. count), count >= 1, that fits in cache: corrected
 * two-pass shifted by p[0]. */
clcnn_moments clcnn_moments_block(__global const float *p, uint count) {
    float shift = p[0];
    float center = clcnn_sum_shifted(p, count, shift) / (float)count;
    clcnn_deviation_sums second = clcnn_sum_deviations(p, count, shift, center);
    return clcnn_moments_from_passes(shift, center, second.deviations, second.squares,
                                     (float)count);
}

/* Moments of p[0 .. count), count >= 1: blocks of CLCNN_MOMENTS_BLOCK values
 * (two-pass each, the second pass from cache) merged in order. */
clcnn_moments clcnn_moments_contiguous(__global const float *p, uint count) {
    clcnn_moments m = clcnn_moments_block(p, min(count, CLCNN_MOMENTS_BLOCK));
    for (uint begin = CLCNN_MOMENTS_BLOCK; begin < count; begin += CLCNN_MOMENTS_BLOCK)
        m = clcnn_moments_merge(
            m, clcnn_moments_block(p + begin, min(count - begin, CLCNN_MOMENTS_BLOCK)));
    return m;
}

/* ------------------------------------------------- work-group tree reductions */

/* Merges the moments that each of the `size` work-items stored at index
 * local_id of the four planes of `slots` (plane stride `size`) into index 0,
 * pairwise in a fixed tree order. `size` is a power of two; every work-item
 * of the group must call it. Ends with a barrier, so every work-item may
 * then read index 0. */
void clcnn_wg_merge_moments(__local float *slots, uint local_id, uint size) {
    for (uint stride = size / 2; stride > 0; stride /= 2) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (local_id < stride) {
            uint other = local_id + stride;
            clcnn_moments a = {slots[local_id], slots[size + local_id], slots[2 * size + local_id],
                               slots[3 * size + local_id]};
            clcnn_moments b = {slots[other], slots[size + other], slots[2 * size + other],
                               slots[3 * size + other]};
            clcnn_moments m = clcnn_moments_merge(a, b);
            slots[local_id] = m.shift;
            slots[size + local_id] = m.mean_offset;
            slots[2 * size + local_id] = m.m2;
            slots[3 * size + local_id] = m.count;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}

/* Adds the values that each of the `size` work-items stored at index
 * local_id of `planes` planes of `slots` (plane stride `size`) into index 0,
 * pairwise in a fixed tree order. `size` is a power of two; every work-item
 * must call it. Ends with a barrier. */
void clcnn_wg_sum_planes(__local float *slots, uint planes, uint local_id, uint size) {
    for (uint stride = size / 2; stride > 0; stride /= 2) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (local_id < stride)
            for (uint k = 0; k < planes; k++)
                slots[k * size + local_id] += slots[k * size + local_id + stride];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}

#endif
