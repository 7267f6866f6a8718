/* p1_int.h - private helpers shared by the P1 codec files (decode context, SET bookkeeping,
 *            bounded lists, named-bit BIT STRINGs). */
#ifndef OX_P1_INT_H
#define OX_P1_INT_H

#include "openx400/p1.h"

typedef struct p1_dec {
    ox_p1_limits lim;
    const ox_alloc *alloc;
    ox_p1_version ver;
    ox_p1_diag *diag;
} p1_dec;

void p1_dec_init(p1_dec *d, ox_p1_version v, const ox_p1_limits *lim, const ox_alloc *a,
                 ox_p1_diag *diag);
/* Records a P1-level failure at |at| and returns OX_E_PEER (OX_E_LIMIT for TOO_MANY). */
int p1_bad(const p1_dec *d, const ox_ber_rd *rd, const uint8_t *at, ox_p1_reason r, int line);
#define P1_BAD(d, rd, at, r) p1_bad((d), (rd), (at), (r), __LINE__)
/* Marks a BER-level failure (the ber diag is already filled). */
int p1_ber(const p1_dec *d, int rc);
#define P1_TRY(d, expr)                                                                            \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_)                                                                                   \
            return p1_ber((d), rc_);                                                               \
    } while (0)

/* A SET's members seen so far: bit per member index. */
static inline bool p1_seen(uint32_t *seen, unsigned bit)
{
    bool was = (*seen >> bit) & 1u;
    *seen |= 1u << bit;
    return was;
}

/* Grows a heap array by one element (zeroed) bounded by |max|. */
int p1_vec_push(const ox_alloc *a, void **arr, uint32_t *n, uint32_t *cap, size_t elsize,
                uint32_t max);

/* Named-bit BIT STRING as a mask of bits 0..31, DER-minimal with at least |minbits|. */
void p1_put_bits(ox_buf *w, uint32_t tag, uint32_t mask, unsigned minbits);
int p1_read_bits(const p1_dec *d, ox_ber_rd *rd, uint32_t tag, uint32_t *mask);

int p1_read_gdi(const p1_dec *d, ox_ber_rd *rd, ox_p1_gdi *g);
int p1_read_mtsid(const p1_dec *d, ox_ber_rd *rd, ox_p1_mtsid *id);
int p1_read_orname(const p1_dec *d, ox_ber_rd *rd, uint32_t tag, ox_p1_orname *n);
int p1_read_eits(const p1_dec *d, ox_ber_rd *rd, ox_p1_eits *e);
void p1_put_eits(ox_buf *w, const ox_p1_eits *e, ox_p1_version v);
int p1_read_content_type(const p1_dec *d, ox_ber_rd *rd, ox_p1_content_type *ct);
void p1_put_content_type(ox_buf *w, const ox_p1_content_type *ct, ox_p1_version v);
int p1_read_trace(const p1_dec *d, ox_ber_rd *rd, uint32_t tag, bool internal, ox_p1_traces *l);
void p1_put_trace(ox_buf *w, uint32_t tag, const ox_p1_traces *l, bool internal, ox_p1_version v);
/* SET OF ExtensionField with tag |tag|. */
int p1_read_exts(const p1_dec *d, ox_ber_rd *rd, uint32_t tag, ox_p1_exts *l);
void p1_put_exts(ox_buf *w, uint32_t tag, const ox_p1_exts *l);
void p1_exts_free(const ox_alloc *a, ox_p1_exts *l);
void p1_traces_free(const ox_alloc *a, ox_p1_traces *l);
/* Sets w->err to |err| when it is still 0. */
void p1_wr_fail(ox_buf *w, int err);
/* Writes a bounded string: refuses (OX_E_ARG) when longer than |ub|. */
void p1_put_str(ox_buf *w, uint32_t tag, ox_ber_strtype t, const char *s, size_t ub);

#endif
