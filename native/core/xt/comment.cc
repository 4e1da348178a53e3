// SPDX-License-Identifier: GPL-2.0-or-later
// The comment match, revision 0 (-m comment --comment).
// <linux/netfilter/xt_comment.h>:
//   #define XT_MAX_COMMENT_LEN 256
//   struct xt_comment_info {
//     char comment[XT_MAX_COMMENT_LEN];
//   };
#include <linux/netfilter/xt_comment.h>

#include "core/xt/modules.h"

namespace connlimit::core::xt {
namespace {

// Comment bytes that are not UTF-8 (or use overlong forms) would not survive a round trip
// through a JS string, so such comments stay opaque.
bool ValidUtf8(const std::string& s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t extra = c < 0x80 ? 0 : (c >= 0xC2 && c <= 0xDF) ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c >= 0xF0 && c <= 0xF4) ? 3 : 4;
    if (extra == 4 || extra > n - i - 1) return false;
    for (size_t k = 1; k <= extra; k++)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += extra + 1;
  }
  return true;
}

Result<Bytes> Encode(Family, const Match& m) {
  const auto& c = std::get<CommentMatch>(m);
  struct xt_comment_info info {};
  if (c.comment.size() >= XT_MAX_COMMENT_LEN || c.comment.find('\0') != std::string::npos)
    return EncodeError("comment over 255 bytes or with a NUL");
  memcpy(info.comment, c.comment.data(), c.comment.size());
  return StructBytes(info);
}

std::optional<Match> Decode(Family, const uint8_t* data, size_t len) {
  struct xt_comment_info info;
  if (!ReadStruct(data, len, &info)) return std::nullopt;
  std::string text(info.comment, strnlen(info.comment, sizeof info.comment));
  // A comment without its NUL is not one the CLI wrote.
  if (text.size() >= sizeof info.comment || !ValidUtf8(text)) return std::nullopt;
  return CommentMatch{text};
}

bool Same(Family, const Match& a, const Match& b) { return std::get<CommentMatch>(a).comment == std::get<CommentMatch>(b).comment; }

}  // namespace

const MatchCodec kCommentMatch{MatchModel<CommentMatch>(), Encode, Decode, Same};

}  // namespace connlimit::core::xt
