// Checks that look beyond one statement: an instance as a whole, references between sections, duplicates.

#include <map>
#include <tuple>

#include "common/config/sections.hpp"

namespace vigil::common::config {

namespace cfg = vigil::config;

namespace {

// The last statement of `n`'s block with keyword `kw` (the one that took effect).
const Node* child(const Node& n, std::string_view kw) {
    const Node* found = nullptr;
    for (const auto& c : n.children)
        if (c.keyword.text == kw) found = &c;
    return found;
}

std::string_view kind_name(NameKind k) {
    switch (k) {
        case NameKind::kScript:
            return "vrrp_script";
        case NameKind::kTrackFile:
            return "track_file";
        case NameKind::kInstance:
            return "vrrp_instance";
        case NameKind::kVsGroup:
            return "virtual_server_group";
        case NameKind::kSyncGroup:
            return "vrrp_sync_group";
        default:
            return "name";
    }
}

void check_addresses(Ctx& ctx, const Node& n, cfg::VrrpInstance& vi) {
    const Node* block = child(n, "virtual_ipaddress");
    if (vi.virtual_ipaddress_size() > 255 && block) {
        ctx.error(block->loc(), "vrrp_instance " + vi.name() + " has " +
                                    std::to_string(vi.virtual_ipaddress_size()) +
                                    " virtual addresses; one advert carries at most 255 (put the rest in "
                                    "virtual_ipaddress_excluded)");
    }
    cfg::AddressFamily family = cfg::FAMILY_UNSPECIFIED;
    for (const auto& a : vi.virtual_ipaddress()) {
        if (family == cfg::FAMILY_UNSPECIFIED) {
            family = a.family();
            continue;
        }
        if (a.family() == family || !block) continue;
        SourceLoc loc = block->loc();
        for (const auto& e : block->children)
            if (e.line == a.location().line()) loc = e.loc();
        ctx.error(loc, "vrrp_instance " + vi.name() +
                           " mixes IPv4 and IPv6 virtual addresses: an instance carries "
                           "one address family (use a second instance, or virtual_ipaddress_excluded)");
        break;
    }
    if (family == cfg::FAMILY_UNSPECIFIED && !vi.unicast_peer().empty()) {
        std::string why;
        if (auto a = parse_address(vi.unicast_peer(0), false, &why)) family = a->family;
    }
    vi.set_family(family);
}

}  // namespace

void finish_instance(Ctx& ctx, const Node& n, cfg::VrrpInstance& vi) {
    const auto& g = ctx.config.global_defs();
    if (vi.state() == cfg::STATE_UNSPECIFIED) vi.set_state(cfg::BACKUP);
    if (vi.priority() == 0) vi.set_priority(100);
    if (vi.advert_int_ms() == 0) vi.set_advert_int_ms(1000);
    if (vi.version() == 0) vi.set_version(g.vrrp_version() ? g.vrrp_version() : 2);
    if (vi.garp_master_delay_ms() == 0)
        vi.set_garp_master_delay_ms(g.vrrp_garp_master_delay_ms() ? g.vrrp_garp_master_delay_ms() : 5000);
    if (vi.garp_master_repeat() == 0)
        vi.set_garp_master_repeat(g.vrrp_garp_master_repeat() ? g.vrrp_garp_master_repeat() : 5);
    if (vi.garp_master_refresh_ms() == 0) vi.set_garp_master_refresh_ms(g.vrrp_garp_master_refresh_ms());
    if (vi.garp_master_refresh_repeat() == 0)
        vi.set_garp_master_refresh_repeat(
            g.vrrp_garp_master_refresh_repeat() ? g.vrrp_garp_master_refresh_repeat() : 1);
    if (vi.unicast_ttl() == 0) vi.set_unicast_ttl(255);
    if (!child(n, "v3_checksum_as_v2")) vi.set_v3_checksum_as_v2(g.v3_checksum_as_v2());
    if (vi.interface().empty() && !g.default_interface().empty()) vi.set_interface(g.default_interface());

    const Node* vrid = child(n, "virtual_router_id");
    ctx.instance_locs.push_back(ctx.keep(vrid ? vrid->arg_loc(0) : n.arg_loc(0)));
    if (!vrid) ctx.error(n.arg_loc(0), "vrrp_instance " + vi.name() + " has no virtual_router_id");
    if (vi.interface().empty())
        ctx.warning(n.arg_loc(0), "vrrp_instance " + vi.name() +
                                      " has no interface (and global_defs no "
                                      "default_interface)");

    if (const Node* adv = child(n, "advert_int"); adv && vi.advert_int_ms() != 0) {
        uint32_t ms = vi.advert_int_ms();
        if (vi.version() == 2 && (ms % 1000 != 0 || ms < 1000 || ms > 255000)) {
            ctx.error(adv->arg_loc(0),
                      "advert_int " + std::string(adv->args.empty() ? "" : adv->args[0].text) +
                          " is not valid for VRRPv2: whole seconds 1..255 (sub-second intervals "
                          "need 'version 3')");
        } else if (vi.version() == 3 && ms > 40950) {
            ctx.error(adv->arg_loc(0), "advert_int " +
                                           std::string(adv->args.empty() ? "" : adv->args[0].text) +
                                           " is out of range 0.01..40.95 seconds for VRRPv3");
        }
    }
    // keepalived warns and clears both (vrrp.c), and guides ship configs with them: a warning, not an error,
    // so such a config still loads, and the model says what will happen.
    if (const Node* np = child(n, "nopreempt"); np && vi.nopreempt() && vi.state() == cfg::MASTER) {
        ctx.warning(
            np->loc(),
            "nopreempt does nothing with 'state MASTER' (an instance that starts as MASTER preempts): "
            "ignored; use 'state BACKUP' on every node for nopreempt");
        vi.set_nopreempt(false);
    }
    if (const Node* pd = child(n, "preempt_delay");
        pd && vi.preempt_delay_ms() != 0 && vi.state() == cfg::MASTER) {
        ctx.warning(pd->loc(),
                    "preempt_delay does nothing with 'state MASTER' (it delays preemption after a BACKUP "
                    "start): ignored; use 'state BACKUP' for preempt_delay");
        vi.set_preempt_delay_ms(0);
    }
    if (vi.version() == 3 && vi.has_authentication()) {
        if (const Node* au = child(n, "authentication"))
            ctx.warning(au->loc(), "VRRPv3 has no authentication (RFC 5798): this block is ignored");
    }
    check_addresses(ctx, n, vi);
}

void check_semantics(Ctx& ctx) {
    auto& config = ctx.config;
    fill_global_defaults(config.mutable_global_defs());

    for (const auto& r : ctx.references) {
        const auto& names = ctx.names[static_cast<size_t>(r.kind)];
        if (names.count(r.name)) continue;
        ctx.error(r.loc, "no " + std::string(kind_name(r.kind)) + " named '" + r.name + "' is defined");
    }

    // One VRID per interface and family: two instances would fight over one virtual router.
    std::map<std::tuple<std::string, uint32_t, int>, size_t> vrids;
    for (int i = 0; i < config.vrrp_instance_size(); ++i) {
        const auto& vi = config.vrrp_instance(i);
        if (vi.virtual_router_id() == 0) continue;
        auto key = std::make_tuple(vi.interface(), vi.virtual_router_id(), static_cast<int>(vi.family()));
        auto [it, fresh] = vrids.emplace(key, static_cast<size_t>(i));
        if (fresh || static_cast<size_t>(i) >= ctx.instance_locs.size()) continue;
        const auto& other = config.vrrp_instance(static_cast<int>(it->second));
        ctx.error(ctx.instance_locs[static_cast<size_t>(i)],
                  "virtual_router_id " + std::to_string(vi.virtual_router_id()) + " on interface " +
                      (vi.interface().empty() ? std::string("(none)") : vi.interface()) +
                      " is already used by vrrp_instance " + other.name());
    }

    // An instance belongs to at most one sync group.
    std::map<std::string, std::string> member_of;
    for (const auto& g : config.vrrp_sync_group()) {
        for (const auto& m : g.group()) {
            auto [it, fresh] = member_of.emplace(m, g.name());
            if (!fresh && it->second != g.name()) {
                auto loc = ctx.names[static_cast<size_t>(NameKind::kSyncGroup)][g.name()];
                ctx.error(
                    loc, "vrrp_instance " + m + " is in two sync groups: " + it->second + " and " + g.name());
            }
        }
    }
}

}  // namespace vigil::common::config
