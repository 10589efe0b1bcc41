// The lecturer's report form, made to survive a village's connection: a report is
// queued in this phone's storage with an id made here, sent when it can be, and sent
// again (harmlessly: the server stores one report per id) until the server answers.

const QUEUE = "grassroots-reports";

const load = () => JSON.parse(localStorage.getItem(QUEUE) || "[]");
const save = (queue) => localStorage.setItem(QUEUE, JSON.stringify(queue));

function newId() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
}

function readFile(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

async function upload(dataUrl, csrf) {
  const blob = await (await fetch(dataUrl)).blob();
  const r = await fetch("/api/v1/photos", {
    method: "POST", credentials: "same-origin",
    headers: { "X-CSRF-Token": csrf, "Content-Type": blob.type }, body: blob,
  });
  if (!r.ok) throw new Error((await r.json()).message || r.statusText);
  return (await r.json()).id;
}

// Sends one queued report; true when the server has it (or refuses it for good).
async function send(item) {
  try {
    item.photoIds = item.photoIds || [];
    while (item.photoIds.length < item.photos.length) {
      item.photoIds.push(await upload(item.photos[item.photoIds.length], item.csrf));
    }
    const body = { step: "report", report: item.report, photos: item.photoIds };
    const r = await fetch(`/api/v1/requests/${item.request}/steps`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": item.csrf }, body: JSON.stringify(body),
    });
    if (r.ok) return { done: true };
    // A refusal (bad field, wrong state) will not change by retrying: show it.
    const e = await r.json().catch(() => ({}));
    return { done: true, error: e.message || r.statusText };
  } catch (_network) {
    return { done: false };
  }
}

async function flush(status) {
  const queue = load();
  const left = [];
  let last = null;
  for (const item of queue) {
    const result = await send(item);
    if (!result.done) left.push(item);
    else last = { item, result };
  }
  save(left);
  if (status) {
    if (left.length) status.textContent = `${status.dataset.offline} (${status.dataset.pending}: ${left.length})`;
    else if (last && last.result.error) status.textContent = last.result.error;
    else if (last) {
      status.textContent = status.dataset.sent;
      const form = document.getElementById("report");
      if (form && String(last.item.request) === form.dataset.request) location.href = form.dataset.done;
    }
  }
  return left.length;
}

const form = document.getElementById("report");
const status = document.getElementById("report-status");
if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const photos = [];
    for (const f of form.querySelector("input[type=file]").files) photos.push(await readFile(f));
    const item = {
      request: form.dataset.request,
      csrf: form.dataset.csrf,
      report: {
        ext_id: newId(),
        date: data.get("date"),
        headcount: Number(data.get("headcount")),
        topics: data.getAll("topics"),
        audiences: data.getAll("audiences"),
        notes: data.get("notes") || "",
      },
      photos,
    };
    save([...load(), item]);
    await flush(status);
  });
}
window.addEventListener("online", () => flush(status));
flush(status);
