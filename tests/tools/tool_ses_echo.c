/* tool_ses_echo.c - initiator and responder of ox_tpkt + ox_ses over real TCP on 127.0.0.1
 *
 * Why: exercises the session services RTSE uses, end to end over sockets, so that tshark can
 *      judge the bytes (tests/integration/ses_loopback.sh).
 * Usage: tool_ses_echo PORT
 *      Listens on 127.0.0.1:PORT, forks; the child is the initiator, the parent the responder.
 *      Connection 1: connect, activity start, data both ways with token passing, minor syncs,
 *      activity end, a second activity interrupted, resumed with AR, ended, release.
 *      Connection 2: connect, user abort. Connection 3: 30,000 octets of connect user data
 *      (data overflow: CN, OA, CDO), refused. Each step is printed; exit 0 when all went as
 *      expected, 1 otherwise. Every socket has a 10 s timeout.
 * DT payload: tshark hands session user data to its presentation dissector, so the data we
 *      send is a minimal well-formed X.226 fully-encoded user data PPDU (see PDV below). */
#include "openx400/ses.h"
#include "openx400/tpkt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* X.226 User-data ::= CHOICE { simply-encoded-data [APPLICATION 0] IMPLICIT OCTET STRING, ...}
 * 40 len <octets>: a well-formed presentation P-DATA user data that tshark decodes without
 * needing a presentation context (a fully-encoded PDV names a context tshark cannot map
 * without a CP and is flagged "undecoded"). */
static const uint8_t PDV_I[] = {0x40, 0x03, 'p', 'i', 'n'};
static const uint8_t PDV_R[] = {0x40, 0x03, 'p', 'o', 'n'};

typedef struct ep {
    const char *name;
    int fd;
    ox_tpkt t;
    ox_ses s;
    uint8_t in[4096];
    size_t in_len, in_off;
    int failed;
} ep;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#define CONNECT_UD_BIG 30000 /* connection 3: beyond 10240, so data overflow */

static void die(ep *e, const char *what)
{
    fprintf(stderr, "%s: FAILED: %s\n", e->name, what);
    exit(1);
}

static void write_all(ep *e, const ox_buf *b)
{
    size_t off = 0;
    while (off < b->len) {
        ssize_t n = write(e->fd, b->p + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die(e, "write");
        off += (size_t)n;
    }
}

/* Hands a session TSDU to the transport and the socket. */
static void ses_out(ep *e, ox_buf *sb)
{
    if (sb->err)
        die(e, "session output buffer");
    if (sb->len == 0)
        return;
    ox_buf tb;
    ox_buf_init(&tb, NULL, NULL, 0);
    if (ox_tpkt_send(&e->t, ox_buf_span(sb), &tb))
        die(e, "ox_tpkt_send");
    write_all(e, &tb);
    ox_buf_free(&tb);
    ox_buf_reset(sb);
}

/* Runs the transport until the session has an event. */
static void next(ep *e, ox_ses_ev *ev)
{
    ox_buf out, sb;
    ox_buf_init(&out, NULL, NULL, 0);
    ox_buf_init(&sb, NULL, NULL, 0);
    while (!ox_ses_next_event(&e->s, ev)) {
        if (e->in_off == e->in_len) {
            ssize_t n = read(e->fd, e->in, sizeof e->in);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                die(e, "read (peer closed or timeout)");
            e->in_len = (size_t)n;
            e->in_off = 0;
        }
        size_t used;
        int rc =
            ox_tpkt_feed(&e->t, ox_span_of(e->in + e->in_off, e->in_len - e->in_off), &used, &out);
        e->in_off += used;
        write_all(e, &out);
        ox_buf_reset(&out);
        if (rc)
            die(e, ox_strerror(rc));
        ox_tpkt_ev te;
        while (ox_tpkt_next_event(&e->t, &te)) {
            switch (te.kind) {
            case OX_TPKT_EV_CONNECT_IND:
                printf("%s: T-CONNECT ind (tpdu %u)\n", e->name, (unsigned)te.tpdu_size);
                if (ox_tpkt_accept(&e->t, &out))
                    die(e, "ox_tpkt_accept");
                write_all(e, &out);
                ox_buf_reset(&out);
                break;
            case OX_TPKT_EV_CONNECT_CONF:
                printf("%s: T-CONNECT conf (tpdu %u)\n", e->name, (unsigned)te.tpdu_size);
                break;
            case OX_TPKT_EV_DATA_IND:
                rc = ox_ses_feed(&e->s, te.data, now_ms(), &sb);
                ses_out(e, &sb);
                if (rc)
                    die(e, "ox_ses_feed");
                break;
            default: die(e, "transport event");
            }
        }
    }
    ox_buf_free(&out);
    ox_buf_free(&sb);
    printf("%s: %s", e->name, ox_ses_ev_name(ev->kind));
    if (ev->kind == OX_SES_EV_MINOR_SYNC_IND || ev->kind == OX_SES_EV_MINOR_SYNC_CONF ||
        ev->kind == OX_SES_EV_ACTIVITY_END_IND || ev->kind == OX_SES_EV_ACTIVITY_RESUME_IND)
        printf(" serial %u", (unsigned)ev->serial);
    if (ev->kind == OX_SES_EV_TOKEN_GIVE_IND || ev->kind == OX_SES_EV_TOKEN_PLEASE_IND)
        printf(" tokens 0x%02x", ev->tokens);
    if (ev->activity_id.len)
        printf(" activity %.*s", (int)ev->activity_id.len, (const char *)ev->activity_id.p);
    if (ev->user_data.len)
        printf(" (%zu octets of user data)", ev->user_data.len);
    printf("\n");
    fflush(stdout);
}

static void expect(ep *e, ox_ses_ev_kind k, ox_ses_ev *ev)
{
    next(e, ev);
    if (ev->kind != k) {
        char m[128];
        snprintf(m, sizeof m, "expected %s, got %s", ox_ses_ev_name(k), ox_ses_ev_name(ev->kind));
        die(e, m);
    }
}

/* Runs one request: |rc| is its return, the bytes in |sb| go out. */
static void req(ep *e, const char *what, int rc, ox_buf *sb)
{
    if (rc) {
        char m[128];
        snprintf(m, sizeof m, "%s: %s", what, ox_strerror(rc));
        die(e, m);
    }
    printf("%s: -> %s\n", e->name, what);
    fflush(stdout);
    ses_out(e, sb);
}

static void ep_init(ep *e, const char *name, int fd, bool initiator)
{
    memset(e, 0, sizeof *e);
    e->name = name;
    e->fd = fd;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    static const uint8_t tsel_i[] = "TI", tsel_r[] = "TR", ssel_i[] = "SI", ssel_r[] = "SR";
    ox_tpkt_cfg tc = {
        .role = initiator ? OX_TPKT_INITIATOR : OX_TPKT_RESPONDER,
        .local_tsel = ox_span_of(initiator ? tsel_i : tsel_r, 2),
        .remote_tsel = ox_span_of(initiator ? tsel_r : tsel_i, 2),
        .max_tpdu = 8192,
    };
    ox_ses_cfg sc = {
        .role = initiator ? OX_SES_INITIATOR : OX_SES_RESPONDER,
        .local_ssel = ox_span_of(initiator ? ssel_i : ssel_r, 2),
        .remote_ssel = ox_span_of(initiator ? ssel_r : ssel_i, 2),
    };
    if (ox_tpkt_init(&e->t, &tc, NULL) || ox_ses_init(&e->s, &sc))
        die(e, "init");
}

static void initiator_connect(ep *e, ox_buf *sb, ox_span user_data)
{
    ox_buf tb;
    ox_buf_init(&tb, NULL, NULL, 0);
    if (ox_tpkt_connect(&e->t, &tb))
        die(e, "ox_tpkt_connect");
    printf("%s: -> T-CONNECT req (CR)\n", e->name);
    write_all(e, &tb);
    ox_buf_free(&tb);
    /* The CC comes back with the AC; the session CN can go right after the CR? No: class 0
     * needs the CC first, so wait for it by feeding until the transport is open. */
    while (e->t.state != OX_TPKT_OPEN) {
        ssize_t n = read(e->fd, e->in, sizeof e->in);
        if (n <= 0)
            die(e, "read CC");
        size_t used;
        ox_buf out;
        ox_buf_init(&out, NULL, NULL, 0);
        if (ox_tpkt_feed(&e->t, ox_span_of(e->in, (size_t)n), &used, &out) || used != (size_t)n)
            die(e, "feed CC");
        ox_buf_free(&out);
        ox_tpkt_ev te;
        while (ox_tpkt_next_event(&e->t, &te))
            printf("%s: T-CONNECT conf (tpdu %u)\n", e->name, (unsigned)te.tpdu_size);
    }
    ox_ses_connect_req cr = {.user_data = user_data};
    req(e,
        user_data.len > OX_SES_MAX_CN_EXT_UD ? "S-CONNECT req (CN with Data Overflow)"
                                             : "S-CONNECT req (CN)",
        ox_ses_connect(&e->s, &cr, sb), sb);
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(1);
    }
    return fd;
}

static void run_initiator(int port)
{
    ep e;
    ox_ses_ev ev;
    ox_buf sb;
    ox_buf_init(&sb, NULL, NULL, 0);
    ox_span pdv = ox_span_of(PDV_I, sizeof PDV_I);
    uint32_t serial;

    /* Connection 1: the full data phase and an orderly release. */
    ep_init(&e, "initiator", connect_to(port), true);
    initiator_connect(&e, &sb, ox_span_of(NULL, 0));
    expect(&e, OX_SES_EV_CONNECT_CONF, &ev);
    if (!ev.accepted || ox_ses_tokens_held(&e.s) != ox_ses_tokens_available(&e.s))
        die(&e, "connect not accepted with all tokens here");
    req(&e, "S-ACTIVITY-START req (AS A1)",
        ox_ses_activity_start(&e.s, ox_span_of("A1", 2), ox_span_of(NULL, 0), &sb), &sb);
    req(&e, "S-DATA req (DT)", ox_ses_data(&e.s, pdv, &sb), &sb);
    req(&e, "S-SYNC-MINOR req (MIP)",
        ox_ses_minor_sync(&e.s, true, ox_span_of(NULL, 0), &serial, &sb), &sb);
    expect(&e, OX_SES_EV_MINOR_SYNC_CONF, &ev);
    expect(&e, OX_SES_EV_TOKEN_PLEASE_IND, &ev);
    req(&e, "S-TOKEN-GIVE req (GT data)", ox_ses_give_tokens(&e.s, OX_SES_TOKEN_DATA, &sb), &sb);
    expect(&e, OX_SES_EV_DATA_IND, &ev);
    expect(&e, OX_SES_EV_TOKEN_GIVE_IND, &ev);
    req(&e, "S-DATA req (DT)", ox_ses_data(&e.s, pdv, &sb), &sb);
    req(&e, "S-SYNC-MINOR req (MIP)",
        ox_ses_minor_sync(&e.s, true, ox_span_of(NULL, 0), &serial, &sb), &sb);
    expect(&e, OX_SES_EV_MINOR_SYNC_CONF, &ev);
    req(&e, "S-ACTIVITY-END req (AE)", ox_ses_activity_end(&e.s, ox_span_of(NULL, 0), &serial, &sb),
        &sb);
    expect(&e, OX_SES_EV_ACTIVITY_END_CONF, &ev);
    /* A second activity, interrupted after one checkpoint, then resumed from it. */
    req(&e, "S-ACTIVITY-START req (AS A2)",
        ox_ses_activity_start(&e.s, ox_span_of("A2", 2), ox_span_of(NULL, 0), &sb), &sb);
    req(&e, "S-DATA req (DT)", ox_ses_data(&e.s, pdv, &sb), &sb);
    req(&e, "S-SYNC-MINOR req (MIP)",
        ox_ses_minor_sync(&e.s, true, ox_span_of(NULL, 0), &serial, &sb), &sb);
    expect(&e, OX_SES_EV_MINOR_SYNC_CONF, &ev);
    uint32_t checkpoint = ev.serial;
    req(&e, "S-ACTIVITY-INTERRUPT req (AI)", ox_ses_activity_interrupt(&e.s, 0, &sb), &sb);
    expect(&e, OX_SES_EV_ACTIVITY_INTERRUPT_CONF, &ev);
    req(&e, "S-ACTIVITY-RESUME req (AR A3, old A2)",
        ox_ses_activity_resume(&e.s, ox_span_of("A3", 2), ox_span_of("A2", 2), checkpoint, NULL,
                               ox_span_of(NULL, 0), &sb),
        &sb);
    req(&e, "S-DATA req (DT)", ox_ses_data(&e.s, pdv, &sb), &sb);
    req(&e, "S-ACTIVITY-END req (AE)", ox_ses_activity_end(&e.s, ox_span_of(NULL, 0), &serial, &sb),
        &sb);
    expect(&e, OX_SES_EV_ACTIVITY_END_CONF, &ev);
    req(&e, "S-RELEASE req (FN)", ox_ses_release(&e.s, ox_span_of(NULL, 0), &sb), &sb);
    expect(&e, OX_SES_EV_RELEASE_CONF, &ev);
    ox_tpkt_disconnect(&e.t, NULL);
    close(e.fd);
    ox_tpkt_free(&e.t);

    /* Connection 2: user abort. */
    ep_init(&e, "initiator", connect_to(port), true);
    initiator_connect(&e, &sb, ox_span_of(NULL, 0));
    expect(&e, OX_SES_EV_CONNECT_CONF, &ev);
    req(&e, "S-U-ABORT req (AB)", ox_ses_abort(&e.s, ox_span_of(NULL, 0), &sb), &sb);
    /* Wait for the responder to close. */
    char c;
    (void)!read(e.fd, &c, 1);
    close(e.fd);
    ox_tpkt_free(&e.t);

    /* Connection 3: connect user data beyond 10240 octets (data overflow: CN, OA, CDOs),
     * refused by the responder once it has it all. */
    static uint8_t big[CONNECT_UD_BIG];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i % 251);
    ep_init(&e, "initiator", connect_to(port), true);
    initiator_connect(&e, &sb, ox_span_of(big, sizeof big));
    expect(&e, OX_SES_EV_CONNECT_CONF, &ev);
    if (ev.accepted)
        die(&e, "the overflow connect was accepted, want refused");
    (void)!read(e.fd, &c, 1);
    close(e.fd);
    ox_tpkt_free(&e.t);
    ox_ses_free(&e.s);
    ox_buf_free(&sb);
    printf("initiator: done\n");
}

static void run_responder(int lfd)
{
    ep e;
    ox_ses_ev ev;
    ox_buf sb;
    ox_buf_init(&sb, NULL, NULL, 0);
    ox_span pdv = ox_span_of(PDV_R, sizeof PDV_R);

    ep_init(&e, "responder", accept(lfd, NULL, NULL), false);
    expect(&e, OX_SES_EV_CONNECT_IND, &ev);
    ox_ses_accept_req ar = {0};
    req(&e, "S-CONNECT rsp+ (AC)", ox_ses_accept(&e.s, &ar, &sb), &sb);
    expect(&e, OX_SES_EV_ACTIVITY_START_IND, &ev);
    expect(&e, OX_SES_EV_DATA_IND, &ev);
    expect(&e, OX_SES_EV_MINOR_SYNC_IND, &ev);
    req(&e, "S-SYNC-MINOR rsp (MIA)",
        ox_ses_minor_sync_rsp(&e.s, ev.serial, ox_span_of(NULL, 0), &sb), &sb);
    req(&e, "S-TOKEN-PLEASE req (PT data)",
        ox_ses_please_tokens(&e.s, OX_SES_TOKEN_DATA, ox_span_of(NULL, 0), &sb), &sb);
    expect(&e, OX_SES_EV_TOKEN_GIVE_IND, &ev);
    req(&e, "S-DATA req (DT)", ox_ses_data(&e.s, pdv, &sb), &sb);
    req(&e, "S-TOKEN-GIVE req (GT data)", ox_ses_give_tokens(&e.s, OX_SES_TOKEN_DATA, &sb), &sb);
    expect(&e, OX_SES_EV_DATA_IND, &ev);
    expect(&e, OX_SES_EV_MINOR_SYNC_IND, &ev);
    req(&e, "S-SYNC-MINOR rsp (MIA)",
        ox_ses_minor_sync_rsp(&e.s, ev.serial, ox_span_of(NULL, 0), &sb), &sb);
    expect(&e, OX_SES_EV_ACTIVITY_END_IND, &ev);
    req(&e, "S-ACTIVITY-END rsp (AEA)", ox_ses_activity_end_rsp(&e.s, ox_span_of(NULL, 0), &sb),
        &sb);
    expect(&e, OX_SES_EV_ACTIVITY_START_IND, &ev);
    expect(&e, OX_SES_EV_DATA_IND, &ev);
    expect(&e, OX_SES_EV_MINOR_SYNC_IND, &ev);
    req(&e, "S-SYNC-MINOR rsp (MIA)",
        ox_ses_minor_sync_rsp(&e.s, ev.serial, ox_span_of(NULL, 0), &sb), &sb);
    expect(&e, OX_SES_EV_ACTIVITY_INTERRUPT_IND, &ev);
    req(&e, "S-ACTIVITY-INTERRUPT rsp (AIA)", ox_ses_activity_interrupt_rsp(&e.s, &sb), &sb);
    expect(&e, OX_SES_EV_ACTIVITY_RESUME_IND, &ev);
    if (ev.old_activity_id.len != 2 || memcmp(ev.old_activity_id.p, "A2", 2) || ev.serial != 1)
        die(&e, "resume names the wrong activity or serial");
    expect(&e, OX_SES_EV_DATA_IND, &ev);
    expect(&e, OX_SES_EV_ACTIVITY_END_IND, &ev);
    req(&e, "S-ACTIVITY-END rsp (AEA)", ox_ses_activity_end_rsp(&e.s, ox_span_of(NULL, 0), &sb),
        &sb);
    expect(&e, OX_SES_EV_RELEASE_IND, &ev);
    req(&e, "S-RELEASE rsp (DN)", ox_ses_release_rsp(&e.s, ox_span_of(NULL, 0), &sb), &sb);
    /* The initiator closes the transport after DN (class 0 has no DR after CC). */
    char c;
    (void)!read(e.fd, &c, 1);
    close(e.fd);
    ox_tpkt_free(&e.t);

    ep_init(&e, "responder", accept(lfd, NULL, NULL), false);
    expect(&e, OX_SES_EV_CONNECT_IND, &ev);
    req(&e, "S-CONNECT rsp+ (AC)", ox_ses_accept(&e.s, &ar, &sb), &sb);
    expect(&e, OX_SES_EV_ABORT_IND, &ev);
    if (ev.local || !(ev.reason & OX_SES_TD_USER_ABORT))
        die(&e, "abort is not a user abort");
    close(e.fd);
    ox_tpkt_free(&e.t);

    ep_init(&e, "responder", accept(lfd, NULL, NULL), false);
    expect(&e, OX_SES_EV_CONNECT_IND, &ev);
    if (ev.user_data.len != CONNECT_UD_BIG)
        die(&e, "the overflow connect did not bring all its user data");
    for (size_t i = 0; i < ev.user_data.len; i++)
        if (ev.user_data.p[i] != (uint8_t)(i % 251))
            die(&e, "the overflow connect's user data differs");
    req(&e, "S-CONNECT rsp- (RF)",
        ox_ses_refuse(&e.s, OX_SES_RF_USER_CONGESTION, ox_span_of(NULL, 0), &sb), &sb);
    close(e.fd);
    ox_tpkt_free(&e.t);
    ox_ses_free(&e.s);
    ox_buf_free(&sb);
    printf("responder: done\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 4)) {
        perror("listen");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        close(lfd);
        alarm(30);
        run_initiator(port);
        _exit(0);
    }
    alarm(30);
    run_responder(lfd);
    close(lfd);
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "initiator failed\n");
        return 1;
    }
    printf("ses_echo: all steps passed\n");
    return 0;
}
