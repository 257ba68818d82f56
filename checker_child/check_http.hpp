#pragma once
// HTTP_GET and SSL_GET: for every url, one connection, one GET, the status checked against the accepted codes
// and the body's MD5 against the digest (as keepalived's genhash prints it). SSL_GET does not verify the
// server's certificate (keepalived does not either); it sends SNI when enable_sni is set.

#include <optional>

#include "checker_child/check.hpp"

namespace vigil::check {

class HttpCheck : public Check {
  public:
    HttpCheck(ConnectTarget target, Duration timeout, HttpParams params);
    // Checks every url in turn; the first failure is the result.
    asio::awaitable<CheckResult> run() override;
    std::string describe() const override;

  private:
    asio::awaitable<CheckResult> check_url(const HttpUrl& url);

    ConnectTarget target_;
    Duration timeout_;
    HttpParams params_;
};

// A parsed HTTP response.
struct HttpResponse {
    int status = 0;
    std::string body;  // de-chunked
};

// Parses a complete response (headers and body as read until the server closed or Content-Length was
// reached). Returns nullopt and sets `error` when it is not HTTP.
std::optional<HttpResponse> parse_http_response(const std::string& raw, std::string& error);

// True when `raw` already holds the whole response (its Content-Length reached, or the last chunk read).
bool http_response_complete(const std::string& raw);

// Lower-case hex MD5 of `data`.
std::string md5_hex(const std::string& data);

// The request line and headers sent for `url`.
std::string http_request(const HttpUrl& url, const std::string& protocol, const ConnectTarget& target);

}  // namespace vigil::check
