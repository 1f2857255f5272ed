/* The layout of a network, shared by the files of src/nn: building
 * (net.c), parameters (net_params.c), the plan of a pass (net_plan.c),
 * running (net_run.c), checkpoints (net_io.c, net_arch.c) and folding
 * (net_fold.c). None of them knows a layer kind: what a kind does lives in
 * its module (layer.h, layer_*.c). */
#ifndef CLCNN_NET_INTERNAL_H
#define CLCNN_NET_INTERNAL_H

#include "clcnn/net.h"
#include "runtime/internal.h"

#define CLCNN__NAME_MAX 64
#define CLCNN__TENSOR_NAME_MAX 96
#define CLCNN__SAMPLE_DIMS 3
#define CLCNN__MAX_INPUTS 16
#define CLCNN__MAX_STATE 5 /* batch norm's weight, bias, running stats, counter */
#define CLCNN__MAX_FUSED 3 /* nodes one node computes besides itself */

typedef struct clcnn__layer_type clcnn__layer_type;

/* One sample of a node's output: C, H, W or features. */
typedef struct clcnn__sample {
    size_t ndim, dims[CLCNN__SAMPLE_DIMS];
} clcnn__sample;

/* What a state-dict entry is: a trainable parameter (in the value and
 * gradient arenas), a float buffer (batch norm's running statistics) or an
 * integer counter (num_batches_tracked, saved as an I64 scalar). */
typedef enum clcnn__state_kind {
    CLCNN__STATE_PARAMETER,
    CLCNN__STATE_BUFFER,
    CLCNN__STATE_COUNTER
} clcnn__state_kind;

/* A node's state-dict entry as its module describes it. Initial values:
 * a parameter with fan_in > 0 is drawn uniform in +-1/sqrt(fan_in)
 * (PyTorch's kaiming_uniform_(a = sqrt(5)) and bias rule); otherwise every
 * element is `fill`; a counter starts at 0. */
typedef struct clcnn__state_entry {
    const char *suffix; /* "weight", "running_mean", ... */
    clcnn__state_kind kind;
    clcnn__shape shape; /* not used for a counter */
    double fan_in;
    float fill;
} clcnn__state_entry;

/* An entry with its state-dict name and, once the parameters exist, its
 * tensors. */
typedef struct clcnn__node_tensor {
    clcnn__state_entry entry;
    char name[CLCNN__TENSOR_NAME_MAX]; /* "<node name>.<suffix>" */
    clcnn_tensor *value;               /* NULL for a counter */
    clcnn_tensor *grad;                /* parameters only */
    int64_t counter;
} clcnn__node_tensor;

/* How a pass runs a node, worked out by net_plan.c for the current mode. */
typedef struct clcnn__node_plan {
    int alias;          /* the output is a view of input 0's (view or in place) */
    int grad_alias;     /* backward: input 0's gradient is the output's memory */
    int requires_grad;  /* the loss's gradient with respect to the output is wanted */
    int materialised;   /* the output exists as a tensor during the pass */
    size_t forward_by;  /* the node whose forward computes this one (itself or a fuser) */
    size_t backward_by; /* likewise for backward */
    size_t fused_forward, fused_backward; /* nodes of `fused` this one computes */
    size_t fused[CLCNN__MAX_FUSED];       /* the chain after it, each its sole reader */
    unsigned backward_reads;              /* CLCNN__READS_* of its backward step */
    size_t uses;                          /* reads of the output during a pass */
} clcnn__node_plan;

typedef struct clcnn__node {
    size_t index;                  /* its number: 0 for the input */
    const clcnn__layer_type *type; /* NULL for node 0, the input */
    char name[CLCNN__NAME_MAX];    /* "" for layers without parameters */
    size_t input_count, inputs[CLCNN__MAX_INPUTS];
    clcnn__sample out;
    void *config;  /* the module's settings, type->config_size bytes of plain data */
    void *scratch; /* the module's own per-pass memory (freed by type->release) */
    clcnn__node_tensor *state;
    size_t state_count;
    size_t first_parameter, parameter_count; /* in the network's parameter list */
    size_t reader_count;                     /* nodes that read this one */
    size_t reader;                           /* the last of them */
    clcnn__node_plan plan;
    /* During a pass: the output and its gradient, and the reads of the
     * output still to come. */
    clcnn_tensor *output, *grad;
    size_t pending;
} clcnn__node;

struct clcnn_net {
    clcnn_context *ctx;
    clcnn__node *nodes; /* nodes[0] is the input */
    size_t node_count;
    size_t current;               /* the node the next single-input layer reads */
    clcnn_net_tensor *parameters; /* trainable, state-dict order */
    size_t parameter_count;
    /* One buffer for every parameter value and one for every gradient, each
     * parameter tensor a view into them (arenas, runtime/internal.h), so
     * that zero_grad is one fill and an optimizer step one launch; NULL when
     * they would not fit in one allocation (separate tensors then). */
    clcnn_tensor *value_arena, *grad_arena;
    int training;
    int initialised;   /* parameters exist (made by their first use or init) */
    int planned;       /* the nodes' plans are those of `training` */
    int plan_training; /* the mode they were made for */
    const clcnn_tensor *last_input;
    int loss_ready;
    /* Data-parallel hooks (net_hooks.c, clcnn/net.h). */
    clcnn_net_gradient_callback gradient_callback;
    void *gradient_user;
    size_t gradients_reported; /* during backward: the last first_final passed, or the count */
    size_t first_sample;
    clcnn_net_batchnorm_ops batchnorm_ops; /* all NULL: the library's own */
};

/* Shape [batch, dims...] into out; returns the rank. */
size_t clcnn__net_batch_shape(size_t batch, size_t ndim, const size_t *dims, size_t *out);

/* Element count of one sample. */
size_t clcnn__sample_numel(const clcnn__sample *sample);

/* Appends a node of `type` reading inputs[0..count-1] (inputs NULL: the
 * current node) with `config` (type->config_size bytes, copied) and `name`
 * (NULL for a layer without parameters): checks the name and inputs, asks
 * the module for the output shape, and makes the node current. */
clcnn_status clcnn__net_add(clcnn_net *net, const clcnn__layer_type *type, const char *name,
                            const size_t *inputs, size_t count, const void *config);

/* The node that reads `node` when it is its only reader, else NULL. */
const clcnn__node *clcnn__net_sole_reader(const clcnn_net *net, const clcnn__node *node);

/* The state-dict entry called `name`, or NULL. */
clcnn__node_tensor *clcnn__net_state_named(const clcnn_net *net, const char *name);

/* Frees every output and gradient of the current pass but the logits
 * (back to the pool). */
void clcnn__net_release_pass(clcnn_net *net);

/* Frees every tensor of the current pass and the modules' per-pass memory. */
void clcnn__net_release_batch(clcnn_net *net);

/* Works out the plan of every node for the current mode (net_plan.c). */
clcnn_status clcnn__net_plan(clcnn_net *net);

/* The last node of the first `count` a node computes (itself for 0). */
size_t clcnn__plan_last(const clcnn__node *node, size_t count);

/* Whether input k of a node is the first occurrence of that input node
 * (a node joined with itself is read once). */
int clcnn__first_occurrence(const clcnn__node *node, size_t k);

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

/* The hooks of clcnn/net.h's data-parallel section (src/nn/net_hooks.c).
 * clcnn__net_gradients_begin starts a backward pass's reports;
 * clcnn__net_gradients_final, after backward has visited node `index`
 * (nodes visited last first), calls the gradient callback when more
 * parameters are final than it last reported: those of every node from the
 * first whose gradients can no longer change (all nodes after it covered
 * by backward steps already run) on. The batch-norm calls go through the
 * installed replacements, or are the library's own ops. */
void clcnn__net_gradients_begin(clcnn_net *net);
clcnn_status clcnn__net_gradients_final(clcnn_net *net, size_t index);
clcnn_status clcnn__net_batchnorm_forward_train(clcnn_net *net, const char *label,
                                                const clcnn_batchnorm_params *params,
                                                const clcnn_tensor *x, const clcnn_tensor *gamma,
                                                const clcnn_tensor *beta,
                                                clcnn_batchnorm_state *state, clcnn_tensor *y,
                                                const clcnn_batchnorm_saved *saved);
clcnn_status clcnn__net_batchnorm_backward(clcnn_net *net, const char *label,
                                           const clcnn_batchnorm_params *params,
                                           const clcnn_tensor *x, const clcnn_tensor *y,
                                           const clcnn_tensor *dy, const clcnn_tensor *gamma,
                                           const clcnn_batchnorm_saved *saved, clcnn_tensor *dx,
                                           const clcnn_batchnorm_grads *grads);

/* The architecture as JSON text (malloc'ed; NULL when out of memory), and
 * a network built from such text (net_arch.c). */
char *clcnn__net_describe(const clcnn_net *net);
clcnn_status clcnn__net_from_architecture(clcnn_context *ctx, const char *text, clcnn_net **out);

/* The body of a public clcnn_net function: NULL is refused, and a failure
 * message is named after the function (__func__). */
#define CLCNN__NET_PUBLIC(net, call)                                  \
    do {                                                              \
        if ((net) == NULL)                                            \
            return CLCNN_ERROR_INVALID_ARGUMENT;                      \
        clcnn__error_mark mark_ = clcnn__error_mark_take((net)->ctx); \
        return clcnn__named((net)->ctx, mark_, __func__, (call));     \
    } while (0)

#endif
