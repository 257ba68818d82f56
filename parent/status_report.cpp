#include "parent/status_report.hpp"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <sstream>

#include "vigil/version.hpp"

namespace vigil::parent {

namespace pb = google::protobuf;
using vigil::control::ChildStatus;

vigil::control::StatusResponse assemble_status(const StatusInputs& in) {
    vigil::control::StatusResponse out;
    out.set_version(kVersion);
    out.set_pid(in.pid);
    auto* cfg = out.mutable_config();
    cfg->set_file(in.config_file);
    cfg->set_generation(in.generation);
    if (in.last_reload != nullptr) *cfg->mutable_last_reload() = *in.last_reload;
    for (const auto& c : in.children) {
        auto* s = out.add_children();
        s->set_role(c.role);
        s->set_pid(c.pid);
        s->set_state(c.state);
        s->set_restarts(c.restarts);
        *s->mutable_uptime() = pb::util::TimeUtil::MillisecondsToDuration(c.uptime.count());
        s->set_reason(c.reason);
        s->set_generation(c.generation);
    }
    if (in.store != nullptr) {
        *out.mutable_vrrp_instances() = in.store->vrrp_status().vrrp_instances();
        *out.mutable_virtual_servers() = in.store->checker_status().virtual_servers();
        if (in.store->checker_status().has_ipvs()) *out.mutable_ipvs() = in.store->checker_status().ipvs();
    }
    return out;
}

namespace {

// Left-aligned columns, widths from the content.
class Table {
  public:
    explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
    std::string str(const std::string& indent = "  ") const {
        std::vector<std::size_t> width;
        for (const auto& r : rows_)
            for (std::size_t i = 0; i < r.size(); ++i) {
                if (width.size() <= i) width.push_back(0);
                width[i] = std::max(width[i], r[i].size());
            }
        std::string out;
        for (const auto& r : rows_) {
            std::string line = indent;
            for (std::size_t i = 0; i < r.size(); ++i) {
                line += r[i];
                if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
            }
            out += line + "\n";
        }
        return out;
    }

  private:
    std::vector<std::vector<std::string>> rows_;
};

std::string uptime_text(const pb::Duration& d) {
    auto s = d.seconds();
    std::ostringstream o;
    if (s >= 86400) o << s / 86400 << "d";
    if (s >= 3600) o << (s % 86400) / 3600 << "h";
    if (s >= 60) o << (s % 3600) / 60 << "m";
    o << s % 60 << "s";
    return o.str();
}

std::string join(const pb::RepeatedPtrField<std::string>& v, const char* sep = ",") {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
    return out;
}

std::string vs_name(const vigil::status::VirtualServerStatus& vs) {
    if (vs.address().empty()) return "fwmark " + std::to_string(vs.fwmark());
    return virtual_server_key(vs);
}

std::string child_state_name(ChildStatus::State s) {
    auto n = ChildStatus::State_Name(s);
    for (auto& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return n;
}

}  // namespace

std::string format_status_text(const vigil::control::StatusResponse& st) {
    std::ostringstream o;
    o << "vigild " << st.version() << " (pid " << st.pid() << ")\n";
    const auto& cfg = st.config();
    o << "config: " << cfg.file() << ", generation " << cfg.generation() << "\n";
    if (cfg.has_last_reload()) {
        const auto& r = cfg.last_reload();
        o << "last reload: " << (r.ok() ? "ok" : "FAILED") << " at " << pb::util::TimeUtil::ToString(r.time())
          << "\n";
        for (const auto& e : r.errors()) o << "  error: " << e << "\n";
    }
    o << "\nchildren:\n";
    Table children({"ROLE", "PID", "STATE", "RESTARTS", "UPTIME", "GENERATION", "REASON"});
    for (const auto& c : st.children())
        children.add({c.role(), c.pid() ? std::to_string(c.pid()) : "-", child_state_name(c.state()),
                      std::to_string(c.restarts()), c.pid() ? uptime_text(c.uptime()) : "-",
                      std::to_string(c.generation()), c.reason()});
    o << children.str();
    if (st.vrrp_instances_size() > 0) {
        o << "\nvrrp instances:\n";
        Table t({"NAME", "INTERFACE", "VRID", "STATE", "PRIO", "EFFECTIVE", "MASTER", "TRANSITIONS", "VIPS"});
        for (const auto& vi : st.vrrp_instances())
            t.add({vi.name(), vi.interface(), std::to_string(vi.vrid()),
                   vigil::status::VrrpInstanceStatus::State_Name(vi.state()), std::to_string(vi.priority()),
                   std::to_string(vi.effective_priority()),
                   vi.master_address().empty() ? "-" : vi.master_address(), std::to_string(vi.transitions()),
                   join(vi.vips())});
        o << t.str();
    }
    if (st.virtual_servers_size() > 0) {
        o << "\nvirtual servers:\n";
        for (const auto& vs : st.virtual_servers()) {
            o << "  " << vs_name(vs) << "  " << (vs.scheduler().empty() ? "-" : vs.scheduler()) << "  quorum "
              << vs.quorum() << (vs.quorum_up() ? " (up)" : " (down)") << "\n";
            Table t({"REAL SERVER", "WEIGHT", "HEALTHY", "LAST", "REASON"});
            for (const auto& rs : vs.real_servers())
                t.add({real_server_key(rs), std::to_string(rs.weight()), rs.healthy() ? "yes" : "no",
                       vigil::status::CheckResult_Name(rs.last_result()), rs.reason()});
            o << t.str("    ");
        }
    }
    if (st.has_ipvs())
        o << "\nipvs: " << (st.ipvs().available() ? "available" : "unavailable: " + st.ipvs().reason())
          << "\n";
    return o.str();
}

std::string to_json(const pb::Message& message) {
    pb::util::JsonPrintOptions opts;
    opts.add_whitespace = true;
    opts.always_print_primitive_fields = true;
    std::string out;
    auto st = pb::util::MessageToJsonString(message, &out, opts);
    if (!st.ok()) return "{\"error\": \"cannot print as JSON\"}";
    return out;
}

}  // namespace vigil::parent
