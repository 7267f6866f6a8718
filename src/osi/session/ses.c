/* ses.c - X.225 session protocol machine (kernel, half-duplex/duplex, exceptions, minor
 *         synchronize, activity management), version 2
 *
 * Why: RTSE maps checkpoints to minor syncs, each transfer to an activity (resumed with AR
 *      after a failure) and the turn to the data token; we implement those functional units
 *      and propose or accept no others.
 * States:
 *      initiator  IDLE --connect--> AWAIT_AC --AC--> OPEN ; --RF--> CLOSED
 *      responder  AWAIT_CN --CN--> AWAIT_CONNECT_RSP --accept--> OPEN ; --refuse--> CLOSED
 *      OPEN --release(FN)--> AWAIT_DN --DN--> CLOSED
 *      OPEN --FN--> AWAIT_RELEASE_RSP --release_rsp(DN)--> CLOSED
 *      any --abort / AB / peer error--> ABORTED (sticky)
 *      Inside OPEN: in_activity (AS/AR .. AE-AEA/AI-AIA/AD-ADA), |wait| (a confirmed request
 *      of ours is outstanding) and |owe| (the user must answer the peer's).
 * Tokens: data, minor-sync and major/activity exist when half-duplex, minor sync and activity
 *      management are selected; |own| says which we hold. Each request and each received
 *      SPDU checks the token rules of X.225 7 (Annex A predicates p-tokens).
 * Serial numbers: V(M) is the next serial; V(A) the lowest unconfirmed. AS sets V(M) = 1,
 *      AR sets V(M) = r + 1 (X.225 7.18, 7.19).
 * Limits: ox_ses_limits.max_tsdu and max_connect_ud; SPDU field limits in ses.h. No
 *      segmenting. Connect user data: up to 10240 octets in the CN's Extended User Data; more
 *      by data overflow (7.1.4): CN with Data Overflow, OA, then CDOs, the last with the
 *      Enclosure Item's end bit; the responder reassembles (bounded) before CONNECT_IND:
 *      initiator IDLE --connect--> AWAIT_OA --OA/CDOs--> AWAIT_AC,
 *      responder AWAIT_CN --CN+overflow/OA--> AWAIT_CDO --last CDO--> AWAIT_CONNECT_RSP.
 * Diagnostics: peer error -> OX_E_PEER, AB queued (protocol error), ABORT_IND with fault and
 *      source line, state ABORTED; misuse -> OX_E_STATE/OX_E_ARG, nothing changes.
 * Standards: X.225 (1995) 7 (procedures), 8 (encoding), Annex A (state tables). */
#include "openx400/ses.h"

#include <string.h>

/* X.225 8.3.1.16: Session User Requirements absent = half-duplex, minor sync, activity
 * management, capability data and exceptions. */
#define DEFAULT_REQUIREMENTS 0x0349u
#define SUPPORTED_FU                                                                               \
    (OX_SES_FU_HALF_DUPLEX | OX_SES_FU_DUPLEX | OX_SES_FU_MINOR_SYNC | OX_SES_FU_ACTIVITY |        \
     OX_SES_FU_EXCEPTIONS)
#define ALL_TOKENS (OX_SES_TOKEN_DATA | OX_SES_TOKEN_MINOR | OX_SES_TOKEN_MAJOR)
/* Sync Type Item bit 1: explicit confirmation not required (8.3.18.2). */
#define SYNC_NO_CONFIRM 0x01

const char *ox_ses_state_name(ox_ses_state st)
{
    switch (st) {
    case OX_SES_IDLE: return "IDLE";
    case OX_SES_AWAIT_CN: return "AWAIT_CN";
    case OX_SES_AWAIT_AC: return "AWAIT_AC";
    case OX_SES_AWAIT_CONNECT_RSP: return "AWAIT_CONNECT_RSP";
    case OX_SES_OPEN: return "OPEN";
    case OX_SES_AWAIT_DN: return "AWAIT_DN";
    case OX_SES_AWAIT_RELEASE_RSP: return "AWAIT_RELEASE_RSP";
    case OX_SES_CLOSED: return "CLOSED";
    case OX_SES_ABORTED: return "ABORTED";
    case OX_SES_AWAIT_OA: return "AWAIT_OA";
    case OX_SES_AWAIT_CDO: return "AWAIT_CDO";
    }
    return "?";
}

const char *ox_ses_ev_name(ox_ses_ev_kind k)
{
    switch (k) {
    case OX_SES_EV_NONE: return "NONE";
    case OX_SES_EV_CONNECT_IND: return "CONNECT_IND";
    case OX_SES_EV_CONNECT_CONF: return "CONNECT_CONF";
    case OX_SES_EV_DATA_IND: return "DATA_IND";
    case OX_SES_EV_TOKEN_GIVE_IND: return "TOKEN_GIVE_IND";
    case OX_SES_EV_TOKEN_PLEASE_IND: return "TOKEN_PLEASE_IND";
    case OX_SES_EV_MINOR_SYNC_IND: return "MINOR_SYNC_IND";
    case OX_SES_EV_MINOR_SYNC_CONF: return "MINOR_SYNC_CONF";
    case OX_SES_EV_ACTIVITY_START_IND: return "ACTIVITY_START_IND";
    case OX_SES_EV_ACTIVITY_RESUME_IND: return "ACTIVITY_RESUME_IND";
    case OX_SES_EV_ACTIVITY_INTERRUPT_IND: return "ACTIVITY_INTERRUPT_IND";
    case OX_SES_EV_ACTIVITY_INTERRUPT_CONF: return "ACTIVITY_INTERRUPT_CONF";
    case OX_SES_EV_ACTIVITY_DISCARD_IND: return "ACTIVITY_DISCARD_IND";
    case OX_SES_EV_ACTIVITY_DISCARD_CONF: return "ACTIVITY_DISCARD_CONF";
    case OX_SES_EV_ACTIVITY_END_IND: return "ACTIVITY_END_IND";
    case OX_SES_EV_ACTIVITY_END_CONF: return "ACTIVITY_END_CONF";
    case OX_SES_EV_U_EXCEPTION_IND: return "U_EXCEPTION_IND";
    case OX_SES_EV_P_EXCEPTION_IND: return "P_EXCEPTION_IND";
    case OX_SES_EV_RELEASE_IND: return "RELEASE_IND";
    case OX_SES_EV_RELEASE_CONF: return "RELEASE_CONF";
    case OX_SES_EV_ABORT_IND: return "ABORT_IND";
    }
    return "?";
}

int ox_ses_init(ox_ses *s, const ox_ses_cfg *cfg)
{
    if (!s || !cfg)
        return OX_E_ARG;
    memset(s, 0, sizeof *s);
    if (cfg->local_ssel.len > OX_SES_MAX_SSEL || cfg->remote_ssel.len > OX_SES_MAX_SSEL)
        return OX_E_ARG;
    s->cfg = *cfg;
    if (s->cfg.requirements == 0)
        s->cfg.requirements = OX_SES_FU_RTSE;
    if (s->cfg.requirements & ~SUPPORTED_FU)
        return OX_E_ARG;
    if (s->cfg.limits.max_tsdu == 0)
        s->cfg.limits.max_tsdu = OX_SES_DEFAULT_MAX_TSDU;
    if (s->cfg.limits.max_connect_ud == 0)
        s->cfg.limits.max_connect_ud = OX_SES_DEFAULT_MAX_CONNECT_UD;
    ox_buf_init(&s->cn_ud, NULL, NULL, 0);
    if (cfg->local_ssel.len)
        memcpy(s->local_ssel, cfg->local_ssel.p, cfg->local_ssel.len);
    if (cfg->remote_ssel.len)
        memcpy(s->remote_ssel, cfg->remote_ssel.p, cfg->remote_ssel.len);
    s->cfg.local_ssel = ox_span_of(s->local_ssel, cfg->local_ssel.len);
    s->cfg.remote_ssel = ox_span_of(s->remote_ssel, cfg->remote_ssel.len);
    s->state = cfg->role == OX_SES_INITIATOR ? OX_SES_IDLE : OX_SES_AWAIT_CN;
    s->vm = s->va = 1;
    return OX_OK;
}

void ox_ses_free(ox_ses *s)
{
    if (s)
        ox_buf_free(&s->cn_ud);
}

/* ---- helpers ----------------------------------------------------------------------------- */

static ox_ses_ev *ev_push(ox_ses *s, ox_ses_ev_kind kind)
{
    /* One TSDU produces at most three events and feed refuses while any is pending. */
    if (OX_NEVER(s->ev_n >= OX_SES_EVQ))
        s->ev_n = OX_SES_EVQ - 1; /* overwrite the newest rather than overrun */
    ox_ses_ev *e = &s->evq[(s->ev_head + s->ev_n++) % OX_SES_EVQ];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    return e;
}

bool ox_ses_next_event(ox_ses *s, ox_ses_ev *ev)
{
    if (s->ev_n == 0)
        return false;
    *ev = s->evq[s->ev_head];
    s->ev_head = (s->ev_head + 1) % OX_SES_EVQ;
    s->ev_n--;
    return true;
}

/* Tokens that exist under the selected functional units (X.225 7.1.3). */
static uint8_t tokens_for(uint16_t fu)
{
    uint8_t t = 0;
    if (fu & OX_SES_FU_HALF_DUPLEX)
        t |= OX_SES_TOKEN_DATA;
    if (fu & OX_SES_FU_MINOR_SYNC)
        t |= OX_SES_TOKEN_MINOR;
    if (fu & OX_SES_FU_ACTIVITY)
        t |= OX_SES_TOKEN_MAJOR;
    return t;
}

/* Shift of a token's two bits in the Token Setting Item (8.3.1.13). */
static unsigned ts_shift(uint8_t token)
{
    switch (token) {
    case OX_SES_TOKEN_DATA: return 0;
    case OX_SES_TOKEN_MINOR: return 2;
    case OX_SES_TOKEN_MAJOR: return 4;
    default: return 6; /* release */
    }
}

static bool we_hold(const ox_ses *s, uint8_t tokens)
{
    tokens &= s->avail;
    return (s->own & tokens) == tokens;
}

static bool peer_holds(const ox_ses *s, uint8_t tokens)
{
    tokens &= s->avail;
    return (s->own & tokens) == 0;
}

static int put_spdu(ox_ses_spdu *p, ox_buf *out)
{
    return ox_ses_pdu_encode(p, out);
}

/* A category 2 SPDU goes behind an empty GT (X.225 6.3.7, basic concatenation). */
static int put_cat2(ox_ses_spdu *p, ox_buf *out)
{
    size_t mark = out->len;
    ox_buf_put_u8(out, OX_SES_SI_GT);
    ox_buf_put_u8(out, 0);
    int rc = out->err ? out->err : put_spdu(p, out);
    if (rc && !out->err)
        out->len = mark;
    return rc;
}

static void spdu_init(ox_ses_spdu *p, ox_ses_kind k)
{
    memset(p, 0, sizeof *p);
    p->kind = k;
}

static void spdu_ud(ox_ses_spdu *p, ox_span ud)
{
    if (ud.len) {
        p->user_data = ud;
        p->have |= OX_SES_HAVE_USER_DATA;
    }
}

/* A peer protocol error (house style 9): AB once, one ABORT_IND, ABORTED. */
#define FAIL(s, fault, out) ses_fail((s), (fault), __LINE__, (out))
static int ses_fail(ox_ses *s, ox_ses_fault fault, int line, ox_buf *out)
{
    ox_ses_spdu ab;
    spdu_init(&ab, OX_SES_K_AB);
    ab.have = OX_SES_HAVE_TRANSPORT_DC;
    ab.transport_dc = OX_SES_TD_RELEASED | OX_SES_TD_PROTOCOL_ERROR;
    put_spdu(&ab, out);
    s->state = OX_SES_ABORTED;
    s->ev_n = 0; /* events of the faulty TSDU are not delivered */
    ox_ses_ev *e = ev_push(s, OX_SES_EV_ABORT_IND);
    e->reason = ab.transport_dc;
    e->local = true;
    e->fault = fault;
    e->line = line;
    return OX_E_PEER;
}

void ox_ses_transport_lost(ox_ses *s)
{
    if (s->state == OX_SES_CLOSED || s->state == OX_SES_ABORTED)
        return;
    s->state = OX_SES_ABORTED;
    ox_ses_ev *e = ev_push(s, OX_SES_EV_ABORT_IND);
    e->local = true;
    e->fault = OX_SES_F_TRANSPORT;
}

/* ---- connection establishment ----------------------------------------------------------- */

int ox_ses_connect(ox_ses *s, const ox_ses_connect_req *req, ox_buf *out)
{
    if (s->state != OX_SES_IDLE)
        return OX_E_STATE;
    ox_span ud = req ? req->user_data : ox_span_of(NULL, 0);
    if (ud.len > s->cfg.limits.max_connect_ud && ud.len > OX_SES_MAX_CN_EXT_UD)
        return OX_E_LIMIT;
    ox_span rest = ox_span_of(NULL, 0);
    if (ud.len > OX_SES_MAX_CN_EXT_UD) { /* 7.1.4: the rest after the OA, in CDOs */
        rest = ox_span_of(ud.p + OX_SES_MAX_CN_EXT_UD, ud.len - OX_SES_MAX_CN_EXT_UD);
        ud.len = OX_SES_MAX_CN_EXT_UD;
    }
    ox_ses_spdu cn;
    spdu_init(&cn, OX_SES_K_CN);
    cn.have = OX_SES_HAVE_VERSION | OX_SES_HAVE_REQUIREMENTS;
    cn.version = OX_SES_VERSION_2;
    cn.requirements = s->cfg.requirements;
    if (tokens_for(s->cfg.requirements)) {
        cn.have |= OX_SES_HAVE_TOKEN_SET;
        cn.token_set = req ? req->token_set : 0;
    }
    if (s->cfg.local_ssel.len) {
        cn.have |= OX_SES_HAVE_CALLING_SSEL;
        cn.calling_ssel = s->cfg.local_ssel;
    }
    if (s->cfg.remote_ssel.len) {
        cn.have |= OX_SES_HAVE_CALLED_SSEL;
        cn.called_ssel = s->cfg.remote_ssel;
    }
    spdu_ud(&cn, ud);
    cn.extended_ud = ud.len > OX_SES_MAX_CN_UD; /* 8.3.1.20: version 2 only */
    if (rest.len) {
        cn.have |= OX_SES_HAVE_DATA_OVERFL;
        cn.data_overflow = OX_SES_OVERFLOW_MORE;
    }
    int rc = put_spdu(&cn, out);
    if (rc)
        return rc;
    s->peer_ts = cn.token_set; /* what we proposed, to check the AC against */
    s->ovf_rest = rest;
    s->state = rest.len ? OX_SES_AWAIT_OA : OX_SES_AWAIT_AC;
    return OX_OK;
}

int ox_ses_accept(ox_ses *s, const ox_ses_accept_req *req, ox_buf *out)
{
    if (s->state != OX_SES_AWAIT_CONNECT_RSP)
        return OX_E_STATE;
    uint16_t fu = req && req->requirements ? req->requirements : s->fu & s->cfg.requirements;
    if (fu & ~s->fu & 0xFFFFu)
        return OX_E_ARG; /* not proposed by the peer */
    if ((fu & OX_SES_FU_HALF_DUPLEX) && (fu & OX_SES_FU_DUPLEX))
        fu &= (uint16_t)~OX_SES_FU_DUPLEX; /* both proposed: half-duplex, what RTSE uses */
    if (!(fu & (OX_SES_FU_HALF_DUPLEX | OX_SES_FU_DUPLEX)) || (fu & ~SUPPORTED_FU))
        return OX_E_ARG;
    uint8_t avail = tokens_for(fu), own = 0, ts = 0;
    for (uint8_t t = OX_SES_TOKEN_DATA; t <= OX_SES_TOKEN_MAJOR; t = (uint8_t)(t << 1)) {
        if (!(avail & t))
            continue;
        unsigned sh = ts_shift(t);
        unsigned v = (s->peer_ts >> sh) & 3u;
        if (v == OX_SES_TS_CHOICE)
            v = req && (req->take_tokens & t) ? OX_SES_TS_RESPONDER : OX_SES_TS_INITIATOR;
        if (v == OX_SES_TS_RESPONDER)
            own |= t;
        ts |= (uint8_t)((v & 1u) << sh);
    }
    ox_ses_spdu ac;
    spdu_init(&ac, OX_SES_K_AC);
    ac.have = OX_SES_HAVE_VERSION | OX_SES_HAVE_REQUIREMENTS;
    ac.version = OX_SES_VERSION_2;
    ac.requirements = fu;
    if (avail) {
        ac.have |= OX_SES_HAVE_TOKEN_SET;
        ac.token_set = ts;
    }
    if (s->cfg.remote_ssel.len) {
        ac.have |= OX_SES_HAVE_CALLING_SSEL;
        ac.calling_ssel = s->cfg.remote_ssel;
    }
    if (s->cfg.local_ssel.len) {
        ac.have |= OX_SES_HAVE_CALLED_SSEL;
        ac.called_ssel = s->cfg.local_ssel;
    }
    spdu_ud(&ac, req ? req->user_data : ox_span_of(NULL, 0));
    int rc = put_spdu(&ac, out);
    if (rc)
        return rc;
    s->fu = fu;
    s->avail = avail;
    s->own = own;
    s->state = OX_SES_OPEN;
    return OX_OK;
}

int ox_ses_refuse(ox_ses *s, uint8_t reason, ox_span user_data, ox_buf *out)
{
    if (s->state != OX_SES_AWAIT_CONNECT_RSP)
        return OX_E_STATE;
    if (user_data.len && reason != OX_SES_RF_USER_DATA)
        return OX_E_ARG;
    ox_ses_spdu rf;
    spdu_init(&rf, OX_SES_K_RF);
    rf.have = OX_SES_HAVE_TRANSPORT_DC | OX_SES_HAVE_REASON;
    rf.transport_dc = OX_SES_TD_RELEASED;
    rf.reason = reason;
    rf.reason_data = user_data;
    int rc = put_spdu(&rf, out);
    if (rc)
        return rc;
    s->state = OX_SES_CLOSED;
    return OX_OK;
}

/* ---- data transfer requests ------------------------------------------------------------- */

/* Common preconditions for requests in OPEN: nothing outstanding either way. */
static bool open_idle(const ox_ses *s)
{
    return s->state == OX_SES_OPEN && s->wait == OX_SES_W_NONE && s->owe == OX_SES_O_NONE;
}

/* Data and syncs happen inside an activity when activity management is selected. */
static bool activity_ok(const ox_ses *s)
{
    return !(s->fu & OX_SES_FU_ACTIVITY) || s->in_activity;
}

int ox_ses_data(ox_ses *s, ox_span user_data, ox_buf *out)
{
    if (!open_idle(s) || !we_hold(s, OX_SES_TOKEN_DATA) || !activity_ok(s))
        return OX_E_STATE;
    ox_ses_spdu dt;
    spdu_init(&dt, OX_SES_K_DT);
    dt.user_data = user_data;
    return put_cat2(&dt, out);
}

int ox_ses_give_tokens(ox_ses *s, uint8_t tokens, ox_buf *out)
{
    if (s->state != OX_SES_OPEN || s->wait != OX_SES_W_NONE)
        return OX_E_STATE;
    if (tokens == 0 || (tokens & ~s->avail))
        return OX_E_ARG;
    if (!we_hold(s, tokens))
        return OX_E_STATE;
    /* With an exception pending only the data token may be given (X.225 7.10.4). */
    if (s->owe != OX_SES_O_NONE && !(s->owe == OX_SES_O_EXC && (tokens & OX_SES_TOKEN_DATA)))
        return OX_E_STATE;
    ox_ses_spdu gt;
    spdu_init(&gt, OX_SES_K_GT);
    gt.have = OX_SES_HAVE_TOKEN_ITEM;
    gt.token_item = tokens;
    int rc = put_spdu(&gt, out);
    if (rc)
        return rc;
    s->own &= (uint8_t)~tokens;
    if (s->owe == OX_SES_O_EXC)
        s->owe = OX_SES_O_NONE;
    return OX_OK;
}

int ox_ses_please_tokens(ox_ses *s, uint8_t tokens, ox_span user_data, ox_buf *out)
{
    if (s->state != OX_SES_OPEN)
        return OX_E_STATE;
    if (tokens == 0 || (tokens & ~s->avail))
        return OX_E_ARG;
    if (!peer_holds(s, tokens))
        return OX_E_STATE;
    ox_ses_spdu pt;
    spdu_init(&pt, OX_SES_K_PT);
    pt.have = OX_SES_HAVE_TOKEN_ITEM;
    pt.token_item = tokens;
    spdu_ud(&pt, user_data);
    return put_spdu(&pt, out);
}

int ox_ses_minor_sync(ox_ses *s, bool confirm, ox_span user_data, uint32_t *serial, ox_buf *out)
{
    if (!open_idle(s) || !(s->fu & OX_SES_FU_MINOR_SYNC) || !activity_ok(s) ||
        !we_hold(s, OX_SES_TOKEN_MINOR | OX_SES_TOKEN_DATA))
        return OX_E_STATE;
    if (s->vm > OX_SES_MAX_SERIAL)
        return OX_E_LIMIT;
    ox_ses_spdu mip;
    spdu_init(&mip, OX_SES_K_MIP);
    mip.have = OX_SES_HAVE_SERIAL;
    mip.serial = s->vm;
    if (!confirm) {
        mip.have |= OX_SES_HAVE_SYNC_TYPE;
        mip.sync_type = SYNC_NO_CONFIRM;
    }
    spdu_ud(&mip, user_data);
    int rc = put_cat2(&mip, out);
    if (rc)
        return rc;
    if (serial)
        *serial = s->vm;
    s->vm++;
    if (!confirm)
        s->va = s->vm;
    return OX_OK;
}

int ox_ses_minor_sync_rsp(ox_ses *s, uint32_t serial, ox_span user_data, ox_buf *out)
{
    if (s->state != OX_SES_OPEN || !(s->fu & OX_SES_FU_MINOR_SYNC))
        return OX_E_STATE;
    /* Confirms a sync point the peer set: V(A) <= serial < V(M). */
    if (serial < s->va || serial >= s->vm)
        return OX_E_ARG;
    ox_ses_spdu mia;
    spdu_init(&mia, OX_SES_K_MIA);
    mia.have = OX_SES_HAVE_SERIAL;
    mia.serial = serial;
    spdu_ud(&mia, user_data);
    int rc = put_cat2(&mia, out);
    if (rc)
        return rc;
    s->va = serial + 1;
    return OX_OK;
}

static int start_or_resume(ox_ses *s, ox_ses_spdu *p, uint32_t vm, ox_buf *out)
{
    if (!open_idle(s) || !(s->fu & OX_SES_FU_ACTIVITY) || s->in_activity ||
        !we_hold(s, OX_SES_TOKEN_MAJOR))
        return OX_E_STATE;
    int rc = put_cat2(p, out);
    if (rc)
        return rc;
    s->in_activity = true;
    s->vm = s->va = vm;
    return OX_OK;
}

int ox_ses_activity_start(ox_ses *s, ox_span id, ox_span user_data, ox_buf *out)
{
    if (id.len == 0 || id.len > OX_SES_MAX_ACT_ID)
        return OX_E_ARG;
    ox_ses_spdu as;
    spdu_init(&as, OX_SES_K_AS);
    as.have = OX_SES_HAVE_ACTIVITY_ID;
    as.activity_id = id;
    spdu_ud(&as, user_data);
    return start_or_resume(s, &as, 1, out);
}

int ox_ses_activity_resume(ox_ses *s, ox_span id, ox_span old_id, uint32_t serial,
                           const ox_ses_refs *refs, ox_span user_data, ox_buf *out)
{
    if (id.len == 0 || id.len > OX_SES_MAX_ACT_ID || old_id.len == 0 ||
        old_id.len > OX_SES_MAX_ACT_ID || serial >= OX_SES_MAX_SERIAL)
        return OX_E_ARG;
    ox_ses_spdu ar;
    spdu_init(&ar, OX_SES_K_AR);
    ar.have = OX_SES_HAVE_ACTIVITY_ID | OX_SES_HAVE_SERIAL | OX_SES_HAVE_LINKING;
    ar.activity_id = id;
    ar.old_activity_id = old_id;
    ar.serial = serial;
    if (refs) {
        if (refs->called.len > OX_SES_MAX_REF || refs->calling.len > OX_SES_MAX_REF ||
            refs->common.len > OX_SES_MAX_REF || refs->additional.len > OX_SES_MAX_REF)
            return OX_E_ARG;
        ar.called_ref = refs->called;
        ar.calling_ref = refs->calling;
        ar.common_ref = refs->common;
        ar.add_ref = refs->additional;
    }
    spdu_ud(&ar, user_data);
    return start_or_resume(s, &ar, serial + 1, out);
}

static int interrupt_or_discard(ox_ses *s, ox_ses_kind k, uint8_t reason, ox_buf *out)
{
    /* Allowed to the activity-token holder; also as the answer to an exception. */
    if (s->state != OX_SES_OPEN || s->wait != OX_SES_W_NONE ||
        (s->owe != OX_SES_O_NONE && s->owe != OX_SES_O_EXC) || !s->in_activity ||
        !we_hold(s, OX_SES_TOKEN_MAJOR))
        return OX_E_STATE;
    ox_ses_spdu p;
    spdu_init(&p, k);
    p.have = OX_SES_HAVE_REASON;
    p.reason = reason;
    int rc = put_cat2(&p, out);
    if (rc)
        return rc;
    s->wait = k == OX_SES_K_AI ? OX_SES_W_AIA : OX_SES_W_ADA;
    s->owe = OX_SES_O_NONE;
    return OX_OK;
}

int ox_ses_activity_interrupt(ox_ses *s, uint8_t reason, ox_buf *out)
{
    return interrupt_or_discard(s, OX_SES_K_AI, reason, out);
}

int ox_ses_activity_discard(ox_ses *s, uint8_t reason, ox_buf *out)
{
    return interrupt_or_discard(s, OX_SES_K_AD, reason, out);
}

static int ack_interrupt_or_discard(ox_ses *s, ox_ses_owe owe, ox_ses_kind k, ox_buf *out)
{
    if (s->state != OX_SES_OPEN || s->owe != owe)
        return OX_E_STATE;
    ox_ses_spdu p;
    spdu_init(&p, k);
    int rc = put_cat2(&p, out);
    if (rc)
        return rc;
    /* 7.20.3/7.21.3: afterwards every available token is with the requestor. */
    s->own = 0;
    s->owe = OX_SES_O_NONE;
    s->in_activity = false;
    return OX_OK;
}

int ox_ses_activity_interrupt_rsp(ox_ses *s, ox_buf *out)
{
    return ack_interrupt_or_discard(s, OX_SES_O_AIA, OX_SES_K_AIA, out);
}

int ox_ses_activity_discard_rsp(ox_ses *s, ox_buf *out)
{
    return ack_interrupt_or_discard(s, OX_SES_O_ADA, OX_SES_K_ADA, out);
}

int ox_ses_activity_end(ox_ses *s, ox_span user_data, uint32_t *serial, ox_buf *out)
{
    if (!open_idle(s) || !s->in_activity || !we_hold(s, ALL_TOKENS))
        return OX_E_STATE;
    if (s->vm > OX_SES_MAX_SERIAL)
        return OX_E_LIMIT;
    ox_ses_spdu ae;
    spdu_init(&ae, OX_SES_K_AE);
    ae.have = OX_SES_HAVE_SERIAL;
    ae.serial = s->vm;
    spdu_ud(&ae, user_data);
    int rc = put_cat2(&ae, out);
    if (rc)
        return rc;
    if (serial)
        *serial = s->vm;
    s->vm++;
    s->wait = OX_SES_W_AEA;
    return OX_OK;
}

int ox_ses_activity_end_rsp(ox_ses *s, ox_span user_data, ox_buf *out)
{
    if (s->state != OX_SES_OPEN || s->owe != OX_SES_O_AEA)
        return OX_E_STATE;
    ox_ses_spdu aea;
    spdu_init(&aea, OX_SES_K_AEA);
    aea.have = OX_SES_HAVE_SERIAL;
    aea.serial = s->last_ind;
    spdu_ud(&aea, user_data);
    int rc = put_cat2(&aea, out);
    if (rc)
        return rc;
    s->va = s->vm;
    s->owe = OX_SES_O_NONE;
    s->in_activity = false;
    return OX_OK;
}

int ox_ses_u_exception(ox_ses *s, uint8_t reason, ox_span user_data, ox_buf *out)
{
    if (!open_idle(s) || !(s->fu & OX_SES_FU_EXCEPTIONS) || !(s->avail & OX_SES_TOKEN_DATA) ||
        !peer_holds(s, OX_SES_TOKEN_DATA) || !activity_ok(s))
        return OX_E_STATE;
    ox_ses_spdu ed;
    spdu_init(&ed, OX_SES_K_ED);
    ed.have = OX_SES_HAVE_REASON;
    ed.reason = reason;
    spdu_ud(&ed, user_data);
    int rc = put_cat2(&ed, out);
    if (rc)
        return rc;
    s->wait = OX_SES_W_EXC;
    return OX_OK;
}

int ox_ses_release(ox_ses *s, ox_span user_data, ox_buf *out)
{
    if (!open_idle(s) || s->in_activity || !we_hold(s, ALL_TOKENS))
        return OX_E_STATE;
    ox_ses_spdu fn;
    spdu_init(&fn, OX_SES_K_FN);
    fn.have = OX_SES_HAVE_TRANSPORT_DC;
    fn.transport_dc = OX_SES_TD_RELEASED;
    spdu_ud(&fn, user_data);
    int rc = put_spdu(&fn, out);
    if (rc)
        return rc;
    s->state = OX_SES_AWAIT_DN;
    return OX_OK;
}

int ox_ses_release_rsp(ox_ses *s, ox_span user_data, ox_buf *out)
{
    if (s->state != OX_SES_AWAIT_RELEASE_RSP)
        return OX_E_STATE;
    ox_ses_spdu dn;
    spdu_init(&dn, OX_SES_K_DN);
    spdu_ud(&dn, user_data);
    int rc = put_spdu(&dn, out);
    if (rc)
        return rc;
    s->state = OX_SES_CLOSED;
    return OX_OK;
}

int ox_ses_abort(ox_ses *s, ox_span user_data, ox_buf *out)
{
    if (s->state == OX_SES_IDLE || s->state == OX_SES_AWAIT_CN || s->state == OX_SES_CLOSED ||
        s->state == OX_SES_ABORTED)
        return OX_E_STATE;
    ox_ses_spdu ab;
    spdu_init(&ab, OX_SES_K_AB);
    ab.have = OX_SES_HAVE_TRANSPORT_DC;
    ab.transport_dc = OX_SES_TD_RELEASED | OX_SES_TD_USER_ABORT;
    spdu_ud(&ab, user_data);
    int rc = put_spdu(&ab, out);
    if (rc)
        return rc;
    s->state = OX_SES_ABORTED;
    return OX_OK;
}

/* ---- received SPDUs ------------------------------------------------------------------------ */

/* Responder: refuses the connection being established (RF, transport released), with an
 * ABORT_IND that says why. */
static int refuse_connect(ox_ses *s, uint8_t reason, ox_ses_fault fault, int line, ox_buf *out)
{
    ox_ses_spdu rf;
    spdu_init(&rf, OX_SES_K_RF);
    rf.have = OX_SES_HAVE_TRANSPORT_DC | OX_SES_HAVE_REASON;
    rf.transport_dc = OX_SES_TD_RELEASED;
    rf.reason = reason;
    if (reason == OX_SES_RF_VERSION) {
        rf.have |= OX_SES_HAVE_VERSION;
        rf.version = OX_SES_VERSION_2;
    }
    put_spdu(&rf, out);
    s->state = OX_SES_ABORTED;
    ox_ses_ev *e = ev_push(s, OX_SES_EV_ABORT_IND);
    e->local = true;
    e->fault = fault;
    e->reason = reason;
    e->line = line;
    return OX_E_PEER;
}

static int on_cn(ox_ses *s, const ox_ses_spdu *p, ox_buf *out)
{
    uint8_t version = p->have & OX_SES_HAVE_VERSION ? p->version : OX_SES_VERSION_1;
    uint8_t reason = 0;
    bool overflow = (p->have & OX_SES_HAVE_DATA_OVERFL) && p->data_overflow;
    if (!(version & OX_SES_VERSION_2))
        reason = OX_SES_RF_VERSION; /* version 2 is what carries large user data */
    else if (p->have & OX_SES_HAVE_ENCLOSURE)
        reason = OX_SES_RF_SPM_RESTRICTION; /* no segmenting */
    else if (overflow && (p->data_overflow != OX_SES_OVERFLOW_MORE || !p->extended_ud))
        reason = OX_SES_RF_SPM_RESTRICTION; /* 8.3.1.22: only with Extended User Data */
    else if ((p->have & OX_SES_HAVE_USER_DATA) &&
             p->user_data.len > (p->extended_ud ? OX_SES_MAX_CN_EXT_UD : OX_SES_MAX_CN_UD))
        reason = OX_SES_RF_SPM_RESTRICTION;
    if (reason)
        return refuse_connect(
            s, reason, reason == OX_SES_RF_VERSION ? OX_SES_F_NEGOTIATION : OX_SES_F_UNSUPPORTED,
            __LINE__, out);
    s->fu = p->have & OX_SES_HAVE_REQUIREMENTS ? p->requirements : DEFAULT_REQUIREMENTS;
    s->peer_ts = p->have & OX_SES_HAVE_TOKEN_SET ? p->token_set : 0;
    if (p->have & OX_SES_HAVE_CALLING_SSEL) {
        memcpy(s->remote_ssel, p->calling_ssel.p, p->calling_ssel.len);
        s->cfg.remote_ssel = ox_span_of(s->remote_ssel, p->calling_ssel.len);
    }
    if (overflow) {
        /* 7.1.4: accept the overflow (OA), then reassemble the CDOs; the user hears of the
         * connect only with the whole user data. */
        ox_buf_reset(&s->cn_ud);
        s->cn_ud.max = s->cfg.limits.max_connect_ud;
        if (ox_buf_append(&s->cn_ud, p->user_data.p, p->user_data.len) != 0)
            return refuse_connect(s, OX_SES_RF_SPM_RESTRICTION, OX_SES_F_LIMIT, __LINE__, out);
        s->called_ssel_len = p->called_ssel.len;
        if (p->called_ssel.len)
            memcpy(s->called_ssel, p->called_ssel.p, p->called_ssel.len);
        ox_ses_spdu oa;
        spdu_init(&oa, OX_SES_K_OA);
        oa.have = OX_SES_HAVE_VERSION;
        oa.version = OX_SES_VERSION_2;
        int rc = put_spdu(&oa, out);
        if (rc)
            return rc;
        s->state = OX_SES_AWAIT_CDO;
        return OX_OK;
    }
    s->state = OX_SES_AWAIT_CONNECT_RSP;
    ox_ses_ev *e = ev_push(s, OX_SES_EV_CONNECT_IND);
    e->user_data = p->user_data;
    e->calling_ssel = p->calling_ssel;
    e->called_ssel = p->called_ssel;
    e->requirements = s->fu;
    e->token_set = s->peer_ts;
    return OX_OK;
}

static int on_ac(ox_ses *s, const ox_ses_spdu *p, ox_buf *out)
{
    uint16_t fu = p->have & OX_SES_HAVE_REQUIREMENTS ? p->requirements : DEFAULT_REQUIREMENTS;
    uint8_t version = p->have & OX_SES_HAVE_VERSION ? p->version : OX_SES_VERSION_1;
    if ((fu & ~s->cfg.requirements) || !(version & OX_SES_VERSION_2) ||
        !(fu & (OX_SES_FU_HALF_DUPLEX | OX_SES_FU_DUPLEX)) ||
        ((fu & OX_SES_FU_HALF_DUPLEX) && (fu & OX_SES_FU_DUPLEX)))
        return FAIL(s, OX_SES_F_NEGOTIATION, out);
    uint8_t avail = tokens_for(fu), own = 0;
    uint8_t ts = p->have & OX_SES_HAVE_TOKEN_SET ? p->token_set : s->peer_ts;
    for (uint8_t t = OX_SES_TOKEN_DATA; t <= OX_SES_TOKEN_MAJOR; t = (uint8_t)(t << 1)) {
        if (!(avail & t))
            continue;
        unsigned sh = ts_shift(t);
        unsigned v = (ts >> sh) & 3u, proposed = (s->peer_ts >> sh) & 3u;
        if (v > OX_SES_TS_RESPONDER || (proposed != OX_SES_TS_CHOICE && v != proposed))
            return FAIL(s, OX_SES_F_NEGOTIATION, out);
        if (v == OX_SES_TS_INITIATOR)
            own |= t;
    }
    s->fu = fu;
    s->avail = avail;
    s->own = own;
    s->state = OX_SES_OPEN;
    ox_ses_ev *e = ev_push(s, OX_SES_EV_CONNECT_CONF);
    e->accepted = true;
    e->requirements = fu;
    e->user_data = p->user_data;
    e->called_ssel = p->called_ssel;
    return OX_OK;
}

/* Category 0: GT (tokens given to us) or PT (tokens asked of us). */
static int on_cat0(ox_ses *s, const ox_ses_spdu *p, ox_buf *out)
{
    if (!(p->have & OX_SES_HAVE_TOKEN_ITEM) || p->token_item == 0) {
        if (p->kind == OX_SES_K_PT)
            return FAIL(s, OX_SES_F_MALFORMED, out);
        return OX_OK; /* an empty GT in front of a category 2 SPDU */
    }
    uint8_t t = p->token_item;
    if (t & ~s->avail)
        return FAIL(s, OX_SES_F_TOKEN, out);
    if (p->kind == OX_SES_K_GT) {
        if (!peer_holds(s, t))
            return FAIL(s, OX_SES_F_TOKEN, out);
        s->own |= t;
        if (s->wait == OX_SES_W_EXC && (t & OX_SES_TOKEN_DATA))
            s->wait = OX_SES_W_NONE; /* the exception is resolved by the token */
        ox_ses_ev *e = ev_push(s, OX_SES_EV_TOKEN_GIVE_IND);
        e->tokens = t;
    } else {
        if (!we_hold(s, t))
            return FAIL(s, OX_SES_F_TOKEN, out);
        ox_ses_ev *e = ev_push(s, OX_SES_EV_TOKEN_PLEASE_IND);
        e->tokens = t;
        e->user_data = p->user_data;
    }
    return OX_OK;
}

/* Category 2 in OPEN. */
static int on_cat2(ox_ses *s, const ox_ses_spdu *p, ox_buf *out)
{
    bool act = (s->fu & OX_SES_FU_ACTIVITY) != 0;
    /* 7.20.2 / 7.21.2: after AI or AD is sent, everything but the answer is discarded. */
    if ((s->wait == OX_SES_W_AIA || s->wait == OX_SES_W_ADA) && p->kind != OX_SES_K_AIA &&
        p->kind != OX_SES_K_ADA && p->kind != OX_SES_K_AI && p->kind != OX_SES_K_AD)
        return OX_OK;
    /* While we owe an answer the peer waits: only an exception's resolution moves on. */
    if (s->owe != OX_SES_O_NONE && s->owe != OX_SES_O_EXC)
        return FAIL(s, OX_SES_F_UNEXPECTED, out);
    ox_ses_ev *e;
    switch (p->kind) {
    case OX_SES_K_DT:
        if (!peer_holds(s, OX_SES_TOKEN_DATA) || (act && !s->in_activity) ||
            s->wait == OX_SES_W_AEA)
            return FAIL(s, OX_SES_F_TOKEN, out);
        e = ev_push(s, OX_SES_EV_DATA_IND);
        e->user_data = p->user_data;
        return OX_OK;
    case OX_SES_K_MIP:
        if (!(s->fu & OX_SES_FU_MINOR_SYNC) || (act && !s->in_activity))
            return FAIL(s, OX_SES_F_UNEXPECTED, out);
        if (!peer_holds(s, OX_SES_TOKEN_MINOR | OX_SES_TOKEN_DATA))
            return FAIL(s, OX_SES_F_TOKEN, out);
        if (!(p->have & OX_SES_HAVE_SERIAL) || p->serial != s->vm)
            return FAIL(s, OX_SES_F_SERIAL, out);
        s->last_ind = s->vm++;
        if (p->have & OX_SES_HAVE_SYNC_TYPE && (p->sync_type & SYNC_NO_CONFIRM))
            s->va = s->vm;
        e = ev_push(s, OX_SES_EV_MINOR_SYNC_IND);
        e->serial = p->serial;
        e->confirm = !((p->have & OX_SES_HAVE_SYNC_TYPE) && (p->sync_type & SYNC_NO_CONFIRM));
        e->user_data = p->user_data;
        return OX_OK;
    case OX_SES_K_MIA:
        if (!(s->fu & OX_SES_FU_MINOR_SYNC))
            return FAIL(s, OX_SES_F_UNEXPECTED, out);
        if (!(p->have & OX_SES_HAVE_SERIAL) || p->serial < s->va || p->serial >= s->vm)
            return FAIL(s, OX_SES_F_SERIAL, out);
        s->va = p->serial + 1;
        e = ev_push(s, OX_SES_EV_MINOR_SYNC_CONF);
        e->serial = p->serial;
        e->user_data = p->user_data;
        return OX_OK;
    case OX_SES_K_AS:
    case OX_SES_K_AR:
        if (!act || s->in_activity || s->wait != OX_SES_W_NONE)
            return FAIL(s, OX_SES_F_UNEXPECTED, out);
        if (!peer_holds(s, OX_SES_TOKEN_MAJOR))
            return FAIL(s, OX_SES_F_TOKEN, out);
        if (!(p->have & OX_SES_HAVE_ACTIVITY_ID))
            return FAIL(s, OX_SES_F_MALFORMED, out);
        if (p->kind == OX_SES_K_AR) {
            if (!(p->have & OX_SES_HAVE_SERIAL) || !(p->have & OX_SES_HAVE_LINKING) ||
                p->old_activity_id.len == 0 || p->serial >= OX_SES_MAX_SERIAL)
                return FAIL(s, OX_SES_F_MALFORMED, out);
            s->vm = s->va = p->serial + 1;
            e = ev_push(s, OX_SES_EV_ACTIVITY_RESUME_IND);
            e->serial = p->serial;
            e->old_activity_id = p->old_activity_id;
            e->called_ref = p->called_ref;
            e->calling_ref = p->calling_ref;
            e->common_ref = p->common_ref;
            e->add_ref = p->add_ref;
        } else {
            s->vm = s->va = 1;
            e = ev_push(s, OX_SES_EV_ACTIVITY_START_IND);
        }
        s->in_activity = true;
        e->activity_id = p->activity_id;
        e->user_data = p->user_data;
        return OX_OK;
    case OX_SES_K_AI:
    case OX_SES_K_AD:
        if (!act || !s->in_activity)
            return FAIL(s, OX_SES_F_UNEXPECTED, out);
        if (!peer_holds(s, OX_SES_TOKEN_MAJOR))
            return FAIL(s, OX_SES_F_TOKEN, out);
        s->owe = p->kind == OX_SES_K_AI ? OX_SES_O_AIA : OX_SES_O_ADA;
        s->wait = OX_SES_W_NONE; /* an ED of ours is answered by the interrupt */
        e = ev_push(s, p->kind == OX_SES_K_AI ? OX_SES_EV_ACTIVITY_INTERRUPT_IND
                                              : OX_SES_EV_ACTIVITY_DISCARD_IND);
        e->reason = p->reason;
        e->user_data = p->user_data;
        return OX_OK;
    case OX_SES_K_AIA:
    case OX_SES_K_ADA:
        if (s->wait != (p->kind == OX_SES_K_AIA ? OX_SES_W_AIA : OX_SES_W_ADA))
            return FAIL(s, OX_SES_F_UNEXPECTED, out);
        s->wait = OX_SES_W_NONE;
        s->in_activity = false;
        s->own = s->avail; /* all tokens with the requestor */
        ev_push(s, p->kind == OX_SES_K_AIA ? OX_SES_EV_ACTIVITY_INTERRUPT_CONF
                                           : OX_SES_EV_ACTIVITY_DISCARD_CONF);
        return OX_OK;
    case OX_SES_K_AE:
        if (!act || !s->in_activity || s->wait != OX_SES_W_NONE)
            return FAIL(s, OX_SES_F_UNEXPECTED, out);
        if (!peer_holds(s, ALL_TOKENS))
            return FAIL(s, OX_SES_F_TOKEN, out);
        if (!(p->have & OX_SES_HAVE_SERIAL) || p->serial != s->vm)
            return FAIL(s, OX_SES_F_SERIAL, out);
        s->last_ind = s->vm++;
        s->owe = OX_SES_O_AEA;
        e = ev_push(s, OX_SES_EV_ACTIVITY_END_IND);
        e->serial = p->serial;
        e->user_data = p->user_data;
        return OX_OK;
    case OX_SES_K_AEA:
        if (s->wait != OX_SES_W_AEA)
            return FAIL(s, OX_SES_F_UNEXPECTED, out);
        if ((p->have & OX_SES_HAVE_SERIAL) && p->serial != s->vm - 1)
            return FAIL(s, OX_SES_F_SERIAL, out);
        s->wait = OX_SES_W_NONE;
        s->va = s->vm;
        s->in_activity = false;
        e = ev_push(s, OX_SES_EV_ACTIVITY_END_CONF);
        e->serial = s->vm - 1;
        e->user_data = p->user_data;
        return OX_OK;
    case OX_SES_K_ED:
    case OX_SES_K_ER:
        if (!(s->fu & OX_SES_FU_EXCEPTIONS) || !(s->avail & OX_SES_TOKEN_DATA))
            return FAIL(s, OX_SES_F_UNEXPECTED, out);
        if (!we_hold(s, OX_SES_TOKEN_DATA) || s->owe != OX_SES_O_NONE)
            return FAIL(s, OX_SES_F_TOKEN, out);
        s->owe = OX_SES_O_EXC;
        e = ev_push(s,
                    p->kind == OX_SES_K_ED ? OX_SES_EV_U_EXCEPTION_IND : OX_SES_EV_P_EXCEPTION_IND);
        e->reason = p->reason;
        e->user_data = p->user_data;
        return OX_OK;
    default: return FAIL(s, OX_SES_F_UNEXPECTED, out);
    }
}

static int on_fn(ox_ses *s, const ox_ses_spdu *p, ox_buf *out)
{
    if (s->wait != OX_SES_W_NONE || s->owe != OX_SES_O_NONE || s->in_activity ||
        !peer_holds(s, ALL_TOKENS))
        return FAIL(s, OX_SES_F_UNEXPECTED, out);
    s->state = OX_SES_AWAIT_RELEASE_RSP;
    ox_ses_ev *e = ev_push(s, OX_SES_EV_RELEASE_IND);
    e->user_data = p->user_data;
    return OX_OK;
}

/* Responder: a CDO carries the next piece of the connect user data (7.1.4). */
static int on_cdo(ox_ses *s, const ox_ses_spdu *p, ox_buf *out)
{
    if (!(p->have & OX_SES_HAVE_ENCLOSURE) || (p->enclosure & OX_SES_ENCL_BEGIN) ||
        (p->enclosure & ~(OX_SES_ENCL_BEGIN | OX_SES_ENCL_END)))
        return FAIL(s, OX_SES_F_MALFORMED, out); /* 8.3.2.2: end bit only; CN began it */
    if (ox_buf_append(&s->cn_ud, p->user_data.p, p->user_data.len) != 0) /* past the limit */
        return refuse_connect(s, OX_SES_RF_SPM_RESTRICTION, OX_SES_F_LIMIT, __LINE__, out);
    if (!(p->enclosure & OX_SES_ENCL_END))
        return OX_OK;
    s->state = OX_SES_AWAIT_CONNECT_RSP;
    ox_ses_ev *e = ev_push(s, OX_SES_EV_CONNECT_IND);
    e->user_data = ox_buf_span(&s->cn_ud);
    e->calling_ssel = s->cfg.remote_ssel;
    e->called_ssel = ox_span_of(s->called_ssel, s->called_ssel_len);
    e->requirements = s->fu;
    e->token_set = s->peer_ts;
    return OX_OK;
}

/* Initiator: the OA lets the rest of the connect user data go, in CDOs (7.1.4). */
static int on_oa(ox_ses *s, const ox_ses_spdu *p, ox_buf *out)
{
    uint8_t version = p->have & OX_SES_HAVE_VERSION ? p->version : 0;
    if (!(version & OX_SES_VERSION_2))
        return FAIL(s, OX_SES_F_NEGOTIATION, out);
    size_t chunk = OX_SES_CDO_CHUNK;
    uint32_t peer_max = (p->have & OX_SES_HAVE_TSDU_MAX) ? p->tsdu_max >> 16 : 0;
    if (peer_max && peer_max > 64 && peer_max - 64 < chunk)
        chunk = peer_max - 64; /* room for the SPDU's own octets */
    ox_span rest = s->ovf_rest;
    do {
        size_t n = rest.len < chunk ? rest.len : chunk;
        ox_ses_spdu cdo;
        spdu_init(&cdo, OX_SES_K_CDO);
        cdo.have = OX_SES_HAVE_ENCLOSURE;
        cdo.enclosure = n == rest.len ? OX_SES_ENCL_END : 0;
        spdu_ud(&cdo, ox_span_of(rest.p, n));
        int rc = put_spdu(&cdo, out);
        if (rc)
            return rc;
        rest.p += n;
        rest.len -= n;
    } while (rest.len);
    s->ovf_rest = ox_span_of(NULL, 0);
    s->state = OX_SES_AWAIT_AC;
    return OX_OK;
}

/* Initiator: the connection was refused. */
static int on_rf(ox_ses *s, const ox_ses_spdu *p)
{
    s->state = OX_SES_CLOSED;
    ox_ses_ev *e = ev_push(s, OX_SES_EV_CONNECT_CONF);
    e->accepted = false;
    e->reason = p->reason;
    e->user_data = p->reason_data;
    return OX_OK;
}

static int on_spdu(ox_ses *s, const ox_ses_spdu *p, ox_buf *out)
{
    if (p->kind == OX_SES_K_AB) {
        s->state = OX_SES_ABORTED;
        ox_ses_ev *e = ev_push(s, OX_SES_EV_ABORT_IND);
        e->reason = p->transport_dc;
        e->user_data = p->user_data;
        return OX_OK;
    }
    /* No segmenting is ever negotiated: an Enclosure Item other than "whole SSDU" is an
     * error (8.3.x: Enclosure Item only when segmenting is in use). */
    if ((p->have & OX_SES_HAVE_ENCLOSURE) && p->enclosure != 3 && p->kind != OX_SES_K_CDO)
        return FAIL(s, OX_SES_F_UNSUPPORTED, out);
    if ((p->kind == OX_SES_K_CDO) != (s->state == OX_SES_AWAIT_CDO) ||
        (p->kind == OX_SES_K_OA && s->state != OX_SES_AWAIT_OA))
        return FAIL(s, OX_SES_F_UNEXPECTED, out); /* overflow SPDUs only in their states */
    switch (s->state) {
    case OX_SES_AWAIT_CDO: return on_cdo(s, p, out);
    case OX_SES_AWAIT_OA:
        if (p->kind == OX_SES_K_OA)
            return on_oa(s, p, out);
        if (p->kind == OX_SES_K_RF) /* the responder refused instead of accepting */
            return on_rf(s, p);
        return FAIL(s, OX_SES_F_UNEXPECTED, out);
    case OX_SES_AWAIT_CN:
        if (p->kind != OX_SES_K_CN)
            return FAIL(s, OX_SES_F_UNEXPECTED, out);
        return on_cn(s, p, out);
    case OX_SES_AWAIT_AC:
        if (p->kind == OX_SES_K_AC)
            return on_ac(s, p, out);
        if (p->kind == OX_SES_K_RF)
            return on_rf(s, p);
        return FAIL(s, OX_SES_F_UNEXPECTED, out);
    case OX_SES_OPEN:
        if (p->kind == OX_SES_K_FN)
            return on_fn(s, p, out);
        return on_cat2(s, p, out);
    case OX_SES_AWAIT_DN:
        if (p->kind == OX_SES_K_DN) {
            s->state = OX_SES_CLOSED;
            ox_ses_ev *e = ev_push(s, OX_SES_EV_RELEASE_CONF);
            e->user_data = p->user_data;
            return OX_OK;
        }
        return FAIL(s, OX_SES_F_UNEXPECTED, out);
    case OX_SES_IDLE:
    case OX_SES_AWAIT_CONNECT_RSP:
    case OX_SES_AWAIT_RELEASE_RSP: return FAIL(s, OX_SES_F_UNEXPECTED, out);
    case OX_SES_CLOSED:
    case OX_SES_ABORTED: break;
    }
    return OX_E_STATE;
}

int ox_ses_feed(ox_ses *s, ox_span tsdu, uint64_t now_ms, ox_buf *out)
{
    if (s->state == OX_SES_CLOSED || s->state == OX_SES_ABORTED || s->ev_n)
        return OX_E_STATE;
    s->now_ms = now_ms;
    if (tsdu.len > s->cfg.limits.max_tsdu)
        return FAIL(s, OX_SES_F_LIMIT, out);
    ox_ses_spdu p[2];
    size_t n, off;
    if (ox_ses_pdu_decode(tsdu, p, &n, &off))
        return FAIL(s, OX_SES_F_MALFORMED, out);
    if (n == 2) {
        /* Category 0 then category 2: tokens only in OPEN. */
        if (s->state != OX_SES_OPEN)
            return FAIL(s, OX_SES_F_UNEXPECTED, out);
        int rc = on_cat0(s, &p[0], out);
        if (rc)
            return rc;
        return on_spdu(s, &p[1], out);
    }
    if (p[0].kind == OX_SES_K_GT || p[0].kind == OX_SES_K_PT) {
        if (s->state != OX_SES_OPEN && s->state != OX_SES_AWAIT_DN)
            return FAIL(s, OX_SES_F_UNEXPECTED, out);
        if (s->state == OX_SES_AWAIT_DN && p[0].kind == OX_SES_K_GT)
            return FAIL(s, OX_SES_F_TOKEN, out); /* we hold every token */
        if (p[0].kind == OX_SES_K_GT && !(p[0].have & OX_SES_HAVE_TOKEN_ITEM))
            return FAIL(s, OX_SES_F_MALFORMED, out);
        return on_cat0(s, &p[0], out);
    }
    switch (p[0].kind) {
    case OX_SES_K_CN:
    case OX_SES_K_AC:
    case OX_SES_K_RF:
    case OX_SES_K_FN:
    case OX_SES_K_DN:
    case OX_SES_K_AB:
    case OX_SES_K_CDO:
    case OX_SES_K_OA: return on_spdu(s, &p[0], out);
    default: return FAIL(s, OX_SES_F_UNSUPPORTED, out); /* NF, AA: never negotiated */
    }
}
