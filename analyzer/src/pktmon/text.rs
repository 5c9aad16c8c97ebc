//! The PktMon metadata line: how `pktmon etl2txt` prints events 160/170, both
//! ways. Rendering serves `txt` and the converter's packet comments; parsing
//! serves the text reader, the pcapng comment reader and the Wireshark plugin.
//!
//! Line shape: `[CC]PPPP.TTTT::YYYY-MM-DD HH:MM:SS.fffffff00 [Provider] message`,
//! message e.g. `PktGroupId 1, PktNumber 1, Appearance 1, Direction Tx , Type
//! Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 54, LoggedSize 54 `.
//! Map texts carry a trailing space (hence `Tx ,`); unmapped values print as numbers.

use std::borrow::Cow;
use std::fmt::Write;

use crate::model::Appearance;
use crate::pktmon::catalog::Catalog;

/// English message template of event 160 as PktMon.sys carries it.
pub const TEMPLATE_PACKET: &str = "PktGroupId %1, PktNumber %2, Appearance %3, Direction %4, Type %5, Component %6, Edge %7, Filter %8, OriginalSize %11, LoggedSize %12 ";
/// English message template of event 170.
pub const TEMPLATE_DROP: &str = "Drop: PktGroupId %1, PktNumber %2, Appearance %3, Direction %4, Type %5, Component %6, Filter %8, DropReason %9, DropLocation %10, OriginalSize %11, LoggedSize %12 ";

/// Provider name printed in the line prefix.
pub const PROVIDER_NAME: &str = "Microsoft-Windows-PktMon";

/// Numbers go through `itoa`: the converter prints ten per packet, and
/// `core::fmt` machinery was a third of its rendering time.
fn opt<T: itoa::Integer>(out: &mut String, v: Option<T>) {
    if let Some(v) = v {
        out.push_str(itoa::Buffer::new().format(v));
    }
}

/// A map text as etl2txt prints it: ETL map strings end in a space (the
/// reason for `Rx ,`); built-in texts get one so every source prints alike.
fn mapped(out: &mut String, text: Option<&str>, value: Option<u32>) {
    match (text, value) {
        (Some(t), _) => {
            out.push_str(t);
            if !t.ends_with(' ') {
                out.push(' ');
            }
        }
        (None, Some(v)) => out.push_str(itoa::Buffer::new().format(v)),
        (None, None) => {}
    }
}

/// Appends the value of placeholder `%n` for an appearance.
fn placeholder(out: &mut String, n: u32, a: &Appearance, catalog: &Catalog) {
    match n {
        1 => opt(out, a.group_id),
        2 => opt(out, a.pkt_number),
        3 => opt(out, a.appearance),
        4 => mapped(
            out,
            a.direction.and_then(|d| catalog.direction(d)),
            a.direction.map(u32::from),
        ),
        5 => mapped(
            out,
            a.packet_type.and_then(|t| catalog.packet_type(t)),
            a.packet_type.map(u32::from),
        ),
        6 => opt(out, a.component_id),
        7 => opt(out, a.edge_id),
        8 => opt(out, a.filter_id),
        9 => {
            let d = a.drop.as_ref();
            let code = d.and_then(|d| d.reason);
            let text = d
                .and_then(|d| d.reason_text.as_deref())
                .or_else(|| code.and_then(|c| catalog.drop_reason(c)));
            mapped(out, text, code)
        }
        10 => {
            if let Some(l) = a.drop.as_ref().and_then(|d| d.location) {
                let _ = write!(out, "0x{l:08X}");
            }
        }
        11 => opt(out, Some(a.original_size)),
        12 => opt(out, Some(a.logged_size)),
        _ => {}
    }
}

/// Renders the message part of an appearance's line with `template`
/// (`%n` placeholders, as in the file's own TRACE_EVENT_INFO), or with the
/// English template of its event when `template` is `None`.
pub fn render_message(a: &Appearance, catalog: &Catalog, template: Option<&str>) -> String {
    let mut out = String::with_capacity(256);
    render_message_into(&mut out, a, catalog, template);
    out
}

/// [`render_message`] appended to `out`, so a caller rendering millions of
/// lines reuses one buffer.
pub fn render_message_into(out: &mut String, a: &Appearance, catalog: &Catalog, template: Option<&str>) {
    match template {
        Some(t) => render_template(out, a, catalog, t),
        None => render_english(out, a, catalog),
    }
}

/// [`TEMPLATE_PACKET`] or [`TEMPLATE_DROP`] expanded with the literals in
/// the code: the converter renders one per packet, and a template walked at
/// run time copies its twenty-odd pieces through `memcpy` calls. A test holds
/// it to the template.
fn render_english(out: &mut String, a: &Appearance, catalog: &Catalog) {
    if a.is_drop() {
        out.push_str("Drop: ");
    }
    out.push_str("PktGroupId ");
    opt(out, a.group_id);
    out.push_str(", PktNumber ");
    opt(out, a.pkt_number);
    out.push_str(", Appearance ");
    opt(out, a.appearance);
    out.push_str(", Direction ");
    placeholder(out, 4, a, catalog);
    out.push_str(", Type ");
    placeholder(out, 5, a, catalog);
    out.push_str(", Component ");
    opt(out, a.component_id);
    if a.is_drop() {
        out.push_str(", Filter ");
        opt(out, a.filter_id);
        out.push_str(", DropReason ");
        placeholder(out, 9, a, catalog);
        out.push_str(", DropLocation ");
        placeholder(out, 10, a, catalog);
    } else {
        out.push_str(", Edge ");
        opt(out, a.edge_id);
        out.push_str(", Filter ");
        opt(out, a.filter_id);
    }
    out.push_str(", OriginalSize ");
    opt(out, Some(a.original_size));
    out.push_str(", LoggedSize ");
    opt(out, Some(a.logged_size));
    out.push(' ');
}

/// Expands a `%n` template (the file's own, perhaps not English).
fn render_template(out: &mut String, a: &Appearance, catalog: &Catalog, template: &str) {
    let mut rest = template;
    while let Some(i) = rest.bytes().position(|b| b == b'%') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            out.push('%');
            rest = after;
            continue;
        }
        // At most two digits in real templates; longer runs name no field.
        let n = after.as_bytes()[..digits]
            .iter()
            .try_fold(0u32, |n, d| n.checked_mul(10)?.checked_add(u32::from(d - b'0')))
            .unwrap_or(0);
        placeholder(out, n, a, catalog);
        rest = &after[digits..];
    }
    out.push_str(rest);
}

/// The `[CC]PPPP.TTTT::local-time [Microsoft-Windows-PktMon] ` prefix.
pub fn render_prefix(a: &Appearance, bias_minutes: i32) -> String {
    format!(
        "[{:02}]{:04X}.{:04X}::{} [{}] ",
        a.cpu.unwrap_or(0),
        a.process_id.unwrap_or(0),
        a.thread_id.unwrap_or(0),
        crate::time::format_etl2txt(a.time, bias_minutes),
        PROVIDER_NAME
    )
}

/// The parts of a line prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinePrefix<'a> {
    pub cpu: u16,
    pub process_id: u32,
    pub thread_id: u32,
    /// Local time as printed (`2021-06-03 19:19:55.618793000` or netsh's `2025/03/27-16:12:13.966003800`).
    pub time: &'a str,
    pub provider: &'a str,
    pub message: &'a str,
}

/// Splits `[CC]PPPP.TTTT::time [Provider] message`. `None` if the line has another shape.
pub fn parse_prefix(line: &str) -> Option<LinePrefix<'_>> {
    let rest = line.strip_prefix('[')?;
    let close = rest.find(']')?;
    let cpu: u16 = rest[..close].trim().parse().ok()?;
    let rest = &rest[close + 1..];
    let sep = rest.find("::")?;
    let (pid, tid) = rest[..sep].split_once('.')?;
    let process_id = u32::from_str_radix(pid, 16).ok()?;
    let thread_id = u32::from_str_radix(tid, 16).ok()?;
    let rest = &rest[sep + 2..];
    let open = rest.find(" [")?;
    let time = &rest[..open];
    let rest = &rest[open + 2..];
    let close = rest.find(']')?;
    let provider = &rest[..close];
    let message = rest[close + 1..].strip_prefix(' ').unwrap_or(&rest[close + 1..]);
    Some(LinePrefix {
        cpu,
        process_id,
        thread_id,
        time,
        provider,
        message,
    })
}

/// The fields of a packet or drop message, as text gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PacketLine<'a> {
    pub is_drop: bool,
    pub group_id: Option<u64>,
    pub pkt_number: Option<u16>,
    pub appearance: Option<u16>,
    /// Map text as printed, trimmed (e.g. "Rx"); borrowed from the line
    /// where it can be, so reading a line allocates nothing.
    pub direction: Option<Cow<'a, str>>,
    pub packet_type: Option<Cow<'a, str>>,
    pub component_id: Option<u16>,
    pub edge_id: Option<u16>,
    pub filter_id: Option<u16>,
    /// Reason text as printed, trimmed (a number when the formatter had no text).
    pub drop_reason: Option<Cow<'a, str>>,
    pub drop_location: Option<u32>,
    pub original_size: Option<u32>,
    pub logged_size: Option<u32>,
    /// Fields that were present but whose value did not parse (English label
    /// names, e.g. `"OriginalSize"`), so a reader can tell a garbled line from
    /// an abbreviated one that simply lacks the field.
    pub invalid: Vec<&'static str>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Field {
    GroupId,
    PktNumber,
    Appearance,
    Direction,
    Type,
    Component,
    Edge,
    Filter,
    Location,
    OriginalSize,
    LoggedSize,
}

impl Field {
    /// The English label of the field, for messages about it.
    fn name(self) -> &'static str {
        match self {
            Field::GroupId => "PktGroupId",
            Field::PktNumber => "PktNumber",
            Field::Appearance => "Appearance",
            Field::Direction => "Direction",
            Field::Type => "Type",
            Field::Component => "Component",
            Field::Edge => "Edge",
            Field::Filter => "Filter",
            Field::Location => "DropLocation",
            Field::OriginalSize => "OriginalSize",
            Field::LoggedSize => "LoggedSize",
        }
    }
}

/// Parses a numeric field value; a value that does not parse is recorded in
/// `invalid` (by the field's English name) and gives `None`.
fn number<T: std::str::FromStr>(text: &str, field: Field, invalid: &mut Vec<&'static str>) -> Option<T> {
    let value = text.parse().ok();
    if value.is_none() {
        invalid.push(field.name());
    }
    value
}

fn english_label(label: &str) -> Option<Field> {
    Some(match label {
        "PktGroupId" => Field::GroupId,
        "PktNumber" | "PktCount" => Field::PktNumber,
        "Appearance" => Field::Appearance,
        "Direction" => Field::Direction,
        "Type" => Field::Type,
        "Component" => Field::Component,
        "Edge" => Field::Edge,
        "Filter" => Field::Filter,
        "DropLocation" => Field::Location,
        "OriginalSize" => Field::OriginalSize,
        "LoggedSize" => Field::LoggedSize,
        _ => return None,
    })
}

/// Parses the message of a packet (160) or drop (170) line. Labels may be in
/// another UI language: PktGroupId, DropReason and DropLocation are never
/// translated, and the other fields are found by their position in the
/// template. Returns `None` when the message is not a packet line.
pub fn parse_packet_message(message: &str) -> Option<PacketLine<'_>> {
    parse_english_template(message).or_else(|| parse_any_template(message))
}

/// The English templates exactly as PktMon prints them, the shape of nearly
/// every line and comment, read in one pass without allocating for the
/// numbers. `None` on anything else (another language, a garbled or
/// abbreviated field, non-ASCII text), which [`parse_any_template`] then reads;
/// both give the same result wherever this one answers (a test holds them to it).
fn parse_english_template(message: &str) -> Option<PacketLine<'_>> {
    let (is_drop, mut c) = english_start(message)?;
    let mut line = PacketLine {
        is_drop,
        ..Default::default()
    };
    line.group_id = Some(c.number("PktGroupId")?);
    line.pkt_number = Some(c.number("PktNumber")?);
    line.appearance = Some(c.number("Appearance")?);
    line.direction = Some(Cow::Borrowed(c.text("Direction")?));
    line.packet_type = Some(Cow::Borrowed(c.text("Type")?));
    line.component_id = Some(c.number("Component")?);
    if c.at("Edge") {
        line.edge_id = Some(c.number("Edge")?);
    }
    line.filter_id = Some(c.number("Filter")?);
    if is_drop {
        let after = c.0.strip_prefix("DropReason ")?;
        let end = after.find(", DropLocation ")?;
        let reason = after[..end].trim().trim_end_matches(',').trim();
        if reason.is_empty() || reason.contains("DropLocation") {
            return None;
        }
        line.drop_reason = Some(Cow::Borrowed(reason));
        c.0 = &after[end + 2..];
        let hex = c.value("DropLocation")?.strip_prefix("0x")?;
        line.drop_location = Some(u32::from_str_radix(hex, 16).ok()?);
    } else if [&line.direction, &line.packet_type].iter().any(|t| {
        t.as_deref()
            .is_some_and(|t| t.contains("DropReason") || t.contains("DropLocation"))
    }) {
        // Every label was where the template has it, so only a value could
        // hold these words; the general parser reads such a line as a drop.
        return None;
    }
    line.original_size = Some(c.number("OriginalSize")?);
    line.logged_size = Some(c.number("LoggedSize")?);
    c.0.trim().is_empty().then_some(line)
}

/// What grouping needs of a packet line: its ids and whether it is a drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketIds {
    pub is_drop: bool,
    pub group_id: u64,
    pub pkt_number: u16,
    pub appearance: u16,
}

/// The ids of an English packet or drop line, read without the rest of it
/// (for a first pass that only places packets on their paths). `None` when
/// the line is not plainly English; [`parse_packet_message`] then decides.
/// Where this answers, it agrees with [`parse_packet_message`] (a test holds
/// it to that).
pub fn parse_packet_ids(message: &str) -> Option<PacketIds> {
    let (is_drop, mut c) = english_start(message)?;
    let ids = PacketIds {
        is_drop,
        group_id: c.number("PktGroupId")?,
        pkt_number: c.number("PktNumber")?,
        appearance: c.number("Appearance")?,
    };
    // The general reader takes any line naming a drop's fields for a drop.
    if !c.at("Direction") || (!is_drop && (message.contains("DropReason") || message.contains("DropLocation"))) {
        return None;
    }
    Some(ids)
}

/// Whether an English line is a drop, and a cursor after its `Drop: `;
/// `None` for non-ASCII text, which no English line is.
fn english_start(message: &str) -> Option<(bool, TemplateCursor<'_>)> {
    if !message.is_ascii() {
        return None;
    }
    Some(match message.strip_prefix("Drop: ") {
        Some(rest) => (true, TemplateCursor(rest)),
        None => (false, TemplateCursor(message)),
    })
}

/// Reads `Label value, ` items off the front of an English template.
struct TemplateCursor<'a>(&'a str);

impl<'a> TemplateCursor<'a> {
    /// Whether the text starts with `label` and a space. Inlined at each
    /// call, the label's length is a constant and the compare becomes a few
    /// loads instead of a call to memcmp.
    #[inline(always)]
    fn at(&self, label: &str) -> bool {
        let (text, label) = (self.0.as_bytes(), label.as_bytes());
        text.get(label.len()) == Some(&b' ') && &text[..label.len()] == label
    }

    /// The value of `label`, trimmed of spaces, up to the next comma or the end.
    #[inline(always)]
    fn value(&mut self, label: &str) -> Option<&'a str> {
        if !self.at(label) {
            return None;
        }
        // All ASCII (checked by the caller), so byte offsets are char boundaries.
        let rest = &self.0[label.len() + 1..];
        let bytes = rest.as_bytes();
        // One pass to the comma: where the value starts and ends, and whether
        // whitespace sits inside it (then it is not a one-word value).
        let (mut start, mut end, mut inner_space) = (None, 0, false);
        let mut i = 0;
        while i < bytes.len() && bytes[i] != b',' {
            let b = bytes[i];
            if b.is_ascii_whitespace() {
                inner_space |= b != b' ';
            } else {
                if start.is_some() && end < i {
                    inner_space = true;
                }
                start.get_or_insert(i);
                end = i + 1;
            }
            i += 1;
        }
        self.0 = match bytes.get(i) {
            Some(_) => rest[i + 1..].trim_start_matches(' '),
            None => "",
        };
        let start = start?;
        (!inner_space).then(|| &rest[start..end])
    }

    fn text(&mut self, label: &str) -> Option<&'a str> {
        self.value(label)
    }

    fn number<T: TryFrom<u64>>(&mut self, label: &str) -> Option<T> {
        let digits = self.value(label)?;
        if digits.len() > 20 {
            return None;
        }
        let mut n: u64 = 0;
        for b in digits.bytes() {
            if !b.is_ascii_digit() {
                return None;
            }
            n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        }
        T::try_from(n).ok()
    }
}

/// Any template: labels in another UI language, abbreviated or garbled fields.
fn parse_any_template(message: &str) -> Option<PacketLine<'static>> {
    let start = message.find("PktGroupId")?;
    let prefix = message[..start].trim();
    let mut line = PacketLine {
        is_drop: !prefix.is_empty() || message.contains("DropReason") || message.contains("DropLocation"),
        ..Default::default()
    };
    // Localized templates separate fields with full-width or ideographic commas.
    let body = message[start..].replace(['，', '、'], ",");
    let body = body.trim_end();
    // The reason text can hold anything, even commas: cut it out first.
    let mut items_text = body.to_string();
    if let Some(r) = body.find("DropReason") {
        let after = &body[r + "DropReason".len()..];
        let end = after.find("DropLocation").map(|l| r + "DropReason".len() + l);
        let reason = match end {
            Some(e) => &body[r + "DropReason".len()..e],
            None => {
                // No location: the reason runs to the next ", <Label> <number>" or the end.
                let tail = &body[r + "DropReason".len()..];
                let cut = tail.find(", OriginalSize").unwrap_or(tail.len());
                &tail[..cut]
            }
        };
        let reason = reason.trim().trim_end_matches(',').trim();
        if !reason.is_empty() {
            line.drop_reason = Some(Cow::Owned(reason.to_string()));
        }
        let rest_start = r + "DropReason".len() + reason_len_in(body, r);
        items_text = format!("{}{}", &body[..r], &body[rest_start.min(body.len())..]);
    }
    let items: Vec<&str> = items_text.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let has_edge_label = items.iter().any(|i| i.split_whitespace().next() == Some("Edge"));
    // Positional order of the templates.
    let order: &[Field] = if !line.is_drop || has_edge_label || items.len() >= 11 {
        &[
            Field::GroupId,
            Field::PktNumber,
            Field::Appearance,
            Field::Direction,
            Field::Type,
            Field::Component,
            Field::Edge,
            Field::Filter,
            Field::Location,
            Field::OriginalSize,
            Field::LoggedSize,
        ]
    } else {
        &[
            Field::GroupId,
            Field::PktNumber,
            Field::Appearance,
            Field::Direction,
            Field::Type,
            Field::Component,
            Field::Filter,
            Field::Location,
            Field::OriginalSize,
            Field::LoggedSize,
        ]
    };
    let order: Vec<Field> = order
        .iter()
        .copied()
        .filter(|f| line.is_drop || *f != Field::Location)
        .collect();
    for (pos, item) in items.iter().enumerate() {
        let first = item.split_whitespace().next().unwrap_or("");
        let field = match english_label(first) {
            Some(f) => f,
            None => match order.get(pos) {
                Some(f) => *f,
                None => continue,
            },
        };
        let last = item.split_whitespace().last().unwrap_or("");
        let text_value = || {
            let v = item[first.len()..].trim();
            (!v.is_empty()).then(|| Cow::Owned(v.to_string()))
        };
        match field {
            Field::GroupId => line.group_id = last.parse().ok(),
            Field::PktNumber => line.pkt_number = number(last, field, &mut line.invalid),
            Field::Appearance => line.appearance = number(last, field, &mut line.invalid),
            Field::Direction => line.direction = text_value(),
            Field::Type => line.packet_type = text_value(),
            Field::Component => line.component_id = number(last, field, &mut line.invalid),
            Field::Edge => line.edge_id = number(last, field, &mut line.invalid),
            Field::Filter => line.filter_id = number(last, field, &mut line.invalid),
            Field::Location => {
                line.drop_location = last
                    .strip_prefix("0x")
                    .or_else(|| last.strip_prefix("0X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok());
                if line.drop_location.is_none() {
                    line.invalid.push(field.name());
                }
            }
            Field::OriginalSize => line.original_size = number(last, field, &mut line.invalid),
            Field::LoggedSize => line.logged_size = number(last, field, &mut line.invalid),
        }
    }
    line.group_id?;
    Some(line)
}

/// Length of the reason text (up to the DropLocation label or the sizes).
fn reason_len_in(body: &str, r: usize) -> usize {
    let tail = &body[r + "DropReason".len()..];
    match tail.find("DropLocation") {
        Some(l) => l,
        None => tail.find(", OriginalSize").unwrap_or(tail.len()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn english_lines_are_the_templates_expanded() {
        use crate::model::{Appearance, DropInfo, LinkType};
        let catalog = Catalog::builtin(Some(26100));
        let base = Appearance {
            group_id: Some(8_444_249_301_423_149),
            pkt_number: Some(3),
            appearance: Some(12),
            direction: Some(3),
            packet_type: Some(1),
            component_id: Some(84),
            edge_id: Some(1),
            filter_id: Some(0),
            original_size: 1514,
            logged_size: 128,
            ..Appearance::bare(0, 0, LinkType::Ethernet, Vec::new(), 1514)
        };
        let drop = |reason, text: Option<&str>, location| DropInfo {
            reason,
            reason_text: text.map(str::to_string),
            location,
        };
        let cases = [
            base.clone(),
            Appearance {
                direction: Some(77),
                packet_type: Some(9),
                group_id: None,
                ..base.clone()
            },
            Appearance {
                drop: Some(drop(Some(1204), None, Some(0xE000_460A))),
                ..base.clone()
            },
            Appearance {
                drop: Some(drop(Some(987_654), Some("Vom Treiber verworfen"), None)),
                edge_id: None,
                ..base.clone()
            },
            Appearance {
                drop: Some(drop(None, None, Some(1))),
                direction: None,
                packet_type: None,
                component_id: None,
                filter_id: None,
                ..base.clone()
            },
        ];
        for a in &cases {
            let template = if a.is_drop() { TEMPLATE_DROP } else { TEMPLATE_PACKET };
            let (mut fast, mut walked) = (String::new(), String::new());
            render_english(&mut fast, a, &catalog);
            render_template(&mut walked, a, &catalog, template);
            assert_eq!(fast, walked);
        }
        let mut line = String::new();
        render_english(&mut line, &cases[2], &catalog);
        assert!(line.starts_with("Drop: PktGroupId 8444249301423149, PktNumber 3, Appearance 12, Direction Rx , Type Ethernet , Component 84, Filter 0, DropReason "), "{line}");
        assert!(
            line.ends_with(", DropLocation 0xE000460A, OriginalSize 1514, LoggedSize 128 "),
            "{line}"
        );
    }

    use super::*;

    /// The one-pass English reader must agree with the general one on every
    /// line it answers, and answer every English line PktMon renders.
    #[test]
    fn english_fast_path_agrees_with_the_general_parser() {
        let catalog = Catalog::builtin(Some(26200));
        let mut rendered = Vec::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for i in 0..5000u64 {
            let mut a = Appearance::bare(i, 0, crate::model::LinkType::Ethernet, vec![0; 8], 60);
            a.group_id = Some(next() >> (next() % 64));
            a.pkt_number = Some(next() as u16);
            a.appearance = Some(next() as u16);
            a.direction = Some((next() % 8) as u16);
            a.packet_type = Some((next() % 12) as u16);
            a.component_id = Some(next() as u16);
            a.edge_id = Some(next() as u16);
            a.filter_id = Some((next() % 3) as u16);
            a.original_size = (next() % 70_000) as u32;
            a.logged_size = (next() % 2_000) as u32;
            if next() % 3 == 0 {
                a.drop = Some(crate::model::DropInfo {
                    reason: Some((next() % 260) as u32),
                    reason_text: None,
                    location: Some(0xE000_0000 | (next() as u32 & 0xFFFF)),
                });
            }
            rendered.push(render_message(&a, &catalog, None));
        }
        let odd = [
            "PktGroupId 1, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 54, LoggedSize 54 \r",
            "PktGroupId 1, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge , Filter 0, OriginalSize 54, LoggedSize 54",
            "PktGroupId 1, PktNumber 99999, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 54, LoggedSize 54",
            "PktGroupId 1, PktNumber +1, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 54, LoggedSize 54",
            "PktGroupId 1, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 54",
            "PktGroupId 1, PktNumber 1, Appearance 1, Direction , Type Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 54, LoggedSize 54",
            "Drop: PktGroupId 5, PktNumber 1, Appearance 0, Direction Rx , Type IP , Component 49, Filter 1, DropReason a, b, c , DropLocation 0xE000460A, OriginalSize 402, LoggedSize 148",
            "Drop: PktGroupId 5, PktNumber 1, Appearance 0, Direction Rx , Type IP , Component 49, Edge 2, Filter 1, DropReason x , DropLocation 0xE000460A, OriginalSize 402, LoggedSize 148",
            "Drop: PktGroupId 5, PktNumber 1, Appearance 0, Direction Rx , Type IP , Component 49, Filter 1, DropReason x , DropLocation 0XE000460A, OriginalSize 402, LoggedSize 148",
            "Drop: PktGroupId 5, PktNumber 1, Appearance 0, Direction Rx , Type IP , Component 49, Filter 1, DropReason , DropLocation 0xE000460A, OriginalSize 402, LoggedSize 148",
            "Drop: PktGroupId 5, PktNumber 1, Appearance 0, Direction Rx , Type IP , Component 49, Filter 1, DropReason x, OriginalSize 402, LoggedSize 148",
            "PktGroupId 5, PktNumber 1, Appearance 0, Direction Rx , Type IP , Component 49, Filter 1, DropReason x , DropLocation 0xE000460A, OriginalSize 402, LoggedSize 148",
            "PktGroupId 1，PktNumber 1，Appearance 1，Direction Tx ，Type Ethernet ，Component 84，Edge 1，Filter 0，OriginalSize 54，LoggedSize 54",
            "PktGroupId 1, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 54, LoggedSize 54 trailing",
        ];
        let mut answered = 0;
        for m in rendered.iter().map(String::as_str).chain(odd) {
            let general = parse_any_template(m);
            if let Some(fast) = parse_english_template(m) {
                answered += 1;
                assert_eq!(Some(fast), general, "{m}");
            }
        }
        for m in &rendered {
            assert!(
                parse_english_template(m).is_some(),
                "English line not read in one pass: {m}"
            );
            assert!(parse_packet_ids(m).is_some(), "ids not read from an English line: {m}");
        }
        for m in rendered.iter().map(String::as_str).chain(odd) {
            if let Some(ids) = parse_packet_ids(m) {
                let full = parse_packet_message(m).expect("a line with ids is a packet line");
                assert_eq!(
                    (
                        ids.is_drop,
                        Some(ids.group_id),
                        Some(ids.pkt_number),
                        Some(ids.appearance)
                    ),
                    (full.is_drop, full.group_id, full.pkt_number, full.appearance),
                    "{m}"
                );
            }
        }
        assert!(answered >= rendered.len() + 2, "{answered}");
    }

    #[test]
    fn parses_a_flow_line_from_a_real_file() {
        let line = "[02]0000.0000::2021-06-03 19:19:55.618793000 [Microsoft-Windows-PktMon] PktGroupId 562949953421313, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 84, Edge 1, Filter 0, OriginalSize 54, LoggedSize 54 ";
        let p = parse_prefix(line).unwrap();
        assert_eq!((p.cpu, p.process_id, p.thread_id), (2, 0, 0));
        assert_eq!(p.time, "2021-06-03 19:19:55.618793000");
        assert_eq!(p.provider, "Microsoft-Windows-PktMon");
        let m = parse_packet_message(p.message).unwrap();
        assert!(!m.is_drop);
        assert_eq!(m.group_id, Some(562_949_953_421_313));
        assert_eq!(m.direction.as_deref(), Some("Tx"));
        assert_eq!(m.packet_type.as_deref(), Some("Ethernet"));
        assert_eq!((m.component_id, m.edge_id, m.filter_id), (Some(84), Some(1), Some(0)));
        assert_eq!((m.original_size, m.logged_size), (Some(54), Some(54)));
    }

    #[test]
    fn parses_the_drop_line_of_microsofts_article() {
        let msg = "Drop: PktGroupId 8444249301423149, PktNumber 1, Appearance 0, Direction Rx , Type IP , Component 49, Filter 1, DropReason INET: transport endpoint was not found , DropLocation 0xE000460A, OriginalSize 402, LoggedSize 148";
        let m = parse_packet_message(msg).unwrap();
        assert!(m.is_drop);
        assert_eq!(m.drop_reason.as_deref(), Some("INET: transport endpoint was not found"));
        assert_eq!(m.drop_location, Some(0xE000_460A));
        assert_eq!((m.component_id, m.filter_id, m.edge_id), (Some(49), Some(1), None));
        assert_eq!((m.original_size, m.logged_size), (Some(402), Some(148)));
    }

    #[test]
    fn parses_german_labels_by_position() {
        let msg = "Ablegen: PktGroupId 13, PktNumber 1, Darstellung 0, Richtung Rx , Typ IP , Komponente 98, Filter 0, DropReason Not locally destined , DropLocation 0xE0004138, Original Größe 100, LoggedSize 100 ";
        let m = parse_packet_message(msg).unwrap();
        assert!(m.is_drop);
        assert_eq!(m.group_id, Some(13));
        assert_eq!(m.appearance, Some(0));
        assert_eq!(m.direction.as_deref(), Some("Rx"));
        assert_eq!(m.packet_type.as_deref(), Some("IP"));
        assert_eq!(m.component_id, Some(98));
        assert_eq!(m.drop_reason.as_deref(), Some("Not locally destined"));
        assert_eq!(m.drop_location, Some(0xE000_4138));
        assert_eq!((m.original_size, m.logged_size), (Some(100), Some(100)));
    }

    #[test]
    fn parses_abbreviated_and_numeric_reason_lines() {
        let m = parse_packet_message("Drop: PktGroupId 10696049115005232, PktNumber 1, Appearance 1, Direction Rx, Type Ethernet, Component 2, Filter 0, DropReason 228, DropLocation 0xE000100F").unwrap();
        assert_eq!(m.drop_reason.as_deref(), Some("228"));
        assert_eq!(m.drop_location, Some(0xE000_100F));
        assert_eq!(m.component_id, Some(2));
        let m = parse_packet_message(
            "Drop: PktGroupId 53, Direction Rx, Type IP, DropReason INET: transport endpoint was not found",
        )
        .unwrap();
        assert_eq!(m.group_id, Some(53));
        assert_eq!(m.direction.as_deref(), Some("Rx"));
        assert_eq!(m.drop_reason.as_deref(), Some("INET: transport endpoint was not found"));
        assert!(parse_packet_message("Component 141, Type HTTP Protocol , Name http.sys, HTTP ").is_none());
    }

    #[test]
    fn names_fields_that_are_present_but_unreadable() {
        let m = parse_packet_message("PktGroupId 1, PktNumber 1, Appearance 1, Direction Tx , Type Ethernet , Component 8x4, Edge 1, Filter 0, OriginalSize 54, LoggedSize 54 ").unwrap();
        assert_eq!(m.invalid, ["Component"]);
        assert_eq!(m.component_id, None);
        let m = parse_packet_message("Drop: PktGroupId 1, Direction Rx, DropReason 5, DropLocation 0xZZ").unwrap();
        assert_eq!(m.invalid, ["DropLocation"]);
        // Absent fields are not unreadable ones.
        let m = parse_packet_message(
            "Drop: PktGroupId 53, Direction Rx, Type IP, DropReason INET: transport endpoint was not found",
        )
        .unwrap();
        assert!(m.invalid.is_empty());
        assert_eq!(m.original_size, None);
    }
}
