/* Learning-rate schedules (see include/clcnn/optim.h): the closed forms of
 * PyTorch's StepLR and CosineAnnealingLR, pure functions of their arguments. */
#include <math.h>

#include "clcnn/optim.h"

/* math.pi, which C11 does not name. */
#define LR_PI 3.14159265358979323846

double clcnn_lr_step(double base_lr, size_t epoch, size_t step_size, double gamma) {
    if (step_size == 0)
        return NAN;
    return base_lr * pow(gamma, (double)(epoch / step_size));
}

double clcnn_lr_cosine(double base_lr, size_t t, size_t t_max, double eta_min) {
    if (t_max == 0)
        return NAN;
    return eta_min + (base_lr - eta_min) * (1.0 + cos(LR_PI * (double)t / (double)t_max)) / 2.0;
}
