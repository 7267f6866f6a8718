/* dial.c - finding a peer: resolve its name to every address and try each in turn
 *
 * Why: seed 004 - a host name that resolves to several addresses (a multihomed or clustered
 *      MTA) must not fail because the first address is the wrong one; and a bindback whose
 *      target answers nowhere may fall back to the address the caller came from. Every
 *      attempt and its error is kept, so the event that reports a failure lists them all.
 *      On-demand links: right after link-up the peer may not be reachable yet, so refused
 *      connections are retried every half second until the link timeout. */
#include "conn.h"

#include <stdio.h>
#include <string.h>

#define ATTEMPT_TIMEOUT_MS 10000 /* one address; a bindback tries several within the bind */
#define REACH_RETRY_MS     500

static void attempt(conn *c);

static void on_reach_retry(uv_timer_t *t)
{
    attempt(t->data);
}

static void tried_add(conn *c, const char *addr, const char *err)
{
    size_t len = strlen(c->tried);
    snprintf(c->tried + len, sizeof(c->tried) - len, "%s%s: %s", len ? "; " : "", addr, err);
}

static bool add_fallback(conn *c)
{
    if (!c->fallback_ip[0] || c->fallback_used || c->n_addrs >= DIAL_ADDR_MAX)
        return false;
    c->fallback_used = true;
    dial_addr *a = &c->addrs[c->n_addrs];
    int rc = strchr(c->fallback_ip, ':')
                 ? uv_ip6_addr(c->fallback_ip, c->dial_port, (struct sockaddr_in6 *)&a->sa)
                 : uv_ip4_addr(c->fallback_ip, c->dial_port, (struct sockaddr_in *)&a->sa);
    if (rc)
        return false;
    snprintf(a->text, sizeof(a->text), strchr(c->fallback_ip, ':') ? "[%s]:%u" : "%s:%u",
             c->fallback_ip, c->dial_port);
    c->n_addrs++;
    return true;
}

/* No address left: on-demand links wait for the peer to become reachable, the rest fail. */
static void exhausted(conn *c)
{
    if (c->addr_i >= c->n_addrs && add_fallback(c)) {
        attempt(c);
        return;
    }
    if (c->reach_deadline_ms && uv_now(c->d->loop) + REACH_RETRY_MS < c->reach_deadline_ms &&
        c->n_addrs) {
        c->addr_i = 0;
        c->tried[0] = '\0';
        uv_timer_start(&c->timer, on_reach_retry, REACH_RETRY_MS, 0);
        return;
    }
    ox_conn_dial_failed(c);
}

static void on_attempt_closed(uv_handle_t *h)
{
    conn *c = h->data;
    if (c->closing) {
        ox_conn_unref(c);
        return;
    }
    uv_tcp_init(c->d->loop, &c->tcp);
    c->tcp.data = c;
    c->tcp_open = true;
    if (c->addr_i < c->n_addrs)
        attempt(c);
    else
        exhausted(c);
}

/* This address failed: close the socket (a libuv TCP handle connects once) and go on. */
static void attempt_failed(conn *c, const char *err)
{
    tried_add(c, c->addrs[c->addr_i - 1].text, err);
    if (c->probe)
        ox_probe_step(c->probe, "connect to %s failed: %s", c->addrs[c->addr_i - 1].text, err);
    uv_timer_stop(&c->timer);
    c->tcp_open = false;
    uv_close((uv_handle_t *)&c->tcp, on_attempt_closed);
}

static void on_connected(uv_connect_t *req, int status)
{
    conn *c = req->data;
    if (c->closing || c->attempt_timed_out)
        return; /* the close that ended it continues the dialling */
    if (status < 0) {
        attempt_failed(c, uv_strerror(status));
        return;
    }
    uv_timer_stop(&c->timer);
    ox_strlcpy(c->lt->address, c->addrs[c->addr_i - 1].text, sizeof(c->lt->address));
    ox_conn_connected(c);
}

static void on_attempt_timeout(uv_timer_t *t)
{
    conn *c = t->data;
    if (c->closing || c->connected)
        return;
    c->attempt_timed_out = true;
    attempt_failed(c, "no answer (timed out)");
}

static void attempt(conn *c)
{
    if (c->closing)
        return;
    const ox_connector_cfg *k = ox_conn_connector(c);
    dial_addr *a = &c->addrs[c->addr_i++];
    c->attempt_timed_out = false;
    if (k && k->local_address[0] && !c->bindback_for) {
        struct sockaddr_storage la;
        bool v6 = strchr(k->local_address, ':') != NULL;
        if ((v6 ? uv_ip6_addr(k->local_address, 0, (struct sockaddr_in6 *)&la)
                : uv_ip4_addr(k->local_address, 0, (struct sockaddr_in *)&la)) == 0 &&
            (la.ss_family == a->sa.ss_family)) {
            int rc = uv_tcp_bind(&c->tcp, (struct sockaddr *)&la, 0);
            if (rc) {
                attempt_failed(c, "cannot use local-address");
                return;
            }
        }
    }
    c->creq.data = c;
    int rc = uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&a->sa, on_connected);
    if (rc) {
        attempt_failed(c, uv_strerror(rc));
        return;
    }
    uv_timer_start(&c->timer, on_attempt_timeout, ATTEMPT_TIMEOUT_MS, 0);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    conn *c = req->data;
    if (c->closing) {
        uv_freeaddrinfo(res);
        ox_conn_unref(c);
        return;
    }
    ox_conn_unref(c);
    if (status < 0) {
        char host[300];
        snprintf(host, sizeof(host), "%s", c->dial_host);
        tried_add(c, host, status == UV_EAI_NONAME ? "name does not resolve" : uv_strerror(status));
        if (c->probe)
            ox_probe_step(c->probe, "resolving %s failed: %s", host, uv_strerror(status));
    }
    for (struct addrinfo *ai = res; ai && c->n_addrs < DIAL_ADDR_MAX - 1; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        dial_addr *a = &c->addrs[c->n_addrs];
        memcpy(&a->sa, ai->ai_addr, ai->ai_addrlen);
        char ip[64] = "";
        if (ai->ai_family == AF_INET) {
            ((struct sockaddr_in *)&a->sa)->sin_port = htons(c->dial_port);
            uv_ip4_name((struct sockaddr_in *)&a->sa, ip, sizeof(ip));
            snprintf(a->text, sizeof(a->text), "%s:%u", ip, c->dial_port);
        } else {
            ((struct sockaddr_in6 *)&a->sa)->sin6_port = htons(c->dial_port);
            uv_ip6_name((struct sockaddr_in6 *)&a->sa, ip, sizeof(ip));
            snprintf(a->text, sizeof(a->text), "[%s]:%u", ip, c->dial_port);
        }
        bool dup = false;
        for (size_t i = 0; i < c->n_addrs; i++)
            dup |= !strcmp(c->addrs[i].text, a->text);
        if (!dup)
            c->n_addrs++;
    }
    uv_freeaddrinfo(res);
    if (c->probe && c->n_addrs)
        ox_probe_step(c->probe, "%s resolves to %zu address(es)", c->dial_host, c->n_addrs);
    if (c->n_addrs)
        attempt(c);
    else
        exhausted(c);
}

void ox_dial_start(conn *c, const char *host, uint16_t port)
{
    ox_strlcpy(c->dial_host, host, sizeof(c->dial_host));
    c->dial_port = port;
    c->n_addrs = c->addr_i = 0;
    c->tried[0] = '\0';
    if (c->lt)
        c->lt->state = OX_LTAB_CONNECTING;
    char service[8];
    snprintf(service, sizeof(service), "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    c->gai.data = c;
    c->refs++;
    /* The resolver runs on libuv's thread pool: a slow DNS server never blocks the loop. */
    if (uv_getaddrinfo(c->d->loop, &c->gai, on_resolved, host, service, &hints) != 0) {
        c->refs--;
        tried_add(c, host, "cannot start the resolver");
        exhausted(c);
    }
}
