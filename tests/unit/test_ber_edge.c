/* test_ber_edge.c - edges found in review: the reserved UNIVERSAL 0 (only ever 00 00), the
 * DER forms of UTCTime and GeneralizedTime in DER-strict mode, time arithmetic at and beyond
 * the ends of the calendar (no overflow whatever the caller's fields), and the remaining
 * error branches of BIT STRING segments and time zones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/ber.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static const ox_ber_limits BER = {.der = false};
static const ox_ber_limits DER = {.der = true};
#define SEQ  OX_BER_UNIV(OX_BER_T_SEQUENCE)
#define BITS OX_BER_UNIV(OX_BER_T_BIT_STRING)
#define NUL  OX_BER_UNIV(OX_BER_T_NULL)

static ox_buf hex(const char *text)
{
    ox_buf b;
    ox_buf_init(&b, NULL, NULL, 0);
    assert_int_equal(ox_hex_decode(&b, text), 0);
    return b;
}

static void expect_diag(const ox_ber_diag *d, ox_ber_reason r, size_t off)
{
    if (d->reason != r || d->offset != off)
        print_message("got %s at %zu, want %s at %zu\n", ox_ber_reason_name(d->reason), d->offset,
                      ox_ber_reason_name(r), off);
    assert_int_equal(d->reason, r);
    assert_int_equal(d->offset, off);
    assert_true(d->line > 0);
}

/* Reads every element of |h| at the top level (entering nothing); returns the first error. */
static int next_all(const char *h, const ox_ber_limits *lim, ox_ber_diag *d)
{
    ox_buf in = hex(h);
    ox_ber_rd rd;
    int rc = ox_ber_rd_init(&rd, ox_buf_span(&in), lim, d);
    while (rc == 0 && !ox_ber_at_end(&rd)) {
        ox_ber_tlv t;
        rc = ox_ber_next(&rd, &t);
    }
    ox_buf_free(&in);
    return rc;
}

/* ---- UNIVERSAL 0 ---- */

static void test_universal_zero(void **state)
{
    (void)state;
    ox_ber_diag d;
    /* X.680 8.6 Table 1: UNIVERSAL 0 is reserved for the encoding rules; in BER it is only the
     * end-of-contents 00 00. Constructed (20) it is refused wherever it appears. */
    for (int der = 0; der < 2; der++) {
        const ox_ber_limits *lim = der ? &DER : &BER;
        assert_int_equal(next_all("2000", lim, &d), OX_E_PEER);
        expect_diag(&d, OX_BER_R_BAD_TAG, 0);
        assert_int_equal(next_all("0500 2003 020101", lim, &d), OX_E_PEER);
        expect_diag(&d, OX_BER_R_BAD_TAG, 2);
    }
    /* Inside an indefinite element it is found by the end-of-contents search. */
    assert_int_equal(next_all("3080 2000 0000", &BER, &d), OX_E_PEER);
    expect_diag(&d, OX_BER_R_BAD_TAG, 2);
    /* Inside a definite element, when entered. */
    ox_buf in = hex("3004 2002 0500");
    ox_ber_rd rd, inner;
    ox_ber_tlv t;
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), &BER, &d), 0);
    assert_int_equal(ox_ber_enter(&rd, SEQ, &inner), 0);
    assert_false(ox_ber_peek_tag(&inner, OX_BER_UNIV(0)));
    assert_int_equal(ox_ber_next(&inner, &t), OX_E_PEER);
    expect_diag(&d, OX_BER_R_BAD_TAG, 2);
    ox_buf_free(&in);
    /* Unchanged: 00 00 is an unexpected EOC, 00 nn a bad one, high form of 0 a bad tag. */
    assert_int_equal(next_all("0000", &BER, &d), OX_E_PEER);
    expect_diag(&d, OX_BER_R_UNEXPECTED_EOC, 0);
    assert_int_equal(next_all("000100", &BER, &d), OX_E_PEER);
    expect_diag(&d, OX_BER_R_BAD_EOC, 0);
    assert_int_equal(next_all("3f0000", &BER, &d), OX_E_PEER);
    expect_diag(&d, OX_BER_R_BAD_TAG, 0);
    /* Other universal constructed tags are fine, and so is [APPLICATION 0] / [0]. */
    assert_int_equal(next_all("3000 6000 a000 4000 8000", &DER, &d), 0);

    /* The writer never produces it: every path refuses tag UNIVERSAL 0 with OX_E_ARG. */
    static const int paths = 5;
    for (int k = 0; k < paths; k++) {
        ox_buf w;
        ox_buf_init(&w, NULL, NULL, 0);
        switch (k) {
        case 0: assert_int_equal(ox_ber_open(&w, OX_BER_UNIV(0)), 0); break;
        case 1: ox_ber_open_indef(&w, OX_BER_UNIV(0)); break;
        case 2: ox_ber_put_header(&w, OX_BER_UNIV(0), false, 0); break;
        case 3: ox_ber_put_header(&w, OX_BER_UNIV(0), true, 3); break;
        case 4: ox_ber_put_prim(&w, OX_BER_UNIV(0), "x", 1); break;
        }
        assert_int_equal(ox_ber_wr_status(&w), OX_E_ARG);
        assert_int_equal(w.len, 0);
        ox_buf_free(&w);
    }
    /* ... while the end-of-contents and the typed writers' "tag 0" still work. */
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_ber_open_indef(&w, SEQ);
    ox_ber_put_null(&w, 0);
    ox_ber_put_eoc(&w);
    assert_int_equal(ox_ber_wr_status(&w), 0);
    ox_buf want = hex("3080 0500 0000");
    assert_true(ox_span_eq(ox_buf_span(&w), ox_buf_span(&want)));
    ox_buf_free(&want);
    ox_buf_free(&w);
}

/* ---- DER time forms ---- */

/* Reads the time element that follows a NULL in |h| under BER and under DER. */
static void check_der_time(const char *text, bool gen, bool der_ok)
{
    char h[256];
    size_t n = strlen(text);
    int len = snprintf(h, sizeof(h), "0500 %02x%02zx", gen ? 0x18 : 0x17, n);
    for (size_t i = 0; i < n; i++)
        len += snprintf(h + len, sizeof(h) - (size_t)len, "%02x", (unsigned char)text[i]);
    ox_buf in = hex(h);
    for (int der = 0; der < 2; der++) {
        ox_ber_rd rd;
        ox_ber_diag d;
        ox_ber_time t;
        assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), der ? &DER : &BER, &d), 0);
        assert_int_equal(ox_ber_read_null(&rd, NUL), 0);
        const uint8_t *at = rd.p;
        int rc = gen ? ox_ber_read_gentime(&rd, 0, &t) : ox_ber_read_utctime(&rd, 0, &t);
        bool want_ok = !der || der_ok;
        if ((rc == 0) != want_ok)
            print_message("%s \"%s\": rc %d under %s\n", gen ? "GeneralizedTime" : "UTCTime", text,
                          rc, der ? "DER" : "BER");
        if (want_ok) {
            assert_int_equal(rc, 0);
            assert_true(ox_ber_at_end(&rd));
        } else {
            assert_int_equal(rc, OX_E_PEER);
            expect_diag(&d, OX_BER_R_BAD_TIME, 2);
            /* The reader did not move: the element can still be read as a string. */
            assert_ptr_equal(rd.p, at);
            char s[64];
            assert_int_equal(ox_ber_read_cstr(&rd,
                                              gen ? OX_BER_UNIV(OX_BER_T_GENERALIZED_TIME)
                                                  : OX_BER_UNIV(OX_BER_T_UTC_TIME),
                                              OX_BER_STR_VISIBLE, s, sizeof(s)),
                             0);
            assert_string_equal(s, text);
        }
    }
    ox_buf_free(&in);
}

static void test_der_time_forms(void **state)
{
    (void)state;
    /* X.690 11.8: UTCTime is YYMMDDhhmmssZ. */
    check_der_time("991231235959Z", false, true);
    check_der_time("000229000000Z", false, true);
    check_der_time("9912312359Z", false, false);       /* no seconds */
    check_der_time("991231235959+0100", false, false); /* not Z */
    check_der_time("9912312359-0500", false, false);
    /* X.690 11.7: GeneralizedTime is YYYYMMDDhhmmss[.f]Z, '.', no trailing zero. */
    check_der_time("20230615123456Z", true, true);
    check_der_time("20230615123456.5Z", true, true);
    check_der_time("20230615123456.05Z", true, true);
    check_der_time("20230615123456.123456789Z", true, true);
    check_der_time("20230615123456", true, false);      /* local time */
    check_der_time("20230615123456+0100", true, false); /* offset */
    check_der_time("202306151234Z", true, false);       /* no seconds */
    check_der_time("2023061512Z", true, false);
    check_der_time("202306151230.5Z", true, false); /* fraction of a minute */
    check_der_time("2023061512.5Z", true, false);   /* fraction of an hour */
    check_der_time("20230615123456.50Z", true, false);
    check_der_time("20230615123456.0Z", true, false);
    check_der_time("20230615123456,5Z", true, false);
    check_der_time("20230615123456.5+0100", true, false);

    /* A text the parser refuses is BAD_TIME in both modes; one longer than the reader's
     * 39-octet buffer is a size limit (a 30-digit fraction is valid but not kept). */
    ox_ber_rd rd;
    ox_ber_diag d;
    ox_ber_time t;
    const char *const long_gen = "20230615123456.123456789012345678901234567890Z";
    char h[256];
    int len = snprintf(h, sizeof(h), "18%02zx", strlen(long_gen));
    for (size_t i = 0; long_gen[i]; i++)
        len += snprintf(h + len, sizeof(h) - (size_t)len, "%02x", (unsigned char)long_gen[i]);
    ox_buf in = hex(h);
    assert_int_equal(ox_ber_parse_gentime(ox_span_of(long_gen, strlen(long_gen)), &t), 0);
    assert_int_equal(t.millis, 123);
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), &BER, &d), 0);
    assert_int_equal(ox_ber_read_gentime(&rd, 0, &t), OX_E_LIMIT);
    expect_diag(&d, OX_BER_R_SIZE, 0);
    assert_ptr_equal(rd.p, in.p);
    ox_buf_free(&in);
}

/* ---- time arithmetic at the ends ---- */

static void test_time_extremes(void **state)
{
    (void)state;
    ox_ber_time t, u;
    /* Year 0 (1 BC, a leap year in the proleptic Gregorian calendar) and the day before. */
    assert_int_equal(ox_ber_parse_gentime(ox_span_of("00000101000000Z", 15), &t), 0);
    assert_true(ox_ber_time_to_unix(&t) == -62167219200LL);
    assert_int_equal(ox_ber_parse_gentime(ox_span_of("00000229120000Z", 15), &t), 0);
    ox_ber_time_from_unix(-62167219201LL, &u);
    assert_int_equal(u.year, -1);
    assert_int_equal(u.month, 12);
    assert_int_equal(u.day, 31);
    assert_int_equal(u.hour, 23);
    assert_int_equal(u.minute, 59);
    assert_int_equal(u.second, 59);
    assert_true(ox_ber_time_to_unix(&u) == -62167219201LL);
    /* A year before 0 is never written. */
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_ber_put_gentime(&w, 0, &u);
    assert_int_equal(ox_ber_wr_status(&w), OX_E_ARG);
    assert_int_equal(w.len, 0);
    ox_buf_free(&w);
    /* Whatever fields a caller passes, the arithmetic does not overflow (UBSan watches). */
    static const int vals[] = {INT_MIN, -1, 0, 1, INT_MAX};
    for (size_t a = 0; a < OX_ARRAY_LEN(vals); a++) {
        for (size_t b = 0; b < OX_ARRAY_LEN(vals); b++) {
            ox_ber_time x = {.year = vals[a],
                             .month = vals[b],
                             .day = vals[a],
                             .hour = vals[b],
                             .minute = vals[a],
                             .second = vals[b],
                             .utc_offset_min = vals[a]};
            (void)ox_ber_time_to_unix(&x);
            ox_buf_init(&w, NULL, NULL, 0);
            ox_ber_put_gentime(&w, 0, &x);
            ox_ber_put_utctime(&w, 0, &x);
            /* Only 0001-01-01T01:01:01+00:01 is a date, and UTCTime cannot hold it. */
            assert_int_equal(ox_ber_wr_status(&w), OX_E_ARG);
            assert_int_equal(w.len, vals[a] == 1 && vals[b] == 1 ? 17 : 0);
            ox_buf_free(&w);
        }
    }
    ox_ber_time_from_unix(INT64_MAX, &u);
    ox_ber_time_from_unix(INT64_MIN, &u);
    ox_ber_time_from_unix(INT64_MIN + 1, &u);
    /* +-10000 years round-trip exactly. */
    static const int64_t secs[] = {-377705116800LL, -62135596801LL, 253402300800LL,
                                   253402300799LL + 86400LL * 366 * 8000};
    for (size_t i = 0; i < OX_ARRAY_LEN(secs); i++) {
        ox_ber_time_from_unix(secs[i], &u);
        assert_true(ox_ber_time_to_unix(&u) == secs[i]);
    }
}

/* ---- remaining error branches ---- */

static void test_more_errors(void **state)
{
    (void)state;
    /* A constructed BIT STRING whose segment claims 8 unused bits (X.690 8.6.2.2). */
    static const struct {
        const char *hex;
        size_t off;
    } bits[] = {
        {"2304 03020800", 2},
        {"2308 03020000 03020800", 6},
        {"2380 0302ff00 0000", 2},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bits); i++) {
        ox_buf in = hex(bits[i].hex), out;
        ox_ber_rd rd;
        ox_ber_diag d;
        unsigned unused = 99;
        ox_buf_init(&out, NULL, NULL, 0);
        assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), &BER, &d), 0);
        assert_int_equal(ox_ber_read_bits(&rd, BITS, &out, &unused), OX_E_PEER);
        expect_diag(&d, OX_BER_R_BAD_BIT_STRING, bits[i].off);
        assert_int_equal(out.len, 0);
        assert_int_equal(unused, 99);
        assert_ptr_equal(rd.p, in.p);
        ox_buf_free(&out);
        ox_buf_free(&in);
    }
    /* Zones with non-digits, in both types. */
    static const char *const utc[] = {"9901012359+ab00", "9901012359+01ab", "9901012359+0 00"};
    static const char *const gen[] = {"20230615123456+0a", "20230615123456-01a0", "20230615123456+",
                                      "20230615123456Z+0100"};
    ox_ber_time t;
    for (size_t i = 0; i < OX_ARRAY_LEN(utc); i++)
        assert_int_equal(ox_ber_parse_utctime(ox_span_of(utc[i], strlen(utc[i])), &t), OX_E_PEER);
    for (size_t i = 0; i < OX_ARRAY_LEN(gen); i++)
        assert_int_equal(ox_ber_parse_gentime(ox_span_of(gen[i], strlen(gen[i])), &t), OX_E_PEER);
    /* Non-digits in every field position. */
    const char *base_u = "991231235959Z", *base_g = "20231231235959Z";
    for (size_t i = 0; i < 12; i++) {
        char s[16];
        memcpy(s, base_u, 14);
        s[i] = 'x';
        assert_int_equal(ox_ber_parse_utctime(ox_span_of(s, 13), &t), OX_E_PEER);
    }
    for (size_t i = 0; i < 14; i++) {
        char s[16];
        memcpy(s, base_g, 16);
        s[i] = '/';
        assert_int_equal(ox_ber_parse_gentime(ox_span_of(s, 15), &t), OX_E_PEER);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_universal_zero),
        cmocka_unit_test(test_der_time_forms),
        cmocka_unit_test(test_time_extremes),
        cmocka_unit_test(test_more_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
