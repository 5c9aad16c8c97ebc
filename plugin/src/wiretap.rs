//! The file reader: Wireshark opens a PktMon `.etl` itself (File → Open,
//! `tshark -r PktMon.etl`). Thin FFI over `wireshark-sys/src/wtap_helpers.c`;
//! the frames come from the analyzer's [`IndexedEtl`], the same model as
//! `pktmon-analyzer convert`. Every callback runs inside `catch_unwind`, and
//! no Wireshark call made from here can throw.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::ptr::null;

use pktmon::etl::looks_like_etl;
use pktmon::source::etl_index::IndexedEtl;
use wireshark_sys as ws;

/// What Wireshark holds for an open file.
struct Reader {
    etl: IndexedEtl,
    /// Encapsulation of each interface, as Wireshark mapped its link type.
    encaps: Vec<i32>,
    /// The next frame of the sequential pass.
    next: usize,
}

static CALLBACKS: ws::pktmon_wtap_callbacks = ws::pktmon_wtap_callbacks {
    looks_like: Some(looks_like),
    open: Some(open),
    read: Some(read),
    seek_read: Some(seek_read),
    close: Some(close),
};

/// Registers the "PktMon ETL" file type with wiretap (from `plugin_register`,
/// after Wireshark has initialised wiretap). False when this Wireshark
/// version has no reader support.
pub fn register() -> bool {
    // SAFETY: CALLBACKS is a static of plain function pointers the C side copies.
    unsafe { ws::pktmon_wtap_register(&CALLBACKS) >= 0 }
}

fn set_err_info(err_info: *mut *mut c_char, msg: &str) {
    let msg = format!("PktMon ETL reader: {msg}");
    // SAFETY: err_info is Wireshark's out-parameter (or NULL, checked in C).
    unsafe { ws::pktmon_wtap_set_err_info(err_info, msg.as_ptr().cast(), msg.len() as u32) }
}

fn set_err(err: *mut c_int, code: c_int) {
    if !err.is_null() {
        // SAFETY: err is Wireshark's out-parameter.
        unsafe { *err = code };
    }
}

unsafe extern "C" fn looks_like(head: *const u8, len: u32) -> c_int {
    catch_unwind(|| {
        if head.is_null() {
            return 0;
        }
        // SAFETY: the C side passes a buffer of `len` bytes it just read.
        let head = unsafe { std::slice::from_raw_parts(head, len as usize) };
        looks_like_etl(head) as c_int
    })
    .unwrap_or(0)
}

unsafe extern "C" fn open(
    path: *const c_char,
    ctx: *mut c_void,
    state: *mut *mut c_void,
    err: *mut c_int,
    err_info: *mut *mut c_char,
) -> c_int {
    catch_unwind(AssertUnwindSafe(|| {
        if path.is_null() || state.is_null() {
            return 0;
        }
        // SAFETY: wiretap's pathname, NUL-terminated.
        let path = unsafe { CStr::from_ptr(path) };
        let Ok(path) = path.to_str() else { return 0 };
        let etl = match IndexedEtl::open(Path::new(path)) {
            Ok(etl) => etl,
            // Its start is an ETL's (checked by looks_like), the rest is broken.
            Err(e) => {
                set_err(err, damage_code(e.message.contains("cut short")));
                let at = match e.location {
                    pktmon::error::Location::File => String::new(),
                    loc => format!("at {loc}: "),
                };
                set_err_info(err_info, &format!("{at}{}", e.message));
                return -1;
            }
        };
        if !etl.is_pktmon() {
            if let Some((msg, cut_short)) = etl.damage() {
                // Damaged before its first PktMon event: say what, not "not PktMon".
                set_err(err, damage_code(cut_short));
                set_err_info(err_info, &msg);
                return -1;
            }
            set_err(err, ws::PKTMON_WTAP_ERR_UNSUPPORTED);
            set_err_info(
                err_info,
                &format!(
                    "{path} is an ETL trace but not a PktMon capture: it holds no Microsoft-Windows-PktMon event \
                     (a netsh trace or a kernel trace?). Only captures of `pktmon start --capture` open here."
                ),
            );
            return -1;
        }
        let mut encaps = Vec::with_capacity(etl.interfaces().len());
        for i in etl.interfaces() {
            let name = i.name.as_deref().and_then(|s| CString::new(s).ok());
            let description = i.description.as_deref().and_then(|s| CString::new(s).ok());
            let comment = i.comment.as_deref().and_then(|s| CString::new(s).ok());
            let iface = ws::pktmon_wtap_interface {
                linktype: i.linktype as i32,
                name: name.as_ref().map_or(null(), |s| s.as_ptr()),
                description: description.as_ref().map_or(null(), |s| s.as_ptr()),
                comment: comment.as_ref().map_or(null(), |s| s.as_ptr()),
            };
            // SAFETY: ctx is the wtap being opened; the strings outlive the call (copied by wiretap).
            encaps.push(unsafe { ws::pktmon_wtap_add_interface(ctx, &iface) });
        }
        let os = etl.os().and_then(|s| CString::new(s).ok());
        let app = CString::new(pktmon::sink::pcapng::SHB_APPLICATION).unwrap_or_default();
        // SAFETY: as above.
        unsafe { ws::pktmon_wtap_set_section(ctx, os.as_ref().map_or(null(), |s| s.as_ptr()), app.as_ptr()) };
        let reader = Box::new(Reader { etl, encaps, next: 0 });
        // SAFETY: state is the C side's out-parameter; close() takes the box back.
        unsafe { *state = Box::into_raw(reader).cast() };
        1
    }))
    .unwrap_or_else(|_| {
        set_err(err, ws::PKTMON_WTAP_ERR_BAD_FILE);
        set_err_info(err_info, "internal error while opening the file");
        -1
    })
}

/// WTAP_ERR_SHORT_READ for a file cut short, WTAP_ERR_BAD_FILE for one damaged otherwise.
fn damage_code(cut_short: bool) -> c_int {
    if cut_short {
        ws::PKTMON_WTAP_ERR_SHORT_READ
    } else {
        ws::PKTMON_WTAP_ERR_BAD_FILE
    }
}

/// Hands frame `i` to Wireshark; 1 on success.
fn fill(r: &mut Reader, ctx: *mut c_void, i: usize, err: *mut c_int, err_info: *mut *mut c_char) -> c_int {
    let Reader { etl, encaps, .. } = r;
    match etl.frame(i) {
        Ok(f) => {
            let secs = (f.epb.timestamp / 10_000_000) as i64;
            let nsecs = ((f.epb.timestamp % 10_000_000) * 100) as i32;
            let drop_code = f.epb.drop_code_comment.as_deref();
            let frame = ws::pktmon_wtap_frame {
                interface_id: f.interface,
                encap: encaps.get(f.interface as usize).copied().unwrap_or(0),
                ts_secs: secs,
                ts_nsecs: nsecs,
                caplen: f.captured.len() as u32,
                len: f.original_len,
                data: f.captured.as_ptr(),
                comments: [
                    f.comment.as_ptr().cast(),
                    drop_code.map_or(null(), |s| s.as_ptr().cast()),
                ],
                comment_lens: [f.comment.len() as u32, drop_code.map_or(0, |s| s.len() as u32)],
                has_flags: (f.epb.flags != 0) as c_int,
                flags: f.epb.flags,
                has_packet_id: f.epb.packet_id.is_some() as c_int,
                packet_id: f.epb.packet_id.unwrap_or(0),
                verdict_xdp_drop: f.epb.verdict_drop as c_int,
            };
            // SAFETY: ctx is the C side's read context; every pointer lives until the call returns (copied).
            unsafe { ws::pktmon_wtap_fill(ctx, &frame) };
            1
        }
        Err(msg) => {
            set_err(err, ws::PKTMON_WTAP_ERR_BAD_FILE);
            set_err_info(err_info, &format!("frame {}: {msg}", i + 1));
            0
        }
    }
}

unsafe extern "C" fn read(
    state: *mut c_void,
    ctx: *mut c_void,
    index: *mut i64,
    err: *mut c_int,
    err_info: *mut *mut c_char,
) -> c_int {
    catch_unwind(AssertUnwindSafe(|| {
        if state.is_null() || index.is_null() {
            return 0;
        }
        // SAFETY: state is the Reader open() boxed, alive until close().
        let r = unsafe { &mut *state.cast::<Reader>() };
        let i = r.next;
        if i >= r.etl.len() {
            // The end: a clean EOF, or the damage the first read met, after every frame before it.
            if let Some((msg, cut_short)) = r.etl.damage() {
                set_err(err, damage_code(cut_short));
                set_err_info(err_info, &msg);
            }
            return 0;
        }
        let ok = fill(r, ctx, i, err, err_info);
        if ok == 1 {
            r.next += 1;
            // SAFETY: Wireshark's out-parameter.
            unsafe { *index = i as i64 };
        }
        ok
    }))
    .unwrap_or_else(|_| {
        set_err(err, ws::PKTMON_WTAP_ERR_BAD_FILE);
        set_err_info(err_info, "internal error while reading a frame");
        0
    })
}

unsafe extern "C" fn seek_read(
    state: *mut c_void,
    ctx: *mut c_void,
    index: i64,
    err: *mut c_int,
    err_info: *mut *mut c_char,
) -> c_int {
    catch_unwind(AssertUnwindSafe(|| {
        if state.is_null() {
            return 0;
        }
        // SAFETY: as in read().
        let r = unsafe { &mut *state.cast::<Reader>() };
        match usize::try_from(index) {
            Ok(i) => fill(r, ctx, i, err, err_info),
            Err(_) => {
                set_err(err, ws::PKTMON_WTAP_ERR_BAD_FILE);
                set_err_info(err_info, &format!("no frame at index {index}"));
                0
            }
        }
    }))
    .unwrap_or_else(|_| {
        set_err(err, ws::PKTMON_WTAP_ERR_BAD_FILE);
        set_err_info(err_info, "internal error while reading a frame");
        0
    })
}

unsafe extern "C" fn close(state: *mut c_void) {
    let _ = catch_unwind(|| {
        if !state.is_null() {
            // SAFETY: the box open() leaked; the C side calls close once and forgets it.
            drop(unsafe { Box::from_raw(state.cast::<Reader>()) });
        }
    });
}
