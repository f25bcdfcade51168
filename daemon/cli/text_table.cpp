#include "cli/text_table.hpp"

#include <algorithm>

namespace portd::cli {

std::string format_columns(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width;
    for (const auto& row : rows) {
        width.resize(std::max(width.size(), row.size()), 0);
        for (std::size_t i = 0; i < row.size(); ++i) {
            width[i] = std::max(width[i], row[i].size());
        }
    }
    std::string out;
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            out += row[i];
            if (i + 1 < row.size()) {
                out += std::string(width[i] - row[i].size() + 2, ' ');
            }
        }
        out += '\n';
    }
    return out;
}

}  // namespace portd::cli
