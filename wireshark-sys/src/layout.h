/* The structure sizes and member offsets the plugin relies on: what the C
 * helpers read in Wireshark's structures, and the structures Rust and
 * Wireshark share through bindgen. scripts/windows/layout-expected.c prints
 * them as the Linux build of a Wireshark version sees them;
 * helpers_win32.h asserts that the Windows (LLP64, MS bitfields) build of
 * the same headers sees the same, field by field, at compile time.
 * X(struct, member) is an offset, S(type) a size. */
#ifndef PKTMON_LAYOUT_H
#define PKTMON_LAYOUT_H

#define PKTMON_LAYOUT_COMMON(X, S) \
    X(packet_info, num) \
    X(packet_info, abs_ts) \
    X(packet_info, fd) \
    X(packet_info, rec) \
    X(packet_info, cinfo) \
    X(packet_info, epan) \
    X(packet_info, pool) \
    X(frame_data, file_off) \
    X(wtap_rec, rec_type) \
    X(wtap_rec, presence_flags) \
    X(wtap_rec, rec_header) \
    X(wtap_rec, block) \
    X(wtap_packet_header, interface_id) \
    X(wtap_packet_header, pkt_encap) \
    X(packet_verdict_opt_t, type) \
    X(packet_verdict_opt_t, data) \
    X(stat_data_t, stat_tap_data) \
    X(stat_tap_table, num_elements) \
    X(stat_tap_table_item_type, type) \
    X(stat_tap_table_item_type, value) \
    X(stat_tap_table_ui, tap_name) \
    X(stat_tap_table_ui, packet_func) \
    X(stat_tap_table_ui, fields) \
    X(stat_tap_table_ui, refcount) \
    X(header_field_info, abbrev) \
    X(header_field_info, type) \
    X(header_field_info, display) \
    X(header_field_info, strings) \
    X(header_field_info, bitmask) \
    X(header_field_info, blurb) \
    X(header_field_info, id) \
    X(header_field_info, same_name_prev_id) \
    X(header_field_info, same_name_next) \
    X(hf_register_info, hfinfo) \
    X(ei_register_info, ids) \
    X(ei_register_info, eiinfo) \
    X(expert_field, hf) \
    X(proto_plugin, register_handoff) \
    X(pktmon_frame_in, interface_name) \
    X(pktmon_frame_in, ts_secs) \
    X(pktmon_frame_in, data) \
    X(pktmon_frame_in, comments) \
    X(pktmon_frame_in, packet_id) \
    X(pktmon_frame_in, verdict_value) \
    X(pktmon_frame_in, offset) \
    X(pktmon_item, value) \
    X(pktmon_item, string) \
    S(nstime_t) \
    S(header_field_info) \
    S(hf_register_info) \
    S(ei_register_info) \
    S(expert_field) \
    S(proto_plugin) \
    S(stat_tap_table_item) \
    S(stat_tap_table_item_type) \
    S(stat_tap_table_ui) \
    S(pktmon_frame_in) \
    S(pktmon_item)

/* 4.2 and later: interface ids are per pcapng section. */
#if WIRESHARK_VERSION_MAJOR > 4 || (WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR >= 2)
#define PKTMON_LAYOUT(X, S) PKTMON_LAYOUT_COMMON(X, S) X(wtap_rec, section_number)
#else
#define PKTMON_LAYOUT(X, S) PKTMON_LAYOUT_COMMON(X, S)
#endif

#endif
