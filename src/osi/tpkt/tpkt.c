/* tpkt.c - RFC 1006 TPKT framing and ISO 8073 class 0 transport machine
 *
 * Why: the session layer needs whole TSDUs over TCP; class 0 is all RFC 1006 requires and
 *      all X.400 peers (ISODE, Exchange) use.
 * States: initiator IDLE -connect-> AWAIT_CC -CC-> OPEN; -DR-> CLOSED
 *         responder AWAIT_CR -CR-> AWAIT_ACCEPT -accept-> OPEN; -refuse-> CLOSED
 *         OPEN -disconnect/DR-> CLOSED; any peer fault -> ERROR (sticky).
 * Limits: TPDU <= 65531 (RFC 1006), selectors <= OX_TPKT_MAX_TSEL, TSDU <= limits.max_tsdu.
 *      Input is buffered as it arrives, never allocated ahead from a length field.
 * Diagnostics: peer fault -> OX_E_PEER, ER (or DR while connecting) appended, ERROR event.
 * Standards: RFC 1006 section 6; ISO 8073 (X.224) 13.1-13.7, 13.12; class 0 only. */
#include "openx400/tpkt.h"

#include <string.h>

/* Fixed-part lengths (LI counts them and the variable part; LI excludes itself). */
#define FIX_CR 6   /* code, DST-REF, SRC-REF, class/option */
#define FIX_DR 6   /* code, DST-REF, SRC-REF, reason */
#define FIX_DT 2   /* code, NR/EOT */
#define FIX_ER 4   /* code, DST-REF, cause */
#define LI_MAX 254 /* 255 is reserved (ISO 8073 13.2.1) */

const char *ox_tpkt_state_name(ox_tpkt_state s)
{
    switch (s) {
    case OX_TPKT_IDLE: return "IDLE";
    case OX_TPKT_AWAIT_CC: return "AWAIT_CC";
    case OX_TPKT_AWAIT_CR: return "AWAIT_CR";
    case OX_TPKT_AWAIT_ACCEPT: return "AWAIT_ACCEPT";
    case OX_TPKT_OPEN: return "OPEN";
    case OX_TPKT_CLOSED: return "CLOSED";
    case OX_TPKT_ERROR: return "ERROR";
    }
    return "?";
}

int ox_tpkt_init(ox_tpkt *t, const ox_tpkt_cfg *cfg, const ox_alloc *alloc)
{
    if (!t || !cfg)
        return OX_E_ARG;
    memset(t, 0, sizeof *t);
    if (cfg->local_tsel.len > OX_TPKT_MAX_TSEL || cfg->remote_tsel.len > OX_TPKT_MAX_TSEL)
        return OX_E_ARG;
    if (cfg->max_tpdu != 0 &&
        (cfg->max_tpdu < OX_TPKT_MIN_TPDU || cfg->max_tpdu > OX_TPKT_MAX_TPDU))
        return OX_E_ARG;
    t->cfg = *cfg;
    if (t->cfg.max_tpdu == 0)
        t->cfg.max_tpdu = OX_TPKT_MAX_TPDU;
    if (t->cfg.local_ref == 0)
        t->cfg.local_ref = 1;
    if (t->cfg.limits.max_tsdu == 0)
        t->cfg.limits.max_tsdu = OX_TPKT_DEFAULT_MAX_TSDU;
    if (cfg->local_tsel.len)
        memcpy(t->local_tsel, cfg->local_tsel.p, cfg->local_tsel.len);
    if (cfg->remote_tsel.len)
        memcpy(t->remote_tsel, cfg->remote_tsel.p, cfg->remote_tsel.len);
    t->cfg.local_tsel = ox_span_of(t->local_tsel, cfg->local_tsel.len);
    t->cfg.remote_tsel = ox_span_of(t->remote_tsel, cfg->remote_tsel.len);
    t->alloc = alloc;
    ox_buf_init(&t->pdu, alloc, NULL, 0);
    ox_buf_init(&t->tsdu, alloc, NULL, 0);
    t->tsdu.max = t->cfg.limits.max_tsdu;
    t->state = cfg->role == OX_TPKT_INITIATOR ? OX_TPKT_IDLE : OX_TPKT_AWAIT_CR;
    return OX_OK;
}

void ox_tpkt_free(ox_tpkt *t)
{
    if (!t)
        return;
    ox_buf_free(&t->pdu);
    ox_buf_free(&t->tsdu);
}

uint32_t ox_tpkt_tpdu_size(const ox_tpkt *t)
{
    return t->state == OX_TPKT_OPEN ? t->tpdu_size : 0;
}

/* ---- encoding ---------------------------------------------------------------------- */

/* Largest 2^n <= size with 7 <= n <= 13 (the TPDU-size parameter's range). */
static uint8_t size_code(uint32_t size)
{
    uint8_t n = 13;
    while (n > 7 && (1u << n) > size)
        n--;
    return n;
}

static void put_tpkt_hdr(ox_buf *out, size_t tpdu_len)
{
    ox_buf_put_u8(out, OX_TPKT_VERSION);
    ox_buf_put_u8(out, 0);
    ox_buf_put_u16be(out, (uint16_t)(tpdu_len + OX_TPKT_HDR_LEN));
}

static void put_param(ox_buf *out, uint8_t code, ox_span v)
{
    ox_buf_put_u8(out, code);
    ox_buf_put_u8(out, (uint8_t)v.len);
    ox_buf_append(out, v.p, v.len);
}

/* CR or CC: fixed part, selectors and TPDU size. |pref| adds the preferred-size parameter. */
static int put_cr_cc(ox_tpkt *t, uint8_t code, uint16_t dst, uint32_t size, bool pref,
                     ox_span calling, ox_span called, ox_buf *out)
{
    uint8_t var[2 * (2 + OX_TPKT_MAX_TSEL) + 3 + 4];
    size_t n = 0;
    if (calling.len) {
        var[n++] = OX_TPKT_PAR_CALLING_TSAP;
        var[n++] = (uint8_t)calling.len;
        memcpy(var + n, calling.p, calling.len);
        n += calling.len;
    }
    if (called.len) {
        var[n++] = OX_TPKT_PAR_CALLED_TSAP;
        var[n++] = (uint8_t)called.len;
        memcpy(var + n, called.p, called.len);
        n += called.len;
    }
    var[n++] = OX_TPKT_PAR_TPDU_SIZE;
    var[n++] = 1;
    var[n++] = size_code(size);
    if (pref) {
        uint32_t units = size / 128u;
        var[n++] = OX_TPKT_PAR_PREF_TPDU_SIZE;
        var[n++] = 2;
        var[n++] = (uint8_t)(units >> 8);
        var[n++] = (uint8_t)units;
    }
    size_t li = FIX_CR + n;
    put_tpkt_hdr(out, li + 1);
    ox_buf_put_u8(out, (uint8_t)li);
    ox_buf_put_u8(out, code);
    ox_buf_put_u16be(out, dst);
    ox_buf_put_u16be(out, t->cfg.local_ref);
    ox_buf_put_u8(out, 0x00); /* class 0, no options (13.3.3 d) */
    ox_buf_append(out, var, n);
    return out->err;
}

int ox_tpkt_connect(ox_tpkt *t, ox_buf *out)
{
    if (t->state != OX_TPKT_IDLE)
        return OX_E_STATE;
    uint32_t size = t->cfg.max_tpdu;
    bool pref = size > 8192u;
    int rc =
        put_cr_cc(t, OX_TPKT_CODE_CR, 0, size, pref, t->cfg.local_tsel, t->cfg.remote_tsel, out);
    if (rc)
        return rc;
    t->state = OX_TPKT_AWAIT_CC;
    return OX_OK;
}

int ox_tpkt_accept(ox_tpkt *t, ox_buf *out)
{
    if (t->state != OX_TPKT_AWAIT_ACCEPT)
        return OX_E_STATE;
    /* 13.3.4 b/c: the responder answers with a size not above the proposed one. */
    uint32_t size = t->tpdu_size < t->cfg.max_tpdu ? t->tpdu_size : t->cfg.max_tpdu;
    if (t->peer_pref_size)
        size = size / 128u * 128u;
    else
        size = 1u << size_code(size);
    /* The CC repeats the selectors as received (13.4.4). */
    int rc = put_cr_cc(t, OX_TPKT_CODE_CC, t->remote_ref, size, t->peer_pref_size,
                       t->cfg.remote_tsel, t->cfg.local_tsel, out);
    if (rc)
        return rc;
    t->tpdu_size = size;
    t->state = OX_TPKT_OPEN;
    return OX_OK;
}

static void put_dr(ox_tpkt *t, uint8_t reason, ox_buf *out)
{
    put_tpkt_hdr(out, FIX_DR + 1);
    ox_buf_put_u8(out, FIX_DR);
    ox_buf_put_u8(out, OX_TPKT_CODE_DR);
    ox_buf_put_u16be(out, t->remote_ref);
    ox_buf_put_u16be(out, t->cfg.local_ref);
    ox_buf_put_u8(out, reason);
}

int ox_tpkt_refuse(ox_tpkt *t, uint8_t reason, ox_buf *out)
{
    if (t->state != OX_TPKT_AWAIT_ACCEPT)
        return OX_E_STATE;
    put_dr(t, reason, out);
    if (out->err)
        return out->err;
    t->state = OX_TPKT_CLOSED;
    return OX_OK;
}

int ox_tpkt_send(ox_tpkt *t, ox_span tsdu, ox_buf *out)
{
    if (t->state != OX_TPKT_OPEN)
        return OX_E_STATE;
    size_t seg = t->tpdu_size - 3; /* LI, code, NR/EOT */
    size_t nseg = tsdu.len ? (tsdu.len + seg - 1) / seg : 1;
    if (ox_buf_reserve(out, tsdu.len + nseg * (OX_TPKT_HDR_LEN + 3)))
        return out->err;
    size_t off = 0;
    do {
        size_t n = tsdu.len - off < seg ? tsdu.len - off : seg;
        bool last = off + n == tsdu.len;
        put_tpkt_hdr(out, 3 + n);
        ox_buf_put_u8(out, FIX_DT);
        ox_buf_put_u8(out, OX_TPKT_CODE_DT);
        ox_buf_put_u8(out, last ? OX_TPKT_DT_EOT : 0);
        if (n)
            ox_buf_append(out, tsdu.p + off, n);
        off += n;
    } while (off < tsdu.len);
    return out->err;
}

int ox_tpkt_disconnect(ox_tpkt *t, ox_buf *out)
{
    (void)out;
    if (t->state == OX_TPKT_CLOSED || t->state == OX_TPKT_ERROR)
        return OX_E_STATE;
    t->state = OX_TPKT_CLOSED;
    return OX_OK;
}

/* ---- decoding ---------------------------------------------------------------------- */

static void ev_set(ox_tpkt *t, ox_tpkt_ev_kind kind)
{
    memset(&t->ev, 0, sizeof t->ev);
    t->ev.kind = kind;
    t->ev_ready = true;
}

/* A peer fault: while connecting a responder answers with a DR, otherwise with an ER
 * carrying the rejected header (13.12.4); the machine is ERROR from now on. */
static int fail(ox_tpkt *t, uint8_t cause, ox_buf *out)
{
    if (t->state == OX_TPKT_AWAIT_CR) {
        put_dr(t, OX_TPKT_DR_PROTOCOL_ERROR, out);
    } else if (t->state != OX_TPKT_IDLE) {
        size_t inv = t->pdu.len < 64 ? t->pdu.len : 64;
        size_t li = FIX_ER + (inv ? 2 + inv : 0);
        put_tpkt_hdr(out, li + 1);
        ox_buf_put_u8(out, (uint8_t)li);
        ox_buf_put_u8(out, OX_TPKT_CODE_ER);
        ox_buf_put_u16be(out, t->remote_ref);
        ox_buf_put_u8(out, cause);
        if (inv)
            put_param(out, OX_TPKT_PAR_INVALID_TPDU, ox_span_of(t->pdu.p, inv));
    }
    t->state = OX_TPKT_ERROR;
    ev_set(t, OX_TPKT_EV_ERROR);
    t->ev.reason = cause;
    t->ev.code = OX_E_PEER;
    return OX_E_PEER;
}

/* Parses the variable part of a CR or CC. */
static int parse_cr_cc(ox_tpkt *t, const uint8_t *p, const uint8_t *end, ox_span *calling,
                       ox_span *called, uint32_t *size, bool *pref, ox_buf *out)
{
    *size = OX_TPKT_MIN_TPDU;
    *pref = false;
    bool have_code = false;
    uint32_t pref_size = 0;
    while (p < end) {
        if ((size_t)(end - p) < 2)
            return fail(t, OX_TPKT_ER_BAD_PARAM, out);
        uint8_t code = p[0];
        size_t len = p[1];
        p += 2;
        if (len > (size_t)(end - p))
            return fail(t, OX_TPKT_ER_BAD_PARAM, out);
        switch (code) {
        case OX_TPKT_PAR_CALLING_TSAP:
        case OX_TPKT_PAR_CALLED_TSAP:
            if (len > OX_TPKT_MAX_TSEL)
                return fail(t, OX_TPKT_ER_BAD_VALUE, out);
            *(code == OX_TPKT_PAR_CALLING_TSAP ? calling : called) = ox_span_of(p, len);
            break;
        case OX_TPKT_PAR_TPDU_SIZE:
            if (len != 1 || p[0] < 7 || p[0] > 13)
                return fail(t, OX_TPKT_ER_BAD_VALUE, out);
            *size = 1u << p[0];
            have_code = true;
            break;
        case OX_TPKT_PAR_PREF_TPDU_SIZE: {
            if (len < 1 || len > 4)
                return fail(t, OX_TPKT_ER_BAD_VALUE, out);
            uint32_t v = 0;
            for (size_t i = 0; i < len; i++)
                v = v << 8 | p[i];
            if (v == 0 || v > 0x1FFFFFu)
                return fail(t, OX_TPKT_ER_BAD_VALUE, out);
            pref_size = v * 128u;
            *pref = true;
            break;
        }
        default: break; /* 13.2.3: unknown parameters in CR/CC are ignored */
        }
        p += len;
    }
    (void)have_code;
    if (*pref)
        *size = pref_size; /* 13.3.4 c: the preferred size takes precedence */
    if (*size > OX_TPKT_MAX_TPDU)
        *size = OX_TPKT_MAX_TPDU;
    return OX_OK;
}

static int on_cr(ox_tpkt *t, const uint8_t *h, size_t li, ox_buf *out)
{
    if (li < FIX_CR)
        return fail(t, OX_TPKT_ER_NOT_SPECIFIED, out);
    t->remote_ref = (uint16_t)(h[4] << 8 | h[5]);
    uint8_t cls = h[6];
    ox_span calling = {0}, called = {0};
    uint32_t size;
    bool pref;
    int rc = parse_cr_cc(t, h + 1 + FIX_CR, h + 1 + li, &calling, &called, &size, &pref, out);
    if (rc)
        return rc;
    if ((cls >> 4) != 0) {
        /* Only class 0 is offered (RFC 1006 section 5): refuse the connection. */
        put_dr(t, OX_TPKT_DR_NEGOTIATION_FAILED, out);
        t->state = OX_TPKT_ERROR;
        ev_set(t, OX_TPKT_EV_ERROR);
        t->ev.reason = OX_TPKT_DR_NEGOTIATION_FAILED;
        t->ev.code = OX_E_PEER;
        return OX_E_PEER;
    }
    /* Remember the selectors (the CC echoes them). */
    memcpy(t->remote_tsel, calling.p ? calling.p : t->remote_tsel, calling.len);
    t->cfg.remote_tsel = ox_span_of(t->remote_tsel, calling.len);
    t->tpdu_size = size;
    t->peer_pref_size = pref;
    t->state = OX_TPKT_AWAIT_ACCEPT;
    ev_set(t, OX_TPKT_EV_CONNECT_IND);
    t->ev.calling_tsel = calling;
    t->ev.called_tsel = called;
    t->ev.tpdu_size = size;
    return OX_OK;
}

static int on_cc(ox_tpkt *t, const uint8_t *h, size_t li, ox_buf *out)
{
    if (li < FIX_CR)
        return fail(t, OX_TPKT_ER_NOT_SPECIFIED, out);
    uint16_t dst = (uint16_t)(h[2] << 8 | h[3]);
    t->remote_ref = (uint16_t)(h[4] << 8 | h[5]);
    if (dst != t->cfg.local_ref || (h[6] >> 4) != 0)
        return fail(t, OX_TPKT_ER_BAD_VALUE, out);
    ox_span calling = {0}, called = {0};
    uint32_t size;
    bool pref;
    int rc = parse_cr_cc(t, h + 1 + FIX_CR, h + 1 + li, &calling, &called, &size, &pref, out);
    if (rc)
        return rc;
    if (size > t->cfg.max_tpdu) /* 13.4.4: never above what we proposed */
        return fail(t, OX_TPKT_ER_BAD_VALUE, out);
    t->tpdu_size = size;
    t->state = OX_TPKT_OPEN;
    ev_set(t, OX_TPKT_EV_CONNECT_CONF);
    t->ev.tpdu_size = size;
    t->ev.calling_tsel = calling;
    t->ev.called_tsel = called;
    return OX_OK;
}

/* The TPDU header (LI octet plus LI octets) is complete in t->pdu. Checks it against the
 * state; DT continues with its data, the others when the whole TPDU is in. */
static int check_header(ox_tpkt *t, ox_buf *out)
{
    const uint8_t *h = t->pdu.p;
    size_t li = h[0];
    uint8_t code = h[1] & 0xF0;
    bool ok;
    switch (code) {
    case OX_TPKT_CODE_CR: ok = t->state == OX_TPKT_AWAIT_CR; break;
    case OX_TPKT_CODE_CC: ok = t->state == OX_TPKT_AWAIT_CC; break;
    case OX_TPKT_CODE_DT:
        ok = t->state == OX_TPKT_OPEN;
        if (ok && (li != FIX_DT || h[1] != OX_TPKT_CODE_DT || (h[2] & 0x7F) != 0))
            return fail(t, OX_TPKT_ER_BAD_VALUE, out);
        break;
    case OX_TPKT_CODE_DR: ok = t->state == OX_TPKT_AWAIT_CC || t->state == OX_TPKT_OPEN; break;
    case OX_TPKT_CODE_ER: ok = t->state != OX_TPKT_AWAIT_CR; break;
    default: return fail(t, OX_TPKT_ER_BAD_TYPE, out);
    }
    if (!ok)
        return fail(t, OX_TPKT_ER_BAD_TYPE, out);
    /* Class 0 CR/CC/DR/ER carry no user data (13.3.3 e etc.): their LI covers the TPDU. */
    if (code != OX_TPKT_CODE_DT && li + 1 != t->tpdu_len)
        return fail(t, OX_TPKT_ER_NOT_SPECIFIED, out);
    return OX_OK;
}

/* The whole TPDU has been read. */
static int on_tpdu(ox_tpkt *t, ox_buf *out)
{
    const uint8_t *h = t->pdu.p;
    size_t li = h[0];
    switch (h[1] & 0xF0) {
    case OX_TPKT_CODE_CR: return on_cr(t, h, li, out);
    case OX_TPKT_CODE_CC: return on_cc(t, h, li, out);
    case OX_TPKT_CODE_DT:
        if (h[2] & OX_TPKT_DT_EOT) {
            ev_set(t, OX_TPKT_EV_DATA_IND);
            t->ev.data = ox_buf_span(&t->tsdu);
            t->tsdu_done = true;
        }
        return OX_OK;
    case OX_TPKT_CODE_DR:
        if (li < FIX_DR)
            return fail(t, OX_TPKT_ER_NOT_SPECIFIED, out);
        t->state = OX_TPKT_CLOSED;
        ev_set(t, OX_TPKT_EV_DISCONNECT_IND);
        t->ev.reason = h[6];
        return OX_OK;
    case OX_TPKT_CODE_ER:
        if (li < FIX_ER)
            return fail(t, OX_TPKT_ER_NOT_SPECIFIED, out);
        t->state = OX_TPKT_ERROR;
        ev_set(t, OX_TPKT_EV_ERROR);
        t->ev.reason = h[4];
        t->ev.peer_er = true;
        t->ev.code = OX_E_PEER;
        return OX_OK;
    default: return fail(t, OX_TPKT_ER_BAD_TYPE, out);
    }
}

int ox_tpkt_feed(ox_tpkt *t, ox_span in, size_t *consumed, ox_buf *out)
{
    *consumed = 0;
    if (t->ev_ready)
        return OX_E_STATE;
    if (t->state == OX_TPKT_ERROR || t->state == OX_TPKT_CLOSED)
        return OX_E_STATE;
    if (t->tsdu_done) {
        ox_buf_reset(&t->tsdu);
        t->tsdu_done = false;
    }
    if (in.len == 0)
        return OX_OK;
    const uint8_t *p = in.p, *end = in.p + in.len;
    int rc = OX_OK;
    while (p < end && !t->ev_ready && rc == OX_OK) {
        if (t->hdr_have < OX_TPKT_HDR_LEN) {
            t->hdr[t->hdr_have++] = *p++;
            if (t->hdr_have < OX_TPKT_HDR_LEN)
                continue;
            size_t len = (size_t)t->hdr[2] << 8 | t->hdr[3];
            ox_buf_reset(&t->pdu);
            /* RFC 1006 6: version 3; the smallest TPDU (DT) is 3 octets. */
            if (t->hdr[0] != OX_TPKT_VERSION || len < OX_TPKT_HDR_LEN + 3) {
                rc = fail(t, OX_TPKT_ER_NOT_SPECIFIED, out);
                break;
            }
            t->tpdu_len = len - OX_TPKT_HDR_LEN;
            t->tpdu_have = 0;
            continue;
        }
        size_t want = t->tpdu_len - t->tpdu_have;
        size_t avail = (size_t)(end - p);
        if (t->tpdu_have == 0 || t->tpdu_have < (size_t)t->pdu.p[0] + 1) {
            /* Header: the LI octet, then LI octets. */
            size_t hlen = t->tpdu_have == 0 ? 1 : (size_t)t->pdu.p[0] + 1;
            size_t n = hlen - t->tpdu_have;
            if (n > avail)
                n = avail;
            if (ox_buf_append(&t->pdu, p, n))
                return t->pdu.err;
            p += n;
            t->tpdu_have += n;
            if (t->tpdu_have == 1) {
                size_t li = t->pdu.p[0];
                if (li > LI_MAX || li < 2 || li + 1 > t->tpdu_len) {
                    rc = fail(t, OX_TPKT_ER_NOT_SPECIFIED, out);
                    break;
                }
            }
            if (t->tpdu_have == (size_t)t->pdu.p[0] + 1 && t->tpdu_have > 1) {
                if ((rc = check_header(t, out)) != OX_OK)
                    break;
                if (t->tpdu_have == t->tpdu_len) {
                    t->hdr_have = 0;
                    rc = on_tpdu(t, out);
                }
            }
            continue;
        }
        /* Body: only DT has one (check_header refused the others). */
        size_t n = want < avail ? want : avail;
        if (ox_buf_append(&t->tsdu, p, n)) {
            if (t->tsdu.err == OX_E_LIMIT) {
                t->state = OX_TPKT_ERROR;
                ev_set(t, OX_TPKT_EV_ERROR);
                t->ev.code = OX_E_LIMIT;
                rc = OX_E_LIMIT;
                break;
            }
            return t->tsdu.err;
        }
        p += n;
        t->tpdu_have += n;
        if (t->tpdu_have == t->tpdu_len) {
            t->hdr_have = 0;
            rc = on_tpdu(t, out);
        }
    }
    *consumed = (size_t)(p - in.p);
    return rc;
}

bool ox_tpkt_next_event(ox_tpkt *t, ox_tpkt_ev *ev)
{
    if (!t->ev_ready)
        return false;
    *ev = t->ev;
    t->ev_ready = false;
    return true;
}
