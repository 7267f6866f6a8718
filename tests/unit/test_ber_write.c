/* test_ber_write.c - the writer: length patching across the 127/128, 255/256 and
 * 65535/65536 boundaries, nesting, headers, indefinite form, sticky errors, and an
 * allocation-failure sweep over everything that allocates (writer and string reassembly). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/ber.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEQ OX_BER_UNIV(OX_BER_T_SEQUENCE)
#define OCT OX_BER_UNIV(OX_BER_T_OCTET_STRING)

static ox_buf hex(const char *text)
{
    ox_buf b;
    ox_buf_init(&b, NULL, NULL, 0);
    assert_int_equal(ox_hex_decode(&b, text), 0);
    return b;
}

static void assert_prefix(const ox_buf *got, const char *want_hex)
{
    ox_buf want = hex(want_hex);
    assert_true(got->len >= want.len);
    if (memcmp(got->p, want.p, want.len) != 0) {
        char g[64];
        ox_hex_encode(g, sizeof(g), ox_span_of(got->p, want.len));
        print_message("got %s want %s\n", g, want_hex);
    }
    assert_memory_equal(got->p, want.p, want.len);
    ox_buf_free(&want);
}

/* SEQUENCE { OCTET STRING of |n| - 2 - header bytes ... } such that the SEQUENCE contents
 * are exactly |n| bytes; checks the SEQUENCE length octets and reads it back. */
static void check_open_close(size_t n, const char *want_len_hex)
{
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    size_t m = ox_ber_open(&w, SEQ);
    assert_int_equal(m, 2);
    /* Contents: raw filler bytes (a run of NULLs "05 00" and maybe one "01"-length TLV). */
    uint8_t *fill = malloc(n ? n : 1);
    assert_non_null(fill);
    for (size_t i = 0; i + 1 < n; i += 2) {
        fill[i] = 0x05;
        fill[i + 1] = 0x00;
    }
    if (n % 2) {
        /* odd: make the last three bytes one BOOLEAN-less element: 05 00 -> 04 01 xx */
        if (n >= 3) {
            fill[n - 3] = 0x04;
            fill[n - 2] = 0x01;
            fill[n - 1] = 0xaa;
        } else {
            fill[0] = 0x05; /* n == 1 cannot be valid BER; only the length is checked */
        }
    }
    ox_ber_put_raw(&w, ox_span_of(fill, n));
    ox_ber_close(&w, m);
    assert_int_equal(ox_ber_wr_status(&w), 0);
    char want[32];
    snprintf(want, sizeof(want), "30%s", want_len_hex);
    assert_prefix(&w, want);
    ox_buf lb = hex(want_len_hex);
    size_t hdr = 1 + lb.len;
    ox_buf_free(&lb);
    assert_int_equal(w.len, hdr + n);
    assert_memory_equal(w.p + hdr, fill, n);
    if (n != 1) {
        ox_ber_rd rd, in;
        ox_ber_diag d;
        const ox_ber_limits der = {.der = true};
        assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&w), &der, &d), 0);
        assert_int_equal(ox_ber_enter(&rd, SEQ, &in), 0);
        assert_int_equal((size_t)(in.end - in.p), n);
        assert_true(ox_ber_at_end(&rd));
    }
    free(fill);
    ox_buf_free(&w);
}

static void test_open_close_lengths(void **state)
{
    (void)state;
    static const struct {
        size_t n;
        const char *len;
    } cases[] = {
        {0, "00"},
        {1, "01"},
        {127, "7f"},
        {128, "8180"},
        {255, "81ff"},
        {256, "820100"},
        {65535, "82ffff"},
        {65536, "83010000"},
        {16777215, "83ffffff"},
        {16777216, "8401000000"},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(cases); i++)
        check_open_close(cases[i].n, cases[i].len);
}

static void test_nested_close(void **state)
{
    (void)state;
    /* SEQUENCE { [1] { OCTET STRING (200) }, [2] { [3] { OCTET STRING (65533) } }, NULL }:
     * inner closes move their contents, outer ones must still be right. */
    uint8_t *big = calloc(1, 65536);
    assert_non_null(big);
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    size_t s = ox_ber_open(&w, SEQ);
    size_t a = ox_ber_open(&w, OX_BER_CTX(1));
    ox_ber_put_octets(&w, 0, ox_span_of(big, 200));
    ox_ber_close(&w, a);
    size_t b = ox_ber_open(&w, OX_BER_CTX(2));
    size_t c = ox_ber_open(&w, OX_BER_CTX(3));
    ox_ber_put_octets(&w, 0, ox_span_of(big, 65531));
    ox_ber_close(&w, c);
    ox_ber_close(&w, b);
    ox_ber_put_null(&w, 0);
    ox_ber_close(&w, s);
    assert_int_equal(ox_ber_wr_status(&w), 0);
    /* [3]: 4 + 65531 = 65535 -> a3 82ffff; [2]: 4 + 65535 = 65539 -> a2 83010003;
     * [1]: 3 + 200 = 203 -> a1 81cb; SEQUENCE: 206 + 65544 + 2 = 65752 -> 30 830100d8. */
    assert_prefix(&w, "30830100d8 a181cb 0481c8");
    assert_int_equal(w.len, 5 + 65752);
    assert_memory_equal(w.p + 5 + 206, "\xa2\x83\x01\x00\x03\xa3\x82\xff\xff\x04\x82\xff\xfb", 13);
    assert_memory_equal(w.p + w.len - 2, "\x05\x00", 2);
    ox_ber_rd rd, sq, x, y, z;
    ox_ber_diag d;
    ox_span v;
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&w), NULL, &d), 0);
    assert_int_equal(ox_ber_enter(&rd, SEQ, &sq), 0);
    assert_int_equal(ox_ber_enter(&sq, OX_BER_CTX(1), &x), 0);
    assert_int_equal(ox_ber_read_octets_view(&x, OCT, &v), 0);
    assert_int_equal(v.len, 200);
    assert_int_equal(ox_ber_leave(&sq, &x), 0);
    assert_int_equal(ox_ber_enter(&sq, OX_BER_CTX(2), &y), 0);
    assert_int_equal(ox_ber_enter(&y, OX_BER_CTX(3), &z), 0);
    assert_int_equal(ox_ber_read_octets_view(&z, OCT, &v), 0);
    assert_int_equal(v.len, 65531);
    assert_int_equal(ox_ber_leave(&y, &z), 0);
    assert_int_equal(ox_ber_leave(&sq, &y), 0);
    assert_int_equal(ox_ber_read_null(&sq, OX_BER_UNIV(OX_BER_T_NULL)), 0);
    assert_int_equal(ox_ber_leave(&rd, &sq), 0);
    assert_true(ox_ber_at_end(&rd));
    ox_buf_free(&w);
    free(big);
}

static void test_headers(void **state)
{
    (void)state;
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_ber_put_header(&w, OCT, false, 0);
    ox_ber_put_header(&w, OCT, false, 127);
    ox_ber_put_header(&w, OCT, false, 128);
    ox_ber_put_header(&w, SEQ, true, 256);
    ox_ber_put_header(&w, OX_BER_APP(16384), true, 65536);
    ox_ber_put_header(&w, OX_BER_PRIV(31), false, (size_t)1 << 32);
    assert_int_equal(ox_ber_wr_status(&w), 0);
    ox_buf want = hex("0400 047f 048180 30820100 7f81800083010000 df1f850100000000");
    assert_true(ox_span_eq(ox_buf_span(&w), ox_buf_span(&want)));
    ox_buf_free(&want);
    ox_buf_free(&w);

    /* Indefinite form for streaming, with a definite element inside and raw copies. */
    ox_buf_init(&w, NULL, NULL, 0);
    ox_ber_open_indef(&w, OX_BER_CTX(0));
    ox_ber_put_header(&w, OCT, false, 3);
    ox_buf_append(&w, "abc", 3);
    ox_ber_open_indef(&w, SEQ);
    ox_ber_put_raw(&w, ox_span_of("\x05\x00", 2));
    ox_ber_put_eoc(&w);
    ox_ber_put_eoc(&w);
    assert_int_equal(ox_ber_wr_status(&w), 0);
    want = hex("a080 0403616263 3080 0500 0000 0000");
    assert_true(ox_span_eq(ox_buf_span(&w), ox_buf_span(&want)));
    ox_buf_free(&want);
    ox_ber_rd rd, x, y;
    ox_ber_diag d;
    ox_buf out;
    ox_buf_init(&out, NULL, NULL, 0);
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&w), NULL, &d), 0);
    assert_int_equal(ox_ber_enter(&rd, OX_BER_CTX(0), &x), 0);
    assert_int_equal(ox_ber_read_octets(&x, OCT, &out), 0);
    assert_int_equal(ox_ber_enter(&x, SEQ, &y), 0);
    assert_int_equal(ox_ber_read_null(&y, OX_BER_UNIV(OX_BER_T_NULL)), 0);
    assert_int_equal(ox_ber_leave(&x, &y), 0);
    assert_int_equal(ox_ber_leave(&rd, &x), 0);
    assert_true(ox_ber_at_end(&rd));
    ox_buf_free(&out);
    ox_buf_free(&w);
}

static void test_sticky_error(void **state)
{
    (void)state;
    /* A ceiling: the first failure sticks, later calls write nothing. */
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    w.max = 6;
    size_t m = ox_ber_open(&w, SEQ);
    ox_ber_put_int(&w, 0, 5);
    assert_int_equal(ox_ber_wr_status(&w), 0);
    ox_ber_put_int(&w, 0, 6); /* would make 8 bytes */
    assert_int_equal(ox_ber_wr_status(&w), OX_E_LIMIT);
    size_t len = w.len;
    ox_ber_put_null(&w, 0);
    ox_ber_close(&w, m);
    assert_int_equal(ox_ber_open(&w, SEQ), 0);
    ox_ber_put_oid(&w, 0, &(ox_oid)OX_OID_INIT(1, 2));
    assert_int_equal(w.len, len);
    assert_int_equal(ox_ber_wr_status(&w), OX_E_LIMIT);
    ox_buf_free(&w);
    /* An argument error sticks too, and is not overwritten by a later one. */
    ox_buf_init(&w, NULL, NULL, 0);
    ox_ber_put_cstr(&w, 0, OX_BER_STR_NUMERIC, "12a");
    assert_int_equal(ox_ber_wr_status(&w), OX_E_ARG);
    w.max = 1;
    ox_ber_put_octets(&w, 0, ox_span_of("abc", 3));
    assert_int_equal(ox_ber_wr_status(&w), OX_E_ARG);
    assert_int_equal(w.len, 0);
    ox_buf_free(&w);
    /* A close whose long form does not fit fails cleanly. */
    uint8_t fill[200];
    memset(fill, 0x05, sizeof(fill));
    ox_buf_init(&w, NULL, NULL, 0);
    w.max = 2 + 200;
    m = ox_ber_open(&w, SEQ);
    ox_ber_put_raw(&w, ox_span_of(fill, 200));
    assert_int_equal(ox_ber_wr_status(&w), 0);
    ox_ber_close(&w, m);
    assert_int_equal(ox_ber_wr_status(&w), OX_E_LIMIT);
    ox_buf_free(&w);
    /* Caller storage first, heap on growth. */
    uint8_t stack[4];
    ox_buf_init(&w, NULL, stack, sizeof(stack));
    ox_ber_put_int(&w, 0, 1);
    assert_ptr_equal(w.p, stack);
    ox_ber_put_int(&w, 0, 2);
    assert_ptr_not_equal(w.p, stack);
    assert_memory_equal(w.p, "\x02\x01\x01\x02\x01\x02", 6);
    ox_buf_free(&w);
}

/* ---- allocation-failure sweep ---- */

typedef struct fail_alloc {
    int calls;   /* allocations so far */
    int fail_at; /* fail this call (0-based); -1 = never */
    int live;    /* blocks outstanding */
} fail_alloc;

static void *fa_realloc(void *ctx, void *p, size_t n)
{
    fail_alloc *f = ctx;
    if (f->calls++ == f->fail_at)
        return NULL;
    void *q = realloc(p, n);
    if (q && !p)
        f->live++;
    return q;
}

static void fa_free(void *ctx, void *p)
{
    fail_alloc *f = ctx;
    f->live--;
    free(p);
}

/* A P1-shaped structure with long contents: several growths and a long-form close. */
static int build(ox_buf *w)
{
    static uint8_t content[3000];
    size_t env = ox_ber_open(w, OX_BER_APP(1));
    size_t id = ox_ber_open(w, OX_BER_APP(4));
    ox_ber_put_cstr(w, OX_BER_APP(1), OX_BER_STR_PRINTABLE, "GB");
    ox_ber_put_cstr(w, OX_BER_CTX(0), OX_BER_STR_PRINTABLE, "A-DMD");
    ox_ber_close(w, id);
    for (int i = 0; i < 20; i++) {
        size_t r = ox_ber_open(w, SEQ);
        ox_ber_put_cstr(w, 0, OX_BER_STR_PRINTABLE, "Some Organisation Name");
        ox_ber_put_int(w, OX_BER_CTX(1), i);
        ox_ber_put_oid(w, 0, &(ox_oid)OX_OID_INIT(2, 6, 1, 4, (uint32_t)i));
        ox_ber_close(w, r);
    }
    ox_ber_put_octets(w, 0, ox_span_of(content, sizeof(content)));
    ox_ber_close(w, env);
    return ox_ber_wr_status(w);
}

static void test_alloc_fail_writer(void **state)
{
    (void)state;
    ox_buf ref;
    ox_buf_init(&ref, NULL, NULL, 0);
    assert_int_equal(build(&ref), 0);
    int i;
    for (i = 0;; i++) {
        fail_alloc f = {.fail_at = i};
        ox_alloc a = {.realloc = fa_realloc, .free = fa_free, .ctx = &f};
        ox_buf w;
        ox_buf_init(&w, &a, NULL, 0);
        int rc = build(&w);
        if (rc == 0) {
            assert_true(ox_span_eq(ox_buf_span(&w), ox_buf_span(&ref)));
            assert_true(f.calls <= i); /* the failure was never reached */
            ox_buf_free(&w);
            assert_int_equal(f.live, 0);
            break;
        }
        assert_int_equal(rc, OX_E_NOMEM);
        ox_buf_free(&w);
        assert_int_equal(f.live, 0);
    }
    assert_true(i >= 3); /* the sweep really hit several growths */
    ox_buf_free(&ref);
}

static void test_alloc_fail_reader(void **state)
{
    (void)state;
    /* Constructed OCTET STRING of 40 segments of 100 bytes: the output grows several times.
     * Also a BIT STRING and a character string. */
    ox_buf in;
    ox_buf_init(&in, NULL, NULL, 0);
    uint8_t seg[100];
    memset(seg, 'a', sizeof(seg));
    ox_ber_open_indef(&in, OCT);
    for (int i = 0; i < 40; i++)
        ox_ber_put_octets(&in, 0, ox_span_of(seg, sizeof(seg)));
    ox_ber_put_eoc(&in);
    ox_ber_put_bits(&in, 0, ox_span_of(seg, sizeof(seg)), 3);
    size_t m = ox_ber_open(&in, OX_BER_UNIV(OX_BER_T_PRINTABLE_STRING));
    for (int i = 0; i < 10; i++)
        ox_ber_put_octets(&in, 0, ox_span_of(seg, sizeof(seg)));
    ox_ber_close(&in, m);
    assert_int_equal(ox_ber_wr_status(&in), 0);
    /* open_indef used a constructed OCTET STRING identifier: 0x24. */
    assert_int_equal(in.p[0], 0x24);

    int i;
    for (i = 0;; i++) {
        fail_alloc f = {.fail_at = i};
        ox_alloc a = {.realloc = fa_realloc, .free = fa_free, .ctx = &f};
        ox_buf o1, o2, o3;
        ox_buf_init(&o1, &a, NULL, 0);
        ox_buf_init(&o2, &a, NULL, 0);
        ox_buf_init(&o3, &a, NULL, 0);
        ox_ber_rd rd;
        ox_ber_diag d;
        unsigned unused = 0;
        assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), NULL, &d), 0);
        int rc = ox_ber_read_octets(&rd, OCT, &o1);
        if (rc == 0)
            rc = ox_ber_read_bits(&rd, OX_BER_UNIV(OX_BER_T_BIT_STRING), &o2, &unused);
        if (rc == 0)
            rc = ox_ber_read_string(&rd, 0, OX_BER_STR_PRINTABLE, &o3);
        if (rc == 0) {
            assert_int_equal(o1.len, 4000);
            assert_int_equal(o2.len, 100);
            assert_int_equal(unused, 3);
            assert_int_equal(o3.len, 1000);
            assert_true(ox_ber_at_end(&rd));
        } else {
            assert_int_equal(rc, OX_E_NOMEM);
            assert_int_equal(d.reason, OX_BER_R_NONE); /* not the peer's fault */
        }
        ox_buf_free(&o1);
        ox_buf_free(&o2);
        ox_buf_free(&o3);
        assert_int_equal(f.live, 0);
        if (rc == 0)
            break;
    }
    assert_true(i >= 5);
    ox_buf_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_close_lengths),
        cmocka_unit_test(test_nested_close),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_sticky_error),
        cmocka_unit_test(test_alloc_fail_writer),
        cmocka_unit_test(test_alloc_fail_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
