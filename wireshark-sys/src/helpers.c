#include <wireshark.h>
#include <epan/packet.h>
#include <epan/proto.h>
#include <epan/expert.h>
#include <epan/column-utils.h>
#include <epan/tap.h>
#include <epan/epan.h>
#include <epan/exceptions.h>
#include <wiretap/wtap.h>
#include <wiretap/wtap_opttypes.h>

#include "helpers.h"

/* The first epb_verdict of a block (a shallow read: nothing here is ours to free). */
#if WIRESHARK_VERSION_MAJOR > 4 || (WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR >= 4)
static bool read_verdict(wtap_block_t block _U_, unsigned option_id, wtap_opttype_e option_type, wtap_optval_t *option,
                         void *user_data)
#else
static gboolean read_verdict(wtap_block_t block _U_, guint option_id, wtap_opttype_e option_type, wtap_optval_t *option,
                             void *user_data)
#endif
{
    pktmon_frame_in *in = user_data;
    if (option_id != OPT_PKT_VERDICT || option_type != WTAP_OPTTYPE_PACKET_VERDICT || !option)
        return 1; /* go on */
    const packet_verdict_opt_t *verdict = &option->packet_verdictval;
    in->has_verdict = 1;
    in->verdict_type = (int)verdict->type;
    if (verdict->type == packet_verdict_linux_ebpf_tc)
        in->verdict_value = verdict->data.verdict_linux_ebpf_tc;
    else if (verdict->type == packet_verdict_linux_ebpf_xdp)
        in->verdict_value = verdict->data.verdict_linux_ebpf_xdp;
    return 0; /* the first one is enough */
}

void pktmon_read_interface_names(packet_info *pinfo, pktmon_frame_in *in)
{
    wtap_rec *rec = pinfo->rec;
    if (!in->has_interface || !rec)
        return;
#if WIRESHARK_VERSION_MAJOR > 4 || (WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR >= 2)
    /* After 4.0 the pcapng section number was added (interface ids are per section); 4.4 and 4.6 have it. */
    in->interface_name = epan_get_interface_name(pinfo->epan, in->interface_id, rec->section_number);
    in->interface_description = epan_get_interface_description(pinfo->epan, in->interface_id, rec->section_number);
#else
    in->interface_name = epan_get_interface_name(pinfo->epan, in->interface_id);
    in->interface_description = epan_get_interface_description(pinfo->epan, in->interface_id);
#endif
}

void pktmon_read_frame(packet_info *pinfo, tvbuff_t *tvb, pktmon_frame_in *in)
{
    memset(in, 0, sizeof *in);
    in->number = pinfo->num;
    in->visited = PINFO_FD_VISITED(pinfo) ? 1 : 0;
    in->ts_secs = (int64_t)pinfo->abs_ts.secs;
    in->ts_nsecs = (int32_t)pinfo->abs_ts.nsecs;
    if (tvb) {
        in->captured_len = tvb_captured_length(tvb);
        in->reported_len = tvb_reported_length(tvb);
        in->data = in->captured_len ? tvb_get_ptr(tvb, 0, (gint)in->captured_len) : NULL;
    }
    wtap_rec *rec = pinfo->rec;
    if (!rec || rec->rec_type != REC_TYPE_PACKET)
        return;
    in->encapsulation = rec->rec_header.packet_header.pkt_encap;
    if (rec->presence_flags & WTAP_HAS_INTERFACE_ID) {
        in->has_interface = 1;
        in->interface_id = rec->rec_header.packet_header.interface_id;
    }
    wtap_block_t block = rec->block;
    if (!block)
        return;
    guint n = wtap_block_count_option(block, OPT_COMMENT);
    for (guint i = 0; i < n && in->comment_count < PKTMON_MAX_COMMENTS; i++) {
        char *s = NULL;
        if (wtap_block_get_nth_string_option_value(block, OPT_COMMENT, i, &s) == WTAP_OPTTYPE_SUCCESS && s)
            in->comments[in->comment_count++] = s;
    }
    guint64 id = 0;
    if (wtap_block_get_uint64_option_value(block, OPT_PKT_PACKETID, &id) == WTAP_OPTTYPE_SUCCESS) {
        in->has_packet_id = 1;
        in->packet_id = id;
    }
    guint32 flags = 0;
    if (wtap_block_get_uint32_option_value(block, OPT_PKT_FLAGS, &flags) == WTAP_OPTTYPE_SUCCESS) {
        in->has_flags = 1;
        in->flags = flags;
    }
    /* Not wtap_block_get_nth_packet_verdict_option_value(): in 4.0 to 4.6 it
     * asks for the wrong option type and answers WTAP_OPTTYPE_TYPE_MISMATCH for
     * every verdict, so the options are walked instead. */
    wtap_block_foreach_option(block, read_verdict, in);
}

int pktmon_add_items(proto_tree *tree, tvbuff_t *tvb, packet_info *pinfo, int proto, int ett, const char *summary,
                     const pktmon_item *items, uint32_t count, expert_field *expert, const char *expert_text,
                     const char *info_text)
{
    volatile int failed = 0;
    TRY {
        if (info_text)
            col_append_str(pinfo->cinfo, COL_INFO, info_text);
        proto_item *top = proto_tree_add_item(tree, proto, tvb, 0, 0, ENC_NA);
        if (summary)
            proto_item_append_text(top, "%s", summary);
        proto_tree *sub = proto_item_add_subtree(top, ett);
        for (uint32_t i = 0; i < count; i++) {
            const pktmon_item *it = &items[i];
            proto_item *pi = NULL;
            switch (it->kind) {
            case PKTMON_ITEM_UINT:
                pi = proto_tree_add_uint(sub, it->hf, tvb, 0, 0, (guint32)it->value);
                break;
            case PKTMON_ITEM_UINT64:
                pi = proto_tree_add_uint64(sub, it->hf, tvb, 0, 0, it->value);
                break;
            case PKTMON_ITEM_BOOLEAN:
                pi = proto_tree_add_boolean(sub, it->hf, tvb, 0, 0, it->value ? 1 : 0);
                break;
            case PKTMON_ITEM_STRING:
                pi = proto_tree_add_string(sub, it->hf, tvb, 0, 0, it->string ? it->string : "");
                break;
            case PKTMON_ITEM_DURATION_NS: {
                nstime_t t;
                t.secs = (time_t)(it->value / 1000000000u);
                t.nsecs = (int)(it->value % 1000000000u);
                pi = proto_tree_add_time(sub, it->hf, tvb, 0, 0, &t);
                break;
            }
            default:
                break;
            }
            if (pi)
                proto_item_set_generated(pi);
        }
        if (expert && expert_text)
            expert_add_info_format(pinfo, top, expert, "%s", expert_text);
    }
    CATCH_ALL {
        failed = 1;
    }
    ENDTRY;
    return failed;
}

int pktmon_add_note(proto_tree *tree, tvbuff_t *tvb, packet_info *pinfo, int proto, expert_field *expert,
                    const char *text)
{
    volatile int failed = 0;
    TRY {
        proto_item *top = proto_tree_add_item(tree, proto, tvb, 0, 0, ENC_NA);
        expert_add_info_format(pinfo, top, expert, "%s", text);
    }
    CATCH_ALL {
        failed = 1;
    }
    ENDTRY;
    return failed;
}

void pktmon_tap_queue(int tap_id, packet_info *pinfo, const void *data)
{
    tap_queue_packet(tap_id, pinfo, data);
}
