/* Plain double-precision reference of cl/peak.cl's peak_fma_* kernels: the
 * chains stepped one by one. */
#include "peak_ref.h"

double peak_ref_lane(unsigned item, unsigned lane, unsigned chains, unsigned long steps,
                     double scale, double offset) {
    double sum = 0.0;
    for (unsigned chain = 0; chain < chains; chain++) {
        double x = (0.25 + 0.001 * (double)(item % 256u) + 0.05 * (double)chain) *
                   (1.0 + 0.01 * (double)lane);
        for (unsigned long step = 0; step < steps; step++)
            x = x * scale + offset;
        sum += x;
    }
    return sum;
}
