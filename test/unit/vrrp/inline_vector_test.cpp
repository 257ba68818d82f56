#include <catch2/catch.hpp>

#include "vrrp_child/inline_vector.hpp"

using vigil::vrrp::InlineVector;

namespace {

// The elements as a std::vector, to compare with what was pushed.
template <typename V>
std::vector<int> items(const V& v) {
    return {v.begin(), v.end()};
}

}  // namespace

TEST_CASE("an inline vector keeps its elements in order within and beyond its inline capacity", "[vrrp]") {
    InlineVector<int, 3> v;
    CHECK(v.empty());
    std::vector<int> want;
    for (int i = 0; i < 10; ++i) {
        v.push_back(i * 7);
        want.push_back(i * 7);
        REQUIRE(v.size() == want.size());
        CHECK(items(v) == want);
        CHECK(v[v.size() - 1] == i * 7);
        CHECK(v.back() == i * 7);
        CHECK(v.front() == 0);
    }
    v.clear();
    CHECK(v.empty());
    v.push_back(5);
    CHECK(items(v) == std::vector<int>{5});
}

TEST_CASE("an inline vector copies and moves from either storage", "[vrrp]") {
    InlineVector<int, 2> small{1, 2};
    InlineVector<int, 2> big{1, 2, 3, 4};
    SECTION("copies") {
        InlineVector<int, 2> a = small;
        InlineVector<int, 2> b = big;
        CHECK(items(a) == std::vector<int>{1, 2});
        CHECK(items(b) == std::vector<int>{1, 2, 3, 4});
        b = small;  // from the heap back to inline storage
        CHECK(items(b) == std::vector<int>{1, 2});
        b.push_back(9);
        CHECK(items(b) == std::vector<int>{1, 2, 9});
        CHECK(items(small) == std::vector<int>{1, 2});
        a = big;
        CHECK(items(a) == std::vector<int>{1, 2, 3, 4});
        CHECK(items(big) == std::vector<int>{1, 2, 3, 4});
    }
    SECTION("moves leave the source empty") {
        InlineVector<int, 2> a = std::move(small);
        InlineVector<int, 2> b = std::move(big);
        CHECK(items(a) == std::vector<int>{1, 2});
        CHECK(items(b) == std::vector<int>{1, 2, 3, 4});
        CHECK(small.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified here
        CHECK(big.empty());    // NOLINT(bugprone-use-after-move)
        a = std::move(b);
        CHECK(items(a) == std::vector<int>{1, 2, 3, 4});
    }
    SECTION("equality compares the elements, not the storage") {
        InlineVector<int, 2> grown{1, 2, 3, 4};
        CHECK(grown == big);
        InlineVector<int, 2> shrunk = big;
        shrunk = {1, 2};
        CHECK(shrunk == small);
        CHECK_FALSE(small == big);
        CHECK_FALSE(small == (InlineVector<int, 2>{1, 3}));
    }
}
