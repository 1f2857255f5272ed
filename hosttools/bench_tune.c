/* clcnn-bench --tune: runs the library's auto-tuner (clcnn/tune.h) on the
 * convolutions the suite measures (conv_a, conv_b, conv_c) and on the conv
 * layers of the seed network for Fashion-MNIST (1x28x28) and CIFAR
 * (3x32x32) inputs at the --batch size, on the GEMMs of gemm_1024 and of
 * the seed network's dense layers (forward, backward data and backward
 * weights at --batch), and on the element-wise kernels' launch layout;
 * prints what won against the built-in choice, and saves the table in the
 * user's program cache
 * directory, where later runs, of clcnn-bench and of any program that uses
 * the default cache, find it. The benchmark contexts, whose program caches
 * are private to a run, read the table from there too
 * (bench_tuning_apply). */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "clcnn/tune.h"

/* Room for the default cache directory's path. */
#define CACHE_DIR_MAX 4096

/* A 3x3, pad 1, stride 1 convolution of [n, c, h, w] to k channels. */
typedef struct tune_shape {
    const char *name;
    size_t n, c, h, w, k; /* n 0: the --batch size */
} tune_shape;

static const tune_shape tune_shapes[] = {
    {"conv_a", 64, 64, 32, 32, 64},      {"conv_b", 32, 128, 16, 16, 128},
    {"conv_c", 128, 32, 14, 14, 64},     {"fmnist_conv1", 0, 1, 28, 28, 32},
    {"fmnist_conv2", 0, 32, 14, 14, 64}, {"cifar_conv1", 0, 3, 32, 32, 32},
    {"cifar_conv2", 0, 32, 16, 16, 64},
};

#define SHAPE_COUNT (sizeof tune_shapes / sizeof tune_shapes[0])

void bench_tuning_apply(clcnn_context *ctx) {
    char dir[CACHE_DIR_MAX];
    if (clcnn_default_cache_dir(dir, sizeof dir) != CLCNN_OK)
        return;
    /* No file yet (no --tune run) is the normal case; anything else only
     * means the built-in choices, as in every other program. */
    clcnn_status status = clcnn_context_load_tuning(ctx, dir);
    if (status != CLCNN_OK && status != CLCNN_ERROR_NOT_FOUND)
        fprintf(stderr, "clcnn-bench: stored tuning not used: %s\n", clcnn_context_last_error(ctx));
}

/* ------------------------------------------------------------------ output */

static void print_header(const clcnn_device_info *info, const char *dir, size_t repeats) {
    printf("Tuning conv2d, gemm and pointwise kernels on %s (%s), %zu timed runs per "
           "candidate; table saved in %s\n\n",
           info->device_name, info->platform_name, repeats, dir);
    printf("%-13s %-58s %-23s %9s  %-23s %9s %8s\n", "shape", "key", "winner", "tuned ms",
           "built-in", "ms", "speed-up");
}

static void print_result(const char *name, const clcnn_tune_result *r) {
    printf("%-13s %-58s %-23s %9.3f  %-23s %9.3f %7.2fx\n", name, r->key, r->choice, r->best_ms,
           r->default_choice, r->default_ms, r->default_ms / r->best_ms);
}

static json_t *result_json(const char *name, const clcnn_tune_result *r) {
    return json_pack("{s:s, s:s, s:s, s:f, s:s, s:f, s:f, s:I}", "shape", name, "key", r->key,
                     "choice", r->choice, "ms", r->best_ms, "default_choice", r->default_choice,
                     "default_ms", r->default_ms, "speedup", r->default_ms / r->best_ms,
                     "candidates", (json_int_t)r->candidates);
}

/* Prints the result, or appends it to json_results when not NULL; non-zero
 * on failure. */
static int emit(const char *name, const clcnn_tune_result *r, json_t *json_results) {
    if (json_results == NULL) {
        print_result(name, r);
        fflush(stdout);
        return 0;
    }
    if (json_array_append_new(json_results, result_json(name, r)) != 0)
        return bench_fail_message("building JSON", CLCNN_ERROR_OUT_OF_HOST_MEMORY, NULL);
    return 0;
}

/* ------------------------------------------------------------------- tuning */

static int tune_convs(clcnn_context *ctx, size_t batch, size_t repeats, json_t *json_results) {
    size_t seen[SHAPE_COUNT][5];
    size_t seen_count = 0;
    for (size_t i = 0; i < SHAPE_COUNT; i++) {
        const tune_shape *t = &tune_shapes[i];
        const size_t x_dims[4] = {t->n != 0 ? t->n : batch, t->c, t->h, t->w};
        const size_t w_dims[4] = {t->k, t->c, 3, 3};
        int duplicate = 0; /* conv_c is the FMNIST conv2 at batch 128 */
        for (size_t j = 0; j < seen_count; j++)
            duplicate |= memcmp(seen[j], x_dims, sizeof x_dims) == 0 && seen[j][4] == t->k;
        if (duplicate)
            continue;
        memcpy(seen[seen_count], x_dims, sizeof x_dims);
        seen[seen_count++][4] = t->k;
        clcnn_conv2d_params params = clcnn_conv2d_params_default();
        params.pad_h = params.pad_w = 1;
        clcnn_tune_result results[CLCNN_CONV2D_TUNE_PASSES];
        size_t count = 0;
        clcnn_status status =
            clcnn_conv2d_tune(ctx, &params, x_dims, w_dims, repeats, results, &count);
        if (status != CLCNN_OK)
            return bench_fail(t->name, status, ctx);
        for (size_t r = 0; r < count; r++)
            if (emit(t->name, &results[r], json_results) != 0)
                return -1;
    }
    return 0;
}

/* The products to tune: gemm_1024 and, for each seed network's flattened
 * features (Fashion-MNIST 64x7x7, CIFAR 64x8x8), fc1 (to 128) and fc2 (to
 * 10 classes), each as its forward (batch x out x in), backward data
 * (batch x in x out) and backward weights (out x in x batch) product.
 * Products whose bucket (clcnn_gemm_tune) is already tuned are skipped. */
typedef struct gemm_shape {
    const char *name;
    size_t m, n, k; /* 0: the --batch size */
} gemm_shape;

static const gemm_shape gemm_shapes[] = {
    {"gemm_1024", 1024, 1024, 1024}, {"fmnist_fc1", 0, 128, 3136}, {"fmnist_fc1.bd", 0, 3136, 128},
    {"fmnist_fc1.bw", 128, 3136, 0}, {"cifar_fc1", 0, 128, 4096},  {"cifar_fc1.bd", 0, 4096, 128},
    {"cifar_fc1.bw", 128, 4096, 0},  {"seed_fc2", 0, 10, 128},     {"seed_fc2.bd", 0, 128, 10},
    {"seed_fc2.bw", 10, 128, 0},
};

#define GEMM_SHAPE_COUNT (sizeof gemm_shapes / sizeof gemm_shapes[0])

static int tune_gemms(clcnn_context *ctx, size_t batch, size_t repeats, json_t *json_results) {
    char seen[GEMM_SHAPE_COUNT][CLCNN_TUNE_KEY_MAX];
    size_t seen_count = 0;
    for (size_t i = 0; i < GEMM_SHAPE_COUNT; i++) {
        const gemm_shape *g = &gemm_shapes[i];
        size_t m = g->m != 0 ? g->m : batch, n = g->n, k = g->k != 0 ? g->k : batch;
        clcnn_tune_result result;
        int duplicate = 0;
        char key[CLCNN_TUNE_KEY_MAX];
        clcnn_status status = clcnn_gemm_tune_key(m, n, k, key);
        if (status != CLCNN_OK)
            return bench_fail_message(g->name, status, "no tuning key for the product");
        for (size_t j = 0; j < seen_count; j++)
            duplicate |= strcmp(seen[j], key) == 0;
        if (duplicate)
            continue;
        snprintf(seen[seen_count++], CLCNN_TUNE_KEY_MAX, "%s", key);
        status = clcnn_gemm_tune(ctx, m, n, k, repeats, &result);
        if (status != CLCNN_OK)
            return bench_fail(g->name, status, ctx);
        if (emit(g->name, &result, json_results) != 0)
            return -1;
    }
    return 0;
}

/* The element-wise kernels on 4 Mi floats (16 MiB a tensor): large enough
 * for memory to decide, small enough to measure quickly. */
#define POINTWISE_ELEMENTS ((size_t)1 << 22)

static int tune_pointwise(clcnn_context *ctx, size_t repeats, json_t *json_results) {
    static const char *const names[CLCNN_POINTWISE_TUNE_FAMILIES] = {"relu_fwd", "add"};
    clcnn_tune_result results[CLCNN_POINTWISE_TUNE_FAMILIES];
    size_t count = 0;
    clcnn_status status = clcnn_pointwise_tune(ctx, POINTWISE_ELEMENTS, repeats, results, &count);
    if (status != CLCNN_OK)
        return bench_fail("pointwise", status, ctx);
    for (size_t r = 0; r < count; r++)
        if (emit(names[r], &results[r], json_results) != 0)
            return -1;
    return 0;
}

static int tune_all(clcnn_context *ctx, size_t batch, size_t repeats, json_t *json_results) {
    if (tune_convs(ctx, batch, repeats, json_results) != 0)
        return -1;
    if (tune_gemms(ctx, batch, repeats, json_results) != 0)
        return -1;
    return tune_pointwise(ctx, repeats, json_results);
}

int bench_tune(const char *device_spec, size_t batch, size_t repeats, int json) {
    char dir[CACHE_DIR_MAX];
    clcnn_status status = clcnn_default_cache_dir(dir, sizeof dir);
    if (status != CLCNN_OK)
        return bench_fail_message("tuning", status,
                                  status == CLCNN_ERROR_NOT_FOUND
                                      ? "no cache directory: set CLCNN_CACHE_DIR or HOME"
                                      : "no room for the cache directory's path");
    char error[2048] = "";
    clcnn_context_options options = clcnn_context_options_default();
    options.device = device_spec;
    options.disk_cache = CLCNN_CACHE_ON;
    options.cache_dir = dir;
    options.error_buffer = error;
    options.error_buffer_size = sizeof error;
    clcnn_context *ctx = NULL;
    status = clcnn_context_create(&options, &ctx);
    if (status != CLCNN_OK)
        return bench_fail_message("creating a context", status, error);
    clcnn_device_info info;
    clcnn_context_device_info(ctx, &info);
    json_t *results = json ? json_array() : NULL;
    int failed = json && results == NULL;
    if (!json)
        print_header(&info, dir, repeats);
    if (!failed)
        failed = tune_all(ctx, batch, repeats, results) != 0;
    if (!failed && (status = clcnn_context_save_tuning(ctx, NULL)) != CLCNN_OK)
        failed = bench_fail("saving the tuning table", status, ctx) != 0;
    if (!failed && json) {
        json_t *root = json_pack("{s:s, s:s, s:o, s:s, s:I, s:O}", "library", "libclcnn", "version",
                                 clcnn_version(), "device", bench_device_json(&info), "directory",
                                 dir, "repeats", (json_int_t)repeats, "results", results);
        failed = root == NULL || bench_print_json(root) != 0;
    }
    json_decref(results);
    clcnn_context_destroy(ctx);
    return failed ? -1 : 0;
}
