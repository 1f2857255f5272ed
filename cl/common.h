/* Device code shared by every program: included with #include "common.h"
 * and expanded by the runtime (the sources are embedded in the library). */
#ifndef CLCNN_CL_COMMON_H
#define CLCNN_CL_COMMON_H

/* Work-group size hint for kernels launched with a fixed 1-D local size. */
#ifndef CLCNN_WG_SIZE
#define CLCNN_WG_SIZE 64
#endif

/* Global index of a 1-D launch whose global size was rounded up to a whole
 * number of work-groups: callers return when it is past the data. */
#define CLCNN_GLOBAL_ID0() ((uint)get_global_id(0))

#endif
