/* render_report.c - test-only: renders a saved voucher-reconcile JSON report
 * with both renderers of tools/reconcile_report.h.
 *
 *   render_report REPORT.json OUT.html CSV_DIR
 *
 * Exit 0 when both wrote their files; 1 with the renderer's message when
 * one refused; 2 on usage or a file that is not JSON.
 */
#include <stdio.h>

#include "reconcile_report.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: render_report REPORT.json OUT.html CSV_DIR\n");
        return 2;
    }
    json_error_t je;
    json_t *report = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &je);
    if (report == NULL) {
        fprintf(stderr, "render_report: %s:%d: %s\n", argv[1], je.line, je.text);
        return 2;
    }
    char err[512];
    int rc = 0;
    if (vr_csv_write(report, argv[3], err, sizeof err) != 0) {
        fprintf(stderr, "render_report: csv: %s\n", err);
        rc = 1;
    }
    if (vr_html_write(report, argv[2], err, sizeof err) != 0) {
        fprintf(stderr, "render_report: html: %s\n", err);
        rc = 1;
    }
    json_decref(report);
    return rc;
}
