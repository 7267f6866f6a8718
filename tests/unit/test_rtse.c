/* test_rtse.c - X.228 APDU codec, streaming RTTR and the association assembly */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_vectors.h"

#include "openx400/rtse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ox_buf load(const char *name)
{
    return test_load_vector("rtse", name);
}

static const uint8_t seq0[] = {0x30, 0x00};
static const uint8_t set0[] = {0x31, 0x00};

/* Every proper prefix must fail cleanly through the CHOICE decoder. */
static void truncations(ox_span whole)
{
    for (size_t n = 0; n < whole.len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, whole.p, n);
        ox_rtse_apdu a;
        ox_ber_diag d;
        int rc = ox_rtse_apdu_decode(ox_span_of(copy, n), NULL, &a, &d);
        assert_true(rc == OX_E_PEER || rc == OX_E_LIMIT);
        assert_int_not_equal(d.reason, OX_BER_R_NONE);
        free(copy);
    }
}

static void test_rttp_rttr(void **state)
{
    (void)state;
    ox_buf want = load("rttp.hex"), w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_rtse_rttp_encode(&w, 0), 0);
    assert_bytes(&w, &want);
    ox_rtse_apdu a;
    assert_int_equal(ox_rtse_apdu_decode(ox_buf_span(&want), NULL, &a, NULL), 0);
    assert_int_equal(a.kind, OX_RTSE_RTTP);
    assert_int_equal(a.u.rttp, 0);
    truncations(ox_buf_span(&want));
    ox_buf_free(&want);
    want = load("rttr.hex");
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_rttr_encode(&w, ox_span_of("abc", 3)), 0);
    assert_bytes(&w, &want);
    assert_int_equal(ox_rtse_apdu_decode(ox_buf_span(&want), NULL, &a, NULL), 0);
    assert_int_equal(a.kind, OX_RTSE_RTTR);
    assert_false(a.u.rttr.constructed);
    assert_true(ox_span_eq(a.u.rttr.content, ox_span_of("abc", 3)));
    truncations(ox_buf_span(&want));
    /* A constructed RTTR is reported whole; DER refuses it. */
    ox_buf in = hex("24 07 04 01 61 04 02 62 63");
    assert_int_equal(ox_rtse_apdu_decode(ox_buf_span(&in), NULL, &a, NULL), 0);
    assert_true(a.u.rttr.constructed);
    ox_ber_limits der = {.der = true};
    ox_ber_diag d;
    assert_int_equal(ox_rtse_apdu_decode(ox_buf_span(&in), &der, &a, &d), OX_E_PEER);
    ox_buf_free(&in);
    ox_buf_free(&w);
    ox_buf_free(&want);
}

static void test_rtorq(void **state)
{
    (void)state;
    ox_buf want = load("rtorq_normal.hex"), w, bind;
    ox_buf_init(&w, NULL, NULL, 0);
    bind = hex("b0 02 30 00");
    ox_rtse_rtorq r = {.window = 3, .conn.open = ox_buf_span(&bind)};
    assert_int_equal(ox_rtse_rtorq_encode(&w, OX_RTSE_TAG_RTORQ, &r), 0);
    assert_bytes(&w, &want);
    ox_rtse_apdu a;
    assert_int_equal(ox_rtse_apdu_decode(ox_buf_span(&want), NULL, &a, NULL), 0);
    assert_int_equal(a.kind, OX_RTSE_RTORQ);
    assert_int_equal(a.u.rtorq.checkpoint, 0);
    assert_int_equal(a.u.rtorq.window, 3);
    assert_int_equal(a.u.rtorq.dialogue, OX_RTSE_MONOLOGUE);
    assert_false(a.u.rtorq.conn.recover);
    assert_true(ox_span_eq(a.u.rtorq.conn.open, ox_buf_span(&bind)));
    assert_false(a.u.rtorq.has_app_proto);
    truncations(ox_buf_span(&want));
    ox_buf_free(&want);

    want = load("rtorq_params.hex");
    ox_rtse_rtorq p = {.checkpoint = 16,
                       .window = 5,
                       .dialogue = OX_RTSE_TWA,
                       .has_app_proto = true,
                       .app_proto = OX_RTSE_APP_P1};
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_rtorq_encode(&w, OX_RTSE_TAG_RTORQ, &p), 0);
    assert_bytes(&w, &want);
    assert_int_equal(ox_rtse_apdu_decode(ox_buf_span(&want), NULL, &a, NULL), 0);
    assert_int_equal(a.u.rtorq.checkpoint, 16);
    assert_int_equal(a.u.rtorq.window, 5);
    assert_int_equal(a.u.rtorq.dialogue, OX_RTSE_TWA);
    assert_int_equal(a.u.rtorq.conn.open.len, 0);
    assert_true(a.u.rtorq.has_app_proto && a.u.rtorq.app_proto == 12);
    truncations(ox_buf_span(&want));
    ox_buf_free(&want);

    want = load("rtorq_recover.hex");
    ox_rtse_rtorq rc = {.window = 3};
    rc.conn.recover = true;
    rc.conn.calling_ref = ox_span_of("AB", 2);
    rc.conn.common_ref = ox_span_of("911231235959Z", 13);
    rc.conn.additional = ox_span_of("X", 1);
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_rtorq_encode(&w, OX_RTSE_TAG_RTORQ, &rc), 0);
    assert_bytes(&w, &want);
    assert_int_equal(ox_rtse_apdu_decode(ox_buf_span(&want), NULL, &a, NULL), 0);
    assert_true(a.u.rtorq.conn.recover && !a.u.rtorq.conn.ref_t61);
    assert_true(ox_span_eq(a.u.rtorq.conn.calling_ref, ox_span_of("AB", 2)));
    assert_int_equal(a.u.rtorq.conn.common_ref.len, 13);
    assert_true(ox_span_eq(a.u.rtorq.conn.additional, ox_span_of("X", 1)));
    truncations(ox_buf_span(&want));
    /* 1984 form of the reference: T61String, no additional information. */
    rc.conn.ref_t61 = true;
    rc.conn.additional = ox_span_of(NULL, 0);
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_rtorq_encode(&w, OX_RTSE_TAG_X410_PARAMS, &rc), 0);
    ox_rtse_rtorq back;
    assert_int_equal(
        ox_rtse_rtorq_decode(ox_buf_span(&w), OX_RTSE_TAG_X410_PARAMS, NULL, &back, NULL), 0);
    assert_true(back.conn.ref_t61 && back.conn.additional.p == NULL);
    /* Misuse. */
    static const ox_rtse_rtorq badv[] = {
        {.window = 0}, {.window = 3, .checkpoint = -1}, {.window = 3, .dialogue = 2}};
    for (size_t i = 0; i < OX_ARRAY_LEN(badv); i++) {
        ox_buf_reset(&w);
        assert_int_equal(ox_rtse_rtorq_encode(&w, OX_RTSE_TAG_RTORQ, &badv[i]), OX_E_ARG);
    }
    ox_buf_free(&bind);
    ox_buf_free(&w);
    ox_buf_free(&want);
}

static void test_rtoac_rtorj_rtab(void **state)
{
    (void)state;
    ox_buf want = load("rtoac_normal.hex"), w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_buf res = hex("b1 02 30 00");
    ox_rtse_rtoac ac = {.window = 3, .conn.open = ox_buf_span(&res)};
    assert_int_equal(ox_rtse_rtoac_encode(&w, OX_RTSE_TAG_RTOAC, &ac), 0);
    assert_bytes(&w, &want);
    ox_rtse_apdu a;
    assert_int_equal(ox_rtse_apdu_decode(ox_buf_span(&want), NULL, &a, NULL), 0);
    assert_int_equal(a.kind, OX_RTSE_RTOAC);
    assert_true(ox_span_eq(a.u.rtoac.conn.open, ox_buf_span(&res)));
    truncations(ox_buf_span(&want));
    ac.checkpoint = 1;
    ac.window = 10;
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_rtoac_encode(&w, OX_RTSE_TAG_RTOAC, &ac), 0);
    assert_int_equal(ox_rtse_apdu_decode(ox_buf_span(&w), NULL, &a, NULL), 0);
    assert_int_equal(a.u.rtoac.window, 10);
    assert_int_equal(a.u.rtoac.checkpoint, 1);
    ac.window = 0;
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_rtoac_encode(&w, OX_RTSE_TAG_RTOAC, &ac), OX_E_ARG);
    ox_buf_free(&want);

    want = load("rtorj_normal.hex");
    ox_rtse_rtorj rj = {.user_data = ox_span_of("\xb2\x03\x02\x01\x01", 5)};
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_rtorj_encode(&w, OX_RTSE_TAG_RTORJ, &rj), 0);
    assert_bytes(&w, &want);
    assert_int_equal(ox_rtse_apdu_decode(ox_buf_span(&want), NULL, &a, NULL), 0);
    assert_int_equal(a.kind, OX_RTSE_RTORJ);
    assert_false(a.u.rtorj.has_reason);
    assert_int_equal(a.u.rtorj.user_data.len, 5);
    truncations(ox_buf_span(&want));
    ox_rtse_rtorj rr = {.has_reason = true, .reason = 4};
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_rtorj_encode(&w, OX_RTSE_TAG_SET, &rr), OX_E_ARG);
    ox_buf_free(&want);

    want = load("rtab.hex");
    ox_rtse_rtab ab = {.has_reason = true,
                       .reason = OX_RTSE_AB_INVALID_PARAMETER,
                       .has_reflected = true,
                       .reflected = ox_span_of("\x07\x80", 2)};
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_rtab_encode(&w, OX_RTSE_TAG_RTAB, &ab), 0);
    assert_bytes(&w, &want);
    assert_int_equal(ox_rtse_apdu_decode(ox_buf_span(&want), NULL, &a, NULL), 0);
    assert_int_equal(a.kind, OX_RTSE_RTAB);
    assert_true(a.u.rtab.has_reason && a.u.rtab.reason == 1 && a.u.rtab.has_reflected);
    truncations(ox_buf_span(&want));
    ab.user_data = ox_span_of(seq0, 2);
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_rtab_encode(&w, OX_RTSE_TAG_RTAB, &ab), 0);
    assert_int_equal(ox_rtse_apdu_decode(ox_buf_span(&w), NULL, &a, NULL), 0);
    assert_int_equal(a.u.rtab.user_data.len, 2);
    ab.reason = 8;
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_rtab_encode(&w, OX_RTSE_TAG_RTAB, &ab), OX_E_ARG);
    ab.reason = 0;
    ab.reflected = ox_span_of("\x09", 1);
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_rtab_encode(&w, OX_RTSE_TAG_RTAB, &ab), OX_E_ARG);
    ox_buf_free(&res);
    ox_buf_free(&w);
    ox_buf_free(&want);
}

static void test_apdu_errors(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        ox_ber_reason why;
    } bad[] = {
        {"b3 00", OX_BER_R_UNEXPECTED_TAG}, /* [19] */
        {"02 01 00 00", OX_BER_R_LEFTOVER},
        {"b0 00", OX_BER_R_TRUNC_TAG},                        /* no connectionDataRQ */
        {"b0 06 a3 02 80 00 a3 00", OX_BER_R_UNEXPECTED_TAG}, /* duplicate */
        {"b0 07 81 01 00 a3 02 80 00", OX_BER_R_INT_RANGE},   /* window 0 */
        {"b0 07 82 01 02 a3 02 80 00", OX_BER_R_INT_RANGE},   /* dialogue 2 */
        {"b0 07 80 01 ff a3 02 80 00", OX_BER_R_INT_RANGE},   /* checkpoint -1 */
        {"b0 07 85 01 00 a3 02 80 00", OX_BER_R_UNEXPECTED_TAG},
        {"b0 04 a3 02 82 00", OX_BER_R_UNEXPECTED_TAG}, /* ConnectionData [2] */
        {"b0 05 a3 03 80 01 00", OX_BER_R_BAD_NULL},
        {"b0 04 a3 02 a0 00", OX_BER_R_TRUNC_TAG},            /* open with nothing inside */
        {"b0 06 a3 04 a1 02 04 00", OX_BER_R_TRUNC_TAG},      /* recover without time */
        {"b0 08 a3 06 a0 04 02 01 00 00", OX_BER_R_LEFTOVER}, /* two values in open */
        {"b1 00", OX_BER_R_TRUNC_TAG},
        {"b1 06 a2 02 80 00 83 00", OX_BER_R_UNEXPECTED_TAG},
        {"b2 02 82 00", OX_BER_R_UNEXPECTED_TAG},
        {"b2 06 80 01 00 80 01 00", OX_BER_R_UNEXPECTED_TAG},
        {"b6 03 81 01 08", OX_BER_R_BAD_BIT_STRING},
        {"b6 02 83 00", OX_BER_R_UNEXPECTED_TAG},
        {"b6 06 80 01 00 80 01 00", OX_BER_R_UNEXPECTED_TAG},
        {"02 00", OX_BER_R_BAD_INTEGER},
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bad); i++) {
        ox_buf in = hex(bad[i].hex);
        ox_rtse_apdu a;
        ox_ber_diag d;
        int rc = ox_rtse_apdu_decode(ox_buf_span(&in), NULL, &a, &d);
        if (rc != OX_E_PEER || d.reason != bad[i].why)
            fail_msg("case %zu: rc %d reason %s line %d", i, rc, ox_ber_reason_name(d.reason),
                     d.line);
        ox_buf_free(&in);
    }
    /* Tagged decoders refuse trailing bytes and a wrong outer tag. */
    ox_buf in = hex("b1 04 a2 02 80 00 00");
    ox_rtse_rtoac ac;
    assert_int_equal(ox_rtse_rtoac_decode(ox_buf_span(&in), OX_RTSE_TAG_RTOAC, NULL, &ac, NULL),
                     OX_E_PEER);
    assert_int_equal(ox_rtse_rtoac_decode(ox_span_of(in.p, 6), OX_RTSE_TAG_RTORQ, NULL, &ac, NULL),
                     OX_E_PEER);
    ox_buf_free(&in);
}

/* ---------------------------------------------------------------- streaming */

static void test_stream_write(void **state)
{
    (void)state;
    ox_buf want = load("rttr_stream.hex"), w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_rtse_rttr_frame f = {.pdv = true,
                            .pdv_ctx = OX_RTSE_CTX_MTA_RTSE,
                            .external = true,
                            .ext_has_indirect = true,
                            .ext_indirect = OX_RTSE_CTX_MTSE};
    assert_int_equal(ox_rtse_rttr_begin(&w, &f, 3), 0);
    ox_buf_append(&w, "abc", 3);
    assert_bytes(&w, &want);
    ox_buf_free(&want);
    /* The framing equals what the whole-element encoders build. */
    for (size_t len = 0; len < 70000; len = len * 2 + 61) {
        uint8_t *c = calloc(1, len + 1);
        ox_buf ext, rttr, whole;
        ox_buf_init(&ext, NULL, NULL, 0);
        ox_buf_init(&rttr, NULL, NULL, 0);
        ox_buf_init(&whole, NULL, NULL, 0);
        ox_acse_external e = {.has_direct = true,
                              .direct = ox_oid_as_mtse,
                              .has_indirect = true,
                              .indirect = 5,
                              .value = ox_span_of(c, len)};
        /* single-ASN1-type wants one element: give the content the shape of one. */
        if (len >= 2) {
            c[0] = 0x04;
            c[1] = 0;
        }
        f.ext_has_direct = true;
        f.ext_direct = ox_oid_as_mtse;
        ox_acse_external_encode(&ext, &e);
        ox_rtse_rttr_encode(&rttr, ox_buf_span(&ext));
        ox_pres_ud_single_encode(&whole, 3, ox_buf_span(&rttr));
        ox_buf_reset(&w);
        assert_int_equal(ox_rtse_rttr_begin(&w, &f, len), 0);
        ox_buf_append(&w, c, len);
        assert_bytes(&w, &whole);
        ox_buf_free(&ext);
        ox_buf_free(&rttr);
        ox_buf_free(&whole);
        free(c);
    }
    /* 1984 framing: a bare OCTET STRING. */
    ox_rtse_rttr_frame raw = {0};
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_rttr_begin(&w, &raw, 300), 0);
    ox_buf h = hex("04 82 01 2c");
    assert_bytes(&w, &h);
    ox_buf_free(&h);
    /* An EXTERNAL needs a reference. */
    ox_rtse_rttr_frame noref = {.external = true};
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_rttr_begin(&w, &noref, 1), OX_E_ARG);
    ox_buf_free(&w);
}

/* Feeds |in| split at |cut| (and again at |cut2|), collecting the content. */
static int feed_split(ox_span in, size_t cut, size_t cut2, bool pdv, bool ext, ox_buf *content,
                      ox_rtse_rttr_rd *r)
{
    size_t cuts[4] = {0, cut, cut2, in.len};
    ox_rtse_rttr_rd_init(r, pdv, ext);
    int rc = OX_E_AGAIN;
    for (size_t i = 0; i < 3; i++) {
        ox_span piece = ox_span_of(in.p + cuts[i], cuts[i + 1] - cuts[i]);
        while (piece.len) {
            size_t used;
            ox_span c;
            rc = ox_rtse_rttr_rd_feed(r, piece, &used, &c);
            if (rc < 0 && rc != OX_E_AGAIN)
                return rc;
            ox_buf_append(content, c.p, c.len);
            assert_true(used <= piece.len);
            piece.p += used;
            piece.len -= used;
            if (rc == 1)
                return piece.len ? 2 : 1;
            if (used == 0)
                fail_msg("no progress");
        }
    }
    return rc;
}

static void test_stream_read(void **state)
{
    (void)state;
    ox_buf in = load("rttr_stream.hex");
    for (size_t a = 0; a <= in.len; a++) {
        for (size_t b = a; b <= in.len; b++) {
            ox_buf content;
            ox_buf_init(&content, NULL, NULL, 0);
            ox_rtse_rttr_rd r;
            int rc = feed_split(ox_buf_span(&in), a, b, true, true, &content, &r);
            assert_int_equal(rc, 1);
            assert_true(ox_span_eq(ox_buf_span(&content), ox_span_of("abc", 3)));
            assert_true(r.got.pdv_ctx == 3 && r.got.ext_has_indirect && r.got.ext_indirect == 5);
            assert_true(r.content_len == 3);
            ox_buf_free(&content);
        }
    }
    /* Every truncation stops short of done, never errs. */
    for (size_t n = 0; n < in.len; n++) {
        ox_buf content;
        ox_buf_init(&content, NULL, NULL, 0);
        ox_rtse_rttr_rd r;
        int rc = feed_split(ox_span_of(in.p, n), 0, n, true, true, &content, &r);
        assert_true(rc == OX_E_AGAIN || rc == 0);
        ox_buf_free(&content);
    }
    /* Trailing octets are left unconsumed. */
    ox_buf_append(&in, "\x00", 1);
    ox_buf content;
    ox_buf_init(&content, NULL, NULL, 0);
    ox_rtse_rttr_rd r;
    assert_int_equal(feed_split(ox_buf_span(&in), 0, 0, true, true, &content, &r), 2);
    ox_buf_free(&content);
    ox_buf_free(&in);
}

static void test_stream_large(void **state)
{
    (void)state;
    /* 100 MB content: headers written up front, read back in 64 KiB chunks, never held. */
    const uint64_t total = (uint64_t)100 << 20;
    ox_rtse_rttr_frame f = {
        .pdv = true, .pdv_ctx = 3, .external = true, .ext_has_indirect = true, .ext_indirect = 5};
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_rtse_rttr_begin(&w, &f, total), 0);
    /* 100 MiB = 0x06400000: every header has a 4-octet length. */
    ox_buf want = hex("61 84 06 40 00 24 30 84 06 40 00 1e 02 01 03 a0 84 06 40 00 15"
                      " 04 84 06 40 00 0f 28 84 06 40 00 09 02 01 05 a0 84 06 40 00 00");
    assert_int_equal(w.len, want.len);
    assert_bytes(&w, &want);
    ox_buf_free(&want);
    ox_rtse_rttr_rd r;
    ox_rtse_rttr_rd_init(&r, true, true);
    size_t used;
    ox_span c;
    assert_int_equal(ox_rtse_rttr_rd_feed(&r, ox_buf_span(&w), &used, &c), 0);
    assert_int_equal(used, w.len);
    assert_int_equal(c.len, 0);
    assert_true(r.content_len == total);
    static uint8_t chunk[65536];
    uint64_t seen = 0;
    int rc = 0;
    while (rc == 0) {
        rc = ox_rtse_rttr_rd_feed(&r, ox_span_of(chunk, sizeof(chunk)), &used, &c);
        assert_true(rc == 0 || rc == 1);
        assert_true(c.p == chunk);
        seen += c.len;
    }
    assert_true(seen == total);
    ox_buf_free(&w);
}

static void test_stream_errors(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        bool pdv, ext;
        int rc;
    } bad[] = {
        {"62 00", true, true, OX_E_PEER},                      /* not Fully-encoded-data */
        {"61 80", true, true, OX_E_UNSUPPORTED},               /* indefinite */
        {"61 05 30 04 02 01 03 a0 00", true, true, OX_E_PEER}, /* lengths disagree */
        {"61 06 30 04 02 01 03 a0 00", true, true, OX_E_PEER},
        {"61 07 30 05 02 00 a0 00 00", true, true, OX_E_PEER},  /* empty INTEGER */
        {"24 00", false, false, OX_E_UNSUPPORTED},              /* constructed RTTR */
        {"04 89 00", false, false, OX_E_PEER},                  /* length of length 9 */
        {"04 05 28 03 a0 01 00", false, true, OX_E_PEER},       /* EXTERNAL without a ref */
        {"04 06 28 04 06 00 a0 00", false, true, OX_E_PEER},    /* bad OID */
        {"04 07 28 05 02 01 05 a1 00", false, true, OX_E_PEER}, /* not single-ASN1-type */
        {"05 00", false, false, OX_E_PEER},
        {"04 05 28 03 02 01 05 a0 00", false, true, OX_E_PEER}, /* EXTERNAL too long */
    };
    for (size_t i = 0; i < OX_ARRAY_LEN(bad); i++) {
        ox_buf in = hex(bad[i].hex);
        ox_rtse_rttr_rd r;
        ox_rtse_rttr_rd_init(&r, bad[i].pdv, bad[i].ext);
        size_t used;
        ox_span c;
        int rc = ox_rtse_rttr_rd_feed(&r, ox_buf_span(&in), &used, &c);
        if (rc != bad[i].rc)
            fail_msg("case %zu: rc %d", i, rc);
        /* Sticky. */
        assert_int_equal(ox_rtse_rttr_rd_feed(&r, ox_buf_span(&in), &used, &c), bad[i].rc);
        ox_buf_free(&in);
    }
    /* Headers longer than the limit. */
    uint8_t big[OX_RTSE_RTTR_HDR_MAX + 8];
    memset(big, 0, sizeof(big));
    static const uint8_t head[] = {0x04, 0x81, 0xf3, 0x28, 0x81, 0xf0, 0x06, 0x81, 0xe0};
    memcpy(big, head, sizeof(head)); /* an OID of 224 octets: larger than the header buffer */
    ox_rtse_rttr_rd r;
    ox_rtse_rttr_rd_init(&r, false, true);
    size_t used;
    ox_span c;
    assert_int_equal(ox_rtse_rttr_rd_feed(&r, ox_span_of(big, sizeof(big)), &used, &c), OX_E_LIMIT);
}

/* ---------------------------------------------------------------- association */

/* Segmented transfer: the EXTERNAL headers start the first segment; every split of the
 * segments' contents gives the same content, and the headers are byte-exact. */
static void test_stream_segments(void **state)
{
    (void)state;
    ox_rtse_rttr_frame f = {.ext_has_indirect = true, .ext_indirect = OX_RTSE_CTX_MTSE};
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_rtse_external_begin(&w, &f, 3), 0);
    ox_buf_append(&w, "abc", 3);
    ox_buf want = hex("28 08 02 01 05 a0 03 61 62 63");
    assert_bytes(&w, &want);
    ox_buf_free(&want);
    /* Large: 300 octets of content, lengths in long form. */
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_external_begin(&w, &f, 300), 0);
    want = hex("28 82 01 33 02 01 05 a0 82 01 2c");
    assert_bytes(&w, &want);
    ox_buf_free(&want);
    uint8_t content[300];
    for (size_t i = 0; i < sizeof(content); i++)
        content[i] = (uint8_t)(i * 7);
    ox_buf_append(&w, content, sizeof(content));
    for (size_t cut = 0; cut <= w.len; cut += 3) {
        ox_rtse_rttr_rd r;
        ox_rtse_rttr_rd_init_segments(&r);
        ox_buf got;
        ox_buf_init(&got, NULL, NULL, 0);
        ox_span parts[2] = {ox_span_of(w.p, cut), ox_span_of(w.p + cut, w.len - cut)};
        int rc = OX_E_AGAIN;
        for (int k = 0; k < 2; k++) {
            ox_span in = parts[k];
            while (in.len) {
                size_t used;
                ox_span c;
                rc = ox_rtse_rttr_rd_feed(&r, in, &used, &c);
                assert_true(rc >= 0 || rc == OX_E_AGAIN);
                ox_buf_append(&got, c.p, c.len);
                in.p += used;
                in.len -= used;
                if (rc == 1)
                    assert_int_equal(in.len, 0);
            }
        }
        assert_int_equal(rc, 1);
        assert_int_equal(got.len, sizeof(content));
        assert_memory_equal(got.p, content, sizeof(content));
        assert_true(r.got.ext_has_indirect);
        assert_int_equal(r.got.ext_indirect, OX_RTSE_CTX_MTSE);
        ox_buf_free(&got);
    }
    /* A segment stream that starts with an RTTR OCTET STRING is the wrong framing. */
    ox_rtse_rttr_rd r;
    ox_rtse_rttr_rd_init_segments(&r);
    ox_buf bad = hex("04 0a 28 08 02 01 05 a0 03 61 62 63");
    size_t used;
    ox_span c;
    assert_int_equal(ox_rtse_rttr_rd_feed(&r, ox_buf_span(&bad), &used, &c), OX_E_PEER);
    ox_buf_free(&bad);
    ox_buf_free(&w);
}

static void test_assoc_normal(void **state)
{
    (void)state;
    ox_buf want = load("assoc_cp_normal.hex"), w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_rtse_assoc_rq rq = {.mode = OX_PRES_MODE_NORMAL, .window = 3, .bind = ox_span_of(set0, 2)};
    assert_int_equal(ox_rtse_assoc_encode_cp(&w, &rq), 0);
    assert_bytes(&w, &want);
    ox_rtse_assoc_rq got;
    assert_int_equal(ox_rtse_assoc_decode_cp(ox_buf_span(&want), NULL, &got, NULL), 0);
    assert_int_equal(got.mode, OX_PRES_MODE_NORMAL);
    assert_true(ox_span_eq(got.bind, ox_span_of(set0, 2)));
    assert_int_equal(got.ctx_acse, 1);
    assert_int_equal(got.ctx_rtse, 3);
    assert_int_equal(got.ctx_mtse, 5);
    assert_int_equal(got.n_res, 3);
    assert_int_equal(got.window, 3);
    for (size_t n = 0; n < want.len; n++) {
        ox_ber_diag d;
        assert_int_equal(ox_rtse_assoc_decode_cp(ox_span_of(want.p, n), NULL, &got, &d), OX_E_PEER);
    }

    /* Full options: selectors, titles, parameters. */
    rq.calling_sel = ox_span_of("\x00\x01", 2);
    rq.called_sel = ox_span_of("\x00\x02", 2);
    rq.calling_ap.form = OX_ACSE_FORM2;
    rq.calling_ap.oid = ox_oid_as_acse;
    rq.called_ae.form = OX_ACSE_FORM2;
    rq.called_ae.value = 4;
    rq.checkpoint = 8;
    rq.window = 4;
    rq.dialogue = OX_RTSE_TWA;
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_assoc_encode_cp(&w, &rq), 0);
    assert_int_equal(ox_rtse_assoc_decode_cp(ox_buf_span(&w), NULL, &got, NULL), 0);
    assert_true(ox_span_eq(got.called_sel, rq.called_sel));
    assert_true(ox_oid_eq(&got.calling_ap.oid, &ox_oid_as_acse));
    assert_int_equal(got.called_ae.value, 4);
    assert_int_equal(got.checkpoint, 8);
    assert_int_equal(got.dialogue, OX_RTSE_TWA);

    /* Responder: CPA echoing the results; initiator parses it. */
    ox_rtse_assoc_ac ac = {.mode = OX_PRES_MODE_NORMAL,
                           .responding_sel = ox_span_of("\x00\x03", 2),
                           .window = 3,
                           .bind_result = ox_span_of(seq0, 2),
                           .ctx_acse = got.ctx_acse,
                           .ctx_rtse = got.ctx_rtse,
                           .n_res = got.n_res};
    memcpy(ac.res, got.res, sizeof(ac.res));
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_assoc_encode_cpa(&w, &ac), 0);
    ox_rtse_assoc_ac gac;
    assert_int_equal(ox_rtse_assoc_decode_cpa(ox_buf_span(&w), NULL, &gac, NULL), 0);
    assert_true(ox_span_eq(gac.bind_result, ox_span_of(seq0, 2)));
    assert_int_equal(gac.n_res, 3);
    assert_true(ox_span_eq(gac.responding_sel, ac.responding_sel));
    for (size_t n = 0; n < w.len; n++)
        assert_int_not_equal(ox_rtse_assoc_decode_cpa(ox_span_of(w.p, n), NULL, &gac, NULL), 0);

    /* Refusal with a bind error. */
    ox_rtse_assoc_rj rj = {.mode = OX_PRES_MODE_NORMAL,
                           .acse_result = OX_ACSE_RESULT_REJECTED_PERMANENT,
                           .acse_diag = OX_ACSE_USER_NO_REASON,
                           .bind_error = ox_span_of("\x02\x01\x02", 3)};
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_assoc_encode_cpr(&w, &rj), 0);
    ox_rtse_assoc_rj grj;
    assert_int_equal(ox_rtse_assoc_decode_cpr(ox_buf_span(&w), NULL, &grj, NULL), 0);
    assert_int_equal(grj.acse_result, OX_ACSE_RESULT_REJECTED_PERMANENT);
    assert_int_equal(grj.acse_diag, OX_ACSE_USER_NO_REASON);
    assert_true(ox_span_eq(grj.bind_error, rj.bind_error));
    assert_int_equal(grj.provider_reason, -1);
    for (size_t n = 0; n < w.len; n++)
        assert_int_not_equal(ox_rtse_assoc_decode_cpr(ox_span_of(w.p, n), NULL, &grj, NULL), 0);
    /* A provider refusal has no ACSE. */
    ox_buf in = hex("30 03 8a 01 01");
    assert_int_equal(ox_rtse_assoc_decode_cpr(ox_buf_span(&in), NULL, &grj, NULL), 0);
    assert_int_equal(grj.provider_reason, 1);
    assert_int_equal(grj.acse_result, -1);
    ox_buf_free(&in);
    /* Misuse. */
    rj.acse_result = OX_ACSE_RESULT_ACCEPTED;
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_assoc_encode_cpr(&w, &rj), OX_E_ARG);
    rq.mode = 3;
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_assoc_encode_cp(&w, &rq), OX_E_ARG);
    ac.mode = 3;
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_assoc_encode_cpa(&w, &ac), OX_E_ARG);
    ox_buf_free(&w);
    ox_buf_free(&want);
}

static void test_assoc_x410(void **state)
{
    (void)state;
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_rtse_assoc_rq rq = {
        .mode = OX_PRES_MODE_X410_1984, .window = 3, .bind = ox_span_of(seq0, 2)};
    assert_int_equal(ox_rtse_assoc_encode_cp(&w, &rq), 0);
    ox_buf want = hex("31 10 a0 03 80 01 00 a1 09 a3 04 a0 02 30 00 84 01 01");
    assert_bytes(&w, &want);
    ox_buf_free(&want);
    ox_rtse_assoc_rq got;
    assert_int_equal(ox_rtse_assoc_decode_cp(ox_buf_span(&w), NULL, &got, NULL), 0);
    assert_int_equal(got.mode, OX_PRES_MODE_X410_1984);
    assert_true(ox_span_eq(got.bind, ox_span_of(seq0, 2)));

    ox_rtse_assoc_ac ac = {
        .mode = OX_PRES_MODE_X410_1984, .window = 3, .bind_result = ox_span_of(seq0, 2)};
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_assoc_encode_cpa(&w, &ac), 0);
    want = hex("31 0d a0 03 80 01 00 a1 06 a2 04 a0 02 30 00");
    assert_bytes(&w, &want);
    ox_buf_free(&want);
    ox_rtse_assoc_ac gac;
    assert_int_equal(ox_rtse_assoc_decode_cpa(ox_buf_span(&w), NULL, &gac, NULL), 0);
    assert_true(ox_span_eq(gac.bind_result, ox_span_of(seq0, 2)));

    ox_rtse_assoc_rj rj = {.mode = OX_PRES_MODE_X410_1984,
                           .refuse_reason = OX_RTSE_RJ_VALIDATION_FAILURE};
    ox_buf_reset(&w);
    assert_int_equal(ox_rtse_assoc_encode_cpr(&w, &rj), 0);
    want = hex("31 03 80 01 02");
    assert_bytes(&w, &want);
    ox_buf_free(&want);
    ox_rtse_assoc_rj grj;
    assert_int_equal(ox_rtse_assoc_decode_cpr(ox_buf_span(&w), NULL, &grj, NULL), 0);
    assert_int_equal(grj.refuse_reason, OX_RTSE_RJ_VALIDATION_FAILURE);

    ox_buf_free(&w);
}

static void test_assoc_errors(void **state)
{
    (void)state;
    /* Wrong application context: rejected, the received name reported. */
    ox_buf cp = load("assoc_cp_normal.hex");
    ox_buf bad;
    ox_buf_init(&bad, NULL, NULL, 0);
    ox_buf_append(&bad, cp.p, cp.len);
    /* id-ac-mts-transfer 56 00 01 06 -> 56 00 01 07 (the AARQ's OID is the only 56 00 01 06) */
    for (size_t i = 0; i + 4 <= bad.len; i++)
        if (memcmp(bad.p + i, "\x56\x00\x01\x06", 4) == 0)
            bad.p[i + 3] = 7;
    ox_rtse_assoc_rq got;
    ox_ber_diag d;
    assert_int_equal(ox_rtse_assoc_decode_cp(ox_buf_span(&bad), NULL, &got, &d), OX_E_PEER);
    assert_int_equal(got.app_ctx.arc[4], 7);
    /* The RTSE context refused when its transfer syntax is not BER: 51 01 -> 51 02 in item 3. */
    memcpy(bad.p, cp.p, cp.len);
    bad.p[11 + 17 + 15] = 0x02;
    assert_int_equal(ox_rtse_assoc_decode_cp(ox_buf_span(&bad), NULL, &got, &d), OX_E_PEER);
    assert_int_equal(got.res[1].result, OX_PRES_RESULT_PROVIDER_REJECT);
    assert_int_equal(got.res[1].reason, OX_PRES_CTXR_TS_NOT_SUPPORTED);
    /* A recover RTORQ in 1984 mode. */
    ox_buf rec = hex("31 1f a0 03 80 01 00 a1 18 a3 13 a1 11 14 01 41 17 0c 39 31 31 32 33 31 32"
                     " 33 35 39 35 39 84 01 01");
    rec.p[1] = (uint8_t)(rec.len - 2);
    rec.p[8] = (uint8_t)(rec.len - 9);
    assert_int_equal(ox_rtse_assoc_decode_cp(ox_buf_span(&rec), NULL, &got, &d), OX_E_UNSUPPORTED);
    ox_buf_free(&rec);
    /* The bind must be wrapped [16] in normal mode. */
    ox_buf nowrap = hex("31 5e a0 03 80 01 01 a2 57 a4 33"
                        " 30 0f 02 01 01 06 04 52 01 00 01 30 04 06 02 51 01"
                        " 30 0f 02 01 03 06 04 56 00 02 0c 30 04 06 02 51 01"
                        " 30 0f 02 01 05 06 04 56 00 02 07 30 04 06 02 51 01"
                        " 61 20 30 1e 02 01 01 a0 19 60 17 a1 06 06 04 56 00 01 06 be 0d 28 0b"
                        " 02 01 03 a0 06 b0 04 a3 02 a0 00");
    assert_int_equal(ox_rtse_assoc_decode_cp(ox_buf_span(&nowrap), NULL, &got, &d), OX_E_PEER);
    ox_buf_free(&nowrap);
    ox_buf_free(&bad);
    ox_buf_free(&cp);
}

/* The association PDUs that tshark decoded cleanly (tests/vectors/rtse/tshark_*.hex): the
 * encoders must keep producing exactly these bytes, and the decoders must read them back. */
static void test_tshark_vectors(void **state)
{
    (void)state;
    static const uint8_t null_[] = {0x05, 0x00}, err0[] = {0x02, 0x01, 0x00};
    ox_buf w, want;
    ox_buf_init(&w, NULL, NULL, 0);
    ox_rtse_assoc_rq rq = {.mode = OX_PRES_MODE_NORMAL,
                           .window = 3,
                           .bind = ox_span_of(null_, 2),
                           .calling_sel = ox_span_of("\0\0\0\1", 4),
                           .called_sel = ox_span_of("\0\0\0\1", 4)};
    ox_rtse_assoc_ac ac = {
        .mode = OX_PRES_MODE_NORMAL, .window = 3, .bind_result = ox_span_of(null_, 2)};
    ox_rtse_assoc_rj rj = {.mode = OX_PRES_MODE_NORMAL,
                           .acse_result = OX_ACSE_RESULT_REJECTED_PERMANENT,
                           .acse_diag = OX_ACSE_USER_NO_REASON,
                           .bind_error = ox_span_of(err0, 3)};
    ox_rtse_assoc_rq grq;
    ox_rtse_assoc_ac gac;
    ox_rtse_assoc_rj grj;
    for (int mode = OX_PRES_MODE_NORMAL; mode >= OX_PRES_MODE_X410_1984; mode--) {
        bool n = mode == OX_PRES_MODE_NORMAL;
        rq.mode = ac.mode = rj.mode = mode;
        rj.refuse_reason = OX_RTSE_RJ_VALIDATION_FAILURE;
        want = load(n ? "tshark_cp.hex" : "tshark_cp84.hex");
        ox_buf_reset(&w);
        assert_int_equal(ox_rtse_assoc_encode_cp(&w, &rq), 0);
        assert_bytes(&w, &want);
        assert_int_equal(ox_rtse_assoc_decode_cp(ox_buf_span(&want), NULL, &grq, NULL), 0);
        assert_true(ox_span_eq(grq.bind, rq.bind));
        ox_buf_free(&want);
        want = load(n ? "tshark_cpa.hex" : "tshark_cpa84.hex");
        ox_buf_reset(&w);
        assert_int_equal(ox_rtse_assoc_encode_cpa(&w, &ac), 0);
        assert_bytes(&w, &want);
        assert_int_equal(ox_rtse_assoc_decode_cpa(ox_buf_span(&want), NULL, &gac, NULL), 0);
        assert_true(ox_span_eq(gac.bind_result, ac.bind_result));
        ox_buf_free(&want);
        want = load(n ? "tshark_cpr.hex" : "tshark_cpr84.hex");
        ox_buf_reset(&w);
        assert_int_equal(ox_rtse_assoc_encode_cpr(&w, &rj), 0);
        assert_bytes(&w, &want);
        assert_int_equal(ox_rtse_assoc_decode_cpr(ox_buf_span(&want), NULL, &grj, NULL), 0);
        if (n)
            assert_true(ox_span_eq(grj.bind_error, rj.bind_error));
        else
            assert_int_equal(grj.refuse_reason, OX_RTSE_RJ_VALIDATION_FAILURE);
        ox_buf_free(&want);
    }
    /* Release and abort user data. */
    ox_buf apdu;
    ox_buf_init(&apdu, NULL, NULL, 0);
    ox_acse_rlrx rl = {.reason = {true, OX_ACSE_RLRQ_NORMAL}};
    const char *names[] = {"tshark_rlrq.hex", "tshark_rlre.hex"};
    for (int i = 0; i < 2; i++) {
        ox_buf_reset(&apdu);
        ox_buf_reset(&w);
        if (i == 0)
            ox_acse_rlrq_encode(&apdu, &rl);
        else
            ox_acse_rlre_encode(&apdu, &rl);
        assert_int_equal(ox_pres_ud_single_encode(&w, OX_RTSE_CTX_ACSE, ox_buf_span(&apdu)), 0);
        want = load(names[i]);
        assert_bytes(&w, &want);
        ox_buf_free(&want);
    }
    ox_acse_abrt ab = {.source = OX_ACSE_ABRT_SOURCE_PROVIDER,
                       .diag = {true, OX_ACSE_ABRT_PROTOCOL_ERROR}};
    ox_buf_reset(&apdu);
    ox_acse_abrt_encode(&apdu, &ab);
    ox_pres_abort aru = {.kind = OX_PRES_ABORT_ARU};
    aru.ud.present = true;
    aru.ud.n_pdv = 1;
    aru.ud.pdv[0].ctx_id = OX_RTSE_CTX_ACSE;
    aru.ud.pdv[0].value = ox_buf_span(&apdu);
    ox_buf_reset(&w);
    assert_int_equal(ox_pres_abort_encode(&w, &aru), 0);
    want = load("tshark_aru.hex");
    assert_bytes(&w, &want);
    ox_buf_free(&want);
    ox_buf_free(&apdu);
    ox_buf_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rttp_rttr),        cmocka_unit_test(test_rtorq),
        cmocka_unit_test(test_rtoac_rtorj_rtab), cmocka_unit_test(test_apdu_errors),
        cmocka_unit_test(test_stream_write),     cmocka_unit_test(test_stream_read),
        cmocka_unit_test(test_stream_large),     cmocka_unit_test(test_stream_errors),
        cmocka_unit_test(test_stream_segments),  cmocka_unit_test(test_assoc_normal),
        cmocka_unit_test(test_assoc_x410),       cmocka_unit_test(test_assoc_errors),
        cmocka_unit_test(test_tshark_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
