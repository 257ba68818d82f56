// global_defs.

#include <unistd.h>

#include "common/config/sections.hpp"

namespace vigil::common::config {

namespace cfg = vigil::config;

namespace {

std::string arg(const Node& n, size_t i) {
    return i < n.args.size() ? std::string(n.args[i].text) : std::string();
}

#define G_BOOL(field)                                      \
    [](Ctx& c, const Node& n, cfg::GlobalDefs& g) {        \
        if (!want_args(c, n, 0, 1)) return;                \
        if (auto v = bool_arg(c, n, 0)) g.set_##field(*v); \
    }
#define G_STRING(field)                                      \
    [](Ctx& c, const Node& n, cfg::GlobalDefs& g) {          \
        if (want_args(c, n, 1, 1)) g.set_##field(arg(n, 0)); \
    }
#define G_TIMER(field, min, max)                                     \
    [](Ctx& c, const Node& n, cfg::GlobalDefs& g) {                  \
        if (!want_args(c, n, 1, 1)) return;                          \
        if (auto v = timer_ms(c, n, 0, min, max)) g.set_##field(*v); \
    }
#define G_UINT(field, min, max)                                      \
    [](Ctx& c, const Node& n, cfg::GlobalDefs& g) {                  \
        if (!want_args(c, n, 1, 1)) return;                          \
        if (auto v = uint_arg(c, n, 0, min, max)) g.set_##field(*v); \
    }
#define G_ADDRESS(field)                                                  \
    [](Ctx& c, const Node& n, cfg::GlobalDefs& g) {                       \
        if (!want_args(c, n, 1, 1)) return;                               \
        if (auto a = address_arg(c, n, 0, false)) g.set_##field(a->text); \
    }

// keepalived's forms: alone, the whole table is flushed at stop; `VS`, only the virtual servers of the
// config.
void lvs_flush_onstop(Ctx& c, const Node& n, cfg::GlobalDefs& g) {
    if (!want_args(c, n, 0, 1)) return;
    if (n.args.empty()) {
        g.set_lvs_flush_onstop(cfg::LVS_FLUSH_ONSTOP_FULL);
    } else if (n.args[0].text == "VS") {
        g.set_lvs_flush_onstop(cfg::LVS_FLUSH_ONSTOP_VS);
    } else {
        c.error(n.arg_loc(0),
                std::string(n.keyword.text) + " takes no argument or VS; not '" + arg(n, 0) + "'");
    }
}

const HandlerMap<cfg::GlobalDefs>& handlers() {
    static const HandlerMap<cfg::GlobalDefs> m = {
        {"router_id", G_STRING(router_id)},
        {"log_level",
         [](Ctx& c, const Node& n, cfg::GlobalDefs& g) {
             if (!want_args(c, n, 1, 1)) return;
             static constexpr std::string_view kLevels[] = {"trace", "debug", "info",     "warn", "warning",
                                                            "err",   "error", "critical", "off"};
             for (auto l : kLevels) {
                 if (n.args[0].text == l) {
                     g.set_log_level(std::string(l));
                     return;
                 }
             }
             c.error(n.arg_loc(0),
                     "log_level must be one of trace, debug, info, warn, error, critical, off; not '" +
                         arg(n, 0) + "'");
         }},
        {"log_file", G_STRING(log_file)},
        {"log_timestamp",
         [](Ctx& c, const Node& n, cfg::GlobalDefs& g) {
             if (!want_args(c, n, 0, 1)) return;
             if (auto v = bool_arg(c, n, 0)) g.set_log_timestamp(*v);
         }},
        {"notification_email",
         [](Ctx& c, const Node& n, cfg::GlobalDefs& g) {
             if (!want_block(c, n, true)) return;
             for (const auto& e : n.children) g.add_notification_email(std::string(e.keyword.text));
         }},
        {"notification_email_from", G_STRING(notification_email_from)},
        {"smtp_server",
         [](Ctx& c, const Node& n, cfg::GlobalDefs& g) {
             if (!want_args(c, n, 1, 2)) return;
             g.set_smtp_server(arg(n, 0));
             if (n.args.size() == 2)
                 if (auto p = uint_arg(c, n, 1, 1, 65535)) g.set_smtp_server_port(*p);
         }},
        {"smtp_helo_name", G_STRING(smtp_helo_name)},
        {"smtp_connect_timeout", G_TIMER(smtp_connect_timeout_ms, 1, 3600000)},
        {"script_user",
         [](Ctx& c, const Node& n, cfg::GlobalDefs& g) {
             if (!want_args(c, n, 1, 2)) return;
             g.set_script_user(arg(n, 0));
             g.set_script_group(arg(n, 1));
         }},
        {"enable_script_security", G_BOOL(enable_script_security)},
        {"vrrp_strict", G_BOOL(vrrp_strict)},
        {"vrrp_mcast_group4", G_ADDRESS(vrrp_mcast_group4)},
        {"vrrp_mcast_group6", G_ADDRESS(vrrp_mcast_group6)},
        {"vrrp_version", G_UINT(vrrp_version, 2, 3)},
        {"vrrp_garp_master_delay", G_TIMER(vrrp_garp_master_delay_ms, 0, 3600000)},
        {"vrrp_garp_master_repeat", G_UINT(vrrp_garp_master_repeat, 1, 10000)},
        {"vrrp_garp_master_refresh", G_TIMER(vrrp_garp_master_refresh_ms, 0, 86400000)},
        {"vrrp_garp_master_refresh_repeat", G_UINT(vrrp_garp_master_refresh_repeat, 1, 10000)},
        {"vrrp_garp_interval", G_TIMER(vrrp_garp_interval_ms, 0, 1000000)},
        {"vrrp_gna_interval", G_TIMER(vrrp_gna_interval_ms, 0, 1000000)},
        {"vrrp_skip_check_adv_addr", G_BOOL(vrrp_skip_check_adv_addr)},
        {"vrrp_check_unicast_src", G_BOOL(vrrp_check_unicast_src)},
        {"lvs_flush", G_BOOL(lvs_flush)},
        {"lvs_flush_onstop", lvs_flush_onstop},
        {"lvs_flush_on_stop", lvs_flush_onstop},
        {"v3_checksum_as_v2", G_BOOL(v3_checksum_as_v2)},
        {"default_interface", G_STRING(default_interface)},
        {"dynamic_interfaces", G_BOOL(dynamic_interfaces)},
        {"checker_log_all_failures", G_BOOL(checker_log_all_failures)},
        {"smtp_alert", G_BOOL(smtp_alert)},
        {"smtp_alert_vrrp", G_BOOL(smtp_alert_vrrp)},
        {"smtp_alert_checker", G_BOOL(smtp_alert_checker)},
    };
    return m;
}

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return {};
    return buf;
}

}  // namespace

void parse_global_defs(Ctx& ctx, const Node& n) {
    if (!want_args(ctx, n, 0, 0) || !want_block(ctx, n, true)) return;
    auto* g = ctx.config.mutable_global_defs();
    parse_block(ctx, n, Section::kGlobalDefs, *g, handlers(), g->mutable_other());
}

// keepalived's defaults, filled once the whole file is read so that the dump shows what vigil will do.
void fill_global_defaults(cfg::GlobalDefs* g) {
    if (g->router_id().empty()) g->set_router_id(host_name());
    if (g->smtp_server_port() == 0) g->set_smtp_server_port(25);
    if (g->smtp_connect_timeout_ms() == 0) g->set_smtp_connect_timeout_ms(30000);
    if (g->vrrp_mcast_group4().empty()) g->set_vrrp_mcast_group4("224.0.0.18");
    if (g->vrrp_mcast_group6().empty()) g->set_vrrp_mcast_group6("ff02::12");
    if (g->vrrp_version() == 0) g->set_vrrp_version(2);
    if (g->vrrp_garp_master_delay_ms() == 0) g->set_vrrp_garp_master_delay_ms(5000);
    if (g->vrrp_garp_master_repeat() == 0) g->set_vrrp_garp_master_repeat(5);
    if (g->vrrp_garp_master_refresh_repeat() == 0) g->set_vrrp_garp_master_refresh_repeat(1);
}

}  // namespace vigil::common::config
