/* tool_common_faultproxy.c - loopback TCP proxy that injects faults on cue, for integration tests
 *
 * Why: association recovery, timers and peer-error paths need a network that misbehaves at an
 *      exact byte and on an exact connection: "cut the first connection after 300 bytes, pass
 *      the second", "pass the bind, then swallow everything". Real networks do that at random;
 *      this proxy does it deterministically between two processes on 127.0.0.1.
 * Usage: tool_common_faultproxy --help, and docs/FAULTPROXY.md (options, log format, control
 *      file, examples). A second mode, --echo, is a plain echo server for self-tests.
 * Design: one thread, poll(); every socket non-blocking. Each accepted connection is paired with
 *      a connection to the target; each direction is a bounded pipe (PIPE_CAP bytes, MAX_SEGS
 *      chunks) so a slow side exerts back-pressure instead of growing memory. A chunk becomes
 *      sendable at read time + --delay; --throttle is a token bucket holding at most 50 ms of
 *      tokens. Byte faults (--cut-after*, --corrupt-byte*) count stream offsets from 0.
 * Exchanges (for --bind-then-*): if a direction's first byte is 0x03 it is read as RFC 1006
 *      TPKTs and a unit is a TSDU (a COTP DT TPDU with EOT set), so CR/CC are not counted and
 *      the bind (CN/AC in DT TPDUs) is exchange 1; otherwise a unit is one read chunk. An
 *      exchange is complete when a server->client unit completes after a client->server unit.
 * Safety: connects only to loopback targets and listens only on loopback; stops after
 *      --max-seconds (default 120) or on SIGTERM/SIGINT; at most MAX_CONNS connections at once.
 * Standards: RFC 1006 (TPKT), X.224 clause 13 (COTP TPDU codes) for the exchange detection. */
#define _DEFAULT_SOURCE
#include "openx400/common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/sockios.h>
#endif

#define PIPE_CAP     65536u /* bytes buffered per direction: one large TSDU, then back-pressure */
#define MAX_SEGS     1024u  /* chunks waiting per direction (each has its own --delay due time) */
#define MAX_CONNS    64u    /* simultaneous connections: tests use a handful */
#define DRAIN_MS     1000u  /* before a cut, wait this long at most for the peer to ACK our data */
#define TICK_MS      100u   /* longest poll: bounds the reaction time to SIGTERM */
#define CONTROL_MAX  4096u  /* control file: one line of options */
#define MAX_ARGS     64u    /* options in a control file line */
#define DEFAULT_SECS 120u   /* --max-seconds default: a forgotten proxy goes away by itself */
#define TPKT_VERSION 0x03u  /* RFC 1006 TPKT header: vrsn 3, reserved 0, 16-bit length */
#define COTP_CODE_DT 0xF0u  /* X.224 13.7 DT TPDU code (class 0/1: 1111 0000) */
#define COTP_DT_EOT  0x80u  /* X.224 13.7.3 c) EOT bit of the DT TPDU-NR octet */
#define COTP_DT_HDR  3u     /* LI, code, TPDU-NR/EOT: the octets we look at */
#define TPKT_HDR     4u

/* ---- time and signals ---------------------------------------------------------------------- */

static volatile sig_atomic_t g_stop; /* the one global: set by SIGTERM/SIGINT */

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- options --------------------------------------------------------------------------------- */

typedef enum { FRAMING_AUTO, FRAMING_RAW, FRAMING_TPKT } framing;
typedef enum { BIND_NONE, BIND_BLACKHOLE, BIND_RESET } bind_fault;

#define NONE UINT64_MAX

/* The faults of one connection: everything that may appear in a control-file line. */
typedef struct fault_spec {
    int refuse;          /* 1 close at once (FIN), 2 close with RST */
    uint64_t delay_ms;   /* each chunk, each direction */
    uint64_t throttle;   /* bytes per second, each direction; 0 = none */
    uint64_t cut_up;     /* cut both sides after this many client->server bytes; NONE */
    uint64_t cut_down;   /* ... server->client bytes; NONE */
    int cut_rst;         /* cut with RST (default) or FIN */
    bind_fault bind;     /* --bind-then-blackhole / --bind-then-reset */
    uint64_t exchanges;  /* exchanges to pass before the bind fault (default 1) */
    framing framing;     /* unit detection for exchanges */
    uint64_t corrupt_up; /* offset of the client->server byte to flip; NONE */
    uint64_t corrupt_down;
    uint64_t connections; /* fault only the first K connections (0 = all) */
    uint64_t only;        /* fault only connection I (0 = any) */
} fault_spec;

typedef struct addr {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[64];
} addr;

typedef struct options {
    addr listen;
    addr target;
    int have_target;
    int echo;
    uint64_t max_seconds;
    uint64_t max_connections; /* 0 = unlimited */
    const char *log_path;
    const char *port_file;
    const char *control;
    fault_spec fault;
} options;

static void spec_default(fault_spec *f)
{
    memset(f, 0, sizeof *f);
    f->cut_up = f->cut_down = f->corrupt_up = f->corrupt_down = NONE;
    f->cut_rst = 1;
    f->exchanges = 1;
    f->framing = FRAMING_AUTO;
}

static void usage(FILE *out)
{
    fputs(
        "usage: tool_common_faultproxy --listen [ADDR:]PORT --target [ADDR:]PORT [faults] "
        "[general]\n"
        "       tool_common_faultproxy --echo [ADDR:]PORT [general]\n"
        "Forwards each connection accepted on ADDR:PORT (default ADDR 127.0.0.1; ::1 or [::1]\n"
        "for IPv6; PORT 0 picks a free port) to the target, which must be a loopback address.\n"
        "Connections are numbered from 1 in the log.\n"
        "Faults (each direction unless said; they combine):\n"
        "  --refuse                  accept, then close at once (FIN)\n"
        "  --refuse-rst              accept, then reset at once (RST)\n"
        "  --delay MS                hold each chunk MS milliseconds before forwarding it\n"
        "  --throttle BYTES_PER_S    forward at most this rate (token bucket, 50 ms burst)\n"
        "  --cut-after N             after exactly N client->server bytes reached the server,\n"
        "                            cut both sides (N = 0: as soon as the target connects)\n"
        "  --cut-after-down N        same, after N server->client bytes reached the client\n"
        "  --cut-how rst|fin         how --cut-after* ends both sides (default rst: SO_LINGER 0)\n"
        "  --bind-then-blackhole     pass the first exchange (client unit, then the server's\n"
        "                            answer), then swallow everything both ways, sockets open\n"
        "  --bind-then-reset         same, then reset both sides (RST)\n"
        "  --exchanges N             exchanges to pass before --bind-then-* (default 1)\n"
        "  --framing auto|tpkt|raw   units for exchanges: tpkt = a TSDU (COTP DT with EOT),\n"
        "                            raw = one read chunk; auto = tpkt if the first byte is 03\n"
        "  --corrupt-byte N          flip (xor 0xff) the client->server byte at offset N\n"
        "  --corrupt-byte-down N     flip the server->client byte at offset N\n"
        "  --connections K           fault only the first K connections, then pass through\n"
        "  --only-connection I       fault only connection I (counted from 1)\n"
        "General:\n"
        "  --max-seconds S           stop after S seconds (default 120; 0 = never)\n"
        "  --max-connections M       accept M connections, stop when they have ended\n"
        "  --log FILE                one line per connection (appended): index, bytes each way,\n"
        "                            fault applied, how it ended\n"
        "  --port-file FILE          write the listening port to FILE once listening\n"
        "  --control FILE            re-read at each new connection: one line of fault options\n"
        "                            that replaces the command line's faults; K and I then count\n"
        "                            from the first connection after the line changed; no file =\n"
        "                            the command line's faults\n"
        "  --help                    this text\n"
        "Exit: 0 stopped (time, signal, --max-connections), 1 runtime error, 2 usage error.\n",
        out);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* Parses [ADDR:]PORT; ADDR must be a loopback address (127.0.0.0/8, ::1, localhost). */
static int parse_addr(const char *s, addr *a, char *err, size_t errcap)
{
    char host[64] = "127.0.0.1";
    const char *port = s;
    const char *colon = strrchr(s, ':');
    if (colon != NULL) {
        size_t hl = (size_t)(colon - s);
        const char *h = s;
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
            h++;
            hl -= 2;
        }
        if (hl == 0 || hl >= sizeof host) {
            snprintf(err, errcap, "bad address '%s'", s);
            return -1;
        }
        memcpy(host, h, hl);
        host[hl] = '\0';
        port = colon + 1;
    }
    uint64_t p;
    if (parse_u64(port, 65535, &p) != 0) {
        snprintf(err, errcap, "bad port in '%s'", s);
        return -1;
    }
    if (strcmp(host, "localhost") == 0)
        ox_strlcpy(host, "127.0.0.1", sizeof host);
    memset(a, 0, sizeof *a);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127) {
            snprintf(err, errcap,
                     "'%s' is not a loopback address: this tool only uses 127/8 and ::1", host);
            return -1;
        }
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)p);
        a->len = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) {
            snprintf(err, errcap,
                     "'%s' is not a loopback address: this tool only uses 127/8 and ::1", host);
            return -1;
        }
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)p);
        a->len = sizeof *v6;
    } else {
        snprintf(err, errcap, "'%s' is not a numeric loopback address (no name lookups)", host);
        return -1;
    }
    snprintf(a->text, sizeof a->text, "%s", s);
    return 0;
}

/* Parses fault options from argv[*i]; returns 1 if argv[*i] was a fault option (and advances *i
 * past its argument), 0 if it is not one, -1 on a bad value (err says why). */
static int parse_fault_opt(int argc, char **argv, int *i, fault_spec *f, char *err, size_t errcap)
{
    const char *o = argv[*i];
    const char *v = (*i + 1 < argc) ? argv[*i + 1] : NULL;
    uint64_t *num = NULL;
    uint64_t max = UINT64_MAX - 1;
    if (strcmp(o, "--refuse") == 0) {
        f->refuse = 1;
        return 1;
    }
    if (strcmp(o, "--refuse-rst") == 0) {
        f->refuse = 2;
        return 1;
    }
    if (strcmp(o, "--bind-then-blackhole") == 0) {
        f->bind = BIND_BLACKHOLE;
        return 1;
    }
    if (strcmp(o, "--bind-then-reset") == 0) {
        f->bind = BIND_RESET;
        return 1;
    }
    if (strcmp(o, "--cut-how") == 0 || strcmp(o, "--framing") == 0) {
        if (v == NULL) {
            snprintf(err, errcap, "%s needs a value", o);
            return -1;
        }
        if (strcmp(o, "--cut-how") == 0 && (strcmp(v, "rst") == 0 || strcmp(v, "fin") == 0))
            f->cut_rst = strcmp(v, "rst") == 0;
        else if (strcmp(o, "--framing") == 0 && strcmp(v, "auto") == 0)
            f->framing = FRAMING_AUTO;
        else if (strcmp(o, "--framing") == 0 && strcmp(v, "tpkt") == 0)
            f->framing = FRAMING_TPKT;
        else if (strcmp(o, "--framing") == 0 && strcmp(v, "raw") == 0)
            f->framing = FRAMING_RAW;
        else {
            snprintf(err, errcap, "bad value '%s' for %s", v, o);
            return -1;
        }
        (*i)++;
        return 1;
    }
    if (strcmp(o, "--delay") == 0) {
        num = &f->delay_ms;
        max = 3600u * 1000u;
    } else if (strcmp(o, "--throttle") == 0) {
        num = &f->throttle;
        max = 1000000000u;
    } else if (strcmp(o, "--cut-after") == 0)
        num = &f->cut_up;
    else if (strcmp(o, "--cut-after-down") == 0)
        num = &f->cut_down;
    else if (strcmp(o, "--exchanges") == 0)
        num = &f->exchanges;
    else if (strcmp(o, "--corrupt-byte") == 0)
        num = &f->corrupt_up;
    else if (strcmp(o, "--corrupt-byte-down") == 0)
        num = &f->corrupt_down;
    else if (strcmp(o, "--connections") == 0)
        num = &f->connections;
    else if (strcmp(o, "--only-connection") == 0)
        num = &f->only;
    else
        return 0;
    if (parse_u64(v, max, num) != 0) {
        snprintf(err, errcap, "%s needs a number (0..%llu), got '%s'", o, (unsigned long long)max,
                 v ? v : "nothing");
        return -1;
    }
    if ((num == &f->throttle || num == &f->exchanges || num == &f->only) && *num == 0) {
        snprintf(err, errcap, "%s must be at least 1", o);
        return -1;
    }
    (*i)++;
    return 1;
}

/* Describes the faults of |f| in |out|, e.g. "cut-after=300,delay=50". */
static void spec_describe(const fault_spec *f, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (n < cap)                                                                               \
            n += (size_t)snprintf(out + n, cap - n, "%s", n ? "," : "");                           \
        if (n < cap)                                                                               \
            n += (size_t)snprintf(out + n, cap - n, __VA_ARGS__);                                  \
    } while (0)
    if (f->refuse)
        ADD("%s", f->refuse == 2 ? "refuse-rst" : "refuse");
    if (f->delay_ms)
        ADD("delay=%llu", (unsigned long long)f->delay_ms);
    if (f->throttle)
        ADD("throttle=%llu", (unsigned long long)f->throttle);
    if (f->cut_up != NONE)
        ADD("cut-after=%llu/%s", (unsigned long long)f->cut_up, f->cut_rst ? "rst" : "fin");
    if (f->cut_down != NONE)
        ADD("cut-after-down=%llu/%s", (unsigned long long)f->cut_down, f->cut_rst ? "rst" : "fin");
    if (f->bind != BIND_NONE)
        ADD("bind-then-%s/%llu", f->bind == BIND_BLACKHOLE ? "blackhole" : "reset",
            (unsigned long long)f->exchanges);
    if (f->corrupt_up != NONE)
        ADD("corrupt-byte=%llu", (unsigned long long)f->corrupt_up);
    if (f->corrupt_down != NONE)
        ADD("corrupt-byte-down=%llu", (unsigned long long)f->corrupt_down);
#undef ADD
    if (n == 0)
        snprintf(out, cap, "none");
}

/* ---- one direction of a connection --------------------------------------------------------- */

typedef struct seg {
    uint64_t end; /* stream offset just past this chunk */
    uint64_t due; /* when it may be sent */
} seg;

/* Finds unit boundaries (see "Exchanges" above) in one direction's byte stream. */
typedef struct unit_scan {
    framing mode; /* AUTO until the first byte */
    uint8_t hdr[TPKT_HDR + COTP_DT_HDR];
    size_t have;   /* header octets of the current TPKT seen */
    size_t remain; /* octets of the current TPKT still to come after its 4-octet header */
} unit_scan;

typedef struct dir {
    uint8_t buf[PIPE_CAP];
    size_t head, tail; /* bytes buf[head..tail) wait to be sent */
    seg segs[MAX_SEGS];
    size_t seg_first, nsegs;
    uint64_t in, out, dropped; /* stream bytes read, sent, swallowed */
    uint64_t limit;            /* read at most this many (cut-after), NONE */
    uint64_t corrupt;          /* offset to flip, NONE */
    uint64_t trigger;          /* bind fault takes effect once |out| reaches this, NONE */
    int eof;                   /* the source sent FIN */
    int shut;                  /* we sent FIN to the sink */
    double tokens;
    uint64_t tok_ms;
    unit_scan scan;
} dir;

/* Advances |s| over p[0..n); returns how many octets up to and including the end of the first
 * unit that completes in them, or 0 if none does (then all n were consumed). */
static size_t scan_feed(unit_scan *s, const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    if (s->mode == FRAMING_AUTO)
        s->mode = (p[0] == TPKT_VERSION) ? FRAMING_TPKT : FRAMING_RAW;
    if (s->mode == FRAMING_RAW)
        return n;
    for (size_t k = 0; k < n; k++) {
        if (s->have < TPKT_HDR) {
            s->hdr[s->have++] = p[k];
            if (s->have == TPKT_HDR) {
                size_t len = ((size_t)s->hdr[2] << 8) | s->hdr[3];
                if (s->hdr[0] != TPKT_VERSION || len <= TPKT_HDR) {
                    s->mode = FRAMING_RAW; /* not TPKT after all: chunks from here on */
                    return n;
                }
                s->remain = len - TPKT_HDR;
            }
            continue;
        }
        if (s->have < sizeof s->hdr)
            s->hdr[s->have++] = p[k];
        if (--s->remain == 0) {
            int tsdu_end = s->have == sizeof s->hdr && (s->hdr[5] & 0xF0u) == COTP_CODE_DT &&
                           (s->hdr[6] & COTP_DT_EOT) != 0;
            s->have = 0;
            if (tsdu_end)
                return k + 1;
        }
    }
    return 0;
}

static size_t dir_space(const dir *d)
{
    if (d->nsegs == MAX_SEGS)
        return 0;
    return PIPE_CAP - (d->tail - d->head);
}

/* Appends p[0..n) (n <= dir_space) to the pipe, due at |due|. */
static void dir_push(dir *d, const uint8_t *p, size_t n, uint64_t due)
{
    if (n == 0)
        return;
    if (PIPE_CAP - d->tail < n) {
        memmove(d->buf, d->buf + d->head, d->tail - d->head);
        d->tail -= d->head;
        d->head = 0;
    }
    memcpy(d->buf + d->tail, p, n);
    d->tail += n;
    d->in += n;
    size_t last = (d->seg_first + d->nsegs + MAX_SEGS - 1) % MAX_SEGS;
    if (d->nsegs > 0 && d->segs[last].due == due) {
        d->segs[last].end = d->in;
        return;
    }
    seg *s = &d->segs[(d->seg_first + d->nsegs) % MAX_SEGS];
    s->end = d->in;
    s->due = due;
    d->nsegs++;
}

static void dir_clear(dir *d)
{
    d->dropped += d->tail - d->head;
    d->head = d->tail = 0;
    d->nsegs = 0;
    d->in = d->out; /* what was never sent counts as swallowed, not as read-and-forwarded */
}

/* Bytes that may be sent now (due and within the token budget). */
static size_t dir_sendable(dir *d, const fault_spec *f, uint64_t now)
{
    uint64_t upto = d->out;
    for (size_t k = 0; k < d->nsegs; k++) {
        const seg *s = &d->segs[(d->seg_first + k) % MAX_SEGS];
        if (s->due > now)
            break;
        upto = s->end;
    }
    size_t n = (size_t)(upto - d->out);
    if (f->throttle && n > 0) {
        double cap = (double)f->throttle / 20.0;
        if (cap < 1.0)
            cap = 1.0;
        d->tokens += (double)(now - d->tok_ms) * (double)f->throttle / 1000.0;
        if (d->tokens > cap)
            d->tokens = cap;
        d->tok_ms = now;
        if ((double)n > d->tokens)
            n = (size_t)d->tokens;
    }
    return n;
}

/* Milliseconds until dir_sendable could grow, or UINT64_MAX if only a read can change it. */
static uint64_t dir_wait(const dir *d, const fault_spec *f, uint64_t now)
{
    if (d->head == d->tail)
        return UINT64_MAX;
    const seg *s = &d->segs[d->seg_first];
    if (d->nsegs > 0 && s->due > now)
        return s->due - now;
    if (f->throttle) {
        double need = (double)f->throttle / 20.0;
        if (need < 1.0)
            need = 1.0;
        if ((double)(d->tail - d->head) < need)
            need = (double)(d->tail - d->head);
        if (d->tokens < need)
            return 1 + (uint64_t)((need - d->tokens) * 1000.0 / (double)f->throttle);
    }
    return 0;
}

static void dir_consumed(dir *d, size_t n)
{
    d->head += n;
    d->out += n;
    if (d->head == d->tail)
        d->head = d->tail = 0;
    while (d->nsegs > 0 && d->segs[d->seg_first].end <= d->out) {
        d->seg_first = (d->seg_first + 1) % MAX_SEGS;
        d->nsegs--;
    }
}

/* ---- connections ----------------------------------------------------------------------------- */

typedef enum {
    C_FREE,
    C_CONNECTING, /* waiting for the target's connect() */
    C_OPEN,       /* forwarding */
    C_DRAIN,      /* a cut or bind-reset is due once the peers have ACKed our data */
    C_BLACKHOLE,  /* swallowing everything */
    C_ECHO,       /* --echo mode: up pipe goes back to the client */
} cstate;

typedef struct conn {
    cstate state;
    uint64_t index;
    int cfd, sfd; /* client and server sockets, -1 when closed */
    fault_spec f; /* the faults of this connection (all zero if not faulted) */
    int faulted;
    dir up, down;
    uint64_t exchanges; /* completed exchanges */
    int up_unit;        /* a client->server unit completed since the last exchange */
    int triggered;      /* the bind fault has been decided */
    int drain_rst;      /* C_DRAIN: end with RST (else FIN) */
    const char *drain_end;
    uint64_t drain_deadline;
    const char *first_close; /* blackhole: which side closed first */
} conn;

typedef struct proxy {
    options o;
    int lfd;
    FILE *log;
    conn *conns;
    uint64_t accepted;
    /* --control state */
    char control_text[CONTROL_MAX];
    int control_active; /* the file exists and its faults are in force */
    fault_spec active;
    uint64_t active_seq; /* connections accepted under |active| */
} proxy;

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL, 0);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void close_rst(int fd)
{
    if (fd < 0)
        return;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

static void close_fin(int fd)
{
    if (fd < 0)
        return;
    shutdown(fd, SHUT_WR);
    uint8_t sink[4096]; /* closing with unread data would send RST, not FIN */
    while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
        ;
    close(fd);
}

/* Unsent or unacknowledged bytes in |fd|'s send queue (0 if unknown). */
static int outq(int fd)
{
#ifdef SIOCOUTQ
    int n = 0;
    if (fd >= 0 && ioctl(fd, SIOCOUTQ, &n) == 0)
        return n;
#else
    (void)fd;
#endif
    return 0;
}

/* Takes and returns |fd|'s pending error (SO_ERROR), 0 if none. */
static int sock_error(int fd)
{
    int e = 0;
    socklen_t el = sizeof e;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
        return errno;
    return e;
}

static void conn_end(proxy *p, conn *c, const char *how)
{
    char fault[256];
    if (c->faulted)
        spec_describe(&c->f, fault, sizeof fault);
    else
        snprintf(fault, sizeof fault, "none");
    if (p->log != NULL) {
        if (c->state == C_ECHO)
            fprintf(p->log, "conn=%llu in=%llu out=%llu fault=none end=%s\n",
                    (unsigned long long)c->index, (unsigned long long)c->up.in,
                    (unsigned long long)c->up.out, how);
        else
            fprintf(p->log,
                    "conn=%llu up=%llu down=%llu dropped_up=%llu dropped_down=%llu "
                    "fault=%s end=%s\n",
                    (unsigned long long)c->index, (unsigned long long)c->up.out,
                    (unsigned long long)c->down.out, (unsigned long long)c->up.dropped,
                    (unsigned long long)c->down.dropped, fault, how);
        fflush(p->log);
    }
    if (c->cfd >= 0)
        close(c->cfd);
    if (c->sfd >= 0)
        close(c->sfd);
    c->cfd = c->sfd = -1;
    c->state = C_FREE;
}

/* Ends |c| resetting (rst) or closing both sockets. */
static void conn_cut(proxy *p, conn *c, int rst, const char *how)
{
    if (rst) {
        close_rst(c->cfd);
        close_rst(c->sfd);
    } else {
        close_fin(c->cfd);
        close_fin(c->sfd);
    }
    c->cfd = c->sfd = -1;
    conn_end(p, c, how);
}

static void conn_drain(conn *c, int rst, const char *how, uint64_t now)
{
    c->state = C_DRAIN;
    c->drain_rst = rst;
    c->drain_end = how;
    c->drain_deadline = now + DRAIN_MS;
}

/* Re-reads the control file; keeps the previous faults (and says so) if its line is bad. */
static void control_reload(proxy *p)
{
    if (p->o.control == NULL)
        return;
    char text[CONTROL_MAX];
    size_t n = 0;
    FILE *fp = fopen(p->o.control, "r");
    if (fp == NULL) {
        if (p->control_active) {
            p->control_active = 0;
            p->active = p->o.fault;
            p->active_seq = 0;
            p->control_text[0] = '\0';
        }
        return;
    }
    n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    text[strcspn(text, "\r\n")] = '\0';
    if (p->control_active && strcmp(text, p->control_text) == 0)
        return;
    ox_strlcpy(p->control_text, text, sizeof p->control_text);
    p->control_active = 1;
    char *argv[MAX_ARGS];
    int argc = 0;
    for (char *t = strtok(text, " \t"); t != NULL; t = strtok(NULL, " \t")) {
        if ((size_t)argc == MAX_ARGS) {
            fprintf(stderr, "faultproxy: control file: more than %u words; keeping faults\n",
                    MAX_ARGS);
            return;
        }
        argv[argc++] = t;
    }
    fault_spec f;
    spec_default(&f);
    char err[256];
    for (int i = 0; i < argc; i++) {
        int r = parse_fault_opt(argc, argv, &i, &f, err, sizeof err);
        if (r == 0)
            snprintf(err, sizeof err, "'%s' is not a fault option", argv[i]);
        if (r <= 0) {
            fprintf(stderr, "faultproxy: control file: %s; keeping the previous faults\n", err);
            return;
        }
    }
    p->active = f;
    p->active_seq = 0;
}

static conn *conn_slot(proxy *p)
{
    for (size_t k = 0; k < MAX_CONNS; k++)
        if (p->conns[k].state == C_FREE)
            return &p->conns[k];
    return NULL;
}

static void conn_setup_dirs(conn *c, uint64_t now)
{
    memset(&c->up, 0, sizeof c->up);
    memset(&c->down, 0, sizeof c->down);
    c->up.limit = c->f.cut_up;
    c->down.limit = c->f.cut_down;
    c->up.corrupt = c->f.corrupt_up;
    c->down.corrupt = c->f.corrupt_down;
    c->up.trigger = c->down.trigger = NONE;
    c->up.scan.mode = c->down.scan.mode = c->f.framing;
    c->up.tok_ms = c->down.tok_ms = now;
    c->exchanges = 0;
    c->up_unit = c->triggered = 0;
    c->first_close = NULL;
}

static void accept_one(proxy *p, uint64_t now)
{
    int fd = accept(p->lfd, NULL, NULL);
    if (fd < 0)
        return;
    conn *c = conn_slot(p);
    p->accepted++;
    if (c == NULL) {
        fprintf(stderr, "faultproxy: more than %u connections at once; refusing one\n", MAX_CONNS);
        if (p->log != NULL) {
            fprintf(p->log,
                    "conn=%llu up=0 down=0 dropped_up=0 dropped_down=0 fault=none "
                    "end=over-capacity\n",
                    (unsigned long long)p->accepted);
            fflush(p->log);
        }
        close_rst(fd);
        return;
    }
    memset(c, 0, sizeof *c);
    c->index = p->accepted;
    c->cfd = fd;
    c->sfd = -1;
    set_nonblock(fd);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (p->o.echo) {
        c->state = C_ECHO;
        spec_default(&c->f);
        conn_setup_dirs(c, now);
        return;
    }
    control_reload(p);
    p->active_seq++;
    const fault_spec *a = &p->active;
    c->faulted = (a->connections == 0 || p->active_seq <= a->connections) &&
                 (a->only == 0 || p->active_seq == a->only);
    if (c->faulted)
        c->f = *a;
    else
        spec_default(&c->f);
    conn_setup_dirs(c, now);
    if (c->f.refuse) {
        c->state = C_OPEN;
        conn_cut(p, c, c->f.refuse == 2, c->f.refuse == 2 ? "refused-rst" : "refused");
        return;
    }
    c->sfd = socket(p->o.target.ss.ss_family, SOCK_STREAM, 0);
    if (c->sfd < 0) {
        c->state = C_OPEN;
        conn_cut(p, c, 1, "socket-failed");
        return;
    }
    set_nonblock(c->sfd);
    setsockopt(c->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = C_CONNECTING;
    if (connect(c->sfd, (const struct sockaddr *)&p->o.target.ss, p->o.target.len) == 0)
        c->state = C_OPEN;
    else if (errno != EINPROGRESS) {
        conn_cut(p, c, 1, "connect-failed");
        return;
    }
}

/* Reads from |fd| into |d|; returns bytes read, 0 on EOF, -1 on a reset or error, -2 if it
 * would block. Applies the read-side faults: cut limit, corruption, bind trigger. */
static ssize_t conn_read(conn *c, dir *d, int fd, int is_down, uint64_t now)
{
    uint8_t tmp[PIPE_CAP];
    size_t want = dir_space(d);
    if (c->state == C_BLACKHOLE || c->triggered)
        want = sizeof tmp;
    if (d->limit != NONE && !c->triggered && d->limit - d->in < want)
        want = (size_t)(d->limit - d->in);
    if (want == 0)
        return -2;
    ssize_t n = recv(fd, tmp, want, 0);
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -2 : -1;
    if (n == 0)
        return 0;
    size_t len = (size_t)n;
    if (c->state == C_BLACKHOLE || c->triggered) {
        d->dropped += len;
        return n;
    }
    if (d->corrupt != NONE && d->corrupt >= d->in && d->corrupt - d->in < len)
        tmp[d->corrupt - d->in] ^= 0xFFu;
    size_t keep = len;
    if (c->f.bind != BIND_NONE) {
        size_t off = 0;
        while (off < len) {
            size_t k = scan_feed(&d->scan, tmp + off, len - off);
            if (k == 0)
                break;
            off += k;
            if (!is_down) {
                c->up_unit = 1;
            } else if (c->up_unit) {
                c->up_unit = 0;
                if (++c->exchanges == c->f.exchanges) {
                    c->triggered = 1;
                    keep = off;
                    d->trigger = d->in + off;
                    d->dropped += len - off;
                    dir_clear(&c->up); /* client data after the exchange is swallowed */
                    break;
                }
            }
        }
    }
    dir_push(d, tmp, keep, now + c->f.delay_ms);
    return n;
}

/* Sends what |d| may send now to |fd|; returns 0, or -1 if the sink failed. */
static int conn_write(conn *c, dir *d, int fd, uint64_t now)
{
    size_t n = dir_sendable(d, &c->f, now);
    if (n == 0)
        return 0;
    if (d->trigger != NONE && d->trigger - d->out < n)
        n = (size_t)(d->trigger - d->out);
    ssize_t w = send(fd, d->buf + d->head, n, MSG_NOSIGNAL);
    if (w < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    if (c->f.throttle)
        d->tokens -= (double)w;
    dir_consumed(d, (size_t)w);
    return 0;
}

static void echo_step(proxy *p, conn *c, short rev, uint64_t now)
{
    if ((rev & (POLLIN | POLLHUP | POLLERR)) && !c->up.eof) {
        ssize_t n = conn_read(c, &c->up, c->cfd, 0, now);
        if (n == 0)
            c->up.eof = 1;
        else if (n == -1) {
            conn_end(p, c, "reset");
            return;
        }
    }
    if (conn_write(c, &c->up, c->cfd, now) != 0) {
        conn_end(p, c, "reset");
        return;
    }
    if (c->up.eof && c->up.head == c->up.tail)
        conn_end(p, c, "eof");
}

/* One pass over a proxied connection after poll: reads, writes, state changes. */
static void conn_step(proxy *p, conn *c, short crev, short srev, uint64_t now)
{
    if (c->state == C_CONNECTING) {
        if (!(srev & (POLLOUT | POLLERR | POLLHUP)))
            return;
        if (sock_error(c->sfd) != 0) {
            conn_cut(p, c, 1, "connect-failed");
            return;
        }
        c->state = C_OPEN;
        srev = 0;
    }
    if (c->state == C_BLACKHOLE) {
        if (c->cfd >= 0 && (crev & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = conn_read(c, &c->up, c->cfd, 0, now);
            if (n == 0 || n == -1) {
                close(c->cfd);
                c->cfd = -1;
                if (c->first_close == NULL)
                    c->first_close = "blackhole-client-closed";
            }
        }
        if (c->sfd >= 0 && (srev & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = conn_read(c, &c->down, c->sfd, 1, now);
            if (n == 0 || n == -1) {
                close(c->sfd);
                c->sfd = -1;
                if (c->first_close == NULL)
                    c->first_close = "blackhole-server-closed";
            }
        }
        if (c->cfd < 0 && c->sfd < 0)
            conn_end(p, c, c->first_close);
        return;
    }
    /* C_OPEN or C_DRAIN: a pending socket error is a reset even when we are not reading */
    if ((crev & POLLERR) && sock_error(c->cfd)) {
        conn_cut(p, c, 1, "client-reset");
        return;
    }
    if ((srev & POLLERR) && sock_error(c->sfd)) {
        conn_cut(p, c, 1, "server-reset");
        return;
    }
    /* reads */
    if (crev & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = conn_read(c, &c->up, c->cfd, 0, now);
        if (n == 0)
            c->up.eof = 1;
        else if (n == -1) {
            conn_cut(p, c, 1, "client-reset");
            return;
        }
    }
    if (srev & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = conn_read(c, &c->down, c->sfd, 1, now);
        if (n == 0)
            c->down.eof = 1;
        else if (n == -1) {
            conn_cut(p, c, 1, "server-reset");
            return;
        }
    }
    /* writes */
    if (conn_write(c, &c->up, c->sfd, now) != 0) {
        conn_cut(p, c, 1, "server-reset");
        return;
    }
    if (conn_write(c, &c->down, c->cfd, now) != 0) {
        conn_cut(p, c, 1, "client-reset");
        return;
    }
    if (c->state == C_DRAIN) {
        if ((outq(c->cfd) == 0 && outq(c->sfd) == 0) || now >= c->drain_deadline)
            conn_cut(p, c, c->drain_rst, c->drain_end);
        return;
    }
    /* faults that take effect once the bytes before them are delivered */
    if (c->up.limit != NONE && c->up.out == c->up.limit) {
        conn_drain(c, c->f.cut_rst, "cut-after", now);
        return;
    }
    if (c->down.limit != NONE && c->down.out == c->down.limit) {
        conn_drain(c, c->f.cut_rst, "cut-after-down", now);
        return;
    }
    if (c->down.trigger != NONE && c->down.out == c->down.trigger) {
        if (c->f.bind == BIND_RESET) {
            conn_drain(c, 1, "bind-then-reset", now);
        } else {
            c->state = C_BLACKHOLE;
            dir_clear(&c->up);
            dir_clear(&c->down);
        }
        return;
    }
    /* orderly close, one direction at a time */
    if (c->up.eof && !c->up.shut && c->up.head == c->up.tail) {
        shutdown(c->sfd, SHUT_WR);
        c->up.shut = 1;
        if (c->first_close == NULL)
            c->first_close = "client-closed";
    }
    if (c->down.eof && !c->down.shut && c->down.head == c->down.tail) {
        shutdown(c->cfd, SHUT_WR);
        c->down.shut = 1;
        if (c->first_close == NULL)
            c->first_close = "server-closed";
    }
    if (c->up.shut && c->down.shut)
        conn_end(p, c, c->first_close);
}

/* Poll interest of |c|'s sockets, and the time it next needs a step without an event. */
static void conn_interest(const conn *c, short *cev, short *sev, uint64_t now, uint64_t *wait)
{
    *cev = *sev = 0;
    switch (c->state) {
    case C_ECHO:
        if (!c->up.eof && dir_space(&c->up) > 0)
            *cev |= POLLIN;
        if (c->up.head != c->up.tail)
            *cev |= POLLOUT;
        return;
    case C_CONNECTING: *sev = POLLOUT; return;
    case C_BLACKHOLE:
        *cev = POLLIN;
        *sev = POLLIN;
        return;
    case C_DRAIN:
        if (*wait > 10)
            *wait = 10;
        break;
    case C_OPEN: break;
    case C_FREE: return;
    }
    int trig = c->triggered;
    if (!c->up.eof && (trig || (dir_space(&c->up) > 0 && c->up.in != c->up.limit)))
        *cev |= POLLIN;
    if (!c->down.eof && (trig || (dir_space(&c->down) > 0 && c->down.in != c->down.limit)))
        *sev |= POLLIN;
    const dir *ds[2] = {&c->up, &c->down};
    for (int k = 0; k < 2; k++) {
        uint64_t w = dir_wait(ds[k], &c->f, now);
        if (w == 0)
            *(k == 0 ? sev : cev) |= POLLOUT;
        else if (w < *wait)
            *wait = w;
    }
}

static int write_port_file(const char *path, unsigned port)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return -1;
    FILE *fp = fopen(tmp, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp, "%u\n", port);
    if (fclose(fp) != 0)
        return -1;
    return rename(tmp, path);
}

static int parse_args(int argc, char **argv, options *o)
{
    char err[256];
    memset(o, 0, sizeof *o);
    spec_default(&o->fault);
    o->max_seconds = DEFAULT_SECS;
    int have_listen = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
        int r = parse_fault_opt(argc, argv, &i, &o->fault, err, sizeof err);
        if (r < 0) {
            fprintf(stderr, "faultproxy: %s\n", err);
            return -1;
        }
        if (r > 0)
            continue;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (v == NULL) {
            fprintf(stderr, "faultproxy: unknown option or missing value: '%s' (see --help)\n", a);
            return -1;
        }
        if (strcmp(a, "--listen") == 0 || strcmp(a, "--echo") == 0 || strcmp(a, "--target") == 0) {
            addr *dst = strcmp(a, "--target") == 0 ? &o->target : &o->listen;
            if (parse_addr(v, dst, err, sizeof err) != 0) {
                fprintf(stderr, "faultproxy: %s: %s\n", a, err);
                return -1;
            }
            if (strcmp(a, "--target") == 0)
                o->have_target = 1;
            else
                have_listen = 1;
            if (strcmp(a, "--echo") == 0)
                o->echo = 1;
        } else if (strcmp(a, "--max-seconds") == 0) {
            if (parse_u64(v, 365u * 86400u, &o->max_seconds) != 0) {
                fprintf(stderr, "faultproxy: --max-seconds needs a number of seconds\n");
                return -1;
            }
        } else if (strcmp(a, "--max-connections") == 0) {
            if (parse_u64(v, UINT32_MAX, &o->max_connections) != 0 || o->max_connections == 0) {
                fprintf(stderr, "faultproxy: --max-connections needs a number >= 1\n");
                return -1;
            }
        } else if (strcmp(a, "--log") == 0)
            o->log_path = v;
        else if (strcmp(a, "--port-file") == 0)
            o->port_file = v;
        else if (strcmp(a, "--control") == 0)
            o->control = v;
        else {
            fprintf(stderr, "faultproxy: unknown option '%s' (see --help)\n", a);
            return -1;
        }
        i++;
    }
    if (!have_listen) {
        fprintf(stderr, "faultproxy: --listen or --echo is required (see --help)\n");
        return -1;
    }
    if (!o->echo && !o->have_target) {
        fprintf(stderr, "faultproxy: --target is required (see --help)\n");
        return -1;
    }
    return 0;
}

static int open_listener(proxy *p)
{
    p->lfd = socket(p->o.listen.ss.ss_family, SOCK_STREAM, 0);
    if (p->lfd < 0) {
        perror("faultproxy: socket");
        return -1;
    }
    int one = 1;
    setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(p->lfd, (const struct sockaddr *)&p->o.listen.ss, p->o.listen.len) != 0 ||
        listen(p->lfd, 64) != 0) {
        fprintf(stderr, "faultproxy: cannot listen on %s: %s\n", p->o.listen.text, strerror(errno));
        return -1;
    }
    set_nonblock(p->lfd);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(p->lfd, (struct sockaddr *)&ss, &sl) != 0) {
        perror("faultproxy: getsockname");
        return -1;
    }
    unsigned port = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                            : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    if (p->o.port_file != NULL && write_port_file(p->o.port_file, port) != 0) {
        fprintf(stderr, "faultproxy: cannot write %s: %s\n", p->o.port_file, strerror(errno));
        return -1;
    }
    return 0;
}

static size_t live_conns(const proxy *p)
{
    size_t n = 0;
    for (size_t k = 0; k < MAX_CONNS; k++)
        n += p->conns[k].state != C_FREE;
    return n;
}

static int run(proxy *p)
{
    uint64_t start = now_ms();
    uint64_t stop_at = p->o.max_seconds ? start + p->o.max_seconds * 1000u : UINT64_MAX;
    struct pollfd pfd[1 + 2 * MAX_CONNS];
    const char *why = "stopped";
    for (;;) {
        uint64_t now = now_ms();
        if (g_stop)
            break;
        if (now >= stop_at) {
            why = "max-seconds";
            break;
        }
        if (p->lfd >= 0 && p->o.max_connections && p->accepted >= p->o.max_connections) {
            close(p->lfd);
            p->lfd = -1;
        }
        if (p->lfd < 0 && live_conns(p) == 0)
            return 0;
        uint64_t wait = TICK_MS;
        if (stop_at - now < wait)
            wait = stop_at - now;
        nfds_t n = 0;
        pfd[n].fd = p->lfd;
        pfd[n].events = POLLIN;
        n++;
        for (size_t k = 0; k < MAX_CONNS; k++) {
            conn *c = &p->conns[k];
            short cev = 0, sev = 0;
            conn_interest(c, &cev, &sev, now, &wait);
            pfd[1 + 2 * k].fd = c->state == C_FREE ? -1 : c->cfd;
            pfd[1 + 2 * k].events = cev;
            pfd[2 + 2 * k].fd = c->state == C_FREE ? -1 : c->sfd;
            pfd[2 + 2 * k].events = sev;
            n = 3 + 2 * k;
        }
        int r = poll(pfd, n, (int)wait);
        if (r < 0 && errno != EINTR) {
            perror("faultproxy: poll");
            return 1;
        }
        if (r < 0)
            continue;
        now = now_ms();
        for (size_t k = 0; k < MAX_CONNS; k++) {
            conn *c = &p->conns[k];
            short crev = pfd[1 + 2 * k].fd >= 0 ? pfd[1 + 2 * k].revents : 0;
            short srev = pfd[2 + 2 * k].fd >= 0 ? pfd[2 + 2 * k].revents : 0;
            if (c->state == C_ECHO)
                echo_step(p, c, crev, now);
            else if (c->state != C_FREE)
                conn_step(p, c, crev, srev, now);
        }
        if (p->lfd >= 0 && (pfd[0].revents & POLLIN))
            for (int k = 0; k < 16; k++) {
                if (p->o.max_connections && p->accepted >= p->o.max_connections)
                    break; /* the rest wait in the backlog and are reset when we close it */
                accept_one(p, now);
            }
    }
    for (size_t k = 0; k < MAX_CONNS; k++)
        if (p->conns[k].state != C_FREE)
            conn_end(p, &p->conns[k], why);
    return 0;
}

int main(int argc, char **argv)
{
    proxy p;
    memset(&p, 0, sizeof p);
    p.lfd = -1;
    if (parse_args(argc, argv, &p.o) != 0)
        return 2;
    p.active = p.o.fault;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (p.o.log_path != NULL) {
        p.log = fopen(p.o.log_path, "a");
        if (p.log == NULL) {
            fprintf(stderr, "faultproxy: cannot open %s: %s\n", p.o.log_path, strerror(errno));
            return 1;
        }
    }
    p.conns = calloc(MAX_CONNS, sizeof *p.conns);
    if (p.conns == NULL) {
        fprintf(stderr, "faultproxy: out of memory\n");
        return 1;
    }
    for (size_t k = 0; k < MAX_CONNS; k++)
        p.conns[k].cfd = p.conns[k].sfd = -1;
    int rc = open_listener(&p) == 0 ? run(&p) : 1;
    if (p.lfd >= 0)
        close(p.lfd);
    if (p.log != NULL)
        fclose(p.log);
    free(p.conns);
    return rc;
}
