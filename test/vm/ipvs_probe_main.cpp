// vigil-ipvs-probe: drives vigil's IPVS backend alone, for the vm tests and the programming benchmark.
//
// status: available, or unavailable and the kernel's reason (exit 0 / 1).
// sync FILE [--flush] [--previous OLD]: makes the kernel's table equal FILE's and prints what it did;
//     OLD is a previous config whose entries are owned too (a reload).
// race FILE: applies FILE's entries as if the kernel were empty (every NEW meets EEXIST when they are there);
//     prints sent, succeeded, raced, failed.
// keep FIRST SECOND: IpvsKeeper on an Asio loop, FIRST's table then SECOND's.
// wait-available FILE SECONDS: IpvsKeeper retrying until IPVS appears and FILE's table is in step.
// dump: the kernel's table as vigil reads it.
// bench SERVICES DESTS [FIRST]: programs SERVICES x DESTS (services numbered from FIRST); prints the time.
//
// FILE holds one entry a line (# comments):
//   service tcp|udp|sctp ADDRESS PORT SCHEDULER [persistent SECONDS] [granularity MASK] [ops] [pe NAME]
//   service fwmark MARK [ipv6] SCHEDULER [persistent SECONDS] [ops]
//   dest ADDRESS PORT masq|route|tunnel WEIGHT [uthreshold N] [lthreshold N]   (for the service above)
// Every service and destination of the file is owned: the kernel's others are left alone.

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <asio/io_context.hpp>

#include "checker_child/ipvs_backend.hpp"
#include "checker_child/ipvs_keeper.hpp"

using namespace vigil::check;

namespace {

Result<IpvsTable> fail(int line, const std::string& why) {
    return Result<IpvsTable>::failure("line " + std::to_string(line) + ": " + why);
}

// Reads the optional trailing words of a service line.
bool service_options(std::istringstream& in, Service& s, std::string& error) {
    std::string word;
    while (in >> word) {
        if (word == "persistent") {
            s.flags |= kSvcFlagPersistent;
            if (!(in >> s.timeout)) return error = "persistent needs seconds", false;
        } else if (word == "granularity") {
            std::string mask;
            in >> mask;
            if (s.key.family == AF_INET6) {
                s.netmask = static_cast<std::uint32_t>(std::stoul(mask));
            } else {
                in_addr a{};
                if (inet_pton(AF_INET, mask.c_str(), &a) != 1)
                    return error = "bad granularity " + mask, false;
                s.netmask = ntohl(a.s_addr);
            }
        } else if (word == "ops") {
            s.flags |= kSvcFlagOnePacket;
        } else if (word == "pe") {
            if (!(in >> s.pe_name)) return error = "pe needs a persistence engine's name", false;
        } else {
            return error = "unknown service option " + word, false;
        }
    }
    return true;
}

Result<Service> parse_service_line(std::istringstream& in) {
    using R = Result<Service>;
    Service s;
    std::string proto;
    in >> proto;
    static const std::map<std::string, std::uint16_t> kProtocols{
        {"tcp", IPPROTO_TCP}, {"udp", IPPROTO_UDP}, {"sctp", IPPROTO_SCTP}};
    if (proto == "fwmark") {
        if (!(in >> s.key.fwmark) || s.key.fwmark == 0) return R::failure("fwmark needs a non-zero mark");
        std::string next;
        in >> next;
        if (next == "ipv6") {
            s.key.family = AF_INET6;
            s.netmask = 128;
            in >> next;
        }
        s.key.address.family = s.key.family;
        s.scheduler = next;
    } else if (auto it = kProtocols.find(proto); it != kProtocols.end()) {
        std::string address;
        s.key.protocol = it->second;
        if (!(in >> address >> s.key.port >> s.scheduler))
            return R::failure("service needs ADDRESS PORT SCHEDULER");
        auto ip = parse_ip(address);
        if (!ip) return R::failure("bad address " + address);
        s.key.address = *ip;
        s.key.family = ip->family;
        if (s.key.family == AF_INET6) s.netmask = 128;
    } else {
        return R::failure("unknown protocol " + proto);
    }
    if (s.scheduler.empty()) return R::failure("service needs a scheduler");
    std::string error;
    if (!service_options(in, s, error)) return R::failure(error);
    return s;
}

Result<Dest> parse_dest_line(std::istringstream& in) {
    using R = Result<Dest>;
    Dest d;
    std::string address, method;
    if (!(in >> address >> d.key.port >> method >> d.weight))
        return R::failure("dest needs ADDRESS PORT METHOD WEIGHT");
    auto ip = parse_ip(address);
    if (!ip) return R::failure("bad address " + address);
    d.key.address = *ip;
    static const std::map<std::string, Forward> kMethods{
        {"masq", Forward::kMasq}, {"nat", Forward::kMasq},      {"route", Forward::kDirect},
        {"dr", Forward::kDirect}, {"tunnel", Forward::kTunnel}, {"tun", Forward::kTunnel}};
    auto it = kMethods.find(method);
    if (it == kMethods.end()) return R::failure("unknown forwarding method " + method);
    d.forward = it->second;
    std::string word;
    while (in >> word) {
        if (word == "uthreshold")
            in >> d.upper_threshold;
        else if (word == "lthreshold")
            in >> d.lower_threshold;
        else
            return R::failure("unknown dest option " + word);
    }
    return d;
}

Result<IpvsTable> parse_spec(std::istream& in) {
    IpvsTable table;
    std::string text;
    int line = 0;
    std::optional<ServiceKey> current;
    while (std::getline(in, text)) {
        ++line;
        if (auto hash = text.find('#'); hash != std::string::npos) text.resize(hash);
        std::istringstream words(text);
        std::string kind;
        if (!(words >> kind)) continue;
        if (kind == "service") {
            auto s = parse_service_line(words);
            if (!s) return fail(line, s.reason());
            table.put_service(*s);
            current = s->key;
        } else if (kind == "dest") {
            if (!current) return fail(line, "dest before any service");
            auto d = parse_dest_line(words);
            if (!d) return fail(line, d.reason());
            table.put_dest(*current, *d);
        } else {
            return fail(line, "unknown entry " + kind);
        }
    }
    return table;
}

Result<IpvsTable> read_spec(const std::string& path) {
    std::ifstream file(path);
    if (!file) return Result<IpvsTable>::failure("cannot read " + path);
    auto spec = parse_spec(file);
    if (!spec) return Result<IpvsTable>::failure(path + ": " + spec.reason());
    return spec;
}

// SERVICES services 10.S.S.S:80 (TCP, wrr) numbered from FIRST, each with DESTS destinations 172.16.D.D:80
// weight 1 + D % 5.
IpvsTable bench_table(unsigned services, unsigned dests, unsigned first) {
    IpvsTable table;
    for (unsigned i = first; i < first + services; ++i) {
        Service s;
        s.key.protocol = IPPROTO_TCP;
        s.key.address.bytes = {10, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
                               static_cast<std::uint8_t>(i)};
        s.key.port = 80;
        s.scheduler = "wrr";
        table.put_service(s);
        for (unsigned j = 0; j < dests; ++j) {
            Dest d;
            d.key.address.bytes = {172, 16, static_cast<std::uint8_t>(j >> 8),
                                   static_cast<std::uint8_t>(j + 1)};
            d.key.port = 80;
            d.weight = 1 + j % 5;
            table.put_dest(s.key, d);
        }
    }
    return table;
}

void print_sync(const SyncReport& r, double ms) {
    std::map<std::string, int> by_kind;
    for (const IpvsOp& op : r.first_ops) by_kind[to_string(op).substr(0, to_string(op).find(' '))]++;
    std::cout << "ok=" << (r.ok ? 1 : 0) << " ops=" << r.first_ops.size() << " total_ops=" << r.operations
              << " rounds=" << r.rounds << " sendmsg=" << r.last_apply.sendmsg_calls
              << " raced=" << r.last_apply.raced << " failed=" << r.last_apply.failed.size() << " ms=" << ms;
    for (const auto& [kind, n] : by_kind) std::cout << " " << kind << "=" << n;
    std::cout << "\n";
    for (const IpvsOp& op : r.first_ops) std::cout << "op " << to_string(op) << "\n";
    if (!r.ok) std::cout << "error " << r.error << "\n";
}

// Drives IpvsKeeper on an Asio loop: FIRST's table, then SECOND's; prints each sync's operations.
int keep(const std::string& first, const std::string& second) {
    auto a = read_spec(first);
    auto b = read_spec(second);
    if (!a || !b) return std::cerr << (a ? b.reason() : a.reason()) << "\n", 1;
    asio::io_context io;
    IpvsKeeper keeper(io, IpvsKeeper::Options{});
    int syncs = 0;
    keeper.on_synced([&](const SyncReport& r) {
        ++syncs;
        std::cout << "keep sync=" << syncs << " ok=" << (r.ok ? 1 : 0) << " ops=" << r.first_ops.size()
                  << "\n";
        for (const IpvsOp& op : r.first_ops) std::cout << "op " << to_string(op) << "\n";
        if (!r.ok) std::cout << "error " << r.error << "\n";
        if (syncs == 1) {
            Ownership owned;
            owned.add(*a);
            owned.add(*b);
            keeper.set_desired(*b, owned);
        } else {
            keeper.stop();
        }
    });
    Ownership owned;
    owned.add(*a);
    keeper.set_desired(*a, owned);
    io.run_for(std::chrono::seconds(30));
    return keeper.in_sync() ? 0 : 1;
}

// IpvsKeeper with FILE's table on a kernel where IPVS may appear later: retries every 200 ms (doubling) until
// the table is in step or SECONDS pass; prints each attempt.
int wait_available(const std::string& path, int seconds) {
    auto spec = read_spec(path);
    if (!spec) return std::cerr << spec.reason() << "\n", 1;
    asio::io_context io;
    IpvsKeeper::Options options;
    options.retry_base = std::chrono::milliseconds(200);
    IpvsKeeper keeper(io, options);
    int attempts = 0;
    keeper.on_synced([&](const SyncReport& r) {
        ++attempts;
        std::cout << "attempt=" << attempts << " ok=" << (r.ok ? 1 : 0) << " ops=" << r.first_ops.size()
                  << " available=" << (keeper.status().available ? 1 : 0)
                  << " reason=" << keeper.status().reason << "\n";
        if (r.ok) keeper.stop();
    });
    Ownership owned;
    owned.add(*spec);
    keeper.set_desired(*spec, owned);
    io.run_for(std::chrono::seconds(seconds));
    return keeper.in_sync() ? 0 : 1;
}

int usage() {
    std::cerr << "usage: vigil-ipvs-probe status | sync FILE [--flush] [--previous OLD] | race FILE | keep "
                 "FIRST SECOND | dump | "
                 "bench SERVICES DESTS [FIRST]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    // The results go to stdout, the backend's log lines to stderr.
    spdlog::set_default_logger(spdlog::stderr_color_st("ipvs-probe"));
    std::string cmd = argv[1];
    IpvsBackend::Options backend_options;
    // VIGIL_IPVS_BATCH: commands per sendmsg, to measure what batching buys.
    if (const char* batch = std::getenv("VIGIL_IPVS_BATCH"))
        backend_options.batch = std::max(1ul, std::stoul(batch));
    // VIGIL_IPVS_ACK_EACH=1: NLM_F_ACK on every command instead of the last of each batch.
    backend_options.ack_every_command = std::getenv("VIGIL_IPVS_ACK_EACH") != nullptr;
    IpvsBackend backend(backend_options);
    if (cmd == "status") {
        bool up = backend.open();
        std::cout << (up ? "available" : "unavailable: " + backend.status().reason) << "\n";
        return up ? 0 : 1;
    }
    if (cmd == "keep" && argc >= 4) return keep(argv[2], argv[3]);
    if (cmd == "wait-available" && argc >= 4) return wait_available(argv[2], std::stoi(argv[3]));
    if (cmd == "dump") {
        if (!backend.open()) return std::cerr << backend.status().reason << "\n", 1;
        auto table = backend.read_table();
        if (!table) return std::cerr << table.reason() << "\n", 1;
        std::cout << to_ipvsadm_text(*table);
        return 0;
    }
    IpvsTable desired;
    ReconcileOptions options;
    Ownership owned;
    if ((cmd == "sync" || cmd == "race") && argc >= 3) {
        auto spec = read_spec(argv[2]);
        if (!spec) return std::cerr << spec.reason() << "\n", 1;
        desired = *spec;
        for (int i = 3; i < argc; ++i) {
            std::string arg = argv[i];
            if (arg == "--flush") {
                options.flush = true;
            } else if (arg == "--previous" && i + 1 < argc) {
                auto previous = read_spec(argv[++i]);
                if (!previous) return std::cerr << previous.reason() << "\n", 1;
                owned.add(*previous);
            } else {
                return usage();
            }
        }
    } else if (cmd == "bench" && argc >= 4) {
        desired = bench_table(static_cast<unsigned>(std::stoul(argv[2])),
                              static_cast<unsigned>(std::stoul(argv[3])),
                              argc >= 5 ? static_cast<unsigned>(std::stoul(argv[4])) : 0);
    } else {
        return usage();
    }
    owned.add(desired);
    if (cmd == "race") {
        if (!backend.open()) return std::cerr << backend.status().reason << "\n", 1;
        ApplyReport r = backend.apply(reconcile(desired, IpvsTable{}, owned));
        std::cout << "sent=" << r.sent << " succeeded=" << r.succeeded << " raced=" << r.raced
                  << " failed=" << r.failed.size() << " sendmsg=" << r.sendmsg_calls << "\n";
        for (const auto& [op, err] : r.races)
            std::cout << "race " << to_string(op) << ": " << std::strerror(err) << "\n";
        return r.transport_error.empty() ? 0 : 1;
    }
    auto start = std::chrono::steady_clock::now();
    SyncReport report = backend.sync(desired, owned, options);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (cmd == "bench") {
        std::cout << "bench services=" << desired.services.size() << " dests=" << desired.dest_count()
                  << " ops=" << report.operations << " sendmsg=" << report.last_apply.sendmsg_calls
                  << " ms=" << ms << " ok=" << (report.ok ? 1 : 0) << "\n";
        if (!report.ok) std::cout << "error " << report.error << "\n";
    } else {
        print_sync(report, ms);
    }
    return report.ok ? 0 : 1;
}
