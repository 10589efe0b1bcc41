//! Live meetings in the web application: the campaign office creates them (pages and
//! API), every venue opens its own link (`/m/TOKEN`, no account needed: the token is the
//! credential, good for one venue of one open meeting), and a WebSocket per venue carries
//! the signaling (offer and answer), the meeting's state as it changes, the venue's
//! sign-in and raised hand, and the chair's commands. The media go to the media server
//! (`conference`), never through here.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use conference::core::MeetingId;
use conference::driver::Request;
use conference::meeting::{Command, Meeting, VenueId};
use domain::Action;
use serde::Deserialize;
use serde_json::{Value, json};
use store::{Account, AgendaItem, Branches, MeetingInput, MeetingView, Pass, Place};

use crate::auth::{PageViewer, Viewer};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::render::{self, ShowErr, Shown};
use crate::requests::now;
use crate::units::today;
use crate::Shared;

/// This module's own words (see `i18n`).
pub(crate) static MESSAGES: crate::i18n::Messages = &[
    ("mt_agenda", "议程（每行：发言人 | 题目）", "Agenda (one item a line: speaker | title)"),
    ("mt_branches", "分会场", "Branch venues"),
    ("mt_branches_help", "单位代码，每行一个；或选择“每个市”“每个县”并填区划代码", "Unit codes, one a line; or choose every city or county and give the division"),
    ("mt_chair", "主持人链接", "Chair's link"),
    ("mt_close", "结束会议", "Close the meeting"),
    ("mt_closed", "会议已结束", "The meeting is closed"),
    ("mt_every_city", "每个市（州）", "Every city"),
    ("mt_every_county", "每个县（市、区）", "Every county"),
    ("mt_floor", "发言", "Give the floor"),
    ("mt_hand", "申请发言", "Ask to speak"),
    ("mt_hands", "申请发言", "Asking to speak"),
    ("mt_link", "入会链接", "Join link"),
    ("mt_listed", "指定单位", "These units"),
    ("mt_main", "主会场单位代码", "Main venue (unit code)"),
    ("mt_main_hall", "或：主会场为此区划的会议室（区划代码）", "Or: the main venue is this division's hall (division code)"),
    ("mt_meetings", "视频会议", "Meetings"),
    ("mt_mute", "静音", "Mute"),
    ("mt_mute_all", "分会场全部静音", "Mute all branches"),
    ("mt_new", "新建会议", "New meeting"),
    ("mt_present", "在线", "Present"),
    ("mt_release", "结束点名", "End the roll call"),
    ("mt_roll_call", "点名", "Call"),
    ("mt_show", "广播", "Broadcast"),
    ("mt_sign_in", "签到", "Sign in"),
    ("mt_starts", "开始时间", "Starts"),
    ("mt_take_floor", "收回发言", "Take the floor back"),
    ("mt_under", "上级区划代码", "Under division"),
    ("mt_unmute", "取消静音", "Unmute"),
    ("mt_unmute_all", "分会场取消静音", "Unmute all branches"),
    ("mt_venue", "会场", "Venue"),
];

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/meetings", get(list_page).post(create_form))
        .route("/meetings/{id}", get(detail_page))
        .route("/api/v1/meetings", get(list_api).post(create_api))
        .route("/api/v1/meetings/{id}", get(get_api))
        .route("/api/v1/meetings/{id}/close", post(close_api))
        .route("/m/{token}", get(venue_page))
        .route("/m/{token}/ws", get(venue_socket))
}

/// A meeting's state as the venues' pages read it.
pub(crate) fn state_json(m: &Meeting) -> String {
    let venues: serde_json::Map<String, Value> =
        m.venues().iter().map(|(id, s)| (id.0.to_string(), json!({ "presence": s.presence, "headcount": s.headcount, "muted": s.muted }))).collect();
    json!({
        "type": "state",
        "main": m.main().0,
        "program": m.program().0,
        "venues": venues,
        "hands": m.hands().map(|h| h.0).collect::<Vec<_>>(),
        "pictures": m.venues().keys().map(|v| (v.0.to_string(), json!(m.picture_for(*v).map(|p| p.0)))).collect::<serde_json::Map<_, _>>(),
    })
    .to_string()
}

/// A meeting as a form or the API sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct MeetingBody {
    /// Its title.
    title: String,
    /// When it starts.
    #[serde(default)]
    starts_at: String,
    /// The campaign whose coverage the attendance counts in.
    #[serde(default)]
    campaign: String,
    /// The agenda.
    #[serde(default)]
    agenda: Vec<AgendaItem>,
    /// The main venue's unit code (or leave it empty and give `main_hall`).
    #[serde(default)]
    main: String,
    /// The division whose hall is the main venue (the province's, say), instead of a unit.
    #[serde(default)]
    main_hall: String,
    /// `units` (the codes in `units`), `cities` or `counties` (every one under `under`).
    #[serde(default)]
    branches: String,
    /// Branch venue unit codes.
    #[serde(default)]
    units: Vec<String>,
    /// The division whose cities or counties get a venue each.
    #[serde(default)]
    under: String,
}

impl MeetingBody {
    fn input(&self) -> Result<MeetingInput, AppError> {
        let under = || -> Result<i64, AppError> {
            crate::units::division_param("under", &self.under)?.map(|c| c.value()).ok_or_else(|| AppError::field("under", "give the division"))
        };
        let branches = match self.branches.as_str() {
            "cities" => Branches::EveryCity(under()?),
            "counties" => Branches::EveryCounty(under()?),
            _ => Branches::Units(self.units.iter().map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()).collect()),
        };
        let main = match crate::units::division_param("main_hall", &self.main_hall)? {
            Some(code) => Place::Hall(code),
            None if self.main.trim().is_empty() => return Err(AppError::field("main", "give the main venue's unit, or a division for its hall")),
            None => Place::Unit(self.main.trim().to_owned()),
        };
        Ok(MeetingInput { title: self.title.clone(), starts_at: self.starts_at.clone(), campaign: Some(self.campaign.clone()).filter(|c| !c.is_empty()), agenda: self.agenda.clone(), main, branches })
    }
}

async fn create(state: &Shared, viewer: &Viewer, body: &MeetingBody) -> Result<MeetingView, AppError> {
    let input = body.input()?;
    state.as_account(&viewer.account, move |s| s.create_meeting(&input, &mut || crate::auth::new_token(), now())).await
}

/// Creates a meeting with its venues (each with its own join link).
#[utoipa::path(post, path = "/api/v1/meetings", tag = "meetings", request_body = MeetingBody,
    responses((status = 200, body = MeetingView), (status = 422, body = crate::error::ErrorJson), (status = 403, body = crate::error::ErrorJson)))]
async fn create_api(State(state): State<Shared>, viewer: Viewer, Json(body): Json<MeetingBody>) -> Result<Json<MeetingView>, AppError> {
    Ok(Json(create(&state, &viewer, &body).await?))
}

/// Every meeting (the campaign office's).
#[utoipa::path(get, path = "/api/v1/meetings", tag = "meetings", responses((status = 200, body = Vec<MeetingView>), (status = 403, body = crate::error::ErrorJson)))]
async fn list_api(State(state): State<Shared>, viewer: Viewer) -> Result<Json<Vec<MeetingView>>, AppError> {
    let acc = viewer.account;
    Ok(Json(state.as_account(&acc, move |s| s.meetings()).await?))
}

/// One meeting with its venues and their sign-in.
#[utoipa::path(get, path = "/api/v1/meetings/{id}", tag = "meetings", params(("id" = i64, Path)),
    responses((status = 200, body = MeetingView), (status = 404, body = crate::error::ErrorJson)))]
async fn get_api(State(state): State<Shared>, viewer: Viewer, Path(id): Path<i64>) -> Result<Json<MeetingView>, AppError> {
    let acc = viewer.account;
    Ok(Json(state.as_account(&acc, move |s| s.meeting(id)).await?))
}

/// What closing did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Closed {
    /// Held sessions the attendance became.
    sessions: usize,
}

/// Who closes a meeting: the office's account, or the chair's link.
enum Closer {
    Account(Account),
    Chair(String),
}

/// Closes the meeting (its links stop working) and turns the units' venues that signed
/// in into held sessions of its campaign (halls' attendance stays in the record).
async fn close(state: &Shared, meeting: i64, by: Closer) -> Result<usize, AppError> {
    if let Some(media) = &state.media {
        let (tx, rx) = tokio::sync::oneshot::channel();
        media.send(Request::Close { meeting: MeetingId(meeting), reply: Box::new(move |m| drop(tx.send(m))) });
        let _ = rx.await;
    }
    let made = match by {
        Closer::Account(acc) => state.as_account(&acc, move |s| s.close_meeting(meeting, today(), now())).await?,
        Closer::Chair(token) => state.link(token, |l| l.ok_or_else(link_not_found)?.close(today(), now())).await?,
    };
    let _ = state.meeting_states.send((meeting, json!({ "type": "closed" }).to_string()));
    Ok(made)
}

fn link_not_found() -> store::Error {
    store::Error::NotFound { what: "meeting link", key: String::new() }
}

/// Closes a meeting.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/close", tag = "meetings", params(("id" = i64, Path)),
    responses((status = 200, body = Closed), (status = 404, body = crate::error::ErrorJson)))]
async fn close_api(State(state): State<Shared>, viewer: Viewer, Path(id): Path<i64>) -> Result<Json<Closed>, AppError> {
    // Refused (or not found) before the media server is told anything.
    viewer.account.allow(domain::Action::MeetingClose)?;
    state.as_account(&viewer.account, move |s| s.meeting(id)).await?;
    Ok(Json(Closed { sessions: close(&state, id, Closer::Account(viewer.account.clone())).await? }))
}

fn link(m: &MeetingView) -> Vec<Value> {
    m.venues.iter().map(|v| json!({ "name": v.name, "unit": v.unit, "hall": v.hall, "main": v.main, "href": format!("/m/{}", v.token), "headcount": v.headcount, "signed_in": v.signed_in.is_some() })).collect()
}

async fn list_page(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer) -> Result<Response, Shown> {
    let acc = viewer.account.clone();
    let list = state.as_account(&acc, move |s| s.meetings()).await.shown(lang)?;
    let items: Vec<Value> = list.iter().map(|m| json!({ "id": m.id, "title": m.title, "starts_at": m.starts_at, "state": m.state, "venues": m.venues.len() })).collect();
    let ctx = json!({ "title": lang.t("mt_meetings"), "meetings": items, "error": null });
    Ok(render::page(&state, &viewer, lang, "meetings.html", ctx).await?.into_response())
}

#[derive(Debug, Deserialize)]
struct MeetingForm {
    title: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    campaign: String,
    #[serde(default)]
    agenda: String,
    #[serde(default)]
    main: String,
    #[serde(default)]
    main_hall: String,
    #[serde(default)]
    branches: String,
    #[serde(default)]
    units: String,
    #[serde(default)]
    under: String,
}

async fn create_form(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, axum::Form(f): axum::Form<MeetingForm>) -> Result<Response, Shown> {
    let agenda = f
        .agenda
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (speaker, title) = l.split_once('|').unwrap_or(("", l));
            AgendaItem { speaker: speaker.trim().to_owned(), title: title.trim().to_owned() }
        })
        .collect();
    let body = MeetingBody {
        title: f.title,
        starts_at: f.starts_at,
        campaign: f.campaign,
        agenda,
        main: f.main,
        main_hall: f.main_hall,
        branches: f.branches,
        units: f.units.split([',', '\n', ' ']).map(str::to_owned).collect(),
        under: f.under,
    };
    match create(&state, &viewer, &body).await {
        Ok(m) => Ok(Redirect::to(&format!("/meetings/{}", m.id)).into_response()),
        Err(e) if e.status().as_u16() == 422 => {
            let acc = viewer.account.clone();
            let list = state.as_account(&acc, move |s| s.meetings()).await.shown(lang)?;
            let items: Vec<Value> = list.iter().map(|m| json!({ "id": m.id, "title": m.title, "starts_at": m.starts_at, "state": m.state, "venues": m.venues.len() })).collect();
            let ctx = json!({ "title": lang.t("mt_meetings"), "meetings": items, "error": e.public_message() });
            Ok((e.status(), render::page(&state, &viewer, lang, "meetings.html", ctx).await?).into_response())
        }
        Err(e) => Err(Shown(e, lang)),
    }
}

async fn detail_page(State(state): State<Shared>, PageViewer(viewer, lang): PageViewer, Path(id): Path<i64>) -> Result<Response, Shown> {
    let acc = viewer.account.clone();
    let m = state.as_account(&acc, move |s| s.meeting(id)).await.shown(lang)?;
    let ctx = json!({ "title": m.title, "meeting": m, "chair_href": format!("/m/{}", m.chair_token), "links": link(&m) });
    Ok(render::page(&state, &viewer, lang, "meeting.html", ctx).await?.into_response())
}

async fn pass(state: &Shared, token: String) -> Result<Pass, AppError> {
    state.link(token, |l| Ok(l.ok_or_else(link_not_found)?.pass().clone())).await
}

async fn venue_page(State(state): State<Shared>, lang: Lang, Path(token): Path<String>) -> Result<Response, Shown> {
    let p = pass(&state, token).await.shown(lang)?;
    let venue = p.meeting.venues.iter().find(|v| v.id == p.venue).cloned();
    let ctx = json!({
        "title": p.meeting.title,
        "meeting": p.meeting.title,
        "agenda": p.meeting.agenda,
        "venue": venue.as_ref().map(|v| v.name.clone()),
        "main": venue.as_ref().is_some_and(|v| v.main),
        "chair": p.chair,
        "headcount": venue.as_ref().map_or(0, |v| v.headcount),
    });
    render::bare(lang, "venue.html", ctx).map(IntoResponse::into_response)
}

async fn venue_socket(State(state): State<Shared>, Path(token): Path<String>, ws: WebSocketUpgrade) -> Result<Response, AppError> {
    let p = pass(&state, token.clone()).await?;
    Ok(ws.on_upgrade(move |socket| serve_venue(state, p, token, socket)))
}

/// What a venue's page sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum FromVenue {
    /// An SDP offer: join (or rejoin after a drop).
    Join { offer: String },
    /// Sign in with the headcount.
    SignIn { headcount: i64 },
    /// Ask to speak, or stop asking.
    Hand { up: bool },
    /// A chair's command.
    Command { command: Command },
    /// The chair closes the meeting.
    Close,
}

async fn serve_venue(state: Shared, p: Pass, token: String, mut socket: WebSocket) {
    let meeting = MeetingId(p.meeting.id);
    let venue = VenueId(p.venue);
    let Some(media) = state.media.as_ref() else {
        let _ = socket.send(Message::Text(json!({ "type": "error", "message": "live meetings are not available on this server" }).to_string().into())).await;
        return;
    };
    let main = p.meeting.venues.iter().find(|v| v.main).map(|v| VenueId(v.id)).unwrap_or(venue);
    let branches: Vec<VenueId> = p.meeting.venues.iter().filter(|v| !v.main).map(|v| VenueId(v.id)).collect();
    let mut states = state.meeting_states.subscribe();
    media.send(Request::Open { meeting, main, branches });
    let names: serde_json::Map<String, Value> = p.meeting.venues.iter().map(|v| (v.id.to_string(), json!(v.name))).collect();
    let welcome = json!({ "type": "welcome", "you": venue.0, "chair": p.chair, "main": main.0, "names": names });
    if socket.send(Message::Text(welcome.to_string().into())).await.is_err() {
        return;
    }
    let headcount = p.meeting.venues.iter().find(|v| v.id == p.venue).map_or(0, |v| v.headcount);
    let (tx, mut answers) = tokio::sync::mpsc::channel::<String>(8);
    // This page's own connections: when it goes, only they are dropped, not a newer
    // one the venue made from another page or after a drop.
    let serials = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
    // The current state at once: a venue that joins late sees what all see.
    media.send(Request::Snapshot { meeting });
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(msg)) = incoming else { break };
                let Message::Text(text) = msg else { continue };
                // Anything malformed is dropped: a hostile page harms no one else.
                let Ok(m) = serde_json::from_str::<FromVenue>(&text) else { continue };
                match m {
                    FromVenue::Join { offer } if p.may(Action::VenueJoin) => {
                        let tx = tx.clone();
                        let mine = serials.clone();
                        media.send(Request::Join { meeting, venue, offer, headcount, reply: Box::new(move |r| {
                            let msg = match r {
                                Ok((sdp, serial)) => {
                                    if let Ok(mut s) = mine.lock() {
                                        s.push(serial);
                                    }
                                    json!({ "type": "answer", "sdp": sdp })
                                }
                                Err(e) => json!({ "type": "error", "message": e }),
                            };
                            let _ = tx.try_send(msg.to_string());
                        }) });
                    }
                    FromVenue::SignIn { headcount } => {
                        let signed = state.link(token.clone(), move |l| l.ok_or_else(link_not_found)?.sign_in(headcount, now())).await;
                        if signed.is_ok() {
                            media.send(Request::SignIn { meeting, venue, headcount });
                        }
                    }
                    FromVenue::Hand { up } if p.may(Action::VenueHand) => {
                        let command = if up { Command::RaiseHand(venue) } else { Command::LowerHand(venue) };
                        media.send(Request::Command { meeting, command, reply: Box::new(|_| {}) });
                    }
                    FromVenue::Command { command } if p.may(Action::MeetingChair) => {
                        let tx = tx.clone();
                        media.send(Request::Command { meeting, command, reply: Box::new(move |r| {
                            if let Err(e) = r {
                                let _ = tx.try_send(json!({ "type": "error", "message": e }).to_string());
                            }
                        }) });
                    }
                    FromVenue::Close if p.may(Action::MeetingClose) => {
                        let _ = close(&state, meeting.0, Closer::Chair(token.clone())).await;
                    }
                    _ => {}
                }
            }
            Some(answer) = answers.recv() => {
                if socket.send(Message::Text(answer.into())).await.is_err() { break; }
            }
            update = states.recv() => {
                match update {
                    Ok((id, json)) if id == meeting.0 => {
                        let closed = json.contains("\"closed\"");
                        if socket.send(Message::Text(json.into())).await.is_err() || closed { break; }
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => break,
                }
            }
        }
    }
    let mine: Vec<u64> = serials.lock().map(|s| s.clone()).unwrap_or_default();
    for serial in mine {
        media.send(Request::Leave { venue, serial });
    }
}
