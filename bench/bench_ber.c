/* bench_ber.c - BER writer and reader throughput on a P1-shaped message: encode it with the
 *               writer, then decode it with a full walk that reads every field with the typed
 *               readers; prints MB/s and ns per message for each.
 * Shape (after X.411 Message / MessageTransferEnvelope, not a conformant P1 encoding - that is
 * src/p1's job): MTS identifier with global domain id, originator O/R name (C, ADMD, PRMD, O,
 * two OUs, surname, given name), content type, 5 trace elements with arrival times, 10
 * recipients each with O/R name, number and flags, and 2 KB of OCTET STRING content. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "openx400/ber.h"

/* Tags, as X.411 gives them for the productions named. */
#define T_MESSAGE      OX_BER_CTX(0) /* MTS-APDU message [0] IMPLICIT Message (SEQUENCE) */
#define T_ENVELOPE     OX_BER_UNIV(OX_BER_T_SET) /* MessageTransferEnvelope ::= SET */
#define T_MTS_ID       OX_BER_APP(4) /* MessageIdentifier ::= [APPLICATION 4] SEQUENCE */
#define T_GDI          OX_BER_APP(3) /* GlobalDomainIdentifier ::= [APPLICATION 3] SEQUENCE */
#define T_COUNTRY      OX_BER_APP(1) /* CountryName ::= [APPLICATION 1] CHOICE */
#define T_ADMD         OX_BER_APP(2) /* AdministrationDomainName ::= [APPLICATION 2] CHOICE */
#define T_ORNAME       OX_BER_APP(0) /* ORName ::= [APPLICATION 0] SEQUENCE */
#define T_SEQ          OX_BER_UNIV(OX_BER_T_SEQUENCE) /* BuiltInStandardAttributes, ... */
#define T_PRMD         OX_BER_CTX(2) /* private-domain-name [2] PrivateDomainName */
#define T_ORG          OX_BER_CTX(3) /* organization-name [3] IMPLICIT OrganizationName */
#define T_PERSONAL     OX_BER_CTX(5) /* personal-name [5] IMPLICIT PersonalName (SET) */
#define T_SURNAME      OX_BER_CTX(0) /* PersonalName surname [0] IMPLICIT PrintableString */
#define T_GIVEN        OX_BER_CTX(1) /* PersonalName given-name [1] IMPLICIT PrintableString */
#define T_OUS          OX_BER_CTX(6) /* organizational-unit-names [6] IMPLICIT SEQUENCE OF */
#define T_CONTENT_TYPE OX_BER_APP(6) /* BuiltInContentType ::= [APPLICATION 6] IMPLICIT INTEGER */
#define T_TRACE        OX_BER_APP(9) /* TraceInformation ::= [APPLICATION 9] IMPLICIT SEQUENCE OF */
#define T_DSI          OX_BER_UNIV(OX_BER_T_SET) /* DomainSuppliedInformation ::= SET */
#define T_ARRIVAL      OX_BER_CTX(0) /* arrival-time [0] IMPLICIT ArrivalTime (UTCTime) */
#define T_ROUTING      OX_BER_CTX(2) /* routing-action [2] IMPLICIT RoutingAction (ENUMERATED) */
#define T_RECIPIENTS   OX_BER_CTX(2) /* per-recipient-fields [2] SEQUENCE OF */
#define T_PER_RECIP    OX_BER_UNIV(OX_BER_T_SET) /* PerRecipientMessageTransferFields ::= SET */
#define T_RECIP_NUMBER OX_BER_CTX(0) /* originally-specified-recipient-number [0] IMPLICIT */
#define T_RECIP_FLAGS  OX_BER_CTX(1) /* per-recipient-indicators [1] IMPLICIT BIT STRING */
#define T_CONTENT      OX_BER_UNIV(OX_BER_T_OCTET_STRING) /* Content ::= OCTET STRING */

#define PRINTABLE OX_BER_STR_PRINTABLE

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void put_gdi(ox_buf *w, const char *c, const char *a, const char *p)
{
    size_t g = ox_ber_open(w, T_GDI);
    size_t m = ox_ber_open(w, T_COUNTRY);
    ox_ber_put_cstr(w, 0, PRINTABLE, c);
    ox_ber_close(w, m);
    m = ox_ber_open(w, T_ADMD);
    ox_ber_put_cstr(w, 0, PRINTABLE, a);
    ox_ber_close(w, m);
    ox_ber_put_cstr(w, 0, PRINTABLE, p);
    ox_ber_close(w, g);
}

static void put_orname(ox_buf *w, int i)
{
    char surname[32];
    snprintf(surname, sizeof(surname), "Smith %d", i);
    size_t o = ox_ber_open(w, T_ORNAME);
    size_t b = ox_ber_open(w, T_SEQ);
    size_t m = ox_ber_open(w, T_COUNTRY);
    ox_ber_put_cstr(w, 0, PRINTABLE, "GB");
    ox_ber_close(w, m);
    m = ox_ber_open(w, T_ADMD);
    ox_ber_put_cstr(w, 0, PRINTABLE, " ");
    ox_ber_close(w, m);
    m = ox_ber_open(w, T_PRMD);
    ox_ber_put_cstr(w, 0, PRINTABLE, "Site");
    ox_ber_close(w, m);
    ox_ber_put_cstr(w, T_ORG, PRINTABLE, "Example Organisation");
    m = ox_ber_open(w, T_PERSONAL);
    ox_ber_put_cstr(w, T_SURNAME, PRINTABLE, surname);
    ox_ber_put_cstr(w, T_GIVEN, PRINTABLE, "John");
    ox_ber_close(w, m);
    m = ox_ber_open(w, T_OUS);
    ox_ber_put_cstr(w, 0, PRINTABLE, "Research");
    ox_ber_put_cstr(w, 0, PRINTABLE, "Messaging");
    ox_ber_close(w, m);
    ox_ber_close(w, b);
    ox_ber_close(w, o);
}

static int encode(ox_buf *w, ox_span content)
{
    size_t msg = ox_ber_open(w, T_MESSAGE);
    size_t env = ox_ber_open(w, T_ENVELOPE);
    size_t id = ox_ber_open(w, T_MTS_ID);
    put_gdi(w, "GB", " ", "Site");
    ox_ber_put_cstr(w, 0, OX_BER_STR_IA5, "msg-0001@site.example");
    ox_ber_close(w, id);
    put_orname(w, 0);
    ox_ber_put_int(w, T_CONTENT_TYPE, 22);
    size_t tr = ox_ber_open(w, T_TRACE);
    for (int i = 0; i < 5; i++) {
        size_t e = ox_ber_open(w, T_SEQ);
        put_gdi(w, "GB", " ", "Relay");
        size_t d = ox_ber_open(w, T_DSI);
        ox_ber_time t;
        ox_ber_time_from_unix(1700000000 + i, &t);
        ox_ber_put_utctime(w, T_ARRIVAL, &t);
        ox_ber_put_int(w, T_ROUTING, 0);
        ox_ber_close(w, d);
        ox_ber_close(w, e);
    }
    ox_ber_close(w, tr);
    size_t rs = ox_ber_open(w, T_RECIPIENTS);
    for (int i = 0; i < 10; i++) {
        size_t r = ox_ber_open(w, T_PER_RECIP);
        put_orname(w, i + 1);
        ox_ber_put_int(w, T_RECIP_NUMBER, i + 1);
        ox_ber_put_bits(w, T_RECIP_FLAGS, ox_span_of("\x80", 1), 7);
        ox_ber_close(w, r);
    }
    ox_ber_close(w, rs);
    ox_ber_close(w, env);
    ox_ber_put_octets(w, T_CONTENT, content);
    ox_ber_close(w, msg);
    return ox_ber_wr_status(w);
}

/* ---- decode: every field through the typed readers ---- */

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

typedef struct sink {
    char s[64];
    int64_t n;
    ox_ber_time t;
    ox_buf bits;
    ox_span content;
    size_t fields;
} sink;

static int read_choice_str(ox_ber_rd *rd, uint32_t tag, sink *k)
{
    ox_ber_rd in;
    TRY(ox_ber_enter(rd, tag, &in));
    TRY(ox_ber_read_cstr(&in, 0, PRINTABLE, k->s, sizeof(k->s)));
    k->fields++;
    return ox_ber_leave(rd, &in);
}

static int read_gdi(ox_ber_rd *rd, sink *k)
{
    ox_ber_rd g;
    TRY(ox_ber_enter(rd, T_GDI, &g));
    TRY(read_choice_str(&g, T_COUNTRY, k));
    TRY(read_choice_str(&g, T_ADMD, k));
    TRY(ox_ber_read_cstr(&g, 0, PRINTABLE, k->s, sizeof(k->s)));
    k->fields++;
    return ox_ber_leave(rd, &g);
}

static int read_orname(ox_ber_rd *rd, sink *k)
{
    ox_ber_rd o, b, p, u;
    TRY(ox_ber_enter(rd, T_ORNAME, &o));
    TRY(ox_ber_enter(&o, T_SEQ, &b));
    TRY(read_choice_str(&b, T_COUNTRY, k));
    TRY(read_choice_str(&b, T_ADMD, k));
    TRY(read_choice_str(&b, T_PRMD, k));
    TRY(ox_ber_read_cstr(&b, T_ORG, PRINTABLE, k->s, sizeof(k->s)));
    TRY(ox_ber_enter(&b, T_PERSONAL, &p));
    TRY(ox_ber_read_cstr(&p, T_SURNAME, PRINTABLE, k->s, sizeof(k->s)));
    TRY(ox_ber_read_cstr(&p, T_GIVEN, PRINTABLE, k->s, sizeof(k->s)));
    TRY(ox_ber_leave(&b, &p));
    TRY(ox_ber_enter(&b, T_OUS, &u));
    while (!ox_ber_at_end(&u)) {
        TRY(ox_ber_read_cstr(&u, 0, PRINTABLE, k->s, sizeof(k->s)));
        k->fields++;
    }
    TRY(ox_ber_leave(&b, &u));
    TRY(ox_ber_leave(&o, &b));
    k->fields += 3;
    return ox_ber_leave(rd, &o);
}

static int decode(ox_span in, sink *k)
{
    ox_ber_rd rd, msg, env, id, tr, e, d, rs, r;
    TRY(ox_ber_rd_init(&rd, in, NULL, NULL));
    TRY(ox_ber_enter(&rd, T_MESSAGE, &msg));
    TRY(ox_ber_enter(&msg, T_ENVELOPE, &env));
    TRY(ox_ber_enter(&env, T_MTS_ID, &id));
    TRY(read_gdi(&id, k));
    TRY(ox_ber_read_cstr(&id, 0, OX_BER_STR_IA5, k->s, sizeof(k->s)));
    TRY(ox_ber_leave(&env, &id));
    TRY(read_orname(&env, k));
    TRY(ox_ber_read_int_range(&env, T_CONTENT_TYPE, 0, 32767, &k->n));
    TRY(ox_ber_enter(&env, T_TRACE, &tr));
    while (!ox_ber_at_end(&tr)) {
        TRY(ox_ber_enter(&tr, T_SEQ, &e));
        TRY(read_gdi(&e, k));
        TRY(ox_ber_enter(&e, T_DSI, &d));
        TRY(ox_ber_read_utctime(&d, T_ARRIVAL, &k->t));
        TRY(ox_ber_read_int_range(&d, T_ROUTING, 0, 1, &k->n));
        TRY(ox_ber_leave(&e, &d));
        TRY(ox_ber_leave(&tr, &e));
        k->fields += 2;
    }
    TRY(ox_ber_leave(&env, &tr));
    TRY(ox_ber_enter(&env, T_RECIPIENTS, &rs));
    while (!ox_ber_at_end(&rs)) {
        unsigned unused;
        TRY(ox_ber_enter(&rs, T_PER_RECIP, &r));
        TRY(read_orname(&r, k));
        TRY(ox_ber_read_int(&r, T_RECIP_NUMBER, &k->n));
        k->bits.len = 0;
        TRY(ox_ber_read_bits(&r, T_RECIP_FLAGS, &k->bits, &unused));
        TRY(ox_ber_leave(&rs, &r));
        k->fields += 2;
    }
    TRY(ox_ber_leave(&env, &rs));
    TRY(ox_ber_leave(&msg, &env));
    TRY(ox_ber_read_octets_view(&msg, T_CONTENT, &k->content));
    TRY(ox_ber_leave(&rd, &msg));
    k->fields += 3;
    return ox_ber_at_end(&rd) ? 0 : OX_E_PEER;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    static uint8_t content[2048];
    for (size_t i = 0; i < sizeof(content); i++)
        content[i] = (uint8_t)(i * 31);
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    if (encode(&w, ox_span_of(content, sizeof(content))) != 0) {
        fprintf(stderr, "encode failed\n");
        return 1;
    }
    size_t msg_len = w.len;
    sink k;
    memset(&k, 0, sizeof(k));
    ox_buf_init(&k.bits, NULL, NULL, 0);
    if (decode(ox_buf_span(&w), &k) != 0 || k.content.len != sizeof(content)) {
        fprintf(stderr, "decode failed\n");
        return 1;
    }
    size_t fields = k.fields;

    double t0 = now_s();
    size_t check = 0;
    for (long i = 0; i < iters; i++) {
        ox_buf_reset(&w); /* keeps the storage, as a connection's output buffer would */
        encode(&w, ox_span_of(content, sizeof(content)));
        check += w.len;
    }
    double enc_s = now_s() - t0;
    if (check != msg_len * (size_t)iters || w.err)
        return 1;

    t0 = now_s();
    for (long i = 0; i < iters; i++) {
        k.fields = 0;
        if (decode(ox_buf_span(&w), &k) != 0)
            return 1;
    }
    double dec_s = now_s() - t0;

    double mb = (double)msg_len * (double)iters / 1e6;
    printf("bench_ber: P1-shaped message, %zu bytes (2048 content), %zu fields, %ld iterations\n",
           msg_len, fields, iters);
    printf("  encode: %8.1f MB/s %8.0f ns/message\n", mb / enc_s, enc_s * 1e9 / (double)iters);
    printf("  decode: %8.1f MB/s %8.0f ns/message (full walk, typed reads)\n", mb / dec_s,
           dec_s * 1e9 / (double)iters);
    ox_buf_free(&k.bits);
    ox_buf_free(&w);
    return 0;
}
