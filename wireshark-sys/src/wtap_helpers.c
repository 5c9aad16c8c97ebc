/* Wiretap glue for the "PktMon ETL" file reader: see wtap_helpers.h.
 *
 * A wiretap reader needs a handful of `struct wtap` fields (priv, the read
 * routines, file_encap, file_tsprec, snapshot_length, interface_data,
 * shb_hdrs, pathname). Wireshark 4.6 installs the header that defines the
 * struct (wiretap/wtap_module.h); 4.0 and 4.4 do not (wiretap/wtap-int.h is
 * private), so wtap_struct.h copies it from those releases' own wtap-int.h,
 * with the offsets their libwiretap's accessors use asserted at compile
 * time, and checked again at run time against those accessors before the
 * reader touches a file (a mismatch disables the reader with a message
 * instead of corrupting memory). Other versions (4.2) build without the
 * reader. */
#include <string.h>
#include <stddef.h>
#include <stdio.h>
#include <wireshark.h>
#include <wiretap/wtap.h>
#include <wiretap/wtap_opttypes.h>
#include <wiretap/pcap-encap.h>
#include <wsutil/buffer.h>
#include "wtap_helpers.h"

#include "wtap_struct.h"

#if PKTMON_WTAP && defined(_WIN32) && defined(PKTMON_LAYOUT_EXPECTED)
/* Windows: the structures above laid out as the Linux build of the same
 * headers lays them out (scripts/build-windows.sh; see wtap_struct.h), or the
 * build stops here naming the member. */
#include "pktmon_layout_expected.h"
#define PKTMON_WTAP_CHECK_OFF(t, m)                                                                                    \
    _Static_assert(offsetof(t, m) == PKTMON_EXPECT_OFF_##t##_##m,                                                      \
                   "offset of " #t "." #m " differs between the Linux and the Windows build of these headers");
#define PKTMON_WTAP_CHECK_SIZE(t)                                                                                      \
    _Static_assert(sizeof(t) == PKTMON_EXPECT_SIZE_##t,                                                                \
                   "size of " #t " differs between the Linux and the Windows build of these headers");
PKTMON_WTAP_LAYOUT(PKTMON_WTAP_CHECK_OFF, PKTMON_WTAP_CHECK_SIZE)
#elif PKTMON_WTAP && defined(_WIN32)
/* Windows without the layout to check against: no reader rather than unchecked offsets. */
#warning "PktMon ETL reader left out: build with scripts/build-windows.sh to check the wiretap layout (WIRESHARK_SYS_LAYOUT_EXPECTED)"
#undef PKTMON_WTAP
#define PKTMON_WTAP 0
#endif

void pktmon_wtap_set_err_info(char **err_info, const char *msg, uint32_t len)
{
    if (err_info != NULL) {
        g_free(*err_info);
        *err_info = g_strndup(msg, len);
    }
}

#if PKTMON_WTAP

static pktmon_wtap_callbacks callbacks;
static int file_type_subtype = -1;

/* What wtap_close frees with g_free: the Rust state is closed in subtype_close. */
typedef struct pktmon_priv {
    void *state;
} pktmon_priv;

typedef struct pktmon_read_ctx {
    wtap *wth;
    wtap_rec *rec;
#if PKTMON_WTAP < 46
    Buffer *buf;
#endif
} pktmon_read_ctx;

/* 10^7 units per second: the ETL's 100 ns. pcapng reads if_tsresol 7 as
 * microseconds on 4.0 (it has no 100 ns precision) and as 100 ns later. */
#if PKTMON_WTAP >= 44
#define PKTMON_TSPREC WTAP_TSPREC_100_NSEC
#else
#define PKTMON_TSPREC WTAP_TSPREC_USEC
#endif

#if PKTMON_WTAP >= 46
static bool pktmon_read(wtap *wth, wtap_rec *rec, int *err, char **err_info, int64_t *offset)
#elif PKTMON_WTAP >= 44
static bool pktmon_read(wtap *wth, wtap_rec *rec, Buffer *buf, int *err, char **err_info, int64_t *offset)
#else
static gboolean pktmon_read(wtap *wth, wtap_rec *rec, Buffer *buf, int *err, char **err_info, gint64 *offset)
#endif
{
    pktmon_priv *priv = (pktmon_priv *)wth->priv;
    pktmon_read_ctx ctx = { wth, rec
#if PKTMON_WTAP < 46
        , buf
#endif
    };
    int64_t index = 0;
    *err = 0;
    if (callbacks.read(priv->state, &ctx, &index, err, err_info) != 1)
        return FALSE;
    *offset = index;
    return TRUE;
}

#if PKTMON_WTAP >= 46
static bool pktmon_seek_read(wtap *wth, int64_t off, wtap_rec *rec, int *err, char **err_info)
#elif PKTMON_WTAP >= 44
static bool pktmon_seek_read(wtap *wth, int64_t off, wtap_rec *rec, Buffer *buf, int *err, char **err_info)
#else
static gboolean pktmon_seek_read(wtap *wth, gint64 off, wtap_rec *rec, Buffer *buf, int *err, char **err_info)
#endif
{
    pktmon_priv *priv = (pktmon_priv *)wth->priv;
    pktmon_read_ctx ctx = { wth, rec
#if PKTMON_WTAP < 46
        , buf
#endif
    };
    *err = 0;
    if (callbacks.seek_read(priv->state, &ctx, off, err, err_info) != 1) {
        if (*err == 0)
            *err = WTAP_ERR_SHORT_READ;
        return FALSE;
    }
    return TRUE;
}

static void pktmon_close(wtap *wth)
{
    pktmon_priv *priv = (pktmon_priv *)wth->priv;
    if (priv != NULL && priv->state != NULL) {
        callbacks.close(priv->state);
        priv->state = NULL;
    }
}

/* The copied struct agrees with this libwiretap's own accessors. */
static gboolean layout_matches(wtap *wth)
{
    int saved_encap = wth->file_encap, saved_tsprec = wth->file_tsprec;
    unsigned saved_snap = wth->snapshot_length;
    gboolean ok;
    wth->file_encap = 0x5a17;
    wth->file_tsprec = 0x2b;
    wth->snapshot_length = 0x1c3d;
    ok = wtap_file_encap(wth) == 0x5a17 && wtap_file_tsprec(wth) == 0x2b && wtap_snapshot_length(wth) == 0x1c3d;
    wth->file_encap = saved_encap;
    wth->file_tsprec = saved_tsprec;
    wth->snapshot_length = saved_snap;
    return ok;
}

static wtap_open_return_val pktmon_open(wtap *wth, int *err, char **err_info)
{
    static gboolean layout_checked = FALSE, layout_ok = FALSE;
    guint8 head[0x50];
    void *state = NULL;
    int r;

    if (!layout_checked) {
        layout_checked = TRUE;
        layout_ok = layout_matches(wth);
        if (!layout_ok)
            fprintf(stderr, "pktmon: this Wireshark's wiretap structures differ from those the plugin was built "
                            "for; the PktMon ETL reader is disabled\n");
    }
    if (!layout_ok)
        return WTAP_OPEN_NOT_MINE;
    if (file_read(head, (unsigned)sizeof head, wth->fh) != (int)sizeof head)
        return WTAP_OPEN_NOT_MINE;
    if (!callbacks.looks_like(head, (uint32_t)sizeof head))
        return WTAP_OPEN_NOT_MINE;
    if (wth->pathname == NULL || wth->ispipe)
        return WTAP_OPEN_NOT_MINE;
    *err = 0;
    r = callbacks.open(wth->pathname, wth, &state, err, err_info);
    if (r == 0)
        return WTAP_OPEN_NOT_MINE;
    if (r < 0) {
        if (*err == 0)
            *err = WTAP_ERR_BAD_FILE;
        return WTAP_OPEN_ERROR;
    }
    pktmon_priv *priv = g_new0(pktmon_priv, 1);
    priv->state = state;
    wth->priv = priv;
    wth->file_type_subtype = file_type_subtype;
    wth->file_encap = WTAP_ENCAP_PER_PACKET;
    wth->file_tsprec = PKTMON_TSPREC;
    wth->snapshot_length = 0;
    wth->subtype_read = pktmon_read;
    wth->subtype_seek_read = pktmon_seek_read;
    wth->subtype_close = pktmon_close;
    return WTAP_OPEN_MINE;
}

int pktmon_wtap_add_interface(void *ctx, const pktmon_wtap_interface *iface)
{
    wtap *wth = (wtap *)ctx;
    wtap_block_t idb = wtap_block_create(WTAP_BLOCK_IF_ID_AND_INFO);
    wtapng_if_descr_mandatory_t *m = (wtapng_if_descr_mandatory_t *)wtap_block_get_mandatory_data(idb);
    m->wtap_encap = wtap_pcap_encap_to_wtap_encap(iface->linktype);
    m->time_units_per_second = 10000000;
    m->tsprecision = PKTMON_TSPREC;
    m->snap_len = 0;
    if (iface->name != NULL)
        wtap_block_add_string_option(idb, OPT_IDB_NAME, iface->name, strlen(iface->name));
    if (iface->description != NULL)
        wtap_block_add_string_option(idb, OPT_IDB_DESCRIPTION, iface->description, strlen(iface->description));
    if (iface->comment != NULL)
        wtap_block_add_string_option(idb, OPT_COMMENT, iface->comment, strlen(iface->comment));
    wtap_block_add_uint8_option(idb, OPT_IDB_TSRESOL, 7);
    g_array_append_val(wth->interface_data, idb);
    return m->wtap_encap;
}

void pktmon_wtap_set_section(void *ctx, const char *os, const char *userappl)
{
    wtap *wth = (wtap *)ctx;
    if (wth->shb_hdrs == NULL || wth->shb_hdrs->len == 0)
        return;
    wtap_block_t shb = g_array_index(wth->shb_hdrs, wtap_block_t, 0);
    if (os != NULL)
        wtap_block_add_string_option(shb, OPT_SHB_OS, os, strlen(os));
    if (userappl != NULL)
        wtap_block_add_string_option(shb, OPT_SHB_USERAPPL, userappl, strlen(userappl));
}

void pktmon_wtap_fill(void *ctx_, const pktmon_wtap_frame *f)
{
    pktmon_read_ctx *ctx = (pktmon_read_ctx *)ctx_;
    wtap_rec *rec = ctx->rec;
    guint8 *dst;
    unsigned i;

#if PKTMON_WTAP >= 46
    wtap_setup_packet_rec(rec, f->encap);
    rec->block = wtap_block_create(WTAP_BLOCK_PACKET);
    ws_buffer_assure_space(&rec->data, f->caplen);
    dst = ws_buffer_start_ptr(&rec->data);
#else
    rec->rec_type = REC_TYPE_PACKET;
    rec->block = wtap_block_create(WTAP_BLOCK_PACKET);
    rec->rec_header.packet_header.pkt_encap = f->encap;
    ws_buffer_assure_space(ctx->buf, f->caplen);
    dst = ws_buffer_start_ptr(ctx->buf);
#endif
    rec->presence_flags = WTAP_HAS_TS | WTAP_HAS_CAP_LEN | WTAP_HAS_INTERFACE_ID;
    rec->tsprec = PKTMON_TSPREC;
    rec->ts.secs = (time_t)f->ts_secs;
    rec->ts.nsecs = f->ts_nsecs;
    rec->rec_header.packet_header.interface_id = f->interface_id;
    rec->rec_header.packet_header.caplen = f->caplen;
    rec->rec_header.packet_header.len = f->len;
    memset(&rec->rec_header.packet_header.pseudo_header, 0, sizeof rec->rec_header.packet_header.pseudo_header);
    if (f->caplen > 0)
        memcpy(dst, f->data, f->caplen);
#if PKTMON_WTAP >= 46
    ws_buffer_increase_length(&rec->data, f->caplen);
#endif
    for (i = 0; i < 2; i++)
        if (f->comments[i] != NULL)
            wtap_block_add_string_option(rec->block, OPT_COMMENT, f->comments[i], f->comment_lens[i]);
    if (f->has_flags)
        wtap_block_add_uint32_option(rec->block, OPT_PKT_FLAGS, f->flags);
    if (f->has_packet_id)
        wtap_block_add_uint64_option(rec->block, OPT_PKT_PACKETID, f->packet_id);
    /* 4.0's pcapng writer mangles epb_verdict (File → Save As would write a
     * file it cannot read back), so 4.0 gets drops marked by their comment
     * only, like `convert --no-verdict`. */
    if (f->verdict_xdp_drop && PKTMON_WTAP >= 44) {
        packet_verdict_opt_t v;
        memset(&v, 0, sizeof v);
        v.type = packet_verdict_linux_ebpf_xdp;
        v.data.verdict_linux_ebpf_xdp = 1;
        wtap_block_add_packet_verdict_option(rec->block, OPT_PKT_VERDICT, &v);
    }
}

#define PKTMON_N(a) (sizeof(a) / sizeof((a)[0]))

static const struct supported_option_type packet_options[] = {
    { OPT_COMMENT, MULTIPLE_OPTIONS_SUPPORTED },
    { OPT_PKT_FLAGS, ONE_OPTION_SUPPORTED },
    { OPT_PKT_PACKETID, ONE_OPTION_SUPPORTED },
    { OPT_PKT_VERDICT, MULTIPLE_OPTIONS_SUPPORTED },
};
static const struct supported_option_type interface_options[] = {
    { OPT_COMMENT, MULTIPLE_OPTIONS_SUPPORTED },
    { OPT_IDB_NAME, ONE_OPTION_SUPPORTED },
    { OPT_IDB_DESCRIPTION, ONE_OPTION_SUPPORTED },
    { OPT_IDB_TSRESOL, ONE_OPTION_SUPPORTED },
};
static const struct supported_option_type section_options[] = {
    { OPT_SHB_OS, ONE_OPTION_SUPPORTED },
    { OPT_SHB_USERAPPL, ONE_OPTION_SUPPORTED },
};
static const struct supported_block_type blocks[] = {
    { WTAP_BLOCK_SECTION, ONE_BLOCK_SUPPORTED, PKTMON_N(section_options), section_options },
    { WTAP_BLOCK_IF_ID_AND_INFO, MULTIPLE_BLOCKS_SUPPORTED, PKTMON_N(interface_options), interface_options },
    { WTAP_BLOCK_PACKET, MULTIPLE_BLOCKS_SUPPORTED, PKTMON_N(packet_options), packet_options },
};

int pktmon_wtap_register(const pktmon_wtap_callbacks *cb)
{
    static const struct file_type_subtype_info info = {
        "PktMon ETL", "pktmon_etl", "etl", NULL, FALSE, PKTMON_N(blocks), blocks, NULL, NULL, NULL
    };
    static struct open_info open = { "PktMon ETL", OPEN_INFO_HEURISTIC, pktmon_open, "etl", NULL, NULL };
    static const struct file_extension_info extension = { "PktMon ETL", TRUE, "etl" };

    if (file_type_subtype != -1)
        return file_type_subtype;
    callbacks = *cb;
    file_type_subtype = wtap_register_file_type_subtype(&info);
    if (file_type_subtype == -1)
        return -1;
    wtap_register_open_info(&open, FALSE);
    wtap_register_file_type_extension(&extension);
    return file_type_subtype;
}

#else /* no reader for this Wireshark version */

int pktmon_wtap_register(const pktmon_wtap_callbacks *cb)
{
    (void)cb;
    return -1;
}
int pktmon_wtap_add_interface(void *ctx, const pktmon_wtap_interface *iface)
{
    (void)ctx;
    (void)iface;
    return -1;
}
void pktmon_wtap_set_section(void *ctx, const char *os, const char *userappl)
{
    (void)ctx;
    (void)os;
    (void)userappl;
}
void pktmon_wtap_fill(void *ctx, const pktmon_wtap_frame *frame)
{
    (void)ctx;
    (void)frame;
}

#endif
