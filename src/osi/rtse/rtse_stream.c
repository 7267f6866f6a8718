/* rtse_stream.c - streaming RTTR: headers of known total length, incremental content reader
 *
 * Why: an RTTR carries a whole MTS-APDU; a 100 MB message must pass through without being held
 *      whole. The writer computes every enclosing definite length from the content length up
 *      front (inside out) and writes only the headers; the content follows verbatim. The
 *      reader keeps only the header octets (at most OX_RTSE_RTTR_HDR_MAX) and returns content
 *      as views into each chunk it is fed, so feeding the same bytes split anywhere gives the
 *      same content.
 * States: HEADERS (hdr accumulates; each feed retries the parse) -> CONTENT (remaining counts
 *      down) -> DONE; any error is sticky.
 * Limits: OX_RTSE_RTTR_HDR_MAX header octets; definite lengths only (indefinite -> UNSUPPORTED).
 * Diagnostics: OX_E_PEER with r->diag (reason, offset from the start of the element).
 * Standards: X.226 8.2 (Fully-encoded-data, PDV-list), X.228 (RTTRapdu ::= OCTET STRING),
 *      X.690 8.1.3 (definite lengths), 8.18 (EXTERNAL). */
#include "openx400/rtse.h"

#include <string.h>

#define T_INT OX_BER_UNIV(OX_BER_T_INTEGER)
#define T_OID OX_BER_UNIV(OX_BER_T_OID)

/* Identifier octets of the (low-numbered) tags used here plus the length octets. */
static uint64_t hdr_size(uint64_t len)
{
    uint64_t n = 1;
    if (len >= 0x80)
        for (uint64_t v = len; v; v >>= 8)
            n++;
    return 1 + n;
}

/* Identifier and definite length for |len| octets (uint64: the content may exceed size_t on
 * 32-bit hosts only in theory; ox_ber_put_header takes size_t, so build the octets here). */
static void put_hdr(ox_buf *w, uint8_t id, uint64_t len)
{
    uint8_t b[10];
    size_t n = 0;
    b[n++] = id;
    if (len < 0x80) {
        b[n++] = (uint8_t)len;
    } else {
        size_t k = 0;
        for (uint64_t v = len; v; v >>= 8)
            k++;
        b[n++] = (uint8_t)(0x80 | k);
        for (size_t i = k; i-- > 0;)
            b[n++] = (uint8_t)(len >> (8 * i));
    }
    ox_buf_append(w, b, n);
}

#define ID_FULLY_UD 0x61 /* [APPLICATION 1] constructed: Fully-encoded-data */
#define ID_SEQ      0x30 /* PDV-list SEQUENCE */
#define ID_CTX0_C   0xa0 /* single-ASN1-type [0] constructed (PDV-list and EXTERNAL) */
#define ID_OCTETS   0x04 /* RTTRapdu OCTET STRING, primitive */
#define ID_EXTERNAL 0x28 /* [UNIVERSAL 8] constructed */
#define ID_INT      0x02 /* INTEGER (context identifiers, indirect-reference) */
#define ID_OID      0x06 /* OBJECT IDENTIFIER (direct-reference) */
#define ID_ODESC    0x07 /* ObjectDescriptor (data-value-descriptor) */

int ox_rtse_rttr_begin(ox_buf *w, const ox_rtse_rttr_frame *f, uint64_t content_len)
{
    uint8_t tmp[128];
    ox_buf refs, ctx;
    ox_buf_init(&refs, NULL, tmp, 96);
    ox_buf_init(&ctx, NULL, tmp + 96, 32);
    if (f->external) {
        if (!f->ext_has_direct && !f->ext_has_indirect) {
            if (!w->err)
                w->err = OX_E_ARG;
            return w->err;
        }
        if (f->ext_has_direct)
            ox_ber_put_oid(&refs, T_OID, &f->ext_direct);
        if (f->ext_has_indirect)
            ox_ber_put_int(&refs, T_INT, f->ext_indirect);
    }
    if (f->pdv)
        ox_ber_put_int(&ctx, T_INT, f->pdv_ctx);
    if (refs.err || ctx.err) {
        if (!w->err)
            w->err = refs.err ? refs.err : ctx.err;
        return w->err;
    }
    /* Inside out: lengths of each element's contents. */
    uint64_t ext_single = content_len;
    uint64_t ext = f->external ? refs.len + hdr_size(ext_single) + ext_single : 0;
    uint64_t oct = f->external ? hdr_size(ext) + ext : content_len;
    uint64_t pdv_single = hdr_size(oct) + oct;
    uint64_t pdv = ctx.len + hdr_size(pdv_single) + pdv_single;
    if (f->pdv) {
        put_hdr(w, ID_FULLY_UD, hdr_size(pdv) + pdv);
        put_hdr(w, ID_SEQ, pdv);
        ox_buf_append(w, ctx.p, ctx.len);
        put_hdr(w, ID_CTX0_C, pdv_single);
    }
    put_hdr(w, ID_OCTETS, oct);
    if (f->external) {
        put_hdr(w, ID_EXTERNAL, ext);
        ox_buf_append(w, refs.p, refs.len);
        put_hdr(w, ID_CTX0_C, ext_single);
    }
    return w->err;
}

int ox_rtse_external_begin(ox_buf *w, const ox_rtse_rttr_frame *f, uint64_t content_len)
{
    ox_rtse_rttr_frame e = *f;
    e.pdv = false;
    e.external = true;
    uint8_t tmp[160];
    ox_buf all;
    ox_buf_init(&all, NULL, tmp, sizeof(tmp));
    int rc = ox_rtse_rttr_begin(&all, &e, content_len);
    if (rc) {
        if (!w->err)
            w->err = rc;
        return w->err;
    }
    /* Everything after the RTTR OCTET STRING's own header. */
    uint64_t oct = all.len >= 2 ? (all.p[1] & 0x80 ? (uint64_t)(all.p[1] & 0x7f) : 0) : 0;
    size_t skip = 2 + (size_t)oct;
    ox_buf_append(w, all.p + skip, all.len - skip);
    ox_buf_free(&all);
    return w->err;
}

void ox_rtse_rttr_rd_init(ox_rtse_rttr_rd *r, bool pdv, bool external)
{
    memset(r, 0, sizeof(*r));
    r->pdv = pdv;
    r->external = external;
}

void ox_rtse_rttr_rd_init_segments(ox_rtse_rttr_rd *r)
{
    ox_rtse_rttr_rd_init(r, false, true);
    r->segments = true;
}

/* A header parsed from the accumulated octets. */
typedef struct shdr {
    uint8_t id;
    uint64_t len;
    size_t size; /* identifier + length octets */
} shdr;

/* Parses one header at hdr[*pos]: OX_E_AGAIN if incomplete, else checks the identifier. */
static int parse(ox_rtse_rttr_rd *r, size_t *pos, uint8_t want, shdr *h)
{
    const uint8_t *p = r->hdr + *pos;
    size_t n = r->hdr_len - *pos;
    if (n < 2)
        return OX_E_AGAIN;
    h->id = p[0];
    if ((p[0] & 0x1f) == 0x1f || p[0] != want) {
        bool wrong_form = (p[0] ^ want) == 0x20;
        if (p[0] == (ID_OCTETS | 0x20) && want == ID_OCTETS)
            return OX_E_UNSUPPORTED; /* constructed RTTR */
        r->diag.reason = wrong_form ? OX_BER_R_WRONG_FORM : OX_BER_R_UNEXPECTED_TAG;
        r->diag.offset = *pos;
        r->diag.line = __LINE__;
        return OX_E_PEER;
    }
    if (p[1] == 0x80)
        return OX_E_UNSUPPORTED; /* indefinite length */
    size_t used = 2;
    uint64_t len = p[1];
    if (p[1] & 0x80) {
        size_t k = p[1] & 0x7f;
        if (k > 8 || p[1] == 0xff) {
            r->diag.reason = OX_BER_R_LEN_TOO_LONG;
            r->diag.offset = *pos;
            r->diag.line = __LINE__;
            return OX_E_PEER;
        }
        if (n < 2 + k)
            return OX_E_AGAIN;
        len = 0;
        for (size_t i = 0; i < k; i++)
            len = len << 8 | p[2 + i];
        used += k;
    }
    h->len = len;
    h->size = used;
    *pos += used;
    return 0;
}

/* The element just parsed must exactly fill |outer| octets together with what precedes it in
 * the same parent (|before|): one PDV, one RTTR, one EXTERNAL. */
static int fits(ox_rtse_rttr_rd *r, size_t at, uint64_t outer, uint64_t before, const shdr *h)
{
    if (outer < before || outer - before < h->size || outer - before - h->size != h->len) {
        r->diag.reason = OX_BER_R_LEN_OVERRUN;
        r->diag.offset = at;
        r->diag.line = __LINE__;
        return OX_E_PEER;
    }
    return 0;
}

/* A complete primitive element (INTEGER, OID, ObjectDescriptor) inside the headers. */
static int prim(ox_rtse_rttr_rd *r, size_t *pos, uint8_t want, ox_span *v)
{
    shdr h;
    int rc = parse(r, pos, want, &h);
    if (rc)
        return rc;
    if (h.len > r->hdr_len - *pos) {
        if (h.len > OX_RTSE_RTTR_HDR_MAX)
            return OX_E_LIMIT;
        return OX_E_AGAIN;
    }
    *v = ox_span_of(r->hdr + *pos, (size_t)h.len);
    *pos += (size_t)h.len;
    return 0;
}

static int bad(ox_rtse_rttr_rd *r, size_t at, ox_ber_reason why)
{
    r->diag.reason = why;
    r->diag.offset = at;
    r->diag.line = __LINE__;
    return OX_E_PEER;
}

/* Decodes an INTEGER's content octets (1..8, two's complement). */
static int int_of(ox_rtse_rttr_rd *r, size_t at, ox_span v, int64_t *out)
{
    if (v.len == 0 || v.len > 8)
        return bad(r, at, OX_BER_R_BAD_INTEGER);
    uint64_t u = (v.p[0] & 0x80) ? UINT64_MAX : 0;
    for (size_t i = 0; i < v.len; i++)
        u = u << 8 | v.p[i];
    *out = (int64_t)u;
    return 0;
}

/* Tries to parse all headers from r->hdr; on success sets the content length and returns the
 * header size in *hsize. */
static int parse_all(ox_rtse_rttr_rd *r, size_t *hsize)
{
    size_t pos = 0, at;
    shdr ud = {0}, pdv = {0}, single = {0}, oct = {0}, ext = {0}, es = {0};
    ox_span v;
    int rc;
    memset(&r->got, 0, sizeof(r->got));
    if (r->pdv) {
        if ((rc = parse(r, &pos, ID_FULLY_UD, &ud)) != 0)
            return rc;
        at = pos;
        if ((rc = parse(r, &pos, ID_SEQ, &pdv)) != 0 || (rc = fits(r, at, ud.len, 0, &pdv)) != 0)
            return rc;
        size_t pdv_start = pos;
        at = pos;
        if ((rc = prim(r, &pos, ID_INT, &v)) != 0 || (rc = int_of(r, at, v, &r->got.pdv_ctx)) != 0)
            return rc;
        r->got.pdv = true;
        at = pos;
        if ((rc = parse(r, &pos, ID_CTX0_C, &single)) != 0 ||
            (rc = fits(r, at, pdv.len, at - pdv_start, &single)) != 0)
            return rc;
    }
    at = pos;
    if (!r->segments) {
        if ((rc = parse(r, &pos, ID_OCTETS, &oct)) != 0)
            return rc;
        if (r->pdv && (rc = fits(r, at, single.len, 0, &oct)) != 0)
            return rc;
        r->content_len = oct.len;
    }
    if (r->external) {
        at = pos;
        if ((rc = parse(r, &pos, ID_EXTERNAL, &ext)) != 0 ||
            (!r->segments && (rc = fits(r, at, oct.len, 0, &ext)) != 0))
            return rc;
        size_t ext_start = pos;
        if (pos < r->hdr_len && r->hdr[pos] == ID_OID) {
            at = pos;
            if ((rc = prim(r, &pos, ID_OID, &v)) != 0)
                return rc;
            ox_ber_reason why;
            if (ox_oid_decode(&r->got.ext_direct, v, &why) != 0)
                return bad(r, at, why);
            r->got.ext_has_direct = true;
        }
        if (pos < r->hdr_len && r->hdr[pos] == ID_INT) {
            at = pos;
            if ((rc = prim(r, &pos, ID_INT, &v)) != 0 ||
                (rc = int_of(r, at, v, &r->got.ext_indirect)) != 0)
                return rc;
            r->got.ext_has_indirect = true;
        }
        if (pos < r->hdr_len && r->hdr[pos] == ID_ODESC && (rc = prim(r, &pos, ID_ODESC, &v)) != 0)
            return rc;
        if (pos >= r->hdr_len)
            return OX_E_AGAIN;
        if (!r->got.ext_has_direct && !r->got.ext_has_indirect)
            return bad(r, pos, OX_BER_R_UNEXPECTED_TAG);
        at = pos;
        if ((rc = parse(r, &pos, ID_CTX0_C, &es)) != 0 ||
            (rc = fits(r, at, ext.len, at - ext_start, &es)) != 0)
            return rc;
        r->content_len = es.len;
        r->got.external = true;
    }
    *hsize = pos;
    return 0;
}

int ox_rtse_rttr_rd_feed(ox_rtse_rttr_rd *r, ox_span in, size_t *used, ox_span *content)
{
    *used = 0;
    *content = ox_span_of(in.p, 0);
    if (r->err)
        return r->err;
    if (!r->in_content) {
        size_t before = r->hdr_len;
        size_t take = OX_RTSE_RTTR_HDR_MAX - before;
        if (take > in.len)
            take = in.len;
        memcpy(r->hdr + before, in.p, take);
        r->hdr_len += take;
        size_t hsize = 0;
        int rc = parse_all(r, &hsize);
        if (rc == OX_E_AGAIN && r->hdr_len == OX_RTSE_RTTR_HDR_MAX)
            rc = OX_E_LIMIT;
        if (rc == OX_E_AGAIN) {
            *used = take;
            return OX_E_AGAIN;
        }
        if (rc) {
            r->err = rc;
            return rc;
        }
        /* Octets copied beyond the headers are content: hand them back from |in|. */
        r->in_content = true;
        r->remaining = r->content_len;
        r->hdr_len = hsize;
        *used = hsize - before;
    }
    size_t avail = in.len - *used;
    size_t n = r->remaining < avail ? (size_t)r->remaining : avail;
    *content = ox_span_of(in.p + *used, n);
    *used += n;
    r->remaining -= n;
    return r->remaining == 0 ? 1 : 0;
}
