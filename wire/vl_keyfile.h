/* vl_keyfile.h - key files.
 *
 * A key file is JSON, created with mode 0600 (O_EXCL: never overwrites):
 *   { "type": "voucher-ledger-key", "version": 1,
 *     "secret": "<64 hex>", "pubkey": "<64 hex>",
 *     "curve_secret": "<40 Z85>", "curve_pubkey": "<40 Z85>" }
 * The curve_* pair (ZeroMQ CURVE) is present in node key files only.
 * Loading refuses a file that group or others can read or write
 * (VL_ERR_KEYFILE_PERMS), and checks that pubkey matches secret.
 * Secrets are wiped from every buffer that held them.
 */
#ifndef VL_KEYFILE_H
#define VL_KEYFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "vl_crypto.h"
#include "vl_error.h"

typedef struct {
    vl_keypair sign;
    bool has_curve;
    uint8_t curve_secret[32];
    uint8_t curve_pubkey[32];
} vl_keyfile;

/* Fresh keys (with a CURVE pair when with_curve).  VL_OK, VL_ERR_RANDOM. */
vl_err vl_keyfile_generate(vl_keyfile *k, bool with_curve);

/* Write k to a new file at path with mode 0600.  VL_OK, VL_ERR_EXISTS,
 * VL_ERR_IO. */
vl_err vl_keyfile_save(const vl_keyfile *k, const char *path);

/* Load path into k.  VL_OK, VL_ERR_IO, VL_ERR_KEYFILE_PERMS, VL_ERR_JSON,
 * VL_ERR_BAD_KEY (secret invalid or pubkey mismatch).  k is wiped on error;
 * err (may be NULL) gets a sentence naming the problem. */
vl_err vl_keyfile_load(vl_keyfile *k, const char *path, char *err, size_t err_cap);

/* Wipe all secrets in k. */
void vl_keyfile_wipe(vl_keyfile *k);

/* Z85 (ZeroMQ's encoding) of a 32-byte CURVE key: 40 chars + NUL, and back.
 * vl_z85_decode: VL_OK or VL_ERR_RANGE. */
void vl_z85_encode(char out[41], const uint8_t key[32]);
vl_err vl_z85_decode(uint8_t key[32], const char *text);

#endif
