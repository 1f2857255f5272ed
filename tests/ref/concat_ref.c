/* Double reference of the concatenation along dimension 1 (see
 * concat_ref.h). */
#include "ref/concat_ref.h"

static size_t total_channels(size_t count, const size_t *channels) {
    size_t total = 0;
    for (size_t k = 0; k < count; k++)
        total += channels[k];
    return total;
}

void concat_ref_forward(size_t count, const double *const *inputs, const size_t *channels,
                        size_t samples, size_t inner, double *y) {
    const size_t total = total_channels(count, channels);
    for (size_t n = 0; n < samples; n++) {
        size_t offset = 0;
        for (size_t k = 0; k < count; k++) {
            for (size_t c = 0; c < channels[k]; c++)
                for (size_t i = 0; i < inner; i++)
                    y[(n * total + offset + c) * inner + i] =
                        inputs[k][(n * channels[k] + c) * inner + i];
            offset += channels[k];
        }
    }
}

void concat_ref_backward(size_t count, const double *dy, const size_t *channels, size_t samples,
                         size_t inner, double *const *grads) {
    const size_t total = total_channels(count, channels);
    for (size_t n = 0; n < samples; n++) {
        size_t offset = 0;
        for (size_t k = 0; k < count; k++) {
            for (size_t c = 0; c < channels[k]; c++)
                for (size_t i = 0; i < inner; i++)
                    grads[k][(n * channels[k] + c) * inner + i] =
                        dy[(n * total + offset + c) * inner + i];
            offset += channels[k];
        }
    }
}
