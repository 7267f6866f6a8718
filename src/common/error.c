/* error.c - names of the shared error codes */
#include "openx400/common.h"

const char *ox_strerror(int code)
{
    switch (code) {
    case OX_OK: return "ok";
    case OX_E_AGAIN: return "again";
    case OX_E_ARG: return "bad-argument";
    case OX_E_STATE: return "wrong-state";
    case OX_E_PEER: return "peer-protocol-error";
    case OX_E_LIMIT: return "limit-exceeded";
    case OX_E_UNSUPPORTED: return "unsupported";
    case OX_E_NOTFOUND: return "not-found";
    case OX_E_IO: return "io-error";
    case OX_E_NOMEM: return "out-of-memory";
    default: return code <= OX_E_FATAL ? "fatal" : "unknown";
    }
}
