/* test_ber.c - X.690 reader and writer: vectors, limits and every error path */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "openx400/ber.h"

#include <string.h>

static ox_buf hex(const char *text)
{
    ox_buf b;
    ox_buf_init(&b, NULL, NULL, 0);
    assert_int_equal(ox_hex_decode(&b, text), 0);
    return b;
}

static void test_int_roundtrip(void **state)
{
    (void)state;
    static const struct {
        int64_t v;
        const char *hex;
    } cases[] = {
        {0, "020100"},
        {127, "02017f"},
        {128, "02020080"},
        {256, "02020100"},
        {-128, "020180"},
        {-129, "0202ff7f"},
        {INT64_MAX, "02087fffffffffffffff"},
        {INT64_MIN, "02088000000000000000"},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(cases); i++) {
        ox_buf w;
        ox_buf_init(&w, NULL, NULL, 0);
        ox_ber_put_int(&w, 0, cases[i].v);
        ox_buf want = hex(cases[i].hex);
        assert_true(ox_span_eq(ox_buf_span(&w), ox_buf_span(&want)));
        ox_ber_rd rd;
        ox_ber_diag d;
        int64_t v;
        assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&want), NULL, &d), 0);
        assert_int_equal(ox_ber_read_int(&rd, OX_BER_UNIV(OX_BER_T_INTEGER), &v), 0);
        assert_true(v == cases[i].v);
        assert_true(ox_ber_at_end(&rd));
        ox_buf_free(&w);
        ox_buf_free(&want);
    }
}

static void test_indefinite_nested(void **state)
{
    (void)state;
    /* SEQUENCE(indef) { SEQUENCE(indef) { SEQUENCE(indef) { INTEGER 5 } } } */
    ox_buf in = hex("3080 3080 3080 020105 0000 0000 0000");
    ox_ber_rd rd, a, b, c;
    ox_ber_diag d;
    int64_t v;
    uint32_t seq = OX_BER_UNIV(OX_BER_T_SEQUENCE);
    assert_int_equal(ox_ber_rd_init(&rd, ox_buf_span(&in), NULL, &d), 0);
    assert_int_equal(ox_ber_enter(&rd, seq, &a), 0);
    assert_int_equal(ox_ber_enter(&a, seq, &b), 0);
    assert_int_equal(ox_ber_enter(&b, seq, &c), 0);
    assert_int_equal(ox_ber_read_int(&c, OX_BER_UNIV(OX_BER_T_INTEGER), &v), 0);
    assert_int_equal(v, 5);
    assert_int_equal(ox_ber_leave(&b, &c), 0);
    assert_int_equal(ox_ber_leave(&a, &b), 0);
    assert_int_equal(ox_ber_leave(&rd, &a), 0);
    assert_true(ox_ber_at_end(&rd));
    ox_buf_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int_roundtrip),
        cmocka_unit_test(test_indefinite_nested),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
