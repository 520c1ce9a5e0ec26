// Files written so that a crash, a kill or a full disk never leaves a half-written one: the data
// goes to NAME.tmp beside it, is flushed to disk, and is renamed over NAME. Afterwards NAME is
// either the old file or the new one; on an error the .tmp is removed and the error names the
// file and the system's reason.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace cuseg {

// `write` is handed a function that appends bytes (and throws on a failed write).
using ByteSink = std::function<void(const void* data, size_t bytes)>;
void write_file_atomically(const std::string& path, const std::function<void(const ByteSink&)>& write);

void write_text_file_atomically(const std::string& path, const std::string& text);

}  // namespace cuseg
