//! IVF, the container ffmpeg writes VP8 into: a 32-byte file header, then frames each
//! behind a 12-byte header (size, timestamp). Small enough to read by hand.

use crate::Error;

/// A VP8 clip in memory, looped by the senders.
#[derive(Debug, Clone)]
pub struct Clip {
    /// Frame width in pixels, from the file header.
    pub width: u16,
    /// Frame height in pixels.
    pub height: u16,
    /// The encoded frames in order; the first is a keyframe.
    pub frames: Vec<Vec<u8>>,
}

impl Clip {
    /// The bitrate the encoder actually reached, in kbit/s at `fps` frames a second
    /// (libvpx in real time falls short of low targets on a detailed picture).
    pub fn kbps(&self, fps: u32) -> f64 {
        let bytes: usize = self.frames.iter().map(Vec::len).sum();
        bytes as f64 * 8.0 * f64::from(fps) / self.frames.len() as f64 / 1000.0
    }
}

/// Reads an IVF file's bytes (`what` names it in errors).
pub fn parse(bytes: &[u8], what: &str) -> Result<Clip, Error> {
    let bad = |why: &str| Error::Clip(format!("{what}: {why}"));
    if bytes.len() < 32 || &bytes[..4] != b"DKIF" {
        return Err(bad("not an IVF file"));
    }
    if &bytes[8..12] != b"VP80" {
        return Err(bad("not VP8"));
    }
    let header_len = u16::from_le_bytes([bytes[6], bytes[7]]) as usize;
    let width = u16::from_le_bytes([bytes[12], bytes[13]]);
    let height = u16::from_le_bytes([bytes[14], bytes[15]]);
    let mut at = header_len.max(32);
    let mut frames = Vec::new();
    while at + 12 <= bytes.len() {
        let size = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        at += 12;
        let frame = bytes.get(at..at + size).ok_or_else(|| bad("truncated frame"))?;
        frames.push(frame.to_vec());
        at += size;
    }
    if frames.is_empty() {
        return Err(bad("no frames"));
    }
    if crate::vp8::keyframe_size(&frames[0]).is_none() {
        return Err(bad("the first frame is not a keyframe"));
    }
    Ok(Clip { width, height, frames })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ivf(frames: &[&[u8]]) -> Vec<u8> {
        let mut b = b"DKIF".to_vec();
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&32u16.to_le_bytes());
        b.extend_from_slice(b"VP80");
        b.extend_from_slice(&320u16.to_le_bytes());
        b.extend_from_slice(&180u16.to_le_bytes());
        b.extend_from_slice(&[0; 16]);
        for (i, f) in frames.iter().enumerate() {
            b.extend_from_slice(&(f.len() as u32).to_le_bytes());
            b.extend_from_slice(&(i as u64).to_le_bytes());
            b.extend_from_slice(f);
        }
        b
    }

    const KEY: &[u8] = &[0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00, 0xff];

    #[test]
    fn frames_and_size() {
        let clip = parse(&ivf(&[KEY, &[1, 2, 3]]), "t").unwrap();
        assert_eq!((clip.width, clip.height), (320, 180));
        assert_eq!(clip.frames, vec![KEY.to_vec(), vec![1, 2, 3]]);
    }

    #[test]
    fn broken_files() {
        assert!(parse(b"nope", "t").is_err());
        let mut b = ivf(&[KEY]);
        b.truncate(b.len() - 2);
        assert!(matches!(parse(&b, "t"), Err(Error::Clip(m)) if m.contains("truncated")));
        assert!(parse(&ivf(&[&[1, 2, 3]]), "t").is_err());
    }
}
