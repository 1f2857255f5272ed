/* Every layer kind's module, one line each: what the checkpoint's
 * architecture finds layers by. */
#include <string.h>

#include "nn/layer.h"

/* clang-format off */
static const clcnn__layer_type *const layer_types[] = {
    &clcnn__layer_conv2d,
    &clcnn__layer_batchnorm,
    &clcnn__layer_activation,
    &clcnn__layer_pool2d,
    &clcnn__layer_flatten,
    &clcnn__layer_dense,
    &clcnn__layer_dropout,
    &clcnn__layer_residual,
    &clcnn__layer_concat,
    &clcnn__layer_adaptive_avg_pool,
};
/* clang-format on */

const clcnn__layer_type *clcnn__layer_type_named(const char *name) {
    for (size_t i = 0; i < sizeof layer_types / sizeof layer_types[0]; i++)
        if (strcmp(layer_types[i]->name, name) == 0)
            return layer_types[i];
    return NULL;
}
