/* assoc.c - the X.228 RTSE protocol machine of one MTA association (see assoc.h)
 *
 * Why: one place that knows how X.228 maps onto the session service: RT-OPEN onto S-CONNECT
 *      (P-CONNECT/A-ASSOCIATE inside in normal mode, the PConnect in 1984 mode), each
 *      RT-TRANSFER onto one activity, checkpoints onto confirmed minor syncs, the turn onto the
 *      session tokens, recovery onto S-ACTIVITY-RESUME, RT-CLOSE onto S-RELEASE, RT-ABORT onto
 *      S-U-ABORT carrying ARU/ABRT/RTAB.
 * States: IDLE -open-> AWAIT_CC -CC-> AWAIT_AC -AC-> OPEN -release-> AWAIT_DN -DN-> CLOSED
 *         AWAIT_CR -CR-> AWAIT_CN -CN-> AWAIT_OPEN_RSP -accept-> OPEN (-refuse-> CLOSED)
 *         OPEN -FN-> CLOSED (answered with DN); any state -fault/AB/timer/lost-> ABORTED.
 * Limits: window at most OX_ASSOC_MAX_WINDOW (the checkpoint ring); one transfer at a time
 *      (two-way-alternate: only the turn holder sends); TSDUs bounded by ox_assoc_limits.
 * Standards: X.228 (1988) 7-9; X.225; X.226 / X.410 (1984) 6; X.419 (1999) 11. */
#include "openx400/assoc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_MAX_DATA (16u * 1024)
#define MAX_DATA         65000u /* one S-DATA SPDU stays below the 65539-octet SPDU limit */
/* Token Setting Item giving every token to the responder (two bits per token, 01). */
#define TS_ALL_RESPONDER 0x55

static const char *const state_names[] = {"idle",     "await-cr",       "await-cc", "await-cn",
                                          "await-ac", "await-open-rsp", "open",     "await-dn",
                                          "closed",   "aborted"};

const char *ox_assoc_state_name(ox_assoc_state s)
{
    return (unsigned)s < OX_ARRAY_LEN(state_names) ? state_names[s] : "?";
}

const char *ox_assoc_ev_name(ox_assoc_ev_kind k)
{
    static const char *const n[] = {"none",
                                    "open-ind",
                                    "open-conf",
                                    "transfer-begin-ind",
                                    "transfer-data-ind",
                                    "transfer-end-ind",
                                    "transfer-resume-ind",
                                    "transfer-resumed",
                                    "transfer-conf",
                                    "writable",
                                    "turn-please-ind",
                                    "turn-give-ind",
                                    "release-ind",
                                    "release-conf",
                                    "abort-ind"};
    return (unsigned)k < OX_ARRAY_LEN(n) ? n[k] : "?";
}

const char *ox_assoc_layer_name(ox_assoc_layer l)
{
    static const char *const n[] = {"none", "transport", "session", "presentation",
                                    "acse", "rtse",      "timer",   "user"};
    return (unsigned)l < OX_ARRAY_LEN(n) ? n[l] : "?";
}

/* ---- events ---- */

static ox_assoc_ev *push(ox_assoc *a, ox_assoc_ev_kind kind)
{
    ox_assoc_ev *e;
    if (OX_NEVER(a->ev_n == OX_ASSOC_EVQ)) /* a TSDU yields a few events; the queue holds 16 */
        a->ev_n--;                         /* overwrite the newest rather than run over */
    e = &a->evq[(a->ev_head + a->ev_n++) % OX_ASSOC_EVQ];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->reason = -1;
    return e;
}

bool ox_assoc_next_event(ox_assoc *a, ox_assoc_ev *ev)
{
    if (!a->ev_n)
        return false;
    *ev = a->evq[a->ev_head];
    a->ev_head = (a->ev_head + 1) % OX_ASSOC_EVQ;
    a->ev_n--;
    return true;
}

static void abort_ind(ox_assoc *a, bool local, ox_assoc_layer layer, int64_t reason,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Enters ABORTED and queues the one ABORT_IND that says why. */
static void abort_ind(ox_assoc *a, bool local, ox_assoc_layer layer, int64_t reason,
                      const char *fmt, ...)
{
    if (a->state == OX_ASSOC_ABORTED)
        return;
    a->state = OX_ASSOC_ABORTED;
    a->deadline_ms = 0;
    if (a->rec.valid)
        a->rec.lost_ms = a->now_ms;
    ox_assoc_ev *e = push(a, OX_ASSOC_EV_ABORT_IND);
    e->local = local;
    e->layer = layer;
    e->reason = reason;
    e->at = a->rx_total;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->why, sizeof(e->why), fmt, ap);
    va_end(ap);
}

/* ---- timers ---- */

static void arm(ox_assoc *a, uint32_t ms)
{
    a->deadline_ms = a->now_ms + ms;
}

static void disarm(ox_assoc *a)
{
    a->deadline_ms = 0;
}

/* ---- set-up ---- */

static int copy_sel(uint8_t *dst, ox_span *s)
{
    if (s->len > OX_SES_MAX_SSEL)
        return OX_E_ARG;
    if (s->len)
        memcpy(dst, s->p, s->len);
    s->p = s->len ? dst : NULL;
    return 0;
}

int ox_assoc_init(ox_assoc *a, const ox_assoc_cfg *cfg)
{
    memset(a, 0, sizeof(*a));
    a->cfg = *cfg;
    ox_assoc_cfg *c = &a->cfg;
    ox_buf_init(&a->ud, c->alloc, NULL, 0);
    ox_buf_init(&a->tsdu, c->alloc, NULL, 0);
    ox_buf_init(&a->tx_hdr, c->alloc, NULL, 0);
    ox_buf_init(&a->bind, c->alloc, NULL, 0);
    if (!c->window)
        c->window = OX_RTSE_DEFAULT_WINDOW;
    if (!c->max_data)
        c->max_data = DEFAULT_MAX_DATA;
    if (!c->timers.open_ms)
        c->timers.open_ms = OX_ASSOC_DEFAULT_OPEN_MS;
    if (!c->timers.progress_ms)
        c->timers.progress_ms = OX_ASSOC_DEFAULT_PROGRESS_MS;
    if (!c->timers.release_ms)
        c->timers.release_ms = OX_ASSOC_DEFAULT_RELEASE_MS;
    if (!c->limits.max_tsdu)
        c->limits.max_tsdu = OX_ASSOC_DEFAULT_MAX_TSDU;
    if (c->window > OX_ASSOC_MAX_WINDOW || c->max_data > MAX_DATA ||
        c->calling_ref.len > OX_ASSOC_MAX_REF ||
        (c->role == OX_ASSOC_INITIATOR && c->mode != OX_ASSOC_NORMAL && c->mode != OX_ASSOC_X410))
        return OX_E_ARG;
    if (copy_sel(a->sel[0], &c->local_psel) || copy_sel(a->sel[1], &c->remote_psel))
        return OX_E_ARG;
    if (c->calling_ref.len) {
        memcpy(a->cref, c->calling_ref.p, c->calling_ref.len);
        c->calling_ref.p = a->cref;
    } else {
        int n = snprintf((char *)a->cref, sizeof(a->cref), "ox%u", c->id_base);
        c->calling_ref = ox_span_of(a->cref, (size_t)n);
    }
    bool init = c->role == OX_ASSOC_INITIATOR;
    ox_tpkt_cfg tc = {.role = init ? OX_TPKT_INITIATOR : OX_TPKT_RESPONDER,
                      .local_tsel = c->local_tsel,
                      .remote_tsel = c->remote_tsel,
                      .limits = {.max_tsdu = c->limits.max_tsdu}};
    ox_ses_cfg sc = {.role = init ? OX_SES_INITIATOR : OX_SES_RESPONDER,
                     .local_ssel = c->local_ssel,
                     .remote_ssel = c->remote_ssel,
                     .limits = {.max_tsdu = c->limits.max_tsdu}};
    int rc = ox_tpkt_init(&a->tpkt, &tc, c->alloc);
    if (rc == 0)
        rc = ox_ses_init(&a->ses, &sc);
    a->mode = c->mode;
    a->state = init ? OX_ASSOC_IDLE : OX_ASSOC_AWAIT_CR;
    a->rec.initiator = init;
    return rc;
}

void ox_assoc_free(ox_assoc *a)
{
    ox_tpkt_free(&a->tpkt);
    ox_ses_free(&a->ses);
    ox_buf_free(&a->ud);
    ox_buf_free(&a->tsdu);
    ox_buf_free(&a->tx_hdr);
    ox_buf_free(&a->bind);
}

bool ox_assoc_recovery(const ox_assoc *a, ox_assoc_rec *rec)
{
    *rec = a->rec;
    return rec->valid;
}

/* Hands the session's TSDU to the transport. */
static int send_tsdu(ox_assoc *a, ox_buf *out)
{
    int rc = a->tsdu.err;
    if (rc == 0 && a->tsdu.len)
        rc = ox_tpkt_send(&a->tpkt, ox_buf_span(&a->tsdu), out);
    ox_buf_reset(&a->tsdu);
    return rc;
}

/* RTSE user data for S-TOKEN-PLEASE, S-RELEASE, ...: normal mode one PDV in |ctx|, 1984 mode
 * the APDU itself. */
static int wrap_ud(ox_assoc *a, int64_t ctx, ox_span value)
{
    ox_buf_reset(&a->ud);
    if (a->mode == OX_ASSOC_X410)
        return ox_buf_append(&a->ud, value.p, value.len);
    return ox_pres_ud_single_encode(&a->ud, ctx, value);
}

bool ox_assoc_can_send(const ox_assoc *a)
{
    return a->state == OX_ASSOC_OPEN && a->have_turn && !a->tx_active && !a->rx_active;
}

/* ---- sending an abort ---- */

/* AB carrying the RTAB: normal mode ARU { ABRT { user-information EXTERNAL(RTAB) } },
 * 1984 mode the x410 ARU (the RTAB SET). X.228 9.8 / X.410 6. */
static int send_abort(ox_assoc *a, int64_t reason, ox_buf *out)
{
    if (a->ses.state == OX_SES_IDLE || a->ses.state == OX_SES_AWAIT_CN ||
        a->ses.state == OX_SES_CLOSED || a->ses.state == OX_SES_ABORTED)
        return 0; /* no session connection: closing the TCP connection is the abort */
    uint8_t t1[32], t2[96];
    ox_buf rtab, abrt;
    ox_buf_init(&rtab, a->cfg.alloc, t1, sizeof(t1));
    ox_buf_init(&abrt, a->cfg.alloc, t2, sizeof(t2));
    ox_rtse_rtab ab = {.has_reason = reason >= 0, .reason = reason};
    ox_pres_abort pa = {.kind = OX_PRES_ABORT_ARU};
    int rc;
    ox_buf_reset(&a->ud);
    if (a->mode == OX_ASSOC_X410) {
        rc = ox_rtse_rtab_encode(&rtab, OX_RTSE_TAG_SET, &ab);
        pa.kind = OX_PRES_ABORT_ARU_X410;
        pa.x410 = ox_buf_span(&rtab);
    } else {
        rc = ox_rtse_rtab_encode(&rtab, OX_RTSE_TAG_RTAB, &ab);
        ox_acse_abrt ar = {.source = OX_ACSE_ABRT_SOURCE_USER};
        ar.ui.present = true;
        ar.ui.n = 1;
        ar.ui.ext[0] =
            (ox_acse_external){.has_indirect = true,
                               .indirect = a->ctx_rtse ? a->ctx_rtse : OX_RTSE_CTX_MTA_RTSE,
                               .enc = OX_ACSE_EXT_SINGLE,
                               .value = ox_buf_span(&rtab)};
        if (rc == 0)
            rc = ox_acse_abrt_encode(&abrt, &ar);
        pa.ud.present = true;
        pa.ud.n_pdv = 1;
        pa.ud.pdv[0] = (ox_pres_pdv){.ctx_id = a->ctx_acse ? a->ctx_acse : OX_RTSE_CTX_ACSE,
                                     .kind = OX_PRES_PDV_SINGLE,
                                     .value = ox_buf_span(&abrt)};
    }
    if (rc == 0)
        rc = ox_pres_abort_encode(&a->ud, &pa);
    if (rc == 0)
        rc = ox_ses_abort(&a->ses, ox_buf_span(&a->ud), &a->tsdu);
    if (rc == 0)
        rc = send_tsdu(a, out);
    ox_buf_free(&rtab);
    ox_buf_free(&abrt);
    return rc;
}

static int fault(ox_assoc *a, ox_assoc_layer layer, int64_t reason, ox_buf *out, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));

/* A fault we detected above the session: RT-P-ABORT (AB with RTAB |reason|), ABORT_IND. */
static int fault(ox_assoc *a, ox_assoc_layer layer, int64_t reason, ox_buf *out, const char *fmt,
                 ...)
{
    if (a->state == OX_ASSOC_ABORTED)
        return OX_E_PEER;
    char why[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    send_abort(a, reason, out);
    a->rec.valid = false; /* a protocol error is not recovered */
    abort_ind(a, true, layer, reason, "%s", why);
    return OX_E_PEER;
}

/* ---- establishment ---- */

static int64_t kilo(uint32_t octets)
{
    return (octets + 1023) / 1024;
}

/* UTCTime text for the CommonReference from |ms| since 1970 (civil-from-days, Hinnant). */
static void utc_text(uint64_t ms, char out[16])
{
    int64_t s = (int64_t)(ms / 1000), days = s / 86400, sod = s % 86400;
    int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    snprintf(out, 16, "%02d%02d%02d%02d%02d%02dZ", (int)(y % 100), (int)m, (int)d,
             (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
}

int ox_assoc_open(ox_assoc *a, ox_span bind_arg, uint64_t now_ms, ox_buf *out)
{
    if (a->state != OX_ASSOC_IDLE)
        return OX_E_STATE;
    if (ox_buf_append(&a->bind, bind_arg.p, bind_arg.len) != 0)
        return a->bind.err;
    a->now_ms = now_ms;
    a->rec.mode = a->mode;
    memcpy(a->rec.calling_ref, a->cfg.calling_ref.p, a->cfg.calling_ref.len);
    a->rec.calling_ref_len = a->cfg.calling_ref.len;
    utc_text(now_ms, a->rec.common_ref);
    a->state = OX_ASSOC_AWAIT_CC;
    arm(a, a->cfg.timers.open_ms);
    return ox_tpkt_connect(&a->tpkt, out);
}

int ox_assoc_open_recover(ox_assoc *a, const ox_assoc_rec *rec, uint64_t now_ms, ox_buf *out)
{
    if (a->state != OX_ASSOC_IDLE)
        return OX_E_STATE;
    if (!rec->valid || rec->calling_ref_len > OX_ASSOC_MAX_REF)
        return OX_E_ARG;
    a->now_ms = now_ms;
    a->recover = true;
    a->rec = *rec;
    a->rec.initiator = true;
    a->mode = rec->mode;
    a->state = OX_ASSOC_AWAIT_CC;
    arm(a, a->cfg.timers.open_ms);
    return ox_tpkt_connect(&a->tpkt, out);
}

/* The RTORQ our CP carries. */
static void our_rtorq(const ox_assoc *a, ox_rtse_rtorq *r, ox_span open)
{
    memset(r, 0, sizeof(*r));
    r->checkpoint = kilo(a->cfg.checkpoint);
    r->window = a->cfg.window;
    r->dialogue = OX_RTSE_TWA;
    if (a->recover) {
        r->conn.recover = true;
        r->conn.ref_t61 = a->mode == OX_ASSOC_X410;
        r->conn.calling_ref = ox_span_of(a->rec.calling_ref, a->rec.calling_ref_len);
        r->conn.common_ref = ox_span_of(a->rec.common_ref, strlen(a->rec.common_ref));
    } else {
        r->conn.open = open;
    }
    if (a->mode == OX_ASSOC_X410) {
        r->has_app_proto = true;
        r->app_proto = OX_RTSE_APP_P1_1984;
    }
}

/* CP-type with RTORQ connectionDataRQ recover (the assembly only builds `open`): the same
 * nesting as ox_rtse_assoc_encode_cp, X.228 9.6.2. */
static int encode_cp_recover(ox_assoc *a, ox_buf *w)
{
    ox_buf rtorq, aarq;
    ox_buf_init(&rtorq, a->cfg.alloc, NULL, 0);
    ox_buf_init(&aarq, a->cfg.alloc, NULL, 0);
    ox_rtse_rtorq r;
    our_rtorq(a, &r, ox_span_of(NULL, 0));
    ox_pres_cp cp = {.mode = a->mode};
    if (a->mode == OX_ASSOC_X410) {
        ox_rtse_rtorq_encode(&rtorq, OX_RTSE_TAG_X410_PARAMS, &r);
        cp.x410 = ox_buf_span(&rtorq);
    } else {
        ox_rtse_rtorq_encode(&rtorq, OX_RTSE_TAG_RTORQ, &r);
        ox_acse_aarq q = {.app_ctx = ox_oid_ac_mts_transfer};
        q.ui.present = true;
        q.ui.n = 1;
        q.ui.ext[0] = (ox_acse_external){.has_indirect = true,
                                         .indirect = OX_RTSE_CTX_MTA_RTSE,
                                         .enc = OX_ACSE_EXT_SINGLE,
                                         .value = ox_buf_span(&rtorq)};
        ox_acse_aarq_encode(&aarq, &q);
        static const struct {
            int64_t id;
            const ox_oid *as;
        } ctxs[] = {{OX_RTSE_CTX_ACSE, &ox_oid_as_acse},
                    {OX_RTSE_CTX_MTA_RTSE, &ox_oid_as_mta_rtse},
                    {OX_RTSE_CTX_MTSE, &ox_oid_as_mtse}};
        cp.calling_sel = a->cfg.local_psel;
        cp.called_sel = a->cfg.remote_psel;
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
        cp.ud.pdv[0] = (ox_pres_pdv){
            .ctx_id = OX_RTSE_CTX_ACSE, .kind = OX_PRES_PDV_SINGLE, .value = ox_buf_span(&aarq)};
    }
    int rc = rtorq.err ? rtorq.err : aarq.err;
    if (rc == 0)
        rc = ox_pres_cp_encode(w, &cp);
    ox_buf_free(&rtorq);
    ox_buf_free(&aarq);
    return rc;
}

static int on_transport_connected(ox_assoc *a, ox_buf *out)
{
    ox_buf_reset(&a->ud);
    int rc;
    if (a->recover) {
        rc = encode_cp_recover(a, &a->ud);
    } else {
        ox_rtse_assoc_rq rq = {.mode = a->mode,
                               .calling_sel = a->cfg.local_psel,
                               .called_sel = a->cfg.remote_psel,
                               .checkpoint = kilo(a->cfg.checkpoint),
                               .window = a->cfg.window,
                               .dialogue = OX_RTSE_TWA,
                               .bind = ox_buf_span(&a->bind)};
        rc = ox_rtse_assoc_encode_cp(&a->ud, &rq);
    }
    /* A recovering receiver hands the turn to the sender (the responder) at once. */
    ox_ses_connect_req cr = {.user_data = ox_buf_span(&a->ud),
                             .token_set = a->recover && !a->rec.sender ? TS_ALL_RESPONDER : 0};
    if (rc == 0)
        rc = ox_ses_connect(&a->ses, &cr, &a->tsdu);
    if (rc == 0)
        rc = send_tsdu(a, out);
    a->state = OX_ASSOC_AWAIT_AC;
    arm(a, a->cfg.timers.open_ms);
    return rc;
}

/* X.228 7.2: the agreed checkpoint size and window are the smaller of both proposals; no
 * checkpointing (0) on either side wins. A window the peer omitted is the DEFAULT 3 (the
 * decoders return it), and it is the window we then really use. */
static void agree(ox_assoc *a, int64_t peer_ckpt_k, int64_t peer_window)
{
    int64_t ours = kilo(a->cfg.checkpoint);
    int64_t k = peer_ckpt_k < ours ? peer_ckpt_k : ours;
    a->checkpoint = k > 0 ? (uint32_t)(k * 1024) : 0;
    int64_t w = peer_window < (int64_t)a->cfg.window ? peer_window : (int64_t)a->cfg.window;
    a->window = w < 1 ? 1 : (uint32_t)w;
    a->rec.checkpoint = a->checkpoint;
    a->rec.window = a->window;
}

/* Responder: the recovery CP the assembly declines (OX_E_UNSUPPORTED): find its RTORQ. */
static int decode_cp_recover(ox_assoc *a, ox_span in, ox_rtse_rtorq *r, ox_ber_diag *d)
{
    ox_pres_cp cp;
    int rc = ox_pres_cp_decode(in, NULL, &cp, d);
    if (rc)
        return rc;
    if (cp.mode == OX_PRES_MODE_X410_1984)
        return ox_rtse_rtorq_decode(cp.x410, OX_RTSE_TAG_X410_PARAMS, NULL, r, d);
    const ox_pres_pdv *pdv = ox_pres_ud_find(&cp.ud, a->ctx_acse);
    ox_acse_apdu apdu;
    if (!pdv || pdv->kind != OX_PRES_PDV_SINGLE)
        return OX_E_PEER;
    if ((rc = ox_acse_decode(pdv->value, NULL, &apdu, d)) != 0)
        return rc;
    if (apdu.kind != OX_ACSE_AARQ)
        return OX_E_PEER;
    for (size_t i = 0; i < apdu.u.aarq.ui.n; i++) {
        const ox_acse_external *e = &apdu.u.aarq.ui.ext[i];
        if (e->enc == OX_ACSE_EXT_SINGLE && e->has_indirect && e->indirect == a->ctx_rtse)
            return ox_rtse_rtorq_decode(e->value, OX_RTSE_TAG_RTORQ, NULL, r, d);
    }
    return OX_E_PEER;
}

static int on_connect_ind(ox_assoc *a, const ox_ses_ev *se, ox_buf *out)
{
    ox_rtse_assoc_rq rq;
    ox_ber_diag d = {0};
    ox_rtse_rtorq r = {0};
    int rc = ox_rtse_assoc_decode_cp(se->user_data, NULL, &rq, &d);
    a->ctx_acse = rq.ctx_acse;
    a->ctx_rtse = rq.ctx_rtse;
    a->ctx_mtse = rq.ctx_mtse;
    memcpy(a->res, rq.res, sizeof(a->res));
    a->n_res = rq.n_res;
    a->mode = rq.mode;
    if (rc == OX_E_UNSUPPORTED) {
        rc = decode_cp_recover(a, se->user_data, &r, &d);
        if (rc == 0 && !r.conn.recover)
            rc = OX_E_PEER;
        if (rc == 0) {
            a->recover = true;
            rq.checkpoint = r.checkpoint;
            rq.window = r.window;
            rq.dialogue = r.dialogue;
            rq.bind = ox_span_of(NULL, 0);
        }
    }
    if (rc) {
        /* Not an MTS-transfer association: refuse at the session level. */
        ox_ses_refuse(&a->ses, OX_SES_RF_USER_NOT_SPECIFIED, ox_span_of(NULL, 0), &a->tsdu);
        send_tsdu(a, out);
        a->rec.valid = false;
        abort_ind(a, true, rq.mode == OX_ASSOC_X410 ? OX_ASSOC_L_RTSE : OX_ASSOC_L_PRESENTATION, -1,
                  "refused S-CONNECT: user data is not an mts-transfer CP (X.419 11.2): %s at "
                  "octet %zu of the CN user data",
                  ox_ber_reason_name(d.reason), d.offset);
        return OX_E_PEER;
    }
    if (rq.dialogue != OX_RTSE_TWA) {
        /* X.419: P1 uses two-way-alternate only. Refused as X.228 says (unacceptable dialogue). */
        a->state = OX_ASSOC_AWAIT_OPEN_RSP;
        ox_assoc_refuse(a, ox_span_of(NULL, 0), OX_RTSE_RJ_UNACCEPTABLE_DIALOGUE, out);
        abort_ind(a, true, OX_ASSOC_L_RTSE, OX_RTSE_RJ_UNACCEPTABLE_DIALOGUE,
                  "refused RT-OPEN: dialogue mode %lld is not two-way-alternate (X.419 11.3)",
                  (long long)rq.dialogue);
        return OX_E_PEER;
    }
    agree(a, rq.checkpoint, rq.window);
    a->rec.mode = a->mode;
    a->state = OX_ASSOC_AWAIT_OPEN_RSP;
    disarm(a); /* our user answers; no timer on ourselves */
    ox_assoc_ev *e = push(a, OX_ASSOC_EV_OPEN_IND);
    e->data = rq.bind;
    e->mode = a->mode;
    e->checkpoint = a->checkpoint;
    e->window = a->window;
    e->dialogue = rq.dialogue;
    e->recover = a->recover;
    if (a->recover) {
        e->calling_ref = r.conn.calling_ref;
        e->common_ref = r.conn.common_ref;
    }
    return 0;
}

int ox_assoc_accept(ox_assoc *a, ox_span bind_result, ox_buf *out)
{
    if (a->state != OX_ASSOC_AWAIT_OPEN_RSP)
        return OX_E_STATE;
    /* A recovery is accepted with RTOAC open [0] (no user data): nothing to bind again. */
    ox_rtse_assoc_ac ac = {.mode = a->mode,
                           .responding_sel = a->cfg.local_psel,
                           .checkpoint = a->checkpoint / 1024,
                           .window = a->window,
                           .bind_result = a->recover ? ox_span_of(NULL, 0) : bind_result,
                           .ctx_acse = a->ctx_acse,
                           .ctx_rtse = a->ctx_rtse,
                           .n_res = a->n_res};
    memcpy(ac.res, a->res, sizeof(ac.res));
    ox_buf_reset(&a->ud);
    int rc = ox_rtse_assoc_encode_cpa(&a->ud, &ac);
    ox_ses_accept_req ar = {.user_data = ox_buf_span(&a->ud)};
    if (rc == 0)
        rc = ox_ses_accept(&a->ses, &ar, &a->tsdu);
    if (rc == 0)
        rc = send_tsdu(a, out);
    if (rc)
        return rc;
    a->state = OX_ASSOC_OPEN;
    /* X.228: the initiator holds the turn first (a recovering receiver gave it to us). */
    a->have_turn = (ox_ses_tokens_held(&a->ses) & OX_SES_TOKEN_DATA) != 0;
    return 0;
}

int ox_assoc_refuse(ox_assoc *a, ox_span bind_error, int64_t reason, ox_buf *out)
{
    if (a->state != OX_ASSOC_AWAIT_OPEN_RSP)
        return OX_E_STATE;
    ox_rtse_assoc_rj rj = {.mode = a->mode,
                           .responding_sel = a->cfg.local_psel,
                           .acse_result = OX_ACSE_RESULT_REJECTED_PERMANENT,
                           .acse_diag = 1, /* acse-service-user: no-reason-given */
                           .bind_error = bind_error,
                           .refuse_reason = reason < 0 ? OX_RTSE_RJ_VALIDATION_FAILURE : reason,
                           .ctx_acse = a->ctx_acse,
                           .ctx_rtse = a->ctx_rtse,
                           .n_res = a->n_res};
    if (reason == OX_RTSE_RJ_BUSY)
        rj.acse_result = OX_ACSE_RESULT_REJECTED_TRANSIENT;
    memcpy(rj.res, a->res, sizeof(rj.res));
    ox_buf_reset(&a->ud);
    int rc = ox_rtse_assoc_encode_cpr(&a->ud, &rj);
    if (rc == 0)
        rc = ox_ses_refuse(&a->ses, OX_SES_RF_USER_DATA, ox_buf_span(&a->ud), &a->tsdu);
    if (rc == 0)
        rc = send_tsdu(a, out);
    a->state = OX_ASSOC_CLOSED;
    return rc;
}

static int on_connect_conf(ox_assoc *a, const ox_ses_ev *se, ox_buf *out)
{
    ox_ber_diag d = {0};
    disarm(a);
    if (se->accepted) {
        ox_rtse_assoc_ac ac;
        int rc = ox_rtse_assoc_decode_cpa(se->user_data, NULL, &ac, &d);
        if (rc == 0 && ac.mode != a->mode)
            rc = OX_E_PEER;
        if (rc)
            return fault(a, a->mode == OX_ASSOC_X410 ? OX_ASSOC_L_RTSE : OX_ASSOC_L_ACSE,
                         OX_RTSE_AB_PROTOCOL_ERROR, out,
                         "the peer's accept (CPA/AARE/RTOAC) is malformed or of the other "
                         "mode: %s at octet %zu of the AC user data",
                         ox_ber_reason_name(d.reason), d.offset);
        a->ctx_acse = OX_RTSE_CTX_ACSE;
        a->ctx_rtse = OX_RTSE_CTX_MTA_RTSE;
        a->ctx_mtse = OX_RTSE_CTX_MTSE;
        agree(a, ac.checkpoint, ac.window);
        a->state = OX_ASSOC_OPEN;
        a->have_turn = (ox_ses_tokens_held(&a->ses) & OX_SES_TOKEN_DATA) != 0;
        ox_assoc_ev *e = push(a, OX_ASSOC_EV_OPEN_CONF);
        e->accepted = true;
        e->mode = a->mode;
        e->recover = a->recover;
        e->data = ac.bind_result;
        e->checkpoint = a->checkpoint;
        e->window = a->window;
        return 0;
    }
    a->state = OX_ASSOC_CLOSED;
    ox_assoc_ev *e = push(a, OX_ASSOC_EV_OPEN_CONF);
    e->mode = a->mode;
    e->recover = a->recover;
    ox_rtse_assoc_rj rj;
    if (se->reason == OX_SES_RF_USER_DATA &&
        ox_rtse_assoc_decode_cpr(se->user_data, NULL, &rj, &d) == 0) {
        e->data = rj.bind_error;
        if (a->mode == OX_ASSOC_X410) {
            e->layer = OX_ASSOC_L_RTSE;
            e->reason = rj.refuse_reason;
            snprintf(e->why, sizeof(e->why), "the peer refused RT-OPEN (RTORJ refuseReason %lld)",
                     (long long)rj.refuse_reason);
        } else if (rj.acse_result < 0) {
            e->layer = OX_ASSOC_L_PRESENTATION;
            e->reason = rj.provider_reason;
            snprintf(e->why, sizeof(e->why),
                     "the peer's presentation provider refused (CPR provider-reason %lld)",
                     (long long)rj.provider_reason);
        } else {
            e->layer = OX_ASSOC_L_ACSE;
            e->reason = rj.acse_result;
            snprintf(e->why, sizeof(e->why),
                     "the peer refused the association (AARE result %lld, diagnostic %lld)",
                     (long long)rj.acse_result, (long long)rj.acse_diag);
        }
    } else {
        e->layer = OX_ASSOC_L_SESSION;
        e->reason = se->reason;
        snprintf(e->why, sizeof(e->why), "the peer's session refused the connection (RF reason %u)",
                 se->reason);
    }
    return 0;
}

/* ---- transfer: sender ---- */

static void activity_id(ox_assoc *a, char id[8], size_t *n)
{
    a->n_activity++;
    *n = (size_t)snprintf(id, 8, "%06u", (a->cfg.id_base + a->n_activity) % 1000000u);
}

static int rttr_header(ox_assoc *a, uint64_t length)
{
    ox_rtse_rttr_frame f = {0};
    if (a->mode == OX_ASSOC_NORMAL) {
        f.external = true;
        f.ext_has_indirect = true;
        f.ext_indirect = a->ctx_mtse;
    }
    ox_buf_reset(&a->tx_hdr);
    /* Normal mode: the first segment starts with the EXTERNAL's headers; every S-DATA wraps
     * its segment in an RTTR OCTET STRING of its own (send_data). */
    if (a->mode == OX_ASSOC_NORMAL)
        return ox_rtse_external_begin(&a->tx_hdr, &f, length);
    return ox_rtse_rttr_begin(&a->tx_hdr, &f, length);
}

static void tx_start(ox_assoc *a, uint64_t length, uint64_t sent)
{
    a->tx_active = true;
    a->tx_ending = false;
    a->tx_total = length;
    a->tx_sent = sent;
    a->tx_since_ckpt = 0;
    a->tx_unconfirmed = 0;
    a->tx_blocked = false;
}

int ox_assoc_transfer_begin(ox_assoc *a, uint64_t length, ox_buf *out)
{
    if (!ox_assoc_can_send(a))
        return OX_E_STATE;
    char id[8];
    size_t n;
    activity_id(a, id, &n);
    int rc = ox_ses_activity_start(&a->ses, ox_span_of(id, n), ox_span_of(NULL, 0), &a->tsdu);
    if (rc == 0)
        rc = send_tsdu(a, out);
    if (rc == 0)
        rc = rttr_header(a, length);
    if (rc)
        return rc;
    tx_start(a, length, 0);
    ox_assoc_rec *r = &a->rec;
    r->valid = true;
    r->sender = true;
    memcpy(r->activity_id, id, n);
    r->activity_id_len = n;
    r->length = length;
    r->serial = 0;
    r->offset = 0;
    r->n_acked = 0;
    return 0;
}

int ox_assoc_transfer_resume(ox_assoc *a, const ox_assoc_rec *rec, uint64_t *offset, ox_buf *out)
{
    if (!ox_assoc_can_send(a) || !a->recover || !rec->valid || !rec->sender)
        return OX_E_STATE;
    char id[8];
    size_t n;
    activity_id(a, id, &n);
    ox_ses_refs refs = {
        .calling = ox_span_of(rec->calling_ref, rec->calling_ref_len),
        .common = ox_span_of(rec->common_ref, strlen(rec->common_ref)),
    };
    int rc = ox_ses_activity_resume(&a->ses, ox_span_of(id, n),
                                    ox_span_of(rec->activity_id, rec->activity_id_len), rec->serial,
                                    &refs, ox_span_of(NULL, 0), &a->tsdu);
    if (rc == 0)
        rc = send_tsdu(a, out);
    if (rc)
        return rc;
    uint64_t at = rec->serial ? rec->offset : 0;
    ox_buf_reset(&a->tx_hdr);
    if (rec->serial == 0 && (rc = rttr_header(a, rec->length)) != 0)
        return rc; /* nothing confirmed: the framing goes again */
    tx_start(a, rec->length, at);
    a->recover = false; /* one resumption per recovery association */
    /* The activity keeps its old identity for a further recovery (X.228 9.6.3). */
    a->rec = *rec;
    a->rec.offset = at;
    a->rec.checkpoint = a->checkpoint;
    a->rec.window = a->window;
    *offset = at;
    return 0;
}

/* Sends the pending framing then |data| as one S-DATA; a minor sync when the checkpoint is
 * reached (X.228 9.4: checkpoint size counts the octets of the APDU on the wire). */
static int send_data(ox_assoc *a, ox_span data, ox_buf *out)
{
    ox_buf_reset(&a->ud);
    size_t n = a->tx_hdr.len + data.len;
    if (a->mode == OX_ASSOC_NORMAL) {
        /* Each S-DATA is one P-DATA whose PDV (octet-aligned, in the RTSE context) is one
         * whole RTTR APDU: an OCTET STRING holding the next segment of the EXTERNAL that
         * carries the MTS-APDU (X.228 9.4 segmenting; what peers and tshark reassemble:
         * docs/ASSOCIATION.md). */
        ox_pres_user_data pu = {.present = true, .n_pdv = 1};
        pu.pdv[0] = (ox_pres_pdv){.ctx_id = a->ctx_rtse, .kind = OX_PRES_PDV_OCTETS};
        ox_buf seg;
        ox_buf_init(&seg, a->cfg.alloc, NULL, 0);
        ox_ber_put_header(&seg, OX_RTSE_TAG_RTTR, false, n);
        n = seg.len + n;
        ox_buf_append(&seg, a->tx_hdr.p, a->tx_hdr.len);
        ox_buf_append(&seg, data.p, data.len);
        pu.pdv[0].value = ox_buf_span(&seg);
        int e = seg.err ? seg.err : ox_pres_user_data_encode(&a->ud, &pu);
        ox_buf_free(&seg);
        if (e)
            return e;
    } else {
        ox_buf_append(&a->ud, a->tx_hdr.p, a->tx_hdr.len);
        ox_buf_append(&a->ud, data.p, data.len);
    }
    if (a->ud.err)
        return a->ud.err;
    ox_buf_reset(&a->tx_hdr);
    int rc = ox_ses_data(&a->ses, ox_buf_span(&a->ud), &a->tsdu);
    if (rc == 0)
        rc = send_tsdu(a, out);
    if (rc)
        return rc;
    a->tx_sent += data.len;
    a->tx_since_ckpt += n;
    if (a->checkpoint && a->tx_since_ckpt >= a->checkpoint && a->tx_sent < a->tx_total) {
        uint32_t serial;
        rc = ox_ses_minor_sync(&a->ses, true, ox_span_of(NULL, 0), &serial, &a->tsdu);
        if (rc == 0)
            rc = send_tsdu(a, out);
        if (rc)
            return rc;
        if (OX_NEVER(a->tx_unconfirmed >= OX_ASSOC_MAX_WINDOW))
            return OX_E_STATE;
        a->tx_ck[a->tx_unconfirmed].serial = serial;
        a->tx_ck[a->tx_unconfirmed].offset = a->tx_sent;
        a->tx_unconfirmed++;
        a->tx_since_ckpt = 0;
        if (a->tx_unconfirmed >= a->window) {
            a->tx_blocked = true;
            arm(a, a->cfg.timers.progress_ms);
        }
    }
    return 0;
}

int ox_assoc_transfer_data(ox_assoc *a, ox_span data, ox_buf *out, size_t *taken)
{
    *taken = 0;
    if (a->state != OX_ASSOC_OPEN || !a->tx_active || a->tx_ending)
        return OX_E_STATE;
    if (data.len > a->tx_total - a->tx_sent)
        return OX_E_ARG;
    while (*taken < data.len && !a->tx_blocked) {
        size_t room = a->cfg.max_data;
        if (a->checkpoint && a->checkpoint - a->tx_since_ckpt < room)
            room = (size_t)(a->checkpoint - a->tx_since_ckpt);
        room = room > a->tx_hdr.len ? room - a->tx_hdr.len : 1;
        size_t piece = data.len - *taken < room ? data.len - *taken : room;
        int rc = send_data(a, ox_span_of(data.p + *taken, piece), out);
        if (rc)
            return rc;
        *taken += piece;
    }
    return 0;
}

int ox_assoc_transfer_end(ox_assoc *a, ox_buf *out)
{
    if (a->state != OX_ASSOC_OPEN || !a->tx_active || a->tx_ending || a->tx_sent != a->tx_total)
        return OX_E_STATE;
    int rc = 0;
    if (a->tx_hdr.len) /* an empty APDU: the framing alone */
        rc = send_data(a, ox_span_of(NULL, 0), out);
    uint32_t serial;
    if (rc == 0)
        rc = ox_ses_activity_end(&a->ses, ox_span_of(NULL, 0), &serial, &a->tsdu);
    if (rc == 0)
        rc = send_tsdu(a, out);
    if (rc == 0) {
        a->tx_ending = true;
        arm(a, a->cfg.timers.progress_ms);
    }
    return rc;
}

static void on_minor_sync_conf(ox_assoc *a, uint32_t serial)
{
    uint32_t keep = 0;
    for (uint32_t i = 0; i < a->tx_unconfirmed; i++) {
        if (a->tx_ck[i].serial > serial) {
            a->tx_ck[keep++] = a->tx_ck[i];
        } else {
            a->rec.serial = a->tx_ck[i].serial;
            a->rec.offset = a->tx_ck[i].offset;
        }
    }
    a->tx_unconfirmed = keep;
    if (a->tx_blocked && a->tx_unconfirmed < a->window) {
        a->tx_blocked = false;
        if (!a->tx_ending)
            disarm(a);
        push(a, OX_ASSOC_EV_WRITABLE);
    } else if (a->tx_blocked) {
        arm(a, a->cfg.timers.progress_ms); /* progress: restart the timer */
    }
}

/* ---- transfer: receiver ---- */

static int on_data(ox_assoc *a, ox_span in, ox_buf *out)
{
    if (!a->rx_active || a->rx_complete)
        return fault(a, OX_ASSOC_L_RTSE, OX_RTSE_AB_PROTOCOL_ERROR, out,
                     "S-DATA outside a transfer (X.228 9.3: RTTR only inside an activity)");
    if (a->mode == OX_ASSOC_NORMAL) { /* one P-DATA: a segment of the RTTR in the RTSE context */
        ox_pres_user_data pu;
        ox_ber_diag d = {0};
        int rc = ox_pres_user_data_decode(in, NULL, &pu, &d);
        if (rc == 0 && (pu.simple || pu.n_pdv != 1 || pu.pdv[0].ctx_id != a->ctx_rtse ||
                        pu.pdv[0].kind == OX_PRES_PDV_BITS))
            rc = OX_E_PEER;
        if (rc)
            return fault(a, OX_ASSOC_L_PRESENTATION, OX_RTSE_AB_PROTOCOL_ERROR, out,
                         "P-DATA is not one PDV of the RTSE context (X.226 8.4): %s at octet "
                         "%zu of the S-DATA",
                         ox_ber_reason_name(d.reason), d.offset);
        /* One whole RTTR APDU (OCTET STRING) per S-DATA: its contents are the next segment. */
        ox_ber_rd rd;
        ox_ber_tlv t;
        ox_ber_diag rd_diag = {0};
        ox_ber_rd_init(&rd, pu.pdv[0].value, NULL, &rd_diag);
        rc = ox_ber_expect(&rd, OX_RTSE_TAG_RTTR, 0, &t);
        if (rc == 0 && !ox_ber_at_end(&rd))
            rc = OX_E_PEER;
        if (rc)
            return fault(a, OX_ASSOC_L_RTSE, OX_RTSE_AB_PROTOCOL_ERROR, out,
                         "an S-DATA in the transfer is not one primitive RTTR OCTET STRING "
                         "(X.228 9.4): %s at octet %zu",
                         ox_ber_reason_name(rd_diag.reason), rd_diag.offset);
        in = t.value;
    }
    while (in.len) {
        size_t used;
        ox_span content;
        int rc = ox_rtse_rttr_rd_feed(&a->rx, in, &used, &content);
        if (a->rx.in_content)
            a->rec.length = a->rx.content_len;
        if (content.len) {
            ox_assoc_ev *e = push(a, OX_ASSOC_EV_TRANSFER_DATA_IND);
            e->data = content;
            e->offset = a->rx_got;
            a->rx_got += content.len;
        }
        if (rc == 1) {
            a->rx_complete = true;
            if (used != in.len)
                return fault(a, OX_ASSOC_L_RTSE, OX_RTSE_AB_PROTOCOL_ERROR, out,
                             "%zu octets after the end of the RTTR APDU in one S-DATA",
                             in.len - used);
            return 0;
        }
        if (rc == OX_E_AGAIN)
            return 0;
        if (rc < 0)
            return fault(a, a->mode == OX_ASSOC_X410 ? OX_ASSOC_L_RTSE : OX_ASSOC_L_PRESENTATION,
                         OX_RTSE_AB_PROTOCOL_ERROR, out,
                         "the transferred APDU's framing (%s) is bad: %s at octet %zu of the "
                         "framing (%s)",
                         a->mode == OX_ASSOC_X410 ? "RTTR" : "P-DATA/PDV/RTTR/EXTERNAL",
                         ox_ber_reason_name(a->rx.diag.reason), a->rx.diag.offset, ox_strerror(rc));
        in.p += used;
        in.len -= used;
    }
    return 0;
}

static void rx_start(ox_assoc *a)
{
    a->rx_active = true;
    a->rx_complete = false;
    a->rx_got = 0;
    if (a->mode == OX_ASSOC_NORMAL)
        ox_rtse_rttr_rd_init_segments(&a->rx);
    else
        ox_rtse_rttr_rd_init(&a->rx, false, false);
}

int ox_assoc_transfer_confirm(ox_assoc *a, ox_buf *out)
{
    if (a->state != OX_ASSOC_OPEN || !a->rx_active || !a->rx_complete || a->rx_await_resume)
        return OX_E_STATE;
    int rc = ox_ses_activity_end_rsp(&a->ses, ox_span_of(NULL, 0), &a->tsdu);
    if (rc == 0)
        rc = send_tsdu(a, out);
    if (rc == 0) {
        a->rx_active = false;
        a->rec.valid = false;
    }
    return rc;
}

int ox_assoc_resume_rx(ox_assoc *a, const ox_assoc_rec *rec, ox_buf *out)
{
    if (a->state != OX_ASSOC_OPEN || !a->rx_await_resume)
        return OX_E_STATE;
    a->rx_await_resume = false;
    a->recover = false;
    uint32_t serial = a->rec.serial; /* the sender's, from the AR */
    bool found = serial == 0;
    uint64_t at = 0;
    bool match = rec && rec->valid && !rec->sender &&
                 rec->activity_id_len == a->rec.activity_id_len &&
                 !memcmp(rec->activity_id, a->rec.activity_id, rec->activity_id_len);
    for (uint32_t i = 0; match && i < rec->n_acked; i++)
        if (rec->acked[i].serial == serial) {
            found = true;
            at = rec->acked[i].offset;
        }
    if (!match || !found)
        return fault(a, OX_ASSOC_L_RTSE, OX_RTSE_AB_UNRECOGNIZED_ACTIVITY, out,
                     "cannot resume activity %.*s at checkpoint %u: %s (X.228 9.6: the "
                     "sender restarts the transfer)",
                     (int)a->rec.activity_id_len, (const char *)a->rec.activity_id, serial,
                     !match ? "no record of that activity" : "checkpoint not acknowledged here");
    uint8_t id[OX_SES_MAX_ACT_ID];
    size_t idn = a->rec.activity_id_len;
    memcpy(id, a->rec.activity_id, idn);
    a->rec = *rec;
    memcpy(a->rec.activity_id, id, idn);
    a->rec.serial = serial;
    a->rec.offset = at;
    /* Keep only the checkpoints up to the one resumed from. */
    uint32_t keep = 0;
    for (uint32_t i = 0; i < a->rec.n_acked; i++)
        if (a->rec.acked[i].serial <= serial)
            a->rec.acked[keep++] = a->rec.acked[i];
    a->rec.n_acked = keep;
    rx_start(a);
    if (serial) { /* the framing was read before: go on inside the content */
        a->rx.in_content = true;
        a->rx.content_len = rec->length;
        a->rx.remaining = rec->length - at;
        a->rx_got = at;
    }
    ox_assoc_ev *e = push(a, OX_ASSOC_EV_TRANSFER_RESUMED);
    e->offset = at;
    e->length = rec->length;
    e->serial = serial;
    e->activity_id = ox_span_of(a->rec.activity_id, a->rec.activity_id_len);
    return 0;
}

static void on_minor_sync_ind(ox_assoc *a, const ox_ses_ev *se, ox_buf *out)
{
    ox_assoc_rec *r = &a->rec;
    if (r->n_acked == OX_ASSOC_MAX_WINDOW) {
        memmove(&r->acked[0], &r->acked[1], (OX_ASSOC_MAX_WINDOW - 1) * sizeof(r->acked[0]));
        r->n_acked--;
    }
    r->acked[r->n_acked].serial = se->serial;
    r->acked[r->n_acked].offset = a->rx_got;
    r->n_acked++;
    r->serial = se->serial;
    r->offset = a->rx_got;
    /* "Received" is enough for an MIA: the AEA is what says "stored" (docs/ASSOCIATION.md). */
    if (se->confirm &&
        ox_ses_minor_sync_rsp(&a->ses, se->serial, ox_span_of(NULL, 0), &a->tsdu) == 0)
        send_tsdu(a, out);
}

/* ---- turns, release, abort ---- */

int ox_assoc_turn_please(ox_assoc *a, int64_t priority, ox_buf *out)
{
    if (a->state != OX_ASSOC_OPEN || a->have_turn)
        return OX_E_STATE;
    uint8_t want = ox_ses_tokens_available(&a->ses) & (uint8_t)~ox_ses_tokens_held(&a->ses);
    uint8_t t[16];
    ox_buf b;
    ox_buf_init(&b, a->cfg.alloc, t, sizeof(t));
    int rc = ox_rtse_rttp_encode(&b, priority);
    if (rc == 0)
        rc = wrap_ud(a, a->ctx_rtse, ox_buf_span(&b));
    if (rc == 0)
        rc = ox_ses_please_tokens(&a->ses, want, ox_buf_span(&a->ud), &a->tsdu);
    if (rc == 0)
        rc = send_tsdu(a, out);
    ox_buf_free(&b);
    return rc;
}

int ox_assoc_turn_give(ox_assoc *a, ox_buf *out)
{
    if (!ox_assoc_can_send(a))
        return OX_E_STATE;
    int rc = ox_ses_give_tokens(&a->ses, ox_ses_tokens_held(&a->ses), &a->tsdu);
    if (rc == 0)
        rc = send_tsdu(a, out);
    if (rc == 0)
        a->have_turn = false;
    return rc;
}

/* The RTTP priority in S-TOKEN-PLEASE user data; -1 if absent, OX_E_PEER if malformed. */
static int please_priority(ox_assoc *a, ox_span ud, int64_t *prio)
{
    *prio = 0;
    if (!ud.len)
        return 0; /* X.228 9.5: the priority may be absent (0) */
    ox_ber_diag d;
    ox_rtse_apdu ap;
    ox_span v = ud;
    if (a->mode == OX_ASSOC_NORMAL) {
        ox_pres_user_data pu;
        if (ox_pres_user_data_decode(ud, NULL, &pu, &d) != 0 || pu.n_pdv != 1)
            return OX_E_PEER;
        v = pu.pdv[0].value;
    }
    if (ox_rtse_apdu_decode(v, NULL, &ap, &d) != 0 || ap.kind != OX_RTSE_RTTP)
        return OX_E_PEER;
    *prio = ap.u.rttp;
    return 0;
}

int ox_assoc_release(ox_assoc *a, ox_buf *out)
{
    if (!ox_assoc_can_send(a))
        return OX_E_STATE;
    uint8_t t[32];
    ox_buf b;
    ox_buf_init(&b, a->cfg.alloc, t, sizeof(t));
    int rc = 0;
    ox_buf_reset(&a->ud);
    if (a->mode == OX_ASSOC_NORMAL) {
        ox_acse_rlrx rl = {.reason = {.present = true, .v = OX_ACSE_RLRQ_NORMAL}};
        rc = ox_acse_rlrq_encode(&b, &rl);
        if (rc == 0)
            rc = wrap_ud(a, a->ctx_acse, ox_buf_span(&b));
    }
    if (rc == 0)
        rc = ox_ses_release(&a->ses, ox_buf_span(&a->ud), &a->tsdu);
    if (rc == 0)
        rc = send_tsdu(a, out);
    ox_buf_free(&b);
    if (rc == 0) {
        a->state = OX_ASSOC_AWAIT_DN;
        arm(a, a->cfg.timers.release_ms);
    }
    return rc;
}

static void on_release_ind(ox_assoc *a, ox_buf *out)
{
    uint8_t t[32];
    ox_buf b;
    ox_buf_init(&b, a->cfg.alloc, t, sizeof(t));
    int rc = 0;
    ox_buf_reset(&a->ud);
    if (a->mode == OX_ASSOC_NORMAL) {
        ox_acse_rlrx rl = {.reason = {.present = true, .v = OX_ACSE_RLRE_NORMAL}};
        rc = ox_acse_rlre_encode(&b, &rl);
        if (rc == 0)
            rc = wrap_ud(a, a->ctx_acse, ox_buf_span(&b));
    }
    if (rc == 0 && ox_ses_release_rsp(&a->ses, ox_buf_span(&a->ud), &a->tsdu) == 0)
        send_tsdu(a, out);
    ox_buf_free(&b);
    a->state = OX_ASSOC_CLOSED;
    disarm(a);
    push(a, OX_ASSOC_EV_RELEASE_IND);
}

int ox_assoc_abort(ox_assoc *a, int64_t reason, ox_buf *out)
{
    if (a->state == OX_ASSOC_ABORTED || a->state == OX_ASSOC_CLOSED)
        return OX_E_STATE;
    int rc = send_abort(a, reason, out);
    a->state = OX_ASSOC_ABORTED;
    a->deadline_ms = 0;
    a->rec.valid = false; /* a user abort ends the transfer for good */
    return rc;
}

void ox_assoc_transport_lost(ox_assoc *a, uint64_t now_ms)
{
    a->now_ms = now_ms;
    if (a->state == OX_ASSOC_CLOSED || a->state == OX_ASSOC_ABORTED)
        return;
    ox_ses_transport_lost(&a->ses);
    abort_ind(a, true, OX_ASSOC_L_TRANSPORT, -1, "the transport connection was lost in state %s%s",
              ox_assoc_state_name(a->state),
              a->rec.valid ? " (a transfer is recoverable: ox_assoc_recovery)" : "");
}

int ox_assoc_tick(ox_assoc *a, uint64_t now_ms, ox_buf *out, uint64_t *next_ms)
{
    a->now_ms = now_ms;
    *next_ms = 0;
    if (a->state == OX_ASSOC_ABORTED || a->state == OX_ASSOC_CLOSED || !a->deadline_ms)
        return 0;
    if (now_ms < a->deadline_ms) {
        *next_ms = a->deadline_ms;
        return 0;
    }
    const char *what = a->state == OX_ASSOC_AWAIT_DN ? "DN after FN (disconnect timer)"
                       : a->state == OX_ASSOC_OPEN
                           ? (a->tx_ending ? "the activity-end acknowledgement (AEA)"
                                           : "a minor-sync acknowledgement (MIA) beyond the window")
                       : a->state == OX_ASSOC_AWAIT_CN ? "S-CONNECT (CN)"
                       : a->state == OX_ASSOC_AWAIT_CC ? "the transport connect confirm (CC)"
                                                       : "the association accept (AC)";
    bool keep = a->rec.valid && a->state == OX_ASSOC_OPEN; /* the peer stalled: recoverable */
    send_abort(a, OX_RTSE_AB_TEMPORARY_PROBLEM, out);
    a->rec.valid = keep;
    abort_ind(a, true, OX_ASSOC_L_TIMER, OX_RTSE_AB_TEMPORARY_PROBLEM,
              "timed out in state %s waiting for %s", ox_assoc_state_name(a->state), what);
    return OX_E_STATE;
}

/* ---- the peer's abort ---- */

/* Reads ARU/ABRT/RTAB (normal), the x410 ARU (1984) or an ARP out of an AB's user data. */
static void on_peer_abort(ox_assoc *a, ox_span ud)
{
    ox_pres_abort pa;
    ox_ber_diag d;
    ox_rtse_rtab rt;
    bool had = a->rec.valid;
    a->rec.valid = false; /* a user abort: no recovery */
    if (!ud.len || ox_pres_abort_decode(ud, NULL, &pa, &d) != 0) {
        a->rec.valid = had; /* a bare AB is a provider-level end: recoverable */
        abort_ind(a, false, OX_ASSOC_L_SESSION, -1, "the peer aborted the session (AB%s)",
                  ud.len ? " with undecodable user data" : " without user data");
        return;
    }
    if (pa.kind == OX_PRES_ABORT_ARP) {
        a->rec.valid = had;
        abort_ind(a, false, OX_ASSOC_L_PRESENTATION, pa.has_reason ? pa.reason : -1,
                  "the peer's presentation provider aborted (ARP reason %lld, event %lld)",
                  pa.has_reason ? (long long)pa.reason : -1LL,
                  pa.has_event ? (long long)pa.event : -1LL);
        return;
    }
    ox_span rtab = {0};
    uint32_t tag = OX_RTSE_TAG_RTAB;
    if (pa.kind == OX_PRES_ABORT_ARU_X410) {
        rtab = pa.x410;
        tag = OX_RTSE_TAG_SET;
    } else if (pa.ud.n_pdv == 1) {
        ox_acse_apdu ap;
        if (ox_acse_decode(pa.ud.pdv[0].value, NULL, &ap, &d) == 0 && ap.kind == OX_ACSE_ABRT &&
            ap.u.abrt.ui.present && ap.u.abrt.ui.n == 1)
            rtab = ap.u.abrt.ui.ext[0].value;
    }
    if (rtab.len && ox_rtse_rtab_decode(rtab, tag, NULL, &rt, &d) == 0) {
        abort_ind(a, false, OX_ASSOC_L_USER, rt.has_reason ? rt.reason : -1,
                  "the peer aborted the association (RTAB abortReason %lld)",
                  rt.has_reason ? (long long)rt.reason : -1LL);
        return;
    }
    abort_ind(a, false, OX_ASSOC_L_ACSE, -1, "the peer aborted the association (ARU without RTAB)");
}

/* ---- input ---- */

static int on_ses_event(ox_assoc *a, const ox_ses_ev *se, ox_buf *out)
{
    switch (se->kind) {
    case OX_SES_EV_CONNECT_IND: return on_connect_ind(a, se, out);
    case OX_SES_EV_CONNECT_CONF: return on_connect_conf(a, se, out);
    case OX_SES_EV_ACTIVITY_START_IND: {
        if (a->rx_active)
            return fault(a, OX_ASSOC_L_RTSE, OX_RTSE_AB_PROTOCOL_ERROR, out,
                         "a transfer started before the previous one was confirmed (X.228 9.3)");
        rx_start(a);
        ox_assoc_rec *r = &a->rec;
        r->valid = true;
        r->sender = false;
        r->activity_id_len = se->activity_id.len;
        memcpy(r->activity_id, se->activity_id.p, se->activity_id.len);
        r->serial = 0;
        r->offset = 0;
        r->length = 0;
        r->n_acked = 0;
        ox_assoc_ev *e = push(a, OX_ASSOC_EV_TRANSFER_BEGIN_IND);
        e->activity_id = se->activity_id;
        return 0;
    }
    case OX_SES_EV_ACTIVITY_RESUME_IND: {
        if (a->rx_active || !a->recover)
            return fault(a, OX_ASSOC_L_RTSE, OX_RTSE_AB_PROTOCOL_ERROR, out,
                         "S-ACTIVITY-RESUME %s (X.228 9.6)",
                         a->rx_active ? "during a transfer"
                                      : "on an association not "
                                        "opened for recovery");
        a->rx_await_resume = true;
        a->rx_active = true;
        a->rec.activity_id_len = se->old_activity_id.len;
        memcpy(a->rec.activity_id, se->old_activity_id.p, se->old_activity_id.len);
        a->rec.serial = se->serial;
        ox_assoc_ev *e = push(a, OX_ASSOC_EV_TRANSFER_RESUME_IND);
        e->activity_id = ox_span_of(a->rec.activity_id, a->rec.activity_id_len);
        e->serial = se->serial;
        e->calling_ref = se->calling_ref;
        e->common_ref = se->common_ref;
        return 0;
    }
    case OX_SES_EV_DATA_IND: return on_data(a, se->user_data, out);
    case OX_SES_EV_MINOR_SYNC_IND: on_minor_sync_ind(a, se, out); return 0;
    case OX_SES_EV_MINOR_SYNC_CONF: on_minor_sync_conf(a, se->serial); return 0;
    case OX_SES_EV_ACTIVITY_END_IND: {
        if (!a->rx_active || !a->rx_complete)
            return fault(a, OX_ASSOC_L_RTSE, OX_RTSE_AB_PROTOCOL_ERROR, out,
                         "the activity ended with the RTTR incomplete (%llu content octets)",
                         (unsigned long long)a->rx_got);
        ox_assoc_ev *e = push(a, OX_ASSOC_EV_TRANSFER_END_IND);
        e->length = a->rx_got;
        return 0;
    }
    case OX_SES_EV_ACTIVITY_END_CONF:
        a->tx_active = a->tx_ending = false;
        a->rec.valid = false;
        disarm(a);
        push(a, OX_ASSOC_EV_TRANSFER_CONF);
        return 0;
    case OX_SES_EV_TOKEN_PLEASE_IND: {
        int64_t prio;
        if (please_priority(a, se->user_data, &prio) != 0)
            return fault(a, OX_ASSOC_L_RTSE, OX_RTSE_AB_PROTOCOL_ERROR, out,
                         "S-TOKEN-PLEASE user data is not an RTTP (X.228 9.5)");
        push(a, OX_ASSOC_EV_TURN_PLEASE_IND)->priority = prio;
        return 0;
    }
    case OX_SES_EV_TOKEN_GIVE_IND:
        if (!a->have_turn && (ox_ses_tokens_held(&a->ses) & OX_SES_TOKEN_DATA)) {
            a->have_turn = true;
            push(a, OX_ASSOC_EV_TURN_GIVE_IND);
        }
        return 0;
    case OX_SES_EV_RELEASE_IND: on_release_ind(a, out); return 0;
    case OX_SES_EV_RELEASE_CONF:
        a->state = OX_ASSOC_CLOSED;
        disarm(a);
        push(a, OX_ASSOC_EV_RELEASE_CONF);
        return 0;
    case OX_SES_EV_ABORT_IND:
        if (se->local) {
            a->rec.valid = false;
            abort_ind(a, true, OX_ASSOC_L_SESSION, se->fault,
                      "the peer broke the session protocol (X.225 fault %d, ses.c line %d)",
                      (int)se->fault, se->line);
            return OX_E_PEER;
        }
        on_peer_abort(a, se->user_data);
        return 0;
    case OX_SES_EV_ACTIVITY_INTERRUPT_IND:
    case OX_SES_EV_ACTIVITY_DISCARD_IND:
    case OX_SES_EV_U_EXCEPTION_IND:
    case OX_SES_EV_P_EXCEPTION_IND:
        /* X.228 uses none of these in two-way-alternate P1 transfers: abort (RT-P-ABORT). */
        return fault(a, OX_ASSOC_L_SESSION, OX_RTSE_AB_PROTOCOL_ERROR, out,
                     "the peer sent %s, which RTSE does not use here (X.228 9.7)",
                     ox_ses_ev_name(se->kind));
    default: return 0;
    }
}

int ox_assoc_feed(ox_assoc *a, ox_span in, uint64_t now_ms, ox_buf *out, size_t *consumed)
{
    *consumed = 0;
    a->now_ms = now_ms;
    if (a->state == OX_ASSOC_ABORTED || a->state == OX_ASSOC_CLOSED) {
        *consumed = in.len; /* nothing more is read from a finished association */
        return 0;
    }
    if (a->rx_await_resume)
        return OX_E_STATE;
    int rc = ox_tpkt_feed(&a->tpkt, in, consumed, out);
    a->rx_total += *consumed;
    if (rc == OX_E_NOMEM)
        return rc;
    ox_tpkt_ev te;
    while (ox_tpkt_next_event(&a->tpkt, &te)) {
        switch (te.kind) {
        case OX_TPKT_EV_CONNECT_IND:
            if (a->state != OX_ASSOC_AWAIT_CR)
                break;
            a->state = OX_ASSOC_AWAIT_CN;
            arm(a, a->cfg.timers.open_ms);
            rc = ox_tpkt_accept(&a->tpkt, out);
            break;
        case OX_TPKT_EV_CONNECT_CONF:
            if (a->state == OX_ASSOC_AWAIT_CC)
                rc = on_transport_connected(a, out);
            break;
        case OX_TPKT_EV_DATA_IND: {
            int src = ox_ses_feed(&a->ses, te.data, now_ms, &a->tsdu);
            send_tsdu(a, out);
            ox_ses_ev se;
            while (ox_ses_next_event(&a->ses, &se)) {
                int r = on_ses_event(a, &se, out);
                if (r && !rc)
                    rc = r;
            }
            if (src && !rc)
                rc = src;
            break;
        }
        case OX_TPKT_EV_DISCONNECT_IND:
            abort_ind(a, false, OX_ASSOC_L_TRANSPORT, te.reason,
                      "the peer's transport disconnected (DR reason 0x%02x)", te.reason);
            break;
        case OX_TPKT_EV_ERROR:
            a->rec.valid = false;
            abort_ind(a, true, OX_ASSOC_L_TRANSPORT, te.reason,
                      "%s RFC 1006 / ISO 8073 class 0 framing (%s 0x%02x)",
                      te.peer_er ? "the peer reported an error in our" : "the peer broke",
                      te.peer_er ? "ER cause" : "DR/ER reason", te.reason);
            rc = te.code ? te.code : OX_E_PEER;
            break;
        default: break;
        }
    }
    if (rc && rc != OX_E_NOMEM && a->state != OX_ASSOC_ABORTED) {
        a->rec.valid = false;
        abort_ind(a, true, OX_ASSOC_L_SESSION, -1, "protocol error (%s)", ox_strerror(rc));
    }
    return rc;
}
