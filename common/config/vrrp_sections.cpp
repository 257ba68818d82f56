// The VRRP side of the language: vrrp_script, track_file, vrrp_instance, vrrp_sync_group.

#include <net/if.h>
#include <unistd.h>

#include "common/config/sections.hpp"

namespace vigil::common::config {

namespace cfg = vigil::config;

void check_script_path(Ctx& ctx, const Node& n, const std::string& command) {
    auto end = command.find(' ');
    std::string program = command.substr(0, end);
    if (program.empty() || program[0] != '/') return;  // resolved through PATH at run time
    if (::access(program.c_str(), X_OK) == 0) return;
    ctx.reporter.report(ctx.options.check_host, n.arg_loc(0),
                        "script '" + program + "' does not exist or is not executable on this host");
}

void check_interface(Ctx& ctx, const Node& n, size_t arg) {
    if (arg >= n.args.size()) return;
    std::string name(n.args[arg].text);
    if (::if_nametoindex(name.c_str()) != 0) return;
    ctx.reporter.report(ctx.options.check_host, n.arg_loc(arg),
                        "interface '" + name + "' does not exist on this host");
}

namespace {

std::string arg(const Node& n, size_t i) {
    return i < n.args.size() ? std::string(n.args[i].text) : std::string();
}

// `NAME [weight W [reverse]]` of track_interface / track_script / track_file lists.
template <class T>
bool tracked(Ctx& ctx, const Node& n, T* out, int32_t min_w, int32_t max_w) {
    if (n.has_block) {
        want_block(ctx, n, false);
        return false;
    }
    if (!n.args.empty()) {
        if (n.args[0].text != "weight") {
            ctx.error(n.arg_loc(0), "expected 'weight W' after '" + std::string(n.keyword.text) + "', not '" +
                                        std::string(n.args[0].text) + "'");
            return false;
        }
        auto w = int_arg(ctx, n, 1, min_w, max_w);
        if (!w) return false;
        out->set_weight(*w);
        if (n.args.size() > 2) {
            if (n.args[2].text != "reverse" || n.args.size() > 3) {
                ctx.error(n.arg_loc(2), "unexpected '" + std::string(n.args[2].text) + "' after the weight");
                return false;
            }
            out->set_weight_reverse(true);
        }
    }
    return true;
}

void notify(Ctx& ctx, const Node& n, std::string* out) {
    if (!want_args(ctx, n, 1, 1000)) return;
    *out = join_args(n);
    check_script_path(ctx, n, *out);
}

// ---- vrrp_script ----

const HandlerMap<cfg::VrrpScript>& script_handlers() {
    static const HandlerMap<cfg::VrrpScript> m = {
        {"script",
         [](Ctx& c, const Node& n, cfg::VrrpScript& s) {
             if (!want_args(c, n, 1, 1000)) return;
             s.set_script(join_args(n));
             check_script_path(c, n, s.script());
         }},
        {"interval",
         [](Ctx& c, const Node& n, cfg::VrrpScript& s) {
             if (auto v = timer_ms(c, n, 0, 1, 86400000)) s.set_interval_ms(*v);
         }},
        {"timeout",
         [](Ctx& c, const Node& n, cfg::VrrpScript& s) {
             if (auto v = timer_ms(c, n, 0, 1, 86400000)) s.set_timeout_ms(*v);
         }},
        {"weight",
         [](Ctx& c, const Node& n, cfg::VrrpScript& s) {
             if (!want_args(c, n, 1, 2)) return;
             if (auto v = int_arg(c, n, 0, -253, 253)) s.set_weight(*v);
             if (n.args.size() == 2) {
                 if (n.args[1].text == "reverse")
                     s.set_weight_reverse(true);
                 else
                     c.error(n.arg_loc(1), "expected 'reverse', not '" + arg(n, 1) + "'");
             }
         }},
        {"rise",
         [](Ctx& c, const Node& n, cfg::VrrpScript& s) {
             if (auto v = uint_arg(c, n, 0, 1, 1000000)) s.set_rise(*v);
         }},
        {"fall",
         [](Ctx& c, const Node& n, cfg::VrrpScript& s) {
             if (auto v = uint_arg(c, n, 0, 1, 1000000)) s.set_fall(*v);
         }},
        {"user",
         [](Ctx& c, const Node& n, cfg::VrrpScript& s) {
             if (!want_args(c, n, 1, 2)) return;
             s.set_user(arg(n, 0));
             s.set_group(arg(n, 1));
         }},
        {"init_fail",
         [](Ctx& c, const Node& n, cfg::VrrpScript& s) {
             if (auto v = bool_arg(c, n, 0)) s.set_init_fail(*v);
         }},
    };
    return m;
}

}  // namespace

void parse_vrrp_script(Ctx& ctx, const Node& n) {
    if (!want_args(ctx, n, 1, 1) || !want_block(ctx, n, true)) return;
    if (!ctx.define(NameKind::kScript, n.args[0].text, n.arg_loc(0), "vrrp_script")) return;
    auto* s = ctx.config.add_vrrp_script();
    s->set_name(arg(n, 0));
    s->set_interval_ms(1000);
    s->set_rise(1);
    s->set_fall(1);
    ctx.set_location(s->mutable_location(), n);
    parse_block(ctx, n, Section::kVrrpScript, *s, script_handlers(), s->mutable_other());
    if (s->script().empty())
        ctx.warning(n.arg_loc(0), "vrrp_script '" + s->name() + "' has no 'script': it never runs");
}

void parse_track_file(Ctx& ctx, const Node& n) {
    if (!want_args(ctx, n, 1, 1) || !want_block(ctx, n, true)) return;
    if (!ctx.define(NameKind::kTrackFile, n.args[0].text, n.arg_loc(0), "track_file")) return;
    auto* t = ctx.config.add_track_file();
    t->set_name(arg(n, 0));
    t->set_weight(1);
    ctx.set_location(t->mutable_location(), n);
    static const HandlerMap<cfg::TrackFileDef> m = {
        {"file",
         [](Ctx& c, const Node& s, cfg::TrackFileDef& t) {
             if (want_args(c, s, 1, 1)) t.set_file(arg(s, 0));
         }},
        {"weight",
         [](Ctx& c, const Node& s, cfg::TrackFileDef& t) {
             if (!want_args(c, s, 1, 2)) return;
             if (auto v = int_arg(c, s, 0, -254, 254)) t.set_weight(*v);
             t.set_weight_reverse(s.args.size() == 2 && s.args[1].text == "reverse");
         }},
    };
    parse_block(ctx, n, Section::kTrackFile, *t, m, t->mutable_other());
}

// ---- vrrp_instance ----

namespace {

void address_list(Ctx& ctx, const Node& n, google::protobuf::RepeatedPtrField<cfg::IpAddress>* out) {
    if (!want_block(ctx, n, true)) return;
    for (const auto& e : n.children) {
        cfg::IpAddress a;
        if (parse_ip_address(ctx, e, &a)) *out->Add() = std::move(a);
    }
}

template <class T>
void track_list(Ctx& ctx, const Node& n, google::protobuf::RepeatedPtrField<T>* out, NameKind kind) {
    if (!want_block(ctx, n, true)) return;
    for (const auto& e : n.children) {
        T t;
        t.set_name(std::string(e.keyword.text));
        if (!tracked(ctx, e, &t, -254, 254)) continue;
        ctx.refer(kind, e.keyword.text, e.loc());
        *out->Add() = std::move(t);
    }
}

void track_interfaces(Ctx& ctx, const Node& n, google::protobuf::RepeatedPtrField<cfg::TrackInterface>* out) {
    if (!want_block(ctx, n, true)) return;
    for (const auto& e : n.children) {
        cfg::TrackInterface t;
        t.set_interface(std::string(e.keyword.text));
        if (!tracked(ctx, e, &t, -254, 254)) continue;
        Node probe = e;  // check_interface looks at an argument: present the name as one
        probe.args = {e.keyword};
        check_interface(ctx, probe, 0);
        *out->Add() = std::move(t);
    }
}

cfg::Protocol protocol_of(std::string_view s) {
    if (s == "TCP") return cfg::TCP;
    if (s == "UDP") return cfg::UDP;
    if (s == "SCTP") return cfg::SCTP;
    return cfg::PROTOCOL_UNSPECIFIED;
}

// vigil extension: track_virtual_server { ADDRESS PORT [PROTOCOL] weight W | group NAME weight W | fwmark N
// ... }
void track_virtual_servers(Ctx& ctx, const Node& n, cfg::VrrpInstance& vi) {
    if (!want_block(ctx, n, true)) return;
    for (const auto& e : n.children) {
        cfg::TrackVirtualServer t;
        ctx.set_location(t.mutable_location(), e);
        t.set_protocol(cfg::TCP);
        size_t i = 0;
        if (e.keyword.text == "group" || e.keyword.text == "fwmark") {
            if (e.args.empty()) {
                ctx.error(e.loc(), "'" + std::string(e.keyword.text) + "' needs a value");
                continue;
            }
            if (e.keyword.text == "group") {
                t.set_group(std::string(e.args[0].text));
                ctx.refer(NameKind::kVsGroup, e.args[0].text, e.arg_loc(0));
            } else if (auto v = uint_arg(ctx, e, 0, 1, 0xffffffffu)) {
                t.set_fwmark(*v);
            }
            i = 1;
        } else {
            std::string why;
            auto a = parse_address(e.keyword.text, false, &why);
            if (!a) {
                ctx.error(e.loc(), why);
                continue;
            }
            t.set_address(a->text);
            auto port = uint_arg(ctx, e, 0, 0, 65535);
            if (!port) continue;
            t.set_port(*port);
            i = 1;
            if (i < e.args.size() && protocol_of(e.args[i].text) != cfg::PROTOCOL_UNSPECIFIED) {
                t.set_protocol(protocol_of(e.args[i].text));
                ++i;
            }
        }
        if (i < e.args.size()) {
            if (e.args[i].text != "weight" || i + 2 != e.args.size()) {
                ctx.error(e.arg_loc(i),
                          "expected 'weight W' here, not '" + std::string(e.args[i].text) + "'");
                continue;
            }
            auto w = int_arg(ctx, e, i + 1, -254, 254);
            if (!w) continue;
            t.set_weight(*w);
        }
        *vi.add_track_virtual_server() = std::move(t);
    }
}

void authentication(Ctx& ctx, const Node& n, cfg::VrrpInstance& vi) {
    if (!want_block(ctx, n, true)) return;
    static const HandlerMap<cfg::VrrpInstance> m = {
        {"auth_type",
         [](Ctx& c, const Node& s, cfg::VrrpInstance& vi) {
             if (!want_args(c, s, 1, 1)) return;
             auto t = s.args[0].text;
             if (t == "PASS") {
                 vi.mutable_authentication()->set_auth_type(cfg::AUTH_PASS);
             } else if (t == "AH") {
                 vi.mutable_authentication()->set_auth_type(cfg::AUTH_AH);
             } else {
                 c.error(s.arg_loc(0), "auth_type must be PASS or AH, not '" + std::string(t) + "'");
             }
         }},
        {"auth_pass",
         [](Ctx& c, const Node& s, cfg::VrrpInstance& vi) {
             if (!want_args(c, s, 1, 1000)) return;
             std::string pass = join_args(s);
             if (pass.size() > 8) {
                 c.warning(s.arg_loc(0), "auth_pass is longer than 8 characters: only the first 8 ('" +
                                             pass.substr(0, 8) + "') are used");
                 pass.resize(8);
             }
             vi.mutable_authentication()->set_auth_pass(pass);
         }},
    };
    parse_block(ctx, n, Section::kAuthentication, vi, m, vi.mutable_other());
}

#define VI_TIMER(field, min, max)                                     \
    [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {                \
        if (auto v = timer_ms(c, n, 0, min, max)) vi.set_##field(*v); \
    }
#define VI_BOOL(field)                                      \
    [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {      \
        if (auto v = bool_arg(c, n, 0)) vi.set_##field(*v); \
    }
#define VI_STRING(field)                                      \
    [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {        \
        if (want_args(c, n, 1, 1)) vi.set_##field(arg(n, 0)); \
    }
#define VI_ADDRESS(field)                                                  \
    [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {                     \
        if (!want_args(c, n, 1, 1)) return;                                \
        if (auto a = address_arg(c, n, 0, false)) vi.set_##field(a->text); \
    }
#define VI_NOTIFY(field) \
    [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) { notify(c, n, vi.mutable_##field()); }

const HandlerMap<cfg::VrrpInstance>& instance_handlers() {
    static const HandlerMap<cfg::VrrpInstance> m = {
        {"state",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             if (!want_args(c, n, 1, 1)) return;
             if (n.args[0].text == "MASTER") {
                 vi.set_state(cfg::MASTER);
             } else if (n.args[0].text == "BACKUP") {
                 vi.set_state(cfg::BACKUP);
             } else {
                 c.error(n.arg_loc(0), "state must be MASTER or BACKUP, not '" + arg(n, 0) + "'");
             }
         }},
        {"interface",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             if (!want_args(c, n, 1, 1)) return;
             vi.set_interface(arg(n, 0));
             check_interface(c, n, 0);
         }},
        {"virtual_router_id",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             if (want_args(c, n, 1, 1))
                 if (auto v = uint_arg(c, n, 0, 1, 255)) vi.set_virtual_router_id(*v);
         }},
        {"priority",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             if (want_args(c, n, 1, 1))
                 if (auto v = uint_arg(c, n, 0, 1, 255)) vi.set_priority(*v);
         }},
        // The range depends on the version, which may come later: checked per version in check_semantics.
        {"advert_int", VI_TIMER(advert_int_ms, 10, 255000)},
        {"version",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             if (want_args(c, n, 1, 1))
                 if (auto v = uint_arg(c, n, 0, 2, 3)) vi.set_version(*v);
         }},
        {"nopreempt",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             if (want_args(c, n, 0, 0)) vi.set_nopreempt(true);
         }},
        {"preempt",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             if (want_args(c, n, 0, 0)) vi.set_nopreempt(false);
         }},
        {"preempt_delay", VI_TIMER(preempt_delay_ms, 0, 1000000)},
        {"authentication", authentication},
        {"virtual_ipaddress",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             address_list(c, n, vi.mutable_virtual_ipaddress());
         }},
        {"virtual_ipaddress_excluded",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             address_list(c, n, vi.mutable_virtual_ipaddress_excluded());
         }},
        {"virtual_routes",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             if (want_block(c, n, true))
                 for (const auto& e : n.children) parse_route(c, e, vi.add_virtual_routes());
         }},
        {"virtual_rules",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             if (want_block(c, n, true))
                 for (const auto& e : n.children) parse_rule(c, e, vi.add_virtual_rules());
         }},
        {"unicast_src_ip", VI_ADDRESS(unicast_src_ip)},
        {"mcast_src_ip", VI_ADDRESS(mcast_src_ip)},
        {"mcast_dst_ip", VI_ADDRESS(mcast_dst_ip)},
        {"unicast_peer",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             if (!want_block(c, n, true)) return;
             for (const auto& e : n.children) {
                 std::string why;
                 if (auto a = parse_address(e.keyword.text, false, &why))
                     vi.add_unicast_peer(a->text);
                 else
                     c.error(e.loc(), why);
             }
         }},
        {"track_interface",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             track_interfaces(c, n, vi.mutable_track_interface());
         }},
        {"track_script",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             track_list(c, n, vi.mutable_track_script(), NameKind::kScript);
         }},
        {"track_file",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             track_list(c, n, vi.mutable_track_file(), NameKind::kTrackFile);
         }},
        {"track_virtual_server", track_virtual_servers},
        {"notify_master", VI_NOTIFY(notify_master)},
        {"notify_backup", VI_NOTIFY(notify_backup)},
        {"notify_fault", VI_NOTIFY(notify_fault)},
        {"notify_stop", VI_NOTIFY(notify_stop)},
        {"notify", VI_NOTIFY(notify)},
        {"garp_master_delay", VI_TIMER(garp_master_delay_ms, 0, 3600000)},
        {"garp_master_repeat",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             if (auto v = uint_arg(c, n, 0, 1, 10000)) vi.set_garp_master_repeat(*v);
         }},
        {"garp_master_refresh", VI_TIMER(garp_master_refresh_ms, 0, 86400000)},
        {"garp_master_refresh_repeat",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             if (auto v = uint_arg(c, n, 0, 1, 10000)) vi.set_garp_master_refresh_repeat(*v);
         }},
        {"smtp_alert", VI_BOOL(smtp_alert)},
        {"v3_checksum_as_v2", VI_BOOL(v3_checksum_as_v2)},
        {"dont_track_primary", VI_BOOL(dont_track_primary)},
        {"accept", VI_BOOL(accept)},
        {"no_accept", [](Ctx&, const Node&, cfg::VrrpInstance& vi) { vi.set_accept(false); }},
        {"strict_mode", VI_BOOL(strict_mode)},
        {"skip_check_adv_addr", VI_BOOL(skip_check_adv_addr)},
        {"promote_secondaries", VI_BOOL(promote_secondaries)},
        {"debug", [](Ctx&, const Node&, cfg::VrrpInstance& vi) { vi.set_debug(true); }},
        {"unicast_ttl",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             if (auto v = uint_arg(c, n, 0, 1, 255)) vi.set_unicast_ttl(*v);
         }},
        {"lvs_sync_daemon_interface", VI_STRING(lvs_sync_daemon_interface)},
        {"use_vmac",
         [](Ctx& c, const Node& n, cfg::VrrpInstance& vi) {
             if (!want_args(c, n, 0, 1)) return;
             vi.set_use_vmac(true);
             vi.set_vmac_name(arg(n, 0));
         }},
    };
    return m;
}

}  // namespace

void parse_vrrp_instance(Ctx& ctx, const Node& n) {
    if (!want_args(ctx, n, 1, 1) || !want_block(ctx, n, true)) return;
    if (!ctx.define(NameKind::kInstance, n.args[0].text, n.arg_loc(0), "vrrp_instance")) return;
    auto* vi = ctx.config.add_vrrp_instance();
    vi->set_name(arg(n, 0));
    ctx.set_location(vi->mutable_location(), n);
    parse_block(ctx, n, Section::kVrrpInstance, *vi, instance_handlers(), vi->mutable_other());
    finish_instance(ctx, n, *vi);
}

void parse_vrrp_sync_group(Ctx& ctx, const Node& n) {
    if (!want_args(ctx, n, 1, 1) || !want_block(ctx, n, true)) return;
    if (!ctx.define(NameKind::kSyncGroup, n.args[0].text, n.arg_loc(0), "vrrp_sync_group")) return;
    auto* g = ctx.config.add_vrrp_sync_group();
    g->set_name(arg(n, 0));
    ctx.set_location(g->mutable_location(), n);
    static const HandlerMap<cfg::VrrpSyncGroup> m = {
        {"group",
         [](Ctx& c, const Node& s, cfg::VrrpSyncGroup& g) {
             if (!want_block(c, s, true)) return;
             for (const auto& e : s.children) {
                 g.add_group(std::string(e.keyword.text));
                 c.refer(NameKind::kInstance, e.keyword.text, e.loc());
                 for (size_t i = 0; i < e.args.size(); ++i) {
                     g.add_group(std::string(e.args[i].text));
                     c.refer(NameKind::kInstance, e.args[i].text, e.arg_loc(i));
                 }
             }
         }},
        {"track_interface",
         [](Ctx& c, const Node& s, cfg::VrrpSyncGroup& g) {
             track_interfaces(c, s, g.mutable_track_interface());
         }},
        {"track_script",
         [](Ctx& c, const Node& s, cfg::VrrpSyncGroup& g) {
             track_list(c, s, g.mutable_track_script(), NameKind::kScript);
         }},
        {"track_file",
         [](Ctx& c, const Node& s, cfg::VrrpSyncGroup& g) {
             track_list(c, s, g.mutable_track_file(), NameKind::kTrackFile);
         }},
        {"notify_master",
         [](Ctx& c, const Node& s, cfg::VrrpSyncGroup& g) { notify(c, s, g.mutable_notify_master()); }},
        {"notify_backup",
         [](Ctx& c, const Node& s, cfg::VrrpSyncGroup& g) { notify(c, s, g.mutable_notify_backup()); }},
        {"notify_fault",
         [](Ctx& c, const Node& s, cfg::VrrpSyncGroup& g) { notify(c, s, g.mutable_notify_fault()); }},
        {"notify_stop",
         [](Ctx& c, const Node& s, cfg::VrrpSyncGroup& g) { notify(c, s, g.mutable_notify_stop()); }},
        {"notify", [](Ctx& c, const Node& s, cfg::VrrpSyncGroup& g) { notify(c, s, g.mutable_notify()); }},
        {"smtp_alert",
         [](Ctx& c, const Node& s, cfg::VrrpSyncGroup& g) {
             if (auto v = bool_arg(c, s, 0)) g.set_smtp_alert(*v);
         }},
        {"global_tracking", [](Ctx&, const Node&, cfg::VrrpSyncGroup& g) { g.set_global_tracking(true); }},
    };
    // Members written directly in the block (keepalived 1.x habit, which 2.x skips with a log line) are an
    // error here: the group would silently be empty.
    for (const auto& e : n.children) {
        if (find_keyword(Section::kVrrpSyncGroup, e.keyword.text) == nullptr && !e.has_block &&
            e.args.empty()) {
            ctx.error(e.loc(), "'" + std::string(e.keyword.text) +
                                   "' is not a vrrp_sync_group keyword: members of a sync group go inside "
                                   "'group { " +
                                   std::string(e.keyword.text) + " ... }'");
        }
    }
    Node known = n;
    std::erase_if(known.children, [](const Node& e) {
        return find_keyword(Section::kVrrpSyncGroup, e.keyword.text) == nullptr && !e.has_block &&
               e.args.empty();
    });
    parse_block(ctx, known, Section::kVrrpSyncGroup, *g, m, g->mutable_other());
}

}  // namespace vigil::common::config
