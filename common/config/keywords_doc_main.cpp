// Prints docs/keywords.md, generated from the keyword table (common/config/keywords_table.inc).
#include <iostream>

#include "common/config/keywords.hpp"

int main() {
    std::cout << vigil::common::config::keywords_markdown();
    return 0;
}
