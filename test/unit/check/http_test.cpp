// HTTP_GET and SSL_GET against in-process servers on 127.0.0.1 (SSL_GET with a self-signed certificate made
// here).
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <asio/ssl.hpp>

#include "checker_child/check_http.hpp"
#include "test/unit/check/support.hpp"

using namespace vigil::check;
using namespace vigil::check::test;
using namespace std::chrono_literals;
using asio::ip::tcp;

namespace {

struct Reply {
    int status = 200;
    std::string body = "hello\n";
    bool chunked = false;
    bool silent = false;  // never answer
    bool eager = false;   // answer at once, without reading the request
};

std::string render(const Reply& reply) {
    std::string out = "HTTP/1.0 " + std::to_string(reply.status) + " X\r\nServer: test\r\n";
    if (reply.chunked) {
        out += "Transfer-Encoding: chunked\r\n\r\n";
        const auto half = reply.body.size() / 2;
        char size[32];
        std::snprintf(size, sizeof size, "%zx", half);
        out += std::string(size) + "\r\n" + reply.body.substr(0, half) + "\r\n";
        std::snprintf(size, sizeof size, "%zx", reply.body.size() - half);
        out += std::string(size) + "\r\n" + reply.body.substr(half) + "\r\n0\r\n\r\n";
    } else {
        out += "\r\n" + reply.body;
    }
    return out;
}

// Serves `count` connections: reads the request (recorded), writes the reply, closes.
template <typename MakeStream>
asio::awaitable<void> serve(tcp::acceptor& acceptor, Reply reply, std::vector<std::string>& requests,
                            int count, MakeStream make_stream) {
    for (int i = 0; i < count; ++i) {
        auto socket = co_await acceptor.async_accept(asio::use_awaitable);
        auto stream = co_await make_stream(std::move(socket));
        std::string request;
        std::error_code ec;
        if (!reply.eager)
            co_await asio::async_read_until(*stream, asio::dynamic_buffer(request), "\r\n\r\n",
                                            asio::redirect_error(asio::use_awaitable, ec));
        requests.push_back(request);
        if (reply.silent) {
            asio::steady_timer t(co_await asio::this_coro::executor, 10s);
            co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        const std::string response = render(reply);
        co_await asio::async_write(*stream, asio::buffer(response),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if constexpr (requires { stream->async_shutdown(asio::use_awaitable); }) {
            co_await stream->async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
        }
    }
}

auto plain_stream = [](tcp::socket socket) -> asio::awaitable<std::unique_ptr<tcp::socket>> {
    co_return std::make_unique<tcp::socket>(std::move(socket));
};

HttpUrl url(const std::string& path, std::vector<std::pair<int, int>> codes = {}, std::string digest = {}) {
    HttpUrl u;
    u.path = path;
    u.status_ranges = std::move(codes);
    u.digest = std::move(digest);
    return u;
}

struct HttpFixture {
    asio::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::vector<std::string> requests;
    uint16_t port() const { return acceptor.local_endpoint().port(); }

    CheckResult check(const Reply& reply, HttpParams params, Duration timeout = 2s) {
        const int count = static_cast<int>(std::max<std::size_t>(1, params.urls.size()));
        asio::co_spawn(io, serve(acceptor, reply, requests, count, plain_stream), asio::detached);
        HttpCheck check(loopback(port()), timeout, std::move(params));
        return run_check(io, check);
    }
};

}  // namespace

TEST_CASE("HTTP_GET succeeds on a 2xx status by default") {
    HttpFixture f;
    HttpParams p;
    p.urls = {url("/health")};
    const auto r = f.check(Reply{}, p);
    CHECK(r.ok);
    CHECK(r.reason == "HTTP 200 from /health");
    REQUIRE(f.requests.size() == 1);
    CHECK(f.requests[0].rfind("GET /health HTTP/1.0\r\n", 0) == 0);
    CHECK(f.requests[0].find("Host: 127.0.0.1:" + std::to_string(f.port()) + "\r\n") != std::string::npos);
}

TEST_CASE("HTTP_GET fails on a status outside status_code, naming status and path") {
    HttpFixture f;
    HttpParams p;
    p.urls = {url("/health")};
    const auto r = f.check(Reply{503}, p);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "HTTP 503 from /health");
}

TEST_CASE("HTTP_GET accepts the status codes and ranges configured") {
    HttpFixture f;
    HttpParams p;
    p.urls = {url("/", {{301, 302}, {404, 404}})};
    CHECK(f.check(Reply{404}, p).ok);
    HttpFixture g;
    CHECK_FALSE(g.check(Reply{200}, p).ok);
}

TEST_CASE("HTTP_GET checks the MD5 digest of the body, de-chunked") {
    const std::string body = "the quick brown fox\n";
    const std::string digest = md5_hex(body);
    CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
    {
        HttpFixture f;
        HttpParams p;
        p.urls = {url("/", {}, digest)};
        CHECK(f.check(Reply{200, body}, p).ok);
    }
    {
        HttpFixture f;
        HttpParams p;
        p.urls = {url("/", {}, digest)};
        CHECK(f.check(Reply{200, body, true}, p).ok);
    }
    {
        HttpFixture f;
        HttpParams p;
        p.urls = {url("/", {}, digest)};
        const auto r = f.check(Reply{200, "something else"}, p);
        CHECK_FALSE(r.ok);
        CHECK(r.reason.find("digest " + md5_hex("something else") + " from /") == 0);
    }
}

TEST_CASE("HTTP_GET sends the virtualhost as Host and Connection: close for 1.1") {
    HttpFixture f;
    HttpParams p;
    p.http_protocol = "1.1";
    auto u = url("/");
    u.virtualhost = "www.example.org";
    p.urls = {u};
    REQUIRE(f.check(Reply{}, p).ok);
    REQUIRE(f.requests.size() == 1);
    CHECK(f.requests[0].rfind("GET / HTTP/1.1\r\n", 0) == 0);
    CHECK(f.requests[0].find("\r\nHost: www.example.org\r\n") != std::string::npos);
    CHECK(f.requests[0].find("\r\nConnection: close\r\n") != std::string::npos);
}

TEST_CASE("HTTP_GET checks every url and fails on the first that fails") {
    HttpFixture f;
    HttpParams p;
    p.urls = {url("/a"), url("/b", {{201, 201}})};
    const auto r = f.check(Reply{200}, p);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "HTTP 200 from /b");
    CHECK(f.requests.size() == 2);
}

TEST_CASE("HTTP_GET times out when the server never answers") {
    HttpFixture f;
    HttpParams p;
    Reply silent;
    silent.silent = true;
    const auto r = f.check(silent, p, 300ms);
    CHECK_FALSE(r.ok);
    CHECK(r.reason == "timeout after 0.3 s");
    CHECK(r.timed_out);
}

TEST_CASE("parse_http_response rejects what is not HTTP") {
    std::string error;
    CHECK_FALSE(parse_http_response("SSH-2.0-OpenSSH\r\n", error));
    CHECK(error == "not an HTTP response");
    CHECK(parse_http_response("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", error)->status == 204);
    CHECK(http_response_complete("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    CHECK_FALSE(http_response_complete("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok"));
}

namespace {

// A self-signed certificate for CN=test.local, in PEM.
struct SelfSigned {
    std::string cert_pem;
    std::string key_pem;
    SelfSigned() {
        EVP_PKEY* key = EVP_EC_gen("P-256");
        X509* x = X509_new();
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), -60);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600);
        X509_set_pubkey(x, key);
        X509_NAME* name = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("test.local"), -1, -1, 0);
        X509_set_issuer_name(x, name);
        X509_sign(x, key, EVP_sha256());
        BIO* b = BIO_new(BIO_s_mem());
        PEM_write_bio_X509(b, x);
        char* data = nullptr;
        long n = BIO_get_mem_data(b, &data);
        cert_pem.assign(data, static_cast<std::size_t>(n));
        BIO_free(b);
        b = BIO_new(BIO_s_mem());
        PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
        n = BIO_get_mem_data(b, &data);
        key_pem.assign(data, static_cast<std::size_t>(n));
        BIO_free(b);
        X509_free(x);
        EVP_PKEY_free(key);
    }
};

}  // namespace

TEST_CASE("SSL_GET checks over TLS and sends SNI when enable_sni is set") {
    SelfSigned cert;
    asio::ssl::context server_ctx(asio::ssl::context::tls_server);
    server_ctx.use_certificate_chain(asio::buffer(cert.cert_pem));
    server_ctx.use_private_key(asio::buffer(cert.key_pem), asio::ssl::context::pem);
    std::string sni_seen = "(none)";

    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    std::vector<std::string> requests;
    auto tls_stream =
        [&](tcp::socket socket) -> asio::awaitable<std::unique_ptr<asio::ssl::stream<tcp::socket>>> {
        auto s = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(socket), server_ctx);
        std::error_code ec;
        co_await s->async_handshake(asio::ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, ec));
        const char* name = SSL_get_servername(s->native_handle(), TLSEXT_NAMETYPE_host_name);
        sni_seen = name ? name : "(none)";
        co_return s;
    };
    asio::co_spawn(io, serve(acceptor, Reply{200, "secure"}, requests, 2, tls_stream), asio::detached);

    HttpParams p;
    p.tls = true;
    auto u = url("/tls", {}, md5_hex("secure"));
    u.virtualhost = "www.example.org";
    p.urls = {u};
    HttpCheck without_sni(loopback(acceptor.local_endpoint().port()), 3s, p);
    const auto r1 = run_check(io, without_sni);
    CHECK(r1.ok);
    CHECK(r1.reason == "HTTP 200 from /tls");
    CHECK(sni_seen == "(none)");

    p.enable_sni = true;
    HttpCheck with_sni(loopback(acceptor.local_endpoint().port()), 3s, p);
    CHECK(run_check(io, with_sni).ok);
    CHECK(sni_seen == "www.example.org");
}

TEST_CASE("SSL_GET fails when the server does not speak TLS") {
    HttpFixture f;
    HttpParams p;
    p.tls = true;
    Reply eager;
    eager.eager = true;
    const auto r = f.check(eager, p, 2s);
    CHECK_FALSE(r.ok);
    CHECK(r.reason.rfind("TLS handshake failed", 0) == 0);
}
