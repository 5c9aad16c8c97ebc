# Turns GLib's Linux (LP64) glibconfig.h into the one a 64-bit Windows (LLP64)
# build of the same GLib version has: `long` is 32-bit there, so the 64-bit
# types, gsize/gssize and gintptr become `long long`, and the platform is
# G_OS_WIN32. Used by scripts/build-windows.sh on the glibconfig.h of each
# Wireshark version's root, so the GLib version numbers stay that root's.
/^#define GLIB_HAVE_ALLOCA_H/d
/^#define G_HAVE_GNUC_VISIBILITY/d
s/^typedef signed long gint64;/typedef signed long long gint64;/
s/^typedef unsigned long guint64;/typedef unsigned long long guint64;/
s/(val##L)/(val##LL)/
s/(val##UL)/(val##ULL)/
s/^#define G_GINT64_MODIFIER "l"/#define G_GINT64_MODIFIER "I64"/
s/^#define G_GINT64_FORMAT "li"/#define G_GINT64_FORMAT "I64i"/
s/^#define G_GUINT64_FORMAT "lu"/#define G_GUINT64_FORMAT "I64u"/
s/^#define GLIB_SIZEOF_LONG   8/#define GLIB_SIZEOF_LONG   4/
s/^typedef signed long gssize;/typedef signed long long gssize;/
s/^typedef unsigned long gsize;/typedef unsigned long long gsize;/
s/^#define G_GSIZE_MODIFIER "l"/#define G_GSIZE_MODIFIER "I64"/
s/^#define G_GSSIZE_MODIFIER "l"/#define G_GSSIZE_MODIFIER "I64"/
s/^#define G_GSIZE_FORMAT "lu"/#define G_GSIZE_FORMAT "I64u"/
s/^#define G_GSSIZE_FORMAT "li"/#define G_GSSIZE_FORMAT "I64i"/
s/^#define G_MAXSIZE\tG_MAXULONG/#define G_MAXSIZE\tG_MAXUINT64/
s/^#define G_MINSSIZE\tG_MINLONG/#define G_MINSSIZE\tG_MININT64/
s/^#define G_MAXSSIZE\tG_MAXLONG/#define G_MAXSSIZE\tG_MAXINT64/
s/^#define G_POLLFD_FORMAT "%d"/#define G_POLLFD_FORMAT "%#I64x"/
/^#define G.*_TO_POINTER\|^#define GPOINTER_TO_/s/(glong)/(gint64)/
/^#define G.*_TO_POINTER\|^#define GPOINTER_TO_/s/(gulong)/(guint64)/
s/^typedef signed long gintptr;/typedef signed long long gintptr;/
s/^typedef unsigned long guintptr;/typedef unsigned long long guintptr;/
s/^#define G_GINTPTR_MODIFIER      "l"/#define G_GINTPTR_MODIFIER      "I64"/
s/^#define G_GINTPTR_FORMAT        "li"/#define G_GINTPTR_FORMAT        "I64i"/
s/^#define G_GUINTPTR_FORMAT       "lu"/#define G_GUINTPTR_FORMAT       "I64u"/
s/^#define G_OS_UNIX$/#define G_OS_WIN32\n#define G_PLATFORM_WIN32/
s/^#define G_THREADS_IMPL_POSIX/#define G_THREADS_IMPL_WIN32/
/^#define GLONG_TO_LE/s/GINT64_TO_LE/GINT32_TO_LE/
/^#define GULONG_TO_LE/s/GUINT64_TO_LE/GUINT32_TO_LE/
/^#define GLONG_TO_BE/s/GINT64_TO_BE/GINT32_TO_BE/
/^#define GULONG_TO_BE/s/GUINT64_TO_BE/GUINT32_TO_BE/
s/^#define G_MODULE_SUFFIX "so"/#define G_MODULE_SUFFIX "dll"/
s/^typedef int GPid;/typedef void * GPid;/
s/^#define G_PID_FORMAT "i"/#define G_PID_FORMAT "p"/
s/^#define GLIB_SYSDEF_AF_INET6 10/#define GLIB_SYSDEF_AF_INET6 23/
s/^#define G_DIR_SEPARATOR '\/'/#define G_DIR_SEPARATOR '\\\\'/
s/^#define G_DIR_SEPARATOR_S "\/"/#define G_DIR_SEPARATOR_S "\\\\"/
s/^#define G_SEARCHPATH_SEPARATOR ':'/#define G_SEARCHPATH_SEPARATOR ';'/
s/^#define G_SEARCHPATH_SEPARATOR_S ":"/#define G_SEARCHPATH_SEPARATOR_S ";"/
