/* status.c - the daemon's in-memory state as text for the CLI: LTAB and connector state */
#include "daemon.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static size_t add(char *out, size_t cap, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static size_t add(char *out, size_t cap, size_t len, const char *fmt, ...)
{
    if (len >= cap)
        return len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + len, cap - len, fmt, ap);
    va_end(ap);
    return n < 0 ? len : len + (size_t)n >= cap ? cap - 1 : len + (size_t)n;
}

void ox_daemon_ltab_text(ox_daemon *d, bool json, char *out, size_t cap)
{
    size_t len = 0;
    uint64_t now = uv_now(d->loop);
    if (cap)
        out[0] = '\0';
    if (!json)
        len = add(out, cap, len,
                  "%4s %-3s %-10s %-14s %-10s %-22s %-22s %-4s %6s %6s %10s %10s %6s\n", "LTAB",
                  "DIR", "STATE", "CONNECTOR", "PEER", "ADDRESS", "LOCAL", "TURN", "MSGOUT",
                  "MSGIN", "BYTESOUT", "BYTESIN", "IDLE");
    for (int i = 0; i < OX_LTAB_MAX; i++) {
        ox_ltab_entry *e = &d->ltab.e[i];
        if (e->state == OX_LTAB_FREE)
            continue;
        unsigned long long idle = (now - e->last_activity_ms) / 1000;
        const ox_connector_cfg *k =
            e->connector[0] ? ox_config_connector(d->cfg, e->connector) : NULL;
        const char *advertise = k ? k->advertise_address : "";
        if (json)
            len = add(
                out, cap, len,
                "{\"ltab\":%d,\"direction\":\"%s\",\"state\":\"%s\",\"connector\":\"%s\","
                "\"peer\":\"%s\",\"address\":\"%s\",\"local_address\":\"%s\",\"advertise\":\"%s\","
                "\"turn\":%s,\"msgs_out\":%llu,\"msgs_in\":%llu,\"bytes_out\":%llu,"
                "\"bytes_in\":%llu,\"idle_s\":%llu}\n",
                e->index, e->inbound ? "in" : "out", ox_ltab_state_name(e->state), e->connector,
                e->peer, e->address, e->local_address, advertise, e->have_turn ? "true" : "false",
                (unsigned long long)e->msgs_out, (unsigned long long)e->msgs_in,
                (unsigned long long)e->bytes_out, (unsigned long long)e->bytes_in, idle);
        else
            len = add(out, cap, len,
                      "%4d %-3s %-10s %-14s %-10s %-22s %-22s %-4s %6llu %6llu %10llu "
                      "%10llu %5llus\n",
                      e->index, e->inbound ? "in" : "out", ox_ltab_state_name(e->state),
                      e->connector[0] ? e->connector : "-", e->peer[0] ? e->peer : "-", e->address,
                      e->local_address[0] ? e->local_address : "-", e->have_turn ? "us" : "peer",
                      (unsigned long long)e->msgs_out, (unsigned long long)e->msgs_in,
                      (unsigned long long)e->bytes_out, (unsigned long long)e->bytes_in, idle);
    }
}

void ox_daemon_connectors_text(ox_daemon *d, char *out, size_t cap)
{
    size_t len = 0;
    if (cap)
        out[0] = '\0';
    for (size_t i = 0; i < d->cfg->n_connectors; i++) {
        const ox_connector_cfg *c = &d->cfg->connectors[i];
        const ox_connector_state *s = &d->cstate[i];
        len =
            add(out, cap, len, "%s\t%s\t%llu\t%u\t%zu\t%s\n", c->name,
                c->kind == OX_CONN_LAN ? "lan" : ox_link_state_name(s->link),
                (unsigned long long)s->next_open_ms, s->failed_opens,
                ox_ltab_count(&d->ltab, c->name, false), s->why_waiting[0] ? s->why_waiting : "-");
    }
}
