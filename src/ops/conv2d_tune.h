/* conv2d's tunable choices (internal): where the choice of one pass of one
 * shape is made (conv2d.c, from the tuning table's typed entry, read by
 * conv2d_tune.c, and the built-in tables), what DIRECT's register tiles may
 * be (conv2d_direct.c), and the tuner's helpers (conv2d_tune.c). Not
 * installed. */
#ifndef CLCNN_OPS_CONV2D_TUNE_H
#define CLCNN_OPS_CONV2D_TUNE_H

#include "ops/conv2d_internal.h"

/* The choice of one pass, clcnn__conv2d_choice, is in runtime/choices.h;
 * as text "general", "tiled", "direct" or "direct kt=8 vw=16 wv=2". */

#define CLCNN__CONV2D_MAX_TILE_CANDIDATES 4

/* --------------------------------------------------------------- conv2d.c */

/* The built-in choice for this pass and geometry on ctx's device: the
 * device table's first algorithm that takes it, DIRECT with its built-in
 * tiles. */
clcnn__conv2d_choice clcnn__conv2d_builtin_choice(clcnn_context *ctx,
                                                  const clcnn__conv2d_geometry *g,
                                                  clcnn__conv2d_pass pass);

/* What runs this pass for `algorithm` (CLCNN_CONV2D_ALGO_AUTO, or one that
 * takes the geometry): for AUTO the tuning table's algorithm when it takes
 * the geometry, else the built-in one; DIRECT with the tuning table's tiles
 * when the entry names DIRECT with tiles that are candidates and fit, else
 * the built-in tiles. */
clcnn__conv2d_choice clcnn__conv2d_choice_for(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                              clcnn__conv2d_pass pass,
                                              clcnn_conv2d_algorithm algorithm);

/* -------------------------------------------------------- conv2d_direct.c */

/* The forward-kernel tiles the tuner may try for this pass (FORWARD or
 * BACKWARD_DATA): the built-in choice first, then the other rows of the
 * built-in table; returns how many (at most the constant above). */
size_t clcnn__conv2d_direct_tile_candidates(const clcnn__conv2d_geometry *g,
                                            clcnn__conv2d_pass pass, clcnn__conv2d_tiles *out);

/* The tiles the built-in table gives this pass. */
clcnn__conv2d_tiles clcnn__conv2d_direct_builtin_tiles(const clcnn__conv2d_geometry *g,
                                                       clcnn__conv2d_pass pass);

/* Whether DIRECT runs this pass with these tiles on ctx: they are
 * candidates, and the workspaces and loops fit. */
int clcnn__conv2d_direct_tiles_apply(const clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                     clcnn__conv2d_pass pass, const clcnn__conv2d_tiles *tiles);

/* ---------------------------------------------------------- conv2d_tune.c */

/* The tuning table's choice for this pass and geometry, or NULL (whether it
 * applies is the caller's to check). */
const clcnn__conv2d_choice *clcnn__conv2d_tuned(clcnn_context *ctx, const clcnn__conv2d_geometry *g,
                                                clcnn__conv2d_pass pass);

/* The choice CLCNN_CONV2D_ALGO_AUTO makes now for this convolution and pass
 * (tuning included), into *out (for tests and tools). Errors as
 * clcnn_conv2d_output_shape's, with a message. */
clcnn_status clcnn__conv2d_auto_choice(clcnn_context *ctx, const clcnn_conv2d_params *params,
                                       const size_t x_dims[4], const size_t w_dims[4],
                                       clcnn__conv2d_pass pass, clcnn__tuned_choice *out);

/* The tuning key of this pass and geometry into key; 0 when it does not
 * fit in size. */
int clcnn__conv2d_tuning_key(const clcnn__conv2d_geometry *g, clcnn__conv2d_pass pass, char *key,
                             size_t size);

#endif
