/* The training loop: epochs of shuffled mini-batches through the seed
 * network, each step forward, loss, backward and an optimizer update enqueued
 * on the device with no host read but the asynchronous loss; evaluation on
 * the test set after every epoch. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train_report.h"
#include "train_session.h"

train_options train_options_default(void) {
    train_options o;
    memset(&o, 0, sizeof o);
    o.epochs = 10;
    o.batch = 128;
    o.lr = 0.05;
    o.momentum = 0.9;
    o.weight_decay = 5e-4;
    o.optimizer = TRAIN_SGD;
    o.schedule = TRAIN_COSINE;
    o.seed = 1;
    return o;
}

int train_optimizer_from_name(const char *name, train_optimizer *out) {
    static const char *const names[] = {"sgd", "nesterov", "adam", "adamw"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return *out = (train_optimizer)i, 1;
    return 0;
}

int train_schedule_from_name(const char *name, train_schedule *out) {
    static const char *const names[] = {"cosine", "step", "constant"};
    for (int i = 0; i < 3; i++)
        if (strcmp(name, names[i]) == 0)
            return *out = (train_schedule)i, 1;
    return 0;
}

int train_fail(const train_session *s, const char *what, clcnn_status status) {
    fprintf(stderr, "clcnn-train: %s: %s: %s\n", what, clcnn_status_name(status),
            s->ctx != NULL ? clcnn_context_last_error(s->ctx) : clcnn_status_string(status));
    return 1;
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* --------------------------------------------------------------- set-up */

static int open_context(train_session *s) {
    char error[2048] = "";
    clcnn_context_options options = clcnn_context_options_default();
    options.device = s->options->device;
    options.error_buffer = error;
    options.error_buffer_size = sizeof error;
    clcnn_status status = clcnn_context_create(&options, &s->ctx);
    if (status != CLCNN_OK) {
        fprintf(stderr, "clcnn-train: no device: %s: %s\n", clcnn_status_name(status), error);
        return 1;
    }
    return 0;
}

static clcnn_status create_optimizer(train_session *s) {
    size_t count = clcnn_net_parameter_count(s->net);
    clcnn_tensor **params = calloc(count, sizeof *params), **grads = calloc(count, sizeof *grads);
    clcnn_status status = params && grads ? CLCNN_OK : CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; i < count && status == CLCNN_OK; i++) {
        clcnn_net_tensor p;
        status = clcnn_net_parameter(s->net, i, &p);
        params[i] = p.value;
        grads[i] = p.grad;
    }
    const train_options *o = s->options;
    if (status == CLCNN_OK && (o->optimizer == TRAIN_SGD || o->optimizer == TRAIN_NESTEROV)) {
        clcnn_sgd_params sgd = clcnn_sgd_params_default();
        sgd.lr = o->lr;
        sgd.momentum = o->momentum;
        sgd.weight_decay = o->weight_decay;
        sgd.nesterov = o->optimizer == TRAIN_NESTEROV;
        status = clcnn_optimizer_create_sgd(s->ctx, &sgd, count, params, grads, &s->optimizer);
    } else if (status == CLCNN_OK) {
        clcnn_adam_params adam = o->optimizer == TRAIN_ADAMW ? clcnn_adamw_params_default()
                                                             : clcnn_adam_params_default();
        adam.lr = o->lr;
        adam.weight_decay = o->weight_decay;
        status = clcnn_optimizer_create_adam(s->ctx, &adam, count, params, grads, &s->optimizer);
    }
    free(params);
    free(grads);
    return status;
}

static int open_session(train_session *s) {
    const train_split *train = &s->data->train;
    if (open_context(s) != 0)
        return 1;
    clcnn_status status =
        clcnn_net_create_seed(s->ctx, 1, train->height, train->width, 10, 0.5f, &s->net);
    if (status == CLCNN_OK)
        status = clcnn_net_init(s->net, s->options->seed);
    if (status == CLCNN_OK)
        status = create_optimizer(s);
    size_t one = 1;
    if (status == CLCNN_OK)
        status = clcnn_tensor_create(s->ctx, 1, &one, &s->loss);
    train_feed_init(&s->feed, s->ctx, s->options->batch, 10);
    s->host_logits = malloc(s->options->batch * 10 * sizeof *s->host_logits);
    if (status == CLCNN_OK && s->host_logits == NULL)
        status = CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    return status == CLCNN_OK ? 0 : train_fail(s, "setting up the network", status);
}

static void close_session(train_session *s) {
    train_feed_free(&s->feed);
    clcnn_tensor_destroy(s->loss);
    clcnn_optimizer_destroy(s->optimizer);
    clcnn_net_destroy(s->net);
    clcnn_context_destroy(s->ctx);
    free(s->host_logits);
}

/* ------------------------------------------------------------------ training */

static double learning_rate(const train_options *o, size_t epoch) {
    switch (o->schedule) {
    case TRAIN_COSINE:
        return clcnn_lr_cosine(o->lr, epoch, o->epochs, 0.0);
    case TRAIN_STEP:
        return clcnn_lr_step(o->lr, epoch, 3, 0.1);
    default:
        return o->lr;
    }
}

/* One step on an uploaded batch; the loss is read back asynchronously into
 * *loss_value (complete once *event has been waited for). */
static clcnn_status train_step(train_session *s, const feed_slot *slot, float *loss_value,
                               clcnn_event **event) {
    const clcnn_tensor *logits = NULL;
    clcnn_status status = clcnn_net_zero_grad(s->net);
    if (status == CLCNN_OK)
        status = clcnn_net_forward(s->net, slot->input, &logits);
    if (status == CLCNN_OK)
        status = clcnn_net_loss(s->net, slot->labels, s->loss);
    if (status == CLCNN_OK)
        status = clcnn_net_backward(s->net);
    if (status == CLCNN_OK)
        status = clcnn_optimizer_step(s->optimizer);
    if (status == CLCNN_OK)
        status = clcnn_tensor_read_async(s->loss, 0, loss_value, 1, event);
    return status;
}

/* Waits for the pending loss reads [from, to) and adds them up. */
static clcnn_status collect_losses(clcnn_event **events, const float *losses, size_t from,
                                   size_t to, double *sum) {
    clcnn_status status = CLCNN_OK;
    for (size_t i = from; i < to; i++) {
        clcnn_status wait = clcnn_event_wait(events[i]);
        status = status == CLCNN_OK ? wait : status;
        clcnn_event_destroy(events[i]);
        events[i] = NULL;
        *sum += losses[i];
    }
    return status;
}

static int train_epoch(train_session *s, size_t epoch, train_progress *progress,
                       epoch_result *result) {
    const train_split *split = &s->data->train;
    size_t batch = s->options->batch, steps = (split->count + batch - 1) / batch;
    size_t *order = malloc(split->count * sizeof *order);
    float *losses = calloc(steps, sizeof *losses);
    clcnn_event **events = calloc(steps, sizeof *events);
    clcnn_status status = order && losses && events ? CLCNN_OK : CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    if (status == CLCNN_OK)
        status = clcnn_optimizer_set_lr(s->optimizer, learning_rate(s->options, epoch));
    if (status == CLCNN_OK)
        status = clcnn_net_set_training(s->net, 1);
    if (order != NULL)
        train_shuffle(order, split->count, s->options->seed, epoch);
    double start = now_seconds(), loss_sum = 0.0;
    size_t collected = 0, seen = 0;
    train_progress_start_epoch(progress);
    if (status == CLCNN_OK)
        status = train_feed_begin(&s->feed, split, order);
    for (size_t step = 0; step < steps && status == CLCNN_OK; step++) {
        feed_slot *slot = NULL;
        status = train_feed_next(&s->feed, &slot);
        if (status == CLCNN_OK)
            status = train_step(s, slot, &losses[step], &events[step]);
        if (status == CLCNN_OK)
            status = train_feed_release(&s->feed, slot);
        seen += slot != NULL ? slot->size : 0;
        if (status == CLCNN_OK && train_progress_due(progress, step + 1, steps)) {
            status = collect_losses(events, losses, collected, step + 1, &loss_sum);
            collected = step + 1;
            train_progress_show(progress, epoch, step + 1, steps, losses[step],
                                seen / (now_seconds() - start));
        }
    }
    if (status == CLCNN_OK)
        status = collect_losses(events, losses, collected, steps, &loss_sum);
    for (size_t i = 0; i < steps && events != NULL; i++)
        clcnn_event_destroy(events[i]);
    result->train_loss = loss_sum / (double)steps;
    result->train_seconds = now_seconds() - start;
    result->images_per_second = split->count / result->train_seconds;
    result->lr = learning_rate(s->options, epoch);
    free(order);
    free(losses);
    free(events);
    return status == CLCNN_OK ? 0 : train_fail(s, "training step", status);
}

/* ---------------------------------------------------------------- evaluation */

/* Accuracy and mean cross-entropy of n rows of logits against labels. */
static void score_logits(const float *logits, const int32_t *labels, size_t n, size_t *correct,
                         double *loss_sum) {
    for (size_t i = 0; i < n; i++) {
        const float *row = logits + i * 10;
        size_t best = 0;
        double max = row[0], sum = 0.0;
        for (size_t c = 1; c < 10; c++)
            if (row[c] > row[best])
                best = c;
        max = row[best];
        for (size_t c = 0; c < 10; c++)
            sum += exp((double)row[c] - max);
        *loss_sum += max + log(sum) - row[labels[i]];
        *correct += best == (size_t)labels[i];
    }
}

static int train_evaluate(train_session *s, clcnn_net *net, double *accuracy, double *loss) {
    const train_split *split = &s->data->test;
    size_t batch = s->options->batch, correct = 0;
    double loss_sum = 0.0;
    clcnn_status status = clcnn_net_set_training(net, 0);
    if (status == CLCNN_OK)
        status = train_feed_begin(&s->feed, split, NULL);
    for (size_t first = 0; first < split->count && status == CLCNN_OK; first += batch) {
        feed_slot *slot = NULL;
        const clcnn_tensor *logits = NULL;
        status = train_feed_next(&s->feed, &slot);
        if (status == CLCNN_OK)
            status = clcnn_net_forward(net, slot->input, &logits);
        /* The release uploads the next batch into the other slot while this
         * one's logits come back; this slot's labels stay as they are. */
        if (status == CLCNN_OK)
            status = train_feed_release(&s->feed, slot);
        if (status == CLCNN_OK)
            status = clcnn_tensor_read(logits, 0, s->host_logits, slot->size * 10);
        if (status == CLCNN_OK)
            score_logits(s->host_logits, slot->host_labels, slot->size, &correct, &loss_sum);
    }
    *accuracy = 100.0 * (double)correct / (double)split->count;
    *loss = loss_sum / (double)split->count;
    return status == CLCNN_OK ? 0 : train_fail(s, "evaluation", status);
}

/* ---------------------------------------------------------------------- runs */

static int run_training(train_session *s, train_report *report) {
    train_progress progress;
    train_progress_init(&progress, s->options->json);
    for (size_t epoch = s->first_epoch; epoch < s->options->epochs; epoch++) {
        epoch_result result;
        memset(&result, 0, sizeof result);
        result.epoch = epoch + 1;
        if (train_epoch(s, epoch, &progress, &result) != 0)
            return 1;
        double start = now_seconds();
        if (train_evaluate(s, s->net, &result.test_accuracy, &result.test_loss) != 0)
            return 1;
        result.eval_seconds = now_seconds() - start;
        train_progress_finish_epoch(&progress, &result, s->options->epochs);
        if (train_report_add(report, &result) != 0)
            return 1;
        if (s->options->save_path != NULL && train_checkpoint_save(s, epoch + 1) != 0)
            return 1;
    }
    return 0;
}

/* Evaluates a checkpoint as it is and with batch norm folded. */
static int run_evaluation(train_session *s, train_report *report) {
    if (clcnn_net_load(s->net, s->options->eval_path) != CLCNN_OK)
        return train_fail(s, "loading the checkpoint", CLCNN_ERROR_CORRUPT_FILE);
    epoch_result result;
    memset(&result, 0, sizeof result);
    double start = now_seconds();
    if (train_evaluate(s, s->net, &result.test_accuracy, &result.test_loss) != 0)
        return 1;
    result.eval_seconds = now_seconds() - start;
    clcnn_net *folded = NULL;
    clcnn_status status = clcnn_net_create_folded(s->net, &folded);
    if (status != CLCNN_OK)
        return train_fail(s, "folding batch norm", status);
    double folded_loss = 0.0;
    int failed = train_evaluate(s, folded, &result.folded_accuracy, &folded_loss);
    clcnn_net_destroy(folded);
    if (failed)
        return 1;
    train_report_evaluation(report, &result);
    return train_report_add(report, &result);
}

static int normalise(train_session *s) {
    const train_options *o = s->options;
    const char *checkpoint = o->eval_path != NULL ? o->eval_path : o->resume_path;
    double mean, std;
    if (checkpoint != NULL) {
        if (train_checkpoint_statistics(checkpoint, &mean, &std) != 0)
            return 1;
    } else {
        train_data_statistics(s->data, &mean, &std);
    }
    train_data_normalise(s->data, mean, std);
    return 0;
}

int train_run(const train_options *options, train_data *data) {
    train_session s;
    memset(&s, 0, sizeof s);
    s.options = options;
    s.data = data;
    if (normalise(&s) != 0)
        return 1;
    train_report report;
    memset(&report, 0, sizeof report);
    int failed = open_session(&s);
    if (!failed)
        failed = train_report_init(&report, &s);
    if (!failed && options->resume_path != NULL)
        failed = train_checkpoint_resume(&s, options->resume_path);
    if (!failed)
        failed =
            options->eval_path != NULL ? run_evaluation(&s, &report) : run_training(&s, &report);
    if (!failed)
        train_report_print(&report);
    train_report_free(&report);
    close_session(&s);
    return failed ? 1 : 0;
}
