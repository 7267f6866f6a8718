/* ses_pdu.c - X.225 SPDU codec: bytes <-> ox_ses_spdu, no state
 *
 * Why: the machine (ses.c) reasons about SPDUs as structs; keeping the encoding here makes it
 *      testable byte for byte and fuzzable on its own.
 * Encoding: SI, LI (0..254 in one octet; 0xFF then two octets up to 65535), then PIs and PGIs
 *      each as code, length (same two forms), value. DT's user information follows the
 *      parameter field outside LI. Serial numbers are decimal digits in IA5 (8.3.18.2).
 * Concatenation: basic only (6.3.7): a TSDU is one category 0 or 1 SPDU, or a category 0 SPDU
 *      (GT, PT) followed by one category 2 SPDU. GT/DT, AB/AI and AA/AIA share SIs and are
 *      told apart by that position.
 * Limits: PI lengths as X.225 8.3 gives them; unknown PIs and PGIs are skipped (8.2.7).
 * Standards: X.225 (1995) 8.2 (structure), 8.3 (each SPDU's parameters and their order). */
#include "openx400/ses.h"

#include <string.h>

/* ---- writing --------------------------------------------------------------------------- */

/* A writer that only counts when b is NULL, so that lengths are known before writing. */
typedef struct wr {
    ox_buf *b;
    size_t n;
} wr;

static void w_bytes(wr *w, const void *p, size_t n)
{
    if (w->b)
        ox_buf_append(w->b, p, n);
    w->n += n;
}

static void w_u8(wr *w, uint8_t v)
{
    w_bytes(w, &v, 1);
}

static void w_len(wr *w, size_t len)
{
    if (len <= 254) {
        w_u8(w, (uint8_t)len);
    } else {
        uint8_t l[3] = {0xFF, (uint8_t)(len >> 8), (uint8_t)len};
        w_bytes(w, l, 3);
    }
}

static size_t len_size(size_t len)
{
    return len <= 254 ? 1 : 3;
}

static void w_pi(wr *w, uint8_t code, const void *v, size_t len)
{
    w_u8(w, code);
    w_len(w, len);
    w_bytes(w, v, len);
}

static void w_pi_u8(wr *w, uint8_t code, uint8_t v)
{
    w_pi(w, code, &v, 1);
}

static size_t serial_digits(uint32_t v, uint8_t d[6])
{
    char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof tmp);
    for (size_t i = 0; i < n && i < 6; i++)
        d[i] = (uint8_t)tmp[n - 1 - i];
    return n;
}

static void w_serial(wr *w, uint8_t code, uint32_t v)
{
    uint8_t d[6];
    size_t n = serial_digits(v, d);
    w_pi(w, code, d, n);
}

static bool has(const ox_ses_spdu *p, uint32_t bit)
{
    return (p->have & bit) != 0;
}

static void w_user_data(wr *w, const ox_ses_spdu *p)
{
    if (has(p, OX_SES_HAVE_USER_DATA))
        w_pi(w, p->extended_ud ? OX_SES_PGI_EXT_UD : OX_SES_PGI_USER_DATA, p->user_data.p,
             p->user_data.len);
}

static void w_enclosure(wr *w, const ox_ses_spdu *p)
{
    if (has(p, OX_SES_HAVE_ENCLOSURE))
        w_pi_u8(w, OX_SES_PI_ENCLOSURE, p->enclosure);
}

/* Connect/Accept Item (PGI 5) contents. */
static void w_conn_accept_item(wr *w, const ox_ses_spdu *p)
{
    if (has(p, OX_SES_HAVE_PROTO_OPT))
        w_pi_u8(w, OX_SES_PI_PROTO_OPT, p->proto_opt);
    if (has(p, OX_SES_HAVE_TSDU_MAX)) {
        uint8_t v[4] = {(uint8_t)(p->tsdu_max >> 24), (uint8_t)(p->tsdu_max >> 16),
                        (uint8_t)(p->tsdu_max >> 8), (uint8_t)p->tsdu_max};
        w_pi(w, OX_SES_PI_TSDU_MAX, v, 4);
    }
    if (has(p, OX_SES_HAVE_VERSION))
        w_pi_u8(w, OX_SES_PI_VERSION, p->version);
    if (has(p, OX_SES_HAVE_INITIAL_SN))
        w_serial(w, OX_SES_PI_INITIAL_SN, p->initial_sn);
    if (has(p, OX_SES_HAVE_TOKEN_SET))
        w_pi_u8(w, OX_SES_PI_TOKEN_SET, p->token_set);
}

static void w_pgi(wr *w, uint8_t code, const ox_ses_spdu *p,
                  void (*body)(wr *, const ox_ses_spdu *))
{
    wr c = {NULL, 0};
    body(&c, p);
    if (c.n == 0)
        return;
    w_u8(w, code);
    w_len(w, c.n);
    body(w, p);
}

static void w_linking(wr *w, const ox_ses_spdu *p)
{
    if (p->called_ref.len)
        w_pi(w, OX_SES_PI_CALLED_REF, p->called_ref.p, p->called_ref.len);
    if (p->calling_ref.len)
        w_pi(w, OX_SES_PI_CALLING_REF, p->calling_ref.p, p->calling_ref.len);
    if (p->common_ref.len)
        w_pi(w, OX_SES_PI_COMMON_REF, p->common_ref.p, p->common_ref.len);
    if (p->add_ref.len)
        w_pi(w, OX_SES_PI_ADD_REF, p->add_ref.p, p->add_ref.len);
    if (p->old_activity_id.len)
        w_pi(w, OX_SES_PI_ACTIVITY_ID, p->old_activity_id.p, p->old_activity_id.len);
}

/* The parameter field of |p| in the order X.225 8.3 lists for its kind. */
static void w_params(wr *w, const ox_ses_spdu *p)
{
    switch (p->kind) {
    case OX_SES_K_CN:
    case OX_SES_K_AC:
        if (has(p, OX_SES_HAVE_CONN_ID))
            w_pi(w, OX_SES_PGI_CONN_ID, p->conn_id.p, p->conn_id.len);
        w_pgi(w, OX_SES_PGI_CONN_ACCEPT, p, w_conn_accept_item);
        if (p->kind == OX_SES_K_AC && has(p, OX_SES_HAVE_TOKEN_ITEM))
            w_pi_u8(w, OX_SES_PI_TOKEN_ITEM, p->token_item);
        if (has(p, OX_SES_HAVE_REQUIREMENTS)) {
            uint8_t v[2] = {(uint8_t)(p->requirements >> 8), (uint8_t)p->requirements};
            w_pi(w, OX_SES_PI_REQUIREMENTS, v, 2);
        }
        if (p->kind == OX_SES_K_AC)
            w_enclosure(w, p);
        if (has(p, OX_SES_HAVE_CALLING_SSEL))
            w_pi(w, OX_SES_PI_CALLING_SSEL, p->calling_ssel.p, p->calling_ssel.len);
        if (has(p, OX_SES_HAVE_CALLED_SSEL))
            w_pi(w, OX_SES_PI_CALLED_SSEL, p->called_ssel.p, p->called_ssel.len);
        if (p->kind == OX_SES_K_CN && has(p, OX_SES_HAVE_DATA_OVERFL))
            w_pi_u8(w, OX_SES_PI_DATA_OVERFL, p->data_overflow);
        w_user_data(w, p);
        break;
    case OX_SES_K_RF:
        if (has(p, OX_SES_HAVE_CONN_ID))
            w_pi(w, OX_SES_PGI_CONN_ID, p->conn_id.p, p->conn_id.len);
        if (has(p, OX_SES_HAVE_TRANSPORT_DC))
            w_pi_u8(w, OX_SES_PI_TRANSPORT_DC, p->transport_dc);
        if (has(p, OX_SES_HAVE_REQUIREMENTS)) {
            uint8_t v[2] = {(uint8_t)(p->requirements >> 8), (uint8_t)p->requirements};
            w_pi(w, OX_SES_PI_REQUIREMENTS, v, 2);
        }
        if (has(p, OX_SES_HAVE_VERSION))
            w_pi_u8(w, OX_SES_PI_VERSION, p->version);
        w_enclosure(w, p);
        if (has(p, OX_SES_HAVE_REASON)) {
            /* 8.3.4.2: the reason octet, then the SS-user's data for reason 2 */
            w_u8(w, OX_SES_PI_REASON);
            w_len(w, 1 + p->reason_data.len);
            w_u8(w, p->reason);
            w_bytes(w, p->reason_data.p, p->reason_data.len);
        }
        break;
    case OX_SES_K_FN:
    case OX_SES_K_AB:
        if (has(p, OX_SES_HAVE_TRANSPORT_DC))
            w_pi_u8(w, OX_SES_PI_TRANSPORT_DC, p->transport_dc);
        w_enclosure(w, p);
        if (p->kind == OX_SES_K_AB && has(p, OX_SES_HAVE_REFLECT))
            w_pi(w, OX_SES_PI_REFLECT, p->reflect.p, p->reflect.len);
        w_user_data(w, p);
        break;
    case OX_SES_K_GT:
    case OX_SES_K_PT:
        if (has(p, OX_SES_HAVE_TOKEN_ITEM))
            w_pi_u8(w, OX_SES_PI_TOKEN_ITEM, p->token_item);
        w_enclosure(w, p);
        if (p->kind == OX_SES_K_PT)
            w_user_data(w, p);
        break;
    case OX_SES_K_DT: w_enclosure(w, p); break;
    case OX_SES_K_MIP:
        if (has(p, OX_SES_HAVE_SYNC_TYPE))
            w_pi_u8(w, OX_SES_PI_SYNC_TYPE, p->sync_type);
        if (has(p, OX_SES_HAVE_SERIAL))
            w_serial(w, OX_SES_PI_SERIAL, p->serial);
        w_enclosure(w, p);
        w_user_data(w, p);
        break;
    case OX_SES_K_MIA:
    case OX_SES_K_AE:
    case OX_SES_K_AEA:
        if (p->kind == OX_SES_K_MIA)
            w_enclosure(w, p);
        if (has(p, OX_SES_HAVE_SERIAL))
            w_serial(w, OX_SES_PI_SERIAL, p->serial);
        if (p->kind != OX_SES_K_MIA)
            w_enclosure(w, p);
        w_user_data(w, p);
        break;
    case OX_SES_K_AS:
        if (has(p, OX_SES_HAVE_ACTIVITY_ID))
            w_pi(w, OX_SES_PI_ACTIVITY_ID, p->activity_id.p, p->activity_id.len);
        w_enclosure(w, p);
        w_user_data(w, p);
        break;
    case OX_SES_K_AR:
        if (has(p, OX_SES_HAVE_LINKING))
            w_pgi(w, OX_SES_PGI_LINKING, p, w_linking);
        if (has(p, OX_SES_HAVE_ACTIVITY_ID))
            w_pi(w, OX_SES_PI_ACTIVITY_ID, p->activity_id.p, p->activity_id.len);
        if (has(p, OX_SES_HAVE_SERIAL))
            w_serial(w, OX_SES_PI_SERIAL, p->serial);
        w_enclosure(w, p);
        w_user_data(w, p);
        break;
    case OX_SES_K_AI:
    case OX_SES_K_AD:
    case OX_SES_K_ED:
        if (has(p, OX_SES_HAVE_REASON))
            w_pi_u8(w, OX_SES_PI_REASON, p->reason);
        w_enclosure(w, p);
        w_user_data(w, p);
        break;
    case OX_SES_K_DN:
    case OX_SES_K_NF:
    case OX_SES_K_AIA:
    case OX_SES_K_ADA:
    case OX_SES_K_ER:
    case OX_SES_K_CDO:
        w_enclosure(w, p);
        w_user_data(w, p);
        break;
    case OX_SES_K_OA:
        if (has(p, OX_SES_HAVE_VERSION))
            w_pi_u8(w, OX_SES_PI_VERSION, p->version);
        break;
    case OX_SES_K_AA:
    case OX_SES_K_NONE:
    case OX_SES_K_COUNT: break;
    }
}

static const uint8_t kind_si[OX_SES_K_COUNT] = {
    [OX_SES_K_CN] = OX_SES_SI_CN,   [OX_SES_K_AC] = OX_SES_SI_AC,   [OX_SES_K_RF] = OX_SES_SI_RF,
    [OX_SES_K_FN] = OX_SES_SI_FN,   [OX_SES_K_DN] = OX_SES_SI_DN,   [OX_SES_K_NF] = OX_SES_SI_NF,
    [OX_SES_K_AB] = OX_SES_SI_AB,   [OX_SES_K_AA] = OX_SES_SI_AA,   [OX_SES_K_GT] = OX_SES_SI_GT,
    [OX_SES_K_PT] = OX_SES_SI_PT,   [OX_SES_K_DT] = OX_SES_SI_DT,   [OX_SES_K_MIP] = OX_SES_SI_MIP,
    [OX_SES_K_MIA] = OX_SES_SI_MIA, [OX_SES_K_AS] = OX_SES_SI_AS,   [OX_SES_K_AR] = OX_SES_SI_AR,
    [OX_SES_K_AI] = OX_SES_SI_AI,   [OX_SES_K_AIA] = OX_SES_SI_AIA, [OX_SES_K_AD] = OX_SES_SI_AD,
    [OX_SES_K_ADA] = OX_SES_SI_ADA, [OX_SES_K_AE] = OX_SES_SI_AE,   [OX_SES_K_AEA] = OX_SES_SI_AEA,
    [OX_SES_K_ER] = OX_SES_SI_ER,   [OX_SES_K_ED] = OX_SES_SI_ED,   [OX_SES_K_CDO] = OX_SES_SI_CDO,
    [OX_SES_K_OA] = OX_SES_SI_OA,
};

const char *ox_ses_kind_name(ox_ses_kind k)
{
    static const char *const names[OX_SES_K_COUNT] = {
        [OX_SES_K_NONE] = "NONE", [OX_SES_K_CN] = "CN",   [OX_SES_K_AC] = "AC",
        [OX_SES_K_RF] = "RF",     [OX_SES_K_FN] = "FN",   [OX_SES_K_DN] = "DN",
        [OX_SES_K_NF] = "NF",     [OX_SES_K_AB] = "AB",   [OX_SES_K_AA] = "AA",
        [OX_SES_K_GT] = "GT",     [OX_SES_K_PT] = "PT",   [OX_SES_K_DT] = "DT",
        [OX_SES_K_MIP] = "MIP",   [OX_SES_K_MIA] = "MIA", [OX_SES_K_AS] = "AS",
        [OX_SES_K_AR] = "AR",     [OX_SES_K_AI] = "AI",   [OX_SES_K_AIA] = "AIA",
        [OX_SES_K_AD] = "AD",     [OX_SES_K_ADA] = "ADA", [OX_SES_K_AE] = "AE",
        [OX_SES_K_AEA] = "AEA",   [OX_SES_K_ER] = "ER",   [OX_SES_K_ED] = "ED",
        [OX_SES_K_CDO] = "CDO",   [OX_SES_K_OA] = "OA",
    };
    return (unsigned)k < OX_SES_K_COUNT && names[k] ? names[k] : "?";
}

/* Field sizes the encoder refuses to exceed (what the decoder accepts). */
static bool fields_ok(const ox_ses_spdu *p)
{
    if (p->calling_ssel.len > OX_SES_MAX_SSEL || p->called_ssel.len > OX_SES_MAX_SSEL)
        return false;
    if (has(p, OX_SES_HAVE_ACTIVITY_ID) &&
        (p->activity_id.len == 0 || p->activity_id.len > OX_SES_MAX_ACT_ID))
        return false;
    if (p->old_activity_id.len > OX_SES_MAX_ACT_ID)
        return false;
    if (p->called_ref.len > OX_SES_MAX_REF || p->calling_ref.len > OX_SES_MAX_REF ||
        p->common_ref.len > OX_SES_MAX_REF || p->add_ref.len > OX_SES_MAX_REF)
        return false;
    if ((has(p, OX_SES_HAVE_SERIAL) && p->serial > OX_SES_MAX_SERIAL) ||
        (has(p, OX_SES_HAVE_INITIAL_SN) && p->initial_sn > OX_SES_MAX_SERIAL))
        return false;
    if (p->kind == OX_SES_K_CN && has(p, OX_SES_HAVE_USER_DATA) &&
        p->user_data.len > (p->extended_ud ? OX_SES_MAX_CN_EXT_UD : OX_SES_MAX_CN_UD))
        return false;
    if (p->extended_ud && p->kind != OX_SES_K_CN)
        return false;
    return true;
}

int ox_ses_pdu_encode(const ox_ses_spdu *pdu, ox_buf *out)
{
    if (!pdu || pdu->kind <= OX_SES_K_NONE || pdu->kind >= OX_SES_K_COUNT || !fields_ok(pdu))
        return OX_E_ARG;
    wr c = {NULL, 0};
    w_params(&c, pdu);
    if (c.n > 65535)
        return OX_E_ARG;
    size_t total = 1 + len_size(c.n) + c.n;
    if (pdu->kind == OX_SES_K_DT)
        total += pdu->user_data.len;
    if (total > OX_SES_MAX_SPDU)
        return OX_E_ARG;
    if (ox_buf_reserve(out, total))
        return out->err;
    wr w = {out, 0};
    w_u8(&w, kind_si[pdu->kind]);
    w_len(&w, c.n);
    w_params(&w, pdu);
    if (pdu->kind == OX_SES_K_DT)
        w_bytes(&w, pdu->user_data.p, pdu->user_data.len);
    return out->err;
}

/* ---- reading --------------------------------------------------------------------------- */

typedef struct rd {
    const uint8_t *base, *p, *end;
    size_t fail_at;
} rd;

static int bad(rd *r, const uint8_t *at)
{
    r->fail_at = (size_t)(at - r->base);
    return OX_E_PEER;
}

/* Reads a length (one octet, or 0xFF and two) bounded by what remains. */
static int r_len(rd *r, const uint8_t *end, size_t *len)
{
    if (r->p >= end)
        return bad(r, r->p);
    size_t v = *r->p++;
    if (v == 0xFF) {
        if ((size_t)(end - r->p) < 2)
            return bad(r, r->p);
        v = (size_t)r->p[0] << 8 | r->p[1];
        r->p += 2;
    }
    if (v > (size_t)(end - r->p))
        return bad(r, r->p);
    *len = v;
    return OX_OK;
}

static int r_serial(rd *r, const uint8_t *v, size_t len, uint32_t *out)
{
    if (len < 1 || len > 6)
        return bad(r, v);
    uint32_t x = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return bad(r, v + i);
        x = x * 10 + (uint32_t)(v[i] - '0');
    }
    if (x > OX_SES_MAX_SERIAL)
        return bad(r, v);
    *out = x;
    return OX_OK;
}

static int r_params(rd *r, const uint8_t *end, ox_ses_spdu *s, int group);

/* One PI (or PGI) with its value at v/len; |group| is the enclosing PGI (0 at top). */
static int r_one(rd *r, uint8_t code, const uint8_t *v, size_t len, ox_ses_spdu *s, int group)
{
#define NEED(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return bad(r, v);                                                                      \
    } while (0)
    if (group == OX_SES_PGI_LINKING) {
        ox_span sp = ox_span_of(v, len);
        switch (code) {
        case OX_SES_PI_CALLED_REF:
            NEED(len <= OX_SES_MAX_REF);
            s->called_ref = sp;
            break;
        case OX_SES_PI_CALLING_REF:
            NEED(len <= OX_SES_MAX_REF);
            s->calling_ref = sp;
            break;
        case OX_SES_PI_COMMON_REF:
            NEED(len <= OX_SES_MAX_REF);
            s->common_ref = sp;
            break;
        case OX_SES_PI_ADD_REF:
            NEED(len <= OX_SES_MAX_REF);
            s->add_ref = sp;
            break;
        case OX_SES_PI_ACTIVITY_ID:
            NEED(len >= 1 && len <= OX_SES_MAX_ACT_ID);
            s->old_activity_id = sp;
            break;
        default: break;
        }
        return OX_OK;
    }
    switch (code) {
    case OX_SES_PGI_CONN_ID:
        NEED(group == 0);
        s->conn_id = ox_span_of(v, len);
        s->have |= OX_SES_HAVE_CONN_ID;
        break;
    case OX_SES_PGI_CONN_ACCEPT:
    case OX_SES_PGI_LINKING: {
        NEED(group == 0);
        rd sub = *r;
        sub.p = v;
        int rc = r_params(&sub, v + len, s, code);
        if (rc) {
            r->fail_at = sub.fail_at;
            return rc;
        }
        if (code == OX_SES_PGI_LINKING)
            s->have |= OX_SES_HAVE_LINKING;
        break;
    }
    case OX_SES_PGI_USER_DATA:
    case OX_SES_PGI_EXT_UD:
        NEED(group == 0 && !(s->have & OX_SES_HAVE_USER_DATA));
        s->user_data = ox_span_of(v, len);
        s->extended_ud = code == OX_SES_PGI_EXT_UD;
        s->have |= OX_SES_HAVE_USER_DATA;
        break;
    case OX_SES_PI_PROTO_OPT:
        NEED(len == 1);
        s->proto_opt = v[0];
        s->have |= OX_SES_HAVE_PROTO_OPT;
        break;
    case OX_SES_PI_TSDU_MAX:
        NEED(len == 4);
        s->tsdu_max = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
        s->have |= OX_SES_HAVE_TSDU_MAX;
        break;
    case OX_SES_PI_VERSION:
        NEED(len == 1);
        s->version = v[0];
        s->have |= OX_SES_HAVE_VERSION;
        break;
    case OX_SES_PI_INITIAL_SN: {
        int rc = r_serial(r, v, len, &s->initial_sn);
        if (rc)
            return rc;
        s->have |= OX_SES_HAVE_INITIAL_SN;
        break;
    }
    case OX_SES_PI_TOKEN_SET:
        NEED(len == 1);
        s->token_set = v[0];
        s->have |= OX_SES_HAVE_TOKEN_SET;
        break;
    case OX_SES_PI_REQUIREMENTS:
        NEED(len == 2);
        s->requirements = (uint16_t)(v[0] << 8 | v[1]);
        s->have |= OX_SES_HAVE_REQUIREMENTS;
        break;
    case OX_SES_PI_CALLING_SSEL:
    case OX_SES_PI_CALLED_SSEL:
        NEED(len >= 1 && len <= OX_SES_MAX_SSEL);
        if (code == OX_SES_PI_CALLING_SSEL) {
            s->calling_ssel = ox_span_of(v, len);
            s->have |= OX_SES_HAVE_CALLING_SSEL;
        } else {
            s->called_ssel = ox_span_of(v, len);
            s->have |= OX_SES_HAVE_CALLED_SSEL;
        }
        break;
    case OX_SES_PI_TOKEN_ITEM:
        NEED(len == 1);
        s->token_item = v[0];
        s->have |= OX_SES_HAVE_TOKEN_ITEM;
        break;
    case OX_SES_PI_TRANSPORT_DC:
        NEED(len == 1);
        s->transport_dc = v[0];
        s->have |= OX_SES_HAVE_TRANSPORT_DC;
        break;
    case OX_SES_PI_SYNC_TYPE:
        NEED(len == 1);
        s->sync_type = v[0];
        s->have |= OX_SES_HAVE_SYNC_TYPE;
        break;
    case OX_SES_PI_SERIAL: {
        int rc = r_serial(r, v, len, &s->serial);
        if (rc)
            return rc;
        s->have |= OX_SES_HAVE_SERIAL;
        break;
    }
    case OX_SES_PI_ACTIVITY_ID:
        NEED(len >= 1 && len <= OX_SES_MAX_ACT_ID);
        s->activity_id = ox_span_of(v, len);
        s->have |= OX_SES_HAVE_ACTIVITY_ID;
        break;
    case OX_SES_PI_REASON:
        NEED(len >= 1);
        s->reason = v[0];
        s->reason_data = ox_span_of(v + 1, len - 1);
        s->have |= OX_SES_HAVE_REASON;
        break;
    case OX_SES_PI_DATA_OVERFL:
        NEED(len == 1);
        s->data_overflow = v[0];
        s->have |= OX_SES_HAVE_DATA_OVERFL;
        break;
    case OX_SES_PI_ENCLOSURE:
        NEED(len == 1);
        s->enclosure = v[0];
        s->have |= OX_SES_HAVE_ENCLOSURE;
        break;
    case OX_SES_PI_REFLECT:
        s->reflect = ox_span_of(v, len);
        s->have |= OX_SES_HAVE_REFLECT;
        break;
    default: break; /* 8.2.7: unknown parameters are ignored */
    }
    return OX_OK;
#undef NEED
}

static int r_params(rd *r, const uint8_t *end, ox_ses_spdu *s, int group)
{
    while (r->p < end) {
        uint8_t code = *r->p++;
        size_t len;
        int rc = r_len(r, end, &len);
        if (rc)
            return rc;
        const uint8_t *v = r->p;
        r->p += len;
        if ((rc = r_one(r, code, v, len, s, group)) != 0)
            return rc;
    }
    return OX_OK;
}

static bool is_cat2(uint8_t si)
{
    switch (si) {
    case OX_SES_SI_DT:
    case OX_SES_SI_MIP:
    case OX_SES_SI_MIA:
    case OX_SES_SI_AS:
    case OX_SES_SI_AR:
    case OX_SES_SI_AI:
    case OX_SES_SI_AIA:
    case OX_SES_SI_AD:
    case OX_SES_SI_ADA:
    case OX_SES_SI_AE:
    case OX_SES_SI_AEA:
    case OX_SES_SI_ER:
    case OX_SES_SI_ED: return true;
    default: return false;
    }
}

static ox_ses_kind cat2_kind(uint8_t si)
{
    switch (si) {
    case OX_SES_SI_DT: return OX_SES_K_DT;
    case OX_SES_SI_MIP: return OX_SES_K_MIP;
    case OX_SES_SI_MIA: return OX_SES_K_MIA;
    case OX_SES_SI_AS: return OX_SES_K_AS;
    case OX_SES_SI_AR: return OX_SES_K_AR;
    case OX_SES_SI_AI: return OX_SES_K_AI;
    case OX_SES_SI_AIA: return OX_SES_K_AIA;
    case OX_SES_SI_AD: return OX_SES_K_AD;
    case OX_SES_SI_ADA: return OX_SES_K_ADA;
    case OX_SES_SI_AE: return OX_SES_K_AE;
    case OX_SES_SI_AEA: return OX_SES_K_AEA;
    case OX_SES_SI_ER: return OX_SES_K_ER;
    case OX_SES_SI_ED: return OX_SES_K_ED;
    default: return OX_SES_K_NONE;
    }
}

static ox_ses_kind cat1_kind(uint8_t si)
{
    switch (si) {
    case OX_SES_SI_CN: return OX_SES_K_CN;
    case OX_SES_SI_AC: return OX_SES_K_AC;
    case OX_SES_SI_RF: return OX_SES_K_RF;
    case OX_SES_SI_FN: return OX_SES_K_FN;
    case OX_SES_SI_DN: return OX_SES_K_DN;
    case OX_SES_SI_NF: return OX_SES_K_NF;
    case OX_SES_SI_AB: return OX_SES_K_AB;
    case OX_SES_SI_AA: return OX_SES_K_AA;
    case OX_SES_SI_CDO: return OX_SES_K_CDO;
    case OX_SES_SI_OA: return OX_SES_K_OA;
    case OX_SES_SI_GT: return OX_SES_K_GT; /* alone: category 0 */
    case OX_SES_SI_PT: return OX_SES_K_PT;
    default: return OX_SES_K_NONE;
    }
}

int ox_ses_pdu_decode(ox_span tsdu, ox_ses_spdu pdus[2], size_t *n, size_t *offset)
{
    *n = 0;
    if (offset)
        *offset = 0;
    if (tsdu.len == 0)
        return OX_E_PEER;
    rd r = {tsdu.p, tsdu.p, tsdu.p + tsdu.len, 0};
    int rc = OX_OK;
    for (size_t i = 0; i < 2 && r.p < r.end; i++) {
        ox_ses_spdu *s = &pdus[i];
        memset(s, 0, sizeof *s);
        const uint8_t *start = r.p;
        uint8_t si = *r.p++;
        size_t li;
        if ((rc = r_len(&r, r.end, &li)) != 0)
            break;
        const uint8_t *pend = r.p + li;
        bool more = pend < r.end;
        if (i == 0) {
            if (more && (si == OX_SES_SI_GT || si == OX_SES_SI_PT))
                s->kind = si == OX_SES_SI_GT ? OX_SES_K_GT : OX_SES_K_PT; /* category 0 */
            else if (!more)
                s->kind = cat1_kind(si);
            /* else: a category 1 SPDU with trailing octets, or a lone category 2: bad */
        } else {
            s->kind = cat2_kind(si);
        }
        if (s->kind == OX_SES_K_NONE) {
            rc = bad(&r, start);
            break;
        }
        if ((rc = r_params(&r, pend, s, 0)) != 0)
            break;
        if (s->kind == OX_SES_K_DT) { /* 8.3.11: user information follows, outside LI */
            s->user_data = ox_span_of(r.p, (size_t)(r.end - r.p));
            s->have |= OX_SES_HAVE_USER_DATA;
            r.p = r.end;
        }
        *n = i + 1;
        if (i == 0 && more && !is_cat2(r.p[0])) {
            rc = bad(&r, r.p);
            break;
        }
    }
    if (rc == OX_OK && (r.p < r.end || *n == 0)) /* a third SPDU, or an empty TSDU */
        rc = bad(&r, r.p);
    if (rc && offset)
        *offset = r.fail_at;
    return rc;
}
