//! The Wireshark plugin's per-frame state (`pktmon_wireshark::state`), fed
//! the way Wireshark feeds it, without Wireshark: frames in order, numbers
//! reused (a read filter discarded the record that had one), revisits in
//! any order, shown or not, with hostile times, comments and bytes. Checks
//! that it never panics and that what it reports stays consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pktmon::model::LinkType;
use pktmon_wireshark::fields::Field;
use pktmon_wireshark::state::{CaptureState, FrameInput, Value};

/// Reads the input as a little program of frame events.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u64(&mut self) -> Option<u64> {
        let mut v = [0u8; 8];
        for b in &mut v {
            *b = self.u8()?;
        }
        Some(u64::from_le_bytes(v))
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let mut state = CaptureState::new();
    let mut number = 0u32;
    let mut offset = 0i64;
    let mut highest = 0u32;
    // Frame number − 1 → the file offset of the record that has it now.
    let mut offsets: Vec<i64> = Vec::new();
    while let Some(op) = input.u8() {
        // Which frame: the next one, the same number again (read filter), or a revisit.
        let (n, visited, at) = match op % 4 {
            0 | 1 => {
                number = number.saturating_add(1);
                offset += 100;
                (number, false, offset)
            }
            2 => {
                offset += 100;
                (number.max(1), false, offset)
            }
            _ => {
                let n = u32::from(input.u8().unwrap_or(0)) % number.max(1) + 1;
                (n, true, offsets.get(n as usize - 1).copied().unwrap_or(-1))
            }
        };
        if !visited {
            if offsets.len() < n as usize {
                offsets.resize(n as usize, -1);
            }
            offsets[n as usize - 1] = at;
        }
        highest = highest.max(n);
        let wanted = op & 0x10 != 0;
        let time = match input.u64() {
            Some(t) if op & 0x20 != 0 => t as i64,
            Some(t) => (t % 1_000_000) as i64,
            None => 0,
        };
        let group = input.u8().unwrap_or(0) % 8;
        let appearance = input.u8().unwrap_or(0) % 6;
        let line = if op & 0x40 != 0 {
            String::from_utf8_lossy(input.take(usize::from(input_len_hint(op)))).into_owned()
        } else if op & 0x80 != 0 {
            format!(
                "Drop: PktGroupId {group}, PktNumber 1, Appearance {appearance}, Direction Rx , Type IP , \
                 Component {}, Filter 0, DropReason INET: something , DropLocation 0xE0004500, OriginalSize 40, \
                 LoggedSize 40 ",
                appearance + 1
            )
        } else {
            format!(
                "PktGroupId {group}, PktNumber 1, Appearance {appearance}, Direction Rx , Type IP , Component {}, \
                 Edge 1, Filter 0, OriginalSize 40, LoggedSize 40 ",
                appearance + 1
            )
        };
        let payload = input.take(40).to_vec();
        let f = FrameInput {
            number: n,
            visited,
            offset: at,
            time,
            link_type: Some(LinkType::RawIp),
            data: &payload,
            reported_len: payload.len() as u32,
            comments: vec![line.as_str()],
            interface_name: Some("tcpip.sys"),
            ..Default::default()
        };
        let Some(d) = state.dissect(&f, wanted, || (f.interface_name, None)) else {
            continue;
        };
        let get = |field: Field| d.fields.iter().find(|(x, _)| *x == field).map(|(_, v)| v.clone());
        if let (Some(Value::Uint(hop)), Some(Value::Uint(count))) = (get(Field::Hop), get(Field::AppearanceCount)) {
            assert!(hop >= 1 && hop <= count, "hop {hop} of {count}");
        }
        for field in [Field::FirstFrame, Field::PrevFrame, Field::NextFrame, Field::LastFrame, Field::DroppedInFrame] {
            if let Some(Value::Uint(frame)) = get(field) {
                assert!(frame >= 1 && frame <= highest.max(number), "{field:?} names frame {frame}");
            }
        }
        assert_eq!(d.drop.is_some(), d.drop_expert.is_some());
    }
});

fn input_len_hint(op: u8) -> u8 {
    (op & 0x0F) * 16
}
