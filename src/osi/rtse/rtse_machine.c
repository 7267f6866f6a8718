/* rtse_machine.c - the RTSE protocol machine of an MTA association (see rtsm.h)
 *
 * Why: one place that knows how X.228 maps onto the session service: RT-OPEN onto S-CONNECT
 *      (with P-CONNECT/A-ASSOCIATE inside), each RT-TRANSFER onto one activity, checkpoints
 *      onto confirmed minor syncs, the turn onto the session tokens, RT-CLOSE onto S-RELEASE.
 * States: IDLE -open-> AWAIT_CC -CC-> AWAIT_AC -AC-> OPEN -release-> AWAIT_DN -DN-> CLOSED
 *         AWAIT_CR -CR-> AWAIT_CN -CN-> AWAIT_OPEN_RSP -accept-> OPEN (-refuse-> CLOSED)
 *         OPEN -FN-> CLOSED (answered with DN); any state -fault/AB/disconnect-> ABORTED.
 * Limits: window at most 64 unconfirmed checkpoints (the serial ring), one transfer at a time
 *      each way (X.228 two-way-alternate: only the turn holder sends). */
#include "openx400/rtsm.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_MAX_DATA (16u * 1024)
#define MAX_WINDOW       64

static const ox_pres_limits *no_limits = NULL;

const char *ox_rtsm_state_name(ox_rtsm_state s)
{
    static const char *const names[] = {"idle",     "await-cr",       "await-cc", "await-cn",
                                        "await-ac", "await-open-rsp", "open",     "await-dn",
                                        "closed",   "aborted"};
    return (unsigned)s < OX_ARRAY_LEN(names) ? names[s] : "?";
}

static void push(ox_rtsm *m, const ox_rtsm_ev *ev)
{
    if (OX_NEVER(m->ev_n == OX_RTSM_EVQ))
        return; /* a feed produces at most a few events; the queue is sized for it */
    m->evq[(m->ev_head + m->ev_n++) % OX_RTSM_EVQ] = *ev;
}

bool ox_rtsm_next_event(ox_rtsm *m, ox_rtsm_ev *ev)
{
    if (!m->ev_n)
        return false;
    *ev = m->evq[m->ev_head];
    m->ev_head = (m->ev_head + 1) % OX_RTSM_EVQ;
    m->ev_n--;
    return true;
}

static void abort_ind(ox_rtsm *m, bool local, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void abort_ind(ox_rtsm *m, bool local, const char *fmt, ...)
{
    if (m->state == OX_RTSM_ABORTED)
        return;
    m->state = OX_RTSM_ABORTED;
    ox_rtsm_ev ev = {.kind = OX_RTSM_EV_ABORT_IND, .local = local};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev.why, sizeof(ev.why), fmt, ap);
    va_end(ap);
    push(m, &ev);
}

int ox_rtsm_init(ox_rtsm *m, const ox_rtsm_cfg *cfg)
{
    memset(m, 0, sizeof(*m));
    m->cfg = *cfg;
    if (!m->cfg.window)
        m->cfg.window = OX_RTSE_DEFAULT_WINDOW;
    if (m->cfg.window > MAX_WINDOW)
        return OX_E_ARG;
    if (!m->cfg.max_data)
        m->cfg.max_data = DEFAULT_MAX_DATA;
    ox_span *sels[3] = {&m->cfg.local_psel, &m->cfg.remote_psel, NULL};
    for (int i = 0; i < 2; i++) {
        if (sels[i]->len > OX_SES_MAX_SSEL)
            return OX_E_ARG;
        if (sels[i]->len)
            memcpy(m->sel[i], sels[i]->p, sels[i]->len);
        sels[i]->p = sels[i]->len ? m->sel[i] : NULL;
    }
    bool init = cfg->role == OX_RTSM_INITIATOR;
    ox_tpkt_cfg tc = {.role = init ? OX_TPKT_INITIATOR : OX_TPKT_RESPONDER,
                      .local_tsel = cfg->local_tsel,
                      .remote_tsel = cfg->remote_tsel};
    ox_ses_cfg sc = {.role = init ? OX_SES_INITIATOR : OX_SES_RESPONDER,
                     .local_ssel = cfg->local_ssel,
                     .remote_ssel = cfg->remote_ssel};
    int rc = ox_tpkt_init(&m->tpkt, &tc, NULL);
    if (rc == 0)
        rc = ox_ses_init(&m->ses, &sc);
    ox_buf_init(&m->ud, NULL, NULL, 0);
    ox_buf_init(&m->tsdu, NULL, NULL, 0);
    ox_buf_init(&m->tx_hdr, NULL, NULL, 0);
    ox_buf_init(&m->bind, NULL, NULL, 0);
    m->state = init ? OX_RTSM_IDLE : OX_RTSM_AWAIT_CR;
    return rc;
}

void ox_rtsm_free(ox_rtsm *m)
{
    ox_tpkt_free(&m->tpkt);
    ox_buf_free(&m->ud);
    ox_buf_free(&m->tsdu);
    ox_buf_free(&m->tx_hdr);
    ox_buf_free(&m->bind);
}

/* Hands the session's TSDU to the transport. */
static int send_tsdu(ox_rtsm *m, ox_buf *out)
{
    int rc = m->tsdu.err;
    if (rc == 0 && m->tsdu.len)
        rc = ox_tpkt_send(&m->tpkt, ox_buf_span(&m->tsdu), out);
    ox_buf_reset(&m->tsdu);
    return rc;
}

/* The user data of S-RELEASE, S-TOKEN-PLEASE, ...: one PDV in context |ctx|. */
static int pdv(ox_rtsm *m, int64_t ctx, ox_span value)
{
    ox_buf_reset(&m->ud);
    return ox_pres_ud_single_encode(&m->ud, ctx, value);
}

bool ox_rtsm_can_send(const ox_rtsm *m)
{
    return m->state == OX_RTSM_OPEN && m->have_turn && !m->tx_active && !m->rx_active;
}

/* ---- establishment ---- */

static int64_t kilo(uint32_t octets)
{
    return (octets + 1023) / 1024;
}

int ox_rtsm_open(ox_rtsm *m, ox_span bind_arg, ox_buf *out)
{
    if (m->state != OX_RTSM_IDLE)
        return OX_E_STATE;
    if (ox_buf_append(&m->bind, bind_arg.p, bind_arg.len) != 0)
        return OX_E_NOMEM;
    m->state = OX_RTSM_AWAIT_CC;
    return ox_tpkt_connect(&m->tpkt, out);
}

static int on_transport_connected(ox_rtsm *m, ox_buf *out)
{
    ox_rtse_assoc_rq rq = {.mode = OX_PRES_MODE_NORMAL,
                           .calling_sel = m->cfg.local_psel,
                           .called_sel = m->cfg.remote_psel,
                           .checkpoint = kilo(m->cfg.checkpoint),
                           .window = m->cfg.window,
                           .dialogue = OX_RTSE_TWA,
                           .bind = ox_buf_span(&m->bind)};
    ox_buf_reset(&m->ud);
    int rc = ox_rtse_assoc_encode_cp(&m->ud, &rq);
    ox_ses_connect_req cr = {.user_data = ox_buf_span(&m->ud)};
    if (rc == 0)
        rc = ox_ses_connect(&m->ses, &cr, &m->tsdu);
    if (rc == 0)
        rc = send_tsdu(m, out);
    m->state = OX_RTSM_AWAIT_AC;
    return rc;
}

/* Agreed values: X.228 7.2.1 - the smaller of both sides' proposals; 0 (no checkpointing)
 * wins. */
static void agree(ox_rtsm *m, int64_t peer_ckpt_k, int64_t peer_window)
{
    int64_t ours = kilo(m->cfg.checkpoint);
    int64_t k = peer_ckpt_k < ours ? peer_ckpt_k : ours;
    m->checkpoint = k > 0 ? k * 1024 : 0;
    m->window = peer_window < (int64_t)m->cfg.window ? peer_window : (int64_t)m->cfg.window;
    if (m->window < 1)
        m->window = 1;
}

static void on_connect_ind(ox_rtsm *m, const ox_ses_ev *se)
{
    ox_rtse_assoc_rq rq;
    ox_ber_diag d;
    int rc = ox_rtse_assoc_decode_cp(se->user_data, no_limits, &rq, &d);
    if (rc) {
        /* Not an MTA association: refuse at the session level with the reason. */
        char why[120];
        snprintf(why, sizeof(why), "%s at octet %zu", ox_ber_reason_name(d.reason), d.offset);
        abort_ind(m, true,
                  "refused an S-CONNECT whose user data is not an MTS-transfer "
                  "association: %s",
                  why);
        return;
    }
    m->ctx_acse = rq.ctx_acse;
    m->ctx_rtse = rq.ctx_rtse;
    m->ctx_mtse = rq.ctx_mtse;
    memcpy(m->res, rq.res, sizeof(m->res));
    m->n_res = rq.n_res;
    agree(m, rq.checkpoint, rq.window);
    m->state = OX_RTSM_AWAIT_OPEN_RSP;
    ox_rtsm_ev ev = {.kind = OX_RTSM_EV_OPEN_IND,
                     .data = rq.bind,
                     .checkpoint = m->checkpoint,
                     .window = m->window,
                     .dialogue = rq.dialogue};
    push(m, &ev);
}

int ox_rtsm_accept(ox_rtsm *m, ox_span bind_result, ox_buf *out)
{
    if (m->state != OX_RTSM_AWAIT_OPEN_RSP)
        return OX_E_STATE;
    ox_rtse_assoc_ac ac = {.mode = OX_PRES_MODE_NORMAL,
                           .responding_sel = m->cfg.local_psel,
                           .checkpoint = m->checkpoint / 1024,
                           .window = m->window,
                           .bind_result = bind_result,
                           .ctx_acse = m->ctx_acse,
                           .ctx_rtse = m->ctx_rtse,
                           .n_res = m->n_res};
    memcpy(ac.res, m->res, sizeof(ac.res));
    ox_buf_reset(&m->ud);
    int rc = ox_rtse_assoc_encode_cpa(&m->ud, &ac);
    ox_ses_accept_req ar = {.user_data = ox_buf_span(&m->ud)};
    if (rc == 0)
        rc = ox_ses_accept(&m->ses, &ar, &m->tsdu);
    if (rc == 0)
        rc = send_tsdu(m, out);
    if (rc)
        return rc;
    m->state = OX_RTSM_OPEN;
    m->have_turn = false; /* X.228: the initiator holds the turn first */
    return 0;
}

int ox_rtsm_refuse(ox_rtsm *m, ox_span bind_error, ox_buf *out)
{
    if (m->state != OX_RTSM_AWAIT_OPEN_RSP)
        return OX_E_STATE;
    ox_rtse_assoc_rj rj = {.mode = OX_PRES_MODE_NORMAL,
                           .responding_sel = m->cfg.local_psel,
                           .acse_result = OX_ACSE_RESULT_REJECTED_PERMANENT,
                           .acse_diag = 1, /* acse-service-user: no-reason-given */
                           .bind_error = bind_error,
                           .ctx_acse = m->ctx_acse,
                           .ctx_rtse = m->ctx_rtse,
                           .n_res = m->n_res};
    memcpy(rj.res, m->res, sizeof(rj.res));
    ox_buf_reset(&m->ud);
    int rc = ox_rtse_assoc_encode_cpr(&m->ud, &rj);
    if (rc == 0)
        rc = ox_ses_refuse(&m->ses, OX_SES_RF_USER_DATA, ox_buf_span(&m->ud), &m->tsdu);
    if (rc == 0)
        rc = send_tsdu(m, out);
    m->state = OX_RTSM_CLOSED;
    return rc;
}

static void on_connect_conf(ox_rtsm *m, const ox_ses_ev *se)
{
    ox_rtsm_ev ev = {.kind = OX_RTSM_EV_OPEN_CONF};
    ox_ber_diag d;
    if (se->accepted) {
        ox_rtse_assoc_ac ac;
        if (ox_rtse_assoc_decode_cpa(se->user_data, no_limits, &ac, &d) != 0) {
            abort_ind(m, true, "the peer's accept (CPA/AARE/RTOAC) is malformed: %s",
                      ox_ber_reason_name(d.reason));
            return;
        }
        m->ctx_acse = ac.ctx_acse ? ac.ctx_acse : OX_RTSE_CTX_ACSE;
        m->ctx_rtse = ac.ctx_rtse ? ac.ctx_rtse : OX_RTSE_CTX_MTA_RTSE;
        m->ctx_mtse = OX_RTSE_CTX_MTSE;
        agree(m, ac.checkpoint, ac.window);
        m->state = OX_RTSM_OPEN;
        m->have_turn = true;
        ev.accepted = true;
        ev.data = ac.bind_result;
        ev.checkpoint = m->checkpoint;
        ev.window = m->window;
    } else {
        m->state = OX_RTSM_CLOSED;
        ox_rtse_assoc_rj rj;
        if (se->reason == OX_SES_RF_USER_DATA &&
            ox_rtse_assoc_decode_cpr(se->user_data, no_limits, &rj, &d) == 0) {
            ev.data = rj.bind_error;
            snprintf(ev.why, sizeof(ev.why), "the peer refused the association (ACSE result %lld)",
                     (long long)rj.acse_result);
        } else {
            snprintf(ev.why, sizeof(ev.why),
                     "the peer's session refused the connection (reason %u)", se->reason);
        }
    }
    push(m, &ev);
}

/* ---- transfer: sender ---- */

int ox_rtsm_transfer_begin(ox_rtsm *m, uint64_t length, ox_buf *out)
{
    if (!ox_rtsm_can_send(m))
        return OX_E_STATE;
    char id[8];
    m->activity = m->activity % 99999 + 1;
    int n = snprintf(id, sizeof(id), "%u", m->activity);
    int rc =
        ox_ses_activity_start(&m->ses, ox_span_of(id, (size_t)n), ox_span_of(NULL, 0), &m->tsdu);
    if (rc == 0)
        rc = send_tsdu(m, out);
    if (rc)
        return rc;
    ox_rtse_rttr_frame f = {.pdv = true,
                            .pdv_ctx = m->ctx_rtse,
                            .external = true,
                            .ext_has_indirect = true,
                            .ext_indirect = m->ctx_mtse};
    ox_buf_reset(&m->tx_hdr);
    if ((rc = ox_rtse_rttr_begin(&m->tx_hdr, &f, length)) != 0)
        return rc;
    m->tx_active = true;
    m->tx_ending = false;
    m->tx_total = length;
    m->tx_sent = 0;
    m->tx_since_ckpt = 0;
    m->tx_unconfirmed = 0;
    m->tx_blocked = false;
    return 0;
}

/* Sends the pending octets (framing and content gathered in tx_hdr) as one S-DATA, then a
 * minor sync when a checkpoint's worth has gone. Gathering first makes every S-DATA as large
 * as allowed, so a message that fits in one carries one whole P-DATA. */
static int send_pending(ox_rtsm *m, ox_buf *out)
{
    size_t n = m->tx_hdr.len;
    int rc = ox_ses_data(&m->ses, ox_buf_span(&m->tx_hdr), &m->tsdu);
    ox_buf_reset(&m->tx_hdr);
    if (rc == 0)
        rc = send_tsdu(m, out);
    if (rc)
        return rc;
    m->tx_since_ckpt += n;
    if (m->checkpoint && m->tx_since_ckpt >= (uint64_t)m->checkpoint && m->tx_sent < m->tx_total) {
        uint32_t serial;
        rc = ox_ses_minor_sync(&m->ses, true, ox_span_of(NULL, 0), &serial, &m->tsdu);
        if (rc == 0)
            rc = send_tsdu(m, out);
        if (rc)
            return rc;
        m->tx_serial[m->tx_unconfirmed++] = serial;
        m->tx_since_ckpt = 0;
        m->tx_blocked = m->tx_unconfirmed >= (uint32_t)m->window;
    }
    return 0;
}

/* Room left in the S-DATA being gathered. */
static size_t pending_room(const ox_rtsm *m)
{
    size_t cap = m->cfg.max_data;
    if (m->checkpoint && (uint64_t)m->checkpoint - m->tx_since_ckpt < cap)
        cap = (size_t)((uint64_t)m->checkpoint - m->tx_since_ckpt);
    if (cap < 64)
        cap = 64; /* the framing alone may need this much */
    return cap > m->tx_hdr.len ? cap - m->tx_hdr.len : 0;
}

int ox_rtsm_transfer_data(ox_rtsm *m, ox_span data, ox_buf *out, size_t *taken)
{
    *taken = 0;
    if (m->state != OX_RTSM_OPEN || !m->tx_active || m->tx_ending)
        return OX_E_STATE;
    if (data.len > m->tx_total - m->tx_sent)
        return OX_E_ARG;
    while (*taken < data.len && !m->tx_blocked) {
        size_t room = pending_room(m);
        size_t piece = data.len - *taken < room ? data.len - *taken : room;
        if (ox_buf_append(&m->tx_hdr, data.p + *taken, piece) != 0)
            return m->tx_hdr.err;
        *taken += piece;
        m->tx_sent += piece;
        if (pending_room(m) == 0) {
            int rc = send_pending(m, out);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int ox_rtsm_transfer_end(ox_rtsm *m, ox_buf *out)
{
    if (m->state != OX_RTSM_OPEN || !m->tx_active || m->tx_ending || m->tx_sent != m->tx_total)
        return OX_E_STATE;
    int rc = 0;
    if (m->tx_hdr.len)
        rc = send_pending(m, out);
    uint32_t serial;
    if (rc == 0)
        rc = ox_ses_activity_end(&m->ses, ox_span_of(NULL, 0), &serial, &m->tsdu);
    if (rc == 0)
        rc = send_tsdu(m, out);
    if (rc == 0)
        m->tx_ending = true;
    return rc;
}

static void on_minor_sync_conf(ox_rtsm *m, uint32_t serial)
{
    uint32_t keep = 0;
    for (uint32_t i = 0; i < m->tx_unconfirmed; i++)
        if (m->tx_serial[i] > serial)
            m->tx_serial[keep++] = m->tx_serial[i];
    m->tx_unconfirmed = keep;
    if (m->tx_blocked && m->tx_unconfirmed < (uint32_t)m->window) {
        m->tx_blocked = false;
        ox_rtsm_ev ev = {.kind = OX_RTSM_EV_WRITABLE};
        push(m, &ev);
    }
}

/* ---- transfer: receiver ---- */

static int on_data(ox_rtsm *m, ox_span in)
{
    if (!m->rx_active || m->rx_complete) {
        abort_ind(m, true, "%s", "S-DATA outside a transfer (X.228: data only inside an activity)");
        return OX_E_PEER;
    }
    while (in.len) {
        size_t used;
        ox_span content;
        int rc = ox_rtse_rttr_rd_feed(&m->rx, in, &used, &content);
        if (content.len) {
            ox_rtsm_ev ev = {.kind = OX_RTSM_EV_TRANSFER_DATA_IND, .data = content};
            push(m, &ev);
        }
        if (rc == 1) {
            m->rx_complete = true;
            if (used != in.len) {
                abort_ind(m, true, "%s", "octets after the end of the RTTR APDU");
                return OX_E_PEER;
            }
            return 0;
        }
        if (rc == OX_E_AGAIN)
            return 0;
        if (rc < 0) {
            abort_ind(m, true, "the transferred APDU's framing (P-DATA/RTTR/EXTERNAL) is bad: %s",
                      ox_ber_reason_name(m->rx.diag.reason));
            return rc;
        }
        in.p += used;
        in.len -= used;
    }
    return 0;
}

int ox_rtsm_transfer_confirm(ox_rtsm *m, ox_buf *out)
{
    if (m->state != OX_RTSM_OPEN || !m->rx_active || !m->rx_complete)
        return OX_E_STATE;
    int rc = ox_ses_activity_end_rsp(&m->ses, ox_span_of(NULL, 0), &m->tsdu);
    if (rc == 0)
        rc = send_tsdu(m, out);
    if (rc == 0)
        m->rx_active = false;
    return rc;
}

/* ---- turns, release, abort ---- */

int ox_rtsm_turn_please(ox_rtsm *m, int64_t priority, ox_buf *out)
{
    if (m->state != OX_RTSM_OPEN || m->have_turn)
        return OX_E_STATE;
    uint8_t want = ox_ses_tokens_available(&m->ses) & (uint8_t)~ox_ses_tokens_held(&m->ses);
    uint8_t rttp[16];
    ox_buf b;
    ox_buf_init(&b, NULL, rttp, sizeof(rttp));
    ox_rtse_rttp_encode(&b, priority);
    int rc = b.err ? b.err : pdv(m, m->ctx_rtse, ox_buf_span(&b));
    if (rc == 0)
        rc = ox_ses_please_tokens(&m->ses, want, ox_buf_span(&m->ud), &m->tsdu);
    if (rc == 0)
        rc = send_tsdu(m, out);
    ox_buf_free(&b);
    return rc;
}

int ox_rtsm_turn_give(ox_rtsm *m, ox_buf *out)
{
    if (!ox_rtsm_can_send(m))
        return OX_E_STATE;
    int rc = ox_ses_give_tokens(&m->ses, ox_ses_tokens_held(&m->ses), &m->tsdu);
    if (rc == 0)
        rc = send_tsdu(m, out);
    if (rc == 0)
        m->have_turn = false;
    return rc;
}

static int64_t please_priority(ox_rtsm *m, ox_span ud)
{
    ox_pres_user_data pu;
    ox_ber_diag d;
    ox_rtse_apdu a;
    if (ud.len && ox_pres_user_data_decode(ud, no_limits, &pu, &d) == 0 && pu.n_pdv == 1 &&
        ox_rtse_apdu_decode(pu.pdv[0].value, NULL, &a, &d) == 0 && a.kind == OX_RTSE_RTTP)
        return a.u.rttp;
    (void)m;
    return 0;
}

int ox_rtsm_release(ox_rtsm *m, ox_buf *out)
{
    if (!ox_rtsm_can_send(m))
        return OX_E_STATE;
    uint8_t tmp[32];
    ox_buf b;
    ox_buf_init(&b, NULL, tmp, sizeof(tmp));
    ox_acse_rlrx rl = {.reason = {.present = true, .v = OX_ACSE_RLRQ_NORMAL}};
    int rc = ox_acse_rlrq_encode(&b, &rl);
    if (rc == 0)
        rc = pdv(m, m->ctx_acse, ox_buf_span(&b));
    if (rc == 0)
        rc = ox_ses_release(&m->ses, ox_buf_span(&m->ud), &m->tsdu);
    if (rc == 0)
        rc = send_tsdu(m, out);
    ox_buf_free(&b);
    if (rc == 0)
        m->state = OX_RTSM_AWAIT_DN;
    return rc;
}

static void on_release_ind(ox_rtsm *m, ox_buf *out)
{
    uint8_t tmp[32];
    ox_buf b;
    ox_buf_init(&b, NULL, tmp, sizeof(tmp));
    ox_acse_rlrx rl = {.reason = {.present = true, .v = OX_ACSE_RLRE_NORMAL}};
    int rc = ox_acse_rlre_encode(&b, &rl);
    if (rc == 0)
        rc = pdv(m, m->ctx_acse, ox_buf_span(&b));
    if (rc == 0)
        rc = ox_ses_release_rsp(&m->ses, ox_buf_span(&m->ud), &m->tsdu);
    if (rc == 0)
        send_tsdu(m, out);
    ox_buf_free(&b);
    m->state = OX_RTSM_CLOSED;
    ox_rtsm_ev ev = {.kind = OX_RTSM_EV_RELEASE_IND};
    push(m, &ev);
}

int ox_rtsm_abort(ox_rtsm *m, int64_t reason, ox_buf *out)
{
    if (m->state == OX_RTSM_ABORTED || m->state == OX_RTSM_CLOSED)
        return OX_E_STATE;
    int rc = 0;
    if (m->state == OX_RTSM_OPEN || m->state == OX_RTSM_AWAIT_DN) {
        /* AB carrying ARU(ABRT(user information: RTAB)), as X.228 9.8 maps RT-U-ABORT. */
        uint8_t t1[32], t2[96];
        ox_buf rtab, abrt;
        ox_buf_init(&rtab, NULL, t1, sizeof(t1));
        ox_buf_init(&abrt, NULL, t2, sizeof(t2));
        ox_rtse_rtab ab = {.has_reason = true, .reason = reason};
        ox_rtse_rtab_encode(&rtab, OX_RTSE_TAG_RTAB, &ab);
        ox_acse_abrt a = {.source = OX_ACSE_ABRT_SOURCE_USER};
        a.ui.present = true;
        a.ui.n = 1;
        a.ui.ext[0] = (ox_acse_external){.has_indirect = true,
                                         .indirect = m->ctx_rtse,
                                         .enc = OX_ACSE_EXT_SINGLE,
                                         .value = ox_buf_span(&rtab)};
        rc = rtab.err ? rtab.err : ox_acse_abrt_encode(&abrt, &a);
        ox_pres_abort pa = {.kind = OX_PRES_ABORT_ARU};
        pa.ud.present = true;
        pa.ud.n_pdv = 1;
        pa.ud.pdv[0] = (ox_pres_pdv){
            .ctx_id = m->ctx_acse, .kind = OX_PRES_PDV_SINGLE, .value = ox_buf_span(&abrt)};
        ox_buf_reset(&m->ud);
        if (rc == 0)
            rc = ox_pres_abort_encode(&m->ud, &pa);
        ox_buf_free(&rtab);
        ox_buf_free(&abrt);
    }
    if (rc == 0 && m->state != OX_RTSM_IDLE && m->state != OX_RTSM_AWAIT_CC &&
        m->state != OX_RTSM_AWAIT_CR && m->state != OX_RTSM_AWAIT_CN) {
        rc = ox_ses_abort(&m->ses, ox_buf_span(&m->ud), &m->tsdu);
        if (rc == 0)
            rc = send_tsdu(m, out);
    }
    m->state = OX_RTSM_ABORTED;
    return rc;
}

void ox_rtsm_transport_lost(ox_rtsm *m)
{
    if (m->state == OX_RTSM_CLOSED || m->state == OX_RTSM_ABORTED)
        return;
    ox_ses_transport_lost(&m->ses);
    abort_ind(m, true, "%s", "the transport connection was lost");
}

/* ---- input ---- */

static int on_ses_event(ox_rtsm *m, const ox_ses_ev *se, ox_buf *out)
{
    ox_rtsm_ev ev = {0};
    switch (se->kind) {
    case OX_SES_EV_CONNECT_IND:
        on_connect_ind(m, se);
        if (m->state == OX_RTSM_ABORTED) {
            ox_ses_refuse(&m->ses, OX_SES_RF_USER_NOT_SPECIFIED, ox_span_of(NULL, 0), &m->tsdu);
            send_tsdu(m, out);
            return OX_E_PEER;
        }
        return 0;
    case OX_SES_EV_CONNECT_CONF: on_connect_conf(m, se); return 0;
    case OX_SES_EV_ACTIVITY_START_IND:
        if (m->rx_active) {
            abort_ind(m, true, "%s", "a transfer started before the previous one was confirmed");
            return OX_E_PEER;
        }
        m->rx_active = true;
        m->rx_complete = false;
        ox_rtse_rttr_rd_init(&m->rx, true, true);
        ev.kind = OX_RTSM_EV_TRANSFER_BEGIN_IND;
        push(m, &ev);
        return 0;
    case OX_SES_EV_DATA_IND: return on_data(m, se->user_data);
    case OX_SES_EV_MINOR_SYNC_IND:
        if (se->confirm) {
            int rc = ox_ses_minor_sync_rsp(&m->ses, se->serial, ox_span_of(NULL, 0), &m->tsdu);
            if (rc == 0)
                rc = send_tsdu(m, out);
            return rc;
        }
        return 0;
    case OX_SES_EV_MINOR_SYNC_CONF: on_minor_sync_conf(m, se->serial); return 0;
    case OX_SES_EV_ACTIVITY_END_IND:
        if (!m->rx_active || !m->rx_complete) {
            abort_ind(m, true, "%s", "the transfer ended before its APDU was complete");
            return OX_E_PEER;
        }
        ev.kind = OX_RTSM_EV_TRANSFER_END_IND;
        push(m, &ev);
        return 0;
    case OX_SES_EV_ACTIVITY_END_CONF:
        m->tx_active = m->tx_ending = false;
        ev.kind = OX_RTSM_EV_TRANSFER_CONF;
        push(m, &ev);
        return 0;
    case OX_SES_EV_TOKEN_PLEASE_IND:
        ev.kind = OX_RTSM_EV_TURN_PLEASE_IND;
        ev.priority = please_priority(m, se->user_data);
        push(m, &ev);
        return 0;
    case OX_SES_EV_TOKEN_GIVE_IND:
        if (ox_ses_tokens_held(&m->ses) & OX_SES_TOKEN_DATA) {
            m->have_turn = true;
            ev.kind = OX_RTSM_EV_TURN_GIVE_IND;
            push(m, &ev);
        }
        return 0;
    case OX_SES_EV_RELEASE_IND: on_release_ind(m, out); return 0;
    case OX_SES_EV_RELEASE_CONF:
        m->state = OX_RTSM_CLOSED;
        ev.kind = OX_RTSM_EV_RELEASE_CONF;
        push(m, &ev);
        return 0;
    case OX_SES_EV_ABORT_IND:
        if (se->local) {
            char d[64];
            snprintf(d, sizeof(d), "session fault %d (ses.c line %d)", (int)se->fault, se->line);
            abort_ind(m, true, "the peer broke the session protocol: %s", d);
        } else {
            abort_ind(m, false, "%s", "the peer aborted the association");
        }
        return se->local ? OX_E_PEER : 0;
    case OX_SES_EV_ACTIVITY_INTERRUPT_IND:
    case OX_SES_EV_ACTIVITY_DISCARD_IND:
    case OX_SES_EV_ACTIVITY_RESUME_IND:
    case OX_SES_EV_U_EXCEPTION_IND:
    case OX_SES_EV_P_EXCEPTION_IND:
        /* Recovery and exceptions are not used in this version: treat as the end of the
         * association, the transfer is retried whole. */
        ox_rtsm_abort(m, OX_RTSE_AB_UNRECOGNIZED_ACTIVITY, out);
        m->state = OX_RTSM_OPEN; /* let abort_ind report it */
        abort_ind(m, true, "%s", "the peer interrupted a transfer (recovery is not supported)");
        return OX_E_PEER;
    default: return 0;
    }
}

int ox_rtsm_feed(ox_rtsm *m, ox_span in, uint64_t now_ms, ox_buf *out, size_t *consumed)
{
    *consumed = 0;
    if (m->state == OX_RTSM_ABORTED || m->state == OX_RTSM_CLOSED) {
        *consumed = in.len; /* nothing more is read from a finished association */
        return 0;
    }
    int rc = ox_tpkt_feed(&m->tpkt, in, consumed, out);
    ox_tpkt_ev te;
    while (ox_tpkt_next_event(&m->tpkt, &te)) {
        switch (te.kind) {
        case OX_TPKT_EV_CONNECT_IND:
            if (m->state != OX_RTSM_AWAIT_CR)
                break;
            m->state = OX_RTSM_AWAIT_CN;
            rc = ox_tpkt_accept(&m->tpkt, out);
            break;
        case OX_TPKT_EV_CONNECT_CONF:
            if (m->state == OX_RTSM_AWAIT_CC)
                rc = on_transport_connected(m, out);
            break;
        case OX_TPKT_EV_DATA_IND: {
            int src = ox_ses_feed(&m->ses, te.data, now_ms, &m->tsdu);
            send_tsdu(m, out);
            ox_ses_ev se;
            while (ox_ses_next_event(&m->ses, &se)) {
                int r = on_ses_event(m, &se, out);
                if (r && !rc)
                    rc = r;
            }
            if (src && !rc)
                rc = src;
            break;
        }
        case OX_TPKT_EV_DISCONNECT_IND: {
            char r[16];
            snprintf(r, sizeof(r), "%u", te.reason);
            abort_ind(m, false, "the peer's transport disconnected (DR reason %s)", r);
            break;
        }
        case OX_TPKT_EV_ERROR:
            abort_ind(m, true, "%s", "the peer broke RFC 1006 / ISO 8073 class 0 framing");
            rc = te.code ? te.code : OX_E_PEER;
            break;
        default: break;
        }
    }
    if (rc && m->state != OX_RTSM_ABORTED)
        abort_ind(m, true, "%s", "protocol error");
    return rc;
}
