// Address, route and rule lines: virtual_ipaddress, virtual_routes, virtual_rules and their static_* twins.

#include "common/config/sections.hpp"

namespace vigil::common::config {

namespace cfg = vigil::config;

namespace {

// A statement's words as one list: the keyword is word 0 (address lines start with the address itself).
struct Words {
    const Node& n;
    size_t size() const { return n.args.size() + 1; }
    std::string_view operator[](size_t i) const { return i == 0 ? n.keyword.text : n.args[i - 1].text; }
    SourceLoc loc(size_t i) const { return i == 0 ? n.loc() : n.arg_loc(i - 1); }
};

std::string needs_value(std::string_view kw) {
    std::string s = "'";  // built by appending: g++ 12 warns falsely (-Wrestrict) on "'" + std::string(...)
    s.append(kw).append("' needs a value after it");
    return s;
}

std::optional<Address> address_at(Ctx& ctx, const Words& w, size_t i, bool allow_prefix) {
    if (i >= w.size()) {
        ctx.error(w.loc(w.size() - 1), needs_value(w[w.size() - 1]));
        return std::nullopt;
    }
    std::string why;
    auto a = parse_address(w[i], allow_prefix, &why);
    if (!a) ctx.error(w.loc(i), why);
    return a;
}

bool value_at(Ctx& ctx, const Words& w, size_t i, std::string* out) {
    if (i >= w.size()) {
        ctx.error(w.loc(i - 1), needs_value(w[i - 1]));
        return false;
    }
    *out = std::string(w[i]);
    return true;
}

std::string whole(const Words& w) {
    std::string s;
    for (size_t i = 0; i < w.size(); ++i) {
        if (i) s += ' ';
        s += w[i];
    }
    return s;
}

bool no_block(Ctx& ctx, const Node& n) {
    return want_block(ctx, n, false);
}

}  // namespace

bool parse_ip_address(Ctx& ctx, const Node& n, cfg::IpAddress* out) {
    ctx.set_location(out->mutable_location(), n);
    if (!no_block(ctx, n)) return false;
    Words w{n};
    auto a = address_at(ctx, w, 0, true);
    if (!a) return false;
    out->set_address(a->text);
    out->set_prefix(a->prefix);
    out->set_family(a->family);
    out->set_scope("global");
    for (size_t i = 1; i < w.size(); ++i) {
        auto k = w[i];
        std::string v;
        if (k == "brd" || k == "broadcast") {
            if (!value_at(ctx, w, ++i, &v)) return false;
            if (v != "+" && v != "-" && !address_at(ctx, w, i, false)) return false;
            out->set_broadcast(v);
        } else if (k == "dev") {
            if (!value_at(ctx, w, ++i, &v)) return false;
            out->set_dev(v);
            check_interface(ctx, n, i - 1);
        } else if (k == "scope") {
            if (!value_at(ctx, w, ++i, &v)) return false;
            out->set_scope(v);
        } else if (k == "label") {
            if (!value_at(ctx, w, ++i, &v)) return false;
            out->set_label(v);
        } else if (k == "peer") {
            auto p = address_at(ctx, w, ++i, true);
            if (!p) return false;
            out->set_peer(p->text);
        } else if (k == "track_group") {
            if (!value_at(ctx, w, ++i, &v)) return false;
            out->set_track_group(v);
        } else if (k == "no_dad" || k == "nodad") {
            out->set_no_dad(true);
        } else if (k == "home") {
            out->set_home(true);
        } else if (k == "noprefixroute") {
            out->set_no_prefix_route(true);
        } else if (k == "autojoin") {
            out->set_auto_join(true);
        } else if (k == "preferred_lft" || k == "mngtmpaddr") {
            out->add_other_options(std::string(k));
            if (k == "preferred_lft" && value_at(ctx, w, ++i, &v)) out->add_other_options(v);
            ctx.warning(w.loc(i),
                        "address option '" + std::string(k) + "' is accepted but vigil does not act on it");
        } else {
            ctx.error(w.loc(i), "unknown address option '" + std::string(k) +
                                    "' (expected brd, dev, scope, label, peer, no_dad, home, noprefixroute, "
                                    "autojoin or track_group)");
            return false;
        }
    }
    return true;
}

bool parse_route(Ctx& ctx, const Node& n, cfg::Route* out) {
    ctx.set_location(out->mutable_location(), n);
    if (!no_block(ctx, n)) return false;
    Words w{n};
    out->set_text(whole(w));
    size_t i = 0;
    if (w[i] == "src") {
        auto s = address_at(ctx, w, i + 1, false);
        if (!s) return false;
        out->set_src(s->text);
        i += 2;
    }
    static constexpr std::string_view kTypes[] = {"unicast", "blackhole", "unreachable", "prohibit",
                                                  "throw",   "local",     "broadcast",   "multicast",
                                                  "nat",     "anycast"};
    out->set_type("unicast");
    for (auto t : kTypes) {
        if (i < w.size() && w[i] == t) {
            out->set_type(std::string(t));
            ++i;
            break;
        }
    }
    if (i < w.size() && w[i] == "to") ++i;
    auto dst = address_at(ctx, w, i, true);
    if (!dst) return false;
    out->set_destination(dst->text);
    out->set_prefix(dst->prefix);
    out->set_family(dst->family);
    for (++i; i < w.size(); ++i) {
        auto k = w[i];
        std::string v;
        if (k == "via" || k == "gw") {
            auto g = address_at(ctx, w, ++i, false);
            if (!g) return false;
            out->set_via(g->text);
        } else if (k == "src") {
            auto s = address_at(ctx, w, ++i, false);
            if (!s) return false;
            out->set_src(s->text);
        } else if (k == "dev" || k == "oif") {
            if (!value_at(ctx, w, ++i, &v)) return false;
            out->set_dev(v);
        } else if (k == "table") {
            if (!value_at(ctx, w, ++i, &v)) return false;
            out->set_table(v);
        } else if (k == "metric" || k == "preference" || k == "priority") {
            if (!value_at(ctx, w, ++i, &v)) return false;
            auto m = uint_arg(ctx, n, i - 1, 0, 0xffffffffu);
            if (!m) return false;
            out->set_metric(*m);
        } else if (k == "scope") {
            if (!value_at(ctx, w, ++i, &v)) return false;
            out->set_scope(v);
        } else if (k == "or") {
            // Multipath alternative gateway: kept as written.
            auto g = address_at(ctx, w, ++i, false);
            if (!g) return false;
            out->add_other_options("or");
            out->add_other_options(g->text);
        } else {
            out->add_other_options(std::string(k));
        }
    }
    return true;
}

bool parse_rule(Ctx& ctx, const Node& n, cfg::Rule* out) {
    ctx.set_location(out->mutable_location(), n);
    if (!no_block(ctx, n)) return false;
    Words w{n};
    out->set_text(whole(w));
    for (size_t i = 0; i < w.size(); ++i) {
        auto k = w[i];
        std::string v;
        if (k == "from" || k == "to") {
            std::optional<Address> a;
            if (i + 1 < w.size() && w[i + 1] == "all") {
                a = Address{"all", cfg::FAMILY_UNSPECIFIED, 0, false};
                ++i;
            } else {
                a = address_at(ctx, w, ++i, true);
            }
            if (!a) return false;
            if (k == "from") {
                out->set_from(a->text);
                out->set_from_prefix(a->prefix);
            } else {
                out->set_to(a->text);
                out->set_to_prefix(a->prefix);
            }
            if (a->family != cfg::FAMILY_UNSPECIFIED) {
                if (out->family() != cfg::FAMILY_UNSPECIFIED && out->family() != a->family) {
                    ctx.error(w.loc(i), "a rule's from and to must be of one address family");
                    return false;
                }
                out->set_family(a->family);
            }
        } else if (k == "table" || k == "lookup") {
            if (!value_at(ctx, w, ++i, &v)) return false;
            out->set_table(v);
        } else if (k == "priority" || k == "preference" || k == "prio") {
            if (!value_at(ctx, w, ++i, &v)) return false;
            auto p = uint_arg(ctx, n, i - 1, 0, 0xffffffffu);
            if (!p) return false;
            out->set_priority(*p);
        } else {
            out->add_other_options(std::string(k));
        }
    }
    return true;
}

}  // namespace vigil::common::config
