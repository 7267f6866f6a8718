/* fuzz_p1.c - MTS-APDU decoder (1988 and 1984), the streaming head decoder, and the
 *             invariant that what we decode we can encode and decode again */
#include <stdlib.h>

#include "openx400/p1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int v = 0; v < 2; v++) {
        ox_p1_apdu a;
        ox_p1_diag diag;
        ox_p1_limits lim = {.max_recipients = 64, .max_trace = 32, .max_extensions = 16};
        if (ox_p1_apdu_decode(ox_span_of(data, size), (ox_p1_version)v, &lim, NULL, &a, &diag) ==
            0) {
            ox_buf w;
            ox_buf_init(&w, NULL, NULL, 0);
            if (ox_p1_apdu_encode(&w, &a, (ox_p1_version)v) == 0) {
                ox_p1_apdu b;
                if (ox_p1_apdu_decode(ox_buf_span(&w), (ox_p1_version)v, &lim, NULL, &b, &diag))
                    abort(); /* we wrote something we refuse to read */
                ox_p1_apdu_free(&b);
            }
            ox_buf_free(&w);
            ox_p1_apdu_free(&a);
        }
        ox_p1_message m;
        size_t off;
        uint64_t clen;
        if (ox_p1_message_decode_head(ox_span_of(data, size), (ox_p1_version)v, &lim, NULL, &m,
                                      &off, &clen, &diag) == 0) {
            if (off > size)
                abort();
            ox_p1_message_free(&m);
        }
    }
    return 0;
}
