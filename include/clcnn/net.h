/* Networks: graphs of layers that own their parameters, gradients and
 * activation memory, trained with softmax cross-entropy.
 *
 * A network is built layer by layer for an input of C x H x W (or features)
 * per sample; the shapes of every layer follow from it. It is a graph of
 * nodes: node 0 is the input, node k the k-th layer added (layer index
 * k - 1). Each clcnn_net_add_* call appends a node that reads the current
 * node -- the last one added, or the one named by clcnn_net_from -- so a
 * chain needs nothing more; clcnn_net_add_residual and clcnn_net_add_concat
 * name the nodes they join, so a network can branch and merge. The output
 * of the network is the last node added.
 *
 * Parameters are named as PyTorch's state_dict() names them for the
 * equivalent torch.nn module whose attributes carry the layer names
 * ("conv1.weight", "bn1.running_var", "layer2.0.downsample.0.weight", ...),
 * so checkpoints move both ways.
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
 * Memory: a layer's output is made when the layer runs and goes back to the
 * context's pool after its last reader -- in evaluation the last layer that
 * reads it, in training the last backward step that needs it; the gradient
 * of an output is made by its first writer and goes back once the layer's
 * own backward step has read it. So an inference pass holds a few outputs
 * at a time, not all of them, and between training steps the network holds
 * only its parameters, their gradients and the logits. The pool lends the
 * same buffers again on the next pass: steady training allocates nothing.
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
    CLCNN_LAYER_RESIDUAL = 7,          /* a + b of two nodes, optionally then ReLU */
    CLCNN_LAYER_CONCAT = 8,            /* nodes joined along the channels (features) */
    CLCNN_LAYER_ADAPTIVE_AVG_POOL = 9, /* average pool to a fixed output size */
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

/* Layers, each appended as a node reading the current node (see above).
 * `name` (parameterised layers only) is the layer's path in PyTorch's
 * module, e.g. "conv1" or "layer1.0.conv1": identifiers and numbers joined
 * by '.', at most 63 characters, unique (CLCNN_ERROR_INVALID_ARGUMENT
 * otherwise; layers without parameters take no name). Each call checks the
 * layer against the shape of the node it reads and fails with
 * CLCNN_ERROR_INVALID_SHAPE when it does not fit. Adding a layer once the
 * parameters exist (see above) is CLCNN_ERROR_INVALID_ARGUMENT. */
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

/* Adaptive average pooling of [C, H, W] samples to [C, out_h, out_w]
 * (torch.nn.AdaptiveAvgPool2d); the global pool is the 1 x 1 case, whose
 * [C, 1, 1] output a flatten layer turns into [C] features. */
CLCNN_API clcnn_status clcnn_net_add_adaptive_avg_pool(clcnn_net *net, size_t out_h, size_t out_w);
CLCNN_API clcnn_status clcnn_net_add_global_avg_pool(clcnn_net *net);

/* ------------------------------------------------------------------ graphs */

/* The node the last call added (0, the input, when none). Node numbers are
 * how the calls below name a layer's output. */
CLCNN_API size_t clcnn_net_last_node(const clcnn_net *net);

/* Makes `node` the current node: the next clcnn_net_add_* call that reads
 * one node reads it (a branch). A node past the last is
 * CLCNN_ERROR_OUT_OF_RANGE. */
CLCNN_API clcnn_status clcnn_net_from(clcnn_net *net, size_t node);

/* The residual join y = a + b of two nodes of the same sample shape, or
 * y = max(a + b, 0) with activation CLCNN_FUSED_RELU (a ResNet block's last
 * ReLU; clcnn/residual.h); a and b may be the same node. Shapes that
 * differ: CLCNN_ERROR_INVALID_SHAPE; an unknown activation:
 * CLCNN_ERROR_INVALID_ARGUMENT. */
CLCNN_API clcnn_status clcnn_net_add_residual(clcnn_net *net, size_t a, size_t b,
                                              clcnn_fused_activation activation);

/* torch.cat of `count` nodes (2 to 16) along the channels ([C, H, W]
 * samples) or features ([F] samples): the samples must agree in every other
 * dimension (CLCNN_ERROR_INVALID_SHAPE). A node may appear more than once. */
CLCNN_API clcnn_status clcnn_net_add_concat(clcnn_net *net, const size_t *nodes, size_t count);

/* The seed network on C x H x W inputs with `classes` outputs:
 * conv1 3x3 pad 1 (C->32) - bn1 - ReLU - max pool 2 - conv2 3x3 pad 1
 * (32->64) - bn2 - ReLU - max pool 2 - flatten - fc1 (->128) - ReLU -
 * dropout(dropout_p) - fc2 (128->classes). */
CLCNN_API clcnn_status clcnn_net_create_seed(clcnn_context *context, size_t channels, size_t height,
                                             size_t width, size_t classes, float dropout_p,
                                             clcnn_net **out);

/* ResNet-8 on C x H x W inputs with `classes` outputs, torchvision's
 * layout with PyTorch's state-dict names: conv1 3x3 pad 1 (C->32, no bias)
 * - bn1 - ReLU; layer1.0, layer2.0, layer3.0: one BasicBlock each (32->32
 * stride 1, 32->64 stride 2, 64->128 stride 2: conv1 3x3 stride s - bn1 -
 * ReLU - conv2 3x3 - bn2, plus the identity or downsample.0 (1x1 conv
 * stride s) - downsample.1 (batch norm), then ReLU); global average
 * pooling; fc (128->classes, bias). 308,074 parameters for 1 channel and
 * 10 classes. */
CLCNN_API clcnn_status clcnn_net_create_resnet8(clcnn_context *context, size_t channels,
                                                size_t height, size_t width, size_t classes,
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
 * now final for this backward pass. Backward visits the layers last first;
 * in a graph a call comes only once every layer from the one owning
 * first_final on is done (none of them waits for a later step), so for a
 * chain it comes once per layer with parameters. first_final strictly
 * decreases from call to call and the last call has 0; called from the
 * thread running the backward pass; the kernels may still be running
 * (reads enqueued on the context come after them). A callback that fails
 * stops the backward pass, which returns its status. */
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

/* The element count of one sample at the output, the layer count (nodes
 * but the input), and the kind of layer `index` -- node index + 1
 * (CLCNN_LAYER_NONE for a NULL network or index >= count). */
CLCNN_API size_t clcnn_net_output_features(const clcnn_net *net);
CLCNN_API size_t clcnn_net_layer_count(const clcnn_net *net);
CLCNN_API clcnn_layer_kind clcnn_net_layer_kind(const clcnn_net *net, size_t index);

/* -------------------------------------------------------------- checkpoints */

/* Writes the state dict (parameters, running statistics, num_batches_tracked
 * as I64 scalars) to a safetensors file, atomically, with `metadata`
 * (NULL-terminated key, value pairs, may be NULL) plus "architecture", a
 * JSON description of the nodes: {"input": [C, H, W], "layers": [{"kind":
 * "conv2d", "name": "conv1", "inputs": [0], ...}, ...]}, each layer with the
 * nodes it reads and its settings. Blocking (reads the device). */
CLCNN_API clcnn_status clcnn_net_save(clcnn_net *net, const char *path,
                                      const char *const *metadata);

/* Loads a state dict saved by clcnn_net_save or by PyTorch (safetensors):
 * every tensor of the network must be present with its exact shape and
 * dtype F32 (I64 for num_batches_tracked), and no unknown tensor may be;
 * otherwise CLCNN_ERROR_CORRUPT_FILE naming the tensor. Blocking. */
CLCNN_API clcnn_status clcnn_net_load(clcnn_net *net, const char *path);

/* A new network built from a checkpoint alone: the architecture from its
 * "architecture" metadata (as clcnn_net_save writes it; a layer without
 * "inputs" reads the node before it, as checkpoints of the seed network
 * written before graphs say), then its tensors loaded by clcnn_net_load.
 * In training mode, like every new network. A file without an
 * architecture, or one that does not describe a valid network:
 * CLCNN_ERROR_CORRUPT_FILE naming what is wrong. Blocking. */
CLCNN_API clcnn_status clcnn_net_create_from_checkpoint(clcnn_context *context, const char *path,
                                                        clcnn_net **out);

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
