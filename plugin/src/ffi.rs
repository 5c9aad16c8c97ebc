//! The thin FFI layer: the symbols Wireshark looks for, registration, and the
//! callbacks. Everything here only moves plain data between Wireshark and the
//! safe modules. Rules kept throughout:
//! * every callback runs its Rust work inside `catch_unwind`;
//! * anything that can THROW (longjmp) runs in the C helpers inside
//!   TRY/CATCH, so no exception crosses a Rust frame;
//! * what Wireshark keeps a pointer to (field and expert arrays, names, the
//!   plugin struct) is `'static`.

use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};

use wireshark_sys as ws;

use crate::fields::{FieldType, FIELDS};
use crate::state::{CaptureState, Dissection, FrameInput, Value};

/// A static Wireshark writes into (expert_field, proto_plugin).
#[repr(transparent)]
struct FfiCell<T>(UnsafeCell<T>);
// SAFETY: Wireshark registers and dissects on one thread; these cells are
// written during registration only and then read by Wireshark itself.
unsafe impl<T> Sync for FfiCell<T> {}
impl<T> FfiCell<T> {
    const fn new(v: T) -> Self {
        FfiCell(UnsafeCell::new(v))
    }
    fn get(&self) -> *mut T {
        self.0.get()
    }
}

#[no_mangle]
#[used]
pub static plugin_version: [c_char; 6] = [
    b'0' as c_char,
    b'.' as c_char,
    b'1' as c_char,
    b'.' as c_char,
    b'0' as c_char,
    0,
];
#[no_mangle]
#[used]
pub static plugin_want_major: c_int = ws::WIRESHARK_VERSION_MAJOR as c_int;
#[no_mangle]
#[used]
pub static plugin_want_minor: c_int = ws::WIRESHARK_VERSION_MINOR as c_int;

/// Names the Wireshark version the plugin was built for (read by `pktmon-analyzer install-plugin`).
#[no_mangle]
#[used]
pub static PKTMON_WIRESHARK_PLUGIN_FOR: [u8; 36] = crate::marker::marker();

/// WS_PLUGIN_DESC_DISSECTOR | WS_PLUGIN_DESC_FILE_TYPE | WS_PLUGIN_DESC_TAP_LISTENER
/// (read by 4.2 and later; ignored by 4.0).
#[no_mangle]
pub extern "C" fn plugin_describe() -> u32 {
    (1 << 0) | (1 << 1) | (1 << 4)
}

static PROTO: AtomicI32 = AtomicI32::new(-1);
static ETT: AtomicI32 = AtomicI32::new(-1);
static TAP: AtomicI32 = AtomicI32::new(-1);
static HF: [AtomicI32; FIELDS.len()] = [const { AtomicI32::new(-1) }; FIELDS.len()];
static EI_DROP: FfiCell<ws::expert_field> = FfiCell::new(ws::expert_field { ei: -1, hf: -1 });
static EI_NO_METADATA: FfiCell<ws::expert_field> = FfiCell::new(ws::expert_field { ei: -1, hf: -1 });
static PLUGIN: FfiCell<ws::proto_plugin> = FfiCell::new(ws::proto_plugin {
    register_protoinfo: None,
    register_handoff: None,
});

static STATE: Mutex<Option<CaptureState>> = Mutex::new(None);

/// The capture state. A panic while it was held (a bug) poisons the lock:
/// the state is then reset, which is said once on stderr, and the plugin
/// goes on with the frames that follow instead of falling silent.
fn lock_state() -> MutexGuard<'static, Option<CaptureState>> {
    STATE.lock().unwrap_or_else(|poisoned| {
        static SAID: AtomicBool = AtomicBool::new(false);
        if !SAID.swap(true, Relaxed) {
            eprintln!(
                "pktmon: internal error while dissecting a frame; the plugin's state was reset (paths restart here)"
            );
        }
        STATE.clear_poison();
        let mut state = poisoned.into_inner();
        *state = None;
        state
    })
}

fn leak_cstr(s: &str) -> *const c_char {
    // Wireshark keeps these names for the life of the process.
    Box::leak(CString::new(s).unwrap_or_default().into_boxed_c_str()).as_ptr()
}

fn hfinfo(name: &str, abbrev: &str, kind: FieldType, blurb: &str, id: *mut c_int) -> ws::hf_register_info {
    let (type_, display) = match kind {
        FieldType::U16 => (ws::ftenum_FT_UINT16, ws::field_display_e_BASE_DEC),
        FieldType::U32 => (ws::ftenum_FT_UINT32, ws::field_display_e_BASE_DEC),
        FieldType::U32Hex => (ws::ftenum_FT_UINT32, ws::field_display_e_BASE_HEX),
        FieldType::U64 => (ws::ftenum_FT_UINT64, ws::field_display_e_BASE_DEC),
        FieldType::Bool => (ws::ftenum_FT_BOOLEAN, ws::field_display_e_BASE_NONE),
        FieldType::Str => (ws::ftenum_FT_STRING, ws::field_display_e_BASE_NONE),
        FieldType::FrameNum => (ws::ftenum_FT_FRAMENUM, ws::field_display_e_BASE_NONE),
        FieldType::RelativeTime => (ws::ftenum_FT_RELATIVE_TIME, ws::field_display_e_BASE_NONE),
    };
    ws::hf_register_info {
        p_id: id,
        hfinfo: ws::header_field_info {
            name: leak_cstr(name),
            abbrev: leak_cstr(abbrev),
            type_,
            display: display as c_int,
            strings: null(),
            bitmask: 0,
            blurb: leak_cstr(blurb),
            id: -1,
            parent: 0,
            ref_type: ws::hf_ref_type_HF_REF_TYPE_NONE,
            same_name_prev_id: -1,
            same_name_next: null_mut(),
        },
    }
}

fn expert(ei: *mut ws::expert_field, name: &str, group: u32, severity: u32, summary: &str) -> ws::ei_register_info {
    // SAFETY: ei_register_info is plain C data; all-zero is its EXPFILL state.
    let mut info: ws::ei_register_info = unsafe { std::mem::zeroed() };
    info.ids = ei;
    info.eiinfo.name = leak_cstr(name);
    info.eiinfo.group = group as c_int;
    info.eiinfo.severity = severity as c_int;
    info.eiinfo.summary = leak_cstr(summary);
    info.eiinfo.hf_info.hfinfo.id = -1;
    info.eiinfo.hf_info.hfinfo.same_name_prev_id = -1;
    info
}

extern "C" fn register_protoinfo() {
    let _ = catch_unwind(|| {
        // SAFETY: called once by Wireshark during registration, on its thread;
        // every pointer passed stays valid for the life of the process.
        unsafe {
            let proto = ws::proto_register_protocol(c"PktMon".as_ptr(), c"PktMon".as_ptr(), c"pktmon".as_ptr());
            PROTO.store(proto, Relaxed);
            let hf: Vec<ws::hf_register_info> = FIELDS
                .iter()
                .zip(HF.iter())
                .map(|(f, id)| hfinfo(f.name, f.abbrev, f.kind, f.blurb, id.as_ptr()))
                .collect();
            let hf = Box::leak(hf.into_boxed_slice());
            ws::proto_register_field_array(proto, hf.as_mut_ptr(), hf.len() as c_int);
            let mut ett = [ETT.as_ptr()];
            ws::proto_register_subtree_array(ett.as_mut_ptr() as *const *mut c_int, 1);
            let ei = Box::leak(Box::new([
                expert(
                    EI_DROP.get(),
                    "pktmon.drop.expert",
                    ws::PI_SEQUENCE,
                    ws::PI_WARN,
                    "Packet dropped (PktMon)",
                ),
                expert(
                    EI_NO_METADATA.get(),
                    "pktmon.no_metadata",
                    ws::PI_PROTOCOL,
                    ws::PI_NOTE,
                    "The file carries no PktMon metadata",
                ),
            ]));
            let module = ws::expert_register_protocol(proto);
            ws::expert_register_field_array(module, ei.as_mut_ptr(), ei.len() as c_int);
            let handle = ws::create_dissector_handle(Some(dissect), proto);
            ws::register_postdissector(handle);
            ws::register_init_routine(Some(reset_state));
            ws::register_cleanup_routine(Some(reset_state));
            TAP.store(ws::register_tap(c"pktmon".as_ptr()), Relaxed);
            ws::pktmon_register_drops_table(c"pktmon".as_ptr());
        }
    });
}

/// `frame.protocols`, looked up once registration is over.
static HF_FRAME_PROTOCOLS: AtomicI32 = AtomicI32::new(-1);

extern "C" fn register_handoff() {
    let _ = catch_unwind(|| {
        // SAFETY: a lookup in the field registry, during registration.
        let id = unsafe { ws::proto_registrar_get_id_byname(c"frame.protocols".as_ptr()) };
        HF_FRAME_PROTOCOLS.store(id, Relaxed);
    });
}

extern "C" fn reset_state() {
    let _ = catch_unwind(|| {
        *lock_state() = None;
    });
}

/// Wireshark's plugin entry point.
#[no_mangle]
pub extern "C" fn plugin_register() {
    let _ = catch_unwind(|| {
        // SAFETY: PLUGIN is a static Wireshark keeps a pointer to; it is
        // filled before being handed over and never written again.
        unsafe {
            (*PLUGIN.get()).register_protoinfo = Some(register_protoinfo);
            (*PLUGIN.get()).register_handoff = Some(register_handoff);
            ws::proto_register_plugin(PLUGIN.get());
        }
        // The file reader ("PktMon ETL"): wiretap is initialised before epan plugins load.
        crate::wiretap::register();
    });
}

fn str_or_none<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        None
    } else {
        // SAFETY: Wireshark hands NUL-terminated strings valid for this dissection.
        unsafe { CStr::from_ptr(p) }.to_str().ok()
    }
}

fn link_type(encap: c_int) -> Option<pktmon::model::LinkType> {
    use pktmon::model::LinkType;
    match encap as u32 {
        ws::WTAP_ENCAP_ETHERNET => Some(LinkType::Ethernet),
        ws::WTAP_ENCAP_IEEE_802_11 => Some(LinkType::Ieee80211),
        ws::WTAP_ENCAP_RAW_IP | ws::WTAP_ENCAP_RAW_IP4 | ws::WTAP_ENCAP_RAW_IP6 => Some(LinkType::RawIp),
        _ => None,
    }
}

/// The work of one frame in safe Rust: read what the C helper collected, compute the fields.
/// Whether Wireshark will show or filter on anything of ours in this frame's
/// tree: a visible tree, or a display filter, column or `-T fields` naming the
/// protocol or one of its fields. Without a tree nothing can be.
fn fields_wanted(tree: *mut ws::proto_tree) -> bool {
    if tree.is_null() {
        return false;
    }
    // proto_field_is_referenced only reads the tree and the field registry; it never throws.
    // gboolean (an int) in 4.0, bool from 4.4 on: i64::from takes both.
    let referenced = |id: c_int| i64::from(unsafe { ws::proto_field_is_referenced(tree, id) }) != 0;
    // frame.protocols names PktMon only on frames where it adds its tree.
    let frame_protocols = HF_FRAME_PROTOCOLS.load(Relaxed);
    referenced(PROTO.load(Relaxed))
        || HF.iter().any(|hf| referenced(hf.load(Relaxed)))
        || (frame_protocols > 0 && referenced(frame_protocols))
}

fn analyse(input: &mut ws::pktmon_frame_in, pinfo: *mut ws::packet_info, wanted: bool) -> Option<Dissection> {
    let data: &[u8] = if input.data.is_null() || input.captured_len == 0 {
        &[]
    } else {
        // SAFETY: the helper took this pointer from the frame's tvb with its captured length.
        unsafe { std::slice::from_raw_parts(input.data, input.captured_len as usize) }
    };
    let count = (input.comment_count as usize).min(input.comments.len());
    let comments: Vec<&str> = input.comments[..count].iter().filter_map(|&p| str_or_none(p)).collect();
    let nanos = input.ts_secs as i128 * 1_000_000_000 + input.ts_nsecs as i128;
    let frame = FrameInput {
        number: input.number,
        visited: input.visited != 0,
        offset: input.offset,
        interface_id: (input.has_interface != 0).then_some(input.interface_id),
        interface_name: None,
        interface_description: None,
        time: pktmon::time::filetime_from_unix_nanos(nanos),
        link_type: link_type(input.encapsulation),
        data,
        reported_len: input.reported_len,
        comments,
        packet_id: (input.has_packet_id != 0).then_some(input.packet_id),
        verdict: input.has_verdict != 0
            && pktmon::pktmon::frame::verdict_is_drop(input.verdict_type as u8, Some(input.verdict_value)),
        flags: (input.has_flags != 0).then_some(input.flags),
    };
    let mut state = lock_state();
    let names = || {
        // Reads the capture's interface list for the frame being dissected; never throws.
        unsafe { ws::pktmon_read_interface_names(pinfo, input) };
        (
            str_or_none(input.interface_name),
            str_or_none(input.interface_description),
        )
    };
    state
        .get_or_insert_with(CaptureState::new)
        .dissect(&frame, wanted, names)
}

unsafe extern "C" fn dissect(
    tvb: *mut ws::tvbuff_t,
    pinfo: *mut ws::packet_info,
    tree: *mut ws::proto_tree,
    _data: *mut c_void,
) -> c_int {
    // Every Rust frame below returns normally: the helpers catch Wireshark's exceptions.
    catch_unwind(AssertUnwindSafe(|| dissect_frame(tvb, pinfo, tree))).unwrap_or(0)
}

fn dissect_frame(tvb: *mut ws::tvbuff_t, pinfo: *mut ws::packet_info, tree: *mut ws::proto_tree) -> c_int {
    // SAFETY: zeroed is the helper's own starting state for this plain struct.
    let mut input: ws::pktmon_frame_in = unsafe { std::mem::zeroed() };
    // SAFETY: pinfo and tvb come from Wireshark for this dissection; the helper never throws.
    unsafe { ws::pktmon_read_frame(pinfo, tvb, &mut input) };
    let captured_len = input.captured_len;
    let Some(d) = analyse(&mut input, pinfo, fields_wanted(tree)) else {
        return 0;
    };
    let proto = PROTO.load(Relaxed);
    if let Some(note) = &d.no_metadata_note {
        let text = CString::new(note.as_str()).unwrap_or_default();
        // SAFETY: plain data; the helper catches every Wireshark exception.
        unsafe { ws::pktmon_add_note(tree, tvb, pinfo, proto, EI_NO_METADATA.get(), text.as_ptr()) };
        return layer_len(captured_len);
    }
    let strings: Vec<Option<CString>> = d
        .fields
        .iter()
        .map(|(_, v)| match v {
            Value::Str(s) => Some(CString::new(s.replace('\0', "")).unwrap_or_default()),
            _ => None,
        })
        .collect();
    let items: Vec<ws::pktmon_item> = d
        .fields
        .iter()
        .zip(&strings)
        .map(|((field, value), s)| {
            let (kind, value) = match value {
                Value::Uint(v) => (ws::pktmon_item_kind_PKTMON_ITEM_UINT, *v as u64),
                Value::Uint64(v) => (ws::pktmon_item_kind_PKTMON_ITEM_UINT64, *v),
                Value::Bool(b) => (ws::pktmon_item_kind_PKTMON_ITEM_BOOLEAN, *b as u64),
                Value::Str(_) => (ws::pktmon_item_kind_PKTMON_ITEM_STRING, 0),
                Value::DurationNs(ns) => (ws::pktmon_item_kind_PKTMON_ITEM_DURATION_NS, *ns),
            };
            ws::pktmon_item {
                hf: HF[crate::fields::index(*field)].load(Relaxed),
                kind: kind as c_int,
                value,
                string: s.as_ref().map_or(null(), |c| c.as_ptr()),
            }
        })
        .collect();
    let cstr = |s: &Option<String>| {
        s.as_deref()
            .map(|s| CString::new(s.replace('\0', "")).unwrap_or_default())
    };
    let summary = CString::new(d.summary.replace('\0', "")).unwrap_or_default();
    let expert_text = cstr(&d.drop_expert);
    let info = cstr(&d.info);
    // SAFETY: every pointer refers to data alive until the call returns; the
    // helper catches every Wireshark exception, so nothing unwinds through here.
    unsafe {
        ws::pktmon_add_items(
            tree,
            tvb,
            pinfo,
            proto,
            ETT.load(Relaxed),
            summary.as_ptr(),
            items.as_ptr(),
            items.len() as u32,
            if expert_text.is_some() {
                EI_DROP.get()
            } else {
                null_mut()
            },
            expert_text.as_ref().map_or(null(), |c| c.as_ptr()),
            info.as_ref().map_or(null(), |c| c.as_ptr()),
        );
    }
    if let Some(drop) = d.drop {
        let reason = CString::new(drop.reason.replace('\0', "")).unwrap_or_default();
        let component = CString::new(drop.component.replace('\0', "")).unwrap_or_default();
        // SAFETY: the helper copies both strings into the packet's scope; it does not throw.
        unsafe { ws::pktmon_tap_queue_drop(TAP.load(Relaxed), pinfo, reason.as_ptr(), component.as_ptr()) };
    }
    layer_len(captured_len)
}

/// What the dissector returns when it added its protocol: not 0, so that
/// Wireshark keeps PktMon in the frame's layers (`frame.protocols`).
fn layer_len(captured_len: u32) -> c_int {
    c_int::try_from(captured_len).unwrap_or(c_int::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic while the state is held (a bug) must not silence the plugin
    /// for the rest of the process: the next lock gets a fresh state.
    #[test]
    fn a_panic_holding_the_state_resets_it_instead_of_silencing_the_plugin() {
        *lock_state() = Some(CaptureState::new());
        let result = catch_unwind(|| {
            let _held = lock_state();
            panic!("a bug while dissecting");
        });
        assert!(result.is_err());
        assert!(STATE.is_poisoned());
        assert!(lock_state().is_none(), "the state was reset");
        assert!(!STATE.is_poisoned(), "and the lock recovered");
        *lock_state() = Some(CaptureState::new());
        assert!(lock_state().is_some(), "and it keeps working");
    }
}
