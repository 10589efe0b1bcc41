//! Signaling with our own server, `grassroots serve`: the campaign office's API makes
//! the meeting (`POST /api/v1/meetings`), and each venue opens its link's WebSocket
//! (`/m/TOKEN/ws`), waits for the welcome, sends `{"type":"join","offer":SDP}` and takes
//! the answer, as `meeting.js` does. The socket stays open for as long as the venue is
//! in the meeting: the server drops a venue's media when its socket closes.
//!
//! Another target's signaling goes in a module of its own beside this one, building
//! [`Venue`]s the same way and handing them to the same workers ([`crate::janus`]).

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use str0m::change::SdpAnswer;
use tokio_tungstenite::tungstenite::Message;

use crate::Error;
use crate::venue::{Lines, Sending, Venue};

/// The campaign office's side of the API, by bearer token.
#[derive(Debug, Clone)]
pub struct Office {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// A meeting as the API returns it (the fields the generator needs).
#[derive(Debug, Clone, Deserialize)]
pub struct Meeting {
    /// Its id.
    pub id: i64,
    /// The chair's join token, which opens the main venue with the chair's rights.
    pub chair_token: String,
    /// Its venues.
    pub venues: Vec<MeetingVenue>,
}

/// A venue of a [`Meeting`].
#[derive(Debug, Clone, Deserialize)]
pub struct MeetingVenue {
    /// Its id.
    pub id: i64,
    /// Its unit's code.
    pub unit: String,
    /// Whether it is the main venue.
    pub main: bool,
    /// Its join token.
    pub token: String,
}

/// One venue to connect: which it is and the link it joins by.
#[derive(Debug, Clone)]
pub struct Seat {
    /// The venue's id.
    pub venue: i64,
    /// Whether it is the main venue (joined with the chair's token).
    pub main: bool,
    /// The WebSocket URL.
    pub url: String,
}

fn http_err(what: &str) -> impl Fn(reqwest::Error) -> Error + '_ {
    move |e| Error::Signaling(format!("{what}: {e}"))
}

impl Office {
    /// The office at `base` (`http://127.0.0.1:PORT`) with a bearer `token`.
    pub fn new(base: &str, token: &str) -> Office {
        Office { http: reqwest::Client::new(), base: base.trim_end_matches('/').to_owned(), token: token.to_owned() }
    }

    /// The codes of up to `n` units the office sees, in the API's order.
    pub async fn units(&self, n: usize) -> Result<Vec<String>, Error> {
        let mut codes = Vec::new();
        for page in 1.. {
            let url = format!("{}/api/v1/units?per_page=1000&page={page}", self.base);
            let v: Value = self.http.get(&url).bearer_auth(&self.token).send().await.and_then(|r| r.error_for_status()).map_err(http_err("listing units"))?.json().await.map_err(http_err("listing units"))?;
            let items = v.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
            if items.is_empty() {
                break;
            }
            codes.extend(items.iter().filter_map(|u| u.get("code").and_then(Value::as_str).map(str::to_owned)));
            if codes.len() >= n {
                break;
            }
        }
        codes.truncate(n);
        Ok(codes)
    }

    /// Makes a meeting whose main venue is `units[0]` and branches the rest.
    pub async fn create_meeting(&self, title: &str, units: &[String]) -> Result<Meeting, Error> {
        let (main, branches) = units.split_first().ok_or_else(|| Error::Signaling("a meeting needs a main venue".into()))?;
        let body = json!({ "title": title, "main": main, "branches": "units", "units": branches });
        let r = self.http.post(format!("{}/api/v1/meetings", self.base)).bearer_auth(&self.token).json(&body).send().await.map_err(http_err("creating the meeting"))?;
        if !r.status().is_success() {
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            return Err(Error::Signaling(format!("creating the meeting: {status}: {text}")));
        }
        r.json().await.map_err(http_err("creating the meeting"))
    }

    /// Closes a meeting (its links stop working).
    pub async fn close_meeting(&self, id: i64) -> Result<(), Error> {
        self.http.post(format!("{}/api/v1/meetings/{id}/close", self.base)).bearer_auth(&self.token).send().await.and_then(|r| r.error_for_status()).map_err(http_err("closing the meeting"))?;
        Ok(())
    }

    /// Every venue's seat, the main venue first.
    pub fn seats(&self, m: &Meeting) -> Vec<Seat> {
        let ws = self.base.replacen("http", "ws", 1);
        let mut seats: Vec<Seat> = m
            .venues
            .iter()
            .map(|v| Seat { venue: v.id, main: v.main, url: format!("{ws}/m/{}/ws", if v.main { &m.chair_token } else { &v.token }) })
            .collect();
        seats.sort_by_key(|s| !s.main);
        seats
    }
}

/// The signaling socket of a joined venue.
pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the seat's WebSocket, offers the venue's lines and takes the answer; the venue
/// is then ready for a worker and the socket must be kept open ([`hold`]).
pub async fn join(seat: &Seat, mut venue: Venue, sending: Sending) -> Result<(Venue, Socket), Error> {
    let (mut ws, _) = tokio_tungstenite::connect_async(seat.url.as_str()).await.map_err(|e| Error::Signaling(format!("connecting {}: {e}", seat.url)))?;
    let mut welcomed = false;
    let mut pending = None;
    while let Some(msg) = ws.next().await {
        let msg = msg.map_err(|e| Error::Signaling(format!("venue {}: {e}", seat.venue)))?;
        let Message::Text(text) = msg else { continue };
        let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else { continue };
        match v.get("type").and_then(Value::as_str) {
            Some("welcome") if !welcomed => {
                welcomed = true;
                let lines = if seat.main { Lines::Main } else { Lines::Branch };
                let (offer, p) = venue.offer(lines, sending.clone())?;
                pending = Some(p);
                let join = json!({ "type": "join", "offer": offer.to_sdp_string() });
                ws.send(Message::Text(join.to_string().into())).await.map_err(|e| Error::Signaling(format!("venue {}: {e}", seat.venue)))?;
            }
            Some("answer") => {
                let sdp = v.get("sdp").and_then(Value::as_str).unwrap_or_default();
                let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| Error::Media(format!("venue {}: the answer: {e}", seat.venue)))?;
                let p = pending.take().ok_or_else(|| Error::Signaling("an answer before the offer".into()))?;
                venue.accept_answer(p, answer)?;
                return Ok((venue, ws));
            }
            Some("error") => {
                return Err(Error::Signaling(format!("venue {}: {}", seat.venue, v.get("message").unwrap_or(&Value::Null))));
            }
            Some("closed") => return Err(Error::Signaling(format!("venue {}: the meeting is closed", seat.venue))),
            _ => {}
        }
    }
    Err(Error::Signaling(format!("venue {}: the socket closed before the answer", seat.venue)))
}

/// Keeps a joined venue's socket open (reading the state updates) until `stop` fires
/// or the server closes it, which clears the venue's signaling flag.
pub async fn hold(mut ws: Socket, alive: std::sync::Arc<std::sync::atomic::AtomicBool>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            m = ws.next() => match m {
                Some(Ok(Message::Text(t))) if t.as_str().contains("\"closed\"") => break,
                Some(Ok(_)) => {}
                _ => break,
            },
            _ = stop.changed() => {
                let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
                return;
            }
        }
    }
    alive.store(false, Ordering::Relaxed);
}
