/* conv2d's side of auto-tuning (clcnn/tune.h): the tuning key of a pass and
 * shape, the text of a choice, reading the context's tuning table for
 * conv2d.c and conv2d_direct.c, and clcnn_conv2d_tune, which measures the
 * candidates of each pass and stores the fastest.
 *
 * The tuner measures a candidate by putting it in the table and running the
 * public entry point with CLCNN_CONV2D_ALGO_AUTO, so it times exactly the
 * path a later call takes; the built-in choice is measured with the key's
 * entry removed. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/conv2d_tune.h"

/* A candidate whose first timed run is slower than this many times the best
 * median so far is not run again. */
#define TUNE_CUTOFF_FACTOR 3.0

/* Another candidate replaces the built-in choice only when faster by more
 * than this fraction: noise alone should not churn the table. */
#define TUNE_MARGIN 0.03

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

static const char *algorithm_text(clcnn_conv2d_algorithm algorithm) {
    switch (algorithm) {
    case CLCNN_CONV2D_ALGO_DIRECT:
        return "direct";
    case CLCNN_CONV2D_ALGO_TILED:
        return "tiled";
    default:
        return "general";
    }
}

static void format_choice(const clcnn__conv2d_choice *c, char *text, size_t size) {
    if (c->algorithm == CLCNN_CONV2D_ALGO_DIRECT && c->tiles.kt != 0)
        snprintf(text, size, "direct kt=%zu vw=%zu wv=%zu", c->tiles.kt, c->tiles.vw, c->tiles.wv);
    else
        snprintf(text, size, "%s", algorithm_text(c->algorithm));
}

/* 1 when text is a well-formed choice. */
static int parse_choice(const char *text, clcnn__conv2d_choice *out) {
    memset(out, 0, sizeof *out);
    static const clcnn_conv2d_algorithm algorithms[] = {
        CLCNN_CONV2D_ALGO_GENERAL, CLCNN_CONV2D_ALGO_DIRECT, CLCNN_CONV2D_ALGO_TILED};
    for (size_t i = 0; i < sizeof algorithms / sizeof algorithms[0]; i++)
        if (strcmp(text, algorithm_text(algorithms[i])) == 0) {
            out->algorithm = algorithms[i];
            return 1;
        }
    size_t kt = 0, vw = 0, wv = 0;
    int end = -1;
    if (sscanf(text, "direct kt=%zu vw=%zu wv=%zu%n", &kt, &vw, &wv, &end) != 3 || end < 0 ||
        text[end] != '\0')
        return 0;
    out->algorithm = CLCNN_CONV2D_ALGO_DIRECT;
    out->tiles = (clcnn__conv2d_tiles){kt, vw, wv};
    return 1;
}

int clcnn__conv2d_tuned(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                        clcnn__conv2d_pass pass, clcnn__conv2d_choice *out) {
    if (clcnn__tuning_count(ctx) == 0)
        return 0;
    char key[CLCNN_TUNE_KEY_MAX];
    if (!clcnn__conv2d_tuning_key(g, pass, key, sizeof key))
        return 0;
    const clcnn__tuning_entry *entry = clcnn__tuning_find(ctx, key);
    return entry != NULL && parse_choice(entry->choice, out);
}

/* ------------------------------------------------------------------ shapes */

/* The geometry of a convolution given by dims (checked by conv2d.h's shape
 * rules; the 32-bit limits are the op's to check when it runs). */
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
    *g = (clcnn__conv2d_geometry){.n = x_dims[0],
                                  .c = x_dims[1],
                                  .h = x_dims[2],
                                  .w = x_dims[3],
                                  .k = w_dims[0],
                                  .kh = w_dims[2],
                                  .kw = w_dims[3],
                                  .ho = y_dims[2],
                                  .wo = y_dims[3],
                                  .sh = p.stride_h,
                                  .sw = p.stride_w,
                                  .ph = p.pad_h,
                                  .pw = p.pad_w,
                                  .dh = p.dilation_h,
                                  .dw = p.dilation_w,
                                  .groups = p.groups,
                                  .cg = x_dims[1] / p.groups,
                                  .kg = w_dims[0] / p.groups};
    return CLCNN_OK;
}

/* What AUTO runs now for this pass. */
static clcnn__conv2d_choice auto_choice(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                        clcnn__conv2d_pass pass) {
    clcnn__conv2d_choice choice;
    memset(&choice, 0, sizeof choice);
    choice.algorithm = clcnn__conv2d_auto_algorithm(ctx, g, pass);
    if (choice.algorithm == CLCNN_CONV2D_ALGO_DIRECT && pass != CLCNN__CONV2D_BACKWARD_WEIGHTS)
        choice.tiles = clcnn__conv2d_direct_tiles(ctx, g, pass);
    return choice;
}

clcnn_status clcnn__conv2d_auto_choice(clcnn_context *ctx, const clcnn_conv2d_params *params,
                                       const size_t x_dims[4], const size_t w_dims[4],
                                       clcnn__conv2d_pass pass, char *choice, size_t size) {
    clcnn__conv2d_geometry g;
    clcnn_status status = geometry_from_dims(ctx, "conv2d_auto_choice", params, x_dims, w_dims, &g);
    if (status != CLCNN_OK)
        return status;
    clcnn__conv2d_choice c = auto_choice(ctx, &g, pass);
    format_choice(&c, choice, size);
    return CLCNN_OK;
}

/* Every candidate of a pass: GENERAL, DIRECT (per tile candidate where the
 * pass has tiles) and TILED where they accept the shape. */
static size_t candidates_of(const clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                            clcnn__conv2d_pass pass, clcnn__conv2d_choice *out) {
    size_t count = 0;
    memset(out, 0, MAX_CANDIDATES * sizeof *out);
    out[count++].algorithm = CLCNN_CONV2D_ALGO_GENERAL;
    if (clcnn__conv2d_direct_supports(g, pass)) {
        if (pass == CLCNN__CONV2D_BACKWARD_WEIGHTS) {
            out[count++].algorithm = CLCNN_CONV2D_ALGO_DIRECT;
        } else {
            clcnn__conv2d_tiles tiles[CLCNN__CONV2D_MAX_TILE_CANDIDATES];
            size_t tile_count = clcnn__conv2d_direct_tile_candidates(g, pass, tiles);
            for (size_t i = 0; i < tile_count; i++) {
                out[count].algorithm = CLCNN_CONV2D_ALGO_DIRECT;
                out[count++].tiles = tiles[i];
            }
        }
    }
    if (clcnn__conv2d_tiled_supports(ctx, g, pass))
        out[count++].algorithm = CLCNN_CONV2D_ALGO_TILED;
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

static clcnn_status run_pass(clcnn_context *ctx, const clcnn_conv2d_params *p,
                             const tune_tensors *t, clcnn__conv2d_pass pass) {
    switch (pass) {
    case CLCNN__CONV2D_FORWARD:
        return clcnn_conv2d_forward(ctx, p, t->x, t->w, NULL, t->y);
    case CLCNN__CONV2D_BACKWARD_DATA:
        return clcnn_conv2d_backward_data(ctx, p, t->y, t->w, t->dx, CLCNN_GRAD_OVERWRITE);
    default:
        return clcnn_conv2d_backward_weights(ctx, p, t->x, t->y, t->dw, NULL, CLCNN_GRAD_OVERWRITE);
    }
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One unmeasured run, then up to `repeats` runs each timed from an idle
 * queue to its end; *median gets their median. Stops after the first timed
 * run when that is above cutoff_ms (0: no cutoff). */
static clcnn_status measure(clcnn_context *ctx, const clcnn_conv2d_params *p, const tune_tensors *t,
                            clcnn__conv2d_pass pass, size_t repeats, double cutoff_ms,
                            double *samples, double *median) {
    clcnn_status status = run_pass(ctx, p, t, pass);
    if (status == CLCNN_OK)
        status = clcnn_context_finish(ctx);
    size_t taken = 0;
    while (status == CLCNN_OK && taken < repeats) {
        double start = now_ms();
        status = run_pass(ctx, p, t, pass);
        if (status == CLCNN_OK)
            status = clcnn_context_finish(ctx);
        samples[taken++] = now_ms() - start;
        if (taken == 1 && cutoff_ms > 0.0 && samples[0] > cutoff_ms)
            break;
    }
    if (status != CLCNN_OK)
        return status;
    qsort(samples, taken, sizeof *samples, compare_doubles);
    *median =
        taken % 2 == 1 ? samples[taken / 2] : 0.5 * (samples[taken / 2 - 1] + samples[taken / 2]);
    return CLCNN_OK;
}

/* Measures the built-in choice and every other candidate of one pass,
 * leaving the winner in the table and its outcome in *result. */
static clcnn_status tune_pass(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                              const tune_tensors *t, clcnn__conv2d_pass pass, size_t repeats,
                              double *samples, clcnn_tune_result *result) {
    clcnn_conv2d_params p = {g->sh, g->sw, g->ph,     g->pw,
                             g->dh, g->dw, g->groups, CLCNN_CONV2D_ALGO_AUTO};
    memset(result, 0, sizeof *result);
    if (!clcnn__conv2d_tuning_key(g, pass, result->key, sizeof result->key))
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                           "conv2d_tune: the shape's key is too long");
    clcnn__tuning_remove(ctx, result->key);
    clcnn__conv2d_choice defaults = auto_choice(ctx, g, pass);
    format_choice(&defaults, result->default_choice, sizeof result->default_choice);
    clcnn_status status = measure(ctx, &p, t, pass, repeats, 0.0, samples, &result->default_ms);
    if (status != CLCNN_OK)
        return status;
    memcpy(result->choice, result->default_choice, sizeof result->choice);
    result->best_ms = result->default_ms;
    result->candidates = 1;
    clcnn__conv2d_choice candidates[MAX_CANDIDATES];
    size_t count = candidates_of(ctx, g, pass, candidates);
    for (size_t i = 0; i < count && status == CLCNN_OK; i++) {
        char text[CLCNN_TUNE_CHOICE_MAX];
        format_choice(&candidates[i], text, sizeof text);
        if (strcmp(text, result->default_choice) == 0)
            continue;
        double ms = 0.0;
        status = clcnn__tuning_set(ctx, result->key, text, 0.0, 0.0);
        if (status == CLCNN_OK)
            status = measure(ctx, &p, t, pass, repeats, TUNE_CUTOFF_FACTOR * result->best_ms,
                             samples, &ms);
        if (status == CLCNN_OK) {
            result->candidates++;
            int default_leads = strcmp(result->choice, result->default_choice) == 0;
            if (ms < result->best_ms * (default_leads ? 1.0 - TUNE_MARGIN : 1.0)) {
                result->best_ms = ms;
                memcpy(result->choice, text, sizeof text);
            }
        }
    }
    if (status == CLCNN_OK)
        status = clcnn__tuning_set(ctx, result->key, result->choice, result->best_ms,
                                   result->default_ms);
    return status;
}

clcnn_status clcnn_conv2d_tune(clcnn_context *context, const clcnn_conv2d_params *params,
                               const size_t x_dims[4], const size_t w_dims[4], size_t repeats,
                               clcnn_tune_result *results, size_t *count) {
    static const char op[] = "conv2d_tune";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (count != NULL)
        *count = 0;
    if (repeats == 0)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: repeats is 0", op);
    clcnn__conv2d_geometry g;
    clcnn_status status = geometry_from_dims(context, op, params, x_dims, w_dims, &g);
    if (status != CLCNN_OK)
        return status;
    /* The entries as they were, restored on failure; room for the new keys
     * checked before any measurement. */
    clcnn__tuning_entry saved[CLCNN_CONV2D_TUNE_PASSES];
    int had[CLCNN_CONV2D_TUNE_PASSES];
    size_t new_keys = 0;
    for (int pass = 0; pass < CLCNN_CONV2D_TUNE_PASSES; pass++) {
        if (!clcnn__conv2d_tuning_key(&g, (clcnn__conv2d_pass)pass, saved[pass].key,
                                      sizeof saved[pass].key))
            return clcnn__fail(context, CLCNN_ERROR_SIZE_OVERFLOW,
                               "%s: the shape's key is too long", op);
        const clcnn__tuning_entry *old = clcnn__tuning_find(context, saved[pass].key);
        had[pass] = old != NULL;
        if (old != NULL)
            saved[pass] = *old;
        new_keys += old == NULL;
    }
    if (clcnn__tuning_count(context) + new_keys > CLCNN_TUNE_MAX_ENTRIES)
        return clcnn__fail(context, CLCNN_ERROR_OUT_OF_RANGE,
                           "%s: the tuning table holds %zu of its %d entries, no room for %zu "
                           "more; clear it to tune more shapes",
                           op, clcnn__tuning_count(context), CLCNN_TUNE_MAX_ENTRIES, new_keys);
    tune_tensors t = {NULL, NULL, NULL, NULL, NULL};
    double *samples =
        repeats <= SIZE_MAX / sizeof(double) ? malloc(repeats * sizeof(double)) : NULL;
    clcnn_tune_result outcome[CLCNN_CONV2D_TUNE_PASSES];
    if (samples == NULL)
        status = clcnn__fail(context, CLCNN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", op);
    else
        status = tensors_make(context, &g, &t);
    for (int pass = 0; pass < CLCNN_CONV2D_TUNE_PASSES && status == CLCNN_OK; pass++)
        status =
            tune_pass(context, &g, &t, (clcnn__conv2d_pass)pass, repeats, samples, &outcome[pass]);
    tensors_free(&t);
    free(samples);
    if (status != CLCNN_OK) {
        for (int pass = 0; pass < CLCNN_CONV2D_TUNE_PASSES; pass++) {
            clcnn__tuning_remove(context, saved[pass].key);
            if (had[pass])
                clcnn__tuning_set(context, saved[pass].key, saved[pass].choice, saved[pass].ms,
                                  saved[pass].default_ms);
        }
        return status;
    }
    if (results != NULL)
        memcpy(results, outcome, sizeof outcome);
    if (count != NULL)
        *count = CLCNN_CONV2D_TUNE_PASSES;
    return CLCNN_OK;
}
