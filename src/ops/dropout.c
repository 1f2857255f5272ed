/* Inverted dropout (see include/clcnn/dropout.h) on the kernels of
 * cl/dropout.cl: Philox4x32-10 masks that depend only on (seed, offset, p,
 * element index), kept for backward either as (seed, offset) or as bits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn/dropout.h"
#include "dropout_layout.h"
#include "runtime/internal.h"

/* ------------------------------------------------------------ device table */

/* Per device type: Philox lanes per work-item and how backward finds the
 * mask. CPU row, measured on POCL 3.1 (2-core Zen 4, shared machine) for
 * p = 0.5 forward + backward on 128x64x32x32, median of 5: BITS 14.6 ms at
 * 16 lanes (22.9 at 8, 88 at 1), REGENERATE 23.7 ms at 16 lanes (35.5 at 8,
 * 83 at 1): drawing a mask costs more than storing and reading 1 bit per
 * element. GPU row, not measured here: scalar Philox ran at ~1000 G words/s
 * on an H200 against 71 G for 16 lanes (docs/benchmarks.md), far
 * faster than memory, so backward draws the mask again rather than keep a
 * buffer whose bits kernel gives each work-item 32 elements (poorly
 * coalesced at 1 lane). Other devices take the GPU-like default row. */
/* The device table's row (runtime/device_table.c, clcnn__dropout_choices:
 * lanes and CLCNN__DROPOUT_BITS/REGENERATE, the values of
 * clcnn_dropout_mask_strategy). */
_Static_assert(CLCNN__DROPOUT_REGENERATE == CLCNN_DROPOUT_MASK_REGENERATE &&
                   CLCNN__DROPOUT_BITS == CLCNN_DROPOUT_MASK_BITS,
               "runtime/choices.h and clcnn/dropout.h disagree");

static const clcnn__dropout_choices *tuning_for(const clcnn_context *ctx) {
    return &ctx->choices.dropout;
}

/* Work-items that cover numel elements, per_item each (the kernels return
 * past the end). */
static size_t work_items(size_t numel, size_t per_item) {
    return numel / per_item + (numel % per_item != 0);
}

static size_t bit_words(size_t numel) {
    return work_items(numel, 32);
}

/* ------------------------------------------------------------------- masks */

/* What a forward pass draws: its Philox stream (key, counter offset) and
 * decision (threshold, scale); the identity where it draws nothing. */
typedef struct dropout_pass {
    int identity;
    float p;
    uint32_t threshold;
    float scale;
    uint64_t seed;
    uint64_t offset;
} dropout_pass;

struct clcnn_dropout_mask {
    clcnn_context *ctx;
    size_t numel;
    clcnn_dropout_mask_strategy strategy;
    unsigned vector_width;
    cl_mem bits; /* BITS: bit_words(numel) uint32; NULL otherwise */
    int recorded;
    dropout_pass pass; /* the recorded forward pass's */
};

clcnn_dropout_state clcnn_dropout_state_init(uint64_t seed) {
    clcnn_dropout_state state = {seed, 0};
    return state;
}

clcnn_dropout_mask_options clcnn_dropout_mask_options_default(void) {
    clcnn_dropout_mask_options options = {CLCNN_DROPOUT_MASK_AUTO, 0};
    return options;
}

static int supported_width(unsigned width) {
    return width == 1 || width == 8 || width == 16;
}

static clcnn_status dropout_mask_create(clcnn_context *context, size_t numel,
                                        const clcnn_dropout_mask_options *options,
                                        clcnn_dropout_mask **out) {
    if (context == NULL || out == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_dropout_mask_create: out is NULL");
    *out = NULL;
    clcnn_dropout_mask_options chosen =
        options != NULL ? *options : clcnn_dropout_mask_options_default();
    if (chosen.strategy != CLCNN_DROPOUT_MASK_AUTO &&
        chosen.strategy != CLCNN_DROPOUT_MASK_REGENERATE &&
        chosen.strategy != CLCNN_DROPOUT_MASK_BITS)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_dropout_mask_create: unknown strategy %d", (int)chosen.strategy);
    if (chosen.vector_width != 0 && !supported_width(chosen.vector_width))
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_dropout_mask_create: vector width %u is not 0, 1, 8 or 16",
                           chosen.vector_width);
    if (numel == 0)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_SHAPE,
                           "clcnn_dropout_mask_create: a mask of 0 elements");
    size_t bytes = bit_words(numel) * sizeof(uint32_t); /* <= numel / 8 + 4: no overflow */

    const clcnn__dropout_choices *tuning = tuning_for(context);
    clcnn_dropout_mask *mask = calloc(1, sizeof *mask);
    if (mask == NULL)
        return clcnn__fail(context, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    mask->ctx = context;
    mask->numel = numel;
    mask->strategy = chosen.strategy == CLCNN_DROPOUT_MASK_AUTO
                         ? (clcnn_dropout_mask_strategy)tuning->strategy
                         : chosen.strategy;
    mask->vector_width = chosen.vector_width != 0 ? chosen.vector_width : tuning->lanes;
    if (mask->strategy == CLCNN_DROPOUT_MASK_BITS) {
        clcnn_status status = clcnn__buffer_acquire(context, bytes, &mask->bits);
        if (status != CLCNN_OK) {
            free(mask);
            return status;
        }
    }
    *out = mask;
    return CLCNN_OK;
}

clcnn_status clcnn_dropout_mask_create(clcnn_context *context, size_t numel,
                                       const clcnn_dropout_mask_options *options,
                                       clcnn_dropout_mask **out) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, dropout_mask_create(context, numel, options, out));
}

void clcnn_dropout_mask_destroy(clcnn_dropout_mask *mask) {
    if (mask == NULL)
        return;
    if (mask->bits != NULL)
        clcnn__buffer_release(mask->ctx, mask->bits);
    free(mask);
}

clcnn_status clcnn_dropout_mask_get_info(const clcnn_dropout_mask *mask,
                                         clcnn_dropout_mask_info *out) {
    if (mask == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (out == NULL)
        return clcnn__fail(mask->ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: out is NULL", __func__);
    memset(out, 0, sizeof *out);
    out->numel = mask->numel;
    out->strategy = mask->strategy;
    out->vector_width = mask->vector_width;
    out->recorded = mask->recorded;
    out->identity = mask->pass.identity;
    out->p = mask->pass.p;
    out->seed = mask->pass.seed;
    out->offset = mask->pass.offset;
    return CLCNN_OK;
}

/* ----------------------------------------------------------------- kernels */

/* Prepares kernel `name` of the program of `lanes` Philox lanes. */
static clcnn_status prepare(clcnn_context *ctx, unsigned lanes, const char *name,
                            clcnn__launch *launch) {
    char options[32];
    snprintf(options, sizeof options, "-DDROPOUT_VEC=%u", lanes);
    return clcnn__launch_prepare(ctx, "dropout.cl", options, name, launch);
}

/* The Philox stream and decision of a recorded pass: key, counter offset
 * (each as two 32-bit words) and threshold. */
static void arg_stream(clcnn__launch *launch, const dropout_pass *pass) {
    clcnn__arg_uint(launch, (uint32_t)pass->seed);
    clcnn__arg_uint(launch, (uint32_t)(pass->seed >> 32));
    clcnn__arg_uint(launch, (uint32_t)pass->offset);
    clcnn__arg_uint(launch, (uint32_t)(pass->offset >> 32));
    clcnn__arg_uint(launch, pass->threshold);
}

/* Runs a kernel over numel elements, per_item a work-item. Every dropout
 * kernel guards its range and uses no local memory: the driver chooses the
 * work-group. */
static clcnn_status run(clcnn__launch *launch, size_t numel, size_t per_item) {
    size_t global = work_items(numel, per_item);
    return clcnn__launch_run_fitted(launch, 1, &global, NULL);
}

/* dst (+)= keep ? src * scale : 0 with the mask drawn from the pass's
 * stream. */
static clcnn_status enqueue_apply(clcnn_context *ctx, unsigned lanes, const dropout_pass *pass,
                                  const clcnn_tensor *src, clcnn_tensor *dst, int accumulate) {
    clcnn__launch launch;
    clcnn_status status = prepare(ctx, lanes, "dropout_apply", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_tensor(&launch, src);
    clcnn__arg_tensor(&launch, dst);
    clcnn__arg_ulong(&launch, src->numel);
    arg_stream(&launch, pass);
    clcnn__arg_float(&launch, pass->scale);
    clcnn__arg_uint(&launch, accumulate != 0);
    return run(&launch, src->numel, DROPOUT_CHUNK(lanes));
}

/* dst = keep ? src * scale : 0, the mask also stored as bits. */
static clcnn_status enqueue_apply_bits(clcnn_context *ctx, unsigned lanes, const dropout_pass *pass,
                                       const clcnn_tensor *src, clcnn_tensor *dst, cl_mem bits) {
    clcnn__launch launch;
    clcnn_status status = prepare(ctx, lanes, "dropout_apply_bits", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_tensor(&launch, src);
    clcnn__arg_tensor(&launch, dst);
    clcnn__arg_mem(&launch, bits);
    clcnn__arg_ulong(&launch, src->numel);
    arg_stream(&launch, pass);
    clcnn__arg_float(&launch, pass->scale);
    return run(&launch, src->numel, DROPOUT_BITS_ELEMS(lanes));
}

/* The mask of the recorded pass as bits only. */
static clcnn_status enqueue_mask_bits(clcnn_context *ctx, const clcnn_dropout_mask *mask,
                                      cl_mem bits) {
    clcnn__launch launch;
    clcnn_status status = prepare(ctx, mask->vector_width, "dropout_mask_bits", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_mem(&launch, bits);
    clcnn__arg_ulong(&launch, mask->numel);
    arg_stream(&launch, &mask->pass);
    return run(&launch, mask->numel, DROPOUT_BITS_ELEMS(mask->vector_width));
}

/* dst (+)= bit ? src * scale : 0, the mask's bits stored. */
static clcnn_status enqueue_apply_from_bits(clcnn_context *ctx, const clcnn_dropout_mask *mask,
                                            const clcnn_tensor *src, clcnn_tensor *dst,
                                            int accumulate) {
    clcnn__launch launch;
    clcnn_status status = prepare(ctx, mask->vector_width, "dropout_apply_from_bits", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_tensor(&launch, src);
    clcnn__arg_tensor(&launch, dst);
    clcnn__arg_mem(&launch, mask->bits);
    clcnn__arg_ulong(&launch, src->numel);
    clcnn__arg_float(&launch, mask->pass.scale);
    clcnn__arg_uint(&launch, accumulate != 0);
    return run(&launch, src->numel, DROPOUT_PLAIN_ELEMS);
}

/* dst += src. */
static clcnn_status enqueue_accumulate(clcnn_context *ctx, unsigned lanes, const clcnn_tensor *src,
                                       clcnn_tensor *dst) {
    clcnn__launch launch;
    clcnn_status status = prepare(ctx, lanes, "dropout_accumulate", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_tensor(&launch, src);
    clcnn__arg_tensor(&launch, dst);
    clcnn__arg_ulong(&launch, src->numel);
    return run(&launch, src->numel, DROPOUT_PLAIN_ELEMS);
}

/* ---------------------------------------------------------------- checks */

/* in and out present, of this context and of one shape. */
static clcnn_status check_pair(clcnn_context *ctx, const char *fn, const clcnn_tensor *in,
                               const char *in_name, const clcnn_tensor *out, const char *out_name) {
    const clcnn_tensor *operands[] = {in, out};
    const char *names[] = {in_name, out_name};
    clcnn_status status = clcnn__check_tensors(ctx, fn, operands, names, 2);
    return status == CLCNN_OK ? clcnn__check_same_shape(ctx, fn, in_name, in, out_name, out)
                              : status;
}

static clcnn_status check_mask(clcnn_context *ctx, const char *op, const clcnn_dropout_mask *mask,
                               const clcnn_tensor *tensor, const char *name) {
    if (mask->ctx != ctx)
        return clcnn__fail(ctx, CLCNN_ERROR_CONTEXT_MISMATCH,
                           "%s: the mask belongs to another "
                           "context",
                           op);
    if (mask->numel != tensor->numel) {
        char shape[96];
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE,
                           "%s: a mask of %zu elements for %s %s (%zu elements)", op, mask->numel,
                           name, clcnn__shape_string(tensor, shape, sizeof shape), tensor->numel);
    }
    return CLCNN_OK;
}

/* --------------------------------------------------------------- forward */

/* The pass a forward call makes: with p's threshold and scale where it
 * draws, else the identity (threshold 0, scale 1). */
static dropout_pass pass_for(float p, int draws, const clcnn_dropout_state *state) {
    dropout_pass pass = {!draws, p, 0, 1.0f, 0, 0};
    if (state != NULL) {
        pass.seed = state->seed;
        pass.offset = state->offset;
    }
    if (draws) {
        /* Exact: p * 2^32 is a double product by a power of two, < 2^32. */
        pass.threshold = (uint32_t)floor((double)p * 4294967296.0);
        pass.scale = (float)(1.0 / (1.0 - (double)p));
    }
    return pass;
}

/* y = keep ? x * scale : 0 with the pass's mask, also stored as bits where
 * the mask keeps them. */
static clcnn_status enqueue_forward(clcnn_context *ctx, const clcnn_dropout_mask *mask,
                                    const dropout_pass *pass, const clcnn_tensor *x,
                                    clcnn_tensor *y) {
    unsigned lanes = mask != NULL ? mask->vector_width : tuning_for(ctx)->lanes;
    if (mask != NULL && mask->strategy == CLCNN_DROPOUT_MASK_BITS)
        return enqueue_apply_bits(ctx, lanes, pass, x, y, mask->bits);
    return enqueue_apply(ctx, lanes, pass, x, y, 0);
}

static clcnn_status dropout_forward(clcnn_context *context, clcnn_dropout_state *state, float p,
                                    int training, const clcnn_tensor *x, clcnn_tensor *y,
                                    clcnn_dropout_mask *mask) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_status status = check_pair(context, "clcnn_dropout_forward", x, "x", y, "y");
    if (status != CLCNN_OK)
        return status;
    if (!(p >= 0.0f && p < 1.0f))
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_dropout_forward: p = %g is outside [0, 1)", (double)p);
    if (mask != NULL &&
        (status = check_mask(context, "clcnn_dropout_forward", mask, x, "x")) != CLCNN_OK)
        return status;
    int draws = training && p > 0.0f;
    if (draws && state == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_dropout_forward: state is NULL (needed to draw a mask)");
    dropout_pass pass = pass_for(p, draws, state);
    status = draws ? enqueue_forward(context, mask, &pass, x, y) : clcnn_tensor_copy(y, x);
    if (status != CLCNN_OK)
        return status;
    if (mask != NULL) {
        mask->recorded = 1;
        mask->pass = pass;
    }
    if (draws)
        state->offset++;
    return CLCNN_OK;
}

clcnn_status clcnn_dropout_forward(clcnn_context *context, clcnn_dropout_state *state, float p,
                                   int training, const clcnn_tensor *x, clcnn_tensor *y,
                                   clcnn_dropout_mask *mask) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        dropout_forward(context, state, p, training, x, y, mask));
}

/* -------------------------------------------------------------- backward */

static clcnn_status dropout_backward(clcnn_context *context, const clcnn_dropout_mask *mask,
                                     const clcnn_tensor *dy, clcnn_tensor *dx,
                                     clcnn_grad_mode mode) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (mask == NULL)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_dropout_backward: mask is NULL");
    clcnn_status status = check_pair(context, "clcnn_dropout_backward", dy, "dy", dx, "dx");
    if (status != CLCNN_OK)
        return status;
    if ((status = clcnn__check_grad_mode(context, "clcnn_dropout_backward", mode)) != CLCNN_OK)
        return status;
    if ((status = check_mask(context, "clcnn_dropout_backward", mask, dy, "dy")) != CLCNN_OK)
        return status;
    if (!mask->recorded)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_dropout_backward: no forward pass has filled the mask");
    int accumulate = mode == CLCNN_GRAD_ACCUMULATE;
    if (mask->pass.identity)
        return accumulate ? enqueue_accumulate(context, mask->vector_width, dy, dx)
                          : clcnn_tensor_copy(dx, dy);
    if (mask->strategy == CLCNN_DROPOUT_MASK_BITS)
        return enqueue_apply_from_bits(context, mask, dy, dx, accumulate);
    return enqueue_apply(context, mask->vector_width, &mask->pass, dy, dx, accumulate);
}

clcnn_status clcnn_dropout_backward(clcnn_context *context, const clcnn_dropout_mask *mask,
                                    const clcnn_tensor *dy, clcnn_tensor *dx,
                                    clcnn_grad_mode mode) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__, dropout_backward(context, mask, dy, dx, mode));
}

/* ------------------------------------------------------------- read back */

static clcnn_status dropout_mask_read(const clcnn_dropout_mask *mask, uint32_t *words,
                                      size_t word_count) {
    if (mask == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn_context *ctx = mask->ctx;
    size_t needed = bit_words(mask->numel);
    if (words == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_dropout_mask_read: words is NULL");
    if (word_count < needed)
        return clcnn__fail(
            ctx, CLCNN_ERROR_OUT_OF_RANGE,
            "clcnn_dropout_mask_read: %zu words cannot hold the %zu of a mask of %zu "
            "elements",
            word_count, needed, mask->numel);
    if (!mask->recorded)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_dropout_mask_read: no forward pass has filled the mask");
    if (mask->pass.identity) {
        for (size_t i = 0; i < needed; i++)
            words[i] = 0xFFFFFFFFu;
        if (mask->numel % 32 != 0)
            words[needed - 1] = (1u << (mask->numel % 32)) - 1u;
        return CLCNN_OK;
    }
    size_t bytes = needed * sizeof(uint32_t);
    cl_int err;
    if (mask->strategy == CLCNN_DROPOUT_MASK_BITS) {
        err = clEnqueueReadBuffer(ctx->queue, mask->bits, CL_TRUE, 0, bytes, words, 0, NULL, NULL);
        return err == CL_SUCCESS ? CLCNN_OK : clcnn__fail_cl(ctx, err, "clEnqueueReadBuffer");
    }
    cl_mem workspace;
    clcnn_status status = clcnn__buffer_acquire(ctx, bytes, &workspace);
    if (status != CLCNN_OK)
        return status;
    status = enqueue_mask_bits(ctx, mask, workspace);
    if (status == CLCNN_OK) {
        err = clEnqueueReadBuffer(ctx->queue, workspace, CL_TRUE, 0, bytes, words, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            status = clcnn__fail_cl(ctx, err, "clEnqueueReadBuffer");
    }
    clcnn__buffer_release(ctx, workspace);
    return status;
}

clcnn_status clcnn_dropout_mask_read(const clcnn_dropout_mask *mask, uint32_t *words,
                                     size_t word_count) {
    if (mask == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(mask->ctx);
    return clcnn__named(mask->ctx, mark, __func__, dropout_mask_read(mask, words, word_count));
}
