//! The send-time tag: 12 bytes appended to a payload (a 4-byte mark, then the send
//! time in nanoseconds since the Unix epoch, big-endian) for servers that do not
//! forward abs-capture-time. Janus drops the extension and rewrites sequence numbers
//! and timestamps per subscriber, but forwards payload bytes as they came (it rewrites
//! only the VP8 payload descriptor at the front), so a receiver finds the tag at the
//! end. Only the Janus run tags: the Grassroots run sends clean VP8 and Opus.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The tag's length in bytes.
pub const LEN: usize = 12;

const MARK: [u8; 4] = *b"\xf0GRt";

/// The tag for a packet sent at `at`.
pub fn encode(at: SystemTime) -> [u8; LEN] {
    let nanos = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut b = [0; LEN];
    b[..4].copy_from_slice(&MARK);
    b[4..].copy_from_slice(&nanos.to_be_bytes());
    b
}

/// The send time in a tagged payload's last bytes, if it has a tag.
pub fn decode(payload: &[u8]) -> Option<SystemTime> {
    let at = payload.len().checked_sub(LEN)?;
    let tail = &payload[at..];
    if tail[..4] != MARK {
        return None;
    }
    let nanos = u64::from_be_bytes(tail[4..].try_into().ok()?);
    Some(UNIX_EPOCH + Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_at_the_end_of_a_payload() {
        let at = UNIX_EPOCH + Duration::from_nanos(1_790_000_000_123_456_789);
        let mut p = vec![0x90, 0x80, 0x12, 0x34, 1, 2, 3];
        p.extend_from_slice(&encode(at));
        assert_eq!(decode(&p), Some(at));
        // A tag alone is a payload too.
        assert_eq!(decode(&encode(at)), Some(at));
    }

    #[test]
    fn untagged_payloads_have_none() {
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[1; LEN - 1]), None);
        assert_eq!(decode(&[0x90; 100]), None);
        let mut p = encode(SystemTime::now()).to_vec();
        p.push(0);
        assert_eq!(decode(&p), None, "the tag must be last");
    }

    #[test]
    fn a_tag_appended_now_reads_now() {
        let before = SystemTime::now();
        let mut p = vec![7; 50];
        p.extend_from_slice(&encode(SystemTime::now()));
        assert_eq!(p.len(), 50 + LEN);
        let at = decode(&p).expect("tagged");
        assert!(at >= before && at <= SystemTime::now());
    }
}
