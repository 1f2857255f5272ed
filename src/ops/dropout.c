/* Inverted dropout (see include/clcnn/dropout.h) on the kernels of
 * cl/dropout.cl: Philox4x32-10 masks that depend only on (seed, offset, p,
 * element index), kept for backward either as (seed, offset) or as bits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clcnn/dropout.h"
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

/* Elements one work-item covers in dropout_apply (CHUNK in the kernel) and
 * in the bits kernels (BITS_ELEMS: whole 32-bit words). */
static size_t chunk_elements(unsigned vector_width) {
    return 4 * (size_t)vector_width;
}

static size_t bits_elements(unsigned vector_width) {
    size_t chunk = chunk_elements(vector_width);
    return chunk >= 32 ? chunk : 32;
}

static size_t bit_words(size_t numel) {
    return numel / 32 + (numel % 32 != 0);
}

/* ------------------------------------------------------------------- masks */

struct clcnn_dropout_mask {
    clcnn_context *ctx;
    size_t numel;
    clcnn_dropout_mask_strategy strategy;
    unsigned vector_width;
    cl_mem bits; /* BITS: bit_words(numel) uint32; NULL otherwise */
    int recorded;
    int identity;
    float p;
    uint32_t threshold;
    float scale;
    uint64_t seed;
    uint64_t offset;
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
    out->identity = mask->identity;
    out->p = mask->p;
    out->seed = mask->seed;
    out->offset = mask->offset;
    return CLCNN_OK;
}

/* ----------------------------------------------------------------- kernels */

static clcnn_status get_kernel(clcnn_context *ctx, unsigned vector_width, const char *name,
                               cl_kernel *out) {
    char options[32];
    snprintf(options, sizeof options, "-DDROPOUT_VEC=%u", vector_width);
    return clcnn__kernel_get(ctx, "dropout.cl", options, name, out);
}

/* Sets the arguments of a kernel from a list of (size, pointer) pairs. */
static clcnn_status set_args(clcnn_context *ctx, cl_kernel kernel, size_t count,
                             const size_t *sizes, const void *const *values) {
    for (size_t i = 0; i < count; i++) {
        cl_int err = clSetKernelArg(kernel, (cl_uint)i, sizes[i], values[i]);
        if (err != CL_SUCCESS)
            return clcnn__fail_cl(ctx, err, "clSetKernelArg (dropout)");
    }
    return CLCNN_OK;
}

/* The Philox stream and decision of one recorded pass, as kernel words. */
typedef struct stream_args {
    cl_uint key0, key1, offset_lo, offset_hi, threshold;
    cl_float scale;
} stream_args;

static stream_args stream_of(const clcnn_dropout_mask *mask) {
    stream_args a;
    a.key0 = (cl_uint)mask->seed;
    a.key1 = (cl_uint)(mask->seed >> 32);
    a.offset_lo = (cl_uint)mask->offset;
    a.offset_hi = (cl_uint)(mask->offset >> 32);
    a.threshold = mask->threshold;
    a.scale = mask->scale;
    return a;
}

/* dst (+)= keep ? src * scale : 0 with the mask drawn from the stream. */
static clcnn_status enqueue_apply(clcnn_context *ctx, unsigned width, const stream_args *s,
                                  cl_mem src, cl_mem dst, size_t numel, int accumulate) {
    cl_kernel kernel;
    clcnn_status status = get_kernel(ctx, width, "dropout_apply", &kernel);
    if (status != CLCNN_OK)
        return status;
    cl_ulong count = numel;
    cl_uint acc = accumulate != 0;
    const size_t sizes[] = {sizeof src,          sizeof dst,          sizeof count,
                            sizeof s->key0,      sizeof s->key1,      sizeof s->offset_lo,
                            sizeof s->offset_hi, sizeof s->threshold, sizeof s->scale,
                            sizeof acc};
    const void *const values[] = {&src,          &dst,          &count,        &s->key0,  &s->key1,
                                  &s->offset_lo, &s->offset_hi, &s->threshold, &s->scale, &acc};
    status = set_args(ctx, kernel, 10, sizes, values);
    if (status != CLCNN_OK)
        return status;
    size_t chunk = chunk_elements(width);
    size_t global = numel / chunk + (numel % chunk != 0);
    return clcnn__enqueue_kernel(ctx, kernel, 1, &global, NULL);
}

/* dst = keep ? src * scale : 0, the mask also stored as bits. */
static clcnn_status enqueue_apply_bits(clcnn_context *ctx, unsigned width, const stream_args *s,
                                       cl_mem src, cl_mem dst, cl_mem bits, size_t numel) {
    cl_kernel kernel;
    clcnn_status status = get_kernel(ctx, width, "dropout_apply_bits", &kernel);
    if (status != CLCNN_OK)
        return status;
    cl_ulong count = numel;
    const size_t sizes[] = {sizeof src,          sizeof dst,          sizeof bits,
                            sizeof count,        sizeof s->key0,      sizeof s->key1,
                            sizeof s->offset_lo, sizeof s->offset_hi, sizeof s->threshold,
                            sizeof s->scale};
    const void *const values[] = {&src,     &dst,          &bits,         &count,        &s->key0,
                                  &s->key1, &s->offset_lo, &s->offset_hi, &s->threshold, &s->scale};
    status = set_args(ctx, kernel, 10, sizes, values);
    if (status != CLCNN_OK)
        return status;
    size_t per_item = bits_elements(width);
    size_t global = numel / per_item + (numel % per_item != 0);
    return clcnn__enqueue_kernel(ctx, kernel, 1, &global, NULL);
}

/* The mask of the stream as bits only. */
static clcnn_status enqueue_mask_bits(clcnn_context *ctx, unsigned width, const stream_args *s,
                                      cl_mem bits, size_t numel) {
    cl_kernel kernel;
    clcnn_status status = get_kernel(ctx, width, "dropout_mask_bits", &kernel);
    if (status != CLCNN_OK)
        return status;
    cl_ulong count = numel;
    const size_t sizes[] = {sizeof bits,        sizeof count,        sizeof s->key0,
                            sizeof s->key1,     sizeof s->offset_lo, sizeof s->offset_hi,
                            sizeof s->threshold};
    const void *const values[] = {&bits,         &count,        &s->key0,     &s->key1,
                                  &s->offset_lo, &s->offset_hi, &s->threshold};
    status = set_args(ctx, kernel, 7, sizes, values);
    if (status != CLCNN_OK)
        return status;
    size_t per_item = bits_elements(width);
    size_t global = numel / per_item + (numel % per_item != 0);
    return clcnn__enqueue_kernel(ctx, kernel, 1, &global, NULL);
}

/* dst (+)= bit ? src * scale : 0. */
static clcnn_status enqueue_apply_from_bits(clcnn_context *ctx, unsigned width, cl_mem src,
                                            cl_mem dst, cl_mem bits, size_t numel, float scale,
                                            int accumulate) {
    cl_kernel kernel;
    clcnn_status status = get_kernel(ctx, width, "dropout_apply_from_bits", &kernel);
    if (status != CLCNN_OK)
        return status;
    cl_ulong count = numel;
    cl_float scale_arg = scale;
    cl_uint acc = accumulate != 0;
    const size_t sizes[] = {sizeof src,   sizeof dst,       sizeof bits,
                            sizeof count, sizeof scale_arg, sizeof acc};
    const void *const values[] = {&src, &dst, &bits, &count, &scale_arg, &acc};
    status = set_args(ctx, kernel, 6, sizes, values);
    if (status != CLCNN_OK)
        return status;
    size_t global = numel / 4 + (numel % 4 != 0);
    return clcnn__enqueue_kernel(ctx, kernel, 1, &global, NULL);
}

/* dst += src. */
static clcnn_status enqueue_accumulate(clcnn_context *ctx, unsigned width, cl_mem src, cl_mem dst,
                                       size_t numel) {
    cl_kernel kernel;
    clcnn_status status = get_kernel(ctx, width, "dropout_accumulate", &kernel);
    if (status != CLCNN_OK)
        return status;
    cl_ulong count = numel;
    const size_t sizes[] = {sizeof src, sizeof dst, sizeof count};
    const void *const values[] = {&src, &dst, &count};
    status = set_args(ctx, kernel, 3, sizes, values);
    if (status != CLCNN_OK)
        return status;
    size_t global = numel / 4 + (numel % 4 != 0);
    return clcnn__enqueue_kernel(ctx, kernel, 1, &global, NULL);
}

/* ---------------------------------------------------------------- checks */

static int same_shape(const clcnn_tensor *a, const clcnn_tensor *b) {
    if (a->ndim != b->ndim)
        return 0;
    for (size_t i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    return 1;
}

static clcnn_status check_pair(clcnn_context *ctx, const char *op, const clcnn_tensor *in,
                               const char *in_name, const clcnn_tensor *out, const char *out_name) {
    clcnn_status status = clcnn__check_tensor(ctx, in, in_name);
    if (status == CLCNN_OK)
        status = clcnn__check_tensor(ctx, out, out_name);
    if (status != CLCNN_OK)
        return status;
    if (!same_shape(in, out)) {
        char a[96], b[96];
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_SHAPE, "%s: %s %s and %s %s differ in shape",
                           op, in_name, clcnn__shape_string(in, a, sizeof a), out_name,
                           clcnn__shape_string(out, b, sizeof b));
    }
    return CLCNN_OK;
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

    if (!draws) {
        status = clcnn_tensor_copy(y, x);
        if (status != CLCNN_OK)
            return status;
        if (mask != NULL) {
            mask->recorded = 1;
            mask->identity = 1;
            mask->p = p;
            mask->threshold = 0;
            mask->scale = 1.0f;
            mask->seed = state != NULL ? state->seed : 0;
            mask->offset = state != NULL ? state->offset : 0;
        }
        return CLCNN_OK;
    }

    clcnn_dropout_mask pass; /* the recorded fields, written to mask on success */
    memset(&pass, 0, sizeof pass);
    pass.p = p;
    /* Exact: p * 2^32 is a double product by a power of two, < 2^32. */
    pass.threshold = (uint32_t)floor((double)p * 4294967296.0);
    pass.scale = (float)(1.0 / (1.0 - (double)p));
    pass.seed = state->seed;
    pass.offset = state->offset;
    stream_args s = stream_of(&pass);

    const clcnn__dropout_choices *tuning = tuning_for(context);
    unsigned width = mask != NULL ? mask->vector_width : tuning->lanes;
    if (mask != NULL && mask->strategy == CLCNN_DROPOUT_MASK_BITS)
        status = enqueue_apply_bits(context, width, &s, x->storage->mem, y->storage->mem,
                                    mask->bits, x->numel);
    else
        status = enqueue_apply(context, width, &s, x->storage->mem, y->storage->mem, x->numel, 0);
    if (status != CLCNN_OK)
        return status;
    if (mask != NULL) {
        mask->recorded = 1;
        mask->identity = 0;
        mask->p = pass.p;
        mask->threshold = pass.threshold;
        mask->scale = pass.scale;
        mask->seed = pass.seed;
        mask->offset = pass.offset;
    }
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
    if (mode != CLCNN_GRAD_OVERWRITE && mode != CLCNN_GRAD_ACCUMULATE)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_dropout_backward: unknown grad mode %d", (int)mode);
    if ((status = check_mask(context, "clcnn_dropout_backward", mask, dy, "dy")) != CLCNN_OK)
        return status;
    if (!mask->recorded)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT,
                           "clcnn_dropout_backward: no forward pass has filled the mask");
    int accumulate = mode == CLCNN_GRAD_ACCUMULATE;
    cl_mem src = dy->storage->mem, dst = dx->storage->mem;
    if (mask->identity)
        return accumulate ? enqueue_accumulate(context, mask->vector_width, src, dst, dy->numel)
                          : clcnn_tensor_copy(dx, dy);
    if (mask->strategy == CLCNN_DROPOUT_MASK_BITS)
        return enqueue_apply_from_bits(context, mask->vector_width, src, dst, mask->bits, dy->numel,
                                       mask->scale, accumulate);
    stream_args s = stream_of(mask);
    return enqueue_apply(context, mask->vector_width, &s, src, dst, dy->numel, accumulate);
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
    if (mask->identity) {
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
    stream_args s = stream_of(mask);
    status = enqueue_mask_bits(ctx, mask->vector_width, &s, workspace, mask->numel);
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
