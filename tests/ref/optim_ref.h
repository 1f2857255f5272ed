/* Plain double-precision reference for the optimizer updates of PyTorch 2.x
 * (torch.optim.SGD, Adam, AdamW; single-tensor path, maximize off), used by
 * tests/test_optim.c. Written from PyTorch's formulas as straightforward
 * loops, independent of the library's kernels. */
#ifndef CLCNN_TEST_OPTIM_REF_H
#define CLCNN_TEST_OPTIM_REF_H

#include <stddef.h>

typedef struct optim_ref_sgd {
    double lr, momentum, dampening, weight_decay;
    int nesterov;
} optim_ref_sgd;

/* One SGD step over n elements. buf is the momentum buffer (unused when
 * momentum is 0); first_step: the buffer does not exist yet and is set to d
 * (PyTorch's clone), whatever the dampening. */
void optim_ref_sgd_step(const optim_ref_sgd *h, int first_step, size_t n, double *param,
                        const double *grad, double *buf);

typedef struct optim_ref_adam {
    double lr, beta1, beta2, eps, weight_decay;
    int decoupled; /* AdamW */
    int amsgrad;
} optim_ref_adam;

/* One Adam/AdamW step number t (1 for the first step) over n elements;
 * max_exp_avg_sq is used only with amsgrad. */
void optim_ref_adam_step(const optim_ref_adam *h, unsigned long t, size_t n, double *param,
                         const double *grad, double *exp_avg, double *exp_avg_sq,
                         double *max_exp_avg_sq);

#endif
