/* Data augmentation on the device: a random crop from a zero-padded image
 * plus a random horizontal flip, per sample, as torchvision's
 * RandomCrop(size = the input's, padding = pad) followed by
 * RandomHorizontalFlip(flip_probability), with draws that are reproducible
 * and identical on every device.
 *
 * Draws. Sample s (its global index: first_sample_index + its position in
 * the batch) of epoch t draws one Philox4x32-10 block, words 4s .. 4s + 3
 * of the stream (seed, offset = t) in cl/philox.h's layout:
 *     counter = { (uint)s, (uint)(s >> 32), (uint)t, (uint)(t >> 32) }
 *     key     = { (uint)seed, (uint)(seed >> 32) }
 * i.e. counter words 0-1 encode the sample index and words 2-3 the epoch.
 * With R = 2 pad + 1 possible offsets per axis:
 *     top  = (word0 * R) >> 32        (in [0, 2 pad], a 64-bit product)
 *     left = (word1 * R) >> 32
 *     flip = word2 < floor(flip_probability * 2^32)  (always when it is 1)
 *     word3 is not used.
 * All integer arithmetic: the same on every device, work-group size and
 * batch split; a sample's crop depends on (seed, epoch, s, pad,
 * flip_probability) only, so sample 5 of a batch starting at index 0 gets
 * the crop of sample 0 of a batch starting at index 5. (The offsets are
 * uniform within (2 pad + 1) / 2^32.)
 *
 * Output. For an input x [N, C, H, W] (every channel of a sample cropped
 * alike):
 *     y[n][c][i][j] = xpad[i + top][jj + left],  jj = flip ? W - 1 - j : j
 * where xpad is x with `pad` zeros on every side: the crop of the padded
 * image at (top, left), then mirrored. pad 0 flips only.
 *
 * Seeds. Dropout (clcnn/dropout.h) uses the same streams with its own
 * offsets: give augmentation a seed of its own (e.g. another than the
 * dropout layers'), else an epoch can draw a dropout call's words. */
#ifndef CLCNN_AUGMENT_H
#define CLCNN_AUGMENT_H

#include <stdint.h>

#include "clcnn/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct clcnn_augment_params {
    size_t pad;                  /* zeros on each side, at most 2^24 */
    float flip_probability;      /* in [0, 1] */
    uint64_t seed;               /* the Philox key */
    uint64_t epoch;              /* counter words 2-3 */
    uint64_t first_sample_index; /* the global index of the batch's first sample */
} clcnn_augment_params;

/* pad 2 (28 x 28 crops of 32 x 32 padded Fashion-MNIST images), flip
 * probability 0.5, seed, epoch and first sample index 0. */
CLCNN_API clcnn_augment_params clcnn_augment_params_default(void);

/* y = the augmented batch x (see above). x and y are [N, C, H, W] of one
 * shape and must not share memory. Errors: NULL pointers, pad above 2^24,
 * a flip probability outside [0, 1] (NaN included), sample indices past
 * 2^64 - 1, or y sharing memory with x: CLCNN_ERROR_INVALID_ARGUMENT; x
 * not 4-D or y of another shape: CLCNN_ERROR_INVALID_SHAPE; a tensor of
 * another context: CLCNN_ERROR_CONTEXT_MISMATCH; a plane of 2^30 elements
 * or more: CLCNN_ERROR_SIZE_OVERFLOW. Asynchronous. */
CLCNN_API clcnn_status clcnn_augment_crop_flip(clcnn_context *context,
                                               const clcnn_augment_params *params,
                                               const clcnn_tensor *x, clcnn_tensor *y);

#ifdef __cplusplus
}
#endif

#endif
