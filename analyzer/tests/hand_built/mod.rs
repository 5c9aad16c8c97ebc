//! Captures built appearance by appearance for the diagnosis tests
//! (`verdict.rs`, `diagnosis_edges.rs`): frames made byte by byte with
//! `pktmon::generate::wire`, fed to a `Diagnoser`, so that each test's expected
//! answer follows from how its packets were made.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use pktmon::diagnose::{Diagnoser, Diagnosis};
use pktmon::generate::wire::{self, Ip, Payload, Tcp};
use pktmon::model::*;
use pktmon::pktmon::catalog::Catalog;

pub const HOST: [u8; 4] = [10, 0, 0, 5];
pub const HOST_MAC: [u8; 6] = [2, 0, 0, 0, 0, 5];
pub const GW_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
/// Direction tags: Rx 3, Tx 4.
pub const RX: u16 = 3;
pub const TX: u16 = 4;
pub const MS: FileTime = 10_000;
pub const SEC: FileTime = 10_000_000;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

pub fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

pub fn ip(src: IpAddr, dst: IpAddr, ttl: u8, id: u16) -> Ip {
    Ip {
        src,
        dst,
        ttl,
        id,
        df: true,
        flow_label: 0,
    }
}

#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    flags: u8,
    seq: u32,
    ack: u32,
    len: usize,
    ttl: u8,
    id: u16,
) -> Vec<u8> {
    let mut f = Vec::new();
    wire::tcp_frame(
        &mut f,
        (GW_MAC, HOST_MAC),
        &ip(src.0, dst.0, ttl, id),
        &Tcp {
            src_port: src.1,
            dst_port: dst.1,
            seq,
            ack,
            flags,
            window: 64240,
            options: &[],
        },
        Payload::Stream {
            stream: seq as u64,
            offset: 0,
            len,
        },
    );
    f
}

pub fn udp(src: (IpAddr, u16), dst: (IpAddr, u16), payload: &[u8], ttl: u8) -> Vec<u8> {
    let mut f = Vec::new();
    wire::udp_frame(
        &mut f,
        (GW_MAC, HOST_MAC),
        &ip(src.0, dst.0, ttl, 7),
        (src.1, dst.1),
        payload,
    );
    f
}

/// A capture built appearance by appearance, then diagnosed.
pub struct Cap {
    pub info: CaptureInfo,
    pub records: Vec<Record>,
    pub next_index: u64,
    pub next_group: u64,
}

impl Cap {
    pub fn new(os_build: u32) -> Cap {
        let mut c = Cap {
            info: CaptureInfo {
                file: "hand-built".into(),
                kind: Some(InputKind::Etl),
                os_build: Some(os_build),
                ..Default::default()
            },
            records: Vec::new(),
            next_index: 0,
            next_group: 1,
        };
        // The host's NIC (12), a filter above it (30) and TCP/IP (101) with the host's address.
        for (id, ty, name) in [
            (12u16, 2u16, "e1000.sys"),
            (30, 3, "filter.sys"),
            (101, 11, "tcpip.sys"),
        ] {
            c.records.push(Record::Component(Component {
                id,
                component_type: ty,
                name: name.into(),
                description: name.into(),
                properties: vec![Property {
                    id: 1,
                    value: PropertyValue::U32(7),
                }],
            }));
        }
        c.records.push(Record::Property {
            component_id: 101,
            property: Property {
                id: 13,
                value: PropertyValue::Ipv4(Ipv4Addr::from(HOST)),
            },
        });
        c
    }

    /// One appearance with a fresh PktGroupId (or `group` when given).
    pub fn put(
        &mut self,
        time: FileTime,
        bytes: Vec<u8>,
        dir: u16,
        component: u16,
        drop: Option<u32>,
        group: Option<u64>,
    ) -> u64 {
        let g = group.unwrap_or_else(|| {
            self.next_group += 1;
            self.next_group
        });
        let mut a = Appearance::bare(
            self.next_index,
            time,
            LinkType::Ethernet,
            bytes.clone(),
            bytes.len() as u32,
        );
        a.group_id = Some(g);
        a.pkt_number = Some(1);
        a.appearance = Some(if group.is_some() { 2 } else { 1 });
        a.direction = Some(dir);
        a.component_id = Some(component);
        a.drop = drop.map(|reason| DropInfo {
            reason: Some(reason),
            reason_text: Some(
                match reason {
                    902 => "Not locally destined",
                    1204 => "INET: transport endpoint was not found",
                    1210 => "INET: received RST",
                    1217 => "INET: duplicate segment",
                    909 => "Inspection drop",
                    _ => "Other",
                }
                .into(),
            ),
            location: Some(0xE000_4500),
        });
        self.records.push(Record::Packet(a));
        self.next_index += 1;
        g
    }

    /// A connection from the host's `client_port` opened at `t`: SYN (ISN 1000),
    /// SYN/ACK (ISN 5000) 1 ms later, ACK 1 ms after that.
    pub fn handshake(&mut self, t: FileTime, client_port: u16, server: IpAddr, port: u16) {
        let client = (host(), client_port);
        self.put(
            t,
            tcp(client, (server, port), SYN, 1000, 0, 0, 128, 1),
            TX,
            12,
            None,
            None,
        );
        self.put(
            t + MS,
            tcp((server, port), client, SYN | ACK, 5000, 1001, 0, 64, 0),
            RX,
            12,
            None,
            None,
        );
        self.put(
            t + 2 * MS,
            tcp(client, (server, port), ACK, 1001, 5001, 0, 128, 2),
            TX,
            12,
            None,
            None,
        );
    }

    pub fn diagnose(self) -> Diagnosis {
        let catalog = Catalog::builtin(self.info.os_build);
        let schemas = BTreeMap::new();
        let ctx = Context {
            info: &self.info,
            catalog: &catalog,
            schemas: &schemas,
        };
        let mut d = Diagnoser::new(self.info.os_build);
        for r in self.records {
            d.record(&ctx, r);
        }
        d.finish(&self.info)
    }
}

pub fn host() -> IpAddr {
    v4(HOST)
}
