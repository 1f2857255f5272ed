/* Single-precision GEMM: argument checks, the per-device choice of backend
 * (CLBlast or the register-tiled kernels of cl/gemm.cl) and of the tiled
 * kernel's tile width and work-group (the tuning table's entry for the
 * shape's bucket, else the built-in table's row; the tuner is
 * gemm_tune.c), and the public tensor-level clcnn_gemm. */
#include <clblast_c.h>
#include <stdint.h>
#include <stdio.h>

#include "clcnn/gemm.h"
#include "ops/gemm.h"

/* Rows of a tile in cl/gemm.cl (fixed there). */
#define TILE_ROWS 8
/* Depth elements one packing work-item copies (PACK_DEPTH in cl/gemm.cl). */
#define PACK_DEPTH 16

/* ------------------------------------------------------ per-device choices */

clcnn__gemm_backend clcnn__gemm_backend_for(const clcnn_context *ctx) {
    return ctx->choices.gemm.backend;
}

/* ------------------------------------------------------------ tuned choices */

/* What runs one GEMM: the backend and, for the tiled kernel, its tiles and
 * work-group. */
typedef clcnn__gemm_choices gemm_config;

/* The tiled configurations the tuner tries on every device: both tile
 * widths of cl/gemm.cl, each with the driver's work-group and two fixed
 * ones (which cover every row of the built-in table). */
static const gemm_config tiled_candidates[] = {
    {CLCNN__GEMM_TILED, 16, 0, 0}, {CLCNN__GEMM_TILED, 16, 4, 8}, {CLCNN__GEMM_TILED, 16, 8, 4},
    {CLCNN__GEMM_TILED, 32, 0, 0}, {CLCNN__GEMM_TILED, 32, 4, 8}, {CLCNN__GEMM_TILED, 32, 8, 4},
};

#define TILED_CANDIDATES (sizeof tiled_candidates / sizeof tiled_candidates[0])

/* The device table's row (runtime/device_table.c). */
static gemm_config builtin_config(const clcnn_context *ctx) {
    return ctx->choices.gemm;
}

static clcnn__tuned_choice as_choice(const gemm_config *config) {
    clcnn__tuned_choice choice = {CLCNN__TUNED_GEMM, {.gemm = *config}};
    return choice;
}

/* The candidates on ctx's device: CLBlast first where it is the built-in
 * backend (it is not tried where it is not: it is slow to build and slow
 * on CPUs), then the tiled configurations. */
size_t clcnn__gemm_candidates(const clcnn_context *ctx, clcnn__tuned_choice *out) {
    size_t count = 0;
    if (ctx->choices.gemm.backend == CLCNN__GEMM_CLBLAST)
        out[count++] = as_choice(&ctx->choices.gemm);
    for (size_t i = 0; i < TILED_CANDIDATES; i++)
        out[count++] = as_choice(&tiled_candidates[i]);
    return count;
}

/* Each size rounded up to a power of two: one tuned entry serves the
 * shapes of a bucket (a network's GEMMs change with the batch). */
static size_t bucket(size_t size) {
    size_t b = 1;
    while (b < size && b <= SIZE_MAX / 2)
        b *= 2;
    return b;
}

int clcnn__gemm_tuning_key(size_t m, size_t n, size_t k, char *key, size_t size) {
    int length = snprintf(key, size, "gemm:%zux%zux%zu", bucket(m), bucket(n), bucket(k));
    return length > 0 && (size_t)length < size;
}

/* The table's choice for the shape's bucket when it names a candidate of
 * this device, else the built-in row's. */
static gemm_config config_for(clcnn_context *ctx, size_t m, size_t n, size_t k) {
    char key[CLCNN_TUNE_KEY_MAX];
    if (clcnn__tuning_count(ctx) == 0 || !clcnn__gemm_tuning_key(m, n, k, key, sizeof key))
        return builtin_config(ctx);
    const clcnn__tuning_entry *entry = clcnn__tuning_find(ctx, key);
    clcnn__tuned_choice candidates[CLCNN__GEMM_MAX_CANDIDATES];
    size_t count = entry != NULL ? clcnn__gemm_candidates(ctx, candidates) : 0;
    for (size_t i = 0; i < count; i++)
        if (clcnn__tuned_choice_equal(&candidates[i], &entry->choice))
            return candidates[i].as.gemm;
    return builtin_config(ctx);
}

void clcnn__gemm_choice(clcnn_context *ctx, size_t m, size_t n, size_t k,
                        clcnn__tuned_choice *out) {
    gemm_config config = config_for(ctx, m, n, k);
    *out = as_choice(&config);
}

/* -------------------------------------------------------------- checks */

/* Checks one stored matrix of rows x cols with leading dimension ld at
 * offset in buffer mem. */
static clcnn_status check_matrix(clcnn_context *ctx, const char *name, cl_mem mem, size_t offset,
                                 size_t rows, size_t cols, size_t ld) {
    if (mem == NULL)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT, "gemm: buffer %s is NULL", name);
    if (ld < cols || ld == 0)
        return clcnn__fail(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                           "gemm: leading dimension of %s is %zu, less than its %zu columns", name,
                           ld, cols);
    if (ld > UINT32_MAX || rows > UINT32_MAX)
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                           "gemm: %s (%zu x %zu, ld %zu) exceeds 2^32 - 1 rows or columns", name,
                           rows, cols, ld);
    if (rows == 0 || cols == 0)
        return CLCNN_OK;
    size_t extent = 0, bytes = 0;
    if (!clcnn__mul_size(rows - 1, ld, &extent) || extent > SIZE_MAX - offset - cols ||
        offset > SIZE_MAX - cols || !clcnn__mul_size(extent + offset + cols, sizeof(float), &bytes))
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                           "gemm: the extent of %s (%zu x %zu, ld %zu, offset %zu) overflows", name,
                           rows, cols, ld, offset);
    size_t size = 0;
    cl_int err = clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof size, &size, NULL);
    if (err != CL_SUCCESS)
        return clcnn__fail_cl(ctx, err, "gemm: clGetMemObjectInfo");
    if (bytes > size)
        return clcnn__fail(
            ctx, CLCNN_ERROR_OUT_OF_RANGE,
            "gemm: %s (%zu x %zu, ld %zu, offset %zu) needs %zu bytes but its buffer "
            "holds %zu",
            name, rows, cols, ld, offset, bytes, size);
    return CLCNN_OK;
}

/* ------------------------------------------------------------ tiled backend */

/* Packs `rows` x `depth` of op(X) into panels of `width` rows. The packing
 * kernels guard their ranges: the driver chooses the work-group. */
static clcnn_status pack(clcnn_context *ctx, const char *options, const char *kernel_name, cl_mem x,
                         size_t offset, size_t row_stride, size_t depth_stride, size_t rows,
                         size_t depth, size_t width, cl_mem packed) {
    clcnn__launch launch;
    clcnn_status status = clcnn__launch_prepare(ctx, "gemm.cl", options, kernel_name, &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_mem(&launch, x);
    clcnn__arg_ulong(&launch, offset);
    clcnn__arg_uint(&launch, row_stride);
    clcnn__arg_uint(&launch, depth_stride);
    clcnn__arg_uint(&launch, rows);
    clcnn__arg_uint(&launch, depth);
    clcnn__arg_mem(&launch, packed);
    size_t global[2] = {(depth + PACK_DEPTH - 1) / PACK_DEPTH, (rows + width - 1) / width};
    return clcnn__launch_run(&launch, 2, global, NULL);
}

/* Where the tile kernel finds op(A): row r of tile t, depth d at
 * offset + t * tile_stride + r * row_stride + d * depth_stride. */
typedef struct a_layout {
    cl_mem mem;
    size_t offset, tile_stride, row_stride, depth_stride;
} a_layout;

/* The tile kernel over C, reading A as `al` says and B from its panels. */
static clcnn_status tile_kernel(clcnn_context *ctx, const gemm_config *config, const char *options,
                                size_t m, size_t n, size_t k, float alpha, const a_layout *al,
                                cl_mem b_packed, float beta, cl_mem c, size_t c_offset,
                                size_t ldc) {
    clcnn__launch launch;
    clcnn_status status = clcnn__launch_prepare(ctx, "gemm.cl", options, "gemm_tile", &launch);
    if (status != CLCNN_OK)
        return status;
    clcnn__arg_uint(&launch, m);
    clcnn__arg_uint(&launch, n);
    clcnn__arg_uint(&launch, k);
    clcnn__arg_float(&launch, alpha);
    clcnn__arg_mem(&launch, al->mem);
    clcnn__arg_ulong(&launch, al->offset);
    clcnn__arg_ulong(&launch, al->tile_stride);
    clcnn__arg_uint(&launch, al->row_stride);
    clcnn__arg_uint(&launch, al->depth_stride);
    clcnn__arg_mem(&launch, b_packed);
    clcnn__arg_float(&launch, beta);
    clcnn__arg_mem(&launch, c);
    clcnn__arg_ulong(&launch, c_offset);
    clcnn__arg_uint(&launch, ldc);
    /* The kernel guards its range: a fixed work-group rounds the range up
     * to it, fitted to the compiled kernel. */
    size_t tiles[2] = {(n + config->tile_cols - 1) / config->tile_cols,
                       (m + TILE_ROWS - 1) / TILE_ROWS};
    size_t local[2] = {config->group_cols, config->group_rows};
    int use_local = local[0] > 0 && local[1] > 0 &&
                    local[0] * local[1] <= ctx->info.max_work_group_size &&
                    local[0] * local[1] <= 256;
    size_t global[2] = {tiles[0], tiles[1]};
    if (use_local) {
        global[0] = clcnn__round_up(tiles[0], local[0]);
        global[1] = clcnn__round_up(tiles[1], local[1]);
    }
    return clcnn__launch_run_fitted(&launch, 2, global, use_local ? local : NULL);
}

/* Packs op(B) into panels in a pooled workspace, and op(A) too when it is
 * transposed (its rows then lie across memory; in place they are read
 * directly, clamped at the last row), then runs the tile kernel. k == 0
 * skips the packing: the tile kernel then only scales C. */
static clcnn_status gemm_tiled(clcnn_context *ctx, int trans_a, int trans_b, size_t m, size_t n,
                               size_t k, float alpha, cl_mem a, size_t a_offset, size_t lda,
                               cl_mem b, size_t b_offset, size_t ldb, float beta, cl_mem c,
                               size_t c_offset, size_t ldc, const gemm_config *config) {
    char options[32];
    snprintf(options, sizeof options, "-DNR=%zu", config->tile_cols);
    a_layout al = {a, a_offset, TILE_ROWS * lda, lda, 1};
    if (k == 0) {
        /* A is not read (nor checked: its leading dimension may not fit
         * the kernel's arguments); C stands in. */
        al = (a_layout){c, 0, 0, 0, 0};
        return tile_kernel(ctx, config, options, m, n, 0, alpha, &al, c, beta, c, c_offset, ldc);
    }

    size_t a_rows = clcnn__round_up(m, TILE_ROWS), b_cols = clcnn__round_up(n, config->tile_cols);
    size_t a_bytes = 0, b_bytes = 0;
    if (!clcnn__mul_size(a_rows, k, &a_bytes) ||
        !clcnn__mul_size(a_bytes, sizeof(float), &a_bytes) ||
        !clcnn__mul_size(b_cols, k, &b_bytes) || !clcnn__mul_size(b_bytes, sizeof(float), &b_bytes))
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                           "gemm: the packed operands of a %zu x %zu x %zu product overflow", m, n,
                           k);
    cl_mem a_packed = NULL, b_packed = NULL;
    clcnn_status status = clcnn__buffer_acquire(ctx, b_bytes, &b_packed);
    if (status == CLCNN_OK && trans_a)
        status = clcnn__buffer_acquire(ctx, a_bytes, &a_packed);
    if (status == CLCNN_OK && trans_a) {
        status = pack(ctx, options, "gemm_pack_a", a, a_offset, 1, lda, m, k, TILE_ROWS, a_packed);
        al = (a_layout){a_packed, 0, k * TILE_ROWS, 1, TILE_ROWS};
    }
    if (status == CLCNN_OK)
        status = pack(ctx, options, "gemm_pack_b", b, b_offset, trans_b ? ldb : 1,
                      trans_b ? 1 : ldb, n, k, config->tile_cols, b_packed);
    if (status == CLCNN_OK)
        status = tile_kernel(ctx, config, options, m, n, k, alpha, &al, b_packed, beta, c, c_offset,
                             ldc);
    /* The in-order queue runs every later user of these buffers after the
     * kernels above, so they can go back to the pool right away. */
    if (a_packed != NULL)
        clcnn__buffer_release(ctx, a_packed);
    if (b_packed != NULL)
        clcnn__buffer_release(ctx, b_packed);
    return status;
}

/* ---------------------------------------------------------- CLBlast backend */

static clcnn_status gemm_clblast(clcnn_context *ctx, int trans_a, int trans_b, size_t m, size_t n,
                                 size_t k, float alpha, cl_mem a, size_t a_offset, size_t lda,
                                 cl_mem b, size_t b_offset, size_t ldb, float beta, cl_mem c,
                                 size_t c_offset, size_t ldc) {
    CLBlastStatusCode code =
        CLBlastSgemm(CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                     trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a,
                     a_offset, lda, b, b_offset, ldb, beta, c, c_offset, ldc, &ctx->queue, NULL);
    if (code == CLBlastSuccess)
        return CLCNN_OK;
    /* CLBlast passes OpenCL's own codes through (0 to -70); its own start
     * at -1024. */
    clcnn_status status = code > -1000 ? clcnn__status_from_cl(code) : CLCNN_ERROR_OPENCL;
    return clcnn__fail(
        ctx, status, "gemm: CLBlastSgemm of %zu x %zu x %zu failed with status %d%s%s", m, n, k,
        (int)code, code > -1000 ? " " : "", code > -1000 ? clcnn__cl_error_name(code) : "");
}

/* ---------------------------------------------------------------- dispatch */

/* Loop trips per depth step in the kernels' depth loops, counted generously
 * (gemm_tile takes one; CLBlast's depend on its tuning). */
#define GEMM_TRIPS_PER_DEPTH 8

/* One product of depth k on `backend` (AUTO: config's) with `config`'s
 * tiles, checked. CLBlast forms products only (k > 0); the tiled kernel
 * scales C for k == 0 and runs wherever the choice is CLBlast but the
 * tiled kernel is asked for, with the built-in row's tiles. */
static clcnn_status gemm_dispatch(clcnn_context *ctx, clcnn__gemm_backend backend,
                                  gemm_config config, int trans_a, int trans_b, size_t m, size_t n,
                                  size_t k, float alpha, cl_mem a, size_t a_offset, size_t lda,
                                  cl_mem b, size_t b_offset, size_t ldb, float beta, cl_mem c,
                                  size_t c_offset, size_t ldc) {
    if (backend == CLCNN__GEMM_AUTO)
        backend = config.backend;
    if (backend == CLCNN__GEMM_CLBLAST && k > 0)
        return gemm_clblast(ctx, trans_a, trans_b, m, n, k, alpha, a, a_offset, lda, b, b_offset,
                            ldb, beta, c, c_offset, ldc);
    if (config.backend != CLCNN__GEMM_TILED) {
        config = builtin_config(ctx);
        config.backend = CLCNN__GEMM_TILED;
    }
    return gemm_tiled(ctx, trans_a, trans_b, m, n, k, alpha, a, a_offset, lda, b, b_offset, ldb,
                      beta, c, c_offset, ldc, &config);
}

/* Checks the operands and forms the product with `config` (NULL: the
 * shape's, tuned or built-in) on `backend` (AUTO: the config's). Where a
 * driver caps a work-item's loop trips, as a sum over depth ranges, the
 * first scaling C by beta and the rest adding onto it, so that no launch
 * loops over the whole depth. */
static clcnn_status gemm_checked(clcnn_context *ctx, clcnn__gemm_backend backend,
                                 const gemm_config *config, int trans_a, int trans_b, size_t m,
                                 size_t n, size_t k, float alpha, cl_mem a, size_t a_offset,
                                 size_t lda, cl_mem b, size_t b_offset, size_t ldb, float beta,
                                 cl_mem c, size_t c_offset, size_t ldc) {
    if (ctx == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    if (m > UINT32_MAX || n > UINT32_MAX || k > UINT32_MAX)
        return clcnn__fail(ctx, CLCNN_ERROR_SIZE_OVERFLOW,
                           "gemm: %zu x %zu x %zu exceeds 2^32 - 1 in a dimension", m, n, k);
    /* alpha == 0 or k == 0: the product is not formed and A, B are not
     * read (BLAS semantics), whatever the backend. */
    size_t depth = alpha == 0.0f ? 0 : k;
    clcnn_status status = check_matrix(ctx, "C", c, c_offset, m, n, ldc);
    if (status == CLCNN_OK && depth > 0)
        status = check_matrix(ctx, "A", a, a_offset, trans_a ? k : m, trans_a ? m : k, lda);
    if (status == CLCNN_OK && depth > 0)
        status = check_matrix(ctx, "B", b, b_offset, trans_b ? n : k, trans_b ? k : n, ldb);
    if (status != CLCNN_OK || m == 0 || n == 0)
        return status;
    gemm_config chosen = config != NULL ? *config : config_for(ctx, m, n, k);
    size_t step = clcnn__loop_trips_allowed(ctx, GEMM_TRIPS_PER_DEPTH);
    if (depth <= step)
        return gemm_dispatch(ctx, backend, chosen, trans_a, trans_b, m, n, depth, alpha, a,
                             a_offset, lda, b, b_offset, ldb, beta, c, c_offset, ldc);
    for (size_t d = 0; status == CLCNN_OK && d < depth; d += step) {
        size_t slice = depth - d < step ? depth - d : step;
        size_t a_at = a_offset + (trans_a ? d * lda : d), b_at = b_offset + (trans_b ? d : d * ldb);
        status = gemm_dispatch(ctx, backend, chosen, trans_a, trans_b, m, n, slice, alpha, a, a_at,
                               lda, b, b_at, ldb, d == 0 ? beta : 1.0f, c, c_offset, ldc);
    }
    return status;
}

clcnn_status clcnn__gemm_with(clcnn_context *ctx, clcnn__gemm_backend backend, int trans_a,
                              int trans_b, size_t m, size_t n, size_t k, float alpha, cl_mem a,
                              size_t a_offset, size_t lda, cl_mem b, size_t b_offset, size_t ldb,
                              float beta, cl_mem c, size_t c_offset, size_t ldc) {
    return gemm_checked(ctx, backend, NULL, trans_a, trans_b, m, n, k, alpha, a, a_offset, lda, b,
                        b_offset, ldb, beta, c, c_offset, ldc);
}

clcnn_status clcnn__gemm_configured(clcnn_context *ctx, const clcnn__gemm_choices *config,
                                    int trans_a, int trans_b, size_t m, size_t n, size_t k,
                                    float alpha, cl_mem a, size_t a_offset, size_t lda, cl_mem b,
                                    size_t b_offset, size_t ldb, float beta, cl_mem c,
                                    size_t c_offset, size_t ldc) {
    return gemm_checked(ctx, CLCNN__GEMM_AUTO, config, trans_a, trans_b, m, n, k, alpha, a,
                        a_offset, lda, b, b_offset, ldb, beta, c, c_offset, ldc);
}

clcnn_status clcnn__gemm(clcnn_context *ctx, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                         float alpha, cl_mem a, size_t a_offset, size_t lda, cl_mem b,
                         size_t b_offset, size_t ldb, float beta, cl_mem c, size_t c_offset,
                         size_t ldc) {
    return gemm_checked(ctx, CLCNN__GEMM_AUTO, NULL, trans_a, trans_b, m, n, k, alpha, a, a_offset,
                        lda, b, b_offset, ldb, beta, c, c_offset, ldc);
}

/* -------------------------------------------------------------- tensor API */

static clcnn_status gemm(clcnn_context *context, int trans_a, int trans_b, float alpha,
                         const clcnn_tensor *a, const clcnn_tensor *b, float beta,
                         clcnn_tensor *c) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    const clcnn_tensor *operands[3] = {a, b, c};
    const char *names[3] = {"clcnn_gemm: a", "clcnn_gemm: b", "clcnn_gemm: c"};
    clcnn_status status = CLCNN_OK;
    for (int i = 0; i < 3 && status == CLCNN_OK; i++)
        status = clcnn__check_tensor(context, operands[i], names[i]);
    for (int i = 0; i < 3 && status == CLCNN_OK; i++)
        status = clcnn__check_rank(context, names[i], operands[i], 2, 2);
    if (status != CLCNN_OK)
        return status;
    char a_shape[96], b_shape[96], c_shape[96];
    clcnn__shape_string(a, a_shape, sizeof a_shape);
    clcnn__shape_string(b, b_shape, sizeof b_shape);
    clcnn__shape_string(c, c_shape, sizeof c_shape);
    size_t m = trans_a ? a->dims[1] : a->dims[0], k = trans_a ? a->dims[0] : a->dims[1];
    size_t k_b = trans_b ? b->dims[1] : b->dims[0], n = trans_b ? b->dims[0] : b->dims[1];
    if (k_b != k || c->dims[0] != m || c->dims[1] != n)
        return clcnn__fail(
            context, CLCNN_ERROR_INVALID_SHAPE,
            "clcnn_gemm: op(a) of %s%s is %zu x %zu and op(b) of %s%s is %zu x %zu, so "
            "c must be [%zu, %zu], not %s",
            a_shape, trans_a ? " transposed" : "", m, k, b_shape, trans_b ? " transposed" : "", k_b,
            n, m, n, c_shape);
    if ((status = clcnn__check_distinct(context, "clcnn_gemm", "c", c, "a", a)) != CLCNN_OK ||
        (status = clcnn__check_distinct(context, "clcnn_gemm", "c", c, "b", b)) != CLCNN_OK)
        return status;
    return clcnn__gemm(context, trans_a, trans_b, m, n, k, alpha, a->storage->mem, 0, a->dims[1],
                       b->storage->mem, 0, b->dims[1], beta, c->storage->mem, 0, c->dims[1]);
}

clcnn_status clcnn_gemm(clcnn_context *context, int trans_a, int trans_b, float alpha,
                        const clcnn_tensor *a, const clcnn_tensor *b, float beta, clcnn_tensor *c) {
    if (context == NULL)
        return CLCNN_ERROR_INVALID_ARGUMENT;
    clcnn__error_mark mark = clcnn__error_mark_take(context);
    return clcnn__named(context, mark, __func__,
                        gemm(context, trans_a, trans_b, alpha, a, b, beta, c));
}
