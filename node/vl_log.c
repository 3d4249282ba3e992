/* vl_log.c - see vl_log.h. */
#include "vl_log.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vl_limits.h"

static char log_node[VL_MAX_ID_LEN + 1] = "-";
static vl_log_level log_min = VL_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void vl_log_init(const char *node_id, vl_log_level min_level)
{
    assert(node_id != NULL && min_level <= VL_LOG_ERROR);
    snprintf(log_node, sizeof log_node, "%s", node_id[0] != '\0' ? node_id : "-");
    log_min = min_level;
}

int vl_log_level_parse(const char *text, vl_log_level *out)
{
    for (unsigned i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *out = (vl_log_level)i;
            return 0;
        }
    }
    return -1;
}

bool vl_log_enabled(vl_log_level level)
{
    return level >= log_min;
}

/* "2026-11-27T00:00:00.123Z" into out (at least 32 bytes). */
static void format_time(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

void vl_log(vl_log_level level, const char *event, const char *fmt, ...)
{
    assert(level <= VL_LOG_ERROR && event != NULL);
    if (!vl_log_enabled(level))
        return;
    char line[VL_LOG_LINE_MAX], when[40];
    format_time(when, sizeof when);
    int n = snprintf(line, sizeof line, "%s %s node=%s event=%s", when, level_names[level],
                     log_node, event);
    size_t used = n < 0 ? 0 : (size_t)n;
    if (fmt != NULL && fmt[0] != '\0' && used + 2 < sizeof line) {
        line[used++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        n = vsnprintf(line + used, sizeof line - used, fmt, ap);
        va_end(ap);
        used += n < 0 ? 0 : (size_t)n;
    }
    if (used > sizeof line - 2)
        used = sizeof line - 2; /* cut: keep room for the newline */
    line[used++] = '\n';
    /* One write per line (stderr is unbuffered): lines never interleave.
     * A failed log write has nowhere to be reported. */
    ssize_t w = write(STDERR_FILENO, line, used);
    (void)w;
}

const char *vl_log_quote(char *buf, size_t cap, const char *s)
{
    assert(buf != NULL && cap >= 3);
    size_t o = 0;
    buf[o++] = '"';
    for (const char *p = s != NULL ? s : ""; *p != '\0' && o + 3 < cap; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\')
            buf[o++] = '\\';
        buf[o++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
