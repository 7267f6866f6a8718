/* fuzz_acse.c - the X.227 APDU and EXTERNAL decoders on any input; what decodes must
 * re-encode to a fixed point. */
#include "openx400/acse.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int encode(ox_buf *w, const ox_acse_apdu *a)
{
    switch (a->kind) {
    case OX_ACSE_AARQ: return ox_acse_aarq_encode(w, &a->u.aarq);
    case OX_ACSE_AARE: return ox_acse_aare_encode(w, &a->u.aare);
    case OX_ACSE_RLRQ: return ox_acse_rlrq_encode(w, &a->u.rlrq);
    case OX_ACSE_RLRE: return ox_acse_rlre_encode(w, &a->u.rlrq);
    case OX_ACSE_ABRT: return ox_acse_abrt_encode(w, &a->u.abrt);
    }
    return OX_E_ARG;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ox_acse_limits lim = {.ber = {.max_depth = 32, .max_size = 1 << 20}};
    ox_ber_diag d;
    static ox_acse_apdu a, b;
    ox_buf w1, w2;
    ox_buf_init(&w1, NULL, NULL, 0);
    ox_buf_init(&w2, NULL, NULL, 0);
    int rc = ox_acse_decode(ox_span_of(data, size), &lim, &a, &d);
    if (rc != 0 && d.reason == OX_BER_R_NONE)
        __builtin_trap();
    if (rc == 0 && encode(&w1, &a) == 0) {
        if (ox_acse_decode(ox_buf_span(&w1), NULL, &b, NULL) != 0 || b.kind != a.kind)
            __builtin_trap();
        if (encode(&w2, &b) != 0 || !ox_span_eq(ox_buf_span(&w1), ox_buf_span(&w2)))
            __builtin_trap();
    }
    ox_acse_external e, e2;
    if (ox_acse_external_decode(ox_span_of(data, size), &lim.ber, &e, &d) == 0) {
        ox_buf_reset(&w1);
        ox_buf_reset(&w2);
        if (ox_acse_external_encode(&w1, &e) != 0 ||
            ox_acse_external_decode(ox_buf_span(&w1), NULL, &e2, NULL) != 0 ||
            ox_acse_external_encode(&w2, &e2) != 0 ||
            !ox_span_eq(ox_buf_span(&w1), ox_buf_span(&w2)))
            __builtin_trap();
    }
    ox_buf_free(&w1);
    ox_buf_free(&w2);
    return 0;
}
