/* Progress and results of clcnn-train. */
#define _POSIX_C_SOURCE 200809L
#include "train_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "train_session.h"

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void train_progress_init(train_progress *progress, int json) {
    memset(progress, 0, sizeof *progress);
    progress->quiet = json;
    progress->terminal = isatty(json ? STDERR_FILENO : STDOUT_FILENO);
    progress->last_shown = now_seconds();
}

static FILE *progress_stream(const train_progress *progress) {
    return progress->quiet ? stderr : stdout;
}

/* On a terminal: about 4 redraws a second; otherwise a line every tenth of
 * an epoch. */
void train_progress_start_epoch(train_progress *progress) {
    progress->epoch_start = now_seconds();
}

int train_progress_due(train_progress *progress, size_t step, size_t steps) {
    if (step == steps)
        return 1;
    if (progress->terminal)
        return now_seconds() - progress->last_shown >= 0.25;
    return step * 10 / steps != (step - 1) * 10 / steps;
}

void train_progress_show(train_progress *progress, size_t epoch, size_t step, size_t steps,
                         float loss, double images_per_second) {
    FILE *out = progress_stream(progress);
    double elapsed_fraction = (double)step / (double)steps;
    double elapsed = now_seconds() - progress->epoch_start;
    double eta = elapsed / (double)step * (double)(steps - step);
    int width = 30, filled = (int)(elapsed_fraction * width);
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
    bar[width] = '\0';
    if (progress->terminal)
        fprintf(out, "\repoch %zu [%s] %zu/%zu loss %.4f %.0f img/s ETA %.0f s  ", epoch + 1, bar,
                step, steps, (double)loss, images_per_second, eta);
    else
        fprintf(out, "epoch %zu step %zu/%zu loss %.4f %.0f img/s\n", epoch + 1, step, steps,
                (double)loss, images_per_second);
    fflush(out);
    progress->last_step = step;
    progress->last_shown = now_seconds();
}

void train_progress_finish_epoch(train_progress *progress, const epoch_result *r, size_t epochs) {
    FILE *out = progress_stream(progress);
    if (progress->terminal)
        fputc('\n', out);
    fprintf(out,
            "epoch %zu/%zu: lr %.5f, train loss %.4f, test accuracy %.2f %% (loss %.4f), "
            "%.1f s (%.0f img/s) + %.1f s eval\n",
            r->epoch, epochs, r->lr, r->train_loss, r->test_accuracy, r->test_loss,
            r->train_seconds, r->images_per_second, r->eval_seconds);
    fflush(out);
}

int train_report_init(train_report *report, train_session *s) {
    memset(report, 0, sizeof *report);
    report->json = s->options->json;
    clcnn_device_info info;
    clcnn_context_device_info(s->ctx, &info);
    const train_options *o = s->options;
    static const char *const optimizers[] = {"sgd", "nesterov", "adam", "adamw"};
    static const char *const schedules[] = {"cosine", "step", "constant"};
    report->epochs = json_array();
    report->document = json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:I, s:I, s:f, s:f, s:f, s:s, s:s, s:I, s:I, s:I}, "
        "s:{s:f, s:f}, s:O}",
        "tool", "clcnn-train", "version", clcnn_version(), "device", "name", info.device_name,
        "platform", info.platform_name, "type", clcnn_device_type_name(info.type), "options",
        "epochs", (json_int_t)o->epochs, "batch", (json_int_t)o->batch, "lr", o->lr, "momentum",
        o->momentum, "weight_decay", o->weight_decay, "optimizer", optimizers[o->optimizer],
        "schedule", schedules[o->schedule], "seed", (json_int_t)o->seed, "train_images",
        (json_int_t)s->data->train.count, "test_images", (json_int_t)s->data->test.count, "input",
        "mean", s->data->mean, "std", s->data->std, "epochs", report->epochs);
    if (report->document == NULL) {
        fprintf(stderr, "clcnn-train: out of memory\n");
        return 1;
    }
    if (!report->json)
        printf("device: %s (%s, %s); %zu training and %zu test images; input mean %.4f std "
               "%.4f\n",
               info.device_name, info.platform_name, clcnn_device_type_name(info.type),
               s->data->train.count, s->data->test.count, s->data->mean, s->data->std);
    return 0;
}

int train_report_add(train_report *report, const epoch_result *r) {
    json_t *entry =
        json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "epoch", (json_int_t)r->epoch, "lr",
                  r->lr, "train_loss", r->train_loss, "train_seconds", r->train_seconds,
                  "images_per_second", r->images_per_second, "test_accuracy", r->test_accuracy,
                  "test_loss", r->test_loss, "eval_seconds", r->eval_seconds);
    if (entry == NULL || json_array_append_new(report->epochs, entry) != 0) {
        fprintf(stderr, "clcnn-train: out of memory\n");
        return 1;
    }
    return 0;
}

void train_report_evaluation(train_report *report, const epoch_result *r) {
    json_object_set_new(report->document, "folded_test_accuracy", json_real(r->folded_accuracy));
    if (!report->json)
        printf("test accuracy %.2f %% (loss %.4f) in %.1f s; with batch norm folded into the "
               "convolutions %.2f %%\n",
               r->test_accuracy, r->test_loss, r->eval_seconds, r->folded_accuracy);
}

void train_report_print(train_report *report) {
    if (!report->json || report->document == NULL)
        return;
    char *text = json_dumps(report->document, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text != NULL)
        printf("%s\n", text);
    free(text);
}

void train_report_free(train_report *report) {
    json_decref(report->document);
    memset(report, 0, sizeof *report);
}
