/* C helpers for what Rust cannot do safely by itself: anything that may
 * THROW (longjmp) runs here, inside TRY/CATCH, so no exception ever unwinds
 * through a Rust frame; and reading a frame's pcapng options, which needs
 * structure fields that differ between Wireshark versions. */
#ifndef PKTMON_HELPERS_H
#define PKTMON_HELPERS_H

#include <stdint.h>

struct _packet_info;
struct tvbuff;
struct _proto_node;
struct expert_field;

#define PKTMON_MAX_COMMENTS 8

/* What a frame carries that the PktMon plugin reads. Pointers stay valid
 * for the dissection of this frame only. */
typedef struct pktmon_frame_in {
    uint32_t number;
    int visited;
    int has_interface;
    uint32_t interface_id;
    const char *interface_name;
    const char *interface_description;
    int64_t ts_secs;
    int32_t ts_nsecs;
    uint32_t captured_len;
    uint32_t reported_len;
    const uint8_t *data;
    uint32_t comment_count;
    const char *comments[PKTMON_MAX_COMMENTS];
    int has_packet_id;
    uint64_t packet_id;
    int has_verdict;
    int verdict_type;       /* packet_verdict_type_e: 0 hardware, 1 eBPF TC, 2 eBPF XDP */
    uint64_t verdict_value; /* the eBPF action (TC or XDP) */
    int has_flags;
    uint32_t flags;
    int encapsulation;
    /* Where the record starts in the file: tells a record apart from another
     * that got the same frame number (a read filter discarded the first). */
    int64_t offset;
} pktmon_frame_in;

/* Fills `in` from the frame being dissected, all but the interface names. Never throws. */
void pktmon_read_frame(struct _packet_info *pinfo, struct tvbuff *tvb, pktmon_frame_in *in);

/* Adds the interface name and description to `in` (a lookup in the capture
 * file's interface list: done only for frames whose fields are shown). Never throws. */
void pktmon_read_interface_names(struct _packet_info *pinfo, pktmon_frame_in *in);

enum pktmon_item_kind {
    PKTMON_ITEM_UINT = 0,   /* FT_UINT8..32, FT_FRAMENUM */
    PKTMON_ITEM_UINT64 = 1, /* FT_UINT64 */
    PKTMON_ITEM_BOOLEAN = 2,
    PKTMON_ITEM_STRING = 3,
    PKTMON_ITEM_DURATION_NS = 4 /* FT_RELATIVE_TIME from nanoseconds */
};

typedef struct pktmon_item {
    int hf;
    int kind;
    uint64_t value;
    const char *string;
} pktmon_item;

/* Adds the protocol item, its fields (all marked generated), an optional
 * expert info and text appended to the Info column. Exceptions (for example
 * too many tree items) are caught here; returns 0 on success, 1 if one was. */
int pktmon_add_items(struct _proto_node *tree, struct tvbuff *tvb, struct _packet_info *pinfo, int proto, int ett,
                     const char *summary, const pktmon_item *items, uint32_t count, struct expert_field *expert,
                     const char *expert_text, const char *info_text);

/* Adds a one-off note on the protocol item (no-metadata files). Never throws. */
int pktmon_add_note(struct _proto_node *tree, struct tvbuff *tvb, struct _packet_info *pinfo, int proto,
                    struct expert_field *expert, const char *text);

/* Registers the drops table: Statistics > PktMon Drops in Wireshark and
 * `tshark -z pktmon,drops`, both Wireshark's own stat-table UI (tshark prints
 * it through C stdio). Its rows count the drops queued on tap `tap_name`. */
void pktmon_register_drops_table(const char *tap_name);

/* Queues one drop for the drops table; the strings are copied into the
 * packet's scope. Never throws. */
void pktmon_tap_queue_drop(int tap_id, struct _packet_info *pinfo, const char *reason, const char *component);

#endif
