/* The layer module interface: one clcnn__layer_type (a table of functions)
 * per layer kind, each in its own src/nn/layer_<kind>.c, all listed in
 * layer_table.c. The network code (net*.c) calls layers only through these
 * tables; a module knows its own settings (node->config), its state dict,
 * its forward and backward, which of the nodes after it it can compute in
 * the same launch (fusion), how it folds, and how the checkpoint's
 * architecture describes it.
 *
 * Adding a layer kind: a file defining its clcnn__layer_type and public
 * clcnn_net_add_* function, one line in layer_table.c, the enum value and
 * the declaration in include/clcnn/net.h. */
#ifndef CLCNN_LAYER_H
#define CLCNN_LAYER_H

#include <jansson.h>

#include "nn/net_internal.h"

/* How a node's output may share its input's memory. */
typedef enum clcnn__alias_kind {
    CLCNN__ALIAS_NONE,    /* its own memory */
    CLCNN__ALIAS_VIEW,    /* always a view of input 0's output, never written (flatten) */
    CLCNN__ALIAS_IN_PLACE /* written over input 0's output where the network allows it */
} clcnn__alias_kind;

/* What a node's backward step reads besides the gradient of its output. */
enum {
    CLCNN__READS_INPUTS = 1, /* the outputs of its inputs */
    CLCNN__READS_OUTPUT = 2  /* the output of the last node its backward covers */
};

/* How many of the nodes after it a node computes: the first `forward` of
 * the chain in its forward pass (their results land in the last one's
 * output), the first `backward` in its backward pass. In training a module
 * may only take nodes written in place over its own output (their outputs
 * are the ones backward reads). */
typedef struct clcnn__fusion {
    size_t forward, backward;
} clcnn__fusion;

/* A backward step's operands. inputs[k] is input k's output (the
 * network's input for node 0); output and dy belong to the last node the
 * step covers. dx[k] is NULL where input k needs no gradient; dx_mode[k]
 * says whether it is the first gradient written there (OVERWRITE) or adds
 * to earlier ones (ACCUMULATE). Parameter gradients always accumulate
 * (PyTorch's .grad). */
typedef struct clcnn__backward_args {
    const clcnn_tensor *const *inputs;
    const clcnn_tensor *output;
    const clcnn_tensor *dy;
    clcnn_tensor *const *dx;
    const clcnn_grad_mode *dx_mode;
} clcnn__backward_args;

/* What clcnn_net_create_folded is building: the original network, the
 * folded one, and for each original node the folded node that carries its
 * output. */
typedef struct clcnn__fold {
    const clcnn_net *from;
    clcnn_net *to;
    size_t *map;
} clcnn__fold;

struct clcnn__layer_type {
    clcnn_layer_kind kind;
    const char *name; /* in messages and the architecture: "conv2d" */
    size_t min_inputs, max_inputs;
    int named;          /* has a state dict, so a name */
    size_t config_size; /* bytes of node->config */

    /* The output sample shape from the inputs' (node->out), or a message
     * with the numbers that do not fit (the settings are checked here too,
     * so that a checkpoint's architecture goes through the same checks). */
    clcnn_status (*infer)(clcnn_net *net, clcnn__node *node, const clcnn__sample *const *inputs);
    /* How its output may share input 0's memory (NULL: it may not). */
    clcnn__alias_kind (*alias)(const clcnn__node *node);
    /* The state-dict entries in PyTorch's order (NULL: none). */
    size_t (*state)(const clcnn_net *net, const clcnn__node *node,
                    clcnn__state_entry entries[CLCNN__MAX_STATE]);
    /* CLCNN__READS_* of its backward under the node's plan (NULL: none). */
    unsigned (*backward_reads)(const clcnn__node *node);
    /* The nodes of chain[0..count-1] (each the sole reader of the one
     * before, the first this node's) it computes (NULL: none). */
    clcnn__fusion (*fuse)(const clcnn_net *net, const clcnn__node *node,
                          const clcnn__node *const *chain, size_t count, int training);
    clcnn_status (*forward)(clcnn_net *net, clcnn__node *node, const clcnn_tensor *const *inputs,
                            clcnn_tensor *output);
    clcnn_status (*backward)(clcnn_net *net, clcnn__node *node, const clcnn__backward_args *args);
    /* Frees node->scratch (NULL: the module keeps none). */
    void (*release)(clcnn__node *node);
    /* clcnn_net_init's seed for what the module draws itself (NULL: none). */
    void (*reseed)(clcnn__node *node, uint64_t seed);
    /* Adds the settings to the architecture's layer object (NULL: the
     * layer has none). */
    clcnn_status (*describe)(const clcnn__node *node, json_t *layer);
    /* Settings from an architecture's layer object into config (zeroed);
     * CLCNN_ERROR_CORRUPT_FILE naming the field that is wrong (NULL: the
     * layer has none). */
    clcnn_status (*parse)(clcnn_context *ctx, const json_t *layer, void *config);
    /* Folding (NULL: the node is copied, its state with it): adds what
     * stands for the node to fold->to and sets fold->map[node]; then, once
     * the folded network's parameters exist, writes their values. */
    clcnn_status (*fold)(clcnn__fold *fold, size_t node);
    clcnn_status (*fold_values)(clcnn__fold *fold, size_t node);
    /* A batch norm that reads only this node folds into it (conv, dense). */
    int takes_batchnorm;
};

/* ------------------------------------------------------------ the table */

const clcnn__layer_type *clcnn__layer_type_named(const char *name);

extern const clcnn__layer_type clcnn__layer_conv2d, clcnn__layer_batchnorm, clcnn__layer_activation,
    clcnn__layer_pool2d, clcnn__layer_flatten, clcnn__layer_dense, clcnn__layer_dropout,
    clcnn__layer_residual, clcnn__layer_concat, clcnn__layer_adaptive_avg_pool;

/* ------------------------------------------- helpers for the modules */

/* "conv2d layer conv1", or "pool2d layer 3" (its layer index) for a layer
 * without a name: how messages name a layer. */
const char *clcnn__node_label(const clcnn_net *net, const clcnn__node *node, char *buffer,
                              size_t size);

/* "1x28x28" or "3136": one sample. */
const char *clcnn__sample_string(const clcnn__sample *sample, char *buffer, size_t size);

/* The layer needs samples of another rank than its input has. */
clcnn_status clcnn__fail_rank(clcnn_net *net, const clcnn__node *node, const clcnn__sample *input,
                              const char *needs);

/* Node `index` of the network. */
clcnn__node *clcnn__net_node(const clcnn_net *net, size_t index);

/* Where a gradient goes when the op can only overwrite: dx itself, or with
 * CLCNN_GRAD_ACCUMULATE a temporary (*temporary) that clcnn__grad_finish
 * adds into dx and frees. */
clcnn_status clcnn__grad_target(clcnn_net *net, clcnn_tensor *dx, clcnn_grad_mode mode,
                                clcnn_tensor **temporary, clcnn_tensor **target);
clcnn_status clcnn__grad_finish(clcnn_net *net, clcnn_tensor *dx, clcnn_tensor *temporary,
                                clcnn_status status);

/* Architecture fields: an integer (>= 0), a float, a flag, a [h, w] pair,
 * each CLCNN_ERROR_CORRUPT_FILE when present with the wrong type; absent
 * fields keep *out (the default). */
clcnn_status clcnn__json_size(clcnn_context *ctx, const json_t *object, const char *key,
                              size_t *out);
clcnn_status clcnn__json_float(clcnn_context *ctx, const json_t *object, const char *key,
                               float *out);
clcnn_status clcnn__json_flag(clcnn_context *ctx, const json_t *object, const char *key, int *out);
clcnn_status clcnn__json_pair(clcnn_context *ctx, const json_t *object, const char *key,
                              size_t *first, size_t *second);
/* A float as the double nearest to its shortest decimal that reads back as
 * the same float (1e-05f: 1e-05), so that the architecture says 1e-05
 * rather than 9.99999975e-06. */
json_t *clcnn__json_short_real(float value);
json_t *clcnn__json_pair_new(size_t first, size_t second);

/* Fusion queries one module answers for another. */
int clcnn__activation_is_relu(const clcnn__node *node);
int clcnn__pool2d_is_half_max(const clcnn_net *net, const clcnn__node *node);
int clcnn__is_batchnorm(const clcnn__node *node);
/* The eval-mode affine of a batch norm node (scale, shift [C], its own
 * memory, recomputed from the current parameters). */
clcnn_status clcnn__batchnorm_eval_affine(clcnn_net *net, clcnn__node *node,
                                          const clcnn_tensor **scale, const clcnn_tensor **shift);
/* Folding a batch norm into a conv or dense node: the batch norm that folds
 * into `node` (NULL: none), and the folded parameters' values. */
const clcnn__node *clcnn__batchnorm_folding_into(const clcnn_net *net, const clcnn__node *node);
clcnn_status clcnn__batchnorm_fold_values(clcnn__fold *fold, size_t node);
/* Adds a copy of the conv or dense `node` with `config`, a copy of its
 * config whose bias flag is *bias: set when a batch norm folds into it. */
clcnn_status clcnn__batchnorm_fold_giving_bias(clcnn__fold *fold, size_t node, void *config,
                                               int *bias);
/* Adds a copy of `node` to fold->to (inputs mapped) with `config`; copies
 * a node's state values to the folded node that carries it. */
clcnn_status clcnn__fold_copy(clcnn__fold *fold, size_t node, const void *config);
clcnn_status clcnn__fold_copy_values(clcnn__fold *fold, size_t node);

#endif
