/* p1_bind.c - MTABindArgument, MTABindResult and MTABindError
 *
 * Why: the association layer needs to read the peer MTA's name and password from RTORQ and
 *      to refuse with the exact X.411 reason; it treats these bytes as opaque otherwise.
 * Limits: MTAName ub-mta-name-length, Password ub-password-length.
 * Diagnostics: OX_E_PEER / OX_E_LIMIT with ox_p1_diag.
 * Standards: X.411 (1999) MTAAbstractService mta-bind; MTSAbstractService Credentials,
 *      Password, SecurityContext; X.411 (1984) / X.410 (1984): the same authenticated SET as
 *      the RTS open value, simple password only. */
#include <string.h>

#include "p1_int.h"

/* MTABindArgument ::= CHOICE { unauthenticated NULL, authenticated [1] SET {
 *   initiator-name [0] MTAName, initiator-credentials [1] InitiatorCredentials,
 *   security-context [2] SecurityContext OPTIONAL } } */
#define TAG_NULL          OX_BER_UNIV(OX_BER_T_NULL)
#define TAG_AUTHENTICATED OX_BER_CTX(1)
#define TAG_NAME          OX_BER_CTX(0)
#define TAG_CREDENTIALS   OX_BER_CTX(1) /* Credentials is a CHOICE: explicit */
#define TAG_SECURITY_CTX  OX_BER_CTX(2)
/* Credentials ::= CHOICE { simple Password, strong [0] StrongCredentials, ...,
 *   protected [1] ProtectedPassword }; Password ::= CHOICE { ia5-string IA5String,
 *   octet-string OCTET STRING } */
#define TAG_CRED_STRONG    OX_BER_CTX(0)
#define TAG_CRED_PROTECTED OX_BER_CTX(1)
#define TAG_IA5            OX_BER_UNIV(OX_BER_T_IA5_STRING)
#define TAG_OCTS           OX_BER_UNIV(OX_BER_T_OCTET_STRING)
#define TAG_INT            OX_BER_UNIV(OX_BER_T_INTEGER)

const char *ox_p1_bind_error_name(int e)
{
    switch (e) {
    case OX_P1_BIND_BUSY: return "busy";
    case OX_P1_BIND_AUTHENTICATION_ERROR: return "authentication-error";
    case OX_P1_BIND_UNACCEPTABLE_DIALOGUE_MODE: return "unacceptable-dialogue-mode";
    case OX_P1_BIND_UNACCEPTABLE_SECURITY_CONTEXT: return "unacceptable-security-context";
    case OX_P1_BIND_INADEQUATE_ASSOCIATION_CONFIDENTIALITY:
        return "inadequate-association-confidentiality";
    default: return "unknown";
    }
}

int ox_p1_bind_encode(ox_buf *w, const ox_p1_bind *b, bool result, ox_p1_version v)
{
    if (!b->authenticated) {
        if (v == OX_P1_1984)
            return OX_E_UNSUPPORTED;
        ox_ber_put_null(w, TAG_NULL);
        return ox_ber_wr_status(w);
    }
    if (v == OX_P1_1984 && (b->strong.len || b->security_context.len))
        return OX_E_UNSUPPORTED;
    if (!b->mta_name[0] || b->password_len > OX_P1_UB_PASSWORD ||
        (result && b->security_context.len))
        return OX_E_ARG;
    size_t m = ox_ber_open(w, TAG_AUTHENTICATED);
    p1_put_str(w, TAG_NAME, OX_BER_STR_IA5, b->mta_name, OX_P1_UB_MTA_NAME);
    size_t c = ox_ber_open(w, TAG_CREDENTIALS);
    if (b->strong.len) {
        size_t s = ox_ber_open(w, TAG_CRED_STRONG);
        ox_ber_put_raw(w, b->strong);
        ox_ber_close(w, s);
    } else if (b->password_octets) {
        ox_ber_put_octets(w, TAG_OCTS, ox_span_of(b->password, b->password_len));
    } else {
        ox_ber_put_string(w, TAG_IA5, OX_BER_STR_IA5, ox_span_of(b->password, b->password_len));
    }
    ox_ber_close(w, c);
    if (b->security_context.len) {
        size_t s = ox_ber_open(w, TAG_SECURITY_CTX);
        ox_ber_put_raw(w, b->security_context);
        ox_ber_close(w, s);
    }
    ox_ber_close(w, m);
    return ox_ber_wr_status(w);
}

static int read_credentials(const p1_dec *d, ox_ber_rd *rd, ox_p1_bind *b)
{
    ox_ber_rd c;
    P1_TRY(d, ox_ber_enter(rd, TAG_CREDENTIALS, &c));
    const uint8_t *at = c.p;
    if (ox_ber_peek_tag(&c, TAG_IA5) || ox_ber_peek_tag(&c, TAG_OCTS)) {
        b->password_octets = ox_ber_peek_tag(&c, TAG_OCTS);
        ox_buf pw;
        ox_buf_init(&pw, NULL, b->password, sizeof(b->password));
        pw.max = sizeof(b->password);
        int rc = b->password_octets ? ox_ber_read_octets(&c, TAG_OCTS, &pw)
                                    : ox_ber_read_string(&c, TAG_IA5, OX_BER_STR_IA5, &pw);
        b->password_len = pw.len;
        ox_buf_free(&pw);
        if (rc == OX_E_LIMIT || rc == OX_E_NOMEM)
            return P1_BAD(d, &c, at, OX_P1_R_VALUE); /* longer than ub-password-length */
        if (rc)
            return p1_ber(d, rc);
    } else if (ox_ber_peek_tag(&c, TAG_CRED_STRONG) && d->ver == OX_P1_1988) {
        ox_ber_tlv t;
        P1_TRY(d, ox_ber_expect(&c, TAG_CRED_STRONG, 1, &t));
        b->strong = t.value;
    } else {
        /* protected [1] is excluded for the MTA bind (WITH COMPONENTS {..., protected
         * ABSENT}); strong is 1988 only. */
        return P1_BAD(d, &c, at, d->ver == OX_P1_1984 ? OX_P1_R_VERSION : OX_P1_R_UNKNOWN);
    }
    P1_TRY(d, ox_ber_leave(rd, &c));
    return 0;
}

int ox_p1_bind_decode(ox_span in, bool result, ox_p1_version v, ox_p1_bind *b, ox_p1_diag *diag)
{
    p1_dec d;
    p1_dec_init(&d, v, NULL, NULL, diag);
    memset(b, 0, sizeof(*b));
    ox_ber_rd rd, s;
    P1_TRY(&d, ox_ber_rd_init(&rd, in, &d.lim.ber, diag ? &diag->ber : NULL));
    const uint8_t *at0 = rd.p;
    if (ox_ber_peek_tag(&rd, TAG_NULL)) {
        if (v == OX_P1_1984)
            return P1_BAD(&d, &rd, at0, OX_P1_R_VERSION);
        P1_TRY(&d, ox_ber_read_null(&rd, TAG_NULL));
    } else {
        b->authenticated = true;
        P1_TRY(&d, ox_ber_enter(&rd, TAG_AUTHENTICATED, &s));
        uint32_t seen = 0;
        while (!ox_ber_at_end(&s)) {
            const uint8_t *at = s.p;
            int rc = 0;
            if (ox_ber_peek_tag(&s, TAG_NAME)) {
                if (p1_seen(&seen, 0))
                    return P1_BAD(&d, &s, at, OX_P1_R_DUPLICATE);
                rc = ox_ber_read_cstr(&s, TAG_NAME, OX_BER_STR_IA5, b->mta_name,
                                      sizeof(b->mta_name));
                if (rc == OX_E_LIMIT || (!rc && !b->mta_name[0]))
                    return P1_BAD(&d, &s, at, OX_P1_R_VALUE);
                rc = p1_ber(&d, rc);
            } else if (ox_ber_peek_tag(&s, TAG_CREDENTIALS)) {
                if (p1_seen(&seen, 1))
                    return P1_BAD(&d, &s, at, OX_P1_R_DUPLICATE);
                rc = read_credentials(&d, &s, b);
            } else if (!result && ox_ber_peek_tag(&s, TAG_SECURITY_CTX)) {
                if (v == OX_P1_1984)
                    return P1_BAD(&d, &s, at, OX_P1_R_VERSION);
                if (p1_seen(&seen, 2))
                    return P1_BAD(&d, &s, at, OX_P1_R_DUPLICATE);
                ox_ber_tlv t;
                rc = p1_ber(&d, ox_ber_expect(&s, TAG_SECURITY_CTX, 1, &t));
                b->security_context = t.value;
            } else {
                return P1_BAD(&d, &s, at, OX_P1_R_UNKNOWN);
            }
            if (rc)
                return rc;
        }
        if ((seen & 3u) != 3u)
            return P1_BAD(&d, &rd, at0, OX_P1_R_MISSING);
        P1_TRY(&d, ox_ber_leave(&rd, &s));
    }
    if (!ox_ber_at_end(&rd))
        return p1_ber(&d, OX_BER_FAIL(&rd, rd.p, OX_BER_R_LEFTOVER));
    return 0;
}

int ox_p1_bind_error_encode(ox_buf *w, int err)
{
    if (err < 0 || err > OX_P1_UB_INTEGER_OPTIONS)
        return OX_E_ARG;
    ox_ber_put_int(w, TAG_INT, err);
    return ox_ber_wr_status(w);
}

int ox_p1_bind_error_decode(ox_span in, int *err, ox_p1_diag *diag)
{
    p1_dec d;
    p1_dec_init(&d, OX_P1_1988, NULL, NULL, diag);
    ox_ber_rd rd;
    int64_t v;
    P1_TRY(&d, ox_ber_rd_init(&rd, in, &d.lim.ber, diag ? &diag->ber : NULL));
    P1_TRY(&d, ox_ber_read_int_range(&rd, TAG_INT, 0, OX_P1_UB_INTEGER_OPTIONS, &v));
    if (!ox_ber_at_end(&rd))
        return p1_ber(&d, OX_BER_FAIL(&rd, rd.p, OX_BER_R_LEFTOVER));
    *err = (int)v;
    return 0;
}
