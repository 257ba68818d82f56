#include "checker_child/check.hpp"

#include "checker_child/check_dns.hpp"
#include "checker_child/check_file.hpp"
#include "checker_child/check_http.hpp"
#include "checker_child/check_misc.hpp"
#include "checker_child/check_ping.hpp"
#include "checker_child/check_smtp.hpp"
#include "checker_child/check_tcp.hpp"
#include "checker_child/check_udp.hpp"

namespace vigil::check {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

std::shared_ptr<Check> make_check(const CheckSpec& spec, const RealServerSpec& rs) {
    const auto& target = spec.target;
    const auto timeout = spec.timing.connect_timeout;
    return std::visit(Overloaded{
                          [&](const TcpParams&) -> std::shared_ptr<Check> {
                              return std::make_shared<TcpCheck>(target, timeout);
                          },
                          [&](const HttpParams& p) -> std::shared_ptr<Check> {
                              return std::make_shared<HttpCheck>(target, timeout, p);
                          },
                          [&](const MiscParams& p) -> std::shared_ptr<Check> {
                              return std::make_shared<MiscCheck>(p, format_endpoint(rs.ip, rs.port));
                          },
                          [&](const PingParams&) -> std::shared_ptr<Check> {
                              return std::make_shared<PingCheck>(target, timeout);
                          },
                          [&](const UdpParams& p) -> std::shared_ptr<Check> {
                              return std::make_shared<UdpCheck>(target, timeout, p);
                          },
                          [&](const DnsParams& p) -> std::shared_ptr<Check> {
                              return std::make_shared<DnsCheck>(target, timeout, p);
                          },
                          [&](const SmtpParams& p) -> std::shared_ptr<Check> {
                              return std::make_shared<SmtpCheck>(target, timeout, p);
                          },
                          [&](const FileParams& p) -> std::shared_ptr<Check> {
                              return std::make_shared<FileCheck>(p, rs.weight);
                          },
                          [&](const ScriptParams& p) -> std::shared_ptr<Check> {
                              return std::make_shared<ScriptCheck>(p, rs.ip, rs.port);
                          },
                      },
                      spec.params);
}

std::string check_type_name(const CheckParams& params) {
    return std::visit(Overloaded{
                          [](const TcpParams&) -> std::string { return "TCP_CHECK"; },
                          [](const HttpParams& p) -> std::string { return p.tls ? "SSL_GET" : "HTTP_GET"; },
                          [](const MiscParams&) -> std::string { return "MISC_CHECK"; },
                          [](const PingParams&) -> std::string { return "PING_CHECK"; },
                          [](const UdpParams&) -> std::string { return "UDP_CHECK"; },
                          [](const DnsParams&) -> std::string { return "DNS_CHECK"; },
                          [](const SmtpParams&) -> std::string { return "SMTP_CHECK"; },
                          [](const FileParams&) -> std::string { return "FILE_CHECK"; },
                          [](const ScriptParams&) -> std::string { return "check_script"; },
                      },
                      params);
}

}  // namespace vigil::check
