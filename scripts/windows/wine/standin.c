/* Stand-ins for the Wireshark and GLib DLLs the plugin imports, for the Wine
 * smoke test of scripts/test-windows.sh. Compiled against the Wireshark
 * version's own headers (so every definition must match that version's
 * declaration), once per DLL: each is linked with the .def file that
 * scripts/build-windows.sh derived from the plugin's import table, so the
 * stand-in libwireshark.dll exports exactly what the plugin imports from
 * libwireshark.dll, and so on (a symbol missing here fails that link). Each
 * call the plugin makes is written on stdout, one line, for the test to read. */
#define STANDIN_BUILD 1
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wireshark.h>
#include <epan/packet.h>
#include <epan/proto.h>
#include <epan/expert.h>
#include <epan/column-utils.h>
#include <epan/tap.h>
#include <epan/epan.h>
#include <epan/stat_tap_ui.h>
#include <epan/exceptions.h>
#include <epan/ftypes/ftypes.h>
#include <wiretap/wtap.h>
#include <wiretap/wtap_opttypes.h>
#include <wsutil/buffer.h>
#include "standin.h"
#include "wtap_struct.h"

#define NEW_API (WIRESHARK_VERSION_MAJOR > 4 || (WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR >= 4))
#define SECTIONS (WIRESHARK_VERSION_MAJOR > 4 || (WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR >= 2))

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* ---- libwsutil.dll ---- */
void *wmem_alloc(wmem_allocator_t *allocator, const size_t size)
{
    (void)allocator;
    return malloc(size ? size : 1);
}
char *wmem_strdup(wmem_allocator_t *allocator, const char *src)
{
    (void)allocator;
    return src ? strdup(src) : NULL;
}
void wmem_strbuf_append(wmem_strbuf_t *strbuf, const char *str)
{
    (void)strbuf;
    say("wmem_strbuf_append %s", str);
}
void wmem_strbuf_append_c(wmem_strbuf_t *strbuf, const char c)
{
    (void)strbuf;
    say("wmem_strbuf_append_c %c", c);
}
size_t wmem_strbuf_get_len(const wmem_strbuf_t *strbuf)
{
    (void)strbuf;
    return 0;
}

/* ---- libwiretap.dll ---- */
#define SB(b) ((struct standin_block *)(b))
#if NEW_API
unsigned wtap_block_count_option(wtap_block_t block, unsigned option_id)
#else
guint wtap_block_count_option(wtap_block_t block, guint option_id)
#endif
{
    return block && option_id == OPT_COMMENT ? SB(block)->n_comments : 0;
}
#if NEW_API
wtap_opttype_return_val wtap_block_get_nth_string_option_value(wtap_block_t block, unsigned option_id, unsigned idx,
                                                               char **value)
#else
wtap_opttype_return_val wtap_block_get_nth_string_option_value(wtap_block_t block, guint option_id, guint idx,
                                                               char **value)
#endif
{
    if (!block || option_id != OPT_COMMENT || idx >= SB(block)->n_comments)
        return WTAP_OPTTYPE_NOT_FOUND;
    *value = SB(block)->comments[idx];
    return WTAP_OPTTYPE_SUCCESS;
}
#if NEW_API
wtap_opttype_return_val wtap_block_get_uint64_option_value(wtap_block_t block, unsigned option_id, uint64_t *value)
#else
wtap_opttype_return_val wtap_block_get_uint64_option_value(wtap_block_t block, guint option_id, guint64 *value)
#endif
{
    if (!block || option_id != OPT_PKT_PACKETID || !SB(block)->has_packet_id)
        return WTAP_OPTTYPE_NOT_FOUND;
    *value = SB(block)->packet_id;
    return WTAP_OPTTYPE_SUCCESS;
}
#if NEW_API
wtap_opttype_return_val wtap_block_get_uint32_option_value(wtap_block_t block, unsigned option_id, uint32_t *value)
#else
wtap_opttype_return_val wtap_block_get_uint32_option_value(wtap_block_t block, guint option_id, guint32 *value)
#endif
{
    if (!block || option_id != OPT_PKT_FLAGS || !SB(block)->has_flags)
        return WTAP_OPTTYPE_NOT_FOUND;
    *value = SB(block)->flags;
    return WTAP_OPTTYPE_SUCCESS;
}
WSBOOL wtap_block_foreach_option(wtap_block_t block, wtap_block_foreach_func func, void *user_data)
{
    if (block && SB(block)->has_verdict) {
        wtap_optval_t v;
        memset(&v, 0, sizeof v);
        v.packet_verdictval = SB(block)->verdict;
        func(block, OPT_PKT_VERDICT, WTAP_OPTTYPE_PACKET_VERDICT, &v, user_data);
    }
    return 1;
}

/* The file reader's side of libwiretap.dll (and ws_buffer_assure_space of
 * libwsutil.dll): registration logged, blocks kept as standin_wblock, files
 * read with C stdio. `struct wtap` is the one wtap_struct.h gives the plugin
 * (this test checks the calls, the layout is checked by the build). */
struct wtap_reader {
    FILE *f;
};
struct standin_wblock {
    struct standin_block b; /* first: the packet readers above take it */
    wtap_block_type_t type;
    wtapng_if_descr_mandatory_t idb;
    char *name, *description, *comment, *os, *userappl;
    int tsresol;
};
#define WB(b) ((struct standin_wblock *)(b))
static struct open_info *open_routine;
static const struct file_type_subtype_info *ftype;
static int n_created;

int file_read(void *buf, unsigned int count, FILE_T file)
{
    return (int)fread(buf, 1, count, file->f);
}
int wtap_pcap_encap_to_wtap_encap(int encap)
{
    say("wtap_pcap_encap_to_wtap_encap %d", encap);
    switch (encap) {
    case 1:
        return WTAP_ENCAP_ETHERNET;
    case 101:
        return WTAP_ENCAP_RAW_IP;
    case 105:
        return WTAP_ENCAP_IEEE_802_11;
    default:
        return WTAP_ENCAP_UNKNOWN;
    }
}
#if NEW_API
unsigned wtap_snapshot_length(wtap *wth)
#else
guint wtap_snapshot_length(wtap *wth)
#endif
{
    return wth->snapshot_length;
}
int wtap_file_encap(wtap *wth) { return wth->file_encap; }
int wtap_file_tsprec(wtap *wth) { return wth->file_tsprec; }
void wtap_register_file_type_extension(const struct file_extension_info *ei)
{
    say("wtap_register_file_type_extension name=\"%s\" capture=%d extensions=%s", ei->name, (int)ei->is_capture_file,
        ei->extensions);
}
void wtap_register_open_info(struct open_info *oi, const WSBOOL first_routine)
{
    open_routine = oi;
    say("wtap_register_open_info name=\"%s\" type=%s extensions=%s first=%d", oi->name,
        oi->type == OPEN_INFO_HEURISTIC ? "heuristic" : "magic", oi->extensions, (int)first_routine);
}
int wtap_register_file_type_subtype(const struct file_type_subtype_info *fi)
{
    ftype = fi;
    say("wtap_register_file_type_subtype description=\"%s\" name=%s extension=%s blocks=%u", fi->description, fi->name,
        fi->default_file_extension, (unsigned)fi->num_supported_blocks);
    return 77;
}
wtap_block_t wtap_block_create(wtap_block_type_t block_type)
{
    struct standin_wblock *b = calloc(1, sizeof *b);
    b->type = block_type;
    n_created++;
    return (wtap_block_t)b;
}
void *wtap_block_get_mandatory_data(wtap_block_t block)
{
    return WB(block)->type == WTAP_BLOCK_IF_ID_AND_INFO ? &WB(block)->idb : NULL;
}
#if NEW_API
wtap_opttype_return_val wtap_block_add_string_option(wtap_block_t block, unsigned option_id, const char *value,
                                                     size_t value_length)
#else
wtap_opttype_return_val wtap_block_add_string_option(wtap_block_t block, guint option_id, const char *value,
                                                     gsize value_length)
#endif
{
    struct standin_wblock *b = WB(block);
    char *v = malloc(value_length + 1);
    memcpy(v, value, value_length);
    v[value_length] = 0;
    if (b->type == WTAP_BLOCK_PACKET && option_id == OPT_COMMENT && b->b.n_comments < STANDIN_MAX_COMMENTS)
        b->b.comments[b->b.n_comments++] = v;
    else if (b->type == WTAP_BLOCK_IF_ID_AND_INFO && option_id == OPT_IDB_NAME)
        b->name = v;
    else if (b->type == WTAP_BLOCK_IF_ID_AND_INFO && option_id == OPT_IDB_DESCRIPTION)
        b->description = v;
    else if (b->type == WTAP_BLOCK_IF_ID_AND_INFO && option_id == OPT_COMMENT)
        b->comment = v;
    else if (b->type == WTAP_BLOCK_SECTION && option_id == OPT_SHB_OS)
        b->os = v;
    else if (b->type == WTAP_BLOCK_SECTION && option_id == OPT_SHB_USERAPPL)
        b->userappl = v;
    else {
        say("wtap_block_add_string_option: unexpected option %u on a block of type %d", (unsigned)option_id, b->type);
        free(v);
        return WTAP_OPTTYPE_NO_SUCH_OPTION;
    }
    return WTAP_OPTTYPE_SUCCESS;
}
#if NEW_API
wtap_opttype_return_val wtap_block_add_uint8_option(wtap_block_t block, unsigned option_id, uint8_t value)
#else
wtap_opttype_return_val wtap_block_add_uint8_option(wtap_block_t block, guint option_id, guint8 value)
#endif
{
    if (WB(block)->type != WTAP_BLOCK_IF_ID_AND_INFO || option_id != OPT_IDB_TSRESOL)
        return WTAP_OPTTYPE_NO_SUCH_OPTION;
    WB(block)->tsresol = value;
    return WTAP_OPTTYPE_SUCCESS;
}
#if NEW_API
wtap_opttype_return_val wtap_block_add_uint32_option(wtap_block_t block, unsigned option_id, uint32_t value)
#else
wtap_opttype_return_val wtap_block_add_uint32_option(wtap_block_t block, guint option_id, guint32 value)
#endif
{
    if (WB(block)->type != WTAP_BLOCK_PACKET || option_id != OPT_PKT_FLAGS)
        return WTAP_OPTTYPE_NO_SUCH_OPTION;
    WB(block)->b.has_flags = 1;
    WB(block)->b.flags = value;
    return WTAP_OPTTYPE_SUCCESS;
}
#if NEW_API
wtap_opttype_return_val wtap_block_add_uint64_option(wtap_block_t block, unsigned option_id, uint64_t value)
#else
wtap_opttype_return_val wtap_block_add_uint64_option(wtap_block_t block, guint option_id, guint64 value)
#endif
{
    if (WB(block)->type != WTAP_BLOCK_PACKET || option_id != OPT_PKT_PACKETID)
        return WTAP_OPTTYPE_NO_SUCH_OPTION;
    WB(block)->b.has_packet_id = 1;
    WB(block)->b.packet_id = value;
    return WTAP_OPTTYPE_SUCCESS;
}
#if NEW_API
wtap_opttype_return_val wtap_block_add_packet_verdict_option(wtap_block_t block, unsigned option_id,
                                                             packet_verdict_opt_t *value)
#else
wtap_opttype_return_val wtap_block_add_packet_verdict_option(wtap_block_t block, guint option_id,
                                                             packet_verdict_opt_t *value)
#endif
{
    if (WB(block)->type != WTAP_BLOCK_PACKET || option_id != OPT_PKT_VERDICT)
        return WTAP_OPTTYPE_NO_SUCH_OPTION;
    WB(block)->b.has_verdict = 1;
    WB(block)->b.verdict = *value;
    return WTAP_OPTTYPE_SUCCESS;
}
#if PKTMON_WTAP >= 46
void wtap_setup_packet_rec(wtap_rec *rec, int encap)
{
    rec->rec_type = REC_TYPE_PACKET;
    rec->rec_header.packet_header.pkt_encap = encap;
}
#endif
#if NEW_API
void ws_buffer_assure_space(Buffer *buffer, size_t space)
#else
void ws_buffer_assure_space(Buffer *buffer, gsize space)
#endif
{
    if (buffer->allocated - buffer->first_free < space) {
        buffer->allocated = buffer->first_free + space;
        buffer->data = realloc(buffer->data, buffer->allocated);
    }
}

static struct standin_array *new_array(unsigned elt_size)
{
    struct standin_array *a = calloc(1, sizeof *a);
    a->elt_size = elt_size;
    return a;
}
static void free_block(wtap_block_t block)
{
    struct standin_wblock *b = WB(block);
    for (unsigned i = 0; i < b->b.n_comments; i++)
        free(b->b.comments[i]);
    free(b->name);
    free(b->description);
    free(b->comment);
    free(b->os);
    free(b->userappl);
    free(b);
}

/* One record: read (sequential) or seek_read at *offset. Returns 1 with the
 * record's bytes in *data (malloc'd), 0 at the end or on an error. */
static int read_record(wtap *wth, int seek, int64_t *offset, wtap_rec *rec, uint8_t **data, int *err, char **err_info)
{
    int ok;
    memset(rec, 0, sizeof *rec);
#if PKTMON_WTAP >= 46
    ok = seek ? wth->subtype_seek_read(wth, *offset, rec, err, err_info)
              : wth->subtype_read(wth, rec, err, err_info, offset);
    Buffer *buf = &rec->data;
#else
    Buffer buffer;
    memset(&buffer, 0, sizeof buffer);
    ok = seek ? wth->subtype_seek_read(wth, *offset, rec, &buffer, err, err_info)
              : wth->subtype_read(wth, rec, &buffer, err, err_info, offset);
    Buffer *buf = &buffer;
#endif
    if (!ok) {
        free(buf->data);
        return 0;
    }
    *data = malloc(rec->rec_header.packet_header.caplen + 1);
    memcpy(*data, buf->data + buf->start, rec->rec_header.packet_header.caplen);
    free(buf->data);
    return 1;
}

int standin_wtap_read_file(const char *path)
{
    if (!open_routine || !ftype) {
        say("the plugin registered no file reader");
        return 1;
    }
    struct wtap_reader fh = {fopen(path, "rb")};
    if (!fh.f) {
        say("cannot open %s", path);
        return 1;
    }
    wtap *wth = calloc(1, sizeof *wth);
    wth->fh = &fh;
    wth->random_fh = NULL;
    wth->ispipe = 0;
    wth->pathname = (char *)path;
    wth->file_type_subtype = -1;
    wth->file_encap = WTAP_ENCAP_UNKNOWN;
    wth->snapshot_length = 262144;
    wth->interface_data = (GArray *)new_array(sizeof(wtap_block_t));
    wth->shb_hdrs = (GArray *)new_array(sizeof(wtap_block_t));
    wtap_block_t shb = wtap_block_create(WTAP_BLOCK_SECTION);
    struct standin_array *shbs = (struct standin_array *)wth->shb_hdrs;
    shbs->data = malloc(sizeof shb);
    memcpy(shbs->data, &shb, sizeof shb);
    shbs->len = 1;

    int err = 0;
    char *err_info = NULL;
    wtap_open_return_val r = open_routine->open_routine(wth, &err, &err_info);
    say("open %s: %s err=%d%s%s", path, r == WTAP_OPEN_MINE ? "mine" : r == WTAP_OPEN_NOT_MINE ? "not mine" : "error",
        err, err_info ? " " : "", err_info ? err_info : "");
    if (r != WTAP_OPEN_MINE)
        return 1;
    say("file_type_subtype=%d file_encap=%d file_tsprec=%d snapshot_length=%u", wth->file_type_subtype,
        wtap_file_encap(wth), wtap_file_tsprec(wth), wtap_snapshot_length(wth));
    struct standin_array *ifaces = (struct standin_array *)wth->interface_data;
    for (unsigned i = 0; i < ifaces->len; i++) {
        struct standin_wblock *b = ((struct standin_wblock **)ifaces->data)[i];
        say("interface %u: encap=%d units=%llu tsresol=%d name=\"%s\" description=\"%s\"", i, b->idb.wtap_encap,
            (unsigned long long)b->idb.time_units_per_second, b->tsresol, b->name ? b->name : "",
            b->description ? b->description : "");
    }
    say("section os=\"%s\" application=\"%s\"", WB(shb)->os ? WB(shb)->os : "",
        WB(shb)->userappl ? WB(shb)->userappl : "");

    unsigned frames = 0, dropped = 0, verdicts = 0, bytes = 0;
    int64_t first_offset = 0;
    uint8_t *first = NULL;
    unsigned first_len = 0;
    for (;;) {
        wtap_rec rec;
        uint8_t *data = NULL;
        int64_t offset = 0;
        err = 0;
        if (!read_record(wth, 0, &offset, &rec, &data, &err, &err_info))
            break;
        struct standin_wblock *b = WB(rec.block);
        frames++;
        bytes += rec.rec_header.packet_header.caplen;
        if (b->b.n_comments > 0 && strncmp(b->b.comments[0], "Drop:", 5) == 0)
            dropped++;
        verdicts += b->b.has_verdict;
        if (frames == 1 || (dropped == 1 && b->b.n_comments > 0 && strncmp(b->b.comments[0], "Drop:", 5) == 0 &&
                            verdicts <= 1)) {
            say("frame %u: interface=%u encap=%d caplen=%u len=%u ts=%lld.%09d packet_id=%llu flags=0x%x verdict=%d "
                "comment=\"%s\"",
                frames, rec.rec_header.packet_header.interface_id, rec.rec_header.packet_header.pkt_encap,
                rec.rec_header.packet_header.caplen, rec.rec_header.packet_header.len, (long long)rec.ts.secs,
                rec.ts.nsecs, (unsigned long long)b->b.packet_id, b->b.flags, b->b.has_verdict,
                b->b.n_comments ? b->b.comments[0] : "");
        }
        if (frames == 1) {
            first_offset = offset;
            first = data;
            first_len = rec.rec_header.packet_header.caplen;
        } else {
            free(data);
        }
        free_block(rec.block);
    }
    say("read %u frames (%u bytes), %u with a drop comment, %u with a verdict; end err=%d", frames, bytes, dropped,
        verdicts, err);
    if (first) {
        wtap_rec rec;
        uint8_t *data = NULL;
        int64_t offset = first_offset;
        err = 0;
        if (read_record(wth, 1, &offset, &rec, &data, &err, &err_info)) {
            say("seek_read frame 1: %s", rec.rec_header.packet_header.caplen == first_len &&
                                                 memcmp(data, first, first_len) == 0
                                             ? "the same bytes"
                                             : "different bytes");
            free(data);
            free_block(rec.block);
        } else {
            say("seek_read frame 1 failed: err=%d", err);
        }
    }
    if (wth->subtype_close)
        wth->subtype_close(wth);
    free(wth->priv);
    fclose(fh.f);
    say("closed");
    return frames > 0 && err == 0 ? 0 : 1;
}

/* ---- libwireshark.dll ---- */
#define MAX_HF 128
static const char *hf_abbrev[MAX_HF];
static int hf_type[MAX_HF];
static int n_hf;
static const char *ei_name[8];
static int n_ei;
static const proto_plugin *plugin;
struct dissector_handle {
    dissector_t fn;
    int proto;
};
static struct dissector_handle handle;
static dissector_t postdissector;
static void (*init_routine)(void);
static stat_tap_table_ui *stat_ui;
static stat_tap_table *stat_table;
static const void *queued[16];
static int n_queued;
static int throw_on_add_item;
static struct except_stacknode *except_top;
static proto_node nodes[256];
static int n_nodes;

static const char *abbrev_of(int hf)
{
    return hf >= 100 && hf < 100 + n_hf ? hf_abbrev[hf - 100] : "?";
}

int proto_register_protocol(const char *name, const char *short_name, const char *filter_name)
{
    say("proto_register_protocol name=%s short=%s filter=%s", name, short_name, filter_name);
    return 42;
}
void proto_register_field_array(const int parent, hf_register_info *hf, const int num_records)
{
    say("proto_register_field_array proto=%d count=%d", parent, num_records);
    for (int i = 0; i < num_records && n_hf < MAX_HF; i++, n_hf++) {
        hf_abbrev[n_hf] = hf[i].hfinfo.abbrev;
        hf_type[n_hf] = hf[i].hfinfo.type;
        *hf[i].p_id = 100 + n_hf;
        say("field %s type=%d display=%d name=\"%s\"", hf[i].hfinfo.abbrev, (int)hf[i].hfinfo.type,
            hf[i].hfinfo.display, hf[i].hfinfo.name);
    }
}
void proto_register_subtree_array(int *const *indices, const int num_indices)
{
    for (int i = 0; i < num_indices; i++)
        *indices[i] = 7 + i;
    say("proto_register_subtree_array count=%d", num_indices);
}
expert_module_t *expert_register_protocol(int id)
{
    say("expert_register_protocol proto=%d", id);
    return (expert_module_t *)&handle;
}
void expert_register_field_array(expert_module_t *module, ei_register_info *ei, const int num_records)
{
    (void)module;
    for (int i = 0; i < num_records && n_ei < 8; i++, n_ei++) {
        ei[i].ids->ei = n_ei + 1;
        ei_name[n_ei] = ei[i].eiinfo.name;
        say("expert %s group=0x%x severity=0x%x summary=\"%s\"", ei[i].eiinfo.name, ei[i].eiinfo.group,
            ei[i].eiinfo.severity, ei[i].eiinfo.summary);
    }
}
dissector_handle_t create_dissector_handle(dissector_t dissector, const int proto)
{
    handle.fn = dissector;
    handle.proto = proto;
    say("create_dissector_handle proto=%d", proto);
    return &handle;
}
void register_postdissector(dissector_handle_t h)
{
    postdissector = h->fn;
    say("register_postdissector proto=%d", h->proto);
}
void register_init_routine(void (*func)(void))
{
    init_routine = func;
    say("register_init_routine");
}
void register_cleanup_routine(void (*func)(void))
{
    (void)func;
    say("register_cleanup_routine");
}
int register_tap(const char *name)
{
    say("register_tap %s", name);
    return 3;
}
void register_stat_tap_table_ui(stat_tap_table_ui *ui)
{
    stat_ui = ui;
    say("register_stat_tap_table_ui title=\"%s\" cli=%s tap=%s fields=%u", ui->title, ui->cli_string, ui->tap_name,
        (unsigned)ui->nfields);
}
void proto_register_plugin(const proto_plugin *p)
{
    plugin = p;
    say("proto_register_plugin");
}
int proto_registrar_get_id_byname(const char *field_name)
{
    say("proto_registrar_get_id_byname %s", field_name);
    return -1;
}
WSBOOL proto_field_is_referenced(proto_tree *tree, int proto_id)
{
    (void)proto_id;
    return tree != NULL;
}
const char *proto_get_protocol_filter_name(const int proto_id)
{
    return proto_id == 42 ? "pktmon" : "?";
}
#if NEW_API
GPtrArray *proto_find_first_finfo(proto_tree *tree, const int hfindex)
#else
GPtrArray *proto_find_first_finfo(proto_tree *tree, const int id)
#endif
{
    (void)tree;
    return NULL;
}
#if NEW_API
const wmem_strbuf_t *fvalue_get_strbuf(fvalue_t *fv)
#else
const wmem_strbuf_t *fvalue_get_strbuf(fvalue_t *fv)
#endif
{
    (void)fv;
    return NULL;
}

#if SECTIONS
const char *epan_get_interface_name(const epan_t *session, uint32_t interface_id, unsigned section_number)
{
    (void)session;
    say("epan_get_interface_name id=%u section=%u", interface_id, section_number);
    return "\\Device\\NPF_{STANDIN}";
}
const char *epan_get_interface_description(const epan_t *session, uint32_t interface_id, unsigned section_number)
{
    (void)session;
    (void)interface_id;
    (void)section_number;
    return "stand-in adapter";
}
#else
const char *epan_get_interface_name(const epan_t *session, guint32 interface_id)
{
    (void)session;
    say("epan_get_interface_name id=%u", interface_id);
    return "\\Device\\NPF_{STANDIN}";
}
const char *epan_get_interface_description(const epan_t *session, guint32 interface_id)
{
    (void)session;
    (void)interface_id;
    return "stand-in adapter";
}
#endif

#if NEW_API
unsigned tvb_captured_length(const tvbuff_t *tvb)
#else
guint tvb_captured_length(const tvbuff_t *tvb)
#endif
{
    return tvb->length;
}
#if NEW_API
unsigned tvb_reported_length(const tvbuff_t *tvb)
#else
guint tvb_reported_length(const tvbuff_t *tvb)
#endif
{
    return tvb->length;
}
#if NEW_API
const uint8_t *tvb_get_ptr(tvbuff_t *tvb, const int offset, const int length)
#else
const guint8 *tvb_get_ptr(tvbuff_t *tvb, const gint offset, const gint length)
#endif
{
    (void)length;
    return tvb->data + offset;
}

void col_append_str(column_info *cinfo, const int col, const char *str)
{
    (void)cinfo;
    say("col_append_str col=%d \"%s\"", col, str);
}

/* TRY/CATCH: a stack of catchers as in epan/except.c, and a THROW on demand. */
void except_setup_try(struct except_stacknode *node, struct except_catch *catcher, const except_id_t id[], size_t num)
{
    memset(&catcher->except_obj, 0, sizeof catcher->except_obj);
    catcher->except_id = id;
    catcher->except_size = num;
    node->except_down = except_top;
    node->except_type = XCEPT_CATCHER;
    node->except_info.except_catcher = catcher;
    except_top = node;
}
struct except_stacknode *except_pop(void)
{
    struct except_stacknode *top = except_top;
    if (top)
        except_top = top->except_down;
    return top;
}
void except_rethrow(except_t *e)
{
    say("except_rethrow code=%lu: not expected", (unsigned long)e->except_id.except_code);
    exit(3);
}
void except_free(void *p) { free(p); }

static WS_NORETURN void standin_throw(unsigned long code, const char *message)
{
    struct except_catch *catcher = except_top->except_info.except_catcher;
    /* _JUMP_BUFFER.Frame: the frame longjmp would unwind to through SEH (0: none). */
    unsigned long long frame;
    memcpy(&frame, &catcher->except_jmp, sizeof frame);
    say("THROW %s: catcher's jmp_buf Frame=0x%llx", message, frame);
    catcher->except_obj.except_id.except_group = XCEPT_GROUP_WIRESHARK;
    catcher->except_obj.except_id.except_code = code;
    catcher->except_obj.except_message = message;
    catcher->except_obj.except_dyndata = NULL;
    longjmp(catcher->except_jmp, 1);
}

static proto_node *new_node(void)
{
    if (n_nodes == 256)
        n_nodes = 0;
    return &nodes[n_nodes++];
}

proto_item *proto_tree_add_item(proto_tree *tree, int hfindex, tvbuff_t *tvb, const int start, int length,
                                const unsigned encoding)
{
    (void)tree;
    (void)tvb;
    (void)encoding;
    if (throw_on_add_item && except_top)
        standin_throw(DissectorError, "too many items (stand-in)");
    say("proto_tree_add_item proto=%d start=%d length=%d", hfindex, start, length);
    return new_node();
}
void proto_item_append_text(proto_item *pi, const char *format, ...)
{
    (void)pi;
    char buf[512];
    va_list ap;
    va_start(ap, format);
    vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    say("proto_item_append_text \"%s\"", buf);
}
proto_tree *proto_item_add_subtree(proto_item *pi, const int idx)
{
    (void)pi;
    say("proto_item_add_subtree ett=%d", idx);
    return new_node();
}
proto_item *proto_tree_add_uint(proto_tree *tree, int hfindex, tvbuff_t *tvb, int start, int length, uint32_t value)
{
    (void)tree;
    (void)tvb;
    (void)start;
    (void)length;
    say("add %s = %u", abbrev_of(hfindex), value);
    return new_node();
}
proto_item *proto_tree_add_uint64(proto_tree *tree, int hfindex, tvbuff_t *tvb, int start, int length, uint64_t value)
{
    (void)tree;
    (void)tvb;
    (void)start;
    (void)length;
    say("add %s = %llu", abbrev_of(hfindex), (unsigned long long)value);
    return new_node();
}
#if NEW_API
proto_item *proto_tree_add_boolean(proto_tree *tree, int hfindex, tvbuff_t *tvb, int start, int length, uint64_t value)
#else
proto_item *proto_tree_add_boolean(proto_tree *tree, int hfindex, tvbuff_t *tvb, gint start, gint length, guint32 value)
#endif
{
    (void)tree;
    (void)tvb;
    (void)start;
    (void)length;
    say("add %s = %s", abbrev_of(hfindex), value ? "true" : "false");
    return new_node();
}
proto_item *proto_tree_add_string(proto_tree *tree, int hfindex, tvbuff_t *tvb, int start, int length,
                                  const char *value)
{
    (void)tree;
    (void)tvb;
    (void)start;
    (void)length;
    say("add %s = \"%s\"", abbrev_of(hfindex), value);
    return new_node();
}
proto_item *proto_tree_add_time(proto_tree *tree, int hfindex, tvbuff_t *tvb, int start, int length,
                                const nstime_t *value_ptr)
{
    (void)tree;
    (void)tvb;
    (void)start;
    (void)length;
    say("add %s = %lld.%09d s", abbrev_of(hfindex), (long long)value_ptr->secs, value_ptr->nsecs);
    return new_node();
}
#if NEW_API
proto_item *expert_add_info_format(packet_info *pinfo, proto_item *pi, expert_field *eiindex, const char *format, ...)
#else
void expert_add_info_format(packet_info *pinfo, proto_item *pi, expert_field *eiindex, const char *format, ...)
#endif
{
    (void)pinfo;
    char buf[512];
    va_list ap;
    va_start(ap, format);
    vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    say("expert %s \"%s\"", eiindex->ei >= 1 && eiindex->ei <= n_ei ? ei_name[eiindex->ei - 1] : "?", buf);
#if NEW_API
    return pi;
#else
    (void)pi;
#endif
}

void tap_queue_packet(int tap_id, packet_info *pinfo, const void *tap_specific_data)
{
    (void)pinfo;
    /* The plugin's drop record (helpers.c): reason, then component. */
    const char *const *drop = tap_specific_data;
    say("tap_queue_packet tap=%d reason=\"%s\" component=\"%s\"", tap_id, drop[0], drop[1]);
    if (n_queued < 16)
        queued[n_queued++] = tap_specific_data;
}

stat_tap_table *stat_tap_init_table(const char *name, int num_fields, int num_elements, const char *filter_string)
{
    stat_tap_table *t = calloc(1, sizeof *t);
    t->title = name;
    t->filter_string = filter_string;
    t->num_fields = num_fields;
    t->num_elements = num_elements;
    t->elements = NULL;
    return t;
}
void stat_tap_add_table(stat_tap_table_ui *new_stat, stat_tap_table *table)
{
    (void)new_stat;
    stat_table = table;
}
stat_tap_table *stat_tap_find_table(stat_tap_table_ui *ui, const char *name)
{
    (void)ui;
    return stat_table && strcmp(stat_table->title, name) == 0 ? stat_table : NULL;
}
#if NEW_API
void stat_tap_init_table_row(stat_tap_table *stat_table_, unsigned table_index, unsigned num_fields,
                             const stat_tap_table_item_type *fields)
#else
void stat_tap_init_table_row(stat_tap_table *stat_table_, guint table_index, guint num_fields,
                             const stat_tap_table_item_type *fields)
#endif
{
    if (table_index >= stat_table_->num_elements) {
        stat_table_->elements = realloc(stat_table_->elements, (table_index + 1) * sizeof *stat_table_->elements);
        stat_table_->num_elements = table_index + 1;
    }
    stat_table_->elements[table_index] = malloc(num_fields * sizeof *fields);
    memcpy(stat_table_->elements[table_index], fields, num_fields * sizeof *fields);
}
#if NEW_API
stat_tap_table_item_type *stat_tap_get_field_data(const stat_tap_table *stat_table_, unsigned table_index,
                                                  unsigned field_index)
#else
stat_tap_table_item_type *stat_tap_get_field_data(const stat_tap_table *stat_table_, guint table_index,
                                                  guint field_index)
#endif
{
    return &stat_table_->elements[table_index][field_index];
}
#if NEW_API
void stat_tap_set_field_data(stat_tap_table *stat_table_, unsigned table_index, unsigned field_index,
                             stat_tap_table_item_type *field_data)
#else
void stat_tap_set_field_data(stat_tap_table *stat_table_, guint table_index, guint field_index,
                             stat_tap_table_item_type *field_data)
#endif
{
    stat_table_->elements[table_index][field_index] = *field_data;
}

/* ---- for the host ---- */
int standin_run_registration(void)
{
    if (!plugin || !plugin->register_protoinfo) {
        say("the plugin did not call proto_register_plugin");
        return 1;
    }
    plugin->register_protoinfo();
    if (plugin->register_handoff)
        plugin->register_handoff();
    if (init_routine)
        init_routine();
    return postdissector ? 0 : 1;
}
int standin_dissect(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree)
{
    return postdissector ? postdissector(tvb, pinfo, tree, NULL) : -1;
}
void standin_throw_on_add_item(int on) { throw_on_add_item = on; }
int standin_catchers(void)
{
    int n = 0;
    for (struct except_stacknode *s = except_top; s; s = s->except_down)
        n++;
    return n;
}
int standin_run_drops_table(packet_info *pinfo)
{
    if (!stat_ui)
        return 1;
    stat_ui->stat_tap_init_cb(stat_ui);
    stat_data_t data = {stat_ui, NULL};
    for (int i = 0; i < n_queued; i++) {
        pinfo->num = 1000 + i; /* the table counts a frame once */
        stat_ui->packet_func(&data, pinfo, NULL, queued[i], 0);
    }
    if (!stat_table)
        return 1;
    for (unsigned r = 0; r < stat_table->num_elements; r++)
        say("drops table row %u: \"%s\" \"%s\" %u", r, stat_table->elements[r][0].value.string_value,
            stat_table->elements[r][1].value.string_value, stat_table->elements[r][2].value.uint_value);
    return 0;
}
