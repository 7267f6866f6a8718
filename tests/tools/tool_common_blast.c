/* tool_common_blast.c - load generator for bench/mta_throughput.sh (prints figures, never fails
 * on timing).
 *
 *   tool_common_blast capture SOCK OUT
 *       listen on the Unix socket SOCK as the daemon's control socket would, take one
 *       "submit N" request from `x400mta submit`, write its N-octet MTS-APDU to OUT, answer ok.
 *       The MTA assigns the MTS identifier of a local submission, so one captured APDU can be
 *       submitted any number of times and each copy is a distinct message.
 *   tool_common_blast submit SOCK APDU N CONC OUT
 *       submit the APDU file N times to the running daemon over its control socket, CONC
 *       requests in flight (one connection each, as the CLI does), and write one line per
 *       message to OUT: "MTSID T_SENT_US T_ACK_US" (wall clock, microseconds). Prints the rate.
 *   tool_common_blast tcp N SIZE
 *       the baseline: N messages of SIZE octets over a plain loopback TCP connection, first as
 *       one stream, then one at a time with a 1-octet acknowledgement each (a confirmed copy).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int die(const char *what)
{
    fprintf(stderr, "tool_common_blast: %s: %s\n", what, strerror(errno));
    return 1;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -1;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

static int cmd_capture(const char *sock, const char *out)
{
    struct sockaddr_un sa;
    if (unix_addr(sock, &sa))
        return die("socket path too long");
    unlink(sock);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 1))
        return die("listen");
    int c = accept(l, NULL, NULL);
    if (c < 0)
        return die("accept");
    char head[64];
    size_t hl = 0;
    while (hl + 1 < sizeof(head)) { /* the request line, one octet at a time */
        if (read_all(c, head + hl, 1))
            return die("read request");
        if (head[hl++] == '\n')
            break;
    }
    head[hl] = '\0';
    unsigned long n;
    if (sscanf(head, "submit %lu", &n) != 1 || n == 0 || n > (64ul << 20)) {
        fprintf(stderr, "tool_common_blast: not a submit request: %s\n", head);
        return 1;
    }
    char *buf = malloc(n);
    if (!buf || read_all(c, buf, n))
        return die("read payload");
    FILE *f = fopen(out, "wb");
    if (!f || fwrite(buf, 1, n, f) != n || fclose(f))
        return die(out);
    const char ok[] = "ok captured\n";
    (void)write_all(c, ok, sizeof(ok) - 1);
    close(c);
    close(l);
    unlink(sock);
    fprintf(stderr, "captured %lu octets of MTS-APDU\n", n);
    free(buf);
    return 0;
}

typedef struct {
    int fd;
    size_t off; /* octets of head+payload written */
    char reply[512];
    size_t rlen;
    uint64_t t_sent;
} slot;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmd_submit(const char *sock, const char *apdu_path, long n, int conc, const char *out)
{
    struct sockaddr_un sa;
    if (unix_addr(sock, &sa))
        return die("socket path too long");
    FILE *f = fopen(apdu_path, "rb");
    if (!f)
        return die(apdu_path);
    struct stat st;
    fstat(fileno(f), &st);
    size_t plen = (size_t)st.st_size;
    char head[64];
    int hn = snprintf(head, sizeof(head), "submit %zu\n", plen);
    size_t mlen = (size_t)hn + plen;
    char *msg = malloc(mlen);
    if (!msg || fread(msg + hn, 1, plen, f) != plen)
        return die("read apdu");
    fclose(f);
    memcpy(msg, head, (size_t)hn);
    FILE *o = fopen(out, "w");
    if (!o)
        return die(out);
    if (conc < 1)
        conc = 1;
    slot *s = calloc((size_t)conc, sizeof(*s));
    struct pollfd *pf = calloc((size_t)conc, sizeof(*pf));
    uint64_t *lat = calloc((size_t)n, sizeof(*lat));
    long started = 0, done = 0, failed = 0;
    for (int i = 0; i < conc; i++)
        s[i].fd = -1;
    uint64_t t0 = mono_us();
    while (done < n) {
        for (int i = 0; i < conc; i++) {
            if (s[i].fd >= 0 || started >= n)
                continue;
            int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
                return die("connect to the control socket");
            fcntl(fd, F_SETFL, O_NONBLOCK);
            s[i] = (slot){.fd = fd, .t_sent = wall_us()};
            started++;
        }
        for (int i = 0; i < conc; i++) {
            pf[i].fd = s[i].fd;
            pf[i].events = s[i].fd < 0 ? 0 : (s[i].off < mlen ? POLLOUT : POLLIN);
            pf[i].revents = 0;
        }
        if (poll(pf, (nfds_t)conc, 30000) <= 0)
            return die("poll (no answer from the daemon in 30 s)");
        for (int i = 0; i < conc; i++) {
            slot *c = &s[i];
            if (c->fd < 0 || !pf[i].revents)
                continue;
            if (c->off < mlen) {
                ssize_t w = write(c->fd, msg + c->off, mlen - c->off);
                if (w > 0)
                    c->off += (size_t)w;
                else if (w < 0 && errno != EAGAIN && errno != EINTR)
                    return die("write");
                continue;
            }
            ssize_t r = read(c->fd, c->reply + c->rlen, sizeof(c->reply) - 1 - c->rlen);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r > 0) {
                c->rlen += (size_t)r;
                if (c->rlen + 1 < sizeof(c->reply))
                    continue;
            }
            /* end of the reply (the daemon closes after answering) */
            uint64_t t_ack = wall_us();
            c->reply[c->rlen] = '\0';
            char *nl = strchr(c->reply, '\n');
            if (nl)
                *nl = '\0';
            if (!strncmp(c->reply, "ok ", 3)) {
                fprintf(o, "%s %llu %llu\n", c->reply + 3, (unsigned long long)c->t_sent,
                        (unsigned long long)t_ack);
                lat[done - failed] = t_ack - c->t_sent;
            } else {
                if (failed++ < 3)
                    fprintf(stderr, "refused: %s\n", c->reply);
            }
            done++;
            close(c->fd);
            c->fd = -1;
        }
    }
    uint64_t el = mono_us() - t0;
    fclose(o);
    long ok = done - failed;
    qsort(lat, (size_t)ok, sizeof(*lat), cmp_u64);
    printf("submit: %ld messages (%zu-octet MTS-APDU), %d in flight, %ld refused: %.3f s, "
           "%.0f msgs/s; ack latency p50 %.2f ms p99 %.2f ms\n",
           n, plen, conc, failed, (double)el / 1e6, (double)ok * 1e6 / (double)el,
           ok ? (double)lat[ok / 2] / 1000 : 0, ok ? (double)lat[ok * 99 / 100] / 1000 : 0);
    free(lat);
    free(pf);
    free(s);
    free(msg);
    return failed ? 1 : 0;
}

static int cmd_tcp(long n, size_t size)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 2) ||
        getsockname(l, (struct sockaddr *)&a, &al))
        return die("listen");
    pid_t pid = fork();
    if (pid == 0) { /* receiver: a stream of n*size, then n messages each acknowledged */
        char *buf = malloc(size);
        for (int round = 0; round < 2; round++) {
            int c = accept(l, NULL, NULL);
            int one = 1;
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            for (long i = 0; i < n; i++) {
                if (read_all(c, buf, size))
                    _exit(1);
                if (round == 1 && write_all(c, "k", 1))
                    _exit(1);
            }
            if (round == 0 && write_all(c, "k", 1))
                _exit(1);
            close(c);
        }
        _exit(0);
    }
    char *buf = malloc(size);
    memset(buf, 'x', size);
    double rate[2];
    for (int round = 0; round < 2; round++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(c, (struct sockaddr *)&a, sizeof(a)))
            return die("connect");
        char k;
        uint64_t t0 = mono_us();
        for (long i = 0; i < n; i++) {
            if (write_all(c, buf, size))
                return die("write");
            if (round == 1 && read_all(c, &k, 1))
                return die("read ack");
        }
        if (round == 0 && read_all(c, &k, 1))
            return die("read ack");
        uint64_t el = mono_us() - t0;
        rate[round] = (double)n * 1e6 / (double)el;
        close(c);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("tcp: %ld x %zu octets over loopback: stream %.0f msgs/s (%.1f MB/s); "
           "one at a time with an ack %.0f msgs/s\n",
           n, size, rate[0], rate[0] * (double)size / 1e6, rate[1]);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "capture"))
        return cmd_capture(argv[2], argv[3]);
    if (argc == 7 && !strcmp(argv[1], "submit"))
        return cmd_submit(argv[2], argv[3], atol(argv[4]), atoi(argv[5]), argv[6]);
    if (argc == 4 && !strcmp(argv[1], "tcp"))
        return cmd_tcp(atol(argv[2]), (size_t)atol(argv[3]));
    fprintf(stderr, "usage: tool_common_blast capture SOCK OUT | submit SOCK APDU N CONC OUT | "
                    "tcp N SIZE\n");
    return 2;
}
