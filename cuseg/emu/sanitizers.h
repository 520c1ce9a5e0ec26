// Which sanitizer this translation unit is built with (GCC's __SANITIZE_*__, Clang's
// __has_feature): CUSEG_EMU_ASAN and CUSEG_EMU_TSAN, 0 or 1. The emulator tells them about its
// fibers and barriers; its tests expect what each reports.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define CUSEG_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CUSEG_EMU_ASAN 1
#endif
#endif
#ifndef CUSEG_EMU_ASAN
#define CUSEG_EMU_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#define CUSEG_EMU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CUSEG_EMU_TSAN 1
#endif
#endif
#ifndef CUSEG_EMU_TSAN
#define CUSEG_EMU_TSAN 0
#endif
