/* The plan of a pass, worked out from the graph for the current mode
 * before a forward pass (host only, no device work):
 * - which nodes need the gradient of their output (those with parameters
 *   before them);
 * - which outputs share their input's memory: a view (flatten) always; an
 *   in-place layer when it is the only reader of an output that owns its
 *   memory, is not the network's input, and whose own backward does not
 *   read it; their gradients share memory likewise when they are the only
 *   reader;
 * - fusion: each node is offered the chain of nodes after it, each the
 *   only reader of the one before, and its module says how many it computes
 *   (layer.h);
 * - which outputs exist as tensors, and how often a pass reads each, so
 *   that net_run.c frees an output after its last reader. */
#include <string.h>

#include "nn/layer.h"

size_t clcnn__plan_last(const clcnn__node *node, size_t count) {
    return count != 0 ? node->plan.fused[count - 1] : node->index;
}

int clcnn__first_occurrence(const clcnn__node *node, size_t k) {
    for (size_t j = 0; j < k; j++)
        if (node->inputs[j] == node->inputs[k])
            return 0;
    return 1;
}

static void plan_gradients(clcnn_net *net) {
    for (size_t i = 1; i < net->node_count; i++) {
        clcnn__node *node = &net->nodes[i];
        node->plan.requires_grad = node->parameter_count > 0;
        for (size_t k = 0; k < node->input_count; k++)
            node->plan.requires_grad |= net->nodes[node->inputs[k]].plan.requires_grad;
    }
}

static unsigned backward_reads(const clcnn__node *node) {
    return node->type->backward_reads != NULL ? node->type->backward_reads(node) : 0u;
}

/* An in-place node may write over its input's output. */
static int may_write_over(const clcnn_net *net, const clcnn__node *node, int training) {
    const clcnn__node *input = &net->nodes[node->inputs[0]];
    return input->index != 0 && input->reader_count == 1 && !input->plan.alias &&
           !(training && (backward_reads(input) & CLCNN__READS_OUTPUT));
}

static void plan_aliases(clcnn_net *net, int training) {
    for (size_t i = 1; i < net->node_count; i++) {
        clcnn__node *node = &net->nodes[i];
        const clcnn__node *input = &net->nodes[node->inputs[0]];
        clcnn__alias_kind kind =
            node->type->alias != NULL ? node->type->alias(node) : CLCNN__ALIAS_NONE;
        node->plan.alias = kind == CLCNN__ALIAS_VIEW ||
                           (kind == CLCNN__ALIAS_IN_PLACE && may_write_over(net, node, training));
        node->plan.grad_alias =
            node->plan.alias && input->reader_count == 1 && input->plan.requires_grad;
    }
}

/* The chain after a node: each the only reader of the one before, reading
 * nothing else. */
static size_t chain_after(const clcnn_net *net, const clcnn__node *node,
                          const clcnn__node *chain[CLCNN__MAX_FUSED]) {
    size_t count = 0;
    for (const clcnn__node *x = node; count < CLCNN__MAX_FUSED; count++) {
        const clcnn__node *reader = clcnn__net_sole_reader(net, x);
        if (reader == NULL || reader->input_count != 1)
            break;
        chain[count] = x = reader;
    }
    return count;
}

static void plan_fusion(clcnn_net *net, int training) {
    for (size_t i = 1; i < net->node_count; i++)
        net->nodes[i].plan.forward_by = net->nodes[i].plan.backward_by = i;
    for (size_t i = 1; i < net->node_count; i++) {
        clcnn__node *node = &net->nodes[i];
        if (node->plan.forward_by != i || node->type->fuse == NULL)
            continue;
        const clcnn__node *chain[CLCNN__MAX_FUSED];
        size_t count = chain_after(net, node, chain);
        clcnn__fusion fusion = node->type->fuse(net, node, chain, count, training);
        node->plan.fused_forward = fusion.forward;
        node->plan.fused_backward = fusion.backward;
        for (size_t k = 0; k < fusion.forward; k++) {
            node->plan.fused[k] = chain[k]->index;
            net->nodes[chain[k]->index].plan.forward_by = i;
            if (k < fusion.backward)
                net->nodes[chain[k]->index].plan.backward_by = i;
        }
    }
}

/* An executed node's output, and the last of the chain it computes,
 * exist; so does every output a chain member that exists writes over. */
static void plan_materialised(clcnn_net *net) {
    for (size_t i = 1; i < net->node_count; i++) {
        clcnn__node *node = &net->nodes[i];
        if (node->plan.forward_by != i)
            continue;
        for (size_t k = node->plan.fused_forward + 1; k-- > 0;) {
            clcnn__node *x = &net->nodes[k > 0 ? node->plan.fused[k - 1] : i];
            int last = k == node->plan.fused_forward;
            const clcnn__node *after = last ? NULL : &net->nodes[node->plan.fused[k]];
            x->plan.materialised = last || (after->plan.materialised && after->plan.alias);
        }
    }
}

/* Adds a read of every input (each node once) but the network's input. */
static void count_input_reads(clcnn_net *net, const clcnn__node *node) {
    for (size_t k = 0; k < node->input_count; k++)
        if (node->inputs[k] != 0 && clcnn__first_occurrence(node, k))
            net->nodes[node->inputs[k]].plan.uses++;
}

static clcnn_status plan_uses(clcnn_net *net, int training) {
    for (size_t i = 1; i < net->node_count; i++) {
        const clcnn__node *node = &net->nodes[i];
        if (node->plan.forward_by == i)
            count_input_reads(net, node);
        if (!training || node->plan.backward_by != i || !node->plan.requires_grad)
            continue;
        unsigned reads = backward_reads(node);
        if (reads & CLCNN__READS_INPUTS)
            count_input_reads(net, node);
        if (reads & CLCNN__READS_OUTPUT)
            net->nodes[clcnn__plan_last(node, node->plan.fused_backward)].plan.uses++;
    }
    net->nodes[net->node_count - 1].plan.uses++; /* the logits, kept */
    for (size_t i = 1; i < net->node_count; i++)
        if (net->nodes[i].plan.uses > 0 && !net->nodes[i].plan.materialised)
            return clcnn__fail(net->ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                               "layer %zu's output is read but computed inside layer %zu's "
                               "launch (a fusion its module should not have offered)",
                               i - 1, net->nodes[i].plan.forward_by - 1);
    return CLCNN_OK;
}

clcnn_status clcnn__net_plan(clcnn_net *net) {
    if (net->planned && net->plan_training == net->training)
        return CLCNN_OK;
    for (size_t i = 0; i < net->node_count; i++)
        memset(&net->nodes[i].plan, 0, sizeof net->nodes[i].plan);
    plan_gradients(net);
    plan_aliases(net, net->training);
    plan_fusion(net, net->training);
    plan_materialised(net);
    clcnn_status status = plan_uses(net, net->training);
    net->planned = status == CLCNN_OK;
    net->plan_training = net->training;
    return status;
}
