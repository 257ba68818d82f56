/* accept_listener: many TCP listening sockets on one address, each connection accepted and closed at once.

   The health-checker benchmarks (checker_bench.py, test/vm/bench_checker_cpu.py) point tens of thousands of
   TCP_CHECKs at it. A listener that never accepted would fill its backlog and turn every check into a
   timeout, so this one drains every backlog from one epoll loop (level-triggered, one accept4+close per
   connection, up to 1024 ready sockets per epoll_wait) and counts what it accepted.

       accept_listener ADDRESS FIRST_PORT COUNT [REPORT_INTERVAL_S]

   Binds ADDRESS:FIRST_PORT .. FIRST_PORT+COUNT-1 (IPv4), raises RLIMIT_NOFILE as needed, prints "ready" once
   every socket listens, then every REPORT_INTERVAL_S seconds (default 1) a line
   "accepted TOTAL cpu_ms USER+SYS" on stdout (line-buffered). Ends on SIGTERM or SIGINT. Compiled by the
   scripts that use it with `cc -O2`; not part of vigil's build. */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long cpu_ms(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000L;
}

static int raise_nofile(long wanted) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    if ((long)rl.rlim_cur >= wanted) return 0;
    rl.rlim_cur = (rlim_t)wanted;
    if ((long)rl.rlim_max < wanted) rl.rlim_max = (rlim_t)wanted;
    return setrlimit(RLIMIT_NOFILE, &rl);
}

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s ADDRESS FIRST_PORT COUNT [REPORT_INTERVAL_S]\n", argv[0]);
        return 2;
    }
    struct in_addr addr;
    if (inet_pton(AF_INET, argv[1], &addr) != 1) {
        fprintf(stderr, "bad IPv4 address %s\n", argv[1]);
        return 2;
    }
    const long first = strtol(argv[2], NULL, 10);
    const long count = strtol(argv[3], NULL, 10);
    const double interval = argc > 4 ? strtod(argv[4], NULL) : 1.0;
    if (first < 1 || count < 1 || first + count - 1 > 65535) {
        fprintf(stderr, "ports %ld..%ld out of range\n", first, first + count - 1);
        return 2;
    }
    if (raise_nofile(count + 64) != 0) {
        perror("setrlimit RLIMIT_NOFILE");
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    const int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        perror("epoll_create1");
        return 1;
    }
    for (long i = 0; i < count; ++i) {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            perror("socket");
            return 1;
        }
        const int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_addr = addr;
        sa.sin_port = htons((unsigned short)(first + i));
        if (bind(fd, (struct sockaddr*)&sa, sizeof sa) != 0 || listen(fd, 128) != 0) {
            fprintf(stderr, "bind/listen %s:%ld: %s\n", argv[1], first + i, strerror(errno));
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            perror("epoll_ctl");
            return 1;
        }
    }
    printf("ready %ld\n", count);

    unsigned long long accepted = 0;
    double next_report = now_s() + interval;
    struct epoll_event events[1024];
    while (!stop_requested) {
        const int n = epoll_wait(ep, events, 1024, 100);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; ++i) {
            for (;;) {
                const int c = accept4(events[i].data.fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0) break; /* EAGAIN: backlog drained; anything else: try again on the next event */
                close(c);
                ++accepted;
            }
        }
        const double t = now_s();
        if (t >= next_report) {
            printf("accepted %llu cpu_ms %ld\n", accepted, cpu_ms());
            next_report = t + interval;
        }
    }
    printf("accepted %llu cpu_ms %ld\n", accepted, cpu_ms());
    return 0;
}
