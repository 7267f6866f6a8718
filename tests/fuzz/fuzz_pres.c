/* fuzz_pres.c - every X.226 PPDU decoder on any input; what decodes must re-encode, and the
 * re-encoding must decode and re-encode to the same bytes (the codec is a fixed point). */
#include "openx400/pres.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encodes |v| with |enc|, decodes it with |dec| into |tmp|, encodes again: same bytes. */
#define FIXED_POINT(type, v, enc, dec)                                                             \
    do {                                                                                           \
        ox_buf a, b;                                                                               \
        ox_buf_init(&a, NULL, NULL, 0);                                                            \
        ox_buf_init(&b, NULL, NULL, 0);                                                            \
        if (enc(&a, (v)) == 0) {                                                                   \
            type *tmp = calloc(1, sizeof(type));                                                   \
            if (dec(ox_buf_span(&a), NULL, tmp, NULL) != 0)                                        \
                __builtin_trap();                                                                  \
            if (enc(&b, tmp) != 0 || !ox_span_eq(ox_buf_span(&a), ox_buf_span(&b)))                \
                __builtin_trap();                                                                  \
            free(tmp);                                                                             \
        }                                                                                          \
        ox_buf_free(&a);                                                                           \
        ox_buf_free(&b);                                                                           \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ox_span in = ox_span_of(data, size);
    ox_pres_limits lim = {.ber = {.max_depth = 32, .max_size = 1 << 20}};
    ox_ber_diag d;
    static ox_pres_cp cp;
    static ox_pres_cpa cpa;
    static ox_pres_cpr cpr;
    static ox_pres_abort ab;
    static ox_pres_user_data ud;
    if (ox_pres_cp_decode(in, &lim, &cp, &d) == 0)
        FIXED_POINT(ox_pres_cp, &cp, ox_pres_cp_encode, ox_pres_cp_decode);
    else if (d.reason == OX_BER_R_NONE)
        __builtin_trap(); /* every failure says why */
    if (ox_pres_cpa_decode(in, &lim, &cpa, &d) == 0)
        FIXED_POINT(ox_pres_cpa, &cpa, ox_pres_cpa_encode, ox_pres_cpa_decode);
    if (ox_pres_cpr_decode(in, &lim, &cpr, &d) == 0)
        FIXED_POINT(ox_pres_cpr, &cpr, ox_pres_cpr_encode, ox_pres_cpr_decode);
    if (ox_pres_abort_decode(in, &lim, &ab, &d) == 0)
        FIXED_POINT(ox_pres_abort, &ab, ox_pres_abort_encode, ox_pres_abort_decode);
    if (ox_pres_user_data_decode(in, &lim, &ud, &d) == 0) {
        FIXED_POINT(ox_pres_user_data, &ud, ox_pres_user_data_encode, ox_pres_user_data_decode);
        for (size_t i = 0; i < ud.n_pdv; i++) {
            ox_span v = ud.pdv[i].value;
            if (v.p < data || v.p + v.len > data + size)
                __builtin_trap();
        }
    }
    (void)ox_pres_abort_reason(&d);
    return 0;
}
