// A venue of a live meeting: its camera and microphone go to the media server, the
// program (and, for the main venue, the monitor wall) comes back. The server holds the
// meeting's state and sends it on every change; a venue that drops joins again by itself.

const root = document.getElementById("venue");
const chair = root.dataset.chair === "true";
const isMain = root.dataset.main === "true";
const token = location.pathname.split("/")[2];
const params = new URLSearchParams(location.search);
let ws, pc, stream, you, names = {}, closed = false, rejoining = false, hand = false;
const status = (t) => { document.getElementById("status").textContent = t; };

async function media() {
  if (!stream) {
    // The picture's width can be set in the link (?width=320): a venue's own choice,
    // and the way tests tell venues' pictures apart.
    const width = Number(params.get("width") || 640);
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width, height: Math.round(width * 9 / 16) } });
    document.getElementById("self").srcObject = stream;
  }
  return stream;
}

function show(el, track) {
  if (el) el.srcObject = new MediaStream([track]);
}

// The camera in up to three layers (simulcast): the server gives each receiver the
// largest its connection carries, and the monitor wall the smallest. A browser makes as
// many layers as the picture's size allows (three from 960 px wide, two from 480, one
// below) and drops the largest beyond that, so only those are asked for.
function layers(track) {
  const width = track.getSettings().width || 640;
  const all = [
    { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150000 },
    { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500000 },
    { rid: "f", maxBitrate: 1500000 },
  ];
  const n = width >= 960 ? 3 : width >= 480 ? 2 : 1;
  return n === 1 ? undefined : all.slice(3 - n);
}

// The m-lines in the order the server expects: audio and video send-receive, a second
// sound, and for the main venue the monitor wall's pictures.
async function join() {
  const s = await media();
  if (pc) pc.close();
  pc = new RTCPeerConnection();
  const audio = pc.addTransceiver(s.getAudioTracks()[0], { direction: "sendrecv", streams: [s] });
  const camera = s.getVideoTracks()[0];
  const video = pc.addTransceiver(camera, { direction: "sendrecv", streams: [s], sendEncodings: layers(camera) });
  const audio2 = pc.addTransceiver("audio", { direction: "recvonly" });
  const wall = isMain ? [0, 1, 2, 3].map(() => pc.addTransceiver("video", { direction: "recvonly" })) : [];
  show(document.getElementById("sound0"), audio.receiver.track);
  show(document.getElementById("program"), video.receiver.track);
  show(document.getElementById("sound1"), audio2.receiver.track);
  document.querySelectorAll(".wall-slot").forEach((el, i) => wall[i] && show(el, wall[i].receiver.track));
  const mine = pc;
  pc.onconnectionstatechange = () => {
    if (mine !== pc) return;
    status(pc.connectionState);
    if (pc.connectionState === "failed" || pc.connectionState === "disconnected") setTimeout(rejoin, 1000);
  };
  await pc.setLocalDescription(await pc.createOffer());
  ws.send(JSON.stringify({ type: "join", offer: pc.localDescription.sdp }));
}

async function rejoin() {
  if (closed || rejoining || !pc || pc.connectionState === "connected") return;
  rejoining = true;
  try {
    if (ws && ws.readyState === WebSocket.OPEN) await join();
  } finally {
    rejoining = false;
  }
}

function send(m) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
}

function command(name, venue) {
  send({ type: "command", command: venue === undefined ? { command: name } : { command: name, venue } });
}

function render(s) {
  window.meetingState = s;
  document.getElementById("program-name").textContent = names[s.program] || "";
  document.getElementById("program-name").dataset.venue = s.program;
  if (!chair) return;
  document.getElementById("hands").replaceChildren(...s.hands.map((v) => {
    const li = document.createElement("li");
    li.textContent = names[v];
    li.dataset.venue = v;
    return li;
  }));
  const rows = Object.entries(s.venues).map(([id, v]) => {
    const tr = document.createElement("tr");
    tr.dataset.venue = id;
    tr.dataset.presence = v.presence;
    const cell = (text) => { const td = document.createElement("td"); td.textContent = text; tr.append(td); return td; };
    cell(names[id] + (Number(id) === s.main ? " ★" : ""));
    cell(v.presence);
    cell(v.headcount || "");
    const actions = cell("");
    const button = (label, name, extra) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.dataset.action = name;
      b.onclick = () => command(name, Number(id));
      actions.append(b, " ");
      return b;
    };
    if (Number(id) !== s.main) {
      button("点名 Call", "roll_call");
      button("发言 Floor", "give_floor");
    }
    button("广播 Show", "broadcast");
    button(v.muted ? "取消静音 Unmute" : "静音 Mute", v.muted ? "unmute" : "mute");
    return tr;
  });
  document.querySelector("#roster tbody").replaceChildren(...rows);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${scheme}://${location.host}/m/${token}/ws`);
  ws.onmessage = async (e) => {
    const m = JSON.parse(e.data);
    if (m.type === "welcome") {
      you = m.you;
      names = m.names;
      await join();
    } else if (m.type === "answer") {
      await pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
    } else if (m.type === "state") {
      render(m);
    } else if (m.type === "closed") {
      closed = true;
      status("closed");
      if (pc) pc.close();
    } else if (m.type === "error") {
      status(m.message);
    }
  };
  ws.onclose = () => { if (!closed) setTimeout(connect, 1000); };
}

// What the browser measures of what it receives, by m-line: for people checking a
// venue, and for the tests.
window.meetingStats = async () => {
  if (!pc) return [];
  const out = [];
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp") {
      out.push({ mid: r.mid, kind: r.kind, packets: r.packetsReceived || 0, frames: r.framesDecoded || 0, width: r.frameWidth || 0, samples: r.totalSamplesReceived || 0, energy: r.totalAudioEnergy || 0 });
    }
  });
  return out;
};
window.meetingConnection = () => (pc ? pc.connectionState : "none");
// Drops signaling and media at once, as a lost network does (for checking recovery).
window.meetingDrop = () => {
  if (pc) pc.close();
  if (ws) ws.close();
};

document.getElementById("sign-in")?.addEventListener("submit", (e) => {
  e.preventDefault();
  send({ type: "sign_in", headcount: Number(new FormData(e.target).get("headcount")) });
  status("✓");
});
document.getElementById("hand")?.addEventListener("click", () => {
  hand = !hand;
  send({ type: "hand", up: hand });
});
document.querySelectorAll("#chair button[data-cmd]").forEach((b) => b.addEventListener("click", () => command(b.dataset.cmd)));
document.getElementById("close")?.addEventListener("click", () => send({ type: "close" }));
connect();
