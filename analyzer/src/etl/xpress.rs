//! MS-XCA "Plain LZ77" (XPRESS, `COMPRESSION_FORMAT_XPRESS` = 3): decoder and encoder.
//!
//! PktMon's relogged `.etl` files store every 16 MiB trace buffer compressed with this
//! format (see `shared/docs/pktmon-etl-and-text-formats.md` §1.2). The format is
//! specified in [MS-XCA] §2.3 (compression) and §2.4 (decompression):
//!
//! - a 32-bit little-endian flag word precedes each group of 32 symbols; its bits are
//!   consumed most significant first;
//! - a `0` bit is one literal byte;
//! - a `1` bit is a little-endian `u16` match token: `length = token & 7`,
//!   `offset = (token >> 3) + 1` (1..=8192);
//! - if `length == 7`, the length continues in a 4-bit "half byte": the low nibble of a
//!   fresh byte the first time, the high nibble of that same byte the next time (the
//!   byte is shared by two long matches); a nibble of 15 continues in one byte; a byte of
//!   255 continues in a `u16`, and a `u16` of 0 in a `u32` (these two hold the whole
//!   length minus 3); finally 3 is added.
//!
//! The stream carries no length: the caller knows how many bytes it decompresses to
//! (for ETL: `SavedOffset - 0x48`), and decoding stops as soon as that many bytes
//! are produced, wherever that falls among the flag bits.
//!
//! Hostile input cannot make the decoder panic, loop, or allocate more than
//! `expected_len` bytes of output; every malformed stream is an [`XpressError`] that
//! says where in the input and the output the problem was found.

use std::fmt;

/// Largest match offset the format can express (13 bits, plus one).
const MAX_OFFSET: usize = 1 << 13;
/// Shortest match the format can express.
const MIN_MATCH: usize = 3;

/// Why a compressed stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XpressError {
    /// Offset in the compressed input of the item at fault (the flag word, match
    /// token or length bytes), or the input length when the input ran out.
    pub input_offset: usize,
    /// Bytes of output produced when the problem was found.
    pub output_offset: usize,
    /// What went wrong.
    pub kind: XpressErrorKind,
}

/// The kinds of [`XpressError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XpressErrorKind {
    /// The input ends inside a flag word, a match token or its length bytes.
    TruncatedInput,
    /// A match points further back than the start of the output.
    OffsetBeforeStart,
    /// A match would write past the expected output length (or the expected output
    /// length could not be allocated at all).
    OutputOverrun,
    /// The input ended (cleanly, between symbols) before the expected number of bytes
    /// was produced.
    OutputShort,
}

impl fmt::Display for XpressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (i, o) = (self.input_offset, self.output_offset);
        match self.kind {
            XpressErrorKind::TruncatedInput => write!(
                f,
                "XPRESS data truncated at compressed byte {i}: a flag word, match token or \
                 match length is cut off (after {o} bytes of output)"
            ),
            XpressErrorKind::OffsetBeforeStart => write!(
                f,
                "XPRESS match at compressed byte {i} points before the start of the output \
                 (only {o} bytes are written)"
            ),
            XpressErrorKind::OutputOverrun => write!(
                f,
                "XPRESS match at compressed byte {i} would write past the expected output \
                 length (at output byte {o})"
            ),
            XpressErrorKind::OutputShort => write!(
                f,
                "XPRESS data ends at compressed byte {i} after only {o} bytes of output, \
                 short of the expected length"
            ),
        }
    }
}

impl std::error::Error for XpressError {}

fn error(input_offset: usize, output_offset: usize, kind: XpressErrorKind) -> XpressError {
    XpressError {
        input_offset,
        output_offset,
        kind,
    }
}

/// Decompress `input` into exactly `expected_len` bytes (appended to `out`, which is
/// cleared first).
///
/// Decoding stops as soon as `expected_len` bytes are produced; anything after that
/// point in `input` (normally the rest of the last flag word's padding) is ignored.
/// The output buffer is allocated once, exactly `expected_len` bytes, before decoding:
/// callers that take `expected_len` from untrusted data should bound it first (ETL
/// buffers are at most the log file's `BufferSize`, 16 MiB for PktMon).
///
/// On error, `out` holds the `output_offset` bytes decoded before the fault.
pub fn decompress_into(input: &[u8], expected_len: usize, out: &mut Vec<u8>) -> Result<(), XpressError> {
    // The decoder writes every byte of a successful output, so a reused
    // vector's old bytes need no zeroing (only its new tail is zeroed).
    if out.len() > expected_len {
        out.truncate(expected_len);
    } else if out.try_reserve_exact(expected_len - out.len()).is_err() {
        return Err(error(0, 0, XpressErrorKind::OutputOverrun));
    }
    out.resize(expected_len, 0);
    let result = decode(input, out);
    if let Err(e) = &result {
        out.truncate(e.output_offset);
    }
    result
}

/// Decompress `input` into a new vector of exactly `expected_len` bytes.
pub fn decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>, XpressError> {
    let mut out = Vec::new();
    decompress_into(input, expected_len, &mut out)?;
    Ok(out)
}

/// Read a little-endian `u16` at `at`, or `None` past the end.
#[inline(always)]
fn read_u16(input: &[u8], at: usize) -> Option<u16> {
    let b = input.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

/// Read a little-endian `u32` at `at`, or `None` past the end.
#[inline(always)]
fn read_u32(input: &[u8], at: usize) -> Option<u32> {
    let b = input.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The decoder proper: fills all of `out` from `input` (MS-XCA 2.4.4).
fn decode(input: &[u8], out: &mut [u8]) -> Result<(), XpressError> {
    use XpressErrorKind::*;
    let n = input.len();
    let end = out.len();
    let mut ip = 0usize;
    let mut op = 0usize;
    // Input position of the byte whose high nibble the next long match uses; 0 = none
    // (position 0 always holds a flag word, so it can never be a length byte).
    let mut nibble_at = 0usize;

    while op < end {
        // Flag word.
        let Some(word) = read_u32(input, ip) else {
            let kind = if ip >= n { OutputShort } else { TruncatedInput };
            return Err(error(ip.min(n), op, kind));
        };
        ip += 4;
        // Unconsumed flag bits, the next one in the most significant position.
        let mut flags = word;
        let mut bits: u32 = 32;
        loop {
            // A run of literals: every leading 0 bit (bounded by the bits left).
            let lits = flags.leading_zeros().min(bits);
            if lits > 0 {
                let want = (lits as usize).min(end - op);
                let have = want.min(n - ip);
                if have == want && n - ip >= 32 && end - op >= 32 {
                    // Fixed-size copy; bytes past `want` are rewritten later.
                    out[op..op + 32].copy_from_slice(&input[ip..ip + 32]);
                } else {
                    out[op..op + have].copy_from_slice(&input[ip..ip + have]);
                }
                ip += have;
                op += have;
                if op == end {
                    return Ok(());
                }
                if have < want {
                    return Err(error(ip, op, OutputShort));
                }
                bits -= lits;
                if bits == 0 {
                    break;
                }
                flags <<= lits;
            }

            // A match (the top bit of `flags` is 1).
            flags <<= 1;
            bits -= 1;
            let at = ip;
            let Some(token) = read_u16(input, ip) else {
                // Input ending exactly at a match flag is the format's own end marker.
                let kind = if ip >= n { OutputShort } else { TruncatedInput };
                return Err(error(ip.min(n), op, kind));
            };
            ip += 2;
            let offset = usize::from(token >> 3) + 1;
            let mut len = usize::from(token & 7);
            if len == 7 {
                if nibble_at == 0 {
                    let Some(&b) = input.get(ip) else {
                        return Err(error(at, op, TruncatedInput));
                    };
                    len = usize::from(b & 15);
                    nibble_at = ip;
                    ip += 1;
                } else {
                    len = usize::from(input[nibble_at] >> 4);
                    nibble_at = 0;
                }
                if len == 15 {
                    let Some(&b) = input.get(ip) else {
                        return Err(error(at, op, TruncatedInput));
                    };
                    ip += 1;
                    len = usize::from(b);
                    if len == 255 {
                        let Some(w) = read_u16(input, ip) else {
                            return Err(error(at, op, TruncatedInput));
                        };
                        ip += 2;
                        len = usize::from(w);
                        if len == 0 {
                            let Some(d) = read_u32(input, ip) else {
                                return Err(error(at, op, TruncatedInput));
                            };
                            ip += 4;
                            // Cannot fail on 32- or 64-bit targets; saturate elsewhere.
                            len = usize::try_from(d).unwrap_or(usize::MAX);
                        }
                        // The u16/u32 forms hold the whole length minus 3. (MS-XCA calls
                        // a value below 22 invalid; it is accepted here as written.)
                    } else {
                        len += 15 + 7;
                    }
                } else {
                    len += 7;
                }
            }
            let len = len.saturating_add(MIN_MATCH);
            if offset > op {
                return Err(error(at, op, OffsetBeforeStart));
            }
            if len > end - op {
                return Err(error(at, op, OutputOverrun));
            }
            let src = op - offset;
            if offset >= len {
                // No overlap: one memmove (fixed-size when there is room).
                if len <= 16 && end - op >= 16 {
                    out.copy_within(src..src + 16, op);
                } else {
                    out.copy_within(src..src + len, op);
                }
            } else if offset == 1 {
                let b = out[src];
                out[op..op + len].fill(b);
            } else {
                // Overlapping: the copied region repeats with period `offset`, so copy
                // from `src` in chunks as long as everything written so far.
                let mut done = 0;
                while done < len {
                    let chunk = (offset + done).min(len - done);
                    out.copy_within(src..src + chunk, op + done);
                    done += chunk;
                }
            }
            op += len;
            if op == end {
                return Ok(());
            }
            if bits == 0 {
                break;
            }
        }
    }
    Ok(())
}

/// Hash-table size (log2) of the encoder.
const HASH_BITS: u32 = 15;
/// Longest hash chain the encoder follows per position.
const MAX_CHAIN: usize = 16;
/// Longest match the encoder writes (the u32 escape holds the length minus 3).
const MAX_LEN: usize = u32::MAX as usize;
/// A match this long is taken without looking further.
const NICE_LEN: usize = 256;

#[inline(always)]
fn hash4(input: &[u8], at: usize) -> usize {
    let v = u32::from_le_bytes([input[at], input[at + 1], input[at + 2], input[at + 3]]);
    (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

/// Length of the common prefix of `input[a..]` and `input[b..]` (`a < b`), at most
/// `max` bytes (`b + max <= input.len()`).
#[inline(always)]
fn common_len(input: &[u8], a: usize, b: usize, max: usize) -> usize {
    let mut l = 0;
    while l + 8 <= max {
        let x = u64::from_le_bytes(input[a + l..a + l + 8].try_into().unwrap_or([0; 8]));
        let y = u64::from_le_bytes(input[b + l..b + l + 8].try_into().unwrap_or([0; 8]));
        let d = x ^ y;
        if d != 0 {
            return l + (d.trailing_zeros() / 8) as usize;
        }
        l += 8;
    }
    while l < max && input[a + l] == input[b + l] {
        l += 1;
    }
    l
}

/// Writes the symbol stream: flag words reserved in place and patched, shared length
/// nibbles, length escapes (MS-XCA 2.3.4).
struct Writer {
    out: Vec<u8>,
    flags: u32,
    flag_count: u32,
    flag_pos: usize,
    /// Output position of the byte whose high nibble is still free; 0 = none.
    nibble_at: usize,
}

impl Writer {
    fn new(capacity: usize) -> Self {
        let mut out = Vec::with_capacity(capacity);
        out.extend_from_slice(&[0; 4]);
        Writer {
            out,
            flags: 0,
            flag_count: 0,
            flag_pos: 0,
            nibble_at: 0,
        }
    }

    #[inline(always)]
    fn push_flag(&mut self, bit: u32) {
        self.flags = (self.flags << 1) | bit;
        self.flag_count += 1;
        if self.flag_count == 32 {
            self.out[self.flag_pos..self.flag_pos + 4].copy_from_slice(&self.flags.to_le_bytes());
            self.flag_pos = self.out.len();
            self.out.extend_from_slice(&[0; 4]);
            self.flags = 0;
            self.flag_count = 0;
        }
    }

    #[inline(always)]
    fn literal(&mut self, b: u8) {
        self.out.push(b);
        self.push_flag(0);
    }

    /// A match of `len` (>= 3) bytes, `offset` (1..=8192) bytes back.
    fn matched(&mut self, offset: usize, len: usize) {
        let off_bits = ((offset - 1) as u16) << 3;
        let l = len - MIN_MATCH;
        if l < 7 {
            self.out.extend_from_slice(&(off_bits | l as u16).to_le_bytes());
        } else {
            self.out.extend_from_slice(&(off_bits | 7).to_le_bytes());
            let rest = l - 7;
            let nibble = rest.min(15) as u8;
            if self.nibble_at == 0 {
                self.nibble_at = self.out.len();
                self.out.push(nibble);
            } else {
                self.out[self.nibble_at] |= nibble << 4;
                self.nibble_at = 0;
            }
            if rest >= 15 {
                let rest = rest - 15;
                if rest < 255 {
                    self.out.push(rest as u8);
                } else {
                    self.out.push(255);
                    // The u16/u32 forms hold the whole length minus 3.
                    if l <= 0xFFFF {
                        self.out.extend_from_slice(&(l as u16).to_le_bytes());
                    } else {
                        self.out.extend_from_slice(&[0, 0]);
                        self.out.extend_from_slice(&(l as u32).to_le_bytes());
                    }
                }
            }
        }
        self.push_flag(1);
    }

    /// Pad the last flag word with 1 bits and return the stream.
    fn finish(mut self) -> Vec<u8> {
        let free = 32 - self.flag_count;
        let word = ((u64::from(self.flags) << free) | ((1u64 << free) - 1)) as u32;
        self.out[self.flag_pos..self.flag_pos + 4].copy_from_slice(&word.to_le_bytes());
        self.out
    }
}

/// Compress `input` with plain LZ77 (greedy, hash chains over a 8 KiB window).
///
/// The result decodes with [`decompress`] (and Windows' `RtlDecompressBuffer`) given
/// `input.len()` as the expected length. Inputs longer than 4 GiB are split into
/// several matches/literals as usual; no length limit applies.
pub fn compress(input: &[u8]) -> Vec<u8> {
    let n = input.len();
    let mut w = Writer::new(n + n / 8 + 16);
    let mut head = vec![usize::MAX; 1 << HASH_BITS];
    let mut prev = vec![usize::MAX; MAX_OFFSET];
    let mask = MAX_OFFSET - 1;
    let mut pos = 0usize;

    while pos < n {
        let mut best_len = 0usize;
        let mut best_off = 0usize;
        if n - pos >= 4 {
            let h = hash4(input, pos);
            let max = (n - pos).min(MAX_LEN);
            let mut cand = head[h];
            let mut depth = 0;
            while cand < pos && pos - cand <= MAX_OFFSET && depth < MAX_CHAIN {
                // Cheap rejection: it must at least beat the best so far at its end.
                if input[cand + best_len.min(max - 1)] == input[pos + best_len.min(max - 1)] {
                    let l = common_len(input, cand, pos, max);
                    if l > best_len {
                        best_len = l;
                        best_off = pos - cand;
                        if l >= NICE_LEN.min(max) {
                            break;
                        }
                    }
                }
                let next = prev[cand & mask];
                if next >= cand {
                    break;
                }
                cand = next;
                depth += 1;
            }
            prev[pos & mask] = head[h];
            head[h] = pos;
        }

        if best_len >= MIN_MATCH {
            w.matched(best_off, best_len);
            // Index the positions the match covers.
            let stop = (pos + best_len).min(n.saturating_sub(3));
            for p in pos + 1..stop {
                let h = hash4(input, p);
                prev[p & mask] = head[h];
                head[h] = p;
            }
            pos += best_len;
        } else {
            w.literal(input[pos]);
            pos += 1;
        }
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    /// Tiny xorshift64* generator.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    /// MS-XCA 2.4.4 transcribed literally (one byte at a time, no fast paths), stopping
    /// once `expected` bytes are produced: the oracle for the fast decoder.
    fn reference(input: &[u8], expected: usize) -> Option<Vec<u8>> {
        let byte = |at: usize| input.get(at).map(|&b| usize::from(b));
        let word = |at: usize| Some(byte(at)? | byte(at + 1)? << 8);
        let mut out = Vec::new();
        let (mut ip, mut flags, mut count, mut half) = (0usize, 0usize, 0u32, 0usize);
        loop {
            if out.len() == expected {
                return Some(out);
            }
            if count == 0 {
                flags = word(ip)? | word(ip + 2)? << 16;
                ip += 4;
                count = 32;
            }
            count -= 1;
            if flags & (1 << count) == 0 {
                out.push(byte(ip)? as u8);
                ip += 1;
                continue;
            }
            let token = word(ip)?;
            ip += 2;
            let offset = (token >> 3) + 1;
            let mut len = token % 8;
            if len == 7 {
                if half == 0 {
                    len = byte(ip)? % 16;
                    half = ip;
                    ip += 1;
                } else {
                    len = byte(half)? / 16;
                    half = 0;
                }
                if len == 15 {
                    len = byte(ip)?;
                    ip += 1;
                    if len == 255 {
                        len = word(ip)?;
                        ip += 2;
                        if len == 0 {
                            len = word(ip)? | word(ip + 2)? << 16;
                            ip += 4;
                        }
                        len = len.wrapping_sub(15 + 7);
                    }
                    len = len.wrapping_add(15);
                }
                len = len.wrapping_add(7);
            }
            len = len.wrapping_add(3);
            if offset > out.len() || len > expected - out.len() {
                return None;
            }
            for _ in 0..len {
                out.push(out[out.len() - offset]);
            }
        }
    }

    fn round_trip(data: &[u8]) -> Vec<u8> {
        let c = compress(data);
        let d = decompress(&c, data.len()).unwrap_or_else(|e| panic!("{e}"));
        assert!(d == data, "round trip of {} bytes differs", data.len());
        c
    }

    /// Packet-capture-like data: records with repeated headers, counters and payloads.
    fn packet_like(rng: &mut Rng, len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len + 2048);
        let hdr: Vec<u8> = rng.bytes(54);
        let mut seq = 0u32;
        while v.len() < len {
            v.extend_from_slice(&(0xA0u16).to_le_bytes());
            v.extend_from_slice(&seq.to_le_bytes());
            v.extend_from_slice(&(rng.next() as u32 & 0xFFF).to_le_bytes());
            v.extend_from_slice(&hdr);
            seq = seq.wrapping_add(1);
            let payload = rng.below(200);
            if rng.below(3) == 0 {
                v.resize(v.len() + payload, 0);
            } else {
                v.extend(rng.bytes(payload / 4));
            }
            while v.len() % 8 != 0 {
                v.push(0);
            }
        }
        v.truncate(len);
        v
    }

    #[test]
    fn empty_and_tiny() {
        assert_eq!(compress(b""), vec![0xff, 0xff, 0xff, 0xff]);
        assert_eq!(decompress(&[], 0).unwrap(), Vec::<u8>::new());
        assert_eq!(decompress(&[0xff, 0xff, 0xff, 0xff], 0).unwrap(), b"");
        round_trip(b"");
        round_trip(b"x");
        round_trip(b"xy");
        round_trip(b"xyz");
        round_trip(b"xyzx");
        round_trip(b"xyzxyz");
    }

    #[test]
    fn spec_example_literals() {
        // [MS-XCA] 3.1: "abcdefghijklmnopqrstuvwxyz" as 26 literals.
        let plain = b"abcdefghijklmnopqrstuvwxyz";
        let mut packed = vec![0x3f, 0x00, 0x00, 0x00];
        packed.extend_from_slice(plain);
        assert_eq!(decompress(&packed, plain.len()).unwrap(), plain);
        assert_eq!(compress(plain), packed);
    }

    #[test]
    fn spec_example_abc_repeated() {
        // [MS-XCA] 3.1: "abc" 100 times: 3 literals, one match (offset 3, length 297).
        let plain = b"abc".repeat(100);
        let packed = [
            0xff, 0xff, 0xff, 0x1f, 0x61, 0x62, 0x63, 0x17, 0x00, 0x0f, 0xff, 0x26, 0x01,
        ];
        assert_eq!(decompress(&packed, 300).unwrap(), plain);
        assert_eq!(compress(&plain), packed);
    }

    #[test]
    fn three_hundred_a() {
        // 'a' then a match at offset 1 of length 299 (299 - 3 = 296 = 0x128 in the u16).
        let plain = vec![b'a'; 300];
        let packed = [0xff, 0xff, 0xff, 0x7f, 0x61, 0x07, 0x00, 0x0f, 0xff, 0x28, 0x01];
        assert_eq!(decompress(&packed, 300).unwrap(), plain);
        assert_eq!(compress(&plain), packed);
    }

    #[test]
    fn shared_length_nibble() {
        // Two long matches share one length byte: low nibble first, high nibble second.
        // 'a', match(1, 3+7+2 = 12), 'b', match(1, 3+7+5 = 15) → "a"*13 + "b"*16.
        let packed = [
            0xff, 0xff, 0xff, 0x5f, // flags 0,1,0,1 then padding
            b'a', 0x07, 0x00, 0x52, // token, shared nibble byte (low 2, high 5)
            b'b', 0x07, 0x00,
        ];
        let mut expect = vec![b'a'; 13];
        expect.extend(vec![b'b'; 16]);
        assert_eq!(decompress(&packed, expect.len()).unwrap(), expect);
        let mut plain = vec![b'a'; 13];
        plain.extend(vec![b'b'; 16]);
        assert_eq!(compress(&plain), packed);
    }

    #[test]
    fn runs_need_every_length_escape() {
        // 10: nibble; 18: nibble; 25: nibble 15 + byte; 300: byte 255 + u16;
        // 70000: u16 0 + u32.
        for &len in &[
            2usize, 3, 4, 9, 10, 11, 18, 24, 25, 26, 100, 276, 277, 278, 300, 65537, 65538, 65539, 70000,
        ] {
            for &period in &[1usize, 2, 3, 7, 64] {
                let plain: Vec<u8> = (0..len).map(|i| (i % period) as u8 + b'A').collect();
                let c = round_trip(&plain);
                if len >= 300 && period <= 7 {
                    assert!(c.len() < 32, "run of {len} (period {period}): {} bytes", c.len());
                }
            }
        }
        // The u32 escape really is used for long runs.
        let c = compress(&[7u8; 70000]);
        assert!(c.windows(7).any(|w| w == [0xff, 0, 0, 0x6c, 0x11, 0x01, 0x00]));
    }

    #[test]
    fn random_and_mixed_round_trips() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for _ in 0..200 {
            let n = rng.below(3000);
            round_trip(&rng.bytes(n));
        }
        // Low-entropy random data: many short, overlapping and long matches.
        for _ in 0..100 {
            let n = rng.below(20000);
            let alphabet = 1 + rng.below(4);
            let v: Vec<u8> = (0..n).map(|_| rng.below(alphabet) as u8).collect();
            round_trip(&v);
        }
        // Far matches around the 8 KiB window edge.
        let block = rng.bytes(8192);
        let mut v = block.clone();
        v.extend_from_slice(&block);
        v.extend(rng.bytes(1));
        v.extend_from_slice(&block);
        round_trip(&v);
        let big = packet_like(&mut rng, 1 << 20);
        let c = round_trip(&big);
        assert!(c.len() < big.len());
    }

    #[test]
    fn ends_anywhere_in_flag_bits() {
        // Output completing at every position within and across flag words, with the
        // input cut right after the last needed symbol (no padding word).
        let mut rng = Rng(77);
        for n in 0..200 {
            let plain = rng.bytes(n);
            let c = compress(&plain);
            // For literal-only data the last needed byte is the last literal.
            let needed = if n == 0 { 0 } else { c.len() };
            assert_eq!(decompress(&c[..needed], n).unwrap(), plain);
            // Cutting just before the final padding-only flag word (n = 32 k) is fine.
            if n > 0 && n % 32 == 0 {
                assert_eq!(c.len() - 4, n + 4 * (n / 32));
                assert_eq!(decompress(&c[..c.len() - 4], n).unwrap(), plain);
            }
        }
    }

    #[test]
    fn errors() {
        use XpressErrorKind::*;
        let plain = b"abc".repeat(100);
        let packed = compress(&plain);

        // Truncated in the middle of the first flag word.
        let e = decompress(&packed[..2], 300).unwrap_err();
        assert_eq!((e.kind, e.input_offset, e.output_offset), (TruncatedInput, 0, 0));
        // Input runs out after the literals, at the match flag.
        let e = decompress(&packed[..7], 300).unwrap_err();
        assert_eq!((e.kind, e.input_offset, e.output_offset), (OutputShort, 7, 3));
        // Cut inside the match token, then inside its length bytes.
        let e = decompress(&packed[..8], 300).unwrap_err();
        assert_eq!((e.kind, e.input_offset, e.output_offset), (TruncatedInput, 7, 3));
        for cut in 9..13 {
            let e = decompress(&packed[..cut], 300).unwrap_err();
            assert_eq!((e.kind, e.input_offset, e.output_offset), (TruncatedInput, 7, 3));
        }
        // Input ends in the literals.
        let e = decompress(&packed[..5], 300).unwrap_err();
        assert_eq!((e.kind, e.input_offset, e.output_offset), (OutputShort, 5, 1));
        // Not enough data: the match overruns a shorter expected length.
        let e = decompress(&packed, 100).unwrap_err();
        assert_eq!((e.kind, e.input_offset, e.output_offset), (OutputOverrun, 7, 3));
        // More expected than encoded: clean end at the padding flags.
        let e = decompress(&packed, 301).unwrap_err();
        assert_eq!((e.kind, e.input_offset, e.output_offset), (OutputShort, 13, 300));
        // Offset before the start: offset 4 after 3 bytes.
        let mut bad = packed.clone();
        bad[7] = (3 << 3) | 7;
        let e = decompress(&bad, 300).unwrap_err();
        assert_eq!((e.kind, e.input_offset, e.output_offset), (OffsetBeforeStart, 7, 3));
        let msg = e.to_string();
        assert!(msg.contains("compressed byte 7") && msg.contains("only 3 bytes"));
        // A match as the very first symbol.
        let e = decompress(&[0, 0, 0, 0x80, 0, 0], 3).unwrap_err();
        assert_eq!((e.kind, e.input_offset, e.output_offset), (OffsetBeforeStart, 4, 0));
        // The u32 escape asking for 4 GiB is an overrun, not an allocation.
        let huge = [
            0xff, 0xff, 0xff, 0x7f, b'a', 0x07, 0x00, 0x0f, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff,
        ];
        let e = decompress(&huge, 1000).unwrap_err();
        assert_eq!((e.kind, e.input_offset, e.output_offset), (OutputOverrun, 5, 1));
        // `out` keeps what was decoded before the fault.
        let mut out = vec![9; 5];
        let e = decompress_into(&packed[..5], 300, &mut out).unwrap_err();
        assert_eq!(e.kind, OutputShort);
        assert_eq!(out, b"a");
        // Trailing input after the output is complete is ignored.
        let mut extra = packed.clone();
        extra.extend_from_slice(&[1, 2, 3]);
        assert_eq!(decompress(&extra, 300).unwrap(), plain);
    }

    #[test]
    fn mutations_never_panic() {
        let mut rng = Rng(0xfeed_f00d);
        let plain = packet_like(&mut rng, 20000);
        let mut long = plain.clone();
        long.extend(vec![0u8; 5000]);
        long.extend(b"abc".repeat(500));
        let packed = compress(&long);
        let mut out = Vec::new();
        for i in 0..2000 {
            let mut m = packed.clone();
            match i % 4 {
                0 => {
                    let cut = rng.below(m.len() + 1);
                    m.truncate(cut);
                }
                1 => {
                    for _ in 0..1 + rng.below(4) {
                        let at = rng.below(m.len());
                        m[at] ^= 1 << rng.below(8);
                    }
                }
                2 => {
                    for _ in 0..1 + rng.below(8) {
                        let at = rng.below(m.len());
                        m[at] = rng.next() as u8;
                    }
                    let cut = rng.below(m.len() + 1);
                    m.truncate(cut);
                }
                _ => {
                    // Flag words only (the first 4 bytes), and a wrong length.
                    m[rng.below(4)] = rng.next() as u8;
                }
            }
            let expected = match rng.below(4) {
                0 => rng.below(long.len() * 2),
                _ => long.len(),
            };
            let oracle = reference(&m, expected);
            match decompress_into(&m, expected, &mut out) {
                Ok(()) => assert_eq!(Some(&out), oracle.as_ref(), "mutation {i}"),
                Err(e) => {
                    assert_eq!(oracle, None, "mutation {i}: {e}");
                    assert_eq!(out.len(), e.output_offset);
                    assert!(e.input_offset <= m.len());
                    assert!(e.output_offset <= expected);
                }
            }
        }
    }

    fn corpus_dir() -> Option<PathBuf> {
        // `../shared/corpus/` relative to the workspace root.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
        if dir.is_dir() {
            Some(dir)
        } else {
            eprintln!(
                "skipping: corpus folder {} (real PktMon .etl files) not found",
                dir.display()
            );
            None
        }
    }

    /// (file name, buffer offset in the file, compressed bytes, decompressed length)
    type CorpusBuffer = (String, usize, Vec<u8>, usize);
    /// A labelled set of (compressed bytes, decompressed length).
    type BufferSet = (String, Vec<(Vec<u8>, usize)>);

    /// Every compressed buffer of every `.etl` file in the corpus, walked as
    /// `BufferSize`-long buffers; those with BufferFlag 0x40 (COMPRESSED) decompress
    /// from `[o + 0x48, o + BufferSize)` into `SavedOffset - 0x48` bytes.
    fn corpus_buffers() -> Option<Vec<CorpusBuffer>> {
        let dir = corpus_dir()?;
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "etl"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no .etl files in {}", dir.display());
        let mut bufs = Vec::new();
        for path in files {
            let data = std::fs::read(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let mut o = 0usize;
            while o < data.len() {
                assert!(data.len() - o >= 0x48, "{name}: short header at {o:#x}");
                let u32_at = |i: usize| u32::from_le_bytes(data[i..i + 4].try_into().unwrap());
                let size = u32_at(o) as usize;
                let saved = u32_at(o + 4) as usize;
                let flag = u16::from_le_bytes([data[o + 0x34], data[o + 0x35]]);
                assert!(size >= 0x48 && o + size <= data.len(), "{name}: bad size at {o:#x}");
                if flag & 0x40 != 0 {
                    assert!(saved >= 0x48, "{name}: bad SavedOffset at {o:#x}");
                    bufs.push((name.clone(), o, data[o + 0x48..o + size].to_vec(), saved - 0x48));
                }
                o += size;
            }
        }
        Some(bufs)
    }

    #[test]
    fn corpus_buffers_decode() {
        let Some(bufs) = corpus_buffers() else { return };
        assert!(!bufs.is_empty(), "no compressed buffers in the corpus");
        let mut out = Vec::new();
        for (name, o, packed, len) in &bufs {
            decompress_into(packed, *len, &mut out).unwrap_or_else(|e| panic!("{name} buffer at {o:#x}: {e}"));
            assert_eq!(out.len(), *len);
            assert!(
                reference(packed, *len).as_ref() == Some(&out),
                "{name} buffer at {o:#x}: differs from the reference decoder"
            );
        }
        eprintln!("decoded {} compressed corpus buffers", bufs.len());
    }

    #[test]
    fn corpus_buffers_recompress() {
        let Some(bufs) = corpus_buffers() else { return };
        for (name, o, packed, len) in &bufs {
            let plain = decompress(packed, *len).unwrap();
            let c = compress(&plain);
            let back =
                decompress(&c, plain.len()).unwrap_or_else(|e| panic!("{name} buffer at {o:#x} recompressed: {e}"));
            assert!(back == plain, "{name} buffer at {o:#x}: recompression differs");
        }
    }

    /// Release-mode throughput: `cargo test --release --lib etl::xpress -- --ignored
    /// --nocapture`.
    #[test]
    #[ignore]
    fn throughput() {
        use std::time::Instant;
        let mut rng = Rng(99);
        let mut sets: Vec<BufferSet> = Vec::new();
        if let Some(bufs) = corpus_buffers() {
            sets.push(("corpus".into(), bufs.into_iter().map(|(_, _, p, l)| (p, l)).collect()));
        }
        let synth = packet_like(&mut rng, 16 << 20);
        sets.push(("synthetic 16 MiB".into(), vec![(compress(&synth), synth.len())]));
        let mut out = Vec::new();
        for (label, bufs) in &sets {
            let total: usize = bufs.iter().map(|b| b.1).sum();
            let packed: usize = bufs.iter().map(|b| b.0.len()).sum();
            let reps = (512usize << 20) / total.max(1) + 1;
            let t = Instant::now();
            for _ in 0..reps {
                for (p, l) in bufs {
                    decompress_into(p, *l, &mut out).unwrap();
                }
            }
            let s = t.elapsed().as_secs_f64();
            let mbs = (total * reps) as f64 / s / 1e6;
            eprintln!(
                "decode {label}: {} buffers, {total} -> from {packed} bytes, {mbs:.0} MB/s output",
                bufs.len()
            );
            let plains: Vec<Vec<u8>> = bufs.iter().map(|(p, l)| decompress(p, *l).unwrap()).collect();
            let creps = (64usize << 20) / total.max(1) + 1;
            let t = Instant::now();
            let mut csize = 0;
            for _ in 0..creps {
                csize = plains.iter().map(|p| compress(p).len()).sum::<usize>();
            }
            let s = t.elapsed().as_secs_f64();
            eprintln!(
                "encode {label}: {:.0} MB/s input, {total} -> {csize} bytes",
                (total * creps) as f64 / s / 1e6
            );
        }
    }
}
