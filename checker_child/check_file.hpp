#pragma once
// FILE_CHECK: track_file semantics. The file holds a number (missing, empty or unreadable counts as 0). With
// weight 0, a non-zero number is down. Otherwise number x weight (negated by `reverse`) is added to the real
// server's weight: a result below 0 is down, and with `dynamic` the result becomes the IPVS weight. The file
// is read at every run (keepalived watches it with inotify; here delay_loop sets how soon a change is seen).

#include <optional>

#include "checker_child/check.hpp"

namespace vigil::check {

class FileCheck : public Check {
  public:
    FileCheck(FileParams params, int base_weight);
    asio::awaitable<CheckResult> run() override;
    std::string describe() const override;

  private:
    FileParams params_;
    int base_weight_;
};

// The number a track file holds (0 when missing or empty; nullopt when it is not a number in range).
std::optional<int64_t> read_track_file(const std::string& path);

// The result for a value read, under the rules above.
CheckResult file_result(const FileParams& params, int base_weight, int64_t value);

}  // namespace vigil::check
