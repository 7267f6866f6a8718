/* ipm.c - X.420 IPM codec: heading (this IPM, originator, primary and copy recipients,
 *         subject, importance) and IA5 / general-text body parts; the rest byte-exact
 *
 * Why: a minimal, strict IPM for the MTA's own messages and tests. Unknown heading fields and
 *      body parts are kept as raw elements so relaying or re-encoding changes nothing.
 * Limits: ox_ipm_limits (recipients per field, body parts); strings by X.420 ub-*.
 * Diagnostics: OX_E_PEER / OX_E_LIMIT with ox_p1_diag (P1 reasons).
 * Standards: X.420 (1999) IPMSInformationObjects (IMPLICIT TAGS). */
#include <string.h>

#include "openx400/ipm.h"

#define TAG_SET      OX_BER_UNIV(OX_BER_T_SET)
#define TAG_SEQ      OX_BER_UNIV(OX_BER_T_SEQUENCE)
#define TAG_PRINT    OX_BER_UNIV(OX_BER_T_PRINTABLE_STRING)
#define TAG_T61      OX_BER_UNIV(OX_BER_T_TELETEX_STRING)
#define TAG_IA5      OX_BER_UNIV(OX_BER_T_IA5_STRING)
#define TAG_GENSTR   OX_BER_UNIV(OX_BER_T_GENERAL_STRING)
#define TAG_OID      OX_BER_UNIV(OX_BER_T_OID)
#define TAG_EXTERNAL OX_BER_UNIV(OX_BER_T_EXTERNAL) /* INSTANCE OF TYPE-IDENTIFIER */
/* Heading ::= SET { this-IPM, originator [0], ..., primary-recipients [2],
 * copy-recipients [3], ..., subject [8] EXPLICIT, ..., importance [12], ... } */
#define TAG_H_ORIGINATOR OX_BER_CTX(0)
#define TAG_H_PRIMARY    OX_BER_CTX(2)
#define TAG_H_COPY       OX_BER_CTX(3)
#define TAG_H_SUBJECT    OX_BER_CTX(8)
#define TAG_H_IMPORTANCE OX_BER_CTX(12)
/* ORDescriptor ::= SET { formal-name ORName, free-form-name [0], telephone-number [1] } */
#define TAG_OD_FREE_FORM OX_BER_CTX(0)
#define TAG_OD_PHONE     OX_BER_CTX(1)
/* RecipientSpecifier ::= SET { recipient [0], notification-requests [1],
 * reply-requested [2], recipient-extensions [3] } */
#define TAG_RS_RECIPIENT OX_BER_CTX(0)
#define TAG_RS_NOTIFY    OX_BER_CTX(1)
#define TAG_RS_REPLY     OX_BER_CTX(2)
#define TAG_RS_EXT       OX_BER_CTX(3)
/* BodyPart ::= CHOICE { basic CHOICE { ia5-text [0] IA5TextBodyPart, ... },
 * extended [15] ExtendedBodyPart }; IA5TextParameters ::= SET { repertoire [0] DEFAULT ia5 }
 * ExtendedBodyPart ::= SEQUENCE { parameters [0] INSTANCE OF OPTIONAL, data INSTANCE OF } */
#define TAG_BP_IA5         OX_BER_CTX(0)
#define TAG_BP_EXTENDED    OX_BER_CTX(15)
#define TAG_IA5_REPERTOIRE OX_BER_CTX(0)
#define TAG_EBP_PARAMS     OX_BER_CTX(0)
#define TAG_TI_VALUE       OX_BER_CTX(0) /* INSTANCE OF value [0] EXPLICIT */
#define REPERTOIRE_IA5     5

static const ox_oid id_ep_general_text = OX_OID_INIT(2, 6, 1, 11, 11);
static const ox_oid id_et_general_text = OX_OID_INIT(2, 6, 1, 4, 11);

typedef struct ipm_dec {
    ox_ipm_limits lim;
    ox_p1_diag *diag;
    const ox_alloc *alloc;
} ipm_dec;

static int bad(const ipm_dec *d, const ox_ber_rd *rd, const uint8_t *at, ox_p1_reason r, int line)
{
    if (d->diag && d->diag->reason == OX_P1_R_NONE) {
        d->diag->reason = r;
        d->diag->ber.offset = at && at >= rd->base ? (size_t)(at - rd->base) : 0;
        d->diag->ber.line = line;
    }
    return r == OX_P1_R_TOO_MANY ? OX_E_LIMIT : OX_E_PEER;
}
#define BAD(d, rd, at, r) bad((d), (rd), (at), (r), __LINE__)

static int ber(const ipm_dec *d, int rc)
{
    if (rc && d->diag && d->diag->reason == OX_P1_R_NONE && (rc == OX_E_PEER || rc == OX_E_LIMIT))
        d->diag->reason = OX_P1_R_BER;
    return rc;
}
#define TRY(d, e)                                                                                  \
    do {                                                                                           \
        int rc_ = (e);                                                                             \
        if (rc_)                                                                                   \
            return ber((d), rc_);                                                                  \
    } while (0)

static int push(const ox_alloc *a, void **arr, uint32_t *n, uint32_t *cap, size_t sz, uint32_t max)
{
    if (*n >= max)
        return OX_E_LIMIT;
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 4;
        if (nc > max)
            nc = max;
        void *p = ox_realloc(a, *arr, (size_t)nc * sz);
        if (!p)
            return OX_E_NOMEM;
        *arr = p;
        *cap = nc;
    }
    memset((uint8_t *)*arr + (size_t)*n * sz, 0, sz);
    (*n)++;
    return 0;
}

void ox_ipm_init(ox_ipm *m, const ox_alloc *alloc)
{
    memset(m, 0, sizeof(*m));
    m->alloc = alloc;
    m->importance = 1;
}

void ox_ipm_free(ox_ipm *m)
{
    ox_free(m->alloc, m->to);
    ox_free(m->alloc, m->cc);
    ox_free(m->alloc, m->body);
    ox_ipm_init(m, m->alloc);
}

int ox_ipm_add_to(ox_ipm *m, const ox_ipm_recipient *r)
{
    int rc = push(m->alloc, (void **)&m->to, &m->n_to, &m->cap_to, sizeof(*r), OX_P1_UB_RECIPIENTS);
    if (!rc)
        m->to[m->n_to - 1] = *r;
    return rc;
}

int ox_ipm_add_cc(ox_ipm *m, const ox_ipm_recipient *r)
{
    int rc = push(m->alloc, (void **)&m->cc, &m->n_cc, &m->cap_cc, sizeof(*r), OX_P1_UB_RECIPIENTS);
    if (!rc)
        m->cc[m->n_cc - 1] = *r;
    return rc;
}

int ox_ipm_add_body(ox_ipm *m, const ox_ipm_bodypart *bp)
{
    int rc = push(m->alloc, (void **)&m->body, &m->n_body, &m->cap_body, sizeof(*bp),
                  OX_IPM_DEFAULT_MAX_BODY_PARTS);
    if (!rc)
        m->body[m->n_body - 1] = *bp;
    return rc;
}

/* ---- decode ---- */
static int read_str(const ipm_dec *d, ox_ber_rd *rd, uint32_t tag, ox_ber_strtype t, char *dst,
                    size_t cap)
{
    const uint8_t *at = rd->p;
    int rc = ox_ber_read_cstr(rd, tag, t, dst, cap);
    if (rc == OX_E_LIMIT)
        return BAD(d, rd, at, OX_P1_R_VALUE);
    return ber(d, rc);
}

static int read_ordesc(const ipm_dec *d, ox_ber_rd *rd, uint32_t tag, ox_ipm_ordesc *o)
{
    ox_ber_rd s;
    TRY(d, ox_ber_enter(rd, tag, &s));
    uint32_t seen = 0;
    while (!ox_ber_at_end(&s)) {
        const uint8_t *at = s.p;
        int rc;
        unsigned bit = ox_ber_peek_tag(&s, OX_P1_TAG_ORNAME)   ? 0
                       : ox_ber_peek_tag(&s, TAG_OD_FREE_FORM) ? 1
                       : ox_ber_peek_tag(&s, TAG_OD_PHONE)     ? 2
                                                               : 9;
        if (bit == 9)
            return BAD(d, &s, at, OX_P1_R_UNKNOWN);
        if (seen & (1u << bit))
            return BAD(d, &s, at, OX_P1_R_DUPLICATE);
        seen |= 1u << bit;
        if (bit == 0) {
            o->has_formal = true;
            rc = ox_p1_orname_read(&s, OX_P1_TAG_ORNAME, &o->formal, OX_P1_1988, d->diag);
        } else if (bit == 1) {
            rc = read_str(d, &s, TAG_OD_FREE_FORM, OX_BER_STR_TELETEX, o->free_form,
                          sizeof(o->free_form));
        } else {
            rc = read_str(d, &s, TAG_OD_PHONE, OX_BER_STR_PRINTABLE, o->phone, sizeof(o->phone));
        }
        if (rc)
            return rc;
    }
    TRY(d, ox_ber_leave(rd, &s));
    return 0;
}

static int read_rs(const ipm_dec *d, ox_ber_rd *rd, ox_ipm_recipient *r)
{
    ox_ber_rd s;
    const uint8_t *at0 = rd->p;
    TRY(d, ox_ber_enter(rd, TAG_SET, &s));
    uint32_t seen = 0;
    while (!ox_ber_at_end(&s)) {
        ox_ber_tlv t;
        const uint8_t *at = s.p;
        TRY(d, ox_ber_peek(&s, &t));
        unsigned bit =
            OX_BER_TAG_CLASS(t.tag) == OX_BER_CLASS_CONTEXT ? OX_BER_TAG_NUMBER(t.tag) : 9;
        if (bit > 3)
            return BAD(d, &s, at, OX_P1_R_UNKNOWN);
        if (seen & (1u << bit))
            return BAD(d, &s, at, OX_P1_R_DUPLICATE);
        seen |= 1u << bit;
        int rc = 0;
        if (bit == 0) {
            rc = read_ordesc(d, &s, TAG_RS_RECIPIENT, &r->who);
        } else if (bit == 1) {
            uint8_t tmp[8];
            unsigned unused;
            ox_buf b;
            ox_buf_init(&b, NULL, tmp, sizeof(tmp));
            b.max = sizeof(tmp);
            rc = ber(d, ox_ber_read_bits(&s, TAG_RS_NOTIFY, &b, &unused));
            uint8_t v = b.len ? b.p[0] : 0;
            r->notify = 0;
            for (unsigned k = 0; k < 8; k++)
                if (v & (0x80u >> k))
                    r->notify |= (uint8_t)(1u << k);
            ox_buf_free(&b);
        } else if (bit == 2) {
            rc = ber(d, ox_ber_read_bool(&s, TAG_RS_REPLY, &r->reply_requested));
        } else {
            TRY(d, ox_ber_expect(&s, TAG_RS_EXT, 1, &t));
            r->extensions = t.value;
        }
        if (rc)
            return rc;
    }
    if (!(seen & 1u))
        return BAD(d, rd, at0, OX_P1_R_MISSING);
    TRY(d, ox_ber_leave(rd, &s));
    return 0;
}

static int read_rs_list(const ipm_dec *d, ox_ber_rd *rd, uint32_t tag, ox_ipm *m, bool cc)
{
    ox_ber_rd s;
    TRY(d, ox_ber_enter(rd, tag, &s));
    while (!ox_ber_at_end(&s)) {
        ox_ipm_recipient r;
        memset(&r, 0, sizeof(r));
        const uint8_t *at = s.p;
        int rc = read_rs(d, &s, &r);
        if (rc)
            return rc;
        rc = cc ? push(m->alloc, (void **)&m->cc, &m->n_cc, &m->cap_cc, sizeof(r),
                       d->lim.max_recipients)
                : push(m->alloc, (void **)&m->to, &m->n_to, &m->cap_to, sizeof(r),
                       d->lim.max_recipients);
        if (rc == OX_E_LIMIT)
            return BAD(d, &s, at, OX_P1_R_TOO_MANY);
        if (rc)
            return rc;
        if (cc)
            m->cc[m->n_cc - 1] = r;
        else
            m->to[m->n_to - 1] = r;
    }
    TRY(d, ox_ber_leave(rd, &s));
    return 0;
}

static int read_ipm_id(const ipm_dec *d, ox_ber_rd *rd, ox_ipm_id *id)
{
    ox_ber_rd s;
    TRY(d, ox_ber_enter(rd, OX_IPM_TAG_IPM_ID, &s));
    const uint8_t *at = s.p;
    if (ox_ber_peek_tag(&s, OX_P1_TAG_ORNAME)) {
        id->has_user = true;
        int rc = ox_p1_orname_read(&s, OX_P1_TAG_ORNAME, &id->user, OX_P1_1988, d->diag);
        if (rc)
            return rc;
    }
    if (!ox_ber_peek_tag(&s, TAG_PRINT))
        return BAD(d, &s, at, OX_P1_R_MISSING);
    int rc = read_str(d, &s, TAG_PRINT, OX_BER_STR_PRINTABLE, id->local, sizeof(id->local));
    if (rc)
        return rc;
    if (!ox_ber_at_end(&s))
        return BAD(d, &s, s.p, OX_P1_R_UNKNOWN);
    TRY(d, ox_ber_leave(rd, &s));
    return 0;
}

static int read_heading(const ipm_dec *d, ox_ber_rd *rd, ox_ipm *m)
{
    ox_ber_rd s;
    const uint8_t *at0 = rd->p;
    TRY(d, ox_ber_enter(rd, TAG_SET, &s));
    uint32_t seen = 0;
    while (!ox_ber_at_end(&s)) {
        ox_ber_tlv t;
        const uint8_t *at = s.p;
        TRY(d, ox_ber_peek(&s, &t));
        unsigned bit;
        if (t.tag == OX_IPM_TAG_IPM_ID)
            bit = 16;
        else if (OX_BER_TAG_CLASS(t.tag) == OX_BER_CLASS_CONTEXT && OX_BER_TAG_NUMBER(t.tag) < 16)
            bit = OX_BER_TAG_NUMBER(t.tag);
        else
            return BAD(d, &s, at, OX_P1_R_UNKNOWN);
        if (seen & (1u << bit))
            return BAD(d, &s, at, OX_P1_R_DUPLICATE);
        seen |= 1u << bit;
        int rc = 0;
        int64_t v;
        if (bit == 16) {
            rc = read_ipm_id(d, &s, &m->this_ipm);
        } else if (t.tag == TAG_H_ORIGINATOR) {
            m->has_originator = true;
            rc = read_ordesc(d, &s, TAG_H_ORIGINATOR, &m->originator);
        } else if (t.tag == TAG_H_PRIMARY) {
            rc = read_rs_list(d, &s, TAG_H_PRIMARY, m, false);
        } else if (t.tag == TAG_H_COPY) {
            rc = read_rs_list(d, &s, TAG_H_COPY, m, true);
        } else if (t.tag == TAG_H_SUBJECT) {
            ox_ber_rd x;
            TRY(d, ox_ber_enter(&s, TAG_H_SUBJECT, &x));
            m->has_subject = true;
            rc = read_str(d, &x, TAG_T61, OX_BER_STR_TELETEX, m->subject, sizeof(m->subject));
            if (!rc)
                rc = ber(d, ox_ber_leave(&s, &x));
        } else if (t.tag == TAG_H_IMPORTANCE) {
            TRY(d, ox_ber_read_int_range(&s, TAG_H_IMPORTANCE, 0, 2, &v));
            m->importance = (int)v;
        } else {
            if (m->n_other >= OX_IPM_MAX_OTHER_FIELDS)
                return BAD(d, &s, at, OX_P1_R_TOO_MANY);
            TRY(d, ox_ber_next(&s, &t));
            m->other[m->n_other].tag = t.tag;
            m->other[m->n_other++].whole = t.whole;
        }
        if (rc)
            return rc;
    }
    if (!(seen & (1u << 16)))
        return BAD(d, rd, at0, OX_P1_R_MISSING);
    TRY(d, ox_ber_leave(rd, &s));
    return 0;
}

/* INSTANCE OF TYPE-IDENTIFIER: SEQUENCE { type-id OID, value [0] EXPLICIT } under |tag|. */
static int read_instance(const ipm_dec *d, ox_ber_rd *rd, uint32_t tag, ox_oid *oid,
                         ox_ber_tlv *value)
{
    ox_ber_rd s, x;
    TRY(d, ox_ber_enter(rd, tag, &s));
    TRY(d, ox_ber_read_oid(&s, TAG_OID, oid));
    TRY(d, ox_ber_enter(&s, TAG_TI_VALUE, &x));
    TRY(d, ox_ber_next(&x, value));
    TRY(d, ox_ber_leave(&s, &x));
    TRY(d, ox_ber_leave(rd, &s));
    return 0;
}

static int read_bodypart(const ipm_dec *d, ox_ber_rd *rd, ox_ipm_bodypart *bp)
{
    ox_ber_tlv t;
    TRY(d, ox_ber_peek(rd, &t));
    bp->whole = t.whole;
    bp->repertoire = REPERTOIRE_IA5;
    if (t.tag == TAG_BP_IA5 && t.constructed) {
        ox_ber_rd s, p;
        bp->kind = OX_IPM_BP_IA5;
        TRY(d, ox_ber_enter(rd, TAG_BP_IA5, &s));
        TRY(d, ox_ber_enter(&s, TAG_SET, &p));
        if (ox_ber_peek_tag(&p, TAG_IA5_REPERTOIRE)) {
            int64_t v;
            TRY(d, ox_ber_read_int_range(&p, TAG_IA5_REPERTOIRE, 2, 5, &v));
            if (v != 2 && v != 5)
                return BAD(d, &p, p.p, OX_P1_R_VALUE);
            bp->repertoire = (int)v;
        }
        if (!ox_ber_at_end(&p))
            return BAD(d, &p, p.p, OX_P1_R_UNKNOWN);
        TRY(d, ox_ber_leave(&s, &p));
        const uint8_t *at = s.p;
        TRY(d, ox_ber_read_octets_view(&s, TAG_IA5, &bp->text));
        if (!ox_ber_str_valid(OX_BER_STR_IA5, bp->text))
            return ber(d, OX_BER_FAIL(&s, at, OX_BER_R_BAD_CHAR));
        TRY(d, ox_ber_leave(rd, &s));
        return 0;
    }
    if (t.tag == TAG_BP_EXTENDED && t.constructed) {
        /* General text if both OIDs say so; any other extended body part passes through. */
        ox_ber_rd s = *rd, e;
        ox_oid po, dat;
        ox_ber_tlv pv, dv;
        s.diag = NULL;
        ox_ber_rd quiet = s;
        if (ox_ber_enter(&quiet, TAG_BP_EXTENDED, &e) == 0 && ox_ber_peek_tag(&e, TAG_EBP_PARAMS)) {
            ox_ber_rd e2 = e;
            if (read_instance(d, &e2, TAG_EBP_PARAMS, &po, &pv) == 0 &&
                ox_oid_eq(&po, &id_ep_general_text) && pv.tag == TAG_SET &&
                read_instance(d, &e2, TAG_EXTERNAL, &dat, &dv) == 0 &&
                ox_oid_eq(&dat, &id_et_general_text) && dv.tag == TAG_GENSTR && !dv.constructed &&
                ox_ber_at_end(&e2)) {
                bp->kind = OX_IPM_BP_GENERAL_TEXT;
                bp->charsets = pv.value;
                bp->text = dv.value;
            }
        }
        if (d->diag && bp->kind != OX_IPM_BP_GENERAL_TEXT)
            d->diag->reason = OX_P1_R_NONE; /* the probe above is not a failure */
    }
    if (bp->kind != OX_IPM_BP_GENERAL_TEXT)
        bp->kind = OX_IPM_BP_OTHER;
    TRY(d, ox_ber_next(rd, &t));
    return 0;
}

int ox_ipm_decode(ox_span in, const ox_ipm_limits *lim, const ox_alloc *alloc, ox_ipm *m,
                  ox_p1_diag *diag)
{
    ipm_dec d;
    memset(&d, 0, sizeof(d));
    if (lim)
        d.lim = *lim;
    if (!d.lim.max_recipients)
        d.lim.max_recipients = OX_IPM_DEFAULT_MAX_RECIPIENTS;
    if (!d.lim.max_body_parts)
        d.lim.max_body_parts = OX_IPM_DEFAULT_MAX_BODY_PARTS;
    d.diag = diag;
    d.alloc = alloc;
    if (diag)
        memset(diag, 0, sizeof(*diag));
    ox_ipm_init(m, alloc);
    ox_ber_rd rd, s, b;
    int rc = ber(&d, ox_ber_rd_init(&rd, in, &d.lim.ber, diag ? &diag->ber : NULL));
    if (rc)
        return rc;
    if (ox_ber_peek_tag(&rd, OX_BER_CTX(1)))
        return OX_E_UNSUPPORTED; /* ipn [1] */
    rc = ber(&d, ox_ber_enter(&rd, OX_IPM_TAG_IPM, &s));
    if (!rc)
        rc = read_heading(&d, &s, m);
    if (!rc)
        rc = ber(&d, ox_ber_enter(&s, TAG_SEQ, &b));
    while (!rc && !ox_ber_at_end(&b)) {
        ox_ipm_bodypart bp;
        memset(&bp, 0, sizeof(bp));
        const uint8_t *at = b.p;
        rc = read_bodypart(&d, &b, &bp);
        if (rc)
            break;
        rc = push(alloc, (void **)&m->body, &m->n_body, &m->cap_body, sizeof(bp),
                  d.lim.max_body_parts);
        if (rc == OX_E_LIMIT)
            rc = BAD(&d, &b, at, OX_P1_R_TOO_MANY);
        if (!rc)
            m->body[m->n_body - 1] = bp;
    }
    if (!rc)
        rc = ber(&d, ox_ber_leave(&s, &b));
    if (!rc)
        rc = ber(&d, ox_ber_leave(&rd, &s));
    if (!rc && !ox_ber_at_end(&rd))
        rc = ber(&d, OX_BER_FAIL(&rd, rd.p, OX_BER_R_LEFTOVER));
    if (rc)
        ox_ipm_free(m);
    return rc;
}

/* ---- encode ---- */
static void fail(ox_buf *w, int err)
{
    if (!w->err)
        w->err = err;
}

static void put_ordesc(ox_buf *w, uint32_t tag, const ox_ipm_ordesc *o)
{
    size_t m = ox_ber_open(w, tag);
    if (o->has_formal)
        ox_p1_orname_encode(w, &o->formal, OX_P1_1988);
    if (o->free_form[0])
        ox_ber_put_cstr(w, TAG_OD_FREE_FORM, OX_BER_STR_TELETEX, o->free_form);
    if (o->phone[0])
        ox_ber_put_cstr(w, TAG_OD_PHONE, OX_BER_STR_PRINTABLE, o->phone);
    ox_ber_close(w, m);
}

static void put_rs_list(ox_buf *w, uint32_t tag, const ox_ipm_recipient *v, uint32_t n)
{
    size_t m = ox_ber_open(w, tag);
    for (uint32_t i = 0; i < n; i++) {
        size_t s = ox_ber_open(w, TAG_SET);
        put_ordesc(w, TAG_RS_RECIPIENT, &v[i].who);
        if (v[i].notify) {
            uint8_t b = 0;
            unsigned nbits = 0;
            for (unsigned k = 0; k < 8; k++)
                if (v[i].notify & (1u << k)) {
                    b |= (uint8_t)(0x80u >> k);
                    nbits = k + 1;
                }
            ox_ber_put_bits(w, TAG_RS_NOTIFY, ox_span_of(&b, 1), 8 - nbits);
        }
        if (v[i].reply_requested)
            ox_ber_put_bool(w, TAG_RS_REPLY, true);
        if (v[i].extensions.len) {
            size_t x = ox_ber_open(w, TAG_RS_EXT);
            ox_ber_put_raw(w, v[i].extensions);
            ox_ber_close(w, x);
        }
        ox_ber_close(w, s);
    }
    ox_ber_close(w, m);
}

static void put_other_upto(ox_buf *w, const ox_ipm *m, uint8_t *next, unsigned below)
{
    while (*next < m->n_other && OX_BER_TAG_NUMBER(m->other[*next].tag) < below)
        ox_ber_put_raw(w, m->other[(*next)++].whole);
}

int ox_ipm_encode(ox_buf *w, const ox_ipm *m)
{
    size_t top = ox_ber_open(w, OX_IPM_TAG_IPM);
    size_t h = ox_ber_open(w, TAG_SET);
    /* DER order: [APPLICATION 11] first, then context tags by number; the unmodelled fields
     * (kept in the order received, which canonical input has ascending) merge in by tag. */
    size_t id = ox_ber_open(w, OX_IPM_TAG_IPM_ID);
    if (m->this_ipm.has_user)
        ox_p1_orname_encode(w, &m->this_ipm.user, OX_P1_1988);
    ox_ber_put_cstr(w, TAG_PRINT, OX_BER_STR_PRINTABLE, m->this_ipm.local);
    ox_ber_close(w, id);
    uint8_t next = 0;
    put_other_upto(w, m, &next, 0);
    if (m->has_originator)
        put_ordesc(w, TAG_H_ORIGINATOR, &m->originator);
    put_other_upto(w, m, &next, 2);
    if (m->n_to)
        put_rs_list(w, TAG_H_PRIMARY, m->to, m->n_to);
    if (m->n_cc)
        put_rs_list(w, TAG_H_COPY, m->cc, m->n_cc);
    put_other_upto(w, m, &next, 8);
    if (m->has_subject) {
        if (strlen(m->subject) > OX_IPM_UB_SUBJECT)
            fail(w, OX_E_ARG);
        size_t s = ox_ber_open(w, TAG_H_SUBJECT);
        ox_ber_put_cstr(w, TAG_T61, OX_BER_STR_TELETEX, m->subject);
        ox_ber_close(w, s);
    }
    put_other_upto(w, m, &next, 12);
    if (m->importance != 1) {
        if (m->importance < 0 || m->importance > 2)
            fail(w, OX_E_ARG);
        ox_ber_put_int(w, TAG_H_IMPORTANCE, m->importance);
    }
    put_other_upto(w, m, &next, 16);
    ox_ber_close(w, h);
    size_t b = ox_ber_open(w, TAG_SEQ);
    for (uint32_t i = 0; i < m->n_body; i++) {
        const ox_ipm_bodypart *bp = &m->body[i];
        if (bp->kind == OX_IPM_BP_IA5) {
            size_t p = ox_ber_open(w, TAG_BP_IA5);
            size_t s = ox_ber_open(w, TAG_SET);
            if (bp->repertoire && bp->repertoire != REPERTOIRE_IA5)
                ox_ber_put_int(w, TAG_IA5_REPERTOIRE, bp->repertoire);
            ox_ber_close(w, s);
            ox_ber_put_string(w, TAG_IA5, OX_BER_STR_IA5, bp->text);
            ox_ber_close(w, p);
        } else if (bp->kind == OX_IPM_BP_GENERAL_TEXT) {
            size_t p = ox_ber_open(w, TAG_BP_EXTENDED);
            size_t x = ox_ber_open(w, TAG_EBP_PARAMS);
            ox_ber_put_oid(w, TAG_OID, &id_ep_general_text);
            size_t v = ox_ber_open(w, TAG_TI_VALUE);
            size_t s = ox_ber_open(w, TAG_SET);
            ox_ber_put_raw(w, bp->charsets);
            ox_ber_close(w, s);
            ox_ber_close(w, v);
            ox_ber_close(w, x);
            x = ox_ber_open(w, TAG_EXTERNAL);
            ox_ber_put_oid(w, TAG_OID, &id_et_general_text);
            v = ox_ber_open(w, TAG_TI_VALUE);
            ox_ber_put_string(w, TAG_GENSTR, OX_BER_STR_GENERAL, bp->text);
            ox_ber_close(w, v);
            ox_ber_close(w, x);
            ox_ber_close(w, p);
        } else {
            ox_ber_put_raw(w, bp->whole);
        }
    }
    ox_ber_close(w, b);
    ox_ber_close(w, top);
    return ox_ber_wr_status(w);
}
