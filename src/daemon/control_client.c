/* control_client.c - the CLI side of the control socket: one request, the whole reply */
#include "daemon.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int ox_control_request(const char *path, const char *request, char *reply, size_t cap)
{
    return ox_control_request_wait(path, request, reply, cap, 30000);
}

int ox_control_request_wait(const char *path, const char *request, char *reply, size_t cap,
                            int timeout_ms)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return OX_E_ARG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return OX_E_IO;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return OX_E_IO;
    }
    size_t n = strlen(request);
    if (write(fd, request, n) != (ssize_t)n || write(fd, "\n", 1) != 1) {
        close(fd);
        return OX_E_IO;
    }
    size_t len = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            break;
        if (len + 1 >= cap)
            break;
        ssize_t r = read(fd, reply + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    reply[len] = '\0';
    close(fd);
    return len ? 0 : OX_E_IO;
}
