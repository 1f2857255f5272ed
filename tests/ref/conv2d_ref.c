/* Plain double-precision reference of conv2d (see conv2d_ref.h). Each pass
 * loops over every (n, k, oh, ow, c, r, s) term of the convolution sum and
 * adds the term where that pass needs it. */
#include "ref/conv2d_ref.h"

int conv2d_ref_complete(conv2d_ref_shape *s) {
    size_t reach_h = s->dilation_h * (s->kh - 1), reach_w = s->dilation_w * (s->kw - 1);
    if (s->h + 2 * s->pad_h <= reach_h || s->w + 2 * s->pad_w <= reach_w)
        return 0;
    s->ho = (s->h + 2 * s->pad_h - reach_h - 1) / s->stride_h + 1;
    s->wo = (s->w + 2 * s->pad_w - reach_w - 1) / s->stride_w + 1;
    return 1;
}

size_t conv2d_ref_x_count(const conv2d_ref_shape *s) {
    return s->n * s->c * s->h * s->w;
}

size_t conv2d_ref_w_count(const conv2d_ref_shape *s) {
    return s->k * (s->c / s->groups) * s->kh * s->kw;
}

size_t conv2d_ref_y_count(const conv2d_ref_shape *s) {
    return s->n * s->k * s->ho * s->wo;
}

/* The pass a term feeds. */
enum { TERM_FORWARD, TERM_DATA, TERM_WEIGHTS };

/* Visits every term y[n,k,oh,ow] <- w[k,c,r,s] * x[n,g*cg+c,ih,iw] with the
 * input position inside the image, and accumulates it for `pass`. */
static void for_each_term(const conv2d_ref_shape *s, int pass, const double *a, const double *b,
                          double *out) {
    size_t cg = s->c / s->groups, kg = s->k / s->groups;
    for (size_t n = 0; n < s->n; n++)
        for (size_t k = 0; k < s->k; k++)
            for (size_t oh = 0; oh < s->ho; oh++)
                for (size_t ow = 0; ow < s->wo; ow++)
                    for (size_t c = 0; c < cg; c++)
                        for (size_t r = 0; r < s->kh; r++)
                            for (size_t q = 0; q < s->kw; q++) {
                                long ih =
                                    (long)(oh * s->stride_h + r * s->dilation_h) - (long)s->pad_h;
                                long iw =
                                    (long)(ow * s->stride_w + q * s->dilation_w) - (long)s->pad_w;
                                if (ih < 0 || iw < 0 || ih >= (long)s->h || iw >= (long)s->w)
                                    continue;
                                size_t channel = (k / kg) * cg + c;
                                size_t xi =
                                    ((n * s->c + channel) * s->h + (size_t)ih) * s->w + (size_t)iw;
                                size_t wi = ((k * cg + c) * s->kh + r) * s->kw + q;
                                size_t yi = ((n * s->k + k) * s->ho + oh) * s->wo + ow;
                                if (pass == TERM_FORWARD) /* a = x, b = w */
                                    out[yi] += a[xi] * b[wi];
                                else if (pass == TERM_DATA) /* a = dy, b = w */
                                    out[xi] += a[yi] * b[wi];
                                else /* a = x, b = dy */
                                    out[wi] += a[xi] * b[yi];
                            }
}

void conv2d_ref_forward(const conv2d_ref_shape *s, const double *x, const double *w,
                        const double *b, double *y) {
    size_t plane = s->ho * s->wo;
    for (size_t n = 0; n < s->n; n++)
        for (size_t k = 0; k < s->k; k++)
            for (size_t i = 0; i < plane; i++)
                y[(n * s->k + k) * plane + i] = b != NULL ? b[k] : 0.0;
    for_each_term(s, TERM_FORWARD, x, w, y);
}

void conv2d_ref_backward_data(const conv2d_ref_shape *s, const double *dy, const double *w,
                              double *dx) {
    for (size_t i = 0; i < conv2d_ref_x_count(s); i++)
        dx[i] = 0.0;
    for_each_term(s, TERM_DATA, dy, w, dx);
}

void conv2d_ref_backward_weights(const conv2d_ref_shape *s, const double *x, const double *dy,
                                 double *dw) {
    for (size_t i = 0; i < conv2d_ref_w_count(s); i++)
        dw[i] = 0.0;
    for_each_term(s, TERM_WEIGHTS, x, dy, dw);
}

void conv2d_ref_backward_bias(const conv2d_ref_shape *s, const double *dy, double *db) {
    size_t plane = s->ho * s->wo;
    for (size_t k = 0; k < s->k; k++) {
        db[k] = 0.0;
        for (size_t n = 0; n < s->n; n++)
            for (size_t i = 0; i < plane; i++)
                db[k] += dy[(n * s->k + k) * plane + i];
    }
}
