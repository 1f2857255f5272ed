/* Progress and results of clcnn-train. */
#define _POSIX_C_SOURCE 200809L
#include "train_report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool_json.h"
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
                         float loss, double images_per_second, double eta_seconds) {
    FILE *out = progress_stream(progress);
    char rate[32] = "- img/s", eta[32] = "ETA -";
    if (images_per_second > 0.0)
        snprintf(rate, sizeof rate, "%.0f img/s", images_per_second);
    if (eta_seconds >= 0.0)
        snprintf(eta, sizeof eta, "ETA %.0f s", eta_seconds);
    int width = 30, filled = (int)((double)step / (double)steps * width);
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
    bar[width] = '\0';
    if (progress->terminal)
        fprintf(out, "\repoch %zu [%s] %zu/%zu loss %.4f %s %s  ", epoch + 1, bar, step, steps,
                (double)loss, rate, eta);
    else
        fprintf(out, "epoch %zu step %zu/%zu loss %.4f %s\n", epoch + 1, step, steps, (double)loss,
                rate);
    fflush(out);
    progress->last_step = step;
    progress->last_shown = now_seconds();
}

/* "; X s building OpenCL kernels ..." when there was any. */
static void print_kernel_time(FILE *out, const epoch_result *r) {
    if (r->kernel_build_seconds > 0.0)
        fprintf(out, "; %.1f s building OpenCL kernels (cached for later runs)",
                r->kernel_build_seconds);
    if (r->kernel_load_seconds > 0.0)
        fprintf(out, "; %.1f s loading OpenCL kernels from the cache", r->kernel_load_seconds);
}

void train_progress_finish_epoch(train_progress *progress, const epoch_result *r, size_t epochs) {
    FILE *out = progress_stream(progress);
    if (progress->terminal)
        fputc('\n', out);
    fprintf(out,
            "epoch %zu/%zu: lr %.5f, train loss %.4f, test accuracy %.2f %% (loss %.4f), "
            "%.1f s (%.0f img/s) + %.1f s eval",
            r->epoch, epochs, r->lr, r->train_loss, r->test_accuracy, r->test_loss,
            r->train_seconds, r->images_per_second, r->eval_seconds);
    print_kernel_time(out, r);
    fputc('\n', out);
    fflush(out);
}

int train_report_init(train_report *report, train_session *s) {
    memset(report, 0, sizeof *report);
    report->json = s->options->json;
    clcnn_device_info info;
    clcnn_context_device_info(s->ctx, &info);
    const train_options *o = s->options;
    /* "o" hands epochs over to the document, which report->epochs only
     * borrows ("O" would keep a second reference and leak the array). */
    report->epochs = json_array();
    report->document = json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:b, s:I, s:I, s:f, s:f, s:f, s:s, s:s, s:I, s:I, "
        "s:I}, "
        "s:{s:f, s:f}, s:o}",
        "tool", "clcnn-train", "version", clcnn_version(), "device", "name", info.device_name,
        "platform", info.platform_name, "type", clcnn_device_type_name(info.type), "options",
        "model", train_model_names[o->model], "augment", o->augment, "epochs",
        (json_int_t)o->epochs, "batch", (json_int_t)o->batch, "lr", o->lr, "momentum", o->momentum,
        "weight_decay", o->weight_decay, "optimizer", train_optimizer_names[o->optimizer],
        "schedule", train_schedule_names[o->schedule], "seed", (json_int_t)o->seed, "train_images",
        (json_int_t)s->data->train.count, "test_images", (json_int_t)s->data->test.count, "input",
        "mean", s->data->mean, "std", s->data->std, "epochs", report->epochs);
    if (report->document == NULL) {
        report->epochs = NULL;
        fprintf(stderr, "clcnn-train: out of memory\n");
        return 1;
    }
    if (report->json)
        return 0;
    printf("device: %s (%s, %s); ", info.device_name, info.platform_name,
           clcnn_device_type_name(info.type));
    if (o->eval_path == NULL)
        printf("%zu training and ", s->data->train.count);
    printf("%zu test images; input mean %.4f std %.4f\n", s->data->test.count, s->data->mean,
           s->data->std);
    return 0;
}

int train_report_add(train_report *report, const epoch_result *r) {
    json_t *entry = json_pack(
        "{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "epoch", (json_int_t)r->epoch, "lr",
        tool_json_real(r->lr), "train_loss", tool_json_real(r->train_loss), "train_seconds",
        tool_json_real(r->train_seconds), "images_per_second", tool_json_real(r->images_per_second),
        "test_accuracy", tool_json_real(r->test_accuracy), "test_loss",
        tool_json_real(r->test_loss), "eval_seconds", tool_json_real(r->eval_seconds),
        "kernel_build_seconds", tool_json_real(r->kernel_build_seconds), "kernel_load_seconds",
        tool_json_real(r->kernel_load_seconds));
    if (entry == NULL || json_array_append_new(report->epochs, entry) != 0) {
        fprintf(stderr, "clcnn-train: out of memory\n");
        return 1;
    }
    return 0;
}

void train_report_evaluation(train_report *report, const epoch_result *r) {
    json_object_set_new(report->document, "folded_test_accuracy",
                        tool_json_real(r->folded_accuracy));
    if (report->json)
        return;
    printf("test accuracy %.2f %% (loss %.4f) in %.1f s; with batch norm folded into the "
           "convolutions %.2f %%",
           r->test_accuracy, r->test_loss, r->eval_seconds, r->folded_accuracy);
    print_kernel_time(stdout, r);
    putchar('\n');
}

void train_report_checkpoint(train_report *report, const char *path) {
    json_object_set_new(report->document, "checkpoint", json_string(path));
}

void train_report_note(const train_report *report, const char *format, ...) {
    FILE *out = report->json ? stderr : stdout;
    va_list args;
    va_start(args, format);
    vfprintf(out, format, args);
    va_end(args);
    fputc('\n', out);
    fflush(out);
}

int train_report_print(train_report *report) {
    if (!report->json || report->document == NULL)
        return 0;
    if (tool_json_print(stdout, report->document, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0)
        return 0;
    fprintf(stderr, "clcnn-train: writing the JSON document failed\n");
    return 1;
}

void train_report_free(train_report *report) {
    json_decref(report->document);
    memset(report, 0, sizeof *report);
}
