/* reconcile_report.c - voucher-reconcile's CSV and HTML renderers
 * (reconcile_report.h holds the report's schema; docs/reconcile-report.md
 * shows what each table and chart means to its reader).
 *
 * Design notes
 *  1. The renderers read only the JSON report, never the ledger: an auditor
 *     re-renders a saved report and gets the same files.  The report is
 *     input like any other: a member of the wrong type, a negative amount
 *     or a table above VR_MAX_ROWS is an error naming the member
 *     ("issuers[3].budget_fen: ..."), never a crash.  An absent member is
 *     an empty cell (CSV) or zero (charts): a report of an empty network
 *     has no tables at all.
 *  2. Money stays an integer count of fen up to the text: yuan are printed
 *     from the integer (fen / 100 and fen % 100), never through a double.
 *     Sums are checked for overflow.  Doubles are used only for geometry.
 *  3. Every file is written to NAME.tmp and renamed: a failed run leaves
 *     the previous file or none, never half of one.
 *  4. CSV: RFC 4180 (CRLF, a header row, fields with a comma, quote, CR or
 *     LF quoted, quotes doubled).  Every `X_fen` column is followed by
 *     `X_yuan` (exact, two decimals) and every region code by its
 *     province's name.  Nested lists are flattened: one row per element,
 *     led by the columns of the element that holds it.
 *  5. HTML: one file, inline CSS and inline SVG drawn here; no script, and
 *     a Content-Security-Policy that forbids fetching anything, so the page
 *     looks the same offline.  Every string from the report is escaped.
 *     The output is bounded whatever the report's size: charts show the
 *     largest VR_CHART_* items (the rest summed as "other" where a sum
 *     means something), tables show VR_HTML_ROWS rows and say how many
 *     more are in which CSV file.
 *  6. Geometry never divides by zero: a scale is computed only from a
 *     positive maximum, otherwise the chart says it has nothing to show.
 */
#include "reconcile_report.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Rows accepted per table (a report of a ten-year national network has
 * fewer; more means the file is not a report). */
#define VR_MAX_ROWS 10000000
/* Rows of one table shown in the HTML page; the CSV has them all. */
#define VR_HTML_ROWS 100
/* Regions of the settlement matrix: rows (issuer regions) and columns
 * (provider regions, as many as fit the page's width); of the flow chart,
 * per side. */
#define VR_MATRIX_ROWS 30
#define VR_MATRIX_COLS 7
#define VR_FLOW_REGIONS 12
/* Data centers and months in the utilization chart. */
#define VR_CHART_PROVIDERS 8
#define VR_CHART_MONTHS 24
/* Issuers in the budget chart. */
#define VR_CHART_ISSUERS 30
/* Characters of a label in a chart before it is cut with an ellipsis. */
#define VR_LABEL_CHARS 30

/* ---------------------------------------------------------------------
 * Reading the report: the first error wins and names the member.
 */
typedef struct {
    char *err;
    size_t cap;
    bool bad;
    char where[96]; /* "issuers[3]" while a row is read */
} rr;

__attribute__((format(printf, 2, 3))) static void rr_fail(rr *c, const char *fmt, ...)
{
    if (c->bad)
        return;
    c->bad = true;
    if (c->cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->cap, fmt, ap);
    va_end(ap);
}

/* Names the member being read, for the error messages (cut if long). */
__attribute__((format(printf, 2, 3))) static void set_where(rr *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->where, sizeof c->where, fmt, ap);
    va_end(ap);
}

static const char *prefix(const rr *c)
{
    return c->where[0] != '\0' ? c->where : "report";
}

/* `key` may be "a.b": member b of object member a (null a: absent). */
static const json_t *member(const json_t *o, const char *key)
{
    const char *dot = strchr(key, '.');
    if (!json_is_object(o))
        return NULL;
    if (dot == NULL)
        return json_object_get(o, key);
    char head[64];
    size_t n = (size_t)(dot - key);
    assert(n < sizeof head);
    memcpy(head, key, n);
    head[n] = '\0';
    return member(json_object_get(o, head), dot + 1);
}

/* A string member, "" when absent or null. */
static const char *gstr(rr *c, const json_t *o, const char *key)
{
    const json_t *v = member(o, key);
    if (v == NULL || json_is_null(v))
        return "";
    if (!json_is_string(v)) {
        rr_fail(c, "%s.%s: not a string", prefix(c), key);
        return "";
    }
    return json_string_value(v);
}

/* An amount or count: an integer >= 0; 0 when absent or null. */
static uint64_t gint(rr *c, const json_t *o, const char *key)
{
    const json_t *v = member(o, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        rr_fail(c, "%s.%s: not an integer >= 0", prefix(c), key);
        return 0;
    }
    return (uint64_t)json_integer_value(v);
}

/* A quantity such as GPU-hours: a finite number >= 0; 0 when absent. */
static double gnum(rr *c, const json_t *o, const char *key)
{
    const json_t *v = member(o, key);
    if (v == NULL || json_is_null(v))
        return 0;
    double d = json_is_number(v) ? json_number_value(v) : -1;
    if (!(d >= 0) || !isfinite(d)) {
        rr_fail(c, "%s.%s: not a number >= 0", prefix(c), key);
        return 0;
    }
    return d;
}

/* A table: an array (NULL when absent or null) of at most VR_MAX_ROWS. */
static const json_t *garr(rr *c, const json_t *o, const char *key)
{
    const json_t *v = member(o, key);
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_array(v)) {
        rr_fail(c, "%s.%s: not an array", prefix(c), key);
        return NULL;
    }
    if (json_array_size(v) > VR_MAX_ROWS) {
        rr_fail(c, "%s.%s: %zu rows, more than %d", prefix(c), key, json_array_size(v),
                VR_MAX_ROWS);
        return NULL;
    }
    return v;
}

/* Row i of table `name`, which must be an object; sets the error prefix. */
static const json_t *grow(rr *c, const json_t *arr, size_t i, const char *name)
{
    const json_t *row = json_array_get(arr, i);
    set_where(c, "%s[%zu]", name, i);
    if (!json_is_object(row)) {
        rr_fail(c, "%s: not an object", c->where);
        return NULL;
    }
    return row;
}

static uint64_t add_fen(rr *c, uint64_t a, uint64_t b)
{
    uint64_t s;
    if (__builtin_add_overflow(a, b, &s)) {
        rr_fail(c, "%s: amounts add up to more than 2^64 fen", prefix(c));
        return a;
    }
    return s;
}

/* ---------------------------------------------------------------------
 * Words: yuan, province names.
 */

/* "1,234,567.89" from 123456789 fen. */
static void yuan(char out[40], uint64_t fen)
{
    char digits[24];
    snprintf(digits, sizeof digits, "%" PRIu64, fen / 100);
    size_t n = strlen(digits), o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    snprintf(out + o, 40 - o, ".%02u", (unsigned)(fen % 100));
}

/* "43,152" from 43152. */
static void count_str(char out[40], uint64_t n)
{
    if (n > UINT64_MAX / 100) {
        snprintf(out, 40, "%" PRIu64, n);
        return;
    }
    yuan(out, n * 100);
    out[strlen(out) - 3] = '\0'; /* drop ".00" */
}

/* "1.23 M" style for axis labels and tight spaces (yuan from fen). */
static void yuan_short(char out[24], uint64_t fen)
{
    double y = (double)fen / 100.0;
    if (y >= 1e8)
        snprintf(out, 24, "%.2f bn", y / 1e9);
    else if (y >= 1e5)
        snprintf(out, 24, "%.2f M", y / 1e6);
    else if (y >= 1e3)
        snprintf(out, 24, "%.1f k", y / 1e3);
    else
        snprintf(out, 24, "%.2f", y);
}

/* The 34 province-level divisions by the first two digits of a GB/T 2260
 * code (the genesis's region codes). */
static const struct {
    const char *code2, *name;
} provinces[] = {
    {"11", "Beijing"},   {"12", "Tianjin"},   {"13", "Hebei"},          {"14", "Shanxi"},
    {"15", "Inner Mongolia"}, {"21", "Liaoning"}, {"22", "Jilin"},      {"23", "Heilongjiang"},
    {"31", "Shanghai"},  {"32", "Jiangsu"},   {"33", "Zhejiang"},       {"34", "Anhui"},
    {"35", "Fujian"},    {"36", "Jiangxi"},   {"37", "Shandong"},       {"41", "Henan"},
    {"42", "Hubei"},     {"43", "Hunan"},     {"44", "Guangdong"},      {"45", "Guangxi"},
    {"46", "Hainan"},    {"50", "Chongqing"}, {"51", "Sichuan"},        {"52", "Guizhou"},
    {"53", "Yunnan"},    {"54", "Tibet"},     {"61", "Shaanxi"},        {"62", "Gansu"},
    {"63", "Qinghai"},   {"64", "Ningxia"},   {"65", "Xinjiang"},       {"71", "Taiwan"},
    {"81", "Hong Kong"}, {"82", "Macao"},
};

/* The province of a 6-digit region code, "" for anything else. */
static const char *province(const char *code)
{
    for (int i = 0; i < 6; i++)
        if (code[i] < '0' || code[i] > '9')
            return "";
    if (code[6] != '\0')
        return "";
    for (size_t i = 0; i < sizeof provinces / sizeof provinces[0]; i++)
        if (memcmp(provinces[i].code2, code, 2) == 0)
            return provinces[i].name;
    return "";
}

/* ---------------------------------------------------------------------
 * Output files: NAME.tmp, renamed on success (note 3).
 */
typedef struct {
    FILE *f;
    char path[4096], tmp[4096 + 8];
} ofile;

static int ofile_open(rr *c, ofile *o, const char *path)
{
    if (snprintf(o->path, sizeof o->path, "%s", path) >= (int)sizeof o->path) {
        rr_fail(c, "%s: path too long", path);
        return -1;
    }
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp", path);
    o->f = fopen(o->tmp, "w");
    if (o->f == NULL) {
        rr_fail(c, "%s: %s", o->tmp, strerror(errno));
        return -1;
    }
    return 0;
}

/* Closes; renames only when nothing failed (c->bad covers bad input). */
static int ofile_close(rr *c, ofile *o)
{
    bool werr = ferror(o->f) != 0;
    if (fclose(o->f) != 0)
        werr = true;
    o->f = NULL;
    if (werr)
        rr_fail(c, "%s: write failed: %s", o->tmp, strerror(errno));
    if (!c->bad && rename(o->tmp, o->path) != 0)
        rr_fail(c, "%s: %s", o->path, strerror(errno));
    if (c->bad) {
        remove(o->tmp);
        return -1;
    }
    return 0;
}

__attribute__((format(printf, 2, 3))) static void P(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------------
 * CSV (note 4).
 */
typedef enum {
    C_STR,    /* string */
    C_INT,    /* integer >= 0, empty when absent/null */
    C_FEN,    /* amount: X_fen, then X_yuan */
    C_NUM,    /* number >= 0 */
    C_BOOL,   /* true / false, empty when absent */
    C_REGION, /* code, then code_name */
    C_LIST,   /* array of strings, joined by spaces */
    C_COUNT,  /* length of the array `key`, or the integer `key2` if present */
} col_kind;

typedef struct {
    const char *hdr, *key;
    col_kind kind;
    const char *key2;
} col;

static void csv_field(FILE *f, const char *s, bool first)
{
    if (!first)
        fputc(',', f);
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_header(FILE *f, const col *cols, size_t n, bool first)
{
    for (size_t i = 0; i < n; i++, first = false) {
        csv_field(f, cols[i].hdr, first);
        if (cols[i].kind == C_FEN) {
            char y[64];
            size_t l = strlen(cols[i].hdr);
            assert(l > 4 && strcmp(cols[i].hdr + l - 4, "_fen") == 0);
            snprintf(y, sizeof y, "%.*s_yuan", (int)(l - 4), cols[i].hdr);
            csv_field(f, y, false);
        } else if (cols[i].kind == C_REGION) {
            char y[64];
            snprintf(y, sizeof y, "%s_name", cols[i].hdr);
            csv_field(f, y, false);
        }
    }
}

static uint64_t count_of(rr *c, const json_t *o, const col *k)
{
    const json_t *a = garr(c, o, k->key);
    if (k->key2 != NULL && member(o, k->key2) != NULL)
        return gint(c, o, k->key2);
    return a != NULL ? json_array_size(a) : 0;
}

static void csv_cells(rr *c, FILE *f, const json_t *o, const col *cols, size_t n, bool first)
{
    char buf[64];
    for (size_t i = 0; i < n; i++, first = false) {
        const col *k = &cols[i];
        const json_t *v = member(o, k->key);
        bool absent = v == NULL || json_is_null(v);
        switch (k->kind) {
        case C_STR:
            csv_field(f, gstr(c, o, k->key), first);
            break;
        case C_INT:
            snprintf(buf, sizeof buf, "%" PRIu64, gint(c, o, k->key));
            csv_field(f, absent ? "" : buf, first);
            break;
        case C_FEN: {
            uint64_t fen = gint(c, o, k->key);
            snprintf(buf, sizeof buf, "%" PRIu64, fen);
            csv_field(f, buf, first);
            snprintf(buf, sizeof buf, "%" PRIu64 ".%02u", fen / 100, (unsigned)(fen % 100));
            csv_field(f, buf, false);
            break;
        }
        case C_NUM:
            snprintf(buf, sizeof buf, "%.15g", gnum(c, o, k->key));
            csv_field(f, absent ? "" : buf, first);
            break;
        case C_BOOL:
            if (!absent && !json_is_boolean(v))
                rr_fail(c, "%s.%s: not a boolean", prefix(c), k->key);
            csv_field(f, absent ? "" : json_is_true(v) ? "true" : "false", first);
            break;
        case C_REGION: {
            const char *r = gstr(c, o, k->key);
            csv_field(f, r, first);
            csv_field(f, province(r), false);
            break;
        }
        case C_LIST: {
            const json_t *a = garr(c, o, k->key);
            if (!first)
                fputc(',', f);
            fputc('"', f);
            for (size_t j = 0; a != NULL && j < json_array_size(a); j++) {
                const json_t *s = json_array_get(a, j);
                if (!json_is_string(s)) {
                    rr_fail(c, "%s.%s[%zu]: not a string", prefix(c), k->key, j);
                    break;
                }
                if (j > 0)
                    fputc(' ', f);
                for (const char *p = json_string_value(s); *p; p++) {
                    if (*p == '"')
                        fputc('"', f);
                    fputc(*p, f);
                }
            }
            fputc('"', f);
            break;
        }
        case C_COUNT:
            snprintf(buf, sizeof buf, "%" PRIu64, count_of(c, o, k));
            csv_field(f, buf, first);
            break;
        }
    }
}

/* One CSV file: a row per element of report[table]; with `child`, a row per
 * element of each element's `child` list, led by the parent's columns (a
 * parent with an empty list gives no row). */
static int csv_table(rr *c, const json_t *report, const char *dir, const char *file,
                     const char *table, const col *pc, size_t np, const char *child,
                     const col *cc, size_t nc)
{
    char path[4096];
    ofile o;
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path) {
        rr_fail(c, "%s: path too long", dir);
        return -1;
    }
    if (ofile_open(c, &o, path) != 0)
        return -1;
    csv_header(o.f, pc, np, true);
    if (child != NULL)
        csv_header(o.f, cc, nc, false);
    fputs("\r\n", o.f);
    c->where[0] = '\0';
    const json_t *arr = garr(c, report, table);
    for (size_t i = 0; arr != NULL && i < json_array_size(arr) && !c->bad; i++) {
        const json_t *row = grow(c, arr, i, table);
        if (row == NULL)
            break;
        if (child == NULL) {
            csv_cells(c, o.f, row, pc, np, true);
            fputs("\r\n", o.f);
            continue;
        }
        char where[96];
        snprintf(where, sizeof where, "%s", c->where);
        const json_t *kids = garr(c, row, child);
        for (size_t j = 0; kids != NULL && j < json_array_size(kids) && !c->bad; j++) {
            const json_t *kid = json_array_get(kids, j);
            set_where(c, "%s.%s[%zu]", where, child, j);
            if (!json_is_object(kid)) {
                rr_fail(c, "%s: not an object", c->where);
                break;
            }
            csv_cells(c, o.f, row, pc, np, true);
            csv_cells(c, o.f, kid, cc, nc, false);
            fputs("\r\n", o.f);
        }
    }
    c->where[0] = '\0';
    return ofile_close(c, &o);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const col issuer_cols[] = {
    {"id", "id", C_STR, NULL},
    {"region", "region", C_REGION, NULL},
    {"budget_fen", "budget_fen", C_FEN, NULL},
    {"issued_fen", "issued_fen", C_FEN, NULL},
    {"redeemed_fen", "redeemed_fen", C_FEN, NULL},
    {"revoked_fen", "revoked_fen", C_FEN, NULL},
    {"credited_back_fen", "credited_back_fen", C_FEN, NULL},
    {"outstanding_fen", "outstanding_fen", C_FEN, NULL},
    {"expired_unspent_fen", "expired_unspent_fen", C_FEN, NULL},
    {"remaining_budget_fen", "remaining_budget_fen", C_FEN, NULL},
    {"vouchers", "vouchers", C_INT, NULL},
};
static const col provider_cols[] = {
    {"id", "id", C_STR, NULL},
    {"region", "region", C_REGION, NULL},
    {"redeemed_fen", "redeemed_fen", C_FEN, NULL},
    {"gpu_hours", "gpu_hours", C_NUM, NULL},
    {"firms_served", "firms_served", C_INT, NULL},
    {"redemptions", "redemptions", C_INT, NULL},
};
static const col settlement_cols[] = {
    {"issuer_region", "issuer_region", C_REGION, NULL},
    {"provider_region", "provider_region", C_REGION, NULL},
    {"amount_fen", "amount_fen", C_FEN, NULL},
};
static const col util_cols[] = {
    {"provider", "provider", C_STR, NULL},
    {"month", "month", C_STR, NULL},
    {"redeemed_fen", "redeemed_fen", C_FEN, NULL},
    {"gpu_hours", "gpu_hours", C_NUM, NULL},
    {"redemptions", "redemptions", C_INT, NULL},
};
static const col node_cols[] = {
    {"id", "id", C_STR, NULL},
    {"source", "source", C_STR, NULL},
    {"verified", "verified", C_BOOL, NULL},
    {"entries", "entries", C_INT, NULL},
    {"head_hash", "head_hash", C_STR, NULL},
    {"state_digest", "state_digest", C_STR, NULL},
    {"checkpoint_log_index", "checkpoint.log_index", C_INT, NULL},
    {"checkpoint_entry_hash", "checkpoint.entry_hash", C_STR, NULL},
    {"checkpoint_verified", "checkpoint.verified", C_BOOL, NULL},
    {"checkpoint_extended", "checkpoint.extended", C_BOOL, NULL},
    {"missing_certificates", "missing_certificates", C_COUNT, "missing_count"},
    {"errors", "errors", C_COUNT, "errors_total"},
};
static const col node_id_col[] = {{"node", "id", C_STR, NULL}};
static const col missing_cols[] = {
    {"account", "account", C_STR, NULL},
    {"seq", "seq", C_INT, NULL},
    {"order_hash", "order_hash", C_STR, NULL},
    {"kind", "kind", C_STR, NULL},
};
static const col error_cols[] = {
    {"entry", "entry", C_INT, NULL},
    {"code", "code", C_STR, NULL},
    {"message", "message", C_STR, NULL},
};
static const col conflict_cols[] = {
    {"account", "account", C_STR, NULL},
    {"issuer", "issuer", C_STR, NULL},
    {"serial", "serial", C_INT, NULL},
    {"seq", "seq", C_INT, NULL},
};
static const col conflict_order_cols[] = {
    {"order_hash", "order_hash", C_STR, NULL},
    {"order", "order", C_STR, NULL},
    {"locked_by", "locked_by", C_LIST, NULL},
};
static const col fork_cols[] = {
    {"account", "account", C_STR, NULL},
    {"seq", "seq", C_INT, NULL},
};
static const col fork_cert_cols[] = {
    {"order_hash", "order_hash", C_STR, NULL},
    {"certificate", "certificate", C_STR, NULL},
    {"nodes", "nodes", C_LIST, NULL},
};
static const col violation_cols[] = {
    {"account", "account", C_STR, NULL},
    {"seq", "seq", C_INT, NULL},
    {"kind", "kind", C_STR, NULL},
    {"order_hash", "order_hash", C_STR, NULL},
    {"code", "code", C_STR, NULL},
    {"message", "message", C_STR, NULL},
};

int vr_csv_write(const json_t *report, const char *dir, char *err, size_t cap)
{
    assert(report != NULL && dir != NULL && (err != NULL || cap == 0));
    rr c = {.err = err, .cap = cap};
    struct stat st;
    if (!json_is_object(report)) {
        rr_fail(&c, "report: not a JSON object");
        return -1;
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        rr_fail(&c, "%s: cannot create: %s", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rr_fail(&c, "%s: not a directory", dir);
        return -1;
    }
    csv_table(&c, report, dir, "issuers.csv", "issuers", issuer_cols, N(issuer_cols), NULL,
              NULL, 0);
    csv_table(&c, report, dir, "providers.csv", "providers", provider_cols, N(provider_cols),
              NULL, NULL, 0);
    csv_table(&c, report, dir, "settlement.csv", "settlement", settlement_cols,
              N(settlement_cols), NULL, NULL, 0);
    csv_table(&c, report, dir, "utilization.csv", "utilization", util_cols, N(util_cols), NULL,
              NULL, 0);
    csv_table(&c, report, dir, "nodes.csv", "nodes", node_cols, N(node_cols), NULL, NULL, 0);
    csv_table(&c, report, dir, "missing.csv", "nodes", node_id_col, 1, "missing_certificates",
              missing_cols, N(missing_cols));
    csv_table(&c, report, dir, "errors.csv", "nodes", node_id_col, 1, "errors", error_cols,
              N(error_cols));
    csv_table(&c, report, dir, "conflicts.csv", "conflicts", conflict_cols, N(conflict_cols),
              "orders", conflict_order_cols, N(conflict_order_cols));
    csv_table(&c, report, dir, "forks.csv", "forks", fork_cols, N(fork_cols), "certificates",
              fork_cert_cols, N(fork_cert_cols));
    csv_table(&c, report, dir, "violations.csv", "violations", violation_cols,
              N(violation_cols), NULL, NULL, 0);
    return c.bad ? -1 : 0;
}

/* ---------------------------------------------------------------------
 * HTML helpers.
 */

/* HTML-escaped text; `max` code points at most (0: all), then an
 * ellipsis.  A cut never splits a UTF-8 sequence (jansson has checked the
 * encoding). */
static void esc_n(FILE *f, const char *s, size_t max)
{
    size_t cps = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch & 0xC0) != 0x80 && max != 0 && cps++ == max) {
            fputs("\xE2\x80\xA6", f);
            return;
        }
        switch (ch) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if (ch < 0x20 && ch != '\n' && ch != '\t')
                fputs("\xEF\xBF\xBD", f); /* U+FFFD for control characters */
            else
                fputc(ch, f);
        }
    }
}

static void esc(FILE *f, const char *s)
{
    esc_n(f, s, 0);
}

/* "110000 Beijing" for a province, "440300 (Guangdong)" for a place in
 * one (escaped). */
static void region_label(FILE *f, const char *code, size_t max)
{
    char buf[160];
    const char *p = province(code);
    bool prov = p[0] != '\0' && strcmp(code + 2, "0000") == 0;
    snprintf(buf, sizeof buf, "%s%s%s%s%s", code, p[0] ? " " : "", p[0] && !prov ? "(" : "", p,
             p[0] && !prov ? ")" : "");
    esc_n(f, buf, max);
}

/* Chart colours: a categorical palette that survives grey-scale printing
 * in order, and the budget chart's meaning-bearing colours. */
static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
#define PALETTE_N (sizeof palette / sizeof palette[0])

/* Totals by key: build from rows, merge equal keys, order by total. */
typedef struct {
    const char *key;
    uint64_t fen;
    double num;
} kv;

static int kv_by_key(const void *a, const void *b)
{
    return strcmp(((const kv *)a)->key, ((const kv *)b)->key);
}

static int kv_by_total(const void *a, const void *b)
{
    const kv *x = a, *y = b;
    if (x->num != y->num)
        return x->num < y->num ? 1 : -1;
    if (x->fen != y->fen)
        return x->fen < y->fen ? 1 : -1;
    return strcmp(x->key, y->key);
}

/* Merges equal keys of v[0..n) (summing), returns the new count. */
static size_t kv_merge(rr *c, kv *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, kv_by_key);
    size_t o = 0;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(v[i].key, v[o].key) == 0) {
            v[o].fen = add_fen(c, v[o].fen, v[i].fen);
            v[o].num += v[i].num;
        } else {
            v[++o] = v[i];
        }
    }
    return o + 1;
}

/* Index of key among v[0..n) (the shown items), else n ("other"). */
static size_t kv_find(const kv *v, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].key, key) == 0)
            return i;
    return n;
}

/* The settlement matrix, the largest `max` regions a side and "other". */
typedef struct {
    kv *rows, *cols; /* all regions, largest first */
    size_t nr, nc;   /* regions shown */
    size_t all_r, all_c;
    uint64_t *cell;   /* (nr + 1) x (nc + 1); index nr / nc is "other" */
    uint64_t *rtot, *ctot, total;
} matrix;

static void matrix_free(matrix *m)
{
    free(m->rows);
    free(m->cols);
    free(m->cell);
    free(m->rtot);
    free(m->ctot);
    memset(m, 0, sizeof *m);
}

static int matrix_build(rr *c, const json_t *report, size_t max_rows, size_t max_cols,
                        matrix *m)
{
    memset(m, 0, sizeof *m);
    const json_t *s = garr(c, report, "settlement");
    size_t n = s != NULL ? json_array_size(s) : 0;
    m->rows = calloc(n + 1, sizeof *m->rows);
    m->cols = calloc(n + 1, sizeof *m->cols);
    if (m->rows == NULL || m->cols == NULL) {
        rr_fail(c, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n && !c->bad; i++) {
        const json_t *row = grow(c, s, i, "settlement");
        if (row == NULL)
            break;
        uint64_t a = gint(c, row, "amount_fen");
        m->rows[i] = (kv){gstr(c, row, "issuer_region"), a, (double)a};
        m->cols[i] = (kv){gstr(c, row, "provider_region"), a, (double)a};
    }
    c->where[0] = '\0';
    if (c->bad)
        return -1;
    m->all_r = kv_merge(c, m->rows, n);
    m->all_c = kv_merge(c, m->cols, n);
    qsort(m->rows, m->all_r, sizeof *m->rows, kv_by_total);
    qsort(m->cols, m->all_c, sizeof *m->cols, kv_by_total);
    m->nr = m->all_r < max_rows ? m->all_r : max_rows;
    m->nc = m->all_c < max_cols ? m->all_c : max_cols;
    m->cell = calloc((m->nr + 1) * (m->nc + 1), sizeof *m->cell);
    m->rtot = calloc(m->nr + 1, sizeof *m->rtot);
    m->ctot = calloc(m->nc + 1, sizeof *m->ctot);
    if (m->cell == NULL || m->rtot == NULL || m->ctot == NULL) {
        rr_fail(c, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n && !c->bad; i++) {
        const json_t *row = json_array_get(s, i);
        size_t r = kv_find(m->rows, m->nr, gstr(c, row, "issuer_region"));
        size_t k = kv_find(m->cols, m->nc, gstr(c, row, "provider_region"));
        uint64_t a = gint(c, row, "amount_fen");
        uint64_t *cell = &m->cell[r * (m->nc + 1) + k];
        *cell = add_fen(c, *cell, a);
        m->rtot[r] = add_fen(c, m->rtot[r], a);
        m->ctot[k] = add_fen(c, m->ctot[k], a);
        m->total = add_fen(c, m->total, a);
    }
    return c->bad ? -1 : 0;
}

/* ---------------------------------------------------------------------
 * The page: head, verdict, figures.
 */
static const char css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;background:#f4f5f7;color:#1d2330;font:14px/1.45 'DejaVu Sans',Arial,"
    "sans-serif}"
    "main{max-width:1200px;margin:0 auto;padding:24px 28px 48px;background:#fff}"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 6px;padding-bottom:4px;"
    "border-bottom:2px solid #d8dce3}h3{font-size:15px;margin:18px 0 6px}"
    ".sub{color:#5a6272;margin:0 0 16px}.note{color:#5a6272;font-size:12.5px;margin:4px 0 8px}"
    ".banner{padding:14px 18px;border-radius:6px;margin:12px 0 18px;font-size:16px}"
    ".banner b{font-size:19px;display:block;margin-bottom:2px}"
    ".banner ul{margin:6px 0 0;padding-left:22px;font-size:14px}"
    ".good{background:#e6f4ea;border:2px solid #2e7d32;color:#1b4d20}"
    ".badv{background:#fdecea;border:2px solid #c62828;color:#7f1d1d}"
    ".cards{display:grid;grid-template-columns:repeat(5,1fr);gap:10px;margin:8px 0}"
    ".card{border:1px solid #d8dce3;border-radius:6px;padding:10px 12px}"
    ".card .k{font-size:12px;color:#5a6272;text-transform:uppercase;letter-spacing:.03em}"
    ".card .v{font-size:19px;font-weight:bold;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}.card .u{font-size:12px;color:#5a6272}"
    "table{border-collapse:collapse;width:100%;margin:6px 0;font-size:12.5px}"
    "th,td{border:1px solid #d8dce3;padding:4px 6px;text-align:left;vertical-align:top}"
    "th{background:#eef0f4;font-weight:bold}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}td.n{white-space:nowrap}"
    "tr.tot td{font-weight:bold;background:#f7f8fa}td.z{color:#9aa1ad;text-align:center}"
    "tr.bad td{background:#fdecea}td.nw{white-space:nowrap}"
    ".wide{overflow-x:auto}table.mx{font-size:11.5px}"
    ".h{font-family:'DejaVu Sans Mono',monospace;font-size:11.5px;word-break:break-all}"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:6px 0}"
    "dl.facts dt{color:#5a6272}dl.facts dd{margin:0}"
    "svg{display:block;width:100%;height:auto;margin:6px 0}"
    "svg text{font-family:'DejaVu Sans',Arial,sans-serif;fill:#1d2330}"
    "@media print{body{background:#fff}main{padding:0}h2{break-after:avoid}"
    "svg,table{break-inside:avoid}}";

static void html_head(rr *c, FILE *f, const json_t *r)
{
    const json_t *net = json_object_get(r, "network");
    P(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'; img-src data:\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<title>Voucher reconciliation: ");
    esc(f, gstr(c, net, "name"));
    P(f, " as of ");
    esc(f, gstr(c, r, "as_of"));
    P(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n", css);
    P(f, "<h1>Computing-power voucher reconciliation</h1>\n<p class=\"sub\">Network <b>");
    esc(f, gstr(c, net, "name"));
    P(f, "</b> &middot; as of <b>");
    esc(f, gstr(c, r, "as_of"));
    P(f, "</b> &middot; %" PRIu64 " voters, quorum %" PRIu64 ", tolerates %" PRIu64
         " faulty</p>\n",
      gint(c, net, "voters"), gint(c, net, "quorum"), gint(c, net, "max_faulty"));
}

/* Rows of a table, or its exact total when the report gives one. */
static size_t rows_of(rr *c, const json_t *o, const char *key)
{
    const json_t *a = garr(c, o, key);
    return a != NULL ? json_array_size(a) : 0;
}

static void html_verdict(rr *c, FILE *f, const json_t *r)
{
    const json_t *sum = json_object_get(r, "summary");
    const json_t *okv = json_object_get(r, "ok");
    if (!json_is_boolean(okv)) {
        rr_fail(c, "report.ok: not a boolean");
        return;
    }
    bool ok = json_is_true(okv);
    uint64_t nodes = gint(c, sum, "nodes"), verified = gint(c, sum, "nodes_verified");
    const json_t *agree = json_object_get(sum, "nodes_agreeing");
    /* voucher-reconcile lists at most 1000 of these and counts them all in
     * X_total (docs/reconcile.md); the count is the one to state. */
    col cc = {"", "conflicts", C_COUNT, "conflicts_total"};
    col vc = {"", "violations", C_COUNT, "violations_total"};
    uint64_t conflicts = count_of(c, r, &cc), violations = count_of(c, r, &vc);
    size_t forks = rows_of(c, r, "forks");
    uint64_t missing_nodes = 0, missing = 0, errors = 0;
    const json_t *ns = garr(c, r, "nodes");
    for (size_t i = 0; ns != NULL && i < json_array_size(ns) && !c->bad; i++) {
        const json_t *n = grow(c, ns, i, "nodes");
        if (n == NULL)
            break;
        col mc = {"", "missing_certificates", C_COUNT, "missing_count"};
        col ec = {"", "errors", C_COUNT, "errors_total"};
        uint64_t m = count_of(c, n, &mc);
        missing = add_fen(c, missing, m);
        missing_nodes += m > 0;
        errors = add_fen(c, errors, count_of(c, n, &ec));
    }
    c->where[0] = '\0';
    P(f, "<div class=\"banner %s\" id=\"verdict\"><b>%s</b>", ok ? "good" : "badv",
      ok ? "Reconciled: no discrepancies found" : "Discrepancies found");
    if (ok)
        P(f, "Every certificate of the %" PRIu64 " nodes verified; all nodes hold the same "
             "ledger.",
          nodes);
    else
        P(f, "The figures below are recomputed from the certificates that verified; "
             "read the findings before relying on them.");
    P(f, "<ul>");
    if (verified < nodes)
        P(f, "<li>%" PRIu64 " of %" PRIu64 " nodes did not verify.</li>", nodes - verified,
          nodes);
    if (json_is_false(agree))
        P(f, "<li>The nodes do not all hold the same ledger.</li>");
    if (missing > 0)
        P(f, "<li>%" PRIu64 " certificates missing on %" PRIu64 " node%s.</li>", missing,
          missing_nodes, missing_nodes == 1 ? "" : "s");
    if (errors > 0)
        P(f, "<li>%" PRIu64 " log error%s.</li>", errors, errors == 1 ? "" : "s");
    if (conflicts > 0)
        P(f, "<li>%" PRIu64 " conflict%s (two orders for one voucher).</li>", conflicts,
          conflicts == 1 ? "" : "s");
    if (forks > 0)
        P(f, "<li>%zu fork%s (two certificates for one account sequence).</li>", forks,
          forks == 1 ? "" : "s");
    if (violations > 0)
        P(f, "<li>%" PRIu64 " certificate%s breaking a ledger rule.</li>", violations,
          violations == 1 ? "" : "s");
    P(f, "</ul></div>\n");
}

static void card(FILE *f, const char *label, uint64_t fen, const char *note)
{
    char y[40];
    yuan(y, fen);
    P(f, "<div class=\"card\"><div class=\"k\">%s</div><div class=\"v\">&yen;%s</div>"
         "<div class=\"u\">%s</div></div>\n",
      label, y, note);
}

static void html_figures(rr *c, FILE *f, const json_t *r)
{
    const json_t *s = json_object_get(r, "summary");
    char n1[64], n2[64], n3[64], k[40];
    count_str(k, gint(c, s, "issuances"));
    snprintf(n1, sizeof n1, "%s issuances", k);
    count_str(k, gint(c, s, "redemptions"));
    snprintf(n2, sizeof n2, "%s redemptions", k);
    count_str(k, gint(c, s, "revocations"));
    snprintf(n3, sizeof n3, "%s revocations", k);
    P(f, "<h2>Headline figures</h2>\n<div class=\"cards\" id=\"figures\">\n");
    card(f, "Issued", gint(c, s, "issued_fen"), n1);
    card(f, "Redeemed", gint(c, s, "redeemed_fen"), n2);
    card(f, "Revoked", gint(c, s, "revoked_fen"), n3);
    card(f, "Outstanding", gint(c, s, "outstanding_fen"), "valid, not yet spent");
    card(f, "Expired unspent", gint(c, s, "expired_unspent_fen"), "past validity, not spent");
    P(f, "</div>\n<p class=\"note\">Amounts in yuan (CNY) to the fen. %" PRIu64
         " certificates; %" PRIu64 " signatures checked in %.1f s; %" PRIu64 " of %" PRIu64
         " nodes verified.</p>\n",
      gint(c, s, "certificates"), gint(c, s, "signatures_checked"), gnum(c, s, "seconds"),
      gint(c, s, "nodes_verified"), gint(c, s, "nodes"));
}

/* ---------------------------------------------------------------------
 * Settlement: the matrix and the flow chart.
 */
static void fen_cell(FILE *f, uint64_t fen, bool total)
{
    char y[40];
    if (fen == 0 && !total) {
        P(f, "<td class=\"z\">&ndash;</td>");
        return;
    }
    yuan(y, fen);
    P(f, "<td class=\"n\">%s</td>", y);
}

static void html_matrix(FILE *f, const matrix *m)
{
    P(f, "<h2>Settlement matrix</h2>\n<p class=\"note\">What the vouchers of each issuer "
         "region paid to the data centers of each provider region, in yuan: rows are "
         "issuer regions, columns provider regions.");
    if (m->all_r > m->nr || m->all_c > m->nc)
        P(f, " The largest %zu issuer regions and %zu provider regions are shown; the other "
             "%zu and %zu are summed under &ldquo;other&rdquo; (every pair is in "
             "settlement.csv).",
          m->nr, m->nc, m->all_r - m->nr, m->all_c - m->nc);
    P(f, "</p>\n");
    if (m->all_r == 0) {
        P(f, "<p id=\"matrix\">No settlement: no voucher was redeemed.</p>\n");
        return;
    }
    bool orow = m->all_r > m->nr, ocol = m->all_c > m->nc;
    P(f, "<div class=\"wide\"><table id=\"matrix\" class=\"mx\"><tr><th>issuer region "
         "\\ provider region</th>");
    for (size_t k = 0; k < m->nc; k++) {
        P(f, "<th class=\"n\">");
        region_label(f, m->cols[k].key, 0);
        P(f, "</th>");
    }
    if (ocol)
        P(f, "<th class=\"n\">other</th>");
    P(f, "<th class=\"n\">total</th></tr>\n");
    for (size_t r = 0; r <= m->nr; r++) {
        if (r == m->nr && !orow)
            break;
        P(f, "<tr><th>");
        if (r < m->nr)
            region_label(f, m->rows[r].key, 0);
        else
            P(f, "other (%zu regions)", m->all_r - m->nr);
        P(f, "</th>");
        for (size_t k = 0; k <= m->nc; k++)
            if (k < m->nc || ocol)
                fen_cell(f, m->cell[r * (m->nc + 1) + k], false);
        fen_cell(f, m->rtot[r], true);
        P(f, "</tr>\n");
    }
    P(f, "<tr class=\"tot\"><td>total</td>");
    for (size_t k = 0; k <= m->nc; k++)
        if (k < m->nc || ocol)
            fen_cell(f, m->ctot[k], true);
    fen_cell(f, m->total, true);
    P(f, "</tr></table></div>\n");
}

/* Label positions: wanted y (centres) pushed apart to `gap`, kept inside
 * [lo, hi] where possible. */
static void spread(double *y, size_t n, double gap, double lo, double hi)
{
    for (size_t i = 0; i < n; i++) {
        if (y[i] < lo)
            y[i] = lo;
        if (i > 0 && y[i] < y[i - 1] + gap)
            y[i] = y[i - 1] + gap;
    }
    for (size_t i = n; i-- > 0;) {
        double top = i + 1 < n ? y[i + 1] - gap : hi;
        if (y[i] > top)
            y[i] = top;
    }
}

static void flow_label(FILE *f, const matrix *m, size_t i, bool left, double x, double y)
{
    const kv *v = left ? m->rows : m->cols;
    size_t shown = left ? m->nr : m->nc, all = left ? m->all_r : m->all_c;
    uint64_t tot = left ? m->rtot[i] : m->ctot[i];
    char y2[24];
    yuan_short(y2, tot);
    P(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12.5\" text-anchor=\"%s\" "
         "dominant-baseline=\"middle\">",
      x, y, left ? "end" : "start");
    if (i < shown)
        region_label(f, v[i].key, 22);
    else
        P(f, "other (%zu)", all - shown);
    P(f, " <tspan fill=\"#5a6272\">&yen;%s</tspan></text>\n", y2);
}

static void html_flows(FILE *f, const matrix *m)
{
    P(f, "<h2>Settlement flows between regions</h2>\n<p class=\"note\">Each band runs from "
         "an issuer region (left, where the vouchers were issued) to a provider region "
         "(right, where they were redeemed); its width is the amount. The %d largest "
         "regions on each side are drawn, the rest as &ldquo;other&rdquo;.</p>\n",
      VR_FLOW_REGIONS);
    if (m->total == 0) {
        P(f, "<p id=\"flows\">No flows: nothing was redeemed.</p>\n");
        return;
    }
    size_t nl = m->nr + (m->all_r > m->nr), nr = m->nc + (m->all_c > m->nc);
    size_t most = nl > nr ? nl : nr;
    const double W = 1100, top = 34, gap = 10, xl = 330, xr = 770, bw = 16;
    double H = 60 + 34.0 * (double)most;
    if (H < 260)
        H = 260;
    double avail = H - 2 * top - gap * (double)(most - 1);
    double scale = avail / (double)m->total; /* total > 0 */
    P(f, "<svg id=\"flows\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
         "aria-label=\"settlement flows\">\n",
      W, H);
    double yl[VR_FLOW_REGIONS + 1], yr[VR_FLOW_REGIONS + 1];
    double offl[VR_FLOW_REGIONS + 1], offr[VR_FLOW_REGIONS + 1];
    double hl = (double)m->total * scale + gap * (double)(nl - 1);
    double hr = (double)m->total * scale + gap * (double)(nr - 1);
    double y = top + (H - 2 * top - hl) / 2;
    for (size_t i = 0; i < nl; i++) {
        yl[i] = offl[i] = y;
        y += (double)m->rtot[i] * scale + gap;
    }
    y = top + (H - 2 * top - hr) / 2;
    for (size_t k = 0; k < nr; k++) {
        yr[k] = offr[k] = y;
        y += (double)m->ctot[k] * scale + gap;
    }
    /* Bands under the bars, coloured by issuer region. */
    for (size_t i = 0; i < nl; i++) {
        for (size_t k = 0; k < nr; k++) {
            uint64_t a = m->cell[i * (m->nc + 1) + k];
            if (a == 0)
                continue;
            double h = (double)a * scale, h2 = h < 1 ? 1 : h;
            double y0 = offl[i], y1 = offr[k], xm = (xl + bw + xr) / 2;
            char amt[40];
            yuan(amt, a);
            P(f, "<path d=\"M%.1f %.1fC%.1f %.1f %.1f %.1f %.1f %.1fL%.1f %.1fC%.1f %.1f %.1f "
                 "%.1f %.1f %.1fZ\" fill=\"%s\" fill-opacity=\"0.42\"><title>",
              xl + bw, y0, xm, y0, xm, y1, xr, y1, xr, y1 + h2, xm, y1 + h2, xm, y0 + h2,
              xl + bw, y0 + h2, palette[i % PALETTE_N]);
            if (i < m->nr)
                region_label(f, m->rows[i].key, 0);
            else
                P(f, "other");
            P(f, " &#8594; ");
            if (k < m->nc)
                region_label(f, m->cols[k].key, 0);
            else
                P(f, "other");
            P(f, ": &yen;%s</title></path>\n", amt);
            offl[i] += h;
            offr[k] += h;
        }
    }
    double ly[VR_FLOW_REGIONS + 1];
    for (size_t i = 0; i < nl; i++) {
        double h = (double)m->rtot[i] * scale;
        P(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", xl,
          yl[i], bw, h < 1 ? 1 : h, palette[i % PALETTE_N]);
        ly[i] = yl[i] + h / 2;
    }
    spread(ly, nl, 17, top - 4, H - 10);
    for (size_t i = 0; i < nl; i++)
        flow_label(f, m, i, true, xl - 8, ly[i]);
    for (size_t k = 0; k < nr; k++) {
        double h = (double)m->ctot[k] * scale;
        P(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#4a5568\"/>\n",
          xr, yr[k], bw, h < 1 ? 1 : h);
        ly[k] = yr[k] + h / 2;
    }
    spread(ly, nr, 17, top - 4, H - 10);
    for (size_t k = 0; k < nr; k++)
        flow_label(f, m, k, false, xr + bw + 8, ly[k]);
    P(f, "<text x=\"%.1f\" y=\"12\" font-size=\"12\" text-anchor=\"end\" fill=\"#5a6272\">"
         "issuer regions</text><text x=\"%.1f\" y=\"12\" font-size=\"12\" fill=\"#5a6272\">"
         "provider regions</text>\n</svg>\n",
      xl + bw, xr);
}

/* ---------------------------------------------------------------------
 * Utilization per data center and month.
 */

/* A round step for about `n` ticks up to max (> 0). */
static double nice_step(double max, int n)
{
    double raw = max / n, p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
}

static void num_label(char out[24], double v)
{
    if (v >= 1e6)
        snprintf(out, 24, "%.3g M", v / 1e6);
    else if (v >= 1e4)
        snprintf(out, 24, "%.4g k", v / 1e3);
    else
        snprintf(out, 24, "%.4g", v);
}

/* The utilization chart: val[p * sm + m] is the GPU-hours of data center
 * prov[p] in month months[m]; max > 0 is the largest. */
static void util_draw(FILE *f, const kv *prov, size_t np, size_t sp, const kv *months, size_t sm,
                      const double *val, double max)
{
    assert(max > 0 && sp > 0 && sm > 0);
    const double W = 1100, H = 360, x0 = 80, x1 = 820, y0 = 20, y1 = 310;
    double step = nice_step(max, 5), ymax = ceil(max / step) * step;
    P(f, "<svg id=\"utilization\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
         "aria-label=\"utilization per data center\">\n",
      W, H);
    for (int t = 0; t <= 10 && t * step <= ymax + step / 2; t++) {
        double y = y1 - (y1 - y0) * (t * step) / ymax;
        char lab[24];
        num_label(lab, t * step);
        P(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
             "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\" "
             "dominant-baseline=\"middle\">%s</text>\n",
          x0, y, x1, y, t == 0 ? "#5a6272" : "#e3e6eb", x0 - 6, y, lab);
    }
    P(f, "<text transform=\"translate(16 %.1f) rotate(-90)\" font-size=\"12\" "
         "text-anchor=\"middle\" fill=\"#5a6272\">GPU-hours per month</text>\n",
      (y0 + y1) / 2);
    double dx = sm > 1 ? (x1 - x0 - 40) / (double)(sm - 1) : 0;
    size_t every = sm > 12 ? 2 : 1;
    for (size_t m = 0; m < sm; m++) {
        double x = sm > 1 ? x0 + 20 + dx * (double)m : (x0 + x1) / 2;
        if ((sm - 1 - m) % every == 0) { /* the latest month always labelled */
            P(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">", x,
              y1 + 18);
            esc_n(f, months[m].key, 10);
            P(f, "</text>\n");
        }
    }
    for (size_t p = 0; p < sp; p++) {
        const char *colr = palette[p % PALETTE_N];
        P(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"3\" points=\"", colr);
        for (size_t m = 0; m < sm; m++) {
            double x = sm > 1 ? x0 + 20 + dx * (double)m : (x0 + x1) / 2;
            P(f, "%s%.1f,%.1f", m ? " " : "", x, y1 - (y1 - y0) * val[p * sm + m] / ymax);
        }
        P(f, "\"/>\n");
        for (size_t m = 0; m < sm; m++) {
            double x = sm > 1 ? x0 + 20 + dx * (double)m : (x0 + x1) / 2;
            char lab[24];
            num_label(lab, val[p * sm + m]);
            P(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\"><title>", x,
              y1 - (y1 - y0) * val[p * sm + m] / ymax, colr);
            esc(f, prov[p].key);
            P(f, " ");
            esc(f, months[m].key);
            P(f, ": %s GPU-hours</title></circle>\n", lab);
        }
        /* Legend: colour, data center, its total. */
        double ly = y0 + 8 + 24.0 * (double)p;
        char tot[24];
        num_label(tot, prov[p].num);
        P(f, "<rect x=\"850\" y=\"%.1f\" width=\"18\" height=\"12\" fill=\"%s\"/>"
             "<text x=\"876\" y=\"%.1f\" font-size=\"12.5\" dominant-baseline=\"middle\">",
          ly - 6, colr, ly);
        esc_n(f, prov[p].key, 20);
        P(f, " <tspan fill=\"#5a6272\">%s h</tspan></text>\n", tot);
    }
    if (np > sp)
        P(f, "<text x=\"850\" y=\"%.1f\" font-size=\"12\" fill=\"#5a6272\">and %zu more "
             "data centers</text>\n",
          y0 + 8 + 24.0 * (double)sp, np - sp);
    P(f, "</svg>\n");
}

static int html_utilization(rr *c, FILE *f, const json_t *r)
{
    const json_t *u = garr(c, r, "utilization");
    size_t n = u != NULL ? json_array_size(u) : 0;
    P(f, "<h2>Utilization per data center</h2>\n<p class=\"note\">GPU-hours redeemed at "
         "each data center per calendar month (UTC). At most the %d busiest data centers "
         "and the latest %d months are drawn; utilization.csv has every row.</p>\n",
      VR_CHART_PROVIDERS, VR_CHART_MONTHS);
    kv *prov = calloc(n + 1, sizeof *prov), *mon = calloc(n + 1, sizeof *mon);
    double *val = NULL;
    int rc = -1;
    if (prov == NULL || mon == NULL) {
        rr_fail(c, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && !c->bad; i++) {
        const json_t *row = grow(c, u, i, "utilization");
        if (row == NULL)
            break;
        double g = gnum(c, row, "gpu_hours");
        prov[i] = (kv){gstr(c, row, "provider"), gint(c, row, "redeemed_fen"), g};
        mon[i] = (kv){gstr(c, row, "month"), 0, 0};
    }
    c->where[0] = '\0';
    if (c->bad)
        goto out;
    size_t np = kv_merge(c, prov, n), nm = kv_merge(c, mon, n); /* months sorted */
    qsort(prov, np, sizeof *prov, kv_by_total);
    size_t sp = np < VR_CHART_PROVIDERS ? np : VR_CHART_PROVIDERS;
    size_t sm = nm < VR_CHART_MONTHS ? nm : VR_CHART_MONTHS;
    const kv *months = mon + (nm - sm); /* the latest */
    val = calloc(sp * sm + 1, sizeof *val);
    if (val == NULL) {
        rr_fail(c, "out of memory");
        goto out;
    }
    double max = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(u, i);
        size_t p = kv_find(prov, sp, gstr(c, row, "provider"));
        size_t m = kv_find(months, sm, gstr(c, row, "month"));
        if (p < sp && m < sm) {
            val[p * sm + m] += gnum(c, row, "gpu_hours");
            if (val[p * sm + m] > max)
                max = val[p * sm + m];
        }
    }
    if (sp == 0 || !(max > 0)) {
        P(f, "<p id=\"utilization\">No utilization: no GPU-hours were redeemed.</p>\n");
        rc = 0;
        goto out;
    }
    util_draw(f, prov, np, sp, months, sm, val, max);
    rc = 0;
out:
    free(prov);
    free(mon);
    free(val);
    return rc;
}

/* ---------------------------------------------------------------------
 * Budget use per issuer (city).
 */
static const struct {
    const char *key, *label, *colour;
} budget_parts[] = {
    {"redeemed_fen", "redeemed", "#2e7d32"},
    {"outstanding_fen", "outstanding", "#1f77b4"},
    {"expired_unspent_fen", "expired unspent", "#ff9800"},
    {"credited_back_fen", "revoked (credited back)", "#9e9e9e"},
};

typedef struct {
    const json_t *row;
    uint64_t budget;
} issuer_ref;

static int by_budget(const void *a, const void *b)
{
    const issuer_ref *x = a, *y = b;
    return x->budget != y->budget ? (x->budget < y->budget ? 1 : -1) : 0;
}

static void html_budget(rr *c, FILE *f, const json_t *r)
{
    const json_t *is = garr(c, r, "issuers");
    size_t n = is != NULL ? json_array_size(is) : 0;
    P(f, "<h2>Budget use per city</h2>\n<p class=\"note\">Each issuer's budget as one bar "
         "(100%%): spent on redemptions, still outstanding on valid vouchers, expired unspent, "
         "credited back by revocation, and never issued. A red line marks the budget when "
         "the parts exceed it. At most the %d largest budgets are drawn.</p>\n",
      VR_CHART_ISSUERS);
    if (n == 0) {
        P(f, "<p id=\"budget\">No issuers.</p>\n");
        return;
    }
    issuer_ref *v = calloc(n, sizeof *v);
    if (v == NULL) {
        rr_fail(c, "out of memory");
        return;
    }
    for (size_t i = 0; i < n && !c->bad; i++) {
        v[i].row = grow(c, is, i, "issuers");
        v[i].budget = gint(c, v[i].row, "budget_fen");
    }
    c->where[0] = '\0';
    if (c->bad) {
        free(v);
        return;
    }
    qsort(v, n, sizeof *v, by_budget);
    size_t shown = n < VR_CHART_ISSUERS ? n : VR_CHART_ISSUERS;
    const double W = 1100, bx = 300, bwid = 540, rowh = 30, top = 40;
    double H = top + rowh * (double)shown + 16;
    P(f, "<svg id=\"budget\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"budget use "
         "per city\">\n",
      W, H);
    double lx = bx;
    for (size_t k = 0; k <= N(budget_parts); k++) {
        const char *lab = k < N(budget_parts) ? budget_parts[k].label : "never issued";
        const char *fill = k < N(budget_parts) ? budget_parts[k].colour : "#e6e8ec";
        P(f, "<rect x=\"%.1f\" y=\"8\" width=\"14\" height=\"12\" fill=\"%s\" stroke=\"#9aa1ad\" "
             "stroke-width=\"0.5\"/><text x=\"%.1f\" y=\"14\" font-size=\"12\" "
             "dominant-baseline=\"middle\">%s</text>\n",
          lx, fill, lx + 19, lab);
        lx += 34 + 6.6 * (double)strlen(lab);
    }
    for (size_t i = 0; i < shown; i++) {
        const json_t *row = v[i].row;
        double y = top + rowh * (double)i;
        uint64_t part[N(budget_parts) + 1], used = 0;
        for (size_t k = 0; k < N(budget_parts); k++) {
            part[k] = gint(c, row, budget_parts[k].key);
            used = add_fen(c, used, part[k]);
        }
        uint64_t b = v[i].budget;
        part[N(budget_parts)] = b > used ? b - used : 0;
        uint64_t full = b > used ? b : used;
        P(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12.5\" text-anchor=\"end\" "
             "dominant-baseline=\"middle\">",
          bx - 10, y + rowh / 2 - 2);
        esc_n(f, gstr(c, row, "id"), 18);
        P(f, " <tspan fill=\"#5a6272\">");
        region_label(f, gstr(c, row, "region"), 22);
        P(f, "</tspan></text>\n");
        double x = bx;
        for (size_t k = 0; full > 0 && k <= N(budget_parts); k++) {
            double w = bwid * (double)part[k] / (double)full;
            if (w <= 0)
                continue;
            char amt[40];
            yuan(amt, part[k]);
            P(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\">"
                 "<title>%s: &yen;%s</title></rect>\n",
              x, y + 4, w, rowh - 12,
              k < N(budget_parts) ? budget_parts[k].colour : "#e6e8ec",
              k < N(budget_parts) ? budget_parts[k].label : "never issued", amt);
            x += w;
        }
        if (used > b && full > 0) {
            double bxl = bx + bwid * (double)b / (double)full;
            P(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c62828\" "
                 "stroke-width=\"3\"/>\n",
              bxl, y + 1, bxl, y + rowh - 5);
        }
        char bud[24];
        yuan_short(bud, b);
        uint64_t spent = part[0];
        P(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12.5\" dominant-baseline=\"middle\">"
             "&yen;%s budget &middot; %.0f%% redeemed</text>\n",
          bx + bwid + 10, y + rowh / 2 - 2, bud,
          b > 0 ? 100.0 * (double)spent / (double)b : 0.0);
    }
    P(f, "</svg>\n");
    if (n > shown)
        P(f, "<p class=\"note\">%zu more issuers are in the issuers table and issuers.csv."
             "</p>\n",
          n - shown);
    free(v);
}

/* ---------------------------------------------------------------------
 * Tables.
 */
static void html_cell(rr *c, FILE *f, const json_t *o, const col *k)
{
    const json_t *v = member(o, k->key);
    bool absent = v == NULL || json_is_null(v);
    char buf[64];
    switch (k->kind) {
    case C_STR: {
        /* Short words stay on one line, hashes break anywhere, prose wraps. */
        const char *t = gstr(c, o, k->key);
        P(f, "<td class=\"%s\">", strlen(t) < 40 ? "nw" : strchr(t, ' ') ? "w" : "h");
        esc(f, t);
        P(f, "</td>");
        break;
    }
    case C_INT:
        P(f, "<td class=\"n\">");
        if (!absent)
            P(f, "%" PRIu64, gint(c, o, k->key));
        P(f, "</td>");
        break;
    case C_FEN:
        yuan(buf, gint(c, o, k->key));
        P(f, "<td class=\"n\">%s</td>", buf);
        break;
    case C_NUM: {
        /* 1,234,567.8: grouped like the amounts (huge values in %g) */
        double d = gnum(c, o, k->key);
        if (d < 1e17) {
            uint64_t tenths = (uint64_t)(d * 10 + 0.5);
            yuan(buf, tenths * 10);
            buf[strlen(buf) - 1] = '\0';
        } else {
            snprintf(buf, sizeof buf, "%.4g", d);
        }
        P(f, "<td class=\"n\">%s</td>", buf);
        break;
    }
    case C_BOOL:
        P(f, "<td>%s</td>", absent ? "" : json_is_true(v) ? "yes" : "<b>no</b>");
        break;
    case C_REGION:
        P(f, "<td class=\"nw\">");
        region_label(f, gstr(c, o, k->key), 0);
        P(f, "</td>");
        break;
    case C_LIST: {
        const json_t *a = garr(c, o, k->key);
        P(f, "<td>");
        for (size_t j = 0; a != NULL && j < json_array_size(a) && j < VR_HTML_ROWS; j++) {
            P(f, "%s", j ? ", " : "");
            esc(f, json_is_string(json_array_get(a, j))
                       ? json_string_value(json_array_get(a, j))
                       : "?");
        }
        if (a != NULL && json_array_size(a) > VR_HTML_ROWS)
            P(f, " and %zu more", json_array_size(a) - VR_HTML_ROWS);
        P(f, "</td>");
        break;
    }
    case C_COUNT:
        P(f, "<td class=\"n\">%" PRIu64 "</td>", count_of(c, o, k));
        break;
    }
}

static void html_th(FILE *f, const col *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *h = cols[i].hdr;
        size_t l = strlen(h);
        bool num = cols[i].kind == C_FEN || cols[i].kind == C_INT || cols[i].kind == C_NUM ||
                   cols[i].kind == C_COUNT;
        P(f, "<th%s>", num ? " class=\"n\"" : "");
        if (cols[i].kind == C_FEN && l > 4)
            l -= 4; /* "budget_fen" shows as "budget" (yuan) */
        for (size_t j = 0; j < l; j++)
            fputc(h[j] == '_' ? ' ' : h[j], f);
        P(f, "</th>");
    }
}

/* A table of report[table] (or, with `child`, of each row's child list), at
 * most VR_HTML_ROWS rows; `bad_key` marks a row red when that boolean is
 * false.  Nothing is written for an empty table unless `empty` is given. */
static void html_table(rr *c, FILE *f, const json_t *r, const char *title, const char *table,
                       const col *pc, size_t np, const char *child, const col *cc, size_t nc,
                       const char *csv, const char *empty, const char *bad_key)
{
    const json_t *arr = garr(c, r, table);
    size_t total = 0;
    for (size_t i = 0; arr != NULL && i < json_array_size(arr); i++)
        total += child == NULL ? 1 : rows_of(c, json_array_get(arr, i), child);
    if (total == 0) {
        if (empty != NULL)
            P(f, "<h3>%s</h3>\n<p>%s</p>\n", title, empty);
        return;
    }
    P(f, "<h3>%s</h3>\n<table id=\"t-%s%s%s\"><tr>", title, table, child ? "-" : "",
      child ? child : "");
    html_th(f, pc, np);
    if (child != NULL)
        html_th(f, cc, nc);
    P(f, "</tr>\n");
    size_t shown = 0;
    for (size_t i = 0; i < json_array_size(arr) && shown < VR_HTML_ROWS && !c->bad; i++) {
        const json_t *row = grow(c, arr, i, table);
        if (row == NULL)
            break;
        const json_t *kids = child != NULL ? garr(c, row, child) : NULL;
        size_t nk = child != NULL ? (kids ? json_array_size(kids) : 0) : 1;
        for (size_t j = 0; j < nk && shown < VR_HTML_ROWS; j++, shown++) {
            const json_t *kid = child != NULL ? json_array_get(kids, j) : NULL;
            bool red = bad_key != NULL && json_is_false(member(row, bad_key));
            P(f, "<tr%s>", red ? " class=\"bad\"" : "");
            for (size_t k = 0; k < np; k++)
                html_cell(c, f, row, &pc[k]);
            for (size_t k = 0; kid != NULL && json_is_object(kid) && k < nc; k++)
                html_cell(c, f, kid, &cc[k]);
            P(f, "</tr>\n");
        }
    }
    c->where[0] = '\0';
    P(f, "</table>\n");
    if (total > shown)
        P(f, "<p class=\"note\">%zu more rows are not shown here: see %s.</p>\n",
          total - shown, csv);
}

static const col node_html_cols[] = {
    {"id", "id", C_STR, NULL},
    {"source", "source", C_STR, NULL},
    {"verified", "verified", C_BOOL, NULL},
    {"entries", "entries", C_INT, NULL},
    {"checkpoint", "checkpoint.log_index", C_INT, NULL},
    {"checkpoint_verified", "checkpoint.verified", C_BOOL, NULL},
    {"missing", "missing_certificates", C_COUNT, "missing_count"},
    {"errors", "errors", C_COUNT, "errors_total"},
    {"state_digest", "state_digest", C_STR, NULL},
};

/* The orders and certificates themselves are in the CSV files; the page
 * shows their hashes and the nodes behind each. */
static const col conflict_html_cols[] = {
    {"order_hash", "order_hash", C_STR, NULL},
    {"locked_by", "locked_by", C_LIST, NULL},
};
static const col fork_html_cols[] = {
    {"order_hash", "order_hash", C_STR, NULL},
    {"nodes", "nodes", C_LIST, NULL},
};

static void html_tables(rr *c, FILE *f, const json_t *r)
{
    P(f, "<h2>Issuers and data centers</h2>\n<p class=\"note\">Amounts in yuan. For each "
         "issuer, issued = redeemed + credited back + outstanding + expired unspent; revoked "
         "is the face value of the revoked vouchers.</p>\n");
    html_table(c, f, r, "Issuers", "issuers", issuer_cols, N(issuer_cols), NULL, NULL, 0,
               "issuers.csv", "No issuers.", NULL);
    html_table(c, f, r, "Data centers (providers)", "providers", provider_cols,
               N(provider_cols), NULL, NULL, 0, "providers.csv", "No providers.", NULL);
    P(f, "<h2>Nodes</h2>\n<p class=\"note\">Each node's log as read: whether its hash chain "
         "and every certificate verified, its checkpoint, the certificates other nodes hold "
         "and it lacks, and the errors found. Unverified nodes are shaded.</p>\n");
    html_table(c, f, r, "Nodes", "nodes", node_html_cols, N(node_html_cols), NULL, NULL, 0,
               "nodes.csv", "No nodes were read.", "verified");
    html_table(c, f, r, "Missing certificates", "nodes", node_id_col, 1,
               "missing_certificates", missing_cols, N(missing_cols), "missing.csv", NULL,
               NULL);
    html_table(c, f, r, "Errors", "nodes", node_id_col, 1, "errors", error_cols,
               N(error_cols), "errors.csv", NULL, NULL);
    P(f, "<h2>Conflicts and forks</h2>\n<p class=\"note\">A conflict is two different orders "
         "for one voucher (issuer, serial), each locked by some nodes; a fork is two "
         "certificates for one account sequence. The hashes are the evidence: the full "
         "orders and certificates are in conflicts.csv and forks.csv.</p>\n");
    html_table(c, f, r, "Conflicts", "conflicts", conflict_cols, N(conflict_cols), "orders",
               conflict_html_cols, N(conflict_html_cols), "conflicts.csv", "No conflicts.",
               NULL);
    html_table(c, f, r, "Forks", "forks", fork_cols, N(fork_cols), "certificates",
               fork_html_cols, N(fork_html_cols), "forks.csv", "No forks.", NULL);
    html_table(c, f, r, "Certificates breaking a ledger rule", "violations", violation_cols,
               N(violation_cols), NULL, NULL, 0, "violations.csv", NULL, NULL);
}

int vr_html_write(const json_t *report, const char *path, char *err, size_t cap)
{
    assert(report != NULL && path != NULL && (err != NULL || cap == 0));
    rr c = {.err = err, .cap = cap};
    if (!json_is_object(report)) {
        rr_fail(&c, "report: not a JSON object");
        return -1;
    }
    matrix tm = {0}, fm = {0};
    if (matrix_build(&c, report, VR_MATRIX_ROWS, VR_MATRIX_COLS, &tm) != 0 ||
        matrix_build(&c, report, VR_FLOW_REGIONS, VR_FLOW_REGIONS, &fm) != 0) {
        matrix_free(&tm);
        matrix_free(&fm);
        return -1;
    }
    ofile o;
    if (ofile_open(&c, &o, path) == 0) {
        html_head(&c, o.f, report);
        html_verdict(&c, o.f, report);
        html_figures(&c, o.f, report);
        html_flows(o.f, &fm);
        html_matrix(o.f, &tm);
        html_utilization(&c, o.f, report);
        html_budget(&c, o.f, report);
        html_tables(&c, o.f, report);
        P(o.f, "<p class=\"note\">Rendered by voucher-reconcile from its JSON report; "
               "the CSV files hold every row.</p>\n</main>\n</body>\n</html>\n");
        ofile_close(&c, &o);
    }
    matrix_free(&tm);
    matrix_free(&fm);
    return c.bad ? -1 : 0;
}
