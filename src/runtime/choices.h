/* The schema of the per-device choice table (runtime/device_table.c), in
 * the manner of CLBlast's database: one typed struct of choices per op
 * family, rows keyed by vendor, device name and device class, and the tuned
 * choices the auto-tuner stores per shape (runtime/tuning.c). The runtime
 * owns the schema; each op reads its own part. Included by
 * runtime/internal.h. */
#ifndef CLCNN_RUNTIME_CHOICES_H
#define CLCNN_RUNTIME_CHOICES_H

#include <stddef.h>

/* ---------------------------------------------------------------- conv2d */

/* The algorithms of clcnn_conv2d_algorithm (include/clcnn/conv2d.h). */
#define CLCNN__CONV2D_GENERAL 1
#define CLCNN__CONV2D_DIRECT 2
#define CLCNN__CONV2D_TILED 3

typedef struct clcnn__conv2d_choices {
    int algorithms[3];      /* tried best first; the first that takes the shape runs */
    size_t general_outputs; /* outputs per work-item of the general kernels (GW) */
    size_t epilogue_span;   /* elements per work-item of the separate epilogue */
    int fixed_local;        /* small fixed work-groups: CPU drivers compile per size */
    int pool;               /* the direct kernel's fused pool: 1 vector, 2 scalar (POOL) */
    int bias_work_groups;   /* the bias gradient as work-group trees (GPUs) */
} clcnn__conv2d_choices;

/* The register tiles of the direct kernel (KT output channels x WV vectors
 * of VW outputs); chosen per shape, tunable. */
typedef struct clcnn__conv2d_tiles {
    size_t kt, vw, wv;
} clcnn__conv2d_tiles;

/* ------------------------------------------------------------------ gemm */

typedef enum clcnn__gemm_backend {
    CLCNN__GEMM_AUTO = 0, /* the table's (or a tuned) choice */
    CLCNN__GEMM_TILED = 1,
    CLCNN__GEMM_CLBLAST = 2
} clcnn__gemm_backend;

typedef struct clcnn__gemm_choices {
    clcnn__gemm_backend backend;
    size_t tile_cols;  /* NR of the tiled kernel: 16 or 32 */
    size_t group_cols; /* its work-group: tiles along n ... */
    size_t group_rows; /* ... and along m; 0 0: the driver chooses */
} clcnn__gemm_choices;

/* ------------------------------------------------------------- pointwise */

/* The launch layout of the element-wise kernels (activation.cl,
 * elementwise.cl; cl/pointwise.h). */
typedef struct clcnn__pointwise_layout {
    int vec;      /* floats per vector: 2, 4, 8 or 16 (VEC) */
    int items;    /* vectors per work-item (ITEMS) */
    size_t local; /* work-group size (fitted to the kernel) */
} clcnn__pointwise_layout;

/* ---------------------------------------------------------------- pool2d */

typedef struct clcnn__pool2d_choices {
    int out_chunk;  /* forward: outputs per work-item */
    int in_chunk;   /* backward: inputs per work-item */
    int vector_2x2; /* 2x2 stride 2 unpadded windows: one output row per work-item */
    size_t local;   /* work-group size (fitted to the kernel) */
    int by_plane;   /* 1: work-groups span planes only, always the same size */
} clcnn__pool2d_choices;

/* ------------------------------------------------------------- batch norm */

typedef struct clcnn__batchnorm_plan {
    /* 0: one work-item per (chunk, channel) with float8 loops and no local
     * memory (CPUs); 1: one work-group per chunk with a tree reduction in
     * local memory (GPUs). */
    int work_group_reduce;
    size_t chunk;           /* per-work-item path: flat elements per partial */
    size_t work_group_size; /* work-group path: at most this, a power of two */
    size_t items;           /* work-group path: values per work-item (chunk = size * items) */
    size_t span;            /* element-wise kernels: consecutive elements per work-item */
    size_t small_limit;     /* n <= small_limit: one fused kernel, one work-item per channel */
    size_t fanin;           /* partials merged per work-item in each merge stage, >= 2 */
    /* Per-work-item path: when inner >= batch_rows_min_inner (0: never) and
     * batch >= batch_rows_min_parts, each work-item reads whole batch rows
     * [C, inner] in memory order (about `span` values, at least one row)
     * instead of one channel's runs, which are far apart in memory. */
    size_t batch_rows_min_inner;
    size_t batch_rows_min_parts;
} clcnn__batchnorm_plan;

/* --------------------------------------------------------------- dropout */

/* The mask strategies of clcnn_dropout_mask_strategy (clcnn/dropout.h). */
#define CLCNN__DROPOUT_REGENERATE 1
#define CLCNN__DROPOUT_BITS 2

typedef struct clcnn__dropout_choices {
    unsigned lanes; /* Philox streams per work-item: 1, 4, 8 or 16 */
    int strategy;   /* how backward finds the mask */
} clcnn__dropout_choices;

/* ------------------------------------------------------------- optimizers */

typedef struct clcnn__optim_choices {
    unsigned width; /* floats per work-item */
    size_t local;   /* work-group size (fitted to the kernel) */
} clcnn__optim_choices;

/* ------------------------------------------------------ adaptive pooling */

typedef struct clcnn__adaptive_pool_choices {
    /* Global average pooling: one work-group per plane with a tree sum in
     * local memory (GPUs: neighbours read neighbours), else one work-item
     * per plane with float8 loads (CPUs). */
    int work_groups;
    size_t local; /* work-group size, a power of two (the tree's, at most) */
    /* Consecutive outputs (forward) or inputs (backward) of a row per
     * work-item: many on CPUs (POCL pays per work-item and work-group), 1
     * on GPUs (neighbours then touch neighbouring memory). */
    size_t chunk;
} clcnn__adaptive_pool_choices;

/* ------------------------------------------------------------- the table */

/* Every op's choices for one device: a class row, then the rows of the
 * device's vendor and name on top. */
typedef struct clcnn__device_choices {
    clcnn__conv2d_choices conv2d;
    clcnn__gemm_choices gemm;
    clcnn__pointwise_layout pointwise;
    clcnn__pool2d_choices pool2d;
    clcnn__batchnorm_plan batchnorm;
    clcnn__dropout_choices dropout;
    clcnn__optim_choices optim;
    clcnn__adaptive_pool_choices adaptive_pool;
} clcnn__device_choices;

/* ---------------------------------------------------------- tuned choices */

/* One conv2d pass's choice: the algorithm and, for DIRECT forward and
 * backward data, the register tiles (all 0: the built-in ones). */
typedef struct clcnn__conv2d_choice {
    int algorithm; /* CLCNN__CONV2D_* */
    clcnn__conv2d_tiles tiles;
} clcnn__conv2d_choice;

/* A choice the auto-tuner measured best for one key (an op, pass and
 * shape), typed by the op family its key names. As text (the tuning file,
 * clcnn_tune_result; runtime/tuning.c formats and parses it):
 *   conv2d     "general", "tiled", "direct", "direct kt=8 vw=16 wv=2"
 *   gemm       "clblast", "tiled nr=16 wg=auto", "tiled nr=32 wg=4x8"
 *   pointwise  "vec=16 items=8 wg=64" */
typedef enum clcnn__tuned_family {
    CLCNN__TUNED_CONV2D = 1,   /* keys "conv2d.<pass>:..." */
    CLCNN__TUNED_GEMM = 2,     /* keys "gemm:..." */
    CLCNN__TUNED_POINTWISE = 3 /* keys "pointwise:..." */
} clcnn__tuned_family;

typedef struct clcnn__tuned_choice {
    clcnn__tuned_family family;
    union {
        clcnn__conv2d_choice conv2d;
        clcnn__gemm_choices gemm;
        clcnn__pointwise_layout pointwise;
    } as;
} clcnn__tuned_choice;

#endif
