/* listen.h - the TCP listeners of the emulator's server, its replay server
 * and its control channel: one way to open them. */
#ifndef OKT_LISTEN_H
#define OKT_LISTEN_H

/* A non-blocking, close-on-exec TCP listener on host:port (port 0: the
 * kernel picks one), the first address of host that binds. Returns the
 * descriptor with *bound set to the port it got, or -1 with *gai set (a
 * getaddrinfo failure, for gai_strerror) or else *eno (errno of the last
 * try). */
int okt_listen_tcp(const char *host, int port, int backlog, int *bound,
                   int *gai, int *eno);

#endif
