/* test_pres.c - X.226 PPDU codec: byte-exact vectors, round trips, truncation, error paths */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_vectors.h"

#include "openx400/pres.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ox_buf load(const char *name)
{
    return test_load_vector("pres", name);
}

static const uint8_t int5[] = {0x02, 0x01, 0x05};

/* Every proper prefix of a valid PPDU must fail cleanly (and never read past it: ASan). */
typedef int (*decode_fn)(ox_span in, void *out, ox_ber_diag *diag);
static void truncations(ox_span whole, decode_fn fn)
{
    static union {
        ox_pres_cp cp;
        ox_pres_cpa cpa;
        ox_pres_cpr cpr;
        ox_pres_abort a;
        ox_pres_user_data ud;
    } scratch;
    void *out = &scratch;
    for (size_t n = 0; n < whole.len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, whole.p, n);
        ox_ber_diag d;
        int rc = fn(ox_span_of(copy, n), out, &d);
        assert_true(rc == OX_E_PEER || rc == OX_E_LIMIT);
        assert_int_not_equal(d.reason, OX_BER_R_NONE);
        free(copy);
    }
}

static int dec_ud(ox_span in, void *o, ox_ber_diag *d)
{
    return ox_pres_user_data_decode(in, NULL, o, d);
}
static int dec_cp(ox_span in, void *o, ox_ber_diag *d)
{
    return ox_pres_cp_decode(in, NULL, o, d);
}
static int dec_cpa(ox_span in, void *o, ox_ber_diag *d)
{
    return ox_pres_cpa_decode(in, NULL, o, d);
}
static int dec_cpr(ox_span in, void *o, ox_ber_diag *d)
{
    return ox_pres_cpr_decode(in, NULL, o, d);
}
static int dec_abort(ox_span in, void *o, ox_ber_diag *d)
{
    return ox_pres_abort_decode(in, NULL, o, d);
}

static void test_user_data(void **state)
{
    (void)state;
    ox_buf want = load("ud_single.hex"), w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_pres_ud_single_encode(&w, 3, ox_span_of(int5, 3)), 0);
    assert_bytes(&w, &want);
    ox_pres_user_data ud;
    assert_int_equal(ox_pres_user_data_decode(ox_buf_span(&want), NULL, &ud, NULL), 0);
    assert_true(ud.present && !ud.simple);
    assert_int_equal(ud.n_pdv, 1);
    const ox_pres_pdv *p = ox_pres_ud_find(&ud, 3);
    assert_non_null(p);
    assert_null(ox_pres_ud_find(&ud, 1));
    assert_int_equal(p->kind, OX_PRES_PDV_SINGLE);
    assert_true(ox_span_eq(p->value, ox_span_of(int5, 3)));
    truncations(ox_buf_span(&want), dec_ud);
    /* Round trip through the general encoder. */
    ox_buf_reset(&w);
    assert_int_equal(ox_pres_user_data_encode(&w, &ud), 0);
    assert_bytes(&w, &want);
    ox_buf_free(&w);
    ox_buf_free(&want);
}

static void test_user_data_forms(void **state)
{
    (void)state;
    /* Simply-encoded-data, octet-aligned and arbitrary PDVs, a transfer syntax name. */
    ox_pres_user_data ud = {.present = true, .simple = true, .simple_data = ox_span_of("hi", 2)};
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_pres_user_data_encode(&w, &ud), 0);
    ox_buf want = hex("40 02 68 69");
    assert_bytes(&w, &want);
    ox_pres_user_data back;
    assert_int_equal(ox_pres_user_data_decode(ox_buf_span(&w), NULL, &back, NULL), 0);
    assert_true(back.simple && ox_span_eq(back.simple_data, ox_span_of("hi", 2)));

    memset(&ud, 0, sizeof(ud));
    ud.present = true;
    ud.n_pdv = 2;
    ud.pdv[0].has_transfer = true;
    ud.pdv[0].transfer = ox_oid_pres_ber;
    ud.pdv[0].ctx_id = 1;
    ud.pdv[0].kind = OX_PRES_PDV_OCTETS;
    ud.pdv[0].value = ox_span_of("ab", 2);
    ud.pdv[1].ctx_id = 3;
    ud.pdv[1].kind = OX_PRES_PDV_BITS;
    ud.pdv[1].value = ox_span_of("\x07\x80", 2);
    ox_buf_reset(&w);
    assert_int_equal(ox_pres_user_data_encode(&w, &ud), 0);
    ox_buf_free(&want);
    want = hex("61 16 30 0b 06 02 51 01 02 01 01 81 02 61 62 30 07 02 01 03 82 02 07 80");
    assert_bytes(&w, &want);
    assert_int_equal(ox_pres_user_data_decode(ox_buf_span(&w), NULL, &back, NULL), 0);
    assert_int_equal(back.n_pdv, 2);
    assert_true(back.pdv[0].has_transfer && ox_oid_eq(&back.pdv[0].transfer, &ox_oid_pres_ber));
    assert_int_equal(back.pdv[0].kind, OX_PRES_PDV_OCTETS);
    assert_int_equal(back.pdv[1].kind, OX_PRES_PDV_BITS);
    ox_buf_free(&w);
    ox_buf_free(&want);
}

static void test_user_data_errors(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        int rc;
        ox_ber_reason why;
    } bad[] = {
        {"", OX_E_PEER, OX_BER_R_TRUNC_TAG},
        {"30 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG},                      /* not User-data */
        {"61 00", OX_E_PEER, OX_BER_R_TRUNC_TAG},                           /* SIZE (1..MAX) */
        {"61 05 30 03 02 01 03", OX_E_PEER, OX_BER_R_TRUNC_TAG},            /* no PDV value */
        {"61 07 30 05 02 01 03 83 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG}, /* [3] */
        {"61 08 30 06 02 01 03 82 01 08", OX_E_PEER, OX_BER_R_BAD_BIT_STRING},
        {"61 08 30 06 02 01 03 a0 01 00", OX_E_PEER, OX_BER_R_TRUNC_LEN}, /* inner elem short */
        {"61 0a 30 08 02 01 03 a0 03 02 01 05 00", OX_E_PEER, OX_BER_R_LEFTOVER},
        {"61 0b 30 09 02 01 03 a0 04 02 01 05 00", OX_E_PEER, OX_BER_R_LEFTOVER},
        {"40 80", OX_E_PEER, OX_BER_R_INDEF_PRIMITIVE},
        {"61", OX_E_PEER, OX_BER_R_TRUNC_LEN},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bad); i++) {
        ox_buf in = hex(bad[i].hex);
        ox_pres_user_data ud;
        ox_ber_diag d;
        int rc = ox_pres_user_data_decode(ox_buf_span(&in), NULL, &ud, &d);
        if (rc != bad[i].rc || d.reason != bad[i].why)
            fail_msg("case %zu: rc %d reason %s", i, rc, ox_ber_reason_name(d.reason));
        ox_buf_free(&in);
    }
    /* Limit on PDVs. */
    ox_buf in = hex("61 14 30 08 02 01 03 a0 03 02 01 05 30 08 02 01 03 a0 03 02 01 05");
    ox_pres_limits lim = {.max_pdvs = 1};
    ox_pres_user_data ud;
    ox_ber_diag d;
    assert_int_equal(ox_pres_user_data_decode(ox_buf_span(&in), &lim, &ud, &d), OX_E_LIMIT);
    assert_int_equal(d.reason, OX_BER_R_SIZE);
    assert_int_equal(ox_pres_user_data_decode(ox_buf_span(&in), NULL, &ud, &d), 0);
    assert_int_equal(ud.n_pdv, 2);
    ox_buf_free(&in);
    /* Encoder misuse. */
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_pres_user_data empty = {0};
    assert_int_equal(ox_pres_user_data_encode(&w, &empty), OX_E_ARG);
    ox_buf_free(&w);
}

static void fill_cp(ox_pres_cp *cp)
{
    memset(cp, 0, sizeof(*cp));
    cp->mode = OX_PRES_MODE_NORMAL;
    cp->calling_sel = ox_span_of("\x00\x01", 2);
    cp->called_sel = ox_span_of("\x00\x02", 2);
    cp->has_ctx_list = true;
    cp->n_ctx = 1;
    cp->ctx[0].id = 1;
    cp->ctx[0].abstract_syntax = ox_oid_as_acse;
    cp->ctx[0].transfer[0] = ox_oid_pres_ber;
    cp->ctx[0].n_transfer = 1;
    cp->ud.present = true;
    cp->ud.n_pdv = 1;
    cp->ud.pdv[0].ctx_id = 1;
    cp->ud.pdv[0].value = ox_span_of(int5, 3);
}

static void test_cp_normal(void **state)
{
    (void)state;
    ox_buf want = load("cp_normal.hex"), w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_pres_cp cp, back;
    fill_cp(&cp);
    assert_int_equal(ox_pres_cp_encode(&w, &cp), 0);
    assert_bytes(&w, &want);
    assert_int_equal(ox_pres_cp_decode(ox_buf_span(&want), NULL, &back, NULL), 0);
    assert_int_equal(back.mode, OX_PRES_MODE_NORMAL);
    assert_true(ox_span_eq(back.calling_sel, cp.calling_sel));
    assert_true(ox_span_eq(back.called_sel, cp.called_sel));
    assert_true(back.has_ctx_list);
    assert_int_equal(back.n_ctx, 1);
    assert_true(ox_oid_eq(&back.ctx[0].abstract_syntax, &ox_oid_as_acse));
    assert_true(ox_span_eq(back.ud.pdv[0].value, ox_span_of(int5, 3)));
    truncations(ox_buf_span(&want), dec_cp);
    ox_buf_reset(&w);
    assert_int_equal(ox_pres_cp_encode(&w, &back), 0);
    assert_bytes(&w, &want);

    /* Default context, requirements, protocol version and 1994 options are accepted. */
    ox_buf in = hex("31 27 a0 03 80 01 01 a2 20 80 02 07 80 a6 08 80 02 51 01 81 02 51 01"
                    " 88 02 06 00 89 03 06 00 40 8b 02 07 80 8c 01 01 ae 00");
    assert_int_equal(ox_pres_cp_decode(ox_buf_span(&in), NULL, &back, NULL), 0);
    assert_true(back.has_default_ctx);
    assert_int_equal(back.pres_req.len, 2);
    assert_int_equal(back.user_ses_req.len, 3);
    assert_false(back.ud.present);
    ox_buf_reset(&w);
    back.has_default_ctx = true;
    back.default_as = ox_oid_as_acse;
    back.default_ts = ox_oid_pres_ber;
    assert_int_equal(ox_pres_cp_encode(&w, &back), 0);
    ox_pres_cp again;
    assert_int_equal(ox_pres_cp_decode(ox_buf_span(&w), NULL, &again, NULL), 0);
    assert_true(ox_oid_eq(&again.default_as, &ox_oid_as_acse));
    ox_buf_free(&in);
    ox_buf_free(&w);
    ox_buf_free(&want);
}

static void test_cp_x410(void **state)
{
    (void)state;
    ox_buf want = load("cp_x410.hex"), w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_buf rtorq = hex("a1 09 a3 04 a0 02 30 00 84 01 01");
    ox_pres_cp cp = {.mode = OX_PRES_MODE_X410_1984, .x410 = ox_buf_span(&rtorq)}, back;
    assert_int_equal(ox_pres_cp_encode(&w, &cp), 0);
    assert_bytes(&w, &want);
    assert_int_equal(ox_pres_cp_decode(ox_buf_span(&want), NULL, &back, NULL), 0);
    assert_int_equal(back.mode, OX_PRES_MODE_X410_1984);
    assert_true(ox_span_eq(back.x410, ox_buf_span(&rtorq)));
    truncations(ox_buf_span(&want), dec_cp);
    /* The x410 group must be a [1] element. */
    ox_buf_reset(&w);
    cp.x410 = ox_span_of("\x31\x00", 2);
    assert_int_equal(ox_pres_cp_encode(&w, &cp), OX_E_ARG);
    ox_buf_reset(&w);
    cp.mode = 7;
    assert_int_equal(ox_pres_cp_encode(&w, &cp), OX_E_ARG);
    ox_buf_free(&rtorq);
    ox_buf_free(&w);
    ox_buf_free(&want);
}

static void test_cp_errors(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        int rc;
        ox_ber_reason why;
    } bad[] = {
        {"30 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG},           /* not a SET */
        {"31 00", OX_E_PEER, OX_BER_R_TRUNC_TAG},                /* no mode selector */
        {"31 05 a0 03 80 01 02", OX_E_PEER, OX_BER_R_INT_RANGE}, /* mode 2 */
        {"31 0a a0 03 80 01 01 a0 03 80 01 01", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG}, /* twice */
        {"31 07 a0 03 80 01 01 a3 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG},          /* [3] in CP */
        {"31 07 a0 03 80 01 01 a1 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG}, /* x410 in normal */
        {"31 05 a0 03 80 01 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG},       /* 1984, no [1] */
        {"31 09 a0 03 80 01 00 a1 00 a2 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG},  /* both */
        {"31 0b a0 03 80 01 01 a2 04 80 02 07 00", OX_E_PEER, OX_BER_R_INT_RANGE}, /* no v1 */
        {"31 0a a0 03 80 01 01 a2 03 80 01 00", OX_E_PEER, OX_BER_R_BAD_BIT_STRING},
        {"31 0b a0 03 80 01 01 a2 04 83 02 00 01", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG},
        {"31 0b a0 03 80 01 01 a2 04 81 00 81 00", OX_E_PEER, OX_BER_R_UNEXPECTED_TAG},
        {"31 0b a0 03 80 01 01 a2 04 a4 02 30 00", OX_E_PEER, OX_BER_R_TRUNC_TAG}, /* empty item */
        {"31 13 a0 03 80 01 01 a2 0c a4 0a 30 08 02 01 01 06 01 51 30 00", OX_E_PEER,
         OX_BER_R_TRUNC_TAG}, /* no transfer syntax */
        {"31 11 a0 03 80 01 01 a2 0a 40 00 81 00 00 00 00 00 00 00", OX_E_PEER,
         OX_BER_R_UNEXPECTED_TAG},                                 /* something after user data */
        {"31 05 a0 03 80 01 01 00", OX_E_PEER, OX_BER_R_LEFTOVER}, /* trailing byte */
        {"31 07 a0 03 80 01 01 1f 00", OX_E_PEER, OX_BER_R_BAD_TAG},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bad); i++) {
        ox_buf in = hex(bad[i].hex);
        ox_pres_cp cp;
        ox_ber_diag d;
        int rc = ox_pres_cp_decode(ox_buf_span(&in), NULL, &cp, &d);
        if (rc != bad[i].rc || d.reason != bad[i].why)
            fail_msg("case %zu: rc %d reason %s line %d", i, rc, ox_ber_reason_name(d.reason),
                     d.line);
        ox_buf_free(&in);
    }
    /* Context count limit. */
    ox_pres_cp cp;
    fill_cp(&cp);
    cp.n_ctx = 3;
    cp.ctx[1] = cp.ctx[0];
    cp.ctx[2] = cp.ctx[0];
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_pres_cp_encode(&w, &cp), 0);
    ox_pres_limits lim = {.max_contexts = 2};
    ox_ber_diag d;
    assert_int_equal(ox_pres_cp_decode(ox_buf_span(&w), &lim, &cp, &d), OX_E_LIMIT);
    assert_int_equal(ox_pres_abort_reason(&d), OX_PRES_AR_UNRECOGNIZED_PPDU);
    ox_buf_reset(&w);
    fill_cp(&cp);
    cp.n_ctx = OX_PRES_MAX_CONTEXTS + 1;
    assert_int_equal(ox_pres_cp_encode(&w, &cp), OX_E_ARG);
    ox_buf_reset(&w);
    cp.n_ctx = 1;
    cp.ctx[0].n_transfer = 0;
    assert_int_equal(ox_pres_cp_encode(&w, &cp), OX_E_ARG);
    ox_buf_free(&w);
}

static void test_cpa(void **state)
{
    (void)state;
    ox_buf want = load("cpa_normal.hex"), w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_pres_cpa cpa = {.mode = OX_PRES_MODE_NORMAL,
                       .responding_sel = ox_span_of("\x00\x03", 2),
                       .has_results = true,
                       .n_res = 1},
                back;
    cpa.res[0].has_transfer = true;
    cpa.res[0].transfer = ox_oid_pres_ber;
    cpa.ud.present = true;
    cpa.ud.n_pdv = 1;
    cpa.ud.pdv[0].ctx_id = 1;
    cpa.ud.pdv[0].value = ox_span_of(int5, 3);
    assert_int_equal(ox_pres_cpa_encode(&w, &cpa), 0);
    assert_bytes(&w, &want);
    assert_int_equal(ox_pres_cpa_decode(ox_buf_span(&want), NULL, &back, NULL), 0);
    assert_int_equal(back.n_res, 1);
    assert_int_equal(back.res[0].result, OX_PRES_RESULT_ACCEPT);
    assert_true(back.res[0].has_transfer && !back.res[0].has_reason);
    truncations(ox_buf_span(&want), dec_cpa);
    ox_buf_free(&want);

    want = load("cpa_x410.hex");
    ox_buf_reset(&w);
    ox_buf rtoac = hex("a1 06 a2 04 a0 02 30 00");
    ox_pres_cpa x = {.mode = OX_PRES_MODE_X410_1984, .x410 = ox_buf_span(&rtoac)};
    assert_int_equal(ox_pres_cpa_encode(&w, &x), 0);
    assert_bytes(&w, &want);
    assert_int_equal(ox_pres_cpa_decode(ox_buf_span(&want), NULL, &back, NULL), 0);
    assert_true(ox_span_eq(back.x410, ox_buf_span(&rtoac)));
    truncations(ox_buf_span(&want), dec_cpa);

    /* A rejection result with a provider reason; errors. */
    ox_buf in = hex("31 13 a0 03 80 01 01 a2 0c a5 08 30 06 80 01 02 82 01 01 88 00");
    assert_int_equal(ox_pres_cpa_decode(ox_buf_span(&in), NULL, &back, NULL), 0);
    assert_true(back.res[0].has_reason && back.res[0].reason == OX_PRES_CTXR_AS_NOT_SUPPORTED);
    ox_buf_free(&in);
    static const char *const bad[] = {
        "31 0a a0 03 80 01 01 a2 03 8a 01 01",             /* provider-reason is CPR only */
        "31 0a a0 03 80 01 01 a2 03 87 01 00",             /* default-context-result is CPR only */
        "31 0e a0 03 80 01 01 a2 07 a5 05 30 03 80 01 03", /* result 3 */
        "31 00",
        "31 05 a0 03 80 01 00",
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bad); i++) {
        in = hex(bad[i]);
        ox_ber_diag d;
        if (ox_pres_cpa_decode(ox_buf_span(&in), NULL, &back, &d) != OX_E_PEER)
            fail_msg("case %zu accepted", i);
        ox_buf_free(&in);
    }
    ox_buf_free(&rtoac);
    ox_buf_free(&w);
    ox_buf_free(&want);
}

static void test_cpr(void **state)
{
    (void)state;
    ox_buf want = load("cpr_normal.hex"), w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_pres_cpr cpr = {.mode = OX_PRES_MODE_NORMAL,
                       .has_provider_reason = true,
                       .provider_reason = OX_PRES_PR_TEMP_CONGESTION},
                back;
    assert_int_equal(ox_pres_cpr_encode(&w, &cpr), 0);
    assert_bytes(&w, &want);
    assert_int_equal(ox_pres_cpr_decode(ox_buf_span(&want), NULL, &back, NULL), 0);
    assert_int_equal(back.mode, OX_PRES_MODE_NORMAL);
    assert_true(back.has_provider_reason && back.provider_reason == 1);
    truncations(ox_buf_span(&want), dec_cpr);
    ox_buf_free(&want);

    want = load("cpr_x410.hex");
    ox_buf_reset(&w);
    ox_pres_cpr x = {.mode = OX_PRES_MODE_X410_1984, .x410 = ox_span_of("\x31\x03\x80\x01\x00", 5)};
    assert_int_equal(ox_pres_cpr_encode(&w, &x), 0);
    assert_bytes(&w, &want);
    assert_int_equal(ox_pres_cpr_decode(ox_buf_span(&want), NULL, &back, NULL), 0);
    assert_int_equal(back.mode, OX_PRES_MODE_X410_1984);
    truncations(ox_buf_span(&want), dec_cpr);

    /* Full normal CPR: selector, results, default result, user data. */
    ox_pres_cpr full = {.mode = OX_PRES_MODE_NORMAL,
                        .responding_sel = ox_span_of("\x01", 1),
                        .has_results = true,
                        .n_res = 1,
                        .has_default_result = true,
                        .default_result = OX_PRES_RESULT_USER_REJECT};
    full.res[0].result = OX_PRES_RESULT_USER_REJECT;
    full.ud.present = true;
    full.ud.n_pdv = 1;
    full.ud.pdv[0].ctx_id = 1;
    full.ud.pdv[0].value = ox_span_of(int5, 3);
    ox_buf_reset(&w);
    assert_int_equal(ox_pres_cpr_encode(&w, &full), 0);
    assert_int_equal(ox_pres_cpr_decode(ox_buf_span(&w), NULL, &back, NULL), 0);
    assert_true(back.has_default_result && back.default_result == OX_PRES_RESULT_USER_REJECT);
    assert_int_equal(back.res[0].result, OX_PRES_RESULT_USER_REJECT);
    assert_true(back.ud.present);
    ox_buf in = hex("30 03 88 01 00"); /* presentation-requirements not allowed in CPR */
    assert_int_equal(ox_pres_cpr_decode(ox_buf_span(&in), NULL, &back, NULL), OX_E_PEER);
    ox_buf_free(&in);
    ox_buf_reset(&w);
    full.mode = 5;
    assert_int_equal(ox_pres_cpr_encode(&w, &full), OX_E_ARG);
    ox_buf_free(&w);
    ox_buf_free(&want);
}

static void test_abort(void **state)
{
    (void)state;
    ox_buf want = load("arp.hex"), w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_pres_abort a = {.kind = OX_PRES_ABORT_ARP,
                       .has_reason = true,
                       .reason = OX_PRES_AR_UNRECOGNIZED_PPDU,
                       .has_event = true,
                       .event = OX_PRES_EV_TD},
                  back;
    assert_int_equal(ox_pres_abort_encode(&w, &a), 0);
    assert_bytes(&w, &want);
    assert_int_equal(ox_pres_abort_decode(ox_buf_span(&want), NULL, &back, NULL), 0);
    assert_int_equal(back.kind, OX_PRES_ABORT_ARP);
    assert_true(back.has_reason && back.reason == 1 && back.has_event && back.event == 7);
    truncations(ox_buf_span(&want), dec_abort);
    ox_buf_free(&want);

    want = load("aru_normal.hex");
    ox_buf_reset(&w);
    ox_pres_abort u = {.kind = OX_PRES_ABORT_ARU};
    u.ud.present = true;
    u.ud.n_pdv = 1;
    u.ud.pdv[0].ctx_id = 3;
    u.ud.pdv[0].value = ox_span_of(int5, 3);
    assert_int_equal(ox_pres_abort_encode(&w, &u), 0);
    assert_bytes(&w, &want);
    assert_int_equal(ox_pres_abort_decode(ox_buf_span(&want), NULL, &back, NULL), 0);
    assert_int_equal(back.kind, OX_PRES_ABORT_ARU);
    assert_true(back.ud.present);
    truncations(ox_buf_span(&want), dec_abort);

    /* ARU with a context identifier list; x410 ARU; empty ARP. */
    u.n_ctx_ids = 1;
    u.ctx_ids[0] = 3;
    u.ctx_ts[0] = ox_oid_pres_ber;
    ox_buf_reset(&w);
    assert_int_equal(ox_pres_abort_encode(&w, &u), 0);
    assert_int_equal(ox_pres_abort_decode(ox_buf_span(&w), NULL, &back, NULL), 0);
    assert_int_equal(back.n_ctx_ids, 1);
    assert_int_equal(back.ctx_ids[0], 3);
    ox_pres_abort x = {.kind = OX_PRES_ABORT_ARU_X410,
                       .x410 = ox_span_of("\x31\x03\x80\x01\x04", 5)};
    ox_buf_reset(&w);
    assert_int_equal(ox_pres_abort_encode(&w, &x), 0);
    assert_int_equal(ox_pres_abort_decode(ox_buf_span(&w), NULL, &back, NULL), 0);
    assert_int_equal(back.kind, OX_PRES_ABORT_ARU_X410);
    ox_pres_abort e = {.kind = OX_PRES_ABORT_ARP};
    ox_buf_reset(&w);
    assert_int_equal(ox_pres_abort_encode(&w, &e), 0);
    ox_buf want2 = hex("30 00");
    assert_bytes(&w, &want2);
    ox_buf_free(&want2);
    static const char *const bad[] = {"a1 00", "30 03 82 01 00", "a0 02 a1 00", "30 00 00"};
    for (size_t i = 0; i < OX_ARRAY_LEN(bad); i++) {
        ox_buf in = hex(bad[i]);
        if (ox_pres_abort_decode(ox_buf_span(&in), NULL, &back, NULL) != OX_E_PEER)
            fail_msg("case %zu accepted", i);
        ox_buf_free(&in);
    }
    ox_buf_reset(&w);
    e.kind = 9;
    assert_int_equal(ox_pres_abort_encode(&w, &e), OX_E_ARG);
    ox_buf_free(&w);
    ox_buf_free(&want);
}

static void test_abort_reason_map(void **state)
{
    (void)state;
    ox_ber_diag d = {.reason = OX_BER_R_UNEXPECTED_TAG};
    assert_int_equal(ox_pres_abort_reason(&d), OX_PRES_AR_UNRECOGNIZED_PARAM);
    d.reason = OX_BER_R_INT_RANGE;
    assert_int_equal(ox_pres_abort_reason(&d), OX_PRES_AR_INVALID_PARAM_VALUE);
    d.reason = OX_BER_R_TRUNC_LEN;
    assert_int_equal(ox_pres_abort_reason(&d), OX_PRES_AR_UNRECOGNIZED_PPDU);
    assert_int_equal(ox_pres_abort_reason(NULL), OX_PRES_AR_NOT_SPECIFIED);
}

/* An encoder's sticky buffer error is reported (buffer ceiling). */
static void test_encode_limit(void **state)
{
    (void)state;
    ox_pres_cp cp;
    fill_cp(&cp);
    for (size_t max = 1; max < 48; max++) {
        ox_buf w;
        ox_buf_init(&w, NULL, NULL, 0);
        w.max = max;
        assert_int_equal(ox_pres_cp_encode(&w, &cp), OX_E_LIMIT);
        ox_buf_free(&w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_data),
        cmocka_unit_test(test_user_data_forms),
        cmocka_unit_test(test_user_data_errors),
        cmocka_unit_test(test_cp_normal),
        cmocka_unit_test(test_cp_x410),
        cmocka_unit_test(test_cp_errors),
        cmocka_unit_test(test_cpa),
        cmocka_unit_test(test_cpr),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_abort_reason_map),
        cmocka_unit_test(test_encode_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
