/* submit.c - building the MTS-APDU of a local submission (an IPM) from operator input
 *
 * Why: `x400mta submit` and the tests build messages the same way, and every field an
 *      operator types is checked here, with a message that names the field. */
#include "openx400/ipm.h"
#include "openx400/mta.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int parse_addr(const char *what, const char *text, ox_p1_orname *n, char *err, size_t cap)
{
    if (ox_p1_orname_parse(n, text) != 0) {
        snprintf(err, cap,
                 "%s '%s' is not an O/R address (e.g. \"C=GB;A= ;P=Site;O=Org;S=Smith;G=John\" "
                 "or the /-separated form)",
                 what, text);
        return OX_E_ARG;
    }
    return 0;
}

int ox_mta_build_submission(const ox_mta_submission *s, uint64_t now_ms, ox_buf *out, char *err,
                            size_t cap)
{
    if (s->n_to + s->n_cc == 0) {
        snprintf(err, cap, "no recipient: give at least one --to");
        return OX_E_ARG;
    }
    ox_p1_message m;
    ox_p1_message_init(&m, NULL);
    ox_ipm ipm;
    ox_ipm_init(&ipm, NULL);
    ox_buf content;
    ox_buf_init(&content, NULL, NULL, 0);
    int rc = parse_addr("originator", s->originator, &m.originator, err, cap);
    /* Placeholder identifier: the MTA assigns the real one when it accepts the submission. */
    snprintf(m.id.gdi.country, sizeof(m.id.gdi.country), "%s", m.originator.country);
    snprintf(m.id.gdi.admd, sizeof(m.id.gdi.admd), "%s",
             m.originator.has_admd ? m.originator.admd : " ");
    snprintf(m.id.local_id, sizeof(m.id.local_id), "submit-%" PRIu64, now_ms);
    /* Placeholder trace (the envelope needs one element); the MTA writes its own. */
    ox_p1_trace t = {.arrival = (ox_p1_time)(now_ms / 1000)};
    t.gdi = m.id.gdi;
    if (rc == 0)
        rc = ox_p1_message_add_trace(&m, &t);
    m.content_type.builtin = OX_P1_CT_P22_1988;
    m.priority = s->priority;
    m.orig_eits.present = true;
    m.orig_eits.builtin = OX_P1_EIT_IA5_TEXT;
    ipm.has_originator = rc == 0;
    ipm.originator.has_formal = true;
    ipm.originator.formal = m.originator;
    ipm.importance = s->importance;
    ipm.this_ipm.has_user = true;
    ipm.this_ipm.user = m.originator;
    if (s->ipm_id)
        snprintf(ipm.this_ipm.local, sizeof(ipm.this_ipm.local), "%s", s->ipm_id);
    else
        snprintf(ipm.this_ipm.local, sizeof(ipm.this_ipm.local), "%" PRIu64, now_ms);
    if (s->subject) {
        if (strlen(s->subject) >= sizeof(ipm.subject)) {
            snprintf(err, cap, "subject is %zu characters; at most %zu are allowed",
                     strlen(s->subject), sizeof(ipm.subject) - 1);
            rc = OX_E_ARG;
        }
        ipm.has_subject = true;
        snprintf(ipm.subject, sizeof(ipm.subject), "%s", s->subject);
    }
    for (size_t i = 0; rc == 0 && i < s->n_to + s->n_cc; i++) {
        bool to = i < s->n_to;
        const char *text = to ? s->to[i] : s->cc[i - s->n_to];
        ox_p1_recipient r = {.orig_number = (int32_t)i + 1,
                             .indicators = OX_P1_PRI_RESPONSIBILITY | OX_P1_PRI_ORIG_NDR,
                             .explicit_conversion = -1};
        if (s->delivery_report)
            r.indicators |= OX_P1_PRI_ORIG_REPORT;
        if ((rc = parse_addr(to ? "recipient" : "copy recipient", text, &r.name, err, cap)))
            break;
        ox_ipm_recipient ir = {.who = {.has_formal = true, .formal = r.name}};
        rc = ox_p1_message_add_recipient(&m, &r);
        if (rc == 0)
            rc = to ? ox_ipm_add_to(&ipm, &ir) : ox_ipm_add_cc(&ipm, &ir);
    }
    ox_ipm_bodypart bp = {.kind = OX_IPM_BP_IA5, .repertoire = 5, .text = s->body};
    if (rc == 0 && !ox_ber_str_valid(OX_BER_STR_IA5, s->body)) {
        snprintf(err, cap, "the body is not IA5 (ASCII) text; convert it or send it as a file");
        rc = OX_E_ARG;
    }
    if (rc == 0)
        rc = ox_ipm_add_body(&ipm, &bp);
    if (rc == 0 && (rc = ox_ipm_encode(&content, &ipm)) != 0)
        snprintf(err, cap, "cannot encode the IPM (%s): a field is too long or not printable",
                 ox_strerror(rc));
    if (rc == 0) {
        m.content = ox_buf_span(&content);
        if ((rc = ox_p1_message_encode(out, &m, OX_P1_1988)) != 0)
            snprintf(err, cap, "cannot encode the envelope (%s)", ox_strerror(rc));
    }
    ox_buf_free(&content);
    ox_ipm_free(&ipm);
    ox_p1_message_free(&m);
    return rc;
}
