#include "checker_child/check_http.hpp"

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <asio/ssl.hpp>
#include <cctype>
#include <cstdio>

#include "checker_child/net_util.hpp"

namespace vigil::check {

namespace {

constexpr std::size_t kMaxResponse = 16 * 1024 * 1024;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// The value of header `name` (lower-case) in `headers`, or empty.
std::string header_value(const std::string& headers, const std::string& name) {
    const std::string lowered = lower(headers);
    std::size_t pos = 0;
    while ((pos = lowered.find("\r\n" + name + ":", pos)) != std::string::npos) {
        std::size_t start = pos + 3 + name.size();
        const std::size_t end = headers.find("\r\n", start);
        while (start < end && (headers[start] == ' ' || headers[start] == '\t')) ++start;
        return headers.substr(start, end - start);
    }
    return {};
}

// Decodes a chunked body; returns false when it is incomplete or malformed.
bool dechunk(const std::string& in, std::string& out) {
    std::size_t pos = 0;
    out.clear();
    while (true) {
        const auto eol = in.find("\r\n", pos);
        if (eol == std::string::npos) return false;
        std::size_t size = 0;
        try {
            size = std::stoul(in.substr(pos, eol - pos), nullptr, 16);
        } catch (...) {
            return false;
        }
        pos = eol + 2;
        if (size == 0) return true;
        if (in.size() < pos + size) return false;
        out.append(in, pos, size);
        pos += size + 2;
    }
}

bool status_accepted(const HttpUrl& url, int status) {
    if (url.status_ranges.empty()) return status >= 200 && status <= 299;
    return std::any_of(url.status_ranges.begin(), url.status_ranges.end(),
                       [status](const auto& r) { return status >= r.first && status <= r.second; });
}

}  // namespace

std::string md5_hex(const std::string& data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), digest, &length, EVP_md5(), nullptr);
    std::string hex;
    char byte[3];
    for (unsigned int i = 0; i < length; ++i) {
        std::snprintf(byte, sizeof byte, "%02x", digest[i]);
        hex += byte;
    }
    return hex;
}

bool http_response_complete(const std::string& raw) {
    const auto end = raw.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const std::string headers = raw.substr(0, end);
    const std::string length = header_value(headers, "content-length");
    if (!length.empty()) {
        try {
            return raw.size() - (end + 4) >= std::stoul(length);
        } catch (...) {
            return false;
        }
    }
    if (lower(header_value(headers, "transfer-encoding")).find("chunked") != std::string::npos) {
        std::string body;
        return dechunk(raw.substr(end + 4), body);
    }
    return false;  // read until the server closes
}

std::optional<HttpResponse> parse_http_response(const std::string& raw, std::string& error) {
    if (raw.rfind("HTTP/", 0) != 0) {
        error = raw.empty() ? "empty HTTP response" : "not an HTTP response";
        return std::nullopt;
    }
    const auto space = raw.find(' ');
    if (space == std::string::npos || raw.size() < space + 4 ||
        !std::isdigit(static_cast<unsigned char>(raw[space + 1])) ||
        !std::isdigit(static_cast<unsigned char>(raw[space + 2])) ||
        !std::isdigit(static_cast<unsigned char>(raw[space + 3]))) {
        error = "malformed HTTP status line";
        return std::nullopt;
    }
    HttpResponse response;
    response.status = std::stoi(raw.substr(space + 1, 3));
    const auto end = raw.find("\r\n\r\n");
    if (end == std::string::npos) {
        error = "HTTP headers not terminated";
        return std::nullopt;
    }
    const std::string headers = raw.substr(0, end);
    std::string body = raw.substr(end + 4);
    if (lower(header_value(headers, "transfer-encoding")).find("chunked") != std::string::npos) {
        if (!dechunk(body, response.body)) {
            error = "malformed chunked body";
            return std::nullopt;
        }
    } else {
        const std::string length = header_value(headers, "content-length");
        if (!length.empty()) {
            std::size_t n = 0;
            try {
                n = std::stoul(length);
            } catch (...) {
                error = "bad Content-Length";
                return std::nullopt;
            }
            if (body.size() < n) {
                error = "HTTP body shorter than its Content-Length";
                return std::nullopt;
            }
            body.resize(n);
        }
        response.body = std::move(body);
    }
    return response;
}

std::string http_request(const HttpUrl& url, const std::string& protocol, const ConnectTarget& target) {
    const std::string host =
        url.virtualhost.empty() ? format_endpoint(target.ip, target.port) : url.virtualhost;
    std::string request = "GET " + url.path + (protocol == "1.1" ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
    request += "User-Agent: vigil-checker\r\nHost: " + host + "\r\n";
    if (protocol != "1.0") request += "Connection: close\r\n";
    request += "\r\n";
    return request;
}

HttpCheck::HttpCheck(ConnectTarget target, Duration timeout, HttpParams params)
    : target_(std::move(target)), timeout_(timeout), params_(std::move(params)) {
    if (params_.urls.empty()) params_.urls.push_back(HttpUrl{});
}

std::string HttpCheck::describe() const {
    return std::string(params_.tls ? "SSL_GET " : "HTTP_GET ") + format_endpoint(target_.ip, target_.port);
}

asio::awaitable<CheckResult> HttpCheck::run() {
    CheckResult result{true, "", {}};
    for (const auto& url : params_.urls) {
        result = co_await check_url(url);
        if (!result.ok) co_return result;
    }
    co_return result;
}

namespace {

// Sends the request and reads the response on any stream (plain socket or TLS stream).
template <typename Stream>
asio::awaitable<std::error_code> exchange(Stream& stream, const std::string& request, std::string& raw) {
    std::error_code ec;
    co_await asio::async_write(stream, asio::buffer(request), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return ec;
    char chunk[16384];
    while (raw.size() < kMaxResponse) {
        const std::size_t n = co_await stream.async_read_some(asio::buffer(chunk),
                                                              asio::redirect_error(asio::use_awaitable, ec));
        raw.append(chunk, n);
        if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) co_return std::error_code{};
        if (ec) co_return ec;
        if (http_response_complete(raw)) co_return std::error_code{};
    }
    co_return std::error_code{};
}

}  // namespace

asio::awaitable<CheckResult> HttpCheck::check_url(const HttpUrl& url) {
    auto executor = co_await asio::this_coro::executor;
    asio::ip::tcp::socket socket(executor);
    asio::ssl::context context(asio::ssl::context::tls_client);
    context.set_verify_mode(asio::ssl::verify_none);
    asio::ssl::stream<asio::ip::tcp::socket&> tls(socket, context);
    Deadline deadline(executor, timeout_, [&socket] { close_quietly(socket); });
    auto failed = [&](const std::string& why, const std::error_code& cause = {}) {
        return deadline.expired() ? deadline.timeout() : failure(cause, why);
    };

    auto ec = co_await connect_tcp(socket, target_);
    if (ec || deadline.expired()) co_return failed(describe_error(ec), ec);

    std::string raw;
    const std::string request = http_request(url, params_.http_protocol, target_);
    if (params_.tls) {
        const std::string& sni = params_.sni_name.empty() ? url.virtualhost : params_.sni_name;
        if (params_.enable_sni && !sni.empty()) SSL_set_tlsext_host_name(tls.native_handle(), sni.c_str());
        co_await tls.async_handshake(asio::ssl::stream_base::client,
                                     asio::redirect_error(asio::use_awaitable, ec));
        if (ec || deadline.expired()) co_return failed("TLS handshake failed: " + describe_error(ec));
        ec = co_await exchange(tls, request, raw);
    } else {
        ec = co_await exchange(socket, request, raw);
    }
    if (deadline.expired()) co_return failed("");
    if (ec) co_return failed(describe_error(ec), ec);

    std::string error;
    const auto response = parse_http_response(raw, error);
    if (!response) co_return failed(error + " from " + url.path);
    const std::string what = "HTTP " + std::to_string(response->status) + " from " + url.path;
    if (!status_accepted(url, response->status)) co_return failed(what);
    if (!url.digest.empty()) {
        const std::string digest = md5_hex(response->body);
        if (digest != lower(url.digest))
            co_return failed("digest " + digest + " from " + url.path + ", expected " + url.digest);
    }
    co_return CheckResult{true, what, {}};
}

}  // namespace vigil::check
