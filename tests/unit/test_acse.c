/* test_acse.c - X.227 APDU codec: byte-exact vectors, round trips, truncation, error paths */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_vectors.h"

#include "openx400/acse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ox_buf load(const char *name)
{
    return test_load_vector("acse", name);
}

static const uint8_t int5[] = {0x02, 0x01, 0x05};
static const ox_oid oid123 = OX_OID_INIT(1, 2, 3);

static void truncations(ox_span whole)
{
    for (size_t n = 0; n < whole.len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, whole.p, n);
        ox_acse_apdu a;
        ox_ber_diag d;
        int rc = ox_acse_decode(ox_span_of(copy, n), NULL, &a, &d);
        assert_true(rc == OX_E_PEER || rc == OX_E_LIMIT);
        assert_int_not_equal(d.reason, OX_BER_R_NONE);
        free(copy);
    }
}

static void ui_int5(ox_acse_user_info *ui)
{
    memset(ui, 0, sizeof(*ui));
    ui->present = true;
    ui->n = 1;
    ui->ext[0].has_indirect = true;
    ui->ext[0].indirect = 3;
    ui->ext[0].value = ox_span_of(int5, 3);
}

static void test_aarq(void **state)
{
    (void)state;
    ox_buf want = load("aarq.hex"), w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_acse_aarq a = {.app_ctx = ox_oid_ac_mts_transfer};
    a.calling_ap.form = OX_ACSE_FORM2;
    a.calling_ap.oid = oid123;
    a.calling_ae.form = OX_ACSE_FORM2;
    a.calling_ae.value = 7;
    ui_int5(&a.ui);
    assert_int_equal(ox_acse_aarq_encode(&w, &a), 0);
    assert_bytes(&w, &want);
    ox_acse_apdu back;
    assert_int_equal(ox_acse_decode(ox_buf_span(&want), NULL, &back, NULL), 0);
    assert_int_equal(back.kind, OX_ACSE_AARQ);
    const ox_acse_aarq *b = &back.u.aarq;
    assert_true(ox_oid_eq(&b->app_ctx, &ox_oid_ac_mts_transfer));
    assert_int_equal(b->calling_ap.form, OX_ACSE_FORM2);
    assert_true(ox_oid_eq(&b->calling_ap.oid, &oid123));
    assert_int_equal(b->calling_ae.value, 7);
    assert_int_equal(b->called_ap.form, OX_ACSE_ABSENT);
    assert_int_equal(b->ui.n, 1);
    assert_true(b->ui.ext[0].has_indirect && b->ui.ext[0].indirect == 3);
    assert_true(ox_span_eq(b->ui.ext[0].value, ox_span_of(int5, 3)));
    truncations(ox_buf_span(&want));
    ox_buf_reset(&w);
    assert_int_equal(ox_acse_aarq_encode(&w, b), 0);
    assert_bytes(&w, &want);

    /* Every optional field, form 1 titles, version, skipped auth fields, impl info. */
    ox_acse_aarq full = {.app_ctx = ox_oid_ac_mts_transfer};
    full.called_ap.form = OX_ACSE_FORM1;
    full.called_ap.form1 = ox_span_of("\x30\x00", 2);
    full.called_ae.form = OX_ACSE_FORM1;
    full.called_ae.form1 = ox_span_of("\x31\x00", 2);
    full.called_ap_inv = (ox_acse_opt_int){true, 1};
    full.called_ae_inv = (ox_acse_opt_int){true, 2};
    full.calling_ap_inv = (ox_acse_opt_int){true, 3};
    full.calling_ae_inv = (ox_acse_opt_int){true, 4};
    full.impl_info = ox_span_of("openx400", 8);
    ox_buf_reset(&w);
    assert_int_equal(ox_acse_aarq_encode(&w, &full), 0);
    assert_int_equal(ox_acse_decode(ox_buf_span(&w), NULL, &back, NULL), 0);
    assert_int_equal(b->called_ap.form, OX_ACSE_FORM1);
    assert_int_equal(b->called_ae.form, OX_ACSE_FORM1);
    assert_true(b->called_ap_inv.present && b->called_ap_inv.v == 1);
    assert_true(b->calling_ae_inv.present && b->calling_ae_inv.v == 4);
    assert_true(ox_span_eq(b->impl_info, ox_span_of("openx400", 8)));
    assert_false(b->ui.present);
    ox_buf in = hex("60 15 80 02 07 80 a1 06 06 04 56 00 01 06 8a 02 07 80 8b 01 00 ad 00");
    assert_int_equal(ox_acse_decode(ox_buf_span(&in), NULL, &back, NULL), 0);
    ox_buf_free(&in);
    ox_buf_free(&w);
    ox_buf_free(&want);
}

static void test_aare(void **state)
{
    (void)state;
    ox_buf want = load("aare_accept.hex"), w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_acse_aare a = {.app_ctx = ox_oid_ac_mts_transfer,
                      .result = OX_ACSE_RESULT_ACCEPTED,
                      .diag_source = OX_ACSE_DIAG_SERVICE_USER,
                      .diag = OX_ACSE_USER_NULL};
    assert_int_equal(ox_acse_aare_encode(&w, &a), 0);
    assert_bytes(&w, &want);
    ox_acse_apdu back;
    assert_int_equal(ox_acse_decode(ox_buf_span(&want), NULL, &back, NULL), 0);
    assert_int_equal(back.kind, OX_ACSE_AARE);
    assert_int_equal(back.u.aare.result, 0);
    assert_int_equal(back.u.aare.diag_source, OX_ACSE_DIAG_SERVICE_USER);
    truncations(ox_buf_span(&want));
    ox_buf_free(&want);

    want = load("aare_reject.hex");
    a.result = OX_ACSE_RESULT_REJECTED_PERMANENT;
    a.diag_source = OX_ACSE_DIAG_SERVICE_PROVIDER;
    a.diag = OX_ACSE_PROV_NO_COMMON_VERSION;
    ox_buf_reset(&w);
    assert_int_equal(ox_acse_aare_encode(&w, &a), 0);
    assert_bytes(&w, &want);
    assert_int_equal(ox_acse_decode(ox_buf_span(&want), NULL, &back, NULL), 0);
    assert_int_equal(back.u.aare.result, OX_ACSE_RESULT_REJECTED_PERMANENT);
    assert_int_equal(back.u.aare.diag_source, OX_ACSE_DIAG_SERVICE_PROVIDER);
    assert_int_equal(back.u.aare.diag, OX_ACSE_PROV_NO_COMMON_VERSION);
    truncations(ox_buf_span(&want));

    /* Responding title/qualifier/invocations and user-information round trip. */
    a.responding_ap.form = OX_ACSE_FORM2;
    a.responding_ap.oid = oid123;
    a.responding_ae.form = OX_ACSE_FORM2;
    a.responding_ae.value = -1;
    a.responding_ap_inv = (ox_acse_opt_int){true, 9};
    a.responding_ae_inv = (ox_acse_opt_int){true, 10};
    ui_int5(&a.ui);
    ox_buf_reset(&w);
    assert_int_equal(ox_acse_aare_encode(&w, &a), 0);
    assert_int_equal(ox_acse_decode(ox_buf_span(&w), NULL, &back, NULL), 0);
    assert_int_equal(back.u.aare.responding_ae.value, -1);
    assert_true(back.u.aare.responding_ae_inv.v == 10);
    assert_int_equal(back.u.aare.ui.n, 1);

    /* Misuse. */
    ox_buf_reset(&w);
    a.result = 3;
    assert_int_equal(ox_acse_aare_encode(&w, &a), OX_E_ARG);
    ox_buf_reset(&w);
    a.result = 0;
    a.diag_source = 0;
    assert_int_equal(ox_acse_aare_encode(&w, &a), OX_E_ARG);
    ox_buf_free(&w);
    ox_buf_free(&want);
}

static void test_release_abort(void **state)
{
    (void)state;
    ox_buf want = load("rlrq.hex"), w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_acse_rlrx r = {.reason = {true, OX_ACSE_RLRQ_NORMAL}};
    ui_int5(&r.ui);
    assert_int_equal(ox_acse_rlrq_encode(&w, &r), 0);
    assert_bytes(&w, &want);
    ox_acse_apdu back;
    assert_int_equal(ox_acse_decode(ox_buf_span(&want), NULL, &back, NULL), 0);
    assert_int_equal(back.kind, OX_ACSE_RLRQ);
    assert_true(back.u.rlrq.reason.present && back.u.rlrq.reason.v == 0);
    assert_int_equal(back.u.rlrq.ui.n, 1);
    truncations(ox_buf_span(&want));
    ox_buf_free(&want);

    want = load("rlre.hex");
    ox_acse_rlrx e = {.reason = {true, OX_ACSE_RLRE_NORMAL}};
    ox_buf_reset(&w);
    assert_int_equal(ox_acse_rlre_encode(&w, &e), 0);
    assert_bytes(&w, &want);
    assert_int_equal(ox_acse_decode(ox_buf_span(&want), NULL, &back, NULL), 0);
    assert_int_equal(back.kind, OX_ACSE_RLRE);
    truncations(ox_buf_span(&want));
    ox_buf_free(&want);

    want = load("abrt.hex");
    ox_acse_abrt ab = {.source = OX_ACSE_ABRT_SOURCE_PROVIDER,
                       .diag = {true, OX_ACSE_ABRT_PROTOCOL_ERROR}};
    ox_buf_reset(&w);
    assert_int_equal(ox_acse_abrt_encode(&w, &ab), 0);
    assert_bytes(&w, &want);
    assert_int_equal(ox_acse_decode(ox_buf_span(&want), NULL, &back, NULL), 0);
    assert_int_equal(back.kind, OX_ACSE_ABRT);
    assert_int_equal(back.u.abrt.source, 1);
    assert_true(back.u.abrt.diag.present && back.u.abrt.diag.v == 2);
    truncations(ox_buf_span(&want));
    ox_buf_reset(&w);
    ab.source = 2;
    assert_int_equal(ox_acse_abrt_encode(&w, &ab), OX_E_ARG);
    /* Empty RLRQ, ABRT with user information and skipped ASO fields. */
    ox_buf in = hex("62 00");
    assert_int_equal(ox_acse_decode(ox_buf_span(&in), NULL, &back, NULL), 0);
    assert_false(back.u.rlrq.reason.present);
    ox_buf_free(&in);
    in = hex("64 11 80 01 00 ad 00 be 0a 28 08 02 01 03 a0 03 02 01 05");
    assert_int_equal(ox_acse_decode(ox_buf_span(&in), NULL, &back, NULL), 0);
    assert_int_equal(back.u.abrt.ui.n, 1);
    ox_buf_free(&in);
    ox_buf_free(&w);
    ox_buf_free(&want);
}

static void test_external(void **state)
{
    (void)state;
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_acse_external e = {.has_direct = true,
                          .direct = oid123,
                          .has_indirect = true,
                          .indirect = 1,
                          .enc = OX_ACSE_EXT_OCTETS,
                          .value = ox_span_of("xy", 2)};
    assert_int_equal(ox_acse_external_encode(&w, &e), 0);
    ox_buf want = hex("28 0b 06 02 2a 03 02 01 01 81 02 78 79");
    assert_bytes(&w, &want);
    ox_acse_external back;
    assert_int_equal(ox_acse_external_decode(ox_buf_span(&w), NULL, &back, NULL), 0);
    assert_true(back.has_direct && ox_oid_eq(&back.direct, &oid123));
    assert_int_equal(back.enc, OX_ACSE_EXT_OCTETS);
    e.enc = OX_ACSE_EXT_BITS;
    e.value = ox_span_of("\x00\xff", 2);
    ox_buf_reset(&w);
    assert_int_equal(ox_acse_external_encode(&w, &e), 0);
    assert_int_equal(ox_acse_external_decode(ox_buf_span(&w), NULL, &back, NULL), 0);
    assert_int_equal(back.enc, OX_ACSE_EXT_BITS);
    static const char *const bad[] = {
        "28 05 a0 03 02 01 05",                   /* neither reference */
        "28 05 02 01 03 83 00",                   /* encoding [3] */
        "28 05 02 01 03 82 00",                   /* empty BIT STRING */
        "28 03 02 01 03",                         /* no encoding */
        "28 0a 02 01 03 07 00 a0 03 02 01 05 00", /* trailing */
        "28 0a 02 01 03 a0 03 02 01 05 02 01",    /* after encoding */
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bad); i++) {
        ox_buf in = hex(bad[i]);
        if (ox_acse_external_decode(ox_buf_span(&in), NULL, &back, NULL) != OX_E_PEER)
            fail_msg("case %zu accepted", i);
        ox_buf_free(&in);
    }
    ox_buf_reset(&w);
    e.has_direct = e.has_indirect = false;
    assert_int_equal(ox_acse_external_encode(&w, &e), OX_E_ARG);
    ox_buf_reset(&w);
    e.has_indirect = true;
    e.enc = 7;
    assert_int_equal(ox_acse_external_encode(&w, &e), OX_E_ARG);
    ox_buf_free(&want);
    ox_buf_free(&w);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        int rc;
        ox_ber_reason why;
    } bad[] = {
        {"65 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG}, /* [APPLICATION 5] */
        {"30 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG},
        {"60 00", OX_E_PEER, OX_BER_R_TRUNC_TAG},                              /* no app ctx */
        {"60 08 a6 02 05 00 a1 02 05 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG}, /* order */
        {"60 05 02 01 00", OX_E_PEER, OX_BER_R_LEN_OVERRUN},
        {"60 03 02 01 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG}, /* universal */
        {"60 04 80 02 07 00", OX_E_PEER, OX_BER_R_INT_RANGE},   /* no version1 */
        {"60 03 9f 1f 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG}, /* [31] */
        {"60 0c a1 06 06 04 56 00 01 06 be 02 30 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG},
        {"60 0a a1 06 06 04 56 00 01 06 be 00", OX_E_PEER, OX_BER_R_TRUNC_TAG},
        {"60 0d a1 06 06 04 56 00 01 06 a2 03 02 01 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG},
        {"61 08 a1 06 06 04 56 00 01 06", OX_E_PEER, OX_BER_R_TRUNC_TAG}, /* no result */
        {"61 14 a1 06 06 04 56 00 01 06 a2 03 02 01 03 a3 05 a1 03 02 01 00", OX_E_PEER,
         OX_BER_R_INT_RANGE},
        {"61 14 a1 06 06 04 56 00 01 06 a2 03 02 01 00 a3 05 a3 03 02 01 00", OX_E_PEER,
         OX_BER_R_UNEXPECTED_TAG},
        {"64 00", OX_E_PEER, OX_BER_R_TRUNC_TAG}, /* no source */
        {"64 03 80 01 02", OX_E_PEER, OX_BER_R_INT_RANGE},
        {"64 06 80 01 00 82 01 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG},
        {"62 03 81 01 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG},
        {"63 03 80 01 00 00", OX_E_PEER, OX_BER_R_LEFTOVER},
        {"62 06 80 01 00 80 01 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG}, /* duplicate */
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bad); i++) {
        ox_buf in = hex(bad[i].hex);
        ox_acse_apdu a;
        ox_ber_diag d;
        int rc = ox_acse_decode(ox_buf_span(&in), NULL, &a, &d);
        if (rc != bad[i].rc || d.reason != bad[i].why)
            fail_msg("case %zu: rc %d reason %s line %d", i, rc, ox_ber_reason_name(d.reason),
                     d.line);
        ox_buf_free(&in);
    }
    /* EXTERNAL count limit. */
    ox_buf in = hex("62 16 be 14 28 08 02 01 03 a0 03 02 01 05 28 08 02 01 03 a0 03 02 01 05");
    ox_acse_limits lim = {.max_externals = 1};
    ox_acse_apdu a;
    ox_ber_diag d;
    assert_int_equal(ox_acse_decode(ox_buf_span(&in), &lim, &a, &d), OX_E_LIMIT);
    assert_int_equal(ox_acse_decode(ox_buf_span(&in), NULL, &a, &d), 0);
    assert_int_equal(a.u.rlrq.ui.n, 2);
    ox_buf_free(&in);
    ox_acse_rlrx r = {0};
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    r.ui.present = true;
    r.ui.n = OX_ACSE_MAX_EXTERNALS + 1;
    assert_int_equal(ox_acse_rlrq_encode(&w, &r), OX_E_ARG);
    ox_buf_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aarq),          cmocka_unit_test(test_aare),
        cmocka_unit_test(test_release_abort), cmocka_unit_test(test_external),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
