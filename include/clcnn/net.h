/* Networks: a sequence of layers that own their parameters, gradients and
 * activation memory, trained with softmax cross-entropy.
 *
 * A network is built layer by layer for an input of C x H x W (or features)
 * per sample; the shapes of every layer follow from it. Parameters are
 * named as PyTorch's state_dict() names them for the equivalent torch.nn
 * module whose attributes carry the layer names ("conv1.weight",
 * "bn1.running_var", "fc2.bias", ...), so checkpoints move both ways.
 *
 * A network is usable as soon as it is built, like a torch.nn module: its
 * parameters are PyTorch's default initialisation drawn with
 * CLCNN_NET_DEFAULT_SEED, exactly what clcnn_net_init(net,
 * CLCNN_NET_DEFAULT_SEED) gives, so a network is deterministic from the
 * start; clcnn_net_init draws them again with another seed, and
 * clcnn_net_load overwrites them. Their device memory is allocated when
 * they are first used (clcnn_net_init, forward, zero_grad,
 * clcnn_net_parameter, save, load, create_folded), once the architecture
 * is complete; from then on no layer can be added.
 *
 * Errors: every call that fails on a valid network records a message
 * naming the function in the context's last error (clcnn_context_last_error),
 * layer shape errors with the numbers that do not fit, e.g.
 * "clcnn_net_add_conv2d: conv2d layer conv_big: kernel 99x99 does not fit
 * input 28x28 with padding 1".
 *
 * Memory: activations and gradients are allocated for a batch size on the
 * first forward pass of that size and reused; a later batch of another
 * size (the last, partial batch of an epoch) takes buffers from the
 * context's pool, so steady training allocates nothing.
 *
 * Ownership: a network belongs to its context and must be destroyed before
 * it; one thread at a time, like the context. */
#ifndef CLCNN_NET_H
#define CLCNN_NET_H

#include "clcnn/activation.h"
#include "clcnn/batchnorm.h"
#include "clcnn/conv2d.h"
#include "clcnn/ops.h"
#include "clcnn/pool2d.h"
#include "clcnn/softmax.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct clcnn_net clcnn_net;

typedef enum clcnn_layer_kind {
    CLCNN_LAYER_CONV2D = 0,
    CLCNN_LAYER_BATCHNORM = 1, /* 2-D on [N, C, H, W], 1-D on [N, C] */
    CLCNN_LAYER_ACTIVATION = 2,
    CLCNN_LAYER_POOL2D = 3,
    CLCNN_LAYER_FLATTEN = 4,
    CLCNN_LAYER_DENSE = 5,
    CLCNN_LAYER_DROPOUT = 6,
    /* Not a layer: what clcnn_net_layer_kind gives for a NULL network or an
     * index past the last layer. */
    CLCNN_LAYER_NONE = -1
} clcnn_layer_kind;

/* The seed of the parameters a network has when built (see above). */
#define CLCNN_NET_DEFAULT_SEED UINT64_C(0)

/* A network whose samples have the shape dims[0..ndim-1] (C, H, W for
 * images; ndim 1 to 3). */
CLCNN_API clcnn_status clcnn_net_create(clcnn_context *context, size_t ndim, const size_t *dims,
                                        clcnn_net **out);
CLCNN_API void clcnn_net_destroy(clcnn_net *net);

/* Layers, appended in order. `name` (parameterised layers only) is the
 * attribute name in PyTorch's module, e.g. "conv1"; at most 31 characters,
 * unique (CLCNN_ERROR_INVALID_ARGUMENT otherwise; layers without parameters
 * take no name). Each call checks the layer against the current output
 * shape and fails with CLCNN_ERROR_INVALID_SHAPE when it does not fit.
 * Adding a layer once the parameters exist (see above) is
 * CLCNN_ERROR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_net_add_conv2d(clcnn_net *net, const char *name, size_t out_channels,
                                            size_t kernel_h, size_t kernel_w,
                                            const clcnn_conv2d_params *params, int bias);
CLCNN_API clcnn_status clcnn_net_add_batchnorm(clcnn_net *net, const char *name,
                                               const clcnn_batchnorm_params *params);
CLCNN_API clcnn_status clcnn_net_add_activation(clcnn_net *net,
                                                const clcnn_activation_params *params);
CLCNN_API clcnn_status clcnn_net_add_pool2d(clcnn_net *net, const clcnn_pool2d_params *params);
CLCNN_API clcnn_status clcnn_net_add_flatten(clcnn_net *net);
CLCNN_API clcnn_status clcnn_net_add_dense(clcnn_net *net, const char *name, size_t out_features,
                                           int bias);
CLCNN_API clcnn_status clcnn_net_add_dropout(clcnn_net *net, float p);

/* The seed network on C x H x W inputs with `classes` outputs:
 * conv1 3x3 pad 1 (C->32) - bn1 - ReLU - max pool 2 - conv2 3x3 pad 1
 * (32->64) - bn2 - ReLU - max pool 2 - flatten - fc1 (->128) - ReLU -
 * dropout(dropout_p) - fc2 (128->classes). */
CLCNN_API clcnn_status clcnn_net_create_seed(clcnn_context *context, size_t channels, size_t height,
                                             size_t width, size_t classes, float dropout_p,
                                             clcnn_net **out);

/* Draws every parameter again with PyTorch's default initialisation, on the
 * device with Philox4x32-10 (cl/philox.h): conv and dense weights and
 * biases uniform in
 * [-1/sqrt(fan_in), 1/sqrt(fan_in)] (kaiming_uniform_ with a = sqrt(5), and
 * the bias rule), batch norm gamma 1, beta 0, running mean 0, running
 * variance 1, num_batches_tracked 0. Parameter i of the state-dict order
 * draws the stream (seed, offset 2^63 + i), so the result depends only on
 * the seed and the architecture. Dropout layers take `seed` for their masks
 * and restart at offset 0. */
CLCNN_API clcnn_status clcnn_net_init(clcnn_net *net, uint64_t seed);

/* Training (batch statistics, dropout on) or evaluation mode. A network
 * holds the per-batch memory that only training needs (output gradients,
 * batch-norm statistics, dropout masks) from its first training forward on;
 * one used only for inference never allocates it. Changing the mode forgets
 * the last forward pass (clcnn_net_loss needs one in the current mode). */
CLCNN_API clcnn_status clcnn_net_set_training(clcnn_net *net, int training);

/* Forward pass of a batch `input` [N, dims...]; *logits (owned by the
 * network, valid until the next forward pass) receives the output
 * [N, outputs]. Asynchronous. */
CLCNN_API clcnn_status clcnn_net_forward(clcnn_net *net, const clcnn_tensor *input,
                                         const clcnn_tensor **logits);

/* Mean softmax cross-entropy of the last forward's logits against labels
 * into loss ([1] tensor, caller's), and in training mode the gradient of the
 * logits kept for clcnn_net_backward. Asynchronous. */
CLCNN_API clcnn_status clcnn_net_loss(clcnn_net *net, const clcnn_labels *labels,
                                      clcnn_tensor *loss);

/* Backward pass from the gradient that clcnn_net_loss left: accumulates
 * into every parameter gradient (PyTorch's .grad semantics; call
 * clcnn_net_zero_grad between steps). Requires training mode. */
CLCNN_API clcnn_status clcnn_net_backward(clcnn_net *net);

/* Sets every parameter gradient to 0. */
CLCNN_API clcnn_status clcnn_net_zero_grad(clcnn_net *net);

/* --------------------------------------------------- data-parallel hooks */

/* Three small hooks through which a data-parallel layer on top (such as
 * clcnn/dist.h, which installs all three with clcnn_dist_attach_net) makes N
 * processes, each running this network on its share of a global batch,
 * train as one process on the whole batch. The library itself knows
 * nothing of processes or MPI. */

/* Called by clcnn_net_backward right after it has enqueued the kernels that
 * finish the gradients of a layer's parameters: every parameter gradient
 * from index `first_final` on (clcnn_net_parameter's state-dict order) is
 * now final for this backward pass, since backward visits the layers last
 * first. Called once per layer with parameters, with decreasing
 * first_final (the last call has 0), from the thread running the backward
 * pass; the kernels may still be running (reads enqueued on the context
 * come after them). A callback that fails stops the backward pass, which
 * returns its status. */
typedef clcnn_status (*clcnn_net_gradient_callback)(void *user, size_t first_final);

/* Installs the callback (NULL: none, the default), replacing any earlier
 * one; `user` is passed through. NULL net: CLCNN_ERROR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_net_set_gradient_callback(clcnn_net *net,
                                                       clcnn_net_gradient_callback callback,
                                                       void *user);

/* The global index of the first sample of the batches that follow (0 by
 * default), for a process that runs samples first_sample .. first_sample +
 * N - 1 of a global batch: dropout layers then draw for this batch exactly
 * the mask elements that a forward over the whole global batch would give
 * these samples (element j of global sample i is word i x features + j of
 * the layer's stream, see clcnn/dropout.h), so masks do not depend on how
 * a global batch is split. Each training forward still advances every
 * dropout layer's stream by one, so processes stay in step when each runs
 * one forward per global batch. A first_sample above 0 costs the dropout
 * layers randoms for first_sample more samples and two copies. NULL net:
 * CLCNN_ERROR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_net_set_first_sample(clcnn_net *net, size_t first_sample);

/* Replacements for the batch-norm training forward and backward that the
 * network's batch-norm layers call in training mode, e.g. batch norm whose
 * statistics span several processes (clcnn_dist's SyncBatchNorm). They take
 * `user` and then exactly the arguments of clcnn_batchnorm_forward_train
 * and clcnn_batchnorm_backward (the network fuses a ReLU that follows a
 * batch norm through params->activation) and must give their results. */
typedef struct clcnn_net_batchnorm_ops {
    clcnn_status (*forward_train)(void *user, clcnn_context *context,
                                  const clcnn_batchnorm_params *params, const clcnn_tensor *x,
                                  const clcnn_tensor *gamma, const clcnn_tensor *beta,
                                  clcnn_batchnorm_state *state, clcnn_tensor *y,
                                  const clcnn_batchnorm_saved *saved);
    clcnn_status (*backward)(void *user, clcnn_context *context,
                             const clcnn_batchnorm_params *params, const clcnn_tensor *x,
                             const clcnn_tensor *y, const clcnn_tensor *dy,
                             const clcnn_tensor *gamma, const clcnn_batchnorm_saved *saved,
                             clcnn_tensor *dx, const clcnn_batchnorm_grads *grads);
    void *user;
} clcnn_net_batchnorm_ops;

/* Installs a copy of *ops (NULL: the library's own functions, the
 * default). Errors: NULL net, or ops with a NULL function:
 * CLCNN_ERROR_INVALID_ARGUMENT. A failing replacement fails the forward or
 * backward pass with its status (and, when it recorded no message in the
 * context, one saying that the replacement failed). */
CLCNN_API clcnn_status clcnn_net_set_batchnorm_ops(clcnn_net *net,
                                                   const clcnn_net_batchnorm_ops *ops);

/* ------------------------------------------------------------- parameters */

/* A named tensor of the network: a trainable parameter (with its gradient)
 * or a buffer (batch norm running statistics; grad NULL). */
typedef struct clcnn_net_tensor {
    const char *name; /* state-dict name, e.g. "bn1.running_mean" */
    clcnn_tensor *value;
    clcnn_tensor *grad; /* NULL for buffers */
} clcnn_net_tensor;

/* The trainable parameters, in state-dict order (for optimizers). The count
 * follows from the architecture. clcnn_net_parameter makes the parameters
 * if they do not exist yet (so the network takes no more layers); an index
 * of count or more is CLCNN_ERROR_OUT_OF_RANGE. */
CLCNN_API size_t clcnn_net_parameter_count(const clcnn_net *net);
CLCNN_API clcnn_status clcnn_net_parameter(const clcnn_net *net, size_t index,
                                           clcnn_net_tensor *out);

/* The shape of one sample at the output, the layer count, and the kind of
 * layer `index` (CLCNN_LAYER_NONE for a NULL network or index >= count). */
CLCNN_API size_t clcnn_net_output_features(const clcnn_net *net);
CLCNN_API size_t clcnn_net_layer_count(const clcnn_net *net);
CLCNN_API clcnn_layer_kind clcnn_net_layer_kind(const clcnn_net *net, size_t index);

/* -------------------------------------------------------------- checkpoints */

/* Writes the state dict (parameters, running statistics, num_batches_tracked
 * as I64 scalars) to a safetensors file, atomically, with `metadata`
 * (NULL-terminated key, value pairs, may be NULL) plus "architecture", a
 * JSON description of the layers. Blocking (reads the device). */
CLCNN_API clcnn_status clcnn_net_save(clcnn_net *net, const char *path,
                                      const char *const *metadata);

/* Loads a state dict saved by clcnn_net_save or by PyTorch (safetensors):
 * every tensor of the network must be present with its exact shape and
 * dtype F32 (I64 for num_batches_tracked), and no unknown tensor may be;
 * otherwise CLCNN_ERROR_CORRUPT_FILE naming the tensor. Blocking. */
CLCNN_API clcnn_status clcnn_net_load(clcnn_net *net, const char *path);

/* ---------------------------------------------------------------- inference */

/* A new evaluation-only network equal to `net` in eval mode, with each batch
 * norm folded into the convolution or dense layer before it and dropout
 * removed (clcnn_batchnorm_fold_into_conv). Its predictions match the
 * unfolded network's in eval mode to rounding. */
CLCNN_API clcnn_status clcnn_net_create_folded(clcnn_net *net, clcnn_net **out);

#ifdef __cplusplus
}
#endif

#endif
