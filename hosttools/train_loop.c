/* The training loop: epochs of shuffled mini-batches through the seed
 * network, each step forward, loss, backward and an optimizer update enqueued
 * on the device with no host read but the asynchronous loss; evaluation on
 * the test set after every epoch. A loss that is not finite stops training
 * at the step where it appeared; time spent compiling kernels (or loading
 * them from the disk cache) is kept out of the speed figures. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train_report.h"
#include "train_session.h"

/* How many steps the check of the losses lags behind the step enqueued
 * last. The batch feed keeps the host about two steps ahead of the device
 * anyway, so waiting for older losses costs nothing. */
#define LOSS_CHECK_LAG 3

const char *const train_optimizer_names[4] = {"sgd", "nesterov", "adam", "adamw"};
const char *const train_schedule_names[3] = {"cosine", "step", "constant"};
const char *const train_model_names[2] = {"seed", "resnet8"};

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

void train_options_for_model(train_options *o, int lr_given, int augment_given) {
    int resnet = o->model == TRAIN_MODEL_RESNET8;
    if (!lr_given)
        o->lr = resnet ? 0.1 : 0.05;
    if (!augment_given)
        o->augment = resnet;
}

int train_fail(const train_session *s, const char *what, clcnn_status status) {
    const char *reason =
        s->ctx != NULL ? clcnn_context_last_error(s->ctx) : clcnn_status_string(status);
    /* Another rank's failure: the clcnn_dist's message names that rank. */
    if (status == CLCNN_ERROR_PEER_FAILED && train_dist_error(s->dist)[0] != '\0')
        reason = train_dist_error(s->dist);
    if (s->dist->size > 1)
        fprintf(stderr, "clcnn-train (rank %zu of %zu): %s: %s: %s\n", s->dist->rank, s->dist->size,
                what, clcnn_status_name(status), reason);
    else
        fprintf(stderr, "clcnn-train: %s: %s: %s\n", what, clcnn_status_name(status), reason);
    char message[200];
    snprintf(message, sizeof message, "%s: %s", what, reason);
    train_dist_report(s->dist, status, message);
    return 1;
}

double train_now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ----------------------------------------------------------- kernel set-up */

static clcnn_cache_stats cache_stats(const train_session *s) {
    clcnn_cache_stats stats;
    if (clcnn_context_cache_stats(s->ctx, &stats) != CLCNN_OK)
        memset(&stats, 0, sizeof stats);
    return stats;
}

uint64_t train_kernel_builds(const train_session *s) {
    return cache_stats(s).builds;
}

/* Times one stretch of enqueueing: when the context compiled a program in
 * it (or loaded one from the disk cache), the whole stretch counts as
 * preparing kernels (that takes tenths of seconds to minutes, the
 * enqueueing around it microseconds). */
typedef struct kernel_meter {
    clcnn_cache_stats before;
    double start;
} kernel_meter;

static void meter_start(const train_session *s, kernel_meter *meter) {
    meter->before = cache_stats(s);
    meter->start = train_now_seconds();
}

/* Adds the stretch since meter_start to *build or *load when kernels were
 * compiled or loaded in it; returns 1 then, else 0. */
static int meter_stop(const train_session *s, const kernel_meter *meter, double *build,
                      double *load) {
    clcnn_cache_stats after = cache_stats(s);
    double seconds = train_now_seconds() - meter->start;
    if (after.builds != meter->before.builds)
        *build += seconds;
    else if (after.disk_hits != meter->before.disk_hits)
        *load += seconds;
    else
        return 0;
    return 1;
}

/* ------------------------------------------------------------------- losses */

/* The losses of one epoch, read back asynchronously step by step. */
typedef struct loss_record {
    float *values;
    clcnn_event **events;
    size_t steps;
    size_t collected; /* steps [0, collected) waited for and added up */
    double sum;
    size_t bad_step; /* the first step whose loss is not finite; steps: none */
} loss_record;

static clcnn_status loss_record_init(loss_record *r, size_t steps) {
    memset(r, 0, sizeof *r);
    r->steps = steps;
    r->bad_step = steps;
    r->values = calloc(steps, sizeof *r->values);
    r->events = calloc(steps, sizeof *r->events);
    return r->values != NULL && r->events != NULL ? CLCNN_OK : CLCNN_ERROR_OUT_OF_HOST_MEMORY;
}

static void loss_record_free(loss_record *r) {
    for (size_t i = 0; i < r->steps && r->events != NULL; i++)
        clcnn_event_destroy(r->events[i]);
    free(r->values);
    free(r->events);
}

/* Waits for the losses of steps [collected, to), adds them up and notes the
 * first one that is not finite. */
static clcnn_status collect_losses(loss_record *r, size_t to) {
    clcnn_status status = CLCNN_OK;
    for (; r->collected < to; r->collected++) {
        size_t i = r->collected;
        clcnn_status wait = clcnn_event_wait(r->events[i]);
        status = status == CLCNN_OK ? wait : status;
        clcnn_event_destroy(r->events[i]);
        r->events[i] = NULL;
        r->sum += r->values[i];
        if (!isfinite(r->values[i]) && r->bad_step == r->steps)
            r->bad_step = i;
    }
    return status;
}

/* The message of a diverged run; returns 1. */
static int report_divergence(const train_session *s, const loss_record *r, size_t epoch,
                             double lr) {
    fflush(stdout);
    fprintf(stderr,
            "clcnn-train: the training loss became %s at epoch %zu, step %zu of %zu (learning "
            "rate %g): training stopped, nothing saved from this epoch.\n"
            "  The learning rate is probably too high: try a lower --lr, such as %g.\n",
            isnan(r->values[r->bad_step]) ? "NaN" : "infinite", epoch + 1, r->bad_step + 1,
            r->steps, lr, s->options->lr / 10.0);
    return 1;
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

/* The augmentation's Philox key: its own, not the dropout layers' seed
 * (clcnn/augment.h). */
#define AUGMENT_SEED_SALT UINT64_C(0x61756720637270) /* "aug crp" */

/* The batch augmented on the device (a new tensor, the caller's): sample i
 * of the epoch's order draws its crop and flip from (seed, epoch, i), i
 * counted over the global batches, so a data-parallel run augments each
 * sample as one process would. */
static clcnn_status augmented_batch(train_session *s, const feed_slot *slot, size_t epoch,
                                    size_t first_sample, clcnn_tensor **out) {
    size_t dims[4];
    for (size_t d = 0; d < 4; d++)
        dims[d] = clcnn_tensor_dim(slot->input, d);
    clcnn_status status = clcnn_tensor_create(s->ctx, 4, dims, out);
    clcnn_augment_params params = clcnn_augment_params_default();
    params.seed = s->options->seed ^ AUGMENT_SEED_SALT;
    params.epoch = epoch;
    params.first_sample_index = first_sample;
    if (status == CLCNN_OK)
        status = clcnn_augment_crop_flip(s->ctx, &params, slot->input, *out);
    return status;
}

/* One step on an uploaded batch (augmented first with --augment), this
 * rank's share of a global batch that starts at sample `batch_start` of the
 * epoch's order: its augmentation and dropout masks are those of its
 * samples' global indices, and the backward pass starts averaging the
 * gradients with the other ranks. The loss is read back asynchronously into
 * *loss_value (complete once *event has been waited for). */
static clcnn_status train_step(train_session *s, const feed_slot *slot, size_t epoch,
                               size_t batch_start, float *loss_value, clcnn_event **event) {
    const clcnn_tensor *logits = NULL;
    clcnn_tensor *augmented = NULL;
    clcnn_status status = clcnn_net_zero_grad(s->net);
    if (status == CLCNN_OK && s->options->augment)
        status = augmented_batch(s, slot, epoch, batch_start + slot->first_in_batch, &augmented);
    if (status == CLCNN_OK)
        status = clcnn_net_set_first_sample(s->net, slot->first_in_batch);
    if (status == CLCNN_OK)
        status = clcnn_net_forward(s->net, augmented != NULL ? augmented : slot->input, &logits);
    if (status == CLCNN_OK)
        status = clcnn_net_loss(s->net, slot->labels, s->loss);
    if (status == CLCNN_OK)
        status = clcnn_net_backward(s->net);
    if (status == CLCNN_OK)
        status = train_dist_gradients(s->dist);
    if (status == CLCNN_OK)
        status = clcnn_optimizer_step(s->optimizer);
    if (status == CLCNN_OK)
        status = clcnn_tensor_read_async(s->loss, 0, loss_value, 1, event);
    clcnn_tensor_destroy(augmented); /* back to the pool, in queue order */
    return status;
}

/* Where an epoch stands: time and images, with kernel set-up kept apart. */
typedef struct epoch_clock {
    double start;
    double build_seconds, load_seconds;
    size_t timed_images; /* images of steps that prepared no kernel */
} epoch_clock;

static double clock_working_seconds(const epoch_clock *clock) {
    return train_now_seconds() - clock->start - clock->build_seconds - clock->load_seconds;
}

static double clock_images_per_second(const epoch_clock *clock) {
    double seconds = clock_working_seconds(clock);
    return clock->timed_images > 0 && seconds > 0.0 ? (double)clock->timed_images / seconds : 0.0;
}

static void show_progress(train_progress *progress, const epoch_clock *clock, size_t epoch,
                          size_t step, size_t steps, float loss, size_t images_left) {
    double rate = clock_images_per_second(clock);
    double eta = rate > 0.0 ? (double)images_left / rate : -1.0;
    train_progress_show(progress, epoch, step, steps, loss, rate, eta);
}

/* Runs the epoch's steps, checking the losses as they come back; 0, or 1
 * after a message. */
static int run_steps(train_session *s, size_t epoch, const size_t *order, loss_record *losses,
                     epoch_clock *clock, train_progress *progress) {
    const train_split *split = &s->data->train;
    size_t seen = 0;
    clcnn_status status = train_feed_begin(&s->feed, split, order);
    for (size_t step = 0; step < losses->steps && status == CLCNN_OK; step++) {
        feed_slot *slot = NULL;
        kernel_meter meter;
        meter_start(s, &meter);
        status = train_feed_next(&s->feed, &slot);
        if (status == CLCNN_OK)
            status = train_step(s, slot, epoch, seen, &losses->values[step], &losses->events[step]);
        if (status == CLCNN_OK)
            status = train_feed_release(&s->feed, slot);
        int preparing = meter_stop(s, &meter, &clock->build_seconds, &clock->load_seconds);
        size_t images = slot != NULL ? slot->global_size : 0; /* every rank's */
        seen += images;
        clock->timed_images += preparing ? 0 : images;
        int due = train_progress_due(progress, step + 1, losses->steps);
        /* Every loss up to this step when it is shown, else those at least
         * LOSS_CHECK_LAG steps old (collect_losses skips the ones it has). */
        size_t check_to = step + 1 >= LOSS_CHECK_LAG ? step + 1 - LOSS_CHECK_LAG : 0;
        if (due)
            check_to = step + 1;
        if (status == CLCNN_OK)
            status = collect_losses(losses, check_to);
        if (status == CLCNN_OK && losses->bad_step < losses->steps)
            return report_divergence(s, losses, epoch, learning_rate(s->options, epoch));
        if (status == CLCNN_OK && due)
            show_progress(progress, clock, epoch, step + 1, losses->steps, losses->values[step],
                          split->count - seen);
    }
    return status == CLCNN_OK ? 0 : train_fail(s, "training step", status);
}

int train_epoch(train_session *s, size_t epoch, train_progress *progress, epoch_result *result) {
    const train_split *split = &s->data->train;
    train_feed_share(&s->feed, s->dist->size, s->dist->rank);
    size_t steps = train_feed_steps(&s->feed, split->count);
    size_t *order = malloc(split->count * sizeof *order);
    loss_record losses;
    clcnn_status status = loss_record_init(&losses, steps);
    if (status == CLCNN_OK && order == NULL)
        status = CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    if (status == CLCNN_OK)
        status = clcnn_optimizer_set_lr(s->optimizer, learning_rate(s->options, epoch));
    if (status == CLCNN_OK)
        status = clcnn_net_set_training(s->net, 1);
    int failed = status != CLCNN_OK ? train_fail(s, "starting an epoch", status) : 0;
    epoch_clock clock = {train_now_seconds(), 0.0, 0.0, 0};
    train_progress_start_epoch(progress);
    if (!failed) {
        train_shuffle(order, split->count, s->options->seed, epoch);
        failed = run_steps(s, epoch, order, &losses, &clock, progress);
    }
    status = failed ? CLCNN_OK : collect_losses(&losses, steps);
    if (status != CLCNN_OK)
        failed = train_fail(s, "training step", status);
    if (!failed && losses.bad_step < steps)
        failed = report_divergence(s, &losses, epoch, learning_rate(s->options, epoch));
    double loss_sum = losses.sum; /* the mean over the ranks' shares */
    status = failed ? CLCNN_OK : train_dist_sum(s->dist, &loss_sum, 1);
    if (status != CLCNN_OK)
        failed = train_fail(s, "summing the losses", status);
    result->train_loss = loss_sum / (double)(steps * s->dist->size);
    result->train_seconds = clock_working_seconds(&clock);
    result->images_per_second = clock_images_per_second(&clock);
    result->kernel_build_seconds += clock.build_seconds;
    result->kernel_load_seconds += clock.load_seconds;
    result->lr = learning_rate(s->options, epoch);
    free(order);
    loss_record_free(&losses);
    return failed;
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

/* Runs one batch through net and scores it. */
static clcnn_status evaluate_batch(train_session *s, clcnn_net *net, size_t *correct,
                                   double *loss_sum) {
    feed_slot *slot = NULL;
    const clcnn_tensor *logits = NULL;
    clcnn_status status = train_feed_next(&s->feed, &slot);
    if (status == CLCNN_OK)
        status = clcnn_net_forward(net, slot->input, &logits);
    /* The release uploads the next batch into the other slot while this
     * one's logits come back; this slot's labels stay as they are. */
    if (status == CLCNN_OK)
        status = train_feed_release(&s->feed, slot);
    if (status == CLCNN_OK)
        status = clcnn_tensor_read(logits, 0, s->host_logits, slot->size * 10);
    if (status == CLCNN_OK)
        score_logits(s->host_logits, slot->host_labels, slot->size, correct, loss_sum);
    return status;
}

/* This rank's part of the test split (all of it with one rank). */
static train_split test_shard(const train_session *s) {
    train_split shard = s->data->test;
    size_t first = 0, pixels = shard.height * shard.width;
    train_dist_share(s->dist, shard.count, &first, &shard.count);
    shard.pixels += first * pixels;
    shard.labels += first;
    return shard;
}

/* Each rank scores its part of the test split; the counts are summed. */
int train_evaluate(train_session *s, clcnn_net *net, epoch_result *result, double *accuracy,
                   double *loss) {
    train_split split = test_shard(s);
    size_t correct = 0;
    double loss_sum = 0.0, start = train_now_seconds(), building = 0.0, loading = 0.0;
    clcnn_status status = clcnn_net_set_training(net, 0);
    train_feed_share(&s->feed, 1, 0);
    if (status == CLCNN_OK && split.count > 0)
        status = train_feed_begin(&s->feed, &split, NULL);
    for (size_t first = 0; first < split.count && status == CLCNN_OK; first += s->options->batch) {
        kernel_meter meter;
        meter_start(s, &meter);
        status = evaluate_batch(s, net, &correct, &loss_sum);
        meter_stop(s, &meter, &building, &loading);
    }
    double totals[2] = {(double)correct, loss_sum};
    if (status == CLCNN_OK)
        status = train_dist_sum(s->dist, totals, 2);
    *accuracy = 100.0 * totals[0] / (double)s->data->test.count;
    *loss = totals[1] / (double)s->data->test.count;
    result->eval_seconds += train_now_seconds() - start - building - loading;
    result->kernel_build_seconds += building;
    result->kernel_load_seconds += loading;
    return status == CLCNN_OK ? 0 : train_fail(s, "evaluation", status);
}
