// Columns aligned to their widest cell, two spaces apart: the tables `portd --check`,
// `portctl ports` and `portctl status` print, readable by people and by `awk`.
#pragma once

#include <string>
#include <vector>

namespace portd::cli {

/// One line per row; every row should have as many cells as the first (the header). The last
/// column is not padded, so no line ends in spaces.
std::string format_columns(const std::vector<std::vector<std::string>>& rows);

}  // namespace portd::cli
