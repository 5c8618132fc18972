// The little JSON the journal needs: escaping strings on the way out, and a cursor
// that reads one value at a time on the way in. Pure; never throws.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace jhtc::json {

// Appends `s` as a quoted JSON string. Bytes >= 0x80 pass through (UTF-8 assumed).
void append_string(std::string& out, std::string_view s);

// Reads JSON text left to right. Every read_* returns nullopt (and leaves the
// cursor somewhere undefined) on malformed input.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  void skip_space();
  bool consume(char c);  // skips space, then takes `c` if it is next
  bool at_end();         // only space is left

  std::optional<std::string> read_string();
  std::optional<double> read_number();
  // Any value, returned as text: a string unescaped, anything else as written.
  std::optional<std::string> read_value_text();

 private:
  bool skip_value();  // validates and skips one value
  bool skip_literal(std::string_view word);
  std::optional<std::string_view> scan_number();
  bool append_escape(std::string& out);

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace jhtc::json
