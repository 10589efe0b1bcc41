//! The server under test as a process of its own: started from its binary, its
//! address read from the banner it prints, its CPU time and memory read from /proc
//! (Linux), and killed when dropped so that none is left behind.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::Error;

/// A running server process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// Its HTTP base address, `http://127.0.0.1:PORT`.
    pub base: String,
}

impl ServerProcess {
    /// Starts `program` with `args` and waits (up to two minutes) for a line of its
    /// standard output that names `http://…`; the rest of its output is passed on.
    pub fn start(program: &Path, args: &[&str]) -> Result<ServerProcess, Error> {
        let mut child = Command::new(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::Io(format!("starting {}: {e}", program.display())))?;
        let stdout = child.stdout.take().ok_or_else(|| Error::Io("the server's standard output".into()))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent && let Some(at) = line.find("http://") {
                    let base: String = line[at..].chars().take_while(|c| !c.is_whitespace()).collect();
                    let _ = tx.send(base);
                    sent = true;
                    continue;
                }
                println!("server: {line}");
            }
        });
        let mut server = ServerProcess { child, base: String::new() };
        server.base = rx.recv_timeout(Duration::from_secs(120)).map_err(|_| Error::Io("the server did not say where it listens".into()))?;
        Ok(server)
    }

    /// A fresh demo database in `dir` (made by `program demo`), an office token for it,
    /// and `program serve` on it with its media on a free loopback port.
    pub fn demo(program: &Path, dir: &Path) -> Result<(ServerProcess, String), Error> {
        let run = |args: &[&str]| -> Result<String, Error> {
            let out = Command::new(program).args(args).output().map_err(|e| Error::Io(format!("running {}: {e}", program.display())))?;
            if !out.status.success() {
                return Err(Error::Io(format!("{} {} failed: {}", program.display(), args.join(" "), String::from_utf8_lossy(&out.stderr))));
            }
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        };
        let db = dir.join("meetings.db");
        let db = db.to_str().ok_or_else(|| Error::Io(format!("{} is not UTF-8", db.display())))?;
        run(&["demo", "--no-serve", "--file", db])?;
        let url = format!("sqlite://{db}");
        let token = run(&["--db", &url, "user", "token", "office"])?;
        if token.is_empty() {
            return Err(Error::Io("no office token printed".into()));
        }
        let server = ServerProcess::start(program, &["--db", &url, "serve", "--listen", "127.0.0.1:0", "--media", "127.0.0.1:0"])?;
        Ok((server, token))
    }
}

/// A process whose CPU and memory a run reads: our server or Janus.
pub trait Measured {
    /// Its process id.
    fn pid(&self) -> u32;

    /// Its CPU time (user and system) so far.
    fn cpu(&self) -> Result<Duration, Error> {
        process_cpu(self.pid())
    }

    /// Its memory now.
    fn memory(&self) -> Result<Memory, Error> {
        process_memory(self.pid())
    }
}

impl Measured for ServerProcess {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process's resident memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// VmRSS in bytes.
    pub rss: u64,
    /// VmHWM (the peak RSS) in bytes.
    pub peak: u64,
}

/// User and system CPU time of process `pid` (from /proc/PID/stat, in clock ticks of
/// 1/100 s, which is what Linux reports to user space on every common platform).
pub fn process_cpu(pid: u32) -> Result<Duration, Error> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| Error::Io(format!("/proc/{pid}/stat: {e}")))?;
    parse_cpu(&stat).ok_or_else(|| Error::Io(format!("/proc/{pid}/stat: unreadable")))
}

fn parse_cpu(stat: &str) -> Option<Duration> {
    // The command name (field 2) may hold spaces: count fields after its ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// VmRSS and VmHWM of process `pid` (from /proc/PID/status).
pub fn process_memory(pid: u32) -> Result<Memory, Error> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| Error::Io(format!("/proc/{pid}/status: {e}")))?;
    let kb = |key: &str| -> u64 {
        status.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0) * 1024
    };
    Ok(Memory { rss: kb("VmRSS:"), peak: kb("VmHWM:") })
}

/// Datagrams the kernel dropped because a socket's receive buffer was full, from
/// /proc/net/udp (cumulative per open socket): (sockets bound to one of `ports`, all
/// other UDP sockets on 127.0.0.1). Tells whether the server's socket or the venues'
/// overflowed.
pub fn udp_drops(ports: &std::collections::HashSet<u16>) -> (u64, u64) {
    let Ok(text) = std::fs::read_to_string("/proc/net/udp") else { return (0, 0) };
    let (mut ours, mut others) = (0, 0);
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(drops)) = (f.get(1), f.last()) else { continue };
        let Some((ip, port)) = local.split_once(':') else { continue };
        let (Ok(port), Ok(drops)) = (u16::from_str_radix(port, 16), drops.parse::<u64>()) else { continue };
        if ip != "0100007F" {
            continue;
        }
        if ports.contains(&port) {
            ours += drops;
        } else {
            others += drops;
        }
    }
    (ours, others)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_fields_after_the_name() {
        let stat = "42 (grass roots) S 1 42 42 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 8 0 1 1 1";
        assert_eq!(super::parse_cpu(stat), Some(std::time::Duration::from_secs(3)));
    }
}
