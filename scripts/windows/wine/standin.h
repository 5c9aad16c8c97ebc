/* Shared by the stand-in DLLs (standin.c) and the host (host.c) of the Wine
 * smoke test: what the opaque Wireshark types are in this test. */
#ifndef PKTMON_STANDIN_H
#define PKTMON_STANDIN_H
#include <stdint.h>
#include <epan/packet.h>
#include <epan/stat_tap_ui.h>

#if WIRESHARK_VERSION_MAJOR > 4 || (WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR >= 4)
#define WSBOOL bool
#else
#define WSBOOL gboolean
#endif

#define STANDIN_MAX_COMMENTS 4

/* A pcapng packet block's options, as the wtap_block_* stand-ins hand them
 * out (the wtap_block_t the plugin gets points to one of these). */
struct standin_block {
    unsigned n_comments;
    char *comments[STANDIN_MAX_COMMENTS];
    int has_packet_id;
    uint64_t packet_id;
    int has_flags;
    uint32_t flags;
    int has_verdict;
    packet_verdict_opt_t verdict;
};

/* GLib's GArray as the glib-2.0-0.dll stand-in keeps it: GArray's public
 * part (data, len) first, then the element size g_array_append_vals needs. */
struct standin_array {
    char *data;
    unsigned len;
    unsigned elt_size;
};

/* A frame's bytes. */
struct tvbuff {
    const uint8_t *data;
    unsigned length;
};

#ifdef STANDIN_BUILD
#define STANDIN_API __declspec(dllexport)
#else
#define STANDIN_API __declspec(dllimport)
#endif

/* Exported by the libwireshark.dll stand-in for the host. */
STANDIN_API int standin_run_registration(void);
STANDIN_API int standin_dissect(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree);
STANDIN_API void standin_throw_on_add_item(int on);
STANDIN_API int standin_catchers(void);
STANDIN_API int standin_run_drops_table(packet_info *pinfo);
/* Exported by the libwiretap.dll stand-in: opens PATH with the file reader
 * the plugin registered and reads every record, as wiretap would. */
STANDIN_API int standin_wtap_read_file(const char *path);
#endif
