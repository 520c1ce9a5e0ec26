// stb_image and stb_image_write, compiled here from Debian's headers (libstb-dev) in every build,
// instead of linking Debian's prebuilt libstb:
//  - every allocation stb makes is zero-filled. A hostile file can make stb read decoder state it
//    never wrote (a JPEG scan using a Huffman table no DHT segment defined read the leftovers of a
//    malloc'd stbi__jpeg: a wild read, found by fuzz_image). Zero-filled, such a read sees zeros
//    every time, never stale heap contents. stb allocates only through STBI_MALLOC and
//    STBI_REALLOC_SIZED (STBIW_ for the writer); STBI_REALLOC / STBIW_REALLOC are left undefined,
//    so an unsized reallocation in a future stb is a compile error here, not a gap.
//  - only the PNG, JPEG and BMP decoders are compiled: a .png file holding GIF, PSD, TGA, HDR, PIC
//    or PNM data is refused instead of reaching decoders cuseg never meant to expose.
//  - the symbols are hidden: libcuseg uses its own copy, and a program linking Debian's libstb
//    too (the tests do, to write JPEG and BMP files) keeps its own.
//  - in sanitizer and fuzzing builds stb is instrumented with the rest of libcuseg, so
//    AddressSanitizer and libFuzzer's coverage see inside its decoders.
// docs/RELIABILITY.md says what this guarantees and what it does not.
// The C library first: only stb's own functions are to be hidden.
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace cuseg::detail {
// The largest single allocation stb may make on this thread (none: no limit, as in every cuseg
// reader). Only the fuzz targets' unchecked decodes set one (stb_decode_digest), so that a chunk
// claiming a gigabyte ends as stb's "outofmem" instead of seconds of ASan bookkeeping.
[[gnu::visibility("hidden")]] thread_local size_t stb_allocation_cap = SIZE_MAX;
}  // namespace cuseg::detail

namespace {

void* stb_zeroed_malloc(size_t size) {
  if (size > cuseg::detail::stb_allocation_cap) return nullptr;
  return std::calloc(1, size ? size : 1);
}

// Growing: a fresh zeroed block and a copy, not realloc and a memset of the new part. A PNG chunk
// may claim a gigabyte that the file does not hold; stb grows its buffer to the claim before it
// finds out. calloc gets such a block as untouched zero pages, where a memset would write (and
// keep resident) all of it.
void* stb_zeroed_realloc(void* p, size_t old_size, size_t new_size) {
  if (new_size <= old_size) return std::realloc(p, new_size ? new_size : 1);
  if (new_size > cuseg::detail::stb_allocation_cap) return nullptr;
  void* q = std::calloc(1, new_size);
  if (!q) return nullptr;  // p stays valid, as with realloc
  if (p) std::memcpy(q, p, old_size);
  std::free(p);
  return q;
}

}  // namespace

#define STBI_MALLOC(size) stb_zeroed_malloc(size)
#define STBI_REALLOC_SIZED(p, old_size, new_size) stb_zeroed_realloc(p, old_size, new_size)
#define STBI_FREE(p) std::free(p)
#define STBIW_MALLOC(size) stb_zeroed_malloc(size)
#define STBIW_REALLOC_SIZED(p, old_size, new_size) stb_zeroed_realloc(p, old_size, new_size)
#define STBIW_FREE(p) std::free(p)

#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#pragma GCC visibility push(hidden)
#include <stb_image.h>
#include <stb_image_write.h>
#pragma GCC visibility pop
