/* test_ipm.c - X.420 IPM codec: round trips, pass-through of unmodelled parts, errors, and
 *              the byte-exact vector tests/vectors/ipm/ipm_basic.hex (OX_REGEN=1 rewrites it) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "openx400/ipm.h"

static const char body_text[] = "Hello from openx400.\r\nThis is an IA5 body part.\r\n";

static void sample_ipm(ox_ipm *m, uint32_t nrcpt)
{
    ox_ipm_init(m, NULL);
    m->this_ipm.has_user = true;
    assert_int_equal(ox_p1_orname_parse(&m->this_ipm.user, "C=GB;A= ;P=Site;O=Org;S=Smith"), 0);
    strcpy(m->this_ipm.local, "ipm-0001");
    m->has_originator = true;
    m->originator.has_formal = true;
    assert_int_equal(
        ox_p1_orname_parse(&m->originator.formal, "C=GB;A= ;P=Site;O=Org;OU=Unit;S=Smith;G=John"),
        0);
    strcpy(m->originator.free_form, "John Smith");
    for (uint32_t i = 0; i < nrcpt; i++) {
        ox_ipm_recipient r;
        memset(&r, 0, sizeof(r));
        r.who.has_formal = true;
        char t[96];
        snprintf(t, sizeof(t), "C=GB;A= ;P=Far;O=Dest;S=User%u", (unsigned)i);
        assert_int_equal(ox_p1_orname_parse(&r.who.formal, t), 0);
        if (i == 0) {
            r.notify = OX_IPM_NOTIFY_RN | OX_IPM_NOTIFY_NRN;
            r.reply_requested = true;
        }
        assert_int_equal(i % 3 == 2 ? ox_ipm_add_cc(m, &r) : ox_ipm_add_to(m, &r), 0);
    }
    m->has_subject = true;
    strcpy(m->subject, "Test subject");
    m->importance = 2;
    ox_ipm_bodypart bp;
    memset(&bp, 0, sizeof(bp));
    bp.kind = OX_IPM_BP_IA5;
    bp.repertoire = 5;
    bp.text = ox_span_of(body_text, strlen(body_text));
    assert_int_equal(ox_ipm_add_body(m, &bp), 0);
}

static void roundtrip(const ox_buf *w, ox_ipm *out)
{
    ox_p1_diag diag;
    int rc = ox_ipm_decode(ox_buf_span(w), NULL, NULL, out, &diag);
    if (rc)
        fprintf(stderr, "decode %s reason %s ber %s at %zu line %d\n", ox_strerror(rc),
                ox_p1_reason_name(diag.reason), ox_ber_reason_name(diag.ber.reason),
                diag.ber.offset, diag.ber.line);
    assert_int_equal(rc, 0);
    ox_buf w2;
    ox_buf_init(&w2, NULL, NULL, 0);
    assert_int_equal(ox_ipm_encode(&w2, out), 0);
    assert_int_equal(w2.len, w->len);
    assert_memory_equal(w2.p, w->p, w->len);
    ox_buf_free(&w2);
}

static void test_roundtrip(void **state)
{
    (void)state;
    ox_ipm m, back;
    sample_ipm(&m, 5);
    static const uint8_t charsets[] = {0x02, 0x01, 0x06, 0x02, 0x01, 0x64};
    ox_ipm_bodypart gt;
    memset(&gt, 0, sizeof(gt));
    gt.kind = OX_IPM_BP_GENERAL_TEXT;
    gt.charsets = ox_span_of(charsets, sizeof(charsets));
    gt.text = ox_span_of("gen\xe9ral", 7);
    assert_int_equal(ox_ipm_add_body(&m, &gt), 0);
    /* an unmodelled body part (bilaterally-defined [14]) and heading field (sensitivity [13]) */
    static const uint8_t bil[] = {0x8e, 0x03, 1, 2, 3};
    ox_ipm_bodypart o;
    memset(&o, 0, sizeof(o));
    o.kind = OX_IPM_BP_OTHER;
    o.whole = ox_span_of(bil, sizeof(bil));
    assert_int_equal(ox_ipm_add_body(&m, &o), 0);
    static const uint8_t sens[] = {0x8d, 0x01, 0x02};
    m.other[0].tag = OX_BER_CTX(13);
    m.other[0].whole = ox_span_of(sens, sizeof(sens));
    m.n_other = 1;
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_ipm_encode(&w, &m), 0);
    roundtrip(&w, &back);
    assert_string_equal(back.subject, "Test subject");
    assert_int_equal(back.n_to, 4);
    assert_int_equal(back.n_cc, 1);
    assert_true(back.to[0].reply_requested);
    assert_int_equal(back.to[0].notify, OX_IPM_NOTIFY_RN | OX_IPM_NOTIFY_NRN);
    assert_int_equal(back.importance, 2);
    assert_int_equal(back.n_body, 3);
    assert_int_equal(back.body[0].kind, OX_IPM_BP_IA5);
    assert_int_equal(back.body[0].text.len, strlen(body_text));
    assert_int_equal(back.body[1].kind, OX_IPM_BP_GENERAL_TEXT);
    assert_int_equal(back.body[1].text.len, 7);
    assert_int_equal(back.body[2].kind, OX_IPM_BP_OTHER);
    assert_int_equal(back.n_other, 1);
    assert_string_equal(back.originator.free_form, "John Smith");
    assert_true(ox_p1_orname_eq(&back.originator.formal, &m.originator.formal));
    ox_ipm_free(&back);
    /* every truncation fails cleanly */
    for (size_t cut = 0; cut < w.len; cut++)
        assert_int_not_equal(ox_ipm_decode(ox_span_of(w.p, cut), NULL, NULL, &back, NULL), 0);
    ox_ipm_free(&m);
    ox_buf_free(&w);
}

static void test_errors(void **state)
{
    (void)state;
    ox_ipm m;
    ox_p1_diag diag;
    /* IPN is not handled */
    static const uint8_t ipn[] = {0xa1, 0x00};
    assert_int_equal(ox_ipm_decode(ox_span_of(ipn, 2), NULL, NULL, &m, &diag), OX_E_UNSUPPORTED);
    /* heading without this-IPM */
    static const uint8_t noid[] = {0xa0, 0x04, 0x31, 0x00, 0x30, 0x00};
    assert_int_equal(ox_ipm_decode(ox_span_of(noid, sizeof(noid)), NULL, NULL, &m, &diag),
                     OX_E_PEER);
    assert_int_equal(diag.reason, OX_P1_R_MISSING);
    /* importance out of range */
    static const uint8_t imp[] = {0xa0, 0x0c, 0x31, 0x08, 0x6b, 0x03, 0x13,
                                  0x01, 'a',  0x8c, 0x01, 0x07, 0x30, 0x00};
    assert_int_equal(ox_ipm_decode(ox_span_of(imp, sizeof(imp)), NULL, NULL, &m, &diag), OX_E_PEER);
    /* duplicate subject */
    static const uint8_t dup[] = {0xa0, 0x11, 0x31, 0x0d, 0x6b, 0x03, 0x13, 0x01, 'a', 0xa8,
                                  0x02, 0x14, 0x00, 0xa8, 0x02, 0x14, 0x00, 0x30, 0x00};
    assert_int_equal(ox_ipm_decode(ox_span_of(dup, sizeof(dup)), NULL, NULL, &m, &diag), OX_E_PEER);
    assert_int_equal(diag.reason, OX_P1_R_DUPLICATE);
    /* IA5 body with a byte above 0x7f */
    static const uint8_t bad[] = {0xa0, 0x12, 0x31, 0x05, 0x6b, 0x03, 0x13, 0x01, 'a',  0x30,
                                  0x09, 0xa0, 0x07, 0x31, 0x00, 0x16, 0x03, 'a',  0xff, 'b'};
    assert_int_equal(ox_ipm_decode(ox_span_of(bad, sizeof(bad)), NULL, NULL, &m, &diag), OX_E_PEER);
    /* limits */
    ox_ipm s;
    sample_ipm(&s, 3);
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_ipm_encode(&w, &s), 0);
    ox_ipm_limits lim = {.max_recipients = 1};
    assert_int_equal(ox_ipm_decode(ox_buf_span(&w), &lim, NULL, &m, &diag), OX_E_LIMIT);
    assert_int_equal(diag.reason, OX_P1_R_TOO_MANY);
    lim = (ox_ipm_limits){.max_body_parts = 0};
    ox_ipm_bodypart bp = s.body[0];
    assert_int_equal(ox_ipm_add_body(&s, &bp), 0);
    ox_buf_reset(&w);
    assert_int_equal(ox_ipm_encode(&w, &s), 0);
    lim.max_body_parts = 1;
    assert_int_equal(ox_ipm_decode(ox_buf_span(&w), &lim, NULL, &m, &diag), OX_E_LIMIT);
    /* encoder refuses bad values */
    s.importance = 7;
    ox_buf_reset(&w);
    assert_int_equal(ox_ipm_encode(&w, &s), OX_E_ARG);
    s.importance = 1;
    s.body[0].text = ox_span_of("\xff", 1);
    ox_buf_reset(&w);
    assert_int_equal(ox_ipm_encode(&w, &s), OX_E_ARG);
    ox_ipm_free(&s);
    ox_buf_free(&w);
}

static void test_vector(void **state)
{
    (void)state;
    ox_ipm m, back;
    sample_ipm(&m, 10);
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    assert_int_equal(ox_ipm_encode(&w, &m), 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/ipm/ipm_basic.hex", OX_VECTORS_DIR);
    static char hex[1 << 16];
    ox_hex_encode(hex, sizeof(hex), ox_buf_span(&w));
    if (getenv("OX_REGEN")) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f,
                "# X.420 IPM written by test_ipm (OX_REGEN=1); carried as P1 content by "
                "tool_p1_pcap and decoded cleanly by tshark 4.0 p22 (tests/integration/"
                "p1_tshark.sh)\n%s\n",
                hex);
        fclose(f);
    }
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[1 << 17];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    ox_buf in;
    ox_buf_init(&in, NULL, NULL, 0);
    assert_int_equal(ox_hex_decode(&in, text), 0);
    assert_int_equal(in.len, w.len);
    assert_memory_equal(in.p, w.p, w.len);
    roundtrip(&in, &back);
    ox_ipm_free(&back);
    ox_ipm_free(&m);
    ox_buf_free(&w);
    ox_buf_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_vector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
