/* Double-precision optimizer reference (see optim_ref.h). */
#include "ref/optim_ref.h"

#include <math.h>

void optim_ref_sgd_step(const optim_ref_sgd *h, int first_step, size_t n, double *param,
                        const double *grad, double *buf) {
    for (size_t i = 0; i < n; i++) {
        double d = grad[i];
        if (h->weight_decay != 0.0)
            d = d + h->weight_decay * param[i];
        if (h->momentum != 0.0) {
            if (first_step)
                buf[i] = d;
            else
                buf[i] = h->momentum * buf[i] + (1.0 - h->dampening) * d;
            if (h->nesterov)
                d = d + h->momentum * buf[i];
            else
                d = buf[i];
        }
        param[i] = param[i] - h->lr * d;
    }
}

void optim_ref_adam_step(const optim_ref_adam *h, unsigned long t, size_t n, double *param,
                         const double *grad, double *exp_avg, double *exp_avg_sq,
                         double *max_exp_avg_sq) {
    double bias_correction1 = 1.0 - pow(h->beta1, (double)t);
    double bias_correction2 = 1.0 - pow(h->beta2, (double)t);
    double step_size = h->lr / bias_correction1;
    for (size_t i = 0; i < n; i++) {
        double g = grad[i];
        if (h->decoupled)
            param[i] = param[i] * (1.0 - h->lr * h->weight_decay);
        else if (h->weight_decay != 0.0)
            g = g + h->weight_decay * param[i];
        exp_avg[i] = h->beta1 * exp_avg[i] + (1.0 - h->beta1) * g;
        exp_avg_sq[i] = h->beta2 * exp_avg_sq[i] + (1.0 - h->beta2) * g * g;
        double v = exp_avg_sq[i];
        if (h->amsgrad) {
            if (exp_avg_sq[i] > max_exp_avg_sq[i])
                max_exp_avg_sq[i] = exp_avg_sq[i];
            v = max_exp_avg_sq[i];
        }
        double denom = sqrt(v) / sqrt(bias_correction2) + h->eps;
        param[i] = param[i] - step_size * exp_avg[i] / denom;
    }
}
