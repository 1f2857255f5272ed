/* Internal interface of the conv2d op, shared by its host files: the checked
 * geometry of one convolution, the launch helpers (conv2d_launch.c) and the
 * entry points of each algorithm (conv2d_general.c, conv2d_direct.c,
 * conv2d_tiled.c), chosen in conv2d.c. Not installed. */
#ifndef CLCNN_OPS_CONV2D_INTERNAL_H
#define CLCNN_OPS_CONV2D_INTERNAL_H

#include "clcnn/conv2d.h"
#include "runtime/internal.h"

/* Every size of one convolution, checked: each tensor and workspace the
 * kernels index holds fewer than CLCNN__CONV2D_MAX_ELEMENTS elements, so the
 * kernels' 32-bit index arithmetic cannot overflow. */
typedef struct clcnn__conv2d_geometry {
    size_t n, c, h, w; /* input [N, C, H, W] */
    size_t k, kh, kw;  /* weights [K, C/groups, KH, KW] */
    size_t ho, wo;     /* output [N, K, HO, WO] */
    size_t sh, sw;     /* stride */
    size_t ph, pw;     /* padding */
    size_t dh, dw;     /* dilation */
    size_t groups;     /* group count */
    size_t cg, kg;     /* input and output channels per group */
} clcnn__conv2d_geometry;

#define CLCNN__CONV2D_MAX_ELEMENTS ((size_t)0x7fffffff)

/* The geometry of a convolution of x_dims and w_dims giving y_dims under p
 * (all checked by conv2d.h's shape rules). */
clcnn__conv2d_geometry clcnn__conv2d_geometry_of(const clcnn_conv2d_params *p,
                                                 const size_t x_dims[4], const size_t w_dims[4],
                                                 const size_t y_dims[4]);

/* The index limit: every tensor under CLCNN__CONV2D_MAX_ELEMENTS elements,
 * padded sizes and strides below 2^31, else CLCNN_ERROR_SIZE_OVERFLOW with
 * op in the message. */
clcnn_status clcnn__conv2d_check_limits(clcnn_context *ctx, const char *op,
                                        const clcnn__conv2d_geometry *g);

typedef enum clcnn__conv2d_pass {
    CLCNN__CONV2D_FORWARD = 0,
    CLCNN__CONV2D_BACKWARD_DATA = 1,
    CLCNN__CONV2D_BACKWARD_WEIGHTS = 2
} clcnn__conv2d_pass;

/* The device buffers of one pass in the roles of conv2d_forward. */
typedef struct clcnn__conv2d_buffers {
    cl_mem input;   /* x, or dx for backward data */
    cl_mem weights; /* w, or dw for backward weights */
    cl_mem output;  /* y, or dy for the backward passes */
    cl_mem bias;    /* forward: the bias; backward weights: db; NULL: none */
    int accumulate; /* backward passes: add into dx, or dw and db */
} clcnn__conv2d_buffers;

/* A checked epilogue (clcnn_conv2d_epilogue): buffers NULL where absent;
 * pool: the 2x2 max pool, the output then [N, K, HO / 2, WO / 2]. */
typedef struct clcnn__conv2d_epilogue {
    cl_mem scale, shift;
    int relu;
    int pool;
} clcnn__conv2d_epilogue;

/* Runs one pass of a checked convolution with an explicit choice (the
 * public entry points once they have chosen, and the tuner): its algorithm
 * must take the geometry; DIRECT's tiles as clcnn__conv2d_direct_forward
 * takes them. epilogue: forward only, NULL for none. */
clcnn_status clcnn__conv2d_run_with(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                    clcnn__conv2d_pass pass, const clcnn__conv2d_choice *choice,
                                    const clcnn__conv2d_buffers *b,
                                    const clcnn__conv2d_epilogue *epilogue);

/* Whether the epilogue changes anything (NULL: nothing to do). */
int clcnn__conv2d_epilogue_active(const clcnn__conv2d_epilogue *epilogue);

/* Applies epilogue to the convolution src [N, K, HO, WO], whose bias (if
 * any) is already added, into y: in place (src == y) without the pool, else
 * src is a workspace and y the pooled output. The epilogue of the
 * algorithms without one of their own (conv2d_epilogue.c,
 * cl/conv2d_epilogue.cl). */
clcnn_status clcnn__conv2d_epilogue_apply(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                          const clcnn__conv2d_epilogue *epilogue, cl_mem src,
                                          cl_mem y);

/* Where `chunks` partial sums of `count` values go: out itself for one
 * chunk, else a pooled workspace of chunks x count floats (*partial, which
 * the caller releases; NULL for one chunk). */
clcnn_status clcnn__conv2d_partial_target(clcnn_context *ctx, cl_mem out, size_t count,
                                          size_t chunks, cl_mem *partial, cl_mem *target);

/* out[i] (+)= the sum over the chunks of partial[chunk * count + i], chunk
 * 0 first (conv2d_reduce_partials): the same bits every run. */
clcnn_status clcnn__conv2d_reduce_partials(clcnn_context *ctx, cl_mem partial, cl_mem out,
                                           size_t count, size_t chunks, int accumulate);

/* clcnn__launch_prepare for a kernel of cl/conv2d.cl (the general kernels
 * and the helpers every algorithm uses), built with this device's
 * options. */
clcnn_status clcnn__conv2d_prepare(clcnn_context *ctx, const char *name, clcnn__launch *launch);

/* Runs a prepared launch of a kernel that guards its range, over
 * global[0..dims-1]. On devices whose table asks for fixed work-groups
 * (CPUs) and with cpu_local given, work-groups have that size (global
 * rounded up to it; fitted to the compiled kernel): POCL compiles a kernel
 * once per work-group size, and left to choose it would pick one from each
 * global size, compiling again for every new shape. Elsewhere the driver
 * chooses. */
clcnn_status clcnn__conv2d_launch(clcnn__launch *launch, cl_uint dims, const size_t *global,
                                  const size_t *cpu_local);

/* Whether count elements fit the kernels' 32-bit indices. */
int clcnn__conv2d_fits(size_t count);

/* The build options of cl/conv2d.cl for this device (one build serves the
 * general kernels and the helpers every algorithm uses). */
const char *clcnn__conv2d_helper_options(const clcnn_context *ctx);

/* db (+)= sum of dy over N, HO, WO: shared by every algorithm. */
clcnn_status clcnn__conv2d_bias_grad(clcnn_context *ctx, const clcnn__conv2d_geometry *g, cl_mem dy,
                                     cl_mem db, int accumulate);

/* ALGO_GENERAL: accepts every geometry. */
clcnn_status clcnn__conv2d_general_forward(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                           cl_mem x, cl_mem w, cl_mem bias, cl_mem y);
clcnn_status clcnn__conv2d_general_backward_data(clcnn_context *ctx,
                                                 const clcnn__conv2d_geometry *g, cl_mem dy,
                                                 cl_mem w, cl_mem dx, int accumulate);
clcnn_status clcnn__conv2d_general_backward_weights(clcnn_context *ctx,
                                                    const clcnn__conv2d_geometry *g, cl_mem x,
                                                    cl_mem dy, cl_mem dw, int accumulate);

/* ALGO_DIRECT: stride 1 only, and workspaces within the index limit. */
int clcnn__conv2d_direct_supports(const clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                  clcnn__conv2d_pass pass);
/* tiles: the forward kernel's register tiles; NULL, all 0 or tiles that do
 * not fit: the built-in ones. epilogue may be NULL (none); it is applied in
 * the kernel's stores. */
clcnn_status clcnn__conv2d_direct_forward(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                          const clcnn__conv2d_tiles *tiles, cl_mem x, cl_mem w,
                                          cl_mem bias, const clcnn__conv2d_epilogue *epilogue,
                                          cl_mem y);
clcnn_status clcnn__conv2d_direct_backward_data(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                                const clcnn__conv2d_tiles *tiles, cl_mem dy,
                                                cl_mem w, cl_mem dx, int accumulate);
clcnn_status clcnn__conv2d_direct_backward_weights(clcnn_context *ctx,
                                                   const clcnn__conv2d_geometry *g, cl_mem x,
                                                   cl_mem dy, cl_mem dw, int accumulate);

/* ALGO_TILED: every geometry whose workspace fits the index limit, on
 * devices that run work-groups of 16 work-items or more. */
int clcnn__conv2d_tiled_supports(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                 clcnn__conv2d_pass pass);
clcnn_status clcnn__conv2d_tiled_forward(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                         cl_mem x, cl_mem w, cl_mem bias, cl_mem y);
clcnn_status clcnn__conv2d_tiled_backward_data(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                               cl_mem dy, cl_mem w, cl_mem dx, int accumulate);
clcnn_status clcnn__conv2d_tiled_backward_weights(clcnn_context *ctx,
                                                  const clcnn__conv2d_geometry *g, cl_mem x,
                                                  cl_mem dy, cl_mem dw, int accumulate);

#endif
