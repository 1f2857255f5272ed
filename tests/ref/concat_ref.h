/* Plain double-precision reference for concatenation along dimension 1
 * (torch.cat(inputs, dim=1)) and its backward, used by
 * tests/test_concat.c: index arithmetic written from the definition,
 * independent of the library's kernels. */
#ifndef CLCNN_TEST_CONCAT_REF_H
#define CLCNN_TEST_CONCAT_REF_H

#include <stddef.h>

/* y[n][c][i] for `count` inputs of shape [samples, channels[k], inner]:
 * input k's channel c lands at channel (channels[0] + ... + channels[k-1])
 * + c of y, which has the sum of channels. */
void concat_ref_forward(size_t count, const double *const *inputs, const size_t *channels,
                        size_t samples, size_t inner, double *y);

/* grads[k] = the part of dy that input k gave (overwritten). */
void concat_ref_backward(size_t count, const double *dy, const size_t *channels, size_t samples,
                         size_t inner, double *const *grads);

#endif
