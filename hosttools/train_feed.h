/* Double-buffered batches for clcnn-train: while the device computes on one
 * batch, the host gathers the next into a second staging buffer and uploads
 * it on the context's upload queue into a second device buffer. */
#ifndef CLCNN_TRAIN_FEED_H
#define CLCNN_TRAIN_FEED_H

#include <clcnn.h>
#include <clcnn/softmax.h>

#include "train_data.h"

/* Device and host buffers of one batch; two per batch size alternate. */
typedef struct feed_slot {
    size_t size;           /* samples the device tensors hold; 0 while unused */
    size_t first_in_batch; /* index of its first sample in the global batch */
    size_t global_size;    /* samples of the global batch it is a share of */
    clcnn_tensor *input;
    clcnn_labels *labels;
    float *host_pixels; /* staging: unchanged until `uploaded` completes */
    int32_t *host_labels;
    clcnn_event *uploaded[2]; /* the pixel and label copies */
    clcnn_event *consumed;    /* marker after the last work that read the slot */
} feed_slot;

typedef struct train_feed {
    clcnn_context *ctx;
    size_t batch;       /* full batch size */
    size_t classes;     /* label range */
    size_t ranks, rank; /* batches are global, this rank takes its share */
    const train_split *split;
    const size_t *order; /* NULL: in sequence */
    size_t next_first;   /* first sample of the batch to prefetch next */
    size_t fetches;      /* batches prefetched since train_feed_begin */
    feed_slot *ready;    /* the prefetched batch, or NULL */
    feed_slot slots[4];  /* [0,1] full batches, [2,3] a partial last batch */
} train_feed;

/* Prepares a feed of `batch`-sized batches (labels in [0, classes)). */
void train_feed_init(train_feed *feed, clcnn_context *ctx, size_t batch, size_t classes);

/* From the next train_feed_begin on, every batch is a global batch of which
 * this rank takes its share (clcnn_dist_split's), and a last global batch of
 * fewer samples than ranks is left out; ranks 1 (the default): whole
 * batches. */
void train_feed_share(train_feed *feed, size_t ranks, size_t rank);

/* The batches a pass over `count` samples gives. */
size_t train_feed_steps(const train_feed *feed, size_t count);
void train_feed_free(train_feed *feed);

/* Starts a pass over split in `order` (NULL: in sequence; kept by the caller
 * until the pass ends) and uploads its first batch. */
clcnn_status train_feed_begin(train_feed *feed, const train_split *split, const size_t *order);

/* The next batch: work enqueued from now on waits for its upload. *out stays
 * valid until train_feed_release. Its host_labels hold the batch's labels. */
clcnn_status train_feed_next(train_feed *feed, feed_slot **out);

/* Call after enqueueing all work that reads the batch from train_feed_next:
 * marks the slot's last use and uploads the batch after it. */
clcnn_status train_feed_release(train_feed *feed, feed_slot *slot);

#endif
