//! Adapter counter snapshots of a generated capture: what
//! `Get-NetAdapterStatistics | ConvertTo-Json > nic-before.json` writes in
//! Windows PowerShell 5.1 before `pktmon start` and after `pktmon stop`
//! (UTF-16LE with BOM, CRLF, its two-space `"key":  value` layout), with the
//! adapter's counters as the ground truth plants them.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{Evidence, GroundTruth};
use crate::sink::atomic::AtomicFile;

/// One adapter's `MSFT_NetAdapterStatisticsSettingData` properties, in PowerShell's order.
fn object(name: &str, description: &str, counters: &[(&str, u64)]) -> String {
    let mut props: Vec<(String, String)> = vec![
        ("ifAlias".into(), json_str(name)),
        ("InterfaceAlias".into(), json_str(name)),
        ("ifDesc".into(), json_str(description)),
        ("Caption".into(), "null".into()),
        ("Description".into(), "null".into()),
        ("ElementName".into(), "null".into()),
        ("InterfaceDescription".into(), json_str(description)),
        ("Name".into(), json_str(name)),
        ("Source".into(), "2".into()),
        ("SystemName".into(), json_str("PKTMON-GEN")),
    ];
    for (k, v) in counters {
        props.push((k.to_string(), v.to_string()));
    }
    props.push(("SupportedStatistics".into(), "4163583".into()));
    props.push(("PSComputerName".into(), "null".into()));
    props.push((
        "CimClass".into(),
        json_str("ROOT/StandardCimv2:MSFT_NetAdapterStatisticsSettingData"),
    ));
    let body: Vec<String> = props.iter().map(|(k, v)| format!("    \"{k}\":  {v}")).collect();
    format!("{{\r\n{}\r\n}}", body.join(",\r\n"))
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The counters of one snapshot: the planted counter at `value`, the others
/// plausible and steady (traffic counts grow by `traffic` packets).
fn counters(planted: &str, value: u64, traffic: u64) -> Vec<(&'static str, u64)> {
    let base = 1_842_201 + traffic;
    let mut c = vec![
        ("OutboundDiscardedPackets", 0),
        ("OutboundPacketErrors", 0),
        ("ReceivedBroadcastBytes", 52_800),
        ("ReceivedBroadcastPackets", 880),
        ("ReceivedBytes", 1_893_377_120 + traffic * 1_200),
        ("ReceivedDiscardedPackets", 0),
        ("ReceivedMulticastBytes", 460_800),
        ("ReceivedMulticastPackets", 5_120),
        ("ReceivedPacketErrors", 0),
        ("ReceivedUnicastBytes", 1_892_863_520 + traffic * 1_200),
        ("ReceivedUnicastPackets", base),
        ("SentBroadcastBytes", 720),
        ("SentBroadcastPackets", 12),
        ("SentBytes", 402_117_933 + traffic * 300),
        ("SentMulticastBytes", 36_900),
        ("SentMulticastPackets", 410),
        ("SentUnicastBytes", 402_080_313 + traffic * 300),
        ("SentUnicastPackets", 1_799_334 + traffic),
    ];
    for (k, v) in c.iter_mut() {
        if *k == planted {
            *v = value;
        }
    }
    c
}

/// Writes `<stem>.nic-before.json` and `<stem>.nic-after.json` into `dir` when the
/// ground truth plants an adapter counter; returns the files written.
pub fn write_snapshots(truth: &GroundTruth, dir: &Path, stem: &str) -> io::Result<Vec<PathBuf>> {
    let planted: Vec<(&String, &String, &String, u64, u64)> = truth
        .planted
        .iter()
        .flat_map(|p| p.evidence.iter())
        .filter_map(|e| match e {
            Evidence::AdapterCounter {
                adapter,
                name,
                counter,
                before,
                after,
                ..
            } => Some((adapter, name, counter, *before, *after)),
            _ => None,
        })
        .collect();
    let Some(&(adapter, name, counter, before, after)) = planted.first() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (which, value, traffic) in [("before", before, 0), ("after", after, truth.packets)] {
        let p = dir.join(format!("{stem}.nic-{which}.json"));
        let text = object(name, adapter, &counters(counter, value, traffic)) + "\r\n";
        let mut bytes = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let mut f = AtomicFile::create(&p).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
        f.write_all(&bytes)?;
        f.commit()?;
        out.push(p);
    }
    Ok(out)
}
