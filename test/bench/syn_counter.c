/* syn_counter: counts the TCP SYNs (SYN set, ACK clear) that arrive on one interface, without reading them.

   The health-checker benchmarks (checker_bench.py, test/vm/bench_checker_cpu.py) count the checks a daemon
   performs as the SYNs the real servers' namespace receives: one per check, however the checker sends it (a
   full connect(), a half-open connect or a SYN on a raw socket), plus the rare retransmitted SYN.

   An AF_PACKET socket (SOCK_DGRAM, ETH_P_ALL) bound to the interface, with a classic BPF filter that keeps
   only IPv4 and IPv6 TCP segments (first fragments, no IPv6 extension headers) with SYN set and ACK clear,
   snap length 1, the smallest receive buffer (SO_RCVBUF) and PACKET_IGNORE_OUTGOING. It never reads: once the
   first few SYNs fill the buffer, the kernel counts each further one and drops it right after the filter
   (packet_rcv: drop_n_acct). Every packet the interface receives thus costs one call to packet_rcv and the
   filter's few instructions, a SYN also the drop counters' increments: nothing is cloned, queued or
   woken up. getsockopt(PACKET_STATISTICS) returns tp_packets (accepted by the filter, drops included) and
   tp_drops and resets both: the total is accumulated here.

       syn_counter INTERFACE

   Run it in the interface's namespace. Prints "ready INTERFACE" once the filter is attached, then a line
   "syn TOTAL" for every SIGUSR1 and a last one on SIGTERM or SIGINT, where it ends (stdout, line-buffered).
   Compiled by the scripts that use it with `cc -O2`; not part of vigil's build. */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

/* With SOCK_DGRAM a received packet starts at its network header. Accepted: 1 byte; rejected: 0. */
static struct sock_filter syn_filter[] = {
    /* 0 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL),
    /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 7),
    /* IPv4: protocol TCP, fragment offset 0, TCP flags at 4 * IHL + 13. */
    /* 2 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
    /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 12),
    /* 4 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),
    /* 5 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 10, 0),
    /* 6 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
    /* 7 */ BPF_STMT(BPF_LD | BPF_B | BPF_IND, 13),
    /* 8 */ BPF_JUMP(BPF_JMP | BPF_JA, 4, 0, 0),
    /* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 6),
    /* IPv6: next header TCP, TCP flags at 40 + 13. */
    /* 10 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),
    /* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 4),
    /* 12 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 40 + 13),
    /* SYN (0x02) set, ACK (0x10) clear. */
    /* 13 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),
    /* 14 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),
    /* 15 */ BPF_STMT(BPF_RET | BPF_K, 1),
    /* 16 */ BPF_STMT(BPF_RET | BPF_K, 0),
};

static int read_stats(int fd, unsigned long long* total) {
    struct tpacket_stats st;
    socklen_t len = sizeof st;
    if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) {
        perror("getsockopt PACKET_STATISTICS");
        return -1;
    }
    *total += st.tp_packets; /* drops included; the kernel reset both */
    return 0;
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s INTERFACE\n", argv[0]);
        return 2;
    }
    const unsigned ifindex = if_nametoindex(argv[1]);
    if (ifindex == 0) {
        fprintf(stderr, "interface %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    /* The signals are taken with sigwait only: block them before anything can send one. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Protocol 0: the socket receives nothing until bind hooks it, filter attached, to this interface. */
    const int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("socket AF_PACKET");
        return 1;
    }
    const struct sock_fprog prog = {.len = sizeof syn_filter / sizeof syn_filter[0], .filter = syn_filter};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
        perror("setsockopt SO_ATTACH_FILTER");
        return 1;
    }
    const int rcvbuf = 0; /* the kernel rounds it up to its minimum, SOCK_MIN_RCVBUF */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    const int one = 1;
    if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0) {
        /* Before Linux 4.20: outgoing packets are then cloned for this socket too (never counted: the
           filter sees them, and the server side sends no bare SYN). */
        perror("setsockopt PACKET_IGNORE_OUTGOING (ignored)");
    }
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = (int)ifindex;
    if (bind(fd, (struct sockaddr*)&sll, sizeof sll) != 0) {
        fprintf(stderr, "bind to %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    unsigned long long total = 0;
    if (read_stats(fd, &total) != 0) return 1;
    total = 0; /* whatever passed between bind and now is not part of any window; start from 0 */
    printf("ready %s\n", argv[1]);

    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (read_stats(fd, &total) != 0) return 1;
        printf("syn %llu\n", total);
        if (sig != SIGUSR1) break;
    }
    close(fd);
    return 0;
}
