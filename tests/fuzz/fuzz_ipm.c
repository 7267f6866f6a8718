/* fuzz_ipm.c - X.420 IPM decoder, and decode(encode(decode(x))) must succeed */
#include <stdlib.h>

#include "openx400/ipm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ox_ipm m;
    ox_p1_diag diag;
    ox_ipm_limits lim = {.max_recipients = 64, .max_body_parts = 32};
    if (ox_ipm_decode(ox_span_of(data, size), &lim, NULL, &m, &diag) != 0)
        return 0;
    ox_buf w;
    ox_buf_init(&w, NULL, NULL, 0);
    if (ox_ipm_encode(&w, &m) == 0) {
        ox_ipm n;
        if (ox_ipm_decode(ox_buf_span(&w), &lim, NULL, &n, &diag))
            abort();
        ox_ipm_free(&n);
    }
    ox_buf_free(&w);
    ox_ipm_free(&m);
    return 0;
}
