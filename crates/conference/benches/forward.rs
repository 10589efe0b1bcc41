//! The media core's own cost per forwarded packet, without sockets or a network: one
//! main venue sends a 1.5 Mbps picture (VP8-shaped frames, a keyframe every 3 s) and
//! 50 kbps of sound to N branch venues, all in memory with simulated time. Only the
//! time spent inside the core is counted, so the figure is the forwarding path alone
//! (str0m's SRTP, RTP and RTCP work included); what the sockets cost comes on top and
//! is measured end to end by the meetings benchmark of the `grassroots` crate.
//!
//!     cargo bench -p conference --bench forward -- [RECEIVERS] [SECONDS] [THREADS]
//!
//! THREADS is how many threads poll the receivers (default: the machine's cores but one).
//! Both the core's wall time and the process's CPU time are given: threads cut the
//! first, never the second.
//!
//! Receivers take part in the handshake and then stop reading (their feedback is not
//! what is measured), so the core sends as it would to venues that are all well.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use conference::core::{Core, Input, MeetingId, Output};
use conference::meeting::VenueId;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::{Candidate, Rtc};

const MEETING: MeetingId = MeetingId(1);

struct Venue {
    addr: SocketAddr,
    rtc: Rtc,
    audio: Mid,
    video: Mid,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let receivers: i64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(300);
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let threads: Option<usize> = args.get(2).and_then(|a| a.parse().ok());
    let core_addr: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    let mut now = Instant::now();
    let mut core = Core::new(core_addr);
    if let Some(t) = threads {
        core.set_polling(t, conference::core::PEERS_PER_THREAD);
    }
    let ids: Vec<VenueId> = (2..2 + receivers).map(VenueId).collect();
    core.open_meeting(MEETING, VenueId(1), &ids);
    let mut venues = Vec::new();
    for id in std::iter::once(VenueId(1)).chain(ids.iter().copied()) {
        let addr: SocketAddr = format!("127.0.{}.{}:{}", id.0 / 250, 1 + id.0 % 250, 6000).parse().unwrap();
        let mut rtc = Rtc::builder().build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut api = rtc.sdp_api();
        let audio = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let video = api.add_media(MediaKind::Video, Direction::SendRecv, None, None, None);
        api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        let (offer, pending) = api.apply().unwrap();
        let answer = core.join(now, MEETING, id, &offer.to_sdp_string(), 0).expect("joined");
        rtc.sdp_api().accept_answer(pending, str0m::change::SdpAnswer::from_sdp_string(&answer).unwrap()).unwrap();
        venues.push(Venue { addr, rtc, audio, video });
    }
    let by_addr: std::collections::HashMap<SocketAddr, usize> = venues.iter().enumerate().map(|(i, v)| (v.addr, i)).collect();

    // Connect everyone (simulated time, 1 ms steps), then measure.
    let mut in_core = Duration::ZERO;
    let mut forwarded = 0u64;
    let mut received_by_core = 0u64;
    let warmup = 3_000;
    let total = warmup + seconds * 1000;
    let mut frame = 0u64;
    let mut cpu_at_start = Duration::ZERO;
    let mut to_core: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
    let mut out: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
    for step in 0..total {
        now += Duration::from_millis(1);
        let measuring = step >= warmup;
        if step == warmup {
            cpu_at_start = process_cpu();
        }
        to_core.clear();
        for (i, v) in venues.iter_mut().enumerate() {
            if i == 0 && step >= 1_000 {
                if step % 33 == 0 {
                    frame += 1;
                    // 1.5 Mbps at 30 frames a second; a keyframe (5x) every 90 frames.
                    let key = frame % 90 == 1;
                    let size = if key { 25_000 } else { 5_800 };
                    let mut data = vec![frame as u8; size];
                    data[0] = if key { 0 } else { 1 };
                    write(&mut v.rtc, v.video, now, data, step, Frequency::NINETY_KHZ);
                }
                if step % 20 == 0 {
                    write(&mut v.rtc, v.audio, now, vec![7; 120], step, Frequency::FORTY_EIGHT_KHZ);
                }
            }
            if i > 0 && measuring {
                continue;
            }
            let _ = v.rtc.handle_input(str0m::Input::Timeout(now));
            while let Ok(out) = v.rtc.poll_output() {
                match out {
                    str0m::Output::Timeout(_) => break,
                    str0m::Output::Transmit(t) => to_core.push((t.source, t.contents.into())),
                    str0m::Output::Event(_) => {}
                }
            }
        }
        out.clear();
        let started = Instant::now();
        for (source, bytes) in &to_core {
            core.handle_input(Input::Datagram { now, source: *source, bytes });
            received_by_core += u64::from(measuring);
            drain(&mut core, now, &mut out);
        }
        core.handle_input(Input::Timeout(now));
        drain(&mut core, now, &mut out);
        if measuring {
            in_core += started.elapsed();
        }
        for (dest, bytes) in out.drain(..) {
            let Some(&i) = by_addr.get(&dest) else { continue };
            if i > 0 && measuring {
                // Media to a receiver: counted, not read.
                forwarded += u64::from(is_media(&bytes));
                continue;
            }
            let v = &mut venues[i];
            let receive = str0m::net::Receive { proto: str0m::net::Protocol::Udp, source: core_addr, destination: dest, contents: bytes.as_slice().try_into().unwrap() };
            let _ = v.rtc.handle_input(str0m::Input::Receive(now, receive));
        }
    }
    let cpu = process_cpu().saturating_sub(cpu_at_start);
    println!("receivers {receivers}, {seconds} s simulated, threads {}", threads.map_or("default".to_owned(), |t| t.to_string()));
    println!("datagrams into the core {received_by_core}, media datagrams out {forwarded}");
    println!("process CPU {:.3} s = {:.2} µs per forwarded packet (the main venue's own work included)", cpu.as_secs_f64(), cpu.as_secs_f64() * 1e6 / forwarded.max(1) as f64);
    println!("time in the core {:.3} s = {:.2} µs per forwarded packet", in_core.as_secs_f64(), in_core.as_secs_f64() * 1e6 / forwarded.max(1) as f64);
}

/// Whether a datagram is an RTP packet of media: not RTCP (told by its second byte,
/// RFC 5761), not a padding probe (its P bit), read off the header SRTP leaves clear.
fn is_media(b: &[u8]) -> bool {
    b.len() > 12 && (128..192).contains(&b[0]) && !(192..224).contains(&b[1]) && b[0] & 0x20 == 0
}

/// This process's CPU time (user and system, all threads).
fn process_cpu() -> Duration {
    loadgen::server::process_cpu(std::process::id()).expect("this process's CPU time from /proc")
}

fn drain(core: &mut Core, now: Instant, out: &mut Vec<(SocketAddr, Vec<u8>)>) {
    loop {
        match core.poll_output(now) {
            Output::Timeout(_) => return,
            Output::Transmit { destination, bytes } => out.push((destination, bytes)),
            _ => {}
        }
    }
}

fn write(rtc: &mut Rtc, mid: Mid, now: Instant, data: Vec<u8>, step: u64, freq: Frequency) {
    let Some(writer) = rtc.writer(mid) else { return };
    let Some(pt) = writer.payload_params().next().map(|p| p.pt()) else { return };
    let _ = writer.write(pt, now, MediaTime::new(step * freq.get() as u64 / 1000, freq), data);
}
