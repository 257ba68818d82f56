// The checker blocks of a real server: TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, PING_CHECK, UDP_CHECK,
// DNS_CHECK, SMTP_CHECK, FILE_CHECK, BFD_CHECK.

#include "common/config/sections.hpp"

namespace vigil::common::config {

namespace cfg = vigil::config;

namespace {

std::string arg(const Node& n, size_t i) {
    return i < n.args.size() ? std::string(n.args[i].text) : std::string();
}

// What a checker statement writes to: the shared settings and the checker itself.
struct Target {
    cfg::Checker* checker;
    cfg::CheckCommon* common;
};

#define C_TIMER(field, min, max)                                                 \
    [](Ctx& c, const Node& n, Target& t) {                                       \
        if (want_args(c, n, 1, 1))                                               \
            if (auto v = timer_ms(c, n, 0, min, max)) t.common->set_##field(*v); \
    }

const HandlerMap<Target>& common_handlers() {
    static const HandlerMap<Target> m = {
        {"connect_ip",
         [](Ctx& c, const Node& n, Target& t) {
             if (want_args(c, n, 1, 1))
                 if (auto a = address_arg(c, n, 0, false)) t.common->set_connect_ip(a->text);
         }},
        {"connect_port",
         [](Ctx& c, const Node& n, Target& t) {
             if (want_args(c, n, 1, 1))
                 if (auto v = uint_arg(c, n, 0, 1, 65535)) t.common->set_connect_port(*v);
         }},
        {"bindto",
         [](Ctx& c, const Node& n, Target& t) {
             if (want_args(c, n, 1, 1))
                 if (auto a = address_arg(c, n, 0, false)) t.common->set_bindto(a->text);
         }},
        {"bind_port",
         [](Ctx& c, const Node& n, Target& t) {
             if (want_args(c, n, 1, 1))
                 if (auto v = uint_arg(c, n, 0, 1, 65535)) t.common->set_bind_port(*v);
         }},
        {"bind_if",
         [](Ctx& c, const Node& n, Target& t) {
             if (want_args(c, n, 1, 1)) t.common->set_bind_if(arg(n, 0));
         }},
        {"connect_timeout", C_TIMER(connect_timeout_ms, 1, 86400000)},
        {"retry",
         [](Ctx& c, const Node& n, Target& t) {
             if (want_args(c, n, 1, 1))
                 if (auto v = uint_arg(c, n, 0, 0, 1000000)) t.common->set_retry(*v);
         }},
        {"nb_get_retry",
         [](Ctx& c, const Node& n, Target& t) {
             if (want_args(c, n, 1, 1))
                 if (auto v = uint_arg(c, n, 0, 0, 1000000)) t.common->set_retry(*v);
         }},
        {"delay_before_retry", C_TIMER(delay_before_retry_ms, 0, 86400000)},
        {"warmup", C_TIMER(warmup_ms, 0, 86400000)},
        {"delay_loop", C_TIMER(delay_loop_ms, 1, 86400000)},
        {"alpha",
         [](Ctx& c, const Node& n, Target& t) {
             if (auto v = bool_arg(c, n, 0)) t.common->set_alpha(*v);
         }},
        {"fwmark",
         [](Ctx& c, const Node& n, Target& t) {
             if (want_args(c, n, 1, 1))
                 if (auto v = uint_arg(c, n, 0, 1, 0xffffffffu)) t.common->set_fwmark(*v);
         }},
        {"log_all_failures",
         [](Ctx& c, const Node& n, Target& t) {
             if (auto v = bool_arg(c, n, 0)) t.common->set_log_all_failures(*v);
         }},
    };
    return m;
}

cfg::HttpCheck* http(Target& t) {
    return t.checker->has_ssl_get() ? t.checker->mutable_ssl_get() : t.checker->mutable_http_get();
}

void url(Ctx& ctx, const Node& n, Target& t) {
    if (!want_block(ctx, n, true)) return;
    auto* u = http(t)->add_url();
    ctx.set_location(u->mutable_location(), n);
    static const HandlerMap<cfg::HttpUrl> m = {
        {"path",
         [](Ctx& c, const Node& s, cfg::HttpUrl& u) {
             if (want_args(c, s, 1, 1)) u.set_path(arg(s, 0));
         }},
        {"digest",
         [](Ctx& c, const Node& s, cfg::HttpUrl& u) {
             if (!want_args(c, s, 1, 1)) return;
             auto d = s.args[0].text;
             bool hex =
                 d.size() == 32 && d.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
             if (!hex) {
                 c.error(s.arg_loc(0),
                         "digest must be 32 hexadecimal digits (an MD5 sum), not '" + arg(s, 0) + "'");
                 return;
             }
             u.set_digest(arg(s, 0));
         }},
        {"status_code",
         [](Ctx& c, const Node& s, cfg::HttpUrl& u) {
             if (!want_args(c, s, 1, 1000)) return;
             // Codes and ranges: `200`, `200-299`, several separated by spaces.
             for (size_t i = 0; i < s.args.size(); ++i) {
                 auto w = s.args[i].text;
                 auto dash = w.find('-');
                 Node one = s;
                 one.args = {Word{w.substr(0, dash), s.args[i].col}};
                 auto lo = uint_arg(c, one, 0, 100, 599);
                 if (!lo) return;
                 uint32_t hi = *lo;
                 if (dash != std::string_view::npos) {
                     one.args = {Word{w.substr(dash + 1), s.args[i].col}};
                     auto h = uint_arg(c, one, 0, *lo, 599);
                     if (!h) return;
                     hi = *h;
                 }
                 for (uint32_t code = *lo; code <= hi; ++code) u.add_status_code(code);
             }
         }},
        {"virtualhost",
         [](Ctx& c, const Node& s, cfg::HttpUrl& u) {
             if (want_args(c, s, 1, 1)) u.set_virtualhost(arg(s, 0));
         }},
        {"regex",
         [](Ctx& c, const Node& s, cfg::HttpUrl& u) {
             if (want_args(c, s, 1, 1000)) u.set_regex(join_args(s));
         }},
        {"regex_no_match", [](Ctx&, const Node&, cfg::HttpUrl& u) { u.set_regex_no_match(true); }},
    };
    parse_block(ctx, n, Section::kUrl, *u, m, u->mutable_other());
    if (u->path().empty()) ctx.error(n.loc(), "url block has no 'path'");
}

const HandlerMap<Target>& http_handlers() {
    static const HandlerMap<Target> m = [] {
        HandlerMap<Target> h = common_handlers();
        h.emplace("url", url);
        h.emplace("virtualhost", [](Ctx& c, const Node& n, Target& t) {
            if (want_args(c, n, 1, 1)) http(t)->set_virtualhost(arg(n, 0));
        });
        h.emplace("enable_sni", [](Ctx& c, const Node& n, Target& t) {
            if (auto v = bool_arg(c, n, 0)) http(t)->set_enable_sni(*v);
        });
        h.emplace("sni_name", [](Ctx& c, const Node& n, Target& t) {
            if (want_args(c, n, 1, 1)) http(t)->set_sni_name(arg(n, 0));
        });
        h.emplace("http_protocol", [](Ctx& c, const Node& n, Target& t) {
            if (want_args(c, n, 1, 1)) http(t)->set_http_protocol(arg(n, 0));
        });
        h.emplace("fast_recovery", [](Ctx& c, const Node& n, Target& t) {
            if (auto v = bool_arg(c, n, 0)) http(t)->set_fast_recovery(*v);
        });
        h.emplace("tls_compliant", [](Ctx& c, const Node& n, Target& t) {
            if (auto v = bool_arg(c, n, 0)) http(t)->set_tls_compliant(*v);
        });
        return h;
    }();
    return m;
}

const HandlerMap<Target>& misc_handlers() {
    static const HandlerMap<Target> m = [] {
        HandlerMap<Target> h = common_handlers();
        h.emplace("misc_path", [](Ctx& c, const Node& n, Target& t) {
            if (!want_args(c, n, 1, 1000)) return;
            t.checker->mutable_misc_check()->set_misc_path(join_args(n));
            check_script_path(c, n, t.checker->misc_check().misc_path());
        });
        h.emplace("misc_timeout", [](Ctx& c, const Node& n, Target& t) {
            if (want_args(c, n, 1, 1))
                if (auto v = timer_ms(c, n, 0, 1, 86400000))
                    t.checker->mutable_misc_check()->set_misc_timeout_ms(*v);
        });
        h.emplace("misc_dynamic", [](Ctx& c, const Node& n, Target& t) {
            if (auto v = bool_arg(c, n, 0)) t.checker->mutable_misc_check()->set_misc_dynamic(*v);
        });
        h.emplace("user", [](Ctx& c, const Node& n, Target& t) {
            if (!want_args(c, n, 1, 2)) return;
            t.checker->mutable_misc_check()->set_user(arg(n, 0));
            t.checker->mutable_misc_check()->set_group(arg(n, 1));
        });
        return h;
    }();
    return m;
}

const HandlerMap<Target>& udp_handlers() {
    static const HandlerMap<Target> m = [] {
        HandlerMap<Target> h = common_handlers();
        h.emplace("payload", [](Ctx& c, const Node& n, Target& t) {
            if (want_args(c, n, 1, 1000)) t.checker->mutable_udp_check()->set_payload(join_args(n));
        });
        h.emplace("require_reply", [](Ctx&, const Node& n, Target& t) {
            t.checker->mutable_udp_check()->set_require_reply(true);
            t.checker->mutable_udp_check()->set_require_reply_hex(join_args(n));
        });
        h.emplace("min_reply_length", [](Ctx& c, const Node& n, Target& t) {
            if (auto v = uint_arg(c, n, 0, 0, 65535))
                t.checker->mutable_udp_check()->set_min_reply_length(*v);
        });
        h.emplace("max_reply_length", [](Ctx& c, const Node& n, Target& t) {
            if (auto v = uint_arg(c, n, 0, 0, 65535))
                t.checker->mutable_udp_check()->set_max_reply_length(*v);
        });
        return h;
    }();
    return m;
}

const HandlerMap<Target>& dns_handlers() {
    static const HandlerMap<Target> m = [] {
        HandlerMap<Target> h = common_handlers();
        h.emplace("type", [](Ctx& c, const Node& n, Target& t) {
            if (!want_args(c, n, 1, 1)) return;
            static constexpr std::string_view kTypes[] = {"A",   "NS",   "CNAME", "SOA", "MX",
                                                          "TXT", "AAAA", "PTR",   "SRV"};
            for (auto k : kTypes) {
                if (n.args[0].text == k) {
                    t.checker->mutable_dns_check()->set_type(std::string(k));
                    return;
                }
            }
            c.error(n.arg_loc(0),
                    "unknown DNS type '" + arg(n, 0) + "' (A, NS, CNAME, SOA, MX, TXT, AAAA, PTR, SRV)");
        });
        h.emplace("name", [](Ctx& c, const Node& n, Target& t) {
            if (want_args(c, n, 1, 1)) t.checker->mutable_dns_check()->set_name(arg(n, 0));
        });
        return h;
    }();
    return m;
}

const HandlerMap<Target>& smtp_handlers() {
    static const HandlerMap<Target> m = [] {
        HandlerMap<Target> h = common_handlers();
        h.emplace("helo_name", [](Ctx& c, const Node& n, Target& t) {
            if (want_args(c, n, 1, 1)) t.checker->mutable_smtp_check()->set_helo_name(arg(n, 0));
        });
        h.emplace("host", [](Ctx& c, const Node& n, Target& t) {
            if (!want_block(c, n, true)) return;
            auto* host = t.checker->mutable_smtp_check()->add_host();
            Target sub{t.checker, host->mutable_common()};
            parse_block(c, n, Section::kChecker, sub, common_handlers(), t.checker->mutable_other());
        });
        return h;
    }();
    return m;
}

const HandlerMap<Target>& file_handlers() {
    static const HandlerMap<Target> m = [] {
        HandlerMap<Target> h = common_handlers();
        h.emplace("track_file", [](Ctx& c, const Node& n, Target& t) {
            if (!want_args(c, n, 1, 1)) return;
            t.checker->mutable_file_check()->set_track_file(arg(n, 0));
            c.refer(NameKind::kTrackFile, n.args[0].text, n.arg_loc(0));
        });
        h.emplace("weight", [](Ctx& c, const Node& n, Target& t) {
            if (!want_args(c, n, 1, 2)) return;
            if (auto v = int_arg(c, n, 0, -65535, 65535)) t.checker->mutable_file_check()->set_weight(*v);
            t.checker->mutable_file_check()->set_weight_reverse(n.args.size() == 2 &&
                                                                n.args[1].text == "reverse");
        });
        return h;
    }();
    return m;
}

const HandlerMap<Target>& bfd_handlers() {
    static const HandlerMap<Target> m = [] {
        HandlerMap<Target> h = common_handlers();
        h.emplace("name", [](Ctx& c, const Node& n, Target& t) {
            if (want_args(c, n, 1, 1)) t.checker->mutable_bfd_check()->set_name(arg(n, 0));
        });
        return h;
    }();
    return m;
}

}  // namespace

void parse_checker(Ctx& ctx, const Node& n, cfg::RealServer& rs) {
    if (!want_block(ctx, n, true)) return;
    auto* ch = rs.add_checkers();
    ctx.set_location(ch->mutable_location(), n);
    auto kw = n.keyword.text;
    Target t{ch, nullptr};
    const HandlerMap<Target>* handlers = &common_handlers();
    Section section = Section::kChecker;
    if (kw == "TCP_CHECK") {
        t.common = ch->mutable_tcp_check()->mutable_common();
    } else if (kw == "HTTP_GET" || kw == "SSL_GET") {
        auto* h = kw == "HTTP_GET" ? ch->mutable_http_get() : ch->mutable_ssl_get();
        h->set_http_protocol("1.0");
        t.common = h->mutable_common();
        handlers = &http_handlers();
        section = Section::kHttpGet;
    } else if (kw == "MISC_CHECK") {
        t.common = ch->mutable_misc_check()->mutable_common();
        handlers = &misc_handlers();
        section = Section::kMiscCheck;
    } else if (kw == "PING_CHECK") {
        t.common = ch->mutable_ping_check()->mutable_common();
    } else if (kw == "UDP_CHECK") {
        t.common = ch->mutable_udp_check()->mutable_common();
        handlers = &udp_handlers();
        section = Section::kUdpCheck;
    } else if (kw == "DNS_CHECK") {
        auto* d = ch->mutable_dns_check();
        d->set_type("SOA");
        d->set_name(".");
        t.common = d->mutable_common();
        handlers = &dns_handlers();
        section = Section::kDnsCheck;
    } else if (kw == "SMTP_CHECK") {
        t.common = ch->mutable_smtp_check()->mutable_common();
        handlers = &smtp_handlers();
        section = Section::kSmtpCheck;
    } else if (kw == "FILE_CHECK") {
        t.common = ch->mutable_file_check()->mutable_common();
        handlers = &file_handlers();
        section = Section::kFileCheck;
    } else {
        t.common = ch->mutable_bfd_check()->mutable_common();
        handlers = &bfd_handlers();
        section = Section::kBfdCheck;
    }
    parse_block(ctx, n, section, t, *handlers, ch->mutable_other(), Section::kChecker);
    if (ch->has_misc_check() && ch->misc_check().misc_path().empty())
        ctx.error(n.loc(), "MISC_CHECK has no 'misc_path'");
    if (ch->has_file_check() && ch->file_check().track_file().empty())
        ctx.error(n.loc(), "FILE_CHECK has no 'track_file'");
}

}  // namespace vigil::common::config
