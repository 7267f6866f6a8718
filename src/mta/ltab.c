/* ltab.c - the association table and connector retry state (see ltab.h) */
#include "openx400/ltab.h"

#include <stdio.h>
#include <string.h>

const char *ox_ltab_state_name(ox_ltab_state s)
{
    static const char *const names[] = {
        [OX_LTAB_FREE] = "free",
        [OX_LTAB_LINK_UP] = "link-up",
        [OX_LTAB_CONNECTING] = "connecting",
        [OX_LTAB_BINDING] = "binding",
        [OX_LTAB_BINDBACK] = "bindback",
        [OX_LTAB_IDLE] = "idle",
        [OX_LTAB_SENDING] = "sending",
        [OX_LTAB_RECEIVING] = "receiving",
        [OX_LTAB_RELEASING] = "releasing",
    };
    return (unsigned)s < OX_ARRAY_LEN(names) && names[s] ? names[s] : "?";
}

const char *ox_link_state_name(ox_link_state s)
{
    static const char *const names[] = {"down", "coming-up", "up", "going-down"};
    return (unsigned)s < OX_ARRAY_LEN(names) ? names[s] : "?";
}

ox_ltab_entry *ox_ltab_add(ox_ltab *t, bool inbound, const char *connector, const char *address,
                           uint64_t now_ms)
{
    for (int i = 0; i < OX_LTAB_MAX; i++) {
        ox_ltab_entry *e = &t->e[i];
        if (e->state != OX_LTAB_FREE)
            continue;
        memset(e, 0, sizeof(*e));
        e->index = i + 1;
        e->inbound = inbound;
        e->state = inbound ? OX_LTAB_BINDING : OX_LTAB_CONNECTING;
        snprintf(e->connector, sizeof(e->connector), "%s", connector ? connector : "");
        snprintf(e->address, sizeof(e->address), "%s", address ? address : "");
        e->opened_ms = e->last_activity_ms = now_ms;
        return e;
    }
    return NULL;
}

void ox_ltab_remove(ox_ltab *t, ox_ltab_entry *e)
{
    (void)t;
    memset(e, 0, sizeof(*e));
}

ox_ltab_entry *ox_ltab_get(ox_ltab *t, int index)
{
    if (index < 1 || index > OX_LTAB_MAX || t->e[index - 1].state == OX_LTAB_FREE)
        return NULL;
    return &t->e[index - 1];
}

size_t ox_ltab_count(const ox_ltab *t, const char *connector, bool bound)
{
    size_t n = 0;
    for (int i = 0; i < OX_LTAB_MAX; i++) {
        const ox_ltab_entry *e = &t->e[i];
        if (e->state == OX_LTAB_FREE || strcmp(e->connector, connector))
            continue;
        if (!bound || e->state == OX_LTAB_IDLE || e->state == OX_LTAB_SENDING ||
            e->state == OX_LTAB_RECEIVING)
            n++;
    }
    return n;
}

void ox_connector_open_failed(ox_connector_state *s, const ox_connector_cfg *c, uint64_t now_ms,
                              const char *why)
{
    s->failed_opens++;
    s->next_open_ms = now_ms + (uint64_t)c->values.open_interval_s * 1000;
    snprintf(s->last_error, sizeof(s->last_error), "%s", why);
    snprintf(s->why_waiting, sizeof(s->why_waiting), "open interval (%u s) after: %.80s",
             c->values.open_interval_s, why);
}

void ox_connector_open_ok(ox_connector_state *s)
{
    s->failed_opens = 0;
    s->next_open_ms = 0;
    s->opens++;
    s->why_waiting[0] = '\0';
}

bool ox_connector_may_open(const ox_connector_state *s, uint64_t now_ms)
{
    return now_ms >= s->next_open_ms;
}
