/* The MPI component on one rank (a singleton MPI process, no mpirun): every
 * failure of a clcnn_dist function names the function in
 * clcnn_dist_last_error (test_api_errors.c exempts them: its messages go to
 * the context, and it does not link libclcnn_dist); every function of
 * clcnn/dist.h is listed here; the batch split; what one rank does
 * (averaging is the identity, the synchronised batch norm equals the local
 * op on the same batch); a reported failure ends the dist. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/test_support.h"

#include "clcnn/dist.h"

static clcnn_context *ctx;
static clcnn_dist *dist, *empty_dist, *sync_dist;
static clcnn_tensor *vec4, *x4, *y4;
static clcnn_batchnorm_saved saved4; /* vec4 twice: 4 channels where x4 has 2 */
static clcnn_batchnorm_grads grads4;
static double value;

static clcnn_dist *make_dist(int sync) {
    clcnn_dist_options options = clcnn_dist_options_default();
    char error[512] = "";
    options.sync_batchnorm = sync;
    options.error_buffer = error;
    options.error_buffer_size = sizeof error;
    clcnn_dist *made = NULL;
    clcnn_status status = clcnn_dist_create(ctx, MPI_COMM_WORLD, &options, &made);
    if (status != CLCNN_OK)
        fail_msg("clcnn_dist_create: %s: %s", clcnn_status_name(status), error);
    return made;
}

static int setup(void **state) {
    (void)state;
    ctx = ts_context_create();
    dist = make_dist(0);
    empty_dist = make_dist(0);
    sync_dist = make_dist(1);
    size_t four = 4, dims[4] = {2, 2, 1, 1};
    vec4 = ts_tensor_create(ctx, 1, &four, NULL);
    x4 = ts_tensor_create(ctx, 4, dims, NULL);
    y4 = ts_tensor_create(ctx, 4, dims, NULL);
    saved4 = (clcnn_batchnorm_saved){vec4, vec4};
    grads4 = (clcnn_batchnorm_grads){vec4, NULL, CLCNN_GRAD_OVERWRITE};
    clcnn_tensor *grads[1] = {vec4};
    TS_ASSERT_OK(ctx, clcnn_dist_add_gradients(dist, 1, grads));
    return 0;
}

static int teardown(void **state) {
    (void)state;
    clcnn_dist_destroy(dist);
    clcnn_dist_destroy(empty_dist);
    clcnn_dist_destroy(sync_dist);
    clcnn_tensor_destroy(vec4);
    clcnn_tensor_destroy(x4);
    clcnn_tensor_destroy(y4);
    clcnn_context_destroy(ctx);
    return 0;
}

/* ----------------------------------------------------------- failure cases */

static clcnn_tensor *const *self_list(void) {
    static clcnn_tensor *list[1];
    list[0] = vec4;
    return list;
}

static clcnn_status register_twice(void) {
    clcnn_tensor *twice[2] = {y4, y4};
    return clcnn_dist_add_gradients(dist, 2, twice);
}

/* X(function, dist whose message is checked, expected status, the call). */
#define DIST_ERROR_CASES(X)                                                                     \
    X(clcnn_dist_add_gradients, dist, CLCNN_ERROR_INVALID_ARGUMENT, register_twice())           \
    X(clcnn_dist_attach_net, dist, CLCNN_ERROR_INVALID_ARGUMENT,                                \
      clcnn_dist_attach_net(dist, NULL))                                                        \
    X(clcnn_dist_grad_begin, empty_dist, CLCNN_ERROR_INVALID_ARGUMENT,                          \
      clcnn_dist_grad_begin(empty_dist))                                                        \
    X(clcnn_dist_grad_end, dist, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dist_grad_end(dist))       \
    X(clcnn_dist_allreduce_grads, empty_dist, CLCNN_ERROR_INVALID_ARGUMENT,                     \
      clcnn_dist_allreduce_grads(empty_dist))                                                   \
    X(clcnn_dist_report_failure, dist, CLCNN_ERROR_INVALID_ARGUMENT,                            \
      clcnn_dist_report_failure(dist, CLCNN_OK, "not a failure"))                               \
    X(clcnn_dist_broadcast, dist, CLCNN_ERROR_INVALID_ARGUMENT,                                 \
      clcnn_dist_broadcast(dist, 5, 1, self_list()))                                            \
    X(clcnn_dist_sum, dist, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dist_sum(dist, &value, 0))      \
    X(clcnn_dist_broadcast_running_stats, dist, CLCNN_ERROR_INVALID_ARGUMENT,                   \
      clcnn_dist_broadcast_running_stats(dist, 5))                                              \
    X(clcnn_dist_batchnorm_forward_train, sync_dist, CLCNN_ERROR_INVALID_ARGUMENT,              \
      clcnn_dist_batchnorm_forward_train(sync_dist, NULL, x4, NULL, NULL, NULL, NULL, &saved4)) \
    X(clcnn_dist_batchnorm_backward, sync_dist, CLCNN_ERROR_INVALID_SHAPE,                      \
      clcnn_dist_batchnorm_backward(sync_dist, NULL, x4, NULL, y4, NULL, &saved4, NULL, &grads4))

#define DIST_ERROR_CALL(function, handle, status, call) \
    static clcnn_status call_##function(void) {         \
        return call;                                    \
    }
DIST_ERROR_CASES(DIST_ERROR_CALL)

typedef struct dist_error_case {
    const char *function;
    clcnn_dist **handle;
    clcnn_status status;
    clcnn_status (*call)(void);
} dist_error_case;

#define DIST_ERROR_ROW(function, handle, status, call) \
    {#function, &handle, status, call_##function},
static const dist_error_case cases[] = {DIST_ERROR_CASES(DIST_ERROR_ROW)};

/* Functions without a dist to hold a message, or that cannot fail, and
 * why (each has its own test below). */
static const char *const exempt[] = {
    "clcnn_dist_options_default", /* cannot fail */
    "clcnn_dist_create",          /* no dist yet: the error buffer (test_create_errors) */
    "clcnn_dist_destroy",         /* destroy */
    "clcnn_dist_last_error",      /* no status */
    "clcnn_dist_rank",            /* no status */
    "clcnn_dist_size",            /* no status */
    "clcnn_dist_split",           /* no handle: status only (test_split) */
};

static void leave_stale_message(clcnn_dist *d) {
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dist_sum(d, NULL, 1));
    TS_ASSERT_CONTAINS(clcnn_dist_last_error(d), "values is NULL");
}

static void test_every_failure_names_its_function(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const dist_error_case *c = &cases[i];
        clcnn_dist *d = *c->handle;
        leave_stale_message(d);
        clcnn_status status = c->call();
        const char *message = clcnn_dist_last_error(d);
        if (status != c->status)
            fail_msg("%s returned %s, expected %s (message: %s)", c->function,
                     clcnn_status_name(status), clcnn_status_name(c->status), message);
        if (strncmp(message, c->function, strlen(c->function)) != 0 ||
            message[strlen(c->function)] != ':')
            fail_msg("%s left the message \"%s\", which does not start with its name", c->function,
                     message);
    }
}

/* Every CLCNN_API declaration of clcnn/dist.h is a case or exempt. */
static void test_every_dist_function_is_listed(void **state) {
    (void)state;
    const char *path = CLCNN_TEST_SOURCE_DIR "/include/clcnn/dist.h";
    FILE *file = fopen(path, "rb");
    assert_non_null(file);
    char line[512];
    size_t declared = 0;
    while (fgets(line, sizeof line, file) != NULL) {
        if (strncmp(line, "CLCNN_API", 9) != 0)
            continue;
        char *paren = strchr(line, '(');
        assert_non_null(paren);
        char *start = paren;
        while (start > line && (start[-1] == '_' || (start[-1] >= 'a' && start[-1] <= 'z')))
            start--;
        *paren = '\0';
        int listed = 0;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            listed |= strcmp(cases[i].function, start) == 0;
        for (size_t i = 0; i < sizeof exempt / sizeof exempt[0]; i++)
            listed |= strcmp(exempt[i], start) == 0;
        if (!listed)
            fail_msg("%s (clcnn/dist.h) is neither a case nor exempt in test_dist_api.c", start);
        declared++;
    }
    fclose(file);
    assert_int_equal(declared, sizeof cases / sizeof cases[0] + sizeof exempt / sizeof exempt[0]);
}

static void test_create_errors(void **state) {
    (void)state;
    char error[256] = "";
    clcnn_dist_options options = clcnn_dist_options_default();
    options.error_buffer = error;
    options.error_buffer_size = sizeof error;
    clcnn_dist *made = (clcnn_dist *)&made;
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dist_create(NULL, MPI_COMM_WORLD, &options, &made));
    TS_ASSERT_CONTAINS(error, "clcnn_dist_create: context is NULL");
    assert_null(made);
    options.timeout_seconds = -1.0;
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dist_create(ctx, MPI_COMM_WORLD, &options, &made));
    TS_ASSERT_CONTAINS(error, "clcnn_dist_create: timeout_seconds -1");
    options.timeout_seconds = 0.0;
    options.bucket_bytes = (size_t)1 << 40;
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT,
                     clcnn_dist_create(ctx, MPI_COMM_WORLD, &options, &made));
    TS_ASSERT_CONTAINS(error, "clcnn_dist_create: bucket_bytes");
    assert_null(made);
    /* MPI_COMM_NULL is MPI_COMM_WORLD; the NULL handles read as empty. */
    TS_ASSERT_OK(NULL, clcnn_dist_create(ctx, MPI_COMM_NULL, NULL, &made));
    assert_int_equal(clcnn_dist_size(made), 1);
    assert_int_equal(clcnn_dist_rank(made), 0);
    clcnn_dist_destroy(made);
    clcnn_dist_destroy(NULL);
    assert_string_equal(clcnn_dist_last_error(NULL), "");
    assert_int_equal(clcnn_dist_size(NULL), 0);
}

static void test_registration_errors(void **state) {
    (void)state;
    clcnn_dist *d = make_dist(0);
    clcnn_tensor *list[2] = {vec4, NULL};
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dist_add_gradients(d, 2, list));
    TS_ASSERT_CONTAINS(clcnn_dist_last_error(d), "gradient 1 is NULL");
    clcnn_context *other = ts_context_create();
    size_t two = 2;
    clcnn_tensor *foreign = ts_tensor_create(other, 1, &two, NULL);
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dist_add_gradients(d, 1, &foreign));
    TS_ASSERT_CONTAINS(clcnn_dist_last_error(d), "another context");
    TS_ASSERT_OK(NULL, clcnn_dist_add_gradients(d, 1, list));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dist_add_gradients(d, 1, list));
    TS_ASSERT_CONTAINS(clcnn_dist_last_error(d), "registered twice");
    TS_ASSERT_OK(NULL, clcnn_dist_grad_begin(d));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dist_grad_begin(d));
    TS_ASSERT_CONTAINS(clcnn_dist_last_error(d), "already in progress");
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dist_add_gradients(d, 1, &y4));
    TS_ASSERT_CONTAINS(clcnn_dist_last_error(d), "in progress");
    TS_ASSERT_OK(NULL, clcnn_dist_grad_end(d));
    clcnn_tensor_destroy(foreign);
    clcnn_context_destroy(other);
    clcnn_dist_destroy(d);
}

/* ---------------------------------------------------------------- split */

static void test_split(void **state) {
    (void)state;
    for (size_t ranks = 1; ranks <= 9; ranks++) {
        for (size_t global = 0; global <= 40; global++) {
            size_t next = 0;
            for (size_t rank = 0; rank < ranks; rank++) {
                size_t first = 99, count = 99;
                TS_ASSERT_OK(NULL, clcnn_dist_split(global, ranks, rank, &first, &count));
                assert_int_equal(first, next); /* contiguous, in rank order */
                assert_int_equal(count, global / ranks + (rank < global % ranks ? 1 : 0));
                next += count;
            }
            assert_int_equal(next, global); /* every sample exactly once */
        }
    }
    size_t first, count;
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dist_split(8, 0, 0, &first, &count));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dist_split(8, 2, 2, &first, &count));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dist_split(8, 2, 1, NULL, &count));
}

/* ------------------------------------------------------------- one rank */

static void test_one_rank_leaves_gradients_alone(void **state) {
    (void)state;
    float *values = ts_random_floats(4, 3, -1.0f, 1.0f), got[4];
    TS_ASSERT_OK(ctx, clcnn_tensor_write(vec4, 0, values, 4));
    TS_ASSERT_OK(NULL, clcnn_dist_allreduce_grads(dist));
    TS_ASSERT_OK(NULL, clcnn_dist_broadcast(dist, 0, 1, self_list()));
    TS_ASSERT_OK(ctx, clcnn_tensor_read(vec4, 0, got, 4));
    TS_ASSERT_FLOATS_IDENTICAL(got, values, 4);
    double sums[2] = {1.5, -2.25};
    TS_ASSERT_OK(NULL, clcnn_dist_sum(dist, sums, 2));
    assert_true(sums[0] == 1.5 && sums[1] == -2.25);
    free(values);
}

/* With one rank the synchronised batch norm takes its own path (gathered
 * statistics, the backward rebuilt from eval forwards) and must agree with
 * the local op to rounding, with the fused ReLU too. */
static void compare_sync_with_local(int relu, clcnn_grad_mode mode) {
    const size_t dims[4] = {3, 5, 4, 3}, c = 5, n = 3 * 5 * 4 * 3;
    float *x_host = ts_random_floats(n, 11, -2.0f, 3.0f);
    float *dy_host = ts_random_floats(n, 12, -1.0f, 1.0f);
    float *gamma_host = ts_random_floats(c, 13, 0.5f, 1.5f);
    clcnn_tensor *x = ts_tensor_create(ctx, 4, dims, x_host);
    clcnn_tensor *dy = ts_tensor_create(ctx, 4, dims, dy_host);
    clcnn_tensor *gamma = ts_vector_create(ctx, c, gamma_host);
    clcnn_tensor *beta = ts_vector_create(ctx, c, gamma_host);
    clcnn_tensor *out[2][7]; /* y, mean, invstd, dx, dgamma, dbeta, running_mean */
    clcnn_batchnorm_state states[2];
    clcnn_batchnorm_params params = clcnn_batchnorm_params_default();
    params.activation = relu ? CLCNN_FUSED_RELU : CLCNN_FUSED_NONE;
    for (int k = 0; k < 2; k++) {
        out[k][0] = ts_tensor_create(ctx, 4, dims, NULL);
        out[k][3] = ts_tensor_create(ctx, 4, dims, NULL);
        for (int j = 1; j < 7; j++)
            if (j != 3)
                out[k][j] = ts_vector_create(ctx, c, gamma_host); /* accumulate onto this */
        TS_ASSERT_OK(ctx, clcnn_batchnorm_state_init(ctx, c, &states[k]));
        states[k].num_batches_tracked = 3;
    }
    clcnn_batchnorm_saved saved[2] = {{out[0][1], out[0][2]}, {out[1][1], out[1][2]}};
    clcnn_batchnorm_grads grads[2] = {{out[0][4], out[0][5], mode}, {out[1][4], out[1][5], mode}};
    TS_ASSERT_OK(ctx, clcnn_batchnorm_forward_train(ctx, &params, x, gamma, beta, &states[0],
                                                    out[0][0], &saved[0]));
    TS_ASSERT_OK(NULL, clcnn_dist_batchnorm_forward_train(sync_dist, &params, x, gamma, beta,
                                                          &states[1], out[1][0], &saved[1]));
    TS_ASSERT_OK(ctx, clcnn_batchnorm_backward(ctx, &params, x, out[0][0], dy, gamma, &saved[0],
                                               out[0][3], &grads[0]));
    TS_ASSERT_OK(NULL, clcnn_dist_batchnorm_backward(sync_dist, &params, x, out[1][0], dy, gamma,
                                                     &saved[1], out[1][3], &grads[1]));
    assert_int_equal(states[1].num_batches_tracked, 4);
    for (int j = 0; j < 6; j++) {
        float *expected = ts_tensor_read_all(out[0][j]), *got = ts_tensor_read_all(out[1][j]);
        double *reference = ts_to_double(expected, clcnn_tensor_numel(out[0][j]));
        TS_ASSERT_FLOATS_NEAR(got, reference, clcnn_tensor_numel(out[0][j]), 1e-5, 1e-5);
        free(expected);
        free(got);
        free(reference);
    }
    clcnn_tensor *running[2][2] = {{states[0].running_mean, states[0].running_var},
                                   {states[1].running_mean, states[1].running_var}};
    for (int j = 0; j < 2; j++) {
        float *expected = ts_tensor_read_all(running[0][j]),
              *got = ts_tensor_read_all(running[1][j]);
        double *reference = ts_to_double(expected, c);
        TS_ASSERT_FLOATS_NEAR(got, reference, c, 1e-6, 1e-5);
        free(expected);
        free(got);
        free(reference);
    }
    for (int k = 0; k < 2; k++) {
        for (int j = 0; j < 7; j++)
            clcnn_tensor_destroy(out[k][j]);
        clcnn_batchnorm_state_release(&states[k]);
    }
    clcnn_tensor *all[] = {x, dy, gamma, beta};
    for (size_t i = 0; i < 4; i++)
        clcnn_tensor_destroy(all[i]);
    free(x_host);
    free(dy_host);
    free(gamma_host);
}

static void test_sync_batchnorm_on_one_rank_is_batchnorm(void **state) {
    (void)state;
    compare_sync_with_local(0, CLCNN_GRAD_OVERWRITE);
    compare_sync_with_local(1, CLCNN_GRAD_ACCUMULATE);
}

/* Without sync_batchnorm the dist functions are the local ops, bit for bit. */
static void test_local_batchnorm_is_the_op(void **state) {
    (void)state;
    const size_t dims[2] = {6, 3}, n = 18;
    float *x_host = ts_random_floats(n, 21, -1.0f, 1.0f);
    clcnn_tensor *x = ts_tensor_create(ctx, 2, dims, x_host);
    clcnn_tensor *y[2], *mean[2], *invstd[2];
    for (int k = 0; k < 2; k++) {
        y[k] = ts_tensor_create(ctx, 2, dims, NULL);
        mean[k] = ts_vector_create(ctx, 3, NULL);
        invstd[k] = ts_vector_create(ctx, 3, NULL);
    }
    clcnn_batchnorm_saved saved[2] = {{mean[0], invstd[0]}, {mean[1], invstd[1]}};
    TS_ASSERT_OK(ctx,
                 clcnn_batchnorm_forward_train(ctx, NULL, x, NULL, NULL, NULL, y[0], &saved[0]));
    TS_ASSERT_OK(
        NULL, clcnn_dist_batchnorm_forward_train(dist, NULL, x, NULL, NULL, NULL, y[1], &saved[1]));
    float *a = ts_tensor_read_all(y[0]), *b = ts_tensor_read_all(y[1]);
    TS_ASSERT_FLOATS_IDENTICAL(b, a, n);
    free(a);
    free(b);
    /* A local failure keeps the op's message after the dist function's name. */
    clcnn_batchnorm_saved wrong = {vec4, invstd[0]};
    TS_ASSERT_STATUS(
        NULL, CLCNN_ERROR_INVALID_SHAPE,
        clcnn_dist_batchnorm_forward_train(dist, NULL, x, NULL, NULL, NULL, y[0], &wrong));
    TS_ASSERT_CONTAINS(clcnn_dist_last_error(dist),
                       "clcnn_dist_batchnorm_forward_train: local: clcnn_batchnorm_forward_train");
    for (int k = 0; k < 2; k++) {
        clcnn_tensor_destroy(y[k]);
        clcnn_tensor_destroy(mean[k]);
        clcnn_tensor_destroy(invstd[k]);
    }
    clcnn_tensor_destroy(x);
    free(x_host);
}

/* One forward, loss and backward of a batch of 2 on `net`; the backward's
 * status. */
static clcnn_status backward_pass(clcnn_net *net) {
    size_t dims[4] = {2, 1, 8, 8}, one = 1;
    clcnn_tensor *x = ts_tensor_create(ctx, 4, dims, NULL),
                 *loss = ts_tensor_create(ctx, 1, &one, NULL);
    TS_ASSERT_OK(ctx, clcnn_tensor_fill(x, 0.5f));
    clcnn_labels *labels = NULL;
    const int32_t values[2] = {1, 2};
    TS_ASSERT_OK(ctx, clcnn_labels_create(ctx, 2, 10, &labels));
    TS_ASSERT_OK(ctx, clcnn_labels_write(labels, values, 2));
    const clcnn_tensor *logits = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_forward(net, x, &logits));
    TS_ASSERT_OK(ctx, clcnn_net_loss(net, labels, loss));
    clcnn_status status = clcnn_net_backward(net);
    clcnn_labels_destroy(labels);
    clcnn_tensor_destroy(x);
    clcnn_tensor_destroy(loss);
    return status;
}

/* The network's callback starts the exchange in the backward pass; a second
 * backward pass before clcnn_dist_grad_end is refused with a message that
 * says what to do; the dist's destruction removes the callback. */
static void test_attached_net_starts_the_exchange(void **state) {
    (void)state;
    clcnn_dist *d = make_dist(1);
    clcnn_net *net = NULL;
    TS_ASSERT_OK(ctx, clcnn_net_create_seed(ctx, 1, 8, 8, 10, 0.5f, &net));
    TS_ASSERT_OK(ctx, clcnn_net_set_training(net, 1));
    TS_ASSERT_OK(NULL, clcnn_dist_attach_net(d, net));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dist_attach_net(d, net));
    TS_ASSERT_CONTAINS(clcnn_dist_last_error(d), "a network is already attached");
    TS_ASSERT_OK(ctx, backward_pass(net));
    /* The callback began the exchange: grad_begin would now be refused
     * were it not the callback's. */
    TS_ASSERT_STATUS(ctx, CLCNN_ERROR_INVALID_ARGUMENT, backward_pass(net));
    TS_ASSERT_CONTAINS(clcnn_dist_last_error(d),
                       "a backward pass began before clcnn_dist_grad_end");
    TS_ASSERT_CONTAINS(clcnn_context_last_error(ctx), "the gradient callback failed");
    TS_ASSERT_OK(NULL, clcnn_dist_allreduce_grads(d));
    TS_ASSERT_OK(ctx, backward_pass(net));
    TS_ASSERT_OK(NULL, clcnn_dist_grad_end(d)); /* grad_begin is implied */
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_INVALID_ARGUMENT, clcnn_dist_grad_end(d));
    clcnn_dist_destroy(d);
    TS_ASSERT_OK(ctx, backward_pass(net));
    TS_ASSERT_OK(ctx, backward_pass(net)); /* no callback any more */
    clcnn_net_destroy(net);
}

/* A rank that reports a failure cannot go on; later calls say why. */
static void test_reported_failure_ends_the_dist(void **state) {
    (void)state;
    clcnn_dist *d = make_dist(0);
    TS_ASSERT_OK(NULL, clcnn_dist_report_failure(d, CLCNN_ERROR_IO, "the disk is full"));
    TS_ASSERT_STATUS(NULL, CLCNN_ERROR_PEER_FAILED, clcnn_dist_sum(d, &value, 1));
    TS_ASSERT_CONTAINS(clcnn_dist_last_error(d), "clcnn_dist_sum: unusable after an earlier "
                                                 "failure (clcnn_dist_report_failure: this rank "
                                                 "reported a failure: the disk is full)");
    clcnn_dist_destroy(d);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_failure_names_its_function),
        cmocka_unit_test(test_every_dist_function_is_listed),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_registration_errors),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_one_rank_leaves_gradients_alone),
        cmocka_unit_test(test_sync_batchnorm_on_one_rank_is_batchnorm),
        cmocka_unit_test(test_local_batchnorm_is_the_op),
        cmocka_unit_test(test_attached_net_starts_the_exchange),
        cmocka_unit_test(test_reported_failure_ends_the_dist),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    MPI_Finalize();
    return failed;
}
