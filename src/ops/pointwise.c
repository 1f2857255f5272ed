/* The launch layout of the element-wise kernels (ops/pointwise.h): the
 * built-in per-device table, the tuned entry per kernel family, and
 * clcnn_pointwise_tune (clcnn/tune.h), which measures the candidate layouts
 * through the public ops and stores the fastest per family. */
#include <stdio.h>
#include <string.h>

#include "clcnn/activation.h"
#include "clcnn/elementwise.h"
#include "ops/pointwise.h"
#include "ops/tune_common.h"

/* Every class row of the device table and the steps between them. */
static const clcnn__pointwise_layout candidates[] = {
    {4, 1, 64},  {4, 1, 256}, {4, 4, 64},   {8, 4, 64},   {16, 1, 64},
    {16, 4, 64}, {16, 8, 64}, {16, 8, 256}, {16, 16, 64},
};

#define CANDIDATE_COUNT (sizeof candidates / sizeof candidates[0])

static const char *const family_keys[CLCNN_POINTWISE_TUNE_FAMILIES] = {"pointwise:activation",
                                                                       "pointwise:elementwise"};

const char *clcnn__pointwise_key(clcnn__pointwise_family family) {
    return family_keys[family];
}

static void format_layout(const clcnn__pointwise_layout *layout, char *text, size_t size) {
    snprintf(text, size, "vec=%d items=%d wg=%zu", layout->vec, layout->items, layout->local);
}

size_t clcnn__pointwise_candidates(char (*texts)[CLCNN_TUNE_CHOICE_MAX]) {
    for (size_t i = 0; i < CANDIDATE_COUNT; i++)
        format_layout(&candidates[i], texts[i], CLCNN_TUNE_CHOICE_MAX);
    return CANDIDATE_COUNT;
}

clcnn__pointwise_layout clcnn__pointwise_layout_for(clcnn_context *ctx,
                                                    clcnn__pointwise_family family) {
    const clcnn__tuning_entry *entry =
        clcnn__tuning_count(ctx) > 0 ? clcnn__tuning_find(ctx, family_keys[family]) : NULL;
    for (size_t i = 0; entry != NULL && i < CANDIDATE_COUNT; i++) {
        char text[CLCNN_TUNE_CHOICE_MAX];
        format_layout(&candidates[i], text, sizeof text);
        if (strcmp(text, entry->choice) == 0)
            return candidates[i];
    }
    return ctx->choices.pointwise;
}

void clcnn__pointwise_choice(clcnn_context *ctx, clcnn__pointwise_family family, char *text,
                             size_t size) {
    clcnn__pointwise_layout layout = clcnn__pointwise_layout_for(ctx, family);
    format_layout(&layout, text, size);
}

void clcnn__pointwise_options(const clcnn__pointwise_layout *layout, char *options, size_t size) {
    snprintf(options, size, "-DVEC=%d -DITEMS=%d", layout->vec, layout->items);
}

clcnn_status clcnn__pointwise_run(clcnn__launch *launch, const clcnn__pointwise_layout *layout,
                                  size_t numel) {
    /* The kernels guard their range (cl/pointwise.h): the work-group is
     * fitted to the compiled kernel. */
    const size_t chunk = (size_t)layout->vec * (size_t)layout->items;
    size_t most = launch->ctx->info.max_work_group_size;
    size_t local = layout->local < most ? layout->local : most;
    size_t global = clcnn__round_up((numel + chunk - 1) / chunk, local);
    return clcnn__launch_run_fitted(launch, 1, &global, &local);
}

clcnn_status clcnn__pointwise_launch(clcnn_context *ctx, cl_kernel kernel,
                                     const clcnn__pointwise_layout *layout, size_t numel) {
    clcnn__launch launch = clcnn__launch_begin(ctx, kernel);
    return clcnn__pointwise_run(&launch, layout, numel);
}

/* ------------------------------------------------------------------ tuning */

/* The tensors of the measured runs: y = relu(x), z = x + y. */
typedef struct pointwise_run {
    clcnn_tensor *x, *y, *z;
    clcnn__pointwise_family family;
} pointwise_run;

static clcnn_status run_family(clcnn_context *ctx, void *arg) {
    const pointwise_run *r = arg;
    if (r->family == CLCNN__POINTWISE_ACTIVATION) {
        clcnn_activation_params relu = clcnn_activation_params_default();
        return clcnn_activation_forward(ctx, &relu, r->x, r->y);
    }
    return clcnn_add(ctx, r->x, r->y, r->z);
}

static clcnn_status pointwise_tune(clcnn_context *context, size_t elements, size_t repeats,
                                   clcnn_tune_result *results, size_t *count) {
    static const char op[] = "clcnn_pointwise_tune";
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (count != NULL)
        *count = 0;
    if (repeats == 0)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_ARGUMENT, "%s: repeats is 0", op);
    if (elements == 0)
        return clcnn__fail(context, CLCNN_ERROR_INVALID_SHAPE, "%s: elements is 0", op);
    clcnn__tune_snapshot snapshot;
    clcnn_status status = clcnn__tune_snapshot_take(context, op, family_keys,
                                                    CLCNN_POINTWISE_TUNE_FAMILIES, &snapshot);
    if (status != CLCNN_OK)
        return status;
    pointwise_run run = {NULL, NULL, NULL, CLCNN__POINTWISE_ACTIVATION};
    status = clcnn_tensor_create(context, 1, &elements, &run.x);
    if (status == CLCNN_OK)
        status = clcnn_tensor_create(context, 1, &elements, &run.y);
    if (status == CLCNN_OK)
        status = clcnn_tensor_create(context, 1, &elements, &run.z);
    if (status == CLCNN_OK)
        status = clcnn_tensor_fill(run.x, 0.5f);
    clcnn_tune_result outcome[CLCNN_POINTWISE_TUNE_FAMILIES];
    char texts[CLCNN__POINTWISE_MAX_CANDIDATES][CLCNN_TUNE_CHOICE_MAX];
    size_t candidate_count = clcnn__pointwise_candidates(texts);
    for (int family = 0; family < CLCNN_POINTWISE_TUNE_FAMILIES && status == CLCNN_OK; family++) {
        run.family = (clcnn__pointwise_family)family;
        clcnn__tuning_remove(context, family_keys[family]);
        char default_text[CLCNN_TUNE_CHOICE_MAX];
        clcnn__pointwise_choice(context, run.family, default_text, sizeof default_text);
        status = clcnn__tune_key(context, family_keys[family], default_text, texts, candidate_count,
                                 repeats, run_family, &run, &outcome[family]);
    }
    clcnn_tensor_destroy(run.x);
    clcnn_tensor_destroy(run.y);
    clcnn_tensor_destroy(run.z);
    return clcnn__tune_finish(context, status, &snapshot, outcome, CLCNN_POINTWISE_TUNE_FAMILIES,
                              results, count);
}

clcnn_status clcnn_pointwise_tune(clcnn_context *context, size_t elements, size_t repeats,
                                  clcnn_tune_result *results, size_t *count) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        pointwise_tune(context, elements, repeats, results, count));
}
