/* pres_pdu.c - X.226 PPDU codec: CP-type, CPA, CPR, ARU, ARP and User-data
 *
 * Why: pure bytes <-> struct functions, so the presentation machine (pres.c) and the tests
 *      see PPDUs as plain structs. Decoders walk SETs in any order and refuse duplicates,
 *      unknown tags, leftovers and more items than the limits allow; encoders write the
 *      components in tag order with DER-shaped lengths, omitting DEFAULT values.
 * Limits: ox_pres_limits; counts beyond them -> OX_E_LIMIT (diag reason SIZE).
 * Diagnostics: OX_E_PEER / OX_E_LIMIT with ox_ber_diag (reason, offset, line).
 * Standards: X.226 (1994) 8.2 (ISO8823-PRESENTATION); X.410 (1984) 6.2 (PConnect, PAccept,
 *      PRefuse: bitwise the x410-1984 forms of CP-type, CPA-PPDU and CPR-PPDU). */
#include "openx400/pres.h"

#include <string.h>

const ox_oid ox_oid_pres_ber = OX_OID_INIT(2, 1, 1);
const ox_oid ox_oid_as_acse = OX_OID_INIT(2, 2, 1, 0, 1);
const ox_oid ox_oid_as_mta_rtse = OX_OID_INIT(2, 6, 0, 2, 12);
const ox_oid ox_oid_as_mtse = OX_OID_INIT(2, 6, 0, 2, 7);

#define T_INT OX_BER_UNIV(OX_BER_T_INTEGER)
#define T_OID OX_BER_UNIV(OX_BER_T_OID)
#define T_SEQ OX_BER_UNIV(OX_BER_T_SEQUENCE)
#define T_SET OX_BER_UNIV(OX_BER_T_SET)

/* Protocol-version ::= BIT STRING {version-1 (0)}: one byte, 7 unused bits, bit 0 set. */
#define PRES_VERSION1_BYTE 0x80u

#define FAIL(rd, at, reason) ox_ber_fail((rd), (at), (reason), __LINE__)

typedef struct pres_lim {
    size_t max_contexts;
    size_t max_pdvs;
} pres_lim;

static pres_lim lim_of(const ox_pres_limits *l)
{
    pres_lim r = {OX_PRES_MAX_CONTEXTS, OX_PRES_MAX_PDVS};
    if (l && l->max_contexts && l->max_contexts < r.max_contexts)
        r.max_contexts = l->max_contexts;
    if (l && l->max_pdvs && l->max_pdvs < r.max_pdvs)
        r.max_pdvs = l->max_pdvs;
    return r;
}

static int rd_start(ox_ber_rd *rd, ox_span in, const ox_pres_limits *lim, ox_ber_diag *diag)
{
    return ox_ber_rd_init(rd, in, lim ? &lim->ber : NULL, diag);
}

/* Marks |bit| seen in |*seen|; a second sighting of a component is a peer error. */
static int once(const ox_ber_rd *rd, uint32_t *seen, unsigned bit)
{
    if (*seen & (1u << bit))
        return FAIL(rd, rd->p, OX_BER_R_UNEXPECTED_TAG);
    *seen |= 1u << bit;
    return 0;
}

/* ---------------------------------------------------------------- decode helpers */

static int read_view(ox_ber_rd *rd, uint32_t tag, ox_span *v)
{
    /* Selectors and requirement bits are short: primitive form only. */
    return ox_ber_read_octets_view(rd, tag, v);
}

static int read_version(ox_ber_rd *rd)
{
    ox_ber_tlv t;
    int rc = ox_ber_expect(rd, OX_PRES_TAG_PROTO_VER, 0, &t);
    if (rc)
        return rc;
    /* BIT STRING: unused-bits octet then at least one byte whose top bit is version-1. */
    if (t.value.len < 2 || t.value.p[0] > 7)
        return FAIL(rd, t.whole.p, OX_BER_R_BAD_BIT_STRING);
    if (!(t.value.p[1] & PRES_VERSION1_BYTE))
        return FAIL(rd, t.whole.p, OX_BER_R_INT_RANGE);
    return 0;
}

/* Context-list ::= SEQUENCE OF SEQUENCE { id INTEGER, abstract OID, SEQUENCE OF OID } */
static int read_ctx_list(ox_ber_rd *rd, uint32_t tag, const pres_lim *pl, ox_pres_ctx_def *ctx,
                         size_t *n)
{
    ox_ber_rd list;
    int rc = ox_ber_enter(rd, tag, &list);
    if (rc)
        return rc;
    *n = 0;
    while (!ox_ber_at_end(&list)) {
        if (*n >= pl->max_contexts)
            return FAIL(&list, list.p, OX_BER_R_SIZE);
        ox_pres_ctx_def *c = &ctx[*n];
        memset(c, 0, sizeof(*c));
        ox_ber_rd item, ts;
        if ((rc = ox_ber_enter(&list, T_SEQ, &item)) != 0 ||
            (rc = ox_ber_read_int(&item, T_INT, &c->id)) != 0 ||
            (rc = ox_ber_read_oid(&item, T_OID, &c->abstract_syntax)) != 0 ||
            (rc = ox_ber_enter(&item, T_SEQ, &ts)) != 0)
            return rc;
        while (!ox_ber_at_end(&ts)) {
            if (c->n_transfer >= OX_PRES_MAX_TS)
                return FAIL(&ts, ts.p, OX_BER_R_SIZE);
            if ((rc = ox_ber_read_oid(&ts, T_OID, &c->transfer[c->n_transfer])) != 0)
                return rc;
            c->n_transfer++;
        }
        if (c->n_transfer == 0)
            return FAIL(&ts, ts.p, OX_BER_R_TRUNC_TAG); /* SIZE (1..MAX) */
        if ((rc = ox_ber_leave(&item, &ts)) != 0 || (rc = ox_ber_leave(&list, &item)) != 0)
            return rc;
        (*n)++;
    }
    return ox_ber_leave(rd, &list);
}

/* Result-list ::= SEQUENCE OF SEQUENCE { [0] Result, [1] OID OPTIONAL, [2] INTEGER OPTIONAL } */
static int read_result_list(ox_ber_rd *rd, const pres_lim *pl, ox_pres_ctx_result *res, size_t *n)
{
    ox_ber_rd list;
    int rc = ox_ber_enter(rd, OX_PRES_TAG_CTX_RES_LIST, &list);
    if (rc)
        return rc;
    *n = 0;
    while (!ox_ber_at_end(&list)) {
        if (*n >= pl->max_contexts)
            return FAIL(&list, list.p, OX_BER_R_SIZE);
        ox_pres_ctx_result *r = &res[*n];
        memset(r, 0, sizeof(*r));
        ox_ber_rd item;
        if ((rc = ox_ber_enter(&list, T_SEQ, &item)) != 0 ||
            (rc = ox_ber_read_int_range(&item, OX_PRES_TAG_RES_RESULT, 0, 2, &r->result)) != 0)
            return rc;
        if (ox_ber_peek_tag(&item, OX_PRES_TAG_RES_TS)) {
            if ((rc = ox_ber_read_oid(&item, OX_PRES_TAG_RES_TS, &r->transfer)) != 0)
                return rc;
            r->has_transfer = true;
        }
        if (ox_ber_peek_tag(&item, OX_PRES_TAG_RES_REASON)) {
            if ((rc = ox_ber_read_int(&item, OX_PRES_TAG_RES_REASON, &r->reason)) != 0)
                return rc;
            r->has_reason = true;
        }
        if ((rc = ox_ber_leave(&list, &item)) != 0)
            return rc;
        (*n)++;
    }
    return ox_ber_leave(rd, &list);
}

/* PDV-list ::= SEQUENCE { OID OPTIONAL, INTEGER, CHOICE { [0] ANY, [1] OCTETS, [2] BITS } } */
static int read_pdv(ox_ber_rd *rd, ox_pres_pdv *pdv)
{
    ox_ber_rd s;
    int rc = ox_ber_enter(rd, T_SEQ, &s);
    if (rc)
        return rc;
    memset(pdv, 0, sizeof(*pdv));
    if (ox_ber_peek_tag(&s, T_OID)) {
        if ((rc = ox_ber_read_oid(&s, T_OID, &pdv->transfer)) != 0)
            return rc;
        pdv->has_transfer = true;
    }
    if ((rc = ox_ber_read_int(&s, T_INT, &pdv->ctx_id)) != 0)
        return rc;
    ox_ber_tlv t;
    if ((rc = ox_ber_peek(&s, &t)) != 0)
        return rc;
    if (t.tag == OX_PRES_TAG_PDV_SINGLE) {
        ox_ber_rd v;
        ox_ber_tlv inner;
        if ((rc = ox_ber_enter(&s, OX_PRES_TAG_PDV_SINGLE, &v)) != 0 ||
            (rc = ox_ber_next(&v, &inner)) != 0 || (rc = ox_ber_leave(&s, &v)) != 0)
            return rc;
        pdv->kind = OX_PRES_PDV_SINGLE;
        pdv->value = inner.whole;
    } else if (t.tag == OX_PRES_TAG_PDV_OCTETS) {
        if ((rc = ox_ber_read_octets_view(&s, OX_PRES_TAG_PDV_OCTETS, &pdv->value)) != 0)
            return rc;
        pdv->kind = OX_PRES_PDV_OCTETS;
    } else if (t.tag == OX_PRES_TAG_PDV_ARBITR) {
        if ((rc = ox_ber_read_octets_view(&s, OX_PRES_TAG_PDV_ARBITR, &pdv->value)) != 0)
            return rc;
        if (pdv->value.len == 0 || pdv->value.p[0] > 7)
            return FAIL(&s, t.whole.p, OX_BER_R_BAD_BIT_STRING);
        pdv->kind = OX_PRES_PDV_BITS;
    } else {
        return FAIL(&s, s.p, OX_BER_R_UNEXPECTED_TAG);
    }
    return ox_ber_leave(rd, &s);
}

static bool is_user_data(const ox_ber_rd *rd)
{
    return ox_ber_peek_tag(rd, OX_PRES_TAG_FULLY_UD) || ox_ber_peek_tag(rd, OX_PRES_TAG_SIMPLE_UD);
}

static int read_user_data(ox_ber_rd *rd, const pres_lim *pl, ox_pres_user_data *ud)
{
    int rc;
    memset(ud, 0, sizeof(*ud));
    if (ox_ber_peek_tag(rd, OX_PRES_TAG_SIMPLE_UD)) {
        if ((rc = ox_ber_read_octets_view(rd, OX_PRES_TAG_SIMPLE_UD, &ud->simple_data)) != 0)
            return rc;
        ud->present = ud->simple = true;
        return 0;
    }
    ox_ber_rd f;
    if ((rc = ox_ber_enter(rd, OX_PRES_TAG_FULLY_UD, &f)) != 0)
        return rc;
    while (!ox_ber_at_end(&f)) {
        if (ud->n_pdv >= pl->max_pdvs)
            return FAIL(&f, f.p, OX_BER_R_SIZE);
        if ((rc = read_pdv(&f, &ud->pdv[ud->n_pdv])) != 0)
            return rc;
        ud->n_pdv++;
    }
    if (ud->n_pdv == 0)
        return FAIL(&f, f.p, OX_BER_R_TRUNC_TAG); /* SIZE (1, ..., MAX) */
    ud->present = true;
    return ox_ber_leave(rd, &f);
}

/* Mode-selector ::= SET { mode-value [0] IMPLICIT INTEGER {x410-1984-mode (0), normal (1)} } */
static int read_mode(ox_ber_rd *rd, int64_t *mode)
{
    ox_ber_rd m;
    int rc;
    if ((rc = ox_ber_enter(rd, OX_PRES_TAG_MODE_SEL, &m)) != 0 ||
        (rc = ox_ber_read_int_range(&m, OX_PRES_TAG_MODE_VALUE, 0, 1, mode)) != 0)
        return rc;
    return ox_ber_leave(rd, &m);
}

/* The element that must end the input. */
static int finish(const ox_ber_rd *rd)
{
    if (!ox_ber_at_end(rd))
        return FAIL(rd, rd->p, OX_BER_R_LEFTOVER);
    return 0;
}

/* ---------------------------------------------------------------- decoders */

int ox_pres_user_data_decode(ox_span in, const ox_pres_limits *lim, ox_pres_user_data *ud,
                             ox_ber_diag *diag)
{
    ox_ber_rd rd;
    pres_lim pl = lim_of(lim);
    int rc = rd_start(&rd, in, lim, diag);
    if (rc)
        return rc;
    if (!is_user_data(&rd)) {
        ox_ber_tlv t;
        if ((rc = ox_ber_peek(&rd, &t)) != 0)
            return rc; /* the BER fault itself (truncation, bad length...) */
        return FAIL(&rd, rd.p, OX_BER_R_UNEXPECTED_TAG);
    }
    if ((rc = read_user_data(&rd, &pl, ud)) != 0)
        return rc;
    return finish(&rd);
}

/* CP-type normal-mode-parameters [2] IMPLICIT SEQUENCE. */
static int read_cp_normal(ox_ber_rd *rd, const pres_lim *pl, ox_pres_cp *cp)
{
    ox_ber_rd s;
    int rc = ox_ber_enter(rd, OX_PRES_TAG_NORMAL, &s);
    if (rc)
        return rc;
    uint32_t seen = 0;
    while (!ox_ber_at_end(&s)) {
        if (is_user_data(&s)) {
            if ((rc = once(&s, &seen, 31)) != 0 || (rc = read_user_data(&s, pl, &cp->ud)) != 0)
                return rc;
            continue;
        }
        ox_ber_tlv t;
        if ((rc = ox_ber_peek(&s, &t)) != 0)
            return rc;
        if (OX_BER_TAG_CLASS(t.tag) != OX_BER_CLASS_CONTEXT || OX_BER_TAG_NUMBER(t.tag) > 14 ||
            (seen & (1u << 31)))
            return FAIL(&s, s.p, OX_BER_R_UNEXPECTED_TAG);
        if ((rc = once(&s, &seen, OX_BER_TAG_NUMBER(t.tag))) != 0)
            return rc;
        switch (OX_BER_TAG_NUMBER(t.tag)) {
        case 0: rc = read_version(&s); break;
        case 1: rc = read_view(&s, OX_PRES_TAG_CALLING_SEL, &cp->calling_sel); break;
        case 2: rc = read_view(&s, OX_PRES_TAG_CALLED_SEL, &cp->called_sel); break;
        case 4:
            rc = read_ctx_list(&s, OX_PRES_TAG_CTX_DEF_LIST, pl, cp->ctx, &cp->n_ctx);
            cp->has_ctx_list = rc == 0;
            break;
        case 6: {
            ox_ber_rd d;
            if ((rc = ox_ber_enter(&s, OX_PRES_TAG_DEFAULT_CTX, &d)) != 0 ||
                (rc = ox_ber_read_oid(&d, OX_PRES_TAG_DEFAULT_AS, &cp->default_as)) != 0 ||
                (rc = ox_ber_read_oid(&d, OX_PRES_TAG_DEFAULT_TS, &cp->default_ts)) != 0 ||
                (rc = ox_ber_leave(&s, &d)) != 0)
                return rc;
            cp->has_default_ctx = true;
            break;
        }
        case 8: rc = read_view(&s, OX_PRES_TAG_PRES_REQ, &cp->pres_req); break;
        case 9: rc = read_view(&s, OX_PRES_TAG_USER_SES_REQ, &cp->user_ses_req); break;
        case 11:
        case 12:
        case 14: rc = ox_ber_next(&s, &t); break; /* 1994 options: not offered by us, ignored */
        default: return FAIL(&s, s.p, OX_BER_R_UNEXPECTED_TAG);
        }
        if (rc)
            return rc;
    }
    return ox_ber_leave(rd, &s);
}

int ox_pres_cp_decode(ox_span in, const ox_pres_limits *lim, ox_pres_cp *cp, ox_ber_diag *diag)
{
    ox_ber_rd rd, set;
    pres_lim pl = lim_of(lim);
    memset(cp, 0, sizeof(*cp));
    cp->mode = -1;
    int rc = rd_start(&rd, in, lim, diag);
    if (rc || (rc = ox_ber_enter(&rd, OX_PRES_TAG_CP_TYPE, &set)) != 0)
        return rc;
    uint32_t seen = 0;
    while (!ox_ber_at_end(&set)) {
        ox_ber_tlv t;
        if ((rc = ox_ber_peek(&set, &t)) != 0)
            return rc;
        if (t.tag == OX_PRES_TAG_MODE_SEL) {
            if ((rc = once(&set, &seen, 0)) != 0 || (rc = read_mode(&set, &cp->mode)) != 0)
                return rc;
        } else if (t.tag == OX_PRES_TAG_X410_PARAMS) {
            if ((rc = once(&set, &seen, 1)) != 0 ||
                (rc = ox_ber_expect(&set, OX_PRES_TAG_X410_PARAMS, 1, &t)) != 0)
                return rc;
            cp->x410 = t.whole;
        } else if (t.tag == OX_PRES_TAG_NORMAL) {
            if ((rc = once(&set, &seen, 2)) != 0 || (rc = read_cp_normal(&set, &pl, cp)) != 0)
                return rc;
        } else {
            return FAIL(&set, set.p, OX_BER_R_UNEXPECTED_TAG);
        }
    }
    /* The mode selects which parameter group may (and, for x410, must) be present. */
    if (!(seen & 1u))
        return FAIL(&set, set.p, OX_BER_R_TRUNC_TAG);
    if (cp->mode == OX_PRES_MODE_NORMAL && (seen & 2u))
        return FAIL(&set, cp->x410.p, OX_BER_R_UNEXPECTED_TAG);
    if (cp->mode == OX_PRES_MODE_X410_1984 && ((seen & 4u) || !(seen & 2u)))
        return FAIL(&set, set.p, OX_BER_R_UNEXPECTED_TAG);
    if ((rc = ox_ber_leave(&rd, &set)) != 0)
        return rc;
    return finish(&rd);
}

/* CPA-PPDU normal-mode-parameters and CPR-PPDU normal-mode SEQUENCE share their components:
 * |cpr| selects which ones are allowed. */
typedef struct resp_fields {
    ox_span *responding_sel;
    bool *has_results;
    ox_pres_ctx_result *res;
    size_t *n_res;
    ox_span *pres_req, *user_ses_req;
    bool *has_default_result;
    int64_t *default_result;
    bool *has_provider_reason;
    int64_t *provider_reason;
    ox_pres_user_data *ud;
} resp_fields;

static int read_resp_seq(ox_ber_rd *s, const pres_lim *pl, const resp_fields *f, bool cpr)
{
    uint32_t seen = 0;
    int rc;
    while (!ox_ber_at_end(s)) {
        if (is_user_data(s)) {
            if ((rc = once(s, &seen, 31)) != 0 || (rc = read_user_data(s, pl, f->ud)) != 0)
                return rc;
            continue;
        }
        ox_ber_tlv t;
        if ((rc = ox_ber_peek(s, &t)) != 0)
            return rc;
        if (OX_BER_TAG_CLASS(t.tag) != OX_BER_CLASS_CONTEXT || OX_BER_TAG_NUMBER(t.tag) > 14 ||
            (seen & (1u << 31)))
            return FAIL(s, s->p, OX_BER_R_UNEXPECTED_TAG);
        unsigned num = OX_BER_TAG_NUMBER(t.tag);
        if ((rc = once(s, &seen, num)) != 0)
            return rc;
        switch (num) {
        case 0: rc = read_version(s); break;
        case 3: rc = read_view(s, OX_PRES_TAG_RESPOND_SEL, f->responding_sel); break;
        case 5:
            rc = read_result_list(s, pl, f->res, f->n_res);
            *f->has_results = rc == 0;
            break;
        case 7:
            if (!cpr)
                return FAIL(s, s->p, OX_BER_R_UNEXPECTED_TAG);
            rc = ox_ber_read_int_range(s, OX_PRES_TAG_DEFAULT_RES, 0, 2, f->default_result);
            *f->has_default_result = rc == 0;
            break;
        case 10:
            if (!cpr)
                return FAIL(s, s->p, OX_BER_R_UNEXPECTED_TAG);
            rc = ox_ber_read_int(s, OX_PRES_TAG_PROVIDER_RSN, f->provider_reason);
            *f->has_provider_reason = rc == 0;
            break;
        case 8:
        case 9:
        case 11:
        case 13:
            if (cpr)
                return FAIL(s, s->p, OX_BER_R_UNEXPECTED_TAG);
            if (num == 8)
                rc = read_view(s, OX_PRES_TAG_PRES_REQ, f->pres_req);
            else if (num == 9)
                rc = read_view(s, OX_PRES_TAG_USER_SES_REQ, f->user_ses_req);
            else
                rc = ox_ber_next(s, &t); /* 1994 options: not offered by us, ignored */
            break;
        default: return FAIL(s, s->p, OX_BER_R_UNEXPECTED_TAG);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int ox_pres_cpa_decode(ox_span in, const ox_pres_limits *lim, ox_pres_cpa *cpa, ox_ber_diag *diag)
{
    ox_ber_rd rd, set;
    pres_lim pl = lim_of(lim);
    memset(cpa, 0, sizeof(*cpa));
    cpa->mode = -1;
    int rc = rd_start(&rd, in, lim, diag);
    if (rc || (rc = ox_ber_enter(&rd, OX_PRES_TAG_CPA, &set)) != 0)
        return rc;
    resp_fields f = {&cpa->responding_sel,
                     &cpa->has_results,
                     cpa->res,
                     &cpa->n_res,
                     &cpa->pres_req,
                     &cpa->user_ses_req,
                     NULL,
                     NULL,
                     NULL,
                     NULL,
                     &cpa->ud};
    uint32_t seen = 0;
    while (!ox_ber_at_end(&set)) {
        ox_ber_tlv t;
        if ((rc = ox_ber_peek(&set, &t)) != 0)
            return rc;
        if (t.tag == OX_PRES_TAG_MODE_SEL) {
            if ((rc = once(&set, &seen, 0)) != 0 || (rc = read_mode(&set, &cpa->mode)) != 0)
                return rc;
        } else if (t.tag == OX_PRES_TAG_X410_PARAMS) {
            if ((rc = once(&set, &seen, 1)) != 0 ||
                (rc = ox_ber_expect(&set, OX_PRES_TAG_X410_PARAMS, 1, &t)) != 0)
                return rc;
            cpa->x410 = t.whole;
        } else if (t.tag == OX_PRES_TAG_NORMAL) {
            ox_ber_rd s;
            if ((rc = once(&set, &seen, 2)) != 0 ||
                (rc = ox_ber_enter(&set, OX_PRES_TAG_NORMAL, &s)) != 0 ||
                (rc = read_resp_seq(&s, &pl, &f, false)) != 0 || (rc = ox_ber_leave(&set, &s)) != 0)
                return rc;
        } else {
            return FAIL(&set, set.p, OX_BER_R_UNEXPECTED_TAG);
        }
    }
    if (!(seen & 1u))
        return FAIL(&set, set.p, OX_BER_R_TRUNC_TAG);
    if (cpa->mode == OX_PRES_MODE_NORMAL && (seen & 2u))
        return FAIL(&set, cpa->x410.p, OX_BER_R_UNEXPECTED_TAG);
    if (cpa->mode == OX_PRES_MODE_X410_1984 && ((seen & 4u) || !(seen & 2u)))
        return FAIL(&set, set.p, OX_BER_R_UNEXPECTED_TAG);
    if ((rc = ox_ber_leave(&rd, &set)) != 0)
        return rc;
    return finish(&rd);
}

int ox_pres_cpr_decode(ox_span in, const ox_pres_limits *lim, ox_pres_cpr *cpr, ox_ber_diag *diag)
{
    ox_ber_rd rd;
    pres_lim pl = lim_of(lim);
    memset(cpr, 0, sizeof(*cpr));
    int rc = rd_start(&rd, in, lim, diag);
    if (rc)
        return rc;
    if (ox_ber_peek_tag(&rd, OX_PRES_TAG_CPR_X410)) {
        /* x400-mode-parameters RTORJapdu: kept whole for rtse to decode. */
        ox_ber_tlv t;
        if ((rc = ox_ber_expect(&rd, OX_PRES_TAG_CPR_X410, 1, &t)) != 0)
            return rc;
        cpr->mode = OX_PRES_MODE_X410_1984;
        cpr->x410 = t.whole;
        return finish(&rd);
    }
    ox_ber_rd s;
    if ((rc = ox_ber_enter(&rd, OX_PRES_TAG_CPR_NORMAL, &s)) != 0)
        return rc;
    cpr->mode = OX_PRES_MODE_NORMAL;
    resp_fields f = {&cpr->responding_sel,
                     &cpr->has_results,
                     cpr->res,
                     &cpr->n_res,
                     NULL,
                     NULL,
                     &cpr->has_default_result,
                     &cpr->default_result,
                     &cpr->has_provider_reason,
                     &cpr->provider_reason,
                     &cpr->ud};
    if ((rc = read_resp_seq(&s, &pl, &f, true)) != 0 || (rc = ox_ber_leave(&rd, &s)) != 0)
        return rc;
    return finish(&rd);
}

int ox_pres_abort_decode(ox_span in, const ox_pres_limits *lim, ox_pres_abort *a, ox_ber_diag *diag)
{
    ox_ber_rd rd, s;
    pres_lim pl = lim_of(lim);
    memset(a, 0, sizeof(*a));
    int rc = rd_start(&rd, in, lim, diag);
    if (rc)
        return rc;
    if (ox_ber_peek_tag(&rd, OX_PRES_TAG_ARU_X410)) {
        ox_ber_tlv t;
        if ((rc = ox_ber_expect(&rd, OX_PRES_TAG_ARU_X410, 1, &t)) != 0)
            return rc;
        a->kind = OX_PRES_ABORT_ARU_X410;
        a->x410 = t.whole;
        return finish(&rd);
    }
    if (ox_ber_peek_tag(&rd, OX_PRES_TAG_ARP)) {
        a->kind = OX_PRES_ABORT_ARP;
        if ((rc = ox_ber_enter(&rd, OX_PRES_TAG_ARP, &s)) != 0)
            return rc;
        if (ox_ber_peek_tag(&s, OX_PRES_TAG_ARP_REASON)) {
            if ((rc = ox_ber_read_int(&s, OX_PRES_TAG_ARP_REASON, &a->reason)) != 0)
                return rc;
            a->has_reason = true;
        }
        if (ox_ber_peek_tag(&s, OX_PRES_TAG_ARP_EVENT)) {
            if ((rc = ox_ber_read_int(&s, OX_PRES_TAG_ARP_EVENT, &a->event)) != 0)
                return rc;
            a->has_event = true;
        }
    } else {
        a->kind = OX_PRES_ABORT_ARU;
        if ((rc = ox_ber_enter(&rd, OX_PRES_TAG_ARU_NORMAL, &s)) != 0)
            return rc;
        if (ox_ber_peek_tag(&s, OX_PRES_TAG_ARU_CTX_LIST)) {
            /* Presentation-context-identifier-list ::= SEQUENCE OF SEQUENCE {INTEGER, OID} */
            ox_ber_rd list;
            if ((rc = ox_ber_enter(&s, OX_PRES_TAG_ARU_CTX_LIST, &list)) != 0)
                return rc;
            while (!ox_ber_at_end(&list)) {
                ox_ber_rd item;
                if (a->n_ctx_ids >= pl.max_contexts)
                    return FAIL(&list, list.p, OX_BER_R_SIZE);
                if ((rc = ox_ber_enter(&list, T_SEQ, &item)) != 0 ||
                    (rc = ox_ber_read_int(&item, T_INT, &a->ctx_ids[a->n_ctx_ids])) != 0 ||
                    (rc = ox_ber_read_oid(&item, T_OID, &a->ctx_ts[a->n_ctx_ids])) != 0 ||
                    (rc = ox_ber_leave(&list, &item)) != 0)
                    return rc;
                a->n_ctx_ids++;
            }
            if ((rc = ox_ber_leave(&s, &list)) != 0)
                return rc;
        }
        if (is_user_data(&s) && (rc = read_user_data(&s, &pl, &a->ud)) != 0)
            return rc;
    }
    if ((rc = ox_ber_leave(&rd, &s)) != 0)
        return rc;
    return finish(&rd);
}

const ox_pres_pdv *ox_pres_ud_find(const ox_pres_user_data *ud, int64_t ctx_id)
{
    for (size_t i = 0; ud->present && !ud->simple && i < ud->n_pdv; i++)
        if (ud->pdv[i].ctx_id == ctx_id)
            return &ud->pdv[i];
    return NULL;
}

int ox_pres_abort_reason(const ox_ber_diag *diag)
{
    switch (diag ? diag->reason : OX_BER_R_NONE) {
    case OX_BER_R_UNEXPECTED_TAG:
    case OX_BER_R_LEFTOVER: return OX_PRES_AR_UNRECOGNIZED_PARAM;
    case OX_BER_R_INT_RANGE:
    case OX_BER_R_BAD_OID:
    case OX_BER_R_OID_TOO_LONG:
    case OX_BER_R_BAD_BIT_STRING:
    case OX_BER_R_BAD_INTEGER: return OX_PRES_AR_INVALID_PARAM_VALUE;
    case OX_BER_R_NONE: return OX_PRES_AR_NOT_SPECIFIED;
    default: return OX_PRES_AR_UNRECOGNIZED_PPDU;
    }
}

/* ---------------------------------------------------------------- encoders */

static int bad_arg(ox_buf *w)
{
    if (!w->err)
        w->err = OX_E_ARG;
    return w->err;
}

static void put_sel(ox_buf *w, uint32_t tag, ox_span sel)
{
    if (sel.p)
        ox_ber_put_octets(w, tag, sel);
}

static void put_mode(ox_buf *w, int64_t mode)
{
    size_t m = ox_ber_open(w, OX_PRES_TAG_MODE_SEL);
    ox_ber_put_int(w, OX_PRES_TAG_MODE_VALUE, mode);
    ox_ber_close(w, m);
}

static void put_pdv(ox_buf *w, const ox_pres_pdv *pdv)
{
    size_t m = ox_ber_open(w, T_SEQ);
    if (pdv->has_transfer)
        ox_ber_put_oid(w, T_OID, &pdv->transfer);
    ox_ber_put_int(w, T_INT, pdv->ctx_id);
    switch (pdv->kind) {
    case OX_PRES_PDV_SINGLE: {
        size_t v = ox_ber_open(w, OX_PRES_TAG_PDV_SINGLE);
        ox_ber_put_raw(w, pdv->value);
        ox_ber_close(w, v);
        break;
    }
    case OX_PRES_PDV_OCTETS: ox_ber_put_octets(w, OX_PRES_TAG_PDV_OCTETS, pdv->value); break;
    case OX_PRES_PDV_BITS:
        ox_ber_put_prim(w, OX_PRES_TAG_PDV_ARBITR, pdv->value.p, pdv->value.len);
        break;
    default: bad_arg(w); break;
    }
    ox_ber_close(w, m);
}

int ox_pres_user_data_encode(ox_buf *w, const ox_pres_user_data *ud)
{
    if (!ud->present)
        return bad_arg(w);
    if (ud->simple) {
        ox_ber_put_octets(w, OX_PRES_TAG_SIMPLE_UD, ud->simple_data);
        return w->err;
    }
    if (ud->n_pdv == 0 || ud->n_pdv > OX_PRES_MAX_PDVS)
        return bad_arg(w);
    size_t m = ox_ber_open(w, OX_PRES_TAG_FULLY_UD);
    for (size_t i = 0; i < ud->n_pdv; i++)
        put_pdv(w, &ud->pdv[i]);
    ox_ber_close(w, m);
    return w->err;
}

int ox_pres_ud_single_encode(ox_buf *w, int64_t ctx_id, ox_span value)
{
    ox_pres_user_data ud = {.present = true, .n_pdv = 1};
    ud.pdv[0].ctx_id = ctx_id;
    ud.pdv[0].kind = OX_PRES_PDV_SINGLE;
    ud.pdv[0].value = value;
    return ox_pres_user_data_encode(w, &ud);
}

static void put_ctx_list(ox_buf *w, uint32_t tag, const ox_pres_ctx_def *ctx, size_t n)
{
    if (n > OX_PRES_MAX_CONTEXTS) {
        bad_arg(w);
        return;
    }
    size_t m = ox_ber_open(w, tag);
    for (size_t i = 0; i < n; i++) {
        if (ctx[i].n_transfer == 0 || ctx[i].n_transfer > OX_PRES_MAX_TS) {
            bad_arg(w);
            return;
        }
        size_t it = ox_ber_open(w, T_SEQ);
        ox_ber_put_int(w, T_INT, ctx[i].id);
        ox_ber_put_oid(w, T_OID, &ctx[i].abstract_syntax);
        size_t ts = ox_ber_open(w, T_SEQ);
        for (size_t j = 0; j < ctx[i].n_transfer; j++)
            ox_ber_put_oid(w, T_OID, &ctx[i].transfer[j]);
        ox_ber_close(w, ts);
        ox_ber_close(w, it);
    }
    ox_ber_close(w, m);
}

static void put_result_list(ox_buf *w, const ox_pres_ctx_result *res, size_t n)
{
    if (n > OX_PRES_MAX_CONTEXTS) {
        bad_arg(w);
        return;
    }
    size_t m = ox_ber_open(w, OX_PRES_TAG_CTX_RES_LIST);
    for (size_t i = 0; i < n; i++) {
        size_t it = ox_ber_open(w, T_SEQ);
        ox_ber_put_int(w, OX_PRES_TAG_RES_RESULT, res[i].result);
        if (res[i].has_transfer)
            ox_ber_put_oid(w, OX_PRES_TAG_RES_TS, &res[i].transfer);
        if (res[i].has_reason)
            ox_ber_put_int(w, OX_PRES_TAG_RES_REASON, res[i].reason);
        ox_ber_close(w, it);
    }
    ox_ber_close(w, m);
}

/* x410 parameter groups are whole [1] elements built by rtse; check the tag before copying. */
static void put_x410(ox_buf *w, ox_span x410, uint8_t first_octet)
{
    if (x410.len < 2 || x410.p[0] != first_octet) {
        bad_arg(w);
        return;
    }
    ox_ber_put_raw(w, x410);
}

#define X410_PARAMS_OCTET 0xa1 /* [1] constructed */
#define SET_OCTET         0x31 /* UNIVERSAL 17 constructed */

int ox_pres_cp_encode(ox_buf *w, const ox_pres_cp *cp)
{
    if (cp->mode != OX_PRES_MODE_NORMAL && cp->mode != OX_PRES_MODE_X410_1984)
        return bad_arg(w);
    size_t m = ox_ber_open(w, OX_PRES_TAG_CP_TYPE);
    put_mode(w, cp->mode);
    if (cp->mode == OX_PRES_MODE_X410_1984) {
        put_x410(w, cp->x410, X410_PARAMS_OCTET);
    } else {
        size_t n = ox_ber_open(w, OX_PRES_TAG_NORMAL);
        put_sel(w, OX_PRES_TAG_CALLING_SEL, cp->calling_sel);
        put_sel(w, OX_PRES_TAG_CALLED_SEL, cp->called_sel);
        if (cp->has_ctx_list)
            put_ctx_list(w, OX_PRES_TAG_CTX_DEF_LIST, cp->ctx, cp->n_ctx);
        if (cp->has_default_ctx) {
            size_t d = ox_ber_open(w, OX_PRES_TAG_DEFAULT_CTX);
            ox_ber_put_oid(w, OX_PRES_TAG_DEFAULT_AS, &cp->default_as);
            ox_ber_put_oid(w, OX_PRES_TAG_DEFAULT_TS, &cp->default_ts);
            ox_ber_close(w, d);
        }
        if (cp->ud.present)
            ox_pres_user_data_encode(w, &cp->ud);
        ox_ber_close(w, n);
    }
    ox_ber_close(w, m);
    return w->err;
}

int ox_pres_cpa_encode(ox_buf *w, const ox_pres_cpa *cpa)
{
    if (cpa->mode != OX_PRES_MODE_NORMAL && cpa->mode != OX_PRES_MODE_X410_1984)
        return bad_arg(w);
    size_t m = ox_ber_open(w, OX_PRES_TAG_CPA);
    put_mode(w, cpa->mode);
    if (cpa->mode == OX_PRES_MODE_X410_1984) {
        put_x410(w, cpa->x410, X410_PARAMS_OCTET);
    } else {
        size_t n = ox_ber_open(w, OX_PRES_TAG_NORMAL);
        put_sel(w, OX_PRES_TAG_RESPOND_SEL, cpa->responding_sel);
        if (cpa->has_results)
            put_result_list(w, cpa->res, cpa->n_res);
        if (cpa->ud.present)
            ox_pres_user_data_encode(w, &cpa->ud);
        ox_ber_close(w, n);
    }
    ox_ber_close(w, m);
    return w->err;
}

int ox_pres_cpr_encode(ox_buf *w, const ox_pres_cpr *cpr)
{
    if (cpr->mode == OX_PRES_MODE_X410_1984) {
        put_x410(w, cpr->x410, SET_OCTET);
        return w->err;
    }
    if (cpr->mode != OX_PRES_MODE_NORMAL)
        return bad_arg(w);
    size_t m = ox_ber_open(w, OX_PRES_TAG_CPR_NORMAL);
    put_sel(w, OX_PRES_TAG_RESPOND_SEL, cpr->responding_sel);
    if (cpr->has_results)
        put_result_list(w, cpr->res, cpr->n_res);
    if (cpr->has_default_result)
        ox_ber_put_int(w, OX_PRES_TAG_DEFAULT_RES, cpr->default_result);
    if (cpr->has_provider_reason)
        ox_ber_put_int(w, OX_PRES_TAG_PROVIDER_RSN, cpr->provider_reason);
    if (cpr->ud.present)
        ox_pres_user_data_encode(w, &cpr->ud);
    ox_ber_close(w, m);
    return w->err;
}

int ox_pres_abort_encode(ox_buf *w, const ox_pres_abort *a)
{
    size_t m;
    switch (a->kind) {
    case OX_PRES_ABORT_ARU_X410: put_x410(w, a->x410, SET_OCTET); break;
    case OX_PRES_ABORT_ARU:
        if (a->n_ctx_ids > OX_PRES_MAX_CONTEXTS)
            return bad_arg(w);
        m = ox_ber_open(w, OX_PRES_TAG_ARU_NORMAL);
        if (a->n_ctx_ids) {
            size_t l = ox_ber_open(w, OX_PRES_TAG_ARU_CTX_LIST);
            for (size_t i = 0; i < a->n_ctx_ids; i++) {
                size_t it = ox_ber_open(w, T_SEQ);
                ox_ber_put_int(w, T_INT, a->ctx_ids[i]);
                ox_ber_put_oid(w, T_OID, &a->ctx_ts[i]);
                ox_ber_close(w, it);
            }
            ox_ber_close(w, l);
        }
        if (a->ud.present)
            ox_pres_user_data_encode(w, &a->ud);
        ox_ber_close(w, m);
        break;
    case OX_PRES_ABORT_ARP:
        m = ox_ber_open(w, OX_PRES_TAG_ARP);
        if (a->has_reason)
            ox_ber_put_int(w, OX_PRES_TAG_ARP_REASON, a->reason);
        if (a->has_event)
            ox_ber_put_int(w, OX_PRES_TAG_ARP_EVENT, a->event);
        ox_ber_close(w, m);
        break;
    default: return bad_arg(w);
    }
    return w->err;
}
