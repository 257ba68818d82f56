#include "checker_child/checker_config_proto.hpp"

#include "checker_child/check_udp.hpp"

namespace vigil::check {

namespace cfg = vigil::config;

namespace {

Duration ms(uint32_t v) {
    return Duration{v};
}

std::optional<Duration> optional_ms(uint32_t v) {
    if (v == 0) return std::nullopt;
    return Duration{v};
}

// The same text as common/ipc/keys.hpp's virtual_server_key, so Health messages and snapshots line up.
std::string vs_name(const cfg::VirtualServer& vs) {
    const char* proto = vs.protocol() == cfg::UDP ? "UDP" : vs.protocol() == cfg::SCTP ? "SCTP" : "TCP";
    if (!vs.group().empty()) return "group " + vs.group() + " " + proto;
    if (vs.fwmark() != 0) return "fwmark " + std::to_string(vs.fwmark()) + " " + proto;
    return format_endpoint(vs.address(), static_cast<uint16_t>(vs.port())) + " " + proto;
}

CheckTiming timing_from(const cfg::CheckCommon& c, const cfg::RealServer& rs) {
    CheckTiming t;
    if (c.connect_timeout_ms()) t.connect_timeout = ms(c.connect_timeout_ms());
    if (c.delay_loop_ms()) t.delay_loop = ms(c.delay_loop_ms());
    if (c.has_delay_before_retry_ms()) t.delay_before_retry = ms(c.delay_before_retry_ms());
    // warmup not set: keepalived's default, spread over delay_loop; warmup 0: no spreading at all.
    if (c.has_warmup_ms()) t.warmup = Duration{c.warmup_ms()};
    t.retry = static_cast<int>(c.retry());
    t.alpha = c.alpha();
    t.rise = rs.rise() ? static_cast<int>(rs.rise()) : 1;
    t.delay_loop_fast = optional_ms(rs.delay_loop_fast_ms());
    t.delay_loop_down = optional_ms(rs.delay_loop_down_ms());
    return t;
}

ConnectTarget target_from(const cfg::CheckCommon& c, const cfg::RealServer& rs) {
    ConnectTarget t;
    t.ip = c.connect_ip().empty() ? rs.address() : c.connect_ip();
    t.port = static_cast<uint16_t>(c.connect_port() ? c.connect_port() : rs.port());
    t.bindto = c.bindto();
    t.bind_port = static_cast<uint16_t>(c.bind_port());
    t.bind_if = c.bind_if();
    return t;
}

// Consecutive codes back into ranges (the model lists every code of `status_code 200-299`).
std::vector<std::pair<int, int>> ranges_from(const google::protobuf::RepeatedField<uint32_t>& codes) {
    std::vector<std::pair<int, int>> out;
    for (uint32_t code : codes) {
        const int c = static_cast<int>(code);
        if (!out.empty() && out.back().second + 1 == c) {
            out.back().second = c;
        } else {
            out.push_back({c, c});
        }
    }
    return out;
}

struct Context {
    const cfg::Config& config;
    const cfg::VirtualServer& vs;
    const cfg::RealServer& rs;
    std::vector<std::string>& warnings;
    std::string subject;
};

HttpParams http_from(const cfg::HttpCheck& h, bool tls, const Context& ctx) {
    HttpParams p;
    p.tls = tls;
    p.enable_sni = h.enable_sni();
    p.sni_name = h.sni_name();
    p.http_protocol = h.http_protocol().empty() || h.http_protocol() == "0" ? "1.0" : h.http_protocol();
    for (const auto& u : h.url()) {
        HttpUrl url;
        url.path = u.path().empty() ? "/" : u.path();
        url.digest = u.digest();
        url.status_ranges = ranges_from(u.status_code());
        for (const std::string& vh :
             {u.virtualhost(), h.virtualhost(), ctx.rs.virtualhost(), ctx.vs.virtualhost()}) {
            if (!vh.empty()) {
                url.virtualhost = vh;
                break;
            }
        }
        if (!u.regex().empty()) ctx.warnings.push_back(ctx.subject + ": url regex is not acted on yet");
        p.urls.push_back(std::move(url));
    }
    if (h.fast_recovery()) ctx.warnings.push_back(ctx.subject + ": fast_recovery is not acted on yet");
    return p;
}

UdpParams udp_from(const cfg::UdpCheck& u, const Context& ctx) {
    UdpParams p;
    if (!parse_hex_string(u.payload(), p.payload, nullptr)) {
        ctx.warnings.push_back(ctx.subject + ": UDP_CHECK payload is not hex; a random payload is sent");
        p.payload.clear();
    }
    p.require_reply = u.require_reply();
    if (!parse_hex_string(u.require_reply_hex(), p.reply_pattern, &p.reply_mask)) {
        ctx.warnings.push_back(ctx.subject + ": UDP_CHECK require_reply is not hex; any reply is accepted");
        p.reply_pattern.clear();
        p.reply_mask.clear();
    }
    p.min_reply_length = static_cast<int>(u.min_reply_length());
    p.max_reply_length = u.max_reply_length() ? static_cast<int>(u.max_reply_length()) : 255;
    return p;
}

std::optional<CheckSpec> check_from(const cfg::Checker& ch, const Context& ctx) {
    CheckSpec spec;
    auto common = [&](const cfg::CheckCommon& c) {
        spec.timing = timing_from(c, ctx.rs);
        spec.target = target_from(c, ctx.rs);
    };
    switch (ch.kind_case()) {
        case cfg::Checker::kTcpCheck:
            common(ch.tcp_check().common());
            spec.params = TcpParams{};
            break;
        case cfg::Checker::kHttpGet:
            common(ch.http_get().common());
            spec.params = http_from(ch.http_get(), false, ctx);
            break;
        case cfg::Checker::kSslGet:
            common(ch.ssl_get().common());
            spec.params = http_from(ch.ssl_get(), true, ctx);
            break;
        case cfg::Checker::kMiscCheck: {
            const auto& m = ch.misc_check();
            common(m.common());
            MiscParams p;
            p.path = m.misc_path();
            p.timeout = m.misc_timeout_ms() ? ms(m.misc_timeout_ms()) : spec.timing.delay_loop;
            p.dynamic = m.misc_dynamic();
            p.user = m.user();
            p.group = m.group();
            spec.params = p;
            break;
        }
        case cfg::Checker::kPingCheck:
            common(ch.ping_check().common());
            spec.params = PingParams{};
            break;
        case cfg::Checker::kUdpCheck:
            common(ch.udp_check().common());
            spec.params = udp_from(ch.udp_check(), ctx);
            break;
        case cfg::Checker::kDnsCheck: {
            common(ch.dns_check().common());
            DnsParams p;
            if (!ch.dns_check().type().empty()) p.type = ch.dns_check().type();
            if (!ch.dns_check().name().empty()) p.name = ch.dns_check().name();
            spec.params = p;
            break;
        }
        case cfg::Checker::kSmtpCheck: {
            common(ch.smtp_check().common());
            SmtpParams p;
            if (!ch.smtp_check().helo_name().empty()) p.helo_name = ch.smtp_check().helo_name();
            if (ch.smtp_check().host_size() > 0) {
                ctx.warnings.push_back(ctx.subject + ": SMTP_CHECK host blocks are not acted on yet");
            }
            spec.params = p;
            break;
        }
        case cfg::Checker::kFileCheck: {
            const auto& f = ch.file_check();
            common(f.common());
            FileParams p;
            p.track_file = f.track_file();
            const cfg::TrackFileDef* def = nullptr;
            for (const auto& t : ctx.config.track_file()) {
                if (t.name() == f.track_file()) def = &t;
            }
            if (!def) {
                ctx.warnings.push_back(ctx.subject + ": FILE_CHECK track_file " + f.track_file() +
                                       " not found");
                return std::nullopt;
            }
            p.path = def->file();
            p.weight = f.weight() != 0 ? f.weight() : def->weight();
            p.reverse = f.weight_reverse() || (f.weight() == 0 && def->weight_reverse());
            spec.params = p;
            break;
        }
        case cfg::Checker::kBfdCheck:
            ctx.warnings.push_back(ctx.subject + ": BFD_CHECK is not supported; ignored");
            return std::nullopt;
        default:
            return std::nullopt;
    }
    return spec;
}

// check_script { NAME } in the virtual server: the vrrp_script run against this real server.
std::optional<CheckSpec> script_check_from(const std::string& name, const Context& ctx) {
    const cfg::VrrpScript* script = nullptr;
    for (const auto& s : ctx.config.vrrp_script()) {
        if (s.name() == name) script = &s;
    }
    if (!script) {
        ctx.warnings.push_back(ctx.subject + ": check_script " + name + " names no vrrp_script");
        return std::nullopt;
    }
    CheckSpec spec;
    spec.timing.delay_loop = ms(script->interval_ms() ? script->interval_ms() : 1000);
    spec.timing.delay_before_retry = spec.timing.delay_loop;
    spec.timing.connect_timeout = script->timeout_ms() ? ms(script->timeout_ms()) : spec.timing.delay_loop;
    spec.timing.retry = script->fall() > 1 ? static_cast<int>(script->fall()) - 1 : 0;
    spec.timing.rise = script->rise() ? static_cast<int>(script->rise()) : 1;
    spec.timing.alpha = script->init_fail();
    spec.target.ip = ctx.rs.address();
    spec.target.port = static_cast<uint16_t>(ctx.rs.port());
    ScriptParams p;
    p.name = name;
    p.script = script->script();
    p.timeout = spec.timing.connect_timeout;
    p.user = script->user();
    p.group = script->group();
    spec.params = p;
    return spec;
}

std::string ha_suspend_instance(const cfg::Config& config, const cfg::VirtualServer& vs,
                                std::vector<std::string>& warnings, const std::string& name) {
    for (const auto& inst : config.vrrp_instance()) {
        for (const auto& vip : inst.virtual_ipaddress()) {
            if (vip.address() == vs.address()) return inst.name();
        }
    }
    warnings.push_back(name + ": ha_suspend, but no vrrp_instance holds " + vs.address() +
                       "; its checks are never suspended");
    return {};
}

}  // namespace

CheckerConfig from_proto(const cfg::Config& config) {
    CheckerConfig out;
    for (const auto& vs : config.virtual_server()) {
        VirtualServerSpec spec;
        spec.name = vs_name(vs);
        spec.ip = vs.address();
        spec.port = static_cast<uint16_t>(vs.port());
        spec.fwmark = vs.fwmark();
        spec.group = vs.group();
        spec.protocol = vs.protocol() == cfg::UDP ? "UDP" : vs.protocol() == cfg::SCTP ? "SCTP" : "TCP";
        spec.quorum = static_cast<int>(vs.quorum());
        spec.hysteresis = static_cast<int>(vs.hysteresis());
        spec.omega = vs.omega();
        spec.quorum_up.command = vs.quorum_up();
        spec.quorum_down.command = vs.quorum_down();
        if (vs.has_sorry_server() && !vs.sorry_server().address().empty()) {
            RealServerSpec sorry;
            sorry.ip = vs.sorry_server().address();
            sorry.port =
                static_cast<uint16_t>(vs.sorry_server().port() ? vs.sorry_server().port() : vs.port());
            sorry.weight = 1;
            spec.sorry_server = sorry;
            spec.sorry_server_inhibit = vs.sorry_server().inhibit();
        }
        if (vs.ha_suspend())
            spec.ha_suspend_instance = ha_suspend_instance(config, vs, out.warnings, spec.name);
        for (const auto& rs : vs.real_server()) {
            RealServerSpec r;
            r.ip = rs.address();
            r.port = static_cast<uint16_t>(rs.port());
            r.weight = rs.weight();
            r.inhibit_on_failure =
                rs.has_inhibit_on_failure() ? rs.inhibit_on_failure() : vs.inhibit_on_failure();
            r.notify_up.command = rs.notify_up();
            r.notify_down.command = rs.notify_down();
            const Context ctx{config, vs, rs, out.warnings,
                              "[" + spec.name + " -> " + format_endpoint(r.ip, r.port) + "]"};
            for (const auto& ch : rs.checkers()) {
                if (auto c = check_from(ch, ctx)) r.checks.push_back(std::move(*c));
            }
            for (const auto& name : vs.check_script()) {
                if (auto c = script_check_from(name, ctx)) r.checks.push_back(std::move(*c));
            }
            spec.real_servers.push_back(std::move(r));
        }
        out.virtual_servers.push_back(std::move(spec));
    }
    return out;
}

}  // namespace vigil::check
