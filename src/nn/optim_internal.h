/* Internal hooks of the optimizers (src/nn/optim.c), for tests. */
#ifndef CLCNN_NN_OPTIM_INTERNAL_H
#define CLCNN_NN_OPTIM_INTERNAL_H

#include "clcnn/optim.h"

/* Forces the elements per work-item of the optimizer's kernel (4, 8 or 16;
 * 0: the device table's choice again), so tests cover every width on one
 * device; the kernel is built now. Other widths:
 * CLCNN_ERROR_INVALID_ARGUMENT. */
clcnn_status clcnn__optimizer_set_width(clcnn_optimizer *optimizer, unsigned width);

#endif
