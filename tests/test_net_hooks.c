/* The data-parallel hooks of clcnn/net.h: the gradient callback comes once
 * per layer with parameters, with gradients that are final by then; a
 * first sample makes dropout draw the global batch's masks, so a batch split
 * in two gives the whole batch's logits and gradients; batch-norm
 * replacements are called in training and give their results. */
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"

#include "clcnn.h"

static clcnn_context *ctx;

static int setup(void **state) {
    (void)state;
    ctx = ts_context_create();
    return 0;
}

static int teardown(void **state) {
    (void)state;
    clcnn_context_destroy(ctx);
    return 0;
}

#define SIDE 8
#define CLASSES 10

static clcnn_net *seed_net(float dropout) {
    clcnn_net *net = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create_seed(ctx, 1, SIDE, SIDE, CLASSES, dropout, &net));
    TS_ASSERT_OK(ctx, clcnn_net_init(net, 3));
    return net;
}

/* Samples [first, first + count) of a fixed batch, and their labels. */
static clcnn_tensor *images(size_t first, size_t count) {
    float *all = ts_random_floats(16 * SIDE * SIDE, 5, -1.0f, 1.0f);
    size_t dims[4] = {count, 1, SIDE, SIDE};
    clcnn_tensor *t = ts_tensor_create(ctx, 4, dims, all + first * SIDE * SIDE);
    free(all);
    return t;
}

static clcnn_labels *labels_of(size_t first, size_t count) {
    int32_t values[16];
    for (size_t i = 0; i < count; i++)
        values[i] = (int32_t)((first + i) * 7 % CLASSES);
    clcnn_labels *labels = NULL;
    TS_ASSERT_OK(ctx, clcnn_labels_create(ctx, count, CLASSES, &labels));
    TS_ASSERT_OK(ctx, clcnn_labels_write(labels, values, count));
    return labels;
}

/* zero_grad, forward, loss and backward of samples [first, first + count);
 * the logits into *logits (malloc'ed) when not NULL. */
static clcnn_status train_pass(clcnn_net *net, size_t first, size_t count, float **logits) {
    clcnn_tensor *x = images(first, count);
    clcnn_labels *labels = labels_of(first, count);
    size_t one = 1;
    clcnn_tensor *loss = ts_tensor_create(ctx, 1, &one, NULL);
    const clcnn_tensor *out = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_set_training(net, 1));
    TS_ASSERT_OK(ctx, clcnn_net_zero_grad(net));
    TS_ASSERT_OK(ctx, clcnn_net_forward(net, x, &out));
    if (logits != NULL)
        *logits = ts_tensor_read_all(out);
    TS_ASSERT_OK(ctx, clcnn_net_loss(net, labels, loss));
    clcnn_status status = clcnn_net_backward(net);
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
    clcnn_tensor_destroy(loss);
    clcnn_labels_destroy(labels);
    clcnn_tensor_destroy(x);
    return status;
}

static float *gradient_of(clcnn_net *net, size_t index) {
    clcnn_net_tensor p;
    TS_ASSERT_OK(ctx, clcnn_net_parameter(net, index, &p));
    return ts_tensor_read_all(p.grad);
}

/* -------------------------------------------------------- gradient callback */

#define MAX_CALLS 16
typedef struct recorder {
    clcnn_net *net;
    size_t calls, first_final[MAX_CALLS];
    float *snapshot[MAX_CALLS]; /* the gradient at index first_final, then */
    clcnn_status fail_with;
} recorder;

static clcnn_status record(void *user, size_t first_final) {
    recorder *r = user;
    if (r->fail_with != CLCNN_OK)
        return r->fail_with;
    assert_true(r->calls < MAX_CALLS);
    r->first_final[r->calls] = first_final;
    r->snapshot[r->calls] = gradient_of(r->net, first_final); /* waits for the queue */
    r->calls++;
    return CLCNN_OK;
}

static void test_gradient_callback_sees_final_gradients(void **state) {
    (void)state;
    clcnn_net *net = seed_net(0.5f);
    recorder r = {net, 0, {0}, {NULL}, CLCNN_OK};
    TS_ASSERT_OK(ctx, clcnn_net_set_gradient_callback(net, record, &r));
    TS_ASSERT_OK(ctx, train_pass(net, 0, 4, NULL));
    /* conv1, bn1, conv2, bn2, fc1, fc2 (weight and bias each), last first. */
    static const size_t expected[6] = {10, 8, 6, 4, 2, 0};
    assert_int_equal(r.calls, 6);
    for (size_t k = 0; k < r.calls; k++) {
        assert_int_equal(r.first_final[k], expected[k]);
        float *final = gradient_of(net, r.first_final[k]);
        clcnn_net_tensor p;
        TS_ASSERT_OK(ctx, clcnn_net_parameter(net, r.first_final[k], &p));
        TS_ASSERT_FLOATS_IDENTICAL(r.snapshot[k], final, clcnn_tensor_numel(p.grad));
        free(final);
        free(r.snapshot[k]);
    }
    /* A failing callback stops the backward pass with its status. */
    r.fail_with = CLCNN_ERROR_IO;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_IO, train_pass(net, 0, 4, NULL));
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx),
                       "clcnn_net_backward: the gradient callback failed after dense layer fc2");
    /* Removed, it is not called. */
    TS_ASSERT_OK(ctx, clcnn_net_set_gradient_callback(net, NULL, &r));
    TS_ASSERT_OK(ctx, train_pass(net, 0, 4, NULL));
    clcnn_net_destroy(net);
}

/* ----------------------------------------------------------- first sample */

/* fc1 - dropout - fc2: no batch statistics, so a split batch can be
 * compared with the whole one. */
static clcnn_net *dropout_net(void) {
    size_t sample[3] = {1, SIDE, SIDE};
    clcnn_net *net = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create(ctx, 3, sample, &net));
    TS_ASSERT_OK(ctx, clcnn_net_add_flatten(net));
    TS_ASSERT_OK(ctx, clcnn_net_add_dense(net, "fc1", 33, 1)); /* odd: not a multiple of 4 */
    TS_ASSERT_OK(ctx, clcnn_net_add_dropout(net, 0.5f));
    TS_ASSERT_OK(ctx, clcnn_net_add_dense(net, "fc2", CLASSES, 1));
    TS_ASSERT_OK(ctx, clcnn_net_init(net, 9));
    return net;
}

/* A graph where the dropout's input gradient adds to another: fc1 feeds
 * a dropout and a dense layer "side" (visited first by backward, so the
 * dropout's gradient accumulates), joined by a residual, then fc2. */
static clcnn_net *dropout_graph_net(void) {
    size_t sample[3] = {1, SIDE, SIDE};
    clcnn_net *net = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create(ctx, 3, sample, &net));
    TS_ASSERT_OK(ctx, clcnn_net_add_flatten(net));
    TS_ASSERT_OK(ctx, clcnn_net_add_dense(net, "fc1", 33, 1));
    size_t fc1 = clcnn_net_last_node(net);
    TS_ASSERT_OK(ctx, clcnn_net_add_dropout(net, 0.5f));
    size_t dropout = clcnn_net_last_node(net);
    TS_ASSERT_OK(ctx, clcnn_net_from(net, fc1));
    TS_ASSERT_OK(ctx, clcnn_net_add_dense(net, "side", 33, 1));
    size_t side = clcnn_net_last_node(net);
    TS_ASSERT_OK(ctx, clcnn_net_add_residual(net, dropout, side, CLCNN_FUSED_NONE));
    TS_ASSERT_OK(ctx, clcnn_net_add_dense(net, "fc2", CLASSES, 1));
    TS_ASSERT_OK(ctx, clcnn_net_init(net, 9));
    return net;
}

/* Samples 0-1 and 2-6 of a batch of 7 (each on a network of its own, as two
 * ranks would) give the whole batch's logits, and their gradients, weighted
 * by their share, its gradient. */
static void check_split_matches_whole(clcnn_net *(*build)(void)) {
    clcnn_net *whole = build(), *head = build(), *tail = build();
    float *logits_whole, *logits_head, *logits_tail;
    TS_ASSERT_OK(ctx, train_pass(whole, 0, 7, &logits_whole));
    TS_ASSERT_OK(ctx, train_pass(head, 0, 2, &logits_head));
    TS_ASSERT_OK(ctx, clcnn_net_set_first_sample(tail, 2));
    TS_ASSERT_OK(ctx, train_pass(tail, 2, 5, &logits_tail));
    double *expected = ts_to_double(logits_whole, 7 * CLASSES);
    TS_ASSERT_FLOATS_NEAR(logits_head, expected, 2 * CLASSES, 1e-6, 1e-6);
    TS_ASSERT_FLOATS_NEAR(logits_tail, expected + 2 * CLASSES, 5 * CLASSES, 1e-6, 1e-6);
    for (size_t i = 0; i < clcnn_net_parameter_count(whole); i++) {
        clcnn_net_tensor p;
        TS_ASSERT_OK(ctx, clcnn_net_parameter(whole, i, &p));
        size_t n = clcnn_tensor_numel(p.grad);
        float *g = gradient_of(whole, i), *a = gradient_of(head, i), *b = gradient_of(tail, i);
        double *reference = ts_to_double(g, n);
        for (size_t k = 0; k < n; k++)
            a[k] = (2.0f * a[k] + 5.0f * b[k]) / 7.0f;
        TS_ASSERT_FLOATS_NEAR(a, reference, n, 1e-5, 1e-5);
        free(g);
        free(a);
        free(b);
        free(reference);
    }
    /* Without the first sample the tail draws the head's masks: different. */
    clcnn_net *unaware = build();
    float *logits_unaware;
    TS_ASSERT_OK(ctx, train_pass(unaware, 2, 5, &logits_unaware));
    double worst = 0.0;
    for (size_t i = 0; i < 5 * CLASSES; i++) {
        double d = logits_unaware[i] - expected[2 * CLASSES + i];
        worst = d > worst ? d : -d > worst ? -d : worst;
    }
    assert_true(worst > 1e-3);
    /* Back to sample 0 the layer runs plain again (its mask made anew). */
    TS_ASSERT_OK(ctx, clcnn_net_set_first_sample(tail, 0));
    TS_ASSERT_OK(ctx, train_pass(tail, 0, 5, NULL));
    free(expected);
    free(logits_whole);
    free(logits_head);
    free(logits_tail);
    free(logits_unaware);
    clcnn_net_destroy(whole);
    clcnn_net_destroy(head);
    clcnn_net_destroy(tail);
    clcnn_net_destroy(unaware);
}

static void test_first_sample_keys_dropout_by_global_sample(void **state) {
    (void)state;
    check_split_matches_whole(dropout_net);
}

/* The same in a graph, where the dropout's input gradient accumulates. */
static void test_first_sample_in_a_graph(void **state) {
    (void)state;
    check_split_matches_whole(dropout_graph_net);
}

/* In a graph every call comes with strictly decreasing first_final down to
 * 0, and every gradient from first_final on is final by then. */
typedef struct graph_recorder {
    clcnn_net *net;
    size_t calls, first_final[MAX_CALLS];
    float *snapshot[MAX_CALLS][8]; /* gradients first_final.. at the call */
} graph_recorder;

static clcnn_status record_all(void *user, size_t first_final) {
    graph_recorder *r = user;
    assert_true(r->calls < MAX_CALLS);
    assert_true(clcnn_net_parameter_count(r->net) <= 8);
    r->first_final[r->calls] = first_final;
    for (size_t i = first_final; i < clcnn_net_parameter_count(r->net); i++)
        r->snapshot[r->calls][i] = gradient_of(r->net, i);
    r->calls++;
    return CLCNN_OK;
}

static void test_gradient_callback_in_a_graph(void **state) {
    (void)state;
    clcnn_net *net = dropout_graph_net();
    graph_recorder r;
    memset(&r, 0, sizeof r);
    r.net = net;
    TS_ASSERT_OK(ctx, clcnn_net_set_gradient_callback(net, record_all, &r));
    TS_ASSERT_OK(ctx, train_pass(net, 0, 4, NULL));
    /* fc2, side, fc1 (weight and bias each), last first. */
    static const size_t expected[3] = {4, 2, 0};
    assert_int_equal(r.calls, 3);
    for (size_t k = 0; k < r.calls; k++) {
        assert_int_equal(r.first_final[k], expected[k]);
        for (size_t i = r.first_final[k]; i < clcnn_net_parameter_count(net); i++) {
            clcnn_net_tensor p;
            TS_ASSERT_OK(ctx, clcnn_net_parameter(net, i, &p));
            float *final = gradient_of(net, i);
            TS_ASSERT_FLOATS_IDENTICAL(r.snapshot[k][i], final, clcnn_tensor_numel(p.grad));
            free(final);
            free(r.snapshot[k][i]);
        }
    }
    clcnn_net_destroy(net);
}

/* --------------------------------------------------- batch-norm replacement */

typedef struct bn_counter {
    size_t forwards, backwards;
    int activations; /* fused ReLUs seen */
    clcnn_status fail_with;
} bn_counter;

static clcnn_status counted_forward(void *user, clcnn_context *context,
                                    const clcnn_batchnorm_params *params, const clcnn_tensor *x,
                                    const clcnn_tensor *gamma, const clcnn_tensor *beta,
                                    clcnn_batchnorm_state *state, clcnn_tensor *y,
                                    const clcnn_batchnorm_saved *saved) {
    bn_counter *c = user;
    if (c->fail_with != CLCNN_OK)
        return c->fail_with;
    c->forwards++;
    c->activations += params->activation == CLCNN_FUSED_RELU;
    return clcnn_batchnorm_forward_train(context, params, x, gamma, beta, state, y, saved);
}

static clcnn_status counted_backward(void *user, clcnn_context *context,
                                     const clcnn_batchnorm_params *params, const clcnn_tensor *x,
                                     const clcnn_tensor *y, const clcnn_tensor *dy,
                                     const clcnn_tensor *gamma, const clcnn_batchnorm_saved *saved,
                                     clcnn_tensor *dx, const clcnn_batchnorm_grads *grads) {
    bn_counter *c = user;
    c->backwards++;
    return clcnn_batchnorm_backward(context, params, x, y, dy, gamma, saved, dx, grads);
}

static void test_batchnorm_replacement_is_called_in_training(void **state) {
    (void)state;
    clcnn_net *plain = seed_net(0.0f), *replaced = seed_net(0.0f);
    bn_counter counter = {0, 0, 0, CLCNN_OK};
    clcnn_net_batchnorm_ops ops = {counted_forward, counted_backward, &counter};
    TS_ASSERT_OK(ctx, clcnn_net_set_batchnorm_ops(replaced, &ops));
    float *a, *b;
    TS_ASSERT_OK(ctx, train_pass(plain, 0, 4, &a));
    TS_ASSERT_OK(ctx, train_pass(replaced, 0, 4, &b));
    assert_int_equal(counter.forwards, 2);
    assert_int_equal(counter.backwards, 2);
    assert_int_equal(counter.activations, 2); /* the seed's ReLUs after bn1, bn2 */
    TS_ASSERT_FLOATS_IDENTICAL(b, a, 4 * CLASSES);
    for (size_t i = 0; i < clcnn_net_parameter_count(plain); i++) {
        clcnn_net_tensor p;
        TS_ASSERT_OK(ctx, clcnn_net_parameter(plain, i, &p));
        float *ga = gradient_of(plain, i), *gb = gradient_of(replaced, i);
        TS_ASSERT_FLOATS_IDENTICAL(gb, ga, clcnn_tensor_numel(p.grad));
        free(ga);
        free(gb);
    }
    free(a);
    free(b);
    /* Evaluation does not call them. */
    const clcnn_tensor *out = NULL;
    clcnn_tensor *x = images(0, 4);
    TS_ASSERT_OK(ctx, clcnn_net_set_training(replaced, 0));
    TS_ASSERT_OK(ctx, clcnn_net_forward(replaced, x, &out));
    assert_int_equal(counter.forwards, 2);
    /* A failure without a message gets one. */
    counter.fail_with = CLCNN_ERROR_PEER_FAILED;
    TS_ASSERT_OK(ctx, clcnn_net_set_training(replaced, 1));
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_PEER_FAILED, clcnn_net_forward(replaced, x, &out));
    TS_ASSERT_CONTAINS(
        clcnn_context_last_error(ctx),
        "clcnn_net_forward: batchnorm layer bn1: the batch-norm forward installed by "
        "clcnn_net_set_batchnorm_ops failed");
    /* NULL restores the library's own. */
    TS_ASSERT_OK(ctx, clcnn_net_set_batchnorm_ops(replaced, NULL));
    TS_ASSERT_OK(ctx, clcnn_net_forward(replaced, x, &out));
    ops.backward = NULL;
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_net_set_batchnorm_ops(replaced, &ops));
    clcnn_tensor_destroy(x);
    clcnn_net_destroy(plain);
    clcnn_net_destroy(replaced);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_callback_sees_final_gradients),
        cmocka_unit_test(test_first_sample_keys_dropout_by_global_sample),
        cmocka_unit_test(test_first_sample_in_a_graph),
        cmocka_unit_test(test_gradient_callback_in_a_graph),
        cmocka_unit_test(test_batchnorm_replacement_is_called_in_training),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
