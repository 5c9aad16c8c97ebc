#include <wireshark.h>
#include <epan/packet.h>
#include <epan/proto.h>
#include <epan/expert.h>
#include <epan/column-utils.h>
#include <epan/tap.h>
#include <epan/epan.h>
#include <epan/stat_tap_ui.h>
#include <epan/exceptions.h>
#include <wiretap/wtap.h>
#include <wiretap/wtap_opttypes.h>

#include "helpers.h"

#ifdef _WIN32
#include "helpers_win32.h"
#endif

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
    in->offset = pinfo->fd ? (int64_t)pinfo->fd->file_off : -1;
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

/* frame.protocols is filled before postdissectors run, so PktMon would never
 * be in it: when it is asked for, append our filter name to its value. */
static void add_to_frame_protocols(proto_tree *tree, int proto)
{
    static int hf_frame_protocols = -2;
    if (hf_frame_protocols == -2)
        hf_frame_protocols = proto_registrar_get_id_byname("frame.protocols");
    if (!tree || hf_frame_protocols <= 0 || !proto_field_is_referenced(tree, hf_frame_protocols))
        return;
    GPtrArray *found = proto_find_first_finfo(tree, hf_frame_protocols);
    if (!found)
        return;
    if (found->len > 0) {
        field_info *fi = (field_info *)g_ptr_array_index(found, 0);
#if WIRESHARK_VERSION_MAJOR > 4 || (WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR >= 4)
        fvalue_t *fv = fi->value; /* a pointer from 4.4 on */
#else
        fvalue_t *fv = &fi->value;
#endif
        /* The value is a wmem_strbuf from 4.0 on; fvalue_set_string is not exported. */
        wmem_strbuf_t *value = fv ? (wmem_strbuf_t *)fvalue_get_strbuf(fv) : NULL;
        const char *name = proto_get_protocol_filter_name(proto);
        if (value && name) {
            if (wmem_strbuf_get_len(value) > 0)
                wmem_strbuf_append_c(value, ':');
            wmem_strbuf_append(value, name);
        }
    }
    g_ptr_array_free(found, TRUE);
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
        add_to_frame_protocols(tree, proto);
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

/* The drops table. One table shared by every listener (tshark asked twice,
 * or two dialogs): each frame is counted once, by whichever listener sees it
 * first. Row 0 is the total. */
typedef struct pktmon_drop_tap {
    const char *reason;
    const char *component;
} pktmon_drop_tap;

#define DROPS_TABLE "PktMon drops per reason and component"
enum { COL_REASON, COL_COMPONENT, COL_COUNT, NUM_COLS };

static stat_tap_table_item drops_fields[NUM_COLS] = {
    {TABLE_ITEM_STRING, TAP_ALIGN_LEFT, "Reason", "%-45s"},
    {TABLE_ITEM_STRING, TAP_ALIGN_LEFT, "Component", "%-24s"},
    {TABLE_ITEM_UINT, TAP_ALIGN_RIGHT, "Drops", "%8u"},
};

static uint32_t drops_last_num;
static int64_t drops_last_offset = -1;

static void drops_add_row(stat_tap_table *table, const char *reason, const char *component)
{
    stat_tap_table_item_type items[NUM_COLS];
    memset(items, 0, sizeof items);
    items[COL_REASON].type = TABLE_ITEM_STRING;
    items[COL_REASON].value.string_value = g_strdup(reason);
    items[COL_COMPONENT].type = TABLE_ITEM_STRING;
    items[COL_COMPONENT].value.string_value = g_strdup(component);
    items[COL_COUNT].type = TABLE_ITEM_UINT;
    items[COL_COUNT].value.uint_value = 0;
    stat_tap_init_table_row(table, table->num_elements, NUM_COLS, items);
}

static void drops_table_init(stat_tap_table_ui *ui)
{
    if (stat_tap_find_table(ui, DROPS_TABLE))
        return;
    stat_tap_table *table = stat_tap_init_table(DROPS_TABLE, NUM_COLS, 0, NULL);
    stat_tap_add_table(ui, table);
    drops_add_row(table, "Total", "");
    drops_last_num = 0;
    drops_last_offset = -1;
}

static void drops_count(stat_tap_table *table, unsigned row)
{
    stat_tap_table_item_type *count = stat_tap_get_field_data(table, row, COL_COUNT);
    count->value.uint_value++;
    stat_tap_set_field_data(table, row, COL_COUNT, count);
}

static tap_packet_status drops_table_packet(void *tapdata, packet_info *pinfo, epan_dissect_t *edt _U_,
                                            const void *data, tap_flags_t flags _U_)
{
    stat_data_t *stat_data = (stat_data_t *)tapdata;
    const pktmon_drop_tap *drop = (const pktmon_drop_tap *)data;
    if (!stat_data || !stat_data->stat_tap_data || !drop || !pinfo)
        return TAP_PACKET_DONT_REDRAW;
    int64_t offset = pinfo->fd ? (int64_t)pinfo->fd->file_off : -1;
    if (pinfo->num == drops_last_num && offset == drops_last_offset)
        return TAP_PACKET_DONT_REDRAW; /* another listener of this table counted it */
    stat_tap_table *table = stat_tap_find_table(stat_data->stat_tap_data, DROPS_TABLE);
    if (!table)
        return TAP_PACKET_DONT_REDRAW;
    drops_last_num = pinfo->num;
    drops_last_offset = offset;
    unsigned row = 0;
    for (unsigned i = 1; i < table->num_elements; i++) {
        stat_tap_table_item_type *r = stat_tap_get_field_data(table, i, COL_REASON);
        stat_tap_table_item_type *c = stat_tap_get_field_data(table, i, COL_COMPONENT);
        if (g_strcmp0(r->value.string_value, drop->reason) == 0 && g_strcmp0(c->value.string_value, drop->component) == 0) {
            row = i;
            break;
        }
    }
    if (row == 0) {
        row = table->num_elements;
        drops_add_row(table, drop->reason, drop->component);
    }
    drops_count(table, row);
    drops_count(table, 0);
    return TAP_PACKET_REDRAW;
}

static void drops_table_reset(stat_tap_table *table)
{
    for (unsigned i = 0; i < table->num_elements; i++) {
        stat_tap_table_item_type *count = stat_tap_get_field_data(table, i, COL_COUNT);
        count->value.uint_value = 0;
        stat_tap_set_field_data(table, i, COL_COUNT, count);
    }
    drops_last_num = 0;
    drops_last_offset = -1;
}

static void drops_table_free_item(stat_tap_table *table _U_, unsigned row _U_, unsigned column,
                                  stat_tap_table_item_type *field)
{
    if (column == COL_REASON || column == COL_COMPONENT) {
        g_free((char *)field->value.string_value);
        field->value.string_value = NULL;
    }
}

static stat_tap_table_ui drops_ui;

void pktmon_register_drops_table(const char *tap_name)
{
    drops_ui.group = REGISTER_PACKET_STAT_GROUP_UNSORTED;
    drops_ui.title = "PktMon Drops";
    drops_ui.tap_name = tap_name;
    drops_ui.cli_string = "pktmon,drops";
    drops_ui.stat_tap_init_cb = drops_table_init;
    drops_ui.packet_func = drops_table_packet;
    drops_ui.stat_tap_reset_table_cb = drops_table_reset;
    drops_ui.stat_tap_free_table_item_cb = drops_table_free_item;
    drops_ui.stat_filter_check_cb = NULL;
    drops_ui.nfields = NUM_COLS;
    drops_ui.fields = drops_fields;
    drops_ui.nparams = 0;
    drops_ui.params = NULL;
    drops_ui.tables = NULL;
    drops_ui.refcount = 0;
    register_stat_tap_table_ui(&drops_ui);
}

void pktmon_tap_queue_drop(int tap_id, packet_info *pinfo, const char *reason, const char *component)
{
    if (!pinfo || !reason || !component)
        return;
    pktmon_drop_tap *drop = wmem_new(pinfo->pool, pktmon_drop_tap);
    drop->reason = wmem_strdup(pinfo->pool, reason);
    drop->component = wmem_strdup(pinfo->pool, component);
    tap_queue_packet(tap_id, pinfo, drop);
}
