/* routing.c - address-space matching and route ordering (see routing.h) */
#include "openx400/routing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An attribute present in the pattern must be equal in the address. */
static bool attr_ok(const char *pat, const char *addr)
{
    return pat[0] == '\0' || ox_p1_str_eq_folded(pat, addr);
}

bool ox_routing_match(const ox_p1_orname *p, const ox_p1_orname *a)
{
    if (!attr_ok(p->country, a->country) || !attr_ok(p->prmd, a->prmd) ||
        !attr_ok(p->org, a->org) || !attr_ok(p->surname, a->surname) ||
        !attr_ok(p->given_name, a->given_name) || !attr_ok(p->initials, a->initials) ||
        !attr_ok(p->generation, a->generation) || !attr_ok(p->common_name, a->common_name) ||
        !attr_ok(p->network_address, a->network_address) ||
        !attr_ok(p->terminal_id, a->terminal_id) ||
        !attr_ok(p->numeric_user_id, a->numeric_user_id))
        return false;
    /* "A= " (the single-space ADMD) is a real value: "any ADMD" is an absent A=. */
    if (p->has_admd && (!a->has_admd || !ox_p1_str_eq_folded(p->admd, a->admd)))
        return false;
    if (p->n_ou > a->n_ou)
        return false;
    for (unsigned i = 0; i < p->n_ou; i++)
        if (!ox_p1_str_eq_folded(p->ou[i], a->ou[i]))
            return false;
    for (unsigned i = 0; i < p->n_dda; i++) {
        bool found = false;
        for (unsigned j = 0; j < a->n_dda && !found; j++)
            found = ox_p1_str_eq_folded(p->dda[i].type, a->dda[j].type) &&
                    ox_p1_str_eq_folded(p->dda[i].value, a->dda[j].value);
        if (!found)
            return false;
    }
    return true;
}

static unsigned specificity(const ox_p1_orname *p)
{
    const char *attrs[] = {p->country,     p->prmd,           p->org,
                           p->surname,     p->given_name,     p->initials,
                           p->generation,  p->common_name,    p->network_address,
                           p->terminal_id, p->numeric_user_id};
    unsigned n = p->has_admd + p->n_ou + p->n_dda;
    for (size_t i = 0; i < OX_ARRAY_LEN(attrs); i++)
        n += attrs[i][0] != '\0';
    return n;
}

static void add_diag(ox_config_diag *d, const char *file, int line, const char *text,
                     const char *pattern)
{
    d->errors++;
    if (d->len < sizeof(d->text) - 1) {
        int n = snprintf(d->text + d->len, sizeof(d->text) - d->len, "%s:%d: error: %s '%s'\n",
                         file, line, text, pattern);
        if (n > 0)
            d->len +=
                (size_t)n < sizeof(d->text) - d->len ? (size_t)n : sizeof(d->text) - 1 - d->len;
    }
}

static int add_route(ox_routing *rt, size_t *cap, const ox_addr_space *as, int connector,
                     const ox_mta_cfg *cfg, ox_config_diag *diag)
{
    ox_route r = {.connector = connector, .cost = as->cost, .line = as->line};
    if (ox_p1_orname_parse(&r.pattern, as->pattern) != 0) {
        add_diag(diag, cfg->path, as->line,
                 "address space is not an O/R address (keys C A P O OU S G I Q CN, e.g. "
                 "/C=GB/A= /P=Site/):",
                 as->pattern);
        return 0;
    }
    r.specificity = specificity(&r.pattern);
    if (rt->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        ox_route *v = realloc(rt->routes, ncap * sizeof(*v));
        if (!v)
            return OX_E_NOMEM;
        rt->routes = v;
        *cap = ncap;
    }
    rt->routes[rt->n++] = r;
    return 0;
}

int ox_routing_build(ox_routing *rt, const ox_mta_cfg *cfg, ox_config_diag *diag)
{
    memset(rt, 0, sizeof(*rt));
    size_t cap = 0;
    unsigned errors = diag->errors;
    for (size_t i = 0; i < cfg->n_local_spaces; i++)
        if (add_route(rt, &cap, &cfg->local_spaces[i], -1, cfg, diag) != 0)
            return OX_E_NOMEM;
    for (size_t c = 0; c < cfg->n_connectors; c++)
        for (size_t i = 0; i < cfg->connectors[c].n_spaces; i++)
            if (add_route(rt, &cap, &cfg->connectors[c].spaces[i], (int)c, cfg, diag) != 0)
                return OX_E_NOMEM;
    return diag->errors > errors ? OX_E_ARG : 0;
}

void ox_routing_free(ox_routing *rt)
{
    free(rt->routes);
    memset(rt, 0, sizeof(*rt));
}

/* Orders a before b: lower cost, more specific, local, earlier in the configuration. */
static bool better(const ox_route *a, const ox_route *b)
{
    if (a->cost != b->cost)
        return a->cost < b->cost;
    if (a->specificity != b->specificity)
        return a->specificity > b->specificity;
    if ((a->connector < 0) != (b->connector < 0))
        return a->connector < 0;
    return a < b;
}

size_t ox_routing_lookup(const ox_routing *rt, const ox_p1_orname *rcpt, const ox_route **out,
                         size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < rt->n; i++) {
        const ox_route *r = &rt->routes[i];
        if (!ox_routing_match(&r->pattern, rcpt))
            continue;
        /* Each connector once, with its best matching space. */
        size_t j;
        for (j = 0; j < n && out[j]->connector != r->connector; j++)
            ;
        if (j < n) {
            if (better(r, out[j]))
                out[j] = r;
            else
                continue;
        } else if (n < max) {
            out[n++] = r;
        } else if (n && better(r, out[n - 1])) {
            out[n - 1] = r;
        } else {
            continue;
        }
        /* Insertion sort: lists are short. */
        for (size_t k = j < n ? j : n - 1; k > 0 && better(out[k], out[k - 1]); k--) {
            const ox_route *t = out[k];
            out[k] = out[k - 1];
            out[k - 1] = t;
        }
    }
    return n;
}
