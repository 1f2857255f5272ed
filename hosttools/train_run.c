/* One clcnn-train run: the session (device context, network, optimizer,
 * batch buffers) set up on prepared data, then training epochs or the
 * evaluation of a checkpoint, with what the user needs to know on the way:
 * a first run's kernel compilation, where checkpoints go, where a resumed
 * run starts. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_report.h"
#include "train_session.h"

/* --------------------------------------------------------------- set-up */

static int open_context(train_session *s) {
    char error[2048] = "";
    clcnn_context_options options = clcnn_context_options_default();
    options.device = train_dist_device(s->dist, s->options->device);
    options.error_buffer = error;
    options.error_buffer_size = sizeof error;
    clcnn_status status = clcnn_context_create(&options, &s->ctx);
    if (status != CLCNN_OK) {
        if (s->dist->size > 1)
            fprintf(stderr, "clcnn-train (rank %zu of %zu): no device (%s): %s: %s\n",
                    s->dist->rank, s->dist->size, options.device ? options.device : "default",
                    clcnn_status_name(status), error);
        else
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

/* The --model network for the test images' size (the training images have
 * the same: train_data_load checks), drawn with --seed; for --eval-only the
 * network the checkpoint describes, with its values. */
static clcnn_status create_network(train_session *s) {
    const train_options *o = s->options;
    const train_split *test = &s->data->test;
    if (o->eval_path != NULL)
        return clcnn_net_create_from_checkpoint(s->ctx, o->eval_path, &s->net);
    clcnn_status status =
        o->model == TRAIN_MODEL_RESNET8
            ? clcnn_net_create_resnet8(s->ctx, 1, test->height, test->width, 10, &s->net)
            : clcnn_net_create_seed(s->ctx, 1, test->height, test->width, 10, 0.5f, &s->net);
    if (status == CLCNN_OK)
        status = clcnn_net_init(s->net, o->seed);
    return status;
}

static int open_session(train_session *s) {
    if (open_context(s) != 0)
        return 1;
    clcnn_status status = create_network(s);
    if (status != CLCNN_OK && s->options->eval_path != NULL)
        return train_fail(s, "loading the checkpoint", status);
    if (status == CLCNN_OK)
        status = create_optimizer(s);
    size_t one = 1;
    if (status == CLCNN_OK)
        status = clcnn_tensor_create(s->ctx, 1, &one, &s->loss);
    train_feed_init(&s->feed, s->ctx, s->options->batch, 10);
    s->host_logits = malloc(s->options->batch * 10 * sizeof *s->host_logits);
    if (status == CLCNN_OK && s->host_logits == NULL)
        status = CLCNN_ERROR_OUT_OF_HOST_MEMORY;
    if (status != CLCNN_OK)
        return train_fail(s, "setting up the network", status);
    if (train_dist_attach(s->dist, s->ctx, s->net, s->options->sync_bn) != 0)
        return 1;
    /* The same seed gives every rank the same parameters; the broadcast
     * makes sure of it. */
    status = train_dist_broadcast_parameters(s->dist, s->net);
    return status == CLCNN_OK ? 0 : train_fail(s, "sharing the initial parameters", status);
}

static void close_session(train_session *s) {
    train_dist_detach(s->dist); /* before the network it is attached to */
    train_feed_free(&s->feed);
    clcnn_tensor_destroy(s->loss);
    clcnn_optimizer_destroy(s->optimizer);
    clcnn_net_destroy(s->net);
    clcnn_context_destroy(s->ctx);
    free(s->host_logits);
}

/* Setting up the network ran the library's first kernels: when they had to
 * be compiled, the program cache is cold for this device (a first run, a
 * new driver or library version), and the first steps will compile the
 * rest. Say so before that wait. */
static void announce_kernel_builds(train_session *s) {
    if (train_kernel_builds(s) == 0)
        return;
    clcnn_device_info info;
    clcnn_context_device_info(s->ctx, &info);
    train_report_note(s->report,
                      "building OpenCL kernels for %s, cached for later runs (the first "
                      "steps wait for it; their time is left out of img/s and the ETA)",
                      info.device_name);
}

/* ---------------------------------------------------------------------- runs */

/* Says where the model of the run went. */
static void announce_saved(train_session *s, size_t epochs_done) {
    const char *path = s->options->save_path;
    char *absolute = realpath(path, NULL);
    const char *shown = absolute != NULL ? absolute : path;
    train_report_checkpoint(s->report, shown);
    train_report_note(s->report,
                      "saved the model after epoch %zu of %zu as %s (optimizer state in "
                      "%s.optim; --eval-only or --resume take it)",
                      epochs_done, s->options->epochs, shown, shown);
    free(absolute);
}

static int run_training(train_session *s) {
    const train_options *o = s->options;
    if (o->resume_path != NULL && s->first_epoch >= o->epochs) {
        train_report_note(s->report,
                          "training is complete: %s holds %zu epochs, --epochs asks for %zu; "
                          "nothing to train (a larger --epochs trains on)",
                          o->resume_path, s->first_epoch, o->epochs);
        return 0;
    }
    if (o->resume_path != NULL)
        train_report_note(s->report, "resuming %s at epoch %zu of %zu", o->resume_path,
                          s->first_epoch + 1, o->epochs);
    train_report_note(s->report, "checkpoint: %s after each epoch (%s)", o->save_path,
                      o->save_origin);
    train_progress progress;
    train_progress_init(&progress, o->json);
    for (size_t epoch = s->first_epoch; epoch < o->epochs; epoch++) {
        epoch_result result;
        memset(&result, 0, sizeof result);
        result.epoch = epoch + 1;
        if (train_epoch(s, epoch, &progress, &result) != 0)
            return 1;
        /* Without --sync-bn each rank's running statistics are its own:
         * evaluate and save rank 0's, as PyTorch's DDP does. */
        clcnn_status status = train_dist_share_running_stats(s->dist);
        if (status != CLCNN_OK)
            return train_fail(s, "sharing the batch-norm statistics", status);
        if (train_evaluate(s, s->net, &result, &result.test_accuracy, &result.test_loss) != 0)
            return 1;
        train_progress_finish_epoch(&progress, &result, o->epochs);
        if (train_report_add(s->report, &result) != 0)
            return 1;
        /* Every rank holds the same model: rank 0 alone writes it. */
        if (s->dist->rank == 0 && train_checkpoint_save(s, epoch + 1) != 0)
            return 1;
    }
    if (s->dist->rank == 0)
        announce_saved(s, o->epochs);
    return 0;
}

/* Says how a data-parallel run splits the work. */
static void announce_ranks(train_session *s) {
    const train_options *o = s->options;
    if (s->dist->size <= 1)
        return;
    train_report_note(s->report,
                      "data-parallel on %zu ranks: global batch %zu (%zu per rank), batch norm "
                      "%s, rank 0 prints and saves",
                      s->dist->size, o->batch, o->batch / s->dist->size,
                      o->sync_bn ? "across ranks (--sync-bn)" : "per rank");
}

/* Evaluates a checkpoint (loaded by create_network) as it is and with
 * batch norm folded. */
static int run_evaluation(train_session *s) {
    epoch_result result, folded_run;
    memset(&result, 0, sizeof result);
    memset(&folded_run, 0, sizeof folded_run);
    if (train_evaluate(s, s->net, &result, &result.test_accuracy, &result.test_loss) != 0)
        return 1;
    clcnn_net *folded = NULL;
    clcnn_status status = clcnn_net_create_folded(s->net, &folded);
    if (status != CLCNN_OK)
        return train_fail(s, "folding batch norm", status);
    double folded_loss = 0.0;
    int failed = train_evaluate(s, folded, &folded_run, &result.folded_accuracy, &folded_loss);
    clcnn_net_destroy(folded);
    if (failed)
        return 1;
    result.kernel_build_seconds += folded_run.kernel_build_seconds;
    result.kernel_load_seconds += folded_run.kernel_load_seconds;
    train_report_evaluation(s->report, &result);
    return train_report_add(s->report, &result);
}

/* Normalises the data with the checkpoint's statistics (--resume,
 * --eval-only) or the training images' own, which must vary. */
static int normalise(train_session *s) {
    const train_options *o = s->options;
    const char *checkpoint = o->eval_path != NULL ? o->eval_path : o->resume_path;
    double mean, std;
    if (checkpoint == NULL && s->data->train.count == 0) {
        fprintf(stderr, "clcnn-train: %s holds no training images\n", o->data_dir);
        return 1;
    }
    if (checkpoint != NULL) {
        if (train_checkpoint_statistics(checkpoint, &mean, &std) != 0)
            return 1;
    } else {
        train_data_statistics(s->data, &mean, &std);
    }
    if (checkpoint == NULL && !(std > 0.0)) {
        fprintf(stderr,
                "clcnn-train: every pixel of the %zu training images in %s has the value %g "
                "(standard deviation 0): there is nothing to learn, and normalising would "
                "divide by zero. Is --data the right data set?\n",
                s->data->train.count, o->data_dir, mean * 255.0);
        return 1;
    }
    train_data_normalise(s->data, mean, std);
    return 0;
}

int train_run(const train_options *options, train_data *data, train_dist *dist) {
    train_session s;
    train_report report;
    memset(&s, 0, sizeof s);
    memset(&report, 0, sizeof report);
    s.options = options;
    s.data = data;
    s.report = &report;
    s.dist = dist;
    if (normalise(&s) != 0)
        return 1;
    int failed = open_session(&s);
    if (!failed)
        failed = train_report_init(&report, &s);
    if (!failed)
        announce_kernel_builds(&s);
    if (!failed)
        announce_ranks(&s);
    if (!failed && options->resume_path != NULL)
        failed = train_checkpoint_resume(&s, options->resume_path);
    if (!failed)
        failed = options->eval_path != NULL ? run_evaluation(&s) : run_training(&s);
    if (!failed)
        failed = train_report_print(&report);
    train_report_free(&report);
    close_session(&s);
    return failed ? 1 : 0;
}
