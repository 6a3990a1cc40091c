#pragma once
// The C locale's character classes and case mapping, inline: the endpoint never sets a locale, so
// these agree with <cctype>'s functions on every byte, without a library call per character.
namespace hydrate::mock::ascii {

constexpr bool is_upper(unsigned char c) {
  return c >= 'A' && c <= 'Z';
}
constexpr bool is_lower(unsigned char c) {
  return c >= 'a' && c <= 'z';
}
constexpr bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
constexpr bool is_alnum(unsigned char c) {
  return is_upper(c) || is_lower(c) || is_digit(c);
}
// ' ', \t, \n, \v, \f, \r.
constexpr bool is_space(unsigned char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}
constexpr char to_lower(char c) {
  return is_upper(static_cast<unsigned char>(c)) ? static_cast<char>(c + ('a' - 'A')) : c;
}
constexpr char to_upper(char c) {
  return is_lower(static_cast<unsigned char>(c)) ? static_cast<char>(c - ('a' - 'A')) : c;
}

}  // namespace hydrate::mock::ascii
