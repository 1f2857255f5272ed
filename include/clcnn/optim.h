/* Optimizers (SGD, Adam, AdamW) that update parameter tensors on the device
 * with PyTorch's update rules, and host-side learning-rate schedules.
 *
 * The updates follow torch.optim.SGD / Adam / AdamW of PyTorch 2.x with
 * foreach=False (the single-tensor code path), maximize=False, so the same
 * hyper-parameters mean the same thing. Per parameter p with gradient g
 * (all element-wise, in float on the device):
 *
 *   SGD:   d = g + weight_decay * p                  (when weight_decay != 0)
 *          when momentum != 0:
 *            buf = d                                 (first step: a copy)
 *            buf = momentum * buf + (1 - dampening) * d   (later steps)
 *            d = nesterov ? d + momentum * buf : buf
 *          p = p - lr * d
 *
 *   Adam:  t = t + 1
 *          AdamW (decoupled): p = p * (1 - lr * weight_decay)
 *          Adam (coupled):    g = g + weight_decay * p   (when weight_decay != 0)
 *          m = lerp(m, g, 1 - beta1)         (= beta1 * m + (1 - beta1) * g)
 *          v = beta2 * v + (1 - beta2) * g * g
 *          amsgrad: v_max = max(v_max, v), used below in place of v
 *          step_size = lr / (1 - beta1^t)
 *          denom = sqrt(v) / sqrt(1 - beta2^t) + eps
 *          p = p - step_size * m / denom
 *
 * Every scalar factor (1 - dampening, 1 - beta1, step_size, sqrt(1 - beta2^t),
 * 1 - lr * weight_decay, ...) is computed on the host in double, as Python
 * does, and rounded to float once when passed to the kernel, where PyTorch's
 * kernels round the same Python double to float. The float operations come
 * in PyTorch's order (lerp with PyTorch's two-branch formula), without
 * contraction into fused multiply-adds, so results agree with PyTorch's
 * float32 ones to a few ulp per step (PyTorch's vectorised CPU kernels fuse
 * some multiply-adds; OpenCL's sqrt and division may be a few ulp from
 * correctly rounded). Results are deterministic on a given device: each
 * element is updated by one work-item, with no reductions.
 *
 * Bandwidth-bound, vectorised kernels. A step is one kernel launch over
 * every parameter when the parameters and gradients are those of a
 * clcnn_net, listed in its order (or a consecutive run of them): the network
 * keeps them in two buffers, and the optimizer its state likewise; for other
 * tensors, or with factors that are not finite or Adam's eps of 0, it is one
 * launch per parameter tensor. Both give the same bits.
 * Like every op, clcnn_optimizer_step only enqueues work (no host reads, no
 * allocation); errors the device raises surface at the next blocking call. */
#ifndef CLCNN_OPTIM_H
#define CLCNN_OPTIM_H

#include <stdint.h>

#include "clcnn/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SGD hyper-parameters (torch.optim.SGD). Every value must be finite;
 * lr >= 0, momentum >= 0, weight_decay >= 0 (dampening may be any finite
 * value, as in PyTorch); nesterov needs momentum > 0 and dampening == 0. */
typedef struct clcnn_sgd_params {
    double lr;           /* default 1e-3 (recent PyTorch 2.x; older ones had none) */
    double momentum;     /* default 0 (no momentum buffers) */
    double dampening;    /* default 0 */
    double weight_decay; /* default 0 (L2 penalty added to the gradient) */
    int nesterov;        /* default 0 */
} clcnn_sgd_params;

CLCNN_API clcnn_sgd_params clcnn_sgd_params_default(void);

/* Adam / AdamW hyper-parameters (torch.optim.Adam, torch.optim.AdamW). Every
 * value must be finite; lr >= 0, eps >= 0, weight_decay >= 0, 0 <= beta1 < 1,
 * 0 <= beta2 < 1. */
typedef struct clcnn_adam_params {
    double lr;           /* default 1e-3 */
    double beta1;        /* default 0.9 */
    double beta2;        /* default 0.999 */
    double eps;          /* default 1e-8 */
    double weight_decay; /* default 0 for Adam, 1e-2 for AdamW */
    /* 0: Adam's L2 penalty added to the gradient; non-zero: AdamW's decoupled
     * weight decay p *= 1 - lr * weight_decay before the update. */
    int decoupled_weight_decay;
    int amsgrad; /* default 0; non-zero keeps max_exp_avg_sq as PyTorch does */
} clcnn_adam_params;

/* Adam's defaults (torch.optim.Adam). */
CLCNN_API clcnn_adam_params clcnn_adam_params_default(void);
/* AdamW's defaults (torch.optim.AdamW): decoupled, weight_decay 1e-2. */
CLCNN_API clcnn_adam_params clcnn_adamw_params_default(void);

/* An optimizer for a fixed list of (parameter, gradient) tensor pairs. It
 * keeps pointers to the caller's tensors, which must stay alive until it is
 * destroyed, and owns its state tensors (zero-filled on creation, shaped as
 * their parameter) and a host step counter. Destroy it with
 * clcnn_optimizer_destroy (NULL is a no-op) before its context. Used by one
 * thread at a time, like its context. */
typedef struct clcnn_optimizer clcnn_optimizer;

/* Creates an optimizer for params[i] updated from grads[i], i < count. params
 * NULL means the defaults. Errors: NULL context or out, count 0, NULL arrays
 * or elements, a hyper-parameter out of its range or not finite, nesterov
 * without momentum or with dampening, the same parameter (or storage) listed
 * twice: CLCNN_ERROR_INVALID_ARGUMENT; params[i] and grads[i] of different
 * shapes: CLCNN_ERROR_INVALID_SHAPE; a tensor of another context:
 * CLCNN_ERROR_CONTEXT_MISMATCH; memory for the state:
 * CLCNN_ERROR_OUT_OF_DEVICE_MEMORY / OUT_OF_HOST_MEMORY. *out is NULL on
 * failure. */
CLCNN_API clcnn_status clcnn_optimizer_create_sgd(clcnn_context *context,
                                                  const clcnn_sgd_params *params, size_t count,
                                                  clcnn_tensor *const *parameters,
                                                  clcnn_tensor *const *grads,
                                                  clcnn_optimizer **out);
CLCNN_API clcnn_status clcnn_optimizer_create_adam(clcnn_context *context,
                                                   const clcnn_adam_params *params, size_t count,
                                                   clcnn_tensor *const *parameters,
                                                   clcnn_tensor *const *grads,
                                                   clcnn_optimizer **out);
CLCNN_API void clcnn_optimizer_destroy(clcnn_optimizer *optimizer);

/* Enqueues one update of every parameter from its gradient (gradients are
 * only read) and advances the step counter. Asynchronous. Errors: NULL
 * optimizer: CLCNN_ERROR_INVALID_ARGUMENT; the step counter at UINT64_MAX:
 * CLCNN_ERROR_SIZE_OVERFLOW; an enqueue failure: its status, the counter
 * unchanged, and the parameters before the failing one already updated. */
CLCNN_API clcnn_status clcnn_optimizer_step(clcnn_optimizer *optimizer);

/* The learning rate of the following steps (e.g. from a schedule below).
 * NULL optimizer, lr < 0 or not finite: CLCNN_ERROR_INVALID_ARGUMENT. For
 * AdamW the decay factor 1 - lr * weight_decay follows the new lr. */
CLCNN_API clcnn_status clcnn_optimizer_set_lr(clcnn_optimizer *optimizer, double lr);
/* The current learning rate; NaN for a NULL optimizer. */
CLCNN_API double clcnn_optimizer_get_lr(const clcnn_optimizer *optimizer);

/* Number of (parameter, gradient) pairs; 0 for NULL. */
CLCNN_API size_t clcnn_optimizer_param_count(const clcnn_optimizer *optimizer);

/* ------------------------------------------------------------ checkpoints */

/* The step counter: steps taken so far (PyTorch's state "step" for Adam,
 * shared by all parameters here). For SGD with momentum, 0 means the
 * momentum buffers are unset, as PyTorch's momentum_buffer None: the next
 * step copies d into them. After restoring buffers from a checkpoint set a
 * non-zero step. 0 for a NULL optimizer. */
CLCNN_API uint64_t clcnn_optimizer_get_step(const clcnn_optimizer *optimizer);
/* NULL optimizer: CLCNN_ERROR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_optimizer_set_step(clcnn_optimizer *optimizer, uint64_t step);

/* One state tensor: state[param_index][name] in PyTorch's state_dict terms.
 * The tensor is owned by the optimizer (do not destroy it); read it to save
 * a checkpoint, write it (clcnn_tensor_write / copy) to restore one. */
typedef struct clcnn_optimizer_state {
    size_t param_index;
    const char *name; /* "momentum_buffer"; "exp_avg", "exp_avg_sq", "max_exp_avg_sq" */
    clcnn_tensor *tensor;
} clcnn_optimizer_state;

/* Number of state tensors: per parameter, 1 for SGD with momentum, 0 for SGD
 * without, 2 for Adam/AdamW (3 with amsgrad). 0 for NULL. */
CLCNN_API size_t clcnn_optimizer_state_count(const clcnn_optimizer *optimizer);

/* State tensor `index` (0 .. count-1), ordered by parameter and then in the
 * order of the names above: index = param_index * per_param + k. Errors:
 * NULL optimizer or out: CLCNN_ERROR_INVALID_ARGUMENT; index out of range:
 * CLCNN_ERROR_OUT_OF_RANGE. */
CLCNN_API clcnn_status clcnn_optimizer_state_get(clcnn_optimizer *optimizer, size_t index,
                                                 clcnn_optimizer_state *out);

/* ------------------------------------------------------ learning-rate schedules */

/* Closed forms of PyTorch's schedulers, pure functions on the host (PyTorch's
 * chained form multiplies step by step and may differ in the last bits).
 * Invalid arguments give NaN, which clcnn_optimizer_set_lr refuses. */

/* StepLR: base_lr * gamma^floor(epoch / step_size). NaN when step_size is 0. */
CLCNN_API double clcnn_lr_step(double base_lr, size_t epoch, size_t step_size, double gamma);

/* CosineAnnealingLR: eta_min + (base_lr - eta_min) * (1 + cos(pi * t / t_max)) / 2
 * (for t > t_max the curve goes on, as PyTorch's does). NaN when t_max is 0. */
CLCNN_API double clcnn_lr_cosine(double base_lr, size_t t, size_t t_max, double eta_min);

#ifdef __cplusplus
}
#endif

#endif
