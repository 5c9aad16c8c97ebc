/* `struct wtap` and the other wiretap structures the "PktMon ETL" reader
 * (wtap_helpers.c) touches, and the list of their member offsets and sizes
 * the Windows build checks.
 *
 * Wireshark 4.6 installs the header that defines `struct wtap`
 * (wiretap/wtap_module.h); 4.0 and 4.4 do not (wiretap/wtap-int.h is
 * private), so the struct is copied below from those releases' own
 * wtap-int.h (4.0.17 and 4.4.x, GPL-2.0-or-later like this file), with the
 * offsets their Linux x86_64 libwiretap's accessors use asserted at compile
 * time. The Windows (LLP64) build asserts, member by member, that it lays the
 * same declarations out as the Linux (LP64) build of the same headers
 * (PKTMON_WTAP_LAYOUT below, printed by scripts/windows/layout-expected.c,
 * checked in wtap_helpers.c): with no `long` and no bitfield in these
 * structures the two agree, so the asserted offsets hold on Windows too.
 * Other versions (4.2) build without the reader (PKTMON_WTAP 0).
 * Shared with the layout printer and the Wine stand-ins of
 * scripts/windows/. */
#ifndef PKTMON_WTAP_STRUCT_H
#define PKTMON_WTAP_STRUCT_H

#include <stddef.h>
#include <wireshark.h>
#include <wiretap/wtap.h>
#include <wiretap/wtap_opttypes.h>
#include <wsutil/buffer.h>

#if WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR == 6
#include <wiretap/file_wrappers.h>
#include <wiretap/wtap_module.h>
#define PKTMON_WTAP 46
#elif WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR == 4
#define PKTMON_WTAP 44
/* wiretap/file_wrappers.h includes a header 4.4 does not install. */
int file_read(void *buf, unsigned int count, FILE_T file);
typedef bool (*subtype_read_func)(struct wtap *, wtap_rec *, Buffer *, int *, char **, int64_t *);
typedef bool (*subtype_seek_read_func)(struct wtap *, int64_t, wtap_rec *, Buffer *, int *, char **);
/* From Wireshark 4.4's wiretap/wtap-int.h. */
struct wtap {
    FILE_T fh;
    FILE_T random_fh;
    bool ispipe;
    int file_type_subtype;
    unsigned snapshot_length;
    GArray *shb_hdrs;
    GArray *shb_iface_to_global;
    GArray *interface_data;
    unsigned next_interface_data;
    GArray *nrbs;
    GArray *dsbs;
    GArray *meta_events;
    char *pathname;
    void *priv;
    void *wslua_data;
    subtype_read_func subtype_read;
    subtype_seek_read_func subtype_seek_read;
    void (*subtype_sequential_close)(struct wtap *);
    void (*subtype_close)(struct wtap *);
    int file_encap;
    int file_tsprec;
    wtap_new_ipv4_callback_t add_new_ipv4;
    wtap_new_ipv6_callback_t add_new_ipv6;
    wtap_new_secrets_callback_t add_new_secrets;
    GPtrArray *fast_seek;
};
/* libwiretap.so.15 (4.4.19): wtap_file_type_subtype reads 0x14,
 * wtap_snapshot_length 0x18, wtap_file_encap 0x90, wtap_file_tsprec 0x94. */
_Static_assert(offsetof(struct wtap, file_type_subtype) == 0x14, "4.4 struct wtap");
_Static_assert(offsetof(struct wtap, snapshot_length) == 0x18, "4.4 struct wtap");
_Static_assert(offsetof(struct wtap, file_encap) == 0x90, "4.4 struct wtap");
_Static_assert(offsetof(struct wtap, file_tsprec) == 0x94, "4.4 struct wtap");
#elif WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR == 0
#define PKTMON_WTAP 40
/* wiretap/file_wrappers.h includes a header 4.0 does not install. */
int file_read(void *buf, unsigned int count, FILE_T file);
typedef gboolean (*subtype_read_func)(struct wtap *, wtap_rec *, Buffer *, int *, char **, gint64 *);
typedef gboolean (*subtype_seek_read_func)(struct wtap *, gint64, wtap_rec *, Buffer *, int *, char **);
/* From Wireshark 4.0.17's wiretap/wtap-int.h. */
struct wtap {
    FILE_T fh;
    FILE_T random_fh;
    gboolean ispipe;
    int file_type_subtype;
    guint snapshot_length;
    GArray *shb_hdrs;
    GArray *interface_data;
    guint next_interface_data;
    GArray *nrb_hdrs;
    GArray *dsbs;
    char *pathname;
    void *priv;
    void *wslua_data;
    subtype_read_func subtype_read;
    subtype_seek_read_func subtype_seek_read;
    void (*subtype_sequential_close)(struct wtap *);
    void (*subtype_close)(struct wtap *);
    int file_encap;
    int file_tsprec;
    wtap_new_ipv4_callback_t add_new_ipv4;
    wtap_new_ipv6_callback_t add_new_ipv6;
    wtap_new_secrets_callback_t add_new_secrets;
    GPtrArray *fast_seek;
};
/* libwiretap.so.13 (4.0.17): wtap_file_encap reads 0x80, wtap_file_tsprec 0x84. */
_Static_assert(offsetof(struct wtap, file_type_subtype) == 0x14, "4.0 struct wtap");
_Static_assert(offsetof(struct wtap, snapshot_length) == 0x18, "4.0 struct wtap");
_Static_assert(offsetof(struct wtap, file_encap) == 0x80, "4.0 struct wtap");
_Static_assert(offsetof(struct wtap, file_tsprec) == 0x84, "4.0 struct wtap");
#else
#define PKTMON_WTAP 0
#endif

#if PKTMON_WTAP
/* Named types for the layout list (X(type, member) pastes the type's name). */
typedef struct open_info pktmon_open_info;
typedef struct file_type_subtype_info pktmon_file_type_subtype_info;
typedef struct file_extension_info pktmon_file_extension_info;
typedef struct supported_block_type pktmon_supported_block_type;
typedef struct supported_option_type pktmon_supported_option_type;

/* What the reader reads or writes in wiretap's structures, and the
 * structures it hands to wiretap (X: offset, S: size; see layout.h). */
#define PKTMON_WTAP_LAYOUT_COMMON(X, S) \
    X(wtap, fh) \
    X(wtap, ispipe) \
    X(wtap, file_type_subtype) \
    X(wtap, snapshot_length) \
    X(wtap, shb_hdrs) \
    X(wtap, interface_data) \
    X(wtap, pathname) \
    X(wtap, priv) \
    X(wtap, subtype_read) \
    X(wtap, subtype_seek_read) \
    X(wtap, subtype_close) \
    X(wtap, file_encap) \
    X(wtap, file_tsprec) \
    S(wtap) \
    X(wtap_rec, ts) \
    X(wtap_rec, tsprec) \
    X(wtap_rec, block) \
    X(wtap_packet_header, caplen) \
    X(wtap_packet_header, len) \
    X(wtap_packet_header, pseudo_header) \
    S(wtap_packet_header) \
    X(wtapng_if_descr_mandatory_t, wtap_encap) \
    X(wtapng_if_descr_mandatory_t, time_units_per_second) \
    X(wtapng_if_descr_mandatory_t, tsprecision) \
    X(wtapng_if_descr_mandatory_t, snap_len) \
    X(GArray, data) \
    X(GArray, len) \
    X(pktmon_open_info, name) \
    X(pktmon_open_info, type) \
    X(pktmon_open_info, open_routine) \
    X(pktmon_open_info, extensions) \
    X(pktmon_open_info, wslua_data) \
    S(pktmon_open_info) \
    X(pktmon_file_type_subtype_info, name) \
    X(pktmon_file_type_subtype_info, default_file_extension) \
    X(pktmon_file_type_subtype_info, writing_must_seek) \
    X(pktmon_file_type_subtype_info, num_supported_blocks) \
    X(pktmon_file_type_subtype_info, supported_blocks) \
    X(pktmon_file_type_subtype_info, wslua_info) \
    S(pktmon_file_type_subtype_info) \
    X(pktmon_file_extension_info, is_capture_file) \
    X(pktmon_file_extension_info, extensions) \
    S(pktmon_file_extension_info) \
    X(pktmon_supported_block_type, support) \
    X(pktmon_supported_block_type, num_supported_options) \
    X(pktmon_supported_block_type, supported_options) \
    S(pktmon_supported_block_type) \
    X(pktmon_supported_option_type, support) \
    S(pktmon_supported_option_type) \
    X(packet_verdict_opt_t, data) \
    S(packet_verdict_opt_t) \
    X(Buffer, data) \
    X(Buffer, start) \
    X(Buffer, first_free)

#if PKTMON_WTAP >= 46
/* 4.6: the record owns its data buffer. */
#define PKTMON_WTAP_LAYOUT(X, S) PKTMON_WTAP_LAYOUT_COMMON(X, S) X(wtap_rec, data)
#else
#define PKTMON_WTAP_LAYOUT(X, S) PKTMON_WTAP_LAYOUT_COMMON(X, S)
#endif
#endif

#endif
