/* test_ber.c - X.690 element structure: identifier and length octets, scopes, indefinite
 * lengths, BER/DER strictness and every structural error path with its reason and offset.
 * Types are in test_ber_types.c, the writer in test_ber_write.c, truncation sweeps in
 * test_ber_split.c. */
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
#define SEQ OX_BER_UNIV(OX_BER_T_SEQUENCE)
#define INT OX_BER_UNIV(OX_BER_T_INTEGER)
#define OCT OX_BER_UNIV(OX_BER_T_OCTET_STRING)

static ox_buf hex(const char *text)
{
    ox_buf b;
    ox_buf_init(&b, NULL, NULL, 0);
    assert_int_equal(ox_hex_decode(&b, text), 0);
    return b;
}

/* Walks every element of |in|, entering every constructed one; returns the first error. */
static int walk(ox_span in, const ox_ber_limits *lim, ox_ber_diag *d)
{
    ox_ber_rd st[80];
    size_t top = 0;
    int rc = ox_ber_rd_init(&st[0], in, lim, d);
    if (rc)
        return rc;
    for (;;) {
        ox_ber_rd *cur = &st[top];
        if (ox_ber_at_end(cur)) {
            if (top == 0)
                return 0;
            if ((rc = ox_ber_leave(&st[top - 1], cur)) != 0)
                return rc;
            top--;
            continue;
        }
        ox_ber_tlv t;
        if ((rc = ox_ber_next(cur, &t)) != 0)
            return rc;
        if (t.constructed) {
            assert_true(top + 1 < OX_ARRAY_LEN(st));
            if ((rc = ox_ber_enter_tlv(cur, &t, &st[top + 1])) != 0)
                return rc;
            top++;
        }
    }
}

static void walk_ok(const char *h, const ox_ber_limits *lim)
{
    ox_buf b = hex(h);
    ox_ber_diag d;
    int rc = walk(ox_buf_span(&b), lim, &d);
    if (rc)
        print_message("%s: %s at %zu\n", h, ox_ber_reason_name(d.reason), d.offset);
    assert_int_equal(rc, 0);
    assert_int_equal(d.reason, OX_BER_R_NONE);
    ox_buf_free(&b);
}

static void walk_fails(const char *h, const ox_ber_limits *lim, int want_rc, ox_ber_reason want,
                       size_t off)
{
    ox_buf b = hex(h);
    ox_ber_diag d;
    int rc = walk(ox_buf_span(&b), lim, &d);
    if (rc != want_rc || d.reason != want || d.offset != off)
        print_message("%s: got %d %s at %zu, want %s at %zu\n", h, rc, ox_ber_reason_name(d.reason),
                      d.offset, ox_ber_reason_name(want), off);
    assert_int_equal(rc, want_rc);
    assert_int_equal(d.reason, want);
    assert_int_equal(d.offset, off);
    assert_true(d.line > 0);
    ox_buf_free(&b);
}

/* ---- length octets ---- */

/* OCTET STRING of |n| bytes behind the length octets |len_hex|; checks extent and header. */
static void check_len(const char *len_hex, size_t n, const ox_ber_limits *lim, int want_rc,
                      ox_ber_reason want)
{
    ox_buf b = hex(len_hex);
    size_t hdr = 1 + b.len;
    uint8_t *in = malloc(hdr + n);
    assert_non_null(in);
    in[0] = 0x04;
    memcpy(in + 1, b.p, b.len);
    for (size_t i = 0; i < n; i++)
        in[hdr + i] = (uint8_t)(i * 7);
    ox_ber_rd rd;
    ox_ber_diag d;
    ox_ber_tlv t;
    assert_int_equal(ox_ber_rd_init(&rd, ox_span_of(in, hdr + n), lim, &d), 0);
    int rc = ox_ber_next(&rd, &t);
    assert_int_equal(rc, want_rc);
    assert_int_equal(d.reason, want);
    if (rc == 0) {
        assert_int_equal(t.tag, OCT);
        assert_false(t.constructed);
        assert_false(t.indefinite);
        assert_ptr_equal(t.value.p, in + hdr);
        assert_int_equal(t.value.len, n);
        assert_ptr_equal(t.whole.p, in);
        assert_int_equal(t.whole.len, hdr + n);
        assert_true(ox_ber_at_end(&rd));
    } else {
        assert_int_equal(d.offset, 1); /* the first length octet */
    }
    free(in);
    ox_buf_free(&b);
}

static void test_len_forms(void **state)
{
    (void)state;
    /* X.690 8.1.3.4 / 8.1.3.5: short form up to 127, long form from 128 (L = 201 is
     * 81 C9 in the standard's example); 1, 2, 3 and 4 length octets at their boundaries. */
    static const struct {
        const char *len;
        size_t n;
    } ok[] = {
        {"00", 0},
        {"01", 1},
        {"26", 38},
        {"7f", 127},
        {"8180", 128},
        {"81c9", 201},
        {"81ff", 255},
        {"820100", 256},
        {"82ffff", 65535},
        {"83010000", 65536},
        {"83ffffff", 16777215},
        {"8401000000", 16777216},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(ok); i++) {
        check_len(ok[i].len, ok[i].n, &BER, 0, OX_BER_R_NONE);
        check_len(ok[i].len, ok[i].n, &DER, 0, OX_BER_R_NONE);
    }
    /* Non-minimal long forms: BER accepts them (8.1.3.5 note 2), DER refuses (10.1). */
    static const struct {
        const char *len;
        size_t n;
    } loose[] = {
        {"8100", 0},     {"8105", 5},       {"817f", 127},     {"820005", 5},
        {"820080", 128}, {"83000100", 256}, {"8400000005", 5}, {"880000000000000005", 5},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(loose); i++) {
        check_len(loose[i].len, loose[i].n, &BER, 0, OX_BER_R_NONE);
        check_len(loose[i].len, loose[i].n, &DER, OX_E_PEER, OX_BER_R_NONMINIMAL_LEN);
    }
}

static void test_len_errors(void **state)
{
    (void)state;
    /* Length-of-length beyond size_t, and the reserved 0xFF (8.1.3.5 c). */
    check_len("89000000000000000005", 5, &BER, OX_E_PEER, OX_BER_R_LEN_TOO_LONG);
    check_len("ff", 0, &BER, OX_E_PEER, OX_BER_R_LEN_TOO_LONG);
    /* Truncated length: none at all, or fewer octets than announced. */
    walk_fails("04", &BER, OX_E_PEER, OX_BER_R_TRUNC_LEN, 1);
    walk_fails("0482", &BER, OX_E_PEER, OX_BER_R_TRUNC_LEN, 1);
    walk_fails("048201", &BER, OX_E_PEER, OX_BER_R_TRUNC_LEN, 1);
    walk_fails("30020482", &BER, OX_E_PEER, OX_BER_R_TRUNC_LEN, 3);
    walk_fails("1f8101", &BER, OX_E_PEER, OX_BER_R_TRUNC_LEN, 3);
    /* Length past the input, past the enclosing element, and a huge one. */
    walk_fails("04050102", &BER, OX_E_PEER, OX_BER_R_LEN_OVERRUN, 0);
    walk_fails("3003040501 0203", &BER, OX_E_PEER, OX_BER_R_LEN_OVERRUN, 2);
    walk_fails("0484ffffffff00", &BER, OX_E_PEER, OX_BER_R_LEN_OVERRUN, 0);
    walk_fails("0488ffffffffffffffff00", &BER, OX_E_PEER, OX_BER_R_LEN_OVERRUN, 0);
    walk_fails("3080 0405 01 0000", &BER, OX_E_PEER, OX_BER_R_LEN_OVERRUN, 2);
}

/* ---- identifier octets ---- */

static void check_tag(const char *id_hex, uint32_t tag, bool constructed)
{
    char text[64];
    snprintf(text, sizeof(text), "%s 00", id_hex);
    ox_buf b = hex(text);
    ox_ber_rd rd;
    ox_ber_diag d;
    ox_ber_tlv t;
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&b), &DER, &d), 0);
    assert_int_equal(ox_ber_next(&rd, &t), 0);
    assert_int_equal(t.tag, tag);
    assert_int_equal(t.constructed, constructed);
    assert_int_equal(t.value.len, 0);
    /* The writer produces the same identifier octets. */
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_ber_put_header(&w, tag, constructed, 0);
    assert_int_equal(ox_ber_wr_status(&w), 0);
    assert_true(ox_span_eq(ox_buf_span(&w), ox_buf_span(&b)));
    ox_buf_free(&w);
    ox_buf_free(&b);
}

static void test_tags(void **state)
{
    (void)state;
    /* All four classes, both forms (X.690 8.1.2.2, 8.1.2.5). */
    check_tag("02", OX_BER_UNIV(2), false);
    check_tag("30", OX_BER_UNIV(16), true);
    check_tag("41", OX_BER_APP(1), false);
    check_tag("60", OX_BER_APP(0), true);
    check_tag("83", OX_BER_CTX(3), false);
    check_tag("a0", OX_BER_CTX(0), true);
    check_tag("c5", OX_BER_PRIV(5), false);
    check_tag("fe", OX_BER_PRIV(30), true);
    check_tag("1e", OX_BER_UNIV(30), false);
    /* High tag numbers (8.1.2.4): 31, 127, 128, 16383, 16384, the maximum 2^29-1. */
    check_tag("1f1f", OX_BER_UNIV(31), false);
    check_tag("5f7f", OX_BER_APP(127), false);
    check_tag("bf8100", OX_BER_CTX(128), true);
    check_tag("dfff7f", OX_BER_PRIV(16383), false);
    check_tag("9f818000", OX_BER_CTX(16384), false);
    check_tag("7f81ffffff7f", OX_BER_APP(OX_BER_TAG_NUM_MAX), true);
    check_tag("ff81ffffff7f", OX_BER_PRIV(OX_BER_TAG_NUM_MAX), true);
    assert_int_equal(OX_BER_TAG_CLASS(OX_BER_PRIV(7)), OX_BER_CLASS_PRIVATE);
    assert_int_equal(OX_BER_TAG_NUMBER(OX_BER_PRIV(OX_BER_TAG_NUM_MAX)), OX_BER_TAG_NUM_MAX);
}

static void test_tag_errors(void **state)
{
    (void)state;
    /* Empty input and truncated identifiers. */
    ox_ber_rd rd;
    ox_ber_diag d;
    ox_ber_tlv t;
    assert_int_equal(ox_ber_rd_init(&rd, ox_span_of(NULL, 0), NULL, &d), 0);
    assert_true(ox_ber_at_end(&rd));
    assert_int_equal(ox_ber_peek(&rd, &t), OX_E_PEER);
    assert_int_equal(d.reason, OX_BER_R_TRUNC_TAG);
    assert_int_equal(d.offset, 0);
    walk_fails("1f", &BER, OX_E_PEER, OX_BER_R_TRUNC_TAG, 0);
    walk_fails("1f81", &BER, OX_E_PEER, OX_BER_R_TRUNC_TAG, 0);
    walk_fails("1f8181", &BER, OX_E_PEER, OX_BER_R_TRUNC_TAG, 0);
    walk_fails("3003 020100 bf", &BER, OX_E_PEER, OX_BER_R_TRUNC_TAG, 5);
    walk_fails("3002 bf81 00", &BER, OX_E_PEER, OX_BER_R_TRUNC_TAG, 2);
    /* Leading 0x80 (8.1.2.4.2 c), high form for a low number, number above 2^29-1. */
    walk_fails("1f800100", &BER, OX_E_PEER, OX_BER_R_BAD_TAG, 1);
    walk_fails("1f1e00", &BER, OX_E_PEER, OX_BER_R_BAD_TAG, 0);
    walk_fails("1f0000", &BER, OX_E_PEER, OX_BER_R_BAD_TAG, 0);
    walk_fails("1f828080800000", &BER, OX_E_PEER, OX_BER_R_BAD_TAG, 0);
    walk_fails("1fffffffffff7f00", &BER, OX_E_PEER, OX_BER_R_BAD_TAG, 0);
}

/* ---- indefinite lengths and scopes ---- */

static void test_indefinite_nested(void **state)
{
    (void)state;
    /* SEQUENCE(indef) { SEQUENCE(indef) { SEQUENCE(indef) { INTEGER 5 } } } */
    ox_buf in = hex("3080 3080 3080 020105 0000 0000 0000");
    ox_ber_rd rd, a, b, c;
    ox_ber_diag d;
    ox_ber_tlv t;
    int64_t v;
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), NULL, &d), 0);
    assert_int_equal(ox_ber_peek(&rd, &t), 0);
    assert_true(t.indefinite && t.constructed);
    assert_int_equal(t.whole.len, in.len);
    assert_int_equal(t.value.len, in.len - 4);
    assert_int_equal(ox_ber_enter(&rd, SEQ, &a), 0);
    assert_true(ox_ber_at_end(&rd));
    assert_int_equal(ox_ber_enter(&a, SEQ, &b), 0);
    assert_int_equal(ox_ber_enter(&b, SEQ, &c), 0);
    assert_int_equal(c.depth, 3);
    assert_int_equal(ox_ber_read_int(&c, INT, &v), 0);
    assert_int_equal(v, 5);
    assert_true(ox_ber_at_end(&c));
    assert_int_equal(ox_ber_leave(&b, &c), 0);
    assert_true(ox_ber_at_end(&b));
    assert_int_equal(ox_ber_leave(&a, &b), 0);
    assert_int_equal(ox_ber_leave(&rd, &a), 0);
    assert_true(ox_ber_at_end(&rd));
    ox_buf_free(&in);
}

static void test_indefinite_mixed(void **state)
{
    (void)state;
    /* SEQUENCE(indef) { SEQUENCE(3) { INT 1 }, [0](indef) { OCTET STRING AA,
     *   SEQUENCE(7) { SEQUENCE(indef) { INT 2 } } }, INT 3 } */
    ox_buf in = hex("3080 3003020101 a080 0401aa 3007 3080 020102 0000 0000 020103 0000");
    ox_ber_rd rd, top, s1, ctx, s2, s3;
    ox_ber_diag d;
    int64_t v;
    ox_span o;
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), &BER, &d), 0);
    assert_int_equal(ox_ber_enter(&rd, SEQ, &top), 0);
    assert_int_equal(ox_ber_enter(&top, SEQ, &s1), 0);
    assert_int_equal(ox_ber_read_int(&s1, INT, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(ox_ber_leave(&top, &s1), 0);
    assert_true(ox_ber_peek_tag(&top, OX_BER_CTX(0)));
    assert_int_equal(ox_ber_enter(&top, OX_BER_CTX(0), &ctx), 0);
    assert_int_equal(ox_ber_read_octets_view(&ctx, OCT, &o), 0);
    assert_int_equal(o.len, 1);
    assert_int_equal(o.p[0], 0xaa);
    assert_int_equal(ox_ber_enter(&ctx, SEQ, &s2), 0);
    assert_int_equal(ox_ber_enter(&s2, SEQ, &s3), 0);
    assert_int_equal(ox_ber_read_int(&s3, INT, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(ox_ber_leave(&s2, &s3), 0);
    assert_int_equal(ox_ber_leave(&ctx, &s2), 0);
    assert_int_equal(ox_ber_leave(&top, &ctx), 0);
    assert_int_equal(ox_ber_read_int(&top, INT, &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(ox_ber_leave(&rd, &top), 0);
    assert_true(ox_ber_at_end(&rd));
    ox_buf_free(&in);
    /* Indefinite inside definite, empty indefinite, several in a row. */
    walk_ok("3007 3080 020105 0000", &BER);
    walk_ok("3080 0000", &BER);
    walk_ok("3080 0000 3180 0000 a080 a080 0000 0000", &BER);
    walk_ok("3080 04820003 010203 0000", &BER);
}

static void test_eoc_errors(void **state)
{
    (void)state;
    /* End-of-contents where an element is expected (8.1.5). */
    walk_fails("0000", &BER, OX_E_PEER, OX_BER_R_UNEXPECTED_EOC, 0);
    walk_fails("3005 020100 0000", &BER, OX_E_PEER, OX_BER_R_UNEXPECTED_EOC, 5);
    walk_fails("3002 0000", &BER, OX_E_PEER, OX_BER_R_UNEXPECTED_EOC, 2);
    /* Missing EOC: the offset is the indefinite element that lacks it. */
    walk_fails("3080 020105", &BER, OX_E_PEER, OX_BER_R_EOC_MISSING, 0);
    walk_fails("3080 3080 0000", &BER, OX_E_PEER, OX_BER_R_EOC_MISSING, 0);
    walk_fails("3005 020100 3080", &BER, OX_E_PEER, OX_BER_R_EOC_MISSING, 5);
    walk_fails("3009 3080 020105 0000 0000", &BER, OX_E_PEER, OX_BER_R_UNEXPECTED_EOC, 9);
    /* Bad EOC: identifier 00 with a non-zero length, or cut after the first zero. */
    walk_fails("3080 0001 00 0000", &BER, OX_E_PEER, OX_BER_R_BAD_EOC, 2);
    walk_fails("000105", &BER, OX_E_PEER, OX_BER_R_BAD_EOC, 0);
    walk_fails("3003 000100", &BER, OX_E_PEER, OX_BER_R_BAD_EOC, 2);
    walk_fails("3080 00", &BER, OX_E_PEER, OX_BER_R_TRUNC_LEN, 2);
    walk_fails("3080 020105 00", &BER, OX_E_PEER, OX_BER_R_TRUNC_LEN, 5);
    /* Indefinite length on a primitive element (8.1.3.2 a). */
    walk_fails("0480 01 0000", &BER, OX_E_PEER, OX_BER_R_INDEF_PRIMITIVE, 1);
    walk_fails("3080 0280 0000", &BER, OX_E_PEER, OX_BER_R_INDEF_PRIMITIVE, 3);
    /* Indefinite lengths are not DER (10.1). */
    walk_fails("3080 0000", &DER, OX_E_PEER, OX_BER_R_INDEF_FORBIDDEN, 1);
    walk_fails("3004 3080 0000", &DER, OX_E_PEER, OX_BER_R_INDEF_FORBIDDEN, 3);
}

static void test_depth_limit(void **state)
{
    (void)state;
    const ox_ber_limits d3 = {.max_depth = 3};
    const ox_ber_limits d4 = {.max_depth = 4};
    /* Four definite levels: the fourth enter passes the limit of 3. */
    const char *four = "3008 3006 3004 3002 0500";
    walk_fails(four, &d3, OX_E_LIMIT, OX_BER_R_DEPTH, 6);
    walk_ok(four, &d4);
    /* Four indefinite levels: found while looking for the outer EOC. */
    const char *four_indef = "3080 3080 3080 3080 0000 0000 0000 0000";
    walk_fails(four_indef, &d3, OX_E_LIMIT, OX_BER_R_DEPTH, 6);
    walk_ok(four_indef, &d4);
    /* Three levels, indefinite under definite: entering is what counts. */
    walk_fails("300a 3008 3080 3080 0000 0000", &d3, OX_E_LIMIT, OX_BER_R_DEPTH, 6);
    walk_ok("300a 3008 3080 3080 0000 0000", &d4);
    /* The default: 64 levels pass, 65 do not, and deep hostile nesting is cheap. */
    size_t n = 100000;
    uint8_t *deep = malloc(2 * n);
    assert_non_null(deep);
    for (size_t i = 0; i < n; i++) {
        deep[2 * i] = 0x30;
        deep[2 * i + 1] = 0x80;
    }
    ox_ber_rd rd, inner;
    ox_ber_diag d;
    assert_int_equal(ox_ber_rd_init(&rd, ox_span_of(deep, 2 * n), NULL, &d), 0);
    assert_int_equal(ox_ber_enter(&rd, SEQ, &inner), OX_E_LIMIT);
    assert_int_equal(d.reason, OX_BER_R_DEPTH);
    assert_int_equal(d.offset, 2 * OX_BER_DEFAULT_MAX_DEPTH);
    free(deep);
    ox_buf b;
    ox_buf_init(&b, NULL, NULL, 0);
    for (unsigned i = 0; i < OX_BER_DEFAULT_MAX_DEPTH; i++)
        ox_buf_append(&b, "\x30\x80", 2);
    for (unsigned i = 0; i < OX_BER_DEFAULT_MAX_DEPTH; i++)
        ox_buf_append(&b, "\x00\x00", 2);
    assert_int_equal(walk(ox_buf_span(&b), NULL, &d), 0);
    b.len = 0;
    for (unsigned i = 0; i <= OX_BER_DEFAULT_MAX_DEPTH; i++)
        ox_buf_append(&b, "\x30\x80", 2);
    for (unsigned i = 0; i <= OX_BER_DEFAULT_MAX_DEPTH; i++)
        ox_buf_append(&b, "\x00\x00", 2);
    assert_int_equal(walk(ox_buf_span(&b), NULL, &d), OX_E_LIMIT);
    assert_int_equal(d.reason, OX_BER_R_DEPTH);
    ox_buf_free(&b);
}

static void test_size_limit(void **state)
{
    (void)state;
    const ox_ber_limits small = {.max_size = 4};
    ox_buf in = hex("0403 010203");
    ox_ber_rd rd;
    ox_ber_diag d;
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), &small, &d), OX_E_LIMIT);
    assert_int_equal(d.reason, OX_BER_R_SIZE);
    assert_int_equal(d.offset, 0);
    const ox_ber_limits fits = {.max_size = 5};
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), &fits, &d), 0);
    /* A reassembled value counts what |out| already holds. */
    ox_buf out;
    ox_buf_init(&out, NULL, NULL, 0);
    ox_buf_append(&out, "xy", 2);
    const ox_ber_limits six = {.max_size = 6};
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), &six, &d), 0);
    assert_int_equal(ox_ber_read_octets(&rd, OCT, &out), 0);
    assert_int_equal(out.len, 5);
    out.len = 4;
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), &six, &d), 0);
    assert_int_equal(ox_ber_read_octets(&rd, OCT, &out), OX_E_LIMIT);
    assert_int_equal(d.reason, OX_BER_R_SIZE);
    assert_int_equal(d.offset, 0);
    assert_int_equal(out.len, 4); /* unchanged on failure */
    ox_buf_free(&out);
    ox_buf_free(&in);
}

static void test_scope_errors(void **state)
{
    (void)state;
    ox_ber_rd rd, inner;
    ox_ber_diag d;
    ox_ber_tlv t;
    int64_t v;
    /* Leftover bytes on leave. */
    ox_buf in = hex("3006 020105 020106");
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), NULL, &d), 0);
    assert_int_equal(ox_ber_enter(&rd, SEQ, &inner), 0);
    assert_int_equal(ox_ber_read_int(&inner, INT, &v), 0);
    assert_int_equal(ox_ber_leave(&rd, &inner), OX_E_PEER);
    assert_int_equal(d.reason, OX_BER_R_LEFTOVER);
    assert_int_equal(d.offset, 5);
    ox_buf_free(&in);
    /* Leftover in an indefinite scope: offset of the element before the EOC. */
    in = hex("3080 020105 020106 0000");
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), NULL, &d), 0);
    assert_int_equal(ox_ber_enter(&rd, SEQ, &inner), 0);
    assert_int_equal(ox_ber_read_int(&inner, INT, &v), 0);
    assert_int_equal(ox_ber_leave(&rd, &inner), OX_E_PEER);
    assert_int_equal(d.reason, OX_BER_R_LEFTOVER);
    assert_int_equal(d.offset, 5);
    ox_buf_free(&in);
    /* Unexpected tag; wrong form both ways. */
    in = hex("0400 2203 020100 1000");
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), NULL, &d), 0);
    assert_int_equal(ox_ber_read_int(&rd, INT, &v), OX_E_PEER);
    assert_int_equal(d.reason, OX_BER_R_UNEXPECTED_TAG);
    assert_int_equal(d.offset, 0);
    assert_int_equal(ox_ber_expect(&rd, OCT, 1, &t), OX_E_PEER); /* wants constructed */
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), NULL, &d), 0);
    assert_int_equal(ox_ber_expect(&rd, OCT, 1, &t), OX_E_PEER);
    assert_int_equal(d.reason, OX_BER_R_WRONG_FORM);
    assert_int_equal(d.offset, 0);
    assert_int_equal(ox_ber_expect(&rd, OCT, -1, &t), 0);
    memset(&d, 0, sizeof(d));
    assert_int_equal(ox_ber_read_int(&rd, INT, &v), OX_E_PEER); /* constructed INTEGER */
    assert_int_equal(d.reason, OX_BER_R_WRONG_FORM);
    assert_int_equal(d.offset, 2);
    ox_ber_diag d2;
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), NULL, &d2), 0);
    assert_int_equal(ox_ber_next(&rd, &t), 0);
    assert_int_equal(ox_ber_next(&rd, &t), 0);
    assert_int_equal(ox_ber_enter(&rd, SEQ, &inner), OX_E_PEER); /* primitive [UNIV 16] */
    assert_int_equal(d2.reason, OX_BER_R_WRONG_FORM);
    assert_int_equal(d2.offset, 7);
    assert_int_equal(ox_ber_peek(&rd, &t), 0);
    assert_int_equal(ox_ber_enter_tlv(&rd, &t, &inner), OX_E_PEER);
    ox_buf_free(&in);
    /* Only the first failure is recorded; the caller can add grammar failures. */
    in = hex("0201");
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), NULL, &d), 0);
    int line = __LINE__ + 1;
    assert_int_equal(OX_BER_FAIL(&rd, rd.p + 1, OX_BER_R_UNEXPECTED_TAG), OX_E_PEER);
    assert_int_equal(ox_ber_fail(&rd, rd.p, OX_BER_R_DEPTH, 1), OX_E_LIMIT);
    assert_int_equal(ox_ber_fail(&rd, NULL, OX_BER_R_SIZE, 1), OX_E_LIMIT);
    assert_int_equal(d.reason, OX_BER_R_UNEXPECTED_TAG);
    assert_int_equal(d.offset, 1);
    assert_int_equal(d.line, line);
    /* A reader without diag still fails the same way. */
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), NULL, NULL), 0);
    assert_int_equal(ox_ber_next(&rd, &t), OX_E_PEER);
    ox_buf_free(&in);
}

static void test_peek_tag(void **state)
{
    (void)state;
    ox_buf in = hex("a0020500 0000");
    ox_ber_rd rd;
    ox_ber_diag d;
    ox_ber_tlv t;
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), NULL, &d), 0);
    assert_true(ox_ber_peek_tag(&rd, OX_BER_CTX(0)));
    assert_false(ox_ber_peek_tag(&rd, OX_BER_CTX(1)));
    assert_int_equal(ox_ber_next(&rd, &t), 0);
    assert_false(ox_ber_peek_tag(&rd, OX_BER_UNIV(0))); /* EOC is no element */
    assert_int_equal(d.reason, OX_BER_R_NONE);          /* peek_tag records nothing */
    rd.p = rd.end;
    assert_false(ox_ber_peek_tag(&rd, OX_BER_CTX(0)));
    ox_buf_free(&in);
    in = hex("1f");
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), NULL, &d), 0);
    assert_false(ox_ber_peek_tag(&rd, OX_BER_UNIV(31)));
    assert_int_equal(d.reason, OX_BER_R_NONE);
    ox_buf_free(&in);
}

static void test_reason_names(void **state)
{
    (void)state;
    for (int r = OX_BER_R_NONE; r <= OX_BER_R_BAD_SEGMENT; r++) {
        const char *name = ox_ber_reason_name((ox_ber_reason)r);
        assert_string_not_equal(name, "unknown");
        for (int q = OX_BER_R_NONE; q < r; q++)
            assert_string_not_equal(name, ox_ber_reason_name((ox_ber_reason)q));
    }
    assert_string_equal(ox_ber_reason_name((ox_ber_reason)(OX_BER_R_BAD_SEGMENT + 1)), "unknown");
    assert_string_equal(ox_ber_reason_name((ox_ber_reason)-1), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_len_forms),
        cmocka_unit_test(test_len_errors),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_tag_errors),
        cmocka_unit_test(test_indefinite_nested),
        cmocka_unit_test(test_indefinite_mixed),
        cmocka_unit_test(test_eoc_errors),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_scope_errors),
        cmocka_unit_test(test_peek_tag),
        cmocka_unit_test(test_reason_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
