/* fuzz_ses_pdu.c - the SPDU decoder on arbitrary TSDUs; what decodes is encoded again and
 * must decode to the same kinds. */
#include "openx400/ses.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ox_ses_spdu p[2], q[2];
    size_t n, m, off;
    if (ox_ses_pdu_decode(ox_span_of(data, size), p, &n, &off) != 0)
        return 0;
    ox_buf b;
    ox_buf_init(&b, NULL, NULL, 0);
    for (size_t i = 0; i < n; i++)
        if (ox_ses_pdu_encode(&p[i], &b) != 0)
            goto out;
    if (ox_ses_pdu_decode(ox_buf_span(&b), q, &m, &off) != 0 || m != n)
        abort();
    for (size_t i = 0; i < n; i++)
        if (q[i].kind != p[i].kind)
            abort();
out:
    ox_buf_free(&b);
    return 0;
}
