/* The Wine smoke test's host: plays Wireshark's part for the plugin DLL
 * against the stand-in DLLs (standin.c), each step written on stdout:
 *   load the DLL and read its exports (plugin_version, plugin_want_major,
 *   plugin_want_minor, plugin_describe, plugin_register), run registration,
 *   dissect two frames carrying PktMon comments (a packet seen by the NIC, a
 *   drop), run the drops table on what the tap got, then dissect a frame
 *   during which Wireshark THROWs, caught by the plugin's C helper; then,
 *   given a capture, open it with the file reader the plugin registered
 *   with wiretap ("PktMon ETL") and read every record (the libwiretap.dll
 *   stand-in plays wiretap's part).
 * Usage: host.exe PLUGIN.dll [CAPTURE.etl] */
#include <stdio.h>
#include <string.h>
#include <windows.h>
#include <wireshark.h>
#include <epan/packet.h>
#include <wiretap/wtap.h>
#include "standin.h"

static const unsigned char ethernet_syn[66] = {
    0x00, 0x1d, 0xaa, 0x2d, 0x2c, 0xac, 0x3c, 0x52, 0x82, 0x14, 0x5f, 0x01, 0x08, 0x00, 0x45, 0x00, 0x00,
    0x34, 0x83, 0xce, 0x40, 0x00, 0x80, 0x06, 0x79, 0x0f, 0xc0, 0xa8, 0x01, 0x27, 0xcb, 0x00, 0x71, 0x16,
    0xc4, 0x57, 0x28, 0xcb, 0x87, 0x27, 0x76, 0x1c, 0x00, 0x00, 0x00, 0x00, 0x80, 0x02, 0xfa, 0xf0, 0x8b,
    0xd2, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x08, 0x01, 0x01, 0x04, 0x02};

typedef struct {
    packet_info pinfo;
    frame_data fd;
    wtap_rec rec;
    struct standin_block block;
    struct tvbuff tvb;
} frame;

static void make_frame(frame *f, uint32_t num, int64_t file_off, int encap, const unsigned char *data, unsigned len,
                       const char *comment1, const char *comment2, uint64_t packet_id)
{
    memset(f, 0, sizeof *f);
    f->tvb.data = data;
    f->tvb.length = len;
    f->fd.file_off = file_off;
    f->block.comments[f->block.n_comments++] = (char *)comment1;
    if (comment2)
        f->block.comments[f->block.n_comments++] = (char *)comment2;
    f->block.has_packet_id = 1;
    f->block.packet_id = packet_id;
    f->block.has_flags = 1;
    f->block.flags = 2; /* outbound */
    f->rec.rec_type = REC_TYPE_PACKET;
    f->rec.presence_flags = WTAP_HAS_INTERFACE_ID;
    f->rec.rec_header.packet_header.pkt_encap = encap;
    f->rec.rec_header.packet_header.interface_id = 0;
    f->rec.block = (wtap_block_t)&f->block;
    f->pinfo.num = num;
    f->pinfo.abs_ts.secs = 1761885509;
    f->pinfo.abs_ts.nsecs = 504412300 + (int)num * 1000;
    f->pinfo.fd = &f->fd;
    f->pinfo.rec = &f->rec;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: host.exe PLUGIN.dll [CAPTURE.etl]\n");
        return 2;
    }
    HMODULE dll = LoadLibraryA(argv[1]);
    if (!dll) {
        printf("LoadLibrary %s failed: error %lu\n", argv[1], (unsigned long)GetLastError());
        return 1;
    }
    printf("loaded %s\n", argv[1]);
    const char *version = (const char *)GetProcAddress(dll, "plugin_version");
    const int *major = (const int *)GetProcAddress(dll, "plugin_want_major");
    const int *minor = (const int *)GetProcAddress(dll, "plugin_want_minor");
    unsigned (*describe)(void) = (unsigned (*)(void))(void (*)(void))GetProcAddress(dll, "plugin_describe");
    void (*reg)(void) = (void (*)(void))GetProcAddress(dll, "plugin_register");
    if (!version || !major || !minor || !describe || !reg) {
        printf("missing export: plugin_version=%p plugin_want_major=%p plugin_want_minor=%p plugin_describe=%p "
               "plugin_register=%p\n",
               (void *)version, (void *)major, (void *)minor, (void *)describe, (void *)reg);
        return 1;
    }
    printf("exports plugin_version=%s plugin_want_major=%d plugin_want_minor=%d plugin_describe=0x%x\n", version,
           *major, *minor, describe());
    fflush(stdout);
    reg();
    if (standin_run_registration() != 0) {
        printf("registration did not register a postdissector\n");
        return 1;
    }
    printf("registration done\n");
    fflush(stdout);

    static frame f1, f2, f3;
    proto_node tree;
    memset(&tree, 0, sizeof tree);
    make_frame(&f1, 1, 24, WTAP_ENCAP_ETHERNET, ethernet_syn, sizeof ethernet_syn,
               "PktGroupId 281474979721642, PktNumber 1, Appearance 0, Direction Tx , Type Ethernet , Component 74, "
               "Edge 1, Filter 0, OriginalSize 66, LoggedSize 66 ",
               NULL, 281474979721642ull);
    printf("dissect frame 1 (returned %d)\n", standin_dissect(&f1.tvb, &f1.pinfo, &tree));
    fflush(stdout);
    make_frame(&f2, 2, 300, WTAP_ENCAP_RAW_IP, ethernet_syn + 14, sizeof ethernet_syn - 14,
               "Drop: PktGroupId 2275629, PktNumber 1, Appearance 0, Direction Tx , Type IP , Component 101, Filter 0, "
               "DropReason Inspection drop , DropLocation 0xE0004170, OriginalSize 52, LoggedSize 52 ",
               "DropReasonCode 909", 2275629ull);
    f2.block.has_verdict = 1;
    f2.block.verdict.type = packet_verdict_linux_ebpf_xdp;
    f2.block.verdict.data.verdict_linux_ebpf_xdp = 1; /* XDP_DROP */
    printf("dissect frame 2 (returned %d)\n", standin_dissect(&f2.tvb, &f2.pinfo, &tree));
    fflush(stdout);
    if (standin_run_drops_table(&f2.pinfo) != 0)
        printf("the drops table was not registered or not made\n");

    make_frame(&f3, 3, 600, WTAP_ENCAP_ETHERNET, ethernet_syn, sizeof ethernet_syn,
               "PktGroupId 281474979721643, PktNumber 1, Appearance 0, Direction Tx , Type Ethernet , Component 27, "
               "Edge 1, Filter 0, OriginalSize 66, LoggedSize 66 ",
               NULL, 281474979721643ull);
    standin_throw_on_add_item(1);
    int r = standin_dissect(&f3.tvb, &f3.pinfo, &tree);
    standin_throw_on_add_item(0);
    printf("dissect frame 3 with a THROW (returned %d), catchers left: %d\n", r, standin_catchers());
    fflush(stdout);
    if (argc == 3) {
        /* Each stand-in DLL keeps its own state: the reader was registered
         * with libwiretap.dll's, so its standin_wtap_read_file is the one. */
        HMODULE wiretap = GetModuleHandleA("libwiretap.dll");
        int (*read_file)(const char *) =
            wiretap ? (int (*)(const char *))(void *)GetProcAddress(wiretap, "standin_wtap_read_file") : NULL;
        if (!read_file)
            printf("libwiretap.dll exports no standin_wtap_read_file\n");
        else if (read_file(argv[2]) != 0)
            printf("the file reader did not read %s\n", argv[2]);
    }
    printf("done\n");
    fflush(stdout);
    return 0;
}
