/* test_ber_types.c - the typed readers and writers: INTEGER, BOOLEAN, NULL, OBJECT
 * IDENTIFIER (binary and text), OCTET/BIT STRING reassembly, the character sets, UTCTime and
 * GeneralizedTime; byte-exact both ways and every error with its reason and offset. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/ber.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ox_ber_limits BER = {.der = false};
static const ox_ber_limits DER = {.der = true};
#define INT  OX_BER_UNIV(OX_BER_T_INTEGER)
#define BOOL OX_BER_UNIV(OX_BER_T_BOOLEAN)
#define OCT  OX_BER_UNIV(OX_BER_T_OCTET_STRING)
#define BITS OX_BER_UNIV(OX_BER_T_BIT_STRING)
#define OID  OX_BER_UNIV(OX_BER_T_OID)

static ox_buf hex(const char *text)
{
    ox_buf b;
    ox_buf_init(&b, NULL, NULL, 0);
    assert_int_equal(ox_hex_decode(&b, text), 0);
    return b;
}

static void assert_bytes(const ox_buf *got, const char *want_hex)
{
    ox_buf want = hex(want_hex);
    if (!ox_span_eq(ox_buf_span(got), ox_buf_span(&want))) {
        char g[512];
        ox_hex_encode(g, sizeof(g), ox_buf_span(got));
        print_message("got %s want %s\n", g, want_hex);
    }
    assert_true(ox_span_eq(ox_buf_span(got), ox_buf_span(&want)));
    ox_buf_free(&want);
}

/* A reader over |h| kept in |in| (freed by the caller). */
static void rd_hex(ox_ber_rd *rd, ox_buf *in, const char *h, const ox_ber_limits *lim,
                   ox_ber_diag *d)
{
    *in = hex(h);
    assert_int_equal(ox_ber_rd_init(rd, ox_buf_span(in), lim, d), 0);
}

static void expect_diag(const ox_ber_diag *d, ox_ber_reason r, size_t off)
{
    if (d->reason != r || d->offset != off)
        print_message("got %s at %zu, want %s at %zu\n", ox_ber_reason_name(d->reason), d->offset,
                      ox_ber_reason_name(r), off);
    assert_int_equal(d->reason, r);
    assert_int_equal(d->offset, off);
}

/* ---- INTEGER ---- */

static void test_int(void **state)
{
    (void)state;
    static const struct {
        int64_t v;
        const char *hex;
    } cases[] = {
        {0, "020100"},
        {1, "020101"},
        {-1, "0201ff"},
        {127, "02017f"},
        {128, "02020080"},
        {255, "020200ff"},
        {256, "02020100"},
        {-128, "020180"},
        {-129, "0202ff7f"},
        {32767, "02027fff"},
        {32768, "0203008000"},
        {-32768, "02028000"},
        {-32769, "0203ff7fff"},
        {2147483647, "02047fffffff"},
        {2147483648LL, "02050080000000"},
        {-2147483648LL, "020480000000"},
        {INT64_MAX, "02087fffffffffffffff"},
        {INT64_MIN, "02088000000000000000"},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(cases); i++) {
        ox_buf w;
        ox_buf_init(&w, NULL, NULL, 0);
        ox_ber_put_int(&w, 0, cases[i].v);
        assert_bytes(&w, cases[i].hex);
        for (int der = 0; der < 2; der++) {
            ox_ber_rd rd;
            ox_ber_diag d;
            ox_buf in;
            int64_t v;
            rd_hex(&rd, &in, cases[i].hex, der ? &DER : &BER, &d);
            assert_int_equal(ox_ber_read_int(&rd, INT, &v), 0);
            assert_true(v == cases[i].v);
            assert_true(ox_ber_at_end(&rd));
            ox_buf_free(&in);
        }
        ox_buf_free(&w);
    }
    /* IMPLICIT tags and ENUMERATED use the same content. */
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_ber_put_int(&w, OX_BER_CTX(2), 300);
    ox_ber_put_int(&w, OX_BER_UNIV(OX_BER_T_ENUMERATED), 3);
    assert_bytes(&w, "8202012c 0a0103");
    ox_ber_rd rd;
    ox_ber_diag d;
    int64_t v;
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&w), NULL, &d), 0);
    assert_int_equal(ox_ber_read_int(&rd, OX_BER_CTX(2), &v), 0);
    assert_int_equal(v, 300);
    assert_int_equal(ox_ber_read_int_range(&rd, OX_BER_UNIV(OX_BER_T_ENUMERATED), 0, 3, &v), 0);
    assert_int_equal(v, 3);
    ox_buf_free(&w);
}

static void test_int_errors(void **state)
{
    (void)state;
    ox_ber_rd rd;
    ox_ber_diag d;
    ox_buf in;
    int64_t v = 42;
    /* Empty contents (8.3.1). */
    rd_hex(&rd, &in, "3003 0200 00", &BER, &d);
    ox_ber_rd inner;
    assert_int_equal(ox_ber_enter(&rd, OX_BER_UNIV(16), &inner), 0);
    assert_int_equal(ox_ber_read_int(&inner, INT, &v), OX_E_PEER);
    expect_diag(&d, OX_BER_R_BAD_INTEGER, 2);
    assert_int_equal(v, 42);
    ox_buf_free(&in);
    /* Redundant leading octets (8.3.2): BER reads through them, DER refuses. */
    static const struct {
        const char *hex;
        int64_t v;
    } loose[] = {
        {"0202007f", 127},
        {"0202ff80", -128},
        {"02020000", 0},
        {"0202ffff", -1},
        {"020400000001", 1},
        {"0209007fffffffffffffff", INT64_MAX},
        {"0209ff8000000000000000", INT64_MIN},
        {"020c000000000000000000000005", 5},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(loose); i++) {
        rd_hex(&rd, &in, loose[i].hex, &BER, &d);
        assert_int_equal(ox_ber_read_int(&rd, INT, &v), 0);
        assert_true(v == loose[i].v);
        ox_buf_free(&in);
        rd_hex(&rd, &in, loose[i].hex, &DER, &d);
        assert_int_equal(ox_ber_read_int(&rd, INT, &v), OX_E_PEER);
        expect_diag(&d, OX_BER_R_BAD_INTEGER, 0);
        ox_buf_free(&in);
    }
    /* Valid INTEGERs outside int64. */
    static const char *const big[] = {"02090080000000000000 00", "0209ff7fffffffffffffff",
                                      "02090100000000000000 00"};
    for (size_t i = 0; i < OX_ARRAY_LEN(big); i++) {
        for (int der = 0; der < 2; der++) {
            rd_hex(&rd, &in, big[i], der ? &DER : &BER, &d);
            assert_int_equal(ox_ber_read_int(&rd, INT, &v), OX_E_PEER);
            expect_diag(&d, OX_BER_R_INT_RANGE, 0);
            ox_buf_free(&in);
        }
    }
    /* Range checks at both ends. */
    rd_hex(&rd, &in, "020100 02010a 02010b 0201ff", &BER, &d);
    assert_int_equal(ox_ber_read_int_range(&rd, INT, 0, 10, &v), 0);
    assert_int_equal(ox_ber_read_int_range(&rd, INT, 0, 10, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(ox_ber_read_int_range(&rd, INT, 0, 10, &v), OX_E_PEER);
    expect_diag(&d, OX_BER_R_INT_RANGE, 6);
    assert_int_equal(v, 10);
    ox_buf_free(&in);
    rd_hex(&rd, &in, "0201ff", &BER, &d);
    assert_int_equal(ox_ber_read_int_range(&rd, INT, 0, 10, &v), OX_E_PEER);
    expect_diag(&d, OX_BER_R_INT_RANGE, 0);
    ox_buf_free(&in);
}

/* ---- BOOLEAN, NULL ---- */

static void test_bool_null(void **state)
{
    (void)state;
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_ber_put_bool(&w, 0, true);
    ox_ber_put_bool(&w, 0, false);
    ox_ber_put_bool(&w, OX_BER_CTX(3), true);
    ox_ber_put_null(&w, 0);
    ox_ber_put_null(&w, OX_BER_CTX(1));
    assert_bytes(&w, "0101ff 010100 8301ff 0500 8100");
    ox_ber_rd rd;
    ox_ber_diag d;
    bool b;
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&w), &DER, &d), 0);
    assert_int_equal(ox_ber_read_bool(&rd, BOOL, &b), 0);
    assert_true(b);
    assert_int_equal(ox_ber_read_bool(&rd, BOOL, &b), 0);
    assert_false(b);
    assert_int_equal(ox_ber_read_bool(&rd, OX_BER_CTX(3), &b), 0);
    assert_true(b);
    assert_int_equal(ox_ber_read_null(&rd, OX_BER_UNIV(OX_BER_T_NULL)), 0);
    assert_int_equal(ox_ber_read_null(&rd, OX_BER_CTX(1)), 0);
    assert_true(ox_ber_at_end(&rd));
    ox_buf_free(&w);

    /* BER: any non-zero octet is TRUE (8.2.2); DER: only FF (11.1). */
    ox_buf in;
    rd_hex(&rd, &in, "010101 010180", &BER, &d);
    assert_int_equal(ox_ber_read_bool(&rd, BOOL, &b), 0);
    assert_true(b);
    assert_int_equal(ox_ber_read_bool(&rd, BOOL, &b), 0);
    assert_true(b);
    ox_buf_free(&in);
    rd_hex(&rd, &in, "010101", &DER, &d);
    assert_int_equal(ox_ber_read_bool(&rd, BOOL, &b), OX_E_PEER);
    expect_diag(&d, OX_BER_R_BAD_BOOLEAN, 0);
    ox_buf_free(&in);
    static const char *const bad_bool[] = {"0100", "01020000", "0102ffff"};
    for (size_t i = 0; i < OX_ARRAY_LEN(bad_bool); i++) {
        rd_hex(&rd, &in, bad_bool[i], &BER, &d);
        assert_int_equal(ox_ber_read_bool(&rd, BOOL, &b), OX_E_PEER);
        expect_diag(&d, OX_BER_R_BAD_BOOLEAN, 0);
        ox_buf_free(&in);
    }
    rd_hex(&rd, &in, "2103 0101ff", &BER, &d);
    assert_int_equal(ox_ber_read_bool(&rd, BOOL, &b), OX_E_PEER);
    expect_diag(&d, OX_BER_R_WRONG_FORM, 0);
    ox_buf_free(&in);
    /* NULL has no contents (8.8.2). */
    rd_hex(&rd, &in, "050100", &BER, &d);
    assert_int_equal(ox_ber_read_null(&rd, OX_BER_UNIV(OX_BER_T_NULL)), OX_E_PEER);
    expect_diag(&d, OX_BER_R_BAD_NULL, 0);
    ox_buf_free(&in);
    rd_hex(&rd, &in, "0400", &BER, &d);
    assert_int_equal(ox_ber_read_null(&rd, OX_BER_UNIV(OX_BER_T_NULL)), OX_E_PEER);
    expect_diag(&d, OX_BER_R_UNEXPECTED_TAG, 0);
    ox_buf_free(&in);
}

/* ---- OBJECT IDENTIFIER ---- */

static void check_oid(const char *text, const char *der_hex)
{
    ox_oid oid, back;
    assert_int_equal(ox_oid_from_text(&oid, text), 0);
    char t[300];
    assert_int_equal(ox_oid_to_text(&oid, t, sizeof(t)), (int)strlen(text));
    assert_string_equal(t, text);
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_ber_put_oid(&w, 0, &oid);
    assert_int_equal(ox_ber_wr_status(&w), 0);
    assert_bytes(&w, der_hex);
    ox_ber_rd rd;
    ox_ber_diag d;
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&w), &DER, &d), 0);
    assert_int_equal(ox_ber_read_oid(&rd, OID, &back), 0);
    assert_true(ox_oid_eq(&oid, &back));
    assert_true(ox_ber_at_end(&rd));
    ox_buf_free(&w);
}

static void test_oid(void **state)
{
    (void)state;
    /* X.690 8.19.5 example: {2 999 3} = 06 03 88 37 03. */
    check_oid("2.999.3", "0603883703");
    /* First-arc packing (8.19.4) at its edges. */
    check_oid("0.0", "060100");
    check_oid("0.39", "060127");
    check_oid("1.0", "060128");
    check_oid("1.39", "06014f");
    check_oid("2.0", "060150");
    check_oid("2.40", "060178");
    check_oid("2.47", "06017f");
    check_oid("2.48", "06028100");
    check_oid("2.4294967295", "0605908080804f");
    /* Ordinary ones: an MHS arc {2 6 0 1 6}, rsadsi 1.2.840.113549. */
    check_oid("2.6.0.1.6", "060456000106");
    check_oid("1.2.840.113549", "06062a864886f70d");
    /* Arcs up to 2^32-1; 127/128 and 16383/16384 subidentifier boundaries. */
    check_oid("1.2.127.128.16383.16384", "06092a7f8100ff7f818000");
    check_oid("1.2.4294967295", "06062a8fffffff7f");
    /* The longest: OX_OID_MAX_ARCS arcs. */
    check_oid("1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24",
              "06172a030405060708090a0b0c0d0e0f101112131415161718");
    /* Implicitly tagged. */
    ox_oid oid = OX_OID_INIT(2, 6, 0, 1, 6), back;
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_ber_put_oid(&w, OX_BER_CTX(0), &oid);
    assert_bytes(&w, "800456000106");
    ox_ber_rd rd;
    ox_ber_diag d;
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&w), NULL, &d), 0);
    assert_int_equal(ox_ber_read_oid(&rd, OX_BER_CTX(0), &back), 0);
    assert_true(ox_oid_eq(&oid, &back));
    ox_buf_free(&w);
    ox_oid other = OX_OID_INIT(2, 6, 0, 1, 7), shorter = OX_OID_INIT(2, 6, 0, 1);
    assert_false(ox_oid_eq(&oid, &other));
    assert_false(ox_oid_eq(&oid, &shorter));
}

static void test_oid_errors(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        ox_ber_reason why;
    } bad[] = {
        {"0600", OX_BER_R_BAD_OID},                         /* empty */
        {"06028001", OX_BER_R_BAD_OID},                     /* leading 0x80, first */
        {"06032a8001", OX_BER_R_BAD_OID},                   /* leading 0x80, later */
        {"06022a86", OX_BER_R_BAD_OID},                     /* unterminated */
        {"060188", OX_BER_R_BAD_OID},                       /* unterminated first */
        {"06062a9080808000", OX_BER_R_BAD_OID},             /* arc 2^32 */
        {"060b2aff ffffffffffffffff 7f", OX_BER_R_BAD_OID}, /* arc beyond 64 bits */
        {"0605 9080808050", OX_BER_R_BAD_OID},              /* 2.(2^32) */
        {"06182a030405060708090a0b0c0d0e0f10111213141516171819", OX_BER_R_OID_TOO_LONG},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bad); i++) {
        ox_ber_rd rd;
        ox_ber_diag d;
        ox_buf in;
        ox_oid oid;
        rd_hex(&rd, &in, bad[i].hex, &BER, &d);
        int rc = ox_ber_read_oid(&rd, OID, &oid);
        if (rc != OX_E_PEER)
            print_message("case %zu (%s) decoded\n", i, bad[i].hex);
        assert_int_equal(rc, OX_E_PEER);
        expect_diag(&d, bad[i].why, 0);
        ox_buf_free(&in);
    }
    ox_oid oid;
    ox_ber_reason why;
    assert_int_equal(ox_oid_decode(&oid, ox_span_of("\x2a\x03", 2), &why), 0);
    assert_int_equal(why, OX_BER_R_NONE);
    assert_int_equal(oid.n, 3);
    assert_int_equal(ox_oid_decode(&oid, ox_span_of(NULL, 0), &why), OX_E_PEER);
    assert_int_equal(why, OX_BER_R_BAD_OID);
    /* A constructed OID is the wrong form. */
    ox_ber_rd rd;
    ox_ber_diag d;
    ox_buf in;
    rd_hex(&rd, &in, "2603 06012a", &BER, &d);
    assert_int_equal(ox_ber_read_oid(&rd, OID, &oid), OX_E_PEER);
    expect_diag(&d, OX_BER_R_WRONG_FORM, 0);
    ox_buf_free(&in);
}

static void test_oid_text(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "1",
        "3.1",
        "0.40",
        "1.40",
        "1..2",
        "1.2.",
        ".1.2",
        "01.2",
        "1.02",
        "1.2.4294967296",
        "1.2.99999999999999999999",
        "a.b",
        "1.2x",
        "1.2 ",
        "-1.2",
        "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25",
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bad); i++) {
        ox_oid oid;
        if (ox_oid_from_text(&oid, bad[i]) != OX_E_ARG)
            print_message("accepted \"%s\"\n", bad[i]);
        assert_int_equal(ox_oid_from_text(&oid, bad[i]), OX_E_ARG);
    }
    ox_oid oid;
    assert_int_equal(ox_oid_from_text(&oid, "2.999.3"), 0);
    char t[8];
    assert_int_equal(ox_oid_to_text(&oid, t, 8), 7);
    assert_string_equal(t, "2.999.3");
    assert_int_equal(ox_oid_to_text(&oid, t, 7), OX_E_LIMIT);
    assert_string_equal(t, "");
    assert_int_equal(ox_oid_to_text(&oid, t, 2), OX_E_LIMIT);
    assert_int_equal(ox_oid_to_text(&oid, NULL, 0), OX_E_LIMIT);
    ox_oid junk;
    memset(&junk, 0, sizeof(junk));
    junk.n = OX_OID_MAX_ARCS + 1;
    assert_int_equal(ox_oid_to_text(&junk, t, sizeof(t)), OX_E_ARG);
    /* The writer refuses what from_text refuses. */
    static const ox_oid invalid[] = {
        {.arc = {1}, .n = 1},
        {.arc = {3, 1}, .n = 2},
        {.arc = {0, 40}, .n = 2},
        {.arc = {1, 40}, .n = 2},
        {.n = 0},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(invalid); i++) {
        ox_buf w;
        ox_buf_init(&w, NULL, NULL, 0);
        ox_ber_put_oid(&w, 0, &invalid[i]);
        assert_int_equal(ox_ber_wr_status(&w), OX_E_ARG);
        assert_int_equal(w.len, 0);
        ox_buf_free(&w);
    }
}

/* ---- OCTET STRING, BIT STRING ---- */

static void read_octets_ok(const char *h, const ox_ber_limits *lim, const char *want)
{
    ox_ber_rd rd;
    ox_ber_diag d;
    ox_buf in, out;
    rd_hex(&rd, &in, h, lim, &d);
    ox_buf_init(&out, NULL, NULL, 0);
    int rc = ox_ber_read_octets(&rd, OCT, &out);
    if (rc)
        print_message("%s: %s at %zu\n", h, ox_ber_reason_name(d.reason), d.offset);
    assert_int_equal(rc, 0);
    assert_true(ox_ber_at_end(&rd));
    assert_bytes(&out, want);
    ox_buf_free(&out);
    ox_buf_free(&in);
}

static void read_octets_fails(const char *h, const ox_ber_limits *lim, int want_rc,
                              ox_ber_reason why, size_t off)
{
    ox_ber_rd rd;
    ox_ber_diag d;
    ox_buf in, out;
    rd_hex(&rd, &in, h, lim, &d);
    ox_buf_init(&out, NULL, NULL, 0);
    ox_buf_append(&out, "k", 1);
    assert_int_equal(ox_ber_read_octets(&rd, OCT, &out), want_rc);
    expect_diag(&d, why, off);
    assert_int_equal(out.len, 1); /* nothing appended on failure */
    ox_buf_free(&out);
    ox_buf_free(&in);
}

static void test_octets(void **state)
{
    (void)state;
    read_octets_ok("0400", &DER, "");
    read_octets_ok("0403 010203", &DER, "010203");
    /* Constructed (8.7.3): definite, indefinite, nested, empty, mixed. */
    read_octets_ok("2400", &BER, "");
    read_octets_ok("2408 04020102 04020304", &BER, "01020304");
    read_octets_ok("2480 04020102 04020304 0000", &BER, "01020304");
    read_octets_ok("240d 040101 2405 040102 0400 040103", &BER, "010203");
    read_octets_ok("2480 040101 2480 040102 2480 040103 0000 0000 040104 0000", &BER, "01020304");
    read_octets_ok("2409 2480 040101 0000 0400", &BER, "01");
    /* IMPLICIT tag on the outer element only; the segments stay universal. */
    ox_ber_rd rd;
    ox_ber_diag d;
    ox_buf in, out;
    rd_hex(&rd, &in, "a106 040161 040162", &BER, &d);
    ox_buf_init(&out, NULL, NULL, 0);
    assert_int_equal(ox_ber_read_octets(&rd, OX_BER_CTX(1), &out), 0);
    assert_bytes(&out, "6162");
    ox_buf_free(&out);
    ox_buf_free(&in);
    /* A view needs a primitive string. */
    ox_span v;
    rd_hex(&rd, &in, "0402 aabb 2404 0402aabb", &BER, &d);
    assert_int_equal(ox_ber_read_octets_view(&rd, OCT, &v), 0);
    assert_int_equal(v.len, 2);
    assert_ptr_equal(v.p, in.p + 2);
    assert_int_equal(ox_ber_read_octets_view(&rd, OCT, &v), OX_E_PEER);
    expect_diag(&d, OX_BER_R_WRONG_FORM, 4);
    ox_buf_free(&in);

    /* Errors. */
    read_octets_fails("2403 020100", &BER, OX_E_PEER, OX_BER_R_BAD_SEGMENT, 2);
    read_octets_fails("2406 040101 030100", &BER, OX_E_PEER, OX_BER_R_BAD_SEGMENT, 5);
    read_octets_fails("2408 04020102 04020304", &DER, OX_E_PEER, OX_BER_R_WRONG_FORM, 0);
    read_octets_fails("2480 040101 0000", &DER, OX_E_PEER, OX_BER_R_INDEF_FORBIDDEN, 1);
    read_octets_fails("2404 040501 0203", &BER, OX_E_PEER, OX_BER_R_LEN_OVERRUN, 2);
    read_octets_fails("2480 040101", &BER, OX_E_PEER, OX_BER_R_EOC_MISSING, 0);
    read_octets_fails("0203 010203", &BER, OX_E_PEER, OX_BER_R_UNEXPECTED_TAG, 0);
    /* Nine levels of segments exceed the string nesting bound (OX_E_LIMIT). */
    read_octets_fails("2410 240e 240c 240a 2408 2406 2404 2402 2400", &BER, OX_E_LIMIT,
                      OX_BER_R_DEPTH, 16);
    read_octets_ok("240e 240c 240a 2408 2406 2404 2402 2400", &BER, "");
    /* The reader's own depth limit applies too. */
    const ox_ber_limits d2 = {.max_depth = 2};
    read_octets_fails("2406 2404 2402 0400", &d2, OX_E_LIMIT, OX_BER_R_DEPTH, 4);
}

static void test_bits(void **state)
{
    (void)state;
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_ber_put_bits(&w, 0, ox_span_of("\x80", 1), 7);
    ox_ber_put_bits(&w, 0, ox_span_of(NULL, 0), 0);
    ox_ber_put_bits(&w, OX_BER_CTX(4), ox_span_of("\x0a\x3b\x5f\x29\x1c\xd0", 6), 4);
    /* X.690 8.6.4.2 example: 0A3B5F291CD with 4 unused bits. */
    assert_bytes(&w, "03020780 030100 8407040a3b5f291cd0");
    static const struct {
        const char *hex;
        const char *bytes;
        unsigned unused;
        bool der;
    } ok[] = {
        {"03020780", "80", 7, true},
        {"030100", "", 0, true},
        {"0307040a3b5f291cd0", "0a3b5f291cd0", 4, true},
        /* X.690 8.6.4.2 constructed example. */
        {"2380 0303000a3b 0305045f291cd0 0000", "0a3b5f291cd0", 4, false},
        {"230c 0303000a3b 0305045f291cd0", "0a3b5f291cd0", 4, false},
        {"2300", "", 0, false},
        {"2308 030100 2303 030100", "", 0, false},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(ok); i++) {
        for (int der = 0; der < 2; der++) {
            if (der && !ok[i].der)
                continue;
            ox_ber_rd rd;
            ox_ber_diag d;
            ox_buf in, out;
            unsigned unused = 99;
            rd_hex(&rd, &in, ok[i].hex, der ? &DER : &BER, &d);
            ox_buf_init(&out, NULL, NULL, 0);
            assert_int_equal(ox_ber_read_bits(&rd, BITS, &out, &unused), 0);
            assert_bytes(&out, ok[i].bytes);
            assert_int_equal(unused, ok[i].unused);
            ox_buf_free(&out);
            ox_buf_free(&in);
        }
    }
    static const struct {
        const char *hex;
        ox_ber_reason why;
        size_t off;
    } bad[] = {
        {"0300", OX_BER_R_BAD_BIT_STRING, 0},
        {"030101", OX_BER_R_BAD_BIT_STRING, 0},
        {"03020800", OX_BER_R_BAD_BIT_STRING, 0},
        {"0302ff00", OX_BER_R_BAD_BIT_STRING, 0},
        /* Unused bits only in the last segment (8.6.4). */
        {"2308 0302040a 03020400", OX_BER_R_BAD_BIT_STRING, 6},
        {"2304 0303000a3b", OX_BER_R_LEN_OVERRUN, 2},
        {"2303 030104", OX_BER_R_BAD_BIT_STRING, 2},
        {"2302 0300", OX_BER_R_BAD_BIT_STRING, 2},
        {"2303 0a0100", OX_BER_R_BAD_SEGMENT, 2},
        {"2303 040100", OX_BER_R_BAD_SEGMENT, 2},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bad); i++) {
        ox_ber_rd rd;
        ox_ber_diag d;
        ox_buf in, out;
        unsigned unused = 99;
        rd_hex(&rd, &in, bad[i].hex, &BER, &d);
        ox_buf_init(&out, NULL, NULL, 0);
        assert_int_equal(ox_ber_read_bits(&rd, BITS, &out, &unused), OX_E_PEER);
        expect_diag(&d, bad[i].why, bad[i].off);
        assert_int_equal(out.len, 0);
        assert_int_equal(unused, 99);
        ox_buf_free(&out);
        ox_buf_free(&in);
    }
    /* The writer refuses what the reader refuses. */
    ox_buf e;
    ox_buf_init(&e, NULL, NULL, 0);
    ox_ber_put_bits(&e, 0, ox_span_of("\x80", 1), 8);
    assert_int_equal(ox_ber_wr_status(&e), OX_E_ARG);
    ox_buf_free(&e);
    ox_buf_init(&e, NULL, NULL, 0);
    ox_ber_put_bits(&e, 0, ox_span_of(NULL, 0), 1);
    assert_int_equal(ox_ber_wr_status(&e), OX_E_ARG);
    assert_int_equal(e.len, 0);
    ox_buf_free(&e);
    ox_buf_free(&w);
}

/* ---- character strings ---- */

static bool valid(ox_ber_strtype t, const char *s, size_t n)
{
    return ox_ber_str_valid(t, ox_span_of(s, n));
}

static void test_charsets(void **state)
{
    (void)state;
    /* X.680 41.2 Table 8 (NumericString), 41.4 Table 10 (PrintableString). */
    assert_true(valid(OX_BER_STR_NUMERIC, "0123 456789", 11));
    const char printable[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?";
    assert_true(valid(OX_BER_STR_PRINTABLE, printable, sizeof(printable) - 1));
    for (int c = 0; c < 256; c++) {
        char ch = (char)c;
        bool digit = c >= '0' && c <= '9';
        bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        bool p = digit || alpha || (c && strchr(" '()+,-./:=?", c));
        assert_int_equal(valid(OX_BER_STR_NUMERIC, &ch, 1), digit || c == ' ');
        assert_int_equal(valid(OX_BER_STR_PRINTABLE, &ch, 1), p);
        assert_int_equal(valid(OX_BER_STR_IA5, &ch, 1), c < 0x80);
        assert_int_equal(valid(OX_BER_STR_VISIBLE, &ch, 1), c >= 0x20 && c <= 0x7e);
        assert_int_equal(valid(OX_BER_STR_UTF8, &ch, 1), c < 0x80);
        assert_true(valid(OX_BER_STR_TELETEX, &ch, 1));
        assert_true(valid(OX_BER_STR_GENERAL, &ch, 1));
    }
    /* Empty is valid for every type; an unknown type is never valid. */
    static const ox_ber_strtype all[] = {
        OX_BER_STR_NUMERIC, OX_BER_STR_PRINTABLE, OX_BER_STR_TELETEX, OX_BER_STR_IA5,
        OX_BER_STR_VISIBLE, OX_BER_STR_GENERAL,   OX_BER_STR_UTF8};
    for (size_t i = 0; i < OX_ARRAY_LEN(all); i++)
        assert_true(valid(all[i], "", 0));
    assert_false(valid((ox_ber_strtype)99, "a", 1));
    /* UTF-8 (RFC 3629). */
    static const char *const utf8_ok[] = {"\xc3\xa9",         "\xe2\x82\xac", "\xf0\x9d\x84\x9e",
                                          "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80",
                                          "a\xc2\x80z",       "\xef\xbf\xbf"};
    for (size_t i = 0; i < OX_ARRAY_LEN(utf8_ok); i++)
        assert_true(valid(OX_BER_STR_UTF8, utf8_ok[i], strlen(utf8_ok[i])));
    static const char *const utf8_bad[] = {
        "\xc0\x80",         /* overlong NUL */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\x80",     /* overlong */
        "\xe0\x9f\xbf",     /* overlong */
        "\xf0\x8f\xbf\xbf", /* overlong */
        "\xed\xa0\x80",     /* surrogate */
        "\xed\xbf\xbf",     /* surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf5\x80\x80\x80",
        "\xff",
        "\x80",
        "\xbf", /* never a lead byte */
        "\xc3", /* truncated */
        "\xe2\x82",
        "\xf0\x9d\x84",
        "\xc3\x28", /* bad continuation */
        "\xe2\x28\xa1",
        "\xf0\x9d\x84\x28",
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(utf8_bad); i++)
        assert_false(valid(OX_BER_STR_UTF8, utf8_bad[i], strlen(utf8_bad[i])));
}

static void test_strings(void **state)
{
    (void)state;
    /* X.690 8.23 / 8.21.5.4 example: VisibleString "Jones" primitive, constructed,
     * constructed with indefinite length. */
    static const char *const jones[] = {
        "1a054a6f6e6573",
        "3a09 04034a6f6e 04026573",
        "3a80 04034a6f6e 04026573 0000",
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(jones); i++) {
        ox_ber_rd rd;
        ox_ber_diag d;
        ox_buf in, out;
        char c[6];
        rd_hex(&rd, &in, jones[i], &BER, &d);
        ox_buf_init(&out, NULL, NULL, 0);
        assert_int_equal(ox_ber_read_string(&rd, 0, OX_BER_STR_VISIBLE, &out), 0);
        assert_int_equal(out.len, 5);
        assert_memory_equal(out.p, "Jones", 5);
        assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), &BER, &d), 0);
        assert_int_equal(
            ox_ber_read_cstr(&rd, OX_BER_UNIV(OX_BER_T_VISIBLE_STRING), OX_BER_STR_VISIBLE, c, 6),
            0);
        assert_string_equal(c, "Jones");
        /* Exactly one byte short of room. */
        assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), &BER, &d), 0);
        memset(c, 'x', sizeof(c));
        assert_int_equal(ox_ber_read_cstr(&rd, 0, OX_BER_STR_VISIBLE, c, 5), OX_E_LIMIT);
        expect_diag(&d, OX_BER_R_SIZE, i == 0 ? 0 : 7);
        assert_string_equal(c, "");
        ox_buf_free(&out);
        ox_buf_free(&in);
    }
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_ber_put_cstr(&w, 0, OX_BER_STR_VISIBLE, "Jones");
    ox_ber_put_cstr(&w, 0, OX_BER_STR_PRINTABLE, "GB");
    ox_ber_put_cstr(&w, OX_BER_APP(1), OX_BER_STR_NUMERIC, "123");
    ox_ber_put_string(&w, 0, OX_BER_STR_UTF8, ox_span_of("\xc3\xa9", 2));
    ox_ber_put_string(&w, 0, OX_BER_STR_TELETEX, ox_span_of("\x00\xff", 2));
    ox_ber_put_cstr(&w, 0, OX_BER_STR_IA5, "");
    assert_int_equal(ox_ber_wr_status(&w), 0);
    assert_bytes(&w, "1a054a6f6e6573 13024742 4103313233 0c02c3a9 140200ff 1600");
    ox_buf_free(&w);

    /* Every type rejects a character outside its set at the element's offset, and the
     * writer refuses to send it. */
    static const struct {
        ox_ber_strtype type;
        const char *hex; /* element after a NULL (offset 2) */
    } bad[] = {
        {OX_BER_STR_NUMERIC, "12023161"},   {OX_BER_STR_PRINTABLE, "1302412a"},
        {OX_BER_STR_PRINTABLE, "13024140"}, {OX_BER_STR_IA5, "16024180"},
        {OX_BER_STR_VISIBLE, "1a02410a"},   {OX_BER_STR_VISIBLE, "1a02417f"},
        {OX_BER_STR_UTF8, "0c02c328"},      {OX_BER_STR_UTF8, "0c02c0 80"},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bad); i++) {
        char h[64];
        snprintf(h, sizeof(h), "0500 %s", bad[i].hex);
        ox_ber_rd rd;
        ox_ber_diag d;
        ox_buf in, out;
        rd_hex(&rd, &in, h, &BER, &d);
        assert_int_equal(ox_ber_read_null(&rd, OX_BER_UNIV(OX_BER_T_NULL)), 0);
        ox_buf_init(&out, NULL, NULL, 0);
        assert_int_equal(ox_ber_read_string(&rd, 0, bad[i].type, &out), OX_E_PEER);
        expect_diag(&d, OX_BER_R_BAD_CHAR, 2);
        assert_int_equal(out.len, 0);
        ox_buf_free(&out);
        ox_buf w2;
        ox_buf_init(&w2, NULL, NULL, 0);
        ox_ber_put_string(&w2, 0, bad[i].type, ox_span_of(in.p + 4, in.len - 4));
        assert_int_equal(ox_ber_wr_status(&w2), OX_E_ARG);
        assert_int_equal(w2.len, 0);
        ox_buf_free(&w2);
        ox_buf_free(&in);
    }
    /* Constructed strings are refused in DER; a bad character in a later segment. */
    ox_ber_rd rd;
    ox_ber_diag d;
    ox_buf in, out;
    rd_hex(&rd, &in, "3a09 04034a6f6e 04026573", &DER, &d);
    ox_buf_init(&out, NULL, NULL, 0);
    assert_int_equal(ox_ber_read_string(&rd, 0, OX_BER_STR_VISIBLE, &out), OX_E_PEER);
    expect_diag(&d, OX_BER_R_WRONG_FORM, 0);
    ox_buf_free(&in);
    rd_hex(&rd, &in, "3308 04024142 0402412a", &BER, &d);
    assert_int_equal(ox_ber_read_string(&rd, 0, OX_BER_STR_PRINTABLE, &out), OX_E_PEER);
    expect_diag(&d, OX_BER_R_BAD_CHAR, 0);
    assert_int_equal(out.len, 0);
    ox_buf_free(&in);
    ox_buf_free(&out);
}

static void test_cstr(void **state)
{
    (void)state;
    ox_ber_rd rd;
    ox_ber_diag d;
    ox_buf in;
    char c[4];
    /* cap 1 holds only the empty string; a one-byte string must not overflow it. */
    rd_hex(&rd, &in, "1300 130141", &BER, &d);
    memset(c, 'x', sizeof(c));
    assert_int_equal(ox_ber_read_cstr(&rd, 0, OX_BER_STR_PRINTABLE, c, 1), 0);
    assert_int_equal(c[0], '\0');
    assert_int_equal(c[1], 'x');
    assert_int_equal(ox_ber_read_cstr(&rd, 0, OX_BER_STR_PRINTABLE, c, 1), OX_E_LIMIT);
    expect_diag(&d, OX_BER_R_SIZE, 2);
    assert_int_equal(c[0], '\0');
    assert_int_equal(c[1], 'x');
    assert_int_equal(ox_ber_read_cstr(&rd, 0, OX_BER_STR_PRINTABLE, c, 2), 0);
    assert_string_equal(c, "A");
    ox_buf_free(&in);
    /* A NUL inside would cut the C string: refused (IA5 and Teletex allow the octet). */
    rd_hex(&rd, &in, "1603 410042", &BER, &d);
    assert_int_equal(ox_ber_read_cstr(&rd, 0, OX_BER_STR_IA5, c, 4), OX_E_PEER);
    expect_diag(&d, OX_BER_R_BAD_CHAR, 0);
    assert_string_equal(c, "");
    ox_buf_free(&in);
    rd_hex(&rd, &in, "1401 00", &BER, &d);
    assert_int_equal(ox_ber_read_cstr(&rd, 0, OX_BER_STR_TELETEX, c, 4), OX_E_PEER);
    expect_diag(&d, OX_BER_R_BAD_CHAR, 0);
    ox_buf_free(&in);
    /* Too long for the array, also when reassembled from segments. */
    rd_hex(&rd, &in, "3408 04024142 04024344", &BER, &d);
    assert_int_equal(ox_ber_read_cstr(&rd, 0, OX_BER_STR_TELETEX, c, 4), OX_E_LIMIT);
    expect_diag(&d, OX_BER_R_SIZE, 6);
    assert_string_equal(c, "");
    ox_buf_free(&in);
}

/* ---- time ---- */

static void check_time(const char *s, bool gen, int y, int mo, int dd, int h, int mi, int sec,
                       int ms, int off, bool zone)
{
    ox_ber_time t;
    ox_span sp = ox_span_of(s, strlen(s));
    int rc = gen ? ox_ber_parse_gentime(sp, &t) : ox_ber_parse_utctime(sp, &t);
    if (rc)
        print_message("refused \"%s\"\n", s);
    assert_int_equal(rc, 0);
    assert_int_equal(t.year, y);
    assert_int_equal(t.month, mo);
    assert_int_equal(t.day, dd);
    assert_int_equal(t.hour, h);
    assert_int_equal(t.minute, mi);
    assert_int_equal(t.second, sec);
    assert_int_equal(t.millis, ms);
    assert_int_equal(t.utc_offset_min, off);
    assert_int_equal(t.has_zone, zone);
}

static void test_time_parse(void **state)
{
    (void)state;
    /* UTCTime (X.680 47.3): YYMMDDhhmm[ss] with Z or +-hhmm; the 1950-2049 window. */
    check_time("9912312359Z", false, 1999, 12, 31, 23, 59, 0, 0, 0, true);
    check_time("991231235959Z", false, 1999, 12, 31, 23, 59, 59, 0, 0, true);
    check_time("4912312359Z", false, 2049, 12, 31, 23, 59, 0, 0, 0, true);
    check_time("5001010000Z", false, 1950, 1, 1, 0, 0, 0, 0, 0, true);
    check_time("0002290000Z", false, 2000, 2, 29, 0, 0, 0, 0, 0, true);
    check_time("240229120000+0130", false, 2024, 2, 29, 12, 0, 0, 0, 90, true);
    check_time("2402291200-0800", false, 2024, 2, 29, 12, 0, 0, 0, -480, true);
    check_time("850630235960Z", false, 1985, 6, 30, 23, 59, 60, 0, 0, true);
    /* GeneralizedTime (X.680 46.2): hour, minute or second precision, fractions of each,
     * local time or a zone with or without minutes. */
    check_time("20230615123456Z", true, 2023, 6, 15, 12, 34, 56, 0, 0, true);
    check_time("20230615123456", true, 2023, 6, 15, 12, 34, 56, 0, 0, false);
    check_time("20230615123456.5Z", true, 2023, 6, 15, 12, 34, 56, 500, 0, true);
    check_time("20230615123456,25Z", true, 2023, 6, 15, 12, 34, 56, 250, 0, true);
    check_time("20230615123456.123456789012Z", true, 2023, 6, 15, 12, 34, 56, 123, 0, true);
    check_time("20230615123456.007+0100", true, 2023, 6, 15, 12, 34, 56, 7, 60, true);
    check_time("2023061512Z", true, 2023, 6, 15, 12, 0, 0, 0, 0, true);
    check_time("2023061512", true, 2023, 6, 15, 12, 0, 0, 0, 0, false);
    check_time("202306151234-05", true, 2023, 6, 15, 12, 34, 0, 0, -300, true);
    check_time("2023061512.5Z", true, 2023, 6, 15, 12, 30, 0, 0, 0, true);
    check_time("2023061512.999999Z", true, 2023, 6, 15, 12, 59, 59, 996, 0, true);
    check_time("202306151230.5Z", true, 2023, 6, 15, 12, 30, 30, 0, 0, true);
    check_time("202306151230,25", true, 2023, 6, 15, 12, 30, 15, 0, 0, false);
    check_time("20000229000000Z", true, 2000, 2, 29, 0, 0, 0, 0, 0, true);
    check_time("16000229000000Z", true, 1600, 2, 29, 0, 0, 0, 0, 0, true);
    check_time("00010101000000Z", true, 1, 1, 1, 0, 0, 0, 0, 0, true);
    check_time("99991231235959Z", true, 9999, 12, 31, 23, 59, 59, 0, 0, true);

    static const char *const bad_utc[] = {
        "",
        "9912312359",      /* no zone */
        "991231235Z",      /* short */
        "9913012359Z",     /* month 13 */
        "9900012359Z",     /* month 0 */
        "9901002359Z",     /* day 0 */
        "9901322359Z",     /* day 32 */
        "9904312359Z",     /* 31 April */
        "9902290000Z",     /* 1999 is no leap year */
        "0002300000Z",     /* 30 February */
        "9901012400Z",     /* hour 24 */
        "9901012360Z",     /* minute 60 */
        "990101235961Z",   /* second 61 */
        "9901012359+2400", /* offset hours */
        "9901012359+0060", /* offset minutes */
        "9901012359+01",   /* UTCTime needs hhmm */
        "9901012359z",
        "99010123595Z",
        "9901012359ZZ",
        "9901012359Z ",
        "99-1012359Z",
        "990101235959.5Z", /* no fractions in UTCTime */
        " 901012359Z",
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bad_utc); i++) {
        ox_ber_time t;
        if (ox_ber_parse_utctime(ox_span_of(bad_utc[i], strlen(bad_utc[i])), &t) == 0)
            print_message("accepted UTCTime \"%s\"\n", bad_utc[i]);
        assert_int_equal(ox_ber_parse_utctime(ox_span_of(bad_utc[i], strlen(bad_utc[i])), &t),
                         OX_E_PEER);
    }
    static const char *const bad_gen[] = {
        "",
        "202306151",        /* short */
        "19000229000000Z",  /* 1900 is no leap year */
        "21000229000000Z",  /* nor 2100 */
        "20230229000000Z",  /* nor 2023 */
        "20231301000000Z",  /* month 13 */
        "20230631000000Z",  /* 31 June */
        "20230615240000Z",  /* hour 24 */
        "2023061512345Z",   /* odd digits */
        "20230615123456.Z", /* no fraction digits */
        "20230615123456.",
        "20230615123456Z1",
        "20230615123456+1",
        "20230615123456+0160",
        "20230615123456+2400",
        "20230615123456+01000",
        "2023061512345a",
        "20230615123456.5.5Z",
        "2023-06-15T12:34:56Z", /* ISO 8601 extended form is not ASN.1 */
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bad_gen); i++) {
        ox_ber_time t;
        if (ox_ber_parse_gentime(ox_span_of(bad_gen[i], strlen(bad_gen[i])), &t) == 0)
            print_message("accepted GeneralizedTime \"%s\"\n", bad_gen[i]);
        assert_int_equal(ox_ber_parse_gentime(ox_span_of(bad_gen[i], strlen(bad_gen[i])), &t),
                         OX_E_PEER);
    }
}

static void test_time_unix(void **state)
{
    (void)state;
    static const struct {
        const char *gen;
        int64_t unix_s;
    } cases[] = {
        {"19700101000000Z", 0},
        {"19691231235959Z", -1},
        {"20000229000000Z", 951782400},
        {"20000301000000Z", 951868800},
        {"20380119031408Z", 2147483648LL},
        {"99991231235959Z", 253402300799LL},
        {"00010101000000Z", -62135596800LL},
        {"20230615123456+0130", 1686832496LL - 5400},
        {"20230615123456-0130", 1686832496LL + 5400},
        {"20230615123456", 1686832496LL}, /* local time taken as UTC */
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(cases); i++) {
        ox_ber_time t, u;
        assert_int_equal(ox_ber_parse_gentime(ox_span_of(cases[i].gen, strlen(cases[i].gen)), &t),
                         0);
        assert_true(ox_ber_time_to_unix(&t) == cases[i].unix_s);
        ox_ber_time_from_unix(cases[i].unix_s, &u);
        assert_true(ox_ber_time_to_unix(&u) == cases[i].unix_s);
        assert_true(u.has_zone);
        assert_int_equal(u.utc_offset_min, 0);
        if (t.utc_offset_min == 0) {
            assert_int_equal(u.year, t.year);
            assert_int_equal(u.month, t.month);
            assert_int_equal(u.day, t.day);
            assert_int_equal(u.hour, t.hour);
            assert_int_equal(u.minute, t.minute);
            assert_int_equal(u.second, t.second);
        }
    }
    /* Every day from 1600 to 2400, at a time of day that moves: fields stay valid and both
     * directions agree; consecutive days are 86400 s apart. */
    int64_t start = -11676096000LL; /* 1600-01-01 */
    int prev_day = 0;
    for (int64_t day = 0; day < 292200; day++) {
        int64_t s = start + day * 86400 + (day * 7919) % 86400;
        ox_ber_time t;
        ox_ber_time_from_unix(s, &t);
        assert_true(ox_ber_time_to_unix(&t) == s);
        assert_true(t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= 31);
        assert_true(t.day == prev_day + 1 || t.day == 1);
        prev_day = t.day;
        char text[20];
        snprintf(text, sizeof(text), "%04d%02d%02d%02d%02d%02dZ", t.year, t.month, t.day, t.hour,
                 t.minute, t.second);
        ox_ber_time back;
        assert_int_equal(ox_ber_parse_gentime(ox_span_of(text, strlen(text)), &back), 0);
    }
}

static void test_time_write(void **state)
{
    (void)state;
    ox_ber_time t;
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    /* Converted to UTC, seconds always, Z, fractions without trailing zeros (X.690 11.7). */
    assert_int_equal(ox_ber_parse_gentime(ox_span_of("20231231233000-0100", 19), &t), 0);
    ox_ber_put_gentime(&w, 0, &t);
    ox_ber_put_utctime(&w, 0, &t);
    t.millis = 500;
    ox_ber_put_gentime(&w, 0, &t);
    t.millis = 120;
    ox_ber_put_gentime(&w, OX_BER_CTX(2), &t);
    t.millis = 7;
    ox_ber_put_gentime(&w, 0, &t);
    t.millis = 999;
    ox_ber_put_utctime(&w, 0, &t); /* UTCTime has no fraction */
    assert_int_equal(ox_ber_wr_status(&w), 0);
    assert_bytes(&w, "180f 32303234303130313030333030305a"
                     "170d 3234303130313030333030305a"
                     "1811 32303234303130313030333030302e355a"
                     "8212 32303234303130313030333030302e31325a"
                     "1813 32303234303130313030333030302e3030375a"
                     "170d 3234303130313030333030305a");
    /* Read back through the reader. */
    ox_ber_rd rd;
    ox_ber_diag d;
    ox_ber_time r;
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&w), &DER, &d), 0);
    assert_int_equal(ox_ber_read_gentime(&rd, 0, &r), 0);
    assert_true(ox_ber_time_to_unix(&r) == ox_ber_time_to_unix(&t));
    assert_int_equal(ox_ber_read_utctime(&rd, 0, &r), 0);
    assert_int_equal(r.year, 2024);
    assert_int_equal(ox_ber_read_gentime(&rd, 0, &r), 0);
    assert_int_equal(r.millis, 500);
    assert_int_equal(ox_ber_read_gentime(&rd, OX_BER_CTX(2), &r), 0);
    assert_int_equal(r.millis, 120);
    assert_int_equal(ox_ber_read_gentime(&rd, 0, &r), 0);
    assert_int_equal(r.millis, 7);
    assert_int_equal(ox_ber_read_utctime(&rd, 0, &r), 0);
    assert_true(ox_ber_at_end(&rd));
    ox_buf_free(&w);

    /* What we would refuse to read is never written. */
    static const struct {
        const char *gen;
        int millis, offset;
        bool utc;
    } bad[] = {
        {"20500101000000Z", 0, 0, true}, /* beyond the UTCTime window */
        {"19491231235959Z", 0, 0, true},
        {"20230615123456Z", 1000, 0, false},
        {"20230615123456Z", -1, 0, false},
        {"20230615123456Z", 0, 24 * 60, false},
        {"20230615123456Z", 0, -24 * 60, false},
        {"99991231235959+0000", 0, -60, false}, /* year 10000 in UTC */
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bad); i++) {
        assert_int_equal(ox_ber_parse_gentime(ox_span_of(bad[i].gen, strlen(bad[i].gen)), &t), 0);
        t.millis = bad[i].millis;
        t.utc_offset_min = bad[i].offset;
        ox_buf_init(&w, NULL, NULL, 0);
        if (bad[i].utc)
            ox_ber_put_utctime(&w, 0, &t);
        else
            ox_ber_put_gentime(&w, 0, &t);
        if (ox_ber_wr_status(&w) != OX_E_ARG)
            print_message("case %zu written\n", i);
        assert_int_equal(ox_ber_wr_status(&w), OX_E_ARG);
        assert_int_equal(w.len, 0);
        ox_buf_free(&w);
    }
    ox_ber_time inv = {.year = 2023, .month = 2, .day = 29};
    ox_buf_init(&w, NULL, NULL, 0);
    ox_ber_put_gentime(&w, 0, &inv);
    assert_int_equal(ox_ber_wr_status(&w), OX_E_ARG);
    inv.month = 13;
    ox_buf_reset(&w);
    ox_ber_put_utctime(&w, 0, &inv);
    assert_int_equal(ox_ber_wr_status(&w), OX_E_ARG);
    inv = (ox_ber_time){.year = 2023, .month = 1, .day = 1, .hour = -1};
    ox_buf_reset(&w);
    ox_ber_put_gentime(&w, 0, &inv);
    assert_int_equal(ox_ber_wr_status(&w), OX_E_ARG);
    ox_buf_free(&w);
}

static void test_time_read_errors(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        bool gen;
        int rc;
        ox_ber_reason why;
        size_t off;
    } bad[] = {
        {"0500 170b 393931333031323335395a", false, OX_E_PEER, OX_BER_R_BAD_TIME, 2},
        {"0500 1807 32303233303631", true, OX_E_PEER, OX_BER_R_BAD_TIME, 2},
        {"0500 170c 39393031303132333539 00 5a", false, OX_E_PEER, OX_BER_R_BAD_CHAR, 2},
        {"0500 180f 32303233303631353132333435365a", false, OX_E_PEER, OX_BER_R_UNEXPECTED_TAG, 2},
        {"0500 1a0d 3939303130313233353935395a", false, OX_E_PEER, OX_BER_R_UNEXPECTED_TAG, 2},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bad); i++) {
        ox_ber_rd rd;
        ox_ber_diag d;
        ox_buf in;
        ox_ber_time t;
        rd_hex(&rd, &in, bad[i].hex, &BER, &d);
        assert_int_equal(ox_ber_read_null(&rd, OX_BER_UNIV(OX_BER_T_NULL)), 0);
        int rc = bad[i].gen ? ox_ber_read_gentime(&rd, 0, &t) : ox_ber_read_utctime(&rd, 0, &t);
        assert_int_equal(rc, bad[i].rc);
        expect_diag(&d, bad[i].why, bad[i].off);
        ox_buf_free(&in);
    }
    /* BER allows a constructed time (it is a string type); DER does not. */
    ox_ber_rd rd;
    ox_ber_diag d;
    ox_buf in;
    ox_ber_time t;
    rd_hex(&rd, &in, "3711 0406393930313031 04073233353935395a", &BER, &d);
    assert_int_equal(ox_ber_read_utctime(&rd, 0, &t), 0);
    assert_int_equal(t.second, 59);
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), &DER, &d), 0);
    assert_int_equal(ox_ber_read_utctime(&rd, 0, &t), OX_E_PEER);
    expect_diag(&d, OX_BER_R_WRONG_FORM, 0);
    ox_buf_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_int_errors),
        cmocka_unit_test(test_bool_null),
        cmocka_unit_test(test_oid),
        cmocka_unit_test(test_oid_errors),
        cmocka_unit_test(test_oid_text),
        cmocka_unit_test(test_octets),
        cmocka_unit_test(test_bits),
        cmocka_unit_test(test_charsets),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_cstr),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_time_unix),
        cmocka_unit_test(test_time_write),
        cmocka_unit_test(test_time_read_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
