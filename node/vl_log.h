/* vl_log.h - the daemon's log: stderr, one event per line.
 *
 *   2026-11-27T00:00:00.123Z info node=node1 event=ready key=value ...
 *
 * Time is UTC with milliseconds; the level is debug, info, warn or error;
 * then node=<id> and event=<name>; then the event's own key=value pairs.
 * A value that may hold spaces or quotes is written with vl_log_quote.
 * Each line is formatted into one buffer and written with one write(2), so
 * lines of the main thread and of the ZAP thread never interleave (a line
 * is cut at VL_LOG_LINE_MAX bytes).  Thread-safe after vl_log_init.
 */
#ifndef VL_LOG_H
#define VL_LOG_H

#include <stdbool.h>
#include <stddef.h>

#define VL_LOG_LINE_MAX 2048

typedef enum {
    VL_LOG_DEBUG = 0,
    VL_LOG_INFO = 1,
    VL_LOG_WARN = 2,
    VL_LOG_ERROR = 3,
} vl_log_level;

/* Set the node id shown on every line (copied; "-" until called) and the
 * lowest level written.  Call before starting other threads. */
void vl_log_init(const char *node_id, vl_log_level min_level);

/* Parse "debug", "info", "warn" or "error".  0 on success, -1 otherwise. */
int vl_log_level_parse(const char *text, vl_log_level *out);

/* Whether a line at this level would be written. */
bool vl_log_enabled(vl_log_level level);

/* Write one line: the prefix, event=<event>, then fmt's key=value pairs
 * (fmt may be NULL or empty). */
void vl_log(vl_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Write s into buf (cap bytes) as a double-quoted log value: '"' and '\'
 * escaped, control bytes as '?', cut to fit.  Returns buf. */
const char *vl_log_quote(char *buf, size_t cap, const char *s);

#endif
