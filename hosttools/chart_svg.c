/* clcnn-chart's drawing: the chart as a plain SVG 1.1 document (no scripts,
 * no external files), one bar per device and benchmark from the line at 1
 * on a log scale, benchmark names left of the plot, a legend of devices and
 * their references above it. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "chart.h"

/* Layout, in pixels. */
#define MIN_WIDTH 860.0   /* wider when a title or legend line needs it */
#define CHAR_WIDTH 0.62   /* of the font size: a generous sans-serif average */
#define LABEL_WIDTH 200.0 /* benchmark names, left of the plot */
#define RIGHT_MARGIN 30.0
#define TOP_TEXT 28.0 /* title baseline */
#define LINE_HEIGHT 16.0
#define NOTE_HEIGHT 13.0 /* a device's reference line in the legend */
#define BAR_HEIGHT 12.0
#define BAR_GAP 2.0
#define GROUP_GAP 10.0
#define AXIS_SPACE 52.0 /* tick labels and the axis caption under the plot */

static const char *const palette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                      "#76b7b2", "#b07aa1", "#9c755f", "#edc948"};
#define PALETTE_SIZE (sizeof palette / sizeof palette[0])

/* Text content or attribute value, XML-escaped; control bytes become '?'. */
static void svg_text(FILE *out, const char *text) {
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        default:
            fputc(*p < 0x20 ? '?' : (int)*p, out);
        }
    }
}

/* The plot's horizontal scale: log10 of the ratio, whole decades. */
typedef struct axis {
    double left, right; /* pixels */
    int low, high;      /* decades: 10^low .. 10^high */
} axis;

static double axis_x(const axis *a, double ratio) {
    return a->left + (log10(ratio) - a->low) / (a->high - a->low) * (a->right - a->left);
}

/* Decades covering every ratio and 1, with room for a value label beyond
 * the longest bars. */
static axis make_axis(const chart *c) {
    double low = 1.0, high = 1.0;
    for (size_t b = 0; b < c->benchmark_count; b++)
        for (size_t d = 0; d < c->device_count; d++) {
            double r = c->ratio[b][d];
            if (isnan(r))
                continue;
            low = r < low ? r : low;
            high = r > high ? r : high;
        }
    axis a = {LABEL_WIDTH, c->width - RIGHT_MARGIN, 0, 0};
    a.low = (int)floor(log10(low / 2.5));
    a.high = (int)ceil(log10(high * 2.5));
    return a;
}

static void format_ratio(double ratio, char *buffer, size_t size) {
    snprintf(buffer, size, ratio >= 100.0 ? "%.0f\xc3\x97" : "%.3g\xc3\x97", ratio);
}

/* Lines at 1, 2 and 5 times each power of ten (2 and 5 unlabelled when
 * many decades would crowd the labels) and a bold one at 1. */
static void draw_grid(FILE *out, const axis *a, double top, double bottom) {
    static const double steps[] = {1.0, 2.0, 5.0};
    int label_minor = a->high - a->low <= 4;
    for (int decade = a->low; decade <= a->high; decade++)
        for (size_t i = 0; i < 3; i++) {
            double value = steps[i] * pow(10.0, decade);
            if (decade == a->high && i > 0)
                break;
            double x = axis_x(a, value);
            int major = i == 0;
            fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
                    x, top, x, bottom, major ? "#c8c8c8" : "#ececec");
            if (!major && !label_minor)
                continue;
            char label[32];
            format_ratio(value, label, sizeof label);
            fprintf(out,
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\""
                    " fill=\"%s\">%s</text>\n",
                    x, bottom + 13.0, major ? "#333" : "#888", label);
        }
    double one = axis_x(a, 1.0);
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#222\""
            " stroke-width=\"1.5\"/>\n",
            one, top - 4.0, one, bottom);
    fprintf(out,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\">"
            "reference time / libclcnn time (log scale): right of the line at 1 is faster "
            "than the reference</text>\n",
            (a->left + a->right) / 2.0, bottom + 32.0);
}

static void draw_bar(FILE *out, const chart *c, const axis *a, size_t b, size_t d, double y) {
    double ratio = c->ratio[b][d];
    double one = axis_x(a, 1.0), x = axis_x(a, ratio);
    double start = x < one ? x : one, width = fabs(x - one);
    if (width < 1.0)
        width = 1.0;
    char value[32];
    format_ratio(ratio, value, sizeof value);
    fprintf(out,
            "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\""
            " fill=\"%s\"><title>",
            start, y, width, BAR_HEIGHT, palette[d % PALETTE_SIZE]);
    svg_text(out, c->benchmarks[b]);
    fputs(" on ", out);
    svg_text(out, c->devices[d].label);
    fprintf(out, ": %s</title></rect>\n", value);
    int right = ratio >= 1.0;
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"%s\">%s</text>\n",
            right ? start + width + 3.0 : start - 3.0, y + BAR_HEIGHT - 2.0,
            right ? "start" : "end", value);
}

static double group_height(const chart *c) {
    return (double)c->device_count * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP;
}

/* A light band behind every other benchmark. */
static void draw_stripes(FILE *out, const chart *c, double top) {
    double height = group_height(c);
    for (size_t b = 1; b < c->benchmark_count; b += 2)
        fprintf(out, "<rect x=\"4\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f4f4f4\"/>\n",
                top + (double)b * height - GROUP_GAP / 2.0, c->width - 8.0, height);
}

static void draw_bars(FILE *out, const chart *c, const axis *a, double top) {
    double height = group_height(c);
    for (size_t b = 0; b < c->benchmark_count; b++) {
        double y = top + (double)b * height;
        fprintf(out,
                "<text class=\"benchmark\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\""
                " font-size=\"12\">",
                LABEL_WIDTH - 10.0, y + (height - GROUP_GAP) / 2.0 + 4.0);
        svg_text(out, c->benchmarks[b]);
        fputs("</text>\n", out);
        for (size_t d = 0; d < c->device_count; d++)
            if (!isnan(c->ratio[b][d]))
                draw_bar(out, c, a, b, d, y + (double)d * (BAR_HEIGHT + BAR_GAP));
    }
}

#define DEFAULT_TITLE "libclcnn speed relative to the reference"
#define REFERENCE_PREFIX "reference: "

/* Width of a line of text, estimated (UTF-8 continuation bytes skipped). */
static double text_width(const char *text, double font_size) {
    size_t characters = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
        characters += (*p & 0xc0) != 0x80;
    return (double)characters * font_size * CHAR_WIDTH;
}

/* Fills the subtitle and the width that every header line fits in. */
static void layout_header(chart *c) {
    size_t used = (size_t)snprintf(c->subtitle, sizeof c->subtitle, "on ");
    for (size_t d = 0; d < c->device_count && used < sizeof c->subtitle; d++)
        used += (size_t)snprintf(c->subtitle + used, sizeof c->subtitle - used, "%s%s",
                                 d == 0                     ? ""
                                 : d + 1 == c->device_count ? " and "
                                                            : ", ",
                                 c->devices[d].label);
    double width = MIN_WIDTH;
    double lines[] = {12.0 + text_width(c->title != NULL ? c->title : DEFAULT_TITLE, 16.0) * 1.1,
                      12.0 + text_width(c->subtitle, 12.0)};
    for (size_t i = 0; i < 2; i++)
        width = lines[i] + 12.0 > width ? lines[i] + 12.0 : width;
    for (size_t d = 0; d < c->device_count; d++) {
        double label = 30.0 + text_width(c->devices[d].label, 12.0);
        double note =
            30.0 + text_width(REFERENCE_PREFIX, 10.0) + text_width(c->devices[d].reference, 10.0);
        width = label + 12.0 > width ? label + 12.0 : width;
        width = note + 12.0 > width ? note + 12.0 : width;
    }
    c->width = ceil(width);
}

/* The y where the plot starts, under the title and the legend. */
static double header_height(const chart *c) {
    double height = TOP_TEXT + 18.0 + 8.0;
    for (size_t d = 0; d < c->device_count; d++)
        height += LINE_HEIGHT + (c->devices[d].reference[0] != '\0' ? NOTE_HEIGHT : 0.0);
    return height + 16.0;
}

/* The title and the devices, then one legend entry per device: its colour,
 * its name and the reference it is compared with. */
static void draw_header(FILE *out, const chart *c) {
    fprintf(out, "<text x=\"12\" y=\"%.1f\" font-size=\"16\" font-weight=\"bold\">", TOP_TEXT);
    svg_text(out, c->title != NULL ? c->title : DEFAULT_TITLE);
    fprintf(out, "</text>\n<text x=\"12\" y=\"%.1f\" font-size=\"12\">", TOP_TEXT + 18.0);
    svg_text(out, c->subtitle);
    fputs("</text>\n", out);
    double y = TOP_TEXT + 18.0 + 8.0;
    for (size_t d = 0; d < c->device_count; d++) {
        fprintf(out, "<rect x=\"12\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", y,
                palette[d % PALETTE_SIZE]);
        fprintf(out, "<text x=\"30\" y=\"%.1f\" font-size=\"12\">", y + 10.0);
        svg_text(out, c->devices[d].label);
        fputs("</text>\n", out);
        y += LINE_HEIGHT;
        if (c->devices[d].reference[0] == '\0')
            continue;
        fprintf(out, "<text x=\"30\" y=\"%.1f\" font-size=\"10\" fill=\"#555\">%s", y + 7.0,
                REFERENCE_PREFIX);
        svg_text(out, c->devices[d].reference);
        fputs("</text>\n", out);
        y += NOTE_HEIGHT;
    }
}

int chart_write_svg(FILE *out, chart *c) {
    layout_header(c);
    axis a = make_axis(c);
    double top = header_height(c);
    double bottom = top + (double)c->benchmark_count * group_height(c);
    double height = bottom + AXIS_SPACE;
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\""
            " height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n"
            "<title>",
            c->width, height, c->width, height);
    svg_text(out, c->title != NULL ? c->title : DEFAULT_TITLE);
    fputs("</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n", out);
    draw_header(out, c);
    draw_stripes(out, c, top);
    draw_grid(out, &a, top - GROUP_GAP / 2.0, bottom - GROUP_GAP / 2.0);
    draw_bars(out, c, &a, top);
    fputs("</svg>\n", out);
    return ferror(out) ? -1 : 0;
}
