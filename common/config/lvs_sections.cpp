// The IPVS side of the language: virtual_server_group, virtual_server and its real servers.

#include <set>
#include <tuple>

#include "common/config/sections.hpp"

namespace vigil::common::config {

namespace cfg = vigil::config;

namespace {

std::string arg(const Node& n, size_t i) {
    return i < n.args.size() ? std::string(n.args[i].text) : std::string();
}

std::optional<cfg::LbKind> lb_kind(Ctx& c, const Node& n) {
    if (!want_args(c, n, 1, 1)) return std::nullopt;
    auto t = n.args[0].text;
    if (t == "NAT") return cfg::NAT;
    if (t == "DR") return cfg::DR;
    if (t == "TUN") return cfg::TUN;
    c.error(n.arg_loc(0),
            std::string(n.keyword.text) + " must be NAT, DR or TUN, not '" + std::string(t) + "'");
    return std::nullopt;
}

std::optional<uint32_t> port_arg(Ctx& c, const Node& n, size_t i) {
    return uint_arg(c, n, i, 0, 65535);
}

// ---- real_server ----

#define RS_TIMER(field, min, max)                                         \
    [](Ctx& c, const Node& n, cfg::RealServer& rs) {                      \
        if (want_args(c, n, 1, 1))                                        \
            if (auto v = timer_ms(c, n, 0, min, max)) rs.set_##field(*v); \
    }
#define RS_UINT(field, min, max)                                          \
    [](Ctx& c, const Node& n, cfg::RealServer& rs) {                      \
        if (want_args(c, n, 1, 1))                                        \
            if (auto v = uint_arg(c, n, 0, min, max)) rs.set_##field(*v); \
    }
#define RS_CHECKER [](Ctx& c, const Node& n, cfg::RealServer& rs) { parse_checker(c, n, rs); }
#define RS_NOTIFY(field)                             \
    [](Ctx& c, const Node& n, cfg::RealServer& rs) { \
        if (!want_args(c, n, 1, 1000)) return;       \
        rs.set_##field(join_args(n));                \
        check_script_path(c, n, rs.field());         \
    }

const HandlerMap<cfg::RealServer>& rs_handlers() {
    static const HandlerMap<cfg::RealServer> m = {
        {"weight",
         [](Ctx& c, const Node& n, cfg::RealServer& rs) {
             if (want_args(c, n, 1, 1))
                 if (auto v = int_arg(c, n, 0, 0, 65535)) rs.set_weight(*v);
         }},
        {"lvs_method",
         [](Ctx& c, const Node& n, cfg::RealServer& rs) {
             if (auto k = lb_kind(c, n)) rs.set_lb_kind(*k);
         }},
        {"lb_kind",
         [](Ctx& c, const Node& n, cfg::RealServer& rs) {
             if (auto k = lb_kind(c, n)) rs.set_lb_kind(*k);
         }},
        {"uthreshold", RS_UINT(uthreshold, 0, 0x7fffffff)},
        {"lthreshold", RS_UINT(lthreshold, 0, 0x7fffffff)},
        {"inhibit_on_failure",
         [](Ctx& c, const Node& n, cfg::RealServer& rs) {
             if (auto v = bool_arg(c, n, 0)) rs.set_inhibit_on_failure(*v);
         }},
        {"notify_up", RS_NOTIFY(notify_up)},
        {"notify_down", RS_NOTIFY(notify_down)},
        {"alpha",
         [](Ctx& c, const Node& n, cfg::RealServer& rs) {
             if (auto v = bool_arg(c, n, 0)) rs.set_alpha(*v);
         }},
        {"retry", RS_UINT(retry, 0, 1000000)},
        {"delay_before_retry", RS_TIMER(delay_before_retry_ms, 0, 86400000)},
        {"warmup", RS_TIMER(warmup_ms, 0, 86400000)},
        {"connect_timeout", RS_TIMER(connect_timeout_ms, 1, 86400000)},
        {"delay_loop", RS_TIMER(delay_loop_ms, 1, 86400000)},
        {"rise", RS_UINT(rise, 1, 1000000)},
        {"delay_loop_fast", RS_TIMER(delay_loop_fast_ms, 1, 86400000)},
        {"delay_loop_down", RS_TIMER(delay_loop_down_ms, 1, 86400000)},
        {"smtp_alert",
         [](Ctx& c, const Node& n, cfg::RealServer& rs) {
             if (auto v = bool_arg(c, n, 0)) rs.set_smtp_alert(*v);
         }},
        {"virtualhost",
         [](Ctx& c, const Node& n, cfg::RealServer& rs) {
             if (want_args(c, n, 1, 1)) rs.set_virtualhost(arg(n, 0));
         }},
        {"TCP_CHECK", RS_CHECKER},
        {"HTTP_GET", RS_CHECKER},
        {"SSL_GET", RS_CHECKER},
        {"MISC_CHECK", RS_CHECKER},
        {"PING_CHECK", RS_CHECKER},
        {"UDP_CHECK", RS_CHECKER},
        {"DNS_CHECK", RS_CHECKER},
        {"SMTP_CHECK", RS_CHECKER},
        {"FILE_CHECK", RS_CHECKER},
        {"BFD_CHECK", RS_CHECKER},
    };
    return m;
}

void real_server(Ctx& ctx, const Node& n, cfg::VirtualServer& vs) {
    bool fwmark = vs.fwmark() != 0;
    if (!want_args(ctx, n, 1, 2)) return;
    auto a = address_arg(ctx, n, 0, false);
    if (!a) return;
    uint32_t port = 0;
    if (n.args.size() == 2) {
        auto p = port_arg(ctx, n, 1);
        if (!p) return;
        port = *p;
    } else if (!fwmark) {
        ctx.error(n.loc(),
                  "real_server " + a->text + " needs a port (only a fwmark virtual server omits it)");
        return;
    }
    auto* rs = vs.add_real_server();
    rs->set_address(a->text);
    rs->set_port(port);
    rs->set_family(a->family);
    rs->set_weight(1);
    rs->set_rise(1);
    ctx.set_location(rs->mutable_location(), n);
    if (n.has_block) parse_block(ctx, n, Section::kRealServer, *rs, rs_handlers(), rs->mutable_other());
}

// ---- virtual_server ----

#define VS_TIMER(field, min, max)                                         \
    [](Ctx& c, const Node& n, cfg::VirtualServer& vs) {                   \
        if (want_args(c, n, 1, 1))                                        \
            if (auto v = timer_ms(c, n, 0, min, max)) vs.set_##field(*v); \
    }
#define VS_UINT(field, min, max)                                          \
    [](Ctx& c, const Node& n, cfg::VirtualServer& vs) {                   \
        if (want_args(c, n, 1, 1))                                        \
            if (auto v = uint_arg(c, n, 0, min, max)) vs.set_##field(*v); \
    }
#define VS_BOOL(field)                                          \
    [](Ctx& c, const Node& n, cfg::VirtualServer& vs) {         \
        if (want_args(c, n, 0, 1))                              \
            if (auto v = bool_arg(c, n, 0)) vs.set_##field(*v); \
    }
#define VS_FLAG \
    [](Ctx&, const Node& n, cfg::VirtualServer& vs) { vs.add_lb_flags(std::string(n.keyword.text)); }
#define VS_SCRIPT(field)                                \
    [](Ctx& c, const Node& n, cfg::VirtualServer& vs) { \
        if (!want_args(c, n, 1, 1000)) return;          \
        vs.set_##field(join_args(n));                   \
        check_script_path(c, n, vs.field());            \
    }

void scheduler(Ctx& c, const Node& n, cfg::VirtualServer& vs) {
    if (!want_args(c, n, 1, 1)) return;
    static constexpr std::string_view kSchedulers[] = {"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh",
                                                       "sh", "sed", "nq", "fo",  "ovf",  "mh",    "twos"};
    for (auto s : kSchedulers) {
        if (n.args[0].text == s) {
            vs.set_lb_algo(std::string(s));
            return;
        }
    }
    c.error(n.arg_loc(0), "unknown IPVS scheduler '" + arg(n, 0) +
                              "' (rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos)");
}

const HandlerMap<cfg::VirtualServer>& vs_handlers() {
    static const HandlerMap<cfg::VirtualServer> m = {
        {"delay_loop", VS_TIMER(delay_loop_ms, 1, 86400000)},
        {"lb_algo", scheduler},
        {"lvs_sched", scheduler},
        {"lb_kind",
         [](Ctx& c, const Node& n, cfg::VirtualServer& vs) {
             if (auto k = lb_kind(c, n)) vs.set_lb_kind(*k);
         }},
        {"lvs_method",
         [](Ctx& c, const Node& n, cfg::VirtualServer& vs) {
             if (auto k = lb_kind(c, n)) vs.set_lb_kind(*k);
         }},
        {"persistence_timeout",
         [](Ctx& c, const Node& n, cfg::VirtualServer& vs) {
             if (!want_args(c, n, 0, 1)) return;
             if (n.args.empty()) {
                 vs.set_persistence_timeout_s(360);
             } else if (auto v = uint_arg(c, n, 0, 1, 0x7fffffff)) {
                 vs.set_persistence_timeout_s(*v);
             }
         }},
        {"persistence_granularity",
         [](Ctx& c, const Node& n, cfg::VirtualServer& vs) {
             if (!want_args(c, n, 1, 1)) return;
             auto t = n.args[0].text;
             // An IPv4 netmask, or an IPv6 prefix length.
             if (auto a = parse_address(t, false, nullptr)) {
                 vs.set_persistence_granularity(a->text);
             } else if (auto p = uint_arg(c, n, 0, 1, 128)) {
                 vs.set_persistence_granularity(std::to_string(*p));
             }
         }},
        {"persistence_engine",
         [](Ctx& c, const Node& n, cfg::VirtualServer& vs) {
             if (!want_args(c, n, 1, 1)) return;
             // The kernel holds the name in IP_VS_PENAME_MAXLEN (16) bytes and refuses a longer one;
             // keepalived cuts it short without a word.
             if (n.args[0].text.size() > 15) {
                 c.error(n.arg_loc(0), "persistence_engine name '" + arg(n, 0) +
                                           "' is longer than the kernel's 15 characters");
                 return;
             }
             vs.set_persistence_engine(arg(n, 0));
         }},
        {"protocol",
         [](Ctx& c, const Node& n, cfg::VirtualServer& vs) {
             if (!want_args(c, n, 1, 1)) return;
             auto t = n.args[0].text;
             if (t == "TCP")
                 vs.set_protocol(cfg::TCP);
             else if (t == "UDP")
                 vs.set_protocol(cfg::UDP);
             else if (t == "SCTP")
                 vs.set_protocol(cfg::SCTP);
             else
                 c.error(n.arg_loc(0), "protocol must be TCP, UDP or SCTP, not '" + std::string(t) + "'");
         }},
        {"ha_suspend", VS_BOOL(ha_suspend)},
        {"alpha", VS_BOOL(alpha)},
        {"omega", VS_BOOL(omega)},
        {"ops", VS_BOOL(ops)},
        {"inhibit_on_failure", VS_BOOL(inhibit_on_failure)},
        {"smtp_alert", VS_BOOL(smtp_alert)},
        {"quorum", VS_UINT(quorum, 1, 0x7fffffff)},
        {"hysteresis", VS_UINT(hysteresis, 0, 0x7fffffff)},
        {"quorum_up", VS_SCRIPT(quorum_up)},
        {"quorum_down", VS_SCRIPT(quorum_down)},
        {"sorry_server",
         [](Ctx& c, const Node& n, cfg::VirtualServer& vs) {
             if (!want_args(c, n, 1, 2)) return;
             auto a = address_arg(c, n, 0, false);
             if (!a) return;
             auto* s = vs.mutable_sorry_server();
             s->set_address(a->text);
             s->set_family(a->family);
             if (n.args.size() == 2)
                 if (auto p = port_arg(c, n, 1)) s->set_port(*p);
         }},
        {"sorry_server_inhibit",
         [](Ctx& c, const Node& n, cfg::VirtualServer& vs) {
             if (auto v = bool_arg(c, n, 0)) vs.mutable_sorry_server()->set_inhibit(*v);
         }},
        {"sorry_server_lvs_method",
         [](Ctx& c, const Node& n, cfg::VirtualServer& vs) {
             if (auto k = lb_kind(c, n)) vs.mutable_sorry_server()->set_lb_kind(*k);
         }},
        {"real_server", real_server},
        {"hashed", VS_FLAG},
        {"flag-1", VS_FLAG},
        {"flag-2", VS_FLAG},
        {"flag-3", VS_FLAG},
        {"sh-port", VS_FLAG},
        {"sh-fallback", VS_FLAG},
        {"mh-port", VS_FLAG},
        {"mh-fallback", VS_FLAG},
        {"retry", VS_UINT(retry, 0, 1000000)},
        {"delay_before_retry", VS_TIMER(delay_before_retry_ms, 0, 86400000)},
        {"warmup", VS_TIMER(warmup_ms, 0, 86400000)},
        {"connect_timeout", VS_TIMER(connect_timeout_ms, 1, 86400000)},
        {"virtualhost",
         [](Ctx& c, const Node& n, cfg::VirtualServer& vs) {
             if (want_args(c, n, 1, 1)) vs.set_virtualhost(arg(n, 0));
         }},
        {"weight",
         [](Ctx& c, const Node& n, cfg::VirtualServer& vs) {
             if (want_args(c, n, 1, 1))
                 if (auto v = int_arg(c, n, 0, 0, 65535)) vs.set_weight(*v);
         }},
        {"ip_family",
         [](Ctx& c, const Node& n, cfg::VirtualServer& vs) {
             if (!want_args(c, n, 1, 1)) return;
             if (n.args[0].text == "inet")
                 vs.set_ip_family(cfg::INET);
             else if (n.args[0].text == "inet6")
                 vs.set_ip_family(cfg::INET6);
             else
                 c.error(n.arg_loc(0), "ip_family must be inet or inet6, not '" + arg(n, 0) + "'");
         }},
        {"check_script",
         [](Ctx& c, const Node& n, cfg::VirtualServer& vs) {
             if (!want_block(c, n, true)) return;
             c.warning(n.loc(),
                       "'check_script { ... }' inside virtual_server is a guide habit, not keepalived: "
                       "vigil runs the named vrrp_script(s) as a check of every real server");
             for (const auto& e : n.children) {
                 vs.add_check_script(std::string(e.keyword.text));
                 c.refer(NameKind::kScript, e.keyword.text, e.loc());
                 for (size_t i = 0; i < e.args.size(); ++i) {
                     vs.add_check_script(std::string(e.args[i].text));
                     c.refer(NameKind::kScript, e.args[i].text, e.arg_loc(i));
                 }
             }
         }},
    };
    return m;
}

// Fills what a checker inherits from its real server and virtual server, then keepalived's defaults.
void inherit_defaults(cfg::VirtualServer& vs) {
    for (auto& rs : *vs.mutable_real_server()) {
        if (rs.delay_loop_ms() == 0) rs.set_delay_loop_ms(vs.delay_loop_ms());
        if (!rs.has_inhibit_on_failure()) rs.set_inhibit_on_failure(vs.inhibit_on_failure());
        if (!rs.has_alpha()) rs.set_alpha(vs.alpha());
        auto pick = [](uint32_t own, uint32_t a, uint32_t b, uint32_t dflt) {
            return own ? own : a ? a : b ? b : dflt;
        };
        for (auto& ch : *rs.mutable_checkers()) {
            cfg::CheckCommon* c = nullptr;
            switch (ch.kind_case()) {
                case cfg::Checker::kTcpCheck:
                    c = ch.mutable_tcp_check()->mutable_common();
                    break;
                case cfg::Checker::kHttpGet:
                    c = ch.mutable_http_get()->mutable_common();
                    break;
                case cfg::Checker::kSslGet:
                    c = ch.mutable_ssl_get()->mutable_common();
                    break;
                case cfg::Checker::kMiscCheck:
                    c = ch.mutable_misc_check()->mutable_common();
                    break;
                case cfg::Checker::kPingCheck:
                    c = ch.mutable_ping_check()->mutable_common();
                    break;
                case cfg::Checker::kUdpCheck:
                    c = ch.mutable_udp_check()->mutable_common();
                    break;
                case cfg::Checker::kDnsCheck:
                    c = ch.mutable_dns_check()->mutable_common();
                    break;
                case cfg::Checker::kSmtpCheck:
                    c = ch.mutable_smtp_check()->mutable_common();
                    break;
                case cfg::Checker::kFileCheck:
                    c = ch.mutable_file_check()->mutable_common();
                    break;
                case cfg::Checker::kBfdCheck:
                    c = ch.mutable_bfd_check()->mutable_common();
                    break;
                default:
                    break;
            }
            if (!c) continue;
            c->set_connect_timeout_ms(
                pick(c->connect_timeout_ms(), rs.connect_timeout_ms(), vs.connect_timeout_ms(), 5000));
            c->set_delay_loop_ms(pick(c->delay_loop_ms(), rs.delay_loop_ms(), vs.delay_loop_ms(), 60000));
            // retry, delay_before_retry and warmup: the checker's own, its real server's, its virtual
            // server's, then keepalived's default for this type of check (keepalived.conf(5)).
            const bool http =
                ch.kind_case() == cfg::Checker::kHttpGet || ch.kind_case() == cfg::Checker::kSslGet;
            const bool dns = ch.kind_case() == cfg::Checker::kDnsCheck;
            const bool misc = ch.kind_case() == cfg::Checker::kMiscCheck;
            if (!c->has_retry())
                c->set_retry(rs.has_retry()   ? rs.retry()
                             : vs.has_retry() ? vs.retry()
                             : dns            ? 3
                             : misc           ? 0
                                              : 1);
            if (!c->has_delay_before_retry_ms())
                c->set_delay_before_retry_ms(rs.has_delay_before_retry_ms()   ? rs.delay_before_retry_ms()
                                             : vs.has_delay_before_retry_ms() ? vs.delay_before_retry_ms()
                                             : http                           ? 3000
                                             : dns                            ? c->delay_loop_ms()
                                                                              : 1000);
            // Left unset when nobody sets it: the first check is then spread over delay_loop.
            if (!c->has_warmup_ms()) {
                if (rs.has_warmup_ms())
                    c->set_warmup_ms(rs.warmup_ms());
                else if (vs.has_warmup_ms())
                    c->set_warmup_ms(vs.warmup_ms());
            }
            if (!c->alpha()) c->set_alpha(rs.alpha());
            if (c->connect_port() == 0 && ch.kind_case() != cfg::Checker::kMiscCheck)
                c->set_connect_port(rs.port());
        }
    }
}

}  // namespace

void parse_virtual_server(Ctx& ctx, const Node& n) {
    if (!want_block(ctx, n, true) || !want_args(ctx, n, 1, 2)) return;
    auto* vs = ctx.config.add_virtual_server();
    ctx.set_location(vs->mutable_location(), n);
    vs->set_protocol(cfg::TCP);
    vs->set_lb_algo("wlc");
    vs->set_lb_kind(cfg::NAT);
    vs->set_delay_loop_ms(60000);
    vs->set_quorum(1);
    auto first = n.args[0].text;
    if (first == "fwmark" || first == "group") {
        if (!want_args(ctx, n, 2, 2)) return;
        if (first == "fwmark") {
            auto m = uint_arg(ctx, n, 1, 1, 0xffffffffu);
            if (!m) return;
            vs->set_fwmark(*m);
        } else {
            vs->set_group(arg(n, 1));
            ctx.refer(NameKind::kVsGroup, n.args[1].text, n.arg_loc(1));
        }
    } else {
        auto a = address_arg(ctx, n, 0, false);
        if (!a) return;
        if (n.args.size() != 2) {
            ctx.error(n.loc(),
                      "virtual_server " + a->text + " needs a port (or write 'virtual_server fwmark N')");
            return;
        }
        auto p = port_arg(ctx, n, 1);
        if (!p) return;
        vs->set_address(a->text);
        vs->set_port(*p);
        vs->set_family(a->family);
    }
    parse_block(ctx, n, Section::kVirtualServer, *vs, vs_handlers(), vs->mutable_other());
    // Duplicate real servers: the same address and port twice in one virtual server.
    std::set<std::pair<std::string, std::string_view>> seen;
    for (const auto& c : n.children) {
        if (c.keyword.text != "real_server" || c.args.empty()) continue;
        auto a = parse_address(c.args[0].text, false, nullptr);
        if (!a) continue;
        std::string_view port = c.args.size() > 1 ? c.args[1].text : std::string_view();
        if (!seen.emplace(a->text, port).second) {
            ctx.error(c.loc(), "real_server " + a->text + " " + std::string(port) +
                                   " is listed twice in this virtual_server");
        }
    }
    if (vs->family() == cfg::FAMILY_UNSPECIFIED) vs->set_family(vs->ip_family());
    inherit_defaults(*vs);
}

void parse_virtual_server_group(Ctx& ctx, const Node& n) {
    if (!want_args(ctx, n, 1, 1) || !want_block(ctx, n, true)) return;
    if (!ctx.define(NameKind::kVsGroup, n.args[0].text, n.arg_loc(0), "virtual_server_group")) return;
    auto* g = ctx.config.add_virtual_server_group();
    g->set_name(arg(n, 0));
    ctx.set_location(g->mutable_location(), n);
    for (const auto& e : n.children) {
        if (!want_block(ctx, e, false)) continue;
        cfg::VirtualServerGroupEntry entry;
        ctx.set_location(entry.mutable_location(), e);
        if (e.keyword.text == "fwmark") {
            if (!want_args(ctx, e, 1, 1)) continue;
            auto m = uint_arg(ctx, e, 0, 1, 0xffffffffu);
            if (!m) continue;
            entry.set_fwmark(*m);
        } else {
            if (!want_args(ctx, e, 1, 1)) continue;
            std::string text(e.keyword.text);
            uint32_t range_end = 0;
            // `A.B.C.D-E` (or an IPv6 address ending in `-E` hex): a range of the last part.
            auto dash = text.rfind('-');
            if (dash != std::string::npos) {
                auto tail = text.substr(dash + 1);
                bool v6 = text.find(':') != std::string::npos;
                char* end = nullptr;
                unsigned long v = std::strtoul(tail.c_str(), &end, v6 ? 16 : 10);
                if (tail.empty() || *end != '\0' || v > (v6 ? 0xffffu : 255u)) {
                    ctx.error(e.loc(), "'" + tail + "' is not a valid end of an address range");
                    continue;
                }
                range_end = static_cast<uint32_t>(v);
                text.resize(dash);
            }
            std::string why;
            auto a = parse_address(text, true, &why);
            if (!a) {
                ctx.error(e.loc(), why);
                continue;
            }
            auto p = port_arg(ctx, e, 0);
            if (!p) continue;
            entry.set_address(a->text);
            entry.set_family(a->family);
            entry.set_range_end(range_end);
            if (a->has_prefix) entry.set_prefix(a->prefix);
            entry.set_port(*p);
        }
        *g->add_entries() = std::move(entry);
    }
}

}  // namespace vigil::common::config
