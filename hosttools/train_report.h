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
void train_progress_show(train_progress *progress, size_t epoch, size_t step, size_t steps,
                         float loss, double images_per_second);
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
void train_report_print(train_report *report);
void train_report_free(train_report *report);

#endif
