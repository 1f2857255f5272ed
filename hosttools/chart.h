/* clcnn-chart's chart: speed ratios by benchmark and device, read from
 * clcnn-bench --json documents (clcnn_chart.c) and drawn as SVG
 * (chart_svg.c). */
#ifndef CLCNN_CHART_H
#define CLCNN_CHART_H

#include <stddef.h>
#include <stdio.h>

#define MAX_DEVICES 16
#define MAX_BENCHMARKS 128
#define NAME_MAX_CHARS 128
#define LABEL_MAX_CHARS 256
#define SOURCE_MAX_CHARS 512

typedef struct chart_device {
    char label[LABEL_MAX_CHARS];
    char reference[SOURCE_MAX_CHARS]; /* ref_source of its first referenced result */
} chart_device;

/* Speed ratios by benchmark (rows, in first-seen order) and device; NAN
 * where a device has no referenced result of that name. */
typedef struct chart {
    chart_device devices[MAX_DEVICES];
    size_t device_count;
    char benchmarks[MAX_BENCHMARKS][NAME_MAX_CHARS];
    size_t benchmark_count;
    double ratio[MAX_BENCHMARKS][MAX_DEVICES];
    const char *title;
    char subtitle[MAX_DEVICES * (LABEL_MAX_CHARS + 8)]; /* "on A, B and C" */
    double width;
} chart;

/* Writes the chart as an SVG 1.1 document (sizes the header first); 0, or
 * -1 when writing failed. */
int chart_write_svg(FILE *out, chart *c);

#endif
