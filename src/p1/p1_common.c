/* p1_common.c - P1 building blocks: domains, MTS identifiers, times, encoded information
 *               types, content types, extension fields and trace information
 *
 * Why: every envelope, report and probe is assembled from these; each reader takes a scoped
 *      BER reader, checks every ub-* bound and SET rule, and fills a fixed-size struct.
 * Limits: ox_p1_limits (trace elements, extensions); ub-* for strings.
 * Diagnostics: OX_E_PEER / OX_E_LIMIT with ox_p1_diag (reason, offset, line).
 * Standards: X.411 (1999) MTSAbstractService (GlobalDomainIdentifier, MTSIdentifier, Time,
 *      EncodedInformationTypes, ContentType, ExtensionField), MTAAbstractService
 *      (TraceInformation, InternalTraceInformation); X.690 11.2.2 (named-bit BIT STRINGs). */
#include <string.h>

#include "p1_int.h"

/* GlobalDomainIdentifier / ORName component tags (X.411 MTSAbstractService). */
#define TAG_NUMERIC   OX_BER_UNIV(OX_BER_T_NUMERIC_STRING)   /* x121-dcc-code, numeric */
#define TAG_PRINTABLE OX_BER_UNIV(OX_BER_T_PRINTABLE_STRING) /* iso-3166-alpha2-code, printable */
#define TAG_IA5       OX_BER_UNIV(OX_BER_T_IA5_STRING)       /* LocalIdentifier, MTAName */
#define TAG_OID       OX_BER_UNIV(OX_BER_T_OID)              /* ExtendedContentType */
#define TAG_SEQ       OX_BER_UNIV(OX_BER_T_SEQUENCE)
#define TAG_SET       OX_BER_UNIV(OX_BER_T_SET)
/* EncodedInformationTypes ::= [APPLICATION 5] SET { [0] BuiltIn..., NonBasicParameters
 * ([1] g3-facsimile, [2] teletex; 1984 also [3] presentation capabilities),
 * [4] ExtendedEncodedInformationTypes } */
#define TAG_EIT_BUILTIN  OX_BER_CTX(0)
#define TAG_EIT_EXTENDED OX_BER_CTX(4)
/* ExtensionField ::= SEQUENCE { type ExtensionType, criticality [1], value [2] } with
 * ExtensionType ::= CHOICE { standard-extension [0] INTEGER, private-extension [3] OID } */
#define TAG_EXT_STANDARD OX_BER_CTX(0)
#define TAG_EXT_PRIVATE  OX_BER_CTX(3)
#define TAG_EXT_CRIT     OX_BER_CTX(1)
#define TAG_EXT_VALUE    OX_BER_CTX(2)
/* DomainSuppliedInformation / MTASuppliedInformation ::= SET { arrival-time [0],
 * routing-action [2], attempted..., deferred-time [1], converted EITs, other-actions [3] } */
#define TAG_TR_ARRIVAL  OX_BER_CTX(0)
#define TAG_TR_DEFERRED OX_BER_CTX(1)
#define TAG_TR_ROUTING  OX_BER_CTX(2)
#define TAG_TR_OTHER    OX_BER_CTX(3)

static const char *const reason_names[] = {
    [OX_P1_R_NONE] = "none",       [OX_P1_R_BER] = "ber",
    [OX_P1_R_MISSING] = "missing", [OX_P1_R_DUPLICATE] = "duplicate",
    [OX_P1_R_UNKNOWN] = "unknown", [OX_P1_R_TOO_MANY] = "too-many",
    [OX_P1_R_VALUE] = "bad-value", [OX_P1_R_VERSION] = "not-in-1984",
};

const char *ox_p1_reason_name(ox_p1_reason r)
{
    if ((size_t)r < OX_ARRAY_LEN(reason_names) && reason_names[r])
        return reason_names[r];
    return "unknown";
}

void p1_dec_init(p1_dec *d, ox_p1_version v, const ox_p1_limits *lim, const ox_alloc *a,
                 ox_p1_diag *diag)
{
    memset(d, 0, sizeof(*d));
    if (lim)
        d->lim = *lim;
    if (!d->lim.max_recipients)
        d->lim.max_recipients = OX_P1_DEFAULT_MAX_RECIPIENTS;
    if (!d->lim.max_trace)
        d->lim.max_trace = OX_P1_DEFAULT_MAX_TRACE;
    if (!d->lim.max_extensions)
        d->lim.max_extensions = OX_P1_DEFAULT_MAX_EXTENSIONS;
    d->alloc = a;
    d->ver = v;
    d->diag = diag;
    if (diag)
        memset(diag, 0, sizeof(*diag));
}

int p1_bad(const p1_dec *d, const ox_ber_rd *rd, const uint8_t *at, ox_p1_reason r, int line)
{
    if (d->diag && d->diag->reason == OX_P1_R_NONE) {
        d->diag->reason = r;
        d->diag->ber.offset = at && rd && at >= rd->base ? (size_t)(at - rd->base) : 0;
        d->diag->ber.line = line;
    }
    return r == OX_P1_R_TOO_MANY ? OX_E_LIMIT : OX_E_PEER;
}

int p1_ber(const p1_dec *d, int rc)
{
    if (d->diag && d->diag->reason == OX_P1_R_NONE && (rc == OX_E_PEER || rc == OX_E_LIMIT))
        d->diag->reason = OX_P1_R_BER;
    return rc;
}

void p1_wr_fail(ox_buf *w, int err)
{
    if (!w->err)
        w->err = err;
}

void p1_put_str(ox_buf *w, uint32_t tag, ox_ber_strtype t, const char *s, size_t ub)
{
    if (strlen(s) > ub) {
        p1_wr_fail(w, OX_E_ARG);
        return;
    }
    ox_ber_put_cstr(w, tag, t, s);
}

int p1_vec_push(const ox_alloc *a, void **arr, uint32_t *n, uint32_t *cap, size_t elsize,
                uint32_t max)
{
    if (*n >= max)
        return OX_E_LIMIT;
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 4;
        if (nc > max)
            nc = max;
        void *p = ox_realloc(a, *arr, (size_t)nc * elsize);
        if (!p)
            return OX_E_NOMEM;
        *arr = p;
        *cap = nc;
    }
    memset((uint8_t *)*arr + (size_t)*n * elsize, 0, elsize);
    (*n)++;
    return 0;
}

void p1_put_bits(ox_buf *w, uint32_t tag, uint32_t mask, unsigned minbits)
{
    unsigned nbits = 0;
    for (unsigned i = 0; i < 32; i++)
        if (mask & (1u << i))
            nbits = i + 1;
    if (nbits < minbits)
        nbits = minbits;
    uint8_t b[4] = {0};
    for (unsigned i = 0; i < nbits && i < 32; i++)
        if (mask & (1u << i))
            b[i / 8] |= (uint8_t)(0x80u >> (i % 8));
    size_t nbytes = (nbits + 7) / 8;
    ox_ber_put_bits(w, tag, ox_span_of(b, nbytes), (unsigned)(nbytes * 8 - nbits));
}

int p1_read_bits(const p1_dec *d, ox_ber_rd *rd, uint32_t tag, uint32_t *mask)
{
    uint8_t tmp[32];
    ox_buf b;
    ox_buf_init(&b, NULL, tmp, sizeof(tmp));
    b.max = sizeof(tmp);
    unsigned unused = 0;
    int rc = ox_ber_read_bits(rd, tag, &b, &unused);
    if (rc) {
        ox_buf_free(&b);
        return p1_ber(d, rc);
    }
    uint32_t m = 0;
    for (size_t i = 0; i < b.len && i < 4; i++)
        for (unsigned k = 0; k < 8; k++)
            if (b.p[i] & (0x80u >> k))
                m |= 1u << (i * 8 + k);
    ox_buf_free(&b);
    *mask = m;
    return 0;
}

/* ---- Time ---- */
int ox_p1_time_read(ox_ber_rd *rd, uint32_t tag, ox_p1_time *t)
{
    ox_ber_time bt;
    int rc = ox_ber_read_utctime(rd, tag, &bt);
    if (rc)
        return rc;
    *t = ox_ber_time_to_unix(&bt);
    return 0;
}

void ox_p1_time_put(ox_buf *w, uint32_t tag, ox_p1_time t)
{
    ox_ber_time bt;
    ox_ber_time_from_unix(t, &bt);
    ox_ber_put_utctime(w, tag, &bt);
}

/* ---- Domain names: a CHOICE of NumericString and PrintableString ---- */
static int read_domain_choice(const p1_dec *d, ox_ber_rd *rd, char *dst, size_t cap, bool *numeric,
                              size_t minlen)
{
    const uint8_t *at = rd->p;
    if (ox_ber_peek_tag(rd, TAG_NUMERIC)) {
        *numeric = true;
        P1_TRY(d, ox_ber_read_cstr(rd, TAG_NUMERIC, OX_BER_STR_NUMERIC, dst, cap));
    } else {
        *numeric = false;
        P1_TRY(d, ox_ber_read_cstr(rd, TAG_PRINTABLE, OX_BER_STR_PRINTABLE, dst, cap));
    }
    if (strlen(dst) < minlen)
        return P1_BAD(d, rd, at, OX_P1_R_VALUE);
    return 0;
}

static void put_domain_choice(ox_buf *w, const char *s, bool numeric, size_t ub)
{
    if (numeric)
        p1_put_str(w, TAG_NUMERIC, OX_BER_STR_NUMERIC, s, ub);
    else
        p1_put_str(w, TAG_PRINTABLE, OX_BER_STR_PRINTABLE, s, ub);
}

/* CountryName ::= [APPLICATION 1] CHOICE (explicit: a tagged CHOICE) */
int p1_read_country(const p1_dec *d, ox_ber_rd *rd, char *dst, bool *numeric);
int p1_read_country(const p1_dec *d, ox_ber_rd *rd, char *dst, bool *numeric)
{
    ox_ber_rd in;
    const uint8_t *at = rd->p;
    P1_TRY(d, ox_ber_enter(rd, OX_P1_TAG_COUNTRY, &in));
    int rc = read_domain_choice(d, &in, dst, OX_P1_UB_COUNTRY_NUMERIC + 1, numeric, 1);
    if (rc)
        return rc;
    size_t n = strlen(dst);
    if (n != (*numeric ? OX_P1_UB_COUNTRY_NUMERIC : OX_P1_UB_COUNTRY_ALPHA))
        return P1_BAD(d, rd, at, OX_P1_R_VALUE);
    P1_TRY(d, ox_ber_leave(rd, &in));
    return 0;
}

void p1_put_country(ox_buf *w, const char *c, bool numeric);
void p1_put_country(ox_buf *w, const char *c, bool numeric)
{
    if (strlen(c) != (numeric ? OX_P1_UB_COUNTRY_NUMERIC : OX_P1_UB_COUNTRY_ALPHA)) {
        p1_wr_fail(w, OX_E_ARG);
        return;
    }
    size_t m = ox_ber_open(w, OX_P1_TAG_COUNTRY);
    put_domain_choice(w, c, numeric, OX_P1_UB_COUNTRY_NUMERIC);
    ox_ber_close(w, m);
}

/* AdministrationDomainName ::= [APPLICATION 2] CHOICE (SIZE (0..ub-domain-name-length)) */
int p1_read_admd(const p1_dec *d, ox_ber_rd *rd, char *dst, bool *numeric);
int p1_read_admd(const p1_dec *d, ox_ber_rd *rd, char *dst, bool *numeric)
{
    ox_ber_rd in;
    P1_TRY(d, ox_ber_enter(rd, OX_P1_TAG_ADMD, &in));
    int rc = read_domain_choice(d, &in, dst, OX_P1_UB_DOMAIN_NAME + 1, numeric, 0);
    if (rc)
        return rc;
    P1_TRY(d, ox_ber_leave(rd, &in));
    return 0;
}

void p1_put_admd(ox_buf *w, const char *a, bool numeric);
void p1_put_admd(ox_buf *w, const char *a, bool numeric)
{
    size_t m = ox_ber_open(w, OX_P1_TAG_ADMD);
    put_domain_choice(w, a, numeric, OX_P1_UB_DOMAIN_NAME);
    ox_ber_close(w, m);
}

/* GlobalDomainIdentifier ::= [APPLICATION 3] SEQUENCE { country-name, administration-
 * domain-name, private-domain-identifier PrivateDomainIdentifier OPTIONAL } */
int p1_read_gdi(const p1_dec *d, ox_ber_rd *rd, ox_p1_gdi *g)
{
    memset(g, 0, sizeof(*g));
    ox_ber_rd in;
    P1_TRY(d, ox_ber_enter(rd, OX_P1_TAG_GDI, &in));
    int rc = p1_read_country(d, &in, g->country, &g->country_numeric);
    if (!rc)
        rc = p1_read_admd(d, &in, g->admd, &g->admd_numeric);
    if (!rc && !ox_ber_at_end(&in))
        rc = read_domain_choice(d, &in, g->prmd, sizeof(g->prmd), &g->prmd_numeric, 1);
    if (rc)
        return rc;
    P1_TRY(d, ox_ber_leave(rd, &in));
    return 0;
}

static void put_gdi(ox_buf *w, const ox_p1_gdi *g)
{
    size_t m = ox_ber_open(w, OX_P1_TAG_GDI);
    p1_put_country(w, g->country, g->country_numeric);
    p1_put_admd(w, g->admd, g->admd_numeric);
    if (g->prmd[0])
        put_domain_choice(w, g->prmd, g->prmd_numeric, OX_P1_UB_DOMAIN_NAME);
    ox_ber_close(w, m);
}

int ox_p1_gdi_encode(ox_buf *w, const ox_p1_gdi *g)
{
    put_gdi(w, g);
    return ox_ber_wr_status(w);
}

bool ox_p1_gdi_eq(const ox_p1_gdi *a, const ox_p1_gdi *b)
{
    return ox_p1_str_eq_folded(a->country, b->country) && ox_p1_str_eq_folded(a->admd, b->admd) &&
           ox_p1_str_eq_folded(a->prmd, b->prmd);
}

/* MTSIdentifier ::= [APPLICATION 4] SEQUENCE { global-domain-identifier, local-identifier
 * IA5String (SIZE (1..ub-local-id-length)) } */
int p1_read_mtsid(const p1_dec *d, ox_ber_rd *rd, ox_p1_mtsid *id)
{
    memset(id, 0, sizeof(*id));
    ox_ber_rd in;
    P1_TRY(d, ox_ber_enter(rd, OX_P1_TAG_MTSID, &in));
    int rc = p1_read_gdi(d, &in, &id->gdi);
    if (rc)
        return rc;
    const uint8_t *at = in.p;
    P1_TRY(d, ox_ber_read_cstr(&in, TAG_IA5, OX_BER_STR_IA5, id->local_id, sizeof(id->local_id)));
    if (!id->local_id[0])
        return P1_BAD(d, &in, at, OX_P1_R_VALUE);
    P1_TRY(d, ox_ber_leave(rd, &in));
    return 0;
}

int ox_p1_mtsid_encode(ox_buf *w, const ox_p1_mtsid *id)
{
    size_t m = ox_ber_open(w, OX_P1_TAG_MTSID);
    put_gdi(w, &id->gdi);
    if (!id->local_id[0])
        p1_wr_fail(w, OX_E_ARG);
    p1_put_str(w, TAG_IA5, OX_BER_STR_IA5, id->local_id, OX_P1_UB_LOCAL_ID);
    ox_ber_close(w, m);
    return ox_ber_wr_status(w);
}

bool ox_p1_mtsid_eq(const ox_p1_mtsid *a, const ox_p1_mtsid *b)
{
    return ox_p1_gdi_eq(&a->gdi, &b->gdi) && strcmp(a->local_id, b->local_id) == 0;
}

/* ---- EncodedInformationTypes ---- */
int p1_read_eits(const p1_dec *d, ox_ber_rd *rd, ox_p1_eits *e)
{
    memset(e, 0, sizeof(*e));
    ox_ber_rd in;
    const uint8_t *at0 = rd->p;
    P1_TRY(d, ox_ber_enter(rd, OX_P1_TAG_EITS, &in));
    e->present = true;
    uint32_t seen = 0;
    const uint8_t *nb_start = NULL, *nb_end = NULL;
    while (!ox_ber_at_end(&in)) {
        ox_ber_tlv t;
        const uint8_t *at = in.p;
        P1_TRY(d, ox_ber_peek(&in, &t));
        if (t.tag == TAG_EIT_BUILTIN) {
            if (p1_seen(&seen, 0))
                return P1_BAD(d, &in, at, OX_P1_R_DUPLICATE);
            int rc = p1_read_bits(d, &in, TAG_EIT_BUILTIN, &e->builtin);
            if (rc)
                return rc;
        } else if (t.tag == OX_BER_CTX(1) || t.tag == OX_BER_CTX(2) ||
                   (t.tag == OX_BER_CTX(3) && d->ver == OX_P1_1984)) {
            unsigned bit = OX_BER_TAG_NUMBER(t.tag);
            if (p1_seen(&seen, bit))
                return P1_BAD(d, &in, at, OX_P1_R_DUPLICATE);
            if (nb_end && nb_end != at)
                return P1_BAD(d, &in, at, OX_P1_R_UNKNOWN); /* non-basic parts not adjacent */
            if (!nb_start)
                nb_start = at;
            P1_TRY(d, ox_ber_next(&in, &t));
            nb_end = t.whole.p + t.whole.len;
        } else if (t.tag == TAG_EIT_EXTENDED) {
            if (d->ver == OX_P1_1984)
                return P1_BAD(d, &in, at, OX_P1_R_VERSION);
            if (p1_seen(&seen, 4))
                return P1_BAD(d, &in, at, OX_P1_R_DUPLICATE);
            P1_TRY(d, ox_ber_expect(&in, TAG_EIT_EXTENDED, 1, &t));
            /* SET SIZE (1..ub-encoded-information-types) OF OBJECT IDENTIFIER: validate */
            ox_ber_rd s;
            P1_TRY(d, ox_ber_enter_tlv(&in, &t, &s));
            if (ox_ber_at_end(&s))
                return P1_BAD(d, &in, at, OX_P1_R_VALUE);
            while (!ox_ber_at_end(&s)) {
                ox_oid o;
                P1_TRY(d, ox_ber_read_oid(&s, TAG_OID, &o));
            }
            e->extended = t.value;
        } else {
            return P1_BAD(d, &in, at, OX_P1_R_UNKNOWN);
        }
    }
    if (!(seen & 1u))
        return P1_BAD(d, rd, at0, OX_P1_R_MISSING);
    if (nb_start)
        e->nonbasic = ox_span_of(nb_start, (size_t)(nb_end - nb_start));
    P1_TRY(d, ox_ber_leave(rd, &in));
    return 0;
}

void p1_put_eits(ox_buf *w, const ox_p1_eits *e, ox_p1_version v)
{
    size_t m = ox_ber_open(w, OX_P1_TAG_EITS);
    p1_put_bits(w, TAG_EIT_BUILTIN, e->builtin, 0);
    ox_ber_put_raw(w, e->nonbasic);
    if (e->extended.len) {
        if (v == OX_P1_1984)
            p1_wr_fail(w, OX_E_UNSUPPORTED);
        size_t m2 = ox_ber_open(w, TAG_EIT_EXTENDED);
        ox_ber_put_raw(w, e->extended);
        ox_ber_close(w, m2);
    }
    ox_ber_close(w, m);
}

/* ---- ContentType ---- */
int p1_read_content_type(const p1_dec *d, ox_ber_rd *rd, ox_p1_content_type *ct)
{
    memset(ct, 0, sizeof(*ct));
    const uint8_t *at = rd->p;
    if (ox_ber_peek_tag(rd, TAG_OID)) {
        if (d->ver == OX_P1_1984)
            return P1_BAD(d, rd, at, OX_P1_R_VERSION);
        ct->extended = true;
        P1_TRY(d, ox_ber_read_oid(rd, TAG_OID, &ct->oid));
        return 0;
    }
    int64_t v;
    P1_TRY(d, ox_ber_read_int_range(rd, OX_P1_TAG_CONTENT_TYPE, 0, OX_P1_UB_BUILTIN_CONTENT, &v));
    ct->builtin = (int32_t)v;
    return 0;
}

void p1_put_content_type(ox_buf *w, const ox_p1_content_type *ct, ox_p1_version v)
{
    if (ct->extended) {
        if (v == OX_P1_1984)
            p1_wr_fail(w, OX_E_UNSUPPORTED);
        ox_ber_put_oid(w, TAG_OID, &ct->oid);
    } else {
        if (ct->builtin < 0 || ct->builtin > OX_P1_UB_BUILTIN_CONTENT)
            p1_wr_fail(w, OX_E_ARG);
        ox_ber_put_int(w, OX_P1_TAG_CONTENT_TYPE, ct->builtin);
    }
}

/* ---- Extensions ---- */
void p1_exts_free(const ox_alloc *a, ox_p1_exts *l)
{
    ox_free(a, l->v);
    memset(l, 0, sizeof(*l));
}

void p1_traces_free(const ox_alloc *a, ox_p1_traces *l)
{
    ox_free(a, l->v);
    memset(l, 0, sizeof(*l));
}

int ox_p1_exts_add(ox_p1_exts *l, const ox_alloc *a, const ox_p1_ext *e, uint32_t max)
{
    int rc = p1_vec_push(a, (void **)&l->v, &l->n, &l->cap, sizeof(*l->v),
                         max ? max : OX_P1_DEFAULT_MAX_EXTENSIONS);
    if (rc)
        return rc;
    l->v[l->n - 1] = *e;
    return 0;
}

int ox_p1_traces_add(ox_p1_traces *l, const ox_alloc *a, const ox_p1_trace *t, uint32_t max)
{
    int rc = p1_vec_push(a, (void **)&l->v, &l->n, &l->cap, sizeof(*l->v),
                         max ? max : OX_P1_UB_TRANSFERS);
    if (rc)
        return rc;
    l->v[l->n - 1] = *t;
    return 0;
}

static int read_ext(const p1_dec *d, ox_ber_rd *rd, ox_p1_ext *e)
{
    memset(e, 0, sizeof(*e));
    ox_ber_tlv t;
    P1_TRY(d, ox_ber_expect(rd, TAG_SEQ, 1, &t));
    e->whole = t.whole;
    ox_ber_rd in;
    P1_TRY(d, ox_ber_enter_tlv(rd, &t, &in));
    const uint8_t *at = in.p;
    if (ox_ber_peek_tag(&in, TAG_EXT_STANDARD)) {
        int64_t v;
        P1_TRY(d, ox_ber_read_int_range(&in, TAG_EXT_STANDARD, 0, INT32_MAX, &v));
        e->standard = (int32_t)v;
    } else if (ox_ber_peek_tag(&in, TAG_EXT_PRIVATE)) {
        e->is_private = true;
        e->standard = -1;
        P1_TRY(d, ox_ber_read_oid(&in, TAG_EXT_PRIVATE, &e->private_oid));
    } else {
        return P1_BAD(d, &in, at, OX_P1_R_MISSING);
    }
    if (ox_ber_peek_tag(&in, TAG_EXT_CRIT)) {
        uint32_t m;
        int rc = p1_read_bits(d, &in, TAG_EXT_CRIT, &m);
        if (rc)
            return rc;
        e->criticality = (uint16_t)m;
    }
    if (ox_ber_peek_tag(&in, TAG_EXT_VALUE)) {
        /* value [2] EXTENSION.&Type: an open type, so the tag is explicit */
        ox_ber_tlv v;
        P1_TRY(d, ox_ber_expect(&in, TAG_EXT_VALUE, 1, &v));
        ox_ber_rd vin;
        P1_TRY(d, ox_ber_enter_tlv(&in, &v, &vin));
        ox_ber_tlv inner;
        P1_TRY(d, ox_ber_next(&vin, &inner));
        P1_TRY(d, ox_ber_leave(&in, &vin));
        e->value = inner.whole;
    }
    P1_TRY(d, ox_ber_leave(rd, &in));
    return 0;
}

int p1_read_exts(const p1_dec *d, ox_ber_rd *rd, uint32_t tag, ox_p1_exts *l)
{
    ox_ber_rd in;
    const uint8_t *at = rd->p;
    if (d->ver == OX_P1_1984)
        return P1_BAD(d, rd, at, OX_P1_R_VERSION);
    P1_TRY(d, ox_ber_enter(rd, tag, &in));
    while (!ox_ber_at_end(&in)) {
        ox_p1_ext e;
        const uint8_t *eat = in.p;
        int rc = read_ext(d, &in, &e);
        if (rc)
            return rc;
        rc = ox_p1_exts_add(l, d->alloc, &e, d->lim.max_extensions);
        if (rc == OX_E_LIMIT)
            return P1_BAD(d, &in, eat, OX_P1_R_TOO_MANY);
        if (rc)
            return rc;
    }
    P1_TRY(d, ox_ber_leave(rd, &in));
    return 0;
}

void p1_put_exts(ox_buf *w, uint32_t tag, const ox_p1_exts *l)
{
    if (!l->n)
        return; /* DEFAULT {} */
    size_t m = ox_ber_open(w, tag);
    for (uint32_t i = 0; i < l->n; i++)
        ox_ber_put_raw(w, l->v[i].whole);
    ox_ber_close(w, m);
}

int ox_p1_ext_build(ox_buf *storage, int32_t standard, uint16_t criticality, ox_span value,
                    ox_p1_ext *e)
{
    if (standard < 0)
        return OX_E_ARG;
    size_t start = storage->len;
    size_t m = ox_ber_open(storage, TAG_SEQ);
    ox_ber_put_int(storage, TAG_EXT_STANDARD, standard);
    if (criticality)
        p1_put_bits(storage, TAG_EXT_CRIT, criticality, 0);
    size_t vstart = 0;
    if (value.len) {
        size_t m2 = ox_ber_open(storage, TAG_EXT_VALUE);
        vstart = storage->len;
        ox_ber_put_raw(storage, value);
        ox_ber_close(storage, m2);
    }
    ox_ber_close(storage, m);
    if (storage->err)
        return storage->err;
    memset(e, 0, sizeof(*e));
    e->standard = standard;
    e->criticality = criticality;
    e->whole = ox_span_of(storage->p + start, storage->len - start);
    /* The value sits at the end of the element (both lengths are definite). */
    if (value.len)
        e->value = ox_span_of(storage->p + storage->len - value.len, value.len);
    (void)vstart;
    return 0;
}

const ox_p1_ext *ox_p1_exts_find(const ox_p1_exts *l, int32_t standard)
{
    for (uint32_t i = 0; i < l->n; i++)
        if (!l->v[i].is_private && l->v[i].standard == standard)
            return &l->v[i];
    return NULL;
}

/* ---- Trace ---- */
static int read_trace_elem(const p1_dec *d, ox_ber_rd *rd, bool internal, ox_p1_trace *t)
{
    memset(t, 0, sizeof(*t));
    ox_ber_rd in, set;
    P1_TRY(d, ox_ber_enter(rd, TAG_SEQ, &in));
    int rc = p1_read_gdi(d, &in, &t->gdi);
    if (rc)
        return rc;
    if (internal) {
        const uint8_t *at = in.p;
        P1_TRY(d, ox_ber_read_cstr(&in, TAG_IA5, OX_BER_STR_IA5, t->mta, sizeof(t->mta)));
        if (!t->mta[0])
            return P1_BAD(d, &in, at, OX_P1_R_VALUE);
    }
    const uint8_t *set_at = in.p;
    P1_TRY(d, ox_ber_enter(&in, TAG_SET, &set));
    uint32_t seen = 0;
    while (!ox_ber_at_end(&set)) {
        ox_ber_tlv x;
        const uint8_t *at = set.p;
        P1_TRY(d, ox_ber_peek(&set, &x));
        unsigned bit;
        if (x.tag == TAG_TR_ARRIVAL) {
            bit = 0;
        } else if (x.tag == TAG_TR_DEFERRED) {
            bit = 1;
        } else if (x.tag == TAG_TR_ROUTING) {
            bit = 2;
        } else if (x.tag == TAG_TR_OTHER) {
            bit = 3;
        } else if (x.tag == OX_P1_TAG_GDI) {
            bit = 4;
        } else if (x.tag == OX_P1_TAG_EITS) {
            bit = 5;
        } else if (internal && x.tag == TAG_IA5) {
            bit = 4; /* attempted CHOICE { mta MTAName, domain GlobalDomainIdentifier } */
        } else {
            return P1_BAD(d, &set, at, OX_P1_R_UNKNOWN);
        }
        if (p1_seen(&seen, bit))
            return P1_BAD(d, &set, at, OX_P1_R_DUPLICATE);
        int64_t v;
        uint32_t m;
        switch (bit) {
        case 0: P1_TRY(d, ox_p1_time_read(&set, TAG_TR_ARRIVAL, &t->arrival)); break;
        case 1:
            t->has_deferred = true;
            P1_TRY(d, ox_p1_time_read(&set, TAG_TR_DEFERRED, &t->deferred));
            break;
        case 2:
            /* RoutingAction ::= ENUMERATED { relayed(0), rerouted(1) } */
            P1_TRY(d, ox_ber_read_int_range(&set, TAG_TR_ROUTING, 0, 1, &v));
            t->routing_action = (int)v;
            break;
        case 3:
            if (d->ver == OX_P1_1984)
                return P1_BAD(d, &set, at, OX_P1_R_VERSION);
            if ((rc = p1_read_bits(d, &set, TAG_TR_OTHER, &m)) != 0)
                return rc;
            t->other_actions = (uint16_t)m;
            break;
        case 4:
            if (x.tag == TAG_IA5) {
                P1_TRY(d, ox_ber_read_cstr(&set, TAG_IA5, OX_BER_STR_IA5, t->attempted_mta,
                                           sizeof(t->attempted_mta)));
                if (!t->attempted_mta[0])
                    return P1_BAD(d, &set, at, OX_P1_R_VALUE);
            } else {
                t->has_attempted_domain = true;
                if ((rc = p1_read_gdi(d, &set, &t->attempted_domain)) != 0)
                    return rc;
            }
            break;
        default:
            if ((rc = p1_read_eits(d, &set, &t->converted)) != 0)
                return rc;
            break;
        }
    }
    if ((seen & 5u) != 5u)
        return P1_BAD(d, &in, set_at, OX_P1_R_MISSING);
    P1_TRY(d, ox_ber_leave(&in, &set));
    P1_TRY(d, ox_ber_leave(rd, &in));
    return 0;
}

int p1_read_trace(const p1_dec *d, ox_ber_rd *rd, uint32_t tag, bool internal, ox_p1_traces *l)
{
    ox_ber_rd in;
    const uint8_t *at0 = rd->p;
    P1_TRY(d, ox_ber_enter(rd, tag, &in));
    while (!ox_ber_at_end(&in)) {
        ox_p1_trace t;
        const uint8_t *at = in.p;
        int rc = read_trace_elem(d, &in, internal, &t);
        if (rc)
            return rc;
        rc = ox_p1_traces_add(l, d->alloc, &t, d->lim.max_trace);
        if (rc == OX_E_LIMIT)
            return P1_BAD(d, &in, at, OX_P1_R_TOO_MANY);
        if (rc)
            return rc;
    }
    if (l->n == 0) /* SIZE (1..ub-transfers) */
        return P1_BAD(d, rd, at0, OX_P1_R_MISSING);
    P1_TRY(d, ox_ber_leave(rd, &in));
    return 0;
}

static void put_trace_elem(ox_buf *w, const ox_p1_trace *t, bool internal, ox_p1_version v)
{
    size_t m = ox_ber_open(w, TAG_SEQ);
    put_gdi(w, &t->gdi);
    if (internal) {
        if (!t->mta[0])
            p1_wr_fail(w, OX_E_ARG);
        p1_put_str(w, TAG_IA5, OX_BER_STR_IA5, t->mta, OX_P1_UB_MTA_NAME);
    }
    /* DER order: universal, application, then context tags by number. */
    size_t s = ox_ber_open(w, TAG_SET);
    if (internal && t->attempted_mta[0])
        p1_put_str(w, TAG_IA5, OX_BER_STR_IA5, t->attempted_mta, OX_P1_UB_MTA_NAME);
    else if (t->has_attempted_domain)
        put_gdi(w, &t->attempted_domain);
    if (t->converted.present)
        p1_put_eits(w, &t->converted, v);
    ox_p1_time_put(w, TAG_TR_ARRIVAL, t->arrival);
    if (t->has_deferred)
        ox_p1_time_put(w, TAG_TR_DEFERRED, t->deferred);
    if (t->routing_action < 0 || t->routing_action > 1)
        p1_wr_fail(w, OX_E_ARG);
    ox_ber_put_int(w, TAG_TR_ROUTING, t->routing_action);
    if (t->other_actions) {
        if (v == OX_P1_1984)
            p1_wr_fail(w, OX_E_UNSUPPORTED);
        p1_put_bits(w, TAG_TR_OTHER, t->other_actions, 0);
    }
    ox_ber_close(w, s);
    ox_ber_close(w, m);
}

void p1_put_trace(ox_buf *w, uint32_t tag, const ox_p1_traces *l, bool internal, ox_p1_version v)
{
    if (!l->n)
        p1_wr_fail(w, OX_E_ARG); /* SIZE (1..ub-transfers) */
    size_t m = ox_ber_open(w, tag);
    for (uint32_t i = 0; i < l->n; i++)
        put_trace_elem(w, &l->v[i], internal, v);
    ox_ber_close(w, m);
}

int ox_p1_trace_encode(ox_buf *w, const ox_p1_traces *l, ox_p1_version v)
{
    p1_put_trace(w, OX_P1_TAG_TRACE, l, false, v);
    return ox_ber_wr_status(w);
}

int ox_p1_internal_trace_encode(ox_buf *w, const ox_p1_traces *l)
{
    p1_put_trace(w, TAG_SEQ, l, true, OX_P1_1988);
    return ox_ber_wr_status(w);
}

int ox_p1_internal_trace_decode(const ox_p1_ext *e, const ox_p1_limits *lim, const ox_alloc *a,
                                ox_p1_traces *out, ox_p1_diag *diag)
{
    p1_dec d;
    p1_dec_init(&d, OX_P1_1988, lim, a, diag);
    ox_ber_rd rd;
    P1_TRY(&d, ox_ber_rd_init(&rd, e->value, &d.lim.ber, diag ? &diag->ber : NULL));
    int rc = p1_read_trace(&d, &rd, TAG_SEQ, true, out);
    if (rc)
        return rc;
    if (!ox_ber_at_end(&rd))
        return p1_ber(&d, OX_BER_FAIL(&rd, rd.p, OX_BER_R_LEFTOVER));
    return 0;
}
