/* rtse_assoc.c - the MTA association PDUs assembled and parsed in one call each
 *
 * Why: establishing an X.419 mts-transfer association nests five encodings (CP-type, User-data,
 *      AARQ, EXTERNAL, RTORQ, BIND argument); the state machines above want "the bind bytes in,
 *      the CP user data out" and the reverse, in both modes:
 *        normal:   CP{contexts 1 acse, 3 id-as-mta-rtse, 5 id-as-mtse; User-data(PDV ctx 1:
 *                  AARQ{id-ac-mts-transfer, user-information EXTERNAL(indirect 3,
 *                  RTORQ[16]{..., open [0] { [16] MTABindArgument }})})}
 *                  CPA/AARE(accepted)/RTOAC[17]{open [0] { [17] MTABindResult }}
 *                  CPR/AARE(rejected)/RTORJ[18]{userDataRJ [1] { [18] MTABindError }}
 *        1984:     PConnect = CP{mode 0, [1] RTORQ components, open = bare MTABindArgument,
 *                  applicationProtocol 1}; PAccept = CPA{mode 0, [1] RTOAC}; PRefuse = RTORJ SET.
 *      Why [16]/[17]/[18] in normal mode: X.419 defines MTA-bind with the X.219 BIND macro
 *      whose values are tagged [16] argument, [17] result, [18] error, and the X.228 ASN.1
 *      reserves exactly those tags for it; 1984 P1 predates the macro (bare). See
 *      docs/UPPER-LAYERS.md.
 * Limits: those of the codecs used (ox_pres_limits).
 * Diagnostics: OX_E_PEER with ox_ber_diag; offsets are relative to the innermost element
 *      decoded (each nested decode restarts the reader on a view).
 * Standards: X.419 (1999) 11.2-11.3; X.226 8.2; X.227 7.1; X.228 (1988); X.410 (1984) 6. */
#include "openx400/rtse.h"

#include <string.h>

#define FAIL(rd, at, reason) ox_ber_fail((rd), (at), (reason), __LINE__)

/* Records a grammar failure on |diag| for the element |at|. */
static int fail_at(ox_ber_diag *diag, ox_span at, ox_ber_reason why, int line)
{
    ox_ber_rd rd;
    ox_ber_rd_init(&rd, at, NULL, NULL);
    rd.diag = diag;
    if (diag)
        memset(diag, 0, sizeof(*diag));
    return ox_ber_fail(&rd, at.p, why, line);
}
#define FAIL_AT(diag, at, why) fail_at((diag), (at), (why), __LINE__)

static int bad_arg(ox_buf *w)
{
    if (!w->err)
        w->err = OX_E_ARG;
    return w->err;
}

/* [tag] EXPLICIT value: the X.219 BIND macro wrapping. */
static void wrap(ox_buf *w, uint32_t tag, ox_span v)
{
    size_t m = ox_ber_open(w, tag);
    ox_ber_put_raw(w, v);
    ox_ber_close(w, m);
}

/* The inside of a [tag] wrapper that must be exactly |in|. */
static int unwrap(ox_span in, uint32_t tag, const ox_ber_limits *lim, ox_span *v, ox_ber_diag *diag)
{
    ox_ber_rd rd, s;
    ox_ber_tlv t;
    int rc = ox_ber_rd_init(&rd, in, lim, diag);
    if (rc || (rc = ox_ber_enter(&rd, tag, &s)) != 0 || (rc = ox_ber_next(&s, &t)) != 0 ||
        (rc = ox_ber_leave(&rd, &s)) != 0)
        return rc;
    if (!ox_ber_at_end(&rd))
        return FAIL(&rd, rd.p, OX_BER_R_LEFTOVER);
    *v = t.whole;
    return 0;
}

static const ox_ber_limits *ber_lim(const ox_pres_limits *lim)
{
    return lim ? &lim->ber : NULL;
}

static void default_results(ox_pres_ctx_result *res, size_t *n)
{
    memset(res, 0, 3 * sizeof(*res));
    for (size_t i = 0; i < 3; i++) {
        res[i].result = OX_PRES_RESULT_ACCEPT;
        res[i].has_transfer = true;
        res[i].transfer = ox_oid_pres_ber;
    }
    *n = 3;
}

/* One-EXTERNAL user-information carrying |apdu| in presentation context |ctx|. */
static void set_ui(ox_acse_user_info *ui, int64_t ctx, ox_span apdu)
{
    memset(ui, 0, sizeof(*ui));
    ui->present = true;
    ui->n = 1;
    ui->ext[0].has_indirect = true;
    ui->ext[0].indirect = ctx;
    ui->ext[0].enc = OX_ACSE_EXT_SINGLE;
    ui->ext[0].value = apdu;
}

/* ---------------------------------------------------------------- CP */

int ox_rtse_assoc_encode_cp(ox_buf *w, const ox_rtse_assoc_rq *rq)
{
    ox_buf bind, rtorq, aarq;
    ox_buf_init(&bind, w->alloc, NULL, 0);
    ox_buf_init(&rtorq, w->alloc, NULL, 0);
    ox_buf_init(&aarq, w->alloc, NULL, 0);
    ox_rtse_rtorq r = {
        .checkpoint = rq->checkpoint, .window = rq->window, .dialogue = rq->dialogue};
    ox_pres_cp cp = {.mode = rq->mode};
    if (rq->mode == OX_PRES_MODE_X410_1984) {
        r.conn.open = rq->bind;
        r.has_app_proto = true;
        r.app_proto = OX_RTSE_APP_P1_1984;
        ox_rtse_rtorq_encode(&rtorq, OX_RTSE_TAG_X410_PARAMS, &r);
        cp.x410 = ox_buf_span(&rtorq);
    } else if (rq->mode == OX_PRES_MODE_NORMAL) {
        if (rq->bind.len)
            wrap(&bind, OX_RTSE_TAG_BIND_ARG, rq->bind);
        r.conn.open = ox_buf_span(&bind);
        ox_rtse_rtorq_encode(&rtorq, OX_RTSE_TAG_RTORQ, &r);
        ox_acse_aarq a = {.app_ctx = ox_oid_ac_mts_transfer,
                          .called_ap = rq->called_ap,
                          .called_ae = rq->called_ae,
                          .calling_ap = rq->calling_ap,
                          .calling_ae = rq->calling_ae};
        set_ui(&a.ui, OX_RTSE_CTX_MTA_RTSE, ox_buf_span(&rtorq));
        ox_acse_aarq_encode(&aarq, &a);
        static const struct {
            int64_t id;
            const ox_oid *as;
        } ctxs[] = {{OX_RTSE_CTX_ACSE, &ox_oid_as_acse},
                    {OX_RTSE_CTX_MTA_RTSE, &ox_oid_as_mta_rtse},
                    {OX_RTSE_CTX_MTSE, &ox_oid_as_mtse}};
        cp.calling_sel = rq->calling_sel;
        cp.called_sel = rq->called_sel;
        cp.has_ctx_list = true;
        cp.n_ctx = OX_ARRAY_LEN(ctxs);
        for (size_t i = 0; i < OX_ARRAY_LEN(ctxs); i++) {
            cp.ctx[i].id = ctxs[i].id;
            cp.ctx[i].abstract_syntax = *ctxs[i].as;
            cp.ctx[i].transfer[0] = ox_oid_pres_ber;
            cp.ctx[i].n_transfer = 1;
        }
        cp.ud.present = true;
        cp.ud.n_pdv = 1;
        cp.ud.pdv[0].ctx_id = OX_RTSE_CTX_ACSE;
        cp.ud.pdv[0].kind = OX_PRES_PDV_SINGLE;
        cp.ud.pdv[0].value = ox_buf_span(&aarq);
    } else {
        bad_arg(w);
    }
    int err = bind.err ? bind.err : rtorq.err ? rtorq.err : aarq.err;
    if (err && !w->err)
        w->err = err;
    if (!w->err)
        ox_pres_cp_encode(w, &cp);
    ox_buf_free(&bind);
    ox_buf_free(&rtorq);
    ox_buf_free(&aarq);
    return w->err;
}

static bool offers_ber(const ox_pres_ctx_def *c)
{
    for (size_t i = 0; i < c->n_transfer; i++)
        if (ox_oid_eq(&c->transfer[i], &ox_oid_pres_ber))
            return true;
    return false;
}

/* The EXTERNAL of |ui| in presentation context |ctx| (or naming |as| directly). */
static const ox_acse_external *find_ext(const ox_acse_user_info *ui, int64_t ctx, const ox_oid *as)
{
    for (size_t i = 0; ui->present && i < ui->n; i++) {
        const ox_acse_external *e = &ui->ext[i];
        if (e->enc != OX_ACSE_EXT_SINGLE)
            continue;
        if ((e->has_indirect && e->indirect == ctx) ||
            (!e->has_indirect && e->has_direct && ox_oid_eq(&e->direct, as)))
            return e;
    }
    return NULL;
}

/* The ACSE APDU in the User-data of a normal-mode PPDU (|whole| locates errors). */
static int acse_of(const ox_pres_user_data *ud, int64_t ctx, ox_span whole,
                   const ox_pres_limits *lim, ox_acse_apdu *apdu, ox_ber_diag *diag)
{
    const ox_pres_pdv *pdv = ox_pres_ud_find(ud, ctx);
    if (!pdv || pdv->kind != OX_PRES_PDV_SINGLE)
        return FAIL_AT(diag, whole, OX_BER_R_TRUNC_TAG);
    ox_acse_limits al = {.ber = lim ? lim->ber : (ox_ber_limits){0}};
    return ox_acse_decode(pdv->value, &al, apdu, diag);
}

int ox_rtse_assoc_decode_cp(ox_span in, const ox_pres_limits *lim, ox_rtse_assoc_rq *rq,
                            ox_ber_diag *diag)
{
    ox_pres_cp cp;
    memset(rq, 0, sizeof(*rq));
    int rc = ox_pres_cp_decode(in, lim, &cp, diag);
    if (rc)
        return rc;
    rq->mode = cp.mode;
    ox_rtse_rtorq r;
    if (cp.mode == OX_PRES_MODE_X410_1984) {
        if ((rc = ox_rtse_rtorq_decode(cp.x410, OX_RTSE_TAG_X410_PARAMS, ber_lim(lim), &r, diag)) !=
            0)
            return rc;
        if (r.conn.recover)
            return OX_E_UNSUPPORTED;
        rq->bind = r.conn.open;
    } else {
        rq->calling_sel = cp.calling_sel;
        rq->called_sel = cp.called_sel;
        /* Answer every proposed context: ours with BER accepted, the rest refused. */
        for (size_t i = 0; i < cp.n_ctx; i++) {
            const ox_pres_ctx_def *c = &cp.ctx[i];
            ox_pres_ctx_result *res = &rq->res[i];
            int64_t *slot = ox_oid_eq(&c->abstract_syntax, &ox_oid_as_acse)       ? &rq->ctx_acse
                            : ox_oid_eq(&c->abstract_syntax, &ox_oid_as_mta_rtse) ? &rq->ctx_rtse
                            : ox_oid_eq(&c->abstract_syntax, &ox_oid_as_mtse)     ? &rq->ctx_mtse
                                                                                  : NULL;
            memset(res, 0, sizeof(*res));
            if (slot && offers_ber(c) && *slot == 0) {
                *slot = c->id;
                res->result = OX_PRES_RESULT_ACCEPT;
                res->has_transfer = true;
                res->transfer = ox_oid_pres_ber;
            } else {
                res->result = OX_PRES_RESULT_PROVIDER_REJECT;
                res->has_reason = true;
                res->reason = slot ? OX_PRES_CTXR_TS_NOT_SUPPORTED : OX_PRES_CTXR_AS_NOT_SUPPORTED;
            }
        }
        rq->n_res = cp.n_ctx;
        if (!rq->ctx_acse || !rq->ctx_rtse)
            return FAIL_AT(diag, in, OX_BER_R_TRUNC_TAG);
        ox_acse_apdu apdu;
        if ((rc = acse_of(&cp.ud, rq->ctx_acse, in, lim, &apdu, diag)) != 0)
            return rc;
        if (apdu.kind != OX_ACSE_AARQ)
            return FAIL_AT(diag, in, OX_BER_R_UNEXPECTED_TAG);
        const ox_acse_aarq *a = &apdu.u.aarq;
        rq->app_ctx = a->app_ctx;
        rq->called_ap = a->called_ap;
        rq->called_ae = a->called_ae;
        rq->calling_ap = a->calling_ap;
        rq->calling_ae = a->calling_ae;
        if (!ox_oid_eq(&a->app_ctx, &ox_oid_ac_mts_transfer))
            return FAIL_AT(diag, in, OX_BER_R_UNEXPECTED_TAG);
        const ox_acse_external *e = find_ext(&a->ui, rq->ctx_rtse, &ox_oid_as_mta_rtse);
        if (!e)
            return FAIL_AT(diag, in, OX_BER_R_TRUNC_TAG);
        if ((rc = ox_rtse_rtorq_decode(e->value, OX_RTSE_TAG_RTORQ, ber_lim(lim), &r, diag)) != 0)
            return rc;
        if (r.conn.recover)
            return OX_E_UNSUPPORTED;
        if (r.conn.open.len &&
            (rc = unwrap(r.conn.open, OX_RTSE_TAG_BIND_ARG, ber_lim(lim), &rq->bind, diag)) != 0)
            return rc;
    }
    rq->checkpoint = r.checkpoint;
    rq->window = r.window;
    rq->dialogue = r.dialogue;
    return 0;
}

/* ---------------------------------------------------------------- CPA */

int ox_rtse_assoc_encode_cpa(ox_buf *w, const ox_rtse_assoc_ac *ac)
{
    ox_buf res, rtoac, aare;
    ox_buf_init(&res, w->alloc, NULL, 0);
    ox_buf_init(&rtoac, w->alloc, NULL, 0);
    ox_buf_init(&aare, w->alloc, NULL, 0);
    ox_rtse_rtoac r = {.checkpoint = ac->checkpoint, .window = ac->window};
    ox_pres_cpa cpa = {.mode = ac->mode};
    if (ac->mode == OX_PRES_MODE_X410_1984) {
        r.conn.open = ac->bind_result;
        ox_rtse_rtoac_encode(&rtoac, OX_RTSE_TAG_X410_PARAMS, &r);
        cpa.x410 = ox_buf_span(&rtoac);
    } else if (ac->mode == OX_PRES_MODE_NORMAL && ac->n_res <= OX_PRES_MAX_CONTEXTS) {
        if (ac->bind_result.len)
            wrap(&res, OX_RTSE_TAG_BIND_RES, ac->bind_result);
        r.conn.open = ox_buf_span(&res);
        ox_rtse_rtoac_encode(&rtoac, OX_RTSE_TAG_RTOAC, &r);
        ox_acse_aare a = {.app_ctx = ox_oid_ac_mts_transfer,
                          .result = OX_ACSE_RESULT_ACCEPTED,
                          .diag_source = OX_ACSE_DIAG_SERVICE_USER,
                          .diag = OX_ACSE_USER_NULL,
                          .responding_ap = ac->responding_ap,
                          .responding_ae = ac->responding_ae};
        set_ui(&a.ui, ac->ctx_rtse ? ac->ctx_rtse : OX_RTSE_CTX_MTA_RTSE, ox_buf_span(&rtoac));
        ox_acse_aare_encode(&aare, &a);
        cpa.responding_sel = ac->responding_sel;
        cpa.has_results = true;
        if (ac->n_res) {
            memcpy(cpa.res, ac->res, ac->n_res * sizeof(ac->res[0]));
            cpa.n_res = ac->n_res;
        } else {
            default_results(cpa.res, &cpa.n_res);
        }
        cpa.ud.present = true;
        cpa.ud.n_pdv = 1;
        cpa.ud.pdv[0].ctx_id = ac->ctx_acse ? ac->ctx_acse : OX_RTSE_CTX_ACSE;
        cpa.ud.pdv[0].kind = OX_PRES_PDV_SINGLE;
        cpa.ud.pdv[0].value = ox_buf_span(&aare);
    } else {
        bad_arg(w);
    }
    int err = res.err ? res.err : rtoac.err ? rtoac.err : aare.err;
    if (err && !w->err)
        w->err = err;
    if (!w->err)
        ox_pres_cpa_encode(w, &cpa);
    ox_buf_free(&res);
    ox_buf_free(&rtoac);
    ox_buf_free(&aare);
    return w->err;
}

int ox_rtse_assoc_decode_cpa(ox_span in, const ox_pres_limits *lim, ox_rtse_assoc_ac *ac,
                             ox_ber_diag *diag)
{
    ox_pres_cpa cpa;
    memset(ac, 0, sizeof(*ac));
    int rc = ox_pres_cpa_decode(in, lim, &cpa, diag);
    if (rc)
        return rc;
    ac->mode = cpa.mode;
    ox_rtse_rtoac r;
    if (cpa.mode == OX_PRES_MODE_X410_1984) {
        if ((rc = ox_rtse_rtoac_decode(cpa.x410, OX_RTSE_TAG_X410_PARAMS, ber_lim(lim), &r,
                                       diag)) != 0)
            return rc;
        if (r.conn.recover)
            return OX_E_UNSUPPORTED;
        ac->bind_result = r.conn.open;
    } else {
        ac->responding_sel = cpa.responding_sel;
        ac->n_res = cpa.n_res;
        memcpy(ac->res, cpa.res, cpa.n_res * sizeof(cpa.res[0]));
        /* We proposed ACSE and RTSE first and second: both must be accepted. */
        if (cpa.n_res < 2 || cpa.res[0].result != OX_PRES_RESULT_ACCEPT ||
            cpa.res[1].result != OX_PRES_RESULT_ACCEPT)
            return FAIL_AT(diag, in, OX_BER_R_INT_RANGE);
        ac->ctx_acse = OX_RTSE_CTX_ACSE;
        ac->ctx_rtse = OX_RTSE_CTX_MTA_RTSE;
        ox_acse_apdu apdu;
        if ((rc = acse_of(&cpa.ud, OX_RTSE_CTX_ACSE, in, lim, &apdu, diag)) != 0)
            return rc;
        if (apdu.kind != OX_ACSE_AARE || apdu.u.aare.result != OX_ACSE_RESULT_ACCEPTED)
            return FAIL_AT(diag, in, OX_BER_R_UNEXPECTED_TAG);
        const ox_acse_aare *a = &apdu.u.aare;
        ac->responding_ap = a->responding_ap;
        ac->responding_ae = a->responding_ae;
        const ox_acse_external *e = find_ext(&a->ui, OX_RTSE_CTX_MTA_RTSE, &ox_oid_as_mta_rtse);
        if (!e)
            return FAIL_AT(diag, in, OX_BER_R_TRUNC_TAG);
        if ((rc = ox_rtse_rtoac_decode(e->value, OX_RTSE_TAG_RTOAC, ber_lim(lim), &r, diag)) != 0)
            return rc;
        if (r.conn.recover)
            return OX_E_UNSUPPORTED;
        if (r.conn.open.len && (rc = unwrap(r.conn.open, OX_RTSE_TAG_BIND_RES, ber_lim(lim),
                                            &ac->bind_result, diag)) != 0)
            return rc;
    }
    ac->checkpoint = r.checkpoint;
    ac->window = r.window;
    return 0;
}

/* ---------------------------------------------------------------- CPR */

int ox_rtse_assoc_encode_cpr(ox_buf *w, const ox_rtse_assoc_rj *rj)
{
    ox_buf err, rtorj, aare;
    ox_buf_init(&err, w->alloc, NULL, 0);
    ox_buf_init(&rtorj, w->alloc, NULL, 0);
    ox_buf_init(&aare, w->alloc, NULL, 0);
    ox_pres_cpr cpr = {.mode = rj->mode};
    if (rj->mode == OX_PRES_MODE_X410_1984) {
        ox_rtse_rtorj r = {.has_reason = true, .reason = rj->refuse_reason};
        ox_rtse_rtorj_encode(&rtorj, OX_RTSE_TAG_SET, &r);
        cpr.x410 = ox_buf_span(&rtorj);
    } else if (rj->mode == OX_PRES_MODE_NORMAL && rj->n_res <= OX_PRES_MAX_CONTEXTS &&
               (rj->acse_result == OX_ACSE_RESULT_REJECTED_PERMANENT ||
                rj->acse_result == OX_ACSE_RESULT_REJECTED_TRANSIENT)) {
        ox_rtse_rtorj r = {0};
        if (rj->bind_error.len) {
            wrap(&err, OX_RTSE_TAG_BIND_ERR, rj->bind_error);
            r.user_data = ox_buf_span(&err);
        }
        ox_rtse_rtorj_encode(&rtorj, OX_RTSE_TAG_RTORJ, &r);
        ox_acse_aare a = {.app_ctx = ox_oid_ac_mts_transfer,
                          .result = rj->acse_result,
                          .diag_source = OX_ACSE_DIAG_SERVICE_USER,
                          .diag = rj->acse_diag};
        set_ui(&a.ui, rj->ctx_rtse ? rj->ctx_rtse : OX_RTSE_CTX_MTA_RTSE, ox_buf_span(&rtorj));
        ox_acse_aare_encode(&aare, &a);
        cpr.responding_sel = rj->responding_sel;
        cpr.has_results = true;
        if (rj->n_res) {
            memcpy(cpr.res, rj->res, rj->n_res * sizeof(rj->res[0]));
            cpr.n_res = rj->n_res;
        } else {
            default_results(cpr.res, &cpr.n_res);
        }
        cpr.ud.present = true;
        cpr.ud.n_pdv = 1;
        cpr.ud.pdv[0].ctx_id = rj->ctx_acse ? rj->ctx_acse : OX_RTSE_CTX_ACSE;
        cpr.ud.pdv[0].kind = OX_PRES_PDV_SINGLE;
        cpr.ud.pdv[0].value = ox_buf_span(&aare);
    } else {
        bad_arg(w);
    }
    int e = err.err ? err.err : rtorj.err ? rtorj.err : aare.err;
    if (e && !w->err)
        w->err = e;
    if (!w->err)
        ox_pres_cpr_encode(w, &cpr);
    ox_buf_free(&err);
    ox_buf_free(&rtorj);
    ox_buf_free(&aare);
    return w->err;
}

int ox_rtse_assoc_decode_cpr(ox_span in, const ox_pres_limits *lim, ox_rtse_assoc_rj *rj,
                             ox_ber_diag *diag)
{
    ox_pres_cpr cpr;
    memset(rj, 0, sizeof(*rj));
    rj->provider_reason = -1;
    rj->acse_result = -1;
    int rc = ox_pres_cpr_decode(in, lim, &cpr, diag);
    if (rc)
        return rc;
    rj->mode = cpr.mode;
    ox_rtse_rtorj r;
    if (cpr.mode == OX_PRES_MODE_X410_1984) {
        if ((rc = ox_rtse_rtorj_decode(cpr.x410, OX_RTSE_TAG_SET, ber_lim(lim), &r, diag)) != 0)
            return rc;
        rj->refuse_reason = r.has_reason ? r.reason : -1;
        return 0;
    }
    rj->responding_sel = cpr.responding_sel;
    rj->n_res = cpr.n_res;
    memcpy(rj->res, cpr.res, cpr.n_res * sizeof(cpr.res[0]));
    if (cpr.has_provider_reason)
        rj->provider_reason = cpr.provider_reason;
    if (!cpr.ud.present)
        return 0; /* provider refusal: no ACSE */
    ox_acse_apdu apdu;
    if ((rc = acse_of(&cpr.ud, OX_RTSE_CTX_ACSE, in, lim, &apdu, diag)) != 0)
        return rc;
    if (apdu.kind != OX_ACSE_AARE || apdu.u.aare.result == OX_ACSE_RESULT_ACCEPTED)
        return FAIL_AT(diag, in, OX_BER_R_UNEXPECTED_TAG);
    rj->acse_result = apdu.u.aare.result;
    rj->acse_diag = apdu.u.aare.diag;
    const ox_acse_external *e =
        find_ext(&apdu.u.aare.ui, OX_RTSE_CTX_MTA_RTSE, &ox_oid_as_mta_rtse);
    if (!e)
        return 0; /* an ACSE rejection without RTSE data (e.g. context not supported) */
    if ((rc = ox_rtse_rtorj_decode(e->value, OX_RTSE_TAG_RTORJ, ber_lim(lim), &r, diag)) != 0)
        return rc;
    if (r.user_data.p &&
        (rc = unwrap(r.user_data, OX_RTSE_TAG_BIND_ERR, ber_lim(lim), &rj->bind_error, diag)) != 0)
        return rc;
    return 0;
}
