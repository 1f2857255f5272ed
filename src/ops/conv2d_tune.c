/* conv2d's side of auto-tuning (clcnn/tune.h): the tuning key of a pass and
 * shape, the tuning table's typed entry for conv2d.c, and
 * clcnn_conv2d_tune, which measures the candidates of each pass and stores
 * the fastest.
 *
 * The tuner runs each candidate through clcnn__conv2d_run_with, the
 * dispatch the public entry points use once they have chosen, with the
 * candidate as an explicit choice; the table changes only at the end. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/conv2d_tune.h"
#include "ops/tune_common.h"

#define MAX_CANDIDATES (CLCNN__CONV2D_MAX_TILE_CANDIDATES + 3)

static const char *const pass_names[CLCNN_CONV2D_TUNE_PASSES] = {"fwd", "bwd_data", "bwd_weights"};

/* ------------------------------------------------------------ keys, choices */

int clcnn__conv2d_tuning_key(const clcnn__conv2d_geometry *g, clcnn__conv2d_pass pass, char *key,
                             size_t size) {
    int length = snprintf(key, size,
                          "conv2d.%s:%zux%zux%zux%zu,k%zux%zux%zu,s%zux%zu,p%zux%zu,"
                          "d%zux%zu,g%zu",
                          pass_names[pass], g->n, g->c, g->h, g->w, g->k, g->kh, g->kw, g->sh,
                          g->sw, g->ph, g->pw, g->dh, g->dw, g->groups);
    return length > 0 && (size_t)length < size;
}

const clcnn__conv2d_choice *clcnn__conv2d_tuned(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                                clcnn__conv2d_pass pass) {
    if (clcnn__tuning_count(ctx) == 0)
        return NULL;
    char key[CLCNN_TUNE_KEY_MAX];
    if (!clcnn__conv2d_tuning_key(g, pass, key, sizeof key))
        return NULL;
    const clcnn__tuning_entry *entry = clcnn__tuning_find(ctx, key);
    return entry != NULL ? &entry->choice.as.conv2d : NULL;
}

static clcnn__tuned_choice as_choice(const clcnn__conv2d_choice *choice) {
    clcnn__tuned_choice tuned = {CLCNN__TUNED_CONV2D, {.conv2d = *choice}};
    return tuned;
}

/* ------------------------------------------------------------------ shapes */

/* The geometry of a convolution given by dims, checked by conv2d.h's shape
 * rules (the 32-bit limits are the caller's to check). */
static clcnn_status geometry_from_dims(clcnn_context *ctx, const char *op,
                                       const clcnn_conv2d_params *params, const size_t x_dims[4],
                                       const size_t w_dims[4], clcnn__conv2d_geometry *g) {
    if (params == NULL || x_dims == NULL || w_dims == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "%s: params or a dims array is NULL",
                           op);
    clcnn_conv2d_params p = *params;
    p.algorithm = CLCNN_CONV2D_ALGO_AUTO;
    size_t y_dims[4];
    clcnn_status status = clcnn_conv2d_output_shape(&p, x_dims, w_dims, y_dims);
    if (status != CLCNN_OK)
        return clcnn__fail(ctx, status,
                           "%s: x [%zu, %zu, %zu, %zu] and w [%zu, %zu, %zu, %zu] with stride "
                           "%zux%zu, padding %zux%zu, dilation %zux%zu, groups %zu: %s",
                           op, x_dims[0], x_dims[1], x_dims[2], x_dims[3], w_dims[0], w_dims[1],
                           w_dims[2], w_dims[3], p.stride_h, p.stride_w, p.pad_h, p.pad_w,
                           p.dilation_h, p.dilation_w, p.groups, clcnn_status_string(status));
    *g = clcnn__conv2d_geometry_of(&p, x_dims, w_dims, y_dims);
    return CLCNN_OK;
}

clcnn_status clcnn__conv2d_auto_choice(clcnn_context *ctx, const clcnn_conv2d_params *params,
                                       const size_t x_dims[4], const size_t w_dims[4],
                                       clcnn__conv2d_pass pass, clcnn__tuned_choice *out) {
    clcnn__conv2d_geometry g;
    clcnn_status status = geometry_from_dims(ctx, "conv2d_auto_choice", params, x_dims, w_dims, &g);
    if (status != CLCNN_OK)
        return status;
    clcnn__conv2d_choice choice = clcnn__conv2d_choice_for(ctx, &g, pass, CLCNN_CONV2D_ALGO_AUTO);
    *out = as_choice(&choice);
    return CLCNN_OK;
}

/* Every candidate of a pass: GENERAL, DIRECT (per tile candidate that fits
 * where the pass has tiles) and TILED where they accept the shape. */
static size_t candidates_of(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                            clcnn__conv2d_pass pass, clcnn__tuned_choice *out) {
    size_t count = 0;
    clcnn__conv2d_choice choice = {CLCNN_CONV2D_ALGO_GENERAL, {0, 0, 0}};
    out[count++] = as_choice(&choice);
    choice.algorithm = CLCNN_CONV2D_ALGO_DIRECT;
    if (clcnn__conv2d_direct_supports(ctx, g, pass)) {
        if (pass == CLCNN__CONV2D_BACKWARD_WEIGHTS) {
            out[count++] = as_choice(&choice);
        } else {
            clcnn__conv2d_tiles tiles[CLCNN__CONV2D_MAX_TILE_CANDIDATES];
            size_t tile_count = clcnn__conv2d_direct_tile_candidates(g, pass, tiles);
            for (size_t i = 0; i < tile_count; i++) {
                choice.tiles = tiles[i];
                if (clcnn__conv2d_direct_tiles_apply(ctx, g, pass, &choice.tiles))
                    out[count++] = as_choice(&choice);
            }
        }
    }
    choice = (clcnn__conv2d_choice){CLCNN_CONV2D_ALGO_TILED, {0, 0, 0}};
    if (clcnn__conv2d_tiled_supports(ctx, g, pass))
        out[count++] = as_choice(&choice);
    return count;
}

/* --------------------------------------------------------------- measuring */

/* The tuner's tensors: x, w, y and the gradients dx, dw. */
typedef struct tune_tensors {
    clcnn_tensor *x, *w, *y, *dx, *dw;
} tune_tensors;

static void tensors_free(tune_tensors *t) {
    clcnn_tensor_destroy(t->x);
    clcnn_tensor_destroy(t->w);
    clcnn_tensor_destroy(t->y);
    clcnn_tensor_destroy(t->dx);
    clcnn_tensor_destroy(t->dw);
}

static clcnn_status tensors_make(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                 tune_tensors *t) {
    const size_t x_dims[4] = {g->n, g->c, g->h, g->w};
    const size_t w_dims[4] = {g->k, g->cg, g->kh, g->kw};
    const size_t y_dims[4] = {g->n, g->k, g->ho, g->wo};
    clcnn_status status = clcnn_tensor_create(ctx, 4, x_dims, &t->x);
    if (status == CLCNN_OK)
        status = clcnn_tensor_create(ctx, 4, w_dims, &t->w);
    if (status == CLCNN_OK)
        status = clcnn_tensor_create(ctx, 4, y_dims, &t->y);
    if (status == CLCNN_OK)
        status = clcnn_tensor_create(ctx, 4, x_dims, &t->dx);
    if (status == CLCNN_OK)
        status = clcnn_tensor_create(ctx, 4, w_dims, &t->dw);
    /* Inputs of ordinary magnitude (zeros could take shortcuts somewhere). */
    if (status == CLCNN_OK)
        status = clcnn_tensor_fill(t->x, 0.5f);
    if (status == CLCNN_OK)
        status = clcnn_tensor_fill(t->w, 0.25f);
    if (status == CLCNN_OK)
        status = clcnn_tensor_fill(t->y, 0.125f);
    return status;
}

/* What one measured run needs: the geometry, the pass and the tensors. */
typedef struct pass_run {
    const clcnn__conv2d_geometry *g;
    const tune_tensors *tensors;
    clcnn__conv2d_pass pass;
} pass_run;

/* One run of the pass as the public entry point runs it, without bias and
 * overwriting its output, with the choice given. */
static clcnn_status run_pass(clcnn_context *ctx, const clcnn__tuned_choice *choice, void *arg) {
    const pass_run *r = arg;
    const tune_tensors *t = r->tensors;
    clcnn__conv2d_buffers b = {t->x->storage->mem, t->w->storage->mem, t->y->storage->mem, NULL, 0};
    if (r->pass == CLCNN__CONV2D_BACKWARD_DATA)
        b.input = t->dx->storage->mem;
    else if (r->pass == CLCNN__CONV2D_BACKWARD_WEIGHTS)
        b.weights = t->dw->storage->mem;
    return clcnn__conv2d_run_with(ctx, r->g, r->pass, &choice->as.conv2d, &b, NULL);
}

/* Measures the built-in choice and every other candidate of one pass:
 * the outcome into *result, the fastest into *winner. */
static clcnn_status tune_pass(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                              const tune_tensors *t, clcnn__conv2d_pass pass, const char *key,
                              size_t repeats, clcnn_tune_result *result,
                              clcnn__tuned_choice *winner) {
    pass_run run = {g, t, pass};
    clcnn__conv2d_choice defaults = clcnn__conv2d_builtin_choice(ctx, g, pass);
    clcnn__tuned_choice builtin = as_choice(&defaults);
    clcnn__tuned_choice candidates[MAX_CANDIDATES];
    size_t count = candidates_of(ctx, g, pass, candidates);
    return clcnn__tune_key(ctx, key, &builtin, candidates, count, repeats, run_pass, &run, result,
                           winner);
}

static clcnn_status conv2d_tune(clcnn_context *context, const clcnn_conv2d_params *params,
                                const size_t x_dims[4], const size_t w_dims[4], size_t repeats,
                                clcnn_tune_result *results, size_t *count) {
    static const char op[] = "clcnn_conv2d_tune";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (count != NULL)
        *count = 0;
    if (repeats == 0)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: repeats is 0", op);
    clcnn__conv2d_geometry g;
    clcnn_status status = geometry_from_dims(context, op, params, x_dims, w_dims, &g);
    if (status == CLCNN_OK)
        status = clcnn__conv2d_check_limits(context, op, &g);
    if (status != CLCNN_OK)
        return status;
    /* The entries as they were, restored on failure; room for the new keys
     * checked before any measurement. */
    char keys[CLCNN_CONV2D_TUNE_PASSES][CLCNN_TUNE_KEY_MAX];
    const char *key_list[CLCNN_CONV2D_TUNE_PASSES];
    for (int pass = 0; pass < CLCNN_CONV2D_TUNE_PASSES; pass++) {
        if (!clcnn__conv2d_tuning_key(&g, (clcnn__conv2d_pass)pass, keys[pass], sizeof keys[pass]))
            return clcnn__fail(context, CLCNN_ERROR_SIZE_OVERFLOW,
                               "%s: the shape's key is too long", op);
        key_list[pass] = keys[pass];
    }
    clcnn__tune_snapshot snapshot;
    status = clcnn__tune_snapshot_take(context, op, key_list, CLCNN_CONV2D_TUNE_PASSES, &snapshot);
    if (status != CLCNN_OK)
        return status;
    tune_tensors t = {NULL, NULL, NULL, NULL, NULL};
    clcnn_tune_result outcome[CLCNN_CONV2D_TUNE_PASSES];
    clcnn__tuned_choice winners[CLCNN_CONV2D_TUNE_PASSES];
    status = tensors_make(context, &g, &t);
    for (int pass = 0; pass < CLCNN_CONV2D_TUNE_PASSES && status == CLCNN_OK; pass++)
        status = tune_pass(context, &g, &t, (clcnn__conv2d_pass)pass, keys[pass], repeats,
                           &outcome[pass], &winners[pass]);
    tensors_free(&t);
    return clcnn__tune_finish(context, status, &snapshot, winners, outcome,
                              CLCNN_CONV2D_TUNE_PASSES, results, count);
}

clcnn_status clcnn_conv2d_tune(clcnn_context *context, const clcnn_conv2d_params *params,
                               const size_t x_dims[4], const size_t w_dims[4], size_t repeats,
                               clcnn_tune_result *results, size_t *count) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        conv2d_tune(context, params, x_dims, w_dims, repeats, results, count));
}
