#include "util/json_text.hpp"

#include <charconv>
#include <cstdint>
#include <cstdio>

namespace jhtc::json {

void append_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void Cursor::skip_space() {
  while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r' ||
                                 text_[pos_] == '\n')) {
    ++pos_;
  }
}

bool Cursor::consume(char c) {
  skip_space();
  if (pos_ < text_.size() && text_[pos_] == c) {
    ++pos_;
    return true;
  }
  return false;
}

bool Cursor::at_end() {
  skip_space();
  return pos_ == text_.size();
}

static void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

static std::optional<std::uint32_t> parse_hex4(std::string_view text, std::size_t pos) {
  if (pos + 4 > text.size()) return std::nullopt;
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data() + pos, text.data() + pos + 4, value, 16);
  if (ec != std::errc{} || end != text.data() + pos + 4) return std::nullopt;
  return value;
}

// After a backslash: decodes one escape (a surrogate pair counts as one).
bool Cursor::append_escape(std::string& out) {
  if (pos_ >= text_.size()) return false;
  char c = text_[pos_++];
  switch (c) {
    case '"':
    case '\\':
    case '/':
      out.push_back(c);
      return true;
    case 'b':
      out.push_back('\b');
      return true;
    case 'f':
      out.push_back('\f');
      return true;
    case 'n':
      out.push_back('\n');
      return true;
    case 'r':
      out.push_back('\r');
      return true;
    case 't':
      out.push_back('\t');
      return true;
    case 'u':
      break;
    default:
      return false;
  }
  auto cp = parse_hex4(text_, pos_);
  if (!cp) return false;
  pos_ += 4;
  if (*cp >= 0xD800 && *cp < 0xDC00 && text_.substr(pos_, 2) == "\\u") {
    auto low = parse_hex4(text_, pos_ + 2);
    if (low && *low >= 0xDC00 && *low < 0xE000) {
      pos_ += 6;
      *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
    }
  }
  append_utf8(out, *cp);
  return true;
}

std::optional<std::string> Cursor::read_string() {
  if (!consume('"')) return std::nullopt;
  std::string out;
  while (pos_ < text_.size()) {
    char c = text_[pos_++];
    if (c == '"') return out;
    if (c == '\\') {
      if (!append_escape(out)) return std::nullopt;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      return std::nullopt;
    } else {
      out.push_back(c);
    }
  }
  return std::nullopt;  // unterminated
}

std::optional<std::string_view> Cursor::scan_number() {
  skip_space();
  std::size_t start = pos_;
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    bool part = (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
    if (!part) break;
    ++pos_;
  }
  if (pos_ == start) return std::nullopt;
  return text_.substr(start, pos_ - start);
}

std::optional<double> Cursor::read_number() {
  auto digits = scan_number();
  if (!digits) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(digits->data(), digits->data() + digits->size(), value);
  if (ec != std::errc{} || end != digits->data() + digits->size()) return std::nullopt;
  return value;
}

bool Cursor::skip_literal(std::string_view word) {
  skip_space();
  if (text_.substr(pos_, word.size()) != word) return false;
  pos_ += word.size();
  return true;
}

bool Cursor::skip_value() {
  skip_space();
  if (pos_ >= text_.size()) return false;
  char c = text_[pos_];
  if (c == '"') return read_string().has_value();
  if (c == 't') return skip_literal("true");
  if (c == 'f') return skip_literal("false");
  if (c == 'n') return skip_literal("null");
  if (c == '{' || c == '[') {
    char close = c == '{' ? '}' : ']';
    ++pos_;
    if (consume(close)) return true;
    do {
      if (c == '{' && !(read_string() && consume(':'))) return false;
      if (!skip_value()) return false;
    } while (consume(','));
    return consume(close);
  }
  return read_number().has_value();
}

std::optional<std::string> Cursor::read_value_text() {
  skip_space();
  if (pos_ < text_.size() && text_[pos_] == '"') return read_string();
  std::size_t start = pos_;
  if (!skip_value()) return std::nullopt;
  return std::string(text_.substr(start, pos_ - start));
}

}  // namespace jhtc::json
