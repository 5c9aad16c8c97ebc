//! One Microsoft-Windows-TCPIP message → a [`TcpipEvent`].
//!
//! Which event a message is comes from the labels it carries (`SeqNo = ` and
//! `BytesSent = ` make a send event), not from its words, and every value is
//! found after its label: the words around them are translated in other UI
//! languages and the labels, numbers, `N(Name)` values and addresses are not.
//! The few facts that only words carry (count and interface of a network drop,
//! whether a timer started) are read by position: the numbers in between.

use std::net::{IpAddr, SocketAddr};

use super::*;

/// Parses the message of a Microsoft-Windows-TCPIP line: `None` for an event
/// of a kind not parsed (counted, not an error). An `Err` names what is wrong
/// with a line whose labels say which event it is.
pub fn parse_message(message: &str) -> Result<Option<TcpipEvent>, String> {
    let m = message.trim();
    let has = |label: &str| find_label(m, label).is_some();
    // Drop events name no connection; "TCP: Connection 0x… Transport (…) sent RST with Local = …,
    // Remote = …. Reason = …" (event 1479) has the same labels but is no drop.
    let connection_first = handle(&m[..m.find('(').unwrap_or(m.len())]).is_some();
    let event = if has("SourceAddress") && has("DestAddress") && has("Reason") && !connection_first {
        TcpipEvent::NetworkDrop(network_drop(m)?)
    } else if has("AddressFamily") && has("Local") && has("Remote") && has("Reason") && !connection_first {
        TcpipEvent::TransportDrop(transport_drop(m)?)
    } else if has("TailProbeSeq") {
        TcpipEvent::TlpSend(tlp_send(m)?)
    } else if has("SeqNo") && has("BytesSent") {
        TcpipEvent::Send(send_event(m)?)
    } else if has("Start") && has("End") && has("InFlightCount") {
        TcpipEvent::RexmitMark(rexmit_mark(m)?)
    } else if has("BytesToSend") && has("SndNxt") {
        TcpipEvent::RetransmitSend(retransmit_send(m)?)
    } else if has("Event") && has("Connection") && handle(m).is_some() {
        TcpipEvent::TlpEvent(TlpEvent {
            connection: handle(m).ok_or("no connection handle")?,
            event: coded(m, "Event")?,
        })
    // These two are recognised by shape alone (a `N(…Timer)` value; endpoints
    // after a handle), which many TCP/IP events share: one that does not fit
    // is an event of another kind, not a damaged line.
    } else if let Some(timer) = timer_value(m) {
        return Ok(timer_event(m, timer).ok().map(TcpipEvent::Timer));
    } else if m.contains("local=") && m.contains("remote=") && handle(m).is_some() {
        return Ok(connection_line(m).ok().map(TcpipEvent::Connection));
    } else {
        return Ok(None);
    };
    Ok(Some(event))
}

// ---------------------------------------------------------------------------
// Values after labels
// ---------------------------------------------------------------------------

/// Where the value of `Label = value` starts: the label as a whole word
/// (`SndWnd` does not match inside `RcvSndWnd`), then `=` with optional spaces.
fn find_label<'a>(m: &'a str, label: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(i) = m[from..].find(label) {
        let at = from + i;
        from = at + label.len();
        let before_ok = m[..at].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        let rest = &m[from..];
        let after = rest.trim_start_matches(' ');
        if before_ok {
            if let Some(value) = after.strip_prefix('=') {
                return Some(value.trim_start_matches(' '));
            }
        }
    }
    None
}

/// The leading decimal (or `0x` hex) number of a text.
fn leading_number(s: &str) -> Option<(u64, &str)> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        let end = hex.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(hex.len());
        return Some((u64::from_str_radix(&hex[..end], 16).ok()?, &hex[end..]));
    }
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    Some((s[..end].parse().ok()?, &s[end..]))
}

fn number(m: &str, label: &str) -> Result<u64, String> {
    let v = find_label(m, label).ok_or_else(|| format!("no {label}"))?;
    leading_number(v)
        .map(|(n, _)| n)
        .ok_or_else(|| format!("{label} is not a number"))
}

fn seq(m: &str, label: &str) -> Result<u32, String> {
    u32::try_from(number(m, label)?).map_err(|_| format!("{label} is beyond 32 bits"))
}

/// `N(text)` at the start of `s`, the text up to its balanced closing
/// parenthesis (`10(Received RST (subreason 0))`). Returns the rest after it.
fn coded_at(s: &str) -> Option<(Coded, &str)> {
    let (code, rest) = leading_number(s)?;
    let code = u32::try_from(code).ok()?;
    let Some(inner) = rest.strip_prefix('(') else {
        return Some((
            Coded {
                code,
                text: String::new(),
            },
            rest,
        ));
    };
    let mut depth = 1;
    for (i, c) in inner.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((Coded::new(code, &inner[..i]), &inner[i + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

fn coded(m: &str, label: &str) -> Result<Coded, String> {
    let v = find_label(m, label).ok_or_else(|| format!("no {label}"))?;
    coded_at(v)
        .map(|(c, _)| c)
        .ok_or_else(|| format!("{label} is not a number with its name in parentheses"))
}

/// The first `0x…` value: the connection handle of every TCP event.
fn handle(m: &str) -> Option<u64> {
    let i = m.find("0x").or_else(|| m.find("0X"))?;
    if m[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric()) {
        return None;
    }
    leading_number(&m[i..]).map(|(n, _)| n)
}

/// The token a value is: up to a space or comma; a sentence's closing `.` or `)` is not part of it.
fn token(s: &str) -> &str {
    let end = s.find([' ', ',', ';']).unwrap_or(s.len());
    let t = &s[..end];
    // `remote=6.6.0.27:443):` ends the endpoints; a bare IPv6 address may end in `::` itself.
    let t = t.strip_suffix("):").unwrap_or(t);
    t.trim_end_matches(['.', ')'])
}

/// An address, without the `%zone` a link-local IPv6 address may carry.
fn parse_ip(t: &str) -> Option<IpAddr> {
    let t = t.trim_start_matches('[').trim_end_matches(']');
    t.split_once('%').map_or(t, |(a, _)| a).parse().ok()
}

fn ip(m: &str, label: &str) -> Result<IpAddr, String> {
    let v = find_label(m, label).ok_or_else(|| format!("no {label}"))?;
    let t = token(v);
    parse_ip(t).ok_or_else(|| format!("{label} {t:?} is not an IP address"))
}

/// `192.168.5.68:55330`, `[2001:db8::1]:443` or `2001:db8::1:443` (last colon = port).
pub fn parse_endpoint(t: &str) -> Option<SocketAddr> {
    if let Ok(s) = t.parse::<SocketAddr>() {
        return Some(s);
    }
    let (addr, port) = t.rsplit_once(':')?;
    Some(SocketAddr::new(parse_ip(addr)?, port.parse().ok()?))
}

fn endpoint_after(m: &str, key: &str) -> Result<SocketAddr, String> {
    let v = find_label(m, key)
        .or_else(|| m.find(&format!("{key}=")).map(|i| &m[i + key.len() + 1..]))
        .ok_or_else(|| format!("no {key}"))?;
    let t = token(v);
    parse_endpoint(t).ok_or_else(|| format!("{key} {t:?} is not an address and port"))
}

/// The numbers of a text in order (`dropped 1 packet(s) on interface 13` → 1, 13).
fn numbers_in(s: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find(|c: char| c.is_ascii_digit()) {
        let glued = rest[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric());
        let (n, after) = leading_number(&rest[i..]).unwrap_or((0, &rest[i + 1..]));
        if !glued {
            out.push(n);
        }
        rest = after;
    }
    out
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

/// The protocol and family of a drop (`(Protocol 1(ICMP), AddressFamily = 2(IPV4))`)
/// and the text after them, where the count and interface are.
fn protocol_family(m: &str) -> Result<(Coded, Coded, &str), String> {
    let fam_at = find_label(m, "AddressFamily").ok_or("no AddressFamily")?;
    let head = &m[..m.len() - fam_at.len()];
    // The protocol is the first `N(Name)` (or bare number) after the opening parenthesis.
    let open = head.find('(').ok_or("no protocol")?;
    let proto_text = &head[open + 1..];
    let digit = proto_text
        .find(|c: char| c.is_ascii_digit())
        .ok_or("no protocol number")?;
    let (protocol, _) = coded_at(&proto_text[digit..]).ok_or("protocol is not a number")?;
    let (family, rest) = coded_at(fam_at).ok_or("AddressFamily is not a number")?;
    Ok((protocol, family, rest))
}

fn network_drop(m: &str) -> Result<NetworkDrop, String> {
    let (protocol, family, rest) = protocol_family(m)?;
    let between = &rest[..rest.find("SourceAddress").unwrap_or(rest.len())];
    let nums = numbers_in(between);
    let count = *nums.first().ok_or("no packet count")?;
    Ok(NetworkDrop {
        protocol,
        family,
        count,
        interface: nums.get(1).and_then(|&n| u32::try_from(n).ok()),
        source: ip(m, "SourceAddress")?,
        destination: ip(m, "DestAddress")?,
        reason: coded(m, "Reason")?,
        direction: find_label(m, "Direction").map(|_| coded(m, "Direction")).transpose()?,
        nbl: find_label(m, "NBL").map(|_| number(m, "NBL")).transpose()?,
    })
}

fn transport_drop(m: &str) -> Result<TransportDrop, String> {
    let (protocol, family, rest) = protocol_family(m)?;
    let local_at = find_label(rest, "Local")
        .map(|v| rest.len() - v.len())
        .unwrap_or(rest.len());
    let count = *numbers_in(&rest[..local_at]).first().ok_or("no packet count")?;
    Ok(TransportDrop {
        protocol,
        family,
        count,
        local: endpoint_after(m, "Local")?,
        remote: endpoint_after(m, "Remote")?,
        reason: coded(m, "Reason")?,
    })
}

fn tlp_send(m: &str) -> Result<TlpSend, String> {
    Ok(TlpSend {
        connection: handle(m).ok_or("no connection handle")?,
        snd_una: seq(m, "SndUna")?,
        snd_max: seq(m, "SndMax")?,
        send_available: number(m, "SendAvailable")?,
        tail_probe_seq: seq(m, "TailProbeSeq")?,
        tail_probe_last: seq(m, "TailProbeLast")?,
        controls_to_send: number(m, "ControlsToSend")?,
        th_flags: number(m, "ThFlags")?,
    })
}

fn send_event(m: &str) -> Result<SendEvent, String> {
    Ok(SendEvent {
        connection: handle(m).ok_or("no connection handle")?,
        local: endpoint_after(m, "local")?,
        remote: endpoint_after(m, "remote")?,
        seq: seq(m, "SeqNo")?,
        bytes_sent: number(m, "BytesSent")?,
        cwnd: number(m, "CWnd")?,
        snd_wnd: number(m, "SndWnd")?,
        srtt: number(m, "SRtt")?,
        rttvar: number(m, "RttVar")?,
        rto: number(m, "RTO")?,
        rcv_wnd: number(m, "RcvWnd")?,
        pacing_rate: number(m, "PacingRate")?,
        state: coded(m, "State")?,
        congestion_state: number(m, "CongestionState")?,
        snd_una: seq(m, "SndUna")?,
        snd_max: seq(m, "SndMax")?,
        recovery_max: seq(m, "RecoveryMax")?,
        rcv_buf_set: coded(m, "RcvBufSet")?,
        max_rcv_buf: number(m, "MaxRcvBuf")?,
    })
}

fn rexmit_mark(m: &str) -> Result<RexmitMark, String> {
    Ok(RexmitMark {
        connection: handle(m).ok_or("no connection handle")?,
        start: seq(m, "Start")?,
        end: seq(m, "End")?,
        timestamp: number(m, "Timestamp")?,
        in_flight_count: number(m, "InFlightCount")?,
        sacked_bytes: number(m, "SackedBytes")?,
        bytes_in_flight: number(m, "BytesInFlight")?,
    })
}

fn retransmit_send(m: &str) -> Result<RetransmitSend, String> {
    let kind = if m.contains("Fast") {
        RetransmitSendKind::Fast
    } else if m.contains("SACK") && m.contains("Additional") {
        RetransmitSendKind::SackAdditional
    } else if m.contains("SACK") {
        RetransmitSendKind::Sack
    } else {
        RetransmitSendKind::Unknown
    };
    Ok(RetransmitSend {
        connection: handle(m).ok_or("no connection handle")?,
        kind,
        bytes_to_send: number(m, "BytesToSend")?,
        snd_nxt: seq(m, "SndNxt")?,
    })
}

/// The `N(…Timer)` value of a timer line, and the text after it.
fn timer_value(m: &str) -> Option<(Coded, &str)> {
    let mut from = 0;
    while let Some(i) = m[from..].find("Timer)") {
        let close = from + i + "Timer".len();
        let open = m[..close].rfind('(')?;
        // After the last character that is not a digit (which may take several bytes).
        let digits_start = m[..open]
            .char_indices()
            .rev()
            .find(|(_, c)| !c.is_ascii_digit())
            .map_or(0, |(j, c)| j + c.len_utf8());
        if digits_start < open {
            if let Some((c, rest)) = coded_at(&m[digits_start..]) {
                return Some((c, rest));
            }
        }
        from = close + 1;
    }
    None
}

fn timer_event(m: &str, (timer, rest): (Coded, &str)) -> Result<TimerEvent, String> {
    let connection = handle(m).ok_or("no connection handle")?;
    // "timer started. Scheduled to expire in 300 ms. Processor 31: LastInterruptTime …":
    // a started timer is the one with a number before its processor details.
    let details_at = rest.find("LastInterruptTime").unwrap_or(rest.len());
    let nums = numbers_in(&rest[..details_at]);
    let has_details = details_at < rest.len();
    // With details, the last number before them is the processor ("Processor 31:").
    let (expire_ms, processor) = match (has_details, nums.as_slice()) {
        (true, [ms, .., cpu]) => (Some(*ms), u32::try_from(*cpu).ok()),
        (true, [cpu]) => (None, u32::try_from(*cpu).ok()),
        (false, [ms, ..]) => (Some(*ms), None),
        _ => (None, None),
    };
    let after = &rest[details_at..];
    let last_interrupt_time = find_after_word(after, "LastInterruptTime");
    let last_microsecond_count = find_after_word(after, "LastMicrosecondCount");
    Ok(TimerEvent {
        connection,
        timer,
        expire_ms,
        processor,
        last_interrupt_time,
        last_microsecond_count,
    })
}

/// `Word 123`: the number after a label written without `=`.
fn find_after_word(s: &str, word: &str) -> Option<u64> {
    let i = s.find(word)?;
    let rest = s[i + word.len()..].trim_start_matches([' ', '=', ':']);
    leading_number(rest).map(|(n, _)| n)
}

fn connection_line(m: &str) -> Result<ConnectionLine, String> {
    let what_at = m.find("remote=").map(|i| &m[i..]).unwrap_or("");
    let what = what_at
        .find([')'])
        .map(|i| what_at[i + 1..].trim_start_matches([':', ' ']).trim())
        .unwrap_or("");
    // RexmitCount is a field of its own, not part of the words.
    let what = match what.find("RexmitCount") {
        Some(i) => what[..i].trim_end_matches([',', ' ']),
        None => what,
    };
    Ok(ConnectionLine {
        connection: handle(m).ok_or("no connection handle")?,
        local: endpoint_after(m, "local")?,
        remote: endpoint_after(m, "remote")?,
        rexmit_count: find_label(m, "RexmitCount")
            .map(|_| number(m, "RexmitCount"))
            .transpose()?,
        what: what.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_whole_words_only() {
        let m = "RcvWnd = 5, SndWnd = 7, Wnd = 9";
        assert_eq!(number(m, "SndWnd"), Ok(7));
        assert_eq!(number(m, "Wnd"), Ok(9));
        assert_eq!(number(m, "RcvWnd"), Ok(5));
    }

    #[test]
    fn coded_values_keep_nested_parentheses() {
        let (c, rest) = coded_at("10(Received RST (subreason 0)). Next").unwrap();
        assert_eq!(c, Coded::new(10, "Received RST (subreason 0)"));
        assert_eq!(rest, ". Next");
        assert_eq!(coded_at("7. x").unwrap().0, Coded::new(7, ""));
        assert!(coded_at("7(unclosed").is_none());
    }

    #[test]
    fn endpoints_in_every_spelling() {
        assert_eq!(parse_endpoint("1.2.3.4:80").unwrap().port(), 80);
        assert_eq!(parse_endpoint("[2001:db8::1]:443").unwrap().port(), 443);
        assert_eq!(
            parse_endpoint("2001:db8::1:443").unwrap().ip(),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
        assert!(parse_endpoint("nonsense").is_none());
        assert_eq!(
            parse_endpoint("[fe80::1%12]:443").unwrap().ip(),
            "fe80::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(parse_ip("fe80::1%12"), "fe80::1".parse().ok());
    }

    #[test]
    fn a_recognised_event_with_a_broken_value_is_an_error_not_a_panic() {
        let m = "TCP: connection 0x1 (local=1.2.3.4:1 remote=5.6.7.8:2): TCP send event, SeqNo = x, BytesSent = 1";
        assert!(parse_message(m).unwrap_err().contains("SeqNo"));
        assert_eq!(parse_message("TCP software RSC global disabled mask = 0"), Ok(None));
        let rst = "TCP: Connection 0xFFFFE189BD811AA0 Transport (Protocol 6(TCP), AddressFamily = 2(IPV4)) sent RST \
                   with Local = 10.0.0.1:443, Remote = 10.0.0.2:50000. Reason = 1(Listener received a packet other than SYN).";
        assert_eq!(parse_message(rst), Ok(None), "a RST sent is not a drop");
        // Shapes other events share are not damage when they do not fit.
        let other = "TCP: connection 0xFFFFE189BD811AA0 (local=(null) remote=(null)) closed.";
        assert_eq!(parse_message(other), Ok(None));
        for cut in 0..m.len() {
            if m.is_char_boundary(cut) {
                let _ = parse_message(&m[..cut]);
            }
        }
    }

    /// Found by the text_reader fuzzer: a multi-byte character right before a
    /// timer's code was cut through. Every line of Microsoft's article with any
    /// one character replaced by a multi-byte one parses or fails, never panics.
    #[test]
    fn multi_byte_characters_anywhere_never_panic() {
        let crash = "TCP: Connection 0xFFFFE189BD811AA0 ┰(RetransmitTimer) timer started. Scheduled to expire in 300 \
                     ms. Processor 31: LastInterruptTime 305324952689 100-ns ticks; LastMicrosecondCount 3053 = 2(TimerFired).";
        let _ = parse_message(crash);
        let article = include_str!("../../tests/fixtures/diagnose-packet-loss.NetTrace.txt");
        for line in article.lines() {
            let Some(p) = crate::pktmon::text::parse_prefix(line.trim_start_matches('\u{feff}')) else {
                continue;
            };
            let m = p.message;
            for (i, c) in m.char_indices() {
                for wide in ['┰', 'é', '中', '😀'] {
                    let changed = format!("{}{wide}{}", &m[..i], &m[i + c.len_utf8()..]);
                    let _ = parse_message(&changed);
                }
            }
        }
    }
}
