/* JSON output of the host tools: numbers in their shortest round-trip form
 * (0.05, not jansson's 0.050000000000000003), for every document a tool
 * writes. */
#ifndef CLCNN_TOOL_JSON_H
#define CLCNN_TOOL_JSON_H

#include <jansson.h>
#include <stdio.h>

/* json_dumps(json, flags) with every real written as the shortest decimal
 * that reads back as the same double (and still as a real: "1.0", not
 * "1"). flags must not hold JSON_REAL_PRECISION. The caller frees the text;
 * NULL when out of memory. */
char *tool_json_dumps(const json_t *json, size_t flags);

/* Writes the document and a line break to `out`; 0 on success. */
int tool_json_print(FILE *out, const json_t *json, size_t flags);

/* json_real, but JSON null for a NaN or an infinity (which JSON cannot
 * hold, and for which json_real returns NULL). */
json_t *tool_json_real(double value);

#endif
