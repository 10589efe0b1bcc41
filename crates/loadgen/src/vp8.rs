//! VP8 over RTP (RFC 7741): the sender's packetizer and the receiver's look at a
//! keyframe's size, which is how a test tells which simulcast layer a branch gets.

/// The largest payload a packet carries (a browser's MTU leaves about this much).
pub const MAX_PAYLOAD: usize = 1100;

/// Splits one frame into RTP payloads, each with a payload descriptor carrying the
/// 15-bit PictureID (`picture_id` is taken modulo 2^15) so that receivers and the
/// forwarder can tell frames apart across loss.
pub fn packetize(frame: &[u8], picture_id: u16) -> Vec<Vec<u8>> {
    let chunk = MAX_PAYLOAD - 4;
    let pid = picture_id & 0x7fff;
    let count = frame.len().div_ceil(chunk).max(1);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let part = &frame[(i * chunk).min(frame.len())..((i + 1) * chunk).min(frame.len())];
        let mut p = Vec::with_capacity(4 + part.len());
        // X=1; S=1 on the first packet of the frame, partition index 0.
        p.push(0x80 | if i == 0 { 0x10 } else { 0 });
        // I=1: a PictureID follows.
        p.push(0x80);
        p.push(0x80 | (pid >> 8) as u8);
        p.push(pid as u8);
        p.extend_from_slice(part);
        out.push(p);
    }
    out
}

/// Whether the payload starts a frame, and the offset of the VP8 data after the
/// payload descriptor; `None` when the descriptor is malformed.
fn descriptor(payload: &[u8]) -> Option<(bool, usize)> {
    let first = *payload.first()?;
    let start = first & 0x10 != 0 && first & 0x07 == 0;
    let mut at = 1;
    if first & 0x80 != 0 {
        let ext = *payload.get(at)?;
        at += 1;
        if ext & 0x80 != 0 {
            let pid = *payload.get(at)?;
            at += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            at += 1;
        }
        if ext & 0x30 != 0 {
            at += 1;
        }
    }
    (at <= payload.len()).then_some((start, at))
}

/// The width and height of a VP8 keyframe (the frame's first bytes), `None` for an
/// interframe or anything that is not a keyframe header.
pub fn keyframe_size(frame: &[u8]) -> Option<(u16, u16)> {
    if frame.len() < 10 || frame[0] & 0x01 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let h = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((w, h))
}

/// The size of the keyframe an RTP payload starts, if it starts one.
pub fn payload_keyframe_size(payload: &[u8]) -> Option<(u16, u16)> {
    let (start, at) = descriptor(payload)?;
    if !start {
        return None;
    }
    keyframe_size(&payload[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = &[0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, 0xff];

    #[test]
    fn keyframe_header() {
        assert_eq!(keyframe_size(KEY), Some((640, 360)));
        let mut inter = KEY.to_vec();
        inter[0] |= 1;
        assert_eq!(keyframe_size(&inter), None);
        assert_eq!(keyframe_size(&KEY[..8]), None);
    }

    #[test]
    fn packets_carry_descriptor_and_split() {
        let frame: Vec<u8> = KEY.iter().copied().chain(std::iter::repeat_n(7, 3000)).collect();
        let packets = packetize(&frame, 0x8123);
        assert_eq!(packets.len(), 3);
        assert!(packets.iter().all(|p| p.len() <= MAX_PAYLOAD));
        assert_eq!(&packets[0][..4], &[0x90, 0x80, 0x81, 0x23]);
        assert_eq!(packets[1][0], 0x80);
        let joined: Vec<u8> = packets.iter().flat_map(|p| p[4..].to_vec()).collect();
        assert_eq!(joined, frame);
        assert_eq!(payload_keyframe_size(&packets[0]), Some((640, 360)));
        assert_eq!(payload_keyframe_size(&packets[1]), None);
    }
}
