/* reconcile_report.h - voucher-reconcile's report renderers: CSV and HTML.
 *
 * voucher-reconcile builds its whole report as one JSON document (jansson,
 * the schema below, docs/reconcile.md); the renderers read only that
 * document, so an auditor can also re-render a saved JSON report.
 *
 * Report schema (amounts are integers in fen; ids are genesis ids;
 * hashes are lowercase hex):
 *   ok            bool: everything verified and all nodes agree
 *   as_of         ISO 8601 UTC time used for expiry
 *   network       {name, network_id, voters, quorum, max_faulty}
 *   summary       {certificates, issuances, redemptions, revocations,
 *                  issued_fen, redeemed_fen, revoked_fen, outstanding_fen,
 *                  expired_unspent_fen, nodes, nodes_verified,
 *                  nodes_agreeing (bool), signatures_checked, seconds}
 *   issuers[]     {id, region, budget_fen, issued_fen, redeemed_fen,
 *                  revoked_fen, credited_back_fen, outstanding_fen,
 *                  expired_unspent_fen, remaining_budget_fen, vouchers}
 *   providers[]   {id, region, redeemed_fen, gpu_hours (number),
 *                  firms_served, redemptions}
 *   settlement[]  {issuer_region, provider_region, amount_fen}
 *   utilization[] {provider, month ("YYYY-MM"), redeemed_fen, gpu_hours,
 *                  redemptions}
 *   nodes[]       {id, source, verified (bool), entries, head_hash,
 *                  state_digest, checkpoint (object or null:
 *                  {log_index, entry_hash, verified, extended}),
 *                  missing_certificates[] {account, seq, order_hash, kind},
 *                  errors[] {entry (index or null), code, message}}
 *   conflicts[]   {account, issuer, serial, seq,
 *                  orders[] {order_hash, order (hex), locked_by[] (node ids)}}
 *   forks[]       {account, seq,
 *                  certificates[] {order_hash, certificate (hex), nodes[]}}
 */
#ifndef VL_RECONCILE_REPORT_H
#define VL_RECONCILE_REPORT_H

#include <jansson.h>
#include <stddef.h>

/* One CSV file per table (issuers.csv, providers.csv, settlement.csv,
 * utilization.csv, nodes.csv, missing.csv, errors.csv, conflicts.csv,
 * forks.csv) in `dir`, created if absent.  0, or -1 with `err` set. */
int vr_csv_write(const json_t *report, const char *dir, char *err, size_t cap);

/* One self-contained HTML file (inline CSS and SVG, nothing fetched when it
 * opens).  0, or -1 with `err` set. */
int vr_html_write(const json_t *report, const char *path, char *err, size_t cap);

#endif
