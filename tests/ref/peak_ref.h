/* Plain double-precision reference of cl/peak.cl's peak_fma_* kernels. */
#ifndef CLCNN_TEST_PEAK_REF_H
#define CLCNN_TEST_PEAK_REF_H

/* Lane `lane` of what work-item `item` writes: the sum over `chains` chains
 * of x after `steps` steps of x = x * scale + offset, chain c starting at
 * (0.25 + 0.001 * (item % 256) + 0.05 * c) * (1 + 0.01 * lane). */
double peak_ref_lane(unsigned item, unsigned lane, unsigned chains, unsigned long steps,
                     double scale, double offset);

#endif
