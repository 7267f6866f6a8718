/* rtse_pdu.c - X.228 RTSE APDU codec: RTORQ, RTOAC, RTORJ, RTTP, RTTR, RTAB
 *
 * Why: the same SETs travel under different outer tags (normal mode [16]..[22], 1984 mode
 *      [1] inside the PConnect/PAccept or a bare SET), so every function takes the outer tag.
 *      SET components are accepted in any order; duplicates, unknown tags and leftovers are
 *      peer errors. Encoders omit DEFAULT values (checkpointSize 0, windowSize 3, monologue).
 * Limits: BER limits only (everything here is small; user data are views).
 * Diagnostics: OX_E_PEER / OX_E_LIMIT with ox_ber_diag.
 * Standards: X.228 (1988) / ISO 9066-2 Reliable-Transfer-APDUs (ConnectionData: open [0] ANY
 *      explicit, "[0] IMPLICIT NULL in the absence of RTSE user data"; recover [1]
 *      IMPLICIT SessionConnectionIdentifier); X.410 (1984) RefuseReason/AbortReason. */
#include "openx400/rtse.h"

#include <string.h>

#define T_INT   OX_BER_UNIV(OX_BER_T_INTEGER)
#define T_OCT   OX_BER_UNIV(OX_BER_T_OCTET_STRING)
#define T_T61   OX_BER_UNIV(OX_BER_T_TELETEX_STRING)
#define T_UTC   OX_BER_UNIV(OX_BER_T_UTC_TIME)
#define T_SEQ   OX_BER_UNIV(OX_BER_T_SEQUENCE)
#define T_NULL0 OX_BER_CTX(0) /* open [0] IMPLICIT NULL: no RTSE user data */

#define FAIL(rd, at, reason) ox_ber_fail((rd), (at), (reason), __LINE__)

/* Values X.228 allows: sizes are non-negative; the window is at least 1. */
#define RTSE_MAX_PARAM ((int64_t)1 << 31)

static int bad_arg(ox_buf *w)
{
    if (!w->err)
        w->err = OX_E_ARG;
    return w->err;
}

static int once(const ox_ber_rd *rd, unsigned *seen, unsigned bit)
{
    if (*seen & (1u << bit))
        return FAIL(rd, rd->p, OX_BER_R_UNEXPECTED_TAG);
    *seen |= 1u << bit;
    return 0;
}

/* One explicit [tag] ANY: the single element inside, whole. */
static int read_explicit_any(ox_ber_rd *rd, uint32_t tag, ox_span *v)
{
    ox_ber_rd s;
    ox_ber_tlv t;
    int rc;
    if ((rc = ox_ber_enter(rd, tag, &s)) != 0 || (rc = ox_ber_next(&s, &t)) != 0)
        return rc;
    *v = t.whole;
    return ox_ber_leave(rd, &s);
}

static void put_explicit_any(ox_buf *w, uint32_t tag, ox_span v)
{
    size_t m = ox_ber_open(w, tag);
    ox_ber_put_raw(w, v);
    ox_ber_close(w, m);
}

/* ---------------------------------------------------------------- ConnectionData */

static int read_conn_data(ox_ber_rd *rd, uint32_t tag, ox_rtse_conn_data *c)
{
    ox_ber_rd s;
    int rc = ox_ber_enter(rd, tag, &s);
    if (rc)
        return rc;
    memset(c, 0, sizeof(*c));
    ox_ber_tlv t;
    if ((rc = ox_ber_peek(&s, &t)) != 0)
        return rc;
    if (t.tag == OX_RTSE_TAG_OPEN && !t.constructed) {
        if ((rc = ox_ber_read_null(&s, T_NULL0)) != 0)
            return rc;
        c->open = ox_span_of(NULL, 0);
    } else if (t.tag == OX_RTSE_TAG_OPEN) {
        if ((rc = read_explicit_any(&s, OX_RTSE_TAG_OPEN, &c->open)) != 0)
            return rc;
    } else if (t.tag == OX_RTSE_TAG_RECOVER) {
        ox_ber_rd r;
        c->recover = true;
        if ((rc = ox_ber_enter(&s, OX_RTSE_TAG_RECOVER, &r)) != 0)
            return rc;
        c->ref_t61 = ox_ber_peek_tag(&r, T_T61);
        if ((rc = ox_ber_read_octets_view(&r, c->ref_t61 ? T_T61 : T_OCT, &c->calling_ref)) != 0 ||
            (rc = ox_ber_read_octets_view(&r, T_UTC, &c->common_ref)) != 0)
            return rc;
        if (ox_ber_peek_tag(&r, OX_RTSE_TAG_ADD_REF) &&
            (rc = ox_ber_read_octets_view(&r, OX_RTSE_TAG_ADD_REF, &c->additional)) != 0)
            return rc;
        if ((rc = ox_ber_leave(&s, &r)) != 0)
            return rc;
    } else {
        return FAIL(&s, s.p, OX_BER_R_UNEXPECTED_TAG);
    }
    return ox_ber_leave(rd, &s);
}

static void put_conn_data(ox_buf *w, uint32_t tag, const ox_rtse_conn_data *c)
{
    size_t m = ox_ber_open(w, tag);
    if (!c->recover) {
        if (c->open.len)
            put_explicit_any(w, OX_RTSE_TAG_OPEN, c->open);
        else
            ox_ber_put_null(w, T_NULL0);
    } else {
        size_t r = ox_ber_open(w, OX_RTSE_TAG_RECOVER);
        ox_ber_put_octets(w, c->ref_t61 ? T_T61 : T_OCT, c->calling_ref);
        ox_ber_put_octets(w, T_UTC, c->common_ref);
        if (c->additional.p)
            ox_ber_put_octets(w, OX_RTSE_TAG_ADD_REF, c->additional);
        ox_ber_close(w, r);
    }
    ox_ber_close(w, m);
}

/* ---------------------------------------------------------------- RTORQ / RTOAC */

static bool params_ok(int64_t ckpt, int64_t window)
{
    return ckpt >= 0 && ckpt <= RTSE_MAX_PARAM && window >= 1 && window <= RTSE_MAX_PARAM;
}

int ox_rtse_rtorq_encode(ox_buf *w, uint32_t tag, const ox_rtse_rtorq *r)
{
    if (!params_ok(r->checkpoint, r->window) ||
        (r->dialogue != OX_RTSE_MONOLOGUE && r->dialogue != OX_RTSE_TWA))
        return bad_arg(w);
    size_t m = ox_ber_open(w, tag);
    if (r->checkpoint != OX_RTSE_DEFAULT_CKPT)
        ox_ber_put_int(w, OX_RTSE_TAG_CKPT, r->checkpoint);
    if (r->window != OX_RTSE_DEFAULT_WINDOW)
        ox_ber_put_int(w, OX_RTSE_TAG_WINDOW, r->window);
    if (r->dialogue != OX_RTSE_MONOLOGUE)
        ox_ber_put_int(w, OX_RTSE_TAG_DIALOGUE, r->dialogue);
    put_conn_data(w, OX_RTSE_TAG_CONN_RQ, &r->conn);
    if (r->has_app_proto)
        ox_ber_put_int(w, OX_RTSE_TAG_APP_PROTO, r->app_proto);
    ox_ber_close(w, m);
    return w->err;
}

int ox_rtse_rtorq_decode(ox_span in, uint32_t tag, const ox_ber_limits *lim, ox_rtse_rtorq *r,
                         ox_ber_diag *diag)
{
    ox_ber_rd rd, s;
    memset(r, 0, sizeof(*r));
    r->window = OX_RTSE_DEFAULT_WINDOW;
    int rc = ox_ber_rd_init(&rd, in, lim, diag);
    if (rc || (rc = ox_ber_enter(&rd, tag, &s)) != 0)
        return rc;
    unsigned seen = 0;
    while (!ox_ber_at_end(&s)) {
        if (ox_ber_peek_tag(&s, OX_RTSE_TAG_CKPT)) {
            rc = once(&s, &seen, 0);
            if (!rc)
                rc = ox_ber_read_int_range(&s, OX_RTSE_TAG_CKPT, 0, RTSE_MAX_PARAM, &r->checkpoint);
        } else if (ox_ber_peek_tag(&s, OX_RTSE_TAG_WINDOW)) {
            rc = once(&s, &seen, 1);
            if (!rc)
                rc = ox_ber_read_int_range(&s, OX_RTSE_TAG_WINDOW, 1, RTSE_MAX_PARAM, &r->window);
        } else if (ox_ber_peek_tag(&s, OX_RTSE_TAG_DIALOGUE)) {
            rc = once(&s, &seen, 2);
            if (!rc)
                rc = ox_ber_read_int_range(&s, OX_RTSE_TAG_DIALOGUE, 0, 1, &r->dialogue);
        } else if (ox_ber_peek_tag(&s, OX_RTSE_TAG_CONN_RQ)) {
            rc = once(&s, &seen, 3);
            if (!rc)
                rc = read_conn_data(&s, OX_RTSE_TAG_CONN_RQ, &r->conn);
        } else if (ox_ber_peek_tag(&s, OX_RTSE_TAG_APP_PROTO)) {
            rc = once(&s, &seen, 4);
            if (!rc)
                rc = ox_ber_read_int(&s, OX_RTSE_TAG_APP_PROTO, &r->app_proto);
            r->has_app_proto = rc == 0;
        } else {
            return FAIL(&s, s.p, OX_BER_R_UNEXPECTED_TAG);
        }
        if (rc)
            return rc;
    }
    if (!(seen & (1u << 3)))
        return FAIL(&s, s.p, OX_BER_R_TRUNC_TAG); /* connectionDataRQ is mandatory */
    if ((rc = ox_ber_leave(&rd, &s)) != 0)
        return rc;
    return ox_ber_at_end(&rd) ? 0 : FAIL(&rd, rd.p, OX_BER_R_LEFTOVER);
}

int ox_rtse_rtoac_encode(ox_buf *w, uint32_t tag, const ox_rtse_rtoac *r)
{
    if (!params_ok(r->checkpoint, r->window))
        return bad_arg(w);
    size_t m = ox_ber_open(w, tag);
    if (r->checkpoint != OX_RTSE_DEFAULT_CKPT)
        ox_ber_put_int(w, OX_RTSE_TAG_CKPT, r->checkpoint);
    if (r->window != OX_RTSE_DEFAULT_WINDOW)
        ox_ber_put_int(w, OX_RTSE_TAG_WINDOW, r->window);
    put_conn_data(w, OX_RTSE_TAG_CONN_AC, &r->conn);
    ox_ber_close(w, m);
    return w->err;
}

int ox_rtse_rtoac_decode(ox_span in, uint32_t tag, const ox_ber_limits *lim, ox_rtse_rtoac *r,
                         ox_ber_diag *diag)
{
    ox_ber_rd rd, s;
    memset(r, 0, sizeof(*r));
    r->window = OX_RTSE_DEFAULT_WINDOW;
    int rc = ox_ber_rd_init(&rd, in, lim, diag);
    if (rc || (rc = ox_ber_enter(&rd, tag, &s)) != 0)
        return rc;
    unsigned seen = 0;
    while (!ox_ber_at_end(&s)) {
        if (ox_ber_peek_tag(&s, OX_RTSE_TAG_CKPT)) {
            rc = once(&s, &seen, 0);
            if (!rc)
                rc = ox_ber_read_int_range(&s, OX_RTSE_TAG_CKPT, 0, RTSE_MAX_PARAM, &r->checkpoint);
        } else if (ox_ber_peek_tag(&s, OX_RTSE_TAG_WINDOW)) {
            rc = once(&s, &seen, 1);
            if (!rc)
                rc = ox_ber_read_int_range(&s, OX_RTSE_TAG_WINDOW, 1, RTSE_MAX_PARAM, &r->window);
        } else if (ox_ber_peek_tag(&s, OX_RTSE_TAG_CONN_AC)) {
            rc = once(&s, &seen, 2);
            if (!rc)
                rc = read_conn_data(&s, OX_RTSE_TAG_CONN_AC, &r->conn);
        } else {
            return FAIL(&s, s.p, OX_BER_R_UNEXPECTED_TAG);
        }
        if (rc)
            return rc;
    }
    if (!(seen & (1u << 2)))
        return FAIL(&s, s.p, OX_BER_R_TRUNC_TAG);
    if ((rc = ox_ber_leave(&rd, &s)) != 0)
        return rc;
    return ox_ber_at_end(&rd) ? 0 : FAIL(&rd, rd.p, OX_BER_R_LEFTOVER);
}

/* ---------------------------------------------------------------- RTORJ / RTAB */

int ox_rtse_rtorj_encode(ox_buf *w, uint32_t tag, const ox_rtse_rtorj *r)
{
    if (r->has_reason && (r->reason < 0 || r->reason > OX_RTSE_RJ_UNACCEPTABLE_DIALOGUE))
        return bad_arg(w);
    size_t m = ox_ber_open(w, tag);
    if (r->has_reason)
        ox_ber_put_int(w, OX_RTSE_TAG_REFUSE_RSN, r->reason);
    if (r->user_data.p)
        put_explicit_any(w, OX_RTSE_TAG_USER_RJ, r->user_data);
    ox_ber_close(w, m);
    return w->err;
}

int ox_rtse_rtorj_decode(ox_span in, uint32_t tag, const ox_ber_limits *lim, ox_rtse_rtorj *r,
                         ox_ber_diag *diag)
{
    ox_ber_rd rd, s;
    memset(r, 0, sizeof(*r));
    int rc = ox_ber_rd_init(&rd, in, lim, diag);
    if (rc || (rc = ox_ber_enter(&rd, tag, &s)) != 0)
        return rc;
    unsigned seen = 0;
    while (!ox_ber_at_end(&s)) {
        if (ox_ber_peek_tag(&s, OX_RTSE_TAG_REFUSE_RSN)) {
            rc = once(&s, &seen, 0);
            if (!rc)
                rc = ox_ber_read_int(&s, OX_RTSE_TAG_REFUSE_RSN, &r->reason);
            r->has_reason = rc == 0;
        } else if (ox_ber_peek_tag(&s, OX_RTSE_TAG_USER_RJ)) {
            rc = once(&s, &seen, 1);
            if (!rc)
                rc = read_explicit_any(&s, OX_RTSE_TAG_USER_RJ, &r->user_data);
        } else {
            return FAIL(&s, s.p, OX_BER_R_UNEXPECTED_TAG);
        }
        if (rc)
            return rc;
    }
    if ((rc = ox_ber_leave(&rd, &s)) != 0)
        return rc;
    return ox_ber_at_end(&rd) ? 0 : FAIL(&rd, rd.p, OX_BER_R_LEFTOVER);
}

int ox_rtse_rtab_encode(ox_buf *w, uint32_t tag, const ox_rtse_rtab *r)
{
    if ((r->has_reason && (r->reason < 0 || r->reason > OX_RTSE_AB_TRANSFER_COMPLETED)) ||
        (r->has_reflected && (r->reflected.len == 0 || r->reflected.p[0] > 7)))
        return bad_arg(w);
    size_t m = ox_ber_open(w, tag);
    if (r->has_reason)
        ox_ber_put_int(w, OX_RTSE_TAG_ABORT_RSN, r->reason);
    if (r->has_reflected)
        ox_ber_put_prim(w, OX_RTSE_TAG_REFLECTED, r->reflected.p, r->reflected.len);
    if (r->user_data.p)
        put_explicit_any(w, OX_RTSE_TAG_USER_AB, r->user_data);
    ox_ber_close(w, m);
    return w->err;
}

int ox_rtse_rtab_decode(ox_span in, uint32_t tag, const ox_ber_limits *lim, ox_rtse_rtab *r,
                        ox_ber_diag *diag)
{
    ox_ber_rd rd, s;
    memset(r, 0, sizeof(*r));
    int rc = ox_ber_rd_init(&rd, in, lim, diag);
    if (rc || (rc = ox_ber_enter(&rd, tag, &s)) != 0)
        return rc;
    unsigned seen = 0;
    while (!ox_ber_at_end(&s)) {
        if (ox_ber_peek_tag(&s, OX_RTSE_TAG_ABORT_RSN)) {
            rc = once(&s, &seen, 0);
            if (!rc)
                rc = ox_ber_read_int(&s, OX_RTSE_TAG_ABORT_RSN, &r->reason);
            r->has_reason = rc == 0;
        } else if (ox_ber_peek_tag(&s, OX_RTSE_TAG_REFLECTED)) {
            const uint8_t *at = s.p;
            rc = once(&s, &seen, 1);
            if (!rc)
                rc = ox_ber_read_octets_view(&s, OX_RTSE_TAG_REFLECTED, &r->reflected);
            if (!rc && (r->reflected.len == 0 || r->reflected.p[0] > 7))
                return FAIL(&s, at, OX_BER_R_BAD_BIT_STRING);
            r->has_reflected = rc == 0;
        } else if (ox_ber_peek_tag(&s, OX_RTSE_TAG_USER_AB)) {
            rc = once(&s, &seen, 2);
            if (!rc)
                rc = read_explicit_any(&s, OX_RTSE_TAG_USER_AB, &r->user_data);
        } else {
            return FAIL(&s, s.p, OX_BER_R_UNEXPECTED_TAG);
        }
        if (rc)
            return rc;
    }
    if ((rc = ox_ber_leave(&rd, &s)) != 0)
        return rc;
    return ox_ber_at_end(&rd) ? 0 : FAIL(&rd, rd.p, OX_BER_R_LEFTOVER);
}

/* ---------------------------------------------------------------- RTTP / RTTR / CHOICE */

int ox_rtse_rttp_encode(ox_buf *w, int64_t priority)
{
    ox_ber_put_int(w, OX_RTSE_TAG_RTTP, priority);
    return w->err;
}

int ox_rtse_rttr_encode(ox_buf *w, ox_span content)
{
    ox_ber_put_octets(w, OX_RTSE_TAG_RTTR, content);
    return w->err;
}

int ox_rtse_apdu_decode(ox_span in, const ox_ber_limits *lim, ox_rtse_apdu *a, ox_ber_diag *diag)
{
    ox_ber_rd rd;
    ox_ber_tlv t;
    memset(a, 0, sizeof(*a));
    int rc = ox_ber_rd_init(&rd, in, lim, diag);
    if (rc || (rc = ox_ber_peek(&rd, &t)) != 0)
        return rc;
    if (t.whole.len != in.len)
        return FAIL(&rd, in.p + t.whole.len, OX_BER_R_LEFTOVER);
    switch (t.tag) {
    case OX_RTSE_TAG_RTORQ:
        a->kind = OX_RTSE_RTORQ;
        return ox_rtse_rtorq_decode(in, t.tag, lim, &a->u.rtorq, diag);
    case OX_RTSE_TAG_RTOAC:
        a->kind = OX_RTSE_RTOAC;
        return ox_rtse_rtoac_decode(in, t.tag, lim, &a->u.rtoac, diag);
    case OX_RTSE_TAG_RTORJ:
        a->kind = OX_RTSE_RTORJ;
        return ox_rtse_rtorj_decode(in, t.tag, lim, &a->u.rtorj, diag);
    case OX_RTSE_TAG_RTAB:
        a->kind = OX_RTSE_RTAB;
        return ox_rtse_rtab_decode(in, t.tag, lim, &a->u.rtab, diag);
    case OX_RTSE_TAG_RTTP:
        a->kind = OX_RTSE_RTTP;
        return ox_ber_read_int(&rd, OX_RTSE_TAG_RTTP, &a->u.rttp);
    case OX_RTSE_TAG_RTTR:
        a->kind = OX_RTSE_RTTR;
        if (t.constructed) {
            if (rd.lim.der)
                return FAIL(&rd, rd.p, OX_BER_R_WRONG_FORM);
            a->u.rttr.constructed = true;
            a->u.rttr.content = t.whole;
            return 0;
        }
        a->u.rttr.content = t.value;
        return 0;
    default: return FAIL(&rd, rd.p, OX_BER_R_UNEXPECTED_TAG);
    }
}
