/* conv2d's tunable choices (internal): what the tuning table may say about
 * one pass of one shape, where the choice is made (conv2d.c picks the
 * algorithm, conv2d_direct.c the register tiles) and the tuner's helpers
 * (conv2d_tune.c). Not installed. */
#ifndef CLCNN_OPS_CONV2D_TUNE_H
#define CLCNN_OPS_CONV2D_TUNE_H

#include "ops/conv2d_internal.h"

/* Register tiles of the DIRECT forward kernel (also used by backward data):
 * kt output channels x wv vectors of vw lanes. */
/* clcnn__conv2d_tiles is in runtime/choices.h. */

/* One choice for one pass: the algorithm and, for DIRECT forward and
 * backward data, the tiles (all 0 when the algorithm has none to choose).
 * As text: "general", "tiled", "direct" or "direct kt=8 vw=16 wv=2". */
typedef struct clcnn__conv2d_choice {
    clcnn_conv2d_algorithm algorithm;
    clcnn__conv2d_tiles tiles;
} clcnn__conv2d_choice;

#define CLCNN__CONV2D_MAX_TILE_CANDIDATES 4

/* --------------------------------------------------------------- conv2d.c */

/* What CLCNN_CONV2D_ALGO_AUTO runs for this pass and geometry on ctx's
 * device: the tuning table's algorithm when it has one that applies, else
 * the built-in table's. */
clcnn_conv2d_algorithm clcnn__conv2d_auto_algorithm(clcnn_context *ctx,
                                                    const clcnn__conv2d_geometry *g,
                                                    clcnn__conv2d_pass pass);

/* -------------------------------------------------------- conv2d_direct.c */

/* The forward-kernel tiles the tuner may try for this pass (FORWARD or
 * BACKWARD_DATA): the built-in choice first, then the other rows of the
 * built-in table; returns how many (at most the constant above). */
size_t clcnn__conv2d_direct_tile_candidates(const clcnn__conv2d_geometry *g,
                                            clcnn__conv2d_pass pass, clcnn__conv2d_tiles *out);

/* The tiles the DIRECT algorithm runs this pass with on ctx: the tuning
 * table's when they are candidates and fit, else the built-in choice. */
clcnn__conv2d_tiles clcnn__conv2d_direct_tiles(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                               clcnn__conv2d_pass pass);

/* ---------------------------------------------------------- conv2d_tune.c */

/* The tuning table's choice for this pass and geometry, parsed: 1 when the
 * table has a well-formed entry (whether it applies is the caller's to
 * check), else 0. */
int clcnn__conv2d_tuned(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                        clcnn__conv2d_pass pass, clcnn__conv2d_choice *out);

/* The choice CLCNN_CONV2D_ALGO_AUTO makes now for this convolution and pass
 * (tuning included), as text into choice (for tests and tools). Errors as
 * clcnn_conv2d_output_shape's, with a message. */
clcnn_status clcnn__conv2d_auto_choice(clcnn_context *ctx, const clcnn_conv2d_params *params,
                                       const size_t x_dims[4], const size_t w_dims[4],
                                       clcnn__conv2d_pass pass, char *choice, size_t size);

/* The tuning key of this pass and geometry into key; 0 when it does not
 * fit in size. */
int clcnn__conv2d_tuning_key(const clcnn__conv2d_geometry *g, clcnn__conv2d_pass pass, char *key,
                             size_t size);

#endif
