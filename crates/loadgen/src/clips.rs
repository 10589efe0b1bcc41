//! The media the venues send, made once by ffmpeg and kept in a cache folder: VP8 in
//! IVF per layer (a test picture) and real Opus in Ogg (a tone), both 10 s and looped.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;
use crate::ivf::{self, Clip};

/// How long every clip lasts before it loops.
pub const SECONDS: u32 = 10;
/// The video frame rate of every clip.
pub const FPS: u32 = 30;

/// One VP8 clip to make: its size and bitrate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoSpec {
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Target bitrate in kbit/s.
    pub kbps: u32,
}

/// Opus packets (20 ms each) of a clip.
#[derive(Debug, Clone)]
pub struct Audio {
    /// The packets in order, OpusHead and OpusTags left out.
    pub packets: Vec<Vec<u8>>,
}

fn ffmpeg(args: &[&str], out: &Path) -> Result<(), Error> {
    if out.is_file() {
        return Ok(());
    }
    let tmp = out.with_extension("part");
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(&tmp)
        .status()
        .map_err(|e| Error::Ffmpeg(format!("cannot run ffmpeg ({e}); install it (Debian: apt-get install ffmpeg)")))?;
    if !status.success() {
        return Err(Error::Ffmpeg(format!("ffmpeg failed ({status}) making {}; it needs libvpx and libopus (Debian: apt-get install ffmpeg)", out.display())));
    }
    std::fs::rename(&tmp, out).map_err(|e| Error::Io(format!("{}: {e}", out.display())))
}

/// In every clip's file name: a clip already in the cache is used as it is, so a
/// change to how clips are made (ffmpeg's arguments below) must come with a new one.
const CLIPS_VERSION: u32 = 2;

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}

/// The VP8 clip of `spec`, made in `dir` if it is not there yet.
pub fn video(dir: &Path, spec: VideoSpec) -> Result<Clip, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
    let path: PathBuf = dir.join(format!("vp8-{}x{}-{}k-v{CLIPS_VERSION}.ivf", spec.width, spec.height, spec.kbps));
    let source = format!("testsrc2=size={}x{}:rate={FPS}", spec.width, spec.height);
    let (rate, gop) = (format!("{}k", spec.kbps), (SECONDS * FPS).to_string());
    let secs = SECONDS.to_string();
    // One keyframe at the start of the loop, as a browser sends none unasked; no
    // alternate reference frames, which a real-time encoder does not make either.
    #[rustfmt::skip]
    let args = ["-f", "lavfi", "-i", &source, "-t", &secs, "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
        "-b:v", &rate, "-qmin", "2", "-qmax", "63", "-maxrate", &rate, "-minrate", &rate, "-g", &gop, "-auto-alt-ref", "0", "-lag-in-frames", "0", "-f", "ivf"];
    ffmpeg(&args, &path)?;
    ivf::parse(&read(&path)?, &path.display().to_string())
}

/// The Opus clip at `kbps`, made in `dir` if it is not there yet.
pub fn audio(dir: &Path, kbps: u32) -> Result<Audio, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
    let path = dir.join(format!("opus-{kbps}k-v{CLIPS_VERSION}.ogg"));
    let (rate, secs) = (format!("{kbps}k"), SECONDS.to_string());
    #[rustfmt::skip]
    let args = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", &secs, "-c:a", "libopus", "-b:a", &rate,
        "-vbr", "off", "-frame_duration", "20", "-application", "voip", "-ac", "1", "-f", "ogg"];
    ffmpeg(&args, &path)?;
    let bytes = read(&path)?;
    let mut reader = ogg::reading::PacketReader::new(std::io::Cursor::new(bytes));
    let mut packets = Vec::new();
    loop {
        match reader.read_packet() {
            Ok(Some(p)) => packets.push(p.data),
            Ok(None) => break,
            Err(e) => return Err(Error::Clip(format!("{}: {e}", path.display()))),
        }
    }
    // The first two packets are the Opus headers, not audio.
    let packets: Vec<Vec<u8>> = packets.into_iter().skip(2).filter(|p| !p.is_empty()).collect();
    if packets.is_empty() {
        return Err(Error::Clip(format!("{}: no Opus packets", path.display())));
    }
    Ok(Audio { packets })
}
