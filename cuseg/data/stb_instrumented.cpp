// Sanitizer and fuzzing builds compile stb's decoders and encoder from Debian's headers instead of
// linking Debian's prebuilt libstb, so that AddressSanitizer and libFuzzer's coverage see inside
// them: a file that drives stb out of bounds is found, and the fuzzer is guided through the PNG,
// JPEG and BMP decoders, not only through cuseg's own checks. (UndefinedBehaviorSanitizer is off
// for this file: stb's decoders shift negative values by design.)
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_write.h>
