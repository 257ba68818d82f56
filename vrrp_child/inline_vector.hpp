#pragma once
// A vector that keeps up to N elements in itself and moves to the heap only beyond that. An advert's address
// list is built for every advert an idle master sends (100 a second at advert_int 0.01); instances have a few
// virtual addresses, so the list then costs no allocation. Only for trivially copyable elements (IpAddr).

#include <algorithm>
#include <array>
#include <cstddef>
#include <initializer_list>
#include <type_traits>
#include <vector>

namespace vigil::vrrp {

template <typename T, std::size_t N>
class InlineVector {
    static_assert(std::is_trivially_copyable_v<T>, "InlineVector copies its elements as bytes");

  public:
    using value_type = T;
    using iterator = T*;
    using const_iterator = const T*;

    InlineVector() = default;
    InlineVector(std::initializer_list<T> items) {
        reserve(items.size());
        for (const auto& x : items) push_back(x);
    }
    InlineVector(const InlineVector& other) { *this = other; }
    InlineVector& operator=(const InlineVector& other) {
        if (this == &other) return *this;
        size_ = other.size_;
        if (other.on_heap()) {
            heap_ = other.heap_;
        } else {
            heap_.clear();
            std::copy_n(other.inline_.begin(), size_, inline_.begin());
        }
        return *this;
    }
    InlineVector(InlineVector&& other) noexcept { *this = std::move(other); }
    InlineVector& operator=(InlineVector&& other) noexcept {
        if (this == &other) return *this;
        size_ = other.size_;
        if (other.on_heap()) {
            heap_ = std::move(other.heap_);
        } else {
            heap_.clear();
            std::copy_n(other.inline_.begin(), size_, inline_.begin());
        }
        other.size_ = 0;
        other.heap_.clear();
        return *this;
    }
    InlineVector& operator=(std::initializer_list<T> items) { return *this = InlineVector(items); }

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    void clear() {
        size_ = 0;
        heap_.clear();
    }
    void reserve(std::size_t n) {
        if (n > N) heap_.reserve(n);
    }
    void push_back(const T& x) {
        if (on_heap()) {
            heap_.push_back(x);
        } else if (size_ < N) {
            inline_[size_] = x;
        } else {
            // The N+1st element: everything moves to the heap, where it stays until clear().
            heap_.reserve(2 * N);
            heap_.assign(inline_.begin(), inline_.end());
            heap_.push_back(x);
        }
        ++size_;
    }

    T* data() { return on_heap() ? heap_.data() : inline_.data(); }
    const T* data() const { return on_heap() ? heap_.data() : inline_.data(); }
    T* begin() { return data(); }
    T* end() { return data() + size_; }
    const T* begin() const { return data(); }
    const T* end() const { return data() + size_; }
    T& operator[](std::size_t i) { return data()[i]; }
    const T& operator[](std::size_t i) const { return data()[i]; }
    T& front() { return data()[0]; }
    const T& front() const { return data()[0]; }
    T& back() { return data()[size_ - 1]; }
    const T& back() const { return data()[size_ - 1]; }

    friend bool operator==(const InlineVector& a, const InlineVector& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }

  private:
    // Once beyond N, the elements live in heap_ (heap_.size() == size_); before, in inline_.
    bool on_heap() const { return !heap_.empty(); }

    std::array<T, N> inline_{};
    std::vector<T> heap_;
    std::size_t size_ = 0;
};

}  // namespace vigil::vrrp
