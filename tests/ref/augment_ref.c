/* Host reference of the random crop and flip (see augment_ref.h). */
#include "ref/augment_ref.h"

#include <math.h>

#include "ref/philox_ref.h"

augment_ref_draw augment_ref_sample(uint64_t seed, uint64_t epoch, uint64_t sample, size_t pad,
                                    double flip_probability) {
    const uint64_t offsets = 2 * (uint64_t)pad + 1;
    /* Words 4s .. 4s + 3 of stream (seed, epoch): one block (written out,
     * as 4s does not fit 64 bits for the largest indices). */
    const uint32_t ctr[4] = {(uint32_t)sample, (uint32_t)(sample >> 32), (uint32_t)epoch,
                             (uint32_t)(epoch >> 32)};
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t words[4];
    philox_ref_block(ctr, key, 10, words);
    const uint32_t w0 = words[0], w1 = words[1], w2 = words[2];
    augment_ref_draw draw;
    draw.top = (size_t)(((uint64_t)w0 * offsets) >> 32);
    draw.left = (size_t)(((uint64_t)w1 * offsets) >> 32);
    draw.flip = (double)w2 < floor(flip_probability * 4294967296.0);
    return draw;
}

/* Element (i, j) of the padded plane, rows and columns counted from the
 * padding's corner. */
static float padded(const float *plane, size_t h, size_t w, size_t pad, size_t i, size_t j) {
    if (i < pad || j < pad || i - pad >= h || j - pad >= w)
        return 0.0f;
    return plane[(i - pad) * w + (j - pad)];
}

void augment_ref_forward(uint64_t seed, uint64_t epoch, uint64_t first_sample, size_t pad,
                         double flip_probability, size_t n, size_t c, size_t h, size_t w,
                         const float *x, float *y) {
    for (size_t s = 0; s < n; s++) {
        augment_ref_draw d =
            augment_ref_sample(seed, epoch, first_sample + s, pad, flip_probability);
        for (size_t ch = 0; ch < c; ch++) {
            const float *plane = x + (s * c + ch) * h * w;
            float *out = y + (s * c + ch) * h * w;
            for (size_t i = 0; i < h; i++)
                for (size_t j = 0; j < w; j++) {
                    size_t col = d.flip ? w - 1 - j : j;
                    out[i * w + j] = padded(plane, h, w, pad, i + d.top, col + d.left);
                }
        }
    }
}
