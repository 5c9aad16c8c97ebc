/* Wiretap glue: a file reader ("PktMon ETL") registered from an epan
 * plugin. Everything that touches `struct wtap` (not in the public headers
 * of 4.0 and 4.4: wtap-int.h is not installed) or whose signature changes
 * between Wireshark versions lives in wtap_helpers.c; the reader itself is
 * Rust, behind the callbacks below. */
#ifndef PKTMON_WTAP_HELPERS_H
#define PKTMON_WTAP_HELPERS_H

#include <stdint.h>

/* One frame as the reader hands it to Wireshark. */
typedef struct pktmon_wtap_frame {
    uint32_t interface_id;
    int32_t encap;            /* WTAP_ENCAP_ of the interface */
    int64_t ts_secs;
    int32_t ts_nsecs;
    uint32_t caplen;
    uint32_t len;
    const uint8_t *data;
    const char *comments[2];  /* NULL when absent */
    uint32_t comment_lens[2];
    int has_flags;
    uint32_t flags;
    int has_packet_id;
    uint64_t packet_id;
    int verdict_xdp_drop;     /* epb_verdict: eBPF XDP, XDP_DROP */
} pktmon_wtap_frame;

/* One interface (IDB). Strings may be NULL. */
typedef struct pktmon_wtap_interface {
    int32_t linktype;         /* pcap LINKTYPE_ */
    const char *name;
    const char *description;
    const char *comment;
} pktmon_wtap_interface;

/* The reader, in Rust. `state` is the reader's own; `ctx` is what the
 * pktmon_wtap_* calls below need, valid during the callback only.
 * Returns: open 1 mine, 0 not mine, -1 error; read/seek_read 1 ok, 0 EOF
 * or error (*err set). Error texts go through pktmon_wtap_set_err_info. */
typedef struct pktmon_wtap_callbacks {
    int (*looks_like)(const uint8_t *head, uint32_t len);
    int (*open)(const char *path, void *ctx, void **state, int *err, char **err_info);
    int (*read)(void *state, void *ctx, int64_t *index, int *err, char **err_info);
    int (*seek_read)(void *state, void *ctx, int64_t index, int *err, char **err_info);
    void (*close)(void *state);
} pktmon_wtap_callbacks;

/* Registers the file type, its open routine and its extension. Returns the
 * file type subtype, or -1 when this Wireshark version has no reader support. */
int pktmon_wtap_register(const pktmon_wtap_callbacks *callbacks);
/* Inside open: adds an interface; returns its WTAP_ENCAP_. */
int pktmon_wtap_add_interface(void *ctx, const pktmon_wtap_interface *iface);
/* Inside open: the section header's OS and application. */
void pktmon_wtap_set_section(void *ctx, const char *os, const char *userappl);
/* Inside read/seek_read: fills the record. */
void pktmon_wtap_fill(void *ctx, const pktmon_wtap_frame *frame);
/* Sets *err_info to a copy of `msg` (g_malloc'd: Wireshark frees it). */
void pktmon_wtap_set_err_info(char **err_info, const char *msg, uint32_t len);

#define PKTMON_WTAP_ERR_BAD_FILE -13
#define PKTMON_WTAP_ERR_SHORT_READ -12
#define PKTMON_WTAP_ERR_UNSUPPORTED -4

#endif
