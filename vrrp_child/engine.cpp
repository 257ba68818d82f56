#include "vrrp_child/engine.hpp"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>
#include <algorithm>
#include <set>

#include <google/protobuf/util/time_util.h>

#include "common/ipc/keys.hpp"
#include "vrrp_child/address_manager.hpp"
#include "vrrp_child/script_tracker.hpp"

namespace vigil::vrrp {

namespace {

using vigil::status::VrrpInstanceStatus;

asio::ip::address to_asio(const IpAddr& a) {
    if (a.family == Family::kIpv4) {
        asio::ip::address_v4::bytes_type b;
        std::copy_n(a.bytes.begin(), 4, b.begin());
        return asio::ip::address_v4(b);
    }
    asio::ip::address_v6::bytes_type b;
    std::copy_n(a.bytes.begin(), 16, b.begin());
    return asio::ip::address_v6(b);
}

IpAddr from_asio(const asio::ip::address& a) {
    if (a.is_v4()) {
        auto b = a.to_v4().to_bytes();
        return IpAddr::from_bytes(Family::kIpv4, b);
    }
    auto b = a.to_v6().to_bytes();
    return IpAddr::from_bytes(Family::kIpv6, b);
}

VrrpInstanceStatus::State to_status(State s) {
    switch (s) {
        case State::kInitialize:
            return VrrpInstanceStatus::INIT;
        case State::kBackup:
            return VrrpInstanceStatus::BACKUP;
        case State::kMaster:
            return VrrpInstanceStatus::MASTER;
        case State::kFault:
            return VrrpInstanceStatus::FAULT;
    }
    return VrrpInstanceStatus::INIT;
}

std::optional<State> from_status(VrrpInstanceStatus::State s) {
    switch (s) {
        case VrrpInstanceStatus::BACKUP:
            return State::kBackup;
        case VrrpInstanceStatus::MASTER:
            return State::kMaster;
        case VrrpInstanceStatus::FAULT:
            return State::kFault;
        default:
            return std::nullopt;
    }
}

// The key a track_virtual_server names, in the form the checker reports health under (common/ipc/keys).
std::string tracked_virtual_server_key(const vigil::config::TrackVirtualServer& t) {
    auto proto = common::ipc::protocol_name(t.protocol());
    if (!t.group().empty()) return "group " + t.group() + " " + proto;
    if (t.fwmark()) return "fwmark " + std::to_string(t.fwmark()) + " " + proto;
    bool v6 = t.address().find(':') != std::string::npos;
    return (v6 ? "[" + t.address() + "]" : t.address()) + ":" + std::to_string(t.port()) + " " + proto;
}

google::protobuf::Timestamp to_timestamp(std::chrono::system_clock::time_point t) {
    return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

}  // namespace

EngineConfig make_engine_config(const vigil::config::Config& config) {
    EngineConfig out;
    std::map<std::string, const vigil::config::VrrpScript*> scripts;
    for (const auto& s : config.vrrp_script()) scripts[s.name()] = &s;
    std::map<std::string, std::string> group_of;
    for (const auto& g : config.vrrp_sync_group()) {
        SyncGroupConfig group;
        group.name = g.name();
        for (const auto& member : g.group()) {
            group.members.push_back(member);
            group_of[member] = g.name();
        }
        out.groups.push_back(std::move(group));
    }
    for (const auto& vi : config.vrrp_instance()) {
        auto built = make_instance_config(vi);
        for (auto& e : built.errors) out.errors.push_back("[" + vi.name() + "] " + e);
        if (!built.config) continue;
        InstanceConfig ic = std::move(*built.config);
        // track_script entries: the weight the instance gives, else the script's own.
        ic.track_scripts.clear();
        for (const auto& t : vi.track_script()) {
            auto it = scripts.find(t.name());
            if (it == scripts.end()) {
                out.errors.push_back("[" + vi.name() + "] track_script " + t.name() +
                                     " is not a vrrp_script");
                continue;
            }
            int weight = t.has_weight() ? t.weight() : it->second->weight();
            bool reverse = t.has_weight() ? t.weight_reverse() : it->second->weight_reverse();
            ic.track_scripts.push_back({t.name(), reverse ? -weight : weight});
        }
        ic.track_virtual_servers.clear();
        for (const auto& t : vi.track_virtual_server())
            ic.track_virtual_servers.push_back({tracked_virtual_server_key(t), t.weight()});
        if (auto g = group_of.find(vi.name()); g != group_of.end()) ic.sync_group = g->second;
        out.instances.push_back(std::move(ic));
    }
    return out;
}

Engine::Engine(asio::io_context& io) : io_(io), stop_timer_(io), scripts_(io) {
    if (auto loop = EventLoop::open(io)) {
        loop_ = std::move(loop.value());
        if (!loop_->nested()) spdlog::debug("event loop: inside Asio's (the slower mode)");
    } else {
        spdlog::error("event loop: {}", loop.error().message);
    }
    script_tracker_ = std::make_unique<ScriptTracker>(
        io, scripts_, [this](const std::string& name, bool ok) { on_script(name, ok); });
}

Engine::~Engine() = default;

void Engine::start(common::child::Uplink& uplink) {
    uplink_ = &uplink;
}

void Engine::run(asio::io_context& io) {
    if (loop_)
        loop_->run();
    else
        io.run();
}

bool Engine::open_io() {
    if (netlink_) return true;
    if (!loop_) return false;  // logged at start
    auto client = common::netlink::Client::open();
    if (!client) {
        spdlog::error("netlink: {}", client.error().message);
        return false;
    }
    netlink_.emplace(std::move(client.value()));
    auto links = LinkMonitor::open(io_, *netlink_, [this](const LinkChange& c) { on_link(c); });
    if (!links) {
        spdlog::error("link monitor: {}", links.error().message);
        netlink_.reset();
        return false;
    }
    links_ = std::move(links.value());
    auto garp = GarpSender::open(io_, *netlink_);
    if (!garp) {
        spdlog::error("gratuitous ARP socket: {}", garp.error().message);
        netlink_.reset();
        links_.reset();
        return false;
    }
    garp_ = std::move(garp.value());
    garp_->set_mac_source([this](int ifindex) { return links_ ? links_->mac(ifindex) : std::nullopt; });
    auto timer = TimerFd::open(*loop_, [this] { on_deadline(); });
    if (!timer) {
        spdlog::error("timer: {}", timer.error().message);
        netlink_.reset();
        links_.reset();
        garp_.reset();
        return false;
    }
    timer_ = std::move(timer.value());
    return true;
}

std::vector<std::string> Engine::prepare(std::uint64_t generation, const vigil::config::Config& config) {
    auto engine = make_engine_config(config);
    std::vector<std::string> errors = engine.errors;
    if (!open_io()) errors.push_back("vigil-vrrp cannot open its netlink and packet sockets (see its log)");
    for (const auto& ic : engine.instances) {
        if (links_ && !links_->ifindex(ic.interface))
            errors.push_back("[" + ic.name + "] interface " + ic.interface + " does not exist on this host");
        for (const auto& t : ic.track_interfaces)
            if (links_ && !links_->ifindex(t.name))
                errors.push_back("[" + ic.name + "] track_interface " + t.name +
                                 " does not exist on this host");
    }
    if (errors.empty()) {
        warn_foreign_sources(engine);
        prepared_ = Prepared{generation, config, std::move(engine)};
    }
    return errors;
}

void Engine::warn_foreign_sources(const EngineConfig& engine) {
    if (!netlink_) return;
    std::optional<std::vector<common::netlink::AddressInfo>> local;
    for (const auto& ic : engine.instances) {
        if (!ic.unicast_src) continue;
        if (!local) {
            auto listed = netlink_->list_addresses();
            if (!listed) return;  // no verdict without the list; the adverts go out either way
            local = std::move(listed.value());
        }
        const auto want = to_asio(*ic.unicast_src);
        const bool ours =
            std::any_of(local->begin(), local->end(),
                        [&](const common::netlink::AddressInfo& a) { return a.address == want; });
        // The kernel sends an advert from any source (IP_HDRINCL), as keepalived's: nothing else would say.
        if (!ours)
            spdlog::warn(
                "[{}] unicast_src_ip {} is not an address of this host: adverts still go out with it as "
                "their source",
                ic.name, ic.unicast_src->to_string());
    }
}

void Engine::commit(std::uint64_t generation) {
    if (!prepared_ || prepared_->generation != generation) return;
    Prepared p = std::move(*prepared_);
    prepared_.reset();
    running_ = std::move(p.config);
    std::vector<vigil::config::VrrpScript> tracked;
    for (const auto& s : running_.vrrp_script()) tracked.push_back(s);
    script_tracker_->configure(tracked, running_.global_defs());
    auto now = clock_.now();
    if (!core_) {
        core_ = std::make_unique<Core>(std::move(p.engine.instances), std::move(p.engine.groups));
        sync_sockets();
        set_primary_addresses();
        report_links(now);
        for (const auto& [name, ok] : script_tracker_->states()) execute(core_->set_script(name, ok, now));
        for (const auto& [vs, up] : remembered_quorum_) execute(core_->set_virtual_server(vs, up, now));
        remembered_quorum_.clear();
        if (remembered_.empty()) {
            execute(core_->start(now));
        } else {
            spdlog::info("resuming {} instance(s) from the states the previous vigil-vrrp reported",
                         remembered_.size());
            for (const auto& [name, st] : remembered_status_) {
                auto& x = extra_[name];
                x.transitions = st.transitions();
                if (st.has_last_transition_time())
                    x.last_transition = std::chrono::system_clock::time_point(std::chrono::nanoseconds(
                        google::protobuf::util::TimeUtil::TimestampToNanoseconds(st.last_transition_time())));
            }
            execute(core_->resume(remembered_, now));
        }
        remembered_.clear();
    } else {
        // Sockets for new interfaces first, so that a new instance can send at once; unused ones close after.
        for (const auto& ic : p.engine.instances)
            open_socket(ic.interface, ic.family == Family::kIpv6, ic.unicast());
        execute(core_->reload(std::move(p.engine.instances), std::move(p.engine.groups), now));
        sync_sockets();
        set_primary_addresses();
        report_links(now);
    }
    if (uplink_) uplink_->send_status();
}

void Engine::abort(std::uint64_t generation) {
    if (prepared_ && prepared_->generation == generation) prepared_.reset();
}

void Engine::restore(const vigil::ipc::Snapshot& snapshot) {
    for (const auto& s : snapshot.vrrp_instances()) {
        if (auto st = from_status(s.state())) {
            remembered_[s.name()] = *st;
            remembered_status_[s.name()] = s;
        }
    }
    for (const auto& h : snapshot.health())
        if (h.real_server().empty()) remembered_quorum_[h.virtual_server()] = h.up();
}

void Engine::on_peer_message(const vigil::ipc::Envelope& envelope) {
    if (!envelope.has_health() || !core_) return;
    const auto& h = envelope.health();
    // Health without a real server is the virtual server's quorum, which track_virtual_server follows.
    if (!h.real_server().empty()) return;
    execute(core_->set_virtual_server(h.virtual_server(), h.up(), clock_.now()));
}

}  // namespace vigil::vrrp

namespace vigil::vrrp {

bool Engine::open_socket(const std::string& ifname, bool ipv6, bool unicast_only) {
    auto key = std::make_pair(ifname, ipv6);
    if (sockets_.count(key)) return true;
    auto ifindex = links_ ? links_->ifindex(ifname) : std::nullopt;
    if (!ifindex) {
        spdlog::error("{}: no such interface; VRRP cannot run there", ifname);
        return false;
    }
    SocketOptions o;
    o.ifindex = *ifindex;
    o.ifname = ifname;
    o.ipv6 = ipv6;
    o.join_multicast = !unicast_only;
    auto sock = VrrpSocket::open(*loop_, o);
    if (!sock) {
        spdlog::error("{}: VRRP socket: {}", ifname, sock.error().message);
        return false;
    }
    sock.value()->start([this, ifname, ipv6](const ReceivedDatagram& d) { on_datagram(ifname, ipv6, d); },
                        [this, ifname](const std::string& why) { log_drop(ifname, why); });
    sockets_[key] = std::move(sock.value());
    return true;
}

void Engine::sync_sockets() {
    std::set<std::pair<std::string, bool>> used;
    for (const auto& name : core_->names()) {
        const auto& c = core_->find(name)->config();
        bool v6 = c.family == Family::kIpv6;
        // A socket that joined the group serves unicast instances too; a unicast-only one does not serve
        // multicast.
        bool unicast_only = c.unicast();
        for (const auto& other : core_->names()) {
            const auto& oc = core_->find(other)->config();
            if (oc.interface == c.interface && (oc.family == Family::kIpv6) == v6 && !oc.unicast())
                unicast_only = false;
        }
        if (open_socket(c.interface, v6, unicast_only)) used.insert({c.interface, v6});
    }
    for (auto it = sockets_.begin(); it != sockets_.end();) {
        if (used.count(it->first))
            ++it;
        else
            it = sockets_.erase(it);
    }
}

void Engine::set_primary_addresses() {
    if (!netlink_) return;
    auto addrs = netlink_->list_addresses();
    if (!addrs) {
        spdlog::warn("cannot list addresses: {}", addrs.error().message);
        return;
    }
    for (const auto& name : core_->names()) {
        Instance* inst = core_->find(name);
        const auto& c = inst->config();
        auto ifindex = links_->ifindex(c.interface);
        if (!ifindex) continue;
        for (const auto& a : addrs.value()) {
            if (a.ifindex != *ifindex) continue;
            bool v6 = a.address.is_v6();
            if (v6 != (c.family == Family::kIpv6)) continue;
            // IPv6 adverts come from the link-local address (RFC 5798 5.1.2.1).
            if (v6 && !a.address.to_v6().is_link_local()) continue;
            // A VIP of ours is not the router's own address.
            IpAddr addr = from_asio(a.address);
            bool is_vip = false;
            for (const auto& v : c.vips) is_vip |= v.address == addr;
            for (const auto& v : c.excluded_vips) is_vip |= v.address == addr;
            if (is_vip) continue;
            inst->set_primary_address(addr);
            break;
        }
    }
}

void Engine::report_links(TimePoint now) {
    std::set<std::string> names;
    for (const auto& name : core_->names()) {
        const auto& c = core_->find(name)->config();
        names.insert(c.interface);
        for (const auto& t : c.track_interfaces) names.insert(t.name);
    }
    for (const auto& ifname : names) {
        auto st = links_ ? links_->state(std::string_view(ifname)) : std::nullopt;
        execute(core_->set_link(ifname, st && *st == LinkState::kUp, now));
    }
}

void Engine::on_datagram(const std::string& ifname, bool ipv6, const ReceivedDatagram& d) {
    if (!core_ || stopping_) return;
    IpFacts facts;
    facts.family = ipv6 ? Family::kIpv6 : Family::kIpv4;
    facts.source = from_asio(d.source);
    facts.destination = from_asio(d.destination);
    facts.ttl = d.ttl < 0 ? 0 : static_cast<std::uint8_t>(d.ttl);
    facts.multicast = facts.destination.is_multicast();
    ReceiveResult result;
    // The advert counts from when the kernel received it, not from when this loop got round to it.
    const auto arrived = clock_.now() - std::chrono::duration_cast<Duration>(d.age);
    auto actions = core_->receive(ifname, facts, d.payload, arrived, &result);
    if (result.reason != Reason::kNone)
        log_drop(ifname, std::string(to_string(result.reason)) + " (from " + facts.source.to_string() + ")");
    execute(actions);
}

void Engine::on_link(const LinkChange& change) {
    if (!core_ || stopping_) return;
    bool up = change.state == LinkState::kUp;
    // The links present at start are recorded quietly by LinkMonitor::open(); what reaches here is news: a
    // change of state, or a link that appeared later.
    spdlog::info("{}: link {}{}", change.name, to_string(change.state),
                 change.first_seen ? " (new link)" : "");
    auto now = clock_.now();
    execute(core_->set_link(change.name, up, now));
    if (up) set_primary_addresses();
}

void Engine::on_script(const std::string& name, bool ok) {
    if (!core_ || stopping_) return;
    execute(core_->set_script(name, ok, clock_.now()));
}

void Engine::log_drop(const std::string& ifname, const std::string& what) {
    auto n = ++drops_[what];
    // At most one line per reason every 10 s; the count says how many were dropped meanwhile.
    if (drop_log_[what].ready(std::chrono::steady_clock::now())) {
        spdlog::warn("{}: dropped VRRP packet: {} ({} so far)", ifname, what, n);
    }
}

void Engine::execute(const Actions& actions) {
    for (const auto& action : actions) {
        std::visit(
            [this](const auto& a) {
                using T = std::decay_t<decltype(a)>;
                if constexpr (std::is_same_v<T, SendAdvert>) {
                    perform(a);
                } else if constexpr (std::is_same_v<T, ArmTimer> || std::is_same_v<T, CancelTimer>) {
                    // The Core keeps its deadlines; schedule() follows next_deadline().
                } else {
                    // What follows may start work on the Asio loop (netlink, the parent, scripts): when this
                    // runs from the EventLoop's own callbacks, Asio runs before the loop waits again.
                    if (loop_) loop_->wake_asio();
                    if constexpr (std::is_same_v<T, AddAddresses>)
                        perform_addresses(a.instance, a.addresses, true);
                    else if constexpr (std::is_same_v<T, RemoveAddresses>)
                        perform_addresses(a.instance, a.addresses, false);
                    else
                        perform(a);  // SendGratuitous, Notify, Transition
                }
            },
            action);
    }
    schedule();
}

void Engine::schedule() {
    if (!core_ || !timer_) return;
    if (auto next = core_->next_deadline())
        timer_->arm(*next);
    else
        timer_->cancel();
}

void Engine::on_deadline() {
    if (!core_ || stopping_) return;
    // An idle MASTER comes here once per advert: the list keeps its capacity from one advert to the next.
    Actions actions = std::move(spare_);
    actions.clear();
    core_->poll(clock_.now(), actions);
    execute(actions);
    spare_ = std::move(actions);
}

void Engine::perform(const SendAdvert& a) {
    const Instance* inst = core_->find(a.instance);
    if (!inst) return;
    const auto& c = inst->config();
    bool v6 = c.family == Family::kIpv6;
    auto it = sockets_.find({c.interface, v6});
    if (it == sockets_.end()) return;
    auto& sock = *it->second;
    std::optional<IpAddr> source = a.source ? a.source : inst->primary_address();
    if (!source) {
        log_drop(c.interface, "no address of " + std::string(to_string(c.family)) + " to send adverts from");
        return;
    }
    // No copy of the destinations (the group, or the unicast peers) and the bytes into packet_, whose
    // capacity stays: with the address list inline (Advert), an idle master sends without allocating.
    const IpAddr group = v6 ? vrrp_group_v6() : vrrp_group_v4();
    const std::span<const IpAddr> destinations =
        a.destinations.empty() ? std::span<const IpAddr>(&group, 1) : std::span<const IpAddr>(a.destinations);
    for (const auto& dst : destinations) {
        encode_into(a.advert, *source, dst, a.checksum_mode, packet_);
        auto st = sock.send(packet_, to_asio(dst), to_asio(*source));
        if (!st)
            spdlog::warn("[{}] advert to {} not sent: {}", a.instance, dst.to_string(), st.error().message);
    }
}

int Engine::ifindex_of(const std::string& instance, const VirtualAddress& vip) {
    const Instance* inst = core_->find(instance);
    std::string ifname = !vip.device.empty() ? vip.device : (inst ? inst->config().interface : "");
    auto idx = links_ ? links_->ifindex(ifname) : std::nullopt;
    return idx ? *idx : 0;
}

void Engine::perform_addresses(const std::string& instance, const std::vector<VirtualAddress>& addresses,
                               bool add) {
    if (!netlink_) return;
    AddressManager manager(*netlink_);
    for (const auto& vip : addresses) {
        common::netlink::AddressSpec spec;
        spec.ifindex = ifindex_of(instance, vip);
        spec.address = to_asio(vip.address);
        spec.prefix_len = vip.prefix_len;
        spec.label = vip.label;
        if (spec.ifindex == 0) {
            spdlog::error("[{}] {}: no interface", instance, vip.address.to_string());
            continue;
        }
        auto r = add ? manager.add(spec) : manager.remove(spec);
        if (!r)
            spdlog::error("[{}] {} {}: {}", instance, add ? "adding" : "removing", vip.address.to_string(),
                          r.error().message);
        else
            spdlog::debug("[{}] {}/{} {}", instance, vip.address.to_string(), vip.prefix_len,
                          to_string(r.value()));
    }
}

void Engine::perform(const SendGratuitous& a) {
    if (!garp_) return;
    for (unsigned i = 0; i < a.repeat; ++i) {
        for (const auto& vip : a.addresses) {
            int ifindex = ifindex_of(a.instance, vip);
            if (!ifindex) continue;
            auto addr = to_asio(vip.address);
            auto st = addr.is_v4() ? garp_->send_garp(ifindex, addr.to_v4())
                                   : garp_->send_na(ifindex, addr.to_v6());
            if (!st)
                spdlog::warn("[{}] gratuitous message for {} not sent: {}", a.instance, addr.to_string(),
                             st.error().message);
        }
    }
}

void Engine::perform(const Notify& a) {
    const vigil::config::VrrpInstance* vi = nullptr;
    for (const auto& v : running_.vrrp_instance())
        if (v.name() == a.instance) vi = &v;
    if (!vi) return;
    const std::string* specific = nullptr;
    switch (a.state) {
        case NotifyState::kMaster:
            specific = &vi->notify_master();
            break;
        case NotifyState::kBackup:
            specific = &vi->notify_backup();
            break;
        case NotifyState::kFault:
            specific = &vi->notify_fault();
            break;
        case NotifyState::kStop:
            specific = &vi->notify_stop();
            break;
    }
    auto launch = [this, &a](const std::string& line, bool with_arguments) {
        common::script::ScriptSpec spec;
        spec.argv = common::script::split_command(line);
        if (with_arguments)
            for (auto& arg : a.arguments()) spec.argv.push_back(arg);
        std::string name = a.instance;
        scripts_.run(spec, [name, line](const common::script::ScriptResult& r) {
            if (!r.ok())
                spdlog::warn("[{}] notify script {}: {}", name, line, r.reason(std::chrono::seconds(10)));
        });
    };
    if (specific && !specific->empty()) launch(*specific, false);
    // `notify` gets keepalived's arguments: INSTANCE NAME STATE PRIORITY.
    if (!vi->notify().empty()) launch(vi->notify(), true);
}

void Engine::perform(const Transition& a) {
    auto& x = extra_[a.instance];
    ++x.transitions;
    x.last_transition = std::chrono::system_clock::now();
    x.reason = a.reason;
    if (!uplink_) return;
    vigil::ipc::Envelope state;
    state.mutable_vrrp_state()->set_instance(a.instance);
    state.mutable_vrrp_state()->set_state(to_status(a.to));
    uplink_->send(std::move(state));
    vigil::ipc::Envelope event;
    auto* e = event.mutable_event();
    e->set_severity(a.to == State::kFault ? vigil::ipc::Event::WARNING : vigil::ipc::Event::INFO);
    e->set_subject(a.instance);
    e->set_text(std::string(to_string(a.from)) + " -> " + std::string(to_string(a.to)) + " (" + a.reason +
                ")");
    *e->mutable_time() = to_timestamp(*x.last_transition);
    uplink_->send(std::move(event));
    uplink_->send_status();
}

void Engine::fill_status(vigil::ipc::Status& status) {
    if (!core_) return;
    for (const auto& name : core_->names()) {
        const Instance* inst = core_->find(name);
        const auto& c = inst->config();
        auto* s = status.add_vrrp_instances();
        s->set_name(name);
        s->set_interface(c.interface);
        s->set_vrid(c.vrid);
        s->set_state(to_status(inst->state()));
        s->set_priority(c.priority);
        s->set_effective_priority(inst->priority());
        for (const auto& v : c.vips) s->add_vips(v.address.to_string() + "/" + std::to_string(v.prefix_len));
        // The current master: ourselves while MASTER, else the sender of the adverts we follow.
        auto master = inst->state() == State::kMaster ? inst->primary_address() : inst->master_address();
        if (master) s->set_master_address(master->to_string());
        auto& x = extra_[name];
        s->set_transitions(x.transitions);
        if (x.last_transition) *s->mutable_last_transition_time() = to_timestamp(*x.last_transition);
        s->set_reason(x.reason);
        s->set_sync_group(c.sync_group);
    }
}

void Engine::stop(std::function<void()> done) {
    if (stopping_) return;
    stopping_ = true;
    script_tracker_->stop();
    if (core_) {
        spdlog::info("stopping: priority 0 adverts, virtual addresses released");
        execute(core_->shutdown(clock_.now()));
        if (timer_) timer_->cancel();
    }
    // notify_stop scripts get a short while to finish before the process exits.
    wait_for_scripts(std::chrono::steady_clock::now() + std::chrono::seconds(2), std::move(done));
}

void Engine::wait_for_scripts(std::chrono::steady_clock::time_point deadline, std::function<void()> done) {
    if (scripts_.running() == 0 || std::chrono::steady_clock::now() >= deadline) {
        done();
        return;
    }
    stop_timer_.expires_after(std::chrono::milliseconds(20));
    stop_timer_.async_wait([this, deadline, done = std::move(done)](const asio::error_code&) mutable {
        wait_for_scripts(deadline, std::move(done));
    });
}

}  // namespace vigil::vrrp
