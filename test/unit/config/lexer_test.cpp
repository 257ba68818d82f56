// The preprocessor and tokenizer: comments, quotes, blocks, include, parameters, conditionals, repetition.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "helpers.hpp"

using namespace vigil::test;
using cfg::Severity;

TEST_CASE("comments with # and ! end a line anywhere, but not inside quotes") {
    auto r = parse(
        "# comment\n"
        "! another\n"
        "global_defs { # trailing\n"
        "    router_id \"a#b!c\" ! gone\n"
        "}\n");
    INFO(dump(r));
    REQUIRE(r.ok());
    CHECK(r.config.global_defs().router_id() == "a#b!c");
}

TEST_CASE("quoted strings keep spaces and apply escapes") {
    auto r = parse(
        "vrrp_script s {\n"
        "    script \"/bin/echo 'a b'  \\x41\\t\"\n"
        "}\n");
    INFO(dump(r));
    REQUIRE(r.ok());
    CHECK(r.config.vrrp_script(0).script() == "/bin/echo 'a b'  A\t");
}

TEST_CASE("a block may open on the next line and close on the same line") {
    auto r = parse(
        "vrrp_instance VI_1\n"
        "{\n"
        "    interface lo\n"
        "    virtual_router_id 7\n"
        "    virtual_ipaddress { 10.0.0.1/24 }\n"
        "}\n");
    INFO(dump(r));
    REQUIRE(r.ok());
    REQUIRE(r.config.vrrp_instance_size() == 1);
    CHECK(r.config.vrrp_instance(0).virtual_ipaddress(0).address() == "10.0.0.1");
    CHECK(r.config.vrrp_instance(0).virtual_ipaddress(0).prefix() == 24);
}

TEST_CASE("an unclosed block is an error at its opening brace") {
    auto r = parse("global_defs {\n    router_id x\n");
    CHECK_FALSE(r.ok());
    CHECK(has_error(r, 1, 13, "never closed"));
}

TEST_CASE("a stray closing brace is an error where it stands") {
    auto r = parse("global_defs {\n}\n  }\n");
    CHECK(has_error(r, 3, 3, "'}' without a matching '{'"));
}

TEST_CASE("a trailing semicolon ends a statement with a warning") {
    auto r = parse("vrrp_script chk {\n    script \"/bin/true\";\n    interval 2;\n}\n");
    INFO(dump(r));
    REQUIRE(r.ok());
    CHECK(has_warning(r, 2, 23, "trailing ';'"));
    CHECK(has_warning(r, 3, 15, "trailing ';'"));
    CHECK(r.config.vrrp_script(0).script() == "/bin/true");
    CHECK(r.config.vrrp_script(0).interval_ms() == 2000);
}

TEST_CASE("parameters: $NAME followed by a space, ${NAME} anywhere, recursive at use time") {
    auto r = parse(
        "$BASE=10.2.${SUB}\n"
        "$SUB=0\n"
        "$IF=lo\n"
        "vrrp_instance VI_1 {\n"
        "    interface $IF\n"
        "    virtual_router_id 1\n"
        "    virtual_ipaddress {\n"
        "        ${BASE}.100/32\n"
        "$SUB=10\n"
        "        ${BASE}.100/32\n"
        "        ${UNDEFINED}\n"
        "    }\n"
        "}\n");
    INFO(dump(r));
    const auto& vi = r.config.vrrp_instance(0);
    CHECK(vi.interface() == "lo");
    REQUIRE(vi.virtual_ipaddress_size() == 2);
    CHECK(vi.virtual_ipaddress(0).address() == "10.2.0.100");
    CHECK(vi.virtual_ipaddress(1).address() == "10.2.10.100");
    // An undefined parameter stays as written, and is then not an address.
    CHECK(has_error(r, 11, 9, "'${UNDEFINED}' is not an IPv4 or IPv6 address"));
}

TEST_CASE("multi-line parameters expand into several statements, definitions inside them apply in order") {
    auto r = parse(
        "$RS= \\\n"
        "real_server 10.0.0.${N} 80 { \\\n"
        "    weight ${N} \\\n"
        "}\n"
        "virtual_server 10.1.1.1 80 {\n"
        "    $N=1\n"
        "    $RS\n"
        "    $N=2\n"
        "    $RS\n"
        "}\n");
    INFO(dump(r));
    REQUIRE(r.ok());
    const auto& vs = r.config.virtual_server(0);
    REQUIRE(vs.real_server_size() == 2);
    CHECK(vs.real_server(0).address() == "10.0.0.1");
    CHECK(vs.real_server(1).weight() == 2);
}

TEST_CASE("a parameter that contains itself is an error, not a hang") {
    auto r = parse("$A=x${A}\nglobal_defs {\n    router_id ${A}\n}\n");
    CHECK_FALSE(r.ok());
    CHECK(has_error(r, 3, 5, "does not end"));
}

TEST_CASE("conditional lines: @id keeps a line for that config id, @^id for every other") {
    const char* text =
        "global_defs {\n"
        "@main    router_id main_router\n"
        "@backup  router_id backup_router\n"
        "@^main   notification_email_from not-main@x\n"
        "}\n";
    cfg::ParseOptions main;
    main.config_id = "main";
    auto a = parse(text, main);
    CHECK(a.config.global_defs().router_id() == "main_router");
    CHECK(a.config.global_defs().notification_email_from().empty());
    cfg::ParseOptions backup;
    backup.config_id = "backup";
    auto b = parse(text, backup);
    CHECK(b.config.global_defs().router_id() == "backup_router");
    CHECK(b.config.global_defs().notification_email_from() == "not-main@x");
}

TEST_CASE("~SEQ repeats the rest of the line; ~SEQx formats in hex; ~LST takes listed values") {
    auto r = parse(
        "vrrp_instance V4 {\n"
        "    interface lo\n"
        "    virtual_router_id 1\n"
        "    virtual_ipaddress {\n"
        "        ~SEQ(S, 0, 3) 10.0.${S}.1\n"
        "        ~LST({A, B}, {7, 1}, {8, 2}) 10.9.${A}.${B}\n"
        "    }\n"
        "}\n"
        "vrrp_instance V6 {\n"
        "    interface lo\n"
        "    virtual_router_id 2\n"
        "    version 3\n"
        "    virtual_ipaddress {\n"
        "        ~SEQx(X, 0x90, 0x10, 0xc0) fe80::20:${X}:1\n"
        "    }\n"
        "}\n");
    INFO(dump(r));
    REQUIRE(r.ok());
    const auto& v4 = r.config.vrrp_instance(0);
    REQUIRE(v4.virtual_ipaddress_size() == 6);
    CHECK(v4.virtual_ipaddress(3).address() == "10.0.3.1");
    CHECK(v4.virtual_ipaddress(5).address() == "10.9.8.2");
    const auto& v6 = r.config.vrrp_instance(1);
    REQUIRE(v6.virtual_ipaddress_size() == 4);
    CHECK(v6.virtual_ipaddress(1).address() == "fe80::20:a0:1");
}

TEST_CASE("~SEQ that would produce too many lines is an error, not an exhausted memory") {
    auto r = parse("~SEQ(A, 1, 100000000) global_defs { }\n");
    CHECK_FALSE(r.ok());
    CHECK(has_error(r, 1, 1, "more than"));
}

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/vigil-config-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string write(const std::string& name, const std::string& text) {
        auto p = path / name;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p) << text;
        return p.string();
    }
};

}  // namespace

TEST_CASE("include takes globs relative to the including file, and locations name the included file") {
    TempDir dir;
    auto main = dir.write("main.conf", "include conf.d/*.conf\n");
    dir.write("conf.d/a.conf", "global_defs {\n    router_id from_a\n}\n");
    dir.write("conf.d/b.conf", "vrrp_script s {\n    interval x\n}\n");
    auto r = cfg::parse_file(main, {});
    CHECK(r.config.global_defs().router_id() == "from_a");
    CHECK(r.config.vrrp_script_size() == 1);
    bool located = false;
    for (const auto& d : r.diagnostics)
        located |= d.file == (dir.path / "main.conf").parent_path().string() + "/conf.d/b.conf" &&
                   d.line == 2 && d.column == 14 && d.severity == Severity::kError;
    INFO(dump(r));
    CHECK(located);
}

TEST_CASE("a file that includes itself is stopped with an error") {
    TempDir dir;
    auto main = dir.write("loop.conf", "include loop.conf\n");
    auto r = cfg::parse_file(main, {});
    CHECK_FALSE(r.ok());
    bool nested = false;
    for (const auto& d : r.diagnostics) nested |= d.message.find("nested too deeply") != std::string::npos;
    CHECK(nested);
}

TEST_CASE("a missing file is an error naming it") {
    auto r = cfg::parse_file("/nonexistent/vigil.conf", {});
    REQUIRE(r.error_count() == 1);
    CHECK(r.diagnostics[0].message.find("cannot read /nonexistent/vigil.conf") != std::string::npos);
}

TEST_CASE("diagnostics print as FILE:LINE:COL: severity: MESSAGE, the line, and a caret under the column") {
    cfg::Diagnostic d;
    d.file = "x.conf";
    d.line = 3;
    d.column = 5;
    d.message = "boom";
    d.source_line = "\tab cd";
    CHECK(cfg::format_diagnostic(d) == "x.conf:3:5: error: boom\n\tab cd\n\t   ^\n");
    d.severity = cfg::Severity::kWarning;
    CHECK(cfg::format_diagnostic(d).rfind("x.conf:3:5: warning: boom\n", 0) == 0);
}

TEST_CASE("a large file is parsed whole while the text already parsed is released") {
    TempDir dir;
    std::string text = "vrrp_script early {\n    script /bin/true\n}\n";
    for (int v = 0; v < 3000; ++v) {
        text += "virtual_server 10.0." + std::to_string(v / 250) + "." + std::to_string(v % 250) + " 80 {\n";
        text += "    delay_loop 6\n";
        for (int r = 1; r <= 5; ++r)
            text += "    real_server 10.1.0." + std::to_string(r) +
                    " 80 {\n        TCP_CHECK {\n        }\n    }\n";
        text += "}\n";
    }
    // A reference to an undefined script, first seen early in the file, reported after the whole file is
    // read.
    text +=
        "vrrp_instance V {\n    interface lo\n    virtual_router_id 1\n    track_script {\n        nosuch\n  "
        "  }\n}\n";
    auto path = dir.write("big.conf", text);
    auto r = cfg::parse_file(path, {});
    REQUIRE(r.config.virtual_server_size() == 3000);
    CHECK(r.config.virtual_server(2999).address() == "10.0.11.249");
    CHECK(r.config.virtual_server(2999).real_server(4).address() == "10.1.0.5");
    CHECK(r.config.vrrp_script(0).script() == "/bin/true");
    REQUIRE(r.error_count() == 1);
    CHECK(r.diagnostics[0].message.find("no vrrp_script named 'nosuch'") != std::string::npos);
    CHECK(r.diagnostics[0].source_line == "        nosuch");
}
