/* The seed network (conv1 - bn1 - ReLU - pool - conv2 - bn2 - ReLU - pool -
 * fc1 - ReLU - dropout 0.5 - fc2, softmax cross-entropy, SGD with momentum),
 * applied op by op with the public API, trained 20 steps two ways on every
 * rank: sharded (this rank's part of the global batch, batch norm across
 * ranks, dropout masks of the global sample index, gradients averaged by
 * the clcnn_dist) and whole (the whole global batch, the plain ops). The
 * parameters and running statistics must agree within 1e-4 relative: N
 * ranks x B/N with batch norm across ranks train the same model as one
 * rank x B.
 *
 * Masks keyed by the global index: a dropout call draws element e of its
 * Philox stream for element e of its tensor. A rank's rows start at element
 * first * 128 of the global batch, and the dropout op takes no such offset
 * yet, so here the rank places its rows in a global-sized tensor, runs the
 * op over it and takes its rows back (through the host): exactly the mask
 * an offset would give, at the cost of the whole batch's randoms. */
#include <stdlib.h>
#include <string.h>

#include "dist_test.h"

#define HIDDEN 128
#define FLAT (64 * 7 * 7)
#define PARAMS 12

typedef struct activations {
    size_t n;
    clcnn_tensor *x, *a1, *y1, *p1, *a2, *y2, *p2, *f, *h, *r, *d, *logits, *loss;
    clcnn_tensor *da1, *dy1, *dp1, *da2, *dy2, *dp2, *df, *dh, *dr, *dd, *dlogits;
    clcnn_tensor *save_mean[2], *save_invstd[2];
} activations;

typedef struct hand_net {
    clcnn_dist *dist; /* NULL: the whole batch with the plain ops */
    clcnn_tensor *param[PARAMS], *grad[PARAMS];
    clcnn_batchnorm_state bn[2];
    clcnn_dropout_state dropout;
    clcnn_dropout_mask *mask;             /* over the global batch */
    clcnn_tensor *global_in, *global_out; /* [GLOBAL_BATCH, HIDDEN] */
    clcnn_optimizer *optimizer;
    activations act;
} hand_net;

static clcnn_tensor *tensor4(size_t n, size_t c, size_t h, size_t w) {
    size_t dims[4] = {n, c, h, w};
    return ts_tensor_create(ctx, 4, dims, NULL);
}

static clcnn_tensor *tensor2(size_t n, size_t features) {
    size_t dims[2] = {n, features};
    return ts_tensor_create(ctx, 2, dims, NULL);
}

static clcnn_tensor *flat_view(clcnn_tensor *t, size_t n) {
    size_t dims[2] = {n, FLAT};
    clcnn_tensor *view = NULL;
    TS_ASSERT_OK(ctx, clcnn_tensor_reshape(t, 2, dims, &view));
    return view;
}

static void activations_make(activations *a, size_t n) {
    a->n = n;
    a->a1 = tensor4(n, 32, SIDE, SIDE);
    a->y1 = tensor4(n, 32, SIDE, SIDE);
    a->da1 = tensor4(n, 32, SIDE, SIDE);
    a->dy1 = tensor4(n, 32, SIDE, SIDE);
    a->p1 = tensor4(n, 32, SIDE / 2, SIDE / 2);
    a->dp1 = tensor4(n, 32, SIDE / 2, SIDE / 2);
    a->a2 = tensor4(n, 64, SIDE / 2, SIDE / 2);
    a->y2 = tensor4(n, 64, SIDE / 2, SIDE / 2);
    a->da2 = tensor4(n, 64, SIDE / 2, SIDE / 2);
    a->dy2 = tensor4(n, 64, SIDE / 2, SIDE / 2);
    a->p2 = tensor4(n, 64, SIDE / 4, SIDE / 4);
    a->dp2 = tensor4(n, 64, SIDE / 4, SIDE / 4);
    a->f = flat_view(a->p2, n);
    a->df = flat_view(a->dp2, n);
    clcnn_tensor **hidden[6] = {&a->h, &a->r, &a->d, &a->dh, &a->dr, &a->dd};
    for (size_t i = 0; i < 6; i++)
        *hidden[i] = tensor2(n, HIDDEN);
    a->logits = tensor2(n, CLASSES);
    a->dlogits = tensor2(n, CLASSES);
    size_t one = 1;
    a->loss = ts_tensor_create(ctx, 1, &one, NULL);
    for (int k = 0; k < 2; k++) {
        a->save_mean[k] = ts_vector_create(ctx, k == 0 ? 32 : 64, NULL);
        a->save_invstd[k] = ts_vector_create(ctx, k == 0 ? 32 : 64, NULL);
    }
}

static void activations_free(activations *a) {
    clcnn_tensor *all[] = {a->x,
                           a->a1,
                           a->y1,
                           a->p1,
                           a->a2,
                           a->y2,
                           a->p2,
                           a->f,
                           a->h,
                           a->r,
                           a->d,
                           a->logits,
                           a->loss,
                           a->da1,
                           a->dy1,
                           a->dp1,
                           a->da2,
                           a->dy2,
                           a->dp2,
                           a->df,
                           a->dh,
                           a->dr,
                           a->dd,
                           a->dlogits,
                           a->save_mean[0],
                           a->save_mean[1],
                           a->save_invstd[0],
                           a->save_invstd[1]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        clcnn_tensor_destroy(all[i]);
}

/* The seed network's initial parameters (clcnn_net_init, seed 7), in
 * state-dict order: conv1, bn1, conv2, bn2, fc1, fc2, weight then bias. */
static void hand_net_make(hand_net *m, clcnn_dist *dist, size_t n) {
    memset(m, 0, sizeof *m);
    m->dist = dist;
    clcnn_net *seed = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create_seed(ctx, 1, SIDE, SIDE, CLASSES, 0.5f, &seed));
    TS_ASSERT_OK(ctx, clcnn_net_init(seed, 7));
    assert_int_equal(clcnn_net_parameter_count(seed), PARAMS);
    for (size_t i = 0; i < PARAMS; i++) {
        clcnn_net_tensor p;
        TS_ASSERT_OK(ctx, clcnn_net_parameter(seed, i, &p));
        size_t dims[4], ndim = clcnn_tensor_ndim(p.value);
        for (size_t k = 0; k < ndim; k++)
            dims[k] = clcnn_tensor_dim(p.value, k);
        m->param[i] = ts_tensor_create(ctx, ndim, dims, NULL);
        m->grad[i] = ts_tensor_create(ctx, ndim, dims, NULL);
        TS_ASSERT_OK(ctx, clcnn_tensor_copy(m->param[i], p.value));
    }
    clcnn_net_destroy(seed);
    for (int k = 0; k < 2; k++)
        TS_ASSERT_OK(ctx, clcnn_batchnorm_state_init(ctx, k == 0 ? 32 : 64, &m->bn[k]));
    m->dropout = clcnn_dropout_state_init(11);
    TS_ASSERT_OK(ctx,
                 clcnn_dropout_mask_create(ctx, (size_t)GLOBAL_BATCH * HIDDEN, NULL, &m->mask));
    m->global_in = tensor2(GLOBAL_BATCH, HIDDEN);
    m->global_out = tensor2(GLOBAL_BATCH, HIDDEN);
    clcnn_sgd_params sgd = training_sgd();
    TS_ASSERT_OK(ctx,
                 clcnn_optimizer_create_sgd(ctx, &sgd, PARAMS, m->param, m->grad, &m->optimizer));
    if (dist != NULL)
        DIST_OK(dist, clcnn_dist_add_gradients(dist, PARAMS, m->grad));
    activations_make(&m->act, n);
}

static void hand_net_free(hand_net *m) {
    activations_free(&m->act);
    for (size_t i = 0; i < PARAMS; i++) {
        clcnn_tensor_destroy(m->param[i]);
        clcnn_tensor_destroy(m->grad[i]);
    }
    for (int k = 0; k < 2; k++)
        clcnn_batchnorm_state_release(&m->bn[k]);
    clcnn_dropout_mask_destroy(m->mask);
    clcnn_tensor_destroy(m->global_in);
    clcnn_tensor_destroy(m->global_out);
    clcnn_optimizer_destroy(m->optimizer);
}

/* ---------------------------------------------------------------- dropout */

/* Runs `run` over this rank's rows placed in a global-sized tensor (zero
 * elsewhere) and takes its rows of the result back into `out`. */
static void through_global(hand_net *m, size_t first, const clcnn_tensor *in, clcnn_tensor *out,
                           int forward) {
    size_t row = HIDDEN, local = clcnn_tensor_numel(in);
    float *host = calloc((size_t)GLOBAL_BATCH * row, sizeof *host);
    assert_non_null(host);
    TS_ASSERT_OK(ctx, clcnn_tensor_read(in, 0, host + first * row, local));
    TS_ASSERT_OK(ctx, clcnn_tensor_write(m->global_in, 0, host, (size_t)GLOBAL_BATCH * row));
    if (forward)
        TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, &m->dropout, 0.5f, 1, m->global_in,
                                                m->global_out, m->mask));
    else
        TS_ASSERT_OK(ctx, clcnn_dropout_backward(ctx, m->mask, m->global_in, m->global_out,
                                                 CLCNN_GRAD_OVERWRITE));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(m->global_out, first * row, host, local));
    TS_ASSERT_OK(ctx, clcnn_tensor_write(out, 0, host, local));
    free(host);
}

static void dropout_forward(hand_net *m, size_t first) {
    activations *a = &m->act;
    if (m->dist == NULL)
        TS_ASSERT_OK(ctx, clcnn_dropout_forward(ctx, &m->dropout, 0.5f, 1, a->r, a->d, m->mask));
    else
        through_global(m, first, a->r, a->d, 1);
}

static void dropout_backward(hand_net *m, size_t first) {
    activations *a = &m->act;
    if (m->dist == NULL)
        TS_ASSERT_OK(ctx, clcnn_dropout_backward(ctx, m->mask, a->dd, a->dr, CLCNN_GRAD_OVERWRITE));
    else
        through_global(m, first, a->dd, a->dr, 0);
}

/* ------------------------------------------------------------- batch norm */

static clcnn_batchnorm_params fused_relu(void) {
    clcnn_batchnorm_params params = clcnn_batchnorm_params_default();
    params.activation = CLCNN_FUSED_RELU;
    return params;
}

static void batchnorm_forward(hand_net *m, int k, const clcnn_tensor *x, clcnn_tensor *y) {
    clcnn_batchnorm_params params = fused_relu();
    clcnn_tensor *gamma = m->param[2 + 4 * k], *beta = m->param[3 + 4 * k];
    clcnn_batchnorm_saved saved = {m->act.save_mean[k], m->act.save_invstd[k]};
    if (m->dist != NULL)
        DIST_OK(m->dist, clcnn_dist_batchnorm_forward_train(m->dist, &params, x, gamma, beta,
                                                            &m->bn[k], y, &saved));
    else
        TS_ASSERT_OK(
            ctx, clcnn_batchnorm_forward_train(ctx, &params, x, gamma, beta, &m->bn[k], y, &saved));
}

static void batchnorm_backward(hand_net *m, int k, const clcnn_tensor *x, const clcnn_tensor *y,
                               const clcnn_tensor *dy, clcnn_tensor *dx) {
    clcnn_batchnorm_params params = fused_relu();
    clcnn_tensor *gamma = m->param[2 + 4 * k];
    clcnn_batchnorm_saved saved = {m->act.save_mean[k], m->act.save_invstd[k]};
    clcnn_batchnorm_grads grads = {m->grad[2 + 4 * k], m->grad[3 + 4 * k], CLCNN_GRAD_ACCUMULATE};
    if (m->dist != NULL)
        DIST_OK(m->dist, clcnn_dist_batchnorm_backward(m->dist, &params, x, y, dy, gamma, &saved,
                                                       dx, &grads));
    else
        TS_ASSERT_OK(ctx,
                     clcnn_batchnorm_backward(ctx, &params, x, y, dy, gamma, &saved, dx, &grads));
}

/* ------------------------------------------------------------------- step */

static void forward(hand_net *m, const clcnn_labels *labels, size_t first) {
    activations *a = &m->act;
    clcnn_conv2d_params conv = clcnn_conv2d_params_default();
    conv.pad_h = conv.pad_w = 1;
    clcnn_pool2d_params pool = clcnn_pool2d_params_default();
    clcnn_activation_params relu = clcnn_activation_params_default();
    TS_ASSERT_OK(ctx, clcnn_conv2d_forward(ctx, &conv, a->x, m->param[0], m->param[1], a->a1));
    batchnorm_forward(m, 0, a->a1, a->y1);
    TS_ASSERT_OK(ctx, clcnn_pool2d_forward(ctx, &pool, a->y1, a->p1));
    TS_ASSERT_OK(ctx, clcnn_conv2d_forward(ctx, &conv, a->p1, m->param[4], m->param[5], a->a2));
    batchnorm_forward(m, 1, a->a2, a->y2);
    TS_ASSERT_OK(ctx, clcnn_pool2d_forward(ctx, &pool, a->y2, a->p2));
    TS_ASSERT_OK(ctx, clcnn_dense_forward(ctx, a->f, m->param[8], m->param[9], a->h));
    TS_ASSERT_OK(ctx, clcnn_activation_forward(ctx, &relu, a->h, a->r));
    dropout_forward(m, first);
    TS_ASSERT_OK(ctx, clcnn_dense_forward(ctx, a->d, m->param[10], m->param[11], a->logits));
    TS_ASSERT_OK(ctx, clcnn_softmax_cross_entropy_forward(ctx, a->logits, labels, a->loss));
    TS_ASSERT_OK(ctx, clcnn_softmax_cross_entropy_backward(ctx, a->logits, labels, a->dlogits,
                                                           CLCNN_GRAD_OVERWRITE));
}

static void backward(hand_net *m, size_t first) {
    activations *a = &m->act;
    clcnn_conv2d_params conv = clcnn_conv2d_params_default();
    conv.pad_h = conv.pad_w = 1;
    clcnn_pool2d_params pool = clcnn_pool2d_params_default();
    clcnn_activation_params relu = clcnn_activation_params_default();
    const clcnn_grad_mode acc = CLCNN_GRAD_ACCUMULATE, over = CLCNN_GRAD_OVERWRITE;
    TS_ASSERT_OK(
        ctx, clcnn_dense_backward_weights(ctx, a->d, a->dlogits, m->grad[10], m->grad[11], acc));
    TS_ASSERT_OK(ctx, clcnn_dense_backward_data(ctx, a->dlogits, m->param[10], a->dd, over));
    dropout_backward(m, first);
    TS_ASSERT_OK(ctx, clcnn_activation_backward(ctx, &relu, a->r, a->dr, a->dh, over));
    TS_ASSERT_OK(ctx, clcnn_dense_backward_weights(ctx, a->f, a->dh, m->grad[8], m->grad[9], acc));
    TS_ASSERT_OK(ctx, clcnn_dense_backward_data(ctx, a->dh, m->param[8], a->df, over));
    TS_ASSERT_OK(ctx, clcnn_pool2d_backward(ctx, &pool, a->y2, a->dp2, a->dy2, over));
    batchnorm_backward(m, 1, a->a2, a->y2, a->dy2, a->da2);
    TS_ASSERT_OK(
        ctx, clcnn_conv2d_backward_weights(ctx, &conv, a->p1, a->da2, m->grad[4], m->grad[5], acc));
    TS_ASSERT_OK(ctx, clcnn_conv2d_backward_data(ctx, &conv, a->da2, m->param[4], a->dp1, over));
    TS_ASSERT_OK(ctx, clcnn_pool2d_backward(ctx, &pool, a->y1, a->dp1, a->dy1, over));
    batchnorm_backward(m, 0, a->a1, a->y1, a->dy1, a->da1);
    TS_ASSERT_OK(
        ctx, clcnn_conv2d_backward_weights(ctx, &conv, a->x, a->da1, m->grad[0], m->grad[1], acc));
}

static void hand_step(hand_net *m, const float *images, int step, size_t first) {
    activations *a = &m->act;
    const size_t sample[3] = {1, SIDE, SIDE};
    a->x = rows_of(images, first, a->n, 3, sample);
    clcnn_labels *labels = step_labels(step, first, a->n);
    for (size_t i = 0; i < PARAMS; i++)
        TS_ASSERT_OK(ctx, clcnn_tensor_fill(m->grad[i], 0.0f));
    forward(m, labels, first);
    backward(m, first);
    if (m->dist != NULL)
        DIST_OK(m->dist, clcnn_dist_allreduce_grads(m->dist));
    TS_ASSERT_OK(ctx, clcnn_optimizer_step(m->optimizer));
    TS_ASSERT_OK(ctx, clcnn_context_finish(ctx));
    clcnn_labels_destroy(labels);
    clcnn_tensor_destroy(a->x);
    a->x = NULL;
}

void test_seed_network_trains_as_one_process(void **state) {
    (void)state;
    clcnn_dist *dist = make_dist(1, 0);
    size_t first = 0, count = 0;
    TS_ASSERT_OK(NULL, clcnn_dist_split(GLOBAL_BATCH, (size_t)ranks, (size_t)rank, &first, &count));
    hand_net sharded, whole;
    hand_net_make(&sharded, dist, count);
    hand_net_make(&whole, NULL, GLOBAL_BATCH);
    for (int step = 0; step < STEPS; step++) {
        float *images = step_images(step);
        hand_step(&sharded, images, step, first);
        hand_step(&whole, images, step, 0);
        free(images);
    }
    static const char *const names[PARAMS] = {
        "conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "conv2.weight", "conv2.bias",
        "bn2.weight",   "bn2.bias",   "fc1.weight", "fc1.bias", "fc2.weight",   "fc2.bias"};
    for (size_t i = 0; i < PARAMS; i++) {
        assert_relative(sharded.param[i], whole.param[i], names[i]);
        assert_same_on_every_rank(sharded.param[i], names[i]);
    }
    for (int k = 0; k < 2; k++) {
        assert_relative(sharded.bn[k].running_mean, whole.bn[k].running_mean, "running_mean");
        assert_relative(sharded.bn[k].running_var, whole.bn[k].running_var, "running_var");
        assert_int_equal(sharded.bn[k].num_batches_tracked, STEPS);
    }
    /* Both drew the same masks: the dropout streams moved alike. */
    assert_true(sharded.dropout.offset == whole.dropout.offset);
    hand_net_free(&sharded);
    hand_net_free(&whole);
    clcnn_dist_destroy(dist);
}
