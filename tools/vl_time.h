/* vl_time.h - seconds on a clock, for the tools that time themselves
 * (schnorr-rate, voucher-synthlog, voucher-reconcile). */
#ifndef VL_TIME_H
#define VL_TIME_H

#include <time.h>

/* The time on clock clk, in seconds: CLOCK_MONOTONIC for wall time,
 * CLOCK_PROCESS_CPUTIME_ID for the CPU time of the whole process (all
 * threads; on a shared machine the wall time says little about the work). */
static inline double vl_seconds(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
