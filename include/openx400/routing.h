/* routing.h - the address-space table: O/R address patterns -> local delivery or a connector
 *
 * Why: X.400 routes by O/R attributes, not by host names. Each connector (and the MTA itself,
 *      for local delivery) claims address spaces; a recipient goes to the cheapest route whose
 *      pattern it matches, then to the next cost when that route fails. Equal costs prefer the
 *      more specific pattern (more attributes), then local delivery, then the configuration's
 *      order: deterministic, so operators can predict it.
 * Matching: every attribute present in the pattern must equal the recipient's (X.411 folding:
 *      case and spaces); organizational units match as a prefix; absent attributes are
 *      wildcards. */
#ifndef OPENX400_ROUTING_H
#define OPENX400_ROUTING_H

#include "openx400/config.h"
#include "openx400/p1.h"

typedef struct ox_route {
    ox_p1_orname pattern;
    int connector; /* index into cfg->connectors, or -1 for local delivery */
    uint32_t cost;
    unsigned specificity; /* attributes in the pattern */
    int line;             /* of the address-space line, for messages */
} ox_route;

typedef struct ox_routing {
    ox_route *routes;
    size_t n;
} ox_routing;

/* Builds the table from |cfg| (local-address-space and each connector's address-space).
 * Patterns that do not parse are errors appended to |diag| as file:line. Returns 0, OX_E_ARG
 * or OX_E_NOMEM. Free with ox_routing_free. */
int ox_routing_build(ox_routing *rt, const ox_mta_cfg *cfg, ox_config_diag *diag);
void ox_routing_free(ox_routing *rt);

/* The routes |rcpt| matches, best first (cost, specificity, local, order), at most |max|,
 * each connector once. Returns how many (0 = no route). */
size_t ox_routing_lookup(const ox_routing *rt, const ox_p1_orname *rcpt, const ox_route **out,
                         size_t max);

/* True when |addr| matches |pattern| (exposed for tests and `x400mta route`). */
bool ox_routing_match(const ox_p1_orname *pattern, const ox_p1_orname *addr);

#endif
