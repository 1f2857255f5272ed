/* The launch layout shared by the element-wise kernels (cl/pointwise.h:
 * activation.c, elementwise.c): the vector width, vectors per work-item
 * and work-group size of a kernel family on a device, from the tuning
 * table (clcnn_pointwise_tune, pointwise.c) or the built-in per-device
 * table. Not installed. */
#ifndef CLCNN_OPS_POINTWISE_H
#define CLCNN_OPS_POINTWISE_H

#include "runtime/internal.h"

/* The families, each with its own tuning entry; the order of
 * clcnn_pointwise_tune's results. */
typedef enum clcnn__pointwise_family {
    CLCNN__POINTWISE_ACTIVATION = 0,
    CLCNN__POINTWISE_ELEMENTWISE = 1
} clcnn__pointwise_family;

/* clcnn__pointwise_layout is in runtime/choices.h (the device table's). */

#define CLCNN__POINTWISE_MAX_CANDIDATES 10

/* The layout a family's kernels run with on ctx: the tuning table's when
 * it names a candidate, else the built-in table's. */
clcnn__pointwise_layout clcnn__pointwise_layout_for(clcnn_context *ctx,
                                                    clcnn__pointwise_family family);

/* The build options of a layout ("-DVEC=16 -DITEMS=8") into options. */
void clcnn__pointwise_options(const clcnn__pointwise_layout *layout, char *options, size_t size);

/* Runs a prepared 1-D launch over numel elements in this layout. */
clcnn_status clcnn__pointwise_run(clcnn__launch *launch, const clcnn__pointwise_layout *layout,
                                  size_t numel);

/* The same for a kernel whose arguments the caller set itself (the ops not
 * yet on clcnn__launch; to go once they all are). */
clcnn_status clcnn__pointwise_launch(clcnn_context *ctx, cl_kernel kernel,
                                     const clcnn__pointwise_layout *layout, size_t numel);

/* The tuning key of a family ("pointwise:activation"), and the layout its
 * kernels run with now as a tuned choice (for the tuner, tests and tools). */
const char *clcnn__pointwise_key(clcnn__pointwise_family family);
void clcnn__pointwise_choice(clcnn_context *ctx, clcnn__pointwise_family family,
                             clcnn__tuned_choice *out);

/* The layouts the tuner tries into out (room for
 * CLCNN__POINTWISE_MAX_CANDIDATES); returns how many. */
size_t clcnn__pointwise_candidates(clcnn__tuned_choice *out);

#endif
