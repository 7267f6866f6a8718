/* acse_pdu.c - X.227 APDU codec: AARQ, AARE, RLRQ, RLRE, ABRT and EXTERNAL
 *
 * Why: pure bytes <-> struct functions for the association phase. Decoders accept the
 *      SEQUENCE components in order (X.227 is a SEQUENCE), skip the authentication and
 *      ASO fields an MTA never negotiates (10-13 in AARQ, 8-11 in AARE), and refuse unknown
 *      tags, duplicates, leftovers and more EXTERNALs than the limit.
 * Limits: ox_acse_limits; more EXTERNALs -> OX_E_LIMIT (diag reason SIZE).
 * Diagnostics: OX_E_PEER / OX_E_LIMIT with ox_ber_diag.
 * Standards: X.227 (1994) 7.1 (ACSE-1, default EXPLICIT tags: application-context-name,
 *      AP-title, AE-qualifier, invocation identifiers, result and result-source-diagnostic
 *      are explicit; the rest implicit); X.690 (2002) 8.18 (EXTERNAL, 1990 form). */
#include "openx400/acse.h"

#include <string.h>

const ox_oid ox_oid_ac_mts_transfer = OX_OID_INIT(2, 6, 0, 1, 6);

#define T_INT   OX_BER_UNIV(OX_BER_T_INTEGER)
#define T_OID   OX_BER_UNIV(OX_BER_T_OID)
#define T_SEQ   OX_BER_UNIV(OX_BER_T_SEQUENCE)
#define T_SET   OX_BER_UNIV(OX_BER_T_SET)
#define T_ODESC OX_BER_UNIV(OX_BER_T_OBJECT_DESCRIPTOR)

/* protocol-version BIT STRING {version1 (0)}: first content byte after the unused count. */
#define ACSE_VERSION1_BIT 0x80u

#define FAIL(rd, at, reason) ox_ber_fail((rd), (at), (reason), __LINE__)

/* ---------------------------------------------------------------- EXTERNAL */

static int read_external(ox_ber_rd *rd, ox_acse_external *e)
{
    ox_ber_rd s;
    int rc = ox_ber_enter(rd, OX_ACSE_TAG_EXTERNAL, &s);
    if (rc)
        return rc;
    memset(e, 0, sizeof(*e));
    if (ox_ber_peek_tag(&s, T_OID)) {
        if ((rc = ox_ber_read_oid(&s, T_OID, &e->direct)) != 0)
            return rc;
        e->has_direct = true;
    }
    if (ox_ber_peek_tag(&s, T_INT)) {
        if ((rc = ox_ber_read_int(&s, T_INT, &e->indirect)) != 0)
            return rc;
        e->has_indirect = true;
    }
    ox_ber_tlv t;
    if (ox_ber_peek_tag(&s, T_ODESC) && (rc = ox_ber_next(&s, &t)) != 0)
        return rc; /* data-value-descriptor: informative only */
    if ((rc = ox_ber_peek(&s, &t)) != 0)
        return rc;
    if (t.tag == OX_ACSE_TAG_EXT_SINGLE) {
        ox_ber_rd v;
        ox_ber_tlv inner;
        if ((rc = ox_ber_enter(&s, OX_ACSE_TAG_EXT_SINGLE, &v)) != 0 ||
            (rc = ox_ber_next(&v, &inner)) != 0 || (rc = ox_ber_leave(&s, &v)) != 0)
            return rc;
        e->enc = OX_ACSE_EXT_SINGLE;
        e->value = inner.whole;
    } else if (t.tag == OX_ACSE_TAG_EXT_OCTETS) {
        if ((rc = ox_ber_read_octets_view(&s, OX_ACSE_TAG_EXT_OCTETS, &e->value)) != 0)
            return rc;
        e->enc = OX_ACSE_EXT_OCTETS;
    } else if (t.tag == OX_ACSE_TAG_EXT_ARBITRARY) {
        if ((rc = ox_ber_read_octets_view(&s, OX_ACSE_TAG_EXT_ARBITRARY, &e->value)) != 0)
            return rc;
        if (e->value.len == 0 || e->value.p[0] > 7)
            return FAIL(&s, t.whole.p, OX_BER_R_BAD_BIT_STRING);
        e->enc = OX_ACSE_EXT_BITS;
    } else {
        return FAIL(&s, s.p, OX_BER_R_UNEXPECTED_TAG);
    }
    if (!e->has_direct && !e->has_indirect)
        return FAIL(&s, s.p, OX_BER_R_UNEXPECTED_TAG); /* X.690 8.18.1: one must be present */
    return ox_ber_leave(rd, &s);
}

int ox_acse_external_decode(ox_span in, const ox_ber_limits *lim, ox_acse_external *e,
                            ox_ber_diag *diag)
{
    ox_ber_rd rd;
    int rc = ox_ber_rd_init(&rd, in, lim, diag);
    if (rc || (rc = read_external(&rd, e)) != 0)
        return rc;
    if (!ox_ber_at_end(&rd))
        return FAIL(&rd, rd.p, OX_BER_R_LEFTOVER);
    return 0;
}

static int bad_arg(ox_buf *w)
{
    if (!w->err)
        w->err = OX_E_ARG;
    return w->err;
}

int ox_acse_external_encode(ox_buf *w, const ox_acse_external *e)
{
    if (!e->has_direct && !e->has_indirect)
        return bad_arg(w);
    size_t m = ox_ber_open(w, OX_ACSE_TAG_EXTERNAL);
    if (e->has_direct)
        ox_ber_put_oid(w, T_OID, &e->direct);
    if (e->has_indirect)
        ox_ber_put_int(w, T_INT, e->indirect);
    switch (e->enc) {
    case OX_ACSE_EXT_SINGLE: {
        size_t v = ox_ber_open(w, OX_ACSE_TAG_EXT_SINGLE);
        ox_ber_put_raw(w, e->value);
        ox_ber_close(w, v);
        break;
    }
    case OX_ACSE_EXT_OCTETS: ox_ber_put_octets(w, OX_ACSE_TAG_EXT_OCTETS, e->value); break;
    case OX_ACSE_EXT_BITS:
        ox_ber_put_prim(w, OX_ACSE_TAG_EXT_ARBITRARY, e->value.p, e->value.len);
        break;
    default: return bad_arg(w);
    }
    ox_ber_close(w, m);
    return w->err;
}

/* ---------------------------------------------------------------- decode helpers */

static int read_user_info(ox_ber_rd *rd, size_t max, ox_acse_user_info *ui)
{
    ox_ber_rd s;
    int rc = ox_ber_enter(rd, OX_ACSE_TAG_USER_INFO, &s);
    if (rc)
        return rc;
    ui->n = 0;
    while (!ox_ber_at_end(&s)) {
        if (ui->n >= max)
            return FAIL(&s, s.p, OX_BER_R_SIZE);
        if ((rc = read_external(&s, &ui->ext[ui->n])) != 0)
            return rc;
        ui->n++;
    }
    if (ui->n == 0)
        return FAIL(&s, s.p, OX_BER_R_TRUNC_TAG); /* SIZE (1..MAX) */
    ui->present = true;
    return ox_ber_leave(rd, &s);
}

/* [tag] EXPLICIT AP-title: CHOICE { form1 Name (SEQUENCE), form2 OBJECT IDENTIFIER }. */
static int read_ap_title(ox_ber_rd *rd, uint32_t tag, ox_acse_ap_title *t)
{
    ox_ber_rd s;
    int rc = ox_ber_enter(rd, tag, &s);
    if (rc)
        return rc;
    if (ox_ber_peek_tag(&s, T_OID)) {
        if ((rc = ox_ber_read_oid(&s, T_OID, &t->oid)) != 0)
            return rc;
        t->form = OX_ACSE_FORM2;
    } else {
        ox_ber_tlv e;
        if ((rc = ox_ber_expect(&s, T_SEQ, 1, &e)) != 0)
            return rc;
        t->form = OX_ACSE_FORM1;
        t->form1 = e.whole;
    }
    return ox_ber_leave(rd, &s);
}

/* [tag] EXPLICIT AE-qualifier: CHOICE { form1 RDN (SET), form2 INTEGER }. */
static int read_ae_qual(ox_ber_rd *rd, uint32_t tag, ox_acse_ae_qual *q)
{
    ox_ber_rd s;
    int rc = ox_ber_enter(rd, tag, &s);
    if (rc)
        return rc;
    if (ox_ber_peek_tag(&s, T_INT)) {
        if ((rc = ox_ber_read_int(&s, T_INT, &q->value)) != 0)
            return rc;
        q->form = OX_ACSE_FORM2;
    } else {
        ox_ber_tlv e;
        if ((rc = ox_ber_expect(&s, T_SET, 1, &e)) != 0)
            return rc;
        q->form = OX_ACSE_FORM1;
        q->form1 = e.whole;
    }
    return ox_ber_leave(rd, &s);
}

/* [tag] EXPLICIT INTEGER (invocation identifiers, result, diagnostic codes). */
static int read_explicit_int(ox_ber_rd *rd, uint32_t tag, int64_t *v)
{
    ox_ber_rd s;
    int rc;
    if ((rc = ox_ber_enter(rd, tag, &s)) != 0 || (rc = ox_ber_read_int(&s, T_INT, v)) != 0)
        return rc;
    return ox_ber_leave(rd, &s);
}

static int read_opt_int(ox_ber_rd *rd, uint32_t tag, ox_acse_opt_int *o)
{
    int rc = read_explicit_int(rd, tag, &o->v);
    o->present = rc == 0;
    return rc;
}

static int read_version(ox_ber_rd *rd)
{
    ox_ber_tlv t;
    int rc = ox_ber_expect(rd, OX_ACSE_TAG_PROTO_VER, 0, &t);
    if (rc)
        return rc;
    if (t.value.len < 2 || t.value.p[0] > 7)
        return FAIL(rd, t.whole.p, OX_BER_R_BAD_BIT_STRING);
    if (!(t.value.p[1] & ACSE_VERSION1_BIT))
        return FAIL(rd, t.whole.p, OX_BER_R_INT_RANGE);
    return 0;
}

static int read_app_ctx(ox_ber_rd *rd, ox_oid *oid)
{
    ox_ber_rd s;
    int rc;
    if ((rc = ox_ber_enter(rd, OX_ACSE_TAG_APP_CTX, &s)) != 0 ||
        (rc = ox_ber_read_oid(&s, T_OID, oid)) != 0)
        return rc;
    return ox_ber_leave(rd, &s);
}

/* Components must come in ascending tag order (SEQUENCE); returns the next context tag number
 * or -1 at the end. Anything not context-class is an error. */
static int next_ctx(ox_ber_rd *s, int last, int *num)
{
    if (ox_ber_at_end(s)) {
        *num = -1;
        return 0;
    }
    ox_ber_tlv t;
    int rc = ox_ber_peek(s, &t);
    if (rc)
        return rc;
    if (OX_BER_TAG_CLASS(t.tag) != OX_BER_CLASS_CONTEXT || (int)OX_BER_TAG_NUMBER(t.tag) <= last ||
        OX_BER_TAG_NUMBER(t.tag) > 30)
        return FAIL(s, s->p, OX_BER_R_UNEXPECTED_TAG);
    *num = (int)OX_BER_TAG_NUMBER(t.tag);
    return 0;
}

static int skip(ox_ber_rd *s)
{
    ox_ber_tlv t;
    return ox_ber_next(s, &t);
}

static int read_impl(ox_ber_rd *s, ox_span *v)
{
    return ox_ber_read_octets_view(s, OX_ACSE_TAG_IMPL_INFO, v);
}

static int read_aarq(ox_ber_rd *s, size_t max_ext, ox_acse_aarq *a)
{
    int rc, num = -1, last = -1;
    bool have_ctx = false;
    while ((rc = next_ctx(s, last, &num)) == 0 && num >= 0) {
        switch (num) {
        case 0: rc = read_version(s); break;
        case 1:
            rc = read_app_ctx(s, &a->app_ctx);
            have_ctx = rc == 0;
            break;
        case 2: rc = read_ap_title(s, OX_ACSE_TAG_CALLED_AP, &a->called_ap); break;
        case 3: rc = read_ae_qual(s, OX_ACSE_TAG_CALLED_AE, &a->called_ae); break;
        case 4: rc = read_opt_int(s, OX_ACSE_TAG_CALLED_APINV, &a->called_ap_inv); break;
        case 5: rc = read_opt_int(s, OX_ACSE_TAG_CALLED_AEINV, &a->called_ae_inv); break;
        case 6: rc = read_ap_title(s, OX_ACSE_TAG_CALLING_AP, &a->calling_ap); break;
        case 7: rc = read_ae_qual(s, OX_ACSE_TAG_CALLING_AE, &a->calling_ae); break;
        case 8: rc = read_opt_int(s, OX_ACSE_TAG_CALLING_APINV, &a->calling_ap_inv); break;
        case 9: rc = read_opt_int(s, OX_ACSE_TAG_CALLING_AEINV, &a->calling_ae_inv); break;
        case 10: /* sender-acse-requirements */
        case 11: /* mechanism-name */
        case 12: /* calling-authentication-value */
        case 13: /* application-context-name-list */ rc = skip(s); break;
        case 29: rc = read_impl(s, &a->impl_info); break;
        case 30: rc = read_user_info(s, max_ext, &a->ui); break;
        default: return FAIL(s, s->p, OX_BER_R_UNEXPECTED_TAG);
        }
        if (rc)
            return rc;
        last = num;
    }
    if (rc)
        return rc;
    if (!have_ctx)
        return FAIL(s, s->p, OX_BER_R_TRUNC_TAG);
    return 0;
}

static int read_result_diag(ox_ber_rd *s, ox_acse_aare *a)
{
    ox_ber_rd d;
    int rc = ox_ber_enter(s, OX_ACSE_TAG_RESULT_DIAG, &d);
    if (rc)
        return rc;
    if (ox_ber_peek_tag(&d, OX_ACSE_TAG_DIAG_USER)) {
        a->diag_source = OX_ACSE_DIAG_SERVICE_USER;
        rc = read_explicit_int(&d, OX_ACSE_TAG_DIAG_USER, &a->diag);
    } else {
        a->diag_source = OX_ACSE_DIAG_SERVICE_PROVIDER;
        rc = read_explicit_int(&d, OX_ACSE_TAG_DIAG_PROVIDER, &a->diag);
    }
    if (rc)
        return rc;
    return ox_ber_leave(s, &d);
}

static int read_aare(ox_ber_rd *s, size_t max_ext, ox_acse_aare *a)
{
    int rc, num = -1, last = -1;
    unsigned need = 0;
    while ((rc = next_ctx(s, last, &num)) == 0 && num >= 0) {
        switch (num) {
        case 0: rc = read_version(s); break;
        case 1:
            rc = read_app_ctx(s, &a->app_ctx);
            need |= 1;
            break;
        case 2:
            rc = read_explicit_int(s, OX_ACSE_TAG_RESULT, &a->result);
            if (rc == 0 && (a->result < 0 || a->result > 2))
                return FAIL(s, s->p, OX_BER_R_INT_RANGE);
            need |= 2;
            break;
        case 3:
            rc = read_result_diag(s, a);
            need |= 4;
            break;
        case 4: rc = read_ap_title(s, OX_ACSE_TAG_RESPONDING_AP, &a->responding_ap); break;
        case 5: rc = read_ae_qual(s, OX_ACSE_TAG_RESPONDING_AE, &a->responding_ae); break;
        case 6: rc = read_opt_int(s, OX_ACSE_TAG_RESPONDING_APINV, &a->responding_ap_inv); break;
        case 7: rc = read_opt_int(s, OX_ACSE_TAG_RESPONDING_AEINV, &a->responding_ae_inv); break;
        case 8:  /* responder-acse-requirements */
        case 9:  /* mechanism-name */
        case 10: /* responding-authentication-value */
        case 11: /* application-context-name-list */ rc = skip(s); break;
        case 29: rc = read_impl(s, &a->impl_info); break;
        case 30: rc = read_user_info(s, max_ext, &a->ui); break;
        default: return FAIL(s, s->p, OX_BER_R_UNEXPECTED_TAG);
        }
        if (rc)
            return rc;
        last = num;
    }
    if (rc)
        return rc;
    if (need != 7)
        return FAIL(s, s->p, OX_BER_R_TRUNC_TAG);
    return 0;
}

static int read_rlrx(ox_ber_rd *s, size_t max_ext, ox_acse_rlrx *a)
{
    int rc, num = -1, last = -1;
    while ((rc = next_ctx(s, last, &num)) == 0 && num >= 0) {
        if (num == 0) {
            rc = ox_ber_read_int(s, OX_ACSE_TAG_REASON, &a->reason.v);
            a->reason.present = rc == 0;
        } else if (num == 13 || num == 14) {
            rc = skip(s); /* aso-qualifier, asoi-identifier */
        } else if (num == 30) {
            rc = read_user_info(s, max_ext, &a->ui);
        } else {
            return FAIL(s, s->p, OX_BER_R_UNEXPECTED_TAG);
        }
        if (rc)
            return rc;
        last = num;
    }
    return rc;
}

static int read_abrt(ox_ber_rd *s, size_t max_ext, ox_acse_abrt *a)
{
    int rc, num = -1, last = -1;
    bool have_source = false;
    while ((rc = next_ctx(s, last, &num)) == 0 && num >= 0) {
        if (num == 0) {
            rc = ox_ber_read_int_range(s, OX_ACSE_TAG_ABRT_SOURCE, 0, 1, &a->source);
            have_source = rc == 0;
        } else if (num == 1) {
            rc = ox_ber_read_int(s, OX_ACSE_TAG_ABRT_DIAG, &a->diag.v);
            a->diag.present = rc == 0;
        } else if (num == 13 || num == 14) {
            rc = skip(s);
        } else if (num == 30) {
            rc = read_user_info(s, max_ext, &a->ui);
        } else {
            return FAIL(s, s->p, OX_BER_R_UNEXPECTED_TAG);
        }
        if (rc)
            return rc;
        last = num;
    }
    if (rc)
        return rc;
    if (!have_source)
        return FAIL(s, s->p, OX_BER_R_TRUNC_TAG);
    return 0;
}

int ox_acse_decode(ox_span in, const ox_acse_limits *lim, ox_acse_apdu *apdu, ox_ber_diag *diag)
{
    ox_ber_rd rd, s;
    memset(apdu, 0, sizeof(*apdu));
    size_t max_ext = OX_ACSE_MAX_EXTERNALS;
    if (lim && lim->max_externals && lim->max_externals < max_ext)
        max_ext = lim->max_externals;
    int rc = ox_ber_rd_init(&rd, in, lim ? &lim->ber : NULL, diag);
    if (rc)
        return rc;
    ox_ber_tlv t;
    if ((rc = ox_ber_peek(&rd, &t)) != 0)
        return rc;
    if (OX_BER_TAG_CLASS(t.tag) != OX_BER_CLASS_APPLICATION || OX_BER_TAG_NUMBER(t.tag) > 4)
        return FAIL(&rd, rd.p, OX_BER_R_UNEXPECTED_TAG);
    if ((rc = ox_ber_enter(&rd, t.tag, &s)) != 0)
        return rc;
    apdu->kind = (ox_acse_kind)OX_BER_TAG_NUMBER(t.tag);
    switch (apdu->kind) {
    case OX_ACSE_AARQ: rc = read_aarq(&s, max_ext, &apdu->u.aarq); break;
    case OX_ACSE_AARE: rc = read_aare(&s, max_ext, &apdu->u.aare); break;
    case OX_ACSE_RLRQ:
    case OX_ACSE_RLRE: rc = read_rlrx(&s, max_ext, &apdu->u.rlrq); break;
    case OX_ACSE_ABRT: rc = read_abrt(&s, max_ext, &apdu->u.abrt); break;
    }
    if (rc || (rc = ox_ber_leave(&rd, &s)) != 0)
        return rc;
    if (!ox_ber_at_end(&rd))
        return FAIL(&rd, rd.p, OX_BER_R_LEFTOVER);
    return 0;
}

/* ---------------------------------------------------------------- encoders */

static void put_explicit_int(ox_buf *w, uint32_t tag, int64_t v)
{
    size_t m = ox_ber_open(w, tag);
    ox_ber_put_int(w, T_INT, v);
    ox_ber_close(w, m);
}

static void put_opt_int(ox_buf *w, uint32_t tag, const ox_acse_opt_int *o)
{
    if (o->present)
        put_explicit_int(w, tag, o->v);
}

static void put_ap_title(ox_buf *w, uint32_t tag, const ox_acse_ap_title *t)
{
    if (t->form == OX_ACSE_ABSENT)
        return;
    size_t m = ox_ber_open(w, tag);
    if (t->form == OX_ACSE_FORM2)
        ox_ber_put_oid(w, T_OID, &t->oid);
    else
        ox_ber_put_raw(w, t->form1);
    ox_ber_close(w, m);
}

static void put_ae_qual(ox_buf *w, uint32_t tag, const ox_acse_ae_qual *q)
{
    if (q->form == OX_ACSE_ABSENT)
        return;
    size_t m = ox_ber_open(w, tag);
    if (q->form == OX_ACSE_FORM2)
        ox_ber_put_int(w, T_INT, q->value);
    else
        ox_ber_put_raw(w, q->form1);
    ox_ber_close(w, m);
}

static void put_app_ctx(ox_buf *w, const ox_oid *oid)
{
    size_t m = ox_ber_open(w, OX_ACSE_TAG_APP_CTX);
    ox_ber_put_oid(w, T_OID, oid);
    ox_ber_close(w, m);
}

static void put_user_info(ox_buf *w, const ox_acse_user_info *ui)
{
    if (!ui->present)
        return;
    if (ui->n == 0 || ui->n > OX_ACSE_MAX_EXTERNALS) {
        bad_arg(w);
        return;
    }
    size_t m = ox_ber_open(w, OX_ACSE_TAG_USER_INFO);
    for (size_t i = 0; i < ui->n; i++)
        ox_acse_external_encode(w, &ui->ext[i]);
    ox_ber_close(w, m);
}

static void put_impl(ox_buf *w, ox_span impl)
{
    if (impl.p)
        ox_ber_put_string(w, OX_ACSE_TAG_IMPL_INFO, OX_BER_STR_GENERAL, impl);
}

int ox_acse_aarq_encode(ox_buf *w, const ox_acse_aarq *a)
{
    size_t m = ox_ber_open(w, OX_ACSE_TAG_AARQ);
    /* protocol-version DEFAULT {version1}: omitted. */
    put_app_ctx(w, &a->app_ctx);
    put_ap_title(w, OX_ACSE_TAG_CALLED_AP, &a->called_ap);
    put_ae_qual(w, OX_ACSE_TAG_CALLED_AE, &a->called_ae);
    put_opt_int(w, OX_ACSE_TAG_CALLED_APINV, &a->called_ap_inv);
    put_opt_int(w, OX_ACSE_TAG_CALLED_AEINV, &a->called_ae_inv);
    put_ap_title(w, OX_ACSE_TAG_CALLING_AP, &a->calling_ap);
    put_ae_qual(w, OX_ACSE_TAG_CALLING_AE, &a->calling_ae);
    put_opt_int(w, OX_ACSE_TAG_CALLING_APINV, &a->calling_ap_inv);
    put_opt_int(w, OX_ACSE_TAG_CALLING_AEINV, &a->calling_ae_inv);
    put_impl(w, a->impl_info);
    put_user_info(w, &a->ui);
    ox_ber_close(w, m);
    return w->err;
}

int ox_acse_aare_encode(ox_buf *w, const ox_acse_aare *a)
{
    if (a->result < 0 || a->result > 2 ||
        (a->diag_source != OX_ACSE_DIAG_SERVICE_USER &&
         a->diag_source != OX_ACSE_DIAG_SERVICE_PROVIDER))
        return bad_arg(w);
    size_t m = ox_ber_open(w, OX_ACSE_TAG_AARE);
    put_app_ctx(w, &a->app_ctx);
    put_explicit_int(w, OX_ACSE_TAG_RESULT, a->result);
    size_t d = ox_ber_open(w, OX_ACSE_TAG_RESULT_DIAG);
    put_explicit_int(w,
                     a->diag_source == OX_ACSE_DIAG_SERVICE_USER ? OX_ACSE_TAG_DIAG_USER
                                                                 : OX_ACSE_TAG_DIAG_PROVIDER,
                     a->diag);
    ox_ber_close(w, d);
    put_ap_title(w, OX_ACSE_TAG_RESPONDING_AP, &a->responding_ap);
    put_ae_qual(w, OX_ACSE_TAG_RESPONDING_AE, &a->responding_ae);
    put_opt_int(w, OX_ACSE_TAG_RESPONDING_APINV, &a->responding_ap_inv);
    put_opt_int(w, OX_ACSE_TAG_RESPONDING_AEINV, &a->responding_ae_inv);
    put_impl(w, a->impl_info);
    put_user_info(w, &a->ui);
    ox_ber_close(w, m);
    return w->err;
}

static int put_rlrx(ox_buf *w, uint32_t tag, const ox_acse_rlrx *a)
{
    size_t m = ox_ber_open(w, tag);
    if (a->reason.present)
        ox_ber_put_int(w, OX_ACSE_TAG_REASON, a->reason.v);
    put_user_info(w, &a->ui);
    ox_ber_close(w, m);
    return w->err;
}

int ox_acse_rlrq_encode(ox_buf *w, const ox_acse_rlrx *a)
{
    return put_rlrx(w, OX_ACSE_TAG_RLRQ, a);
}

int ox_acse_rlre_encode(ox_buf *w, const ox_acse_rlrx *a)
{
    return put_rlrx(w, OX_ACSE_TAG_RLRE, a);
}

int ox_acse_abrt_encode(ox_buf *w, const ox_acse_abrt *a)
{
    if (a->source != OX_ACSE_ABRT_SOURCE_USER && a->source != OX_ACSE_ABRT_SOURCE_PROVIDER)
        return bad_arg(w);
    size_t m = ox_ber_open(w, OX_ACSE_TAG_ABRT);
    ox_ber_put_int(w, OX_ACSE_TAG_ABRT_SOURCE, a->source);
    if (a->diag.present)
        ox_ber_put_int(w, OX_ACSE_TAG_ABRT_DIAG, a->diag.v);
    put_user_info(w, &a->ui);
    ox_ber_close(w, m);
    return w->err;
}
