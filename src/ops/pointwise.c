/* The launch layout of the element-wise kernels (ops/pointwise.h): the
 * built-in per-device table, the tuned entry per kernel family, and
 * clcnn_pointwise_tune (clcnn/tune.h), which measures the candidate layouts
 * on one kernel of each family and stores the fastest per family. */
#include <stdio.h>
#include <string.h>

#include "clcnn/activation.h"
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

static clcnn__tuned_choice as_choice(const clcnn__pointwise_layout *layout) {
    clcnn__tuned_choice choice = {CLCNN__TUNED_POINTWISE, {.pointwise = *layout}};
    return choice;
}

size_t clcnn__pointwise_candidates(clcnn__tuned_choice *out) {
    for (size_t i = 0; i < CANDIDATE_COUNT; i++)
        out[i] = as_choice(&candidates[i]);
    return CANDIDATE_COUNT;
}

clcnn__pointwise_layout clcnn__pointwise_layout_for(clcnn_context *ctx,
                                                    clcnn__pointwise_family family) {
    const clcnn__tuning_entry *entry =
        clcnn__tuning_count(ctx) > 0 ? clcnn__tuning_find(ctx, family_keys[family]) : NULL;
    for (size_t i = 0; entry != NULL && i < CANDIDATE_COUNT; i++) {
        clcnn__tuned_choice candidate = as_choice(&candidates[i]);
        if (clcnn__tuned_choice_equal(&candidate, &entry->choice))
            return candidates[i];
    }
    return ctx->choices.pointwise;
}

void clcnn__pointwise_choice(clcnn_context *ctx, clcnn__pointwise_family family,
                             clcnn__tuned_choice *out) {
    clcnn__pointwise_layout layout = clcnn__pointwise_layout_for(ctx, family);
    *out = as_choice(&layout);
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

/* Runs the family's measured kernel in the layout chosen: ReLU forward as
 * clcnn_activation_forward builds and launches it (activation.c), add as
 * clcnn_add does (elementwise.c). */
static clcnn_status run_family(clcnn_context *ctx, const clcnn__tuned_choice *choice, void *arg) {
    const pointwise_run *r = arg;
    const clcnn__pointwise_layout *layout = &choice->as.pointwise;
    char layout_options[64], options[96];
    clcnn__pointwise_options(layout, layout_options, sizeof layout_options);
    clcnn__launch launch;
    clcnn_status status;
    if (r->family == CLCNN__POINTWISE_ACTIVATION) {
        clcnn_activation_params relu = clcnn_activation_params_default();
        snprintf(options, sizeof options, "-DACTIVATION=%d %s", (int)relu.kind, layout_options);
        status =
            clcnn__launch_prepare(ctx, "activation.cl", options, "activation_forward", &launch);
        if (status != CLCNN_OK)
            return status;
        clcnn__arg_ulong(&launch, r->x->numel);
        clcnn__arg_float(&launch, relu.negative_slope);
        clcnn__arg_tensor(&launch, r->x);
        clcnn__arg_tensor(&launch, r->y);
    } else {
        status = clcnn__launch_prepare(ctx, "elementwise.cl", layout_options, "elementwise_add",
                                       &launch);
        if (status != CLCNN_OK)
            return status;
        clcnn__arg_ulong(&launch, r->x->numel);
        clcnn__arg_tensor(&launch, r->x);
        clcnn__arg_tensor(&launch, r->y);
        clcnn__arg_tensor(&launch, r->z);
    }
    return clcnn__pointwise_run(&launch, layout, r->x->numel);
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
    clcnn__tuned_choice winners[CLCNN_POINTWISE_TUNE_FAMILIES];
    clcnn__tuned_choice tried[CLCNN__POINTWISE_MAX_CANDIDATES];
    clcnn__tuned_choice builtin = as_choice(&context->choices.pointwise);
    size_t candidate_count = clcnn__pointwise_candidates(tried);
    for (int family = 0; family < CLCNN_POINTWISE_TUNE_FAMILIES && status == CLCNN_OK; family++) {
        run.family = (clcnn__pointwise_family)family;
        status = clcnn__tune_key(context, family_keys[family], &builtin, tried, candidate_count,
                                 repeats, run_family, &run, &outcome[family], &winners[family]);
    }
    clcnn_tensor_destroy(run.x);
    clcnn_tensor_destroy(run.y);
    clcnn_tensor_destroy(run.z);
    return clcnn__tune_finish(context, status, &snapshot, winners, outcome,
                              CLCNN_POINTWISE_TUNE_FAMILIES, results, count);
}

clcnn_status clcnn_pointwise_tune(clcnn_context *context, size_t elements, size_t repeats,
                                  clcnn_tune_result *results, size_t *count) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        pointwise_tune(context, elements, repeats, results, count));
}
