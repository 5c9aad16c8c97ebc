/* Windows only (included by helpers.c under _WIN32).
 *
 * 1. TRY without SEH unwinding. Wireshark's TRY (epan/except.h) calls
 *    setjmp(), which mingw-w64 defines as _setjmp(buf, frame): with a frame,
 *    the longjmp of Wireshark's own runtime (MSVC's, in libwireshark.dll) does
 *    not just restore the registers but unwinds every frame between the THROW
 *    and the TRY through SEH (RtlUnwindEx), calling the unwind handlers of
 *    frames built by another compiler and runtime. With a NULL frame both
 *    runtimes' longjmp restore the saved registers and jump, as on Linux: the
 *    frames jumped over are Wireshark's own C frames and this file's, never a
 *    Rust frame (the helpers are called from Rust and return to it normally).
 *
 * 2. The layout check. Built by scripts/build-windows.sh, the build defines
 *    PKTMON_LAYOUT_EXPECTED and puts on the include path a header with the
 *    sizes and offsets of layout.h as the Linux build of the same Wireshark
 *    headers sees them (scripts/windows/layout-expected.c): every one must be
 *    the same in this Windows (LLP64) build, or the build stops here. */
#ifndef PKTMON_HELPERS_WIN32_H
#define PKTMON_HELPERS_WIN32_H

#include <setjmp.h>
#include <stddef.h>

#undef setjmp
#define setjmp(buf) _setjmp((buf), NULL)

/* MSVC's and msvcrt's x64 _JUMP_BUFFER: 16 slots of 16 bytes, Frame first. */
_Static_assert(sizeof(jmp_buf) == 256, "jmp_buf is not the 256-byte x64 _JUMP_BUFFER Wireshark's runtime uses");

#ifdef PKTMON_LAYOUT_EXPECTED
#include "layout.h"
#include "pktmon_layout_expected.h"
#define PKTMON_CHECK_OFF(t, m)                                                                                         \
    _Static_assert(offsetof(t, m) == PKTMON_EXPECT_OFF_##t##_##m,                                                      \
                   "offset of " #t "." #m " differs between the Linux and the Windows build of these headers");
#define PKTMON_CHECK_SIZE(t)                                                                                           \
    _Static_assert(sizeof(t) == PKTMON_EXPECT_SIZE_##t,                                                                \
                   "size of " #t " differs between the Linux and the Windows build of these headers");
PKTMON_LAYOUT(PKTMON_CHECK_OFF, PKTMON_CHECK_SIZE)
#endif

#endif
