/* Host Philox4x32-R and dropout reference (see philox_ref.h). */
#include "ref/philox_ref.h"

#include <math.h>

#define M0 0xD2511F53u
#define M1 0xCD9E8D57u
#define W0 0x9E3779B9u
#define W1 0xBB67AE85u

void philox_ref_block(const uint32_t ctr[4], const uint32_t key[2], unsigned rounds,
                      uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (unsigned r = 0; r < rounds; r++) {
        if (r > 0) {
            k0 += W0;
            k1 += W1;
        }
        uint64_t p0 = (uint64_t)M0 * c0;
        uint64_t p1 = (uint64_t)M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0;
        c1 = n1;
        c2 = n2;
        c3 = n3;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

uint32_t philox_ref_stream_word(uint64_t seed, uint64_t offset, uint64_t index) {
    uint64_t block = index / 4;
    uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), (uint32_t)offset,
                       (uint32_t)(offset >> 32)};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t out[4];
    philox_ref_block(ctr, key, 10, out);
    return out[index % 4];
}

uint32_t philox_ref_dropout_threshold(double p) {
    return (uint32_t)floor(p * 4294967296.0);
}

void philox_ref_dropout_mask(uint64_t seed, uint64_t offset, double p, size_t n, uint8_t *keep) {
    uint32_t threshold = philox_ref_dropout_threshold(p);
    for (size_t e = 0; e < n; e++)
        keep[e] = philox_ref_stream_word(seed, offset, e) >= threshold;
}

void philox_ref_pack_mask(const uint8_t *keep, size_t n, uint32_t *words) {
    size_t count = (n + 31) / 32;
    for (size_t w = 0; w < count; w++)
        words[w] = 0;
    for (size_t e = 0; e < n; e++)
        if (keep[e])
            words[e / 32] |= 1u << (e % 32);
}

void dropout_ref_forward(const uint8_t *keep, double p, size_t n, const double *x, double *y) {
    for (size_t e = 0; e < n; e++)
        y[e] = keep[e] ? x[e] / (1.0 - p) : 0.0;
}

void dropout_ref_backward(const uint8_t *keep, double p, size_t n, const double *dy, double *dx) {
    for (size_t e = 0; e < n; e++)
        dx[e] = keep[e] ? dy[e] / (1.0 - p) : 0.0;
}
