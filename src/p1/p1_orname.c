/* p1_orname.c - O/R names: BER codec, the operators' text forms and X.411 comparison
 *
 * Why: O/R names are what an MTA routes on and what operators type; one struct serves the
 *      wire (ORName), the configuration ("C=GB;A= ;P=Site;O=Org;S=Smith") and comparison.
 * Limits: every attribute bounded by its ub-* (a longer one is a peer error, OX_E_LIMIT);
 *      4 OUs and 4 DDAs (ub-organizational-units, ub-domain-defined-attributes).
 * Diagnostics: OX_E_PEER / OX_E_LIMIT with ox_p1_diag.
 * Standards: X.411 (1999) 18.5 ORName, ORAddress, BuiltInStandardAttributes,
 *      ExtensionAttribute (common-name 1, teletex-* 2..6); X.411 (1984) ORName (no extension
 *      attributes, no directory name); F.401 / RFC 1685 text form (our escaping: '\'). */
#include <string.h>

#include "p1_int.h"

int p1_read_country(const p1_dec *d, ox_ber_rd *rd, char *dst, bool *numeric);
int p1_read_admd(const p1_dec *d, ox_ber_rd *rd, char *dst, bool *numeric);
void p1_put_country(ox_buf *w, const char *c, bool numeric);
void p1_put_admd(ox_buf *w, const char *a, bool numeric);

/* BuiltInStandardAttributes components (X.411 MTSAbstractService) */
#define TAG_BSA_NETWORK_ADDR OX_BER_CTX(0) /* network-address [0] X121Address */
#define TAG_BSA_TERMINAL_ID  OX_BER_CTX(1) /* terminal-identifier [1] */
#define TAG_BSA_PRMD         OX_BER_CTX(2) /* private-domain-name [2] CHOICE (explicit) */
#define TAG_BSA_ORG          OX_BER_CTX(3) /* organization-name [3] */
#define TAG_BSA_NUMERIC_UID  OX_BER_CTX(4) /* numeric-user-identifier [4] */
#define TAG_BSA_PERSONAL     OX_BER_CTX(5) /* personal-name [5] PersonalName SET */
#define TAG_BSA_OUS          OX_BER_CTX(6) /* organizational-unit-names [6] SEQUENCE OF */
/* PersonalName ::= SET { surname [0], given-name [1], initials [2], generation-qualifier [3] } */
#define TAG_PN_SURNAME    OX_BER_CTX(0)
#define TAG_PN_GIVEN      OX_BER_CTX(1)
#define TAG_PN_INITIALS   OX_BER_CTX(2)
#define TAG_PN_GENERATION OX_BER_CTX(3)
/* ExtensionAttribute ::= SEQUENCE { extension-attribute-type [0] INTEGER,
 * extension-attribute-value [1] (open type: explicit) } */
#define TAG_EA_TYPE  OX_BER_CTX(0)
#define TAG_EA_VALUE OX_BER_CTX(1)
#define TAG_DIRNAME  OX_BER_CTX(0) /* ORName directory-name [0] Name (CHOICE: explicit) */
#define TAG_SEQ      OX_BER_UNIV(OX_BER_T_SEQUENCE)
#define TAG_SET      OX_BER_UNIV(OX_BER_T_SET)
#define TAG_NUMERIC  OX_BER_UNIV(OX_BER_T_NUMERIC_STRING)
#define TAG_PRINT    OX_BER_UNIV(OX_BER_T_PRINTABLE_STRING)
#define TAG_T61      OX_BER_UNIV(OX_BER_T_TELETEX_STRING)
enum { /* ExtensionAttributeType */
       EA_COMMON_NAME = 1,
       EA_TELETEX_COMMON_NAME = 2,
       EA_TELETEX_ORG = 3,
       EA_TELETEX_PERSONAL_NAME = 4,
       EA_TELETEX_OUS = 5,
       EA_TELETEX_DDAS = 6,
};

/* Reads a string of |type| with SIZE (1..cap-1). */
static int read_str1(const p1_dec *d, ox_ber_rd *rd, uint32_t tag, ox_ber_strtype type, char *dst,
                     size_t cap)
{
    const uint8_t *at = rd->p;
    int rc = ox_ber_read_cstr(rd, tag, type, dst, cap);
    if (rc == OX_E_LIMIT)
        return P1_BAD(d, rd, at, OX_P1_R_VALUE);
    if (rc)
        return p1_ber(d, rc);
    if (!dst[0])
        return P1_BAD(d, rd, at, OX_P1_R_VALUE);
    return 0;
}

static int read_personal(const p1_dec *d, ox_ber_rd *rd, uint32_t tag, ox_ber_strtype type,
                         char *sn, char *gn, char *in, char *gq)
{
    ox_ber_rd s;
    const uint8_t *at0 = rd->p;
    P1_TRY(d, ox_ber_enter(rd, tag, &s));
    uint32_t seen = 0;
    while (!ox_ber_at_end(&s)) {
        const uint8_t *at = s.p;
        int rc;
        if (ox_ber_peek_tag(&s, TAG_PN_SURNAME) && !p1_seen(&seen, 0))
            rc = read_str1(d, &s, TAG_PN_SURNAME, type, sn, OX_P1_UB_SURNAME + 1);
        else if (ox_ber_peek_tag(&s, TAG_PN_GIVEN) && !p1_seen(&seen, 1))
            rc = read_str1(d, &s, TAG_PN_GIVEN, type, gn, OX_P1_UB_GIVEN_NAME + 1);
        else if (ox_ber_peek_tag(&s, TAG_PN_INITIALS) && !p1_seen(&seen, 2))
            rc = read_str1(d, &s, TAG_PN_INITIALS, type, in, OX_P1_UB_INITIALS + 1);
        else if (ox_ber_peek_tag(&s, TAG_PN_GENERATION) && !p1_seen(&seen, 3))
            rc = read_str1(d, &s, TAG_PN_GENERATION, type, gq, OX_P1_UB_GENERATION_QUAL + 1);
        else
            return P1_BAD(d, &s, at, OX_P1_R_UNKNOWN); /* or a duplicate */
        if (rc)
            return rc;
    }
    if (!(seen & 1u))
        return P1_BAD(d, rd, at0, OX_P1_R_MISSING);
    P1_TRY(d, ox_ber_leave(rd, &s));
    return 0;
}

static int read_ous(const p1_dec *d, ox_ber_rd *rd, uint32_t tag, ox_ber_strtype type,
                    char ou[][OX_P1_UB_OU_NAME + 1], uint8_t *n)
{
    ox_ber_rd s;
    const uint8_t *at0 = rd->p;
    P1_TRY(d, ox_ber_enter(rd, tag, &s));
    uint32_t stag = OX_BER_UNIV((uint32_t)type);
    while (!ox_ber_at_end(&s)) {
        if (*n >= OX_P1_UB_OUS)
            return P1_BAD(d, &s, s.p, OX_P1_R_TOO_MANY);
        int rc = read_str1(d, &s, stag, type, ou[*n], OX_P1_UB_OU_NAME + 1);
        if (rc)
            return rc;
        (*n)++;
    }
    if (!*n)
        return P1_BAD(d, rd, at0, OX_P1_R_VALUE);
    P1_TRY(d, ox_ber_leave(rd, &s));
    return 0;
}

static int read_ddas(const p1_dec *d, ox_ber_rd *rd, ox_ber_strtype type, ox_p1_dda *v, uint8_t *n)
{
    ox_ber_rd s;
    const uint8_t *at0 = rd->p;
    uint32_t stag = OX_BER_UNIV((uint32_t)type);
    P1_TRY(d, ox_ber_enter(rd, TAG_SEQ, &s));
    while (!ox_ber_at_end(&s)) {
        if (*n >= OX_P1_UB_DDAS)
            return P1_BAD(d, &s, s.p, OX_P1_R_TOO_MANY);
        ox_ber_rd e;
        P1_TRY(d, ox_ber_enter(&s, TAG_SEQ, &e));
        int rc = read_str1(d, &e, stag, type, v[*n].type, sizeof(v[*n].type));
        if (!rc)
            rc = read_str1(d, &e, stag, type, v[*n].value, sizeof(v[*n].value));
        if (rc)
            return rc;
        P1_TRY(d, ox_ber_leave(&s, &e));
        (*n)++;
    }
    if (!*n)
        return P1_BAD(d, rd, at0, OX_P1_R_VALUE);
    P1_TRY(d, ox_ber_leave(rd, &s));
    return 0;
}

static int read_bsa(const p1_dec *d, ox_ber_rd *rd, ox_p1_orname *n)
{
    ox_ber_rd s;
    P1_TRY(d, ox_ber_enter(rd, TAG_SEQ, &s));
    int rc = 0;
    if (ox_ber_peek_tag(&s, OX_P1_TAG_COUNTRY) &&
        (rc = p1_read_country(d, &s, n->country, &n->country_numeric)) != 0)
        return rc;
    if (ox_ber_peek_tag(&s, OX_P1_TAG_ADMD)) {
        n->has_admd = true;
        if ((rc = p1_read_admd(d, &s, n->admd, &n->admd_numeric)) != 0)
            return rc;
    }
    if (ox_ber_peek_tag(&s, TAG_BSA_NETWORK_ADDR) &&
        (rc = read_str1(d, &s, TAG_BSA_NETWORK_ADDR, OX_BER_STR_NUMERIC, n->network_address,
                        sizeof(n->network_address))) != 0)
        return rc;
    if (ox_ber_peek_tag(&s, TAG_BSA_TERMINAL_ID) &&
        (rc = read_str1(d, &s, TAG_BSA_TERMINAL_ID, OX_BER_STR_PRINTABLE, n->terminal_id,
                        sizeof(n->terminal_id))) != 0)
        return rc;
    if (ox_ber_peek_tag(&s, TAG_BSA_PRMD)) {
        ox_ber_rd p;
        P1_TRY(d, ox_ber_enter(&s, TAG_BSA_PRMD, &p));
        n->prmd_numeric = ox_ber_peek_tag(&p, TAG_NUMERIC);
        rc = read_str1(d, &p, n->prmd_numeric ? TAG_NUMERIC : TAG_PRINT,
                       n->prmd_numeric ? OX_BER_STR_NUMERIC : OX_BER_STR_PRINTABLE, n->prmd,
                       sizeof(n->prmd));
        if (rc)
            return rc;
        P1_TRY(d, ox_ber_leave(&s, &p));
    }
    if (ox_ber_peek_tag(&s, TAG_BSA_ORG) &&
        (rc = read_str1(d, &s, TAG_BSA_ORG, OX_BER_STR_PRINTABLE, n->org, sizeof(n->org))) != 0)
        return rc;
    if (ox_ber_peek_tag(&s, TAG_BSA_NUMERIC_UID) &&
        (rc = read_str1(d, &s, TAG_BSA_NUMERIC_UID, OX_BER_STR_NUMERIC, n->numeric_user_id,
                        sizeof(n->numeric_user_id))) != 0)
        return rc;
    if (ox_ber_peek_tag(&s, TAG_BSA_PERSONAL) &&
        (rc = read_personal(d, &s, TAG_BSA_PERSONAL, OX_BER_STR_PRINTABLE, n->surname,
                            n->given_name, n->initials, n->generation)) != 0)
        return rc;
    if (ox_ber_peek_tag(&s, TAG_BSA_OUS) &&
        (rc = read_ous(d, &s, TAG_BSA_OUS, OX_BER_STR_PRINTABLE, n->ou, &n->n_ou)) != 0)
        return rc;
    if (!ox_ber_at_end(&s))
        return P1_BAD(d, &s, s.p, OX_P1_R_UNKNOWN);
    P1_TRY(d, ox_ber_leave(rd, &s));
    return 0;
}

static int read_ext_attrs(const p1_dec *d, ox_ber_rd *rd, ox_p1_orname *n)
{
    ox_ber_rd s;
    const uint8_t *at0 = rd->p;
    P1_TRY(d, ox_ber_enter(rd, TAG_SET, &s));
    uint64_t seen = 0;
    const uint8_t *other_start = NULL, *other_end = NULL;
    unsigned count = 0;
    while (!ox_ber_at_end(&s)) {
        const uint8_t *at = s.p;
        ox_ber_tlv whole;
        ox_ber_rd e, v;
        int64_t type;
        P1_TRY(d, ox_ber_expect(&s, TAG_SEQ, 1, &whole));
        P1_TRY(d, ox_ber_enter_tlv(&s, &whole, &e));
        P1_TRY(d, ox_ber_read_int_range(&e, TAG_EA_TYPE, 0, 256, &type));
        if (++count > 256) /* ub-extension-attributes */
            return P1_BAD(d, &s, at, OX_P1_R_TOO_MANY);
        if (type <= EA_TELETEX_DDAS) {
            if (seen & (1ull << type))
                return P1_BAD(d, &s, at, OX_P1_R_DUPLICATE);
            seen |= 1ull << type;
        }
        int rc = 0;
        switch (type) {
        case EA_COMMON_NAME:
        case EA_TELETEX_COMMON_NAME:
        case EA_TELETEX_ORG:
            P1_TRY(d, ox_ber_enter(&e, TAG_EA_VALUE, &v));
            if (type == EA_COMMON_NAME)
                rc = read_str1(d, &v, TAG_PRINT, OX_BER_STR_PRINTABLE, n->common_name,
                               sizeof(n->common_name));
            else if (type == EA_TELETEX_COMMON_NAME)
                rc = read_str1(d, &v, TAG_T61, OX_BER_STR_TELETEX, n->teletex_common_name,
                               sizeof(n->teletex_common_name));
            else
                rc = read_str1(d, &v, TAG_T61, OX_BER_STR_TELETEX, n->teletex_org,
                               sizeof(n->teletex_org));
            break;
        case EA_TELETEX_PERSONAL_NAME:
            P1_TRY(d, ox_ber_enter(&e, TAG_EA_VALUE, &v));
            rc = read_personal(d, &v, TAG_SET, OX_BER_STR_TELETEX, n->teletex_surname,
                               n->teletex_given_name, n->teletex_initials, n->teletex_generation);
            break;
        case EA_TELETEX_OUS:
            P1_TRY(d, ox_ber_enter(&e, TAG_EA_VALUE, &v));
            rc = read_ous(d, &v, TAG_SEQ, OX_BER_STR_TELETEX, n->teletex_ou, &n->n_teletex_ou);
            break;
        case EA_TELETEX_DDAS:
            P1_TRY(d, ox_ber_enter(&e, TAG_EA_VALUE, &v));
            rc = read_ddas(d, &v, OX_BER_STR_TELETEX, n->teletex_dda, &n->n_teletex_dda);
            break;
        default:
            /* Kept byte-exact; must be adjacent to each other. */
            if (other_end && other_end != at)
                return P1_BAD(d, &s, at, OX_P1_R_UNKNOWN);
            if (!other_start)
                other_start = at;
            other_end = whole.whole.p + whole.whole.len;
            e.p = e.end; /* skip the value, checked only for BER well-formedness */
            continue;
        }
        if (rc)
            return rc;
        P1_TRY(d, ox_ber_leave(&e, &v));
        P1_TRY(d, ox_ber_leave(&s, &e));
    }
    if (!count)
        return P1_BAD(d, rd, at0, OX_P1_R_VALUE); /* SIZE (1..ub-extension-attributes) */
    if (other_start)
        n->other_ext_attrs = ox_span_of(other_start, (size_t)(other_end - other_start));
    P1_TRY(d, ox_ber_leave(rd, &s));
    return 0;
}

int p1_read_orname(const p1_dec *d, ox_ber_rd *rd, uint32_t tag, ox_p1_orname *n)
{
    memset(n, 0, sizeof(*n));
    ox_ber_rd s;
    P1_TRY(d, ox_ber_enter(rd, tag, &s));
    int rc = read_bsa(d, &s, n);
    if (rc)
        return rc;
    if (ox_ber_peek_tag(&s, TAG_SEQ) &&
        (rc = read_ddas(d, &s, OX_BER_STR_PRINTABLE, n->dda, &n->n_dda)) != 0)
        return rc;
    if (ox_ber_peek_tag(&s, TAG_SET)) {
        if (d->ver == OX_P1_1984)
            return P1_BAD(d, &s, s.p, OX_P1_R_VERSION);
        if ((rc = read_ext_attrs(d, &s, n)) != 0)
            return rc;
    }
    if (ox_ber_peek_tag(&s, TAG_DIRNAME)) {
        if (d->ver == OX_P1_1984)
            return P1_BAD(d, &s, s.p, OX_P1_R_VERSION);
        ox_ber_tlv t;
        P1_TRY(d, ox_ber_expect(&s, TAG_DIRNAME, 1, &t));
        n->directory_name = t.value;
    }
    if (!ox_ber_at_end(&s))
        return P1_BAD(d, &s, s.p, OX_P1_R_UNKNOWN);
    P1_TRY(d, ox_ber_leave(rd, &s));
    return 0;
}

int ox_p1_orname_read(ox_ber_rd *rd, uint32_t tag, ox_p1_orname *n, ox_p1_version v,
                      ox_p1_diag *diag)
{
    p1_dec d;
    p1_dec_init(&d, v, NULL, NULL, NULL);
    d.diag = diag;
    return p1_read_orname(&d, rd, tag, n);
}

static void put_personal(ox_buf *w, uint32_t tag, ox_ber_strtype t, const char *sn, const char *gn,
                         const char *in, const char *gq)
{
    size_t m = ox_ber_open(w, tag);
    p1_put_str(w, TAG_PN_SURNAME, t, sn, OX_P1_UB_SURNAME);
    if (gn[0])
        p1_put_str(w, TAG_PN_GIVEN, t, gn, OX_P1_UB_GIVEN_NAME);
    if (in[0])
        p1_put_str(w, TAG_PN_INITIALS, t, in, OX_P1_UB_INITIALS);
    if (gq[0])
        p1_put_str(w, TAG_PN_GENERATION, t, gq, OX_P1_UB_GENERATION_QUAL);
    ox_ber_close(w, m);
}

static void put_ous(ox_buf *w, uint32_t tag, ox_ber_strtype t,
                    const char ou[][OX_P1_UB_OU_NAME + 1], uint8_t n)
{
    size_t m = ox_ber_open(w, tag);
    for (uint8_t i = 0; i < n && i < OX_P1_UB_OUS; i++)
        p1_put_str(w, 0, t, ou[i], OX_P1_UB_OU_NAME);
    ox_ber_close(w, m);
}

static void put_ddas(ox_buf *w, ox_ber_strtype t, const ox_p1_dda *v, uint8_t n)
{
    size_t m = ox_ber_open(w, TAG_SEQ);
    for (uint8_t i = 0; i < n && i < OX_P1_UB_DDAS; i++) {
        size_t m2 = ox_ber_open(w, TAG_SEQ);
        p1_put_str(w, 0, t, v[i].type, OX_P1_UB_DDA_TYPE);
        p1_put_str(w, 0, t, v[i].value, OX_P1_UB_DDA_VALUE);
        ox_ber_close(w, m2);
    }
    ox_ber_close(w, m);
}

static size_t open_ea(ox_buf *w, int type, size_t *inner)
{
    size_t m = ox_ber_open(w, TAG_SEQ);
    ox_ber_put_int(w, TAG_EA_TYPE, type);
    *inner = ox_ber_open(w, TAG_EA_VALUE);
    return m;
}

static void close_ea(ox_buf *w, size_t m, size_t inner)
{
    ox_ber_close(w, inner);
    ox_ber_close(w, m);
}

static bool has_ext_attrs(const ox_p1_orname *n)
{
    return n->common_name[0] || n->teletex_common_name[0] || n->teletex_org[0] ||
           n->teletex_surname[0] || n->n_teletex_ou || n->n_teletex_dda || n->other_ext_attrs.len;
}

int ox_p1_orname_encode(ox_buf *w, const ox_p1_orname *n, ox_p1_version v)
{
    size_t m = ox_ber_open(w, OX_P1_TAG_ORNAME);
    size_t b = ox_ber_open(w, TAG_SEQ);
    if (n->country[0])
        p1_put_country(w, n->country, n->country_numeric);
    if (n->has_admd)
        p1_put_admd(w, n->admd, n->admd_numeric);
    if (n->network_address[0])
        p1_put_str(w, TAG_BSA_NETWORK_ADDR, OX_BER_STR_NUMERIC, n->network_address,
                   OX_P1_UB_X121_ADDRESS);
    if (n->terminal_id[0])
        p1_put_str(w, TAG_BSA_TERMINAL_ID, OX_BER_STR_PRINTABLE, n->terminal_id,
                   OX_P1_UB_TERMINAL_ID);
    if (n->prmd[0]) {
        size_t p = ox_ber_open(w, TAG_BSA_PRMD);
        p1_put_str(w, 0, n->prmd_numeric ? OX_BER_STR_NUMERIC : OX_BER_STR_PRINTABLE, n->prmd,
                   OX_P1_UB_DOMAIN_NAME);
        ox_ber_close(w, p);
    }
    if (n->org[0])
        p1_put_str(w, TAG_BSA_ORG, OX_BER_STR_PRINTABLE, n->org, OX_P1_UB_ORGANIZATION_NAME);
    if (n->numeric_user_id[0])
        p1_put_str(w, TAG_BSA_NUMERIC_UID, OX_BER_STR_NUMERIC, n->numeric_user_id,
                   OX_P1_UB_NUMERIC_USER_ID);
    if (n->surname[0])
        put_personal(w, TAG_BSA_PERSONAL, OX_BER_STR_PRINTABLE, n->surname, n->given_name,
                     n->initials, n->generation);
    else if (n->given_name[0] || n->initials[0] || n->generation[0])
        p1_wr_fail(w, OX_E_ARG); /* surname is mandatory in PersonalName */
    if (n->n_ou)
        put_ous(w, TAG_BSA_OUS, OX_BER_STR_PRINTABLE, n->ou, n->n_ou);
    ox_ber_close(w, b);
    if (n->n_ou > OX_P1_UB_OUS || n->n_dda > OX_P1_UB_DDAS || n->n_teletex_ou > OX_P1_UB_OUS ||
        n->n_teletex_dda > OX_P1_UB_DDAS)
        p1_wr_fail(w, OX_E_ARG);
    if (n->n_dda)
        put_ddas(w, OX_BER_STR_PRINTABLE, n->dda, n->n_dda);
    if (has_ext_attrs(n)) {
        if (v == OX_P1_1984)
            p1_wr_fail(w, OX_E_UNSUPPORTED);
        size_t s = ox_ber_open(w, TAG_SET), e, i;
        if (n->common_name[0]) {
            e = open_ea(w, EA_COMMON_NAME, &i);
            p1_put_str(w, 0, OX_BER_STR_PRINTABLE, n->common_name, OX_P1_UB_COMMON_NAME);
            close_ea(w, e, i);
        }
        if (n->teletex_common_name[0]) {
            e = open_ea(w, EA_TELETEX_COMMON_NAME, &i);
            p1_put_str(w, 0, OX_BER_STR_TELETEX, n->teletex_common_name, OX_P1_UB_COMMON_NAME);
            close_ea(w, e, i);
        }
        if (n->teletex_org[0]) {
            e = open_ea(w, EA_TELETEX_ORG, &i);
            p1_put_str(w, 0, OX_BER_STR_TELETEX, n->teletex_org, OX_P1_UB_ORGANIZATION_NAME);
            close_ea(w, e, i);
        }
        if (n->teletex_surname[0]) {
            e = open_ea(w, EA_TELETEX_PERSONAL_NAME, &i);
            put_personal(w, TAG_SET, OX_BER_STR_TELETEX, n->teletex_surname, n->teletex_given_name,
                         n->teletex_initials, n->teletex_generation);
            close_ea(w, e, i);
        }
        if (n->n_teletex_ou) {
            e = open_ea(w, EA_TELETEX_OUS, &i);
            put_ous(w, TAG_SEQ, OX_BER_STR_TELETEX, n->teletex_ou, n->n_teletex_ou);
            close_ea(w, e, i);
        }
        if (n->n_teletex_dda) {
            e = open_ea(w, EA_TELETEX_DDAS, &i);
            put_ddas(w, OX_BER_STR_TELETEX, n->teletex_dda, n->n_teletex_dda);
            close_ea(w, e, i);
        }
        ox_ber_put_raw(w, n->other_ext_attrs);
        ox_ber_close(w, s);
    }
    if (n->directory_name.len) {
        if (v == OX_P1_1984)
            p1_wr_fail(w, OX_E_UNSUPPORTED);
        size_t dn = ox_ber_open(w, TAG_DIRNAME);
        ox_ber_put_raw(w, n->directory_name);
        ox_ber_close(w, dn);
    }
    ox_ber_close(w, m);
    return ox_ber_wr_status(w);
}

/* ---- Comparison ---- */
static char fold(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

bool ox_p1_str_eq_folded(const char *a, const char *b)
{
    while (*a == ' ')
        a++;
    while (*b == ' ')
        b++;
    for (;;) {
        bool sa = *a == ' ', sb = *b == ' ';
        if (sa) {
            while (*a == ' ')
                a++;
        }
        if (sb) {
            while (*b == ' ')
                b++;
        }
        if (!*a || !*b)
            return !*a && !*b; /* trailing spaces are ignored */
        if (sa != sb || fold(*a) != fold(*b))
            return false;
        a++;
        b++;
    }
}

static bool ddas_eq(const ox_p1_dda *a, uint8_t na, const ox_p1_dda *b, uint8_t nb)
{
    if (na != nb)
        return false;
    for (uint8_t i = 0; i < na && i < OX_P1_UB_DDAS; i++)
        if (!ox_p1_str_eq_folded(a[i].type, b[i].type) ||
            !ox_p1_str_eq_folded(a[i].value, b[i].value))
            return false;
    return true;
}

bool ox_p1_orname_eq(const ox_p1_orname *a, const ox_p1_orname *b)
{
#define EQ(f) ox_p1_str_eq_folded(a->f, b->f)
    if (!EQ(country) || a->has_admd != b->has_admd || !EQ(admd) || !EQ(network_address) ||
        !EQ(terminal_id) || !EQ(prmd) || !EQ(org) || !EQ(numeric_user_id) || !EQ(surname) ||
        !EQ(given_name) || !EQ(initials) || !EQ(generation) || !EQ(common_name) ||
        !EQ(teletex_common_name) || !EQ(teletex_org) || !EQ(teletex_surname) ||
        !EQ(teletex_given_name) || !EQ(teletex_initials) || !EQ(teletex_generation))
        return false;
    if (a->n_ou != b->n_ou || a->n_teletex_ou != b->n_teletex_ou)
        return false;
    for (uint8_t i = 0; i < a->n_ou && i < OX_P1_UB_OUS; i++)
        if (!EQ(ou[i]))
            return false;
    for (uint8_t i = 0; i < a->n_teletex_ou && i < OX_P1_UB_OUS; i++)
        if (!EQ(teletex_ou[i]))
            return false;
#undef EQ
    return ddas_eq(a->dda, a->n_dda, b->dda, b->n_dda) &&
           ddas_eq(a->teletex_dda, a->n_teletex_dda, b->teletex_dda, b->n_teletex_dda) &&
           ox_span_eq(a->other_ext_attrs, b->other_ext_attrs) &&
           ox_span_eq(a->directory_name, b->directory_name);
}

/* ---- Text form ---- */
static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static bool key_is(const char *k, size_t kl, const char *name)
{
    size_t n = strlen(name);
    if (kl != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (fold(k[i]) != name[i])
            return false;
    return true;
}

static int set_attr(char *dst, size_t cap, const char *v, ox_ber_strtype t)
{
    size_t n = strlen(v);
    if (n >= cap || dst[0])
        return OX_E_ARG; /* too long, or the key appeared twice */
    if (!ox_ber_str_valid(t, ox_span_of(v, n)))
        return OX_E_ARG;
    memcpy(dst, v, n + 1);
    return 0;
}

static int apply_kv(ox_p1_orname *o, const char *k, size_t kl, const char *v)
{
    const ox_ber_strtype P = OX_BER_STR_PRINTABLE;
    size_t vl = strlen(v);
    if (key_is(k, kl, "C")) {
        o->country_numeric = all_digits(v);
        if (vl != (o->country_numeric ? 3u : 2u))
            return OX_E_ARG;
        return set_attr(o->country, sizeof(o->country), v, P);
    }
    if (key_is(k, kl, "A") || key_is(k, kl, "ADMD")) {
        if (o->has_admd)
            return OX_E_ARG;
        o->has_admd = true;
        o->admd_numeric = all_digits(v);
        return vl ? set_attr(o->admd, sizeof(o->admd), v, P) : 0;
    }
    if (key_is(k, kl, "P") || key_is(k, kl, "PRMD")) {
        o->prmd_numeric = all_digits(v);
        return vl ? set_attr(o->prmd, sizeof(o->prmd), v, P) : OX_E_ARG;
    }
    if (!vl)
        return OX_E_ARG; /* every other attribute has SIZE (1..ub) */
    if (key_is(k, kl, "O"))
        return set_attr(o->org, sizeof(o->org), v, P);
    if (key_is(k, kl, "OU") || (kl == 3 && key_is(k, 2, "OU") && k[2] >= '1' && k[2] <= '4')) {
        if (o->n_ou >= OX_P1_UB_OUS)
            return OX_E_ARG;
        return set_attr(o->ou[o->n_ou++], OX_P1_UB_OU_NAME + 1, v, P);
    }
    if (key_is(k, kl, "S"))
        return set_attr(o->surname, sizeof(o->surname), v, P);
    if (key_is(k, kl, "G"))
        return set_attr(o->given_name, sizeof(o->given_name), v, P);
    if (key_is(k, kl, "I"))
        return set_attr(o->initials, sizeof(o->initials), v, P);
    if (key_is(k, kl, "Q"))
        return set_attr(o->generation, sizeof(o->generation), v, P);
    if (key_is(k, kl, "CN"))
        return set_attr(o->common_name, sizeof(o->common_name), v, P);
    if (key_is(k, kl, "X121"))
        return set_attr(o->network_address, sizeof(o->network_address), v, OX_BER_STR_NUMERIC);
    if (key_is(k, kl, "T-ID"))
        return set_attr(o->terminal_id, sizeof(o->terminal_id), v, P);
    if (key_is(k, kl, "UA-ID"))
        return set_attr(o->numeric_user_id, sizeof(o->numeric_user_id), v, OX_BER_STR_NUMERIC);
    if (kl > 4 && key_is(k, 4, "DDA:")) {
        if (o->n_dda >= OX_P1_UB_DDAS || kl - 4 > OX_P1_UB_DDA_TYPE)
            return OX_E_ARG;
        ox_p1_dda *d = &o->dda[o->n_dda];
        memcpy(d->type, k + 4, kl - 4);
        d->type[kl - 4] = '\0';
        if (!ox_ber_str_valid(P, ox_span_of(d->type, kl - 4)))
            return OX_E_ARG;
        o->n_dda++;
        return set_attr(d->value, sizeof(d->value), v, P);
    }
    return OX_E_ARG;
}

int ox_p1_orname_parse(ox_p1_orname *o, const char *text)
{
    memset(o, 0, sizeof(*o));
    const char *p = text;
    while (*p == ' ')
        p++;
    char sep = ';';
    if (*p == '/') {
        sep = '/';
        p++;
    }
    char val[OX_P1_UB_DDA_VALUE + 2];
    for (;;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *k = p;
        while (*p && *p != '=' && *p != sep)
            p++;
        if (*p != '=')
            return OX_E_ARG;
        size_t kl = (size_t)(p - k);
        while (kl && k[kl - 1] == ' ')
            kl--;
        p++;
        size_t vl = 0;
        while (*p && *p != sep) {
            char c = *p++;
            if (c == '\\') {
                if (!*p)
                    return OX_E_ARG;
                c = *p++;
            }
            if (vl + 1 >= sizeof(val))
                return OX_E_ARG;
            val[vl++] = c;
        }
        val[vl] = '\0';
        int rc = apply_kv(o, k, kl, val);
        if (rc)
            return rc;
        if (*p == sep)
            p++;
    }
    if (o->given_name[0] && !o->surname[0])
        return OX_E_ARG;
    return 0;
}

typedef struct pr {
    char *dst;
    size_t cap, len;
    bool overflow;
    char sep;
} pr;

static void pr_raw(pr *x, const char *s)
{
    for (; *s; s++) {
        if (x->len + 1 >= x->cap) {
            x->overflow = true;
            return;
        }
        x->dst[x->len++] = *s;
    }
}

static void pr_kv(pr *x, const char *k, const char *v)
{
    if (x->len && x->sep == ';')
        pr_raw(x, ";");
    pr_raw(x, k);
    pr_raw(x, "=");
    for (; *v; v++) {
        char c[3] = {*v, 0, 0};
        if (*v == ';' || *v == '/' || *v == '=' || *v == '\\') {
            c[0] = '\\';
            c[1] = *v;
        }
        pr_raw(x, c);
    }
    if (x->sep == '/')
        pr_raw(x, "/");
}

int ox_p1_orname_print(const ox_p1_orname *o, bool slash, char *dst, size_t cap)
{
    if (!cap)
        return OX_E_LIMIT;
    pr x = {dst, cap, 0, false, slash ? '/' : ';'};
    if (slash)
        pr_raw(&x, "/");
    if (o->country[0])
        pr_kv(&x, "C", o->country);
    if (o->has_admd)
        pr_kv(&x, "A", o->admd);
    if (o->prmd[0])
        pr_kv(&x, "P", o->prmd);
    if (o->org[0])
        pr_kv(&x, "O", o->org);
    for (uint8_t i = 0; i < o->n_ou && i < OX_P1_UB_OUS; i++)
        pr_kv(&x, "OU", o->ou[i]);
    if (o->surname[0])
        pr_kv(&x, "S", o->surname);
    if (o->given_name[0])
        pr_kv(&x, "G", o->given_name);
    if (o->initials[0])
        pr_kv(&x, "I", o->initials);
    if (o->generation[0])
        pr_kv(&x, "Q", o->generation);
    if (o->common_name[0])
        pr_kv(&x, "CN", o->common_name);
    if (o->network_address[0])
        pr_kv(&x, "X121", o->network_address);
    if (o->terminal_id[0])
        pr_kv(&x, "T-ID", o->terminal_id);
    if (o->numeric_user_id[0])
        pr_kv(&x, "UA-ID", o->numeric_user_id);
    for (uint8_t i = 0; i < o->n_dda && i < OX_P1_UB_DDAS; i++) {
        char k[4 + OX_P1_UB_DDA_TYPE + 1] = "DDA:";
        strncat(k, o->dda[i].type, OX_P1_UB_DDA_TYPE);
        pr_kv(&x, k, o->dda[i].value);
    }
    dst[x.overflow ? 0 : x.len] = '\0';
    return x.overflow ? OX_E_LIMIT : (int)x.len;
}
