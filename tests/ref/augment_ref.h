/* Plain host reference for the random crop and flip of
 * include/clcnn/augment.h, used by tests/test_augment.c: the draws from
 * tests/ref/philox_ref.c's stream words (sample s of epoch t takes words
 * 4s .. 4s + 3 of stream (seed, t)), the crop and mirror written from
 * torchvision's definition (pad with zeros, crop at (top, left), flip the
 * crop). */
#ifndef CLCNN_TEST_AUGMENT_REF_H
#define CLCNN_TEST_AUGMENT_REF_H

#include <stddef.h>
#include <stdint.h>

typedef struct augment_ref_draw {
    size_t top, left; /* in [0, 2 pad] */
    int flip;
} augment_ref_draw;

/* The draw of global sample index `sample` (for sample < 2^62 the block
 * holds words 4 sample .. 4 sample + 3 of philox_ref_stream_word's stream
 * (seed, epoch), which test_augment checks). */
augment_ref_draw augment_ref_sample(uint64_t seed, uint64_t epoch, uint64_t sample, size_t pad,
                                    double flip_probability);

/* y [n, c, h, w] from x of that shape, samples first_sample .. first_sample
 * + n - 1. */
void augment_ref_forward(uint64_t seed, uint64_t epoch, uint64_t first_sample, size_t pad,
                         double flip_probability, size_t n, size_t c, size_t h, size_t w,
                         const float *x, float *y);

#endif
