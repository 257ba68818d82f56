#include "checker_child/check_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace vigil::check {

std::optional<int64_t> read_track_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[128];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(buf, &end, 0);
    if (errno || end == buf || v < INT32_MIN || v > static_cast<long long>(INT32_MAX) + 1)
        return std::nullopt;
    return v;
}

CheckResult file_result(const FileParams& params, int base_weight, int64_t value) {
    const std::string read = "value " + std::to_string(value) + " in " + params.path;
    if (params.weight == 0) return {value == 0, read, {}};
    const int64_t delta = value * params.weight * (params.reverse ? -1 : 1);
    const int64_t weight = base_weight + delta;
    if (weight < 0) return {false, read + " makes weight " + std::to_string(weight), {}};
    CheckResult r{true, read, {}};
    if (params.dynamic) r.weight = static_cast<int>(std::min<int64_t>(weight, 65535));
    return r;
}

FileCheck::FileCheck(FileParams params, int base_weight)
    : params_(std::move(params)), base_weight_(base_weight) {}

std::string FileCheck::describe() const {
    return "FILE_CHECK " + params_.track_file;
}

asio::awaitable<CheckResult> FileCheck::run() {
    const auto value = read_track_file(params_.path);
    if (!value) co_return CheckResult{false, "not a number in " + params_.path, {}};
    co_return file_result(params_, base_weight_, *value);
}

}  // namespace vigil::check
