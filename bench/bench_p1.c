/* bench_p1.c - P1 encode + decode of a message carrying a 2 KB IPM, with 10 recipients and
 *              5 trace elements (plus one internal-trace extension); prints µs per message.
 * The IPM content is built here with the BER writer (bench_p1 links ox_p1 only); P1 carries
 * it as an opaque view, so its size matters only for copying. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "openx400/p1.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static ox_p1_gdi gdi_of(const char *c, const char *a, const char *p)
{
    ox_p1_gdi g;
    memset(&g, 0, sizeof(g));
    snprintf(g.country, sizeof(g.country), "%s", c);
    snprintf(g.admd, sizeof(g.admd), "%s", a);
    snprintf(g.prmd, sizeof(g.prmd), "%s", p);
    return g;
}

int main(void)
{
    /* X.420 InformationObject ipm [0] { Heading SET { this-IPM }, Body { ia5-text [0] } } */
    static char text[2000];
    memset(text, 'a', sizeof(text));
    ox_buf ipm;
    ox_buf_init(&ipm, NULL, NULL, 0);
    size_t t = ox_ber_open(&ipm, OX_BER_CTX(0));
    size_t h = ox_ber_open(&ipm, OX_BER_UNIV(OX_BER_T_SET));
    size_t id = ox_ber_open(&ipm, OX_BER_APP(11));
    ox_ber_put_cstr(&ipm, 0, OX_BER_STR_PRINTABLE, "ipm-1");
    ox_ber_close(&ipm, id);
    ox_ber_close(&ipm, h);
    size_t b = ox_ber_open(&ipm, OX_BER_UNIV(OX_BER_T_SEQUENCE));
    size_t p = ox_ber_open(&ipm, OX_BER_CTX(0));
    size_t s = ox_ber_open(&ipm, OX_BER_UNIV(OX_BER_T_SET));
    ox_ber_close(&ipm, s);
    ox_ber_put_string(&ipm, 0, OX_BER_STR_IA5, ox_span_of(text, sizeof(text)));
    ox_ber_close(&ipm, p);
    ox_ber_close(&ipm, b);
    ox_ber_close(&ipm, t);

    ox_p1_message m;
    ox_p1_message_init(&m, NULL);
    m.id.gdi = gdi_of("GB", " ", "Site");
    snprintf(m.id.local_id, sizeof(m.id.local_id), "msg-0001@site");
    ox_p1_orname_parse(&m.originator, "C=GB;A= ;P=Site;O=Org;OU=Unit;S=Smith;G=John");
    m.content_type.builtin = OX_P1_CT_P22_1988;
    for (int i = 0; i < 5; i++) {
        ox_p1_trace tr;
        memset(&tr, 0, sizeof(tr));
        tr.gdi = gdi_of("GB", " ", "Relay");
        tr.arrival = 1700000000 + i;
        ox_p1_message_add_trace(&m, &tr);
    }
    for (int i = 0; i < 10; i++) {
        ox_p1_recipient r;
        memset(&r, 0, sizeof(r));
        char txt[96];
        snprintf(txt, sizeof(txt), "C=GB;A= ;P=Far;O=Dest;OU=Unit;S=User%d;G=Test", i);
        ox_p1_orname_parse(&r.name, txt);
        r.orig_number = i + 1;
        r.indicators = OX_P1_PRI_RESPONSIBILITY | OX_P1_PRI_MTA_NDR;
        r.explicit_conversion = -1;
        ox_p1_message_add_recipient(&m, &r);
    }
    m.content = ox_buf_span(&ipm);

    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    const int iters = 20000;
    size_t bytes = 0;
    double t0 = now_s();
    for (int i = 0; i < iters; i++) {
        ox_buf_reset(&w);
        if (ox_p1_message_encode(&w, &m, OX_P1_1988))
            return 1;
        ox_p1_apdu a;
        if (ox_p1_apdu_decode(ox_buf_span(&w), OX_P1_1988, NULL, NULL, &a, NULL))
            return 1;
        bytes = w.len;
        ox_p1_apdu_free(&a);
    }
    double t1 = now_s();
    double enc = 0;
    for (int i = 0; i < iters; i++) {
        ox_buf_reset(&w);
        ox_p1_message_encode(&w, &m, OX_P1_1988);
    }
    enc = now_s() - t1;
    printf("bench_p1: %zu-octet MTS-APDU (2 KB IPM content, 10 recipients, 5 trace): "
           "encode+decode %.2f us/message (encode alone %.2f us), %d iterations\n",
           bytes, (t1 - t0) * 1e6 / iters, enc * 1e6 / iters, iters);
    ox_p1_message_free(&m);
    ox_buf_free(&w);
    ox_buf_free(&ipm);
    return 0;
}
