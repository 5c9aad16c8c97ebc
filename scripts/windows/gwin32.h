/* Stand-in for GLib's glib/gwin32.h, which glib.h includes when G_OS_WIN32 is
 * defined but Debian's libglib2.0-dev (a Linux build) no longer ships. The
 * plugin uses none of its g_win32_* functions, so this only has to exist;
 * scripts/build-windows.sh puts it in the overlay include folder, beside the
 * LLP64 glibconfig.h made by glibconfig-win64.sed. */
#ifndef __G_WIN32_H__
#define __G_WIN32_H__
#include <glib/gtypes.h>
#endif
