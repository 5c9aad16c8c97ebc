//! The flow table's key: both directions of a flow map to one key, hashed
//! cheaply (one multiply-xorshift mix over a few words, no SipHash).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::net::IpAddr;

use super::FlowKey;

/// Both directions of a flow: the smaller (address, port) end first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    lo: u128,
    hi: u128,
    lo_port: u16,
    hi_port: u16,
    protocol: u8,
    v6: bool,
    /// VLAN id, 0xFFFF without a tag.
    vlan: u16,
}

impl Key {
    /// The key of a flow and whether its client (sender) is the `lo` end.
    pub fn of(k: &FlowKey) -> (Key, bool) {
        let a = addr_bits(k.client);
        let b = addr_bits(k.server);
        let client_is_lo = (a, k.client_port) <= (b, k.server_port);
        let (lo, lo_port, hi, hi_port) = if client_is_lo {
            (a, k.client_port, b, k.server_port)
        } else {
            (b, k.server_port, a, k.client_port)
        };
        (
            Key {
                lo,
                hi,
                lo_port,
                hi_port,
                protocol: k.protocol,
                v6: k.client.is_ipv6(),
                vlan: k.vlan.unwrap_or(0xFFFF),
            },
            client_is_lo,
        )
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(mix(&[
            self.lo as u64,
            (self.lo >> 64) as u64,
            self.hi as u64,
            (self.hi >> 64) as u64,
            (self.lo_port as u64) << 48
                | (self.hi_port as u64) << 32
                | (self.protocol as u64) << 24
                | (self.v6 as u64) << 16
                | self.vlan as u64,
        ]));
    }
}

/// An address as 128 bits (IPv4 in the low 32).
pub fn addr_bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u32::from(v) as u128,
        IpAddr::V6(v) => u128::from(v),
    }
}

const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// Mixes words into a well-spread 64-bit hash.
pub fn mix(words: &[u64]) -> u64 {
    let mut h: u64 = 0x243F_6A88_85A3_08D3;
    for &w in words {
        h = (h ^ w).wrapping_mul(K);
        h ^= h >> 29;
    }
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^ (h >> 32)
}

/// A hasher for keys that hash themselves into one well-mixed u64.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(K);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

pub type IdBuild = BuildHasherDefault<IdHasher>;
pub type KeyMap<V> = HashMap<Key, V, IdBuild>;
