/* What clcnn-train shows: a progress bar on a terminal (plain lines
 * otherwise), a line per epoch, and with --json one JSON document. */
#ifndef CLCNN_TRAIN_REPORT_H
#define CLCNN_TRAIN_REPORT_H

#include <jansson.h>
#include <stddef.h>

struct train_session;

typedef struct epoch_result {
    size_t epoch; /* 1-based; 0 for an evaluation of a checkpoint */
    double lr, train_loss, train_seconds, images_per_second;
    double test_accuracy, test_loss, eval_seconds;
    double folded_accuracy; /* evaluation only */
    /* Compiling OpenCL kernels (a first run on a device) and loading them
     * from the disk cache: kept out of train_seconds, eval_seconds and
     * images_per_second. */
    double kernel_build_seconds, kernel_load_seconds;
} epoch_result;

typedef struct train_progress {
    int terminal; /* redraw one line with \r */
    int quiet;    /* --json: progress goes to stderr */
    size_t last_step;
    double last_shown;
    double epoch_start;
} train_progress;

void train_progress_init(train_progress *progress, int json);
void train_progress_start_epoch(train_progress *progress);
/* Whether to collect losses and redraw at this step. */
int train_progress_due(train_progress *progress, size_t step, size_t steps);
/* images_per_second 0 and eta_seconds < 0: not known yet. */
void train_progress_show(train_progress *progress, size_t epoch, size_t step, size_t steps,
                         float loss, double images_per_second, double eta_seconds);
void train_progress_finish_epoch(train_progress *progress, const epoch_result *result,
                                 size_t epochs);

typedef struct train_report {
    int json;
    json_t *document;
    json_t *epochs;
} train_report;

int train_report_init(train_report *report, struct train_session *session);
int train_report_add(train_report *report, const epoch_result *result);
void train_report_evaluation(train_report *report, const epoch_result *result);
/* Records the checkpoint a run saved (its absolute path) as "checkpoint". */
void train_report_checkpoint(train_report *report, const char *path);
/* A line for the user: on stdout, or on stderr with --json (stdout then
 * holds only the JSON document). */
void train_report_note(const train_report *report, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints the JSON document (--json); 0 on success. */
int train_report_print(train_report *report);
void train_report_free(train_report *report);

#endif
