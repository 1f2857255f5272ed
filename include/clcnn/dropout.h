/* Inverted dropout: y = x * m / (1 - p) with m ~ Bernoulli(1 - p), masks
 * drawn on the device by Philox4x32-10.
 *
 * Masks. Element e of a call is kept iff word e of the Philox stream
 * (seed, offset) is >= floor(p * 2^32) (cl/philox.h gives the counter
 * layout: counter = {e/4 low, e/4 high, offset low, offset high}, key =
 * {seed low, seed high}, word e % 4 of the block). The threshold is an
 * integer computed on the host, so a mask depends only on (seed, offset, p,
 * e) and is the same bit for bit on every device, work-group size and vector
 * width. P(keep) = 1 - floor(p * 2^32) / 2^32, within 2^-32 of 1 - p.
 * (PyTorch's CUDA dropout keeps u < 1 - p with u = curand_uniform(word), a
 * float in (0, 1] rounded to 24 bits, and its masks depend on the launch
 * grid; here the comparison is exact and the low words are the dropped ones:
 * with u = word / 2^32, drop iff u < p. Masks are not PyTorch's.)
 *
 * Values. A kept element is x * scale with scale = 1 / (1 - p) computed in
 * double and rounded to float once (one correctly rounded float product, the
 * same on every device); a dropped one is exactly 0, whatever x is (also for
 * NaN and infinity). Training with p = 0, and evaluation (training == 0), are
 * the identity: y is a copy of x (nothing at all when y is x), no randoms
 * are drawn and the state's offset does not move.
 *
 * All functions are asynchronous like every op (see clcnn/ops.h), except
 * clcnn_dropout_mask_read, which blocks. */
#ifndef CLCNN_DROPOUT_H
#define CLCNN_DROPOUT_H

#include <stdint.h>

#include "clcnn/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The generator of a dropout layer: a plain value, owned and stored by the
 * caller (e.g. in a checkpoint). `seed` is the Philox key (k0 = low 32 bits,
 * k1 = high 32 bits). `offset` names the Philox stream (counter words 2 and
 * 3) of the next call; every clcnn_dropout_forward that draws a mask uses
 * the current offset and then adds 1, so successive calls get fresh,
 * non-overlapping randoms (a stream holds 2^66 words). Two layers that share
 * a seed need distinct offsets ranges, or distinct seeds. */
typedef struct clcnn_dropout_state {
    uint64_t seed;
    uint64_t offset;
} clcnn_dropout_state;

/* A state with that seed and offset 0. */
CLCNN_API clcnn_dropout_state clcnn_dropout_state_init(uint64_t seed);

/* How backward recovers the forward mask. */
typedef enum clcnn_dropout_mask_strategy {
    /* The device's row of the library's table: BITS on CPU devices (on POCL
     * drawing a mask costs more than storing and reading 1 bit per element:
     * forward + backward measured 1.5-2x faster), REGENERATE on GPUs and other
     * devices (Philox there is far cheaper than memory traffic). */
    CLCNN_DROPOUT_MASK_AUTO = 0,
    /* Keep only (seed, offset, p): backward draws the same words again. */
    CLCNN_DROPOUT_MASK_REGENERATE = 1,
    /* Store the mask as bits (a device buffer of ceil(numel / 32) uint32,
     * made when the mask is created): bit e % 32 of word e / 32 is element
     * e's keep flag. */
    CLCNN_DROPOUT_MASK_BITS = 2
} clcnn_dropout_mask_strategy;

typedef struct clcnn_dropout_mask_options {
    clcnn_dropout_mask_strategy strategy; /* default CLCNN_DROPOUT_MASK_AUTO */
    /* Philox generators per work-item: 0 (default) takes the device's row of
     * the library's table (16 on CPU devices, 1 on GPUs); 1, 8 or 16
     * force one. A speed choice only: every width gives the same masks. */
    unsigned vector_width;
} clcnn_dropout_mask_options;

/* Options with every field at its default. */
CLCNN_API clcnn_dropout_mask_options clcnn_dropout_mask_options_default(void);

/* What a forward pass leaves for its backward pass, for tensors of `numel`
 * elements: the (seed, offset, p) it used, and the bits with the BITS
 * strategy. Created by clcnn_dropout_mask_create (options NULL: defaults),
 * freed by clcnn_dropout_mask_destroy (NULL is a no-op) before its context.
 * Used by one thread at a time, like its context. Errors:
 * CLCNN_ERROR_INVALID_ARGUMENT (NULL context or out, unknown strategy,
 * unsupported vector width), CLCNN_ERROR_INVALID_SHAPE (numel 0),
 * CLCNN_ERROR_OUT_OF_DEVICE_MEMORY (the bits do not fit the device). */
typedef struct clcnn_dropout_mask clcnn_dropout_mask;

CLCNN_API clcnn_status clcnn_dropout_mask_create(clcnn_context *context, size_t numel,
                                                 const clcnn_dropout_mask_options *options,
                                                 clcnn_dropout_mask **out);
CLCNN_API void clcnn_dropout_mask_destroy(clcnn_dropout_mask *mask);

/* What a mask holds, for inspection and checkpoints. */
typedef struct clcnn_dropout_mask_info {
    size_t numel;
    clcnn_dropout_mask_strategy strategy; /* resolved: never AUTO */
    unsigned vector_width;                /* resolved: 1, 8 or 16 */
    int recorded;                         /* non-zero once a forward pass has filled it */
    int identity; /* the recorded pass kept everything (evaluation or p == 0) */
    float p;
    uint64_t seed;   /* the stream the recorded pass drew from */
    uint64_t offset; /* (meaningless when identity is set) */
} clcnn_dropout_mask_info;

CLCNN_API clcnn_status clcnn_dropout_mask_get_info(const clcnn_dropout_mask *mask,
                                                   clcnn_dropout_mask_info *out);

/* Reads the recorded mask as bits (layout as for CLCNN_DROPOUT_MASK_BITS; the
 * bits past numel in the last word are 0) into words[0 .. ceil(numel/32)-1],
 * whatever the strategy (REGENERATE draws it again into a workspace).
 * Blocking. word_count below ceil(numel / 32) is CLCNN_ERROR_OUT_OF_RANGE; a
 * mask no forward pass has filled is CLCNN_ERROR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_dropout_mask_read(const clcnn_dropout_mask *mask, uint32_t *words,
                                               size_t word_count);

/* y = dropout(x): x and y have the same shape; y may be x (in place).
 * `state` (may be NULL when no mask is drawn: training == 0 or p == 0) gives
 * the stream and is advanced by one when a mask is drawn. `mask` (NULL when
 * no backward pass will follow) records what backward needs; its numel must
 * be x's. p outside [0, 1), NaN included, is CLCNN_ERROR_INVALID_ARGUMENT
 * (also in evaluation); NULL context, x, y, or state when needed:
 * CLCNN_ERROR_INVALID_ARGUMENT; shapes: CLCNN_ERROR_INVALID_SHAPE; objects
 * of another context: CLCNN_ERROR_CONTEXT_MISMATCH. Nothing is enqueued and
 * the state is unchanged when a check fails. */
CLCNN_API clcnn_status clcnn_dropout_forward(clcnn_context *context, clcnn_dropout_state *state,
                                             float p, int training, const clcnn_tensor *x,
                                             clcnn_tensor *y, clcnn_dropout_mask *mask);

/* dx = dy * m / (1 - p) with exactly the mask (and p) of the forward pass the
 * mask recorded (dx += that with CLCNN_GRAD_ACCUMULATE); a pass that kept
 * everything gives dx = dy (or dx += dy). dy and dx have the same shape, of
 * the mask's numel; dx may be dy. Errors: NULL context, mask, dy or dx,
 * unknown mode, or a mask no forward pass has filled:
 * CLCNN_ERROR_INVALID_ARGUMENT; shapes: CLCNN_ERROR_INVALID_SHAPE; objects of
 * another context: CLCNN_ERROR_CONTEXT_MISMATCH. */
CLCNN_API clcnn_status clcnn_dropout_backward(clcnn_context *context,
                                              const clcnn_dropout_mask *mask,
                                              const clcnn_tensor *dy, clcnn_tensor *dx,
                                              clcnn_grad_mode mode);

#ifdef __cplusplus
}
#endif

#endif
