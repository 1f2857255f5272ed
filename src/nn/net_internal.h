/* The layout of a network and its layers, shared by the files of src/nn/net*.c:
 * building (net.c), parameters (net_params.c), running (net_run.c),
 * checkpoints (net_io.c) and folding (net_fold.c). */
#ifndef CLCNN_NET_INTERNAL_H
#define CLCNN_NET_INTERNAL_H

#include "clcnn/dropout.h"
#include "clcnn/net.h"
#include "runtime/internal.h"

#define CLCNN__NAME_MAX 32
#define CLCNN__TENSOR_NAME_MAX 64
#define CLCNN__SAMPLE_DIMS 3

/* Names of a layer's state-dict entries. */
typedef struct clcnn__layer_names {
    char weight[CLCNN__TENSOR_NAME_MAX];
    char bias[CLCNN__TENSOR_NAME_MAX];
    char running_mean[CLCNN__TENSOR_NAME_MAX];
    char running_var[CLCNN__TENSOR_NAME_MAX];
    char num_batches_tracked[CLCNN__TENSOR_NAME_MAX];
} clcnn__layer_names;

typedef struct clcnn__layer {
    clcnn_layer_kind kind;
    char name[CLCNN__NAME_MAX];
    clcnn__layer_names names;
    size_t in_ndim, in_dims[CLCNN__SAMPLE_DIMS]; /* one sample */
    size_t out_ndim, out_dims[CLCNN__SAMPLE_DIMS];

    /* Parameters (conv, dense: weight and optional bias; batch norm: gamma
     * in weight, beta in bias) and their gradients. */
    clcnn_tensor *weight, *bias, *weight_grad, *bias_grad;
    int has_bias; /* conv and dense: the bias exists (batch norm: always) */

    clcnn_conv2d_params conv;
    size_t kernel_h, kernel_w;
    clcnn_batchnorm_params bn;
    clcnn_batchnorm_state bn_state;
    clcnn_activation_params activation;
    int in_place; /* activation written over its input */
    clcnn_pool2d_params pool;
    float dropout_p;
    clcnn_dropout_state dropout;
    clcnn_dropout_mask *mask;
    /* A dropout layer run from a first sample above 0 (net_hooks.c): the
     * samples before it (contents unused) and the batch behind them, and the
     * first sample its last training forward used. */
    clcnn_tensor *dropout_prefix, *dropout_wide;
    size_t dropout_first;

    /* Per-batch memory: the output, the gradient of the loss with respect to
     * the output, and batch norm's saved statistics. A flatten's (and an
     * in-place activation's) are views of / the same as the previous
     * layer's. */
    clcnn_tensor *output, *output_grad;
    clcnn_tensor *save_mean, *save_invstd;
    /* Batch norm after a convolution: its eval-mode affine ([C] each),
     * recomputed on every eval forward and fused into the convolution. */
    clcnn_tensor *fused_scale, *fused_shift;
} clcnn__layer;

struct clcnn_net {
    clcnn_context *ctx;
    size_t in_ndim, in_dims[CLCNN__SAMPLE_DIMS];
    clcnn__layer *layers;
    size_t layer_count;
    clcnn_net_tensor *parameters; /* trainable, state-dict order */
    size_t parameter_count;
    /* One buffer for every parameter value and one for every gradient, each
     * parameter tensor a view into them (arenas, runtime/internal.h), so
     * that zero_grad is one fill and an optimizer step one launch; NULL when
     * they would not fit in one allocation (separate tensors then). */
    clcnn_tensor *value_arena, *grad_arena;
    int training;
    int initialised;    /* parameters exist (made by their first use or init) */
    size_t batch;       /* the batch the per-batch memory is sized for; 0: none */
    int training_ready; /* the per-batch training buffers exist */
    const clcnn_tensor *last_input;
    int loss_ready;
    /* Data-parallel hooks (net_hooks.c, clcnn/net.h). */
    clcnn_net_gradient_callback gradient_callback;
    void *gradient_user;
    size_t first_sample;
    clcnn_net_batchnorm_ops batchnorm_ops; /* all NULL: the library's own */
};

/* Shape [batch, dims...] into out; returns the rank. */
size_t clcnn__net_batch_shape(size_t batch, size_t ndim, const size_t *dims, size_t *out);

/* Frees the per-batch memory of every layer (back to the pool). */
void clcnn__net_release_batch(clcnn_net *net);

/* Parameters and buffers (src/nn/net_params.c). A network has them, as far
 * as its user can tell, from construction on; they are made on first use.
 *
 * clcnn__net_ensure_parameters: makes them if not done yet and draws them
 * with CLCNN_NET_DEFAULT_SEED -- what every use of the parameters calls.
 * clcnn__net_allocate_parameters: makes them without drawing (zeros, batch
 * norm at its reset state), for a caller that writes every value at once.
 * clcnn__net_release_parameters: frees them (the network may make them
 * again). */
clcnn_status clcnn__net_ensure_parameters(clcnn_net *net);
clcnn_status clcnn__net_allocate_parameters(clcnn_net *net);
void clcnn__net_release_parameters(clcnn_net *net);

/* "conv2d", "batchnorm", ... as the checkpoint's architecture names them. */
const char *clcnn__layer_kind_name(clcnn_layer_kind kind);

/* Element count of one sample of a layer's output. */
size_t clcnn__layer_out_features(const clcnn__layer *layer);

/* The hooks of clcnn/net.h's data-parallel section (src/nn/net_hooks.c):
 * dropout forward and backward from the network's first sample, the batch
 * norm's training calls through the installed replacements, and the
 * gradient callback after layer `index`'s parameter gradients. */
clcnn_status clcnn__net_dropout_forward(clcnn_net *net, clcnn__layer *layer, const clcnn_tensor *x);
clcnn_status clcnn__net_dropout_backward(clcnn_net *net, clcnn__layer *layer,
                                         const clcnn_tensor *dy, clcnn_tensor *dx);
clcnn_status clcnn__net_batchnorm_forward_train(clcnn_net *net, clcnn__layer *layer,
                                                const clcnn_batchnorm_params *params,
                                                const clcnn_tensor *x,
                                                const clcnn_batchnorm_saved *saved);
clcnn_status clcnn__net_batchnorm_backward(clcnn_net *net, clcnn__layer *layer,
                                           const clcnn_batchnorm_params *params,
                                           const clcnn_tensor *x, const clcnn_tensor *dy,
                                           const clcnn_batchnorm_saved *saved, clcnn_tensor *dx,
                                           const clcnn_batchnorm_grads *grads);
clcnn_status clcnn__net_gradients_final(clcnn_net *net, const clcnn__layer *layer);

#endif
