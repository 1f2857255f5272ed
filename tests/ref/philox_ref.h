/* Plain host Philox4x32-R (Random123's definition, written from the round
 * function and key schedule; no vectors, no cleverness) and the dropout
 * built on it, as the reference for tests/test_philox.c and
 * tests/test_dropout.c. The stream layout is cl/philox.h's: word e of stream
 * (seed, offset) is word e % 4 of the block with counter
 * {e/4 low, e/4 high, offset low, offset high} and key {seed low, seed high}. */
#ifndef CLCNN_TEST_PHILOX_REF_H
#define CLCNN_TEST_PHILOX_REF_H

#include <stddef.h>
#include <stdint.h>

/* out = Philox4x32 with `rounds` rounds of counter ctr and key key. */
void philox_ref_block(const uint32_t ctr[4], const uint32_t key[2], unsigned rounds,
                      uint32_t out[4]);

/* Word `index` of stream (seed, offset), Philox4x32-10. */
uint32_t philox_ref_stream_word(uint64_t seed, uint64_t offset, uint64_t index);

/* floor(p * 2^32) for p in [0, 1): dropout drops element e iff its word is
 * below this. */
uint32_t philox_ref_dropout_threshold(double p);

/* keep[e] = 1 iff element e of a dropout pass with (seed, offset, p) is kept,
 * for e < n. */
void philox_ref_dropout_mask(uint64_t seed, uint64_t offset, double p, size_t n, uint8_t *keep);

/* The same mask packed as libclcnn stores it: bit e % 32 of word e / 32;
 * bits past n are 0. words holds ceil(n / 32) entries. */
void philox_ref_pack_mask(const uint8_t *keep, size_t n, uint32_t *words);

/* Inverted dropout in double: y[e] = keep[e] ? x[e] / (1 - p) : 0. */
void dropout_ref_forward(const uint8_t *keep, double p, size_t n, const double *x, double *y);

/* Its gradient: dx[e] = keep[e] ? dy[e] / (1 - p) : 0. */
void dropout_ref_backward(const uint8_t *keep, double p, size_t n, const double *dy, double *dx);

#endif
