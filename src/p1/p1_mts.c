/* p1_mts.c - MTS-APDU: Message, Probe and Report transfer envelopes and contents
 *
 * Why: the MTA's unit of transfer. Envelopes are SETs: members may come in any order, each at
 *      most once, unknown members are refused (X.411 defines no extension marker in them; new
 *      things travel as ExtensionFields, which are kept byte-exact). The content is never
 *      copied: it is a view into the input, and encode_head / decode_head let the caller
 *      stream it.
 * Limits: ox_p1_limits (recipients, trace elements, extensions).
 * Diagnostics: OX_E_PEER / OX_E_LIMIT with ox_p1_diag.
 * Standards: X.411 (1999) MTAAbstractService MTS-APDU, MessageTransferEnvelope,
 *      ProbeTransferEnvelope, ReportTransferEnvelope, ReportTransferContent; X.411 (1984)
 *      UserMPDU, ProbeMPDU, DeliveryReportMPDU (same tags, no extensions). */
#include <string.h>

#include "p1_int.h"

#define TAG_SET   OX_BER_UNIV(OX_BER_T_SET)
#define TAG_SEQ   OX_BER_UNIV(OX_BER_T_SEQUENCE)
#define TAG_OCTS  OX_BER_UNIV(OX_BER_T_OCTET_STRING) /* Content ::= OCTET STRING */
#define TAG_OID   OX_BER_UNIV(OX_BER_T_OID)
#define TAG_PRINT OX_BER_UNIV(OX_BER_T_PRINTABLE_STRING)
/* PerMessageTransferFields / PerProbeTransferFields context tags */
#define TAG_ENV_DEFERRED   OX_BER_CTX(0) /* deferred-delivery-time [0] (message) */
#define TAG_ENV_CONTENTLEN OX_BER_CTX(0) /* content-length [0] (probe) */
#define TAG_ENV_BILATERAL  OX_BER_CTX(1) /* per-domain-bilateral-information [1] */
#define TAG_ENV_RECIPIENTS OX_BER_CTX(2) /* per-recipient-fields [2] */
#define TAG_ENV_EXTENSIONS OX_BER_CTX(3) /* extensions [3] */
/* PerRecipientMessageTransferFields */
#define TAG_PR_ORIG_NUMBER OX_BER_CTX(0)
#define TAG_PR_INDICATORS  OX_BER_CTX(1)
#define TAG_PR_EXPLICIT    OX_BER_CTX(2)
#define TAG_PR_EXTENSIONS  OX_BER_CTX(3)
/* ReportTransferEnvelope extensions [1]; ReportTransferContent */
#define TAG_REP_ENV_EXTENSIONS OX_BER_CTX(1)
#define TAG_REP_RECIPIENTS     OX_BER_CTX(0)
#define TAG_REP_RETURNED       OX_BER_CTX(1)
#define TAG_REP_ADDITIONAL     OX_BER_CTX(2)
#define TAG_REP_EXTENSIONS     OX_BER_CTX(3)
/* PerRecipientReportTransferFields */
#define TAG_RR_ACTUAL      OX_BER_CTX(0)
#define TAG_RR_ORIG_NUMBER OX_BER_CTX(1)
#define TAG_RR_INDICATORS  OX_BER_CTX(2)
#define TAG_RR_LAST_TRACE  OX_BER_CTX(3)
#define TAG_RR_INTENDED    OX_BER_CTX(4)
#define TAG_RR_SUPPL       OX_BER_CTX(5)
#define TAG_RR_EXTENSIONS  OX_BER_CTX(6)
/* LastTraceInformation ::= SET { arrival-time [0], converted EITs, report-type [1] } with
 * ReportType ::= CHOICE { delivery [0] DeliveryReport, non-delivery [1] NonDeliveryReport } */
#define TAG_LT_ARRIVAL     OX_BER_CTX(0)
#define TAG_LT_REPORT_TYPE OX_BER_CTX(1)
#define TAG_RT_DELIVERY    OX_BER_CTX(0)
#define TAG_RT_NONDELIVERY OX_BER_CTX(1)
#define TAG_DR_TIME        OX_BER_CTX(0) /* message-delivery-time [0] */
#define TAG_DR_USER_TYPE   OX_BER_CTX(1) /* type-of-MTS-user [1] DEFAULT public */
#define TAG_NDR_REASON     OX_BER_CTX(0)
#define TAG_NDR_DIAG       OX_BER_CTX(1)

/* ---- lists ---- */
void ox_p1_message_init(ox_p1_message *m, const ox_alloc *alloc)
{
    memset(m, 0, sizeof(*m));
    m->alloc = alloc;
}

void ox_p1_message_free(ox_p1_message *m)
{
    for (uint32_t i = 0; i < m->n_rcpt; i++)
        p1_exts_free(m->alloc, &m->rcpt[i].exts);
    ox_free(m->alloc, m->rcpt);
    p1_traces_free(m->alloc, &m->trace);
    p1_exts_free(m->alloc, &m->exts);
    const ox_alloc *a = m->alloc;
    memset(m, 0, sizeof(*m));
    m->alloc = a;
}

static int add_rcpt(ox_p1_message *m, const ox_p1_recipient *r, uint32_t max)
{
    int rc = p1_vec_push(m->alloc, (void **)&m->rcpt, &m->n_rcpt, &m->cap_rcpt, sizeof(*r), max);
    if (rc)
        return rc;
    m->rcpt[m->n_rcpt - 1] = *r;
    return 0;
}

int ox_p1_message_add_recipient(ox_p1_message *m, const ox_p1_recipient *r)
{
    return add_rcpt(m, r, OX_P1_UB_RECIPIENTS);
}

int ox_p1_message_add_trace(ox_p1_message *m, const ox_p1_trace *t)
{
    return ox_p1_traces_add(&m->trace, m->alloc, t, OX_P1_UB_TRANSFERS);
}

bool ox_p1_message_trace_has(const ox_p1_message *m, const ox_p1_gdi *gdi)
{
    for (uint32_t i = 0; i < m->trace.n; i++)
        if (m->trace.v[i].routing_action == 0 && ox_p1_gdi_eq(&m->trace.v[i].gdi, gdi))
            return true;
    return false;
}

void ox_p1_report_init(ox_p1_report *r, const ox_alloc *alloc)
{
    memset(r, 0, sizeof(*r));
    r->alloc = alloc;
}

void ox_p1_report_free(ox_p1_report *r)
{
    for (uint32_t i = 0; i < r->n_rcpt; i++)
        p1_exts_free(r->alloc, &r->rcpt[i].exts);
    ox_free(r->alloc, r->rcpt);
    p1_traces_free(r->alloc, &r->trace);
    p1_traces_free(r->alloc, &r->subject_trace);
    p1_exts_free(r->alloc, &r->exts);
    p1_exts_free(r->alloc, &r->content_exts);
    const ox_alloc *a = r->alloc;
    memset(r, 0, sizeof(*r));
    r->alloc = a;
}

static int add_rep_rcpt(ox_p1_report *r, const ox_p1_report_recipient *rr, uint32_t max)
{
    int rc = p1_vec_push(r->alloc, (void **)&r->rcpt, &r->n_rcpt, &r->cap_rcpt, sizeof(*rr), max);
    if (rc)
        return rc;
    r->rcpt[r->n_rcpt - 1] = *rr;
    return 0;
}

int ox_p1_report_add_recipient(ox_p1_report *r, const ox_p1_report_recipient *rr)
{
    return add_rep_rcpt(r, rr, OX_P1_UB_RECIPIENTS);
}

int ox_p1_report_for(ox_p1_report *r, const ox_p1_message *subject, const ox_p1_mtsid *id,
                     const ox_p1_trace *here)
{
    r->id = *id;
    r->destination = subject->originator;
    r->subject_id = subject->id;
    r->has_content_type = true;
    r->content_type = subject->content_type;
    memcpy(r->content_id, subject->content_id, sizeof(r->content_id));
    r->orig_eits = subject->orig_eits;
    int rc = ox_p1_traces_add(&r->trace, r->alloc, here, OX_P1_UB_TRANSFERS);
    for (uint32_t i = 0; !rc && i < subject->trace.n; i++) {
        r->has_subject_trace = true;
        rc =
            ox_p1_traces_add(&r->subject_trace, r->alloc, &subject->trace.v[i], OX_P1_UB_TRANSFERS);
    }
    return rc;
}

int ox_p1_report_recipient_for(ox_p1_report_recipient *rr, const ox_p1_message *subject, uint32_t i,
                               bool delivered, ox_p1_time when, int reason, int diagnostic)
{
    if (i >= subject->n_rcpt)
        return OX_E_ARG;
    memset(rr, 0, sizeof(*rr));
    const ox_p1_recipient *r = &subject->rcpt[i];
    rr->actual = r->name;
    rr->orig_number = r->orig_number;
    rr->indicators = r->indicators;
    rr->arrival = when;
    rr->delivered = delivered;
    rr->delivery_time = when;
    rr->reason = reason;
    rr->diagnostic = diagnostic;
    return 0;
}

/* ---- Message / probe envelope ---- */
static int read_recipient(const p1_dec *d, ox_ber_rd *rd, ox_p1_recipient *r)
{
    memset(r, 0, sizeof(*r));
    r->explicit_conversion = -1;
    ox_ber_rd s;
    const uint8_t *at0 = rd->p;
    P1_TRY(d, ox_ber_enter(rd, TAG_SET, &s));
    uint32_t seen = 0;
    int rc = 0;
    while (!rc && !ox_ber_at_end(&s)) {
        ox_ber_tlv t;
        const uint8_t *at = s.p;
        int64_t v;
        uint32_t m;
        P1_TRY(d, ox_ber_peek(&s, &t));
        if (t.tag == OX_P1_TAG_ORNAME) {
            if (p1_seen(&seen, 0))
                return P1_BAD(d, &s, at, OX_P1_R_DUPLICATE);
            rc = p1_read_orname(d, &s, OX_P1_TAG_ORNAME, &r->name);
        } else if (t.tag == TAG_PR_ORIG_NUMBER) {
            if (p1_seen(&seen, 1))
                return P1_BAD(d, &s, at, OX_P1_R_DUPLICATE);
            P1_TRY(d, ox_ber_read_int_range(&s, t.tag, 1, OX_P1_UB_RECIPIENTS, &v));
            r->orig_number = (int32_t)v;
        } else if (t.tag == TAG_PR_INDICATORS) {
            if (p1_seen(&seen, 2))
                return P1_BAD(d, &s, at, OX_P1_R_DUPLICATE);
            rc = p1_read_bits(d, &s, t.tag, &m);
            r->indicators = (uint16_t)m;
        } else if (t.tag == TAG_PR_EXPLICIT) {
            if (p1_seen(&seen, 3))
                return P1_BAD(d, &s, at, OX_P1_R_DUPLICATE);
            P1_TRY(d, ox_ber_read_int_range(&s, t.tag, 0, OX_P1_UB_INTEGER_OPTIONS, &v));
            r->explicit_conversion = (int32_t)v;
        } else if (t.tag == TAG_PR_EXTENSIONS) {
            if (p1_seen(&seen, 4))
                return P1_BAD(d, &s, at, OX_P1_R_DUPLICATE);
            rc = p1_read_exts(d, &s, t.tag, &r->exts);
        } else {
            return P1_BAD(d, &s, at, OX_P1_R_UNKNOWN);
        }
    }
    if (rc) {
        p1_exts_free(d->alloc, &r->exts);
        return rc;
    }
    if ((seen & 7u) != 7u) {
        p1_exts_free(d->alloc, &r->exts);
        return P1_BAD(d, rd, at0, OX_P1_R_MISSING);
    }
    P1_TRY(d, ox_ber_leave(rd, &s));
    return 0;
}

/* Reads the members of a MessageTransferEnvelope or ProbeTransferEnvelope from |s| (the
 * SET's inner reader). */
static int read_envelope(const p1_dec *d, ox_ber_rd *s, const uint8_t *at0, ox_p1_message *m)
{
    uint32_t seen = 0;
    int rc = 0;
    m->priority = OX_P1_PRIO_NORMAL;
    while (!ox_ber_at_end(s)) {
        ox_ber_tlv t;
        const uint8_t *at = s->p;
        int64_t v;
        uint32_t bits;
        unsigned bit;
        P1_TRY(d, ox_ber_peek(s, &t));
        if (t.tag == OX_P1_TAG_MTSID)
            bit = 0;
        else if (t.tag == OX_P1_TAG_ORNAME)
            bit = 1;
        else if (t.tag == OX_P1_TAG_EITS)
            bit = 2;
        else if (t.tag == OX_P1_TAG_CONTENT_TYPE || t.tag == TAG_OID)
            bit = 3;
        else if (t.tag == OX_P1_TAG_CONTENT_ID)
            bit = 4;
        else if (t.tag == OX_P1_TAG_PRIORITY && !m->is_probe)
            bit = 5;
        else if (t.tag == OX_P1_TAG_PMI)
            bit = 6;
        else if (t.tag == TAG_ENV_DEFERRED)
            bit = 7;
        else if (t.tag == TAG_ENV_BILATERAL)
            bit = 8;
        else if (t.tag == OX_P1_TAG_TRACE)
            bit = 9;
        else if (t.tag == TAG_ENV_EXTENSIONS)
            bit = 10;
        else if (t.tag == TAG_ENV_RECIPIENTS)
            bit = 11;
        else
            return P1_BAD(d, s, at, OX_P1_R_UNKNOWN);
        if (p1_seen(&seen, bit))
            return P1_BAD(d, s, at, OX_P1_R_DUPLICATE);
        switch (bit) {
        case 0: rc = p1_read_mtsid(d, s, &m->id); break;
        case 1: rc = p1_read_orname(d, s, OX_P1_TAG_ORNAME, &m->originator); break;
        case 2: rc = p1_read_eits(d, s, &m->orig_eits); break;
        case 3: rc = p1_read_content_type(d, s, &m->content_type); break;
        case 4: {
            const uint8_t *a = s->p;
            rc = ox_ber_read_cstr(s, OX_P1_TAG_CONTENT_ID, OX_BER_STR_PRINTABLE, m->content_id,
                                  sizeof(m->content_id));
            if (rc == OX_E_LIMIT || (!rc && !m->content_id[0]))
                return P1_BAD(d, s, a, OX_P1_R_VALUE);
            rc = p1_ber(d, rc);
            break;
        }
        case 5:
            P1_TRY(d, ox_ber_read_int_range(s, OX_P1_TAG_PRIORITY, 0, 2, &v));
            m->priority = (int)v;
            break;
        case 6:
            rc = p1_read_bits(d, s, OX_P1_TAG_PMI, &bits);
            m->pmi = (uint16_t)bits;
            break;
        case 7:
            if (m->is_probe) {
                m->has_content_length = true;
                P1_TRY(d, ox_ber_read_int_range(s, TAG_ENV_CONTENTLEN, 0, INT32_MAX, &v));
                m->content_length = v;
            } else {
                m->has_deferred = true;
                P1_TRY(d, ox_p1_time_read(s, TAG_ENV_DEFERRED, &m->deferred));
            }
            break;
        case 8:
            P1_TRY(d, ox_ber_expect(s, TAG_ENV_BILATERAL, 1, &t));
            m->bilateral = t.value;
            break;
        case 9: rc = p1_read_trace(d, s, OX_P1_TAG_TRACE, false, &m->trace); break;
        case 10: rc = p1_read_exts(d, s, TAG_ENV_EXTENSIONS, &m->exts); break;
        default: {
            ox_ber_rd l;
            P1_TRY(d, ox_ber_enter(s, TAG_ENV_RECIPIENTS, &l));
            while (!rc && !ox_ber_at_end(&l)) {
                ox_p1_recipient r;
                const uint8_t *ra = l.p;
                if ((rc = read_recipient(d, &l, &r)) != 0)
                    break;
                rc = add_rcpt(m, &r, d->lim.max_recipients);
                if (rc) {
                    p1_exts_free(d->alloc, &r.exts);
                    if (rc == OX_E_LIMIT)
                        rc = P1_BAD(d, &l, ra, OX_P1_R_TOO_MANY);
                }
            }
            if (!rc && !m->n_rcpt)
                rc = P1_BAD(d, s, at, OX_P1_R_MISSING); /* SIZE (1..ub-recipients) */
            if (!rc)
                rc = p1_ber(d, ox_ber_leave(s, &l));
            break;
        }
        }
        if (rc)
            return rc;
    }
    /* mandatory: identifier, originator, content type, trace, recipients */
    if ((seen & 0xa0bu) != 0xa0bu)
        return P1_BAD(d, s, at0, OX_P1_R_MISSING);
    return 0;
}

static void put_recipient(ox_buf *w, const ox_p1_recipient *r, ox_p1_version v)
{
    size_t m = ox_ber_open(w, TAG_SET);
    ox_p1_orname_encode(w, &r->name, v);
    if (r->orig_number < 1 || r->orig_number > OX_P1_UB_RECIPIENTS)
        p1_wr_fail(w, OX_E_ARG);
    ox_ber_put_int(w, TAG_PR_ORIG_NUMBER, r->orig_number);
    p1_put_bits(w, TAG_PR_INDICATORS, r->indicators, 8); /* SIZE (8..ub-bit-options) */
    if (r->explicit_conversion >= 0)
        ox_ber_put_int(w, TAG_PR_EXPLICIT, r->explicit_conversion);
    if (r->exts.n && v == OX_P1_1984)
        p1_wr_fail(w, OX_E_UNSUPPORTED);
    p1_put_exts(w, TAG_PR_EXTENSIONS, &r->exts);
    ox_ber_close(w, m);
}

/* Writes the envelope members in DER order: universal, application, context. */
static void put_envelope_members(ox_buf *w, const ox_p1_message *m, ox_p1_version v)
{
    if (m->content_type.extended)
        p1_put_content_type(w, &m->content_type, v);
    ox_p1_orname_encode(w, &m->originator, v);
    ox_p1_mtsid_encode(w, &m->id);
    if (m->orig_eits.present)
        p1_put_eits(w, &m->orig_eits, v);
    if (!m->content_type.extended)
        p1_put_content_type(w, &m->content_type, v);
    if (!m->is_probe && m->priority != OX_P1_PRIO_NORMAL) {
        if (m->priority < 0 || m->priority > 2)
            p1_wr_fail(w, OX_E_ARG);
        ox_ber_put_int(w, OX_P1_TAG_PRIORITY, m->priority);
    }
    if (m->pmi)
        p1_put_bits(w, OX_P1_TAG_PMI, m->pmi, 0);
    p1_put_trace(w, OX_P1_TAG_TRACE, &m->trace, false, v);
    if (m->content_id[0])
        p1_put_str(w, OX_P1_TAG_CONTENT_ID, OX_BER_STR_PRINTABLE, m->content_id,
                   OX_P1_UB_CONTENT_ID);
    if (m->is_probe && m->has_content_length)
        ox_ber_put_int(w, TAG_ENV_CONTENTLEN, m->content_length);
    if (!m->is_probe && m->has_deferred)
        ox_p1_time_put(w, TAG_ENV_DEFERRED, m->deferred);
    if (m->bilateral.len) {
        size_t b = ox_ber_open(w, TAG_ENV_BILATERAL);
        ox_ber_put_raw(w, m->bilateral);
        ox_ber_close(w, b);
    }
    if (!m->n_rcpt)
        p1_wr_fail(w, OX_E_ARG);
    size_t r = ox_ber_open(w, TAG_ENV_RECIPIENTS);
    for (uint32_t i = 0; i < m->n_rcpt; i++)
        put_recipient(w, &m->rcpt[i], v);
    ox_ber_close(w, r);
    if (m->exts.n && v == OX_P1_1984)
        p1_wr_fail(w, OX_E_UNSUPPORTED);
    p1_put_exts(w, TAG_ENV_EXTENSIONS, &m->exts);
}

int ox_p1_message_encode(ox_buf *w, const ox_p1_message *m, ox_p1_version v)
{
    if (m->is_probe) {
        /* Probe ::= ProbeTransferEnvelope: [2] IMPLICIT SET */
        size_t a = ox_ber_open(w, OX_P1_TAG_APDU_PROBE);
        put_envelope_members(w, m, v);
        ox_ber_close(w, a);
        return ox_ber_wr_status(w);
    }
    /* [0] IMPLICIT Message ::= SEQUENCE { envelope SET, content OCTET STRING } */
    size_t a = ox_ber_open(w, OX_P1_TAG_APDU_MESSAGE);
    size_t e = ox_ber_open(w, TAG_SET);
    put_envelope_members(w, m, v);
    ox_ber_close(w, e);
    ox_ber_put_octets(w, TAG_OCTS, m->content);
    ox_ber_close(w, a);
    return ox_ber_wr_status(w);
}

int ox_p1_message_encode_head(ox_buf *w, const ox_p1_message *m, ox_p1_version v,
                              uint64_t content_len)
{
    if (m->is_probe || content_len > SIZE_MAX / 2)
        return OX_E_ARG;
    ox_buf env;
    ox_buf_init(&env, w->alloc, NULL, 0);
    size_t e = ox_ber_open(&env, TAG_SET);
    put_envelope_members(&env, m, v);
    ox_ber_close(&env, e);
    if (env.err) {
        int rc = env.err;
        ox_buf_free(&env);
        p1_wr_fail(w, rc);
        return rc;
    }
    ox_buf hdr;
    uint8_t tmp[16];
    ox_buf_init(&hdr, NULL, tmp, sizeof(tmp));
    ox_ber_put_header(&hdr, TAG_OCTS, false, (size_t)content_len);
    ox_ber_put_header(w, OX_P1_TAG_APDU_MESSAGE, true, env.len + hdr.len + (size_t)content_len);
    ox_buf_append(w, env.p, env.len);
    ox_buf_append(w, hdr.p, hdr.len);
    ox_buf_free(&env);
    ox_buf_free(&hdr);
    return ox_ber_wr_status(w);
}

/* ---- Report ---- */
static int read_last_trace(const p1_dec *d, ox_ber_rd *rd, ox_p1_report_recipient *r)
{
    ox_ber_rd s;
    const uint8_t *at0 = rd->p;
    P1_TRY(d, ox_ber_enter(rd, TAG_RR_LAST_TRACE, &s));
    uint32_t seen = 0;
    while (!ox_ber_at_end(&s)) {
        const uint8_t *at = s.p;
        int rc;
        if (ox_ber_peek_tag(&s, TAG_LT_ARRIVAL)) {
            if (p1_seen(&seen, 0))
                return P1_BAD(d, &s, at, OX_P1_R_DUPLICATE);
            P1_TRY(d, ox_p1_time_read(&s, TAG_LT_ARRIVAL, &r->arrival));
        } else if (ox_ber_peek_tag(&s, OX_P1_TAG_EITS)) {
            if (p1_seen(&seen, 1))
                return P1_BAD(d, &s, at, OX_P1_R_DUPLICATE);
            if ((rc = p1_read_eits(d, &s, &r->converted)) != 0)
                return rc;
        } else if (ox_ber_peek_tag(&s, TAG_LT_REPORT_TYPE)) {
            if (p1_seen(&seen, 2))
                return P1_BAD(d, &s, at, OX_P1_R_DUPLICATE);
            ox_ber_rd c, x;
            int64_t v;
            P1_TRY(d, ox_ber_enter(&s, TAG_LT_REPORT_TYPE, &c));
            if (ox_ber_peek_tag(&c, TAG_RT_DELIVERY)) {
                r->delivered = true;
                P1_TRY(d, ox_ber_enter(&c, TAG_RT_DELIVERY, &x));
                P1_TRY(d, ox_p1_time_read(&x, TAG_DR_TIME, &r->delivery_time));
                if (ox_ber_peek_tag(&x, TAG_DR_USER_TYPE)) {
                    P1_TRY(d, ox_ber_read_int_range(&x, TAG_DR_USER_TYPE, 0,
                                                    OX_P1_UB_MTS_USER_TYPES, &v));
                    r->type_of_user = (int)v;
                }
            } else {
                P1_TRY(d, ox_ber_enter(&c, TAG_RT_NONDELIVERY, &x));
                P1_TRY(d, ox_ber_read_int_range(&x, TAG_NDR_REASON, 0, OX_P1_UB_REASON_CODES, &v));
                r->reason = (int)v;
                r->diagnostic = -1;
                if (ox_ber_peek_tag(&x, TAG_NDR_DIAG)) {
                    P1_TRY(d, ox_ber_read_int_range(&x, TAG_NDR_DIAG, 0, OX_P1_UB_DIAGNOSTIC_CODES,
                                                    &v));
                    r->diagnostic = (int)v;
                }
            }
            if (!ox_ber_at_end(&x))
                return P1_BAD(d, &x, x.p, OX_P1_R_UNKNOWN);
            P1_TRY(d, ox_ber_leave(&c, &x));
            P1_TRY(d, ox_ber_leave(&s, &c));
        } else {
            return P1_BAD(d, &s, at, OX_P1_R_UNKNOWN);
        }
    }
    if ((seen & 5u) != 5u)
        return P1_BAD(d, rd, at0, OX_P1_R_MISSING);
    P1_TRY(d, ox_ber_leave(rd, &s));
    return 0;
}

static int read_rep_rcpt(const p1_dec *d, ox_ber_rd *rd, ox_p1_report_recipient *r)
{
    memset(r, 0, sizeof(*r));
    r->diagnostic = -1;
    ox_ber_rd s;
    const uint8_t *at0 = rd->p;
    P1_TRY(d, ox_ber_enter(rd, TAG_SET, &s));
    uint32_t seen = 0;
    int rc = 0;
    while (!rc && !ox_ber_at_end(&s)) {
        ox_ber_tlv t;
        const uint8_t *at = s.p;
        int64_t v;
        uint32_t m;
        P1_TRY(d, ox_ber_peek(&s, &t));
        unsigned bit =
            OX_BER_TAG_CLASS(t.tag) == OX_BER_CLASS_CONTEXT ? OX_BER_TAG_NUMBER(t.tag) : 99;
        if (bit > 6)
            return P1_BAD(d, &s, at, OX_P1_R_UNKNOWN);
        if (p1_seen(&seen, bit))
            return P1_BAD(d, &s, at, OX_P1_R_DUPLICATE);
        switch (bit) {
        case 0: rc = p1_read_orname(d, &s, TAG_RR_ACTUAL, &r->actual); break;
        case 1:
            P1_TRY(d, ox_ber_read_int_range(&s, t.tag, 1, OX_P1_UB_RECIPIENTS, &v));
            r->orig_number = (int32_t)v;
            break;
        case 2:
            rc = p1_read_bits(d, &s, t.tag, &m);
            r->indicators = (uint16_t)m;
            break;
        case 3: rc = read_last_trace(d, &s, r); break;
        case 4:
            r->has_intended = true;
            rc = p1_read_orname(d, &s, TAG_RR_INTENDED, &r->intended);
            break;
        case 5:
            rc = ox_ber_read_cstr(&s, TAG_RR_SUPPL, OX_BER_STR_PRINTABLE, r->supplementary,
                                  sizeof(r->supplementary));
            if (rc == OX_E_LIMIT || (!rc && !r->supplementary[0]))
                return P1_BAD(d, &s, at, OX_P1_R_VALUE);
            rc = p1_ber(d, rc);
            break;
        default: rc = p1_read_exts(d, &s, TAG_RR_EXTENSIONS, &r->exts); break;
        }
    }
    if (!rc && (seen & 0xfu) != 0xfu)
        rc = P1_BAD(d, rd, at0, OX_P1_R_MISSING);
    if (!rc)
        rc = p1_ber(d, ox_ber_leave(rd, &s));
    if (rc)
        p1_exts_free(d->alloc, &r->exts);
    return rc;
}

static int read_report(const p1_dec *d, ox_ber_rd *rd, ox_p1_report *r)
{
    ox_ber_rd env, con;
    const uint8_t *at0 = rd->p;
    P1_TRY(d, ox_ber_enter(rd, TAG_SET, &env));
    uint32_t seen = 0;
    int rc = 0;
    while (!rc && !ox_ber_at_end(&env)) {
        const uint8_t *at = env.p;
        unsigned bit;
        if (ox_ber_peek_tag(&env, OX_P1_TAG_MTSID))
            bit = 0;
        else if (ox_ber_peek_tag(&env, OX_P1_TAG_ORNAME))
            bit = 1;
        else if (ox_ber_peek_tag(&env, OX_P1_TAG_TRACE))
            bit = 2;
        else if (ox_ber_peek_tag(&env, TAG_REP_ENV_EXTENSIONS))
            bit = 3;
        else
            return P1_BAD(d, &env, at, OX_P1_R_UNKNOWN);
        if (p1_seen(&seen, bit))
            return P1_BAD(d, &env, at, OX_P1_R_DUPLICATE);
        switch (bit) {
        case 0: rc = p1_read_mtsid(d, &env, &r->id); break;
        case 1: rc = p1_read_orname(d, &env, OX_P1_TAG_ORNAME, &r->destination); break;
        case 2: rc = p1_read_trace(d, &env, OX_P1_TAG_TRACE, false, &r->trace); break;
        default: rc = p1_read_exts(d, &env, TAG_REP_ENV_EXTENSIONS, &r->exts); break;
        }
    }
    if (rc)
        return rc;
    if ((seen & 7u) != 7u)
        return P1_BAD(d, rd, at0, OX_P1_R_MISSING);
    P1_TRY(d, ox_ber_leave(rd, &env));

    const uint8_t *at1 = rd->p;
    P1_TRY(d, ox_ber_enter(rd, TAG_SET, &con));
    seen = 0;
    while (!rc && !ox_ber_at_end(&con)) {
        ox_ber_tlv t;
        const uint8_t *at = con.p;
        unsigned bit;
        P1_TRY(d, ox_ber_peek(&con, &t));
        if (t.tag == OX_P1_TAG_MTSID)
            bit = 0;
        else if (t.tag == OX_P1_TAG_TRACE)
            bit = 1;
        else if (t.tag == OX_P1_TAG_EITS)
            bit = 2;
        else if (t.tag == OX_P1_TAG_CONTENT_TYPE || t.tag == TAG_OID)
            bit = 3;
        else if (t.tag == OX_P1_TAG_CONTENT_ID)
            bit = 4;
        else if (t.tag == TAG_REP_RETURNED)
            bit = 5;
        else if (t.tag == TAG_REP_ADDITIONAL)
            bit = 6;
        else if (t.tag == TAG_REP_EXTENSIONS)
            bit = 7;
        else if (t.tag == TAG_REP_RECIPIENTS)
            bit = 8;
        else
            return P1_BAD(d, &con, at, OX_P1_R_UNKNOWN);
        if (p1_seen(&seen, bit))
            return P1_BAD(d, &con, at, OX_P1_R_DUPLICATE);
        if (d->ver == OX_P1_1984 && (bit == 2 || bit == 3))
            return P1_BAD(d, &con, at, OX_P1_R_VERSION);
        switch (bit) {
        case 0: rc = p1_read_mtsid(d, &con, &r->subject_id); break;
        case 1:
            r->has_subject_trace = true;
            rc = p1_read_trace(d, &con, OX_P1_TAG_TRACE, false, &r->subject_trace);
            break;
        case 2: rc = p1_read_eits(d, &con, &r->orig_eits); break;
        case 3:
            r->has_content_type = true;
            rc = p1_read_content_type(d, &con, &r->content_type);
            break;
        case 4:
            rc = ox_ber_read_cstr(&con, OX_P1_TAG_CONTENT_ID, OX_BER_STR_PRINTABLE, r->content_id,
                                  sizeof(r->content_id));
            if (rc == OX_E_LIMIT || (!rc && !r->content_id[0]))
                return P1_BAD(d, &con, at, OX_P1_R_VALUE);
            rc = p1_ber(d, rc);
            break;
        case 5:
            r->has_returned_content = true;
            rc = p1_ber(d, ox_ber_read_octets_view(&con, TAG_REP_RETURNED, &r->returned_content));
            break;
        case 6: {
            ox_ber_rd x;
            ox_ber_tlv in;
            P1_TRY(d, ox_ber_enter(&con, TAG_REP_ADDITIONAL, &x));
            P1_TRY(d, ox_ber_next(&x, &in));
            P1_TRY(d, ox_ber_leave(&con, &x));
            r->additional_info = in.whole;
            break;
        }
        case 7: rc = p1_read_exts(d, &con, TAG_REP_EXTENSIONS, &r->content_exts); break;
        default: {
            ox_ber_rd l;
            P1_TRY(d, ox_ber_enter(&con, TAG_REP_RECIPIENTS, &l));
            while (!rc && !ox_ber_at_end(&l)) {
                ox_p1_report_recipient rr;
                const uint8_t *ra = l.p;
                if ((rc = read_rep_rcpt(d, &l, &rr)) != 0)
                    break;
                rc = add_rep_rcpt(r, &rr, d->lim.max_recipients);
                if (rc) {
                    p1_exts_free(d->alloc, &rr.exts);
                    if (rc == OX_E_LIMIT)
                        rc = P1_BAD(d, &l, ra, OX_P1_R_TOO_MANY);
                }
            }
            if (!rc && !r->n_rcpt)
                rc = P1_BAD(d, &con, at, OX_P1_R_MISSING);
            if (!rc)
                rc = p1_ber(d, ox_ber_leave(&con, &l));
            break;
        }
        }
    }
    if (rc)
        return rc;
    if ((seen & 0x101u) != 0x101u)
        return P1_BAD(d, rd, at1, OX_P1_R_MISSING);
    P1_TRY(d, ox_ber_leave(rd, &con));
    return 0;
}

static void put_rep_rcpt(ox_buf *w, const ox_p1_report_recipient *r, ox_p1_version v)
{
    size_t m = ox_ber_open(w, TAG_SET);
    size_t a = w->len;
    ox_p1_orname_encode(w, &r->actual, v);
    if (!w->err)
        w->p[a] = (uint8_t)(w->p[a] & 0x20) | 0x80; /* [0] IMPLICIT in place of [APPLICATION 0] */
    if (r->orig_number < 1 || r->orig_number > OX_P1_UB_RECIPIENTS)
        p1_wr_fail(w, OX_E_ARG);
    ox_ber_put_int(w, TAG_RR_ORIG_NUMBER, r->orig_number);
    p1_put_bits(w, TAG_RR_INDICATORS, r->indicators, 8);
    size_t lt = ox_ber_open(w, TAG_RR_LAST_TRACE);
    if (r->converted.present)
        p1_put_eits(w, &r->converted, v);
    ox_p1_time_put(w, TAG_LT_ARRIVAL, r->arrival);
    size_t rt = ox_ber_open(w, TAG_LT_REPORT_TYPE);
    if (r->delivered) {
        size_t x = ox_ber_open(w, TAG_RT_DELIVERY);
        ox_p1_time_put(w, TAG_DR_TIME, r->delivery_time);
        if (r->type_of_user)
            ox_ber_put_int(w, TAG_DR_USER_TYPE, r->type_of_user);
        ox_ber_close(w, x);
    } else {
        size_t x = ox_ber_open(w, TAG_RT_NONDELIVERY);
        if (r->reason < 0 || r->reason > OX_P1_UB_REASON_CODES ||
            r->diagnostic > OX_P1_UB_DIAGNOSTIC_CODES)
            p1_wr_fail(w, OX_E_ARG);
        ox_ber_put_int(w, TAG_NDR_REASON, r->reason);
        if (r->diagnostic >= 0)
            ox_ber_put_int(w, TAG_NDR_DIAG, r->diagnostic);
        ox_ber_close(w, x);
    }
    ox_ber_close(w, rt);
    ox_ber_close(w, lt);
    if (r->has_intended) {
        size_t b = w->len;
        ox_p1_orname_encode(w, &r->intended, v);
        if (!w->err)
            w->p[b] = (uint8_t)(w->p[b] & 0x20) | 0x84; /* [4] IMPLICIT */
    }
    if (r->supplementary[0])
        p1_put_str(w, TAG_RR_SUPPL, OX_BER_STR_PRINTABLE, r->supplementary, OX_P1_UB_SUPPL_INFO);
    if (r->exts.n && v == OX_P1_1984)
        p1_wr_fail(w, OX_E_UNSUPPORTED);
    p1_put_exts(w, TAG_RR_EXTENSIONS, &r->exts);
    ox_ber_close(w, m);
}

int ox_p1_report_encode(ox_buf *w, const ox_p1_report *r, ox_p1_version v)
{
    /* [1] IMPLICIT Report ::= SEQUENCE { envelope SET, content SET } */
    size_t a = ox_ber_open(w, OX_P1_TAG_APDU_REPORT);
    size_t e = ox_ber_open(w, TAG_SET);
    ox_p1_orname_encode(w, &r->destination, v);
    ox_p1_mtsid_encode(w, &r->id);
    p1_put_trace(w, OX_P1_TAG_TRACE, &r->trace, false, v);
    if (r->exts.n && v == OX_P1_1984)
        p1_wr_fail(w, OX_E_UNSUPPORTED);
    p1_put_exts(w, TAG_REP_ENV_EXTENSIONS, &r->exts);
    ox_ber_close(w, e);

    size_t c = ox_ber_open(w, TAG_SET);
    if (v == OX_P1_1984 && (r->has_content_type || r->orig_eits.present || r->content_exts.n))
        p1_wr_fail(w, OX_E_UNSUPPORTED);
    if (r->has_content_type && r->content_type.extended)
        p1_put_content_type(w, &r->content_type, v);
    ox_p1_mtsid_encode(w, &r->subject_id);
    if (r->orig_eits.present)
        p1_put_eits(w, &r->orig_eits, v);
    if (r->has_content_type && !r->content_type.extended)
        p1_put_content_type(w, &r->content_type, v);
    if (r->has_subject_trace)
        p1_put_trace(w, OX_P1_TAG_TRACE, &r->subject_trace, false, v);
    if (r->content_id[0])
        p1_put_str(w, OX_P1_TAG_CONTENT_ID, OX_BER_STR_PRINTABLE, r->content_id,
                   OX_P1_UB_CONTENT_ID);
    if (!r->n_rcpt)
        p1_wr_fail(w, OX_E_ARG);
    size_t l = ox_ber_open(w, TAG_REP_RECIPIENTS);
    for (uint32_t i = 0; i < r->n_rcpt; i++)
        put_rep_rcpt(w, &r->rcpt[i], v);
    ox_ber_close(w, l);
    if (r->has_returned_content)
        ox_ber_put_octets(w, TAG_REP_RETURNED, r->returned_content);
    if (r->additional_info.len) {
        size_t x = ox_ber_open(w, TAG_REP_ADDITIONAL);
        ox_ber_put_raw(w, r->additional_info);
        ox_ber_close(w, x);
    }
    p1_put_exts(w, TAG_REP_EXTENSIONS, &r->content_exts);
    ox_ber_close(w, c);
    ox_ber_close(w, a);
    return ox_ber_wr_status(w);
}

/* ---- APDU ---- */
void ox_p1_apdu_free(ox_p1_apdu *a)
{
    ox_p1_message_free(&a->msg);
    ox_p1_report_free(&a->rep);
}

int ox_p1_apdu_decode(ox_span in, ox_p1_version v, const ox_p1_limits *lim, const ox_alloc *alloc,
                      ox_p1_apdu *out, ox_p1_diag *diag)
{
    p1_dec d;
    p1_dec_init(&d, v, lim, alloc, diag);
    memset(out, 0, sizeof(*out));
    ox_p1_message_init(&out->msg, alloc);
    ox_p1_report_init(&out->rep, alloc);
    ox_ber_rd rd, s, env;
    P1_TRY(&d, ox_ber_rd_init(&rd, in, &d.lim.ber, diag ? &diag->ber : NULL));
    int rc;
    const uint8_t *at = rd.p;
    if (ox_ber_peek_tag(&rd, OX_P1_TAG_APDU_MESSAGE)) {
        out->kind = OX_P1_APDU_MESSAGE;
        rc = p1_ber(&d, ox_ber_enter(&rd, OX_P1_TAG_APDU_MESSAGE, &s));
        if (!rc)
            rc = p1_ber(&d, ox_ber_enter(&s, TAG_SET, &env));
        if (!rc)
            rc = read_envelope(&d, &env, at, &out->msg);
        if (!rc)
            rc = p1_ber(&d, ox_ber_leave(&s, &env));
        if (!rc) {
            at = s.p;
            if (ox_ber_peek_tag(&s, TAG_OCTS) && s.p < s.end && (s.p[0] & 0x20))
                rc = OX_E_UNSUPPORTED; /* constructed content: see decode_head */
            else
                rc = p1_ber(&d, ox_ber_read_octets_view(&s, TAG_OCTS, &out->msg.content));
        }
        if (!rc)
            rc = p1_ber(&d, ox_ber_leave(&rd, &s));
    } else if (ox_ber_peek_tag(&rd, OX_P1_TAG_APDU_PROBE)) {
        out->kind = OX_P1_APDU_PROBE;
        out->msg.is_probe = true;
        rc = p1_ber(&d, ox_ber_enter(&rd, OX_P1_TAG_APDU_PROBE, &env));
        if (!rc)
            rc = read_envelope(&d, &env, at, &out->msg);
        if (!rc)
            rc = p1_ber(&d, ox_ber_leave(&rd, &env));
    } else if (ox_ber_peek_tag(&rd, OX_P1_TAG_APDU_REPORT)) {
        out->kind = OX_P1_APDU_REPORT;
        rc = p1_ber(&d, ox_ber_enter(&rd, OX_P1_TAG_APDU_REPORT, &s));
        if (!rc)
            rc = read_report(&d, &s, &out->rep);
        if (!rc)
            rc = p1_ber(&d, ox_ber_leave(&rd, &s));
    } else {
        rc = P1_BAD(&d, &rd, at, OX_P1_R_UNKNOWN);
    }
    if (!rc && !ox_ber_at_end(&rd))
        rc = p1_ber(&d, OX_BER_FAIL(&rd, rd.p, OX_BER_R_LEFTOVER));
    if (rc)
        ox_p1_apdu_free(out);
    return rc;
}

int ox_p1_apdu_encode(ox_buf *w, const ox_p1_apdu *a, ox_p1_version v)
{
    if (a->kind == OX_P1_APDU_REPORT)
        return ox_p1_report_encode(w, &a->rep, v);
    return ox_p1_message_encode(w, &a->msg, v);
}

/* Identifier and definite length at |p|; OX_E_AGAIN when |end| cuts it. */
static int head_hdr(const uint8_t *p, const uint8_t *end, uint8_t *id, size_t *len, bool *indef,
                    size_t *hlen)
{
    if (end - p < 2)
        return OX_E_AGAIN;
    *id = p[0];
    if ((p[0] & 0x1f) == 0x1f)
        return OX_E_PEER;
    uint8_t l0 = p[1];
    *indef = false;
    if (l0 < 0x80) {
        *len = l0;
        *hlen = 2;
        return 0;
    }
    if (l0 == 0x80) {
        *indef = true;
        *len = 0;
        *hlen = 2;
        return 0;
    }
    size_t n = l0 & 0x7f;
    if (n > sizeof(size_t) || l0 == 0xff)
        return OX_E_PEER;
    if ((size_t)(end - p - 2) < n)
        return OX_E_AGAIN;
    size_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[2 + i];
    *len = v;
    *hlen = 2 + n;
    return 0;
}

int ox_p1_message_decode_head(ox_span in, ox_p1_version v, const ox_p1_limits *lim,
                              const ox_alloc *alloc, ox_p1_message *m, size_t *content_off,
                              uint64_t *content_len, ox_p1_diag *diag)
{
    p1_dec d;
    p1_dec_init(&d, v, lim, alloc, diag);
    ox_p1_message_init(m, alloc);
    const uint8_t *p = in.p, *end = in.p + in.len;
    uint8_t id;
    size_t alen, elen, clen, h1, h2, h3;
    bool aind, eind, cind;
    int rc = head_hdr(p, end, &id, &alen, &aind, &h1);
    if (rc == OX_E_AGAIN)
        return rc;
    if (rc || id != 0xa0)
        goto bad;
    rc = head_hdr(p + h1, end, &id, &elen, &eind, &h2);
    if (rc == OX_E_AGAIN)
        return rc;
    if (rc || id != 0x31 || eind)
        goto bad;
    if (elen > (size_t)(end - p - h1 - h2))
        return OX_E_AGAIN;
    const uint8_t *cp = p + h1 + h2 + elen;
    rc = head_hdr(cp, end, &id, &clen, &cind, &h3);
    if (rc == OX_E_AGAIN)
        return rc;
    if (rc)
        goto bad;
    if (id == 0x24)
        return OX_E_UNSUPPORTED; /* constructed content octets */
    if (id != 0x04 || cind)
        goto bad;
    if (!aind && alen != h2 + elen + h3 + clen)
        goto bad;
    /* Decode the envelope with a reader over the whole input, scoped to the SET. */
    ox_ber_rd rd, env;
    P1_TRY(&d, ox_ber_rd_init(&rd, in, &d.lim.ber, diag ? &diag->ber : NULL));
    rd.p = p + h1;
    rd.end = cp;
    P1_TRY(&d, ox_ber_enter(&rd, TAG_SET, &env));
    rc = read_envelope(&d, &env, p, m);
    if (!rc)
        rc = p1_ber(&d, ox_ber_leave(&rd, &env));
    if (rc) {
        ox_p1_message_free(m);
        return rc;
    }
    *content_off = (size_t)(cp + h3 - in.p);
    *content_len = clen;
    return 0;
bad:
    if (diag && diag->reason == OX_P1_R_NONE) {
        diag->reason = OX_P1_R_BER;
        diag->ber.reason = OX_BER_R_UNEXPECTED_TAG;
    }
    return OX_E_PEER;
}
